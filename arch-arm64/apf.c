// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 backend of the KVM async page fault core (virt/kvm/apf/).
 *
 * The guest discovers, enables and acknowledges async PF with one SMCCC
 * vendor-hypervisor call (ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, sub-function
 * in x1); it gives KVM a 64-byte struct kvm_apf_shared, the same area x86
 * guests use.
 * "Page not present" is the SDEI event KVM_APF_ARM64_SDEI_EVENT (sdei.c),
 * taken on the faulting instruction: the token and reason are in the area,
 * and completing the event retries the access.  A guest that opts in
 * (KVM_APF_ARM64_DELIVERY_AS_ABORT) takes it instead as a synchronous abort
 * of the access, fault status KVM_APF_ARM64_ABORT_FSC, whose handler returns
 * with ERET: no exit completes it.  The reason is then its busy word, as
 * x86's #VE has one.  "Page ready" is a PPI with the token (and, for a
 * guest that opted in, the status) in the area, raised until the guest's
 * ACK, one at a time as on x86.
 *
 * A fault becomes async only if the guest can take the event right away;
 * otherwise it is resolved synchronously, exactly as before.
 */
#include <linux/arm-smccc.h>
#include <linux/bitfield.h>
#include <linux/kvm_host.h>
#include <linux/kvm_para.h>
#include <kunit/static_stub.h>
#include <kvm/arm_hypercalls.h>
#include <kvm/arm_vgic.h>
#include <asm/kvm_emulate.h>
#include <asm/kvm_mmu.h>

#include "apf.h"
#include "vgic/vgic.h"

#define APF_AREA_ALIGN		sizeof(struct kvm_apf_shared)
#define APF_ENABLE_LOW_BITS	(APF_AREA_ALIGN - 1)

static struct kvm_vcpu *apf_vcpu(struct kvm_apf_vcpu *apf)
{
	return container_of(apf, struct kvm_vcpu, async_pf);
}

static bool apf_enabled(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apf.ctrl & KVM_APF_ARM64_ENABLED;
}

/* Async PF is offered: its bit of the vendor-hyp bitmap is set. */
static bool apf_offered(struct kvm_vcpu *vcpu)
{
	return test_bit(KVM_REG_ARM_VENDOR_HYP_BIT_APF,
			&vcpu->kvm->arch.smccc_feat.vendor_hyp_bmap);
}

/*
 * Batched "page ready" is offered: its bit of the bitmap is set too, which
 * a VMM clears (before the first run) to migrate to a host without it.
 */
static bool apf_ring_offered(struct kvm_vcpu *vcpu)
{
	return test_bit(KVM_REG_ARM_VENDOR_HYP_BIT_APF_RING,
			&vcpu->kvm->arch.smccc_feat.vendor_hyp_bmap);
}

/*
 * The "page ready" PPI: the VMM's choice (KVM_REG_ARM_APF_PPI), the one the
 * first run claimed, or, while neither happened (0, an SGI number), the
 * default.
 */
static u32 apf_ppi(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apf.ppi ?: KVM_APF_ARM64_DEFAULT_PPI;
}

/*
 * Raise or lower "page ready", as the PPI's owner in the vGIC (KUnit
 * replaces the vGIC here).  The PPI is edge-triggered (apf_ppi_own()), so
 * lowering it is ours to do: a raise the guest has not taken yet is
 * withdrawn, as lowering a level line withdrew it (one it took stays
 * active until its EOI).  Lowered only in the vCPU's own context: the
 * ACK, a disable, a reset, a restore, when no list register holds it.
 */
static int apf_set_ppi(struct kvm_vcpu *vcpu, bool level)
{
	struct vgic_irq *irq;
	unsigned long flags;

	KUNIT_STATIC_STUB_REDIRECT(apf_set_ppi, vcpu, level);
	if (level)
		return kvm_vgic_inject_irq(vcpu->kvm, vcpu, apf_ppi(vcpu), true,
					   &vcpu->arch.apf);
	irq = vgic_get_irq(vcpu->kvm, vcpu, apf_ppi(vcpu));
	raw_spin_lock_irqsave(&irq->irq_lock, flags);
	if (irq->owner == &vcpu->arch.apf)
		irq->pending_latch = false;
	raw_spin_unlock_irqrestore(&irq->irq_lock, flags);
	vgic_put_irq(vcpu->kvm, irq);
	return 0;
}

/*
 * Claim PPI @intid in the vGIC for "page ready", or give it back (KUnit
 * replaces the vGIC here).  Ours is edge-triggered (GICR_ICFGR1 says so):
 * the vGIC traps the guest's EOI of a level interrupt KVM raises in
 * software (a maintenance interrupt: one exit per "page ready") to sample
 * its level again, and "page ready" needs no sampling: it is raised once
 * per token or batch, and the guest's ACK says it was taken.  Claimed, it
 * has no line (a level a VMM or a restore set before is dropped; a pending
 * bit restored from the source stays).  Given back, it is level again, as
 * the vGIC makes every PPI, with nothing of ours pending on it.  The vCPU
 * is not running: the caller holds its mutex.  Returns 0, or -EEXIST if
 * another device owns it.
 */
static int apf_ppi_own(struct kvm_vcpu *vcpu, u32 intid, bool claim)
{
	struct vgic_irq *irq;
	unsigned long flags;
	int r;

	KUNIT_STATIC_STUB_REDIRECT(apf_ppi_own, vcpu, intid, claim);
	if (claim) {
		r = kvm_vgic_set_owner(vcpu, intid, &vcpu->arch.apf);
		if (r)
			return r;
	}
	irq = vgic_get_irq(vcpu->kvm, vcpu, intid);
	raw_spin_lock_irqsave(&irq->irq_lock, flags);
	if (claim) {
		irq->config = VGIC_CONFIG_EDGE;
		irq->line_level = false;
	} else if (irq->owner == &vcpu->arch.apf) {
		irq->owner = NULL;
		irq->config = VGIC_CONFIG_LEVEL;
		irq->line_level = false;
		irq->pending_latch = false;
	}
	raw_spin_unlock_irqrestore(&irq->irq_lock, flags);
	vgic_put_irq(vcpu->kvm, irq);
	return 0;
}

static bool apf_ppi_is_pmu(struct kvm_vcpu *vcpu, u32 intid)
{
#ifdef CONFIG_HW_PERF_EVENTS
	return kvm_vcpu_has_pmu(vcpu) && kvm_arm_pmu_irq_initialized(vcpu) &&
	       vcpu->arch.pmu.irq_num == intid;
#else
	return false;
#endif
}

/*
 * Is PPI @intid a timer's or the PMU's?  They claim theirs in the vGIC only
 * when the vCPU first runs, so before that the vGIC cannot tell.
 */
static bool apf_ppi_is_device(struct kvm_vcpu *vcpu, u32 intid)
{
	int i, timers = vcpu_has_nv(vcpu) ? NR_KVM_TIMERS : NR_KVM_EL0_TIMERS;

	for (i = 0; i < timers; i++)
		if (vcpu->kvm->arch.timer_data.ppi[i] == intid)
			return true;
	return apf_ppi_is_pmu(vcpu, intid);
}

/* Claim @intid unless another device has it; 0 or -EBUSY. */
static int apf_ppi_claim(struct kvm_vcpu *vcpu, u32 intid)
{
	if (apf_ppi_is_device(vcpu, intid) || apf_ppi_own(vcpu, intid, true))
		return -EBUSY;
	return 0;
}

/*
 * Write or read part of the shared area, with the core's accessor (which
 * takes kvm->srcu: arm64 does not hold it around the run loop; KUnit
 * replaces guest memory there).
 */
static int apf_area_rw(struct kvm_vcpu *vcpu, void *data, unsigned int offset,
		       unsigned int len, bool write)
{
	return kvm_async_pf_area_rw(vcpu, &vcpu->arch.apf.area, data, offset,
				    len, write);
}

static int apf_area_init(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			 gpa_t gpa, bool ring)
{
	int idx, r;

	KUNIT_STATIC_STUB_REDIRECT(apf_area_init, vcpu, area, gpa, ring);
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	r = kvm_gfn_to_hva_cache_init(vcpu->kvm, area, gpa,
				      sizeof(struct kvm_apf_shared) +
				      (ring ? sizeof(struct kvm_apf_ready_ring) :
				       0));
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	return r;
}

/*
 * Lower "page ready".  A PPI the vCPU does not own yet (raised by a restore
 * before its first run) is not in the vGIC: nothing to tell it, and a call
 * would initialise a GICv2 vGIC too early.
 */
static void apf_lower_ppi(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.apf.ppi_raised) {
		if (vcpu->arch.apf.ppi_claimed)
			apf_set_ppi(vcpu, false);
		vcpu->arch.apf.ppi_raised = false;
	}
}

/* Abort delivery is offered: its bit of the bitmap, as for the ring. */
static bool apf_abort_offered(struct kvm_vcpu *vcpu)
{
	return test_bit(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT,
			&vcpu->kvm->arch.smccc_feat.vendor_hyp_bmap);
}

/* The guest opted in to "not present" as an abort. */
static bool apf_abort(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apf.ctrl & KVM_APF_ARM64_DELIVERY_AS_ABORT;
}

/*
 * Can the abort be taken now?  Only in AArch64 state without nested
 * virtualisation, with no exception pending (one the VMM injected would be
 * lost) and no instruction to skip; at EL1 only with IRQs unmasked (a
 * guest's exception entry runs masked until it saved ELR_EL1 and SPSR_EL1,
 * which the abort overwrites); and only while the busy word is clear: the
 * guest took the last token.
 */
static bool apf_abort_can_deliver(struct kvm_vcpu *vcpu)
{
	u32 busy;

	if (vcpu_mode_is_32bit(vcpu) || vcpu_has_nv(vcpu) ||
	    vcpu_get_flag(vcpu, PENDING_EXCEPTION) ||
	    vcpu_get_flag(vcpu, INCREMENT_PC))
		return false;
	if (vcpu_mode_priv(vcpu) && (*vcpu_cpsr(vcpu) & PSR_I_BIT))
		return false;
	return !apf_area_rw(vcpu, &busy, offsetof(struct kvm_apf_shared, reason),
			    sizeof(busy), false) && !busy;
}

/*
 * The abort, taken to EL1 at the faulting access (PC did not move): a data
 * or instruction abort as the fault was, from the current or a lower EL,
 * with FAR the faulting address (0 without one: FnV is RES0 for this fault
 * status) and, for a data access that was no walk of the guest's own
 * tables, whether it wrote.
 */
static void apf_inject_abort(struct kvm_vcpu *vcpu, u64 far)
{
	u64 fault = kvm_vcpu_get_esr(vcpu);
	bool iabt = kvm_vcpu_trap_is_iabt(vcpu);
	u64 ec, esr = ESR_ELx_IL | KVM_APF_ARM64_ABORT_FSC;

	if (vcpu_mode_priv(vcpu))
		ec = iabt ? ESR_ELx_EC_IABT_CUR : ESR_ELx_EC_DABT_CUR;
	else
		ec = iabt ? ESR_ELx_EC_IABT_LOW : ESR_ELx_EC_DABT_LOW;
	esr |= ec << ESR_ELx_EC_SHIFT;
	if (!iabt && !(fault & ESR_ELx_S1PTW))
		esr |= fault & ESR_ELx_WNR;
	kvm_pend_exception(vcpu, EXCEPT_AA64_EL1_SYNC);
	vcpu_write_sys_reg(vcpu, far, FAR_EL1);
	vcpu_write_sys_reg(vcpu, esr, ESR_EL1);
}

/* The guest opted in to batched "page ready": its ring follows the area. */
static bool apf_ring(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apf.ctrl & KVM_APF_ARM64_READY_RING;
}

/*
 * Can the guest be told "not present" for a fault now?  Not without the
 * PPI ours (claimed at the first run; not at all if async PF was not
 * offered then, even if another vCPU's bitmap write raced with that run):
 * nothing could tell it "page ready".
 */
static bool apf_can_notify(struct kvm_vcpu *vcpu)
{
	if (!apf_enabled(vcpu) || !irqchip_in_kernel(vcpu->kvm) ||
	    !vgic_initialized(vcpu->kvm) || !vcpu->arch.apf.ppi_claimed)
		return false;
	if (apf_abort(vcpu))
		return apf_abort_can_deliver(vcpu);
	if (!(vcpu->arch.apf.ctrl & KVM_APF_ARM64_SEND_ALWAYS) &&
	    vcpu_mode_priv(vcpu))
		return false;
	return kvm_apf_sdei_can_deliver(vcpu);
}

/* The faulting virtual address, if the abort's syndrome says FAR is valid. */
static u64 apf_fault_va(struct kvm_vcpu *vcpu)
{
	if (kvm_vcpu_get_esr(vcpu) & ESR_ELx_FnV)
		return 0;
	return kvm_vcpu_get_hfar(vcpu);
}

static u32 arm64_apf_not_present(struct kvm_apf_vcpu *apf,
				 struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);
	u32 reason = KVM_APF_REASON_NOT_PRESENT;
	struct {
		u32 token;
		u64 addr;
	} __packed np = { item->token, apf_fault_va(vcpu) };

	BUILD_BUG_ON(offsetof(struct kvm_apf_shared, np_addr) !=
		     offsetofend(struct kvm_apf_shared, np_token));

	if (!apf_can_notify(vcpu))
		return 0;
	/* Token and address first: the guest trusts them once it sees reason. */
	if (apf_area_rw(vcpu, &np, offsetof(struct kvm_apf_shared, np_token),
			sizeof(np), true) ||
	    apf_area_rw(vcpu, &reason, offsetof(struct kvm_apf_shared, reason),
			sizeof(reason), true))
		return 0;
	if (apf_abort(vcpu))
		apf_inject_abort(vcpu, np.addr);
	else
		kvm_apf_sdei_deliver(vcpu);
	return KVM_APF_ITEM_NOTIFIED;
}

/*
 * 1 if the guest was told, 0 if it was not, or the -errno of the write into
 * its area, which the core tries again at the next entry if a signal cut it
 * short (userfaultfd memory).
 */
static int arm64_apf_present(struct kvm_apf_vcpu *apf,
			     struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);
	int r;

	if (!(item->flags & (KVM_APF_ITEM_WAKE_ALL | KVM_APF_ITEM_NOTIFIED)) ||
	    !apf_enabled(vcpu))
		return 0;
	if (apf_ring(vcpu))
		r = kvm_async_pf_ring_put(vcpu, &vcpu->arch.apf.area, item);
	else
		r = kvm_async_pf_put_ready(vcpu, &vcpu->arch.apf.area, item);
	if (r)
		return r;
	if (apf_set_ppi(vcpu, true))
		return 0;
	vcpu->arch.apf.ppi_raised = true;
	return apf_ring(vcpu) ? KVM_APF_READY_BATCHED : 1;
}

static bool arm64_apf_can_dequeue(struct kvm_apf_vcpu *apf)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);

	if (!apf_enabled(vcpu))
		return true;
	/*
	 * Posting into the ring while "page ready" is raised for this batch
	 * (the core's ready_pending); but a PPI raised by a restore, whose
	 * batch the guest may be draining, holds everything, the wake-all
	 * too, until its ACK: an entry posted after the guest read @head
	 * would find the PPI lowered by that ACK, and wait.
	 */
	if (apf_ring(vcpu))
		return (!vcpu->arch.apf.ppi_raised ||
			READ_ONCE(vcpu->async_pf.ready_pending)) &&
		       kvm_async_pf_ring_room(vcpu, &vcpu->arch.apf.area);
	if (vcpu->arch.apf.ppi_raised)
		return false;
	return kvm_async_pf_ready_slot_free(vcpu, &vcpu->arch.apf.area);
}

static void arm64_apf_request(struct kvm_apf_vcpu *apf)
{
	kvm_make_request(KVM_REQ_APF_READY, apf_vcpu(apf));
}

static void arm64_apf_kick(struct kvm_apf_vcpu *apf)
{
	kvm_vcpu_kick(apf_vcpu(apf));
}

/*
 * The syndrome of the guest's retry of the access that faulted with @esr: a
 * translation fault (level 3) by the same read, write or instruction fetch
 * (a permission fault that went async has had its mapping zapped since).
 * 0 if @esr is no stage-2 abort.
 */
static u64 apf_retry_esr(struct kvm_vcpu *vcpu, u64 esr)
{
	u64 cur = vcpu->arch.fault.esr_el2;
	bool write, exec;

	if (ESR_ELx_EC(esr) != ESR_ELx_EC_DABT_LOW &&
	    ESR_ELx_EC(esr) != ESR_ELx_EC_IABT_LOW)
		return 0;
	vcpu->arch.fault.esr_el2 = esr;
	write = kvm_is_write_fault(vcpu);
	exec = kvm_vcpu_trap_is_exec_fault(vcpu);
	vcpu->arch.fault.esr_el2 = cur;
	return ESR_ELx_IL | ESR_ELx_FSC_FAULT_L(3) | (write ? ESR_ELx_WNR : 0) |
	       FIELD_PREP(ESR_ELx_EC_MASK, exec ? ESR_ELx_EC_IABT_LOW :
						  ESR_ELx_EC_DABT_LOW);
}

/*
 * Map @gpa as the stage-2 fault @esr (apf_retry_esr()) would, through mmu.c.
 * A failure is the retry's to report: the error exit mmu.c may prepare
 * meanwhile is undone, as KVM_RUN goes on (KUnit replaces mmu.c here).
 */
static void apf_map(struct kvm_vcpu *vcpu, gpa_t gpa, u64 esr)
{
	typeof(vcpu->run->memory_fault) mf;
	struct kvm_memory_slot *slot;
	unsigned long hva;
	u32 exit_reason;
	bool writable;
	int idx;
	u64 cur;

	KUNIT_STATIC_STUB_REDIRECT(apf_map, vcpu, gpa, esr);
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	slot = gfn_to_memslot(vcpu->kvm, gpa_to_gfn(gpa));
	hva = gfn_to_hva_memslot_prot(slot, gpa_to_gfn(gpa), &writable);
	if (!kvm_is_error_hva(hva) && (writable || !(esr & ESR_ELx_WNR))) {
		mf = vcpu->run->memory_fault;
		exit_reason = vcpu->run->exit_reason;
		cur = vcpu->arch.fault.esr_el2;
		vcpu->arch.fault.esr_el2 = esr;
		kvm_arm_apf_map(vcpu, gpa, slot, hva);
		vcpu->arch.fault.esr_el2 = cur;
		vcpu->run->exit_reason = exit_reason;
		vcpu->run->memory_fault = mf;
	}
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
}

/*
 * The page of @item is in: map it now, as the guest's retry of the access
 * would (x86 prefaults alike), so that the retry takes no second fault.
 * Not on a nested or protected stage 2, nor while the dirty ring waits to
 * be harvested (each write mapping takes one of its entries, and a batch
 * of "page ready" prefaults many); should the page be gone again, nothing
 * is mapped either (kvm_apf_arm64_faultin()): the retry faults.
 */
static void arm64_apf_prefault(struct kvm_apf_vcpu *apf,
			       struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = apf_vcpu(apf);
	u64 esr = apf_retry_esr(vcpu, item->arch.esr);

	if (!esr || kvm_is_nested_s2_mmu(vcpu->kvm, vcpu->arch.hw_mmu) ||
	    vcpu_is_protected(vcpu) ||
	    kvm_test_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu))
		return;
	vcpu->arch.apf.prefaulting = true;
	apf_map(vcpu, item->cr2_or_gpa, esr);
	vcpu->arch.apf.prefaulting = false;
}

const struct kvm_apf_ops kvm_arch_apf_ops = {
	.notify_not_present = arm64_apf_not_present,
	.notify_ready = arm64_apf_present,
	.can_dequeue = arm64_apf_can_dequeue,
	.request = arm64_apf_request,
	.kick = arm64_apf_kick,
	.prefault = arm64_apf_prefault,
	.gfn_to_hva = kvm_async_pf_gfn_to_hva,
	.needs_ack = true,
	.vmm_driven = true,
};

/**
 * kvm_apf_arm64_first_run() - claim the "page ready" PPI in the vGIC
 * @vcpu: the vCPU, before it first runs, after the timers and the PMU
 *	claimed their PPIs
 *
 * A PPI the VMM chose (KVM_REG_ARM_APF_PPI) that another device owns is
 * refused; the default one moves to the lowest free PPI instead.  The PPI
 * claimed is edge-triggered from then on.  A VM without async PF offered
 * (KVM_REG_ARM_VENDOR_HYP_BIT_APF clear, which it stays once a vCPU ran)
 * claims none: every PPI stays the VMM's to use.
 *
 * Return: 0, or -EBUSY if the PPI (for the default, every PPI) is taken.
 */
int kvm_apf_arm64_first_run(struct kvm_vcpu *vcpu)
{
	struct kvm_apf_arm64 *apf = &vcpu->arch.apf;
	u32 intid;

	if (!irqchip_in_kernel(vcpu->kvm) || !apf_offered(vcpu) ||
	    apf->ppi_claimed)
		return 0;
	apf->ppi = apf_ppi(vcpu);
	if (apf_ppi_claim(vcpu, apf->ppi)) {
		if (apf->ppi_chosen)
			return -EBUSY;
		for (intid = VGIC_NR_SGIS; intid < VGIC_NR_PRIVATE_IRQS; intid++)
			if (!apf_ppi_claim(vcpu, intid))
				break;
		if (intid == VGIC_NR_PRIVATE_IRQS)
			return -EBUSY;
		apf->ppi = intid;
	}
	apf->ppi_claimed = true;
	if (apf->ppi_raised)
		apf_set_ppi(vcpu, true);
	return 0;
}

/* A "page ready" the source raised, restored: raised when the PPI is ours. */
static void apf_raise_restored(struct kvm_vcpu *vcpu)
{
	vcpu->arch.apf.ppi_raised = true;
	if (vcpu->arch.apf.ppi_claimed)
		apf_set_ppi(vcpu, true);
}

/* Disable async PF on @vcpu: drop its faults and lower "page ready". */
static void apf_disable(struct kvm_vcpu *vcpu, u64 ctrl)
{
	kvm_apf_clear(&vcpu->async_pf);
	apf_lower_ppi(vcpu);
	vcpu->async_pf.report_errors = false;
	vcpu->arch.apf.ctrl = ctrl;
}

/**
 * kvm_apf_arm64_vcpu_reset() - the vCPU is reset (e.g. PSCI CPU_ON)
 * @vcpu: the vCPU, in its own context or with its mutex held
 *
 * The guest starts over: async PF off, no SDEI event.  The VMM's PPI stays.
 */
void kvm_apf_arm64_vcpu_reset(struct kvm_vcpu *vcpu)
{
	apf_disable(vcpu, 0);
	kvm_apf_sdei_reset(vcpu);
}

/*
 * Apply an ENABLE word, from the guest or, @vmm, the VMM's KVM_SET_ONE_REG,
 * which may add KVM_APF_ARM64_READY_RAISED to an enabled word.  Returns 0
 * or -EINVAL, in which case nothing changed.
 */
static int apf_set_ctrl(struct kvm_vcpu *vcpu, u64 ctrl, bool vmm)
{
	bool raised = vmm && (ctrl & KVM_APF_ARM64_READY_RAISED);
	struct gfn_to_hva_cache area;

	if (raised) {
		/* No source with a raised PPI lacked the in-kernel vGIC. */
		if (!(ctrl & KVM_APF_ARM64_ENABLED) ||
		    !irqchip_in_kernel(vcpu->kvm))
			return -EINVAL;
		ctrl &= ~KVM_APF_ARM64_READY_RAISED;
	}
	if (ctrl & APF_ENABLE_LOW_BITS & ~KVM_APF_ARM64_ENABLE_BITS)
		return -EINVAL;
	/*
	 * Letting the guest see errors is the VMM's choice too.  When the VMM
	 * revokes that, an opt-in already made stays (the value it reads back
	 * must be writable); only a new one needs the VMM's consent.
	 */
	if ((ctrl & KVM_APF_ARM64_ERROR_STATUS) &&
	    !(vcpu->arch.apf.ctrl & KVM_APF_ARM64_ERROR_STATUS) &&
	    !kvm_apf_guest_error_allowed(vcpu->kvm))
		return -EINVAL;
	if (!(ctrl & KVM_APF_ARM64_ENABLED)) {
		apf_disable(vcpu, ctrl);
		return 0;
	}
	/* The ring follows the area in the same page; if offered. */
	if ((ctrl & KVM_APF_ARM64_READY_RING) &&
	    ((ctrl & (SZ_4K - 1) & ~(u64)APF_ENABLE_LOW_BITS) ||
	     !apf_ring_offered(vcpu)))
		return -EINVAL;
	if ((ctrl & KVM_APF_ARM64_DELIVERY_AS_ABORT) && !apf_abort_offered(vcpu))
		return -EINVAL;
	if (apf_area_init(vcpu, &area, ctrl & ~(u64)APF_ENABLE_LOW_BITS,
			  ctrl & KVM_APF_ARM64_READY_RING))
		return -EINVAL;

	vcpu->arch.apf.area = area;
	vcpu->arch.apf.ctrl = ctrl;
	vcpu->async_pf.report_errors = ctrl & KVM_APF_ARM64_ERROR_STATUS;
	/*
	 * A "page ready" the previous enable left raised is forgotten (the
	 * guest that enables now never saw it), and tasks the guest parked
	 * before (e.g. before migration) wake up.  One the source had raised
	 * is raised again: its token is in the guest's memory, or the guest
	 * cleared it and its ACK is still to come, and nothing else, the
	 * wake-all neither, may take the slot before that ACK.  The PPI is
	 * raised once the vCPU owns it (kvm_apf_arm64_first_run()).
	 */
	apf_lower_ppi(vcpu);
	if (raised)
		apf_raise_restored(vcpu);
	kvm_apf_guest_enabled(&vcpu->async_pf);
	return 0;
}

/**
 * kvm_apf_arm64_faultin() - the pfn for a stage-2 fault, async if possible
 * @vcpu: the vCPU, in its own context
 * @slot: the memslot of @gfn
 * @fault_gfn: the page that faulted: the one an async fault tracks, and
 *	its error exit names
 * @gfn: the gfn to map: @fault_gfn, or the base of the block holding it
 * @write: whether the guest wrote
 * @pfn: the pfn, unless the fault went async
 * @writable: whether @pfn may be mapped writable
 *
 * Return: 1 if the fault is now async (the guest was told "not present",
 * or the VMM resolves it, and it must be resumed without mapping anything),
 * or if it is a prefault's and the page is not there or in error (nothing is
 * mapped and nothing signalled: the guest's retry meets it);
 * -EFAULT if the VMM decides on it first (KVM_RUN returns the memory-fault
 * exit kvm_async_pf_setup() prepared); 0 if @pfn is set.
 */
int kvm_apf_arm64_faultin(struct kvm_vcpu *vcpu,
			  struct kvm_memory_slot *slot, gfn_t fault_gfn,
			  gfn_t gfn, bool write, kvm_pfn_t *pfn, bool *writable)
{
	bool async = false;
	int r;

	*pfn = __gfn_to_pfn_memslot(slot, gfn, false, false, &async, write,
				    writable, NULL);
	if (vcpu->arch.apf.prefaulting)
		return async || is_error_noslot_pfn(*pfn);
	if (!async)
		return 0;
	if (apf_can_notify(vcpu)) {
		struct kvm_arch_async_pf arch = { .esr = kvm_vcpu_get_esr(vcpu) };

		r = kvm_async_pf_setup(vcpu, gfn_to_gpa(fault_gfn), fault_gfn,
				       gfn_to_hva_memslot(slot, fault_gfn),
				       write ? KVM_APF_ITEM_WRITE : 0, &arch);
		if (r >= 0)
			return r ? -EFAULT : 1;
	}
	*pfn = __gfn_to_pfn_memslot(slot, gfn, false, false, NULL, write,
				    writable, NULL);
	return 0;
}

/**
 * kvm_apf_arm64_call_allowed() - is @func_id one of async PF's calls?
 * @vcpu: the vCPU
 * @func_id: an SMCCC function ID
 *
 * Offered unless the VMM cleared KVM_REG_ARM_VENDOR_HYP_BIT_APF in the
 * vendor-hyp bitmap (e.g. to migrate to an older host), as upstream gates
 * PTP; KVM_ARM_VM_SMCCC_FILTER is consulted first.
 *
 * Return: true for ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID and the SDEI calls,
 * if offered.
 */
bool kvm_apf_arm64_call_allowed(struct kvm_vcpu *vcpu, u32 func_id)
{
	return apf_offered(vcpu) &&
	       (func_id == ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID ||
		kvm_apf_sdei_is_call(func_id));
}

/**
 * kvm_apf_arm64_hyp_features() - add async PF to the KVM_FEATURES reply
 * @vcpu: the vCPU
 * @val: x0-x3 of ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID (bit N of the
 *	128 is function N), x0 the vendor-hyp bitmap
 *
 * The call's bit is set if offered; the bitmap's bits for it and for its
 * ring, which are no function's numbers, are cleared from x0.
 */
void kvm_apf_arm64_hyp_features(struct kvm_vcpu *vcpu, u64 *val)
{
	BUILD_BUG_ON(ARM_SMCCC_KVM_FUNC_APF >= 128);
	val[0] &= ~(BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF) |
		    BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_RING) |
		    BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT));
	if (apf_offered(vcpu))
		val[ARM_SMCCC_KVM_FUNC_APF / 32] |=
			BIT(ARM_SMCCC_KVM_FUNC_APF % 32);
}

static long apf_call(struct kvm_vcpu *vcpu, u64 *val)
{
	switch (smccc_get_arg1(vcpu)) {
	case KVM_APF_ARM64_INFO:
		val[1] = (apf_ring_offered(vcpu) ?
			  KVM_APF_ARM64_INFO_READY_RING : 0) |
			 (apf_abort_offered(vcpu) ? KVM_APF_ARM64_INFO_ABORT : 0) |
			 (kvm_apf_guest_error_allowed(vcpu->kvm) ?
			  KVM_APF_ARM64_INFO_ERROR_STATUS : 0);
		val[2] = KVM_APF_ARM64_SDEI_EVENT;
		val[3] = apf_ppi(vcpu);
		return SMCCC_RET_SUCCESS;
	case KVM_APF_ARM64_ENABLE:
		if (apf_set_ctrl(vcpu, smccc_get_arg2(vcpu), false))
			return SMCCC_RET_INVALID_PARAMETER;
		return SMCCC_RET_SUCCESS;
	case KVM_APF_ARM64_ACK:
		apf_lower_ppi(vcpu);
		kvm_apf_ack(&vcpu->async_pf);
		return SMCCC_RET_SUCCESS;
	default:
		return SMCCC_RET_NOT_SUPPORTED;
	}
}

/**
 * kvm_apf_arm64_call() - handle an async PF or SDEI call from the guest
 * @vcpu: the vCPU, in its own context
 * @func_id: the call, kvm_apf_arm64_call_allowed() true
 *
 * Return: 1, back to the guest with the result in x0-x3.
 */
int kvm_apf_arm64_call(struct kvm_vcpu *vcpu, u32 func_id)
{
	u64 val[4] = {};

	if (kvm_apf_sdei_is_call(func_id))
		return kvm_apf_sdei_call(vcpu, func_id);
	val[0] = apf_call(vcpu, val);
	smccc_set_retval(vcpu, val[0], val[1], val[2], val[3]);
	return 1;
}

static const u64 apf_reg_ids[] = {
	KVM_REG_ARM_APF_CTRL,
	KVM_REG_ARM_APF_PPI,
	KVM_REG_ARM_APF_SDEI_EP,
	KVM_REG_ARM_APF_SDEI_ARG,
	KVM_REG_ARM_APF_SDEI_STATE,
};

/**
 * kvm_apf_arm64_num_regs() - how many firmware registers async PF adds
 * @vcpu: the vCPU
 *
 * Return: the number kvm_apf_arm64_copy_reg_indices() copies: none if
 * async PF is not offered (KVM_REG_ARM_VENDOR_HYP_BIT_APF clear).
 */
int kvm_apf_arm64_num_regs(struct kvm_vcpu *vcpu)
{
	if (!apf_offered(vcpu))
		return 0;
	return ARRAY_SIZE(apf_reg_ids) + KVM_APF_SDEI_CTX_REGS;
}

/**
 * kvm_apf_arm64_copy_reg_indices() - list them for KVM_GET_REG_LIST
 * @vcpu: the vCPU
 * @uind: where to put them
 *
 * Return: 0 or -EFAULT.
 */
int kvm_apf_arm64_copy_reg_indices(struct kvm_vcpu *vcpu, u64 __user *uind)
{
	int i;

	if (!apf_offered(vcpu))
		return 0;
	for (i = 0; i < ARRAY_SIZE(apf_reg_ids); i++)
		if (put_user(apf_reg_ids[i], uind++))
			return -EFAULT;
	for (i = 0; i < KVM_APF_SDEI_CTX_REGS; i++)
		if (put_user(KVM_REG_ARM_APF_SDEI_CTX(i), uind++))
			return -EFAULT;
	return 0;
}

/**
 * kvm_apf_arm64_get_reg() - KVM_GET_ONE_REG of an async PF register
 * @vcpu: the vCPU
 * @id: the register
 * @val: its value
 *
 * Return: 0, or -ENOENT if @id is not one of them or async PF is not
 * offered.
 */
int kvm_apf_arm64_get_reg(struct kvm_vcpu *vcpu, u64 id, u64 *val)
{
	struct kvm_apf_arm64 *apf = &vcpu->arch.apf;
	u64 ctx = id - KVM_REG_ARM_APF_SDEI_CTX(0);

	if (!apf_offered(vcpu))
		return -ENOENT;
	if (ctx < KVM_APF_SDEI_CTX_REGS) {
		*val = apf->sdei.ctx[ctx];
		return 0;
	}
	switch (id) {
	case KVM_REG_ARM_APF_CTRL:
		*val = apf->ctrl;
		if (apf->ppi_raised)
			*val |= KVM_APF_ARM64_READY_RAISED;
		return 0;
	case KVM_REG_ARM_APF_PPI:
		*val = apf_ppi(vcpu);
		return 0;
	case KVM_REG_ARM_APF_SDEI_EP:
		*val = apf->sdei.ep;
		return 0;
	case KVM_REG_ARM_APF_SDEI_ARG:
		*val = apf->sdei.arg;
		return 0;
	case KVM_REG_ARM_APF_SDEI_STATE:
		*val = apf->sdei.state;
		return 0;
	}
	return -ENOENT;
}

/*
 * The PSTATE of a context the event can have interrupted: AArch64 EL0t,
 * EL1t or EL1h (kvm_apf_sdei_can_deliver()).  set_core_reg() refuses the
 * other modes for such a vCPU, or accepts them only for a vCPU the event is
 * never delivered to (AArch32 EL1, nested virtualization).
 */
static bool sdei_pstate_valid(struct kvm_vcpu *vcpu, u64 pstate)
{
	if (vcpu_el1_is_32bit(vcpu))
		return false;
	switch (pstate & (PSR_MODE32_BIT | PSR_MODE_MASK)) {
	case PSR_MODE_EL0t:
	case PSR_MODE_EL1t:
	case PSR_MODE_EL1h:
		return true;
	default:
		return false;
	}
}

static bool sdei_state_valid(u64 state)
{
	if (state & ~KVM_APF_SDEI_STATE_BITS)
		return false;
	if (!(state & KVM_APF_SDEI_REGISTERED) &&
	    (state & (KVM_APF_SDEI_ENABLED | KVM_APF_SDEI_RUNNING)))
		return false;
	return !(state & KVM_APF_SDEI_UNREGISTER_PENDING) ||
	       (state & KVM_APF_SDEI_RUNNING);
}

/*
 * The VMM chooses the PPI: one no other device owns.  From the first run
 * on, the new one is claimed in the vGIC and the old one given back, and a
 * raised one does not move (setting it to itself is fine: a VMM restores
 * CTRL before the PPI, in KVM_GET_REG_LIST's order).  Before the first
 * run, a "page ready" restored raised is raised on the PPI it claims.
 */
static int apf_move_ppi(struct kvm_vcpu *vcpu, u64 intid)
{
	struct kvm_apf_arm64 *apf = &vcpu->arch.apf;

	if (intid < VGIC_NR_SGIS || intid >= VGIC_NR_PRIVATE_IRQS)
		return -EINVAL;
	if (intid != apf_ppi(vcpu)) {
		if (apf->ppi_raised && apf->ppi_claimed)
			return -EBUSY;
		if (apf->ppi_claimed ? apf_ppi_claim(vcpu, intid) :
		    apf_ppi_is_device(vcpu, intid))
			return -EBUSY;
		if (apf->ppi_claimed)
			apf_ppi_own(vcpu, apf_ppi(vcpu), false);
	}
	apf->ppi = intid;
	apf->ppi_chosen = true;
	return 0;
}

/**
 * kvm_apf_arm64_set_reg() - KVM_SET_ONE_REG of an async PF register
 * @vcpu: the vCPU, its mutex held
 * @id: the register
 * @val: its new value
 *
 * The destination of a migration restores what the source's guest set up;
 * a restored enabled CTRL wakes every task the guest had parked, and with
 * KVM_APF_ARM64_READY_RAISED raises "page ready" again.
 *
 * Return: 0; -EINVAL for a value the guest could not have set, such as a
 * PSTATE the event cannot interrupt or READY_RAISED without ENABLED or
 * without the in-kernel vGIC (nothing changed); -EBUSY to move the PPI
 * to another INTID while it is raised (after the first run) or onto one
 * another device (a timer, the PMU) owns; -ENOENT
 * if @id is not one of them or async PF is not offered.
 */
int kvm_apf_arm64_set_reg(struct kvm_vcpu *vcpu, u64 id, u64 val)
{
	struct kvm_apf_arm64 *apf = &vcpu->arch.apf;
	u64 ctx = id - KVM_REG_ARM_APF_SDEI_CTX(0);

	if (!apf_offered(vcpu))
		return -ENOENT;
	if (ctx < KVM_APF_SDEI_CTX_REGS) {
		if (ctx == SDEI_CTX_PSTATE &&
		    !sdei_pstate_valid(vcpu, val))
			return -EINVAL;
		apf->sdei.ctx[ctx] = val;
		return 0;
	}
	switch (id) {
	case KVM_REG_ARM_APF_CTRL:
		return apf_set_ctrl(vcpu, val, true);
	case KVM_REG_ARM_APF_PPI:
		return apf_move_ppi(vcpu, val);
	case KVM_REG_ARM_APF_SDEI_EP:
		apf->sdei.ep = val;
		return 0;
	case KVM_REG_ARM_APF_SDEI_ARG:
		apf->sdei.arg = val;
		return 0;
	case KVM_REG_ARM_APF_SDEI_STATE:
		if (!sdei_state_valid(val))
			return -EINVAL;
		apf->sdei.state = val;
		return 0;
	}
	return -ENOENT;
}

#ifdef CONFIG_KVM_APF_KUNIT_TEST
#include "tests/arm64_kunit.h"
#include "tests/regress_kunit.h"
#endif
