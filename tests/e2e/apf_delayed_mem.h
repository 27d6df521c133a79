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
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include "kvm_util.h"
#include "userfaultfd_util.h"

#define TEST_SLOT	10
#define TEST_GPA	0x10000000ul
#define TEST_PAGES	16

/* What each 8 bytes of a delayed page hold (guest and host). */
static inline u64 pattern(u64 gpa)
{
	return gpa ^ 0x6170662d64617461ull;	/* "apf-data" */
}

static size_t page_size;
static void *page_base;		/* host address of TEST_GPA */
static int uffd_served;

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
	return uffd_setup_demand_paging(UFFDIO_REGISTER_MODE_MISSING, delay_us,
					page_base, TEST_PAGES * page_size, 1,
					serve_page);
}

#endif /* APF_DELAYED_MEM_H */
