/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest memory whose pages arrive late: a slot at TEST_GPA (identity-mapped
 * in the guest) backed by a userfaultfd whose handler answers each first
 * touch after a delay, filling the page with pattern(gpa).  Shared by the
 * async PF e2e tests.
 */
#ifndef APF_DELAYED_MEM_H
#define APF_DELAYED_MEM_H

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include "kvm_util.h"
#include "ucall_common.h"
#include "userfaultfd_util.h"
#include "apf_guest.h"

#define TEST_SLOT	10
#define TEST_GPA	0x10000000ul
#ifndef TEST_PAGES
#define TEST_PAGES	16
#endif

/* What each 8 bytes of a delayed page hold (guest and host). */
static inline u64 pattern(u64 gpa)
{
	return gpa ^ 0x6170662d64617461ull;	/* "apf-data" */
}

/*
 * Guest: async PF on, read each of @pages pages from @gva (the slot) and
 * check its pattern, async PF off; done.
 */
static void __maybe_unused delayed_mem_guest_read(u64 gva, u64 pages,
						  u64 page_size)
{
	u64 i;

	guest_apf_enable();
	asm volatile("" ::: "memory");
	for (i = 0; i < pages; i++) {
		u64 v = READ_ONCE(*(u64 *)(gva + i * page_size));

		GUEST_ASSERT_EQ(v, pattern(gva + i * page_size));
	}
	guest_apf_disable();
	GUEST_DONE();
}

static size_t page_size;
static void *page_base;		/* host address of TEST_GPA */
static int uffd_served;
static struct apf_vcpu_log *served_after_work;	/* the guest's, or NULL */
static struct timespec served_after_work_end;

/*
 * With delayed_mem_serve_after_work(): wait until the guest has logged its
 * "not present" for page @i and done work while parked on it (at most 30 s
 * for all pages together: a guest that never parks costs one bound).
 */
static inline void await_guest_work(u64 i)
{
	struct timespec ts, end = served_after_work_end;

	while (READ_ONCE(served_after_work->not_present) <= i ||
	       !READ_ONCE(served_after_work->work_during[i])) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec > end.tv_sec ||
		    (ts.tv_sec == end.tv_sec && ts.tv_nsec > end.tv_nsec))
			return;
		usleep(100);
	}
}

/* Fill each page with its pattern, after the reader thread's delay. */
static inline int serve_page(int mode, int uffd, struct uffd_msg *msg)
{
	static __thread u64 *buf;
	struct uffdio_copy copy;
	u64 addr, gpa, i;

	addr = msg->arg.pagefault.address & ~(u64)(page_size - 1);

	if (!buf)
		buf = malloc(page_size);
	TEST_ASSERT(buf, "no memory");
	/* The slot is identity-mapped: guest virtual = guest physical. */
	gpa = TEST_GPA + (addr - (u64)page_base);
	if (served_after_work && (gpa - TEST_GPA) / page_size < APF_MAX_LOG)
		await_guest_work((gpa - TEST_GPA) / page_size);
	for (i = 0; i < page_size / 8; i++)
		buf[i] = pattern(gpa + i * 8);
	copy = (struct uffdio_copy){ .dst = addr, .src = (u64)buf,
				     .len = page_size };
	if (ioctl(uffd, UFFDIO_COPY, &copy)) {
		struct uffdio_range range = { .start = addr, .len = page_size };

		if (errno == EEXIST)
			return 0;
		if (errno != ENOENT)
			return -errno;
		/*
		 * The VM unmapped the page while a fault on it was
		 * outstanding (destroy_with_fault_outstanding): wake the
		 * faulting thread so that it finds the page gone.
		 */
		return ioctl(uffd, UFFDIO_WAKE, &range) ? -errno : 0;
	}
	__atomic_add_fetch(&uffd_served, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * The server counts a page after its UFFDIO_COPY, which already woke the
 * faulting thread (the guest may be done before the count moves): wait for
 * the count to reach @n (at most 60 s), then read it.
 */
static inline int uffd_served_wait(int n)
{
	struct timespec ts, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 60;
	while (__atomic_load_n(&uffd_served, __ATOMIC_SEQ_CST) < n) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec > end.tv_sec ||
		    (ts.tv_sec == end.tv_sec && ts.tv_nsec > end.tv_nsec))
			break;
		usleep(100);
	}
	return __atomic_load_n(&uffd_served, __ATOMIC_SEQ_CST);
}

/*
 * Host: add the delayed slot to @vm and start serving it, each page
 * @delay_us after its first touch.  Stop with uffd_stop_demand_paging().
 */
static inline struct uffd_desc *delayed_mem_add(struct kvm_vm *vm, u32 delay_us)
{
	page_size = vm->page_size;
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_PAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);
	page_base = addr_gpa2hva(vm, TEST_GPA);
	uffd_served = 0;
	served_after_work = NULL;
	return uffd_setup_demand_paging(UFFDIO_REGISTER_MODE_MISSING, delay_us,
					page_base, TEST_PAGES * page_size, 1,
					serve_page);
}

/*
 * Host, before the guest runs: serve page i only once the guest parked on
 * its i-th "not present" and did work there, so that "page ready" cannot
 * come before the guest parked, however late the host runs its vCPU.  For
 * a guest that touches the pages in order and parks on each (APF_MODE_PARK):
 * expect_one_async_fault_per_page()'s "work during every wait" is then a
 * property of async PF, not of the host's scheduling.
 */
static inline void delayed_mem_serve_after_work(struct kvm_vm *vm)
{
	clock_gettime(CLOCK_MONOTONIC, &served_after_work_end);
	served_after_work_end.tv_sec += 30;
	served_after_work = addr_gva2hva(vm, (vm_vaddr_t)&apf_log);
}

/*
 * Host, after sync_global_from_guest(apf_log) once the guest read every
 * delayed page: exactly one "not present" per page with distinct tokens,
 * one wake-all (sent when the guest enabled async PF), then one "ready" per
 * token, each acknowledged (or no next one would have come), other work
 * done during every wait (so serve with delayed_mem_serve_after_work()),
 * and KVM's counters equal to what the guest saw (where the kernel has
 * them).  Needs kselftest_harness.h, apf_guest.h and apf_util.h first.
 */
static inline void expect_one_async_fault_per_page(struct __test_metadata *_metadata,
						   struct kvm_vcpu *vcpu)
{
	u64 i, j, seen, stat;

	EXPECT_EQ(uffd_served_wait(TEST_PAGES), TEST_PAGES);
	EXPECT_EQ(apf_log.unexpected, 0);
	ASSERT_EQ(apf_log.not_present, TEST_PAGES);
	EXPECT_EQ(apf_log.wake_all, 1);
	ASSERT_EQ(apf_log.ready, TEST_PAGES + 1);
	for (i = 0; i < TEST_PAGES; i++) {
		u32 token = apf_log.np_token[i];

		EXPECT_NE(token, 0);
		EXPECT_NE(token, APF_WAKE_ALL);
		seen = apf_log_readied(token);
		EXPECT_EQ(seen, 1) TH_LOG("token %#x readied %lu times", token, seen);
		for (j = 0; j < i; j++)
			EXPECT_NE(apf_log.np_token[j], token);
		EXPECT_GT(apf_log.work_during[i], 0);
		/* The guest touches the pages in order, first word first. */
		EXPECT_EQ(apf_log.np_addr[i],
			  apf_arch_fault_addr ? TEST_GPA + i * page_size : 0);
	}
	if (vcpu_stat(vcpu, "apf_not_present", &stat)) {
		EXPECT_EQ(stat, apf_log.not_present);
		ASSERT_TRUE(vcpu_stat(vcpu, "apf_ready", &stat));
		EXPECT_EQ(stat, apf_log.ready);
		ASSERT_TRUE(vcpu_stat(vcpu, "apf_error", &stat));
		EXPECT_EQ(stat, 0);
	}
}

#endif /* APF_DELAYED_MEM_H */
