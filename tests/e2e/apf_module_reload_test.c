// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_module_reload_test: KVM unloaded and loaded again right after VMs
 * were destroyed with async page faults in flight, 100 times.
 *
 * For a kernel whose KVM is modular (KFLAVOUR=modules, x86_64: kvm.ko and
 * kvm-amd.ko; arm64 KVM cannot be a module).  The e2e boot packs the
 * modules as /lib/modules/NAME.ko; this program loads them before the
 * selftests library's own constructor reads kvm's parameters.  Each round
 * destroys a VM with its fault in one of the states of apf_teardown.h (the
 * fault-in blocked in a userfaultfd, completed, failed), then at once
 * removes kvm_amd and kvm (delete_module) and loads them again
 * (finit_module).  A fault-in still running after the destroy (CVE-2024-
 * 26976) would then run in freed module text: the round checks the destroy
 * waited for it, and the boot's log checks catch an oops; kmemleak_clean
 * checks that unloading leaked nothing.  The modules stay loaded at the
 * end, for the tests after this one.
 */
#include <sys/syscall.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"
#include "apf_teardown.h"

#define ROUNDS	100

/*
 * Loaded in this order, removed in the reverse one but for the first:
 * irqbypass, which KVM uses, is loaded once and stays.
 */
static const char *const modules[][2] = {
	{ "irqbypass", "/lib/modules/irqbypass.ko" },
	{ "kvm", "/lib/modules/kvm.ko" },
#ifdef __x86_64__
	{ "kvm_amd", "/lib/modules/kvm-amd.ko" },
#endif
};

static bool module_loaded(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return !access(path, F_OK);
}

/* 0, or -errno of the first module that would not load. */
static int load_modules(void)
{
	unsigned int i;
	int fd, r;

	for (i = 0; i < ARRAY_SIZE(modules); i++) {
		if (module_loaded(modules[i][0]))
			continue;
		fd = open(modules[i][1], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = syscall(__NR_finit_module, fd, "", 0);
		r = r ? -errno : 0;
		close(fd);
		if (r)
			return r;
	}
	return 0;
}

static int unload_modules(void)
{
	int i;

	for (i = ARRAY_SIZE(modules) - 1; i > 0; i--)
		if (syscall(__NR_delete_module, modules[i][0], O_NONBLOCK))
			return -errno;
	return 0;
}

static int load_error;

/* Before the library's constructor: it reads /sys/module/kvm/parameters. */
static void __attribute__((constructor(101))) load_at_start(void)
{
	if (!access("/lib/modules/kvm.ko", F_OK))
		load_error = load_modules();
}

/* No fixture: only for the harness's per-test timeout (default 30 s). */
FIXTURE(apf) {};
FIXTURE_SETUP(apf) {}
FIXTURE_TEARDOWN(apf) {}

TEST_F_TIMEOUT(apf, unload_reload_after_destroy_with_faults_in_flight, 1100)
{
	struct totals tot = {};
	double t0 = now(), t_unload = 0;
	const char *why;
	int i, r;

	if (access("/lib/modules/kvm.ko", F_OK))
		SKIP(return, "KVM is not a module here (no /lib/modules/kvm.ko)");
	ASSERT_EQ(load_error, 0);
	why = teardown_setup();
	if (why)
		SKIP(return, "%s", why);

	for (i = 0; i < ROUNDS && __test_passed(_metadata); i++) {
		double t1;

		one_round(_metadata, all_states[i % ARRAY_SIZE(all_states)],
			  i, &tot);
		if (!__test_passed(_metadata))
			break;
		/* Nothing holds KVM now: the VM's files are all closed. */
		t1 = now();
		r = unload_modules();
		ASSERT_EQ(r, 0) TH_LOG("round %d: delete_module: %d", i, r);
		ASSERT_FALSE(module_loaded("kvm"));
		r = load_modules();
		ASSERT_EQ(r, 0) TH_LOG("round %d: finit_module: %d", i, r);
		t_unload += now() - t1;
		/* tracefs' kvm events went with the module: on again. */
		ASSERT_EQ(trace_setup(), NULL);
	}
	EXPECT_EQ(teardown_late_completions(), 0);
	teardown_report(_metadata, &tot, i, now() - t0);
	TH_LOG("outcome: kvm, kvm_amd unloaded and reloaded %d times, %.0f ms each",
	       i, i ? 1000 * t_unload / i : 0.0);
}

TEST_HARNESS_MAIN
