#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# build.sh ARCH: configure (from tests/configs/*.config, through kunit.py) and
# build the kernel for ARCH out of tree in .build/ARCH/kernel.
# KFLAVOUR (scripts/env.sh) adds the flavour's fragment: the test kernel has
# the bug detectors (sanitizers.config), kcsan the data-race detector
# (kcsan.config), in .build/ARCH/kernel-kcsan; bench none of them.
set -euo pipefail
. "$(dirname "$0")/env.sh"
arch_setup "$1"

mkdir -p "$OUT"
args=("${KUNIT_CMD:-build}" --arch="$KARCH" --build_dir="$KOUT")
# An arch with an e2e tier: kunit.config (KUnit, KVM, what the e2e initramfs
# needs) and the arch's fragment; a KUnit-only arch (KUNIT_ARCHES): its own.
case " $KUNIT_ARCHES " in
*" $ARCH_NAME "*) ;;
*) args+=(--kunitconfig="$REPO/tests/configs/kunit.config") ;;
esac
args+=(--kunitconfig="$REPO/tests/configs/$ARCH_NAME.config")
case ${KFLAVOUR:-} in
'') args+=(--kunitconfig="$REPO/tests/configs/sanitizers.config") ;;
kcsan) args+=(--kunitconfig="$REPO/tests/configs/kcsan.config") ;;
modules)	# KVM as modules: the fragment turns =y into =m (x86_64 only).
	[ "$ARCH_NAME" = x86_64 ] || {
		echo "build: KFLAVOUR=modules is x86_64 only (arm64 KVM is bool)" >&2
		exit 1
	}
	args+=(--kunitconfig="$REPO/tests/configs/sanitizers.config")
	while read -r l; do args+=(--kconfig_add="$l"); done < \
		<(grep '^CONFIG_' "$REPO/tests/configs/modules.config") ;;
esac
# KVM's -Werror, where KASAN does not rule it out.
[ "$ARCH_NAME" = x86_64 ] && [ -n "${KFLAVOUR:-}" ] &&
	[ "$KFLAVOUR" != modules ] &&
	args+=(--kconfig_add=CONFIG_KVM_WERROR=y)
[ -n "$CROSS" ] && args+=(--cross_compile="$CROSS")
cd "$TREE"
[ "${KUNIT_CMD:-build}" = build ] && args+=(--jobs="$JOBS")
python3 tools/testing/kunit/kunit.py "${args[@]}" > "$OUT/build.log" 2>&1 || {
	tail -n 40 "$OUT/build.log" >&2
	echo "build: $ARCH_NAME kernel build failed (log: $OUT/build.log)" >&2
	exit 1
}
echo "build: $ARCH_NAME ${KFLAVOUR:+$KFLAVOUR }kernel ready: ${KIMAGE#"$REPO"/}"
