#!/usr/bin/env bash
# Whole-process benchmarks of `authhost token`, each run side by side with
# its baseline, reported as ratios of medians (authhost / baseline).
#
#   benches/cli.sh            # builds release first
#   RUNS=500 benches/cli.sh   # more runs per case
#
# Each pair of commands runs interleaved (A B B A …), so that load drift
# weighs on both alike.
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

peak_rss_kib() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
}

printf '%-44s %10s %10s %7s %7s\n' case "authhost" baseline ratio target
# compare NAME TARGET 'AUTHHOST COMMAND' 'BASELINE COMMAND': medians of RUNS
# runs of each, the two commands interleaved (A B B A A B …) so that a
# change in the machine's load weighs on both alike.
compare() {
    python3 - "$RUNS" "$@" <<'PY'
import shlex, statistics, subprocess, sys, time
runs, name, target = int(sys.argv[1]), sys.argv[2], sys.argv[3]
commands = [shlex.split(sys.argv[4]), shlex.split(sys.argv[5])]
def once(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t
for _ in range(20):
    for cmd in commands:
        once(cmd)
times = [[], []]
for i in range(runs):
    order = (0, 1) if i % 2 == 0 else (1, 0)
    for k in order:
        times[k].append(once(commands[k]))
a, b = (statistics.median(t) * 1000 for t in times)
print("%-44s %8.3fms %8.3fms %6.2fx %6sx" % (name, a, b, a / b, target))
PY
}
compare "token, stored key  vs  cat key file" 2 "$bin token stored" "cat $work/key.txt"
compare "token, valid OAuth login vs cat key file" 2 "$bin token login" "cat $work/key.txt"
compare "token, valid OAuth login vs stored key" 1.1 "$bin token login" "$bin token stored"
compare "token, helper cold vs  sh -c 'echo key'" 2.5 "$bin token cold" "sh -c 'echo key'"
compare "token, helper warm vs  cat key file" 2 "$bin token warm" "cat $work/key.txt"

if [ -x /usr/bin/time ]; then
    echo "peak RSS: token stored $(peak_rss_kib "$bin" token stored) KiB," \
        "token cold helper $(peak_rss_kib "$bin" token cold) KiB"
fi
