#!/bin/sh
# A stand-in browser for the OAuth tests: follows the authorization URL's
# redirects with cookies, as a browser would (tests/idp/idp.mjs with
# `--interactions auto` needs no form), down to authhost's loopback
# listener, and saves the page it ends on to $AUTHHOST_TEST_PAGE.
exec curl --silent --location --cookie "" --max-redirs 10 --max-time 60 \
    --output "$AUTHHOST_TEST_PAGE" "$1"
