// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal in-KVM SDEI (Arm DEN0054, v1.0) for arm64 async PF: one private
 * event per vCPU, KVM_APF_ARM64_SDEI_EVENT, which "page not present" signals.
 *
 * It implements the calls Linux's own arm_sdei driver makes to register,
 * enable, receive and complete one private event over the HVC (or SMC)
 * conduit, and nothing else:
 *
 *   VERSION, EVENT_REGISTER, EVENT_ENABLE, EVENT_DISABLE, EVENT_CONTEXT,
 *   EVENT_COMPLETE, EVENT_COMPLETE_AND_RESUME, EVENT_UNREGISTER,
 *   EVENT_STATUS, EVENT_GET_INFO, PE_MASK, PE_UNMASK, PRIVATE_RESET and
 *   SHARED_RESET.
 *
 * Shared events, interrupt binding, routing and signalling answer
 * NOT_SUPPORTED: no shared event exists, and the one event is only ever
 * signalled by KVM, synchronously with the guest's own stage-2 fault.  So
 * there is never an event pending: KVM makes a fault async only when the
 * event can be delivered at once (kvm_apf_sdei_can_deliver()), otherwise it
 * resolves the fault synchronously, as without async PF.  That is what
 * keeps this small where a general SDEI virtualization was not.
 *
 * Delivery is the dispatcher's job in the spec: save the interrupted x0-x17,
 * PC and PSTATE, enter the handler at EL1h with every exception masked,
 * x0 = event, x1 = its argument, x2 = interrupted PC, x3 = interrupted
 * PSTATE; EVENT_COMPLETE restores them.  The handler preserves x18-x30 and
 * SP itself, as the spec requires.
 */
#include <linux/arm-smccc.h>
#include <linux/kvm_host.h>
#include <uapi/linux/arm_sdei.h>
#include <kvm/arm_hypercalls.h>
#include <asm/kvm_emulate.h>

#include "apf.h"

static struct kvm_apf_sdei *vcpu_sdei(struct kvm_vcpu *vcpu)
{
	return &vcpu->arch.apf.sdei;
}

/**
 * kvm_apf_sdei_is_call() - is @func_id an SDEI call?
 * @func_id: an SMCCC function ID
 *
 * Return: true for the SDEI v1.0 range (SMC64, 0xc4000020-0xc400003f).
 */
bool kvm_apf_sdei_is_call(u32 func_id)
{
	return (func_id & SDEI_1_0_MASK) == SDEI_1_0_FN_BASE;
}

/**
 * kvm_apf_sdei_can_deliver() - can the event interrupt the vCPU now?
 * @vcpu: the vCPU
 *
 * Return: true if the guest registered and enabled the event, unmasked
 * its PE, is not running the handler already, and runs AArch64 at EL0 or
 * EL1 with no exception or PC change of KVM's own in flight.
 */
bool kvm_apf_sdei_can_deliver(struct kvm_vcpu *vcpu)
{
	u64 want = KVM_APF_SDEI_REGISTERED | KVM_APF_SDEI_ENABLED |
		   KVM_APF_SDEI_PE_UNMASKED;
	u64 state = vcpu_sdei(vcpu)->state;

	if ((state & (want | KVM_APF_SDEI_RUNNING)) != want)
		return false;
	if (vcpu_mode_is_32bit(vcpu) || vcpu_has_nv(vcpu))
		return false;
	return !vcpu_get_flag(vcpu, PENDING_EXCEPTION) &&
	       !vcpu_get_flag(vcpu, INCREMENT_PC);
}

/**
 * kvm_apf_sdei_deliver() - enter the guest's handler for the event
 * @vcpu: the vCPU, in its own context, kvm_apf_sdei_can_deliver() true
 */
void kvm_apf_sdei_deliver(struct kvm_vcpu *vcpu)
{
	struct kvm_apf_sdei *sdei = vcpu_sdei(vcpu);
	int i;

	for (i = 0; i < SDEI_CTX_GPRS; i++)
		sdei->ctx[i] = vcpu_get_reg(vcpu, i);
	sdei->ctx[SDEI_CTX_PC] = *vcpu_pc(vcpu);
	sdei->ctx[SDEI_CTX_PSTATE] = *vcpu_cpsr(vcpu);
	sdei->state |= KVM_APF_SDEI_RUNNING;

	vcpu_set_reg(vcpu, 0, KVM_APF_ARM64_SDEI_EVENT);
	vcpu_set_reg(vcpu, 1, sdei->arg);
	vcpu_set_reg(vcpu, 2, sdei->ctx[SDEI_CTX_PC]);
	vcpu_set_reg(vcpu, 3, sdei->ctx[SDEI_CTX_PSTATE]);
	*vcpu_pc(vcpu) = sdei->ep;
	*vcpu_cpsr(vcpu) = KVM_APF_SDEI_HANDLER_PSTATE;
}

/**
 * kvm_apf_sdei_reset() - the state of a vCPU out of reset
 * @vcpu: the vCPU
 *
 * No event registered, the PE masked (as SDEI requires after a reset).
 */
void kvm_apf_sdei_reset(struct kvm_vcpu *vcpu)
{
	memset(vcpu_sdei(vcpu), 0, sizeof(struct kvm_apf_sdei));
}

static void sdei_unregister(struct kvm_apf_sdei *sdei)
{
	sdei->state &= KVM_APF_SDEI_PE_UNMASKED;
	sdei->ep = 0;
	sdei->arg = 0;
}

/* EVENT_COMPLETE(_AND_RESUME): back to the interrupted context. */
static void sdei_complete(struct kvm_vcpu *vcpu, bool resume, u64 addr)
{
	struct kvm_apf_sdei *sdei = vcpu_sdei(vcpu);
	int i;

	for (i = 0; i < SDEI_CTX_GPRS; i++)
		vcpu_set_reg(vcpu, i, sdei->ctx[i]);
	if (resume) {
		/* As if an IRQ was taken at EL1 from the interrupted context. */
		vcpu_write_sys_reg(vcpu, sdei->ctx[SDEI_CTX_PC], ELR_EL1);
		vcpu_write_sys_reg(vcpu, sdei->ctx[SDEI_CTX_PSTATE], SPSR_EL1);
		*vcpu_pc(vcpu) = addr;
		*vcpu_cpsr(vcpu) = KVM_APF_SDEI_HANDLER_PSTATE;
	} else {
		*vcpu_pc(vcpu) = sdei->ctx[SDEI_CTX_PC];
		*vcpu_cpsr(vcpu) = sdei->ctx[SDEI_CTX_PSTATE];
	}
	/* An SMC conduit would step over the restored instruction. */
	vcpu_clear_flag(vcpu, INCREMENT_PC);

	sdei->state &= ~KVM_APF_SDEI_RUNNING;
	if (sdei->state & KVM_APF_SDEI_UNREGISTER_PENDING)
		sdei_unregister(sdei);
	memset(sdei->ctx, 0, sizeof(sdei->ctx));
}

static long sdei_get_info(struct kvm_vcpu *vcpu, u64 info)
{
	switch (info) {
	case SDEI_EVENT_INFO_EV_TYPE:
		return SDEI_EVENT_TYPE_PRIVATE;
	case SDEI_EVENT_INFO_EV_SIGNALED:
		return 0;	/* SDEI_EVENT_SIGNAL cannot raise it */
	case SDEI_EVENT_INFO_EV_PRIORITY:
		return SDEI_EVENT_PRIORITY_NORMAL;
	default:		/* routing: private events have none */
		return SDEI_INVALID_PARAMETERS;
	}
}

/* The calls that name an event: it must be ours. */
static long sdei_event_call(struct kvm_vcpu *vcpu, u32 func_id)
{
	struct kvm_apf_sdei *sdei = vcpu_sdei(vcpu);
	bool registered = sdei->state & KVM_APF_SDEI_REGISTERED;
	bool dying = sdei->state & KVM_APF_SDEI_UNREGISTER_PENDING;

	if (smccc_get_arg1(vcpu) != KVM_APF_ARM64_SDEI_EVENT)
		return SDEI_INVALID_PARAMETERS;

	switch (func_id) {
	case SDEI_1_0_FN_SDEI_EVENT_REGISTER: {
		u64 ep = smccc_get_arg2(vcpu);
		u64 flags = vcpu_get_reg(vcpu, 4);

		if (!ep || flags > SDEI_EVENT_REGISTER_RM_PE)
			return SDEI_INVALID_PARAMETERS;
		if (registered)
			return SDEI_DENIED;
		sdei->ep = ep;
		sdei->arg = smccc_get_arg3(vcpu);
		sdei->state |= KVM_APF_SDEI_REGISTERED;
		return SDEI_SUCCESS;
	}
	case SDEI_1_0_FN_SDEI_EVENT_ENABLE:
	case SDEI_1_0_FN_SDEI_EVENT_DISABLE:
		if (!registered || dying)
			return SDEI_DENIED;
		if (func_id == SDEI_1_0_FN_SDEI_EVENT_ENABLE)
			sdei->state |= KVM_APF_SDEI_ENABLED;
		else
			sdei->state &= ~KVM_APF_SDEI_ENABLED;
		return SDEI_SUCCESS;
	case SDEI_1_0_FN_SDEI_EVENT_UNREGISTER:
		if (!registered || dying)
			return SDEI_DENIED;
		if (sdei->state & KVM_APF_SDEI_RUNNING) {
			/* Completes when the handler does. */
			sdei->state |= KVM_APF_SDEI_UNREGISTER_PENDING;
			return SDEI_PENDING;
		}
		sdei_unregister(sdei);
		return SDEI_SUCCESS;
	case SDEI_1_0_FN_SDEI_EVENT_STATUS:
		return (registered ? BIT(SDEI_EVENT_STATUS_REGISTERED) : 0) |
		       (sdei->state & KVM_APF_SDEI_ENABLED ?
			BIT(SDEI_EVENT_STATUS_ENABLED) : 0) |
		       (sdei->state & KVM_APF_SDEI_RUNNING ?
			BIT(SDEI_EVENT_STATUS_RUNNING) : 0);
	case SDEI_1_0_FN_SDEI_EVENT_GET_INFO:
		return sdei_get_info(vcpu, smccc_get_arg2(vcpu));
	}
	return SDEI_NOT_SUPPORTED;
}

/**
 * kvm_apf_sdei_call() - handle an SDEI call from the guest
 * @vcpu: the vCPU, in its own context
 * @func_id: the call, kvm_apf_sdei_is_call() true
 *
 * Return: 1 (back to the guest): the result is in x0, or for a completion
 * the interrupted context is back.
 */
int kvm_apf_sdei_call(struct kvm_vcpu *vcpu, u32 func_id)
{
	struct kvm_apf_sdei *sdei = vcpu_sdei(vcpu);
	bool running = sdei->state & KVM_APF_SDEI_RUNNING;
	u64 arg = smccc_get_arg1(vcpu);
	long ret = SDEI_SUCCESS;

	switch (func_id) {
	case SDEI_1_0_FN_SDEI_VERSION:
		ret = 1ULL << SDEI_VERSION_MAJOR_SHIFT;		/* 1.0 */
		break;
	case SDEI_1_0_FN_SDEI_EVENT_COMPLETE:
	case SDEI_1_0_FN_SDEI_EVENT_COMPLETE_AND_RESUME:
		if (!running) {
			ret = SDEI_DENIED;
			break;
		}
		sdei_complete(vcpu,
			      func_id == SDEI_1_0_FN_SDEI_EVENT_COMPLETE_AND_RESUME,
			      arg);
		return 1;
	case SDEI_1_0_FN_SDEI_EVENT_CONTEXT:
		if (!running)
			ret = SDEI_DENIED;
		else if (arg >= SDEI_CTX_GPRS)
			ret = SDEI_INVALID_PARAMETERS;
		else
			ret = sdei->ctx[arg];
		break;
	case SDEI_1_0_FN_SDEI_PE_MASK:
		sdei->state &= ~KVM_APF_SDEI_PE_UNMASKED;
		break;
	case SDEI_1_0_FN_SDEI_PE_UNMASK:
		sdei->state |= KVM_APF_SDEI_PE_UNMASKED;
		break;
	case SDEI_1_0_FN_SDEI_PRIVATE_RESET:
		if (!(sdei->state & KVM_APF_SDEI_REGISTERED))
			break;
		if (running)
			sdei->state |= KVM_APF_SDEI_UNREGISTER_PENDING;
		else
			sdei_unregister(sdei);
		break;
	case SDEI_1_0_FN_SDEI_SHARED_RESET:
		break;			/* there are no shared events */
	case SDEI_1_0_FN_SDEI_EVENT_REGISTER:
	case SDEI_1_0_FN_SDEI_EVENT_ENABLE:
	case SDEI_1_0_FN_SDEI_EVENT_DISABLE:
	case SDEI_1_0_FN_SDEI_EVENT_UNREGISTER:
	case SDEI_1_0_FN_SDEI_EVENT_STATUS:
	case SDEI_1_0_FN_SDEI_EVENT_GET_INFO:
		ret = sdei_event_call(vcpu, func_id);
		break;
	default:
		ret = SDEI_NOT_SUPPORTED;
		break;
	}
	smccc_set_retval(vcpu, ret, 0, 0, 0);
	return 1;
}
