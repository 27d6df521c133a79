/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests for the core's VMM-owned faults (the async candidate, the
 * VMM's decision, its completion by token, the owed list), included at the
 * end of core.c after core_kunit.h, whose fake backend they use.
 */

static int setup_candidate(struct fake_vcpu *f, gfn_t gfn)
{
	return kvm_apf_setup(&f->apf, gfn << PAGE_SHIFT, gfn, hva_of(gfn),
			     KVM_APF_ITEM_USER | KVM_APF_ITEM_CANDIDATE, NULL);
}

static bool fake_notify_allowed;

static bool fake_can_notify(struct kvm_apf_vcpu *apf)
{
	return fake_notify_allowed;
}

/* Candidate, accepted, told at the next check, completed by token. */
static void vmm_candidate_accepted(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	int requests;
	u32 token;

	KUNIT_ASSERT_EQ(test, setup_candidate(f, 70), 0);
	token = f->apf.last_token;
	KUNIT_EXPECT_NE(test, token, 0U);
	KUNIT_EXPECT_EQ(test, f->n_not_present, 0);	/* the guest knows nothing */
	KUNIT_EXPECT_EQ(test, f->stats.apf_not_present, 0ULL);
	KUNIT_EXPECT_TRUE(test, f->apf.deciding);
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_pending(&f->apf, 70));
	/* Only one candidate at a time: the vCPU exits for it. */
	KUNIT_EXPECT_EQ(test, setup_candidate(f, 71), -EBUSY);
	/* The VMM owes nothing for a fault it has not taken. */
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, NULL, 0), 0U);

	requests = atomic_read(&f->requests);
	KUNIT_EXPECT_TRUE(test, kvm_apf_decide(&f->apf, true));
	KUNIT_EXPECT_GT(test, atomic_read(&f->requests), requests);
	KUNIT_EXPECT_FALSE(test, kvm_apf_decide(&f->apf, true));	/* read once */
	KUNIT_EXPECT_EQ(test, f->n_not_present, 0);
	kvm_apf_notify_accepted(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_not_present, 1);
	KUNIT_EXPECT_EQ(test, f->stats.apf_not_present, 1ULL);
	KUNIT_EXPECT_EQ(test, f->stats.apf_vmm_async, 1ULL);
	kvm_apf_notify_accepted(&f->apf);			/* told once */
	KUNIT_EXPECT_EQ(test, f->n_not_present, 1);
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, NULL, 0), 1U);

	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 0), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, NULL, 0), 0U);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_ASSERT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_token[0], token);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 0), -ENOENT);
}

/*
 * Not accepted: the candidate is gone (a late completion is refused) and
 * the guest's retry of that gfn is synchronous, once; nothing was told.
 */
static void vmm_candidate_not_accepted(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token;

	KUNIT_ASSERT_EQ(test, setup_candidate(f, 72), 0);
	token = f->apf.last_token;
	KUNIT_EXPECT_TRUE(test, kvm_apf_decide(&f->apf, false));
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
	KUNIT_EXPECT_NULL(test, f->apf.candidate);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_pending(&f->apf, 72));
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 0), -ENOENT);
	kvm_apf_notify_accepted(&f->apf);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->n_not_present, 0);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, setup_candidate(f, 72), -ECANCELED);
	KUNIT_EXPECT_EQ(test, setup_candidate(f, 72), 0);
}

/*
 * Completed by the VMM before it decided (its pool was fast): accepted or
 * not, the guest is told nothing, and the check frees the fault.
 */
static void vmm_candidate_completed_first(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	int accept;

	for (accept = 0; accept < 2; accept++) {
		KUNIT_ASSERT_EQ(test, setup_candidate(f, 73), 0);
		KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf,
							 f->apf.last_token, 0),
				0);
		KUNIT_EXPECT_TRUE(test, kvm_apf_decide(&f->apf, accept));
		kvm_apf_notify_accepted(&f->apf);
		KUNIT_EXPECT_EQ(test, f->n_not_present, 0);
		KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
		KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
		KUNIT_EXPECT_NULL(test, f->apf.candidate);
		/* Resolved, not given up: the next fault may go async. */
		KUNIT_EXPECT_NE(test, f->apf.sync_gfn, 73ULL);
		kvm_apf_ack(&f->apf);
	}
}

/* Accepted, but the guest cannot take "not present" now: the VMM still owes it. */
static void vmm_accepted_guest_cannot_take(struct kunit *test)
{
	static struct kvm_apf_ops ops;
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token;

	ops = fake_ops;
	ops.can_notify = fake_can_notify;
	f->apf.ops = &ops;
	fake_notify_allowed = false;

	KUNIT_ASSERT_EQ(test, setup_candidate(f, 74), 0);
	token = f->apf.last_token;
	KUNIT_EXPECT_TRUE(test, kvm_apf_decide(&f->apf, true));
	kvm_apf_notify_accepted(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_not_present, 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, NULL, 0), 1U);
	/* Its retry waits for the completion, as for any fault in flight. */
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_pending(&f->apf, 74));
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 0), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);

	fake_notify_allowed = true;
	KUNIT_ASSERT_EQ(test, setup_candidate(f, 75), 0);
	KUNIT_EXPECT_TRUE(test, kvm_apf_decide(&f->apf, true));
	kvm_apf_notify_accepted(&f->apf);
	KUNIT_EXPECT_EQ(test, f->n_not_present, 1);
}

/* Every bad completion is refused and changes nothing. */
static void vmm_completion_bad_input(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token, kernel, other, unknown;

	KUNIT_ASSERT_EQ(test, setup_user(f, 76), 0);
	token = f->apf.last_token;
	f->block = true;
	KUNIT_ASSERT_EQ(test, setup_kernel(f, 77), 0);
	kernel = f->apf.last_token;
	/* The same id on another vCPU. */
	other = (token & ~(u32)(BIT(KVM_APF_TOKEN_ID_SHIFT) - 1)) |
		(FAKE_VCPU_ID + 1);
	unknown = token + BIT(KVM_APF_TOKEN_ID_SHIFT);

	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, other, 0), -EXDEV);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token,
						 -MAX_ERRNO - 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, kernel, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, unknown, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf,
						 KVM_APF_TOKEN_WAKE_ALL, 0),
			-EXDEV);
	KUNIT_EXPECT_EQ(test, done_count(f), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, NULL, 0), 1U);

	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 0), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, token, 0), -EALREADY);
	KUNIT_EXPECT_EQ(test, done_count(f), 1);
	complete_all(&f->release);
}

/*
 * A VMM-owned fault completed with an error, for a guest that did not opt
 * in: its exit names the token and the VMM's errno, on every entry, and KVM
 * only looks for the page (never waits for the VMM's memory); once the VMM
 * put the page in, the guest is told "page ready".
 */
static void vmm_failure_exits_until_fixed(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	u32 token;

	KUNIT_ASSERT_EQ(test, setup_user(f, 78), 0);
	token = f->apf.last_token;
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(&f->apf, token, -EIO), 0);
	f->fault_result = -EBUSY;	/* the page is still missing */
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->apf.failed.token, token);
	KUNIT_EXPECT_EQ(test, f->apf.failed.error, -EIO);
	KUNIT_EXPECT_EQ(test, f->apf.failed.gfn, 78ULL);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->apf.failed.error, -EIO);
	KUNIT_EXPECT_EQ(test, f->n_present, 0);
	KUNIT_EXPECT_EQ(test, f->stats.apf_error, 1ULL);

	f->fault_result = 0;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->apf), 0);
	KUNIT_ASSERT_EQ(test, f->n_present, 1);
	KUNIT_EXPECT_EQ(test, f->present_result[0], 0);
	KUNIT_EXPECT_EQ(test, f->apf.queued, 0U);
}

/* The owed list: taken and not completed, oldest first, counted past room. */
static void vmm_owed_list(struct kunit *test)
{
	struct fake_vcpu *f = fake_vcpu(test, 8);
	struct kvm_apf_notice n[2];
	u32 t[3];
	int i;

	for (i = 0; i < 3; i++) {
		KUNIT_ASSERT_EQ(test, setup_user(f, 80 + i), 0);
		t[i] = f->apf.last_token;
	}
	KUNIT_ASSERT_EQ(test, setup_candidate(f, 90), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, t[1], 0), 0);

	memset(n, 0, sizeof(n));
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, n, 2), 2U);
	KUNIT_EXPECT_EQ(test, n[0].token, t[0]);
	KUNIT_EXPECT_EQ(test, n[0].gpa, 80ULL << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, n[0].vcpu_id, (u32)FAKE_VCPU_ID);
	KUNIT_EXPECT_EQ(test, n[1].token, t[2]);
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, n, 1), 2U);
	KUNIT_EXPECT_EQ(test, n[0].token, t[0]);

	/* A guest that disables async PF: nothing owed, late completions refused. */
	kvm_apf_clear(&f->apf);
	KUNIT_EXPECT_EQ(test, kvm_apf_owed(&f->apf, n, 2), 0U);
	KUNIT_EXPECT_NULL(test, f->apf.candidate);
	KUNIT_EXPECT_FALSE(test, kvm_apf_decide(&f->apf, true));
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(&f->apf, t[i], 0),
				-ENOENT);
}

static struct kunit_case vmm_cases[] = {
	KUNIT_CASE(vmm_candidate_accepted),
	KUNIT_CASE(vmm_candidate_not_accepted),
	KUNIT_CASE(vmm_candidate_completed_first),
	KUNIT_CASE(vmm_accepted_guest_cannot_take),
	KUNIT_CASE(vmm_completion_bad_input),
	KUNIT_CASE(vmm_failure_exits_until_fixed),
	KUNIT_CASE(vmm_owed_list),
	{}
};

static struct kunit_suite vmm_suite = {
	.name = "kvm_apf_vmm",
	.test_cases = vmm_cases,
};

kunit_test_suite(vmm_suite);
