/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * apf_fuzz_guest_test's arch half: the arch's ABI calls, each checked
 * against the guest's model of the state the ABI defines, in
 * ARCH/apf_fuzz_guest_arch.c (x86: MSR_KVM_ASYNC_PF_EN, _INT and _ACK;
 * arm64: the async PF SMCCC call and the SDEI calls), linked into that
 * program only.  Guest code unless marked "Host".
 */
#ifndef APF_FUZZ_GUEST_ARCH_H
#define APF_FUZZ_GUEST_ARCH_H

#include "kvm_util.h"

#define FZ_RING		64

/* The guest's view, shared with the host (sync_global_*). */
struct fz_state {
	u64 rng;		/* the guest's PRNG */
	u64 inputs;		/* inputs made */
	u64 target;		/* inputs to make */
	u64 batch_end;		/* sync with the host at this many */
	u64 vmm_errors;		/* the VMM allowed error status (host sets) */
	u64 np;			/* "not present" received */
	u64 ready;		/* "page ready" received, wake-alls too */
	u64 wake_all;
	u64 spurious;		/* "page ready" interrupts with token 0 */
	u64 drops;		/* the guest disabled with faults in flight */
	u64 touches;
	u64 rejected;		/* inputs the ABI rejected, as predicted */
	u64 parked_inputs;	/* inputs made while a fault was in flight */
	u64 parked;		/* token waited for, 0 if none */
	u64 woken;		/* its "page ready" came */
	u32 ring[FZ_RING];	/* the last "not present" tokens */
	u8 readied[FZ_RING];
};

extern struct fz_state fz;

/* The test's, for the arch's calls and handlers. */

/** fz_count() - One input made: @accepted, or rejected as predicted. */
void fz_count(bool accepted);
/** fz_spurious() - A "page ready" interrupt with nothing in the area. */
void fz_spurious(void);
/** fz_ready() - A "page ready" for @token with @status (interrupt or poll). */
void fz_ready(u32 token, u32 status);
/**
 * fz_take() - What "page ready" brought (no ack): every entry of the ring
 * after @a if @ring, else its slot (nothing there: spurious).
 */
struct kvm_apf_shared;
void fz_take(struct kvm_apf_shared *a, bool ring);
/**
 * fz_parked() - "Not present" for @token: wait for its "page ready" making
 * random calls; returns when it came or the guest dropped the fault.
 */
void fz_parked(u32 token);

/* The arch's. */

/* For a hang report: the name and value of the arch's enable state. */
const char *fz_arch_word(void);
u64 fz_arch_state(void);
/** fz_arch_token() - The token in the current area (hang report). */
u32 fz_arch_token(void);
void fz_irq_enable(void);
void fz_irq_disable(void);
/**
 * fz_arch_op() - One random ABI call, checked against the model.
 * @parked: made while a fault is in flight (in the "not present" handler)
 */
void fz_arch_op(bool parked);
/** fz_arch_setup() - A working configuration, as a Linux guest sets it up. */
void fz_arch_setup(void);
/** fz_arch_poll() - Take a "page ready" whose interrupt has not come (yet). */
void fz_arch_poll(void);
/** fz_arch_guest_init() - First thing in the guest: interrupts, vector. */
void fz_arch_guest_init(void);
/** fz_arch_unsupported() - Host: NULL, or why this KVM cannot be fuzzed. */
const char *fz_arch_unsupported(void);
/** fz_arch_vm_setup() - Host: the guest's handlers and areas into @vm. */
void fz_arch_vm_setup(struct kvm_vm *vm);
/** fz_arch_host_check() - Host: KVM's state is what the guest's model says. */
void fz_arch_host_check(struct kvm_vcpu *vcpu);

#endif /* APF_FUZZ_GUEST_ARCH_H */
