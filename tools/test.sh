#!/usr/bin/env bash
# Run all tests, each step timed:
#  1. the normal build (warnings as errors) in build/, its whole ctest suite
#     (with test_cli_torture: 500 SIGKILLs of trainer and runner);
#  2. Valgrind memcheck of the library tests in build/ (skipped, with a note,
#     when valgrind is not installed);
#  3. an ASan+UBSan build in build-asan/, its whole ctest suite (the torture
#     test with 100 kills there);
#  4. a ThreadSanitizer build in build-tsan/ of the threaded tests
#     (test_threads, test_checkpoint): about 20 s, so part of every run;
#  5. fuzzing (tools/fuzz.sh ci): the libFuzzer targets built with clang in
#     build-fuzz/, every seed corpus replayed, then each of the 8 targets
#     fuzzed for FUZZ_SECONDS (default 20), two at a time: about 95 s on 2
#     cores, build included. New inputs go to a scratch folder, never into the
#     corpora; a crash fails the step and prints its reproducer. To fuzz
#     longer and keep what adds coverage: tools/fuzz.sh run [SECONDS].
# Exits non-zero if anything fails.
#
#   tools/test.sh          everything above
#   tools/test.sh --tsan   step 4 alone
#   tools/test.sh --fuzz   step 5 alone (FUZZ_BUILD moves its build folder)
#
# JOBS sets the parallelism (default 2); LIVE_SKIP_DEPS=1 skips install-deps.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs=${JOBS:-2}

only=
case "${1:-}" in
"") ;;
--tsan | --fuzz) only=${1#--} ;;
*)
	echo "usage: tools/test.sh [--tsan | --fuzz]" >&2
	exit 2
	;;
esac

if [ "${LIVE_SKIP_DEPS:-0}" != 1 ]; then
	bash tools/install-deps.sh
fi

failed=()
t_all=$SECONDS
step_start() {
	t_step=$SECONDS
	echo "== $1"
}
step_end() {
	echo "-- $1: $((SECONDS - t_step)) s"
}

# The library's own tests: no fork-heavy or timing-bound ones (test_kill,
# test_threads), no CLI end-to-end runs (git, subprocesses).
valgrind_tests=(test_numfmt test_params test_formats test_names test_scenarios test_report
	test_divergence test_checkpoint test_checkpoint_ranks test_faults)

run_valgrind() {
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "valgrind is not installed: memcheck skipped (apt-get install valgrind)"
		return 0
	fi
	# One log per test in build/valgrind/; a failing test's log is printed.
	mkdir -p build/valgrind
	# shellcheck disable=SC2016 # $1 is expanded by the inner bash
	printf '%s\n' "${valgrind_tests[@]}" |
		xargs -P "$jobs" -I{} bash -c '
			log=build/valgrind/$1.log
			if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
				--show-leak-kinds=definite "build/tests/$1" >"$log" 2>&1; then
				echo "valgrind $1: ok"
			else
				echo "valgrind $1: FAILED (exit $?), $log:"
				cat "$log"
				exit 1
			fi' _ {}
}

run_tsan() {
	step_start "build-tsan/ (LIVE_TSAN=ON): test_threads, test_checkpoint, test_checkpoint_ranks"
	cmake -S . -B build-tsan -DLIVE_TSAN=ON
	cmake --build build-tsan -j"$jobs" --target test_threads test_checkpoint test_checkpoint_ranks
	TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1} \
		ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R '^(test_threads|test_checkpoint|test_checkpoint_ranks)$' ||
		failed+=("ctest in build-tsan/")
	step_end "build-tsan/"
}

run_fuzz() {
	local secs=${FUZZ_SECONDS:-20}
	step_start "${FUZZ_BUILD:-build-fuzz}/ (clang, libFuzzer, ASan + UBSan): replay every corpus, fuzz each target ${secs} s"
	JOBS=$jobs FUZZ_JOBS=${FUZZ_JOBS:-2} bash tools/fuzz.sh ci "$secs" || failed+=("fuzzing (tools/fuzz.sh ci)")
	step_end "fuzzing"
}

if [ "$only" = tsan ]; then
	run_tsan
elif [ "$only" = fuzz ]; then
	run_fuzz
else
	step_start "build/ (LIVE_WERROR=ON)"
	cmake -S . -B build -DLIVE_WERROR=ON
	cmake --build build -j"$jobs"
	ctest --test-dir build --output-on-failure -j"$jobs" || failed+=("ctest in build/")
	step_end "build/"

	step_start "valgrind memcheck (build/): ${valgrind_tests[*]}"
	run_valgrind || failed+=("valgrind memcheck")
	step_end "valgrind"

	# The install test links a consumer without sanitizer flags against the
	# instrumented library, so it runs in the normal build only.
	step_start "build-asan/ (LIVE_SANITIZE=ON: ASan + UBSan)"
	cmake -S . -B build-asan -DLIVE_SANITIZE=ON
	cmake --build build-asan -j"$jobs"
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		ctest --test-dir build-asan --output-on-failure -j"$jobs" -E '^install_consumer$' ||
		failed+=("ctest in build-asan/")
	step_end "build-asan/"

	run_tsan

	run_fuzz
fi

echo "-- total: $((SECONDS - t_all)) s"
if [ ${#failed[@]} -ne 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "all tests passed"
