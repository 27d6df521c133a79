/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit regression tests for the historical async PF bugs, included at the
 * end of core.c after core_kunit.h, whose fake backend they use.
 *
 * Historical bug                      its regression tests
 * ---------------------------------   ---------------------------------------
 * #DF: "not present" and "page ready"  e2e apf_regress_test:
 *   injected together (2017)             regress_2017_df_nested_not_present
 *                                      KUnit kvm_apf_arm64:
 *                                        arm64_ppi_ready_and_ack (no event
 *                                        while the SDEI handler runs)
 * CR2/reason clobbered by an NMI       e2e regress_2020_cr2_nmi_clobber (x86)
 *   before the #PF handler read them
 *   (2020)
 * queue dropped without a wake-all:    e2e regress_2025_smm_queue_drop (x86)
 *   tasks stuck after SMM (2025)       KUnit kvm_apf_core:
 *                                        core_flush_sends_wake_all,
 *                                        core_reenable_forgets_pending_ready;
 *                                        core_concurrent_completions (the
 *                                        pageready_pending barrier)
 * unresolvable fault: "ready" and      e2e regress_unresolvable_fault_no_loop,
 *   the same fault again, for ever       apf_error_test (async_fault_*)
 *                                      KUnit kvm_apf_core:
 *                                        core_error_exits_to_vmm,
 *                                        core_errors_classified
 * duplicate faults on one gfn from     KUnit kvm_apf_regress:
 *   every vCPU                           regress_dup_storm_every_vcpu;
 *                                      kvm_apf_core: core_duplicate_gfn_is_sync
 *
 * Documentation/virt/kvm/apf/index.rst has the same table with the arches
 * and how each test was shown to fail.
 */
#include <linux/kthread.h>

#define STORM_VCPUS	8
#define STORM_FAULTS	1000
#define STORM_GFN	0x4242
/* Generous: a QEMU vCPU here may be descheduled by its host for seconds. */
#define STORM_TIMEOUT	(120 * HZ)

struct storm_vcpu {
	struct fake_vcpu *f;
	int async, dup, other;
	u32 token;
	struct completion done;
};

/* A fake vCPU of id @vcpu_id whose kernel fault-ins block until released. */
static struct fake_vcpu *storm_fake_vcpu(struct kunit *test, u32 vcpu_id)
{
	struct fake_vcpu *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->tell_not_present = true;
	f->deliverable = true;
	f->block = true;
	init_completion(&f->release);
	init_completion(&f->started);
	init_waitqueue_head(&f->kicked);
	KUNIT_ASSERT_EQ(test, kvm_apf_vcpu_init(&f->apf, &fake_ops, NULL,
						system_unbound_wq, &f->stats,
						vcpu_id, 8), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fake_exit, f), 0);
	return f;
}

/* One vCPU's thread: its guest faults on the same gfn again and again. */
static int storm_thread(void *data)
{
	struct storm_vcpu *s = data;
	int i, r;

	for (i = 0; i < STORM_FAULTS; i++) {
		r = setup_kernel(s->f, STORM_GFN);
		if (!r) {
			s->async++;
			s->token = last_item(s->f)->token;
		} else if (r == -EEXIST) {
			s->dup++;
		} else {
			s->other++;
		}
	}
	complete(&s->done);
	return 0;
}

/*
 * Every vCPU faults on one gfn, STORM_FAULTS times each, all at once, while
 * the page does not come: each vCPU has one async fault on it (one "not
 * present"), every later fault is a suppressed duplicate, handled
 * synchronously, not a new item, token or notification, so no queue
 * fills up (upstream x86's gfn table probed for ever once full).  Tokens
 * are unique in the VM.  When the page comes, each vCPU gets one "page
 * ready", and the gfn can go async again.
 */
static void regress_dup_storm_every_vcpu(struct kunit *test)
{
	struct storm_vcpu *s;
	struct task_struct *t;
	int i, j;

	s = kunit_kcalloc(test, STORM_VCPUS, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	for (i = 0; i < STORM_VCPUS; i++) {
		s[i].f = storm_fake_vcpu(test, i);
		init_completion(&s[i].done);
	}
	for (i = 0; i < STORM_VCPUS; i++) {
		t = kthread_create(storm_thread, &s[i], "apf-storm/%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
		kthread_bind(t, cpumask_nth(i % num_online_cpus(),
					    cpu_online_mask));
		wake_up_process(t);
	}
	for (i = 0; i < STORM_VCPUS; i++)
		KUNIT_ASSERT_TRUE_MSG(test,
				      wait_for_completion_timeout(&s[i].done,
								  STORM_TIMEOUT),
				      "vCPU %d's storm never finished", i);

	for (i = 0; i < STORM_VCPUS; i++) {
		struct fake_vcpu *f = s[i].f;

		KUNIT_EXPECT_EQ_MSG(test, s[i].async, 1, "vCPU %d", i);
		KUNIT_EXPECT_EQ_MSG(test, s[i].dup, STORM_FAULTS - 1, "vCPU %d", i);
		KUNIT_EXPECT_EQ_MSG(test, s[i].other, 0, "vCPU %d", i);
		KUNIT_EXPECT_EQ(test, f->n_not_present, 1);
		KUNIT_EXPECT_EQ(test, f->apf.queued, 1U);
		KUNIT_EXPECT_EQ(test, f->stats.apf_dup_suppressed,
				(u64)STORM_FAULTS - 1);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_NE(test, s[j].token, s[i].token);
	}

	/* The page comes: one "page ready" per vCPU, with its token. */
	for (i = 0; i < STORM_VCPUS; i++) {
		struct fake_vcpu *f = s[i].f;

		complete_all(&f->release);
		flush_work(&last_item(f)->work);
		KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
		KUNIT_EXPECT_EQ(test, f->n_present, 1);
		KUNIT_EXPECT_EQ(test, f->present_token[0], s[i].token);
		KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
		KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, STORM_GFN));
		kvm_apf_ack(&f->apf);
		KUNIT_EXPECT_EQ(test, setup_kernel(f, STORM_GFN), 0);
	}
}

static struct kunit_case regress_cases[] = {
	KUNIT_CASE(regress_dup_storm_every_vcpu),
	{}
};

static struct kunit_suite regress_suite = {
	.name = "kvm_apf_regress",
	.test_cases = regress_cases,
};

kunit_test_suite(regress_suite);
