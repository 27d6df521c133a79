#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench_report.py "ARCH KERNEL CONSOLE"...: the async PF benchmark table.

For each arch and kernel (ours, base): work done in the window for the
ceiling, sync and async runs (one boot, side by side), then
  async/sync   how much more work async PF got done than waiting
  recovered    (async - sync) / (ceiling - sync): the share of the time lost
               to the delay that async PF turned back into work
  exits/fault  vCPU exits per async fault in the async run
  notif/fault  notifications ("not present" + "ready", less the wake-all at
               enable) per async fault
Speed-independent counts come from the guest's log and KVM's vCPU stats."""
import re
import sys

LINE = re.compile(r'BENCH (.*)$')


def parse(console):
    runs = {}
    with open(console, errors='replace') as f:
        for l in f:
            m = LINE.search(l.strip())
            if m:
                kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', m.group(1)))
                runs[kv.get('mode', 'skipped')] = kv
    return runs


def main():
    rows, bad = [], False
    for arg in sys.argv[1:]:
        arch, kernel, console = arg.split()
        runs = parse(console)
        if 'skipped' in runs:
            rows.append((arch, kernel, 'skipped: ' + runs['skipped'].get('reason', '')))
            continue
        if not all(m in runs for m in ('ceiling', 'sync', 'async')):
            rows.append((arch, kernel, f'no result (see {console})'))
            bad = True
            continue
        c, s, a = (int(runs[m]['work']) for m in ('ceiling', 'sync', 'async'))
        ar = runs['async']
        np_ = int(ar['not_present'])
        notif = np_ + int(ar['ready']) - int(ar['wake_all'])
        rows.append((arch, kernel, {
            'delay': f"{int(ar['delay_us']) / 1000:g} ms",
            'ceiling': c, 'sync': s, 'async': a,
            'ratio': f'{a / s:.2f}x' if s else 'n/a',
            'recovered': f'{100 * (a - s) / (c - s):.0f}%' if c > s else 'n/a',
            'faults': np_,
            'exits': f"{int(ar['exits']) / np_:.2f}" if np_ else 'n/a',
            'notif': f'{notif / np_:.2f}' if np_ else 'n/a',
            'release': ar['kernel'],
        }))

    hdr = ('arch', 'kernel', 'delay', 'ceiling', 'sync', 'async', 'async/sync',
           'recovered', 'async faults', 'exits/fault', 'notif/fault')
    print('  '.join(f'{h:>12}' for h in hdr))
    for arch, kernel, r in rows:
        if isinstance(r, str):
            print(f'{arch:>12}  {kernel:>12}  {r}')
            continue
        vals = (arch, kernel, r['delay'], r['ceiling'], r['sync'], r['async'],
                r['ratio'], r['recovered'], r['faults'], r['exits'], r['notif'])
        print('  '.join(f'{str(v):>12}' for v in vals))
    print('work = guest compute units in the window; one boot per kernel, '
          'runs side by side')
    kernels = {}
    for arch, kernel, _ in rows:
        kernels.setdefault(arch, set()).add(kernel)
    for arch in sorted(a for a, k in kernels.items() if 'base' not in k):
        print(f'{arch}: no base row, the unmodified kernel has no async PF '
              'there')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
