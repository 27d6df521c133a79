// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM's x86_64 part: Linux's 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst), the in-kernel interrupt controllers,
 * the guest's CPUID, and the port I/O the console and a reset need.
 *
 * Guest-physical layout (the same as Firecracker's, low memory):
 *   0x00500  GDT                 0x07000  boot_params (the "zero page")
 *   0x08ff0  initial stack       0x09000  PML4, 0x0a000 PDPT, 0x0b000 PD
 *   0x20000  kernel command line 0x9fc00  MP table (for the vCPUs)
 *   0x100000 the kernel (bzImage minus setup), initramfs at the top of RAM.
 *   0xfeb00000 the test device (MMIO), below the IOAPIC and the local APIC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <asm/bootparam.h>
#include <asm/kvm_para.h>
#include <linux/kernel.h>

#include "vmm.h"
#include "x86_64/apf_ve_on_tcg.h"

#define GDT_ADDR		0x500
#define BOOT_PARAMS_ADDR	0x7000
#define BOOT_STACK		0x8ff0
#define PML4_ADDR		0x9000
#define PDPT_ADDR		0xa000
#define PD_ADDR			0xb000
#define CMDLINE_ADDR		0x20000
#define CMDLINE_MAX		0x10000
#define KERNEL_ADDR		0x100000
#define EBDA_START		0x9fc00	/* RAM below it, ROM area above */
#define TSS_ADDR		0xfffbd000 /* 3 pages KVM needs on VMX */

#define MPTABLE_ADDR		EBDA_START
#define APIC_DEFAULT_ADDR	0xfee00000
#define IOAPIC_DEFAULT_ADDR	0xfec00000
#define APIC_VERSION		0x14
#define IOAPIC_VERSION		0x11
#define NR_ISA_IRQS		16

#define E820_RAM		1
#define E820_RESERVED		2

#define COM1_BASE		0x3f8
/*
 * The test device (testdev.c), MMIO as on arm64: a guest process reaches a
 * port only through its TSS I/O bitmap, and QEMU's emulated SVM (the e2e's
 * L0) refuses that check once TR is cached busy, as it is after a restore
 * (KVM_GET_SREGS reports TR busy on SVM, as the hardware has it).
 */
#define CTL_MMIO		0xfeb00000ULL
#define COM1_IRQ		4
#define PORT_KBD_CMD		0x64	/* 8042: 0xfe is "pulse reset" */
#define PORT_RESET		0xcf9	/* PCI reset control: bit 2 resets */

#define CR0_PE			BIT_ULL(0)
#define CR0_ET			BIT_ULL(4)
#define CR0_PG			BIT_ULL(31)
#define CR4_PAE			BIT_ULL(5)
#define EFER_LME		BIT_ULL(8)
#define EFER_LMA		BIT_ULL(10)
#define PTE_P			BIT_ULL(0)
#define PTE_RW			BIT_ULL(1)
#define PTE_PS			BIT_ULL(7)

#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define MTRR_ENABLE		BIT_ULL(11)
#define MTRR_TYPE_WB		6

#define MAX_CPUID_ENTRIES	256
#define CPUID_1_ECX_FMA		BIT(12)
#define CPUID_1_ECX_AVX		BIT(28)
#define CPUID_1_ECX_F16C	BIT(29)
#define CPUID_1_ECX_HYPERVISOR	BIT(31)
#define CPUID_7_EBX_AVX2	BIT(5)
#define CPUID_7_EBX_AVX512F	BIT(16)
#define CPUID_7_ECX_PKU		BIT(3)
#define XFEATURE_MASK_FPSSE	0x3
#define FXSAVE_AREA_SIZE	576	/* legacy area and XSAVE header */

static u64 kernel_entry;

static pid_t ve_param_owner;

static void ve_param_restore(void)
{
	if (ve_param_owner == getpid() && !apf_ve_on_tcg_restore())
		fprintf(stderr, "vmm: -G: could not restore %s\n", APF_VE_PARAM);
}

/* Does KVM offer "not present" as #VE (KVM_FEATURE_ASYNC_PF_VE)? */
static int ve_offered(struct vmm *vmm)
{
	struct kvm_cpuid2 *cpuid;
	int i, ve = 0;

	cpuid = calloc(1, sizeof(*cpuid) +
		       MAX_CPUID_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		die("calloc");
	cpuid->nent = MAX_CPUID_ENTRIES;
	if (ioctl(vmm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
		die("KVM_GET_SUPPORTED_CPUID");
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == KVM_CPUID_FEATURES)
			ve = !!(cpuid->entries[i].eax &
				BIT(KVM_FEATURE_ASYNC_PF_VE));
	free(cpuid);
	return ve;
}

/*
 * -G: KVM must offer "not present" as #VE.  Intel does.  QEMU's TCG (the
 * hypervisor leaf says "TCGTCGTCGTCG") delivers an injected vector 20 on
 * its emulated AMD CPU: have KVM offer it there for this run
 * (Documentation/api.rst).  AMD silicon cannot: the test is skipped.
 */
static void ve_on_tcg(struct vmm *vmm)
{
	if (ve_offered(vmm))
		return;
	if (!apf_host_is_tcg()) {
		fprintf(stderr, "vmm: -G: skipped: KVM offers no #VE here (AMD)\n");
		exit(4);	/* KSFT_SKIP */
	}
	/* KVM reads the parameter when it sets up a vCPU's CPUID. */
	if (apf_ve_param() == 'Y')
		return;
	if (!apf_ve_on_tcg())
		die("-G: " APF_VE_PARAM);
	ve_param_owner = getpid();
	atexit(ve_param_restore);
}

void arch_create_vm(struct vmm *vmm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (vmm->ve_on_tcg)
		ve_on_tcg(vmm);

	/* Needed by VMX for real mode only; harmless elsewhere. */
	if (ioctl(vmm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR))
		die("KVM_SET_TSS_ADDR");
	/* PIC, IOAPIC and a local APIC per vCPU, all in KVM. */
	if (ioctl(vmm->vm_fd, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP");
	if (ioctl(vmm->vm_fd, KVM_CREATE_PIT2, &pit))
		die("KVM_CREATE_PIT2");
}

void arch_uart_irq(struct vmm *vmm, int level)
{
	struct kvm_irq_level irq = { .irq = COM1_IRQ, .level = level };

	if (ioctl(vmm->vm_fd, KVM_IRQ_LINE, &irq))
		die("KVM_IRQ_LINE");
}

static void add_e820(struct boot_params *bp, u64 addr, u64 size,
		     u32 type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

/*
 * The Intel MultiProcessor Specification 1.4 table, how Linux without ACPI
 * (acpi=off) finds the vCPUs and the IOAPIC: a floating pointer, then the
 * configuration table with one entry per vCPU, the ISA bus, KVM's IOAPIC,
 * the 16 ISA interrupts on its pins 0-15 (KVM's default routing: GSI n is
 * PIC IRQ n and IOAPIC pin n, the in-kernel PIT on GSI 0), and LINT0/1 as
 * ExtINT/NMI.  Linux scans the last KiB below 640 KiB for it.
 */
struct mpf_intel {
	char signature[4];	/* "_MP_" */
	u32 physptr;
	u8 length;		/* in 16 bytes */
	u8 specification;
	u8 checksum;
	u8 feature1;
	u8 feature2;
	u8 feature3, feature4, feature5;
} __packed;

struct mpc_table {
	char signature[4];	/* "PCMP" */
	u16 length;
	u8 spec;
	u8 checksum;
	char oem[8];
	char productid[12];
	u32 oemptr;
	u16 oemsize;
	u16 oemcount;
	u32 lapic;
	u32 reserved;
} __packed;

struct mpc_cpu {
	u8 type;		/* 0 */
	u8 apicid;
	u8 apicver;
	u8 cpuflag;
	u32 cpufeature;
	u32 featureflag;
	u32 reserved[2];
} __packed;

struct mpc_bus {
	u8 type;		/* 1 */
	u8 busid;
	u8 bustype[6];
} __packed;

struct mpc_ioapic {
	u8 type;		/* 2 */
	u8 apicid;
	u8 apicver;
	u8 flags;
	u32 apicaddr;
} __packed;

struct mpc_intsrc {
	u8 type;		/* 3: IOAPIC input, 4: local APIC input */
	u8 irqtype;
	u16 irqflag;
	u8 srcbus;
	u8 srcbusirq;
	u8 dstapic;
	u8 dstirq;
} __packed;

#define MP_PROCESSOR		0
#define MP_BUS			1
#define MP_IOAPIC		2
#define MP_INTSRC		3
#define MP_LINTSRC		4
#define CPU_ENABLED		1
#define CPU_BOOTPROCESSOR	2
#define MP_INT			0
#define MP_NMI			1
#define MP_EXTINT		3

static u8 mp_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

static void *mp_add(u8 **pos, size_t len, struct mpc_table *mpc)
{
	void *e = *pos;

	*pos += len;
	mpc->oemcount++;
	return e;
}

static void setup_mptable(struct vmm *vmm)
{
	size_t max = KERNEL_ADDR - MPTABLE_ADDR;
	struct mpf_intel *mpf = gpa_to_hva(vmm, MPTABLE_ADDR, max);
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	u8 *pos = (u8 *)(mpc + 1);
	u8 ioapic_id = vmm->nr_vcpus;
	struct mpc_intsrc *lint;
	struct mpc_ioapic *ioapic;
	struct mpc_bus *bus;
	int i;

	memset(mpf, 0, max);
	memcpy(mpc->signature, "PCMP", 4);
	mpc->spec = 4;
	memcpy(mpc->oem, "REFVMM  ", 8);
	memcpy(mpc->productid, "REFVMM      ", 12);
	mpc->lapic = APIC_DEFAULT_ADDR;

	for (i = 0; i < vmm->nr_vcpus; i++) {
		struct mpc_cpu *cpu = mp_add(&pos, sizeof(*cpu), mpc);

		cpu->type = MP_PROCESSOR;
		cpu->apicid = i;
		cpu->apicver = APIC_VERSION;
		cpu->cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0);
	}
	bus = mp_add(&pos, sizeof(*bus), mpc);
	bus->type = MP_BUS;
	memcpy(bus->bustype, "ISA   ", 6);
	ioapic = mp_add(&pos, sizeof(*ioapic), mpc);
	ioapic->type = MP_IOAPIC;
	ioapic->apicid = ioapic_id;
	ioapic->apicver = IOAPIC_VERSION;
	ioapic->flags = 1;	/* enabled */
	ioapic->apicaddr = IOAPIC_DEFAULT_ADDR;
	for (i = 0; i < NR_ISA_IRQS; i++) {
		struct mpc_intsrc *irq = mp_add(&pos, sizeof(*irq), mpc);

		irq->type = MP_INTSRC;
		irq->irqtype = MP_INT;
		irq->srcbusirq = i;
		irq->dstapic = ioapic_id;
		irq->dstirq = i;
	}
	lint = mp_add(&pos, sizeof(*lint), mpc);
	lint->type = MP_LINTSRC;
	lint->irqtype = MP_EXTINT;
	lint->dstapic = 0xff;	/* all local APICs */
	lint->dstirq = 0;	/* LINT0 */
	lint = mp_add(&pos, sizeof(*lint), mpc);
	lint->type = MP_LINTSRC;
	lint->irqtype = MP_NMI;
	lint->dstapic = 0xff;
	lint->dstirq = 1;	/* LINT1 */

	mpc->length = pos - (u8 *)mpc;
	mpc->checksum = mp_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = MPTABLE_ADDR + sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
}

/*
 * Load the bzImage: its setup header goes into boot_params, the rest (the
 * protected-mode kernel, which decompresses itself) to 1 MiB.  Then the
 * command line, the initramfs and the memory map.
 */
void arch_load_guest(struct vmm *vmm)
{
	struct boot_params *bp = gpa_to_hva(vmm, BOOT_PARAMS_ADDR, sizeof(*bp));
	struct setup_header *hdr;
	size_t size, setup_size, len;
	u64 initrd_addr, top;
	u8 *image;

	image = read_file(vmm->kernel, &size);
	errno = 0;
	if (size < 0x1f1 + sizeof(*hdr))
		die("%s: too small for a bzImage", vmm->kernel);
	memset(bp, 0, sizeof(*bp));
	hdr = &bp->hdr;
	/* The header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	len = 0x202 + image[0x201] - 0x1f1;
	if (len > sizeof(*hdr))
		len = sizeof(*hdr);
	memcpy(hdr, image + 0x1f1, len);
	if (hdr->boot_flag != 0xaa55 || hdr->header != 0x53726448 /* "HdrS" */)
		die("%s: no bzImage setup header", vmm->kernel);
	if (hdr->version < 0x20c || !(hdr->xloadflags & XLF_KERNEL_64))
		die("%s: no 64-bit entry point (boot protocol 0x%x)",
		    vmm->kernel, hdr->version);

	setup_size = ((hdr->setup_sects ? hdr->setup_sects : 4) + 1) * 512;
	if (setup_size >= size)
		die("%s: truncated", vmm->kernel);
	memcpy(gpa_to_hva(vmm, KERNEL_ADDR, size - setup_size),
	       image + setup_size, size - setup_size);
	/* The 64-bit entry point is 0x200 past the 32-bit one. */
	kernel_entry = KERNEL_ADDR + 0x200;
	free(image);

	hdr->type_of_loader = 0xff;	/* undefined boot loader */
	hdr->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	hdr->heap_end_ptr = 0xfe00;
	hdr->vid_mode = 0xffff;		/* "normal" */
	hdr->code32_start = KERNEL_ADDR;

	len = strlen(vmm->cmdline) + 1;
	if (len > CMDLINE_MAX || len > hdr->cmdline_size + 1)
		die("command line longer than %u", hdr->cmdline_size);
	memcpy(gpa_to_hva(vmm, CMDLINE_ADDR, len), vmm->cmdline, len);
	hdr->cmd_line_ptr = CMDLINE_ADDR;

	top = vmm->ram_size;
	if (vmm->initrd) {
		void *initrd = read_file(vmm->initrd, &size);

		/* As high as the kernel allows, page aligned. */
		if (top > (u64)hdr->initrd_addr_max + 1)
			top = (u64)hdr->initrd_addr_max + 1;
		if (size > top - 0x1000000)
			die("%s: too large for guest RAM", vmm->initrd);
		initrd_addr = (top - size) & ~0xfffULL;
		memcpy(gpa_to_hva(vmm, initrd_addr, size), initrd, size);
		hdr->ramdisk_image = initrd_addr;
		hdr->ramdisk_size = size;
		free(initrd);
	}

	if (vmm->ram_size > 0xc0000000ULL)
		die("more than 3 GiB of RAM needs the MMIO hole in e820");
	setup_mptable(vmm);
	add_e820(bp, 0, EBDA_START, E820_RAM);
	add_e820(bp, EBDA_START, KERNEL_ADDR - EBDA_START, E820_RESERVED);
	add_e820(bp, KERNEL_ADDR, vmm->ram_size - KERNEL_ADDR, E820_RAM);
}

/*
 * -x: offer the x87 and SSE state only, none of the XSAVE state components
 * beyond them (AVX, AVX-512, PKRU) nor the features that need them.  For
 * hosts where the guest's XSETBV does not reach KVM (KVM nested under
 * QEMU 7.2's TCG: KVM then sizes CPUID 0xd for XCR0 = x87 and Linux
 * WARNs "XSAVE consistency problem"); see README.md.
 */
static void xsave_legacy_only(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1:
		e->ecx &= ~(CPUID_1_ECX_FMA | CPUID_1_ECX_AVX | CPUID_1_ECX_F16C);
		break;
	case 7:
		if (e->index == 0) {
			e->ebx &= ~(CPUID_7_EBX_AVX2 | CPUID_7_EBX_AVX512F);
			e->ecx &= ~CPUID_7_ECX_PKU;
		}
		break;
	case 0xd:
		if (e->index == 0) {
			e->eax &= XFEATURE_MASK_FPSSE;
			e->edx = 0;
			e->ebx = FXSAVE_AREA_SIZE;
			e->ecx = FXSAVE_AREA_SIZE;
		} else if (e->index == 1) {
			/* No XSAVEC/XSAVES, no supervisor states. */
			e->eax = 0;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
		} else {
			memset(&e->eax, 0, 4 * sizeof(e->eax));
		}
		break;
	}
}

/*
 * The guest's CPUID: what KVM can virtualise (KVM_GET_SUPPORTED_CPUID),
 * which includes only the XSAVE state components KVM backs and KVM's own
 * paravirtual leaves (kvm-clock, async PF); with the vCPU's APIC ID.
 * Passing the host's own CPUID instead makes Linux WARN about XSAVE.
 */
static void setup_cpuid(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid;
	unsigned int i;

	cpuid = calloc(1, sizeof(*cpuid) +
		       MAX_CPUID_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		die("calloc");
	cpuid->nent = MAX_CPUID_ENTRIES;
	if (ioctl(vcpu->vmm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
		die("KVM_GET_SUPPORTED_CPUID");
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC ID in EBX[31:24]. */
			e->ebx = (e->ebx & 0x00ffffff) | (vcpu->id << 24);
			/*
			 * "Running on a hypervisor": KVM does not set it,
			 * and Linux looks for KVM's leaves (kvm-clock,
			 * async PF) only when it is set.
			 */
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC ID of this vCPU. */
			e->edx = vcpu->id;
			break;
		case KVM_CPUID_FEATURES:
			/* -n: async PF not offered (the guest never enables it). */
			if (vcpu->vmm->no_apf)
				e->eax &= ~(BIT(KVM_FEATURE_ASYNC_PF) |
					    BIT(KVM_FEATURE_ASYNC_PF_VMEXIT) |
					    BIT(KVM_FEATURE_ASYNC_PF_INT));
			/* -O: "page ready" one at a time (no ring). */
			if (vcpu->vmm->no_ready_ring)
				e->eax &= ~BIT(KVM_FEATURE_ASYNC_PF_RING);
			/* -A: "not present" as #PF, not #VE. */
			if (vcpu->vmm->no_exception)
				e->eax &= ~BIT(KVM_FEATURE_ASYNC_PF_VE);
			break;
		}
		if (vcpu->vmm->xsave_legacy)
			xsave_legacy_only(e);
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid))
		die("KVM_SET_CPUID2");
	free(cpuid);
}

/* A flat segment: base 0, limit 4 GiB (ignored in 64-bit mode). */
static void set_seg(struct kvm_segment *s, u16 sel, u8 type,
		    u8 code_or_data, u8 l, u8 db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = code_or_data;
	s->l = l;
	s->db = db;
	s->g = 1;
}

/*
 * Long mode as Linux's 64-bit entry wants it: paging on with the low
 * 1 GiB identity-mapped (2 MiB pages), a GDT with __BOOT_CS (0x10) and
 * __BOOT_DS (0x18) flat segments, %rsi pointing at boot_params.
 */
static void setup_long_mode(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	u64 *gdt = gpa_to_hva(vmm, GDT_ADDR, 4 * 8);
	u64 *pml4 = gpa_to_hva(vmm, PML4_ADDR, 0x1000);
	u64 *pdpt = gpa_to_hva(vmm, PDPT_ADDR, 0x1000);
	u64 *pd = gpa_to_hva(vmm, PD_ADDR, 0x1000);
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int i;

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL;	/* 0x10: 64-bit code, DPL 0 */
	gdt[3] = 0x00cf93000000ffffULL;	/* 0x18: data, DPL 0 */

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = PDPT_ADDR | PTE_P | PTE_RW;
	pdpt[0] = PD_ADDR | PTE_P | PTE_RW;
	for (i = 0; i < 512; i++)
		pd[i] = ((u64)i << 21) | PTE_P | PTE_RW | PTE_PS;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	set_seg(&sregs.cs, 0x10, 0xb, 1, 1, 0);	/* execute/read, accessed */
	set_seg(&sregs.ds, 0x18, 0x3, 1, 0, 1);	/* read/write, accessed */
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	/* A busy 64-bit TSS and an empty LDT, as VMX entry checks want. */
	set_seg(&sregs.tr, 0, 0xb, 0, 0, 0);
	sregs.tr.limit = 0x67;
	sregs.tr.g = 0;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu))
		die("KVM_SET_FPU");

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = kernel_entry;
	regs.rsi = BOOT_PARAMS_ADDR;
	regs.rsp = BOOT_STACK;
	regs.rbp = BOOT_STACK;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
}

/*
 * MTRRs on with write-back as the default type, as firmware would leave
 * them: with them off, all of RAM is uncached and the guest crawls.
 */
static void setup_msrs(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[1];
	} msrs = {
		.hdr.nmsrs = 1,
		.entries[0] = {
			.index = MSR_MTRR_DEF_TYPE,
			.data = MTRR_ENABLE | MTRR_TYPE_WB,
		},
	};

	if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1)
		die("KVM_SET_MSRS");
}

/*
 * The console on COM1 from the first line; no ACPI tables (the MP table
 * says where the CPUs and the IOAPIC are); "reboot=t": reset by a triple
 * fault, which KVM reports as KVM_EXIT_SHUTDOWN.
 */
const char arch_cmdline[] =
	"console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 reboot=t acpi=off";

void arch_vcpus_created(struct vmm *vmm)
{
}

void arch_setup_vcpu(struct vcpu *vcpu)
{
	setup_cpuid(vcpu);
	setup_msrs(vcpu);
	/* Secondary vCPUs wait for INIT/SIPI from the boot vCPU. */
	if (vcpu->id == 0)
		setup_long_mode(vcpu);
}

/*
 * Report when the guest turns async PF on or off on a vCPU: its
 * MSR_KVM_ASYNC_PF_EN, read at each port I/O exit (the console writes
 * make plenty), printed when it changes.  KVM_GET_MSRS must run on the
 * vCPU's own thread (another would wait for its KVM_RUN to return).
 */
static u64 apf_msr(struct vcpu *vcpu, u32 index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[1];
	} msrs = {
		.hdr.nmsrs = 1,
		.entries[0].index = index,
	};

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &msrs) != 1)
		die("KVM_GET_MSRS");
	return msrs.entries[0].data;
}

int arch_apf_enabled(struct vcpu *vcpu)
{
	return !!(apf_msr(vcpu, MSR_KVM_ASYNC_PF_EN) & KVM_ASYNC_PF_ENABLED);
}

/* The guest took "not present" as #VE (MSR_KVM_ASYNC_PF_INT's opt-in bit). */
int arch_apf_exception(struct vcpu *vcpu)
{
	return !!(apf_msr(vcpu, MSR_KVM_ASYNC_PF_INT) &
		  KVM_ASYNC_PF_DELIVERY_AS_VE);
}

static enum exit_action handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u8 *data = (u8 *)run + run->io.data_offset;
	u16 port = run->io.port;
	unsigned int i, n = run->io.count * run->io.size;
	int out = run->io.direction == KVM_EXIT_IO_OUT;

	if (port >= COM1_BASE && port < COM1_BASE + 8 && run->io.size == 1) {
		for (i = 0; i < run->io.count; i++) {
			if (out)
				uart_write(vcpu->vmm, port - COM1_BASE, data[i]);
			else
				data[i] = uart_read(vcpu->vmm, port - COM1_BASE);
		}
		return EXIT_CONTINUE;
	}
	if (out && port == PORT_KBD_CMD && data[0] == 0xfe)
		return EXIT_RESET;
	if (out && port == PORT_RESET && run->io.size == 1 && (data[0] & 0x4))
		return EXIT_RESET;
	/*
	 * Nothing else: reads float high (no device; Linux's i8042 driver
	 * then finds no controller), writes are dropped.
	 */
	if (!out)
		memset(data, 0xff, n);
	return EXIT_CONTINUE;
}

enum exit_action arch_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(vcpu);
	case KVM_EXIT_MMIO:
		if (run->mmio.phys_addr == CTL_MMIO && run->mmio.len == 1) {
			if (run->mmio.is_write)
				ctl_write(vcpu, run->mmio.data[0]);
			else
				run->mmio.data[0] = ctl_read(vcpu);
			return EXIT_CONTINUE;
		}
		/* No other MMIO devices: reads return all ones. */
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, run->mmio.len);
		return EXIT_CONTINUE;
	case KVM_EXIT_HLT:
		/* Not with the in-kernel local APIC. */
		return EXIT_POWEROFF;
	default:
		fprintf(stderr, "vmm: unhandled exit reason %u\n",
			run->exit_reason);
		return EXIT_ERROR;
	}
}

void arch_dump_vcpu(struct vcpu *vcpu)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		die("KVM_GET_REGS");
	fprintf(stderr,
		"vmm: vcpu %d rip %llx rsp %llx rflags %llx rax %llx rbx %llx rcx %llx rdx %llx rsi %llx rdi %llx\n"
		"vmm: cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx cs %x\n",
		vcpu->id, regs.rip, regs.rsp, regs.rflags, regs.rax, regs.rbx,
		regs.rcx, regs.rdx, regs.rsi, regs.rdi, sregs.cr0, sregs.cr2,
		sregs.cr3, sregs.cr4, sregs.efer, sregs.cs.selector);
	if (!ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev))
		fprintf(stderr,
			"vmm: exception %s%s %u error %x, interrupt %s %u, nmi %s%s, shadow %x\n",
			ev.exception.injected ? "injected" : "",
			ev.exception.pending ? "pending" : "", ev.exception.nr,
			ev.exception.error_code,
			ev.interrupt.injected ? "injected" : "none",
			ev.interrupt.nr, ev.nmi.injected ? "injected" : "",
			ev.nmi.pending ? "pending" : "", ev.interrupt.shadow);
	fprintf(stderr, "vmm: idt %llx+%x gdt %llx+%x tr %x\n",
		sregs.idt.base, sregs.idt.limit, sregs.gdt.base,
		sregs.gdt.limit, sregs.tr.selector);
}

/*
 * Snapshots: the records of an x86 VM.  The VM's: the in-kernel PIC and
 * IOAPIC, the PIT, kvmclock.  Each vCPU's: the registers, the FPU and
 * vector state (XSAVE, XCRs), the local APIC, pending events, the debug
 * registers, the run state, and every MSR KVM lists for migration
 * (KVM_GET_MSR_INDEX_LIST), the async PF ones among them.
 */
enum {
	SNAP_X86_IRQCHIP = SNAP_ARCH,	/* key: the chip */
	SNAP_X86_PIT,
	SNAP_X86_CLOCK,
	SNAP_X86_REGS,
	SNAP_X86_SREGS,
	SNAP_X86_XSAVE,
	SNAP_X86_XCRS,
	SNAP_X86_LAPIC,
	SNAP_X86_EVENTS,
	SNAP_X86_DEBUGREGS,
	SNAP_X86_MP_STATE,
	SNAP_X86_MSR,			/* key: the index; 8 bytes */
};

/* One vCPU get/set ioctl and its record. */
static const struct {
	u32 type;
	unsigned long get, set;
	u32 size;
	const char *name;
} vcpu_state[] = {
#define STATE(type, get, set, st) { type, get, set, sizeof(st), #set }
	STATE(SNAP_X86_SREGS, KVM_GET_SREGS, KVM_SET_SREGS, struct kvm_sregs),
	STATE(SNAP_X86_REGS, KVM_GET_REGS, KVM_SET_REGS, struct kvm_regs),
	STATE(SNAP_X86_XCRS, KVM_GET_XCRS, KVM_SET_XCRS, struct kvm_xcrs),
	STATE(SNAP_X86_DEBUGREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, struct kvm_debugregs),
	STATE(SNAP_X86_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC, struct kvm_lapic_state),
	STATE(SNAP_X86_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE, struct kvm_mp_state),
	STATE(SNAP_X86_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events),
#undef STATE
};

static u32 xsave_size(struct vmm *vmm)
{
	int n = ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? n : sizeof(struct kvm_xsave);
}

static int set_msr(struct vcpu *vcpu, u32 index, u64 data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[1];
	} msrs = {
		.hdr.nmsrs = 1,
		.entries[0] = { .index = index, .data = data },
	};

	return ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) == 1 ? 0 : -1;
}

static int get_msr(struct vcpu *vcpu, u32 index, u64 *data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[1];
	} msrs = {
		.hdr.nmsrs = 1,
		.entries[0].index = index,
	};

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &msrs) != 1)
		return -1;
	*data = msrs.entries[0].data;
	return 0;
}

static struct kvm_msr_list *msr_index_list(struct vmm *vmm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;

	if (!ioctl(vmm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) || errno != E2BIG)
		die("KVM_GET_MSR_INDEX_LIST");
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(u32));
	if (!list)
		die("calloc");
	list->nmsrs = probe.nmsrs;
	if (ioctl(vmm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list))
		die("KVM_GET_MSR_INDEX_LIST");
	return list;
}

void arch_save(struct vmm *vmm, struct snap *s)
{
	struct kvm_msr_list *msrs = msr_index_list(vmm);
	u32 xsize = xsave_size(vmm);
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = {};
	u8 buf[sizeof(struct kvm_lapic_state) + sizeof(struct kvm_sregs) + 4096];
	void *xsave = calloc(1, xsize);
	u32 chip, i, m;
	int c;

	if (!xsave)
		die("calloc");
	for (chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++) {
		struct kvm_irqchip ic = { .chip_id = chip };

		if (ioctl(vmm->vm_fd, KVM_GET_IRQCHIP, &ic))
			die("KVM_GET_IRQCHIP %u", chip);
		snap_put(s, SNAP_X86_IRQCHIP, SNAP_VM, chip, &ic, sizeof(ic));
	}
	if (ioctl(vmm->vm_fd, KVM_GET_PIT2, &pit))
		die("KVM_GET_PIT2");
	snap_put(s, SNAP_X86_PIT, SNAP_VM, 0, &pit, sizeof(pit));
	if (ioctl(vmm->vm_fd, KVM_GET_CLOCK, &clock))
		die("KVM_GET_CLOCK");
	snap_put(s, SNAP_X86_CLOCK, SNAP_VM, 0, &clock, sizeof(clock));

	for (c = 0; c < vmm->nr_vcpus; c++) {
		struct vcpu *vcpu = &vmm->vcpus[c];

		/*
		 * In reverse, the events first: reading them delivers the
		 * payload of a pending exception (CR2 of a #PF: an async PF's
		 * token) into the registers read after.
		 */
		for (i = ARRAY_SIZE(vcpu_state); i-- > 0;) {
			memset(buf, 0, sizeof(buf));
			if (ioctl(vcpu->fd, vcpu_state[i].get, buf))
				die("vcpu %d: the get of %s", c, vcpu_state[i].name);
			snap_put(s, vcpu_state[i].type, c, 0, buf, vcpu_state[i].size);
		}
		if (ioctl(vcpu->fd, xsize > sizeof(struct kvm_xsave) ?
			  KVM_GET_XSAVE2 : KVM_GET_XSAVE, xsave))
			die("vcpu %d: KVM_GET_XSAVE", c);
		snap_put(s, SNAP_X86_XSAVE, c, 0, xsave, xsize);
		/* The index list has what KVM migrates, the MTRRs aside. */
		for (m = 0; m <= msrs->nmsrs; m++) {
			u32 index = m < msrs->nmsrs ? msrs->indices[m] : MSR_MTRR_DEF_TYPE;
			u64 data;

			if (!get_msr(vcpu, index, &data))
				snap_put(s, SNAP_X86_MSR, c, index, &data, sizeof(data));
		}
	}
	free(xsave);
	free(msrs);
}

/*
 * Every MSR saved, in the order saved, but two: the async PF enable word
 * (last, below) and the TSC deadline, which KVM drops unless the local
 * APIC's timer is in TSC-deadline mode (after KVM_SET_LAPIC: restore_msr()).
 * One the new vCPU already holds is not written: KVM lists some that it
 * does not implement on every host (DEBUGCTL without LBR virtualization on
 * AMD), and logs each write of those.  One that KVM refuses is reported
 * and left at its reset value.
 */
static void restore_msrs(struct vcpu *vcpu, const struct snap *s)
{
	const u64 *data;
	size_t pos = 0;
	u64 index, now;
	u32 len;

	while ((data = snap_next(s, &pos, SNAP_X86_MSR, vcpu->id, &index, &len)))
		if (index != MSR_KVM_ASYNC_PF_EN && index != MSR_IA32_TSC_DEADLINE &&
		    (get_msr(vcpu, index, &now) || now != *data) &&
		    set_msr(vcpu, index, *data))
			fprintf(stderr, "vmm: restore: vcpu %d: MSR 0x%llx not restored\n",
				vcpu->id, (unsigned long long)index);
}

/* One saved MSR, if it was saved; 0, or -1 if KVM refused it. */
static int restore_msr(struct vcpu *vcpu, const struct snap *s, u32 index)
{
	u64 data;

	if (!snap_find(s, SNAP_X86_MSR, vcpu->id, index, 8))
		return 0;
	snap_get(s, SNAP_X86_MSR, vcpu->id, index, &data, 8);
	return set_msr(vcpu, index, data);
}

static const char refused_why[] =
	"refused: the guest's async PF has a feature this VM lacks (error status: -e)";

/*
 * Documentation/api.rst's order for async PF: the VM's capability (done
 * by create_vm()), its memslots, CPUID (arch_setup_vcpu()), then
 * MSR_KVM_ASYNC_PF_INT before MSR_KVM_ASYNC_PF_EN, the enable word last:
 * restoring an enabled word queues the wake-all.
 */
int arch_restore(struct vmm *vmm, const struct snap *s)
{
	u32 xsize = xsave_size(vmm), chip, i;
	u8 buf[sizeof(struct kvm_lapic_state) + sizeof(struct kvm_sregs) + 4096];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	void *xsave = calloc(1, xsize);
	u64 apf_en;
	int c;

	if (!xsave)
		die("calloc");
	for (chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++) {
		struct kvm_irqchip ic;

		snap_get(s, SNAP_X86_IRQCHIP, SNAP_VM, chip, &ic, sizeof(ic));
		if (ioctl(vmm->vm_fd, KVM_SET_IRQCHIP, &ic))
			die("restore: KVM_SET_IRQCHIP %u", chip);
	}
	snap_get(s, SNAP_X86_PIT, SNAP_VM, 0, &pit, sizeof(pit));
	if (ioctl(vmm->vm_fd, KVM_SET_PIT2, &pit))
		die("restore: KVM_SET_PIT2");
	snap_get(s, SNAP_X86_CLOCK, SNAP_VM, 0, &clock, sizeof(clock));
	clock.flags = 0;
	if (ioctl(vmm->vm_fd, KVM_SET_CLOCK, &clock))
		die("restore: KVM_SET_CLOCK");

	for (c = 0; c < vmm->nr_vcpus; c++) {
		struct vcpu *vcpu = &vmm->vcpus[c];

		for (i = 0; i < ARRAY_SIZE(vcpu_state); i++) {
			snap_get(s, vcpu_state[i].type, c, 0, buf, vcpu_state[i].size);
			if (vcpu_state[i].type == SNAP_X86_XCRS) {
				/*
				 * XCR0 first: the XSAVE state it enables is
				 * next.  A host without XSAVE gave none
				 * (nr_xcrs 0) and takes none.
				 */
				if (((struct kvm_xcrs *)buf)->nr_xcrs &&
				    ioctl(vcpu->fd, KVM_SET_XCRS, buf))
					die("restore: vcpu %d: KVM_SET_XCRS", c);
				snap_get(s, SNAP_X86_XSAVE, c, 0, xsave, xsize);
				if (ioctl(vcpu->fd, KVM_SET_XSAVE, xsave))
					die("restore: vcpu %d: KVM_SET_XSAVE", c);
				continue;
			}
			if (vcpu_state[i].type == SNAP_X86_LAPIC)
				restore_msrs(vcpu, s);
			if (ioctl(vcpu->fd, vcpu_state[i].set, buf))
				die("restore: vcpu %d: %s", c, vcpu_state[i].name);
			if (vcpu_state[i].type == SNAP_X86_LAPIC &&
			    restore_msr(vcpu, s, MSR_IA32_TSC_DEADLINE))
				die("restore: vcpu %d: MSR_IA32_TSC_DEADLINE", c);
		}
	}
	free(xsave);

	/* Async PF last, the enable word after its interrupt vector. */
	for (c = 0; c < vmm->nr_vcpus; c++) {
		struct vcpu *vcpu = &vmm->vcpus[c];
		u64 on = KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT;

		if (!snap_find(s, SNAP_X86_MSR, c, MSR_KVM_ASYNC_PF_EN, 8))
			continue;
		snap_get(s, SNAP_X86_MSR, c, MSR_KVM_ASYNC_PF_EN, &apf_en, 8);
		if (set_msr(vcpu, MSR_KVM_ASYNC_PF_EN, apf_en)) {
			fprintf(stderr, "vmm: restore: vcpu %d: KVM_SET_MSRS %s %#llx: %s\n",
				c, "MSR_KVM_ASYNC_PF_EN", (unsigned long long)apf_en, refused_why);
			return -1;
		}
		/* On, as an interrupt: where its "page ready" token is. */
		if ((apf_en & on) == on)
			vcpu->apf_slot = (apf_en & ~0x3fULL) + 4;
	}
	return 0;
}
