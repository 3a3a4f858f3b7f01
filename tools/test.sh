#!/usr/bin/env bash
# Run all tests: the normal build (warnings as errors) in build/, then an
# ASan+UBSan build in build-asan/. Exits non-zero if anything fails.
# JOBS sets the parallelism (default 2); LIVE_SKIP_DEPS=1 skips install-deps.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs=${JOBS:-2}

if [ "${LIVE_SKIP_DEPS:-0}" != 1 ]; then
	bash tools/install-deps.sh
fi

failed=()

echo "== build/ (LIVE_WERROR=ON)"
cmake -S . -B build -DLIVE_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" || failed+=("ctest in build/")

# The install test links a consumer without sanitizer flags against the
# instrumented library, so it runs in the normal build only.
echo "== build-asan/ (LIVE_SANITIZE=ON: ASan + UBSan)"
cmake -S . -B build-asan -DLIVE_SANITIZE=ON
cmake --build build-asan -j"$jobs"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -E '^install_consumer$' ||
	failed+=("ctest in build-asan/")

if [ ${#failed[@]} -ne 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "all tests passed"
