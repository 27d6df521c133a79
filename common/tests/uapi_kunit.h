/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests for what the VMM sees (uapi.c, included at its end): the
 * encoding of the error memory-fault exit, the capability, and
 * KVM_ENABLE_CAP's handling of bad input.
 */
#include <kunit/test.h>
#include <linux/kvm_para.h>
#ifdef CONFIG_ARM64
#include <linux/arm-smccc.h>
#endif

static struct kvm_vcpu *uapi_test_vcpu(struct kunit *test)
{
	struct kvm_vcpu *vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	vcpu->run = kunit_kzalloc(test, sizeof(*vcpu->run), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu->run);
	return vcpu;
}

static void uapi_error_exit_encoding(struct kunit *test)
{
	struct kvm_vcpu *vcpu = uapi_test_vcpu(test);
	struct kvm_run *run = vcpu->run;

	/* Stale state from an earlier exit must not leak into this one. */
	run->memory_fault.flags = KVM_MEMORY_EXIT_FLAG_PRIVATE;
	kvm_apf_prepare_error_exit(vcpu, 0x12345000, PAGE_SIZE, -EIO, 0x2001);
	KUNIT_EXPECT_EQ(test, run->exit_reason, (u32)KVM_EXIT_MEMORY_FAULT);
	KUNIT_EXPECT_EQ(test, run->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_ERROR);
	KUNIT_EXPECT_EQ(test, run->memory_fault.gpa, 0x12345000ULL);
	KUNIT_EXPECT_EQ(test, run->memory_fault.size, (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, run->memory_fault.error, (u32)EIO);
	KUNIT_EXPECT_EQ(test, run->memory_fault.token, 0x2001U);

	/* The synchronous path has no token. */
	kvm_apf_prepare_error_exit(vcpu, 0x1000, PAGE_SIZE, -EFAULT, 0);
	KUNIT_EXPECT_EQ(test, run->memory_fault.error, (u32)EFAULT);
	KUNIT_EXPECT_EQ(test, run->memory_fault.token, 0U);

	/* Something that is not a -errno is reported as EFAULT. */
	kvm_apf_prepare_error_exit(vcpu, 0x1000, PAGE_SIZE, 0, 0);
	KUNIT_EXPECT_EQ(test, run->memory_fault.error, (u32)EFAULT);
	kvm_apf_prepare_error_exit(vcpu, 0x1000, PAGE_SIZE, 5, 0);
	KUNIT_EXPECT_EQ(test, run->memory_fault.error, (u32)EFAULT);
}

/* The new fields live in the union's padding, after upstream's three. */
static void uapi_memory_fault_layout(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_run, memory_fault.error) -
			offsetof(struct kvm_run, memory_fault.flags), 24UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_run, memory_fault.token) -
			offsetof(struct kvm_run, memory_fault.flags), 28UL);
	KUNIT_EXPECT_LE(test, sizeof_field(struct kvm_run, memory_fault), 256UL);
	KUNIT_EXPECT_EQ(test, hweight64(KVM_MEMORY_EXIT_FLAG_ERROR &
					KVM_MEMORY_EXIT_FLAG_PRIVATE), 0U);
}

static void uapi_features(struct kunit *test)
{
	u32 features = kvm_apf_features();

	KUNIT_EXPECT_TRUE(test, features & KVM_APF_FEATURE_ERROR_EXIT);
	KUNIT_EXPECT_EQ(test, !!(features & KVM_APF_FEATURE_ASYNC_PF),
			IS_ENABLED(CONFIG_KVM_ASYNC_PF));
	KUNIT_EXPECT_EQ(test, !!(features & KVM_APF_FEATURE_GUEST_ERROR),
			IS_ENABLED(CONFIG_KVM_APF_GUEST_ERROR));
	/* VMM-driven faults: where the backend hands them over (not s390). */
	KUNIT_EXPECT_EQ(test, !!(features & KVM_APF_FEATURE_VMM),
			IS_ENABLED(CONFIG_USERFAULTFD) &&
			kvm_arch_apf_ops.vmm_driven);
	KUNIT_EXPECT_EQ(test, !!(features & KVM_APF_FEATURE_VMM_EXITLESS),
			!!(features & KVM_APF_FEATURE_VMM));
}

/* Bad KVM_ENABLE_CAP input gets -EINVAL and leaves the VM as it was. */
static void uapi_enable_cap(struct kunit *test)
{
	struct kvm *kvm = kunit_kzalloc(test, sizeof(*kvm), GFP_KERNEL);
	u64 offered = KVM_APF_FEATURES_ENABLE & kvm_apf_features();
	struct kvm_enable_cap cap = { .cap = KVM_CAP_APF_FEATURES };

	KUNIT_ASSERT_NOT_NULL(test, kvm);
	KUNIT_EXPECT_FALSE(test, kvm_apf_guest_error_allowed(kvm));

	cap.args[0] = offered;
	KUNIT_EXPECT_EQ(test, kvm_apf_enable_cap(kvm, &cap), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_error_allowed(kvm),
			!!(offered & KVM_APF_FEATURE_GUEST_ERROR));

	cap.args[0] = offered | BIT_ULL(31);
	KUNIT_EXPECT_EQ(test, kvm_apf_enable_cap(kvm, &cap), -EINVAL);
	cap.args[0] = KVM_APF_FEATURE_ERROR_EXIT;	/* not enable-able */
	KUNIT_EXPECT_EQ(test, kvm_apf_enable_cap(kvm, &cap), -EINVAL);
	cap.args[0] = 0;
	cap.args[2] = 1;
	KUNIT_EXPECT_EQ(test, kvm_apf_enable_cap(kvm, &cap), -EINVAL);
	cap.args[2] = 0;
	cap.flags = 1;
	KUNIT_EXPECT_EQ(test, kvm_apf_enable_cap(kvm, &cap), -EINVAL);
	cap.flags = 0;
	/* Exitless is a mode of VMM-driven faults, not a feature alone. */
	cap.args[0] = offered & ~(u64)KVM_APF_FEATURE_VMM;
	KUNIT_EXPECT_EQ(test, kvm_apf_enable_cap(kvm, &cap),
			offered & KVM_APF_FEATURE_VMM_EXITLESS ? -EINVAL : 0);
	if (offered & KVM_APF_FEATURE_VMM_EXITLESS)
		KUNIT_EXPECT_EQ(test, kvm->apf_features, (u32)offered);
	cap.args[0] = 0;

	KUNIT_EXPECT_EQ(test, kvm_apf_enable_cap(kvm, &cap), 0);
	KUNIT_EXPECT_FALSE(test, kvm_apf_guest_error_allowed(kvm));
}

/*
 * Every number of the layer has the value it had when it was defined in one
 * header of its own (Documentation/api.rst: "Numbers and where they live"):
 * moving a number between headers must not change it.
 */
static void uapi_numbers_pinned(struct kunit *test)
{
	struct kvm_apf_completion c;

	KUNIT_EXPECT_EQ(test, KVM_CAP_APF_FEATURES, 0x4150);
	KUNIT_EXPECT_EQ(test, KVM_CAP_APF_FEATURES_ENABLED, 0x4151);
	KUNIT_EXPECT_EQ(test, KVM_APF_FEATURE_ASYNC_PF, 1UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_FEATURE_ERROR_EXIT, 2UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_FEATURE_GUEST_ERROR, 4UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_FEATURE_VMM, 8UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_FEATURE_VMM_EXITLESS, 16UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_FEATURES_ENABLE, 0x1cUL);
	KUNIT_EXPECT_EQ(test, KVM_MEMORY_EXIT_FLAG_ASYNC, 1ULL << 33);
	KUNIT_EXPECT_EQ(test, KVM_MEMORY_EXIT_FLAG_ASYNC_ACCEPT, 1ULL << 34);
	KUNIT_EXPECT_EQ(test, KVM_APF_READY_BATCH, 0x4010aef2U);
	KUNIT_EXPECT_EQ(test, KVM_APF_SET_RING, 0x4018aef3U);
	KUNIT_EXPECT_EQ(test, KVM_APF_GET_OWED, 0xc010aef4U);
	KUNIT_EXPECT_EQ(test, sizeof(struct kvm_apf_ready), 16UL);
	KUNIT_EXPECT_EQ(test, sizeof(struct kvm_apf_notice), 16UL);
	KUNIT_EXPECT_EQ(test, sizeof(struct kvm_apf_ring), 16UL);
	KUNIT_EXPECT_EQ(test, KVM_MEMORY_EXIT_FLAG_ERROR, 1ULL << 32);
	KUNIT_EXPECT_EQ(test, KVM_APF_COMPLETE, 0x4010aef1U);
	KUNIT_EXPECT_EQ(test, sizeof(c), 16UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_completion, status), 4UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_completion, flags), 8UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_REASON_NOT_PRESENT, 1);
	KUNIT_EXPECT_EQ(test, sizeof(struct kvm_apf_shared), 64UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_shared, token), 4UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_shared, status), 8UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_shared, np_token), 12UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_shared, np_addr), 16UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_READY_RING_ENTRIES, 256);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_ready_ring, tail), 4UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_apf_ready_ring, entries), 64UL);
	KUNIT_EXPECT_EQ(test, sizeof(struct kvm_apf_ready_ring), 2112UL);
	KUNIT_EXPECT_EQ(test, sizeof(struct kvm_apf_ready_entry), 8UL);
#ifdef CONFIG_X86
	KUNIT_EXPECT_EQ(test, KVM_ASYNC_PF_ERROR_STATUS, 0x10);
	KUNIT_EXPECT_EQ(test, KVM_FEATURE_ASYNC_PF_ERROR, 20);
	KUNIT_EXPECT_EQ(test, KVM_ASYNC_PF_READY_RING, 0x20);
	KUNIT_EXPECT_EQ(test, KVM_FEATURE_ASYNC_PF_RING, 21);
	KUNIT_EXPECT_EQ(test, offsetof(struct kvm_vcpu_pv_apf_data, status), 8UL);
#endif
#ifdef CONFIG_ARM64
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_APF_CTRL, 0x6030000000144150ULL);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_APF_PPI, 0x6030000000144151ULL);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_APF_SDEI_EP, 0x6030000000144152ULL);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_APF_SDEI_ARG, 0x6030000000144153ULL);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_APF_SDEI_STATE, 0x6030000000144154ULL);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_APF_SDEI_CTX(0), 0x6030000000144160ULL);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_APF_SDEI_CTX(19), 0x6030000000144173ULL);
	KUNIT_EXPECT_EQ(test, KVM_APF_SDEI_CTX_REGS, 20);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_VENDOR_HYP_BIT_APF, 63);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_VENDOR_HYP_BIT_APF_RING, 62);
	KUNIT_EXPECT_EQ(test, KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT, 61);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_ENABLE_BITS, 0x1fUL);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_DELIVERY_AS_ABORT, 8UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_INFO_ABORT, 4UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_ABORT_FSC, 0x34);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_READY_RING, 4UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_INFO_READY_RING, 2UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_ERROR_STATUS, 0x10UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_SEND_ALWAYS, 2UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_SDEI_STATE_BITS, 0x1f);
	KUNIT_EXPECT_EQ(test, KVM_APF_SDEI_REGISTERED | KVM_APF_SDEI_ENABLED |
			KVM_APF_SDEI_RUNNING | KVM_APF_SDEI_UNREGISTER_PENDING |
			KVM_APF_SDEI_PE_UNMASKED, 0x1fUL);
	KUNIT_EXPECT_EQ(test, KVM_APF_SDEI_UNREGISTER_PENDING, 8UL);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_SDEI_EVENT, 0x40400001);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_DEFAULT_PPI, 17);
	KUNIT_EXPECT_EQ(test, ARM_SMCCC_KVM_FUNC_APF, 96);
	KUNIT_EXPECT_EQ(test, ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, 0xc6000060U);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_INFO, 0);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_ENABLE, 1);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_ACK, 2);
	KUNIT_EXPECT_EQ(test, KVM_APF_ARM64_INFO_ERROR_STATUS, 1UL);
#endif
}

static struct kunit_case uapi_cases[] = {
	KUNIT_CASE(uapi_error_exit_encoding),
	KUNIT_CASE(uapi_memory_fault_layout),
	KUNIT_CASE(uapi_features),
	KUNIT_CASE(uapi_enable_cap),
	KUNIT_CASE(uapi_numbers_pinned),
	{}
};

static struct kunit_suite uapi_suite = {
	.name = "kvm_apf_uapi",
	.test_cases = uapi_cases,
};

kunit_test_suite(uapi_suite);
