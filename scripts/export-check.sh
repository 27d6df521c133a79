#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# export-check.sh: prove the exported series (make export) applies with
# "git am" on the pristine base and that every patch builds on its own:
# after each patch, an incremental build of every arch in ARCHES and
# KUNIT_ARCHES (x86_64, arm64, s390) with the
# test kernels' configuration (KFLAVOUR as for scripts/build.sh).
#
# .build/export-check/tree is a git tree of the base (KDIR), made once and
# reset to its first commit at every run; .build/export-check/ARCH/kernel
# holds one build per arch, kept across patches and runs.  The two are laid
# out as .build/tree and .build/ARCH/kernel are, so that the compiler sees
# the same relative paths (CCACHE_BASEDIR, scripts/env.sh) and every file a
# patch leaves as in the full tree is a ccache hit of "make build".
# EXPORT_CHECK_PATCHES=N stops after the first N patches; EXPORT_CHECK_BUILD=0
# only applies them (no build).  Prints OK/FAIL
# per patch and arch and the total time; exits non-zero on any FAIL.
set -euo pipefail
. "$(dirname "$0")/env.sh"

start=$SECONDS
ck=$BUILD/export-check
src=$ck/tree
patches=("$BUILD"/export/patches/0*.patch)
patches=("${patches[@]/*\/0000-cover-letter.patch/}")
read -ra patches <<< "${patches[*]}"
[ "${#patches[@]}" -gt 0 ] && [ -f "${patches[0]}" ] || {
	echo "export-check: no series in .build/export/patches: run 'make export'" >&2
	exit 1
}
[ -n "${EXPORT_CHECK_PATCHES:-}" ] &&
	patches=("${patches[@]:0:$EXPORT_CHECK_PATCHES}")

# The base as a git tree, once per KDIR.
if [ "$(cat "$ck/kdir" 2>/dev/null)" != "$KDIR" ] || [ ! -d "$src/.git" ]; then
	echo "export-check: making a git tree of $KDIR (once)"
	rm -rf "$src" "$ck/kdir" && mkdir -p "$ck"
	cp -a "$KDIR" "$src.tmp"
	git -C "$src.tmp" init -q
	git -C "$src.tmp" add -A -f	# Debian's .gitignore ignores everything
	git -C "$src.tmp" -c user.name=base -c user.email=base@invalid \
		commit -qm "base: $(make -s -C "$KDIR" kernelversion)"
	git -C "$src.tmp" tag base
	mv "$src.tmp" "$src"
	echo "$KDIR" > "$ck/kdir"
fi
cd "$src"
git am --abort >/dev/null 2>&1 || true
git reset -q --hard base && git clean -qfdx

# Every arch the series touches: the e2e arches and the KUnit-only ones
# (s390, whose async PF the series moves onto the core).
ARCHES="$ARCHES $KUNIT_ARCHES"
[ "${EXPORT_CHECK_BUILD:-1}" = 0 ] && ARCHES=""
# The test kernels' .config per arch (kunit.py config through
# scripts/build.sh, from the full tree), applied again before each patch's
# build: an option a patch does not have yet would be lost otherwise.
for a in $ARCHES; do
	mkdir -p "$ck/$a"
	KUNIT_CMD=config APF_KOUT=$ck/$a/config "$REPO/scripts/build.sh" "$a" >/dev/null
done

declare -A res
fail=0
for p in "${patches[@]}"; do
	n=$(basename "$p"); n=${n%%-*}
	if ! git -c user.name=export-check -c user.email=export-check@invalid \
		am -q "$p" > "$ck/am-$n.log" 2>&1; then
		echo "export-check: patch $n does not apply (log: ${ck#"$REPO"/}/am-$n.log)" >&2
		for a in $ARCHES; do res[$n.$a]=FAIL; done
		fail=1
		break
	fi
	res[$n.am]=OK
	for a in $ARCHES; do
		arch_setup "$a"
		o=$ck/$a/kernel
		mkdir -p "$o"
		cp "$ck/$a/config/.config" "$o/.config"
		mk=(make -C "$src" O="$o" ARCH="$KARCH" ${CROSS:+CROSS_COMPILE=$CROSS}
		    -j"$JOBS")
		t=$SECONDS
		if "${mk[@]}" olddefconfig > "$o/build-$n.log" 2>&1 &&
		   "${mk[@]}" >> "$o/build-$n.log" 2>&1; then
			res[$n.$a]=OK
		else
			res[$n.$a]=FAIL
			fail=1
			tail -n 20 "$o/build-$n.log" >&2
		fi
		echo "export-check: $n $(git log -1 --format=%s | cut -c1-50)  $a ${res[$n.$a]} ($((SECONDS - t)) s)"
	done
done

echo
printf '%-5s %-8s' patch "git am"; for a in $ARCHES; do printf ' %-8s' "$a"; done; echo
for p in "${patches[@]}"; do
	n=$(basename "$p"); n=${n%%-*}
	printf '%-5s %-8s' "$n" "${res[$n.am]:-FAIL}"
	for a in $ARCHES; do printf ' %-8s' "${res[$n.$a]:-not run}"; done
	echo
done
echo "export-check: ${#patches[@]} patches, arches: $ARCHES, total $((SECONDS - start)) s"
exit "$fail"
