/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests for the async PF gfn table, included at the end of
 * gfn_table.c so the static helpers are reachable.
 */
#include <kunit/test.h>
#include <linux/prandom.h>

static void gfn_table_init_bounds(struct kunit *test)
{
	struct kvm_apf_gfn_table t = {};

	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_table_init(&t, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_table_init(&t, KVM_APF_GFN_TABLE_MAX + 1),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, t.slots);

	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, 1), 0);
	KUNIT_EXPECT_EQ(test, BIT(t.order), 2UL);
	kvm_apf_gfn_table_destroy(&t);

	/* Never more than half full, whatever the capacity. */
	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, 64), 0);
	KUNIT_EXPECT_EQ(test, BIT(t.order), 128UL);
	kvm_apf_gfn_table_destroy(&t);
	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, 100), 0);
	KUNIT_EXPECT_GE(test, BIT(t.order), 200UL);
	kvm_apf_gfn_table_destroy(&t);
	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, KVM_APF_GFN_TABLE_MAX), 0);
	kvm_apf_gfn_table_destroy(&t);
	KUNIT_EXPECT_NULL(test, t.slots);
}

static void gfn_table_add_find_del(struct kunit *test)
{
	struct kvm_apf_gfn_table t;

	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, 8), 0);

	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_find(&t, 0x1234));
	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, 0x1234), 0);
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_find(&t, 0x1234));
	KUNIT_EXPECT_EQ(test, t.count, 1U);

	/* A duplicate is reported and changes nothing. */
	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, 0x1234), -EEXIST);
	KUNIT_EXPECT_EQ(test, t.count, 1U);

	/* gfns that differ only above bit 31 are distinct (x86 hashed 32). */
	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, 0x1234 | BIT_ULL(40)), 0);
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_find(&t, 0x1234 | BIT_ULL(40)));

	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_del(&t, 0x1234));
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_find(&t, 0x1234));
	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_find(&t, 0x1234 | BIT_ULL(40)));
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_del(&t, 0x1234));
	KUNIT_EXPECT_EQ(test, t.count, 1U);

	/* All ones marks an empty slot: never a member. */
	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, ~(gfn_t)0), -EINVAL);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_find(&t, ~(gfn_t)0));
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_del(&t, ~(gfn_t)0));
	KUNIT_EXPECT_EQ(test, t.count, 1U);

	kvm_apf_gfn_table_reset(&t);
	KUNIT_EXPECT_EQ(test, t.count, 0U);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_find(&t, 0x1234 | BIT_ULL(40)));
	kvm_apf_gfn_table_destroy(&t);
}

static void gfn_table_capacity(struct kunit *test)
{
	struct kvm_apf_gfn_table t;
	gfn_t g;

	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, 5), 0);
	for (g = 100; g < 105; g++)
		KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, g), 0);

	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, 200), -ENOSPC);
	KUNIT_EXPECT_FALSE(test, kvm_apf_gfn_find(&t, 200));
	/* A duplicate is a duplicate even when the table is full. */
	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, 102), -EEXIST);
	KUNIT_EXPECT_EQ(test, t.count, 5U);

	KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_del(&t, 102));
	KUNIT_EXPECT_EQ(test, kvm_apf_gfn_add(&t, 200), 0);
	for (g = 100; g < 105; g++)
		KUNIT_EXPECT_EQ(test, kvm_apf_gfn_find(&t, g), g != 102);
	kvm_apf_gfn_table_destroy(&t);
}

/* Up to @n gfns from @start on whose home slot is @home. */
static int gfns_with_home(const struct kvm_apf_gfn_table *t, u32 home,
			  gfn_t start, gfn_t *out, int n)
{
	int found = 0;
	gfn_t g;

	for (g = start; found < n && g < start + (1 << 24); g++)
		if (gfn_hash(t, g) == home)
			out[found++] = g;
	return found;
}

/*
 * One cluster of colliding gfns that wraps from the last slot to the first,
 * with a gfn whose home is slot 0 placed behind them: deleting from the
 * middle of the cluster must keep every other member reachable.
 */
static void gfn_table_collisions_wrap(struct kunit *test)
{
	struct kvm_apf_gfn_table t;
	gfn_t same[3], zero[1];
	u32 last;
	int i, victim;

	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, 8), 0);
	last = BIT(t.order) - 1;
	KUNIT_ASSERT_EQ(test, gfns_with_home(&t, last, 1, same, 3), 3);
	KUNIT_ASSERT_EQ(test, gfns_with_home(&t, 0, 1, zero, 1), 1);

	for (victim = 0; victim < 3; victim++) {
		kvm_apf_gfn_table_reset(&t);
		for (i = 0; i < 3; i++)
			KUNIT_ASSERT_EQ(test, kvm_apf_gfn_add(&t, same[i]), 0);
		KUNIT_ASSERT_EQ(test, kvm_apf_gfn_add(&t, zero[0]), 0);
		/* Slots last, 0, 1 hold same[]; zero[0] was pushed to 2. */
		KUNIT_EXPECT_EQ(test, t.slots[2], zero[0]);

		KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_del(&t, same[victim]));
		for (i = 0; i < 3; i++)
			KUNIT_EXPECT_EQ(test, kvm_apf_gfn_find(&t, same[i]),
					i != victim);
		KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_find(&t, zero[0]));
		/* Backward shift: no gaps inside the cluster, zero[0] home. */
		KUNIT_EXPECT_EQ(test, t.slots[0] == zero[0] ||
				t.slots[1] == zero[0], true);
		KUNIT_EXPECT_EQ(test, t.slots[2], KVM_APF_GFN_EMPTY);
	}
	kvm_apf_gfn_table_destroy(&t);
}

static const u32 gfn_table_sizes[] = { 1, 2, 7, 64, 1000 };

static void gfn_table_size_desc(const u32 *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "capacity %u", *size);
}

KUNIT_ARRAY_PARAM(gfn_table_size, gfn_table_sizes, gfn_table_size_desc);

/*
 * Random adds and deletes against a plain array: the table must agree with
 * the model on every answer, at every size, including when full.
 */
static void gfn_table_random_vs_model(struct kunit *test)
{
	const u32 cap = *(const u32 *)test->param_value;
	struct kvm_apf_gfn_table t;
	struct rnd_state rnd;
	gfn_t *model;
	u32 n = 0, i, op;

	KUNIT_ASSERT_EQ(test, kvm_apf_gfn_table_init(&t, cap), 0);
	model = kunit_kcalloc(test, cap, sizeof(*model), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, model);
	prandom_seed_state(&rnd, 0x61706667 + cap);

	for (op = 0; op < 20000; op++) {
		/* A small key space makes duplicates and collisions common. */
		gfn_t g = prandom_u32_state(&rnd) % (4 * cap + 3);
		bool in = false;
		u32 at = 0;

		for (i = 0; i < n; i++)
			if (model[i] == g) {
				in = true;
				at = i;
			}

		KUNIT_ASSERT_EQ(test, kvm_apf_gfn_find(&t, g), in);
		if (prandom_u32_state(&rnd) & 1) {
			int want = in ? -EEXIST : n == cap ? -ENOSPC : 0;

			KUNIT_ASSERT_EQ(test, kvm_apf_gfn_add(&t, g), want);
			if (!want)
				model[n++] = g;
		} else {
			KUNIT_ASSERT_EQ(test, kvm_apf_gfn_del(&t, g), in);
			if (in)
				model[at] = model[--n];
		}
		KUNIT_ASSERT_EQ(test, t.count, n);
	}
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_TRUE(test, kvm_apf_gfn_find(&t, model[i]));
	kvm_apf_gfn_table_destroy(&t);
}

static struct kunit_case gfn_table_cases[] = {
	KUNIT_CASE(gfn_table_init_bounds),
	KUNIT_CASE(gfn_table_add_find_del),
	KUNIT_CASE(gfn_table_capacity),
	KUNIT_CASE(gfn_table_collisions_wrap),
	KUNIT_CASE_PARAM(gfn_table_random_vs_model, gfn_table_size_gen_params),
	{}
};

static struct kunit_suite gfn_table_suite = {
	.name = "kvm_apf_gfn_table",
	.test_cases = gfn_table_cases,
};

kunit_test_suite(gfn_table_suite);
