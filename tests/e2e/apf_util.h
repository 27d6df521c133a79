/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side helpers shared by the async PF e2e tests and the benchmark.
 */
#ifndef APF_UTIL_H
#define APF_UTIL_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "ucall_common.h"
#include "apf_file.h"

/* Run @vcpu to its next ucall; a guest assertion fails the test. */
static inline u64 run_to_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	vcpu_run(vcpu);
	if (get_ucall(vcpu, uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(*uc);
	return uc->cmd;
}

/*
 * A vCPU thread (pthread_create()'s @vcpu): run the guest to its end,
 * GUEST_DONE().  For tests with several vCPUs at once.
 */
static inline void *run_to_done(void *vcpu)
{
	struct ucall uc;

	TEST_ASSERT_EQ(run_to_ucall(vcpu, &uc), UCALL_DONE);
	return NULL;
}

/*
 * A binary stat by name from a stats fd; false if this kernel has no such
 * stat (the unmodified base kernel has no apf_* counters).  Reading a stats
 * fd does not take the vCPU's mutex, so it works while KVM_RUN runs.
 */
static inline bool read_stat(int fd, const char *name, u64 *val)
{
	struct kvm_stats_header header;
	struct kvm_stats_desc *descs, *d;
	bool found = false;
	int i;

	read_stats_header(fd, &header);
	descs = read_stats_descriptors(fd, &header);
	for (i = 0; i < header.num_desc && !found; i++) {
		d = get_stats_descriptor(descs, i, &header);
		if (!strcmp(d->name, name)) {
			read_stat_data(fd, &header, d, val, 1);
			found = true;
		}
	}
	free(descs);
	return found;
}

/* The same for a vCPU that is not running (the fd is opened by ioctl). */
static inline bool vcpu_stat(struct kvm_vcpu *vcpu, const char *name, u64 *val)
{
	int fd = vcpu_get_stats_fd(vcpu);
	bool found = read_stat(fd, name, val);

	close(fd);
	return found;
}

#endif /* APF_UTIL_H */
