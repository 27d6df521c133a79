/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest side of async page faults, behind one interface for every arch,
 * so that the e2e tests are written once.  Each arch implements it in
 * ARCH/apf_arch.h, included below, the way the KVM selftests library
 * splits lib/ARCH/processor.c.
 *
 * The guest "parks" the faulting task by running other work inside the
 * "not present" handler, with interrupts on, until the "page ready" for its
 * token arrives (or, in APF_MODE_DISABLE, by turning async PF off at once).
 * Everything the guest saw is logged in apf_log for the host to check.
 */
#ifndef APF_GUEST_H
#define APF_GUEST_H

#include <linux/compiler.h>
#include "kvm_util.h"

#define APF_MAX_LOG	512
#define APF_WAKE_ALL	0xffffffffu

/* GUEST_SYNC3(APF_SYNC_ERROR, token, status): a "ready" came with an error. */
#define APF_SYNC_ERROR	0xe1

enum apf_mode {
	APF_MODE_PARK,		/* run other work until "page ready" */
	APF_MODE_DISABLE,	/* turn async PF off in the first "not present" */
	APF_MODE_REPORT,	/* tell the host the token, then park */
	APF_MODE_IDLE,		/* idle once (wait for an interrupt), retry */
};

struct apf_log {
	u64 not_present;	/* "not present" notifications */
	u64 ready;		/* "page ready" notifications, wake-alls too */
	u64 wake_all;		/* of which wake-all */
	u64 unexpected;		/* notifications that made no sense */
	u64 work;		/* units of other work done while parked */
	u64 errors;		/* "page ready" with an error status */
	u32 np_token[APF_MAX_LOG];
	u64 np_addr[APF_MAX_LOG];	/* where the arch reports it, else 0 */
	u32 ready_token[APF_MAX_LOG];
	u32 ready_status[APF_MAX_LOG];
	u64 work_during[APF_MAX_LOG];	/* per "not present" */
};

extern struct apf_log apf_log;
extern enum apf_mode apf_mode;
extern bool apf_want_errors;	/* opt in to "ready" with an error status */

/*
 * The guest's "other work": @n units of a fixed loop, the same whether the
 * guest computes between touches or while a touch is parked, so that work
 * counts alike in both (apf_bench).  Returns the units done.
 */
/* Host, after sync_global_from_guest(): how many "ready" named @token. */
static inline __maybe_unused u64 apf_log_readied(u32 token)
{
	u64 i, n = 0;

	for (i = 0; i < apf_log.ready && i < APF_MAX_LOG; i++)
		n += apf_log.ready_token[i] == token;
	return n;
}

static u32 apf_never __maybe_unused;
/* The "page ready" handler does not acknowledge (arm64: masks the PPI). */
static bool apf_no_ack __maybe_unused;
#define APF_PARK_CHUNK	256

static noinline __maybe_unused u64 apf_guest_compute(u64 n)
{
	u64 i;

	for (i = 0; i < n; i++)
		if (READ_ONCE(apf_never))
			break;
	return i;
}

/*
 * Host: can this arch run the test?  Returns NULL, or why not.
 * Host: install the guest's handlers and the shared area into @vm.
 * Guest: enable async PF on this vCPU (and interrupts; with error status if
 * apf_want_errors), disable it; enable interrupts only.
 * Guest: try to enable with error status; return whether it was accepted
 * (a refused enable must leave the state as it was).
 * Guest: try each malformed enable (reserved bits, error status without
 * the delivery it needs); return how many were accepted (should be 0).
 *
 * A parked fault whose "ready" carries an error reports it to the host with
 * GUEST_SYNC3(APF_SYNC_ERROR, token, status) (where a Linux guest would
 * send SIGBUS), then retries the access when the host resumes it.
 *
 * The arch's "not present" handler checks the notification and calls
 * apf_guest_parked(token, addr), with the faulting address where the host
 * reports it (APF_ARCH_FAULT_ADDR) and 0 elsewhere; its "page ready"
 * handler reads token and status, calls apf_guest_woken(), then clears and
 * acknowledges them.
 */
static inline const char *apf_arch_unsupported(void);
static inline void apf_arch_vm_setup(struct kvm_vm *vm);
static inline void guest_apf_enable(void);
static inline void guest_apf_disable(void);
static inline void guest_irq_enable(void);
static inline void guest_irq_disable(void);
/*
 * Guest: keep "page ready" from being taken (x86: software-disable the
 * LAPIC; arm64: disable the PPI in the GIC), or allow it again.
 * Guest: idle once: wait for an interrupt or a wake-up from KVM, bounded
 * (arm64 arms its timer; x86 halts, woken by KVM when a fault completes).
 * Guest: enable async PF again as it is, "page ready" allowed.
 */
static inline void guest_ready_mask(bool mask);
static inline void guest_apf_idle(void);
static inline void guest_apf_reenable(void);

/* Guest, from the arch's handlers (defined below, the same on every arch). */
static void apf_guest_parked(u32 token, u64 addr);
static void apf_guest_woken(u32 token, u32 status);
static inline bool guest_apf_try_enable_errors(void);
static inline u64 guest_apf_bad_enables(void);

#if defined(__x86_64__)
#include "x86_64/apf_arch.h"
#else
#include "aarch64/apf_arch.h"
#endif

static u32 apf_woken;		/* last token woken */
static u32 apf_woken_status;	/* and its status */

/* Log a "not present" for @token, then do what apf_mode says. */
static void __maybe_unused apf_guest_parked(u32 token, u64 addr)
{
	u64 n = apf_log.not_present, work = 0;

	if (n < APF_MAX_LOG) {
		apf_log.np_token[n] = token;
		apf_log.np_addr[n] = addr;
	}
	apf_log.not_present = n + 1;

	if (apf_mode == APF_MODE_DISABLE) {
		guest_apf_disable();
		return;		/* the access is retried synchronously */
	}
	if (apf_mode == APF_MODE_IDLE) {
		guest_apf_idle();
		return;		/* retried: synchronous if still in flight */
	}
	if (apf_mode == APF_MODE_REPORT)
		GUEST_SYNC2(1, token);

	/* Park the faulting "task": do other work until its page is ready. */
	guest_irq_enable();
	while (READ_ONCE(apf_woken) != token)
		work += apf_guest_compute(APF_PARK_CHUNK);
	guest_irq_disable();
	apf_log.work += work;
	if (n < APF_MAX_LOG)
		apf_log.work_during[n] = work;
	if (apf_woken_status) {
		apf_log.errors++;
		GUEST_SYNC3(APF_SYNC_ERROR, token, apf_woken_status);
	}
}

/* Log a "page ready" for @token with @status and wake what it names. */
static void __maybe_unused apf_guest_woken(u32 token, u32 status)
{
	u64 n = apf_log.ready;

	if (n < APF_MAX_LOG) {
		apf_log.ready_token[n] = token;
		apf_log.ready_status[n] = status;
	}
	apf_log.ready = n + 1;
	if (token == APF_WAKE_ALL)
		apf_log.wake_all++;
	else if (!token)
		apf_log.unexpected++;
	WRITE_ONCE(apf_woken_status, status);
	WRITE_ONCE(apf_woken, token);
}

#endif /* APF_GUEST_H */
