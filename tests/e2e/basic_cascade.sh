#!/usr/bin/env bash
# basic_cascade: basic.sh (see there for the topology) with [crypto] mode = "maximum_security".
exec bash "$(dirname "$0")/basic.sh" "$1" maximum_security
