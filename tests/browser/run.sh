#!/usr/bin/env bash
# The report in a real browser: headless Chromium opens it from file:// with
# the network shut off (a dead proxy, no name resolution, no background
# networking) and must find the charts, log no console error, make no
# request, and paint within a second.
#
# With LIVE_PLOTS_BIN (the live command) and LIVE_PLOTS_TRAINER (the tiny
# trainer of tests/cli) in the environment, as ctest sets them, it then does
# the same for plots.html: `live plots diff` between two checkpoints of a
# tutorial-like run, whose charts and confusion matrices must be in the DOM.
#
# usage: run.sh REPORT_FIXTURE ARTIFACT_DIR [STEPS]
#   REPORT_FIXTURE  tests/browser/make_report.c, built
#   ARTIFACT_DIR    where the report, the DOM dump, the logs and the
#                   screenshots (report.png, report-dark.png) are kept;
#                   plots.html, plots-dom.html and plots.png too
#   STEPS           steps of the fixture run (default 1000000, 5 metrics)
#
# Exits 77 (ctest: skipped) when no Chromium is installed; Debian:
# apt-get install chromium.
set -euo pipefail

fixture=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
steps=${3:-1000000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chromium" ]; then
	echo "SKIPPED: no Chromium found (chromium, chromium-browser or google-chrome on PATH);"
	echo "         install it to run this test (Debian: apt-get install chromium)"
	exit 77
fi

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/report.html "$out"/report.png "$out"/report-dark.png "$out"/dom.html "$out"/*.log \
	"$out"/plots.html "$out"/plots.png "$out"/plots-dom.html
tmp=$(mktemp -d "${TMPDIR:-/tmp}/live-browser.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# No browser state, crash reports or first-run pages from the user's home.
export HOME=$tmp/home
mkdir -p "$HOME"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--proxy-server=127.0.0.1:9 "--host-resolver-rules=MAP * ~NOTFOUND")

echo "== the report of $steps steps x 5 metrics"
mkdir "$tmp/run"
start=$(date +%s%N)
(cd "$tmp/run" && "$fixture" "$steps") || fail "the fixture run failed"
echo "fixture run: $((($(date +%s%N) - start) / 1000000)) ms"
cp "$tmp/run/dvclive.html" "$out/report.html"
rm -rf "$tmp/run"
report=$out/report.html
size=$(stat -c %s "$report")
echo "report: $report, $size bytes"
[ "$size" -le $((2 * 1024 * 1024)) ] || fail "the report is $size bytes (goal: at most 2 MiB)"
if grep -Eion 'https?://[^"< ]*' "$report" | head -5 | grep .; then
	fail "the report refers to an external URL (above)"
fi
grep -q 'http-equiv="refresh"' "$report" && fail "the final report still refreshes itself"
url="file://$report"

echo "== --dump-dom"
"$chromium" "${flags[@]}" --user-data-dir="$tmp/profile-dom" --enable-logging=stderr --v=0 \
	--dump-dom "$url" >"$out/dom.html" 2>"$out/chromium-dom.log" || fail "chromium --dump-dom failed"
for id in chart-0 chart-1 chart-2 chart-3 chart-4; do
	grep -q "<svg id=\"$id\" class=\"chart\"" "$out/dom.html" || fail "no svg#$id in the DOM"
done
grep -q '<svg id="divergence-' "$out/dom.html" || fail "no chart in the divergence section of the DOM"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$out/dom.html" || fail "the <script> metric name is not shown escaped"
grep -qi '<script' "$out/dom.html" && fail "the DOM holds a <script> element"
if grep -E 'Uncaught|CONSOLE' "$out/chromium-dom.log"; then
	fail "console messages or errors (above; full log: $out/chromium-dom.log)"
fi

# The console check must be able to fail: a page with an error is caught.
printf '<!DOCTYPE html><p>x</p><script>no_such_function()</script>\n' >"$tmp/bad.html"
"$chromium" "${flags[@]}" --user-data-dir="$tmp/profile-bad" --enable-logging=stderr --v=0 \
	--dump-dom "file://$tmp/bad.html" >/dev/null 2>"$tmp/bad.log" || true
grep -q 'Uncaught' "$tmp/bad.log" || fail "chromium's log does not show console errors: the check above proves nothing"

echo "== --screenshot"
(cd "$tmp" && "$chromium" "${flags[@]}" --user-data-dir="$tmp/profile-shot" --window-size=1200,900 \
	--screenshot="$out/report.png" "$url" >"$out/chromium-shot.log" 2>&1) || fail "chromium --screenshot failed"
[ "$(stat -c %s "$out/report.png" 2>/dev/null || echo 0)" -gt 10000 ] || fail "no screenshot in $out/report.png"
echo "screenshot: $out/report.png"

echo "== DevTools: requests, console, first paint, dark mode"
python3 "$here/cdp_check.py" "$chromium" "$url" "$out" || fail "the DevTools checks failed"
echo "screenshot (dark): $out/report-dark.png"

if [ -z "${LIVE_PLOTS_BIN:-}" ] || [ -z "${LIVE_PLOTS_TRAINER:-}" ]; then
	echo "== plots.html: not checked (set LIVE_PLOTS_BIN and LIVE_PLOTS_TRAINER, as ctest does)"
	echo "PASS"
	exit 0
fi

echo "== plots.html: live plots diff between two checkpoints of a tutorial-like run"
proj=$tmp/plots
mkdir "$proj"
(
	set -e
	cd "$proj"
	export GIT_CONFIG_NOSYSTEM=1
	git -c init.defaultBranch=main init -q .
	git config user.name 'Live Tester'
	git config user.email tester@example.com
	git config commit.gpgsign false
	cp "$LIVE_PLOTS_TRAINER" train
	printf 'epochs: 8\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 0\n' >params.yaml
	git add -A
	git commit -qm baseline
	"$LIVE_PLOTS_BIN" init -q
	"$LIVE_PLOTS_BIN" stage add -n train -d train -c model.pt --plots-no-cache predictions.json -p lr \
		--live dvclive ./train
	# the tutorial's props for predictions.json
	sed -i 's/^        cache: false$/&\n        template: confusion\n        x: actual\n        y: predicted/' dvc.yaml
	git add -A
	git commit -qm 'train stage'
	"$LIVE_PLOTS_BIN" exp run
	a=$(git rev-list refs/exps/exec/EXEC_CHECKPOINT | sed -n 5p | cut -c1-7)
	b=$(git rev-list refs/exps/exec/EXEC_CHECKPOINT | sed -n 1p | cut -c1-7)
	"$LIVE_PLOTS_BIN" plots diff "$a" "$b"
) >"$out/plots-run.log" 2>&1 || fail "making plots.html failed (log: $out/plots-run.log)"
grep -qx "file://$(realpath "$proj")/plots.html" "$out/plots-run.log" ||
	fail "plots diff did not print the file:// URL of $proj/plots.html"
cp "$proj/plots.html" "$out/plots.html"
plots=$out/plots.html
echo "plots: $plots, $(stat -c %s "$plots") bytes"
if grep -Eion 'https?://[^"< ]*' "$plots" | head -5 | grep .; then
	fail "plots.html refers to an external URL (above)"
fi
"$chromium" "${flags[@]}" --user-data-dir="$tmp/profile-plots-dom" --enable-logging=stderr --v=0 \
	--dump-dom "file://$plots" >"$out/plots-dom.html" 2>"$out/chromium-plots-dom.log" ||
	fail "chromium --dump-dom of plots.html failed"
for id in plot-1-chart plot-2-chart; do
	grep -q "<svg id=\"$id\" class=\"chart\"" "$out/plots-dom.html" || fail "no svg#$id in the plots DOM"
done
[ "$(grep -o '<g class="series ' "$out/plots-dom.html" | wc -l)" -eq 4 ] ||
	fail "the plots DOM does not hold two series in each of its two charts"
[ "$(grep -o '<svg id="plot-0-rev-[0-9]*" class="matrix ' "$out/plots-dom.html" | wc -l)" -eq 2 ] ||
	fail "the plots DOM does not hold two confusion matrices"
grep -qi '<script' "$out/plots-dom.html" && fail "the plots DOM holds a <script> element"
if grep -E 'Uncaught|CONSOLE' "$out/chromium-plots-dom.log"; then
	fail "console messages or errors on plots.html (above; full log: $out/chromium-plots-dom.log)"
fi
(cd "$tmp" && "$chromium" "${flags[@]}" --user-data-dir="$tmp/profile-plots-shot" --window-size=1200,1100 \
	--screenshot="$out/plots.png" "file://$plots" >"$out/chromium-plots-shot.log" 2>&1) ||
	fail "chromium --screenshot of plots.html failed"
[ "$(stat -c %s "$out/plots.png" 2>/dev/null || echo 0)" -gt 10000 ] || fail "no screenshot in $out/plots.png"
echo "screenshot: $out/plots.png"
echo "PASS"
