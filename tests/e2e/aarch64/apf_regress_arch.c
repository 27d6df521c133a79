// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 parts of apf_regress_test.c (apf_regress_arch.h): a load made on
 * another stack.  The NMI and SMM regressions are x86's: nothing of theirs
 * here.
 */
#include "kvm_util.h"
#include "processor.h"
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
