#!/usr/bin/env bash
# fingerprint_maximum: fingerprint.sh (see there) with [obfuscation] stealth_mode = "maximum".
exec bash "$(dirname "$0")/fingerprint.sh" "$1" maximum
