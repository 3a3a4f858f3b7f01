/*
 * The behaviour scenarios of reference/dvclive-formats.md section 5 that SPEC 2
 * keeps, numbered as there, adjusted where SPEC decides otherwise: LF lines,
 * the summary keeps every metric, a trailing newline, "step" first, and no
 * duplicated step on resume. Plus the environment rules of SPEC 2.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "run.h"
#include "testutil.h"

/* "step<TAB>value" per row, timestamps dropped: what a scenario's "rows" lists. */
static char *rows_of(const char *path)
{
	char *text = tu_read_file(path);
	if (!text)
		return NULL;
	char *out = calloc(1, strlen(text) + 1);
	char *line = strchr(text, '\n') + 1; /* skip the header */
	while (*line) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = 0;
		char *f = line;
		if (!strncmp(text, "timestamp", 9))
			f = strchr(line, '\t') + 1;
		strcat(out, f);
		strcat(out, ";");
		line = nl + 1;
	}
	free(text);
	return out;
}

static void assert_rows(const char *path, const char *want)
{
	char *got = rows_of(path);
	if (!got)
		fail_msg("%s does not exist", path);
	assert_string_equal(got, want);
	free(got);
}

static void assert_file(const char *path, const char *want)
{
	char *got = tu_read_file(path);
	if (!got)
		fail_msg("%s does not exist", path);
	assert_string_equal(got, want);
	free(got);
}

static live_run *open_with(const char *dir, int layout, int resume)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = dir;
	o.layout = layout;
	o.resume = resume;
	o.summary_interval_ms = LIVE_EVERY_STEP;
	live_run *r = NULL;
	if (live_run_open(&r, &o) != 0)
		fail_msg("live_run_open(%s): %s", dir, live_errmsg());
	return r;
}

static struct stat st;
#define IS_DIR(p) (stat(p, &st) == 0 && S_ISDIR(st.st_mode))

/* 1. init creates the folder, nested paths too. */
static void s01_create_dir(void **state)
{
	(void)state;
	assert_int_equal(live_run_close(open_with("logs", 0, 0)), 0);
	assert_true(IS_DIR("logs"));
	assert_int_equal(live_run_close(open_with("subdir/logs", 0, 0)), 0);
	assert_true(IS_DIR("subdir/logs"));
}

/* 2. A log makes the TSV; the summary appears at next_step. */
static void s02_basic_log(void **state)
{
	(void)state;
	live_run *r = open_with("logs", 0, 0);
	assert_int_equal(live_run_log(r, "m1", 1), 0);
	assert_true(tu_exists("logs/m1.tsv"));
	assert_false(tu_exists("logs.json"));
	assert_int_equal(live_run_next_step(r), 0);
	assert_true(tu_exists("logs.json"));
	live_run_close(r);
}

/* 3. Summary off. */
static void s03_summary_off(void **state)
{
	(void)state;
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "logs";
	o.summary = LIVE_OFF;
	live_run *r;
	assert_int_equal(live_run_open(&r, &o), 0);
	assert_int_equal(live_run_log(r, "m1", 1), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_close(r), 0);
	assert_true(tu_exists("logs/m1.tsv"));
	assert_false(tu_exists("logs.json"));
}

/* 4. Exact bytes (LF, and a trailing newline in the summary). */
static void s04_exact_bytes(void **state)
{
	(void)state;
	live_run *r = open_with("logs", 0, 0);
	assert_int_equal(live_run_log_int(r, "m1", 1), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_log_int(r, "m1", 2), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_file("logs.json", "{\n    \"step\": 1,\n    \"m1\": 2\n}\n");
	char *text = tu_read_file("logs/m1.tsv");
	long long t0, t1;
	char tail[64];
	assert_int_equal(sscanf(text, "timestamp\tstep\tm1\n%lld\t0\t1\n%lld\t1\t2\n%63s", &t0, &t1, tail), 2);
	assert_true(t0 > 1600000000000LL && t1 >= t0);
	assert_null(strchr(text, '\r'));
	free(text);
	live_run_close(r);
}

/* 4b. In fast loops the summary is rate-limited, and exact again at sync/close. */
static void s04b_summary_interval(void **state)
{
	(void)state;
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "logs";
	o.summary_interval_ms = 60000;
	live_run *r;
	assert_int_equal(live_run_open(&r, &o), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(live_run_log_int(r, "m", i), 0);
		assert_int_equal(live_run_next_step(r), 0);
	}
	/* The first step wrote it; the next two were within the interval. */
	assert_file("logs.json", "{\n    \"step\": 0,\n    \"m\": 0\n}\n");
	assert_rows("logs/m.tsv", "0\t0;1\t1;2\t2;");
	assert_int_equal(live_run_sync(r), 0);
	assert_file("logs.json", "{\n    \"step\": 2,\n    \"m\": 2\n}\n");
	assert_int_equal(live_run_close(r), 0);
}

/* 5. Nested names. */
static void s05_nested(void **state)
{
	(void)state;
	live_run *r = open_with("logs", 0, 0);
	assert_int_equal(live_run_log_int(r, "train/m1", 1), 0);
	assert_int_equal(live_run_log_int(r, "val/val_1/m1", 1), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_true(tu_exists("logs/train/m1.tsv"));
	assert_true(tu_exists("logs/val/val_1/m1.tsv"));
	char *text = tu_read_file("logs/train/m1.tsv");
	assert_int_equal(strncmp(text, "timestamp\tstep\ttrain/m1\n", 24), 0);
	free(text);
	assert_file("logs.json", "{\n    \"step\": 0,\n    \"train\": {\n        \"m1\": 1\n    },\n"
				 "    \"val\": {\n        \"val_1\": {\n            \"m1\": 1\n        }\n    }\n}\n");
	live_run_close(r);
}

/* 6. SPEC: the summary keeps the latest value of every metric (0.x dropped "b"). */
static void s06_summary_keeps_all(void **state)
{
	(void)state;
	live_run *r = open_with("l", 0, 0);
	live_run_log_int(r, "a", 1);
	live_run_log_int(r, "b", 2);
	live_run_next_step(r);
	live_run_log_int(r, "a", 3);
	live_run_next_step(r);
	assert_file("l.json", "{\n    \"step\": 1,\n    \"a\": 3,\n    \"b\": 2\n}\n");
	live_run_close(r);
}

/* 8. Custom steps. */
static void s08_custom_steps(void **state)
{
	(void)state;
	live_run *r = open_with("logs", 0, 0);
	const long long steps[] = { 0, 62, 1000 };
	const double vals[] = { 0.9, 0.8, 0.7 };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(live_run_set_step(r, steps[i]), 0);
		assert_int_equal(live_run_log(r, "m", vals[i]), 0);
	}
	assert_int_equal(live_run_close(r), 0);
	assert_rows("logs/m.tsv", "0\t0.9;62\t0.8;1000\t0.7;");
	assert_file("logs.json", "{\n    \"step\": 1000,\n    \"m\": 0.7\n}\n");
}

/* The largest step is 2^62: set_step refuses more, next_step stops there, no overflow. */
static void step_limit(void **state)
{
	(void)state;
	const long long max = 4611686018427387904LL; /* 2^62, as live.h says */
	live_run *r = open_with("logs", 0, 0);
	assert_int_equal(live_run_set_step(r, LLONG_MAX), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
			    "live_run_set_step: step 9223372036854775807 is above the largest, 2^62");
	assert_int_equal(live_run_set_step(r, max + 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
			    "live_run_set_step: step 4611686018427387905 is above the largest, 2^62");
	assert_int_equal(live_run_get_step(r), 0); /* unchanged */
	assert_int_equal(live_run_set_step(r, max - 1), 0);
	assert_int_equal(live_run_log_int(r, "m", 1), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_get_step(r), max);
	assert_int_equal(live_run_log_int(r, "m", 2), 0);
	assert_int_equal(live_run_next_step(r), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "live_run_next_step: step 4611686018427387904 is the largest (2^62)");
	assert_int_equal(live_run_get_step(r), max);
	assert_int_equal(live_run_next_step(r), LIVE_EINVALID); /* and again: nothing moves */
	assert_int_equal(live_run_get_step(r), max);
	assert_int_equal(live_run_close(r), 0); /* the pending row of the last step is written */
	assert_rows("logs/m.tsv", "4611686018427387903\t1;4611686018427387904\t2;");
	assert_file("logs.json", "{\n    \"step\": 4611686018427387904,\n    \"m\": 2\n}\n");

	/* A history that ends at the largest step cannot go on: the resume refuses, nothing changes. */
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "logs";
	o.resume = LIVE_ON;
	r = NULL;
	assert_int_equal(live_run_open(&r, &o), LIVE_EINVALID);
	assert_null(r);
	assert_string_equal(live_errmsg(), "logs: step 4611686018427387904 is the largest (2^62): the run cannot "
					   "continue (start a new one, or remove the history)");
	assert_rows("logs/m.tsv", "4611686018427387903\t1;4611686018427387904\t2;");
	assert_file("logs.json", "{\n    \"step\": 4611686018427387904,\n    \"m\": 2\n}\n");
	/* ... even with a torn row at the end, which a resume would cut: it is kept */
	FILE *f = fopen("logs/m.tsv", "a");
	assert_non_null(f);
	fputs("4611686018", f);
	assert_int_equal(fclose(f), 0);
	char *torn = tu_read_file("logs/m.tsv");
	assert_int_equal(live_run_open(&r, &o), LIVE_EINVALID);
	assert_file("logs/m.tsv", torn);
	free(torn);

	/* An inert run (rank 1) counts steps too, and stops at the same place. */
	setenv("RANK", "1", 1);
	r = open_with("inert", 0, 0);
	assert_int_equal(live_run_set_step(r, max), 0);
	assert_int_equal(live_run_next_step(r), LIVE_EINVALID);
	assert_int_equal(live_run_get_step(r), max);
	assert_int_equal(live_run_close(r), 0);
	unsetenv("RANK");
	assert_false(IS_DIR("inert"));
}

/* 10. Independent series restart at step 0. */
static void s10_series_reset(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", 0, 0);
	for (int i = 0; i < 3; i++) {
		live_run_set_step(r, i);
		live_run_log_int(r, "train_m", 1);
	}
	for (int i = 0; i < 3; i++) {
		live_run_set_step(r, i);
		live_run_log_int(r, "val_m", 1);
	}
	live_run_close(r);
	assert_rows("dvclive/train_m.tsv", "0\t1;1\t1;2\t1;");
	assert_rows("dvclive/val_m.tsv", "0\t1;1\t1;2\t1;");
}

static void two_steps(live_run *r, double a, double b)
{
	assert_int_equal(live_run_log(r, "metric", a), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_log(r, "metric", b), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_close(r), 0);
}

/* 11. Resume continues the steps and the files. */
static void s11_resume(void **state)
{
	(void)state;
	two_steps(open_with("logs", 0, 0), 0.9, 0.8);
	live_run *r = open_with("logs", 0, LIVE_ON);
	assert_int_equal(live_run_get_step(r), 2);
	two_steps(r, 0.7, 0.6);
	assert_rows("logs/metric.tsv", "0\t0.9;1\t0.8;2\t0.7;3\t0.6;");
	assert_file("logs.json", "{\n    \"step\": 3,\n    \"metric\": 0.6\n}\n");
}

/* 12. Without resume the old rows go. */
static void s12_no_resume_truncates(void **state)
{
	(void)state;
	two_steps(open_with("logs", 0, 0), 0.9, 0.8);
	two_steps(open_with("logs", 0, 0), 0.7, 0.6);
	assert_rows("logs/metric.tsv", "0\t0.7;1\t0.6;");
	assert_file("logs.json", "{\n    \"step\": 1,\n    \"metric\": 0.6\n}\n");
}

/* 13, as SPEC decides: resuming after step 0 continues at 1, no duplicated 0. */
static void s13_resume_after_step_zero(void **state)
{
	(void)state;
	live_run *r = open_with("e", 0, 0);
	live_run_log_int(r, "m", 1);
	live_run_next_step(r);
	live_run_close(r);
	r = open_with("e", 0, LIVE_ON);
	assert_int_equal(live_run_get_step(r), 1);
	live_run_log_int(r, "m", 2);
	live_run_next_step(r);
	live_run_close(r);
	assert_rows("e/m.tsv", "0\t1;1\t2;");
}

/* 14. get_step on the default run, through resume and fresh inits. */
static void s14_get_step(void **state)
{
	(void)state;
	assert_int_equal(live_get_step(), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(live_log("m", 0.5), 0);
		assert_int_equal(live_next_step(), 0);
	}
	assert_int_equal(live_get_step(), 2);
	live_options o = LIVE_OPTIONS_INIT;
	o.resume = LIVE_ON;
	assert_int_equal(live_init(&o), 0);
	assert_int_equal(live_get_step(), 2);
	assert_int_equal(live_init(NULL), 0);
	assert_int_equal(live_get_step(), 0);
	assert_int_equal(live_close(), 0);
}

/* 15. A loop driven by get_step. */
static void s15_control_flow(void **state)
{
	(void)state;
	assert_int_equal(live_init(NULL), 0);
	while (live_get_step() < 10) {
		assert_int_equal(live_log_int("i", live_get_step()), 0);
		assert_int_equal(live_next_step(), 0);
	}
	assert_int_equal(live_close(), 0);
	assert_rows("dvclive/i.tsv", "0\t0;1\t1;2\t2;3\t3;4\t4;5\t5;6\t6;7\t7;8\t8;9\t9;");
}

/* 16. A fresh start removes only the library's files. */
static void s16_cleanup_keeps_user_files(void **state)
{
	(void)state;
	live_run *r = open_with("logs", 0, 0);
	live_run_log_int(r, "m1", 1);
	live_run_log_int(r, "deep/m2", 1);
	live_run_next_step(r);
	live_run_close(r);
	tu_write_file("logs/some_user_file.txt", "mine");
	tu_write_file("logs/notes.tsv.txt", "mine too");
	tu_write_file("logs.html", "old report");
	assert_int_equal(mkdir("logs/empty_user_dir", 0755), 0);
	live_run_close(open_with("logs", 0, 0));
	assert_file("logs/some_user_file.txt", "mine");
	assert_file("logs/notes.tsv.txt", "mine too");
	assert_true(IS_DIR("logs/empty_user_dir"));
	assert_false(tu_exists("logs/m1.tsv"));
	assert_false(tu_exists("logs/deep"));
	assert_false(tu_exists("logs.json"));
	assert_false(tu_exists("logs.html"));
}

/* 17. Lazy init from the environment DVC sets. */
static void s17_lazy_init_from_env(void **state)
{
	(void)state;
	setenv("DVCLIVE_PATH", "logs", 1);
	setenv("DVCLIVE_SUMMARY", "0", 1);
	setenv("DVCLIVE_HTML", "1", 1);
	assert_int_equal(live_log("m", 0.1), 0);
	assert_int_equal(live_next_step(), 0);
	assert_int_equal(live_close(), 0);
	unsetenv("DVCLIVE_PATH");
	unsetenv("DVCLIVE_SUMMARY");
	unsetenv("DVCLIVE_HTML");
	assert_rows("logs/m.tsv", "0\t0.1;");
	assert_false(tu_exists("logs.json"));
	assert_false(tu_exists("dvclive"));
}

/* 18. No env, no init: the default folder. */
static void s18_default_dir(void **state)
{
	(void)state;
	assert_int_equal(live_log("m", 0.1), 0);
	assert_true(IS_DIR("dvclive"));
	assert_int_equal(live_close(), 0);
	assert_file("dvclive.json", "{\n    \"step\": 0,\n    \"m\": 0.1\n}\n");
}

/* 19. An explicit dir that contradicts DVCLIVE_PATH is an error, not misplaced output. */
static void s19_config_mismatch(void **state)
{
	(void)state;
	setenv("DVCLIVE_PATH", "logs", 1);
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "some_dir";
	live_run *r = NULL;
	assert_int_equal(live_run_open(&r, &o), LIVE_ECONFIG);
	assert_string_equal(live_errmsg(), "dir 'some_dir' conflicts with DVCLIVE_PATH='logs' set by the runner: "
					   "drop the explicit dir or make them agree");
	assert_false(tu_exists("some_dir"));
	assert_false(tu_exists("logs"));
	/* The same folder spelled differently is no conflict. */
	o.dir = "./logs/";
	assert_int_equal(live_run_open(&r, &o), 0);
	assert_string_equal(live_run_dir(r), "logs");
	live_run_close(r);
	unsetenv("DVCLIVE_PATH");
}

/* DVCLIVE_PATH alone puts the files there. */
static void env_path_places_files(void **state)
{
	(void)state;
	setenv("DVCLIVE_PATH", "logs", 1);
	live_run *r;
	assert_int_equal(live_run_open(&r, NULL), 0);
	unsetenv("DVCLIVE_PATH");
	live_run_log_int(r, "m", 7);
	live_run_close(r);
	assert_rows("logs/m.tsv", "0\t7;");
	assert_file("logs.json", "{\n    \"step\": 0,\n    \"m\": 7\n}\n");
}

/* DVCLIVE_RESUME=1 resumes even when the program asked for a fresh start. */
static void env_resume(void **state)
{
	(void)state;
	two_steps(open_with("dvclive", 0, 0), 1, 2);
	setenv("DVCLIVE_RESUME", "1", 1);
	live_run *r = open_with("dvclive", 0, LIVE_OFF);
	unsetenv("DVCLIVE_RESUME");
	assert_int_equal(live_run_get_step(r), 2);
	two_steps(r, 3, 4);
	assert_rows("dvclive/metric.tsv", "0\t1.0;1\t2.0;2\t3.0;3\t4.0;");

	setenv("DVCLIVE_RESUME", "maybe", 1);
	assert_int_equal(live_run_open(&r, NULL), LIVE_EPARSE);
	unsetenv("DVCLIVE_RESUME");
	assert_string_equal(live_errmsg(), "environment DVCLIVE_RESUME='maybe': expected 1/0 (or true/false)");
}

/* 20. Type errors that C can have: NULLs, bad flags, bad steps, bad options. */
static void s20_invalid_calls(void **state)
{
	(void)state;
	live_run *r = open_with("logs", 0, 0);
	assert_int_equal(live_run_log(NULL, "m", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "live_run_log: run is NULL");
	assert_int_equal(live_run_log(r, NULL, 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "metric name is NULL");
	assert_int_equal(live_run_log_flags(r, "m", 1, 0x80), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "live_run_log: unknown flags 0x80");
	assert_int_equal(live_run_set_step(r, -1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "live_run_set_step: step -1 is negative");
	assert_int_equal(live_run_next_step(NULL), LIVE_EINVALID);
	assert_int_equal(live_run_get_step(NULL), -1);
	assert_int_equal(live_run_close(NULL), 0);
	live_run_close(r);

	live_options o = LIVE_OPTIONS_INIT;
	o.version = 99;
	assert_int_equal(live_run_open(&r, &o), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "options.version = 99: expected 1..1 (use LIVE_OPTIONS_INIT)");
	live_options_init(&o);
	o.resume = 7;
	assert_int_equal(live_run_open(&r, &o), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "options.resume = 7: expected LIVE_DEFAULT, LIVE_ON or LIVE_OFF");
	live_options_init(&o);
	o.dir = ".";
	assert_int_equal(live_run_open(&r, &o), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
			    "dir '.': the classic layout needs a folder name (the summary is <dir>.json)");
	assert_string_equal(live_strerror(LIVE_EINVALID), "invalid argument");
	assert_string_equal(live_strerror(12345), "unknown error code");
	assert_string_equal(live_version_string(), LIVE_VERSION_STRING);
}

/* 26. v3, no step: summary only, no TSV, no "step" key. */
static void s26_v3_no_step(void **state)
{
	(void)state;
	live_run *r = open_with("logs", LIVE_LAYOUT_V3, 0);
	assert_int_equal(live_run_log_int_flags(r, "m1", 1, LIVE_LOG_NO_HISTORY), 0);
	assert_int_equal(live_run_sync(r), 0);
	assert_false(tu_exists("logs/plots/metrics/m1.tsv"));
	assert_file("logs/metrics.json", "{\n    \"m1\": 1\n}\n");
	live_run_close(r);
}

/* 27. v3, one step, in a plain and a nested folder. */
static void s27_v3_one_step(void **state)
{
	(void)state;
	const char *dirs[] = { "logs", "subdir/logs" };
	for (int i = 0; i < 2; i++) {
		live_run *r = open_with(dirs[i], LIVE_LAYOUT_V3, 0);
		live_run_log_int(r, "m1", 1);
		live_run_next_step(r);
		char path[128];
		snprintf(path, sizeof(path), "%s/plots/metrics/m1.tsv", dirs[i]);
		assert_file(path, "step\tm1\n0\t1\n");
		snprintf(path, sizeof(path), "%s/metrics.json", dirs[i]);
		assert_file(path, "{\n    \"step\": 0,\n    \"m1\": 1\n}\n");
		live_run_close(r);
	}
}

/* 28. v3 nested names: sub-folders, basename columns. */
static void s28_v3_nested(void **state)
{
	(void)state;
	live_run *r = open_with("logs", LIVE_LAYOUT_V3, 0);
	live_run_log_int(r, "train/m1", 1);
	live_run_log_int(r, "val/val_1/m1", 1);
	live_run_log_int(r, "val/val_1/m2", 1);
	live_run_next_step(r);
	live_run_close(r);
	assert_file("logs/plots/metrics/train/m1.tsv", "step\tm1\n0\t1\n");
	assert_file("logs/plots/metrics/val/val_1/m1.tsv", "step\tm1\n0\t1\n");
	assert_file("logs/plots/metrics/val/val_1/m2.tsv", "step\tm2\n0\t1\n");
	assert_file("logs/metrics.json", "{\n    \"step\": 0,\n    \"train\": {\n        \"m1\": 1\n    },\n"
					 "    \"val\": {\n        \"val_1\": {\n            \"m1\": 1,\n"
					 "            \"m2\": 1\n        }\n    }\n}\n");
}

/* 31. Summary at close with no step. */
static void s31_v3_summary_on_close(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", LIVE_LAYOUT_V3, 0);
	live_run_log_flags(r, "foo", 1.0, LIVE_LOG_NO_HISTORY);
	assert_int_equal(live_run_close(r), 0);
	assert_file("dvclive/metrics.json", "{\n    \"foo\": 1.0\n}\n");
	assert_false(tu_exists("dvclive/plots"));
}

/* 32. Closing does not add a step. */
static void s32_v3_close_does_not_increment(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", LIVE_LAYOUT_V3, 0);
	for (int i = 0; i < 2; i++) {
		live_run_log_int(r, "foo", i);
		live_run_next_step(r);
	}
	live_run_close(r);
	assert_file("dvclive/metrics.json", "{\n    \"step\": 1,\n    \"foo\": 1\n}\n");
	r = open_with("dvclive", LIVE_LAYOUT_V3, 0);
	for (int i = 0; i < 3; i++) {
		live_run_log_int(r, "m", i);
		live_run_next_step(r);
	}
	assert_int_equal(live_run_get_step(r), 3);
	live_run_close(r);
	assert_file("dvclive/metrics.json", "{\n    \"step\": 2,\n    \"m\": 2\n}\n");
}

/* 33. Custom steps in v3. */
static void s33_v3_custom_step(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", LIVE_LAYOUT_V3, 0);
	const long long steps[] = { 0, 62, 1000 };
	const double vals[] = { 0.9, 0.8, 0.7 };
	for (int i = 0; i < 3; i++) {
		live_run_set_step(r, steps[i]);
		live_run_log(r, "m", vals[i]);
		assert_int_equal(live_run_sync(r), 0);
	}
	assert_file("dvclive/plots/metrics/m.tsv", "step\tm\n0\t0.9\n62\t0.8\n1000\t0.7\n");
	assert_file("dvclive/metrics.json", "{\n    \"step\": 1000,\n    \"m\": 0.7\n}\n");
	live_run_close(r);
}

/* 34. Only a step. */
static void s34_v3_set_step_only(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", LIVE_LAYOUT_V3, 0);
	live_run_set_step(r, 1);
	live_run_close(r);
	assert_file("dvclive/metrics.json", "{\n    \"step\": 1\n}\n");
	assert_false(tu_exists("dvclive/plots"));
}

/* 35. The same metric twice in a step: two rows. */
static void s35_v3_duplicate_in_step(void **state)
{
	(void)state;
	live_run *r = open_with("dvclive", LIVE_LAYOUT_V3, 0);
	assert_int_equal(live_run_log(r, "m1", 1.0), 0);
	assert_int_equal(live_run_log(r, "m1", 2.0), 0);
	live_run_close(r);
	assert_file("dvclive/plots/metrics/m1.tsv", "step\tm1\n0\t1.0\n0\t2.0\n");
	assert_file("dvclive/metrics.json", "{\n    \"m1\": 2.0\n}\n");
}

/* 36. v3 resume keeps summary-only keys; a fresh start drops them. */
static void s36_v3_resume(void **state)
{
	(void)state;
	live_run *r = open_with("logs", LIVE_LAYOUT_V3, 0);
	live_run_log(r, "metric", 0.9);
	live_run_next_step(r);
	live_run_log(r, "metric", 0.8);
	live_run_next_step(r);
	live_run_log_int_flags(r, "summary", 1, LIVE_LOG_NO_HISTORY);
	live_run_close(r);
	two_steps(open_with("logs", LIVE_LAYOUT_V3, LIVE_ON), 0.7, 0.6);
	assert_file("logs/plots/metrics/metric.tsv", "step\tmetric\n0\t0.9\n1\t0.8\n2\t0.7\n3\t0.6\n");
	assert_file("logs/metrics.json", "{\n    \"step\": 3,\n    \"metric\": 0.6,\n    \"summary\": 1\n}\n");

	two_steps(open_with("logs", LIVE_LAYOUT_V3, 0), 0.7, 0.6);
	assert_file("logs/plots/metrics/metric.tsv", "step\tmetric\n0\t0.7\n1\t0.6\n");
	assert_file("logs/metrics.json", "{\n    \"step\": 1,\n    \"metric\": 0.6\n}\n");

	r = open_with("empty", LIVE_LAYOUT_V3, LIVE_ON);
	assert_int_equal(live_run_get_step(r), 0);
	live_run_close(r);

	setenv("DVCLIVE_RESUME", "true", 1);
	r = open_with("logs", LIVE_LAYOUT_V3, 0);
	unsetenv("DVCLIVE_RESUME");
	assert_int_equal(live_run_get_step(r), 2);
	live_run_close(r);
}

/* Resume reads a dvclive 0.x history (CRLF rows) and continues with LF rows. */
static void resume_dvclive_0x_files(void **state)
{
	(void)state;
	assert_int_equal(mkdir("dvclive", 0755), 0);
	tu_write_file("dvclive/loss.tsv", "timestamp\tstep\tloss\r\n1632000000000\t0\t1\r\n1632000000001\t1\t2\r\n");
	tu_write_file("dvclive.json", "{\n    \"step\": 1,\n    \"loss\": 2\n}");
	live_run *r = open_with("dvclive", 0, LIVE_ON);
	assert_int_equal(live_run_get_step(r), 2);
	live_run_log_int(r, "loss", 3);
	live_run_close(r);
	assert_rows("dvclive/loss.tsv", "0\t1\r;1\t2\r;2\t3;");
	assert_file("dvclive.json", "{\n    \"step\": 2,\n    \"loss\": 3\n}\n");
}

/* The summary is rate-limited, so after a crash the TSVs may be ahead: resume follows them,
 * and a torn last row is cut off. */
static void resume_follows_tsv_and_cuts_torn_row(void **state)
{
	(void)state;
	assert_int_equal(mkdir("dvclive", 0755), 0);
	tu_write_file("dvclive/a.tsv", "timestamp\tstep\ta\n1\t0\t0.5\n2\t1\t0.25\n3\t2\t0.1");
	tu_write_file("dvclive/b.tsv", "timestamp\tstep\tb\n1\t0\t7\n");
	tu_write_file("dvclive.json", "{\n    \"step\": 0,\n    \"a\": 0.5,\n    \"b\": 7\n}\n");
	live_run *r = open_with("dvclive", 0, LIVE_ON);
	assert_int_equal(live_run_get_step(r), 2);
	assert_file("dvclive/a.tsv", "timestamp\tstep\ta\n1\t0\t0.5\n2\t1\t0.25\n");
	assert_int_equal(live_run_sync(r), 0);
	assert_file("dvclive.json", "{\n    \"step\": 1,\n    \"a\": 0.25,\n    \"b\": 7\n}\n");
	live_run_close(r);
}

/* Malformed files on resume: one line with file, line and what was expected; nothing changed. */
static void resume_rejects_malformed_files(void **state)
{
	(void)state;
	live_run *r = NULL;
	assert_int_equal(mkdir("dvclive", 0755), 0);
	const char *torn = "timestamp\tstep\tm\n1\t0\t1\n1\t1\t2";
	tu_write_file("dvclive/m.tsv", torn);

	tu_write_file("dvclive.json", "{\n    \"step\": 1,\n    \"m\": oops\n}\n");
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvclive.json:3:10: malformed JSON");
	assert_file("dvclive.json", "{\n    \"step\": 1,\n    \"m\": oops\n}\n");
	assert_file("dvclive/m.tsv", torn);

	tu_write_file("dvclive.json", "[1, 2]");
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvclive.json:1:1: expected a JSON object");

	tu_write_file("dvclive.json", "{\"step\": -3}");
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvclive.json: key 'step': expected an integer >= 0");

	tu_write_file("dvclive.json", "{\"step\": 1, \"m\": true}");
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvclive.json: key 'm': expected a number (or \"nan\", \"inf\", \"-inf\")");

	tu_write_file("dvclive.json", "{\"step\": 1, \"../up\": 1}");
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), LIVE_EPARSE);
	assert_string_equal(live_errmsg(),
			    "dvclive.json: metric name '../up': '.' and '..' parts are not allowed");
	assert_int_equal(unlink("dvclive.json"), 0);

	tu_write_file("dvclive/bad.tsv", "step\tbad\n0\t1\n");
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvclive/bad.tsv:1: expected the header 'timestamp\tstep\tbad'");
	assert_file("dvclive/m.tsv", torn);

	tu_write_file("dvclive/bad.tsv", "timestamp\tstep\tbad\n1\t0\t1\n1\t1\t2\n1\tx\t3\n");
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), LIVE_EPARSE);
	assert_string_equal(live_errmsg(),
			    "dvclive/bad.tsv:4: expected <timestamp> <step> <value> separated by tabs");
	assert_file("dvclive/m.tsv", torn);
	assert_null(r);
}

/* Ranks other than 0 write nothing unless per-rank output is asked for. */
static void rank_awareness(void **state)
{
	(void)state;
	const char *vars[] = { "RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID" };
	for (int i = 0; i < 4; i++) {
		setenv(vars[i], "1", 1);
		live_run *r;
		assert_int_equal(live_run_open(&r, NULL), 0);
		assert_int_equal(live_run_log(r, "loss", 0.5), 0);
		assert_int_equal(live_run_log(r, "../bad", 0.5), LIVE_EINVALID);
		assert_int_equal(live_run_next_step(r), 0);
		assert_int_equal(live_run_get_step(r), 1);
		assert_int_equal(live_run_close(r), 0);
		unsetenv(vars[i]);
		assert_false(tu_exists("dvclive"));
		assert_false(tu_exists("dvclive.json"));
	}
	setenv("RANK", "2", 1);
	live_options o = LIVE_OPTIONS_INIT;
	o.per_rank = LIVE_ON;
	live_run *r;
	assert_int_equal(live_run_open(&r, &o), 0);
	live_run_log_int(r, "loss", 1);
	live_run_close(r);
	assert_rows("dvclive_rank2/loss.tsv", "0\t1;");
	assert_true(tu_exists("dvclive_rank2.json"));
	setenv("RANK", "0", 1);
	assert_int_equal(live_run_open(&r, &o), 0);
	assert_string_equal(live_run_dir(r), "dvclive");
	live_run_close(r);
	setenv("RANK", "x", 1);
	assert_int_equal(live_run_open(&r, NULL), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "environment RANK='x': expected a rank (an integer >= 0)");
	unsetenv("RANK");
}

/* After live_close, a later live_log re-opens the default run resuming, never wiping. */
static void default_run_reopens_resuming(void **state)
{
	(void)state;
	assert_int_equal(live_init(NULL), 0);
	live_log_int("m", 1);
	live_next_step();
	assert_int_equal(live_close(), 0);
	live_log_int("m", 2);
	assert_int_equal(live_close(), 0);
	assert_rows("dvclive/m.tsv", "0\t1;1\t2;");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_enter_tmpdir, tu_leave_tmpdir)
	const struct CMUnitTest tests[] = {
		T(s01_create_dir), T(s02_basic_log), T(s03_summary_off), T(s04_exact_bytes),
		T(s04b_summary_interval), T(s05_nested), T(s06_summary_keeps_all), T(s08_custom_steps),
		T(step_limit),
		T(s10_series_reset), T(s11_resume), T(s12_no_resume_truncates), T(s13_resume_after_step_zero),
		T(s14_get_step), T(s15_control_flow), T(s16_cleanup_keeps_user_files),
		T(s17_lazy_init_from_env), T(s18_default_dir), T(s19_config_mismatch),
		T(env_path_places_files), T(env_resume), T(s20_invalid_calls), T(s26_v3_no_step),
		T(s27_v3_one_step), T(s28_v3_nested), T(s31_v3_summary_on_close),
		T(s32_v3_close_does_not_increment), T(s33_v3_custom_step), T(s34_v3_set_step_only),
		T(s35_v3_duplicate_in_step), T(s36_v3_resume), T(resume_dvclive_0x_files),
		T(resume_follows_tsv_and_cuts_torn_row), T(resume_rejects_malformed_files), T(rank_awareness),
		T(default_run_reopens_resuming),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
