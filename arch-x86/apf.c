// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 backend of the KVM async page fault core (virt/kvm/apf/).
 *
 * The guest ABI is unchanged from upstream x86 (an existing Linux guest sees
 * no difference): MSR_KVM_ASYNC_PF_EN gives the shared area and the enable
 * bits, MSR_KVM_ASYNC_PF_INT the "page ready" vector; "page not present" is
 * a synthetic #PF with CR2 = token (or a #PF vmexit to L1), "page ready" an
 * interrupt with the token in the shared area, one at a time until the guest
 * writes MSR_KVM_ASYNC_PF_ACK.  What moved to the core: the queue, the
 * tokens, duplicate-fault suppression, the ordering of "ready pending".
 *
 * The functions here keep the names x86.c and mmu.c always called, so those
 * files change only where the core does the work now.
 */
#include <linux/kvm_host.h>
#include <linux/kvm_para.h>
#include <kunit/static_stub.h>
#include <trace/events/kvm.h>

#include "../cpuid.h"
#include "../lapic.h"
#include "../mmu.h"
#include "../x86.h"
#include "apf.h"

static struct kvm_vcpu *apf_vcpu(struct kvm_apf_vcpu *apf)
{
	return container_of(apf, struct kvm_vcpu, async_pf);
}

/*
 * The guest's shared area and the two events, each in a function of its own
 * (a static stub in KUnit: tests/x86_kunit.h).
 */
static int apf_put_user_notpresent(struct kvm_vcpu *vcpu)
{
	u32 reason = KVM_PV_REASON_PAGE_NOT_PRESENT;

	KUNIT_STATIC_STUB_REDIRECT(apf_put_user_notpresent, vcpu);
	return kvm_write_guest_cached(vcpu->kvm, &vcpu->arch.apf.data, &reason,
				      sizeof(reason));
}

/*
 * The token of a "page ready", and for a guest that opted in its status:
 * one write, so that the guest never sees a token with a stale status.
 */
static int apf_put_user_ready(struct kvm_vcpu *vcpu, u32 token, int result)
{
	unsigned int offset = offsetof(struct kvm_apf_shared, token);
	struct {
		u32 token;
		u32 status;
	} ready = { token, -result };

	KUNIT_STATIC_STUB_REDIRECT(apf_put_user_ready, vcpu, token, result);

	BUILD_BUG_ON(offsetof(struct kvm_apf_shared, token) !=
		     offsetof(struct kvm_vcpu_pv_apf_data, token));
	BUILD_BUG_ON(offsetof(struct kvm_apf_shared, status) !=
		     offsetofend(struct kvm_apf_shared, token));
	BUILD_BUG_ON(sizeof(struct kvm_apf_shared) !=
		     sizeof(struct kvm_vcpu_pv_apf_data));

	return kvm_write_guest_offset_cached(vcpu->kvm, &vcpu->arch.apf.data,
					     &ready, offset,
					     vcpu->async_pf.report_errors ?
					     sizeof(ready) : sizeof(token));
}

static bool apf_pageready_slot_free(struct kvm_vcpu *vcpu)
{
	unsigned int offset = offsetof(struct kvm_vcpu_pv_apf_data, token);
	u32 val;

	KUNIT_STATIC_STUB_REDIRECT(apf_pageready_slot_free, vcpu);
	if (kvm_read_guest_offset_cached(vcpu->kvm, &vcpu->arch.apf.data,
					 &val, offset, sizeof(val)))
		return false;

	return !val;
}

/* The area's first 64 bytes: reason, token and status. */
static int apf_area_init(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			 gpa_t gpa)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_area_init, vcpu, area, gpa);
	return kvm_gfn_to_hva_cache_init(vcpu->kvm, area, gpa,
					 offsetofend(struct kvm_apf_shared,
						     status));
}

/* "Page not present": a #PF with CR2 = @token, or a #PF vmexit to L1. */
static void apf_inject_not_present(struct kvm_vcpu *vcpu, u32 token)
{
	struct x86_exception fault = {
		.vector = PF_VECTOR,
		.error_code_valid = true,
		.address = token,
		.async_page_fault = true,
	};

	KUNIT_STATIC_STUB_REDIRECT(apf_inject_not_present, vcpu, token);
	kvm_inject_page_fault(vcpu, &fault, false);
}

/* "Page ready": the guest's vector, a fixed interrupt. */
static void apf_raise_ready(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_irq irq = {
		.delivery_mode = APIC_DM_FIXED,
		.vector = vcpu->arch.apf.vec
	};

	KUNIT_STATIC_STUB_REDIRECT(apf_raise_ready, vcpu);
	kvm_apic_set_irq(vcpu, &irq, NULL);
}

static bool kvm_can_deliver_async_pf(struct kvm_vcpu *vcpu)
{
	if (!kvm_pv_async_pf_enabled(vcpu))
		return false;

	if (vcpu->arch.apf.send_user_only &&
	    kvm_x86_call(get_cpl)(vcpu) == 0)
		return false;

	if (is_guest_mode(vcpu)) {
		/*
		 * L1 needs to opt into the special #PF vmexits that are
		 * used to deliver async page faults.
		 */
		return vcpu->arch.apf.delivery_as_pf_vmexit;
	}
	/*
	 * Play it safe in case the guest temporarily disables paging.  The
	 * real mode IDT in particular is unlikely to have a #PF set up.
	 */
	return is_paging(vcpu);
}

bool kvm_can_do_async_pf(struct kvm_vcpu *vcpu)
{
	if (unlikely(!lapic_in_kernel(vcpu) ||
		     kvm_event_needs_reinjection(vcpu) ||
		     kvm_is_exception_pending(vcpu)))
		return false;

	if (kvm_hlt_in_guest(vcpu->kvm) && !kvm_can_deliver_async_pf(vcpu))
		return false;

	/* If interrupts are off we cannot even use an artificial halt state. */
	return kvm_arch_interrupt_allowed(vcpu);
}

static u32 x86_apf_not_present(struct kvm_apf_vcpu *apf,
			       struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	trace_kvm_async_pf_not_present(item->token, item->cr2_or_gpa);

	if (kvm_can_deliver_async_pf(vcpu) && !apf_put_user_notpresent(vcpu)) {
		apf_inject_not_present(vcpu, item->token);
		/*
		 * Delivered as a #PF vmexit, the token reaches L1's own wait
		 * for L2, which cannot act on an error: it would resume L2
		 * into the same fault.  A failure goes to the VMM instead.
		 */
		return KVM_APF_ITEM_NOTIFIED |
		       (is_guest_mode(vcpu) ? KVM_APF_ITEM_NO_ERROR : 0);
	}
	/*
	 * No paravirtual "not present" possible, but an artificial halt still
	 * helps: an interrupt can be delivered meanwhile and perhaps make the
	 * guest schedule another task; when the faulting instruction is
	 * retried, the page is hopefully there.
	 */
	kvm_make_request(KVM_REQ_APF_HALT, vcpu);
	return 0;
}

static bool x86_apf_present(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);
	bool told = false;

	trace_kvm_async_pf_ready(item->token, item->cr2_or_gpa);

	if ((item->flags & (KVM_APF_ITEM_WAKE_ALL | KVM_APF_ITEM_NOTIFIED)) &&
	    kvm_pv_async_pf_enabled(vcpu) &&
	    !apf_put_user_ready(vcpu, item->token, item->result)) {
		apf_raise_ready(vcpu);
		told = true;
	}

	vcpu->arch.apf.halted = false;
	vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
	return told;
}

static bool x86_apf_can_dequeue(struct kvm_apf_vcpu *apf)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	if (!kvm_pv_async_pf_enabled(vcpu))
		return true;
	return kvm_lapic_enabled(vcpu) && apf_pageready_slot_free(vcpu);
}

static void x86_apf_request(struct kvm_apf_vcpu *apf)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	kvm_make_request(KVM_REQ_APF_READY, vcpu);
	/* A halted vCPU is always woken, as upstream's worker always did. */
	__kvm_vcpu_wake_up(vcpu);
}

static void x86_apf_kick(struct kvm_apf_vcpu *apf)
{
	kvm_vcpu_kick(apf_vcpu(apf));
}

static void x86_apf_ready(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	kvm_arch_async_page_ready(apf_vcpu(apf), item->cr2_or_gpa,
				  &item->arch);
}

const struct kvm_apf_ops kvm_arch_apf_ops = {
	.notify_not_present = x86_apf_not_present,
	.notify_ready = x86_apf_present,
	.can_dequeue = x86_apf_can_dequeue,
	.request = x86_apf_request,
	.kick = x86_apf_kick,
	.prefault = x86_apf_ready,
	.gfn_to_hva = kvm_async_pf_gfn_to_hva,
	.needs_ack = true,
};

/**
 * kvm_apf_x86_setup() - make a guest page fault async
 * @vcpu: the vCPU
 * @cr2_or_gpa: the faulting address
 * @gfn: the faulting gfn
 * @write: whether the guest wrote
 * @arch: what a prefault needs when the page is ready
 *
 * Return: true if the fault is now async, false if it must be handled
 * synchronously.
 */
bool kvm_apf_x86_setup(struct kvm_vcpu *vcpu, gpa_t cr2_or_gpa, gfn_t gfn,
		       bool write, struct kvm_arch_async_pf *arch)
{
	return !kvm_apf_setup(&vcpu->async_pf, cr2_or_gpa, gfn,
			      kvm_vcpu_gfn_to_hva(vcpu, gfn),
			      write ? KVM_APF_ITEM_WRITE : 0, arch);
}

/**
 * kvm_find_async_pf_gfn() - has @gfn an async fault in flight?
 * @vcpu: the vCPU
 * @gfn: the gfn
 *
 * Return: true if so; the new fault on it must not start another.
 */
bool kvm_find_async_pf_gfn(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	return kvm_apf_gfn_pending(&vcpu->async_pf, gfn);
}

/**
 * kvm_pv_enable_async_pf() - the guest wrote MSR_KVM_ASYNC_PF_EN
 * @vcpu: the vCPU
 * @data: the value
 *
 * Return: 0, or 1 for a value the guest may not write (#GP; nothing
 * changed).
 */
int kvm_pv_enable_async_pf(struct kvm_vcpu *vcpu, u64 data)
{
	u64 on = KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT;
	struct gfn_to_hva_cache area;
	gpa_t gpa = data & ~0x3f;

	/* Bit 5 is reserved, Should be zero */
	if (data & 0x20)
		return 1;

	/*
	 * Error status comes with "page ready", which only the interrupt
	 * delivers; and only if the VMM let this guest see errors.  When the
	 * VMM revokes that, an opt-in already made stays (the value it reads
	 * back must be writable); only a new one needs the VMM's consent.
	 */
	if ((data & KVM_ASYNC_PF_ERROR_STATUS) &&
	    (!(data & KVM_ASYNC_PF_DELIVERY_AS_INT) ||
	     !guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_ERROR) ||
	     (!(vcpu->arch.apf.msr_en_val & KVM_ASYNC_PF_ERROR_STATUS) &&
	      !kvm_apf_guest_error_allowed(vcpu->kvm))))
		return 1;

	if (!guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_VMEXIT) &&
	    (data & KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT))
		return 1;

	if (!guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_INT) &&
	    (data & KVM_ASYNC_PF_DELIVERY_AS_INT))
		return 1;

	if (!lapic_in_kernel(vcpu))
		return data ? 1 : 0;

	/*
	 * Reason, token and status: within the area's first 64 bytes.  Set
	 * up before anything changes, so that a refused write changes nothing.
	 */
	if ((data & on) == on && apf_area_init(vcpu, &area, gpa))
		return 1;

	vcpu->arch.apf.msr_en_val = data;
	vcpu->async_pf.report_errors = data & KVM_ASYNC_PF_ERROR_STATUS;

	if (!kvm_pv_async_pf_enabled(vcpu)) {
		kvm_apf_clear(&vcpu->async_pf);
		return 0;
	}

	vcpu->arch.apf.data = area;
	vcpu->arch.apf.send_user_only = !(data & KVM_ASYNC_PF_SEND_ALWAYS);
	vcpu->arch.apf.delivery_as_pf_vmexit = data & KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT;

	kvm_apf_guest_enabled(&vcpu->async_pf);
	return 0;
}

/**
 * kvm_pv_enable_async_pf_int() - the guest wrote MSR_KVM_ASYNC_PF_INT
 * @vcpu: the vCPU
 * @data: the value
 *
 * Return: 0, or 1 for a value the guest may not write (#GP; nothing
 * changed).
 */
int kvm_pv_enable_async_pf_int(struct kvm_vcpu *vcpu, u64 data)
{
	/* Bits 8-63 are reserved */
	if (data >> 8)
		return 1;

	if (!lapic_in_kernel(vcpu))
		return 1;

	vcpu->arch.apf.msr_int_val = data;
	vcpu->arch.apf.vec = data & KVM_ASYNC_PF_VEC_MASK;
	return 0;
}

#ifdef CONFIG_KVM_APF_KUNIT_TEST
#include "tests/x86_kunit.h"
#endif
