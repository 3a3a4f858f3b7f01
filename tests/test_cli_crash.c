/*
 * Crash guarantees of `live exp run` (SPEC 3 "Ctrl+C", SPEC 6 "Killed at any
 * instant"; issue #4), tested from the outside: the built `live` binary runs
 * tests/cli/tiny_trainer.c as the stage `train` of a temp git repository, is
 * interrupted or killed at random moments (fixed-seed PRNG), and after every
 * interruption the repository is read back with the git command line and
 * plain file reads:
 *
 *  - `git fsck --strict` exits 0 and says nothing of errors;
 *  - every ref under refs/exps is a commit whose whole history is readable
 *    (`git rev-list --objects`);
 *  - every commit reachable from refs/exps has a dvc.lock whose cached outs
 *    (model.pt, and the dvclive folder's .dir manifest and every file it
 *    lists) are in .dvc/cache/<2>/<30>, with the bytes their md5 names;
 *  - the run resumes: EXEC_APPLY after a run descends from EXEC_APPLY before
 *    it (the first new checkpoint's parent is the last complete checkpoint),
 *    and the steps of the tip's dvclive/loss.tsv (read from the cache) are
 *    strictly increasing, never go back across runs, and end at model.pt's
 *    step;
 *  - no process of the run survives it.
 *
 * Tests:
 *  A1 `sigint_group`: SIGINT to the run's process group (what a terminal's
 *     Ctrl+C does), 25 runs. A2 `sigint_runner`: SIGINT to the runner's pid
 *     only (`kill <pid>`), 25 runs. The signal goes 20-300 ms after the start
 *     and not before the trainer printed its first step (Ctrl+C during
 *     training; a signal before the trainer runs is lost today, a race this
 *     loop would hit only by chance). Both: the run must end within 5 s; when
 *     it made a checkpoint it exits 0 and ends with the lines on how to
 *     promote the experiment, and the workspace holds the tip's dvc.lock.
 *  B  `sigkill_runner`: SIGKILL of the runner's pid only, 50 runs, with a
 *     2 MiB model.pt so that checkpoints take a few ms. The trainer must be
 *     gone within 3 s (its channel is closed); every next run must start
 *     (no lock error) and continue the chain; a final run is ended by SIGINT
 *     and must exit 0.
 *  B' two instants of a checkpoint, made on purpose rather than hit by
 *     chance: `kill_between_ref_updates` (the experiment ref moved,
 *     EXEC_CHECKPOINT and EXEC_APPLY not yet) and `kill_inside_ref_update`
 *     (libgit2's <ref>.lock left behind). The next run must still work.
 *  C  `torture_500` (issue #7): 500 SIGKILLs (4 repositories), of the
 *     trainer and of the runner in turn, at random instants around the
 *     checkpoints, with every check above after each kill, plus: every commit
 *     is one consistent step, the workspace's summary and TSVs parse, and the
 *     next run resumes from the last complete checkpoint (its step + 1).
 *     Run by `test_cli_crash --torture` (ctest: test_cli_torture), not by
 *     default; `--all` runs everything.
 *
 * A run that could not run at all (a stale ref lock, torn EXEC refs) is a
 * failure; the loop then puts the repository right as `live exp run` should
 * (repair_repo) and goes on, so that the other guarantees keep being tested,
 * and stops after 3 such runs in a row. Each fault of a tip's history is told
 * once; past 40 failures a test only counts them.
 *
 * Environment knobs (optional): LIVE_CRASH_ITERS (runs per 50-run loop,
 * default 50), LIVE_CRASH_SEED (PRNG seed), LIVE_CRASH_KEEP=1 (keep the temp
 * dirs; their paths are printed), LIVE_CRASH_ONLY (a cmocka test name
 * pattern, e.g. '*sigkill*'), LIVE_CRASH_RAW_DELAY=1 (A: signal at the
 * random delay even before the trainer runs; then A1 also covers the startup
 * window, and its verdict depends on timing), LIVE_TORTURE_KILLS (C's kills,
 * default 500), LIVE_TORTURE_PER_REPO (C's kills per repository, default 125).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif

extern char **environ;

#define STOP_TIMEOUT_MS 5000  /* a run must end this soon after SIGINT */
#define GONE_TIMEOUT_MS 3000  /* the trainer must be gone this soon after the runner */
#define LOOP_BUDGET_MS 200000 /* a loop stops (and fails) past this */

static char g_top[1024];  /* the test's temp dir */
static char g_repo[1100]; /* g_top/repo */
static char g_logs[1100]; /* g_top/logs: each run's stdout and stderr */
static pid_t g_pgid;      /* the process group of the run in flight */
static int g_failures;
static uint64_t g_rng;

/* ---- small things ---------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
	struct timespec t = { (time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6) };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static uint64_t rng_next(void)
{
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return g_rng * 2685821657736338717ULL;
}

static int rng_range(int lo, int hi)
{
	return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

static void rng_seed(uint64_t fallback)
{
	const char *s = getenv("LIVE_CRASH_SEED");
	g_rng = s && *s ? strtoull(s, NULL, 0) : fallback;
	if (!g_rng)
		g_rng = 1;
	printf("    seed %llu (set LIVE_CRASH_SEED to replay)\n", (unsigned long long)g_rng);
}

static int iterations(void)
{
	const char *s = getenv("LIVE_CRASH_ITERS");
	int n = s && *s ? atoi(s) : 50;
	return n > 1 ? n : 2;
}

static char *xfmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *xfmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

/* Failures by kind (their format string), for a loop's closing summary. */
static struct {
	const char *fmt;
	int n;
} g_kinds[64];

static void failf(const char *ctx, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void failf(const char *ctx, const char *f, ...)
{
	va_list ap;
	for (int k = 0; k < 64; k++)
		if (!g_kinds[k].fmt || g_kinds[k].fmt == f) {
			g_kinds[k].fmt = f;
			g_kinds[k].n++;
			break;
		}
	int kind_n = 0;
	for (int k = 0; k < 64 && g_kinds[k].fmt; k++)
		if (g_kinds[k].fmt == f)
			kind_n = g_kinds[k].n;
	/* Past 40, a failure is still shown the first 3 times of its kind. */
	if (++g_failures > 40 && kind_n > 3) {
		if (g_failures == 41)
			fprintf(stderr, "FAIL [%s]: ... (further failures are counted, not shown, but for the first 3 of each kind)\n", ctx);
		return;
	}
	va_start(ap, f);
	fprintf(stderr, "FAIL [%s]: ", ctx);
	vfprintf(stderr, f, ap);
	fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
}

/* The last `n` bytes of a text, for messages. */
static const char *tail(const char *s, size_t n)
{
	if (!s)
		return "(none)";
	size_t len = strlen(s);
	return len > n ? s + len - n : s;
}

static int count_substr(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = s; p && (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* A line of `s` that starts with `prefix`, or NULL. */
static const char *line_starting(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = s; p && *p;) {
		if (!strncmp(p, prefix, n))
			return p;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

/* ---- a string set (commits and cache objects already checked) ------------ */

typedef struct strset {
	char **v;
	size_t cap, n;
} strset;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int set_has(const strset *s, const char *k)
{
	if (!s->cap)
		return 0;
	for (size_t i = hash_str(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->v[i])
			return 0;
		if (!strcmp(s->v[i], k))
			return 1;
	}
}

static void set_add(strset *s, const char *k)
{
	if (set_has(s, k))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		strset b = { calloc(s->cap ? s->cap * 2 : 1024, sizeof(char *)), s->cap ? s->cap * 2 : 1024, 0 };
		assert_non_null(b.v);
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i]) {
				size_t j = hash_str(s->v[i]) & (b.cap - 1);
				while (b.v[j])
					j = (j + 1) & (b.cap - 1);
				b.v[j] = s->v[i];
				b.n++;
			}
		free(s->v);
		*s = b;
	}
	size_t i = hash_str(k) & (s->cap - 1);
	while (s->v[i])
		i = (i + 1) & (s->cap - 1);
	s->v[i] = strdup(k);
	assert_non_null(s->v[i]);
	s->n++;
}

static void set_free(strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- shell commands in the repository ------------------------------------ */

/* Run `cmd` with sh in the repository; *out = its stdout and stderr. Returns the exit status, -1 if killed. */
static int sh(char **out, const char *f, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *f, ...)
{
	va_list ap;
	char *body = NULL;
	va_start(ap, f);
	assert_true(vasprintf(&body, f, ap) >= 0);
	va_end(ap);
	char *cmd = xfmt("cd '%s' && { %s ; } 2>&1", g_repo, body);
	free(body);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 8192, n = 0, r;
	char *s = malloc(cap);
	assert_non_null(s);
	while ((r = fread(s + n, 1, cap - n - 1, p)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			s = realloc(s, cap *= 2);
			assert_non_null(s);
		}
	}
	s[n] = 0;
	int st = pclose(p);
	free(cmd);
	if (out)
		*out = s;
	else
		free(s);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *sh_ok(const char *what, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *sh_ok(const char *what, const char *f, ...)
{
	va_list ap;
	char *body = NULL;
	va_start(ap, f);
	assert_true(vasprintf(&body, f, ap) >= 0);
	va_end(ap);
	char *out;
	int st = sh(&out, "%s", body);
	if (st != 0)
		fail_msg("%s: `%s` exited %d:\n%s", what, body, st, out);
	free(body);
	return out;
}

/* A 40-hex id from the first line of `s` into sha[41]; 0 if there is none. */
static int take_sha(const char *s, char sha[41])
{
	sha[0] = 0;
	for (int i = 0; i < 40; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	memcpy(sha, s, 40);
	sha[40] = 0;
	return 1;
}

/* The commit a ref points at ("" if absent). */
static void ref_sha(const char *ref, char sha[41])
{
	char *out;
	int st = sh(&out, "git rev-parse -q --verify '%s^{commit}'", ref);
	if (st != 0 || !take_sha(out, sha))
		sha[0] = 0;
	free(out);
}

/* ---- the repository -------------------------------------------------------- */

static void clean_env(void)
{
	static const char *prefixes[] = { "GIT_", "DVC", "LIVE_", "RANK=", "OMPI_COMM_WORLD_RANK=", "PMI_RANK=",
					  "SLURM_PROCID=", NULL };
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; e && *e; e++) {
			if (!strncmp(*e, "LIVE_CRASH_", 11))
				continue;
			for (int k = 0; prefixes[k]; k++)
				if (!strncmp(*e, prefixes[k], strlen(prefixes[k]))) {
					char name[256];
					snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
					unsetenv(name);
					again = 1;
					break;
				}
			if (again)
				break;
		}
	}
	setenv("HOME", g_top, 1);
	setenv("XDG_CONFIG_HOME", g_top, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
}

/* A repository with the tutorial's checkpoint stage and tiny_trainer as ./train, committed. */
static void setup_repo(long long epochs, long long step_ms, long long model_bytes, char baseline[41])
{
	assert_non_null(getcwd(g_top, sizeof(g_top)));
	snprintf(g_repo, sizeof(g_repo), "%s/repo", g_top);
	snprintf(g_logs, sizeof(g_logs), "%s/logs", g_top);
	assert_int_equal(mkdir(g_repo, 0755), 0);
	assert_int_equal(mkdir(g_logs, 0755), 0);
	clean_env();
	/* Orphans of a killed runner (sh, the trainer) become our children: we reap them and see them go. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	free(sh_ok("git init", "git init -q . && git config user.name 'Crash Test' && "
			       "git config user.email crash@example.com && git config gc.auto 0 && "
			       "git config commit.gpgsign false"));
	free(sh_ok("trainer", "cp '%s' train && chmod 755 train", TINY_TRAINER));
	char *params = xfmt("epochs: %lld\nlr: 0.001\nmodel_bytes: %lld\nstep_ms: %lld\n", epochs, model_bytes,
			    step_ms);
	char *path = xfmt("%s/params.yaml", g_repo);
	tu_write_file(path, params);
	free(params);
	free(path);
	free(sh_ok("live init", "'%s' init", LIVE_BIN));
	free(sh_ok("live stage add",
		   "'%s' stage add -n train -d train -c model.pt --plots-no-cache predictions.json -p lr "
		   "--live dvclive ./train",
		   LIVE_BIN));
	free(sh_ok("baseline commit", "git add -A && git commit -q -m baseline"));
	char *out = sh_ok("baseline", "git rev-parse HEAD");
	assert_true(take_sha(out, baseline));
	free(out);
	printf("    repo %s\n", g_repo);
}

/* ---- running `live exp run` ------------------------------------------------ */

typedef struct run {
	pid_t pid;
	char out[1200], err[1200];
	int status;
	int ended;
	double t0;
} run;

static void run_start(run *r, const char *tag, int it)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->out, sizeof(r->out), "%s/%s-%03d.out", g_logs, tag, it);
	snprintf(r->err, sizeof(r->err), "%s/%s-%03d.err", g_logs, tag, it);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Its own process group, as a shell's foreground job: -pgid reaches the runner and the trainer. */
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		int in = open("/dev/null", O_RDONLY);
		int o = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 ||
		    chdir(g_repo) != 0)
			_exit(126);
		execl(LIVE_BIN, "live", "exp", "run", (char *)NULL);
		_exit(127);
	}
	if (setpgid(pid, pid) != 0 && errno != EACCES)
		fail_msg("setpgid: %s", strerror(errno));
	r->pid = pid;
	r->t0 = now_ms();
	g_pgid = pid;
}

/* Wait up to `ms` for the runner to exit; 1 if it did (r->status). */
static int run_wait(run *r, double ms)
{
	if (r->ended)
		return 1;
	double end = now_ms() + ms;
	for (;;) {
		pid_t w = waitpid(r->pid, &r->status, WNOHANG);
		if (w == r->pid) {
			r->ended = 1;
			return 1;
		}
		if (now_ms() >= end)
			return 0;
		sleep_ms(1);
	}
}

/* Live (not zombie) processes of the group, described in buf; zombies of ours in it are reaped first. */
static int group_members(pid_t pgid, char *buf, size_t size)
{
	while (waitpid(-pgid, NULL, WNOHANG) > 0)
		;
	if (size)
		buf[0] = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], stat[1024];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (len <= 0)
			continue;
		stat[len] = 0;
		char *lp = strchr(stat, '('), *rp = strrchr(stat, ')');
		char state;
		int ppid, pgrp;
		if (!lp || !rp || sscanf(rp + 2, "%c %d %d", &state, &ppid, &pgrp) != 3)
			continue;
		if (pgrp != pgid || state == 'Z' || state == 'X')
			continue;
		n++;
		size_t used = strlen(buf);
		if (used + 80 < size)
			snprintf(buf + used, size - used, "%s%s %.*s", used ? ", " : "", de->d_name, (int)(rp - lp + 1), lp);
	}
	closedir(d);
	return n;
}

/* Wait up to `ms` for the group to have no live process; 1 if so. Otherwise SIGKILL it (and say 0). */
static int group_wait_gone(pid_t pgid, double ms, char *buf, size_t size)
{
	double end = now_ms() + ms;
	while (group_members(pgid, buf, size) > 0) {
		if (now_ms() >= end) {
			kill(-pgid, SIGKILL);
			double hard = now_ms() + 2000;
			char ignore[64];
			while (group_members(pgid, ignore, sizeof(ignore)) > 0 && now_ms() < hard)
				sleep_ms(2);
			return 0;
		}
		sleep_ms(1);
	}
	return 1;
}

/* End a run for good (teardown, or a hang): the whole group is killed and reaped. */
static void run_kill_all(run *r)
{
	if (r->pid > 1) {
		kill(-r->pid, SIGKILL);
		run_wait(r, 5000);
		char ignore[64];
		group_wait_gone(r->pid, 2000, ignore, sizeof(ignore));
	}
}

/* ---- what the repository must look like ------------------------------------ */

typedef struct checker {
	strset commits; /* experiment commits whose dvc.lock was checked */
	strset objects; /* cache objects checked */
	char baseline[41];
	char apply[41];      /* EXEC_APPLY after the last check */
	long long last_step; /* last step of the tip's history, -1 before any */
	long long tsv_rows;  /* rows of the tip's loss.tsv judged so far (each fault is told once) */
	int stale_locks;     /* runs after which a ref .lock file was left */
} checker;

/* One cached out of a committed dvc.lock. */
typedef struct outent {
	char path[256];
	char md5[48];
} outent;

/* The outs of the single stage of a dvc.lock: their paths and md5s. -1 if there is no outs list. */
static int lock_outs(const char *lock, outent *o, int max)
{
	const char *p = strstr(lock, "\n    outs:\n");
	if (!p)
		return -1;
	p += strlen("\n    outs:\n");
	int n = 0;
	while (*p) {
		size_t len = strcspn(p, "\n");
		if (!strncmp(p, "    - path: ", 12)) {
			if (n == max)
				break;
			snprintf(o[n].path, sizeof(o[n].path), "%.*s", (int)(len - 12), p + 12);
			o[n].md5[0] = 0;
			n++;
		} else if (!strncmp(p, "      md5: ", 11) && n) {
			snprintf(o[n - 1].md5, sizeof(o[n - 1].md5), "%.*s", (int)(len - 11), p + 11);
		} else if (strncmp(p, "      ", 6) != 0) {
			break;
		}
		p += len;
		if (*p)
			p++;
	}
	return n;
}

static const char *out_md5(const outent *o, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(o[i].path, path))
			return o[i].md5;
	return NULL;
}

static int is_md5(const char *s, int dir)
{
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return dir ? !strcmp(s + 32, ".dir") : s[32] == 0;
}

static char *cache_path(const char *md5)
{
	return xfmt("%s/.dvc/cache/%.2s/%s", g_repo, md5, md5 + 2);
}

/*
 * Check cache objects (md5 or md5.dir) not checked before: present, a .dir a
 * JSON list of {md5, relpath} whose files are present too, and every object's
 * bytes hashing to its name (the files here hold no CR, so DVC's md5 is the
 * plain md5).
 */
static void check_objects(checker *c, const char *ctx, char **todo, size_t n)
{
	char *list_path = xfmt("%s/md5.list", g_logs);
	FILE *list = fopen(list_path, "w");
	assert_non_null(list);
	size_t nlisted = 0;
	for (size_t i = 0; i < n; i++) {
		const char *md5 = todo[i];
		if (set_has(&c->objects, md5))
			continue;
		set_add(&c->objects, md5);
		char *path = cache_path(md5);
		if (!tu_exists(path)) {
			failf(ctx, "cache object %s (named by a committed dvc.lock) is missing: %s", md5, path);
			free(path);
			continue;
		}
		fprintf(list, "%s\n", path);
		nlisted++;
		if (strlen(md5) == 36) {
			char *json = tu_read_file(path);
			cJSON *arr = json ? cJSON_Parse(json) : NULL;
			if (!cJSON_IsArray(arr)) {
				failf(ctx, "cache object %s is not a JSON list: '%.200s'", md5, json ? json : "");
			} else {
				cJSON *it;
				cJSON_ArrayForEach(it, arr) {
					cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "md5");
					cJSON *rel = cJSON_GetObjectItemCaseSensitive(it, "relpath");
					if (!cJSON_IsString(m) || !cJSON_IsString(rel) || !is_md5(m->valuestring, 0)) {
						failf(ctx, "manifest %s: an entry without md5/relpath", md5);
						continue;
					}
					if (set_has(&c->objects, m->valuestring))
						continue;
					set_add(&c->objects, m->valuestring);
					char *fp = cache_path(m->valuestring);
					if (!tu_exists(fp))
						failf(ctx, "cache object %s (%s in manifest %s) is missing", m->valuestring,
						      rel->valuestring, md5);
					else {
						fprintf(list, "%s\n", fp);
						nlisted++;
					}
					free(fp);
				}
			}
			cJSON_Delete(arr);
			free(json);
		}
		free(path);
	}
	fclose(list);
	if (nlisted) {
		char *out;
		int st = sh(&out, "xargs -d '\\n' -r md5sum -- < '%s'", list_path);
		if (st != 0)
			failf(ctx, "md5sum of cache objects: exit %d: %s", st, tail(out, 600));
		size_t seen = 0;
		for (char *p = out; *p;) {
			size_t len = strcspn(p, "\n");
			char *obj = strstr(p, "/.dvc/cache/");
			if (len > 34 && obj && obj < p + len) {
				char want[33];
				snprintf(want, sizeof(want), "%.2s%.30s", obj + 12, obj + 15);
				if (strncmp(p, want, 32) != 0)
					failf(ctx, "cache object %.*s holds bytes whose md5 is %.32s", (int)(p + len - obj), obj, p);
				seen++;
			}
			p += len;
			if (*p)
				p++;
		}
		if (seen != nlisted)
			failf(ctx, "md5sum read %zu of %zu cache objects", seen, nlisted);
		free(out);
	}
	free(list_path);
}

/* Lines of git's output that name a problem. */
static const char *bad_line(const char *out)
{
	static const char *words[] = { "error", "missing", "broken", "warning", "fatal", "corrupt", NULL };
	for (int k = 0; words[k]; k++) {
		const char *p = strcasestr(out, words[k]);
		if (p)
			return p;
	}
	return NULL;
}

/*
 * fsck, refs, commits, cache; sets c->apply to EXEC_APPLY. Returns the number
 * of failures found.
 */
static int check_repo(checker *c, const char *ctx)
{
	int before = g_failures;
	char *out;

	/* git fsck */
	int st = sh(&out, "git fsck --strict --no-dangling --no-progress");
	if (st != 0 || bad_line(out))
		failf(ctx, "git fsck --strict: exit %d:\n%s", st, tail(out, 2000));
	free(out);

	/* every ref under refs/exps: a commit with a readable history */
	st = sh(&out, "git for-each-ref --format='%%(objecttype) %%(objectname) %%(refname)' refs/exps");
	if (st != 0 || bad_line(out))
		failf(ctx, "git for-each-ref refs/exps: exit %d:\n%s", st, tail(out, 2000));
	char shas[64][41];
	int nshas = 0;
	for (char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		char type[16] = "", sha[64] = "", name[600] = "";
		char line[800];
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (sscanf(line, "%15s %63s %599s", type, sha, name) != 3 || strcmp(type, "commit") ||
		    strlen(sha) != 40) {
			failf(ctx, "ref that is not a commit: '%s'", line);
		} else {
			int dup = 0;
			for (int i = 0; i < nshas; i++)
				dup |= !strcmp(shas[i], sha);
			if (!dup && nshas < 64) {
				char *o2;
				int st2 = sh(&o2, "git rev-list --objects %s > /dev/null", sha);
				if (st2 != 0 || o2[0])
					failf(ctx, "ref %s -> %s: history not readable (rev-list --objects exit %d): %s", name,
					      sha, st2, tail(o2, 1000));
				free(o2);
				memcpy(shas[nshas++], sha, 41);
			}
		}
		p += len;
		if (*p)
			p++;
	}
	free(out);
	ref_sha("refs/exps/exec/EXEC_APPLY", c->apply);

	/* ref locks left by a kill inside a ref update (their effect: kill_inside_ref_update) */
	st = sh(&out, "find .git/refs/exps -name '*.lock' 2>/dev/null; ls .git/*.lock 2>/dev/null; true");
	if (out[0]) {
		c->stale_locks++;
		printf("    note [%s]: lock files left behind: %s", ctx, out);
	}
	free(out);

	if (!nshas)
		return g_failures - before;

	/* the experiment commits not checked yet, and their dvc.lock */
	char *revs = xfmt("%s", "");
	for (int i = 0; i < nshas; i++) {
		char *r2 = xfmt("%s %s", revs, shas[i]);
		free(revs);
		revs = r2;
	}
	st = sh(&out, "git rev-list %s --not %s", revs, c->baseline);
	free(revs);
	if (st != 0) {
		failf(ctx, "git rev-list of the experiments: exit %d: %s", st, tail(out, 1000));
		free(out);
		return g_failures - before;
	}
	char *in_path = xfmt("%s/catfile.in", g_logs);
	FILE *in = fopen(in_path, "w");
	assert_non_null(in);
	size_t ncommits = 0, cap = 64;
	char (*commits)[41] = malloc(cap * sizeof(*commits));
	assert_non_null(commits);
	for (char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		char sha[41];
		if (len == 40 && take_sha(p, sha) && !set_has(&c->commits, sha)) {
			if (ncommits == cap) {
				commits = realloc(commits, (cap *= 2) * sizeof(*commits));
				assert_non_null(commits);
			}
			memcpy(commits[ncommits++], sha, 41);
			fprintf(in, "%s:dvc.lock\n", sha);
		}
		p += len;
		if (*p)
			p++;
	}
	fclose(in);
	free(out);
	if (ncommits) {
		st = sh(&out, "git cat-file --batch < '%s'", in_path);
		if (st != 0)
			failf(ctx, "git cat-file --batch: exit %d: %s", st, tail(out, 1000));
		size_t ntodo = 0, todocap = 64;
		char **todo = malloc(todocap * sizeof(*todo));
		assert_non_null(todo);
		char *p = out;
		for (size_t i = 0; i < ncommits && *p; i++) {
			size_t len = strcspn(p, "\n");
			char head[256];
			snprintf(head, sizeof(head), "%.*s", (int)len, p);
			p += len + (p[len] ? 1 : 0);
			char oid[64], type[16];
			size_t size;
			set_add(&c->commits, commits[i]);
			if (sscanf(head, "%63s %15s %zu", oid, type, &size) != 3 || strcmp(type, "blob")) {
				failf(ctx, "experiment commit %s has no dvc.lock (%s)", commits[i], head);
				continue;
			}
			char *lock = strndup(p, size);
			p += size;
			if (*p == '\n')
				p++;
			outent o[16];
			int no = lock_outs(lock, o, 16);
			const char *want[] = { "model.pt", "dvclive" };
			for (int k = 0; k < 2; k++) {
				const char *m = no > 0 ? out_md5(o, no, want[k]) : NULL;
				if (!m || !is_md5(m, k == 1)) {
					failf(ctx, "commit %s: dvc.lock has no md5 for the out %s:\n%s", commits[i], want[k],
					      lock);
					continue;
				}
				if (ntodo == todocap) {
					todo = realloc(todo, (todocap *= 2) * sizeof(*todo));
					assert_non_null(todo);
				}
				todo[ntodo++] = strdup(m);
			}
			free(lock);
		}
		check_objects(c, ctx, todo, ntodo);
		for (size_t i = 0; i < ntodo; i++)
			free(todo[i]);
		free(todo);
		free(out);
	}
	free(commits);
	free(in_path);
	return g_failures - before;
}

/*
 * The tip's (EXEC_APPLY's) dvclive/loss.tsv, from the cache: steps strictly
 * increasing, the last one model.pt's step. Returns the last step, -1 if none.
 */
static long long check_tip_history(checker *c, const char *ctx, const char *apply)
{
	char *lock;
	if (sh(&lock, "git cat-file blob %s:dvc.lock", apply) != 0) {
		failf(ctx, "EXEC_APPLY %s has no dvc.lock: %s", apply, lock);
		free(lock);
		return -1;
	}
	outent o[16];
	int no = lock_outs(lock, o, 16);
	free(lock);
	const char *dir = no > 0 ? out_md5(o, no, "dvclive") : NULL;
	const char *model = no > 0 ? out_md5(o, no, "model.pt") : NULL;
	if (!dir || !model || !is_md5(dir, 1) || !is_md5(model, 0))
		return -1; /* reported by check_repo */
	char *mpath = cache_path(dir);
	char *json = tu_read_file(mpath);
	free(mpath);
	cJSON *arr = json ? cJSON_Parse(json) : NULL;
	free(json);
	const char *tsv_md5 = NULL;
	cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "md5");
		cJSON *rel = cJSON_GetObjectItemCaseSensitive(it, "relpath");
		if (cJSON_IsString(m) && cJSON_IsString(rel) && !strcmp(rel->valuestring, "loss.tsv"))
			tsv_md5 = m->valuestring;
	}
	if (!tsv_md5) {
		failf(ctx, "tip %.7s: its dvclive manifest %s lists no loss.tsv", apply, dir);
		cJSON_Delete(arr);
		return -1;
	}
	char *tpath = cache_path(tsv_md5);
	char *tsv = tu_read_file(tpath);
	free(tpath);
	cJSON_Delete(arr);
	if (!tsv)
		return -1; /* reported by check_repo */
	long long last = -1, rows = 0;
	int bad = 0;
	const char *p = tsv;
	if (strncmp(p, "timestamp\tstep\tloss\n", 20) != 0) {
		failf(ctx, "tip %.7s: loss.tsv header: '%.40s'", apply, p);
		bad = 1;
	}
	p = strchr(p, '\n');
	p = p ? p + 1 : "";
	/* The first fault is reported; the scan goes on to the last step. */
	for (long long row = 2; *p; row++) {
		size_t len = strcspn(p, "\n");
		long long ts, step;
		if (sscanf(p, "%lld\t%lld\t", &ts, &step) != 2 || p[len] != '\n') {
			if (!bad)
				failf(ctx, "tip %.7s: loss.tsv row %lld is not a row: '%.*s'", apply, row, (int)len, p);
			bad = 1;
			break;
		}
		/* Rows judged at an earlier tip are not told again (the history only grows). */
		if (step <= last && !bad && row - 1 > c->tsv_rows) {
			failf(ctx, "tip %.7s: loss.tsv row %lld: step %lld after step %lld (duplicate or backwards)",
			      apply, row, step, last);
			bad = 1;
		}
		last = step;
		rows++;
		p += len + 1;
	}
	free(tsv);
	if (rows < c->tsv_rows)
		failf(ctx, "tip %.7s: loss.tsv has %lld rows, the previous tip's had %lld", apply, rows, c->tsv_rows);
	c->tsv_rows = rows;
	char *mp = cache_path(model);
	char *mbytes = tu_read_file(mp);
	free(mp);
	long long mstep = -2;
	if (mbytes && sscanf(mbytes, "step=%lld", &mstep) == 1 && mstep != last)
		failf(ctx, "tip %.7s: model.pt is at step %lld but loss.tsv ends at step %lld", apply, mstep, last);
	free(mbytes);
	return last;
}

/* After a run: the chain is connected, and the history moved on. */
static void check_progress(checker *c, const char *ctx, const char *before, int made_checkpoints)
{
	if (before[0] && c->apply[0] && strcmp(before, c->apply)) {
		char *out;
		if (sh(&out, "git merge-base --is-ancestor %s %s", before, c->apply) != 0)
			failf(ctx, "EXEC_APPLY %.7s does not descend from the previous EXEC_APPLY %.7s: the chain is "
				   "broken (the run did not resume from the last complete checkpoint)",
			      c->apply, before);
		free(out);
	}
	if (before[0] && !c->apply[0])
		failf(ctx, "EXEC_APPLY disappeared (was %.7s)", before);
	if (made_checkpoints && !strcmp(before, c->apply))
		failf(ctx, "checkpoints were printed but EXEC_APPLY did not move");
	if (!c->apply[0])
		return;
	long long last = check_tip_history(c, ctx, c->apply);
	if (last >= 0 && last < c->last_step)
		failf(ctx, "the history went back: the tip ends at step %lld, the previous tip at %lld", last,
		      c->last_step);
	if (last >= 0 && strcmp(before, c->apply) && last == c->last_step)
		failf(ctx, "a new checkpoint %.7s but no new step (still %lld)", c->apply, last);
	if (last >= 0)
		c->last_step = last;
}

/* stdout of a run that made checkpoints ends with how to promote the experiment. */
static int promote_lines_ok(const char *out)
{
	const char *p = strstr(out, "\nTo promote an experiment to a Git branch run:\n\n\tlive exp branch exp-");
	if (!p)
		return 0;
	p = strstr(p, "\tlive exp branch exp-") + strlen("\tlive exp branch exp-");
	for (int i = 0; i < 5; i++)
		if (!isxdigit((unsigned char)p[i]))
			return 0;
	return !strcmp(p + 5, " <branch>\n");
}

static void checker_init(checker *c, const char *baseline)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->baseline, baseline, 41);
	c->last_step = -1;
}

/* ---- fixtures ---------------------------------------------------------------- */

static run g_run; /* the run in flight, killed in teardown */

static int setup(void **state)
{
	g_failures = 0;
	memset(g_kinds, 0, sizeof(g_kinds));
	g_pgid = 0;
	memset(&g_run, 0, sizeof(g_run));
	return tu_enter_tmpdir(state);
}

static int teardown(void **state)
{
	if (g_pgid > 1) {
		kill(-g_pgid, SIGKILL);
		char ignore[64];
		group_wait_gone(g_pgid, 2000, ignore, sizeof(ignore));
		waitpid(g_pgid, NULL, WNOHANG);
		g_pgid = 0;
	}
	const char *keep = getenv("LIVE_CRASH_KEEP");
	if (keep && *keep == '1') {
		printf("    kept %s\n", g_top);
		return 0;
	}
	return tu_leave_tmpdir(state);
}

/* ---- repairs ------------------------------------------------------------------ */

/*
 * Put right, as `live exp run` should have, what a killed run left and the
 * next run cannot get over (kill_inside_ref_update, kill_between_ref_updates),
 * so that the loop goes on testing the other guarantees. Returns the number
 * of repairs.
 */
static int repair_repo(checker *c, const char *ctx)
{
	int n = 0;
	char *out;
	sh(&out, "find .git/refs/exps -name '*.lock' -print -delete 2>/dev/null; true");
	if (out[0]) {
		printf("    repair [%s]: removed stale ref locks: %s", ctx, out);
		n++;
	}
	free(out);
	char apply[41];
	ref_sha("refs/exps/exec/EXEC_APPLY", apply);
	if (!apply[0])
		return n;
	sh(&out, "git for-each-ref --format='%%(objectname)' 'refs/exps/%.2s/%s/'", c->baseline, c->baseline + 2);
	for (char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		char tip[41], parent[41];
		if (take_sha(p, tip) && strcmp(tip, apply)) {
			char *o2;
			if (sh(&o2, "git rev-parse %s^", tip) == 0 && take_sha(o2, parent) && !strcmp(parent, apply)) {
				free(sh_ok("repair", "git update-ref refs/exps/exec/EXEC_CHECKPOINT %s && "
						     "git update-ref refs/exps/exec/EXEC_APPLY %s",
					   tip, tip));
				printf("    repair [%s]: EXEC_CHECKPOINT and EXEC_APPLY moved from %.7s to the experiment's "
				       "tip %.7s\n",
				       ctx, apply, tip);
				memcpy(c->apply, tip, 41);
				n++;
			}
			free(o2);
		}
		p += len;
		if (*p)
			p++;
	}
	free(out);
	return n;
}

/* ---- A: SIGINT -------------------------------------------------------------- */

static void sigint_loop(int to_group, int n, uint64_t seed)
{
	char baseline[41];
	double t_start = now_ms();
	rng_seed(seed);
	setup_repo(3000, 5, 4096, baseline);
	checker c;
	checker_init(&c, baseline);
	const char *tag = to_group ? "A-group" : "A-runner";
	int hangs = 0, with_ck = 0, total_ck = 0, signaled = 0, repairs = 0, failing_in_a_row = 0;
	const char *raw = getenv("LIVE_CRASH_RAW_DELAY");
	int raw_delay = raw && *raw == '1';
	if (raw_delay)
		printf("    LIVE_CRASH_RAW_DELAY=1: the signal may come before the trainer runs\n");
	int it;
	for (it = 0; it < n; it++) {
		char ctx[64], before[41];
		snprintf(ctx, sizeof(ctx), "%s run %d", tag, it + 1);
		memcpy(before, c.apply, 41);
		int delay = rng_range(20, 300);
		run *r = &g_run;
		run_start(r, tag, it + 1);
		/*
		 * `delay` ms after the start, and not before the trainer printed its
		 * first step (then liblive's SIGINT handler is in place): Ctrl+C
		 * during training. A SIGINT that reaches the runner before the
		 * trainer runs is lost today (the runner passes it on to /bin/sh,
		 * which waits for its child), a race this loop would hit only now
		 * and then: its verdict would depend on the machine's speed.
		 */
		double t_sig_at = r->t0 + delay, t_give_up = r->t0 + 8000;
		int started = 0;
		while (!run_wait(r, 0) && now_ms() < t_give_up) {
			if (!started) {
				char *o = tu_read_file(r->out);
				started = o && strstr(o, "\nEpoch ");
				free(o);
			}
			if ((started || raw_delay) && now_ms() >= t_sig_at)
				break;
			sleep_ms(1);
		}
		int early = run_wait(r, 0);
		if (!started && !early && !raw_delay)
			failf(ctx, "the trainer printed no step within 8 s");
		delay = (int)(now_ms() - r->t0);
		if (to_group)
			kill(-r->pid, SIGINT);
		else
			kill(r->pid, SIGINT);
		double t_sig = now_ms();
		int ended = run_wait(r, STOP_TIMEOUT_MS);
		double stop_ms = now_ms() - t_sig;
		char members[1024];
		if (!ended) {
			group_members(r->pid, members, sizeof(members));
			failf(ctx, "hang: `live exp run` still running %d ms after SIGINT (%s) (processes: %s); killed",
			      STOP_TIMEOUT_MS, to_group ? "to its process group" : "to the runner's pid", members);
			hangs++;
			run_kill_all(r);
			/* That was a SIGKILL of everything: B's ground; put right what the next run cannot get over. */
			repairs += repair_repo(&c, ctx);
		} else if (group_members(r->pid, members, sizeof(members)) > 0) {
			failf(ctx, "processes of the run outlived `live exp run`: %s", members);
			if (!group_wait_gone(r->pid, GONE_TIMEOUT_MS, members, sizeof(members)))
				failf(ctx, "... and were still there %d ms later (killed): %s", GONE_TIMEOUT_MS, members);
		}
		g_pgid = 0;
		char *out = tu_read_file(r->out), *err = tu_read_file(r->err);
		int ck = count_substr(out, "Checkpoint experiment iteration '");
		total_ck += ck;
		with_ck += ck > 0;
		if (early) {
			failf(ctx, "the run ended by itself before the SIGINT: status 0x%x, stderr: %s", r->status,
			      tail(err, 800));
			repairs += repair_repo(&c, ctx);
		}
		failing_in_a_row = early ? failing_in_a_row + 1 : 0;
		if (ended && WIFSIGNALED(r->status))
			signaled++;
		if (ended && ck > 0) {
			if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
				failf(ctx, "%d checkpoints, but `live exp run` %s %d (want exit 0); stderr: %s", ck,
				      WIFEXITED(r->status) ? "exited" : "died of signal",
				      WIFEXITED(r->status) ? WEXITSTATUS(r->status) : WTERMSIG(r->status), tail(err, 800));
			else if (!promote_lines_ok(out))
				failf(ctx, "stdout does not end with the lines on promoting the experiment:\n%s",
				      tail(out, 400));
		}
		if (!out)
			out = strdup("");
		check_repo(&c, ctx);
		if (ended && ck > 0 && c.apply[0] && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) {
			/* "Experiment results have been applied to your workspace." */
			char *ws = NULL, *committed = NULL;
			char *lp = xfmt("%s/dvc.lock", g_repo);
			ws = tu_read_file(lp);
			free(lp);
			if (sh(&committed, "git cat-file blob %s:dvc.lock", c.apply) != 0 || !ws || strcmp(ws, committed))
				failf(ctx, "the workspace's dvc.lock is not the tip's (%.7s):\n--- workspace\n%s--- tip\n%s",
				      c.apply, ws ? ws : "(none)\n", committed);
			free(ws);
			free(committed);
		}
		check_progress(&c, ctx, before, ck > 0);
		printf("    %s: SIGINT at %3d ms, %s in %5.0f ms, %2d checkpoints, tip step %lld, %.2f s\n", ctx, delay,
		       !ended ? "HUNG" : WIFEXITED(r->status) ? (WEXITSTATUS(r->status) ? "exit!0" : "exit 0 ") : "signal",
		       stop_ms, ck, c.last_step, (now_ms() - r->t0) / 1000);
		fflush(stdout);
		free(out);
		free(err);
		if (hangs >= 2) {
			failf(tag, "stopping after %d hangs", hangs);
			it++;
			break;
		}
		if (failing_in_a_row >= 3) {
			failf(tag, "stopping after %d runs in a row that could not run", failing_in_a_row);
			it++;
			break;
		}
		if (now_ms() - t_start > LOOP_BUDGET_MS) {
			failf(tag, "time budget of %d s exceeded after %d runs", LOOP_BUDGET_MS / 1000, it + 1);
			it++;
			break;
		}
	}
	printf("    %s: %d runs, %d with checkpoints (%d in all), %d ended by the signal itself, %d hangs, "
	       "%d failures, %d runs left ref locks, %d repairs by the test; %.1f s\n",
	       tag, it, with_ck, total_ck, signaled, hangs, g_failures, c.stale_locks, repairs,
	       (now_ms() - t_start) / 1000);
	set_free(&c.commits);
	set_free(&c.objects);
	assert_int_equal(g_failures, 0);
}

static void test_sigint_group(void **state)
{
	(void)state;
	sigint_loop(1, iterations() / 2, 0x5eed0001);
}

static void test_sigint_runner(void **state)
{
	(void)state;
	sigint_loop(0, iterations() - iterations() / 2, 0x5eed0002);
}

/* ---- B: SIGKILL of the runner ---------------------------------------------- */

static int orphans_gone(double ms, char *buf, size_t size);

/* Run until `want` checkpoints were printed (or the run ended), then SIGINT its group; checks it ends well. */
static int run_until_checkpoints(checker *c, const char *tag, int it, int want)
{
	char ctx[64], before[41];
	snprintf(ctx, sizeof(ctx), "%s run %d", tag, it);
	memcpy(before, c->apply, 41);
	run *r = &g_run;
	run_start(r, tag, it);
	double end = now_ms() + 8000;
	int ck = 0;
	while (now_ms() < end && !run_wait(r, 0)) {
		char *out = tu_read_file(r->out);
		ck = count_substr(out, "Checkpoint experiment iteration '");
		free(out);
		if (ck >= want)
			break;
		sleep_ms(2);
	}
	int early = r->ended;
	if (!early)
		kill(-r->pid, SIGINT);
	int ended = run_wait(r, STOP_TIMEOUT_MS);
	char members[1024];
	if (!ended) {
		failf(ctx, "hang: still running %d ms after SIGINT to its group; killed", STOP_TIMEOUT_MS);
		run_kill_all(r);
	} else if (!group_wait_gone(r->pid, GONE_TIMEOUT_MS, members, sizeof(members))) {
		failf(ctx, "processes of the run outlived it by %d ms: %s", GONE_TIMEOUT_MS, members);
	}
	g_pgid = 0;
	char *out = tu_read_file(r->out), *err = tu_read_file(r->err);
	if (!out)
		out = strdup("");
	ck = count_substr(out, "Checkpoint experiment iteration '");
	if (early)
		failf(ctx, "the run ended by itself: status 0x%x; stdout:\n%s\nstderr:\n%s", r->status, tail(out, 600),
		      tail(err, 1500));
	else if (ck == 0)
		failf(ctx, "no checkpoint within 8 s; stderr:\n%s", tail(err, 1500));
	else if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
		failf(ctx, "%d checkpoints but status 0x%x (want exit 0); stderr:\n%s", ck, r->status, tail(err, 1500));
	else if (!promote_lines_ok(out))
		failf(ctx, "stdout does not end with the lines on promoting the experiment:\n%s", tail(out, 400));
	const char *e = line_starting(err, "ERROR");
	if (e)
		failf(ctx, "stderr has an error: %.*s", (int)strcspn(e, "\n"), e);
	check_repo(c, ctx);
	check_progress(c, ctx, before, ck > 0);
	printf("    %s: %d checkpoints, tip %.7s step %lld, %.2f s\n", ctx, ck, c->apply, c->last_step,
	       (now_ms() - r->t0) / 1000);
	fflush(stdout);
	free(out);
	free(err);
	return ck;
}

static void test_sigkill_runner(void **state)
{
	(void)state;
	char baseline[41];
	double t_start = now_ms();
	rng_seed(0x5eed000b);
	setup_repo(3000, 5, 2 << 20, baseline);
	checker c;
	checker_init(&c, baseline);
	const char *tag = "B";
	int n = iterations(), it, runs_with_commits = 0, orphans_slow = 0, failing_in_a_row = 0, repairs = 0;
	double worst_gone = 0;
	for (it = 0; it < n; it++) {
		char ctx[64], before[41];
		snprintf(ctx, sizeof(ctx), "%s run %d", tag, it + 1);
		memcpy(before, c.apply, 41);
		int delay = rng_range(20, 300);
		run *r = &g_run;
		run_start(r, tag, it + 1);
		sleep_ms(delay);
		int early = run_wait(r, 0);
		if (!early)
			kill(r->pid, SIGKILL);
		run_wait(r, 5000);
		double t_kill = now_ms();
		char members[1024];
		/* The stage has its own process group: the runner's group is the runner alone, and
		 * the shell and the trainer, orphaned, are reparented to us (the subreaper). */
		if (!group_wait_gone(r->pid, GONE_TIMEOUT_MS, members, sizeof(members)) ||
		    !orphans_gone(GONE_TIMEOUT_MS, members, sizeof(members))) {
			failf(ctx, "the trainer (or its shell) survived the runner's SIGKILL by %d ms (killed): %s",
			      GONE_TIMEOUT_MS, members);
			orphans_slow++;
		}
		double gone_ms = now_ms() - t_kill;
		if (gone_ms > worst_gone)
			worst_gone = gone_ms;
		g_pgid = 0;
		char *err = tu_read_file(r->err), *out = tu_read_file(r->out);
		if (early)
			failf(ctx, "the run ended by itself before the SIGKILL: status 0x%x; stdout:\n%s\nstderr:\n%s",
			      r->status, tail(out, 600), tail(err, 1500));
		const char *e = line_starting(err, "ERROR");
		if (e)
			failf(ctx, "stderr has an error: %.*s", (int)strcspn(e, "\n"), e);
		check_repo(&c, ctx);
		check_progress(&c, ctx, before, 0);
		runs_with_commits += strcmp(before, c.apply) != 0;
		if (early)
			repairs += repair_repo(&c, ctx);
		failing_in_a_row = early ? failing_in_a_row + 1 : 0;
		printf("    %s: SIGKILL at %3d ms, trainer gone in %4.0f ms, tip %.7s step %lld, %.2f s\n", ctx, delay,
		       gone_ms, c.apply, c.last_step, (now_ms() - r->t0) / 1000);
		fflush(stdout);
		free(err);
		free(out);
		if (failing_in_a_row >= 3) {
			failf(tag, "stopping after %d runs in a row that could not run: the repository does not recover",
			      failing_in_a_row);
			it++;
			break;
		}
		if (now_ms() - t_start > LOOP_BUDGET_MS) {
			failf(tag, "time budget of %d s exceeded after %d runs", LOOP_BUDGET_MS / 1000, it + 1);
			it++;
			break;
		}
	}
	/* The run after the last kill recovers too, and ends well on Ctrl+C. */
	run_until_checkpoints(&c, "B-final", 1, 2);
	char *du;
	sh(&du, "du -sh .dvc/cache | cut -f1");
	printf("    B: %d runs killed, %d of them moved the experiment, trainer gone at worst %.0f ms after the "
	       "kill, %zu commits and %zu cache objects checked (cache %.*s), %d runs left ref locks, %d repairs by "
	       "the test, %d failures; %.1f s\n",
	       it, runs_with_commits, worst_gone, c.commits.n, c.objects.n, (int)strcspn(du, "\n"), du, c.stale_locks,
	       repairs, g_failures, (now_ms() - t_start) / 1000);
	free(du);
	(void)orphans_slow;
	set_free(&c.commits);
	set_free(&c.objects);
	assert_int_equal(g_failures, 0);
}

/* ---- B': the kill points random kills rarely hit ----------------------------- */

/* A repository with one experiment of 3 checkpoints, ended by SIGINT. */
static void one_experiment(checker *c, char baseline[41])
{
	setup_repo(3000, 5, 4096, baseline);
	checker_init(c, baseline);
	run_until_checkpoints(c, "first", 1, 3);
	assert_int_equal(g_failures, 0);
}

/*
 * Killed after the experiment ref moved to a new checkpoint and before
 * EXEC_CHECKPOINT and EXEC_APPLY did (commit_checkpoint moves the three refs
 * one after the other): the refs are left as below, the workspace is the new
 * checkpoint's. The random kills of `sigkill_runner` land here too, now and
 * then; this makes it certain.
 */
static void test_kill_between_ref_updates(void **state)
{
	(void)state;
	char baseline[41], tip[41], parent[41];
	double t_start = now_ms();
	checker c;
	one_experiment(&c, baseline);
	memcpy(tip, c.apply, 41);
	char *out = sh_ok("parent", "git rev-parse %s^", tip);
	assert_true(take_sha(out, parent));
	free(out);
	free(sh_ok("torn refs", "git update-ref refs/exps/exec/EXEC_CHECKPOINT %s && "
				"git update-ref refs/exps/exec/EXEC_APPLY %s",
		   parent, parent));
	memcpy(c.apply, parent, 41);
	c.last_step = -1;
	c.tsv_rows = 0;
	printf("    experiment ref at %.7s; EXEC_CHECKPOINT and EXEC_APPLY left at its parent %.7s\n", tip, parent);
	run_until_checkpoints(&c, "after-torn-refs", 2, 2);
	printf("    %d failures; %.1f s\n", g_failures, (now_ms() - t_start) / 1000);
	set_free(&c.commits);
	set_free(&c.objects);
	assert_int_equal(g_failures, 0);
}

/*
 * Killed inside a ref update: libgit2 creates <ref>.lock, writes it and
 * renames it over the ref; a kill in between leaves the .lock. The run holds
 * the repository lock (.dvc/tmp/live-exp-run.lock), so no other `live`
 * writes refs/exps: the .lock is stale.
 */
static void test_kill_inside_ref_update(void **state)
{
	(void)state;
	char baseline[41];
	double t_start = now_ms();
	checker c;
	one_experiment(&c, baseline);
	char *ref = sh_ok("exp ref", "git for-each-ref --format='%%(refname)' --points-at %s 'refs/exps/%.2s/'",
			  c.apply, baseline);
	ref[strcspn(ref, "\n")] = 0;
	assert_true(ref[0]);
	free(sh_ok("stale lock", "touch '.git/%s.lock'", ref));
	printf("    stale .git/%s.lock\n", ref);
	free(ref);
	run_until_checkpoints(&c, "after-stale-ref-lock", 2, 2);
	printf("    %d failures; %.1f s\n", g_failures, (now_ms() - t_start) / 1000);
	set_free(&c.commits);
	set_free(&c.objects);
	assert_int_equal(g_failures, 0);
}

/* ---- C: torture: SIGKILL of the trainer and of the runner, hundreds of times -- */

/*
 * `torture_500` (issue #7 part 3): LIVE_TORTURE_KILLS runs (default 500) of
 * `live exp run`, in a fresh repository every LIVE_TORTURE_PER_REPO kills
 * (default 125: a few hundred checkpoints each, while `git fsck` after every
 * kill stays cheap), each run ended by one SIGKILL, alternately of
 * the trainer (even kills) and of the runner (odd kills), at a random instant
 * (fixed seed): mostly 0-8 ms after the run's 1st, 2nd or 3rd checkpoint was
 * printed (during the next step's model write, the next capture, the worker's
 * commit...), one kill in eight during the start (runner: 0-60 ms after its
 * start; trainer: 0-3 ms after it exists). After every kill:
 *
 *  - the run is over in time: a killed trainer's runner exits within 5 s
 *    (exit 0 when the run made checkpoints: DVC 2.39+ keeps them), a killed
 *    runner's stage (the shell and the trainer, orphans by then) within 3 s;
 *  - check_repo: `git fsck --strict`, every ref under refs/exps a commit with
 *    a readable history, every md5 of every committed dvc.lock in the cache
 *    with bytes that hash to it (md5sum);
 *  - every new experiment commit is one consistent step: its dvclive.json is
 *    valid JSON, and its "step", the step in model.pt and the last row of
 *    dvclive/loss.tsv and dvclive/acc.tsv (from the cache, every row parsed)
 *    are the same number;
 *  - the workspace: dvclive.json valid JSON, every dvclive/ *.tsv has its
 *    header and rows that parse with strictly increasing steps (a torn last
 *    line, with no LF, is allowed and counted: it is dropped on resume);
 *  - the run says "Existing checkpoint experiment ... will be resumed";
 *  - resume: the next run's first checkpoint has the last complete
 *    checkpoint (EXEC_APPLY, or the experiment ref's tip when a kill between
 *    the ref updates of a checkpoint left that one ahead) as its parent and
 *    its step + 1 as its step; with no complete checkpoint yet, it is step 0
 *    (nothing of a checkpoint that was not committed may leak into the
 *    experiment); plus check_progress (the chain, the tip's history).
 *
 * Nothing is repaired by the test. The loop stops (and fails) past
 * TORTURE_BUDGET_MS. LIVE_CRASH_SEED replays another seed.
 */

#define TORTURE_BUDGET_MS 420000
#define CK_LINE "Checkpoint experiment iteration '"

static int torture_kills(void)
{
	const char *s = getenv("LIVE_TORTURE_KILLS");
	int n = s && *s ? atoi(s) : 500;
	return n > 1 ? n : 2;
}

/* A process of /proc: pid, parent, state, command name. */
typedef struct proc {
	pid_t pid, ppid;
	char state;
	char comm[20];
} proc;

static proc g_procs[8192];

static int proc_scan(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < (int)(sizeof(g_procs) / sizeof(g_procs[0]))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], st[1024];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, st, sizeof(st) - 1);
		close(fd);
		if (len <= 0)
			continue;
		st[len] = 0;
		char *lp = strchr(st, '('), *rp = strrchr(st, ')');
		proc *p = &g_procs[n];
		int ppid;
		if (!lp || !rp || sscanf(rp + 2, "%c %d", &p->state, &ppid) != 2)
			continue;
		p->pid = (pid_t)atoi(de->d_name);
		p->ppid = (pid_t)ppid;
		snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(rp - lp - 1), lp + 1);
		n++;
	}
	closedir(d);
	return n;
}

/* The trainer: the live descendant of `root` named "train"; 0 if none. */
static pid_t find_trainer(pid_t root)
{
	int n = proc_scan();
	pid_t tree[64];
	int nt = 1;
	tree[0] = root;
	for (int grew = 1; grew && nt < 64;) {
		grew = 0;
		for (int i = 0; i < n && nt < 64; i++) {
			int in = 0, parent_in = 0;
			for (int k = 0; k < nt; k++) {
				in |= tree[k] == g_procs[i].pid;
				parent_in |= tree[k] == g_procs[i].ppid;
			}
			if (parent_in && !in) {
				tree[nt++] = g_procs[i].pid;
				grew = 1;
			}
		}
	}
	for (int i = 0; i < n; i++)
		for (int k = 1; k < nt; k++)
			if (g_procs[i].pid == tree[k] && !strcmp(g_procs[i].comm, "train") && g_procs[i].state != 'Z')
				return g_procs[i].pid;
	return 0;
}

/*
 * Live children of ours, described in buf: with PR_SET_CHILD_SUBREAPER the
 * orphans of a killed runner (its shell, the trainer) are reparented to us.
 * Zombies are reaped first; call it only when no run or popen is in flight.
 */
static int orphans(char *buf, size_t size)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	buf[0] = 0;
	int n = proc_scan(), found = 0;
	pid_t me = getpid();
	for (int i = 0; i < n; i++) {
		if (g_procs[i].ppid != me || g_procs[i].state == 'Z' || g_procs[i].state == 'X')
			continue;
		found++;
		size_t used = strlen(buf);
		if (used + 40 < size)
			snprintf(buf + used, size - used, "%s%d (%s)", used ? ", " : "", (int)g_procs[i].pid,
				 g_procs[i].comm);
	}
	return found;
}

/* Wait up to `ms` for the orphans to go; 1 if they did, else SIGKILL them and say 0. */
static int orphans_gone(double ms, char *buf, size_t size)
{
	double end = now_ms() + ms;
	while (orphans(buf, size) > 0) {
		if (now_ms() >= end) {
			int n = proc_scan();
			for (int i = 0; i < n; i++)
				if (g_procs[i].ppid == getpid() && g_procs[i].state != 'Z')
					kill(g_procs[i].pid, SIGKILL);
			char ignore[64];
			double hard = now_ms() + 2000;
			while (orphans(ignore, sizeof(ignore)) > 0 && now_ms() < hard)
				sleep_ms(2);
			return 0;
		}
		sleep_ms(1);
	}
	return 1;
}

/*
 * A history (TSV) as liblive writes it: the header "timestamp\tstep\t<name>",
 * rows "<ms>\t<step>\t<value>" with strictly increasing steps. *last = the
 * last step (-1 if no rows), *torn = 1 if the text ends in a line with no LF
 * (then that line is not judged). Returns 0, or -1 with why[] filled.
 */
static int tsv_parse(const char *text, const char *name, long long *last, int *torn, char *why, size_t wsize)
{
	*last = -1;
	*torn = 0;
	char head[300];
	snprintf(head, sizeof(head), "timestamp\tstep\t%s\n", name);
	if (strncmp(text, head, strlen(head)) != 0) {
		snprintf(why, wsize, "header is '%.60s', want 'timestamp\\tstep\\t%s'", text, name);
		return -1;
	}
	const char *p = text + strlen(head);
	for (long long row = 2; *p; row++) {
		size_t len = strcspn(p, "\n");
		if (!p[len]) {
			*torn = 1;
			break;
		}
		char line[256];
		snprintf(line, sizeof(line), "%.*s", (int)(len < 255 ? len : 255), p);
		long long ts, step;
		int off = 0;
		char *end = NULL;
		double v = 0;
		if (sscanf(line, "%lld\t%lld\t%n", &ts, &step, &off) != 2 || off == 0 || !line[off]) {
			snprintf(why, wsize, "row %lld is not a row: '%s'", row, line);
			return -1;
		}
		v = strtod(line + off, &end);
		(void)v;
		if (!end || *end || end == line + off) {
			snprintf(why, wsize, "row %lld: value '%s' is not a number", row, line + off);
			return -1;
		}
		if (step <= *last) {
			snprintf(why, wsize, "row %lld: step %lld after step %lld", row, step, *last);
			return -1;
		}
		*last = step;
		p += len + 1;
	}
	return 0;
}

/* A sha -> step map of the experiment commits checked (the step all its files agree on). */
typedef struct stepmap {
	struct stepent {
		char sha[41];
		long long step;
	} *v;
	size_t n, cap;
} stepmap;

static void stepmap_put(stepmap *m, const char *sha, long long step)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		assert_non_null(m->v);
	}
	snprintf(m->v[m->n].sha, 41, "%s", sha);
	m->v[m->n++].step = step;
}

/* -2 if unknown. */
static long long stepmap_get(const stepmap *m, const char *sha)
{
	for (size_t i = m->n; i-- > 0;)
		if (!strcmp(m->v[i].sha, sha))
			return m->v[i].step;
	return -2;
}

/* The next object of `git cat-file --batch` output: 1 and its bytes, 0 if missing, -1 at the end. */
static int batch_next(char **p, const char **data, size_t *len)
{
	if (!**p)
		return -1;
	size_t hl = strcspn(*p, "\n");
	char head[256];
	snprintf(head, sizeof(head), "%.*s", (int)(hl < 255 ? hl : 255), *p);
	*p += hl + ((*p)[hl] ? 1 : 0);
	char oid[64], type[16];
	size_t size;
	if (sscanf(head, "%63s %15s %zu", oid, type, &size) != 3)
		return 0; /* "<spec> missing" */
	*data = *p;
	*len = size;
	*p += size;
	if (**p == '\n')
		(*p)++;
	return 1;
}

/* The last step of a cached TSV of the manifest `dir_md5` (relpath `rel`); -2 if unreadable. */
static long long cached_tsv_last(const char *ctx, const char *sha, const char *dir_md5, const char *rel)
{
	char *mp = cache_path(dir_md5);
	char *json = tu_read_file(mp);
	free(mp);
	cJSON *arr = json ? cJSON_Parse(json) : NULL;
	free(json);
	const char *md5 = NULL;
	cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "md5");
		cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "relpath");
		if (cJSON_IsString(m) && cJSON_IsString(r) && !strcmp(r->valuestring, rel))
			md5 = m->valuestring;
	}
	long long last = -2;
	if (!md5) {
		failf(ctx, "commit %.7s: its dvclive manifest %s lists no %s", sha, dir_md5, rel);
	} else {
		char *tp = cache_path(md5);
		char *tsv = tu_read_file(tp);
		free(tp);
		char name[64], why[300];
		snprintf(name, sizeof(name), "%.*s", (int)(strlen(rel) - 4), rel);
		int torn;
		if (tsv && tsv_parse(tsv, name, &last, &torn, why, sizeof(why)) != 0) {
			failf(ctx, "commit %.7s: committed dvclive/%s: %s", sha, rel, why);
			last = -2;
		} else if (tsv && torn) {
			failf(ctx, "commit %.7s: committed dvclive/%s ends in a torn line", sha, rel);
			last = -2;
		}
		free(tsv);
	}
	cJSON_Delete(arr);
	return last;
}

/*
 * Every experiment commit not seen before is one consistent step: its
 * summary parses, and its "step", model.pt's step and the last rows of
 * loss.tsv and acc.tsv agree. Steps go into `m`. (A missing dvc.lock or cache
 * object is check_repo's to report.)
 */
static void check_commits(checker *c, strset *seen, stepmap *m, const char *ctx)
{
	char *out;
	int st = sh(&out, "git rev-list $(git for-each-ref --format='%%(objectname)' refs/exps/%.2s/) --not %s",
		    c->baseline, c->baseline);
	if (st != 0) {
		failf(ctx, "git rev-list of the experiments: exit %d: %s", st, tail(out, 600));
		free(out);
		return;
	}
	char *in_path = xfmt("%s/commits.in", g_logs);
	FILE *in = fopen(in_path, "w");
	assert_non_null(in);
	size_t n = 0, cap = 64;
	char (*shas)[41] = malloc(cap * sizeof(*shas));
	assert_non_null(shas);
	for (char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		char sha[41];
		if (len == 40 && take_sha(p, sha) && !set_has(seen, sha)) {
			if (n == cap) {
				shas = realloc(shas, (cap *= 2) * sizeof(*shas));
				assert_non_null(shas);
			}
			memcpy(shas[n++], sha, 41);
			fprintf(in, "%s:dvc.lock\n%s:dvclive.json\n", sha, sha);
		}
		p += len + (p[len] ? 1 : 0);
	}
	fclose(in);
	free(out);
	if (n) {
		st = sh(&out, "git cat-file --batch < '%s'", in_path);
		if (st != 0)
			failf(ctx, "git cat-file --batch: exit %d: %s", st, tail(out, 600));
		char *p = out;
		for (size_t i = 0; i < n; i++) {
			const char *sha = shas[i], *lock = NULL, *sum = NULL;
			size_t lock_len = 0, sum_len = 0;
			int has_lock = batch_next(&p, &lock, &lock_len);
			int has_sum = batch_next(&p, &sum, &sum_len);
			if (has_lock < 0 || has_sum < 0)
				break;
			set_add(seen, sha);
			long long model = -2, loss = -2, acc = -2, summary = -2;
			if (has_sum != 1) {
				failf(ctx, "commit %.7s has no dvclive.json", sha);
			} else {
				cJSON *j = cJSON_ParseWithLength(sum, sum_len);
				cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step");
				if (!cJSON_IsObject(j))
					failf(ctx, "commit %.7s: dvclive.json is not a JSON object: '%.*s'", sha,
					      (int)(sum_len < 200 ? sum_len : 200), sum);
				else if (!cJSON_IsNumber(s))
					failf(ctx, "commit %.7s: dvclive.json has no step: '%.*s'", sha,
					      (int)(sum_len < 200 ? sum_len : 200), sum);
				else
					summary = (long long)s->valuedouble;
				cJSON_Delete(j);
			}
			if (has_lock == 1) {
				char *l = strndup(lock, lock_len);
				outent o[16];
				int no = lock_outs(l, o, 16);
				free(l);
				const char *mm = no > 0 ? out_md5(o, no, "model.pt") : NULL;
				const char *dm = no > 0 ? out_md5(o, no, "dvclive") : NULL;
				if (mm && is_md5(mm, 0)) {
					char *mp = cache_path(mm);
					char *bytes = tu_read_file(mp);
					free(mp);
					if (bytes && sscanf(bytes, "step=%lld", &model) != 1)
						failf(ctx, "commit %.7s: model.pt (%s) does not start with step=", sha, mm);
					free(bytes);
				}
				if (dm && is_md5(dm, 1)) {
					loss = cached_tsv_last(ctx, sha, dm, "loss.tsv");
					acc = cached_tsv_last(ctx, sha, dm, "acc.tsv");
				}
			}
			if (model >= 0 && summary >= 0 && loss >= -1 && acc >= -1) {
				if (model != summary || model != loss || model != acc)
					failf(ctx,
					      "commit %.7s is not one step: model.pt at step %lld, dvclive.json at %lld, "
					      "loss.tsv ends at %lld, acc.tsv at %lld",
					      sha, model, summary, loss, acc);
				stepmap_put(m, sha, model);
			}
		}
		free(out);
	}
	free(shas);
	free(in_path);
}

/* The workspace: dvclive.json valid JSON, every dvclive/ *.tsv parses. Returns the number of torn lines. */
static int check_workspace(const char *ctx)
{
	char *path = xfmt("%s/dvclive.json", g_repo);
	char *json = tu_read_file(path);
	free(path);
	if (json) {
		cJSON *j = cJSON_Parse(json);
		if (!cJSON_IsObject(j))
			failf(ctx, "workspace dvclive.json is not a JSON object: '%.200s'", json);
		cJSON_Delete(j);
		free(json);
	}
	int torn_lines = 0;
	char *dir = xfmt("%s/dvclive", g_repo);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".tsv"))
			continue;
		char *fp = xfmt("%s/%s", dir, de->d_name);
		char *tsv = tu_read_file(fp);
		free(fp);
		char name[256], why[300];
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), de->d_name);
		long long last;
		int torn;
		if (tsv && tsv_parse(tsv, name, &last, &torn, why, sizeof(why)) != 0)
			failf(ctx, "workspace dvclive/%s: %s", de->d_name, why);
		else if (tsv && torn)
			torn_lines++;
		free(tsv);
	}
	if (d)
		closedir(d);
	free(dir);
	return torn_lines;
}

/*
 * The last complete checkpoint: the experiment ref's tip that is EXEC_APPLY,
 * or that is EXEC_APPLY's child (the run was killed between moving the
 * experiment ref and EXEC_APPLY; `live exp run` resumes from the ref), or,
 * with no EXEC_APPLY, the baseline's (killed so on the first checkpoint). ""
 * before any. *nrefs = the number of experiments.
 */
static void last_complete(const checker *c, char lc[41], int *nrefs, int *torn)
{
	char apply[41], *out;
	lc[0] = 0;
	*nrefs = 0;
	ref_sha("refs/exps/exec/EXEC_APPLY", apply);
	sh(&out, "git for-each-ref --format='%%(objectname) %%(parent)' 'refs/exps/%.2s/%s/'", c->baseline,
	   c->baseline + 2);
	char child[41] = "";
	for (char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		char tip[41], parent[41];
		if (len >= 81 && take_sha(p, tip) && take_sha(p + 41, parent)) {
			(*nrefs)++;
			if (apply[0] && !strcmp(tip, apply))
				memcpy(lc, tip, 41);
			else if (!strcmp(parent, apply[0] ? apply : c->baseline))
				memcpy(child, tip, 41);
		} else if (len) {
			(*nrefs)++;
		}
		p += len + (p[len] ? 1 : 0);
	}
	free(out);
	/* torn: EXEC_APPLY is not an experiment's tip (killed between the ref updates of a checkpoint) */
	*torn = !lc[0] && (apply[0] || child[0]);
	if (!lc[0])
		memcpy(lc, child[0] ? child : apply, 41);
}

/* The run resumed from `lc` (its first new commit is lc's child, one step on). `now` = the new last complete. */
static void check_resumed(const checker *c, const stepmap *m, const char *ctx, const char *lc, const char *now)
{
	const char *from = lc[0] ? lc : c->baseline;
	if (!now[0] || !strcmp(now, from))
		return;
	char *out;
	if (sh(&out, "git merge-base --is-ancestor %s %s", from, now) != 0) {
		failf(ctx, "the new last checkpoint %.7s does not descend from the last complete one %.7s", now, from);
		free(out);
		return;
	}
	free(out);
	char first[41], parent[41];
	sh(&out, "git rev-list --reverse --ancestry-path %s..%s | head -n 1", from, now);
	int ok = take_sha(out, first);
	free(out);
	if (!ok) {
		failf(ctx, "no commit between %.7s and %.7s", from, now);
		return;
	}
	sh(&out, "git rev-parse %s^", first);
	ok = take_sha(out, parent);
	free(out);
	if (!ok || strcmp(parent, from))
		failf(ctx, "the run's first checkpoint %.7s has parent %.7s, not the last complete checkpoint %.7s",
		      first, parent, from);
	long long want = lc[0] ? stepmap_get(m, lc) + 1 : 0, got = stepmap_get(m, first);
	if (lc[0] && want >= 0 && got >= -1 && got != want)
		failf(ctx, "the run's first checkpoint %.7s is step %lld, want %lld (the step after %.7s's)", first,
		      got, want, from);
	else if (!lc[0] && got > 0)
		failf(ctx, "no complete checkpoint before this run, but its first checkpoint %.7s (on the baseline) is "
			   "step %lld, not 0: the trainer went on from a model.pt that no complete checkpoint holds",
		      first, got);
}

static int torture_per_repo(void)
{
	const char *s = getenv("LIVE_TORTURE_PER_REPO");
	int n = s && *s ? atoi(s) : 125;
	return n > 1 ? n : 2;
}

/* What the torture loop counts, over all its repositories. */
typedef struct tstats {
	int kills[2]; /* [0] runner, [1] trainer */
	int startup_kills, torn, torn_refs, total_ck, runs_moved, modified, stale_locks, max_refs;
	size_t commits;
	double worst_end, worst_gone, t_checks, t_repo;
} tstats;

/*
 * One SIGKILL (of the trainer or of the runner) in the repository of `c`, and
 * every check after it. Returns 1 if the run ended by itself before the kill.
 */
static int torture_kill(checker *c, strset *seen, stepmap *steps, char lc[41], int it, tstats *t)
{
	const int trainer = it % 2 == 0;
	char ctx[64], before[41];
	snprintf(ctx, sizeof(ctx), "C kill %d (%s)", it + 1, trainer ? "trainer" : "runner");
	memcpy(before, c->apply, 41);
	const int startup = rng_range(0, 7) == 0;
	const int want_ck = startup ? 0 : rng_range(1, 3);
	const int delay_us = startup ? rng_range(0, trainer ? 3000 : 60000) : rng_range(0, 8000);
	run *r = &g_run;
	run_start(r, "C", it + 1);
	/* The moment: `delay_us` after the run printed its `want_ck`th checkpoint, or after the start. */
	double give_up = r->t0 + 8000;
	int ck = 0, reached = 0;
	while (!run_wait(r, 0) && now_ms() < give_up) {
		if (want_ck) {
			char *o = tu_read_file(r->out);
			ck = count_substr(o, CK_LINE);
			free(o);
			reached = ck >= want_ck;
		} else {
			reached = !trainer || find_trainer(r->pid) > 0;
		}
		if (reached)
			break;
		sleep_ms(0.5);
	}
	int early = r->ended;
	sleep_ms(delay_us / 1000.0);
	early |= run_wait(r, 0);
	pid_t victim = trainer ? find_trainer(r->pid) : r->pid;
	double t_kill = now_ms();
	if (early) {
		char *err = tu_read_file(r->err);
		failf(ctx, "the run ended by itself before the kill: status 0x%x; stderr: %s", r->status,
		      tail(err, 600));
		free(err);
	}
	else if (!reached)
		failf(ctx, "no %s within 8 s", want_ck ? "checkpoint" : "trainer process");
	if (!early && victim > 0) {
		kill(victim, SIGKILL);
		t->kills[trainer]++;
		t->startup_kills += startup;
	} else if (!early) {
		failf(ctx, "no trainer process to kill");
	}

	/* The run is over in time, and nothing of it outlives it. */
	char members[1024];
	int ended = run_wait(r, STOP_TIMEOUT_MS);
	double end_ms = now_ms() - t_kill;
	if (trainer && end_ms > t->worst_end)
		t->worst_end = end_ms;
	if (!ended) {
		failf(ctx, "hang: `live exp run` still running %d ms after its %s was killed; killed", STOP_TIMEOUT_MS,
		      trainer ? "trainer" : "runner");
		run_kill_all(r);
	}
	double t_gone = now_ms();
	if (!orphans_gone(GONE_TIMEOUT_MS, members, sizeof(members)))
		failf(ctx, "processes of the run outlived it by %d ms (killed): %s", GONE_TIMEOUT_MS, members);
	if (!trainer && now_ms() - t_gone > t->worst_gone)
		t->worst_gone = now_ms() - t_gone;
	g_pgid = 0;

	/* What it printed. */
	char *out = tu_read_file(r->out), *err = tu_read_file(r->err);
	if (!out)
		out = strdup("");
	if (!err)
		err = strdup("");
	ck = count_substr(out, CK_LINE);
	t->total_ck += ck;
	const char *e = line_starting(err, "ERROR");
	if (trainer && ended && ck > 0 && (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0))
		failf(ctx, "%d checkpoints, then the trainer was killed: `live exp run` status 0x%x (want exit 0); "
			   "stderr: %s",
		      ck, r->status, tail(err, 600));
	else if (e && (ck > 0 || !trainer))
		failf(ctx, "stderr has an error: %.*s", (int)strcspn(e, "\n"), e);
	t->modified += strstr(out, "Modified checkpoint experiment") != NULL;
	if (lc[0] && !strstr(out, "Existing checkpoint experiment '") && !strstr(out, "Modified checkpoint") &&
	    line_starting(out, "Running stage 'train'"))
		failf(ctx, "the run did not resume (no 'Existing checkpoint experiment ... will be resumed'):\n%s",
		      tail(out, 400));

	/* The repository, the commits, the workspace, the resume. */
	double t0 = now_ms();
	check_repo(c, ctx);
	double t1 = now_ms();
	check_commits(c, seen, steps, ctx);
	t->torn += check_workspace(ctx);
	char now[41];
	int nrefs, torn_refs;
	last_complete(c, now, &nrefs, &torn_refs);
	check_resumed(c, steps, ctx, lc, now);
	t->torn_refs += torn_refs;
	check_progress(c, ctx, before, 0);
	t->t_repo += t1 - t0;
	t->runs_moved += strcmp(lc, now) != 0;
	if (nrefs > t->max_refs)
		t->max_refs = nrefs;
	memcpy(lc, now, 41);
	t->t_checks += now_ms() - t0;
	printf("    %s: %s%5.1f ms after %s, %d checkpoints, exit %d, last complete %.7s step %lld, %.2f s\n", ctx,
	       startup ? "start " : "", delay_us / 1000.0,
	       want_ck == 1 ? "ck 1" : want_ck == 2 ? "ck 2" : want_ck == 3 ? "ck 3" : trainer ? "spawn" : "start", ck,
	       !ended ? -999 : WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -WTERMSIG(r->status), lc,
	       stepmap_get(steps, lc), (now_ms() - r->t0) / 1000);
	free(out);
	free(err);
	return early;
}

static void test_torture_500(void **state)
{
	(void)state;
	double t_start = now_ms();
	rng_seed(0x70127a5eULL);
	const int n = torture_kills(), per_repo = torture_per_repo();
	const char *keep = getenv("LIVE_CRASH_KEEP");
	char root[1024];
	assert_non_null(getcwd(root, sizeof(root)));
	tstats t;
	memset(&t, 0, sizeof(t));
	int it = 0, repos = 0, over = 0;
	/*
	 * A fresh repository every `per_repo` kills (each gets a few hundred
	 * checkpoints): `git fsck` after every kill reads every object, so one
	 * repository for all would make the loop quadratic in time.
	 */
	while (it < n && !over) {
		char *dir = xfmt("%s/repo%d", root, ++repos);
		assert_int_equal(mkdir(dir, 0755), 0);
		assert_int_equal(chdir(dir), 0);
		char baseline[41], lc[41];
		setup_repo(1000000000LL, 1, 4096, baseline);
		checker c;
		checker_init(&c, baseline);
		strset seen = { 0 };
		stepmap steps = { 0 };
		int nrefs, torn_refs;
		last_complete(&c, lc, &nrefs, &torn_refs);
		for (int end = it + per_repo < n ? it + per_repo : n, in_a_row = 0; it < end && !over; it++) {
			in_a_row = torture_kill(&c, &seen, &steps, lc, it, &t) ? in_a_row + 1 : 0;
			if (in_a_row >= 5) {
				failf("C", "stopping after %d runs in a row that could not run: the repository does not "
					   "recover",
				      in_a_row);
				over = 1;
			}
			if (now_ms() - t_start > TORTURE_BUDGET_MS) {
				failf("C", "time budget of %d s exceeded after %d kills", TORTURE_BUDGET_MS / 1000, it + 1);
				over = 1;
			}
		}
		/* The run after the last kill resumes too, and ends well on Ctrl+C. */
		char ctx[64], now[41];
		snprintf(ctx, sizeof(ctx), "C-final repo %d", repos);
		run_until_checkpoints(&c, ctx, repos, 2);
		check_commits(&c, &seen, &steps, ctx);
		last_complete(&c, now, &nrefs, &torn_refs);
		check_resumed(&c, &steps, ctx, lc, now);
		char *du;
		sh(&du, "du -sh .dvc/cache .git | cut -f1 | tr '\\n' ' '");
		printf("    repo %d: %zu commits checked, cache and .git: %s\n", repos, seen.n, du);
		free(du);
		t.commits += seen.n;
		t.stale_locks += c.stale_locks;
		set_free(&seen);
		set_free(&c.commits);
		set_free(&c.objects);
		free(steps.v);
		assert_int_equal(chdir(root), 0);
		if (!(keep && *keep == '1')) {
			char *rm = xfmt("rm -rf '%s'", dir);
			(void)!system(rm);
			free(rm);
		}
		free(dir);
	}
	snprintf(g_top, sizeof(g_top), "%s", root); /* teardown's "kept" */
	int kills = t.kills[0] + t.kills[1];
	printf("    torture: %d kills (%d of the trainer, %d of the runner; %d during the start) in %d repositories, "
	       "%d checkpoints printed, %d runs moved the experiment, %d made a modified experiment, %d times "
	       "EXEC_APPLY was not an experiment's tip (a kill between ref updates), %d torn TSV lines in the workspace, %d ref lock files "
	       "left, at most %d experiments per repository, %zu commits checked; a killed trainer's run over in "
	       "%.0f ms at worst, a killed runner's stage gone in %.0f ms at worst; checks %.1f s (fsck, refs "
	       "and cache %.1f s)\n",
	       kills, t.kills[1], t.kills[0], t.startup_kills, repos, t.total_ck, t.runs_moved, t.modified,
	       t.torn_refs, t.torn, t.stale_locks, t.max_refs, t.commits, t.worst_end, t.worst_gone,
	       t.t_checks / 1000, t.t_repo / 1000);
	for (int k = 0; k < 64 && g_kinds[k].fmt; k++)
		printf("    violations of the kind \"%.90s\": %d\n", g_kinds[k].fmt, g_kinds[k].n);
	printf("    torture: %d kills, %d violations; %.1f s\n", kills, g_failures, (now_ms() - t_start) / 1000);
	assert_true(kills >= n || g_failures > 0);
	assert_int_equal(g_failures, 0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* No argument: A, B, B'. --torture: C alone (its own ctest entry, test_cli_torture). --all: both. */
	int torture = argc > 1 && !strcmp(argv[1], "--torture"), all = argc > 1 && !strcmp(argv[1], "--all");
	if (argc > 2 || (argc == 2 && !torture && !all)) {
		fprintf(stderr, "usage: %s [--torture | --all]\n", argv[0]);
		return 2;
	}
	const char *only = getenv("LIVE_CRASH_ONLY"); /* a test name pattern, e.g. "*sigkill*" */
	if (only && *only)
		cmocka_set_test_filter(only);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigint_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigint_runner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_runner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_between_ref_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_inside_ref_update, setup, teardown),
	};
	const struct CMUnitTest torture_tests[] = {
		cmocka_unit_test_setup_teardown(test_torture_500, setup, teardown),
	};
	int failed = 0;
	if (!torture)
		failed += cmocka_run_group_tests_name("crash", tests, NULL, NULL);
	if (torture || all)
		failed += cmocka_run_group_tests_name("torture", torture_tests, NULL, NULL);
	return failed;
}
