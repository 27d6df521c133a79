// SPDX-License-Identifier: GPL-2.0-only
/*
 * Duplicate-fault suppression for the KVM async PF core.
 *
 * While a vCPU waits for an async fault on a gfn, a second fault on the same
 * gfn (another guest task touching the same page) must not start a second
 * piece of work: it is handled synchronously instead.  The core keeps the gfns
 * in flight in this table.  It generalises the table x86 kept in
 * vcpu->arch.apf.gfns[64]: the size is a parameter, the whole gfn is hashed
 * (x86 hashed only the low 32 bits), and every operation is O(1) on average.
 *
 * Open addressing with linear probing.  The table never holds more than half
 * as many gfns as it has slots, so every probe sequence ends at an empty slot;
 * deletion shifts later members of the cluster back instead of leaving
 * tombstones, so lookups never slow down as faults come and go.
 */
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "gfn_table.h"

#define KVM_APF_GFN_EMPTY	(~(gfn_t)0)

static u32 gfn_hash(const struct kvm_apf_gfn_table *t, gfn_t gfn)
{
	return hash_64(gfn, t->order);
}

static u32 next_slot(const struct kvm_apf_gfn_table *t, u32 i)
{
	return (i + 1) & (BIT(t->order) - 1);
}

/* The slot holding @gfn, or the empty slot where its probe sequence ends. */
static u32 gfn_slot(const struct kvm_apf_gfn_table *t, gfn_t gfn)
{
	u32 i = gfn_hash(t, gfn);

	while (t->slots[i] != gfn && t->slots[i] != KVM_APF_GFN_EMPTY)
		i = next_slot(t, i);
	return i;
}

/**
 * kvm_apf_gfn_table_init() - allocate an empty table
 * @t: the table
 * @capacity: most gfns the table must hold at once (the per-vCPU limit of
 *	async faults in flight), 1 to %KVM_APF_GFN_TABLE_MAX
 *
 * Return: 0, -EINVAL for a capacity out of range, or -ENOMEM.
 */
int kvm_apf_gfn_table_init(struct kvm_apf_gfn_table *t, u32 capacity)
{
	u32 order;

	if (!capacity || capacity > KVM_APF_GFN_TABLE_MAX)
		return -EINVAL;

	/* At least twice as many slots as gfns, and at least two slots. */
	order = order_base_2(capacity) + 1;
	t->slots = kmalloc_array(BIT(order), sizeof(*t->slots),
				 GFP_KERNEL_ACCOUNT);
	if (!t->slots)
		return -ENOMEM;

	t->order = order;
	t->capacity = capacity;
	kvm_apf_gfn_table_reset(t);
	return 0;
}

/**
 * kvm_apf_gfn_table_destroy() - free a table
 * @t: the table, initialised or zeroed
 */
void kvm_apf_gfn_table_destroy(struct kvm_apf_gfn_table *t)
{
	kfree(t->slots);
	t->slots = NULL;
	t->count = 0;
	t->capacity = 0;
}

/**
 * kvm_apf_gfn_table_reset() - forget every gfn
 * @t: the table
 */
void kvm_apf_gfn_table_reset(struct kvm_apf_gfn_table *t)
{
	u32 i;

	for (i = 0; i < BIT(t->order); i++)
		t->slots[i] = KVM_APF_GFN_EMPTY;
	t->count = 0;
}

/**
 * kvm_apf_gfn_add() - record that @gfn has an async fault in flight
 * @t: the table
 * @gfn: the gfn
 *
 * Return: 0; -EEXIST if @gfn is already there; -ENOSPC if the table holds
 * its capacity; -EINVAL for the one value that cannot be a gfn (all ones).
 * On error the table is unchanged.
 */
int kvm_apf_gfn_add(struct kvm_apf_gfn_table *t, gfn_t gfn)
{
	u32 i;

	if (gfn == KVM_APF_GFN_EMPTY)
		return -EINVAL;

	i = gfn_slot(t, gfn);
	if (t->slots[i] == gfn)
		return -EEXIST;
	if (t->count >= t->capacity)
		return -ENOSPC;

	t->slots[i] = gfn;
	t->count++;
	return 0;
}

/**
 * kvm_apf_gfn_find() - is an async fault on @gfn in flight?
 * @t: the table
 * @gfn: the gfn
 *
 * Return: true if @gfn is in the table.
 */
bool kvm_apf_gfn_find(const struct kvm_apf_gfn_table *t, gfn_t gfn)
{
	if (gfn == KVM_APF_GFN_EMPTY)
		return false;
	return t->slots[gfn_slot(t, gfn)] == gfn;
}

/* Does @k, a home slot, lie cyclically in (@i, @j]? */
static bool in_cyclic_range(u32 i, u32 k, u32 j)
{
	return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

/**
 * kvm_apf_gfn_del() - forget @gfn
 * @t: the table
 * @gfn: the gfn
 *
 * Return: true if @gfn was in the table, false (and no change) otherwise.
 */
bool kvm_apf_gfn_del(struct kvm_apf_gfn_table *t, gfn_t gfn)
{
	u32 i, j, k;

	if (gfn == KVM_APF_GFN_EMPTY)
		return false;

	i = gfn_slot(t, gfn);
	if (t->slots[i] != gfn)
		return false;

	/*
	 * Empty slot i, then walk the rest of the cluster: an entry at j whose
	 * home slot k is not in (i, j] was placed past i by probing, and would
	 * become unreachable behind the hole; move it into the hole and carry
	 * on from there.
	 */
	j = i;
	for (;;) {
		t->slots[i] = KVM_APF_GFN_EMPTY;
		do {
			j = next_slot(t, j);
			if (t->slots[j] == KVM_APF_GFN_EMPTY)
				goto out;
			k = gfn_hash(t, t->slots[j]);
		} while (in_cyclic_range(i, k, j));
		t->slots[i] = t->slots[j];
		i = j;
	}
out:
	t->count--;
	return true;
}

#ifdef CONFIG_KVM_APF_KUNIT_TEST
#include "tests/gfn_table_kunit.h"
#endif
