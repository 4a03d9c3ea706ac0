#!/usr/bin/env bash
# fingerprint_standard: fingerprint.sh (see there) with [obfuscation] stealth_mode = "standard".
exec bash "$(dirname "$0")/fingerprint.sh" "$1" standard
