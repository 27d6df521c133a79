// SPDX-License-Identifier: GPL-2.0
/*
 * KVM asynchronous page faults, x86 guest side: what arch/x86/kernel/kvm.c
 * does with a "page ready" that carries an error status, and with "page
 * not present" delivered as #VE.
 *
 * x86 says "page not present" with a #PF whose CR2 holds the token, not
 * the address, or with a #VE whose token is in the shared area; and AMD's
 * nested page fault does not tell the host the virtual address either.
 * So the address for the SIGBUS is the memory operand of the instruction
 * that faulted, decoded as the #GP handler does.
 */
#include <linux/bitfield.h>
#include <linux/extable.h>
#include <linux/kvm_apf_guest.h>
#include <linux/kvm_para.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <asm/extable.h>
#include <asm/insn.h>
#include <asm/insn-eval.h>
#include <asm/ptrace.h>
#include <asm/traps.h>
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

/* sti; hlt; cli: the "page ready" interrupt cannot slip in before the hlt. */
static void apf_x86_halt(void)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_x86_halt);
	safe_halt();
	local_irq_disable();
}

/* Asleep, or (!@sleep) halted in place, until the page is ready. */
static u32 apf_x86_wait(const struct kvm_apf_guest_fault *fault, bool sleep)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_x86_wait, fault, sleep);
	return sleep ? kvm_apf_guest_wait(fault) :
		       kvm_apf_guest_wait_in_place(fault, apf_x86_halt);
}

static bool apf_x86_fixup(struct pt_regs *regs)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_x86_fixup, regs);
	return fixup_exception(regs, X86_TRAP_VE, 0, 0);
}

static void apf_x86_die(struct pt_regs *regs, const char *why)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_x86_die, regs, why);
	die(why, regs, 0);
}

/*
 * Is @ip a user access (copy_{to,from}_user(), get_user(), ...), whose
 * exception-table entry gives -EFAULT?  Upstream's #PF handler sleeps in
 * kernel code only there; elsewhere a task may be between setting its
 * state and calling schedule(), or in a trampoline RCU Tasks may free.
 */
static bool apf_x86_uaccess_site(unsigned long ip)
{
	const struct exception_table_entry *e;

	KUNIT_STATIC_STUB_REDIRECT(apf_x86_uaccess_site, ip);
	e = search_exception_tables(ip);
	if (!e)
		return false;
	switch (FIELD_GET(EX_DATA_TYPE_MASK, e->data)) {
	case EX_TYPE_UACCESS:
	case EX_TYPE_UCOPY_LEN:
		return true;
	case EX_TYPE_IMM_REG:
		return FIELD_GET(EX_DATA_IMM_MASK, e->data) == -EFAULT;
	default:
		return false;
	}
}

/*
 * May the kernel code the #VE interrupted sleep?  Only a user access with
 * interrupts on, where nothing else forbids it
 * (kvm_apf_guest_kernel_may_sleep()).
 */
static bool apf_x86_can_sleep(struct pt_regs *regs)
{
	return (regs->flags & X86_EFLAGS_IF) &&
	       kvm_apf_guest_kernel_may_sleep() &&
	       apf_x86_uaccess_site(regs->ip);
}

/**
 * kvm_apf_guest_x86_ve() - "page not present" delivered as #VE
 * @regs: the registers at the #VE
 * @area: this CPU's shared area, where KVM put the token
 *
 * KVM sets the busy word (@area->flags) with the token and clears nothing;
 * this reads the token, then clears it, which lets KVM send the next #VE.
 * A user task sleeps until "page ready" and gets SIGBUS if its status says
 * the page is gone.  Kernel code (KVM delivers only where interrupts are
 * on) sleeps if it may (apf_x86_can_sleep(): a user access, as the #PF
 * handler sleeps in), else the CPU halts in place;
 * a page that is gone then takes the exception-table fixup of the faulting
 * instruction (a uaccess returns -EFAULT), or oopses where there is none.
 * Called from the #VE handler, interrupts disabled.
 *
 * Return: false if this #VE is not KVM's "page not present" (the busy word
 * is not set), for the caller to handle; true once handled.
 */
bool kvm_apf_guest_x86_ve(struct pt_regs *regs,
			  struct kvm_vcpu_pv_apf_data *area)
{
	struct kvm_apf_guest_fault fault;
	u32 status;

	if (READ_ONCE(area->flags) != KVM_PV_REASON_PAGE_NOT_PRESENT)
		return false;
	kvm_apf_guest_fault_init(&fault, READ_ONCE(area->np_token));
	/* The token read before the busy word is free for the next #VE. */
	smp_store_release(&area->flags, 0);

	if (user_mode(regs)) {
		if (apf_x86_wait(&fault, true))
			kvm_apf_guest_x86_error(regs);
		return true;
	}
	if (!(regs->flags & X86_EFLAGS_IF)) {
		apf_x86_die(regs, "KVM async page fault: #VE with interrupts off");
		return true;
	}
	status = apf_x86_wait(&fault, apf_x86_can_sleep(regs));
	if (status && !apf_x86_fixup(regs))
		apf_x86_die(regs, "KVM async page fault: page lost in kernel mode");
	return true;
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_x86_ve);

#ifdef CONFIG_KVM_APF_GUEST_KUNIT_TEST
#include "tests/x86_kunit.h"
#endif
