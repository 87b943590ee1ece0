/*
 * topk_template.h
 *		A bounded max-heap that keeps the capacity smallest items offered to
 *		it: the largest kept is at heap[0], ready to be compared with the
 *		next offer and replaced.  Include it once per element type, after
 *		defining:
 *
 *		TOPK_PREFIX		a name prefix: TOPK_PREFIX##_offer is defined
 *		TOPK_ELEMENT	the element type
 *		TOPK_CMP(a, b)	a three-way comparison of two element pointers,
 *						negative when a comes first (is smaller)
 *
 * PREFIX_offer(heap, &len, capacity, item) returns true if it had to drop
 * an item (the one offered, or the largest kept) to stay within capacity,
 * so a caller can tell whether it saw everything.  Sort the kept items with
 * qsort when done.
 */

#define TOPK_MAKE_NAME(a, b) TOPK_MAKE_NAME_(a, b)
#define TOPK_MAKE_NAME_(a, b) a##_##b
#define TOPK_OFFER TOPK_MAKE_NAME(TOPK_PREFIX, offer)

static inline bool
TOPK_OFFER(TOPK_ELEMENT *heap, int *len, int capacity, const TOPK_ELEMENT *item)
{
	int			i;

	if (*len < capacity)
	{
		/* room: add at the end and sift up */
		i = (*len)++;
		while (i > 0 && TOPK_CMP(&heap[(i - 1) / 2], item) < 0)
		{
			heap[i] = heap[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		heap[i] = *item;
		return false;
	}
	if (capacity == 0 || TOPK_CMP(item, &heap[0]) >= 0)
		return true;

	/* replace the largest and sift down */
	i = 0;
	for (;;)
	{
		int			largest = i;
		int			l = 2 * i + 1;
		int			r = l + 1;
		const TOPK_ELEMENT *top = item;

		if (l < *len && TOPK_CMP(&heap[l], top) > 0)
		{
			largest = l;
			top = &heap[l];
		}
		if (r < *len && TOPK_CMP(&heap[r], top) > 0)
			largest = r;
		if (largest == i)
			break;
		heap[i] = heap[largest];
		i = largest;
	}
	heap[i] = *item;
	return true;
}

#undef TOPK_OFFER
#undef TOPK_MAKE_NAME
#undef TOPK_MAKE_NAME_
#undef TOPK_PREFIX
#undef TOPK_ELEMENT
#undef TOPK_CMP
