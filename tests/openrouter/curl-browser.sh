#!/bin/sh
# A stand-in browser for the tests: follows the login URL's redirects like a
# browser would and saves the page it ends on to $AUTHHOST_TEST_PAGE.
exec curl --silent --location --max-redirs 5 --max-time 60 --output "$AUTHHOST_TEST_PAGE" "$1"
