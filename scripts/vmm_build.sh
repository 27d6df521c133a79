#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# vmm_build.sh ARCH DIR: build the reference VMM (tests/vmm) for ARCH,
# static, as DIR/vmm, and the initramfs of its test guest as DIR/l2.cpio
# (/init: tests/vmm/l2init.c).  Needs the uAPI headers of ARCH's kernel
# (KFLAVOUR's; scripts/selftests.sh makes them) and its gen_init_cpio.
set -euo pipefail
. "$(dirname "$0")/env.sh"
arch_setup "$1"
D=$2
V=$REPO/tests/vmm
mkdir -p "$D"
CC=${CROSS}gcc
srcs=("$V/vmm.c" "$V/mem.c" "$V/snapshot.c" "$V/testdev.c" "$V/$ARCH_NAME.c")
# tests/e2e: the bench's exit trace (apf_exit_trace.h), for "trace start".
inc=(-isystem "$KOUT/usr/include" -I"$TREE/tools/include" -I"$REPO/tests/e2e")
# arm64: the device tree, written with the kernel's own libfdt.
if [ "$ARCH_NAME" = arm64 ]; then
	inc+=(-I"$TREE/scripts/dtc/libfdt")
	srcs+=("$TREE"/scripts/dtc/libfdt/fdt{,_ro,_rw,_sw,_wip,_strerror}.c)
fi
$CC -static -O2 -Wall "${inc[@]}" -o "$D/vmm" "${srcs[@]}" -lpthread
$CC -static -O2 -Wall -I"$TREE/tools/include" -o "$D/l2init" "$V/l2init.c"
cat > "$D/l2.list" <<EOL
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $D/l2init 0755 0 0
EOL
"$KOUT/usr/gen_init_cpio" "$D/l2.list" > "$D/l2.cpio"
