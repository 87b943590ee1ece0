/*
 * pq.h
 *		Product quantizer: training, encoding, lookup tables and ADC scoring,
 *		on plain float arrays (no Postgres dependency).
 *
 * A d-dimensional vector is cut into m sub-vectors (uneven splits allowed:
 * the first d % m sub-spaces get one extra dimension), and each sub-vector
 * is replaced by the index of its nearest of ksub = 2^nbits sub-centroids.
 * A code is m sub-codes, one byte each for nbits = 8, two per byte (low
 * nibble first) for nbits = 4.
 */
#ifndef VQPQ_PQ_H
#define VQPQ_PQ_H

#include <stddef.h>
#include <stdint.h>

#include "kmeans.h"

#define VQPQ_PQ_MAX_M 4096

typedef struct VqpqPq
{
	int			dims;
	int			m;
	int			nbits;			/* 4 or 8 */
	int			ksub;			/* 1 << nbits */
	int			code_size;		/* bytes per code */
	int			max_dsub;		/* largest sub-space */
	int		   *offset;			/* m + 1 sub-space boundaries */
	/*
	 * Sub-space j's sub-centroids start at ksub * offset[j]: ksub rows of
	 * dsub_j floats (codebook), and the same transposed, dsub_j rows of ksub
	 * floats (codebook_t, for dot_block).  norms[j * ksub + c] = ||C_jc||^2.
	 */
	float	   *codebook;		/* ksub * dims */
	float	   *codebook_t;		/* ksub * dims */
	float	   *norms;			/* m * ksub */
} VqpqPq;

/* Sizes of the arrays a VqpqPq points to, so callers can carve one block. */
extern size_t vqpq_pq_arrays_size(int dims, int m, int nbits);
/* Set up pq's fields and point its arrays into memory (from the size above). */
extern void vqpq_pq_init(VqpqPq *pq, int dims, int m, int nbits, void *memory);

/* Scratch needed by vqpq_pq_train for n training rows. */
extern size_t vqpq_pq_train_workspace_size(const VqpqPq *pq, int n);
/* Train the codebooks on n rows (typically residuals); returns the mean
 * squared quantization error summed over sub-spaces. */
extern double vqpq_pq_train(VqpqPq *pq, const float *x, int n, int ldx,
							const VqpqKmeansParams *params, void *workspace);
/*
 * vqpq_pq_train's steps for one sub-space j, for callers that share them
 * out: its columns of n rows of x made contiguous (n x dsub floats), and
 * k-means on them into its codebook (ksub x dsub floats, the sub-space's
 * part of pq->codebook), returning the error; kmeans_ws is
 * vqpq_kmeans_workspace_size(n, max_dsub, ksub) bytes.  Summed over j in
 * order, the errors are vqpq_pq_train's answer.
 */
extern void vqpq_pq_subspace_rows(const VqpqPq *pq, int j, const float *x, int n, int ldx,
								  float *sub);
extern double vqpq_pq_train_subspace(const VqpqPq *pq, int j, const float *sub, int n,
									 const VqpqKmeansParams *params, float *codebook,
									 void *kmeans_ws);
/* Fill codebook_t and norms from codebook (after training or loading). */
extern void vqpq_pq_prepare(VqpqPq *pq);

/* Scratch (floats) needed by vqpq_pq_encode. */
#define VQPQ_PQ_ENCODE_SCRATCH(pq) ((size_t) VQPQ_ASSIGN_BLOCK * (pq)->ksub)
/* Encode n rows into n * code_size bytes. */
extern void vqpq_pq_encode(const VqpqPq *pq, const float *x, int n, int ldx,
						   uint8_t *codes, float *scratch);
/* Rebuild a vector from its code. */
extern void vqpq_pq_decode(const VqpqPq *pq, const uint8_t *code, float *x);

/*
 * Lookup tables, m * ksub floats.  Inner product: lut[j][c] = -<q_j, C_jc>,
 * the same for every list.  (L2 tables are formed per list from two terms,
 * below.)
 */
extern void vqpq_pq_lut_ip(const VqpqPq *pq, const float *q, float *lut);

/*
 * The L2 table of a list with the given centroid, split in two (see pq.c):
 * list_table[j][c] = ||C_jc||^2 + 2<centroid_j, C_jc> (query-independent),
 * query_table[j][c] = -2<q_j, C_jc> (list-independent), and
 * lut = list_table + query_table gives base + sum_j lut[j][code_j] =
 * ||q - centroid - decode(code)||^2 with base = ||q - centroid||^2.
 */
extern void vqpq_pq_list_table_l2(const VqpqPq *pq, const float *centroid, float *table);
extern void vqpq_pq_query_table_l2(const VqpqPq *pq, const float *q, float *table);
extern void vqpq_pq_lut_combine(const VqpqPq *pq, const float *list_table,
								const float *query_table, float *lut);

/* ADC: out[i] = base + sum_j lut[j][code_j] for n codes stride bytes apart. */
extern void vqpq_pq_adc(const VqpqPq *pq, const float *lut, float base,
						const uint8_t *codes, int n, size_t stride, float *out);

/* Sub-code j of a code. */
static inline int
vqpq_pq_subcode(const VqpqPq *pq, const uint8_t *code, int j)
{
	if (pq->nbits == 8)
		return code[j];
	return j % 2 == 0 ? code[j / 2] & 0x0F : code[j / 2] >> 4;
}

#endif							/* VQPQ_PQ_H */
