/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The KVM async page fault core: its interface to architecture backends.
 *
 * Included through <linux/kvm_host.h>, after <asm/kvm_host.h>: the arch
 * defines struct kvm_arch_async_pf there (what it needs back when a fault
 * completes; it may be empty), and each item embeds one.
 *
 * Names: kvm_apf_*() work on one vCPU's struct kvm_apf_vcpu (the core, and
 * its KUnit suites, which need no struct kvm_vcpu); kvm_async_pf_*() and
 * upstream's kvm_*_async_pf_*() work on a struct kvm_vcpu whose async_pf is
 * that state (virt/kvm/apf/vcpu.c).
 *
 * What the generic KVM code does for every arch that selects KVM_ASYNC_PF:
 *   kvm_async_pf_vcpu_run()      KVM_RUN, first: the VMM's answer to an
 *                                async-candidate exit
 *   kvm_async_pf_vm_ioctl()      KVM_APF_READY_BATCH on the VM
 *   kvm_async_pf_vcpu_init()     vCPU creation, with the arch's ops,
 *                                &kvm_arch_apf_ops, before
 *                                kvm_arch_vcpu_create()
 *   kvm_async_pf_vcpu_destroy()  vCPU destruction, after
 *                                kvm_arch_vcpu_destroy(): nothing the core
 *                                started runs after it
 *   kvm_async_pf_vm_destroy()    VM destruction, after kvm_arch_destroy_vm()
 *                                destroyed its vCPUs: the VM's queue of
 *                                kernel fault-ins
 *   kvm_async_pf_has_completions()  directed yield (vcpu_dy_runnable())
 *
 * What a backend does:
 * - defines &kvm_arch_apf_ops, and selects KVM_ASYNC_PF (which selects the
 *   core), from an option in its arch's KVM Kconfig (KVM_APF_X86 in
 *   arch/x86/kvm/apf/Kconfig, KVM_APF_ARM64 in arch/arm64/kvm/apf/Kconfig)
 *   or from the arch's KVM option itself (s390);
 * - on a guest fault whose page is not ready, calls kvm_apf_setup() (or,
 *   with @vmm_driven, kvm_async_pf_setup(): a positive return means a
 *   memory-fault exit for the VMM is prepared, and KVM_RUN must return
 *   -EFAULT); if it fails, resolves the fault synchronously on its usual
 *   path, and where that path cannot resolve it (no memslot, no VMA, no
 *   pfn) makes KVM_RUN return -EFAULT with kvm_apf_prepare_error_exit();
 * - before every guest entry on which the request made by its @request op
 *   is pending, calls kvm_check_async_pf_completion(); a non-zero return
 *   (-EFAULT) means a fault could not be resolved and a memory-fault exit
 *   is prepared: KVM_RUN returns it to the VMM;
 * - makes a vCPU blocked in a halt wake up for that request (its @kick op,
 *   and its "runnable" check treating the pending request as an event),
 *   not for a non-empty done list: a completion the guest cannot take must
 *   not wake it (the 2021 exit storm);
 * - when the guest acknowledges a "page ready", calls kvm_apf_ack() (if
 *   @needs_ack); when it (re-)enables async PF, kvm_apf_guest_enabled();
 *   when it disables it, kvm_clear_async_pf_completion_queue(); when queued
 *   faults cannot be delivered as they are but async PF stays on,
 *   kvm_apf_flush();
 * - where its guest ABI has the shared area (struct kvm_apf_shared, in
 *   <uapi/linux/kvm_para.h>), writes "page ready" with
 *   kvm_async_pf_put_ready() and tests its slot with
 *   kvm_async_pf_ready_slot_free() (x86, arm64); and where the guest opted
 *   in to batched "page ready" (struct kvm_apf_ready_ring after the area),
 *   posts with kvm_async_pf_ring_put() and tests the ring with
 *   kvm_async_pf_ring_room() instead;
 * - sets @report_errors in struct kvm_apf_vcpu when the guest opted in to
 *   "page ready" with an error status, and the VMM allowed it
 *   (kvm_apf_guest_error_allowed()).
 *
 * kvm_apf_user_ready() completes a fault that the VMM resolves;
 * kvm_apf_complete() is the VMM's KVM_APF_COMPLETE on a vCPU.
 *
 * Everything but kvm_apf_user_ready() and kvm_apf_complete()'s lookup runs
 * in the vCPU's context (its thread, or with vcpu->mutex held); the core's
 * worker and the VMM may complete faults concurrently with it.
 */
#ifndef __LINUX_KVM_APF_H
#define __LINUX_KVM_APF_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/kvm_types.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/kvm.h>

struct eventfd_ctx;
struct kvm;
struct kvm_enable_cap;
struct kvm_vcpu;
struct mm_struct;

/*
 * What @notify_ready returns when it posted into the guest's ring of
 * completions: the guest can take more before it acknowledges.
 */
#define KVM_APF_READY_BATCHED	2

/* The token of a "page ready" that wakes every parked task. */
#define KVM_APF_TOKEN_WAKE_ALL	(~0U)

/* Async faults in flight per vCPU: default, and the most a VM may ask for. */
#define KVM_APF_DEFAULT_MAX	64
#define KVM_APF_MAX_LIMIT	4096

/*
 * The storm guard: this many "page not present" told to a guest while a
 * completed fault waited for a "page ready" it could not take (no ack in
 * between) and the core stops telling it "not present"; its faults are
 * synchronous until it acknowledges a "page ready" or re-enables async PF.
 */
#define KVM_APF_STORM_STRIKES	16
/*
 * Failures told to a guest (error status) in a row, with no fault completed
 * in between, after which its next fault on the page of the last one is
 * synchronous: a guest that ignores the status and retries gets its failure
 * as the VMM's exit, not a loop.
 */
#define KVM_APF_ERROR_REPEATS	16

/**
 * struct kvm_apf_gfn_table - the gfns with an async fault in flight
 * @slots: 2^@order entries, each a gfn or all ones (empty)
 * @order: log2 of the number of slots
 * @capacity: most gfns the table accepts, at most half the slots
 * @count: gfns in the table
 */
struct kvm_apf_gfn_table {
	gfn_t *slots;
	u32 order;
	u32 capacity;
	u32 count;
};

/* struct kvm_apf_item.flags */
#define KVM_APF_ITEM_USER	BIT(0)	/* the VMM resolves it */
#define KVM_APF_ITEM_WRITE	BIT(1)	/* the guest wrote: fault in writable */
#define KVM_APF_ITEM_WAKE_ALL	BIT(2)	/* not a fault: wake every task */
#define KVM_APF_ITEM_NOTIFIED	BIT(3)	/* the guest was told "not present" */
#define KVM_APF_ITEM_COMPLETED	BIT(4)	/* @result is final */
#define KVM_APF_ITEM_FAILED	BIT(5)	/* counted as an error once */
/* Told in a way that cannot carry an error (returned by @not_present) */
#define KVM_APF_ITEM_NO_ERROR	BIT(6)
/* Failed, but handed to the synchronous path: "ready" without a retry */
#define KVM_APF_ITEM_RELEASED	BIT(7)
/* The guest was told "page ready" where it completed (deliver_on_completion) */
#define KVM_APF_ITEM_DELIVERED	BIT(8)
/*
 * With %KVM_APF_ITEM_USER: an async candidate, the VMM deciding whether it
 * takes the fault (an exit); the guest is told nothing until it accepts
 */
#define KVM_APF_ITEM_CANDIDATE	BIT(9)
/*
 * Its "page ready" could not be written (a signal was pending): what comes
 * before the notification is done, only the notification is tried again
 */
#define KVM_APF_ITEM_READY_RETRY	BIT(10)

/* Flags a backend may pass to kvm_apf_setup(). */
#define KVM_APF_SETUP_FLAGS	(KVM_APF_ITEM_USER | KVM_APF_ITEM_WRITE | \
				 KVM_APF_ITEM_CANDIDATE)

struct kvm_apf_vcpu;

/**
 * struct kvm_apf_item - one async fault (or one wake-all)
 * @queue: on the vCPU's list of items, from setup to free
 * @link: on the vCPU's done list, from completion to delivery
 * @work: the kernel fault-in, for items without %KVM_APF_ITEM_USER
 * @apf: the vCPU's async PF state
 * @cr2_or_gpa: the faulting address as the backend reported it
 * @gfn: the faulting gfn
 * @hva: the host address backing @gfn
 * @token: what the guest is told; unique among the vCPU's items
 * @flags: KVM_APF_ITEM_*
 * @result: 0, or the -errno that says why the page could not be made present
 * @arch: the backend's own data, copied from kvm_apf_setup()
 */
#ifdef CONFIG_KVM_APF_CORE
struct kvm_apf_item {
	struct list_head queue;
	struct list_head link;
	struct work_struct work;
	struct kvm_apf_vcpu *apf;
	gpa_t cr2_or_gpa;
	gfn_t gfn;
	unsigned long hva;
	u32 token;
	u32 flags;
	int result;
	struct kvm_arch_async_pf arch;
};
#endif

/**
 * struct kvm_apf_ops - what a backend provides (all but @prefault,
 *	@gfn_to_hva and @fault_in are mandatory)
 * @notify_not_present: tell the guest "page not present" for @item (its
 *	token, or the guest's own token in @item->arch).  Return 0 if it could
 *	not be told (the vCPU then waits for the page itself, as in upstream's
 *	artificial halt); otherwise the guest was told and will wait for "page
 *	ready": return %KVM_APF_ITEM_NOTIFIED, with %KVM_APF_ITEM_NO_ERROR if
 *	it was told in a way that cannot take an error status (x86: a #PF
 *	vmexit to a nested hypervisor, which would only resume its guest into
 *	the same fault; s390: the pfault protocol has no status): a failure
 *	then goes to the VMM even if the guest opted in.  The core applies
 *	them under its lock; the backend does not write @item->flags.  vCPU
 *	context.
 * @notify_ready: tell the guest "page ready" for @item (a wake-all if
 *	%KVM_APF_ITEM_WAKE_ALL), with @item->result.  A result other than 0
 *	reaches it only if the guest opted in to error status (@report_errors
 *	in struct kvm_apf_vcpu) and was told "not present" for @item, without
 *	%KVM_APF_ITEM_NO_ERROR (with @deliver_on_completion, whatever the
 *	result: that flavour has no status).  Return 1 if the guest was told;
 *	0 if it was not and will not be (it does not listen: async PF off,
 *	never told "not present" of @item); %KVM_APF_READY_BATCHED if it was
 *	told through its ring of completions (kvm_async_pf_ring_put()), where
 *	the core posts more before it waits for the one acknowledgment ("page
 *	ready" raised for the batch: by its first post, where @ready_pending
 *	is still false, or by each, as the backend finds cheaper); -ENOSPC if
 *	the ring had no room after all (the core holds @item); the -errno of
 *	the guest write (kvm_async_pf_put_ready(), kvm_async_pf_ring_put()) if
 *	writing "page ready" into guest memory failed, having raised
 *	nothing.  After a -errno with a signal pending (the write's wait for a
 *	page of guest memory on userfaultfd was cut short) the core calls it
 *	again for @item at the next entry; without one it drops @item, as
 *	after 0.  vCPU context, or the worker's with
 *	@deliver_on_completion (where only a positive return counts as told).
 * @can_dequeue: can the guest take a "page ready" now?  vCPU context.
 * @request: make the vCPU call kvm_check_async_pf_completion() before it
 *	next enters the guest (a KVM request).  Any context; must not sleep.
 * @kick: make a running or blocked vCPU notice @request.  Any context; must
 *	not sleep.
 * @prefault: optional; the page of @item is in: map it into the guest now
 *	(x86: prefault the faulting address; arm64: replay the stage-2
 *	fault), so that the guest's retry does not fault.  vCPU context.
 * @gfn_to_hva: optional; the host address that backs @gfn now, or an error
 *	hva if no memslot holds it.  Before a failed fault is retried, the
 *	core translates its gfn again with it, as the VMM may have moved the
 *	memory.  vCPU context.
 * @fault_in: optional, for KUnit suites: resolve @item's fault and return
 *	0 or -errno.  Default: fault @item->hva in through the VM's mm.  Worker
 *	context for kernel items (where a KUnit static stub cannot redirect:
 *	it works only in the test's own thread); vCPU context for the
 *	synchronous retry of a failed item before the core reports the
 *	failure to the VMM.
 * @needs_ack: the guest acknowledges each "page ready" before it can take
 *	the next (kvm_apf_ack()).  x86 and arm64; not s390.
 * @deliver_on_completion: "page ready" needs nothing of the vCPU (s390: a
 *	floating interrupt that any vCPU may take, no ack, no error status):
 *	@notify_ready is called as soon as a kernel-resolved fault the guest
 *	was told of completes, from the worker, whatever its result (the
 *	guest's retry of the access meets a failure synchronously), and the
 *	vCPU is not woken for it: the backend calls the completion check on
 *	every entry, which only frees such items.  Dropping the queue
 *	(kvm_apf_clear()) waits for fault-ins instead of cancelling them, so
 *	that every task the guest parked gets its "page ready" (s390 has no
 *	wake-all).
 * @max_in_flight: optional; the most faults in flight per vCPU the arch can
 *	notify (s390: its floating interrupt limit, ASYNC_PF_PER_VCPU); the
 *	module parameter apf_max_per_vcpu is clamped to it.
 * @can_notify: optional, with @vmm_driven; can the guest take "page not
 *	present" now?  Asked before a fault is handed to the VMM (a fault the
 *	guest cannot take async stays KVM's, as without the VMM), and before
 *	telling the guest of a fault the VMM accepted, at the vCPU's next
 *	entry (the VMM may have changed the vCPU's state meanwhile).  vCPU
 *	context.
 * @vmm_driven: the backend sets up faults with kvm_async_pf_setup(), which
 *	hands faults on userfaultfd memory to the VMM when it asked for them
 *	(KVM_APF_FEATURE_VMM); the host offers that feature only then (x86,
 *	arm64).
 */
struct kvm_apf_ops {
	u32 (*notify_not_present)(struct kvm_apf_vcpu *apf,
				  struct kvm_apf_item *item);
	int (*notify_ready)(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item);
	bool (*can_dequeue)(struct kvm_apf_vcpu *apf);
	void (*request)(struct kvm_apf_vcpu *apf);
	void (*kick)(struct kvm_apf_vcpu *apf);
	void (*prefault)(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item);
	unsigned long (*gfn_to_hva)(struct kvm_apf_vcpu *apf, gfn_t gfn);
	int (*fault_in)(struct kvm_apf_item *item);
	bool (*can_notify)(struct kvm_apf_vcpu *apf);
	bool needs_ack;
	bool deliver_on_completion;
	bool vmm_driven;
	u32 max_in_flight;
};

/* The arch's backend, used for every vCPU (kvm_async_pf_vcpu_init()). */
extern const struct kvm_apf_ops kvm_arch_apf_ops;

/*
 * struct kvm_apf_stats - the core's counters, in every vCPU's binary stats
 * (the generic vCPU stats in <linux/kvm_types.h>, named as below):
 * @apf_not_present: "page not present" notifications the guest received
 * @apf_ready: "page ready" notifications the guest received (wake-alls too)
 * @apf_error: faults completed with an error
 * @apf_sync_fallback: faults handled synchronously because no async fault
 *	could be set up (limit, duplicate, no memory, the storm guard)
 * @apf_dup_suppressed: faults on a gfn that already had one in flight
 * @apf_storm_guard: times the storm guard stopped async PF for the vCPU
 *	(%KVM_APF_STORM_STRIKES)
 * @apf_vmm_exit: async candidates handed to the VMM by a memory-fault exit
 * @apf_vmm_async: VMM-owned faults the guest was told "not present" of
 * @apf_vmm_ring_full: faults the VMM's ring had no room for (an exit
 *	instead)
 */
struct kvm_apf_stats;

/**
 * struct kvm_apf_failure - a fault that must be reported to the VMM
 * @gfn: the gfn that cannot be made present
 * @token: the async fault's token
 * @error: why, a -errno
 */
struct kvm_apf_failure {
	gfn_t gfn;
	u32 token;
	int error;
};

/**
 * struct kvm_apf_vmm_ring - where a vCPU posts VMM-owned faults (exitless)
 * @addr: the VMM's struct kvm_apf_ring, 0 if none
 * @entries: its number of notices, a power of two
 * @head: the next notice KVM writes (the VMM reads it from the ring)
 * @eventfd: signalled after each notice, or NULL
 */
struct kvm_apf_vmm_ring {
	u64 addr;
	u32 entries;
	u32 head;
	struct eventfd_ctx *eventfd;
};

/**
 * struct kvm_apf_vcpu - one vCPU's async PF state
 * @ops: the backend
 * @mm: the VM's mm, for the default fault-in
 * @wq: the queue its kernel fault-ins run on (the VM's, kvm_apf_alloc_wq())
 * @stats: where to count (the vCPU's binary stats)
 * @lock: protects @queue and @done, and the items' @flags and @result
 *	while they are on @done or their work may run; the vCPU owns an item
 *	it took off @done
 * @fault_ins: kernel fault-ins queued and not over (kvm_apf_wait_fault_ins())
 * @fault_ins_idle: woken when @fault_ins drops to 0
 * @queue: every item of the vCPU, from setup to free
 * @done: completed items, oldest first, until delivered
 * @gfns: gfns with a fault in flight (duplicate suppression)
 * @queued: items on @queue
 * @max: most faults in flight
 * @vcpu_id: low bits of every token
 * @next_id: high bits of the next token
 * @wrapped: @next_id wrapped: new tokens must be checked for reuse
 * @ready_pending: a "page ready" awaits the guest's acknowledgment
 * @wake_all_queued: a wake-all is on @done
 * @report_errors: the guest opted in to "page ready" with an error status;
 *	set by the backend, in vCPU context
 * @failed: what kvm_apf_check_completion() last failed on
 * @sync_gfn: the gfn of the last fault released after a failure (the VMM
 *	gave up on it), or the last of %KVM_APF_ERROR_REPEATS failures told
 *	to the guest in a row: its next fault is synchronous; all ones if none
 * @err_repeats: failures told to the guest since a fault last completed
 * @held: kvm_apf_check_completion() last left completed faults that the
 *	guest could not take (it masked "page ready" or did not ack)
 * @strikes: "not present" told while @held, since the guest last
 *	acknowledged a "page ready" (the storm guard)
 * @degraded: the storm guard tripped: no "not present" until the guest
 *	acknowledges a "page ready" or re-enables async PF
 * @candidate: the async candidate the VMM decides on (it exited for it), or
 *	one it accepted and the guest is yet to be told of; NULL if none
 * @deciding: @candidate awaits the VMM's decision
 * @declined_gfn: the gfn of the candidate the VMM last declined: the next
 *	fault, if on it, is synchronous; all ones if none
 * @last_token: the token of the last fault kvm_apf_setup() made async
 * @ring: the VMM's notice ring (KVM_APF_SET_RING); vCPU context
 */
struct kvm_apf_vcpu {
	const struct kvm_apf_ops *ops;
	struct mm_struct *mm;
	struct workqueue_struct *wq;
	struct kvm_apf_stats *stats;
	spinlock_t lock;	/* protects queue, done, items' flags and result */
	atomic_t fault_ins;
	wait_queue_head_t fault_ins_idle;
	struct list_head queue;
	struct list_head done;
	struct kvm_apf_gfn_table gfns;
	u32 queued;
	u32 max;
	u32 vcpu_id;
	u32 next_id;
	bool wrapped;
	bool ready_pending;
	bool wake_all_queued;
	bool report_errors;
	struct kvm_apf_failure failed;
	gfn_t sync_gfn;
	u32 err_repeats;
	u32 strikes;
	bool held;
	bool degraded;
	struct kvm_apf_item *candidate;
	bool deciding;
	gfn_t declined_gfn;
	u32 last_token;
	struct kvm_apf_vmm_ring ring;
};

struct workqueue_struct *kvm_apf_alloc_wq(void);
int kvm_apf_vcpu_init(struct kvm_apf_vcpu *apf, const struct kvm_apf_ops *ops,
		      struct mm_struct *mm, struct workqueue_struct *wq,
		      struct kvm_apf_stats *stats, u32 vcpu_id, u32 max);
void kvm_apf_vcpu_destroy(struct kvm_apf_vcpu *apf);
unsigned long kvm_async_pf_gfn_to_hva(struct kvm_apf_vcpu *apf, gfn_t gfn);
/* The "page ready" slot of the guest's struct kvm_apf_shared (vcpu.c). */
int kvm_async_pf_put_ready(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			   const struct kvm_apf_item *item);
bool kvm_async_pf_ready_slot_free(struct kvm_vcpu *vcpu,
				  struct gfn_to_hva_cache *area);
/* The ring of completions after it (batched "page ready", vcpu.c). */
bool kvm_async_pf_ring_room(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area);
int kvm_async_pf_ring_put(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  const struct kvm_apf_item *item);
int kvm_async_pf_area_rw(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			 void *data, unsigned int offset, unsigned int len,
			 bool write);
long kvm_async_pf_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			     unsigned long arg);
/* VMM-driven async faults (vmm.c). */
int kvm_async_pf_setup(struct kvm_vcpu *vcpu, gpa_t cr2_or_gpa, gfn_t gfn,
		       unsigned long hva, u32 flags,
		       const struct kvm_arch_async_pf *arch);
long kvm_async_pf_vm_ioctl(struct kvm *kvm, unsigned int ioctl,
			   unsigned long arg);
void kvm_async_pf_ring_release(struct kvm_vcpu *vcpu);
#if defined(CONFIG_KVM_APF_CORE) && defined(CONFIG_KVM_ASYNC_PF)
int kvm_async_pf_vcpu_run(struct kvm_vcpu *vcpu);
#else
static inline int kvm_async_pf_vcpu_run(struct kvm_vcpu *vcpu)
{
	return 0;
}
#endif
/* The VM's queue of kernel fault-ins goes after its vCPUs (vcpu.c). */
#if defined(CONFIG_KVM_APF_CORE) && defined(CONFIG_KVM_ASYNC_PF)
void kvm_async_pf_vm_destroy(struct kvm *kvm);
#else
static inline void kvm_async_pf_vm_destroy(struct kvm *kvm)
{
}
#endif
int kvm_apf_setup(struct kvm_apf_vcpu *apf, gpa_t cr2_or_gpa, gfn_t gfn,
		  unsigned long hva, u32 flags,
		  const struct kvm_arch_async_pf *arch);
bool kvm_apf_gfn_pending(struct kvm_apf_vcpu *apf, gfn_t gfn);
int kvm_apf_check_completion(struct kvm_apf_vcpu *apf);
bool kvm_apf_has_completions(struct kvm_apf_vcpu *apf);
void kvm_apf_ack(struct kvm_apf_vcpu *apf);
int kvm_apf_wakeup_all(struct kvm_apf_vcpu *apf);
int kvm_apf_user_ready(struct kvm_apf_vcpu *apf, u32 token, int status);
int kvm_apf_complete(struct kvm_apf_vcpu *apf, u32 token, int status);
bool kvm_apf_decide(struct kvm_apf_vcpu *apf, bool accept);
void kvm_apf_notify_accepted(struct kvm_apf_vcpu *apf);
u32 kvm_apf_owed(struct kvm_apf_vcpu *apf, struct kvm_apf_notice *notices,
		 u32 room);
int kvm_apf_guest_enabled(struct kvm_apf_vcpu *apf);
void kvm_apf_clear(struct kvm_apf_vcpu *apf);
void kvm_apf_wait_fault_ins(struct kvm_apf_vcpu *apf);
int kvm_apf_flush(struct kvm_apf_vcpu *apf);

/* What the VMM sees (uapi.c): the capability and memory-fault exits. */
#ifdef CONFIG_KVM_APF_CORE
void kvm_apf_prepare_error_exit(struct kvm_vcpu *vcpu, gpa_t gpa, u64 size,
				int error, u32 token);
u32 kvm_apf_features(void);
int kvm_apf_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
u32 kvm_apf_enabled_features(struct kvm *kvm);
bool kvm_apf_guest_error_allowed(struct kvm *kvm);
#else
static inline void kvm_apf_prepare_error_exit(struct kvm_vcpu *vcpu,
					      gpa_t gpa, u64 size, int error,
					      u32 token)
{
}
#endif

#endif /* __LINUX_KVM_APF_H */
