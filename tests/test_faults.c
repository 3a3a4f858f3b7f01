/*
 * The file system refusing (SPEC 6: full disk, read-only dir): the failing
 * call returns LIVE_EIO (or LIVE_EINVALID for a path taken by something else)
 * with a message naming the file, no file is left half-written, and later
 * calls work again once the cause is gone, with no row lost.
 *
 * A full disk is simulated with RLIMIT_FSIZE (writes past the limit fail with
 * EFBIG once SIGXFSZ is ignored), in a forked child so that the limit never
 * touches the test runner's own output. Children cannot use cmocka's asserts;
 * they report the first failed check on stderr and exit 1.
 *
 * chmod-based read-only folders do not stop root, so as root that case runs
 * in a child that has dropped to the user nobody; it also runs as "something
 * is in the way": a regular file where a folder must go, a folder where a
 * file must go.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "live.h"
#include "testutil.h"

/* ---- child-side checks ---------------------------------------------------- */

/*
 * Set while a body written with these checks runs in the test runner itself
 * (not in a child): a failed check then fails the test through cmocka.
 */
static int checks_in_process;

static void child_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void child_fail(int line, const char *fmt, ...)
{
	va_list ap;
	if (checks_in_process) {
		char what[512];
		checks_in_process = 0;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		fail_msg("check failed at %s:%d: %s", __FILE__, line, what);
		abort(); /* not reached: fail_msg jumps back into cmocka */
	}
	fprintf(stderr, "child check failed at %s:%d: ", __FILE__, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	_exit(1);
}

#define CK(cond)                                               \
	do {                                                   \
		if (!(cond))                                   \
			child_fail(__LINE__, "%s", #cond);     \
	} while (0)

#define CK_RC(call, want)                                                                           \
	do {                                                                                        \
		int rc_ = (call);                                                                   \
		if (rc_ != (want))                                                                  \
			child_fail(__LINE__, "%s returned %d, want %d (%s)", #call, rc_, (int)(want), \
				   live_errmsg());                                                  \
	} while (0)

#define CK_STR(got, want)                                                                           \
	do {                                                                                        \
		const char *g_ = (got), *w_ = (want);                                               \
		if (strcmp(g_, w_))                                                                 \
			child_fail(__LINE__, "%s is \"%s\", want \"%s\"", #got, g_, w_);            \
	} while (0)

/* A child's exit status for "could not test this here": the test is skipped. */
#define CHILD_UNTESTED 77

/*
 * Run `fn` in a child with SIGXFSZ ignored; the test fails if any check failed
 * and is skipped if the child exits with CHILD_UNTESTED.
 */
static void in_child(void (*fn)(void))
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		checks_in_process = 0;
		signal(SIGXFSZ, SIG_IGN);
		fn();
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_UNTESTED)
		skip();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the child failed (status 0x%x); its message is above", status);
}

/* Largest file this process may write: the soft limit; RLIM_INFINITY = the hard one. */
static void set_fsize(rlim_t soft)
{
	struct rlimit rl;
	CK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
	rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
	CK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static off_t file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return st.st_size;
}

static char *expect_msg(char *buf, size_t size, const char *what, int err)
{
	snprintf(buf, size, "%s: %s", what, strerror(err));
	return buf;
}

/*
 * The history `path` holds exactly `count` rows, row i being step i with the
 * value "<i>.0", every row complete, and nothing after the last newline.
 */
static void child_check_rows(const char *path, const char *header, long long count)
{
	char *text = tu_read_file(path);
	if (!text)
		child_fail(__LINE__, "%s: missing", path);
	size_t hl = strlen(header), len = strlen(text);
	if (strncmp(text, header, hl) || text[hl] != '\n')
		child_fail(__LINE__, "%s: first line is not '%s'", path, header);
	if (text[len - 1] != '\n')
		child_fail(__LINE__, "%s: ends in half a row: '%s'", path, text);
	long long i = 0;
	for (char *line = text + hl + 1; *line; i++) {
		char *nl = strchr(line, '\n');
		*nl = 0;
		long long ms, step;
		char value[40], want[40];
		int used = -1;
		if (sscanf(line, "%lld\t%lld\t%39[^\t]%n", &ms, &step, value, &used) != 3 ||
		    used != (int)strlen(line))
			child_fail(__LINE__, "%s: row %lld is malformed: '%s'", path, i + 1, line);
		snprintf(want, sizeof(want), "%lld.0", i);
		if (step != i || strcmp(value, want))
			child_fail(__LINE__, "%s: row %lld is step %lld value %s, want step %lld value %s", path,
				   i + 1, step, value, i, want);
		line = nl + 1;
	}
	if (i != count)
		child_fail(__LINE__, "%s: %lld rows, want %lld", path, i, count);
	free(text);
}

static live_run *child_open(const char *dir)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = dir;
	o.summary_interval_ms = LIVE_EVERY_STEP;
	live_run *run = NULL;
	CK_RC(live_run_open(&run, &o), 0);
	return run;
}

/* ---- full disk: a history file ---------------------------------------------- */

static void child_history_full(void)
{
	char msg[256];
	live_run *run = child_open("dvclive");
	/* This loss rises on purpose (value = step): the test is about a full disk, not divergence. */
	CK_RC(live_run_set_direction(run, "loss", LIVE_UNWATCHED), 0);
	long long i = 0;
	for (; i < 10; i++) {
		CK_RC(live_run_log(run, "loss", (double)i), 0);
		CK_RC(live_run_next_step(run), 0);
	}
	off_t limit = file_size("dvclive/loss.tsv") + 300;
	set_fsize((rlim_t)limit);

	int rc = 0;
	for (; i < 1000 && rc == 0; i++) {
		CK_RC(live_run_log(run, "loss", (double)i), 0);
		rc = live_run_next_step(run);
	}
	long long failed = i - 1; /* the value whose row did not fit */
	CK(failed > 10);
	CK_RC(rc, LIVE_EIO);
	CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive/loss.tsv: write", EFBIG));
	/* The file holds the rows that fit, each complete: the cut-off part is gone. */
	child_check_rows("dvclive/loss.tsv", "timestamp\tstep\tloss", failed);
	CK(file_size("dvclive/loss.tsv") <= limit);

	/* Still full: the next steps fail the same way and add nothing to the file. */
	for (int k = 0; k < 2; k++, i++) {
		CK_RC(live_run_log(run, "loss", (double)i), 0);
		CK_RC(live_run_next_step(run), LIVE_EIO);
		CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive/loss.tsv: write", EFBIG));
		child_check_rows("dvclive/loss.tsv", "timestamp\tstep\tloss", failed);
	}

	/* Space returns: the kept rows are written, in order, with the new one. */
	set_fsize(RLIM_INFINITY);
	CK_RC(live_run_log(run, "loss", (double)i), 0);
	CK_RC(live_run_next_step(run), 0);
	i++;
	child_check_rows("dvclive/loss.tsv", "timestamp\tstep\tloss", i);
	CK_RC(live_run_close(run), 0);
	char *sum = tu_read_file("dvclive.json");
	char want[128];
	snprintf(want, sizeof(want), "{\n    \"step\": %lld,\n    \"loss\": %lld.0\n}\n", i - 1, i - 1);
	CK(sum != NULL);
	CK_STR(sum, want);
	free(sum);
}

static void test_full_disk_history_rows_kept_and_retried(void **state)
{
	(void)state;
	in_child(child_history_full);
}

/* Two histories, one over the limit: only its rows wait; the other's are not written twice. */
static void child_one_of_two_full(void)
{
	char msg[256];
	live_run *run = child_open("dvclive");
	long long i = 0;
	for (; i < 30; i++) {
		CK_RC(live_run_log(run, "big", (double)i), 0);
		CK_RC(live_run_next_step(run), 0);
	}
	CK_RC(live_run_set_step(run, 0), 0);
	CK_RC(live_run_log(run, "small", 0.0), 0);
	CK_RC(live_run_set_step(run, 30), 0);
	CK_RC(live_run_log(run, "big", 30.0), 0);
	CK_RC(live_run_next_step(run), 0);
	/* Now small.tsv has 1 row and big.tsv 31: a limit between their sizes. */
	off_t small = file_size("dvclive/small.tsv"), big = file_size("dvclive/big.tsv");
	CK(small + 200 < big);
	set_fsize((rlim_t)(small + 100));

	for (long long k = 1; k <= 3; k++) {
		CK_RC(live_run_log(run, "big", (double)(30 + k)), 0);
		CK_RC(live_run_set_step(run, k), 0);
		CK_RC(live_run_log(run, "small", (double)k), 0);
		CK_RC(live_run_set_step(run, 30 + k), 0);
		CK_RC(live_run_next_step(run), LIVE_EIO);
		CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive/big.tsv: write", EFBIG));
		child_check_rows("dvclive/small.tsv", "timestamp\tstep\tsmall", k + 1);
		child_check_rows("dvclive/big.tsv", "timestamp\tstep\tbig", 31);
		/* The summary is not rewritten past rows that did not reach the files. */
		char *sum = tu_read_file("dvclive.json");
		cJSON *root = cJSON_Parse(sum);
		CK(cJSON_GetNumberValue(cJSON_GetObjectItem(root, "step")) == 30.0);
		cJSON_Delete(root);
		free(sum);
	}
	set_fsize(RLIM_INFINITY);
	CK_RC(live_run_sync(run), 0);
	child_check_rows("dvclive/small.tsv", "timestamp\tstep\tsmall", 4);
	child_check_rows("dvclive/big.tsv", "timestamp\tstep\tbig", 34);
	CK_RC(live_run_close(run), 0);
}

static void test_full_disk_only_the_full_file_waits(void **state)
{
	(void)state;
	in_child(child_one_of_two_full);
}

/* ---- full disk: the summary ------------------------------------------------ */

static void child_summary_full(void)
{
	char msg[256];
	live_run *run = child_open("dvclive");
	CK_RC(live_run_log(run, "loss", 1.0), 0);
	for (int k = 0; k < 10; k++) {
		char name[32];
		snprintf(name, sizeof(name), "eval/metric_%02d", k);
		CK_RC(live_run_log_flags(run, name, 0.125 * k, LIVE_LOG_NO_HISTORY), 0);
	}
	CK_RC(live_run_next_step(run), 0);
	char *old = tu_read_file("dvclive.json");
	CK(old != NULL);
	off_t limit = (off_t)strlen(old) / 2;
	CK(limit > 40);

	/* Only the summary has something to write (no history rows are pending). */
	CK_RC(live_run_log_flags(run, "eval/metric_00", 42.0, LIVE_LOG_NO_HISTORY), 0);
	set_fsize((rlim_t)limit);
	CK_RC(live_run_sync(run), LIVE_EIO);
	CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive.json: write", EFBIG));
	char *now = tu_read_file("dvclive.json");
	CK(now != NULL);
	CK_STR(now, old);
	cJSON *root = cJSON_Parse(now);
	CK(cJSON_IsObject(root));
	cJSON_Delete(root);
	free(now);
	CK(!tu_exists("dvclive.json.tmp"));

	/* next_step rewrites the summary too, and fails the same way. */
	CK_RC(live_run_log_flags(run, "eval/metric_01", 43.0, LIVE_LOG_NO_HISTORY), 0);
	CK_RC(live_run_next_step(run), LIVE_EIO);
	CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive.json: write", EFBIG));
	now = tu_read_file("dvclive.json");
	CK_STR(now, old);
	free(now);
	CK(!tu_exists("dvclive.json.tmp"));

	set_fsize(RLIM_INFINITY);
	CK_RC(live_run_sync(run), 0);
	now = tu_read_file("dvclive.json");
	root = cJSON_Parse(now);
	CK(cJSON_IsObject(root));
	const cJSON *eval = cJSON_GetObjectItemCaseSensitive(root, "eval");
	CK(cJSON_GetObjectItemCaseSensitive(eval, "metric_00")->valuedouble == 42.0);
	CK(cJSON_GetObjectItemCaseSensitive(eval, "metric_01")->valuedouble == 43.0);
	/* Step 1 was ended (next_step) with no rows: the summary names it, as after any empty step. */
	CK(cJSON_GetObjectItemCaseSensitive(root, "step")->valuedouble == 1.0);
	cJSON_Delete(root);
	free(now);
	free(old);
	CK(!tu_exists("dvclive.json.tmp"));
	CK_RC(live_run_close(run), 0);
}

static void test_full_disk_summary_keeps_old(void **state)
{
	(void)state;
	in_child(child_summary_full);
}

/* ---- full disk: a new history file's header ----------------------------------- */

static void child_header_full(void)
{
	/* 0: nothing fits; 5: half the header fits; 18: all but its newline. */
	static const rlim_t limits[] = { 0, 5, 18 };
	static const char header[] = "timestamp\tstep\tnew\n";
	char msg[256];
	CK(strlen(header) == 19);
	for (size_t k = 0; k < sizeof(limits) / sizeof(*limits); k++) {
		live_run *run = child_open("dvclive");
		CK_RC(live_run_log(run, "old", 0.0), 0);
		CK_RC(live_run_next_step(run), 0);
		set_fsize(limits[k]);
		CK_RC(live_run_log(run, "new", 1.0), LIVE_EIO);
		CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive/new.tsv: write header", EFBIG));
		/* No file with half a header is left behind. */
		CK(!tu_exists("dvclive/new.tsv"));
		CK_RC(live_run_log(run, "old", 1.0), 0); /* an existing metric still logs */

		set_fsize(RLIM_INFINITY);
		CK_RC(live_run_set_step(run, 0), 0);
		CK_RC(live_run_log(run, "new", 0.0), 0);
		CK_RC(live_run_set_step(run, 1), 0);
		CK_RC(live_run_log(run, "new", 1.0), 0);
		CK_RC(live_run_close(run), 0);
		child_check_rows("dvclive/new.tsv", "timestamp\tstep\tnew", 2);
		child_check_rows("dvclive/old.tsv", "timestamp\tstep\told", 2);
	}
}

static void test_full_disk_new_history_header(void **state)
{
	(void)state;
	in_child(child_header_full);
}

/* ---- read-only folder (chmod: not effective for root) ------------------------ */

/*
 * Written with the CK checks so that it runs either in the test runner or in
 * a child. Returns 1 if chmod did not stop this process from writing (so
 * nothing was tested), else 0.
 */
static int read_only_dir_body(void)
{
	char msg[256];
	CK(mkdir("out", 0755) == 0);
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = "out/dvclive";
	o.summary_interval_ms = LIVE_EVERY_STEP;
	live_run *run = NULL;
	CK_RC(live_run_open(&run, &o), 0);
	CK_RC(live_run_log(run, "loss", 0.0), 0);
	CK_RC(live_run_next_step(run), 0);
	char *old = tu_read_file("out/dvclive.json");
	CK(old != NULL);

	CK(chmod("out/dvclive", 0555) == 0);
	CK(chmod("out", 0555) == 0);
	if (access("out", W_OK) == 0) {
		live_run_close(run);
		free(old);
		return 1; /* permissions do not apply to this process */
	}
	CK_RC(live_run_log(run, "new", 1.0), LIVE_EIO);
	CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "out/dvclive/new.tsv: open", EACCES));
	CK(!tu_exists("out/dvclive/new.tsv"));
	/* An open history still takes rows; the summary cannot be replaced. */
	CK_RC(live_run_log(run, "loss", 1.0), 0);
	CK_RC(live_run_next_step(run), LIVE_EIO);
	CK_STR(live_errmsg(), expect_msg(msg, sizeof(msg), "out/dvclive.json: create temp file", EACCES));
	char *now = tu_read_file("out/dvclive.json");
	CK(now != NULL);
	CK_STR(now, old);
	free(now);

	CK(chmod("out", 0755) == 0);
	CK(chmod("out/dvclive", 0755) == 0);
	CK_RC(live_run_set_step(run, 0), 0);
	CK_RC(live_run_log(run, "new", 0.0), 0);
	CK_RC(live_run_set_step(run, 1), 0);
	CK_RC(live_run_log(run, "new", 1.0), 0);
	CK_RC(live_run_close(run), 0);
	now = tu_read_file("out/dvclive.json");
	CK(now != NULL);
	CK_STR(now, "{\n    \"step\": 1,\n    \"loss\": 1.0,\n    \"new\": 1.0\n}\n");
	free(now);
	free(old);
	CK(!tu_exists("out/dvclive.json.tmp"));
	return 0;
}

/* As root: become nobody (for good: no way back to root), then run the body. */
static void child_read_only_dir_as_nobody(void)
{
	const struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;

	CK(setgroups(0, NULL) == 0);
	CK(setgid(gid) == 0);
	CK(setuid(uid) == 0);
	CK(geteuid() == uid && getegid() == gid);
	CK(setuid(0) != 0);
	/* Changing ids made the process non-dumpable; sanitizers want /proc/self. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (read_only_dir_body())
		_exit(CHILD_UNTESTED);
}

static void test_read_only_dir_chmod(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		checks_in_process = 1;
		int untested = read_only_dir_body();
		checks_in_process = 0;
		if (untested)
			skip(); /* permissions do not apply (e.g. CAP_DAC_OVERRIDE) */
		return;
	}
	/*
	 * Root ignores permissions. The body works with paths relative to the
	 * test's own dir (the cwd), which mkdtemp made 0700 and root's: open it
	 * to nobody; the dirs above it are not looked up again.
	 */
	assert_int_equal(chmod(".", 0777), 0);
	in_child(child_read_only_dir_as_nobody);
}

/* ---- something in the way (works as root too) ------------------------------- */

static live_run *open_run(const char *dir)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.dir = dir;
	o.summary_interval_ms = LIVE_EVERY_STEP;
	live_run *run = NULL;
	int rc = live_run_open(&run, &o);
	if (rc)
		fail_msg("live_run_open(%s): %d: %s", dir, rc, live_errmsg());
	return run;
}

static void assert_file(const char *path, const char *want)
{
	char *got = tu_read_file(path);
	if (!got)
		fail_msg("%s: missing", path);
	assert_string_equal(got, want);
	free(got);
}

/* A nested metric whose folder is taken by a regular file. */
static void test_history_folder_is_a_file(void **state)
{
	(void)state;
	live_run *run = open_run("dvclive");
	tu_write_file("dvclive/sub", "user data\n");
	assert_int_equal(live_run_log(run, "sub/x", 1.0), LIVE_EINVALID);
	/* The message names the history file, then the part in the way. */
	const char *msg = live_errmsg();
	if (strncmp(msg, "dvclive/sub/x.tsv: ", 19) || !strstr(msg, "'sub'") || !strstr(msg, "not a folder"))
		fail_msg("message '%s' does not name dvclive/sub/x.tsv and 'sub'", msg);
	assert_file("dvclive/sub", "user data\n");
	/* Other metrics are unaffected. */
	assert_int_equal(live_run_log(run, "y", 1.0), 0);
	assert_int_equal(live_run_next_step(run), 0);

	assert_int_equal(unlink("dvclive/sub"), 0);
	assert_int_equal(live_run_log(run, "sub/x", 2.0), 0);
	assert_int_equal(live_run_close(run), 0);
	char *x = tu_read_file("dvclive/sub/x.tsv");
	assert_non_null(x);
	assert_int_equal(strncmp(x, "timestamp\tstep\tsub/x\n", 21), 0);
	assert_non_null(strstr(x + 21, "\t1\t2.0\n"));
	free(x);
	char *text = tu_read_file("dvclive.json");
	cJSON *sum = cJSON_Parse(text);
	assert_true(cJSON_IsObject(sum));
	assert_true(cJSON_GetObjectItemCaseSensitive(sum, "step")->valuedouble == 1.0);
	assert_true(cJSON_GetObjectItemCaseSensitive(sum, "y")->valuedouble == 1.0);
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(sum, "sub");
	assert_true(cJSON_IsObject(sub));
	assert_true(cJSON_GetObjectItemCaseSensitive(sub, "x")->valuedouble == 2.0);
	assert_int_equal(cJSON_GetArraySize(sum), 3);
	cJSON_Delete(sum);
	free(text);
}

/* The history file's path is taken by a folder. */
static void test_history_file_is_a_folder(void **state)
{
	(void)state;
	live_run *run = open_run("dvclive");
	assert_int_equal(mkdir("dvclive/x.tsv", 0755), 0);
	assert_int_equal(live_run_log(run, "x", 1.0), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "dvclive/x.tsv: exists as a folder, not a history file");
	assert_int_equal(rmdir("dvclive/x.tsv"), 0);
	assert_int_equal(live_run_log(run, "x", 1.0), 0);
	assert_int_equal(live_run_close(run), 0);
	assert_file("dvclive.json", "{\n    \"step\": 0,\n    \"x\": 1.0\n}\n");
}

/* The summary's temp file, then the summary itself, cannot be written. */
static void test_summary_blocked(void **state)
{
	(void)state;
	char msg[256];
	live_run *run = open_run("dvclive");
	assert_int_equal(live_run_log(run, "loss", 0.5), 0);
	assert_int_equal(live_run_next_step(run), 0);
	static const char old[] = "{\n    \"step\": 0,\n    \"loss\": 0.5\n}\n";
	assert_file("dvclive.json", old);

	/* Temp file: cannot be created. */
	assert_int_equal(mkdir("dvclive.json.tmp", 0755), 0);
	assert_int_equal(live_run_log(run, "loss", 0.25), 0);
	assert_int_equal(live_run_sync(run), LIVE_EIO);
	assert_string_equal(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive.json: create temp file", EISDIR));
	assert_file("dvclive.json", old);
	assert_int_equal(rmdir("dvclive.json.tmp"), 0);

	/* Rename: the target is a folder; the temp file is removed again. */
	assert_int_equal(rename("dvclive.json", "saved.json"), 0);
	assert_int_equal(mkdir("dvclive.json", 0755), 0);
	assert_int_equal(live_run_sync(run), LIVE_EIO);
	assert_string_equal(live_errmsg(), expect_msg(msg, sizeof(msg), "dvclive.json: rename", EISDIR));
	assert_false(tu_exists("dvclive.json.tmp"));
	assert_int_equal(rmdir("dvclive.json"), 0);
	assert_int_equal(rename("saved.json", "dvclive.json"), 0);

	/* Cause gone: the exact summary is written; the rows were never held back. */
	assert_int_equal(live_run_sync(run), 0);
	assert_file("dvclive.json", "{\n    \"step\": 1,\n    \"loss\": 0.25\n}\n");
	assert_int_equal(live_run_close(run), 0);
	char *tsv = tu_read_file("dvclive/loss.tsv");
	assert_non_null(tsv);
	assert_non_null(strstr(tsv, "\t0\t0.5\n"));
	assert_non_null(strstr(tsv, "\t1\t0.25\n"));
	free(tsv);
	assert_false(tu_exists("dvclive.json.tmp"));
}

/* Opening a run whose folder cannot be made. */
static void test_open_under_a_regular_file(void **state)
{
	(void)state;
	tu_write_file("blocker", "user data\n");
	live_options o = LIVE_OPTIONS_INIT;
	static char sentinel;
	live_run *run = (live_run *)(void *)&sentinel; /* must be reset to NULL on failure */

	o.dir = "blocker/dvclive";
	assert_int_equal(live_run_open(&run, &o), LIVE_EIO);
	assert_null(run);
	assert_string_equal(live_errmsg(), "mkdir blocker/dvclive: Not a directory");

	o.dir = "blocker";
	run = (live_run *)(void *)&sentinel;
	assert_int_equal(live_run_open(&run, &o), LIVE_EIO);
	assert_null(run);
	assert_string_equal(live_errmsg(), "dir 'blocker' exists and is not a folder");
	assert_file("blocker", "user data\n");

	/* Nothing else was created, and a good folder still opens. */
	assert_false(tu_exists("blocker.json"));
	assert_false(tu_exists("dvclive"));
	o.dir = "logs";
	assert_int_equal(live_run_open(&run, &o), 0);
	assert_int_equal(live_run_close(run), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_disk_history_rows_kept_and_retried, tu_enter_tmpdir,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_full_disk_only_the_full_file_waits, tu_enter_tmpdir,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_full_disk_summary_keeps_old, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_full_disk_new_history_header, tu_enter_tmpdir,
						tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_read_only_dir_chmod, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_history_folder_is_a_file, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_history_file_is_a_folder, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_summary_blocked, tu_enter_tmpdir, tu_leave_tmpdir),
		cmocka_unit_test_setup_teardown(test_open_under_a_regular_file, tu_enter_tmpdir, tu_leave_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
