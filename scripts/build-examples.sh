#!/usr/bin/env bash
# Builds the JavaScript and Python example providers from source:
#
#   target/examples/js-provider.wasm   examples/js-provider (componentize-js)
#   target/examples/py-provider.wasm   examples/py-provider (componentize-py)
#
# The toolchains are installed at the versions pinned in the examples
# (examples/js-provider/package-lock.json, examples/py-provider/requirements.txt)
# when missing or when the pin changed: componentize-js into
# examples/js-provider/node_modules (npm ci), componentize-py into a virtual
# environment in target/examples/py-venv. npm and pip keep their download
# caches in the usual places (~/.npm, ~/.cache/pip). A component is built
# again only when a source file, the pin or wit/0.3.0 is newer than it.
#
# Usage: scripts/build-examples.sh [js] [py]   (both when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/examples
mkdir -p "$out"
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(js py)

# True when `$1` is missing or any file under the other arguments is newer.
stale() {
    local target=$1
    shift
    [ ! -e "$target" ] || [ -n "$(find "$@" -type f -newer "$target" -print -quit)" ]
}

build_js() {
    local dir=examples/js-provider
    command -v npm >/dev/null 2>&1 || {
        echo "build-examples: npm is missing (tests/run.sh installs it)" >&2
        return 1
    }
    if [ ! "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        echo "build-examples: installing componentize-js (npm ci)" >&2
        npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
    fi
    if stale "$out/js-provider.wasm" "$dir/src" "$dir/package-lock.json" wit/0.3.0; then
        echo "build-examples: building $out/js-provider.wasm" >&2
        (cd "$dir" && npm run --silent build)
    fi
}

build_py() {
    local dir=examples/py-provider venv=$out/py-venv
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        echo "build-examples: installing python3-venv" >&2
        local sudo_cmd=()
        if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-venv >/dev/null
    fi
    # A venv made elsewhere (a build cache restored under another path, or
    # over another python) is made again: its scripts name the old paths.
    if [ ! "$venv/installed" -nt "$dir/requirements.txt" ] ||
        ! "$venv/bin/componentize-py" --version >/dev/null 2>&1; then
        echo "build-examples: installing componentize-py (pip)" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
        touch "$venv/installed"
    fi
    if stale "$out/py-provider.wasm" "$dir/src" "$dir/requirements.txt" wit/0.3.0; then
        echo "build-examples: building $out/py-provider.wasm" >&2
        # No VIRTUAL_ENV: only the app's own folder goes into the component.
        env -u VIRTUAL_ENV "$venv/bin/componentize-py" --quiet \
            -d wit/0.3.0 -w plugin-with-http \
            componentize -p "$dir/src" app -o "$out/py-provider.wasm"
    fi
}

for which in "${wanted[@]}"; do
    case $which in
        js) build_js ;;
        py) build_py ;;
        *)
            echo "build-examples: unknown example \`$which\` (js, py)" >&2
            exit 2
            ;;
    esac
done
