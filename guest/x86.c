// SPDX-License-Identifier: GPL-2.0
/*
 * KVM asynchronous page faults, x86 guest side: what arch/x86/kernel/kvm.c
 * does with a "page ready" that carries an error status.
 *
 * x86 says "page not present" with a #PF whose CR2 holds the token, not
 * the address, and AMD's nested page fault does not tell the host the
 * virtual address either.  So the address for the SIGBUS is the memory
 * operand of the instruction that faulted, decoded as the #GP handler does.
 */
#include <linux/kvm_apf_guest.h>
#include <linux/sched/signal.h>
#include <asm/insn.h>
#include <asm/insn-eval.h>
#include <asm/ptrace.h>
#include <kunit/static_stub.h>

/* The address the user instruction at @regs->ip accesses; NULL if none. */
static void __user *apf_x86_access_addr(struct pt_regs *regs)
{
	unsigned char buf[MAX_INSN_SIZE];
	void __user *addr;
	struct insn insn;
	int n;

	n = insn_fetch_from_user(regs, buf);
	if (n <= 0 || !insn_decode_from_regs(&insn, regs, buf, n))
		return NULL;
	/* No ModRM memory operand (string instructions, registers only). */
	if (!insn.modrm.nbytes || X86_MODRM_MOD(insn.modrm.value) == 3)
		return NULL;
	addr = insn_get_addr_ref(&insn, regs);
	return addr == (void __user *)-1L ? NULL : addr;
}

static void apf_x86_sigbus(void __user *addr)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_x86_sigbus, addr);
	force_sig_fault(SIGBUS, BUS_ADRERR, addr);
}

/**
 * kvm_apf_guest_x86_error() - a parked user access will never complete
 * @regs: the user registers of the "page not present" #PF
 *
 * Sends the current task SIGBUS (BUS_ADRERR), si_addr the memory operand
 * of the instruction at @regs->ip (NULL for one without a decodable
 * operand, such as a string instruction); the task gets it on its way
 * back to user space instead of retrying the access.  Called from the #PF
 * handler, for a user-mode fault, in the task's context.
 */
void kvm_apf_guest_x86_error(struct pt_regs *regs)
{
	unsigned long flags;

	/*
	 * Reading the instruction may fault (the task slept; its text may
	 * have been reclaimed): interrupts on, as the #PF handler has them
	 * for a user fault.
	 */
	local_irq_save(flags);
	local_irq_enable();
	apf_x86_sigbus(apf_x86_access_addr(regs));
	local_irq_restore(flags);
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_x86_error);

#ifdef CONFIG_KVM_APF_GUEST_KUNIT_TEST
#include "tests/x86_kunit.h"
#endif
