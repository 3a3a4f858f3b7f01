#!/usr/bin/env bash
# The README's demo (tools/demo.sh) on tiny settings: the whole checkpoints
# tutorial on a 6 + 4 image fixture, 3 epochs, from this build. Checks that
# every step of the tutorial printed what it should.
set -euo pipefail
build=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
LIVE_SKIP_DEPS=1 LIVE_BUILD_DIR="$build" LIVE_DEMO_DATA="$src/tests/data/mnist/fashion" \
	LIVE_DEMO_EPOCHS=3 bash "$src/tools/demo.sh" > "$out" 2>&1 || {
	cat "$out"
	echo "demo_test: tools/demo.sh failed" >&2
	exit 1
}
fail=0
expect() { # pattern, what
	if ! grep -qE -- "$1" "$out"; then
		echo "demo_test: missing: $2 (/$1/)" >&2
		fail=1
	fi
}
count() { grep -cE -- "$1" "$out" || true; }
expect "^Initialized DVC repository\.$" "live init"
expect "\\$ live exp run( |.?\[0m|$)" "commands shown as a user types them"
expect "^Adding stage 'train' in 'dvc.yaml'$" "stage add"
expect "^        template: confusion$" "the plot edit"
expect "^Checkpoint experiment iteration '[0-9a-f]{7}'\.$" "checkpoints"
expect "^│ │ ╓ [0-9a-f]{7} \[exp-[0-9a-f]{5}\]" "exp show: a chain tip"
expect "^│ ├─╨ [0-9a-f]{7} " "exp show: a chain base"
expect "^Changes for experiment '[0-9a-f]{7}' have been applied to your current workspace\.$" "exp apply"
expect "^Modified checkpoint experiment based on 'exp-[0-9a-f]{5}' will be created$" "the modified experiment"
expect "^│ │ ╟ [0-9a-f]{7} \[exp-[0-9a-f]{5}\] \([0-9a-f]{7}\)" "exp show: a branch from a checkpoint"
expect "^Path +Metric +exp-[0-9a-f]{5} +[0-9a-f]{7} +Change$" "metrics diff"
expect "^file:///.*/plots\.html$" "plots diff"
expect "^Any existing checkpoints will be reset and re-run\.$" "--reset"
expect "^Git branch 'best-checkpoints' has been created from experiment 'exp-[0-9a-f]{5}'\.$" "exp branch"
expect "^Removed [0-9]+ experiments\." "exp gc"
expect "^fsck: clean$" "git fsck"
n=$(count "^Checkpoint experiment iteration")
# 3 epochs, 1 more after the apply (resumed at 2 of 3), 3 after --reset
if [ "$n" -ne 7 ]; then
	echo "demo_test: $n checkpoint lines, expected 7" >&2
	fail=1
fi
[ $fail -eq 0 ] || { cat "$out"; exit 1; }
echo "demo_test: the tutorial ran end to end ($n checkpoints)"
