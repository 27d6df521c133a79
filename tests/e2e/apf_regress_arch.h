/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * apf_regress_test's arch half, in ARCH/apf_regress_arch.c, linked into
 * that program only: a load made on another stack (every arch), whether
 * "page ready" is pending (arm64), and the
 * guest and host halves of the two x86-only regressions (an NMI in the
 * window before the "not present" handler reads CR2 and the reason; an SMI
 * while a fault is in flight), which only x86_64/apf_regress_arch.c has.
 */
#ifndef APF_REGRESS_ARCH_H
#define APF_REGRESS_ARCH_H

#include "kvm_util.h"

/**
 * apf_touch_on_stack() - Guest: load the u64 at @gva with the stack pointer
 * at @stack_top, so that the "not present" of the load is handled on that
 * stack (x86: its #PF frame is pushed there; arm64: the SDEI handler,
 * entered at EL1h, runs on SP_EL1).
 * @gva: what to load
 * @stack_top: the stack pointer meanwhile
 *
 * Return: the value loaded.
 */
u64 apf_touch_on_stack(u64 gva, u64 stack_top);

/* arm64 only: */

/**
 * regress_ready_pending() - Guest: is "page ready" pending on this vCPU,
 * as its redistributor says (GICR_ISPENDR0), whether masked or not?
 *
 * Return: its pending bit.
 */
bool regress_ready_pending(void);

/* x86 only: */

/* GUEST_SYNC3(REGRESS_SYNC_PF_WINDOW, cr2, reason): in the #PF handler. */
#define REGRESS_SYNC_PF_WINDOW	0xd1

/* NMIs the guest took, and what its NMI handler loaded. */
extern u64 regress_nmis;
extern u64 regress_nmi_value;

/**
 * regress_nmi_setup() - Host: install a "not present" handler that stops in
 * its window (GUEST_SYNC3(REGRESS_SYNC_PF_WINDOW, ...)) and checks CR2 and
 * the reason after it, and an NMI handler that loads from @nmi_gva.
 * @vm: the VM, after apf_arch_vm_setup()
 * @nmi_gva: what the NMI handler loads
 */
void regress_nmi_setup(struct kvm_vm *vm, u64 nmi_gva);

/**
 * regress_smm_setup() - Host: SMRAM whose SMI handler only does RSM.
 * @vm: the VM
 * @vcpu: its vCPU (SMBASE)
 */
void regress_smm_setup(struct kvm_vm *vm, struct kvm_vcpu *vcpu);

/**
 * regress_smm_entered() - Host: did the vCPU go through SMM?
 * @vm: the VM
 *
 * Return: whether KVM wrote the state-save map.
 */
bool regress_smm_entered(struct kvm_vm *vm);

#endif /* APF_REGRESS_ARCH_H */
