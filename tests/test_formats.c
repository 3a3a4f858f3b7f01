/*
 * Golden-file tests: the exact bytes of the summary and the TSVs in both
 * layouts (SPEC 2), against files under tests/data/golden/ that were written
 * by hand from the format rules, not by this library.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "run.h"
#include "testutil.h"

static long long fake_ms;
static long long fake_clock(void)
{
	return fake_ms++;
}

/* The call sequence the golden files describe. */
static void log_sequence(live_run *r)
{
	assert_int_equal(live_run_log_int(r, "int", 42), 0);
	assert_int_equal(live_run_log(r, "f", 1e-05), 0);
	assert_int_equal(live_run_log(r, "big", 1e16), 0);
	assert_int_equal(live_run_log(r, "sum", 0.1 + 0.2), 0);
	assert_int_equal(live_run_log(r, "nan", NAN), 0);
	assert_int_equal(live_run_log(r, "pinf", INFINITY), 0);
	assert_int_equal(live_run_log(r, "ninf", -INFINITY), 0);
	assert_int_equal(live_run_log(r, "train/loss", 0.5), 0);
	assert_int_equal(live_run_log(r, "train/acc", 1.0), 0);
	assert_int_equal(live_run_log(r, "\xc3\xbc" "ber/gr\xc3\xb6\xc3\x9f" "e", 2.5), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_log(r, "train/loss", 0.25), 0);
	assert_int_equal(live_run_log_int(r, "int", -7), 0);
	assert_int_equal(live_run_log(r, "f", 1e-05), 0);
	assert_int_equal(live_run_log(r, "f", 0.0001), 0);
	assert_int_equal(live_run_log_flags(r, "only_summary", 3.0, LIVE_LOG_NO_HISTORY), 0);
	assert_int_equal(live_run_close(r), 0);
}

static const char *golden_root;
static int compared;

static int compare_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	const char *rel = path + strlen(golden_root) + 1;
	char *want = tu_read_file(path);
	char *got = tu_read_file(rel);
	if (!got)
		fail_msg("missing output file %s", rel);
	if (strcmp(want, got))
		fail_msg("%s differs:\n--- want\n%s--- got\n%s", rel, want, got);
	free(want);
	free(got);
	compared++;
	return 0;
}

static int produced;
static int count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)ftw;
	produced += flag == FTW_F;
	return 0;
}

static void check_golden(const char *name)
{
	char root[1024];
	snprintf(root, sizeof(root), "%s/golden/%s", LIVE_TEST_DATA, name);
	golden_root = root;
	compared = 0;
	produced = 0;
	assert_int_equal(nftw(root, compare_one, 16, FTW_PHYS), 0);
	nftw("dvclive", count_one, 16, FTW_PHYS);
	produced += tu_exists("dvclive.json");
	/* Every produced file has a golden twin, and nothing else was written. */
	assert_int_equal(produced, compared);
	assert_true(compared >= 11);
}

/* The golden folders hold the summary and the histories; the report has its own tests (test_report.c). */
static void open_run(live_run **r, int layout, int timestamp)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.layout = layout;
	o.timestamp = timestamp;
	o.html = LIVE_OFF;
	fake_ms = 1700000000000LL;
	live__set_clock(fake_clock);
	assert_int_equal(live_run_open(r, &o), 0);
}

static void golden_classic(void **state)
{
	(void)state;
	live_run *r;
	open_run(&r, LIVE_LAYOUT_CLASSIC, 0);
	log_sequence(r);
	check_golden("classic");
}

static void golden_v3(void **state)
{
	(void)state;
	live_run *r;
	open_run(&r, LIVE_LAYOUT_V3, 0);
	log_sequence(r);
	check_golden("v3");
}

static void golden_v3_timestamp(void **state)
{
	(void)state;
	live_run *r;
	open_run(&r, LIVE_LAYOUT_V3, LIVE_ON);
	log_sequence(r);
	check_golden("v3_timestamp");
}

static void layout_from_environment(void **state)
{
	(void)state;
	live_run *r;
	setenv("LIVE_LAYOUT", "v3", 1);
	open_run(&r, LIVE_LAYOUT_DEFAULT, 0);
	unsetenv("LIVE_LAYOUT");
	log_sequence(r);
	check_golden("v3");
}

static void bad_layout_variable(void **state)
{
	(void)state;
	live_run *r = NULL;
	setenv("LIVE_LAYOUT", "v4", 1);
	assert_int_equal(live_run_open(&r, NULL), LIVE_EPARSE);
	unsetenv("LIVE_LAYOUT");
	assert_null(r);
	assert_string_equal(live_errmsg(), "environment LIVE_LAYOUT='v4': expected 'classic' or 'v3'");
	assert_false(tu_exists("dvclive"));
}

/* A metric name with a double quote is quoted in the header as Python's csv does. */
static void header_quoting(void **state)
{
	(void)state;
	live_run *r;
	open_run(&r, LIVE_LAYOUT_CLASSIC, 0);
	assert_int_equal(live_run_log(r, "say \"hi\"", 1.5), 0);
	assert_int_equal(live_run_close(r), 0);
	char *got = tu_read_file("dvclive/say \"hi\".tsv");
	assert_non_null(got);
	assert_string_equal(got, "timestamp\tstep\t\"say \"\"hi\"\"\"\n1700000000000\t0\t1.5\n");
	free(got);
	got = tu_read_file("dvclive.json");
	assert_string_equal(got, "{\n    \"step\": 0,\n    \"say \\\"hi\\\"\": 1.5\n}\n");
	free(got);
}

/* Characters outside the BMP become surrogate pairs, as json.dump(ensure_ascii=True). */
static void summary_escapes_astral(void **state)
{
	(void)state;
	live_run *r;
	open_run(&r, LIVE_LAYOUT_CLASSIC, 0);
	assert_int_equal(live_run_log_int(r, "\xf0\x9f\x98\x80", 1), 0); /* U+1F600 */
	assert_int_equal(live_run_close(r), 0);
	char *got = tu_read_file("dvclive.json");
	assert_string_equal(got, "{\n    \"step\": 0,\n    \"\\ud83d\\ude00\": 1\n}\n");
	free(got);
}

/* A subdir path for dir: the summary is its sibling. */
static void nested_dir_summary_is_sibling(void **state)
{
	(void)state;
	live_run *r;
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "subdir/logs";
	assert_int_equal(live_run_open(&r, &o), 0);
	assert_string_equal(live_run_dir(r), "subdir/logs");
	assert_int_equal(live_run_log_int(r, "m", 3), 0);
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_close(r), 0);
	char *got = tu_read_file("subdir/logs.json");
	assert_string_equal(got, "{\n    \"step\": 0,\n    \"m\": 3\n}\n");
	free(got);
	assert_true(tu_exists("subdir/logs/m.tsv"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(golden_classic, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(golden_v3, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(golden_v3_timestamp, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(layout_from_environment, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(bad_layout_variable, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(header_quoting, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(summary_escapes_astral, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(nested_dir_summary_is_sibling, tu_enter_tmpdir, tu_leave_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
