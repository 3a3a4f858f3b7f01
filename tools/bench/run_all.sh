#!/usr/bin/env bash
# Every benchmark of issues #2-#6 with one command, printed as ONE table: each
# measure beside its target and beside the same work done by the obvious
# alternative in the same run, so that the ratio holds on a noisy machine.
# A measurement, not a test: it exits 0 whatever the verdicts (1 if a
# benchmark could not run at all, 2 on bad usage).
#
#   logging      live_log / live_next_step, 10 metrics (live_log_vs_fprintf:
#                interleaved with a plain fprintf loop writing the same TSV
#                rows: fopen once, fprintf per value, fflush per step);
#                step cost late / early, allocations per step and report on /
#                off (live_bench)
#   checkpoint   trainer stall under `live exp run` (tests/cli/tiny_trainer,
#                TINY_TIMING=1), 1 MB model back to back and with 30 ms steps,
#                against `cp model.pt` + `git add` + `git commit` per
#                checkpoint in a scratch repository; 100 MB model against one
#                `cp` of the file; an unchanged 1 GB dependency: bytes the
#                runner read (LIVE_IO_STATS) against its size
#   exp show     1 x 1000 and 100 x 100 (tools/bench/bench_exp_show.sh)
#                against `git log --format=%H` + `git show <c>:dvclive.json`
#                per commit
#   report       size at 1e6 steps x 5 metrics; Chromium's first contentful
#                paint (tests/browser/cdp_check.py), skipped without Chromium
#   sharing      `live exp push` / `exp pull` of one experiment of 100
#                checkpoints with a 10 MB model (tools/bench/bench_remote.sh)
#                against `git push` / `git fetch` of its refs + rsync (cp -r
#                without rsync) of the cache; a second push with nothing new
#
# usage: tools/bench/run_all.sh [--quick] [--verbose] [build-dir]   (default: build)
#   --quick    smaller counts (under 2 minutes); the full run takes about 5
#   --verbose  also copy every benchmark's own output to stderr
# Progress goes to stderr, the table to stdout. Temporary files live under
# one mktemp folder in /var/tmp (live_bench's own under /tmp), removed at exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

quick=0 verbose=0 build=build
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	--verbose | -v) verbose=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run_all.sh: unknown option $a (see --help)" >&2; exit 2 ;;
	*) build=$a ;;
	esac
done
build=$(realpath "$build")
live=$build/tools/cli/live
trainer=$build/tests/tiny_trainer
live_bench=$build/tools/bench/live_bench
log_vs=$build/tools/bench/live_log_vs_fprintf
fixture=$build/tests/report_fixture
for x in "$live" "$trainer" "$live_bench" "$log_vs" "$fixture"; do
	[ -x "$x" ] || { echo "run_all.sh: $x missing; build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }
done
for t in git cp awk lscpu df python3; do
	command -v "$t" > /dev/null || { echo "run_all.sh: $t not found" >&2; exit 1; }
done

# ---- counts -------------------------------------------------------------------
if [ "$quick" = 1 ]; then
	mode="quick"
	bench_steps=100000 bench_every=5000 # live_bench
	lv_steps=50000                      # live_log_vs_fprintf, per side
	ck_b2b=200 ck_slow=50 ck_big=5 ck_dep=5 # checkpoints per case
	alt_b2b=30 alt_slow=20              # cp + git add + git commit loops
	cp_reps=3                           # cp of the 100 MB file
	show_sample=300                     # commits the naive reader reads per shape (then scaled)
	share_ckpts=20                      # checkpoints of the shared experiment (10 MB model each)
else
	mode="full"
	bench_steps=1000000 bench_every=20000
	lv_steps=200000
	ck_b2b=1000 ck_slow=200 ck_big=10 ck_dep=20
	alt_b2b=200 alt_slow=100
	cp_reps=5
	show_sample=0 # every commit
	share_ckpts=100
fi
report_steps=1000000

# ---- temp folder and cleanup ----------------------------------------------------
work=$(mktemp -d /var/tmp/live_run_all.XXXXXX)
cleanup() {
	# bench_exp_show.sh runs with KEEP=1 (its repositories are read here too): its
	# folder is named on the first line of its output.
	local show_dir
	show_dir=$(sed -n '1s/.* at \(\/var\/tmp\/live_bench_show\.[A-Za-z0-9]*\)$/\1/p' "$work/raw/exp_show.txt" 2>/dev/null || true)
	[ -n "$show_dir" ] && [ -d "$show_dir" ] && rm -rf "$show_dir"
	rm -rf "$work"
}
# Each section runs as a background job in its own process group (set -m), and the script waits
# for it: Ctrl+C (or a TERM to the script) then reaches the script even while a program that
# handles SIGINT itself is running (live_bench, `live exp run`), and the script stops the
# section's whole process group before it removes the temp folder.
section_pid=""
on_signal() {
	echo "run_all.sh: interrupted; stopping the running benchmark" >&2
	if [ -n "$section_pid" ]; then
		kill -TERM -- -"$section_pid" 2> /dev/null || true
		local i
		for ((i = 0; i < 100; i++)); do
			kill -0 -- -"$section_pid" 2> /dev/null || break
			sleep 0.1
		done
		kill -KILL -- -"$section_pid" 2> /dev/null || true
	fi
	exit 130
}
trap cleanup EXIT
trap on_signal INT TERM
set -m
mkdir -p "$work/raw" "$work/home"
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home TMPDIR=$work LC_ALL=C
unset DVCLIVE_PATH DVCLIVE_SUMMARY DVCLIVE_HTML DVCLIVE_RESUME LIVE_LAYOUT LIVE_SUMMARY_INTERVAL_MS NO_COLOR || true
rows=$work/rows.tsv notes=$work/notes.txt
: > "$rows"
: > "$notes"
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

say() { printf '[%4ds] %s\n' "$(($(date +%s) - t_start))" "$*" >&2; }
raw() { [ "$verbose" = 1 ] && sed 's/^/    | /' "$1" >&2 || true; }
note() { printf '%s\n' "$*" >> "$notes"; }
# row MEASURE VALUE TARGET ALTERNATIVE ALT_VALUE RATIO VERDICT
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$rows"; }
# calc EXPR: awk arithmetic, printed with %.6g
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
# le A B: exit 0 when A <= B (both numbers)
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }'; }
ok() { if le "$1" "$2"; then echo ok; else echo MISSED; fi; }
ratio() { # A B: "A/B x", 2 significant digits at least
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0 || a == "") { print "-"; exit }
		r = a / b; printf(r < 0.01 ? "%.4f×" : r < 0.1 ? "%.3f×" : r < 100 ? "%.2f×" : "%.0f×", r) }'
}
num() { awk -v x="$1" 'BEGIN { if (x == "") exit; x += 0; printf(x < 100 ? "%.2f" : x < 1000 ? "%.1f" : "%.0f", x) }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%.6g", a[int((NR + 1) / 2)] }'; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
kv() { sed -n "s/^$1=//p" "$2"; } # key file

# run SECTION: a function in a subshell with errexit on; a failure is a row, not the end.
failed=0
run() {
	local rc=0
	(
		set -e
		"$@"
	) < /dev/null &
	section_pid=$!
	wait "$section_pid" || rc=$?
	section_pid=""
	if [ "$rc" != 0 ]; then
		failed=1
		row "$1: did not run (exit $rc; see stderr)" "-" "-" "-" "-" "-" "ERROR"
	fi
}

# ---- 1. logging -------------------------------------------------------------------
logging() {
	local f=$work/raw/log_vs_fprintf.txt
	say "logging: live_log / live_next_step interleaved with a plain fprintf loop, $lv_steps steps each"
	"$log_vs" --steps "$lv_steps" > "$f"
	raw "$f"
	local ll nx st pl pf ps
	ll=$(kv live_log_ns "$f") nx=$(kv live_next_us "$f") st=$(kv live_step_us "$f")
	pl=$(kv plain_log_ns "$f") pf=$(kv plain_flush_us "$f") ps=$(kv plain_step_us "$f")
	[ -n "$ll" ] && [ -n "$pl" ]
	row "live_log, 10 metrics, median per call" "$ll ns" "≤ 200 ns" 'fprintf of the row ("%.17g")' "$pl ns" \
		"$(ratio "$ll" "$pl")" "$(ok "$ll" 200)"
	row "live_next_step, 10 metrics, median" "$(num "$nx") µs" "≤ 30 µs" "fflush of the 10 files" "$(num "$pf") µs" \
		"$(ratio "$nx" "$pf")" "$(ok "$nx" 30)"
	row "whole step (10 logs + next_step), median" "$(num "$st") µs" "-" "10 fprintf + 10 fflush" "$(num "$ps") µs" \
		"$(ratio "$st" "$ps")" "-"
	note "logging: $lv_steps steps per side in alternating blocks of 1000, one process; live is the default run" \
		"(live_log, its lock included), report off; the plain loop writes no summary JSON."

	f=$work/raw/live_bench.txt
	say "logging: live_bench --steps $bench_steps (report off, on, LIVE_EVERY_STEP)"
	"$live_bench" --steps "$bench_steps" --every-steps "$bench_every" > "$f"
	raw "$f"
	local line late early growth allocs on off medratio
	line=$(grep -E '^step cost at [0-9]+ / at [0-9]+ \(median\)' "$f")
	late=$(sed -E 's/^step cost at ([0-9]+) .*/\1/' <<< "$line")
	early=$(sed -E 's/^step cost at [0-9]+ \/ at ([0-9]+) .*/\1/' <<< "$line")
	growth=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+x$/) { sub(/x$/, "", $i); print $i; exit } }' <<< "$line")
	allocs=$(awk '/^heap allocations per step/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) { print $i; exit } }' "$f")
	line=$(grep -E '^mean step, report on / off' "$f")
	on=$(sed -E 's/.*\(([0-9.]+) \/ ([0-9.]+) us\).*/\1/' <<< "$line")
	off=$(sed -E 's/.*\(([0-9.]+) \/ ([0-9.]+) us\).*/\2/' <<< "$line")
	medratio=$(awk '/^next_step median, report on \/ off/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+x$/) { sub(/x$/, "", $i); print $i; exit } }' "$f")
	[ -n "$growth" ] && [ -n "$on" ] && [ -n "$off" ]
	row "step cost at step $late / at step $early (median)" "${growth}×" "≤ 1.2×" "-" "-" "-" "$(ok "$growth" 1.2)"
	if [ -n "$allocs" ]; then
		row "heap allocations per step (steps 1000..$((bench_steps - 1)))" "$allocs" "0" "-" "-" "-" \
			"$(ok "$allocs" 0.0004999)"
	else
		row "heap allocations per step" "not counted" "0" "-" "-" "-" "n/a"
	fi
	# live_bench's figure for the goal: medians of live_run_next_step over its windows, report on /
	# off (both runs use an explicit handle); the mean step of each whole run is the second opinion.
	local offmed onmed v=MISSED
	offmed=$(awk '/^live_run_next_step median \(10 metrics\)/ { for (i = 1; i <= NF; i++) if ($i == "us") { print $(i - 1); exit } }' "$f")
	[ -n "$offmed" ] && [ -n "$medratio" ]
	onmed=$(calc "$medratio * $offmed")
	le "$medratio" 2 && v=ok
	row "live_next_step with the report on (html), median" "$(num "$onmed") µs" "≤ 2× off" "the report off" \
		"$(num "$offmed") µs" "${medratio}×" "$v"
	note "live_bench: $bench_steps steps x 10 metrics; report on / off: median live_next_step ${medratio}×;" \
		"mean step over the whole runs $(num "$on") / $(num "$off") µs = $(ratio "$on" "$off") ($(ok "$(calc "$on / $off")" 2) against 2×);" \
		"live_log median there: $(awk '/^live_log median/ { for (i = 1; i <= NF; i++) if ($i == "ns") { print $(i - 1) " ns"; exit } }' "$f")."
}

# ---- 2. checkpoints ---------------------------------------------------------------
ck_setup() { # dir extra-deps params...
	local dir=$1 deps=$2
	shift 2
	mkdir -p "$dir" && cd "$dir"
	git init -q && git config user.name bench && git config user.email bench@example.com
	cp "$trainer" train
	printf '%s\n' "$@" > params.yaml
	git add . && git commit -qm baseline
	"$live" init -q
	# shellcheck disable=SC2086 # $deps: zero or more "-d path" words
	"$live" stage add -n train -d train $deps -c model.pt --plots-no-cache predictions.json \
		-p lr --live dvclive ./train > /dev/null
	git add -A && git commit -qm setup
}

ck_stall() { # out-file: run `live exp run` in the current repository, keep its stall/read lines
	TINY_TIMING=1 LIVE_IO_STATS=1 "$live" exp run 2>&1 > /dev/null | grep -E '^stall:|^live: read' > "$1" || true
	raw "$1"
	grep -q '^stall:' "$1"
}
stall_med() { sed -nE 's/^stall: .* median ([0-9.]+) ms, p99 ([0-9.]+) ms.*/\1/p' "$1"; }
stall_p99() { sed -nE 's/^stall: .* median ([0-9.]+) ms, p99 ([0-9.]+) ms.*/\2/p' "$1"; }

# git_alt N SLEEP_S: median ms of `cp model.pt` + `git add` + `git commit` in a scratch repository,
# a 1 MB model of random bytes changed before each checkpoint (not timed), SLEEP_S of "training" between.
git_alt() {
	local n=$1 pause=$2 d i t0 t1
	d=$(mktemp -d "$work/gitalt.XXXXXX")
	git init -q "$d/repo" && git -C "$d/repo" config user.name bench && git -C "$d/repo" config user.email bench@example.com
	head -c 1048576 /dev/urandom > "$d/model.pt"
	printf '{"step": 0}\n' > "$d/repo/dvclive.json"
	git -C "$d/repo" add -A && git -C "$d/repo" commit -qm baseline
	for ((i = 1; i <= n; i++)); do
		printf '%016d' "$i" | dd of="$d/model.pt" conv=notrunc bs=16 count=1 status=none
		[ "$pause" = 0 ] || sleep "$pause"
		t0=$(now_us)
		cp "$d/model.pt" "$d/repo/model.pt"
		git -C "$d/repo" add model.pt
		git -C "$d/repo" commit -qm "checkpoint $i"
		t1=$(now_us)
		echo $((t1 - t0))
	done | awk '{ print $1 / 1000 }' | median
	rm -rf "$d"
}

ck_small() {
	local fa=$work/raw/ck_b2b.txt fb=$work/raw/ck_slow.txt a b alt_a alt_b
	say "checkpoints: 1 MB model, $ck_b2b checkpoints back to back"
	sync
	(
		ck_setup "$work/ck_a" "" "lr: 0.001" "epochs: $ck_b2b" "model_bytes: 1048576"
		ck_stall "$fa"
	)
	say "checkpoints: 1 MB model, $ck_slow checkpoints with 30 ms steps"
	sync
	(
		ck_setup "$work/ck_b" "" "lr: 0.001" "epochs: $ck_slow" "model_bytes: 1048576" "step_ms: 30"
		ck_stall "$fb"
	)
	rm -rf "$work/ck_a" "$work/ck_b"
	say "checkpoints: the alternative, cp + git add + git commit, $alt_b2b back to back and $alt_slow with 30 ms steps"
	sync
	alt_a=$(git_alt "$alt_b2b" 0)
	sync
	alt_b=$(git_alt "$alt_slow" 0.03)
	a=$(stall_med "$fa") b=$(stall_med "$fb")
	[ -n "$a" ] && [ -n "$b" ] && [ -n "$alt_a" ] && [ -n "$alt_b" ]
	row "checkpoint stall, 1 MB model, $ck_b2b back to back (median)" "$(num "$a") ms" "≤ 10 ms" \
		"cp + git add + git commit, $alt_b2b times" "$(num "$alt_a") ms" "$(ratio "$a" "$alt_a")" "$(ok "$a" 10)"
	row "checkpoint stall, 1 MB model, $ck_slow with 30 ms steps (median)" "$(num "$b") ms" "≤ 10 ms" \
		"cp + git add + git commit, $alt_slow times, 30 ms apart" "$(num "$alt_b") ms" "$(ratio "$b" "$alt_b")" "$(ok "$b" 10)"
	note "checkpoint stall p99: $(stall_p99 "$fa") ms back to back, $(stall_p99 "$fb") ms with 30 ms steps." \
		"The alternative runs in the trainer's place, so all of it is stall; its model is 1 MB of random bytes, as tiny_trainer's."
}

# cp_100mb N OUT: N times, tiny_trainer writes a 100 MB model.pt (as under `live exp run`), then
# one timed `cp` of it; appends the times (ms) to OUT.
cp_100mb() {
	local n=$1 out=$2 d i t0 t1
	d=$(mktemp -d "$work/cp100.XXXXXX")
	(
		cd "$d"
		printf 'lr: 0.001\nepochs: 1\nmodel_bytes: 104857600\n' > params.yaml
		for ((i = 0; i < n; i++)); do
			rm -rf model.pt model.copy dvclive dvclive.json dvclive.html predictions.json
			DVCLIVE_HTML=0 "$trainer" > /dev/null 2>&1 < /dev/null
			t0=$(now_us)
			cp model.pt model.copy
			t1=$(now_us)
			awk -v t=$((t1 - t0)) 'BEGIN { print t / 1000 }' >> "$out"
		done
	)
	rm -rf "$d"
}

ck_big() {
	local f=$work/raw/ck_100mb.txt cps=$work/raw/cp_100mb.txt s cpms
	say "checkpoints: 100 MB model, $ck_big checkpoints with 500 ms steps; $cp_reps cp of the file, before and after"
	: > "$cps"
	sync
	cp_100mb $(((cp_reps + 1) / 2)) "$cps"
	sync
	(
		ck_setup "$work/ck_c" "" "lr: 0.001" "epochs: $ck_big" "model_bytes: 104857600" "step_ms: 500"
		ck_stall "$f"
	)
	rm -rf "$work/ck_c"
	sync
	cp_100mb $((cp_reps / 2)) "$cps"
	raw "$cps"
	cpms=$(median < "$cps")
	s=$(stall_med "$f")
	[ -n "$s" ] && [ -n "$cpms" ]
	row "checkpoint stall, 100 MB model, $ck_big with 500 ms steps (median)" "$(num "$s") ms" "≤ 1.5× cp" \
		"one cp of the file (median of $cp_reps)" "$(num "$cpms") ms" "$(ratio "$s" "$cpms")" "$(ok "$(calc "$s / $cpms")" 1.5)"
	note "100 MB: stall p99 $(stall_p99 "$f") ms; the cp runs were taken half before, half after the checkpoints" \
		"(each right after tiny_trainer wrote the file), $(awk '{ printf "%.1f ", $1 }' "$cps")ms."
}

ck_dep() {
	local f=$work/raw/ck_dep.txt size=1073741824 bytes
	say "checkpoints: unchanged 1 GB dependency, $ck_dep checkpoints (50 ms steps)"
	mkdir -p "$work/ck_d"
	head -c "$size" /dev/zero > "$work/ck_d/big.bin"
	touch -d '1 hour ago' "$work/ck_d/big.bin"
	sync
	(
		ck_setup "$work/ck_d" "-d big.bin" "lr: 0.001" "epochs: $ck_dep" "model_bytes: 1048576" "step_ms: 50"
		ck_stall "$f"
	)
	rm -rf "$work/ck_d"
	bytes=$(sed -nE 's/^live: read ([0-9]+) bytes.*/\1/p' "$f")
	[ -n "$bytes" ]
	local r
	r=$(calc "$bytes / $size")
	row "unchanged 1 GB dep, $ck_dep checkpoints: bytes read by the runner" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1073741824 }') GiB" \
		"< 2× size (read once)" "the dep's size" "1 GiB" "$(ratio "$bytes" "$size")" "$(ok "$r" 1.999)"
	note "1 GB dep: the trainer's stall there: median $(stall_med "$f") ms; hashing it at every checkpoint would read ${ck_dep} GiB."
}

# ---- 3. exp show ------------------------------------------------------------------
exp_show() {
	local f=$work/raw/exp_show.txt dir shape e c loose packed alt commits sample est
	say "exp show: tools/bench/bench_exp_show.sh (1 x 1000 and 100 x 100, median of 7)"
	KEEP=1 bash "$root/tools/bench/bench_exp_show.sh" "$build" > "$f"
	raw "$f"
	dir=$(sed -n '1s/.* at \(\/var\/tmp\/live_bench_show\.[A-Za-z0-9]*\)$/\1/p' "$f")
	[ -d "$dir" ]
	for shape in "1 1000" "100 100"; do
		set -- $shape
		e=$1 c=$2
		loose=$(awk -v e="$e" -v c="$c" '$1 == e && $4 == c { for (i = 1; i <= NF; i++) if ($i == "loose") print $(i + 2) }' "$f")
		packed=$(awk -v e="$e" -v c="$c" '$1 == e && $4 == c { for (i = 1; i <= NF; i++) if ($i == "packed") print $(i + 1) }' "$f")
		[ -n "$loose" ]
		# The naive reader, on the same repository (loose objects, as `live exp run` leaves them).
		cd "$dir/r_${e}x${c}"
		git for-each-ref --format='%(refname)' refs/exps | xargs git log --format=%H > "$work/commits.txt"
		commits=$(wc -l < "$work/commits.txt")
		sample=$commits est=""
		if [ "$show_sample" -gt 0 ] && [ "$show_sample" -lt "$commits" ]; then
			sample=$show_sample est=" ($show_sample timed, scaled)"
		fi
		local t0 t1
		git show "$(head -1 "$work/commits.txt"):dvclive.json" > /dev/null 2>&1 || true # warm
		t0=$(now_us)
		{
			git for-each-ref --format='%(refname)' refs/exps | xargs git log --format=%H > /dev/null
			head -n "$sample" "$work/commits.txt" | while read -r sha; do
				git show "$sha:dvclive.json" 2> /dev/null || true
			done > /dev/null
		}
		t1=$(now_us)
		alt=$(calc "($t1 - $t0) / 1000 * $commits / $sample")
		cd "$work"
		local target=100 tlabel="≤ 100 ms"
		[ "$e" = 1 ] || target=1000 tlabel="≤ 1 s"
		row "exp show, $e × $c checkpoints, loose objects (median of 7; packed $packed ms)" "$(num "$loose") ms" "$tlabel" \
			"git log + git show <c>:dvclive.json per commit, $commits commits$est" "$(num "$alt") ms" \
			"$(ratio "$loose" "$alt")" "$(ok "$loose" "$target")"
	done
	rm -rf "$dir"
}

# ---- 4. report --------------------------------------------------------------------
report() {
	local d=$work/report size chromium out fcp
	say "report: $report_steps steps x 5 metrics (tests/browser/make_report.c)"
	mkdir -p "$d/run" "$d/out"
	(cd "$d/run" && "$fixture" "$report_steps" > /dev/null 2>&1)
	cp "$d/run/dvclive.html" "$d/report.html"
	rm -rf "$d/run"
	size=$(stat -c %s "$d/report.html")
	row "report size, $report_steps steps × 5 metrics" "$(calc "int($size / 1024 + 0.5)") KiB" "≤ 2 MiB" "-" "-" "-" \
		"$(ok "$size" $((2 * 1024 * 1024)))"
	chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
	if [ -z "$chromium" ]; then
		row "report first contentful paint (Chromium)" "skipped" "≤ 1 s" "-" "-" "-" "n/a"
		note "first paint: no Chromium on PATH (chromium, chromium-browser or google-chrome); Debian: apt-get install chromium."
		return 0
	fi
	say "report: first contentful paint in headless Chromium (3 fresh loads, tests/browser/cdp_check.py)"
	out=$(timeout 300 python3 "$root/tests/browser/cdp_check.py" "$chromium" "file://$d/report.html" "$d/out" 2> "$work/raw/cdp.err" || true)
	printf '%s\n' "$out" > "$work/raw/cdp.txt"
	raw "$work/raw/cdp.txt"
	fcp=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["first_contentful_paint_ms"])' <<< "$out" 2> /dev/null || true)
	if [ -z "$fcp" ]; then
		row "report first contentful paint (Chromium)" "failed" "≤ 1 s" "-" "-" "-" "ERROR"
		note "first paint: cdp_check.py: $(tail -1 "$work/raw/cdp.err")"
		return 0
	fi
	row "report first contentful paint, median of 3 loads" "$(num "$fcp") ms" "≤ 1 s" "-" "-" "-" "$(ok "$fcp" 1000)"
	note "first paint: $("$chromium" --version 2> /dev/null | head -1), headless, from file://, network off; loads: $(python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["paints_ms"])' <<< "$out") ms."
}

# ---- 5. sharing experiments ------------------------------------------------------
share() {
	local f=$work/raw/remote.txt pl pa ul ua again copier cbytes gbytes size
	say "sharing: tools/bench/bench_remote.sh, 1 experiment x $share_ckpts checkpoints x 10 MB model.pt"
	bash "$root/tools/bench/bench_remote.sh" "$build" "$share_ckpts" 10485760 > "$f"
	raw "$f"
	pl=$(kv push_live_s "$f") pa=$(kv push_alt_s "$f") ul=$(kv pull_live_s "$f") ua=$(kv pull_alt_s "$f")
	again=$(kv push_again_s "$f") copier=$(kv copier "$f") cbytes=$(kv push_cache_bytes "$f")
	gbytes=$(kv push_git_bytes "$f")
	[ -n "$pl" ] && [ -n "$pa" ] && [ -n "$ul" ] && [ -n "$ua" ] && [ -n "$again" ]
	size=$(awk -v b="$cbytes" 'BEGIN { printf "%.0f MB", b / 1e6 }')
	row "exp push, $share_ckpts checkpoints x 10 MB model ($size of cache)" "$(num "$pl") s" "-" \
		"git push of the refs + $copier of .dvc/cache" "$(num "$pa") s" "$(ratio "$pl" "$pa")" "-"
	row "exp pull, the same experiment into a clone" "$(num "$ul") s" "-" \
		"git fetch of the refs + $copier back" "$(num "$ua") s" "$(ratio "$ul" "$ua")" "-"
	row "exp push again, nothing new" "$(num "$again") s" "-" "-" "-" "-" "-"
	row "exp push with no stat cache (every object hashed)" "$(num "$(kv push_hashed_s "$f")") s" "-" \
		"git push + $copier + md5sum of every copy" "$(num "$(kv push_alt_md5_s "$f")") s" \
		"$(ratio "$(kv push_hashed_s "$f")" "$(kv push_alt_md5_s "$f")")" "-"
	note "sharing: live copies every object through a temp file and checks its md5 before it gets its name," \
		"except pushed objects the stat cache vouches for (live hashed them when it wrote them, unchanged since);" \
		"a pull hashes everything (a remote is never trusted); the alternative checks nothing." \
		"Bytes moved: $cbytes to the cache remote, $gbytes to the git remote" \
		"(the alternative: the same objects, and its own pack)."
}

# ---- the run ----------------------------------------------------------------------
run logging
run ck_small
run ck_big
run ck_dep
run exp_show
run report
run share

# ---- the table --------------------------------------------------------------------
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2> /dev/null || true)
rev=$(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo "?")
[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2> /dev/null)" ] || rev="$rev + local changes"
elapsed=$(($(date +%s) - t_start))
echo "live: all benchmarks ($mode run, ${elapsed} s)"
echo "date:        $(date '+%Y-%m-%d %H:%M:%S %Z')"
cores=$(lscpu | awk -F: '/^Core\(s\) per socket/ { c = $2 } /^Socket\(s\)/ { s = $2 } /^Thread\(s\) per core/ { t = $2 }
	END { printf "%d cores x %d thread(s)", c * s, t }')
echo "machine:     $(uname -m), $cpu, $(nproc) CPUs online ($cores), $(uname -sr)"
echo "load avg:    $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1, 5, 15 min)"
echo "file system: $(df -T "$work" | awk 'NR==2 { print $2 }') ($work), $(df -T /tmp | awk 'NR==2 { print $2 }') (/tmp, live_bench)"
echo "build:       $build (${btype:-?}), commit $rev"
echo
{
	printf 'measure\tlive\ttarget\talternative (same run)\talternative\tlive / alt.\tverdict\n'
	printf -- '-\t-\t-\t-\t-\t-\t-\n'
	cat "$rows"
} | awk -F'\t' '
	function len(s) { return length(s) } # LC_ALL=C: bytes; fixed below for the few UTF-8 signs
	function w(s,   t) { t = s; gsub(/×|≤|µ|≥/, "x", t); return length(t) }
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (w($i) > width[i]) width[i] = w($i) } n = NR; nf = NF }
	END {
		for (r = 1; r <= n; r++) {
			line = "|"
			for (i = 1; i <= nf; i++) {
				s = cell[r, i]
				if (s == "-" && r == 2) { s = ""; while (length(s) < width[i]) s = s "-" }
				pad = width[i] - w(s); fill = ""; while (pad-- > 0) fill = fill " "
				line = line " " ((i == 2 || i == 5 || i == 6) && r > 2 ? fill s : s fill) " |"
			}
			print line
		}
	}'
echo
sed 's/^/- /' "$notes"
echo "- ratios are live / alternative, both measured in this run: below 1× live is faster."
[ "$failed" = 0 ] || exit 1
exit 0
