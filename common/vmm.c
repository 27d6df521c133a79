// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMM-driven async page faults: what the VMM calls, and the fault-side
 * choice of who resolves a fault.
 *
 * A VMM that serves guest memory itself (userfaultfd: lazy snapshot restore,
 * post-copy migration) knows better than KVM whether a missing page is a
 * short local copy or a long remote fetch.  With KVM_APF_FEATURE_VMM, a fault
 * on such memory that the guest could take as "page not present" is not
 * faulted in by KVM (its worker would only block in userfaultfd): it is an
 * async candidate, a VMM-owned item of the core (%KVM_APF_ITEM_USER) of
 * which the guest knows nothing yet, and KVM_RUN exits with it.  On the next
 * KVM_RUN the VMM has either resolved the page (the guest's retry finds it,
 * the guest never hears of the fault), accepted the fault (the guest is told
 * "not present" and the VMM completes the token later, from any thread:
 * KVM_APF_READY_BATCH), or done neither (the retry waits in userfaultfd,
 * as without the feature).  In exitless mode a vCPU with a ring accepts
 * every candidate at once and posts it there; a full ring falls back to the
 * exit.  Everything else (tokens, duplicates, the limit, errors, teardown)
 * is the core's, as for faults that KVM resolves.
 */
#include <linux/eventfd.h>
#include <linux/kvm_host.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <trace/events/kvm_apf.h>

/*
 * Does the VMM resolve a fault on @hva?  When it asked to, for memory it
 * registered with userfaultfd (missing or minor mode): a page missing
 * there would make KVM wait for the VMM.  Only a fault the guest can take
 * as "page not present" now: any other stays KVM's, as without the VMM.
 */
static bool vmm_resolves(struct kvm_vcpu *vcpu, unsigned long hva)
{
	const struct kvm_apf_ops *ops = vcpu->async_pf.ops;
	struct mm_struct *mm = vcpu->kvm->mm;
	struct vm_area_struct *vma;
	bool uffd;

	if (!ops->vmm_driven ||
	    !(READ_ONCE(vcpu->kvm->apf_features) & KVM_APF_FEATURE_VMM) ||
	    (ops->can_notify && !ops->can_notify(&vcpu->async_pf)))
		return false;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, hva);
	uffd = vma && (vma->vm_flags & (VM_UFFD_MISSING | VM_UFFD_MINOR));
	mmap_read_unlock(mm);
	return uffd;
}

/*
 * Post the fault of @token to the vCPU's ring.  The ring is the VMM's
 * memory: it is not faulted in here (the vCPU would wait with its mutex
 * held), so a ring that is not mapped and writable now is as good as full.
 * Return: 0, -ENOSPC if the ring is full, -EFAULT if KVM cannot reach it.
 */
static int ring_post(struct kvm_vcpu *vcpu, gfn_t gfn, u32 token)
{
	struct kvm_apf_vmm_ring *ring = &vcpu->async_pf.ring;
	struct kvm_apf_ring __user *r = u64_to_user_ptr(ring->addr);
	struct kvm_apf_notice notice = {
		.vcpu_id = vcpu->vcpu_id,
		.token = token,
		.gpa = gfn_to_gpa(gfn),
	};
	int ret = -EFAULT;
	u32 tail;

	pagefault_disable();
	if (get_user(tail, &r->tail))
		goto out;
	/*
	 * The VMM read the notices before it stored @tail (release): none
	 * of them is overwritten before this read.  A @tail the VMM corrupted
	 * makes the ring look full.
	 */
	smp_mb();
	if (ring->head - tail >= ring->entries) {
		ret = -ENOSPC;
		goto out;
	}
	if (copy_to_user(&r->notices[ring->head & (ring->entries - 1)],
			 &notice, sizeof(notice)))
		goto out;
	/* The notice before @head: pairs with the VMM's load-acquire. */
	smp_wmb();
	if (put_user(ring->head + 1, &r->head))
		goto out;
	ret = 0;
out:
	pagefault_enable();
	if (ret)
		return ret;
	ring->head++;
	if (ring->eventfd)
		eventfd_signal(ring->eventfd);
	return 0;
}

/**
 * kvm_async_pf_setup() - make a guest fault async, or hand it to the VMM
 * @vcpu: the vCPU, in its own context, on its fault path
 * @cr2_or_gpa: the faulting address, as the backend wants it back
 * @gfn: the faulting gfn
 * @hva: the host address of @gfn
 * @flags: as for kvm_apf_setup()
 * @arch: the backend's data
 *
 * The fault path of a backend with @vmm_driven ops: the guest can take
 * "page not present" now and the page is not ready.  If the VMM resolves
 * faults on @hva (vmm_resolves()), the fault is an async candidate: in
 * exitless mode it is posted to the vCPU's ring and taken at once (the
 * guest is told "not present"); otherwise, or if the ring is full or out of
 * reach, a memory-fault exit with %KVM_MEMORY_EXIT_FLAG_ASYNC is prepared
 * for it.  Otherwise kvm_apf_setup() as usual.
 *
 * Return: 0 if the fault is now async; 1 if KVM_RUN must return -EFAULT
 * with the prepared exit; or kvm_apf_setup()'s -errno: the fault must be
 * handled synchronously.
 */
int kvm_async_pf_setup(struct kvm_vcpu *vcpu, gpa_t cr2_or_gpa, gfn_t gfn,
		       unsigned long hva, u32 flags,
		       const struct kvm_arch_async_pf *arch)
{
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	struct kvm_run *run = vcpu->run;
	int r;

	if (kvm_is_error_hva(hva) || !vmm_resolves(vcpu, hva))
		return kvm_apf_setup(apf, cr2_or_gpa, gfn, hva, flags, arch);

	r = kvm_apf_setup(apf, cr2_or_gpa, gfn, hva,
			  flags | KVM_APF_ITEM_USER | KVM_APF_ITEM_CANDIDATE,
			  arch);
	if (r)
		return r;
	if ((READ_ONCE(vcpu->kvm->apf_features) &
	     KVM_APF_FEATURE_VMM_EXITLESS) && apf->ring.addr) {
		r = ring_post(vcpu, gfn, apf->last_token);
		trace_kvm_apf_vmm_posted(vcpu->vcpu_id, apf->last_token, gfn, r);
		if (!r) {
			/* Taken at once: the guest is told "not present" now. */
			kvm_apf_decide(apf, true);
			kvm_apf_notify_accepted(apf);
			return 0;
		}
		if (r == -ENOSPC)
			apf->stats->apf_vmm_ring_full++;
	}

	apf->stats->apf_vmm_exit++;
	trace_kvm_apf_vmm_candidate(vcpu->vcpu_id, apf->last_token, gfn, 0);
	kvm_prepare_memory_fault_exit(vcpu, gfn_to_gpa(gfn), PAGE_SIZE,
				      flags & KVM_APF_ITEM_WRITE, false, false);
	run->memory_fault.flags |= KVM_MEMORY_EXIT_FLAG_ASYNC;
	run->memory_fault.token = apf->last_token;
	return 1;
}
EXPORT_SYMBOL_GPL(kvm_async_pf_setup);

/**
 * kvm_async_pf_vcpu_run() - KVM_RUN: the VMM's answer to an async candidate
 * @vcpu: the vCPU, its mutex held, before the arch's KVM_RUN
 *
 * If the vCPU's last exit was an async candidate, the VMM's answer is in
 * that exit: %KVM_MEMORY_EXIT_FLAG_ASYNC_ACCEPT in memory_fault.flags, with
 * memory_fault.token still the candidate's, accepts it; anything else does
 * not (kvm_apf_decide()).  Read once, at the first KVM_RUN after the exit.
 *
 * Return: 0; -EINVAL if the VMM accepted with a token that is not the
 * candidate's or in an exit that is not the candidate's: KVM_RUN fails and
 * nothing changed.
 */
int kvm_async_pf_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct kvm_apf_vcpu *apf = &vcpu->async_pf;
	struct kvm_run *run = vcpu->run;
	bool accept;
	u64 flags;

	if (!apf->deciding)
		return 0;
	flags = READ_ONCE(run->memory_fault.flags);
	accept = READ_ONCE(run->exit_reason) == KVM_EXIT_MEMORY_FAULT &&
		 (flags & KVM_MEMORY_EXIT_FLAG_ASYNC_ACCEPT);
	if (accept && (!(flags & KVM_MEMORY_EXIT_FLAG_ASYNC) ||
		       READ_ONCE(run->memory_fault.token) !=
		       apf->candidate->token))
		return -EINVAL;
	kvm_apf_decide(apf, accept);
	return 0;
}

/* One entry of KVM_APF_READY_BATCH: 0 or -errno. */
static int ready_one(struct kvm *kvm, const struct kvm_apf_ready *e)
{
	struct kvm_vcpu *vcpu;

	if (e->status > MAX_ERRNO)
		return -EINVAL;
	if (e->vcpu_id > INT_MAX)
		return -ESRCH;
	vcpu = kvm_get_vcpu_by_id(kvm, e->vcpu_id);
	if (!vcpu)
		return -ESRCH;
	return kvm_apf_user_ready(&vcpu->async_pf, e->token, -(int)e->status);
}

/*
 * KVM_APF_READY_BATCH: every entry is read, and its result written, before
 * any fault is completed, so that a bad pointer changes nothing.
 */
static long ready_batch(struct kvm *kvm, void __user *argp)
{
	struct kvm_apf_ready_batch batch;
	struct kvm_apf_ready __user *uentries;
	struct kvm_apf_ready *entries;
	long done = 0;
	u32 i;

	if (copy_from_user(&batch, argp, sizeof(batch)))
		return -EFAULT;
	if (batch.flags || !batch.nr || batch.nr > KVM_APF_READY_BATCH_MAX)
		return -EINVAL;
	uentries = u64_to_user_ptr(batch.entries);
	entries = vmemdup_array_user(uentries, batch.nr, sizeof(*entries));
	if (IS_ERR(entries))
		return PTR_ERR(entries);

	for (i = 0; i < batch.nr; i++) {
		if (put_user(0, &uentries[i].result)) {
			kvfree(entries);
			return -EFAULT;
		}
	}
	for (i = 0; i < batch.nr; i++) {
		/* Errno values are positive in the uAPI, as errno is. */
		entries[i].result = -ready_one(kvm, &entries[i]);
		done += !entries[i].result;
	}
	/* Writable a moment ago: only a VMM unmapping them meanwhile fails. */
	for (i = 0; i < batch.nr; i++)
		if (put_user(entries[i].result, &uentries[i].result))
			done = -EFAULT;
	kvfree(entries);
	return done;
}

/**
 * kvm_async_pf_vm_ioctl() - the layer's VM ioctls
 * @kvm: the VM
 * @ioctl: KVM_APF_READY_BATCH
 * @arg: its struct kvm_apf_ready_batch, in user memory
 *
 * Any thread, while the VM's vCPUs run: no vCPU mutex is taken.
 *
 * Return: the number of entries that completed a fault, or -errno: -EINVAL
 * for flags or a count out of range, -EFAULT for bad pointers (nothing
 * completed, unless the entries were unmapped while the call ran), -ENOTTY
 * where the backend is not @vmm_driven (s390).
 */
long kvm_async_pf_vm_ioctl(struct kvm *kvm, unsigned int ioctl,
			   unsigned long arg)
{
	if (ioctl != KVM_APF_READY_BATCH || !kvm_arch_apf_ops.vmm_driven)
		return -ENOTTY;
	return ready_batch(kvm, (void __user *)arg);
}

/**
 * kvm_async_pf_ring_release() - forget the vCPU's notice ring
 * @vcpu: the vCPU, its mutex held, or being destroyed
 */
void kvm_async_pf_ring_release(struct kvm_vcpu *vcpu)
{
	struct kvm_apf_vmm_ring *ring = &vcpu->async_pf.ring;

	if (ring->eventfd)
		eventfd_ctx_put(ring->eventfd);
	memset(ring, 0, sizeof(*ring));
}

/* KVM_APF_SET_RING: on any error the old ring stays. */
static int set_ring(struct kvm_vcpu *vcpu, const struct kvm_apf_ring_setup *s)
{
	struct kvm_apf_vmm_ring *ring = &vcpu->async_pf.ring;
	struct kvm_apf_ring __user *r = u64_to_user_ptr(s->addr);
	struct eventfd_ctx *eventfd = NULL;

	if (s->flags || s->pad)
		return -EINVAL;
	if (!s->addr) {
		kvm_async_pf_ring_release(vcpu);
		return 0;
	}
	if (!IS_ALIGNED(s->addr, 8) || !is_power_of_2(s->entries) ||
	    s->entries > KVM_APF_RING_MAX)
		return -EINVAL;
	if (s->eventfd != -1) {
		eventfd = eventfd_ctx_fdget(s->eventfd);
		if (IS_ERR(eventfd))
			return PTR_ERR(eventfd);
	}
	/* Head, tail and notices zeroed: the whole ring is writable now. */
	if (clear_user(r, struct_size(r, notices, s->entries))) {
		if (eventfd)
			eventfd_ctx_put(eventfd);
		return -EFAULT;
	}
	kvm_async_pf_ring_release(vcpu);
	ring->addr = s->addr;
	ring->entries = s->entries;
	ring->eventfd = eventfd;
	return 0;
}

/* KVM_APF_GET_OWED */
static int get_owed(struct kvm_vcpu *vcpu, struct kvm_apf_owed __user *argp)
{
	struct kvm_apf_owed owed;
	struct kvm_apf_notice *notices;
	u32 room, n;
	int r = 0;

	if (copy_from_user(&owed, argp, sizeof(owed)))
		return -EFAULT;
	if (owed.flags)
		return -EINVAL;
	room = min(owed.nr, vcpu->async_pf.max);
	notices = kvmalloc_array(room ?: 1, sizeof(*notices), GFP_KERNEL);
	if (!notices)
		return -ENOMEM;
	n = kvm_apf_owed(&vcpu->async_pf, notices, room);
	if (n > owed.nr)
		r = -E2BIG;
	else if (copy_to_user(u64_to_user_ptr(owed.entries), notices,
			      n * sizeof(*notices)))
		r = -EFAULT;
	kvfree(notices);
	if (r != -EFAULT && put_user(n, &argp->nr))
		r = -EFAULT;
	return r;
}

/**
 * kvm_async_pf_vcpu_ioctl() - the layer's vCPU ioctls
 * @vcpu: the vCPU, its mutex held
 * @ioctl: KVM_APF_COMPLETE, KVM_APF_SET_RING or KVM_APF_GET_OWED
 * @arg: its argument, in user memory
 *
 * Return: 0 or -errno (for KVM_APF_COMPLETE, kvm_apf_complete()'s); -EFAULT
 * for a bad @arg, -EINVAL for flags or padding that are not 0; -ENOTTY for
 * the VMM-driven ones where the backend is not @vmm_driven (s390).
 */
long kvm_async_pf_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			     unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct kvm_apf_completion c;
	struct kvm_apf_ring_setup s;

	if (ioctl != KVM_APF_COMPLETE && !kvm_arch_apf_ops.vmm_driven)
		return -ENOTTY;
	switch (ioctl) {
	case KVM_APF_COMPLETE:
		if (copy_from_user(&c, argp, sizeof(c)))
			return -EFAULT;
		if (c.flags || c.pad)
			return -EINVAL;
		return kvm_apf_complete(&vcpu->async_pf, c.token, c.status);
	case KVM_APF_SET_RING:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		return set_ring(vcpu, &s);
	case KVM_APF_GET_OWED:
		return get_owed(vcpu, argp);
	default:
		return -ENOTTY;
	}
}
