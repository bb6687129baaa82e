#!/usr/bin/env bash
# Makes the `authhost-sdk` package (the Rust SDK for provider plugins,
# plugins/sdk): TARGET/package/authhost-sdk-VERSION.crate, and the same files
# unpacked in TARGET/package/authhost-sdk, where a provider outside this
# repository can depend on it by path (TARGET is $CARGO_TARGET_DIR, or
# target/).
#
#   scripts/package-sdk.sh [cargo package options, e.g. --no-verify]
#   scripts/package-sdk.sh --publish [cargo publish options]
#
# The package holds all the crate needs: the WIT of the world it binds comes
# through the symbolic link plugins/sdk/wit (-> wit/0.3.0), whose files
# cargo packages, and the keys the manifest inherits from the workspace are
# written out in the packaged Cargo.toml. Nothing is built but the package's
# own verification (a native build of the crate; --no-verify skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
script=scripts/package-sdk.sh
. scripts/lib/package.sh
package_mode "$@"

# 1. Refuse what would make a package out of uncommitted files (cargo checks
#    the crate's folder itself, but not the WIT behind the link, nor the
#    workspace manifest it inherits from).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    status=$(git status --porcelain --untracked-files=all -- plugins/sdk wit/0.3.0 Cargo.toml)
    refuse_uncommitted "$status"
fi

# 2. The link must reach the WIT (a checkout without symbolic links, e.g. on
#    Windows without core.symlinks, has a text file there instead).
if [ ! -f plugins/sdk/wit/provider.wit ]; then
    echo "scripts/package-sdk.sh: plugins/sdk/wit does not lead to wit/0.3.0/provider.wit" >&2
    exit 1
fi

# 3. Package (or publish), and unpack the result.
cargo "$command" -p authhost-sdk ${cargo_args[@]+"${cargo_args[@]}"}
[ "$command" = package ] || exit 0
target="${CARGO_TARGET_DIR:-target}"
version=$(cargo pkgid -p authhost-sdk | sed 's/.*@//')
unpack "$target/package/authhost-sdk-$version.crate" "$target/package/authhost-sdk"
