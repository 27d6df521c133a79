// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 parts of apf_regress_test.c (apf_regress_arch.h): a load made on
 * another stack; whether "page ready" is pending.  The NMI and SMM
 * regressions are x86's: nothing of theirs here.
 */
#include <linux/arm-smccc.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "gic.h"
#include "processor.h"
#include "ucall_common.h"
#include "apf_regress_arch.h"

/*
 * Guest: load the u64 at @gva with SP (SP_EL1: the test guest runs at
 * EL1h) at @stack_top, so that the SDEI handler of the load's "not
 * present", entered at EL1h, runs on that stack.
 */
u64 apf_touch_on_stack(u64 gva, u64 stack_top)
{
	u64 v;

	asm volatile("mov x9, sp\n\t"
		     "mov sp, %[st]\n\t"
		     "ldr %[v], [%[a]]\n\t"
		     "mov sp, x9"
		     : [v] "=&r"(v)
		     : [a] "r"(gva), [st] "r"(stack_top)
		     : "x9", "memory");
	return v;
}

bool regress_ready_pending(void)
{
	struct arm_smccc_res res;

	smccc_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, KVM_APF_ARM64_INFO, 0, 0,
		  0, 0, 0, 0, &res);
	GUEST_ASSERT_EQ(res.a0, 0);
	return gic_irq_get_pending(res.a3);
}
