// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the reference VMM's test guest (L2): the Linux-guest tests.
 *
 * It says it is up, runs the tests that its command line names
 * (apftest=NAME,NAME...), reports each result to the VMM through the test
 * device (tests/vmm/testdev.c: "ok NAME" or "fail NAME REASON"), says
 * "done" and reboots, which ends the VMM's run.  Tests:
 *
 * enabled:  every online CPU has async PF on, as KVM sees it.
 * delayed:  a process ("the toucher") fills 2 MiB, has the VMM drop those
 *           pages (served -d ms late after that), and reads them back while
 *           two others compute: the data comes back intact, the guest was
 *           told "not present", the others made progress meanwhile, every
 *           process finishes, no task is left parked, each "not present"
 *           got exactly one "page ready", and the guest's counts are KVM's.
 * workload: the same without asserting that async PF was used (for the
 *           same guest with async PF off, VMM -n: `make run`, `make bench`).
 * vmm:      "delayed" with the VMM driving (-V): KVM hands each fault the
 *           guest could take as "not present" to the VMM, which accepts it
 *           and completes it with KVM_APF_READY_BATCH once the page is in.
 * sigbus:   (VMM -e -b) a process reads the unresolvable region through
 *           /dev/mem: it gets SIGBUS with BUS_ADRERR at the address it
 *           read, no memory-fault exit reaches the VMM, and the guest and
 *           its other processes go on.
 * fixed:    (VMM -b, no -e) the same read: the VMM gets the memory-fault
 *           exit, fixes the backing, and the read completes with the data.
 * efault:   (x86, VMM -e -G -b: "not present" as #VE) a process write()s
 *           the unresolvable region to a pipe, and waits on a futex there:
 *           the kernel's reads of it wait in kernel mode (write()'s asleep,
 *           the futex's first halted in place: it reads under a spinlock),
 *           and the error status takes the fixup: both fail with EFAULT, no
 *           memory-fault exit reaches the VMM, the guest and its other
 *           processes go on.
 * hotplug:  the toucher runs on CPU 1 while CPU 1 goes offline and online
 *           again with its faults in flight: it finishes with its data, no
 *           task stays parked, async PF is on again on CPU 1.
 * inflight: in the first boot, starts the toucher and reboots while its
 *           faults are in flight (after the tests before it); the VMM (-r 1)
 *           boots the guest again, which runs the other tests again.
 * snapshot: (VMM -S) snapshots with tasks parked on faults in flight,
 *           each restored lazily by a new VMM process: see test_snapshot().
 * lost_sigbus, lost_fixed: (VMM -S) a page left out of a snapshot's
 *           image, read after the restore: see test_lost().
 * kunit:    the guest's own KUnit suites (kunit.enable=1
 *           kunit.filter_glob=kvm_apf_guest*), from debugfs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
/* tools/include: the kernel's types and helpers, as the selftests have them */
#include <linux/compiler.h>
#include <linux/futex.h>
#include <linux/kernel.h>
#include <linux/types.h>
/* The test device: one byte-wide MMIO register (tests/vmm/testdev.c). */
#if defined(__x86_64__)
#define CTL_MMIO	0xfeb00000UL
#else
#define CTL_MMIO	0x01001000UL
#endif

#define PAGE		4096UL
#define TOUCH_PAGES	512		/* 2 MiB, unless apftest.pages=N */
#define WAIT_S		120		/* bound on every wait for an event */

static u8 *ctl_mmio;

static void ctl_byte(u8 c)
{
	WRITE_ONCE(*ctl_mmio, c);
}

static u8 ctl_answer(void)
{
	return READ_ONCE(*ctl_mmio);
}

static void ctl_open(void)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	void *p = fd < 0 ? MAP_FAILED :
		  mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, CTL_MMIO);

	if (p == MAP_FAILED) {
		perror("test device");
		exit(1);
	}
	ctl_mmio = p;
}

/* One command to the VMM; its answer. */
static __printf(1, 2) int ctl(const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	int i, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	for (i = 0; i < n; i++)
		ctl_byte(buf[i]);
	return ctl_answer();
}

static int failed;
static char cmdline[1024];

/* The number after @key (e.g. "apftest.bad=") on the command line, or @def. */
static u64 param(const char *key, int base, u64 def)
{
	const char *p = strstr(cmdline, key);

	return p ? strtoull(p + strlen(key), NULL, base) : def;
}

static void check(int ok, const char *name, const char *fmt, ...)
{
	char why[200] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("apftest: %s: %s%s%s\n", name, ok ? "ok" : "FAILED",
	       !ok && *why ? ": " : "", ok ? "" : why);
	if (ok)
		ctl("ok %s", name);
	else
		ctl("fail %s %s", name, why);
	failed |= !ok;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct gstats {
	long not_present, ready, wake_all, error, parked, batches, in_place;
};

static struct gstats guest_stats(void)
{
	/* %ld skips the whitespace before the number; a name needs its own. */
	static const char fmt[] =
		"not_present%ld ready%ld wake_all%ld error%ld parked%ld batches%ld in_place%ld";
	struct gstats s = { -1, -1, -1, -1, -1, -1, -1 };
	FILE *f = fopen("/sys/kernel/debug/kvm_apf_guest/stats", "r");

	if (!f || fscanf(f, fmt, &s.not_present, &s.ready, &s.wake_all,
			 &s.error, &s.parked, &s.batches, &s.in_place) != 7)
		printf("apftest: no kvm_apf_guest/stats\n");
	if (f)
		fclose(f);
	return s;
}

/*
 * Wait (bounded) until no task is parked and the guest's counts are KVM's;
 * with @paired also until each "not present" had its "page ready".
 */
static void check_counts(const char *tag, int paired)
{
	double end = now() + WAIT_S;
	char name[64];
	struct gstats s;
	int same = 0;

	do {
		s = guest_stats();
		if (s.parked == 0 &&
		    (!paired || s.not_present == s.ready - s.wake_all))
			same = ctl("check %ld %ld", s.not_present, s.ready) == 1;
		if (!same)
			usleep(10000);
	} while (!same && now() < end);
	printf("apftest: %s: guest np %ld, ready %ld (wake-alls %ld), ", tag,
	       s.not_present, s.ready, s.wake_all);
	printf("batches %ld, errors %ld, parked %ld\n", s.batches, s.error,
	       s.parked);
	snprintf(name, sizeof(name), "%s_no_task_parked", tag);
	check(s.parked == 0, name, "%ld parked", s.parked);
	/*
	 * KVM offers batched "page ready" on both arches: a guest told any
	 * "page ready" (async PF on) took them from the ring; unless the VMM
	 * hid it (x86, vmm -O, with apftest.ring=0): then never.
	 */
	if (param("apftest.ring=", 10, 1)) {
		snprintf(name, sizeof(name), "%s_ready_from_the_ring", tag);
		if (s.ready > 0)
			check(s.batches > 0 && s.batches <= s.ready, name,
			      "%ld ready in %ld batches", s.ready, s.batches);
	} else {
		snprintf(name, sizeof(name), "%s_ready_one_at_a_time", tag);
		check(s.batches == 0, name, "%ld batches", s.batches);
	}
	if (paired) {
		snprintf(name, sizeof(name), "%s_one_ready_per_not_present", tag);
		check(s.not_present == s.ready - s.wake_all, name,
		      "%ld not present, %ld ready, %ld wake-alls",
		      s.not_present, s.ready, s.wake_all);
	}
	snprintf(name, sizeof(name), "%s_guest_counts_are_kvms", tag);
	check(same, name, "see the VMM's line above");
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void unpin(void)
{
	cpu_set_t all;
	long cpu;

	CPU_ZERO(&all);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &all);
	sched_setaffinity(0, sizeof(all), &all);
}

/*
 * Async PF on for every CPU; with apftest.exception=0 or 1, "not present"
 * taken (1) as a synchronous exception (x86's #VE, arm64's abort) or (0)
 * not, as KVM has the CPU's enable word.
 */
static void check_enabled(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	int exc = param("apftest.exception=", 10, 2);
	char name[64];

	for (cpu = 0; cpu < n; cpu++) {
		pin(cpu);
		snprintf(name, sizeof(name), "async_pf_enabled_cpu%ld", cpu);
		check(ctl("enabled") == 1, name, "KVM has it off");
		if (exc > 1)
			continue;
		snprintf(name, sizeof(name), "not_present_as_%s_cpu%ld",
			 exc ? "exception" : "pf_or_sdei", cpu);
		check(ctl("exception") == exc, name, "KVM has it %s",
		      exc ? "off" : "on");
	}
	unpin();
}

/* The physical address of the page at @p (present, locked). */
static u64 phys(void *p)
{
	static int fd = -1;
	u64 e = 0;

	if (fd < 0)
		fd = open("/proc/self/pagemap", O_RDONLY);
	if (pread(fd, &e, 8, (uintptr_t)p / PAGE * 8) != 8 || !(e & (1ULL << 63)))
		return 0;
	return (e & ((1ULL << 55) - 1)) * PAGE;
}

/*
 * The toucher, in this process: fill @pages pages, have the VMM drop them,
 * then read them back.  Returns how many pages came back wrong (-1: could
 * not set up).
 */
static long touch(long pages, int ready_fd)
{
	u64 *list = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	char *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	long i, j, n = 0, bad = 0;
	u64 list_gpa;

	if (list == MAP_FAILED || mem == MAP_FAILED)
		return -1;
	for (i = 0; i < pages; i++)
		memset(mem + i * PAGE, (int)(i % 251) + 1, PAGE);
	list_gpa = phys(list);
	for (i = 0; i < pages; i++) {
		list[n++] = phys(mem + i * PAGE);
		if (!list[n - 1] || !list_gpa)
			return -1;
		if (n == PAGE / 8 || i == pages - 1) {
			if (ctl("drop %llx %ld", (unsigned long long)list_gpa, n))
				return -1;
			/* Still where the VMM dropped them (not migrated)? */
			for (j = 0; j < n; j++)
				if (phys(mem + (i - n + 1 + j) * PAGE) != list[j] ||
				    phys(list) != list_gpa) {
					printf("apftest: a toucher's page moved under its drop\n");
					return -1;
				}
			n = 0;
		}
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "x", 1) != 1)
			return -1;
		close(ready_fd);
	}
	/* Each first read of a page: "not present", then "page ready". */
	for (i = 0; i < pages; i++) {
		char *pg = mem + i * PAGE;

		if (pg[0] != (char)(i % 251 + 1) || pg[PAGE - 1] != pg[0])
			bad++;
	}
	return bad;
}

/* Wait (bounded) until the work counted at @work passes @from. */
static int wait_work(long *work, long from)
{
	double end = now() + WAIT_S;

	while (READ_ONCE(*work) <= from && now() < end)
		usleep(1000);
	return READ_ONCE(*work) > from;
}

#ifdef __x86_64__
#define VEC_REG(n)							\
	"movdqa %%xmm" #n ", %%xmm1\n\t"					\
	"pcmpeqb %%xmm0, %%xmm1\n\t"					\
	"pmovmskb %%xmm1, %%edx\n\t"					\
	"xor $0xffff, %%edx\n\t"					\
	"or %%rdx, %0\n\t"
/*
 * @pat in xmm8-15 while the CPU spins, then compared: 0 if they all still
 * hold it.  A guest whose vector state the host loses (a VM exit, a
 * restore) shows it here, where a value in flight would be wrong
 * somewhere else.
 */
static u64 vec_hold(u64 pat)
{
	u64 bad;

	asm volatile("movq %1, %%xmm0\n\t"
		     "punpcklqdq %%xmm0, %%xmm0\n\t"
		     "movdqa %%xmm0, %%xmm8\n\t"
		     "movdqa %%xmm0, %%xmm9\n\t"
		     "movdqa %%xmm0, %%xmm10\n\t"
		     "movdqa %%xmm0, %%xmm11\n\t"
		     "movdqa %%xmm0, %%xmm12\n\t"
		     "movdqa %%xmm0, %%xmm13\n\t"
		     "movdqa %%xmm0, %%xmm14\n\t"
		     "movdqa %%xmm0, %%xmm15\n\t"
		     "mov $20000, %%ecx\n"
		     "1:\tdec %%ecx\n\t"
		     "jnz 1b\n\t"
		     "xor %0, %0\n\t"
		     VEC_REG(8) VEC_REG(9) VEC_REG(10) VEC_REG(11)
		     VEC_REG(12) VEC_REG(13) VEC_REG(14) VEC_REG(15)
		     : "=&r" (bad) : "r" (pat)
		     : "rcx", "rdx", "xmm0", "xmm1", "xmm8", "xmm9", "xmm10",
		       "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
	return bad;
}
#else
static u64 vec_hold(u64 pat)
{
	return 0;
}
#endif

/*
 * Processes that compute until told to stop; their work in @work[i].
 * With @vec, each unit of work also holds a pattern in vector registers
 * and says when it changed.
 */
/* The work counted by @n computers so far. */
static long work_sum(const long *work, int n)
{
	long sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += READ_ONCE(work[i]);
	return sum;
}

static pid_t start_computer(long *work, int *stop, int vec)
{
	pid_t pid = fork();

	if (pid == 0) {
		u64 x = 88172645463325252ULL, lost = 0;

		while (!READ_ONCE(*stop)) {
			int k;

			for (k = 0; k < 10000; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
			}
			if (vec && vec_hold(x)) {
				lost++;
				printf("apftest: the computer's vector registers changed (%llu)\n",
				       (unsigned long long)lost);
				fflush(stdout);
			}
			WRITE_ONCE(*work, *work + 1);
		}
		_exit(lost ? 2 : x == 0);
	}
	return pid;
}

/*
 * The toucher reads its dropped pages back while two processes compute
 * (apftest.computers=N: 0 to 2 of them).  Their work rate alone (a 1 s
 * window first) and while the toucher waits is the figure `make run` and
 * `make bench` show: with async PF the toucher's vCPU runs them while its
 * pages come; without it that vCPU waits in the host.  With none, only the
 * toucher's time counts: what async PF costs where it cannot win.  @tag
 * "delayed" also asserts that async PF was used; "workload" (for async PF
 * off) only that everything else holds.  With apftest.trace=1 (the bench)
 * the VMM traces the exits of both windows ("trace start"), the 1 s before
 * the reads ("alone", idle with no computers) and the reads ("wait").
 */
static void test_delayed(const char *tag, int expect_apf)
{
	struct {
		long work[2];
		int stop;
	} *sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long pages = param("apftest.pages=", 10, TOUCH_PAGES);
	int n = min_t(int, param("apftest.computers=", 10, 2), 2);
	int trace = param("apftest.trace=", 10, 0) == 1;
	struct gstats before = guest_stats(), after;
	long wa, w0, w1, bad = -1;
	int i, st, finished = 0, fds[2];
	double ta, t0, t1;
	pid_t comp[2], toucher;
	char name[64];

	for (i = 0; i < n; i++)
		comp[i] = start_computer(&sh->work[i], &sh->stop, 0);
	if (trace)
		ctl("trace start");
	ta = now();
	wa = work_sum(sh->work, n);
	while ((n || trace) && now() < ta + 1)
		usleep(10000);
	ta = now() - ta;
	wa = work_sum(sh->work, n) - wa;
	if (trace)
		ctl("trace stop alone");
	if (pipe(fds))
		return;
	toucher = fork();
	if (toucher == 0) {
		close(fds[0]);
		_exit(touch(pages, fds[1]) == 0 ? 0 : 1);
	}
	close(fds[1]);
	/* From the drop on: the toucher waits for its pages. */
	if (read(fds[0], &st, 1) != 1)
		printf("apftest: the toucher failed before its drop\n");
	if (trace)
		ctl("trace start");
	t0 = now();
	w0 = work_sum(sh->work, n);
	if (waitpid(toucher, &st, 0) == toucher && WIFEXITED(st)) {
		finished++;
		bad = WEXITSTATUS(st);
	}
	t1 = now();
	w1 = work_sum(sh->work, n);
	if (trace)
		ctl("trace stop wait");
	WRITE_ONCE(sh->stop, 1);
	for (i = 0; i < n; i++)
		if (waitpid(comp[i], &st, 0) == comp[i] && WIFEXITED(st))
			finished++;
	after = guest_stats();
	/* One line, for scripts/guest_report.py. */
	printf("apftest: %s: the toucher read %ld pages back in %.2f s; ",
	       tag, pages, t1 - t0);
	printf("the others' work rate: %.0f/s alone, %.0f/s while it waited; ",
	       n ? wa / ta : 0, (w1 - w0) / (t1 - t0));
	printf("not present %ld, ready %ld\n",
	       after.not_present - before.not_present,
	       after.ready - before.ready);
	snprintf(name, sizeof(name), "%s_data_intact", tag);
	check(bad == 0, name, "toucher status %ld", bad);
	if (expect_apf) {
		snprintf(name, sizeof(name), "%s_async_pf_taken", tag);
		check(after.not_present > before.not_present, name,
		      "no \"page not present\"");
	}
	if (n) {
		snprintf(name, sizeof(name), "%s_others_progressed", tag);
		check(w1 > w0, name, "no work while it waited");
	}
	snprintf(name, sizeof(name), "%s_all_finished", tag);
	check(finished == n + 1, name, "%d of %d", finished, n + 1);
	check_counts(tag, 1);
}

/* Wait (bounded) for @pid; its exit status, or -1. */
/*
 * A task that did not go on: where the guest sees it (its state and CPU,
 * its kernel stack if the kernel shows it) and where the host's vCPUs are.
 */
static void show_stuck(const char *what, pid_t pid)
{
	static const char *const files[] = { "stat", "wchan", "stack" };
	char path[64], buf[2048];
	unsigned int i;
	ssize_t n;
	int fd;

	printf("apftest: %s %d is stuck:\n", what, pid);
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[i]);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			printf("apftest:   %s: %s\n", files[i], buf);
		}
	}
	fflush(stdout);
	ctl("dump");
}

/* A wait status as the tests use it: the exit code, or -1 if killed. */
static int exit_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int wait_exit(pid_t pid)
{
	double end = now() + WAIT_S;
	int st;

	while (now() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return exit_code(st);
		if (r < 0)
			return -1;
		usleep(10000);
	}
	return -1;
}

/*
 * The processes of @pids that have exited, reaped without waiting: each
 * one's status in @st (as wait_exit() gives it), its pid set to 0.  True
 * once all of them have.
 */
static bool reap_exited(pid_t *pids, int *st, int n)
{
	int i, s, done = 0;

	for (i = 0; i < n; i++) {
		if (pids[i] > 0 && waitpid(pids[i], &s, WNOHANG) == pids[i]) {
			st[i] = exit_code(s);
			pids[i] = 0;
		}
		done += !pids[i];
	}
	return done == n;
}

static sigjmp_buf bus_jmp;
static siginfo_t bus_info;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	bus_info = *si;
	siglongjmp(bus_jmp, 1);
}

/*
 * In a child process: read the word at @p, which should be @want (after the
 * VMM's fix) or a SIGBUS with BUS_ADRERR at @p; exits 0, 1 or else 2.
 */
static __noreturn void read_or_sigbus(const char *tag, u64 *p, u64 want)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };

	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(bus_jmp, 1)) {
		printf("apftest: %s: SIGBUS, si_code %d, si_addr %p (read at %p)\n",
		       tag, bus_info.si_code, bus_info.si_addr, (void *)p);
		_exit(bus_info.si_code == BUS_ADRERR &&
		      bus_info.si_addr == (void *)p ? 1 : 2);
	}
	printf("apftest: %s: read 0x%llx at gpa 0x%llx\n", tag,
	       (unsigned long long)READ_ONCE(*p), (unsigned long long)want);
	_exit(READ_ONCE(*p) == want ? 0 : 2);
}

/*
 * The checks after such a read (exit status @st of read_or_sigbus(): 1 for
 * the error, else @no_error_why): its outcome, the memory-fault exits the
 * VMM saw since @exits0 (@exits_ok, else @exits_why), the computing process
 * @comp went on and finished, the guest's errors since @before (1 with
 * @expect_sigbus, up to @errors_max), its counts.
 */
static void check_read(const char *tag, int expect_sigbus, long errors_max,
		       const char *no_error_why, int st,
		       int exits_ok, const char *exits_why, long *work, int *stop,
		       pid_t comp, struct gstats before)
{
	struct gstats after;
	char name[64];

	snprintf(name, sizeof(name), "%s_reader", tag);
	if (expect_sigbus)
		check(WEXITSTATUS(st) == 1, name, "%s (status %d)",
		      no_error_why, WEXITSTATUS(st));
	else
		check(WEXITSTATUS(st) == 0, name,
		      "the read did not return the VMM's fill (status %d)",
		      WEXITSTATUS(st));
	snprintf(name, sizeof(name), "%s_vmm_exits", tag);
	check(exits_ok, name, "%s", exits_why);
	snprintf(name, sizeof(name), "%s_others_went_on", tag);
	check(wait_work(work, READ_ONCE(*work)), name,
	      "the computing process made no progress after the read");
	WRITE_ONCE(*stop, 1);
	snprintf(name, sizeof(name), "%s_others_finished", tag);
	check(wait_exit(comp) >= 0, name, "the computing process did not finish");
	after = guest_stats();
	snprintf(name, sizeof(name), "%s_error_status", tag);
	check(after.error - before.error >= expect_sigbus &&
	      after.error - before.error <= (expect_sigbus ? errors_max : 0),
	      name, "the guest was told %ld error(s), expected %d to %ld",
	      after.error - before.error, expect_sigbus,
	      expect_sigbus ? errors_max : 0);
	check_counts(tag, 0);
}

#define NO_SIGBUS	"no SIGBUS with BUS_ADRERR at the address read"

/* 1 if @n failed with EFAULT, 0 if it did not fail, else 2. */
static int efault_of(const char *what, u64 gpa, ssize_t n)
{
	printf("apftest: efault: %s gpa 0x%llx: %zd (%s)\n", what,
	       (unsigned long long)gpa, n, n < 0 ? strerror(errno) : "done");
	return n < 0 ? (errno == EFAULT ? 1 : 2) : 0;
}

/*
 * In a child process: write the word at @p (@gpa) to a pipe, then wait on
 * a futex there (for 1 ms, if it can be read); exits 1 if both fail with
 * EFAULT, 0 if neither fails, else 2.
 */
static __noreturn void write_or_efault(u64 *p, u64 gpa)
{
	struct timespec ms = { .tv_nsec = 1000000 };
	int fds[2], w, f;
	long r;

	if (pipe(fds))
		_exit(2);
	w = efault_of("write() to a pipe from", gpa, write(fds[1], p, sizeof(*p)));
	r = syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, 0, &ms, NULL, 0);
	if (r < 0 && errno == ETIMEDOUT)
		r = 0;
	f = efault_of("FUTEX_WAIT at", gpa, r);
	_exit(w == f ? w : 2);
}

/*
 * Read the first word of the unresolvable region through /dev/mem (or,
 * @efault, have the kernel read it for a write() to a pipe).
 */
static void test_bad(int expect_sigbus, int efault)
{
	const char *tag = efault ? "efault" : expect_sigbus ? "sigbus" : "fixed";
	struct {
		long work;
		int stop;
	} *sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct gstats before = guest_stats();
	u64 gpa = param("apftest.bad=", 16, 0);
	int fd = open("/dev/mem", O_RDONLY | O_SYNC), exits0, exits, st;
	char why[80];
	pid_t child, comp;
	u64 *p;

	if (!gpa || fd < 0) {
		check(0, tag, "no apftest.bad= or /dev/mem (%s)", strerror(errno));
		return;
	}
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, gpa);
	if (p == MAP_FAILED) {
		check(0, tag, "mmap /dev/mem at 0x%llx: %s",
		      (unsigned long long)gpa, strerror(errno));
		return;
	}
	exits0 = ctl("exits");
	comp = start_computer(&sh->work, &sh->stop, 0);
	/* Computing before the read, so that "went on" means after it. */
	wait_work(&sh->work, 0);
	child = fork();
	if (child == 0 && efault)
		write_or_efault(p, gpa);
	if (child == 0)
		read_or_sigbus(tag, p, gpa);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st))
		st = 3 << 8;
	exits = ctl("exits") - exits0;
	/* -U retry: the exit, the same again unfixed, then fixed */
	snprintf(why, sizeof(why), "%d memory-fault exit(s) reached the VMM, expected %d",
		 exits, expect_sigbus ? 0 : 2);
	/*
	 * After the fixup of its first fault, x86's user copy retries the
	 * bytes one by one: the first of them faults again, a second error;
	 * the futex reads once under its lock, once more without: 4 in all.
	 */
	check_read(tag, expect_sigbus, efault ? 4 : 1,
		   efault ? "write() and FUTEX_WAIT did not fail with EFAULT" :
			    NO_SIGBUS, st,
		   exits == (expect_sigbus ? 0 : 2), why,
		   &sh->work, &sh->stop, comp, before);
	if (efault)
		check(guest_stats().in_place > before.in_place,
		      "efault_futex_waited_in_place",
		      "no wait in place: the futex's read under its lock must not sleep");
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

static void test_hotplug(void)
{
	const char *online = "/sys/devices/system/cpu/cpu1/online";
	struct gstats before = guest_stats(), after;
	pid_t toucher;
	int st, fds[2], off, on;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || pipe(fds)) {
		check(0, "hotplug", "needs 2 CPUs");
		return;
	}
	toucher = fork();
	if (toucher == 0) {
		pin(1);
		close(fds[0]);
		_exit(touch(param("apftest.pages=", 10, TOUCH_PAGES), fds[1]) == 0 ? 0 : 1);
	}
	close(fds[1]);
	if (read(fds[0], &st, 1) != 1)
		printf("apftest: the toucher failed before its drop\n");
	/* Its faults in flight: CPU 1 goes, its tasks move, it comes back. */
	off = write_file(online, "0");
	on = write_file(online, "1");
	check(waitpid(toucher, &st, 0) == toucher && WIFEXITED(st) &&
	      !WEXITSTATUS(st), "hotplug_toucher_finished", "status 0x%x", st);
	after = guest_stats();
	printf("apftest: hotplug: not present %ld, ready %ld, wake-alls %ld\n",
	       after.not_present - before.not_present,
	       after.ready - before.ready, after.wake_all - before.wake_all);
	check(!off && !on, "hotplug_cpu1_off_and_on", "offline %d, online %d", off, on);
	/* Re-enabled on CPU 1: the host's wake-all for what it had dropped. */
	check(after.wake_all > before.wake_all, "hotplug_wake_all_on_reenable",
	      "no wake-all");
	pin(1);
	check(ctl("enabled") == 1, "hotplug_async_pf_on_again", "CPU 1 has it off");
	unpin();
	check_counts("hotplug", 0);
}

static void test_inflight(void)
{
	int fds[2], c;

	if (pipe(fds))
		return;
	if (fork() == 0) {
		close(fds[0]);
		_exit(touch(param("apftest.pages=", 10, TOUCH_PAGES), fds[1]) == 0 ? 0 : 1);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		printf("apftest: the toucher failed before its drop\n");
	printf("apftest: rebooting with faults in flight\n");
	fflush(stdout);
	reboot(RB_AUTOBOOT);
}

#define SNAP_TOUCHERS	3
#define SNAP_COMPUTERS	2	/* one per vCPU: more work than vCPUs */
#define SNAP_TRIES	5	/* sets of touchers, until one is seen parked */

/*
 * Snapshots with faults in flight, apftest.rounds=N times (default 10):
 * three touchers (one after the other: the test device takes one command
 * at a time) fill their pages, have them dropped and read them back, each
 * parked on a "not present"; two computers run (a vCPU a toucher's
 * fault holds in the host is a computer's time lost).  With tasks parked, the
 * guest asks for a snapshot; a new VMM process restores it, its RAM served
 * lazily, and answers "snap" with its restore's number.  Then the touchers
 * finish with their data (the restore's wake-all woke the parked ones),
 * the computer went on, no task stays parked, and the guest's counts are
 * KVM's, summed over every VM of the chain (no "page ready" lost or
 * duplicated).  Each property is one result over all rounds.
 */
static void test_snapshot(void)
{
	struct {
		long work[SNAP_COMPUTERS];
		int stop;
		double alone;	/* a second copy, on another page */
	} *sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long rounds = param("apftest.rounds=", 10, 10);
	long pages = param("apftest.pages=", 10, 64);
	int restored = 0, parked = 0, intact = 0, went_on = 0, clean = 0;
	int first = ctl("round"), apf = ctl("enabled") == 1, ans, r, t, c;
	int st = 0, vec = 0, cst;
	char ch;
	pid_t comp[SNAP_COMPUTERS], touchers[SNAP_TOUCHERS];
	long w0, w1, wc[SNAP_COMPUTERS];
	struct gstats g;
	double end, t0, alone;

	for (c = 0; c < SNAP_COMPUTERS; c++)
		comp[c] = start_computer(&sh->work[c], &sh->stop, 1);
	/* Their rate alone, for the figures after each restore. */
	for (c = 0; c < SNAP_COMPUTERS; c++)
		wait_work(&sh->work[c], 0);
	t0 = now();
	w0 = work_sum(sh->work, ARRAY_SIZE(sh->work));
	while (now() < t0 + 1)
		usleep(10000);
	alone = (work_sum(sh->work, ARRAY_SIZE(sh->work)) - w0) / (now() - t0);
	sh->alone = alone;
	for (r = 0; r < rounds; r++) {
		int fds[2], ok = 1, same = 0, tries = 0, tst[SNAP_TOUCHERS];
		bool out;

again:
		for (t = 0; t < SNAP_TOUCHERS; t++) {
			if (pipe(fds))
				return;
			touchers[t] = fork();
			if (touchers[t] == 0) {
				close(fds[0]);
				_exit(touch(pages, fds[1]) == 0 ? 0 : 1);
			}
			close(fds[1]);
			if (read(fds[0], &ch, 1) != 1)
				printf("apftest: toucher %d failed before its drop\n", t);
			close(fds[0]);
		}
		/* Snapshot with a task parked on a fault in flight. */
		end = now() + WAIT_S;
		do {
			g = guest_stats();
			out = reap_exited(touchers, tst, SNAP_TOUCHERS);
		} while (apf && g.parked <= 0 && !out && now() < end &&
			 !usleep(1000));
		/*
		 * Every toucher parked and went between two looks (its pages
		 * came quickly): none to snapshot parked, so another set.
		 */
		if (apf && g.parked <= 0 && out && ++tries < SNAP_TRIES) {
			for (t = 0; t < SNAP_TOUCHERS; t++)
				ok &= tst[t] == 0;
			printf("apftest: snapshot %d: no toucher seen parked; again\n",
			       r + 1);
			goto again;
		}
		parked += g.parked > 0;
		ans = ctl("snap");
		/* The computers' work in the guest's first second after it. */
		t0 = now();
		w0 = work_sum(sh->work, ARRAY_SIZE(sh->work));
		while (now() < t0 + 1)
			usleep(10000);
		for (c = 0; c < SNAP_COMPUTERS; c++)
			wc[c] = READ_ONCE(sh->work[c]);
		w1 = work_sum(wc, SNAP_COMPUTERS);
		printf("apftest: snapshot %d: %ld task(s) parked; restore %d answered; "
		       "work in the first second after it %ld, alone %.0f/s\n",
		       r + 1, g.parked, ans, w1 - w0, alone);
		/* init's own memory, across the restore: the VMM says more. */
		if (alone != sh->alone) {
			u64 gpa = phys(&alone) + ((uintptr_t)&alone & (PAGE - 1));

			fprintf(stdout,
				"apftest: init's memory changed: its rate alone reads %.0f/s, %.0f/s in its copy; guest-physical %#llx\n",
				alone, sh->alone, (unsigned long long)gpa);
			ctl("page %llx", (unsigned long long)gpa);
			alone = sh->alone;
		}
		restored += ans == ((first + r + 1) & 0xff);
		for (t = 0; t < SNAP_TOUCHERS; t++)
			ok &= (touchers[t] ? wait_exit(touchers[t]) : tst[t]) == 0;
		intact += ok;
		for (c = 0; c < SNAP_COMPUTERS; c++)
			if (!wait_work(&sh->work[c], wc[c]))
				break;
		if (c == SNAP_COMPUTERS)
			went_on++;
		else
			show_stuck("a computer", comp[c]);
		/* Quiet again: nothing parked, every count KVM's. */
		end = now() + WAIT_S;
		do {
			g = guest_stats();
			if (g.parked == 0)
				same = ctl("check %ld %ld", g.not_present, g.ready) == 1;
		} while (!same && now() < end && !usleep(10000));
		clean += same;
	}
	WRITE_ONCE(sh->stop, 1);
	/* 2: its vector registers changed; else 0, or the first other. */
	for (c = 0; c < SNAP_COMPUTERS; c++) {
		cst = wait_exit(comp[c]);
		vec |= cst == 2;
		if (cst != 0 && cst != 2 && !st)
			st = cst;
	}
	check(restored == rounds, "snapshot_restored_every_time",
	      "%d of %ld restores answered", restored, rounds);
	/* Async PF off (VMM -n, for `make bench`): nothing parks. */
	if (apf)
		check(parked == rounds, "snapshot_with_tasks_parked",
		      "tasks parked at %d of %ld snapshots", parked, rounds);
	check(intact == rounds && !st,
	      "snapshot_parked_tasks_woke_with_their_data",
	      "%d of %ld rounds, the computers' status %d", intact, rounds, st);
	/* x86: xmm8-15; the other arches do not check (status 0). */
	check(!vec, "snapshot_vector_registers_kept",
	      "a computer's vector registers changed under it");
	check(went_on == rounds, "snapshot_others_went_on",
	      "the computers went on after %d of %ld restores", went_on, rounds);
	check(clean == rounds, "snapshot_no_ready_lost_or_duplicated",
	      "nothing parked and the counts KVM's after %d of %ld rounds",
	      clean, rounds);
}

/*
 * A process's page left out of a snapshot's image (as a truncated file
 * would leave it), then read after the restore: SIGBUS with BUS_ADRERR at
 * its address (@expect_sigbus: the guest may see errors, VMM -e -X: the VMM
 * fails the fault with -EIO, the guest's "page ready" carries it), or the
 * VMM's memory-fault exit, which fills the page (each word its gpa) and
 * re-enters, and the read returns that (VMM -V, no -e).  Never a hang; the
 * rest of the guest goes on.
 */
static void test_lost(int expect_sigbus)
{
	const char *tag = expect_sigbus ? "lost_sigbus" : "lost_fixed";
	struct {
		long work;
		int stop;
	} *sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	/*
	 * The victim's page, shared with init, which never touches it: when
	 * the victim dies the page stays where it is, lost, instead of going
	 * back to the guest's allocator for the next task (or the kernel) to
	 * fault on.
	 */
	u64 *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	int ready[2], go[2], exits0, exits, st = 3 << 8;
	struct gstats before;
	pid_t comp, victim;
	char why[80], c;

	if (p == MAP_FAILED || pipe(ready) || pipe(go))
		return;
	comp = start_computer(&sh->work, &sh->stop, 0);
	wait_work(&sh->work, 0);
	victim = fork();
	if (victim == 0) {
		u64 gpa;

		memset(p, 0x5a, PAGE);
		gpa = phys(p);
		if (!gpa || ctl("lose %llx", (unsigned long long)gpa) ||
		    write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		read_or_sigbus(tag, p, gpa);
	}
	if (read(ready[0], &c, 1) != 1)
		printf("apftest: %s: the victim failed before the snapshot\n", tag);
	before = guest_stats();
	exits0 = ctl("exits");
	printf("apftest: %s: snapshot without the victim's page: restore %d\n",
	       tag, ctl("snap"));
	if (write(go[1], "x", 1) == 1)
		st = wait_exit(victim) << 8;
	exits = ctl("exits") - exits0;
	snprintf(why, sizeof(why), "%d memory-fault exit(s) reached the VMM", exits);
	check_read(tag, expect_sigbus, 1, NO_SIGBUS, st,
		   expect_sigbus ? exits == 0 : exits > 0, why,
		   &sh->work, &sh->stop, comp, before);
}

static void test_kunit(void)
{
	DIR *d = opendir("/sys/kernel/debug/kunit");
	struct dirent *e;
	int suites = 0;

	while (d && (e = readdir(d))) {
		char path[300], line[512], name[300];
		int cases = 0, bad = 0;
		FILE *f;

		if (strncmp(e->d_name, "kvm_apf_guest", 13))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/kunit/%s/results",
			 e->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			char *l = line + strspn(line, " ");

			if (!strncmp(l, "not ok ", 7))
				bad++;
			else if (!strncmp(l, "ok ", 3))
				cases++;
		}
		if (f)
			fclose(f);
		snprintf(name, sizeof(name), "kunit_%s", e->d_name);
		check(f && cases && !bad, name, "%d passed, %d failed", cases, bad);
		suites++;
	}
	if (d)
		closedir(d);
	check(suites > 0, "kunit_suites_ran", "no kvm_apf_guest suite in debugfs");
}

static int want(const char *cmdline, const char *test)
{
	const char *p = strstr(cmdline, "apftest=");
	size_t n = strlen(test);

	if (!p)
		return 0;
	for (p += 8; *p && *p != ' ' && *p != '\n'; p++) {
		if (!strncmp(p, test, n) && strchr(",\n ", p[n] ? p[n] : ' '))
			return 1;
		p = strpbrk(p, ",\n ");
		if (!p || *p != ',')
			return 0;
	}
	return 0;
}

int main(void)
{
	FILE *f;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/*
	 * The touchers' pages stay where they were when the VMM dropped them:
	 * compaction would migrate even locked pages, and the VMM would have
	 * dropped a page now someone else's.
	 */
	write_file("/proc/sys/vm/compact_unevictable_allowed", "0");
	write_file("/proc/sys/vm/compaction_proactiveness", "0");
	printf("L2 user space up\n");
	f = fopen("/proc/cmdline", "r");
	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = 0;
		fclose(f);
	}
	if (strstr(cmdline, "apftest=")) {
		ctl_open();
		if (want(cmdline, "enabled")) {
			check_enabled();
			check_counts("enabled", 0);
		}
		if (want(cmdline, "delayed"))
			test_delayed("delayed", 1);
		if (want(cmdline, "workload"))
			test_delayed("workload", 0);
		if (want(cmdline, "vmm")) {
			test_delayed("vmm_driven", 1);
			check(ctl("accepted") > 0, "vmm_driven_faults_accepted",
			      "the VMM accepted no fault");
		}
		if (want(cmdline, "sigbus"))
			test_bad(1, 0);
		if (want(cmdline, "fixed"))
			test_bad(0, 0);
		if (want(cmdline, "efault"))
			test_bad(1, 1);
		if (want(cmdline, "hotplug"))
			test_hotplug();
		if (want(cmdline, "kunit"))
			test_kunit();
		if (want(cmdline, "snapshot"))
			test_snapshot();
		if (want(cmdline, "lost_sigbus"))
			test_lost(1);
		if (want(cmdline, "lost_fixed"))
			test_lost(0);
		/* The first boot only: the VMM boots it again. */
		if (want(cmdline, "inflight") && ctl("boot") == 0)
			test_inflight();
		ctl("done");
		printf("apftest: %s\n", failed ? "FAILED" : "all passed");
	}
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	return 1;
}
