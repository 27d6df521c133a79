/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writing a sysfs, debugfs or tracefs file in one go: shared by the e2e
 * tests (apf_util.h), the bench's exit trace and the reference VMM
 * (apf_exit_trace.h), which has no selftests library.
 */
#ifndef APF_FILE_H
#define APF_FILE_H

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* Write @s to the file at @path (open(2) @flags besides O_WRONLY), whole. */
static inline bool write_str(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

#endif /* APF_FILE_H */
