// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 part of apf_fuzz_uapi_test: KVM_GET_ONE_REG and KVM_SET_ONE_REG on
 * every register KVM_GET_REG_LIST names (each set to its own value must be
 * accepted and read back the same), random values for every async PF
 * register (KVM_REG_ARM_APF_*), and random values of the vendor-hyp bitmap
 * whose bit 63 hides them, each checked against api.rst:
 * - CTRL: the ENABLE word's rules (bit 5 reserved, bit 4 needs the VMM's
 *   consent, an enable needs the area in a memslot, and with bit 2, the
 *   ring, 4 KiB aligned and bit 62 of the bitmap, with bit 3, the abort
 *   delivery, bit 61), -EINVAL; an enable with the abort delivery that
 *   KVM would take is not made (this guest takes no abort);
 * - PPI: 16-31 (-EINVAL), not a timer's (-EBUSY), not moved while raised
 *   (-EBUSY; its own value is always accepted); in the vGIC, once the vCPU
 *   ran with async PF offered, the one edge-triggered PPI (GICR_ICFGR1),
 *   every other level;
 * - SDEI_STATE: no unknown bits, enabled or running only registered,
 *   unregister pending only running (-EINVAL); SDEI_CTX(19): AArch64 EL0t,
 *   EL1t or EL1h (-EINVAL); SDEI_EP, _ARG, the other CTX: anything;
 * - with bit 63 of KVM_REG_ARM_VENDOR_HYP_BMAP clear, none of them is
 *   listed, read or written (-ENOENT); the bitmap itself takes bits 0, 1,
 *   61 (the abort), 62 (the ring) and 63 and changes only before the first
 *   KVM_RUN (-EBUSY); without bit 62, CTRL refuses the ring, without bit 61
 *   the abort.
 * A rejected write leaves the register as it was.  While the guest's SDEI
 * handler is due to run (delivered, not completed), its saved context,
 * state and entry point are left alone: the VMM would break its own guest.
 * Before each KVM_RUN the entry point is the guest's real handler.
 */
#include <linux/arm-smccc.h>
#include <linux/arm_sdei.h>
#include <linux/sizes.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "processor.h"
#include "gic_v3.h"
#include "vgic.h"
#include "apf_guest.h"
#include "apf_fuzz.h"
#include "apf_fuzz_uapi_arch.h"
#include "apf_sdei_entry.h"

#define FZU_REG_MAX	1024
#define S_REG		KVM_APF_SDEI_REGISTERED
#define S_EN		KVM_APF_SDEI_ENABLED
#define S_RUN		KVM_APF_SDEI_RUNNING
#define S_PEND		KVM_APF_SDEI_UNREGISTER_PENDING
#define BMAP_OK		(BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT) | \
			 BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_PTP) | \
			 BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_RING) | \
			 BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF_ABORT) | \
			 BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF))

void fzu_sdei_handler(void);
APF_SDEI_ENTRY(fzu_sdei_entry, fzu_sdei_handler);

/* "Not present": note it and retry at once (KVM then waits for the page). */
void fzu_sdei_handler(void)
{
	struct kvm_apf_shared *a = (void *)READ_ONCE(g_area);

	if (a && READ_ONCE(a->reason) == KVM_APF_REASON_NOT_PRESENT)
		WRITE_ONCE(a->reason, 0);
	g_np++;
}

void fzu_guest_init(void)
{
}

/* Interrupts stay masked: "page ready" is taken from the area. */
void fzu_guest_poll(void)
{
	struct kvm_apf_shared *a = (void *)READ_ONCE(g_area);
	struct arm_smccc_res res;

	if (a && READ_ONCE(g_ring)) {
		if (!apf_ring_pending(a))
			return;
		fzu_ring_take((u64)a);
	} else if (a && READ_ONCE(a->token)) {
		g_ready++;
		WRITE_ONCE(a->status, 0);
		WRITE_ONCE(a->token, 0);
	} else {
		return;
	}
	smccc_hvc(ARM_SMCCC_VENDOR_HYP_KVM_APF_FUNC_ID, KVM_APF_ARM64_ACK, 0,
		  0, 0, 0, 0, 0, &res);
}

static struct {
	u64 ids[FZU_REG_MAX];
	u64 nids;
	u64 ctrl, ppi, ep, arg, state, ctx[KVM_APF_SDEI_CTX_REGS];
	u64 bmap;
	bool offered, ran;
	int gic;		/* the vGIC device */
	bool due;		/* KVM entered the handler; it has not completed */
	bool host_run;		/* the VMM set RUNNING itself */
	u64 area_gpa, area_gva;
	u64 gets, sets, rejected, identity;
} fa;

static int fzu_get(struct kvm_vcpu *vcpu, u64 id, void *buf)
{
	struct kvm_one_reg reg = { .id = id, .addr = (u64)buf };

	return ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg) ? -errno : 0;
}

static int fzu_set(struct kvm_vcpu *vcpu, u64 id, const void *buf)
{
	struct kvm_one_reg reg = { .id = id, .addr = (u64)buf };

	return ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg) ? -errno : 0;
}

static void fzu_reg_list(struct kvm_vcpu *vcpu)
{
	struct kvm_reg_list *l = vcpu_get_reg_list(vcpu);
	u64 i, apf = 0;

	FZ_ASSERT(l->n <= FZU_REG_MAX, "%llu registers", l->n);
	for (i = 0; i < l->n; i++) {
		fa.ids[i] = l->reg[i];
		apf += (l->reg[i] & ~0xffffull) ==
		       (KVM_REG_ARM_FW_REG(0) & ~0xffffull) &&
		       (l->reg[i] & 0xffff) >= 0x4150;
	}
	fa.nids = l->n;
	free(l);
	FZ_ASSERT(apf == (fa.offered ? 5 + KVM_APF_SDEI_CTX_REGS : 0),
		  "%lu async PF registers listed, offered %d", apf, fa.offered);
}

static u64 *fzu_model(u64 id)
{
	if (id >= KVM_REG_ARM_APF_SDEI_CTX(0) &&
	    id < KVM_REG_ARM_APF_SDEI_CTX(KVM_APF_SDEI_CTX_REGS))
		return &fa.ctx[id - KVM_REG_ARM_APF_SDEI_CTX(0)];
	switch (id) {
	case KVM_REG_ARM_APF_CTRL:
		return &fa.ctrl;
	case KVM_REG_ARM_APF_PPI:
		return &fa.ppi;
	case KVM_REG_ARM_APF_SDEI_EP:
		return &fa.ep;
	case KVM_REG_ARM_APF_SDEI_ARG:
		return &fa.arg;
	case KVM_REG_ARM_APF_SDEI_STATE:
		return &fa.state;
	case KVM_REG_ARM_VENDOR_HYP_BMAP:
		return &fa.bmap;
	}
	return NULL;
}

/*
 * The vGIC's PPI configuration (vCPU 0's GICR_ICFGR1, in its SGI frame):
 * once the vCPU ran with async PF offered, "page ready" is the one
 * edge-triggered PPI and every other is level (one a move gave back is
 * level again); before that, or without async PF, every PPI is level; a
 * VMM's write does not change it.
 */
static void fzu_check_ppi_config(void)
{
	u32 cfg, want = 0, all_edge = 0xaaaaaaaa;

	/* The VMM's write is ignored, as for every PPI. */
	kvm_device_attr_set(fa.gic, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
			    SZ_64K + GICR_ICFGR0 + 4, &all_edge);
	kvm_device_attr_get(fa.gic, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
			    SZ_64K + GICR_ICFGR0 + 4, &cfg);
	if (fa.ran && fa.offered)
		want = 2u << (2 * (fa.ppi - 16));
	FZ_ASSERT(cfg == want, "GICR_ICFGR1 %#x, expected %#x (PPI %lu)", cfg,
		  want, fa.ppi);
}

/* Read back every register the model knows, and the PPIs' configuration. */
void fzu_arch_check(struct kvm_vcpu *vcpu)
{
	static const u64 apf[] = {
		KVM_REG_ARM_APF_CTRL, KVM_REG_ARM_APF_PPI, KVM_REG_ARM_APF_SDEI_EP,
		KVM_REG_ARM_APF_SDEI_ARG, KVM_REG_ARM_APF_SDEI_STATE,
	};
	u64 i, v;
	int r;

	for (i = 0; i < ARRAY_SIZE(apf) + KVM_APF_SDEI_CTX_REGS; i++) {
		u64 id = i < ARRAY_SIZE(apf) ? apf[i] :
			 KVM_REG_ARM_APF_SDEI_CTX(i - ARRAY_SIZE(apf));

		r = fzu_get(vcpu, id, &v);
		FZ_ASSERT(r == (fa.offered ? 0 : -ENOENT), "GET %#lx: %d", id, r);
		/* KVM's bit, while a "page ready" awaits the guest's ACK. */
		if (id == KVM_REG_ARM_APF_CTRL)
			v &= ~(u64)KVM_APF_ARM64_READY_RAISED;
		if (!r)
			FZ_ASSERT(v == *fzu_model(id), "%#lx reads %#lx, expected %#lx",
				  id, v, *fzu_model(id));
	}
	vcpu_get_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP, &v);
	FZ_ASSERT(v == fa.bmap, "vendor-hyp bitmap %#lx, expected %#lx", v,
		  fa.bmap);
	fzu_check_ppi_config();
}

/* The registers a guest's SDEI delivery or completion changed. */
static void fzu_resync(struct kvm_vcpu *vcpu)
{
	u64 i;

	if (!fa.offered)
		return;
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_STATE, &fa.state);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_EP, &fa.ep);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_ARG, &fa.arg);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_PPI, &fa.ppi);
	for (i = 0; i < KVM_APF_SDEI_CTX_REGS; i++)
		vcpu_get_reg(vcpu, KVM_REG_ARM_APF_SDEI_CTX(i), &fa.ctx[i]);
}

void fzu_arch_vm_setup(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	fa.area_gva = vm_vaddr_alloc_page(vm);
	fa.area_gpa = addr_gva2gpa(vm, fa.area_gva);
	fa.gic = vgic_v3_setup(vm, 1, 64);
	vcpu_get_reg(vcpu, KVM_REG_ARM_VENDOR_HYP_BMAP, &fa.bmap);
	fa.offered = fa.bmap & BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF);
	fzu_resync(vcpu);
	vcpu_get_reg(vcpu, KVM_REG_ARM_APF_CTRL, &fa.ctrl);
	fzu_reg_list(vcpu);
	fzu_arch_check(vcpu);
}

static bool fzu_ctrl_ok(u64 ctrl)
{
	if (ctrl & 0x3f & ~(u64)KVM_APF_ARM64_ENABLE_BITS)
		return false;
	/* A new opt-in needs the VMM's consent; one in force stays. */
	if ((ctrl & KVM_APF_ARM64_ERROR_STATUS) &&
	    !(fa.ctrl & KVM_APF_ARM64_ERROR_STATUS) &&
	    !(m.cap & KVM_APF_FEATURE_GUEST_ERROR))
		return false;
	if (!(ctrl & KVM_APF_ARM64_ENABLED))
		return true;
	if ((ctrl & KVM_APF_ARM64_READY_RING) &&
	    ((ctrl & 0xfc0) || !(fa.bmap & BIT_ULL(62))))
		return false;
	if ((ctrl & KVM_APF_ARM64_DELIVERY_AS_ABORT) && !(fa.bmap & BIT_ULL(61)))
		return false;
	return (ctrl & ~0x3full) - fa.area_gpa < 4096;
}

static bool fzu_state_ok(u64 s)
{
	if (s & ~(u64)KVM_APF_SDEI_STATE_BITS)
		return false;
	if (!(s & S_REG) && (s & (S_EN | S_RUN)))
		return false;
	return !(s & S_PEND) || (s & S_RUN);
}

/* One random value for async PF register @id: want is the result due. */
static u64 fzu_gen(u64 id, int *want)
{
	u64 v, mode;

	*want = 0;
	switch (id) {
	case KVM_REG_ARM_APF_CTRL:
		switch (fz_below(&rng, 6)) {
		case 0:
			v = fz_next(&rng) | BIT_ULL(44 + fz_below(&rng, 19));
			break;
		case 1:
			v = 0xfe00000000ull | fz_below(&rng, 64);
			break;
		case 2:
			v = 0;
			break;
		default:
			v = (fa.area_gpa + fz_below(&rng, 64) * 64) |
			    fz_below(&rng, 64);
			break;
		}
		/*
		 * READY_RAISED with ENABLED is a restore's "page ready" not yet
		 * acknowledged: KVM raises the PPI and waits for an ACK this
		 * polling guest gives only for a token.  Alone it is refused.
		 */
		if (v & KVM_APF_ARM64_ENABLED)
			v &= ~(u64)KVM_APF_ARM64_READY_RAISED;
		*want = fzu_ctrl_ok(v) ? 0 : -EINVAL;
		/* Taken, the abort would reach a guest with no handler. */
		if (!*want && (v & KVM_APF_ARM64_ENABLED) &&
		    (v & KVM_APF_ARM64_DELIVERY_AS_ABORT))
			*want = 2;
		return v;
	case KVM_REG_ARM_APF_PPI:
		v = fz_below(&rng, 8) ? fz_below(&rng, 40) : fz_value(&rng);
		if (v < 16 || v > 31)
			*want = -EINVAL;
		else if (v == fa.ppi)
			*want = 0;
		else if (v == 27 || v == 30)	/* timers */
			*want = -EBUSY;
		else
			*want = 1;	/* 0, or -EBUSY while raised */
		return v;
	case KVM_REG_ARM_APF_SDEI_STATE:
		v = fz_below(&rng, 4) ? fz_below(&rng, 32) : fz_value(&rng);
		*want = fzu_state_ok(v) ? 0 : -EINVAL;
		return v;
	case KVM_REG_ARM_APF_SDEI_CTX(19):
		v = fz_below(&rng, 2) ? fz_value(&rng) :
		    (fz_value(&rng) & ~0x1full) | fz_below(&rng, 32);
		mode = v & (PSR_MODE32_BIT | PSR_MODE_MASK);
		*want = mode == PSR_MODE_EL0t || mode == PSR_MODE_EL1t ||
			mode == PSR_MODE_EL1h ? 0 : -EINVAL;
		return v;
	case KVM_REG_ARM_VENDOR_HYP_BMAP:
		v = fz_below(&rng, 2) ? fa.bmap ^ BIT_ULL(61 + fz_below(&rng, 3)) :
		    fz_value(&rng);
		if (fz_below(&rng, 2))
			v &= BMAP_OK;
		if (v & ~BMAP_OK)
			*want = -EINVAL;
		else if (fa.ran && v != fa.bmap)
			*want = -EBUSY;
		/* A VMM hides async PF from a guest that never had it on. */
		else if (!(v & BIT_ULL(63)) && (fa.ctrl & KVM_APF_ARM64_ENABLED))
			*want = 2;
		/* And the ring from a guest that never opted in to it. */
		else if (!(v & BIT_ULL(62)) &&
			 (fa.ctrl & KVM_APF_ARM64_READY_RING))
			*want = 2;
		/* Or the abort. */
		else if (!(v & BIT_ULL(61)) &&
			 (fa.ctrl & KVM_APF_ARM64_DELIVERY_AS_ABORT))
			*want = 2;
		return v;
	default:
		return fz_value(&rng);
	}
}

static void fzu_apf_set(struct kvm_vcpu *vcpu)
{
	static const u64 ids[] = {
		KVM_REG_ARM_APF_CTRL, KVM_REG_ARM_APF_PPI, KVM_REG_ARM_APF_SDEI_EP,
		KVM_REG_ARM_APF_SDEI_ARG, KVM_REG_ARM_APF_SDEI_STATE,
		KVM_REG_ARM_VENDOR_HYP_BMAP,
	};
	u64 n = fz_below(&rng, ARRAY_SIZE(ids) + 4), id, v, now, *model;
	bool handler_due = fa.due;
	int want, r;

	if (n < ARRAY_SIZE(ids))
		id = ids[n];
	else if (n == ARRAY_SIZE(ids))
		id = KVM_REG_ARM_APF_SDEI_CTX(19);
	else
		id = KVM_REG_ARM_APF_SDEI_CTX(fz_below(&rng, KVM_APF_SDEI_CTX_REGS));
	if (handler_due && id != KVM_REG_ARM_APF_CTRL && id != KVM_REG_ARM_APF_PPI &&
	    id != KVM_REG_ARM_APF_SDEI_ARG)
		return;
	v = fzu_gen(id, &want);
	if (want == 2)
		return;
	if (!fa.offered && id != KVM_REG_ARM_VENDOR_HYP_BMAP)
		want = -ENOENT;
	model = fzu_model(id);
	if (!want && id == KVM_REG_ARM_APF_CTRL && (v & KVM_APF_ARM64_ENABLED)) {
		u64 gva = fa.area_gva + ((v & ~0x3full) - fa.area_gpa);

		memset(addr_gva2hva(m.vm, gva), 0,
		       APF_AREA_BYTES(v & KVM_APF_ARM64_READY_RING));
		g_area = gva;
		g_ring = !!(v & KVM_APF_ARM64_READY_RING);
		sync_global_to_guest(m.vm, g_area);
		sync_global_to_guest(m.vm, g_ring);
	}
	r = fzu_set(vcpu, id, &v);
	if (want == 1)
		FZ_ASSERT(!r || r == -EBUSY, "SET %#lx = %#lx: %d", id, v, r);
	else
		FZ_ASSERT(r == want, "SET %#lx = %#lx: %d, expected %d", id, v,
			  r, want);
	fa.sets++;
	fa.rejected += !!r;
	if (!r)
		*model = v;
	if (id == KVM_REG_ARM_APF_SDEI_STATE && !r)
		fa.host_run = v & S_RUN;
	if (id == KVM_REG_ARM_APF_CTRL && !r)
		m.held = 0;
	if (id == KVM_REG_ARM_VENDOR_HYP_BMAP && !r) {
		fa.offered = v & BIT_ULL(KVM_REG_ARM_VENDOR_HYP_BIT_APF);
		fzu_reg_list(vcpu);
	}
	r = fzu_get(vcpu, id, &now);
	if (!fa.offered && id != KVM_REG_ARM_VENDOR_HYP_BMAP) {
		FZ_ASSERT(r == -ENOENT, "GET %#lx hidden: %d", id, r);
		return;
	}
	if (id == KVM_REG_ARM_APF_CTRL)		/* a refused one changed nothing */
		now &= ~(u64)KVM_APF_ARM64_READY_RAISED;
	FZ_ASSERT(!r && now == *model, "%#lx reads %#lx (%d), expected %#lx",
		  id, now, r, *model);
}

/* A listed register: read it, and write it its own value. */
static void fzu_listed(struct kvm_vcpu *vcpu, bool write)
{
	u64 id = fa.ids[fz_below(&rng, fa.nids)];
	u8 buf[256] __aligned(16), again[256] __aligned(16);
	size_t size = 1ul << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
	int r;

	FZ_ASSERT(size <= sizeof(buf), "register %#lx of %zu bytes", id, size);
	r = fzu_get(vcpu, id, buf);
	FZ_ASSERT(!r, "GET of listed %#lx: %d", id, r);
	fa.gets++;
	/* CTRL reads READY_RAISED too while a "page ready" awaits its ACK. */
	if (fzu_model(id) && id != KVM_REG_ARM_VENDOR_HYP_BMAP)
		FZ_ASSERT((*(u64 *)buf & ~(id == KVM_REG_ARM_APF_CTRL ?
					   KVM_APF_ARM64_READY_RAISED : 0)) ==
			  *fzu_model(id),
			  "%#lx reads %#lx, expected %#lx", id, *(u64 *)buf,
			  *fzu_model(id));
	if (!write)
		return;
	r = fzu_set(vcpu, id, buf);
	/* CTRL again: a disabled one drops the faults KVM held. */
	if (id == KVM_REG_ARM_APF_CTRL)
		m.held = 0;
	/* The PPI does not move while it is raised, but onto itself it may. */
	FZ_ASSERT(!r, "SET of listed %#lx to its own value: %d", id, r);
	r = fzu_get(vcpu, id, again);
	/* The counters count on. */
	FZ_ASSERT(!r && (!memcmp(buf, again, size) ||
			 id == KVM_REG_ARM_TIMER_CNT || id == KVM_REG_ARM_PTIMER_CNT),
		  "%#lx changed by writing its own value", id);
	fa.identity++;
}

void fzu_arch_op(struct kvm_vcpu *vcpu)
{
	switch (fz_below(&rng, 8)) {
	case 0:
	case 1:
		fzu_listed(vcpu, false);
		break;
	case 2:
		fzu_listed(vcpu, true);
		break;
	default:
		fzu_apf_set(vcpu);
		break;
	}
}

/* The guest's SDEI entry point is its handler when KVM may enter it. */
void fzu_arch_before_run(struct kvm_vcpu *vcpu)
{
	u64 ep = (u64)fzu_sdei_entry;

	if (fa.offered && fa.ep != ep && !fa.due) {
		vcpu_set_reg(vcpu, KVM_REG_ARM_APF_SDEI_EP, ep);
		fa.ep = ep;
	}
}

void fzu_arch_ran(struct kvm_vcpu *vcpu)
{
	u64 s;

	fa.ran = true;
	fzu_resync(vcpu);
	s = fa.state;
	fa.due = (s & S_RUN) && !fa.host_run;
	FZ_ASSERT(!fa.offered || fzu_state_ok(s), "SDEI state %#lx after KVM_RUN",
		  s);
}

void fzu_arch_report(void)
{
	printf("# %lu registers listed, GET_ONE_REG %lu, own value set %lu\n",
	       fa.nids, fa.gets, fa.identity);
	printf("# async PF SET_ONE_REG %lu, %lu rejected as expected\n", fa.sets,
	       fa.rejected);
}
