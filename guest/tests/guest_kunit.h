/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit: the guest side's shared table (sleep.c, which includes this).
 * Parked tasks are kthreads; the test plays the "page ready" handler.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>

struct apf_test_parker {
	struct kvm_apf_guest_fault fault;
	struct completion done;
	u32 status;
};

static int apf_test_park_fn(void *data)
{
	struct apf_test_parker *p = data;

	p->status = kvm_apf_guest_wait(&p->fault);
	complete(&p->done);
	return 0;
}

/* Is @token in the table: a task asleep on it, or (@early) its "ready"? */
static bool apf_test_has(u32 token, bool early)
{
	struct apf_bucket *b = apf_bucket(token);
	struct apf_sleeper *n;
	unsigned long flags;
	bool found = false;

	raw_spin_lock_irqsave(&b->lock, flags);
	hlist_for_each_entry(n, &b->list, link)
		if (n->token == token && n->early == early)
			found = true;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	return found;
}

/* A "not present" for @token as told to @cpu now. */
static void apf_test_fault(struct kvm_apf_guest_fault *f, u32 token, int cpu)
{
	f->token = token;
	f->cpu = cpu;
	f->seq = atomic_read(per_cpu_ptr(&apf_wake_all_seq, cpu));
	f->stamp = atomic64_read(&apf_early_stamp);
}

/*
 * A kthread waits for fault @f; returns once it is queued asleep or done
 * (generous bound: a loaded host may not run it for a while).
 */
static struct apf_test_parker *
apf_test_run(struct kunit *test, const struct kvm_apf_guest_fault *f)
{
	struct apf_test_parker *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	unsigned long end = jiffies + 30 * HZ;
	struct task_struct *t;

	KUNIT_ASSERT_NOT_NULL(test, p);
	p->fault = *f;
	init_completion(&p->done);
	t = kthread_run(apf_test_park_fn, p, "apf-park-%x", f->token);
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	while (!apf_test_has(f->token, false) && !completion_done(&p->done) &&
	       time_before(jiffies, end))
		usleep_range(500, 1000);
	return p;
}

/* A kthread parks on @token (told to @cpu); returns once it is asleep. */
static struct apf_test_parker *apf_test_park(struct kunit *test, u32 token,
					     int cpu)
{
	struct kvm_apf_guest_fault f;
	struct apf_test_parker *p;

	apf_test_fault(&f, token, cpu);
	p = apf_test_run(test, &f);
	KUNIT_ASSERT_TRUE(test, apf_test_has(token, false));
	/* Asleep, not merely queued: it stays so until woken. */
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&p->done));
	return p;
}

static bool apf_test_woke(struct apf_test_parker *p)
{
	return wait_for_completion_timeout(&p->done, 60 * HZ);
}

static int apf_test_this_cpu(void)
{
	return raw_smp_processor_id();
}

/* Another possible CPU than @cpu, or @cpu if there is none. */
static int apf_test_other_cpu(int cpu)
{
	int other = cpumask_any_but(cpu_possible_mask, cpu);

	return other < nr_cpu_ids ? other : cpu;
}

/*
 * "Page ready" after its "not present" but before its task parked: kept,
 * with its status, for it.
 */
static void guest_ready_before_park(struct kunit *test)
{
	struct kvm_apf_guest_fault f, g;

	apf_test_fault(&f, 0x1001, apf_test_this_cpu());
	apf_test_fault(&g, 0x1101, apf_test_this_cpu());
	kvm_apf_guest_wake(0x1001, EIO);
	kvm_apf_guest_wake(0x1101, 0);
	KUNIT_EXPECT_TRUE(test, apf_test_has(0x1001, true));
	KUNIT_EXPECT_TRUE(test, apf_test_has(0x1101, true));

	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), EIO);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x1001, true));
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&g), 0);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x1101, true));
}

/* Parked tasks wake by token, each with its own status, in any order. */
static void guest_park_then_ready(struct kunit *test)
{
	int cpu = apf_test_this_cpu();
	struct apf_test_parker *a = apf_test_park(test, 0x2001, cpu);
	struct apf_test_parker *b = apf_test_park(test, 0x2101, cpu);

	kvm_apf_guest_wake(0x2101, EFAULT);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(b));
	KUNIT_EXPECT_EQ(test, b->status, EFAULT);
	KUNIT_EXPECT_FALSE(test, completion_done(&a->done));
	KUNIT_EXPECT_TRUE(test, apf_test_has(0x2001, false));

	kvm_apf_guest_wake(0x2001, 0);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(a));
	KUNIT_EXPECT_EQ(test, a->status, 0);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x2001, false));
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x2001, true));
}

/*
 * A wake-all wakes the tasks parked from its CPU only, with status 0, and
 * keeps the early "page ready"s that still wait for their tasks.
 */
static void guest_wake_all_one_cpu(struct kunit *test)
{
	int cpu = apf_test_this_cpu(), other = apf_test_other_cpu(cpu);
	struct apf_test_parker *mine, *theirs;
	struct kvm_apf_guest_fault f;

	KUNIT_ASSERT_NE_MSG(test, cpu, other, "needs two CPUs (-smp 2)");
	mine = apf_test_park(test, 0x3001, cpu);
	theirs = apf_test_park(test, 0x3101, other);
	apf_test_fault(&f, 0x3201, cpu);
	kvm_apf_guest_wake(0x3201, ENOENT);

	kvm_apf_guest_wake_cpu(cpu);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(mine));
	KUNIT_EXPECT_EQ(test, mine->status, 0);
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&theirs->done));
	KUNIT_EXPECT_TRUE(test, apf_test_has(0x3201, true));
	kvm_apf_guest_wake_cpu(other);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(theirs));
	KUNIT_EXPECT_EQ(test, theirs->status, 0);

	/*
	 * The token form, from the "page ready" handler of the CPU it names:
	 * status 0 whatever it says.  The test stays on one CPU for it (it
	 * may have moved since @cpu was read).
	 */
	migrate_disable();
	cpu = smp_processor_id();
	other = apf_test_other_cpu(cpu);
	mine = apf_test_park(test, 0x3301, cpu);
	theirs = apf_test_park(test, 0x3401, other);
	kvm_apf_guest_wake(KVM_APF_GUEST_WAKE_ALL, EIO);
	migrate_enable();
	KUNIT_ASSERT_TRUE(test, apf_test_woke(mine));
	KUNIT_EXPECT_EQ(test, mine->status, 0);
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&theirs->done));
	kvm_apf_guest_wake_cpu(other);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(theirs));

	/* Both wake-alls left the early "page ready" for its task. */
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), ENOENT);
}

/*
 * A wake-all between a "not present" and its task parking (arm64 parks
 * from task work) covers it: the task does not sleep, as nothing would
 * wake it.  One that came before the "not present" does not.
 */
static void guest_wake_all_before_park(struct kunit *test)
{
	int cpu = apf_test_this_cpu();
	struct apf_test_parker *p;
	struct kvm_apf_guest_fault f;

	preempt_disable();
	kvm_apf_guest_fault_init(&f, 0x4001);
	preempt_enable();
	KUNIT_EXPECT_EQ(test, f.token, 0x4001);
	kvm_apf_guest_wake_cpu(f.cpu);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), 0);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x4001, false));

	p = apf_test_park(test, 0x4101, cpu);
	kvm_apf_guest_wake(0x4101, 0);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(p));
}

/*
 * Many tasks parked at once, tokens sharing buckets, woken in reverse
 * order from both CPUs: each gets exactly its own status.
 */
#define APF_TEST_MANY	12

static int apf_test_wake_fn(void *data)
{
	u32 *tok = data;

	kvm_apf_guest_wake(*tok, *tok & 0xff);
	return 0;
}

static void guest_many_parked(struct kunit *test)
{
	struct apf_test_parker *p[APF_TEST_MANY];
	u32 tok[APF_TEST_MANY];
	int i, cpu = apf_test_this_cpu();

	for (i = 0; i < APF_TEST_MANY; i++) {
		/* hash_32 of these collides often in 256 buckets. */
		tok[i] = 0x50000 + (i << APF_HASH_BITS) + i + 1;
		p[i] = apf_test_park(test, tok[i], cpu);
	}
	for (i = APF_TEST_MANY - 1; i >= 0; i--) {
		struct task_struct *t;

		t = kthread_create(apf_test_wake_fn, &tok[i], "apf-wake");
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
		kthread_bind(t, i % 2 ? cpu : apf_test_other_cpu(cpu));
		wake_up_process(t);
	}
	for (i = 0; i < APF_TEST_MANY; i++) {
		KUNIT_ASSERT_TRUE(test, apf_test_woke(p[i]));
		KUNIT_EXPECT_EQ(test, p[i]->status, tok[i] & 0xff);
		KUNIT_EXPECT_FALSE(test, apf_test_has(tok[i], false));
		KUNIT_EXPECT_FALSE(test, apf_test_has(tok[i], true));
	}
}

/*
 * A "page ready" no task took (its task never parked: arm64 had no slot for
 * it) is stale once the host reuses its token for a new "not present": the
 * new fault neither takes its error nor wakes for it, but parks until its
 * own "page ready", which it takes even if one came early; and the stale one
 * is dropped.  A task told before the stale one came and still on its way
 * then retries its access instead of sleeping forever.
 */
static void guest_stale_ready(struct kunit *test)
{
	struct kvm_apf_guest_fault f, old;
	struct apf_test_parker *p;
	int cpu;

	migrate_disable();	/* "page ready" comes to the CPU told */
	cpu = smp_processor_id();
	kvm_apf_guest_wake(0x6001, EIO);
	migrate_enable();
	KUNIT_EXPECT_TRUE(test, apf_test_has(0x6001, true));
	apf_test_fault(&f, 0x6001, cpu);
	p = apf_test_run(test, &f);
	KUNIT_EXPECT_FALSE_MSG(test, completion_done(&p->done),
			       "took the stale \"page ready\" (status %u)",
			       p->status);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x6001, true));
	kvm_apf_guest_wake(0x6001, 0);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(p));
	KUNIT_EXPECT_EQ(test, p->status, 0);

	/* Stale and its own, both early: it takes its own. */
	migrate_disable();
	cpu = smp_processor_id();
	kvm_apf_guest_wake(0x6101, EIO);
	apf_test_fault(&f, 0x6101, cpu);
	kvm_apf_guest_wake(0x6101, 0);
	migrate_enable();
	KUNIT_EXPECT_EQ_MSG(test, kvm_apf_guest_wait(&f), 0,
			    "took the stale \"page ready\"");
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x6101, true));

	/*
	 * A task told 0x6201 before the stale "page ready" came, still not
	 * parked when the token comes back: it does not sleep once the new
	 * fault dropped that "page ready".
	 */
	migrate_disable();
	cpu = smp_processor_id();
	apf_test_fault(&old, 0x6201, cpu);
	kvm_apf_guest_wake(0x6201, 0);
	migrate_enable();
	apf_test_fault(&f, 0x6201, cpu);
	p = apf_test_run(test, &f);
	KUNIT_EXPECT_FALSE(test, completion_done(&p->done));
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x6201, true));
	KUNIT_EXPECT_TRUE(test, apf_test_woke(apf_test_run(test, &old)));
	kvm_apf_guest_wake(0x6201, 0);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(p));
}

/* How many early "page ready"s @cpu has in the table. */
static unsigned int apf_test_count_early(int cpu)
{
	unsigned int i, count = 0;
	struct apf_sleeper *n;
	unsigned long flags;

	for (i = 0; i < ARRAY_SIZE(apf_sleepers); i++) {
		raw_spin_lock_irqsave(&apf_sleepers[i].lock, flags);
		hlist_for_each_entry(n, &apf_sleepers[i].list, link)
			count += n->early && n->cpu == cpu;
		raw_spin_unlock_irqrestore(&apf_sleepers[i].lock, flags);
	}
	return count;
}

/* Drop the early "page ready"s of tokens @first..@last. */
static void apf_test_drop_early(u32 first, u32 last)
{
	struct apf_sleeper *n;
	struct hlist_node *next;
	unsigned long flags;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(apf_sleepers); i++) {
		raw_spin_lock_irqsave(&apf_sleepers[i].lock, flags);
		hlist_for_each_entry_safe(n, next, &apf_sleepers[i].list, link)
			if (n->early && n->token >= first && n->token <= last) {
				hlist_del(&n->link);
				atomic_dec(per_cpu_ptr(&apf_early_count, n->cpu));
				kfree(n);
			}
		raw_spin_unlock_irqrestore(&apf_sleepers[i].lock, flags);
	}
}

/*
 * "Page ready"s no task ever takes (each task's fault had no slot, or the
 * host sent them wrongly) stay bounded: a CPU holds at most APF_EARLY_MAX.
 * A task whose early "page ready" went with them does not sleep.
 */
#define APF_TEST_FLOOD	(4 * APF_EARLY_MAX)

static void guest_unclaimed_ready_bounded(struct kunit *test)
{
	struct kvm_apf_guest_fault f;
	unsigned int n;
	u32 i;
	int cpu;

	migrate_disable();	/* "page ready" comes to the CPU told */
	cpu = smp_processor_id();
	apf_test_fault(&f, 0x70000, cpu);
	kvm_apf_guest_wake(0x70000, EIO);
	for (i = 1; i <= APF_TEST_FLOOD; i++)
		kvm_apf_guest_wake(0x70000 + i, EIO);
	n = apf_test_count_early(cpu);
	migrate_enable();
	KUNIT_EXPECT_LE_MSG(test, n, APF_EARLY_MAX,
			    "%u unclaimed \"page ready\"s kept", n);
	KUNIT_EXPECT_TRUE(test, apf_test_woke(apf_test_run(test, &f)));
	apf_test_drop_early(0x70000, 0x70000 + APF_TEST_FLOOD);
}

/* A ring as the host leaves it: @n entries from @tail, @tokens/@status. */
static struct kvm_apf_ready_ring *apf_test_ring(struct kunit *test, u32 tail,
						u32 n, const u32 *tokens,
						const u32 *status)
{
	struct kvm_apf_ready_ring *r = kunit_kzalloc(test, sizeof(*r),
						     GFP_KERNEL);
	u32 i;

	KUNIT_ASSERT_NOT_NULL(test, r);
	for (i = 0; i < n; i++) {
		r->entries[(tail + i) % KVM_APF_READY_RING_ENTRIES].token =
			tokens[i];
		r->entries[(tail + i) % KVM_APF_READY_RING_ENTRIES].status =
			status[i];
	}
	r->tail = tail;
	r->head = tail + n;
	return r;
}

/*
 * A batch: every entry taken in order, across the indices' wrap at 2^32
 * and the ring's, each task with its own status (an opted-in CPU), a
 * wake-all among them waking this CPU's tasks; @tail = @head after.
 */
static void guest_ring_batch(struct kunit *test)
{
	const u32 tokens[] = { 0xa001, 0xa101, KVM_APF_GUEST_WAKE_ALL };
	const u32 status[] = { EIO, ENOENT, EIO };
	struct apf_test_parker *a, *b, *c;
	struct kvm_apf_ready_ring *r;
	int cpu;

	migrate_disable();
	cpu = smp_processor_id();
	a = apf_test_park(test, 0xa001, cpu);
	b = apf_test_park(test, 0xa101, cpu);
	c = apf_test_park(test, 0xa201, cpu);	/* woken by the wake-all */
	r = apf_test_ring(test, 0xffffffff, 3, tokens, status);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_ring_drain(r, true), 3);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, r->tail, 2);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(a));
	KUNIT_ASSERT_TRUE(test, apf_test_woke(b));
	KUNIT_ASSERT_TRUE(test, apf_test_woke(c));
	/* Each by its own entry (the wake-all, last, gives 0). */
	KUNIT_EXPECT_EQ(test, a->status, EIO);
	KUNIT_EXPECT_EQ(test, b->status, ENOENT);
	KUNIT_EXPECT_EQ(test, c->status, 0);
	/* Nothing new: nothing taken. */
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_ring_drain(r, true), 0);
}

/* A CPU that did not opt in to error status reads every status as 0. */
static void guest_ring_no_errors(struct kunit *test)
{
	const u32 tokens[] = { 0xa301 }, status[] = { EIO };
	struct apf_test_parker *p = apf_test_park(test, 0xa301,
						  apf_test_this_cpu());
	struct kvm_apf_ready_ring *r = apf_test_ring(test, 7, 1, tokens, status);

	KUNIT_EXPECT_EQ(test, kvm_apf_guest_ring_drain(r, false), 1);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(p));
	KUNIT_EXPECT_EQ(test, p->status, 0);
}

/*
 * Indices the host could not have written (a torn or stray write: @tail
 * ahead of @head, or more entries than the ring holds) take no entry; the
 * ring is reset to empty (@tail = @head) for the host's next batch, and the
 * CPU's parked tasks wake (status 0) and retry, the entries being lost.
 */
static void guest_ring_impossible_indices(struct kunit *test)
{
	const u32 tokens[] = { 0xa401 }, status[] = { EIO };
	struct apf_test_parker *p, *q;
	struct kvm_apf_ready_ring *r;
	int cpu;

	migrate_disable();
	cpu = smp_processor_id();
	p = apf_test_park(test, 0xa401, cpu);
	r = apf_test_ring(test, 0, 1, tokens, status);
	r->head = 5;
	r->tail = 7;
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_ring_drain(r, true), 0);
	KUNIT_EXPECT_EQ(test, r->tail, 5);
	KUNIT_ASSERT_TRUE(test, apf_test_woke(p));
	KUNIT_EXPECT_EQ(test, p->status, 0);

	q = apf_test_park(test, 0xa501, cpu);
	r->head = KVM_APF_READY_RING_ENTRIES + 1;
	r->tail = 0;
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_ring_drain(r, true), 0);
	KUNIT_EXPECT_EQ(test, r->tail, KVM_APF_READY_RING_ENTRIES + 1);
	migrate_enable();
	KUNIT_ASSERT_TRUE(test, apf_test_woke(q));
	KUNIT_EXPECT_EQ(test, q->status, 0);
}

/* What a halted CPU takes: a "page ready" (or a wake-all) on its 2nd halt. */
static u32 apf_test_halt_token;
static int apf_test_halt_cpu;
static int apf_test_halts;

static void apf_test_halt(void)
{
	if (++apf_test_halts != 2)
		return;
	if (apf_test_halt_token == KVM_APF_GUEST_WAKE_ALL)
		kvm_apf_guest_wake_cpu(apf_test_halt_cpu);
	else
		kvm_apf_guest_wake(apf_test_halt_token, EIO);
}

static u32 apf_test_wait_in_place(struct kvm_apf_guest_fault *f, u32 token)
{
	apf_test_fault(f, 0x1a00, apf_test_this_cpu());
	apf_test_halt_token = token;
	apf_test_halt_cpu = f->cpu;
	apf_test_halts = 0;
	return kvm_apf_guest_wait_in_place(f, apf_test_halt);
}

/*
 * A context that cannot schedule halts in place until its "page ready"
 * (and takes its status) or a wake-all of its CPU; not at all if the
 * "page ready" came first.  The table holds nothing of it afterwards.
 */
static void guest_wait_in_place(struct kunit *test)
{
	long in_place = atomic_long_read(&apf_stats.in_place);
	struct kvm_apf_guest_fault f;

	KUNIT_EXPECT_EQ(test, apf_test_wait_in_place(&f, 0x1a00), EIO);
	KUNIT_EXPECT_EQ(test, apf_test_halts, 2);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x1a00, false));
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x1a00, true));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&apf_stats.in_place),
			in_place + 1);

	KUNIT_EXPECT_EQ(test, apf_test_wait_in_place(&f, KVM_APF_GUEST_WAKE_ALL),
			0);
	KUNIT_EXPECT_EQ(test, apf_test_halts, 2);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x1a00, false));

	apf_test_fault(&f, 0x1a01, apf_test_this_cpu());
	kvm_apf_guest_wake(0x1a01, ENXIO);
	apf_test_halts = 0;
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait_in_place(&f, apf_test_halt),
			ENXIO);
	KUNIT_EXPECT_EQ(test, apf_test_halts, 0);
	KUNIT_EXPECT_FALSE(test, apf_test_has(0x1a01, true));
}

static struct kunit_case kvm_apf_guest_cases[] = {
	KUNIT_CASE(guest_ready_before_park),
	KUNIT_CASE(guest_park_then_ready),
	KUNIT_CASE(guest_wake_all_one_cpu),
	KUNIT_CASE(guest_wake_all_before_park),
	KUNIT_CASE(guest_many_parked),
	KUNIT_CASE(guest_stale_ready),
	KUNIT_CASE(guest_unclaimed_ready_bounded),
	KUNIT_CASE(guest_ring_batch),
	KUNIT_CASE(guest_ring_no_errors),
	KUNIT_CASE(guest_ring_impossible_indices),
	KUNIT_CASE(guest_wait_in_place),
	{}
};

static struct kunit_suite kvm_apf_guest_suite = {
	.name = "kvm_apf_guest",
	.test_cases = kvm_apf_guest_cases,
};

kunit_test_suite(kvm_apf_guest_suite);
