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
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "vmm.h"

#define PAGE		4096ULL
#define MAX_PENDING	1024	/* faults waiting for their delay */
#define RING_ENTRIES	64	/* a vCPU has at most 64 faults in flight */

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

static u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static u64 now_ms(void)
{
	return now_us() / 1000;
}

static int test_page(struct vmm *vmm, u8 *map, u64 i)
{
	int set;

	pthread_mutex_lock(&vmm->mem_lock);
	set = map && (map[i / 8] & (1 << (i % 8)));
	pthread_mutex_unlock(&vmm->mem_lock);
	return set;
}

static int page_saved(struct vmm *vmm, u64 i)
{
	int saved;

	pthread_mutex_lock(&vmm->mem_lock);
	saved = vmm->saved[i / 8] & (1 << (i % 8));
	pthread_mutex_unlock(&vmm->mem_lock);
	return saved;
}

/*
 * Serve the page at RAM offset @off: its saved copy, or zeros.  Under
 * mem_lock from the look at its saved bit to the bit's clearing, so that
 * mem_drop() cannot come between: a drop after the look would be filled
 * with zeros (or the copy of the drop before), a drop between the copy
 * and the clearing would lose its copy.  A second thread serving the same
 * page (the prefetcher, a fault) finds it there (EEXIST).  UFFDIO_COPY
 * never faults here: its source is the VMM's own memory.  Returns 1 if
 * this call filled it.
 */
static int serve_page(struct vmm *vmm, u64 off)
{
	static u8 zeros[PAGE];
	struct uffdio_copy copy = {
		.dst = (uintptr_t)vmm->ram + off,
		.len = PAGE,
	};
	u64 i = off / PAGE;
	int saved, filled = 1;

	pthread_mutex_lock(&vmm->mem_lock);
	if (vmm->lost && (vmm->lost[i / 8] & (1 << (i % 8)))) {
		/* Not in the image: the access fails (-EHWPOISON in KVM). */
		struct uffdio_poison poison = {
			.range = { .start = copy.dst, .len = PAGE },
		};

		if (ioctl(vmm->uffd, UFFDIO_POISON, &poison) && errno != EEXIST)
			die("UFFDIO_POISON at RAM offset 0x%llx", (unsigned long long)off);
		pthread_mutex_unlock(&vmm->mem_lock);
		return 0;
	}
	saved = vmm->saved[i / 8] & (1 << (i % 8));
	copy.src = (uintptr_t)(saved ? vmm->shadow + off : zeros);
	if (ioctl(vmm->uffd, UFFDIO_COPY, &copy)) {
		if (errno != EEXIST)
			die("UFFDIO_COPY at RAM offset 0x%llx", (unsigned long long)off);
		filled = 0;
	}
	vmm->saved[i / 8] &= ~(1 << (i % 8));
	vmm->dropped[i / 8] &= ~(1 << (i % 8));
	pthread_mutex_unlock(&vmm->mem_lock);
	if (filled)
		__atomic_add_fetch(&vmm->served, 1, __ATOMIC_RELAXED);
	return filled;
}

/*
 * Complete a fault the VMM accepted: the page is in (status 0), or it
 * cannot be had (a positive errno: EIO for a page the image lacks).
 * ENOENT: KVM had freed it first (the guest turned async PF off, e.g. on
 * its way to power off), which the VMM may ignore.
 */
static void complete(struct vmm *vmm, u32 vcpu_id, u32 token, u32 status)
{
	struct kvm_apf_ready e = { .vcpu_id = vcpu_id, .token = token,
				   .status = status };
	struct kvm_apf_ready_batch b = { .nr = 1, .entries = (uintptr_t)&e };

	if (ioctl(vmm->vm_fd, KVM_APF_READY_BATCH, &b) == 1) {
		__atomic_add_fetch(&vmm->completed, 1, __ATOMIC_RELAXED);
		return;
	}
	fprintf(stderr, "vmm: KVM_APF_READY_BATCH vcpu %u token 0x%x status %u: %u\n",
		vcpu_id, token, status, e.result);
	if (e.result == ENOENT)
		__atomic_add_fetch(&vmm->freed, 1, __ATOMIC_RELAXED);
}

/*
 * Wait until the VMM owes KVM nothing: every fault it accepted completed
 * (or freed by KVM first), the ones still in their delay included.  The
 * server goes on meanwhile.  Returns 0, or -ETIMEDOUT after @timeout_s.
 */
int mem_settle(struct vmm *vmm, int timeout_s)
{
	u64 end = now_ms() + timeout_s * 1000ULL;

	while (__atomic_load_n(&vmm->accepted, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&vmm->completed, __ATOMIC_RELAXED) +
	       __atomic_load_n(&vmm->freed, __ATOMIC_RELAXED)) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

/*
 * Faults waiting for their delay: from the userfaultfd, and (VMM-driven)
 * the ones the VMM accepted, with their token.
 */
static struct pending {
	u64 off, due;		/* due: now_us() */
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
		.due = now_us() + ((vmm->saved[i / 8] & (1 << (i % 8))) ||
				   vmm->delay_all ? vmm->delay_us : 0),
	};
	pthread_mutex_unlock(&vmm->mem_lock);
}

/*
 * The page at @off is in (the prefetcher filled it): the faults waiting for
 * it are due now, so that a fault the VMM accepted completes as soon as its
 * page is there, as a vCPU waiting in userfaultfd wakes (UFFDIO_COPY wakes
 * it), not after its own fetch's delay.  Returns whether one was waiting.
 */
static int pending_due_now(struct vmm *vmm, u64 off)
{
	int i, found = 0;

	pthread_mutex_lock(&vmm->mem_lock);
	for (i = 0; i < nr_pending; i++) {
		if (pending[i].off == off) {
			pending[i].due = 0;
			found = 1;
		}
	}
	pthread_mutex_unlock(&vmm->mem_lock);
	return found;
}

/*
 * Exitless (-X, KVM_APF_FEATURE_VMM_EXITLESS): each vCPU has a ring, and
 * KVM accepts every async candidate for us: the guest is told "not
 * present", a notice {vcpu, token, gpa} goes to the ring and the eventfd is
 * signalled.  Each notice is owed a completion: a page to fetch after its
 * delay, like an accepted exit; any other (never dropped, or already
 * served) at once.
 */
void mem_vcpu_ring(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	size_t size = sizeof(*vcpu->ring) +
		      RING_ENTRIES * sizeof(struct kvm_apf_notice);
	struct kvm_apf_ring_setup setup = {
		.entries = RING_ENTRIES,
		.eventfd = vmm->ring_efd,
	};

	/* Resident, and not in memory registered with userfaultfd. */
	vcpu->ring = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (vcpu->ring == MAP_FAILED)
		die("mmap ring");
	setup.addr = (uintptr_t)vcpu->ring;
	if (ioctl(vcpu->fd, KVM_APF_SET_RING, &setup))
		die("KVM_APF_SET_RING vcpu %d", vcpu->id);
}

static void drain_rings(struct vmm *vmm)
{
	u64 n;
	int c;

	if (read(vmm->ring_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		die("read eventfd");
	for (c = 0; c < vmm->nr_vcpus; c++) {
		struct kvm_apf_ring *r = vmm->vcpus[c].ring;
		u32 tail, head;

		if (!r)		/* not set up yet */
			continue;
		tail = r->tail;
		head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

		for (; tail != head; tail++) {
			struct kvm_apf_notice e = r->notices[tail % RING_ENTRIES];
			u64 off = e.gpa - vmm->ram_base;

			__atomic_add_fetch(&vmm->posted, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&vmm->accepted, 1, __ATOMIC_RELAXED);
			if (page_saved(vmm, off / PAGE)) {
				add_pending(vmm, off & ~(PAGE - 1), e.vcpu_id, e.token);
				continue;
			}
			if (test_page(vmm, vmm->lost, off / PAGE)) {
				complete(vmm, e.vcpu_id, e.token, EIO);
				continue;
			}
			serve_page(vmm, off & ~(PAGE - 1));
			complete(vmm, e.vcpu_id, e.token, 0);
		}
		__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	}
}

/*
 * The server: each fault is served -d ms after it arrived (to the
 * microsecond: ppoll()); a page never dropped (fresh memory the guest
 * touches first) at once.
 */
static void *uffd_server(void *arg)
{
	struct vmm *vmm = arg;
	int i;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = vmm->uffd, .events = POLLIN },
			{ .fd = vmm->wake[0], .events = POLLIN },
			{ .fd = vmm->ring_efd, .events = POLLIN },
		};
		struct uffd_msg msg;
		struct timespec ts;
		u64 t = now_us();
		s64 wait = -1;

		pthread_mutex_lock(&vmm->mem_lock);
		for (i = 0; i < nr_pending; i++) {
			struct pending f = pending[i];

			if (f.due <= t) {
				pending[i--] = pending[--nr_pending];
				pthread_mutex_unlock(&vmm->mem_lock);
				if (f.token && test_page(vmm, vmm->lost, f.off / PAGE)) {
					complete(vmm, f.vcpu_id, f.token, EIO);
				} else {
					serve_page(vmm, f.off);
					if (f.token)
						complete(vmm, f.vcpu_id, f.token, 0);
				}
				pthread_mutex_lock(&vmm->mem_lock);
				continue;
			}
			if (wait < 0 || f.due - t < (u64)wait)
				wait = f.due - t;
		}
		if (nr_pending == MAX_PENDING)
			p[0].events = 0;	/* full: serve before reading more */
		pthread_mutex_unlock(&vmm->mem_lock);
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = wait % 1000000 * 1000;
		if (ppoll(p, 3, wait < 0 ? NULL : &ts, NULL) < 0 && errno != EINTR)
			die("poll userfaultfd");
		if (p[2].revents & POLLIN)
			drain_rings(vmm);
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

/*
 * The prefetcher (-P): every page of the image the guest has not touched
 * yet, in order, as a VMM streams a snapshot in behind the faults; a fault
 * waiting for a page it fills completes then.  Not the pages the guest
 * dropped since: those come on demand, -d ms late, so that a task touching
 * them parks (a test's snapshot waits for one).
 */
static void *prefetcher(void *arg)
{
	struct vmm *vmm = arg;
	u64 i;

	for (i = 0; i < vmm->image_pages; i++) {
		/* A snapshot or the exit stops it: not after the whole sweep. */
		pthread_testcancel();
		if (!page_saved(vmm, i) || test_page(vmm, vmm->dropped, i) ||
		    !serve_page(vmm, i * PAGE))
			continue;
		__atomic_add_fetch(&vmm->prefetched, 1, __ATOMIC_RELAXED);
		/* A fault on it waits for its fetch: tell the server. */
		if (pending_due_now(vmm, i * PAGE) &&
		    write(vmm->wake[1], "", 1) < 0 && errno != EAGAIN)
			die("write");
	}
	fprintf(stderr, "vmm: every page in %.0f ms after the restore began: %lu %s\n",
		test_boot_ms(), __atomic_load_n(&vmm->prefetched, __ATOMIC_RELAXED),
		"fetched ahead, the rest on demand");
	return NULL;
}

/*
 * Guest RAM of a restore (-R): the image mapped as the pages' saved copies
 * (private: a page the guest drops later gets its copy there too), every
 * page of it missing in RAM, served on its first access; or, eager (-E),
 * all of it copied in before the guest runs.
 */
static void mem_restore(struct vmm *vmm)
{
	char path[4096];
	struct stat st;
	u64 i;
	int fd;

	snprintf(path, sizeof(path), "%s/mem", vmm->restore_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		die("%s", path);
	vmm->image_pages = (u64)st.st_size / PAGE;
	if (vmm->image_pages > vmm->ram_size / PAGE)
		vmm->image_pages = vmm->ram_size / PAGE;
	if (vmm->eager) {
		u64 done = 0;

		while (done < vmm->image_pages * PAGE) {
			ssize_t n = pread(fd, vmm->ram + done,
					  vmm->image_pages * PAGE - done, done);

			if (n <= 0)
				die("read %s", path);
			done += n;
		}
		close(fd);
		return;
	}
	vmm->shadow = mmap(NULL, vmm->ram_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (vmm->shadow == MAP_FAILED)
		die("mmap %s", path);
	close(fd);
	for (i = 0; i < vmm->image_pages; i++)
		vmm->saved[i / 8] |= 1 << (i % 8);
	/*
	 * Pages the image lacks: past its end (a truncated file), or left out
	 * by the snapshot (SNAP_ABSENT).  A fault on one fails.
	 */
	vmm->lost = calloc(vmm->ram_size / PAGE / 8 + 1, 1);
	if (!vmm->lost)
		die("calloc");
	for (i = vmm->image_pages; i < vmm->ram_size / PAGE; i++)
		vmm->lost[i / 8] |= 1 << (i % 8);
	if (vmm->snap) {
		size_t pos = 0;
		u64 key;
		u32 len;

		while (snap_next(vmm->snap, &pos, SNAP_ABSENT, SNAP_VM, &key, &len))
			if (key < vmm->ram_size / PAGE) {
				vmm->lost[key / 8] |= 1 << (key % 8);
				vmm->saved[key / 8] &= ~(1 << (key % 8));
			}
	}
	if (vmm->image_pages < vmm->ram_size / PAGE)
		fprintf(stderr, "vmm: the image %s holds %llu of %llu pages: the rest are lost\n",
			path, (unsigned long long)vmm->image_pages,
			(unsigned long long)(vmm->ram_size / PAGE));
	uffd_start(vmm);
	if (vmm->prefetch &&
	    pthread_create(&vmm->prefetch_thread, NULL, prefetcher, vmm))
		die("pthread_create");
}

void mem_create(struct vmm *vmm)
{
	u64 pages = vmm->ram_size / PAGE;

	vmm->ram = add_memfd_slot(vmm, SLOT_RAM, vmm->ram_base, vmm->ram_size,
				  vmm->ram_size, &vmm->mem_fd);
	vmm->uffd = -1;
	vmm->shadow = NULL;
	vmm->lost = NULL;
	vmm->lose = NULL;
	vmm->saved = calloc(pages / 8 + 1, 1);
	vmm->dropped = calloc(pages / 8 + 1, 1);
	if (!vmm->saved || !vmm->dropped)
		die("calloc");
	vmm->served = 0;
	vmm->prefetched = 0;
	pthread_mutex_init(&vmm->mem_lock, NULL);
	vmm->ring_efd = -1;
	if (vmm->apf_features & KVM_APF_FEATURE_VMM_EXITLESS) {
		vmm->ring_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vmm->ring_efd < 0)
			die("eventfd");
	}
	if (vmm->restore_dir)
		mem_restore(vmm);
	else if (vmm->delay_all)
		uffd_start(vmm);

	/* Empty: every access to the mapping fails (SIGBUS in a process). */
	if (vmm->bad_size)
		vmm->bad = add_memfd_slot(vmm, SLOT_BAD, vmm->bad_gpa,
					  vmm->bad_size, 0, &vmm->bad_fd);
}

/* Stop serving: the prefetcher and the server go, the userfaultfd closes. */
static void mem_stop_serving(struct vmm *vmm)
{
	if (vmm->restore_dir && vmm->prefetch && !vmm->eager) {
		pthread_cancel(vmm->prefetch_thread);
		pthread_join(vmm->prefetch_thread, NULL);
		vmm->prefetch = 0;
	}
	if (vmm->uffd >= 0) {
		/* The server sees EBADF (or is cancelled while it waits). */
		pthread_cancel(vmm->uffd_thread);
		pthread_join(vmm->uffd_thread, NULL);
		close(vmm->uffd);
		close(vmm->wake[0]);
		close(vmm->wake[1]);
		vmm->uffd = -1;
	}
}

void mem_destroy(struct vmm *vmm)
{
	mem_stop_serving(vmm);
	munmap(vmm->ram, vmm->ram_size);
	close(vmm->mem_fd);
	if (vmm->ring_efd >= 0)
		close(vmm->ring_efd);
	if (vmm->shadow)
		munmap(vmm->shadow, vmm->ram_size);
	free(vmm->saved);
	free(vmm->dropped);
	free(vmm->lost);
	free(vmm->lose);
	if (vmm->bad_size) {
		munmap(vmm->bad, vmm->bad_size);
		close(vmm->bad_fd);
	}
}

/*
 * The image of guest RAM, to @fd: each page as the guest last wrote it,
 * the memfd's (a page never touched reads as zeros, without a fault) or,
 * for a page not served yet, its saved copy.  The vCPUs are stopped.
 */
void mem_save(struct vmm *vmm, int fd, struct snap *s)
{
	const u64 chunk = 1 << 20;
	u8 *buf = malloc(chunk);
	u64 off, p;

	if (!buf)
		die("malloc");
	/* Nothing is served while we read: pages stay as they are. */
	mem_stop_serving(vmm);
	for (off = 0; off < vmm->ram_size; off += chunk) {
		ssize_t n = pread(vmm->mem_fd, buf, chunk, off);

		if (n != (ssize_t)chunk)
			die("read guest RAM at 0x%llx", (unsigned long long)off);
		for (p = 0; p < chunk; p += PAGE) {
			u64 i = (off + p) / PAGE;

			if (vmm->saved[i / 8] & (1 << (i % 8)))
				memcpy(buf + p, vmm->shadow + off + p, PAGE);
		}
		if (write(fd, buf, chunk) != (ssize_t)chunk)
			die("write the memory image");
	}
	free(buf);
	/* Left out (mem_lose()), or not in this VM's image either. */
	for (p = 0; p < vmm->ram_size / PAGE; p++)
		if ((vmm->lose && (vmm->lose[p / 8] & (1 << (p % 8)))) ||
		    (vmm->lost && (vmm->lost[p / 8] & (1 << (p % 8)))))
			snap_put(s, SNAP_ABSENT, SNAP_VM, p, NULL, 0);
}

/*
 * Leave the page at @gpa out of the next snapshot, as a truncated or
 * damaged image would (for the tests): its restore cannot serve it.
 * Returns 0 or -EINVAL.
 */
int mem_lose(struct vmm *vmm, u64 gpa)
{
	u64 off = gpa - vmm->ram_base, i = off / PAGE;

	if (gpa < vmm->ram_base || off >= vmm->ram_size || (gpa & (PAGE - 1)))
		return -EINVAL;
	pthread_mutex_lock(&vmm->mem_lock);
	if (!vmm->lose)
		vmm->lose = calloc(vmm->ram_size / PAGE / 8 + 1, 1);
	if (!vmm->lose)
		die("calloc");
	vmm->lose[i / 8] |= 1 << (i % 8);
	pthread_mutex_unlock(&vmm->mem_lock);
	return 0;
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
	vmm->dropped[i / 8] |= 1 << (i % 8);
	if (vmm->saved[i / 8] & (1 << (i % 8))) {
		/* Out already, not served since: its copy is current. */
		pthread_mutex_unlock(&vmm->mem_lock);
		return 0;
	}
	/*
	 * From the file, not the mapping: reading a page that is missing
	 * through the mapping would wait for a server that needs mem_lock.
	 */
	if (pread(vmm->mem_fd, vmm->shadow + off, PAGE, off) != PAGE)
		die("read guest page 0x%llx", (unsigned long long)gpa);
	vmm->saved[i / 8] |= 1 << (i % 8);
	if (fallocate(vmm->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      off, PAGE))
		die("punch guest page 0x%llx", (unsigned long long)gpa);
	pthread_mutex_unlock(&vmm->mem_lock);
	return 0;
}

/*
 * What the VMM knows of the guest page holding @gpa, to the log: out
 * (dropped or not served yet) or in, lost, and the u64 at @gpa in guest
 * RAM (the memfd; 0 while out), in the page's saved copy, in this VM's
 * image (a restored VM's, read from the file).  For a test that found the
 * guest's memory changed.  Returns 0 or -EINVAL.
 */
int mem_page_report(struct vmm *vmm, u64 gpa)
{
	u64 off = (gpa - vmm->ram_base) & ~7ULL, i = off / PAGE;
	u64 ram = 0, copy = 0, image = 0;
	char path[4096];
	int saved, lost, fd;

	if (gpa < vmm->ram_base || off >= vmm->ram_size)
		return -EINVAL;
	pthread_mutex_lock(&vmm->mem_lock);
	saved = !!(vmm->saved[i / 8] & (1 << (i % 8)));
	lost = vmm->lost && (vmm->lost[i / 8] & (1 << (i % 8)));
	if (pread(vmm->mem_fd, &ram, 8, off) != 8)
		ram = ~0ULL;
	if (saved)
		memcpy(&copy, vmm->shadow + off, 8);
	pthread_mutex_unlock(&vmm->mem_lock);
	if (vmm->restore_dir) {
		snprintf(path, sizeof(path), "%s/mem", vmm->restore_dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || pread(fd, &image, 8, off) != 8)
			image = ~0ULL;
		if (fd >= 0)
			close(fd);
	}
	fprintf(stderr,
		"vmm: page 0x%llx: %s%s, served %lu; the u64 at 0x%llx: RAM %#llx, saved copy %#llx, image %#llx%s\n",
		(unsigned long long)(gpa & ~(u64)(PAGE - 1)), saved ? "out" : "in",
		lost ? ", lost" : "", __atomic_load_n(&vmm->served, __ATOMIC_RELAXED),
		(unsigned long long)gpa, (unsigned long long)ram,
		(unsigned long long)copy, (unsigned long long)image,
		vmm->restore_dir ? "" : " (not a restored VM)");
	return 0;
}

/*
 * A page the image lacks, filled in place of its lost contents as the bad
 * region is: each 8-byte word holds its own gpa (UFFDIO_COPY: it is
 * missing; never poisoned, only faults KVM took itself are).
 */
static void lost_fix(struct vmm *vmm, u64 off)
{
	u64 w[PAGE / 8], i;
	struct uffdio_copy copy = {
		.dst = (uintptr_t)vmm->ram + off,
		.src = (uintptr_t)w,
		.len = PAGE,
	};

	for (i = 0; i < PAGE / 8; i++)
		w[i] = vmm->ram_base + off + i * 8;
	pthread_mutex_lock(&vmm->mem_lock);
	vmm->lost[off / PAGE / 8] &= ~(1 << (off / PAGE % 8));
	pthread_mutex_unlock(&vmm->mem_lock);
	if (ioctl(vmm->uffd, UFFDIO_COPY, &copy) && errno != EEXIST)
		die("UFFDIO_COPY at RAM offset 0x%llx", (unsigned long long)off);
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
	u64 off = run->memory_fault.gpa - vmm->ram_base;

	/* A page lost from the image is accepted too, and failed (EIO). */
	if (!page_saved(vmm, off / PAGE) && !test_page(vmm, vmm->lost, off / PAGE)) {
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
	int lost = gpa >= vmm->ram_base && gpa - vmm->ram_base < vmm->ram_size &&
		   test_page(vmm, vmm->lost, (gpa - vmm->ram_base) / PAGE);

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
	if (!(run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_ERROR) ||
	    !(ours || lost) || vmm->on_error_stop) {
		fprintf(stderr, "vmm: stopping the guest\n");
		return EXIT_ERROR;
	}
	/* -U retry: once without a fix, which must give the same exit. */
	if (vmm->on_error_retry && !vmm->retried++) {
		fprintf(stderr, "vmm: re-entering without a fix\n");
		return EXIT_CONTINUE;
	}
	if (lost) {
		lost_fix(vmm, (gpa - vmm->ram_base) & ~(PAGE - 1));
		fprintf(stderr, "vmm: filled the page at 0x%llx the image lacks, re-entering\n",
			(unsigned long long)gpa);
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
