#!/usr/bin/env bash
# Cross-target checks: `cargo clippy -D warnings` of the authhost library and
# CLI for macOS and Windows, so that code that builds only on Linux cannot
# land unnoticed.
#
#   scripts/cross-check.sh [TARGET...]
#
# Default targets: aarch64-apple-darwin and x86_64-pc-windows-gnu.
#
# `ring` (TLS, through wasmtime-wasi-http) compiles C for the target even in
# a check, so a C compiler for each target is needed: Zig, through
# cargo-zigbuild, serves both (no Xcode SDK, no mingw-w64). Both come from
# PyPI as prebuilt packages, pinned below, into a virtual environment in
# `target/cross-tools` that is made only when missing or when the pins
# change. The rustup targets are added when missing.
#
# The checks use the release profile: the build scripts and proc macros
# they run on this machine are then the ones the release build of the test
# suite (tests/run.sh) already compiled, and only the target's own crates
# are checked (no code generation). Both targets are checked in one cargo
# run.
set -euo pipefail
cd "$(dirname "$0")/.."

ZIGLANG_VERSION=0.17.0
CARGO_ZIGBUILD_VERSION=0.24.0
TOOLS=target/cross-tools

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(aarch64-apple-darwin x86_64-pc-windows-gnu)
fi

# The targets' standard libraries.
installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        rustup target add "$target"
    fi
done

# Zig and cargo-zigbuild, pinned.
pins="ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
# (The environment is also made again when it no longer works, e.g. when its
# Python was replaced.)
if [ "$(cat "$TOOLS/pins" 2>/dev/null)" != "$pins" ] || [ ! -x "$TOOLS/bin/cargo-zigbuild" ] ||
    ! "$TOOLS/bin/python3" -c 'import ziglang' >/dev/null 2>&1; then
    rm -rf "$TOOLS"
    if ! python3 -m venv "$TOOLS" 2>/dev/null; then
        # Debian's python3 without its venv module.
        apt-get install -y python3-venv >/dev/null
        python3 -m venv "$TOOLS"
    fi
    # shellcheck disable=SC2086 # two package specifiers
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check $pins
    echo "$pins" >"$TOOLS/pins"
fi
# cargo-zigbuild finds Zig as `python -m ziglang` of the environment.
export PATH="$PWD/$TOOLS/bin:$PATH"

target_args=()
for target in "${targets[@]}"; do
    target_args+=(--target "$target")
done
cargo-zigbuild clippy -p authhost --release --lib --bins "${target_args[@]}" -- -D warnings
echo "cross-check: authhost (library and CLI) is clippy-clean for ${targets[*]}"
