// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_fuzz_guest_test: the async PF guest ABI under random input, from
 * guest code, while faults are in flight.
 *
 * The guest runs a seeded PRNG and, one input at a time, makes a random
 * ABI call with random arguments: on x86 writes and reads of
 * MSR_KVM_ASYNC_PF_EN, _INT and _ACK; on arm64 the async PF SMCCC call
 * (INFO, ENABLE, ACK, unknown sub-functions) and every SDEI call number
 * (0xc4000020-0xc400003f and more) with random events and arguments.  Or it
 * touches a page of a slot whose pages arrive late (userfaultfd), which
 * puts a fault in flight: the guest is told "not present", and while it
 * waits for "page ready" it goes on making random calls (disabling,
 * re-enabling, moving the area, acknowledging at random, SDEI calls from
 * inside the handler) until its page is ready or it dropped the fault
 * itself.  The guest keeps a model of the state the ABI defines
 * (Documentation/virt/kvm/apf/api.rst) and checks each call against it:
 * - a value the ABI rejects gets #GP / SMCCC or SDEI error, and reading
 *   back (rdmsr; INFO, EVENT_STATUS) shows nothing changed; an accepted one
 *   reads back as written;
 * - every "page ready" names a token the guest was told "not present" for
 *   (or ~0, wake-all), at most once, with status 0 (no page fails here);
 * - every fault the guest waits for completes (no hang), and the data is
 *   the page's pattern.
 * The host runs the guest in batches; after each it compares KVM's state
 * (KVM_GET_MSRS, KVM_GET_ONE_REG) with the guest's model and the vCPU's
 * counters with what the guest saw (apf_not_present equal, apf_ready not
 * fewer, apf_error 0), then flips the VMM's consent to error status at
 * random (KVM_ENABLE_CAP) and drops the delayed pages so they fault again.
 *
 * -s SEED replays a run's inputs; -n INPUTS (default 10^5) how many.  One
 * source for every arch; the arch's calls are in ARCH/apf_fuzz_guest_arch.c.
 */
#include <sys/mman.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "userfaultfd_util.h"
#include "apf_util.h"
#include "apf_guest.h"
#include "apf_fuzz.h"
#include "apf_fuzz_guest_arch.h"

#define TEST_SLOT	10
#define TEST_GPA	0x10000000ul
#define TEST_PAGES	16
#define DELAY_US	1000
/* Inputs between two host checks. */
#define BATCH		2000
/* Polls of a parked fault before the guest calls it a hang (seconds). */
#define FZ_PARK_POLLS	BIT_ULL(26)
/* Inputs made while one fault is in flight, at most. */
#define FZ_PARK_INPUTS	64
#define FZ_WAKE_ALL	0xffffffffu

static inline u64 pattern(u64 gpa)
{
	return gpa ^ 0x6170662d64617461ull;	/* "apf-data" */
}

/* The guest's view, shared with the host (apf_fuzz_guest_arch.h). */
struct fz_state fz;
static u64 page_size_g;

/* apf_fuzz.h's */
unsigned long long fz_seed;
unsigned long long fz_inputs = FUZZ_DEFAULT_INPUTS;
u64 fz_done;

void fz_count(bool accepted)
{
	fz.inputs++;
	fz.rejected += !accepted;
	if (fz.parked)
		fz.parked_inputs++;
}

/* A "page ready" interrupt with nothing in the area. */
void fz_spurious(void)
{
	fz.spurious++;
	__GUEST_ASSERT(fz.spurious < 1000000 + 4 * fz.ready,
		       "%lu spurious page ready, %lu real: a storm", fz.spurious,
		       fz.ready);
}

/* A "page ready" for @token (from the interrupt, or found by polling). */
void fz_ready(u32 token, u32 status)
{
	u64 i;

	if (!token) {
		fz_spurious();
		return;
	}
	fz.ready++;
	__GUEST_ASSERT(!status, "page ready %#x with status %u", token, status);
	if (token == FZ_WAKE_ALL) {
		fz.wake_all++;
		return;
	}
	for (i = 0; i < FZ_RING; i++)
		if (fz.ring[i] == token)
			break;
	__GUEST_ASSERT(i < FZ_RING && fz.np,
		       "page ready for %#x, never told not present", token);
	__GUEST_ASSERT(!fz.readied[i], "page ready for %#x twice", token);
	fz.readied[i] = 1;
	if (fz.parked == token)
		fz.woken = 1;
}

void fz_take(struct kvm_apf_shared *a, bool ring)
{
	u32 token, status;

	/* Batched "page ready": an empty ring is a spurious one. */
	if (a && ring) {
		if (!apf_ring_drain(a, fz_ready))
			fz_spurious();
		return;
	}
	token = a ? READ_ONCE(a->token) : 0;
	status = a ? READ_ONCE(a->status) : 0;
	if (token || status)
		fz_ready(token, status);
	else
		fz_spurious();
	if (a) {
		WRITE_ONCE(a->status, 0);
		WRITE_ONCE(a->token, 0);
	}
}

static void fz_touch(void)
{
	u64 off = fz_below(&fz.rng, TEST_PAGES * page_size_g / 8) * 8;
	u64 v = READ_ONCE(*(u64 *)(TEST_GPA + off));

	__GUEST_ASSERT(v == pattern(TEST_GPA + off), "gpa %#lx holds %#lx",
		       TEST_GPA + off, v);
	fz.touches++;
	fz_count(true);
}

/* One input: an ABI call, or (not while parked) a touch of a delayed page. */
static void fz_op(bool parked)
{
	u64 r = fz_below(&fz.rng, 16);

	if (r < 2)
		fz_arch_setup();
	else if (r < 5 && !parked)
		fz_touch();
	else
		fz_arch_op(parked);
	fz_arch_poll();
}

/*
 * "Not present" for @token: wait for its "page ready" making random calls,
 * or stop waiting when a wake-all came or the guest dropped its faults.
 */
void fz_parked(u32 token)
{
	u64 drops = fz.drops, wake_all = fz.wake_all;
	u64 i = fz.np % FZ_RING, polls = 0, ops = 0;

	__GUEST_ASSERT(!fz.parked, "not present %#x inside %#lx", token,
		       fz.parked);
	__GUEST_ASSERT(token && token != FZ_WAKE_ALL, "not present token %#x",
		       token);
	fz.ring[i] = token;
	fz.readied[i] = 0;
	fz.np++;
	fz.parked = token;
	fz.woken = 0;
	fz_irq_enable();
	while (!READ_ONCE(fz.woken) && fz.drops == drops &&
	       READ_ONCE(fz.wake_all) == wake_all) {
		if (fz.inputs < fz.target && ops < FZ_PARK_INPUTS &&
		    fz_below(&fz.rng, 2)) {
			fz_op(true);
			ops++;
		} else {
			fz_arch_poll();
		}
		__GUEST_ASSERT(++polls < FZ_PARK_POLLS,
			       "no page ready for %#x: %s %#lx, area token %#x, %lu ready, %lu wake-all",
			       token, fz_arch_word(), fz_arch_state(), fz_arch_token(),
			       fz.ready, fz.wake_all);
	}
	fz_irq_disable();
	fz.parked = 0;
}

static void guest_code(void)
{
	fz_arch_guest_init();
	while (fz.inputs < fz.target) {
		fz_op(false);
		if (fz.inputs >= fz.batch_end)
			GUEST_SYNC(fz.inputs);
	}
	GUEST_DONE();
}

/* Host: add the delayed slot. */
static void *page_base;
static size_t page_size;

static int serve_page(int mode, int uffd, struct uffd_msg *msg)
{
	static __thread u64 *buf;
	struct uffdio_copy copy;
	u64 addr, gpa, i;

	addr = msg->arg.pagefault.address & ~(u64)(page_size - 1);
	if (!buf)
		buf = malloc(page_size);
	TEST_ASSERT(buf, "no memory");
	gpa = TEST_GPA + (addr - (u64)page_base);
	for (i = 0; i < page_size / 8; i++)
		buf[i] = pattern(gpa + i * 8);
	copy = (struct uffdio_copy){ .dst = addr, .src = (u64)buf,
				     .len = page_size };
	if (ioctl(uffd, UFFDIO_COPY, &copy) && errno != EEXIST)
		return -errno;
	return 0;
}

static u64 apf_stat(struct kvm_vcpu *vcpu, const char *name)
{
	u64 v = 0;

	TEST_ASSERT(vcpu_stat(vcpu, name, &v), "no stat %s", name);
	return v;
}

/* After a batch: KVM's state and counters against the guest's model. */
static void host_check(struct kvm_vcpu *vcpu)
{
	u64 np = apf_stat(vcpu, "apf_not_present");
	u64 ready = apf_stat(vcpu, "apf_ready");

	fz_arch_host_check(vcpu);
	FZ_ASSERT(np == fz.np, "apf_not_present %lu, guest saw %lu", np, fz.np);
	FZ_ASSERT(ready >= fz.ready, "apf_ready %lu, guest saw %lu", ready,
		  fz.ready);
	FZ_ASSERT(!apf_stat(vcpu, "apf_error"), "apf_error %lu",
		  apf_stat(vcpu, "apf_error"));
}

int main(int argc, char *argv[])
{
	int features = kvm_check_cap(KVM_CAP_APF_FEATURES);
	struct kvm_vcpu *vcpu;
	struct uffd_desc *uffd;
	struct timespec a, b;
	struct kvm_vm *vm;
	struct ucall uc;
	u64 host_rng, batches = 0;

	fz_parse_args(argc, argv);
	if (fz_arch_unsupported()) {
		print_skip("%s", fz_arch_unsupported());
		exit(KSFT_SKIP);
	}
	host_rng = fz_seed ^ 0x686f7374ull;	/* "host" */

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	page_size = vm->page_size;
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_PAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);
	page_base = addr_gpa2hva(vm, TEST_GPA);
	uffd = uffd_setup_demand_paging(UFFDIO_REGISTER_MODE_MISSING, DELAY_US,
					page_base, TEST_PAGES * page_size, 1,
					serve_page);
	page_size_g = page_size;
	sync_global_to_guest(vm, page_size_g);
	fz_arch_vm_setup(vm);

	fz.rng = fz_seed;
	fz.target = fz_inputs;
	fz.batch_end = BATCH;
	sync_global_to_guest(vm, fz);

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
		case UCALL_DONE:
			break;
		case UCALL_ABORT:
			sync_global_from_guest(vm, fz);
			printf("FAIL: seed=%llu input=%lu\n", fz_seed, fz.inputs);
			printf("# KVM: apf_not_present %lu apf_ready %lu apf_error %lu\n",
			       apf_stat(vcpu, "apf_not_present"),
			       apf_stat(vcpu, "apf_ready"), apf_stat(vcpu, "apf_error"));
			printf("# guest: %lu not present, %lu ready\n", fz.np, fz.ready);
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			FZ_ASSERT(false, "exit %s",
				  exit_reason_str(vcpu->run->exit_reason));
		}
		sync_global_from_guest(vm, fz);
		fz_done = fz.inputs;
		host_check(vcpu);
		batches++;
		if (uc.cmd == UCALL_DONE)
			break;
		if (!(batches % 10)) {
			clock_gettime(CLOCK_MONOTONIC, &b);
			printf("# %lu inputs, %lu not present, %.1f s\n", fz.inputs,
			       fz.np, (b.tv_sec - a.tv_sec) +
			       (b.tv_nsec - a.tv_nsec) / 1e9);
			fflush(stdout);
		}

		/* The VMM changes its mind; the delayed pages go away. */
		if (features & KVM_APF_FEATURE_GUEST_ERROR &&
		    !fz_below(&host_rng, 4)) {
			fz.vmm_errors = !fz.vmm_errors;
			vm_enable_cap(vm, KVM_CAP_APF_FEATURES,
				      fz.vmm_errors ? KVM_APF_FEATURE_GUEST_ERROR : 0);
		}
		TEST_ASSERT(!madvise(page_base, TEST_PAGES * page_size,
				     MADV_DONTNEED), "madvise");
		fz.batch_end = fz.inputs + BATCH;
		sync_global_to_guest(vm, fz);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);

	printf("# %lu batches in %.1f s\n", batches,
	       (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	printf("# %lu not present, %lu ready (%lu wake-all, %lu spurious), %lu drops\n",
	       fz.np, fz.ready, fz.wake_all, fz.spurious, fz.drops);
	printf("# %lu touches, %lu rejected, %lu made while a fault was in flight\n",
	       fz.touches, fz.rejected, fz.parked_inputs);
	printf("inputs=%lu\n", fz.inputs);
	kvm_vm_free(vm);
	uffd_stop_demand_paging(uffd);
	return 0;
}
