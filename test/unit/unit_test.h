/*
 * unit_test.h
 *		What the plain-C unit tests share: pass/fail counters, CHECK, the
 *		closing "N passed, N failed" line scripts/test.sh reads, and a
 *		xorshift generator so every machine draws the same data.
 */
#ifndef VQPQ_UNIT_TEST_H
#define VQPQ_UNIT_TEST_H

#include <stdio.h>

static int	passed = 0;
static int	failed = 0;

#define CHECK(cond, ...) \
	do { \
		if (cond) passed++; \
		else { failed++; printf("FAIL " __VA_ARGS__); printf("\n"); } \
	} while (0)

/* the generator's state: each test seeds it with its own constant */
static unsigned long long unit_rng;

static inline unsigned long long
unit_next64(void)
{
	unit_rng ^= unit_rng << 13;
	unit_rng ^= unit_rng >> 7;
	unit_rng ^= unit_rng << 17;
	return unit_rng;
}

/* the closing line; the exit status of main */
static inline int
unit_report(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

#endif							/* VQPQ_UNIT_TEST_H */
