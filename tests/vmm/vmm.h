/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference VMM: what the generic part (vmm.c) and an arch part
 * (x86_64.c, arm64.c) share.
 */
#ifndef REFVMM_H
#define REFVMM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
/* tools/include: the kernel's types and attributes, as the selftests have them */
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/kvm.h>
#include <linux/types.h>

struct vcpu;

struct vmm {
	int kvm_fd;
	int vm_fd;
	struct vcpu *vcpus;
	int mem_fd;		/* the memfd behind guest RAM */
	u8 *ram;		/* guest RAM, mapped at guest-physical ram_base */
	u64 ram_base;		/* set by the arch (x86: 0) */
	u64 ram_size;
	const char *kernel;	/* path of the kernel image */
	const char *initrd;	/* path of the initramfs, or NULL */
	const char *cmdline;
	int nr_vcpus;
	int xsave_legacy;	/* x86 -x: no XSAVE state beyond SSE */
	u64 apf_features;	/* KVM_ENABLE_CAP(KVM_CAP_APF_FEATURES) */
	int test;		/* -T: report the test device's verdict */
	int no_apf;		/* -n: do not offer the guest async PF */
	int no_ready_ring;	/* -O: do not offer batched "page ready" */
	int no_exception;	/* -A: nor "not present" as #VE / abort */
	int ve_on_tcg;		/* x86 -G: #VE "not present" on QEMU's TCG */
	int boot;		/* 0, then one more after each reset */

	/* Late memory (mem.c) */
	unsigned int delay_us;	/* -d: a dropped page is served this late */
	int delay_all;		/* -a: every missing page, from the start */
	int uffd;		/* registered on RAM, or -1 */
	pthread_t uffd_thread;
	pthread_mutex_t mem_lock;
	u8 *shadow;		/* the copies of dropped pages */
	u8 *saved;		/* bitmap: pages with a copy to serve */
	u8 *dropped;		/* bitmap: those the guest dropped (-P skips) */
	u8 *lost;		/* bitmap: pages a restore cannot serve */
	u8 *lose;		/* bitmap: pages the next snapshot leaves out */
	const struct snap *snap;	/* while restoring: the snapshot */
	unsigned long served;	/* pages the server filled */
	int wake[2];		/* a pipe: wakes the server for new work */
	int ring_efd;		/* -X: signalled by KVM for each notice */
	unsigned long posted;	/* -X: notices read from the rings */
	unsigned long accepted;	/* VMM-driven: faults accepted ... */
	unsigned long completed;	/* ... and completed */
	unsigned long freed;	/* ... or freed by KVM first (ENOENT) */

	/* The unresolvable region (mem.c) */
	u64 bad_gpa, bad_size;
	int bad_fd;
	u8 *bad;
	int on_error_stop;	/* -U stop */
	int on_error_retry;	/* -U retry */
	int retried;
	unsigned long fault_exits;

	/* Snapshot and restore (snapshot.c) */
	const char *snap_dir;	/* -S: where the guest's snapshots go */
	const char *restore_dir;	/* -R: the snapshot this VM starts from */
	int snap_requested;	/* the guest asked for a snapshot */
	int round;		/* restores so far in this chain */
	int prefetch;		/* -P: a thread fetches every page in order */
	int eager;		/* -E: read the whole snapshot before running */
	int check_refusal;	/* -F: a restore without -e must be refused */
	int trace;		/* -D: KVM's tracepoints from a restore on */
	pthread_t prefetch_thread;
	unsigned long prefetched;	/* pages the prefetcher filled */
	u64 image_pages;	/* pages the snapshot's image holds */
};

enum { APF_NOT_PRESENT, APF_READY, APF_ERROR, NR_APF_STATS };

struct vcpu {
	struct vmm *vmm;
	int id;
	int fd;
	struct kvm_apf_ring *ring;	/* -X: KVM_APF_SET_RING */
	struct kvm_run *run;
	pthread_t thread;
	int stats_fd;
	long stat_off[NR_APF_STATS];
	u64 apf_slot;	/* x86, restored: GPA of the "page ready" token, or 0 */
	int dump;	/* print the state at the next exit (dump_vcpus()) */
};

/* What a vCPU exit asks of the run loop. */
enum exit_action {
	EXIT_CONTINUE,
	EXIT_RESET,		/* the guest reboots */
	EXIT_POWEROFF,		/* the guest powers off */
	EXIT_ERROR,
	EXIT_SNAPSHOT,		/* the guest asked for a snapshot */
};

__noreturn __printf(1, 2) void die(const char *fmt, ...);
void *gpa_to_hva(struct vmm *vmm, u64 gpa, u64 len);
void *read_file(const char *path, size_t *size);
void dump_vcpus(struct vcpu *self);

/* 16550 UART: byte register accesses at offset 0..7 of its window. */
void uart_write(struct vmm *vmm, unsigned int off, u8 val);
u8 uart_read(struct vmm *vmm, unsigned int off);

/* Guest memory (mem.c). */
void mem_create(struct vmm *vmm);
void mem_destroy(struct vmm *vmm);
void mem_vcpu_ring(struct vcpu *vcpu);
int mem_drop(struct vmm *vmm, u64 gpa);
int mem_settle(struct vmm *vmm, int timeout_s);
enum exit_action mem_fault_exit(struct vcpu *vcpu);

/* The guest's console, a line at a time (testdev.c). */
void console_putc(u8 c);

/*
 * The test device: a byte-wide register through which the guest's test
 * program talks to the VMM (see vmm.c); the arch routes accesses to it.
 */
void ctl_write(struct vcpu *vcpu, u8 val);
u8 ctl_read(struct vcpu *vcpu);
void vcpu_stats_open(struct vcpu *vcpu);
u64 host_stat(struct vmm *vmm, int i);
int test_verdict(struct vmm *vmm);
void test_result(const char *name, int ok, const char *why);
void test_boot_start(void);
double test_boot_ms(void);

/*
 * Snapshots (snapshot.c): a directory with "state", a list of records
 * (type, vCPU, key, bytes), and "mem", the image of guest RAM.  Record
 * types below SNAP_ARCH are the generic part's, the arch numbers its own
 * from SNAP_ARCH.
 */
struct snap {
	u8 *buf;
	size_t len, cap;
};

/* The generic part's record types. */
enum { SNAP_HEADER = 1, SNAP_UART, SNAP_TESTDEV, SNAP_ABSENT };
#define SNAP_ARCH	0x100
#define SNAP_VM		(~0U)	/* the vCPU of a record that is the VM's */

void snap_put(struct snap *s, u32 type, u32 vcpu, u64 key, const void *data,
	      u32 len);
/* The record's bytes, or NULL if absent; dies if it has another size. */
const void *snap_find(const struct snap *s, u32 type, u32 vcpu, u64 key,
		      u32 len);
/* Like snap_find(), but dies if the record is absent. */
void snap_get(const struct snap *s, u32 type, u32 vcpu, u64 key, void *data,
	      u32 len);
/*
 * The records of @type and @vcpu in the order they were put, from cursor
 * *@pos (start at 0): their bytes, *@key and *@len, or NULL after the last.
 */
const void *snap_next(const struct snap *s, size_t *pos, u32 type, u32 vcpu,
		      u64 *key, u32 *len);
void snapshot_save(struct vmm *vmm);
struct snap *snapshot_load(struct vmm *vmm);
void snapshot_restore_devices(struct vmm *vmm, const struct snap *s);
void snapshot_free(struct snap *s);
void mem_save(struct vmm *vmm, int fd, struct snap *s);
int mem_lose(struct vmm *vmm, u64 gpa);
int mem_page_report(struct vmm *vmm, u64 gpa);
void testdev_save(struct vmm *vmm, struct snap *s);
void testdev_restore(struct vmm *vmm, const struct snap *s);
void uart_save(struct snap *s);
void uart_restore(const struct snap *s);

/* The arch part. */
extern const char arch_cmdline[];	/* the start of the kernel command line */
void arch_create_vm(struct vmm *vmm);	/* sets ram_base */
void arch_load_guest(struct vmm *vmm);
void arch_setup_vcpu(struct vcpu *vcpu);
void arch_vcpus_created(struct vmm *vmm);	/* all vCPUs exist, none runs */
enum exit_action arch_handle_exit(struct vcpu *vcpu);
void arch_uart_irq(struct vmm *vmm, int level);
void arch_dump_vcpu(struct vcpu *vcpu);
int arch_apf_enabled(struct vcpu *vcpu);	/* this vCPU's, from its thread */
int arch_apf_exception(struct vcpu *vcpu);	/* "not present" as #VE / abort */
/*
 * The VM's and every vCPU's state, all of it that KVM keeps: the vCPUs are
 * stopped, their last exit completed (KVM_RUN with immediate_exit).
 */
void arch_save(struct vmm *vmm, struct snap *s);
/*
 * Put it back into a new VM, with its RAM, vCPUs and interrupt controller
 * created (arch_create_vm(), arch_setup_vcpu(), arch_vcpus_created()), in
 * the order Documentation/api.rst gives.  Returns 0, or -1 after printing
 * "vmm: restore: " and the step KVM refused.
 */
int arch_restore(struct vmm *vmm, const struct snap *s);

#endif /* REFVMM_H */
