/*
 * The plots page (plots.h): one self-contained HTML file, like liblive's
 * report and with its style sheet and chart code (live/report.h): inline SVG,
 * no script, no external reference, light and dark colour schemes.
 *
 * Each plot file is a <figure id="plot-N" class="plot TEMPLATE">. The linear,
 * simple, smooth and scatter templates give one chart (svg#plot-N-chart) in
 * which every revision is a line, <g class="series sK">, K being the
 * revision's colour everywhere on the page; each line is downsampled to the
 * report's bucket count, so the page stays small whatever the length of the
 * history. The confusion templates give one count matrix per revision
 * (svg#plot-N-rev-R.matrix): x across, y down, each cell shaded by its count
 * (or, normalised, its share of the y value's row) and labelled with it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots.h"
#include "report.h"

/* A confusion matrix draws at most this many classes (labels). */
#define MAX_CLASSES 50

static const char extra_style[] =
	".rev{color:var(--line);font-weight:600}.props{color:var(--muted);font-weight:400}\n"
	"figure.confusion{width:auto}.matrices{display:flex;flex-wrap:wrap;gap:16px}"
	"svg.matrix{display:block;max-width:100%;height:auto}\n"
	".matrix .cell{fill:var(--line);stroke:var(--border)}.matrix .cell.zero{fill-opacity:0}"
	".matrix text.n{fill:var(--fg);text-anchor:middle}.matrix text.n.hi{fill:var(--bg)}"
	".matrix text.n.z{fill:var(--muted);fill-opacity:.6}"
	".matrix text.rev{fill:var(--line);font-weight:600;font-size:12px}.matrix text.rl{text-anchor:end}"
	".matrix text.cl,.matrix text.al{text-anchor:middle}\n";

/* ---- line charts ---------------------------------------------------------------------- */

typedef struct line_data {
	live__series s;
	double *xs;
	size_t n, cap;
} line_data;

static int line_add(line_data *l, double x, double y, int is_int)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		double *xs = realloc(l->xs, cap * sizeof(*xs));
		if (!xs)
			return live__fail(LIVE_ENOMEM, "out of memory");
		l->xs = xs;
		l->cap = cap;
	}
	live__value v = { is_int ? LIVE__INT : LIVE__DOUBLE, { .d = y } };
	if (is_int)
		v.u.i = (long long)y;
	l->xs[l->n] = x;
	live__series_add(&l->s, (long long)l->n, &v);
	l->n++;
	return 0;
}

/* A revision's rows as a line: (x, y) where both are numbers and x is finite. */
static int read_line(const pl_plot *p, const pl_data *d, line_data *l)
{
	int rc = live__series_init(&l->s);
	pl_rows it;
	pl_rows_start(&it, d);
	const pl_field *f;
	size_t nf;
	for (size_t index = 0; !rc && (rc = pl_rows_next(&it, &f, &nf)) > 0; index++) {
		rc = 0;
		double x = (double)index, y;
		int xi = 1, yi;
		if (!p->x_index && !pl_number(pl_get(f, nf, p->x), &x, &xi))
			continue;
		if (!isfinite(x) || !p->y || !pl_number(pl_get(f, nf, p->y), &y, &yi))
			continue;
		rc = line_add(l, x, y, yi);
	}
	pl_rows_free(&it);
	return rc < 0 ? rc : 0;
}

static void put_props(live__html *h, const pl_plot *p)
{
	live__html_put(h, " <span class=\"props\">");
	live__html_text(h, p->template_name);
	live__html_put(h, ": ");
	live__html_text(h, p->x);
	live__html_put(h, " \xc3\x97 ");
	live__html_text(h, p->y ? p->y : "?");
	live__html_put(h, "</span>");
}

static int put_lines(live__html *h, const pl_set *s, const pl_plot *p, size_t i)
{
	line_data *ls = calloc(s->nrevs ? s->nrevs : 1, sizeof(*ls));
	live__chart_line *lines = calloc(s->nrevs ? s->nrevs : 1, sizeof(*lines));
	int rc = ls && lines ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
	size_t n = 0;
	for (size_t r = 0; !rc && r < s->nrevs; r++) {
		if (!p->data[r].present)
			continue;
		rc = read_line(p, &p->data[r], &ls[r]);
		if (!rc && ls[r].n)
			lines[n++] = (live__chart_line){ s->revs[r], &ls[r].s, ls[r].xs, (unsigned)r };
	}
	if (!rc && n) {
		char id[48];
		snprintf(id, sizeof(id), "plot-%zu-chart", i);
		live__chart_spec c = { .id = id,
				       .title = p->path,
				       .x_label = p->x,
				       .y_label = p->y,
				       .lines = lines,
				       .n = n,
				       .points_only = p->tmpl == PL_SCATTER };
		live__chart_lines(h, &c);
	} else if (!rc) {
		live__html_put(h, "<p class=\"muted\">No row has numbers in both ");
		live__html_text(h, p->x);
		live__html_put(h, " and ");
		live__html_text(h, p->y ? p->y : "a y field");
		live__html_put(h, ".</p>");
	}
	for (size_t r = 0; ls && r < s->nrevs; r++) {
		live__series_free(&ls[r].s);
		free(ls[r].xs);
	}
	free(ls);
	free(lines);
	return rc;
}

/* ---- confusion matrices ------------------------------------------------------------------ */

typedef struct classes {
	const char *label[MAX_CLASSES];
	double num[MAX_CLASSES];
	int numeric; /* every label is a number: sorted as numbers */
	size_t n;
	int overflow;
} classes;

/* The index of a label, added (copied: CSV/TSV cells are reused) if new; -1 past MAX_CLASSES. */
static int class_of(classes *c, arena *a, const char *label)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->label[i], label))
			return (int)i;
	if (c->n == MAX_CLASSES) {
		c->overflow = 1;
		return -1;
	}
	pl_field f = { NULL, NULL, label };
	int is_int;
	if (!pl_number(&f, &c->num[c->n], &is_int))
		c->numeric = 0;
	if (!(c->label[c->n] = xd__arena_strdup(a, label)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	return (int)c->n++;
}

static const classes *sort_ctx;

static int by_class(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (sort_ctx->numeric && sort_ctx->num[i] != sort_ctx->num[j])
		return sort_ctx->num[i] < sort_ctx->num[j] ? -1 : 1;
	return strcmp(sort_ctx->label[i], sort_ctx->label[j]);
}

/* The (x, y) labels of every row, their classes, and each revision's counts. */
static int count_rows(const pl_set *s, const pl_plot *p, arena *a, classes *c, long *counts)
{
	int rc = 0;
	for (size_t r = 0; !rc && !c->overflow && r < s->nrevs; r++) {
		pl_rows it;
		pl_rows_start(&it, &p->data[r]);
		const pl_field *f;
		size_t nf;
		while (!rc && (rc = pl_rows_next(&it, &f, &nf)) > 0) {
			rc = 0;
			const pl_field *fx = pl_get(f, nf, p->x), *fy = pl_get(f, nf, p->y);
			const char *lx = fx ? pl_label(fx) : NULL, *ly = fy ? pl_label(fy) : NULL;
			if (!lx || !ly)
				continue;
			int ix = class_of(c, a, lx), iy = ix < 0 ? ix : class_of(c, a, ly);
			if (ix < 0 || iy < 0) {
				rc = c->overflow ? 0 : iy;
				break;
			}
			counts[(r * MAX_CLASSES + (size_t)ix) * MAX_CLASSES + (size_t)iy]++;
		}
		pl_rows_free(&it);
	}
	return rc < 0 ? rc : 0;
}

/* A fraction 0..1 with two decimals, from integers: "0.25", "1". */
static void put_fraction(live__html *h, double v)
{
	long t = (long)(v * 100 + 0.5);
	if (t >= 100)
		live__html_put(h, "1");
	else
		live__html_printf(h, "0.%02ld", t < 0 ? 0 : t);
}

/* A label cut to `max` characters, with its whole text as a tooltip when cut. */
static void put_label(live__html *h, const char *label, int max)
{
	int chars = 0;
	size_t k = 0;
	for (; label[k]; k++)
		if (((unsigned char)label[k] & 0xC0) != 0x80 && ++chars > max)
			break;
	if (!label[k]) {
		live__html_text(h, label);
		return;
	}
	char cut[256];
	snprintf(cut, sizeof(cut), "%.*s", (int)(k < sizeof(cut) ? k : sizeof(cut) - 1), label);
	live__html_text(h, cut);
	live__html_put(h, "\xe2\x80\xa6<title>");
	live__html_text(h, label);
	live__html_put(h, "</title>");
}

static int label_chars(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void put_matrix(live__html *h, const pl_set *s, const pl_plot *p, size_t i, size_t r, const classes *c,
		       const size_t *order, const long *counts, long max)
{
	int n = (int)c->n, normalized = p->tmpl == PL_CONFUSION_NORMALIZED;
	int cell = 320 / (n ? n : 1);
	cell = cell < 18 ? 18 : cell > 44 ? 44 : cell;
	int chars = 1;
	for (int k = 0; k < n; k++)
		chars = label_chars(c->label[k]) > chars ? label_chars(c->label[k]) : chars;
	chars = chars > 10 ? 10 : chars;
	int col_chars = (cell - 4) / 7 > 1 ? (cell - 4) / 7 : 1;
	int left = 24 + 7 * chars + 8, top = 28, w = left + n * cell + 12, hgt = top + n * cell + 42;
	const long *m = counts + r * MAX_CLASSES * MAX_CLASSES;
	live__html_printf(h,
			  "<svg id=\"plot-%zu-rev-%zu\" class=\"matrix s%zu%s\" viewBox=\"0 0 %d %d\" "
			  "width=\"%d\" role=\"img\" aria-label=\"",
			  i, r, r % 8, r >= 8 ? " dash" : "", w, hgt, w);
	live__html_text(h, p->path);
	live__html_put(h, " at ");
	live__html_text(h, s->revs[r]);
	live__html_printf(h, "\"><text class=\"rev\" x=\"%d\" y=\"17\">", left);
	live__html_text(h, s->revs[r]);
	live__html_put(h, "</text>");
	for (int row = 0; row < n; row++) {
		size_t iy = order[row];
		long total = 0;
		for (int col = 0; col < n; col++)
			total += m[order[col] * MAX_CLASSES + iy];
		int y = top + row * cell;
		live__html_printf(h, "<text class=\"rl\" x=\"%d\" y=\"%d\">", left - 6, y + cell / 2 + 4);
		put_label(h, c->label[iy], chars);
		live__html_put(h, "</text>");
		for (int col = 0; col < n; col++) {
			size_t ix = order[col];
			long count = m[ix * MAX_CLASSES + iy];
			double share = normalized ? (total ? (double)count / (double)total : 0)
						  : (max ? (double)count / (double)max : 0);
			int x = left + col * cell;
			long op = count ? (long)(10 + 90 * share + 0.5) : 0;
			live__html_printf(h, "<rect class=\"cell%s\" x=\"%d\" y=\"%d\" ",
					  count ? "" : " zero", x, y);
			live__html_printf(h, "width=\"%d\" height=\"%d\"", cell, cell);
			if (count && op >= 100)
				live__html_put(h, " fill-opacity=\"1\"");
			else if (count)
				live__html_printf(h, " fill-opacity=\"0.%02ld\"", op);
			live__html_put(h, "><title>");
			live__html_text(h, p->x);
			live__html_put(h, " ");
			live__html_text(h, c->label[ix]);
			live__html_put(h, ", ");
			live__html_text(h, p->y);
			live__html_put(h, " ");
			live__html_text(h, c->label[iy]);
			live__html_printf(h, ": %ld", count);
			if (normalized) {
				live__html_put(h, " (");
				put_fraction(h, share);
				live__html_put(h, " of ");
				live__html_text(h, p->y);
				live__html_put(h, " ");
				live__html_text(h, c->label[iy]);
				live__html_put(h, ")");
			}
			live__html_put(h, "</title></rect>");
			char num[24];
			int len = snprintf(num, sizeof(num), "%ld", count);
			if (normalized ? cell >= 30 : len * 7 <= cell - 2) {
				live__html_printf(h, "<text class=\"n%s\" x=\"%d\" y=\"%d\">",
						  !count ? " z" : op > 55 ? " hi" : "",
						  x + cell / 2, y + cell / 2 + 4);
				if (normalized)
					put_fraction(h, share);
				else
					live__html_put(h, num);
				live__html_put(h, "</text>");
			}
		}
	}
	int bottom = top + n * cell;
	for (int col = 0; col < n; col++) {
		live__html_printf(h, "<text class=\"cl\" x=\"%d\" y=\"%d\">", left + col * cell + cell / 2,
				  bottom + 15);
		put_label(h, c->label[order[col]], col_chars);
		live__html_put(h, "</text>");
	}
	live__html_printf(h, "<text class=\"al\" x=\"%d\" y=\"%d\">", left + n * cell / 2, bottom + 34);
	live__html_text(h, p->x);
	live__html_printf(h, "</text><text class=\"al\" transform=\"translate(14 %d) rotate(-90)\">",
			  top + n * cell / 2);
	live__html_text(h, p->y);
	live__html_put(h, "</text></svg>");
}

static int put_confusion(live__html *h, const pl_set *s, const pl_plot *p, size_t i)
{
	classes c = { .numeric = 1 };
	arena a = { 0 };
	long *counts = calloc((s->nrevs ? s->nrevs : 1) * MAX_CLASSES * MAX_CLASSES, sizeof(*counts));
	if (!counts)
		return live__fail(LIVE_ENOMEM, "out of memory");
	int rc = p->y ? count_rows(s, p, &a, &c, counts) : 0;
	if (!rc && (c.overflow || !c.n)) {
		live__html_put(h, "<p class=\"muted\">");
		if (c.overflow)
			live__html_printf(h, "More than %d classes in ", MAX_CLASSES);
		else
			live__html_put(h, "No row has both ");
		live__html_text(h, p->x);
		live__html_put(h, " and ");
		live__html_text(h, p->y ? p->y : "a y field");
		live__html_put(h, c.overflow ? ": too many to draw as a matrix.</p>" : ".</p>");
	} else if (!rc) {
		size_t order[MAX_CLASSES];
		for (size_t k = 0; k < c.n; k++)
			order[k] = k;
		sort_ctx = &c;
		qsort(order, c.n, sizeof(*order), by_class);
		long max = 0;
		for (size_t k = 0; k < s->nrevs * MAX_CLASSES * MAX_CLASSES; k++)
			max = counts[k] > max ? counts[k] : max;
		live__html_put(h, "<div class=\"matrices\">");
		for (size_t r = 0; r < s->nrevs; r++)
			if (p->data[r].present)
				put_matrix(h, s, p, i, r, &c, order, counts, max);
		live__html_put(h, "</div>");
	}
	free(counts);
	xd__arena_free(&a);
	return rc;
}

/* ---- the page ------------------------------------------------------------------------------ */

int pl_render_html(const pl_set *s, live__buf *out)
{
	live__html h = { out, 0 };
	out->len = 0;
	live__html_page_start(&h, "plots", " \xe2\x80\x94 live", 0, extra_style);
	live__html_put(&h, "<header><h1>plots</h1><p class=\"meta\" id=\"revisions\">");
	for (size_t r = 0; r < s->nrevs; r++) {
		live__html_printf(&h, "%s<span class=\"rev s%zu%s\">", r ? " \xc2\xb7 " : "", r % 8,
				  r >= 8 ? " dash" : "");
		live__html_text(&h, s->revs[r]);
		live__html_put(&h, "</span>");
	}
	live__html_printf(&h, " \xc2\xb7 live %s</p></header>\n", live_version_string());
	live__html_put(&h, "<section id=\"plots\">\n<div class=\"charts\">\n");
	int rc = 0;
	for (size_t i = 0; !rc && i < s->nplots; i++) {
		const pl_plot *p = &s->plots[i];
		int confusion = p->tmpl == PL_CONFUSION || p->tmpl == PL_CONFUSION_NORMALIZED;
		live__html_printf(&h, "<figure id=\"plot-%zu\" class=\"plot %s\"><figcaption>", i,
				  confusion ? "confusion" : p->tmpl == PL_SCATTER ? "scatter" : "linear");
		live__html_path(&h, p->path);
		put_props(&h, p);
		live__html_put(&h, "</figcaption>");
		rc = confusion ? put_confusion(&h, s, p, i) : put_lines(&h, s, p, i);
		live__html_put(&h, "</figure>\n");
	}
	live__html_put(&h, "</div>\n</section>\n</body>\n</html>\n");
	return rc ? rc : h.rc;
}
