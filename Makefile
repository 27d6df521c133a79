# SPDX-License-Identifier: GPL-2.0
#
# KVM async page fault portability layer: build, test and showcase.
# Everything generated goes to .build/ (ignored by git).  See README.
#
#   make test     install what is missing, build both kernels, run KUnit and
#                 the end-to-end tests on x86_64 and arm64, print the summary
#   make test-kcsan  the same on the KCSAN kernels (data races), results in
#                 .build/results-kcsan/
#   make run      build both kernels, show the async PF scenario side by side
#   make bench    async PF benchmark, both arches in one table (x86: beside the base),
#                 then the lazy-restore scenario: sync, kernel-resolved, VMM-driven
#                 with exits and exitless async PF side by side
#   make stress   KUnit and e2e ROUNDS times (default 20) with the host loaded
#   make snapshot the snapshot/lazy-restore e2e lines (group "snapshot" of
#                 tests/e2e.list, not in make test yet), ROUNDS times (default 1)
#   make postcopy RUNS postcopy migrations (default 30) of a Linux guest by
#                 QEMU inside the x86_64 VM (POSTCOPY_L2_ARGS=no-kvmapf, ...)
#   make hooks    the hooks into upstream files, their reasons and sizes
#   make check    checkpatch --strict, W=1 and sparse on our code (after a build)
#   make tree     only bring .build/tree (base + our files + hooks) up to date
#   make build    only build the kernels (ARCHES="x86_64 arm64")
#   make export   the change as a git format-patch series against the base
#                 (.build/export/patches: cover letter, one patch per
#                 component, ordered so each builds), checkpatch --strict on
#                 every patch; author and Signed-off-by from git config
#   make export-check  the series applied with git am on a git tree of the
#                 base, both arches built after every patch (not in "make
#                 test": a kernel build per arch, then one incremental
#                 build per patch and arch; EXPORT_CHECK_PATCHES=N)
#   make clean    remove .build/ (ccache is kept)
#
# Variables: KDIR=<pristine kernel tree> (default: Debian's linux-source-6.12,
# unpacked into .build/src), ARCHES=, JOBS=, FUZZ_ITERS= (inputs per fuzzer
# and arch in the e2e tier, default 100000).

SHELL := /bin/bash
S := scripts
ARCHES ?= x86_64 arm64
export ARCHES KDIR JOBS

.PHONY: all test test-kcsan run bench stress snapshot postcopy deps tree build hooks check export export-check clean

all: test

deps:
	@$(S)/deps.sh

tree: deps
	@$(S)/tree.sh

build: tree
	@set -e; for a in $(ARCHES); do $(S)/build.sh $$a; done

test: deps
	@$(S)/test.sh

test-kcsan: deps
	@KFLAVOUR=kcsan $(S)/test.sh

run: deps
	@$(S)/run.sh

bench: deps
	@$(S)/bench.sh

stress: deps
	@$(S)/stress.sh $(ROUNDS)

snapshot: deps
	@$(S)/group.sh snapshot $(ROUNDS)

postcopy: tree
	@KFLAVOUR=bench $(S)/build.sh x86_64
	@KFLAVOUR=bench RUNS=$(RUNS) $(S)/postcopy.sh

hooks:
	@$(S)/hooks.sh --stat

check: tree
	@$(S)/check.sh

export: tree
	@$(S)/export.sh

export-check: export
	@$(S)/export-check.sh

clean:
	rm -rf .build
