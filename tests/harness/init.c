// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the end-to-end initramfs: mounts what the tests need, runs every
 * test listed in /tests/list, one after another, and prints one KTAP report:
 * each test's own output nested (indented four spaces) under its result line.
 * Then reboots, which makes QEMU (run with -no-reboot) exit.  A test that
 * runs past its timeout is killed (with its whole process group) and
 * reported "not ok ... # TIMEOUT".
 *
 * /tests/list: one test a line, "NAME TIMEOUT_S PROGRAM [ARGS...]"
 * (PROGRAM relative to /tests).  Exit status 4 (KSFT_SKIP) means skipped.
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

#include "kmemleak.h"

#define MAX_TESTS	64
#define MAX_ARGS	32
#define KSFT_SKIP	4

struct test {
	char *name;
	int timeout;
	char *argv[MAX_ARGS + 1];
};

static struct test tests[MAX_TESTS];
static int ntests;

static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* Print one /proc file, each line prefixed, to the console: how many lines. */
static int dump_file(const char *path, const char *prefix)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f) && ++n)
		out("# %s%s", prefix, buf);
	fclose(f);
	return n;
}

/* Write @val to a tracefs file; errors are ignored (no tracing: no trace). */
static void trace_write(const char *file, const char *val)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0)
		;
	close(fd);
}

/*
 * The last lines of a second of KVM's and our tracepoints, while a test that
 * hangs still runs: what its vCPUs do (a loop that never leaves the kernel
 * shows its events; a vCPU waiting on something shows none).
 */
static void dump_trace(void)
{
	static char lines[64][256];
	char buf[256];
	int n = 0, i;
	FILE *f;

	mkdir("/sys/kernel/tracing", 0755);
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	trace_write("buffer_size_kb", "256");
	trace_write("trace", "");
	trace_write("events/kvm/enable", "1");
	trace_write("events/kvm_apf/enable", "1");
	trace_write("tracing_on", "1");
	sleep(1);
	trace_write("tracing_on", "0");
	trace_write("events/kvm/enable", "0");
	trace_write("events/kvm_apf/enable", "0");
	f = fopen("/sys/kernel/tracing/trace", "r");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		if (buf[0] != '#')
			snprintf(lines[n++ % 64], sizeof(lines[0]), "%s", buf);
	fclose(f);
	out("# trace: %d events in 1 s, the last %d:\n", n, n < 64 ? n : 64);
	for (i = n < 64 ? 0 : n - 64; i < n; i++)
		out("#   %s", lines[i % 64]);
	trace_write("trace", "");
}

/*
 * A test past its timeout: where each of its threads is (state, system
 * call and kernel stack; a running thread's stack is sampled until it is
 * caught off its CPU), and KVM's trace, so that a hang can be triaged from
 * the log.
 */
static void dump_threads(pid_t pid)
{
	char path[64], dpath[384];
	struct dirent *d;
	int tries;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		out("# thread %s of %d:\n", d->d_name, pid);
		snprintf(dpath, sizeof(dpath), "%s/%s/stat", path, d->d_name);
		dump_file(dpath, "  stat: ");
		snprintf(dpath, sizeof(dpath), "%s/%s/syscall", path, d->d_name);
		dump_file(dpath, "  syscall: ");
		snprintf(dpath, sizeof(dpath), "%s/%s/stack", path, d->d_name);
		for (tries = 0; tries < 200 && !dump_file(dpath, "  "); tries++)
			usleep(10000);
	}
	closedir(dir);
}

/* The process group of @pid: the test and every process it started. */
static void dump_stacks(pid_t pid)
{
	char path[300], buf[512], *p;
	struct dirent *d;
	int pgrp, fd;
	ssize_t n;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) state ppid pgrp ...": comm may hold spaces. */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %*c %*d %d", &pgrp) == 1 && pgrp == pid)
			dump_threads(atoi(d->d_name));
	}
	closedir(dir);
	dump_trace();
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
	mkdir("/sys/kernel/debug", 0755);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
}

/*
 * If kmemleak is on, have it scan and forget what boot left unreferenced,
 * so that the leak check listed last (kmemleak.c) sees only the tests'.
 */
static void kmemleak_baseline(void)
{
	static const char *const cmds[] = { "scan", "clear" };
	int i, r;

	for (i = 0; i < 2; i++) {
		r = kmemleak_command(cmds[i]);
		if (r == -ENOENT || r == -EPERM)	/* not built in, or off */
			return;
		if (r)
			out("# kmemleak %s: %s\n", cmds[i], strerror(-r));
	}
}

static int load_list(const char *path)
{
	static char buf[16384];
	char *line, *save = NULL;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct test *t = &tests[ntests];
		char *tok, *s2 = NULL;
		int argc = 0;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (ntests == MAX_TESTS)
			return -E2BIG;
		t->name = strtok_r(line, " ", &s2);
		tok = strtok_r(NULL, " ", &s2);
		if (!t->name || !tok)
			return -EINVAL;
		t->timeout = atoi(tok);
		while ((tok = strtok_r(NULL, " ", &s2)) && argc < MAX_ARGS)
			t->argv[argc++] = tok;
		if (!argc || t->timeout <= 0)
			return -EINVAL;
		t->argv[argc] = NULL;
		ntests++;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copy the child's output to the console, each line indented by 4. */
static void relay(int fd, char *line, size_t *len, size_t cap)
{
	char buf[4096];
	ssize_t n, i;

	n = read(fd, buf, sizeof(buf));
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || *len == cap - 1) {
			line[*len] = '\0';
			out("    %s\n", line);
			*len = 0;
			if (buf[i] == '\n')
				continue;
		}
		line[(*len)++] = buf[i];
	}
}

/* Returns 0 pass, 1 fail, 2 skip. */
static int run_test(int num, struct test *t)
{
	char line[1024], reason[128] = "";
	size_t len = 0;
	int pipefd[2], status = 0, done = 0, exited = 0;
	double deadline, start;
	pid_t pid;

	out("# running %s\n", t->name);
	if (pipe(pipefd)) {
		out("not ok %d %s # pipe: %s\n", num, t->name, strerror(errno));
		return 1;
	}
	start = now();
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		if (chdir("/tests"))
			_exit(127);
		execv(t->argv[0], t->argv);
		fprintf(stderr, "exec %s: %s\n", t->argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	deadline = start + t->timeout;

	while (!done) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int ms = (int)((deadline - now()) * 1000);

		if (ms <= 0) {
			dump_stacks(pid);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			snprintf(reason, sizeof(reason), "TIMEOUT after %d s",
				 t->timeout);
			break;
		}
		if (poll(&p, 1, ms < 500 ? ms : 500) > 0) {
			if (p.revents & POLLIN)
				relay(pipefd[0], line, &len, sizeof(line));
			else if (p.revents & (POLLHUP | POLLERR))
				done = 1;
		} else if (waitpid(pid, &status, WNOHANG) == pid) {
			/* Exited, but a straggler holds the pipe open. */
			exited = 1;
			done = 1;
		}
	}
	if (len) {
		line[len] = '\0';
		out("    %s\n", line);
	}
	close(pipefd[0]);
	if (!exited)
		waitpid(pid, &status, 0);
	/* Reap anything the test left behind in its process group. */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;

	out("# %s took %.1f s\n", t->name, now() - start);
	if (reason[0]) {
		out("not ok %d %s # %s\n", num, t->name, reason);
		return 1;
	}
	if (WIFSIGNALED(status)) {
		out("not ok %d %s # killed by signal %d\n", num, t->name,
		    WTERMSIG(status));
		return 1;
	}
	if (WEXITSTATUS(status) == KSFT_SKIP) {
		out("ok %d %s # SKIP\n", num, t->name);
		return 2;
	}
	if (WEXITSTATUS(status)) {
		out("not ok %d %s # exit status %d\n", num, t->name,
		    WEXITSTATUS(status));
		return 1;
	}
	out("ok %d %s\n", num, t->name);
	return 0;
}

int main(void)
{
	int i, r, counts[3] = { 0 };

	setup_mounts();
	setvbuf(stdout, NULL, _IOLBF, 0);
	kmemleak_baseline();
	r = load_list("/tests/list");

	out("KTAP version 1\n");
	if (r) {
		out("1..0 # bad /tests/list: %s\n", strerror(-r));
		out("Bail out! bad test list\n");
	} else {
		out("1..%d\n", ntests);
		for (i = 0; i < ntests; i++)
			counts[run_test(i + 1, &tests[i])]++;
		out("# e2e: %d passed, %d failed, %d skipped\n",
		    counts[0], counts[1], counts[2]);
	}
	out("# e2e: done\n");
	sync();
	reboot(RB_AUTOBOOT);	/* QEMU runs with -no-reboot: it exits */
	return 0;
}
