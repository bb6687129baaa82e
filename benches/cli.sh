#!/usr/bin/env bash
# Whole-process benchmarks of `authhost token`, each run side by side with
# its baseline, reported as ratios of medians (authhost / baseline).
#
#   benches/cli.sh            # builds release first
#   RUNS=500 benches/cli.sh   # more runs per case
#
# Uses hyperfine when installed, otherwise a timing loop.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}

cargo build --release --quiet
bin=$PWD/target/release/authhost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AUTHHOST_HOME=$work/home
mkdir -p "$AUTHHOST_HOME"

cat > "$AUTHHOST_HOME/config.toml" <<TOML
[providers.stored]
plugin = "openrouter"

[providers.login]
plugin = "openrouter"

[providers.cold]
plugin = "shell-helper"
command = "echo key"
ttl_ms = 0

[providers.warm]
plugin = "shell-helper"
command = "echo key"
ttl_ms = 86400000
TOML
key=sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
# A valid OAuth login (expiring in ten days) beside the stored key.
expires=$(( ($(date +%s) + 864000) * 1000 ))
printf '{"stored": {"type": "api", "key": "%s"}, "login": {"type": "oauth", "access": "%s", "refresh": "r-1", "expires": %s, "accountId": "acct-1"}}\n' \
    "$key" "$key" "$expires" > "$AUTHHOST_HOME/auth.json"
chmod 600 "$AUTHHOST_HOME/auth.json"
printf '%s\n' "$key" > "$work/key.txt"
# Prime: compile the built-ins into the cache and cache the warm helper key.
"$bin" token cold >/dev/null
"$bin" token warm >/dev/null
# The warm case must measure the cache, not the helper.
if "$bin" -v token warm 2>&1 >/dev/null | grep -q "running the helper command"; then
    echo "benches/cli.sh: the warm helper key was not reused from the cache" >&2
    exit 1
fi

# median_ms 'COMMAND LINE': median wall time of RUNS runs, in milliseconds
# (the line is split like a shell would, but run without one).
median_ms() {
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine --shell=none --warmup 20 --runs "$RUNS" --export-json "$work/h.json" "$1" >/dev/null 2>&1
        python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/h.json"
    else
        python3 - "$RUNS" "$1" <<'PY'
import shlex, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), shlex.split(sys.argv[2])
for _ in range(20):
    subprocess.run(cmd, stdout=subprocess.DEVNULL)
times = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t)
print("%.3f" % (statistics.median(times) * 1000))
PY
    fi
}

peak_rss_kib() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
}

printf '%-44s %10s %10s %7s %7s\n' case "authhost" baseline ratio target
# compare NAME TARGET 'AUTHHOST COMMAND' 'BASELINE COMMAND'
compare() {
    local name=$1 target=$2 a b
    a=$(median_ms "$3")
    b=$(median_ms "$4")
    python3 -c 'import sys; a,b=float(sys.argv[2]),float(sys.argv[3]); print("%-44s %8.3fms %8.3fms %6.2fx %6sx" % (sys.argv[1], a, b, a/b, sys.argv[4]))' "$name" "$a" "$b" "$target"
}
compare "token, stored key  vs  cat key file" 2 "$bin token stored" "cat $work/key.txt"
compare "token, valid OAuth login vs cat key file" 2 "$bin token login" "cat $work/key.txt"
compare "token, helper cold vs  sh -c 'echo key'" 2.5 "$bin token cold" "sh -c 'echo key'"
compare "token, helper warm vs  cat key file" 2 "$bin token warm" "cat $work/key.txt"

if [ -x /usr/bin/time ]; then
    echo "peak RSS: token stored $(peak_rss_kib "$bin" token stored) KiB," \
        "token cold helper $(peak_rss_kib "$bin" token cold) KiB"
fi
