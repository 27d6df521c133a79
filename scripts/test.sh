#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test.sh: for each arch, build the kernel and the e2e tests, run KUnit and
# the e2e tier; for each KUnit-only arch (KUNIT_ARCHES: s390), build and run
# KUnit; then the summary.  A failed step fails its tier (named in the
# summary) but the other arch and tiers still run.
set -uo pipefail
. "$(dirname "$0")/env.sh"
S=$REPO/scripts

fail_tier() {	# ARCH TIER MESSAGE
	printf '{"passed": 0, "failed": 1, "skipped": 0, "failures": ["%s %s: %s"]}\n' \
		"$1" "$2" "$3" > "$RES/$1-$2.json"
}

rm -rf "$RES" && mkdir -p "$RES"
# The KUnit-only arches run with the test kernels, not the other flavours.
[ -z "${KFLAVOUR:-}" ] || KUNIT_ARCHES=
"$S/tree.sh" || { for a in $ARCHES; do
	fail_tier "$a" kunit "overlay failed"; fail_tier "$a" e2e "overlay failed"
done; for a in $KUNIT_ARCHES; do fail_tier "$a" kunit "overlay failed"; done
export KUNIT_ARCHES
exec python3 "$S/summary.py" "$RES" $ARCHES $KUNIT_ARCHES; }

for a in $ARCHES; do
	echo "== $a"
	if ! "$S/build.sh" "$a"; then
		fail_tier "$a" kunit "kernel build failed"
		fail_tier "$a" e2e "kernel build failed"
		continue
	fi
	"$S/kunit.sh" "$a"
	# The Linux guest that the reference VMM boots in the e2e tier (L2).
	KFLAVOUR=bench "$S/build.sh" "$a" ||
		echo "test: $a bench kernel (the L2 guest) failed to build" >&2
	cpus=$("$S/e2e_list.sh" "$a" --cpus)
	# Boots of other kernel flavours ("ARCH+FLAVOUR"): the test kernels' run.
	flavours=
	[ -n "${KFLAVOUR:-}" ] || flavours=$("$S/e2e_list.sh" "$a" --flavours)
	if "$S/selftests.sh" "$a"; then
		"$S/e2e.sh" "$a"
		# The boots on other QEMU CPUs (tests/e2e.list "ARCH@CPU").
		for c in $cpus; do
			E2E_CPU=$c "$S/e2e.sh" "$a"
		done
		for f in $flavours; do
			if KFLAVOUR=$f "$S/build.sh" "$a"; then
				E2E_FLAVOUR=$f E2E_RES=$RES "$S/e2e.sh" "$a"
			else
				fail_tier "$a" "e2e+$f" "$f kernel build failed"
			fi
		done
	else
		fail_tier "$a" e2e "selftests build failed"
		for c in $cpus; do
			fail_tier "$a" "e2e@$c" "selftests build failed"
		done
		for f in $flavours; do
			fail_tier "$a" "e2e+$f" "selftests build failed"
		done
	fi
done
# KUnit-only arches (s390): the core on their ops, under QEMU.
for a in $KUNIT_ARCHES; do
	echo "== $a (KUnit only)"
	if "$S/build.sh" "$a"; then
		"$S/kunit.sh" "$a"
	else
		fail_tier "$a" kunit "kernel build failed"
	fi
done
echo "== summary (KTAP in ${RES#"$REPO"/}/)"
export KUNIT_ARCHES
exec python3 "$S/summary.py" "$RES" $ARCHES $KUNIT_ARCHES
