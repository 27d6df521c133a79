#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# stress.sh [ROUNDS]: run the KUnit suites and the e2e tests ROUNDS times
# (default 20) on each arch in $ARCHES while two busy loops load the host,
# the condition under which QEMU's vCPUs get descheduled for long stretches.
# Every round's results are kept in .build/stress/ROUND/; the report gives,
# per arch and tier, the rounds that passed, and names every failed test
# with the rounds it failed in.  Exits non-zero if any round failed.
# STRESS_TIERS="kunit e2e" picks the tiers; KUNIT_FILTER works as for make
# test.
set -uo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts
ROUNDS=${1:-20}
TIERS=${STRESS_TIERS:-kunit e2e}
OUTDIR=$BUILD/stress
LOAD=${STRESS_LOAD:-2}

case $ROUNDS in
''|*[!0-9]*|0) echo "stress: ROUNDS must be a positive number, not '$ROUNDS'" >&2
	exit 2 ;;
esac
for t in $TIERS; do
	case $t in kunit|e2e) ;; *)
		echo "stress: unknown tier '$t' (kunit, e2e)" >&2; exit 2 ;;
	esac
done

"$S/tree.sh" || exit 1
for a in $ARCHES; do
	"$S/build.sh" "$a" || exit 1
	case " $TIERS " in *" e2e "*) "$S/selftests.sh" "$a" || exit 1 ;; esac
done

pids=()
stop_load() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap stop_load EXIT
for ((i = 0; i < LOAD; i++)); do
	( while :; do :; done ) &
	pids+=($!)
done
echo "stress: $ROUNDS rounds of '$TIERS' on $ARCHES, $LOAD busy loops on the host"

rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
start=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
	for a in $ARCHES; do
		for t in $TIERS; do
			t0=$SECONDS
			if [ "$t" = kunit ]; then
				"$S/kunit.sh" "$a" > "$OUTDIR/$a-$t-$r.log" 2>&1
			else
				"$S/e2e.sh" "$a" > "$OUTDIR/$a-$t-$r.log" 2>&1
			fi
			rc=$?
			cp "$RES/$a-$t.json" "$OUTDIR/$a-$t-$r.json" 2>/dev/null ||
				printf '{"passed": 0, "failed": 1, "failures": ["%s %s: no result"]}\n' \
					"$a" "$t" > "$OUTDIR/$a-$t-$r.json"
			echo "stress: round $r $a $t: rc $rc, $((SECONDS - t0)) s"
		done
	done
done
stop_load
echo "stress: $ROUNDS rounds in $((SECONDS - start)) s"
exec python3 - "$OUTDIR" "$ROUNDS" "$ARCHES" "$TIERS" <<'EOF'
import json, os, sys
out, rounds, arches, tiers = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
bad = {}
ok_all = True
print(f'{"arch":8} {"tier":6} {"rounds passed":>14} {"tests per round":>16}')
for a in arches:
    for t in tiers:
        good, n = 0, 0
        for r in range(1, rounds + 1):
            with open(os.path.join(out, f'{a}-{t}-{r}.json')) as f:
                j = json.load(f)
            n = max(n, j.get('passed', 0) + j.get('failed', 0))
            if j.get('failed', 0) == 0:
                good += 1
            for name in j.get('failures', []):
                bad.setdefault(name, []).append(r)
        ok_all &= good == rounds
        print(f'{a:8} {t:6} {f"{good}/{rounds}":>14} {n:>16}')
for name, rs in sorted(bad.items()):
    print(f'FAILED {name}: rounds {",".join(map(str, rs))}')
sys.exit(0 if ok_all else 1)
EOF
