/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests for the async PF core, included at the end of core.c.  A fake
 * backend records every call the core makes; kernel fault-ins are replaced
 * through the backend's fault_in op, so they can succeed, fail or block.
 */
#include <kunit/test.h>
#include <kunit/static_stub.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/sched/signal.h>

#define FAKE_VCPU_ID	5
#define FAKE_MAX_LOG	1024

struct fake_vcpu {
	struct kvm_apf_vcpu apf;
	struct kvm_apf_stats stats;
	bool tell_not_present;		/* not_present() tells the guest */
	u32 not_present_flags;		/* and returns these with NOTIFIED */
	bool deliverable;		/* can_dequeue() returns this */
	atomic_t requests;
	atomic_t kicks;
	wait_queue_head_t kicked;	/* woken by every kick */
	int n_not_present;
	int n_present;
	int present_fail;		/* the next this many present() fail */
	int n_present_failed;
	bool not_listening;		/* present() tells nothing, returns 0 */
	int n_ready;
	u32 present_token[FAKE_MAX_LOG];
	int present_result[FAKE_MAX_LOG];
	/* kernel fault-in */
	int fault_result;
	unsigned long dead_hva;		/* fault-ins of this hva fail */
	unsigned long moved;		/* gfn_to_hva() adds this */
	bool no_slot;			/* gfn_to_hva() finds no memslot */
	bool block;			/* fault-ins wait for release */
	struct completion release;
	struct completion started;	/* completed as each fault-in starts */
	atomic_t fault_ins;		/* fault-ins that have started */
	bool record;			/* each fault-in records, of its thread: */
	char worker[TASK_COMM_LEN];	/* the name ("kworker/u..." if unbound) */
	bool on_own_work;		/* that it ran its own item's work */
};

static struct fake_vcpu *to_fake(struct kvm_apf_vcpu *apf)
{
	return container_of(apf, struct fake_vcpu, apf);
}

static u32 fake_not_present(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	to_fake(apf)->n_not_present++;
	if (!to_fake(apf)->tell_not_present)
		return 0;
	return KVM_APF_ITEM_NOTIFIED | to_fake(apf)->not_present_flags;
}

static int fake_present(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	struct fake_vcpu *f = to_fake(apf);

	/* Writing "page ready" into the guest failed (nothing logged). */
	if (f->present_fail) {
		f->present_fail--;
		f->n_present_failed++;
		return -EFAULT;
	}
	if (f->not_listening)
		return 0;
	if (f->n_present < FAKE_MAX_LOG) {
		f->present_token[f->n_present] = item->token;
		f->present_result[f->n_present] = item->result;
	}
	f->n_present++;
	return 1;
}

static bool fake_can_dequeue(struct kvm_apf_vcpu *apf)
{
	return to_fake(apf)->deliverable;
}

static void fake_request(struct kvm_apf_vcpu *apf)
{
	atomic_inc(&to_fake(apf)->requests);
}

static void fake_kick(struct kvm_apf_vcpu *apf)
{
	atomic_inc(&to_fake(apf)->kicks);
	wake_up(&to_fake(apf)->kicked);
}

static void fake_ready(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	to_fake(apf)->n_ready++;
}

static int fake_fault_in(struct kvm_apf_item *item)
{
	struct fake_vcpu *f = to_fake(item->apf);

	atomic_inc(&f->fault_ins);
	if (f->record) {	/* one fault-in at a time */
		get_task_comm(f->worker, current);
		f->on_own_work = current_work() == &item->work;
	}
	complete(&f->started);
	if (f->block)
		wait_for_completion(&f->release);
	if (f->dead_hva && item->hva == f->dead_hva)
		return -EFAULT;
	return f->fault_result;
}

/* A valid-looking host address for @gfn (never dereferenced). */
static unsigned long hva_of(gfn_t gfn)
{
	return 0x7f0000000000UL + (gfn << PAGE_SHIFT);
}

static unsigned long fake_gfn_to_hva(struct kvm_apf_vcpu *apf, gfn_t gfn)
{
	struct fake_vcpu *f = to_fake(apf);

	return f->no_slot ? KVM_HVA_ERR_BAD : hva_of(gfn) + f->moved;
}

static const struct kvm_apf_ops fake_ops = {
	.notify_not_present = fake_not_present,
	.notify_ready = fake_present,
	.can_dequeue = fake_can_dequeue,
	.request = fake_request,
	.kick = fake_kick,
	.prefault = fake_ready,
	.gfn_to_hva = fake_gfn_to_hva,
	.fault_in = fake_fault_in,
	.needs_ack = true,
};

static void fake_exit(void *data)
{
	struct fake_vcpu *f = data;

	complete_all(&f->release);
	kvm_apf_vcpu_destroy(&f->apf);
}

static struct fake_vcpu *fake_vcpu(struct kunit *test, u32 max)
{
	struct fake_vcpu *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->tell_not_present = true;
	f->deliverable = true;
	init_completion(&f->release);
	init_completion(&f->started);
	init_waitqueue_head(&f->kicked);
	KUNIT_ASSERT_EQ(test, kvm_apf_vcpu_init(&f->apf, &fake_ops, NULL,
						system_unbound_wq, &f->stats,
						FAKE_VCPU_ID, max), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fake_exit, f), 0);
	return f;
}

static int setup_kernel(struct fake_vcpu *f, gfn_t gfn)
{
	return kvm_apf_setup(&f->apf, gfn << PAGE_SHIFT, gfn, hva_of(gfn), 0,
			     NULL);
}

static int setup_user(struct fake_vcpu *f, gfn_t gfn)
{
	return kvm_apf_setup(&f->apf, gfn << PAGE_SHIFT, gfn, hva_of(gfn),
			     KVM_APF_ITEM_USER, NULL);
}

static struct kvm_apf_item *last_item(struct fake_vcpu *f)
{
	return list_last_entry(&f->apf.queue, struct kvm_apf_item, queue);
}

static int done_count(struct fake_vcpu *f)
{
	struct kvm_apf_item *item;
	int n = 0;

	spin_lock(&f->apf.lock);
	list_for_each_entry(item, &f->apf.done, link)
		n++;
	spin_unlock(&f->apf.lock);
	return n;
}

static void core_init_rejects_bad_args(struct kunit *test)
{
	struct workqueue_struct *wq = system_unbound_wq;
	struct kvm_apf_ops no_kick = fake_ops;
	struct kvm_apf_stats stats;
	struct kvm_apf_vcpu apf;

	no_kick.kick = NULL;

	KUNIT_EXPECT_EQ(test, kvm_apf_vcpu_init(&apf, &no_kick, NULL, wq, &stats,
						0, 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_vcpu_init(&apf, &fake_ops, NULL, wq, NULL,
						0, 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_vcpu_init(&apf, &fake_ops, NULL, NULL,
						&stats, 0, 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_vcpu_init(&apf, &fake_ops, NULL, wq, &stats,
						0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_vcpu_init(&apf, &fake_ops, NULL, wq, &stats,
						0, KVM_APF_MAX_LIMIT + 1),
			-EINVAL);
}

static void destroy_wq(void *wq)
{
	destroy_workqueue(wq);
}

/* A vCPU whose kernel fault-ins run on @wq, destroyed before it. */
static struct fake_vcpu *fake_vcpu_on(struct kunit *test,
				      struct workqueue_struct *wq)
{
	struct fake_vcpu *f;

	KUNIT_ASSERT_NOT_NULL(test, wq);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, destroy_wq, wq), 0);
	f = fake_vcpu(test, 8);
	kvm_apf_vcpu_destroy(&f->apf);
	KUNIT_ASSERT_EQ(test, kvm_apf_vcpu_init(&f->apf, &fake_ops, NULL, wq,
						&f->stats, FAKE_VCPU_ID, 8), 0);
	return f;
}

/*
 * Kernel fault-ins run on the queue the vCPU was given (its VM's): on one
 * that runs one at a time, a second fault-in waits while the first blocks.
 */
static void core_fault_ins_on_given_queue(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu_on(test,
					   alloc_ordered_workqueue("kunit-apf", 0));
	struct kvm_apf_item *second;

	f->block = true;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 42), 0);
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 43), 0);
	second = last_item(f);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&f->started, 60 * HZ),
			0UL);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 1);
	KUNIT_EXPECT_EQ(test, work_busy(&second->work), WORK_BUSY_PENDING);

	complete_all(&f->release);
	flush_workqueue(f->apf.wq);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 2);
	KUNIT_EXPECT_EQ(test, done_count(f), 2);
}

/*
 * A VM's queue (kvm_apf_alloc_wq()) is unbound: its fault-ins run on
 * "kworker/uN:M" threads, not on the "kworker/N:M" of the CPU of the vCPU
 * that queued them, whose thread they would preempt.
 */
static void core_vm_queue_is_unbound(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu_on(test, kvm_apf_alloc_wq());

	f->record = true;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 42), 0);
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, atomic_read(&f->fault_ins), 1);
	KUNIT_EXPECT_TRUE(test, f->on_own_work);
	KUNIT_EXPECT_TRUE_MSG(test, str_has_prefix(f->worker, "kworker/u"),
			      "fault-in ran on %s", f->worker);
}

/* not present -> fault-in -> completion -> ready, one of each, same token. */
static void core_kernel_fault_roundtrip(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	struct kvm_apf_item *item;
	u32 token;

	KUNIT_ASSERT_EQ(test, setup_kernel(f, 42), 0);
	item = last_item(f);
	token = item->token;
	KUNIT_EXPECT_EQ(test, f->n_not_present, 1);
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_pending(&f->apf, 42));
	KUNIT_EXPECT_NE(test, token, 0U);
	KUNIT_EXPECT_NE(test, token, KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, token & 0xfff, (u32)FAKE_VCPU_ID);

	flush_work(&item->work);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 1);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->kicks), 1);

	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], token);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
	KUNIT_EXPECT_EQ(test, f->n_ready, 1);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 42));
	KUNIT_EXPECT_EQ(test, f->stats.apf_not_present, 1ULL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 1ULL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 0ULL);
}

/*
 * A failed fault-in reaches a guest that opted in to error status as the
 * item's result, once, with no retry.
 */
static void core_error_to_opted_in_guest(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	f->apf.report_errors = true;
	f->fault_result = -EIO;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 7), 0);
	flush_work(&last_item(f)->work);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_result[0], -EIO);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 1ULL);
	/* No prefault of a page that is not there, no synchronous retry. */
	KUNIT_EXPECT_EQ(test, f->n_ready, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 1);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 7));
}

/* One async fault on @gfn, completed and delivered, and its "ready" acked. */
static void fault_delivered(struct kunit *test, struct fake_vcpu *f, gfn_t gfn)
{
	KUNIT_ASSERT_EQ(test, setup_kernel(f, gfn), 0);
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	kvm_apf_ack(&f->apf);
}

/*
 * A guest that opted in but retries a page after its failure (it ignores
 * the status) is told %KVM_APF_ERROR_REPEATS failures in a row at most, on
 * one page or taking turns on two: the next fault on the page of the last
 * is synchronous, so that its failure goes to the VMM instead of looping.
 * A fault that completes starts the count again.
 */
static void core_error_repeats_go_sync(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	int i;

	f->apf.report_errors = true;
	f->fault_result = -EIO;
	for (i = 0; i < KVM_APF_ERROR_REPEATS - 1; i++)
		fault_delivered(test, f, 7);
	f->fault_result = 0;
	fault_delivered(test, f, 7);		/* completed: counted afresh */
	f->fault_result = -EIO;
	for (i = 0; i < KVM_APF_ERROR_REPEATS - 1; i++)
		fault_delivered(test, f, i % 2 ? 9 : 7);	/* taking turns */
	fault_delivered(test, f, 7);		/* the last, on page 7 */
	KUNIT_EXPECT_EQ(test, f->n_present, 2 * KVM_APF_ERROR_REPEATS);
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 9), 0);	/* page 9 stays async */
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 7), -ECANCELED);
	/* That one was the synchronous retry: async again, counted afresh. */
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 7), 0);
}

/*
 * A guest that did not opt in is never told "ready" for a page that is not
 * there: the fault is retried synchronously, then reported to the caller
 * (the VMM exit) and kept.  Re-entering without a fix gives the same report
 * and changes nothing; once the backing is fixed, re-entry delivers it.
 */
static void core_error_exits_to_vmm(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	struct kvm_apf_item *item;
	u32 token, other;
	int i;

	f->fault_result = -EFAULT;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 11), 0);
	item = last_item(f);
	token = item->token;
	flush_work(&item->work);
	f->fault_result = 0;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 12), 0);
	other = last_item(f)->token;
	flush_work(&last_item(f)->work);
	f->fault_result = -EFAULT;

	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
		KUNIT_EXPECT_EQ(test, f->apf.failed.gfn, 11ULL);
		KUNIT_EXPECT_EQ(test, f->apf.failed.token, token);
		KUNIT_EXPECT_EQ(test, f->apf.failed.error, -EFAULT);
		/* Nothing told, nothing dropped, counted once, asked again. */
		KUNIT_EXPECT_EQ(test, f->n_present, 0);
		KUNIT_EXPECT_EQ(test, f->apf.queued, 2U);
		KUNIT_EXPECT_EQ(test, done_count(f), 2);
		KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_pending(&f->apf, 11));
		KUNIT_EXPECT_EQ(test, f->stats.apf_error, 1ULL);
		KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 3 + i);
		/* One per completion (two), then one per failed look. */
		KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), 3 + i);
	}
	/* The ack path retries too, and asks for the exit the same way. */
	kvm_apf_ack(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);

	f->fault_result = 0;	/* the VMM fixed the backing */
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], token);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
	KUNIT_EXPECT_EQ(test, f->n_ready, 1);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 11));
	kvm_apf_ack(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 2);
	KUNIT_EXPECT_EQ(test, f->present_token[1], other);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 1ULL);
}

/*
 * Opting in is not enough when the guest was never told "not present": it
 * does not know the token and waits for the page itself, so the failure
 * goes to the VMM.  A VMM-resolved fault completed with an error goes the
 * same way.
 */
static void core_error_unnotified_exits(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 user;

	f->apf.report_errors = true;
	f->tell_not_present = false;
	f->fault_result = -EIO;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 20), 0);
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->apf.failed.error, -EIO);
	/* The exit's token is 0: the guest was never told one. */
	KUNIT_EXPECT_EQ(test, f->apf.failed.token, 0U);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	kvm_apf_clear(&f->apf);

	f->apf.report_errors = false;
	f->tell_not_present = true;
	KUNIT_ASSERT_EQ(test, setup_user(f, 21), 0);
	user = last_item(f)->token;
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, user, -ENOSPC), 0);
	/*
	 * KVM only looks for the page of a fault the VMM failed: the VMM's
	 * errno is what its exit reports.
	 */
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->apf.failed.token, user);
	KUNIT_EXPECT_EQ(test, f->apf.failed.error, -ENOSPC);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 2ULL);
}

/*
 * A guest that opted in but was told in a way that cannot carry an error
 * (x86's #PF vmexit to a nested hypervisor) gets no error status: the
 * failure goes to the VMM, as if it had not opted in.
 */
static void core_error_no_error_delivery_exits(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token;

	f->apf.report_errors = true;
	f->not_present_flags = KVM_APF_ITEM_NO_ERROR;
	f->fault_result = -EIO;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 30), 0);
	token = last_item(f)->token;
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->apf.failed.token, token);
	KUNIT_EXPECT_EQ(test, f->apf.failed.error, -EIO);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);

	f->fault_result = 0;	/* fixed: "ready", status 0 */
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
}

struct classify_case {
	int fault_in;	/* what the fault-in returned */
	int status;	/* what an opted-in guest is told */
};

static const struct classify_case classify_cases[] = {
	{ -EFAULT, -EFAULT },	/* the backing is gone: permanent */
	{ -EIO, -EIO },		/* a backend's permanent error */
	{ -EHWPOISON, 0 },	/* poison: the guest's retry meets it */
	{ -ENOMEM, 0 },		/* transient: retried */
	{ -EAGAIN, 0 },
	{ -EINTR, 0 },
};

static void classify_desc(const struct classify_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "fault-in %d", c->fault_in);
}

KUNIT_ARRAY_PARAM(classify, classify_cases, classify_desc);

/*
 * Only a permanent failure is reported.  Hardware poison keeps upstream's
 * semantics (the guest retries; the synchronous fault sends the VMM its
 * hwpoison SIGBUS) instead of becoming an error status, and a transient
 * failure (a memory cgroup's -ENOMEM) is retried instead of killing the
 * guest's task; the same for a guest that did not opt in, which gets no
 * exit for them.
 */
static void core_errors_classified(struct kunit *test)
{
	const struct classify_case *c = test->param_value;
	struct fake_vcpu *f = fake_vcpu(test, 8);

	f->apf.report_errors = true;
	f->fault_result = c->fault_in;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 7), 0);
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_ASSERT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_result[0], c->status);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, c->status ? 1ULL : 0ULL);

	kvm_apf_ack(&f->apf);
	f->apf.report_errors = false;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 8), 0);
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf),
			c->status ? -EFAULT : 0);
}

/*
 * The VMM fixed a failed fault by moving the memory: a new memslot holds
 * the gfn elsewhere and the old mapping is gone.  The retry translates the
 * gfn again and succeeds; with no memslot left at all, the fault is released
 * ("ready", no prefault): the guest's retry meets the gpa as it now is.
 */
static void core_memslot_change_on_retry(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token;

	f->fault_result = -EFAULT;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 40), 0);
	token = last_item(f)->token;
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);

	f->fault_result = 0;
	f->dead_hva = hva_of(40);
	f->moved = 1UL << 40;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_ASSERT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], token);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
	KUNIT_EXPECT_EQ(test, f->n_ready, 1);
	kvm_apf_ack(&f->apf);

	f->fault_result = -EFAULT;
	f->moved = 0;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 41), 0);
	token = last_item(f)->token;
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	f->no_slot = true;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_ASSERT_EQ(test, f->n_present, 2);
	KUNIT_EXPECT_EQ(test, f->present_token[1], token);
	KUNIT_EXPECT_EQ(test, f->present_result[1], 0);
	KUNIT_EXPECT_EQ(test, f->n_ready, 1);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 41));
}

/*
 * The VMM's way out of a held failure: KVM_APF_COMPLETE with an error
 * releases it on the next entry, without another retry; with 0 the next
 * entry retries as before.  Bad input changes nothing.
 */
static void core_vmm_gives_up_failed_fault(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token, busy, user;
	int fault_ins;

	f->fault_result = -EFAULT;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 50), 0);
	token = last_item(f)->token;
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_ASSERT_EQ(test, f->apf.failed.token, token);

	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, token + 1, -EIO), -ENOENT);
	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, KVM_APF_TOKEN_WAKE_ALL,
					       -EIO), -ENOENT);
	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, token, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, token, 0), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);

	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, token, -EIO), 0);
	fault_ins = atomic_read(&f->fault_ins);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), fault_ins);
	KUNIT_ASSERT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], token);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
	KUNIT_EXPECT_EQ(test, f->n_ready, 0);	/* no prefault of a bad page */
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, token, -EIO), -ENOENT);
	kvm_apf_ack(&f->apf);
	/* The guest's retry is synchronous (its exit has token 0), once. */
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 50), -ECANCELED);
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 50), 0);
	kvm_apf_clear(&f->apf);

	/* A fault KVM still resolves, and a VMM-resolved one. */
	f->block = true;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 51), 0);
	busy = last_item(f)->token;
	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, busy, -EIO), -EBUSY);
	KUNIT_ASSERT_EQ(test, setup_user(f, 52), 0);
	user = last_item(f)->token;
	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, user, 0), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_complete(&f->apf, user, 0), -EALREADY);
	complete_all(&f->release);
}

/*
 * A guest that enables async PF again with a "page ready" unacknowledged (a
 * crash kernel) never saw it: the next "page ready" (the wake-all of the
 * enable) is delivered without waiting for that acknowledgment.
 */
static void core_reenable_forgets_pending_ready(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	KUNIT_ASSERT_EQ(test, setup_user(f, 1), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, last_item(f)->token, 0), 0);
	kvm_apf_check_completion(&f->apf);
	KUNIT_ASSERT_TRUE(test, f->apf.ready_pending);

	KUNIT_ASSERT_EQ(test, kvm_apf_guest_enabled(&f->apf), 0);
	kvm_apf_check_completion(&f->apf);
	KUNIT_ASSERT_EQ(test, f->n_present, 2);
	KUNIT_EXPECT_EQ(test, f->present_token[1], KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_ASSERT_EQ(test, setup_user(f, 2), 0);
	kvm_apf_ack(&f->apf);
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, last_item(f)->token, 0), 0);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 3);
}

static void core_duplicate_gfn_is_sync(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	KUNIT_ASSERT_EQ(test, setup_user(f, 9), 0);
	KUNIT_EXPECT_EQ(test, setup_user(f, 9), -EEXIST);
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 9), -EEXIST);
	KUNIT_EXPECT_EQ(test, f->n_not_present, 1);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 1U);
	KUNIT_EXPECT_EQ(test, f->stats.apf_dup_suppressed, 2ULL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_sync_fallback, 2ULL);
	KUNIT_EXPECT_EQ(test, setup_user(f, 10), 0);
}

static const u32 core_limits[] = { 1, 4, 64, 500 };

static void core_limit_desc(const u32 *max, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "max %u", *max);
}

KUNIT_ARRAY_PARAM(core_limit, core_limits, core_limit_desc);

/* The limit is a parameter; at the limit faults are sync, and recover. */
static void core_limit_is_a_parameter(struct kunit *test)
{
	const u32 max = *(const u32 *)test->param_value;
	struct fake_vcpu *f = fake_vcpu(test, max);
	u32 i;

	for (i = 0; i < max; i++)
		KUNIT_ASSERT_EQ(test, setup_user(f, 100 + i), 0);
	KUNIT_EXPECT_EQ(test, setup_user(f, 99), -EBUSY);
	KUNIT_EXPECT_EQ(test, f->stats.apf_sync_fallback, 1ULL);

	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, last_item(f)->token, 0), 0);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->apf.queued, max - 1);
	KUNIT_EXPECT_EQ(test, setup_user(f, 99), 0);
}

static void core_tokens_unique_after_wrap(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 64);
	struct kvm_apf_item *a, *b;
	u32 i, t;

	KUNIT_ASSERT_EQ(test, setup_user(f, 1), 0);	/* id 1 */
	a = last_item(f);
	KUNIT_EXPECT_EQ(test, a->token,
			(1U << KVM_APF_TOKEN_ID_SHIFT) | FAKE_VCPU_ID);

	/* Jump to the end of the id space: the next ids wrap past 0 and 1. */
	f->apf.next_id = KVM_APF_TOKEN_ID_MASK - 1;
	KUNIT_ASSERT_EQ(test, setup_user(f, 2), 0);	/* last id */
	KUNIT_ASSERT_EQ(test, setup_user(f, 3), 0);	/* wraps */
	b = last_item(f);
	KUNIT_EXPECT_TRUE(test, f->apf.wrapped);
	KUNIT_EXPECT_EQ(test, b->token,
			(2U << KVM_APF_TOKEN_ID_SHIFT) | FAKE_VCPU_ID);

	for (i = 4; i < 64; i++) {
		KUNIT_ASSERT_EQ(test, setup_user(f, i), 0);
		t = last_item(f)->token;
		KUNIT_EXPECT_NE(test, t, 0U);
		KUNIT_EXPECT_NE(test, t, KVM_APF_TOKEN_WAKE_ALL);
		KUNIT_EXPECT_EQ(test, t & 0xfff, (u32)FAKE_VCPU_ID);
		list_for_each_entry(a, &f->apf.queue, queue)
			if (a != last_item(f))
				KUNIT_EXPECT_NE(test, a->token, t);
	}
}

static struct fake_vcpu *fake_vcpu_id(struct kunit *test, u32 vcpu_id)
{
	struct fake_vcpu *f = fake_vcpu(test, 64);

	/* Re-initialised with another id (nothing in flight yet). */
	kvm_apf_vcpu_destroy(&f->apf);
	KUNIT_ASSERT_EQ(test, kvm_apf_vcpu_init(&f->apf, &fake_ops, NULL,
						system_unbound_wq, &f->stats,
						vcpu_id, 64), 0);
	return f;
}

/*
 * The guest keeps one table of parked tasks for all its CPUs: two vCPUs of
 * a VM never have the same token in flight, whatever their ids, including
 * ids of 4096 and more (x86 accepts up to 16383), whose low 12 bits are
 * another vCPU's id.  Ids of 12 bits keep x86's old layout wherever the
 * architecture accepts no others.
 */
static void core_tokens_unique_per_vm(struct kunit *test)
{
	u32 high = KVM_MAX_VCPU_IDS - 1, low = high & 0xfff;
	struct fake_vcpu *a, *b;
	u32 i, j, ta[64], tb[64];

	if (low == high)
		low = FAKE_VCPU_ID;
	a = fake_vcpu_id(test, low);
	b = fake_vcpu_id(test, high);
	/* An id whose bits would reach the token's id bits is refused. */
	KUNIT_EXPECT_EQ(test, kvm_apf_vcpu_init(&b->apf, &fake_ops, NULL,
						system_unbound_wq, &b->stats,
						BIT(KVM_APF_TOKEN_ID_SHIFT), 8),
			-EINVAL);
	for (i = 0; i < 64; i++) {
		KUNIT_ASSERT_EQ(test, setup_user(a, 100 + i), 0);
		ta[i] = last_item(a)->token;
		KUNIT_ASSERT_EQ(test, setup_user(b, 100 + i), 0);
		tb[i] = last_item(b)->token;
	}
	for (i = 0; i < 64; i++)
		for (j = 0; j < 64; j++)
			KUNIT_EXPECT_NE_MSG(test, ta[i], tb[j],
					    "vCPUs %u and %u share a token", low,
					    high);
	if (KVM_MAX_VCPU_IDS <= 4096)
		KUNIT_EXPECT_EQ(test, tb[0], (1U << 12) | high);
}

/* needs_ack: one "ready" at a time, the next after the guest's ack. */
static void core_one_ready_until_ack(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 t1, t2;

	f->apf.report_errors = true;	/* t1's error reaches the guest */

	KUNIT_ASSERT_EQ(test, setup_user(f, 1), 0);
	t1 = last_item(f)->token;
	KUNIT_ASSERT_EQ(test, setup_user(f, 2), 0);
	t2 = last_item(f)->token;
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, t2, 0), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, t1, -EIO), 0);

	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_TRUE(test, f->apf.ready_pending);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);

	kvm_apf_ack(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 2);
	/* In completion order, each with its own result. */
	KUNIT_EXPECT_EQ(test, f->present_token[0], t2);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
	KUNIT_EXPECT_EQ(test, f->present_token[1], t1);
	KUNIT_EXPECT_EQ(test, f->present_result[1], -EIO);
}

/*
 * A completion always asks the vCPU to look; it kicks unless a "ready" is
 * pending (the ack will look), but always if the guest was never told "not
 * present" (the vCPU itself waits for the page).
 */
static void core_kick_rules(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	KUNIT_ASSERT_EQ(test, setup_user(f, 1), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, last_item(f)->token, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->kicks), 1);
	kvm_apf_check_completion(&f->apf);	/* ready pending from now */

	KUNIT_ASSERT_EQ(test, setup_user(f, 2), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, last_item(f)->token, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->kicks), 1);

	f->tell_not_present = false;
	KUNIT_ASSERT_EQ(test, setup_user(f, 3), 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_not_present, 2ULL);
	kvm_apf_ack(&f->apf);		/* delivers 2: pending again */
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, last_item(f)->token, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->kicks), 2);
}

static void core_can_dequeue_holds_completions(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	f->deliverable = false;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 1), 0);
	flush_work(&last_item(f)->work);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);

	f->deliverable = true;
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, done_count(f), 0);
}

static void core_wakeup_all(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), 1);

	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);

	kvm_apf_ack(&f->apf);
	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 2);
}

/* Dropping faults the guest may wait for is always followed by a wake-all. */
static void core_flush_sends_wake_all(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	KUNIT_ASSERT_EQ(test, setup_user(f, 1), 0);
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 2), 0);
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, kvm_apf_flush(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 1U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 1));
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], KVM_APF_TOKEN_WAKE_ALL);
}

static int destroy_thread(void *data)
{
	struct fake_vcpu *f = data;

	kvm_apf_clear(&f->apf);
	return 0;
}

/*
 * Teardown with items in every state: a fault-in still running, a kernel
 * item completed but not delivered, a VMM item pending, a VMM item completed,
 * a wake-all.  Teardown waits for the running fault-in, frees everything and
 * tells the guest nothing.
 */
static void core_teardown_every_state(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	struct task_struct *t;
	u32 user_done;

	f->deliverable = false;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 1), 0);		/* completed */
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, setup_user(f, 2), 0);		/* pending */
	KUNIT_ASSERT_EQ(test, setup_user(f, 3), 0);		/* completed */
	user_done = last_item(f)->token;
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, user_done, 0), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	f->block = true;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 4), 0);		/* running */
	while (atomic_read(&f->fault_ins) < 2)
		usleep_range(1000, 2000);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 5U);

	t = kthread_run(destroy_thread, f, "apf-teardown");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	get_task_struct(t);
	msleep(50);
	/* Still waiting for the blocked fault-in. */
	KUNIT_EXPECT_EQ(test, f->apf.queued > 0, true);
	complete_all(&f->release);
	kthread_stop(t);
	put_task_struct(t);

	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&f->apf.queue));
	KUNIT_EXPECT_TRUE(test, list_empty(&f->apf.done));
	KUNIT_EXPECT_EQ(test, f->apf.gfns.count, 0U);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	/* Completing a dropped fault is refused, changes nothing. */
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, user_done, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
}

/*
 * s390's flavour (@deliver_on_completion, no ack): "page ready" is told by
 * the worker, concurrently for several faults, so the fake counts it
 * atomically.
 */
static atomic_t on_completion_told;

static int fake_ready_on_completion(struct kvm_apf_vcpu *apf,
				    struct kvm_apf_item *item)
{
	atomic_inc(&on_completion_told);
	return 1;
}

static const struct kvm_apf_ops fake_ops_on_completion = {
	.notify_not_present = fake_not_present,
	.notify_ready = fake_ready_on_completion,
	.can_dequeue = fake_can_dequeue,
	.request = fake_request,
	.kick = fake_kick,
	.prefault = fake_ready,
	.gfn_to_hva = fake_gfn_to_hva,
	.fault_in = fake_fault_in,
	.deliver_on_completion = true,
};

static struct fake_vcpu *fake_vcpu_on_completion(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	kvm_apf_vcpu_destroy(&f->apf);
	KUNIT_ASSERT_EQ(test, kvm_apf_vcpu_init(&f->apf, &fake_ops_on_completion,
						NULL, system_unbound_wq,
						&f->stats, FAKE_VCPU_ID, 8),
			0);
	atomic_set(&on_completion_told, 0);
	return f;
}

/*
 * Told "page ready" where the fault completed, once, whatever the fault-in
 * gave (no error status in this flavour: the guest's retry meets the
 * failure); the vCPU's check only frees it, and the vCPU is not woken for
 * it.  A fault the guest was not told of still goes through the check.
 */
static void core_deliver_on_completion(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu_on_completion(test);

	KUNIT_ASSERT_EQ(test, setup_kernel(f, 7), 0);
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, atomic_read(&on_completion_told), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->kicks), 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 0ULL);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&on_completion_told), 1);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 1ULL);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 7));
	KUNIT_EXPECT_FALSE(test, READ_ONCE(f->apf.ready_pending));

	/* Not told "not present": the vCPU waits for it; told at its check. */
	f->tell_not_present = false;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 8), 0);
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, atomic_read(&on_completion_told), 1);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&on_completion_told), 2);

	/* A failure is told too, counted, and never held for the VMM. */
	f->tell_not_present = true;
	f->fault_result = -EFAULT;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 9), 0);
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, atomic_read(&on_completion_told), 3);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 1ULL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 3ULL);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 9));
}

/*
 * kvm_apf_wait_fault_ins() (s390's KVM_DEV_FLIC_APF_DISABLE_WAIT): every
 * fault-in has run, and told its "page ready", when it returns; the items
 * stay for the vCPU to free.
 */
static void core_wait_fault_ins(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu_on_completion(test);
	gfn_t gfn;

	for (gfn = 1; gfn <= 8; gfn++)
		KUNIT_ASSERT_EQ(test, setup_kernel(f, gfn), 0);
	kvm_apf_wait_fault_ins(&f->apf);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 8);
	KUNIT_EXPECT_EQ(test, atomic_read(&on_completion_told), 8);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 8U);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	/* Nothing in flight: returns at once. */
	kvm_apf_wait_fault_ins(&f->apf);
}

/*
 * Dropping the queue (the guest's pfault handshake cancelled, a reset)
 * runs every fault-in instead of cancelling it: a task the guest parked has
 * no wake-all to wake it in this flavour.
 */
static void core_deliver_on_completion_clear_runs_all(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu_on_completion(test);
	gfn_t gfn;

	for (gfn = 1; gfn <= 8; gfn++)
		KUNIT_ASSERT_EQ(test, setup_kernel(f, gfn), 0);
	kvm_apf_clear(&f->apf);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 8);
	KUNIT_EXPECT_EQ(test, atomic_read(&on_completion_told), 8);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&f->apf.done));
}

#define CONCURRENT_ITEMS	256
#define CONCURRENT_TOTAL	(CONCURRENT_ITEMS + 64)
/* Generous: a QEMU vCPU here may be descheduled by its host for seconds. */
#define CONCURRENT_TIMEOUT	(120 * HZ)

struct completer {
	struct fake_vcpu *f;
	u32 *tokens;
	int first, step, errors;
	struct completion finished;
};

static int completer_thread(void *data)
{
	struct completer *c = data;
	int i;

	for (i = c->first; i < CONCURRENT_ITEMS; i += c->step)
		if (kvm_apf_user_ready(&c->f->apf, c->tokens[i], 0))
			c->errors++;
	complete(&c->finished);
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/*
 * The fake vCPU as KVM runs one: it looks at its completions only when a
 * request was made, and sleeps until kicked unless a "page ready" is
 * pending (then the guest's ack looks, as the guest acks without a kick).
 * A completion whose kick was lost leaves it asleep: the test times out.
 * Return: false on timeout.
 */
static bool fake_vcpu_run(struct fake_vcpu *f, int target, unsigned long end)
{
	int seen = atomic_read(&f->kicks);

	while (f->n_present < target) {
		if (READ_ONCE(f->apf.ready_pending)) {
			kvm_apf_ack(&f->apf);	/* the guest's ack */
			continue;
		}
		if (atomic_xchg(&f->requests, 0)) {
			kvm_apf_check_completion(&f->apf);
			continue;
		}
		if (time_after(jiffies, end) ||
		    !wait_event_timeout(f->kicked, atomic_read(&f->kicks) != seen,
					end - jiffies))
			return false;
		seen = atomic_read(&f->kicks);
	}
	return true;
}

/*
 * Many completions at once from every CPU, plus kernel fault-ins on the
 * workqueue, while the vCPU delivers: each token is delivered exactly once,
 * and no completion is left without the request and kick that make the
 * vCPU deliver it (the barrier pairing of notify_vcpu() and kvm_apf_ack()).
 */
static void core_concurrent_completions(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, CONCURRENT_TOTAL);
	int ncpu = min_t(int, num_online_cpus(), 8), i, j, seen;
	unsigned long end;
	struct completer *c;
	struct task_struct **t;
	bool delivered;
	u32 *tokens;

	tokens = kunit_kcalloc(test, CONCURRENT_TOTAL, sizeof(*tokens),
			       GFP_KERNEL);
	c = kunit_kcalloc(test, ncpu, sizeof(*c), GFP_KERNEL);
	t = kunit_kcalloc(test, ncpu, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tokens);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, t);

	for (i = 0; i < CONCURRENT_ITEMS; i++) {
		KUNIT_ASSERT_EQ(test, setup_user(f, 1000 + i), 0);
		tokens[i] = last_item(f)->token;
	}
	atomic_set(&f->requests, 0);
	for (i = 0; i < ncpu; i++) {
		c[i] = (struct completer){ .f = f, .tokens = tokens,
					   .first = i, .step = ncpu };
		init_completion(&c[i].finished);
		t[i] = kthread_create(completer_thread, &c[i], "apf-done/%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t[i]));
		kthread_bind(t[i], cpumask_nth(i, cpu_online_mask));
		get_task_struct(t[i]);
	}
	for (i = 0; i < ncpu; i++)
		wake_up_process(t[i]);
	for (i = 0; i < 64; i++) {
		KUNIT_ASSERT_EQ(test, setup_kernel(f, 5000 + i), 0);
		tokens[CONCURRENT_ITEMS + i] = last_item(f)->token;
	}

	/* The vCPU delivers, concurrently with the completers. */
	end = jiffies + CONCURRENT_TIMEOUT;
	delivered = fake_vcpu_run(f, CONCURRENT_TOTAL, end);
	for (i = 0; i < ncpu; i++) {
		bool finished = wait_for_completion_timeout(&c[i].finished,
							    CONCURRENT_TIMEOUT);

		KUNIT_EXPECT_TRUE_MSG(test, finished,
				      "completer %d never finished", i);
		kthread_stop(t[i]);
		put_task_struct(t[i]);
		KUNIT_EXPECT_EQ(test, c[i].errors, 0);
	}

	KUNIT_ASSERT_TRUE_MSG(test, delivered,
			      "vCPU not woken: %d of %d delivered, %d done",
			      f->n_present, CONCURRENT_TOTAL, done_count(f));
	KUNIT_ASSERT_EQ(test, f->n_present, CONCURRENT_TOTAL);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	for (i = 0; i < CONCURRENT_TOTAL; i++) {
		for (seen = 0, j = 0; j < f->n_present; j++)
			seen += f->present_token[j] == tokens[i];
		KUNIT_EXPECT_EQ_MSG(test, seen, 1, "token %#x", tokens[i]);
	}
}

static struct kvm_apf_item *no_memory(gfp_t gfp)
{
	return NULL;
}

/* No memory for an item: the fault is handled synchronously, no trace left. */
static void core_alloc_failure_falls_back(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	kunit_activate_static_stub(test, kvm_apf_alloc_item, no_memory);
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 1), -ENOMEM);
	KUNIT_EXPECT_EQ(test, kvm_apf_wakeup_all(&f->apf), -ENOMEM);
	kunit_deactivate_static_stub(test, kvm_apf_alloc_item);

	KUNIT_EXPECT_EQ(test, f->stats.apf_sync_fallback, 1ULL);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 1));
	KUNIT_EXPECT_EQ(test, f->n_not_present, 0);
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 1), 0);
}

/* Bad input from the VMM or a backend: a clean error, no state change. */
static void core_bad_input(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 user, kernel;

	f->apf.report_errors = true;
	KUNIT_EXPECT_EQ(test, kvm_apf_setup(&f->apf, 0, 1, hva_of(1), BIT(7),
					    NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_setup(&f->apf, 0, 1, KVM_HVA_ERR_BAD, 0,
					    NULL), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);

	f->block = true;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 2), 0);
	kernel = last_item(f)->token;
	KUNIT_ASSERT_EQ(test, setup_user(f, 3), 0);
	user = last_item(f)->token;

	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf,
						 user + BIT(KVM_APF_TOKEN_ID_SHIFT),
						 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, kernel, 0), -ENOENT);
	/* Not this vCPU's token (a wake-all is no vCPU's). */
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, 0x1234, 0), -EXDEV);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, KVM_APF_TOKEN_WAKE_ALL, 0),
			-EXDEV);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, user, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, user, -MAX_ERRNO - 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, done_count(f), 0);

	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, user, -EFAULT), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, user, 0), -EALREADY);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->present_result[0], -EFAULT);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, user, 0), -ENOENT);
	complete_all(&f->release);
}

/* The storm guard's tracepoint: how often it went on and off. */
struct storm_events {
	int on, off;
	u32 strikes;
};

static void storm_probe(void *data, u32 vcpu_id, bool on, u32 strikes)
{
	struct storm_events *e = data;

	if (vcpu_id != FAKE_VCPU_ID)
		return;
	if (on) {
		e->on++;
		e->strikes = strikes;
	} else {
		e->off++;
	}
}

static void storm_unregister(void *data)
{
	unregister_trace_kvm_apf_storm_guard(storm_probe, data);
	tracepoint_synchronize_unregister();
}

static struct storm_events *storm_events(struct kunit *test)
{
	struct storm_events *e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, e);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_storm_guard(storm_probe, e), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, storm_unregister, e), 0);
	return e;
}

/* A VMM-resolved fault on @gfn, told "not present" and completed at once. */
static u32 storm_fault_done(struct kunit *test, struct fake_vcpu *f, gfn_t gfn)
{
	u32 token;

	KUNIT_EXPECT_EQ(test, setup_user(f, gfn), 0);
	token = last_item(f)->token;
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 0), 0);
	return token;
}

/*
 * The guest cannot take "page ready" (x86: its LAPIC is off; arm64: the PPI
 * is masked): a completion waits on the done list, and each later "not
 * present" is a strike.  The last of %KVM_APF_STORM_STRIKES turns the guard
 * on (counted once, traced with the strikes): later faults are synchronous
 * (-EAGAIN, counted as sync fallbacks), nothing is dropped, and a held
 * completion is still delivered once the guest can take it.  Only the
 * guest's ack turns the guard off; async PF then resumes.
 */
static void core_storm_guard_trips_and_recovers(struct kunit *test)
{
	struct storm_events *e = storm_events(test);
	struct fake_vcpu *f = fake_vcpu(test, 64);
	int i, requests;

	f->deliverable = false;
	storm_fault_done(test, f, 1);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);

	for (i = 0; i < KVM_APF_STORM_STRIKES; i++) {
		KUNIT_EXPECT_FALSE(test, f->apf.degraded);
		KUNIT_EXPECT_EQ(test, setup_user(f, 100 + i), 0);
	}
	KUNIT_EXPECT_TRUE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, f->stats.apf_storm_guard, 1ULL);
	KUNIT_EXPECT_EQ(test, e->on, 1);
	KUNIT_EXPECT_EQ(test, e->strikes, (u32)KVM_APF_STORM_STRIKES);
	KUNIT_EXPECT_EQ(test, f->n_not_present, KVM_APF_STORM_STRIKES + 1);

	/* Degraded: synchronous, the guest is told nothing. */
	KUNIT_EXPECT_EQ(test, setup_user(f, 200), -EAGAIN);
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 201), -EAGAIN);
	KUNIT_EXPECT_EQ(test, f->n_not_present, KVM_APF_STORM_STRIKES + 1);
	KUNIT_EXPECT_EQ(test, f->stats.apf_sync_fallback, 2ULL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_storm_guard, 1ULL);

	/* Faults in flight still complete, each asking the vCPU to look. */
	requests = atomic_read(&f->requests);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, last_item(f)->token, 0),
			0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests + 1);

	/* The guest can take "ready" again: held ones go, one per ack. */
	f->deliverable = true;
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_TRUE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, setup_user(f, 202), -EAGAIN);

	kvm_apf_ack(&f->apf);
	KUNIT_EXPECT_FALSE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, e->off, 1);
	KUNIT_EXPECT_EQ(test, f->n_present, 2);
	KUNIT_EXPECT_EQ(test, setup_user(f, 203), 0);
	KUNIT_EXPECT_EQ(test, f->n_not_present, KVM_APF_STORM_STRIKES + 2);
	KUNIT_EXPECT_EQ(test, f->stats.apf_storm_guard, 1ULL);
}

/*
 * A guest that takes "page ready" but never acknowledges it: the first is
 * delivered, every later completion waits, and the strikes add up the same
 * way.  It never acks, so the guard stays on until the guest re-enables
 * async PF (or disables it: kvm_apf_clear()), which starts over.
 */
static void core_storm_guard_never_acked(struct kunit *test)
{
	struct storm_events *e = storm_events(test);
	struct fake_vcpu *f = fake_vcpu(test, 64);
	int i;

	storm_fault_done(test, f, 1);
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_TRUE(test, f->apf.ready_pending);
	storm_fault_done(test, f, 2);	/* no strike: nothing waited yet */
	kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->apf.strikes, 0U);

	for (i = 0; i < KVM_APF_STORM_STRIKES; i++)
		storm_fault_done(test, f, 100 + i);
	KUNIT_EXPECT_TRUE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, e->on, 1);
	KUNIT_EXPECT_EQ(test, setup_kernel(f, 300), -EAGAIN);

	/* However often it is checked, nothing more is told. */
	for (i = 0; i < 3; i++)
		kvm_apf_check_completion(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);

	KUNIT_EXPECT_EQ(test, kvm_apf_guest_enabled(&f->apf), 0);
	KUNIT_EXPECT_FALSE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, f->apf.strikes, 0U);
	KUNIT_EXPECT_EQ(test, e->off, 1);
	KUNIT_EXPECT_EQ(test, setup_user(f, 301), 0);

	/* Trip again; a disable clears it as well. */
	for (i = 0; i < KVM_APF_STORM_STRIKES; i++)
		setup_user(f, 400 + i);
	KUNIT_EXPECT_TRUE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, f->stats.apf_storm_guard, 2ULL);
	kvm_apf_clear(&f->apf);
	KUNIT_EXPECT_FALSE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, e->off, 2);
	KUNIT_EXPECT_EQ(test, setup_user(f, 500), 0);
}

/*
 * No false trip: a guest that acks its "page ready" resets the strikes,
 * however many faults it takes while completions wait; and "not present"
 * with nothing waiting on the done list is never a strike, acked or not.
 */
static void core_storm_guard_healthy_guest(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 256);
	int i;

	for (i = 0; i < 4 * KVM_APF_STORM_STRIKES; i++) {
		storm_fault_done(test, f, 1000 + i);
		kvm_apf_check_completion(&f->apf);
		/* A fault while the next completion waits for the ack. */
		storm_fault_done(test, f, 2000 + i);
		kvm_apf_check_completion(&f->apf);
		KUNIT_EXPECT_EQ(test, setup_user(f, 3000 + i), 0);
		kvm_apf_ack(&f->apf);
		kvm_apf_ack(&f->apf);
		KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf,
							 last_item(f)->token, 0),
				0);
		kvm_apf_check_completion(&f->apf);
		kvm_apf_ack(&f->apf);
	}
	KUNIT_EXPECT_FALSE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, f->stats.apf_storm_guard, 0ULL);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);

	/*
	 * Completions the vCPU has not looked at yet are no strike: they may
	 * be deliverable (KVM looks before the next entry).
	 */
	for (i = 0; i < 2 * KVM_APF_STORM_STRIKES; i++)
		storm_fault_done(test, f, 5000 + i);
	KUNIT_EXPECT_EQ(test, f->apf.strikes, 0U);
	for (i = 0; i < 2 * KVM_APF_STORM_STRIKES + 1; i++) {
		kvm_apf_check_completion(&f->apf);
		kvm_apf_ack(&f->apf);
	}
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);

	/* A "ready" never acked, but nothing else completed meanwhile. */
	storm_fault_done(test, f, 1);
	kvm_apf_check_completion(&f->apf);
	for (i = 0; i < 4 * KVM_APF_STORM_STRIKES; i++)
		KUNIT_EXPECT_EQ(test, setup_user(f, 10 + i), 0);
	KUNIT_EXPECT_FALSE(test, f->apf.degraded);
	KUNIT_EXPECT_EQ(test, f->apf.strikes, 0U);
}

enum { TP_NP, TP_READY, TP_ERROR, TP_EXIT, TP_DUP, TP_SYNC, TP_MAX };

struct tp_event {
	int n;
	int last_result;
};

/* Every core event has the same prototype: one probe counts them all. */
static void tp_probe(void *data, u32 vcpu_id, u32 token, u64 gfn, int result)
{
	struct tp_event *e = data;

	if (vcpu_id != FAKE_VCPU_ID)
		return;
	e->n++;
	e->last_result = result;
}

static void unregister_probes(void *data)
{
	struct tp_event *c = data;

	unregister_trace_kvm_apf_not_present(tp_probe, &c[TP_NP]);
	unregister_trace_kvm_apf_ready(tp_probe, &c[TP_READY]);
	unregister_trace_kvm_apf_error(tp_probe, &c[TP_ERROR]);
	unregister_trace_kvm_apf_error_exit(tp_probe, &c[TP_EXIT]);
	unregister_trace_kvm_apf_dup_suppressed(tp_probe, &c[TP_DUP]);
	unregister_trace_kvm_apf_sync_fallback(tp_probe, &c[TP_SYNC]);
	tracepoint_synchronize_unregister();
}

/* Every counted event has its tracepoint, fired as often as it counts. */
static void core_tracepoints_match_stats(struct kunit *test)
{
	struct tp_event *c = kunit_kcalloc(test, TP_MAX, sizeof(*c), GFP_KERNEL);
	struct fake_vcpu *f = fake_vcpu(test, 8);

	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_not_present(tp_probe, &c[TP_NP]), 0);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_ready(tp_probe, &c[TP_READY]), 0);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_error(tp_probe, &c[TP_ERROR]), 0);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_error_exit(tp_probe, &c[TP_EXIT]), 0);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_dup_suppressed(tp_probe, &c[TP_DUP]), 0);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_sync_fallback(tp_probe, &c[TP_SYNC]), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, unregister_probes, c), 0);

	KUNIT_ASSERT_EQ(test, setup_user(f, 1), 0);
	KUNIT_EXPECT_EQ(test, setup_user(f, 1), -EEXIST);
	f->fault_result = -EIO;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 2), 0);
	flush_work(&last_item(f)->work);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	f->fault_result = 0;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);

	KUNIT_EXPECT_EQ(test, c[TP_NP].n, 2);
	KUNIT_EXPECT_EQ(test, c[TP_DUP].n, 1);
	KUNIT_EXPECT_EQ(test, c[TP_SYNC].n, 1);
	KUNIT_EXPECT_EQ(test, c[TP_SYNC].last_result, -EEXIST);
	KUNIT_EXPECT_EQ(test, c[TP_ERROR].n, 1);
	KUNIT_EXPECT_EQ(test, c[TP_ERROR].last_result, -EIO);
	KUNIT_EXPECT_EQ(test, c[TP_EXIT].n, 2);
	KUNIT_EXPECT_EQ(test, c[TP_READY].n, 1);
	KUNIT_EXPECT_EQ(test, c[TP_NP].n, (int)f->stats.apf_not_present);
	KUNIT_EXPECT_EQ(test, c[TP_READY].n, (int)f->stats.apf_ready);
	KUNIT_EXPECT_EQ(test, c[TP_ERROR].n, (int)f->stats.apf_error);
	KUNIT_EXPECT_EQ(test, c[TP_DUP].n, (int)f->stats.apf_dup_suppressed);
	KUNIT_EXPECT_EQ(test, c[TP_SYNC].n, (int)f->stats.apf_sync_fallback);
}

/*
 * A signal pending on the test's thread, as a VMM's kick (e.g. QEMU's
 * SIG_IPI) leaves one on a vCPU thread.  KUnit runs each case in a kthread
 * of its own, which ignores signals until it allows one.
 */
static void signal_self(void)
{
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 1);
}

static void signal_self_clear(void)
{
	flush_signals(current);
	disallow_signal(SIGUSR1);
}

/*
 * Writing "page ready" into the guest failed while a signal was pending
 * (guest memory on userfaultfd: the copy's wait for the page was cut short
 * by the VMM's kick): the fault is not lost.  It stays first on the done
 * list, nothing behind it is looked at, nothing is counted, and the vCPU
 * asks to look again; once KVM_RUN returned for the signal, the next look
 * delivers it, once, without redoing what came before the notification
 * (the prefault; the gfn's removal: a new fault on it stays in flight).
 */
static void core_ready_retried_after_signal(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token, next;
	int requests;

	KUNIT_ASSERT_EQ(test, setup_kernel(f, 42), 0);
	token = last_item(f)->token;
	flush_work(&last_item(f)->work);
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 43), 0);
	next = last_item(f)->token;
	flush_work(&last_item(f)->work);
	requests = atomic_read(&f->requests);

	f->present_fail = 1;
	signal_self();
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	signal_self_clear();
	KUNIT_EXPECT_EQ(test, f->n_present_failed, 1);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 0ULL);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(f->apf.ready_pending));
	KUNIT_EXPECT_EQ(test, done_count(f), 2);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 2U);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests + 1);
	KUNIT_EXPECT_EQ(test, f->n_ready, 1);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 42));

	/* The page is in: a new fault on it may be set up meanwhile. */
	KUNIT_ASSERT_EQ(test, setup_user(f, 42), 0);

	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], token);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 1ULL);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(f->apf.ready_pending));
	KUNIT_EXPECT_EQ(test, f->n_ready, 1);
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_pending(&f->apf, 42));

	kvm_apf_ack(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 2);
	KUNIT_EXPECT_EQ(test, f->present_token[1], next);
	KUNIT_EXPECT_EQ(test, f->n_ready, 2);
	kvm_apf_ack(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 2);
	KUNIT_EXPECT_EQ(test, f->n_present_failed, 1);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 2ULL);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 1U);
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_pending(&f->apf, 42));
}

/*
 * The same for a failure told to an opted-in guest: counted as an error
 * once, and once toward %KVM_APF_ERROR_REPEATS, however often its "page
 * ready" is tried.
 */
static void core_ready_retry_counts_error_once(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	int i;

	f->apf.report_errors = true;
	f->fault_result = -EIO;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 7), 0);
	flush_work(&last_item(f)->work);

	f->present_fail = 3;
	signal_self();
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	signal_self_clear();
	KUNIT_EXPECT_EQ(test, f->n_present_failed, 3);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	KUNIT_EXPECT_EQ(test, f->apf.err_repeats, 1U);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 1ULL);

	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_result[0], -EIO);
	KUNIT_EXPECT_EQ(test, f->apf.err_repeats, 1U);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 1ULL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 1ULL);
	/* No synchronous retry of the failure either. */
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fault_ins), 1);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
}

/*
 * A wake-all likewise: it stays queued (no second one beside it) and is
 * delivered once at the next look.
 */
static void core_wake_all_retried_after_signal(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);

	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	f->present_fail = 1;
	signal_self();
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	signal_self_clear();
	KUNIT_EXPECT_EQ(test, f->n_present_failed, 1);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 0ULL);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	KUNIT_EXPECT_TRUE(test, f->apf.wake_all_queued);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), 2);

	KUNIT_EXPECT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 1U);

	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 1ULL);
	KUNIT_EXPECT_FALSE(test, f->apf.wake_all_queued);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	kvm_apf_ack(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
}

/*
 * The guest's "page ready" slot could not be read while a signal was
 * pending (@can_dequeue false: the read's wait for a page that userfaultfd
 * has yet to populate was cut short by the VMM's kick), as at the first
 * entry after a lazy restore, whose wake-all is queued.  Nothing may then
 * wait for an acknowledgment that will never come: the vCPU asks to look
 * again, and the next look delivers.  Held without a signal (the guest
 * has not taken the last one), no request is made: its ack looks again.
 */
static void core_held_looks_again_after_signal(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	int requests;

	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	requests = atomic_read(&f->requests);
	f->deliverable = false;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests);

	signal_self();
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	signal_self_clear();
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests + 1);

	f->deliverable = true;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, done_count(f), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests + 1);
}

static void unregister_ready_lost(void *data)
{
	unregister_trace_kvm_apf_ready_lost(tp_probe, data);
	tracepoint_synchronize_unregister();
}

/*
 * A write that fails with no signal pending (the area is broken) drops the
 * "page ready", as before, rather than loop: each item is tried once and
 * freed (traced as lost), and no new request is made.  With a signal
 * pending each look tries once and returns; once the signal is gone the
 * item is dropped.  A guest that does not listen (0) is never retried.
 */
static void core_ready_write_fails_without_signal(struct kunit *test)
{
	struct tp_event *lost = kunit_kzalloc(test, sizeof(*lost), GFP_KERNEL);
	struct fake_vcpu *f = fake_vcpu(test, 8);
	int i, requests;

	KUNIT_ASSERT_NOT_NULL(test, lost);
	KUNIT_ASSERT_EQ(test, register_trace_kvm_apf_ready_lost(tp_probe, lost), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, unregister_ready_lost,
							lost), 0);

	storm_fault_done(test, f, 1);
	storm_fault_done(test, f, 2);
	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&f->apf), 0);
	requests = atomic_read(&f->requests);

	f->present_fail = INT_MAX;
	KUNIT_EXPECT_FALSE(test, signal_pending(current));
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present_failed, 3);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 0ULL);
	KUNIT_EXPECT_EQ(test, done_count(f), 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_FALSE(test, f->apf.wake_all_queued);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(f->apf.ready_pending));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests);
	KUNIT_EXPECT_EQ(test, lost->n, 3);
	KUNIT_EXPECT_EQ(test, lost->last_result, -EFAULT);

	storm_fault_done(test, f, 3);
	requests = atomic_read(&f->requests);
	signal_self();
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	signal_self_clear();
	KUNIT_EXPECT_EQ(test, f->n_present_failed, 6);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests + 3);
	KUNIT_EXPECT_EQ(test, lost->n, 3);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present_failed, 7);
	KUNIT_EXPECT_EQ(test, done_count(f), 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 0ULL);
	KUNIT_EXPECT_EQ(test, lost->n, 4);

	f->present_fail = 0;
	f->not_listening = true;
	storm_fault_done(test, f, 4);
	requests = atomic_read(&f->requests);
	signal_self();
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	signal_self_clear();
	KUNIT_EXPECT_EQ(test, done_count(f), 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->requests), requests);
	KUNIT_EXPECT_EQ(test, lost->n, 4);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 0ULL);
}

static struct kunit_case core_cases[] = {
	KUNIT_CASE(core_init_rejects_bad_args),
	KUNIT_CASE(core_kernel_fault_roundtrip),
	KUNIT_CASE(core_fault_ins_on_given_queue),
	KUNIT_CASE(core_vm_queue_is_unbound),
	KUNIT_CASE(core_deliver_on_completion),
	KUNIT_CASE(core_deliver_on_completion_clear_runs_all),
	KUNIT_CASE(core_wait_fault_ins),
	KUNIT_CASE(core_error_to_opted_in_guest),
	KUNIT_CASE(core_error_repeats_go_sync),
	KUNIT_CASE(core_error_exits_to_vmm),
	KUNIT_CASE(core_error_unnotified_exits),
	KUNIT_CASE(core_error_no_error_delivery_exits),
	KUNIT_CASE_PARAM(core_errors_classified, classify_gen_params),
	KUNIT_CASE(core_memslot_change_on_retry),
	KUNIT_CASE(core_vmm_gives_up_failed_fault),
	KUNIT_CASE(core_reenable_forgets_pending_ready),
	KUNIT_CASE(core_duplicate_gfn_is_sync),
	KUNIT_CASE_PARAM(core_limit_is_a_parameter, core_limit_gen_params),
	KUNIT_CASE(core_tokens_unique_after_wrap),
	KUNIT_CASE(core_tokens_unique_per_vm),
	KUNIT_CASE(core_one_ready_until_ack),
	KUNIT_CASE(core_kick_rules),
	KUNIT_CASE(core_can_dequeue_holds_completions),
	KUNIT_CASE(core_wakeup_all),
	KUNIT_CASE(core_flush_sends_wake_all),
	KUNIT_CASE(core_teardown_every_state),
	KUNIT_CASE(core_concurrent_completions),
	KUNIT_CASE(core_alloc_failure_falls_back),
	KUNIT_CASE(core_bad_input),
	KUNIT_CASE(core_tracepoints_match_stats),
	KUNIT_CASE(core_storm_guard_trips_and_recovers),
	KUNIT_CASE(core_storm_guard_never_acked),
	KUNIT_CASE(core_storm_guard_healthy_guest),
	KUNIT_CASE(core_ready_retried_after_signal),
	KUNIT_CASE(core_ready_retry_counts_error_once),
	KUNIT_CASE(core_wake_all_retried_after_signal),
	KUNIT_CASE(core_held_looks_again_after_signal),
	KUNIT_CASE(core_ready_write_fails_without_signal),
	{}
};

static struct kunit_suite core_suite = {
	.name = "kvm_apf_core",
	.test_cases = core_cases,
};

kunit_test_suite(core_suite);
