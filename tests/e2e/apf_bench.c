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
 *   async    the same delay, async PF on
 *
 * Each run is a fresh VM in a child process; the compute quantum is sized
 * (unless -q) so that one quantum lasts one host delay.  The three runs
 * repeat -r times (default 3), interleaved, for the report's medians.  Prints one line
 * "BENCH key=value ..." per run for scripts/bench.sh.  Counts that do
 * not depend on speed come from the guest's log and the vCPU's stats.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "userfaultfd_util.h"
#include "apf_guest.h"
#include "apf_util.h"

#define BENCH_SLOT	10
#define BENCH_GPA	0x10000000ul

static u64 bench_work;		/* guest: units of compute done */
static u64 bench_touched;	/* guest: pages touched */

/*
 * Work is counted in units of apf_guest_compute(), the same loop the "not
 * present" handler runs while the touching task is parked.
 */
static void guest_bench(u64 gva, u64 pages, u64 page_size, u64 quantum,
			u64 async)
{
	u64 n;

	if (async)
		guest_apf_enable();
	else
		guest_irq_enable();	/* same conditions, async PF off */
	for (n = 0;; n++) {
		if (n < pages) {
			READ_ONCE(*(u64 *)(gva + n * page_size));
			WRITE_ONCE(bench_touched, n + 1);
		}
		WRITE_ONCE(bench_work, bench_work + apf_guest_compute(quantum));
	}
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

static const char *kernel_release(void)
{
	static struct utsname u;

	uname(&u);
	return u.release;
}

static void print_usage(const char *prog)
{
	printf("Usage: %s [-d delay_us] [-w window_ms] [-q quantum] [-p pages] [-r rounds]\n",
	       prog);
	exit(KSFT_FAIL);
}

struct bench_args {
	u64 delay_us, window_ms, quantum, pages, rounds;
};

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
	if (!pid)
		bench(a, mode, quantum, shared);
	waitpid(pid, &status, 0);
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "%s run failed (status %#x)", mode, status);
	return *shared;
}

int main(int argc, char *argv[])
{
	struct bench_args a = { .delay_us = 5000, .window_ms = 2000,
				.quantum = 0, .pages = 8192, .rounds = 3 };
	const char *why;
	u64 q, rate, r;
	int opt;

	while ((opt = getopt(argc, argv, "m:d:w:q:p:r:")) != -1) {
		switch (opt) {
		case 'd':
			a.delay_us = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			a.window_ms = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			a.quantum = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			a.pages = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			a.rounds = strtoull(optarg, NULL, 0);
			break;
		default:
			print_usage(argv[0]);
		}
	}
	if (!a.window_ms || !a.pages || !a.delay_us || !a.rounds)
		print_usage(argv[0]);
	why = apf_arch_unsupported();
	if (why) {
		printf("BENCH skipped=1 reason=\"%s\"\n", why);
		return KSFT_SKIP;
	}

	/*
	 * Unless told, size the compute quantum so that it lasts as long as
	 * one host delay: measure the guest's speed with nothing to wait for.
	 */
	q = a.quantum;
	if (!q) {
		rate = run_one(&a, "calibrate", 1000) / a.window_ms;
		q = rate * a.delay_us / 1000;
		TEST_ASSERT(q, "guest too slow to calibrate");
	}
	/* Interleaved, so that a slower stretch of the host hits all three. */
	for (r = 0; r < a.rounds; r++) {
		run_one(&a, "ceiling", q);
		run_one(&a, "sync", q);
		run_one(&a, "async", q);
	}
	return 0;
}

static void bench(const struct bench_args *a, const char *mode, u64 quantum,
		  u64 *result)
{
	u64 delay_us = a->delay_us, window_ms = a->window_ms, pages = a->pages;
	u64 work_ptr, parked_ptr, work, parked, exits0, exits = 0;
	struct uffd_desc *uffd = NULL;
	int stats_fd;
	bool present = !strcmp(mode, "ceiling") || !strcmp(mode, "calibrate");
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thread;
	void *hva;

	vm = vm_create_with_one_vcpu(&vcpu, guest_bench);
	page_size = vm->page_size;
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, BENCH_GPA,
				    BENCH_SLOT, pages, 0);
	virt_map(vm, BENCH_GPA, BENCH_GPA, pages);
	hva = addr_gpa2hva(vm, BENCH_GPA);
	if (present)
		memset(hva, 0, pages * page_size);
	else
		uffd = uffd_setup_demand_paging(UFFDIO_REGISTER_MODE_MISSING,
						delay_us, hva, pages * page_size,
						1, serve_zero);
	apf_arch_vm_setup(vm);
	vcpu_args_set(vcpu, 5, BENCH_GPA, pages, (u64)page_size, quantum,
		      (u64)!strcmp(mode, "async"));
	sync_global_to_guest(vm, apf_mode);

	work_ptr = (u64)addr_gva2hva(vm, (vm_vaddr_t)&bench_work);
	parked_ptr = (u64)addr_gva2hva(vm, (vm_vaddr_t)&apf_log.work);
	stats_fd = vcpu_get_stats_fd(vcpu);
	TEST_ASSERT(read_stat(stats_fd, "exits", &exits0), "no exits stat");

	pthread_create(&thread, NULL, run_vcpu, vcpu);
	usleep(window_ms * 1000);
	work = READ_ONCE(*(u64 *)work_ptr);
	parked = READ_ONCE(*(u64 *)parked_ptr);
	sync_global_from_guest(vm, apf_log);
	sync_global_from_guest(vm, bench_touched);

	printf("BENCH kernel=%s mode=%s delay_us=%lu window_ms=%lu quantum=%lu ",
	       kernel_release(), mode, delay_us, window_ms, quantum);
	printf("work=%lu parked_work=%lu touched=%lu not_present=%lu ",
	       work + parked, parked, bench_touched, apf_log.not_present);
	read_stat(stats_fd, "exits", &exits);
	printf("ready=%lu wake_all=%lu exits=%lu\n", apf_log.ready,
	       apf_log.wake_all, exits - exits0);
	fflush(stdout);
	*result = work + parked;
	(void)uffd;
	/* The vCPU thread is still in the guest: leave, the kernel cleans up. */
	_exit(0);
}
