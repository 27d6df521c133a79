/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86 only, no arm64 twin: the internals of x86_64/apf_arch.c that x86-only
 * code uses as well (x86_64/apf_regress_arch.c, apf_nested_test.c, which
 * set up async PF or read the shared area themselves).
 */
#ifndef APF_X86_H
#define APF_X86_H

#include <linux/kvm_para.h>

#include "processor.h"
#include "apf_guest.h"

#define APF_VECTOR	0xf3	/* what Linux guests use */

/* A ring-0 test guest needs SEND_ALWAYS; Linux runs tasks in ring 3. */
#define APF_EN_BITS	(KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_SEND_ALWAYS | \
			 KVM_ASYNC_PF_DELIVERY_AS_INT)

/* Guest: this vCPU's shared area. */
static inline struct kvm_vcpu_pv_apf_data *apf_my_area(void)
{
	return apf_areas[apf_vcpu()];
}

/* Guest: its guest physical address, for MSR_KVM_ASYNC_PF_EN. */
static inline u64 apf_my_area_gpa(void)
{
	return apf_area_gpas[apf_vcpu()];
}

static inline u64 apf_read_cr2(void)
{
	u64 cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}

/* guest_touch_nowait()'s access, and where it resumes if abandoned. */
extern char apf_nowait_insn[], apf_nowait_out[];

/* The "not present" #PF handler apf_arch_vm_setup() installs. */
void guest_apf_not_present(struct ex_regs *regs);

#define X86_FEATURE_KVM_APF_VE	KVM_X86_CPU_FEATURE(KVM_CPUID_FEATURES, 0, \
						    EAX, KVM_FEATURE_ASYNC_PF_VE)

/*
 * Hide "not present" as #VE from @vcpu's guest, and have KVM hold it to
 * its CPUID: bit 8 of MSR_KVM_ASYNC_PF_INT is then refused, on every host.
 */
static inline void apf_x86_hide_ve(struct kvm_vcpu *vcpu)
{
	vcpu_clear_cpuid_feature(vcpu, X86_FEATURE_KVM_APF_VE);
	vcpu_enable_cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
}

#endif /* APF_X86_H */
