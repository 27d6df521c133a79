#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count KUnit results from kunit.py's JSON: every leaf case (each parameter
of a parameterised case) counts once.  A run that produced no JSON or no case
(kernel did not boot, suite missing) is one failure.  As in the e2e tier, a
WARN/BUG/panic or a bug detector's report (KASAN, KFENCE, lockdep, UBSAN,
KCSAN) in the kernel log is a failure of its own, kernel_log_clean, which names
the case that was running."""
import argparse
import json
import os
import re
import sys

from e2e_report import KERNEL_TROUBLE

KEY = {'PASS': 'passed', 'SKIP': 'skipped'}


def walk(group, path, out):
    for case in group.get('test_cases', []):
        out.append(('.'.join(path + [case['name']]), case['status']))
    for sub in group.get('sub_groups', []):
        walk(sub, path + [sub['name']], out)


FAILED = re.compile(r'# (\S+): (?:EXPECTATION|ASSERTION) FAILED at (?:\S*/tree/)?(\S+)')


def first_failures(console):
    """The first failed check of each case in the kernel log, with the line
    after it (what was expected): {case name: 'file:line: Expected ...'}."""
    found = {}
    if not console or not os.path.exists(console):
        return found
    with open(console, errors='replace') as f:
        lines = [l.strip() for l in f]
    for i, line in enumerate(lines):
        m = FAILED.search(line)
        if m and m.group(1) not in found:
            why = lines[i + 1] if i + 1 < len(lines) else ''
            found[m.group(1)] = f'{m.group(2)}: {why}'
    return found


CASE_RESULT = re.compile(r'^\s*(?:not )?ok \d+ (\S+)')


def trouble_by_case(lines):
    """The kernel's reports, each with the case that was running: KUnit
    prints a case's result after everything the case logged, so a report
    belongs to the next result line."""
    found, pending = [], []
    for line in lines:
        if not line.startswith('    ') and KERNEL_TROUBLE.search(line):
            pending.append(line.strip())
            continue
        m = CASE_RESULT.match(line)
        if m and pending:
            found += [(m.group(1), t) for t in pending]
            pending = []
    return found + [('(after the last case)', t) for t in pending]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', required=True)
    ap.add_argument('--rc', type=int, required=True)
    ap.add_argument('--raw', required=True)
    ap.add_argument('--json', required=True)
    ap.add_argument('--console', help='the kernel log of the run')
    a = ap.parse_args()

    cases = []
    if os.path.exists(a.raw):
        with open(a.raw) as f:
            walk(json.load(f), [], cases)
    counts = {'passed': 0, 'failed': 0, 'skipped': 0, 'failures': []}
    why = first_failures(a.console)
    for name, status in cases:
        counts[KEY.get(status, 'failed')] += 1
        if status not in KEY:
            leaf = name.split('.')[-1]
            more = f' ({why[leaf]})' if leaf in why else ''
            counts['failures'].append(f'{a.arch} kunit: {name} {status}{more}')
    if not cases or (a.rc and not counts['failed']):
        counts['failed'] += 1
        counts['failures'].append(f'{a.arch} kunit: run failed (kunit.py exit '
                                  f'status {a.rc}, {len(cases)} cases)')
    if a.console and os.path.exists(a.console):
        with open(a.console, errors='replace') as f:
            trouble = trouble_by_case(f)
        cases.append(('kernel_log_clean', 'FAIL' if trouble else 'PASS'))
        counts['failed' if trouble else 'passed'] += 1
        if trouble:
            case, line = trouble[0]
            counts['failures'].append(f'{a.arch} kunit: kernel_log_clean failed: '
                                      f'{len(trouble)} report line(s), first '
                                      f'during {case}: {line}')
    counts['tests'] = [{'name': n, 'status': s} for n, s in cases]
    with open(a.json, 'w') as f:
        json.dump(counts, f, indent=1)
    for msg in counts['failures']:
        print(msg, file=sys.stderr)
    return 1 if counts['failures'] else 0


if __name__ == '__main__':
    sys.exit(main())
