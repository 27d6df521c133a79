#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# export.sh: the change as a git format-patch series against the base, one
# patch per component (core, x86, arm64, uAPI, docs, tests), written to
# .build/export/patches/.  Apply with "git am" on the base tree.
set -euo pipefail
. "$(dirname "$0")/env.sh"

ex=$BUILD/export
rm -rf "$ex" && mkdir -p "$ex/repo"
cd "$ex/repo"
git init -q
git config user.name "${GIT_AUTHOR_NAME:-KVM APF}"
git config user.email "${GIT_AUTHOR_EMAIL:-kvm-apf@invalid}"

# Base: the pristine copies of every upstream file a hook edits.
all=$(cat "$TREE/.apf-manifest")
for f in $all; do
	if [ -f "$KDIR/$f" ]; then
		mkdir -p "$(dirname "$f")" && cp "$KDIR/$f" "$f"
	fi
done
git add -A && git commit -qm "base: $(make -s -C "$KDIR" kernelversion 2>/dev/null)" --allow-empty

# component  layout paths (repo)   subject
series="common:Kconfig,common/,common/kvm_apf.h:KVM: async PF: generic core in virt/kvm/apf
arch-x86:arch-x86/:KVM: x86: async PF backend on the generic core
arch-arm64:arch-arm64/:KVM: arm64: async PF backend (SDEI, PPI)
guest:guest/,guest/kvm_apf_guest.h:virt: async PF guest side (shared table, x86 SIGBUS, arm64)
uapi:uapi/:KVM: async PF: uAPI
Documentation:Documentation/:Documentation: KVM: async PF layer
tests:tests/e2e/:KVM: selftests: async PF end-to-end tests"

while IFS=: read -r comp paths subject; do
	files=""
	for rp in ${paths//,/ }; do
		kp=$(awk -v r="$rp" '$1 == r {print $2}' "$REPO/scripts/layout")
		files="$files $(grep -E "^${kp//./\\.}" <<< "$all" || true)"
	done
	for p in "$REPO/$comp"/hooks/*.patch; do
		[ -f "$p" ] && files="$files $(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p")"
	done
	for f in $files; do
		mkdir -p "$(dirname "$f")" && cp "$TREE/$f" "$f"
	done
	git add -A
	git diff --cached --quiet && continue
	reasons=$(sed -n 's/^Reason: /- /p' "$REPO/$comp"/hooks/*.patch 2>/dev/null || true)
	git commit -qm "$subject" ${reasons:+-m "Hooks into upstream files:
$reasons"}
done <<< "$series"

git format-patch -q -o "$ex/patches" HEAD~"$(($(git rev-list --count HEAD) - 1))"
ls "$ex/patches"
