#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: build both kernels, boot each in QEMU with nested KVM, run the e2e
# scenario, and show what happened in each VM (every test's own output).
set -euo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts

"$S/tree.sh"
rc=0
for a in $ARCHES; do
	echo "================ $a"
	"$S/build.sh" "$a"
	"$S/selftests.sh" "$a"
	E2E_VERBOSE=1 "$S/e2e.sh" "$a" || rc=1
done
exit $rc
