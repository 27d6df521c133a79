#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# e2e.sh ARCH: pack the e2e tests into an initramfs, boot ARCH's kernel in
# QEMU with nested virtualisation, and turn the console into a KTAP report
# (.build/results/ARCH-e2e.ktap) and counts (ARCH-e2e.json).
# E2E_QEMU_EXTRA="ARGS": more QEMU options, for debugging (-s: a gdb stub on
# port 1234 to see where a hung kernel is).
# E2E_CPU=CPU: the boot on that QEMU CPU instead, with the tests/e2e.list
# lines for ARCH@CPU, reported as tier e2e@CPU.
# E2E_FLAVOUR=F: the boot of kernel flavour F (KFLAVOUR, built by
# scripts/build.sh) with the lines for ARCH+F and F's modules in
# /lib/modules, reported as tier e2e+F (in E2E_RES if given).
# Fails on a failing test, a guest that hangs, or a kernel WARN/BUG/panic.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ -z "${E2E_FLAVOUR:-}" ] || KFLAVOUR=$E2E_FLAVOUR
arch_setup "$1"
RES=${E2E_RES:-$RES}

# For other runs of the same machinery (scripts/bench.sh): another list of
# tests, another kernel image, another name for the outputs.
TAG=${E2E_TAG:-e2e${E2E_CPU:+@$E2E_CPU}${E2E_FLAVOUR:++$E2E_FLAVOUR}}
KIMAGE=${E2E_KIMAGE:-$KIMAGE}
E2E=$OUT/$TAG
mkdir -p "$E2E" "$RES"
CC=${CROSS}gcc
# kmemleak on for the leak check; E2E_KMEMLEAK= (empty) for runs that measure.
KMEMLEAK=${E2E_KMEMLEAK-kmemleak=on}

# /init: the harness, static.
$CC -static -O2 -Wall -o "$E2E/init" "$REPO/tests/harness/init.c"
if [ -n "${E2E_LIST:-}" ]; then
	cp "$E2E_LIST" "$E2E/list"
else
	"$REPO/scripts/e2e_list.sh" "$ARCH_NAME" ${E2E_CPU:+"$E2E_CPU"} \
		${E2E_FLAVOUR:+"+$E2E_FLAVOUR"} > "$E2E/list"
fi
# FUZZ_ITERS=N: the fuzzers' inputs (@FUZZ_ITERS@ in the list, default
# 100000); above the default their timeouts grow in proportion.
awk -v n="${FUZZ_ITERS:-100000}" '/@FUZZ_ITERS@/ {
		if (n > 100000) $2 = int($2 * n / 100000 + 0.5)
		gsub(/@FUZZ_ITERS@/, n) }
	{ print }' "$E2E/list" > "$E2E/list.new"
mv "$E2E/list.new" "$E2E/list"

# The initramfs, made by the kernel's own gen_init_cpio (no root needed).
progs=$(awk '{print $3}' "$E2E/list" | sort -u)
# A flavour's modules (KVM's, for KFLAVOUR=modules), without debug info.
mods=
if [ -n "${E2E_FLAVOUR:-}" ]; then
	mods=$(find "$KOUT" -name '*.ko' | sort)
	mkdir -p "$E2E/modules"
	for m in $mods; do
		${CROSS}strip --strip-debug -o "$E2E/modules/${m##*/}" "$m"
	done
fi
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "dir /tests 0755 0 0"
	for d in $(for p in $progs; do dirname "$p"; done | sort -u); do
		[ "$d" = . ] || echo "dir /tests/$d 0755 0 0"
	done
	echo "file /init $E2E/init 0755 0 0"
	echo "file /tests/list $E2E/list 0644 0 0"
	for p in $progs; do
		echo "file /tests/$p $OUT/selftests/$p 0755 0 0"
	done
	if [ -n "$mods" ]; then
		echo "dir /lib 0755 0 0"
		echo "dir /lib/modules 0755 0 0"
	fi
	for m in $mods; do
		echo "file /lib/modules/${m##*/} $E2E/modules/${m##*/} 0644 0 0"
	done
	# The reference VMM's guest: its initramfs and the bench kernel.
	if grep -qx vmm/vmm <<< "$progs"; then
		echo "file /tests/vmm/l2.cpio $OUT/selftests/vmm/l2.cpio 0644 0 0"
		echo "file /tests/vmm/kernel $OUT/kernel-bench/$L2_IMAGE 0644 0 0"
	fi
} > "$E2E/initramfs.list"
"$KOUT/usr/gen_init_cpio" "$E2E/initramfs.list" > "$E2E/initramfs.cpio"

# Whole-run timeout: the sum of the tests' timeouts plus boot time.
budget=$(awk '{s += $2} END {print s + 180}' "$E2E/list")
budget=${E2E_TIMEOUT:-$budget}
console=$E2E/console.log
echo "e2e: booting $ARCH_NAME kernel in QEMU (nested KVM, timeout ${budget}s)"
set +e
timeout --foreground -k 10 "$budget" "$QEMU" -nodefaults -nographic -no-reboot \
	"${QEMU_ARGS[@]}" ${E2E_QEMU_EXTRA:-} -smp 2 -m 4G -monitor none -serial stdio \
	-kernel "$KIMAGE" -initrd "$E2E/initramfs.cpio" \
	-append "console=$CONSOLE loglevel=5 panic=-1 kunit.enable=0 hugepages=16 $KMEMLEAK ${KERNEL_ARGS_EXTRA:-}" \
	< /dev/null > "$console" 2>&1
qemu_rc=$?
set -e
exec python3 "$REPO/scripts/e2e_report.py" --arch "$ARCH_NAME" \
	--console "$console" --qemu-rc "$qemu_rc" --timeout "$budget" \
	--ktap "$RES/$ARCH_NAME-$TAG.ktap" --json "$RES/$ARCH_NAME-$TAG.json" \
	--tier "$TAG" \
	${E2E_VERBOSE:+--verbose}
