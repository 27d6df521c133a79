/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemleak's debugfs file, and one command written to it: shared by the
 * harness /init (the baseline before the first test) and the leak check.
 */
#ifndef HARNESS_KMEMLEAK_H
#define HARNESS_KMEMLEAK_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define KMEMLEAK	"/sys/kernel/debug/kmemleak"

/* Returns 0, or -errno (-ENOENT: no kmemleak, or it is off). */
static inline int kmemleak_command(const char *cmd)
{
	int fd = open(KMEMLEAK, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n < 0 ? -errno : 0;
}

#endif
