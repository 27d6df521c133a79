// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM's guest memory: RAM from a memfd, served late through
 * userfaultfd, and a region that cannot be resolved, with the memory-fault
 * exits that report it.
 *
 * Late memory, as a VMM restoring a snapshot lazily or migrating post-copy
 * has it.  The guest's test program (through the test device) names pages
 * of its RAM to "drop": the VMM keeps a copy of each, punches it out of the
 * memfd, and from then on a userfaultfd registered on all of RAM reports
 * each access to a missing page; a VMM thread serves it (UFFDIO_COPY of
 * the copy, or zeros for a page never dropped) -d milliseconds after the
 * fault arrived, each fault on its own clock, so that faults overlap as
 * they do on a real storage or network backend.  KVM meanwhile tells the
 * guest "page not present" when it can, and "page ready" once the page is
 * there.  A VMM that serves all of its RAM late registers the userfaultfd
 * before the guest runs (-a); this one registers it at the first drop, so
 * that the guest boots at full speed.
 *
 * The unresolvable region (-b GPA:MIB): a memslot whose memfd is empty, so
 * every access to it fails on the host (as when the file behind a DAX
 * mapping was truncated).  It is not RAM in the guest's memory map, so the
 * guest reaches it only through /dev/mem.  KVM reports a failed access with
 * a KVM_EXIT_MEMORY_FAULT exit flagged KVM_MEMORY_EXIT_FLAG_ERROR (see
 * Documentation/api.rst), unless the VMM let the guest opt in to error
 * status (-e): then the guest's "page ready" carries the error and its task
 * gets SIGBUS.  On the exit this VMM prints the gpa and the error, then, as
 * -U says, fixes the backing (fills the region: each 8-byte word holds its
 * own gpa) and re-enters, or stops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "vmm.h"

#define PAGE		4096ULL
#define MAX_PENDING	1024	/* faults waiting for their delay */

/* Slots: 0 is RAM, 1 the unresolvable region. */
#define SLOT_RAM	0
#define SLOT_BAD	1

static void add_slot(struct vmm *vmm, u32 slot, u64 gpa, u64 size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vmm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION slot %u", slot);
}

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Serve the page at RAM offset @off: its saved copy, or zeros. */
static void serve_page(struct vmm *vmm, u64 off)
{
	static u8 zeros[PAGE];
	struct uffdio_copy copy = {
		.dst = (uintptr_t)vmm->ram + off,
		.len = PAGE,
	};
	u64 i = off / PAGE;
	int saved;

	pthread_mutex_lock(&vmm->mem_lock);
	saved = vmm->saved[i / 8] & (1 << (i % 8));
	vmm->saved[i / 8] &= ~(1 << (i % 8));
	pthread_mutex_unlock(&vmm->mem_lock);
	copy.src = (uintptr_t)(saved ? vmm->shadow + off : zeros);
	if (ioctl(vmm->uffd, UFFDIO_COPY, &copy) && errno != EEXIST)
		die("UFFDIO_COPY at RAM offset 0x%llx", (unsigned long long)off);
	__atomic_add_fetch(&vmm->served, 1, __ATOMIC_RELAXED);
}

/*
 * The server: each fault is served -d ms after it arrived; a page never
 * dropped (fresh memory the guest touches first) at once.
 */
static void *uffd_server(void *arg)
{
	static struct { u64 off, due; } pending[MAX_PENDING];
	struct vmm *vmm = arg;
	int n = 0, i;

	for (;;) {
		struct pollfd p = { .fd = vmm->uffd, .events = POLLIN };
		struct uffd_msg msg;
		u64 t = now_ms();
		int wait = -1;

		for (i = 0; i < n; i++) {
			if (pending[i].due <= t) {
				serve_page(vmm, pending[i].off);
				pending[i--] = pending[--n];
				continue;
			}
			if (wait < 0 || pending[i].due - t < (u64)wait)
				wait = pending[i].due - t;
		}
		if (n == MAX_PENDING)
			p.events = 0;	/* full: serve before reading more */
		if (poll(&p, 1, wait) < 0 && errno != EINTR)
			die("poll userfaultfd");
		if (!(p.revents & POLLIN))
			continue;
		if (read(vmm->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno == EAGAIN)
				continue;
			if (errno == EBADF)
				return NULL;	/* the VM is gone */
			die("read userfaultfd");
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		pending[n].off = (msg.arg.pagefault.address -
				  (uintptr_t)vmm->ram) & ~(PAGE - 1);
		pthread_mutex_lock(&vmm->mem_lock);
		i = pending[n].off / PAGE;
		pending[n].due = now_ms() + ((vmm->saved[i / 8] & (1 << (i % 8))) ||
					     vmm->delay_all ? vmm->delay_ms : 0);
		pthread_mutex_unlock(&vmm->mem_lock);
		n++;
	}
}

/* Register all of RAM with a userfaultfd and start its server. */
static void uffd_start(struct vmm *vmm)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)vmm->ram, .len = vmm->ram_size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	vmm->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (vmm->uffd < 0 || ioctl(vmm->uffd, UFFDIO_API, &api) ||
	    ioctl(vmm->uffd, UFFDIO_REGISTER, &reg))
		die("userfaultfd on guest RAM");
	if (pthread_create(&vmm->uffd_thread, NULL, uffd_server, vmm))
		die("pthread_create");
}

void mem_create(struct vmm *vmm)
{
	u64 pages = vmm->ram_size / PAGE;

	vmm->mem_fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (vmm->mem_fd < 0 || ftruncate(vmm->mem_fd, vmm->ram_size))
		die("memfd for guest RAM");
	vmm->ram = mmap(NULL, vmm->ram_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, vmm->mem_fd, 0);
	if (vmm->ram == MAP_FAILED)
		die("mmap guest RAM");
	add_slot(vmm, SLOT_RAM, vmm->ram_base, vmm->ram_size, vmm->ram);
	vmm->uffd = -1;
	vmm->shadow = NULL;
	vmm->saved = calloc(pages / 8 + 1, 1);
	if (!vmm->saved)
		die("calloc");
	vmm->served = 0;
	pthread_mutex_init(&vmm->mem_lock, NULL);
	if (vmm->delay_all)
		uffd_start(vmm);

	if (!vmm->bad_size)
		return;
	vmm->bad_fd = memfd_create("unresolvable", MFD_CLOEXEC);
	if (vmm->bad_fd < 0)
		die("memfd");
	/* Empty: every access to the mapping fails (SIGBUS in a process). */
	vmm->bad = mmap(NULL, vmm->bad_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, vmm->bad_fd, 0);
	if (vmm->bad == MAP_FAILED)
		die("mmap");
	add_slot(vmm, SLOT_BAD, vmm->bad_gpa, vmm->bad_size, vmm->bad);
}

void mem_destroy(struct vmm *vmm)
{
	if (vmm->uffd >= 0) {
		/* The server sees EBADF (or is cancelled while it waits). */
		pthread_cancel(vmm->uffd_thread);
		pthread_join(vmm->uffd_thread, NULL);
		close(vmm->uffd);
	}
	munmap(vmm->ram, vmm->ram_size);
	close(vmm->mem_fd);
	if (vmm->shadow)
		munmap(vmm->shadow, vmm->ram_size);
	free(vmm->saved);
	if (vmm->bad_size) {
		munmap(vmm->bad, vmm->bad_size);
		close(vmm->bad_fd);
	}
}

/*
 * Drop the guest page at @gpa: keep a copy, punch it out; the next access
 * to it waits for the server.  Returns 0 or -EINVAL.
 */
int mem_drop(struct vmm *vmm, u64 gpa)
{
	u64 off = gpa - vmm->ram_base, i = off / PAGE;

	if (gpa < vmm->ram_base || off >= vmm->ram_size || (gpa & (PAGE - 1)))
		return -EINVAL;
	pthread_mutex_lock(&vmm->mem_lock);
	if (!vmm->shadow) {
		vmm->shadow = mmap(NULL, vmm->ram_size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				   -1, 0);
		if (vmm->shadow == MAP_FAILED)
			die("mmap");
	}
	if (vmm->uffd < 0)
		uffd_start(vmm);
	memcpy(vmm->shadow + off, vmm->ram + off, PAGE);
	vmm->saved[i / 8] |= 1 << (i % 8);
	if (fallocate(vmm->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      off, PAGE))
		die("punch guest page 0x%llx", (unsigned long long)gpa);
	pthread_mutex_unlock(&vmm->mem_lock);
	return 0;
}

/* Fill the unresolvable region: each 8-byte word holds its own gpa. */
static void bad_fix(struct vmm *vmm)
{
	u64 *w = (u64 *)vmm->bad, i;

	if (ftruncate(vmm->bad_fd, vmm->bad_size))
		die("ftruncate");
	for (i = 0; i < vmm->bad_size / 8; i++)
		w[i] = vmm->bad_gpa + i * 8;
}

/*
 * KVM_EXIT_MEMORY_FAULT with KVM_MEMORY_EXIT_FLAG_ERROR: the guest touched
 * a page the host cannot provide.  Print it, then fix it (-U fix, the
 * default) and re-enter, or stop (-U stop).
 */
enum exit_action mem_fault_exit(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	struct kvm_run *run = vcpu->run;
	u64 gpa = run->memory_fault.gpa;
	int ours = vmm->bad_size && gpa >= vmm->bad_gpa &&
		   gpa - vmm->bad_gpa < vmm->bad_size;

	fprintf(stderr,
		"vmm: vcpu %d: memory fault exit: gpa 0x%llx size 0x%llx flags 0x%llx error %u token 0x%x\n",
		vcpu->id, (unsigned long long)gpa,
		(unsigned long long)run->memory_fault.size,
		(unsigned long long)run->memory_fault.flags,
		run->memory_fault.error, run->memory_fault.token);
	__atomic_add_fetch(&vmm->fault_exits, 1, __ATOMIC_RELAXED);
	if (!(run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_ERROR) || !ours ||
	    vmm->on_error_stop) {
		fprintf(stderr, "vmm: stopping the guest\n");
		return EXIT_ERROR;
	}
	pthread_mutex_lock(&vmm->mem_lock);
	bad_fix(vmm);
	pthread_mutex_unlock(&vmm->mem_lock);
	fprintf(stderr, "vmm: fixed the backing of 0x%llx+0x%llx, re-entering\n",
		(unsigned long long)vmm->bad_gpa,
		(unsigned long long)vmm->bad_size);
	return EXIT_CONTINUE;
}
