/*
 * Several threads logging at once (live.h "Thread rules"): the default run is
 * guarded by one lock, separate live_run handles are independent, and
 * live_errmsg() is per thread. Every row logged must reach its file, whole,
 * in the order it was logged.
 *
 * Threads never call cmocka's asserts (a failing assert jumps back into the
 * runner from the wrong thread); they record the first failure, and the main
 * thread asserts after joining them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "live.h"
#include "testutil.h"

#define NTHREADS 8
#define N 2000

/* ---- failures seen by worker threads ----------------------------------- */

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_text[512];
static atomic_int fail_count;

static void thread_fail(const char *what, int k, long i, int rc)
{
	pthread_mutex_lock(&fail_lock);
	if (!fail_count)
		snprintf(fail_text, sizeof(fail_text), "thread %d, i=%ld: %s returned %d: %s", k, i, what, rc,
			 live_errmsg());
	atomic_fetch_add(&fail_count, 1);
	pthread_mutex_unlock(&fail_lock);
}

static void assert_no_thread_failed(void)
{
	if (atomic_load(&fail_count))
		fail_msg("%d failed calls in threads; first: %s", atomic_load(&fail_count), fail_text);
}

static int reset_failures(void **state)
{
	atomic_store(&fail_count, 0);
	fail_text[0] = 0;
	return tu_enter_tmpdir(state);
}

static void start_all(pthread_t *th, int n, void *(*fn)(void *), long *args)
{
	for (int k = 0; k < n; k++) {
		args[k] = k;
		assert_int_equal(pthread_create(&th[k], NULL, fn, &args[k]), 0);
	}
}

static void join_all(pthread_t *th, int n)
{
	for (int k = 0; k < n; k++)
		assert_int_equal(pthread_join(th[k], NULL), 0);
}

static void init_default_run(const char *dir)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = dir;
	int rc = live_init(&o);
	if (rc)
		fail_msg("live_init: %d: %s", rc, live_errmsg());
}

/* ---- reading the files back ---------------------------------------------- */

typedef struct row {
	long long ms, step;
	char value[40];
} row;

/*
 * Read a TSV whose header must be `header`: every line complete and made of
 * <ms> <step> <value>. Returns the rows (malloc'd), their count in *n.
 */
static row *read_tsv(const char *path, const char *header, size_t *n)
{
	char *text = tu_read_file(path);
	if (!text)
		fail_msg("%s: missing", path);
	size_t hl = strlen(header);
	if (strncmp(text, header, hl) || text[hl] != '\n')
		fail_msg("%s: first line is not '%s'", path, header);
	size_t len = strlen(text);
	if (text[len - 1] != '\n')
		fail_msg("%s: does not end with a newline (torn last row)", path);
	size_t cap = 1024, count = 0;
	row *rows = malloc(cap * sizeof(*rows));
	assert_non_null(rows);
	for (char *line = text + hl + 1; *line;) {
		char *nl = strchr(line, '\n');
		*nl = 0;
		row r;
		int used = -1;
		if (sscanf(line, "%lld\t%lld\t%39[^\t\n]%n", &r.ms, &r.step, r.value, &used) != 3 ||
		    used != (int)strlen(line) || r.ms <= 0 || r.step < 0)
			fail_msg("%s: row %zu is malformed: '%s'", path, count + 1, line);
		if (count == cap) {
			rows = realloc(rows, (cap *= 2) * sizeof(*rows));
			assert_non_null(rows);
		}
		rows[count++] = r;
		line = nl + 1;
	}
	free(text);
	*n = count;
	return rows;
}

static cJSON *read_summary(const char *path)
{
	char *text = tu_read_file(path);
	if (!text)
		fail_msg("%s: missing", path);
	cJSON *root = cJSON_Parse(text);
	if (!cJSON_IsObject(root))
		fail_msg("%s: not a JSON object: '%s'", path, text);
	free(text);
	return root;
}

static long long summary_step(const cJSON *root)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "step");
	assert_true(cJSON_IsNumber(s));
	return (long long)s->valuedouble;
}

/* ---- A: 8 threads, one metric each, each ending its own steps ----------- */

static void *own_metric_worker(void *arg)
{
	int k = (int)*(long *)arg;
	char name[16];
	snprintf(name, sizeof(name), "t%d", k);
	for (long i = 0; i < N; i++) {
		/* Even threads log doubles, odd ones integers: both paths run concurrently. */
		int rc = k % 2 ? live_log_int(name, i) : live_log(name, (double)i);
		if (rc)
			thread_fail("live_log", k, i, rc);
		if ((rc = live_next_step()))
			thread_fail("live_next_step", k, i, rc);
	}
	return NULL;
}

static void test_default_run_threads_own_metrics(void **state)
{
	(void)state;
	init_default_run("dvclive");
	pthread_t th[NTHREADS];
	long args[NTHREADS];
	start_all(th, NTHREADS, own_metric_worker, args);
	join_all(th, NTHREADS);
	assert_no_thread_failed();
	/* 8N next_step calls in all: the step is 8N, the last step ended is 8N - 1. */
	assert_int_equal(live_get_step(), NTHREADS * N);
	assert_int_equal(live_close(), 0);

	char *sumtext = tu_read_file("dvclive.json");
	assert_non_null(sumtext);
	cJSON *sum = read_summary("dvclive.json");
	assert_int_equal(summary_step(sum), NTHREADS * N - 1);
	for (int k = 0; k < NTHREADS; k++) {
		char path[64], header[64], key[16], line[64];
		snprintf(key, sizeof(key), "t%d", k);
		snprintf(path, sizeof(path), "dvclive/t%d.tsv", k);
		snprintf(header, sizeof(header), "timestamp\tstep\tt%d", k);
		size_t n;
		row *rows = read_tsv(path, header, &n);
		assert_int_equal(n, N);
		for (size_t i = 0; i < n; i++) {
			char want[40];
			snprintf(want, sizeof(want), k % 2 ? "%zu" : "%zu.0", i);
			if (strcmp(rows[i].value, want))
				fail_msg("%s: row %zu: value '%s', want '%s'", path, i + 1, rows[i].value, want);
			/* A thread's own next_step separates its rows: steps strictly increase. */
			if (i > 0 && rows[i].step <= rows[i - 1].step)
				fail_msg("%s: row %zu: step %lld after %lld", path, i + 1, rows[i].step,
					 rows[i - 1].step);
			assert_true(rows[i].step < NTHREADS * N);
		}
		free(rows);
		/* The summary keeps each metric's last value, printed as it was logged. */
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(sum, key);
		assert_true(cJSON_IsNumber(v));
		assert_true(v->valuedouble == N - 1);
		snprintf(line, sizeof(line), k % 2 ? "\n    \"t%d\": %d" : "\n    \"t%d\": %d.0", k, N - 1);
		if (!strstr(sumtext, line))
			fail_msg("summary lacks '%s':\n%s", line + 1, sumtext);
	}
	cJSON_Delete(sum);
	free(sumtext);
}

/* ---- B: 8 threads on one metric, a ninth ending the steps ----------------- */

static atomic_int stop_stepping;
static long steps_taken;

static void *shared_worker(void *arg)
{
	int k = (int)*(long *)arg;
	for (long i = 0; i < N; i++) {
		int rc = live_log_int("shared", (long long)k * N + i);
		if (rc)
			thread_fail("live_log_int", k, i, rc);
	}
	return NULL;
}

static void *stepper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_stepping)) {
		int rc = live_next_step();
		if (rc)
			thread_fail("live_next_step", -1, steps_taken, rc);
		steps_taken++;
		for (int y = 0; y < 20; y++)
			sched_yield();
	}
	return NULL;
}

static void test_default_run_threads_one_metric(void **state)
{
	(void)state;
	init_default_run("dvclive");
	atomic_store(&stop_stepping, 0);
	steps_taken = 0;
	pthread_t th[NTHREADS], st;
	long args[NTHREADS];
	assert_int_equal(pthread_create(&st, NULL, stepper, NULL), 0);
	start_all(th, NTHREADS, shared_worker, args);
	join_all(th, NTHREADS);
	atomic_store(&stop_stepping, 1);
	assert_int_equal(pthread_join(st, NULL), 0);
	assert_no_thread_failed();
	/* End the step of the last rows, so the last step is known: steps_taken - 1. */
	assert_int_equal(live_next_step(), 0);
	steps_taken++;
	assert_int_equal(live_get_step(), steps_taken);
	assert_int_equal(live_close(), 0);

	size_t n;
	row *rows = read_tsv("dvclive/shared.tsv", "timestamp\tstep\tshared", &n);
	assert_int_equal(n, NTHREADS * N);
	static unsigned char seen[NTHREADS * N];
	memset(seen, 0, sizeof(seen));
	long last[NTHREADS];
	for (int k = 0; k < NTHREADS; k++)
		last[k] = -1;
	for (size_t i = 0; i < n; i++) {
		char *end;
		long v = strtol(rows[i].value, &end, 10);
		if (*end || v < 0 || v >= NTHREADS * N)
			fail_msg("shared.tsv: row %zu: value '%s' out of range", i + 1, rows[i].value);
		if (seen[v]++)
			fail_msg("shared.tsv: value %ld appears twice", v);
		/* Each thread's rows appear in the order it logged them ... */
		int k = (int)(v / N);
		if (v <= last[k])
			fail_msg("shared.tsv: row %zu: thread %d's value %ld after %ld", i + 1, k, v, last[k]);
		last[k] = v;
		/* ... and the file is in step order. */
		if (i > 0 && rows[i].step < rows[i - 1].step)
			fail_msg("shared.tsv: row %zu: step %lld after %lld", i + 1, rows[i].step, rows[i - 1].step);
		assert_true(rows[i].step <= steps_taken - 1);
	}
	/* Every value present once: n == 8N and no duplicate. */
	cJSON *sum = read_summary("dvclive.json");
	assert_int_equal(summary_step(sum), steps_taken - 1);
	/* The summary keeps the value logged last, which is the file's last row. */
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sum, "shared");
	assert_true(cJSON_IsNumber(v));
	assert_true(v->valuedouble == strtod(rows[n - 1].value, NULL));
	cJSON_Delete(sum);
	free(rows);
}

/* ---- C: one live_run handle per thread ------------------------------------ */

static void *own_run_worker(void *arg)
{
	int k = (int)*(long *)arg;
	char dir[16];
	snprintf(dir, sizeof(dir), "run%d", k);
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = dir;
	o.summary_interval_ms = k % 2 ? LIVE_EVERY_STEP : 0;
	live_run *run = NULL;
	int rc = live_run_open(&run, &o);
	if (rc) {
		thread_fail("live_run_open", k, 0, rc);
		return NULL;
	}
	for (long i = 0; i < N; i++) {
		if ((rc = live_run_log(run, "m", 0.5 * (double)i)))
			thread_fail("live_run_log", k, i, rc);
		if ((rc = live_run_log_int(run, "g/n", (long long)k * 1000000 + i)))
			thread_fail("live_run_log_int", k, i, rc);
		if ((rc = live_run_next_step(run)))
			thread_fail("live_run_next_step", k, i, rc);
	}
	if ((rc = live_run_close(run)))
		thread_fail("live_run_close", k, N, rc);
	return NULL;
}

static void test_separate_runs_in_threads(void **state)
{
	(void)state;
	pthread_t th[NTHREADS];
	long args[NTHREADS];
	start_all(th, NTHREADS, own_run_worker, args);
	join_all(th, NTHREADS);
	assert_no_thread_failed();

	for (int k = 0; k < NTHREADS; k++) {
		char path[64], want[128];
		size_t n;
		snprintf(path, sizeof(path), "run%d/m.tsv", k);
		row *rows = read_tsv(path, "timestamp\tstep\tm", &n);
		assert_int_equal(n, N);
		for (size_t i = 0; i < n; i++) {
			char v[40];
			snprintf(v, sizeof(v), "%zu.%s", i / 2, i % 2 ? "5" : "0");
			assert_int_equal(rows[i].step, (long long)i);
			if (strcmp(rows[i].value, v))
				fail_msg("%s: row %zu: value '%s', want '%s'", path, i + 1, rows[i].value, v);
		}
		free(rows);

		snprintf(path, sizeof(path), "run%d/g/n.tsv", k);
		rows = read_tsv(path, "timestamp\tstep\tg/n", &n);
		assert_int_equal(n, N);
		for (size_t i = 0; i < n; i++) {
			char v[40];
			snprintf(v, sizeof(v), "%lld", (long long)k * 1000000 + (long long)i);
			assert_int_equal(rows[i].step, (long long)i);
			if (strcmp(rows[i].value, v))
				fail_msg("%s: row %zu: value '%s', want '%s'", path, i + 1, rows[i].value, v);
		}
		free(rows);

		snprintf(path, sizeof(path), "run%d.json", k);
		snprintf(want, sizeof(want),
			 "{\n    \"step\": %d,\n    \"m\": %d.5,\n    \"g\": {\n        \"n\": %lld\n    }\n}\n", N - 1,
			 (N - 1) / 2, (long long)k * 1000000 + N - 1);
		char *got = tu_read_file(path);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
	}
}

/* ---- D: live_errmsg() is per thread --------------------------------------- */

static char other_before[256], other_after[256];
static int other_rc;

static void *other_thread_errors(void *arg)
{
	(void)arg;
	snprintf(other_before, sizeof(other_before), "%s", live_errmsg());
	other_rc = live_log("", 1.0);
	snprintf(other_after, sizeof(other_after), "%s", live_errmsg());
	return NULL;
}

static void test_errmsg_is_per_thread(void **state)
{
	(void)state;
	init_default_run("dvclive");
	assert_int_equal(live_log("../escape", 1.0), LIVE_EINVALID);
	char mine[256];
	snprintf(mine, sizeof(mine), "%s", live_errmsg());
	assert_non_null(strstr(mine, "../escape"));

	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, other_thread_errors, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* The other thread saw none of this thread's error, and its own did not leak here. */
	assert_string_equal(other_before, "no error");
	assert_int_equal(other_rc, LIVE_EINVALID);
	assert_string_not_equal(other_after, "no error");
	assert_string_not_equal(other_after, mine);
	assert_string_equal(live_errmsg(), mine);
	assert_int_equal(live_close(), 0);
}

/* ---- E: live_close() while other threads log ------------------------------ */

static void *close_race_worker(void *arg)
{
	int k = (int)*(long *)arg;
	char name[16];
	snprintf(name, sizeof(name), "t%d", k);
	for (long i = 0; i < N / 4; i++) {
		int rc = live_log(name, (double)i);
		if (rc)
			thread_fail("live_log", k, i, rc);
		if ((rc = live_next_step()))
			thread_fail("live_next_step", k, i, rc);
	}
	return NULL;
}

/* A lazy re-open after live_close resumes: no row logged before or after is lost. */
static void test_default_run_close_while_logging(void **state)
{
	(void)state;
	init_default_run("dvclive");
	pthread_t th[NTHREADS];
	long args[NTHREADS];
	start_all(th, NTHREADS, close_race_worker, args);
	int closes = 0;
	for (; closes < 50; closes++) {
		for (int y = 0; y < 200; y++)
			sched_yield();
		int rc = live_close();
		if (rc)
			fail_msg("live_close: %d: %s", rc, live_errmsg());
	}
	join_all(th, NTHREADS);
	assert_no_thread_failed();
	assert_int_equal(live_close(), 0);

	long long max_step = -1;
	for (int k = 0; k < NTHREADS; k++) {
		char path[64], header[64];
		snprintf(path, sizeof(path), "dvclive/t%d.tsv", k);
		snprintf(header, sizeof(header), "timestamp\tstep\tt%d", k);
		size_t n;
		row *rows = read_tsv(path, header, &n);
		assert_int_equal(n, N / 4);
		for (size_t i = 0; i < n; i++) {
			char want[40];
			snprintf(want, sizeof(want), "%zu.0", i);
			if (strcmp(rows[i].value, want))
				fail_msg("%s: row %zu: value '%s', want '%s'", path, i + 1, rows[i].value, want);
			if (i > 0 && rows[i].step <= rows[i - 1].step)
				fail_msg("%s: row %zu: step %lld after %lld", path, i + 1, rows[i].step,
					 rows[i - 1].step);
			if (rows[i].step > max_step)
				max_step = rows[i].step;
		}
		free(rows);
	}
	cJSON *sum = read_summary("dvclive.json");
	assert_true(summary_step(sum) >= max_step);
	cJSON_Delete(sum);
}

/* ---- F: the lazy re-open after live_close keeps live_init's folder -------- */

static void test_default_run_reopen_keeps_init_dir(void **state)
{
	(void)state;
	init_default_run("logs");
	assert_int_equal(live_log("a", 1.0), 0);
	assert_int_equal(live_next_step(), 0);
	assert_int_equal(live_close(), 0);
	/* "A later live_log opens it again resuming": the same run, in the same folder. */
	assert_int_equal(live_log("a", 2.0), 0);
	assert_int_equal(live_next_step(), 0);
	assert_int_equal(live_close(), 0);
	assert_false(tu_exists("dvclive"));
	size_t n;
	row *rows = read_tsv("logs/a.tsv", "timestamp\tstep\ta", &n);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].step, 0);
	assert_string_equal(rows[0].value, "1.0");
	assert_int_equal(rows[1].step, 1);
	assert_string_equal(rows[1].value, "2.0");
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_run_threads_own_metrics, reset_failures,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_default_run_threads_one_metric, reset_failures,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_separate_runs_in_threads, reset_failures, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_errmsg_is_per_thread, reset_failures, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_default_run_close_while_logging, reset_failures,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_default_run_reopen_keeps_init_dir, reset_failures,
						tu_leave_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
