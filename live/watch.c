/*
 * Divergence (SPEC 5): the rule that calls a watched metric diverging, and the
 * calls that set and query it. The rule itself is documented at
 * live_run_set_direction() in live.h; its constants are here.
 *
 * Each logged value costs O(1): a few comparisons and two moving averages in
 * the metric's own struct, no allocation. Values are compared "oriented",
 * negated for a maximised metric, so that lower is always better.
 *
 * Why these pieces (tuned on synthetic series: steady, noisy, rising, and
 * plateaus of a million values with Gaussian, uniform and heavy-tailed noise):
 *  - the median of the last three values, before smoothing, keeps one lucky
 *    value from setting a best the metric never reaches again;
 *  - the noise is measured on second differences, |x - 2 x' + x''| / sqrt(3)
 *    (about the standard deviation for white noise), which a steady trend
 *    does not inflate, so a rise right after a steep fall is still seen;
 *  - a tolerance of 5 x that noise keeps long noisy plateaus quiet, and the
 *    10% of the best keeps smooth series from being called diverging over
 *    a tiny rise.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

#define DEFAULT_PATIENCE 10
#define MAX_PATIENCE 1000000
#define SMOOTH 0.3     /* weight of the newest value in the moving average */
#define NOISE_SMOOTH 0.05
#define SQRT3 1.7320508075688772
#define REL_TOL 0.1    /* worse than the best by more than 10% of it ... */
#define NOISE_TOL 5.0  /* ... and by more than 5 x the noise */
#define ABS_TOL 1e-12
#define CALM_REL 0.01  /* convergence: no improvement over 1% ... */
#define CALM_SPAN 5    /* ... for the last 10% of the values, at least 5 x patience */

/* No libm: liblive links only libc, cJSON and libyaml. */
static double abs_d(double x)
{
	return x < 0 ? -x : x;
}

static double max_d(double a, double b)
{
	return a > b ? a : b;
}

static double median3(double a, double b, double c)
{
	if (a > b) {
		double t = a;
		a = b;
		b = t;
	}
	/* a <= b: the median is b, unless c is below it */
	return c < b ? (c > a ? c : a) : b;
}

static int contains(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= n; i++) {
		size_t k = 0;
		while (k < w && (s[i + k] | 0x20) == word[k])
			k++;
		if (k == w)
			return 1;
	}
	return 0;
}

int live__watch_auto(const char *name)
{
	static const char *const lower[] = { "loss", "error" };
	static const char *const higher[] = { "acc", "auc", "f1", "precision", "recall" };
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	size_t n = strlen(base);
	for (size_t i = 0; i < sizeof(lower) / sizeof(*lower); i++)
		if (contains(base, n, lower[i]))
			return LIVE_MINIMIZE;
	for (size_t i = 0; i < sizeof(higher) / sizeof(*higher); i++)
		if (contains(base, n, higher[i]))
			return LIVE_MAXIMIZE;
	return 0;
}

int live__watch_patience(const live_run *r, const live__watch *w)
{
	return w->patience ? w->patience : r->patience ? r->patience : DEFAULT_PATIENCE;
}

const live__value *live__watch_best(const live__watch *w)
{
	return w->best_step >= 0 && w->best_v.kind != LIVE__NONE ? &w->best_v : NULL;
}

const char *live__watch_reason(int diverged)
{
	switch (diverged) {
	case LIVE__DIV_NAN: return "nan";
	case LIVE__DIV_PINF: return "inf";
	case LIVE__DIV_NINF: return "-inf";
	default: return "worse";
	}
}

size_t live__watch_bound(size_t name_len)
{
	/* Indented key escaped at 6 bytes a byte, four members, braces. */
	return 6 * name_len + 4 * LIVE__NUM_MAX + 200;
}

int live__watch_converged(const live_run *r, const live__watch *w)
{
	long long span = (long long)CALM_SPAN * live__watch_patience(r, w);
	if (span < w->n / 10)
		span = w->n / 10;
	return w->direction && !w->diverged && w->n > 0 && w->n - w->calm_n >= span;
}

static void reset(live__watch *w)
{
	int direction = w->direction, patience = w->patience;
	memset(w, 0, sizeof(*w));
	w->direction = direction;
	w->patience = patience;
	w->best_step = -1;
}

static size_t fmt_value(char *buf, const live__value *v)
{
	return v->kind == LIVE__INT ? live__fmt_int(buf, v->u.i) : live__fmt_double(buf, v->u.d);
}

static void diverge(live_run *r, live__metric *m, int why, long long since, long long step, int quiet)
{
	live__watch *w = &m->watch;
	w->diverged = why;
	w->since = since;
	w->at = step;
	r->summary_dirty = 1;
	if (quiet)
		return;
	char best[LIVE__NUM_MAX];
	const live__value *b = live__watch_best(w);
	if (b)
		fmt_value(best, b);
	if (why == LIVE__DIV_WORSE)
		fprintf(stderr, "live: %s is diverging since step %lld (best %s at step %lld)\n", m->name,
			since, best, w->best_step);
	else if (b)
		fprintf(stderr, "live: %s is diverging since step %lld (%s; best %s at step %lld)\n", m->name,
			since, live__watch_reason(why), best, w->best_step);
	else
		fprintf(stderr, "live: %s is diverging since step %lld (%s; no finite value before)\n",
			m->name, since, live__watch_reason(why));
}

void live__watch_add(live_run *r, uint32_t metric, long long step, const live__value *v, int quiet)
{
	live__metric *m = &r->metrics[metric];
	live__watch *w = &m->watch;
	if (!w->direction || w->diverged)
		return;
	double x = v->kind == LIVE__INT ? (double)v->u.i : v->u.d;
	if (!isfinite(x)) {
		diverge(r, m, isnan(x) ? LIVE__DIV_NAN : x > 0 ? LIVE__DIV_PINF : LIVE__DIV_NINF, step, step,
			quiet);
		return;
	}
	double o = w->direction == LIVE_MAXIMIZE ? -x : x;
	if (w->n++ == 0) {
		w->best = w->ema = w->ema_best = w->prev = w->prev2 = w->calm = o;
		w->best_v = *v;
		w->best_step = w->calm_step = step;
		w->calm_n = 1;
		return;
	}
	if (o < w->best) {
		w->best = o;
		w->best_v = *v;
		w->best_step = step;
	}
	double mid = o;
	if (w->n >= 3) {
		double d = abs_d(o - 2 * w->prev + w->prev2) / SQRT3;
		w->noise = w->n == 3 ? d : w->noise + NOISE_SMOOTH * (d - w->noise);
		mid = median3(o, w->prev, w->prev2);
	}
	w->prev2 = w->prev;
	w->prev = o;
	w->ema += SMOOTH * (mid - w->ema);
	if (w->ema < w->calm - max_d(CALM_REL * abs_d(w->calm), ABS_TOL)) {
		w->calm = w->ema;
		w->calm_step = step;
		w->calm_n = w->n;
	}
	if (w->ema < w->ema_best) {
		w->ema_best = w->ema;
		w->streak = 0;
		return;
	}
	double tol = max_d(max_d(REL_TOL * abs_d(w->ema_best), NOISE_TOL * w->noise), ABS_TOL);
	if (!(w->ema > w->ema_best + tol)) {
		w->streak = 0;
		return;
	}
	if (w->streak++ == 0)
		w->streak_step = step;
	if (w->streak >= live__watch_patience(r, w))
		diverge(r, m, LIVE__DIV_WORSE, w->streak_step, step, quiet);
}

/* ---- public ---------------------------------------------------------------- */

static int check_run(const live_run *r, const char *what)
{
	if (!r)
		return live__fail(LIVE_EINVALID, "%s: run is NULL", what);
	if (r->closed)
		return live__fail(LIVE_ECLOSED, "%s: the run is closed", what);
	return 0;
}

int live_run_set_direction(live_run *r, const char *name, int direction)
{
	int rc = check_run(r, "live_run_set_direction");
	if (rc)
		return rc;
	if (direction < LIVE_DIRECTION_AUTO || direction > LIVE_UNWATCHED)
		return live__fail(LIVE_EINVALID,
				  "live_run_set_direction: direction %d: expected LIVE_DIRECTION_AUTO, "
				  "LIVE_MINIMIZE, LIVE_MAXIMIZE or LIVE_UNWATCHED",
				  direction);
	if (r->cfg.inert)
		return live__name_check(name, NULL);
	long idx = live__metric_get(r, name);
	if (idx < 0)
		return (int)idx;
	live__watch *w = &r->metrics[idx].watch;
	int want = direction == LIVE_DIRECTION_AUTO ? live__watch_auto(name)
		   : direction == LIVE_UNWATCHED    ? 0
						    : direction;
	if (want != w->direction) {
		if (w->diverged)
			r->summary_dirty = 1;
		w->direction = want;
		reset(w);
	}
	return 0;
}

int live_run_set_patience(live_run *r, const char *name, int patience)
{
	int rc = check_run(r, "live_run_set_patience");
	if (rc)
		return rc;
	if (patience < 1 || patience > MAX_PATIENCE)
		return live__fail(LIVE_EINVALID, "live_run_set_patience: patience %d: expected 1 to %d",
				  patience, MAX_PATIENCE);
	if (!name) {
		r->patience = patience;
		return 0;
	}
	if (r->cfg.inert)
		return live__name_check(name, NULL);
	long idx = live__metric_get(r, name);
	if (idx < 0)
		return (int)idx;
	r->metrics[idx].watch.patience = patience;
	return 0;
}

int live_run_get_divergence(const live_run *r, const char *name, long long *since, long long *best_step,
			    double *best)
{
	int rc = check_run(r, "live_run_get_divergence");
	if (rc)
		return rc;
	const live__watch *found = NULL;
	if (name) {
		if ((rc = live__name_check(name, NULL)))
			return rc;
		long idx = live__metric_find(r, name);
		if (idx >= 0 && r->metrics[idx].watch.diverged)
			found = &r->metrics[idx].watch;
	} else {
		for (size_t i = 0; i < r->nmetrics; i++) {
			const live__watch *w = &r->metrics[i].watch;
			if (w->diverged && (!found || w->since < found->since))
				found = w;
		}
	}
	if (!found)
		return 0;
	const live__value *b = live__watch_best(found);
	if (since)
		*since = found->since;
	if (best_step)
		*best_step = b ? found->best_step : -1;
	if (best)
		*best = !b ? NAN : b->kind == LIVE__INT ? (double)b->u.i : b->u.d;
	return 1;
}
