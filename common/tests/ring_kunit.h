/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests for batched "page ready", included at the end of vcpu.c: the
 * core's batches (kvm_apf_check_completion()) over the real ring code
 * (kvm_async_pf_ring_put(), kvm_async_pf_ring_room()), with a backend that
 * posts every completion into the ring as x86's and arm64's do, and guest
 * memory replaced by a page of the test (kvm_async_pf_area_rw()'s stub).
 * Arch-neutral: it runs wherever the core does.
 */
#include <kunit/test.h>
#include <kunit/static_stub.h>

#define RING_VCPU_ID	3
#define RING_AREA_SIZE	(sizeof(struct kvm_apf_shared) + \
			 sizeof(struct kvm_apf_ready_ring))

struct ring_fake {
	struct kvm_vcpu vcpu;
	struct kvm_apf_stats stats;
	union {
		u8 bytes[RING_AREA_SIZE];
		struct {
			struct kvm_apf_shared shared;
			struct kvm_apf_ready_ring ring;
		};
	} mem;			/* the guest's area and ring */
	int raised;		/* "page ready" raised (each post) */
	int acks;
	bool lie;		/* @can_dequeue says there is room anyway */
};

static struct ring_fake *ring_fake(struct kvm_vcpu *vcpu)
{
	return container_of(vcpu, struct ring_fake, vcpu);
}

static struct kvm_vcpu *ring_vcpu(struct kvm_apf_vcpu *apf)
{
	return container_of(apf, struct kvm_vcpu, async_pf);
}

/* Guest memory: the test's page; outside the area is a bug of the code. */
static int ring_area_rw(struct kvm_vcpu *vcpu, struct gfn_to_hva_cache *area,
			void *data, unsigned int offset, unsigned int len,
			bool write)
{
	struct ring_fake *f = ring_fake(vcpu);

	if (WARN_ON(offset > RING_AREA_SIZE || len > RING_AREA_SIZE - offset))
		return -EFAULT;
	if (write)
		memcpy(f->mem.bytes + offset, data, len);
	else
		memcpy(data, f->mem.bytes + offset, len);
	return 0;
}

static u32 ring_not_present(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	return KVM_APF_ITEM_NOTIFIED;
}

/* As the backends do with a ring: post, raise, say "batched". */
static int ring_present(struct kvm_apf_vcpu *apf, struct kvm_apf_item *item)
{
	struct kvm_vcpu *vcpu = ring_vcpu(apf);
	int r = kvm_async_pf_ring_put(vcpu, NULL, item);

	if (r)
		return r;
	ring_fake(vcpu)->raised++;
	return KVM_APF_READY_BATCHED;
}

static bool ring_can_dequeue(struct kvm_apf_vcpu *apf)
{
	return ring_fake(ring_vcpu(apf))->lie ||
	       kvm_async_pf_ring_room(ring_vcpu(apf), NULL);
}

static void ring_nop(struct kvm_apf_vcpu *apf)
{
}

static const struct kvm_apf_ops ring_ops = {
	.notify_not_present = ring_not_present,
	.notify_ready = ring_present,
	.can_dequeue = ring_can_dequeue,
	.request = ring_nop,
	.kick = ring_nop,
	.needs_ack = true,
};

static void ring_exit(void *data)
{
	struct ring_fake *f = data;

	kvm_apf_vcpu_destroy(&f->vcpu.async_pf);
}

static struct ring_fake *ring_setup(struct kunit *test, u32 max)
{
	struct ring_fake *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	kunit_activate_static_stub(test, kvm_async_pf_area_rw, ring_area_rw);
	KUNIT_ASSERT_EQ(test, kvm_apf_vcpu_init(&f->vcpu.async_pf, &ring_ops,
						NULL, system_unbound_wq,
						&f->stats, RING_VCPU_ID, max),
			0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, ring_exit, f), 0);
	return f;
}

/* @n VMM-owned faults, made async and completed in order; their tokens. */
static void ring_complete(struct kunit *test, struct ring_fake *f, int n,
			  u32 *tokens, int status)
{
	struct kvm_apf_vcpu *apf = &f->vcpu.async_pf;
	struct kvm_apf_item *item;
	gfn_t gfn = 0x100 + apf->queued;
	int i;

	for (i = 0; i < n; i++) {
		KUNIT_ASSERT_EQ(test, kvm_apf_setup(apf, (gfn + i) << PAGE_SHIFT,
						    gfn + i, 0x7f0000000000UL,
						    KVM_APF_ITEM_USER, NULL), 0);
		item = list_last_entry(&apf->queue, struct kvm_apf_item, queue);
		tokens[i] = item->token;
	}
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, kvm_apf_user_ready(apf, tokens[i], status),
				0);
}

/* The guest's handler: every entry from @tail to @head, then one ack. */
static int ring_drain(struct ring_fake *f, u32 *tokens, u32 *status)
{
	u32 head = f->mem.ring.head, n = 0;
	struct kvm_apf_ready_entry *e;

	for (; f->mem.ring.tail != head; f->mem.ring.tail++, n++) {
		e = &f->mem.ring.entries[f->mem.ring.tail %
					 KVM_APF_READY_RING_ENTRIES];
		tokens[n] = e->token;
		if (status)
			status[n] = e->status;
	}
	f->acks++;
	kvm_apf_ack(&f->vcpu.async_pf);
	return n;
}

/*
 * A burst of completions is one batch: all posted in order, "page ready"
 * pending until the one ack, nothing posted meanwhile; the slot untouched.
 */
static void ring_burst_is_one_batch(struct kunit *test)
{
	struct ring_fake *f = ring_setup(test, 64);
	struct kvm_apf_vcpu *apf = &f->vcpu.async_pf;
	u32 tokens[20], seen[20], more[4];
	int i;

	ring_complete(test, f, 20, tokens, 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->mem.ring.head, 20);
	KUNIT_EXPECT_TRUE(test, apf->ready_pending);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 20);
	KUNIT_EXPECT_EQ(test, f->mem.shared.token, 0);

	/* Completions while the batch waits for its ack: not posted yet. */
	ring_complete(test, f, 4, more, 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->mem.ring.head, 20);

	KUNIT_ASSERT_EQ(test, ring_drain(f, seen, NULL), 20);
	for (i = 0; i < 20; i++)
		KUNIT_EXPECT_EQ(test, seen[i], tokens[i]);
	/* The ack posts the next batch. */
	KUNIT_EXPECT_EQ(test, f->mem.ring.head, 24);
	KUNIT_EXPECT_TRUE(test, apf->ready_pending);
	KUNIT_ASSERT_EQ(test, ring_drain(f, seen, NULL), 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, seen[i], more[i]);
	KUNIT_EXPECT_FALSE(test, apf->ready_pending);
	KUNIT_EXPECT_EQ(test, f->acks, 2);
	KUNIT_EXPECT_EQ(test, apf->queued, 0);
}

/*
 * A full ring holds the rest until the guest makes room and acknowledges;
 * the entries wrap around the ring, in order.
 */
static void ring_full_holds_rest(struct kunit *test)
{
	const int n = KVM_APF_READY_RING_ENTRIES + 44;
	struct ring_fake *f = ring_setup(test, KVM_APF_MAX_LIMIT);
	struct kvm_apf_vcpu *apf = &f->vcpu.async_pf;
	u32 *tokens = kunit_kcalloc(test, n, sizeof(u32), GFP_KERNEL);
	u32 *seen = kunit_kcalloc(test, n, sizeof(u32), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, tokens);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	ring_complete(test, f, n, tokens, 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->mem.ring.head, KVM_APF_READY_RING_ENTRIES);
	KUNIT_EXPECT_TRUE(test, apf->held);
	KUNIT_EXPECT_FALSE(test, kvm_async_pf_ring_room(&f->vcpu, NULL));

	KUNIT_ASSERT_EQ(test, ring_drain(f, seen, NULL),
			KVM_APF_READY_RING_ENTRIES);
	KUNIT_ASSERT_EQ(test, ring_drain(f, seen + KVM_APF_READY_RING_ENTRIES,
					 NULL), 44);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, seen[i], tokens[i]);
	/* The second batch wrapped: entry 0 holds the 257th. */
	KUNIT_EXPECT_EQ(test, f->mem.ring.entries[0].token,
			tokens[KVM_APF_READY_RING_ENTRIES]);
	KUNIT_EXPECT_FALSE(test, apf->held);
}

/* The free-running indices wrap at 2^32 with the entries in order. */
static void ring_indices_wrap(struct kunit *test)
{
	struct ring_fake *f = ring_setup(test, 64);
	u32 tokens[4], seen[4];
	int i;

	f->mem.ring.head = 0xfffffffe;
	f->mem.ring.tail = 0xfffffffe;
	ring_complete(test, f, 4, tokens, 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(&f->vcpu.async_pf), 0);
	KUNIT_EXPECT_EQ(test, f->mem.ring.head, 2);
	KUNIT_EXPECT_EQ(test, f->mem.ring.entries[254].token, tokens[0]);
	KUNIT_EXPECT_EQ(test, f->mem.ring.entries[255].token, tokens[1]);
	KUNIT_EXPECT_EQ(test, f->mem.ring.entries[0].token, tokens[2]);
	KUNIT_EXPECT_EQ(test, f->mem.ring.entries[1].token, tokens[3]);
	KUNIT_ASSERT_EQ(test, ring_drain(f, seen, NULL), 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, seen[i], tokens[i]);
}

/*
 * Indices no ring can have (the guest's @tail ahead of @head, or behind it
 * by more than the ring holds, as a torn or corrupted write leaves them):
 * nothing is posted or overwritten, the completions are held (the storm
 * guard's business), and they go once the guest repairs its ring.
 */
static void ring_impossible_indices_post_nothing(struct kunit *test)
{
	const u32 bad_tail[] = { 11, (u32)(10 - KVM_APF_READY_RING_ENTRIES - 1),
				 0x80000000 };
	struct ring_fake *f = ring_setup(test, 64);
	struct kvm_apf_vcpu *apf = &f->vcpu.async_pf;
	struct kvm_apf_item item = { .token = 0x99 };
	u32 tokens[3], seen[3];
	int i, j;

	ring_complete(test, f, 3, tokens, 0);
	f->mem.ring.head = 10;
	for (i = 0; i < ARRAY_SIZE(bad_tail); i++) {
		f->mem.ring.tail = bad_tail[i];
		KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
		KUNIT_EXPECT_EQ(test, f->mem.ring.head, 10);
		KUNIT_EXPECT_FALSE(test, apf->ready_pending);
		KUNIT_EXPECT_TRUE(test, apf->held);
		KUNIT_EXPECT_EQ(test, f->raised, 0);
		KUNIT_EXPECT_EQ(test, kvm_async_pf_ring_put(&f->vcpu, NULL,
							    &item), -ENOSPC);
		for (j = 0; j < KVM_APF_READY_RING_ENTRIES; j++)
			KUNIT_EXPECT_EQ(test, f->mem.ring.entries[j].token, 0);
	}
	f->mem.ring.tail = 10;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_ASSERT_EQ(test, ring_drain(f, seen, NULL), 3);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, seen[i], tokens[i]);
}

/*
 * The guest moves its indices between KVM's look (@can_dequeue) and the
 * post, from another vCPU: the post finds no room, and the completion is
 * held, first, not dropped; it goes once the ring is repaired.
 */
static void ring_refused_post_is_held(struct kunit *test)
{
	struct ring_fake *f = ring_setup(test, 64);
	struct kvm_apf_vcpu *apf = &f->vcpu.async_pf;
	u32 tokens[3], seen[3];
	int i;

	ring_complete(test, f, 3, tokens, 0);
	f->mem.ring.head = 4;
	f->mem.ring.tail = 5;		/* impossible: no room */
	f->lie = true;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_EXPECT_EQ(test, f->mem.ring.head, 4);
	KUNIT_EXPECT_EQ(test, f->raised, 0);
	KUNIT_EXPECT_TRUE(test, apf->held);
	KUNIT_EXPECT_FALSE(test, apf->ready_pending);
	KUNIT_EXPECT_EQ(test, apf->queued, 3);
	KUNIT_EXPECT_EQ(test, f->stats.apf_ready, 0);

	f->lie = false;
	f->mem.ring.tail = 4;
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_ASSERT_EQ(test, ring_drain(f, seen, NULL), 3);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, seen[i], tokens[i]);
	KUNIT_EXPECT_EQ(test, apf->queued, 0);
}

/*
 * A wake-all is an entry of the batch like any other (all ones, status 0);
 * a failure reaches a guest that opted in as its errno.
 */
static void ring_wake_all_and_status_in_batch(struct kunit *test)
{
	struct ring_fake *f = ring_setup(test, 64);
	struct kvm_apf_vcpu *apf = &f->vcpu.async_pf;
	u32 tokens[2], failed[1], seen[4], status[4];

	apf->report_errors = true;
	ring_complete(test, f, 2, tokens, 0);
	ring_complete(test, f, 1, failed, -EIO);
	KUNIT_ASSERT_EQ(test, kvm_apf_wakeup_all(apf), 0);
	KUNIT_EXPECT_EQ(test, kvm_apf_check_completion(apf), 0);
	KUNIT_ASSERT_EQ(test, ring_drain(f, seen, status), 4);
	KUNIT_EXPECT_EQ(test, seen[0], tokens[0]);
	KUNIT_EXPECT_EQ(test, seen[1], tokens[1]);
	KUNIT_EXPECT_EQ(test, seen[2], failed[0]);
	KUNIT_EXPECT_EQ(test, status[2], EIO);
	KUNIT_EXPECT_EQ(test, seen[3], KVM_APF_TOKEN_WAKE_ALL);
	KUNIT_EXPECT_EQ(test, status[0] | status[1] | status[3], 0);
	KUNIT_EXPECT_EQ(test, f->acks, 1);
	KUNIT_EXPECT_FALSE(test, apf->ready_pending);
}

static struct kunit_case ring_cases[] = {
	KUNIT_CASE(ring_burst_is_one_batch),
	KUNIT_CASE(ring_full_holds_rest),
	KUNIT_CASE(ring_indices_wrap),
	KUNIT_CASE(ring_impossible_indices_post_nothing),
	KUNIT_CASE(ring_refused_post_is_held),
	KUNIT_CASE(ring_wake_all_and_status_in_batch),
	{}
};

static struct kunit_suite ring_suite = {
	.name = "kvm_apf_ready_ring",
	.test_cases = ring_cases,
};

kunit_test_suite(ring_suite);
