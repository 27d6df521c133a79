/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arm64 guest side of async PF: SMCCC vendor-hypervisor calls, an SDEI event
 * for "not present", a PPI for "page ready".  The host backend does not
 * exist yet, so the host side reports the arch unsupported and the tests
 * skip; the guest functions are never reached.
 */
#include "processor.h"
#include "ucall_common.h"

static inline const char *apf_arch_unsupported(void)
{
	return "no arm64 async PF backend in this kernel yet";
}

static inline void apf_arch_vm_setup(struct kvm_vm *vm)
{
}

static inline void guest_apf_enable(void)
{
	GUEST_FAIL("arm64 async PF is not implemented");
}

static inline void guest_apf_disable(void)
{
}

static inline bool guest_apf_try_enable_errors(void)
{
	GUEST_FAIL("arm64 async PF is not implemented");
	return false;
}

static inline u64 guest_apf_bad_enables(void)
{
	GUEST_FAIL("arm64 async PF is not implemented");
	return 0;
}
