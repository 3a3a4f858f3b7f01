#!/usr/bin/env bash
# Checkpoint cost under `live exp run` (a measurement, not a test).
#
#  1. trainer stall per checkpoint with a 1 MB model.pt over 1,000 checkpoints:
#     back to back (the trainer does nothing between steps, so it also waits
#     for the previous checkpoint's commit), and with 30 ms of "training" per
#     step (the stall is then only the capture);
#  2. a 100 MB model.pt: stall per checkpoint against one `cp` of the file;
#  3. an unchanged 1 GB dependency: bytes the runner read over 20 checkpoints.
#
# usage: tools/bench/bench_checkpoint.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=$(realpath "${1:-build}")
live=$build/tools/cli/live
trainer=$build/tests/tiny_trainer
[ -x "$live" ] && [ -x "$trainer" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
work=$(mktemp -d /var/tmp/live_bench_ck.XXXXXX)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home
mkdir -p "$HOME"

setup() { # dir params...
	mkdir -p "$1" && cd "$1"
	git init -q && git config user.name bench && git config user.email bench@example.com
	cp "$trainer" train
	printf '%s\n' "${@:2}" > params.yaml
	git add . && git commit -qm baseline
	"$live" init -q
	"$live" stage add -n train -d train "${EXTRA_DEPS[@]}" -c model.pt --plots-no-cache predictions.json \
		-p lr --live dvclive ./train > /dev/null
	git add -A && git commit -qm setup
}

stall() { # label
	local line
	line=$(TINY_TIMING=1 LIVE_IO_STATS=1 "$live" exp run 2>&1 >/dev/null | grep -E '^stall:|^live: read' | tr '\n' ' ')
	printf '%-44s %s\n' "$1" "$line"
}

echo "live checkpoint benchmark: $(nproc) CPUs, $(df -T "$work" | awk 'NR==2{print $2}') at $work"
EXTRA_DEPS=()
(setup "$work/a" "lr: 0.001" "epochs: 1000" "model_bytes: 1048576" && stall "1 MB model, 1000 checkpoints back to back")
(setup "$work/b" "lr: 0.001" "epochs: 200" "model_bytes: 1048576" "step_ms: 30" && stall "1 MB model, 200 checkpoints, 30 ms steps")
(
	setup "$work/c" "lr: 0.001" "epochs: 10" "model_bytes: 104857600" "step_ms: 500"
	"$trainer" > /dev/null 2>&1 <<< "" || true  # warm: write one model.pt to copy
	start=$(date +%s%N); cp model.pt model.copy; end=$(date +%s%N); rm -f model.copy model.pt
	rm -rf dvclive dvclive.json predictions.json
	printf '%-44s %.1f ms\n' "cp of the 100 MB model.pt" "$(echo "($end - $start) / 1000000" | bc -l)"
	stall "100 MB model, 10 checkpoints, 500 ms steps"
)
(
	mkdir -p "$work/d" && head -c 1073741824 /dev/zero > "$work/d/big.bin" && touch -d '1 hour ago' "$work/d/big.bin"
	EXTRA_DEPS=(-d big.bin)
	setup "$work/d" "lr: 0.001" "epochs: 20" "model_bytes: 1048576" "step_ms: 50"
	stall "1 GB unchanged dep, 20 checkpoints"
)
