/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arm64 backend of the KVM async PF core: what arm.c, mmu.c, reset.c and
 * hypercalls.c call.  Without CONFIG_KVM_APF_ARM64 every call is a stub that
 * does what upstream did, so the hooks need no #ifdef.
 */
#ifndef __KVM_ARM64_APF_H
#define __KVM_ARM64_APF_H

#include <linux/kvm_host.h>

/* mmu.c: map a completed async fault's page (the core's @prefault) */
int kvm_arm_apf_map(struct kvm_vcpu *vcpu, phys_addr_t ipa,
		    struct kvm_memory_slot *memslot, unsigned long hva);

#ifdef CONFIG_KVM_APF_ARM64
/* Added to the vendor-hyp bitmap's default (and only) features. */
#define KVM_APF_ARM64_VENDOR_HYP_FEATURES		\
	(BIT(KVM_REG_ARM_VENDOR_HYP_BIT_APF) |		\
	 BIT(KVM_REG_ARM_VENDOR_HYP_BIT_APF_RING) |	\
	 BIT(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT))

int kvm_apf_arm64_first_run(struct kvm_vcpu *vcpu);
void kvm_apf_arm64_vcpu_reset(struct kvm_vcpu *vcpu);
int kvm_apf_arm64_faultin(struct kvm_vcpu *vcpu,
			  struct kvm_memory_slot *slot, gfn_t fault_gfn,
			  gfn_t gfn, bool write, kvm_pfn_t *pfn, bool *writable);
bool kvm_apf_arm64_call_allowed(struct kvm_vcpu *vcpu, u32 func_id);
int kvm_apf_arm64_call(struct kvm_vcpu *vcpu, u32 func_id);
void kvm_apf_arm64_hyp_features(struct kvm_vcpu *vcpu, u64 *val);
int kvm_apf_arm64_num_regs(struct kvm_vcpu *vcpu);
int kvm_apf_arm64_copy_reg_indices(struct kvm_vcpu *vcpu, u64 __user *uind);
int kvm_apf_arm64_get_reg(struct kvm_vcpu *vcpu, u64 id, u64 *val);
int kvm_apf_arm64_set_reg(struct kvm_vcpu *vcpu, u64 id, u64 val);

/* sdei.c: the SDEI calls, and delivery of the event */
/* PSTATE of the handler: EL1 with SP_EL1, debug, SError, IRQ, FIQ masked. */
#define KVM_APF_SDEI_HANDLER_PSTATE	(PSR_MODE_EL1h | PSR_D_BIT | \
					 PSR_A_BIT | PSR_I_BIT | PSR_F_BIT)
/* The saved context, struct kvm_apf_sdei's ctx[] (KVM_REG_ARM_APF_SDEI_CTX) */
#define SDEI_CTX_GPRS			18	/* x0-x17 */
#define SDEI_CTX_PC			18
#define SDEI_CTX_PSTATE			19
bool kvm_apf_sdei_is_call(u32 func_id);
int kvm_apf_sdei_call(struct kvm_vcpu *vcpu, u32 func_id);
bool kvm_apf_sdei_can_deliver(struct kvm_vcpu *vcpu);
void kvm_apf_sdei_deliver(struct kvm_vcpu *vcpu);
void kvm_apf_sdei_reset(struct kvm_vcpu *vcpu);
#else
#define KVM_APF_ARM64_VENDOR_HYP_FEATURES	0

static inline int kvm_apf_arm64_first_run(struct kvm_vcpu *vcpu)
{
	return 0;
}

static inline void kvm_apf_arm64_vcpu_reset(struct kvm_vcpu *vcpu) {}

static inline int kvm_apf_arm64_faultin(struct kvm_vcpu *vcpu,
					struct kvm_memory_slot *slot,
					gfn_t fault_gfn, gfn_t gfn, bool write,
					kvm_pfn_t *pfn, bool *writable)
{
	*pfn = __gfn_to_pfn_memslot(slot, gfn, false, false, NULL, write,
				    writable, NULL);
	return 0;
}

static inline bool kvm_apf_arm64_call_allowed(struct kvm_vcpu *vcpu,
					      u32 func_id)
{
	return false;
}

static inline int kvm_apf_arm64_call(struct kvm_vcpu *vcpu, u32 func_id)
{
	return -ENOENT;
}

static inline void kvm_apf_arm64_hyp_features(struct kvm_vcpu *vcpu,
					      u64 *val) {}

static inline int kvm_apf_arm64_num_regs(struct kvm_vcpu *vcpu)
{
	return 0;
}

static inline int kvm_apf_arm64_copy_reg_indices(struct kvm_vcpu *vcpu,
						 u64 __user *uind)
{
	return 0;
}

static inline int kvm_apf_arm64_get_reg(struct kvm_vcpu *vcpu, u64 id,
					u64 *val)
{
	return -ENOENT;
}

static inline int kvm_apf_arm64_set_reg(struct kvm_vcpu *vcpu, u64 id,
					u64 val)
{
	return -ENOENT;
}
#endif

#endif /* __KVM_ARM64_APF_H */
