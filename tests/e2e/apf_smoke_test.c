// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_smoke_test: the end-to-end pipeline reaches a real VM on this arch.
 *
 * The guest touches pages of a memslot that the host has never populated
 * (every first touch is a host page fault), writes a pattern, and reads back
 * values the host wrote; host and guest check each other's view.  The same
 * source runs on x86_64 and arm64 and expects the same outcome.
 */
#include <string.h>

#include <linux/compiler.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_util.h"

#define TEST_SLOT	10
#define TEST_GPA	0x10000000ul
#define TEST_PAGES	64
#define PATTERN		0x6170667061676573ull	/* "apfpages" */

static void guest_code(u64 gva, u64 pages, u64 page_size)
{
	u64 i, sum = 0;

	for (i = 0; i < pages; i++)
		WRITE_ONCE(*(u64 *)(gva + i * page_size), PATTERN ^ i);
	GUEST_SYNC(1);

	/* The host replaced every word with its page number. */
	for (i = 0; i < pages; i++)
		sum += READ_ONCE(*(u64 *)(gva + i * page_size + 8));
	GUEST_SYNC2(2, sum);
	GUEST_DONE();
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_PAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);
	vcpu_args_set(*vcpu, 3, TEST_GPA, (u64)TEST_PAGES,
		      (u64)vm->page_size);
	return vm;
}

TEST(guest_and_host_see_the_same_memory)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu);
	u64 i, want = 0;
	struct ucall uc;

	ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[1], 1);
	for (i = 0; i < TEST_PAGES; i++) {
		u64 *p = addr_gpa2hva(vm, TEST_GPA + i * vm->page_size);

		ASSERT_EQ(p[0], PATTERN ^ i);
		/* A page the guest never wrote beyond word 0 stays zero. */
		ASSERT_EQ(p[1], 0);
		p[1] = i + 1;
		want += i + 1;
	}

	ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 2);
	ASSERT_EQ(uc.args[1], want);
	ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

/* Each ucall is an exit, counted in the vCPU's binary stats on both arches. */
TEST(guest_exits_are_counted)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu);
	struct ucall uc;
	u64 before, after;

	ASSERT_TRUE(vcpu_stat(vcpu, "exits", &before));
	ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_TRUE(vcpu_stat(vcpu, "exits", &after));
	ASSERT_GE(after - before, 1);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
