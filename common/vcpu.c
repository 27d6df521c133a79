// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic async PF entry points on a struct kvm_vcpu, whose async_pf is
 * the core's state (struct kvm_apf_vcpu): its creation and destruction by
 * the generic vCPU code with the arch's ops, and the calls arch code has
 * always made (upstream's names, from virt/kvm/async_pf.c).
 */
#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>
#include <kunit/static_stub.h>

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
 * KVM_ASYNC_PF, with the arch's backend (%kvm_arch_apf_ops).  The VM's
 * first vCPU also makes the queue of the VM's kernel fault-ins
 * (kvm_apf_alloc_wq()), which kvm_async_pf_vm_destroy() frees.
 *
 * Return: 0, -ENOMEM if that queue could not be made, or -errno from
 * kvm_apf_vcpu_init().
 */
int kvm_async_pf_vcpu_init(struct kvm_vcpu *vcpu)
{
	u32 limit = kvm_arch_apf_ops.max_in_flight ?: KVM_APF_MAX_LIMIT;
	u32 max = clamp_val(apf_max_per_vcpu, 1, min(limit, KVM_APF_MAX_LIMIT));
	struct kvm *kvm = vcpu->kvm;
	struct workqueue_struct *wq;

	/*
	 * The VM's queue, made with its first vCPU: vCPUs may be created
	 * concurrently, and the one that loses the race destroys its own.
	 * Acquire pairs with the cmpxchg's release: a queue seen is ready.
	 */
	wq = smp_load_acquire(&kvm->apf_wq);
	if (!wq) {
		wq = kvm_apf_alloc_wq();
		if (!wq)
			return -ENOMEM;
		if (cmpxchg_release(&kvm->apf_wq, NULL, wq)) {
			destroy_workqueue(wq);
			/* The winner's, ready (its cmpxchg's release). */
			wq = smp_load_acquire(&kvm->apf_wq);
		}
	}
	return kvm_apf_vcpu_init(&vcpu->async_pf, &kvm_arch_apf_ops, kvm->mm,
				 wq, &vcpu->stat.generic.apf, vcpu->vcpu_id,
				 max);
}

/**
 * kvm_async_pf_vm_destroy() - free what the VM's async PF shares
 * @kvm: the VM, after kvm_arch_destroy_vm() destroyed its vCPUs
 *
 * The queue of its kernel fault-ins: each vCPU's teardown flushed or
 * cancelled its own (kvm_apf_vcpu_destroy()).
 */
void kvm_async_pf_vm_destroy(struct kvm *kvm)
{
	struct workqueue_struct *wq = kvm->apf_wq;

	if (wq)
		destroy_workqueue(wq);
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
	kvm_async_pf_ring_release(vcpu);
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

/*
 * The guest's struct kvm_apf_shared is the same on every arch that has one
 * (x86's struct kvm_vcpu_pv_apf_data is checked against it there); its
 * "page ready" slot, @token and @status, and the ring of completions that
 * may follow it (struct kvm_apf_ready_ring) are written and read here only.
 */

/**
 * kvm_async_pf_area_rw() - read or write part of the guest's shared area
 * @vcpu: the vCPU, in its own context
 * @area: its cache of the guest's area (with the ring, if it has one)
 * @data: what to write, or where to read
 * @offset: from the start of the area
 * @len: bytes
 * @write: write (else read)
 *
 * The memslots are looked up under kvm->srcu, which x86 holds around its
 * run loop and arm64 does not.  A static stub stands in for it in KUnit.
 *
 * Return: 0, or -errno from the guest access.
 */
int kvm_async_pf_area_rw(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			 void *data, unsigned int offset, unsigned int len,
			 bool write)
{
	int idx, r;

	KUNIT_STATIC_STUB_REDIRECT(kvm_async_pf_area_rw, vcpu, area, data,
				   offset, len, write);
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	if (write)
		r = kvm_write_guest_offset_cached(vcpu->kvm, area, data,
						  offset, len);
	else
		r = kvm_read_guest_offset_cached(vcpu->kvm, area, data,
						 offset, len);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	return r;
}
EXPORT_SYMBOL_GPL(kvm_async_pf_area_rw);

/**
 * kvm_async_pf_put_ready() - write a "page ready" into the guest's area
 * @vcpu: the vCPU, in its own context
 * @area: its cache of the guest's struct kvm_apf_shared
 * @item: the fault (or wake-all) to tell: its token, and its result if the
 *	guest opted in to error status (@report_errors)
 *
 * Token and status in one write, so that the guest never sees a token with
 * a stale status; the token alone for a guest that did not opt in.
 *
 * Return: 0, or -errno from the guest write.
 */
int kvm_async_pf_put_ready(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			   const struct kvm_apf_item *item)
{
	struct kvm_apf_ready_entry ready = { item->token, -item->result };

	KUNIT_STATIC_STUB_REDIRECT(kvm_async_pf_put_ready, vcpu, area, item);
	BUILD_BUG_ON(offsetof(struct kvm_apf_shared, status) !=
		     offsetofend(struct kvm_apf_shared, token));

	return kvm_async_pf_area_rw(vcpu, area, &ready,
				    offsetof(struct kvm_apf_shared, token),
				    vcpu->async_pf.report_errors ?
				    sizeof(ready) : sizeof(ready.token), true);
}
EXPORT_SYMBOL_GPL(kvm_async_pf_put_ready);

/**
 * kvm_async_pf_ready_slot_free() - has the guest taken the last "page ready"?
 * @vcpu: the vCPU, in its own context
 * @area: its cache of the guest's struct kvm_apf_shared
 *
 * Return: true if the guest cleared @token (the backends' @can_dequeue);
 * false if it did not, or the area cannot be read.
 */
bool kvm_async_pf_ready_slot_free(struct kvm_vcpu *vcpu,
				  struct gfn_to_hva_cache *area)
{
	u32 token;

	KUNIT_STATIC_STUB_REDIRECT(kvm_async_pf_ready_slot_free, vcpu, area);
	return !kvm_async_pf_area_rw(vcpu, area, &token,
				     offsetof(struct kvm_apf_shared, token),
				     sizeof(token), false) && !token;
}
EXPORT_SYMBOL_GPL(kvm_async_pf_ready_slot_free);

/* The ring of completions follows the area (a page when the guest has one). */
#define APF_RING_OFFSET		sizeof(struct kvm_apf_shared)

/*
 * The entries free in the guest's ring, and its @head, read in one access
 * (the guest may store @tail from another vCPU meanwhile: either value is
 * fine).  Indices no ring can have (the guest's @tail ahead of @head, or
 * behind it by more than the ring holds) are -EINVAL: nothing is posted.
 */
static int apf_ring_room(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			 u32 *head)
{
	struct {
		u32 head;
		u32 tail;
	} ix;
	u32 used;
	int r;

	BUILD_BUG_ON(offsetofend(struct kvm_apf_ready_ring, tail) != sizeof(ix));
	r = kvm_async_pf_area_rw(vcpu, area, &ix, APF_RING_OFFSET, sizeof(ix),
				 false);
	if (r)
		return r;
	used = ix.head - ix.tail;
	if (used > KVM_APF_READY_RING_ENTRIES)
		return -EINVAL;
	*head = ix.head;
	return KVM_APF_READY_RING_ENTRIES - used;
}

/**
 * kvm_async_pf_ring_room() - can the guest's ring take a completion?
 * @vcpu: the vCPU, in its own context
 * @area: its cache of the guest's area and ring
 *
 * The backends' @can_dequeue when the guest has a ring.
 *
 * Return: true if the ring has a free entry; false if it is full, its
 * indices are impossible, or it cannot be read.
 */
bool kvm_async_pf_ring_room(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area)
{
	u32 head;

	return apf_ring_room(vcpu, area, &head) > 0;
}
EXPORT_SYMBOL_GPL(kvm_async_pf_ring_room);

/**
 * kvm_async_pf_ring_put() - post a completion into the guest's ring
 * @vcpu: the vCPU, in its own context
 * @area: its cache of the guest's area and ring
 * @item: the fault (or wake-all) to tell: its token, and its result if the
 *	guest opted in to error status (@report_errors)
 *
 * The entry first, then @head: a guest that sees @head sees the entry.  The
 * backend raises "page ready" after it; the core posts more until the ring
 * is full or nothing is left, and then waits for the guest's acknowledgment.
 *
 * Return: 0; -ENOSPC if the ring has no room: it is full, or its indices
 * are impossible (the guest changed them since @can_dequeue looked; the
 * core holds the completion, as for a full ring); or -errno from the guest
 * access: nothing was posted.
 */
int kvm_async_pf_ring_put(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			  const struct kvm_apf_item *item)
{
	struct kvm_apf_ready_entry entry = {
		.token = item->token,
		.status = vcpu->async_pf.report_errors ? -item->result : 0,
	};
	u32 head;
	int r;

	BUILD_BUG_ON(!is_power_of_2(KVM_APF_READY_RING_ENTRIES));
	r = apf_ring_room(vcpu, area, &head);
	if (r <= 0)
		return r == -EINVAL || !r ? -ENOSPC : r;
	r = kvm_async_pf_area_rw(vcpu, area, &entry, APF_RING_OFFSET +
				 offsetof(struct kvm_apf_ready_ring, entries) +
				 head % KVM_APF_READY_RING_ENTRIES *
				 sizeof(entry), sizeof(entry), true);
	if (r)
		return r;
	/* Pairs with the guest's read barrier between @head and the entry. */
	smp_wmb();
	head++;
	return kvm_async_pf_area_rw(vcpu, area, &head, APF_RING_OFFSET +
				    offsetof(struct kvm_apf_ready_ring, head),
				    sizeof(head), true);
}
EXPORT_SYMBOL_GPL(kvm_async_pf_ring_put);

/**
 * kvm_check_async_pf_completion() - deliver completed async faults
 * @vcpu: the vCPU, in its own context
 *
 * First tells the guest "not present" for a fault the VMM just accepted
 * (kvm_apf_notify_accepted()).
 *
 * Return: 0, or -EFAULT with a memory-fault exit prepared for a fault that
 * cannot be resolved (KVM_RUN must return it).
 */
int kvm_check_async_pf_completion(struct kvm_vcpu *vcpu)
{
	struct kvm_apf_failure *failed = &vcpu->async_pf.failed;
	int r;

	kvm_apf_notify_accepted(&vcpu->async_pf);
	r = kvm_apf_check_completion(&vcpu->async_pf);

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
 * kvm_async_pf_wait_fault_ins() - wait for the vCPU's fault-ins to be over
 * @vcpu: the vCPU, in any context that may sleep (e.g. a VM ioctl)
 *
 * See kvm_apf_wait_fault_ins(): with s390's ops, every parked task's
 * "page ready" is injected when this returns.
 */
void kvm_async_pf_wait_fault_ins(struct kvm_vcpu *vcpu)
{
	kvm_apf_wait_fault_ins(&vcpu->async_pf);
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

#ifdef CONFIG_KVM_APF_KUNIT_TEST
#include "tests/ring_kunit.h"
#endif
