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
 * kvm_run.memory_fault.flags: the fault could not be resolved;
 * memory_fault.error holds the (positive) errno.  Upstream uses bit 3
 * (PRIVATE), unmerged series bits 4 and 5; the layer's bits start at 32.
 */
#define KVM_MEMORY_EXIT_FLAG_ERROR	_BITULL(32)

/*
 * The per-vCPU area shared with the guest, the same on every architecture
 * (x86: struct kvm_vcpu_pv_apf_data, whose pad the status is carved from).
 * @reason: why the guest was notified (x86: 1 "page not present")
 * @token: the token of the "page ready" being delivered; the guest writes 0
 *	once it has read it (and @status)
 * @status: with "page ready" to a guest that opted in to error status: 0,
 *	or the positive errno saying why the page will never be present
 * @pad: reserved, 0
 */
struct kvm_apf_shared {
	__u32 reason;
	__u32 token;
	__u32 status;
	__u8 pad[52];
};

/*
 * x86 guest ABI.
 * MSR_KVM_ASYNC_PF_EN bit 4 (reserved until now): deliver "page ready" with
 * @status.  Needs interrupt delivery (bit 3) and the VMM's
 * KVM_APF_FEATURE_GUEST_ERROR; otherwise the write takes a #GP.
 * CPUID 0x40000001 EAX bit 20: the host offers it (upstream uses bits 0-17
 * and 24).
 */
#define KVM_ASYNC_PF_ERROR_STATUS	_BITUL(4)
#define KVM_FEATURE_ASYNC_PF_ERROR	20

#endif /* _UAPI_LINUX_KVM_APF_H */
