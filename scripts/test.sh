#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, then
#   1. plain build (-O2, -Werror): unit, constant-time (valgrind), interop and
#      e2e (root, network namespaces) tests; then a release (-O3) build
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: unit and e2e tests
#   3. valgrind memcheck over the unit tests: no leaks, no invalid accesses
#   4. clang + libFuzzer build: every fuzz target over its seed corpus, then
#      a short fuzzing run each (FUZZ_SECONDS, default 12: 15 targets, and
#      the whole script stays under 30 minutes on a 2-core machine)
#   5. clang-format check of every C file
# Ends with one line "N passed, M failed" over all stages; exit 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-12}
# e2e scenarios at once among those that mostly wait (tests/e2e/meson.build,
# e2e_side_by_side); the others always run alone
E2E_JOBS=${E2E_JOBS:-4}
passed=0
failed=0

say() { printf '\n==> %s\n' "$*"; }

# meson test prints "Ok: N" and "Fail: N" (and Expected Fail, Unexpected Pass,
# Timeout); fold them into the totals.
count_meson() {
	local log=$1 ok fail xfail upass timeout
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -n1)
	xfail=$(awk '/^Expected Fail:/ {print $3}' "$log" | tail -n1)
	fail=$(awk '/^Fail:/ {print $2}' "$log" | tail -n1)
	upass=$(awk '/^Unexpected Pass:/ {print $3}' "$log" | tail -n1)
	timeout=$(awk '/^Timeout:/ {print $2}' "$log" | tail -n1)
	passed=$((passed + ${ok:-0} + ${xfail:-0}))
	failed=$((failed + ${fail:-0} + ${upass:-0} + ${timeout:-0}))
}

run_meson_tests() {
	local dir=$1
	shift
	local log
	log=$(mktemp)
	if ! meson test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$log"; then
		:
	fi
	if ! grep -q '^Ok:' "$log"; then
		echo "meson test in $dir produced no summary" >&2
		failed=$((failed + 1))
	fi
	count_meson "$log"
	rm -f "$log"
}

setup() {
	local dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
}

say "dependencies"
scripts/install-deps.sh

say "1. plain build: unit + constant-time tests"
setup build -Dtest_hooks=true
run_meson_tests build --no-suite e2e
# the e2e suite once per event-loop backend (tests/e2e/lib.sh, LL_IO_URING):
# io_uring here, epoll in the ASan run below
LL_IO_URING=1 run_meson_tests build --suite e2e --num-processes "$E2E_JOBS"

say "1b. release build (-O3 -Werror: optimiser-only warnings)"
if setup build-release --buildtype=release; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

say "2. AddressSanitizer + UndefinedBehaviorSanitizer"
setup build-asan -Dtest_hooks=true -Db_sanitize=address,undefined -Db_lundef=false -Dct_tests=disabled
run_meson_tests build-asan --suite unit
# the daemons themselves under the sanitizers: lib.sh fails a scenario on any
# sanitizer report in their logs (smaller transfers keep the stage short)
LL_IO_URING=0 LL_E2E_MB=40 run_meson_tests build-asan --suite e2e --num-processes "$E2E_JOBS"

say "3. valgrind memcheck (leaks, invalid accesses)"
run_meson_tests build --suite unit --timeout-multiplier 4 \
	--wrapper 'valgrind --quiet --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite'

say "4. libFuzzer targets (clang, ASan + UBSan)"
CC=clang setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Dct_tests=disabled
run_meson_tests build-fuzz --suite fuzz
# fuzz_one EXE NAME: FUZZ_SECONDS of fuzzing from the seed corpus; its
# output and verdict stay in $scratch (NAME.log, NAME.ok) for the report.
fuzz_one() {
	local exe=$1 name=$2
	mkdir -p "$scratch/$name" "$scratch/$name.crash"
	cp -r "tests/fuzz/corpus/$name/." "$scratch/$name/" 2>/dev/null || true
	# its crash-*, leak-*, timeout-* files go to a directory of its own
	if "$exe" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="$scratch/$name.crash/" "$scratch/$name" >"$scratch/$name.log" 2>&1; then
		touch "$scratch/$name.ok"
	fi
}
# FUZZ_JOBS targets at once (default: one per CPU; each is single-threaded,
# so each still gets its FUZZ_SECONDS of a whole CPU)
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)}
scratch=$(mktemp -d)
names=()
for exe in build-fuzz/tests/fuzz/fuzz_*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue # skip meson's fuzz_*.p object dirs
	name=${exe##*/fuzz_}
	names+=("$name")
	while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do
		wait -n || true
	done
	echo "fuzz $name: ${FUZZ_SECONDS}s"
	fuzz_one "$exe" "$name" &
done
wait
for name in "${names[@]}"; do
	if [ -e "$scratch/$name.ok" ]; then
		echo "fuzz $name:"
		grep -E 'stat::number_of_executed_units|stat::peak_rss' "$scratch/$name.log" || true
		passed=$((passed + 1))
	else
		tail -n 40 "$scratch/$name.log"
		echo "fuzz $name: FAILED (crash input kept in $PWD/build-fuzz/)"
		cp "$scratch/$name.crash"/* build-fuzz/ 2>/dev/null || true
		failed=$((failed + 1))
	fi
done
rm -rf "$scratch"

say "5. clang-format"
unformatted=$(git ls-files '*.c' '*.h' | while read -r f; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [ -z "$unformatted" ]; then
	echo "all C files formatted"
	passed=$((passed + 1))
else
	echo "not clang-formatted (run clang-format -i): $unformatted"
	failed=$((failed + 1))
fi

echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
