// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_ve_test: "page not present" delivered as a synchronous exception of
 * the faulting access (guest ABI in Documentation/api.rst): x86's #VE, and
 * arm64's abort with fault status KVM_APF_ARM64_ABORT_FSC, seen from a real
 * guest running in kernel mode.  One source: "#VE" below means either.
 *
 * The guest opts in (x86: bit 8 of MSR_KVM_ASYNC_PF_INT; arm64: ENABLE's
 * KVM_APF_ARM64_DELIVERY_AS_ABORT) and does not send SEND_ALWAYS: kernel
 * mode gets "not present" only because of that opt-in.  Each #VE brings its
 * token in the shared area under the busy word, which the guest clears;
 * while it is set, KVM sends no other #VE.  Its handler returns to the
 * access with IRET or ERET: no exit completes it (arm64's SDEI event needs
 * one).
 *
 * Where it runs: arm64; x86 on Intel natively.  AMD has no #VE; QEMU's TCG
 * (which emulates SVM, not VMX) delivers an injected vector 20 all the
 * same, so on a host that is QEMU's TCG this program turns on
 * kvm.apf_ve_on_amd for its own run and restores it at exit.  Elsewhere on
 * AMD every test skips and says why.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"
#include "apf_delayed_mem.h"
#ifdef __x86_64__
#include "x86_64/apf_x86.h"
#include "x86_64/apf_ve_on_tcg.h"
#endif

#define APF_DELAY_US	20000

static pid_t ve_param_owner;	/* the process that turned the parameter on */

static void __attribute__((constructor)) ve_host_setup(void)
{
#ifdef __x86_64__
	if (apf_ve_on_tcg())
		ve_param_owner = getpid();
#endif
}

static void __attribute__((destructor)) ve_host_restore(void)
{
#ifdef __x86_64__
	if (ve_param_owner && ve_param_owner == getpid())
		apf_ve_on_tcg_restore();
#endif
}

struct ve_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct uffd_desc *uffd;
};

/* Why #VE cannot run here, or NULL. */
static const char *ve_unsupported(void)
{
	apf_want_ve = true;
	return apf_arch_unsupported();
}

/* @busy_page: the page the first #VE touches under its busy word, or 0. */
static void ve_vm_create(struct ve_vm *t, u64 busy_page)
{
	t->vm = vm_create_with_one_vcpu(&t->vcpu, delayed_mem_guest_read);
	t->uffd = delayed_mem_add(t->vm, APF_DELAY_US);
	/* Not with @busy_page: the guest waits for it, never parked on it. */
	if (!busy_page)
		delayed_mem_serve_after_work(t->vm);
	apf_want_ve = true;
	apf_arch_vm_setup(t->vm);
	apf_mode = APF_MODE_PARK;
	sync_global_to_guest(t->vm, apf_mode);
	apf_ve_busy_touch = busy_page ? TEST_GPA + busy_page * page_size : 0;
	sync_global_to_guest(t->vm, apf_ve_busy_touch);
	vcpu_args_set(t->vcpu, 3, TEST_GPA, (u64)TEST_PAGES, (u64)page_size);
}

static void ve_vm_free(struct ve_vm *t)
{
	kvm_vm_free(t->vm);
	uffd_stop_demand_paging(t->uffd);
}

static const char *ve_host(void)
{
#ifdef __aarch64__
	return "arm64, as an abort";
#endif
	return ve_param_owner ? "AMD emulated by QEMU's TCG (kvm.apf_ve_on_amd)" :
				"a host that offers #VE";
}

/* The host's CPU is Intel's (VMX), where KVM injects #VE natively. */
static bool host_has_vmx(void)
{
#ifdef __x86_64__
	u32 eax, ebx, ecx, edx;

	__cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	return ecx & BIT(5);
#else
	return false;
#endif
}

/*
 * Every first touch, from ring 0 without SEND_ALWAYS, is one #VE with a
 * token under the busy word (no #PF), then one "page ready" for it.
 */
static void ve_in_kernel_mode(struct __test_metadata *_metadata)
{
	struct ve_vm t = {};
	struct ucall uc;

	ve_vm_create(&t, 0);
	ASSERT_EQ(run_to_ucall(t.vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(t.vm, apf_log);

	expect_one_async_fault_per_page(_metadata, t.vcpu);
	EXPECT_EQ(apf_log.ve, TEST_PAGES);
	TH_LOG("outcome: %d pages in ring 0, %lu #VE, %lu ready, on %s",
	       TEST_PAGES, apf_log.ve, apf_log.ready, ve_host());
	ve_vm_free(&t);
}

TEST(not_present_as_ve_in_kernel_mode)
{
	if (ve_unsupported())
		SKIP(return, "%s", ve_unsupported());
	ve_in_kernel_mode(_metadata);
}

/* Intel's injection (VM entry, vector 20): only a VMX host runs it. */
TEST(not_present_as_ve_injected_by_vmx)
{
	if (!host_has_vmx())
		SKIP(return, "needs an Intel (VMX) host: %s",
		     "QEMU's TCG emulates SVM only; arm64 injects an abort");
	if (ve_unsupported())
		SKIP(return, "%s", ve_unsupported());
	ve_in_kernel_mode(_metadata);
}

/*
 * The first #VE keeps its busy word set while it touches the next missing
 * page, interrupts on: that fault gets no #VE (it waits synchronously) and
 * the token under the busy word stays; once cleared, #VE resumes.
 */
TEST(busy_word_holds_the_next_ve)
{
	struct ve_vm t = {};
	struct ucall uc;
	u64 i, stat;

	if (ve_unsupported())
		SKIP(return, "%s", ve_unsupported());
	ve_vm_create(&t, 1);
	ASSERT_EQ(run_to_ucall(t.vcpu, &uc), UCALL_DONE);
	sync_global_from_guest(t.vm, apf_log);
	sync_global_from_guest(t.vm, apf_ve_busy_value);

	EXPECT_EQ(uffd_served_wait(TEST_PAGES), TEST_PAGES);
	EXPECT_EQ(apf_log.unexpected, 0);
	EXPECT_EQ(apf_ve_busy_value, pattern(TEST_GPA + page_size));
	ASSERT_EQ(apf_log.ve, TEST_PAGES - 1);
	ASSERT_EQ(apf_log.not_present, TEST_PAGES - 1);
	EXPECT_EQ(apf_log.ready, TEST_PAGES - 1 + apf_log.wake_all);
	for (i = 0; i < TEST_PAGES - 1; i++)
		EXPECT_EQ(apf_log_readied(apf_log.np_token[i]), 1);
	if (vcpu_stat(t.vcpu, "apf_not_present", &stat))
		EXPECT_EQ(stat, TEST_PAGES - 1);
	TH_LOG("outcome: %d pages, %lu #VE: none while the busy word was set",
	       TEST_PAGES, apf_log.ve);
	ve_vm_free(&t);
}

/*
 * The opt-in, as a VMM restoring it meets it: MSR_KVM_ASYNC_PF_INT with
 * bit 8 is refused where the guest's CPUID does not offer #VE (the host
 * that cannot inject it hides it), bits 9-63 always; nothing changes then.
 * arm64: KVM_REG_ARM_APF_CTRL with bit 3, where the vendor-hyp bitmap's bit
 * 61 is clear; bit 5 always.
 */
TEST(ve_opt_in_needs_its_cpuid_bit)
{
#ifdef __x86_64__
	const u64 vec = 0xf3, ve = vec | KVM_ASYNC_PF_DELIVERY_AS_VE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (ve_unsupported())
		SKIP(return, "%s", ve_unsupported());
	vm = vm_create_with_one_vcpu(&vcpu, NULL);
	EXPECT_EQ(_vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_INT, ve), 1);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_INT), ve);
	EXPECT_EQ(_vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_INT, ve | BIT_ULL(9)), 0);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_INT), ve);

	apf_x86_hide_ve(vcpu);
	EXPECT_EQ(_vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_INT, vec), 1);
	EXPECT_EQ(_vcpu_set_msr(vcpu, MSR_KVM_ASYNC_PF_INT, ve), 0);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_ASYNC_PF_INT), vec);
	TH_LOG("outcome: bit 8 taken with the CPUID bit, refused without");
	kvm_vm_free(vm);
#else
	const u64 abort = KVM_APF_ARM64_DELIVERY_AS_ABORT;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 en, bmap;

	if (ve_unsupported())
		SKIP(return, "%s", ve_unsupported());
	vm = vm_create_with_one_vcpu(&vcpu, NULL);
	en = addr_gva2gpa(vm, vm_vaddr_alloc_page(vm)) | KVM_APF_ARM64_ENABLED;
	EXPECT_EQ(apf_vmm_set_enable(vcpu, en | abort), 0);
	EXPECT_EQ(apf_vmm_get_enable(vcpu), en | abort);
	EXPECT_EQ(apf_vmm_set_enable(vcpu, en | abort | BIT_ULL(5)), -EINVAL);
	EXPECT_EQ(apf_vmm_get_enable(vcpu), en | abort);

	/* A VMM hides it (to migrate to a host without) before the run. */
	EXPECT_EQ(apf_vmm_set_enable(vcpu, en), 0);
	vcpu_get_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP, &bmap);
	vcpu_set_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP,
		     bmap & ~BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT));
	EXPECT_EQ(apf_vmm_set_enable(vcpu, en | abort), -EINVAL);
	EXPECT_EQ(apf_vmm_get_enable(vcpu), en);
	TH_LOG("outcome: bit 3 taken with vendor-hyp bit 61, refused without");
	kvm_vm_free(vm);
#endif
}

TEST_HARNESS_MAIN
