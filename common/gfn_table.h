/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Duplicate-fault suppression for the KVM async PF core: the set of gfns
 * with an async fault in flight on one vCPU.
 */
#ifndef __KVM_APF_GFN_TABLE_H
#define __KVM_APF_GFN_TABLE_H

#include <linux/kvm_types.h>
#include <linux/types.h>

/* Upper bound on a table's capacity, to keep one vCPU's table small. */
#define KVM_APF_GFN_TABLE_MAX	4096

/**
 * struct kvm_apf_gfn_table - open-addressed set of gfns
 * @slots: 2^@order entries, each a gfn or KVM_APF_GFN_EMPTY
 * @order: log2 of the number of slots
 * @capacity: most gfns the table accepts; at most half the slots, so that
 *	every probe sequence reaches an empty slot after O(1) steps on average
 * @count: gfns in the table
 */
struct kvm_apf_gfn_table {
	gfn_t *slots;
	u32 order;
	u32 capacity;
	u32 count;
};

int kvm_apf_gfn_table_init(struct kvm_apf_gfn_table *t, u32 capacity);
void kvm_apf_gfn_table_destroy(struct kvm_apf_gfn_table *t);
void kvm_apf_gfn_table_reset(struct kvm_apf_gfn_table *t);
int kvm_apf_gfn_add(struct kvm_apf_gfn_table *t, gfn_t gfn);
bool kvm_apf_gfn_find(const struct kvm_apf_gfn_table *t, gfn_t gfn);
bool kvm_apf_gfn_del(struct kvm_apf_gfn_table *t, gfn_t gfn);

#endif /* __KVM_APF_GFN_TABLE_H */
