#!/bin/sh
# A stand-in browser for the tests: only records the URL it was asked to open.
printf '%s\n' "$1" > "$AUTHHOST_TEST_URL_FILE"
