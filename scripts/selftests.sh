#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# selftests.sh ARCH [PROGRAM...]: install ARCH's uAPI headers from the built
# kernel and build, statically, the KVM selftests named in tests/e2e.list
# (ours live in tools/testing/selftests/kvm/apf/), plus any PROGRAM given,
# into .build/ARCH/selftests.  A program harness/NAME is the harness' own
# tests/harness/NAME.c, not a selftest; vmm/vmm is the reference VMM
# (scripts/vmm_build.sh, with its guest's initramfs vmm/l2.cpio).
set -euo pipefail
. "$(dirname "$0")/env.sh"
arch_setup "$1"
shift

mkdir -p "$OUT/selftests/tools"	# abs_objdir: arm64 generated headers go here
all=$( { "$REPO/scripts/e2e_list.sh" "$ARCH_NAME" --all | awk '{print $3}'
	[ $# -eq 0 ] || printf '%s\n' "$@"; } | sort -u)
progs=$(grep -v '^harness/\|^vmm/' <<< "$all" || true)
vmm=$(grep '^vmm/' <<< "$all" || true)
harness=$(grep '^harness/' <<< "$all" || true)
log=$OUT/selftests.log
# The selftests' .d files name their targets by a relative path that make
# does not match, so a changed header would not rebuild our tests: always
# rebuild them (seconds).
rm -rf "$OUT/selftests/apf"
# One status for all (set -e does not act inside a list ended by ||).
# The uAPI headers: "headers" makes $KOUT/usr/include (headers_install
# would only copy them onto themselves, with rsync).
rc=0
# shellcheck disable=SC2046
{
	make -C "$TREE" O="$KOUT" ARCH="$KARCH" ${CROSS:+CROSS_COMPILE=$CROSS} \
		headers &&
	make -C "$TREE/tools/testing/selftests/kvm" -j"$JOBS" \
		ARCH="$SRCARCH" ${CROSS:+CROSS_COMPILE=$CROSS} \
		OUTPUT="$OUT/selftests" abs_objdir="$OUT/selftests" \
		KHDR_INCLUDES="-isystem $KOUT/usr/include" \
		LDFLAGS="-static -pthread" \
		$(for p in $progs; do echo "$OUT/selftests/$p"; done) &&
	mkdir -p "$OUT/selftests/harness" &&
	for p in $harness; do
		${CROSS}gcc -static -O2 -Wall -o "$OUT/selftests/$p" \
			"$REPO/tests/$p.c" || rc=1
	done &&
	if [ -n "$vmm" ]; then
		"$REPO/scripts/vmm_build.sh" "$ARCH_NAME" "$OUT/selftests/vmm"
	fi
} > "$log" 2>&1 || rc=1
[ "$rc" = 0 ] || {
	tail -n 30 "$log" >&2
	echo "selftests: $ARCH_NAME build failed (log: $log)" >&2
	exit 1
}
echo "selftests: $ARCH_NAME built: $(echo $all)"
