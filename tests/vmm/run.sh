#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/vmm/run.sh [ARCH]: boot a Linux guest (L2) through the reference VMM
# inside the e2e VM (L1: QEMU TCG with nested KVM), and again after it
# resets (REFVMM_REBOOTS).  Work in progress,
# not part of `make test`: see tests/vmm/README.md.
#
# The L1 initramfs is the e2e harness's (/init runs /tests/list) with one
# line: the VMM, the L2 kernel image and the L2 initramfs (whose /init is
# tests/vmm/l2init.c).  The L1 console goes to $OUT/console.log.
# REFVMM_L1_FLAVOUR: the L1 kernel's flavour (default bench: no sanitizers,
# faster under TCG); REFVMM_L2_KERNEL: the L2 kernel image (default the
# bench kernel's bzImage or Image); REFVMM_TIMEOUT: the VMM's timeout for
# each L2 boot (default 240 s); REFVMM_CPUS: L2's vCPUs (default 2);
# REFVMM_REBOOTS: how many times the VMM boots L2 again when it resets
# (default 1).  The run passes if, every time, L2 brought up all its vCPUs,
# turned async PF on and reached user space, and L2's log has no
# WARNING/BUG/Oops/panic.  REFVMM_L2_ARGS: more for L2's command line
# (default kunit.enable=0); REFVMM_VMM_ARGS: VMM options (default -x on
# x86_64, none on arm64; see README.md).
set -euo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
# shellcheck disable=SC2034 # read by arch_setup
KFLAVOUR=${REFVMM_L1_FLAVOUR-bench}
arch_setup "${1:-x86_64}"
V=$REPO/tests/vmm
# Per arch: the L2 kernel image, the VMM's sources, L2's console and reset
# (x86: the 16550 at 0x3f8, a triple fault; arm64: the 16550 on MMIO from
# the device tree, PSCI SYSTEM_RESET), the VMM's default options.
case $ARCH_NAME in
x86_64)
	L2_IMAGE=bzImage
	L2_KERNEL=${REFVMM_L2_KERNEL:-$BUILD/$ARCH_NAME/kernel-bench/arch/x86/boot/bzImage}
	VMM_SRCS=("$V/vmm.c" "$V/x86_64.c")
	L2_BASE_ARGS="console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 reboot=t acpi=off"
	VMM_ARGS=${REFVMM_VMM_ARGS--x}
	# The VMM's report of the boot vCPU's MSR_KVM_ASYNC_PF_EN.
	APF_ON="vmm: vcpu 0: MSR_KVM_ASYNC_PF_EN = .* (async PF on)" ;;
arm64)
	L2_IMAGE=Image
	L2_KERNEL=${REFVMM_L2_KERNEL:-$BUILD/$ARCH_NAME/kernel-bench/arch/arm64/boot/Image}
	# The device tree is written with the kernel's own libfdt.
	LIBFDT=$REPO/.build/tree/scripts/dtc/libfdt
	VMM_SRCS=("$V/vmm.c" "$V/arm64.c" -I"$LIBFDT" "$LIBFDT"/fdt*.c)
	L2_BASE_ARGS="console=ttyS0 earlycon=uart8250,mmio,0x01000000 panic=-1"
	VMM_ARGS=${REFVMM_VMM_ARGS-}
	# The guest's (guest/arm64.c), once its SDEI event is registered.
	APF_ON="kvm-apf: async page faults on: SDEI event" ;;
*)
	echo "refvmm: no VMM for $ARCH_NAME (x86_64, arm64)" >&2
	exit 1 ;;
esac
T=${REFVMM_TIMEOUT:-240}
REBOOTS=${REFVMM_REBOOTS:-1}
OUT=$REPO/.build/$ARCH_NAME/refvmm
mkdir -p "$OUT"
CC=${CROSS}gcc

# tools/include: the kernel's compiler attributes for user space, as the
# selftests use them.
$CC -static -O2 -Wall -I"$REPO/.build/tree/tools/include" -o "$OUT/vmm" \
	"${VMM_SRCS[@]}" -lpthread
$CC -static -O2 -Wall -o "$OUT/l2init" "$V/l2init.c"
$CC -static -O2 -Wall -o "$OUT/init" "$REPO/tests/harness/init.c"

# L2's initramfs: /init only.
cat > "$OUT/l2.list" <<EOL
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $OUT/l2init 0755 0 0
EOL
"$KOUT/usr/gen_init_cpio" "$OUT/l2.list" > "$OUT/l2.cpio"

# L1's: the harness and one test, the VMM booting L2 (the harness runs it
# in /tests).  earlyprintk: L2's log from its first line.
L2_CMDLINE="$L2_BASE_ARGS ${REFVMM_L2_ARGS-kunit.enable=0}"
echo "refvmm_boot $(((T + 30) * (REBOOTS + 1))) vmm/vmm -c ${REFVMM_CPUS:-2} -r $REBOOTS -t $T ${VMM_ARGS:+$VMM_ARGS }-k vmm/$L2_IMAGE -i vmm/l2.cpio $L2_CMDLINE" \
	> "$OUT/list"
cat > "$OUT/l1.list" <<EOL
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /tests 0755 0 0
dir /tests/vmm 0755 0 0
file /init $OUT/init 0755 0 0
file /tests/list $OUT/list 0644 0 0
file /tests/vmm/vmm $OUT/vmm 0755 0 0
file /tests/vmm/$L2_IMAGE $L2_KERNEL 0644 0 0
file /tests/vmm/l2.cpio $OUT/l2.cpio 0644 0 0
EOL
"$KOUT/usr/gen_init_cpio" "$OUT/l1.list" > "$OUT/l1.cpio"

echo "refvmm: booting $ARCH_NAME L1 ($KIMAGE) in QEMU, L2 through the VMM"
set +e
timeout --foreground -k 10 $(((T + 60) * (REBOOTS + 1) + 60)) "$QEMU" -nodefaults -nographic \
	-no-reboot "${QEMU_ARGS[@]}" -smp 2 -m 2G -monitor none -serial stdio \
	-kernel "$KIMAGE" -initrd "$OUT/l1.cpio" \
	-append "console=$CONSOLE loglevel=5 panic=-1 kunit.enable=0" \
	< /dev/null > "$OUT/console.log" 2>&1
rc=$?
set -e
echo "refvmm: QEMU exit $rc, console in $OUT/console.log"
# L2's part of the console, and what each boot must have shown.
awk '/running refvmm_boot/,0' "$OUT/console.log" > "$OUT/l2.log"
count() { grep -ac -- "$1" "$OUT/l2.log" || true; }
boots=$((REBOOTS + 1))
ups=$(count "L2 user space up")
smp=$(count "smp: Brought up 1 node, ${REFVMM_CPUS:-2} CPU")
apf=$(count "$APF_ON")
bad=$(grep -aE "WARNING:|BUG:|Oops|Kernel panic|Call trace:" "$OUT/l2.log" || true)
echo "refvmm: L2 reached user space $ups time(s) of $boots; all" \
	"${REFVMM_CPUS:-2} vCPUs up $smp time(s); async PF on $apf time(s)"
[ -z "$bad" ] || { echo "refvmm: L2 warned or crashed:"; echo "$bad"; }
[ "$ups" -eq $boots ] && [ "$smp" -eq $boots ] && [ "$apf" -eq $boots ] &&
	[ -z "$bad" ]
