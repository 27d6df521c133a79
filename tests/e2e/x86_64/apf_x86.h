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

#define APF_VECTOR	0xf3	/* what Linux guests use */

/* A ring-0 test guest needs SEND_ALWAYS; Linux runs tasks in ring 3. */
#define APF_EN_BITS	(KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_SEND_ALWAYS | \
			 KVM_ASYNC_PF_DELIVERY_AS_INT)

extern struct kvm_vcpu_pv_apf_data *apf_area;	/* guest virtual */
extern u64 apf_area_gpa;

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

#endif /* APF_X86_H */
