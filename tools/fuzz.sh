#!/usr/bin/env bash
# libFuzzer targets for every parser (tests/fuzz; issue #7).
#
#   tools/fuzz.sh replay [TARGET...]          build, then run each seed corpus once (-runs=0): fast, for CI
#   tools/fuzz.sh run [SECONDS] [TARGET...]   build, then fuzz each target for SECONDS (default 600) and
#                                             merge the inputs that add coverage into its seed corpus
#   tools/fuzz.sh list                        the targets
#
# The build is clang with ASan + UBSan + libFuzzer in build-fuzz/ (FUZZ_BUILD), apart from the gcc
# builds. A target's seeds are tests/fuzz/corpus/<target>/, its dictionary tests/fuzz/dict/<target>.dict.
# `run` writes new inputs to build-fuzz/fuzz-out/<target>/ and merges them with -merge=1, which keeps
# only those that add coverage (new edges); crashes go to build-fuzz/fuzz-artifacts/<target>/, logs to
# build-fuzz/fuzz-logs/<target>.log. Exits non-zero if any target crashed, leaked or broke an invariant.
#
# Environment: CC (default clang), FUZZ_BUILD (build-fuzz), FUZZ_JOBS (targets fuzzed at once, 1),
# FUZZ_TIMEOUT (seconds per input before it counts as a hang, 25), FUZZ_RSS_MB (2048),
# FUZZ_MERGE=0 (keep the seed corpora as they are), FUZZ_NO_BUILD=1 (use the binaries as built),
# JOBS (build parallelism, 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
build=${FUZZ_BUILD:-build-fuzz}
targets_all=(params_yaml dvc_yaml dvc_lock resume numfmt git_rev idx model_file)

usage() {
	sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

build_targets() {
	[ "${FUZZ_NO_BUILD:-0}" = 1 ] && return 0
	if [ ! -f "$build/CMakeCache.txt" ]; then
		CC=${CC:-clang} cmake -S . -B "$build" -DLIVE_FUZZ=ON -DLIVE_SANITIZE=ON \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	fi
	cmake --build "$build" --target fuzz -j"${JOBS:-2}" >/dev/null
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

# The last "cov: N ft: M" libFuzzer printed.
coverage() {
	grep -o 'cov: [0-9]* ft: [0-9]*' "$1" | tail -1 | awk '{print $2 "/" $4}'
}

replay_one() {
	local t=$1 log="$build/fuzz-logs/$t.replay.log" tmp rc=0 start end
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
		sed -n '/ERROR\|invariant broken\|runtime error/,+25p' "$log" | head -40 >&2
		return 1
	fi
}

run_one() {
	local t=$1 secs=$2 log="$build/fuzz-logs/$t.log" out="$build/fuzz-out/$t" tmp rc=0 start end dict=()
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
	if [ "$result" = ok ] && [ "${FUZZ_MERGE:-1}" = 1 ]; then
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
		grep 'Test unit written to' "$log" >&2 || true
		sed -n '/ERROR\|invariant broken\|runtime error/,+25p' "$log" | head -40 >&2
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
replay | run) ;;
*) usage ;;
esac

secs=600
if [ "$cmd" = run ] && [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
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

failed=0
if [ "$cmd" = replay ]; then
	printf '%-12s %7s %10s %8s  %s\n' target inputs cov/ft seconds result
	for t in "${targets[@]}"; do
		replay_one "$t" || failed=1
	done
else
	printf '%-12s %8s %12s %10s %6s  %s\n' target time runs cov/ft added result
	jobs_max=${FUZZ_JOBS:-1}
	running=0
	for t in "${targets[@]}"; do
		if [ "$running" -ge "$jobs_max" ]; then
			wait -n || failed=1
			running=$((running - 1))
		fi
		run_one "$t" "$secs" &
		running=$((running + 1))
	done
	while [ "$running" -gt 0 ]; do
		wait -n || failed=1
		running=$((running - 1))
	done
fi
if [ "$failed" != 0 ]; then
	echo "fuzz.sh: some targets failed (logs in $root/$build/fuzz-logs)" >&2
	exit 1
fi
