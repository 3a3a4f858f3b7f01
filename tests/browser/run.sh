#!/usr/bin/env bash
# The report in a real browser: headless Chromium opens it from file:// with
# the network shut off (a dead proxy, no name resolution, no background
# networking) and must find the charts, log no console error, make no
# request, and paint within a second.
#
# usage: run.sh REPORT_FIXTURE ARTIFACT_DIR [STEPS]
#   REPORT_FIXTURE  tests/browser/make_report.c, built
#   ARTIFACT_DIR    where the report, the DOM dump, the logs and the
#                   screenshots (report.png, report-dark.png) are kept
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
rm -f "$out"/report.html "$out"/report.png "$out"/report-dark.png "$out"/dom.html "$out"/*.log
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
echo "PASS"
