/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests for the x86 backend, included at the end of apf.c: the
 * MSR_KVM_ASYNC_PF_EN and _INT rules (written as the guest does, through
 * kvm_set_msr_common()), "page not present" as a #PF, a #PF vmexit or a
 * #VE (or an artificial halt), "page ready" with and without the error status, and
 * when a "page ready" may be delivered.  Intel and AMD share
 * all of it: the vendor code is reached only through the injection, which
 * a static stub replaces here.  A vCPU that never runs stands in for a real
 * one (an in-kernel LAPIC, paging on, CPL 0); static stubs replace the
 * guest's shared area and the two events.
 */
#include <kunit/test.h>
#include <kunit/static_stub.h>
#include <linux/sched/signal.h>

#define FAKE_AREA_GPA	0x80000000ULL
#define FAKE_VECTOR	0xf3
#define EN_ON		(KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT | \
			 KVM_ASYNC_PF_SEND_ALWAYS)

struct x86_fake {
	struct kvm kvm;
	struct kvm_vcpu vcpu;
	struct kvm_lapic apic;
	struct kvm_apf_shared area;	/* the guest's shared area */
	struct kvm_apf_ready_ring ring;	/* and the ring after it */
	int area_init_result;
	int put_ready_result;		/* the "page ready" write fails so */
	int injected;			/* "not present" injections */
	u32 injected_token;
	int ve_injected;		/* "not present" #VE injections */
	int cpl;			/* the guest's CPL */
	int area_rw_result;		/* reading the area fails so */
	int raised;			/* "page ready" interrupts */
	u8 raised_vector;
	int maps;			/* pages prefaulted */
};

static struct x86_fake *x86_fake(struct kvm_vcpu *vcpu)
{
	return container_of(vcpu, struct x86_fake, vcpu);
}

static int fake_put_user_notpresent(struct kvm_vcpu *vcpu)
{
	x86_fake(vcpu)->area.reason = KVM_PV_REASON_PAGE_NOT_PRESENT;
	return 0;
}

static int fake_put_ready(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  const struct kvm_apf_item *item)
{
	struct x86_fake *f = x86_fake(vcpu);

	if (area != &vcpu->arch.apf.data)
		return -EFAULT;
	if (f->put_ready_result)
		return f->put_ready_result;
	f->area.token = item->token;
	if (vcpu->async_pf.report_errors)
		f->area.status = -item->result;
	return 0;
}

/* The core's ring code (batched "page ready"), on the area and ring. */
static int fake_ring_rw(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			void *data, unsigned int offset, unsigned int len,
			bool write)
{
	u8 *mem = (u8 *)&x86_fake(vcpu)->area;

	BUILD_BUG_ON(offsetof(struct x86_fake, ring) !=
		     offsetofend(struct x86_fake, area));
	if (area != &vcpu->arch.apf.data)
		return -EFAULT;
	/* kvm_{read,write}_guest_offset_cached() WARN and refuse then. */
	if (offset + len > area->len) {
		KUNIT_FAIL(kunit_get_current_test(),
			   "area access at %u+%u beyond the %lu bytes cached",
			   offset, len, area->len);
		return -EINVAL;
	}
	if (x86_fake(vcpu)->area_rw_result)
		return x86_fake(vcpu)->area_rw_result;
	if (write)
		memcpy(mem + offset, data, len);
	else
		memcpy(data, mem + offset, len);
	return 0;
}

static bool fake_ready_slot_free(struct kvm_vcpu *vcpu,
				 struct gfn_to_hva_cache *area)
{
	return area == &vcpu->arch.apf.data && !x86_fake(vcpu)->area.token;
}

static int fake_area_init(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  u64 data)
{
	area->gpa = data & ~0x3f;
	area->len = apf_area_len(data);
	return x86_fake(vcpu)->area_init_result;
}

static void fake_inject_not_present(struct kvm_vcpu *vcpu, u32 token)
{
	x86_fake(vcpu)->injected++;
	x86_fake(vcpu)->injected_token = token;
}

static void fake_inject_ve(struct kvm_vcpu *vcpu)
{
	x86_fake(vcpu)->ve_injected++;
}

static int fake_cpl(struct kvm_vcpu *vcpu)
{
	return x86_fake(vcpu)->cpl;
}

static bool fake_ve_supported(void)
{
	return true;
}

static bool fake_ve_unsupported(void)
{
	return false;
}

static void fake_raise_ready(struct kvm_vcpu *vcpu)
{
	x86_fake(vcpu)->raised++;
	x86_fake(vcpu)->raised_vector = vcpu->arch.apf.vec;
}

static void fake_map(struct kvm_vcpu *vcpu, struct kvm_apf_item *item)
{
	x86_fake(vcpu)->maps++;
}

/* As kvm_destroy_vm() does: the vCPU, then its VM's queue. */
static void fake_destroy(void *data)
{
	struct x86_fake *f = data;

	kvm_async_pf_vcpu_destroy(&f->vcpu);
	kvm_async_pf_vm_destroy(&f->kvm);
}

static struct kvm_vcpu *fake_vcpu(struct kunit *test)
{
	struct x86_fake *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct kvm_vcpu *vcpu;
	int r;

	KUNIT_ASSERT_NOT_NULL(test, f);
	vcpu = &f->vcpu;
	vcpu->kvm = &f->kvm;
	vcpu->vcpu_id = 1;
	vcpu->cpu = -1;
	/* An in-kernel LAPIC, enabled; paging on (CR0 is KVM's, not cached). */
	f->apic.vcpu = vcpu;
	f->apic.sw_enabled = true;
	vcpu->arch.apic = &f->apic;
	vcpu->arch.apic_base = MSR_IA32_APICBASE_ENABLE;
	vcpu->arch.cr0 = X86_CR0_PE | X86_CR0_PG;
	vcpu->arch.cr0_guest_owned_bits = 0;
	r = kvm_async_pf_vcpu_init(vcpu);
	if (r)	/* the VM's queue, if it made one */
		kvm_async_pf_vm_destroy(&f->kvm);
	KUNIT_ASSERT_EQ(test, r, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fake_destroy, f), 0);
	/* The VM's queue of kernel fault-ins, made with its first vCPU. */
	KUNIT_ASSERT_NOT_NULL(test, f->kvm.apf_wq);
	KUNIT_ASSERT_PTR_EQ(test, vcpu->async_pf.wq, f->kvm.apf_wq);

	kunit_activate_static_stub(test, apf_put_user_notpresent,
				   fake_put_user_notpresent);
	kunit_activate_static_stub(test, kvm_async_pf_put_ready, fake_put_ready);
	kunit_activate_static_stub(test, kvm_async_pf_ready_slot_free,
				   fake_ready_slot_free);
	kunit_activate_static_stub(test, kvm_apf_x86_area_init, fake_area_init);
	kunit_activate_static_stub(test, apf_inject_not_present,
				   fake_inject_not_present);
	kunit_activate_static_stub(test, apf_raise_ready, fake_raise_ready);
	kunit_activate_static_stub(test, kvm_async_pf_area_rw, fake_ring_rw);
	kunit_activate_static_stub(test, apf_inject_ve, fake_inject_ve);
	kunit_activate_static_stub(test, apf_cpl, fake_cpl);
	kunit_activate_static_stub(test, kvm_apf_x86_ve_supported,
				   fake_ve_unsupported);
	kunit_activate_static_stub(test, apf_map, fake_map);
	return vcpu;
}

/* The guest's WRMSR, as it reaches x86.c's MSR code. */
static int guest_wrmsr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	struct msr_data msr = { .index = index, .data = data };

	return kvm_set_msr_common(vcpu, &msr);
}

static int write_msr_en(struct kvm_vcpu *vcpu, u64 data)
{
	return guest_wrmsr(vcpu, MSR_KVM_ASYNC_PF_EN, data);
}

static int write_msr_int(struct kvm_vcpu *vcpu, u64 data)
{
	return guest_wrmsr(vcpu, MSR_KVM_ASYNC_PF_INT, data);
}

/* The guest's enable, as Linux does it: the vector first, then EN. */
static void guest_enable(struct kunit *test, struct kvm_vcpu *vcpu, u64 bits)
{
	struct x86_fake *f = x86_fake(vcpu);

	KUNIT_ASSERT_EQ(test, write_msr_int(vcpu, FAKE_VECTOR), 0);
	KUNIT_ASSERT_EQ(test, write_msr_en(vcpu, FAKE_AREA_GPA | bits), 0);
	/* Enabling queued a wake-all: deliver and acknowledge it. */
	KUNIT_ASSERT_EQ(test, kvm_apf_check_completion(&vcpu->async_pf), 0);
	KUNIT_ASSERT_EQ(test, f->area.token, KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_ASSERT_EQ(test, f->raised, 1);
	f->area.token = 0;
	kvm_apf_ack(&vcpu->async_pf);
	f->raised = 0;
}

/* An item the core made async, as kvm_apf_setup() leaves it. */
static struct kvm_apf_item *fake_item(struct kunit *test, u32 token)
{
	struct kvm_apf_item *item = kunit_kzalloc(test, sizeof(*item),
						  GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, item);
	item->token = token;
	item->gfn = 0x1234;
	item->cr2_or_gpa = 0x1234000;
	return item;
}

/* MSR_KVM_ASYNC_PF_EN: every malformed value is a #GP and changes nothing. */
static void x86_msr_en_rules(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	u64 good = FAKE_AREA_GPA | EN_ON;
	u64 ring = good | KVM_ASYNC_PF_READY_RING;
	u64 bad[] = {
		(good & ~KVM_ASYNC_PF_DELIVERY_AS_INT) |	/* status needs INT */
		KVM_ASYNC_PF_ERROR_STATUS,
		good | KVM_ASYNC_PF_ERROR_STATUS,		/* VMM's consent */
		ring & ~KVM_ASYNC_PF_DELIVERY_AS_INT,		/* ring needs INT */
		ring + 64,			/* ring: area 4 KiB aligned */
		ring + 2048,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, bad[i]), 1);
		KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_en_val, 0);
	}
	/* No memslot under the area. */
	f->area_init_result = -EFAULT;
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, good), 1);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_en_val, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&vcpu->async_pf.done));
	f->area_init_result = 0;

	/* A CPUID that does not offer error status refuses it too. */
	vcpu->kvm->apf_features = KVM_APF_FEATURE_GUEST_ERROR;
	vcpu->arch.pv_cpuid.enforce = true;
	vcpu->arch.pv_cpuid.features = BIT(KVM_FEATURE_ASYNC_PF) |
				       BIT(KVM_FEATURE_ASYNC_PF_INT);
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, bad[1]), 1);
	/* And one that does not offer the ring refuses it. */
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, ring), 1);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_en_val, 0);
	vcpu->arch.pv_cpuid.enforce = false;
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, ring), 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_en_val, ring);

	/* A good one: on, user-only off, a wake-all queued and requested. */
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, good), 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_en_val, good);
	KUNIT_EXPECT_FALSE(test, vcpu->arch.apf.send_user_only);
	KUNIT_EXPECT_FALSE(test, vcpu->async_pf.report_errors);
	KUNIT_EXPECT_TRUE(test, vcpu->async_pf.wake_all_queued);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_READY, vcpu));

	/* Off: the queue goes. */
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, 0), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&vcpu->async_pf.done));
}

/*
 * Error status: a new opt-in needs the VMM's consent; one in force stays
 * when the VMM revokes it, so that the value it reads can be written back.
 */
static void x86_msr_en_consent(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	u64 en = FAKE_AREA_GPA | EN_ON | KVM_ASYNC_PF_ERROR_STATUS;

	vcpu->kvm->apf_features = KVM_APF_FEATURE_GUEST_ERROR;
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, en), 0);
	KUNIT_EXPECT_TRUE(test, vcpu->async_pf.report_errors);
	vcpu->kvm->apf_features = 0;
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, en), 0);
	KUNIT_EXPECT_TRUE(test, vcpu->async_pf.report_errors);
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, en & ~KVM_ASYNC_PF_ERROR_STATUS),
			0);
	KUNIT_EXPECT_FALSE(test, vcpu->async_pf.report_errors);
	KUNIT_EXPECT_EQ(test, write_msr_en(vcpu, en), 1);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_en_val,
			en & ~KVM_ASYNC_PF_ERROR_STATUS);
}

/*
 * MSR_KVM_ASYNC_PF_INT: the vector is "page ready"'s; bit 8 (#VE) needs a
 * host that can inject #VE (Intel) and its CPUID bit; bits 9-63 reserved.
 */
static void x86_msr_int_rules(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	u64 ve = FAKE_VECTOR | KVM_ASYNC_PF_DELIVERY_AS_VE;

	/* An AMD host: bit 8 is refused, whatever CPUID says. */
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, ve), 1);
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, BIT_ULL(9) | FAKE_VECTOR), 1);
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, BIT_ULL(63)), 1);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_int_val, 0);
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, FAKE_VECTOR), 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.vec, FAKE_VECTOR);

	/* An Intel host: only with the CPUID bit, never for protected state. */
	kunit_activate_static_stub(test, kvm_apf_x86_ve_supported,
				   fake_ve_supported);
	vcpu->arch.pv_cpuid.enforce = true;
	vcpu->arch.pv_cpuid.features = BIT(KVM_FEATURE_ASYNC_PF) |
				       BIT(KVM_FEATURE_ASYNC_PF_INT);
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, ve), 1);
	vcpu->arch.pv_cpuid.features |= BIT(KVM_FEATURE_ASYNC_PF_VE);
	vcpu->arch.guest_state_protected = true;
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, ve), 1);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_int_val, FAKE_VECTOR);
	vcpu->arch.guest_state_protected = false;
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, BIT_ULL(9) | ve), 1);
	KUNIT_EXPECT_EQ(test, write_msr_int(vcpu, ve), 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.msr_int_val, ve);
	KUNIT_EXPECT_EQ(test, vcpu->arch.apf.vec, FAKE_VECTOR);
}

/* "Not present": a #PF with the token, the reason in the area. */
static void x86_not_present_pf(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	struct kvm_apf_item *item = fake_item(test, 0x4100);

	/* Off: no paravirtual event, an artificial halt instead. */
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(&vcpu->async_pf, item), 0);
	KUNIT_EXPECT_EQ(test, f->injected, 0);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_HALT, vcpu));
	kvm_clear_request(KVM_REQ_APF_HALT, vcpu);

	guest_enable(test, vcpu, EN_ON);
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(&vcpu->async_pf, item),
			KVM_APF_ITEM_NOTIFIED);
	KUNIT_EXPECT_EQ(test, f->injected, 1);
	KUNIT_EXPECT_EQ(test, f->injected_token, 0x4100);
	KUNIT_EXPECT_EQ(test, f->area.reason, KVM_PV_REASON_PAGE_NOT_PRESENT);
	KUNIT_EXPECT_FALSE(test, kvm_test_request(KVM_REQ_APF_HALT, vcpu));

	/* Paging off (real mode's IDT): no #PF. */
	f->area.reason = 0;
	vcpu->arch.cr0 &= ~X86_CR0_PG;
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(&vcpu->async_pf, item), 0);
	KUNIT_EXPECT_EQ(test, f->injected, 1);
	KUNIT_EXPECT_EQ(test, f->area.reason, 0);
}

/*
 * Nested: L2 faulted.  Without L1's opt-in (bit 2) no event; with it a #PF
 * vmexit, whose failure goes to the VMM (L1 cannot act on an error).
 */
static void x86_not_present_nested(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	struct kvm_apf_item *item = fake_item(test, 0x4200);

	guest_enable(test, vcpu, EN_ON);
	vcpu->arch.hflags |= HF_GUEST_MASK;
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(&vcpu->async_pf, item), 0);
	KUNIT_EXPECT_EQ(test, f->injected, 0);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_HALT, vcpu));

	vcpu->arch.hflags &= ~HF_GUEST_MASK;
	KUNIT_ASSERT_EQ(test, write_msr_en(vcpu, FAKE_AREA_GPA | EN_ON |
				       KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT), 0);
	vcpu->arch.hflags |= HF_GUEST_MASK;
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(&vcpu->async_pf, item),
			KVM_APF_ITEM_NOTIFIED | KVM_APF_ITEM_NO_ERROR);
	KUNIT_EXPECT_EQ(test, f->injected, 1);
	vcpu->arch.hflags &= ~HF_GUEST_MASK;
}

/* Without #VE, kernel mode gets no #PF unless the guest sent SEND_ALWAYS. */
static void x86_not_present_user_only(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	struct kvm_apf_item *item = fake_item(test, 0x4300);

	guest_enable(test, vcpu, EN_ON & ~KVM_ASYNC_PF_SEND_ALWAYS);
	KUNIT_EXPECT_FALSE(test, kvm_can_deliver_async_pf(vcpu));
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(&vcpu->async_pf, item), 0);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_HALT, vcpu));
	f->cpl = 3;
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(&vcpu->async_pf, item),
			KVM_APF_ITEM_NOTIFIED);
	KUNIT_EXPECT_EQ(test, f->injected, 1);
	KUNIT_EXPECT_EQ(test, f->ve_injected, 0);
}

/*
 * "Not present" as #VE: at any CPL, the token in the area and then the
 * busy word; none while the guest has not cleared it (nor when the area
 * cannot be read): an artificial halt instead.  L2's faults still go to L1
 * as #PF vmexits, and paging off gets nothing.
 */
static void x86_not_present_ve(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	struct kvm_apf_item *item = fake_item(test, 0x4500);

	kunit_activate_static_stub(test, kvm_apf_x86_ve_supported,
				   fake_ve_supported);
	guest_enable(test, vcpu, (EN_ON & ~KVM_ASYNC_PF_SEND_ALWAYS) |
			 KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT);
	KUNIT_ASSERT_EQ(test, write_msr_int(vcpu, FAKE_VECTOR |
					    KVM_ASYNC_PF_DELIVERY_AS_VE), 0);
	f->area.np_addr = 0xdead;

	/* Kernel mode (CPL 0), SEND_ALWAYS not set. */
	KUNIT_EXPECT_TRUE(test, kvm_can_deliver_async_pf(vcpu));
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(apf, item),
			KVM_APF_ITEM_NOTIFIED);
	KUNIT_EXPECT_EQ(test, f->ve_injected, 1);
	KUNIT_EXPECT_EQ(test, f->injected, 0);
	KUNIT_EXPECT_EQ(test, f->area.reason, KVM_PV_REASON_PAGE_NOT_PRESENT);
	KUNIT_EXPECT_EQ(test, f->area.np_token, 0x4500);
	KUNIT_EXPECT_EQ(test, f->area.np_addr, 0);
	KUNIT_EXPECT_EQ(test, f->area.token, 0);	/* "page ready"'s slot */
	KUNIT_EXPECT_FALSE(test, kvm_test_request(KVM_REQ_APF_HALT, vcpu));

	/* Busy: the guest has not read the token yet. */
	item = fake_item(test, 0x4600);
	KUNIT_EXPECT_FALSE(test, kvm_can_deliver_async_pf(vcpu));
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(apf, item), 0);
	KUNIT_EXPECT_EQ(test, f->ve_injected, 1);
	KUNIT_EXPECT_EQ(test, f->area.np_token, 0x4500);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_HALT, vcpu));
	kvm_clear_request(KVM_REQ_APF_HALT, vcpu);

	/* Read and cleared: the next one goes, in user mode too. */
	f->area.reason = 0;
	f->cpl = 3;
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(apf, item),
			KVM_APF_ITEM_NOTIFIED);
	KUNIT_EXPECT_EQ(test, f->ve_injected, 2);
	KUNIT_EXPECT_EQ(test, f->area.np_token, 0x4600);

	/* An area KVM cannot read counts as busy. */
	f->area.reason = 0;
	f->area_rw_result = -EFAULT;
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(apf, item), 0);
	KUNIT_EXPECT_EQ(test, f->ve_injected, 2);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_HALT, vcpu));
	f->area_rw_result = 0;

	/* L2 faulted: a #PF vmexit to L1, no #VE. */
	vcpu->arch.hflags |= HF_GUEST_MASK;
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(apf, item),
			KVM_APF_ITEM_NOTIFIED | KVM_APF_ITEM_NO_ERROR);
	KUNIT_EXPECT_EQ(test, f->injected, 1);
	KUNIT_EXPECT_EQ(test, f->ve_injected, 2);
	vcpu->arch.hflags &= ~HF_GUEST_MASK;

	/* SMM (its own IDT), protected state: no #VE. */
	f->area.reason = 0;
	vcpu->arch.hflags |= HF_SMM_MASK;
	KUNIT_EXPECT_EQ(test, kvm_can_deliver_async_pf(vcpu),
			!IS_ENABLED(CONFIG_KVM_SMM));
	vcpu->arch.hflags &= ~HF_SMM_MASK;
	vcpu->arch.guest_state_protected = true;
	KUNIT_EXPECT_FALSE(test, kvm_can_deliver_async_pf(vcpu));
	vcpu->arch.guest_state_protected = false;
	KUNIT_EXPECT_TRUE(test, kvm_can_deliver_async_pf(vcpu));

	/* Paging off. */
	vcpu->arch.cr0 &= ~X86_CR0_PG;
	KUNIT_EXPECT_FALSE(test, kvm_can_deliver_async_pf(vcpu));
	KUNIT_EXPECT_EQ(test, x86_apf_not_present(apf, item), 0);
	KUNIT_EXPECT_EQ(test, f->ve_injected, 2);
}

/* "Page ready": the token (and the status, if opted in) and the vector. */
static void x86_ready_status(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	struct kvm_apf_item *item = fake_item(test, 0x4300);

	guest_enable(test, vcpu, EN_ON);
	/* Never told "not present" (it waited for the page): nothing to tell. */
	vcpu->arch.mp_state = KVM_MP_STATE_HALTED;
	KUNIT_EXPECT_EQ(test, x86_apf_present(&vcpu->async_pf, item), 0);
	KUNIT_EXPECT_EQ(test, f->raised, 0);
	KUNIT_EXPECT_EQ(test, vcpu->arch.mp_state, KVM_MP_STATE_RUNNABLE);

	item->flags |= KVM_APF_ITEM_NOTIFIED;
	item->result = -EFAULT;
	f->area.status = 0xdead;
	KUNIT_EXPECT_EQ(test, x86_apf_present(&vcpu->async_pf, item), 1);
	KUNIT_EXPECT_EQ(test, f->area.token, 0x4300);
	KUNIT_EXPECT_EQ(test, f->area.status, 0xdead);	/* not opted in */
	KUNIT_EXPECT_EQ(test, f->raised, 1);
	KUNIT_EXPECT_EQ(test, f->raised_vector, FAKE_VECTOR);

	f->area.token = 0;		/* the guest took it */
	f->raised = 0;
	vcpu->kvm->apf_features = KVM_APF_FEATURE_GUEST_ERROR;
	guest_enable(test, vcpu, EN_ON | KVM_ASYNC_PF_ERROR_STATUS);
	KUNIT_EXPECT_EQ(test, x86_apf_present(&vcpu->async_pf, item), 1);
	KUNIT_EXPECT_EQ(test, f->area.status, EFAULT);
	KUNIT_EXPECT_EQ(test, f->raised, 1);
}

/*
 * Writing "page ready" into the area failed (its page on userfaultfd and not
 * in yet, the wait cut short by a signal): the write's -errno goes to the
 * core and no interrupt is raised.  With a signal pending on the vCPU
 * thread the core keeps it (here a wake-all) and asks to look again: the
 * next look delivers it.  Without one it is dropped.  KUnit's kthread
 * ignores signals until it allows one.
 */
static void x86_ready_write_fails(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	struct kvm_apf_item *item = fake_item(test, 0x4500);
	u64 ready;

	guest_enable(test, vcpu, EN_ON);
	item->flags |= KVM_APF_ITEM_NOTIFIED;
	f->put_ready_result = -EFAULT;
	KUNIT_EXPECT_EQ(test, x86_apf_present(&vcpu->async_pf, item), -EFAULT);
	KUNIT_EXPECT_EQ(test, f->raised, 0);
	KUNIT_EXPECT_EQ(test, f->area.token, 0U);

	ready = vcpu->stat.generic.apf.apf_ready;
	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&vcpu->async_pf), 0);
	kvm_clear_request(KVM_REQ_APF_READY, vcpu);
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 1);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&vcpu->async_pf), 0);
	flush_signals(current);
	disallow_signal(SIGUSR1);
	KUNIT_EXPECT_EQ(test, f->raised, 0);
	KUNIT_EXPECT_TRUE(test, vcpu->async_pf.wake_all_queued);
	KUNIT_EXPECT_FALSE(test, list_empty(&vcpu->async_pf.done));
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_APF_READY, vcpu));
	KUNIT_EXPECT_EQ(test, vcpu->stat.generic.apf.apf_ready, ready);

	f->put_ready_result = 0;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&vcpu->async_pf), 0);
	KUNIT_EXPECT_EQ(test, f->area.token, KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, f->raised, 1);
	KUNIT_EXPECT_FALSE(test, vcpu->async_pf.wake_all_queued);
	KUNIT_EXPECT_EQ(test, vcpu->stat.generic.apf.apf_ready, ready + 1);
	f->area.token = 0;
	kvm_apf_ack(&vcpu->async_pf);

	/* No signal pending: the area is broken, the wake-all is dropped. */
	f->put_ready_result = -EFAULT;
	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(&vcpu->async_pf), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&vcpu->async_pf), 0);
	KUNIT_EXPECT_FALSE(test, vcpu->async_pf.wake_all_queued);
	KUNIT_EXPECT_TRUE(test, list_empty(&vcpu->async_pf.done));
	KUNIT_EXPECT_EQ(test, f->raised, 1);
	KUNIT_EXPECT_EQ(test, vcpu->stat.generic.apf.apf_ready, ready + 1);
}

/* One "page ready" at a time: the next waits until the guest freed the slot. */
static void x86_can_dequeue(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);

	/* Off: completions are dropped without a word. */
	KUNIT_EXPECT_TRUE(test, x86_apf_can_dequeue(&vcpu->async_pf));
	guest_enable(test, vcpu, EN_ON);
	KUNIT_EXPECT_TRUE(test, x86_apf_can_dequeue(&vcpu->async_pf));
	f->area.token = 0x4400;
	KUNIT_EXPECT_FALSE(test, x86_apf_can_dequeue(&vcpu->async_pf));
	f->area.token = 0;
	KUNIT_EXPECT_TRUE(test, x86_apf_can_dequeue(&vcpu->async_pf));
}

/*
 * Batched "page ready": the enable's wake-all and a completion go into the
 * ring, not the slot, the batch's first post raising the vector (the rest
 * join it), and both wait for the one ACK; a full ring takes nothing.
 */
static void x86_ready_ring(struct kunit *test)
{
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	struct kvm_apf_item *item = fake_item(test, 0x4100);

	item->flags = KVM_APF_ITEM_NOTIFIED;
	KUNIT_ASSERT_EQ(test, write_msr_int(vcpu, FAKE_VECTOR), 0);
	KUNIT_ASSERT_EQ(test, write_msr_en(vcpu, FAKE_AREA_GPA | EN_ON |
					   KVM_ASYNC_PF_READY_RING), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->ring.head, 1);
	KUNIT_EXPECT_EQ(test, f->ring.entries[0].token, KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, f->area.token, 0);
	KUNIT_EXPECT_EQ(test, f->raised, 1);
	KUNIT_EXPECT_TRUE(test, apf->ready_pending);

	KUNIT_EXPECT_TRUE(test, x86_apf_can_dequeue(apf));
	KUNIT_EXPECT_EQ(test, x86_apf_present(apf, item), KVM_APF_READY_BATCHED);
	KUNIT_EXPECT_EQ(test, f->ring.head, 2);
	KUNIT_EXPECT_EQ(test, f->ring.entries[1].token, 0x4100);
	KUNIT_EXPECT_EQ(test, f->raised, 1);	/* the batch's one interrupt */

	f->ring.head = f->ring.tail + KVM_APF_READY_RING_ENTRIES;
	KUNIT_EXPECT_FALSE(test, x86_apf_can_dequeue(apf));
	KUNIT_EXPECT_EQ(test, x86_apf_present(apf, item), -ENOSPC);
	KUNIT_EXPECT_EQ(test, f->raised, 1);
	f->ring.tail = f->ring.head;
	KUNIT_EXPECT_EQ(test, guest_wrmsr(vcpu, MSR_KVM_ASYNC_PF_ACK, 1), 0);
	KUNIT_EXPECT_FALSE(test, apf->ready_pending);
}

/*
 * The prefault at "page ready" maps the page, but not while the dirty ring
 * waits to be harvested (a batch of "page ready" would overfill it).
 */
static void x86_prefault_dirty_ring(struct kunit *test)
{
	struct kvm_apf_item item = { .cr2_or_gpa = 0x5000, .gfn = 5 };
	struct kvm_vcpu *vcpu = fake_vcpu(test);
	struct x86_fake *f = x86_fake(vcpu);

	kvm_arch_apf_ops.prefault(&vcpu->async_pf, &item);
	KUNIT_EXPECT_EQ(test, f->maps, 1);
	kvm_make_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu);
	kvm_arch_apf_ops.prefault(&vcpu->async_pf, &item);
	KUNIT_EXPECT_EQ(test, f->maps, 1);
	KUNIT_EXPECT_TRUE(test, kvm_test_request(KVM_REQ_DIRTY_RING_SOFT_FULL,
						 vcpu));
}

static struct kunit_case x86_cases[] = {
	KUNIT_CASE(x86_msr_en_rules),
	KUNIT_CASE(x86_msr_en_consent),
	KUNIT_CASE(x86_msr_int_rules),
	KUNIT_CASE(x86_not_present_pf),
	KUNIT_CASE(x86_not_present_nested),
	KUNIT_CASE(x86_not_present_user_only),
	KUNIT_CASE(x86_not_present_ve),
	KUNIT_CASE(x86_ready_status),
	KUNIT_CASE(x86_ready_write_fails),
	KUNIT_CASE(x86_can_dequeue),
	KUNIT_CASE(x86_ready_ring),
	KUNIT_CASE(x86_prefault_dirty_ring),
	{}
};

static struct kunit_suite x86_suite = {
	.name = "kvm_apf_x86",
	.test_cases = x86_cases,
};

kunit_test_suite(x86_suite);
