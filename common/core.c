// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM async page fault core.
 *
 * One queue per vCPU holds every async fault, whether the kernel resolves it
 * (a work item faults the page in) or the VMM does (kvm_apf_user_ready()):
 * the difference is one flag on the item.  Completion carries a result, 0 or
 * -errno, so that a backend can tell the guest, or the VMM, that a page will
 * never come instead of saying "ready" and looping on the same fault.
 *
 * Life of an item: kvm_apf_setup() puts it on @queue and tells the guest
 * "not present"; completion (worker or VMM) moves it to @done and asks the
 * vCPU to look; kvm_apf_check_completion() tells the guest "ready" and frees
 * it.  The rules below each fix a bug that upstream's async_pf.c had:
 *
 * - A kernel item is freed only after its work is flushed: the worker still
 *   runs (and, if KVM is a module, still executes module code) after it put
 *   the item on @done (CVE-2024-26976).
 * - The done list is never dropped while the guest may have parked tasks
 *   without a wake-all to follow (tasks stuck forever after SMM, 2025):
 *   kvm_apf_flush() does both.
 * - "ready pending" and the done list are published in opposite orders by
 *   completion and acknowledgment, each followed by a full barrier, so that
 *   one of the two sides always sees the other's store (no lost kick).
 * - Every completion asks the vCPU to look, and a completed fault that the
 *   guest cannot take (it masked "page ready" or never acknowledges it) is
 *   no reason to wake the vCPU again: a halted vCPU that kept waking for it
 *   made millions of exits a second (x86, a guest with its LAPIC disabled,
 *   2021).  The storm guard also stops telling such a guest "not present"
 *   (tasks it would park for ever) until it acknowledges a "page ready".
 * - A "page ready" whose write into guest memory fails because a signal
 *   cut short the wait for a page that userfaultfd has yet to populate is
 *   not dropped: it stays first on the done list for the next entry
 *   (tasks stuck for ever after a lazy snapshot restore, postcopy).
 */
#include <linux/errno.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/kvm_host.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <kunit/static_stub.h>
#ifdef CONFIG_KVM_ASYNC_PF
#include <trace/events/kvm.h>
#endif

#include "gfn_table.h"

#define CREATE_TRACE_POINTS
#include <trace/events/kvm_apf.h>

/*
 * Token layout: (id << shift) | vcpu_id, as x86 has always built it with a
 * shift of 12.  The guest keeps one table of parked tasks for all its CPUs,
 * so tokens must be unique in the VM: the shift is wide enough for every
 * vcpu_id the architecture accepts (KVM_MAX_VCPU_IDS), so that no id bit
 * lands on a vcpu_id bit.  Where every vcpu_id fits in 12 bits (arm64) the
 * layout is x86's old one; x86, whose vcpu_ids go up to 16383, uses 14.
 */
#define KVM_APF_TOKEN_ID_SHIFT	max(12, order_base_2(KVM_MAX_VCPU_IDS))
#define KVM_APF_TOKEN_ID_MASK	(BIT(32 - KVM_APF_TOKEN_ID_SHIFT) - 1)

/**
 * kvm_apf_alloc_wq() - a queue for a VM's kernel fault-ins
 *
 * Fault-ins sleep until the page is in (a swap-in, a userfaultfd's server),
 * so each VM has a queue of its own rather than system_wq, which other
 * subsystems share, and with a limit of its own (%WQ_MAX_ACTIVE running at
 * once, shared out among the NUMA nodes) that no other VM's fault-ins can
 * use up.  It is unbound: on a per-CPU queue a fault-in wakes on the CPU of
 * the vCPU that queued it and preempts that vCPU's thread; an unbound one
 * runs where the scheduler finds room (which may still be that CPU, if it
 * is idle, unless the workqueue cpumask keeps unbound work elsewhere).
 * Unbound queues share their workers, so one per VM costs little.
 *
 * Return: the queue, to destroy_workqueue() once no vCPU of the VM is
 * left, or NULL.
 */
struct workqueue_struct *kvm_apf_alloc_wq(void)
{
	return alloc_workqueue("kvm-async-pf", WQ_UNBOUND, WQ_MAX_ACTIVE);
}

static struct kvm_apf_item *kvm_apf_alloc_item(gfp_t gfp)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_apf_alloc_item, gfp);
	return kzalloc(sizeof(struct kvm_apf_item), gfp | __GFP_NOWARN);
}

/**
 * kvm_apf_vcpu_init() - set up one vCPU's async PF state
 * @apf: the state, embedded in the backend's vCPU
 * @ops: the backend
 * @mm: the VM's mm (for the default fault-in)
 * @wq: the queue its kernel fault-ins run on, which must outlive the
 *	state (the VM's, kvm_apf_alloc_wq())
 * @stats: the counters to update
 * @vcpu_id: the vCPU's id, the low bits of its tokens; below
 *	%KVM_MAX_VCPU_IDS
 * @max: most faults in flight, 1 to %KVM_APF_MAX_LIMIT
 *
 * Return: 0, -EINVAL for @max or @vcpu_id out of range, a missing
 * mandatory op, @wq or @stats, or -ENOMEM.
 */
int kvm_apf_vcpu_init(struct kvm_apf_vcpu *apf, const struct kvm_apf_ops *ops,
		      struct mm_struct *mm, struct workqueue_struct *wq,
		      struct kvm_apf_stats *stats, u32 vcpu_id, u32 max)
{
	int r;

	if (!ops || !ops->notify_not_present || !ops->notify_ready ||
	    !ops->can_dequeue ||
	    !ops->request || !ops->kick || !wq || !stats ||
	    vcpu_id >= BIT(KVM_APF_TOKEN_ID_SHIFT))
		return -EINVAL;

	memset(apf, 0, sizeof(*apf));
	r = kvm_apf_gfn_table_init(&apf->gfns, max);
	if (r)
		return r;

	apf->ops = ops;
	apf->mm = mm;
	apf->wq = wq;
	apf->stats = stats;
	apf->vcpu_id = vcpu_id;
	apf->max = max;
	apf->sync_gfn = ~(gfn_t)0;
	apf->declined_gfn = ~(gfn_t)0;
	spin_lock_init(&apf->lock);
	init_waitqueue_head(&apf->fault_ins_idle);
	INIT_LIST_HEAD(&apf->queue);
	INIT_LIST_HEAD(&apf->done);
	return 0;
}
EXPORT_SYMBOL_GPL(kvm_apf_vcpu_init);

/**
 * kvm_apf_vcpu_destroy() - free one vCPU's async PF state
 * @apf: the state
 *
 * Waits for every fault-in still running and frees every item; nothing the
 * core started runs after this returns.
 */
void kvm_apf_vcpu_destroy(struct kvm_apf_vcpu *apf)
{
	kvm_apf_clear(apf);
	kvm_apf_gfn_table_destroy(&apf->gfns);
}
EXPORT_SYMBOL_GPL(kvm_apf_vcpu_destroy);

/* Is @token used by an item of @apf?  Called with @apf->lock held. */
static bool token_in_use(struct kvm_apf_vcpu *apf, u32 token)
{
	struct kvm_apf_item *item;

	list_for_each_entry(item, &apf->queue, queue)
		if (item->token == token)
			return true;
	return false;
}

/* Called with @apf->lock held. */
static u32 alloc_token(struct kvm_apf_vcpu *apf)
{
	u32 token;

	do {
		/* Id 0 would make token 0 for vCPU 0: "no token" to guests. */
		apf->next_id = (apf->next_id + 1) & KVM_APF_TOKEN_ID_MASK;
		if (!apf->next_id) {
			apf->next_id = 1;
			apf->wrapped = true;
		}
		token = (apf->next_id << KVM_APF_TOKEN_ID_SHIFT) | apf->vcpu_id;
	} while (token == KVM_APF_TOKEN_WAKE_ALL ||
		 (apf->wrapped && token_in_use(apf, token)));
	return token;
}

/* Put @item on the done list with its result.  Called with @apf->lock held. */
static void queue_done_locked(struct kvm_apf_vcpu *apf,
			      struct kvm_apf_item *item, int result)
{
	item->result = result;
	item->flags |= KVM_APF_ITEM_COMPLETED;
	list_add_tail(&item->link, &apf->done);
}

/*
 * Make the vCPU look at its done list, after every completion: the request
 * is what wakes a halted vCPU (not a non-empty done list, which may hold
 * faults the guest cannot take now).  Any context; no item is touched.
 */
static void notify_vcpu(struct kvm_apf_vcpu *apf, bool notified)
{
	apf->ops->request(apf);
	/*
	 * Pairs with smp_store_mb() in kvm_apf_ack(): either the vCPU sees the
	 * done list non-empty after it clears ready_pending, or we see the
	 * cleared flag here and kick.  While a "ready" is pending the guest's
	 * acknowledgment will look at the done list, so no kick is needed;
	 * but a vCPU that was never told "not present" waits for this page
	 * itself and must always be woken.
	 */
	smp_mb();
	if (!READ_ONCE(apf->ready_pending) || !notified)
		apf->ops->kick(apf);
}

/*
 * What a fault-in result means for the guest.  Only a permanent failure (the
 * backing is gone: -EFAULT, or what a backend's @fault_in reports, e.g.
 * -EIO) is reported, to the guest or the VMM.  Anything else is left to the
 * synchronous fault that the guest's retry makes, as upstream always did:
 * hardware poison there gets upstream's hwpoison SIGBUS to the VMM (which
 * injects a machine check), and a transient failure (-ENOMEM from a memory
 * cgroup, -EAGAIN, a signal) is simply tried again.
 */
static int kvm_apf_classify(int result)
{
	switch (result) {
	case -EHWPOISON:
	case -ENOMEM:
	case -EAGAIN:
	case -EBUSY:
	case -EINTR:
	case -ERESTARTSYS:
	case -ESRCH:		/* the VM's mm is going: nobody will look */
		return 0;
	default:
		return result;
	}
}

static int kvm_apf_fault_in(struct kvm_apf_item *item)
{
	unsigned int gup_flags = FOLL_HWPOISON;
	struct mm_struct *mm = item->apf->mm;
	int locked = 1;
	long r;

	if (item->apf->ops->fault_in)
		return item->apf->ops->fault_in(item);

	/*
	 * The VM holds a reference on the mm struct until it is destroyed,
	 * after every vCPU; if the address space is already gone the VM is
	 * exiting and nobody will look at the result.
	 */
	if (!mmget_not_zero(mm))
		return -ESRCH;
	if (item->flags & KVM_APF_ITEM_WRITE)
		gup_flags |= FOLL_WRITE;
	/* Only the VMM resolves its faults: never wait for one here. */
	if (item->flags & KVM_APF_ITEM_USER)
		gup_flags |= FOLL_NOWAIT;
	mmap_read_lock(mm);
	r = get_user_pages_remote(mm, item->hva, 1, gup_flags, NULL, &locked);
	if (locked)
		mmap_read_unlock(mm);
	mmput(mm);

	if (r == 1)
		return 0;
	return r < 0 ? r : -EFAULT;
}

/*
 * With @deliver_on_completion, tell the guest "page ready" for @item now,
 * from the worker, if it was told "not present" (the flag is set before the
 * work is queued, in kvm_apf_setup()), whatever the fault-in gave: this
 * flavour has no error status, and the guest's retry of the access is the
 * synchronous fault that meets the failure (s390: an addressing exception,
 * as upstream).  Returns %KVM_APF_ITEM_DELIVERED or 0.
 */
static u32 deliver_from_worker(struct kvm_apf_vcpu *apf,
			       struct kvm_apf_item *item)
{
	if (!apf->ops->deliver_on_completion ||
	    !(READ_ONCE(item->flags) & KVM_APF_ITEM_NOTIFIED))
		return 0;
	/* Not told: the vCPU's completion check tries again. */
	return apf->ops->notify_ready(apf, item) > 0 ? KVM_APF_ITEM_DELIVERED : 0;
}

/* A fault-in the core started is over (it ran, or was cancelled). */
static void fault_in_over(struct kvm_apf_vcpu *apf)
{
	if (atomic_dec_and_test(&apf->fault_ins))
		wake_up_all(&apf->fault_ins_idle);
}

static void kvm_apf_execute(struct work_struct *work)
{
	struct kvm_apf_item *item = container_of(work, struct kvm_apf_item, work);
	struct kvm_apf_vcpu *apf = item->apf;
	int result = kvm_apf_classify(kvm_apf_fault_in(item));
	u32 delivered;
	bool notified;

#ifdef CONFIG_KVM_ASYNC_PF
	trace_kvm_async_pf_completed(item->hva, item->cr2_or_gpa);
#endif
	delivered = deliver_from_worker(apf, item);
	spin_lock(&apf->lock);
	notified = item->flags & KVM_APF_ITEM_NOTIFIED;
	item->flags |= delivered;
	queue_done_locked(apf, item, result);
	spin_unlock(&apf->lock);
	/*
	 * From here the vCPU may free @item (after flushing this work).  The
	 * guest was told already if @delivered: the vCPU frees the item on
	 * its next entry, with no reason to wake it now.
	 */
	if (!delivered)
		notify_vcpu(apf, notified);
	fault_in_over(apf);
}

/*
 * The guest was just told "not present": a strike if the vCPU's last look
 * at its completed faults left some that the guest could not take (@held;
 * a completion it has not looked at yet may well be deliverable).
 * %KVM_APF_STORM_STRIKES strikes without an ack turn the guard on.
 */
static void storm_strike(struct kvm_apf_vcpu *apf)
{
	if (!apf->held || ++apf->strikes < KVM_APF_STORM_STRIKES)
		return;
	apf->degraded = true;
	apf->stats->apf_storm_guard++;
	trace_kvm_apf_storm_guard(apf->vcpu_id, true, apf->strikes);
}

/* The guest is healthy again (an ack, a re-enable): async PF resumes. */
static void storm_reset(struct kvm_apf_vcpu *apf)
{
	apf->strikes = 0;
	if (apf->degraded) {
		apf->degraded = false;
		trace_kvm_apf_storm_guard(apf->vcpu_id, false, 0);
	}
}

/*
 * Tell the guest "not present" for @item, a new fault or one the VMM
 * accepted.  vCPU context.
 */
static void tell_not_present(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	u32 told = apf->ops->notify_not_present(apf, item);

	if (WARN_ON_ONCE(told & ~(u32)(KVM_APF_ITEM_NOTIFIED |
				       KVM_APF_ITEM_NO_ERROR)))
		told &= KVM_APF_ITEM_NOTIFIED | KVM_APF_ITEM_NO_ERROR;
	if (!(told & KVM_APF_ITEM_NOTIFIED))
		return;
	spin_lock(&apf->lock);
	item->flags |= told;
	spin_unlock(&apf->lock);
	apf->stats->apf_not_present++;
	if (item->flags & KVM_APF_ITEM_USER)
		apf->stats->apf_vmm_async++;
	trace_kvm_apf_not_present(apf->vcpu_id, item->token, item->gfn, 0);
	storm_strike(apf);
}

/**
 * kvm_apf_setup() - start an async fault
 * @apf: the vCPU's state
 * @cr2_or_gpa: the faulting address, as the backend wants it back
 * @gfn: the faulting gfn
 * @hva: the host address of @gfn
 * @flags: %KVM_APF_ITEM_USER if the VMM resolves the fault (it completes it
 *	with kvm_apf_user_ready()), with %KVM_APF_ITEM_CANDIDATE if the VMM
 *	is yet to decide whether it takes it (kvm_apf_decide());
 *	%KVM_APF_ITEM_WRITE for a write fault
 * @arch: the backend's data, copied into the item (NULL: zeroes)
 *
 * Tells the guest "not present" through @apf->ops->notify_not_present() (not
 * for a candidate) and, for a kernel item, starts faulting the page in.  The
 * token is in @apf->last_token, and a candidate in @apf->candidate.
 *
 * Return: 0 if the fault is now async; otherwise the fault must be handled
 * synchronously and nothing changed: -EAGAIN, the storm guard is on (the
 * guest has not taken a "page ready" for %KVM_APF_STORM_STRIKES "not
 * present"); -EEXIST, a fault on @gfn is already in
 * flight; -EBUSY, the vCPU has its maximum in flight (or, for a candidate,
 * the VMM has yet to answer the last one); -ECANCELED, the VMM
 * gave up on the last async fault on @gfn (kvm_apf_complete()), or the
 * guest was told %KVM_APF_ERROR_REPEATS failures in a row, the last on @gfn,
 * so this retry of it is synchronous; -EFAULT, @hva is not a valid host address;
 * -EINVAL, unknown @flags; -ENOMEM.
 */
int kvm_apf_setup(struct kvm_apf_vcpu *apf, gpa_t cr2_or_gpa, gfn_t gfn,
		  unsigned long hva, u32 flags,
		  const struct kvm_arch_async_pf *arch)
{
	gfn_t declined = apf->declined_gfn;
	struct kvm_apf_item *item;
	int r;

	if (flags & ~KVM_APF_SETUP_FLAGS ||
	    ((flags & KVM_APF_ITEM_CANDIDATE) && !(flags & KVM_APF_ITEM_USER)))
		return -EINVAL;
	/* A declined candidate's gfn only holds for the fault right after. */
	apf->declined_gfn = ~(gfn_t)0;
	if (apf->degraded) {
		r = -EAGAIN;
		goto sync;
	}
	if (kvm_is_error_hva(hva)) {
		r = -EFAULT;
		goto sync;
	}
	/* One candidate at a time: the VMM answers it at the next KVM_RUN. */
	if (apf->queued >= apf->max ||
	    ((flags & KVM_APF_ITEM_CANDIDATE) && apf->deciding)) {
		r = -EBUSY;
		goto sync;
	}
	if (gfn == apf->sync_gfn || gfn == declined) {
		/*
		 * The VMM gave up on it: its failure is reported synchronously;
		 * or it declined the candidate: the retry waits for the page.
		 */
		if (gfn == apf->sync_gfn)
			apf->sync_gfn = ~(gfn_t)0;
		r = -ECANCELED;
		goto sync;
	}
	if (kvm_apf_gfn_find(&apf->gfns, gfn)) {
		apf->stats->apf_dup_suppressed++;
		trace_kvm_apf_dup_suppressed(apf->vcpu_id, 0, gfn, -EEXIST);
		r = -EEXIST;
		goto sync;
	}
	/* Never sleep here: if we must wait, better wait for the page. */
	item = kvm_apf_alloc_item(GFP_NOWAIT);
	if (!item) {
		r = -ENOMEM;
		goto sync;
	}
	r = kvm_apf_gfn_add(&apf->gfns, gfn);
	if (WARN_ON_ONCE(r)) {	/* sized for apf->max, checked above */
		kfree(item);
		goto sync;
	}

	item->apf = apf;
	item->cr2_or_gpa = cr2_or_gpa;
	item->gfn = gfn;
	item->hva = hva;
	item->flags = flags;
	if (arch)
		item->arch = *arch;
	INIT_LIST_HEAD(&item->link);
	INIT_WORK(&item->work, kvm_apf_execute);

	spin_lock(&apf->lock);
	item->token = alloc_token(apf);
	list_add_tail(&item->queue, &apf->queue);
	spin_unlock(&apf->lock);
	apf->queued++;
	apf->last_token = item->token;

	if (flags & KVM_APF_ITEM_CANDIDATE) {
		apf->candidate = item;
		apf->deciding = true;
		return 0;
	}
	tell_not_present(apf, item);
	if (!(flags & KVM_APF_ITEM_USER)) {
		atomic_inc(&apf->fault_ins);
		queue_work(apf->wq, &item->work);
	}
	return 0;

sync:
	apf->stats->apf_sync_fallback++;
	trace_kvm_apf_sync_fallback(apf->vcpu_id, 0, gfn, r);
	return r;
}
EXPORT_SYMBOL_GPL(kvm_apf_setup);

/**
 * kvm_apf_gfn_pending() - is an async fault on @gfn in flight?
 * @apf: the vCPU's state
 * @gfn: the gfn
 *
 * Return: true if @gfn has an async fault that is not yet delivered.
 */
bool kvm_apf_gfn_pending(struct kvm_apf_vcpu *apf, gfn_t gfn)
{
	return kvm_apf_gfn_find(&apf->gfns, gfn);
}
EXPORT_SYMBOL_GPL(kvm_apf_gfn_pending);

/* Does @item have a fault-in work item (a kernel-resolved fault)? */
static bool item_has_work(const struct kvm_apf_item *item)
{
	return !(item->flags & (KVM_APF_ITEM_USER | KVM_APF_ITEM_WAKE_ALL));
}

/* Take @item off every list and free it, after its work (if any) is done. */
static void free_item(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	spin_lock(&apf->lock);
	list_del(&item->queue);
	spin_unlock(&apf->lock);
	apf->queued--;
	if (apf->candidate == item) {
		apf->candidate = NULL;
		apf->deciding = false;
	}
	if (item_has_work(item))
		flush_work(&item->work);
	kfree(item);
}

/*
 * @item failed (its result is a -errno) and the guest cannot be told so: it
 * did not opt in to error status, it was never told "not present" and
 * waits for the page itself, or it was told in a way that cannot carry an
 * error (%KVM_APF_ITEM_NO_ERROR).  Telling it "ready" would make it retry the
 * access, fault again and loop, so retry the fault synchronously instead:
 * the page may have come meanwhile (the VMM fixed the backing and
 * re-entered).  The VMM may have fixed it by moving the memory (a memslot
 * deleted or moved, the old mapping gone), so the gfn is translated again;
 * if no memslot holds it any more the fault is released, as upstream would:
 * the guest retries and KVM handles the gpa as it now is.  The VMM may also
 * have given up on the fault (kvm_apf_complete()): then it is released too.
 * A fault the VMM failed (%KVM_APF_ITEM_USER) is only looked at: if its page
 * is there now, the VMM fixed it; KVM never waits for the VMM's memory.
 * Return: whether @item may now be delivered as "ready".
 */
static bool retry_failed(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	unsigned long hva;
	int r;

	if (!item->result ||
	    (apf->report_errors &&
	     (item->flags & (KVM_APF_ITEM_NOTIFIED | KVM_APF_ITEM_NO_ERROR)) ==
	     KVM_APF_ITEM_NOTIFIED))
		return true;
	if (item->flags & KVM_APF_ITEM_RELEASED) {
		item->result = 0;
		return true;
	}
	if (apf->ops->gfn_to_hva) {
		hva = apf->ops->gfn_to_hva(apf, item->gfn);
		if (kvm_is_error_hva(hva)) {
			item->flags |= KVM_APF_ITEM_RELEASED;
			item->result = 0;
			return true;
		}
		item->hva = hva;
	}
	r = kvm_apf_fault_in(item);
	if (item->flags & KVM_APF_ITEM_USER) {
		if (!r)
			item->result = 0;
		return !r;
	}
	item->result = kvm_apf_classify(r);
	return !item->result;
}

/*
 * Keep @item, which still failed, first on the done list for the next call
 * and describe it in @apf->failed for the caller's exit to the VMM.
 */
static int hold_failed(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	spin_lock(&apf->lock);
	list_add(&item->link, &apf->done);
	spin_unlock(&apf->lock);
	apf->failed.gfn = item->gfn;
	/*
	 * The guest knows the token only if it was told "not present"; the
	 * VMM knows the tokens of its own faults.
	 */
	apf->failed.token = item->flags &
			    (KVM_APF_ITEM_NOTIFIED | KVM_APF_ITEM_USER) ?
			    item->token : 0;
	apf->failed.error = item->result;
	trace_kvm_apf_error_exit(apf->vcpu_id, item->token, item->gfn,
				 item->result);
	apf->ops->request(apf);
	return -EFAULT;
}

/*
 * @item, a fault, was delivered: its failure told to the guest (error
 * status), or its page ready.  A guest that retries the access after a
 * failure (it ignores the status) would be told "not present" and the error
 * again, for ever, inside one KVM_RUN, on one page or taking turns on a few:
 * after %KVM_APF_ERROR_REPEATS failures told in a row, with no fault
 * completed in between, the next fault on the page of the last one is
 * synchronous and its failure goes to the VMM as the error exit.
 */
static void error_repeat(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	if (!item->result) {
		apf->err_repeats = 0;
		return;
	}
	if (++apf->err_repeats < KVM_APF_ERROR_REPEATS)
		return;
	apf->err_repeats = 0;
	apf->sync_gfn = item->gfn;
}

/*
 * Writing @item's "page ready" into guest memory failed (@notify_ready
 * returned a -errno) while a signal is pending: the write's wait for a page
 * of guest memory that userfaultfd has yet to populate (a lazy restore,
 * postcopy) was cut short, as a VMM kicks its vCPU threads with signals.
 * Dropping it would leave the task the guest parked waiting for ever.  Put
 * it back first on the done list, with what came before the notification
 * marked done (%KVM_APF_ITEM_READY_RETRY), and ask for another look: KVM_RUN
 * returns to user space for the signal before the guest runs, and the next
 * entry tells the guest.  Without a signal pending the write failed for
 * good (the area is broken) and the caller drops the "page ready", as it
 * always did, so that the vCPU cannot loop on it.  A ring of completions
 * that had no room after all (-ENOSPC: the guest moved its indices since
 * @can_dequeue looked) holds it too, signal or not: the guest empties the
 * ring and acknowledges, or the storm guard takes over.
 */
static bool requeue_ready(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item,
			  int told)
{
	/* The guest's ring had no room after all: held, as for a full ring. */
	if (told != -ENOSPC && !signal_pending(current))
		return false;
	spin_lock(&apf->lock);
	item->flags |= KVM_APF_ITEM_READY_RETRY;
	list_add(&item->link, &apf->done);
	if (item->flags & KVM_APF_ITEM_WAKE_ALL)
		apf->wake_all_queued = true;
	spin_unlock(&apf->lock);
	apf->ops->request(apf);
	return true;
}

/**
 * kvm_apf_check_completion() - deliver completed faults to the guest
 * @apf: the vCPU's state
 *
 * Tells the guest "page ready" for each completed item, oldest first, while
 * the backend says the guest can take one: one at a time (the next after the
 * guest's acknowledgment), or to a guest with a ring of completions as many
 * as the ring takes, all acknowledged at once.  A failed fault is delivered
 * with its error only to a guest that opted in (@apf->report_errors);
 * otherwise it is retried synchronously and, if it still fails, stays first
 * on the done list and is reported to the caller, who exits to the VMM.
 * Each call retries it again, so a VMM that re-enters without fixing the
 * backing gets the same exit and nothing changes.  A "page ready" whose
 * write into the guest failed while a signal is pending stays first on the
 * done list too, and the request to look again is made: the next entry,
 * after KVM_RUN returned for the signal, tells it; so does any completion
 * held while a signal is pending, as the backend's look at the guest may
 * have been cut short.  vCPU context.
 *
 * Return: 0, or -EFAULT with @apf->failed describing the fault (the request
 * to call again was made).
 */
int kvm_apf_check_completion(struct kvm_apf_vcpu *apf)
{
	struct kvm_apf_item *item;
	bool batch = false;
	int told;

	/*
	 * One "ready" at a time, the next waiting for the guest's ack; or, to
	 * a guest with a ring of completions, one batch at a time: as many as
	 * the ring takes, then the ack.
	 */
	while (!list_empty_careful(&apf->done) &&
	       (batch || !READ_ONCE(apf->ready_pending)) &&
	       apf->ops->can_dequeue(apf)) {
		spin_lock(&apf->lock);
		item = list_first_entry_or_null(&apf->done, struct kvm_apf_item,
						link);
		if (item) {
			list_del_init(&item->link);
			if (item->flags & KVM_APF_ITEM_WAKE_ALL)
				apf->wake_all_queued = false;
		}
		spin_unlock(&apf->lock);
		if (!item)
			break;

		if (item->result && !(item->flags & KVM_APF_ITEM_FAILED)) {
			item->flags |= KVM_APF_ITEM_FAILED;
			apf->stats->apf_error++;
			trace_kvm_apf_error(apf->vcpu_id, item->token, item->gfn,
					    item->result);
		}
		if (item->flags & KVM_APF_ITEM_DELIVERED) {
			/* Told where it completed: only count and free it. */
			kvm_apf_gfn_del(&apf->gfns, item->gfn);
			apf->stats->apf_ready++;
			trace_kvm_apf_ready(apf->vcpu_id, item->token, item->gfn,
					    item->result);
			free_item(apf, item);
			continue;
		}
		/* A retried "page ready" has had all this done already. */
		if (!(item->flags & (KVM_APF_ITEM_WAKE_ALL |
				     KVM_APF_ITEM_READY_RETRY))) {
			if (!retry_failed(apf, item))
				return hold_failed(apf, item);
			kvm_apf_gfn_del(&apf->gfns, item->gfn);
			if (item->flags & KVM_APF_ITEM_RELEASED)
				apf->sync_gfn = item->gfn;
			else if (!item->result && apf->ops->prefault &&
				 (!(item->flags & KVM_APF_ITEM_USER) ||
				  !kvm_apf_fault_in(item)))
				/* Only a page that is there: never wait for the VMM. */
				apf->ops->prefault(apf, item);
			error_repeat(apf, item);
		}
		told = apf->ops->notify_ready(apf, item);
		if (told < 0 && requeue_ready(apf, item, told)) {
			apf->held = true;
			return 0;
		}
		if (told > 0) {
			apf->stats->apf_ready++;
			trace_kvm_apf_ready(apf->vcpu_id, item->token, item->gfn,
					    item->result);
			if (apf->ops->needs_ack)
				WRITE_ONCE(apf->ready_pending, true);
			else
				storm_reset(apf);
			if (told == KVM_APF_READY_BATCHED)
				batch = true;
		} else if (told < 0) {
			/* Lost, the area broken: no stat fits, traced only. */
			trace_kvm_apf_ready_lost(apf->vcpu_id, item->token,
						 item->gfn, told);
		}
		free_item(apf, item);
	}
	/* What is left, the guest cannot take now (the storm guard's strikes). */
	apf->held = !list_empty_careful(&apf->done);
	/*
	 * Or the backend could not read whether it can (its slot's page not
	 * yet populated by userfaultfd, the wait cut short by the VMM's kick):
	 * the acknowledgment this would wait for may never come (a lazy
	 * restore's wake-all), so look again at the next entry.
	 */
	if (apf->held && signal_pending(current))
		apf->ops->request(apf);
	return 0;
}
EXPORT_SYMBOL_GPL(kvm_apf_check_completion);

/**
 * kvm_apf_has_completions() - are completed faults waiting for the vCPU?
 * @apf: the vCPU's state
 *
 * A hint for directed yield, read without the lock: the guest may not be
 * able to take them now.  Any context.
 *
 * Return: true if the done list is not empty.
 */
bool kvm_apf_has_completions(struct kvm_apf_vcpu *apf)
{
	return !list_empty_careful(&apf->done);
}
EXPORT_SYMBOL_GPL(kvm_apf_has_completions);

/**
 * kvm_apf_ack() - the guest acknowledged a "page ready"
 * @apf: the vCPU's state
 *
 * Delivers the next completed fault, if any.  The guest takes "page ready"
 * again: the storm guard, if on, turns off.  vCPU context.
 */
void kvm_apf_ack(struct kvm_apf_vcpu *apf)
{
	storm_reset(apf);
	/* Pairs with smp_mb() in notify_vcpu(). */
	smp_store_mb(apf->ready_pending, false);
	kvm_apf_check_completion(apf);
}
EXPORT_SYMBOL_GPL(kvm_apf_ack);

/**
 * kvm_apf_wakeup_all() - queue a "page ready" that wakes every parked task
 * @apf: the vCPU's state
 *
 * Sent when the guest (re-)enables async PF, e.g. after migration, and after
 * the core dropped faults the guest may still wait for.  At most one is
 * queued at a time.  vCPU context.
 *
 * Return: 0 or -ENOMEM.
 */
int kvm_apf_wakeup_all(struct kvm_apf_vcpu *apf)
{
	struct kvm_apf_item *item;

	if (READ_ONCE(apf->wake_all_queued))
		return 0;

	item = kvm_apf_alloc_item(GFP_ATOMIC);
	if (!item)
		return -ENOMEM;
	item->apf = apf;
	item->token = KVM_APF_TOKEN_WAKE_ALL;
	item->flags = KVM_APF_ITEM_WAKE_ALL | KVM_APF_ITEM_COMPLETED;

	spin_lock(&apf->lock);
	list_add_tail(&item->queue, &apf->queue);
	list_add_tail(&item->link, &apf->done);
	apf->wake_all_queued = true;
	spin_unlock(&apf->lock);
	apf->queued++;

	/* Always: a re-enable may have made held completions deliverable. */
	apf->ops->request(apf);
	return 0;
}
EXPORT_SYMBOL_GPL(kvm_apf_wakeup_all);

/**
 * kvm_apf_user_ready() - the VMM resolved a fault
 * @apf: the vCPU's state
 * @token: the token of a fault set up with %KVM_APF_ITEM_USER
 * @status: 0 if the page is now present, or a -errno saying why it never
 *	will be
 *
 * Any context, concurrently with the vCPU; the caller keeps the vCPU alive
 * (e.g. a vCPU ioctl).
 *
 * An async candidate may be completed before the VMM decides on it: its
 * page is then in, and the guest is never told "not present" for it.
 *
 * Return: 0; -EINVAL, @status is not 0 or a -errno; -EXDEV, @token is
 * another vCPU's; -ENOENT, no VMM-resolved fault with @token is in flight;
 * -EALREADY, it was already completed.  On error nothing changed.
 */
int kvm_apf_user_ready(struct kvm_apf_vcpu *apf, u32 token, int status)
{
	struct kvm_apf_item *item;
	bool notified = false;
	int r = -ENOENT;

	if (status > 0 || status < -MAX_ERRNO)
		return -EINVAL;
	if ((token & (BIT(KVM_APF_TOKEN_ID_SHIFT) - 1)) != apf->vcpu_id)
		return -EXDEV;

	spin_lock(&apf->lock);
	list_for_each_entry(item, &apf->queue, queue) {
		if (item->token != token || !(item->flags & KVM_APF_ITEM_USER))
			continue;
		if (item->flags & KVM_APF_ITEM_COMPLETED) {
			r = -EALREADY;
		} else {
			notified = item->flags & KVM_APF_ITEM_NOTIFIED;
			queue_done_locked(apf, item, status);
			r = 0;
		}
		break;
	}
	spin_unlock(&apf->lock);

	if (!r)
		notify_vcpu(apf, notified);
	return r;
}
EXPORT_SYMBOL_GPL(kvm_apf_user_ready);

/**
 * kvm_apf_complete() - the VMM completes a fault by its token
 * @apf: the vCPU's state
 * @token: the token of the fault, as a memory-fault exit reported it
 * @status: 0, or a -errno
 *
 * A fault the VMM resolves (%KVM_APF_ITEM_USER) is completed with @status,
 * as by kvm_apf_user_ready().  A failed fault that KVM holds for the VMM
 * (it made KVM_RUN exit with KVM_MEMORY_EXIT_FLAG_ERROR and is retried on
 * every entry) is the VMM's way out: with a -errno the VMM gives up on it,
 * and KVM releases it on the next entry without retrying: the guest is told
 * "page ready" (if it was told "not present") and its retry of the access
 * is a synchronous fault (kvm_apf_setup() refuses that gfn once), which
 * fails with its own memory-fault exit (token 0) at the faulting
 * instruction; there the VMM injects what it wants (a machine check, an
 * external abort).  With 0 the VMM says it fixed the
 * backing: the next entry retries, as it would anyway.  vCPU context.
 *
 * Return: 0; -ENOENT, no fault with @token is in flight; -EALREADY, a
 * VMM-resolved fault was already completed; -EBUSY, a fault KVM resolves
 * that is not held for the VMM (still faulting in, or completed and not
 * yet freed by the vCPU); -EINVAL, @status is not 0 or a -errno.  On
 * error nothing changed.
 */
int kvm_apf_complete(struct kvm_apf_vcpu *apf, u32 token, int status)
{
	struct kvm_apf_item *item, *found = NULL;
	int r = 0;

	if (status > 0 || status < -MAX_ERRNO)
		return -EINVAL;

	spin_lock(&apf->lock);
	list_for_each_entry(item, &apf->queue, queue) {
		if (item->token == token &&
		    !(item->flags & KVM_APF_ITEM_WAKE_ALL)) {
			found = item;
			break;
		}
	}
	if (!found)
		r = -ENOENT;
	else if (found->flags & KVM_APF_ITEM_FAILED && found->result)
		found->flags |= status ? KVM_APF_ITEM_RELEASED : 0;
	else if (found->flags & KVM_APF_ITEM_USER)
		r = found->flags & KVM_APF_ITEM_COMPLETED ? -EALREADY : 1;
	else
		r = -EBUSY;
	spin_unlock(&apf->lock);

	if (r == 1)
		return kvm_apf_user_ready(apf, token, status);
	if (!r)
		apf->ops->request(apf);
	return r;
}
EXPORT_SYMBOL_GPL(kvm_apf_complete);

/**
 * kvm_apf_decide() - the VMM's answer to an async candidate
 * @apf: the vCPU's state
 * @accept: the VMM takes the fault: the guest is told "not present" before
 *	it next runs (kvm_apf_notify_accepted()), and the VMM completes it
 *
 * Called when the VMM runs the vCPU again after the candidate's exit.
 * Without @accept the candidate is dropped and the guest's retry of the
 * access is synchronous (kvm_apf_setup() refuses that gfn for the next
 * fault only, whatever its gfn);
 * if the VMM resolved the page meanwhile, the retry simply finds it.  A
 * candidate the VMM already completed stays for the completion check to
 * free: the guest is told nothing.  vCPU context.
 *
 * Return: true if a candidate was pending.
 */
bool kvm_apf_decide(struct kvm_apf_vcpu *apf, bool accept)
{
	struct kvm_apf_item *item = apf->candidate;
	bool completed, drop = false;

	if (!apf->deciding)
		return false;
	apf->deciding = false;
	spin_lock(&apf->lock);
	item->flags &= ~KVM_APF_ITEM_CANDIDATE;
	completed = item->flags & KVM_APF_ITEM_COMPLETED;
	if (!accept && !completed) {
		/* Out of the VMM's reach before the lock drops. */
		list_del(&item->queue);
		drop = true;
	}
	spin_unlock(&apf->lock);
	trace_kvm_apf_vmm_decided(apf->vcpu_id, item->token, item->gfn,
				  accept ? 1 : 0);

	if (accept && !completed) {
		/* Told at the completion check, before the guest runs. */
		apf->ops->request(apf);
		return true;
	}
	apf->candidate = NULL;
	if (drop) {
		kvm_apf_gfn_del(&apf->gfns, item->gfn);
		apf->declined_gfn = item->gfn;
		apf->queued--;
		kfree(item);
	}
	return true;
}
EXPORT_SYMBOL_GPL(kvm_apf_decide);

/**
 * kvm_apf_notify_accepted() - tell the guest of the fault the VMM accepted
 * @apf: the vCPU's state
 *
 * Before the guest runs again after the VMM accepted an async candidate:
 * the guest is told "not present" for it, if it can take that now (the
 * @can_notify op) and the VMM did not complete it already.  If it cannot,
 * the fault stays the VMM's to complete and the guest's retry waits for it
 * as for any fault in flight.  vCPU context.
 */
void kvm_apf_notify_accepted(struct kvm_apf_vcpu *apf)
{
	struct kvm_apf_item *item = apf->candidate;
	bool completed;

	if (!item || apf->deciding)
		return;
	apf->candidate = NULL;
	spin_lock(&apf->lock);
	completed = item->flags & KVM_APF_ITEM_COMPLETED;
	spin_unlock(&apf->lock);
	if (!completed && !apf->degraded &&
	    (!apf->ops->can_notify || apf->ops->can_notify(apf)))
		tell_not_present(apf, item);
}
EXPORT_SYMBOL_GPL(kvm_apf_notify_accepted);

/**
 * kvm_apf_owed() - the faults the VMM owes a completion for
 * @apf: the vCPU's state
 * @notices: where to describe them
 * @room: how many fit in @notices
 *
 * The VMM-owned faults it accepted (or that were posted to its ring) and
 * has not completed, oldest first.  vCPU context.
 *
 * Return: how many there are (more than @room if they did not all fit).
 */
u32 kvm_apf_owed(struct kvm_apf_vcpu *apf, struct kvm_apf_notice *notices,
		 u32 room)
{
	struct kvm_apf_item *item;
	u32 n = 0;

	spin_lock(&apf->lock);
	list_for_each_entry(item, &apf->queue, queue) {
		if ((item->flags & (KVM_APF_ITEM_USER | KVM_APF_ITEM_CANDIDATE |
				    KVM_APF_ITEM_COMPLETED)) !=
		    KVM_APF_ITEM_USER)
			continue;
		if (n < room) {
			notices[n].vcpu_id = apf->vcpu_id;
			notices[n].token = item->token;
			notices[n].gpa = gfn_to_gpa(item->gfn);
		}
		n++;
	}
	spin_unlock(&apf->lock);
	return n;
}
EXPORT_SYMBOL_GPL(kvm_apf_owed);

/**
 * kvm_apf_guest_enabled() - the guest (re-)enabled async PF
 * @apf: the vCPU's state
 *
 * A guest that enables async PF again without disabling it first (a
 * kexec'd or crash kernel, a guest restored by migration) knows nothing of
 * a "page ready" that the previous enable left unacknowledged: waiting for
 * its acknowledgment would hold every later "page ready" for ever.  Forget
 * it, and wake every task the guest may have parked.  The storm guard, if
 * on, turns off: the guest starts over.  vCPU context.
 *
 * Return: 0 or -ENOMEM (from queueing the wake-all).
 */
int kvm_apf_guest_enabled(struct kvm_apf_vcpu *apf)
{
	storm_reset(apf);
	/* As in kvm_apf_ack(): pairs with smp_mb() in notify_vcpu(). */
	smp_store_mb(apf->ready_pending, false);
	return kvm_apf_wakeup_all(apf);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_enabled);

/**
 * kvm_apf_wait_fault_ins() - wait until no fault-in the core started runs
 * @apf: the vCPU's state
 *
 * Every kernel fault-in queued so far has run (with
 * @deliver_on_completion, the guest was told "page ready" for it) or was
 * cancelled when this returns; the items stay for the vCPU to free.  Any
 * context that may sleep, concurrently with the vCPU: no item is touched.
 */
void kvm_apf_wait_fault_ins(struct kvm_apf_vcpu *apf)
{
	wait_event(apf->fault_ins_idle, !atomic_read(&apf->fault_ins));
}
EXPORT_SYMBOL_GPL(kvm_apf_wait_fault_ins);

/**
 * kvm_apf_clear() - drop every fault, telling the guest nothing
 * @apf: the vCPU's state
 *
 * For a guest that disabled async PF or a vCPU going away: cancels or waits
 * for every fault-in, frees every item.  A guest that still has async PF
 * enabled needs kvm_apf_flush() instead.  vCPU context.
 */
void kvm_apf_clear(struct kvm_apf_vcpu *apf)
{
	struct kvm_apf_item *item;

	for (;;) {
		spin_lock(&apf->lock);
		item = list_first_entry_or_null(&apf->queue,
						struct kvm_apf_item, queue);
		spin_unlock(&apf->lock);
		if (!item)
			break;
		/*
		 * A fault-in that has not started never will; one that is
		 * running is waited for (it then put the item on the done
		 * list, which is why that list is unlinked afterwards).  With
		 * deliver_on_completion every fault-in runs: its "page ready"
		 * is the guest's only way to wake the task it parked.
		 */
		if (item_has_work(item) && apf->ops->deliver_on_completion)
			flush_work(&item->work);
		else if (item_has_work(item) && cancel_work_sync(&item->work))
			fault_in_over(apf);
		/*
		 * Off both lists at once: the VMM may complete a fault of its
		 * own (kvm_apf_user_ready()) from another thread until then.
		 */
		spin_lock(&apf->lock);
		list_del_init(&item->link);
		list_del_init(&item->queue);
		spin_unlock(&apf->lock);
		free_item(apf, item);
	}

	WARN_ON_ONCE(apf->queued || !list_empty(&apf->done));
	apf->candidate = NULL;
	apf->deciding = false;
	apf->wake_all_queued = false;
	apf->sync_gfn = ~(gfn_t)0;
	apf->declined_gfn = ~(gfn_t)0;
	apf->err_repeats = 0;
	WRITE_ONCE(apf->ready_pending, false);
	kvm_apf_gfn_table_reset(&apf->gfns);
	apf->held = false;
	storm_reset(apf);
}
EXPORT_SYMBOL_GPL(kvm_apf_clear);

/**
 * kvm_apf_flush() - drop every fault, then wake every parked task
 * @apf: the vCPU's state
 *
 * For events after which queued faults cannot be delivered as they are
 * (e.g. the guest left paging mode) while async PF stays enabled: the guest
 * may have tasks parked on the dropped tokens, so it gets a wake-all.
 *
 * Return: 0 or -ENOMEM (from queueing the wake-all).
 */
int kvm_apf_flush(struct kvm_apf_vcpu *apf)
{
	kvm_apf_clear(apf);
	return kvm_apf_wakeup_all(apf);
}
EXPORT_SYMBOL_GPL(kvm_apf_flush);

#ifdef CONFIG_KVM_APF_KUNIT_TEST
#include "tests/core_kunit.h"
#include "tests/regress_kunit.h"
#include "tests/vmm_kunit.h"
#endif
