// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_error_test: a guest page whose backing is gone never makes KVM loop.
 *
 * Guest memory is a memfd that the test truncates under one page, as when a
 * file mapped with virtiofs DAX shrinks.  When the guest touches that page:
 * - without async PF (the synchronous path), or with async PF but no opt-in
 *   to error status (the async path), KVM_RUN fails with EFAULT and a
 *   KVM_EXIT_MEMORY_FAULT exit flagged KVM_MEMORY_EXIT_FLAG_ERROR, with the
 *   page's gpa, its size and the error; the async path also gives the token
 *   the guest was told and never says "ready" for it.  Re-entering without
 *   fixing the backing exits the same way again; once the VMM restores the
 *   file, re-entry completes the access;
 * - with the guest opted in (and the VMM allowing it), "page ready" carries
 *   the error status and no exit happens.
 * The exit names the host page (PAGE_SIZE) that holds the faulting address
 * also when the memory is on hugetlbfs (a 2M block in the guest's stage 2 or
 * EPT/NPT), and also when the VMM unmapped the memory under a slot.
 * Each case asserts its bound: one "not present" at most, one report.  Bad
 * input from the VMM (capability flags) and the guest (enable bits) gets a
 * clean error and changes nothing.  One source for every arch.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"

#define TEST_SLOT	10
#define TEST_GPA	0x10000000ul
#define TEST_PAGES	4
#define BAD_PAGE	2

/* Guest stages (GUEST_SYNC2(stage, value)). */
#define STAGE_ARMED	1	/* about to touch the page */
#define STAGE_READ	2	/* the access completed: value */

static void guest_touch(u64 gva, u64 use_apf)
{
	u64 v;

	if (use_apf)
		guest_apf_enable();
	GUEST_SYNC2(STAGE_ARMED, 0);
	v = READ_ONCE(*(u64 *)gva);
	GUEST_SYNC2(STAGE_READ, v);
	if (use_apf)
		guest_apf_disable();
	GUEST_DONE();
}

static void guest_enables(void)
{
	GUEST_SYNC2(1, guest_apf_bad_enables());
	GUEST_SYNC2(2, guest_apf_try_enable_errors());
	GUEST_SYNC2(3, guest_apf_try_enable_errors());
	guest_apf_disable();
	GUEST_DONE();
}

struct err_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int fd;			/* the memfd behind the test slot */
	off_t full_size;
	off_t bad_off;		/* file offset of the bad page */
	off_t trunc_off;	/* where truncating frees it (backing page) */
	void *bad_hva;
	u64 bad_gpa;
	u64 page_size;		/* the host's: what gpa and size refer to */
};

/*
 * The test slot: @src memory of @size bytes at TEST_GPA, whose bad page is
 * page @bad (of the host's page size) of the slot.
 */
static void __err_vm_create(struct err_vm *t, void *guest_code, bool use_apf,
			    bool want_errors, enum vm_mem_backing_src_type src,
			    u64 size, u64 bad)
{
	struct userspace_mem_region *region;
	u64 backing_page = get_backing_src_pagesz(src);
	u64 guest_pages;

	t->vm = vm_create_with_one_vcpu(&t->vcpu, guest_code);
	t->page_size = getpagesize();
	guest_pages = size / t->vm->page_size;
	vm_userspace_mem_region_add(t->vm, src, TEST_GPA, TEST_SLOT,
				    guest_pages, 0);
	virt_map(t->vm, TEST_GPA, TEST_GPA, guest_pages);
	region = memslot2region(t->vm, TEST_SLOT);
	t->fd = region->fd;
	t->full_size = region->mmap_size;
	t->bad_off = ((char *)region->host_mem - (char *)region->mmap_start) +
		     bad * t->page_size;
	t->trunc_off = t->bad_off & ~(backing_page - 1);
	t->bad_hva = (char *)region->host_mem + bad * t->page_size;
	t->bad_gpa = TEST_GPA + bad * t->page_size;

	apf_mode = APF_MODE_PARK;
	apf_want_errors = want_errors;
	sync_global_to_guest(t->vm, apf_mode);
	apf_arch_vm_setup(t->vm);
	vcpu_args_set(t->vcpu, 2, t->bad_gpa, (u64)use_apf);
}

static void err_vm_create(struct err_vm *t, void *guest_code, bool use_apf,
			  bool want_errors)
{
	__err_vm_create(t, guest_code, use_apf, want_errors, VM_MEM_SRC_SHMEM,
			TEST_PAGES * getpagesize(), BAD_PAGE);
}

/* The backing file loses the bad page (and what follows it). */
static void truncate_bad_page(struct err_vm *t)
{
	TEST_ASSERT(!ftruncate(t->fd, t->trunc_off), "ftruncate: %d", errno);
}

static void restore_file(struct err_vm *t)
{
	TEST_ASSERT(!ftruncate(t->fd, t->full_size), "ftruncate: %d", errno);
}

static u64 stat_or_zero(struct kvm_vcpu *vcpu, const char *name)
{
	u64 v = 0;

	TEST_ASSERT(vcpu_stat(vcpu, name, &v), "no stat %s", name);
	return v;
}

/* KVM_RUN must fail with the error memory-fault exit for the bad page. */
static u32 expect_error_exit(struct __test_metadata *_metadata,
			     struct err_vm *t)
{
	struct kvm_run *run = t->vcpu->run;
	int r = _vcpu_run(t->vcpu);

	EXPECT_EQ(r, -1);
	EXPECT_EQ(errno, EFAULT);
	EXPECT_EQ(run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	EXPECT_EQ(run->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_ERROR);
	EXPECT_EQ(run->memory_fault.gpa, t->bad_gpa);
	EXPECT_EQ(run->memory_fault.size, t->page_size);
	EXPECT_EQ(run->memory_fault.error, EFAULT);
	return run->memory_fault.token;
}

static void expect_stage(struct __test_metadata *_metadata, struct err_vm *t,
			 u64 stage, u64 value)
{
	struct ucall uc;

	ASSERT_EQ(run_to_ucall(t->vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], stage);
	EXPECT_EQ(uc.args[1], value);
}

static void expect_done(struct __test_metadata *_metadata, struct err_vm *t)
{
	struct ucall uc;

	EXPECT_EQ(run_to_ucall(t->vcpu, &uc), UCALL_DONE);
}

/* Synchronous path: every arch, async PF or not. */
TEST(sync_fault_exits)
{
	struct err_vm t = {};

	ASSERT_TRUE(kvm_check_cap(KVM_CAP_APF_FEATURES) &
		    KVM_APF_FEATURE_ERROR_EXIT);
	err_vm_create(&t, guest_touch, false, false);
	expect_stage(_metadata, &t, STAGE_ARMED, 0);
	truncate_bad_page(&t);

	/* The first entry exits; re-entering unfixed exits the same way. */
	EXPECT_EQ(expect_error_exit(_metadata, &t), 0);
	EXPECT_EQ(expect_error_exit(_metadata, &t), 0);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_not_present"), 0);

	restore_file(&t);
	expect_stage(_metadata, &t, STAGE_READ, 0);	/* a fresh zero page */
	TH_LOG("outcome: exit gpa %#lx error %d token 0, twice; fixed: reads 0",
	       t.bad_gpa, EFAULT);
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

/*
 * The VMM unmaps the guest memory under a slot and keeps the slot: the
 * same exit (KVM finds no memory at the slot's address), token 0, until
 * the memory is mapped again.
 */
TEST(sync_fault_munmapped)
{
	struct err_vm t = {};
	void *p;
	u64 gpa;

	err_vm_create(&t, guest_touch, false, false);
	expect_stage(_metadata, &t, STAGE_ARMED, 0);
	ASSERT_EQ(munmap(t.bad_hva, t.page_size), 0);

	EXPECT_EQ(expect_error_exit(_metadata, &t), 0);
	EXPECT_EQ(expect_error_exit(_metadata, &t), 0);
	gpa = t.vcpu->run->memory_fault.gpa;

	p = mmap(t.bad_hva, t.page_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, t.fd, t.bad_off);
	ASSERT_EQ(p, t.bad_hva);
	expect_stage(_metadata, &t, STAGE_READ, 0);
	TH_LOG("outcome: exit gpa %#lx (bad page %#lx) token 0, twice; mapped again: reads 0",
	       gpa, t.bad_gpa);
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

#define HUGE_2M		(2ul << 20)

/* Free 2M hugetlb pages (the e2e boot reserves some with hugepages=). */
static u64 free_huge_2m(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
			"r");
	unsigned long n = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/*
 * Guest memory on hugetlbfs (2M pages, mapped as blocks where the arch can):
 * the file loses the second huge page, the guest touches a 4K page inside
 * it that is not its first.  The exit names the host page that holds the
 * faulting address, not the huge page's base.
 */
static void hugetlb_err_vm_create(struct __test_metadata *_metadata,
				  struct err_vm *t, bool use_apf)
{
	/* Not HugePages_Free of /proc/meminfo: the library exits on none. */
	if (free_huge_2m() < 2 ||
	    get_backing_src_pagesz(VM_MEM_SRC_SHARED_HUGETLB) != HUGE_2M)
		SKIP(return, "needs 2 free 2M hugetlb pages, the default size (hugepages=N)");
	__err_vm_create(t, guest_touch, use_apf, false,
			VM_MEM_SRC_SHARED_HUGETLB, 2 * HUGE_2M,
			(HUGE_2M + 3 * getpagesize()) / getpagesize());
}

TEST(sync_fault_hugetlb)
{
	struct err_vm t = {};
	u64 gpa;

	hugetlb_err_vm_create(_metadata, &t, false);
	if (!t.vm)
		return;
	expect_stage(_metadata, &t, STAGE_ARMED, 0);
	truncate_bad_page(&t);

	EXPECT_EQ(expect_error_exit(_metadata, &t), 0);
	EXPECT_EQ(expect_error_exit(_metadata, &t), 0);
	gpa = t.vcpu->run->memory_fault.gpa;

	restore_file(&t);
	expect_stage(_metadata, &t, STAGE_READ, 0);
	TH_LOG("outcome: exit gpa %#lx (page %#lx of %#lx) token 0, twice; fixed: reads 0",
	       gpa, t.bad_gpa, t.bad_gpa & ~(HUGE_2M - 1));
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

TEST(async_fault_hugetlb)
{
	struct err_vm t = {};
	u32 token;
	u64 gpa;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	hugetlb_err_vm_create(_metadata, &t, true);
	if (!t.vm)
		return;
	expect_stage(_metadata, &t, STAGE_ARMED, 0);
	truncate_bad_page(&t);

	token = expect_error_exit(_metadata, &t);
	EXPECT_NE(token, 0);
	EXPECT_EQ(expect_error_exit(_metadata, &t), token);
	gpa = t.vcpu->run->memory_fault.gpa;

	restore_file(&t);
	expect_stage(_metadata, &t, STAGE_READ, 0);
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(apf_log_readied(token), 1);
	TH_LOG("outcome: exit gpa %#lx (page %#lx of %#lx) token %#x, twice; ready %lu",
	       gpa, t.bad_gpa, t.bad_gpa & ~(HUGE_2M - 1), token,
	       apf_log_readied(token));
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

/*
 * Async path, guest not opted in: told "not present" once, never "ready"
 * for a page that is not there; the VMM gets the exit with the token.
 */
TEST(async_fault_exits)
{
	struct err_vm t = {};
	u64 np, ready;
	u32 token;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	err_vm_create(&t, guest_touch, true, false);
	expect_stage(_metadata, &t, STAGE_ARMED, 0);
	np = stat_or_zero(t.vcpu, "apf_not_present");
	ready = stat_or_zero(t.vcpu, "apf_ready");
	truncate_bad_page(&t);

	/*
	 * The fault-in fails at once, so the exit may come before the guest
	 * ran its "not present" handler (the #PF stays pending meanwhile).
	 */
	token = expect_error_exit(_metadata, &t);
	EXPECT_NE(token, 0);
	/* Bounded: one "not present", no "ready", one error. */
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_not_present"), np + 1);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_ready"), ready);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_error"), 1);

	/* Re-entry without a fix: the same exit, nothing else changes. */
	EXPECT_EQ(expect_error_exit(_metadata, &t), token);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_not_present"), np + 1);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_ready"), ready);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_error"), 1);

	/* Fixed: the guest hears "ready" for the token and reads the page. */
	restore_file(&t);
	expect_stage(_metadata, &t, STAGE_READ, 0);
	sync_global_from_guest(t.vm, apf_log);
	ASSERT_EQ(apf_log.not_present, 1);
	EXPECT_EQ(apf_log.np_token[0], token);
	EXPECT_EQ(apf_log_readied(token), 1);
	EXPECT_EQ(apf_log.errors, 0);
	EXPECT_EQ(apf_log.unexpected, 0);
	TH_LOG("outcome: exit gpa %#lx error %d token %#x, twice; fixed: %lu np, %lu ready",
	       t.bad_gpa, EFAULT, token, apf_log.not_present,
	       apf_log_readied(token));
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

/* Async path, guest opted in: "ready" carries the error, no exit. */
TEST(async_error_status)
{
	struct err_vm t = {};
	struct ucall uc;
	u64 np, i;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	err_vm_create(&t, guest_touch, true, true);
	vm_enable_cap(t.vm, KVM_CAP_APF_FEATURES, KVM_APF_FEATURE_GUEST_ERROR);
	expect_stage(_metadata, &t, STAGE_ARMED, 0);
	np = stat_or_zero(t.vcpu, "apf_not_present");
	truncate_bad_page(&t);

	/* KVM_RUN succeeds: the guest itself reports the error. */
	ASSERT_EQ(run_to_ucall(t.vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], APF_SYNC_ERROR);
	EXPECT_EQ(uc.args[2], EFAULT);
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(uc.args[1], apf_log.np_token[apf_log.not_present - 1]);
	/* What a guest names in its SIGBUS, where the host reports it. */
	EXPECT_EQ(apf_log.np_addr[apf_log.not_present - 1],
		  apf_arch_fault_addr ? t.bad_gpa : 0);
	EXPECT_EQ(apf_log.errors, 1);
	for (i = 0; i < apf_log.ready; i++)
		if (apf_log.ready_token[i] == uc.args[1])
			EXPECT_EQ(apf_log.ready_status[i], EFAULT);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_not_present"), np + 1);
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_error"), 1);
	TH_LOG("outcome: no exit; ready for %#lx, status %lu; guest errors %lu",
	       uc.args[1], uc.args[2], apf_log.errors);

	/* The guest retries once the file is back. */
	restore_file(&t);
	expect_stage(_metadata, &t, STAGE_READ, 0);
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

static int enable_cap(struct kvm_vm *vm, u32 flags, u64 a0, u64 a1)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_APF_FEATURES, .flags = flags,
		.args = { a0, a1 },
	};

	return ioctl(vm->fd, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

/* The VMM's bad input: every arch. */
TEST(enable_cap_bad_input)
{
	int features = kvm_check_cap(KVM_CAP_APF_FEATURES);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_touch);

	EXPECT_TRUE(features & KVM_APF_FEATURE_ERROR_EXIT);
	EXPECT_EQ(enable_cap(vm, 0, 1ull << 31, 0), -EINVAL);
	EXPECT_EQ(enable_cap(vm, 0, KVM_APF_FEATURE_ERROR_EXIT, 0), -EINVAL);
	EXPECT_EQ(enable_cap(vm, 0, 0, 1), -EINVAL);
	EXPECT_EQ(enable_cap(vm, 1, 0, 0), -EINVAL);
	/* A new VM starts with nothing enabled; refusals enabled nothing. */
	EXPECT_EQ(vm_check_cap(vm, KVM_CAP_APF_FEATURES_ENABLED), 0);
	EXPECT_EQ(enable_cap(vm, 0, KVM_APF_FEATURE_GUEST_ERROR, 0),
		  features & KVM_APF_FEATURE_GUEST_ERROR ? 0 : -EINVAL);
	EXPECT_EQ(vm_check_cap(vm, KVM_CAP_APF_FEATURES_ENABLED),
		  features & KVM_APF_FEATURE_GUEST_ERROR);
	EXPECT_EQ(enable_cap(vm, 0, 0, 0), 0);
	EXPECT_EQ(vm_check_cap(vm, KVM_CAP_APF_FEATURES_ENABLED), 0);
	kvm_vm_free(vm);
}

/*
 * The guest's bad input: malformed enables take a fault and change nothing;
 * opting in to error status needs the VMM's consent, which a rejected
 * KVM_ENABLE_CAP did not give.
 */
TEST(guest_bad_enables)
{
	struct err_vm t = {};

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	err_vm_create(&t, guest_enables, false, true);
	expect_stage(_metadata, &t, 1, 0);		/* none accepted */
	EXPECT_EQ(enable_cap(t.vm, 0, KVM_APF_FEATURE_GUEST_ERROR | 1ull << 31, 0),
		  -EINVAL);
	expect_stage(_metadata, &t, 2, false);		/* still refused */
	ASSERT_EQ(enable_cap(t.vm, 0, KVM_APF_FEATURE_GUEST_ERROR, 0), 0);
	expect_stage(_metadata, &t, 3, true);		/* now allowed */
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

/*
 * The VMM revokes its consent after the guest opted in: the opt-in stays in
 * force, and the VMM can write back the enable word it reads (as every VMM
 * does on a state sync or a migration); a new opt-in, by the guest or the
 * VMM, is refused once the bit is off.
 */
static void guest_consent(void)
{
	GUEST_SYNC2(1, guest_apf_try_enable_errors());
	GUEST_SYNC2(2, guest_apf_try_enable_errors());
	GUEST_SYNC2(3, guest_apf_try_enable_errors());
	guest_apf_disable();
	GUEST_DONE();
}

TEST(error_status_consent_revoked)
{
	struct err_vm t = {};
	u64 en;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	err_vm_create(&t, guest_consent, false, true);
	ASSERT_EQ(enable_cap(t.vm, 0, KVM_APF_FEATURE_GUEST_ERROR, 0), 0);
	expect_stage(_metadata, &t, 1, true);		/* opted in */
	ASSERT_EQ(enable_cap(t.vm, 0, 0, 0), 0);	/* consent revoked */
	en = apf_vmm_get_enable(t.vcpu);
	EXPECT_TRUE(en & apf_arch_en_error_status);
	EXPECT_EQ(apf_vmm_set_enable(t.vcpu, en), 0);	/* its own value */
	EXPECT_EQ(apf_vmm_get_enable(t.vcpu), en);
	expect_stage(_metadata, &t, 2, true);		/* still in force */
	EXPECT_EQ(apf_vmm_set_enable(t.vcpu, en & ~apf_arch_en_error_status), 0);
	EXPECT_EQ(apf_vmm_set_enable(t.vcpu, en), -EINVAL);	/* new opt-in */
	EXPECT_EQ(apf_vmm_get_enable(t.vcpu), en & ~apf_arch_en_error_status);
	expect_stage(_metadata, &t, 3, false);		/* refused */
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

/* Async path, guest not opted in: an error exit for the bad page's token. */
static u32 async_error_exit(struct __test_metadata *_metadata, struct err_vm *t)
{
	u32 token;

	err_vm_create(t, guest_touch, true, false);
	expect_stage(_metadata, t, STAGE_ARMED, 0);
	truncate_bad_page(t);
	token = expect_error_exit(_metadata, t);
	EXPECT_NE(token, 0);
	return token;
}

/*
 * The VMM fixes a failed fault by moving the memory: the slot is deleted,
 * its mapping gone, and a new slot with other memory takes the same gpa.
 * The retry finds the new memory (KVM translates the gfn again); the guest
 * hears "ready" for the token and reads the new page.
 */
TEST(async_fault_memslot_moved)
{
	struct userspace_mem_region *region;
	struct err_vm t = {};
	void *old, *blocker;
	size_t old_size;
	u32 token;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	token = async_error_exit(_metadata, &t);

	region = memslot2region(t.vm, TEST_SLOT);
	old = region->mmap_start;
	old_size = region->mmap_size;
	vm_mem_region_delete(t.vm, TEST_SLOT);
	/* Keep the old range unmapped for KVM: the new memory lands elsewhere. */
	blocker = mmap(old, old_size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(blocker, old);
	vm_userspace_mem_region_add(t.vm, VM_MEM_SRC_SHMEM, TEST_GPA, TEST_SLOT,
				    TEST_PAGES, 0);

	expect_stage(_metadata, &t, STAGE_READ, 0);
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(apf_log.not_present, 1);
	EXPECT_EQ(apf_log_readied(token), 1);
	EXPECT_EQ(apf_log.errors, 0);
	TH_LOG("outcome: exit token %#x; slot moved: ready %lu, page read",
	       token, apf_log_readied(token));
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
	munmap(blocker, old_size);
}

/*
 * The VMM deletes the slot and puts no memory back: the fault is released
 * ("ready" for the token), and the guest's retry meets the gpa as it now is,
 * memory of no slot: an MMIO exit for that address.
 */
TEST(async_fault_memslot_deleted)
{
	struct err_vm t = {};
	u32 token;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	token = async_error_exit(_metadata, &t);
	vm_mem_region_delete(t.vm, TEST_SLOT);

	vcpu_run(t.vcpu);
	EXPECT_EQ(t.vcpu->run->exit_reason, KVM_EXIT_MMIO);
	EXPECT_EQ(t.vcpu->run->mmio.phys_addr, t.bad_gpa);
	EXPECT_FALSE(t.vcpu->run->mmio.is_write);
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(apf_log_readied(token), 1);
	TH_LOG("outcome: exit token %#x; slot deleted: ready %lu, MMIO exit at %#llx",
	       token, apf_log_readied(token), t.vcpu->run->mmio.phys_addr);
	kvm_vm_free(t.vm);
}

static int apf_complete(struct kvm_vcpu *vcpu, u32 token, s32 status,
			u32 flags)
{
	struct kvm_apf_completion c = {
		.token = token, .status = status, .flags = flags,
	};

	return ioctl(vcpu->fd, KVM_APF_COMPLETE, &c) ? -errno : 0;
}

/*
 * The VMM gives up on a held failure (to inject a machine check or an
 * external abort, say): KVM_APF_COMPLETE with an error.  The guest hears
 * "ready", retries, and the retry is a synchronous fault whose exit (token
 * 0) stops the vCPU at the faulting instruction.  Bad input changes nothing.
 */
TEST(async_fault_vmm_gives_up)
{
	struct err_vm t = {};
	u64 ready;
	u32 token;

	if (apf_arch_unsupported())
		SKIP(return, "%s", apf_arch_unsupported());
	token = async_error_exit(_metadata, &t);
	ready = stat_or_zero(t.vcpu, "apf_ready");

	EXPECT_EQ(apf_complete(t.vcpu, token, -EIO, 1), -EINVAL);
	EXPECT_EQ(apf_complete(t.vcpu, token + 1, -EIO, 0), -ENOENT);
	EXPECT_EQ(apf_complete(t.vcpu, token, EIO, 0), -EINVAL);
	EXPECT_EQ(expect_error_exit(_metadata, &t), token);	/* unchanged */
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_ready"), ready);

	EXPECT_EQ(apf_complete(t.vcpu, token, -EIO, 0), 0);
	EXPECT_EQ(expect_error_exit(_metadata, &t), 0);	/* synchronous */
	EXPECT_EQ(stat_or_zero(t.vcpu, "apf_ready"), ready + 1);
	EXPECT_EQ(apf_complete(t.vcpu, token, -EIO, 0), -ENOENT);

	restore_file(&t);
	expect_stage(_metadata, &t, STAGE_READ, 0);
	sync_global_from_guest(t.vm, apf_log);
	EXPECT_EQ(apf_log.not_present, 1);
	EXPECT_EQ(apf_log_readied(token), 1);
	TH_LOG("outcome: exit token %#x; given up: ready %lu, then sync exit token 0",
	       token, apf_log_readied(token));
	expect_done(_metadata, &t);
	kvm_vm_free(t.vm);
}

TEST_HARNESS_MAIN
