// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_regress_test: one test per historical async PF bug, named after it,
 * on every arch it applies to (Documentation/virt/kvm/apf/index.rst has
 * the table: bug, test, arches, how each was shown to fail).
 *
 * regress_2017_df_nested_not_present (x86, arm64)
 *	2017: "not present" and another notification injected together made
 *	a #DF.  "Page ready" is an interrupt now, so what is left is a second
 *	"not present" while the first is being delivered: the guest's stack
 *	is a late page, so delivering the first (x86: pushing the #PF frame;
 *	arm64: the SDEI handler's first store) faults again.  That fault must
 *	be synchronous: on x86 a second #PF on top of the first is a #DF, on
 *	arm64 a second SDEI event while the handler runs overwrites the
 *	context it saved.
 * regress_2020_cr2_nmi_clobber (x86)
 *	2020: an NMI between the "not present" #PF and the handler's reads of
 *	CR2 and the reason, whose handler faults on a late page, must not get
 *	a "not present" of its own (which rewrites CR2 and the reason).
 *	arm64 has no such window: the token is in the shared area and the
 *	SDEI handler runs with every exception masked, and a fault there is
 *	synchronous (the 2017 test above).
 * regress_2025_smm_queue_drop (x86)
 *	2025: the queue was dropped on the CR0.PG change of SMM (RSM) without
 *	a wake-all, so the task parked on it waited for ever.  An SMI comes
 *	while a fault is in flight; its "page ready" must still come.
 * regress_init_received_sleeps (x86)
 *	Ours, not upstream's: a vCPU waiting for SIPI after async PF was
 *	turned on and off from user space spun in KVM_RUN (a stale "page
 *	ready" request counted as an event); it must sleep.
 * regress_unresolvable_fault_no_loop (x86, arm64)
 *	Upstream says "page ready" for a page that could not be made present
 *	(a truncated file): the guest retries, faults, is told "not present"
 *	again, for ever, inside one KVM_RUN.  KVM_RUN must return with the
 *	error exit after one "not present" and no "ready".
 * regress_disable_withdraws_page_ready (arm64)
 *	Ours: "page ready" became an edge-triggered PPI, and lowering it did
 *	nothing (an edge has no line to lower): a "page ready" raised while
 *	the guest kept it masked stayed pending in the vGIC after the guest
 *	turned async PF off, naming a token of an enable that was over.  A
 *	disable must withdraw it, as lowering the level line did.  x86's
 *	interrupt is the guest's to mask and take, as upstream.
 * regress_error_status_ignored_no_loop (x86, arm64)
 *	The same loop one step later: a guest that opted in to error status
 *	but retries the access anyway (a guest bug, or a VMM that wrote the
 *	bit back for a guest that cannot handle it) is told "not present"
 *	and "page ready" with the error for ever, each KVM_RUN busy and no
 *	exit to the VMM.  After ERROR_REPEATS failures told in a row, its
 *	next fault must be synchronous and give the VMM the error exit.
 *
 * Every run is bounded (a watchdog signal ends a KVM_RUN that does not
 * return): a regression fails the test with what the guest saw instead of
 * hanging it.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"
#include "apf_delayed_mem.h"

#include "apf_regress_arch.h"

/* Generous: the guest runs nested under QEMU's TCG. */
#define BOUND_S		60
#define DELAY_US	100000

static int watchdog_fired;

static void watchdog_handler(int sig)
{
	__atomic_store_n(&watchdog_fired, 1, __ATOMIC_RELAXED);
}

/*
 * KVM_RUN, ended after @secs by a signal if it has not returned by then.
 * Returns its result (errno set), or -1 with errno ETIMEDOUT.
 */
static int run_bounded(struct kvm_vcpu *vcpu, unsigned int secs)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};
	/* Repeats, in case it fires just before KVM_RUN. */
	struct itimerspec its = {
		.it_value = { .tv_sec = secs },
		.it_interval = { .tv_sec = 1 },
	};
	struct sigaction sa = { .sa_handler = watchdog_handler };
	timer_t timer;
	int r;

	sev._sigev_un._tid = gettid();	/* glibc: no sigev_notify_thread_id */
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction: %d", errno);
	__atomic_store_n(&watchdog_fired, 0, __ATOMIC_RELAXED);
	TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &timer),
		    "timer_create: %d", errno);
	TEST_ASSERT(!timer_settime(timer, 0, &its, NULL), "timer_settime: %d",
		    errno);
	do {
		r = __vcpu_run(vcpu);
	} while (r == -1 && errno == EINTR &&
		 !__atomic_load_n(&watchdog_fired, __ATOMIC_RELAXED));
	timer_delete(timer);
	if (r == -1 && errno == EINTR) {
		errno = ETIMEDOUT;
		return -1;
	}
	return r;
}

/* The guest's log, for a failure message. */
static void log_guest(struct __test_metadata *_metadata, struct kvm_vm *vm)
{
	sync_global_from_guest(vm, apf_log);
	TH_LOG("guest saw: %lu not present, %lu ready (%lu wake-all), %lu unexpected",
	       apf_log.not_present, apf_log.ready, apf_log.wake_all,
	       apf_log.unexpected);
}

/* Run to the next ucall within BOUND_S; a guest assertion fails the test. */
static u64 bounded_ucall(struct __test_metadata *_metadata, struct kvm_vm *vm,
			 struct kvm_vcpu *vcpu, struct ucall *uc)
{
	int r = run_bounded(vcpu, BOUND_S);

	if (r) {
		log_guest(_metadata, vm);
		TH_LOG("KVM_RUN: %s%s", strerror(errno),
		       errno == ETIMEDOUT ? ": the guest is stuck or loops" : "");
		return UCALL_NONE;
	}
	if (get_ucall(vcpu, uc) == UCALL_ABORT) {
		log_guest(_metadata, vm);
		REPORT_GUEST_ASSERT(*uc);
	}
	return uc->cmd;
}

struct regress_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct uffd_desc *uffd;
};

/* A VM whose TEST_GPA pages (apf_delayed_mem.h) arrive @delay_us late. */
static void regress_vm_create(struct regress_vm *t, void *guest_code,
			      enum apf_mode mode, u32 delay_us)
{
	memset(&apf_log, 0, sizeof(apf_log));
	t->vm = vm_create_with_one_vcpu(&t->vcpu, guest_code);
	t->uffd = delayed_mem_add(t->vm, delay_us);
	apf_want_errors = false;
	apf_arch_vm_setup(t->vm);
	apf_mode = mode;
	sync_global_to_guest(t->vm, apf_mode);
	sync_global_to_guest(t->vm, apf_log);
}

static void regress_vm_free(struct regress_vm *t)
{
	kvm_vm_free(t->vm);
	uffd_stop_demand_paging(t->uffd);
}

/*
 * No state: a fixture for TEST_F_TIMEOUT, as the harness' default of 30 s
 * per test would end a test before its own bound (BOUND_S) reports, and for
 * every test's preamble: each needs async PF on this arch.
 */
FIXTURE(apf_regress) {};
FIXTURE_SETUP(apf_regress)
{
	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
}

FIXTURE_TEARDOWN(apf_regress) {}
#define TEST_TIMEOUT_S	300

/*
 * A counter of this layer, or @none where the kernel has no such counter
 * (the unmodified base kernel, on which these tests run as well).
 */
static u64 regress_stat(struct kvm_vcpu *vcpu, const char *name, u64 none)
{
	u64 v;

	return vcpu_stat(vcpu, name, &v) ? v : none;
}

static void guest_stack_fault(u64 stack_top, u64 gva)
{
	u64 v;

	guest_apf_enable();
	v = apf_touch_on_stack(gva, stack_top);
	GUEST_ASSERT_EQ(v, pattern(gva));
	guest_apf_disable();
	GUEST_DONE();
}

TEST_F_TIMEOUT(apf_regress, regress_2017_df_nested_not_present, TEST_TIMEOUT_S)
{
	struct regress_vm t;
	struct ucall uc;
	u64 stack_top, data;

	regress_vm_create(&t, guest_stack_fault, APF_MODE_PARK, DELAY_US);
	/* The stack: the top of late page 1; the data: late page 4. */
	stack_top = TEST_GPA + 2 * page_size;
	data = TEST_GPA + 4 * page_size;
	vcpu_args_set(t.vcpu, 2, stack_top, data);

	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(apf_log.unexpected, 0);
	/* One "not present", the data's: the stack's fault was synchronous. */
	ASSERT_EQ(apf_log.not_present, 1);
	EXPECT_EQ(apf_log_readied(apf_log.np_token[0]), 1);
	EXPECT_EQ(apf_log.np_addr[0], apf_arch_fault_addr ? data : 0);
	EXPECT_EQ(regress_stat(t.vcpu, "apf_not_present", 1), 1);
	EXPECT_EQ(uffd_served_wait(2), 2);
	TH_LOG("outcome: stack page late: 1 not present (token %#x), readied %lu, %d pages served",
	       apf_log.np_token[0], apf_log_readied(apf_log.np_token[0]),
	       uffd_served);
	regress_vm_free(&t);
}

#if defined(__x86_64__)
static void guest_load(u64 gva)
{
	u64 v;

	guest_apf_enable();
	v = READ_ONCE(*(u64 *)gva);
	GUEST_ASSERT_EQ(v, pattern(gva));
	guest_apf_disable();
	GUEST_DONE();
}

TEST_F_TIMEOUT(apf_regress, regress_2020_cr2_nmi_clobber, TEST_TIMEOUT_S)
{
	struct regress_vm t;
	struct ucall uc;
	u64 data, nmi_page;
	u32 token;

	regress_vm_create(&t, guest_load, APF_MODE_PARK, DELAY_US);
	data = TEST_GPA + 3 * page_size;
	nmi_page = TEST_GPA + 5 * page_size;
	regress_nmi_setup(t.vm, nmi_page);
	vcpu_args_set(t.vcpu, 1, data);

	/* In the "not present" handler, before it read CR2 and the reason. */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], REGRESS_SYNC_PF_WINDOW);
	ASSERT_EQ(uc.args[2], KVM_PV_REASON_PAGE_NOT_PRESENT);
	token = uc.args[1];
	vcpu_ioctl(t.vcpu, KVM_NMI, NULL);

	/* The NMI's own late page must not give a second "not present". */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_DONE)
		TH_LOG("a \"not present\" (CR2 %#lx) inside the NMI handler, token %#x pending",
		       uc.args[1], token);
	sync_global_from_guest(t.vm, apf_log);
	sync_global_from_guest(t.vm, regress_nmis);
	sync_global_from_guest(t.vm, regress_nmi_value);
	EXPECT_EQ(regress_nmis, 1);
	EXPECT_EQ(regress_nmi_value, pattern(nmi_page));
	EXPECT_EQ(apf_log.unexpected, 0);
	ASSERT_EQ(apf_log.not_present, 1);
	EXPECT_EQ(apf_log.np_token[0], token);
	EXPECT_EQ(apf_log_readied(apf_log.np_token[0]), 1);
	EXPECT_EQ(uffd_served_wait(2), 2);
	TH_LOG("outcome: NMI in the #PF window, its page synchronous: CR2 %#lx kept, 1 not present",
	       (u64)apf_log.np_token[0]);
	regress_vm_free(&t);
}

TEST_F_TIMEOUT(apf_regress, regress_2025_smm_queue_drop, TEST_TIMEOUT_S)
{
	struct regress_vm t;
	struct ucall uc;
	u64 data;
	u32 token;

	if (!kvm_has_cap(KVM_CAP_X86_SMM))
		SKIP(return, "KVM has no SMM (KVM_CAP_X86_SMM)");
	/* Late enough that the fault is still in flight through SMM. */
	regress_vm_create(&t, guest_load, APF_MODE_REPORT, 2000000);
	regress_smm_setup(t.vm, t.vcpu);
	data = TEST_GPA + 6 * page_size;
	vcpu_args_set(t.vcpu, 1, data);

	/* Told "not present", about to park: the page is not there yet. */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 1);
	token = uc.args[1];
	ASSERT_EQ(uffd_served, 0);
	ASSERT_FALSE(regress_smm_entered(t.vm));
	vcpu_ioctl(t.vcpu, KVM_SMI, NULL);

	/* SMM and RSM toggle CR0.PG; the parked task must still be woken. */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_DONE);
	EXPECT_TRUE(regress_smm_entered(t.vm));
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(apf_log.unexpected, 0);
	ASSERT_EQ(apf_log.not_present, 1);
	EXPECT_EQ(apf_log.np_token[0], token);
	EXPECT_EQ(apf_log_readied(token), 1);
	TH_LOG("outcome: SMI with token %#x in flight: SMM entered, readied %lu",
	       token, apf_log_readied(token));
	regress_vm_free(&t);
}

static void guest_never_runs(void)
{
	GUEST_FAIL("a vCPU waiting for SIPI ran");
}

/*
 * Not upstream's: a vCPU waiting for SIPI (KVM_MP_STATE_INIT_RECEIVED)
 * after async PF was turned on and off from user space, as a VMM restoring
 * and then resetting a vCPU does.  Turning it on queued a wake-all and made
 * its request; turning it off dropped the queue but left the request, and
 * kvm_vcpu_has_events() took that request for an event: KVM_RUN never
 * slept, it spun on a host CPU until a signal came (in the HALTED state the
 * vCPU enters the guest, which consumes the request; arm64's powered-off
 * vCPU is never runnable).  The vCPU's thread must sleep: its CPU time
 * while KVM_RUN waits for the watchdog is a small part of the time waited.
 */
TEST_F_TIMEOUT(apf_regress, regress_init_received_sleeps, TEST_TIMEOUT_S)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_INIT_RECEIVED };
	struct timespec w0, w1, c0, c1;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	double wall, cpu;
	u64 gpa;
	int r;

	vm = vm_create_with_one_vcpu(&vcpu, guest_never_runs);
	gpa = addr_gva2gpa(vm, vm_vaddr_alloc_page(vm));
	vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_INT, 0xf3);
	ASSERT_EQ(apf_vmm_set_enable(vcpu, gpa | KVM_ASYNC_PF_ENABLED |
				     KVM_ASYNC_PF_DELIVERY_AS_INT), 0);
	ASSERT_EQ(apf_vmm_set_enable(vcpu, 0), 0);
	vcpu_mp_state_set(vcpu, &mp);

	clock_gettime(CLOCK_MONOTONIC, &w0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	r = run_bounded(vcpu, 2);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	ASSERT_EQ(r, -1);
	ASSERT_EQ(errno, ETIMEDOUT);
	wall = (w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) / 1e9;
	cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9;
	TH_LOG("outcome: KVM_RUN in INIT_RECEIVED until the watchdog: %.2f s, %.2f s on a CPU",
	       wall, cpu);
	EXPECT_LT(cpu, wall / 4);
	vcpu_mp_state_get(vcpu, &mp);
	EXPECT_EQ(mp.mp_state, KVM_MP_STATE_INIT_RECEIVED);
	kvm_vm_free(vm);
}
#endif /* __x86_64__ */

#define BAD_SLOT	11
#define BAD_GPA		0x20000000ul
#define BAD_PAGES	4
#define BAD_PAGE	2

#define STAGE_ARMED	1
#define STAGE_READ	2

static void guest_touch_bad(u64 gva)
{
	u64 v;

	guest_apf_enable();
	GUEST_SYNC2(STAGE_ARMED, 0);
	v = READ_ONCE(*(u64 *)gva);
	GUEST_SYNC2(STAGE_READ, v);
	guest_apf_disable();
	GUEST_DONE();
}

/* A VM whose guest touches page BAD_PAGE of a shmem slot, once armed. */
struct bad_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct userspace_mem_region *region;
	off_t bad_off;		/* file offset of the bad page */
	u64 bad_gpa;
};

static void bad_vm_create(struct bad_vm *b, bool want_errors)
{
	u64 ps = getpagesize();

	memset(&apf_log, 0, sizeof(apf_log));
	b->vm = vm_create_with_one_vcpu(&b->vcpu, guest_touch_bad);
	if (want_errors)
		vm_enable_cap(b->vm, KVM_CAP_APF_FEATURES,
			      KVM_APF_FEATURE_GUEST_ERROR);
	vm_userspace_mem_region_add(b->vm, VM_MEM_SRC_SHMEM, BAD_GPA, BAD_SLOT,
				    BAD_PAGES * ps / b->vm->page_size, 0);
	virt_map(b->vm, BAD_GPA, BAD_GPA, BAD_PAGES * ps / b->vm->page_size);
	b->region = memslot2region(b->vm, BAD_SLOT);
	b->bad_off = ((char *)b->region->host_mem -
		      (char *)b->region->mmap_start) + BAD_PAGE * ps;
	b->bad_gpa = BAD_GPA + BAD_PAGE * ps;
	apf_mode = APF_MODE_PARK;
	apf_want_errors = want_errors;
	sync_global_to_guest(b->vm, apf_mode);
	apf_arch_vm_setup(b->vm);
	vcpu_args_set(b->vcpu, 1, b->bad_gpa);
}

TEST_F_TIMEOUT(apf_regress, regress_unresolvable_fault_no_loop, TEST_TIMEOUT_S)
{
	struct userspace_mem_region *region;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 np, ready, bad_gpa;
	struct bad_vm b;
	off_t bad_off;
	struct ucall uc;
	int i, r;

	bad_vm_create(&b, false);
	vm = b.vm;
	vcpu = b.vcpu;
	region = b.region;
	bad_off = b.bad_off;
	bad_gpa = b.bad_gpa;

	ASSERT_EQ(bounded_ucall(_metadata, vm, vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], STAGE_ARMED);
	np = regress_stat(vcpu, "apf_not_present", 0);
	ready = regress_stat(vcpu, "apf_ready", 0);
	/* The file shrinks under the page: it can never be made present. */
	ASSERT_EQ(ftruncate(region->fd, bad_off), 0);

	/* Twice: re-entering without a fix must not start the loop either. */
	for (i = 0; i < 2; i++) {
		r = run_bounded(vcpu, BOUND_S);
		if (r && errno == ETIMEDOUT)
			log_guest(_metadata, vm);
		ASSERT_EQ(r, -1);
		ASSERT_EQ(errno, EFAULT) TH_LOG("KVM_RUN: %s", strerror(errno));
		EXPECT_EQ(vcpu->run->exit_reason, KVM_EXIT_MEMORY_FAULT);
		EXPECT_EQ(vcpu->run->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_ERROR);
		EXPECT_EQ(vcpu->run->memory_fault.gpa, bad_gpa);
		EXPECT_NE(vcpu->run->memory_fault.token, 0);
		/* Bounded: one "not present", no "ready". */
		EXPECT_EQ(regress_stat(vcpu, "apf_not_present", np + 1), np + 1);
		EXPECT_EQ(regress_stat(vcpu, "apf_ready", ready), ready);
	}

	/* The VMM restores the file: the access completes. */
	ASSERT_EQ(ftruncate(region->fd, region->mmap_size), 0);
	ASSERT_EQ(bounded_ucall(_metadata, vm, vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], STAGE_READ);
	EXPECT_EQ(uc.args[1], 0);
	EXPECT_EQ(bounded_ucall(_metadata, vm, vcpu, &uc), UCALL_DONE);
	TH_LOG("outcome: truncated page: error exit twice; %lu not present, %lu ready in all",
	       regress_stat(vcpu, "apf_not_present", np) - np,
	       regress_stat(vcpu, "apf_ready", ready) - ready);
	kvm_vm_free(vm);
}

/* KVM_APF_ERROR_REPEATS (api.rst): failures told in a row, at most. */
#define ERROR_REPEATS	16

TEST_F_TIMEOUT(apf_regress, regress_error_status_ignored_no_loop, TEST_TIMEOUT_S)
{
	struct userspace_mem_region *region;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 bad_gpa;
	struct bad_vm b;
	struct ucall uc;
	int errors, r;
	off_t bad_off;

	if (!(kvm_check_cap(KVM_CAP_APF_FEATURES) & KVM_APF_FEATURE_GUEST_ERROR))
		SKIP(return, "no KVM_APF_FEATURE_GUEST_ERROR");
	bad_vm_create(&b, true);
	vm = b.vm;
	vcpu = b.vcpu;
	region = b.region;
	bad_off = b.bad_off;
	bad_gpa = b.bad_gpa;

	ASSERT_EQ(bounded_ucall(_metadata, vm, vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], STAGE_ARMED);
	ASSERT_EQ(ftruncate(region->fd, bad_off), 0);

	/*
	 * Each failure reaches the guest (APF_SYNC_ERROR), which ignores it
	 * and retries; four times the bound shows a loop without hanging.
	 */
	for (errors = 0; errors <= 4 * ERROR_REPEATS; errors++) {
		r = run_bounded(vcpu, BOUND_S);
		if (r)
			break;
		ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
		ASSERT_EQ(uc.args[0], APF_SYNC_ERROR);
		EXPECT_EQ(uc.args[2], EFAULT);
	}
	ASSERT_EQ(r, -1) TH_LOG("%d errors told, no exit to the VMM", errors);
	ASSERT_EQ(errno, EFAULT) TH_LOG("KVM_RUN: %s", strerror(errno));
	EXPECT_EQ(errors, ERROR_REPEATS);
	EXPECT_EQ(vcpu->run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	EXPECT_EQ(vcpu->run->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_ERROR);
	EXPECT_EQ(vcpu->run->memory_fault.gpa, bad_gpa);
	/* Synchronous: no token. */
	EXPECT_EQ(vcpu->run->memory_fault.token, 0);

	/* The VMM restores the file: the access completes. */
	ASSERT_EQ(ftruncate(region->fd, region->mmap_size), 0);
	ASSERT_EQ(bounded_ucall(_metadata, vm, vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], STAGE_READ);
	EXPECT_EQ(uc.args[1], 0);
	EXPECT_EQ(bounded_ucall(_metadata, vm, vcpu, &uc), UCALL_DONE);
	TH_LOG("outcome: error status ignored: %d errors told, then the VMM's exit",
	       errors);
	kvm_vm_free(vm);
}

#ifdef __aarch64__
#include "arch_timer.h"

#define STAGE_CONTROL	3
#define STAGE_RAISED	4
#define STAGE_OFF	5
/* The control's bound; after the withdrawal, how long nothing may come. */
#define CONTROL_WAIT_MS		(BOUND_S * 1000 / 2)
#define WITHDRAWN_WAIT_MS	1000

/* Guest: enable again with "page ready" masked; wait for its wake-all. */
static void guest_raise_masked(struct kvm_apf_shared *area)
{
	guest_ready_mask(true);
	guest_apf_reenable_masked();
	while (!READ_ONCE(area->token))
		apf_guest_compute(APF_PARK_CHUNK);
}

/*
 * Guest: unmask "page ready" and compute, interrupts on, until one more
 * "page ready" came or @ms passed (the guest's virtual counter).
 * Return: the counter's ticks until it came, or 0 if it did not.
 */
static u64 guest_unmask_and_wait(u64 ms)
{
	u64 ready = READ_ONCE(apf_log.ready), t0, now;
	u64 bound = ms * timer_get_cntfrq() / 1000;

	guest_ready_mask(false);
	t0 = timer_get_cntct(VIRTUAL);
	do {
		if (READ_ONCE(apf_log.ready) != ready)
			return timer_get_cntct(VIRTUAL) - t0 ?: 1;
		apf_guest_compute(APF_PARK_CHUNK);
		now = timer_get_cntct(VIRTUAL);
	} while (now - t0 < bound);
	return 0;
}

/*
 * Guest: take the enable's wake-all.  The control: enable again with the
 * PPI masked (a wake-all raised behind the mask), unmask: it comes, and
 * how soon.  Then the same, but async PF turned off before the unmask:
 * nothing may come in WITHDRAWN_WAIT_MS.
 */
static void guest_ready_withdrawn(void)
{
	struct kvm_apf_shared *area = apf_areas[0];
	u64 took;

	guest_apf_enable();
	while (!READ_ONCE(apf_log.wake_all))
		apf_guest_compute(APF_PARK_CHUNK);

	guest_raise_masked(area);
	took = guest_unmask_and_wait(CONTROL_WAIT_MS);
	GUEST_SYNC3(STAGE_CONTROL, took * 1000000 / timer_get_cntfrq(),
		    READ_ONCE(apf_log.wake_all));

	guest_raise_masked(area);
	GUEST_SYNC3(STAGE_RAISED, READ_ONCE(area->token),
		    regress_ready_pending());
	guest_apf_disable();
	GUEST_SYNC2(STAGE_OFF, regress_ready_pending());
	WRITE_ONCE(area->token, 0);
	guest_unmask_and_wait(WITHDRAWN_WAIT_MS);
	GUEST_DONE();
}

TEST_F_TIMEOUT(apf_regress, regress_disable_withdraws_page_ready,
	       TEST_TIMEOUT_S)
{
	struct regress_vm t;
	struct ucall uc;
	u64 control_us;

	regress_vm_create(&t, guest_ready_withdrawn, APF_MODE_PARK, DELAY_US);

	/* The control: raised behind the mask, taken once unmasked. */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], STAGE_CONTROL);
	ASSERT_EQ(uc.args[2], 2) TH_LOG("the masked wake-all was not taken");
	control_us = uc.args[1];

	/* The third wake-all is raised, the PPI masked in the guest's GIC. */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], STAGE_RAISED);
	EXPECT_EQ(uc.args[1], APF_WAKE_ALL);
	EXPECT_TRUE(uc.args[2]) TH_LOG("not pending in the vGIC");

	/* Async PF off: the PPI's pending bit (GICR_ISPENDR0) is clear. */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], STAGE_OFF);
	EXPECT_FALSE(uc.args[1]) TH_LOG("still pending after the disable");

	/* Off, then unmasked: the raise was withdrawn, nothing comes. */
	ASSERT_EQ(bounded_ucall(_metadata, t.vm, t.vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(apf_log.unexpected, 0);
	EXPECT_EQ(apf_log.ready, 2);
	EXPECT_EQ(apf_log.wake_all, 2);
	TH_LOG("outcome: unmasked, the control's wake-all came in %lu us; withdrawn: %lu in %d ms",
	       control_us, apf_log.ready - 2, WITHDRAWN_WAIT_MS);
	regress_vm_free(&t);
}
#endif /* __aarch64__ */

TEST_HARNESS_MAIN
