// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 part of apf_fuzz_guest_test: random async PF SMCCC calls
 * (ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID with INFO, ENABLE, ACK and unknown
 * sub-functions)
 * and random SDEI calls, every number of the SDEI range 0xc4000020-3f and
 * its SMC32 twin, with random events and arguments, each checked against
 * the ABI (Documentation/virt/kvm/apf/api.rst) and the SDEI v1.0 subset it
 * implements:
 * - ENABLE: bits 3, 5 reserved; bit 4 needs the VMM's consent; an
 *   enable needs the area in a memslot, and with bit 2 (batched "page
 *   ready", the ring after the area) 4 KiB-aligned; otherwise -3 and no
 *   change;
 * - SDEI: calls naming another event get INVALID_PARAMETERS, REGISTER with
 *   no entry point or bad flags too; calls the state does not allow get
 *   DENIED (COMPLETE outside the handler, REGISTER twice, ENABLE of an
 *   unregistered event ...); UNREGISTER in the handler is PENDING until it
 *   completes; calls outside the subset get NOT_SUPPORTED.  EVENT_STATUS
 *   reads the state back; the host compares it with KVM_GET_ONE_REG.
 * A REGISTER that will succeed always names the real handler (a random
 * entry point would only crash the guest); the handler checks the argument
 * it was registered with.  EVENT_COMPLETE(_AND_RESUME) is made at random
 * only outside the handler, where it must be DENIED.
 */
#include <linux/arm-smccc.h>
#include <linux/arm_sdei.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "gic.h"
#include "processor.h"
#include "vgic.h"
#include "apf_guest.h"
#include "apf_fuzz.h"
#include "apf_fuzz_guest_arch.h"
#include "apf_sdei_entry.h"

#define FZ_EV		KVM_APF_ARM64_SDEI_EVENT
#define FZ_PPI		KVM_APF_ARM64_DEFAULT_PPI
#define FZ_ON		(KVM_APF_ARM64_ENABLED | KVM_APF_ARM64_SEND_ALWAYS)

/* The SDEI state as KVM_REG_ARM_APF_SDEI_STATE has it. */
#define S_REG		KVM_APF_SDEI_REGISTERED
#define S_EN		KVM_APF_SDEI_ENABLED
#define S_RUN		KVM_APF_SDEI_RUNNING
#define S_PEND		KVM_APF_SDEI_UNREGISTER_PENDING
#define S_UNMASKED	KVM_APF_SDEI_PE_UNMASKED

struct fz_arch {
	u64 ctrl;		/* KVM_REG_ARM_APF_CTRL as accepted */
	u64 state;		/* KVM_REG_ARM_APF_SDEI_STATE */
	u64 ep, arg;		/* the registered handler */
	u64 area_gpa;		/* the page of 64 areas the guest may use */
	u64 area_gva;
};

static struct fz_arch fza;
static struct kvm_apf_shared *fz_cur;	/* the area enabled last */

APF_SDEI_ENTRY(fz_sdei_entry, fz_sdei_handler);

/* For a hang report: the enable word, the SDEI state, the area's token. */
const char *fz_arch_word(void)
{
	return "CTRL, SDEI state";
}

u64 fz_arch_state(void)
{
	return fza.ctrl << 8 | fza.state;
}

u32 fz_arch_token(void)
{
	return fz_cur ? READ_ONCE(fz_cur->token) : 0;
}

void fz_irq_enable(void)
{
	local_irq_enable();
}

void fz_irq_disable(void)
{
	local_irq_disable();
}

static inline s64 fz_hvc(u32 fn, u64 a1, u64 a2, u64 a3, u64 a4, u64 *x1_x3)
{
	struct arm_smccc_res res;

	smccc_hvc(fn, a1, a2, a3, a4, 0, 0, 0, &res);
	if (x1_x3) {
		x1_x3[0] = res.a1;
		x1_x3[1] = res.a2;
		x1_x3[2] = res.a3;
	}
	return res.a0;
}

static inline struct kvm_apf_shared *fz_area(u64 ctrl)
{
	return (void *)(fza.area_gva + ((ctrl & ~0x3full) - fza.area_gpa));
}

/* "Page ready" goes to the ring after the area enabled last (fz_cur). */
static bool fz_cur_ring;

static inline bool fz_ring_on(void)
{
	return READ_ONCE(fz_cur_ring);
}

static bool fz_ctrl_ok(u64 ctrl)
{
	if (ctrl & 0x3f & ~(u64)KVM_APF_ARM64_ENABLE_BITS)
		return false;
	/* A new opt-in needs the VMM's consent; one in force stays. */
	if ((ctrl & KVM_APF_ARM64_ERROR_STATUS) &&
	    !(fza.ctrl & KVM_APF_ARM64_ERROR_STATUS) && !READ_ONCE(fz.vmm_errors))
		return false;
	if (!(ctrl & KVM_APF_ARM64_ENABLED))
		return true;
	if ((ctrl & KVM_APF_ARM64_READY_RING) && (ctrl & 0xfc0))
		return false;
	return (ctrl & ~0x3full) - fza.area_gpa < 4096;
}

static void fz_enable(u64 ctrl)
{
	bool ok = fz_ctrl_ok(ctrl);
	s64 r;

	/*
	 * A fresh area, current before the call: the wake-all it queues can
	 * interrupt the guest as soon as the call returns.
	 */
	if (ok && (ctrl & KVM_APF_ARM64_ENABLED)) {
		memset(fz_area(ctrl), 0,
		       APF_AREA_BYTES(ctrl & KVM_APF_ARM64_READY_RING));
		fz_cur = fz_area(ctrl);
		fz_cur_ring = ctrl & KVM_APF_ARM64_READY_RING;
	}
	r = fz_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, KVM_APF_ARM64_ENABLE,
		   ctrl, 0, 0, NULL);
	__GUEST_ASSERT(r == (ok ? 0 : -3), "ENABLE %#lx: %ld, expected %d",
		       ctrl, r, ok ? 0 : -3);
	if (ok) {
		if ((fza.ctrl & KVM_APF_ARM64_ENABLED) && fz.parked &&
		    !(ctrl & KVM_APF_ARM64_ENABLED))
			fz.drops++;
		fza.ctrl = ctrl;
	}
	fz_count(ok);
}

static u64 fz_gen_ctrl(void)
{
	u64 flags = fz_below(&fz.rng, 64);
	u64 area = fza.area_gpa + fz_below(&fz.rng, 64) * 64;

	switch (fz_below(&fz.rng, 8)) {
	case 0:			/* anything, out of every memslot */
		return fz_next(&fz.rng) | BIT_ULL(44 + fz_below(&fz.rng, 19));
	case 1:			/* a gpa in no memslot */
		return (0xfe00000000ull + fz_below(&fz.rng, 1 << 20) * 64) |
		       flags;
	case 2:
		return 0;
	/*
	 * Not the abort delivery, which this guest takes no abort for (it
	 * has apf_ve_test): only the SDEI event says "not present" here.
	 */
	case 3:
		return area | (flags & KVM_APF_ARM64_ENABLE_BITS &
			       ~KVM_APF_ARM64_DELIVERY_AS_ABORT);
	default:
		return area | (flags & ~KVM_APF_ARM64_DELIVERY_AS_ABORT);
	}
}

static void fz_unregister(void)
{
	fza.state &= S_UNMASKED;
	fza.ep = 0;
	fza.arg = 0;
}

/*
 * What KVM must answer to SDEI call @fn, and the state after it; *@any
 * for a result the model cannot know (a saved register).
 */
static s64 fz_sdei_model(u32 fn, u64 ev, u64 a2, u64 a3, u64 a4, bool *any)
{
	bool reg = fza.state & S_REG, pend = fza.state & S_PEND;
	bool run = fza.state & S_RUN;

	*any = false;
	if ((fn & SDEI_1_0_MASK) != SDEI_1_0_FN_BASE)
		return SDEI_NOT_SUPPORTED;
	switch (fn) {
	case SDEI_1_0_FN_SDEI_VERSION:
		return 1ll << SDEI_VERSION_MAJOR_SHIFT;
	case SDEI_1_0_FN_SDEI_EVENT_COMPLETE:
	case SDEI_1_0_FN_SDEI_EVENT_COMPLETE_AND_RESUME:
		return SDEI_DENIED;	/* never made while running */
	case SDEI_1_0_FN_SDEI_EVENT_CONTEXT:
		if (!run)
			return SDEI_DENIED;
		if (ev >= 18)
			return SDEI_INVALID_PARAMETERS;
		*any = true;
		return 0;
	case SDEI_1_0_FN_SDEI_PE_MASK:
		fza.state &= ~S_UNMASKED;
		return 0;
	case SDEI_1_0_FN_SDEI_PE_UNMASK:
		fza.state |= S_UNMASKED;
		return 0;
	case SDEI_1_0_FN_SDEI_PRIVATE_RESET:
		if (reg && run)
			fza.state |= S_PEND;
		else if (reg)
			fz_unregister();
		return 0;
	case SDEI_1_0_FN_SDEI_SHARED_RESET:
		return 0;
	case SDEI_1_0_FN_SDEI_EVENT_REGISTER:
	case SDEI_1_0_FN_SDEI_EVENT_ENABLE:
	case SDEI_1_0_FN_SDEI_EVENT_DISABLE:
	case SDEI_1_0_FN_SDEI_EVENT_UNREGISTER:
	case SDEI_1_0_FN_SDEI_EVENT_STATUS:
	case SDEI_1_0_FN_SDEI_EVENT_GET_INFO:
		break;
	default:
		return SDEI_NOT_SUPPORTED;
	}
	if (ev != FZ_EV)
		return SDEI_INVALID_PARAMETERS;
	switch (fn) {
	case SDEI_1_0_FN_SDEI_EVENT_REGISTER:
		if (!a2 || a4 > SDEI_EVENT_REGISTER_RM_PE)
			return SDEI_INVALID_PARAMETERS;
		if (reg)
			return SDEI_DENIED;
		fza.state |= S_REG;
		fza.ep = a2;
		fza.arg = a3;
		return 0;
	case SDEI_1_0_FN_SDEI_EVENT_ENABLE:
	case SDEI_1_0_FN_SDEI_EVENT_DISABLE:
		if (!reg || pend)
			return SDEI_DENIED;
		if (fn == SDEI_1_0_FN_SDEI_EVENT_ENABLE)
			fza.state |= S_EN;
		else
			fza.state &= ~S_EN;
		return 0;
	case SDEI_1_0_FN_SDEI_EVENT_UNREGISTER:
		if (!reg || pend)
			return SDEI_DENIED;
		if (run) {
			fza.state |= S_PEND;
			return SDEI_PENDING;
		}
		fz_unregister();
		return 0;
	case SDEI_1_0_FN_SDEI_EVENT_STATUS:
		return (reg ? 1 : 0) | (fza.state & S_EN ? 2 : 0) | (run ? 4 : 0);
	default:		/* GET_INFO */
		if (a2 <= SDEI_EVENT_INFO_EV_PRIORITY)
			return 0;	/* private, not signalled, normal */
		return SDEI_INVALID_PARAMETERS;
	}
}

static void fz_sdei(u32 fn, u64 ev, u64 a2, u64 a3, u64 a4)
{
	bool any;
	s64 want = fz_sdei_model(fn, ev, a2, a3, a4, &any);
	s64 r = fz_hvc(fn, ev, a2, a3, a4, NULL);

	__GUEST_ASSERT(any || r == want,
		       "SDEI %#x(%#lx, %#lx, %#lx, %#lx): %ld, expected %ld",
		       fn, ev, a2, a3, a4, r, want);
	fz_count(!want || want == SDEI_PENDING || want > 0);
}

static void fz_sdei_random(void)
{
	bool run = fza.state & S_RUN;
	u32 fn = SDEI_1_0_FN_BASE + fz_below(&fz.rng, 32);
	u64 ev, a2, a3 = fz_value(&fz.rng), a4 = fz_below(&fz.rng, 3);
	bool any;
	struct fz_arch save;

	if (!fz_below(&fz.rng, 16))
		fn = 0x84000020 + fz_below(&fz.rng, 32);	/* SMC32 */
	if (run && (fn == SDEI_1_0_FN_SDEI_EVENT_COMPLETE ||
		    fn == SDEI_1_0_FN_SDEI_EVENT_COMPLETE_AND_RESUME))
		fn = SDEI_1_0_FN_SDEI_EVENT_STATUS;
	switch (fz_below(&fz.rng, 8)) {
	case 0:
		ev = fz_value(&fz.rng);
		break;
	case 1:
		ev = FZ_EV ^ BIT_ULL(fz_below(&fz.rng, 64));
		break;
	case 2:
		ev = fz_below(&fz.rng, 24);	/* CONTEXT's register */
		break;
	default:
		ev = FZ_EV;
		break;
	}
	a2 = fz_below(&fz.rng, 4) ? (u64)fz_sdei_entry : fz_value(&fz.rng);
	if (fn == SDEI_1_0_FN_SDEI_EVENT_GET_INFO)
		a2 = fz_below(&fz.rng, 6);
	/* A registration that will succeed names the real handler. */
	save = fza;
	if (fn == SDEI_1_0_FN_SDEI_EVENT_REGISTER &&
	    !fz_sdei_model(fn, ev, a2, a3, a4, &any))
		a2 = (u64)fz_sdei_entry;
	fza = save;
	fz_sdei(fn, ev, a2, a3, a4);
}

static void fz_info(void)
{
	u64 x[3];
	s64 r = fz_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, KVM_APF_ARM64_INFO,
		       0, 0, 0, x);

	__GUEST_ASSERT(!r && x[0] == (KVM_APF_ARM64_INFO_READY_RING |
				     KVM_APF_ARM64_INFO_ABORT |
				     (READ_ONCE(fz.vmm_errors) ?
				      KVM_APF_ARM64_INFO_ERROR_STATUS : 0)) &&
		       x[1] == FZ_EV && x[2] == FZ_PPI,
		       "INFO: %ld %#lx %#lx %#lx", r, x[0], x[1], x[2]);
	fz_count(true);
}

void fz_arch_op(bool parked)
{
	u64 sub, r;

	switch (fz_below(&fz.rng, 12)) {
	case 0:
	case 1:
		fz_enable(fz_gen_ctrl());
		break;
	case 2:
		r = fz_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID,
			   KVM_APF_ARM64_ACK, fz_value(&fz.rng),
			   fz_value(&fz.rng), 0, NULL);
		__GUEST_ASSERT(!r, "ACK: %ld", r);
		fz_count(true);
		break;
	case 3:
		fz_info();
		break;
	case 4:
		sub = fz_value(&fz.rng);
		if (sub <= KVM_APF_ARM64_ACK)
			sub = 3;
		r = fz_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, sub,
			   fz_value(&fz.rng), 0, 0, NULL);
		__GUEST_ASSERT(r == -1,
			       "sub-function %#lx: %ld", sub, r);
		fz_count(false);
		break;
	default:
		fz_sdei_random();
		break;
	}
}

/* A working configuration, as a Linux guest sets it up. */
void fz_arch_setup(void)
{
	u64 err = READ_ONCE(fz.vmm_errors) && fz_below(&fz.rng, 2) ?
		  KVM_APF_ARM64_ERROR_STATUS : 0;
	bool ring;

	if (!(fza.state & S_REG))
		fz_sdei(SDEI_1_0_FN_SDEI_EVENT_REGISTER, FZ_EV,
			(u64)fz_sdei_entry, fz_next(&fz.rng), 0);
	if (!(fza.state & S_EN))
		fz_sdei(SDEI_1_0_FN_SDEI_EVENT_ENABLE, FZ_EV, 0, 0, 0);
	fz_sdei(SDEI_1_0_FN_SDEI_PE_UNMASK, 0, 0, 0, 0);
	/* Batched "page ready" half the time, its area at the page's start. */
	ring = fz_below(&fz.rng, 2);
	fz_enable((fza.area_gpa + (ring ? 0 : fz_below(&fz.rng, 64) * 64)) |
		  FZ_ON | err | (ring ? KVM_APF_ARM64_READY_RING : 0));
}

/* Take a "page ready" from the current area (interrupts off). */
static void fz_take_ready(void)
{
	s64 r;

	fz_take(fz_cur, fz_ring_on());
	/* Lowers the PPI, whatever was in the area. */
	r = fz_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, KVM_APF_ARM64_ACK,
		   0, 0, 0, NULL);
	__GUEST_ASSERT(!r, "ACK: %ld", r);
}

static void fz_irq(struct ex_regs *regs)
{
	unsigned int intid = gic_get_and_ack_irq();

	if (intid == 1023)	/* lowered before it was taken */
		return;
	__GUEST_ASSERT(intid == FZ_PPI, "interrupt %u", intid);
	fz_take_ready();
	gic_set_eoi(intid);
}

static bool fz_ready_waits(struct kvm_apf_shared *a)
{
	if (fz_ring_on())
		return apf_ring_pending(a);
	return READ_ONCE(a->token);
}

void fz_arch_poll(void)
{
	struct kvm_apf_shared *a = fz_cur;

	if (a && fz_ready_waits(a)) {
		fz_irq_disable();
		if (fz_ready_waits(a))
			fz_take_ready();
		fz_irq_enable();
	}
}

void fz_sdei_handler(u64 event, u64 arg, u64 pc, u64 pstate)
{
	struct kvm_apf_shared *a = fz_cur;
	u32 reason = a ? READ_ONCE(a->reason) : 0;

	__GUEST_ASSERT(event == FZ_EV && arg == fza.arg &&
		       (fza.state & (S_REG | S_EN | S_UNMASKED | S_RUN)) ==
		       (S_REG | S_EN | S_UNMASKED),
		       "SDEI event %#lx arg %#lx (registered %#lx) in state %#lx at %#lx",
		       event, arg, fza.arg, fza.state, pc);
	__GUEST_ASSERT(reason == KVM_APF_REASON_NOT_PRESENT,
		       "SDEI event at %#lx, reason %u", pc, reason);
	fza.state |= S_RUN;
	WRITE_ONCE(a->reason, 0);
	fz_parked(READ_ONCE(a->np_token));
	/* The entry's EVENT_COMPLETE, next. */
	fza.state &= ~S_RUN;
	if (fza.state & S_PEND)
		fz_unregister();
}

void fz_arch_guest_init(void)
{
	gic_init(GIC_V3, 1);
	gic_irq_enable(FZ_PPI);
	fz_irq_enable();
}

const char *fz_arch_unsupported(void)
{
	if (!(kvm_check_cap(KVM_CAP_APF_FEATURES) & KVM_APF_FEATURE_ASYNC_PF))
		return "KVM does not offer async PF (KVM_CAP_APF_FEATURES)";
	return NULL;
}

void fz_arch_vm_setup(struct kvm_vm *vm)
{
	struct kvm_vcpu *vcpu;

	fza.area_gva = vm_vaddr_alloc_page(vm);
	fza.area_gpa = addr_gva2gpa(vm, fza.area_gva);
	sync_global_to_guest(vm, fza);
	vm_init_descriptor_tables(vm);
	list_for_each_entry(vcpu, &vm->vcpus, list)
		vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, VECTOR_IRQ_CURRENT, fz_irq);
	vgic_v3_setup(vm, 1, 64);
}

/* KVM's registers are what the guest's model says. */
void fz_arch_host_check(struct kvm_vcpu *vcpu)
{
	u64 ctrl, state, ep, arg;

	sync_global_from_guest(vcpu->vm, fza);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_CTRL, &ctrl);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_STATE, &state);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_EP, &ep);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_ARG, &arg);
	/* Less READY_RAISED: KVM's, while a "page ready" awaits its ACK. */
	FZ_ASSERT((ctrl & ~(u64)KVM_APF_ARM64_READY_RAISED) == fza.ctrl,
		  "CTRL %#lx, guest set %#lx", ctrl, fza.ctrl);
	FZ_ASSERT(state == fza.state, "SDEI state %#lx, guest's %#lx", state,
		  fza.state);
	FZ_ASSERT(ep == fza.ep && arg == fza.arg, "SDEI ep %#lx arg %#lx, guest's %#lx %#lx",
		  ep, arg, fza.ep, fza.arg);
}
