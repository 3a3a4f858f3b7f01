/*
 * The HTML report (SPEC 4): <dir>.html (classic) or <dir>/report.html (v3).
 *
 * One self-contained page: a style sheet and inline SVG, no script, no
 * external reference, so it opens from file:// with no network, in light and
 * dark mode (prefers-color-scheme). While the run is open the page reloads
 * itself every 5 s; the page written at close does not.
 *
 * It is drawn from memory only: each metric's downsampled series (series.c)
 * and divergence watch (watch.c), fed with the step's rows as they are
 * written, O(1) per value. Rendering costs O(metrics x buckets), whatever
 * the length of the run, and happens at most once a second during the run
 * (plus every checkpoint, sync and close), so the cost per step stays flat.
 * The file is replaced atomically (temp file + rename).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"

/* Rewrite the report at most this often while steps go by. */
#define REPORT_INTERVAL_NS 1000000000LL
/* How often the open page reloads itself. */
#define REFRESH_SECONDS 5

/* ---- writing HTML ----------------------------------------------------------- */

static void put_n(live__html *h, const char *s, size_t n)
{
	if (!h->rc)
		h->rc = live__buf_append(h->b, s, n);
}

void live__html_put(live__html *h, const char *s)
{
	put_n(h, s, strlen(s));
}

void live__html_printf(live__html *h, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n > 0)
		put_n(h, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

void live__html_text(live__html *h, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		const char *esc;
		switch (*s) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		default:
			/* Params text may hold control bytes: none reaches the page raw. */
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				esc = "\xef\xbf\xbd";
			else
				continue;
		}
		put_n(h, run, (size_t)(s - run));
		live__html_put(h, esc);
		run = s + 1;
	}
	put_n(h, run, (size_t)(s - run));
}

void live__html_number(live__html *h, double x, int is_int)
{
	char num[LIVE__NUM_MAX];
	if (is_int && x == (double)(long long)x && x > -9.2e18 && x < 9.2e18)
		live__fmt_int(num, (long long)x);
	else
		live__fmt_double(num, x);
	live__html_put(h, num);
}

void live__html_value(live__html *h, const live__value *v)
{
	char num[LIVE__NUM_MAX];
	if (v->kind == LIVE__INT)
		live__fmt_int(num, v->u.i);
	else
		live__fmt_double(num, v->u.d);
	live__html_put(h, num);
}

/* ---- feeding the series and watches ------------------------------------------ */

void live__observe(live_run *r, uint32_t metric, long long step, const live__value *v, int quiet)
{
	live__series_add(&r->metrics[metric].series, step, v);
	live__watch_add(r, metric, step, v, quiet);
}

void live__report_observe(live_run *r)
{
	for (size_t i = 0; i < r->nrows; i++) {
		const live__row *row = &r->rows[i];
		live__observe(r, row->metric, row->step, &row->v, 0);
	}
}

/* ---- the page ------------------------------------------------------------------ */

static const char style[] =
	":root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--grid:#eaeef2;--line:#0969da;"
	"--bad:#cf222e;--best:#1a7f37;--warn:#fff8c5;--c1:#bc4c00;--c2:#1a7f37;--c3:#8250df;--c4:#bf3989;"
	"--c5:#1b7c83;--c6:#9a6700;--c7:#6e7781}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--border:#3d444d;"
	"--grid:#21262d;--line:#4493f8;--bad:#f85149;--best:#3fb950;--warn:#3b2e0a;--c1:#f0883e;--c2:#3fb950;"
	"--c3:#a371f7;--c4:#db61a2;--c5:#39c5cf;--c6:#d29922;--c7:#b1bac4}}\n"
	"body{background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,sans-serif;margin:0 auto;"
	"max-width:1200px;padding:12px 24px}\n"
	"h1{font-size:20px;margin:8px 0 0;overflow-wrap:anywhere}h2{font-size:16px;margin:24px 0 8px;"
	"border-bottom:1px solid var(--border);padding-bottom:4px}\n"
	".meta,.muted,.dir{color:var(--muted)}.meta{margin:2px 0 0}\n"
	"table{border-collapse:collapse}th,td{border:1px solid var(--border);padding:3px 10px;"
	"text-align:left;overflow-wrap:anywhere}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	".warn{background:var(--warn);border:1px solid var(--border);border-radius:6px;padding:6px 10px}\n"
	".charts{display:flex;flex-wrap:wrap;gap:16px}figure{box-sizing:border-box;margin:0;border:1px solid "
	"var(--border);border-radius:6px;padding:8px;width:568px;max-width:100%}figcaption{font-weight:600;"
	"overflow-wrap:anywhere}\n"
	"svg.chart{display:block;width:100%;height:auto}svg text{fill:var(--muted);font-size:11px}"
	"svg .legend text{fill:var(--fg)}svg text.count,svg text.yl{text-anchor:end}svg text.xl,svg text.al"
	"{text-anchor:middle}\n"
	".grid path{stroke:var(--grid)}.axis,.ticks path{stroke:var(--muted);fill:none}"
	".line{fill:none;stroke:var(--line);stroke-width:1.5;stroke-linejoin:round}\n"
	".pts circle{fill:var(--line);fill-opacity:0}.pts circle:hover{fill-opacity:1}.pts circle.last"
	"{fill-opacity:1}\n"
	".bad{fill:var(--bad)}.since{stroke:var(--bad);stroke-dasharray:5 4}svg text.since{fill:var(--bad);"
	"stroke:none}.best{fill:none;stroke:var(--best);stroke-width:2}svg text.best{fill:var(--best);"
	"stroke:none}\n"
	".s1{--line:var(--c1)}.s2{--line:var(--c2)}.s3{--line:var(--c3)}.s4{--line:var(--c4)}"
	".s5{--line:var(--c5)}.s6{--line:var(--c6)}.s7{--line:var(--c7)}.dash .line{stroke-dasharray:6 3}"
	".w1 .line{stroke-width:3.5}.w2 .line{stroke-width:5.5}.w3 .line{stroke-width:7.5}"
	".scatter .pts circle{fill-opacity:.85}\n";

void live__html_page_start(live__html *h, const char *title, const char *suffix, int refresh,
			   const char *extra_style)
{
	live__html_put(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
	if (refresh > 0)
		live__html_printf(h, "<meta http-equiv=\"refresh\" content=\"%d\">\n", refresh);
	live__html_put(h, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			  "<meta name=\"color-scheme\" content=\"light dark\">\n<title>");
	live__html_text(h, title);
	live__html_put(h, suffix ? suffix : "");
	live__html_put(h, "</title>\n<style>\n");
	live__html_put(h, style);
	live__html_put(h, extra_style ? extra_style : "");
	live__html_put(h, "</style>\n</head>\n<body>\n");
}

/* "train/" muted before "loss" in a caption. */
void live__html_path(live__html *h, const char *name)
{
	const char *slash = strrchr(name, '/');
	if (slash) {
		char dir[1100];
		size_t n = (size_t)(slash - name) + 1;
		if (n >= sizeof(dir))
			n = sizeof(dir) - 1;
		memcpy(dir, name, n);
		dir[n] = 0;
		live__html_put(h, "<span class=\"dir\">");
		live__html_text(h, dir);
		live__html_put(h, "</span>");
	}
	live__html_text(h, slash ? slash + 1 : name);
}

static void put_head(live_run *r, live__html *h, long long step)
{
	live__html_page_start(h, r->cfg.dir, " \xe2\x80\x94 live report", r->closing ? 0 : REFRESH_SECONDS,
			      NULL);
	live__html_put(h, "<header><h1>");
	live__html_text(h, r->cfg.dir);
	live__html_printf(h, "</h1><p class=\"meta\" id=\"status\">step %lld \xc2\xb7 ", step);
	if (r->closing)
		live__html_put(h, "finished");
	else
		live__html_printf(h, "running: this page reloads every %d s", REFRESH_SECONDS);
	struct tm tm;
	time_t t = (time_t)(live__now_ms() / 1000);
	if (gmtime_r(&t, &tm))
		live__html_printf(h, " \xc2\xb7 updated %04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
				  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	live__html_printf(h, " \xc2\xb7 live %s</p></header>\n", live_version_string());
}

static void put_divergence_line(live__html *h, const live__metric *m)
{
	const live__watch *w = &m->watch;
	const live__value *best = live__watch_best(w);
	live__html_put(h, "<b>");
	live__html_text(h, m->name);
	if (w->diverged == LIVE__DIV_WORSE)
		live__html_printf(h, "</b> is diverging since step %lld", w->since);
	else
		live__html_printf(h, "</b> became %s at step %lld", live__watch_reason(w->diverged),
				  w->since);
	if (best) {
		live__html_put(h, " (best ");
		live__html_value(h, best);
		live__html_printf(h, " at step %lld)", w->best_step);
	}
	if (w->at >= 0 && w->at != w->since)
		live__html_printf(h, "; found at step %lld", w->at);
}

static void put_divergence(live_run *r, live__html *h)
{
	size_t watched = 0, diverged = 0;
	for (size_t i = 0; i < r->nmetrics; i++) {
		const live__watch *w = &r->metrics[i].watch;
		watched += w->direction && (w->n > 0 || w->diverged);
		diverged += w->diverged != 0;
	}
	live__html_put(h, "<section id=\"divergence\">\n<h2>Divergence</h2>\n");
	if (!watched && !diverged) {
		live__html_put(h, "<p class=\"muted\">No metric is watched: names with loss or error are "
				  "minimised, names with acc, auc, f1, precision or recall maximised, others "
				  "through live_run_set_direction().</p>\n</section>\n");
		return;
	}
	for (size_t i = 0; i < r->nmetrics; i++) {
		if (!r->metrics[i].watch.diverged)
			continue;
		live__html_put(h, "<p class=\"warn\">");
		put_divergence_line(h, &r->metrics[i]);
		live__html_put(h, ".</p>\n");
	}
	live__html_put(h, "<table>\n<tr><th>metric</th><th>watched</th><th>best</th><th>state</th></tr>\n");
	for (size_t i = 0; i < r->nmetrics; i++) {
		const live__metric *m = &r->metrics[i];
		const live__watch *w = &m->watch;
		if (!(w->direction && (w->n > 0 || w->diverged)) && !w->diverged)
			continue;
		live__html_put(h, "<tr><td>");
		live__html_text(h, m->name);
		if (w->direction)
			live__html_printf(h, "</td><td>%s, patience %d</td><td class=\"n\">",
					  w->direction == LIVE_MAXIMIZE ? "maximised" : "minimised",
					  live__watch_patience(r, w));
		else /* a divergence read back from the summary of a run that watched it */
			live__html_put(h, "</td><td>not watched now</td><td class=\"n\">");
		const live__value *best = live__watch_best(w);
		if (best) {
			live__html_value(h, best);
			live__html_printf(h, " at step %lld", w->best_step);
		}
		live__html_put(h, "</td><td>");
		if (w->diverged == LIVE__DIV_WORSE)
			live__html_printf(h, "diverging since step %lld", w->since);
		else if (w->diverged)
			live__html_printf(h, "%s at step %lld", live__watch_reason(w->diverged), w->since);
		else if (live__watch_converged(r, w))
			live__html_printf(h,
					  "converged: no improvement over 1%% since step %lld (%lld values)",
					  w->calm_step, w->n - w->calm_n);
		else
			live__html_put(h, "no divergence");
		live__html_put(h, "</td></tr>\n");
	}
	live__html_put(h, "</table>\n");
	if (diverged) {
		live__html_put(h, "<div class=\"charts\">\n");
		for (size_t i = 0; i < r->nmetrics; i++) {
			const live__metric *m = &r->metrics[i];
			if (!m->watch.diverged || !m->series.nb)
				continue;
			char id[32];
			snprintf(id, sizeof(id), "divergence-%zu", i);
			live__html_put(h, "<figure><figcaption>");
			live__html_path(h, m->name);
			live__html_put(h, "</figcaption>");
			live__chart(h, m, id, 1);
			live__html_put(h, "</figure>\n");
		}
		live__html_put(h, "</div>\n");
	}
	live__html_put(h, "</section>\n");
}

static void put_summary(live_run *r, live__html *h)
{
	live__html_put(h, "<section id=\"summary\">\n<h2>Summary</h2>\n<table>\n<tr><th>metric</th>"
			  "<th>last</th><th>lowest</th><th>highest</th><th>values</th></tr>\n");
	for (size_t i = 0; i < r->nmetrics; i++) {
		const live__metric *m = &r->metrics[i];
		if (m->last.kind == LIVE__NONE)
			continue;
		live__html_put(h, "<tr><td>");
		live__html_text(h, m->name);
		live__html_put(h, "</td><td class=\"n\">");
		live__html_value(h, &m->last);
		live__html_put(h, "</td>");
		const live__series *s = &m->series;
		int any = 0;
		double lo = 0, hi = 0;
		for (uint32_t k = 0; k < s->nb; k++) {
			if (!s->b[k].finite)
				continue;
			if (!any || s->b[k].min < lo)
				lo = s->b[k].min;
			if (!any || s->b[k].max > hi)
				hi = s->b[k].max;
			any = 1;
		}
		live__html_put(h, "<td class=\"n\">");
		if (any)
			live__html_number(h, lo, s->is_int);
		live__html_put(h, "</td><td class=\"n\">");
		if (any)
			live__html_number(h, hi, s->is_int);
		live__html_put(h, "</td><td class=\"n\">");
		if (s->b)
			live__html_printf(h, "%llu", (unsigned long long)s->n);
		live__html_put(h, "</td></tr>\n");
	}
	live__html_put(h, "</table>\n</section>\n");
}

static int put_param(void *ctx, const char *key, const char *value)
{
	live__html *h = ctx;
	live__html_put(h, "<tr><td>");
	live__html_text(h, key);
	live__html_put(h, "</td><td>");
	live__html_text(h, value);
	live__html_put(h, "</td></tr>\n");
	return h->rc;
}

static void put_params(live__html *h)
{
	live__html_put(h, "<section id=\"params\">\n<h2>Params</h2>\n<table>\n"
			  "<tr><th>key</th><th>value</th></tr>\n");
	size_t before = h->b->len;
	live__params_each(put_param, h);
	int none = h->b->len == before;
	live__html_put(h, "</table>\n");
	if (none)
		live__html_put(h, "<p class=\"muted\">No params were read through live_param_*.</p>\n");
	live__html_put(h, "</section>\n");
}

static void put_charts(live_run *r, live__html *h)
{
	live__html_put(h, "<section id=\"metrics\">\n<h2>Metrics</h2>\n<div class=\"charts\">\n");
	for (size_t i = 0; i < r->nmetrics; i++) {
		const live__metric *m = &r->metrics[i];
		if (!m->series.nb)
			continue;
		char id[32];
		snprintf(id, sizeof(id), "chart-%zu", i);
		live__html_put(h, "<figure><figcaption>");
		live__html_path(h, m->name);
		live__html_put(h, "</figcaption>");
		live__chart(h, m, id, 1);
		live__html_put(h, "</figure>\n");
	}
	live__html_put(h, "</div>\n</section>\n");
}

int live__report_dirfd(const live_run *r)
{
	return r->cfg.layout == LIVE_LAYOUT_V3 ? r->dirfd : r->sumdirfd;
}

int live__report_write(live_run *r)
{
	if (!r->cfg.html || r->cfg.inert)
		return 0;
	/* Like the summary: a run that logged nothing and ended no step leaves no report. */
	if (r->nmetrics == 0 && r->step == 0 && !r->step_touched)
		return 0;
	long long step = r->step_touched ? r->step : r->step > 0 ? r->step - 1 : 0;
	live__html h = { &r->repbuf, 0 };
	r->repbuf.len = 0;
	put_head(r, &h, step);
	put_divergence(r, &h);
	put_summary(r, &h);
	put_params(&h);
	put_charts(r, &h);
	live__html_put(&h, "</body>\n</html>\n");
	if (h.rc)
		return h.rc;
	int rc = live__write_atomic(live__report_dirfd(r), r->repname, r->reptmp, r->repshow, r->repbuf.data,
				    r->repbuf.len);
	if (!rc)
		r->report_ns = live__mono_ns();
	return rc;
}

int live__report_step(live_run *r, long long now_ns, int force)
{
	if (force || r->report_ns == 0 || now_ns - r->report_ns >= REPORT_INTERVAL_NS)
		return live__report_write(r);
	return 0;
}
