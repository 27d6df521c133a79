/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the async PF fuzzers share: a PRNG of their own (splitmix64, so that
 * a seed replays the same inputs on every libc and arch, in the host and in
 * the guest alike), the command line (-s SEED, -n INPUTS) and the report
 * lines ("seed=N" first, "inputs=N" last).
 *
 * A seed replays the inputs exactly; what the kernel does meanwhile (when a
 * delayed page arrives, when the vCPU is preempted) is timing, so a replay
 * follows the same input sequence under possibly different interleavings.
 */
#ifndef APF_FUZZ_H
#define APF_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

/* Inputs per fuzzer and arch unless -n says otherwise (make test). */
#define FUZZ_DEFAULT_INPUTS	100000ull

static inline u64 fz_next(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for n far below 2^32. */
static inline u64 fz_below(u64 *s, u64 n)
{
	return fz_next(s) % n;
}

/* A 64-bit value with a bias to the edges a check is likely to get wrong. */
static inline u64 fz_value(u64 *s)
{
	switch (fz_below(s, 6)) {
	case 0:
		return 0;
	case 1:
		return ~0ull;
	case 2:
		return 1ull << fz_below(s, 64);
	case 3:
		return fz_below(s, 64);
	default:
		return fz_next(s);
	}
}

/*
 * The seed and the inputs to make (-s, -n), and the inputs done so far (the
 * host's count): defined by each fuzzer, read by its arch half's FZ_ASSERT.
 */
extern unsigned long long fz_seed;
extern unsigned long long fz_inputs;
extern u64 fz_done;

/* -s SEED (default: the time), -n INPUTS; prints the seed first. */
static inline void fz_parse_args(int argc, char *argv[])
{
	struct timespec ts, mono;
	int opt;

	/* The test VM's clock may start at 0: mix in uptime and pid. */
	clock_gettime(CLOCK_REALTIME, &ts);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	fz_seed = (ts.tv_sec * 1000000000ull + ts.tv_nsec) ^
		  ((mono.tv_sec * 1000000000ull + mono.tv_nsec) << 17) ^ getpid();
	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		switch (opt) {
		case 's':
			fz_seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			fz_inputs = strtoull(optarg, NULL, 0);
			break;
		default:
			printf("usage: %s [-s SEED] [-n INPUTS]\n", argv[0]);
			exit(KSFT_FAIL);
		}
	}
	printf("seed=%llu\n", fz_seed);
	printf("# replay: %s -s %llu -n %llu\n", argv[0], fz_seed, fz_inputs);
	fflush(stdout);
}

/* A failed check: say what, and the seed that replays it. */
#define FZ_ASSERT(cond, fmt, ...)						\
	TEST_ASSERT(cond, "seed=%llu input=%llu: " fmt, fz_seed,		\
		    (unsigned long long)fz_done, ##__VA_ARGS__)

#endif /* APF_FUZZ_H */
