#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: the showcase.  On each arch, boot our kernel in QEMU with nested
# KVM (L1) and, through the reference VMM (tests/vmm), a Linux guest (L2)
# whose memory comes late: a process reads back pages the VMM dropped
# (served RUN_DELAY_MS late each) while two others compute, once with async
# PF and once without (the VMM does not offer it), then reads a page the host
# cannot provide (SIGBUS).  Then the selftests' scenario (delayed pages, a
# truncated file) in the same boot.  Both shown side by side per arch: what
# the guest and KVM each counted, the work done meanwhile, every result.
# Uses the bench kernels (no bug detectors) for L1 and L2.
set -euo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts
export KFLAVOUR=bench
D=${RUN_DELAY_MS:-10}
P=${RUN_PAGES:-256}

"$S/tree.sh"
rc=0
logs=()
mkdir -p "$BUILD"
vmm="vmm/vmm -T -x -c 2 -t 240 -d $D -k vmm/kernel -i vmm/l2.cpio"
printf '%s\n' \
	"showcase_apf_on 400 $vmm -e -b 100000000:2 kunit.enable=0 apftest=enabled,delayed,sigbus apftest.bad=100000000 apftest.pages=$P" \
	"showcase_apf_off 400 $vmm -n kunit.enable=0 apftest=workload apftest.pages=$P" \
	"showcase_restore 600 $vmm -d 2 -V -P -S /tmp/showcase kunit.enable=0 apftest=snapshot apftest.rounds=3" \
	'apf_async_pf_test 300 apf/apf_async_pf_test' \
	'apf_error_test 300 apf/apf_error_test' > "$BUILD/run.list"
for a in $ARCHES; do
	echo "================ $a"
	arch_setup "$a"
	"$S/build.sh" "$a"
	"$S/selftests.sh" "$a" vmm/vmm
	E2E_LIST="$BUILD/run.list" E2E_TAG=run E2E_KMEMLEAK= "$S/e2e.sh" "$a" || rc=1
	logs+=("$a $OUT/run/console.log")
done
echo "================ a Linux guest on our host code, through the reference VMM"
echo "(each dropped page served ${D} ms late; L2's log: .build/ARCH/run/console.log)"
python3 "$S/guest_report.py" "${logs[@]}" || rc=1
echo "================ the selftests' scenario, side by side"
python3 "$S/run_report.py" "${logs[@]}" || rc=1
exit $rc
