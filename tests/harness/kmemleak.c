// SPDX-License-Identifier: GPL-2.0
/*
 * kmemleak_clean: the end-to-end tier's leak check, listed after every other
 * test.  The harness (init.c) had kmemleak scan and forget what boot left
 * before the first test ran, so what kmemleak reports now was allocated
 * while the tests ran (VMs created and destroyed with faults in flight,
 * memory-fault exits, error statuses) and is referenced from nowhere.
 *
 * kmemleak only reports objects older than its minimum age (5 s), and a
 * single scan can see a pointer in transit as no pointer at all, so this
 * waits past that age and scans twice, as
 * Documentation/dev-tools/kmemleak.rst advises.  Any report fails the test
 * and is printed whole (address, size, task, backtrace).
 *
 * A kernel without kmemleak (CONFIG_DEBUG_KMEMLEAK, booted kmemleak=on)
 * fails too: a leak check that cannot look is not a pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmemleak.h"

#define MIN_AGE_S	5	/* kmemleak's MSECS_MIN_AGE, and a margin */

/* The whole report, NUL-terminated (it has no size of its own). */
static char *report(void)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	int fd = open(KMEMLEAK, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		printf("open %s: %s\n", KMEMLEAK, strerror(errno));
		exit(1);
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf) {
				printf("out of memory for kmemleak's output\n");
				exit(1);
			}
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

int main(void)
{
	int leaks = 0, r, i;
	char *buf, *p;

	if (access(KMEMLEAK, R_OK)) {
		printf("no %s (%s): this kernel cannot be checked for leaks\n",
		       KMEMLEAK, strerror(errno));
		return 1;
	}
	sleep(MIN_AGE_S + 2);
	for (i = 0; i < 2; i++) {
		r = kmemleak_command("scan");
		if (r) {
			printf("kmemleak scan: %s\n", strerror(-r));
			return 1;
		}
	}
	buf = report();
	for (p = buf; (p = strstr(p, "unreferenced object")); p++)
		leaks++;
	fputs(buf, stdout);
	printf("kmemleak: %d unreferenced object%s since the tests began\n",
	       leaks, leaks == 1 ? "" : "s");
	return leaks ? 1 : 0;
}
