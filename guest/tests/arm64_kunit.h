/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit: the arm64 guest side (arm64.c, which includes this).  The SMCCC
 * calls and the signal are static stubs; the SDEI event and the PPI are
 * called as their handlers would be, on the test's CPU; the task work runs
 * when the test runs it.
 */
#include <kunit/test.h>
#include <kunit/static_stub.h>
#include <linux/task_work.h>

static struct {
	unsigned long sub[8], arg[8];
	unsigned int calls;
	long ret;
	u64 sigbus_addr;
	unsigned int sigbus;
} apf_t;

/* What the abort path did, through its stubs. */
static struct {
	int waits, sleeps, fixups, dies;
	u32 token, status;
	bool fixup, uaccess;
	/* In place: interrupts and preemption off, on the CPU told. */
	bool in_place_ok;
	const char *why;
} apf_ab;

static unsigned long apf_test_smccc(unsigned long sub, unsigned long arg,
				    struct arm_smccc_res *res)
{
	if (apf_t.calls < ARRAY_SIZE(apf_t.sub)) {
		apf_t.sub[apf_t.calls] = sub;
		apf_t.arg[apf_t.calls] = arg;
	}
	apf_t.calls++;
	*res = (struct arm_smccc_res){ .a0 = apf_t.ret };
	return res->a0;
}

static void apf_test_sigbus(u64 addr)
{
	apf_t.sigbus_addr = addr;
	apf_t.sigbus++;
}

/*
 * The running kernel's choice of the abort, which the tests change: off
 * for each test unless it turns it on (an L2 guest's KUnit has it on).
 */
static bool apf_test_abort;

static void apf_test_exit(struct kunit *test)
{
	apf_abort = apf_test_abort;
}

static int apf_test_init(struct kunit *test)
{
	memset(&apf_t, 0, sizeof(apf_t));
	memset(&apf_ab, 0, sizeof(apf_ab));
	apf_test_abort = apf_abort;
	apf_abort = false;
	kunit_activate_static_stub(test, apf_smccc, apf_test_smccc);
	kunit_activate_static_stub(test, apf_sigbus, apf_test_sigbus);
	return 0;
}

/* The SDEI event as the host raises it: area written, handler entered. */
static void apf_test_event(u32 token, u64 addr, u64 pstate)
{
	struct kvm_apf_shared *area = this_cpu_ptr(&apf_page.area);
	struct pt_regs regs = { .pstate = pstate };

	area->np_token = token;
	area->np_addr = addr;
	area->reason = KVM_APF_REASON_NOT_PRESENT;
	local_irq_disable();
	apf_not_present(KVM_APF_ARM64_SDEI_EVENT, &regs, NULL);
	local_irq_enable();
}

/* A "not present" for @token, told to this CPU now. */
static void apf_test_fault_here(struct kvm_apf_guest_fault *f, u32 token)
{
	preempt_disable();
	kvm_apf_guest_fault_init(f, token);
	preempt_enable();
}

static unsigned long apf_test_busy(void)
{
	return READ_ONCE(this_cpu_ptr(&apf_cpu)->busy);
}

/*
 * An EL0 "not present" leaves the task work that parks the task, with the
 * token and the address; once "page ready" came, the work returns at once,
 * and an error status becomes SIGBUS for that address.
 */
static void guest_arm64_not_present(struct kunit *test)
{
	struct apf_pending *p;

	migrate_disable();	/* the handlers' CPU is the test's */
	p = &this_cpu_ptr(&apf_cpu)->pending[0];

	KUNIT_EXPECT_EQ(test, apf_test_busy(), 0);
	apf_test_event(0x5001, 0x40001234, PSR_MODE_EL0t);
	KUNIT_EXPECT_EQ(test, this_cpu_ptr(&apf_page.area)->reason, 0);
	KUNIT_EXPECT_EQ(test, apf_test_busy(), 1);
	KUNIT_EXPECT_EQ(test, p->fault.token, 0x5001);
	KUNIT_EXPECT_EQ(test, p->fault.cpu, smp_processor_id());
	KUNIT_EXPECT_EQ(test, p->addr, 0x40001234);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(current->task_works), &p->work);

	kvm_apf_guest_wake(0x5001, EFAULT);
	task_work_run();
	KUNIT_EXPECT_EQ(test, apf_t.sigbus, 1);
	KUNIT_EXPECT_EQ(test, apf_t.sigbus_addr, 0x40001234);
	KUNIT_EXPECT_EQ(test, apf_test_busy(), 0);

	/* Status 0: the access is retried, no signal. */
	apf_test_event(0x5101, 0x40002000, PSR_MODE_EL0t);
	kvm_apf_guest_wake(0x5101, 0);
	task_work_run();
	KUNIT_EXPECT_EQ(test, apf_t.sigbus, 1);
	KUNIT_EXPECT_EQ(test, apf_test_busy(), 0);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 0);
	migrate_enable();
}

/*
 * Events that are not a "not present" for EL0 park nothing: another
 * reason, or kernel mode (never asked for); the access is just retried.
 */
static void guest_arm64_not_present_ignored(struct kunit *test)
{
	struct pt_regs regs = { .pstate = PSR_MODE_EL0t };
	struct kvm_apf_shared *area;

	migrate_disable();	/* the handlers' CPU is the test's */
	area = this_cpu_ptr(&apf_page.area);
	area->reason = 0;
	local_irq_disable();
	apf_not_present(KVM_APF_ARM64_SDEI_EVENT, &regs, NULL);
	local_irq_enable();
	KUNIT_EXPECT_EQ(test, apf_test_busy(), 0);

	apf_test_event(0x5201, 0x1000, PSR_MODE_EL1h);
	KUNIT_EXPECT_EQ(test, area->reason, 0);
	KUNIT_EXPECT_EQ(test, apf_test_busy(), 0);
	KUNIT_EXPECT_NULL(test, READ_ONCE(current->task_works));
	migrate_enable();
}

/* With every slot taken the fault is retried, and nothing breaks. */
static void guest_arm64_pending_full(struct kunit *test)
{
	u32 i;

	migrate_disable();	/* the handlers' CPU is the test's */
	for (i = 0; i < APF_PENDING; i++)
		apf_test_event(0x6000 + i, 0x2000 + i, PSR_MODE_EL0t);
	KUNIT_EXPECT_EQ(test, apf_test_busy(), GENMASK(APF_PENDING - 1, 0));
	apf_test_event(0x6100, 0x3000, PSR_MODE_EL0t);
	KUNIT_EXPECT_EQ(test, this_cpu_ptr(&apf_page.area)->reason, 0);
	KUNIT_EXPECT_EQ(test, apf_test_busy(), GENMASK(APF_PENDING - 1, 0));

	for (i = 0; i < APF_PENDING; i++)
		kvm_apf_guest_wake(0x6000 + i, 0);
	task_work_run();
	KUNIT_EXPECT_EQ(test, apf_test_busy(), 0);
	KUNIT_EXPECT_EQ(test, apf_t.sigbus, 0);
	migrate_enable();
}

/*
 * "Page ready": token and status read, both cleared before the ACK, the
 * status only if the host allows errors; token ~0 wakes this CPU's tasks.
 */
static void guest_arm64_ready(struct kunit *test)
{
	struct kvm_apf_guest_fault f;
	struct kvm_apf_shared *area;

	migrate_disable();	/* the handlers' CPU is the test's */
	area = this_cpu_ptr(&apf_page.area);
	apf_ring = false;
	apf_errors = true;
	apf_test_fault_here(&f, 0x7001);
	area->token = 0x7001;
	area->status = EIO;
	apf_ready(0, NULL);
	KUNIT_EXPECT_EQ(test, area->token, 0);
	KUNIT_EXPECT_EQ(test, area->status, 0);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 1);
	KUNIT_EXPECT_EQ(test, apf_t.sub[0], KVM_APF_ARM64_ACK);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), EIO);

	apf_errors = false;
	apf_test_fault_here(&f, 0x7101);
	area->token = 0x7101;
	area->status = EIO;	/* not opted in: the host never writes it */
	apf_ready(0, NULL);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), 0);

	/* A wake-all: a fault told before it does not park. */
	apf_test_fault_here(&f, 0x7201);
	area->token = KVM_APF_GUEST_WAKE_ALL;
	apf_ready(0, NULL);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), 0);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 3);
	migrate_enable();
}

/*
 * Batched "page ready": the PPI takes every entry of the ring, each with
 * its status, then makes the one ACK; the slot is not looked at.
 */
static void guest_arm64_ready_ring(struct kunit *test)
{
	struct kvm_apf_guest_fault f, g;
	struct kvm_apf_ready_ring *r;

	migrate_disable();	/* the handlers' CPU is the test's */
	r = this_cpu_ptr(&apf_page.ring);
	apf_ring = true;
	apf_errors = true;
	apf_test_fault_here(&f, 0xb001);
	apf_test_fault_here(&g, 0xb101);
	r->tail = KVM_APF_READY_RING_ENTRIES - 1;
	r->entries[KVM_APF_READY_RING_ENTRIES - 1] =
		(struct kvm_apf_ready_entry){ 0xb001, EIO };
	r->entries[0] = (struct kvm_apf_ready_entry){ 0xb101, 0 };
	r->head = KVM_APF_READY_RING_ENTRIES + 1;
	this_cpu_ptr(&apf_page.area)->token = 0xdead;	/* not looked at */
	apf_ready(0, NULL);
	KUNIT_EXPECT_EQ(test, r->tail, KVM_APF_READY_RING_ENTRIES + 1);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 1);
	KUNIT_EXPECT_EQ(test, apf_t.sub[0], KVM_APF_ARM64_ACK);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), EIO);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&g), 0);
	KUNIT_EXPECT_EQ(test, this_cpu_ptr(&apf_page.area)->token, 0xdead);
	this_cpu_ptr(&apf_page.area)->token = 0;
	apf_ring = false;
	migrate_enable();
}

/*
 * Enabling names this CPU's area with ENABLED, ERROR_STATUS only when the
 * host offers it, never SEND_ALWAYS; a refusal leaves the CPU without
 * async PF.  Disabling says so to the host and wakes what the CPU parked.
 */
static void guest_arm64_enable_disable(struct kunit *test)
{
	struct kvm_apf_guest_fault f;
	unsigned int cpu;
	phys_addr_t pa;

	migrate_disable();	/* the handlers' CPU is the test's */
	cpu = smp_processor_id();
	pa = per_cpu_ptr_to_phys(this_cpu_ptr(&apf_page.area));

	KUNIT_EXPECT_EQ(test, pa % SZ_4K, 0);	/* the ring's rule */
	apf_ring = false;
	apf_errors = true;
	apf_cpu_enable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 1);
	KUNIT_EXPECT_EQ(test, apf_t.sub[0], KVM_APF_ARM64_ENABLE);
	KUNIT_EXPECT_EQ(test, apf_t.arg[0], pa | KVM_APF_ARM64_ENABLED |
			KVM_APF_ARM64_ERROR_STATUS);
	KUNIT_EXPECT_TRUE(test, this_cpu_ptr(&apf_cpu)->enabled);

	apf_test_fault_here(&f, 0x8001);
	apf_cpu_disable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 2);
	KUNIT_EXPECT_EQ(test, apf_t.sub[1], KVM_APF_ARM64_ENABLE);
	KUNIT_EXPECT_EQ(test, apf_t.arg[1], 0);
	KUNIT_EXPECT_FALSE(test, this_cpu_ptr(&apf_cpu)->enabled);
	KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), 0);
	apf_cpu_disable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 2);

	apf_errors = false;
	apf_cpu_enable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.arg[2], pa | KVM_APF_ARM64_ENABLED);
	apf_cpu_disable(cpu);

	apf_t.ret = -3;	/* INVALID_PARAMETER */
	apf_cpu_enable(cpu);
	KUNIT_EXPECT_FALSE(test, this_cpu_ptr(&apf_cpu)->enabled);
	apf_cpu_disable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 5);

	/* Offered the ring: opted in, the ring emptied first. */
	apf_t.ret = 0;
	apf_ring = true;
	this_cpu_ptr(&apf_page.ring)->head = 7;
	apf_cpu_enable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.arg[5], pa | KVM_APF_ARM64_ENABLED |
			KVM_APF_ARM64_READY_RING);
	KUNIT_EXPECT_EQ(test, this_cpu_ptr(&apf_page.ring)->head, 0);
	apf_cpu_disable(cpu);
	apf_ring = false;

	/* Offered the abort: opted in, a stale busy word cleared first. */
	apf_abort = true;
	this_cpu_ptr(&apf_page.area)->reason = KVM_APF_REASON_NOT_PRESENT;
	apf_cpu_enable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.arg[7], pa | KVM_APF_ARM64_ENABLED |
			KVM_APF_ARM64_DELIVERY_AS_ABORT);
	KUNIT_EXPECT_EQ(test, this_cpu_ptr(&apf_page.area)->reason, 0);
	apf_cpu_disable(cpu);
	migrate_enable();
}

static u32 apf_ab_wait(const struct kvm_apf_guest_fault *fault, bool sleep)
{
	apf_ab.waits++;
	apf_ab.sleeps += sleep;
	apf_ab.token = fault->token;
	if (!sleep)
		apf_ab.in_place_ok = irqs_disabled() &&
				     (preempt_count() ||
				      !IS_ENABLED(CONFIG_PREEMPT_COUNT)) &&
				     fault->cpu == smp_processor_id();
	return apf_ab.status;
}

static bool apf_ab_fixup(struct pt_regs *regs)
{
	apf_ab.fixups++;
	return apf_ab.fixup;
}

static void apf_ab_die(struct pt_regs *regs, const char *why,
		       unsigned long esr)
{
	apf_ab.dies++;
	apf_ab.why = why;
}

static bool apf_ab_uaccess_site(unsigned long pc)
{
	return apf_ab.uaccess;
}

/* Before anything else: activating a stub allocates (it may sleep). */
static void apf_ab_stubs(struct kunit *test)
{
	kunit_activate_static_stub(test, apf_arm64_wait, apf_ab_wait);
	kunit_activate_static_stub(test, apf_arm64_fixup, apf_ab_fixup);
	kunit_activate_static_stub(test, apf_arm64_die, apf_ab_die);
	kunit_activate_static_stub(test, apf_arm64_uaccess_site,
				   apf_ab_uaccess_site);
}

#define APF_AB_NP	KVM_APF_REASON_NOT_PRESENT
#define APF_AB_FAR	0x12345000UL

/*
 * An abort at @regs with fault status @fsc, KVM's busy word @busy and token
 * 0x7700, as the exception entry takes it: the token with interrupts
 * masked, the rest with them as @regs had them.  @status is what "page
 * ready" brings, @fixup whether the faulting instruction has an
 * exception-table entry.  Returns kvm_apf_guest_arm64_abort()'s answer.
 */
static bool apf_ab_run(struct kunit *test, struct pt_regs *regs, u32 fsc,
		       u32 busy, u32 status, bool fixup)
{
	unsigned long esr = ESR_ELx_EC_DABT_LOW << ESR_ELx_EC_SHIFT |
			    ESR_ELx_IL | fsc;
	struct kvm_apf_guest_abort abort;
	struct kvm_apf_shared *area;
	bool mine, handled;

	apf_ab.waits = 0;
	apf_ab.sleeps = 0;
	apf_ab.fixups = 0;
	apf_ab.dies = 0;
	apf_ab.token = 0;
	apf_ab.in_place_ok = false;
	apf_ab.why = NULL;
	apf_ab.status = status;
	apf_ab.fixup = fixup;
	apf_t.sigbus = 0;
	apf_t.sigbus_addr = 0;

	local_irq_disable();
	area = this_cpu_ptr(&apf_page.area);
	area->reason = busy;
	area->np_token = 0x7700;
	area->token = 0x42;
	kvm_apf_guest_arm64_abort_take(&abort, regs, esr);
	mine = busy == APF_AB_NP && fsc == KVM_APF_ARM64_ABORT_FSC;
	/* KVM's: the busy word is cleared once the token is read. */
	KUNIT_EXPECT_EQ(test, area->reason, mine ? 0 : busy);
	KUNIT_EXPECT_EQ(test, area->token, 0x42);
	KUNIT_EXPECT_EQ(test, abort.wait != 0, mine);
	local_irq_enable();
	handled = kvm_apf_guest_arm64_abort(&abort, regs, esr, APF_AB_FAR);
	if (apf_ab.waits)
		KUNIT_EXPECT_EQ(test, apf_ab.token, 0x7700);
	return handled;
}

/*
 * Not KVM's: another fault status (a translation fault with the busy word
 * set: SDEI delivery's, or a stale one), or KVM's fault status with no
 * busy word; left to do_mem_abort(), nothing done, the word untouched.
 */
static void guest_arm64_abort_not_kvms(struct kunit *test)
{
	struct pt_regs regs = { .pstate = PSR_MODE_EL0t };

	apf_ab_stubs(test);
	KUNIT_EXPECT_FALSE(test, apf_ab_run(test, &regs, ESR_ELx_FSC_FAULT,
					    APF_AB_NP, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ab.waits + apf_ab.dies, 0);
	KUNIT_EXPECT_FALSE(test, apf_ab_run(test, &regs,
					    KVM_APF_ARM64_ABORT_FSC, 0, 0,
					    false));
	KUNIT_EXPECT_EQ(test, apf_ab.waits + apf_ab.dies, 0);
}

/* EL0: asleep; SIGBUS for the abort's address if the page came back lost. */
static void guest_arm64_abort_user(struct kunit *test)
{
	struct pt_regs regs = { .pstate = PSR_MODE_EL0t };

	apf_ab_stubs(test);
	KUNIT_EXPECT_TRUE(test, apf_ab_run(test, &regs, KVM_APF_ARM64_ABORT_FSC,
					   APF_AB_NP, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ab.sleeps, 1);
	KUNIT_EXPECT_EQ(test, apf_t.sigbus, 0);
	KUNIT_EXPECT_TRUE(test, apf_ab_run(test, &regs, KVM_APF_ARM64_ABORT_FSC,
					   APF_AB_NP, EIO, false));
	KUNIT_EXPECT_EQ(test, apf_ab.sleeps, 1);
	KUNIT_EXPECT_EQ(test, apf_t.sigbus, 1);
	KUNIT_EXPECT_EQ(test, apf_t.sigbus_addr, APF_AB_FAR);
	KUNIT_EXPECT_EQ(test, apf_ab.fixups + apf_ab.dies, 0);
}

/* EL1, one abort: did it wait once, asleep (@sleeps 1) or in place? */
static void apf_ab_kernel(struct kunit *test, int sleeps)
{
	struct pt_regs regs = { .pstate = PSR_MODE_EL1h };

	KUNIT_EXPECT_TRUE(test, apf_ab_run(test, &regs, KVM_APF_ARM64_ABORT_FSC,
					   APF_AB_NP, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ab.waits, 1);
	KUNIT_EXPECT_EQ(test, apf_ab.sleeps, sleeps);
	if (!sleeps)
		KUNIT_EXPECT_TRUE_MSG(test, apf_ab.in_place_ok,
				      "in place with interrupts or preemption on, or on another CPU");
	KUNIT_EXPECT_EQ(test, apf_ab.fixups + apf_ab.dies, 0);
}

/*
 * EL1: asleep only at a user access by a running task that may sleep; in
 * place elsewhere: any other instruction, a task between setting its state
 * and schedule(), preemption, softirqs or page faults disabled, an RCU
 * read-side section.  With interrupts masked, an oops (KVM broke its
 * rule); preemption is on again after each.
 */
static void guest_arm64_abort_kernel_wait(struct kunit *test)
{
	struct pt_regs regs = { .pstate = PSR_MODE_EL1h | PSR_I_BIT };
	int count = preempt_count();

	apf_ab_stubs(test);
	apf_ab.uaccess = true;
	apf_ab_kernel(test, IS_ENABLED(CONFIG_PREEMPT_COUNT) ? 1 : 0);
	apf_ab.uaccess = false;
	apf_ab_kernel(test, 0);
	apf_ab.uaccess = true;

	set_current_state(TASK_INTERRUPTIBLE);
	apf_ab_kernel(test, 0);
	__set_current_state(TASK_RUNNING);

	rcu_read_lock();
	apf_ab_kernel(test, 0);
	rcu_read_unlock();

	local_bh_disable();
	apf_ab_kernel(test, 0);
	local_bh_enable();

	preempt_disable();
	apf_ab_kernel(test, 0);
	preempt_enable();

	pagefault_disable();
	apf_ab_kernel(test, 0);
	pagefault_enable();

	KUNIT_EXPECT_TRUE(test, apf_ab_run(test, &regs, KVM_APF_ARM64_ABORT_FSC,
					   APF_AB_NP, 0, false));
	KUNIT_EXPECT_EQ(test, apf_ab.waits, 0);
	KUNIT_EXPECT_EQ(test, apf_ab.dies, 1);
	KUNIT_EXPECT_STREQ(test, apf_ab.why,
			   "KVM async page fault: abort with interrupts off");
	KUNIT_EXPECT_EQ(test, preempt_count(), count);
}

/*
 * EL1, the page gone: the fixup of the faulting instruction (a user access
 * returns -EFAULT), asleep or in place alike; an oops without one.
 */
static void guest_arm64_abort_kernel_error(struct kunit *test)
{
	struct pt_regs regs = { .pstate = PSR_MODE_EL1h };

	apf_ab_stubs(test);
	apf_ab.uaccess = true;
	KUNIT_EXPECT_TRUE(test, apf_ab_run(test, &regs, KVM_APF_ARM64_ABORT_FSC,
					   APF_AB_NP, EIO, true));
	KUNIT_EXPECT_EQ(test, apf_ab.fixups, 1);
	KUNIT_EXPECT_EQ(test, apf_ab.dies, 0);

	KUNIT_EXPECT_TRUE(test, apf_ab_run(test, &regs, KVM_APF_ARM64_ABORT_FSC,
					   APF_AB_NP, EIO, false));
	KUNIT_EXPECT_EQ(test, apf_ab.fixups, 1);
	KUNIT_EXPECT_EQ(test, apf_ab.dies, 1);
	KUNIT_EXPECT_STREQ(test, apf_ab.why,
			   "KVM async page fault: page lost in kernel mode");

	apf_ab.uaccess = false;
	KUNIT_EXPECT_TRUE(test, apf_ab_run(test, &regs, KVM_APF_ARM64_ABORT_FSC,
					   APF_AB_NP, EIO, true));
	KUNIT_EXPECT_EQ(test, apf_ab.sleeps, 0);
	KUNIT_EXPECT_EQ(test, apf_ab.fixups, 1);
	KUNIT_EXPECT_EQ(test, apf_ab.dies, 0);
	KUNIT_EXPECT_EQ(test, apf_t.sigbus, 0);
}

/* The first entry of the kernel's exception table of @type, or 0. */
static unsigned long apf_ab_site(int type)
{
	extern struct exception_table_entry __start___ex_table[];
	extern struct exception_table_entry __stop___ex_table[];
	struct exception_table_entry *e;

	for (e = __start___ex_table; e < __stop___ex_table; e++)
		if (e->type == type)
			return (unsigned long)&e->insn + e->insn;
	return 0;
}

/*
 * The kernel's own user accesses are sites to sleep at
 * (EX_TYPE_UACCESS_ERR_ZERO); a kernel access that may fault
 * (EX_TYPE_KACCESS_ERR_ZERO, get_kernel_nofault()) or no entry is not.
 */
static void guest_arm64_abort_uaccess_sites(struct kunit *test)
{
	unsigned long uaccess = apf_ab_site(EX_TYPE_UACCESS_ERR_ZERO);
	unsigned long kaccess = apf_ab_site(EX_TYPE_KACCESS_ERR_ZERO);

	KUNIT_ASSERT_NE(test, uaccess, 0);
	KUNIT_EXPECT_TRUE(test, apf_arm64_uaccess_site(uaccess));
	KUNIT_ASSERT_NE(test, kaccess, 0);
	KUNIT_EXPECT_FALSE(test, apf_arm64_uaccess_site(kaccess));
	KUNIT_EXPECT_FALSE(test,
			   apf_arm64_uaccess_site((unsigned long)apf_ab_site));
}

/*
 * Suspend, hibernation and kexec (syscore), and a crash into a kdump kernel
 * turn async PF off, so that the host writes nothing into memory the next
 * kernel uses; suspend wakes what the CPU parked, resume turns it on again.
 * A crash wakes nothing: the crashed context may hold the table's locks.
 */
static void guest_arm64_syscore_crash_off(struct kunit *test)
{
	struct kvm_apf_guest_fault f;
	struct apf_cpu *c;
	unsigned int cpu;
	phys_addr_t pa;

	migrate_disable();	/* the handlers' CPU is the test's */
	cpu = smp_processor_id();
	c = this_cpu_ptr(&apf_cpu);
	pa = per_cpu_ptr_to_phys(this_cpu_ptr(&apf_page.area));
	apf_ring = false;
	apf_errors = false;
	apf_cpu_enable(cpu);
	KUNIT_EXPECT_EQ(test, apf_t.calls, 1);

	apf_test_fault_here(&f, 0x9001);
	local_irq_disable();	/* as syscore_suspend() runs it */
	KUNIT_EXPECT_EQ(test, apf_syscore.ops->suspend(apf_syscore.data), 0);
	local_irq_enable();
	KUNIT_EXPECT_EQ_MSG(test, apf_t.calls, 2, "suspend made no call");
	KUNIT_EXPECT_EQ(test, apf_t.sub[1], KVM_APF_ARM64_ENABLE);
	KUNIT_EXPECT_EQ(test, apf_t.arg[1], 0);
	KUNIT_EXPECT_FALSE(test, c->enabled);
	if (apf_t.calls == 2)	/* else nothing would wake it */
		KUNIT_EXPECT_EQ(test, kvm_apf_guest_wait(&f), 0);

	local_irq_disable();
	apf_syscore.ops->resume(apf_syscore.data);
	local_irq_enable();
	KUNIT_EXPECT_EQ_MSG(test, apf_t.calls, 3, "resume made no call");
	KUNIT_EXPECT_EQ(test, apf_t.sub[2], KVM_APF_ARM64_ENABLE);
	KUNIT_EXPECT_EQ(test, apf_t.arg[2], pa | KVM_APF_ARM64_ENABLED);
	KUNIT_EXPECT_TRUE(test, c->enabled);

	local_irq_disable();	/* as machine_crash_shutdown() runs it */
	kvm_apf_guest_arm64_crash();
	local_irq_enable();
	KUNIT_EXPECT_EQ_MSG(test, apf_t.calls, 4, "crash made no call");
	KUNIT_EXPECT_EQ(test, apf_t.sub[3], KVM_APF_ARM64_ENABLE);
	KUNIT_EXPECT_EQ(test, apf_t.arg[3], 0);
	KUNIT_EXPECT_FALSE(test, c->enabled);
	/* Off already: nothing more to say to the host. */
	kvm_apf_guest_arm64_crash();
	KUNIT_EXPECT_EQ(test, apf_t.calls, 4);
	migrate_enable();
}

static struct kunit_case kvm_apf_guest_arm64_cases[] = {
	KUNIT_CASE(guest_arm64_not_present),
	KUNIT_CASE(guest_arm64_not_present_ignored),
	KUNIT_CASE(guest_arm64_pending_full),
	KUNIT_CASE(guest_arm64_ready),
	KUNIT_CASE(guest_arm64_ready_ring),
	KUNIT_CASE(guest_arm64_enable_disable),
	KUNIT_CASE(guest_arm64_syscore_crash_off),
	KUNIT_CASE(guest_arm64_abort_not_kvms),
	KUNIT_CASE(guest_arm64_abort_user),
	KUNIT_CASE(guest_arm64_abort_kernel_wait),
	KUNIT_CASE(guest_arm64_abort_kernel_error),
	KUNIT_CASE(guest_arm64_abort_uaccess_sites),
	{}
};

static struct kunit_suite kvm_apf_guest_arm64_suite = {
	.name = "kvm_apf_guest_arm64",
	.init = apf_test_init,
	.exit = apf_test_exit,
	.test_cases = kvm_apf_guest_arm64_cases,
};

kunit_test_suite(kvm_apf_guest_arm64_suite);
