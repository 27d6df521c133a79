// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arch-neutral half of the e2e tests' guest side of async PF
 * (apf_guest.h): what the guest logs and how it parks a faulting "task".
 * The arch half is ARCH/apf_arch.c.  Guest code: the selftests library
 * loads the whole program into the guest.
 */
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "ucall_common.h"
#include "apf_guest.h"

struct apf_vcpu_log apf_logs[APF_MAX_VCPUS];
enum apf_mode apf_mode;
bool apf_want_errors;
bool apf_want_ring;
bool apf_want_pv_eoi;
bool apf_want_ve;
u64 apf_ve_busy_touch;
u64 apf_ve_busy_value;
bool apf_no_ack;
u32 apf_woken[APF_MAX_VCPUS];

void *apf_areas[APF_MAX_VCPUS];
u64 apf_area_gpas[APF_MAX_VCPUS];
u32 apf_nr_vcpus;

static u32 apf_never;
static u32 apf_woken_status[APF_MAX_VCPUS];	/* of apf_woken */

noinline u64 apf_guest_compute(u64 n)
{
	u64 i;

	for (i = 0; i < n; i++)
		if (READ_ONCE(apf_never))
			break;
	return i;
}

/* Log a "not present": its index in apf_log. */
static u64 apf_guest_log_np(u32 token, u64 addr)
{
	struct apf_vcpu_log *log = apf_my_log();
	u64 n = log->not_present;

	if (n < APF_MAX_LOG) {
		log->np_token[n] = token;
		log->np_addr[n] = addr;
	}
	log->not_present = n + 1;
	return n;
}

void apf_guest_abandoned(u32 token, u64 addr)
{
	apf_guest_log_np(token, addr);
}

void apf_guest_parked(u32 token, u64 addr)
{
	u64 n = apf_guest_log_np(token, addr), work = 0;
	struct apf_vcpu_log *log = apf_my_log();
	u32 me = apf_vcpu();

	if (apf_mode == APF_MODE_DISABLE) {
		guest_apf_disable();
		return;		/* the access is retried synchronously */
	}
	if (apf_mode == APF_MODE_IDLE) {
		guest_apf_idle();
		return;		/* retried: synchronous if still in flight */
	}
	if (apf_mode == APF_MODE_REPORT)
		GUEST_SYNC2(1, token);

	if (apf_mode == APF_MODE_HALT) {
		/* Nothing else to run: idle until the page is ready. */
		while (READ_ONCE(apf_woken[me]) != token)
			guest_apf_wait();
	} else {
		/* Park the faulting "task": do other work until it is. */
		guest_irq_enable();
		while (READ_ONCE(apf_woken[me]) != token) {
			work += apf_guest_compute(APF_PARK_CHUNK);
			/* As it goes: delayed_mem_serve_after_work() reads it. */
			if (n < APF_MAX_LOG)
				WRITE_ONCE(log->work_during[n], work);
		}
		guest_irq_disable();
	}
	log->work += work;
	if (apf_woken_status[me]) {
		log->errors++;
		GUEST_SYNC3(APF_SYNC_ERROR, token, apf_woken_status[me]);
	}
}

void apf_guest_ve_busy(const u32 *np_token, u32 token)
{
	u64 touch = READ_ONCE(apf_ve_busy_touch);

	apf_my_log()->ve++;
	if (!touch)
		return;
	WRITE_ONCE(apf_ve_busy_touch, 0);
	guest_irq_enable();
	WRITE_ONCE(apf_ve_busy_value, READ_ONCE(*(u64 *)touch));
	guest_irq_disable();
	GUEST_ASSERT_EQ(READ_ONCE(*np_token), token);
}

void apf_guest_woken(u32 token, u32 status)
{
	struct apf_vcpu_log *log = apf_my_log();
	u64 n = log->ready;
	u32 me = apf_vcpu();

	if (n < APF_MAX_LOG) {
		log->ready_token[n] = token;
		log->ready_status[n] = status;
	}
	log->ready = n + 1;
	if (token == APF_WAKE_ALL)
		log->wake_all++;
	else if (!token)
		log->unexpected++;
	WRITE_ONCE(apf_woken_status[me], status);
	WRITE_ONCE(apf_woken[me], token);
}

u32 apf_ring_drain(void *area, void (*take)(u32 token, u32 status))
{
	struct kvm_apf_ready_ring *r = area + sizeof(struct kvm_apf_shared);
	/* The entries KVM posted before @head are there once @head is. */
	u32 head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	u32 tail = r->tail, n = head - tail;
	struct kvm_apf_ready_entry e;

	/* KVM only ever advances @head by what the ring has room for. */
	__GUEST_ASSERT(n <= KVM_APF_READY_RING_ENTRIES, "ring head %u, tail %u",
		       head, tail);
	for (; tail != head; tail++) {
		e = r->entries[tail % KVM_APF_READY_RING_ENTRIES];
		take(e.token, e.status);
	}
	/* The entries are read before KVM may reuse them. */
	__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	return n;
}

bool apf_ring_pending(void *area)
{
	struct kvm_apf_ready_ring *r = area + sizeof(struct kvm_apf_shared);

	return READ_ONCE(r->head) != READ_ONCE(r->tail);
}

void apf_guest_ring_drain(void *area)
{
	u32 n = apf_ring_drain(area, apf_guest_woken);
	struct apf_vcpu_log *log = apf_my_log();

	log->batches++;
	if (n > log->batch_max)
		log->batch_max = n;
}

void apf_guest_vm_setup(struct kvm_vm *vm)
{
	struct kvm_vcpu *vcpu;
	vm_vaddr_t area;

	sync_global_to_guest(vm, apf_want_errors);
	sync_global_to_guest(vm, apf_want_ring);
	sync_global_to_guest(vm, apf_want_pv_eoi);
	sync_global_to_guest(vm, apf_want_ve);
	apf_nr_vcpus = 0;
	list_for_each_entry(vcpu, &vm->vcpus, list) {
		TEST_ASSERT(vcpu->id < APF_MAX_VCPUS, "vCPU id %u", vcpu->id);
		area = vm_vaddr_alloc_page(vm);
		apf_areas[vcpu->id] = (void *)area;
		apf_area_gpas[vcpu->id] = addr_gva2gpa(vm, area);
		apf_nr_vcpus++;
	}
	sync_global_to_guest(vm, apf_areas);
	sync_global_to_guest(vm, apf_area_gpas);
	sync_global_to_guest(vm, apf_nr_vcpus);
}
