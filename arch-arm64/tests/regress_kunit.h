/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit regression tests of the arm64 backend for the historical async PF
 * bugs (common/tests/regress_kunit.h has the table), included at the end
 * of apf.c after arm64_kunit.h, whose fake vCPU they use.
 *
 * The 2025 x86 bug: the queue was dropped (on SMM's CR0.PG change) while
 * the guest still had tasks parked on it, and no wake-all followed.  arm64
 * has no SMM; what drops or could drop its queue is the guest unregistering
 * the SDEI event, turning async PF off, or a vCPU reset.  None may leave a
 * parked task without a wake-up: unregistering the event keeps the faults
 * in flight and their "page ready"s (a PPI, not the event); turning async
 * PF off drops them, and the guest wakes its own tasks
 * (kvm_apf_guest_wake_cpu(), guest_arm64_enable_disable); a reset drops
 * them with async PF off, and the next enable starts with a wake-all.
 */

static void regress_2025_arm64_queue_drop_wakes_all(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu);
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	u32 token;

	guest_ready(test, vcpu, 0);
	token = guest_parked(test, vcpu);
	f->area.reason = 0;

	/* The event goes (the guest's SDEI driver resets): the fault stays. */
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_PRIVATE_RESET,
				       0, 0, 0), SDEI_SUCCESS);
	KUNIT_EXPECT_EQ(test, apf->queued, 1U);
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(apf, token, 0), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, f->area.token, token);
	f->area.token = 0;
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ACK, 0),
			SMCCC_RET_SUCCESS);

	/*
	 * A fault in flight, then a reset (PSCI CPU_ON): dropped, async PF
	 * off; the enable that follows is answered with a wake-all first
	 * (guest_ready() asserts it).
	 */
	guest_ready(test, vcpu, 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_setup(apf, 0x2000, 2, 0x2000,
					    KVM_APF_ITEM_USER, NULL), 0);
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0, 0);
	kvm_apf_arm64_vcpu_reset(vcpu);
	KUNIT_EXPECT_EQ(test, apf->queued, 0U);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 0);
	f->area = (struct kvm_apf_shared){};
	guest_ready(test, vcpu, 0);
}

static struct kunit_case arm64_regress_cases[] = {
	KUNIT_CASE(regress_2025_arm64_queue_drop_wakes_all),
	{}
};

static struct kunit_suite arm64_regress_suite = {
	.name = "kvm_apf_regress_arm64",
	.test_cases = arm64_regress_cases,
};

kunit_test_suite(arm64_regress_suite);
