#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# postcopy.sh: postcopy migrations of a Linux guest by a real VMM over our
# host code (issue 19).  Boots the x86_64 kernel as L1 in QEMU as
# scripts/e2e.sh does (nested SVM under TCG); L1's initramfs holds Debian's
# qemu-system-x86_64 with its libraries and firmware, the same kernel as L2
# with an initramfs whose /init is tests/postcopy/l2_writer.c, and
# tests/postcopy/driver.c as /init, which migrates L2 between two QEMUs in
# L1 with postcopy, RUNS times, and prints one KTAP line per migration.
#
# Variables:
#   RUNS=N                migrations (default 30)
#   POSTCOPY_BATCH=N      migrations per L1 boot (default 5; a run that
#                         kills L1 loses only the rest of its batch)
#   POSTCOPY_L2_ARGS=...  extra L2 kernel arguments (e.g. no-kvmapf)
#   POSTCOPY_KIMAGE=...   another L1 kernel (default: ours)
#   POSTCOPY_L2_KIMAGE=.. another L2 kernel (default: the L1 kernel)
#   POSTCOPY_BW=MiB/s     max-postcopy-bandwidth (default 8)
#   POSTCOPY_MEM=MiB      L2 memory (default 512); POSTCOPY_MIB: the L2
#                         writers' buffer, all writers together (default 200)
#   POSTCOPY_WRITERS=N    L2 writer processes (default 2)
#   POSTCOPY_TAG=NAME     names the logs and results (default postcopy)
#   POSTCOPY_LOCK=FILE    flock FILE around each L1 boot (a shared machine)
# Results: .build/results/x86_64-$TAG.ktap; logs (each L1 boot's console,
# boot-N.log, and QEMU's CPU state at each reset of L1, cpu-N.log: a triple
# fault of L1 shows where it was): .build/x86_64/$TAG/.  Exits non-zero if any migration failed.
set -euo pipefail
. "$(dirname "$0")/env.sh"
arch_setup x86_64

RUNS=${RUNS:-30}
BATCH=${POSTCOPY_BATCH:-5}
TAG=${POSTCOPY_TAG:-postcopy}
KIMAGE=${POSTCOPY_KIMAGE:-$KIMAGE}
L2_KIMAGE=${POSTCOPY_L2_KIMAGE:-$KIMAGE}
W=$OUT/$TAG
RES=$BUILD/results
mkdir -p "$W" "$RES"
rm -f "$W"/boot-*.log "$W"/cpu-*.log
for f in "$KIMAGE" "$L2_KIMAGE" "$KOUT/usr/gen_init_cpio"; do
	[ -f "$f" ] || { echo "postcopy: $f missing: run scripts/build.sh x86_64" >&2; exit 1; }
done
QEMU_BIN=$(command -v qemu-system-x86_64)
FW=/usr/share/qemu

# The two programs, static.
gcc -static -O2 -Wall -o "$W/driver" "$REPO/tests/postcopy/driver.c"
gcc -static -O2 -Wall -o "$W/l2_init" "$REPO/tests/postcopy/l2_writer.c"

# L2's initramfs.
cat > "$W/l2.list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $W/l2_init 0755 0 0
EOF
"$KOUT/usr/gen_init_cpio" "$W/l2.list" > "$W/l2.cpio"

# L1's: the driver, QEMU with every library ldd names and the loader, the
# firmware a q35 guest booted with -kernel needs, L2's kernel and initramfs.
cat > "$W/postcopy.conf" <<EOF
bw=${POSTCOPY_BW:-8}
mem=${POSTCOPY_MEM:-512}
smp=2
after=2
l2_args=l2_writers=${POSTCOPY_WRITERS:-2} l2_mib=${POSTCOPY_MIB:-200} ${POSTCOPY_L2_ARGS:-}
EOF
{
	for d in /dev /etc /l2 /usr /usr/bin /usr/share /usr/share/qemu /lib \
		 /lib/x86_64-linux-gnu /lib64; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /init $W/driver 0755 0 0"
	echo "file /etc/postcopy.conf $W/postcopy.conf 0644 0 0"
	echo "file /usr/bin/qemu-system-x86_64 $QEMU_BIN 0755 0 0"
	ldd "$QEMU_BIN" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
	sort -u | while read -r lib; do
		case $lib in
		/lib64/*) dst=$lib ;;
		*) dst=/lib/x86_64-linux-gnu/$(basename "$lib") ;;
		esac
		echo "file $dst $(readlink -f "$lib") 0755 0 0"
	done
	for f in qboot.rom linuxboot_dma.bin linuxboot.bin kvmvapic.bin; do
		echo "file /usr/share/qemu/$f $FW/$f 0644 0 0"
	done
	echo "file /l2/bzImage $L2_KIMAGE 0644 0 0"
	echo "file /l2/initramfs.cpio $W/l2.cpio 0644 0 0"
} > "$W/l1.list"
"$KOUT/usr/gen_init_cpio" "$W/l1.list" > "$W/l1.cpio"

echo "KTAP version 1"
echo "# postcopy: $RUNS runs, $BATCH per L1 boot; L1 ${KIMAGE#"$REPO"/}, L2 ${L2_KIMAGE#"$REPO"/}; L2 args '${POSTCOPY_L2_ARGS:-}'"
echo "1..$RUNS"
ktap=$RES/x86_64-$TAG.ktap
{ echo "KTAP version 1"; echo "1..$RUNS"; } > "$ktap"
declare -A count=([ok]=0 [oops]=0 [hang]=0 [corrupt]=0 [reset]=0 [error]=0 [l1]=0)
lock=()
[ -n "${POSTCOPY_LOCK:-}" ] && lock=(flock "$POSTCOPY_LOCK")
next=1
while [ "$next" -le "$RUNS" ]; do
	n=$((RUNS - next + 1))
	[ "$n" -gt "$BATCH" ] && n=$BATCH
	log=$W/boot-$next.log
	# The driver's own limits end a bad run well before this one.
	budget=$((n * 2400 + 300))
	t0=$(date +%s)
	set +e
	"${lock[@]}" timeout --foreground -k 10 "$budget" "$QEMU" -nodefaults \
		-nographic -no-reboot "${QEMU_ARGS[@]}" -smp 2 -m 4G \
		-d cpu_reset -D "$W/cpu-$next.log" \
		-monitor none -serial stdio -kernel "$KIMAGE" \
		-initrd "$W/l1.cpio" \
		-append "console=$CONSOLE loglevel=5 panic=-1 kunit.enable=0 pc_runs=$n pc_first=$next" \
		< /dev/null 2>&1 | sed -u 's/\r$//' | tee "$log" |
		grep --line-buffered -E '^(ok|not ok) |^# (run|first|dst|src|postcopy)|^# [a-z]+ l2: |Bail out'
	rc=${PIPESTATUS[0]}
	set -e
	t1=$(date +%s)
	done_runs=0
	while read -r line; do
		k=$(sed -E 's/.* run-([0-9]+) # .*/\1/' <<<"$line")
		cls=$(sed -E 's/.* run-[0-9]+ # ([a-z]+):.*/\1/' <<<"$line")
		count[$cls]=$((${count[$cls]:-0} + 1))
		sed -E "s/^(ok|not ok) [0-9]+ run-/\1 $k postcopy-run-/" <<<"$line" >> "$ktap"
		done_runs=$((done_runs + 1))
	done < <(grep -E '^(ok|not ok) [0-9]+ run-[0-9]+ # ' "$log" || true)
	if [ "$done_runs" -lt "$n" ]; then
		why="L1 ended early (QEMU rc $rc) after $done_runs of $n runs"
		{ grep -E 'BUG:|Oops|Kernel panic|WARNING:|Call Trace|terminating on signal' "$log" |
			grep -v '^# ' | head -5 | sed 's/^/# L1: /'; } || true
		tail -n 30 "$log" | sed 's/^/# L1 tail: /'
		grep -E 'Triple fault|^(RIP|EIP)=|^CR0=' "$W/cpu-$next.log" 2>/dev/null |
			tail -n 3 | sed 's/^/# L1 reset: /' || true
		for ((k = next + done_runs; k < next + n; k++)); do
			echo "not ok $k postcopy-run-$k # l1: $why" | tee -a "$ktap"
			count[l1]=$((count[l1] + 1))
		done
	fi
	echo "# postcopy: L1 boot for runs $next..$((next + n - 1)): $((t1 - t0))s"
	next=$((next + n))
done

failed=$((RUNS - count[ok]))
summary="postcopy: $RUNS runs: ok ${count[ok]}, oops ${count[oops]}, hang ${count[hang]}, corrupt ${count[corrupt]}, reset ${count[reset]}"
[ "${count[error]}" -gt 0 ] && summary+=", error ${count[error]}"
[ "${count[l1]}" -gt 0 ] && summary+=", L1 died ${count[l1]}"
# The two failures the base kernel shows too (issue 19's note): L2 shut
# down while a not-present #PF was being delivered to it (L1's last
# kvm_exit: reason shutdown, intr_info 0x80000b0e), and L1 itself triple
# faulting (QEMU's cpu_reset log).  Counted, not excused: they still fail.
pf_resets=$(cat "$W"/boot-*.log 2>/dev/null |
	grep -c 'reason shutdown .*intr_info 0x80000b0e' || true)
l1_tf=$(cat "$W"/cpu-*.log 2>/dev/null | grep -c 'Triple fault' || true)
summary+="; of these: L2 shut down delivering a #PF $pf_resets, L1 triple faults $l1_tf"
echo "# $summary" >> "$ktap"
echo "$summary"
[ "$failed" -eq 0 ]
