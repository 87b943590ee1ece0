/*
 * pq.c
 *		Product quantizer (Jegou, Douze, Schmid, TPAMI 2011).
 */
#include <string.h>

#include "distance.h"
#include "pq.h"

#define ALIGN64(s) (((s) + 63) & ~(size_t) 63)

/* ksub zeros, to negate or scale a table row with madd */
static const float zeros[256];

size_t
vqpq_pq_arrays_size(int dims, int m, int nbits)
{
	size_t		ksub = (size_t) 1 << nbits;

	return ALIGN64(sizeof(int) * (size_t) (m + 1))
		+ 2 * ALIGN64(sizeof(float) * ksub * dims)
		+ ALIGN64(sizeof(float) * (size_t) m * ksub);
}

void
vqpq_pq_init(VqpqPq *pq, int dims, int m, int nbits, void *memory)
{
	char	   *p = memory;
	size_t		ksub = (size_t) 1 << nbits;
	int			base = dims / m;
	int			extra = dims % m;

	pq->dims = dims;
	pq->m = m;
	pq->nbits = nbits;
	pq->ksub = (int) ksub;
	pq->code_size = nbits == 8 ? m : (m + 1) / 2;
	pq->max_dsub = base + (extra > 0 ? 1 : 0);

	pq->offset = (int *) p;
	p += ALIGN64(sizeof(int) * (size_t) (m + 1));
	pq->codebook = (float *) p;
	p += ALIGN64(sizeof(float) * ksub * dims);
	pq->codebook_t = (float *) p;
	p += ALIGN64(sizeof(float) * ksub * dims);
	pq->norms = (float *) p;

	pq->offset[0] = 0;
	for (int j = 0; j < m; j++)
		pq->offset[j + 1] = pq->offset[j] + base + (j < extra ? 1 : 0);
}

size_t
vqpq_pq_train_workspace_size(const VqpqPq *pq, int n)
{
	return ALIGN64(sizeof(float) * (size_t) n * pq->max_dsub)
		+ vqpq_kmeans_workspace_size(n, pq->max_dsub, pq->ksub);
}

void
vqpq_pq_subspace_rows(const VqpqPq *pq, int j, const float *x, int n, int ldx, float *sub)
{
	int			off = pq->offset[j];
	int			dsub = pq->offset[j + 1] - off;

	for (int i = 0; i < n; i++)
		memcpy(sub + (size_t) i * dsub, x + (size_t) i * ldx + off, sizeof(float) * dsub);
}

double
vqpq_pq_train_subspace(const VqpqPq *pq, int j, const float *sub, int n,
					   const VqpqKmeansParams *params, float *codebook, void *kmeans_ws)
{
	int			dsub = pq->offset[j + 1] - pq->offset[j];
	VqpqKmeansParams p = *params;

	p.seed = params->seed + (uint64_t) j * 7919;
	return vqpq_kmeans(sub, n, dsub, dsub, pq->ksub, &p, codebook, kmeans_ws);
}

double
vqpq_pq_train(VqpqPq *pq, const float *x, int n, int ldx,
			  const VqpqKmeansParams *params, void *workspace)
{
	float	   *sub = workspace;
	void	   *kmeans_ws = (char *) workspace + ALIGN64(sizeof(float) * (size_t) n * pq->max_dsub);
	double		error = 0.0;

	for (int j = 0; j < pq->m; j++)
	{
		vqpq_pq_subspace_rows(pq, j, x, n, ldx, sub);
		error += vqpq_pq_train_subspace(pq, j, sub, n, params,
										pq->codebook + (size_t) pq->ksub * pq->offset[j], kmeans_ws);
	}
	vqpq_pq_prepare(pq);
	return error;
}

void
vqpq_pq_prepare(VqpqPq *pq)
{
	for (int j = 0; j < pq->m; j++)
	{
		size_t		start = (size_t) pq->ksub * pq->offset[j];

		vqpq_transpose_centroids(pq->codebook + start, pq->ksub,
								 pq->offset[j + 1] - pq->offset[j],
								 pq->codebook_t + start, pq->norms + (size_t) j * pq->ksub);
	}
}

static inline void
set_subcode(const VqpqPq *pq, uint8_t *code, int j, int c)
{
	if (pq->nbits == 8)
		code[j] = (uint8_t) c;
	else if (j % 2 == 0)
		code[j / 2] = (code[j / 2] & 0xF0) | (uint8_t) c;
	else
		code[j / 2] = (code[j / 2] & 0x0F) | (uint8_t) (c << 4);
}

void
vqpq_pq_encode(const VqpqPq *pq, const float *x, int n, int ldx,
			   uint8_t *codes, float *scratch)
{
	memset(codes, 0, (size_t) n * pq->code_size);
	for (int j = 0; j < pq->m; j++)
	{
		int			off = pq->offset[j];
		int			dsub = pq->offset[j + 1] - off;
		size_t		start = (size_t) pq->ksub * off;

		for (int i = 0; i < n; i += VQPQ_ASSIGN_BLOCK)
		{
			int			rows = n - i < VQPQ_ASSIGN_BLOCK ? n - i : VQPQ_ASSIGN_BLOCK;
			int32_t		nearest[VQPQ_ASSIGN_BLOCK];

			vqpq_nearest(x + (size_t) i * ldx + off, rows, ldx, dsub,
						 pq->codebook_t + start, pq->ksub, pq->norms + (size_t) j * pq->ksub,
						 nearest, NULL, scratch, NULL);
			for (int r = 0; r < rows; r++)
				set_subcode(pq, codes + (size_t) (i + r) * pq->code_size, j, nearest[r]);
		}
	}
}

void
vqpq_pq_decode(const VqpqPq *pq, const uint8_t *code, float *x)
{
	for (int j = 0; j < pq->m; j++)
	{
		int			off = pq->offset[j];
		int			dsub = pq->offset[j + 1] - off;
		int			c = vqpq_pq_subcode(pq, code, j);

		memcpy(x + off, pq->codebook + (size_t) pq->ksub * off + (size_t) c * dsub, sizeof(float) * dsub);
	}
}

/*
 * table[j][c] = base[j][c] + alpha * <x_j, C_jc> for every sub-space j and
 * sub-centroid c (base NULL: zero), alpha a power of two (see madd).
 */
static void
codebook_table(const VqpqPq *pq, const float *x, const float *base, float alpha, float *table)
{
	for (int j = 0; j < pq->m; j++)
	{
		int			off = pq->offset[j];
		float	   *row = table + (size_t) j * pq->ksub;

		vqpq_kernels.dot_block(x + off, 1, 0, pq->codebook_t + (size_t) pq->ksub * off,
							   pq->ksub, pq->ksub, pq->offset[j + 1] - off, row, pq->ksub);
		vqpq_kernels.madd(base ? base + (size_t) j * pq->ksub : zeros, alpha, row, row, pq->ksub);
	}
}

void
vqpq_pq_lut_ip(const VqpqPq *pq, const float *q, float *lut)
{
	codebook_table(pq, q, NULL, -1.0f, lut);
}

/*
 * Precomputed L2 tables.  For a list with centroid c and a query q,
 *   ||q - c - r||^2 = ||q - c||^2 + sum_j (||r_j||^2 + 2<c_j, r_j>) - 2 sum_j <q_j, r_j>
 * for a decoded residual r: the middle term depends on the list and the code
 * only, the last on the query and the code only.  So a scan computes the
 * query term once, keeps each list's term across queries, and forms a list's
 * lookup table with one addition per entry instead of m * ksub dot products.
 */
void
vqpq_pq_list_table_l2(const VqpqPq *pq, const float *centroid, float *table)
{
	codebook_table(pq, centroid, pq->norms, 2.0f, table);
}

void
vqpq_pq_query_table_l2(const VqpqPq *pq, const float *q, float *table)
{
	codebook_table(pq, q, NULL, -2.0f, table);
}

void
vqpq_pq_lut_combine(const VqpqPq *pq, const float *list_table, const float *query_table, float *lut)
{
	vqpq_kernels.madd(list_table, 1.0f, query_table, lut, pq->m * pq->ksub);
}

void
vqpq_pq_adc(const VqpqPq *pq, const float *lut, float base,
			const uint8_t *codes, int n, size_t stride, float *out)
{
	int			m = pq->m;

	if (pq->nbits == 8)
	{
		for (int i = 0; i < n; i++)
		{
			const uint8_t *code = codes + (size_t) i * stride;
			const float *t = lut;
			float		s0 = 0.0f,
						s1 = 0.0f,
						s2 = 0.0f,
						s3 = 0.0f;
			int			j = 0;

			/* four independent sums hide the load latency */
			for (; j + 4 <= m; j += 4, t += 1024)
			{
				s0 += t[code[j]];
				s1 += t[256 + code[j + 1]];
				s2 += t[512 + code[j + 2]];
				s3 += t[768 + code[j + 3]];
			}
			for (; j < m; j++, t += 256)
				s0 += t[code[j]];
			out[i] = base + ((s0 + s1) + (s2 + s3));
		}
	}
	else
	{
		for (int i = 0; i < n; i++)
		{
			const uint8_t *code = codes + (size_t) i * stride;
			const float *t = lut;
			float		s0 = 0.0f,
						s1 = 0.0f,
						s2 = 0.0f,
						s3 = 0.0f;
			int			j = 0;

			/* a byte holds sub-codes j (low nibble) and j + 1 (high) */
			for (; j + 4 <= m; j += 4, t += 64)
			{
				uint8_t		b0 = code[j / 2];
				uint8_t		b1 = code[j / 2 + 1];

				s0 += t[b0 & 0x0F];
				s1 += t[16 + (b0 >> 4)];
				s2 += t[32 + (b1 & 0x0F)];
				s3 += t[48 + (b1 >> 4)];
			}
			for (; j < m; j++, t += 16)
				s0 += t[j % 2 == 0 ? code[j / 2] & 0x0F : code[j / 2] >> 4];
			out[i] = base + ((s0 + s1) + (s2 + s3));
		}
	}
}
