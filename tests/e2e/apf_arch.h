/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arch half of the e2e tests' guest side of async PF (apf_guest.h is
 * the arch-neutral half): what each arch implements in ARCH/apf_arch.c,
 * compiled and linked into every e2e program, the way the KVM selftests
 * library splits lib/ucall_common.c and lib/ARCH/ucall.c.
 *
 * x86 speaks the ABI a Linux guest does: the shared area and vector through
 * MSR_KVM_ASYNC_PF_EN/_INT, "not present" as a #PF, "page ready" as an
 * interrupt acknowledged through MSR_KVM_ASYNC_PF_ACK.  arm64: the SMCCC
 * vendor-hypervisor call gives KVM the area and acknowledges "page ready",
 * "not present" is an SDEI event, "page ready" a PPI.
 *
 * The arch's "not present" handler checks the notification and calls
 * apf_guest_parked(token, addr), with the faulting address where the host
 * reports it (apf_arch_fault_addr) and 0 elsewhere (apf_guest_abandoned()
 * for guest_touch_nowait()'s access, which it then resumes past); its "page ready"
 * handler reads token and status, calls apf_guest_woken(), then clears and
 * acknowledges them (unless apf_no_ack).
 */
#ifndef APF_ARCH_H
#define APF_ARCH_H

#include <stdbool.h>
#include "kvm_util.h"

/*
 * The most vCPUs a VM's guest side serves (the scale runs'), each with its
 * own shared area and log, numbered by vCPU id.
 */
#define APF_MAX_VCPUS	4

/**
 * apf_vcpu() - Guest: which vCPU this is (its id; 0 in a VM of one), for
 * its own shared area and log.  No exit: arm64 reads TPIDR_EL1, which the
 * selftests library sets to the id; x86 a word at GS's base, which
 * apf_arch_vm_setup() points at the vCPU's id when there are several.
 *
 * Return: 0 to APF_MAX_VCPUS - 1.
 */
u32 apf_vcpu(void);

/* Whether "not present" names the faulting address (arm64: yes, x86: no). */
extern const bool apf_arch_fault_addr;

/*
 * Whether a second fault on a gfn whose async fault is in flight halts the
 * vCPU until that fault's "page ready" (x86), or is synchronous (arm64).
 */
extern const bool apf_arch_dup_halts;

/*
 * KVM's tracepoint for a stage-2 fault (x86: a TDP fault) and the text in its
 * line before the faulting guest physical address.
 */
extern const char * const apf_arch_s2_fault_event;
extern const char * const apf_arch_s2_fault_gpa;

/* The error status opt-in bit of the enable word apf_vmm_get_enable() reads. */
extern const u64 apf_arch_en_error_status;

/**
 * apf_arch_unsupported() - Host: can this arch's KVM run the tests?
 *
 * Return: NULL, or why not (for SKIP()).
 */
const char *apf_arch_unsupported(void);

/**
 * apf_arch_vm_setup() - Host: install the guest's handlers, a shared area
 * per vCPU and apf_want_errors into @vm (after its vCPUs are created, at
 * most APF_MAX_VCPUS, ids below it).
 * @vm: the VM
 */
void apf_arch_vm_setup(struct kvm_vm *vm);

/**
 * guest_apf_enable() - Guest: enable async PF on this vCPU, with error
 * status if apf_want_errors, and interrupts.
 */
void guest_apf_enable(void);

/** guest_apf_disable() - Guest: disable async PF on this vCPU. */
void guest_apf_disable(void);

/** guest_irq_enable() - Guest: enable interrupts only. */
void guest_irq_enable(void);

/** guest_irq_disable() - Guest: disable interrupts only. */
void guest_irq_disable(void);

/**
 * guest_ready_mask() - Guest: keep "page ready" from being taken, or allow
 * it again (x86: software-disable the LAPIC; arm64: disable the PPI).
 * @mask: true to keep it out
 */
void guest_ready_mask(bool mask);

/**
 * guest_apf_idle() - Guest: idle once, bounded: wait for an interrupt or a
 * wake-up from KVM (x86 halts, woken by KVM when a fault completes; arm64
 * arms its virtual timer).
 */
void guest_apf_idle(void);

/**
 * guest_apf_wait() - Guest: wait for an interrupt and take it; interrupts
 * are disabled before and after, so one that arrives first is not missed
 * (x86: STI; HLT, whose interrupt shadow covers the HLT; arm64: WFI wakes
 * on a pending interrupt while PSTATE.I masks it, then unmask to take it).
 */
void guest_apf_wait(void);

/**
 * guest_touch_nowait() - Guest: read the u64 at @gva without waiting for it.
 * @gva: the address
 * @val: where the value goes, if the read completed
 *
 * If KVM says "not present" for this access, the arch's handler calls
 * apf_guest_abandoned() and the access is abandoned: the caller goes on, as
 * a guest runs another task while the faulting one sleeps; "page ready" for
 * the token comes later as usual.
 * Return: 0 if the read completed, else the token of its "not present".
 */
u32 guest_touch_nowait(u64 gva, u64 *val);

/** guest_apf_reenable() - Guest: enable async PF again, "page ready" allowed. */
void guest_apf_reenable(void);

/**
 * guest_apf_reenable_masked() - Guest: enable async PF again (KVM queues a
 * wake-all), "page ready" left as guest_ready_mask() left it.
 */
void guest_apf_reenable_masked(void);

/**
 * apf_guest_clock() - Guest: a counter that runs at a constant rate, read
 * without an exit (x86: the TSC; arm64: CNTVCT_EL0), for intervals of
 * which only ratios are used.
 *
 * Return: its value.
 */
u64 apf_guest_clock(void);

/**
 * guest_apf_try_enable_errors() - Guest: try to enable with error status.
 *
 * A refused enable must leave the state as it was.
 * Return: whether it was accepted.
 */
bool guest_apf_try_enable_errors(void);

/**
 * guest_apf_bad_enables() - Guest: try each malformed enable (reserved bits,
 * error status without the delivery it needs, an area in no memslot).
 *
 * Return: how many were accepted (should be 0).
 */
u64 guest_apf_bad_enables(void);

/**
 * apf_vmm_get_enable() - Host: the guest's enable word as the VMM sees it
 * (x86: MSR_KVM_ASYNC_PF_EN; arm64: KVM_REG_ARM_APF_CTRL), which migration
 * saves and restores.
 * @vcpu: the vCPU
 *
 * Return: the enable word.
 */
u64 apf_vmm_get_enable(struct kvm_vcpu *vcpu);

/**
 * apf_vmm_set_enable() - Host: restore the guest's enable word.
 * @vcpu: the vCPU
 * @val: the enable word
 *
 * Return: 0, or -EINVAL (x86: KVM_SET_MSRS set none) or KVM_SET_ONE_REG's
 * -errno (arm64) if KVM refused the value.
 */
int apf_vmm_set_enable(struct kvm_vcpu *vcpu, u64 val);

#endif /* APF_ARCH_H */
