/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of the async PF core, the same on every architecture (the
 * binary stats count the same events).  Backends may keep their own events
 * (x86 keeps upstream's kvm_async_pf_*).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvm_apf

#if !defined(_TRACE_KVM_APF_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_KVM_APF_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(kvm_apf_token,
		    TP_PROTO(u32 vcpu_id, u32 token, u64 gfn, int result),
		    TP_ARGS(vcpu_id, token, gfn, result),
		    TP_STRUCT__entry(__field(u32, vcpu_id)
				     __field(u32, token)
				     __field(u64, gfn)
				     __field(int, result)),
		    TP_fast_assign(__entry->vcpu_id = vcpu_id;
				   __entry->token = token;
				   __entry->gfn = gfn;
				   __entry->result = result;),
		    TP_printk("vcpu %u token %#x gfn %#llx result %d",
			      __entry->vcpu_id, __entry->token, __entry->gfn,
			      __entry->result));

#define KVM_APF_EVENT(name)						\
	DEFINE_EVENT(kvm_apf_token, name,				\
		     TP_PROTO(u32 vcpu_id, u32 token, u64 gfn, int result), \
		     TP_ARGS(vcpu_id, token, gfn, result))

/* The guest was told "page not present" for @token. */
KVM_APF_EVENT(kvm_apf_not_present);
/* The guest was told "page ready" for @token (~0: wake all) with @result. */
KVM_APF_EVENT(kvm_apf_ready);
/*
 * Writing "page ready" for @token into the guest failed with @result and no
 * signal was pending (a pending one defers it to the next entry): dropped.
 */
KVM_APF_EVENT(kvm_apf_ready_lost);
/* The fault of @token failed with @result (once per fault). */
KVM_APF_EVENT(kvm_apf_error);
/* @token's failure goes to the VMM as a memory-fault exit (each time). */
KVM_APF_EVENT(kvm_apf_error_exit);
/* A fault on @gfn while one on it is in flight: it waits synchronously. */
KVM_APF_EVENT(kvm_apf_dup_suppressed);
/*
 * A fault on @gfn is handled synchronously: @result says why (-EEXIST: a
 * fault on @gfn is in flight, i.e. a suppressed duplicate; -EBUSY: the
 * limit; -ENOMEM; -EFAULT: no host address; -EAGAIN: the storm guard is on).
 */
KVM_APF_EVENT(kvm_apf_sync_fallback);
/* An async candidate on @gfn goes to the VMM as a memory-fault exit. */
KVM_APF_EVENT(kvm_apf_vmm_candidate);
/* The VMM accepted (@result 1) the candidate @token, or did not (0). */
KVM_APF_EVENT(kvm_apf_vmm_decided);
/* VMM-owned @token was posted to the VMM's ring (@result 0) or not (-errno). */
KVM_APF_EVENT(kvm_apf_vmm_posted);

/*
 * The storm guard of @vcpu_id turned on (@on: after @strikes "not present"
 * told while a "page ready" could not be delivered) or off (the guest
 * acknowledged a "page ready", re-enabled or disabled async PF).
 */
TRACE_EVENT(kvm_apf_storm_guard,
	    TP_PROTO(u32 vcpu_id, bool on, u32 strikes),
	    TP_ARGS(vcpu_id, on, strikes),
	    TP_STRUCT__entry(__field(u32, vcpu_id)
			     __field(bool, on)
			     __field(u32, strikes)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;
			   __entry->on = on;
			   __entry->strikes = strikes;),
	    TP_printk("vcpu %u %s strikes %u", __entry->vcpu_id,
		      __entry->on ? "on" : "off", __entry->strikes));

#endif /* _TRACE_KVM_APF_H */

#include <trace/define_trace.h>
