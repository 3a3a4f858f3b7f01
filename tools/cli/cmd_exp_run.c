/*
 * live exp run: run the pipeline; every step of the checkpoint stage becomes
 * a git commit on an experiment ref (SPEC 3, reference/dvc-checkpoints.md).
 *
 * Order of a checkpoint, chosen so that a kill at any instant leaves nothing
 * partial behind: outs into the cache, then dvc.lock, then the commit
 * object, then the refs (each ref moves atomically). A checkpoint whose ref
 * did not move is simply absent; its objects are unreachable garbage.
 *
 * Unlike DVC 2.x, EXEC_APPLY also moves at every checkpoint, so a run killed
 * mid-way resumes from its last complete checkpoint.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "runner.h"
#include "tracker.h"

#include "exp_run.h"

/* ---- helpers ------------------------------------------------------------- */

static int ck_out(const tr_stage *s, const tr_out **live)
{
	int ck = 0;
	*live = NULL;
	for (size_t i = 0; i < s->nouts; i++) {
		ck |= s->outs[i].checkpoint;
		if (s->outs[i].kind == TR_LIVE)
			*live = &s->outs[i];
	}
	return ck;
}

/* Outs, dvc.lock and .gitignore files are results, not changes a user made. */
int exprun_is_result_path(const exp *e, const char *path)
{
	if (!strcmp(path, "dvc.lock") || !strcmp(path, ".gitignore"))
		return 1;
	size_t pl = strlen(path);
	if (pl >= 11 && !strcmp(path + pl - 11, "/.gitignore"))
		return 1;
	for (size_t i = 0; i < e->p.n; i++) {
		const tr_stage *s = &e->p.stages[i];
		for (size_t k = 0; k < s->nouts; k++) {
			const char *o = s->outs[k].path;
			size_t n = strlen(o);
			if (!strncmp(path, o, n) && (path[n] == 0 || path[n] == '/' || !strcmp(path + n, ".json") ||
						     !strcmp(path + n, ".html")))
				return 1;
		}
	}
	return 0;
}

/* ---- the repository lock --------------------------------------------------- */

static int remove_stale_lock(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	size_t n = strlen(path);
	if (flag == FTW_F && n > 5 && !strcmp(path + n - 5, ".lock")) {
		fprintf(stderr, "WARNING: removing %s, left by a killed run\n", path);
		unlink(path);
	}
	return 0;
}

static int take_repo_lock(const char *root, int *fd_out)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/.dvc/tmp/live-exp-run.lock", root);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return cli_error("cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char who[64] = "";
		ssize_t n = pread(fd, who, sizeof(who) - 1, 0);
		who[n > 0 ? n : 0] = 0;
		who[strcspn(who, "\n")] = 0;
		close(fd);
		return cli_error("another `live exp run` (%s) is running in this repository (lock: "
				 ".dvc/tmp/live-exp-run.lock); wait for it or stop it first",
				 who[0] ? who : "pid unknown");
	}
	/* The kernel drops a flock with its holder, so a killed run leaves no stale lock. */
	char who[64];
	int n = snprintf(who, sizeof(who), "pid %ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)n, 0) != n)
		fprintf(stderr, "WARNING: cannot record the lock holder in %s\n", path);
	*fd_out = fd;
	/* A run killed inside a ref update leaves git's <ref>.lock behind; holding
	 * our lock, nothing else of ours can be writing these refs. */
	char refs[PATH_MAX + 64];
	snprintf(refs, sizeof(refs), "%s/.git/refs/exps", root);
	nftw(refs, remove_stale_lock, 16, FTW_PHYS);
	return 0;
}

/* ---- saving and committing ------------------------------------------------ */

static int save_stage(exp *e, const tr_stage *s, int print)
{
	tr_lock_stage ls;
	int rc = tr_stage_hash(e->st, e->root, s, 0, 1, &ls);
	if (rc)
		return rc;
	rc = tr_lock_set_stage(&e->lock, &ls);
	tr_lock_stage_free(&ls);
	int changed = 0, created = 0;
	if (!rc)
		rc = tr_lock_write(e->root, &e->lock, &changed, &created);
	if (!rc && changed && print)
		printf("%s lock file 'dvc.lock'\n", created ? "Generating" : "Updating");
	return rc;
}

static int add_file(const char ***files, size_t *n, size_t *cap, const char *path)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*files)[i], path))
			return 0;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		const char **f = realloc(*files, *cap * sizeof(*f));
		if (!f)
			return live__fail(LIVE_ENOMEM, "out of memory");
		*files = f;
	}
	(*files)[(*n)++] = path;
	return 0;
}

/* Every regular file below `dir`, as "<dir>/<path>" strings the caller owns. */
static int list_files(const char *dir, char ***v, size_t *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			return live__fail(LIVE_ENOMEM, "out of memory");
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = list_files(path, v, n);
			free(path);
		} else if (S_ISREG(st.st_mode)) {
			char **p = realloc(*v, (*n + 1) * sizeof(*p));
			if (!p) {
				free(path);
				rc = live__fail(LIVE_ENOMEM, "out of memory");
			} else {
				*v = p;
				(*v)[(*n)++] = path;
			}
		} else {
			free(path);
		}
	}
	closedir(d);
	return rc;
}

/* The commit's files: what DVC `git add`s, plus every tracked file the user changed. */
static int commit_checkpoint(exp *e, int only_if_changed, const tr_capture *cap, char sha[41])
{
	const char **paths = NULL;
	size_t n = 0, ncap = 0;
	char **changed = NULL;
	size_t nchanged = 0;
	char ignores[64][512];
	size_t nignores = 0;
	char **inside = NULL; /* files of uncached folder outs */
	size_t ninside = 0;
	int rc = add_file(&paths, &n, &ncap, "dvc.yaml");
	if (!rc)
		rc = add_file(&paths, &n, &ncap, "dvc.lock");
	for (size_t i = 0; !rc && i < e->p.n; i++) {
		const tr_stage *s = &e->p.stages[i];
		for (size_t k = 0; !rc && k < s->nouts; k++) {
			const tr_out *o = &s->outs[k];
			struct stat st;
			if (o->cache && nignores < 64) {
				rc = tr_gitignore_add(e->root, o->path, ignores[nignores], sizeof(ignores[0]));
				if (!rc)
					rc = add_file(&paths, &n, &ncap, ignores[nignores++]);
			}
			if (!rc && !o->cache && stat(o->path, &st) == 0 && S_ISREG(st.st_mode))
				rc = add_file(&paths, &n, &ncap, o->path);
			/* An uncached folder (--live-no-cache, -O dir) goes into git file by file:
			 * as captured at the step for the checkpoint stage, else as on disk. */
			if (!rc && !o->cache && stat(o->path, &st) == 0 && S_ISDIR(st.st_mode)) {
				size_t from = ninside;
				const tr_capture_out *co = NULL;
				for (size_t c = 0; cap && s == e->ck && c < cap->n; c++)
					if (!strcmp(cap->outs[c].path, o->path))
						co = &cap->outs[c];
				if (co) {
					for (size_t f = 0; !rc && f < co->n; f++) {
						char **p = realloc(inside, (ninside + 1) * sizeof(*p));
						if (!p || asprintf(&p[ninside], "%s/%s", o->path, co->files[f].relpath) < 0)
							rc = live__fail(LIVE_ENOMEM, "out of memory");
						if (p)
							inside = p;
						if (!rc)
							ninside++;
					}
				} else {
					rc = list_files(o->path, &inside, &ninside);
				}
				for (size_t f = from; !rc && f < ninside; f++)
					rc = add_file(&paths, &n, &ncap, inside[f]);
			}
		}
	}
	if (!rc)
		rc = tr_git_changed_paths(e->g, e->parent, &changed, &nchanged);
	for (size_t i = 0; !rc && i < nchanged; i++)
		rc = add_file(&paths, &n, &ncap, changed[i]);
	/* The live summary (dvclive.json) is committed too. */
	char summary[600] = "";
	for (size_t k = 0; !rc && e->ck && k < e->ck->nouts; k++)
		if (e->ck->outs[k].kind == TR_LIVE && e->ck->outs[k].summary) {
			snprintf(summary, sizeof(summary), "%s.json", e->ck->outs[k].path);
			struct stat st;
			if (stat(summary, &st) == 0 || (cap && cap->summary_rel))
				rc = add_file(&paths, &n, &ncap, summary);
		}

	tr_git_file *files = rc ? NULL : calloc(n + 1, sizeof(*files));
	if (!rc && !files)
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < n; i++) {
		struct stat st;
		files[i].rel = paths[i];
		/* What the trainer wrote is taken as captured at the step, not as it is now. */
		const tr_capture_file *f = tr_capture_find(cap, paths[i]);
		if (f) {
			files[i].data = f->data;
			files[i].len = f->len;
		} else if (cap && cap->summary_rel && !strcmp(cap->summary_rel, paths[i])) {
			files[i].data = cap->summary;
			files[i].len = cap->summary_len;
		} else if (e->lock_data && !strcmp(paths[i], "dvc.lock")) {
			files[i].data = e->lock_data;
			files[i].len = e->lock_len;
		} else {
			files[i].remove = lstat(paths[i], &st) != 0;
		}
	}

	char hash[65] = "";
	if (!rc) {
		/* The experiment hash: what the checkpoint holds, and where it sits. */
		live__buf b = { 0 };
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		char extra[128];
		int xn = snprintf(extra, sizeof(extra), "\n%s\n%lld.%09ld\n", e->parent, (long long)ts.tv_sec,
				  ts.tv_nsec);
		rc = tr_lock_render(&e->lock, &b);
		if (!rc)
			rc = live__buf_append(&b, extra, (size_t)xn);
		if (!rc)
			tr_sha256(b.data, b.len, hash);
		live__buf_free(&b);
	}
	if (!rc)
		rc = only_if_changed ? tr_git_commit_if_changed(e->g, e->parent, files, n, hash, sha)
				     : tr_git_commit(e->g, e->parent, files, n, hash, sha);
	if (!rc && sha[0]) {
		/* EXEC_CHECKPOINT and EXEC_APPLY first, the experiment ref last: a run
		 * killed in between leaves EXEC_APPLY one commit past the ref's tip,
		 * which the next run recognises and completes (plan_resume). */
		char existing[41];
		if (!e->ref[0]) {
			if (!e->name[0])
				snprintf(e->name, sizeof(e->name), "exp-%.5s", hash);
			rc = tr_exp_ref_name(e->baseline, e->name, e->ref, sizeof(e->ref));
			if (!rc && !e->reset && tr_git_ref_get(e->g, e->ref, existing) == 0)
				rc = live__fail(LIVE_EGIT, "experiment '%s' already exists (use --reset)", e->name);
			if (rc)
				e->ref[0] = 0;
		}
		if (!rc)
			rc = tr_git_ref_set(e->g, EXEC "EXEC_CHECKPOINT", sha, NULL, "live: checkpoint");
		if (!rc)
			rc = tr_git_ref_set(e->g, EXEC "EXEC_APPLY", sha, NULL, "live: checkpoint");
		if (!rc && e->commits == 0 && tr_git_ref_get(e->g, e->ref, existing) != 0) {
			rc = tr_git_ref_set(e->g, e->ref, sha, NULL, "live: checkpoint experiment");
			if (!rc)
				rc = tr_git_ref_set_symbolic(e->g, EXEC "EXEC_BRANCH", e->ref, "live: exp run");
		} else if (!rc) {
			rc = tr_git_ref_set(e->g, e->ref, sha, e->commits == 0 && e->reset ? NULL : e->parent,
					    "live: checkpoint experiment");
		}
		if (!rc) {
			memcpy(e->parent, sha, 41);
			e->commits++;
		}
	}
	tr_strv_free(changed, nchanged);
	tr_strv_free(inside, ninside);
	free(files);
	free(paths);
	return rc;
}

/*
 * What the captured summary says: its step, and any "divergence" entries.
 * They only feed the report at the end of the run (the divergence lines and
 * which checkpoint to apply), so a value that is not what liblive writes is
 * left out, with one warning a run, never an error: the checkpoint is already
 * committed, summary and all. A step is a whole number from 0 to 2^62 (live.h's
 * largest step); a double outside that (nan, inf, 1e300, -1, 2.5) is never
 * converted to an integer.
 */
#define SUMMARY_STEP_MAX 4611686018427387904.0 /* 2^62 */

LIVE__PRINTF(2, 3)
static void summary_warn(exp *e, const char *f, ...)
{
	if (e->summary_warned)
		return;
	e->summary_warned = 1;
	va_list ap;
	va_start(ap, f);
	fprintf(stderr, "WARNING: %s: ", e->cap.summary_rel ? e->cap.summary_rel : "the live summary");
	vfprintf(stderr, f, ap);
	fprintf(stderr, " (left out of the divergence report)\n");
	va_end(ap);
}

/* `v` as a step into *out, or -1 with a warning naming `what`. */
static int summary_step(exp *e, const cJSON *v, const char *what, long long *out)
{
	char shown[LIVE__NUM_MAX] = "not a number";
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (cJSON_IsNumber(v) && d >= 0 && d <= SUMMARY_STEP_MAX && d == (double)(long long)d) {
		*out = (long long)d;
		return 0;
	}
	if (cJSON_IsNumber(v))
		live__fmt_double(shown, d);
	summary_warn(e, "%s is %s: expected a whole number from 0 to 2^62", what, v ? shown : "missing");
	return -1;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void read_summary(exp *e, const char *sha)
{
	if (!e->cap.summary)
		return;
	cJSON *root = cJSON_ParseWithLength((const char *)e->cap.summary, e->cap.summary_len);
	if (!cJSON_IsObject(root)) {
		summary_warn(e, "not a JSON object");
		cJSON_Delete(root);
		return;
	}
	const cJSON *step = cJSON_GetObjectItemCaseSensitive(root, "step");
	long long k;
	if (step && !summary_step(e, step, "'step'", &k)) {
		struct ckstep *v = realloc(e->steps, (e->nsteps + 1) * sizeof(*v));
		if (v) {
			e->steps = v;
			v[e->nsteps].step = k;
			snprintf(v[e->nsteps].sha, 41, "%s", sha);
			e->nsteps++;
		}
	}
	const cJSON *div = cJSON_GetObjectItemCaseSensitive(root, "divergence");
	size_t n = 0;
	e->divergence[0] = 0;
	if (div && !cJSON_IsObject(div)) {
		summary_warn(e, "'divergence' is not a mapping of metric names");
		div = NULL;
	}
	for (const cJSON *m = div ? div->child : NULL; m; m = m->next) {
		const cJSON *since = cJSON_GetObjectItemCaseSensitive(m, "since");
		const cJSON *best = cJSON_GetObjectItemCaseSensitive(m, "best_step");
		char what[2][96];
		long long since_k, best_k;
		if (has_control(m->string)) {
			summary_warn(e, "'divergence' names a metric with control characters");
			continue;
		}
		snprintf(what[0], sizeof(what[0]), "'since' of '%.60s' in 'divergence'", m->string);
		snprintf(what[1], sizeof(what[1]), "'best_step' of '%.60s' in 'divergence'", m->string);
		if (summary_step(e, since, what[0], &since_k) || summary_step(e, best, what[1], &best_k) ||
		    n >= sizeof(e->divergence) - 1)
			continue;
		n += (size_t)snprintf(e->divergence + n, sizeof(e->divergence) - n,
				      "'%s' is diverging since step %lld (best at step %lld)\n", m->string, since_k,
				      best_k);
		if (e->best_step < 0)
			e->best_step = best_k;
	}
	cJSON_Delete(root);
}

/* The worker: hash and store the captured outs, write dvc.lock, commit. */
static void *finish_checkpoint(void *arg)
{
	exp *e = arg;
	tr_lock_stage ls;
	char sha[41];
	int rc = tr_capture_hash(e->root, e->st, e->ck, &e->cap, &ls);
	if (!rc) {
		rc = tr_lock_set_stage(&e->lock, &ls);
		tr_lock_stage_free(&ls);
	}
	/* dvc.lock goes into the commit first and into the work tree only once the
	 * refs moved: a run killed in between leaves no dvc.lock naming a
	 * checkpoint that does not exist. */
	live__buf lock = { 0 };
	int changed = 0, created = 0;
	if (!rc)
		rc = tr_lock_render(&e->lock, &lock);
	if (!rc) {
		changed = tr_lock_differs(e->root, lock.data, lock.len, &created);
		if (changed)
			printf("%s lock file 'dvc.lock'\n", created ? "Generating" : "Updating");
		e->lock_data = lock.data;
		e->lock_len = lock.len;
		rc = commit_checkpoint(e, 0, &e->cap, sha);
		e->lock_data = NULL;
	}
	if (!rc && changed)
		rc = tr_lock_write(e->root, &e->lock, &changed, &created);
	live__buf_free(&lock);
	if (rc) {
		snprintf(e->worker_err, sizeof(e->worker_err), "%s", live_errmsg());
		fprintf(stderr, "ERROR: checkpoint: %s\n", e->worker_err);
	} else {
		printf("Checkpoint experiment iteration '%.7s'.\n", sha);
		read_summary(e, sha);
	}
	fflush(stdout);
	tr_capture_free(&e->cap);
	e->worker_rc = rc;
	return NULL;
}

/* Wait for the checkpoint in flight; its failure is reported once. */
static int join_worker(exp *e)
{
	if (!e->worker_running)
		return 0;
	pthread_join(e->worker, NULL);
	e->worker_running = 0;
	int rc = e->worker_rc;
	e->worker_rc = 0;
	if (rc)
		live__fail(rc, "%s", e->worker_err);
	return rc;
}

/*
 * A checkpoint request. The trainer waits only for the capture; the previous
 * checkpoint, if still in flight, is finished first so commits stay in order.
 */
static int on_checkpoint(void *ctx, long long step, char *reply, size_t size)
{
	exp *e = ctx;
	(void)step;
	int rc = join_worker(e);
	int worker_failed = rc != 0;
	if (!rc)
		rc = tr_capture_stage(e->root, e->ck, &e->cap);
	if (!rc && pthread_create(&e->worker, NULL, finish_checkpoint, e) != 0) {
		tr_capture_free(&e->cap);
		rc = live__fail(LIVE_ERROR, "cannot start the checkpoint thread");
	}
	if (rc) {
		snprintf(reply, size, "%s", live_errmsg());
		if (!worker_failed) /* the worker printed its own failure */
			fprintf(stderr, "ERROR: checkpoint: %s\n", live_errmsg());
		return 1;
	}
	e->worker_running = 1;
	/* --stop-on-divergence: the summary the trainer just wrote names a diverging metric. */
	int diverged = e->stop_on_divergence && e->cap.summary &&
		       memmem(e->cap.summary, e->cap.summary_len, "\"divergence\"", 12);
	snprintf(reply, size, diverged ? "captured stop" : "captured");
	return 0;
}

/* ---- stages ---------------------------------------------------------------- */

static int run_plain_stage(exp *e, const tr_stage *s)
{
	const tr_lock_stage *old = tr_lock_find(&e->lock, s->name);
	if (old && !s->always_changed) {
		tr_lock_stage now;
		if (tr_stage_hash(e->st, e->root, s, 1, 0, &now) == 0) {
			int same = tr_lock_stage_equal(&now, old);
			tr_lock_stage_free(&now);
			if (same) {
				printf("Stage '%s' didn't change, skipping\n", s->name);
				return 0;
			}
		}
	}
	printf("Running stage '%s':\n> %s\n", s->name, s->cmd);
	runner_opts o = { .cmd = s->cmd, .wdir = s->wdir };
	runner_result res;
	if (runner_run(&o, &res))
		return 1;
	if (res.exit_code != 0)
		return cli_error("failed to reproduce '%s': failed to run: %s, exited with %d", s->name, s->cmd,
				 res.exit_code);
	if (save_stage(e, s, 1))
		return cli_error("%s", live_errmsg()); /* it names the stage, or dvc.lock */
	return 0;
}

static int run_checkpoint_stage(exp *e, int resume, int *interrupted)
{
	const tr_stage *s = e->ck;
	const tr_out *live;
	ck_out(s, &live);
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s/.dvc/tmp", e->root);
	char env_root[PATH_MAX + 16], env_path[600], env_sum[32], env_html[32];
	snprintf(env_root, sizeof(env_root), "DVC_ROOT=%s", e->root);
	char *env[10];
	int k = 0;
	env[k++] = env_root;
	env[k++] = "DVC_CHECKPOINT=1";
	env[k++] = "LIVE_STOP_SIGNALS=1";
	if (live) {
		snprintf(env_path, sizeof(env_path), "DVCLIVE_PATH=%s", live->path);
		snprintf(env_sum, sizeof(env_sum), "DVCLIVE_SUMMARY=%d", live->summary);
		snprintf(env_html, sizeof(env_html), "DVCLIVE_HTML=%d", live->html);
		env[k++] = env_path;
		env[k++] = env_sum;
		env[k++] = env_html;
	}
	if (resume)
		env[k++] = "DVCLIVE_RESUME=1";
	env[k] = NULL;

	printf("Running stage '%s':\n> %s\n", s->name, s->cmd);
	fflush(stdout);
	runner_opts o = { .cmd = s->cmd, .wdir = s->wdir, .dvc_tmp = tmp, .env = env, .checkpoint = on_checkpoint,
			  .ctx = e };
	runner_result res;
	int ran = runner_run(&o, &res);
	join_worker(e); /* a failure was printed by the worker */
	if (ran)
		return 1;
	*interrupted = res.interrupted;
	if (res.exit_code != 0 && e->commits == 0)
		return cli_error("failed to reproduce '%s': failed to run: %s, exited with %d", s->name, s->cmd,
				 res.exit_code);
	/* Stopped by the user: the shell between us and the trainer dies of the
	 * signal it was passed even when the trainer stopped cleanly. */
	int user_stop = res.interrupted && (res.signal == SIGINT || res.signal == SIGTERM);
	if (res.exit_code != 0 && !user_stop)
		fprintf(stderr, "WARNING: Checkpoint stage '%s' was interrupted (exit %d); its %lld checkpoints "
				"are kept.\n",
			s->name, res.exit_code, e->commits);
	/* The final state, committed only after a clean exit and only if it differs
	 * from the last checkpoint: a trainer that died (or was stopped) mid-step
	 * left a half-written step, which must not become a commit (SPEC 3). */
	if (res.exit_code != 0)
		return 0;
	char sha[41];
	if (save_stage(e, s, 1))
		return cli_error("%s", live_errmsg()); /* it names the stage, or dvc.lock */
	if (commit_checkpoint(e, 1, NULL, sha))
		return cli_error_live("stage '%s'", s->name);
	if (sha[0])
		printf("Checkpoint experiment iteration '%.7s'.\n", sha);
	return 0;
}

/* Every params file a stage names must parse and hold its keys, before anything runs. */
static int check_params(exp *e)
{
	for (size_t i = 0; i < e->p.n; i++) {
		const tr_stage *s = &e->p.stages[i];
		for (size_t k = 0; k < s->nparams; k++) {
			const char *key = s->params[k].key;
			tr_lock_params lp;
			if (tr_params_read(e->root, s->params[k].file, &key, 1, &lp) != 0)
				return cli_error("%s", live_errmsg());
			tr_lock_params_clear(&lp);
		}
	}
	return 0;
}

/* ---- the command ------------------------------------------------------------ */



int cmd_exp_run(int argc, char **argv)
{
	exp e;
	memset(&e, 0, sizeof(e));
	e.best_step = -1;
	char *sets[64];
	int nsets = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reset")) {
			e.reset = 1;
		} else if ((!strcmp(argv[i], "-S") || !strcmp(argv[i], "--set-param")) && i + 1 < argc) {
			if (nsets == 64)
				return cli_error("live exp run: too many -S options");
			sets[nsets++] = argv[++i];
		} else if (!strcmp(argv[i], "--stop-on-divergence")) {
			e.stop_on_divergence = 1;
		} else if ((!strcmp(argv[i], "-n") || !strcmp(argv[i], "--name")) && i + 1 < argc) {
			snprintf(e.name, sizeof(e.name), "%s", argv[++i]);
		} else {
			return cli_error("live exp run: unknown option '%s' (expected --reset, -S key=value, -n name, "
					 "--stop-on-divergence)",
					 argv[i]);
		}
	}
	/* Ctrl+C is the stage's business (runner.c); before and between stages it
	 * must not kill us halfway through a ref update. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if (cli_find_root(e.root, sizeof(e.root), 1))
		return 1;
	if (chdir(e.root) != 0)
		return cli_error("cannot enter %s: %s", e.root, strerror(errno));
	int lockfd = -1;
	if (take_repo_lock(e.root, &lockfd))
		return 1;
	int rc = 1, interrupted = 0, resume = 0;
	char requested_name[64];
	snprintf(requested_name, sizeof(requested_name), "%s", e.name);
	e.name[0] = 0;

	if (tr_git_open(e.root, &e.g) || tr_git_check_identity(e.g) || tr_git_head(e.g, e.baseline)) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	if (tr_dvcyaml_load("dvc.yaml", &e.p)) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	if (tr_lock_load("dvc.lock", &e.lock) || tr_state_open(e.root, &e.st)) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	/* A malformed params file or a linked out folder stops the run before anything is
	 * touched; -S applies only then. */
	if (check_params(&e) || exprun_check_out_folders(&e))
		goto out;
	if (nsets && (set_params(e.root, sets, nsets) || check_params(&e)))
		goto out;
	for (size_t i = 0; i < e.p.n; i++) {
		const tr_out *live;
		if (ck_out(&e.p.stages[i], &live)) {
			if (e.ck) {
				cli_error("dvc.yaml: more than one stage has a checkpoint out ('%s', '%s')", e.ck->name,
					  e.p.stages[i].name);
				goto out;
			}
			e.ck = &e.p.stages[i];
		}
	}
	if (e.ck && exprun_plan_resume(&e, &resume)) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	if (!resume && requested_name[0]) {
		snprintf(e.name, sizeof(e.name), "%s", requested_name);
		if (tr_exp_ref_name(e.baseline, e.name, e.ref, sizeof(e.ref))) {
			cli_error("%s", live_errmsg());
			goto out;
		}
		e.ref[0] = 0; /* made at the first commit, under this name */
	}
	for (size_t i = 0; i < e.p.n; i++) {
		const tr_stage *s = &e.p.stages[i];
		if (s == e.ck) {
			if ((resume && exprun_restore_resumed(&e)) || (!resume && exprun_restore_checkpoint_outs(&e, e.reset))) {
				cli_error("%s", live_errmsg());
				goto out;
			}
			if (run_checkpoint_stage(&e, resume, &interrupted))
				goto out;
		} else if (run_plain_stage(&e, s)) {
			goto out;
		}
	}
	rc = 0;
out:
	if (e.g) {
		tr_git_ref_delete(e.g, EXEC "EXEC_BRANCH");
		if (e.commits > 0) {
			printf("\nReproduced experiment(s): %s\nExperiment results have been applied to your workspace.\n"
			       "\nTo promote an experiment to a Git branch run:\n\n\tlive exp branch %s <branch>\n",
			       e.name, e.name);
		}
		/* SPEC 5: repeat the divergence report, with the way back to the best checkpoint. */
		if (e.divergence[0]) {
			printf("\nDivergence: %s", e.divergence);
			for (size_t i = 0; i < e.nsteps; i++)
				if (e.steps[i].step == e.best_step)
					printf("To restore the best checkpoint (step %lld) run:\n\n\tlive exp apply %.7s\n",
					       e.best_step, e.steps[i].sha);
		}
	}
	free(e.steps);
	(void)interrupted;
	if (getenv("LIVE_IO_STATS")) {
		/* For the benchmark: how much this process read (an unchanged dep must not be re-read). */
		FILE *io = fopen("/proc/self/io", "r");
		char line[128];
		while (io && fgets(line, sizeof(line), io))
			if (!strncmp(line, "rchar:", 6))
				fprintf(stderr, "live: read %lld bytes\n", atoll(line + 6));
		if (io)
			fclose(io);
	}
	if (e.st)
		tr_state_save(e.st);
	tr_state_free(e.st);
	tr_lock_free(&e.lock);
	tr_pipeline_free(&e.p);
	tr_git_free(e.g);
	close(lockfd);
	return rc;
}
