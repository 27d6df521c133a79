#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kunit.sh ARCH: run the KUnit suites built into ARCH's kernel through the
# kernel's own kunit.py (QEMU), keep the KTAP (.build/results/ARCH-kunit.ktap)
# and counts (ARCH-kunit.json).
set -euo pipefail
. "$(dirname "$0")/env.sh"
arch_setup "$1"

mkdir -p "$RES"
rm -f "$RES/$ARCH_NAME-kunit.json" "$RES/$ARCH_NAME-kunit.ktap"
args=(exec --arch="$KARCH" --build_dir="$KOUT" --timeout="${KUNIT_TIMEOUT:-600}"
      --json="$RES/$ARCH_NAME-kunit.raw.json" --qemu_args="-smp 2"
      "${KUNIT_FILTER:-kvm_apf*}")
[ -n "$CROSS" ] && args+=(--cross_compile="$CROSS")
cd "$TREE"
set +e
python3 tools/testing/kunit/kunit.py "${args[@]}" > "$OUT/kunit.log" 2>&1
rc=$?
set -e
sed -n '/\[..:..:..\] =\+ /,$p' "$OUT/kunit.log" | sed 's/^\[..:..:..\] //' |
	grep -v '^Elapsed time' | sed 's/^/  /' || true
# The kernel's raw console, reduced to its KTAP lines by kunit.py itself.
# Kernel messages after the last top-level result are not KTAP: cut them.
python3 tools/testing/kunit/kunit.py parse --raw_output=kunit "$KOUT/test.log" \
	2>/dev/null | awk '{ l[NR] = $0 } /^(not )?ok / { last = NR }
	END { for (i = 1; i <= last; i++) print l[i] }' > "$RES/$ARCH_NAME-kunit.ktap" || true
exec python3 "$REPO/scripts/kunit_report.py" --arch "$ARCH_NAME" --rc "$rc" \
	--raw "$RES/$ARCH_NAME-kunit.raw.json" --json "$RES/$ARCH_NAME-kunit.json" \
	--console "$KOUT/test.log"
