#!/usr/bin/env bash
# Release binaries of the authhost CLI for macOS and Windows, cross-built on
# Linux the way scripts/cross-check.sh checks them (Zig as the C compiler
# and linker, through cargo-zigbuild; the tools are installed by that
# script).
#
#   scripts/release.sh [TARGET...]
#
# Default targets: x86_64-apple-darwin, aarch64-apple-darwin,
# x86_64-pc-windows-gnu. The binaries land in target/release-binaries/
# as authhost-TARGET[.exe]. A cold build takes about ten minutes per target
# on a 2-core machine.
#
# The macOS binaries are not signed: a Mac asks its user to allow them, or
# they are signed on a Mac (`codesign`). The built-in providers are
# precompiled at build time for targets whose architecture this machine's
# wasmtime can generate code for (x86_64 here); the others compile them on
# their first run and keep the result in their component cache.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-gnu)
fi

# The tools and targets (and a check first: a release must be lint-clean).
scripts/cross-check.sh "${targets[@]}"
export PATH="$PWD/target/cross-tools/bin:$PATH"

out=target/release-binaries
mkdir -p "$out"
for target in "${targets[@]}"; do
    cargo-zigbuild zigbuild -p authhost --release --bin authhost --target "$target"
    case "$target" in
        *windows*) exe=authhost.exe ext=.exe ;;
        *) exe=authhost ext= ;;
    esac
    cp "target/$target/release/$exe" "$out/authhost-$target$ext"
    echo "release: $out/authhost-$target$ext"
done
