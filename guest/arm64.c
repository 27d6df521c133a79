// SPDX-License-Identifier: GPL-2.0
/*
 * KVM asynchronous page faults, arm64 guest side.
 *
 * At boot, if KVM's vendor-hypervisor services list the async PF call
 * (ARM_SMCCC_KVM_FUNC_APF), INFO names the SDEI event that says "page not
 * present" and the PPI that says "page ready".  The event is registered
 * through Linux's SDEI driver (so the host must describe SDEI, with the HVC
 * conduit, in DT or ACPI), the PPI through the interrupt controller; then
 * each CPU enables async PF on its own shared area, and turns it off when
 * it goes offline, the system reboots, suspends or hibernates (syscore), or
 * the kernel crashes into a kdump kernel, so that the host never writes into
 * memory the next kernel uses.
 *
 * "Not present" is taken on the faulting instruction at EL0.  Its handler
 * runs like an NMI and cannot sleep: it queues task work on the faulting
 * task.  The SDEI driver then resumes that task through its IRQ vector, so
 * the work runs before the task returns to user space, and parks it by
 * token (linux/kvm_apf_guest.h) while the CPU runs other tasks.  "Page
 * ready" wakes it; the access is retried.  Where the host offers it (INFO),
 * "not present" comes instead as a synchronous abort of the access, at EL0
 * and at EL1 with interrupts on, with no SDEI event and no exit to leave
 * it: the exception entry takes the token before it unmasks interrupts
 * (kvm_apf_guest_arm64_abort_take(); kernel code that cannot sleep waits
 * in place there), then the task sleeps (kvm_apf_guest_arm64_abort()).
 * If "page ready" carried an error status, the task gets SIGBUS
 * (BUS_ADRERR) for the address the host reported, instead of retrying an
 * access that cannot succeed.  Where the
 * host offers batched "page ready" (INFO), each CPU opts in: the PPI then
 * says the ring after its area holds completions, all taken before the ACK.
 */
#define pr_fmt(fmt) "kvm-apf: " fmt

#include <linux/acpi.h>
#include <linux/arm-smccc.h>
#include <linux/arm_sdei.h>
#include <linux/extable.h>
#include <linux/cpuhotplug.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/kvm_apf_guest.h>
#include <linux/kvm_para.h>
#include <linux/of.h>
#include <linux/of_irq.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/sched/signal.h>
#include <linux/syscore_ops.h>
#include <linux/task_work.h>
#include <asm/asm-extable.h>
#include <asm/esr.h>
#include <asm/hypervisor.h>
#include <asm/proc-fns.h>
#include <asm/system_misc.h>
#include <asm/kvm.h>
#include <kunit/static_stub.h>

/*
 * "Not present"s whose task has not yet run its task work, per CPU.  The
 * host makes a fault async only at EL0, so one CPU holds one such fault per
 * task that was preempted on its way back to user space: a few.  With
 * none free the access is simply retried, and the host waits for the page.
 */
#define APF_PENDING	16

struct apf_pending {
	struct callback_head work;
	struct kvm_apf_guest_fault fault;
	u64 addr;
	unsigned long *busy;
	unsigned int slot;
};

struct apf_cpu {
	struct apf_pending pending[APF_PENDING];
	unsigned long busy;
	bool enabled;
};

/* The shared area and, for batched "page ready", the ring after it. */
struct apf_page {
	struct kvm_apf_shared area;
	struct kvm_apf_ready_ring ring;
};

static DEFINE_PER_CPU(struct apf_page, apf_page) __aligned(SZ_4K);
static DEFINE_PER_CPU(struct apf_cpu, apf_cpu);

static u32 apf_event;
static int apf_irq;
static bool apf_errors;		/* the host lets this guest see errors */
static bool apf_ring;		/* the host offers batched "page ready" */
static bool apf_abort;		/* "not present" as an abort, not SDEI */
static enum cpuhp_state apf_hp_state;

static unsigned long apf_smccc(unsigned long sub, unsigned long arg,
			       struct arm_smccc_res *res)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_smccc, sub, arg, res);
	arm_smccc_1_1_invoke(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, sub, arg,
			     res);
	return res->a0;
}

static void apf_sigbus(u64 addr)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_sigbus, addr);
	force_sig_fault(SIGBUS, BUS_ADRERR, (void __user *)addr);
}

/* In the SDEI handler: this CPU's only taker of its slots. */
static struct apf_pending *apf_pending_get(void)
{
	struct apf_cpu *c = this_cpu_ptr(&apf_cpu);
	unsigned int i;

	for (i = 0; i < APF_PENDING; i++)
		if (!test_and_set_bit(i, &c->busy)) {
			c->pending[i].busy = &c->busy;
			c->pending[i].slot = i;
			return &c->pending[i];
		}
	return NULL;
}

/* Anywhere: the task may have moved to another CPU. */
static void apf_pending_put(struct apf_pending *p)
{
	clear_bit(p->slot, p->busy);
}

/* Task work, on the way back to user space: park until the page is ready. */
static void apf_park(struct callback_head *work)
{
	struct apf_pending *p = container_of(work, struct apf_pending, work);
	struct kvm_apf_guest_fault fault = p->fault;
	u64 addr = p->addr;

	apf_pending_put(p);
	if (kvm_apf_guest_wait(&fault))
		apf_sigbus(addr);
}

/* The SDEI event: "page not present" for the access @regs was making. */
static int apf_not_present(u32 event, struct pt_regs *regs, void *arg)
{
	struct kvm_apf_shared *area = this_cpu_ptr(&apf_page.area);
	struct apf_pending *p;
	u64 addr;
	u32 token;

	if (READ_ONCE(area->reason) != KVM_APF_REASON_NOT_PRESENT)
		return 0;
	token = READ_ONCE(area->np_token);
	addr = READ_ONCE(area->np_addr);
	WRITE_ONCE(area->reason, 0);

	/* Only EL0 faults are asked for; anything else just retries. */
	if (!user_mode(regs))
		return 0;
	p = apf_pending_get();
	if (!p)
		return 0;
	kvm_apf_guest_fault_init(&p->fault, token);
	p->addr = addr;
	init_task_work(&p->work, apf_park);
	if (task_work_add(current, &p->work, TWA_NMI_CURRENT))
		apf_pending_put(p);
	return 0;
}

/* Wait for the next interrupt and let it in (interrupts masked). */
static void apf_arm64_halt(void)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_arm64_halt);
	cpu_do_idle();
	local_irq_enable();
	local_irq_disable();
}

/* Asleep, or (!@sleep) in place on the CPU told, until the page is ready. */
static u32 apf_arm64_wait(const struct kvm_apf_guest_fault *fault, bool sleep)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_arm64_wait, fault, sleep);
	return sleep ? kvm_apf_guest_wait(fault) :
		       kvm_apf_guest_wait_in_place(fault, apf_arm64_halt);
}

static bool apf_arm64_fixup(struct pt_regs *regs)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_arm64_fixup, regs);
	return fixup_exception(regs);
}

static void apf_arm64_die(struct pt_regs *regs, const char *why,
			  unsigned long esr)
{
	KUNIT_STATIC_STUB_REDIRECT(apf_arm64_die, regs, why, esr);
	die(why, regs, esr);
}

/* Is @pc a user access (copy_{to,from}_user(), get_user(), ...)? */
static bool apf_arm64_uaccess_site(unsigned long pc)
{
	const struct exception_table_entry *e;

	KUNIT_STATIC_STUB_REDIRECT(apf_arm64_uaccess_site, pc);
	e = search_exception_tables(pc);
	return e && e->type == EX_TYPE_UACCESS_ERR_ZERO;
}

/**
 * kvm_apf_guest_arm64_abort_take() - is this abort KVM's "page not present"?
 * @abort: filled in: whether it is, with the fault, and how it waits
 * @regs: the registers at the abort
 * @esr: its syndrome
 *
 * KVM's abort has fault status %KVM_APF_ARM64_ABORT_FSC with the busy word
 * (@reason of this CPU's area) set; this reads the token, then clears the
 * word, which lets KVM send the next.  A user task will sleep, and so will
 * kernel code where it may (a user access with nothing forbidding it,
 * kvm_apf_guest_kernel_may_sleep()); other kernel code waits here, in
 * place, interrupts masked but while halted and preemption off, for the
 * "page ready" comes to this CPU and must not come in before the wait.
 * Called from the exception entry (el0_da(), el0_ia(), el1_abort()) before
 * interrupts are unmasked: the area is this CPU's, and a task preempted
 * could read another CPU's.
 */
void kvm_apf_guest_arm64_abort_take(struct kvm_apf_guest_abort *abort,
				    struct pt_regs *regs, unsigned long esr)
{
	struct kvm_apf_shared *area = this_cpu_ptr(&apf_page.area);

	abort->wait = 0;
	if ((esr & ESR_ELx_FSC) != KVM_APF_ARM64_ABORT_FSC ||
	    READ_ONCE(area->reason) != KVM_APF_REASON_NOT_PRESENT)
		return;
	kvm_apf_guest_fault_init(&abort->fault, READ_ONCE(area->np_token));
	/* The token read before the busy word is free for the next abort. */
	smp_store_release(&area->reason, 0);

	if (user_mode(regs) ||
	    (interrupts_enabled(regs) && kvm_apf_guest_kernel_may_sleep() &&
	     apf_arm64_uaccess_site(regs->pc))) {
		abort->wait = KVM_APF_GUEST_ABORT_SLEEP;
		return;
	}
	abort->wait = KVM_APF_GUEST_ABORT_IN_PLACE;
	/* KVM broke its rule: left for kvm_apf_guest_arm64_abort() to oops. */
	if (!interrupts_enabled(regs))
		return;
	preempt_disable();
	abort->status = apf_arm64_wait(&abort->fault, false);
	preempt_enable();	/* no schedule() here: interrupts are masked */
}

/**
 * kvm_apf_guest_arm64_abort() - wait for the page of KVM's abort
 * @abort: from kvm_apf_guest_arm64_abort_take()
 * @regs: the registers at the abort
 * @esr: its syndrome
 * @far: its address (0 where KVM had none)
 *
 * The task sleeps until "page ready" (or the CPU waited already, in
 * place); then the access is retried on return.  If the page came back
 * with an error, a user task gets SIGBUS (BUS_ADRERR) for @far, and kernel
 * code the exception-table fixup of the faulting instruction (a user access
 * returns -EFAULT), or an oops where there is none.  KVM takes the abort in
 * kernel mode only with interrupts on: with them off, an oops.  Called from
 * the exception entry once interrupts are as the aborted context had them.
 *
 * Return: false if the abort was not KVM's, for do_mem_abort(); true once
 * handled.
 */
bool kvm_apf_guest_arm64_abort(struct kvm_apf_guest_abort *abort,
			       struct pt_regs *regs, unsigned long esr,
			       unsigned long far)
{
	u32 status;

	if (!abort->wait)
		return false;
	if (abort->wait == KVM_APF_GUEST_ABORT_SLEEP) {
		status = apf_arm64_wait(&abort->fault, true);
	} else if (interrupts_enabled(regs)) {
		status = abort->status;
	} else {
		apf_arm64_die(regs, "KVM async page fault: abort with interrupts off",
			      esr);
		return true;
	}
	if (!status)
		return true;
	if (user_mode(regs))
		apf_sigbus(far);
	else if (!apf_arm64_fixup(regs))
		apf_arm64_die(regs, "KVM async page fault: page lost in kernel mode",
			      esr);
	return true;
}

/* The PPI: "page ready". */
static irqreturn_t apf_ready(int irq, void *dev)
{
	struct kvm_apf_shared *area = this_cpu_ptr(&apf_page.area);
	struct arm_smccc_res res;
	u32 token, status;

	if (apf_ring) {
		/* The batch, then the one ACK (the host posts nothing before). */
		kvm_apf_guest_ring_drain(this_cpu_ptr(&apf_page.ring),
					 apf_errors);
		apf_smccc(KVM_APF_ARM64_ACK, 0, &res);
		return IRQ_HANDLED;
	}
	token = READ_ONCE(area->token);
	status = apf_errors ? READ_ONCE(area->status) : 0;
	WRITE_ONCE(area->status, 0);
	WRITE_ONCE(area->token, 0);
	/* Cleared before the ACK, after which the host may write the next. */
	apf_smccc(KVM_APF_ARM64_ACK, 0, &res);
	if (token)
		kvm_apf_guest_wake(token, status);
	return IRQ_HANDLED;
}

/* On @cpu itself: turn async PF on, or off (waking what it parked). */
static int apf_cpu_enable(unsigned int cpu)
{
	struct apf_page *page = this_cpu_ptr(&apf_page);
	unsigned long ctrl = KVM_APF_ARM64_ENABLED;
	struct arm_smccc_res res;

	/* A fresh area, and an empty ring (what is left there is dropped). */
	memset(page, 0, sizeof(*page));
	if (apf_errors)
		ctrl |= KVM_APF_ARM64_ERROR_STATUS;
	if (apf_ring)
		ctrl |= KVM_APF_ARM64_READY_RING;
	if (apf_abort)
		ctrl |= KVM_APF_ARM64_DELIVERY_AS_ABORT;
	if (apf_smccc(KVM_APF_ARM64_ENABLE,
		      per_cpu_ptr_to_phys(page) | ctrl, &res)) {
		pr_warn("CPU%u: enable refused (%ld)\n", cpu, (long)res.a0);
		return 0;	/* the CPU works without async PF */
	}
	this_cpu_ptr(&apf_cpu)->enabled = true;
	return 0;
}

/* On this CPU: turn async PF off; true if it was on. */
static bool apf_cpu_off(void)
{
	struct arm_smccc_res res;

	if (!this_cpu_ptr(&apf_cpu)->enabled)
		return false;
	apf_smccc(KVM_APF_ARM64_ENABLE, 0, &res);
	this_cpu_ptr(&apf_cpu)->enabled = false;
	return true;
}

static int apf_cpu_disable(unsigned int cpu)
{
	/* The host dropped this CPU's faults: nothing will say "ready". */
	if (apf_cpu_off())
		kvm_apf_guest_wake_cpu(cpu);
	return 0;
}

static int apf_cpu_online(unsigned int cpu)
{
	enable_percpu_irq(apf_irq, IRQ_TYPE_NONE);
	return apf_cpu_enable(cpu);
}

static int apf_cpu_offline(unsigned int cpu)
{
	apf_cpu_disable(cpu);
	disable_percpu_irq(apf_irq);
	return 0;
}

static void apf_cpu_disable_ipi(void *unused)
{
	apf_cpu_disable(smp_processor_id());
}

/* Before a reboot or kexec: the host must not write into the next kernel. */
static int apf_reboot(struct notifier_block *nb, unsigned long code,
		      void *unused)
{
	on_each_cpu(apf_cpu_disable_ipi, NULL, 1);
	return NOTIFY_DONE;
}

static struct notifier_block apf_reboot_nb = {
	.notifier_call = apf_reboot,
};

/*
 * Suspend, hibernation and a kexec that preserves context run these on the
 * last CPU online, interrupts off; the others went offline through hotplug.
 * The image a hibernation restores, or the kernel kexec starts, must not be
 * written by the host into memory this kernel registered.
 */
static int apf_syscore_suspend(void *unused)
{
	apf_cpu_disable(smp_processor_id());
	return 0;
}

static void apf_syscore_resume(void *unused)
{
	apf_cpu_enable(smp_processor_id());
}

static const struct syscore_ops apf_syscore_ops = {
	.suspend = apf_syscore_suspend,
	.resume = apf_syscore_resume,
};

static struct syscore apf_syscore = {
	.ops = &apf_syscore_ops,
};

/**
 * kvm_apf_guest_arm64_crash() - the kernel crashes into a kdump kernel
 *
 * From machine_crash_shutdown(), on the crashing CPU, interrupts off: the
 * host must not write "page ready"s into the crashed kernel's memory nor
 * raise its notifications in the kdump kernel, which runs on this CPU.
 * Wakes nothing (the crashed context may hold the table's locks).  The
 * other CPUs stop; the host resets them when the kdump kernel starts them
 * again (PSCI CPU_ON), as KVM resets x86's async PF MSR on INIT.
 */
void kvm_apf_guest_arm64_crash(void)
{
	apf_cpu_off();
}

/*
 * A Linux interrupt for the PPI with GIC INTID @intid: edge-triggered, as
 * KVM configures it (so that the GIC driver's write of the type sticks).
 */
static int apf_map_ppi(u32 intid)
{
	struct irq_fwspec fwspec = {
		.param_count = 3,
		.param = { 1 /* PPI */, intid - 16, IRQ_TYPE_EDGE_RISING },
	};
	struct device_node *gic;
	int irq;

#ifdef CONFIG_ACPI
	if (!acpi_disabled)
		return acpi_register_gsi(NULL, intid, ACPI_EDGE_SENSITIVE,
					 ACPI_ACTIVE_HIGH);
#endif
	gic = of_irq_find_parent(of_root);
	if (!gic)
		return -ENODEV;
	fwspec.fwnode = of_fwnode_handle(gic);
	irq = irq_create_fwspec_mapping(&fwspec);
	of_node_put(gic);
	return irq ? irq : -ENXIO;
}

static int __init kvm_apf_arm64_init(void)
{
	struct arm_smccc_res res;
	int ret;

	if (!kvm_arm_hyp_service_available(ARM_SMCCC_KVM_FUNC_APF))
		return 0;
	if (apf_smccc(KVM_APF_ARM64_INFO, 0, &res) ||
	    res.a3 < 16 || res.a3 > 31) {
		pr_warn("INFO failed or names no PPI (%ld, %lu)\n",
			(long)res.a0, res.a3);
		return -ENODEV;
	}
	apf_errors = res.a1 & KVM_APF_ARM64_INFO_ERROR_STATUS;
	apf_ring = res.a1 & KVM_APF_ARM64_INFO_READY_RING;
	/*
	 * The abort, where offered, unless interrupts are masked by priority
	 * (pseudo-NMI): KVM would then take it where "page ready" cannot
	 * come in, and the CPU could not wait for it.
	 */
	apf_abort = (res.a1 & KVM_APF_ARM64_INFO_ABORT) &&
		    !system_uses_irq_prio_masking();
	apf_event = res.a2;

	apf_irq = apf_map_ppi(res.a3);
	if (apf_irq < 0) {
		pr_warn("no interrupt for PPI %lu: %d\n", res.a3, apf_irq);
		return apf_irq;
	}
	ret = request_percpu_irq(apf_irq, apf_ready, "kvm-apf-ready",
				 &apf_page);
	if (ret)
		return ret;
	/* With the abort, no SDEI event (the host need not describe SDEI). */
	if (!apf_abort) {
		ret = sdei_event_register(apf_event, apf_not_present, NULL);
		if (ret) {
			pr_info("SDEI event %#x not registered (%d): no async PF\n",
				apf_event, ret);
			goto free_irq;
		}
		ret = sdei_event_enable(apf_event);
		if (ret)
			goto unregister;
	}
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "virt/kvm_apf:online",
				apf_cpu_online, apf_cpu_offline);
	if (ret < 0)
		goto unregister;
	apf_hp_state = ret;
	register_reboot_notifier(&apf_reboot_nb);
	register_syscore(&apf_syscore);
	if (apf_abort)
		pr_info("async page faults on: abort, PPI %lu%s\n", res.a3,
			apf_errors ? ", error status" : "");
	else
		pr_info("async page faults on: SDEI event %#x, PPI %lu%s\n",
			apf_event, res.a3, apf_errors ? ", error status" : "");
	return 0;

unregister:
	if (!apf_abort)
		sdei_event_unregister(apf_event);
free_irq:
	free_percpu_irq(apf_irq, &apf_page);
	return ret;
}
device_initcall(kvm_apf_arm64_init);

#ifdef CONFIG_KVM_APF_GUEST_KUNIT_TEST
#include "tests/arm64_kunit.h"
#endif
