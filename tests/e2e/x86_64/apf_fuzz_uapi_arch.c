// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 part of apf_fuzz_uapi_test: KVM_SET_MSRS of MSR_KVM_ASYNC_PF_EN, _INT
 * and _ACK with random values, each checked against the rules the guest's
 * writes have too (bit 4 needs bit 3 and the VMM's
 * KVM_APF_FEATURE_GUEST_ERROR; bit 5, the ring, needs bit 3 and a 4 KiB
 * aligned area; enabled needs the area in a memslot; INT
 * bits 8-63 reserved), and read back with KVM_GET_MSRS.  "Page ready"
 * vectors below 32 are not set (they would hit the guest's exception
 * handlers, which no host check is about).  The guest runs with interrupts
 * on, takes "not present" (a #PF naming the area's reason) by returning at
 * once, and "page ready" on any vector from 32.
 */
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "apic.h"
#include "processor.h"
#include "apf_guest.h"
#include "apf_x86.h"
#include "apf_fuzz.h"
#include "apf_fuzz_uapi_arch.h"

#define FZU_EN_ON	(KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT)

static void fzu_take_ready(void)
{
	struct kvm_apf_shared *a = (void *)g_area;

	if (a && READ_ONCE(g_ring)) {
		fzu_ring_take(g_area);
	} else if (a && READ_ONCE(a->token)) {
		g_ready++;
		WRITE_ONCE(a->status, 0);
		WRITE_ONCE(a->token, 0);
	}
	wrmsr(MSR_KVM_ASYNC_PF_ACK, 1);
}

static void fzu_ready_irq(struct ex_regs *regs)
{
	fzu_take_ready();
	x2apic_write_reg(APIC_EOI, 0);
}

/*
 * "Not present": note it and retry at once (KVM then waits for the page).
 * The VMM may have moved the area since KVM wrote the reason (an exit came
 * before the guest took the #PF), so a missing reason is no error here.
 */
static void fzu_not_present(struct ex_regs *regs)
{
	struct kvm_apf_shared *a = (void *)g_area;

	if (a && READ_ONCE(a->reason) == KVM_PV_REASON_PAGE_NOT_PRESENT)
		WRITE_ONCE(a->reason, 0);
	g_np++;
}

void fzu_guest_init(void)
{
	x2apic_enable();
	asm volatile("sti");
}

void fzu_guest_poll(void)
{
	struct kvm_apf_shared *a = (void *)READ_ONCE(g_area);

	if (a && (READ_ONCE(g_ring) ? apf_ring_pending(a) :
		  READ_ONCE(a->token))) {
		asm volatile("cli");
		fzu_take_ready();
		asm volatile("sti");
	}
}

static struct {
	u64 en, intv;
	u64 area_gpa, area_gva;
	u64 sets, rejected;
} fx;

void fzu_arch_vm_setup(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	int v;

	fx.area_gva = vm_vaddr_alloc_page(vm);
	fx.area_gpa = addr_gva2gpa(vm, fx.area_gva);
	/*
	 * The vector before any enable, as api.rst orders a restore: without
	 * one the guest cannot take "page ready", and a vCPU halted for a
	 * fault it was not told about would wait for ever for the slot.
	 */
	fx.intv = 0xf3;
	/* The model knows no #VE: bit 8 of _INT is refused like bits 9-63. */
	apf_x86_hide_ve(vcpu);
	vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_INT, fx.intv);
	vm_install_exception_handler(vm, PF_VECTOR, fzu_not_present);
	for (v = 32; v < 256; v++)
		vm_install_exception_handler(vm, v, fzu_ready_irq);
}

static u64 fzu_gen_en(void)
{
	u64 flags = fz_below(&rng, 64);
	u64 area = fx.area_gpa + fz_below(&rng, 64) * 64;

	switch (fz_below(&rng, 8)) {
	case 0:
		return fz_next(&rng) | BIT_ULL(40 + fz_below(&rng, 23));
	case 1:
		return (0xfe00000000ull + fz_below(&rng, 1 << 20) * 64) | flags;
	case 2:
		return 0;
	case 3:
		return area | (flags & 0x1f);
	default:
		return area | flags;
	}
}

static bool fzu_en_ok(u64 val)
{
	if ((val & KVM_ASYNC_PF_READY_RING) &&
	    (!(val & KVM_ASYNC_PF_DELIVERY_AS_INT) || (val & 0xfc0)))
		return false;
	/* A new opt-in needs the VMM's consent; one in force stays. */
	if ((val & KVM_ASYNC_PF_ERROR_STATUS) &&
	    (!(val & KVM_ASYNC_PF_DELIVERY_AS_INT) ||
	     (!(fx.en & KVM_ASYNC_PF_ERROR_STATUS) &&
	      !(m.cap & KVM_APF_FEATURE_GUEST_ERROR))))
		return false;
	if ((val & FZU_EN_ON) == FZU_EN_ON &&
	    (val & ~0x3full) - fx.area_gpa >= 4096)
		return false;
	return true;
}

static void fzu_set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 val, bool ok,
			u64 *model)
{
	int r;
	u64 now;

	/* A fresh area (as the guest would have it) for an enable. */
	if (ok && msr == MSR_KVM_ASYNC_PF_EN && (val & FZU_EN_ON) == FZU_EN_ON) {
		u64 gva = fx.area_gva + ((val & ~0x3full) - fx.area_gpa);

		memset(addr_gva2hva(m.vm, gva), 0,
		       APF_AREA_BYTES(val & KVM_ASYNC_PF_READY_RING));
		g_area = gva;
		g_ring = !!(val & KVM_ASYNC_PF_READY_RING);
		sync_global_to_guest(m.vm, g_area);
		sync_global_to_guest(m.vm, g_ring);
	}
	r = _vcpu_set_msr(vcpu, msr, val);
	FZ_ASSERT(r == ok, "KVM_SET_MSRS %#x = %#lx: %d, expected %d", msr, val,
		  r, ok);
	now = vcpu_get_msr(vcpu, msr);
	if (ok && model)
		*model = val;
	FZ_ASSERT(!model || now == *model, "MSR %#x reads %#lx, expected %#lx",
		  msr, now, *model);
	fx.sets++;
	fx.rejected += !ok;
	/* Disabling drops what KVM held; enabling changes how it delivers. */
	if (ok && msr == MSR_KVM_ASYNC_PF_EN)
		m.held = 0;
}

void fzu_arch_op(struct kvm_vcpu *vcpu)
{
	u64 v;

	switch (fz_below(&rng, 6)) {
	case 0:
	case 1:
	case 2:
		v = fzu_gen_en();
		fzu_set_msr(vcpu, MSR_KVM_ASYNC_PF_EN, v, fzu_en_ok(v), &fx.en);
		break;
	case 3:
		v = fz_below(&rng, 4) ? 32 + fz_below(&rng, 224) :
		    fz_value(&rng) | BIT_ULL(8 + fz_below(&rng, 56));
		fzu_set_msr(vcpu, MSR_KVM_ASYNC_PF_INT, v, !(v >> 8), &fx.intv);
		break;
	case 4:
		v = fz_value(&rng);
		FZ_ASSERT(_vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_ACK, v) == 1,
			  "KVM_SET_MSRS ACK = %#lx refused", v);
		v = vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_ACK);
		FZ_ASSERT(!v, "ACK reads %#lx", v);
		fx.sets++;
		/*
		 * An ACK runs the completion check, as KVM_RUN does: a held
		 * failure whose page came back (or whose memslot went) is
		 * delivered there, and its token is gone.
		 */
		m.held = 0;
		break;
	default:
		v = vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_EN);
		FZ_ASSERT(v == fx.en, "EN reads %#lx, set %#lx", v, fx.en);
		break;
	}
}

void fzu_arch_before_run(struct kvm_vcpu *vcpu)
{
}

void fzu_arch_ran(struct kvm_vcpu *vcpu)
{
}

void fzu_arch_check(struct kvm_vcpu *vcpu)
{
	u64 en = vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_EN);
	u64 intv = vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_INT);

	FZ_ASSERT(en == fx.en && intv == fx.intv,
		  "EN %#lx INT %#lx, expected %#lx %#lx", en, intv, fx.en,
		  fx.intv);
}

void fzu_arch_report(void)
{
	printf("# KVM_SET_MSRS: %lu, %lu rejected as expected; EN %#lx INT %#lx\n",
	       fx.sets, fx.rejected, fx.en, fx.intv);
}
