#!/usr/bin/env bash
# The demo: build the synthetic training example, run it in a temp work dir,
# and show what live wrote (dvclive.json and the head of a history TSV).
# LIVE_DEMO_KEEP=1 keeps the work dir; LIVE_SKIP_DEPS=1 skips install-deps.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

if [ "${LIVE_SKIP_DEPS:-0}" != 1 ]; then
	bash tools/install-deps.sh
fi
cmake -S . -B build
cmake --build build -j"${JOBS:-2}" --target synthetic_train

work=$(mktemp -d "${TMPDIR:-/tmp}/live-demo.XXXXXX")
if [ "${LIVE_DEMO_KEEP:-0}" = 1 ]; then
	echo "demo: work dir kept: $work"
else
	trap 'rm -rf "$work"' EXIT
fi
cp examples/synthetic/params.yaml "$work/"
cd "$work"
echo "== running synthetic_train in $work, params.yaml: $(grep -v '^#' params.yaml | tr '\n' ' ')"
"$root/build/examples/synthetic/synthetic_train"

echo
echo "== dvclive.json"
cat dvclive.json
echo
echo "== head dvclive/train/loss.tsv"
head -n 6 dvclive/train/loss.tsv
echo
echo "== files written"
find dvclive.json dvclive -type f | sort
