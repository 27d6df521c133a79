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
components="common arch-x86 arch-arm64 arch-s390 guest uapi tests"

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
	total_add=0 total_del=0 total_gone=0 n=0 gone_files=""
	printf '%-52s %5s %5s  %s\n' "hook patch" "+" "-" "reason"
	for p in $(list); do
		reason=$(sed -n 's/^Reason: //p' "$p" | head -n 1)
		[ -n "$reason" ] || { echo "hooks: ${p#"$repo"/} has no 'Reason:' line" >&2; exit 1; }
		# gone: "-" lines of files the hook deletes whole (+++ /dev/null)
		read -r add del gone < <(awk '/^--- a\//{f = 0} /^\+\+\+ \/dev\/null/{f = 1}
			/^(\+\+\+|---)( |$)/{next} /^\+/{a++} /^-/{d++; g += f}
			END {print a+0, d+0, g+0}' "$p")
		gone_files="$gone_files $(awk '/^--- a\//{f = substr($2, 3)}
			/^\+\+\+ \/dev\/null/{printf " %s", f}' "$p")"
		printf '%-52s %5d %5d  %s\n' "${p#"$repo"/}" "$add" "$del" "$reason"
		total_add=$((total_add + add)) total_del=$((total_del + del))
		total_gone=$((total_gone + gone)) n=$((n + 1))
	done
	printf '%-52s %5d %5d  (%d hook patches)\n' "total" "$total_add" "$total_del" "$n"
	[ "$total_gone" -eq 0 ] ||
		printf '%-52s %5s %5d  deleted whole: %s\n' "  of which files deleted" "" \
			"$total_gone" "$(echo $gone_files)"
	printf '%-52s %5d %5d\n' "  edits to upstream files" "$total_add" \
		$((total_del - total_gone)) ;;
*)
	echo "usage: hooks.sh [--list|--stat]" >&2; exit 2 ;;
esac
