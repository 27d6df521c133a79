// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 guest side of async PF (apf_arch.h), as a Linux guest would speak
 * it: the SMCCC vendor-hypervisor call (ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID)
 * gives KVM the shared area and acknowledges "page ready"; "not present" is
 * the SDEI event, registered and completed through the SDEI calls over HVC,
 * with the token and reason in the shared area, or (apf_want_ve) an abort
 * of the access with the token under the busy word; "page ready" is a PPI
 * with the token in the area (or, batched, every entry of the ring after
 * it).
 */
#include <linux/arm_sdei.h>
#include <linux/arm-smccc.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "arch_timer.h"
#include "gic.h"
#include "processor.h"
#include "ucall_common.h"
#include "vgic.h"
#include "apf_guest.h"
#include "apf_sdei_entry.h"

static u32 apf_ppi;				/* from INFO */

u32 apf_vcpu(void)
{
	return guest_get_vcpuid();
}

static struct kvm_apf_shared *apf_my_area(void)
{
	return apf_areas[apf_vcpu()];
}

/* "Not present" names the faulting address (np_addr, from FAR). */
const bool apf_arch_fault_addr = true;
const u64 apf_arch_en_error_status = KVM_APF_ARM64_ERROR_STATUS;

/* guest_apf_idle(): at most this long, bounded by the virtual timer. */
#define APF_IDLE_MS		10
#define APF_VTIMER_INTID	27

/* ESR_EL1's fault status code */
#define APF_ESR_FSC		0x3f

/* SMCCC return values (include/linux/arm-smccc.h is not uAPI). */
#define APF_SMCCC_NOT_SUPPORTED		(-1)
#define APF_SMCCC_INVALID_PARAMETER	(-3)

/*
 * A test guest runs at EL1 and needs SEND_ALWAYS (Linux runs tasks at EL0),
 * or the abort opt-in (apf_want_ve), which gives EL1 "not present" by
 * itself.
 */
#define APF_EN_BITS	(KVM_APF_ARM64_ENABLED |			\
			 (apf_want_ve ? KVM_APF_ARM64_DELIVERY_AS_ABORT :	\
					KVM_APF_ARM64_SEND_ALWAYS))

static u64 apf_hvc(u32 fn, u64 a1, u64 a2, u64 a3, u64 *x1_x3)
{
	struct arm_smccc_res res;

	smccc_hvc(fn, a1, a2, a3, 0, 0, 0, 0, &res);
	if (x1_x3) {
		x1_x3[0] = res.a1;
		x1_x3[1] = res.a2;
		x1_x3[2] = res.a3;
	}
	return res.a0;
}

static s64 apf_call(u64 sub, u64 arg)
{
	return apf_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, sub, arg, 0, NULL);
}

/* A second fault on a gfn in flight is synchronous (no halt on arm64). */
const bool apf_arch_dup_halts;
/* "ipa 0x10000000, hsr 0x93800007, hxfar 0x10000000, pc 0x..." */
const char * const apf_arch_s2_fault_event = "kvm/kvm_guest_fault";
const char * const apf_arch_s2_fault_gpa = "ipa ";

/*
 * guest_touch_nowait(gva, val), x0 and x1: its access is apf_nowait_insn.
 * Abandoned, the handler resumes at apf_nowait_stub (EVENT_COMPLETE_AND_
 * RESUME: x0-x17 as interrupted, ELR_EL1 the access), which returns from
 * it with the token (the vCPU's apf_nowait_token, TPIDR_EL1 its index) in
 * w0; x2 and x3 are the function's own scratch registers, as the procedure
 * call standard allows.
 */
u32 apf_nowait_token[APF_MAX_VCPUS];

asm(".text\n"
	".balign 16\n"
	".global guest_touch_nowait\n"
	"guest_touch_nowait:\n"
	"	mov	x2, x0\n"
	"	mov	x0, xzr\n"
	"apf_nowait_insn:\n"
	"	ldr	x3, [x2]\n"
	"	str	x3, [x1]\n"
	"apf_nowait_out:\n"
	"	ret\n"
	"apf_nowait_stub:\n"
	"	adr	x2, apf_nowait_out\n"
	"	msr	elr_el1, x2\n"
	"	mrs	x0, tpidr_el1\n"
	"	adrp	x3, apf_nowait_token\n"
	"	add	x3, x3, :lo12:apf_nowait_token\n"
	"	ldr	w0, [x3, x0, lsl #2]\n"
	"	eret\n");

/* The address of a label of the asm above. */
#define APF_LABEL(label) ({						\
	u64 __a;							\
	asm("adrp %0, " #label "\n\tadd %0, %0, :lo12:" #label : "=r"(__a)); \
	__a;								\
})

/*
 * "Not present" arrives here, through the SDEI entry point (apf_sdei_entry.h)
 * below; guest_touch_nowait()'s access is resumed past.
 * Return: where the entry point resumes, 0: the interrupted context.
 */
u64 guest_apf_not_present(u64 event, u64 arg, u64 pc, u64 pstate)
{
	struct kvm_apf_shared *area = apf_my_area();
	u32 reason = READ_ONCE(area->reason);
	u32 token = READ_ONCE(area->np_token);
	u64 addr = READ_ONCE(area->np_addr);

	if (event != KVM_APF_ARM64_SDEI_EVENT ||
	    reason != KVM_APF_REASON_NOT_PRESENT) {
		apf_my_log()->unexpected++;
		GUEST_FAIL("SDEI event %lx at %lx, reason %u", event, pc, reason);
	}
	WRITE_ONCE(area->reason, 0);
	if (pc == APF_LABEL(apf_nowait_insn)) {
		apf_guest_abandoned(token, addr);
		WRITE_ONCE(apf_nowait_token[apf_vcpu()], token);
		return APF_LABEL(apf_nowait_stub);
	}
	apf_guest_parked(token, addr);
	return 0;
}

APF_SDEI_ENTRY_RESUME(apf_sdei_entry, guest_apf_not_present);

/*
 * "Not present" as an abort of the access (apf_want_ve, arm64's #VE): fault
 * status KVM_APF_ARM64_ABORT_FSC, FAR the address, the token in the area
 * under its busy word (reason); read it, then clear the word; the return
 * (ERET) retries the access, or resumes guest_touch_nowait() past it.
 * apf_ve_busy_touch: the first abort touches that address (another missing
 * page) before clearing the word, with interrupts on: KVM must not send a
 * second abort meanwhile.
 */
static void guest_apf_abort(struct ex_regs *regs)
{
	u64 esr = read_sysreg(esr_el1), far = read_sysreg(far_el1);
	struct kvm_apf_shared *area = apf_my_area();
	u32 busy = READ_ONCE(area->reason);
	u32 token = READ_ONCE(area->np_token);
	u64 addr = READ_ONCE(area->np_addr);

	if ((esr & APF_ESR_FSC) != KVM_APF_ARM64_ABORT_FSC ||
	    busy != KVM_APF_REASON_NOT_PRESENT || !apf_want_ve) {
		apf_my_log()->unexpected++;
		GUEST_FAIL("abort at %lx, esr %lx, far %lx, busy word %u",
			   regs->pc, esr, far, busy);
	}
	GUEST_ASSERT_EQ(addr, far);
	apf_guest_ve_busy(&area->np_token, token);
	WRITE_ONCE(area->reason, 0);
	if (regs->pc == APF_LABEL(apf_nowait_insn)) {
		apf_guest_abandoned(token, addr);
		regs->regs[0] = token;
		regs->pc = APF_LABEL(apf_nowait_out);
		return;
	}
	apf_guest_parked(token, addr);
}

void guest_apf_enable(void)
{
	const u32 ev = KVM_APF_ARM64_SDEI_EVENT;
	u64 info[3];

	GUEST_ASSERT_EQ(apf_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID,
				KVM_APF_ARM64_INFO, 0, 0, info), 0);
	GUEST_ASSERT_EQ(info[1], ev);
	GUEST_ASSERT(!apf_want_ring || (info[0] & KVM_APF_ARM64_INFO_READY_RING));
	GUEST_ASSERT(!apf_want_ve || (info[0] & KVM_APF_ARM64_INFO_ABORT));
	apf_ppi = info[2];
	gic_init(GIC_V3, apf_nr_vcpus);
	gic_irq_enable(apf_ppi);

	/* The abort needs no SDEI event. */
	if (apf_want_ve)
		goto enable;
	GUEST_ASSERT_EQ(apf_hvc(SDEI_1_0_FN_SDEI_VERSION, 0, 0, 0, NULL) >>
			SDEI_VERSION_MAJOR_SHIFT, 1);
	GUEST_ASSERT_EQ(apf_hvc(SDEI_1_0_FN_SDEI_PRIVATE_RESET, 0, 0, 0, NULL), 0);
	GUEST_ASSERT_EQ(apf_hvc(SDEI_1_0_FN_SDEI_EVENT_REGISTER, ev,
				APF_LABEL(apf_sdei_entry), 0, NULL), 0);
	GUEST_ASSERT_EQ(apf_hvc(SDEI_1_0_FN_SDEI_EVENT_ENABLE, ev, 0, 0, NULL), 0);
	GUEST_ASSERT_EQ(apf_hvc(SDEI_1_0_FN_SDEI_PE_UNMASK, 0, 0, 0, NULL), 0);

enable:
	GUEST_ASSERT_EQ(apf_call(KVM_APF_ARM64_ENABLE,
				 apf_area_gpas[apf_vcpu()] | APF_EN_BITS |
				 (apf_want_errors ? KVM_APF_ARM64_ERROR_STATUS : 0) |
				 (apf_want_ring ? KVM_APF_ARM64_READY_RING : 0)),
			0);
	/*
	 * "Page ready" needs interrupts; "not present" as SDEI does not, as
	 * an abort at EL1 does.
	 */
	local_irq_enable();
}

bool guest_apf_try_enable_errors(void)
{
	return !apf_call(KVM_APF_ARM64_ENABLE, apf_area_gpas[apf_vcpu()] |
			 APF_EN_BITS |
			 KVM_APF_ARM64_ERROR_STATUS);
}

u64 guest_apf_bad_enables(void)
{
	u64 gpa = apf_area_gpas[apf_vcpu()];
	u64 bad[] = {
		/* bit 5 is reserved */
		gpa | APF_EN_BITS | BIT_ULL(5),
		/* the ring needs the area 4 KiB aligned */
		(gpa + 64) | APF_EN_BITS | KVM_APF_ARM64_READY_RING,
	};
	u64 i, accepted = 0;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		s64 r = apf_call(KVM_APF_ARM64_ENABLE, bad[i]);

		GUEST_ASSERT(!r || r == APF_SMCCC_INVALID_PARAMETER);
		accepted += !r;
	}
	/* And an unknown sub-function. */
	GUEST_ASSERT_EQ(apf_call(3, 0), APF_SMCCC_NOT_SUPPORTED);
	return accepted;
}

void guest_irq_enable(void)
{
	local_irq_enable();
}

void guest_irq_disable(void)
{
	local_irq_disable();
}

void guest_apf_disable(void)
{
	GUEST_ASSERT_EQ(apf_call(KVM_APF_ARM64_ENABLE, 0), 0);
}

static void guest_apf_irq(struct ex_regs *regs)
{
	unsigned int intid = gic_get_and_ack_irq();
	struct kvm_apf_shared *area = apf_my_area();

	if (intid == APF_VTIMER_INTID) {	/* guest_apf_idle()'s, late */
		gic_set_eoi(intid);
		return;
	}
	if (intid != apf_ppi) {
		apf_my_log()->unexpected++;
		GUEST_FAIL("unexpected interrupt %u", intid);
	}
	if (apf_want_ring) {
		apf_guest_ring_drain(area);
	} else {
		apf_guest_woken(READ_ONCE(area->token),
				apf_want_errors ? READ_ONCE(area->status) : 0);
		WRITE_ONCE(area->status, 0);
		WRITE_ONCE(area->token, 0);
	}
	/* Not acknowledged: the PPI masked instead, nothing more comes. */
	if (READ_ONCE(apf_no_ack))
		gic_irq_disable(intid);
	else
		GUEST_ASSERT_EQ(apf_call(KVM_APF_ARM64_ACK, 0), 0);
	gic_set_eoi(intid);
}

void guest_ready_mask(bool mask)
{
	if (mask)
		gic_irq_disable(apf_ppi);
	else
		gic_irq_enable(apf_ppi);
}

/*
 * Wait for an interrupt, at most APF_IDLE_MS: the virtual timer bounds the
 * wait (KVM need not wake a vCPU for a "page ready" it cannot deliver).
 * WFI wakes on a pending interrupt even with PSTATE.I set, as here in the
 * SDEI handler; the timer is off again before interrupts are unmasked.
 */
void guest_apf_idle(void)
{
	gic_irq_enable(APF_VTIMER_INTID);
	timer_set_next_tval_ms(VIRTUAL, APF_IDLE_MS);
	timer_set_ctl(VIRTUAL, CTL_ENABLE);
	isb();
	asm volatile("wfi" ::: "memory");
	timer_set_ctl(VIRTUAL, 0);
	gic_irq_disable(APF_VTIMER_INTID);
	isb();
}

void guest_apf_wait(void)
{
	asm volatile("wfi" ::: "memory");
	local_irq_enable();
	isb();
	local_irq_disable();
}

void guest_apf_reenable_masked(void)
{
	GUEST_ASSERT_EQ(apf_call(KVM_APF_ARM64_ENABLE,
				 apf_area_gpas[apf_vcpu()] | APF_EN_BITS |
				 (apf_want_ring ? KVM_APF_ARM64_READY_RING : 0)),
			0);
}

void guest_apf_reenable(void)
{
	guest_apf_reenable_masked();
	gic_irq_enable(apf_ppi);
}

u64 apf_guest_clock(void)
{
	return timer_get_cntct(VIRTUAL);
}

/* The abort delivery: its bit in a new VM's vendor-hyp bitmap. */
static bool apf_abort_offered(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, NULL);
	u64 bmap = 0;

	vcpu_get_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP, &bmap);
	kvm_vm_free(vm);
	return bmap & BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT);
}

const char *apf_arch_unsupported(void)
{
	if (!(kvm_check_cap(KVM_CAP_APF_FEATURES) & KVM_APF_FEATURE_ASYNC_PF))
		return "KVM does not offer async PF (KVM_CAP_APF_FEATURES)";
	if (apf_want_ve && !apf_abort_offered())
		return "KVM does not offer \"not present\" as an abort (vendor-hyp bit 61)";
	return NULL;
}

void apf_arch_vm_setup(struct kvm_vm *vm)
{
	struct kvm_vcpu *vcpu;

	apf_guest_vm_setup(vm);
	vm_init_descriptor_tables(vm);
	list_for_each_entry(vcpu, &vm->vcpus, list)
		vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, VECTOR_IRQ_CURRENT, guest_apf_irq);
	if (apf_want_ve) {
		vm_install_sync_handler(vm, VECTOR_SYNC_CURRENT, ESR_EC_DABT,
					guest_apf_abort);
		vm_install_sync_handler(vm, VECTOR_SYNC_CURRENT, ESR_EC_IABT,
					guest_apf_abort);
	}
	vgic_v3_setup(vm, apf_nr_vcpus, 64);
}

u64 apf_vmm_get_enable(struct kvm_vcpu *vcpu)
{
	u64 v;

	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_CTRL, &v);
	return v;
}

int apf_vmm_set_enable(struct kvm_vcpu *vcpu, u64 val)
{
	return __vcpu_set_reg(vcpu, KVM_REG_ARM_APF_CTRL, val) ? -errno : 0;
}
