#!/usr/bin/env bash
# Whole-process benchmarks of `authhost token`, each run side by side with
# its baseline, reported as ratios of medians (authhost / baseline).
#
#   benches/cli.sh            # builds release first
#   RUNS=500 benches/cli.sh   # more runs per case
#   ONLY=plugins benches/cli.sh  # only the cases whose name matches
#   BIN=path/to/authhost benches/cli.sh  # another build (no build first)
#   BEFORE=path/to/older/authhost benches/cli.sh  # also this build side
#                                  # by side with an older one, same cases
#   INSTRUCTIONS=1 benches/cli.sh  # instructions executed by each
#                                  # authhost command (valgrind --tool=callgrind),
#                                  # load-independent, instead of times
#
# Each pair of commands runs interleaved (A B B A …), so that load drift
# weighs on both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}

if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet
fi
bin=${BIN:-$PWD/target/release/authhost}
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

if [ -n "${INSTRUCTIONS:-}" ]; then
    printf '%-44s %12s %12s\n' case "authhost" baseline
else
    printf '%-44s %10s %10s %7s %7s\n' case "authhost" baseline ratio target
fi
# instructions NAME TARGET 'AUTHHOST COMMAND' 'BASELINE COMMAND': the
# instructions each executes (its own process only; `-` for other programs).
instructions() {
    local name=$1 counts=()
    shift 2
    for command in "$@"; do
        if [[ $command == *"$bin"* || ( -n ${BEFORE:-} && $command == *"$BEFORE"* ) ]]; then
            # `env VAR=VALUE authhost …`: the variables go before valgrind,
            # which must run authhost itself.
            read -r -a words <<<"$command"
            local vars=()
            if [ "${words[0]}" = env ]; then
                words=("${words[@]:1}")
                while [[ ${words[0]} == *=* ]]; do
                    vars+=("${words[0]}")
                    words=("${words[@]:1}")
                done
            fi
            counts+=("$(env "${vars[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                "${words[@]}" 2>&1 >/dev/null |
                sed -n 's/.*Collected : \([0-9]*\).*/\1/p' |
                awk '{printf "%.3f M", $1 / 1e6}')")
        else
            counts+=("-")
        fi
    done
    printf '%-44s %12s %12s\n' "$name" "${counts[0]}" "${counts[1]}"
}
# compare NAME TARGET 'AUTHHOST COMMAND' 'BASELINE COMMAND': medians of RUNS
# runs of each, the two commands interleaved (A B B A A B …) so that a
# change in the machine's load weighs on both alike.
compare() {
    if [ -n "${ONLY:-}" ] && ! [[ $1 =~ $ONLY ]]; then
        return
    fi
    if [ -n "${INSTRUCTIONS:-}" ]; then
        instructions "$@"
        return
    fi
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
# The floor of the cold helper: starting authhost at all.
compare "authhost --version vs  sh -c 'echo key'" - "$bin --version" "sh -c 'echo key'"
compare "token, helper warm vs  cat key file" 2 "$bin token warm" "cat $work/key.txt"

# A plugins folder: 20 folder plugins (19 copies of the test kit, each
# reporting its own id, and one padded with a 12 MB custom section, the size
# of a JavaScript component) against the same home with an empty folder.
cargo build --quiet --profile guest --target wasm32-wasip2 -p testkit \
    --target-dir target/guests
kit=$PWD/target/guests/wasm32-wasip2/guest/testkit.wasm
full=$work/full
empty=$work/empty
for home in "$full" "$empty"; do
    mkdir -p "$home/plugins"
    cp "$AUTHHOST_HOME/config.toml" "$AUTHHOST_HOME/auth.json" "$home/"
    printf '\n[providers.kit]\nplugin = "kit0000"\nkey = "kit-key"\n' >> "$home/config.toml"
    printf '\n[providers.big]\nplugin = "kit0019"\nkey = "big-key"\n' >> "$home/config.toml"
done
python3 - "$kit" "$full/plugins" <<'PY'
import os, sys
kit, folder = open(sys.argv[1], "rb").read(), sys.argv[2]
def leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
for i in range(20):
    wasm = kit.replace(b"testkit", b"kit%04d" % i)
    if i == 19:
        # A custom section at the end of the component: 12 MB of padding.
        name = b"padding"
        payload = leb(len(name)) + name + os.urandom(12 << 20)
        wasm += b"\x00" + leb(len(payload)) + payload
    open(os.path.join(folder, "kit%04d.wasm" % i), "wb").write(wasm)
PY
mkdir -p "$work/one/plugins"
cp "$empty/config.toml" "$empty/auth.json" "$work/one/"
cp "$full/plugins/kit0000.wasm" "$work/one/plugins/"
# Prime: each folder described once (the index), the kit compiled.
for home in "$full" "$empty" "$work/one"; do
    AUTHHOST_HOME=$home "$bin" plugins list >/dev/null
done
for home in "$full" "$work/one"; do
    AUTHHOST_HOME=$home "$bin" token kit >/dev/null
done
AUTHHOST_HOME=$full "$bin" token big >/dev/null
compare "list, 20 plugins (one 12 MB) vs empty folder" 1.5 \
    "env AUTHHOST_HOME=$full $bin list" "env AUTHHOST_HOME=$empty $bin list"
compare "plugins list, 20 plugins vs empty folder" 1.5 \
    "env AUTHHOST_HOME=$full $bin plugins list" "env AUTHHOST_HOME=$empty $bin plugins list"
compare "token kit, 20 plugins vs kit alone" 1.1 \
    "env AUTHHOST_HOME=$full $bin token kit" "env AUTHHOST_HOME=$work/one $bin token kit"
# The plugin's size should not matter once it is compiled.
compare "token of the 12 MB plugin vs the kit" 1.1 \
    "env AUTHHOST_HOME=$full $bin token big" "env AUTHHOST_HOME=$full $bin token kit"

if [ -n "${BEFORE:-}" ]; then
    # Copies of the homes for the older build, each with its own cache.
    for home in home full empty one; do
        cp -r "$work/$home" "$work/$home-before"
        rm -rf "$work/$home-before/cache"
    done
    AUTHHOST_HOME=$work/home-before "$BEFORE" token cold >/dev/null
    for home in full empty one; do
        AUTHHOST_HOME=$work/$home-before "$BEFORE" plugins list >/dev/null
    done
    for home in full one; do
        AUTHHOST_HOME=$work/$home-before "$BEFORE" token kit >/dev/null
    done
    AUTHHOST_HOME=$work/full-before "$BEFORE" token big >/dev/null
    b() { echo "env AUTHHOST_HOME=$work/$1-before $BEFORE ${*:2}"; }
    # The goals' ratios as the older build met them ...
    compare "BEFORE: token cold vs  sh -c 'echo key'" 2.5 "$(b home token cold)" "sh -c 'echo key'"
    compare "BEFORE: list, 20 plugins vs empty folder" 1.5 "$(b full list)" "$(b empty list)"
    compare "BEFORE: plugins list, 20 vs empty folder" 1.5 \
        "$(b full plugins list)" "$(b empty plugins list)"
    compare "BEFORE: token kit, 20 plugins vs kit alone" 1.1 \
        "$(b full token kit)" "$(b one token kit)"
    compare "BEFORE: token of the 12 MB plugin vs the kit" 1.1 \
        "$(b full token big)" "$(b full token kit)"
    # ... and the two builds side by side, case by case.
    compare "token cold: this build vs BEFORE" - "$bin token cold" "$(b home token cold)"
    compare "list, empty folder: this build vs BEFORE" - \
        "env AUTHHOST_HOME=$empty $bin list" "$(b empty list)"
    compare "list, 20 plugins: this build vs BEFORE" - \
        "env AUTHHOST_HOME=$full $bin list" "$(b full list)"
    compare "plugins list, 20 plugins: this vs BEFORE" - \
        "env AUTHHOST_HOME=$full $bin plugins list" "$(b full plugins list)"
    compare "token kit, 20 plugins: this build vs BEFORE" - \
        "env AUTHHOST_HOME=$full $bin token kit" "$(b full token kit)"
    compare "token of the 12 MB plugin: this vs BEFORE" - \
        "env AUTHHOST_HOME=$full $bin token big" "$(b full token big)"
fi

if [ -x /usr/bin/time ]; then
    echo "peak RSS: token stored $(peak_rss_kib "$bin" token stored) KiB," \
        "token cold helper $(peak_rss_kib "$bin" token cold) KiB," \
        "list with 20 plugins $(AUTHHOST_HOME=$full peak_rss_kib "$bin" list) KiB"
fi
