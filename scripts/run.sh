#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: build both kernels, boot each in QEMU with nested KVM, run the
# async PF scenario (delayed pages, a truncated file) in a VM on each, and
# show the two side by side: every case's result and what the guest and the
# VMM saw, which must be the same on every arch.
set -euo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts

"$S/tree.sh"
rc=0
logs=()
mkdir -p "$BUILD"
printf '%s\n' 'apf_async_pf_test 300 apf/apf_async_pf_test' \
	'apf_error_test 300 apf/apf_error_test' > "$BUILD/run.list"
for a in $ARCHES; do
	echo "================ $a"
	arch_setup "$a"
	"$S/build.sh" "$a"
	"$S/selftests.sh" "$a"
	E2E_LIST="$BUILD/run.list" E2E_TAG=run "$S/e2e.sh" "$a" || rc=1
	logs+=("$a $OUT/run/console.log")
done
echo "================ side by side"
python3 "$S/run_report.py" "${logs[@]}" || rc=1
exit $rc
