/*
 * A writer killed at any instant (SIGKILL) leaves files that parse, and a
 * resume after it continues the steps (SPEC 6, "Killed at any instant").
 *
 * The main case forks a child that logs in a tight loop and kills it after a
 * random 0-3 ms, 200 times, resuming each time; after every kill the files
 * are checked: the summary is valid JSON that never runs ahead of the
 * histories, every complete TSV row parses and carries the value that belongs
 * to its step, rows are only ever appended, and the first row of a round is
 * exactly one step after the last complete step of the previous rounds.
 *
 * The other cases build, by hand, the states a kill can leave mid-write (an
 * empty history file, a torn header, a torn row, a stale temp summary) and
 * check that a resume accepts each of them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "live.h"
#include "testutil.h"

#define ROUNDS 200

/* ---- the child: log forever until killed ------------------------------- */

/* What the child logs at `step`; the checker recomputes it from the row's step. */
static double loss_at(long long step)
{
	return 1.0 / (double)(step + 1);
}
static long long count_at(long long step)
{
	return 3 * step;
}
static double lr_at(long long step)
{
	return 0.5 * (double)step;
}

/* Never returns: the child must not run cmocka's or anybody's atexit handlers. */
static void child_loop(int resume, int every_step)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "dvclive";
	o.resume = resume ? LIVE_ON : LIVE_DEFAULT;
	o.summary_interval_ms = every_step ? LIVE_EVERY_STEP : 0;
	live_run *run = NULL;
	if (live_run_open(&run, &o) != 0) {
		fprintf(stderr, "child: live_run_open: %s\n", live_errmsg());
		_exit(2);
	}
	for (;;) {
		long long s = live_run_get_step(run);
		if (live_run_log(run, "train/loss", loss_at(s)) || live_run_log_int(run, "count", count_at(s)) ||
		    live_run_log(run, "lr", lr_at(s)) || live_run_next_step(run)) {
			fprintf(stderr, "child: step %lld: %s\n", s, live_errmsg());
			_exit(3);
		}
	}
}

/* ---- the checker -------------------------------------------------------- */

enum { K_LOSS, K_COUNT, K_LR, NFILES };

typedef struct tsv {
	const char *path;
	const char *header; /* without the newline */
	int kind;
	char *done;         /* the complete part (header + complete rows) seen last time */
	size_t done_len;
	long long last_step; /* step of the last complete row, -1 if none */
	long rows;
	int torn;           /* kills that left a partial row or header in this file */
} tsv;

static tsv files[NFILES] = {
	{ "dvclive/train/loss.tsv", "timestamp\tstep\ttrain/loss", K_LOSS, NULL, 0, -1, 0, 0 },
	{ "dvclive/count.tsv", "timestamp\tstep\tcount", K_COUNT, NULL, 0, -1, 0, 0 },
	{ "dvclive/lr.tsv", "timestamp\tstep\tlr", K_LR, NULL, 0, -1, 0, 0 },
};

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static unsigned long long rng(void)
{
	/* xorshift64*: fixed seed, so a failure replays the same kill schedule. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* A field of decimal digits only (no sign, no blanks); -1 if it is not one. */
static long long parse_digits(const char *s, size_t n)
{
	if (n == 0 || n > 18)
		return -1;
	long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Check one complete row (without its '\n'); returns its step. */
static long long check_row(const tsv *t, const char *row, size_t n, int round)
{
	const char *tab1 = memchr(row, '\t', n);
	assert_non_null(tab1);
	const char *tab2 = memchr(tab1 + 1, '\t', n - (size_t)(tab1 + 1 - row));
	if (!tab2)
		fail_msg("round %d: %s: row '%.*s' has fewer than 3 fields", round, t->path, (int)n, row);
	const char *val = tab2 + 1;
	size_t vlen = n - (size_t)(val - row);
	if (memchr(val, '\t', vlen))
		fail_msg("round %d: %s: row '%.*s' has more than 3 fields", round, t->path, (int)n, row);

	long long ms = parse_digits(row, (size_t)(tab1 - row));
	long long step = parse_digits(tab1 + 1, (size_t)(tab2 - tab1 - 1));
	if (ms <= 0 || step < 0)
		fail_msg("round %d: %s: row '%.*s': bad timestamp or step", round, t->path, (int)n, row);

	char vbuf[64];
	assert_true(vlen > 0 && vlen < sizeof(vbuf));
	memcpy(vbuf, val, vlen);
	vbuf[vlen] = 0;
	if (t->kind == K_COUNT) {
		char want[32];
		snprintf(want, sizeof(want), "%lld", count_at(step));
		if (strcmp(vbuf, want))
			fail_msg("round %d: %s: step %lld: value '%s', want '%s'", round, t->path, step, vbuf, want);
	} else {
		char *end;
		double d = strtod(vbuf, &end);
		double want = t->kind == K_LOSS ? loss_at(step) : lr_at(step);
		if (*end || d != want)
			fail_msg("round %d: %s: step %lld: value '%s', want %.17g", round, t->path, step, vbuf, want);
	}
	return step;
}

/*
 * Check one TSV after a kill. `prev_max` is the last complete step of any
 * file (or the summary) after the previous round; the first new row of this
 * round, in any file, must be exactly prev_max + 1 (the caller checks).
 * Returns the step of the file's first row new in this round, or -1.
 */
static long long check_tsv(tsv *t, int round, int final)
{
	char *text = tu_read_file(t->path);
	long long first_new = -1;
	if (!text) {
		assert_int_equal(t->done_len, 0); /* a file never disappears */
		return -1;
	}
	size_t len = strlen(text);
	const char *last_nl = len ? memrchr(text, '\n', len) : NULL;
	size_t complete = last_nl ? (size_t)(last_nl - text) + 1 : 0;

	/* Complete rows are only ever appended to: what was complete stays. */
	if (complete < t->done_len || (t->done_len && memcmp(text, t->done, t->done_len)))
		fail_msg("round %d: %s: earlier complete rows were changed or lost", round, t->path);

	t->torn += !final && complete != len;
	if (complete == 0) {
		/* Created but killed before or during the header: a prefix of it. */
		size_t hl = strlen(t->header);
		if (len > hl || memcmp(text, t->header, len))
			fail_msg("round %d: %s: '%s' is not a prefix of the header", round, t->path, text);
		if (final && len)
			fail_msg("round %d: %s: torn header not cut by resume", round, t->path);
		free(text);
		return -1;
	}
	if (t->done_len == 0) {
		size_t hl = strlen(t->header);
		if (complete < hl + 1 || memcmp(text, t->header, hl) || text[hl] != '\n')
			fail_msg("round %d: %s: first line is not the header '%s'", round, t->path, t->header);
		t->done_len = hl + 1;
	}

	for (size_t at = t->done_len; at < complete;) {
		const char *nl = memchr(text + at, '\n', complete - at);
		size_t n = (size_t)(nl - (text + at));
		long long step = check_row(t, text + at, n, round);
		if (step <= t->last_step)
			fail_msg("round %d: %s: step %lld after step %lld (steps must increase)", round, t->path,
				 step, t->last_step);
		if (first_new < 0)
			first_new = step;
		t->last_step = step;
		t->rows++;
		at += n + 1;
	}

	/* At most one trailing partial row: only characters a row can hold. */
	size_t tabs = 0;
	for (size_t i = complete; i < len; i++) {
		char c = text[i];
		tabs += c == '\t';
		if (!((c >= '0' && c <= '9') || c == '\t' || c == '.' || c == 'e' || c == '-' || c == '+'))
			fail_msg("round %d: %s: trailing partial row holds '%c'", round, t->path, c);
	}
	assert_true(tabs <= 2);
	if (final && complete != len)
		fail_msg("round %d: %s: torn row not cut by resume", round, t->path);

	free(t->done);
	t->done = text;
	t->done_len = complete;
	return first_new;
}

static double json_number(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(it))
		fail_msg("summary: key '%s' is not a number", key);
	return it->valuedouble;
}

/* Returns the summary's step, or -1 when there is no summary yet. */
static long long check_summary(int round, long long prev_summary_step)
{
	char *text = tu_read_file("dvclive.json");
	if (!text) {
		assert_int_equal(prev_summary_step, -1); /* once written, it stays */
		return -1;
	}
	cJSON *root = cJSON_Parse(text);
	if (!cJSON_IsObject(root))
		fail_msg("round %d: dvclive.json is not a JSON object: '%s'", round, text);
	double d = json_number(root, "step");
	long long step = (long long)d;
	assert_true(d >= 0 && (double)step == d);
	assert_true(step >= prev_summary_step);

	/* The summary holds the values of its own step ... */
	assert_true(json_number(root, "count") == (double)count_at(step));
	assert_true(json_number(root, "lr") == lr_at(step));
	const cJSON *train = cJSON_GetObjectItemCaseSensitive(root, "train");
	assert_true(cJSON_IsObject(train));
	assert_true(json_number(train, "loss") == loss_at(step));
	/* ... and is written after the rows: never ahead of any history. */
	for (int k = 0; k < NFILES; k++)
		if (files[k].last_step < step)
			fail_msg("round %d: summary step %lld is ahead of %s (last step %lld)", round, step,
				 files[k].path, files[k].last_step);
	cJSON_Delete(root);
	free(text);
	return step;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { 0, ns };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void test_sigkill_at_random_points_then_resume(void **state)
{
	(void)state;
	long long max_step = -1;      /* last complete step on disk, over every file */
	long long summary_step = -1;
	int rounds_with_rows = 0;

	for (int round = 0; round < ROUNDS; round++) {
		int every_step = round % 2;
		long wait_ns = (long)(rng() % 3000001ull);
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			child_loop(round > 0, every_step);
		sleep_ns(wait_ns);
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("round %d: the child ended by itself (status 0x%x), not by the kill", round, status);

		long long first_new = -1;
		long rows_before = 0, rows_after = 0;
		for (int k = 0; k < NFILES; k++) {
			rows_before += files[k].rows;
			long long f = check_tsv(&files[k], round, 0);
			if (f >= 0 && (first_new < 0 || f < first_new))
				first_new = f;
			rows_after += files[k].rows;
		}
		/* Resume continues right after the newest step on disk. */
		if (first_new >= 0 && first_new != max_step + 1)
			fail_msg("round %d: first new row at step %lld, want %lld", round, first_new, max_step + 1);
		for (int k = 0; k < NFILES; k++)
			if (files[k].last_step > max_step)
				max_step = files[k].last_step;
		summary_step = check_summary(round, summary_step);
		if (summary_step > max_step)
			max_step = summary_step;
		rounds_with_rows += rows_after > rows_before;
	}
	/* The kills did not all land before the first step. */
	print_message("%d kills, %d rounds wrote rows, last step %lld, torn files seen %d/%d/%d\n", ROUNDS,
		      rounds_with_rows, max_step, files[0].torn, files[1].torn, files[2].torn);
	assert_true(rounds_with_rows > 0);
	assert_true(max_step >= 0);

	/* One more resume, in this process: it continues after the newest step. */
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "dvclive";
	o.resume = LIVE_ON;
	live_run *run = NULL;
	assert_int_equal(live_run_open(&run, &o), 0);
	assert_int_equal(live_run_get_step(run), max_step + 1);
	assert_false(tu_exists("dvclive.json.tmp"));
	/* Torn rows and headers are cut now; every file ends in a complete row. */
	for (int k = 0; k < NFILES; k++)
		check_tsv(&files[k], ROUNDS, 1);

	long long s = live_run_get_step(run);
	assert_int_equal(live_run_log(run, "train/loss", loss_at(s)), 0);
	assert_int_equal(live_run_log_int(run, "count", count_at(s)), 0);
	assert_int_equal(live_run_log(run, "lr", lr_at(s)), 0);
	assert_int_equal(live_run_close(run), 0);
	for (int k = 0; k < NFILES; k++) {
		long long f = check_tsv(&files[k], ROUNDS + 1, 1);
		assert_int_equal(f, max_step + 1);
		assert_int_equal(files[k].last_step, max_step + 1);
	}
	assert_int_equal(check_summary(ROUNDS + 1, summary_step), max_step + 1);

	for (int k = 0; k < NFILES; k++) {
		free(files[k].done);
		files[k].done = NULL;
	}
}

/* ---- states a kill can leave, built by hand ------------------------------ */

static void mkdir_or_fail(const char *path)
{
	assert_int_equal(mkdir(path, 0755), 0);
}

static live_run *resume_run(void)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "dvclive";
	o.resume = LIVE_ON;
	live_run *run = NULL;
	int rc = live_run_open(&run, &o);
	if (rc)
		fail_msg("resume failed: %d: %s", rc, live_errmsg());
	return run;
}

static void assert_file(const char *path, const char *want)
{
	char *got = tu_read_file(path);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Killed between creating the history file and writing its header. */
static void test_resume_after_kill_before_header(void **state)
{
	(void)state;
	mkdir_or_fail("dvclive");
	tu_write_file("dvclive/a.tsv", "timestamp\tstep\ta\n100\t0\t1.0\n100\t1\t2.0\n");
	tu_write_file("dvclive/b.tsv", "");
	live_run *run = resume_run();
	assert_int_equal(live_run_get_step(run), 2);
	assert_int_equal(live_run_log(run, "b", 5.0), 0);
	assert_int_equal(live_run_close(run), 0);
	char *b = tu_read_file("dvclive/b.tsv");
	assert_non_null(b);
	assert_int_equal(strncmp(b, "timestamp\tstep\tb\n", 17), 0);
	assert_non_null(strstr(b + 17, "\t2\t5.0\n"));
	free(b);
}

/* Killed in the middle of the header: every prefix is cut, even the longest. */
static void test_resume_after_kill_in_header(void **state)
{
	(void)state;
	static const char header[] = "timestamp\tstep\tb";
	mkdir_or_fail("dvclive");
	tu_write_file("dvclive/a.tsv", "timestamp\tstep\ta\n100\t0\t1.0\n");
	for (size_t n = 1; n <= strlen(header); n++) {
		char torn[32];
		memcpy(torn, header, n);
		torn[n] = 0;
		tu_write_file("dvclive/b.tsv", torn);
		live_options o = LIVE_OPTIONS_INIT;
		o.dir = "dvclive";
		o.resume = LIVE_ON;
		live_run *run = NULL;
		int rc = live_run_open(&run, &o);
		if (rc)
			fail_msg("torn header of %zu bytes: resume failed: %d: %s", n, rc, live_errmsg());
		assert_int_equal(live_run_get_step(run), 1);
		assert_int_equal(live_run_close(run), 0);
		/* The torn header is gone; nothing else was touched. */
		assert_file("dvclive/b.tsv", "");
		assert_file("dvclive/a.tsv", "timestamp\tstep\ta\n100\t0\t1.0\n");
	}
}

/* Killed in the middle of a row (or before its newline): the torn row is cut. */
static void test_resume_after_kill_in_row(void **state)
{
	(void)state;
	static const char rows[] = "timestamp\tstep\ta\n100\t0\t1.0\n100\t1\t2.0\n";
	static const char next[] = "100\t2\t3.25";
	mkdir_or_fail("dvclive");
	for (size_t n = 1; n <= strlen(next); n++) {
		char text[128];
		snprintf(text, sizeof(text), "%s%.*s", rows, (int)n, next);
		tu_write_file("dvclive/a.tsv", text);
		live_run *run = resume_run();
		assert_int_equal(live_run_get_step(run), 2);
		assert_int_equal(live_run_close(run), 0);
		assert_file("dvclive/a.tsv", rows);
	}
}

/* Killed between writing the temp summary and renaming it. */
static void test_resume_after_kill_before_rename(void **state)
{
	(void)state;
	mkdir_or_fail("dvclive");
	tu_write_file("dvclive/a.tsv", "timestamp\tstep\ta\n100\t0\t1.0\n100\t1\t2.0\n100\t2\t3.0\n");
	tu_write_file("dvclive.json", "{\n    \"step\": 1,\n    \"a\": 2.0\n}\n");
	tu_write_file("dvclive.json.tmp", "{\n    \"step\": 2,\n    \"a\"");
	live_run *run = resume_run();
	assert_false(tu_exists("dvclive.json.tmp"));
	assert_int_equal(live_run_get_step(run), 3);
	assert_int_equal(live_run_close(run), 0);
	/* Closing a resumed run that logged nothing: the summary names the last step with rows. */
	assert_file("dvclive.json", "{\n    \"step\": 2,\n    \"a\": 3.0\n}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigkill_at_random_points_then_resume, tu_enter_tmpdir,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_resume_after_kill_before_header, tu_enter_tmpdir,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_resume_after_kill_in_header, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_resume_after_kill_in_row, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_resume_after_kill_before_rename, tu_enter_tmpdir,
						tu_leave_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
