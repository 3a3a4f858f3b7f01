#!/usr/bin/env bash
# `live exp show` over many checkpoint commits (a measurement, not a test).
#
# The repositories are made with `git fast-import` rather than by running a
# trainer thousands of times: a baseline commit (dvc.yaml with a live stage,
# params.yaml, dvc.lock), then experiment refs refs/exps/<B[:2]>/<B[2:]>/<name>
# whose commits each change dvclive.json and dvc.lock, as `live exp run`'s
# checkpoints do. Each shape is timed twice: with the objects loose, as
# `live exp run` leaves them, and packed, as after `git gc`.
#
#   A. 1 experiment x 1,000 checkpoints      (target: <= 100 ms)
#   B. 100 experiments x 100 checkpoints     (target: <= 1 s)
#
# usage: tools/bench/bench_exp_show.sh [build-dir]   (default: build; KEEP=1 keeps the repositories)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=$(realpath "${1:-build}")
live=$build/tools/cli/live
[ -x "$live" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
work=$(mktemp -d /var/tmp/live_bench_show.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home
mkdir -p "$HOME"

make_repo() { # dir experiments checkpoints
	local dir=$1 nexp=$2 nck=$3
	mkdir -p "$dir" && cd "$dir"
	git init -q -b main && git config user.name bench && git config user.email bench@example.com
	"$live" init -q
	cat > dvc.yaml <<-'EOF'
	stages:
	  train:
	    cmd: ./train
	    deps:
	    - train
	    params:
	    - lr
	    outs:
	    - model.pt:
	        checkpoint: true
	    plots:
	    - predictions.json:
	        cache: false
	    live:
	      dvclive:
	        summary: true
	        html: true
	EOF
	printf 'epochs: %d\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 0\n' "$nck" > params.yaml
	printf 'train' > train
	git add -A && git commit -qm baseline
	local base
	base=$(git rev-parse HEAD)
	awk -v B="$base" -v E="$nexp" -v C="$nck" -v T="$(($(date +%s) - nexp * nck))" '
	function blob(path, text) {
		printf "M 100644 inline %s\ndata %d\n%s\n", path, length(text), text
	}
	function hex(n,   s, i) { s = ""; for (i = 0; i < n; i++) s = s sprintf("%x", int(rand() * 16)); return s }
	BEGIN {
		srand(1); t = T
		for (e = 1; e <= E; e++) {
			ref = sprintf("refs/exps/%s/%s/exp-%05d", substr(B, 1, 2), substr(B, 3), e)
			for (c = 0; c < C; c++) {
				msg = "dvc: commit experiment " hex(64)
				printf "commit %s\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s\n", ref, t++, length(msg), msg
				if (c == 0) printf "from %s\n", B
				loss = 1 / (c + 1) + 0.001
				blob("dvclive.json", sprintf("{\n    \"step\": %d,\n    \"loss\": %.17g,\n    \"acc\": %.17g\n}", c, loss, 1 - loss / 2))
				blob("dvc.lock", sprintf("schema: '\''2.0'\''\nstages:\n  train:\n    cmd: ./train\n    deps:\n    - path: train\n      md5: %s\n      size: 5\n    params:\n      params.yaml:\n        lr: 0.001\n    outs:\n    - path: model.pt\n      md5: %s\n      size: 1016\n", hex(32), hex(32)))
				print ""
			}
		}
	}' | git fast-import --quiet
}

unpack() { # make every object loose, as `live exp run` leaves them
	mkdir -p "$work/packs"
	for p in .git/objects/pack/*.pack; do
		[ -e "$p" ] || continue
		mv "$p" "$work/packs/" && rm -f "${p%.pack}.idx"
		git unpack-objects -q < "$work/packs/$(basename "$p")"
	done
	rm -rf "$work/packs"
}

median_ms() { # runs of `live exp show`, median wall time
	local times=() i start end
	"$live" exp show --no-pager > /dev/null # warm the page cache
	for i in 1 2 3 4 5 6 7; do
		start=$(date +%s%N)
		"$live" exp show --no-pager > /dev/null
		end=$(date +%s%N)
		times+=($(((end - start) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

rows() { "$live" exp show --no-pager --csv | tail -n +2 | wc -l; }

echo "live exp show benchmark: $(nproc) CPUs, $(df -T "$work" | awk 'NR==2{print $2}') at $work"
for shape in "1 1000" "100 100"; do
	set -- $shape
	dir=$work/r_$1x$2
	(make_repo "$dir" "$1" "$2")
	cd "$dir"
	packed=$(median_ms)
	unpack
	loose=$(median_ms)
	printf '%3d experiment(s) x %4d checkpoints: %5d rows; loose objects %7s ms, packed %7s ms (median of 7)\n' \
		"$1" "$2" "$(rows)" "$loose" "$packed"
	cd "$work"
done
