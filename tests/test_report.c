/*
 * The HTML report (SPEC 4): where and when it is written, the data drawn in
 * it (the downsampled series, against a golden file and against brute force),
 * the escaping of untrusted text, no external reference anywhere, a size
 * bounded by the bucket count, and resume.
 *
 * The browser side (the page opened by headless Chromium from file://) is
 * tests/browser/run.sh.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "run.h"
#include "testutil.h"

static long long fake_ms;
static long long fake_clock(void)
{
	return fake_ms;
}

static live_run *open_with(const char *dir, int layout, int html, int resume)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = dir;
	o.layout = layout;
	o.html = html;
	o.resume = resume;
	live_run *r = NULL;
	if (live_run_open(&r, &o) != 0)
		fail_msg("live_run_open(%s): %s", dir, live_errmsg());
	return r;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* ---- the downsampled series ------------------------------------------------ */

/*
 * Against brute force, for lengths across several merges: at most
 * LIVE__BUCKETS buckets, a power-of-two width, bucket i covering values
 * [i * width, (i + 1) * width), its extremes and non-finite values exactly
 * those of its values, and the last value exact.
 */
static void series_keeps_extremes_and_bounds(void **state)
{
	(void)state;
	static const long long lengths[] = { 1, 2, 255, 256, 257, 511, 512, 513, 1000, 4096, 70001 };
	double *v = malloc(70001 * sizeof(*v));
	uint64_t x = 7;
	for (long long i = 0; i < 70001; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		v[i] = (double)(x >> 11) / 9007199254740992.0;
		if (i % 997 == 0)
			v[i] = 100.0 + (double)i; /* spikes */
		if (i % 1499 == 3)
			v[i] = i % 2 ? NAN : -INFINITY;
	}
	for (size_t c = 0; c < sizeof(lengths) / sizeof(*lengths); c++) {
		long long n = lengths[c];
		live__series s = { 0 };
		assert_int_equal(live__series_init(&s), 0);
		for (long long i = 0; i < n; i++) {
			live__value val = { LIVE__DOUBLE, { .d = v[i] } };
			live__series_add(&s, 1000 + i, &val);
		}
		assert_true(s.nb >= 1 && s.nb <= LIVE__BUCKETS);
		assert_int_equal(s.n, n);
		assert_int_equal(s.width & (s.width - 1), 0);
		assert_true((uint64_t)s.nb * s.width >= (uint64_t)n);
		assert_true(s.width == 1 || (uint64_t)(s.nb - 1) * s.width < (uint64_t)n);
		assert_true(s.width == 1 || s.nb > LIVE__BUCKETS / 2);
		assert_int_equal(s.last_step, 1000 + n - 1);
		assert_memory_equal(&s.last, &v[n - 1], sizeof(double));
		for (uint32_t b = 0; b < s.nb; b++) {
			long long lo = (long long)(b * s.width), hi = lo + (long long)s.width;
			if (hi > n)
				hi = n;
			const live__bucket *k = &s.b[b];
			assert_int_equal(k->count, hi - lo);
			assert_int_equal(k->first_step, 1000 + lo);
			assert_int_equal(k->last_step, 1000 + hi - 1);
			uint32_t finite = 0;
			unsigned bad = 0;
			long long bad_step = -1, min_step = -1, max_step = -1;
			double mn = 0, mx = 0;
			for (long long i = lo; i < hi; i++) {
				if (!isfinite(v[i])) {
					bad |= isnan(v[i]) ? LIVE__BAD_NAN : v[i] > 0 ? LIVE__BAD_PINF : LIVE__BAD_NINF;
					if (bad_step < 0)
						bad_step = 1000 + i;
					continue;
				}
				if (!finite || v[i] < mn) {
					mn = v[i];
					min_step = 1000 + i;
				}
				if (!finite || v[i] > mx) {
					mx = v[i];
					max_step = 1000 + i;
				}
				finite++;
			}
			assert_int_equal(k->finite, finite);
			assert_int_equal(k->bad, bad);
			if (bad)
				assert_int_equal(k->bad_step, bad_step);
			if (finite) {
				assert_true(k->min == mn && k->max == mx);
				assert_int_equal(k->min_step, min_step);
				assert_int_equal(k->max_step, max_step);
			}
		}
		live__series_free(&s);
	}
	free(v);
}

/* ---- where and when ---------------------------------------------------------- */

static void log_steps(live_run *r, const char *name, int steps)
{
	for (int i = 0; i < steps; i++) {
		assert_int_equal(live_run_log(r, name, 1.0 / (1 + i)), 0);
		assert_int_equal(live_run_next_step(r), 0);
	}
}

static void report_written_per_layout_and_option(void **state)
{
	(void)state;
	live_run *r = open_with("logs", LIVE_LAYOUT_CLASSIC, 0, 0);
	log_steps(r, "m", 2);
	assert_int_equal(live_run_close(r), 0);
	assert_true(tu_exists("logs.html"));
	assert_false(tu_exists("logs.html.tmp"));

	r = open_with("v3", LIVE_LAYOUT_V3, 0, 0);
	log_steps(r, "m", 2);
	assert_int_equal(live_run_close(r), 0);
	assert_true(tu_exists("v3/report.html"));
	assert_false(tu_exists("v3.html"));

	r = open_with("off", LIVE_LAYOUT_CLASSIC, LIVE_OFF, 0);
	log_steps(r, "m", 2);
	assert_int_equal(live_run_close(r), 0);
	assert_false(tu_exists("off.html"));

	setenv("DVCLIVE_HTML", "0", 1);
	r = open_with("env", LIVE_LAYOUT_CLASSIC, 0, 0);
	unsetenv("DVCLIVE_HTML");
	log_steps(r, "m", 2);
	assert_int_equal(live_run_close(r), 0);
	assert_false(tu_exists("env.html"));

	/* A run that logged nothing leaves no report, like no summary. */
	r = open_with("empty", LIVE_LAYOUT_CLASSIC, 0, 0);
	assert_int_equal(live_run_close(r), 0);
	assert_false(tu_exists("empty.html"));
}

/* While the run is open the page reloads itself; the page written at close does not. */
static void report_refreshes_only_while_live(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", 0, 0, 0);
	log_steps(r, "loss", 1);
	char *html = tu_read_file("dvclive.html");
	assert_non_null(html);
	assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"5\">"));
	assert_non_null(strstr(html, "running: this page reloads every 5 s"));
	free(html);
	assert_int_equal(live_run_close(r), 0);
	html = tu_read_file("dvclive.html");
	assert_null(strstr(html, "refresh"));
	assert_non_null(strstr(html, "step 0 \xc2\xb7 finished"));
	free(html);
}

/* At most once a second from next_step; sync and close always write it. */
static void report_rewritten_at_most_once_a_second(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", 0, 0, 0);
	log_steps(r, "loss", 1);
	assert_true(tu_exists("dvclive.html"));
	assert_int_equal(unlink("dvclive.html"), 0);
	log_steps(r, "loss", 3);
	assert_false(tu_exists("dvclive.html"));
	assert_int_equal(live_run_sync(r), 0);
	assert_true(tu_exists("dvclive.html"));
	assert_int_equal(unlink("dvclive.html"), 0);
	usleep(1100 * 1000);
	log_steps(r, "loss", 1);
	assert_true(tu_exists("dvclive.html"));
	assert_int_equal(live_run_close(r), 0);
}

/* ---- the data in the report ------------------------------------------------------ */

/*
 * Each chart as text: its id, label and number of line points, then every
 * tooltip in order (the exact values drawn), then the marks.
 */
static char *chart_data(const char *html)
{
	size_t cap = strlen(html) + 1, len = 0;
	char *out = malloc(cap);
	out[0] = 0;
#define APPEND(...) (len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__))
	for (const char *p = html; (p = strstr(p, "<svg id=\"")); p++) {
		const char *end = strstr(p, "</svg>");
		assert_non_null(end);
		const char *id = p + 9, *label = strstr(p, "aria-label=\"") + 12;
		const char *pts = strstr(p, "points=\"") + 8;
		int npts = 0;
		for (const char *q = pts; *q != '"'; q++)
			npts += *q == ',';
		APPEND("svg %.*s \"%.*s\" %d points\n", (int)(strchr(id, '"') - id), id,
		       (int)(strchr(label, '"') - label), label, npts);
		for (const char *t = p; (t = strstr(t, "<title>")) && t < end; t++) {
			const char *te = strstr(t, "</title>");
			APPEND("  %.*s\n", (int)(te - t - 7), t + 7);
		}
		for (const char *t = p; (t = strstr(t, "<text class=\"since\"")) && t < end; t++) {
			const char *tx = strchr(t, '>') + 1;
			APPEND("  mark: %.*s\n", (int)(strchr(tx, '<') - tx), tx);
		}
	}
#undef APPEND
	return out;
}

static void golden_sequence(live_run *r)
{
	/* 520 values: two merges, so buckets of 4; a spike, a dip, a NaN. */
	for (int s = 0; s < 520; s++) {
		double v = s == 100 ? 9.0 : s == 101 ? -1.0 : s == 400 ? NAN : 0.5;
		assert_int_equal(live_run_log(r, "train/loss", v), 0);
		if (s < 3) {
			assert_int_equal(live_run_log(r, "<script>alert(1)</script>", s == 1 ? INFINITY : s + 1.5), 0);
			assert_int_equal(live_run_log_int(r, "epoch", s / 2), 0);
		}
		assert_int_equal(live_run_next_step(r), 0);
	}
}

static void report_data_golden(void **state)
{
	(void)state;
	fake_ms = 1700000000000LL;
	live__set_clock(fake_clock);
	live_run *r = open_with("dvclive", 0, 0, 0);
	golden_sequence(r);
	assert_int_equal(live_run_close(r), 0);
	live__set_clock(NULL);
	char *html = tu_read_file("dvclive.html");
	char *got = chart_data(html);
	char path[1024];
	snprintf(path, sizeof(path), "%s/report/chart_data.txt", LIVE_TEST_DATA);
	if (getenv("LIVE_WRITE_GOLDEN"))
		tu_write_file(path, got);
	char *want = tu_read_file(path);
	assert_non_null(want);
	assert_string_equal(got, want);
	assert_non_null(strstr(html, "updated 2023-11-14 22:13:20 UTC"));
	free(want);
	free(got);
	free(html);
}

/* ---- untrusted text, external references ------------------------------------------ */

static void report_escapes_untrusted_text(void **state)
{
	(void)state;
	tu_write_file("params.yaml", "lr: 0.001\nmodel: \"<img src=x onerror=alert(1)>\"\nunused: \"<b>\"\n");
	assert_int_equal(live_params_load("params.yaml"), 0);
	assert_true(live_param_double("lr", 0.1) == 0.001);
	assert_string_equal(live_param_string("model", ""), "<img src=x onerror=alert(1)>");
	live_run *r = open_with("a&b'\"<i>", 0, 0, 0);
	assert_int_equal(live_run_log(r, "<script>alert(1)</script>", 1.0), 0);
	assert_int_equal(live_run_log(r, "x/\"onmouseover=alert(1)", 2.0), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_close(r), 0);
	live_params_free();

	char *html = tu_read_file("a&b'\"<i>.html");
	assert_non_null(html);
	assert_null(strcasestr(html, "<script"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<i>"));
	assert_null(strstr(html, "\"onmouseover"));
	assert_non_null(strstr(html, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
	assert_non_null(strstr(html, "aria-label=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
	assert_non_null(strstr(html, "<title>a&amp;b&#39;&quot;&lt;i&gt; \xe2\x80\x94 live report</title>"));
	assert_non_null(strstr(html, "<tr><td>lr</td><td>0.001</td></tr>"));
	assert_non_null(strstr(html, "<tr><td>model</td><td>&lt;img src=x onerror=alert(1)&gt;</td></tr>"));
	/* Only the params the program read. */
	assert_null(strstr(html, "unused"));
	free(html);
}

/* No http:// or https:// anywhere, and nothing that loads a resource. */
static void report_has_no_external_reference(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", 0, 0, 0);
	golden_sequence(r);
	assert_int_equal(live_run_set_direction(r, "train/loss", LIVE_MINIMIZE), 0);
	assert_int_equal(live_run_log(r, "train/loss", NAN), 0);
	assert_int_equal(live_run_log(r, "http://example.com/x", 1.0), LIVE_EINVALID); /* "//" */
	assert_int_equal(live_run_log(r, "http:/x", 1.0), 0);
	assert_int_equal(live_run_close(r), 0);
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "train/loss</b> became nan"));
	static const char *const banned[] = { "http://", "https://", "src=", "href=", "url(", "@import", "<script",
					      "<link", "<iframe", "<object", "<embed", "xmlns" };
	for (size_t i = 0; i < sizeof(banned) / sizeof(*banned); i++)
		if (strcasestr(html, banned[i]))
			fail_msg("the report holds '%s'", banned[i]);
	free(html);
}

/* ---- size and cost bounded by the buckets ------------------------------------------ */

static void report_size_bounded_by_buckets(void **state)
{
	(void)state;
	static const char *const names[] = { "train/loss", "train/acc", "val/loss", "val/acc", "lr" };
	off_t sizes[2];
	static const int steps[2] = { 20000, 200000 };
	for (int k = 0; k < 2; k++) {
		live_options o = LIVE_OPTIONS_INIT;
		o.dir = k ? "long" : "short";
		live_run *r;
		assert_int_equal(live_run_open(&r, &o), 0);
		for (int s = 0; s < steps[k]; s++) {
			for (int i = 0; i < 5; i++)
				assert_int_equal(live_run_log(r, names[i], (i % 2 ? 1.0 - 1.0 / (s + 2.0) : 1.0 / (s + 1.0)) +
										   0.001 * (s % 7)),
						 0);
			assert_int_equal(live_run_next_step(r), 0);
		}
		assert_int_equal(live_run_close(r), 0);
		char path[32];
		snprintf(path, sizeof(path), "%s.html", o.dir);
		sizes[k] = size_of(path);
		char *html = tu_read_file(path);
		/* At most two points a bucket and the last value, per chart. */
		assert_int_equal(count(html, "<svg id=\"chart-"), 5);
		assert_true(count(html, "<circle") <= 5 * (2 * LIVE__BUCKETS + 1));
		free(html);
	}
	print_message("report: %lld bytes after 20000 steps, %lld after 200000\n", (long long)sizes[0],
		      (long long)sizes[1]);
	/* Ten times the steps: the buckets in use vary between half and all of them, no more. */
	assert_true(sizes[1] < 2 * 1024 * 1024);
	assert_true(sizes[1] < 2 * sizes[0]);
}

/* ---- params, failures, resume --------------------------------------------------- */

static void report_lists_no_params_when_none_read(void **state)
{
	(void)state;
	live_params_free();
	live_run *r = open_with("dvclive", 0, 0, 0);
	log_steps(r, "m", 1);
	assert_int_equal(live_run_close(r), 0);
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "No params were read through live_param_*."));
	free(html);
}

/* A report that cannot be written fails the call with its name; the step and rows go on. */
static void report_write_failure_is_reported(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", 0, 0, 0);
	assert_int_equal(mkdir("dvclive.html", 0755), 0);
	assert_int_equal(live_run_log(r, "m", 1.0), 0);
	assert_int_equal(live_run_next_step(r), LIVE_EIO);
	assert_string_equal(live_errmsg(), "dvclive.html: rename: Is a directory");
	assert_false(tu_exists("dvclive.html.tmp"));
	assert_int_equal(live_run_get_step(r), 1);
	assert_int_equal(rmdir("dvclive.html"), 0);
	assert_int_equal(live_run_log(r, "m", 2.0), 0);
	assert_int_equal(live_run_close(r), 0);
	char *html = tu_read_file("dvclive.html");
	assert_non_null(strstr(html, "2 values"));
	free(html);
	char *tsv = tu_read_file("dvclive/m.tsv");
	assert_int_equal(count(tsv, "\n"), 3);
	free(tsv);
}

/* A resumed run's charts hold the earlier values too (read once, at open). */
static void report_resume_rebuilds_charts(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", LIVE_LAYOUT_V3, 0, 0);
	log_steps(r, "train/loss", 300);
	assert_int_equal(live_run_close(r), 0);
	tu_write_file("dvclive/report.html.tmp", "left by a killed writer");
	r = open_with("dvclive", LIVE_LAYOUT_V3, 0, LIVE_ON);
	assert_false(tu_exists("dvclive/report.html.tmp"));
	assert_int_equal(live_run_get_step(r), 300);
	log_steps(r, "train/loss", 10);
	assert_int_equal(live_run_close(r), 0);
	char *html = tu_read_file("dvclive/report.html");
	assert_non_null(strstr(html, "310 values, lowest and highest of every 2"));
	assert_non_null(strstr(html, "<title>step 0: 1.0 (highest of 2 values, steps 0\xe2\x80\x93" "1)</title>"));
	assert_non_null(strstr(html, "<title>step 309: 0.1 (lowest of 2 values, steps 308\xe2\x80\x93" "309)</title>"));
	free(html);
}

/* The replay reads every row: a malformed one stops the resume with file and line. */
static void resume_rejects_a_malformed_middle_row(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", 0, 0, 0);
	log_steps(r, "loss", 3);
	assert_int_equal(live_run_close(r), 0);
	char *tsv = tu_read_file("dvclive/loss.tsv");
	char *second = strchr(strchr(tsv, '\n') + 1, '\n') + 1;
	memcpy(strchr(second, '\t') + 1, "x", 1);
	tu_write_file("dvclive/loss.tsv", tsv);
	free(tsv);
	live_options o = LIVE_OPTIONS_INIT;
	o.resume = LIVE_ON;
	assert_int_equal(live_run_open(&r, &o), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvclive/loss.tsv:3: expected <timestamp> <step> <value> separated by tabs");
}

#define T(f) cmocka_unit_test_setup_teardown(f, tu_enter_tmpdir, tu_leave_tmpdir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(series_keeps_extremes_and_bounds),
		T(report_written_per_layout_and_option),
		T(report_refreshes_only_while_live),
		T(report_rewritten_at_most_once_a_second),
		T(report_data_golden),
		T(report_escapes_untrusted_text),
		T(report_has_no_external_reference),
		T(report_size_bounded_by_buckets),
		T(report_lists_no_params_when_none_read),
		T(report_write_failure_is_reported),
		T(report_resume_rebuilds_charts),
		T(resume_rejects_a_malformed_middle_row),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
