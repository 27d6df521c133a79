/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VMs destroyed with an async page fault in flight in a chosen state, and
 * the checks that no fault-in ran after the VM was gone: shared by
 * apf_teardown_test (every state, and CVE-2024-26976's test) and
 * apf_module_reload_test (KVM unloaded right after).  Needs
 * kselftest_harness.h, apf_guest.h and apf_util.h first.
 *
 * States (struct kvm_apf_item, common/core.c):
 *
 *   not_notified  the guest has not enabled async PF: the item is queued
 *                 without KVM_APF_ITEM_NOTIFIED (x86's "artificial halt",
 *                 the vCPU halted in KVM_RUN); its fault-in is blocked in a
 *                 userfaultfd.  arm64 never queues an item it cannot tell
 *                 the guest about (kvm_apf_arm64_faultin()): x86 only.
 *   notified      KVM_APF_ITEM_NOTIFIED, the guest parked in its "not
 *                 present" handler with the vCPU in KVM_RUN; fault-in
 *                 blocked in the userfaultfd.
 *   worker        notified, the vCPU out of KVM_RUN (the guest reported the
 *                 token), the fault-in blocked in the userfaultfd: the
 *                 worker is running when the VM goes.
 *   completed     the page was served and the worker finished (its
 *                 kvm_async_pf_completed event seen): KVM_APF_ITEM_COMPLETED,
 *                 on the done list, never delivered.
 *   failed        the backing is gone (memfd truncated), the worker failed,
 *                 KVM_RUN left with the error memory-fault exit: the item is
 *                 KVM_APF_ITEM_FAILED and held on the done list for the VMM
 *                 (as in apf_error_test).
 *
 * A VMM-owned item (KVM_APF_ITEM_USER) cannot be reached through the uAPI
 * today: no backend sets up such an item, only KUnit does (core_kunit.h).
 *
 * The VM is destroyed at a known point: every file that holds it (vCPU,
 * vGIC, stats) is replaced by /dev/null, then the VM's own fd is, and that
 * dup2() runs kvm_destroy_vm() before it returns.  A userfaultfd page is
 * served only once the destroying thread waits inside kvm_apf_clear() (its
 * kernel stack says so) or the destroy returned: so in the states with the
 * worker blocked, the destroy must have waited for the page, i.e. for the
 * worker.  If it returned first, a worker still ran after the VM was gone
 * (CVE-2024-26976: it then touches the freed vCPU, which KASAN reports):
 * the round fails.  The worker's tracepoint (kvm:kvm_async_pf_completed)
 * must appear exactly once per round, before the marker written once the
 * destroy returned.
 */
#ifndef APF_TEARDOWN_H
#define APF_TEARDOWN_H

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "kvm_util.h"
#include "sparsebit.h"

#define DELAY_SLOT	10
#define DELAY_GPA	0x10000000ul
#define BAD_SLOT	11
#define BAD_GPA		0x20000000ul
#define BAD_PAGES	4
/* Guest stages (GUEST_SYNC2(stage, value)); 1 is the REPORT mode's token. */
#define STAGE_ARMED	0x5a
#define STAGE_READ	0x5b

#define WAIT_S		120	/* bound on every wait for an event */

enum state {
	ST_NOT_NOTIFIED,
	ST_NOTIFIED,
	ST_WORKER,
	ST_COMPLETED,
	ST_FAILED,
	NR_STATES,
};

static const char *const state_name[NR_STATES] = {
	"not_notified", "notified", "worker", "completed", "failed",
};

static void guest_code(u64 gva, u64 use_apf)
{
	u64 v;

	if (use_apf)
		guest_apf_enable();
	else
		guest_irq_enable();
	GUEST_SYNC2(STAGE_ARMED, 0);
	v = READ_ONCE(*(u64 *)gva);
	GUEST_SYNC2(STAGE_READ, v);
	GUEST_DONE();
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
}

/*
 * The userfaultfd behind the delayed slot: faults are recorded and held
 * until @release, then served.
 */
struct server {
	int uffd;
	int pipe[2];		/* wakes the thread: release or stop */
	pthread_t thread;
	void *base;
	size_t page;
	int release;
	int stop;
	int faults;		/* fault messages read */
	int served;		/* pages served (or woken) */
	pid_t ptid;		/* the thread of the last fault */
	pid_t vcpu_tid;		/* a fault of this thread is served at once */
	int sync;		/* ... and counted here */
	bool started;
};

static void server_poke(struct server *s)
{
	char c = 0;

	TEST_ASSERT(write(s->pipe[1], &c, 1) == 1, "pipe write");
}

static void serve(struct server *s, u64 addr)
{
	static __thread char *buf;
	struct uffdio_copy copy;
	struct uffdio_range range;

	if (!buf) {
		buf = malloc(s->page);
		TEST_ASSERT(buf, "no memory");
		memset(buf, 0x5a, s->page);
	}
	copy = (struct uffdio_copy){ .dst = addr, .src = (u64)buf,
				     .len = s->page };
	if (ioctl(s->uffd, UFFDIO_COPY, &copy) && errno != EEXIST) {
		/* Gone (unmapped): wake the faulting thread all the same. */
		range = (struct uffdio_range){ .start = addr, .len = s->page };
		ioctl(s->uffd, UFFDIO_WAKE, &range);
	}
	__atomic_add_fetch(&s->served, 1, __ATOMIC_SEQ_CST);
}

static void *server_fn(void *arg)
{
	struct server *s = arg;
	u64 pending[16];
	int npending = 0, i;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s->uffd, .events = POLLIN },
			{ .fd = s->pipe[0], .events = POLLIN },
		};
		struct uffd_msg msg;
		char c;

		if (__atomic_load_n(&s->release, __ATOMIC_SEQ_CST)) {
			for (i = 0; i < npending; i++)
				serve(s, pending[i]);
			npending = 0;
		}
		if (__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST))
			break;
		TEST_ASSERT(poll(p, 2, -1) > 0, "poll: %d", errno);
		if (p[1].revents & POLLIN)
			TEST_ASSERT(read(s->pipe[0], &c, 1) == 1, "pipe read");
		if (!(p[0].revents & POLLIN))
			continue;
		if (read(s->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		__atomic_store_n(&s->ptid, msg.arg.pagefault.feat.ptid,
				 __ATOMIC_SEQ_CST);
		if (msg.arg.pagefault.feat.ptid ==
		    __atomic_load_n(&s->vcpu_tid, __ATOMIC_SEQ_CST)) {
			/*
			 * The vCPU's own thread: a synchronous fault, which
			 * nothing else would end.  Serve it now.
			 */
			__atomic_store_n(&s->sync, 1, __ATOMIC_SEQ_CST);
			serve(s, msg.arg.pagefault.address & ~(u64)(s->page - 1));
			continue;
		}
		__atomic_add_fetch(&s->faults, 1, __ATOMIC_SEQ_CST);
		TEST_ASSERT(npending < 16, "too many faults");
		pending[npending++] = msg.arg.pagefault.address & ~(u64)(s->page - 1);
	}
	return NULL;
}

static void server_start(struct server *s, void *base, size_t page, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_THREAD_ID };
	struct uffdio_register reg = {
		.range = { .start = (u64)base, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->page = page;
	s->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	TEST_ASSERT(s->uffd >= 0, "userfaultfd: %d", errno);
	TEST_ASSERT(!ioctl(s->uffd, UFFDIO_API, &api), "UFFDIO_API: %d", errno);
	TEST_ASSERT(!ioctl(s->uffd, UFFDIO_REGISTER, &reg),
		    "UFFDIO_REGISTER: %d", errno);
	TEST_ASSERT(!pipe2(s->pipe, O_CLOEXEC), "pipe");
	TEST_ASSERT(!pthread_create(&s->thread, NULL, server_fn, s), "thread");
	s->started = true;
}

static void server_release(struct server *s)
{
	if (!s->started)
		return;
	__atomic_store_n(&s->release, 1, __ATOMIC_SEQ_CST);
	server_poke(s);
}

static void server_stop(struct server *s)
{
	server_release(s);
	__atomic_store_n(&s->stop, 1, __ATOMIC_SEQ_CST);
	server_poke(s);
	pthread_join(s->thread, NULL);
	close(s->uffd);
	close(s->pipe[0]);
	close(s->pipe[1]);
}

/* Wait (bounded) until *@p >= @n; false on timeout. */
static bool wait_at_least(int *p, int n)
{
	double end = now() + WAIT_S;

	while (__atomic_load_n(p, __ATOMIC_SEQ_CST) < n) {
		if (now() > end)
			return false;
		usleep(200);
	}
	return true;
}

/* The tracing directory, with kvm:kvm_async_pf_completed on. */
static char tracing[64];

static bool write_file(const char *name, const char *s, int flags)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tracing, name);
	return write_str(path, s, flags);
}

static const char *trace_setup(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing" };
	char path[128];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (access(path, F_OK) && i == 0)
			mount("tracefs", dirs[0], "tracefs", 0, NULL);
		if (!access(path, F_OK)) {
			snprintf(tracing, sizeof(tracing), "%s", dirs[i]);
			break;
		}
	}
	if (!tracing[0])
		return "no tracefs";
	if (!write_file("events/kvm/kvm_async_pf_completed/enable", "1", 0))
		return "no kvm:kvm_async_pf_completed event";
	if (!write_file("trace", "", O_TRUNC) ||
	    !write_file("tracing_on", "1", 0))
		return "tracing cannot be cleared or turned on";
	return NULL;
}

static void trace_clear(void)
{
	TEST_ASSERT(write_file("trace", "", O_TRUNC), "clear trace");
}

static void trace_mark(const char *s)
{
	TEST_ASSERT(write_file("trace_marker", s, 0), "trace_marker");
}

/*
 * The worker's completions in the trace: all of them, and those after the
 * last marker @mark.
 */
static void trace_count(const char *mark, int *all, int *after)
{
	char path[128], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", tracing);
	f = fopen(path, "r");
	TEST_ASSERT(f, "open trace");
	*all = *after = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (mark && strstr(line, mark))
			*after = 0;
		if (strstr(line, "kvm_async_pf_completed:")) {
			++*all;
			++*after;
		}
	}
	fclose(f);
}

/* Wait (bounded) until the trace holds @n worker completions. */
static bool trace_wait_completions(int n)
{
	double end = now() + WAIT_S;
	int all, after;

	for (;;) {
		trace_count(NULL, &all, &after);
		if (all >= n)
			return true;
		if (now() > end)
			return false;
		usleep(1000);
	}
}

/*
 * Is @tid waiting inside kvm_apf_clear() (for a fault-in)?  Its kernel
 * stack says so; where that is not readable, its wchan.
 */
static bool in_apf_clear(pid_t tid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", tid);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			return strstr(buf, "kvm_apf_clear");
		}
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "flush_work") || strstr(buf, "cancel_work");
}

/* Serves the held pages once the destroyer waits in kvm_apf_clear(). */
struct releaser {
	pthread_t thread;
	struct server *server;
	pid_t destroyer;
	int destroyed;		/* the destroy returned */
	bool saw_wait;		/* the destroyer was seen waiting */
};

static void *releaser_fn(void *arg)
{
	struct releaser *r = arg;
	double end = now() + WAIT_S;

	while (!__atomic_load_n(&r->destroyed, __ATOMIC_SEQ_CST) &&
	       now() < end) {
		if (in_apf_clear(r->destroyer)) {
			r->saw_wait = true;
			break;
		}
		usleep(500);
	}
	server_release(r->server);
	return NULL;
}

/* Running the vCPU in a thread of its own, kicked out by a signal. */
struct runner {
	pthread_t thread;
	struct kvm_vcpu *vcpu;
	pid_t tid;
	int started;
	int done;
	int rc, err;
};

static void sig_nop(int sig)
{
}

static void *runner_fn(void *arg)
{
	struct runner *r = arg;

	__atomic_store_n(&r->tid, gettid_(), __ATOMIC_SEQ_CST);
	__atomic_store_n(&r->started, 1, __ATOMIC_SEQ_CST);
	r->rc = __vcpu_run(r->vcpu);
	r->err = errno;
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Kick the vCPU out of KVM_RUN (bounded); false if it never came out. */
static bool runner_stop(struct runner *r)
{
	double end = now() + WAIT_S;

	while (!__atomic_load_n(&r->done, __ATOMIC_SEQ_CST)) {
		if (now() > end)
			return false;
		pthread_kill(r->thread, SIGUSR1);
		usleep(2000);
	}
	pthread_join(r->thread, NULL);
	return true;
}

struct tvm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct server server;
	u64 page;
	/* the failed state's memfd */
	int fd;
	off_t full_size, trunc_off;
};

static void tvm_create(struct tvm *t, enum state st)
{
	struct userspace_mem_region *region;
	bool use_apf = st != ST_NOT_NOTIFIED;
	u64 gpa = DELAY_GPA;

	memset(t, 0, sizeof(*t));
	t->vm = vm_create_with_one_vcpu(&t->vcpu, guest_code);
	t->page = t->vm->page_size;
	if (st == ST_FAILED) {
		vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_SHMEM, BAD_GPA,
					    BAD_SLOT, BAD_PAGES, 0);
		virt_map(t->vm, BAD_GPA, BAD_GPA, BAD_PAGES);
		region = memslot2region(t->vm, BAD_SLOT);
		t->fd = region->fd;
		t->full_size = region->mmap_size;
		/* The last page of the slot, the end of the file. */
		t->trunc_off = ((char *)region->host_mem -
				(char *)region->mmap_start) +
			       (BAD_PAGES - 1) * t->page;
		gpa = BAD_GPA + (BAD_PAGES - 1) * t->page;
	} else {
		vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS,
					    DELAY_GPA, DELAY_SLOT, 1, 0);
		virt_map(t->vm, DELAY_GPA, DELAY_GPA, 1);
		server_start(&t->server, addr_gpa2hva(t->vm, DELAY_GPA),
			     t->page, t->page);
	}
	apf_mode = st == ST_WORKER || st == ST_COMPLETED ? APF_MODE_REPORT :
							    APF_MODE_PARK;
	apf_want_errors = false;
	sync_global_to_guest(t->vm, apf_mode);
	apf_arch_vm_setup(t->vm);
	vcpu_args_set(t->vcpu, 2, gpa, (u64)use_apf);
}

/*
 * Destroy the VM now: drop every reference to it, its own fd last, so that
 * kvm_destroy_vm() runs inside the last dup2().  Returns the seconds that
 * took.
 */
static double tvm_destroy(struct tvm *t)
{
	struct kvm_vcpu *vcpu;
	char path[64], link[64];
	struct dirent *de;
	double t0;
	ssize_t n;
	int null, sz, fd;
	DIR *d;

	sz = ioctl(t->vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	TEST_ASSERT(sz > 0, "KVM_GET_VCPU_MMAP_SIZE");
	/* The kvm_run mappings hold their vCPU files. */
	list_for_each_entry(vcpu, &t->vm->vcpus, list) {
		TEST_ASSERT(!munmap(vcpu->run, sz), "munmap run");
		vcpu->run = NULL;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(null >= 0, "/dev/null");
	d = opendir("/proc/self/fd");
	TEST_ASSERT(d, "/proc/self/fd");
	while ((de = readdir(d))) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == t->vm->fd || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strncmp(link, "anon_inode:kvm-", 15))
			TEST_ASSERT(dup2(null, fd) == fd, "dup2");
	}
	closedir(d);
	t0 = now();
	TEST_ASSERT(dup2(null, t->vm->fd) == t->vm->fd, "dup2 vm");
	t0 = now() - t0;
	close(null);
	return t0;
}

/* Free what the selftests library holds for a VM that is already gone. */
static void tvm_free(struct tvm *t)
{
	struct userspace_mem_region *region;
	struct kvm_vcpu *vcpu, *tmp;
	struct hlist_node *node;
	struct kvm_vm *vm = t->vm;
	int ctr;

	if (t->server.started)
		server_stop(&t->server);
	list_for_each_entry_safe(vcpu, tmp, &vm->vcpus, list) {
		close(vcpu->fd);
		list_del(&vcpu->list);
		vcpu_arch_free(vcpu);
		free(vcpu);
	}
	hash_for_each_safe(vm->regions.slot_hash, ctr, node, region, slot_node) {
		hash_del(&region->slot_node);
		sparsebit_free(&region->unused_phy_pages);
		sparsebit_free(&region->protected_phy_pages);
		TEST_ASSERT(!munmap(region->mmap_start, region->mmap_size), "munmap");
		if (region->fd >= 0) {
			TEST_ASSERT(!munmap(region->mmap_alias, region->mmap_size),
				    "munmap alias");
			close(region->fd);
		}
		free(region);
	}
	sparsebit_free(&vm->vpages_valid);
	sparsebit_free(&vm->vpages_mapped);
	if (vm->stats_fd) {
		free(vm->stats_desc);
		close(vm->stats_fd);
	}
	close(vm->fd);
	close(vm->kvm_fd);
	free(vm);
	t->vm = NULL;
}

/*
 * A check while a page may be held: on failure, serve it first, or the
 * VM's destroy when the test process dies would wait for its fault-in for
 * ever.
 */
#define HELD_ASSERT(t, cond) do {					\
	bool __ok = (cond);						\
									\
	if (!__ok)							\
		server_release(&(t)->server);				\
	ASSERT_TRUE(__ok) TH_LOG("%s", #cond);				\
} while (0)

struct totals {
	int rounds[NR_STATES];
	int waited[NR_STATES];		/* destroy seen waiting for the worker */
	double destroy_s[NR_STATES];	/* summed */
	double max_destroy_s;
	int sync;			/* rounds whose fault was synchronous */
};

/* A round whose fault KVM took synchronously: logged and counted. */
static void round_was_sync(struct __test_metadata *_metadata, struct tvm *t,
			   enum state st, int round, struct totals *tot)
{
	u64 n = 0;

	vcpu_stat(t->vcpu, "apf_sync_fallback", &n);
	TH_LOG("round %d (%s): the fault was synchronous (apf_sync_fallback %llu)",
	       round, state_name[st], (unsigned long long)n);
	tot->sync++;
}

/*
 * One round: a VM with its fault in @st, destroyed.  Fails the test if a
 * worker may have run after the destroy returned.
 */
static void one_round(struct __test_metadata *_metadata, enum state st,
		      int round, struct totals *tot)
{
	bool blocked = st == ST_NOT_NOTIFIED || st == ST_NOTIFIED ||
		       st == ST_WORKER;
	struct releaser rel = {};
	struct runner run = {};
	struct ucall uc;
	int released = 0, all, after;
	char mark[64];
	double secs;
	struct tvm t;
	u64 np;

	/* No fault-in of the previous round's VM completed since. */
	trace_count("apf_teardown: round", &all, &after);
	EXPECT_EQ(after, 0)
		TH_LOG("round %d: %d fault-in(s) completed after the last destroy",
		       round, after);
	trace_clear();
	tvm_create(&t, st);
	HELD_ASSERT(&t, run_to_ucall(t.vcpu, &uc) == UCALL_SYNC);
	HELD_ASSERT(&t, uc.args[0] == STAGE_ARMED);

	switch (st) {
	case ST_WORKER:
	case ST_COMPLETED:
		/*
		 * The vCPU runs in this thread, as for the ucall above (a vCPU
		 * moved to another thread costs KVM_RUN a synchronize_rcu()).
		 * If KVM takes the fault synchronously after all (it may: an
		 * item it cannot allocate without sleeping, say), the server
		 * serves it at once, or this thread would wait for ever.
		 */
		__atomic_store_n(&t.server.vcpu_tid, gettid_(), __ATOMIC_SEQ_CST);
		HELD_ASSERT(&t, run_to_ucall(t.vcpu, &uc) == UCALL_SYNC);
		if (__atomic_load_n(&t.server.sync, __ATOMIC_SEQ_CST)) {
			round_was_sync(_metadata, &t, st, round, tot);
			blocked = false;
			st = NR_STATES;
			break;
		}
		HELD_ASSERT(&t, uc.args[0] == 1);	/* told "not present" */
		HELD_ASSERT(&t, wait_at_least(&t.server.faults, 1));
		if (st == ST_COMPLETED) {
			server_release(&t.server);
			HELD_ASSERT(&t, wait_at_least(&t.server.served, 1));
			HELD_ASSERT(&t, trace_wait_completions(1));
		}
		break;
	case ST_NOT_NOTIFIED:
	case ST_NOTIFIED:
		/* The vCPU runs in a thread of its own, kicked out by a signal. */
		run.vcpu = t.vcpu;
		HELD_ASSERT(&t, pthread_create(&run.thread, NULL, runner_fn, &run) == 0);
		HELD_ASSERT(&t, wait_at_least(&run.started, 1));
		HELD_ASSERT(&t, wait_at_least(&t.server.faults, 1));
		if (t.server.ptid == run.tid) {
			/* Synchronous: this round cannot reach @st.  Another will. */
			server_release(&t.server);
			HELD_ASSERT(&t, runner_stop(&run));
			round_was_sync(_metadata, &t, st, round, tot);
			blocked = false;
			st = NR_STATES;
			break;
		}
		/* The vCPU stays in KVM_RUN: halted, or the guest parked. */
		HELD_ASSERT(&t, runner_stop(&run));
		HELD_ASSERT(&t, run.rc == -1);
		HELD_ASSERT(&t, run.err == EINTR);
		HELD_ASSERT(&t, vcpu_stat(t.vcpu, "apf_not_present", &np));
		/* The guest was told "not present", or not at all. */
		HELD_ASSERT(&t, np == (st == ST_NOTIFIED));
		break;
	case ST_FAILED:
		TEST_ASSERT(!ftruncate(t.fd, t.trunc_off), "ftruncate");
		HELD_ASSERT(&t, _vcpu_run(t.vcpu) == -1);
		HELD_ASSERT(&t, errno == EFAULT);
		HELD_ASSERT(&t, t.vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT);
		HELD_ASSERT(&t, t.vcpu->run->memory_fault.flags == KVM_MEMORY_EXIT_FLAG_ERROR);
		HELD_ASSERT(&t, t.vcpu->run->memory_fault.token != 0);	/* async */
		break;
	default:
		break;
	}

	if (blocked) {
		HELD_ASSERT(&t, t.server.served == 0);
		rel.server = &t.server;
		rel.destroyer = gettid_();
		HELD_ASSERT(&t, pthread_create(&rel.thread, NULL, releaser_fn, &rel) == 0);
	}
	secs = tvm_destroy(&t);
	if (blocked) {
		/*
		 * Released, not served: the worker may finish (and the destroy
		 * return) before the server thread counts its page.
		 */
		released = __atomic_load_n(&t.server.release, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rel.destroyed, 1, __ATOMIC_SEQ_CST);
		pthread_join(rel.thread, NULL);
	}
	snprintf(mark, sizeof(mark), "apf_teardown: round %d destroyed", round);
	trace_mark(mark);
	tvm_free(&t);

	if (st == NR_STATES) {		/* went synchronous */
		trace_count(mark, &all, &after);
		EXPECT_EQ(after, 0);
		return;
	}
	tot->rounds[st]++;
	tot->waited[st] += rel.saw_wait;
	tot->destroy_s[st] += secs;
	if (secs > tot->max_destroy_s)
		tot->max_destroy_s = secs;
	/*
	 * The page was held until the destroy waited for its worker or
	 * returned: returned with the page not released, the worker was still
	 * blocked when the VM was gone.
	 */
	if (blocked)
		ASSERT_EQ(released, 1)
			TH_LOG("round %d (%s): the VM was destroyed while its fault-in still ran",
			       round, state_name[st]);
	/* The worker completed once, and before the VM was gone. */
	trace_count(mark, &all, &after);
	EXPECT_EQ(after, 0)
		TH_LOG("round %d (%s): %d fault-in(s) completed after the destroy",
		       round, state_name[st], after);
	EXPECT_EQ(all, 1)
		TH_LOG("round %d (%s): %d fault-ins completed", round,
		       state_name[st], all);
}

/* Before the first round: SIGUSR1 kicks vCPUs; NULL, or why not. */
static const char *teardown_setup(void)
{
	struct sigaction sa = { .sa_handler = sig_nop };

	if (apf_arch_unsupported())
		return apf_arch_unsupported();
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	return trace_setup();
}

/* After the last round: nothing completed after the last destroy. */
static int teardown_late_completions(void)
{
	int all, after;

	trace_count("apf_teardown: round", &all, &after);
	write_file("events/kvm/kvm_async_pf_completed/enable", "0", 0);
	return after;
}

static void teardown_report(struct __test_metadata *_metadata,
			    struct totals *tot, int rounds, double secs)
{
	int s;

	for (s = 0; s < NR_STATES; s++)
		if (tot->rounds[s])
			TH_LOG("%-12s: %4d VMs+vCPUs destroyed, %d waited for a worker, %.1f ms",
			       state_name[s], tot->rounds[s], tot->waited[s],
			       1000 * tot->destroy_s[s] / tot->rounds[s]);
	TH_LOG("outcome: %d rounds, longest destroy %.1f ms, no fault-in after a destroy",
	       rounds, 1000 * tot->max_destroy_s);
	TH_LOG("%d more rounds whose fault was synchronous", tot->sync);
	TH_LOG("speed: %.1f s for %d rounds", secs, rounds);
}

/* The states every arch reaches (arm64 has no not-notified item). */
static const enum state all_states[] = {
#ifdef __x86_64__
	ST_NOT_NOTIFIED,
#endif
	ST_NOTIFIED, ST_WORKER, ST_COMPLETED, ST_FAILED,
};

#endif /* APF_TEARDOWN_H */
