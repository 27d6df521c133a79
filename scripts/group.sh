#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# group.sh GROUP [ROUNDS]: the e2e lines of GROUP (tests/e2e.list, arch
# "ARCH:GROUP" or "all:GROUP": kept out of make test) on each arch in
# $ARCHES, ROUNDS times (default 1), each round one boot of the arch's
# kernel.  Every round's results are kept in .build/group-GROUP/ROUND/; the
# report gives, per arch, the rounds that passed and each failure.  Exits
# non-zero if any round failed.  make snapshot runs group "snapshot".
set -uo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts
GROUP=${1:-}
ROUNDS=${2:-1}

case $GROUP in
''|*[!a-z0-9_-]*) echo "group: GROUP must be a name (a-z, 0-9, _ -), not '$GROUP'" >&2
	exit 2 ;;
esac
case $ROUNDS in
''|*[!0-9]*|0) echo "group: ROUNDS must be a positive number, not '$ROUNDS'" >&2
	exit 2 ;;
esac
OUTDIR=$BUILD/group-$GROUP

"$S/tree.sh" || exit 1
rc=0
for a in $ARCHES; do
	list=$(mktemp)
	"$S/e2e_list.sh" "$a" ":$GROUP" > "$list"
	if [ ! -s "$list" ]; then
		echo "group: no line of group '$GROUP' for $a in tests/e2e.list" >&2
		rm -f "$list"
		rc=2
		continue
	fi
	"$S/build.sh" "$a" && KFLAVOUR=bench "$S/build.sh" "$a" &&
		"$S/selftests.sh" "$a" || { rm -f "$list"; exit 1; }
	passed=0
	for ((r = 1; r <= ROUNDS; r++)); do
		res=$OUTDIR/$r
		mkdir -p "$res"
		echo "== $a: group $GROUP, round $r of $ROUNDS"
		if E2E_LIST=$list E2E_RES=$res E2E_TAG=$GROUP "$S/e2e.sh" "$a"; then
			passed=$((passed + 1))
		else
			rc=1
		fi
	done
	echo "group $GROUP: $a passed $passed of $ROUNDS round(s)"
	rm -f "$list"
done
exit $rc
