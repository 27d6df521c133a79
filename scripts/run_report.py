#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""run_report.py "ARCH CONSOLE"...: the e2e scenario side by side.

For every test case: its result on each arch, then what the guest and the
VMM saw (the tests' "outcome:" lines), which must be identical on every
arch, and how fast it went ("speed:" lines), which need not be.  Exits 1 if
a case failed or an outcome differs between arches."""
import re
import sys

RESULT = re.compile(r'^(ok|not ok) \d+ global\.(\w+)')
LOG = re.compile(r'^# [^:]+:\d+:(\w+):(outcome|speed): (.*)$')


TOKEN = re.compile(r'\b(token|for) (0x[0-9a-f]+)')


def opaque_tokens(lines):
    """@lines with each non-zero token named by its order of appearance: a
    token's value is the arch's (the vCPU bits depend on KVM_MAX_VCPUS), the
    outcome is which faults share one."""
    names = {}

    def name(m):
        return f'{m.group(1)} T{names.setdefault(m.group(2), len(names) + 1)}'
    return tuple(TOKEN.sub(name, line) for line in lines)


def parse(console):
    cases = {}
    with open(console, errors='replace') as f:
        for line in f:
            line = re.sub(r'^.*?(?=(ok|not ok|#) )', '', line.strip(), count=1)
            m = RESULT.match(line)
            if m:
                cases.setdefault(m.group(2), {})['result'] = \
                    'PASS' if m.group(1) == 'ok' else 'FAIL'
                continue
            m = LOG.match(line)
            if m:
                cases.setdefault(m.group(1), {}).setdefault(m.group(2), []) \
                    .append(m.group(3))
    return cases


def main():
    archs = [a.split(maxsplit=1) for a in sys.argv[1:]]
    runs = {arch: parse(console) for arch, console in archs}
    names = []
    for arch, _ in archs:
        names += [n for n in runs[arch] if n not in names]
    bad = False
    print(f"{'case':<36}" + ''.join(f'{a:>10}' for a, _ in archs) +
          '  guest-visible outcome')
    for n in names:
        res = [runs[a].get(n, {}).get('result', 'missing') for a, _ in archs]
        outs = [tuple(runs[a].get(n, {}).get('outcome', [])) for a, _ in archs]
        same = len(set(opaque_tokens(o) for o in outs)) == 1
        bad |= any(r != 'PASS' for r in res) or not same
        print(f'{n:<36}' + ''.join(f'{r:>10}' for r in res) +
              ('  identical' if same else '  DIFFERS'))
        for i, o in enumerate(outs):
            if i and same:
                break
            for line in opaque_tokens(o) if same and len(outs) > 1 else o:
                who = 'all' if same else archs[i][0]
                print(f'    {who:>7}: {line}')
        for a, _ in archs:
            for line in runs[a].get(n, {}).get('speed', []):
                print(f'    {a:>7}: ({line})')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
