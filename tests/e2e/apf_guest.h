/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest side of async page faults, behind one interface for every arch,
 * so that the e2e tests are written once: this arch-neutral half is
 * apf_guest.c; the arch half (apf_arch.h) is ARCH/apf_arch.c, the way the
 * KVM selftests library splits lib/ucall_common.c and lib/ARCH/ucall.c.
 * Both are linked into every e2e program (Makefile.apf).
 *
 * The guest "parks" the faulting task by running other work inside the
 * "not present" handler, with interrupts on, until the "page ready" for its
 * token arrives (or, in APF_MODE_DISABLE, by turning async PF off at once).
 * Everything the guest saw is logged in its vCPU's apf_logs entry for the
 * host to check.
 */
#ifndef APF_GUEST_H
#define APF_GUEST_H

#include <linux/compiler.h>
#include "kvm_util.h"
#include "apf_arch.h"

#define APF_MAX_LOG	512
#define APF_WAKE_ALL	0xffffffffu

/* GUEST_SYNC3(APF_SYNC_ERROR, token, status): a "ready" came with an error. */
#define APF_SYNC_ERROR	0xe1

enum apf_mode {
	APF_MODE_PARK,		/* run other work until "page ready" */
	APF_MODE_DISABLE,	/* turn async PF off in the first "not present" */
	APF_MODE_REPORT,	/* tell the host the token, then park */
	APF_MODE_IDLE,		/* idle once (wait for an interrupt), retry */
	APF_MODE_HALT,		/* a single task: idle until "page ready" */
};

struct apf_vcpu_log {
	u64 not_present;	/* "not present" notifications */
	u64 ready;		/* "page ready" notifications, wake-alls too */
	u64 wake_all;		/* of which wake-all */
	u64 unexpected;		/* notifications that made no sense */
	u64 work;		/* units of other work done while parked */
	u64 errors;		/* "page ready" with an error status */
	u64 batches;		/* rings drained (apf_want_ring), one ack each */
	u64 batch_max;		/* the most entries one drain took */
	u64 ve;			/* "not present" as #VE, arm64's abort */
	u32 np_token[APF_MAX_LOG];
	u64 np_addr[APF_MAX_LOG];	/* where the arch reports it, else 0 */
	u32 ready_token[APF_MAX_LOG];
	u32 ready_status[APF_MAX_LOG];
	u64 work_during[APF_MAX_LOG];	/* per "not present" */
};

/*
 * Each vCPU's log (apf_my_log()); apf_log is vCPU 0's, the only one in
 * every test but the bench's scale runs.
 */
extern struct apf_vcpu_log apf_logs[APF_MAX_VCPUS];
#define apf_log apf_logs[0]

/* Guest: this vCPU's log. */
static inline __maybe_unused struct apf_vcpu_log *apf_my_log(void)
{
	return &apf_logs[apf_vcpu()];
}

extern enum apf_mode apf_mode;
extern bool apf_want_errors;	/* opt in to "ready" with an error status */
extern bool apf_want_ring;	/* opt in to batched "page ready" */
/*
 * x86: end "page ready" with PV EOI (MSR_KVM_PV_EOI_EN), as a Linux guest on
 * KVM does, not with an x2APIC EOI that exits; arm64's GIC EOI never exits.
 */
extern bool apf_want_pv_eoi;
/*
 * Opt in to "not present" as a synchronous exception with the token under
 * a busy word, kernel mode too (no SEND_ALWAYS): x86's #VE, arm64's abort
 * (KVM_APF_ARM64_DELIVERY_AS_ABORT); "#VE" below means either.
 */
extern bool apf_want_ve;
/*
 * With apf_want_ve: the first #VE reads this address (another missing page)
 * into apf_ve_busy_value before it clears the busy word; 0: none.
 */
extern u64 apf_ve_busy_touch;
extern u64 apf_ve_busy_value;

/* Host, after sync_global_from_guest(): how many "ready" named @token. */
static inline __maybe_unused u64 apf_log_readied(u32 token)
{
	u64 i, n = 0;

	for (i = 0; i < apf_log.ready && i < APF_MAX_LOG; i++)
		n += apf_log.ready_token[i] == token;
	return n;
}

/* The "page ready" handler does not acknowledge (arm64: masks the PPI). */
extern bool apf_no_ack;
/* Per vCPU: the last token woken (apf_guest_woken()). */
extern u32 apf_woken[APF_MAX_VCPUS];

#define APF_PARK_CHUNK	256

/**
 * apf_guest_compute() - Guest: the guest's "other work".
 * @n: units of a fixed loop
 *
 * The same whether the guest computes between touches or while a touch is
 * parked, so that work counts alike in both (apf_bench).
 * Return: the units done.
 */
u64 apf_guest_compute(u64 n);

/*
 * A parked fault whose "ready" carries an error reports it to the host with
 * GUEST_SYNC3(APF_SYNC_ERROR, token, status) (where a Linux guest would
 * send SIGBUS), then retries the access when the host resumes it.
 */

/**
 * apf_guest_parked() - Guest, from the arch's "not present" handler: log it,
 * then do what apf_mode says.
 * @token: the fault's token
 * @addr: the faulting address where the arch reports it, else 0
 */
void apf_guest_parked(u32 token, u64 addr);

/**
 * apf_guest_abandoned() - Guest, from the arch's "not present" handler for
 * guest_touch_nowait()'s access: log it as apf_guest_parked() does, whatever
 * apf_mode, and return at once (no work logged for it).
 * @token: the fault's token
 * @addr: the faulting address where the arch reports it, else 0
 */
void apf_guest_abandoned(u32 token, u64 addr);

/**
 * apf_guest_ve_busy() - Guest, from the arch's #VE handler (x86 #VE, arm64
 * abort) before it clears the busy word: count the #VE, and with
 * apf_ve_busy_touch, touch that address (another missing page) with
 * interrupts on, which KVM must resolve without a second #VE: the token
 * under the busy word stays.
 * @np_token: the area's np_token
 * @token: what it held at the #VE
 */
void apf_guest_ve_busy(const u32 *np_token, u32 token);

/**
 * apf_guest_woken() - Guest, from the arch's "page ready" handler: log it
 * and wake what it names.
 * @token: the token, or APF_WAKE_ALL
 * @status: its error status (0: none)
 */
void apf_guest_woken(u32 token, u32 status);

/*
 * Per vCPU (apf_vcpu()): its shared area, guest virtual and physical; the
 * vCPUs there are.  Set by apf_guest_vm_setup().
 */
extern void *apf_areas[APF_MAX_VCPUS];
extern u64 apf_area_gpas[APF_MAX_VCPUS];
extern u32 apf_nr_vcpus;

/**
 * apf_guest_vm_setup() - Host, from apf_arch_vm_setup(): a shared area for
 * each vCPU of @vm (at most APF_MAX_VCPUS, ids below it), and the opt-ins
 * (apf_want_*) into the guest.
 * @vm: the VM, its vCPUs created
 */
void apf_guest_vm_setup(struct kvm_vm *vm);

/* Bytes of a fresh area: with the ring after it (batched), or without. */
#define APF_AREA_BYTES(ring)	(sizeof(struct kvm_apf_shared) +	\
				 ((ring) ? sizeof(struct kvm_apf_ready_ring) : 0))

/**
 * apf_ring_drain() - Guest: every entry of the ring after @area, in order,
 * to @take; then the ring says they are taken (the caller acknowledges).
 * @area: the shared area (struct kvm_apf_shared), the ring follows it
 * @take: called with each entry's token and status
 * Return: the entries taken.
 */
u32 apf_ring_drain(void *area, void (*take)(u32 token, u32 status));

/** apf_ring_pending() - Guest: the ring after @area has entries to take. */
bool apf_ring_pending(void *area);

/**
 * apf_guest_ring_drain() - Guest, from the arch's "page ready" handler with
 * apf_want_ring: every entry of the ring after @area, apf_guest_woken() for
 * each; the caller acknowledges once.
 * @area: the shared area (struct kvm_apf_shared), the ring follows it
 */
void apf_guest_ring_drain(void *area);

#endif /* APF_GUEST_H */
