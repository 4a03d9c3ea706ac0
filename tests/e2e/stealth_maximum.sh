#!/usr/bin/env bash
# stealth_maximum: tests/e2e/stealth.sh with stealth_mode = "maximum".
exec bash "$(dirname "$0")/stealth.sh" "$1" maximum
