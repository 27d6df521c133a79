#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# hooks.sh --list: the hook patches, in the order they are applied.
# hooks.sh [--stat]: each hook with its one-line reason and size, and the total
# (what a reviewer reads first).
#
# A hook patch lives in <component>/hooks/NNNN-name.patch and starts with a
# line "Reason: <why upstream must change>" before the diff.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
components="common arch-x86 arch-arm64 guest uapi tests"

list() {
	for c in $components; do
		for p in "$repo/$c"/hooks/*.patch; do
			[ -f "$p" ] && echo "$p"
		done
	done
	return 0
}

case "${1:---stat}" in
--list)
	list ;;
--stat)
	total_add=0 total_del=0 n=0
	printf '%-52s %5s %5s  %s\n' "hook patch" "+" "-" "reason"
	for p in $(list); do
		reason=$(sed -n 's/^Reason: //p' "$p" | head -n 1)
		[ -n "$reason" ] || { echo "hooks: ${p#"$repo"/} has no 'Reason:' line" >&2; exit 1; }
		read -r add del < <(awk '/^(\+\+\+|---)( |$)/{next} /^\+/{a++} /^-/{d++}
			END {print a+0, d+0}' "$p")
		printf '%-52s %5d %5d  %s\n' "${p#"$repo"/}" "$add" "$del" "$reason"
		total_add=$((total_add + add)) total_del=$((total_del + del)) n=$((n + 1))
	done
	printf '%-52s %5d %5d  (%d hook patches)\n' "total" "$total_add" "$total_del" "$n" ;;
*)
	echo "usage: hooks.sh [--list|--stat]" >&2; exit 2 ;;
esac
