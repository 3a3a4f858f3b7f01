#!/usr/bin/env bash
# Install test: `cmake --install` a build into a temp prefix, then build and
# run tests/install/consumer/main.c against that prefix in four ways:
#   a) CMake package:  find_package(live) + live::live         (shared)
#   a') CMake package:  find_package(live) + live::live_static  (static)
#   b) pkg-config:     cc main.c $(pkg-config --cflags --libs live)
#   c) pkg-config:     pkg-config --static --libs live, against liblive.a
# Usage: run.sh <build-dir> <source-dir>. Exits non-zero, saying which step
# failed and showing its output, on any failure. Leaves nothing behind.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 <build-dir> <source-dir>" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
consumer=$src/tests/install/consumer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/live-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
log=$tmp/step.log

fail() {
	echo "install test FAILED: $*" >&2
	exit 1
}

# run <what> <command...>: run quietly; on failure show the output and stop.
run() {
	local what=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		fail "$what (command: $*)"
	fi
}

# The compiler and cmake the build used, so that the consumer matches it.
cache_get() {
	sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" 2>/dev/null | head -n 1
}
[ -f "$build/CMakeCache.txt" ] || fail "$build is not a CMake build directory"
cmake=$(cache_get CMAKE_COMMAND)
cmake=${cmake:-cmake}
cc=$(cache_get CMAKE_C_COMPILER)
cc=${cc:-cc}

# No liblive.so among a binary's needed libraries (static links).
no_shared_live() {
	if readelf -d "$1" | grep -q 'NEEDED.*liblive\.so'; then
		fail "$1 was linked statically but needs liblive.so"
	fi
}

echo "== install $build into $prefix"
run "cmake --install" "$cmake" --install "$build" --prefix "$prefix"
[ -f "$prefix/include/live.h" ] || fail "live.h not installed in $prefix/include"
pc=$(find "$prefix" -name live.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "live.pc not installed under $prefix"
cfg=$(find "$prefix" -name liveConfig.cmake | head -n 1)
[ -n "$cfg" ] || fail "liveConfig.cmake not installed under $prefix"

PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir live)
incdir=$(pkg-config --variable=includedir live)
[ -f "$incdir/live.h" ] ||
	fail "live.pc: includedir=$incdir has no live.h (the .pc file does not point into $prefix)"
if [ ! -f "$libdir/liblive.so" ] || [ ! -f "$libdir/liblive.a" ]; then
	fail "live.pc: libdir=$libdir lacks liblive.so or liblive.a"
fi

# a) and a'): the CMake package, shared then static.
for kind in shared static; do
	if [ $kind = static ]; then target=live::live_static static=ON; else target=live::live static=OFF; fi
	echo "== CMake package: find_package(live), $target"
	b=$tmp/consumer-$kind
	run "configure the consumer ($kind)" "$cmake" -S "$consumer" -B "$b" \
		-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" -DLIVE_CONSUMER_STATIC=$static
	run "build the consumer ($kind)" "$cmake" --build "$b"
	if [ $kind = shared ]; then
		lib=$(LD_LIBRARY_PATH="$libdir" ldd "$b/app" | awk '/liblive\.so/ { print $3 }')
		case $lib in
		"$libdir"/*) ;;
		*) fail "the CMake consumer loads liblive.so from '${lib:-nowhere}', not from $libdir" ;;
		esac
	else
		no_shared_live "$b/app"
	fi
	run "run the consumer ($kind, CMake)" env LD_LIBRARY_PATH="$libdir" "$b/app" "$tmp"
	cat "$log"
done

# b) pkg-config, shared.
echo "== pkg-config: cc main.c \$(pkg-config --cflags --libs live)"
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
run "build with pkg-config (shared)" "$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/app-pc" \
	"$consumer/main.c" $(pkg-config --cflags --libs live)
run "run the pkg-config consumer (shared)" env LD_LIBRARY_PATH="$libdir" "$tmp/app-pc" "$tmp"
cat "$log"

# c) pkg-config, static: -llive would pick liblive.so, so name the archive.
echo "== pkg-config: cc main.c \$(pkg-config --static --libs live), liblive.a"
static_libs=$(pkg-config --static --libs live)
case " $static_libs " in
*" -llive "*) ;;
*) fail "pkg-config --static --libs live gives '$static_libs', without -llive" ;;
esac
static_libs=$(printf '%s\n' " $static_libs " | sed 's/ -llive / -l:liblive.a /')
# shellcheck disable=SC2046,SC2086
run "build with pkg-config (static)" "$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/app-static" \
	"$consumer/main.c" $(pkg-config --cflags live) $static_libs
no_shared_live "$tmp/app-static"
run "run the pkg-config consumer (static)" env -u LD_LIBRARY_PATH "$tmp/app-static" "$tmp"
cat "$log"

echo "install test passed: CMake package (shared, static) and pkg-config (shared, static)"
