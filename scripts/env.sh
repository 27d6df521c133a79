# SPDX-License-Identifier: GPL-2.0
# Sourced by the other scripts: where things are, per-arch settings.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$REPO/.build}
# The pinned base: Debian's linux-source-6.12 (scripts/deps.sh installs it).
KBASE_DEB_VERSION=6.12.117-1~deb12u1
KBASE_TARBALL=/usr/src/linux-source-6.12.tar.xz
# KDIR names another pristine kernel tree to build against instead.
KDIR=${KDIR:-$BUILD/src/linux-source-6.12}
TREE=$BUILD/tree
# Test results; a kernel flavour's (KFLAVOUR, below) are its own.
RES=$BUILD/results${KFLAVOUR:+-$KFLAVOUR}
ARCHES=${ARCHES:-x86_64 arm64}
# Arches that only build and run the KUnit suites (no e2e tier).
KUNIT_ARCHES=${KUNIT_ARCHES-s390}
JOBS=${JOBS:-$(nproc)}
# ccache through its masquerade links, so CC stays "gcc" in .config; paths
# below the repository hashed relative to it, so that another clone (CI's)
# hits the same cache.
export PATH=/usr/lib/ccache:$PATH
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

arch_setup() {
	ARCH_NAME=$1
	OUT=$BUILD/$ARCH_NAME
	# L2_IMAGE: what the reference VMM (tests/vmm) boots, in a kernel's
	# output folder (the bench kernel's: no bug detectors, faster in L2).
	# KFLAVOUR: which kernel of the arch (scripts/build.sh): empty for the
	# test kernel (the bug detectors on), kcsan, or bench (none of them);
	# modules: the test kernel with KVM as modules (x86_64).
	case ${KFLAVOUR:-} in
	''|kcsan|bench|modules) ;;
	*) echo "unknown kernel flavour '$KFLAVOUR' (kcsan, bench, modules)" >&2
	   return 1 ;;
	esac
	# APF_KOUT: another output folder (scripts/export-check.sh's configs).
	KOUT=${APF_KOUT:-$OUT/kernel${KFLAVOUR:+-$KFLAVOUR}}
	case $ARCH_NAME in
	x86_64)
		KARCH=x86_64 SRCARCH=x86 CROSS= SELFTEST_DIR=x86_64
		KIMAGE=$KOUT/arch/x86/boot/bzImage
		L2_IMAGE=arch/x86/boot/bzImage
		QEMU=qemu-system-x86_64
		# -cpu max under TCG exposes AMD SVM with nested paging.  Without
		# XSAVE: with it (QEMU 7.2's TCG), an L2 guest's vector registers
		# change under it, async PF on or off (L2 init's
		# snapshot_vector_registers_kept: 12-29 times in a 3-round line,
		# 0 without XSAVE).
		QEMU_ARGS=(-machine q35 -cpu "${E2E_CPU:-max,-xsave}" -bios qboot.rom)
		CONSOLE=ttyS0 ;;
	arm64)
		KARCH=arm64 SRCARCH=arm64 CROSS=aarch64-linux-gnu- SELFTEST_DIR=aarch64
		KIMAGE=$KOUT/arch/arm64/boot/Image.gz
		L2_IMAGE=arch/arm64/boot/Image
		QEMU=qemu-system-aarch64
		# EL2 for the guest kernel so KVM comes up (VHE, vGICv3).
		QEMU_ARGS=(-machine virt,virtualization=on,gic-version=3
			   -cpu "${E2E_CPU:-max,pauth-impdef=on}")
		CONSOLE=ttyAMA0 ;;
	s390)	# Build and KUnit only: QEMU's TCG has no SIE, so no nested KVM.
		KARCH=s390 SRCARCH=s390 CROSS=s390x-linux-gnu- SELFTEST_DIR=s390x
		KIMAGE=$KOUT/arch/s390/boot/bzImage
		QEMU=qemu-system-s390x
		QEMU_ARGS=(-machine s390-ccw-virtio -cpu qemu)
		CONSOLE=ttyS0 ;;
	*)
		echo "unknown arch '$ARCH_NAME' (known: x86_64 arm64 s390)" >&2
		return 1 ;;
	esac
}
