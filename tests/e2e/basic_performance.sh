#!/usr/bin/env bash
# basic_performance: basic.sh (see there for the topology) with [crypto] mode = "performance".
exec bash "$(dirname "$0")/basic.sh" "$1" performance
