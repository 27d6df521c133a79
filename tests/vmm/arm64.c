// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM's arm64 part: Linux's arm64 boot protocol
 * (Documentation/arch/arm64/booting.rst), a generated device tree (the
 * kernel's own libfdt), KVM's vGICv3, PSCI through KVM, and the MMIO the
 * console and the test device need.
 *
 * Guest-physical layout (below RAM as QEMU's "virt" machine has it):
 *   0x01000000  16550 UART (8 byte registers), SPI 0 (INTID 32)
 *   0x01001000  the test device (vmm.c's ctl_read()/ctl_write())
 *   0x08000000  vGICv3 distributor (64 KiB)
 *   0x080a0000  vGICv3 redistributors (128 KiB per vCPU)
 *   0x80000000  RAM: the kernel at its start + text_offset, then the
 *               initramfs and the device tree, each 2 MiB aligned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libfdt.h>
#include <linux/kernel.h>

#include "vmm.h"

#define RAM_BASE		0x80000000ULL
#define UART_BASE		0x01000000ULL
#define UART_SIZE		8
#define UART_SPI		0
#define CTL_BASE		0x01001000ULL
#define GICD_BASE		0x08000000ULL
#define GICD_SIZE		0x10000ULL
#define GICR_BASE		0x080a0000ULL
#define GICR_SIZE		0x20000ULL	/* per vCPU */
#define GIC_NR_IRQS		128		/* SGIs, PPIs and 96 SPIs */
#define GIC_PHANDLE		1

#define SZ_2M			0x200000ULL
#define ALIGN_2M(x)		(((x) + SZ_2M - 1) & ~(SZ_2M - 1))
#define FDT_MAX_SIZE		0x10000

/* The device tree's interrupt specifiers (bindings/interrupt-controller/arm,gic-v3.yaml). */
#define GIC_SPI			0
#define GIC_PPI			1
#define IRQ_TYPE_LEVEL_HIGH	4

/* The 64-byte header of an arm64 Image (booting.rst). */
struct arm64_image_header {
	u32 code0;
	u32 code1;
	u64 text_offset;
	u64 image_size;		/* 0: an old kernel, text_offset 0x80000 */
	u64 flags;
	u64 res2, res3, res4;
	u32 magic;		/* "ARM\x64" */
	u32 res5;
};

#define ARM64_IMAGE_MAGIC	0x644d5241
#define ARM64_IMAGE_FLAG_BE	BIT(0)	/* flags bit 0: a big-endian kernel */

#define CORE_REG(name)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 KVM_REG_ARM_CORE_REG(name))
#define MPIDR_EL1	ARM64_SYS_REG(3, 0, 0, 0, 5)
#define MPIDR_HWID_MASK	0xffffffULL	/* Aff2..Aff0: the cpu nodes' reg */

static u64 kernel_entry;
static u64 initrd_start, initrd_end;
static u64 fdt_addr;
static u64 mpidr[8];		/* of each vCPU, for the cpu nodes */
static int vgic_fd = -1;

static void vgic_set_attr(u32 group, u64 attr, void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)val,
	};

	if (ioctl(vgic_fd, KVM_SET_DEVICE_ATTR, &a))
		die("vGIC attribute %u/%llu", group, (unsigned long long)attr);
}

/*
 * KVM's GICv3: distributor and redistributors at fixed addresses, the
 * number of interrupts; it is initialised once every vCPU exists
 * (arch_vcpus_created()).
 */
void arch_create_vm(struct vmm *vmm)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	u64 dist = GICD_BASE, redist = GICR_BASE;
	u32 nr_irqs = GIC_NR_IRQS;

	vmm->ram_base = RAM_BASE;
	/* -G: KVM offers the abort ("not present" as an exception) anyway. */
	if (ioctl(vmm->vm_fd, KVM_CREATE_DEVICE, &dev))
		die("KVM_CREATE_DEVICE vGICv3");
	vgic_fd = dev.fd;
	vgic_set_attr(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist);
	vgic_set_attr(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	vgic_set_attr(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
}

void arch_uart_irq(struct vmm *vmm, int level)
{
	struct kvm_irq_level irq = {
		.irq = KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT |
		       (32 + UART_SPI),
		.level = level,
	};

	if (ioctl(vmm->vm_fd, KVM_IRQ_LINE, &irq))
		die("KVM_IRQ_LINE");
}

/*
 * Load the Image at the start of RAM + text_offset (a 2 MiB aligned base
 * as close to the start of RAM as can be), the initramfs after it; the
 * device tree goes after that once the vCPUs exist (their MPIDRs).
 */
void arch_load_guest(struct vmm *vmm)
{
	struct arm64_image_header *hdr;
	u64 kernel_addr, text_offset, image_size, end;
	size_t size;
	u8 *image;

	image = read_file(vmm->kernel, &size);
	errno = 0;
	hdr = (struct arm64_image_header *)image;
	if (size < sizeof(*hdr) || hdr->magic != ARM64_IMAGE_MAGIC)
		die("%s: not an arm64 Image", vmm->kernel);
	if (hdr->flags & ARM64_IMAGE_FLAG_BE)
		die("%s: a big-endian kernel", vmm->kernel);
	text_offset = hdr->text_offset;
	image_size = hdr->image_size;
	if (!image_size) {
		/* Before Linux 3.17: text_offset is not to be trusted. */
		text_offset = 0x80000;
		image_size = size;
	}
	if (image_size < size)
		image_size = size;
	kernel_addr = RAM_BASE + text_offset;
	/* The whole image_size (with BSS) must fit, not only the file. */
	memcpy(gpa_to_hva(vmm, kernel_addr, image_size), image, size);
	kernel_entry = kernel_addr;
	free(image);
	end = ALIGN_2M(kernel_addr + image_size);

	initrd_start = 0;
	initrd_end = 0;
	if (vmm->initrd) {
		void *initrd = read_file(vmm->initrd, &size);

		initrd_start = end;
		initrd_end = initrd_start + size;
		memcpy(gpa_to_hva(vmm, initrd_start, size), initrd, size);
		free(initrd);
		end = ALIGN_2M(initrd_end);
	}
	fdt_addr = end;
	/* Check now that it fits: 8-byte aligned, within 2 MiB. */
	gpa_to_hva(vmm, fdt_addr, FDT_MAX_SIZE);
}

/* 0, or -1 with errno if KVM refuses it. */
static int set_reg_ok(struct vcpu *vcpu, u64 id, u64 val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	return ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg);
}

static void set_reg(struct vcpu *vcpu, u64 id, u64 val)
{
	if (set_reg_ok(vcpu, id, val))
		die("KVM_SET_ONE_REG 0x%llx", (unsigned long long)id);
}

static u64 get_reg(struct vcpu *vcpu, u64 id)
{
	u64 val = 0;
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg))
		die("KVM_GET_ONE_REG 0x%llx", (unsigned long long)id);
	return val;
}

/*
 * The vCPU as KVM's preferred target, with PSCI 0.2 in KVM; all but vCPU 0
 * start powered off (Linux starts them with PSCI CPU_ON).  vCPU 0 enters
 * the kernel as booting.rst wants: MMU off (KVM's reset state), EL1h with
 * DAIF masked, x0 = the device tree, x1-x3 = 0.
 */
void arch_setup_vcpu(struct vcpu *vcpu)
{
	struct kvm_vcpu_init init;

	if (vcpu->id >= (int)ARRAY_SIZE(mpidr)) {
		errno = 0;
		die("vcpu %d: too many", vcpu->id);
	}
	if (ioctl(vcpu->vmm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		die("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= BIT(KVM_ARM_VCPU_PSCI_0_2);
	if (vcpu->id)
		init.features[0] |= BIT(KVM_ARM_VCPU_POWER_OFF);
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init))
		die("KVM_ARM_VCPU_INIT");
	mpidr[vcpu->id] = get_reg(vcpu, MPIDR_EL1);
	/* -n: async PF not offered (the guest's discovery finds no service). */
	if (vcpu->vmm->no_apf)
		set_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP,
			get_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP) &
			~BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF));
	/* -O: batched "page ready" not offered (INFO does not name it). */
	if (vcpu->vmm->no_ready_ring)
		set_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP,
			get_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP) &
			~BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_RING));
	/* -A: "not present" as the SDEI event, not an abort. */
	if (vcpu->vmm->no_exception)
		set_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP,
			get_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP) &
			~BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT));
	if (vcpu->id || vcpu->vmm->restore_dir)
		return;
	set_reg(vcpu, CORE_REG(regs.pstate), PSR_MODE_EL1h | PSR_D_BIT |
		PSR_A_BIT | PSR_I_BIT | PSR_F_BIT);
	set_reg(vcpu, CORE_REG(regs.regs[0]), fdt_addr);
	set_reg(vcpu, CORE_REG(regs.regs[1]), 0);
	set_reg(vcpu, CORE_REG(regs.regs[2]), 0);
	set_reg(vcpu, CORE_REG(regs.regs[3]), 0);
	set_reg(vcpu, CORE_REG(regs.pc), kernel_entry);
}

/* libfdt's sequential-write calls, each checked. */
static void fdt_check(int err, const char *what)
{
	if (err) {
		errno = 0;
		die("device tree: %s: %s", what, fdt_strerror(err));
	}
}

#define FDT(call)	fdt_check(call, #call)

static void fdt_reg(void *fdt, u64 addr, u64 size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };

	FDT(fdt_property(fdt, "reg", reg, sizeof(reg)));
}

static void fdt_irq(void *fdt, u32 type, u32 nr, u32 flags)
{
	fdt32_t irq[3] = {
		cpu_to_fdt32(type), cpu_to_fdt32(nr), cpu_to_fdt32(flags)
	};

	FDT(fdt_property(fdt, "interrupts", irq, sizeof(irq)));
}

static void fdt_cpus(void *fdt, struct vmm *vmm)
{
	char name[32];
	int i;

	FDT(fdt_begin_node(fdt, "cpus"));
	FDT(fdt_property_cell(fdt, "#address-cells", 1));
	FDT(fdt_property_cell(fdt, "#size-cells", 0));
	for (i = 0; i < vmm->nr_vcpus; i++) {
		u32 hwid = mpidr[i] & MPIDR_HWID_MASK;

		snprintf(name, sizeof(name), "cpu@%x", hwid);
		FDT(fdt_begin_node(fdt, name));
		FDT(fdt_property_string(fdt, "device_type", "cpu"));
		FDT(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		FDT(fdt_property_string(fdt, "enable-method", "psci"));
		FDT(fdt_property_cell(fdt, "reg", hwid));
		FDT(fdt_end_node(fdt));
	}
	FDT(fdt_end_node(fdt));
}

static void fdt_gic(void *fdt, struct vmm *vmm)
{
	fdt64_t reg[4] = {
		cpu_to_fdt64(GICD_BASE), cpu_to_fdt64(GICD_SIZE),
		cpu_to_fdt64(GICR_BASE),
		cpu_to_fdt64(GICR_SIZE * vmm->nr_vcpus),
	};
	char name[32];

	snprintf(name, sizeof(name), "intc@%llx", GICD_BASE);
	FDT(fdt_begin_node(fdt, name));
	FDT(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
	FDT(fdt_property_cell(fdt, "#interrupt-cells", 3));
	FDT(fdt_property(fdt, "interrupt-controller", NULL, 0));
	FDT(fdt_property(fdt, "reg", reg, sizeof(reg)));
	FDT(fdt_property_cell(fdt, "phandle", GIC_PHANDLE));
	FDT(fdt_end_node(fdt));
}

/*
 * The arch timer's four PPIs, in the binding's order: secure physical
 * (INTID 29), non-secure physical (30), virtual (27), hypervisor (26).
 */
static void fdt_timer(void *fdt)
{
	static const u32 ppis[] = { 13, 14, 11, 10 };
	fdt32_t irqs[ARRAY_SIZE(ppis) * 3];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ppis); i++) {
		irqs[3 * i] = cpu_to_fdt32(GIC_PPI);
		irqs[3 * i + 1] = cpu_to_fdt32(ppis[i]);
		irqs[3 * i + 2] = cpu_to_fdt32(IRQ_TYPE_LEVEL_HIGH);
	}
	FDT(fdt_begin_node(fdt, "timer"));
	FDT(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	FDT(fdt_property(fdt, "interrupts", irqs, sizeof(irqs)));
	FDT(fdt_end_node(fdt));
}

static void fdt_uart(void *fdt, const char *name)
{
	FDT(fdt_begin_node(fdt, name));
	FDT(fdt_property_string(fdt, "compatible", "ns16550a"));
	fdt_reg(fdt, UART_BASE, UART_SIZE);
	FDT(fdt_property_cell(fdt, "reg-shift", 0));
	FDT(fdt_property_cell(fdt, "reg-io-width", 1));
	FDT(fdt_property_cell(fdt, "clock-frequency", 1843200));
	fdt_irq(fdt, GIC_SPI, UART_SPI, IRQ_TYPE_LEVEL_HIGH);
	FDT(fdt_end_node(fdt));
}

/*
 * The device tree: memory, the vCPUs (PSCI), PSCI and SDEI over HVC (both
 * answered by KVM; our guest's async PF registers its SDEI event with
 * Linux's arm_sdei driver, which needs /firmware/sdei), the vGICv3 as the
 * root's interrupt parent, the arch timer, the UART, /chosen.
 */
static void write_fdt(struct vmm *vmm)
{
	static const char psci_compat[] = "arm,psci-1.0\0arm,psci-0.2";
	void *fdt = gpa_to_hva(vmm, fdt_addr, FDT_MAX_SIZE);
	char uart[32], name[32];

	/* "/serial@...": stdout-path, and the node name without "/" */
	snprintf(uart, sizeof(uart), "/serial@%llx", UART_BASE);
	FDT(fdt_create(fdt, FDT_MAX_SIZE));
	FDT(fdt_finish_reservemap(fdt));
	FDT(fdt_begin_node(fdt, ""));
	FDT(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	FDT(fdt_property_string(fdt, "model", "refvmm"));
	FDT(fdt_property_cell(fdt, "#address-cells", 2));
	FDT(fdt_property_cell(fdt, "#size-cells", 2));
	FDT(fdt_property_cell(fdt, "interrupt-parent", GIC_PHANDLE));

	FDT(fdt_begin_node(fdt, "chosen"));
	FDT(fdt_property_string(fdt, "bootargs", vmm->cmdline));
	if (vmm->initrd) {
		FDT(fdt_property_u64(fdt, "linux,initrd-start", initrd_start));
		FDT(fdt_property_u64(fdt, "linux,initrd-end", initrd_end));
	}
	FDT(fdt_property_string(fdt, "stdout-path", uart));
	FDT(fdt_end_node(fdt));

	snprintf(name, sizeof(name), "memory@%llx",
		 (unsigned long long)vmm->ram_base);
	FDT(fdt_begin_node(fdt, name));
	FDT(fdt_property_string(fdt, "device_type", "memory"));
	fdt_reg(fdt, vmm->ram_base, vmm->ram_size);
	FDT(fdt_end_node(fdt));

	fdt_cpus(fdt, vmm);

	FDT(fdt_begin_node(fdt, "psci"));
	FDT(fdt_property(fdt, "compatible", psci_compat, sizeof(psci_compat)));
	FDT(fdt_property_string(fdt, "method", "hvc"));
	FDT(fdt_end_node(fdt));

	FDT(fdt_begin_node(fdt, "firmware"));
	FDT(fdt_begin_node(fdt, "sdei"));
	FDT(fdt_property_string(fdt, "compatible", "arm,sdei-1.0"));
	FDT(fdt_property_string(fdt, "method", "hvc"));
	FDT(fdt_end_node(fdt));
	FDT(fdt_end_node(fdt));

	fdt_gic(fdt, vmm);
	fdt_timer(fdt);
	fdt_uart(fdt, uart + 1);

	FDT(fdt_end_node(fdt));
	FDT(fdt_finish(fdt));
}

/*
 * All vCPUs exist: their MPIDRs are known, so the device tree can be
 * written, and the vGIC (which sizes its redistributors by them) set up.
 */
/* The console on the 16550 from the first line (earlycon). */
const char arch_cmdline[] =
	"console=ttyS0 earlycon=uart8250,mmio,0x01000000 panic=-1";

static u64 apf_ctrl(struct vcpu *vcpu)
{
	struct kvm_one_reg reg = { .id = KVM_REG_ARM_APF_CTRL };
	u64 val = 0;

	/* Not offered (-n: the vendor hypercall bit clear): no such register. */
	reg.addr = (uintptr_t)&val;
	if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg)) {
		if (errno == ENOENT)
			return 0;
		die("KVM_GET_ONE_REG KVM_REG_ARM_APF_CTRL");
	}
	return val;
}

int arch_apf_enabled(struct vcpu *vcpu)
{
	return !!(apf_ctrl(vcpu) & KVM_APF_ARM64_ENABLED);
}

/* The guest took "not present" as an abort (KVM_APF_ARM64_DELIVERY_AS_ABORT). */
int arch_apf_exception(struct vcpu *vcpu)
{
	return !!(apf_ctrl(vcpu) & KVM_APF_ARM64_DELIVERY_AS_ABORT);
}

void arch_vcpus_created(struct vmm *vmm)
{
	/* A restored guest has its device tree in its RAM image. */
	if (!vmm->restore_dir)
		write_fdt(vmm);
	vgic_set_attr(KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
}

static enum exit_action handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 addr = run->mmio.phys_addr;
	u8 *data = run->mmio.data;
	int write = run->mmio.is_write;

	if (addr >= UART_BASE && addr < UART_BASE + UART_SIZE &&
	    run->mmio.len == 1) {
		if (write)
			uart_write(vcpu->vmm, addr - UART_BASE, data[0]);
		else
			data[0] = uart_read(vcpu->vmm, addr - UART_BASE);
		return EXIT_CONTINUE;
	}
	if (addr == CTL_BASE && run->mmio.len == 1) {
		if (write)
			ctl_write(vcpu, data[0]);
		else
			data[0] = ctl_read(vcpu);
		return EXIT_CONTINUE;
	}
	/* Nothing else: reads float high, writes are dropped. */
	if (!write)
		memset(data, 0xff, run->mmio.len);
	return EXIT_CONTINUE;
}

enum exit_action arch_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		return handle_mmio(vcpu);
	default:
		fprintf(stderr, "vmm: vcpu %d: unhandled exit reason %u\n",
			vcpu->id, run->exit_reason);
		return EXIT_ERROR;
	}
}

void arch_dump_vcpu(struct vcpu *vcpu)
{
	fprintf(stderr,
		"vmm: vcpu %d pc %llx pstate %llx sp_el1 %llx sp_el0 %llx x0 %llx\n",
		vcpu->id,
		(unsigned long long)get_reg(vcpu, CORE_REG(regs.pc)),
		(unsigned long long)get_reg(vcpu, CORE_REG(regs.pstate)),
		(unsigned long long)get_reg(vcpu, CORE_REG(sp_el1)),
		(unsigned long long)get_reg(vcpu, CORE_REG(regs.sp)),
		(unsigned long long)get_reg(vcpu, CORE_REG(regs.regs[0])));
}

/*
 * Snapshots: the records of an arm64 VM, as Firecracker and QEMU keep them.
 * Each vCPU's: every register KVM_GET_REG_LIST names (core, FP/SIMD,
 * system registers, the timers, the firmware pseudo-registers, our async
 * PF ones among them), in the list's order, its pending events
 * (KVM_GET_VCPU_EVENTS) and its run state (PSCI CPU_OFF parks a vCPU).
 * The vGICv3's (KVM_{GET,SET}_DEVICE_ATTR on it, one record per 32- or
 * 64-bit access, key = the group << 32 | the attribute's low word): the
 * distributor's registers for the SPIs and the SPIs' line levels (the
 * VM's), each vCPU's redistributor (RD and SGI frames) and CPU interface
 * system registers (the vCPU's; their attribute gets its MPIDR).  Restore
 * puts them back in the order saved, so the order here is the restore's.
 *
 * Not saved: the PPIs' line levels (the timers are KVM's own inputs, set
 * again from their restored state; "page ready" is edge-triggered, raised
 * again from KVM_REG_ARM_APF_CTRL), LPIs and
 * the ITS (the VM has none: GICR_PROPBASER/PENDBASER are kept anyway).
 */
enum {
	SNAP_ARM64_REG = SNAP_ARCH,	/* key: the register's id */
	SNAP_ARM64_EVENTS,
	SNAP_ARM64_MP_STATE,
	SNAP_ARM64_GIC,			/* key: group << 32 | attr[31:0] */
};

#define SPI_START		32
#define GICD_CTLR		0x0000
#define GICD_IIDR		0x0008
#define GICD_IGROUPR		0x0080
#define GICD_ISENABLER		0x0100
#define GICD_ISPENDR		0x0200
#define GICD_ISACTIVER		0x0300
#define GICD_IPRIORITYR		0x0400
#define GICD_ICFGR		0x0c00
#define GICD_IROUTER		0x6000
#define GICR_CTLR		0x0000
#define GICR_PROPBASER		0x0070
#define GICR_PENDBASER		0x0078
#define GICR_SGI		0x10000	/* the SGI frame, after RD_base */
#define GICR_IGROUPR0		(GICR_SGI + 0x0080)
#define GICR_ISENABLER0		(GICR_SGI + 0x0100)
#define GICR_ISPENDR0		(GICR_SGI + 0x0200)
#define GICR_ISACTIVER0		(GICR_SGI + 0x0300)
#define GICR_IPRIORITYR0	(GICR_SGI + 0x0400)
#define GICR_ICFGR0		(GICR_SGI + 0x0c00)

/* The CPU interface's registers: the low 16 bits of their KVM reg id. */
#define ICC(op1, crn, crm, op2)	(ARM64_SYS_REG(3, op1, crn, crm, op2) & 0xffff)
#define ICC_PMR_EL1		ICC(0, 4, 6, 0)
#define ICC_BPR0_EL1		ICC(0, 12, 8, 3)
#define ICC_AP0R_EL1(n)		ICC(0, 12, 8, 4 | (n))
#define ICC_AP1R_EL1(n)		ICC(0, 12, 9, (n))
#define ICC_BPR1_EL1		ICC(0, 12, 12, 3)
#define ICC_CTLR_EL1		ICC(0, 12, 12, 4)
#define ICC_SRE_EL1		ICC(0, 12, 12, 5)
#define ICC_IGRPEN0_EL1		ICC(0, 12, 12, 6)
#define ICC_IGRPEN1_EL1		ICC(0, 12, 12, 7)
#define ICC_CTLR_PRIBITS(v)	((((v) >> 8) & 7) + 1)

/* The vGIC attributes' mpidr field: Aff3..Aff0 in bits 63..32. */
static u64 vgic_mpidr(int vcpu)
{
	u64 m = mpidr[vcpu];

	return ((m >> 32 & 0xff) << 56) | ((m & MPIDR_HWID_MASK) << 32);
}

static int vgic_access(int set, u32 group, u64 attr, void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)val,
	};

	return ioctl(vgic_fd, set ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR, &a);
}

/* Save one vGIC register (@len 4 or 8 bytes) as a record of @vcpu. */
static void gic_save(struct snap *s, u32 vcpu, u32 group, u32 attr, u32 len)
{
	/* The VM's: the distributor ignores it, the SPIs' levels need one. */
	u64 mp = vgic_mpidr(vcpu == SNAP_VM ? 0 : vcpu);
	u64 val = 0;

	if (vgic_access(0, group, mp | attr, &val))
		die("vGIC: get of %u/%#x (vcpu %d)", group, attr, (int)vcpu);
	snap_put(s, SNAP_ARM64_GIC, vcpu, (u64)group << 32 | attr, &val, len);
}

/* @n 32-bit registers from @off (the SPIs' part of a per-IRQ range). */
static void gic_save_range(struct snap *s, u32 vcpu, u32 group, u32 off,
			   u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		gic_save(s, vcpu, group, off + 4 * i, 4);
}

/* The first 32-bit register of @base's range with the SPIs' bits. */
#define SPI_REG(base, bits)	((base) + SPI_START * (bits) / 8)
#define SPI_REGS(bits)		((GIC_NR_IRQS - SPI_START) * (bits) / 32)

/*
 * The distributor, in the order QEMU restores it: IIDR first (the API's
 * rule), the control register, the SPIs' configuration (group, trigger,
 * priority, route), their line levels, then their pending, active and
 * enabled state.
 */
static void gic_save_dist(struct snap *s)
{
	const u32 g = KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
	u32 i;

	gic_save(s, SNAP_VM, g, GICD_IIDR, 4);
	gic_save(s, SNAP_VM, g, GICD_CTLR, 4);
	gic_save_range(s, SNAP_VM, g, SPI_REG(GICD_IGROUPR, 1), SPI_REGS(1));
	gic_save_range(s, SNAP_VM, g, SPI_REG(GICD_ICFGR, 2), SPI_REGS(2));
	gic_save_range(s, SNAP_VM, g, SPI_REG(GICD_IPRIORITYR, 8), SPI_REGS(8));
	/* 64-bit GICD_IROUTER<n>, a word at a time (the API's rule). */
	gic_save_range(s, SNAP_VM, g, SPI_REG(GICD_IROUTER, 64), SPI_REGS(64));
	for (i = SPI_START; i < GIC_NR_IRQS; i += 32)
		gic_save(s, SNAP_VM, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
			 VGIC_LEVEL_INFO_LINE_LEVEL <<
			 KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT | i, 4);
	gic_save_range(s, SNAP_VM, g, SPI_REG(GICD_ISPENDR, 1), SPI_REGS(1));
	gic_save_range(s, SNAP_VM, g, SPI_REG(GICD_ISACTIVER, 1), SPI_REGS(1));
	gic_save_range(s, SNAP_VM, g, SPI_REG(GICD_ISENABLER, 1), SPI_REGS(1));
}

/*
 * A vCPU's redistributor (its SGIs and PPIs), then its CPU interface:
 * ICC_SRE_EL1 and ICC_CTLR_EL1 first, the active priority registers that
 * the CTLR's number of priority bits gives (as Firecracker).
 */
static void gic_save_vcpu(struct snap *s, int c)
{
	const u32 g = KVM_DEV_ARM_VGIC_GRP_REDIST_REGS;
	const u32 icc = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS;
	static const u32 icc_regs[] = {
		ICC_SRE_EL1, ICC_CTLR_EL1, ICC_IGRPEN0_EL1, ICC_IGRPEN1_EL1,
		ICC_PMR_EL1, ICC_BPR0_EL1, ICC_BPR1_EL1,
	};
	u64 ctlr = 0;
	u32 i, nr_apr;

	gic_save_range(s, c, g, GICR_PROPBASER, 2);
	gic_save_range(s, c, g, GICR_PENDBASER, 2);
	gic_save(s, c, g, GICR_CTLR, 4);
	gic_save(s, c, g, GICR_IGROUPR0, 4);
	gic_save_range(s, c, g, GICR_ICFGR0, 2);
	gic_save_range(s, c, g, GICR_IPRIORITYR0, 8);
	gic_save(s, c, g, GICR_ISPENDR0, 4);
	gic_save(s, c, g, GICR_ISACTIVER0, 4);
	gic_save(s, c, g, GICR_ISENABLER0, 4);

	for (i = 0; i < ARRAY_SIZE(icc_regs); i++)
		gic_save(s, c, icc, icc_regs[i], 8);
	if (vgic_access(0, icc, vgic_mpidr(c) | ICC_CTLR_EL1, &ctlr))
		die("vGIC: vcpu %d: ICC_CTLR_EL1", c);
	/* 5 priority bits: APnR0; 6: and APnR1; 7: APnR0-3. */
	nr_apr = ICC_CTLR_PRIBITS(ctlr) >= 7 ? 4 :
		 ICC_CTLR_PRIBITS(ctlr) == 6 ? 2 : 1;
	for (i = 0; i < nr_apr; i++)
		gic_save(s, c, icc, ICC_AP0R_EL1(i), 8);
	for (i = 0; i < nr_apr; i++)
		gic_save(s, c, icc, ICC_AP1R_EL1(i), 8);
}

static struct kvm_reg_list *reg_list(struct vcpu *vcpu)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;

	if (!ioctl(vcpu->fd, KVM_GET_REG_LIST, &probe) || errno != E2BIG)
		die("vcpu %d: KVM_GET_REG_LIST", vcpu->id);
	list = calloc(1, sizeof(*list) + probe.n * sizeof(u64));
	if (!list)
		die("calloc");
	list->n = probe.n;
	if (ioctl(vcpu->fd, KVM_GET_REG_LIST, list))
		die("vcpu %d: KVM_GET_REG_LIST", vcpu->id);
	return list;
}

#define REG_MAX_SIZE	256	/* an SVE Z register at its 2048 bits */

static u32 reg_size(u64 id)
{
	return 1U << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

void arch_save(struct vmm *vmm, struct snap *s)
{
	u8 buf[REG_MAX_SIZE] __aligned(16);
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	int c;

	for (c = 0; c < vmm->nr_vcpus; c++) {
		struct vcpu *vcpu = &vmm->vcpus[c];
		struct kvm_reg_list *list = reg_list(vcpu);
		u64 i;

		for (i = 0; i < list->n; i++) {
			u64 id = list->reg[i];
			struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)buf };

			if (reg_size(id) > sizeof(buf)) {
				errno = 0;
				die("vcpu %d: register 0x%llx has %u bytes", c,
				    (unsigned long long)id, reg_size(id));
			}
			if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg))
				die("vcpu %d: KVM_GET_ONE_REG 0x%llx", c,
				    (unsigned long long)id);
			snap_put(s, SNAP_ARM64_REG, c, id, buf, reg_size(id));
		}
		free(list);
		memset(&events, 0, sizeof(events));
		if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &events))
			die("vcpu %d: KVM_GET_VCPU_EVENTS", c);
		snap_put(s, SNAP_ARM64_EVENTS, c, 0, &events, sizeof(events));
		if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp))
			die("vcpu %d: KVM_GET_MP_STATE", c);
		snap_put(s, SNAP_ARM64_MP_STATE, c, 0, &mp, sizeof(mp));
	}
	gic_save_dist(s);
	for (c = 0; c < vmm->nr_vcpus; c++)
		gic_save_vcpu(s, c);
}

/* The vGIC records of @vcpu (SNAP_VM: the VM's), in the order saved. */
static void gic_restore(const struct snap *s, u32 vcpu)
{
	/* The VM's: the distributor ignores it, the SPIs' levels need one. */
	u64 mp = vgic_mpidr(vcpu == SNAP_VM ? 0 : vcpu);
	const void *data;
	size_t pos = 0;
	u64 key, val;
	u32 len;

	while ((data = snap_next(s, &pos, SNAP_ARM64_GIC, vcpu, &key, &len))) {
		val = 0;
		memcpy(&val, data, len < sizeof(val) ? len : sizeof(val));
		if (vgic_access(1, key >> 32, mp | (u32)key, &val))
			die("restore: vGIC: set of %u/%#x (vcpu %d) to %#llx",
			    (u32)(key >> 32), (u32)key, (int)vcpu,
			    (unsigned long long)val);
	}
}

/*
 * Firecracker's order: each vCPU's registers in the list's order, then
 * its run state; then the vGIC: the distributor, each vCPU's
 * redistributor and CPU interface.  Documentation/api.rst's for async PF:
 * the VM's capability and memslots (create_vm()), the firmware registers,
 * KVM_REG_ARM_APF_CTRL last of all: restoring an enabled word queues the
 * wake-all, which now finds the vGIC as the guest left it.  A "page ready"
 * raised and not yet acknowledged is in that word too
 * (KVM_APF_ARM64_READY_RAISED): KVM raises it again, and the VMM raises
 * no PPI of its own.
 */
int arch_restore(struct vmm *vmm, const struct snap *s)
{
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	const void *data;
	u64 id, ctrl;
	size_t pos;
	u32 len;
	int c;

	for (c = 0; c < vmm->nr_vcpus; c++) {
		struct vcpu *vcpu = &vmm->vcpus[c];

		/* The vGIC's records name the vCPUs by their MPIDRs. */
		snap_get(s, SNAP_ARM64_REG, c, MPIDR_EL1, &id, 8);
		if (id != mpidr[c]) {
			errno = 0;
			die("restore: vcpu %d: MPIDR_EL1 %#llx, not the snapshot's %#llx",
			    c, (unsigned long long)mpidr[c],
			    (unsigned long long)id);
		}
		pos = 0;
		while ((data = snap_next(s, &pos, SNAP_ARM64_REG, c, &id, &len))) {
			u8 buf[REG_MAX_SIZE] __aligned(16);
			struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)buf };

			if (id == KVM_REG_ARM_APF_CTRL)
				continue;
			if (len != reg_size(id) || len > sizeof(buf)) {
				errno = 0;
				die("restore: vcpu %d: register 0x%llx with %u bytes",
				    c, (unsigned long long)id, len);
			}
			memcpy(buf, data, len);
			if (ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg))
				die("restore: vcpu %d: KVM_SET_ONE_REG 0x%llx", c,
				    (unsigned long long)id);
		}
		snap_get(s, SNAP_ARM64_EVENTS, c, 0, &events, sizeof(events));
		if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events))
			die("restore: vcpu %d: KVM_SET_VCPU_EVENTS", c);
		snap_get(s, SNAP_ARM64_MP_STATE, c, 0, &mp, sizeof(mp));
		if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp))
			die("restore: vcpu %d: KVM_SET_MP_STATE %u", c,
			    mp.mp_state);
	}
	gic_restore(s, SNAP_VM);
	for (c = 0; c < vmm->nr_vcpus; c++)
		gic_restore(s, c);

	for (c = 0; c < vmm->nr_vcpus; c++) {
		/* Absent: the source did not offer async PF (-n). */
		if (!snap_find(s, SNAP_ARM64_REG, c, KVM_REG_ARM_APF_CTRL, 8))
			continue;
		snap_get(s, SNAP_ARM64_REG, c, KVM_REG_ARM_APF_CTRL, &ctrl, 8);
		if (!set_reg_ok(&vmm->vcpus[c], KVM_REG_ARM_APF_CTRL, ctrl)) {
			if (ctrl & KVM_APF_ARM64_READY_RAISED)
				fprintf(stderr,
					"vmm: restore: vcpu %d: a page ready raised on the source, not yet acknowledged: KVM raises it again\n",
					c);
			continue;
		}
		fprintf(stderr,
			"vmm: restore: vcpu %d: KVM_SET_ONE_REG refused KVM_REG_ARM_APF_CTRL 0x%llx: the guest had async PF with a feature this VM does not offer (error status needs KVM_APF_FEATURE_GUEST_ERROR: -e)\n",
			c, (unsigned long long)ctrl);
		return -1;
	}
	return 0;
}
