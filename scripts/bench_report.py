#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench_report.py "ARCH KERNEL CONSOLE"...: the async PF benchmark table.

For each arch and kernel (ours, base): work done in the window for the
ceiling, sync and async runs (one boot, side by side; the median of the
rounds, each round one run of each, interleaved), then
  async/sync   how much more work async PF got done than waiting
  recovered    (async - sync) / (ceiling - sync): the share of the time lost
               to the delay that async PF turned back into work (of the
               medians; the range over the rounds in brackets)
  exits/fault  vCPU exits per async fault, over every async run
  notif/fault  notifications ("not present" + "ready", less the wake-all at
               enable) per async fault, over every async run
Speed-independent counts come from the guest's log and KVM's vCPU stats."""
import re
import statistics
import sys

LINE = re.compile(r'BENCH (.*)$')


def parse(console):
    """{mode: [the runs of that mode, in order]}"""
    runs = {}
    with open(console, errors='replace') as f:
        for l in f:
            m = LINE.search(l.strip())
            if m:
                kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', m.group(1)))
                runs.setdefault(kv.get('mode', 'skipped'), []).append(kv)
    return runs


def recovered(c, s, a):
    return 100 * (a - s) / (c - s) if c > s else None


def main():
    rows, bad = [], False
    for arg in sys.argv[1:]:
        arch, kernel, console = arg.split()
        runs = parse(console)
        if 'skipped' in runs:
            rows.append((arch, kernel, 'skipped: ' + runs['skipped'][0].get('reason', '')))
            continue
        modes = ('ceiling', 'sync', 'async')
        n = min(len(runs.get(m, [])) for m in modes)
        if not n:
            rows.append((arch, kernel, f'no result (see {console})'))
            bad = True
            continue
        work = {m: [int(r['work']) for r in runs[m][:n]] for m in modes}
        c, s, a = (statistics.median(work[m]) for m in modes)
        per_round = [recovered(*w) for w in zip(*(work[m] for m in modes))]
        per_round = [r for r in per_round if r is not None]
        rec = recovered(c, s, a)
        asyncs = runs['async'][:n]
        np_ = sum(int(r['not_present']) for r in asyncs)
        notif = np_ + sum(int(r['ready']) - int(r['wake_all']) for r in asyncs)
        exits = sum(int(r['exits']) for r in asyncs)
        rows.append((arch, kernel, {
            'delay': f"{int(asyncs[0]['delay_us']) / 1000:g} ms",
            'rounds': n,
            'ceiling': f'{c:.0f}', 'sync': f'{s:.0f}', 'async': f'{a:.0f}',
            'ratio': f'{a / s:.2f}x' if s else 'n/a',
            'recovered': (f'{rec:.0f}% ({min(per_round):.0f}-{max(per_round):.0f})'
                          if rec is not None and per_round else 'n/a'),
            'faults': np_,
            'exits': f"{exits / np_:.2f}" if np_ else 'n/a',
            'notif': f'{notif / np_:.2f}' if np_ else 'n/a',
            'release': asyncs[0]['kernel'],
        }))

    hdr = ('arch', 'kernel', 'delay', 'rounds', 'ceiling', 'sync', 'async',
           'async/sync', 'recovered', 'async faults', 'exits/fault',
           'notif/fault')
    print('  '.join(f'{h:>12}' for h in hdr))
    for arch, kernel, r in rows:
        if isinstance(r, str):
            print(f'{arch:>12}  {kernel:>12}  {r}')
            continue
        vals = (arch, kernel, r['delay'], r['rounds'], r['ceiling'], r['sync'],
                r['async'], r['ratio'], r['recovered'], r['faults'], r['exits'],
                r['notif'])
        print('  '.join(f'{str(v):>12}' for v in vals))
    print('work = guest compute units in the window, median of the rounds; '
          'one boot per kernel, runs side by side')
    kernels = {}
    for arch, kernel, _ in rows:
        kernels.setdefault(arch, set()).add(kernel)
    for arch in sorted(a for a, k in kernels.items() if 'base' not in k):
        print(f'{arch}: no base row, the unmodified kernel has no async PF '
              'there')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
