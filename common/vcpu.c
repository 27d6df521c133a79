// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic async PF entry points on a struct kvm_vcpu, whose async_pf is
 * the core's state (struct kvm_apf_vcpu): its creation and destruction by
 * the generic vCPU code with the arch's ops, and the calls arch code has
 * always made (upstream's names, from virt/kvm/async_pf.c).
 */
#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <linux/uaccess.h>

/* Async faults in flight per vCPU (x86's limit was a hard 64). */
static unsigned int apf_max_per_vcpu = KVM_APF_DEFAULT_MAX;
module_param(apf_max_per_vcpu, uint, 0444);
MODULE_PARM_DESC(apf_max_per_vcpu,
		 "Most async page faults in flight per vCPU (1-4096, default 64)");

/**
 * kvm_async_pf_vcpu_init() - set up a new vCPU's async PF state
 * @vcpu: the vCPU, before kvm_arch_vcpu_create()
 *
 * Called by the generic vCPU creation for every arch that selects
 * KVM_ASYNC_PF, with the arch's backend (%kvm_arch_apf_ops).
 *
 * Return: 0, or -errno from kvm_apf_vcpu_init().
 */
int kvm_async_pf_vcpu_init(struct kvm_vcpu *vcpu)
{
	u32 max = clamp_val(apf_max_per_vcpu, 1, KVM_APF_MAX_LIMIT);

	return kvm_apf_vcpu_init(&vcpu->async_pf, &kvm_arch_apf_ops,
				 vcpu->kvm->mm, &vcpu->stat.generic.apf,
				 vcpu->vcpu_id, max);
}

/**
 * kvm_async_pf_vcpu_destroy() - free a vCPU's async PF state
 * @vcpu: the vCPU, after kvm_arch_vcpu_destroy()
 *
 * Waits for every fault-in still running and frees every fault.
 */
void kvm_async_pf_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_apf_vcpu_destroy(&vcpu->async_pf);
}

/**
 * kvm_async_pf_has_completions() - completed faults wait for the vCPU
 * @vcpu: the vCPU
 *
 * Return: kvm_apf_has_completions() of its state.
 */
bool kvm_async_pf_has_completions(struct kvm_vcpu *vcpu)
{
	return kvm_apf_has_completions(&vcpu->async_pf);
}

/**
 * kvm_async_pf_gfn_to_hva() - the host address that backs a gfn now
 * @apf: the state of a vCPU set up with kvm_async_pf_vcpu_init()
 * @gfn: the gfn, in the vCPU's address space
 *
 * The backends' @gfn_to_hva op.  vCPU context.
 *
 * Return: the hva, or an error hva if no memslot holds @gfn.
 */
unsigned long kvm_async_pf_gfn_to_hva(struct kvm_apf_vcpu *apf, gfn_t gfn)
{
	struct kvm_vcpu *vcpu = container_of(apf, struct kvm_vcpu, async_pf);
	unsigned long hva;
	int idx;

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	hva = kvm_vcpu_gfn_to_hva(vcpu, gfn);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	return hva;
}
EXPORT_SYMBOL_GPL(kvm_async_pf_gfn_to_hva);

/**
 * kvm_async_pf_vcpu_ioctl() - the layer's vCPU ioctls
 * @vcpu: the vCPU, its mutex held
 * @ioctl: KVM_APF_COMPLETE
 * @arg: its struct kvm_apf_completion, in user memory
 *
 * Return: 0 or -errno (kvm_apf_complete()); -EFAULT for a bad @arg,
 * -EINVAL for flags or padding that are not 0.
 */
long kvm_async_pf_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			     unsigned long arg)
{
	struct kvm_apf_completion c;

	if (ioctl != KVM_APF_COMPLETE)
		return -ENOTTY;
	if (copy_from_user(&c, (void __user *)arg, sizeof(c)))
		return -EFAULT;
	if (c.flags || c.pad)
		return -EINVAL;
	return kvm_apf_complete(&vcpu->async_pf, c.token, c.status);
}

/**
 * kvm_check_async_pf_completion() - deliver completed async faults
 * @vcpu: the vCPU, in its own context
 *
 * Return: 0, or -EFAULT with a memory-fault exit prepared for a fault that
 * cannot be resolved (KVM_RUN must return it).
 */
int kvm_check_async_pf_completion(struct kvm_vcpu *vcpu)
{
	struct kvm_apf_failure *failed = &vcpu->async_pf.failed;
	int r = kvm_apf_check_completion(&vcpu->async_pf);

	if (r)
		kvm_apf_prepare_error_exit(vcpu, gfn_to_gpa(failed->gfn),
					   PAGE_SIZE, failed->error,
					   failed->token);
	return r;
}

/**
 * kvm_clear_async_pf_completion_queue() - drop every async fault
 * @vcpu: the vCPU, in its own context
 */
void kvm_clear_async_pf_completion_queue(struct kvm_vcpu *vcpu)
{
	kvm_apf_clear(&vcpu->async_pf);
}

/**
 * kvm_async_pf_wakeup_all() - queue a "page ready" that wakes every task
 * @vcpu: the vCPU, in its own context
 *
 * Return: 0 or -ENOMEM.
 */
int kvm_async_pf_wakeup_all(struct kvm_vcpu *vcpu)
{
	return kvm_apf_wakeup_all(&vcpu->async_pf);
}
