# The steps scripts/package.sh and scripts/package-sdk.sh share. Sourced,
# not run; each function names the calling script ($script) in its
# messages.

# package_mode ARGS...: `package` or `publish` (first argument `--publish`)
# into $command, the cargo options after it into the array $cargo_args
# (expand it as ${cargo_args[@]+"${cargo_args[@]}"}: bash before 4.4, as
# on macOS, calls an empty array unbound under `set -u`), and whether they
# hold `--allow-dirty` into $allow_dirty.
package_mode() {
    command=package
    if [ "${1:-}" = "--publish" ]; then
        command=publish
        shift
    fi
    cargo_args=("$@")
    allow_dirty=false
    for arg in "$@"; do
        if [ "$arg" = "--allow-dirty" ]; then allow_dirty=true; fi
    done
}

# refuse_uncommitted LISTING: stops when LISTING (git status --porcelain
# lines of what would go into the package) is not empty, unless the caller
# passed --allow-dirty.
refuse_uncommitted() {
    if $allow_dirty || [ -z "$1" ]; then return 0; fi
    echo "$script: uncommitted files would go into the package:" >&2
    echo "$1" >&2
    echo "commit them, or pass --allow-dirty" >&2
    exit 1
}

# unpack CRATE DEST: the files of the .crate CRATE, unpacked into DEST
# (emptied first), where a build outside the repository can use them.
unpack() {
    local crate=$1 dest=$2
    if [ ! -s "$crate" ]; then
        echo "$script: cargo made no $crate" >&2
        exit 1
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    tar -xzf "$crate" -C "$dest" --strip-components=1
    # cargo gives every file in a .crate the same fixed time, so an earlier
    # build of an unpacked package would look up to date: mark them new.
    find "$dest" -type f -exec touch {} +
    echo "$script: made $crate, unpacked in $dest/" >&2
}
