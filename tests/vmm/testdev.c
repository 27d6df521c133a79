// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM's test device and its view of the guest's console:
 * how the guest's test program (tests/vmm/l2init.c) and the VMM compare
 * what the guest was told with what KVM says it told it.  Not something a
 * production VMM needs; kept apart so that vmm.c and mem.c read as a VMM.
 *
 * The device is one byte-wide MMIO register (x86: 0xfeb00000; arm64:
 * 0x01001000).  The guest writes a command, a line of text; the VMM acts
 * on the newline (in the thread of the vCPU that wrote it: "enabled" is
 * that vCPU's) and leaves a one-byte answer that the guest reads back.
 * One process talks to it at a time:
 *
 *   drop GPA N     drop the N pages listed (u64 gpas) at guest-physical GPA
 *                  (mem.c); answers 0 or an errno
 *   enabled        answers 1 if async PF is on for the vCPU that asks (its
 *                  enable word: x86 MSR_KVM_ASYNC_PF_EN, arm64
 *                  KVM_REG_ARM_APF_CTRL), else 0
 *   exception      answers 1 if that vCPU's guest took "not present" as a
 *                  synchronous exception (x86: KVM_ASYNC_PF_DELIVERY_AS_VE
 *                  in MSR_KVM_ASYNC_PF_INT, arm64:
 *                  KVM_APF_ARM64_DELIVERY_AS_ABORT in KVM_REG_ARM_APF_CTRL),
 *                  else 0
 *   check NP READY the guest's counts of "page not present" and "page
 *                  ready" (debugfs kvm_apf_guest/stats): answers 1 if KVM's,
 *                  summed over the vCPUs' binary stats apf_not_present and
 *                  apf_ready, are the same
 *   dump           every vCPU's state to the log (each by its own thread)
 *   exits          answers the memory-fault exits so far (at most 255)
 *   accepted       answers the faults the VMM accepted (-V; at most 255)
 *   lose GPA       leave the page at GPA out of the next snapshot's image
 *                  (as a truncated image would; mem.c); answers 0 or an errno
 *   page GPA       what the VMM knows of the page holding GPA and the u64
 *                  at GPA, to the log (mem.c: to triage guest memory found
 *                  changed); answers 0 or an errno
 *   snap           (-S) take a snapshot now; the new VMM process that
 *                  restores it answers which restore it is (snapshot.c)
 *   round          answers which restore this VM is (0: none)
 *   trace start    (the bench) trace this VM's exits from now on, by cause
 *                  (tests/e2e/apf_exit_trace.h); answers 0, or ENODEV
 *   trace stop NAME
 *                  end that window and print it for scripts/bench_report.py:
 *                  "BENCH scenario=linux_guest window=NAME seconds=S
 *                  not_present=N ready=N ctl_exits=N trace=KEY:N,...", with
 *                  ctl_exits the test device's own exits inside the window
 *                  (the bytes of this command, the answer to "trace start");
 *                  answers 0, or EINVAL if no window is open
 *   boot           answers which boot this is (0: the first, then one more
 *                  after each reset, -r)
 *   ok NAME / fail NAME REASON
 *                  a result: printed as a KTAP line ("ok N NAME")
 *   done           the guest's tests are over
 *
 * Each line of the guest's console is printed with "L2| " in front, and
 * scanned for kernel trouble (WARN, BUG, Oops, panic, a hung task): with
 * -T, the VMM reports "guest_log_clean" and the guest's results, and exits
 * 0 only if the guest said "done", every result was "ok" and its log was
 * clean.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kernel.h>

#include "vmm.h"
#include "apf_exit_trace.h"

static const char *const stat_names[NR_APF_STATS] = {
	"apf_not_present", "apf_ready", "apf_error",
};

/* What marks a kernel in trouble, as scripts/e2e_report.py has it. */
static const char *const trouble[] = {
	"WARNING: CPU:", "BUG: ", "Kernel panic", "Oops", "Unable to handle",
	"general protection fault", "blocked for more than", "KASAN:",
	"UBSAN:", "kernel BUG at", "list_add corruption", "list_del corruption",
};

static pthread_mutex_t test_lock = PTHREAD_MUTEX_INITIALIZER;
static double boot_start;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A new VM: the guest's boot starts. */
void test_boot_start(void)
{
	boot_start = now_s();
}

/* Milliseconds since. */
double test_boot_ms(void)
{
	return (now_s() - boot_start) * 1000;
}

static int results, failures, troubles, done;

void test_result(const char *name, int ok, const char *why)
{
	pthread_mutex_lock(&test_lock);
	results++;
	if (!ok)
		failures++;
	printf("%sok %d %s%s%s\n", ok ? "" : "not ", results, name,
	       why && *why ? " # " : "", why ? why : "");
	fflush(stdout);
	pthread_mutex_unlock(&test_lock);
}

static struct {
	char line[1024];
	size_t len;
} con;

void console_putc(u8 c)
{
	char *line = con.line;
	size_t i;

	if (c != '\n' && con.len < sizeof(con.line) - 1) {
		if (c != '\r')
			line[con.len++] = c;
		return;
	}
	line[con.len] = 0;
	for (i = 0; i < ARRAY_SIZE(trouble); i++)
		if (strstr(line, trouble[i]))
			troubles++;
	printf("L2| %s\n", line);
	if (strstr(line, "L2 user space up"))
		printf("vmm: L2 user space up %.2f s after the VM was created\n",
		       now_s() - boot_start);
	fflush(stdout);
	con.len = 0;
}

/* The vCPU's binary stats (KVM_GET_STATS_FD): where our counters are. */
void vcpu_stats_open(struct vcpu *vcpu)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	int i, j;

	vcpu->stats_fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
	if (vcpu->stats_fd < 0 || pread(vcpu->stats_fd, &h, sizeof(h), 0) != sizeof(h))
		die("KVM_GET_STATS_FD");
	dsize = sizeof(*d) + h.name_size;
	d = malloc(dsize);
	if (!d)
		die("malloc");
	for (i = 0; i < NR_APF_STATS; i++)
		vcpu->stat_off[i] = -1;
	for (i = 0; i < (int)h.num_desc; i++) {
		if (pread(vcpu->stats_fd, d, dsize, h.desc_offset + i * dsize) != (ssize_t)dsize)
			die("read stats descriptors");
		for (j = 0; j < NR_APF_STATS; j++)
			if (!strcmp(d->name, stat_names[j]))
				vcpu->stat_off[j] = h.data_offset + d->offset;
	}
	free(d);
	for (j = 0; j < NR_APF_STATS; j++)
		if (vcpu->stat_off[j] < 0) {
			errno = 0;
			die("no stat %s", stat_names[j]);
		}
}

/* The counts of the VMs before this one in a chain of snapshots. */
static u64 stat_base[NR_APF_STATS];

/* KVM's count @i, summed over the vCPUs (and the VMs the guest ran in). */
u64 host_stat(struct vmm *vmm, int i)
{
	u64 sum = stat_base[i], v;
	int c;

	for (c = 0; c < vmm->nr_vcpus; c++) {
		struct vcpu *vcpu = &vmm->vcpus[c];

		if (pread(vcpu->stats_fd, &v, sizeof(v), vcpu->stat_off[i]) != sizeof(v))
			die("read stat %s", stat_names[i]);
		sum += v;
	}
	return sum;
}

static int cmd_drop(struct vcpu *vcpu, u64 list, u64 n)
{
	struct vmm *vmm = vcpu->vmm;
	u64 *gpas, i;
	int err;

	if (!n || n > 4096 / 8)
		return -EINVAL;
	gpas = gpa_to_hva(vmm, list, n * 8);
	for (i = 0; i < n; i++) {
		err = mem_drop(vmm, gpas[i]);
		if (err)
			return err;
	}
	return 0;
}

/* This VM's count @i on @vcpu alone. */
static u64 vcpu_stat(struct vcpu *vcpu, int i)
{
	u64 v;

	if (pread(vcpu->stats_fd, &v, sizeof(v), vcpu->stat_off[i]) != sizeof(v))
		die("read stat %s", stat_names[i]);
	return v;
}

/*
 * A guest that polls until the counts agree asks often: a difference is
 * printed the first times and then every 100th, with each vCPU's counts
 * in this VM and, where known, the token in its "page ready" slot (one
 * that stays there was never taken by the guest).
 */
static int cmd_check(struct vcpu *vcpu, u64 np, u64 ready)
{
	static unsigned int differed;
	struct vmm *vmm = vcpu->vmm;
	u64 h[NR_APF_STATS];
	int i, same;

	for (i = 0; i < NR_APF_STATS; i++)
		h[i] = host_stat(vmm, i);
	same = h[APF_NOT_PRESENT] == np && h[APF_READY] == ready;
	differed = same ? 0 : differed + 1;
	if (differed > 3 && differed % 100)
		return same;
	printf("vmm: guest was told not present %llu, ready %llu; "
	       "KVM told it %llu, %llu: %s (KVM's faults that failed: %llu)\n",
	       (unsigned long long)np, (unsigned long long)ready,
	       (unsigned long long)h[APF_NOT_PRESENT],
	       (unsigned long long)h[APF_READY], same ? "the same" : "different",
	       (unsigned long long)h[APF_ERROR]);
	for (i = 0; !same && i < vmm->nr_vcpus; i++) {
		struct vcpu *v = &vmm->vcpus[i];

		printf("vmm:   vcpu %d in this VM: not present %llu, ready %llu",
		       i, (unsigned long long)vcpu_stat(v, APF_NOT_PRESENT),
		       (unsigned long long)vcpu_stat(v, APF_READY));
		if (v->apf_slot)
			printf(", token 0x%x in its slot",
			       *(u32 *)gpa_to_hva(vmm, v->apf_slot, 4));
		printf("\n");
	}
	return same;
}

/* The open exit-trace window ("trace start"); under ctl.lock. */
static struct {
	bool on;
	double t0;
	u64 np0, ready0;
	unsigned int ctl_exits;
} win;

static int trace_start(struct vmm *vmm)
{
	if (win.on)
		exit_trace_stop();
	win.on = false;
	if (!exit_trace_start(false))
		return -ENODEV;
	win = (typeof(win)){
		.on = true, .t0 = now_s(),
		.np0 = host_stat(vmm, APF_NOT_PRESENT),
		.ready0 = host_stat(vmm, APF_READY),
	};
	return 0;
}

static int trace_stop(struct vmm *vmm, const char *name)
{
	if (!win.on)
		return -EINVAL;
	exit_trace_stop();
	win.on = false;
	/* One line: other vCPU threads' console output waits. */
	flockfile(stdout);
	printf("BENCH scenario=linux_guest window=%s seconds=%.3f ", name,
	       now_s() - win.t0);
	printf("not_present=%llu ready=%llu ctl_exits=%u",
	       (unsigned long long)(host_stat(vmm, APF_NOT_PRESENT) - win.np0),
	       (unsigned long long)(host_stat(vmm, APF_READY) - win.ready0),
	       win.ctl_exits);
	exit_trace_print();
	printf("\n");
	fflush(stdout);
	funlockfile(stdout);
	return 0;
}

/* A request: its answer, or a negative errno (answered as its positive). */
static int request(struct vcpu *vcpu, char *line)
{
	unsigned long long a, b;
	char name[128], why[256];

	if (sscanf(line, "drop %llx %llu", &a, &b) == 2)
		return cmd_drop(vcpu, a, b);
	if (!strcmp(line, "enabled"))
		return arch_apf_enabled(vcpu);
	if (!strcmp(line, "exception"))
		return arch_apf_exception(vcpu);
	if (!strcmp(line, "dump")) {
		dump_vcpus(vcpu);
		return 0;
	}
	if (sscanf(line, "check %llu %llu", &a, &b) == 2)
		return cmd_check(vcpu, a, b);
	if (!strcmp(line, "accepted"))
		return vcpu->vmm->accepted > 255 ? 255 : vcpu->vmm->accepted;
	if (!strcmp(line, "boot"))
		return vcpu->vmm->boot;
	if (!strcmp(line, "exits"))
		return vcpu->vmm->fault_exits > 255 ? 255 : vcpu->vmm->fault_exits;
	if (sscanf(line, "ok %127s", name) == 1) {
		test_result(name, 1, NULL);
		return 0;
	}
	if (sscanf(line, "fail %127s %255[^\n]", name, why) >= 1) {
		test_result(name, 0, why);
		return 0;
	}
	if (!strcmp(line, "done")) {
		done = 1;
		return 0;
	}
	if (sscanf(line, "lose %llx", &a) == 1)
		return mem_lose(vcpu->vmm, a);
	if (sscanf(line, "page %llx", &a) == 1)
		return mem_page_report(vcpu->vmm, a);
	if (!strcmp(line, "snap")) {
		if (!vcpu->vmm->snap_dir)
			return -EPERM;	/* not allowed: no -S */
		/* The vCPUs stop; a new VMM process answers (testdev_restore()). */
		__atomic_store_n(&vcpu->vmm->snap_requested, 1, __ATOMIC_RELEASE);
		return 0;
	}
	if (!strcmp(line, "round"))
		return vcpu->vmm->round;
	if (!strcmp(line, "trace start"))
		return trace_start(vcpu->vmm);
	if (sscanf(line, "trace stop %127s", name) == 1)
		return trace_stop(vcpu->vmm, name);
	fprintf(stderr, "vmm: test device: what is \"%s\"?\n", line);
	return -EINVAL;
}

/*
 * One device, one line: a guest process may move to another vCPU in the
 * middle of its command (each byte is an exit of whichever vCPU runs it).
 */
static struct {
	pthread_mutex_t lock;
	char line[256];
	unsigned int len;
	u8 answer;
} ctl = { .lock = PTHREAD_MUTEX_INITIALIZER };

void ctl_write(struct vcpu *vcpu, u8 val)
{
	int ret;

	pthread_mutex_lock(&ctl.lock);
	win.ctl_exits += win.on;
	if (val != '\n') {
		if (ctl.len < sizeof(ctl.line) - 1)
			ctl.line[ctl.len++] = val;
		pthread_mutex_unlock(&ctl.lock);
		return;
	}
	ctl.line[ctl.len] = 0;
	ctl.len = 0;
	ret = request(vcpu, ctl.line);
	ctl.answer = ret < 0 ? -ret : ret;
	pthread_mutex_unlock(&ctl.lock);
}

u8 ctl_read(struct vcpu *vcpu)
{
	u8 answer;

	pthread_mutex_lock(&ctl.lock);
	win.ctl_exits += win.on;
	answer = ctl.answer;
	pthread_mutex_unlock(&ctl.lock);
	return answer;
}

/* What a snapshot carries of the test device and the console. */
struct testdev_state {
	u64 stat_base[NR_APF_STATS];
	int results, failures, troubles, done;
	char line[256];
	unsigned int len;
	size_t con_len;
	char con_line[1024];
};

void testdev_save(struct vmm *vmm, struct snap *s)
{
	struct testdev_state t = {
		.results = results, .failures = failures,
		.troubles = troubles, .done = done,
		.len = ctl.len, .con_len = con.len,
	};
	int i;

	for (i = 0; i < NR_APF_STATS; i++)
		t.stat_base[i] = host_stat(vmm, i);
	memcpy(t.line, ctl.line, sizeof(t.line));
	memcpy(t.con_line, con.line, sizeof(t.con_line));
	snap_put(s, SNAP_TESTDEV, SNAP_VM, 0, &t, sizeof(t));
}

/*
 * The restored guest reads its "snap" request's answer here: which restore
 * this is (1, 2, ...; at most 255).
 */
void testdev_restore(struct vmm *vmm, const struct snap *s)
{
	struct testdev_state t;

	snap_get(s, SNAP_TESTDEV, SNAP_VM, 0, &t, sizeof(t));
	memcpy(stat_base, t.stat_base, sizeof(stat_base));
	results = t.results;
	failures = t.failures;
	troubles = t.troubles;
	done = t.done;
	memcpy(ctl.line, t.line, sizeof(ctl.line));
	ctl.len = t.len < sizeof(ctl.line) ? t.len : 0;
	memcpy(con.line, t.con_line, sizeof(con.line));
	con.len = t.con_len < sizeof(con.line) ? t.con_len : 0;
	ctl.answer = vmm->round > 255 ? 255 : vmm->round;
}

/* At the end of the run (-T): the verdict, as the exit status. */
int test_verdict(struct vmm *vmm)
{
	char why[64];

	if (vmm->apf_features & KVM_APF_FEATURE_VMM) {
		/*
		 * Every fault accepted was completed, or freed by KVM (the
		 * guest powering off): the VMM owes nothing.  The last ones
		 * may still be in their delay: the server completes them.
		 */
		int owed = mem_settle(vmm, 60);

		printf("vmm: VMM-driven: %lu fault(s) accepted, %lu completed, %lu %s\n",
		       vmm->accepted, vmm->completed, vmm->freed,
		       "freed by KVM first");
		snprintf(why, sizeof(why), "%lu accepted, %lu completed, %lu freed",
			 vmm->accepted, vmm->completed, vmm->freed);
		test_result("vmm_completed_every_accepted_fault", !owed, why);
	}
	snprintf(why, sizeof(why), "%d line(s) of kernel trouble", troubles);
	test_result("guest_log_clean", !troubles, troubles ? why : NULL);
	if (!done)
		test_result("guest_finished", 0, "the guest never said \"done\"");
	printf("vmm: %d result(s), %d failed\n", results, failures);
	return failures ? 1 : 0;
}
