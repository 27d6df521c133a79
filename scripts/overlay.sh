#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# overlay.sh SRC TREE: make TREE a copy of the pristine kernel tree SRC with
# the project's files (scripts/layout) and hook patches (*/hooks/*.patch)
# applied.
#
# - Idempotent and minimal: the desired content of every managed file is
#   computed in a staging folder first; only files whose content differs are
#   written into TREE, so make rebuilds only what depends on them.
# - Files managed by a previous run but no longer wanted are restored from SRC
#   (upstream files) or deleted (project files).
# - All-or-nothing: if any hook patch does not apply cleanly (no fuzz) the
#   script names it and exits before TREE is touched.
set -euo pipefail

die() { echo "overlay: error: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: overlay.sh SRC TREE"
repo=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$1" 2>/dev/null && pwd) || die "kernel source '$1' does not exist"
tree=$2
[ -f "$src/Makefile" ] && [ -d "$src/virt/kvm" ] ||
	die "'$src' is not a kernel source tree (no Makefile or virt/kvm)"

manifest=.apf-manifest		# files this script manages, relative to TREE
base_file=.apf-base		# which SRC the tree was copied from

# 1. A clean copy of SRC, made once (again if SRC changed).
if [ ! -f "$tree/$base_file" ] || [ "$(cat "$tree/$base_file")" != "$src" ]; then
	echo "overlay: copying $src -> $tree (once)"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$(dirname "$tree")"
	cp -a --reflink=auto "$src" "$tree.tmp"
	echo "$src" > "$tree.tmp/$base_file"
	: > "$tree.tmp/$manifest"
	mv "$tree.tmp" "$tree"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# 2. Project files, placed by scripts/layout.  A path inside a mapped folder
#    that has a line of its own goes where its own line says, only there.
rpaths=$(awk '!/^[[:space:]]*(#|$)/ {print $1}' "$repo/scripts/layout")
own_line() {	# own_line DIR FILE: is DIR/FILE (or a folder above it) listed?
	local r
	for r in $rpaths; do
		[ "$r" != "$1" ] && case "$1$2" in "$r"*) return 0 ;; esac
	done
	return 1
}
while read -r rpath kpath _; do
	case "$rpath" in ''|'#'*) continue ;; esac
	[ -e "$repo/$rpath" ] || die "scripts/layout names '$rpath', which does not exist"
	if [ -d "$repo/$rpath" ]; then
		(cd "$repo/$rpath" && find . -type f ! -path '*/hooks/*' ! -name README.md) |
		while read -r f; do
			f=${f#./}
			own_line "$rpath" "$f" && continue
			mkdir -p "$(dirname "$stage/$kpath/$f")"
			cp "$repo/$rpath/$f" "$stage/$kpath/$f"
		done
	else
		mkdir -p "$(dirname "$stage/$kpath")"
		cp "$repo/$rpath" "$stage/$kpath"
	fi
done < "$repo/scripts/layout"

# 3. Hook patches, per component, in order. Each patch edits upstream files
#    only; it is checked against SRC's copy so a tree that moved on is caught.
#    A hook may delete an upstream file (--- a/FILE, +++ /dev/null): it is
#    removed from TREE, and restored from SRC when no hook deletes it.
hooks=$("$repo/scripts/hooks.sh" --list)
deleted=
for p in $hooks; do
	gone=$(awk '/^--- a\// { f = substr($2, 3) }
		/^\+\+\+ \/dev\/null/ { print f }' "$p")
	deleted="$deleted $gone"
	files="$(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p") $gone"
	[ -n "${files// /}" ] || die "hook patch ${p#"$repo"/} touches no file"
	for f in $files; do
		[ -f "$src/$f" ] || die "hook patch ${p#"$repo"/} edits $f, which is not in $src"
		if [ ! -f "$stage/$f" ]; then
			mkdir -p "$(dirname "$stage/$f")"
			cp "$src/$f" "$stage/$f"
		fi
	done
	if ! out=$(patch -d "$stage" -p1 -N -F0 --no-backup-if-mismatch -r - -s < "$p" 2>&1); then
		die "hook patch ${p#"$repo"/} does not apply to $src:"$'\n'"$out"
	fi
done

# 4. Bring TREE in line with the stage, writing only what changed.
for f in $deleted; do
	[ ! -e "$stage/$f" ] || die "a hook deletes $f, but it is still there"
done
new_manifest=$( (cd "$stage" && find . -type f | sed 's|^\./||'
		 for f in $deleted; do echo "$f"; done) | LC_ALL=C sort -u)
changed=0
while read -r f; do
	[ -n "$f" ] || continue
	if [ ! -e "$stage/$f" ]; then	# deleted by a hook
		[ ! -e "$tree/$f" ] || { rm -f "$tree/$f"; changed=$((changed + 1)); }
	elif ! cmp -s "$stage/$f" "$tree/$f"; then
		mkdir -p "$(dirname "$tree/$f")"
		cp "$stage/$f" "$tree/$f"
		changed=$((changed + 1))
	fi
done <<< "$new_manifest"

removed=0
while read -r f; do
	[ -n "$f" ] || continue
	grep -qxF -- "$f" <<< "$new_manifest" && continue
	if [ -f "$src/$f" ]; then
		cp "$src/$f" "$tree/$f"	# fresh mtime: make sees the revert
	else
		rm -f "$tree/$f"
	fi
	removed=$((removed + 1))
done < "$tree/$manifest"

echo "$new_manifest" > "$tree/$manifest"
echo "overlay: $(wc -l <<< "$new_manifest") managed files, $changed updated, $removed restored/removed"
