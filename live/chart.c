/*
 * One metric's chart for the report: inline SVG built from the metric's
 * downsampled series (series.c), so that its size and cost are bounded by the
 * bucket count, never by the length of the run.
 *
 * Each bucket gives its lowest and highest finite value at the steps they were
 * logged (one point when they coincide), then the last value is added
 * exactly. Every point carries a <title>, the browser's own tooltip, with the
 * exact value and, for a bucket of several values, the steps it covers.
 * Non-finite values are red triangles at the top (nan, inf) or the bottom
 * (-inf) edge. The page's style sheet gives the colours, so the same SVG
 * reads in light and dark mode.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* The drawing, in viewBox units. */
#define W 560
#define H 264
#define LEFT 66
#define RIGHT 18
#define TOP 34
#define BOTTOM 40
#define PW (W - LEFT - RIGHT)
#define PH (H - TOP - BOTTOM)

/* An axis: its domain, and its ticks k * mant * 10^e for k in k0..k1 when `nice`. */
typedef struct axis {
	double lo, hi;
	int nice;
	long long k0, k1, mant;
	int e;
} axis;

/* One point drawn for a bucket. */
typedef struct point {
	long long step;
	double v;
	const char *what; /* NULL (one value), "lowest", "highest", "each" (all equal) or "last" */
} point;

/*
 * The little arithmetic the axes need, without libm (liblive links only libc,
 * cJSON and libyaml). Arguments stay below 1e15 in magnitude where it matters.
 */
static double pow10i(int e)
{
	double p = 1;
	for (; e > 0; e--)
		p *= 10;
	for (; e < 0; e++)
		p /= 10;
	return p;
}

static double floor_d(double x)
{
	double t = (double)(long long)x;
	return t > x ? t - 1 : t;
}

static double ceil_d(double x)
{
	double t = (double)(long long)x;
	return t < x ? t + 1 : t;
}

static double abs_d(double x)
{
	return x < 0 ? -x : x;
}

/* A coordinate with one decimal, from integers: no locale, no %f. */
static void put_coord(live__html *h, double v)
{
	if (!isfinite(v) || v > 1e6 || v < -1e6)
		v = 0;
	long long t = (long long)(v * 10 + (v < 0 ? -0.5 : 0.5));
	live__html_printf(h, "%s%lld.%lld", t < 0 ? "-" : "", (t < 0 ? -t : t) / 10, (t < 0 ? -t : t) % 10);
}

/* The exact decimal n * 10^e, short: "0.25", "1500", "2e-12". */
static void fmt_tick(char *out, long long n, int e)
{
	if (n == 0) {
		strcpy(out, "0");
		return;
	}
	char *p = out;
	unsigned long long u = n < 0 ? 0 - (unsigned long long)n : (unsigned long long)n;
	if (n < 0)
		*p++ = '-';
	while (u % 10 == 0) {
		u /= 10;
		e++;
	}
	char d[24];
	int nd = snprintf(d, sizeof(d), "%llu", u);
	if (e >= 0 && nd + e <= 15) {
		memcpy(p, d, (size_t)nd);
		memset(p + nd, '0', (size_t)e);
		p[nd + e] = 0;
	} else if (e < 0 && e >= -9) {
		int whole = nd + e; /* digits before the decimal point */
		if (whole > 0) {
			memcpy(p, d, (size_t)whole);
			p[whole] = '.';
			memcpy(p + whole + 1, d + whole, (size_t)(nd - whole));
			p[nd + 1] = 0;
		} else {
			memcpy(p, "0.", 2);
			memset(p + 2, '0', (size_t)-whole);
			memcpy(p + 2 - whole, d, (size_t)nd);
			p[2 - whole + nd] = 0;
		}
	} else {
		int x = e + nd - 1;
		*p++ = d[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, d + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		snprintf(p, 16, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
	}
}

/* Ticks at 1, 2 or 5 times a power of ten, about `target` of them. */
static void nice_axis(axis *a, double lo, double hi, int target, int integral, int expand)
{
	if (!(hi > lo)) {
		double d = integral ? 1 : lo == 0 ? 1 : abs_d(lo) * 0.1;
		if (integral)
			hi = lo + d;
		else {
			lo -= d;
			hi += d;
		}
	}
	a->lo = lo;
	a->hi = hi;
	a->nice = 0;
	double raw = (hi - lo) / target;
	if (!isfinite(raw) || raw <= 0)
		return;
	int e = 0;
	double f = raw;
	for (; f >= 10; f /= 10)
		e++;
	for (; f < 1; f *= 10)
		e--;
	long long mant = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
	if (mant == 10) {
		mant = 1;
		e++;
	}
	if (integral && e < 0) {
		mant = 1;
		e = 0;
	}
	double step = (double)mant * pow10i(e);
	if (!isfinite(step) || abs_d(lo / step) > 1e15 || abs_d(hi / step) > 1e15 || (integral && e > 17))
		return;
	double k0 = expand ? floor_d(lo / step) : ceil_d(lo / step);
	double k1 = expand ? ceil_d(hi / step) : floor_d(hi / step);
	if (k1 - k0 > 100 || k1 < k0)
		return;
	if (expand && k1 == k0)
		k1 = k0 + 1;
	a->nice = 1;
	a->k0 = (long long)k0;
	a->k1 = (long long)k1;
	a->mant = mant;
	a->e = e;
	if (expand) {
		a->lo = k0 * step;
		a->hi = k1 * step;
	}
}

static double tick_value(const axis *a, long long k)
{
	return (double)(k * a->mant) * pow10i(a->e);
}

static double px(const axis *x, double step)
{
	return LEFT + (step - x->lo) / (x->hi - x->lo) * PW;
}

static double py(const axis *y, double v)
{
	return TOP + (y->hi - v) / (y->hi - y->lo) * PH;
}

/* The points a bucket contributes, in step order: 0, 1 or 2. */
static int bucket_points(const live__bucket *b, point out[2])
{
	if (!b->finite)
		return 0;
	if (b->min == b->max) {
		out[0] = (point){ b->min_step, b->min, b->finite > 1 ? "each" : NULL };
		return 1;
	}
	point lo = { b->min_step, b->min, "lowest" };
	point hi = { b->max_step, b->max, "highest" };
	out[0] = b->min_step <= b->max_step ? lo : hi;
	out[1] = b->min_step <= b->max_step ? hi : lo;
	return 2;
}

/* The last value, when the buckets' points do not already end with it. */
static int last_point(const live__series *s, point *out)
{
	if (!s->nb || !isfinite(s->last))
		return 0;
	point p[2];
	int n = bucket_points(&s->b[s->nb - 1], p);
	if (n && p[n - 1].step == s->last_step && p[n - 1].v == s->last)
		return 0;
	*out = (point){ s->last_step, s->last, "last" };
	return 1;
}

static void put_steps(live__html *h, const live__bucket *b)
{
	if (b->first_step == b->last_step)
		live__html_printf(h, "step %lld", b->first_step);
	else
		live__html_printf(h, "steps %lld\xe2\x80\x93%lld", b->first_step, b->last_step);
}

static void put_point_title(live__html *h, const live__series *s, const live__bucket *b, const point *p)
{
	live__html_printf(h, "<title>step %lld: ", p->step);
	live__html_number(h, p->v, s->is_int);
	if (p->what && !strcmp(p->what, "last")) {
		live__html_put(h, " (last)");
	} else if (p->what) {
		unsigned n = !strcmp(p->what, "each") ? b->finite : b->count;
		live__html_printf(h, " (%s of %u values, ", p->what, n);
		put_steps(h, b);
		live__html_put(h, ")");
	}
	live__html_put(h, "</title>");
}

static void put_bad(live__html *h, const live__bucket *b, const axis *x)
{
	int top = (b->bad & (LIVE__BAD_NAN | LIVE__BAD_PINF)) != 0;
	live__html_put(h, "<path class=\"bad\" d=\"M");
	put_coord(h, px(x, (double)b->bad_step));
	live__html_put(h, " ");
	put_coord(h, top ? TOP - 2 : TOP + PH + 2);
	live__html_put(h, top ? "l-5 -8h10z\"><title>" : "l-5 8h10z\"><title>");
	if (b->count == 1) {
		live__html_printf(h, "step %lld: ", b->bad_step);
	} else {
		put_steps(h, b);
		live__html_put(h, ": ");
	}
	const char *sep = "";
	if (b->bad & LIVE__BAD_NAN) {
		live__html_put(h, "nan");
		sep = ", ";
	}
	if (b->bad & LIVE__BAD_PINF) {
		live__html_printf(h, "%sinf", sep);
		sep = ", ";
	}
	if (b->bad & LIVE__BAD_NINF)
		live__html_printf(h, "%s-inf", sep);
	if (b->count > 1)
		live__html_printf(h, " (first at step %lld)", b->bad_step);
	live__html_put(h, "</title></path>");
}

static void put_axes(live__html *h, const live__metric *m, const axis *x, const axis *y)
{
	char label[40];
	live__html_put(h, "<g class=\"grid\">");
	for (long long k = y->nice ? y->k0 : 0; y->nice && k <= y->k1; k++) {
		live__html_printf(h, "<path d=\"M%d ", LEFT);
		put_coord(h, py(y, tick_value(y, k)));
		live__html_printf(h, "h%d\"/>", PW);
	}
	live__html_printf(h, "</g><path class=\"axis\" d=\"M%d %dV%dH%d\"/><g class=\"ticks\">", LEFT, TOP,
			  TOP + PH, LEFT + PW);
	/* y labels */
	for (long long k = y->nice ? y->k0 : 0; k <= (y->nice ? y->k1 : 1); k++) {
		double v = y->nice ? tick_value(y, k) : k ? y->hi : y->lo;
		if (y->nice)
			fmt_tick(label, k * y->mant, y->e);
		else
			live__fmt_double(label, v);
		live__html_printf(h, "<text class=\"yl\" x=\"%d\" y=\"", LEFT - 6);
		put_coord(h, py(y, v) + 4);
		live__html_printf(h, "\">%s</text>", label);
	}
	/* x ticks and labels */
	for (long long k = x->nice ? x->k0 : 0; k <= (x->nice ? x->k1 : 1); k++) {
		double v = x->nice ? tick_value(x, k) : k ? x->hi : x->lo;
		if (x->nice)
			fmt_tick(label, k * x->mant, x->e);
		else
			live__fmt_int(label, (long long)v);
		live__html_put(h, "<path d=\"M");
		put_coord(h, px(x, v));
		live__html_printf(h, " %dv5\"/><text class=\"xl\" x=\"", TOP + PH);
		put_coord(h, px(x, v));
		live__html_printf(h, "\" y=\"%d\">%s</text>", TOP + PH + 17, label);
	}
	live__html_printf(h, "</g><text class=\"al\" x=\"%d\" y=\"%d\">step</text>"
			     "<text class=\"al\" transform=\"translate(14 %d) rotate(-90)\">",
			  LEFT + PW / 2, H - 5, TOP + PH / 2);
	const char *slash = strrchr(m->name, '/');
	live__html_text(h, slash ? slash + 1 : m->name);
	live__html_put(h, "</text>");
}

static void put_legend(live__html *h, const live__metric *m)
{
	const live__series *s = &m->series;
	live__html_printf(h, "<g class=\"legend\"><path class=\"line\" d=\"M%d 14h18\"/>"
			     "<text x=\"%d\" y=\"18\">",
			  LEFT, LEFT + 24);
	live__html_text(h, m->name);
	live__html_printf(h, "</text><text class=\"count\" x=\"%d\" y=\"18\">%llu value%s", LEFT + PW,
			  (unsigned long long)s->n, s->n == 1 ? "" : "s");
	if (s->width > 1)
		live__html_printf(h, ", lowest and highest of every %llu", (unsigned long long)s->width);
	live__html_put(h, "</text></g>");
}

/* Where the divergence began, and the best value. */
static void put_marks(live__html *h, const live__metric *m, const axis *x, const axis *y)
{
	const live__watch *w = &m->watch;
	double sx = px(x, (double)w->since);
	live__html_put(h, "<g class=\"marks\"><path class=\"since\" d=\"M");
	put_coord(h, sx);
	live__html_printf(h, " %dV%d\"/><text class=\"since\" x=\"", TOP, TOP + PH);
	put_coord(h, sx + (sx > LEFT + PW / 2 ? -4 : 4));
	live__html_printf(h, "\" y=\"%d\" text-anchor=\"%s\">diverging since step %lld</text>", TOP + 12,
			  sx > LEFT + PW / 2 ? "end" : "start", w->since);
	const live__value *best = live__watch_best(w);
	if (best) {
		double v = best->kind == LIVE__INT ? (double)best->u.i : best->u.d;
		double bx = px(x, (double)w->best_step), by = py(y, v);
		live__html_put(h, "<circle class=\"best\" cx=\"");
		put_coord(h, bx);
		live__html_put(h, "\" cy=\"");
		put_coord(h, by);
		live__html_put(h, "\" r=\"6\"><title>best ");
		live__html_value(h, best);
		live__html_printf(h, " at step %lld</title></circle><text class=\"best\" x=\"", w->best_step);
		put_coord(h, bx + (bx > LEFT + PW / 2 ? -9 : 9));
		live__html_put(h, "\" y=\"");
		put_coord(h, by > TOP + PH / 2 ? by - 10 : by + 18); /* away from the nearer edge */
		live__html_printf(h, "\" text-anchor=\"%s\">best ", bx > LEFT + PW / 2 ? "end" : "start");
		live__html_value(h, best);
		live__html_printf(h, " at step %lld</text>", w->best_step);
	}
	live__html_put(h, "</g>");
}

void live__chart(live__html *h, const live__metric *m, const char *id, int marks)
{
	const live__series *s = &m->series;
	point p[2], last;
	int has_last = last_point(s, &last);

	/* Domains: every step drawn, every finite value. */
	long long xmin = 0, xmax = 0;
	double ymin = 0, ymax = 0;
	int any = 0;
	for (uint32_t i = 0; i < s->nb; i++) {
		const live__bucket *b = &s->b[i];
		long long lo = b->first_step < b->last_step ? b->first_step : b->last_step;
		long long hi = b->first_step < b->last_step ? b->last_step : b->first_step;
		if (b->finite) {
			lo = lo < b->min_step ? lo : b->min_step;
			lo = lo < b->max_step ? lo : b->max_step;
			hi = hi > b->min_step ? hi : b->min_step;
			hi = hi > b->max_step ? hi : b->max_step;
			if (!any || b->min < ymin)
				ymin = b->min;
			if (!any || b->max > ymax)
				ymax = b->max;
			any = 1;
		}
		if (!i || lo < xmin)
			xmin = lo;
		if (!i || hi > xmax)
			xmax = hi;
	}
	if (!any)
		ymax = 1;
	axis x, y;
	nice_axis(&x, (double)xmin, (double)xmax, 6, 1, 0);
	nice_axis(&y, ymin, ymax, 5, 0, 1);

	live__html_printf(h, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
			     "aria-label=\"",
			  id, W, H);
	live__html_text(h, m->name);
	live__html_put(h, "\">");
	put_axes(h, m, &x, &y);
	put_legend(h, m);

	/* The line through every point, then the points with their tooltips. */
	live__html_put(h, "<polyline class=\"line\" points=\"");
	for (uint32_t i = 0; i < s->nb; i++) {
		int n = bucket_points(&s->b[i], p);
		for (int k = 0; k < n; k++) {
			put_coord(h, px(&x, (double)p[k].step));
			live__html_put(h, ",");
			put_coord(h, py(&y, p[k].v));
			live__html_put(h, " ");
		}
	}
	if (has_last) {
		put_coord(h, px(&x, (double)last.step));
		live__html_put(h, ",");
		put_coord(h, py(&y, last.v));
	}
	live__html_put(h, "\"/><g class=\"pts\">");
	for (uint32_t i = 0; i < s->nb; i++) {
		const live__bucket *b = &s->b[i];
		int n = bucket_points(b, p);
		for (int k = 0; k < n; k++) {
			live__html_put(h, "<circle cx=\"");
			put_coord(h, px(&x, (double)p[k].step));
			live__html_put(h, "\" cy=\"");
			put_coord(h, py(&y, p[k].v));
			live__html_put(h, "\" r=\"3\">");
			put_point_title(h, s, b, &p[k]);
			live__html_put(h, "</circle>");
		}
	}
	if (has_last) {
		live__html_put(h, "<circle class=\"last\" cx=\"");
		put_coord(h, px(&x, (double)last.step));
		live__html_put(h, "\" cy=\"");
		put_coord(h, py(&y, last.v));
		live__html_put(h, "\" r=\"3\">");
		put_point_title(h, s, NULL, &last);
		live__html_put(h, "</circle>");
	}
	live__html_put(h, "</g>");
	for (uint32_t i = 0; i < s->nb; i++)
		if (s->b[i].bad)
			put_bad(h, &s->b[i], &x);
	if (marks && m->watch.diverged)
		put_marks(h, m, &x, &y);
	live__html_put(h, "</svg>");
}
