// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 backend of the KVM async page fault core (virt/kvm/apf/).
 *
 * The guest ABI is upstream x86's (an existing Linux guest sees no
 * difference): MSR_KVM_ASYNC_PF_EN gives the shared area and the enable
 * bits, MSR_KVM_ASYNC_PF_INT the "page ready" vector; "page not present" is
 * a synthetic #PF with CR2 = token (or a #PF vmexit to L1), "page ready" an
 * interrupt with the token in the shared area, one at a time until the guest
 * writes MSR_KVM_ASYNC_PF_ACK.  Three opt-ins are added: error status (bit
 * 4), batched "page ready" (bit 5: the ring after the area, one interrupt
 * and one ACK for all it holds), and "page not present" as #VE (bit 8 of
 * MSR_KVM_ASYNC_PF_INT: the token in the area, any CPL, Intel only).  What
 * moved to the core: the queue, the tokens, duplicate-fault suppression,
 * the ordering of "ready pending".
 *
 * x86.c keeps upstream's functions (the MSR writes, whether a fault can go
 * async, the gfn lookup) and changes them in place; here are the core's ops
 * for x86, how "not present" can reach the guest, what they write to it,
 * and the rules the opt-ins add to MSR_KVM_ASYNC_PF_EN and _INT.
 */
#include <linux/kvm_host.h>
#include <linux/kvm_para.h>
#include <kunit/static_stub.h>
#include <trace/events/kvm.h>

#include "../cpuid.h"
#include "../lapic.h"
#include "../mmu.h"
#include "../smm.h"
#include "../x86.h"
#include "apf.h"

/* MSR_KVM_ASYNC_PF_EN: the enable bits below the area's 64-byte alignment */
#define APF_ENABLE_BITS		0x3f

/*
 * #VE (vector 20) is an architectural exception on Intel only, where VM
 * entry injects it like any other.  AMD reserves vector 20, and its VMRUN
 * fails (VMEXIT_INVALID) for an injected event "impossible for the guest
 * mode" (APM vol. 2, 15.20): AMD guests keep the #PF.  This parameter is
 * for emulated AMD hosts that deliver vector 20 (QEMU's TCG), where the
 * #VE guest ABI can then be tested end to end; never on AMD silicon, which
 * it refuses (no CPUID hypervisor bit).  It counts when a VMM asks for
 * CPUID and when a guest opts in.
 */
static bool apf_ve_on_amd;
module_param(apf_ve_on_amd, bool, 0644);
MODULE_PARM_DESC(apf_ve_on_amd,
		 "Offer async PF \"not present\" as #VE on AMD too: only for emulators (QEMU TCG), never on AMD silicon");

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
 * The #VE information: the token (and the address, which KVM does not know
 * here: 0), then the busy word, @reason.
 */
static int apf_put_ve_info(struct kvm_vcpu *vcpu, u32 token)
{
	u8 info[offsetofend(struct kvm_vcpu_pv_apf_data, np_addr) -
		offsetof(struct kvm_vcpu_pv_apf_data, np_token)] = {};
	u32 reason = KVM_PV_REASON_PAGE_NOT_PRESENT;

	BUILD_BUG_ON(offsetofend(struct kvm_vcpu_pv_apf_data, np_token) !=
		     offsetof(struct kvm_vcpu_pv_apf_data, np_addr));
	memcpy(info, &token, sizeof(token));
	return kvm_async_pf_area_rw(vcpu, &vcpu->arch.apf.data, info,
				    offsetof(struct kvm_vcpu_pv_apf_data,
					     np_token), sizeof(info), true) ?:
	       kvm_async_pf_area_rw(vcpu, &vcpu->arch.apf.data, &reason,
				    offsetof(struct kvm_vcpu_pv_apf_data, flags),
				    sizeof(reason), true);
}

/* "Page not present" as #VE: vector 20, no error code. */
static void apf_inject_ve(struct kvm_vcpu *vcpu)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_inject_ve, vcpu);
	kvm_queue_exception(vcpu, VE_VECTOR);
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

/* The guest opted in to batched "page ready": its ring follows the area. */
static bool apf_ring(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apf.msr_en_val & KVM_ASYNC_PF_READY_RING;
}

/* The guest opted in to "page not present" as #VE. */
static bool apf_ve(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apf.msr_int_val & KVM_ASYNC_PF_DELIVERY_AS_VE;
}

static int apf_cpl(struct kvm_vcpu *vcpu)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_cpl, vcpu);
	return kvm_x86_call(get_cpl)(vcpu);
}

/*
 * The #VE busy word: @reason is KVM_PV_REASON_PAGE_NOT_PRESENT from a #VE
 * until the guest has read the token and cleared it.  No #VE meanwhile:
 * a fault taken before the guest read the token (in an NMI handler, say)
 * waits synchronously instead of overwriting it.  An area that cannot be
 * read counts as busy.
 */
static bool apf_ve_busy(struct kvm_vcpu *vcpu)
{
	u32 reason;

	return kvm_async_pf_area_rw(vcpu, &vcpu->arch.apf.data, &reason,
				    offsetof(struct kvm_vcpu_pv_apf_data, flags),
				    sizeof(reason), false) || reason;
}

enum apf_carrier { APF_NONE, APF_PF, APF_VE };

/*
 * How "page not present" can reach the guest now.  L2 faulted: a #PF
 * vmexit to L1, if L1 opted in (#VE is for L1's own faults).  Else paging
 * must be on (the real mode IDT is unlikely to handle either), and then
 * #VE at any CPL if the guest opted in and its busy word is clear, or a
 * #PF in user mode (in kernel mode too with KVM_ASYNC_PF_SEND_ALWAYS).
 * Interrupts must be allowed for any of them: kvm_can_do_async_pf().
 */
static enum apf_carrier apf_carrier(struct kvm_vcpu *vcpu)
{
	if (!kvm_pv_async_pf_enabled(vcpu))
		return APF_NONE;
	if (is_guest_mode(vcpu))
		return vcpu->arch.apf.delivery_as_pf_vmexit &&
		       !(vcpu->arch.apf.send_user_only && !apf_cpl(vcpu)) ?
		       APF_PF : APF_NONE;
	if (!is_paging(vcpu))
		return APF_NONE;
	/* SMM has its own IDT; protected state takes no injected #VE. */
	if (apf_ve(vcpu))
		return is_smm(vcpu) || vcpu->arch.guest_state_protected ||
		       apf_ve_busy(vcpu) ? APF_NONE : APF_VE;
	if (vcpu->arch.apf.send_user_only && !apf_cpl(vcpu))
		return APF_NONE;
	return APF_PF;
}

/**
 * kvm_can_deliver_async_pf() - can the guest be told "page not present" now?
 * @vcpu: the vCPU, in its context
 *
 * Return: true if a #PF, a #PF vmexit or a #VE can tell it (apf_carrier()).
 */
bool kvm_can_deliver_async_pf(struct kvm_vcpu *vcpu)
{
	return apf_carrier(vcpu) != APF_NONE;
}

static u32 x86_apf_not_present(struct kvm_apf_vcpu *apf,
			       struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	trace_kvm_async_pf_not_present(item->token, item->cr2_or_gpa);

	switch (apf_carrier(vcpu)) {
	case APF_VE:
		if (apf_put_ve_info(vcpu, item->token))
			break;
		apf_inject_ve(vcpu);
		return KVM_APF_ITEM_NOTIFIED;
	case APF_PF:
		if (apf_put_user_notpresent(vcpu))
			break;
		apf_inject_not_present(vcpu, item->token);
		/*
		 * Delivered as a #PF vmexit, the token reaches L1's own wait
		 * for L2, which cannot act on an error: it would resume L2
		 * into the same fault.  A failure goes to the VMM instead.
		 */
		return KVM_APF_ITEM_NOTIFIED |
		       (is_guest_mode(vcpu) ? KVM_APF_ITEM_NO_ERROR : 0);
	case APF_NONE:
		break;
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

/*
 * 1 if the guest was told, 0 if it does not listen, or the -errno of the
 * write into its area, which the core tries again at the next entry if a
 * signal cut it short (userfaultfd memory): not traced as ready then.
 */
static int x86_apf_present(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);
	int told;

	/* The core writes the "page ready" slot of the common layout. */
	BUILD_BUG_ON(offsetof(struct kvm_apf_shared, token) !=
		     offsetof(struct kvm_vcpu_pv_apf_data, token));
	BUILD_BUG_ON(sizeof(struct kvm_apf_shared) !=
		     sizeof(struct kvm_vcpu_pv_apf_data));

	if (!(item->flags & (KVM_APF_ITEM_WAKE_ALL | KVM_APF_ITEM_NOTIFIED)) ||
	    !kvm_pv_async_pf_enabled(vcpu))
		told = 0;
	else if (apf_ring(vcpu))
		told = kvm_async_pf_ring_put(vcpu, &vcpu->arch.apf.data,
					     item) ?: KVM_APF_READY_BATCHED;
	else
		told = kvm_async_pf_put_ready(vcpu, &vcpu->arch.apf.data,
					      item) ?: 1;
	if (told >= 0)
		trace_kvm_async_pf_ready(item->token, item->cr2_or_gpa);
	/* Once per batch: the rest of it joins the pending interrupt. */
	if (told == 1 || (told > 0 && !READ_ONCE(apf->ready_pending)))
		apf_raise_ready(vcpu);

	vcpu->arch.apf.halted = false;
	vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
	return told;
}

static bool x86_apf_can_dequeue(struct kvm_apf_vcpu *apf)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	if (!kvm_pv_async_pf_enabled(vcpu))
		return true;
	if (!kvm_lapic_enabled(vcpu))
		return false;
	if (apf_ring(vcpu))
		return kvm_async_pf_ring_room(vcpu, &vcpu->arch.apf.data);
	return kvm_async_pf_ready_slot_free(vcpu, &vcpu->arch.apf.data);
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

/* Map the page as the guest's retry would (KUnit replaces mmu.c here). */
static void apf_map(struct kvm_vcpu *vcpu, struct kvm_apf_item *item)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_map, vcpu, item);
	kvm_arch_async_page_ready(vcpu, item->cr2_or_gpa, &item->arch);
}

/*
 * Not while the dirty ring waits to be harvested: each write mapping takes
 * one of its entries, and a batch of "page ready" prefaults many.  The
 * guest's retry then faults, and exits for the harvest, as usual.
 */
static void x86_apf_ready(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	if (!kvm_test_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu))
		apf_map(vcpu, item);
}

/*
 * The guest can take "page not present" now: what the fault path checks
 * before it makes a fault async, and what x86_apf_not_present() needs to
 * tell it (rather than halt the vCPU artificially).
 */
static bool x86_apf_can_notify(struct kvm_apf_vcpu *apf)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	return kvm_can_do_async_pf(vcpu) && kvm_can_deliver_async_pf(vcpu);
}

const struct kvm_apf_ops kvm_arch_apf_ops = {
	.notify_not_present = x86_apf_not_present,
	.notify_ready = x86_apf_present,
	.can_dequeue = x86_apf_can_dequeue,
	.request = x86_apf_request,
	.kick = x86_apf_kick,
	.prefault = x86_apf_ready,
	.gfn_to_hva = kvm_async_pf_gfn_to_hva,
	.can_notify = x86_apf_can_notify,
	.needs_ack = true,
	.vmm_driven = true,
};

/**
 * kvm_apf_x86_setup() - make a guest page fault async
 * @vcpu: the vCPU
 * @cr2_or_gpa: the faulting address
 * @gfn: the faulting gfn
 * @write: whether the guest wrote
 * @arch: what a prefault needs when the page is ready
 *
 * Return: 0 if the fault is now async, 1 if it goes to the VMM (KVM_RUN
 * returns -EFAULT with the memory-fault exit prepared), or -errno if it
 * must be handled synchronously (kvm_async_pf_setup()).
 */
int kvm_apf_x86_setup(struct kvm_vcpu *vcpu, gpa_t cr2_or_gpa, gfn_t gfn,
		      bool write, struct kvm_arch_async_pf *arch)
{
	return kvm_async_pf_setup(vcpu, cr2_or_gpa, gfn,
				  kvm_vcpu_gfn_to_hva(vcpu, gfn),
				  write ? KVM_APF_ITEM_WRITE : 0, arch);
}

/**
 * kvm_apf_x86_enable_refused() - may the guest set these enable bits?
 * @vcpu: the vCPU
 * @data: what the guest (or the VMM) writes to MSR_KVM_ASYNC_PF_EN
 *
 * Error status comes with "page ready", which only the interrupt delivers;
 * and only if the VMM let this guest see errors.  When the VMM revokes that,
 * an opt-in already made stays (the value it reads back must be writable);
 * only a new one needs the VMM's consent.  Batched "page ready" needs the
 * interrupt too, its CPUID bit, and a page-aligned area (the ring follows it
 * in the same page).
 *
 * Return: true if @data sets a bit it may not: the write is refused (#GP).
 */
bool kvm_apf_x86_enable_refused(struct kvm_vcpu *vcpu, u64 data)
{
	if ((data & KVM_ASYNC_PF_READY_RING) &&
	    (!(data & KVM_ASYNC_PF_DELIVERY_AS_INT) ||
	     !guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_RING) ||
	     (data & (SZ_4K - 1) & ~(u64)APF_ENABLE_BITS)))
		return true;
	return (data & KVM_ASYNC_PF_ERROR_STATUS) &&
	       (!(data & KVM_ASYNC_PF_DELIVERY_AS_INT) ||
		!guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_ERROR) ||
		(!(vcpu->arch.apf.msr_en_val & KVM_ASYNC_PF_ERROR_STATUS) &&
		 !kvm_apf_guest_error_allowed(vcpu->kvm)));
}

/**
 * kvm_apf_x86_ve_supported() - can KVM tell this host's guests "not present" with #VE?
 *
 * Return: true on Intel (VMX), where VM entry injects #VE like any other
 * hardware exception; false on AMD, unless the apf_ve_on_amd parameter
 * says the host is an emulator that delivers vector 20 (it must be a
 * guest itself: never on AMD silicon).
 */
bool kvm_apf_x86_ve_supported(void)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_apf_x86_ve_supported);
	return boot_cpu_has(X86_FEATURE_VMX) ||
	       (apf_ve_on_amd && boot_cpu_has(X86_FEATURE_HYPERVISOR));
}

/**
 * kvm_apf_x86_int_refused() - may the guest set these MSR_KVM_ASYNC_PF_INT bits?
 * @vcpu: the vCPU
 * @data: what the guest (or the VMM) writes to MSR_KVM_ASYNC_PF_INT
 *
 * Bits 0-7 are the "page ready" vector.  Bit 8 asks for "page not present"
 * as #VE, which needs its CPUID bit and a host that can inject #VE
 * (kvm_apf_x86_ve_supported()); a VMM restoring it onto a host that cannot
 * gets the refusal at KVM_SET_MSRS.  Bits 9-63 are reserved.
 *
 * Return: true if @data sets a bit it may not: the write is refused (#GP).
 */
bool kvm_apf_x86_int_refused(struct kvm_vcpu *vcpu, u64 data)
{
	if (data & ~(u64)(KVM_ASYNC_PF_VEC_MASK | KVM_ASYNC_PF_DELIVERY_AS_VE))
		return true;
	return (data & KVM_ASYNC_PF_DELIVERY_AS_VE) &&
	       (!kvm_apf_x86_ve_supported() ||
		!guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_VE) ||
		vcpu->arch.guest_state_protected);
}

/*
 * How much of the area KVM reads and writes: up to the #VE information
 * (whether or not the guest asks for #VE, which MSR_KVM_ASYNC_PF_INT may
 * turn on later), and the ring too if asked for.
 */
static unsigned long apf_area_len(u64 data)
{
	return data & KVM_ASYNC_PF_READY_RING ?
	       sizeof(struct kvm_apf_shared) +
	       sizeof(struct kvm_apf_ready_ring) :
	       offsetofend(struct kvm_apf_shared, np_addr);
}

/**
 * kvm_apf_x86_area_init() - the guest's shared area, from MSR_KVM_ASYNC_PF_EN
 * @vcpu: the vCPU
 * @area: set up here if @data enables async PF, untouched otherwise
 * @data: what the guest writes to MSR_KVM_ASYNC_PF_EN
 *
 * The area's first 64 bytes hold reason, token, status and the #VE
 * information, and a ring of completions follows them if the guest asked
 * for one.  Called before the write changes anything, so that a refused
 * write changes nothing.
 *
 * Return: 0, or -errno if no memslot holds the area: the write is refused.
 */
int kvm_apf_x86_area_init(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  u64 data)
{
	u64 on = KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT;

	if ((data & on) != on)
		return 0;
	/* In KUnit a static stub stands in for the memslots. */
	KUNIT_STATIC_STUB_REDIRECT(kvm_apf_x86_area_init, vcpu, area, data);
	return kvm_gfn_to_hva_cache_init(vcpu->kvm, area,
					 data & ~(u64)APF_ENABLE_BITS,
					 apf_area_len(data));
}

#ifdef CONFIG_KVM_APF_KUNIT_TEST
#include "tests/x86_kunit.h"
#endif
