/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * apf_fuzz_uapi_test's arch half: the VMM's calls on the arch's registers,
 * each checked against api.rst, and the guest's handlers, in
 * ARCH/apf_fuzz_uapi_arch.c (x86: KVM_SET_MSRS/KVM_GET_MSRS of
 * MSR_KVM_ASYNC_PF_EN, _INT, _ACK; arm64: KVM_GET_ONE_REG/KVM_SET_ONE_REG
 * of the listed registers, the async PF ones and the vendor-hyp bitmap),
 * linked into that program only.
 */
#ifndef APF_FUZZ_UAPI_ARCH_H
#define APF_FUZZ_UAPI_ARCH_H

#include "kvm_util.h"

#define TEST_PAGES	4

/* The guest's side, shared with the host. */
extern u64 g_np;		/* "not present"s taken */
extern u64 g_area;		/* guest virtual address of the area, or 0 */
extern u64 g_ready;		/* "page ready"s taken */
extern u64 g_ring;		/* "page ready" comes in the ring after it */

void fzu_ring_take(u64 area);

extern u64 rng;			/* the host's PRNG */

/* The host's model of what the test can see. */
struct fzu_model {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	u64 ps;
	int features;
	u64 cap;		/* KVM_CAP_APF_FEATURES_ENABLED */
	bool slot;		/* the test slot exists */
	u64 trunc;		/* pages from here on are truncated */
	u64 val[TEST_PAGES];	/* what each page holds */
	u64 gpos;		/* the page the guest reads next */
	bool mmio;		/* the guest's read was an MMIO exit */
	u32 held;		/* the failure KVM holds (exited with), 0 if none */
	u32 tokens[256];	/* tokens exits named */
	u64 ntokens;
	u64 exits, runs, syncs, mmios, completes;
};

extern struct fzu_model m;

/** fzu_guest_init() - Guest: first thing, before the first read. */
void fzu_guest_init(void);
/** fzu_guest_poll() - Guest: after each read, take a "page ready" waiting. */
void fzu_guest_poll(void);

/**
 * fzu_arch_vm_setup() - Host: the area, the guest's handlers, the arch's
 * model read from KVM.
 * @vm: the VM
 * @vcpu: its vCPU
 */
void fzu_arch_vm_setup(struct kvm_vm *vm, struct kvm_vcpu *vcpu);
/** fzu_arch_op() - Host: one random call on the arch's registers, checked. */
void fzu_arch_op(struct kvm_vcpu *vcpu);
/** fzu_arch_before_run() - Host: before each KVM_RUN. */
void fzu_arch_before_run(struct kvm_vcpu *vcpu);
/** fzu_arch_ran() - Host: after each KVM_RUN. */
void fzu_arch_ran(struct kvm_vcpu *vcpu);
/** fzu_arch_check() - Host: KVM's registers are what the model says. */
void fzu_arch_check(struct kvm_vcpu *vcpu);
/** fzu_arch_report() - Host: the arch's counts, for the log. */
void fzu_arch_report(void);

#endif /* APF_FUZZ_UAPI_ARCH_H */
