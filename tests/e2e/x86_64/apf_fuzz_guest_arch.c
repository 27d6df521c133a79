// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 part of apf_fuzz_guest_test: random writes and reads of
 * MSR_KVM_ASYNC_PF_EN, _INT and _ACK, each checked against the ABI's rules
 * (upstream's, plus bits 4 and 5, KVM_ASYNC_PF_ERROR_STATUS and _READY_RING):
 * - EN: bit 4 needs bit 3 (interrupt delivery) and the VMM's
 *   KVM_APF_FEATURE_GUEST_ERROR; bit 5 needs bit 3 and a 4 KiB-aligned
 *   area (its ring follows it); enabled (bits 0 and 3) needs the area's gpa
 *   (bits 6-63) in a memslot; otherwise #GP and no change.
 *   This VM does not enforce PV CPUID, so the CPUID bits gate nothing.
 * - INT: bits 8-63 reserved (#GP); vectors below 32 are not written (a
 *   guest that points "page ready" at an exception hurts only itself, and
 *   nothing in the host checks it);
 * - ACK: any value; reads 0.
 * The "page ready" handler is on every vector from 32, so that the vector
 * can move at any time.
 */
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "apic.h"
#include "processor.h"
#include "apf_guest.h"
#include "apf_x86.h"
#include "apf_fuzz.h"
#include "apf_fuzz_guest_arch.h"

#define FZ_VECTOR	0xf3
#define FZ_EN_ON	(KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT)

struct fz_arch {
	u64 en;			/* MSR_KVM_ASYNC_PF_EN as accepted */
	u64 intv;		/* MSR_KVM_ASYNC_PF_INT */
	u64 area_gpa;		/* the page of 64 areas the guest may use */
	u64 area_gva;
};

static struct fz_arch fza;

static inline bool fz_en_on(u64 en)
{
	return (en & FZ_EN_ON) == FZ_EN_ON;
}

/* The area "page ready" is written to now (the last one enabled). */
static struct kvm_vcpu_pv_apf_data *fz_cur;
/* And whether it is written to the ring after that area (batched). */
static bool fz_cur_ring;

static inline bool fz_ring_on(void)
{
	return READ_ONCE(fz_cur_ring);
}

static inline struct kvm_vcpu_pv_apf_data *fz_area(u64 en)
{
	return (void *)(fza.area_gva + ((en & ~0x3full) - fza.area_gpa));
}

static inline bool fz_in_area_page(u64 gpa)
{
	return gpa - fza.area_gpa < 4096;
}

/* For a hang report: the enable word and the token in the area. */
const char *fz_arch_word(void)
{
	return "EN";
}

u64 fz_arch_state(void)
{
	return fza.en;
}

u32 fz_arch_token(void)
{
	return fz_cur ? READ_ONCE(fz_cur->token) : 0;
}

void fz_irq_enable(void)
{
	asm volatile("sti");
}

void fz_irq_disable(void)
{
	asm volatile("cli");
}

/* What KVM must do with an EN write: accept it? */
static bool fz_en_ok(u64 val)
{
	if ((val & KVM_ASYNC_PF_READY_RING) &&
	    (!(val & KVM_ASYNC_PF_DELIVERY_AS_INT) || (val & 0xfc0)))
		return false;
	/* A new opt-in needs the VMM's consent; one in force stays. */
	if ((val & KVM_ASYNC_PF_ERROR_STATUS) &&
	    (!(val & KVM_ASYNC_PF_DELIVERY_AS_INT) ||
	     (!(fza.en & KVM_ASYNC_PF_ERROR_STATUS) && !READ_ONCE(fz.vmm_errors))))
		return false;
	if (fz_en_on(val) && !fz_in_area_page(val & ~0x3full))
		return false;
	return true;
}

static void fz_write_en(u64 val)
{
	bool ok = fz_en_ok(val);
	u64 old = fza.en, now;
	u8 vec;

	/*
	 * A fresh area (no stale token blocks the next "page ready"), current
	 * before the write: the wake-all it queues can interrupt the guest as
	 * soon as the write is done.
	 */
	if (ok && fz_en_on(val)) {
		memset(fz_area(val), 0,
		       APF_AREA_BYTES(val & KVM_ASYNC_PF_READY_RING));
		fz_cur = fz_area(val);
		fz_cur_ring = val & KVM_ASYNC_PF_READY_RING;
	}
	vec = wrmsr_safe(MSR_KVM_ASYNC_PF_EN, val);
	__GUEST_ASSERT(ok ? !vec : vec == GP_VECTOR,
		       "EN %#lx: vector %u, expected %s", val, vec,
		       ok ? "none" : "#GP");
	now = rdmsr(MSR_KVM_ASYNC_PF_EN);
	__GUEST_ASSERT(now == (ok ? val : old), "EN %#lx %s: reads %#lx, was %#lx",
		       val, ok ? "accepted" : "refused", now, old);
	if (ok) {
		if (fz_en_on(old) && !fz_en_on(val) && fz.parked)
			fz.drops++;
		fza.en = val;
	}
	fz_count(ok);
}

/* A random EN value: mostly our area with random flags, and worse. */
static u64 fz_gen_en(void)
{
	u64 flags = fz_below(&fz.rng, 64);
	u64 area = fza.area_gpa + fz_below(&fz.rng, 64) * 64;

	switch (fz_below(&fz.rng, 8)) {
	case 0:			/* anything, out of every memslot */
		return fz_next(&fz.rng) | BIT_ULL(40 + fz_below(&fz.rng, 23));
	case 1:			/* a gpa in no memslot */
		return (0xfe00000000ull + fz_below(&fz.rng, 1 << 20) * 64) |
		       flags;
	case 2:
		return 0;
	case 3:
		return area | (flags & 0x1f);
	default:
		return area | flags;
	}
}

static void fz_write_int(u64 val)
{
	bool ok = !(val >> 8);
	u64 old = fza.intv, now;
	u8 vec = wrmsr_safe(MSR_KVM_ASYNC_PF_INT, val);

	__GUEST_ASSERT(ok ? !vec : vec == GP_VECTOR, "INT %#lx: vector %u",
		       val, vec);
	now = rdmsr(MSR_KVM_ASYNC_PF_INT);
	__GUEST_ASSERT(now == (ok ? val : old), "INT %#lx: reads %#lx, was %#lx",
		       val, now, old);
	if (ok)
		fza.intv = val;
	fz_count(ok);
}

void fz_arch_op(bool parked)
{
	u64 v;

	switch (fz_below(&fz.rng, 8)) {
	case 0:
	case 1:
	case 2:
		fz_write_en(fz_gen_en());
		break;
	case 3:
		v = fz_below(&fz.rng, 4) ? 32 + fz_below(&fz.rng, 224) :
		    fz_value(&fz.rng) | BIT_ULL(8 + fz_below(&fz.rng, 56));
		fz_write_int(v);
		break;
	case 4:
		wrmsr(MSR_KVM_ASYNC_PF_ACK, fz_value(&fz.rng));
		fz_count(true);
		break;
	case 5:
		v = rdmsr(MSR_KVM_ASYNC_PF_ACK);
		__GUEST_ASSERT(!v, "ACK reads %#lx", v);
		fz_count(true);
		break;
	case 6:
		v = rdmsr(MSR_KVM_ASYNC_PF_EN);
		__GUEST_ASSERT(v == fza.en, "EN reads %#lx, set %#lx", v, fza.en);
		fz_count(true);
		break;
	default:
		v = rdmsr(MSR_KVM_ASYNC_PF_INT);
		__GUEST_ASSERT(v == fza.intv, "INT reads %#lx, set %#lx", v,
			       fza.intv);
		fz_count(true);
		break;
	}
}

/* A working configuration, as a Linux guest sets it up. */
void fz_arch_setup(void)
{
	u64 err = READ_ONCE(fz.vmm_errors) && fz_below(&fz.rng, 2) ?
		  KVM_ASYNC_PF_ERROR_STATUS : 0;

	bool ring = fz_below(&fz.rng, 2);

	fz_write_int(32 + fz_below(&fz.rng, 224));
	/* Batched "page ready" half the time, its area at the page's start. */
	fz_write_en((fza.area_gpa + (ring ? 0 : fz_below(&fz.rng, 64) * 64)) |
		    FZ_EN_ON | KVM_ASYNC_PF_SEND_ALWAYS | err |
		    (ring ? KVM_ASYNC_PF_READY_RING : 0));
}

/* Take a "page ready" from the current area (interrupts off). */
static void fz_take_ready(void)
{
	fz_take((void *)fz_cur, fz_ring_on());
	wrmsr(MSR_KVM_ASYNC_PF_ACK, 1);
}

static void fz_ready_irq(struct ex_regs *regs)
{
	fz_take_ready();
	x2apic_write_reg(APIC_EOI, 0);
}

static bool fz_ready_waits(struct kvm_apf_shared *a)
{
	if (fz_ring_on())
		return apf_ring_pending(a);
	return READ_ONCE(a->token);
}

/* A "page ready" whose interrupt has not come (yet). */
void fz_arch_poll(void)
{
	struct kvm_apf_shared *a = (void *)fz_cur;

	if (a && fz_ready_waits(a)) {
		fz_irq_disable();
		if (fz_ready_waits(a))
			fz_take_ready();
		fz_irq_enable();
	}
}

static void fz_not_present(struct ex_regs *regs)
{
	u32 reason = fz_cur ? READ_ONCE(fz_cur->flags) : 0;
	u64 cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	__GUEST_ASSERT(reason == KVM_PV_REASON_PAGE_NOT_PRESENT,
		       "#PF at %#lx, cr2 %#lx, reason %u", regs->rip, cr2,
		       reason);
	WRITE_ONCE(fz_cur->flags, 0);
	fz_parked(cr2);
}

/*
 * The vector first, as the ABI wants it (and Linux does): without one the
 * guest cannot take "page ready", and a vCPU KVM halts for a fault it could
 * not tell the guest about (no SEND_ALWAYS at CPL 0) would wait for ever
 * for the "page ready" slot the guest cannot empty, as upstream's would.
 * Every later INT write is a vector from 32 or rejected.
 */
void fz_arch_guest_init(void)
{
	x2apic_enable();
	fz_write_int(FZ_VECTOR);
	fz_irq_enable();
}

const char *fz_arch_unsupported(void)
{
	const struct kvm_cpuid_entry2 *e = get_cpuid_entry(kvm_get_supported_cpuid(),
							   KVM_CPUID_FEATURES, 0);

	if (!(e->eax & BIT(KVM_FEATURE_ASYNC_PF_INT)))
		return "KVM does not offer KVM_FEATURE_ASYNC_PF_INT";
	return NULL;
}

void fz_arch_vm_setup(struct kvm_vm *vm)
{
	struct kvm_vcpu *vcpu;
	int v;

	/* The model knows no #VE: bit 8 of _INT is refused like bits 9-63. */
	list_for_each_entry(vcpu, &vm->vcpus, list)
		apf_x86_hide_ve(vcpu);
	fza.area_gva = vm_vaddr_alloc_page(vm);
	fza.area_gpa = addr_gva2gpa(vm, fza.area_gva);
	sync_global_to_guest(vm, fza);
	vm_install_exception_handler(vm, PF_VECTOR, fz_not_present);
	for (v = 32; v < 256; v++)
		vm_install_exception_handler(vm, v, fz_ready_irq);
}

/* KVM's MSRs are what the guest's model says. */
void fz_arch_host_check(struct kvm_vcpu *vcpu)
{
	u64 en = vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_EN);
	u64 intv = vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_INT);

	sync_global_from_guest(vcpu->vm, fza);
	FZ_ASSERT(en == fza.en, "EN %#lx, guest set %#lx", en, fza.en);
	FZ_ASSERT(intv == fza.intv, "INT %#lx, guest set %#lx", intv, fza.intv);
}
