/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * apf_exit_trace.h: the bench's exit accounting (issue 17), from KVM's own
 * tracepoints, which our kernel and the unmodified base both have:
 *
 *   kvm/kvm_exit        every exit and its reason (x86: "npf", "intr",
 *                       "msr", "hlt", ...; arm64: "IRQ" or the trap's
 *                       exception class, "DABT_LOW", "HVC64", "WFx", ...)
 *   kvm/kvm_msr         x86: which MSR an "msr" exit wrote (the "page
 *                       ready" ACK, the x2APIC EOI)
 *   kvm/kvm_hvc_arm64   arm64: which call an "HVC64" exit made (the ACK,
 *                       the SDEI handler's completion)
 *   kvm/kvm_hypercall   x86: which hypercall a "vmmcall" exit made
 *   kvm/kvm_sys_access  arm64: which system register a "SYS64" exit
 *                       accessed
 *   ipi/ipi_send_cpu    every IPI and the function that sent it (the kick
 *                       that makes a vCPU in the guest exit, a scheduler's
 *                       wake-up), keyed "ipi.FUNCTION"
 *
 * exit_trace_start() clears the trace and turns these events on, for the
 * window only (with @timing, also kvm_entry, sched_switch and the core's
 * kvm_apf_not_present and kvm_apf_ready: the host's time per fault,
 * exit_trace_time()); exit_trace_stop() ends the window (when the bench
 * reads its counters); exit_trace_print() prints the counts by key
 * (" trace=exit.npf:12,msr_write.4b564d07:5,... trace_lost=N") on the
 * bench's line.  The report subtracts the ceiling run's counts (the exits
 * the window has anyway: timer ticks, housekeeping) and splits the rest by
 * cause per async fault.  Only the bench's VM runs meanwhile, so every KVM
 * event in the buffer is its.  The reference VMM (tests/vmm) uses it too,
 * for the windows its Linux guest asks for ("trace start", "trace stop").
 */
#ifndef APF_EXIT_TRACE_H
#define APF_EXIT_TRACE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <linux/kernel.h>
#include <linux/types.h>

#include "apf_file.h"

#define EXIT_TRACE_DIR	"/sys/kernel/tracing/"
#define EXIT_TRACE_KEYS	64
#define EXIT_TRACE_KEY	40

static const char * const exit_trace_events[] = {
	"events/kvm/kvm_exit/enable",		/* must exist */
	"events/kvm/kvm_msr/enable",		/* x86 */
	"events/kvm/kvm_hvc_arm64/enable",	/* arm64 */
	"events/ipi/ipi_send_cpu/enable",	/* who sent each IPI */
	"events/kvm/kvm_hypercall/enable",	/* x86: which hypercall */
	"events/kvm/kvm_sys_access/enable",	/* arm64: which register */
};

/* With exit_trace_start(true): the host's time per fault (the scale run). */
static const char * const exit_trace_timing_events[] = {
	"events/kvm/kvm_entry/enable",
	"events/kvm_apf/kvm_apf_not_present/enable",
	"events/kvm_apf/kvm_apf_ready/enable",
	"events/sched/sched_switch/enable",	/* off the CPU meanwhile */
};

static bool exit_trace_on, exit_trace_timing;

/*
 * The host's time per fault, from the timestamps: an exit whose handling
 * told the guest "not present" (kvm_apf_not_present before the thread's
 * next kvm_entry) counts its exit-to-entry time as set-up, shared by the
 * faults it told; one that delivered "page ready" (kvm_apf_ready) as
 * completion.  Per vCPU thread (the line's PID), EXIT_TRACE_THREADS at most;
 * the time the thread spent off its CPU in between (sched_switch: another
 * vCPU's thread ran, where they share one) does not count.
 */
#define EXIT_TRACE_THREADS	8

static struct {
	struct {
		long pid;
		double exit_ts;		/* its last exit; < 0: none yet */
		double off_ts;		/* switched out since it; < 0: not */
		double off_s;		/* time off the CPU since it */
		unsigned long np, ready;	/* told since it */
	} th[EXIT_TRACE_THREADS];
	int nth;
	double setup_s, done_s, off_s;
	double in_s, in_wall_s;		/* every exit: on the CPU, in all */
	unsigned long setup_n, done_n, unkeyed;
} exit_trace_t;

/* The index of @pid's thread in exit_trace_t, added if new; -1: full. */
static inline int exit_trace_thread(long pid)
{
	int i;

	for (i = 0; i < exit_trace_t.nth && exit_trace_t.th[i].pid != pid; i++)
		;
	if (i == exit_trace_t.nth) {
		if (i == EXIT_TRACE_THREADS) {
			exit_trace_t.unkeyed++;
			return -1;
		}
		exit_trace_t.th[i].pid = pid;
		exit_trace_t.th[i].exit_ts = -1;
		exit_trace_t.th[i].off_ts = -1;
		exit_trace_t.nth++;
	}
	return i;
}

/* The index of @pid's thread if it is between an exit and its entry. */
static inline int exit_trace_in_exit(long pid)
{
	int i;

	for (i = 0; i < exit_trace_t.nth; i++)
		if (exit_trace_t.th[i].pid == pid)
			return exit_trace_t.th[i].exit_ts >= 0 ? i : -1;
	return -1;
}

/*
 * "prev_comm=apf_bench prev_pid=12 prev_prio=120 prev_state=R ==>
 * next_comm=kworker/0:1 next_pid=34 next_prio=120": a vCPU thread in an
 * exit going off its CPU, or coming back.
 */
static inline void exit_trace_switch(const char *line, double ts)
{
	const char *p = strstr(line, " prev_pid="), *n = strstr(line, " next_pid=");
	int i;

	if (!p || !n)
		return;
	i = exit_trace_in_exit(strtol(p + strlen(" prev_pid="), NULL, 10));
	if (i >= 0)
		exit_trace_t.th[i].off_ts = ts;
	i = exit_trace_in_exit(strtol(n + strlen(" next_pid="), NULL, 10));
	if (i >= 0 && exit_trace_t.th[i].off_ts >= 0) {
		exit_trace_t.th[i].off_s += ts - exit_trace_t.th[i].off_ts;
		exit_trace_t.th[i].off_ts = -1;
	}
}

static inline void exit_trace_time(const char *line)
{
	const char *p = strstr(line, "] "), *q = strstr(line, " [");
	bool exit = strstr(line, " kvm_exit: "), entry = strstr(line, " kvm_entry: ");
	bool np = strstr(line, " kvm_apf_not_present: ");
	bool ready = strstr(line, " kvm_apf_ready: ");
	bool sw = strstr(line, " sched_switch: ");
	long pid = -1;
	double ts, on;
	int i;

	/* "  apf_bench-123  [001] d..1.  1234.567890: kvm_exit: ..." */
	if (!(exit || entry || np || ready || sw) || !p || !q ||
	    sscanf(p + 2, "%*s %lf:", &ts) != 1)
		return;
	if (sw) {
		exit_trace_switch(line, ts);
		return;
	}
	while (q > line && q[-1] == ' ')
		q--;
	while (q > line && q[-1] >= '0' && q[-1] <= '9')
		q--;
	if (q > line && q[-1] == '-')
		pid = strtol(q, NULL, 10);
	i = exit_trace_thread(pid);
	if (i < 0)
		return;
	if (exit) {
		exit_trace_t.th[i].exit_ts = ts;
		exit_trace_t.th[i].off_ts = -1;
		exit_trace_t.th[i].off_s = 0;
		exit_trace_t.th[i].np = 0;
		exit_trace_t.th[i].ready = 0;
	} else if (np) {
		exit_trace_t.th[i].np++;
	} else if (ready) {
		exit_trace_t.th[i].ready++;
	} else if (exit_trace_t.th[i].exit_ts >= 0) {
		on = ts - exit_trace_t.th[i].exit_ts - exit_trace_t.th[i].off_s;
		exit_trace_t.in_s += on;
		exit_trace_t.in_wall_s += ts - exit_trace_t.th[i].exit_ts;
		if (exit_trace_t.th[i].np) {
			exit_trace_t.setup_s += on;
			exit_trace_t.setup_n += exit_trace_t.th[i].np;
		}
		if (exit_trace_t.th[i].ready) {
			exit_trace_t.done_s += on;
			exit_trace_t.done_n += exit_trace_t.th[i].ready;
		}
		if (exit_trace_t.th[i].np || exit_trace_t.th[i].ready)
			exit_trace_t.off_s += exit_trace_t.th[i].off_s;
		exit_trace_t.th[i].exit_ts = -1;
	}
}

static inline bool exit_trace_write(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), EXIT_TRACE_DIR "%s", file);
	return write_str(path, val, O_TRUNC);
}

/* tracefs mounted, tracing off; false without tracefs. */
static inline bool exit_trace_mount(void)
{
	mkdir(EXIT_TRACE_DIR, 0755);
	if (mount("tracefs", EXIT_TRACE_DIR, "tracefs", 0, NULL) &&
	    errno != EBUSY)
		return false;
	return exit_trace_write("tracing_on", "0");
}

/*
 * Returns whether the window is traced (no tracefs, no kvm_exit: not).
 * @timing: also the events of the host's time per fault.
 */
static inline bool exit_trace_start(bool timing)
{
	unsigned int i;

	if (!exit_trace_mount())
		return false;
	/*
	 * Per CPU: room for about 100,000 events, a window's few thousand;
	 * twelve times that for the timing run's 65,536 faults (4 vCPUs with
	 * 4096 in flight, 4 batches), about ten events each with the
	 * scheduler's switches.
	 */
	exit_trace_write("buffer_size_kb", timing ? "98304" : "8192");
	exit_trace_write("trace", "");
	exit_trace_on = exit_trace_write(exit_trace_events[0], "1");
	for (i = 1; exit_trace_on && i < ARRAY_SIZE(exit_trace_events); i++)
		exit_trace_write(exit_trace_events[i], "1");
	exit_trace_timing = exit_trace_on && timing;
	for (i = 0; i < ARRAY_SIZE(exit_trace_timing_events); i++)
		exit_trace_write(exit_trace_timing_events[i],
				 exit_trace_timing ? "1" : "0");
	memset(&exit_trace_t, 0, sizeof(exit_trace_t));
	return exit_trace_on && exit_trace_write("tracing_on", "1");
}

/* The key of one trace line into @key; false if it is none of ours. */
static inline bool exit_trace_key(const char *line, char *key, size_t size)
{
	const char *p, *q;
	unsigned long long v;

	p = strstr(line, "kvm_exit: ");
	if (p) {
		p += strlen("kvm_exit: ");
		if (!strncmp(p, "vcpu ", 5)) {
			/* x86: "vcpu 0 reason npf rip ..." */
			p = strstr(p, "reason ");
			if (!p)
				return false;
			p += strlen("reason ");
			snprintf(key, size, "exit.%.*s", (int)strcspn(p, "\n "), p);
			return true;
		}
		/* arm64: "TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: ..." */
		q = strncmp(p, "TRAP:", 5) ? NULL : strchr(p, '(');
		if (q) {
			q++;
			snprintf(key, size, "exit.%.*s", (int)strcspn(q, ")"), q);
		} else {
			snprintf(key, size, "exit.%.*s", (int)strcspn(p, ":\n "), p);
		}
		return true;
	}
	p = strstr(line, "kvm_msr: ");
	if (p) {
		/* "msr_write 4b564d07 = 0x1" */
		p += strlen("kvm_msr: ");
		q = strchr(p, ' ');
		if (!q)
			return false;
		v = strtoull(q + 1, NULL, 16);
		snprintf(key, size, "%.*s.%llx", (int)(q - p), p, v);
		return true;
	}
	p = strstr(line, "ipi_send_cpu: ");
	if (p) {
		/* "cpu=1 callsite=kvm_vcpu_kick+0x6c/0x90 callback=0x0" */
		p = strstr(p, "callsite=");
		if (!p)
			return false;
		p += strlen("callsite=");
		snprintf(key, size, "ipi.%.*s", (int)strcspn(p, "+\n "), p);
		return true;
	}
	p = strstr(line, "kvm_hypercall: ");
	if (p) {
		/* "nr 0xb a0 0x1 a1 0x0 a2 0x0 a3 0x0" */
		p = strstr(p, "nr ");
		if (!p)
			return false;
		snprintf(key, size, "hc.%llx", strtoull(p + 3, NULL, 16));
		return true;
	}
	p = strstr(line, "kvm_sys_access: ");
	if (p) {
		/* "PC: ffff800080012345 ICC_IAR1_EL1 (3,0,12,12,0) read" */
		p = strstr(p, "PC: ");
		p = p ? strchr(p + 4, ' ') : NULL;
		if (!p)
			return false;
		p++;
		snprintf(key, size, "sys.%.*s", (int)strcspn(p, "\n "), p);
		return true;
	}
	p = strstr(line, "kvm_hvc_arm64: ");
	if (p) {
		/* "HVC at 0x... (r0: 0x00000000c4000026, imm: 0x0)" */
		p = strstr(p, "r0: ");
		if (!p)
			return false;
		v = strtoull(p + strlen("r0: "), NULL, 16);
		snprintf(key, size, "hvc.%llx", v);
		return true;
	}
	return false;
}

/* The window's end: no event is recorded after it. */
static inline void exit_trace_stop(void)
{
	exit_trace_write("tracing_on", "0");
}

/*
 * Appends the counts to the bench's line: " trace=
 * KEY:N,..." and " trace_lost=N" (the events the buffer dropped: if not 0,
 * the counts are short).  Nothing if the window was not traced.
 */
static inline void exit_trace_print(void)
{
	char keys[EXIT_TRACE_KEYS][EXIT_TRACE_KEY];
	unsigned long counts[EXIT_TRACE_KEYS] = { 0 };
	unsigned long in_buf, written, lost = 0, other = 0;
	char line[512], key[EXIT_TRACE_KEY];
	int n = 0, i;
	FILE *f;

	if (!exit_trace_on)
		return;
	exit_trace_stop();
	exit_trace_on = false;
	f = fopen(EXIT_TRACE_DIR "trace", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			/* "# entries-in-buffer/entries-written: 3120/3120" */
			if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
				   &in_buf, &written) == 2)
				lost = written - in_buf;
			continue;
		}
		if (exit_trace_timing)
			exit_trace_time(line);
		if (!exit_trace_key(line, key, sizeof(key)))
			continue;
		for (i = 0; i < n && strcmp(keys[i], key); i++)
			;
		if (i == n && n == EXIT_TRACE_KEYS) {
			other++;
			continue;
		}
		if (i == n)
			snprintf(keys[n++], EXIT_TRACE_KEY, "%s", key);
		counts[i]++;
	}
	fclose(f);
	exit_trace_write("trace", "");
	printf(" trace=%s", n || other ? "" : "none");
	for (i = 0; i < n; i++)
		printf("%s%s:%lu", i ? "," : "", keys[i], counts[i]);
	if (other)
		printf("%sunsorted:%lu", n ? "," : "", other);
	printf(" trace_lost=%lu", lost);
	if (!exit_trace_timing)
		return;
	printf(" setup_ns=%.0f setup_n=%lu done_ns=%.0f done_n=%lu",
	       exit_trace_t.setup_n ?
	       exit_trace_t.setup_s * 1e9 / exit_trace_t.setup_n : 0,
	       exit_trace_t.setup_n, exit_trace_t.done_n ?
	       exit_trace_t.done_s * 1e9 / exit_trace_t.done_n : 0,
	       exit_trace_t.done_n);
	/* The vCPU threads' time off their CPU inside those exits. */
	printf(" off_cpu_ms=%.0f threads=%d unkeyed=%lu",
	       exit_trace_t.off_s * 1e3, exit_trace_t.nth,
	       exit_trace_t.unkeyed);
	/* The vCPU threads out of their guest: on their CPU, and in all. */
	printf(" in_exits_ms=%.1f in_exits_wall_ms=%.1f",
	       exit_trace_t.in_s * 1e3, exit_trace_t.in_wall_s * 1e3);
}

/*
 * One event alone, for a test that counts it by guest physical address:
 * gpa_trace_start(@event, "kvm/kvm_guest_fault") traces it from a clear
 * buffer; gpa_trace_count() ends that, and counts the lines whose address
 * (the number after @key) falls on each of @pages pages from @gpa into
 * @per_page.  Returns the events the buffer lost (if not 0, the counts are
 * short), or -1 if @event could not be traced.
 */
static inline bool gpa_trace_event(const char *event, const char *val)
{
	char file[64];

	snprintf(file, sizeof(file), "events/%s/enable", event);
	return exit_trace_write(file, val);
}

static inline bool gpa_trace_start(const char *event)
{
	return exit_trace_mount() && exit_trace_write("buffer_size_kb", "1024") &&
	       exit_trace_write("trace", "") && gpa_trace_event(event, "1") &&
	       exit_trace_write("tracing_on", "1");
}

static inline long gpa_trace_count(const char *event, const char *key,
				   u64 gpa, u64 pages, unsigned int *per_page)
{
	unsigned long in_buf, written, lost = 0;
	unsigned long long addr;
	char line[512];
	const char *p;
	FILE *f;

	exit_trace_write("tracing_on", "0");
	gpa_trace_event(event, "0");
	memset(per_page, 0, pages * sizeof(*per_page));
	f = fopen(EXIT_TRACE_DIR "trace", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
			   &in_buf, &written) == 2)
			lost = written - in_buf;
		p = line[0] == '#' ? NULL : strstr(line, key);
		if (!p)
			continue;
		addr = strtoull(p + strlen(key), NULL, 16);
		if (addr >= gpa && addr < gpa + pages * getpagesize())
			per_page[(addr - gpa) / getpagesize()]++;
	}
	fclose(f);
	exit_trace_write("trace", "");
	return lost;
}

#endif /* APF_EXIT_TRACE_H */
