#!/usr/bin/env bash
# Builds and runs the embedder against the packaged authhost crate, the way a
# program that depends on it from a registry builds it.
#
#   examples/embedder/run.sh            # after scripts/package.sh
#
# It reuses the workspace's release build: the same target directory and
# profile, and the workspace's Cargo.lock (so every dependency resolves to the
# version already compiled there; wasmtime is not compiled again).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -f "$root/target/package/authhost/Cargo.toml" ]; then
    echo "examples/embedder/run.sh: no unpacked package; run scripts/package.sh first" >&2
    exit 1
fi
cp "$root/Cargo.lock" "$here/Cargo.lock"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" \
    cargo run --release --manifest-path "$here/Cargo.toml" "$@"
