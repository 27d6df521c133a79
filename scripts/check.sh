#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: the kernel's static checks on the project's C code, for every
# arch already built: checkpatch --strict, W=1 warnings (our files compiled
# with the extra warnings, as errors) and sparse (make C=2 on the KVM
# directory and the guest side's, reports about our files only).  Exits non-zero on any finding.
set -uo pipefail
. "$(dirname "$0")/env.sh"
rc=0

echo "check: checkpatch --strict"
mapfile -t files < <(cd "$REPO" && git ls-files '*.c' '*.h')
# checkpatch exits non-zero on findings; its output decides (pipefail would
# otherwise hide a match).
cp_out=$(cd "$REPO" && perl "$TREE/scripts/checkpatch.pl" --no-tree --strict \
	--terse --show-types -f "${files[@]}" || true)
if grep -E ': (ERROR|WARNING|CHECK):' <<<"$cp_out"; then
	rc=1
fi

echo "check: the kernel log checks catch every kind of report"
python3 - "$REPO/scripts" "$REPO/tests/harness/kernel_reports.txt" <<'PY' || rc=1
import sys
sys.path.insert(0, sys.argv[1])
from e2e_report import KERNEL_TROUBLE
bad, must = 0, True
for line in open(sys.argv[2]):
    line = line.rstrip('\n')
    if line.startswith('#') or not line:
        continue
    if line == 'clean:':
        must = False
        continue
    if bool(KERNEL_TROUBLE.search(line)) != must:
        bad = 1
        print(f'check: {"missed" if must else "false report"}: {line}')
sys.exit(bad)
PY

W1="-Wextra -Wunused -Wno-unused-parameter -Wno-missing-field-initializers
    -Wno-sign-compare -Wno-type-limits -Wno-shift-negative-value
    -Wmissing-format-attribute -Wmissing-include-dirs -Wunused-const-variable
    -Wundef -Wunused-but-set-variable -Wformat-overflow -Wformat-truncation
    -Wmissing-declarations -Wmissing-prototypes -Wold-style-definition -Werror"
for a in $ARCHES; do
	arch_setup "$a"
	[ -f "$KOUT/compile_commands.json" ] || { echo "check: $a not built"; rc=1; continue; }
	echo "check: $a W=1"
	python3 - "$KOUT/compile_commands.json" "$W1" <<'PY' || rc=1
import json, shlex, subprocess, sys
cmds, extra = json.load(open(sys.argv[1])), sys.argv[2].split()
bad = 0
for e in cmds:
    if '/apf/' not in e['file'] and '/kvm_apf_guest/' not in e['file']:
        continue
    argv = shlex.split(e['command'])
    out = argv.index('-o')
    del argv[out:out + 2]
    r = subprocess.run(argv + extra + ['-fsyntax-only'], cwd=e['directory'],
                       capture_output=True, text=True)
    if r.returncode or r.stderr.strip():
        bad = 1
        print(r.stderr)
sys.exit(bad)
PY
	echo "check: $a sparse"
	kvmdir=arch/$SRCARCH/kvm/
	out=$(make -C "$TREE" O="$KOUT" ARCH="$KARCH" ${CROSS:+CROSS_COMPILE=$CROSS} \
		C=2 -j"$JOBS" "$kvmdir" virt/lib/kvm_apf_guest/ 2>&1 |
		grep -E '(/apf/|/kvm_apf_guest/).*(warning|error):')
	[ -n "$out" ] && { echo "$out"; rc=1; }
done
[ $rc -eq 0 ] && echo "check: clean"
exit $rc
