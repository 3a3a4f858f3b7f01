/* A growable byte buffer: grows geometrically, never shrinks, so a loop that
 * reuses one reaches a steady state with no allocation. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int live__buf_reserve(live__buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return live__fail(LIVE_ENOMEM, "out of memory (%zu bytes)", cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

int live__buf_append(live__buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0; /* also spares memcpy a NULL buffer */
	int rc = live__buf_reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void live__buf_free(live__buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
