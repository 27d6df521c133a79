// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_bench: how much of a slow host fault async PF turns into guest work.
 *
 * The guest runs one "task" that touches a new page and then one quantum of
 * compute (the "other tasks"), over and over; while a touch is parked by
 * async PF it computes too.  The host lets it run for a fixed window and
 * reads how much work was done:
 *
 *   ceiling  pages already present: nothing to wait for
 *   sync     every first touch waits -d us (userfaultfd), async PF off
 *   async    the same delay, async PF on (kernel-resolved: KVM's worker
 *            waits in userfaultfd)
 *   single   async, but the guest has a single task: nothing to run while
 *            the touch is parked, it idles until "page ready" (HLT, WFI).
 *            Async PF cannot win anything here: against sync, its cost.
 *   paired   single and sync in one VM, in turn: the guest turns async PF
 *            on and off itself, in blocks of BLOCK_TOUCHES touches in the
 *            order single, sync, sync, single, and times each block by its
 *            own clock (ticks_KIND=, work_KIND=: complete groups only).
 *            The same cost as single against sync, without the host's
 *            speed changing between two windows (the same mode's work has
 *            varied by a fifth from one window to the next): each group's
 *            blocks share whatever speed the host had then.
 *   mixed    ceiling, sync and async in one VM, the same way: blocks in the
 *            order ceiling, sync, async, async, sync, ceiling (ceiling
 *            touches pages the host made present, the others late ones):
 *            the recovered share without the windows' differences in
 *            speed.
 *
 * -L, the lazy-restore scenario (issue 14): the pages are served by a VMM
 * thread pool (-t threads), each UFFDIO_COPYed -d us after the VMM learnt
 * of its fault (a remote fetch), and two more modes (-m) join:
 *
 *   vmm       KVM_APF_FEATURE_VMM: the vCPU loop accepts every async
 *             candidate exit and hands the page to the pool, which copies
 *             it after the delay and completes it with KVM_APF_READY_BATCH,
 *             batching whatever is ready by then
 *   exitless  KVM_APF_FEATURE_VMM_EXITLESS: KVM posts the faults to the
 *             vCPU's ring (KVM_APF_SET_RING) and signals an eventfd; a
 *             thread consumes the ring into the pool; a full ring falls back
 *             to the exit, accepted as in vmm
 *
 * -S N,...: the scale runs instead (issue 17): the guest makes N faults at
 * once (guest_touch_nowait(), each access abandoned when KVM says "not
 * present"), waits for every "page ready", and again, SCALE_BATCHES times;
 * the pages are served -d us late by -t userfaultfd readers; from the
 * tracepoints' timestamps, the host's time per fault in set-up and in
 * completion (apf_exit_trace.h), so that a cost that grows with the faults
 * in flight shows (the kernel's limit: kvm.apf_max_per_vcpu).  -V V,...:
 * with each count of vCPUs, every one of them making N faults at once on
 * its own pages (V x N in flight in the VM).
 *
 * -B N,...: the burst runs (issue 17's batched "page ready"): the guest as
 * in the scale runs, N faults at once; one VMM thread serves the pages a
 * chunk of N at a time, as one remote fetch: -d us after the first fault on
 * a chunk it maps the whole chunk and wakes its faults at once, so that the
 * N completions come together.  Each count runs in every mode in a round,
 * side by side: "page ready" one at a time (mode=slot), batched (mode=ring,
 * the guest opted in to the ring), and batched with "not present" as a
 * synchronous exception (mode=ring_ve: x86's #VE, arm64's abort; where KVM
 * offers it); the exits by cause of every batch but the first (which maps
 * the guest's own pages).
 *
 * In sync and async the pool serves the userfaultfd messages.  After the
 * window the run goes on until every page is in, for the time that took.
 *
 * With -P 1 (the default) and at least two CPUs, in every scenario, the
 * threads are placed as a production VMM places them: the vCPU thread alone on the first CPU it
 * may use, every VMM thread (the pool, the userfaultfd and ring readers, the
 * thread that measures) on the others; the same in every mode, the ceiling
 * and the calibration included; and the unbound workqueues' CPU mask (where
 * KVM's async PF fault-ins run: kernel-resolved async) narrowed to the
 * VMM's CPUs, as a host with pinned vCPUs keeps its kernel work off them,
 * restored at the end.  -P 0 leaves all of it to the scheduler.
 *
 * -X 1 tells the guest "not present" as a synchronous exception of the
 * access (x86: #VE; arm64: the abort, with no SDEI completion to exit
 * for), -X 0 as x86's #PF or arm64's SDEI event; the default is what each
 * arch's Linux guest takes: #PF on x86 (the base kernel has no #VE), the
 * abort on arm64 (SDEI where KVM does not offer the abort).  np= on the
 * lines.  The scale runs (-S) leave it off; the burst runs (-B) set it
 * per mode.
 *
 * Before its window, each run but the lazy ones measures the guest's speed
 * in its own VM (bench_speed(), "speed=" on its line), for the report's
 * recovered share at each run's own speed.
 *
 * Each run is a fresh VM in a child process; the compute quantum is sized
 * (unless -q) so that one quantum lasts -f percent (default 100) of one
 * host delay: measured on the guest's speed with nothing to wait for.  The
 * modes repeat -r times (default 3), interleaved, for the report's medians.
 * Prints one line "BENCH key=value ..." per run for scripts/bench.sh
 * (scenario=lazy with -L).  Counts that do not depend on speed come from
 * the guest's log, the vCPU's stats and the VMM's own counts; the window's
 * exits by reason, and the MSRs and hypercalls they were for, from KVM's
 * tracepoints (apf_exit_trace.h), so that the report can tell the exits
 * async PF causes from those the window has anyway.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "userfaultfd_util.h"
#include "apf_exit_trace.h"
#include "apf_guest.h"
#include "apf_util.h"

#define BENCH_SLOT	10
#define BENCH_GPA	0x10000000ul

static u64 bench_work;		/* guest: units of compute done */
static u64 bench_touched;	/* guest: pages touched */
static u64 bench_probe;		/* guest: units done before the go */
static u64 bench_go;		/* host: 1 ends the probe, starts the touches */

/*
 * Work is counted in units of apf_guest_compute(), the same loop the "not
 * present" handler runs while the touching task is parked.  With @probe,
 * the guest only computes (bench_probe) until the host says go: its speed
 * in this VM, right before the window (bench_speed()).
 */
static void guest_bench(u64 gva, u64 pages, u64 page_size, u64 quantum,
			u64 async, u64 probe)
{
	u64 n;

	if (async)
		guest_apf_enable();
	else
		guest_irq_enable();	/* same conditions, async PF off */
	while (probe && !READ_ONCE(bench_go))
		WRITE_ONCE(bench_probe, bench_probe + apf_guest_compute(quantum));
	for (n = 0;; n++) {
		if (n < pages) {
			READ_ONCE(*(u64 *)(gva + n * page_size));
			WRITE_ONCE(bench_touched, n + 1);
		}
		WRITE_ONCE(bench_work, bench_work + apf_guest_compute(quantum));
	}
}

#define BLOCK_TOUCHES	4	/* touches a block */
#define BLOCK_GROUPS	256	/* groups, at most */

/* The kinds of block (-m paired, mixed), as in the modes of their names. */
enum { BLK_CEILING, BLK_SYNC, BLK_ASYNC, BLK_SINGLE, BLK_KINDS };
static const char * const blk_name[BLK_KINDS] = {
	"ceiling", "sync", "async", "single",
};

/*
 * A group's blocks, in an order that is the same read backwards, so that
 * a drift of the host's speed that is linear over a group hits each kind
 * alike: -m paired (single against sync: the cost with nothing to
 * overlap), -m mixed (ceiling, sync, async: the recovered share).
 */
static const u8 blk_paired[] = { BLK_SINGLE, BLK_SYNC, BLK_SYNC, BLK_SINGLE };
static const u8 blk_mixed[] = { BLK_CEILING, BLK_SYNC, BLK_ASYNC,
				BLK_ASYNC, BLK_SYNC, BLK_CEILING };

/* Guest: each complete group's ticks and work per kind, and how many. */
static u64 blk_ticks[BLOCK_GROUPS][BLK_KINDS];
static u64 blk_work[BLOCK_GROUPS][BLK_KINDS];
static u64 blk_groups;

/* Guest: async PF on (its wake-all taken) or off, as @on says. */
static void blk_apf(bool on, bool *now)
{
	struct apf_vcpu_log *log = apf_my_log();
	u64 wake;

	if (on && !*now) {
		wake = READ_ONCE(log->wake_all);
		guest_apf_reenable();
		while (READ_ONCE(log->wake_all) == wake)
			cpu_relax();
	} else if (!on && *now) {
		guest_apf_disable();
	}
	*now = on;
}

/*
 * Guest, -m paired and mixed: guest_bench()'s task (a touch, then a
 * quantum of compute) in blocks of BLOCK_TOUCHES touches, of the kinds
 * @order (@n of them) says, one group after the other, each block timed
 * by the guest's clock.  Every block touches new pages: ceiling from the
 * upper half of @pages, which the host made present (as the ceiling run's:
 * mapped at the first touch, no delay); the others from the lower half,
 * each late: sync with async PF off; async with it on, computing while a
 * touch is parked; single with it on, idle while a touch is parked.
 * Turned on, async PF queues a wake-all: it is taken before the block's
 * clock starts.  A block's work is its quanta and what it computed while
 * parked.
 */
static void guest_blocks(u64 gva, u64 pages, u64 page_size, u64 quantum,
			 const u8 *order, u64 n)
{
	struct apf_vcpu_log *log = apf_my_log();
	u64 late = 0, present = pages / 2, g, b, i, t0, w0;
	bool on = true;

	guest_apf_enable();
	while (!READ_ONCE(log->wake_all))
		cpu_relax();
	for (g = 0; g < BLOCK_GROUPS; g++) {
		u64 ticks[BLK_KINDS] = {}, work[BLK_KINDS] = {};

		for (b = 0; b < n; b++) {
			u8 k = order[b];

			blk_apf(k == BLK_ASYNC || k == BLK_SINGLE, &on);
			WRITE_ONCE(apf_mode, k == BLK_SINGLE ? APF_MODE_HALT :
							       APF_MODE_PARK);
			if (late + BLOCK_TOUCHES > pages / 2 ||
			    present + BLOCK_TOUCHES > pages)
				goto spin;
			w0 = READ_ONCE(log->work);
			t0 = apf_guest_clock();
			for (i = 0; i < BLOCK_TOUCHES; i++) {
				u64 page = k == BLK_CEILING ? present++ : late++;

				READ_ONCE(*(u64 *)(gva + page * page_size));
				work[k] += apf_guest_compute(quantum);
			}
			ticks[k] += apf_guest_clock() - t0;
			work[k] += READ_ONCE(log->work) - w0;
			WRITE_ONCE(bench_touched, late);
		}
		for (b = 0; b < BLK_KINDS; b++) {
			WRITE_ONCE(blk_ticks[g][b], ticks[b]);
			WRITE_ONCE(blk_work[g][b], work[b]);
		}
		/* The group before its count (blocks_print()). */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		WRITE_ONCE(blk_groups, g + 1);
	}
spin:
	/* Out of pages or groups: compute until the host ends the run. */
	for (;;)
		apf_guest_compute(quantum);
}

/* Guest, -m paired. */
static void guest_paired(u64 gva, u64 pages, u64 page_size, u64 quantum)
{
	guest_blocks(gva, pages, page_size, quantum, blk_paired,
		     ARRAY_SIZE(blk_paired));
}

/* Guest, -m mixed. */
static void guest_mixed(u64 gva, u64 pages, u64 page_size, u64 quantum)
{
	guest_blocks(gva, pages, page_size, quantum, blk_mixed,
		     ARRAY_SIZE(blk_mixed));
}

/* Guest, per vCPU: batches whose faults all completed. */
static u64 scale_batches[APF_MAX_VCPUS];

/*
 * The scale run (-S): touch @inflight new pages at once, each access
 * abandoned if KVM says "not present" (guest_touch_nowait()): @inflight
 * faults in flight on this vCPU; compute until every one of them
 * is ready; again, until @pages are in.
 */
static void guest_scale(u64 gva, u64 pages, u64 page_size, u64 inflight,
			u64 warm)
{
	struct apf_vcpu_log *log = apf_my_log();
	u64 base, i, issued = 0, v;
	u32 me = apf_vcpu();

	guest_apf_enable();
	guest_irq_enable();
	for (base = 0; base + inflight <= pages; base += inflight) {
		for (i = 0; i < inflight; i++)
			if (guest_touch_nowait(gva + (base + i) * page_size, &v))
				issued++;
		while (READ_ONCE(log->ready) - READ_ONCE(log->wake_all) <
		       issued)
			apf_guest_compute(APF_PARK_CHUNK);
		WRITE_ONCE(scale_batches[me], scale_batches[me] + 1);
		/* @warm: the host measures from the second batch on. */
		if (warm && !base)
			GUEST_SYNC(1);
	}
	GUEST_DONE();
}

static size_t page_size;

static int serve_zero(int mode, int uffd, struct uffd_msg *msg)
{
	struct uffdio_zeropage z = {
		.range = { .start = msg->arg.pagefault.address & ~(u64)(page_size - 1),
			   .len = page_size },
	};

	if (ioctl(uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST)
		return -errno;
	return 0;
}

static void *run_vcpu(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_FAIL("guest stopped: exit %d", vcpu->run->exit_reason);
	return NULL;
}

/*
 * The lazy-restore VMM (-L): a pool of threads that put each page in after
 * the delay, fed by the userfaultfd reader, the vCPU loop's accepted exits
 * and the exitless ring's reader.
 */
#define LR_QUEUE	4096	/* faults the VMM has in hand at most */
#define LR_RING		64	/* exitless ring entries: the per-vCPU limit */
#define LR_ALL_IN_S	30	/* after the window: bound on "all pages in" */
#define LR_STATS	128	/* vCPU stats read at most */
#define LR_NAME_SIZE	48	/* the kernel's KVM_STATS_NAME_SIZE */

struct lr_item {
	u64 gpa;
	u64 due_ns;
	u32 token;		/* 0: a userfaultfd message, nothing to complete */
};

static struct lazy {
	struct kvm_vm *vm;
	u32 vcpu_id;
	int uffd;
	void *hva;		/* host address of BENCH_GPA */
	u64 pages;
	u64 delay_ns;
	bool accept;		/* the vCPU loop accepts async candidates */

	pthread_mutex_t lock;	/* the queue of faults to serve */
	pthread_cond_t cond;
	struct lr_item queue[LR_QUEUE];
	u32 qhead, qtail;

	pthread_mutex_t rlock;	/* the completions to batch */
	struct kvm_apf_ready ready[LR_QUEUE];
	u32 nready;
	bool flushing;

	struct kvm_apf_ring *ring;
	int efd;

	u8 *seen;		/* per page: the VMM saw a fault on it */
	u64 start_ns, all_in_ns;
	/* The VMM's counts (atomics). */
	u64 faulted;		/* pages the VMM saw a first fault on */
	u64 copied;		/* pages it put in */
	u64 uffd_msgs;		/* userfaultfd messages */
	u64 run_returns;	/* KVM_RUN returns (EINTR included) */
	u64 vmm_exits;		/* of which memory-fault exits */
	u64 ring_notices;	/* notices taken from the exitless ring */
	u64 batches;		/* KVM_APF_READY_BATCH calls */
	u64 completed;		/* entries they completed */
	u64 errors;		/* entries or calls that failed */
	u64 fetches;		/* pool wake-ups after a delay */
	u64 fetch_ns;		/* their total time from submission */
} lr = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.rlock = PTHREAD_MUTEX_INITIALIZER,
	.efd = -1,
};

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void lr_count(u64 *counter, u64 n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* The VMM learnt of a fault on @gpa: fetch it, due after the delay. */
static void lr_submit(u64 gpa, u32 token)
{
	u64 page = (gpa - BENCH_GPA) / page_size;

	TEST_ASSERT(gpa >= BENCH_GPA && page < lr.pages,
		    "fault at gpa %lx, outside the restored memory", gpa);
	if (!__atomic_exchange_n(&lr.seen[page], 1, __ATOMIC_RELAXED))
		lr_count(&lr.faulted, 1);
	pthread_mutex_lock(&lr.lock);
	TEST_ASSERT(lr.qtail - lr.qhead < LR_QUEUE, "VMM queue full");
	lr.queue[lr.qtail++ % LR_QUEUE] = (struct lr_item){
		.gpa = gpa & ~(u64)(page_size - 1),
		.due_ns = now_ns() + lr.delay_ns,
		.token = token,
	};
	pthread_cond_signal(&lr.cond);
	pthread_mutex_unlock(&lr.lock);
}

/*
 * Complete @token: whichever pool thread finds no batch in progress issues
 * KVM_APF_READY_BATCH for everything ready by then, again until none is.
 */
static void lr_ready(u32 token)
{
	struct kvm_apf_ready batch[LR_QUEUE];
	struct kvm_apf_ready_batch b = { .entries = (u64)batch };
	int r;
	u32 i;

	pthread_mutex_lock(&lr.rlock);
	lr.ready[lr.nready++] = (struct kvm_apf_ready){
		.vcpu_id = lr.vcpu_id, .token = token,
	};
	if (lr.flushing) {
		pthread_mutex_unlock(&lr.rlock);
		return;
	}
	lr.flushing = true;
	while (lr.nready) {
		b.nr = lr.nready;
		memcpy(batch, lr.ready, b.nr * sizeof(*batch));
		lr.nready = 0;
		pthread_mutex_unlock(&lr.rlock);

		r = __vm_ioctl(lr.vm, KVM_APF_READY_BATCH, &b);
		lr_count(&lr.batches, 1);
		if (r < 0) {
			lr_count(&lr.errors, b.nr);
		} else {
			lr_count(&lr.completed, r);
			for (i = 0; i < b.nr; i++)
				lr_count(&lr.errors, !!batch[i].result);
		}
		pthread_mutex_lock(&lr.rlock);
	}
	lr.flushing = false;
	pthread_mutex_unlock(&lr.rlock);
}

/* Put the page at @gpa in, as a fetched copy; true if this call did. */
static bool lr_copy(u64 gpa)
{
	static __thread u64 *buf;
	u64 hva = (u64)lr.hva + (gpa - BENCH_GPA);
	struct uffdio_copy copy = { .dst = hva, .len = page_size };
	struct uffdio_range range = { .start = hva, .len = page_size };
	u64 i;

	if (!buf) {
		buf = malloc(page_size);
		TEST_ASSERT(buf, "no memory");
		for (i = 0; i < page_size / 8; i++)
			buf[i] = i;
	}
	copy.src = (u64)buf;
	if (!ioctl(lr.uffd, UFFDIO_COPY, &copy))
		return true;
	/* Another thread put it in already: wake whoever waits, if any. */
	TEST_ASSERT(errno == EEXIST, "UFFDIO_COPY at %lx: errno %d", gpa, errno);
	TEST_ASSERT(!ioctl(lr.uffd, UFFDIO_WAKE, &range), "UFFDIO_WAKE");
	return false;
}

static void *lr_worker(void *arg)
{
	struct lr_item it;
	struct timespec due;

	for (;;) {
		pthread_mutex_lock(&lr.lock);
		while (lr.qhead == lr.qtail)
			pthread_cond_wait(&lr.cond, &lr.lock);
		it = lr.queue[lr.qhead++ % LR_QUEUE];
		pthread_mutex_unlock(&lr.lock);

		/*
		 * The remote fetch.  How long it really took (the threads'
		 * wake-up latency added) is in the report: fetch_us.
		 */
		due.tv_sec = it.due_ns / 1000000000ull;
		due.tv_nsec = it.due_ns % 1000000000ull;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL))
			;
		lr_count(&lr.fetch_ns, now_ns() - (it.due_ns - lr.delay_ns));
		lr_count(&lr.fetches, 1);
		if (lr_copy(it.gpa) &&
		    __atomic_add_fetch(&lr.copied, 1, __ATOMIC_SEQ_CST) == lr.pages)
			__atomic_store_n(&lr.all_in_ns, now_ns(), __ATOMIC_SEQ_CST);
		if (it.token)
			lr_ready(it.token);
	}
	return NULL;
}

/* Faults KVM (or its worker) waits for in userfaultfd: serve them too. */
static void *lr_uffd_reader(void *arg)
{
	struct uffd_msg msg;

	for (;;) {
		ssize_t r = read(lr.uffd, &msg, sizeof(msg));

		if (r < 0 && errno == EINTR)
			continue;
		TEST_ASSERT(r == sizeof(msg), "userfaultfd read: %ld, errno %d",
			    r, errno);
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		lr_count(&lr.uffd_msgs, 1);
		lr_submit(BENCH_GPA + (msg.arg.pagefault.address - (u64)lr.hva),
			  0);
	}
	return NULL;
}

/* Exitless: take the notices KVM posted, as the eventfd signals them. */
static void *lr_ring_reader(void *arg)
{
	struct kvm_apf_notice *n;
	u32 head, tail = 0;
	u64 count;

	for (;;) {
		if (read(lr.efd, &count, sizeof(count)) != sizeof(count)) {
			TEST_ASSERT(errno == EINTR, "eventfd read: errno %d", errno);
			continue;
		}
		head = __atomic_load_n(&lr.ring->head, __ATOMIC_ACQUIRE);
		for (; tail != head; tail++) {
			n = &lr.ring->notices[tail % LR_RING];
			TEST_ASSERT(n->vcpu_id == lr.vcpu_id && n->token,
				    "ring notice: vCPU %u token %#x", n->vcpu_id,
				    n->token);
			lr_count(&lr.ring_notices, 1);
			lr_submit(n->gpa, n->token);
		}
		__atomic_store_n(&lr.ring->tail, tail, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * The vCPU loop: every async candidate is accepted (its page handed to the
 * pool); any other way out of the guest ends the run.
 */
static void *lr_run_vcpu(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	int r;

	for (;;) {
		r = __vcpu_run(vcpu);
		lr_count(&lr.run_returns, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EFAULT && lr.accept &&
		    run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		    (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_ASYNC) &&
		    !(run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_ERROR)) {
			lr_count(&lr.vmm_exits, 1);
			lr_submit(run->memory_fault.gpa, run->memory_fault.token);
			run->memory_fault.flags |= KVM_MEMORY_EXIT_FLAG_ASYNC_ACCEPT;
			continue;
		}
		break;
	}
	if (!r && get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_FAIL("guest stopped: KVM_RUN %d (errno %d), exit %d, memory fault flags %llx gpa %llx",
		  r, r ? errno : 0, run->exit_reason,
		  (unsigned long long)run->memory_fault.flags,
		  (unsigned long long)run->memory_fault.gpa);
	return NULL;
}

static void lr_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	TEST_ASSERT(!pthread_create(&t, NULL, fn, arg), "pthread_create");
}

/*
 * The threads' placement (-P): the vCPU thread's CPUs and the VMM threads'.
 * Pinned only if asked and there are at least two CPUs to split.  A host
 * that pins vCPU threads also keeps its unbound kernel work (the fault-ins
 * of async PF among it) off their CPUs, with the workqueue CPU mask: that
 * mask narrowed to the VMM's CPUs while the bench runs, then restored
 * (wq_cpus; "any" where the kernel has no such file).
 */
#define WQ_CPUMASK "/sys/devices/virtual/workqueue/cpumask"

static struct {
	bool pinned, wq_narrowed;
	pid_t wq_owner;		/* not the forked runs: they inherit atexit */
	cpu_set_t vcpu, vmm;
	char wq_saved[256], wq_cpus[256];
} lr_pin;

/* @set as a kernel CPU mask: 32-bit hex words, the highest first. */
static void cpumask_str(const cpu_set_t *set, char *buf, size_t size)
{
	int cpu, word, top = 0;
	size_t len = 0;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set))
			top = cpu / 32;
	for (word = top; word >= 0 && len < size; word--) {
		unsigned int bits = 0;

		for (cpu = 0; cpu < 32; cpu++)
			if (CPU_ISSET(word * 32 + cpu, set))
				bits |= 1u << cpu;
		len += snprintf(buf + len, size - len, "%s%08x",
				word == top ? "" : ",", bits);
	}
}

static bool wq_cpumask_write(const char *mask)
{
	FILE *f = fopen(WQ_CPUMASK, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(mask, f) >= 0;
	return !fclose(f) && ok;
}

/* At exit (no assertion there: exit() again would be undefined). */
static void wq_cpumask_restore(void)
{
	if (lr_pin.wq_narrowed && getpid() == lr_pin.wq_owner &&
	    !wq_cpumask_write(lr_pin.wq_saved))
		fprintf(stderr, "# restoring %s to %s: errno %d\n", WQ_CPUMASK,
			lr_pin.wq_saved, errno);
	lr_pin.wq_narrowed = false;
}

/*
 * The unbound workqueues onto the VMM's CPUs, if the kernel lets us (no
 * such file, or not root: left as it is, wq_cpus=any says so).  Not
 * restored if a signal kills the bench.
 */
static void wq_cpumask_narrow(void)
{
	FILE *f = fopen(WQ_CPUMASK, "r");

	if (!f)
		return;
	if (!fgets(lr_pin.wq_saved, sizeof(lr_pin.wq_saved), f))
		lr_pin.wq_saved[0] = 0;
	fclose(f);
	lr_pin.wq_saved[strcspn(lr_pin.wq_saved, "\n")] = 0;
	cpumask_str(&lr_pin.vmm, lr_pin.wq_cpus, sizeof(lr_pin.wq_cpus));
	if (!lr_pin.wq_saved[0] || !wq_cpumask_write(lr_pin.wq_cpus)) {
		printf("# %s left as it is (narrowing to %s: errno %d)\n",
		       WQ_CPUMASK, lr_pin.wq_cpus, errno);
		return;
	}
	lr_pin.wq_narrowed = true;
	lr_pin.wq_owner = getpid();
	atexit(wq_cpumask_restore);
}

static void lr_pin_plan(bool want)
{
	cpu_set_t all;
	int cpu, first = -1;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(all), &all),
		    "sched_getaffinity: errno %d", errno);
	lr_pin.vcpu = all;
	lr_pin.vmm = all;
	lr_pin.pinned = want && CPU_COUNT(&all) >= 2;
	if (!lr_pin.pinned)
		return;
	for (cpu = 0; cpu < CPU_SETSIZE && first < 0; cpu++)
		if (CPU_ISSET(cpu, &all))
			first = cpu;
	CPU_ZERO(&lr_pin.vcpu);
	CPU_SET(first, &lr_pin.vcpu);
	CPU_CLR(first, &lr_pin.vmm);
	wq_cpumask_narrow();
}

/* "any" unpinned, else the CPUs of @set as "0,2,3". */
static const char *lr_cpus(const cpu_set_t *set, char *buf, size_t size)
{
	size_t len = 0;
	int cpu;

	if (!lr_pin.pinned)
		return "any";
	buf[0] = 0;
	for (cpu = 0; cpu < CPU_SETSIZE && len < size; cpu++)
		if (CPU_ISSET(cpu, set))
			len += snprintf(buf + len, size - len, "%s%d",
					len ? "," : "", cpu);
	return buf;
}

/* How the guest is told "not present" (apf_want_ve), on the BENCH line. */
static const char *apf_np_name(void)
{
#ifdef __x86_64__
	return apf_want_ve ? "ve" : "pf";
#else
	return apf_want_ve ? "abort" : "sdei";
#endif
}

/*
 * Where the threads run, on the BENCH line:
 * "pin=1 vcpu_cpus=0 vmm_cpus=1 wq_cpus=1 ".
 */
static void print_placement(void)
{
	char vcpu_cpus[64], vmm_cpus[64];

	printf("pin=%d vcpu_cpus=%s vmm_cpus=%s wq_cpus=%s pv_eoi=%d np=%s ",
	       lr_pin.pinned,
	       lr_cpus(&lr_pin.vcpu, vcpu_cpus, sizeof(vcpu_cpus)),
	       lr_cpus(&lr_pin.vmm, vmm_cpus, sizeof(vmm_cpus)),
	       lr_pin.wq_narrowed ? vmm_cpus : "any", apf_want_pv_eoi,
	       apf_np_name());
}

/*
 * A run's VM: @nr vCPUs (into @vcpus) running @guest, @pages pages at
 * BENCH_GPA mapped 1:1 (their host address in *@hva).  This thread on the
 * VMM's CPUs first: every thread it starts from now on (pool, readers)
 * inherits them.
 */
static struct kvm_vm *bench_vm(void *guest, u64 pages, u32 nr,
			       struct kvm_vcpu **vcpus, void **hva)
{
	struct kvm_vm *vm;

	TEST_ASSERT(!sched_setaffinity(0, sizeof(lr_pin.vmm), &lr_pin.vmm),
		    "sched_setaffinity: errno %d", errno);
	/* Room for the page tables of @pages (a 4 KiB page maps 512). */
	vm = __vm_create_with_vcpus(VM_SHAPE_DEFAULT, nr, pages / 256, guest,
				    vcpus);
	page_size = vm->page_size;
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, BENCH_GPA,
				    BENCH_SLOT, pages, 0);
	virt_map(vm, BENCH_GPA, BENCH_GPA, pages);
	*hva = addr_gpa2hva(vm, BENCH_GPA);
	return vm;
}

/* Register the restored memory with a (blocking) userfaultfd. */
static int lr_uffd_register(void *hva, u64 len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (u64)hva, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int uffd = syscall(__NR_userfaultfd, O_CLOEXEC);

	TEST_ASSERT(uffd >= 0, "userfaultfd: errno %d", errno);
	TEST_ASSERT(!ioctl(uffd, UFFDIO_API, &api), "UFFDIO_API");
	TEST_ASSERT(!ioctl(uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER");
	return uffd;
}

/*
 * Every vCPU stat's first value, read into @vals (room for @max); returns
 * how many.  With @names, their names too (the stats' order is fixed).
 */
static int read_all_stats(int fd, u64 *vals, char (*names)[LR_NAME_SIZE],
			  int max)
{
	struct kvm_stats_header header;
	struct kvm_stats_desc *descs, *d;
	int i;

	read_stats_header(fd, &header);
	descs = read_stats_descriptors(fd, &header);
	for (i = 0; i < (int)header.num_desc && i < max; i++) {
		d = get_stats_descriptor(descs, i, &header);
		read_stat_data(fd, &header, d, &vals[i], 1);
		if (names)
			snprintf(names[i], LR_NAME_SIZE, "%s", d->name);
	}
	free(descs);
	return i;
}

static const char *kernel_release(void)
{
	static struct utsname u;

	uname(&u);
	return u.release;
}

static void print_usage(const char *prog)
{
	printf("Usage: %s [-L] [-m mode,...] [-d delay_us] [-w window_ms]\n"
	       "  [-q quantum | -f quantum_pct] [-p pages] [-t pool_threads]\n"
	       "  [-r rounds] [-P 0|1 (pin the vCPU and VMM threads)]\n"
	       "  [-E 0|1 (x86: PV EOI, as Linux guests; default 1)]\n"
	       "  [-X 0|1 (\"not present\" as x86's #VE, arm64's abort;\n"
	       "   default 0 on x86, 1 on arm64, as their Linux guests)]\n"
	       "  [-T (time every exit: in_exits_ms=)]\n"
	       "modes: ceiling, sync, async, single, paired, mixed;\n"
	       "  -L: vmm, exitless too\n"
	       "  -S n,...: the scale runs instead: n faults in flight\n"
	       "  -V v,...: the scale runs on v vCPUs each (default 1)\n"
	       "  -B n,...: the burst runs instead: n completions at once\n",
	       prog);
	exit(KSFT_FAIL);
}

struct bench_args {
	u64 delay_us, window_ms, quantum, quantum_pct, pages, rounds, threads;
	u64 vcpus;		/* the scale run's */
	bool lazy, pin;
	bool timing;		/* -T */
	bool np_exc;		/* -X */
};

/* KVM's limit of async faults in flight per vCPU; 0 if it has none to read. */
static u64 apf_limit(void)
{
	FILE *f = fopen("/sys/module/kvm/parameters/apf_max_per_vcpu", "r");
	u64 limit = 0;

	if (f) {
		if (fscanf(f, "%lu", &limit) != 1)
			limit = 0;
		fclose(f);
	}
	return limit;
}

/*
 * The burst runs' VMM (-B): one thread, one remote fetch per chunk of
 * @chunk bytes, once every page of the chunk has faulted (the guest makes
 * them all async at once), or BURST_WAIT_MS after the first if some do not
 * (a fault that went synchronous stops the guest's touches); then -d us
 * for the fetch and the whole chunk is mapped and woken at once.  The
 * chunks come in order (the guest waits for each); a message on a chunk
 * already served (raised before it was mapped, read after) is only woken.
 */
#define BURST_WAIT_MS	1000

struct burst_server {
	int uffd;
	u64 base, chunk, delay_us;
	u8 *served;		/* per chunk */
};

static void burst_map(struct burst_server *b, u64 start)
{
	struct uffdio_range wake = { .start = start, .len = b->chunk };
	struct uffdio_zeropage z;
	u64 off;

	/* Every page, none of them woken yet; then all of them at once. */
	for (off = 0; off < b->chunk; off += page_size) {
		z = (struct uffdio_zeropage){
			.range = { .start = start + off, .len = page_size },
			.mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
		};
		TEST_ASSERT(!ioctl(b->uffd, UFFDIO_ZEROPAGE, &z) || errno == EEXIST,
			    "UFFDIO_ZEROPAGE: errno %d", errno);
	}
	TEST_ASSERT(!ioctl(b->uffd, UFFDIO_WAKE, &wake), "UFFDIO_WAKE: errno %d",
		    errno);
}

/* The next fault's chunk, or -1 if none came within @ms (-1: no bound). */
static s64 burst_next(struct burst_server *b, int ms, u64 *page)
{
	struct pollfd p = { .fd = b->uffd, .events = POLLIN };
	struct uffd_msg msg;

	for (;;) {
		if (poll(&p, 1, ms) == 0)
			return -1;
		if (read(b->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			TEST_ASSERT(errno == EINTR || errno == EAGAIN,
				    "userfaultfd read: errno %d", errno);
			continue;
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		*page = (msg.arg.pagefault.address - b->base) / page_size;
		return *page * page_size / b->chunk;
	}
}

static void *burst_serve(void *arg)
{
	u64 per_chunk, page, faulted, end;
	struct burst_server *b = arg;
	s64 chunk, next;
	u8 *seen;

	per_chunk = b->chunk / page_size;
	seen = calloc(per_chunk, 1);
	TEST_ASSERT(seen, "no memory");
	for (;;) {
		chunk = burst_next(b, -1, &page);
		if (b->served[chunk]) {
			burst_map(b, b->base + chunk * b->chunk);
			continue;
		}
		/* Every page of the chunk faulted, or the bound. */
		memset(seen, 0, per_chunk);
		seen[page % per_chunk] = 1;
		faulted = 1;
		end = now_ns() + BURST_WAIT_MS * 1000000ull;
		while (faulted < per_chunk && now_ns() < end) {
			next = burst_next(b, (end - now_ns()) / 1000000 + 1,
					  &page);
			if (next == chunk && !seen[page % per_chunk]) {
				seen[page % per_chunk] = 1;
				faulted++;
			}
		}
		usleep(b->delay_us);	/* the fetch of the chunk */
		b->served[chunk] = 1;
		burst_map(b, b->base + chunk * b->chunk);
	}
	return NULL;
}

/* The scale run's batches: each brings in -S's count of pages. */
#define SCALE_BATCHES	4

/*
 * One scale run (@mode "scale"), in a child process: @inflight faults at
 * once on each of -V's count of vCPUs (a->vcpus), SCALE_BATCHES times, each
 * page served -d us late by -t userfaultfd readers; the host's time per
 * fault from the tracepoints' timestamps.  Or one burst run (@mode "slot"
 * or "ring", one vCPU): the same guest, its pages served a chunk of
 * @inflight at a time (burst_serve()), "page ready" one at a time or
 * batched; the exits by cause.
 */
static void scale_run(const struct bench_args *a, u64 inflight,
		      const char *mode)
{
	bool burst = strcmp(mode, "scale");
	u32 nv = burst ? 1 : a->vcpus, i;
	u64 per_vcpu = inflight * SCALE_BATCHES, pages = per_vcpu * nv;
	u64 t0, t1, batches = 0, batches0 = 0, np = 0, ready = 0, notes = 0;
	struct kvm_vcpu *vcpus[APF_MAX_VCPUS];
	pthread_t threads[APF_MAX_VCPUS];
	struct apf_vcpu_log log0 = {};
	struct burst_server b = {};
	struct uffd_desc *uffd = NULL;
	struct kvm_vm *vm;
	struct ucall uc;
	pthread_t t;
	void *hva;

	/* The readers on the VMM's CPUs, the vCPU threads on theirs. */
	vm = bench_vm(guest_scale, pages, nv, vcpus, &hva);
	if (burst) {
		b = (struct burst_server){
			.uffd = lr_uffd_register(hva, pages * page_size),
			.base = (u64)hva, .chunk = inflight * page_size,
			.delay_us = a->delay_us,
			.served = calloc(SCALE_BATCHES, 1),
		};
		TEST_ASSERT(b.served, "no memory");
		TEST_ASSERT(!pthread_create(&t, NULL, burst_serve, &b),
			    "pthread_create");
	} else {
		uffd = uffd_setup_demand_paging(UFFDIO_REGISTER_MODE_MISSING,
						a->delay_us, hva,
						pages * page_size, a->threads,
						serve_zero);
	}
	apf_want_ring = !strcmp(mode, "ring") || !strcmp(mode, "ring_ve");
	apf_want_ve = !strcmp(mode, "ring_ve");
	apf_arch_vm_setup(vm);
	for (i = 0; i < nv; i++)
		vcpu_args_set(vcpus[i], 5, BENCH_GPA + i * per_vcpu * page_size,
			      per_vcpu, (u64)page_size, inflight, (u64)burst);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(lr_pin.vcpu), &lr_pin.vcpu),
		    "sched_setaffinity: errno %d", errno);

	/*
	 * The bursts: the first batch (the guest's own pages mapped, the
	 * handlers' paths taken) is not measured; the rest, counts only.
	 * The scale runs: every batch, with timestamps.
	 */
	if (burst) {
		TEST_ASSERT_EQ(run_to_ucall(vcpus[0], &uc), UCALL_SYNC);
		sync_global_from_guest(vm, apf_log);
		sync_global_from_guest(vm, scale_batches);
		log0 = apf_log;
		batches0 = scale_batches[0];
	}
	exit_trace_start(!burst);
	t0 = now_ns();
	/* This thread runs vCPU 0; the others inherit its CPUs. */
	for (i = 1; i < nv; i++)
		TEST_ASSERT(!pthread_create(&threads[i], NULL, run_to_done,
					    vcpus[i]), "pthread_create");
	run_to_done(vcpus[0]);
	for (i = 1; i < nv; i++)
		pthread_join(threads[i], NULL);
	t1 = now_ns();
	exit_trace_stop();
	sync_global_from_guest(vm, apf_logs);
	sync_global_from_guest(vm, scale_batches);
	for (i = 0; i < nv; i++) {
		batches += scale_batches[i];
		np += apf_logs[i].not_present;
		ready += apf_logs[i].ready - apf_logs[i].wake_all;
		/* With the ring: the notifications taken (one ack each). */
		notes += apf_want_ring ? apf_logs[i].batches : apf_logs[i].ready;
	}
	printf("BENCH scenario=%s mode=%s kernel=%s inflight=%lu vcpus=%u delay_us=%lu ",
	       burst ? "burst" : "scale", mode, kernel_release(), inflight, nv,
	       a->delay_us);
	printf("limit=%lu ", apf_limit());
	printf("readers=%lu pages=%lu batches=%lu not_present=%lu ready=%lu ",
	       burst ? 1 : a->threads, pages - batches0 * inflight,
	       batches - batches0, np - log0.not_present,
	       ready - (log0.ready - log0.wake_all));
	printf("notifications=%lu ", notes -
	       (apf_want_ring ? log0.batches : log0.ready));
	print_placement();
	printf("time_ms=%lu", (t1 - t0) / 1000000);
	exit_trace_print();
	printf("\n");
	fflush(stdout);
	if (uffd)
		uffd_stop_demand_paging(uffd);
	_exit(0);
}

static void bench(const struct bench_args *a, const char *mode, u64 quantum,
		  u64 *result);

/* One run, in a child process; returns the work it measured. */
static u64 run_one(const struct bench_args *a, const char *mode, u64 quantum)
{
	u64 *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	TEST_ASSERT(shared != MAP_FAILED, "mmap");
	pid = fork();
	if (!pid && (!strcmp(mode, "scale") || !strcmp(mode, "slot") ||
		     !strcmp(mode, "ring") || !strcmp(mode, "ring_ve")))
		scale_run(a, quantum, mode);
	if (!pid)
		bench(a, mode, quantum, shared);
	waitpid(pid, &status, 0);
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "%s run failed (status %#x)", mode, status);
	return *shared;
}

static bool mode_known(const char *mode, bool lazy)
{
	return !strcmp(mode, "ceiling") || !strcmp(mode, "sync") ||
	       !strcmp(mode, "async") || !strcmp(mode, "single") ||
	       (!lazy && (!strcmp(mode, "paired") || !strcmp(mode, "mixed"))) ||
	       (lazy && (!strcmp(mode, "vmm") || !strcmp(mode, "exitless")));
}

/* "n,n,...", each 1 to @limit, into @out: how many (at most @max), or -1. */
static int parse_counts(char *list, u64 *out, int max, u64 limit)
{
	char *tok, *save;
	int n = 0;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		out[n] = strtoull(tok, NULL, 0);
		if (!out[n] || out[n] > limit)
			return -1;
		n++;
	}
	return n;
}

int main(int argc, char *argv[])
{
	struct bench_args a = { .delay_us = 5000, .window_ms = 2000,
				.quantum = 0, .quantum_pct = 100, .pages = 8192,
				.rounds = 3, .threads = 4, .pin = true };
	char *modes[8], *list = strdup("ceiling,sync,async"), *tok, *save;
	char *scale_list = NULL, *vcpu_list = strdup("1");
	bool burst = false, ve;
	u64 scale_n[8], vcpu_n[APF_MAX_VCPUS];
	int nscale = 0, nvcpus = 0, v;
	int opt, nmodes = 0, i;
	const char *why;
	u64 q, rate, r;

#ifdef __x86_64__
	apf_want_pv_eoi = true;	/* arm64's GIC EOI never exits */
#else
	a.np_exc = true;	/* arm64's Linux guest takes the abort */
#endif
	while ((opt = getopt(argc, argv, "TLS:V:B:E:X:m:d:w:q:f:p:r:t:P:")) != -1) {
		switch (opt) {
		case 'X':
			if (strcmp(optarg, "0") && strcmp(optarg, "1"))
				print_usage(argv[0]);
			a.np_exc = optarg[0] == '1';
			break;
		case 'V':
			vcpu_list = strdup(optarg);
			break;
		case 'S':
			scale_list = strdup(optarg);
			break;
		case 'B':
			scale_list = strdup(optarg);
			burst = true;
			break;
		case 'L':
			a.lazy = true;
			break;
		case 'T':
			a.timing = true;
			break;
		case 'E':
			if (strcmp(optarg, "0") && strcmp(optarg, "1"))
				print_usage(argv[0]);
			apf_want_pv_eoi = optarg[0] == '1';
			break;
		case 'm':
			list = strdup(optarg);
			break;
		case 'd':
			a.delay_us = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			a.window_ms = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			a.quantum = strtoull(optarg, NULL, 0);
			break;
		case 'f':
			a.quantum_pct = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			a.pages = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			a.rounds = strtoull(optarg, NULL, 0);
			break;
		case 't':
			a.threads = strtoull(optarg, NULL, 0);
			break;
		case 'P':
			a.pin = strtoull(optarg, NULL, 0);
			break;
		default:
			print_usage(argv[0]);
		}
	}
	for (tok = strtok_r(list, ",", &save); tok && nmodes < 8;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!mode_known(tok, a.lazy))
			print_usage(argv[0]);
		modes[nmodes++] = tok;
	}
	if (!a.window_ms || !a.pages || !a.delay_us || !a.rounds ||
	    !a.quantum_pct || !a.threads || !nmodes)
		print_usage(argv[0]);
	why = apf_arch_unsupported();
	if (why) {
		printf("BENCH %sskipped=1 reason=\"%s\"\n",
		       a.lazy ? "scenario=lazy " : "", why);
		return KSFT_SKIP;
	}
	lr_pin_plan(a.pin);

	/* -S: the scale runs only, each count -r times, interleaved. */
	nscale = scale_list ? parse_counts(scale_list, scale_n,
					   ARRAY_SIZE(scale_n), ~0ull) : 0;
	nvcpus = parse_counts(vcpu_list, vcpu_n, APF_MAX_VCPUS, APF_MAX_VCPUS);
	if (nscale < 0 || nvcpus <= 0)
		print_usage(argv[0]);
	/* -B: the burst runs only, each count -r times, the modes in turn. */
	apf_want_ve = true;
	ve = !apf_arch_unsupported();
	apf_want_ve = false;
	/* Where KVM does not offer it, the window runs take the default. */
	a.np_exc = a.np_exc && ve;
	ve = ve && burst;
	for (r = 0; r < a.rounds; r++)
		for (i = 0; i < nscale; i++) {
			for (v = 0; !burst && v < nvcpus; v++) {
				a.vcpus = vcpu_n[v];
				run_one(&a, "scale", scale_n[i]);
			}
			if (!burst)
				continue;
			run_one(&a, "slot", scale_n[i]);
			run_one(&a, "ring", scale_n[i]);
			if (ve)
				run_one(&a, "ring_ve", scale_n[i]);
		}
	if (nscale)
		return 0;

	/*
	 * Unless told, size the compute quantum so that it lasts -f percent
	 * of one host delay: measure the guest's speed with nothing to wait
	 * for.
	 */
	q = a.quantum;
	if (!q) {
		rate = run_one(&a, "calibrate", 1000) / a.window_ms;
		q = rate * a.delay_us * a.quantum_pct / 100000;
		TEST_ASSERT(q, "guest too slow to calibrate");
	}
	/* Interleaved, so that a slower stretch of the host hits every mode. */
	for (r = 0; r < a.rounds; r++)
		for (i = 0; i < nmodes; i++)
			run_one(&a, modes[i], q);
	return 0;
}

/*
 * The lazy-restore run's set-up: the pool and its feeders, and the VMM
 * features @mode asks for.  False if KVM does not offer them.
 */
static bool lazy_setup(const struct bench_args *a, const char *mode,
		       struct kvm_vm *vm, struct kvm_vcpu *vcpu, void *hva)
{
	bool vmm = !strcmp(mode, "vmm"), exitless = !strcmp(mode, "exitless");
	u64 want = (vmm || exitless ? KVM_APF_FEATURE_VMM : 0) |
		   (exitless ? KVM_APF_FEATURE_VMM_EXITLESS : 0);
	u64 i;

	if (want) {
		int offered = kvm_check_cap(KVM_CAP_APF_FEATURES);

		if (offered < 0 || (offered & want) != want)
			return false;
		vm_enable_cap(vm, KVM_CAP_APF_FEATURES, want);
		lr.accept = true;
	}
	lr.vm = vm;
	lr.vcpu_id = vcpu->id;
	lr.hva = hva;
	lr.pages = a->pages;
	lr.delay_ns = a->delay_us * 1000;
	lr.seen = calloc(a->pages, 1);
	TEST_ASSERT(lr.seen, "no memory");
	lr.uffd = lr_uffd_register(hva, a->pages * page_size);
	for (i = 0; i < a->threads; i++)
		lr_thread(lr_worker, NULL);
	lr_thread(lr_uffd_reader, NULL);
	if (exitless) {
		struct kvm_apf_ring_setup setup = { .entries = LR_RING };
		size_t size = sizeof(*lr.ring) +
			      LR_RING * sizeof(lr.ring->notices[0]);

		/*
		 * KVM never faults the ring in (a ring it cannot write now is
		 * as good as full): resident memory, locked.
		 */
		lr.ring = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		TEST_ASSERT(lr.ring != MAP_FAILED && !mlock(lr.ring, size),
			    "ring: errno %d", errno);
		lr.efd = eventfd(0, EFD_CLOEXEC);
		TEST_ASSERT(lr.efd >= 0, "eventfd: errno %d", errno);
		setup.addr = (u64)lr.ring;
		setup.eventfd = lr.efd;
		vcpu_ioctl(vcpu, KVM_APF_SET_RING, &setup);
		lr_thread(lr_ring_reader, NULL);
	}
	return true;
}

/*
 * The lazy-restore run after the window: the VMM's counts, then the time
 * until every page was in, then every vCPU stat that moved in the window
 * (for a look at where exits go: "BENCHSTATS").
 */
static void lazy_report(const char *mode, bool present, u64 *stats0,
			int nstats, int stats_fd)
{
	char names[LR_STATS][LR_NAME_SIZE] = {};
	u64 stats[LR_STATS], stat, all_in, end;
	int i;

	printf("faulted=%lu copied=%lu uffd_msgs=%lu run_returns=%lu vmm_exits=%lu ",
	       __atomic_load_n(&lr.faulted, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&lr.copied, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&lr.uffd_msgs, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&lr.run_returns, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&lr.vmm_exits, __ATOMIC_SEQ_CST));
	printf("ring_notices=%lu batches=%lu completed=%lu errors=%lu ",
	       __atomic_load_n(&lr.ring_notices, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&lr.batches, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&lr.completed, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&lr.errors, __ATOMIC_SEQ_CST));
	stat = __atomic_load_n(&lr.fetches, __ATOMIC_SEQ_CST);
	printf("fetch_us=%lu ", stat ?
	       __atomic_load_n(&lr.fetch_ns, __ATOMIC_SEQ_CST) / stat / 1000 : 0);
	nstats = min(nstats, read_all_stats(stats_fd, stats, names, LR_STATS));
	for (i = 0; i < nstats; i++)
		if (!strcmp(names[i], "apf_vmm_exit") ||
		    !strcmp(names[i], "apf_vmm_async") ||
		    !strcmp(names[i], "apf_vmm_ring_full") ||
		    !strcmp(names[i], "apf_not_present") ||
		    !strcmp(names[i], "apf_ready"))
			printf("%s=%lu ", names[i], stats[i] - stats0[i]);

	/* Not a fixed sleep: a bound on waiting for the last page. */
	end = now_ns() + LR_ALL_IN_S * 1000000000ull;
	all_in = present ? lr.start_ns : 0;
	while (!all_in && now_ns() < end) {
		usleep(1000);
		all_in = __atomic_load_n(&lr.all_in_ns, __ATOMIC_SEQ_CST);
	}
	printf("all_in_ms=%.1f\n",
	       all_in ? (all_in - lr.start_ns) / 1e6 : -1.0);

	printf("BENCHSTATS scenario=lazy mode=%s", mode);
	for (i = 0; i < nstats; i++) {
		stat = stats[i] - stats0[i];
		if (stat && stats[i] >= stats0[i])
			printf(" %s=%lu", names[i], stat);
	}
	printf("\n");
}

/*
 * The guest's speed, in units of work per ms, measured in the run's own VM
 * right before its window: the emulated CPUs here change speed from one VM
 * to the next (the same mode's work has varied 1.5-fold within one boot),
 * so the report can set each run's work against its own speed.  After
 * BENCH_SETTLE_MS for the vCPU's start, over BENCH_PROBE_MS; then go.
 */
#define BENCH_SETTLE_MS	50
#define BENCH_PROBE_MS	200

static u64 bench_speed(struct kvm_vm *vm)
{
	u64 *probe = addr_gva2hva(vm, (vm_vaddr_t)&bench_probe);
	u64 *go = addr_gva2hva(vm, (vm_vaddr_t)&bench_go);
	u64 p0, p1, t0, t1;

	usleep(BENCH_SETTLE_MS * 1000);
	p0 = READ_ONCE(*probe);
	t0 = now_ns();
	usleep(BENCH_PROBE_MS * 1000);
	p1 = READ_ONCE(*probe);
	t1 = now_ns();
	WRITE_ONCE(*go, 1);
	return (p1 - p0) * 1000000 / (t1 - t0);
}

/*
 * -m paired and mixed, after the window: "groups=G" and, for each kind of
 * block the run has, "ticks_KIND=T work_KIND=W", summed over the groups
 * the guest completed.  Read while the vCPU runs: the count first, then
 * only groups it had completed.
 */
static void blocks_print(struct kvm_vm *vm)
{
	u64 (*t)[BLK_KINDS] = addr_gva2hva(vm, (vm_vaddr_t)blk_ticks);
	u64 (*w)[BLK_KINDS] = addr_gva2hva(vm, (vm_vaddr_t)blk_work);
	u64 n = READ_ONCE(*(u64 *)addr_gva2hva(vm, (vm_vaddr_t)&blk_groups));
	u64 ticks[BLK_KINDS] = {}, work[BLK_KINDS] = {}, g;
	int k;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (g = 0; g < n; g++)
		for (k = 0; k < BLK_KINDS; k++) {
			ticks[k] += t[g][k];
			work[k] += w[g][k];
		}
	printf(" block=%u groups=%lu", BLOCK_TOUCHES, n);
	for (k = 0; k < BLK_KINDS; k++)
		if (ticks[k])
			printf(" ticks_%s=%lu work_%s=%lu", blk_name[k],
			       ticks[k], blk_name[k], work[k]);
}

static void bench(const struct bench_args *a, const char *mode, u64 quantum,
		  u64 *result)
{
	u64 delay_us = a->delay_us, window_ms = a->window_ms, pages = a->pages;
	u64 work_ptr, parked_ptr, work, parked, exits0, exits = 0;
	u64 stats0[LR_STATS];
	struct uffd_desc *uffd = NULL;
	int stats_fd, nstats = 0;
	bool present = !strcmp(mode, "ceiling") || !strcmp(mode, "calibrate");
	bool mixed = !strcmp(mode, "mixed");
	bool paired = !strcmp(mode, "paired") || mixed;
	bool single = !strcmp(mode, "single") || paired;
	bool async = !strcmp(mode, "async") || !strcmp(mode, "vmm") ||
		     !strcmp(mode, "exitless") || single;
	/*
	 * The lazy runs time the restore from the vCPU's start, the paired
	 * run times itself: no probe.
	 */
	bool probe = !a->lazy && strcmp(mode, "calibrate") && !paired;
	u64 speed = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_attr_t attr;
	pthread_t thread;
	void *hva;

	/* The VMM's side first; the vCPU thread gets its own CPUs below. */
	vm = bench_vm(mixed ? (void *)guest_mixed :
		      paired ? (void *)guest_paired : (void *)guest_bench,
		      pages, 1, &vcpu, &hva);
	if (present) {
		memset(hva, 0, pages * page_size);
	} else if (a->lazy) {
		if (!lazy_setup(a, mode, vm, vcpu, hva)) {
			printf("BENCH scenario=lazy kernel=%s mode=%s skipped=1 ",
			       kernel_release(), mode);
			printf("reason=\"KVM does not offer it\"\n");
			fflush(stdout);
			*result = 0;
			_exit(0);
		}
	} else {
		/* Mixed blocks: the upper half present, for the ceiling's. */
		u64 late = mixed ? pages / 2 : pages;

		if (mixed)
			memset(hva + late * page_size, 0,
			       (pages - late) * page_size);
		uffd = uffd_setup_demand_paging(UFFDIO_REGISTER_MODE_MISSING,
						delay_us, hva, late * page_size,
						1, serve_zero);
	}
	apf_want_ve = a->np_exc;
	apf_arch_vm_setup(vm);
	if (paired)
		vcpu_args_set(vcpu, 4, BENCH_GPA, pages, (u64)page_size,
			      quantum);
	else
		vcpu_args_set(vcpu, 6, BENCH_GPA, pages, (u64)page_size,
			      quantum, (u64)async, (u64)probe);
	if (single)
		apf_mode = APF_MODE_HALT;
	sync_global_to_guest(vm, apf_mode);

	work_ptr = (u64)addr_gva2hva(vm, (vm_vaddr_t)&bench_work);
	parked_ptr = (u64)addr_gva2hva(vm, (vm_vaddr_t)&apf_log.work);
	stats_fd = vcpu_get_stats_fd(vcpu);
	TEST_ASSERT(read_stat(stats_fd, "exits", &exits0), "no exits stat");
	if (a->lazy)
		nstats = read_all_stats(stats_fd, stats0, NULL, LR_STATS);

	TEST_ASSERT(!pthread_attr_init(&attr) &&
		    !pthread_attr_setaffinity_np(&attr, sizeof(lr_pin.vcpu),
						 &lr_pin.vcpu), "vCPU thread's CPUs");
	exit_trace_start(a->timing);
	lr.start_ns = now_ns();
	TEST_ASSERT(!pthread_create(&thread, &attr,
				    a->lazy ? lr_run_vcpu : run_vcpu, vcpu),
		    "pthread_create");
	if (probe) {
		speed = bench_speed(vm);
		/* The window starts at the go: its exits and trace only. */
		exit_trace_start(a->timing);
		read_stat(stats_fd, "exits", &exits0);
	}
	usleep(window_ms * 1000);
	work = READ_ONCE(*(u64 *)work_ptr);
	parked = READ_ONCE(*(u64 *)parked_ptr);
	read_stat(stats_fd, "exits", &exits);
	exit_trace_stop();
	sync_global_from_guest(vm, apf_log);
	sync_global_from_guest(vm, bench_touched);

	printf("BENCH %skernel=%s mode=%s delay_us=%lu window_ms=%lu quantum=%lu ",
	       a->lazy ? "scenario=lazy " : "", kernel_release(), mode,
	       delay_us, window_ms, quantum);
	if (a->lazy)
		printf("pages=%lu threads=%lu ", pages, a->threads);
	print_placement();
	printf("work=%lu parked_work=%lu touched=%lu not_present=%lu ",
	       work + parked, parked, bench_touched, apf_log.not_present);
	printf("ready=%lu wake_all=%lu exits=%lu speed=%lu", apf_log.ready,
	       apf_log.wake_all, exits - exits0, speed);
	if (paired)
		blocks_print(vm);
	exit_trace_print();
	if (a->lazy) {
		printf(" ");
		lazy_report(mode, present, stats0, nstats, stats_fd);
	} else {
		printf("\n");
	}
	fflush(stdout);
	*result = work + parked;
	(void)uffd;
	/* The vCPU thread is still in the guest: leave, the kernel cleans up. */
	_exit(0);
}
