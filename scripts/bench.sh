#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh: the async PF benchmark (tests/e2e/apf_bench.c) on our kernel and
# on the unmodified base kernel, side by side in one run, nested under QEMU.
# Per kernel: work done in a fixed window with pages present (ceiling),
# delayed without async PF (sync) and delayed with it (async); the ratios and
# the per-fault counts.  BENCH_DELAY_US, BENCH_WINDOW_MS tune it.
set -euo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts
DELAY=${BENCH_DELAY_US:-5000}
WINDOW=${BENCH_WINDOW_MS:-2000}

"$S/tree.sh"
lines=()
# Our kernel without the bug detectors of the test kernels (KFLAVOUR=bench).
export KFLAVOUR=bench
for a in ${BENCH_ARCHES:-x86_64 arm64}; do
	arch_setup "$a"
	"$S/build.sh" "$a"
	"$S/selftests.sh" "$a" apf/apf_bench
	echo "apf_bench 1200 apf/apf_bench -d $DELAY -w $WINDOW" > "$OUT/bench.list"
	E2E_LIST="$OUT/bench.list" E2E_TAG="bench-ours" E2E_KMEMLEAK= "$S/e2e.sh" "$a" \
		> /dev/null || true
	lines+=("$a ours $OUT/bench-ours/console.log")

	# The unmodified base, same config fragments without our options; only
	# where upstream has async PF to compare with (not arm64).
	[ "$a" = arm64 ] && continue
	base=$BUILD/$a-base
	mkdir -p "$base"
	for f in kunit "$a"; do
		grep -v APF "$REPO/tests/configs/$f.config" > "$base/$f.config"
	done
	(cd "$KDIR" && python3 tools/testing/kunit/kunit.py build --arch="$KARCH" \
		--build_dir="$base/kernel" --jobs="$JOBS" \
		--kunitconfig="$base/kunit.config" --kunitconfig="$base/$a.config" \
		${CROSS:+--cross_compile=$CROSS}) > "$base/build.log" 2>&1 || {
		tail -n 30 "$base/build.log" >&2
		echo "bench: $a base kernel build failed" >&2
		exit 1
	}

	E2E_LIST="$OUT/bench.list" E2E_TAG="bench-base" E2E_KMEMLEAK= \
		E2E_KIMAGE="${KIMAGE/$KOUT/$base/kernel}" "$S/e2e.sh" "$a" \
		> /dev/null || true
	lines+=("$a base $OUT/bench-base/console.log")
done
python3 "$S/bench_report.py" "${lines[@]}"
