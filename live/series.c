/*
 * A metric's values, downsampled for the report's charts (SPEC 4).
 *
 * The series keeps a fixed number of buckets, each covering `width`
 * consecutive values and holding their finite minimum and maximum (with the
 * steps they were logged at) and where non-finite values fell. When the last
 * bucket is full and no bucket is free, neighbours merge pairwise and the
 * width doubles: a merge costs LIVE__BUCKETS/2 bucket copies and buys room for
 * LIVE__BUCKETS/2 * width more values, so adding a value is O(1) amortised,
 * whatever the length of the run, and never allocates. The extremes survive
 * every merge, so a spike stays visible at any zoom; the last value is kept
 * exactly beside the buckets.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

int live__series_init(live__series *s)
{
	if (s->b)
		return 0;
	s->b = malloc(LIVE__BUCKETS * sizeof(*s->b));
	if (!s->b)
		return live__fail(LIVE_ENOMEM, "out of memory");
	s->nb = 0;
	s->width = 1;
	s->n = 0;
	s->is_int = 1;
	return 0;
}

void live__series_free(live__series *s)
{
	free(s->b);
	memset(s, 0, sizeof(*s));
}

/* `a` takes in `b`, the bucket that follows it. */
static void merge(live__bucket *a, const live__bucket *b)
{
	if (b->finite && (!a->finite || b->min < a->min)) {
		a->min = b->min;
		a->min_step = b->min_step;
	}
	if (b->finite && (!a->finite || b->max > a->max)) {
		a->max = b->max;
		a->max_step = b->max_step;
	}
	if (b->bad && !a->bad)
		a->bad_step = b->bad_step;
	a->bad |= b->bad;
	a->last_step = b->last_step;
	a->count += b->count;
	a->finite += b->finite;
}

static void halve(live__series *s)
{
	for (uint32_t i = 0; i < s->nb / 2; i++) {
		s->b[i] = s->b[2 * i];
		merge(&s->b[i], &s->b[2 * i + 1]);
	}
	s->nb /= 2;
	s->width *= 2;
}

void live__series_add(live__series *s, long long step, const live__value *v)
{
	if (!s->b)
		return;
	double x = v->kind == LIVE__INT ? (double)v->u.i : v->u.d;
	if (v->kind != LIVE__INT)
		s->is_int = 0;
	if (s->nb == 0 || s->b[s->nb - 1].count >= s->width) {
		if (s->nb == LIVE__BUCKETS)
			halve(s);
		live__bucket *nb = &s->b[s->nb++];
		memset(nb, 0, sizeof(*nb));
		nb->first_step = step;
		nb->bad_step = -1;
	}
	live__bucket *b = &s->b[s->nb - 1];
	b->count++;
	b->last_step = step;
	if (isfinite(x)) {
		if (!b->finite || x < b->min) {
			b->min = x;
			b->min_step = step;
		}
		if (!b->finite || x > b->max) {
			b->max = x;
			b->max_step = step;
		}
		b->finite++;
	} else {
		if (!b->bad)
			b->bad_step = step;
		b->bad |= isnan(x) ? LIVE__BAD_NAN : x > 0 ? LIVE__BAD_PINF : LIVE__BAD_NINF;
	}
	s->n++;
	s->last_step = step;
	s->last = x;
}
