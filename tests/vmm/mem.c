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
 * VMM-driven (-V, KVM_APF_FEATURE_VMM): KVM does not wait in userfaultfd
 * for a fault the guest could take as "not present"; it exits to the VMM
 * first (KVM_EXIT_MEMORY_FAULT flagged KVM_MEMORY_EXIT_FLAG_ASYNC, with the
 * gpa and a token).  This VMM accepts the fault for a dropped page (its
 * fetch is slow: KVM_MEMORY_EXIT_FLAG_ASYNC_ACCEPT, and the guest runs
 * other work), hands it to the server, which copies the page in when it is
 * due and completes the token with KVM_APF_READY_BATCH; a page never
 * dropped it resolves at once (UFFDIO_COPY, then re-entry: the guest hears
 * nothing).  Faults KVM does not hand over still arrive through the
 * userfaultfd as before.
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
 * own gpa) and re-enters, re-enters once without fixing it first (KVM
 * exits the same way again), or stops.
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

/* Complete a fault the VMM accepted: the page is in (status 0). */
static void ready(struct vmm *vmm, u32 vcpu_id, u32 token)
{
	struct kvm_apf_ready e = { .vcpu_id = vcpu_id, .token = token };
	struct kvm_apf_ready_batch b = { .nr = 1, .entries = (uintptr_t)&e };

	if (ioctl(vmm->vm_fd, KVM_APF_READY_BATCH, &b) != 1)
		fprintf(stderr, "vmm: KVM_APF_READY_BATCH vcpu %u token 0x%x: result %u\n",
			vcpu_id, token, e.result);
	else
		__atomic_add_fetch(&vmm->completed, 1, __ATOMIC_RELAXED);
}

/*
 * Faults waiting for their delay: from the userfaultfd, and (VMM-driven)
 * the ones the VMM accepted, with their token.
 */
static struct pending {
	u64 off, due;
	u32 vcpu_id, token;	/* token 0: a userfaultfd fault */
} pending[MAX_PENDING];
static int nr_pending;

static void add_pending(struct vmm *vmm, u64 off, u32 vcpu_id, u32 token)
{
	u64 i = off / PAGE;

	pthread_mutex_lock(&vmm->mem_lock);
	if (nr_pending == MAX_PENDING) {
		errno = 0;
		die("more than %d faults in flight", MAX_PENDING);
	}
	pending[nr_pending++] = (struct pending){
		.off = off, .vcpu_id = vcpu_id, .token = token,
		.due = now_ms() + ((vmm->saved[i / 8] & (1 << (i % 8))) ||
				   vmm->delay_all ? vmm->delay_ms : 0),
	};
	pthread_mutex_unlock(&vmm->mem_lock);
}

/*
 * The server: each fault is served -d ms after it arrived; a page never
 * dropped (fresh memory the guest touches first) at once.
 */
static void *uffd_server(void *arg)
{
	struct vmm *vmm = arg;
	int i;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = vmm->uffd, .events = POLLIN },
			{ .fd = vmm->wake[0], .events = POLLIN },
		};
		struct uffd_msg msg;
		u64 t = now_ms();
		int wait = -1;

		pthread_mutex_lock(&vmm->mem_lock);
		for (i = 0; i < nr_pending; i++) {
			struct pending f = pending[i];

			if (f.due <= t) {
				pending[i--] = pending[--nr_pending];
				pthread_mutex_unlock(&vmm->mem_lock);
				serve_page(vmm, f.off);
				if (f.token)
					ready(vmm, f.vcpu_id, f.token);
				pthread_mutex_lock(&vmm->mem_lock);
				continue;
			}
			if (wait < 0 || f.due - t < (u64)wait)
				wait = f.due - t;
		}
		if (nr_pending == MAX_PENDING)
			p[0].events = 0;	/* full: serve before reading more */
		pthread_mutex_unlock(&vmm->mem_lock);
		if (poll(p, 2, wait) < 0 && errno != EINTR)
			die("poll userfaultfd");
		if (p[1].revents & POLLIN) {
			char c[64];

			if (read(vmm->wake[0], c, sizeof(c)) < 0 && errno != EAGAIN)
				die("read");
		}
		if (!(p[0].revents & POLLIN))
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
		add_pending(vmm, (msg.arg.pagefault.address -
				  (uintptr_t)vmm->ram) & ~(PAGE - 1), 0, 0);
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
	if (pipe2(vmm->wake, O_CLOEXEC | O_NONBLOCK))
		die("pipe");
	nr_pending = 0;
	if (pthread_create(&vmm->uffd_thread, NULL, uffd_server, vmm))
		die("pthread_create");
}

/*
 * Memslot @slot: @size bytes at @gpa, a memfd of @file_size bytes (0: empty,
 * every access fails) mapped shared.
 */
static u8 *add_memfd_slot(struct vmm *vmm, u32 slot, u64 gpa, u64 size,
			  u64 file_size, int *fd)
{
	void *hva;

	*fd = memfd_create(slot == SLOT_RAM ? "guest-ram" : "unresolvable",
			   MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, file_size))
		die("memfd for slot %u", slot);
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (hva == MAP_FAILED)
		die("mmap slot %u", slot);
	add_slot(vmm, slot, gpa, size, hva);
	return hva;
}

void mem_create(struct vmm *vmm)
{
	u64 pages = vmm->ram_size / PAGE;

	vmm->ram = add_memfd_slot(vmm, SLOT_RAM, vmm->ram_base, vmm->ram_size,
				  vmm->ram_size, &vmm->mem_fd);
	vmm->uffd = -1;
	vmm->shadow = NULL;
	vmm->saved = calloc(pages / 8 + 1, 1);
	if (!vmm->saved)
		die("calloc");
	vmm->served = 0;
	pthread_mutex_init(&vmm->mem_lock, NULL);
	if (vmm->delay_all)
		uffd_start(vmm);

	/* Empty: every access to the mapping fails (SIGBUS in a process). */
	if (vmm->bad_size)
		vmm->bad = add_memfd_slot(vmm, SLOT_BAD, vmm->bad_gpa,
					  vmm->bad_size, 0, &vmm->bad_fd);
}

void mem_destroy(struct vmm *vmm)
{
	if (vmm->uffd >= 0) {
		/* The server sees EBADF (or is cancelled while it waits). */
		pthread_cancel(vmm->uffd_thread);
		pthread_join(vmm->uffd_thread, NULL);
		close(vmm->uffd);
		close(vmm->wake[0]);
		close(vmm->wake[1]);
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
 * default) and re-enter, first re-enter without a fix once (-U retry), or
 * stop (-U stop).
 */
/*
 * KVM_EXIT_MEMORY_FAULT flagged KVM_MEMORY_EXIT_FLAG_ASYNC (-V): a fault
 * the guest could take as "not present".  A dropped page is slow to fetch:
 * accept, and let the server complete the token when the page is in.  A
 * page never dropped: copy it in now and re-enter (the guest hears
 * nothing).
 */
static void async_candidate(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	struct kvm_run *run = vcpu->run;
	u64 off = run->memory_fault.gpa - vmm->ram_base, i = off / PAGE;
	int saved;

	pthread_mutex_lock(&vmm->mem_lock);
	saved = vmm->saved[i / 8] & (1 << (i % 8));
	pthread_mutex_unlock(&vmm->mem_lock);
	if (!saved) {
		serve_page(vmm, off);
		return;
	}
	add_pending(vmm, off, vcpu->id, run->memory_fault.token);
	if (write(vmm->wake[1], "", 1) < 0 && errno != EAGAIN)
		die("write");
	__atomic_add_fetch(&vmm->accepted, 1, __ATOMIC_RELAXED);
	/* Last, just before KVM_RUN (see Documentation/api.rst). */
	run->memory_fault.flags |= KVM_MEMORY_EXIT_FLAG_ASYNC_ACCEPT;
}

enum exit_action mem_fault_exit(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	struct kvm_run *run = vcpu->run;
	u64 gpa = run->memory_fault.gpa;
	int ours = vmm->bad_size && gpa >= vmm->bad_gpa &&
		   gpa - vmm->bad_gpa < vmm->bad_size;

	if ((run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_ASYNC) &&
	    gpa >= vmm->ram_base && gpa - vmm->ram_base < vmm->ram_size &&
	    vmm->uffd >= 0) {
		async_candidate(vcpu);
		return EXIT_CONTINUE;
	}

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
	/* -U retry: once without a fix, which must give the same exit. */
	if (vmm->on_error_retry && !vmm->retried++) {
		fprintf(stderr, "vmm: re-entering without a fix\n");
		return EXIT_CONTINUE;
	}
	pthread_mutex_lock(&vmm->mem_lock);
	bad_fix(vmm);
	pthread_mutex_unlock(&vmm->mem_lock);
	fprintf(stderr, "vmm: fixed the backing of 0x%llx+0x%llx, re-entering\n",
		(unsigned long long)vmm->bad_gpa,
		(unsigned long long)vmm->bad_size);
	return EXIT_CONTINUE;
}
