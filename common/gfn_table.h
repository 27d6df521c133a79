/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Duplicate-fault suppression for the KVM async PF core: the set of gfns
 * with an async fault in flight on one vCPU.
 */
#ifndef __KVM_APF_GFN_TABLE_H
#define __KVM_APF_GFN_TABLE_H

#include <linux/kvm_host.h>

/* Upper bound on a table's capacity, to keep one vCPU's table small. */
#define KVM_APF_GFN_TABLE_MAX	KVM_APF_MAX_LIMIT

int kvm_apf_gfn_table_init(struct kvm_apf_gfn_table *t, u32 capacity);
void kvm_apf_gfn_table_destroy(struct kvm_apf_gfn_table *t);
void kvm_apf_gfn_table_reset(struct kvm_apf_gfn_table *t);
int kvm_apf_gfn_add(struct kvm_apf_gfn_table *t, gfn_t gfn);
bool kvm_apf_gfn_find(const struct kvm_apf_gfn_table *t, gfn_t gfn);
bool kvm_apf_gfn_del(struct kvm_apf_gfn_table *t, gfn_t gfn);

#endif /* __KVM_APF_GFN_TABLE_H */
