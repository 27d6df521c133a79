#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# e2e_list.sh ARCH [CPU]: the lines of tests/e2e.list for ARCH's main boot
# (arch "all" or ARCH), or with CPU for its boot on that QEMU CPU (arch
# "ARCH@CPU"), as "NAME TIMEOUT PROGRAM [ARGS]" (the format of the
# initramfs' /tests/list).
# e2e_list.sh ARCH +FLAVOUR: the lines for its boot of the kernel flavour
# FLAVOUR (arch "ARCH+FLAVOUR", scripts/env.sh's KFLAVOUR).
# e2e_list.sh ARCH --cpus: the CPUs ARCH has a boot of its own on.
# e2e_list.sh ARCH --flavours: the kernel flavours ARCH has a boot of.
# e2e_list.sh ARCH --all: every line for ARCH, whatever its boot.
# e2e_list.sh ARCH :GROUP: the lines of a group (arch "ARCH:GROUP" or
# "all:GROUP"), for its main boot: scripts/group.sh runs a group ROUNDS
# times.  A group's lines join the main boot's in make test when
# E2E_TEST_GROUPS names it: a list of GROUP (every arch) or ARCH:GROUP
# words, default "arm64:snapshot" (x86's snapshot lines are kept out: see
# tests/e2e.list); E2E_TEST_GROUPS= (empty) leaves every group out.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
awk -v arch="$1" -v want="${2:-}" -v in_test="${E2E_TEST_GROUPS-arm64:snapshot}" '
	BEGIN { n = split(in_test, t, " "); for (i = 1; i <= n; i++) tested[t[i]] = 1 }
	/^[[:space:]]*(#|$)/ { next }
	{ split($1, g, ":"); grp = g[2]
	  split(g[1], f, "+"); flav = f[2]; split(f[1], a, "@"); cpu = a[2] }
	a[1] != "all" && a[1] != arch { next }
	want ~ /^:/ { if (":" grp != want || cpu != "" || flav != "") next
		      $1 = ""; sub(/^ /, ""); print; next }
	grp != "" && want != "--all" && !(grp in tested) &&
	    !((arch ":" grp) in tested) { next }
	want == "--cpus" { if (cpu != "" && flav == "" && !seen[cpu]++) print cpu; next }
	want == "--flavours" { if (flav != "" && !seen[flav]++) print flav; next }
	want == "--all" { $1 = ""; sub(/^ /, ""); print; next }
	want ~ /^\+/ { if ("+" flav != want || cpu != "") next }
	want !~ /^\+/ { if (cpu != want || flav != "") next }
	{ $1 = ""; sub(/^ /, ""); print }' "$repo/tests/e2e.list"
