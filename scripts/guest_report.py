#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""guest_report.py "ARCH CONSOLE"...: the Linux guest that the reference
VMM (tests/vmm) booted on our host code, arches side by side (`make run`).

From each e2e console: how long L2 took to reach user space, the toucher's
wait for its late pages and the other processes' work rate meanwhile, with
async PF on (test "showcase_apf_on") and off ("showcase_apf_off", VMM -n),
the guest's and KVM's counts of the same notifications, the SIGBUS the
guest's reader got, and every result.  Exits 1 if a result failed or a
figure is missing.  `make bench` uses guest_rows() for its Linux-guest rows.
"""
import re
import sys

RUNNING = re.compile(r'^# running (\S+)$')
WORK = re.compile(r'apftest: (\w+): the toucher read (\d+) pages back in '
                  r'([\d.]+) s; the others\' work rate: (\d+)/s alone, '
                  r'(\d+)/s while it waited; not present (\d+), ready (\d+)')
TOLD = re.compile(r'vmm: guest was told not present (\d+), ready (\d+); '
                  r'KVM told it (\d+), (\d+): (.*?) \(')
BOOT = re.compile(r'vmm: L2 user space up ([\d.]+) s')
BUS = re.compile(r'apftest: sigbus: SIGBUS, si_code (\d+), si_addr (\S+) '
                 r'\(read at (\S+)\)')
RESULT = re.compile(r'^\s+(ok|not ok) \d+ (\S+)')
SAVED = re.compile(r'vmm: snapshot (\d+) saved to \S+ in (\d+) ms \((\d+) MiB')
RESTORED = re.compile(r'vmm: restored from \S+ \(restore (\d+)\) in (\d+) ms')
ALL_IN = re.compile(r'vmm: every page in (\d+) ms after the restore began')
AFTER = re.compile(r'apftest: snapshot (\d+): (\d+) task\(s\) parked; restore (\d+) '
                   r'answered; work in the first second after it (\d+), alone (\d+)/s')
OWED = re.compile(r'vmm: VMM-driven: (\d+) fault\(s\) accepted, (\d+) completed')


def parse(console):
    """{test: {'boot': [s], 'work': match, 'told': [match], 'bus': str,
    'results': [(ok, name)]}} for every test of the console."""
    tests, cur = {}, None
    with open(console, errors='replace') as f:
        for line in f:
            line = line.rstrip('\r\n')
            m = RUNNING.match(line)
            if m:
                cur = tests.setdefault(m.group(1), {
                    'boot': [], 'told': [], 'results': [], 'saved': [],
                    'restored': [], 'all_in': [], 'after': [], 'owed': []})
                continue
            if cur is None:
                continue
            for pat, key in ((BOOT, 'boot'), (TOLD, 'told'), (SAVED, 'saved'),
                             (RESTORED, 'restored'), (ALL_IN, 'all_in'),
                             (AFTER, 'after'), (OWED, 'owed')):
                m = pat.search(line)
                if m:
                    cur[key].append(m)
            m = WORK.search(line)
            if m:
                cur['work'] = m
            m = BUS.search(line)
            if m:
                cur['bus'] = 'SIGBUS, ' + \
                    ('BUS_ADRERR' if m.group(1) == '2' else 'si_code ' + m.group(1)) + \
                    (', at the address read' if m.group(2) == m.group(3)
                     else f', at {m.group(2)}, not {m.group(3)}')
            m = RESULT.match(line)
            if m and 'L2|' not in line:
                cur['results'].append((m.group(1) == 'ok', m.group(2)))
    return tests


def guest_rows(console, on='showcase_apf_on', off='showcase_apf_off'):
    """The Linux-guest figures of one console: a dict, or None."""
    t = parse(console)
    a, b = t.get(on, {}).get('work'), t.get(off, {}).get('work')
    if not a or not b:
        return None
    alone, r_on, r_off = float(a.group(4)), float(a.group(5)), float(b.group(5))
    return {
        'pages': int(a.group(2)),
        'wait_on': float(a.group(3)), 'wait_off': float(b.group(3)),
        'alone': alone, 'rate_on': r_on, 'rate_off': r_off,
        'ratio': r_on / r_off if r_off else float('inf'),
        'recovered': (r_on - r_off) / (alone - r_off) if alone > r_off else None,
        'np': int(a.group(6)), 'ready': int(a.group(7)),
    }


def main():
    archs = [a.split(maxsplit=1) for a in sys.argv[1:]]
    runs = {arch: parse(c) for arch, c in archs}
    bad = False
    rows = []

    def row(what, f):
        vals = []
        for arch, _ in archs:
            try:
                vals.append(f(runs[arch]))
            except (KeyError, IndexError, AttributeError, TypeError):
                vals.append('missing')
        rows.append((what, vals))

    on, off = 'showcase_apf_on', 'showcase_apf_off'
    row('L2 boot to user space (s)',
        lambda r: r[on]['boot'][0].group(1))
    row('pages dropped, served late',
        lambda r: r[on]['work'].group(2))
    for t, state in ((on, 'on'), (off, 'off')):
        row(f'async PF {state}: the toucher waited (s)',
            lambda r, t=t: r[t]['work'].group(3))
        row('  the others\' work rate alone (/s)',
            lambda r, t=t: r[t]['work'].group(4))
        row('  ... while the toucher waited (/s)',
            lambda r, t=t: r[t]['work'].group(5))
        row('  "not present" (boot): guest / KVM',
            lambda r, t=t: f"{r[t]['told'][-1].group(1)} / {r[t]['told'][-1].group(3)}")
        row('  "page ready" (boot): guest / KVM',
            lambda r, t=t: f"{r[t]['told'][-1].group(2)} / {r[t]['told'][-1].group(4)}")
    row('work rate while waiting, on / off',
        lambda r: f"{float(r[on]['work'].group(5)) / float(r[off]['work'].group(5)):.2f}x")
    row('unresolvable page, guest opted in',
        lambda r: r[on]['bus'])
    rs = 'showcase_restore'
    row('snapshots with tasks parked (VMM-driven)',
        lambda r: len(r[rs]['after']))
    row('  tasks parked at each',
        lambda r: ', '.join(m.group(2) for m in r[rs]['after']))
    row('  saved (ms, each)',
        lambda r: ', '.join(m.group(2) for m in r[rs]['saved']) +
        f" ({r[rs]['saved'][0].group(3)} MiB)")
    row('  new VMM: the guest ran after (ms)',
        lambda r: ', '.join(m.group(2) for m in r[rs]['restored']))
    row('  every page in after (ms)',
        lambda r: ', '.join(m.group(1) for m in r[rs]['all_in']))
    row('  work in the 1st second, of alone',
        lambda r: ', '.join(f"{100 * int(m.group(4)) / max(int(m.group(5)), 1):.0f}%"
                            for m in r[rs]['after']))
    row('  faults the VMM accepted / completed',
        lambda r: f"{r[rs]['owed'][-1].group(1)} / {r[rs]['owed'][-1].group(2)}")
    row('results passed / failed',
        lambda r: f"{sum(ok for t in r.values() for ok, _ in t['results'])} / "
                  f"{sum(not ok for t in r.values() for ok, _ in t['results'])}")
    width = max(len(w) for w, _ in rows) + 2
    colw = [max(len(arch), *(len(str(v[i])) for _, v in rows)) + 2
            for i, (arch, _) in enumerate(archs)]
    print(f"{'':<{width}}" + ''.join(f'{a:<{w}}' for (a, _), w in zip(archs, colw)))
    for what, vals in rows:
        print(f'{what:<{width}}' + ''.join(f'{str(v):<{w}}' for v, w in zip(vals, colw)))
        bad |= 'missing' in vals
    for arch, _ in archs:
        for name, t in runs[arch].items():
            for ok, res in t['results']:
                if not ok:
                    print(f'{arch}: {name}.{res} FAILED')
                    bad = True
            if t['told'] and t['told'][-1].group(5) != 'the same':
                print(f"{arch}: {name}: guest and KVM counts differ: "
                      f"{t['told'][-1].group(0)}")
                bad = True
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
