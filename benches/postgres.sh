#!/usr/bin/env bash
# The shared PostgreSQL store against the file store, side by side in one
# run, on a throwaway PostgreSQL cluster on 127.0.0.1 (initdb in a
# temporary folder, run as the postgres user, scram-sha-256 over TCP):
#
# 1. `authhost token` for a stored key: the PostgreSQL store vs the file
#    store (interleaved runs, ratio of medians; goal within 3x);
# 2. the fleet refresh: 3 homes x 10 `authhost token` processes at the
#    expiry of one shared OAuth login vs one process refreshing alone
#    (wall time of the whole crowd, and the refresh requests that reached
#    the token service: the target is one).
#
#   benches/postgres.sh                       # builds release first
#   BIN=target/release/authhost benches/postgres.sh   # another build, no build first
#   RUNS=300 ROUNDS=10 benches/postgres.sh
#
# Needs PostgreSQL (`apt-get install postgresql`) and root (for runuser).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-8}

if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet
fi
bin=${BIN:-$PWD/target/release/authhost}
bin=$(realpath "$bin")
refresher=target/guests/wasm32-wasip2/guest/refresher.wasm
if [ ! -f "$refresher" ]; then
    cargo build --quiet --profile guest --target wasm32-wasip2 -p refresher --target-dir target/guests
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
work=$(mktemp -d)
chown postgres:postgres "$work"
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { runuser -u postgres -- "$@"; }
stop() {
    kill "${service:-}" 2>/dev/null || true
    as_pg "$pgbin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap stop EXIT
as_pg "$pgbin/initdb" -D "$work/data" -U postgres --auth-host=scram-sha-256 --auth-local=trust --no-sync >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w start \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
as_pg "$pgbin/psql" -h "$work" -p "$port" -U postgres -XAtq \
    -c "CREATE ROLE authhost LOGIN PASSWORD 'bench'" -c "CREATE DATABASE authhost OWNER authhost"
url="postgres://authhost:bench@127.0.0.1:$port/authhost?sslmode=disable"
storekey=$("$bin" store keygen)

# home NAME BACKEND [EXTRA CONFIG]: a home whose store is BACKEND.
home() {
    local dir=$work/homes/$1
    mkdir -p "$dir"
    chmod 700 "$dir"
    printf '%s\n' "$storekey" > "$dir/store.key"
    {
        printf '%s\n' "${3:-}"
        printf '[store]\nbackend = "%s"\nurl = "%s"\nkey_file = "%s"\n' "$2" "$url" "$dir/store.key"
    } > "$dir/config.toml"
    chmod 600 "$dir/config.toml" "$dir/store.key"
    echo "$dir"
}

key=sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
file_home=$(home file file)
pg_home=$(home pg postgres)
for h in "$file_home" "$pg_home"; do
    printf '%s\n' "$key" | AUTHHOST_HOME=$h "$bin" login openrouter --method api-key >/dev/null 2>&1
    [ "$(AUTHHOST_HOME=$h "$bin" token openrouter)" = "$key" ]
done

printf '%-48s %10s %10s %7s %7s\n' case "postgres" "file" ratio goal
python3 - "$RUNS" "$bin" "$pg_home" "$file_home" <<'PY'
import os, statistics, subprocess, sys, time
runs, binary, pg, file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def once(home):
    t = time.perf_counter()
    subprocess.run([binary, "token", "openrouter"], stdout=subprocess.DEVNULL, check=True,
                   env=dict(os.environ, AUTHHOST_HOME=home))
    return time.perf_counter() - t
for _ in range(20):
    once(pg); once(file)
times = {pg: [], file: []}
for i in range(runs):
    for home in ((pg, file) if i % 2 == 0 else (file, pg)):
        times[home].append(once(home))
a, b = (statistics.median(times[h]) * 1000 for h in (pg, file))
print("%-48s %8.3fms %8.3fms %6.2fx %6sx" % ("token, stored key: postgres vs file store", a, b, a / b, 3))
PY

# The fleet refresh: a token service that rotates refresh tokens and
# revokes the login when a used one comes back (benches/token_service.py).
python3 benches/token_service.py "$work/port" "$work/count" &
service=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
service_url="http://127.0.0.1:$(cat "$work/port")"
provider=$(printf '[providers.p]\nplugin = "refresher"\nbase_url = "%s"\n\n[plugins.refresher]\ngrant = ["http:%s"]\n' \
    "$service_url" "$service_url")
machines=()
for m in 1 2 3; do
    h=$(home "machine$m" postgres "$provider")
    mkdir -p "$h/plugins"
    cp "$refresher" "$h/plugins/"
    AUTHHOST_HOME=$h "$bin" token p >/dev/null 2>&1 || true   # compile the component
    machines+=("$h")
done

# crowd N: wall time (ms) of N `authhost token p` per machine started at once.
crowd() {
    python3 - "$1" "$bin" "${machines[@]}" <<'PY'
import os, subprocess, sys, time
n, binary, homes = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
t = time.perf_counter()
procs = [subprocess.Popen([binary, "token", "p"], stdout=subprocess.PIPE,
                          env=dict(os.environ, AUTHHOST_HOME=h))
         for _ in range(n) for h in homes[: (3 if n > 1 else 1)]]
outs = {p.communicate()[0] for p in procs}
assert all(p.returncode == 0 for p in procs), "a token call failed"
assert len(outs) == 1, "the crowd printed different tokens: %r" % outs
print("%.3f" % ((time.perf_counter() - t) * 1000))
PY
}
fleet=() alone=() refreshes=()
for _ in $(seq "$ROUNDS"); do
    # A login whose 1-second access token has just expired.
    AUTHHOST_HOME=${machines[0]} "$bin" login p >/dev/null 2>&1
    sleep 1.1
    rm -f "$work/count"
    alone+=("$(crowd 1)")
    AUTHHOST_HOME=${machines[0]} "$bin" login p >/dev/null 2>&1
    sleep 1.1
    rm -f "$work/count"
    fleet+=("$(crowd 10)")
    refreshes+=("$(cat "$work/count")")
done
python3 - "${fleet[*]}" "${alone[*]}" "${refreshes[*]}" <<'PY'
import statistics, sys
f = [float(x) for x in sys.argv[1].split()]
a = [float(x) for x in sys.argv[2].split()]
r = [int(x) for x in sys.argv[3].split()]
print("fleet refresh, %d rounds (median wall time)" % len(f))
print("  3 machines x 10 processes at expiry: %8.2f ms" % statistics.median(f))
print("  1 process refreshing alone:          %8.2f ms" % statistics.median(a))
print("  ratio:                               %8.2fx" % (statistics.median(f) / statistics.median(a)))
print("  refresh requests per fleet crowd: %s" % sorted(set(r)))
PY
