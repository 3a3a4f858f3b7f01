/*
 * Untrusted metric names (SPEC 6): every hostile name is rejected with a
 * message, and nothing is ever written outside the run's folder.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "testutil.h"

struct hostile {
	const char *name;
	const char *msg;
};

static void hostile_names_rejected(void **state)
{
	(void)state;
	static char long_part[300], long_name[1100];
	memset(long_part, 'x', 251);
	for (int i = 0; i < 1030; i++)
		long_name[i] = i % 100 == 99 ? '/' : 'y';
	const struct hostile cases[] = {
		{ "", "metric name is empty" },
		{ "/etc/passwd", "metric name '/etc/passwd': absolute paths are not allowed" },
		{ "../escape", "metric name '../escape': '.' and '..' parts are not allowed" },
		{ "a/../../escape", "metric name 'a/../../escape': '.' and '..' parts are not allowed" },
		{ "a/..", "metric name 'a/..': '.' and '..' parts are not allowed" },
		{ "..", "metric name '..': '.' and '..' parts are not allowed" },
		{ ".", "metric name '.': '.' and '..' parts are not allowed" },
		{ "a/./b", "metric name 'a/./b': '.' and '..' parts are not allowed" },
		{ "a//b", "metric name 'a//b': empty path part ('//' or a trailing '/')" },
		{ "a/", "metric name 'a/': empty path part ('//' or a trailing '/')" },
		{ "tab\there", "metric name 'tab?here': control characters are not allowed" },
		{ "new\nline", "metric name 'new?line': control characters are not allowed" },
		{ "cr\rx", "metric name 'cr?x': control characters are not allowed" },
		{ "del\x7f", "metric name 'del?': control characters are not allowed" },
		{ "esc\x1b[31m", "metric name 'esc?[31m': control characters are not allowed" },
		{ "bad\xff", "metric name 'bad\xff': not valid UTF-8" },
		{ "overlong\xc0\xaf", "metric name 'overlong\xc0\xaf': not valid UTF-8" },
		{ "surrogate\xed\xa0\x80", "metric name 'surrogate\xed\xa0\x80': not valid UTF-8" },
		{ "win\\path", "metric name 'win\\path': backslashes are not allowed" },
		{ "step", "metric name 'step': reserved for the summary's own key" },
		{ "divergence", "metric name 'divergence': reserved for the summary's own key" },
		{ long_part, NULL },
		{ long_name, NULL },
	};
	live_run *r;
	assert_int_equal(live_run_open(&r, NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int rc = live_run_log(r, cases[i].name, 1.0);
		if (rc != LIVE_EINVALID)
			fail_msg("case %zu ('%.40s'): rc %d, want LIVE_EINVALID", i, cases[i].name, rc);
		assert_true(strlen(live_errmsg()) > 0);
		if (cases[i].msg)
			assert_string_equal(live_errmsg(), cases[i].msg);
	}
	assert_string_equal(live_run_log(r, long_part, 1) ? live_errmsg() : "",
			    "metric name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': "
			    "a path part is longer than 250 bytes");
	live_run_log(r, long_name, 1);
	assert_non_null(strstr(live_errmsg(), "longer than 1024 bytes"));
	/* Names at the limits are fine, and so are dots that are not whole parts. */
	long_part[250] = 0;
	assert_int_equal(live_run_log(r, long_part, 1), 0);
	assert_int_equal(live_run_log(r, "..hidden/x.y/...", 1), 0);
	assert_int_equal(live_run_log(r, "\xe6\x8d\x9f\xe5\xa4\xb1", 1), 0); /* CJK */
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_close(r), 0);
	/* Only the three valid metrics were written. */
	assert_true(tu_exists("dvclive/..hidden/x.y/....tsv"));
	assert_true(tu_exists("dvclive/\xe6\x8d\x9f\xe5\xa4\xb1.tsv"));
}

static int outside_files;
static int count_outside(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F || flag == FTW_SL)
		outside_files += strcmp(path, "./outside/keep.txt") != 0;
	return 0;
}

/* A symlink planted in the run's folder does not lead writes outside it. */
static void symlinks_are_not_followed(void **state)
{
	(void)state;
	assert_int_equal(mkdir("outside", 0755), 0);
	tu_write_file("outside/keep.txt", "x");
	assert_int_equal(mkdir("dvclive", 0755), 0);
	assert_int_equal(symlink("../outside", "dvclive/evil"), 0);
	assert_int_equal(symlink("../outside/target.tsv", "dvclive/link.tsv"), 0);
	live_run *r;
	assert_int_equal(live_run_open(&r, &(live_options){ .version = 1, .resume = LIVE_ON }), 0);
	assert_int_equal(live_run_log(r, "evil/x", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
			    "dvclive/evil/x.tsv: 'evil' exists and is not a folder (a file or a link)");
	assert_int_equal(live_run_log(r, "link", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "dvclive/link.tsv: exists as a link, not a history file");
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_close(r), 0);
	outside_files = 0;
	nftw("./outside", count_outside, 8, FTW_PHYS);
	assert_int_equal(outside_files, 0);
	/* A fresh start's cleanup does not follow them either. */
	tu_write_file("outside/victim.tsv", "keep me");
	assert_int_equal(live_run_open(&r, NULL), 0);
	live_run_close(r);
	assert_true(tu_exists("outside/victim.tsv"));
}

/* Names that clash with another metric, in either order, or with what is on disk. */
static void clashing_names(void **state)
{
	(void)state;
	live_run *r;
	assert_int_equal(live_run_open(&r, NULL), 0);
	assert_int_equal(live_run_log(r, "a", 1), 0);
	assert_int_equal(live_run_log(r, "a/b", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "metric name 'a/b': clashes with metric 'a'");
	assert_int_equal(live_run_log(r, "x/y/z", 1), 0);
	assert_int_equal(live_run_log(r, "x/y", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "metric name 'x/y': clashes with the metrics under 'x/y/'");
	assert_int_equal(live_run_log(r, "x", 1), LIVE_EINVALID);
	assert_int_equal(mkdir("dvclive/folder.tsv", 0755), 0);
	assert_int_equal(live_run_log(r, "folder", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "dvclive/folder.tsv: exists as a folder, not a history file");
	tu_write_file("dvclive/file", "user data");
	assert_int_equal(live_run_log(r, "file/m", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
			    "dvclive/file/m.tsv: 'file' exists and is not a folder (a file or a link)");
	assert_int_equal(live_run_next_step(r), 0);
	assert_int_equal(live_run_close(r), 0);
	char *s = tu_read_file("dvclive.json");
	assert_string_equal(s, "{\n    \"step\": 0,\n    \"a\": 1.0,\n    \"x\": {\n        \"y\": {\n"
			       "            \"z\": 1.0\n        }\n    }\n}\n");
	free(s);
	s = tu_read_file("dvclive/file");
	assert_string_equal(s, "user data");
	free(s);
}

/* The default run reports the same errors through the wrappers. */
static void default_run_rejects_too(void **state)
{
	(void)state;
	assert_int_equal(live_log("../../x", 1), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "metric name '../../x': '.' and '..' parts are not allowed");
	assert_int_equal(live_log_int("ok", 1), 0);
	assert_int_equal(live_close(), 0);
	assert_false(tu_exists("../x.tsv"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_enter_tmpdir, tu_leave_tmpdir)
	const struct CMUnitTest tests[] = {
		T(hostile_names_rejected),
		T(symlinks_are_not_followed),
		T(clashing_names),
		T(default_run_rejects_too),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
