#!/usr/bin/env bash
# The demo: the whole DVC checkpoints tutorial, with `live` in place of `dvc`,
# on the MNIST example (a real CNN trained in C). In a fresh git repository in
# a temp folder it runs, printing each command and its output:
#
#   live init; the two `live stage add`; the tutorial's plot edit
#   live exp run                      one checkpoint commit per epoch
#   live exp show
#   live exp apply <middle checkpoint>; live exp run -S ...   a modified experiment
#   live exp show; live metrics diff; live plots diff
#   live exp run --reset; live exp show
#   live exp branch; git commit of the results; live exp gc --workspace --force
#
# and ends with the paths of the reports.
#
# LIVE_DEMO_KEEP=1 keeps the work folder; LIVE_SKIP_DEPS=1 skips install-deps;
# LIVE_DEMO_EPOCHS sets the epochs of the first run (default 4);
# LIVE_DEMO_DATA=<folder of the four IDX .gz files> uses that data instead of
# downloading (the test suite runs the demo on a tiny fixture this way);
# LIVE_BUILD_DIR=<folder> uses an existing build there (default: build/, built here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
build=${LIVE_BUILD_DIR:-$root/build}

if [ "${LIVE_SKIP_DEPS:-0}" != 1 ]; then
	bash tools/install-deps.sh --demo
fi
if [ -z "${LIVE_BUILD_DIR:-}" ]; then
	cmake -S . -B "$build" > /dev/null
	cmake --build "$build" -j"${JOBS:-2}" --target live_cli mnist_download mnist_train
fi
# The commands are shown as a user types them: `live`, from this build, first on PATH.
export PATH="$build/tools/cli:$PATH"
live=live
epochs=${LIVE_DEMO_EPOCHS:-4}

work=$(mktemp -d "${TMPDIR:-/tmp}/live-demo.XXXXXX")
if [ "${LIVE_DEMO_KEEP:-0}" = 1 ]; then
	echo "demo: work folder kept: $work"
else
	trap 'rm -rf "$work"' EXIT
fi
cd "$work"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }
exp_refs() { git for-each-ref --format='%(refname)' refs/exps | grep -v '^refs/exps/exec/'; }

# The project: the trainer's sources, its params, and the two programs.
git init -q
git config user.name >/dev/null || git config user.name "live demo"
git config user.email >/dev/null || git config user.email "demo@example.com"
cp "$root"/examples/mnist/{download.c,train.c,params.yaml} .
sed -i "s/^epochs: .*/epochs: $epochs/" params.yaml
ln -s "$build/examples/mnist/download" download
ln -s "$build/examples/mnist/train" train
printf '/download\n/train\n' > .gitignore
git add . && git commit -qm "MNIST checkpoints tutorial"
if [ -n "${LIVE_DEMO_DATA:-}" ]; then
	mkdir -p data/MNIST && cp "$LIVE_DEMO_DATA"/*.gz data/MNIST/
fi

run "$live" init
git add .dvc .dvcignore && git commit -qm "Initialize DVC"
run "$live" stage add -n download -d download.c -o data/MNIST ./download
run "$live" stage add -n train -d data/MNIST -d train.c -c model.pt --plots-no-cache predictions.json \
	-p seed,lr,weight_decay --live dvclive ./train
# The tutorial's hand edit: the confusion-matrix plot of predictions.json.
sed -i '/^    - predictions.json:$/,/cache: false/{/cache: false/a\        template: confusion\n        x: actual\n        y: predicted
}' dvc.yaml
say "cat dvc.yaml"; cat dvc.yaml
git add dvc.yaml .gitignore && git commit -qm "pipeline"

# Training with a checkpoint per epoch.
run "$live" exp run
run "$live" exp show --no-pager
first=$(exp_refs | sed -n 1p)
first_name=${first##*/}
tip=$(git rev-parse "$first")
middle=$(git rev-list "$first" | sed -n "$(( (epochs + 1) / 2 ))p")

# Starting from an existing checkpoint: a modified experiment.
run "$live" exp apply "${middle:0:7}"
run "$live" exp run -S lr=0.05
run "$live" exp show --no-pager

# Comparing checkpoints.
run "$live" metrics diff "$first_name" "${middle:0:7}"
run "$live" plots diff "${middle:0:7}" "${tip:0:7}"

# Resetting: a new experiment from step 0.
run "$live" exp run --reset
run "$live" exp show --no-pager

# Keeping one: a branch, the results committed, the other experiments removed.
run "$live" exp branch "$first_name" best-checkpoints
say "git add dvclive.json dvc.yaml .gitignore dvc.lock params.yaml && git commit -m 'MNIST results'"
git add dvclive.json dvc.yaml .gitignore dvc.lock params.yaml && git commit -qm "MNIST results"
run "$live" exp gc --workspace --force
say "git log --oneline -n 4 best-checkpoints"; git log --oneline -n 4 best-checkpoints
say "git fsck --strict"; git fsck --strict && echo "fsck: clean"

printf '\nReports:\n  file://%s/dvclive.html\n  file://%s/plots.html\n' "$work" "$work"
