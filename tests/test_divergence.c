/*
 * The divergence report (SPEC 5): the rule documented at
 * live_run_set_direction() on synthetic series, its one warning line, the
 * summary's "divergence" entry, its report section, resume, and the API.
 *
 * The expected steps were computed by an independent implementation of the
 * documented rule (the Python below, run over the same series), not read off
 * this library:
 *
 *     def detect(xs, patience=10, maximize=False):   # xs: [(step, value)]
 *         n = 0; streak = 0
 *         for s, v in xs:
 *             if not math.isfinite(v): return ('nan', s, best_step)
 *             o = -v if maximize else v
 *             if n == 0:
 *                 n = 1; best, best_step = o, s; ema = ema_best = p1 = p2 = o; continue
 *             n += 1
 *             if o < best: best, best_step = o, s
 *             m = o
 *             if n >= 3:
 *                 d = abs(o - 2 * p1 + p2) / math.sqrt(3)
 *                 noise = d if n == 3 else noise + 0.05 * (d - noise)
 *                 m = sorted((o, p1, p2))[1]
 *             p2, p1 = p1, o
 *             ema += 0.3 * (m - ema)
 *             if ema < ema_best: ema_best = ema; streak = 0; continue
 *             if not ema > ema_best + max(0.1 * abs(ema_best), 5 * noise, 1e-12): streak = 0; continue
 *             if streak == 0: since = s
 *             streak += 1
 *             if streak >= patience: return ('worse', since, s, best_step)   # s: found at
 *         return None
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "live.h"
#include "run.h"
#include "testutil.h"

/* ---- stderr, captured ---------------------------------------------------- */

static int saved_stderr = -1;

static void capture_begin(void)
{
	fflush(stderr);
	saved_stderr = dup(2);
	int fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
}

/* What was printed since capture_begin (malloc'd). */
static char *capture_end(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	char *text = tu_read_file("stderr.txt");
	assert_non_null(text);
	return text;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- synthetic series ------------------------------------------------------ */

typedef double (*series_fn)(long long step);

/* Falls to 0.25 at step 30, then rises by 0.01 a step. */
static double rise_after_30(long long s)
{
	return s <= 30 ? 1.0 / (1.0 + 0.1 * (double)s) : 0.25 + 0.01 * (double)(s - 30);
}

static double steady(long long s)
{
	return 1.0 / (1.0 + (double)s);
}

static double nan_at_12(long long s)
{
	return s == 12 ? NAN : 1.0 / (1.0 + (double)s);
}

/* A 64-bit LCG: the same numbers here and in the Python cross-check. */
static uint64_t lcg_state;
static double lcg_uniform(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(lcg_state >> 11) / 9007199254740992.0 - 0.5;
}

/* Improving, with +-20% noise around the trend. */
static double noisy_loss(long long s)
{
	return exp(-(double)s / 200.0) * (1 + 0.4 * lcg_uniform());
}

/* Rising to 0.95, with +-2 points of noise. */
static double noisy_acc(long long s)
{
	return 0.95 - 0.85 * exp(-(double)s / 150.0) + 0.04 * lcg_uniform();
}

/* Rises to 0.9 at step 50, then drops by 0.01 a step. */
static double acc_drop_after_50(long long s)
{
	return s <= 50 ? 0.5 + 0.008 * (double)s : 0.9 - 0.01 * (double)(s - 50);
}

static double plateau_after_20(long long s)
{
	return s < 20 ? 1.0 / (1.0 + (double)s) : 0.05;
}

static live_run *open_run(int resume)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.summary_interval_ms = LIVE_EVERY_STEP;
	o.resume = resume;
	live_run *r = NULL;
	if (live_run_open(&r, &o) != 0)
		fail_msg("live_run_open: %s", live_errmsg());
	return r;
}

/*
 * Log `fn` at steps from .. from + steps - 1 (set explicitly, so that several
 * metrics can be fed one after the other); returns the first step whose
 * next_step found a divergence, or -1.
 */
static long long feed(live_run *r, const char *name, series_fn fn, long long from, long long steps)
{
	long long found = -1;
	for (long long s = from; s < from + steps; s++) {
		assert_int_equal(live_run_set_step(r, s), 0);
		assert_int_equal(live_run_log(r, name, fn(s)), 0);
		assert_int_equal(live_run_next_step(r), 0);
		if (found < 0 && live_run_get_divergence(r, name, NULL, NULL, NULL) == 1)
			found = s;
	}
	return found;
}

static cJSON *summary(void)
{
	char *text = tu_read_file("dvclive.json");
	assert_non_null(text);
	cJSON *root = cJSON_Parse(text);
	free(text);
	assert_non_null(root);
	return root;
}

/* ---- the synthetic cases ------------------------------------------------------ */

/* Steady improvement: nothing reported. */
static void steady_improvement_is_not_reported(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_int_equal(feed(r, "train/loss", steady, 0, 500), -1);
	assert_int_equal(live_run_close(r), 0);
	char *err = capture_end();
	assert_string_equal(err, "");
	free(err);
	cJSON *root = summary();
	assert_null(cJSON_GetObjectItemCaseSensitive(root, "divergence"));
	cJSON_Delete(root);
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "<td>train/loss</td><td>minimised, patience 10</td>"));
	assert_null(strstr(html, "diverging"));
	free(html);
}

/*
 * A loss rising after step 30 (its best, 0.25). The smoothed value is worse
 * than its best by more than the tolerance from step 38 on; the tenth such
 * value, at step 47, makes it a divergence "since step 38".
 */
static void loss_rising_after_30_is_reported_once(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	long long found = feed(r, "val/loss", rise_after_30, 0, 100);
	char *err = capture_end();
	assert_int_equal(found, 47);
	assert_string_equal(err, "live: val/loss is diverging since step 38 (best 0.25 at step 30)\n");
	free(err);

	long long since = 0, best_step = 0;
	double best = 0;
	assert_int_equal(live_run_get_divergence(r, "val/loss", &since, &best_step, &best), 1);
	assert_int_equal(since, 38);
	assert_int_equal(best_step, 30);
	assert_true(best == 0.25);
	assert_int_equal(live_run_get_divergence(r, NULL, &since, NULL, NULL), 1);
	assert_int_equal(since, 38);
	assert_int_equal(live_run_close(r), 0);

	/* The summary names it by its full name, beside the nested metrics. */
	char *text = tu_read_file("dvclive.json");
	assert_non_null(strstr(text, "\n    \"val\": {\n        \"loss\": 0.94"));
	assert_non_null(strstr(text, ",\n    \"divergence\": {\n        \"val/loss\": {\n"
				     "            \"since\": 38,\n            \"best_step\": 30,\n"
				     "            \"best\": 0.25,\n            \"reason\": \"worse\"\n        }\n    }\n}\n"));
	free(text);

	/* The report's section: the sentence, the state, a chart marking both steps. */
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "<p class=\"warn\"><b>val/loss</b> is diverging since step 38 "
				     "(best 0.25 at step 30); found at step 47.</p>"));
	assert_non_null(strstr(html, "<td>diverging since step 38</td>"));
	assert_non_null(strstr(html, "<svg id=\"divergence-0\" class=\"chart\""));
	assert_int_equal(count(html, ">diverging since step 38</text>"), 2); /* its chart, and the metrics' one */
	assert_int_equal(count(html, "<title>best 0.25 at step 30</title>"), 2);
	free(html);
}

/* A NaN at step 12: reported at once, with the best before it. */
static void nan_is_reported_at_once(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	long long found = feed(r, "train/loss", nan_at_12, 0, 30);
	char *err = capture_end();
	assert_int_equal(found, 12);
	assert_string_equal(err, "live: train/loss is diverging since step 12 (nan; best 0.08333333333333333 at "
				 "step 11)\n");
	free(err);
	assert_int_equal(live_run_close(r), 0);
	char *text = tu_read_file("dvclive.json");
	assert_non_null(strstr(text, "    \"divergence\": {\n        \"train/loss\": {\n            \"since\": 12,\n"
				     "            \"best_step\": 11,\n            \"best\": 0.08333333333333333,\n"
				     "            \"reason\": \"nan\"\n        }\n    }\n}\n"));
	free(text);
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "<b>train/loss</b> became nan at step 12 (best 0.08333333333333333 at step 11)"));
	assert_non_null(strstr(html, "<title>step 12: nan</title>"));
	free(html);
}

/* An infinite first value: no best to name. */
static void inf_first_has_no_best(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_int_equal(live_run_log(r, "error", -INFINITY), 0);
	assert_int_equal(live_run_next_step(r), 0);
	char *err = capture_end();
	assert_string_equal(err, "live: error is diverging since step 0 (-inf; no finite value before)\n");
	free(err);
	long long since = 5, best_step = 5;
	double best = 0;
	assert_int_equal(live_run_get_divergence(r, "error", &since, &best_step, &best), 1);
	assert_int_equal(since, 0);
	assert_int_equal(best_step, -1);
	assert_true(isnan(best));
	assert_int_equal(live_run_close(r), 0);
	char *text = tu_read_file("dvclive.json");
	assert_non_null(strstr(text, "\"divergence\": {\n        \"error\": {\n            \"since\": 0,\n"
				     "            \"reason\": \"-inf\"\n        }\n    }\n"));
	free(text);
}

/* Noisy but improving, a loss and an accuracy: nothing reported. */
static void noisy_improvement_is_not_reported(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	lcg_state = 1;
	assert_int_equal(feed(r, "train/loss", noisy_loss, 0, 1000), -1);
	lcg_state = 2;
	assert_int_equal(feed(r, "val/acc", noisy_acc, 0, 1000), -1);
	assert_int_equal(live_run_close(r), 0);
	char *err = capture_end();
	assert_string_equal(err, "");
	free(err);
	cJSON *root = summary();
	assert_null(cJSON_GetObjectItemCaseSensitive(root, "divergence"));
	cJSON_Delete(root);
}

/* An accuracy (maximised by its name) dropping after its best at step 50. */
static void accuracy_drop_is_reported(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	long long found = feed(r, "val/accuracy", acc_drop_after_50, 0, 120);
	char *err = capture_end();
	assert_int_equal(found, 73);
	assert_string_equal(err, "live: val/accuracy is diverging since step 64 (best 0.9 at step 50)\n");
	free(err);
	assert_int_equal(live_run_close(r), 0);
}

/* A plateau is noted in the report as converged, with no warning. */
static void plateau_is_noted_as_converged(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_int_equal(feed(r, "loss", plateau_after_20, 0, 200), -1);
	assert_int_equal(live_run_close(r), 0);
	char *err = capture_end();
	assert_string_equal(err, "");
	free(err);
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "<td>converged: no improvement over 1% since step 30 (169 values)</td>"));
	free(html);
}

/* ---- directions, patience ----------------------------------------------------- */

static void directions_by_name(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int direction;
	} cases[] = {
		{ "loss", LIVE_MINIMIZE },         { "train/Loss", LIVE_MINIMIZE },
		{ "val/error_rate", LIVE_MINIMIZE }, { "acc", LIVE_MAXIMIZE },
		{ "val/accuracy", LIVE_MAXIMIZE },  { "AUC", LIVE_MAXIMIZE },
		{ "f1", LIVE_MAXIMIZE },            { "eval/precision", LIVE_MAXIMIZE },
		{ "recall_at_5", LIVE_MAXIMIZE },   { "lr", 0 },
		{ "loss_terms/lr", 0 },             { "epoch", 0 },
		{ "acc_loss", LIVE_MINIMIZE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (live__watch_auto(cases[i].name) != cases[i].direction)
			fail_msg("%s: direction %d, want %d", cases[i].name, live__watch_auto(cases[i].name),
				 cases[i].direction);
}

/* An unwatched name is not reported until a direction is set; unwatching forgets. */
static void set_direction_watches_any_metric(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_int_equal(feed(r, "lr", rise_after_30, 0, 100), -1);
	assert_int_equal(live_run_set_direction(r, "score", LIVE_MINIMIZE), 0);
	assert_int_equal(feed(r, "score", rise_after_30, 0, 100), 47);
	assert_int_equal(live_run_set_direction(r, "score", LIVE_MINIMIZE), 0); /* same: kept */
	assert_int_equal(live_run_get_divergence(r, "score", NULL, NULL, NULL), 1);
	assert_int_equal(live_run_set_direction(r, "score", LIVE_UNWATCHED), 0);
	assert_int_equal(live_run_get_divergence(r, "score", NULL, NULL, NULL), 0);
	assert_int_equal(live_run_set_direction(r, "val/loss", LIVE_UNWATCHED), 0);
	assert_int_equal(feed(r, "val/loss", rise_after_30, 0, 100), -1);
	assert_int_equal(live_run_close(r), 0);
	char *err = capture_end();
	assert_string_equal(err, "live: score is diverging since step 38 (best 0.25 at step 30)\n");
	free(err);
	cJSON *root = summary();
	assert_null(cJSON_GetObjectItemCaseSensitive(root, "divergence"));
	cJSON_Delete(root);
}

/* Patience per metric and per run: the same start, found sooner. */
static void patience_decides_when(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_int_equal(live_run_set_patience(r, "a/loss", 3), 0);
	assert_int_equal(feed(r, "a/loss", rise_after_30, 0, 100), 40);
	assert_int_equal(live_run_set_patience(r, NULL, 5), 0);
	assert_int_equal(feed(r, "b/loss", rise_after_30, 0, 100), 42);
	long long since = 0;
	assert_int_equal(live_run_get_divergence(r, "b/loss", &since, NULL, NULL), 1);
	assert_int_equal(since, 38);
	assert_int_equal(live_run_close(r), 0);
	free(capture_end());
}

static void api_errors(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	assert_int_equal(live_run_set_direction(r, "loss", 7), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "live_run_set_direction: direction 7: expected LIVE_DIRECTION_AUTO, "
					   "LIVE_MINIMIZE, LIVE_MAXIMIZE or LIVE_UNWATCHED");
	assert_int_equal(live_run_set_direction(r, "../x", LIVE_MINIMIZE), LIVE_EINVALID);
	assert_int_equal(live_run_set_direction(r, "divergence", LIVE_MINIMIZE), LIVE_EINVALID);
	assert_int_equal(live_run_set_direction(NULL, "loss", LIVE_MINIMIZE), LIVE_EINVALID);
	assert_int_equal(live_run_set_patience(r, "loss", 0), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "live_run_set_patience: patience 0: expected 1 to 1000000");
	assert_int_equal(live_run_set_patience(r, NULL, 1000001), LIVE_EINVALID);
	assert_int_equal(live_run_get_divergence(NULL, "loss", NULL, NULL, NULL), LIVE_EINVALID);
	assert_int_equal(live_run_get_divergence(r, "", NULL, NULL, NULL), LIVE_EINVALID);
	assert_int_equal(live_run_get_divergence(r, "never_logged", NULL, NULL, NULL), 0);
	assert_int_equal(live_run_get_divergence(r, NULL, NULL, NULL, NULL), 0);
	/* Setting a direction registers the name: a clash is found then, not at the first log. */
	assert_int_equal(live_run_set_direction(r, "a/loss", LIVE_MINIMIZE), 0);
	assert_int_equal(live_run_set_direction(r, "a", LIVE_MINIMIZE), LIVE_EINVALID);
	assert_int_equal(live_run_close(r), 0);
	/* A name only given a direction leaves no file behind. */
	assert_false(tu_exists("dvclive/a"));
	assert_false(tu_exists("dvclive/loss.tsv"));
}

/* The default run's wrappers. */
static void default_run_wrappers(void **state)
{
	(void)state;
	assert_int_equal(live_init(NULL), 0);
	assert_int_equal(live_set_direction("score", LIVE_MAXIMIZE), 0);
	assert_int_equal(live_set_patience("score", 2), 0);
	capture_begin();
	for (int s = 0; s < 10; s++) {
		assert_int_equal(live_log("score", s < 5 ? s : 10 - 2 * s), 0);
		assert_int_equal(live_next_step(), 0);
	}
	char *err = capture_end();
	long long since = 0, best_step = 0;
	double best = 0;
	assert_int_equal(live_get_divergence("score", &since, &best_step, &best), 1);
	assert_int_equal(best_step, 4);
	assert_true(best == 4.0);
	assert_non_null(strstr(err, "live: score is diverging since step "));
	free(err);
	assert_int_equal(live_set_direction("x", 9), LIVE_EINVALID);
	assert_int_equal(live_close(), 0);
}

/* ---- resume ------------------------------------------------------------------- */

/* A divergence found before a restart is read back, not reported again. */
static void resume_keeps_the_divergence(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	feed(r, "val/loss", rise_after_30, 0, 60);
	assert_int_equal(live_run_close(r), 0);
	char *before = tu_read_file("dvclive.json");

	r = open_run(LIVE_ON);
	long long since = 0, best_step = 0;
	assert_int_equal(live_run_get_divergence(r, "val/loss", &since, &best_step, NULL), 1);
	assert_int_equal(since, 38);
	assert_int_equal(best_step, 30);
	feed(r, "val/loss", rise_after_30, 60, 10);
	assert_int_equal(live_run_close(r), 0);
	char *err = capture_end();
	assert_int_equal(count(err, "is diverging"), 1);
	free(err);
	char *after = tu_read_file("dvclive.json");
	const char *entry = strstr(before, "    \"divergence\"");
	assert_non_null(entry);
	assert_non_null(strstr(after, entry));
	free(before);
	free(after);
	/* The report's chart holds both runs' values. */
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "70 values"));
	free(html);
}

/* A set direction's divergence comes back from the summary too. */
static void resume_keeps_a_set_direction_divergence(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_int_equal(live_run_set_direction(r, "score", LIVE_MINIMIZE), 0);
	feed(r, "score", rise_after_30, 0, 60);
	assert_int_equal(live_run_close(r), 0);
	r = open_run(LIVE_ON);
	long long since = 0;
	assert_int_equal(live_run_get_divergence(r, "score", &since, NULL, NULL), 1);
	assert_int_equal(since, 38);
	assert_int_equal(live_run_close(r), 0);
	free(capture_end());
	cJSON *root = summary();
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "divergence"),
							  "score");
	assert_true(cJSON_GetObjectItemCaseSensitive(d, "since")->valuedouble == 38.0);
	cJSON_Delete(root);
}

/* The best before a restart still counts: the histories are replayed at open. */
static void resume_replays_the_best(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_int_equal(feed(r, "val/loss", rise_after_30, 0, 35), -1);
	assert_int_equal(live_run_close(r), 0);
	r = open_run(LIVE_ON);
	assert_int_equal(live_run_get_step(r), 35);
	assert_int_equal(feed(r, "val/loss", rise_after_30, 35, 65), 47);
	long long best_step = 0;
	assert_int_equal(live_run_get_divergence(r, "val/loss", NULL, &best_step, NULL), 1);
	assert_int_equal(best_step, 30);
	assert_int_equal(live_run_close(r), 0);
	char *err = capture_end();
	assert_string_equal(err, "live: val/loss is diverging since step 38 (best 0.25 at step 30)\n");
	free(err);
}

/* A best of 1.0 comes back as 1.0, not as the integer JSON makes of it. */
static double fall_rise(long long s)
{
	return s <= 5 ? 6.0 - (double)s : (double)s - 4.0;
}

static void resume_keeps_a_float_best_a_float(void **state)
{
	(void)state;
	live_run *r = open_run(0);
	capture_begin();
	assert_true(feed(r, "loss", fall_rise, 0, 40) > 0);
	assert_int_equal(live_run_close(r), 0);
	free(capture_end());
	char *before = tu_read_file("dvclive.json");
	assert_non_null(strstr(before, "\"best\": 1.0,"));
	r = open_run(LIVE_ON);
	assert_int_equal(live_run_close(r), 0);
	char *after = tu_read_file("dvclive.json");
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/* A malformed entry stops the resume with the file and what was expected. */
static void resume_rejects_a_bad_entry(void **state)
{
	(void)state;
	tu_write_file("dvclive.json", "{\"step\": 3, \"loss\": 1.0, \"divergence\": {\"loss\": {\"since\": -1}}}\n");
	live_run *r = NULL;
	live_options o = LIVE_OPTIONS_INIT;
	o.resume = LIVE_ON;
	assert_int_equal(live_run_open(&r, &o), LIVE_EPARSE);
	assert_string_equal(live_errmsg(),
			    "dvclive.json: key 'divergence' / 'loss': expected {\"since\": <step>, \"best_step\": "
			    "<step>, \"best\": <number>, \"reason\": \"worse\", \"nan\", \"inf\" or \"-inf\"}");
	tu_write_file("dvclive.json", "{\"step\": 3, \"divergence\": []}\n");
	assert_int_equal(live_run_open(&r, &o), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvclive.json: key 'divergence': expected an object");
	tu_write_file("dvclive.json", "{\"step\": 3, \"divergence\": {\"loss\": {\"since\": 2, \"best_step\": 1, "
				      "\"best\": \"nan\", \"reason\": \"nan\"}}}\n");
	assert_int_equal(live_run_open(&r, &o), 0);
	long long since = 0;
	assert_int_equal(live_run_get_divergence(r, "loss", &since, NULL, NULL), 1);
	assert_int_equal(since, 2);
	assert_int_equal(live_run_close(r), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tu_enter_tmpdir, tu_leave_tmpdir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(steady_improvement_is_not_reported),
		T(loss_rising_after_30_is_reported_once),
		T(nan_is_reported_at_once),
		T(inf_first_has_no_best),
		T(noisy_improvement_is_not_reported),
		T(accuracy_drop_is_reported),
		T(plateau_is_noted_as_converged),
		T(directions_by_name),
		T(set_direction_watches_any_metric),
		T(patience_decides_when),
		T(api_errors),
		T(default_run_wrappers),
		T(resume_keeps_the_divergence),
		T(resume_keeps_a_set_direction_divergence),
		T(resume_replays_the_best),
		T(resume_keeps_a_float_best_a_float),
		T(resume_rejects_a_bad_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
