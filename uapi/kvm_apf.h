/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * KVM asynchronous page faults: every uAPI and guest ABI number of the
 * cross-architecture layer, in one place.
 *
 * PROVISIONAL: none of these numbers is merged upstream.  Each is chosen
 * clear of the numbers upstream and the unmerged async PF, KVM Userfault and
 * error-reporting series have used, and may change until it is merged.
 * Documentation/virt/kvm/apf/index.rst describes each one.
 */
#ifndef _UAPI_LINUX_KVM_APF_H
#define _UAPI_LINUX_KVM_APF_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * The capability (KVM_CHECK_EXTENSION on /dev/kvm or a VM): the layer's
 * features on this host, as a bitmask of KVM_APF_FEATURE_*.  Upstream's
 * capabilities are numbered densely from 0 (238 in 6.12); this one is far
 * above any of them.
 */
#define KVM_CAP_APF_FEATURES		0x4150	/* "AP" */

/* Kernel-resolved async page faults with guest notifications. */
#define KVM_APF_FEATURE_ASYNC_PF	_BITUL(0)
/*
 * An unresolvable fault makes KVM_RUN fail with EFAULT and exit_reason
 * KVM_EXIT_MEMORY_FAULT, memory_fault.flags including
 * KVM_MEMORY_EXIT_FLAG_ERROR, and memory_fault.error set.
 */
#define KVM_APF_FEATURE_ERROR_EXIT	_BITUL(1)
/*
 * A guest may opt in to "page ready" with an error status instead of the
 * exit, once the VMM allowed it with KVM_ENABLE_CAP(KVM_CAP_APF_FEATURES).
 */
#define KVM_APF_FEATURE_GUEST_ERROR	_BITUL(2)

/* The features a VMM may enable with KVM_ENABLE_CAP (args[0]). */
#define KVM_APF_FEATURES_ENABLE		KVM_APF_FEATURE_GUEST_ERROR

/*
 * KVM_CHECK_EXTENSION on a VM: the features the VMM enabled on it with
 * KVM_ENABLE_CAP(KVM_CAP_APF_FEATURES) (0 on a new VM, and on /dev/kvm).
 */
#define KVM_CAP_APF_FEATURES_ENABLED	0x4151

/*
 * KVM_APF_COMPLETE (vCPU ioctl): complete an async fault by its token.
 * @token: the fault's token (kvm_run.memory_fault.token of its exit)
 * @status: 0, or a negative errno
 * @flags: 0
 * For a fault whose failure KVM holds for the VMM (KVM_RUN exits with
 * KVM_MEMORY_EXIT_FLAG_ERROR and that token on every entry), a negative
 * @status gives up on it: the next KVM_RUN tells the guest "page ready"
 * without retrying, and the guest's retry of the access becomes a
 * synchronous fault with its own exit (token 0), where the VMM can inject a
 * machine check or an external abort.  Errors: ENOENT, no such fault in
 * flight; EBUSY, KVM is still resolving it; EINVAL, bad @status or @flags.
 * The number is far above upstream's vCPU ioctls (0xd5 in 6.12).
 */
struct kvm_apf_completion {
	__u32 token;
	__s32 status;
	__u32 flags;
	__u32 pad;
};

#define KVM_APF_COMPLETE	_IOW(0xAE /* KVMIO */, 0xf1, \
				     struct kvm_apf_completion)

/*
 * kvm_run.memory_fault.flags: the fault could not be resolved;
 * memory_fault.error holds the (positive) errno.  Upstream uses bit 3
 * (PRIVATE), unmerged series bits 4 and 5; the layer's bits start at 32.
 */
#define KVM_MEMORY_EXIT_FLAG_ERROR	_BITULL(32)

/*
 * The per-vCPU area shared with the guest, the same on every architecture
 * (x86: struct kvm_vcpu_pv_apf_data, whose pad the status is carved from).
 * @reason: why the guest was notified: KVM_APF_REASON_NOT_PRESENT; the
 *	guest writes 0 once it has read it
 * @token: the token of the "page ready" being delivered; the guest writes 0
 *	once it has read it (and @status)
 * @status: with "page ready" to a guest that opted in to error status: 0,
 *	or the positive errno saying why the page will never be present
 * @np_token: the token of the "page not present" being delivered, where the
 *	notification has no register to carry it (arm64's SDEI event; x86
 *	passes it in CR2 and leaves this 0)
 * @np_addr: with @np_token, the guest virtual address that faulted, where
 *	the architecture reports it to the host (arm64: FAR, 0 when the
 *	syndrome says it is not valid), so that a guest can name the address
 *	when the page comes back with an error; x86 leaves it 0 (AMD's nested
 *	page fault does not report it), and the guest decodes the instruction
 * @pad: reserved, 0
 */
struct kvm_apf_shared {
	__u32 reason;
	__u32 token;
	__u32 status;
	__u32 np_token;
	__u64 np_addr;
	__u8 pad[40];
};

#define KVM_APF_REASON_NOT_PRESENT	1	/* x86: KVM_PV_REASON_PAGE_NOT_PRESENT */

/*
 * x86 guest ABI.
 * MSR_KVM_ASYNC_PF_EN bit 4 (reserved until now): deliver "page ready" with
 * @status.  Needs interrupt delivery (bit 3) and, unless bit 4 is set
 * already, the VMM's KVM_APF_FEATURE_GUEST_ERROR; otherwise the write takes
 * a #GP.
 * CPUID 0x40000001 EAX bit 20: the host offers it (upstream uses bits 0-17
 * and 24).
 */
#define KVM_ASYNC_PF_ERROR_STATUS	_BITUL(4)
#define KVM_FEATURE_ASYNC_PF_ERROR	20

/*
 * arm64 guest ABI: one SMCCC vendor-hypervisor call (fast, SMC64; the
 * function number is upstream's numbering, whose bit N in the
 * ARM_SMCCC_VENDOR_HYP_KVM_FEATURES reply says the call exists: 0-1 are
 * KVM's, 2-63 pKVM's, 64-65 the errata discovery calls; 96 is in x3 bit 0),
 * with a sub-function in x1:
 *   INFO    -> x0 0, x1 KVM_APF_ARM64_INFO_*, x2 the SDEI event, x3 the PPI
 *   ENABLE  x2 = 64-byte aligned gpa of struct kvm_apf_shared | enable bits
 *           -> x0 0, or -3 (INVALID_PARAMETER; nothing changed)
 *   ACK     the guest read the "page ready" in the area -> x0 0
 * Unknown sub-functions give -1 (NOT_SUPPORTED).  A VMM hides the calls,
 * the SDEI ones and the registers below by clearing
 * KVM_REG_ARM_VENDOR_HYP_BIT_APF in the KVM_REG_ARM_VENDOR_HYP_BMAP firmware
 * register before the VM first runs (as KVM_REG_ARM_VENDOR_HYP_BIT_PTP hides
 * PTP), e.g. to migrate to a host without them; upstream's
 * KVM_ARM_VM_SMCCC_FILTER is consulted first as well.
 */
#define KVM_REG_ARM_VENDOR_HYP_BIT_APF	63	/* upstream uses bits 0-1 */

#define KVM_APF_ARM64_FUNC		96
#define KVM_APF_ARM64_FUNC_ID		0xc6000060	/* fast, SMC64, vendor hyp */
#define KVM_APF_ARM64_INFO		0
#define KVM_APF_ARM64_ENABLE		1
#define KVM_APF_ARM64_ACK		2

/* INFO x1: the guest may opt in to error status (the VMM allowed it). */
#define KVM_APF_ARM64_INFO_ERROR_STATUS	_BITUL(0)

/* ENABLE x2 low bits, the same bit for the same meaning as on x86. */
#define KVM_APF_ARM64_ENABLED		_BITUL(0)
#define KVM_APF_ARM64_SEND_ALWAYS	_BITUL(1)	/* also at EL1 */
#define KVM_APF_ARM64_ERROR_STATUS	_BITUL(4)
#define KVM_APF_ARM64_ENABLE_BITS	(KVM_APF_ARM64_ENABLED | \
					 KVM_APF_ARM64_SEND_ALWAYS | \
					 KVM_APF_ARM64_ERROR_STATUS)

/*
 * "Page not present" is this private SDEI event (KVM implements the SDEI
 * calls Linux's arm_sdei driver needs for it, over HVC or SMC); "page ready"
 * is a PPI, level, raised until the guest's ACK.
 */
#define KVM_APF_ARM64_SDEI_EVENT	0x40400001
#define KVM_APF_ARM64_DEFAULT_PPI	17

/*
 * The state live migration carries, as firmware pseudo-registers
 * (KVM_GET_ONE_REG/KVM_SET_ONE_REG on a vCPU, listed by KVM_GET_REG_LIST):
 * KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_FW | index.  Upstream's
 * firmware registers use indexes 0-3; these are far above.
 */
#define KVM_REG_ARM_APF(idx)		(0x6030000000140000ULL | (idx))
#define KVM_REG_ARM_APF_CTRL		KVM_REG_ARM_APF(0x4150)	/* ENABLE's x2 */
#define KVM_REG_ARM_APF_PPI		KVM_REG_ARM_APF(0x4151)	/* 16-31 */
#define KVM_REG_ARM_APF_SDEI_EP		KVM_REG_ARM_APF(0x4152)	/* entry */
#define KVM_REG_ARM_APF_SDEI_ARG	KVM_REG_ARM_APF(0x4153)
#define KVM_REG_ARM_APF_SDEI_STATE	KVM_REG_ARM_APF(0x4154)
/* While the handler runs: the interrupted x0-x17, PC and PSTATE. */
#define KVM_REG_ARM_APF_SDEI_CTX(n)	KVM_REG_ARM_APF(0x4160 + (n))
#define KVM_APF_SDEI_CTX_REGS		20

/* KVM_REG_ARM_APF_SDEI_STATE bits */
#define KVM_APF_SDEI_REGISTERED		_BITUL(0)
#define KVM_APF_SDEI_ENABLED		_BITUL(1)
#define KVM_APF_SDEI_RUNNING		_BITUL(2)
#define KVM_APF_SDEI_UNREGISTER_PENDING	_BITUL(3)
#define KVM_APF_SDEI_PE_UNMASKED	_BITUL(4)
#define KVM_APF_SDEI_STATE_BITS		0x1f

#endif /* _UAPI_LINUX_KVM_APF_H */
