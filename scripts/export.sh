#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# export.sh: the change as a git format-patch series against the base, one
# patch per component, with a cover letter, written to .build/export/patches/
# and checked with checkpatch --strict.  Apply with "git am" on the base tree
# ("make export-check" does, building every patch on both arches).
#
# Each patch's subject and changelog are scripts/export/NN-COMPONENT.txt (first
# line the subject, then the body); the hooks' "Reason:" lines are appended.
# The cover letter is scripts/export/00-cover-letter.txt.  Author and
# Signed-off-by: GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL, else this repository's
# git config user.name/user.email.
set -euo pipefail
. "$(dirname "$0")/env.sh"

name=${GIT_AUTHOR_NAME:-$(git -C "$REPO" config user.name || true)}
email=${GIT_AUTHOR_EMAIL:-$(git -C "$REPO" config user.email || true)}
if [ -z "$name" ] || [ -z "$email" ]; then
	echo "export: no author: set git config user.name and user.email" \
	     "(or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL)" >&2
	exit 1
fi
texts=$REPO/scripts/export

ex=$BUILD/export
rm -rf "$ex" && mkdir -p "$ex/repo"
cd "$ex/repo"
git init -q
git config user.name "$name"
git config user.email "$email"
export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email

# Base: the pristine copies of every upstream file a hook edits, and
# MAINTAINERS (patch 1 adds the layer's entry).
all=$(cat "$TREE/.apf-manifest")
for f in $all MAINTAINERS; do
	if [ -f "$KDIR/$f" ]; then
		mkdir -p "$(dirname "$f")" && cp "$KDIR/$f" "$f"
	fi
done
git add -A && git commit -qm "base: $(make -s -C "$KDIR" kernelversion 2>/dev/null)" --allow-empty
base=$(git rev-parse HEAD)

# The order makes every patch build on its own (x86_64 and arm64):
# - uapi first: the core, the backends and the guest side use its numbers.
# - common: the core's files and the hooks that only reach it (Kconfig and
#   Makefile includes, binary stats, the capability and vCPU ioctl, all
#   under CONFIG_KVM_APF_CORE).  The arch options (KVM_APF_X86,
#   KVM_APF_ARM64) are in the backends' own Kconfig files and nothing
#   selects the core yet, so this patch changes no built kernel.
# - one-engine: x86 and s390 move to the core together with the generic
#   code (vcpu->async_pf becomes the core's state, vCPU create/destroy go
#   through it, async_pf.c is deleted): x86.c and kvm-s390.c use async_pf.c
#   until then, so none of the three can come alone.  The x86 backend's
#   files come here too, and the KVM_RUN hook of VMM-driven faults (it needs
#   the core's state in struct kvm_vcpu).
# - arch-arm64: a new user of the core.
# - guest: needs the uAPI and the core's header; it is the guest half of the
#   backends' ABI, so after them.
# - Documentation, tests (selftests run against all of the above).
# NN-component: layout paths (repository side) and hook patches (a path
# with /hooks/, a glob); a component's other hooks (COMPONENT/hooks/*.patch,
# unless another line names them) come with it.
series="01-uapi:uapi/
02-common:Kconfig,common/,common/kvm_apf.h,common/trace.h
03-one-engine:arch-x86/,common/hooks/0003-*,common/hooks/0006-*,common/hooks/0007-*,arch-x86/hooks/*,arch-s390/hooks/*
04-arch-arm64:arch-arm64/,arch-arm64/asm/kvm_apf.h
05-guest:guest/,guest/kvm_apf_guest.h
06-Documentation:Documentation/
07-tests:tests/e2e/"
# Hook patches a series line names, so that no other line takes them.
named_hooks=$(for rp in $(cut -d: -f2 <<< "$series" | tr ',' ' '); do
	case $rp in */hooks/*) ls "$REPO"/$rp ;; esac
done)


maintainers_entry() {
	cat <<-EOT
	KERNEL VIRTUAL MACHINE (KVM) ASYNC PAGE FAULTS
	M:	$name <$email>
	L:	kvm@vger.kernel.org
	S:	Maintained
	F:	Documentation/virt/kvm/apf/
	F:	arch/arm64/include/asm/kvm_apf.h
	F:	arch/arm64/kvm/apf/
	F:	arch/x86/kvm/apf/
	F:	include/linux/kvm_apf.h
	F:	include/linux/kvm_apf_guest.h
	F:	include/trace/events/kvm_apf.h
	F:	tools/testing/selftests/kvm/apf/
	F:	virt/kvm/Kconfig.apf
	F:	virt/kvm/apf/
	F:	virt/lib/kvm_apf_guest/

	EOT
}

applied=""
while IFS=: read -r nn paths; do
	comp=${nn#??-}
	txt=$texts/$nn.txt
	[ -f "$txt" ] || { echo "export: $txt missing" >&2; exit 1; }
	files="" hooks=""
	for rp in ${paths//,/ }; do
		case $rp in */hooks/*) hooks="$hooks $(ls "$REPO"/$rp)"; continue ;; esac
		kp=$(awk -v r="$rp" '$1 == r {print $2}' "$REPO/scripts/layout")
		files="$files $(grep -E "^${kp//./\\.}" <<< "$all" || true)"
	done
	for p in "$REPO/$comp"/hooks/*.patch; do
		[ -f "$p" ] && ! grep -qxF "$p" <<< "$named_hooks" && hooks="$hooks $p"
	done
	# The project's own files as the tree has them; the hooks applied to
	# the upstream files as they are at this point of the series.
	for f in $files; do
		[ -f "$KDIR/$f" ] && continue	# upstream's: changed by hooks only
		mkdir -p "$(dirname "$f")" && cp "$TREE/$f" "$f"
	done
	applied="$applied $hooks"
	for p in $hooks; do
		patch -p1 -N -F0 -s --no-backup-if-mismatch -r - < "$p" || {
			echo "export: ${p#"$REPO"/} does not apply at $nn" >&2
			exit 1
		}
	done
	case $comp in
	uapi)	# The layer's MAINTAINERS entry, in alphabetical order: after
		# KVM's own, before KVM/arm64's.
		maintainers_entry > "$ex/entry"
		awk -v entry="$ex/entry" '
			$0 == "KERNEL VIRTUAL MACHINE FOR ARM64 (KVM/arm64)" {
				while ((getline l < entry) > 0) print l
			}
			{ print }' MAINTAINERS > "$ex/M"
		mv "$ex/M" MAINTAINERS ;;
	esac
	git add -A
	git diff --cached --quiet && continue
	# Each hook's reason, wrapped to 72 columns as a list item.
	reasons=$(for p in $hooks; do sed -n 's/^Reason: //p' "$p"; done |
		while IFS= read -r r; do
			fold -s -w 70 <<< "$r" | sed 's/ *$//; 1s/^/- /; 2,$s/^/  /'
		done || true)
	{
		cat "$txt"
		[ -n "$reasons" ] && printf '\nHooks into upstream files:\n%s\n' "$reasons"
		printf '\nSigned-off-by: %s <%s>\n' "$name" "$email"
	} > "$ex/msg"
	git commit -q -F "$ex/msg"
done <<< "$series"

# The series is the tested tree: every hook applied exactly once, and every
# file the overlay manages as .build/tree has it (or deleted in both).
for p in $("$REPO/scripts/hooks.sh" --list); do
	n=$(tr ' ' '\n' <<< "$applied" | grep -cxF "$p" || true)
	[ "$n" -eq 1 ] || {
		echo "export: ${p#"$REPO"/} is in $n patches of the series, not 1" >&2
		exit 1
	}
done
for f in $all; do
	if [ -e "$TREE/$f" ]; then
		cmp -s "$TREE/$f" "$f" || {
			echo "export: the series leaves $f unlike .build/tree" >&2
			exit 1
		}
	elif [ -e "$f" ]; then
		echo "export: the series keeps $f, which the tree deletes" >&2
		exit 1
	fi
done

# Cover letter: format-patch writes the shortlog and diffstat; we fill in
# the subject and the body.
git format-patch -q --cover-letter --base="$base" -o "$ex/patches" "$base"..HEAD
cover=$(ls "$ex"/patches/0000-*.patch)
subject=$(head -n 1 "$texts/00-cover-letter.txt")
tail -n +3 "$texts/00-cover-letter.txt" > "$ex/body"
awk -v subject="$subject" -v body="$ex/body" '
	/\*\*\* SUBJECT HERE \*\*\*/ { sub(/\*\*\* SUBJECT HERE \*\*\*/, subject) }
	/^\*\*\* BLURB HERE \*\*\*$/ {
		while ((getline l < body) > 0) print l
		print "\nHow to test: in the project'"'"'s tree, \"make test\"."
		next
	}
	{ print }' "$cover" > "$ex/cover" && mv "$ex/cover" "$cover"
ls "$ex/patches"

# checkpatch --strict on every patch (hooks included), with --show-types.
# Ignored, on purpose, everywhere:
#   FILE_PATH_CHANGES: "added, moved or deleted file(s), does MAINTAINERS need
#     updating?" on every patch that adds files; patch 1 adds the layer's
#     MAINTAINERS entry, which covers all of them.
# Allowed at one line only (type, then an extended regex the patch line
# that checkpatch names must match):
#   COMPLEX_MACRO on KVM_APF_VCPU_STATS(): a list of stats descriptors
#     spliced into KVM_GENERIC_VCPU_STATS(), the same idiom as that macro
#     (which checkpatch flags the same way); parentheses would break it.
#   EMBEDDED_FILENAME on 'source "virt/kvm/Kconfig.apf"' in virt/kvm/Kconfig:
#     checkpatch takes the file's own name as a prefix of the other's.
#   PARENTHESIS_ALIGNMENT on the first member of struct_group_tagged() in
#     struct kvm_vcpu_stat_generic: the members are a struct's, indented as
#     in every struct_group() upstream; aligning them with the parenthesis
#     (column 28) gets a TABSTOP warning instead.
#   BIT_MACRO on KVM_ASYNC_PF_ERROR_STATUS, _READY_RING and _DELIVERY_AS_VE
#     in the x86 uAPI asm/kvm_para.h: BIT() is not uAPI; their neighbours
#     KVM_ASYNC_PF_* are (1 << n) too.
allowed='COMPLEX_MACRO ^\+#define KVM_APF_VCPU_STATS\(\)
BIT_MACRO ^\+#define KVM_ASYNC_PF_(ERROR_STATUS|READY_RING|DELIVERY_AS_VE)[[:space:]]+\(1 << [458]\)$
EMBEDDED_FILENAME ^\+source "virt/kvm/Kconfig\.apf"$
PARENTHESIS_ALIGNMENT ^\+\t\tu64 apf_not_present;$'
cp_pl=$TREE/scripts/checkpatch.pl
[ -x "$cp_pl" ] || cp_pl=$KDIR/scripts/checkpatch.pl
bad=0
for p in "$ex"/patches/0*.patch; do
	case $p in */0000-*) continue ;; esac
	out=$("$cp_pl" --strict --no-tree --show-types --ignore FILE_PATH_CHANGES \
	      "$p" 2>&1) || true
	# Drop the allowed messages (a message is a block ending in a blank line).
	left=$(awk -v allowed="$allowed" -v patch="$p" '
		BEGIN {
			n = split(allowed, a, "\n")
			for (i = 1; i <= n; i++) {
				t[i] = substr(a[i], 1, index(a[i], " ") - 1)
				re[i] = substr(a[i], index(a[i], " ") + 1)
			}
			while ((getline l < patch) > 0) pl[++np] = l
		}
		/^(ERROR|WARNING|CHECK):/ { msg = $0; type = $0
			sub(/^[A-Z]+:/, "", type); sub(/:.*/, "", type); next }
		msg != "" && /^#[0-9]+:/ {
			ln = substr($1, 2) + 0; ok = 0
			for (i = 1; i <= n; i++)
				if (type == t[i] && pl[ln] ~ re[i]) ok = 1
			if (!ok) print msg " (" $0 ")"
			msg = ""
		}' <<< "$out")
	total=$(grep -m1 '^total:' <<< "$out" || echo "total: checkpatch failed")
	allow=$(grep -cE '^(ERROR|WARNING|CHECK):' <<< "$out" || true)
	nleft=$(grep -c . <<< "$left" || true)
	echo "checkpatch: ${total#total: } ($((allow - nleft)) allowed)  $(basename "$p")"
	if [ "$nleft" -gt 0 ] || ! grep -q '^total:' <<< "$out"; then
		bad=$((bad + 1))
		printf '%s\n' "$left" | sed 's/^/  /'
		printf '%s\n' "$out" > "$p.checkpatch"
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "export: checkpatch --strict: $bad patch(es) with problems (full output: ${ex#"$REPO"/}/patches/*.checkpatch)" >&2
	exit 1
fi
echo "export: $(ls "$ex"/patches/0*.patch | wc -l) files in ${ex#"$REPO"/}/patches, checkpatch --strict clean"
