#!/usr/bin/env bash
# Runs the whole test suite, installing what a fresh machine lacks first:
# the wasm32-wasip2 Rust target (for the provider components) and the Debian
# packages listed below.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "tests/run.sh: installing the wasm32-wasip2 target" >&2
    rustup target add wasm32-wasip2
fi

# Debian packages the tests use: Chromium (a real browser), curl (a stand-in
# browser), pgrep (checks that no helper process survives), Python (the
# pseudo-terminal driver in tests/pty and small test services; its venv
# module builds the Python example provider) and Node.js with npm (the OpenID
# Connect provider in tests/idp and the JavaScript example provider); for
# tests/keyring.rs a private D-Bus session bus (dbus-daemon, dbus-send), GNOME
# Keyring's Secret Service and libsecret's secret-tool; git
# (tests/git_credential.rs); kubectl and openssl (tests/kubectl.rs; Debian's
# kubectl is kubernetes-client); PostgreSQL for tests/postgres.rs.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v dbus-daemon >/dev/null 2>&1 || missing+=(dbus-daemon)
command -v dbus-send >/dev/null 2>&1 || missing+=(dbus-bin)
command -v gnome-keyring-daemon >/dev/null 2>&1 || missing+=(gnome-keyring)
command -v secret-tool >/dev/null 2>&1 || missing+=(libsecret-tools)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
# PostgreSQL (tests/postgres.rs: a throwaway cluster per test run, made with
# initdb and run as the postgres user).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    echo "tests/run.sh: installing ${missing[*]}" >&2
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The npm packages of tests/idp, installed again whenever its lock file is
# newer than the last install (npm ci leaves node_modules/.package-lock.json).
if [ ! tests/idp/node_modules/.package-lock.json -nt tests/idp/package-lock.json ]; then
    echo "tests/run.sh: installing the npm packages of tests/idp" >&2
    npm ci --prefix tests/idp --no-audit --no-fund >&2
fi
if ! node -e 'process.exit(typeof URL.parse === "function" ? 0 : 1)'; then
    echo "tests/run.sh: warning: tests/idp needs Node.js 20.18 or later, found $(node --version)" >&2
fi

# The terminal emulator of the pseudo-terminal tests (tests/pty), pinned
# with hashes, in a venv of its own; made again when the pins change.
venv=target/pty-venv
if [ ! "$venv/.installed" -nt tests/pty/requirements.txt ]; then
    echo "tests/run.sh: installing the Python packages of tests/pty" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
        -r tests/pty/requirements.txt >&2
    touch "$venv/.installed"
fi

# The JavaScript and Python example providers (tests/languages.rs), built
# from source with their pinned toolchains; a no-op when they are current.
started=$SECONDS
scripts/build-examples.sh
echo "tests/run.sh: example providers ready in $((SECONDS - started)) s" >&2

# The integration tests are one binary, `tests` (tests/tests.rs), with a
# module per area; arguments are passed on, e.g. one area:
#   ./tests/run.sh --test tests -- oauth2::
cargo test --release --workspace "$@"
