/*
 * fastscan.h
 *		4-bit "fast-scan" scoring: the PQ codes of 32 rows stored sub-space by
 *		sub-space, and lookup tables quantized to bytes, so that one SIMD byte
 *		shuffle looks up 16 rows' sub-codes at once.  Plain C on byte arrays
 *		(no Postgres dependency), with runtime CPU dispatch like distance.h.
 *
 * Block layout (VQPQ_FS_CODES_SIZE(m) bytes for a block of 32 rows): m is
 * padded to an even number of sub-spaces (the padding sub-space's codes are
 * 0), and sub-space j owns the 16 bytes at j * 16, byte b holding row b's
 * sub-code in its low nibble and row b + 16's in its high nibble.  A 32-byte
 * load then covers two sub-spaces, one per 128-bit lane, and a byte shuffle
 * looks up a 16-entry table per lane: exactly what vpshufb does.
 *
 * Tables (VQPQ_FS_TABLE_SIZE(m) bytes): 16 bytes per sub-space, in the same
 * order.  vqpq_fs_quantize_table turns a float table t (m x 16) into
 * q[j][c] = round((t[j][c] - min_c t[j][c]) / step) with one step for all
 * sub-spaces (the largest sub-space range / 255), so that
 * sum_j t[j][code_j] = bias + step * sum_j q[j][code_j], up to m * step / 2.
 * Sums are exact integers, so every kernel variant returns the same values.
 */
#ifndef VQPQ_FASTSCAN_H
#define VQPQ_FASTSCAN_H

#include <stddef.h>
#include <stdint.h>

#define VQPQ_FS_ROWS			32
#define VQPQ_FS_SUBSPACES(m)	(((m) + 1) & ~1)
#define VQPQ_FS_CODES_SIZE(m)	((size_t) VQPQ_FS_SUBSPACES(m) * 16)
#define VQPQ_FS_TABLE_SIZE(m)	((size_t) VQPQ_FS_SUBSPACES(m) * 16)

/*
 * Store or read row's code (m 4-bit sub-codes packed two per byte, low
 * nibble first, as pq.h encodes them) in a block.
 */
extern void vqpq_fs_put_code(uint8_t *block, int m, int row, const uint8_t *code);
extern void vqpq_fs_get_code(const uint8_t *block, int m, int row, uint8_t *code);

/*
 * One row's sum over its sub-codes of float tables (m x 16): table alone,
 * or plus table2 (table2 may be NULL), read straight from the block, for
 * the few rows a filter leaves on a page (no quantized table needed).
 */
extern float vqpq_fs_row_sum(const uint8_t *block, int m, int row, const float *table,
							 const float *table2);

typedef struct VqpqFastScanKernels
{
	const char *name;			/* "portable", "avx2", "avx512bw" */

	/* out[r] = sum_j qtable[j * 16 + sub-code j of row r], for r < 32 */
	void		(*score_block) (const uint8_t *codes, const uint8_t *qtable, int m, uint32_t *out);

	/*
	 * Quantize an m x 16 float table into qtable (see above); returns step
	 * and sets *bias.  Every variant computes the same bytes, step and bias.
	 */
	float		(*quantize_table) (const float *table, int m, uint8_t *qtable, float *bias);
} VqpqFastScanKernels;

/* The kernels in use; valid after vqpq_fastscan_init(). */
extern VqpqFastScanKernels vqpq_fastscan;

/* Pick the best variant this CPU supports.  Idempotent. */
extern void vqpq_fastscan_init(void);

/* All variants compiled in and supported by this CPU, best last. */
extern int	vqpq_fastscan_variants(const VqpqFastScanKernels **variants, int max);

#endif							/* VQPQ_FASTSCAN_H */
