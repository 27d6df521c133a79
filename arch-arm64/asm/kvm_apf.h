/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arm64 async PF state in struct kvm_vcpu_arch (the backend is in
 * arch/arm64/kvm/apf/).
 */
#ifndef __ARM64_KVM_APF_H__
#define __ARM64_KVM_APF_H__

#include <linux/kvm_types.h>
#include <linux/types.h>
#include <uapi/asm/kvm.h>

/**
 * struct kvm_apf_sdei - the vCPU's one SDEI event ("page not present")
 * @ep: the handler's entry point, from EVENT_REGISTER
 * @arg: its argument, from EVENT_REGISTER
 * @state: KVM_APF_SDEI_*
 * @ctx: while the handler runs, the interrupted x0-x17, PC and PSTATE
 */
struct kvm_apf_sdei {
	u64 ep;
	u64 arg;
	u64 state;
	u64 ctx[KVM_APF_SDEI_CTX_REGS];
};

/**
 * struct kvm_apf_arm64 - one vCPU's arm64 async PF state
 * @ctrl: the guest's ENABLE word (shared-area gpa | KVM_APF_ARM64_*)
 * @ppi: the INTID of "page ready"
 * @ppi_chosen: the VMM set @ppi (KVM_REG_ARM_APF_PPI); else KVM may move
 *	the default off a PPI another device owns
 * @ppi_claimed: @ppi is ours in the vGIC (from the vCPU's first run)
 * @ppi_raised: "page ready" is raised until the guest's ACK
 * @prefaulting: a completed fault's page is being mapped (the core's
 *	@prefault): its stage-2 fault-in neither waits nor goes async
 * @area: the shared area (struct kvm_apf_shared)
 * @sdei: the "page not present" event
 */
struct kvm_apf_arm64 {
	u64 ctrl;
	u32 ppi;
	bool ppi_chosen;
	bool ppi_claimed;
	bool ppi_raised;
	bool prefaulting;
	struct gfn_to_hva_cache area;
	struct kvm_apf_sdei sdei;
};

/**
 * struct kvm_arch_async_pf - what the async PF core keeps of arm64's in
 *	each fault (the gfn and the token are the core's)
 * @esr: the syndrome of the stage-2 fault, which the prefault at "page
 *	ready" replays: a read, a write or an instruction fetch, a walk of
 *	the guest's own page tables
 */
struct kvm_arch_async_pf {
	u64 esr;
};

#endif /* __ARM64_KVM_APF_H__ */
