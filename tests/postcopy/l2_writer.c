// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the L2 guest that scripts/postcopy.sh migrates: WRITERS processes
 * each fill a buffer of its own with a pattern that changes every round and
 * verify it, while a counter process computes, until a line arrives on the
 * console (the harness sends one once the migration is over and every
 * writer has done its rounds after it).  Output, one line each:
 *
 *   L2 START writers=N mib=M       the writers are about to run
 *   L2 ROUND w=I r=R               writer I verified round R
 *   L2 CORRUPT w=I r=R off=O want=X got=Y   a word read back wrong
 *   L2 OK rounds=N counter=C      every writer stopped with its data intact
 *
 * Then reboots; QEMU runs with -no-reboot, so that ends it.
 * Kernel command line (passed in the environment): l2_writers=N (default 2),
 * l2_mib=M (total buffer, default 200), l2_max_s=S (stop on its own after S
 * seconds of guest time, default 1800: a harness that never asks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITERS	8

typedef unsigned long long u64;

/* Shared between the processes: every access is a relaxed atomic one. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

struct shared {
	int stop;
	u64 rounds[MAX_WRITERS];
	u64 counter;
};

static struct shared *sh;

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line, so that lines of different writers never mix. */
	if (write(1, buf, n) < 0)
		return;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

static u64 pattern(int w, u64 round, size_t i)
{
	u64 x = ((u64)w << 56) ^ (round * 0x9e3779b97f4a7c15ULL) ^ i;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

static int writer(int w, size_t bytes)
{
	size_t words = bytes / sizeof(u64), i;
	u64 *buf, round;

	buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		say("L2 CORRUPT w=%d mmap failed: %s", w, strerror(errno));
		return 2;
	}
	for (round = 1; !READ_ONCE(sh->stop); round++) {
		for (i = 0; i < words; i++)
			buf[i] = pattern(w, round, i);
		for (i = 0; i < words; i++) {
			u64 want = pattern(w, round, i);

			if (buf[i] != want) {
				say("L2 CORRUPT w=%d r=%llu off=%#zx want=%#llx got=%#llx",
				    w, (unsigned long long)round, i * 8,
				    (unsigned long long)want,
				    (unsigned long long)buf[i]);
				return 1;
			}
		}
		WRITE_ONCE(sh->rounds[w], round);
		say("L2 ROUND w=%d r=%llu", w, (unsigned long long)round);
	}
	return 0;
}

static int counter(void)
{
	u64 x = 1;

	while (!READ_ONCE(sh->stop)) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		WRITE_ONCE(sh->counter, READ_ONCE(sh->counter) + 1);
	}
	return x == 0;	/* keeps x live; never true in practice */
}

static void finish(void)
{
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

int main(void)
{
	int writers = env_long("l2_writers", 2);
	long mib = env_long("l2_mib", 200), max_s = env_long("l2_max_s", 1800);
	pid_t pids[MAX_WRITERS + 1], p;
	int i, bad = 0, status, done[MAX_WRITERS + 1] = { 0 };
	u64 total = 0;
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	char c;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	if (writers < 1 || writers > MAX_WRITERS)
		writers = 2;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		say("L2 CORRUPT shared mmap failed");
		finish();
	}
	say("L2 START writers=%d mib=%ld", writers, mib);
	for (i = 0; i <= writers; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(i < writers ?
			      writer(i, (size_t)mib * 1048576 / writers) :
			      counter());
		if (pids[i] < 0) {
			say("L2 CORRUPT fork failed: %s", strerror(errno));
			finish();
		}
	}
	/*
	 * Wait for the harness's line (any byte), or for a writer that ends on
	 * its own (corruption), or for the time limit.
	 */
	for (;;) {
		int r = poll(&pfd, 1, 1000);

		if (r > 0 && read(0, &c, 1) >= 0)
			break;
		p = waitpid(-1, &status, WNOHANG);
		if (p > 0) {
			for (i = 0; i <= writers; i++)
				if (pids[i] == p)
					done[i] = 1;
			say("L2 CORRUPT child %d ended early with status %#x",
			    (int)p, status);
			bad = 1;
			break;
		}
		if (max_s && --max_s == 0)
			break;
	}
	WRITE_ONCE(sh->stop, 1);
	for (i = 0; i <= writers; i++) {
		if (!done[i] && waitpid(pids[i], &status, 0) == pids[i] &&
		    (!WIFEXITED(status) || WEXITSTATUS(status))) {
			say("L2 CORRUPT child %d ended with status %#x", i,
			    status);
			bad = 1;
		}
	}
	for (i = 0; i < writers; i++)
		total += READ_ONCE(sh->rounds[i]);
	if (!bad)
		say("L2 OK rounds=%llu counter=%llu",
		    (unsigned long long)total,
		    (unsigned long long)READ_ONCE(sh->counter));
	finish();
	return 0;
}
