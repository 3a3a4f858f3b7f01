/*
 * Charts as inline SVG, built from downsampled series (series.c) so that
 * their size and cost are bounded by the bucket count, never by the length of
 * the run: one metric's chart for the report, and several lines overlaid (one
 * per revision) for `live plots`.
 *
 * Each bucket gives its lowest and highest finite value at the steps they were
 * logged (one point when they coincide), then the last value is added
 * exactly. Every point carries a <title>, the browser's own tooltip, with the
 * exact value and, for a bucket of several values, the steps it covers.
 * Non-finite values are red triangles at the top (nan, inf) or the bottom
 * (-inf) edge. The page's style sheet gives the colours, so the same SVG
 * reads in light and dark mode; each line is a <g class="series sK"> whose
 * class sets the --line colour its polyline, points and legend key use.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* The drawing, in viewBox units: a legend row above the plot, more rows for more lines. */
#define W 560
#define H 264
#define LEFT 66
#define RIGHT 18
#define TOP 34
#define BOTTOM 40
#define PW (W - LEFT - RIGHT)
#define ROW 16        /* height of a legend row */
#define KEY_CHARS 32  /* a longer legend label is cut (the tooltip has it whole) */

/* An axis: its domain, and its ticks k * mant * 10^e for k in k0..k1 when `nice`. */
typedef struct axis {
	double lo, hi;
	int nice;
	long long k0, k1, mant;
	int e;
} axis;

/* One point drawn for a bucket; `step` is the series' own (an index into xs when there are xs). */
typedef struct point {
	long long step;
	double v;
	const char *what; /* NULL (one value), "lowest", "highest", "each" (all equal) or "last" */
} point;

/* A chart being drawn: its spec, axes and the plot area's vertical extent. */
typedef struct chart {
	live__html *h;
	const live__chart_spec *c;
	axis x, y;
	int x_integral; /* every x drawn is an integer */
	int top, height; /* the plot area starts at `top`; the drawing is `height` high */
} chart;

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

static double x_of(const live__chart_line *l, long long step)
{
	return l->xs ? l->xs[step] : (double)step;
}

static double px(const chart *ch, double x)
{
	return LEFT + (x - ch->x.lo) / (ch->x.hi - ch->x.lo) * PW;
}

static double py(const chart *ch, double v)
{
	int ph = ch->height - ch->top - BOTTOM;
	return ch->top + (ch->y.hi - v) / (ch->y.hi - ch->y.lo) * ph;
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

/* An x value as text: the step, or the line's x. */
static void put_x(const chart *ch, const live__chart_line *l, long long step)
{
	if (!l->xs)
		live__html_printf(ch->h, "%lld", step);
	else
		live__html_number(ch->h, l->xs[step], ch->x_integral);
}

/* "step 3" / "steps 0–3", or with an x label "epoch 0.5" / "epoch 0.5–2". */
static void put_steps(const chart *ch, const live__chart_line *l, const live__bucket *b)
{
	const char *name = ch->c->x_label;
	if (name)
		live__html_text(ch->h, name);
	else
		live__html_put(ch->h, b->first_step == b->last_step ? "step" : "steps");
	live__html_put(ch->h, " ");
	put_x(ch, l, b->first_step);
	if (b->first_step != b->last_step) {
		live__html_put(ch->h, "\xe2\x80\x93");
		put_x(ch, l, b->last_step);
	}
}

/* "step 3: " for one line; "<label>, step 3: " when there are several. */
static void put_where(const chart *ch, const live__chart_line *l, long long step)
{
	if (ch->c->n > 1) {
		live__html_text(ch->h, l->label);
		live__html_put(ch->h, ", ");
	}
	live__html_text(ch->h, ch->c->x_label ? ch->c->x_label : "step");
	live__html_put(ch->h, " ");
	put_x(ch, l, step);
	live__html_put(ch->h, ": ");
}

static void put_point_title(const chart *ch, const live__chart_line *l, const live__bucket *b, const point *p)
{
	live__html *h = ch->h;
	live__html_put(h, "<title>");
	put_where(ch, l, p->step);
	live__html_number(h, p->v, l->s->is_int);
	if (p->what && !strcmp(p->what, "last")) {
		live__html_put(h, " (last)");
	} else if (p->what) {
		unsigned n = !strcmp(p->what, "each") ? b->finite : b->count;
		live__html_printf(h, " (%s of %u values, ", p->what, n);
		put_steps(ch, l, b);
		live__html_put(h, ")");
	}
	live__html_put(h, "</title>");
}

static void put_bad(const chart *ch, const live__chart_line *l, const live__bucket *b)
{
	live__html *h = ch->h;
	int top = (b->bad & (LIVE__BAD_NAN | LIVE__BAD_PINF)) != 0;
	live__html_put(h, "<path class=\"bad\" d=\"M");
	put_coord(h, px(ch, x_of(l, b->bad_step)));
	live__html_put(h, " ");
	put_coord(h, top ? ch->top - 2 : ch->height - BOTTOM + 2);
	live__html_put(h, top ? "l-5 -8h10z\"><title>" : "l-5 8h10z\"><title>");
	if (b->count == 1) {
		put_where(ch, l, b->bad_step);
	} else {
		if (ch->c->n > 1) {
			live__html_text(h, l->label);
			live__html_put(h, ", ");
		}
		put_steps(ch, l, b);
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
	if (b->count > 1) {
		live__html_put(h, " (first at ");
		live__html_text(h, ch->c->x_label ? ch->c->x_label : "step");
		live__html_put(h, " ");
		put_x(ch, l, b->bad_step);
		live__html_put(h, ")");
	}
	live__html_put(h, "</title></path>");
}

static void put_axes(const chart *ch)
{
	live__html *h = ch->h;
	const axis *x = &ch->x, *y = &ch->y;
	int bottom = ch->height - BOTTOM;
	char label[40];
	live__html_put(h, "<g class=\"grid\">");
	for (long long k = y->nice ? y->k0 : 0; y->nice && k <= y->k1; k++) {
		live__html_printf(h, "<path d=\"M%d ", LEFT);
		put_coord(h, py(ch, tick_value(y, k)));
		live__html_printf(h, "h%d\"/>", PW);
	}
	live__html_printf(h, "</g><path class=\"axis\" d=\"M%d %dV%dH%d\"/><g class=\"ticks\">", LEFT,
			  ch->top, bottom, LEFT + PW);
	/* y labels */
	for (long long k = y->nice ? y->k0 : 0; k <= (y->nice ? y->k1 : 1); k++) {
		double v = y->nice ? tick_value(y, k) : k ? y->hi : y->lo;
		if (y->nice)
			fmt_tick(label, k * y->mant, y->e);
		else
			live__fmt_double(label, v);
		live__html_printf(h, "<text class=\"yl\" x=\"%d\" y=\"", LEFT - 6);
		put_coord(h, py(ch, v) + 4);
		live__html_printf(h, "\">%s</text>", label);
	}
	/* x ticks and labels */
	for (long long k = x->nice ? x->k0 : 0; k <= (x->nice ? x->k1 : 1); k++) {
		double v = x->nice ? tick_value(x, k) : k ? x->hi : x->lo;
		if (x->nice)
			fmt_tick(label, k * x->mant, x->e);
		else if (ch->x_integral)
			live__fmt_int(label, (long long)v);
		else
			live__fmt_double(label, v);
		live__html_put(h, "<path d=\"M");
		put_coord(h, px(ch, v));
		live__html_printf(h, " %dv5\"/><text class=\"xl\" x=\"", bottom);
		put_coord(h, px(ch, v));
		live__html_printf(h, "\" y=\"%d\">%s</text>", bottom + 17, label);
	}
	live__html_printf(h, "</g><text class=\"al\" x=\"%d\" y=\"%d\">", LEFT + PW / 2, ch->height - 5);
	live__html_text(h, ch->c->x_label ? ch->c->x_label : "step");
	live__html_printf(h, "</text><text class=\"al\" transform=\"translate(14 %d) rotate(-90)\">",
			  ch->top + (bottom - ch->top) / 2);
	live__html_text(h, ch->c->y_label ? ch->c->y_label : "");
	live__html_put(h, "</text>");
}

static void put_count(live__html *h, const live__series *s)
{
	live__html_printf(h, "%llu value%s", (unsigned long long)s->n, s->n == 1 ? "" : "s");
	if (s->width > 1)
		live__html_printf(h, ", lowest and highest of every %llu", (unsigned long long)s->width);
}

/* Characters of a label as drawn (UTF-8 continuation bytes do not count), at most KEY_CHARS. */
static int key_chars(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n < KEY_CHARS ? n : KEY_CHARS + 1;
}

/* A line's colour class: s0..s7, dashed from the ninth colour on. */
static void put_series_class(live__html *h, const live__chart_line *l)
{
	live__html_printf(h, "s%u%s", l->color % 8, l->color >= 8 ? " dash" : "");
}

/*
 * Legend keys flow left to right and wrap; their widths are estimated from
 * the labels' length (there is no script to measure text), about 7 units a
 * character at the style sheet's 11px. Returns the number of rows.
 */
static int legend_rows(const live__chart_spec *c, int draw, live__html *h)
{
	int x = LEFT, row = 0;
	for (size_t i = 0; i < c->n; i++) {
		int w = 24 + 7 * key_chars(c->lines[i].label) + 14;
		if (x > LEFT && x + w - 14 > LEFT + PW) {
			x = LEFT;
			row++;
		}
		if (draw) {
			const char *label = c->lines[i].label;
			live__html_put(h, "<g class=\"key ");
			put_series_class(h, &c->lines[i]);
			live__html_put(h, "\"><title>");
			live__html_text(h, label);
			live__html_put(h, ": ");
			put_count(h, c->lines[i].s);
			live__html_printf(h, "</title><path class=\"line\" d=\"M%d %dh18\"/>", x,
					  14 + ROW * row);
			live__html_printf(h, "<text x=\"%d\" y=\"%d\">", x + 24, 18 + ROW * row);
			if (key_chars(label) > KEY_CHARS) {
				char cut[4 * KEY_CHARS + 1];
				size_t k = 0;
				for (int chars = 0; label[k] && k < sizeof(cut) - 1; k++) {
					if (((unsigned char)label[k] & 0xC0) != 0x80 && ++chars > KEY_CHARS)
						break;
					cut[k] = label[k];
				}
				cut[k] = 0;
				live__html_text(h, cut);
				live__html_put(h, "\xe2\x80\xa6");
			} else {
				live__html_text(h, label);
			}
			live__html_put(h, "</text></g>");
		}
		x += w;
	}
	return row + 1;
}

static void put_legend(const chart *ch)
{
	live__html *h = ch->h;
	const live__chart_spec *c = ch->c;
	if (c->n > 1) {
		live__html_put(h, "<g class=\"legend\">");
		legend_rows(c, 1, h);
		live__html_put(h, "</g>");
		return;
	}
	live__html_printf(h, "<g class=\"legend\"><path class=\"line\" d=\"M%d 14h18\"/>"
			     "<text x=\"%d\" y=\"18\">",
			  LEFT, LEFT + 24);
	live__html_text(h, c->lines[0].label);
	live__html_printf(h, "</text><text class=\"count\" x=\"%d\" y=\"18\">", LEFT + PW);
	put_count(h, c->lines[0].s);
	live__html_put(h, "</text></g>");
}

/* Where the divergence began, and the best value (the first line, steps on x). */
static void put_marks(const chart *ch)
{
	live__html *h = ch->h;
	const live__watch *w = ch->c->watch;
	int bottom = ch->height - BOTTOM;
	double sx = px(ch, (double)w->since);
	live__html_put(h, "<g class=\"marks\"><path class=\"since\" d=\"M");
	put_coord(h, sx);
	live__html_printf(h, " %dV%d\"/><text class=\"since\" x=\"", ch->top, bottom);
	put_coord(h, sx + (sx > LEFT + PW / 2 ? -4 : 4));
	live__html_printf(h, "\" y=\"%d\" text-anchor=\"%s\">diverging since step %lld</text>", ch->top + 12,
			  sx > LEFT + PW / 2 ? "end" : "start", w->since);
	const live__value *best = live__watch_best(w);
	if (best) {
		double v = best->kind == LIVE__INT ? (double)best->u.i : best->u.d;
		double bx = px(ch, (double)w->best_step), by = py(ch, v);
		live__html_put(h, "<circle class=\"best\" cx=\"");
		put_coord(h, bx);
		live__html_put(h, "\" cy=\"");
		put_coord(h, by);
		live__html_put(h, "\" r=\"6\"><title>best ");
		live__html_value(h, best);
		live__html_printf(h, " at step %lld</title></circle><text class=\"best\" x=\"", w->best_step);
		put_coord(h, bx + (bx > LEFT + PW / 2 ? -9 : 9));
		live__html_put(h, "\" y=\"");
		/* away from the nearer edge */
		put_coord(h, by > ch->top + (bottom - ch->top) / 2 ? by - 10 : by + 18);
		live__html_printf(h, "\" text-anchor=\"%s\">best ", bx > LEFT + PW / 2 ? "end" : "start");
		live__html_value(h, best);
		live__html_printf(h, " at step %lld</text>", w->best_step);
	}
	live__html_put(h, "</g>");
}

static void put_point(const chart *ch, const live__chart_line *l, const live__bucket *b, const point *p,
		      const char *cls)
{
	live__html_printf(ch->h, "<circle %scx=\"", cls);
	put_coord(ch->h, px(ch, x_of(l, p->step)));
	live__html_put(ch->h, "\" cy=\"");
	put_coord(ch->h, py(ch, p->v));
	live__html_put(ch->h, "\" r=\"3\">");
	put_point_title(ch, l, b, p);
	live__html_put(ch->h, "</circle>");
}

/* One line: the polyline through every point, then the points with their tooltips, then bad values. */
static void put_line(const chart *ch, size_t i)
{
	live__html *h = ch->h;
	const live__chart_line *l = &ch->c->lines[i];
	const live__series *s = l->s;
	point p[2], last;
	int has_last = last_point(s, &last);
	live__html_put(h, "<g class=\"series ");
	put_series_class(h, l);
	/* Checkpoints share their history: earlier lines drawn wider show around the later ones. */
	size_t under = ch->c->n - 1 - i;
	if (ch->c->n > 1 && under && under <= 3)
		live__html_printf(h, " w%zu", under);
	live__html_put(h, "\">");
	if (!ch->c->points_only) {
		live__html_put(h, "<polyline class=\"line\" points=\"");
		for (uint32_t k = 0; k < s->nb; k++) {
			int n = bucket_points(&s->b[k], p);
			for (int j = 0; j < n; j++) {
				put_coord(h, px(ch, x_of(l, p[j].step)));
				live__html_put(h, ",");
				put_coord(h, py(ch, p[j].v));
				live__html_put(h, " ");
			}
		}
		if (has_last) {
			put_coord(h, px(ch, x_of(l, last.step)));
			live__html_put(h, ",");
			put_coord(h, py(ch, last.v));
		}
		live__html_put(h, "\"/>");
	}
	live__html_put(h, "<g class=\"pts\">");
	for (uint32_t k = 0; k < s->nb; k++) {
		int n = bucket_points(&s->b[k], p);
		for (int j = 0; j < n; j++)
			put_point(ch, l, &s->b[k], &p[j], "");
	}
	if (has_last)
		put_point(ch, l, NULL, &last, "class=\"last\" ");
	live__html_put(h, "</g>");
	for (uint32_t k = 0; k < s->nb; k++)
		if (s->b[k].bad)
			put_bad(ch, l, &s->b[k]);
	live__html_put(h, "</g>");
}

/* Domains: every step (or x) a bucket covers, every finite value, over all lines. */
static void domains(chart *ch)
{
	const live__chart_spec *c = ch->c;
	double xmin = 0, xmax = 0, ymin = 0, ymax = 0;
	int anyx = 0, anyy = 0;
	ch->x_integral = 1;
	for (size_t i = 0; i < c->n; i++) {
		const live__chart_line *l = &c->lines[i];
		const live__series *s = l->s;
		for (uint32_t k = 0; k < s->nb; k++) {
			const live__bucket *b = &s->b[k];
			long long steps[4] = { b->first_step, b->last_step, b->min_step, b->max_step };
			for (int j = 0; j < (b->finite ? 4 : 2); j++) {
				double x = x_of(l, steps[j]);
				if (!anyx || x < xmin)
					xmin = x;
				if (!anyx || x > xmax)
					xmax = x;
				anyx = 1;
				if (l->xs && x != floor_d(x))
					ch->x_integral = 0;
			}
			if (b->finite) {
				if (!anyy || b->min < ymin)
					ymin = b->min;
				if (!anyy || b->max > ymax)
					ymax = b->max;
				anyy = 1;
			}
		}
	}
	if (!anyy)
		ymax = 1;
	nice_axis(&ch->x, xmin, xmax, 6, ch->x_integral, 0);
	nice_axis(&ch->y, ymin, ymax, 5, 0, 1);
}

void live__chart_lines(live__html *h, const live__chart_spec *c)
{
	chart ch = { .h = h, .c = c };
	int rows = c->n > 1 ? legend_rows(c, 0, NULL) : 1;
	ch.top = TOP + ROW * (rows - 1);
	ch.height = H + ROW * (rows - 1);
	domains(&ch);

	live__html_printf(h, "<svg id=\"%s\" class=\"chart%s\" viewBox=\"0 0 %d %d\" role=\"img\" "
			     "aria-label=\"",
			  c->id, c->points_only ? " scatter" : "", W, ch.height);
	live__html_text(h, c->title);
	live__html_put(h, "\">");
	put_axes(&ch);
	put_legend(&ch);
	for (size_t i = 0; i < c->n; i++)
		put_line(&ch, i);
	if (c->watch && c->watch->diverged && c->n == 1 && !c->lines[0].xs)
		put_marks(&ch);
	live__html_put(h, "</svg>");
}

void live__chart(live__html *h, const live__metric *m, const char *id, int marks)
{
	const char *slash = strrchr(m->name, '/');
	live__chart_line line = { m->name, &m->series, NULL, 0 };
	live__chart_spec c = { .id = id,
			       .title = m->name,
			       .y_label = slash ? slash + 1 : m->name,
			       .lines = &line,
			       .n = 1,
			       .watch = marks ? &m->watch : NULL };
	live__chart_lines(h, &c);
}
