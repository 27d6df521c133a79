// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the L1 initramfs of scripts/postcopy.sh: migrates a Linux guest
 * (L2) with postcopy between two QEMUs in this VM, RUNS times, and prints
 * one KTAP line per migration with what became of the guest:
 *
 *   ok      the destination guest's writers verified their buffers, rounds
 *           after the migration included, and said "L2 OK"
 *   oops    a kernel BUG/oops/WARNING/panic in L2's console (either side)
 *   corrupt a writer read back a word it had not written ("L2 CORRUPT")
 *   reset   the guest reset (QEMU, run with -no-reboot, shut down) before
 *           its verdict
 *   hang    a phase ran past its time limit: boot, migration, or the rounds
 *           after it
 *   error   the harness could not run the migration (QEMU would not start,
 *           QMP said error, the migration failed)
 *
 * One run: the source QEMU boots L2 (tests/postcopy/l2_writer.c is its
 * /init); once every writer has verified a round, the destination QEMU is
 * started with -incoming defer, both get postcopy-ram, the source gets
 * max-postcopy-bandwidth (and both "events", for MIGRATION events), the
 * migration goes over a unix socket and is switched to postcopy as soon as
 * it is active.  Once the source reports
 * "completed", each writer must verify AFTER more rounds on the
 * destination; then the harness sends a line to L2's console, which stops
 * the writers and makes L2 print its verdict and reboot.  Every wait is on
 * an event (a console line, a QMP event or reply, a QEMU exit) with a
 * deadline.
 *
 * QMP is on each QEMU's stdin/stdout; L2's serial console on a pair of FIFOs
 * (QEMU's "pipe" chardev).  Settings come from /etc/postcopy.conf, one
 * "key=value" a line: runs, first (number of the first run), bw (postcopy
 * bandwidth, MiB/s), mem (L2 MiB), smp, after (rounds after the migration),
 * boot_s, mig_s, after_s (phase limits), l2_args (extra L2 command line);
 * pc_runs=N and pc_first=K on L1's command line override runs and first.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QEMU_BIN	"/usr/bin/qemu-system-x86_64"
#define MIG_SOCK	"/tmp/mig.sock"
#define MAX_WRITERS	8
#define LINE_MAX_LEN	1024
#define CON_KEEP	(256 * 1024)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The QMP commands, one JSON line each. */
#define QMP_CAPS \
	"{\"execute\": \"migrate-set-capabilities\", \"arguments\": " \
	"{\"capabilities\": [{\"capability\": \"postcopy-ram\", " \
	"\"state\": true}, {\"capability\": \"events\", \"state\": true}]}}"
#define QMP_INCOMING \
	"{\"execute\": \"migrate-incoming\", \"arguments\": " \
	"{\"uri\": \"unix:" MIG_SOCK "\"}}"
#define QMP_BANDWIDTH \
	"{\"execute\": \"migrate-set-parameters\", \"arguments\": " \
	"{\"max-postcopy-bandwidth\": %lld}}"
#define QMP_MIGRATE \
	"{\"execute\": \"migrate\", \"arguments\": " \
	"{\"uri\": \"unix:" MIG_SOCK "\"}}"
#define QMP_INFO_REGISTERS \
	"{\"execute\": \"human-monitor-command\", \"arguments\": " \
	"{\"command-line\": \"info registers\", \"cpu-index\": %d}}"

enum result { RES_OK, RES_OOPS, RES_HANG, RES_CORRUPT, RES_RESET, RES_ERROR, RES_NR };

static const char *const result_name[RES_NR] = {
	"ok", "oops", "hang", "corrupt", "reset", "error"
};

static struct {
	int runs, first, bw, mem, smp, after, boot_s, mig_s, after_s;
	char l2_args[512];
} cfg = {
	.runs = 1, .first = 1, .bw = 8, .mem = 512, .smp = 2, .after = 2,
	.boot_s = 300, .mig_s = 600, .after_s = 600,
};

struct qemu {
	const char *name;	/* "src" or "dst" */
	pid_t pid;
	int qmp_in, qmp_out;	/* our ends: write commands, read replies */
	int ser_in, ser_out;	/* our ends of L2's console FIFOs */
	int err_fd;		/* QEMU's stderr, a file */
	char qbuf[LINE_MAX_LEN * 8], sbuf[LINE_MAX_LEN];
	size_t qlen, slen;
	int exited;		/* its QMP stdout hit EOF */
	int reply;		/* 0 waiting, 1 return, -1 error */
	char reply_line[LINE_MAX_LEN * 8];
	char mig_status[32];	/* from MIGRATION events */
	int shutdown, reset, stop;
	char shutdown_reason[64];
	char *con;		/* L2's console as seen through this QEMU */
	size_t con_len;
};

/* What the consoles said, both sides together. */
static struct {
	int started;
	long long rounds[MAX_WRITERS];
	int writers;
	int ok, corrupt, oops;
	char verdict[256];
	char oops_line[256];
} l2;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void read_config(void)
{
	char line[1024], *v;
	FILE *f = fopen("/etc/postcopy.conf", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		v = strchr(line, '=');
		if (!v)
			continue;
		*v++ = 0;
		if (!strcmp(line, "l2_args"))
			snprintf(cfg.l2_args, sizeof(cfg.l2_args), "%s", v);
#define INT_KEY(k) else if (!strcmp(line, #k)) cfg.k = atoi(v)
		INT_KEY(runs);
		INT_KEY(first);
		INT_KEY(bw);
		INT_KEY(mem);
		INT_KEY(smp);
		INT_KEY(after);
		INT_KEY(boot_s);
		INT_KEY(mig_s);
		INT_KEY(after_s);
#undef INT_KEY
	}
	fclose(f);
}

/* The kernel hands unknown "key=value" parameters to init as environment. */
static void read_env(void)
{
	const char *v;

	v = getenv("pc_runs");
	if (v)
		cfg.runs = atoi(v);
	v = getenv("pc_first");
	if (v)
		cfg.first = atoi(v);
}

static void setup_mounts(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

#define TRACEFS		"/sys/kernel/tracing/"
#define TRACE_TAIL	100

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0)
		out("# %s: %s\n", path, strerror(errno));
	close(fd);
}

/*
 * L1's own record of what KVM did to L2, in an overwriting ring buffer:
 * every exit, every exception and interrupt injected, and our async PF
 * events.  A VM that triple faults loses its state (KVM INITs the vCPU on
 * a shutdown intercept); the last events before it say how it got there.
 */
static void trace_setup(void)
{
	static const char *const events[] = {
		"kvm_apf", "kvm/kvm_exit", "kvm/kvm_inj_exception",
		"kvm/kvm_inj_virq", "kvm/kvm_msr", "kvm/kvm_async_pf_completed",
		"kvm/kvm_async_pf_not_present", "kvm/kvm_async_pf_ready",
		"kvm/kvm_async_pf_repeated_fault",
	};
	char p[128];
	size_t i;

	write_file(TRACEFS "buffer_size_kb", "4096");
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		snprintf(p, sizeof(p), TRACEFS "events/%s/enable", events[i]);
		write_file(p, "1");
	}
	write_file(TRACEFS "tracing_on", "1");
}

/* The last TRACE_TAIL lines of the trace. */
static void trace_dump(void)
{
	static char ring[TRACE_TAIL][256];
	char line[256];
	FILE *f = fopen(TRACEFS "trace", "r");
	long n = 0, i;

	if (!f)
		return;
	write_file(TRACEFS "tracing_on", "0");
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(ring[n++ % TRACE_TAIL], sizeof(ring[0]), "%s", line);
	}
	fclose(f);
	for (i = n > TRACE_TAIL ? n - TRACE_TAIL : 0; i < n; i++)
		out("# L1 trace: %s\n", ring[i % TRACE_TAIL]);
	write_file(TRACEFS "tracing_on", "1");
}

static void con_append(struct qemu *q, const char *line)
{
	size_t n = strlen(line);

	if (q->con_len + n + 2 > CON_KEEP)
		return;
	q->con = realloc(q->con, q->con_len + n + 2);
	if (!q->con)
		return;
	memcpy(q->con + q->con_len, line, n);
	q->con_len += n;
	q->con[q->con_len++] = '\n';
	q->con[q->con_len] = 0;
}

static int is_oops(const char *s)
{
	static const char *const marks[] = {
		"BUG:", "Oops:", "Kernel panic", "WARNING:",
		"general protection fault", "Call Trace:", "double fault",
		"invalid opcode:", "kernel BUG at",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(marks); i++)
		if (strstr(s, marks[i]))
			return 1;
	return 0;
}

static void serial_line(struct qemu *q, char *s)
{
	int w;
	long long r;

	s[strcspn(s, "\r")] = 0;
	con_append(q, s);
	if (strstr(s, "L2 START")) {
		l2.started = 1;
		if (sscanf(strstr(s, "L2 START"), "L2 START writers=%d",
			   &w) == 1 && w > 0 && w <= MAX_WRITERS)
			l2.writers = w;
	} else if (sscanf(s, "L2 ROUND w=%d r=%lld", &w, &r) == 2) {
		if (w >= 0 && w < MAX_WRITERS && r > l2.rounds[w])
			l2.rounds[w] = r;
	} else if (strstr(s, "L2 OK")) {
		l2.ok = 1;
		snprintf(l2.verdict, sizeof(l2.verdict), "%s",
			 strstr(s, "L2 OK"));
	} else if (strstr(s, "L2 CORRUPT")) {
		if (!l2.corrupt)
			snprintf(l2.verdict, sizeof(l2.verdict), "%s",
				 strstr(s, "L2 CORRUPT"));
		l2.corrupt = 1;
	} else if (is_oops(s) && !l2.oops) {
		l2.oops = 1;
		snprintf(l2.oops_line, sizeof(l2.oops_line), "%s: %s",
			 q->name, s);
	}
}

static void json_str(const char *line, const char *key, char *dst, size_t n)
{
	char pat[64];
	const char *p;
	size_t i = 0;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	p = strstr(line, pat);
	if (!p)
		return;
	p += strlen(pat);
	while (*p && *p != '"' && i + 1 < n)
		dst[i++] = *p++;
	dst[i] = 0;
}

static long long json_int(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(line, pat);
	return p ? atoll(p + strlen(pat)) : -1;
}

static void qmp_line(struct qemu *q, char *s)
{
	if (strstr(s, "\"event\"")) {
		if (strstr(s, "\"MIGRATION\"")) {
			json_str(s, "status", q->mig_status,
				 sizeof(q->mig_status));
		} else if (strstr(s, "\"SHUTDOWN\"")) {
			q->shutdown = 1;
			json_str(s, "reason", q->shutdown_reason,
				 sizeof(q->shutdown_reason));
		} else if (strstr(s, "\"RESET\"")) {
			q->reset = 1;
		} else if (strstr(s, "\"STOP\"")) {
			q->stop = 1;
		}
		return;
	}
	if (strstr(s, "\"QMP\"")) {	/* the greeting */
		q->reply = 1;
		return;
	}
	if (strstr(s, "\"return\"") || strstr(s, "\"error\"")) {
		snprintf(q->reply_line, sizeof(q->reply_line), "%s", s);
		q->reply = strstr(s, "\"error\"") && !strstr(s, "\"return\"") ?
			   -1 : 1;
	}
}

/* Reads what is there on fd, hands complete lines to fn; -1 on EOF. */
static int drain(struct qemu *q, int fd, char *buf, size_t *len, size_t cap,
		 void (*fn)(struct qemu *, char *))
{
	ssize_t n;
	char *nl;

	n = read(fd, buf + *len, cap - 1 - *len);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	*len += n;
	buf[*len] = 0;
	while ((nl = memchr(buf, '\n', *len))) {
		*nl = 0;
		fn(q, buf);
		*len -= nl + 1 - buf;
		memmove(buf, nl + 1, *len);
		buf[*len] = 0;
	}
	if (*len == cap - 1) {	/* a line too long: take it as it is */
		fn(q, buf);
		*len = 0;
	}
	return 0;
}

static struct qemu *qs[2];

/* Wait for events until cond() or the deadline; 0 if cond() became true. */
static int pump(double deadline, int (*cond)(void *), void *arg)
{
	struct pollfd pfd[4];
	struct qemu *who[4];
	int is_qmp[4], n, i, r;

	for (;;) {
		if (cond(arg))
			return 0;
		if (now() >= deadline)
			return -1;
		n = 0;
		for (i = 0; i < 2; i++) {
			if (!qs[i])
				continue;
			if (!qs[i]->exited) {
				pfd[n] = (struct pollfd){ .fd = qs[i]->qmp_out, .events = POLLIN };
				who[n] = qs[i];
				is_qmp[n++] = 1;
			}
			pfd[n] = (struct pollfd){ .fd = qs[i]->ser_out, .events = POLLIN };
			who[n] = qs[i];
			is_qmp[n++] = 0;
		}
		r = poll(pfd, n, 500);
		if (r < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < n && r > 0; i++) {
			struct qemu *q = who[i];

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (is_qmp[i]) {
				if (drain(q, q->qmp_out, q->qbuf, &q->qlen,
					  sizeof(q->qbuf), qmp_line) < 0)
					q->exited = 1;
			} else {
				drain(q, q->ser_out, q->sbuf, &q->slen,
				      sizeof(q->sbuf), serial_line);
			}
		}
	}
}

static int cond_reply(void *arg)
{
	struct qemu *q = arg;

	return q->reply || q->exited;
}

static int qmp(struct qemu *q, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	cmd[n++] = '\n';
	q->reply = 0;
	if (write(q->qmp_in, cmd, n) != n)
		return -1;
	if (pump(now() + 120, cond_reply, q) || q->reply != 1) {
		cmd[n - 1] = 0;
		out("# %s: QMP %s: %s\n", q->name, cmd,
		    q->reply ? q->reply_line : "no reply");
		return -1;
	}
	return 0;
}

static void mkfifos(const char *base)
{
	char p[80];

	snprintf(p, sizeof(p), "%s.in", base);
	unlink(p);
	mkfifo(p, 0600);
	snprintf(p, sizeof(p), "%s.out", base);
	unlink(p);
	mkfifo(p, 0600);
}

static struct qemu *qemu_start(const char *name, int slot, int incoming)
{
	struct qemu *q = calloc(1, sizeof(*q));
	char base[64], p[80], mem[16], smp[16], append[1024], chr[96];
	int in[2], outp[2];
	char *argv[64];
	int a = 0;

	q->name = name;
	snprintf(base, sizeof(base), "/tmp/%s-ser", name);
	mkfifos(base);
	snprintf(p, sizeof(p), "%s.out", base);
	q->ser_out = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s.in", base);
	q->ser_in = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	snprintf(p, sizeof(p), "/tmp/%s.err", name);
	q->err_fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC))
		return NULL;

	snprintf(mem, sizeof(mem), "%d", cfg.mem);
	snprintf(smp, sizeof(smp), "%d", cfg.smp);
	snprintf(append, sizeof(append),
		 "console=ttyS0 loglevel=5 panic=-1 kunit.enable=0 nokaslr %s",
		 cfg.l2_args);
	snprintf(chr, sizeof(chr), "pipe,id=ser0,path=%s", base);
	argv[a++] = QEMU_BIN;
	argv[a++] = "-nodefaults";
	argv[a++] = "-display";
	argv[a++] = "none";
	/* A guest reset (a triple fault) stops the VM and QEMU stays. */
	argv[a++] = "-no-reboot";
	argv[a++] = "-no-shutdown";
	argv[a++] = "-L";
	argv[a++] = "/usr/share/qemu";
	argv[a++] = "-machine";
	argv[a++] = "q35,accel=kvm";
	argv[a++] = "-cpu";
	argv[a++] = "qemu64,kvm-asyncpf-int=on";
	argv[a++] = "-smp";
	argv[a++] = smp;
	argv[a++] = "-m";
	argv[a++] = mem;
	argv[a++] = "-bios";
	argv[a++] = "qboot.rom";
	argv[a++] = "-kernel";
	argv[a++] = "/l2/bzImage";
	argv[a++] = "-initrd";
	argv[a++] = "/l2/initramfs.cpio";
	argv[a++] = "-append";
	argv[a++] = append;
	argv[a++] = "-chardev";
	argv[a++] = chr;
	argv[a++] = "-serial";
	argv[a++] = "chardev:ser0";
	argv[a++] = "-chardev";
	argv[a++] = "stdio,id=qmp0,signal=off";
	argv[a++] = "-mon";
	argv[a++] = "chardev=qmp0,mode=control";
	if (incoming) {
		argv[a++] = "-incoming";
		argv[a++] = "defer";
	}
	argv[a] = NULL;

	q->pid = fork();
	if (q->pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(q->err_fd, 2);
		setenv("LD_LIBRARY_PATH", "/lib/x86_64-linux-gnu", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	q->qmp_in = in[1];
	q->qmp_out = outp[0];
	fcntl(q->qmp_out, F_SETFL, O_NONBLOCK);
	if (q->pid < 0)
		return NULL;
	qs[slot] = q;
	/* The greeting, then capabilities negotiation. */
	q->reply = 0;
	if (pump(now() + 120, cond_reply, q) || q->exited ||
	    qmp(q, "{\"execute\": \"qmp_capabilities\"}"))
		q->exited = q->exited ? q->exited : 2;
	return q;
}

static void qemu_dump_err(struct qemu *q)
{
	char buf[2048];
	ssize_t n;
	char *line, *save;

	if (!q || q->err_fd < 0)
		return;
	n = pread(q->err_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		out("# %s stderr: %s\n", q->name, line);
}

/*
 * A VM that reset (with -no-shutdown, stopped where it reset): each vCPU's
 * registers as KVM had them at the reset, i.e. at L2's triple fault.  The
 * HMP output comes as one JSON string with escaped line ends; the FPU and
 * vector registers are left out.
 */
static void qemu_dump_regs(struct qemu *q)
{
	static const char *const skip[] = { "FPR", "FCW", "XMM", "YMM", "ZMM",
					    "Opmask", "MXCSR" };
	char *p, *end, *text;
	size_t i;
	int cpu;

	if (!q || q->exited || !q->shutdown)
		return;
	for (cpu = 0; cpu < cfg.smp; cpu++) {
		if (qmp(q, QMP_INFO_REGISTERS, cpu))
			return;
		text = strstr(q->reply_line, "\"return\": \"");
		if (!text)
			return;
		for (p = text + strlen("\"return\": \""); *p && *p != '"';
		     p = end) {
			end = strstr(p, "\\r\\n");
			if (!end)
				end = strstr(p, "\\n");
			if (!end)
				break;
			*end = 0;
			end += end[1] == 'r' ? 4 : 2;
			for (i = 0; i < ARRAY_SIZE(skip); i++)
				if (!strncmp(p, skip[i], strlen(skip[i])))
					break;
			if (i == ARRAY_SIZE(skip))
				out("# %s cpu%d at reset: %s\n", q->name, cpu, p);
		}
	}
}

/* The console lines worth showing: around the first oops, or the last. */
static void qemu_dump_console(struct qemu *q, int lines)
{
	char *c, *p, *start, *end;
	int n = 0, total = 0;

	if (!q || !q->con)
		return;
	c = strdup(q->con);
	if (!c)
		return;
	/* Count the lines that are not progress lines. */
	for (p = c; *p; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			break;
		if (!strstr(p, "L2 ROUND") || (end - p) > 40)
			total++;
	}
	start = NULL;
	for (p = c; *p; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			break;
		*end = 0;
		if (strstr(p, "L2 ROUND") && strlen(p) <= 40)
			continue;
		if (!start && is_oops(p))
			start = p;	/* from here on, everything */
		if (n++ >= total - lines || start)
			out("# %s l2: %s\n", q->name, p);
	}
	free(c);
}

static void qemu_stop(struct qemu *q)
{
	int status;

	if (!q)
		return;
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, &status, 0);
	}
	close(q->qmp_in);
	close(q->qmp_out);
	close(q->ser_in);
	close(q->ser_out);
	close(q->err_fd);
	free(q->con);
	free(q);
}

/* Our stats (apf_*) of the destination VM, from KVM's debugfs; "" if none. */
static void apf_stats(pid_t pid, char *buf, size_t n)
{
	static const char *const names[] = {
		"apf_not_present", "apf_ready", "apf_error",
		"apf_sync_fallback",
	};
	char pfx[32], p[512], v[32];
	struct dirent *de;
	size_t i, len = 0;
	DIR *d;
	int fd;
	ssize_t r;

	buf[0] = 0;
	d = opendir("/sys/kernel/debug/kvm");
	if (!d)
		return;
	snprintf(pfx, sizeof(pfx), "%d-", (int)pid);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, pfx, strlen(pfx)))
			continue;
		for (i = 0; i < ARRAY_SIZE(names); i++) {
			snprintf(p, sizeof(p), "/sys/kernel/debug/kvm/%s/%s",
				 de->d_name, names[i]);
			fd = open(p, O_RDONLY);
			if (fd < 0)
				continue;
			r = read(fd, v, sizeof(v) - 1);
			close(fd);
			if (r <= 0)
				continue;
			v[r] = 0;
			v[strcspn(v, "\n")] = 0;
			len += snprintf(buf + len, n - len, " %s=%s",
					names[i] + 4, v);
			if (len >= n)
				break;
		}
		break;
	}
	closedir(d);
}

static int cond_l2_running(void *arg)
{
	struct qemu *q = arg;
	int w;

	if (q->exited || q->shutdown || l2.oops || l2.corrupt)
		return 1;
	if (!l2.started || !l2.writers)
		return 0;
	for (w = 0; w < l2.writers; w++)
		if (l2.rounds[w] < 1)
			return 0;
	return 1;
}

static int cond_mig(void *arg)
{
	struct qemu **q = arg;
	const char *s = q[0]->mig_status;

	return q[0]->exited || q[1]->exited || q[1]->shutdown ||
	       l2.oops || l2.corrupt ||
	       !strcmp(s, "active") || !strcmp(s, "postcopy-active") ||
	       !strcmp(s, "completed") || !strcmp(s, "failed") ||
	       !strcmp(s, "cancelled");
}

static int cond_mig_done(void *arg)
{
	struct qemu **q = arg;
	const char *s = q[0]->mig_status;

	return q[0]->exited || q[1]->exited || q[1]->shutdown ||
	       !strcmp(s, "completed") || !strcmp(s, "failed") ||
	       !strcmp(s, "cancelled");
}

static long long after_target[MAX_WRITERS];

static int cond_after(void *arg)
{
	struct qemu *q = arg;
	int w;

	if (q->exited || q->shutdown || l2.oops || l2.corrupt || l2.ok)
		return 1;
	for (w = 0; w < l2.writers; w++)
		if (l2.rounds[w] < after_target[w])
			return 0;
	return 1;
}

static int cond_exited(void *arg)
{
	struct qemu *q = arg;

	return q->exited || q->shutdown;
}

static int cond_verdict(void *arg)
{
	struct qemu *q = arg;

	return q->exited || q->shutdown || l2.ok || l2.corrupt;
}

static enum result run_one(int idx, char *why, size_t wn)
{
	struct qemu *src = NULL, *dst = NULL, *pair[2];
	double t0 = now(), t_boot = 0, t_post = 0, t_done = 0;
	enum result res = RES_ERROR;
	char stats[256] = "", rounds_s[128] = "", times[128];
	long long post_req = -1, rounds_at_done = 0;
	int w, hung = 0;
	size_t n;

	memset(&l2, 0, sizeof(l2));
	unlink(MIG_SOCK);
	write_file(TRACEFS "trace", "");
	qs[0] = NULL;
	qs[1] = NULL;
	src = qemu_start("src", 0, 0);
	if (!src || src->exited) {
		snprintf(why, wn, "source QEMU did not start");
		goto out;
	}
	/* L2 boots, its writers each verify a round. */
	if (pump(t0 + cfg.boot_s, cond_l2_running, src)) {
		hung = 1;
		snprintf(why, wn, "L2 writers not running after %ds",
			 cfg.boot_s);
		goto out;
	}
	if (src->exited || src->shutdown || l2.oops || l2.corrupt) {
		snprintf(why, wn, "L2 failed before the migration");
		goto out;
	}
	t_boot = now();

	dst = qemu_start("dst", 1, 1);
	if (!dst || dst->exited) {
		snprintf(why, wn, "destination QEMU did not start");
		goto out;
	}
	pair[0] = src;
	pair[1] = dst;
	if (qmp(dst, QMP_CAPS) || qmp(dst, QMP_INCOMING) ||
	    qmp(src, QMP_CAPS) ||
	    qmp(src, QMP_BANDWIDTH, (long long)cfg.bw << 20) ||
	    qmp(src, QMP_MIGRATE)) {
		snprintf(why, wn, "QMP setup of the migration failed");
		goto out;
	}
	/* Switch to postcopy as soon as the migration is active. */
	if (pump(now() + cfg.mig_s, cond_mig, pair)) {
		hung = 1;
		snprintf(why, wn, "migration not active after %ds", cfg.mig_s);
		goto out;
	}
	if (!strcmp(src->mig_status, "active") &&
	    qmp(src, "{\"execute\": \"migrate-start-postcopy\"}")) {
		snprintf(why, wn, "migrate-start-postcopy failed");
		goto out;
	}
	t_post = now();
	if (pump(t_post + cfg.mig_s, cond_mig_done, pair)) {
		hung = 1;
		snprintf(why, wn, "migration not completed after %ds (src %s, dst %s)",
			 cfg.mig_s, src->mig_status, dst->mig_status);
		goto out;
	}
	if (strcmp(src->mig_status, "completed")) {
		snprintf(why, wn, "migration ended '%s'%s", src->mig_status,
			 dst->shutdown ? " (destination shut down)" : "");
		goto out;
	}
	t_done = now();
	if (!qmp(src, "{\"execute\": \"query-migrate\"}"))
		post_req = json_int(src->reply_line, "postcopy-requests");
	qmp(src, "{\"execute\": \"quit\"}");
	for (w = 0; w < l2.writers; w++) {
		after_target[w] = l2.rounds[w] + cfg.after;
		rounds_at_done += l2.rounds[w];
	}
	/* More rounds on the destination, then the verdict. */
	if (pump(now() + cfg.after_s, cond_after, dst)) {
		hung = 1;
		snprintf(why, wn, "writers did not do %d rounds after the migration in %ds",
			 cfg.after, cfg.after_s);
		goto out;
	}
	apf_stats(dst->pid, stats, sizeof(stats));
	if (!dst->exited && !l2.ok && !l2.corrupt &&
	    write(dst->ser_in, "q\n", 2) != 2)
		out("# dst: could not write to L2's console\n");
	if (pump(now() + cfg.after_s, cond_verdict, dst)) {
		hung = 1;
		snprintf(why, wn, "no verdict from L2 in %ds", cfg.after_s);
		goto out;
	}
	/* Until QEMU exits (L2 reboots), for anything printed after it. */
	pump(now() + 60, cond_exited, dst);
	snprintf(why, wn, "%s", l2.ok ? l2.verdict : "no verdict");
	res = l2.ok ? RES_OK : RES_ERROR;
out:
	if (l2.oops)
		res = RES_OOPS;
	else if (l2.corrupt)
		res = RES_CORRUPT;
	else if (res != RES_OK && ((src && src->shutdown && !dst) ||
				   (dst && (dst->shutdown || dst->reset))))
		res = RES_RESET;
	else if (hung)
		res = RES_HANG;
	n = 0;
	for (w = 0; w < l2.writers; w++)
		n += snprintf(rounds_s + n, sizeof(rounds_s) - n, "%s%lld",
			      w ? "," : "", l2.rounds[w]);
	/* One line, one write: the console may interleave kernel messages. */
	snprintf(times, sizeof(times),
		 "boot %.0fs, precopy %.0fs, postcopy %.0fs, after %.0fs, total %.0fs",
		 t_boot ? t_boot - t0 : 0, t_post ? t_post - t_boot : 0,
		 t_done ? t_done - t_post : 0, t_done ? now() - t_done : 0,
		 now() - t0);
	out("# run %d: %s; rounds %s (at completion %lld); postcopy-requests %lld;%s\n",
	    idx, times, rounds_s, rounds_at_done, post_req,
	    stats[0] ? stats : " apf stats n/a");
	if (res != RES_OK) {
		if (l2.oops)
			out("# first oops line: %s\n", l2.oops_line);
		if (l2.corrupt)
			out("# %s\n", l2.verdict);
		if (dst && dst->shutdown)
			out("# dst shut down: %s\n", dst->shutdown_reason);
		if (src && src->shutdown)
			out("# src shut down: %s\n", src->shutdown_reason);
		out("# src mig %s, dst mig %s\n", src ? src->mig_status : "-",
		    dst ? dst->mig_status : "-");
		qemu_dump_err(src);
		qemu_dump_err(dst);
		qemu_dump_regs(src);
		qemu_dump_regs(dst);
		if (res == RES_RESET || res == RES_OOPS || res == RES_HANG)
			trace_dump();
		qemu_dump_console(src, 30);
		qemu_dump_console(dst, 60);
	}
	qemu_stop(src);
	qemu_stop(dst);
	qs[0] = NULL;
	qs[1] = NULL;
	return res;
}

int main(void)
{
	int i, count[RES_NR] = { 0 }, failed = 0;
	enum result r;
	char why[512];

	setup_mounts();
	signal(SIGPIPE, SIG_IGN);
	read_config();
	read_env();
	trace_setup();
	out("KTAP version 1\n");
	out("# postcopy: %d runs from %d; L2 %d MiB, %d vCPUs, postcopy %d MiB/s, l2_args '%s'\n",
	    cfg.runs, cfg.first, cfg.mem, cfg.smp, cfg.bw, cfg.l2_args);
	if (access("/dev/kvm", R_OK | W_OK)) {
		out("# /dev/kvm: %s\n", strerror(errno));
		out("Bail out! no /dev/kvm in L1\n");
		goto end;
	}
	out("1..%d\n", cfg.runs);
	for (i = 0; i < cfg.runs; i++) {
		why[0] = 0;
		r = run_one(cfg.first + i, why, sizeof(why));
		count[r]++;
		if (r != RES_OK)
			failed++;
		out("%s %d run-%d # %s: %s\n", r == RES_OK ? "ok" : "not ok",
		    i + 1, cfg.first + i, result_name[r], why);
	}
	out("# postcopy: %d runs:", cfg.runs);
	for (i = 0; i < RES_NR; i++)
		out("%s %s %d", i ? "," : "", result_name[i], count[i]);
	out("\n# postcopy: L1 done (%d failed)\n", failed);
end:
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
