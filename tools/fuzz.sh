#!/usr/bin/env bash
# libFuzzer targets for every parser (tests/fuzz; issue #7).
#
#   tools/fuzz.sh replay [TARGET...]          build, then run each seed corpus once (-runs=0): seconds
#   tools/fuzz.sh ci [SECONDS] [TARGET...]    what CI runs (tools/test.sh): replay, then fuzz each target for
#                                             SECONDS (default 20), FUZZ_JOBS (default 2) at a time; new
#                                             inputs go to a scratch folder and are dropped (seeds unchanged)
#   tools/fuzz.sh run [SECONDS] [TARGET...]   fuzz longer: each target for SECONDS (default 600), then merge
#                                             the inputs that add coverage into its seed corpus
#   tools/fuzz.sh list                        the targets
#
# The build is clang with ASan + UBSan + libFuzzer in build-fuzz/ (FUZZ_BUILD), apart from the gcc
# builds. A target's seeds are tests/fuzz/corpus/<target>/, its dictionary tests/fuzz/dict/<target>.dict.
# `run` writes new inputs to build-fuzz/fuzz-out/<target>/ and merges them with -merge=1, which keeps
# only those that add coverage (new edges); `ci` writes them to a temporary folder, removed at the end.
# Crashes go to build-fuzz/fuzz-artifacts/<target>/, logs to build-fuzz/fuzz-logs/<target>.log. Exits
# non-zero if any target crashed, leaked, hung or broke an invariant, after printing for each one its
# reproducer and the command that replays it (build-fuzz/tests/fuzz/fuzz_<target> <reproducer>).
#
# Environment: CC (default clang), FUZZ_BUILD (build-fuzz), FUZZ_JOBS (targets fuzzed at once: 1 for
# run, 2 for ci), FUZZ_TIMEOUT (seconds per input before it counts as a hang, 25), FUZZ_RSS_MB (2048),
# FUZZ_MERGE=0 (run: keep the seed corpora as they are), FUZZ_NO_BUILD=1 (use the binaries as built),
# JOBS (build parallelism, 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${FUZZ_BUILD:-build-fuzz}
targets_all=(params_yaml dvc_yaml dvc_lock resume numfmt git_rev manifest idx model_file)

usage() {
	sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# Quiet when it works; the whole output when it does not.
build_targets() {
	[ "${FUZZ_NO_BUILD:-0}" = 1 ] && return 0
	local log t0=$SECONDS
	log=$(mktemp)
	if [ ! -f "$build/CMakeCache.txt" ]; then
		if ! CC=${CC:-clang} cmake -S . -B "$build" -DLIVE_FUZZ=ON -DLIVE_SANITIZE=ON \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			echo "fuzz.sh: configuring $build failed (the fuzz build needs clang and libclang-rt-14-dev)" >&2
			exit 1
		fi
	fi
	if ! cmake --build "$build" --target fuzz -j"${JOBS:-2}" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "fuzz.sh: building the fuzz targets in $build failed" >&2
		exit 1
	fi
	rm -f "$log"
	echo "fuzz.sh: built the targets in $build/ ($((SECONDS - t0)) s)"
}

binary() {
	echo "$build/tests/fuzz/fuzz_$1"
}

# A scratch folder for the target's files (in memory when /dev/shm is there).
scratch() {
	local base=/tmp
	[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
	mktemp -d "$base/live-fuzz-$1.XXXXXX"
}

# What a log says went wrong, or "ok".
verdict() {
	local log=$1 rc=$2
	if [ "$rc" = 0 ]; then
		echo ok
	elif grep -q 'invariant broken' "$log"; then
		echo "INVARIANT"
	elif grep -q 'ERROR: LeakSanitizer' "$log"; then
		echo "LEAK"
	elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then
		echo "TIMEOUT"
	elif grep -q 'ERROR: libFuzzer: out-of-memory\|malloc(.*) exceeds limit' "$log"; then
		echo "OOM"
	elif grep -q 'runtime error:' "$log"; then
		echo "UBSAN"
	elif grep -q 'ERROR: AddressSanitizer' "$log"; then
		echo "ASAN"
	else
		echo "CRASH(rc=$rc)"
	fi
}

# After a failure: the reproducer libFuzzer saved, the seed it is (replay), how to run it again.
report_failure() {
	local t=$1 log=$2 result=$3 unit sum seed
	unit=$(sed -n 's/^.*Test unit written to //p' "$log" | tail -1)
	sed -n '/ERROR\|invariant broken\|runtime error/,+25p' "$log" | head -40 >&2
	echo "fuzz.sh: $t: $result (log: $log)" >&2
	if [ -n "$unit" ] && [ -f "$unit" ]; then
		echo "  reproducer: $unit" >&2
		sum=$(sha1sum <"$unit" | cut -d' ' -f1)
		seed=$(find "tests/fuzz/corpus/$t" -type f -exec sha1sum {} + | awk -v s="$sum" '$1 == s { print $2; exit }')
		[ -z "$seed" ] || echo "  the seed: $seed" >&2
		echo "  replay it: $(binary "$t") $unit" >&2
	else
		echo "  no reproducer was saved: see the log" >&2
	fi
}

# The last "cov: N ft: M" libFuzzer printed.
coverage() {
	grep -o 'cov: [0-9]* ft: [0-9]*' "$1" | tail -1 | awk '{print $2 "/" $4}'
}

replay_one() {
	local t=$1
	local log="$build/fuzz-logs/$t.replay.log" tmp rc=0 start end
	tmp=$(scratch "$t")
	start=$(date +%s.%N)
	TMPDIR=$tmp "$(binary "$t")" -runs=0 -timeout="${FUZZ_TIMEOUT:-25}" \
		-artifact_prefix="$build/fuzz-artifacts/$t/" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	end=$(date +%s.%N)
	rm -rf "$tmp"
	local n result
	n=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
	result=$(verdict "$log" "$rc")
	printf '%-12s %7s %10s %8.1f  %s\n' "$t" "$n" "$(coverage "$log")" \
		"$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$result"
	if [ "$result" != ok ]; then
		report_failure "$t" "$log" "$result"
		return 1
	fi
}

run_one() {
	local t=$1 secs=$2
	local log="$build/fuzz-logs/$t.log" out="$outbase/$t" tmp rc=0 start end dict=()
	tmp=$(scratch "$t")
	rm -rf "$out"
	mkdir -p "$out"
	[ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
	start=$(date +%s)
	TMPDIR=$tmp "$(binary "$t")" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-25}" \
		-rss_limit_mb="${FUZZ_RSS_MB:-2048}" -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$build/fuzz-artifacts/$t/" "$out" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	end=$(date +%s)
	local runs added="-" result
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	[ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
	result=$(verdict "$log" "$rc")
	if [ "$result" = ok ] && [ "$merge" = 1 ]; then
		local before after
		before=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
		# -use_counters=0: keep an input for new edges only, not for new hit counts, so the
		# corpora grow by a few hundred small files per target rather than thousands.
		TMPDIR=$tmp "$(binary "$t")" -merge=1 -use_counters=0 -timeout="${FUZZ_TIMEOUT:-25}" \
			"tests/fuzz/corpus/$t" "$out" >"$build/fuzz-logs/$t.merge.log" 2>&1 || result="MERGE-FAILED"
		after=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
		added=$((after - before))
	fi
	rm -rf "$tmp"
	printf '%-12s %7ss %12s %10s %6s  %s\n' "$t" "$((end - start))" "${runs:-?}" "$(coverage "$log")" \
		"$added" "$result"
	if [ "$result" != ok ]; then
		report_failure "$t" "$log" "$result"
		return 1
	fi
}

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
case $cmd in
list)
	printf '%s\n' "${targets_all[@]}"
	exit 0
	;;
replay | run | ci) ;;
*) usage ;;
esac

secs=600 jobs_max=${FUZZ_JOBS:-1} merge=${FUZZ_MERGE:-1} outbase=$build/fuzz-out
if [ "$cmd" = ci ]; then
	# Short and fixed; nothing found on the way is kept but the reproducers of failures.
	secs=20 jobs_max=${FUZZ_JOBS:-2} merge=0
	outbase=$(scratch ci-corpus)
	trap 'rm -rf "$outbase"' EXIT
fi
if [ "$cmd" != replay ] && [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
	secs=$1
	shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")
for t in "${targets[@]}"; do
	[ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz.sh: no target '$t' (see tools/fuzz.sh list)" >&2; exit 2; }
done

build_targets
mkdir -p "$build/fuzz-logs"
for t in "${targets[@]}"; do
	mkdir -p "$build/fuzz-artifacts/$t"
	[ -x "$(binary "$t")" ] || { echo "fuzz.sh: $(binary "$t") was not built" >&2; exit 1; }
done

failed=()
if [ "$cmd" = replay ] || [ "$cmd" = ci ]; then
	printf '%-12s %7s %10s %8s  %s\n' target inputs cov/ft seconds result
	for t in "${targets[@]}"; do
		replay_one "$t" || failed+=("$t (replay)")
	done
fi
if [ "$cmd" = run ] || [ "$cmd" = ci ]; then
	[ "$cmd" = run ] || echo
	printf '%-12s %8s %12s %10s %6s  %s\n' target time runs cov/ft added result
	declare -A pid_target=()
	wait_one() {
		local pid rc=0
		wait -n -p pid "${!pid_target[@]}" || rc=$?
		[ "$rc" = 0 ] || failed+=("${pid_target[$pid]}")
		unset "pid_target[$pid]"
	}
	for t in "${targets[@]}"; do
		[ "${#pid_target[@]}" -lt "$jobs_max" ] || wait_one
		run_one "$t" "$secs" &
		pid_target[$!]=$t
	done
	while [ "${#pid_target[@]}" -gt 0 ]; do
		wait_one
	done
fi
if [ ${#failed[@]} -ne 0 ]; then
	echo "fuzz.sh: failed: ${failed[*]} (logs in $build/fuzz-logs/, reproducers above)" >&2
	exit 1
fi
