#!/usr/bin/env bash
# Fuzzes authhost's parsers of untrusted input, each target for SECONDS
# (default 600), one after another; findings are saved in
# fuzz/artifacts/TARGET/ and the command fails on the first one.
#
#   fuzz/run.sh                 # every target, 10 minutes each
#   fuzz/run.sh 30 callback     # one target, 30 seconds
#
# Targets:
#   callback  bytes from a client of the loopback listener (HTTP handling),
#             and the OpenRouter plugin's recognition of the OAuth callback
#             among requests and pasted lines
#   config    config.toml parsing, and `plugins grant` editing it
#   store     auth.json parsing and decoding of credentials
#
# FUZZ_SEED=N starts libFuzzer's random generator at N, so that a run (the
# CI smoke) mutates the same way each time; unset, every run differs.
#
# Needs a nightly toolchain (libFuzzer's instrumentation) and cargo-fuzz,
# which is installed when missing. The targets run without a sanitizer:
# the code under test is safe Rust, so what they look for is panics, hangs
# and broken invariants, and they run several times faster that way.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(callback config store)
fi

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz/run.sh: needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

seed=()
if [ -n "${FUZZ_SEED:-}" ]; then seed=(-seed="$FUZZ_SEED"); fi

for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "== fuzzing $target for ${seconds}s"
    # New inputs go to corpus/ (kept between runs, not committed); seeds/
    # holds the committed starting points.
    cargo +nightly fuzz run --sanitizer none --debug-assertions "$target" \
        "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${seed[@]}"
done
