#!/usr/bin/env bash
# Makes the `authhost` package: target/package/authhost-VERSION.crate, and
# the same files unpacked in target/package/authhost (examples/embedder
# builds against them).
#
#   scripts/package.sh [cargo package options, e.g. --no-verify]
#   scripts/package.sh --publish [cargo publish options]
#
# A package cannot reach outside host/, so the built-in provider components
# (../plugins, compiled for wasm32-wasip2) travel in it prebuilt: this script
# builds them the way the checkout always does (host/build.rs, through a
# release build of the library) and stages the `.wasm` files in
# host/prebuilt/, which host/Cargo.toml `include`s and git ignores. A build of
# the package uses them instead of compiling guests (and never calls rustup).
#
# cargo counts any packaged file git does not track as uncommitted, so the
# staged components would make every package "dirty": this script checks
# itself that nothing else going into the package is uncommitted, then
# passes `--allow-dirty` to cargo (the package's .cargo_vcs_info.json then
# says `"dirty": true`, which here means "contains build outputs").
set -euo pipefail
cd "$(dirname "$0")/.."
script=scripts/package.sh
. scripts/lib/package.sh
package_mode "$@"

# 1. Nothing uncommitted may slip into the package under the cover of
#    --allow-dirty: the crate's folder (but the staged components), the WIT
#    it links to, and the files its manifest reads from the workspace.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # (git lists an ignored folder whole, past the exclusion: filter it too.)
    status=$(git status --porcelain --untracked-files=all --ignored=matching -- \
        host wit Cargo.toml README.md ':(exclude)host/prebuilt')
    refuse_uncommitted "$(grep -v '^!! host/prebuilt/' <<<"$status" || true)"
fi

# 2. The release build of the library compiles the built-in components into
#    its build script's OUT_DIR; take that folder from cargo's JSON messages.
messages=$(cargo build --release -p authhost --lib --message-format=json-render-diagnostics)
build_script=$(grep '"reason":"build-script-executed"' <<<"$messages" |
    grep '"package_id":"[^"]*#authhost@' | tail -n 1)
out_dir=$(sed -n 's/.*"out_dir":"\([^"]*\)".*/\1/p' <<<"$build_script")
version=$(sed -n 's/.*"package_id":"[^"]*#authhost@\([^"]*\)".*/\1/p' <<<"$build_script")
if [ -z "$out_dir" ] || [ -z "$version" ]; then
    echo "scripts/package.sh: cargo reported no build script run for authhost" >&2
    exit 1
fi

# 3. Stage the components (only those: the precompiled `.cwasm` is made for
#    the target of each build of the package).
rm -rf host/prebuilt
mkdir host/prebuilt
staged=0
for wasm in "$out_dir"/*.wasm; do
    if [ ! -s "$wasm" ]; then
        echo "scripts/package.sh: $wasm is missing or empty" >&2
        exit 1
    fi
    cp "$wasm" host/prebuilt/
    staged=$((staged + 1))
done
echo "scripts/package.sh: staged $staged built-in components in host/prebuilt/" >&2

# 4. Package (or publish), and unpack the result where examples/embedder
#    expects it.
if $allow_dirty; then
    cargo "$command" -p authhost ${cargo_args[@]+"${cargo_args[@]}"}
else
    cargo "$command" -p authhost --allow-dirty ${cargo_args[@]+"${cargo_args[@]}"}
fi
[ "$command" = package ] || exit 0
target="${CARGO_TARGET_DIR:-target}"
unpack "$target/package/authhost-$version.crate" target/package/authhost
