#!/usr/bin/env bash
# Installs the Debian 12 packages wirefault builds, tests and demos with.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

packages=(
	make gcc clang llvm libc6-dev          # toolchain (clang 14 builds the BPF objects)
	libbpf-dev bpftool libelf-dev zlib1g-dev  # libbpf, skeletons
	libcmocka-dev                          # unit tests
	libpcap-dev                            # pcap reading/writing
	postgresql-15 postgresql-client-15 postgresql-contrib libpq-dev  # real servers, dblink, postgres_fdw
	iproute2 procps psmisc                 # ip/tc/ss, pkill, fuser in tests
	libcap2-bin                            # setcap: make install's file capabilities
	lsof net-tools                         # what Citus' harness runs to see the proxy port
	tshark jq                              # read wirefault's pcap and JSON back in tests
)

# make bench also compares with mitmdump + Citus' fluent.py (Debian's mitmproxy, and
# construct for fluent's structs.py) and plots with gnuplot.
if [ "${1:-}" = --bench ]; then
	packages+=(mitmproxy python3-construct gnuplot-nox)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's postgresql-15 package creates and starts a default cluster; we never use it,
# tests start their own servers in temporary directories.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
