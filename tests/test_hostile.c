/*
 * The hostile input suite (issue #7 part 4; SPEC 6): metric names, params
 * values, malformed pipeline files, paths that escape the repository,
 * revisions that look like options, huge and oddly named files, a tampered
 * cache, a full disk, a read-only repository, hostile git states and hostile
 * `-S` edits, each thrown at the built `live` binary (and at liblive through
 * a trainer) in a temp git repository.
 *
 * For every case: the exit code; a clear one-line error naming the file or
 * key where an error is expected; no crash (no death by signal, no sanitizer
 * report, no hang or runaway memory: a watchdog kills a command after its
 * time limit or past 1.5 GB of memory and fails the case); nothing written
 * outside the repository (each test's dir holds repo/ and a sibling
 * outside/, and HOME is shared by all: their trees, modes, sizes, mtimes and
 * contents are compared before and after); nothing lost (the refs and cache
 * objects that existed before are still there).
 *
 * Layout and isolation as tests/test_cli.c: HOME is an empty temp dir,
 * GIT_CONFIG_NOSYSTEM=1, the variables that would change git, liblive or the
 * trainer are unset. Trainers: tests/cli/tiny_trainer.c (copied in as
 * ./train), and this very program run as `test_hostile --hostile-trainer`,
 * which logs hostile metric names through liblive's default run.
 *
 * Root (as CI runs): the read-only cases drop to the user nobody in the
 * child before exec; the full-disk case mounts a 2 MB tmpfs over the
 * repository inside a private mount namespace (unshare), or, where that is
 * not allowed, limits file sizes with RLIMIT_FSIZE.
 *
 * LIVE_TEST_FILTER=<glob> runs only the matching cases (cmocka's test filter).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "clitest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif

#define NOBODY 65534
#define BOMB_TIMEOUT_MS 5000

static char self_exe[PATH_MAX];

/* This test's dir (its repo/ and the sibling outside/), and whether a tmpfs sits on repo/. */
static char test_dir[PATH_MAX];
static char repo_dir[PATH_MAX + 8];
static char outside_dir[PATH_MAX + 16];
static int tmpfs_on_repo;

/* A growing string. */
typedef struct sbuf {
	char *s;
	size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int k = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	assert_true(k >= 0);
	if (b->n + (size_t)k + 1 > b->cap) {
		b->cap = (b->n + (size_t)k + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	va_start(ap, f);
	vsnprintf(b->s + b->n, (size_t)k + 1, f, ap);
	va_end(ap);
	b->n += (size_t)k;
}

static char *sb_done(sbuf *b)
{
	if (!b->s)
		sb_add(b, "%s", "");
	return keep(b->s);
}

/* ---- files ----------------------------------------------------------------- */

/* A deterministic stream of bytes (xorshift), for "binary garbage". */
static void garbage(unsigned char *buf, size_t n, unsigned long long seed)
{
	unsigned long long x = seed * 2654435761u + 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

/* ---- running programs, with a watchdog -------------------------------------- */



/* ---- what each case asserts ------------------------------------------------ */

/* rc 1 and exactly one line on stderr, "ERROR: ...", holding every needle (NULL-terminated). */
static void expect_error(result r, ...)
{
	if (r.rc != 1)
		fail_msg("%s: expected exit 1 with an error, got %d\nstdout:\n%.2000s\nstderr:\n%.2000s", r.cmd, r.rc,
			 r.out, r.err);
	if (count_lines(r.err) != 1 || strncmp(r.err, "ERROR: ", 7))
		fail_msg("%s: expected a one-line \"ERROR: ...\" on stderr, got:\n%.3000s", r.cmd, r.err);
	for (const unsigned char *p = (const unsigned char *)r.err; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			fail_msg("%s: the error holds a raw control character (0x%02x): %s", r.cmd, *p, r.err);
	va_list ap;
	va_start(ap, r);
	for (const char *n = va_arg(ap, const char *); n; n = va_arg(ap, const char *))
		if (!strstr(r.err, n))
			fail_msg("%s: the error should name [%s]; got:\n%s", r.cmd, n, r.err);
	va_end(ap);
}
#define EXPECT_ERROR(r, ...) expect_error((r), __VA_ARGS__, (const char *)NULL)

/* rc `rc`, and one of the stderr lines is "ERROR: ..." holding every needle (others may be usage). */
static void expect_error_line(result r, int rc, ...)
{
	if (r.rc != rc)
		fail_msg("%s: expected exit %d, got %d\nstdout:\n%.2000s\nstderr:\n%.2000s", r.cmd, rc, r.rc, r.out,
			 r.err);
	int errors = 0;
	const char *line = NULL;
	for (const char *p = r.err; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "ERROR: ", 7)) {
			errors++;
			line = p;
		}
	if (errors != 1)
		fail_msg("%s: expected exactly one \"ERROR: \" line, got:\n%.3000s", r.cmd, r.err);
	size_t len = strcspn(line, "\n");
	char *l = fmt("%.*s", (int)len, line);
	va_list ap;
	va_start(ap, rc);
	for (const char *n = va_arg(ap, const char *); n; n = va_arg(ap, const char *))
		if (!strstr(l, n))
			fail_msg("%s: the error line should name [%s]; got:\n%s", r.cmd, n, r.err);
	va_end(ap);
}
#define EXPECT_ERROR_LINE(r, rc, ...) expect_error_line((r), (rc), __VA_ARGS__, (const char *)NULL)

/* Either it worked (rc 0), or a one-line error naming `what`. */
static void ok_or_error(result r, const char *what)
{
	if (r.rc == 0)
		return;
	EXPECT_ERROR(r, what);
}

static void expect_ok(result r)
{
	if (r.rc != 0)
		fail_msg("%s: expected exit 0, got %d\nstdout:\n%.3000s\nstderr:\n%.3000s", r.cmd, r.rc, r.out, r.err);
}

/* ---- trees: what must not change -------------------------------------------- */

static sbuf *walk_out;
static const char *walk_skip;
static size_t walk_base;
static int walk_files_only;

static unsigned long long file_hash(const char *path, off_t size)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	if (size > (64 << 20))
		return (unsigned long long)size;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	unsigned char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	close(fd);
	return h;
}

static int walk_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (walk_skip && !strcmp(path, walk_skip))
		return FTW_SKIP_SUBTREE;
	const char *rel = path + walk_base;
	if (walk_files_only) {
		if (S_ISREG(st->st_mode))
			sb_add(walk_out, "%s %lld %llx\n", rel, (long long)st->st_size,
			       file_hash(path, st->st_size));
		return FTW_CONTINUE;
	}
	char kind = S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : S_ISREG(st->st_mode) ? 'f' : '?';
	unsigned long long h = 0;
	if (S_ISREG(st->st_mode))
		h = file_hash(path, st->st_size);
	char target[PATH_MAX] = "";
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
	}
	sb_add(walk_out, "%c %s mode=%o uid=%d size=%lld mtime=%lld.%09ld hash=%llx%s%s\n", kind, *rel ? rel : ".",
	       (unsigned)(st->st_mode & 07777), (int)st->st_uid, (long long)st->st_size,
	       (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, h, *target ? " -> " : "", target);
	return FTW_CONTINUE;
}

/* Every entry below `root` (not following links; not `skip`): kind, mode, size, mtime, content. */
static char *tree(const char *root, const char *skip, int files_only)
{
	sbuf b = { 0 };
	walk_out = &b;
	walk_skip = skip;
	walk_base = strlen(root);
	walk_files_only = files_only;
	struct stat sb;
	if (lstat(root, &sb) == 0)
		nftw(root, walk_cb, 32, FTW_PHYS | FTW_ACTIONRETVAL);
	walk_out = NULL;
	return sb_done(&b);
}

/* 1 if a file or folder whose name contains `needle` exists below `root`. */
static const char *find_needle;
static int find_hit;
static int find_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (strstr(path + ftw->base, find_needle))
		find_hit = 1;
	return 0;
}
static int name_exists_below(const char *root, const char *needle)
{
	find_needle = needle;
	find_hit = 0;
	nftw(root, find_cb, 32, FTW_PHYS);
	return find_hit;
}

/* Before/after state of the things no case may touch or lose. */
static char *g_outside, *g_home, *g_refs, *g_cache;

static char *outside_now(void)
{
	return tree(test_dir, repo_dir, 0);
}

static char *refs_now(void)
{
	if (!tu_exists(".git"))
		return fmt("%s", "");
	return sh("git for-each-ref --format='%%(objectname) %%(refname)'");
}

static char *cache_now(void)
{
	return tree(".dvc/cache", NULL, 1);
}

/* Take the "before" picture (again): outside/ and the test dir, HOME, refs, cache objects. */
static void guard_begin(void)
{
	g_outside = outside_now();
	g_home = tree(ct_home_dir, NULL, 0);
	g_refs = refs_now();
	g_cache = cache_now();
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

/* The lines only in `a` ("- ") and only in `b` ("+ "): short enough for a failure message. */
static char *tree_diff(const char *a, const char *b)
{
	sbuf d = { 0 };
	const char *texts[2] = { a, b }, *other[2] = { b, a }, *mark[2] = { "- ", "+ " };
	for (int k = 0; k < 2; k++) {
		char *copy = fmt("%s", texts[k]);
		for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (!has_line(other[k], l) && d.n < 3000)
				sb_add(&d, "%s%s\n", mark[k], l);
	}
	return sb_done(&d);
}

/* Every line of `before` is a line of `after`. */
static void lines_kept(const char *before, const char *after, const char *what)
{
	char *copy = fmt("%s", before);
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *needle = fmt("%s\n", l);
		char *hay = fmt("\n%s%s", after, *after && after[strlen(after) - 1] != '\n' ? "\n" : "");
		if (!strstr(hay, fmt("\n%s", needle)))
			fail_msg("%s: [%s] is gone or changed\nbefore:\n%.3000s\nafter:\n%.3000s", what, l, before,
				 after);
	}
}

/*
 * Nothing outside the repository changed, HOME neither; the refs that
 * existed still exist (branches at the same commit, an experiment ref at the
 * same commit or one that descends from it), and so do the cache objects,
 * byte for byte.
 */
static void guard_check(void)
{
	char *o = outside_now();
	if (strcmp(o, g_outside))
		fail_msg("something outside the repository changed (%s):\n%s", test_dir, tree_diff(g_outside, o));
	char *h = tree(ct_home_dir, NULL, 0);
	if (strcmp(h, g_home))
		fail_msg("something in HOME changed:\n%s", tree_diff(g_home, h));
	char *now = fmt("\n%s\n", refs_now());
	char *copy = fmt("%s", g_refs);
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char sha[41], ref[1024], nsha[41];
		if (sscanf(l, "%40s %1023s", sha, ref) != 2)
			continue;
		if (!strncmp(ref, "refs/exps/exec/", 15))
			continue; /* the runner's own pointers move */
		const char *at = strstr(now, fmt(" %s\n", ref));
		if (!at)
			fail_msg("ref %s (was %s) is gone\nnow:%s", ref, sha, now);
		while (at > now && at[-1] != '\n')
			at--;
		assert_int_equal(sscanf(at, "%40s", nsha), 1);
		if (!strcmp(nsha, sha))
			continue;
		int st;
		sh_status(&st, "git merge-base --is-ancestor %s %s 2>/dev/null", sha, nsha);
		if (strncmp(ref, "refs/exps/", 10) || st != 0)
			fail_msg("ref %s moved from %s to %s (not a descendant)", ref, sha, nsha);
	}
	lines_kept(g_cache, cache_now(), "cache object");
}

/* ---- repositories --------------------------------------------------------------- */

#define PARAMS_3 "epochs: 3\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 0\n"

static void git_repo(void)
{
	git_init_repo(1);
	expect_ok(LIVE("init", "-q"));
}

/* The tiny trainer's repository, as the tutorial sets it up; `keys`: the tracked params. */
static char *std_repo_with(const char *params, const char *keys)
{
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", params);
	expect_ok(LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "--plots-no-cache",
		       "predictions.json", "-p", keys ? keys : "epochs,lr,model_bytes", "--live", "dvclive", "./train"));
	commit_all("baseline");
	return sh("git rev-parse HEAD");
}

static char *std_repo(void)
{
	return std_repo_with(PARAMS_3, NULL);
}

/* The checkpoint sha7s a run printed, in order. */
static int checkpoints(const char *out, char sha7[][8], int max)
{
	int n = 0;
	const char *key = "Checkpoint experiment iteration '";
	for (const char *p = strstr(out, key); p && n < max; p = strstr(p + 1, key)) {
		p += strlen(key);
		snprintf(sha7[n++], 8, "%.7s", p);
	}
	return n;
}

/* The experiment a run reproduced ("Reproduced experiment(s): NAME"). */
static char *exp_name(const char *out)
{
	const char *p = strstr(out, "Reproduced experiment(s): ");
	if (!p)
		fail_msg("no experiment name in:\n%s", out);
	p += strlen("Reproduced experiment(s): ");
	return fmt("%.*s", (int)strcspn(p, "\n"), p);
}

/* `live exp run` that must work; its stdout. */
static char *run_ok(void)
{
	result r = LIVE("exp", "run");
	expect_ok(r);
	return r.out;
}

static char *md5_of(const char *path)
{
	return sh("md5sum < '%s' | cut -c1-32", path);
}

/* What a refused command must leave alone, inside the repository. */
typedef struct snapshot {
	char *refs, *lock, *model, *loss, *summary, *params, *dvcyaml, *status, *apply;
} snapshot;

static snapshot take_snapshot(void)
{
	int st;
	snapshot s = { refs_now(),
		       slurp("dvc.lock", NULL),
		       slurp("model.pt", NULL),
		       slurp("dvclive/loss.tsv", NULL),
		       slurp("dvclive.json", NULL),
		       slurp("params.yaml", NULL),
		       slurp("dvc.yaml", NULL),
		       sh("git status --porcelain --ignored"),
		       sh_status(&st, "git rev-parse -q --verify refs/exps/exec/EXEC_APPLY") };
	return s;
}

#define SAME(what, a, b)                                                                            \
	do {                                                                                        \
		const char *a_ = (a) ? (a) : "<missing>", *b_ = (b) ? (b) : "<missing>";            \
		if (strcmp(a_, b_))                                                                 \
			fail_msg("%s changed:\n--- before\n%.1500s\n--- after\n%.1500s", what, a_, b_); \
	} while (0)

static void assert_unchanged(const snapshot *a, const snapshot *b)
{
	SAME("refs", a->refs, b->refs);
	SAME("dvc.lock", a->lock, b->lock);
	SAME("model.pt", a->model, b->model);
	SAME("dvclive/loss.tsv", a->loss, b->loss);
	SAME("dvclive.json", a->summary, b->summary);
	SAME("params.yaml", a->params, b->params);
	SAME("dvc.yaml", a->dvcyaml, b->dvcyaml);
	SAME("git status", a->status, b->status);
	SAME("EXEC_APPLY", a->apply, b->apply);
}

/* A run of the tiny trainer, then `bad` written as `file`; returns the picture before the hostile run. */
static snapshot after_good_run_write(const char *file, const void *bad, size_t len)
{
	std_repo();
	run_ok();
	write_bytes(file, bad, len);
	guard_begin();
	return take_snapshot();
}

/* ---- the hostile trainer: this program, run as `test_hostile --hostile-trainer` --------- */

static const char *const odd_names[] = {
	"--help", "-rf", "--output=x", "a b", "q\"uote", "x,y", "\xe6\x8d\x9f\xe5\xa4\xb1", "deep/er/name",
};
#define N_ODD (sizeof(odd_names) / sizeof(*odd_names))

/*
 * Logs hostile metric names through liblive's default run (as a dvclive
 * trainer would), at each of 3 steps: every one must be refused with
 * LIVE_EINVALID and a message naming the metric; the odd but valid names
 * (option-like, spaces, quotes, CJK) must be accepted. Exit 0 when all of
 * that held, 3 when a hostile name was accepted or a valid one refused.
 */
static int hostile_trainer(void)
{
	static char long_part[300], long_name[1100];
	memset(long_part, 'x', 260);
	for (int i = 0; i < 1030; i++)
		long_name[i] = i % 100 == 99 ? '/' : 'y';
	const char *const bad[] = {
		"", "../../escape", "/tmp/escape", "a/../../escape", "..", ".", "a//b", "a/", "tab\tx", "nl\nx",
		"cr\rx", "esc\x1b[31m", "bad\xff", "over\xc0\xaf", "surrogate\xed\xa0\x80", "win\\escape", "step",
		"divergence", long_part, long_name,
	};
	int fails = 0;
	for (int step = 0; step < 3; step++) {
		FILE *f = fopen("model.pt.tmp", "wb");
		if (!f || fprintf(f, "step=%d hostile\n", step) < 0 || fclose(f) != 0 ||
		    rename("model.pt.tmp", "model.pt") != 0) {
			perror("model.pt");
			return 1;
		}
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			int rc = live_log(bad[i], 1.0);
			if (rc != LIVE_EINVALID || !strstr(live_errmsg(), "metric name")) {
				fprintf(stderr, "trainer: hostile name %zu accepted or badly refused (%d: %s)\n", i, rc,
					live_errmsg());
				fails++;
			}
		}
		if (live_log("loss", 1.0 / (step + 1)) != 0)
			fails++;
		for (size_t i = 0; i < N_ODD; i++)
			if (live_log(odd_names[i], (double)step) != 0) {
				fprintf(stderr, "trainer: valid name %zu refused: %s\n", i, live_errmsg());
				fails++;
			}
		if (live_next_step() != 0) {
			fprintf(stderr, "trainer: %s\n", live_errmsg());
			return 1;
		}
	}
	int rc = live_close();
	if (rc)
		fprintf(stderr, "trainer: close: %s\n", live_errmsg());
	return fails ? 3 : rc ? 1 : 0;
}

/* The files the hostile trainer leaves: only the valid metrics, nothing named "escape" anywhere. */
static void assert_hostile_trainer_output(void)
{
	assert_true(tu_exists("dvclive/loss.tsv"));
	for (size_t i = 0; i < N_ODD; i++) {
		char *p = fmt("dvclive/%s.tsv", odd_names[i]);
		if (!tu_exists(p))
			fail_msg("%s is missing", p);
	}
	assert_false(name_exists_below(test_dir, "escape"));
	assert_false(tu_exists("x"));
	assert_false(tu_exists("dvclive/yyyyyyyyyyyyyyyyyyyy"));
}

static void hostile_trainer_repo(void)
{
	git_repo();
	expect_ok(LIVE("stage", "add", "-n", "train", "-c", "model.pt", "--live", "dvclive", self_exe,
		       "--hostile-trainer"));
	commit_all("baseline");
}

/* ==== metric names ================================================================ */

static void metric_names_rejected_under_exp_run(void **state)
{
	(void)state;
	hostile_trainer_repo();
	guard_begin();
	result r = LIVE("exp", "run");
	expect_ok(r);
	assert_not_contains(r.err, "trainer:");
	char sha7[8][8];
	assert_int_equal(checkpoints(r.out, sha7, 8), 3);
	assert_hostile_trainer_output();
	guard_check();
}

static void metric_names_rejected_in_default_run(void **state)
{
	(void)state;
	guard_begin();
	char *argv[] = { self_exe, "--hostile-trainer", NULL };
	result r = run_ex(NULL, argv);
	expect_ok(r);
	assert_true(tu_exists("dvclive.json"));
	assert_hostile_trainer_output();
	guard_check();
}

/* Names that look like options, with spaces, quotes, CJK: shown, never parsed as flags. */
static void option_like_metric_names_are_shown(void **state)
{
	(void)state;
	hostile_trainer_repo();
	char *name = exp_name(run_ok());
	guard_begin();
	result show = LIVE("exp", "show", "--no-pager");
	expect_ok(show);
	result csv = LIVE("exp", "show", "--csv");
	expect_ok(csv);
	result ms = LIVE("metrics", "show");
	expect_ok(ms);
	result md = LIVE("metrics", "diff", "main", name);
	expect_ok(md);
	const char *must[] = { "--help", "-rf", "--output=x", "a b", "\xe6\x8d\x9f\xe5\xa4\xb1" };
	for (size_t i = 0; i < sizeof(must) / sizeof(*must); i++) {
		assert_contains(csv.out, must[i]);
		assert_contains(ms.out, must[i]);
		assert_contains(md.out, must[i]);
	}
	assert_contains(show.out, "--help");
	assert_false(tu_exists("x"));
	guard_check();
}

/* ==== params values ================================================================ */

static void params_huge_numbers(void **state)
{
	(void)state;
	char *params = fmt(PARAMS_3 "big: 1e400\nneg: -1e400\ntiny: 1e-400\n"
				    "huge_int: 123456789012345678901234567890\nneg_int: -99999999999999999999999\n");
	std_repo_with(params, "epochs,lr,model_bytes,big,neg,tiny,huge_int,neg_int");
	guard_begin();
	run_ok();
	char *lock = must_read("dvc.lock");
	assert_contains(lock, "big: .inf");
	assert_contains(lock, "neg: -.inf");
	/* DVC (ruamel) keeps an integer's digits, however many. */
	assert_contains(lock, "huge_int: 123456789012345678901234567890\n");
	expect_ok(LIVE("exp", "show", "--no-pager"));
	expect_ok(LIVE("params", "diff", "--all"));
	tu_write_file("params.yaml", PARAMS_3 "big: 1e-400\nneg: 1e400\ntiny: 1e400\nhuge_int: 1\nneg_int: 1e308\n");
	result r = LIVE("params", "diff");
	expect_ok(r);
	assert_contains(r.out, "huge_int");
	guard_check();
}

static void params_nan_and_inf(void **state)
{
	(void)state;
	std_repo_with(PARAMS_3 "nan_a: .nan\nnan_b: .NaN\ninf_a: .inf\ninf_b: -.Inf\n",
		      "epochs,lr,model_bytes,nan_a,nan_b,inf_a,inf_b");
	guard_begin();
	run_ok();
	char *lock = must_read("dvc.lock");
	assert_contains(lock, "nan_a: .nan");
	assert_contains(lock, "inf_b: -.inf");
	result r = LIVE("exp", "show", "--csv");
	expect_ok(r);
	assert_contains(r.out, "nan");
	assert_contains(r.out, "-inf");
	tu_write_file("params.yaml", PARAMS_3 "nan_a: .nan\nnan_b: 1\ninf_a: .nan\ninf_b: -.Inf\n");
	expect_ok(LIVE("params", "diff"));
	expect_ok(LIVE("params", "diff", "--json"));
	guard_check();
}

static void params_deep_nesting(void **state)
{
	(void)state;
	/* 100,000 flow levels, then 2,000 block levels (each deeper key indented 2 more). */
	size_t n = 100000;
	char *flow = keep(malloc(2 * n + 64));
	int k = sprintf(flow, "%sx: ", PARAMS_3);
	memset(flow + k, '[', n);
	memset(flow + k + n, ']', n);
	strcpy(flow + k + 2 * n, "\n");
	snapshot a = after_good_run_write("params.yaml", flow, strlen(flow));
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml:5:");
	assert_not_contains(r.out, "Running stage");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	ok_or_error(LIVE("params", "diff"), "params.yaml");
	ok_or_error(LIVE("exp", "show", "--no-pager"), "params.yaml");
	guard_check();

	sbuf s = { 0 };
	sb_add(&s, "%sx:\n", PARAMS_3);
	for (int i = 0; i < 2000; i++)
		sb_add(&s, "%*sk%d:\n", 2 * i + 2, "", i);
	sb_add(&s, "%*sv: 1\n", 4002, "");
	tu_write_file("params.yaml", sb_done(&s));
	a = take_snapshot();
	r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml:");
	b = take_snapshot();
	assert_unchanged(&a, &b);
	ok_or_error(LIVE("params", "diff"), "params.yaml");
	guard_check();
}

/* a0: ten scalars; a<i>: ten aliases of a<i-1>: a9 stands for 10^10 scalars. */
static char *alias_bomb(const char *indent, const char *last_key)
{
	sbuf s = { 0 };
	sb_add(&s, "%sa0: &a0 [x, x, x, x, x, x, x, x, x, x]\n", indent);
	for (int i = 1; i < 10; i++) {
		sb_add(&s, "%sa%d: &a%d [", indent, i, i);
		for (int j = 0; j < 10; j++)
			sb_add(&s, "%s*a%d", j ? ", " : "", i - 1);
		sb_add(&s, "]\n");
	}
	if (last_key)
		sb_add(&s, "%s%s: *a9\n", indent, last_key);
	return sb_done(&s);
}

/* Aliases nobody asked about: the run works; show and diff stay bounded. */
static void params_alias_bomb_untracked(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	tu_write_file("params.yaml", fmt("%s%s", PARAMS_3, alias_bomb("", NULL)));
	guard_begin();
	run_opts o = { .timeout_ms = BOMB_TIMEOUT_MS };
	expect_ok(LIVE_O(&o, "exp", "run"));
	ok_or_error(LIVE_O(&o, "params", "diff", "--all"), "params.yaml");
	ok_or_error(LIVE_O(&o, "exp", "show", "--no-pager"), "params.yaml");
	guard_check();
}

/* A tracked key that expands to 10^10 values: a bounded, one-line refusal. */
static void params_alias_bomb_tracked(void **state)
{
	(void)state;
	std_repo_with(fmt("%s%s", PARAMS_3, alias_bomb("", "bomb")), "epochs,lr,model_bytes,bomb");
	/* No run came before, so the (ignored) lock file every exp run leaves is not yet there. */
	tu_write_file(".dvc/tmp/live-exp-run.lock", "");
	guard_begin();
	snapshot a = take_snapshot();
	run_opts o = { .timeout_ms = BOMB_TIMEOUT_MS };
	result r = LIVE_O(&o, "exp", "run");
	EXPECT_ERROR(r, "params.yaml: key 'bomb' expands to more than 1000000 values (YAML aliases)");
	assert_not_contains(r.out, "Running stage");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	guard_check();
}

static void params_not_utf8(void **state)
{
	(void)state;
	const char bad[] = PARAMS_3 "name: \"\xff\xfe\"\n";
	snapshot a = after_good_run_write("params.yaml", bad, sizeof(bad) - 1);
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	ok_or_error(LIVE("params", "diff"), "params.yaml");
	guard_check();
}

static void params_tabs(void **state)
{
	(void)state;
	const char bad[] = "epochs: 3\n\tlr: 0.001\nmodel_bytes: 1000\n";
	snapshot a = after_good_run_write("params.yaml", bad, sizeof(bad) - 1);
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml:2:");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	/* A tab after the colon is only white space. */
	tu_write_file("params.yaml", "epochs: 3\nlr:\t0.002\nmodel_bytes:\t1000\n");
	r = LIVE("exp", "run");
	expect_ok(r);
	assert_contains(must_read("dvc.lock"), "lr: 0.002\n");
	guard_check();
}

static void params_ten_megabytes(void **state)
{
	(void)state;
	std_repo();
	sbuf s = { 0 };
	sb_add(&s, "epochs: 1\nlr: 0.001\nmodel_bytes: 1000\nbig:\n");
	for (int i = 0; i < 270000; i++)
		sb_add(&s, "- item_%08d_abcdefghijklmnopqrstuvwxyz\n", i);
	assert_true(s.n > 10u << 20);
	tu_write_file("params.yaml", sb_done(&s));
	guard_begin();
	result r = LIVE("exp", "run");
	expect_ok(r);
	char *lock = must_read("dvc.lock");
	assert_not_contains(lock, "item_");
	assert_contains(lock, "epochs: 1\n");
	expect_ok(LIVE("exp", "show", "--no-pager"));
	guard_check();
}

static void params_duplicate_keys(void **state)
{
	(void)state;
	const char bad[] = "epochs: 3\nlr: 0.001\nlr: 0.002\nmodel_bytes: 1000\n";
	snapshot a = after_good_run_write("params.yaml", bad, sizeof(bad) - 1);
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml:3:", "lr");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	ok_or_error(LIVE("params", "diff"), "params.yaml");
	guard_check();
}

static void params_binary_garbage(void **state)
{
	(void)state;
	unsigned char junk[4096];
	garbage(junk, sizeof(junk), 1);
	snapshot a = after_good_run_write("params.yaml", junk, sizeof(junk));
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	ok_or_error(LIVE("params", "diff"), "params.yaml");
	ok_or_error(LIVE("exp", "show", "--no-pager"), "params.yaml");
	/* NULs and a UTF-8 BOM in the middle */
	const char nul[] = "epochs: 3\nlr: 0\0.1\nmodel_bytes: \xef\xbb\xbf" "1000\n";
	write_bytes("params.yaml", nul, sizeof(nul) - 1);
	a = take_snapshot();
	r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml");
	b = take_snapshot();
	assert_unchanged(&a, &b);
	guard_check();
}

static void params_wrong_types(void **state)
{
	(void)state;
	const char list[] = "- epochs\n- lr\n";
	snapshot a = after_good_run_write("params.yaml", list, sizeof(list) - 1);
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, "params.yaml:1:");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	tu_write_file("params.yaml", "just a string\n");
	a = take_snapshot();
	EXPECT_ERROR(LIVE("exp", "run"), "params.yaml");
	b = take_snapshot();
	assert_unchanged(&a, &b);
	/* Tracked values of other types are recorded as they are; the trainer falls back. */
	tu_write_file("params.yaml", "epochs: [1, 2]\nlr: {a: 1}\nmodel_bytes: null\n");
	r = LIVE("exp", "run");
	expect_ok(r);
	char *lock = must_read("dvc.lock");
	assert_contains(lock, "epochs:\n");
	guard_check();
}

/* ==== malformed dvc.yaml and dvc.lock ================================================ */

static void check_refused_pipeline(const char *file, const void *bad, size_t len, const char *where)
{
	write_bytes(file, bad, len);
	snapshot a = take_snapshot();
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, where);
	assert_not_contains(r.out, "Running stage");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	if (!strcmp(file, "dvc.yaml")) {
		r = LIVE("stage", "add", "-n", "other", "./other");
		EXPECT_ERROR(r, where);
		b = take_snapshot();
		assert_unchanged(&a, &b);
	}
	ok_or_error(LIVE("exp", "show", "--no-pager"), file);
}

static char *deep_flow(const char *prefix, size_t n)
{
	char *s = keep(malloc(strlen(prefix) + 2 * n + 2));
	size_t k = strlen(prefix);
	memcpy(s, prefix, k);
	memset(s + k, '[', n);
	memset(s + k + n, ']', n);
	strcpy(s + k + 2 * n, "\n");
	return s;
}

static void malformed_dvc_yaml_syntax(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	unsigned char junk[3000];
	garbage(junk, sizeof(junk), 2);
	check_refused_pipeline("dvc.yaml", junk, sizeof(junk), "dvc.yaml");
	char *deep = deep_flow("stages: ", 100000);
	check_refused_pipeline("dvc.yaml", deep, strlen(deep), "dvc.yaml:1:");
	const char dup[] = "stages:\n  train:\n    cmd: a\n  train:\n    cmd: b\n";
	check_refused_pipeline("dvc.yaml", dup, sizeof(dup) - 1, "dvc.yaml:4:");
	char *bomb = fmt("%sstages: *a9\n", alias_bomb("", NULL));
	check_refused_pipeline("dvc.yaml", bomb, strlen(bomb), "dvc.yaml:");
	const char nul[] = "stages:\n  train:\n    cmd: ./tr\0ain\n";
	check_refused_pipeline("dvc.yaml", nul, sizeof(nul) - 1, "dvc.yaml");
	guard_check();
}

static void malformed_dvc_yaml_types(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	static const struct {
		const char *text, *where;
	} cases[] = {
		{ "stages:\n- train\n", "dvc.yaml:2:" },
		{ "stages:\n  train:\n    cmd: []\n", "dvc.yaml:3:" },
		{ "stages:\n  train:\n    cmd: ./train\n    deps: {a: b}\n", "dvc.yaml:4:" },
		{ "stages:\n  train:\n    cmd: ./train\n    outs: 5\n", "dvc.yaml:4:" },
		{ "stages:\n  train:\n    cmd: ./train\n    wdir: [a]\n", "dvc.yaml:4:" },
		{ "stages:\n  train:\n    cmd: ./train\n    live: [a, b]\n", "dvc.yaml:4:" },
		{ "stages:\n  train:\n    cmd: ./train\n    outs:\n    - model.pt:\n        checkpoint: maybe\n",
		  "dvc.yaml:6:" },
		{ "stages: 7\n", "dvc.yaml:1:" },
		{ "- 1\n", "dvc.yaml:1:" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_refused_pipeline("dvc.yaml", cases[i].text, strlen(cases[i].text), cases[i].where);
	guard_check();
}

static void malformed_dvc_lock(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	unsigned char junk[3000];
	garbage(junk, sizeof(junk), 3);
	check_refused_pipeline("dvc.lock", junk, sizeof(junk), "dvc.lock");
	char *deep = deep_flow("schema: '2.0'\nstages: ", 100000);
	check_refused_pipeline("dvc.lock", deep, strlen(deep), "dvc.lock:2:");
	const char dup[] = "schema: '2.0'\nstages:\n  train:\n    cmd: a\n  train:\n    cmd: b\n";
	check_refused_pipeline("dvc.lock", dup, sizeof(dup) - 1, "dvc.lock:5:");
	const char list[] = "schema: '2.0'\nstages:\n- train\n";
	check_refused_pipeline("dvc.lock", list, sizeof(list) - 1, "dvc.lock:3:");
	const char size[] = "schema: '2.0'\nstages:\n  train:\n    cmd: ./train\n    outs:\n    - path: model.pt\n"
			    "      md5: d41d8cd98f00b204e9800998ecf8427e\n      size: -5\n";
	check_refused_pipeline("dvc.lock", size, sizeof(size) - 1, "dvc.lock:8:");
	guard_check();
}

/* md5s and paths that point elsewhere: never followed out of .dvc/cache or the repository. */
static void dvc_lock_hostile_values(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	char *lock = must_read("dvc.lock");
	char *md5 = lock_md5(lock, "model.pt");
	guard_begin();
	const char *bads[] = {
		"      md5: ../../../../outside/victim\n",
		"      md5: ../../outside/victimxxxxxxxxxxxxxxxx\n",
	};
	for (size_t i = 0; i < sizeof(bads) / sizeof(*bads); i++) {
		char *at = strstr(lock, fmt("      md5: %s\n", md5));
		assert_non_null(at);
		char *bad = fmt("%.*s%s%s", (int)(at - lock), lock, bads[i], at + strlen(md5) + 12);
		tu_write_file("dvc.lock", bad);
		sh("rm -f model.pt");
		ok_or_error(LIVE("exp", "run"), "dvc.lock");
		ok_or_error(LIVE("exp", "show", "--no-pager"), "dvc.lock");
		tu_write_file("dvc.lock", lock);
	}
	/* An out recorded outside the repository, with a real object. */
	char *at = strstr(lock, "- path: model.pt\n");
	char *bad = fmt("%.*s- path: ../outside/victim\n%s", (int)(at - lock), lock, at + strlen("- path: model.pt\n"));
	tu_write_file("dvc.lock", bad);
	ok_or_error(LIVE("exp", "run"), "dvc.lock");
	guard_check();
}

static void dvc_lock_alias_bomb(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	char *lock = must_read("dvc.lock");
	char *at = strstr(lock, "        epochs: 3\n");
	assert_non_null(at);
	at += strlen("        epochs: 3\n");
	char *bad = fmt("%.*s%s%s", (int)(at - lock), lock, alias_bomb("        ", "zz"), at);
	tu_write_file("dvc.lock", bad);
	guard_begin();
	snapshot a = take_snapshot();
	run_opts o = { .timeout_ms = BOMB_TIMEOUT_MS };
	result r = LIVE_O(&o, "exp", "run");
	ok_or_error(r, "dvc.lock");
	if (r.rc != 0) {
		snapshot b = take_snapshot();
		assert_unchanged(&a, &b);
	}
	ok_or_error(LIVE_O(&o, "exp", "show", "--no-pager"), "dvc.lock");
	guard_check();
}

/* ==== paths that escape the repository ================================================ */

static void stage_add_refuses_paths_outside_the_repo(void **state)
{
	(void)state;
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	guard_begin();
	char *abs_out = fmt("%s/x", outside_dir);
	const char *const cases[][3] = {
		{ "-o", "../x", "../x" },
		{ "-o", abs_out, abs_out },
		{ "-c", "sub/../../outside/victim", "sub/../../outside/victim" },
		{ "-o", "./../x", "./../x" },
		{ "--live", "../outside/dvclive", "../outside/dvclive" },
		{ "--plots", "../p.json", "../p.json" },
		{ "--plots-no-cache", "../outside/victim", "../outside/victim" },
		{ "-m", abs_out, abs_out },
		{ "-w", "..", ".." },
		{ "-w", outside_dir, outside_dir },
		{ "-o", "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		result r = LIVE("stage", "add", "-n", "train", cases[i][0], cases[i][1], "./train");
		EXPECT_ERROR(r, cases[i][2]);
		assert_false(tu_exists("dvc.yaml"));
	}
	/* Nor may an existing dvc.yaml be rewritten to hold one. */
	expect_ok(LIVE("stage", "add", "-n", "train", "-c", "model.pt", "./train"));
	char *before = must_read("dvc.yaml");
	EXPECT_ERROR(LIVE("stage", "add", "-n", "other", "-o", "../y", "./other"), "../y");
	assert_string_equal(must_read("dvc.yaml"), before);
	/* A stage name dvc.yaml's reader would refuse is refused here first, the file unchanged. */
	const char *const names[] = { "a.b", "a/b", "a:b", "a@b" }; /* a space is allowed, as in DVC */
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		EXPECT_ERROR(LIVE("stage", "add", "-n", names[i], "./other"),
			     fmt("invalid stage name '%s' (no punctuation other than '-' and '_'", names[i]));
		assert_string_equal(must_read("dvc.yaml"), before);
	}
	/* a control character is refused and shown escaped, the error one printable line */
	EXPECT_ERROR(LIVE("stage", "add", "-n", "a\tb\x1b[31m", "./other"), "invalid stage name 'a\\x09b\\x1b[31m'");
	assert_string_equal(must_read("dvc.yaml"), before);
	guard_check();
}

/* DVC allows deps outside the repository (and links to them): read, never written. */
static void external_deps_are_only_read(void **state)
{
	(void)state;
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_3);
	assert_int_equal(symlink("../outside/sub/deep.txt", "link"), 0);
	expect_ok(LIVE("stage", "add", "-n", "train", "-d", "train", "-d", "../outside/victim", "-d", "link", "-c",
		       "model.pt", "--live", "dvclive", "./train"));
	commit_all("baseline");
	guard_begin();
	run_ok();
	char *lock = must_read("dvc.lock");
	assert_string_equal(lock_md5(lock, "../outside/victim"), md5_of("../outside/victim"));
	assert_string_equal(lock_md5(lock, "link"), md5_of("../outside/sub/deep.txt"));
	guard_check();
}

/* A pipeline written by hand, committed; `live exp run` (args) must refuse it before running anything. */
static void refuse_pipeline(const char *dvc_yaml, const char *extra_arg, const char *path)
{
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_3);
	tu_write_file("dvc.yaml", dvc_yaml);
	commit_all("baseline");
	guard_begin();
	result r = extra_arg ? LIVE("exp", "run", extra_arg) : LIVE("exp", "run");
	EXPECT_ERROR(r, "dvc.yaml", path);
	assert_not_contains(r.out, "Running stage");
	assert_false(tu_exists("dvc.lock"));
	assert_false(tu_exists("model.pt"));
	guard_check();
}

static void exp_run_refuses_checkpoint_out_outside(void **state)
{
	(void)state;
	refuse_pipeline("stages:\n  train:\n    cmd: ./train\n    outs:\n    - ../outside/victim:\n"
			"        checkpoint: true\n",
			"--reset", "../outside/victim");
}

static void exp_run_refuses_live_dir_outside(void **state)
{
	(void)state;
	refuse_pipeline("stages:\n  train:\n    cmd: ./train\n    outs:\n    - model.pt:\n        checkpoint: true\n"
			"    live:\n      ../outside/dvclive:\n        summary: true\n        html: true\n",
			NULL, "../outside/dvclive");
}

static void exp_run_refuses_plots_outside(void **state)
{
	(void)state;
	refuse_pipeline("stages:\n  train:\n    cmd: ./train\n    outs:\n    - model.pt:\n        checkpoint: true\n"
			"    plots:\n    - sub/../../outside/victim:\n        cache: false\n",
			NULL, "sub/../../outside/victim");
}

static void exp_run_refuses_absolute_out(void **state)
{
	(void)state;
	char *y = fmt("stages:\n  train:\n    cmd: ./train\n    outs:\n    - %s/model.pt:\n        checkpoint: true\n",
		      outside_dir);
	refuse_pipeline(y, NULL, fmt("%s/model.pt", outside_dir));
}

static void exp_run_refuses_wdir_outside(void **state)
{
	(void)state;
	refuse_pipeline("stages:\n  train:\n    cmd: ./repo/train\n    wdir: ..\n    outs:\n    - model.pt:\n"
			"        checkpoint: true\n",
			NULL, "..");
}

/* Only a folder inside the repository is a checkout's business: not what a link in its place points to. */
static void exp_apply_does_not_follow_live_dir_link(void **state)
{
	(void)state;
	std_repo();
	char sha7[8][8];
	assert_int_equal(checkpoints(run_ok(), sha7, 8), 3);
	sh("mkdir ../outside/dl && cp dvclive/* ../outside/dl/ && echo precious > ../outside/dl/precious.txt");
	sh("rm -rf dvclive && ln -s ../outside/dl dvclive");
	guard_begin();
	result r = LIVE("exp", "apply", sha7[0]);
	guard_check(); /* first: outside/dl (precious.txt) untouched */
	ok_or_error(r, "dvclive");
	if (r.rc == 0) {
		struct stat st;
		assert_int_equal(lstat("dvclive", &st), 0);
		assert_true(S_ISDIR(st.st_mode)); /* the link was replaced, not written through */
	}
}

/* A link where a cached file goes is replaced; its target is never written. */
static void out_file_link_is_replaced_not_followed(void **state)
{
	(void)state;
	std_repo();
	char sha7[8][8];
	assert_int_equal(checkpoints(run_ok(), sha7, 8), 3);
	sh("rm model.pt && ln -s ../outside/victim model.pt");
	guard_begin();
	expect_ok(LIVE("exp", "apply", sha7[0]));
	struct stat st;
	assert_int_equal(lstat("model.pt", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* and the run that continues from it */
	sh("rm model.pt && ln -s ../outside/victim model.pt");
	result r = LIVE("exp", "run", "-S", "epochs=4");
	expect_ok(r);
	guard_check();
}

/*
 * exp run removes a checkpoint out dvc.lock does not record (and every one
 * with --reset) before training: never through a link among the folders
 * leading to it (refused, nothing removed); a link at the out itself is
 * removed, its target untouched.
 */
static void out_removal_does_not_follow_links(void **state)
{
	(void)state;
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_3);
	expect_ok(LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "sub/model.pt", "--live", "dvclive",
		       "./train"));
	commit_all("baseline");
	sh("mkdir ../outside/x && echo precious > ../outside/x/model.pt && ln -s ../outside/x sub");
	guard_begin();
	/* refused before anything runs or is removed (cmd_exp_run.c check_out_folders; the
	 * removal itself refuses too, should a link appear after that check) */
	EXPECT_ERROR(LIVE("exp", "run"),
		     "sub/model.pt: sub is a symbolic link; not writing through it (make it a folder)");
	guard_check();
	EXPECT_ERROR_LINE(LIVE("exp", "run", "--reset"), 1,
			  "sub/model.pt: sub is a symbolic link; not writing through it (make it a folder)");
	guard_check();
	assert_string_equal(must_read("../outside/x/model.pt"), "precious\n");
	struct stat st;
	assert_int_equal(lstat("sub", &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* the user's layout, left as it is */

	/* a link at the out itself (sub a folder now): removed as a link, its target untouched */
	sh("rm sub && mkdir sub && ln -s ../../outside/x/model.pt sub/model.pt");
	guard_begin();
	expect_ok(LIVE("exp", "run", "--reset")); /* the tiny trainer writes ./model.pt, not sub/ */
	guard_check();
	assert_string_equal(must_read("../outside/x/model.pt"), "precious\n");
	assert_int_equal(lstat("sub/model.pt", &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* After a run, the folder of the live outs becomes a link out: the resume writes nothing through it. */
static void resume_does_not_write_through_a_linked_out_folder(void **state)
{
	(void)state;
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_3);
	expect_ok(LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "--live", "logs/dvclive",
		       "./train"));
	commit_all("baseline");
	run_ok();
	sh("mv logs ../outside/logs && ln -s ../outside/logs logs");
	char *before = must_read("../outside/logs/dvclive.json");
	guard_begin();
	EXPECT_ERROR(LIVE("exp", "run"),
		     "logs/dvclive: logs is a symbolic link; not writing through it (make it a folder)");
	guard_check();
	assert_string_equal(must_read("../outside/logs/dvclive.json"), before);
}

static void gitignore_link_is_not_written_through(void **state)
{
	(void)state;
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_3);
	tu_write_file("../outside/gi", "/elsewhere\n");
	guard_begin();
	expect_ok(LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "--live", "dvclive",
		       "./train"));
	commit_all("baseline");
	assert_int_equal(symlink("../outside/gi", ".gitignore"), 0);
	run_ok();
	assert_contains(must_read("../outside/gi"), "/elsewhere\n");
	guard_check();
}

/* ==== revisions that look like options ============================================== */

static const char *const option_likes[] = { "--help", "-rf", "--output=x", "-", "--force=../x" };
#define N_OPTS (sizeof(option_likes) / sizeof(*option_likes))

/* Never taken as a revision to act on: usage (rc 0 for --help), or an error naming it; no file made. */
static void not_acted_on(result r, const char *arg)
{
	if (r.rc == 0) {
		if (strcmp(arg, "--help"))
			fail_msg("%s: exit 0 for '%s'\n%s%s", r.cmd, arg, r.out, r.err);
		assert_contains(r.out, "usage");
		return;
	}
	if (r.rc != 1 && r.rc != 2)
		fail_msg("%s: exit %d\n%s%s", r.cmd, r.rc, r.out, r.err);
	int found = 0;
	for (const char *p = r.err; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "ERROR: ", 7)) {
			size_t len = strcspn(p, "\n");
			found |= !!strstr(fmt("%.*s", (int)len, p), arg) || !!strstr(fmt("%.*s", (int)len, p), "usage");
		}
	if (!found)
		fail_msg("%s: no ERROR line naming '%s' (or giving the usage):\n%s", r.cmd, arg, r.err);
	assert_false(tu_exists("x"));
	assert_false(tu_exists("--output=x"));
}

static void option_like_revisions_apply_branch_remove(void **state)
{
	(void)state;
	std_repo();
	char *name = exp_name(run_ok());
	guard_begin();
	snapshot a = take_snapshot();
	char *heads = sh("git for-each-ref refs/heads");
	for (size_t i = 0; i < N_OPTS; i++) {
		const char *x = option_likes[i];
		not_acted_on(LIVE("exp", "apply", x), x);
		not_acted_on(LIVE("exp", "branch", x, "b"), x);
		not_acted_on(LIVE("exp", "branch", name, x), x);
		not_acted_on(LIVE("exp", "remove", x), x);
		not_acted_on(LIVE("exp", "list", "--rev", x), x);
		snapshot b = take_snapshot();
		assert_unchanged(&a, &b);
		assert_string_equal(sh("git for-each-ref refs/heads"), heads);
	}
	guard_check();
}

static void option_like_revisions_show_and_diff(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	snapshot a = take_snapshot();
	for (size_t i = 0; i < N_OPTS; i++) {
		const char *x = option_likes[i];
		not_acted_on(LIVE("exp", "show", x), x);
		not_acted_on(LIVE("metrics", "show", x), x);
		not_acted_on(LIVE("metrics", "diff", x), x);
		not_acted_on(LIVE("metrics", "diff", "HEAD", x), x);
		not_acted_on(LIVE("params", "diff", x), x);
		not_acted_on(LIVE("params", "diff", "HEAD", x), x);
		snapshot b = take_snapshot();
		assert_unchanged(&a, &b);
	}
	guard_check();
}

/* An experiment named like an option could never be named again on the command line. */
static void experiment_name_like_an_option_is_refused(void **state)
{
	(void)state;
	std_repo();
	guard_begin();
	const char *names[] = { "--help", "-rf" };
	for (size_t i = 0; i < 2; i++) {
		result r = LIVE("exp", "run", "--reset", "-n", names[i]);
		EXPECT_ERROR(r, names[i]);
		assert_string_equal(sh("git for-each-ref refs/exps"), "");
	}
	guard_check();
}

/* ==== huge files ====================================================================== */

#define GIB (1LL << 30)

static void sparse_gigabyte_dep(void **state)
{
	(void)state;
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_3);
	tu_write_file(".gitignore", "/big.bin\n");
	int fd = open("big.bin", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, GIB), 0);
	/* old enough for the stat cache to remember it */
	struct timespec ts[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
	expect_ok(LIVE("stage", "add", "-n", "train", "-d", "train", "-d", "big.bin", "-c", "model.pt", "--live",
		       "dvclive", "./train"));
	commit_all("baseline");
	guard_begin();
	run_opts o = { .timeout_ms = 60000 };
	result r = LIVE_O(&o, "exp", "run");
	expect_ok(r);
	char *lock = must_read("dvc.lock");
	assert_string_equal(lock_md5(lock, "big.bin"), "cd573cfaace07e7949bc0c46028904ff");
	assert_contains(lock, "size: 1073741824\n");
	struct stat st;
	assert_int_equal(stat("big.bin", &st), 0);
	assert_int_equal(st.st_blocks, 0); /* still sparse: nothing wrote it */
	assert_true(atoll(sh("du -sk .dvc/cache | cut -f1")) < 1024);
	/* unchanged: not read again */
	const char *env[] = { "LIVE_IO_STATS=1", NULL };
	run_opts o2 = { .timeout_ms = 60000, .env = env };
	r = LIVE_O(&o2, "exp", "run");
	expect_ok(r);
	const char *rd = strstr(r.err, "live: read ");
	assert_non_null(rd);
	long long n = atoll(rd + strlen("live: read "));
	if (n > (64LL << 20))
		fail_msg("the unchanged 1 GiB dep was read again: %lld bytes", n);
	guard_check();
}

/* ==== file names that are not UTF-8 in an outs folder ================================== */

static void out_folder_repo(int with_pua)
{
	git_repo();
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_3);
	assert_int_equal(mkdir("data", 0755), 0);
	tu_write_file("data/\xff\xfe.bin", "a");
	tu_write_file("data/new\nline", "b");
	tu_write_file("data/tab\tx", "c");
	tu_write_file("data/back\\slash", "d");
	tu_write_file("data/\xed\xa0\x80sur", "e");
	tu_write_file("data/\"quote", "f");
	tu_write_file("data/-rf", "g");
	assert_int_equal(mkdir("data/\xc0" "dir", 0755), 0);
	tu_write_file("data/\xc0" "dir/in", "h");
	if (with_pua)
		tu_write_file("data/\xef\x9e\x80pua", "i"); /* U+F780: what a decoder might map 0x80 to */
	expect_ok(LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "-o", "data", "--live",
		       "dvclive", "./train"));
	commit_all("baseline");
}

static void names_round_trip(int with_pua)
{
	out_folder_repo(with_pua);
	guard_begin();
	char sha7[8][8];
	assert_int_equal(checkpoints(run_ok(), sha7, 8), 3);
	char *before = tree(fmt("%s/data", repo_dir), NULL, 1);
	sh("rm -rf data");
	guard_begin();
	result r = LIVE("exp", "apply", sha7[0]);
	expect_ok(r);
	char *after = tree(fmt("%s/data", repo_dir), NULL, 1);
	SAME("data/ after exp apply", before, after);
	guard_check();
}

static void hostile_file_names_in_out_folder_round_trip(void **state)
{
	(void)state;
	names_round_trip(0);
}

static void undecodable_and_private_use_names_round_trip(void **state)
{
	(void)state;
	names_round_trip(1);
}

/* ==== a tampered cache ==================================================================== */

static void flip_byte(const char *path, off_t at)
{
	assert_int_equal(chmod(path, 0644), 0);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
	chmod(path, 0444);
}

static int corrupt_named(const char *err)
{
	return strstr(err, "corrupt") || strstr(err, "does not match") || strstr(err, "mismatch");
}

static void tampered_cache_object_is_detected_by_apply(void **state)
{
	(void)state;
	std_repo();
	char sha7[8][8];
	assert_int_equal(checkpoints(run_ok(), sha7, 8), 3);
	char *md5 = lock_md5(sh("git show %s:dvc.lock", sha7[0]), "model.pt");
	assert_int_equal(strlen(md5), 32);
	flip_byte(cache_path(md5), 30);
	guard_begin();
	snapshot a = take_snapshot();
	result r = LIVE("exp", "apply", sha7[0]);
	EXPECT_ERROR(r, md5, "model.pt");
	if (!corrupt_named(r.err))
		fail_msg("the error should say the object is corrupt: %s", r.err);
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	guard_check();
}

static void truncated_cache_object_is_detected_on_resume(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	char *md5 = lock_md5(must_read("dvc.lock"), "model.pt");
	char *obj = cache_path(md5);
	assert_int_equal(chmod(obj, 0644), 0);
	assert_int_equal(truncate(obj, 0), 0);
	sh("rm model.pt");
	guard_begin();
	snapshot a = take_snapshot();
	result r = LIVE("exp", "run");
	EXPECT_ERROR(r, md5, "model.pt");
	if (!corrupt_named(r.err))
		fail_msg("the error should say the object is corrupt: %s", r.err);
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	guard_check();
}

/* A folder manifest rewritten to name a file outside the folder: refused, nothing written there. */
static void tampered_manifest_cannot_escape(void **state)
{
	(void)state;
	std_repo();
	char sha7[8][8];
	assert_int_equal(checkpoints(run_ok(), sha7, 8), 3);
	char *lock0 = sh("git show %s:dvc.lock", sha7[0]);
	char *dir = lock_md5(lock0, "dvclive");
	char *model = lock_md5(lock0, "model.pt");
	assert_int_equal(strlen(dir), 36);
	char *obj = cache_path(dir);
	assert_int_equal(chmod(obj, 0644), 0);
	tu_write_file(obj, fmt("[{\"md5\": \"%s\", \"relpath\": \"../../outside/pwn\"}, "
			       "{\"md5\": \"%s\", \"relpath\": \"../../../pwn2\"}]",
			       model, model));
	guard_begin();
	snapshot a = take_snapshot();
	result r = LIVE("exp", "apply", sha7[0]);
	EXPECT_ERROR(r, "dvclive");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	assert_false(name_exists_below(test_dir, "pwn"));
	guard_check();
}

/* A folder manifest the reader refuses: exp gc --cache cannot tell what it lists, so removes nothing. */
static void refused_manifest_stops_gc_cache(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	char *dir = lock_md5(must_read("dvc.lock"), "dvclive");
	char *model = lock_md5(must_read("dvc.lock"), "model.pt");
	assert_int_equal(strlen(dir), 36);
	char *obj = cache_path(dir);
	assert_int_equal(chmod(obj, 0644), 0);
	tu_write_file(obj, fmt("[{\"md5\": \"%s\", \"relpath\": \"a\"}, {\"md5\": \"%s\", \"relpath\": \"a\"}]",
			       model, model));
	char *cache_before = cache_now();
	result r = LIVE("exp", "gc", "--workspace", "--cache", "--force");
	EXPECT_ERROR_LINE(r, 1, dir, "nothing removed from the cache");
	assert_string_equal(cache_now(), cache_before);
	guard_check();
}

/* ==== a full disk ============================================================================ */

/* Every md5 that the dvc.lock of every commit on every experiment ref names is in the cache, intact. */
static void assert_experiments_restorable(const char *baseline)
{
	char *commits = sh("git rev-list %s..$(git for-each-ref --format='%%(refname)' refs/exps | grep -v /exec/ "
			   "| tr '\\n' ' ')", baseline);
	for (char *save = NULL, *c = strtok_r(commits, "\n", &save); c; c = strtok_r(NULL, "\n", &save)) {
		char *lock = sh("git show %s:dvc.lock", c);
		static const char *const cached[] = { "model.pt", "dvclive" };
		for (int k = 0; k < 2; k++) {
			char *md5 = lock_md5(lock, cached[k]);
			if (!*md5)
				continue;
			char *obj = cache_path(md5);
			if (!tu_exists(obj))
				fail_msg("commit %s: dvc.lock names %s for %s, missing from the cache", c, md5, cached[k]);
			if (strlen(md5) == 32)
				assert_string_equal(md5_of(obj), md5);
			else
				for (const char *q = strstr(must_read(obj), "\"md5\": \""); q; q = strstr(q + 1, "\"md5\": \"")) {
					char *e = fmt("%.32s", q + 8);
					if (!tu_exists(cache_path(e)))
						fail_msg("commit %s: %s lists %s, missing from the cache", c, md5, e);
				}
		}
	}
}

static void full_disk(void **state)
{
	(void)state;
	int tmpfs = 0;
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	    mount("tmpfs", repo_dir, "tmpfs", 0, "size=2m,mode=0755") == 0) {
		tmpfs = tmpfs_on_repo = 1;
		assert_int_equal(chdir(repo_dir), 0); /* into the tmpfs, not the dir under it */
	}
	char *baseline = std_repo_with("epochs: 12\nlr: 0.001\nmodel_bytes: 250000\nstep_ms: 0\n", NULL);
	guard_begin();
	run_opts o = { .fsize_limit = tmpfs ? 0 : 150000 };
	result r = LIVE_O(&o, "exp", "run");
	/*
	 * Whoever hits the full disk first: live itself (storing a checkpoint:
	 * exit 1, an ERROR naming the file), or the trainer (writing model.pt: it
	 * dies, and as for any trainer that dies after checkpoints, they are kept
	 * with a WARNING and exit 0, DVC 2.39+'s rule that test_cli_crash pins).
	 */
	const char *why = tmpfs ? "No space left on device" : "File too large";
	if (!strstr(r.err, why))
		fail_msg("a full disk: no clear error (%s):\n%s", why, r.err);
	if (r.rc == 1 && !tmpfs) {
		/* RLIMIT_FSIZE stops the trainer's first model.pt: no checkpoint */
		EXPECT_ERROR_LINE(r, 1, "failed to reproduce 'train'");
	} else if (r.rc == 1) {
		/* the worker's and the runner's ERROR lines both name it */
		const char *e = strstr(r.err, "ERROR: ");
		assert_non_null(e);
		char *line = fmt("%.*s", (int)strcspn(e, "\n"), e);
		assert_contains(line, why);
		if (!strstr(line, "model.pt") && !strstr(line, "dvclive") && !strstr(line, "dvc.lock") &&
		    !strstr(line, ".git"))
			fail_msg("the error should name the file: %s", line);
	} else if (r.rc == 0)
		assert_contains(r.err, "WARNING: Checkpoint stage 'train' was interrupted");
	else
		fail_msg("a full disk: exit %d\n%s\n%s", r.rc, r.out, r.err);
	char sha7[16][8];
	int n = checkpoints(r.out, sha7, 16);
	if (tmpfs)
		assert_true(n >= 1 && n < 12);
	int st;
	char *fsck = sh_status(&st, "git fsck --strict --no-progress 2>&1");
	if (st != 0)
		fail_msg("git fsck --strict failed:\n%s", fsck);
	assert_string_equal(sh("git for-each-ref --format='%%(objecttype)' refs/exps | sort -u"), n ? "commit" : "");
	assert_experiments_restorable(baseline);
	assert_string_equal(sh("find .dvc/cache -name '.*' -type f"), ""); /* no temp file left */
	ok_or_error(LIVE("exp", "show", "--no-pager"), "No space");
	guard_check();
}

/* ==== a read-only repository, someone else's repository ===================================== */

static void open_to_nobody(void)
{
	assert_int_equal(chmod(test_dir, 0755), 0);
}

static void read_only_repo(void **state)
{
	(void)state;
	std_repo();
	char sha7[8][8];
	char *out = run_ok();
	assert_int_equal(checkpoints(out, sha7, 8), 3);
	char *name = exp_name(out);
	run_opts o = { 0 };
	if (geteuid() == 0) {
		open_to_nobody();
		sh("chown -R %d:%d . && chmod -R a-w .", NOBODY, NOBODY);
		o.as_nobody = 1;
	} else {
		sh("chmod -R a-w .");
		if (access(".", W_OK) == 0) {
			sh("chmod -R u+w .");
			skip();
		}
	}
	g_outside = outside_now();
	g_home = tree(ct_home_dir, NULL, 0);
	char *before = tree(repo_dir, NULL, 0);
	static const char *const writers[][6] = {
		{ "exp", "run", NULL },
		{ "exp", "run", "-S", "lr=0.5", NULL },
		{ "exp", "run", "--reset", NULL },
		{ "stage", "add", "-n", "x", "./x", NULL },
	};
	for (size_t i = 0; i < sizeof(writers) / sizeof(*writers); i++) {
		const char *const *a = writers[i];
		result r = LIVE_O(&o, a[0], a[1], a[2], a[3], a[4], a[5]);
		EXPECT_ERROR(r, "Permission denied");
	}
	EXPECT_ERROR(LIVE_O(&o, "exp", "apply", sha7[0]), "Permission denied");
	EXPECT_ERROR(LIVE_O(&o, "exp", "remove", name), "Permission denied");
	EXPECT_ERROR(LIVE_O(&o, "exp", "branch", name, "promoted"), "Permission denied");
	EXPECT_ERROR_LINE(LIVE_O(&o, "exp", "gc", "-w", "-f"), 1, "Permission denied");
	/* reading works */
	expect_ok(LIVE_O(&o, "exp", "show", "--no-pager"));
	expect_ok(LIVE_O(&o, "exp", "list"));
	expect_ok(LIVE_O(&o, "metrics", "show"));
	expect_ok(LIVE_O(&o, "metrics", "diff", "main", name));
	expect_ok(LIVE_O(&o, "params", "diff", "main", name));
	char *after = tree(repo_dir, NULL, 0);
	SAME("the read-only repository", before, after);
	sh("chmod -R u+w . && chown -R %d:%d .", (int)geteuid(), (int)getegid());
	guard_check();
}

/* libgit2 refuses a repository another user owns: the error must say so, not "not a git repository". */
static void repo_owned_by_another_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	std_repo();
	run_ok();
	open_to_nobody();
	guard_begin();
	run_opts o = { .as_nobody = 1 };
	const char *const cmds[][3] = { { "exp", "show", NULL }, { "metrics", "diff", NULL }, { "exp", "list", NULL } };
	for (size_t i = 0; i < 3; i++) {
		result r = LIVE_O(&o, cmds[i][0], cmds[i][1], cmds[i][2]);
		EXPECT_ERROR(r, "");
		assert_not_contains(r.err, "not a git repository");
		if (!strstr(r.err, "owne") && !strstr(r.err, "safe.directory"))
			fail_msg("%s: the error should say who owns the repository (git's safe.directory): %s", r.cmd,
				 r.err);
	}
	guard_check();
}

/* ==== hostile git states ========================================================================== */

static void detached_head(void **state)
{
	(void)state;
	char *baseline = std_repo();
	sh("git checkout -q --detach");
	guard_begin();
	result r = LIVE("exp", "run");
	expect_ok(r);
	char *name = exp_name(r.out);
	int st;
	sh_status(&st, "git symbolic-ref -q HEAD");
	assert_int_not_equal(st, 0); /* still detached */
	assert_string_equal(sh("git rev-parse HEAD"), baseline);
	assert_contains(sh("git for-each-ref --format='%%(refname)' refs/exps"),
			fmt("refs/exps/%.2s/%s/%s", baseline, baseline + 2, name));
	result show = LIVE("exp", "show", "--no-pager");
	expect_ok(show);
	assert_contains(show.out, name);
	expect_ok(LIVE("exp", "apply", name));
	expect_ok(LIVE("exp", "run", "-S", "lr=0.002"));
	guard_check();
}

static void branch_named_like_the_experiment(void **state)
{
	(void)state;
	std_repo();
	char *out = run_ok();
	char *name = exp_name(out);
	char *model = must_read("model.pt");
	char *tip = sh("git rev-parse refs/exps/exec/EXEC_APPLY");
	sh("git branch '%s' main", name);
	tu_write_file("model.pt", "not the model");
	guard_begin();
	expect_ok(LIVE("exp", "apply", "--force", name));
	assert_string_equal(must_read("model.pt"), model);
	expect_ok(LIVE("exp", "branch", name, "promoted"));
	assert_string_equal(sh("git rev-parse refs/heads/promoted"), tip);
	assert_string_equal(sh("git rev-parse refs/heads/%s", name), sh("git rev-parse main"));
	expect_ok(LIVE("exp", "show", "--no-pager"));
	guard_check();
}

/* A ref under refs/exps that names a blob (or a tree): never a crash, never a branch made of it. */
static void exp_ref_pointing_at_a_blob(void **state)
{
	(void)state;
	char *baseline = std_repo();
	char *out = run_ok();
	char *name = exp_name(out);
	char *blob = sh("echo hi | git hash-object -w --stdin");
	sh("git update-ref refs/exps/%.2s/%s/exp-blob %s", baseline, baseline + 2, blob);
	sh("git update-ref refs/exps/ab/cdef0123/exp-tree $(git rev-parse HEAD^{tree})");
	guard_begin();
	/* a branch must point at a commit */
	result r = LIVE("exp", "branch", "exp-blob", "from-blob");
	int st;
	sh_status(&st, "git rev-parse -q --verify refs/heads/from-blob");
	if (st == 0)
		fail_msg("%s made refs/heads/from-blob point at %s", r.cmd, sh("git cat-file -t refs/heads/from-blob"));
	EXPECT_ERROR(r, "exp-blob");
	r = LIVE("exp", "show", "--no-pager");
	if (r.rc == 0)
		assert_contains(r.out, name);
	else
		EXPECT_ERROR(r, "exp-blob");
	expect_ok(LIVE("exp", "list", "--all"));
	expect_ok(LIVE("exp", "apply", name));
	EXPECT_ERROR(LIVE("metrics", "diff", "main", "exp-blob"), "exp-blob");
	r = LIVE("exp", "gc", "-w", "-f");
	if (r.rc != 0)
		EXPECT_ERROR_LINE(r, 1, "exp-blob");
	char *fsck = sh_status(&st, "git fsck --strict --no-progress 2>&1");
	if (st != 0)
		fail_msg("git fsck --strict failed:\n%s", fsck);
	guard_check();
}

static void corrupt_stat_cache(void **state)
{
	(void)state;
	std_repo();
	struct timespec ts[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, "train", ts, 0), 0);
	run_ok();
	char *real = md5_of("train");
	struct stat st;
	assert_int_equal(stat("train", &st), 0);
	unsigned char junk[2000];
	garbage(junk, sizeof(junk), 4);
	sbuf s = { 0 };
	sb_add(&s, "live-md5s 1\n");
	sb_add(&s, "%llu %llu 99999999999999999999999999 26440 zzzz train\n", (unsigned long long)st.st_dev,
	       (unsigned long long)st.st_ino);
	sb_add(&s, "%llu %llu %lld %lld 00000000000000000000000000000000 train\n", (unsigned long long)st.st_dev,
	       (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec * 1000000000LL + 1,
	       (long long)st.st_size);
	sb_add(&s, "1 2 3 4 00000000000000000000000000000000 ../../outside/victim\n");
	sb_add(&s, "1 2 3 4 0000000000000000000000000000000 short\n-1 -2 -3 -4 x\n");
	char *valid_head = sb_done(&s);
	char *longline = keep(malloc(1 << 20));
	memset(longline, '7', (1 << 20) - 2);
	longline[(1 << 20) - 2] = '\n';
	longline[(1 << 20) - 1] = 0;
	guard_begin();
	for (int variant = 0; variant < 6; variant++) {
		sh("rm -rf .dvc/tmp/live-md5s");
		switch (variant) {
		case 0:
			write_bytes(".dvc/tmp/live-md5s", junk, sizeof(junk));
			break;
		case 1: {
			FILE *f = fopen(".dvc/tmp/live-md5s", "wb");
			assert_non_null(f);
			fputs(valid_head, f);
			fwrite(junk, 1, sizeof(junk), f);
			fputs("\n", f);
			fwrite("\0\0\n", 1, 3, f);
			fclose(f);
			break;
		}
		case 2:
			tu_write_file(".dvc/tmp/live-md5s", fmt("%s%s", valid_head, longline));
			break;
		case 3:
			assert_int_equal(mkdir(".dvc/tmp/live-md5s", 0755), 0);
			break;
		case 4:
			assert_int_equal(symlink("../../../outside/victim", ".dvc/tmp/live-md5s"), 0);
			break;
		case 5:
			tu_write_file(".dvc/tmp/live-md5s", "live-md5s 1\n1 2 3");
			break;
		}
		result r = LIVE("exp", "run", "--reset");
		expect_ok(r);
		assert_string_equal(lock_md5(must_read("dvc.lock"), "train"), real);
	}
	guard_check();
}

/* Lock files left where refs live: the run's own are cleared or named; git's are left alone. */
static void planted_ref_locks(void **state)
{
	(void)state;
	char *baseline = std_repo();
	char *name = exp_name(run_ok());
	tu_write_file(".git/refs/exps/exec/EXEC_CHECKPOINT.lock", "");
	tu_write_file(fmt(".git/refs/exps/%.2s/%s/%s.lock", baseline, baseline + 2, name), "");
	tu_write_file(".git/index.lock", "");
	tu_write_file(".git/HEAD.lock", "");
	tu_write_file(".git/refs/heads/main.lock", "");
	guard_begin();
	result r = LIVE("exp", "run", "-S", "lr=0.002");
	ok_or_error(r, ".lock");
	assert_true(tu_exists(".git/index.lock"));
	assert_true(tu_exists(".git/HEAD.lock"));
	assert_true(tu_exists(".git/refs/heads/main.lock"));
	expect_ok(LIVE("exp", "show", "--no-pager"));
	guard_check();
}

static void exp_branch_invalid_names(void **state)
{
	(void)state;
	std_repo();
	char *name = exp_name(run_ok());
	guard_begin();
	char *heads = sh("git for-each-ref refs/heads");
	const char *bad[] = { "a..b", "a b", "x.lock", "HEAD", "", "a~1", "a^", "a:b", "/x", "x/",
			      "a\nb", "a\\b", "@{-1}", "../../config", "-rf", "main", "a\x7f", "esc\x1b[31m" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		result r = LIVE("exp", "branch", name, bad[i]);
		EXPECT_ERROR(r, "");
		assert_string_equal(sh("git for-each-ref refs/heads"), heads);
	}
	guard_check();
}

/* ==== -S with hostile keys and values ================================================== */

static void refused_set(const char *assign, const char *n1, const char *n2)
{
	snapshot a = take_snapshot();
	result r = LIVE("exp", "run", "-S", assign);
	if (n2)
		EXPECT_ERROR(r, n1, n2);
	else
		EXPECT_ERROR(r, n1);
	assert_not_contains(r.out, "Running stage");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
}

static void set_param_key_with_dotdot(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	refused_set("../x=1", "../x", NULL);
	refused_set("a..b=1", "a..b", NULL);
	refused_set(".=1", "'.'", NULL);
	refused_set("=1", "=1", NULL);
	refused_set("lr", "lr", NULL);
	guard_check();
}

static void set_param_file_outside_repo(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	refused_set("../outside/p.yaml:a=1", "../outside/p.yaml", NULL);
	refused_set(fmt("%s/abs.yaml:a=1", outside_dir), fmt("%s/abs.yaml", outside_dir), NULL);
	refused_set("sub/../../outside/victim:a=1", "sub/../../outside/victim", NULL);
	assert_string_equal(must_read("../outside/victim"), "keep me\n");
	guard_check();
}

static void set_param_on_a_scalar(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	refused_set("lr.b.c=x", "params.yaml", "lr");
	refused_set("epochs.x=1", "params.yaml", "epochs");
	guard_check();
}

static void set_param_newline_injection(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	refused_set("lr=\nevil: 1", "lr", NULL);
	refused_set("lr=1\r\nepochs: 99", "lr", NULL);
	refused_set("new\nkey=1", "new", NULL);
	assert_not_contains(must_read("params.yaml"), "evil");
	guard_check();
}

/* A value that makes params.yaml invalid: refused, and params.yaml is as it was. */
static void set_param_invalid_value_leaves_params_alone(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	refused_set("lr=[1, 2", "params.yaml", NULL);
	refused_set("lr={a: 1", "params.yaml", NULL);
	refused_set("lr=*undefined", "params.yaml", NULL);
	guard_check();
}

static void set_param_too_many(void **state)
{
	(void)state;
	std_repo();
	run_ok();
	guard_begin();
	snapshot a = take_snapshot();
	char *argv[200];
	int n = 0;
	argv[n++] = (char *)LIVE_BIN;
	argv[n++] = "exp";
	argv[n++] = "run";
	for (int i = 0; i < 65; i++) {
		argv[n++] = "-S";
		argv[n++] = fmt("k%d=%d", i, i);
	}
	argv[n] = NULL;
	result r = run_ex(NULL, argv);
	EXPECT_ERROR(r, "-S");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	guard_check();
}

/* ---- fixtures and main ----------------------------------------------------------------- */

static int setup(void **state)
{
	ct_setup(state);
	assert_non_null(getcwd(test_dir, sizeof(test_dir)));
	snprintf(repo_dir, sizeof(repo_dir), "%s/repo", test_dir);
	snprintf(outside_dir, sizeof(outside_dir), "%s/outside", test_dir);
	assert_int_equal(mkdir(outside_dir, 0755), 0);
	assert_int_equal(mkdir(fmt("%s/sub", outside_dir), 0755), 0);
	tu_write_file(fmt("%s/victim", outside_dir), "keep me\n");
	tu_write_file(fmt("%s/sub/deep.txt", outside_dir), "deep\n");
	assert_int_equal(mkdir(repo_dir, 0755), 0);
	assert_int_equal(chdir(repo_dir), 0);
	guard_begin();
	return 0;
}

static int teardown(void **state)
{
	if (chdir(test_dir) != 0)
		perror(test_dir);
	if (tmpfs_on_repo) {
		umount2(repo_dir, MNT_DETACH);
		tmpfs_on_repo = 0;
	}
	return ct_teardown(state);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--hostile-trainer"))
		return hostile_trainer();
	if (ct_begin("test_hostile", LIVE_BIN, TINY_TRAINER, (const char *)NULL))
		return 1;
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0) {
		perror("/proc/self/exe");
		return ct_end(1);
	}
	self_exe[n] = 0;

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		/* metric names */
		T(metric_names_rejected_under_exp_run),
		T(metric_names_rejected_in_default_run),
		T(option_like_metric_names_are_shown),
		/* params values */
		T(params_huge_numbers),
		T(params_nan_and_inf),
		T(params_deep_nesting),
		T(params_alias_bomb_untracked),
		T(params_alias_bomb_tracked),
		T(params_not_utf8),
		T(params_tabs),
		T(params_ten_megabytes),
		T(params_duplicate_keys),
		T(params_binary_garbage),
		T(params_wrong_types),
		/* malformed pipeline files */
		T(malformed_dvc_yaml_syntax),
		T(malformed_dvc_yaml_types),
		T(malformed_dvc_lock),
		T(dvc_lock_hostile_values),
		T(dvc_lock_alias_bomb),
		/* paths that escape the repository */
		T(stage_add_refuses_paths_outside_the_repo),
		T(external_deps_are_only_read),
		T(exp_run_refuses_checkpoint_out_outside),
		T(exp_run_refuses_live_dir_outside),
		T(exp_run_refuses_plots_outside),
		T(exp_run_refuses_absolute_out),
		T(exp_run_refuses_wdir_outside),
		T(exp_apply_does_not_follow_live_dir_link),
		T(out_file_link_is_replaced_not_followed),
		T(out_removal_does_not_follow_links),
		T(resume_does_not_write_through_a_linked_out_folder),
		T(gitignore_link_is_not_written_through),
		/* revisions that look like options */
		T(option_like_revisions_apply_branch_remove),
		T(option_like_revisions_show_and_diff),
		T(experiment_name_like_an_option_is_refused),
		/* huge files, odd file names */
		T(sparse_gigabyte_dep),
		T(hostile_file_names_in_out_folder_round_trip),
		T(undecodable_and_private_use_names_round_trip),
		/* a tampered cache */
		T(tampered_cache_object_is_detected_by_apply),
		T(truncated_cache_object_is_detected_on_resume),
		T(tampered_manifest_cannot_escape),
		T(refused_manifest_stops_gc_cache),
		/* the file system refusing */
		T(full_disk),
		T(read_only_repo),
		T(repo_owned_by_another_user),
		/* hostile git states */
		T(detached_head),
		T(branch_named_like_the_experiment),
		T(exp_ref_pointing_at_a_blob),
		T(corrupt_stat_cache),
		T(planted_ref_locks),
		T(exp_branch_invalid_names),
		/* -S */
		T(set_param_key_with_dotdot),
		T(set_param_file_outside_repo),
		T(set_param_on_a_scalar),
		T(set_param_newline_injection),
		T(set_param_invalid_value_leaves_params_alone),
		T(set_param_too_many),
#undef T
	};
	const char *only = getenv("LIVE_TEST_FILTER"); /* e.g. "full_disk" or "params_*" */
	if (only && *only)
		cmocka_set_test_filter(only);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return ct_end(failed ? 1 : 0);
}
