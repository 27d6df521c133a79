// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the VMM sees of the async PF layer, the same on every architecture:
 * the KVM_CAP_APF_FEATURES capability and the error form of the
 * KVM_EXIT_MEMORY_FAULT exit (numbers in include/uapi/linux/kvm.h).
 *
 * An unresolvable fault used to give the VMM a bare -EFAULT, and an async
 * PF guest an endless "ready" and re-fault.  Now every such fault, whether
 * KVM met it synchronously (the arch's fault path) or in an async fault's
 * fault-in (the core), leaves KVM_RUN with -EFAULT and a memory-fault exit
 * that says which gpa failed and why.  The VMM alone can tell what backs
 * that gpa (a truncated file, a failed remote read) and fix it or give up;
 * if it re-enters without fixing it, the vCPU exits the same way again.
 */
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/kvm_host.h>

/**
 * kvm_apf_prepare_error_exit() - describe an unresolvable fault to the VMM
 * @vcpu: the vCPU whose KVM_RUN returns -EFAULT next
 * @gpa: the guest physical address that could not be made present
 * @size: the size of the region it belongs to (a page)
 * @error: why, a -errno (e.g. -EFAULT for a truncated file)
 * @token: the async fault's token, or 0 if the fault was not async
 *
 * Hardware poison does not come here: it keeps its SIGBUS to the VMM.
 */
void kvm_apf_prepare_error_exit(struct kvm_vcpu *vcpu, gpa_t gpa, u64 size,
				int error, u32 token)
{
	struct kvm_run *run = vcpu->run;

	/* Upstream's writer of the exit, then what the error form adds. */
	kvm_prepare_memory_fault_exit(vcpu, gpa, size, false, false, false);
	run->memory_fault.flags |= KVM_MEMORY_EXIT_FLAG_ERROR;
	/* Errno values are positive in the uAPI, as errno is. */
	run->memory_fault.error = error < 0 && error >= -MAX_ERRNO ? -error : EFAULT;
	run->memory_fault.token = token;
}
EXPORT_SYMBOL_GPL(kvm_apf_prepare_error_exit);

/**
 * kvm_apf_features() - the layer's features on this host
 *
 * Return: the value of KVM_CHECK_EXTENSION(KVM_CAP_APF_FEATURES), a mask of
 * KVM_APF_FEATURE_*.
 */
u32 kvm_apf_features(void)
{
	u32 features = KVM_APF_FEATURE_ERROR_EXIT;

	if (IS_ENABLED(CONFIG_KVM_ASYNC_PF))
		features |= KVM_APF_FEATURE_ASYNC_PF;
	if (IS_ENABLED(CONFIG_KVM_APF_GUEST_ERROR))
		features |= KVM_APF_FEATURE_GUEST_ERROR;
#ifdef CONFIG_KVM_ASYNC_PF
	if (IS_ENABLED(CONFIG_USERFAULTFD) && kvm_arch_apf_ops.vmm_driven)
		features |= KVM_APF_FEATURE_VMM | KVM_APF_FEATURE_VMM_EXITLESS;
#endif
	return features;
}
EXPORT_SYMBOL_GPL(kvm_apf_features);

/**
 * kvm_apf_enable_cap() - KVM_ENABLE_CAP(KVM_CAP_APF_FEATURES) on a VM
 * @kvm: the VM
 * @cap: args[0] is the set of features the VM may use, a subset of
 *	KVM_APF_FEATURES_ENABLE that this host offers
 *	(%KVM_APF_FEATURE_VMM_EXITLESS only with %KVM_APF_FEATURE_VMM); the
 *	other args and flags must be 0
 *
 * Letting a guest learn why a fault failed is the VMM's choice, not only
 * the guest's: an error status could reveal a host problem to the guest.
 *
 * Return: 0, or -EINVAL for unknown or unoffered bits (nothing changed).
 */
int kvm_apf_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	u64 allowed = KVM_APF_FEATURES_ENABLE & kvm_apf_features();

	if (cap->flags || cap->args[0] & ~allowed || cap->args[1] ||
	    cap->args[2] || cap->args[3])
		return -EINVAL;
	if ((cap->args[0] & KVM_APF_FEATURE_VMM_EXITLESS) &&
	    !(cap->args[0] & KVM_APF_FEATURE_VMM))
		return -EINVAL;
	WRITE_ONCE(kvm->apf_features, cap->args[0]);
	return 0;
}
EXPORT_SYMBOL_GPL(kvm_apf_enable_cap);

/**
 * kvm_apf_enabled_features() - what the VMM enabled on a VM
 * @kvm: the VM
 *
 * Return: the value of KVM_CHECK_EXTENSION(KVM_CAP_APF_FEATURES_ENABLED) on
 * the VM: the features KVM_ENABLE_CAP(KVM_CAP_APF_FEATURES) enabled, 0 on
 * a new VM.
 */
u32 kvm_apf_enabled_features(struct kvm *kvm)
{
	return READ_ONCE(kvm->apf_features);
}
EXPORT_SYMBOL_GPL(kvm_apf_enabled_features);

/**
 * kvm_apf_guest_error_allowed() - may the guest opt in to error status?
 * @kvm: the VM
 *
 * Return: true if the VMM enabled %KVM_APF_FEATURE_GUEST_ERROR.
 */
bool kvm_apf_guest_error_allowed(struct kvm *kvm)
{
	return READ_ONCE(kvm->apf_features) & KVM_APF_FEATURE_GUEST_ERROR;
}
EXPORT_SYMBOL_GPL(kvm_apf_guest_error_allowed);

#ifdef CONFIG_KVM_APF_KUNIT_TEST
#include "tests/uapi_kunit.h"
#endif
