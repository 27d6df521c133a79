#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn an e2e QEMU console log into a KTAP file and counts.

The guest's /init prints KTAP: one result line per test, the test's own
output nested under it.  On top of those, this adds one check of our own,
"kernel_log_clean": no WARN, BUG, Oops or panic in the console (the L1
kernel's, and the L2 guests' that the reference VMM prints).  A guest
that never finishes (QEMU killed by the timeout, or no "# e2e: done" line)
fails the test that was running.  Every failure is printed naming the arch
and the test.
"""
import argparse
import json
import re
import sys

KERNEL_TROUBLE = re.compile(
    r'(WARNING: CPU: \d+ PID: \d+|'
    r'\bBUG: |Kernel panic - not syncing|\bOops[:\[]|'
    r'general protection fault|Unable to handle kernel|'
    r'kernel BUG at|UBSAN:|KASAN:|INFO: task .* blocked for more than|'
    # lockdep and RCU lockdep, whose reports have no "CPU: n PID: n"
    r'WARNING: (?:possible |inconsistent lock|suspicious RCU|bad unlock|'
    r'held lock|lock held|Nested lock|.*lock order detected|'
    r'bad contention)|'
    # DEBUG_LIST, in case it is not reported as a WARN
    r'\blist_(?:add|del) corruption)')


def kernel_trouble(lines):
    """The kernel log lines that report a WARN, BUG, Oops or panic."""
    return [l.strip() for l in lines
            if not l.startswith('    ') and KERNEL_TROUBLE.search(l)]


RESULT = re.compile(r'^(ok|not ok) (\d+) (\S+)(?: # (.*))?$')
RUNNING = re.compile(r'^# running (\S+)$')


NESTED = re.compile(r'^    (ok|not ok) \d+ (\S+)(?: # (.*))?$')


def status_of(word, note):
    if word == 'not ok':
        return 'FAIL'
    return 'SKIP' if note.upper().startswith('SKIP') else 'PASS'


def why_failed(lines):
    """A failed subtest's reason, from its last log lines (the harness's
    failed checks and TH_LOG()s), without the harness's own RUN/FAIL."""
    said = [l.strip().removeprefix('# ') for l in lines
            if l.startswith('    # ') and
            not re.match(r'^    #\s+(RUN|FAIL|OK)\b', l)]
    return ' | '.join(said[-3:])


def last_words(nested):
    """A whole test's last own lines (not its Linux guest's console), so
    that a failure read from CI's summary alone says where it stopped."""
    own = [l.strip() for l in nested
           if l.strip() and not l.startswith('    L2| ')]
    return ''.join(f'\n      | {l}' for l in own[-4:])


def expand_subtests(results):
    """A test binary that reports KTAP results of its own (kselftest
    harness) counts as its subtests, so that a skipped subtest shows as
    skipped; the binary's own failure (a crash after its subtests, say)
    still counts if no subtest failed."""
    out = []
    for name, status, note, nested in results:
        subs = []
        since = []	# the subtest's own lines
        for line in nested:
            m = NESTED.match(line)
            if m:
                sub = m.group(2).removeprefix('global.')
                st = status_of(m.group(1), m.group(3) or '')
                why = m.group(3) or ''
                if st == 'FAIL' and not why:
                    why = why_failed(since)
                subs.append((f'{name}.{sub}', st, why, []))
                since = []
                continue
            since.append(line)
        if not subs:
            out.append((name, status, note, nested))
            continue
        subs[-1] = subs[-1][:3] + (nested,)	# keep the output, once
        out += subs
        if status == 'FAIL' and all(s[1] != 'FAIL' for s in subs):
            out.append((name, status, note, []))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', required=True)
    ap.add_argument('--tier', default='e2e',
                    help='the tier named in messages (e2e, e2e@CPU)')
    ap.add_argument('--console', required=True)
    ap.add_argument('--qemu-rc', type=int, required=True)
    ap.add_argument('--timeout', type=int, required=True)
    ap.add_argument('--ktap', required=True)
    ap.add_argument('--json', required=True)
    ap.add_argument('--verbose', action='store_true',
                    help='print each test\'s own output too')
    a = ap.parse_args()

    with open(a.console, errors='replace') as f:
        lines = [l.rstrip('\r\n') for l in f]

    results = []          # (name, status, note, nested lines)
    nested = []
    running = None
    trouble = []          # (line, test running then)
    done = False
    for line in lines:
        # The test's own output is nested (4 spaces) and not the kernel's,
        # except the console of a Linux guest the reference VMM booted
        # (tests/vmm: "L2| " in front), whose kernel log must be clean too.
        if (not line.startswith('    ') or line.startswith('    L2| ')) and \
                KERNEL_TROUBLE.search(line.removeprefix('    L2| ')):
            trouble.append((line.strip(), running))
        m = RUNNING.match(line)
        if m:
            running, nested = m.group(1), []
            continue
        m = RESULT.match(line)
        if m:
            note = m.group(4) or ''
            if m.group(1) == 'not ok':
                status = 'FAIL'
            elif note.upper().startswith('SKIP'):
                status = 'SKIP'
            else:
                status = 'PASS'
            results.append((m.group(3), status, note, nested))
            running, nested = None, []
            continue
        if line.startswith('    '):
            nested.append(line)
        elif line == '# e2e: done':
            done = True

    results = expand_subtests(results)
    failures = []
    if not done:
        what = running or 'boot'
        if a.qemu_rc == 124 or a.qemu_rc == 137:
            note = f'guest hung: no result after {a.timeout} s'
        else:
            note = f'guest stopped early (QEMU exit status {a.qemu_rc})'
        results.append((what, 'FAIL', note, nested))
    for name, status, note, nest in results:
        if status == 'FAIL':
            failures.append(f'{a.arch} {a.tier}: {name} failed: {note}' +
                            last_words(nest))

    if trouble:
        first, during = trouble[0]
        note = f'{len(trouble)} kernel WARN/BUG line(s), first during ' \
               f'{during or "boot"}: {first}'
        results.append(('kernel_log_clean', 'FAIL', note, []))
        failures.append(f'{a.arch} {a.tier}: kernel_log_clean failed: {note}')
    else:
        results.append(('kernel_log_clean', 'PASS', '', []))

    with open(a.ktap, 'w') as f:
        f.write('KTAP version 1\n')
        f.write(f'# {a.tier} tests on {a.arch} (nested KVM under QEMU)\n')
        f.write(f'1..{len(results)}\n')
        for i, (name, status, note, nest) in enumerate(results, 1):
            for l in nest:
                f.write(l + '\n')
            word = 'not ok' if status == 'FAIL' else 'ok'
            if status == 'SKIP':
                note = note if note.upper().startswith('SKIP') else 'SKIP'
            f.write(f'{word} {i} {name}' + (f' # {note}' if note else '') + '\n')

    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    key = {'PASS': 'passed', 'FAIL': 'failed', 'SKIP': 'skipped'}
    for _, status, _, _ in results:
        counts[key[status]] += 1
    counts['failures'] = failures
    counts['tests'] = [{'name': n, 'status': s} for n, s, _, _ in results]
    with open(a.json, 'w') as f:
        json.dump(counts, f, indent=1)

    for name, status, note, nest in results:
        if a.verbose:
            print(f'--- {a.arch}: {name}')
            for l in nest:
                print(f'  | {l[4:]}')
        print(f'  {a.arch} {a.tier}: {status:4} {name}' + (f'  ({note})' if note else ''))
    for msg in failures:
        print(msg, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
