/*
 * End-to-end tests of `live exp show`, `live metrics show/diff` and
 * `live params diff` (reference/dvc-checkpoints.md 3.4, 6.1, 6.2; the
 * tutorial /work/shared/seeds/000_00be6dab4e390328.txt): real runs of
 * tests/cli/tiny_trainer.c under `live exp run` in temp git repositories,
 * then the built `live` binary run as a user would, its output compared
 * with golden files in tests/data/cli_show/.
 *
 * Goldens mask what a run cannot reproduce: commit ids (full or 7 digits,
 * checked against the repository's commits) become sha0001, sha0002, ...
 * and experiment names exp-n0001, ... in order of appearance; times become
 * hh:mm XM and YYYY-MM-DDThh:mm:ss. Widths are kept, so tables stay aligned.
 * LIVE_UPDATE_GOLDEN=1 rewrites the goldens from the current output.
 *
 * Isolation as in test_cli.c: HOME is an empty temp dir, GIT_CONFIG_NOSYSTEM=1,
 * identity in each repository's .git/config.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clitest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif
#ifndef LIVE_TEST_GOLDEN
#error "LIVE_TEST_GOLDEN (tests/data/cli_show) must be defined by the build"
#endif

/* ---- running programs ---------------------------------------------------------- */

static result live_env(char *const *env, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	run_opts o = { .env = (const char *const *)env };
	result r = live_vo(&o, first, ap);
	va_end(ap);
	return r;
}
#define LIVE_ENV(env, ...) live_env(env, __VA_ARGS__, (const char *)NULL)

/* `live` on a pseudo-terminal of cols x rows; what it wrote there. */
static char *live_tty(char *const *env, int cols, int rows, const char *const *args)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	int master;
	fflush(NULL);
	pid_t pid = forkpty(&master, NULL, NULL, &ws);
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[32];
		int n = 0;
		argv[n++] = (char *)"live";
		for (; args[n - 1] && n < 31; n++)
			argv[n] = (char *)args[n - 1];
		argv[n] = NULL;
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(LIVE_BIN, argv);
		_exit(127);
	}
	size_t len = 0, cap = 8192;
	char *buf = malloc(cap);
	int open = 1;
	assert_non_null(buf);
	buf[0] = 0;
	while (open)
		ct_drain(master, &buf, &len, &cap, &open); /* EIO once the child is gone */
	keep(buf);
	close(master);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	return buf;
}

/* ---- repositories ---------------------------------------------------------------- */

/* The tutorial's project with the tiny trainer: baseline "main", a checkpoint stage with live. */
static void make_project(int epochs)
{
	sh("git -c init.defaultBranch=main init -q . && git config user.name 'Live Tester' && "
	   "git config user.email tester@example.com && git config commit.gpgsign false");
	sh("cp '%s' train && "
	   "printf 'epochs: %d\\nlr: 0.001\\nmodel_bytes: 1000\\nstep_ms: 0\\n' > params.yaml",
	   TINY_TRAINER, epochs);
	sh("git add -A && git commit -qm baseline");
	result r = LIVE("init", "-q");
	assert_int_equal(r.rc, 0);
	r = LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "--plots-no-cache",
		 "predictions.json", "-p", "lr", "--live", "dvclive", "./train");
	if (r.rc)
		fail_msg("stage add: %s", r.err);
	sh("git add -A && git commit -qm 'train stage'");
}

/* `live exp run [args]` that must succeed. */
static void exp_run(const char *a1, const char *a2)
{
	result r = LIVE("exp", "run", a1, a2);
	if (r.rc)
		fail_msg("exp run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
}

/*
 * Experiment tips are ordered by commit time, in whole seconds: a second run
 * starts in a later second than the last commit of the one before.
 */
static void next_second(void)
{
	long long last = atoll(sh("git log -1 --format=%%ct refs/exps/exec/EXEC_CHECKPOINT"));
	while ((long long)time(NULL) <= last)
		usleep(50000);
}

/* The experiment commit whose dvclive.json has this step on the chain of `tip`. */
static char *ckpt_with_step(const char *tip, int step)
{
	char *list = sh("git rev-list %s", tip);
	for (char *save, *c = strtok_r(list, "\n", &save); c; c = strtok_r(NULL, "\n", &save)) {
		char *json = sh("git show %s:dvclive.json 2>/dev/null || true", c);
		if (strstr(json, fmt("\"step\": %d,", step)))
			return fmt("%s", c);
	}
	fail_msg("no checkpoint with step %d on %s", step, tip);
	return NULL;
}

static char *exp_name_of_tip(void)
{
	char *ref = sh("git for-each-ref --points-at refs/exps/exec/EXEC_CHECKPOINT --format='%%(refname)' "
		       "refs/exps/ | grep -v '^refs/exps/exec/' | head -1");
	if (!strrchr(ref, '/'))
		fail_msg("no experiment ref at EXEC_CHECKPOINT");
	return strrchr(ref, '/') + 1;
}

/* ---- masking and goldens ------------------------------------------------------------ */

typedef struct masker {
	char *commits; /* every commit, one per line */
	char *names;   /* experiment names, one per line */
	char seen[256][41];
	int nseen;
	char seen_names[64][41];
	int nnames;
} masker;

static int known_commit(masker *m, const char *hex, size_t len)
{
	for (const char *p = m->commits; *p;) {
		if (!strncmp(p, hex, len))
			return 1;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return 0;
}

static int id_of(char (*seen)[41], int *n, const char *s, size_t len, int max)
{
	for (int i = 0; i < *n; i++)
		if (!strncmp(seen[i], s, len))
			return i + 1;
	assert_true(*n < max);
	snprintf(seen[*n], 41, "%.*s", (int)len, s);
	return ++*n;
}

static int match_time(const char *p)
{
	return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) && p[2] == ':' &&
	       isdigit((unsigned char)p[3]) && isdigit((unsigned char)p[4]) && p[5] == ' ' &&
	       (p[6] == 'A' || p[6] == 'P') && p[7] == 'M';
}

static int match_iso(const char *p)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	for (int i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)p[i]) : p[i] != shape[i])
			return 0;
	return 1;
}

static char *mask(const char *text)
{
	masker m = { 0 };
	m.commits = sh("git rev-list --all");
	m.names = sh("git for-each-ref --format='%%(refname:lstrip=4)' refs/exps/");
	size_t n = strlen(text);
	char *out = keep(malloc(n * 2 + 64)), *w = out;
	for (size_t i = 0; i < n;) {
		const char *p = text + i;
		int boundary = i == 0 || !isalnum((unsigned char)p[-1]);
		size_t run = 0;
		while (boundary && isxdigit((unsigned char)p[run]) && !isupper((unsigned char)p[run]))
			run++;
		if ((run == 7 || run == 40) && !isalnum((unsigned char)p[run]) && known_commit(&m, p, 7)) {
			w += sprintf(w, "sha%04d", id_of(m.seen, &m.nseen, p, 7, 256));
			i += run;
			continue;
		}
		if (boundary && !strncmp(p, "exp-", 4)) {
			size_t l = 4;
			while (isalnum((unsigned char)p[l]) || p[l] == '-' || p[l] == '_')
				l++;
			int found = 0;
			for (const char *q = m.names; *q && !found;) {
				size_t ql = strcspn(q, "\n");
				found = ql == l && !strncmp(q, p, l);
				q += ql + (q[ql] == '\n');
			}
			if (found && l == 9) {
				w += sprintf(w, "exp-n%04d", id_of(m.seen_names, &m.nnames, p, l, 64));
				i += l;
				continue;
			}
		}
		if (match_time(p)) {
			w += sprintf(w, "hh:mm XM");
			i += 8;
			continue;
		}
		if (n - i >= 19 && match_iso(p)) {
			w += sprintf(w, "YYYY-MM-DDThh:mm:ss");
			i += 19;
			continue;
		}
		*w++ = text[i++];
	}
	*w = 0;
	return out;
}

static void golden(const char *name, const char *actual)
{
	char *path = fmt("%s/%s", LIVE_TEST_GOLDEN, name);
	const char *update = getenv("LIVE_UPDATE_GOLDEN");
	if (update && *update && strcmp(update, "0")) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fputs(actual, f);
		assert_int_equal(fclose(f), 0);
		return;
	}
	char *want = tu_read_file(path);
	if (!want)
		fail_msg("golden %s is missing (LIVE_UPDATE_GOLDEN=1 writes it); output:\n%s", path, actual);
	keep(want);
	if (strcmp(want, actual))
		fail_msg("output differs from %s\n--- expected\n%s--- actual\n%s", path, want, actual);
}

static char *show_ok(const char *a1, const char *a2, const char *a3)
{
	result r = LIVE("exp", "show", a1, a2, a3);
	if (r.rc)
		fail_msg("exp show %s failed (%d): %s", a1 ? a1 : "", r.rc, r.err);
	assert_string_equal(r.err, "");
	return r.out;
}

/* ---- the tutorial's three tables ------------------------------------------------------- */

/* Eight checkpoints: workspace, main, then the chain │ ╓ tip [name], │ ╟ ..., ├─╨ first. */
static void exp_show_first_run_is_one_chain(void **state)
{
	(void)state;
	make_project(8);
	exp_run(NULL, NULL);
	char *out = show_ok("--no-pager", NULL, NULL);
	golden("first_run.txt", mask(out));
	/* The tip carries the experiment's name; the others only their sha. */
	char *tip = sh("git rev-parse refs/exps/exec/EXEC_CHECKPOINT");
	assert_contains(out, fmt("│ │ ╓ %.7s [%s] │", tip, exp_name_of_tip()));
	assert_contains(out, fmt("│ ├─╨ %.7s ", ckpt_with_step("refs/exps/exec/EXEC_CHECKPOINT", 0)));
}

/*
 * Changed params, run again: "Modified checkpoint experiment" starts a new
 * branch whose first commit's parent is the old tip, shown as
 * `│ ╟ <sha> (<old tip>)`, above the old chain, which keeps its name.
 */
static void exp_show_modified_checkpoint_names_its_parent(void **state)
{
	(void)state;
	make_project(8);
	exp_run(NULL, NULL);
	char *old_tip = sh("git rev-parse refs/exps/exec/EXEC_CHECKPOINT");
	next_second();
	sh("sed -i 's/^epochs: 8/epochs: 12/' params.yaml");
	exp_run(NULL, NULL);
	char *out = show_ok("--no-pager", NULL, NULL);
	golden("modified.txt", mask(out));
	char *first_new = ckpt_with_step("refs/exps/exec/EXEC_CHECKPOINT", 8);
	assert_contains(out, fmt("│ │ ╟ %.7s (%.7s) ", first_new, old_tip));
	assert_contains(out, fmt("│ │ ╓ %.7s [", old_tip));

	golden("modified.json", mask(show_ok("--json", NULL, NULL)));
	golden("modified.csv", mask(show_ok("--csv", NULL, NULL)));
	golden("modified.md", mask(show_ok("--md", NULL, NULL)));
}

/* The tutorial's `exp apply b3de55f && exp run`: a branch from a middle checkpoint. */
static void exp_show_branch_from_applied_checkpoint(void **state)
{
	(void)state;
	make_project(8);
	exp_run(NULL, NULL);
	char *mid = ckpt_with_step("refs/exps/exec/EXEC_CHECKPOINT", 3);
	result r = LIVE("exp", "apply", fmt("%.7s", mid));
	if (r.rc && strstr(r.err, "not implemented"))
		skip();
	assert_int_equal(r.rc, 0);
	next_second();
	exp_run("-S", "epochs=6");
	char *out = show_ok("--no-pager", "--no-timestamp", NULL);
	golden("applied.txt", mask(out));
	char *first_new = ckpt_with_step("refs/exps/exec/EXEC_CHECKPOINT", 4);
	assert_contains(out, fmt("│ │ ╟ %.7s (%.7s) ", first_new, mid));
}

/* `exp run --reset`: a second chain from the baseline, newest first. */
static void exp_show_reset_gives_two_chains(void **state)
{
	(void)state;
	make_project(8);
	exp_run(NULL, NULL);
	next_second();
	sh("sed -i 's/^epochs: 8/epochs: 5/' params.yaml");
	exp_run("--reset", NULL);
	char *out = show_ok("--no-pager", NULL, NULL);
	golden("reset.txt", mask(out));
	int bases = 0;
	for (const char *p = strstr(out, "├─╨"); p; p = strstr(p + 1, "├─╨"))
		bases++;
	assert_int_equal(bases, 2);
}

/* ---- exp show options ---------------------------------------------------------------------- */

static void exp_show_options_filter_sort_and_name(void **state)
{
	(void)state;
	make_project(4);
	exp_run(NULL, NULL);
	next_second();
	sh("sed -i 's/^lr: 0.001/lr: 0.1/' params.yaml");
	exp_run("--reset", NULL);

	/* fnmatch filters, path-qualified or not; sorted by a metric (chains move with their tip) */
	char *out = LIVE("exp", "show", "--include-params", "l*", "--include-params", "params.yaml:epochs",
			 "--no-timestamp")
			    .out;
	assert_contains(out, "┃ Experiment ");
	assert_contains(out, "┃ lr    ┃ epochs ┃");
	assert_not_contains(out, "model_bytes");
	/* ascending lr: the older chain (0.001) first */
	out = LIVE("exp", "show", "--exclude-metrics", "acc,loss", "--exclude-params", "[ems]*", "--sort-by",
		   "lr", "--no-timestamp", "--sha")
		      .out;
	golden("sorted_sha.txt", mask(out));
	assert_not_contains(out, "[exp-");
	/* -n 2: the commit before HEAD is a baseline too */
	out = show_ok("-n", "2", "--csv");
	assert_contains(out, fmt(",%.7s,baseline,", sh("git rev-parse HEAD~1")));
	/* precision */
	out = LIVE("exp", "show", "--precision", "2", "--include-metrics", "loss").out;
	assert_contains(out, " 0.35 │");
	/* unknown sort column, unknown option */
	result r = LIVE("exp", "show", "--sort-by", "nope");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "Unknown sort column 'nope'");
	r = LIVE("exp", "show", "--bogus");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "unknown option '--bogus'");
}

static void assert_width_at_most(const char *text, size_t max)
{
	char *copy = fmt("%s", text);
	for (char *save, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t w = 0;
		for (const char *p = line; *p; p++)
			w += ((unsigned char)*p & 0xC0) != 0x80;
		if (w > max)
			fail_msg("line of %zu columns (at most %zu): %s", w, max, line);
	}
}

/*
 * A narrow terminal: collapsible columns (all but the first metric and the
 * first param) hide right to left behind one "…" column each, then wrapping
 * columns narrow; every line stays within the width.
 */
static void exp_show_fits_the_terminal_width(void **state)
{
	(void)state;
	make_project(3);
	exp_run(NULL, NULL);
	char *env[] = { "COLUMNS=50", NULL };
	result r = LIVE_ENV(env, "exp", "show", "--no-pager", "--no-timestamp");
	assert_int_equal(r.rc, 0);
	golden("narrow.txt", mask(r.out));
	assert_width_at_most(r.out, 50);
	for (int cols = 20; cols <= 110; cols += 15) {
		char *c[] = { fmt("COLUMNS=%d", cols), NULL };
		r = LIVE_ENV(c, "exp", "show", "--no-pager");
		assert_int_equal(r.rc, 0);
		assert_contains(r.out, "│ workspace");
		/* below about 30 columns there is nothing left to hide */
		assert_width_at_most(r.out, cols < 30 ? 30 : (size_t)cols);
	}
	/* Not a terminal and no COLUMNS: the whole table, as for a file. */
	r = LIVE("exp", "show");
	assert_contains(r.out, "┃ step_ms ┃");
}

/* Bold and colour only on a terminal, never with NO_COLOR; the pager only for a long table. */
static void exp_show_styles_and_pager_only_on_a_tty(void **state)
{
	(void)state;
	make_project(3);
	exp_run(NULL, NULL);
	const char *args[] = { "exp", "show", NULL };
	char *tty = live_tty(NULL, 200, 50, args);
	assert_contains(tty, "│\033[1m workspace "); /* the baseline rows are bold */
	assert_contains(tty, "\033[1;30;48;5;230m step \033[0m┃");
	char *nocolor[] = { "NO_COLOR=1", NULL };
	tty = live_tty(nocolor, 200, 50, args);
	assert_not_contains(tty, "\033[");
	assert_contains(tty, "│ workspace ");
	assert_not_contains(LIVE("exp", "show").out, "\033[");

	/* 50 rows hold the table: no pager. 5 rows do not: $PAGER gets it, unless --no-pager. */
	char *pager[] = { "PAGER=cat > paged.txt", NULL };
	live_tty(pager, 200, 50, args);
	assert_false(tu_exists("paged.txt"));
	live_tty(pager, 200, 5, args);
	char *paged = tu_read_file("paged.txt");
	assert_non_null(paged);
	keep(paged);
	assert_contains(paged, "│\033[1m workspace ");
	unlink("paged.txt");
	const char *no_pager[] = { "exp", "show", "--no-pager", NULL };
	tty = live_tty(pager, 200, 5, no_pager);
	assert_false(tu_exists("paged.txt"));
	assert_contains(tty, "workspace");
}

/* ---- metrics and params ----------------------------------------------------------------- */

/*
 * The tutorial's `dvc metrics diff exp-3c7a8 c23a6e0`: Path, Metric, the two
 * revisions as typed, Change; sorted by metric; round(v, 5) as Python prints it.
 */
static void metrics_diff_matches_the_tutorial(void **state)
{
	(void)state;
	make_project(8);
	exp_run(NULL, NULL);
	char *name = exp_name_of_tip();
	char *ck = fmt("%.7s", ckpt_with_step("refs/exps/exec/EXEC_CHECKPOINT", 3));
	result r = LIVE("metrics", "diff", name, ck);
	assert_int_equal(r.rc, 0);
	char *want = fmt("Path          Metric    %s    %s    Change\n"
			 "dvclive.json  acc       0.937        0.8745     -0.0625\n"
			 "dvclive.json  loss      0.126        0.251      0.125\n"
			 "dvclive.json  step      7            3          -4\n",
			 name, ck);
	assert_string_equal(r.out, want);
	golden("metrics_diff.txt", mask(r.out));
	golden("metrics_diff.md", mask(LIVE("metrics", "diff", name, ck, "--md").out));
	golden("metrics_diff.json", mask(LIVE("metrics", "diff", name, ck, "--json").out));

	/* HEAD (no dvclive.json there) against the workspace, the defaults */
	r = LIVE("metrics", "diff");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "Path          Metric    HEAD    workspace    Change\n"
				   "dvclive.json  acc       -       0.937        -\n"
				   "dvclive.json  loss      -       0.126        -\n"
				   "dvclive.json  step      -       7            -\n");
	/* Nothing changed: nothing printed, unless --all */
	r = LIVE("metrics", "diff", name, "workspace");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "");
	r = LIVE("metrics", "diff", name, "--all", "--precision", "2");
	assert_contains(r.out, "dvclive.json  acc       0.94         0.94         0.0\n");
	/* HEAD~1, a branch, a full sha */
	r = LIVE("metrics", "diff", "HEAD~1", sh("git rev-parse %s", ck));
	assert_int_equal(r.rc, 0);
	assert_contains(r.out, "dvclive.json  step      -         3 ");
	r = LIVE("metrics", "show", name);
	assert_string_equal(r.out, "Path          acc    loss    step\ndvclive.json  0.937  0.126   7\n");
	r = LIVE("metrics", "show", "--json");
	assert_string_equal(r.out, "{\"workspace\": {\"data\": {\"dvclive.json\": {\"data\": "
				   "{\"step\": 7, \"loss\": 0.126, \"acc\": 0.937}}}}}\n");
}

static void unknown_revision_is_named(void **state)
{
	(void)state;
	make_project(2);
	exp_run(NULL, NULL);
	const char *cmds[][3] = { { "metrics", "diff", "nope" }, { "metrics", "show", "nope" },
				  { "params", "diff", "nope" } };
	for (int i = 0; i < 3; i++) {
		result r = LIVE(cmds[i][0], cmds[i][1], cmds[i][2]);
		assert_int_equal(r.rc, 1);
		assert_string_equal(r.out, "");
		assert_string_equal(r.err, "ERROR: unknown revision 'nope'\n");
	}
	result r = LIVE("metrics", "diff", "HEAD", "exp-zzzzz");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: unknown revision 'exp-zzzzz'\n");
}

static void params_diff_shows_changed_params(void **state)
{
	(void)state;
	make_project(3);
	exp_run(NULL, NULL);
	char *name = exp_name_of_tip();
	sh("sed -i 's/^lr: 0.001/lr: 1e-4/' params.yaml");
	result r = LIVE("params", "diff");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "Path         Param    HEAD    workspace\n"
				   "params.yaml  lr       0.001   0.0001\n");
	r = LIVE("params", "diff", name, "--json");
	assert_string_equal(r.out, "{\"params.yaml\": {\"lr\": {\"old\": 0.001, \"new\": 0.0001, \"diff\": "
				   "-0.0009}}}\n");
	r = LIVE("params", "diff", name, "--all", "--md");
	assert_string_equal(r.out, fmt("| Path        | Param       | %-9s   | workspace   |\n"
				       "|-------------|-------------|-------------|-------------|\n"
				       "| params.yaml | epochs      | 3           | 3           |\n"
				       "| params.yaml | lr          | 0.001       | 0.0001      |\n"
				       "| params.yaml | model_bytes | 1000        | 1000        |\n"
				       "| params.yaml | step_ms     | 0           | 0           |\n\n",
				       name));
}

int main(void)
{
	if (ct_begin("test_cli_show", LIVE_BIN, TINY_TRAINER, (const char *)NULL))
		return 1;
	setenv("TERM", "xterm-256color", 1);

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ct_setup, ct_teardown)
		T(exp_show_first_run_is_one_chain),
		T(exp_show_modified_checkpoint_names_its_parent),
		T(exp_show_branch_from_applied_checkpoint),
		T(exp_show_reset_gives_two_chains),
		T(exp_show_options_filter_sort_and_name),
		T(exp_show_fits_the_terminal_width),
		T(exp_show_styles_and_pager_only_on_a_tty),
		T(metrics_diff_matches_the_tutorial),
		T(unknown_revision_is_named),
		T(params_diff_shows_changed_params),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	return ct_end(rc ? 1 : 0);
}
