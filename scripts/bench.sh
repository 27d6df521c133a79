#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh: the async PF benchmark (tests/e2e/apf_bench.c) on our kernel and
# on the unmodified base kernel, side by side in one run, nested under QEMU.
# Per kernel: work done in a fixed window with pages present (ceiling),
# delayed without async PF (sync) and delayed with it (async); the ratios and
# the per-fault counts.  BENCH_DELAY_US, BENCH_WINDOW_MS tune it.  The
# exits in each window come from KVM's tracepoints, by reason, for the
# report's protocol exits per fault by cause (issue 17).  At BENCH_DELAY_US
# the guest also runs a single task (-m single: nothing to overlap, async
# PF can only cost); the delay curve repeats ceiling, sync and async at
# each of BENCH_CURVE_US (default "100 1000 5000" us), in the same boot.
# At every delay, the same in one VM, in blocks timed by the guest's clock
# (-m mixed: ceiling, sync, async; -m paired: the single task with async
# PF on and off), which the host's speed changing from one window to the
# next does not blur.  Every
# apf_bench run places its threads as a production VMM does (apf_bench -P
# 1: the vCPU thread alone on one CPU, the VMM's on the others), so that
# where the scheduler puts them does not change the exits counted.
# Then, in the same boot of our kernel, the lazy-restore scenario (issue 14,
# apf_bench -L): the pages served by a VMM thread pool after a fixed delay,
# sync, kernel-resolved async, VMM-driven with exits and VMM-driven
# exitless side by side.  BENCH_LAZY_DELAY_US (1000: the issue's targets are
# set at 1 ms), BENCH_LAZY_WINDOW_MS, BENCH_LAZY_PAGES (enough that no mode
# has every page in before the window ends: pages x (delay + quantum) >
# window), BENCH_LAZY_QUANTUM_PCT (the guest's compute between two touches,
# in percent of the delay: 100, today's workload; the report prints the
# ceiling's ratio to sync, the most any mode can reach: where the host adds
# little to the delay it is about 2x), BENCH_LAZY_THREADS (the pool),
# BENCH_LAZY_ROUNDS (3; each about 14 s per arch) tune it; BENCH_LAZY=0
# leaves it out.  BENCH_LAZY_PIN (1) places the threads as a production VMM
# does, in every mode alike: the vCPU thread alone on one of the L1's CPUs,
# the VMM's threads (pool, readers) on the others; 0 leaves them to the
# scheduler.  The report's header says where they ran.
# Last, in the same boot, a Linux guest booted by the reference VMM: the
# Linux-guest rows (BENCH_GUEST_DELAY_MS, BENCH_GUEST_PAGES; on arm64 also
# with "not present" as the SDEI event instead of the abort); issue 17's
# points with a real guest scheduler: the delay curve at each of
# BENCH_GUEST_CURVE_MS (default "0.1 1 5"; pages enough for about 1.3 s of
# delays, at least BENCH_GUEST_PAGES), and the toucher alone (no other
# process: nothing to overlap) at BENCH_GUEST_DELAY_MS, async PF on and off.
set -euo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts
DELAY=${BENCH_DELAY_US:-5000}
WINDOW=${BENCH_WINDOW_MS:-2000}
CURVE=${BENCH_CURVE_US:-100 1000 5000}
LAZY_ARGS="-L -m ceiling,sync,async,vmm,exitless -d ${BENCH_LAZY_DELAY_US:-1000}"
LAZY_ARGS+=" -w ${BENCH_LAZY_WINDOW_MS:-1000} -p ${BENCH_LAZY_PAGES:-768}"
LAZY_ARGS+=" -f ${BENCH_LAZY_QUANTUM_PCT:-100} -t ${BENCH_LAZY_THREADS:-4}"
LAZY_ARGS+=" -r ${BENCH_LAZY_ROUNDS:-3} -P ${BENCH_LAZY_PIN:-1}"

"$S/tree.sh"
lines=()
# Our kernel without the bug detectors of the test kernels (KFLAVOUR=bench).
export KFLAVOUR=bench
for a in ${BENCH_ARCHES:-x86_64 arm64}; do
	arch_setup "$a"
	"$S/build.sh" "$a"
	"$S/selftests.sh" "$a" apf/apf_bench vmm/vmm
	# The main line (BENCH_DELAY_US) also runs the single task (the cost
	# of async PF where it cannot win); then the delay curve; each line
	# also in one VM (mixed, paired).
	echo "apf_bench 1200 apf/apf_bench -m ceiling,sync,async,mixed,single,paired -d $DELAY -w $WINDOW" \
		> "$OUT/bench-base.list"
	for d in $CURVE; do
		[ "$d" = "$DELAY" ] ||
			echo "apf_bench_${d}us 1200 apf/apf_bench -m ceiling,sync,async,mixed,paired -d $d -w $WINDOW -p 16384"
	done >> "$OUT/bench-base.list"
	cp "$OUT/bench-base.list" "$OUT/bench.list"
	[ "${BENCH_LAZY:-1}" = 0 ] ||
		echo "apf_bench_lazy 1200 apf/apf_bench $LAZY_ARGS" >> "$OUT/bench.list"
	# A Linux guest booted by the reference VMM (tests/vmm), the same
	# workload with async PF on and off (-n), each page BENCH_GUEST_DELAY_MS
	# late; the VMM traces the exits of its windows (apftest.trace=1).
	g="vmm/vmm -T -x -c 2 -t 240 -d ${BENCH_GUEST_DELAY_MS:-10} -k vmm/kernel -i vmm/l2.cpio"
	g2="kunit.enable=0 apftest=workload apftest.trace=1 apftest.pages=${BENCH_GUEST_PAGES:-256}"
	printf '%s\n' "linux_guest_apf_on 400 $g $g2" \
		"linux_guest_apf_off 400 $g -n $g2" >> "$OUT/bench.list"
	# arm64's guest takes "not present" as the abort; the same line with
	# the SDEI event (-A: the abort not offered), for its exits.
	[ "$a" != arm64 ] ||
		echo "linux_guest_sdei_on 400 $g -A $g2" >> "$OUT/bench.list"
	g="vmm/vmm -T -x -c 2 -t 240 -k vmm/kernel -i vmm/l2.cpio"
	for d in ${BENCH_GUEST_CURVE_MS:-0.1 1 5}; do
		n=$(awk -v d="$d" -v p="${BENCH_GUEST_PAGES:-256}" \
			'BEGIN { n = int(1300 / d); print (n > p ? n : p) }')
		c="kunit.enable=0 apftest=workload apftest.trace=1 apftest.pages=$n"
		printf '%s\n' "linux_guest_apf_on_${d}ms 400 $g -d $d $c" \
			"linux_guest_apf_off_${d}ms 400 $g -d $d -n $c"
	done >> "$OUT/bench.list"
	g2+=" apftest.computers=0"
	printf '%s\n' "linux_guest_single_on 400 $g -d ${BENCH_GUEST_DELAY_MS:-10} $g2" \
		"linux_guest_single_off 400 $g -d ${BENCH_GUEST_DELAY_MS:-10} -n $g2" \
		>> "$OUT/bench.list"
	# The same guest snapshotted with tasks parked on faults in flight and
	# restored by a new VMM process: eager (the whole image read first),
	# lazy with async PF off (the vCPU waits in userfaultfd), lazy with
	# the kernel's async PF, VMM-driven (exits), VMM-driven exitless.
	# Lazy: each page on demand BENCH_RESTORE_DELAY_MS (2) late (10: the
	# fault latency of the published Firecracker restore figure), a
	# prefetcher streaming in the rest.  BENCH_RESTORE_ROUNDS (3) restores a line,
	# the report's figures their medians.
	r="vmm/vmm -T -x -c 2 -t 400 -m ${BENCH_RESTORE_MIB:-256} -d ${BENCH_RESTORE_DELAY_MS:-2}"
	r+=" -k vmm/kernel -i vmm/l2.cpio"
	r2="kunit.enable=0 apftest=snapshot apftest.rounds=${BENCH_RESTORE_ROUNDS:-3}"
	printf '%s\n' "restore_eager 600 $r -E -S /tmp/rb-eager $r2" \
		"restore_sync 600 $r -n -P -S /tmp/rb-sync $r2" \
		"restore_async 600 $r -P -S /tmp/rb-async $r2" \
		"restore_vmm 600 $r -V -P -S /tmp/rb-vmm $r2" \
		"restore_exitless 600 $r -X -P -S /tmp/rb-exitless $r2" >> "$OUT/bench.list"
	# The scale runs: BENCH_SCALE faults in flight at once on each of
	# BENCH_SCALE_VCPUS vCPUs, each page BENCH_SCALE_DELAY_US late; our
	# kernel's limit raised to the most (kvm.apf_max_per_vcpu; the other
	# lines have a few in flight).
	echo "apf_bench_scale 2400 apf/apf_bench -S ${BENCH_SCALE:-64,256,1024,4096}" \
		"-V ${BENCH_SCALE_VCPUS:-1,2,4}" \
		"-d ${BENCH_SCALE_DELAY_US:-1000} -t 4 -r ${BENCH_SCALE_ROUNDS:-2}" \
		>> "$OUT/bench.list"
	# The burst runs: BENCH_BURST completions at once (a chunk of pages
	# mapped by one fetch, BENCH_SCALE_DELAY_US late), "page ready" one
	# at a time, batched (the ring), and batched with "not present" as a
	# synchronous exception (arm64's abort; x86's #VE where offered), side
	# by side.
	echo "apf_bench_burst 1200 apf/apf_bench -B ${BENCH_BURST:-16,64,256}" \
		"-d ${BENCH_SCALE_DELAY_US:-1000} -r ${BENCH_BURST_ROUNDS:-3}" \
		>> "$OUT/bench.list"
	KERNEL_ARGS_EXTRA="kvm.apf_max_per_vcpu=4096" \
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

	E2E_LIST="$OUT/bench-base.list" E2E_TAG="bench-base" E2E_KMEMLEAK= \
		E2E_KIMAGE="${KIMAGE/$KOUT/$base/kernel}" "$S/e2e.sh" "$a" \
		> /dev/null || true
	lines+=("$a base $OUT/bench-base/console.log")
done
python3 "$S/bench_report.py" "${lines[@]}"
