// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_fuzz_uapi_test: the VMM side of async PF under random input.
 *
 * A seeded PRNG drives a random sequence of the VMM's calls on a VM whose
 * guest reads the pages of a memfd-backed slot in turn and reports each
 * value (GUEST_SYNC2(page, value)); its async PF handlers just note the
 * token and return.  Each input is one of:
 * - KVM_ENABLE_CAP(KVM_CAP_APF_FEATURES) with random flags and args, read
 *   back with KVM_CHECK_EXTENSION(KVM_CAP_APF_FEATURES_ENABLED);
 * - KVM_APF_COMPLETE with random token, status, flags and padding;
 * - KVM_RUN: the guest's next read either reports the value the model says
 *   the page holds, or (page truncated) fails with the error memory-fault
 *   exit for exactly that page (token 0 or an async fault's), or (slot
 *   deleted) is an MMIO read of that gpa; re-entering after an exit
 *   without a fix gives the same exit again;
 * - truncating the memfd under a page, restoring it, writing a page,
 *   deleting the slot, creating it again on new memory (memslot changes
 *   with a failed fault held or in flight);
 * - the arch's registers: x86 KVM_SET_MSRS/KVM_GET_MSRS of
 *   MSR_KVM_ASYNC_PF_EN, _INT, _ACK; arm64 KVM_GET_ONE_REG of every
 *   register KVM_GET_REG_LIST names, KVM_SET_ONE_REG of each with its own
 *   value, random values for every async PF register and the vendor-hyp
 *   bitmap that hides them (ARCH/apf_fuzz_uapi_arch.c).
 * Oracles: each call's result is what the uAPI (Documentation/virt/kvm/apf/
 * api.rst) prescribes; a rejected call leaves what the test can read back
 * unchanged; KVM_APF_COMPLETE of a failure just held is accepted and of a
 * token never seen is ENOENT; the vCPU's counters agree with the guest
 * (apf_not_present with the "not present"s it took, apf_error with the
 * tokens the exits named).  -s SEED replays a run's inputs; -n INPUTS.
 */
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "apf_util.h"
#include "apf_guest.h"
#include "apf_fuzz.h"
#include "apf_fuzz_uapi_arch.h"

#define TEST_SLOT	10
#define TEST_GPA	0x10000000ul
#define MMIO_VAL	0x6d6d696f6d6d696full	/* "mmiommio" */

/* The guest's side, shared with the host (apf_fuzz_uapi_arch.h). */
u64 g_np;
u64 g_area;
u64 g_ready;
u64 g_ring;

/* Guest: a "page ready" taken from the ring. */
static void fzu_ring_entry(u32 token, u32 status)
{
	g_ready++;
}

/* Guest: take every entry of the ring after the area @a (no ack). */
void fzu_ring_take(u64 a)
{
	apf_ring_drain((void *)a, fzu_ring_entry);
}

u64 rng;			/* the host's PRNG */

/* The host's model of what the test can see. */
struct fzu_model m;

/* apf_fuzz.h's */
unsigned long long fz_seed;
unsigned long long fz_inputs = FUZZ_DEFAULT_INPUTS;
u64 fz_done;

static void guest_code(u64 pages, u64 page_size)
{
	u64 i;

	fzu_guest_init();
	for (i = 0;; i = (i + 1) % pages) {
		u64 v = READ_ONCE(*(u64 *)(TEST_GPA + i * page_size));

		fzu_guest_poll();
		GUEST_SYNC2(i, v);
	}
}

static void slot_create(void)
{
	u64 i;

	vm_userspace_mem_region_add(m.vm, VM_MEM_SRC_SHMEM, TEST_GPA, TEST_SLOT,
				    TEST_PAGES * m.ps / m.vm->page_size, 0);
	m.slot = true;
	m.trunc = TEST_PAGES;
	for (i = 0; i < TEST_PAGES; i++) {
		m.val[i] = fz_next(&rng);
		*(u64 *)addr_gpa2hva(m.vm, TEST_GPA + i * m.ps) = m.val[i];
	}
}

static struct userspace_mem_region *slot_region(void)
{
	return memslot2region(m.vm, TEST_SLOT);
}

static bool token_seen(u32 t)
{
	u64 i;

	for (i = 0; i < m.ntokens && i < ARRAY_SIZE(m.tokens); i++)
		if (m.tokens[i] == t)
			return true;
	return false;
}

static u64 apf_stat(const char *name)
{
	u64 v = 0;

	FZ_ASSERT(vcpu_stat(m.vcpu, name, &v), "no stat %s", name);
	return v;
}

static void op_enable_cap(void)
{
	u64 allowed = KVM_APF_FEATURES_ENABLE & m.features;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_APF_FEATURES };
	bool ok;
	int r, i;

	cap.args[0] = fz_below(&rng, 2) ? (fz_below(&rng, 2) ?
		      KVM_APF_FEATURE_GUEST_ERROR : 0) : fz_value(&rng);
	if (!fz_below(&rng, 4))
		cap.flags = fz_value(&rng);
	for (i = 1; i < 4; i++)
		if (!fz_below(&rng, 8))
			cap.args[i] = fz_value(&rng);
	ok = !cap.flags && !(cap.args[0] & ~allowed) && !cap.args[1] &&
	     !cap.args[2] && !cap.args[3] &&
	     /* Exitless is a mode of VMM-driven faults, not alone. */
	     (!(cap.args[0] & KVM_APF_FEATURE_VMM_EXITLESS) ||
	      (cap.args[0] & KVM_APF_FEATURE_VMM));
	r = ioctl(m.vm->fd, KVM_ENABLE_CAP, &cap) ? -errno : 0;
	FZ_ASSERT(r == (ok ? 0 : -EINVAL),
		  "ENABLE_CAP flags %#x args %#llx %#llx %#llx %#llx: %d",
		  cap.flags, cap.args[0], cap.args[1], cap.args[2], cap.args[3], r);
	if (ok)
		m.cap = cap.args[0];
	r = vm_check_cap(m.vm, KVM_CAP_APF_FEATURES_ENABLED);
	FZ_ASSERT(r == m.cap, "FEATURES_ENABLED %d, expected %lu", r, m.cap);
	r = vm_check_cap(m.vm, KVM_CAP_APF_FEATURES);
	FZ_ASSERT(r == m.features, "FEATURES %d, /dev/kvm %d", r, m.features);
}

static void op_complete(void)
{
	struct kvm_apf_completion c = {};
	bool bad;
	int r;

	switch (fz_below(&rng, 4)) {
	case 0:
		c.token = fz_next(&rng);
		break;
	case 1:
		c.token = m.tokens[fz_below(&rng, m.ntokens < ARRAY_SIZE(m.tokens) ?
					    m.ntokens + 1 : ARRAY_SIZE(m.tokens))];
		break;
	default:
		c.token = m.held;
		break;
	}
	switch (fz_below(&rng, 6)) {
	case 0:
		c.status = fz_next(&rng);
		break;
	case 1:
		c.status = 0;
		break;
	case 2:
		c.status = -(s32)fz_below(&rng, 4096);
		break;
	default:
		c.status = -EIO;
		break;
	}
	if (!fz_below(&rng, 8))
		c.flags = fz_value(&rng);
	if (!fz_below(&rng, 8))
		c.pad = fz_value(&rng);
	bad = c.flags || c.pad || c.status > 0 || c.status < -4095;
	r = ioctl(m.vcpu->fd, KVM_APF_COMPLETE, &c) ? -errno : 0;
	if (bad)
		FZ_ASSERT(r == -EINVAL, "COMPLETE %#x %d flags %#x pad %#x: %d",
			  c.token, c.status, c.flags, c.pad, r);
	else if (c.token && c.token == m.held)
		FZ_ASSERT(!r, "COMPLETE of the held %#x, %d: %d", c.token,
			  c.status, r);
	else if (!token_seen(c.token))
		FZ_ASSERT(r == -ENOENT, "COMPLETE %#x, never seen: %d",
			  c.token, r);
	else
		FZ_ASSERT(!r || r == -ENOENT || r == -EBUSY,
			  "COMPLETE %#x %d: %d", c.token, c.status, r);
	if (!r)
		m.completes++;
}

/* KVM_RUN: the guest's next read, or the exit its page gives. */
static void op_run(void)
{
	struct kvm_run *run = m.vcpu->run;
	u64 gpa = TEST_GPA + m.gpos * m.ps, np, err;
	struct ucall uc;
	int r;

	fzu_arch_before_run(m.vcpu);
	/*
	 * A KVM_RUN that does not come back is a hang: say so, with the seed.
	 * __vcpu_run(): the library's _vcpu_run() re-enters on EINTR.
	 */
	alarm(60);
	r = __vcpu_run(m.vcpu);
	alarm(0);
	if (r && errno == EINTR) {
		fzu_arch_report();
		FZ_ASSERT(false, "KVM_RUN did not return in 60 s (guest reads page %lu)",
			  m.gpos);
	}
	assert_on_unhandled_exception(m.vcpu);
	m.runs++;
	fzu_arch_ran(m.vcpu);
	if (r) {
		u32 t = run->memory_fault.token;

		FZ_ASSERT(errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT,
			  "KVM_RUN: %d errno %d exit %s", r, errno,
			  exit_reason_str(run->exit_reason));
		FZ_ASSERT(run->memory_fault.flags == KVM_MEMORY_EXIT_FLAG_ERROR &&
			  run->memory_fault.gpa == gpa &&
			  run->memory_fault.size == getpagesize() &&
			  run->memory_fault.error == EFAULT,
			  "exit flags %#llx gpa %#llx size %#llx error %u; guest reads %#lx",
			  run->memory_fault.flags, run->memory_fault.gpa,
			  run->memory_fault.size, run->memory_fault.error, gpa);
		FZ_ASSERT(m.slot && m.gpos >= m.trunc,
			  "error exit for page %lu, which is there", m.gpos);
		FZ_ASSERT(t != 0xffffffffu && !(t & 0xff), "exit token %#x", t);
		if (t && !token_seen(t))
			m.tokens[m.ntokens++ % ARRAY_SIZE(m.tokens)] = t;
		m.held = t;
		m.exits++;
	} else if (run->exit_reason == KVM_EXIT_MMIO &&
		   run->mmio.phys_addr != 0 && run->mmio.phys_addr == gpa) {
		FZ_ASSERT(!m.slot && !run->mmio.is_write,
			  "MMIO exit at %#lx with the slot there", gpa);
		memcpy(run->mmio.data, &(u64){ MMIO_VAL }, 8);
		m.mmio = true;
		m.mmios++;
		m.held = 0;
	} else {
		switch (get_ucall(m.vcpu, &uc)) {
		case UCALL_SYNC:
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			FZ_ASSERT(false, "exit %s",
				  exit_reason_str(run->exit_reason));
		}
		FZ_ASSERT(uc.args[0] == m.gpos, "guest read page %lu, not %lu",
			  uc.args[0], m.gpos);
		if (m.mmio)
			FZ_ASSERT(uc.args[1] == MMIO_VAL, "MMIO read %#lx",
				  uc.args[1]);
		else
			FZ_ASSERT(m.slot && m.gpos < m.trunc &&
				  uc.args[1] == m.val[m.gpos],
				  "page %lu reads %#lx, holds %#lx (slot %d, truncated from %lu)",
				  m.gpos, uc.args[1], m.val[m.gpos], m.slot,
				  m.trunc);
		m.mmio = false;
		m.gpos = (m.gpos + 1) % TEST_PAGES;
		m.held = 0;
		m.syncs++;
	}
	/* A "not present" may still wait to be taken when KVM_RUN exits. */
	sync_global_from_guest(m.vm, g_np);
	np = apf_stat("apf_not_present");
	FZ_ASSERT(np == g_np || np == g_np + 1,
		  "apf_not_present %lu, guest took %lu", np, g_np);
	err = apf_stat("apf_error");
	FZ_ASSERT(err >= (m.ntokens < ARRAY_SIZE(m.tokens) ? m.ntokens : 0),
		  "apf_error %lu, %lu tokens in exits", err, m.ntokens);
}

static void op_memory(void)
{
	struct userspace_mem_region *r;
	u64 k;

	switch (fz_below(&rng, 8)) {
	case 0:
	case 1:			/* truncate from a page on */
		if (!m.slot)
			return slot_create();
		k = fz_below(&rng, TEST_PAGES);
		r = slot_region();
		FZ_ASSERT(!ftruncate(r->fd, (u64)((char *)r->host_mem -
						  (char *)r->mmap_start) + k * m.ps),
			  "ftruncate");
		/* Above an earlier truncation, that extends the file with zeros. */
		for (; m.trunc < k; m.trunc++)
			m.val[m.trunc] = 0;
		m.trunc = k;
		break;
	case 2:
	case 3:			/* restore: the lost pages come back zeroed */
		if (!m.slot)
			return slot_create();
		r = slot_region();
		FZ_ASSERT(!ftruncate(r->fd, r->mmap_size), "ftruncate");
		for (k = m.trunc; k < TEST_PAGES; k++)
			m.val[k] = 0;
		m.trunc = TEST_PAGES;
		break;
	case 4:
	case 5:			/* write a page that is there */
		k = fz_below(&rng, TEST_PAGES);
		if (!m.slot || k >= m.trunc)
			return;
		m.val[k] = fz_next(&rng);
		*(u64 *)addr_gpa2hva(m.vm, TEST_GPA + k * m.ps) = m.val[k];
		break;
	case 6:			/* delete the slot */
		if (m.slot) {
			vm_mem_region_delete(m.vm, TEST_SLOT);
			m.slot = false;
		}
		break;
	default:		/* new memory under the gpa */
		if (m.slot)
			vm_mem_region_delete(m.vm, TEST_SLOT);
		slot_create();
		break;
	}
}

static void on_alarm(int sig)
{
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct timespec a, b;
	u64 n[8] = {}, op;

	fz_parse_args(argc, argv);
	TEST_ASSERT(!sigaction(SIGALRM, &sa, NULL), "sigaction");
	rng = fz_seed;
	m.features = kvm_check_cap(KVM_CAP_APF_FEATURES);
	m.vm = vm_create_with_one_vcpu(&m.vcpu, guest_code);
	m.ps = getpagesize();
	FZ_ASSERT(m.ps >= m.vm->page_size, "host pages smaller than guest's");
	slot_create();
	virt_map(m.vm, TEST_GPA, TEST_GPA, TEST_PAGES * m.ps / m.vm->page_size);
	vcpu_args_set(m.vcpu, 2, (u64)TEST_PAGES, m.ps);
	fzu_arch_vm_setup(m.vm, m.vcpu);

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (fz_done = 0; fz_done < fz_inputs; fz_done++) {
		op = fz_below(&rng, 16);
		if (op < 2)
			op_enable_cap();
		else if (op < 4)
			op_complete();
		else if (op < 7)
			op_run();
		else if (op < 9)
			op_memory();
		else
			fzu_arch_op(m.vcpu);
		n[op / 2]++;
		if (fz_done % 4096 == 4095)
			fzu_arch_check(m.vcpu);
		if (fz_done % 20000 == 19999) {
			clock_gettime(CLOCK_MONOTONIC, &b);
			printf("# %lu inputs, %lu KVM_RUN, %.1f s\n", fz_done + 1,
			       m.runs, (b.tv_sec - a.tv_sec) +
			       (b.tv_nsec - a.tv_nsec) / 1e9);
			fflush(stdout);
		}
	}
	fzu_arch_check(m.vcpu);
	clock_gettime(CLOCK_MONOTONIC, &b);
	sync_global_from_guest(m.vm, g_ready);
	printf("# %.1f s\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	printf("# %lu KVM_RUN: %lu reads, %lu error exits, %lu MMIO\n", m.runs,
	       m.syncs, m.exits, m.mmios);
	printf("# %lu completions accepted, %lu tokens in exits, apf_error %lu\n",
	       m.completes, m.ntokens, apf_stat("apf_error"));
	printf("# guest: %lu not present, %lu ready taken\n", g_np, g_ready);
	fzu_arch_report();
	printf("inputs=%lu\n", fz_done);
	kvm_vm_free(m.vm);
	return 0;
}
