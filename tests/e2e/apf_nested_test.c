// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_nested_test: async page faults of a nested guest, delivered to its
 * hypervisor as #PF vmexits (x86: MSR_KVM_ASYNC_PF_EN bit 2, the path a
 * Linux L1 running KVM takes).
 *
 * L1 enables async PF with #PF-vmexit delivery and runs an L2 (nested SVM)
 * that reads pages served late by a userfaultfd.  Each first touch must
 * reach L1 as a #PF vmexit with the token in EXITINFO2 and "not present" in
 * the shared area; L1 runs other work until the "page ready" interrupt for
 * that token, then resumes L2, which reads the right data.  x86 only: the
 * other arches have no such delivery.
 */
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "svm_util.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"
#include "apf_delayed_mem.h"
#include "x86_64/apf_x86.h"

#define APF_DELAY_US	20000
#define L2_STACK_WORDS	256

static u64 l2_bad_reads;

static void l2_code(void)
{
	u64 i, gva;

	for (i = 0; i < TEST_PAGES; i++) {
		gva = TEST_GPA + i * PAGE_SIZE;
		if (READ_ONCE(*(u64 *)gva) != pattern(gva))
			l2_bad_reads++;
	}
	vmmcall();
}

/* Let L1 take a pending interrupt (GIF is clear after a #VMEXIT). */
static void l1_take_interrupts(void)
{
	stgi();
	asm volatile("sti; nop; cli" ::: "memory");
}

/* L1 got "not present" for @token: run other work until it is ready. */
static void l1_park(u32 token)
{
	u64 n = apf_log.not_present, work = 0;

	GUEST_ASSERT_EQ(READ_ONCE(apf_my_area()->flags), KVM_PV_REASON_PAGE_NOT_PRESENT);
	WRITE_ONCE(apf_my_area()->flags, 0);
	if (n < APF_MAX_LOG)
		apf_log.np_token[n] = token;
	apf_log.not_present = n + 1;

	stgi();
	asm volatile("sti" ::: "memory");
	while (READ_ONCE(apf_woken[apf_vcpu()]) != token) {
		work += apf_guest_compute(APF_PARK_CHUNK);
		if (n < APF_MAX_LOG)	/* delayed_mem_serve_after_work() */
			WRITE_ONCE(apf_log.work_during[n], work);
	}
	asm volatile("cli" ::: "memory");
	apf_log.work += work;
}

static void l1_code(struct svm_test_data *svm)
{
	unsigned long l2_stack[L2_STACK_WORDS];
	struct vmcb *vmcb = svm->vmcb;

	x2apic_enable();
	wrmsr(MSR_KVM_ASYNC_PF_INT, APF_VECTOR);
	wrmsr(MSR_KVM_ASYNC_PF_EN, apf_my_area_gpa() | APF_EN_BITS |
	      KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT);
	l1_take_interrupts();		/* the wake-all sent on enable */

	generic_svm_setup(svm, l2_code, &l2_stack[L2_STACK_WORDS]);
	vmcb->control.intercept_exceptions |= BIT(PF_VECTOR);
	/* Interrupts for L1 exit L2; L2 itself runs with IF set. */
	vmcb->control.intercept |= BIT_ULL(INTERCEPT_INTR);
	vmcb->save.rflags |= BIT(9);	/* IF */

	for (;;) {
		run_guest(vmcb, svm->vmcb_gpa);
		switch (vmcb->control.exit_code) {
		case SVM_EXIT_VMMCALL:
			GUEST_ASSERT_EQ(l2_bad_reads, 0);
			wrmsr(MSR_KVM_ASYNC_PF_EN, 0);
			GUEST_DONE();
			break;
		case SVM_EXIT_INTR:
			l1_take_interrupts();
			break;
		case SVM_EXIT_EXCP_BASE + PF_VECTOR:
			l1_park(vmcb->control.exit_info_2);
			break;
		default:
			GUEST_FAIL("L2 exit %#x, info1 %#lx, info2 %#lx",
				   vmcb->control.exit_code,
				   vmcb->control.exit_info_1,
				   vmcb->control.exit_info_2);
		}
	}
}

TEST(nested_faults_exit_to_l1)
{
	struct uffd_desc *uffd;
	struct kvm_vcpu *vcpu;
	vm_vaddr_t svm_gva;
	struct kvm_vm *vm;
	struct ucall uc;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	if (!kvm_cpu_has(X86_FEATURE_SVM))
		SKIP(return, "nested SVM is not available");

	vm = vm_create_with_one_vcpu(&vcpu, l1_code);
	vcpu_alloc_svm(vm, &svm_gva);
	vcpu_args_set(vcpu, 1, svm_gva);
	uffd = delayed_mem_add(vm, APF_DELAY_US);
	delayed_mem_serve_after_work(vm);
	apf_arch_vm_setup(vm);

	ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(vm, apf_log);

	/* Every first touch of L2 reached L1 as one #PF vmexit. */
	expect_one_async_fault_per_page(_metadata, vcpu);
	TH_LOG("%d L2 pages, %lu #PF vmexits to L1, %lu ready, %lu work units parked",
	       TEST_PAGES, apf_log.not_present, apf_log.ready, apf_log.work);
	kvm_vm_free(vm);
	uffd_stop_demand_paging(uffd);
}

TEST_HARNESS_MAIN
