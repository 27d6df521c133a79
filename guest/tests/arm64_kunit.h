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

static int apf_test_init(struct kunit *test)
{
	memset(&apf_t, 0, sizeof(apf_t));
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
	migrate_enable();
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
	{}
};

static struct kunit_suite kvm_apf_guest_arm64_suite = {
	.name = "kvm_apf_guest_arm64",
	.init = apf_test_init,
	.test_cases = kvm_apf_guest_arm64_cases,
};

kunit_test_suite(kvm_apf_guest_arm64_suite);
