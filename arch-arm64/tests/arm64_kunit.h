/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests for the arm64 backend, included at the end of apf.c: the
 * SMCCC call's decoding, the SDEI state machine, "page ready" as a PPI with
 * its ack, and the migration registers.  A vCPU that never runs stands in
 * for a real one; static stubs replace the vGIC and guest memory.
 */
#include <kunit/test.h>
#include <kunit/static_stub.h>
#include <linux/sched/mm.h>
#include <uapi/linux/arm_sdei.h>

#define FAKE_AREA_GPA	0x80000000ULL
#define FAKE_EP		0x40001000ULL
#define FAKE_EP_ARG	0x1234ULL
#define FAKE_PC		0x40002000ULL

struct arm64_fake {
	struct kvm kvm;
	struct kvm_vcpu vcpu;
	struct kvm_apf_shared area;	/* the guest's shared area */
	struct kvm_apf_ready_ring ring;	/* and the ring after it */
	int area_init_result;
	int ppi_level;
	int ppi_raises;
	int ppi_unowned;	/* vGIC calls on a PPI the vCPU has not claimed */
	int maps;		/* pages mapped by a prefault, the last: */
	gpa_t map_gpa;
	u64 map_esr;
	bool map_prefaulting;	/* with the fault-in told so */
	void *owner[VGIC_NR_PRIVATE_IRQS];	/* the vGIC's PPI owners */
};

static struct arm64_fake *vcpu_fake(struct kvm_vcpu *vcpu)
{
	return container_of(vcpu, struct arm64_fake, vcpu);
}

static int fake_set_ppi(struct kvm_vcpu *vcpu, bool level)
{
	struct arm64_fake *f = vcpu_fake(vcpu);

	f->ppi_unowned += !vcpu->arch.apf.ppi_claimed;
	f->ppi_raises += level && !f->ppi_level;
	f->ppi_level = level;
	return 0;
}

/* The core's ring code (batched "page ready"), on the area and ring. */
static int fake_ring_rw(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			void *data, unsigned int offset, unsigned int len,
			bool write)
{
	u8 *mem = (u8 *)&vcpu_fake(vcpu)->area;

	BUILD_BUG_ON(offsetof(struct arm64_fake, ring) !=
		     offsetofend(struct arm64_fake, area));
	if (area != &vcpu->arch.apf.area ||
	    offset + len > sizeof(struct kvm_apf_shared) +
			   sizeof(struct kvm_apf_ready_ring))
		return -EFAULT;
	if (write)
		memcpy(mem + offset, data, len);
	else
		memcpy(data, mem + offset, len);
	return 0;
}

/* The core's "page ready" slot, on the same fake area. */
static int fake_put_ready(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  const struct kvm_apf_item *item)
{
	struct {
		u32 token;
		u32 status;
	} ready = { item->token, -item->result };

	if (area != &vcpu->arch.apf.area)
		return -EFAULT;
	return fake_ring_rw(vcpu, area, &ready,
			    offsetof(struct kvm_apf_shared, token),
			    vcpu->async_pf.report_errors ? sizeof(ready) :
			    sizeof(ready.token), true);
}

static bool fake_ready_slot_free(struct kvm_vcpu *vcpu,
				 struct gfn_to_hva_cache *area)
{
	u32 token;

	return area == &vcpu->arch.apf.area &&
	       !fake_ring_rw(vcpu, area, &token,
			     offsetof(struct kvm_apf_shared, token),
			     sizeof(token), false) && !token;
}

static int fake_area_init(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  gpa_t gpa, bool ring)
{
	area->gpa = gpa;
	return vcpu_fake(vcpu)->area_init_result;
}

static int fake_ppi_own(struct kvm_vcpu *vcpu, u32 intid, bool claim)
{
	void **owner = &vcpu_fake(vcpu)->owner[intid];

	if (!claim) {
		if (*owner == &vcpu->arch.apf)
			*owner = NULL;
		return 0;
	}
	if (*owner && *owner != &vcpu->arch.apf)
		return -EEXIST;
	*owner = &vcpu->arch.apf;
	return 0;
}

static void fake_map(struct kvm_vcpu *vcpu, gpa_t gpa, u64 esr)
{
	struct arm64_fake *f = vcpu_fake(vcpu);

	f->maps++;
	f->map_gpa = gpa;
	f->map_esr = esr;
	f->map_prefaulting = vcpu->arch.apf.prefaulting;
}

/* As kvm_destroy_vm() does: the vCPU, then its VM's queue. */
static void fake_destroy(void *data)
{
	struct arm64_fake *f = data;

	kvm_async_pf_vcpu_destroy(&f->vcpu);
	kvm_async_pf_vm_destroy(&f->kvm);
}

static void fake_mmput(void *mm)
{
	mmput(mm);
}

/* A vCPU that has not run yet: its "page ready" PPI not claimed. */
static struct kvm_vcpu *fresh_vcpu(struct kunit *test)
{
	struct arm64_fake *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct kvm_vcpu *vcpu;
	int r;

	KUNIT_ASSERT_NOT_NULL(test, f);
	vcpu = &f->vcpu;
	vcpu->kvm = &f->kvm;
	vcpu->arch.hw_mmu = &f->kvm.arch.mmu;	/* not a nested stage 2 */
	/* The VMM's address space, with nothing at any hva. */
	f->kvm.mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, f->kvm.mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fake_mmput,
							f->kvm.mm), 0);
	vcpu->vcpu_id = 1;
	vcpu->cpu = -1;
	f->kvm.arch.vgic.in_kernel = true;
	f->kvm.arch.vgic.initialized = true;
	kvm_arm_init_hypercalls(&f->kvm);
	*vcpu_cpsr(vcpu) = PSR_MODE_EL0t;
	*vcpu_pc(vcpu) = FAKE_PC;
	r = kvm_async_pf_vcpu_init(vcpu);
	if (r)	/* the VM's queue, if it made one */
		kvm_async_pf_vm_destroy(&f->kvm);
	KUNIT_ASSERT_EQ(test, r, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fake_destroy, f), 0);
	/* The VM's queue of kernel fault-ins, made with its first vCPU. */
	KUNIT_ASSERT_NOT_NULL(test, f->kvm.apf_wq);
	KUNIT_ASSERT_PTR_EQ(test, vcpu->async_pf.wq, f->kvm.apf_wq);

	kunit_activate_static_stub(test, apf_set_ppi, fake_set_ppi);
	kunit_activate_static_stub(test, kvm_async_pf_put_ready, fake_put_ready);
	kunit_activate_static_stub(test, kvm_async_pf_ready_slot_free,
				   fake_ready_slot_free);
	kunit_activate_static_stub(test, apf_area_init, fake_area_init);
	kunit_activate_static_stub(test, kvm_async_pf_area_rw, fake_ring_rw);
	kunit_activate_static_stub(test, apf_ppi_own, fake_ppi_own);
	kunit_activate_static_stub(test, apf_map, fake_map);
	return vcpu;
}

/* A vCPU that has run: its PPI claimed, as every guest call finds it. */
static struct kvm_vcpu *fake_vcpu(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fresh_vcpu(test);

	KUNIT_ASSERT_EQ(test, kvm_apf_arm64_first_run(vcpu), 0);
	return vcpu;
}

/* An SMCCC call from the guest; returns x0. */
static long hvc(struct kvm_vcpu *vcpu, u32 fn, u64 a1, u64 a2, u64 a3,
		u64 a4)
{
	vcpu_set_reg(vcpu, 0, fn);
	vcpu_set_reg(vcpu, 1, a1);
	vcpu_set_reg(vcpu, 2, a2);
	vcpu_set_reg(vcpu, 3, a3);
	vcpu_set_reg(vcpu, 4, a4);
	KUNIT_EXPECT_TRUE(kunit_get_current_test(),
			  kvm_apf_arm64_call_allowed(vcpu, fn));
	KUNIT_EXPECT_EQ(kunit_get_current_test(), kvm_apf_arm64_call(vcpu, fn), 1);
	return vcpu_get_reg(vcpu, 0);
}

static long hvc_apf(struct kvm_vcpu *vcpu, u64 sub, u64 arg)
{
	return hvc(vcpu, ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, sub, arg, 0, 0);
}

static long hvc_sdei(struct kvm_vcpu *vcpu, u32 fn, u64 a1, u64 a2, u64 a3)
{
	return hvc(vcpu, fn, a1, a2, a3, 0);
}

/* Register, enable and unmask the event; enable async PF. */
static void guest_ready(struct kunit *test, struct kvm_vcpu *vcpu, u64 bits)
{
	KUNIT_ASSERT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_REGISTER,
				       KVM_APF_ARM64_SDEI_EVENT, FAKE_EP,
				   FAKE_EP_ARG), SDEI_SUCCESS);
	KUNIT_ASSERT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_ENABLE,
				       KVM_APF_ARM64_SDEI_EVENT, 0, 0), SDEI_SUCCESS);
	KUNIT_ASSERT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_PE_UNMASK, 0, 0, 0),
			SDEI_SUCCESS);
	KUNIT_ASSERT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE,
				      FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED | bits),
			SMCCC_RET_SUCCESS);
	/* Enabling queued a wake-all: deliver and acknowledge it. */
	KUNIT_ASSERT_EQ(test, kvm_apf_check_completion(&vcpu->async_pf), 0);
	KUNIT_ASSERT_EQ(test, vcpu_fake(vcpu)->area.token, KVM_APF_TOKEN_WAKE_ALL);
	vcpu_fake(vcpu)->area.token = 0;
	KUNIT_ASSERT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ACK, 0), SMCCC_RET_SUCCESS);
	KUNIT_ASSERT_EQ(test, vcpu_fake(vcpu)->ppi_level, 0);
}

/*
 * A user fault on gfn 1, told "not present" through the SDEI event, whose
 * handler completes: the guest has parked its task.  Returns the token.
 */
static u32 guest_parked(struct kunit *test, struct kvm_vcpu *vcpu)
{
	KUNIT_ASSERT_EQ(test, kvm_apf_setup(&vcpu->async_pf, 0x1000, 1, 0x1000,
					    KVM_APF_ITEM_USER, NULL), 0);
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0, 0);
	return vcpu_fake(vcpu)->area.np_token;
}

/* The SMCCC call: INFO, FEATURES, unknown sub-functions and IDs. */
static void arm64_smccc_decode(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	u64 feat[4] = {};

	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_INFO, 0), SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 1), KVM_APF_ARM64_INFO_READY_RING |
			KVM_APF_ARM64_INFO_ABORT);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 2), KVM_APF_ARM64_SDEI_EVENT);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 3), KVM_APF_ARM64_DEFAULT_PPI);

	vcpu->kvm->apf_features = KVM_APF_FEATURE_GUEST_ERROR;
	hvc_apf(vcpu, KVM_APF_ARM64_INFO, 0);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 1),
			KVM_APF_ARM64_INFO_READY_RING | KVM_APF_ARM64_INFO_ABORT |
			KVM_APF_ARM64_INFO_ERROR_STATUS);

	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, 3, 0), SMCCC_RET_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, ~0ULL, 0), SMCCC_RET_NOT_SUPPORTED);

	kvm_apf_arm64_hyp_features(vcpu, feat);
	KUNIT_EXPECT_EQ(test, feat[0] | feat[1] | feat[2], 0);
	KUNIT_EXPECT_EQ(test, feat[3], BIT(0));		/* function 96 */

	/* Neighbours (pKVM's, upstream's discovery calls) are not ours. */
	KUNIT_EXPECT_FALSE(test, kvm_apf_arm64_call_allowed(vcpu, 0xc6000002));
	KUNIT_EXPECT_FALSE(test, kvm_apf_arm64_call_allowed(vcpu, 0xc6000040));
	KUNIT_EXPECT_FALSE(test, kvm_apf_arm64_call_allowed(vcpu, 0x86000060));
	KUNIT_EXPECT_FALSE(test, kvm_apf_arm64_call_allowed(vcpu, 0xc4000000));
	KUNIT_EXPECT_TRUE(test, kvm_apf_arm64_call_allowed(vcpu, 0xc400003f));
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN(0x0d), 0, 0, 0),
			SDEI_NOT_SUPPORTED);	/* INTERRUPT_BIND */
}

/* ENABLE: every malformed word is refused and changes nothing. */
static void arm64_smccc_enable(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu);
	u64 good = FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED;
	u64 ring = KVM_APF_ARM64_ENABLED | KVM_APF_ARM64_READY_RING;
	/* The ring needs its area 4 KiB aligned. */
	u64 bad[] = { good | BIT(5),
		      good | KVM_APF_ARM64_ERROR_STATUS,
		      (FAKE_AREA_GPA + 64) | ring, (FAKE_AREA_GPA + 2048) | ring };
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE, bad[i]),
				SMCCC_RET_INVALID_PARAMETER);
		KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, 0);
	}
	f->area_init_result = -EINVAL;		/* no memslot there */
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE, good),
			SMCCC_RET_INVALID_PARAMETER);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, 0);
	KUNIT_EXPECT_EQ(test, vcpu->async_pf.queued, 0);

	f->area_init_result = 0;
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE, good),
			SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, good);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.area.gpa, FAKE_AREA_GPA);
	KUNIT_EXPECT_FALSE(test, vcpu->async_pf.report_errors);
	KUNIT_EXPECT_EQ(test, vcpu->async_pf.queued, 1);	/* the wake-all */

	/* Error status once the VMM allows it. */
	vcpu->kvm->apf_features = KVM_APF_FEATURE_GUEST_ERROR;
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE,
				      good | KVM_APF_ARM64_ERROR_STATUS),
			SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_TRUE(test, vcpu->async_pf.report_errors);

	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE,
				      FAKE_AREA_GPA | ring), SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, FAKE_AREA_GPA | ring);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.area.gpa, FAKE_AREA_GPA);

	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE, 0),
			SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, 0);
	KUNIT_EXPECT_FALSE(test, vcpu->async_pf.report_errors);
	KUNIT_EXPECT_EQ(test, vcpu->async_pf.queued, 0);
}

/* Register, enable, deliver, context, complete; and what is refused. */
static void arm64_sdei_deliver_complete(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	const u32 ev = KVM_APF_ARM64_SDEI_EVENT;
	int i;

	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_VERSION, 0, 0, 0),
			1L << SDEI_VERSION_MAJOR_SHIFT);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_GET_INFO, ev,
				       SDEI_EVENT_INFO_EV_TYPE, 0),
			SDEI_EVENT_TYPE_PRIVATE);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_GET_INFO, ev,
				       SDEI_EVENT_INFO_EV_ROUTING_MODE, 0),
			SDEI_INVALID_PARAMETERS);
	/* Other events do not exist; nothing is enabled before REGISTER. */
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_REGISTER, 0,
				       FAKE_EP, 0), SDEI_INVALID_PARAMETERS);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_REGISTER, ev,
				       0, 0), SDEI_INVALID_PARAMETERS);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_ENABLE, ev, 0, 0),
			SDEI_DENIED);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.sdei.state, 0);

	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_REGISTER, ev,
				       FAKE_EP, FAKE_EP_ARG), SDEI_SUCCESS);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_REGISTER, ev,
				       FAKE_EP, FAKE_EP_ARG), SDEI_DENIED);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_ENABLE, ev, 0, 0),
			SDEI_SUCCESS);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_STATUS, ev, 0, 0),
			BIT(SDEI_EVENT_STATUS_REGISTERED) |
			BIT(SDEI_EVENT_STATUS_ENABLED));
	/* Masked PE (the state out of reset), then masked again. */
	KUNIT_EXPECT_FALSE(test, kvm_apf_sdei_can_deliver(vcpu));
	hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_PE_UNMASK, 0, 0, 0);
	KUNIT_EXPECT_TRUE(test, kvm_apf_sdei_can_deliver(vcpu));
	hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_PE_MASK, 0, 0, 0);
	KUNIT_EXPECT_FALSE(test, kvm_apf_sdei_can_deliver(vcpu));
	hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_PE_UNMASK, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_CONTEXT, 0, 0, 0),
			SDEI_DENIED);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0),
			SDEI_DENIED);

	/* The interrupted context: x0-x17 = 100 + n, at FAKE_PC in EL0. */
	for (i = 0; i < 18; i++)
		vcpu_set_reg(vcpu, i, 100 + i);
	*vcpu_pc(vcpu) = FAKE_PC;
	*vcpu_cpsr(vcpu) = PSR_MODE_EL0t;
	kvm_apf_sdei_deliver(vcpu);
	KUNIT_EXPECT_EQ(test, *vcpu_pc(vcpu), FAKE_EP);
	KUNIT_EXPECT_EQ(test, *vcpu_cpsr(vcpu), KVM_APF_SDEI_HANDLER_PSTATE);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 0), ev);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 1), FAKE_EP_ARG);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 2), FAKE_PC);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 3), PSR_MODE_EL0t);
	KUNIT_EXPECT_FALSE(test, kvm_apf_sdei_can_deliver(vcpu));
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_STATUS, ev, 0, 0),
			BIT(SDEI_EVENT_STATUS_REGISTERED) |
			BIT(SDEI_EVENT_STATUS_ENABLED) |
			BIT(SDEI_EVENT_STATUS_RUNNING));
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_CONTEXT, 1, 0, 0),
			101);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_CONTEXT, 18, 0, 0),
			SDEI_INVALID_PARAMETERS);

	/* The handler clobbers x0-x17; completion gives them back. */
	for (i = 0; i < 18; i++)
		vcpu_set_reg(vcpu, i, 7);
	KUNIT_EXPECT_EQ(test, hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0,
				  0, 0), 100);
	for (i = 1; i < 18; i++)
		KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, i), 100 + i);
	KUNIT_EXPECT_EQ(test, *vcpu_pc(vcpu), FAKE_PC);
	KUNIT_EXPECT_EQ(test, *vcpu_cpsr(vcpu), PSR_MODE_EL0t);
	KUNIT_EXPECT_TRUE(test, kvm_apf_sdei_can_deliver(vcpu));

	/* Nor an AArch32 or a nested-exception vCPU. */
	vcpu_set_flag(vcpu, INCREMENT_PC);
	KUNIT_EXPECT_FALSE(test, kvm_apf_sdei_can_deliver(vcpu));
	vcpu_clear_flag(vcpu, INCREMENT_PC);
	*vcpu_cpsr(vcpu) = PSR_AA32_MODE_USR | PSR_MODE32_BIT;
	KUNIT_EXPECT_FALSE(test, kvm_apf_sdei_can_deliver(vcpu));
}

/* COMPLETE_AND_RESUME: an IRQ-like entry at the given address. */
static void arm64_sdei_complete_and_resume(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);

	guest_ready(test, vcpu, 0);
	*vcpu_pc(vcpu) = FAKE_PC;
	*vcpu_cpsr(vcpu) = PSR_MODE_EL0t;
	kvm_apf_sdei_deliver(vcpu);
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE_AND_RESUME, FAKE_EP + 0x480,
	    0, 0, 0);
	KUNIT_EXPECT_EQ(test, *vcpu_pc(vcpu), FAKE_EP + 0x480);
	KUNIT_EXPECT_EQ(test, *vcpu_cpsr(vcpu), KVM_APF_SDEI_HANDLER_PSTATE);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, ELR_EL1), FAKE_PC);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, SPSR_EL1), PSR_MODE_EL0t);
	KUNIT_EXPECT_FALSE(test, vcpu->arch.apf.sdei.state &
			   KVM_APF_SDEI_RUNNING);
}

/* UNREGISTER while the handler runs is pending until it completes. */
static void arm64_sdei_unregister_while_running(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	const u32 ev = KVM_APF_ARM64_SDEI_EVENT;

	guest_ready(test, vcpu, 0);
	kvm_apf_sdei_deliver(vcpu);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_UNREGISTER, ev,
				       0, 0), SDEI_PENDING);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_ENABLE, ev, 0, 0),
			SDEI_DENIED);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_UNREGISTER, ev,
				       0, 0), SDEI_DENIED);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_STATUS, ev, 0, 0),
			BIT(SDEI_EVENT_STATUS_REGISTERED) |
			BIT(SDEI_EVENT_STATUS_ENABLED) |
			BIT(SDEI_EVENT_STATUS_RUNNING));
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_STATUS, ev, 0, 0),
			0);
	KUNIT_EXPECT_FALSE(test, kvm_apf_sdei_can_deliver(vcpu));
	/* It can be registered again; PRIVATE_RESET unregisters it. */
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_REGISTER, ev,
				       FAKE_EP, 0), SDEI_SUCCESS);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_PRIVATE_RESET, 0, 0, 0),
			SDEI_SUCCESS);
	KUNIT_EXPECT_EQ(test, hvc_sdei(vcpu, SDEI_1_0_FN_SDEI_EVENT_STATUS, ev, 0, 0),
			0);
}

/*
 * A fault: "not present" is the SDEI event with the token in the area;
 * "page ready" raises the PPI with token and status, one at a time until
 * the ACK lowers it.
 */
static void arm64_ppi_ready_and_ack(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu);
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	u32 t1, t2;

	vcpu->kvm->apf_features = KVM_APF_FEATURE_GUEST_ERROR;
	guest_ready(test, vcpu, KVM_APF_ARM64_ERROR_STATUS);
	KUNIT_EXPECT_EQ(test, f->ppi_raises, 1);	/* the wake-all */

	KUNIT_ASSERT_EQ(test, kvm_apf_setup(apf, 0x1000, 1, 0x1000,
					    KVM_APF_ITEM_USER, NULL), 0);
	t1 = f->area.np_token;
	KUNIT_EXPECT_EQ(test, f->area.reason, KVM_APF_REASON_NOT_PRESENT);
	KUNIT_EXPECT_NE(test, t1, 0);
	KUNIT_EXPECT_EQ(test, *vcpu_pc(vcpu), FAKE_EP);
	/* A second fault while the handler runs cannot be told: sync. */
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0, 0);
	f->area.reason = 0;
	KUNIT_ASSERT_EQ(test, kvm_apf_setup(apf, 0x2000, 2, 0x2000,
					    KVM_APF_ITEM_USER, NULL), 0);
	t2 = f->area.np_token;
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0, 0);

	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(apf, t2, -EFAULT), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(apf, t1, 0), 0);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_READY, vcpu));
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, f->area.token, t2);
	KUNIT_EXPECT_EQ(test, f->area.status, EFAULT);

	/* Nothing more until the guest has read it and acknowledged. */
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->ppi_raises, 2);
	f->area.token = 0;
	f->area.status = 0;
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ACK, 0), SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->ppi_raises, 3);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, f->area.token, t1);
	KUNIT_EXPECT_EQ(test, f->area.status, 0);
	f->area.token = 0;
	hvc_apf(vcpu, KVM_APF_ARM64_ACK, 0);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 0);
	KUNIT_EXPECT_EQ(test, apf->queued, 0);
	KUNIT_EXPECT_EQ(test, vcpu->stat.generic.apf.apf_not_present, 2);
	KUNIT_EXPECT_EQ(test, vcpu->stat.generic.apf.apf_ready, 3);

	/* Reset (e.g. PSCI CPU_ON) turns it all off. */
	kvm_apf_arm64_vcpu_reset(vcpu);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.sdei.state, 0);
	KUNIT_EXPECT_EQ(test, apf_ppi(vcpu), KVM_APF_ARM64_DEFAULT_PPI);
}

/*
 * A guest at EL1 is told only if it asked for SEND_ALWAYS; none is told
 * without the vGIC or the PPI.
 */
static void arm64_el1_needs_send_always(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);

	guest_ready(test, vcpu, 0);
	*vcpu_cpsr(vcpu) = PSR_MODE_EL1h;
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	hvc_apf(vcpu, KVM_APF_ARM64_ENABLE, FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED |
	    KVM_APF_ARM64_SEND_ALWAYS);
	KUNIT_EXPECT_TRUE(test, apf_can_notify(vcpu));
	vcpu->kvm->arch.vgic.initialized = false;
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	/* No PPI claimed (async PF not offered at the first run). */
	vcpu->kvm->arch.vgic.initialized = true;
	vcpu->arch.apf.ppi_claimed = false;
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
}

#define SDEI_STATE	KVM_REG_ARM_APF_SDEI_STATE

static int set_reg(struct kvm_vcpu *vcpu, u64 id, u64 val)
{
	return kvm_apf_arm64_set_reg(vcpu, id, val);
}

/* The migration registers: listed, read back, bad values refused. */
static void arm64_migration_regs(struct kunit *test)
{
	const u64 ctrl = FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED;
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	u64 before, val;
	int i;

	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_num_regs(vcpu), 25);
	guest_ready(test, vcpu, 0);
	kvm_apf_sdei_deliver(vcpu);

	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_get_reg(vcpu, KVM_REG_ARM_APF_CTRL,
						    &val), 0);
	KUNIT_EXPECT_EQ(test, val, FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED);
	kvm_apf_arm64_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_STATE, &val);
	KUNIT_EXPECT_EQ(test, val, KVM_APF_SDEI_REGISTERED |
			KVM_APF_SDEI_ENABLED | KVM_APF_SDEI_PE_UNMASKED |
			KVM_APF_SDEI_RUNNING);
	kvm_apf_arm64_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_CTX(18), &val);
	KUNIT_EXPECT_EQ(test, val, FAKE_PC);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_get_reg(vcpu,
						    KVM_REG_ARM_APF_SDEI_CTX(20), &val), -ENOENT);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_set_reg(vcpu,
						    KVM_REG_ARM_FW_REG(0x4155),
						    0), -ENOENT);

	/* Values a guest could not have set change nothing. */
	kvm_apf_arm64_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_STATE, &before);
	for (val = 0; val < 64; val++) {
		bool ok = sdei_state_valid(val);

		KUNIT_EXPECT_EQ(test, set_reg(vcpu, SDEI_STATE, val),
				ok ? 0 : -EINVAL);
		if (!ok)
			KUNIT_EXPECT_EQ(test, vcpu->arch.apf.sdei.state, before);
		vcpu->arch.apf.sdei.state = before;
	}
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, SDEI_STATE, KVM_APF_SDEI_ENABLED),
			-EINVAL);
	/* Bit 3, the abort, where the VMM withdrew it. */
	clear_bit(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT,
		  &vcpu->kvm->arch.smccc_feat.vendor_hyp_bmap);
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_CTRL, ctrl | BIT(3)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, ctrl);
	for (val = 0; val < 40; val++)
		KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_PPI, val),
				val >= 16 && val < 32 ? 0 : -EINVAL);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ppi, 31);

	/* A destination restores a running handler's context. */
	for (i = 0; i < KVM_APF_SDEI_CTX_REGS - 1; i++)
		KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_SDEI_CTX(i),
					      200 + i), 0);
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_SDEI_CTX(19),
				      PSR_MODE_EL1h), 0);
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 5), 205);
	KUNIT_EXPECT_EQ(test, *vcpu_pc(vcpu), 218);
	KUNIT_EXPECT_EQ(test, *vcpu_cpsr(vcpu), PSR_MODE_EL1h);
	/* A restored CTRL wakes every parked task, as re-enabling does. */
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_CTRL, ctrl), 0);
	KUNIT_EXPECT_EQ(test, vcpu->async_pf.queued, 1);
}

/*
 * SDEI_CTX(19) is the PSTATE EVENT_COMPLETE installs: only what the event
 * can interrupt (AArch64 EL0t, EL1t, EL1h) is accepted, as set_core_reg
 * refuses modes the vCPU cannot be in; a refused value changes nothing.
 */
static void arm64_sdei_ctx_pstate(struct kunit *test)
{
	const u64 id = KVM_REG_ARM_APF_SDEI_CTX(19);
	const u64 flags = PSR_N_BIT | PSR_D_BIT | PSR_I_BIT;
	const u64 good[] = { PSR_MODE_EL0t, PSR_MODE_EL1t,
			     PSR_MODE_EL1h | flags };
	const u64 bad[] = { PSR_MODE_EL2h, PSR_MODE_EL2t, PSR_MODE_EL3h,
			    PSR_MODE_EL1h | 2, 0x3, 0x6, 0xa, 0xf,
			    PSR_MODE32_BIT | PSR_AA32_MODE_USR,
			    PSR_MODE32_BIT | PSR_AA32_MODE_SVC };
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	u64 val;
	int i;

	guest_ready(test, vcpu, 0);
	kvm_apf_sdei_deliver(vcpu);
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		KUNIT_EXPECT_EQ(test, set_reg(vcpu, id, good[i]), 0);
		kvm_apf_arm64_get_reg(vcpu, id, &val);
		KUNIT_EXPECT_EQ(test, val, good[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, set_reg(vcpu, id, bad[i]), -EINVAL,
				    "PSTATE %#llx", bad[i]);
		kvm_apf_arm64_get_reg(vcpu, id, &val);
		KUNIT_EXPECT_EQ(test, val, good[ARRAY_SIZE(good) - 1]);
	}
	/* What completion installs is what was accepted. */
	hvc(vcpu, SDEI_1_0_FN_SDEI_EVENT_COMPLETE, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, *vcpu_cpsr(vcpu), PSR_MODE_EL1h | flags);
}

/*
 * KVM_SET_ONE_REG(APF_PPI) refuses a PPI another device of the vCPU owns:
 * the timers' (VM-wide, claimed at first run) and one the vGIC says is
 * someone else's; the value stays.
 */
static void arm64_ppi_set_refuses_owned(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fresh_vcpu(test);
	struct kvm *kvm = vcpu->kvm;

	kvm->arch.timer_data.ppi[TIMER_VTIMER] = 27;
	kvm->arch.timer_data.ppi[TIMER_PTIMER] = 30;
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_PPI, 27), -EBUSY);
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_PPI, 30), -EBUSY);
	KUNIT_EXPECT_EQ(test, apf_ppi(vcpu), KVM_APF_ARM64_DEFAULT_PPI);
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_PPI, 21), 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ppi, 21);
}

/*
 * The first run claims the PPI in the vGIC, after the timers and the PMU
 * claimed theirs: the default moves off an owned PPI (and INFO says where),
 * one the VMM chose is refused; later moves claim the new PPI and give the
 * old one back.  A VM without async PF offered claims none.
 */
static void arm64_ppi_first_run_claims(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fresh_vcpu(test), *chosen = fresh_vcpu(test);
	struct kvm_vcpu *without = fresh_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu), *g = vcpu_fake(chosen);
	void *pmu = &vcpu->arch.pmu, *ours = &vcpu->arch.apf;
	int i;

	/* Async PF not offered: no PPI claimed, every one the VMM's. */
	clear_bit(KVM_REG_ARM_VENDOR_HYP_BIT_APF,
		  &without->kvm->arch.smccc_feat.vendor_hyp_bmap);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_first_run(without), 0);
	KUNIT_EXPECT_FALSE(test, without->arch.apf.ppi_claimed);
	for (i = 0; i < VGIC_NR_PRIVATE_IRQS; i++)
		KUNIT_EXPECT_NULL(test, vcpu_fake(without)->owner[i]);

	f->owner[16] = pmu;
	f->owner[KVM_APF_ARM64_DEFAULT_PPI] = pmu;
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_first_run(vcpu), 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ppi, 18);
	KUNIT_EXPECT_PTR_EQ(test, f->owner[18], ours);
	KUNIT_EXPECT_PTR_EQ(test, f->owner[KVM_APF_ARM64_DEFAULT_PPI], pmu);
	hvc_apf(vcpu, KVM_APF_ARM64_INFO, 0);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 3), 18);

	/* Moved after the first run: claimed, the old one given back. */
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_PPI, 16), -EBUSY);
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_PPI, 22), 0);
	KUNIT_EXPECT_PTR_EQ(test, f->owner[22], ours);
	KUNIT_EXPECT_NULL(test, f->owner[18]);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_first_run(vcpu), 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ppi, 22);

	/* A PPI the VMM chose is not moved: its first run fails. */
	KUNIT_EXPECT_EQ(test, set_reg(chosen, KVM_REG_ARM_APF_PPI, 20), 0);
	g->owner[20] = pmu;
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_first_run(chosen), -EBUSY);
	KUNIT_EXPECT_EQ(test, chosen->arch.apf.ppi, 20);
	KUNIT_EXPECT_PTR_EQ(test, g->owner[20], pmu);
}

/*
 * A vCPU parked in PSCI SYSTEM_SUSPEND wakes on what upstream wakes it on
 * (a pending interrupt), not on a completion or the wake-all still to be
 * delivered: a VMM that denies the wakeup would otherwise spin on
 * KVM_EXIT_SYSTEM_EVENT(WAKEUP), as the request is only handled once the
 * vCPU runs.  In WFI the same completion does wake it.
 */
static void arm64_suspended_not_woken(struct kunit *test)
{
	const u64 ctrl = FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED;
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	u32 token;

	guest_ready(test, vcpu, 0);
	token = guest_parked(test, vcpu);
	kvm_clear_request(KVM_REQ_APF_READY, vcpu);
	KUNIT_EXPECT_FALSE(test, kvm_arch_vcpu_runnable(vcpu));

	WRITE_ONCE(vcpu->arch.mp_state.mp_state, KVM_MP_STATE_SUSPENDED);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(apf, token, 0), 0);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_READY, vcpu));
	KUNIT_EXPECT_FALSE(test, kvm_arch_vcpu_runnable(vcpu));
	/* The wake-all of a restored CTRL neither. */
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_CTRL, ctrl), 0);
	KUNIT_EXPECT_FALSE(test, kvm_arch_vcpu_runnable(vcpu));

	/* Out of suspend (e.g. WFI), the completion wakes it to deliver. */
	WRITE_ONCE(vcpu->arch.mp_state.mp_state, KVM_MP_STATE_RUNNABLE);
	KUNIT_EXPECT_TRUE(test, kvm_arch_vcpu_runnable(vcpu));
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, vcpu_fake(vcpu)->ppi_level, 1);
	KUNIT_EXPECT_NE(test, vcpu_fake(vcpu)->area.token, 0);
}

/*
 * A "page ready" raised and not yet acknowledged migrates with CTRL
 * (KVM_APF_ARM64_READY_RAISED): the PPI's level is KVM's own state, which
 * no vGIC register carries.  The destination raises the PPI again once it
 * owns it (the first run) and holds everything else, the restore's
 * wake-all too, until the guest's ACK, whether the guest had not taken the
 * token yet or had cleared the slot and was about to acknowledge.  Without
 * it the destination wrote the wake-all over a slot the guest was done
 * with, and the guest's late ACK lowered the PPI before it was taken.
 */
static void arm64_migration_ready_raised(struct kunit *test)
{
	const u64 ctrl = FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED;
	const u64 raised = ctrl | KVM_APF_ARM64_READY_RAISED;
	struct kvm_vcpu *src = fake_vcpu(test), *dst, *mid = fake_vcpu(test);
	struct arm64_fake *f = vcpu_fake(src), *g, *h = vcpu_fake(mid);
	struct kvm_apf_vcpu *apf = &src->async_pf;
	u64 val;
	u32 token;

	guest_ready(test, src, 0);
	token = guest_parked(test, src);
	KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(apf, token, 0), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_ASSERT_EQ(test, f->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_get_reg(src, KVM_REG_ARM_APF_CTRL,
						    &val), 0);
	KUNIT_EXPECT_EQ(test, val, raised);

	/* The guest may not set it; the VMM not without ENABLED. */
	KUNIT_EXPECT_EQ(test, hvc_apf(src, KVM_APF_ARM64_ENABLE, raised),
			SMCCC_RET_INVALID_PARAMETER);
	KUNIT_EXPECT_EQ(test, src->arch.apf.ctrl, ctrl);
	KUNIT_EXPECT_EQ(test, set_reg(src, KVM_REG_ARM_APF_CTRL,
				      raised & ~KVM_APF_ARM64_ENABLED), -EINVAL);
	KUNIT_EXPECT_EQ(test, src->arch.apf.ctrl, ctrl);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 1);

	/* Token not taken yet: restored before the first run. */
	dst = fresh_vcpu(test);
	g = vcpu_fake(dst);
	g->area = f->area;
	KUNIT_ASSERT_EQ(test, set_reg(dst, KVM_REG_ARM_APF_CTRL, val), 0);
	KUNIT_EXPECT_EQ(test, dst->arch.apf.ctrl, ctrl);
	KUNIT_EXPECT_EQ(test, g->ppi_level, 0);	/* not the PPI's owner yet */
	/* A VMM restoring in KVM_GET_REG_LIST's order sets the PPI next. */
	KUNIT_EXPECT_EQ(test, set_reg(dst, KVM_REG_ARM_APF_PPI, 20), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_arm64_first_run(dst), 0);
	KUNIT_EXPECT_EQ(test, g->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&dst->async_pf), 0);
	KUNIT_EXPECT_EQ(test, g->area.token, token);	/* the wake-all waits */
	g->area.token = 0;
	KUNIT_EXPECT_EQ(test, hvc_apf(dst, KVM_APF_ARM64_ACK, 0), SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, g->area.token, KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, g->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, g->ppi_raises, 2);

	/* Slot cleared, ACK still to come: restored onto a vCPU that ran. */
	KUNIT_ASSERT_EQ(test, set_reg(mid, KVM_REG_ARM_APF_CTRL, raised), 0);
	KUNIT_EXPECT_EQ(test, h->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&mid->async_pf), 0);
	KUNIT_EXPECT_EQ(test, h->area.token, 0);
	KUNIT_EXPECT_EQ(test, set_reg(mid, KVM_REG_ARM_APF_PPI, 20), -EBUSY);
	KUNIT_EXPECT_EQ(test, hvc_apf(mid, KVM_APF_ARM64_ACK, 0), SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, h->area.token, KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, h->ppi_level, 1);
	kvm_apf_arm64_get_reg(mid, KVM_REG_ARM_APF_CTRL, &val);
	KUNIT_EXPECT_EQ(test, val, raised);
	h->area.token = 0;
	hvc_apf(mid, KVM_APF_ARM64_ACK, 0);
	kvm_apf_arm64_get_reg(mid, KVM_REG_ARM_APF_CTRL, &val);
	KUNIT_EXPECT_EQ(test, val, ctrl);
	KUNIT_EXPECT_EQ(test, h->ppi_level, 0);
}

/*
 * The edges of a restored READY_RAISED: the vGIC is not touched for a PPI
 * the vCPU does not own yet (a second restore, a reset before the first
 * run); a VMM restoring in KVM_GET_REG_LIST's order into a vCPU that ran
 * sets the same PPI again; a VM without the in-kernel vGIC, which no
 * source with a raised "page ready" was, is refused.
 */
static void arm64_migration_ready_raised_edges(struct kunit *test)
{
	const u64 ctrl = FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED;
	const u64 raised = ctrl | KVM_APF_ARM64_READY_RAISED;
	struct kvm_vcpu *vcpu = fresh_vcpu(test), *ran = fake_vcpu(test);
	struct kvm_vcpu *nogic = fresh_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu), *g = vcpu_fake(ran);
	u64 val;

	/* Before the first run: restored twice, then reset by VCPU_INIT. */
	KUNIT_ASSERT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_CTRL, raised), 0);
	KUNIT_ASSERT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_CTRL, raised), 0);
	kvm_apf_arm64_vcpu_reset(vcpu);
	KUNIT_EXPECT_EQ(test, f->ppi_unowned, 0);
	KUNIT_ASSERT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_CTRL, raised), 0);
	KUNIT_ASSERT_EQ(test, kvm_apf_arm64_first_run(vcpu), 0);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, f->ppi_unowned, 0);

	/* Into a vCPU that ran, CTRL then the PPI it already has. */
	KUNIT_ASSERT_EQ(test, set_reg(ran, KVM_REG_ARM_APF_CTRL, raised), 0);
	KUNIT_EXPECT_EQ(test, set_reg(ran, KVM_REG_ARM_APF_PPI,
				      ran->arch.apf.ppi), 0);
	KUNIT_EXPECT_EQ(test, set_reg(ran, KVM_REG_ARM_APF_PPI,
				      ran->arch.apf.ppi + 1), -EBUSY);
	KUNIT_EXPECT_EQ(test, g->ppi_level, 1);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_get_reg(ran, KVM_REG_ARM_APF_CTRL,
						    &val), 0);
	KUNIT_EXPECT_EQ(test, val, raised);

	/* No in-kernel vGIC: refused, nothing changed. */
	vcpu_fake(nogic)->kvm.arch.vgic.in_kernel = false;
	KUNIT_EXPECT_EQ(test, set_reg(nogic, KVM_REG_ARM_APF_CTRL, raised),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, nogic->arch.apf.ctrl, 0);
	KUNIT_EXPECT_FALSE(test, nogic->arch.apf.ppi_raised);
	KUNIT_EXPECT_EQ(test, set_reg(nogic, KVM_REG_ARM_APF_CTRL, ctrl), 0);
}

static long features_x3(struct kvm_vcpu *vcpu, u64 *x0)
{
	u64 feat[4] = { vcpu->kvm->arch.smccc_feat.vendor_hyp_bmap };

	kvm_apf_arm64_hyp_features(vcpu, feat);
	*x0 = feat[0];
	return feat[3];
}

/*
 * The vendor-hyp bitmap gates async PF as it gates PTP: on by default; a
 * VMM that clears the bit (to migrate to a kernel without async PF) gets
 * no calls (NOT_SUPPORTED), no KVM_FEATURES bit, and none of the 25
 * registers (not listed, -ENOENT).
 */
static void arm64_vendor_hyp_bmap_gates(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	unsigned long *bmap = &vcpu->kvm->arch.smccc_feat.vendor_hyp_bmap;
	const u32 sdei_reg = SDEI_1_0_FN_SDEI_EVENT_REGISTER;
	const u32 apf_fn = ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID;
	const u64 ctx0 = KVM_REG_ARM_APF_SDEI_CTX(0);
	/* The opt-ins with a bitmap bit of their own, here clear. */
	const u64 opt_in[] = { KVM_APF_ARM64_READY_RING,
			       KVM_APF_ARM64_DELIVERY_AS_ABORT };
	unsigned int i;
	u64 x0, val;

	KUNIT_EXPECT_EQ(test, features_x3(vcpu, &x0), BIT(0));
	/* KVM_FEATURES x0 names functions 0-63: our bit is not one. */
	KUNIT_EXPECT_EQ(test, x0, (u64)GENMASK(1, 0));
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_num_regs(vcpu), 25);

	*bmap &= GENMASK(1, 0);		/* what an older kernel offers */
	KUNIT_EXPECT_EQ(test, features_x3(vcpu, &x0), 0);
	KUNIT_EXPECT_FALSE(test, kvm_apf_arm64_call_allowed(vcpu, apf_fn));
	KUNIT_EXPECT_FALSE(test, kvm_apf_arm64_call_allowed(vcpu, sdei_reg));
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_num_regs(vcpu), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_get_reg(vcpu, KVM_REG_ARM_APF_CTRL,
						    &val), -ENOENT);
	KUNIT_EXPECT_EQ(test, kvm_apf_arm64_get_reg(vcpu, ctx0, &val), -ENOENT);
	KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_PPI, 20), -ENOENT);
	KUNIT_EXPECT_EQ(test, apf_ppi(vcpu), KVM_APF_ARM64_DEFAULT_PPI);

	/* Async PF without the ring: INFO does not offer it, ENABLE refuses. */
	*bmap |= BIT(KVM_REG_ARM_VENDOR_HYP_BIT_APF);
	KUNIT_EXPECT_EQ(test, features_x3(vcpu, &x0), BIT(0));
	KUNIT_EXPECT_EQ(test, x0, (u64)GENMASK(1, 0));
	hvc_apf(vcpu, KVM_APF_ARM64_INFO, 0);
	KUNIT_EXPECT_EQ(test, vcpu_get_reg(vcpu, 1), 0);
	/* Neither the ring nor the abort without its bit. */
	for (i = 0; i < ARRAY_SIZE(opt_in); i++) {
		u64 ctrl = FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED | opt_in[i];

		KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE, ctrl),
				SMCCC_RET_INVALID_PARAMETER);
		KUNIT_EXPECT_EQ(test, set_reg(vcpu, KVM_REG_ARM_APF_CTRL, ctrl),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, vcpu->arch.apf.ctrl, 0);
	}
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE,
				      FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED),
			SMCCC_RET_SUCCESS);
}

/*
 * Batched "page ready": the enable's wake-all goes into the ring, not the
 * slot, with the PPI; more completions join the batch while it is raised
 * (the core's ready_pending), with no new edge; a PPI that a restore
 * raised (its batch unknown to the core) holds every post until the
 * guest's ACK; a full ring takes nothing.
 */
static void arm64_ready_ring(struct kunit *test)
{
	struct kvm_apf_item item = { .token = 0x4100,
				     .flags = KVM_APF_ITEM_NOTIFIED };
	const struct kvm_apf_ops *ops = &kvm_arch_apf_ops;
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu);
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;

	KUNIT_ASSERT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ENABLE,
				      FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED |
				      KVM_APF_ARM64_READY_RING),
			SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->ring.head, 1);
	KUNIT_EXPECT_EQ(test, f->ring.entries[0].token, KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, f->area.token, 0);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 1);
	KUNIT_EXPECT_TRUE(test, apf->ready_pending);

	KUNIT_EXPECT_TRUE(test, ops->can_dequeue(apf));
	KUNIT_EXPECT_EQ(test, ops->notify_ready(apf, &item),
			KVM_APF_READY_BATCHED);
	KUNIT_EXPECT_EQ(test, f->ring.head, 2);
	KUNIT_EXPECT_EQ(test, f->ring.entries[1].token, 0x4100);
	KUNIT_EXPECT_EQ(test, f->ppi_raises, 1);

	/* As after a restore of a raised PPI: held until the ACK. */
	apf->ready_pending = false;
	KUNIT_EXPECT_FALSE(test, ops->can_dequeue(apf));
	f->ring.tail = f->ring.head;
	KUNIT_EXPECT_EQ(test, hvc_apf(vcpu, KVM_APF_ARM64_ACK, 0),
			SMCCC_RET_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 0);
	KUNIT_EXPECT_TRUE(test, ops->can_dequeue(apf));

	f->ring.head = f->ring.tail + KVM_APF_READY_RING_ENTRIES;
	KUNIT_EXPECT_FALSE(test, ops->can_dequeue(apf));
	KUNIT_EXPECT_EQ(test, ops->notify_ready(apf, &item), -ENOSPC);
	KUNIT_EXPECT_EQ(test, f->ppi_level, 0);
}

/* Stage-2 syndromes (level 3), as the guest's faults and retries give them */
#define FAKE_ESR(ec, bits)	(((u64)ESR_ELx_EC_##ec << ESR_ELx_EC_SHIFT) | \
				 ESR_ELx_IL | (bits))
#define FAKE_READ	FAKE_ESR(DABT_LOW, ESR_ELx_FSC_FAULT_L(3))
#define FAKE_WRITE	FAKE_ESR(DABT_LOW, ESR_ELx_FSC_FAULT_L(3) | ESR_ELx_WNR)
#define FAKE_WRITE_PERM	FAKE_ESR(DABT_LOW, ESR_ELx_FSC_PERM_L(3) | ESR_ELx_WNR)
#define FAKE_EXEC	FAKE_ESR(IABT_LOW, ESR_ELx_FSC_FAULT_L(3))
#define FAKE_WALK	FAKE_ESR(DABT_LOW, ESR_ELx_FSC_FAULT_L(3) | ESR_ELx_S1PTW)
#define FAKE_WALK_PERM	FAKE_ESR(DABT_LOW, ESR_ELx_FSC_PERM_L(3) | ESR_ELx_S1PTW)

/*
 * "Page ready" maps the page first (the core's @prefault), as a translation
 * fault by the access that went async would: a read, a write (also after a
 * permission fault, whose mapping is gone by now), an instruction fetch, a
 * stage-1 walk (a write only if it was a permission fault), with the
 * fault-in told not to wait, go async or signal meanwhile.  Not for another
 * syndrome, nor while the dirty ring waits to be harvested.  Through the
 * core, a completed fault whose page the VMM's address space does not have
 * is told but not mapped.
 */
static void arm64_prefault_at_ready(struct kunit *test)
{
	static const struct {
		u64 fault, retry;
	} cases[] = {
		{ FAKE_READ, FAKE_READ },
		{ FAKE_WRITE, FAKE_WRITE },
		{ FAKE_WRITE_PERM, FAKE_WRITE },
		{ FAKE_EXEC, FAKE_EXEC },
		{ FAKE_WALK, FAKE_READ },
		{ FAKE_WALK_PERM, FAKE_WRITE },
	};
	struct kvm_apf_item item = { .cr2_or_gpa = 0x5000, .gfn = 5 };
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu);
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	unsigned int i;
	u32 token;

	vcpu->arch.fault.esr_el2 = FAKE_EXEC;	/* the current exit's: kept */
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		item.arch.esr = cases[i].fault;
		kvm_arch_apf_ops.prefault(apf, &item);
		KUNIT_EXPECT_EQ(test, f->maps, i + 1);
		KUNIT_EXPECT_EQ(test, f->map_gpa, 0x5000);
		KUNIT_EXPECT_EQ_MSG(test, f->map_esr, cases[i].retry,
				    "fault %#llx", cases[i].fault);
		KUNIT_EXPECT_TRUE(test, f->map_prefaulting);
		KUNIT_EXPECT_FALSE(test, vcpu->arch.apf.prefaulting);
		KUNIT_EXPECT_EQ(test, vcpu->arch.fault.esr_el2, FAKE_EXEC);
	}
	item.arch.esr = 0;		/* no stage-2 abort: nothing to replay */
	kvm_arch_apf_ops.prefault(apf, &item);
	item.arch.esr = FAKE_WRITE;
	kvm_make_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu);
	kvm_arch_apf_ops.prefault(apf, &item);
	KUNIT_EXPECT_EQ(test, f->maps, ARRAY_SIZE(cases));
	kvm_clear_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu);

	guest_ready(test, vcpu, 0);
	token = guest_parked(test, vcpu);
	KUNIT_EXPECT_EQ(test, kvm_apf_user_ready(apf, token, 0), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->area.token, token);
	KUNIT_EXPECT_EQ(test, f->maps, ARRAY_SIZE(cases));
}

/* ESR_EL1 of the abort KVM_APF_ARM64_DELIVERY_AS_ABORT injects. */
#define APF_ABORT_ESR(ec)	(((u64)ESR_ELx_EC_##ec << ESR_ELx_EC_SHIFT) | \
				 ESR_ELx_IL | KVM_APF_ARM64_ABORT_FSC)

/* An exception pending for the next entry (outside KUNIT_EXPECT: sparse). */
static bool exception_pending(struct kvm_vcpu *vcpu)
{
	return vcpu_get_flag(vcpu, PENDING_EXCEPTION);
}

/* Which (EXCEPT_MASK): 0 is EXCEPT_AA64_EL1_SYNC. */
static u64 exception_kind(struct kvm_vcpu *vcpu)
{
	return vcpu_get_flag(vcpu, EXCEPT_MASK);
}

/*
 * A user fault on gfn 1 with @fault as its syndrome, at @far: asserts that
 * the guest was told with an abort; returns its token.
 */
static u32 abort_told(struct kunit *test, struct kvm_vcpu *vcpu, u64 fault,
		      u64 far, u64 gfn)
{
	struct arm64_fake *f = vcpu_fake(vcpu);

	vcpu->arch.fault.esr_el2 = fault;
	vcpu->arch.fault.far_el2 = far;
	vcpu->arch.iflags = 0;
	*vcpu_pc(vcpu) = FAKE_PC;
	KUNIT_EXPECT_TRUE(test, apf_can_notify(vcpu));
	KUNIT_EXPECT_EQ(test, kvm_apf_setup(&vcpu->async_pf, gfn << PAGE_SHIFT,
					    gfn, 0x1000, KVM_APF_ITEM_USER,
					    NULL), 0);
	KUNIT_EXPECT_EQ(test, f->area.reason, KVM_APF_REASON_NOT_PRESENT);
	KUNIT_EXPECT_EQ(test, f->area.np_addr, far);
	KUNIT_EXPECT_TRUE(test, exception_pending(vcpu));
	KUNIT_EXPECT_EQ(test, exception_kind(vcpu), 0);	/* EL1 sync */
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, FAR_EL1), far);
	/* At the access, not in the SDEI handler. */
	KUNIT_EXPECT_EQ(test, *vcpu_pc(vcpu), FAKE_PC);
	KUNIT_EXPECT_FALSE(test, vcpu->arch.apf.sdei.state & KVM_APF_SDEI_RUNNING);
	return f->area.np_token;
}

/*
 * "Not present" as an abort (KVM_APF_ARM64_DELIVERY_AS_ABORT): injected at
 * the access, a data or instruction abort from the current or a lower EL as
 * the fault was, fault status KVM_APF_ARM64_ABORT_FSC, FAR and np_addr the
 * address (0 without one, and no FnV), WnR kept for a data write but not
 * for a walk; none while the busy word is set, at EL1 with IRQs masked, in
 * AArch32 state, or with an exception pending or an instruction to skip;
 * at EL1 without SEND_ALWAYS.
 */
static void arm64_abort_delivery(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct arm64_fake *f = vcpu_fake(vcpu);
	u32 t1, t2;

	guest_ready(test, vcpu, KVM_APF_ARM64_DELIVERY_AS_ABORT);
	t1 = abort_told(test, vcpu, FAKE_WRITE, 0x400123, 1);
	KUNIT_EXPECT_NE(test, t1, 0);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, ESR_EL1),
			APF_ABORT_ESR(DABT_LOW) | ESR_ELx_WNR);

	/* The guest took the abort; its busy word is set until it takes the token. */
	vcpu->arch.iflags = 0;
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	f->area.reason = 0;
	KUNIT_EXPECT_TRUE(test, apf_can_notify(vcpu));

	/* EL1: only with IRQs unmasked, and no SEND_ALWAYS needed. */
	*vcpu_cpsr(vcpu) = PSR_MODE_EL1h | PSR_I_BIT;
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	*vcpu_cpsr(vcpu) = PSR_MODE_EL1h;
	t2 = abort_told(test, vcpu, FAKE_EXEC, 0x400000, 2);
	KUNIT_EXPECT_NE(test, t2, t1);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, ESR_EL1),
			APF_ABORT_ESR(IABT_CUR));

	/* A walk of the guest's tables (syndrome WnR set): not a write. */
	f->area.reason = 0;
	abort_told(test, vcpu, FAKE_WALK_PERM | ESR_ELx_WNR, 0x400000, 3);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, ESR_EL1),
			APF_ABORT_ESR(DABT_CUR));

	/* No valid FAR in the syndrome: no address, and FnV stays clear. */
	f->area.reason = 0;
	*vcpu_cpsr(vcpu) = PSR_MODE_EL0t;
	vcpu->arch.fault.esr_el2 = FAKE_READ | ESR_ELx_FnV;
	vcpu->arch.fault.far_el2 = 0x400000;
	vcpu->arch.iflags = 0;
	KUNIT_EXPECT_EQ(test, kvm_apf_setup(&vcpu->async_pf, 0x4000, 4, 0x1000,
					    KVM_APF_ITEM_USER, NULL), 0);
	KUNIT_EXPECT_EQ(test, f->area.np_addr, 0);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, FAR_EL1), 0);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, ESR_EL1),
			APF_ABORT_ESR(DABT_LOW));

	/* An instruction fetch from EL0. */
	f->area.reason = 0;
	abort_told(test, vcpu, FAKE_EXEC, 0x400000, 6);
	KUNIT_EXPECT_EQ(test, vcpu_read_sys_reg(vcpu, ESR_EL1),
			APF_ABORT_ESR(IABT_LOW));

	/* Not over an exception pending (a VMM's), nor a skipped insn. */
	f->area.reason = 0;
	vcpu->arch.iflags = 0;
	kvm_pend_exception(vcpu, EXCEPT_AA64_EL1_SERR);
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	vcpu->arch.iflags = 0;
	vcpu_set_flag(vcpu, INCREMENT_PC);
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	vcpu->arch.iflags = 0;

	*vcpu_cpsr(vcpu) = PSR_AA32_MODE_USR | PSR_MODE32_BIT;
	KUNIT_EXPECT_FALSE(test, apf_can_notify(vcpu));
	*vcpu_cpsr(vcpu) = PSR_MODE_EL0t;
	KUNIT_EXPECT_TRUE(test, apf_can_notify(vcpu));
	/* Without the opt-in, the SDEI event as before. */
	hvc_apf(vcpu, KVM_APF_ARM64_ENABLE, FAKE_AREA_GPA | KVM_APF_ARM64_ENABLED);
	vcpu->arch.iflags = 0;
	KUNIT_EXPECT_EQ(test, kvm_apf_setup(&vcpu->async_pf, 0x5000, 5, 0x1000,
					    KVM_APF_ITEM_USER, NULL), 0);
	KUNIT_EXPECT_FALSE(test, exception_pending(vcpu));
	KUNIT_EXPECT_EQ(test, *vcpu_pc(vcpu), FAKE_EP);
}

static struct kunit_case arm64_cases[] = {
	KUNIT_CASE(arm64_smccc_decode),
	KUNIT_CASE(arm64_smccc_enable),
	KUNIT_CASE(arm64_sdei_deliver_complete),
	KUNIT_CASE(arm64_sdei_complete_and_resume),
	KUNIT_CASE(arm64_sdei_unregister_while_running),
	KUNIT_CASE(arm64_ppi_ready_and_ack),
	KUNIT_CASE(arm64_el1_needs_send_always),
	KUNIT_CASE(arm64_migration_regs),
	KUNIT_CASE(arm64_sdei_ctx_pstate),
	KUNIT_CASE(arm64_ppi_set_refuses_owned),
	KUNIT_CASE(arm64_ppi_first_run_claims),
	KUNIT_CASE(arm64_suspended_not_woken),
	KUNIT_CASE(arm64_migration_ready_raised),
	KUNIT_CASE(arm64_migration_ready_raised_edges),
	KUNIT_CASE(arm64_vendor_hyp_bmap_gates),
	KUNIT_CASE(arm64_ready_ring),
	KUNIT_CASE(arm64_prefault_at_ready),
	KUNIT_CASE(arm64_abort_delivery),
	{}
};

static struct kunit_suite arm64_suite = {
	.name = "kvm_apf_arm64",
	.test_cases = arm64_cases,
};

kunit_test_suite(arm64_suite);
