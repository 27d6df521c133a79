#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tree.sh: unpack the pinned base once (unless KDIR names another tree) and
# bring .build/tree up to date with the project's files and hooks.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ "$KDIR" = "$BUILD/src/linux-source-6.12" ] && [ ! -f "$KDIR/Makefile" ]; then
	[ -f "$KBASE_TARBALL" ] || {
		echo "tree: $KBASE_TARBALL missing: run 'make deps' (or set KDIR=)" >&2
		exit 1
	}
	echo "tree: unpacking $KBASE_TARBALL (once)"
	mkdir -p "$BUILD/src"
	rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp"
	tar -xf "$KBASE_TARBALL" -C "$KDIR.tmp" --strip-components=1
	mv "$KDIR.tmp" "$KDIR"
fi
exec "$REPO/scripts/overlay.sh" "$KDIR" "$TREE"
