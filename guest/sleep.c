// SPDX-License-Identifier: GPL-2.0
/*
 * KVM asynchronous page faults, guest side: tasks parked by token.
 *
 * The design is x86's (arch/x86/kernel/kvm.c since 2010), moved here so
 * that every arch parks and wakes the same way, with three changes: "page
 * ready" carries a status to the task, a task parks after its "not
 * present" (arm64 parks from task work, not from the exception) so a
 * wake-all that came in between must still count, and a wake-all frees no
 * early "page ready" (x86 unlinked and leaked it).
 */
#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/kvm_apf_guest.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/swait.h>

#define APF_HASH_BITS	8

/*
 * A task asleep on @token, or (@early) a "page ready" that came before its
 * task parked, holding @status for it.
 */
struct apf_sleeper {
	struct hlist_node link;
	struct swait_queue_head wq;
	u32 token;
	u32 status;
	int cpu;
	bool early;
};

static struct apf_bucket {
	raw_spinlock_t lock;
	struct hlist_head list;
} apf_sleepers[1 << APF_HASH_BITS] = {
	[0 ... (1 << APF_HASH_BITS) - 1] = {
		.lock = __RAW_SPIN_LOCK_UNLOCKED(apf_sleepers.lock),
	},
};

/* Per CPU: how many wake-alls it had. */
static DEFINE_PER_CPU(atomic_t, apf_wake_all_seq);

static struct apf_bucket *apf_bucket(u32 token)
{
	return &apf_sleepers[hash_32(token, APF_HASH_BITS)];
}

static struct apf_sleeper *apf_find(struct apf_bucket *b, u32 token)
{
	struct apf_sleeper *n;

	hlist_for_each_entry(n, &b->list, link)
		if (n->token == token)
			return n;
	return NULL;
}

/**
 * kvm_apf_guest_fault_init() - note a "page not present" as it arrives
 * @fault: where to note it
 * @token: its token
 *
 * Call on the CPU that was told, before anything can wake that CPU's
 * tasks (in the notification's handler).
 */
void kvm_apf_guest_fault_init(struct kvm_apf_guest_fault *fault, u32 token)
{
	fault->token = token;
	fault->cpu = smp_processor_id();
	fault->seq = atomic_read(this_cpu_ptr(&apf_wake_all_seq));
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_fault_init);

/*
 * Queue @n for @fault, unless its "page ready" or a wake-all of its CPU
 * already came: then return false with the status in @status.
 */
static bool apf_queue(struct apf_bucket *b, struct apf_sleeper *n,
		      const struct kvm_apf_guest_fault *fault, u32 *status)
{
	struct apf_sleeper *e;

	*status = 0;
	raw_spin_lock(&b->lock);
	e = apf_find(b, fault->token);
	if (e && e->early) {
		hlist_del(&e->link);
		raw_spin_unlock(&b->lock);
		*status = e->status;
		kfree(e);
		return false;
	}
	if (atomic_read(per_cpu_ptr(&apf_wake_all_seq, fault->cpu)) !=
	    fault->seq) {
		raw_spin_unlock(&b->lock);
		return false;
	}
	n->token = fault->token;
	n->cpu = fault->cpu;
	n->status = 0;
	n->early = false;
	init_swait_queue_head(&n->wq);
	hlist_add_head(&n->link, &b->list);
	raw_spin_unlock(&b->lock);
	return true;
}

/**
 * kvm_apf_guest_wait() - park the current task until its page is ready
 * @fault: the "page not present" it got, from kvm_apf_guest_fault_init()
 *
 * Sleeps (uninterruptibly, as for a page read from disk) unless the "page
 * ready" or a wake-all of the CPU already came.  May be called with
 * interrupts disabled (x86 calls it from the #PF handler): they are enabled
 * only while asleep.
 *
 * Return: the status "page ready" carried: 0, or the positive errno saying
 * the page will never be there (0 after a wake-all).
 */
u32 kvm_apf_guest_wait(const struct kvm_apf_guest_fault *fault)
{
	struct apf_bucket *b = apf_bucket(fault->token);
	DECLARE_SWAITQUEUE(wait);
	struct apf_sleeper n;
	unsigned long flags;
	u32 status;

	local_irq_save(flags);
	if (!apf_queue(b, &n, fault, &status))
		goto out;
	for (;;) {
		prepare_to_swait_exclusive(&n.wq, &wait, TASK_UNINTERRUPTIBLE);
		if (hlist_unhashed(&n.link))
			break;
		local_irq_enable();
		schedule();
		local_irq_disable();
	}
	finish_swait(&n.wq, &wait);
	/*
	 * The waker unhashed @n and woke its queue under the bucket lock:
	 * once that lock is free again it no longer touches @n (which is on
	 * this stack), and its store of the status is visible.
	 */
	raw_spin_lock(&b->lock);
	status = n.status;
	raw_spin_unlock(&b->lock);
out:
	local_irq_restore(flags);
	return status;
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_wait);

/* Under the bucket lock. */
static void apf_wake_one(struct apf_sleeper *n, u32 status)
{
	n->status = status;
	hlist_del_init(&n->link);
	if (swq_has_sleeper(&n->wq))
		swake_up_one(&n->wq);
}

/**
 * kvm_apf_guest_wake_cpu() - wake every task parked from @cpu
 * @cpu: the CPU whose outstanding faults the host dropped
 *
 * For a wake-all, and when async PF is turned off on @cpu (CPU offline):
 * each task parked from @cpu resumes with status 0 and retries its access,
 * and a task about to park from @cpu does not.  Early "page ready"s stay for
 * their tasks.
 */
void kvm_apf_guest_wake_cpu(int cpu)
{
	struct apf_sleeper *n;
	struct hlist_node *next;
	unsigned long flags;
	int i;

	/*
	 * Count first, then scan: a task that queues after the scan passed
	 * its bucket sees the new count in apf_queue() and does not sleep.
	 */
	atomic_inc(per_cpu_ptr(&apf_wake_all_seq, cpu));
	smp_mb__after_atomic();	/* pairs with the bucket lock in apf_queue() */
	for (i = 0; i < ARRAY_SIZE(apf_sleepers); i++) {
		struct apf_bucket *b = &apf_sleepers[i];

		raw_spin_lock_irqsave(&b->lock, flags);
		hlist_for_each_entry_safe(n, next, &b->list, link)
			if (n->cpu == cpu && !n->early)
				apf_wake_one(n, 0);
		raw_spin_unlock_irqrestore(&b->lock, flags);
	}
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_wake_cpu);

/**
 * kvm_apf_guest_wake() - deliver a "page ready"
 * @token: its token; KVM_APF_GUEST_WAKE_ALL wakes every task parked from
 *	this CPU
 * @status: its status (0, or a positive errno), returned to the task
 *
 * From the "page ready" handler.  If the task has not parked yet, the
 * status is kept for it; that needs a GFP_ATOMIC allocation, retried (as
 * on x86) until it succeeds or the task parks.
 */
void kvm_apf_guest_wake(u32 token, u32 status)
{
	struct apf_bucket *b = apf_bucket(token);
	struct apf_sleeper *n, *early = NULL;
	unsigned long flags;

	if (token == KVM_APF_GUEST_WAKE_ALL) {
		kvm_apf_guest_wake_cpu(smp_processor_id());
		return;
	}
again:
	raw_spin_lock_irqsave(&b->lock, flags);
	n = apf_find(b, token);
	if (n && !n->early) {
		apf_wake_one(n, status);
	} else if (!n) {
		if (!early) {
			raw_spin_unlock_irqrestore(&b->lock, flags);
			early = kzalloc(sizeof(*early), GFP_ATOMIC);
			if (!early)
				cpu_relax();
			goto again;
		}
		early->token = token;
		early->status = status;
		early->cpu = smp_processor_id();
		early->early = true;
		hlist_add_head(&early->link, &b->list);
		early = NULL;
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	kfree(early);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_wake);

#ifdef CONFIG_KVM_APF_GUEST_KUNIT_TEST
#include "tests/guest_kunit.h"
#endif
