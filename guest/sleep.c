// SPDX-License-Identifier: GPL-2.0
/*
 * KVM asynchronous page faults, guest side: tasks parked by token.
 *
 * The design is x86's (arch/x86/kernel/kvm.c since 2010), moved here so
 * that every arch parks and wakes the same way, with these changes: "page
 * ready" carries a status to the task, a task parks after its "not
 * present" (arm64 parks from task work, not from the exception) so a
 * wake-all that came in between must still count, a wake-all frees no
 * early "page ready" (x86 unlinked and leaked it), and an early "page
 * ready" goes only to a fault told before it, and does not stay forever.
 *
 * Early "page ready"s.  One is kept when no task is parked on its token:
 * on arm64 its task has yet to run the task work that parks it.  Only a
 * fault whose "not present" came before it can be its task: the host says
 * "page ready" for a token only after "not present" for it, and to the same
 * CPU, which runs the "not present" handler to its end first.  So each
 * early "page ready" takes a stamp from a 64-bit count (it never wraps),
 * each fault notes that count when told, and a fault takes only a later
 * stamp.  One from before is stale: it is an older fault's with the same
 * token (the host reuses a vCPU's tokens, after 2^20 faults), whose task
 * never parked (arm64 had no slot for it, the host sent it wrongly...);
 * x86 gave that one's wake-up, and this table its error, to the new fault.
 *
 * Stale ones go: a fault that parks drops those of its token, and a CPU
 * keeps at most APF_EARLY_MAX early "page ready"s (below), however many
 * the host sends that no task takes.  Dropping one moves its CPU's
 * wake-all count: a task still on its way to park for it (told 2^20 faults
 * ago, or one of too many) retries its access instead of sleeping forever.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/hash.h>
#include <linux/kvm_apf_guest.h>
#include <linux/kvm_para.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/swait.h>
#include <linux/uaccess.h>

#define APF_HASH_BITS	8

/*
 * Early "page ready"s one CPU holds at most.  One that is not stale waits
 * for a fault told on that CPU whose task has not parked yet: on x86 none
 * (the #PF handler parks before it enables interrupts), on arm64 at most
 * one per task-work slot (16 per CPU) and the few tasks between their slot
 * and parking.  The one that goes beyond it makes the CPU drop them all at
 * once (their tasks, if any, retry their access): the table keeps at most
 * APF_EARLY_MAX of them per CPU, whatever the host sends.
 */
#define APF_EARLY_MAX	64

/*
 * A task asleep on @token, or (@early) a "page ready" that came before its
 * task parked, holding @status for it, with its @stamp.
 */
struct apf_sleeper {
	struct hlist_node link;
	struct swait_queue_head wq;
	u64 stamp;
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

/* Per CPU: how many wake-alls it had, and how many early "ready"s it holds. */
static DEFINE_PER_CPU(atomic_t, apf_wake_all_seq);
static DEFINE_PER_CPU(atomic_t, apf_early_count);

/* How many early "page ready"s there were: the last one's stamp. */
static atomic64_t apf_early_stamp;

/*
 * What this guest was told, for its tests and its admin (debugfs
 * kvm_apf_guest/stats): "page not present"s taken, "page ready"s (wake-alls
 * included, as the host counts them), of which wake-alls and errors, and
 * the tasks parked now; and the batches of "page ready" taken from the
 * ring (each one notification and one acknowledgment); and the waits in
 * place, where a kernel-mode fault could not schedule (in_place).  With no fault in
 * flight, not_present == ready - wake_all when no wake-all came, and the
 * host's counts are the same.
 */
static struct {
	atomic_long_t not_present;
	atomic_long_t ready;
	atomic_long_t wake_all;
	atomic_long_t error;
	atomic_long_t parked;
	atomic_long_t batches;
	atomic_long_t in_place;
} apf_stats;

static struct apf_bucket *apf_bucket(u32 token)
{
	return &apf_sleepers[hash_32(token, APF_HASH_BITS)];
}

/* The task parked on @token. */
static struct apf_sleeper *apf_find_parked(struct apf_bucket *b, u32 token)
{
	struct apf_sleeper *n;

	hlist_for_each_entry(n, &b->list, link)
		if (n->token == token && !n->early)
			return n;
	return NULL;
}

/*
 * Under the bucket lock: unlink early "page ready" @e onto @gone, to be
 * freed once the lock is dropped (the allocator may sleep on PREEMPT_RT).
 */
static void apf_early_unlink(struct apf_sleeper *e, struct hlist_head *gone)
{
	hlist_del(&e->link);
	atomic_dec(per_cpu_ptr(&apf_early_count, e->cpu));
	hlist_add_head(&e->link, gone);
}

static void apf_early_free(struct hlist_head *gone)
{
	struct apf_sleeper *e;
	struct hlist_node *next;

	hlist_for_each_entry_safe(e, next, gone, link)
		kfree(e);
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
	fault->stamp = atomic64_read(&apf_early_stamp);
	atomic_long_inc(&apf_stats.not_present);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_fault_init);

/* Is early "page ready" @e later than the "not present" of @fault? */
static bool apf_early_after(const struct apf_sleeper *e,
			    const struct kvm_apf_guest_fault *fault)
{
	return e->stamp > fault->stamp;
}

/*
 * Queue @n for @fault, unless its "page ready" or a wake-all of its CPU
 * already came: then return false with the status in @status.  Drops the
 * stale early "page ready"s of its token.
 */
static bool apf_queue(struct apf_bucket *b, struct apf_sleeper *n,
		      const struct kvm_apf_guest_fault *fault, u32 *status)
{
	struct apf_sleeper *e, *mine = NULL;
	struct hlist_node *next;
	HLIST_HEAD(gone);
	bool park;

	*status = 0;
	raw_spin_lock(&b->lock);
	/* Read before a stale drop below moves the count. */
	park = atomic_read(per_cpu_ptr(&apf_wake_all_seq, fault->cpu)) ==
	       fault->seq;
	hlist_for_each_entry_safe(e, next, &b->list, link) {
		if (!e->early || e->token != fault->token)
			continue;
		if (apf_early_after(e, fault)) {
			if (!mine || e->stamp < mine->stamp)
				mine = e;
			continue;
		}
		/*
		 * Stale.  A task told this token before @e came, still on its
		 * way to park, must not sleep for it: its CPU's count moves.
		 * The same bucket lock orders this with that task's check.
		 */
		apf_early_unlink(e, &gone);
		atomic_inc(per_cpu_ptr(&apf_wake_all_seq, e->cpu));
	}
	if (mine) {
		*status = mine->status;
		apf_early_unlink(mine, &gone);
		park = false;
	}
	if (park) {
		n->token = fault->token;
		n->cpu = fault->cpu;
		n->status = 0;
		n->early = false;
		init_swait_queue_head(&n->wq);
		hlist_add_head(&n->link, &b->list);
	}
	raw_spin_unlock(&b->lock);
	apf_early_free(&gone);
	return park;
}

/* Asleep until @n is unhashed: its "page ready" or a wake-all. */
static void apf_sleep(struct apf_sleeper *n)
{
	DECLARE_SWAITQUEUE(wait);

	for (;;) {
		prepare_to_swait_exclusive(&n->wq, &wait, TASK_UNINTERRUPTIBLE);
		if (hlist_unhashed(&n->link))
			break;
		local_irq_enable();
		schedule();
		local_irq_disable();
	}
	finish_swait(&n->wq, &wait);
}

/* @halt (or sleep) until the page of @fault is ready: its status. */
static u32 apf_wait(const struct kvm_apf_guest_fault *fault,
		    void (*halt)(void))
{
	struct apf_bucket *b = apf_bucket(fault->token);
	struct apf_sleeper n;
	unsigned long flags;
	u32 status;

	local_irq_save(flags);
	if (!apf_queue(b, &n, fault, &status))
		goto out;
	atomic_long_inc(&apf_stats.parked);
	if (halt) {
		atomic_long_inc(&apf_stats.in_place);
		while (!hlist_unhashed_lockless(&n.link))
			halt();
	} else {
		apf_sleep(&n);
	}
	atomic_long_dec(&apf_stats.parked);
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

/**
 * kvm_apf_guest_kernel_may_sleep() - may the faulting kernel code sleep?
 *
 * For "page not present" taken in kernel mode as an exception (x86's #VE,
 * arm64's abort): nothing the kernel counts forbids it (which it does only
 * with CONFIG_PREEMPT_COUNT): no preemption, interrupt or softirq count,
 * no atomic user access (pagefault_disable()), no RCU read-side section;
 * and the task is running (TASK_RUNNING: not between setting its state and
 * calling schedule()).  The arch adds that interrupts were on and that the
 * faulting instruction is a user access, where upstream's page fault
 * handlers sleep in kernel code; elsewhere the CPU waits in place.
 *
 * Return: true if nothing of the above forbids sleeping.
 */
bool kvm_apf_guest_kernel_may_sleep(void)
{
	return IS_ENABLED(CONFIG_PREEMPT_COUNT) && !preempt_count() &&
	       !pagefault_disabled() && !rcu_preempt_depth() &&
	       READ_ONCE(current->__state) == TASK_RUNNING;
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_kernel_may_sleep);

/**
 * kvm_apf_guest_wait() - park the current task until its page is ready
 * @fault: the "page not present" it got, from kvm_apf_guest_fault_init()
 *
 * Sleeps (uninterruptibly, as for a page read from disk) unless the "page
 * ready" (one that came after the "not present") or a wake-all of the CPU
 * already came.  May be called with interrupts disabled (x86 calls it from
 * the #PF handler): they are enabled only while asleep.
 *
 * Return: the status "page ready" carried: 0, or the positive errno saying
 * the page will never be there (0 after a wake-all).
 */
u32 kvm_apf_guest_wait(const struct kvm_apf_guest_fault *fault)
{
	return apf_wait(fault, NULL);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_wait);

/**
 * kvm_apf_guest_wait_in_place() - wait for the page without scheduling
 * @fault: the "page not present" it got, from kvm_apf_guest_fault_init()
 * @halt: waits for the next interrupt and lets it in; called, and returns,
 *	with interrupts disabled (x86: sti; hlt; cli)
 *
 * For a context that cannot schedule, in kernel mode with interrupts on
 * (preemption disabled, say): the CPU halts, taking interrupts, until the
 * "page ready" or a wake-all of the CPU, both of which arrive on it.  On
 * the CPU that was told, with interrupts disabled.
 *
 * Return: as kvm_apf_guest_wait().
 */
u32 kvm_apf_guest_wait_in_place(const struct kvm_apf_guest_fault *fault,
				void (*halt)(void))
{
	return apf_wait(fault, halt);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_wait_in_place);

/* Under the bucket lock. */
static void apf_wake_one(struct apf_sleeper *n, u32 status)
{
	n->status = status;
	hlist_del_init(&n->link);
	if (swq_has_sleeper(&n->wq))
		swake_up_one(&n->wq);
}

/*
 * Move @cpu's wake-all count, then wake every task parked from @cpu, or
 * (@drop_early) drop its early "page ready"s instead.  Count first, then
 * scan: a task that queues after the scan passed its bucket sees the new
 * count in apf_queue() and does not sleep.
 */
static void apf_sweep_cpu(int cpu, bool drop_early)
{
	struct apf_sleeper *n;
	struct hlist_node *next;
	unsigned long flags;
	int i;

	atomic_inc(per_cpu_ptr(&apf_wake_all_seq, cpu));
	smp_mb__after_atomic();	/* pairs with the bucket lock in apf_queue() */
	for (i = 0; i < ARRAY_SIZE(apf_sleepers); i++) {
		struct apf_bucket *b = &apf_sleepers[i];
		HLIST_HEAD(gone);

		raw_spin_lock_irqsave(&b->lock, flags);
		hlist_for_each_entry_safe(n, next, &b->list, link) {
			if (n->cpu != cpu || n->early != drop_early)
				continue;
			if (drop_early)
				apf_early_unlink(n, &gone);
			else
				apf_wake_one(n, 0);
		}
		raw_spin_unlock_irqrestore(&b->lock, flags);
		apf_early_free(&gone);
	}
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
	apf_sweep_cpu(cpu, false);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_wake_cpu);

/**
 * kvm_apf_guest_wake() - deliver a "page ready"
 * @token: its token; KVM_APF_GUEST_WAKE_ALL wakes every task parked from
 *	this CPU
 * @status: its status (0, or a positive errno), returned to the task
 *
 * From the "page ready" handler, on the CPU that was told "not present".
 * If the task has not parked yet, the status is kept for it (an early
 * "page ready", at most APF_EARLY_MAX per CPU); that needs a GFP_ATOMIC
 * allocation, retried (as on x86) until it succeeds or the task parks.
 */
void kvm_apf_guest_wake(u32 token, u32 status)
{
	struct apf_bucket *b = apf_bucket(token);
	struct apf_sleeper *n, *early = NULL;
	unsigned long flags;
	int full = -1;

	atomic_long_inc(&apf_stats.ready);
	if (status)
		atomic_long_inc(&apf_stats.error);
	if (token == KVM_APF_GUEST_WAKE_ALL) {
		atomic_long_inc(&apf_stats.wake_all);
		kvm_apf_guest_wake_cpu(smp_processor_id());
		return;
	}
again:
	raw_spin_lock_irqsave(&b->lock, flags);
	n = apf_find_parked(b, token);
	if (n) {
		apf_wake_one(n, status);
	} else {
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
		early->stamp = atomic64_inc_return(&apf_early_stamp);
		hlist_add_head(&early->link, &b->list);
		if (atomic_inc_return(this_cpu_ptr(&apf_early_count)) >
		    APF_EARLY_MAX)
			full = early->cpu;
		early = NULL;
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	kfree(early);
	/* More than any task of this CPU can be on its way for: drop all. */
	if (full >= 0)
		apf_sweep_cpu(full, true);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_wake);

/**
 * kvm_apf_guest_ring_drain() - take every batched "page ready"
 * @ring: this CPU's ring of completions (after its shared area)
 * @errors: this CPU opted in to error status (else statuses read as 0)
 *
 * From the "page ready" handler, before its one acknowledgment: each entry
 * from @tail up to @head is kvm_apf_guest_wake()'d, in order, then @tail
 * says they are taken.  Indices the host could not have written (@tail
 * ahead of @head, or behind it by more than the ring holds) are repaired
 * (@tail = @head), and since the entries between are lost, every task this
 * CPU parked wakes and retries its access (as for a wake-all).
 *
 * Return: the entries taken.
 */
u32 kvm_apf_guest_ring_drain(struct kvm_apf_ready_ring *ring, bool errors)
{
	/* The host wrote the entries before @head. */
	u32 head = smp_load_acquire(&ring->head);
	u32 tail = READ_ONCE(ring->tail), n = head - tail, i;
	struct kvm_apf_ready_entry e;

	if (n > KVM_APF_READY_RING_ENTRIES) {
		pr_warn_ratelimited("kvm_apf: ready ring head %u, tail %u: reset\n",
				    head, tail);
		WRITE_ONCE(ring->tail, head);
		kvm_apf_guest_wake_cpu(smp_processor_id());
		return 0;
	}
	for (i = 0; i < n; i++, tail++) {
		e = ring->entries[tail % KVM_APF_READY_RING_ENTRIES];
		kvm_apf_guest_wake(e.token, errors ? e.status : 0);
	}
	/* Taken: the host may write them again after the acknowledgment. */
	smp_store_release(&ring->tail, tail);
	atomic_long_inc(&apf_stats.batches);
	return n;
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_ring_drain);

static int apf_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "not_present %ld\nready %ld\nwake_all %ld\nerror %ld\nparked %ld\nbatches %ld\nin_place %ld\n",
		   atomic_long_read(&apf_stats.not_present),
		   atomic_long_read(&apf_stats.ready),
		   atomic_long_read(&apf_stats.wake_all),
		   atomic_long_read(&apf_stats.error),
		   atomic_long_read(&apf_stats.parked),
		   atomic_long_read(&apf_stats.batches),
		   atomic_long_read(&apf_stats.in_place));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(apf_stats);

static int __init apf_stats_init(void)
{
	struct dentry *dir = debugfs_create_dir("kvm_apf_guest", NULL);

	debugfs_create_file("stats", 0444, dir, NULL, &apf_stats_fops);
	return 0;
}
late_initcall(apf_stats_init);

#ifdef CONFIG_KVM_APF_GUEST_KUNIT_TEST
#include "tests/guest_kunit.h"
#endif
