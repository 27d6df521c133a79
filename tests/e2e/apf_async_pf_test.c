// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_async_pf_test: async page faults seen from a real guest.
 *
 * Guest memory is backed by a userfaultfd whose handler answers each fault
 * late (APF_DELAY_US).  The guest enables async PF and reads every page;
 * each first touch must give exactly one "not present" with a token, the
 * guest runs other work while it waits, exactly one "page ready" with the
 * same token follows, the guest acknowledges it, and the data is right.
 * Each page so made async is mapped when its "page ready" is delivered: the
 * guest's retry takes no second stage-2 fault.  Then: async PF disabled
 * while a fault is in flight, a VM destroyed with a fault outstanding, and
 * two vCPUs faulting at once, each told of its own faults only.
 * One source for every arch (apf_guest.h).
 */
#include <pthread.h>
#include <time.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"
#include "apf_delayed_mem.h"
#include "apf_exit_trace.h"

#define APF_DELAY_US	20000

struct apf_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct uffd_desc *uffd;
};

static void apf_vm_create(struct apf_vm *t, enum apf_mode mode, u32 delay_us)
{
	t->vm = vm_create_with_one_vcpu(&t->vcpu, delayed_mem_guest_read);
	t->uffd = delayed_mem_add(t->vm, delay_us);
	apf_arch_vm_setup(t->vm);
	apf_mode = mode;
	sync_global_to_guest(t->vm, apf_mode);
	vcpu_args_set(t->vcpu, 3, TEST_GPA, (u64)TEST_PAGES, (u64)page_size);
}

static void apf_vm_free(struct apf_vm *t)
{
	if (t->vm)
		kvm_vm_free(t->vm);
	uffd_stop_demand_paging(t->uffd);
}

/*
 * Each page served @delay_us after its first touch, but never before the
 * guest worked while parked on it (delayed_mem_serve_after_work()): with
 * no delay, "page ready" would otherwise race the guest's first unit of
 * work.
 */
static void expect_pages_async(struct __test_metadata *_metadata,
			       u32 delay_us)
{
	struct apf_vm t = {};
	struct ucall uc;

	apf_vm_create(&t, APF_MODE_PARK, delay_us);
	delayed_mem_serve_after_work(t.vm);
	ASSERT_EQ(run_to_ucall(t.vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(t.vm, apf_log);

	expect_one_async_fault_per_page(_metadata, t.vcpu);
	/* What the guest saw (the same on every arch), then how fast. */
	TH_LOG("outcome: %d pages, %lu np, %lu ready (%lu wake-all), token %#x, %lu bad",
	       TEST_PAGES, apf_log.not_present, apf_log.ready, apf_log.wake_all,
	       apf_log.np_token[0], apf_log.unexpected);
	TH_LOG("speed: %lu work units done while parked", apf_log.work);
	apf_vm_free(&t);
}

TEST(delayed_pages_are_async)
{
	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	expect_pages_async(_metadata, APF_DELAY_US);
}

/* A page the VMM has at once still goes async: the guest parks first. */
TEST(undelayed_pages_are_async)
{
	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	expect_pages_async(_metadata, 0);
}

/*
 * "Page ready" comes with the page mapped (x86 and arm64 alike: the backend's
 * prefault): the only stage-2 fault on each page is the one KVM made async,
 * and the guest's retry of the access after "page ready" takes none.  KVM's
 * own tracepoint (apf_arch_s2_fault_event) counts the faults on each page.
 */
TEST(ready_page_mapped_before_retry)
{
	unsigned int faults[TEST_PAGES];
	struct apf_vm t = {};
	struct ucall uc;
	long lost;
	int i;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	apf_vm_create(&t, APF_MODE_PARK, APF_DELAY_US);
	ASSERT_TRUE(gpa_trace_start(apf_arch_s2_fault_event))
		TH_LOG("cannot trace %s", apf_arch_s2_fault_event);
	ASSERT_EQ(run_to_ucall(t.vcpu, &uc), UCALL_DONE);
	lost = gpa_trace_count(apf_arch_s2_fault_event, apf_arch_s2_fault_gpa,
			       TEST_GPA, TEST_PAGES, faults);
	sync_global_from_guest(t.vm, apf_log);

	/*
	 * Every page went async (not the timing of the guest's work while
	 * parked: delayed_pages_are_async checks that).
	 */
	EXPECT_EQ(uffd_served_wait(TEST_PAGES), TEST_PAGES);
	EXPECT_EQ(apf_log.unexpected, 0);
	ASSERT_EQ(apf_log.not_present, TEST_PAGES);
	ASSERT_EQ(lost, 0);
	for (i = 0; i < TEST_PAGES; i++) {
		unsigned int n = faults[i];

		EXPECT_EQ(n, 1)
			TH_LOG("page %d: %u stage-2 faults, 1 expected", i, n);
	}
	TH_LOG("outcome: %d pages, %lu np, %lu ready, stage-2 faults on page 0: %u",
	       TEST_PAGES, apf_log.not_present, apf_log.ready, faults[0]);
	apf_vm_free(&t);
}

/*
 * The guest turns async PF off inside its first "not present": the fault is
 * then resolved synchronously, no "ready" ever comes for that token, and the
 * remaining pages fault synchronously (no more "not present").
 */
TEST(disable_while_in_flight)
{
	struct apf_vm t = {};
	struct ucall uc;
	u64 j;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	apf_vm_create(&t, APF_MODE_DISABLE, APF_DELAY_US);
	ASSERT_EQ(run_to_ucall(t.vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(t.vm, apf_log);

	EXPECT_EQ(uffd_served_wait(TEST_PAGES), TEST_PAGES);
	EXPECT_EQ(apf_log.unexpected, 0);
	ASSERT_EQ(apf_log.not_present, 1);
	for (j = 0; j < apf_log.ready; j++)
		EXPECT_NE(apf_log.ready_token[j], apf_log.np_token[0]);
	TH_LOG("outcome: 1 not-present (token %#x), no ready for it, %d pages served",
	       apf_log.np_token[0], TEST_PAGES);
	apf_vm_free(&t);
}

/*
 * The VM goes away while a fault is outstanding (its page still on the way):
 * teardown waits for the fault-in, frees everything and does not hang or
 * WARN (the harness checks the kernel log).
 */
TEST(destroy_with_fault_outstanding)
{
	const u32 delay_us = 300000;
	struct apf_vm t = {};
	struct timespec a, b;
	struct ucall uc;
	double secs;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	apf_vm_create(&t, APF_MODE_REPORT, delay_us);
	ASSERT_EQ(run_to_ucall(t.vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 1);	/* "not present" received, page pending */
	ASSERT_EQ(uffd_served, 0);

	/* The selftests library unmaps guest memory first, then closes. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	kvm_vm_free(t.vm);
	t.vm = NULL;
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	TH_LOG("outcome: VM destroyed with 1 fault outstanding");
	TH_LOG("speed: destroyed %.3f s after the fault went async", secs);
	/* Bounded by the outstanding page's delay, not by anything else. */
	EXPECT_LT(secs, 10.0);
	apf_vm_free(&t);
}

/*
 * Two vCPUs at once, each with its own shared area, each reading its own
 * half of the delayed pages: each vCPU is told "not present" for its own
 * faults only, and "page ready" for exactly those tokens, in its own area;
 * nothing arrives on the other vCPU.
 */
TEST(two_vcpus_apart)
{
	const u64 half = TEST_PAGES / 2;
	struct kvm_vcpu *vcpus[2];
	struct apf_vcpu_log *log;
	struct uffd_desc *uffd;
	struct kvm_vm *vm;
	pthread_t thread;
	u64 i, j, v, seen;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	vm = vm_create_with_vcpus(2, delayed_mem_guest_read, vcpus);
	uffd = delayed_mem_add(vm, APF_DELAY_US);
	apf_arch_vm_setup(vm);
	apf_mode = APF_MODE_PARK;
	sync_global_to_guest(vm, apf_mode);
	for (v = 0; v < 2; v++)
		vcpu_args_set(vcpus[v], 3, TEST_GPA + v * half * page_size, half,
			      (u64)page_size);
	ASSERT_EQ(pthread_create(&thread, NULL, run_to_done, vcpus[1]), 0);
	run_to_done(vcpus[0]);
	ASSERT_EQ(pthread_join(thread, NULL), 0);
	sync_global_from_guest(vm, apf_logs);

	EXPECT_EQ(uffd_served_wait(TEST_PAGES), TEST_PAGES);
	for (v = 0; v < 2; v++) {
		log = &apf_logs[v];
		EXPECT_EQ(log->unexpected, 0);
		EXPECT_EQ(log->errors, 0);
		/* Its own pages only, each async once; the wake-all of enable. */
		ASSERT_EQ(log->not_present, half) TH_LOG("vCPU %lu", v);
		EXPECT_EQ(log->wake_all, 1) TH_LOG("vCPU %lu", v);
		ASSERT_EQ(log->ready, half + 1) TH_LOG("vCPU %lu", v);
		for (i = 0; i < half; i++) {
			seen = 0;
			for (j = 0; j < log->ready; j++)
				seen += log->ready_token[j] == log->np_token[i];
			EXPECT_EQ(seen, 1) TH_LOG("vCPU %lu token %#x readied %lu times",
						  v, log->np_token[i], seen);
		}
	}
	TH_LOG("outcome: 2 vCPUs, %lu + %lu np, %lu + %lu ready, %lu bad",
	       apf_logs[0].not_present, apf_logs[1].not_present,
	       apf_logs[0].ready, apf_logs[1].ready,
	       apf_logs[0].unexpected + apf_logs[1].unexpected);
	kvm_vm_free(vm);
	uffd_stop_demand_paging(uffd);
}

TEST_HARNESS_MAIN
