#!/usr/bin/env bash
# What a crowd of `authhost token` processes costs at the moment an OAuth
# login expires: N processes start at once against an access token inside
# the refresh margin, side by side with N processes against a valid one.
# Reports the wall time of each crowd, their ratio, and how many refresh
# requests reached the token service (the target is one).
#
#   benches/refresh.sh              # N = 20, 15 rounds each
#   N=50 ROUNDS=5 benches/refresh.sh
#
# The provider is the `refresher` test component (tests/fixtures/refresher)
# against a small token service on 127.0.0.1 that rotates refresh tokens and
# revokes the login when a used one comes back.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
ROUNDS=${ROUNDS:-15}

cargo build --release --quiet
cargo build --quiet --target wasm32-wasip2 --profile guest -p refresher
bin=$PWD/target/release/authhost
work=$(mktemp -d)
trap 'kill $service 2>/dev/null || true; rm -rf "$work"' EXIT
export AUTHHOST_HOME=$work/home
mkdir -p "$AUTHHOST_HOME/plugins"
cp target/wasm32-wasip2/guest/refresher.wasm "$AUTHHOST_HOME/plugins/"

python3 benches/token_service.py "$work/port" "$work/count" &
service=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"
cat > "$AUTHHOST_HOME/config.toml" <<TOML
[providers.p]
plugin = "refresher"
base_url = "$url"

[plugins.refresher]
grant = ["http:$url"]
TOML

# crowd: wall time (ms) of N `authhost token p` started at once.
crowd() {
    python3 - "$N" "$bin" <<'PY'
import subprocess, sys, time
n, binary = int(sys.argv[1]), sys.argv[2]
t = time.perf_counter()
procs = [subprocess.Popen([binary, "token", "p"], stdout=subprocess.PIPE) for _ in range(n)]
outs = {p.communicate()[0] for p in procs}
assert all(p.returncode == 0 for p in procs), "a token call failed"
assert len(outs) == 1, "the crowd printed different tokens: %r" % outs
print("%.3f" % ((time.perf_counter() - t) * 1000))
PY
}

"$bin" token p >/dev/null 2>&1 || true   # compile the component into the cache
expiring=() valid=() refreshes=()
for _ in $(seq "$ROUNDS"); do
    # A login whose 1-second access token has just expired.
    rm -f "$work/count"
    "$bin" login p >/dev/null 2>&1
    sleep 1.1
    expiring+=("$(crowd)")
    refreshes+=("$(cat "$work/count")")
    # Now valid for an hour: the same crowd reads auth.json only.
    valid+=("$(crowd)")
done
python3 - "$N" "${expiring[*]}" "${valid[*]}" "${refreshes[*]}" <<'PY'
import statistics, sys
n = sys.argv[1]
e = [float(x) for x in sys.argv[2].split()]
v = [float(x) for x in sys.argv[3].split()]
r = [int(x) for x in sys.argv[4].split()]
print("%s processes, %d rounds (median wall time of the whole crowd)" % (n, len(e)))
print("  at expiry (one refresh):  %8.2f ms" % statistics.median(e))
print("  valid login:              %8.2f ms" % statistics.median(v))
print("  ratio:                    %8.2fx" % (statistics.median(e) / statistics.median(v)))
print("  refresh requests per crowd: %s" % sorted(set(r)))
PY
