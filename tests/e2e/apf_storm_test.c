// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_storm_test: the storm guard, and the exit storm it stops.
 *
 * The 2021 bug: a guest that enabled "page ready" by interrupt and then
 * could not take it (its LAPIC software-disabled, the vector masked) made
 * KVM spin: completed faults waited on the done list, a non-empty done
 * list made the halted vCPU runnable, and every halt (or, for a fault
 * retried while in flight, every artificial halt) returned at once, about
 * a million exits a second as VMM users still report on AMD.  Meanwhile
 * KVM kept telling the guest "not present" for faults whose "page ready"
 * could never come.
 *
 * Here the guest keeps "page ready" from being taken (x86: LAPIC off;
 * arm64: PPI masked), or takes it and never acknowledges it, and touches
 * PHASE1_PAGES delayed pages.  Each "not present" makes it idle once and
 * retry the access, as a guest whose parked task never wakes would go on
 * with other work.  Expected: a handful of exits per page, not a storm;
 * after KVM_APF_STORM_STRIKES "not present" while a completion waited the
 * storm guard turns on (apf_storm_guard counts it) and the remaining pages
 * are synchronous; once the guest takes "page ready" again (unmasks and
 * acks, or re-enables async PF) every held token is readied exactly once
 * and faults are async again.  One source for every arch (apf_guest.h).
 */
#define TEST_PAGES	48
#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"
#include "apf_delayed_mem.h"

#define PHASE1_PAGES	40
#define STORM_DELAY_US	200000
/* KVM_APF_STORM_STRIKES (Documentation/virt/kvm/apf/api.rst) */
#define STORM_STRIKES	16
/*
 * Exits per phase-1 page that a run without a storm stays under: the fault,
 * the idle, the retry, and on arm64 the SDEI and GIC calls (about 8).  The
 * storm makes thousands per page (one per halt for the page's delay).
 */
#define EXITS_PER_PAGE	25

static void guest_touch(u64 gva, u64 first, u64 last, u64 page_size)
{
	u64 i;

	for (i = first; i < last; i++) {
		u64 addr = gva + i * page_size;

		GUEST_ASSERT_EQ(READ_ONCE(*(u64 *)addr), pattern(addr));
	}
}

static void guest_code(u64 gva, u64 page_size, u64 never_ack)
{
	u64 ready;

	guest_apf_enable();
	/* The enable's wake-all first (acked unless never_ack). */
	while (!READ_ONCE(apf_log.wake_all))
		apf_guest_compute(APF_PARK_CHUNK);
	if (!never_ack)
		guest_ready_mask(true);

	WRITE_ONCE(apf_mode, APF_MODE_IDLE);
	guest_touch(gva, 0, PHASE1_PAGES, page_size);
	GUEST_SYNC(1);

	/* Healthy again: every held "page ready" comes, async PF resumes. */
	ready = READ_ONCE(apf_log.ready);
	if (never_ack) {
		WRITE_ONCE(apf_no_ack, false);
		guest_apf_reenable();
	} else {
		guest_ready_mask(false);
	}
	while (READ_ONCE(apf_log.ready) == ready)
		apf_guest_compute(APF_PARK_CHUNK);
	WRITE_ONCE(apf_mode, APF_MODE_PARK);
	guest_touch(gva, PHASE1_PAGES, TEST_PAGES, page_size);
	GUEST_DONE();
}

static void run_storm(struct __test_metadata *_metadata, bool never_ack)
{
	u64 exits = 0, trips, stat, np, i;
	struct kvm_vcpu *vcpu;
	struct uffd_desc *uffd;
	struct kvm_vm *vm;
	struct ucall uc;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	uffd = delayed_mem_add(vm, STORM_DELAY_US);
	apf_arch_vm_setup(vm);
	apf_no_ack = never_ack;
	sync_global_to_guest(vm, apf_no_ack);
	vcpu_args_set(vcpu, 3, TEST_GPA, (u64)page_size, (u64)never_ack);

	ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_SYNC);
	sync_global_from_guest(vm, apf_log);
	np = apf_log.not_present;
	ASSERT_TRUE(vcpu_stat(vcpu, "exits", &exits));
	TH_LOG("phase 1: %d pages, %lu not present, %lu exits (%lu a page)",
	       PHASE1_PAGES, np, exits, exits / PHASE1_PAGES);
	EXPECT_EQ(uffd_served, PHASE1_PAGES);
	EXPECT_EQ(apf_log.unexpected, 0);
	EXPECT_LE(exits, EXITS_PER_PAGE * PHASE1_PAGES);
	ASSERT_TRUE(vcpu_stat(vcpu, "apf_storm_guard", &trips))
		TH_LOG("this kernel has no storm guard");
	EXPECT_EQ(trips, 1);
	/*
	 * The first "not present" had nothing waiting; each later one is a
	 * strike (a few more if a completion was not queued yet, or on arm64
	 * was told "ready", PPI masked, before the next one waited).
	 */
	EXPECT_GE(np, STORM_STRIKES + 1);
	EXPECT_LE(np, STORM_STRIKES + 4);
	ASSERT_TRUE(vcpu_stat(vcpu, "apf_not_present", &stat));
	EXPECT_EQ(stat, np);
	ASSERT_TRUE(vcpu_stat(vcpu, "apf_sync_fallback", &stat));
	EXPECT_GE(stat, PHASE1_PAGES - np);

	ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(vm, apf_log);
	TH_LOG("phase 2: %lu not present, %lu ready in all",
	       apf_log.not_present, apf_log.ready);
	EXPECT_EQ(uffd_served, TEST_PAGES);
	EXPECT_EQ(apf_log.unexpected, 0);
	/* Async again, and nothing the guard held back was lost. */
	EXPECT_EQ(apf_log.not_present, np + TEST_PAGES - PHASE1_PAGES);
	for (i = 0; i < apf_log.not_present && i < APF_MAX_LOG; i++)
		EXPECT_EQ(apf_log_readied(apf_log.np_token[i]), 1)
			TH_LOG("token %#x", apf_log.np_token[i]);
	ASSERT_TRUE(vcpu_stat(vcpu, "apf_storm_guard", &trips));
	EXPECT_EQ(trips, 1);

	kvm_vm_free(vm);
	uffd_stop_demand_paging(uffd);
}

/*
 * The 2021 bug: "page ready" by interrupt, and the guest cannot take it
 * (x86: LAPIC software-disabled; arm64: the PPI masked).  Unmasked, the
 * held readies come and its ack ends the guard.
 */
TEST(page_ready_masked_exit_storm)
{
	run_storm(_metadata, false);
}

/*
 * A guest that takes "page ready" but never acknowledges it (arm64: it
 * masks the PPI instead).  It re-enables async PF: the guard ends.
 */
TEST(page_ready_never_acked)
{
	run_storm(_metadata, true);
}

TEST_HARNESS_MAIN
