/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86 backend of the KVM async PF core: what x86.c and mmu.c call.
 */
#ifndef __KVM_X86_APF_H
#define __KVM_X86_APF_H

#include <linux/kvm_host.h>

int kvm_apf_x86_setup(struct kvm_vcpu *vcpu, gpa_t cr2_or_gpa, gfn_t gfn,
		      bool write, struct kvm_arch_async_pf *arch);
bool kvm_apf_x86_enable_refused(struct kvm_vcpu *vcpu, u64 data);
bool kvm_apf_x86_int_refused(struct kvm_vcpu *vcpu, u64 data);
bool kvm_apf_x86_ve_supported(void);
int kvm_apf_x86_area_init(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  u64 data);

/* For x86.c's kvm_can_do_async_pf(). */
bool kvm_can_deliver_async_pf(struct kvm_vcpu *vcpu);

#endif /* __KVM_X86_APF_H */
