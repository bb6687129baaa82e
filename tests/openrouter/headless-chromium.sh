#!/bin/sh
# A real browser for the tests: headless Chromium opens the login URL,
# follows the redirect to authhost's loopback callback and saves the page it
# shows to $AUTHHOST_TEST_PAGE.
set -e
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --timeout=30000 --dump-dom "$1" > "$AUTHHOST_TEST_PAGE" 2>/dev/null
