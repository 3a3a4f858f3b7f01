#!/usr/bin/env bash
# The demo: the DVC checkpoints tutorial, with `live` in place of `dvc`, on
# the MNIST example (a real CNN trained in C). It makes a fresh git repository
# in a temp folder, sets up the pipeline with the tutorial's commands, runs
# `live exp run` (a checkpoint commit per epoch), changes a parameter and runs
# again (a modified experiment branching from the last checkpoint).
#
# LIVE_DEMO_KEEP=1 keeps the work folder; LIVE_SKIP_DEPS=1 skips install-deps;
# LIVE_DEMO_EPOCHS sets the epochs of the first run (default 4).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

if [ "${LIVE_SKIP_DEPS:-0}" != 1 ]; then
	bash tools/install-deps.sh --demo
fi
cmake -S . -B build > /dev/null
cmake --build build -j"${JOBS:-2}" --target live_cli mnist_download mnist_train
live=$root/build/tools/cli/live

work=$(mktemp -d "${TMPDIR:-/tmp}/live-demo.XXXXXX")
if [ "${LIVE_DEMO_KEEP:-0}" = 1 ]; then
	echo "demo: work folder kept: $work"
else
	trap 'rm -rf "$work"' EXIT
fi
cd "$work"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

# The project: the trainer's sources, its params, and the two programs.
git init -q
git config user.name >/dev/null || git config user.name "live demo"
git config user.email >/dev/null || git config user.email "demo@example.com"
cp "$root"/examples/mnist/{download.c,train.c,params.yaml} .
sed -i "s/^epochs: .*/epochs: ${LIVE_DEMO_EPOCHS:-4}/" params.yaml
ln -s "$root/build/examples/mnist/download" download
ln -s "$root/build/examples/mnist/train" train
printf '/download\n/train\n' > .gitignore
git add . && git commit -qm "MNIST checkpoints tutorial"

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

run "$live" exp run
say "cat dvclive.json"; cat dvclive.json
say "git for-each-ref refs/exps"; git for-each-ref --format='%(objectname:short) %(refname)' refs/exps
exp=$(git for-each-ref --format='%(refname)' refs/exps | grep -v '^refs/exps/exec/' | head -n 1)
say "git log --oneline $exp"; git log --oneline "$exp"

# Change a parameter: the next run is a modified experiment from the last checkpoint.
run "$live" exp run -S lr=0.05 -S epochs=$((${LIVE_DEMO_EPOCHS:-4} + 2))
say "git status --short"; git status --short
say "ls .dvc/cache | wc -l"; ls .dvc/cache | wc -l
