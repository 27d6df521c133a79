#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# deps.sh: install, with apt, whatever of the toolchain is missing (a fresh
# Debian 12 needs all of it; a second run installs nothing and needs no
# network).  Run as root, or with sudo available.
set -euo pipefail
. "$(dirname "$0")/env.sh"

PKGS="make gcc libc6-dev flex bison bc libelf-dev libssl-dev cpio kmod
      xz-utils patch perl python3 ccache sparse
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      qemu-system-x86 qemu-system-arm
      gcc-s390x-linux-gnu qemu-system-misc"

missing=()
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
have_src=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
if [ -z "$have_src" ]; then
	missing+=(linux-source-6.12)
elif [ "$have_src" != "$KBASE_DEB_VERSION" ]; then
	echo "deps: note: linux-source-6.12 is $have_src, tested with $KBASE_DEB_VERSION"
fi
[ ${#missing[@]} -eq 0 ] && { echo "deps: all installed"; exit 0; }

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
export DEBIAN_FRONTEND=noninteractive
pkgs=()
for p in "${missing[@]}"; do
	if [ "$p" = linux-source-6.12 ]; then
		# The pinned base; if the archive dropped it, take the newest 6.12
		# and say so (KDIR= names any other tree).
		if apt-cache madison linux-source-6.12 | grep -qF "$KBASE_DEB_VERSION"; then
			p="linux-source-6.12=$KBASE_DEB_VERSION"
		else
			echo "deps: WARNING: linux-source-6.12 $KBASE_DEB_VERSION is gone from" \
			     "the archive; using the newest 6.12 instead" >&2
		fi
	fi
	pkgs+=("$p")
done
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" > /dev/null
echo "deps: done"
