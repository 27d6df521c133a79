// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 guest side of async PF (apf_arch.h), as a Linux guest speaks it: the
 * shared area and vector through MSR_KVM_ASYNC_PF_EN/_INT, "not present"
 * as a #PF with the token in CR2 and the reason in the shared area (or, with
 * apf_want_ve, a #VE with the token in the area and the busy word), "page
 * ready" as an interrupt with the token in the shared area (or, batched,
 * every entry of the ring after it), acknowledged through
 * MSR_KVM_ASYNC_PF_ACK.
 */
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "apic.h"
#include "processor.h"
#include "ucall_common.h"
#include "apf_guest.h"
#include "apf_x86.h"

/* CR2 holds the token: the host does not name the faulting address. */
const bool apf_arch_fault_addr;
const u64 apf_arch_en_error_status = KVM_ASYNC_PF_ERROR_STATUS;
/* A second fault on a gfn in flight halts the vCPU until its "page ready". */
const bool apf_arch_dup_halts = true;
/* "vcpu 0 rip 0x... address 0x0000000010000000 error_code 0x4" */
const char * const apf_arch_s2_fault_event = "kvm/kvm_page_fault";
const char * const apf_arch_s2_fault_gpa = " address ";

/*
 * guest_touch_nowait(gva, val), rdi and rsi: its access is apf_nowait_insn;
 * abandoned, the handler resumes it at apf_nowait_out with the token in eax.
 */
asm(".text\n"
	".global guest_touch_nowait\n"
	"guest_touch_nowait:\n"
	"	xor	%eax, %eax\n"
	".global apf_nowait_insn\n"
	"apf_nowait_insn:\n"
	"	mov	(%rdi), %rdx\n"
	"	mov	%rdx, (%rsi)\n"
	".global apf_nowait_out\n"
	"apf_nowait_out:\n"
	"	ret\n");

/*
 * With more than one vCPU, each one's GS base points at its entry here
 * (apf_vcpu()); with one, GS is not read (a nested guest's need not be set).
 */
static u32 apf_vcpu_ids[APF_MAX_VCPUS];

u32 apf_vcpu(void)
{
	u32 id;

	if (READ_ONCE(apf_nr_vcpus) <= 1)
		return 0;
	asm volatile("movl %%gs:0, %0" : "=r"(id));
	return id;
}

/* apf_want_pv_eoi: each vCPU's PV EOI word, and its guest physical address. */
static u32 apf_pv_eoi[APF_MAX_VCPUS];
static u64 apf_pv_eoi_gpas[APF_MAX_VCPUS];

/*
 * End the interrupt with PV EOI: KVM set bit 0 of the word on entry if
 * nothing else needs the EOI; clearing it is the EOI, which KVM does at
 * the next exit.  One instruction tests and clears it, so that no exit
 * comes between the two (as Linux's __test_and_clear_bit()).  An exit
 * before it (the ACK's) takes the bit back: so this comes first.
 */
static void apf_pv_eoi_first(void)
{
	bool pv;

	asm volatile("btrl %2, %0"
		     : "+m"(apf_pv_eoi[apf_vcpu()]), "=@ccc"(pv)
		     : "i"(KVM_PV_EOI_BIT) : "memory");
	if (!pv)
		x2apic_write_reg(APIC_EOI, 0);
}

/* With #VE, kernel mode (this ring-0 guest) needs no SEND_ALWAYS. */
static u64 apf_en_bits(void)
{
	return apf_want_ve ? APF_EN_BITS & ~KVM_ASYNC_PF_SEND_ALWAYS :
			     APF_EN_BITS;
}

void guest_apf_enable(void)
{
	x2apic_enable();
	if (apf_want_pv_eoi)
		wrmsr(MSR_KVM_PV_EOI_EN,
		      apf_pv_eoi_gpas[apf_vcpu()] | KVM_MSR_ENABLED);
	wrmsr(MSR_KVM_ASYNC_PF_INT, APF_VECTOR |
	      (apf_want_ve ? KVM_ASYNC_PF_DELIVERY_AS_VE : 0));
	wrmsr(MSR_KVM_ASYNC_PF_EN, apf_my_area_gpa() | apf_en_bits() |
	      (apf_want_errors ? KVM_ASYNC_PF_ERROR_STATUS : 0) |
	      (apf_want_ring ? KVM_ASYNC_PF_READY_RING : 0));
	/* KVM makes a fault async only if it can interrupt the guest. */
	asm volatile("sti");
}

/* Write MSR_KVM_ASYNC_PF_EN; on #GP, check that nothing changed. */
static bool guest_apf_try_enable(u64 val)
{
	u64 before = rdmsr(MSR_KVM_ASYNC_PF_EN);

	if (!wrmsr_safe(MSR_KVM_ASYNC_PF_EN, val))
		return true;
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_ASYNC_PF_EN), before);
	return false;
}

bool guest_apf_try_enable_errors(void)
{
	wrmsr(MSR_KVM_ASYNC_PF_INT, APF_VECTOR);
	return guest_apf_try_enable(apf_my_area_gpa() | APF_EN_BITS |
				    KVM_ASYNC_PF_ERROR_STATUS);
}

u64 guest_apf_bad_enables(void)
{
	u64 gpa = apf_my_area_gpa();
	u64 bad[] = {
		/* the ring needs the area 4 KiB aligned, and interrupts */
		(gpa + 64) | APF_EN_BITS | KVM_ASYNC_PF_READY_RING,
		gpa | KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_READY_RING,
		/* error status needs interrupt delivery of "page ready" */
		gpa | KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_ERROR_STATUS,
		/* an area in no memslot (the #GP must leave the MSR as it was) */
		0xfe00000000ull | APF_EN_BITS,
	};
	u64 i, accepted = 0;

	wrmsr(MSR_KVM_ASYNC_PF_INT, APF_VECTOR);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		accepted += guest_apf_try_enable(bad[i]);
	return accepted;
}

void guest_irq_enable(void)
{
	asm volatile("sti");
}

void guest_irq_disable(void)
{
	asm volatile("cli");
}

void guest_apf_disable(void)
{
	wrmsr(MSR_KVM_ASYNC_PF_EN, 0);
}

/* "Not present" for @token, its notification taken: park, or abandon. */
static void apf_took_not_present(struct ex_regs *regs, u32 token)
{
	if (regs->rip == (u64)apf_nowait_insn) {
		apf_guest_abandoned(token, 0);
		regs->rax = token;
		regs->rip = (u64)apf_nowait_out;
		return;
	}
	apf_guest_parked(token, 0);
}

void guest_apf_not_present(struct ex_regs *regs)
{
	struct kvm_vcpu_pv_apf_data *area = apf_my_area();
	u32 reason = READ_ONCE(area->flags);
	u32 token = apf_read_cr2();

	/* A real #PF, or one while #VE carries "not present". */
	if (reason != KVM_PV_REASON_PAGE_NOT_PRESENT || apf_want_ve) {
		apf_my_log()->unexpected++;
		GUEST_FAIL("#PF at %lx, cr2 %lx, reason %u", regs->rip,
			   apf_read_cr2(), reason);
	}
	WRITE_ONCE(area->flags, 0);
	apf_took_not_present(regs, token);
}

/*
 * "Not present" as #VE: the token in the area, whose flags are the busy
 * word; read the token, then clear it.  apf_ve_busy_touch: the first #VE
 * touches that address (another missing page) before clearing it, with
 * interrupts on: KVM must not send a second #VE meanwhile.
 */
static void guest_apf_ve(struct ex_regs *regs)
{
	struct kvm_vcpu_pv_apf_data *area = apf_my_area();
	u32 busy = READ_ONCE(area->flags);
	u32 token = READ_ONCE(area->np_token);

	if (busy != KVM_PV_REASON_PAGE_NOT_PRESENT || !apf_want_ve) {
		apf_my_log()->unexpected++;
		GUEST_FAIL("#VE at %lx, busy word %u", regs->rip, busy);
	}
	apf_guest_ve_busy(&area->np_token, token);
	WRITE_ONCE(area->flags, 0);
	apf_took_not_present(regs, token);
}

static void guest_apf_ready(struct ex_regs *regs)
{
	struct kvm_apf_shared *shared = (void *)apf_my_area();

	/* As Linux's handler does with PV EOI: the EOI first. */
	if (apf_want_pv_eoi)
		apf_pv_eoi_first();
	if (apf_want_ring) {
		apf_guest_ring_drain(shared);
	} else {
		apf_guest_woken(READ_ONCE(shared->token),
				apf_want_errors ? READ_ONCE(shared->status) : 0);
		WRITE_ONCE(shared->status, 0);
		WRITE_ONCE(shared->token, 0);
	}
	if (!READ_ONCE(apf_no_ack))
		wrmsr(MSR_KVM_ASYNC_PF_ACK, 1);
	if (!apf_want_pv_eoi)
		x2apic_write_reg(APIC_EOI, 0);
}

/* guest_ready_mask(true) software-disabled the LAPIC: guest_apf_idle() spins */
static bool apf_lapic_off;

/* The 2021 report: a guest whose LAPIC is software-disabled (SVR). */
void guest_ready_mask(bool mask)
{
	u64 svr = x2apic_read_reg(APIC_SPIV);

	WRITE_ONCE(apf_lapic_off, mask);

	x2apic_write_reg(APIC_SPIV, mask ? svr & ~APIC_SPIV_APIC_ENABLED :
					   svr | APIC_SPIV_APIC_ENABLED);
}

/* guest_apf_idle() with the LAPIC off: about 1 ms at 1 GHz or more. */
#define APF_IDLE_SPIN_CYCLES	1000000ULL

/*
 * Halt with interrupts on: KVM wakes a halted vCPU when a fault completes.
 * With the LAPIC software-disabled nothing wakes a HLT whose wake-up came
 * (and was consumed on entry) before it, as when the vCPU thread is
 * descheduled between "not present" and the HLT: spin a while instead.
 */
void guest_apf_idle(void)
{
	u64 end;

	if (READ_ONCE(apf_lapic_off)) {
		for (end = rdtsc() + APF_IDLE_SPIN_CYCLES; rdtsc() < end;)
			cpu_relax();
		return;
	}
	asm volatile("sti; hlt; cli" ::: "memory");
}

void guest_apf_wait(void)
{
	asm volatile("sti; hlt; cli" ::: "memory");
}

void guest_apf_reenable_masked(void)
{
	wrmsr(MSR_KVM_ASYNC_PF_EN, apf_my_area_gpa() | apf_en_bits() |
	      (apf_want_ring ? KVM_ASYNC_PF_READY_RING : 0));
}

/* The LAPIC is the guest's to enable: nothing to unmask here. */
void guest_apf_reenable(void)
{
	guest_apf_reenable_masked();
}

u64 apf_guest_clock(void)
{
	return rdtsc();
}

const char *apf_arch_unsupported(void)
{
	const struct kvm_cpuid_entry2 *e = get_cpuid_entry(kvm_get_supported_cpuid(),
							   KVM_CPUID_FEATURES, 0);

	if (!(e->eax & BIT(KVM_FEATURE_ASYNC_PF_INT)))
		return "KVM does not offer KVM_FEATURE_ASYNC_PF_INT";
	if (apf_want_ring && !(e->eax & BIT(KVM_FEATURE_ASYNC_PF_RING)))
		return "KVM does not offer KVM_FEATURE_ASYNC_PF_RING";
	if (apf_want_ve && !(e->eax & BIT(KVM_FEATURE_ASYNC_PF_VE)))
		return "KVM does not offer KVM_FEATURE_ASYNC_PF_VE (AMD, no kvm.apf_ve_on_amd)";
	return NULL;
}

void apf_arch_vm_setup(struct kvm_vm *vm)
{
	struct kvm_sregs sregs;
	struct kvm_vcpu *vcpu;

	/* KVM always offers it; without it, the x2APIC EOI. */
	if (!kvm_cpu_has(X86_FEATURE_KVM_PV_EOI))
		apf_want_pv_eoi = false;
	apf_guest_vm_setup(vm);
	list_for_each_entry(vcpu, &vm->vcpus, list) {
		apf_vcpu_ids[vcpu->id] = vcpu->id;
		vcpu_sregs_get(vcpu, &sregs);
		sregs.gs.base = (u64)&apf_vcpu_ids[vcpu->id];
		vcpu_sregs_set(vcpu, &sregs);
		apf_pv_eoi_gpas[vcpu->id] =
			addr_gva2gpa(vm, (vm_vaddr_t)&apf_pv_eoi[vcpu->id]);
	}
	sync_global_to_guest(vm, apf_vcpu_ids);
	sync_global_to_guest(vm, apf_pv_eoi_gpas);
	vm_install_exception_handler(vm, PF_VECTOR, guest_apf_not_present);
	vm_install_exception_handler(vm, VE_VECTOR, guest_apf_ve);
	vm_install_exception_handler(vm, APF_VECTOR, guest_apf_ready);
}

u64 apf_vmm_get_enable(struct kvm_vcpu *vcpu)
{
	return vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_EN);
}

int apf_vmm_set_enable(struct kvm_vcpu *vcpu, u64 val)
{
	return _vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_EN, val) == 1 ? 0 : -EINVAL;
}
