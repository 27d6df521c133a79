// SPDX-License-Identifier: GPL-2.0-only
/*
 * apf_teardown_test: VMs destroyed with async page faults in flight, in
 * every state an item can be in (apf_teardown.h), and no fault-in work
 * running after the VM is gone.
 *
 * In KVM a vCPU is destroyed only with its VM (the last reference to the VM
 * goes, kvm_destroy_vm() destroys every vCPU): each VM here has one vCPU,
 * so each round destroys one VM and one vCPU with its fault in flight.
 * vm_destroyed_in_every_state cycles through the states, 1000 rounds
 * (APF_TEARDOWN_ROUNDS= for another count); kmemleak_clean, last in the
 * e2e list, checks that nothing was leaked.
 *
 * cve_2024_26976_no_work_after_destroy is the regression test named after
 * CVE-2024-26976 (async PF work ran after its vCPU was destroyed and, with
 * KVM a module, after the module was gone): 100 rounds in the states with a
 * fault-in running (blocked in the userfaultfd) when the VM goes; the
 * destroy must wait for it.  Without the wait (common/core.c:
 * kvm_apf_clear()'s cancel_work_sync() and free_item()'s flush_work()) the
 * destroy returns with the worker blocked, the round fails, and the worker,
 * released, touches the freed vCPU (KASAN: use-after-free).
 */
#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "apf_guest.h"
#include "apf_util.h"
#include "apf_teardown.h"

static void run_rounds(struct __test_metadata *_metadata, int rounds,
		       const enum state *states, int nstates)
{
	struct totals tot = {};
	double t0 = now();
	const char *why;
	int i, done;

	why = teardown_setup();
	if (why)
		SKIP(return, "%s", why);
	/* A round whose fault went synchronous did not reach its state. */
	for (i = 0, done = 0; done < rounds && __test_passed(_metadata); i++) {
		int sync = tot.sync;

		one_round(_metadata, states[done % nstates], i, &tot);
		if (tot.sync == sync)
			done++;
		else
			ASSERT_LE(tot.sync, rounds / 20 + 2)
				TH_LOG("%d of %d faults were synchronous", tot.sync, i + 1);
	}
	EXPECT_EQ(teardown_late_completions(), 0);
	teardown_report(_metadata, &tot, done, now() - t0);
}

/* No fixture: only for the harness's per-test timeouts (default 30 s). */
FIXTURE(apf) {};
FIXTURE_SETUP(apf) {}
FIXTURE_TEARDOWN(apf) {}

TEST_F_TIMEOUT(apf, vm_destroyed_in_every_state, 2400)
{
	const char *env = getenv("APF_TEARDOWN_ROUNDS");

	run_rounds(_metadata, env ? atoi(env) : 1000, all_states,
		   ARRAY_SIZE(all_states));
}

static const enum state running_states[] = {
#ifdef __x86_64__
	ST_NOT_NOTIFIED,
#endif
	ST_NOTIFIED, ST_WORKER,
};

TEST_F_TIMEOUT(apf, cve_2024_26976_no_work_after_destroy, 500)
{
	run_rounds(_metadata, 100, running_states, ARRAY_SIZE(running_states));
}

TEST_HARNESS_MAIN
