#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# e2e_list.sh ARCH: the lines of tests/e2e.list that apply to ARCH, as
# "NAME TIMEOUT PROGRAM [ARGS]" (the format of the initramfs' /tests/list).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
awk -v arch="$1" '!/^[[:space:]]*(#|$)/ && ($1 == "all" || $1 == arch) {
	$1 = ""; sub(/^ /, ""); print }' "$repo/tests/e2e.list"
