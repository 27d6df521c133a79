/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit: the x86 guest's SIGBUS for a page that came back with an error,
 * and its "page not present" by #VE (x86.c, which includes this).  The user
 * instructions live in a real user mapping of the test's own mm; static
 * stubs stand in for the wait, the exception fixup and the oops.
 */
#include <kunit/test.h>
#include <kunit/static_stub.h>
#include <linux/mman.h>
#include <linux/uaccess.h>
#include <asm/segment.h>

static void __user *apf_x86_test_addr;
static int apf_x86_test_signals;

static void apf_x86_test_sigbus(void __user *addr)
{
	apf_x86_test_addr = addr;
	apf_x86_test_signals++;
}

static void apf_x86_test_error_at(struct kunit *test, struct pt_regs *regs,
				  void __user *want)
{
	apf_x86_test_addr = (void __user *)0xdead;
	apf_x86_test_signals = 0;
	kvm_apf_guest_x86_error(regs);
	KUNIT_EXPECT_EQ(test, apf_x86_test_signals, 1);
	KUNIT_EXPECT_EQ(test, (unsigned long)apf_x86_test_addr,
			(unsigned long)want);
}

/*
 * The signal names the memory operand of the faulting instruction, as
 * the registers give it; NULL for an instruction whose operand is implicit
 * or that cannot be read.
 */
static void guest_x86_sigbus_names_operand(struct kunit *test)
{
	static const u8 code[] = {
		0x48, 0x8b, 0x58, 0x10,		/* mov 0x10(%rax),%rbx */
		0x89, 0x0c, 0x9e,		/* mov %ecx,(%rsi,%rbx,4) */
		0xa4,				/* movsb */
		0x48, 0x89, 0xd8,		/* mov %rbx,%rax */
	};
	struct pt_regs regs = {
		.cs = __USER_CS, .ss = __USER_DS, .flags = X86_EFLAGS_IF,
		.ax = 0x7f0000001000, .bx = 3, .si = 0x600000,
	};
	unsigned long user;

	kunit_activate_static_stub(test, apf_x86_sigbus, apf_x86_test_sigbus);
	user = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, user, 0, "no user mapping");
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)user, code,
					   sizeof(code)), 0);

	regs.ip = user;
	apf_x86_test_error_at(test, &regs, (void __user *)0x7f0000001010);
	regs.ip = user + 4;
	apf_x86_test_error_at(test, &regs, (void __user *)(0x600000 + 3 * 4));
	regs.ip = user + 7;
	apf_x86_test_error_at(test, &regs, NULL);
	regs.ip = user + 8;
	apf_x86_test_error_at(test, &regs, NULL);
	/* Not mapped: nothing to decode, still one SIGBUS. */
	regs.ip = user + PAGE_SIZE * 16;
	apf_x86_test_error_at(test, &regs, NULL);
}

/* What the #VE handler did, through its stubs. */
static struct {
	int waits, sleeps, fixups, dies;
	u32 token, status;
	bool fixup;
	const char *why;
} apf_ve_test;

static u32 apf_ve_test_wait(const struct kvm_apf_guest_fault *fault,
			    bool sleep)
{
	apf_ve_test.waits++;
	apf_ve_test.sleeps += sleep;
	apf_ve_test.token = fault->token;
	return apf_ve_test.status;
}

static bool apf_ve_test_fixup(struct pt_regs *regs)
{
	apf_ve_test.fixups++;
	return apf_ve_test.fixup;
}

static void apf_ve_test_die(struct pt_regs *regs, const char *why)
{
	apf_ve_test.dies++;
	apf_ve_test.why = why;
}

/* Whether the faulting instruction is a user access (apf_x86_uaccess_site()). */
static bool apf_ve_test_uaccess;

static bool apf_ve_test_uaccess_site(unsigned long ip)
{
	return apf_ve_test_uaccess;
}

/* Before anything else: activating a stub allocates (it may sleep). */
static void apf_ve_test_stubs(struct kunit *test, bool uaccess)
{
	kunit_activate_static_stub(test, apf_x86_wait, apf_ve_test_wait);
	kunit_activate_static_stub(test, apf_x86_fixup, apf_ve_test_fixup);
	kunit_activate_static_stub(test, apf_x86_die, apf_ve_test_die);
	kunit_activate_static_stub(test, apf_x86_sigbus, apf_x86_test_sigbus);
	kunit_activate_static_stub(test, apf_x86_uaccess_site,
				   apf_ve_test_uaccess_site);
	apf_ve_test_uaccess = uaccess;
}

/*
 * A #VE at @regs with KVM's busy word @busy and token 0x7700, interrupts
 * disabled as in the handler; @status is what "page ready" brings, @fixup
 * whether the faulting instruction has an exception-table entry.
 */
static bool apf_ve_test_run(struct kunit *test, struct pt_regs *regs, u32 busy,
			    u32 status, bool fixup)
{
	struct kvm_vcpu_pv_apf_data area = {
		.flags = busy, .np_token = 0x7700, .token = 0x42,
	};
	unsigned long flags;
	bool handled;

	memset(&apf_ve_test, 0, sizeof(apf_ve_test));
	apf_ve_test.status = status;
	apf_ve_test.fixup = fixup;
	apf_x86_test_signals = 0;
	local_irq_save(flags);
	handled = kvm_apf_guest_x86_ve(regs, &area);
	local_irq_restore(flags);
	/* The busy word is cleared once the token is read; "ready" untouched. */
	KUNIT_EXPECT_EQ(test, area.flags, 0);
	KUNIT_EXPECT_EQ(test, area.token, 0x42);
	if (apf_ve_test.waits)
		KUNIT_EXPECT_EQ(test, apf_ve_test.token, 0x7700);
	return handled;
}

/* No busy word: not KVM's #VE, left to the caller, nothing done. */
static void guest_x86_ve_not_kvms(struct kunit *test)
{
	struct pt_regs regs = { .cs = __KERNEL_CS, .flags = X86_EFLAGS_IF };

	apf_ve_test_stubs(test, true);
	KUNIT_EXPECT_FALSE(test, apf_ve_test_run(test, &regs, 0, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ve_test.waits, 0);
	KUNIT_EXPECT_EQ(test, apf_ve_test.dies, 0);
}

/* User mode: asleep; SIGBUS if the page came back with an error. */
static void guest_x86_ve_user(struct kunit *test)
{
	struct pt_regs regs = {
		.cs = __USER_CS, .ss = __USER_DS, .flags = X86_EFLAGS_IF,
	};
	u32 np = KVM_PV_REASON_PAGE_NOT_PRESENT;

	apf_ve_test_stubs(test, false);
	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ve_test.sleeps, 1);
	KUNIT_EXPECT_EQ(test, apf_x86_test_signals, 0);
	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, EIO, false));
	KUNIT_EXPECT_EQ(test, apf_ve_test.sleeps, 1);
	KUNIT_EXPECT_EQ(test, apf_x86_test_signals, 1);
	KUNIT_EXPECT_EQ(test, apf_ve_test.fixups + apf_ve_test.dies, 0);
}

/* Kernel mode, one #VE: did it wait once, asleep (@sleeps 1) or in place? */
static void apf_ve_test_kernel(struct kunit *test, int sleeps)
{
	struct pt_regs regs = { .cs = __KERNEL_CS, .flags = X86_EFLAGS_IF };
	u32 np = KVM_PV_REASON_PAGE_NOT_PRESENT;

	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ve_test.waits, 1);
	KUNIT_EXPECT_EQ(test, apf_ve_test.sleeps, sleeps);
	KUNIT_EXPECT_EQ(test, apf_ve_test.fixups + apf_ve_test.dies, 0);
}

/*
 * Kernel mode: asleep only at a user access by a running task that may
 * sleep; halted in place elsewhere: any other instruction, a task between
 * setting its state and schedule(), preemption, softirqs or page faults
 * disabled, an RCU read-side section.  With interrupts off, an oops (KVM
 * broke its rule).
 */
static void guest_x86_ve_kernel_wait(struct kunit *test)
{
	struct pt_regs regs = { .cs = __KERNEL_CS, .flags = X86_EFLAGS_IF };
	u32 np = KVM_PV_REASON_PAGE_NOT_PRESENT;

	apf_ve_test_stubs(test, true);
	apf_ve_test_kernel(test, IS_ENABLED(CONFIG_PREEMPT_COUNT) ? 1 : 0);
	apf_ve_test_uaccess = false;
	apf_ve_test_kernel(test, 0);
	apf_ve_test_uaccess = true;

	set_current_state(TASK_INTERRUPTIBLE);
	apf_ve_test_kernel(test, 0);
	__set_current_state(TASK_RUNNING);

	rcu_read_lock();
	apf_ve_test_kernel(test, 0);
	rcu_read_unlock();

	local_bh_disable();
	apf_ve_test_kernel(test, 0);
	local_bh_enable();

	preempt_disable();
	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, 0, false));
	preempt_enable();
	KUNIT_EXPECT_EQ(test, apf_ve_test.waits, 1);
	KUNIT_EXPECT_EQ(test, apf_ve_test.sleeps, 0);

	pagefault_disable();
	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, 0, false));
	pagefault_enable();
	KUNIT_EXPECT_EQ(test, apf_ve_test.waits, 1);
	KUNIT_EXPECT_EQ(test, apf_ve_test.sleeps, 0);

	regs.flags = 0;
	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ve_test.waits, 0);
	KUNIT_EXPECT_EQ(test, apf_ve_test.dies, 1);
}

/*
 * Kernel mode, the page gone: the fixup of the faulting instruction (a
 * uaccess returns -EFAULT), asleep or halted alike; an oops without one.
 */
static void guest_x86_ve_kernel_error(struct kunit *test)
{
	struct pt_regs regs = { .cs = __KERNEL_CS, .flags = X86_EFLAGS_IF };
	u32 np = KVM_PV_REASON_PAGE_NOT_PRESENT;

	apf_ve_test_stubs(test, true);
	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, EIO, true));
	KUNIT_EXPECT_EQ(test, apf_ve_test.fixups, 1);
	KUNIT_EXPECT_EQ(test, apf_ve_test.dies, 0);

	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, EIO, false));
	KUNIT_EXPECT_EQ(test, apf_ve_test.fixups, 1);
	KUNIT_EXPECT_EQ(test, apf_ve_test.dies, 1);
	KUNIT_EXPECT_STREQ(test, apf_ve_test.why,
			   "KVM async page fault: page lost in kernel mode");

	preempt_disable();
	KUNIT_EXPECT_TRUE(test, apf_ve_test_run(test, &regs, np, EIO, true));
	preempt_enable();
	KUNIT_EXPECT_EQ(test, apf_ve_test.sleeps, 0);
	KUNIT_EXPECT_EQ(test, apf_ve_test.fixups, 1);
	KUNIT_EXPECT_EQ(test, apf_ve_test.dies, 0);
	KUNIT_EXPECT_EQ(test, apf_x86_test_signals, 0);
}

/* The first entry of the kernel's exception table of @type, or NULL. */
static unsigned long apf_ve_test_site(int type)
{
	extern struct exception_table_entry __start___ex_table[];
	extern struct exception_table_entry __stop___ex_table[];
	struct exception_table_entry *e;

	for (e = __start___ex_table; e < __stop___ex_table; e++)
		if (FIELD_GET(EX_DATA_TYPE_MASK, e->data) == type)
			return (unsigned long)&e->insn + e->insn;
	return 0;
}

/*
 * The kernel's own user accesses are sites to sleep at: copy_*_user()'s
 * (EX_TYPE_UACCESS); an MSR access (EX_TYPE_RDMSR_SAFE) or no entry at
 * all is not.
 */
static void guest_x86_ve_uaccess_sites(struct kunit *test)
{
	unsigned long uaccess = apf_ve_test_site(EX_TYPE_UACCESS);
	unsigned long msr = apf_ve_test_site(EX_TYPE_RDMSR_SAFE);

	KUNIT_ASSERT_NE(test, uaccess, 0);
	KUNIT_EXPECT_TRUE(test, apf_x86_uaccess_site(uaccess));
	KUNIT_ASSERT_NE(test, msr, 0);
	KUNIT_EXPECT_FALSE(test, apf_x86_uaccess_site(msr));
	KUNIT_EXPECT_FALSE(test,
			   apf_x86_uaccess_site((unsigned long)apf_ve_test_site));
}

static struct kunit_case kvm_apf_guest_x86_cases[] = {
	KUNIT_CASE(guest_x86_sigbus_names_operand),
	KUNIT_CASE(guest_x86_ve_not_kvms),
	KUNIT_CASE(guest_x86_ve_user),
	KUNIT_CASE(guest_x86_ve_kernel_wait),
	KUNIT_CASE(guest_x86_ve_kernel_error),
	KUNIT_CASE(guest_x86_ve_uaccess_sites),
	{}
};

static struct kunit_suite kvm_apf_guest_x86_suite = {
	.name = "kvm_apf_guest_x86",
	.test_cases = kvm_apf_guest_x86_cases,
};

kunit_test_suite(kvm_apf_guest_x86_suite);
