/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit: the x86 guest's SIGBUS for a page that came back with an error
 * (x86.c, which includes this).  The user instructions live in a real user
 * mapping of the test's own mm.
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

static struct kunit_case kvm_apf_guest_x86_cases[] = {
	KUNIT_CASE(guest_x86_sigbus_names_operand),
	{}
};

static struct kunit_suite kvm_apf_guest_x86_suite = {
	.name = "kvm_apf_guest_x86",
	.test_cases = kvm_apf_guest_x86_cases,
};

kunit_test_suite(kvm_apf_guest_x86_suite);
