// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 parts of apf_regress_test.c (apf_regress_arch.h): a load made on
 * another stack, and the guest and host halves of the two x86-only
 * regressions (an NMI in the window before the "not present" handler reads
 * CR2 and the reason; an SMI while a fault is in flight).
 */
#include "kvm_util.h"
#include "processor.h"
#include "apf_guest.h"
#include "apf_regress_arch.h"
#include "apf_x86.h"

/*
 * Guest: load the u64 at @gva with the stack pointer at @stack_top, so
 * that the "not present" #PF of the load is pushed onto that stack.
 */
u64 apf_touch_on_stack(u64 gva, u64 stack_top)
{
	u64 v;

	asm volatile("mov %%rsp, %%rbx\n\t"
		     "mov %[st], %%rsp\n\t"
		     "mov (%[a]), %[v]\n\t"
		     "mov %%rbx, %%rsp"
		     : [v] "=&r"(v)
		     : [a] "r"(gva), [st] "r"(stack_top)
		     : "rbx", "memory");
	return v;
}

static u64 regress_nmi_gva;	/* the NMI handler loads from here */
u64 regress_nmis;
u64 regress_nmi_value;

static void regress_nmi_handler(struct ex_regs *regs)
{
	regress_nmis++;
	regress_nmi_value = READ_ONCE(*(u64 *)regress_nmi_gva);
}

/*
 * The "not present" handler, with a window between its entry and the
 * handler proper: CR2 and the reason are read, the host is told (and
 * injects an NMI, taken at the next instruction), then both must still be
 * what they were.
 */
static void regress_pf_window(struct ex_regs *regs)
{
	u64 cr2 = apf_read_cr2();
	u32 reason = READ_ONCE(apf_my_area()->flags);

	GUEST_SYNC3(REGRESS_SYNC_PF_WINDOW, cr2, reason);
	__GUEST_ASSERT(apf_read_cr2() == cr2,
		       "CR2 clobbered in the #PF handler: %lx, was %lx",
		       apf_read_cr2(), cr2);
	__GUEST_ASSERT(READ_ONCE(apf_my_area()->flags) == reason,
		       "reason clobbered in the #PF handler: %u, was %u",
		       READ_ONCE(apf_my_area()->flags), reason);
	guest_apf_not_present(regs);
}

/* Host: the window handler and an NMI handler that loads from @nmi_gva. */
void regress_nmi_setup(struct kvm_vm *vm, u64 nmi_gva)
{
	regress_nmi_gva = nmi_gva;
	sync_global_to_guest(vm, regress_nmi_gva);
	vm_install_exception_handler(vm, PF_VECTOR, regress_pf_window);
	vm_install_exception_handler(vm, NMI_VECTOR, regress_nmi_handler);
}

#define REGRESS_SMRAM_GPA	0x1000000ul
#define REGRESS_SMRAM_SIZE	0x10000ul
#define REGRESS_SMRAM_SLOT	((1 << 16) | 1)	/* address space 1: SMM */
/* Where KVM writes the 64-bit state-save map on SMM entry. */
#define REGRESS_SMRAM_SAVE	0xfe00

/* Host: SMRAM whose SMI handler only does RSM (as smm_test sets it up). */
void regress_smm_setup(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	static const u8 rsm[] = { 0x0f, 0xaa };
	u64 pages = REGRESS_SMRAM_SIZE / vm->page_size;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, REGRESS_SMRAM_GPA,
				    REGRESS_SMRAM_SLOT, pages, 0);
	TEST_ASSERT(vm_phy_pages_alloc(vm, pages, REGRESS_SMRAM_GPA,
				       REGRESS_SMRAM_SLOT) == REGRESS_SMRAM_GPA,
		    "SMRAM not at %#lx", REGRESS_SMRAM_GPA);
	memset(addr_gpa2hva(vm, REGRESS_SMRAM_GPA), 0, REGRESS_SMRAM_SIZE);
	memcpy(addr_gpa2hva(vm, REGRESS_SMRAM_GPA) + 0x8000, rsm, sizeof(rsm));
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, REGRESS_SMRAM_GPA);
}

/* Host: did the vCPU go through SMM (KVM wrote the state-save map)? */
bool regress_smm_entered(struct kvm_vm *vm)
{
	u8 *save = (u8 *)addr_gpa2hva(vm, REGRESS_SMRAM_GPA) + REGRESS_SMRAM_SAVE;
	u64 i;

	for (i = 0; i < REGRESS_SMRAM_SIZE - REGRESS_SMRAM_SAVE; i++)
		if (save[i])
			return true;
	return false;
}
