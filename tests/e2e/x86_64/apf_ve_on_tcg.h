/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86 only, no arm64 twin: KVM offers "not present" as #VE on Intel; QEMU's
 * TCG emulates an AMD CPU, which has no #VE, but delivers an injected
 * vector 20 all the same, so on a TCG host KVM can be told to offer it
 * (kvm.apf_ve_on_amd, Documentation/api.rst).  Shared by apf_ve_test and
 * the reference VMM's -G (tests/vmm/x86_64.c), which has no selftests
 * library.
 */
#ifndef APF_VE_ON_TCG_H
#define APF_VE_ON_TCG_H

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "apf_file.h"

#define APF_VE_PARAM	"/sys/module/kvm/parameters/apf_ve_on_amd"

/* QEMU's TCG names itself in the hypervisor leaf: "TCGTCGTCGTCG". */
static inline bool apf_host_is_tcg(void)
{
	unsigned int sig[3];

	/* Not <cpuid.h>: its __cpuid() is the selftests library's too. */
	asm volatile("cpuid" : "=b"(sig[0]), "=c"(sig[1]), "=d"(sig[2])
		     : "a"(0x40000000), "c"(0) : "memory");
	return !memcmp(sig, "TCGTCGTCGTCG", sizeof(sig));
}

/* kvm.apf_ve_on_amd: 'Y', 'N', or 0 without the parameter. */
static inline char apf_ve_param(void)
{
	int fd = open(APF_VE_PARAM, O_RDONLY);
	char c = 0;

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 0;
		close(fd);
	}
	return c;
}

/*
 * On a TCG host whose KVM does not offer #VE yet, turn kvm.apf_ve_on_amd
 * on.  Returns whether this call did: the caller turns it off again when it
 * is done (apf_ve_on_tcg_restore()), so that other programs see the
 * default.
 */
static inline bool apf_ve_on_tcg(void)
{
	return apf_host_is_tcg() && apf_ve_param() == 'N' &&
	       write_str(APF_VE_PARAM, "Y", 0);
}

/* Undo apf_ve_on_tcg(); false if the parameter could not be written. */
static inline bool apf_ve_on_tcg_restore(void)
{
	return write_str(APF_VE_PARAM, "N", 0);
}

#endif /* APF_VE_ON_TCG_H */
