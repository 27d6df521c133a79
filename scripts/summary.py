#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""summary.py RESULTS_DIR ARCH...: the arch x tier table of a test run, the
failures by name, and the closing line "N passed, N failed[, N skipped]".
The tiers of an arch: kunit, e2e, e2e@CPU for each boot on another QEMU
CPU that tests/e2e.list names, and e2e+FLAVOUR for each boot of another
kernel flavour it names (in the test kernels' run only: KFLAVOUR unset);
an arch in KUNIT_ARCHES (s390) has the kunit tier only.
A tier with no result file counts as one failure (it never ran)."""
import json
import os
import subprocess
import sys


def tiers(arch):
    if arch in os.environ.get('KUNIT_ARCHES', '').split():
        return ['kunit']
    lister = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'e2e_list.sh')
    cpus = subprocess.run([lister, arch, '--cpus'], capture_output=True,
                          text=True, check=True).stdout.split()
    flavours = []
    if not os.environ.get('KFLAVOUR'):
        flavours = subprocess.run([lister, arch, '--flavours'],
                                  capture_output=True, text=True,
                                  check=True).stdout.split()
    return (['kunit', 'e2e'] + [f'e2e@{c}' for c in cpus] +
            [f'e2e+{f}' for f in flavours])


def main():
    res, arches = sys.argv[1], sys.argv[2:]
    total = {'passed': 0, 'failed': 0, 'skipped': 0}
    failures = []
    print(f'{"arch":8} {"tier":16} {"passed":>7} {"failed":>7} {"skipped":>8}')
    for arch in arches:
        for tier in tiers(arch):
            path = os.path.join(res, f'{arch}-{tier}.json')
            if os.path.exists(path):
                with open(path) as f:
                    c = json.load(f)
            else:
                c = {'passed': 0, 'failed': 1, 'skipped': 0,
                     'failures': [f'{arch} {tier}: did not run']}
            for k in total:
                total[k] += c[k]
            failures += c.get('failures', [])
            print(f'{arch:8} {tier:16} {c["passed"]:7} {c["failed"]:7} '
                  f'{c["skipped"]:8}')
    print(f'{"total":25} {total["passed"]:7} {total["failed"]:7} '
          f'{total["skipped"]:8}')
    if failures:
        print('failures:')
        for msg in failures:
            print(f'  {msg}')
    line = f'{total["passed"]} passed, {total["failed"]} failed'
    if total['skipped']:
        line += f', {total["skipped"]} skipped'
    print(line)
    return 1 if total['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
