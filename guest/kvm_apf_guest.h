/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of KVM asynchronous page faults, the same on every arch.
 *
 * The host tells a guest CPU "page not present" with a token when a task's
 * access must wait for the host to fetch the page, and later "page ready"
 * with the same token (and, if the guest opted in, a status: 0, or the
 * positive errno saying the page will never be there).  Meanwhile the task
 * sleeps here and the CPU runs others.  A "page ready" may arrive before
 * the task got to sleep; a wake-all (token ~0) wakes every task parked from
 * one CPU, when the host dropped that CPU's outstanding faults.  A guest
 * that opted in to batched "page ready" takes many at once from the ring
 * of completions after its shared area (kvm_apf_guest_ring_drain()).
 *
 * The arch code delivers the notifications; this is the table in between.
 */
#ifndef _LINUX_KVM_APF_GUEST_H
#define _LINUX_KVM_APF_GUEST_H

#include <linux/types.h>

#define KVM_APF_GUEST_WAKE_ALL	(~0u)

/**
 * struct kvm_apf_guest_fault - one "page not present", as it was told
 * @token: the host's token
 * @cpu: the CPU it was told to; a wake-all of that CPU covers it
 * @seq: that CPU's wake-all count then; a wake-all since then covers it
 *	even if the task was not yet asleep
 * @stamp: the count of early "page ready"s then; only a later one, not a
 *	stale one of an older fault with the same token, is this fault's
 */
struct kvm_apf_guest_fault {
	u32 token;
	int cpu;
	unsigned int seq;
	u64 stamp;
};

#ifdef CONFIG_KVM_APF_GUEST
void kvm_apf_guest_fault_init(struct kvm_apf_guest_fault *fault, u32 token);
u32 kvm_apf_guest_wait(const struct kvm_apf_guest_fault *fault);
u32 kvm_apf_guest_wait_in_place(const struct kvm_apf_guest_fault *fault,
				void (*halt)(void));
bool kvm_apf_guest_kernel_may_sleep(void);
void kvm_apf_guest_wake(u32 token, u32 status);
void kvm_apf_guest_wake_cpu(int cpu);
struct kvm_apf_ready_ring;
u32 kvm_apf_guest_ring_drain(struct kvm_apf_ready_ring *ring, bool errors);
#endif

#ifdef CONFIG_KVM_APF_GUEST_X86
struct pt_regs;
struct kvm_vcpu_pv_apf_data;
void kvm_apf_guest_x86_error(struct pt_regs *regs);
bool kvm_apf_guest_x86_ve(struct pt_regs *regs,
			  struct kvm_vcpu_pv_apf_data *area);
/* arch/x86/kernel/kvm.c's, for the #VE handler. */
bool kvm_handle_async_pf_ve(struct pt_regs *regs);
#else
struct pt_regs;
static inline bool kvm_handle_async_pf_ve(struct pt_regs *regs)
{
	return false;
}
#endif

/**
 * struct kvm_apf_guest_abort - arm64: an abort that may be KVM's
 * @fault: KVM's "page not present", if it is one
 * @status: what its "page ready" brought, if it waited in place
 * @wait: 0 if the abort is not KVM's (or the kernel has no async PF),
 *	else how the task waits for the page: asleep, or (kernel code that
 *	cannot schedule) in place on the CPU, done in the exception entry
 *
 * Filled by kvm_apf_guest_arm64_abort_take() in the exception entry, used
 * by kvm_apf_guest_arm64_abort() once interrupts are as they were.
 */
struct kvm_apf_guest_abort {
	struct kvm_apf_guest_fault fault;
	u32 status;
	u8 wait;
};

#define KVM_APF_GUEST_ABORT_SLEEP	1
#define KVM_APF_GUEST_ABORT_IN_PLACE	2

#ifdef CONFIG_KVM_APF_GUEST_ARM64
void kvm_apf_guest_arm64_crash(void);
void kvm_apf_guest_arm64_abort_take(struct kvm_apf_guest_abort *abort,
				    struct pt_regs *regs, unsigned long esr);
bool kvm_apf_guest_arm64_abort(struct kvm_apf_guest_abort *abort,
			       struct pt_regs *regs, unsigned long esr,
			       unsigned long far);
#else
static inline void kvm_apf_guest_arm64_crash(void) { }
static inline void
kvm_apf_guest_arm64_abort_take(struct kvm_apf_guest_abort *abort,
			       struct pt_regs *regs, unsigned long esr)
{
	abort->wait = 0;
}

static inline bool kvm_apf_guest_arm64_abort(struct kvm_apf_guest_abort *abort,
					     struct pt_regs *regs,
					     unsigned long esr,
					     unsigned long far)
{
	return false;
}
#endif

#endif /* _LINUX_KVM_APF_GUEST_H */
