/*
 * Copying the cache objects of experiments to and from a cache remote
 * (expsync.h). `jobs` threads take the objects in turn, as DVC's -j does: the
 * md5 that checks every copy is most of the cost, and it spreads over the
 * cores. Pushing stops at the first error; pulling notes a missing or corrupt
 * object and goes on with the others.
 *
 * The stat cache (.dvc/tmp/live-md5s, tr_state) remembers the local objects
 * that a push or a pull hashed, keyed ".dvc/cache/<md5[0:2]>/<md5[2:]>": a
 * later push copies them without reading them while their stat is the one
 * remembered (a write to an object changes its mtime, and it is hashed
 * again). Only this thread touches the stat cache: it looks the objects up
 * before the workers start and remembers what they learnt after they end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expsync.h"

static int strlist_add(sync_strlist *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	l->n++;
	return 0;
}

/*
 * Copying many objects at once: `jobs` threads take the objects of `s` in
 * turn (the files, or the manifests), as DVC's -j does; the md5 of every copy
 * is the cost, and it spreads over the cores. Pushing stops at the first
 * error; pulling notes a missing or corrupt object in `failed` and goes on.
 */
typedef struct xfer {
	const char *root;
	const tr_remote *r;
	const sync_objs *s;
	int pushing, dirs;
	atomic_size_t next;
	atomic_int stop;
	pthread_mutex_t lock;
	tr_remote_local *loc; /* per object: for the stat cache (NULL: none) */
	tr_remote_stats st;
	int rc;      /* the first error that stops everything */
	char *msg;   /* its message */
	char **failed; /* pulling: per object, why it could not be */
} xfer;

static void *xfer_worker(void *arg)
{
	xfer *x = arg;
	tr_remote_stats st = {0};
	while (!atomic_load(&x->stop)) {
		size_t i = atomic_fetch_add(&x->next, 1);
		if (i >= x->s->n)
			break;
		const sync_obj *o = &x->s->v[i];
		if (sync_is_dir(o->md5) != x->dirs)
			continue;
		char where[PATH_MAX + 128];
		sync_obj_show(o, where, sizeof(where));
		tr_remote_local *loc = x->loc ? &x->loc[i] : NULL;
		int rc = x->pushing ? tr_remote_push_object(x->root, x->r, o->md5, where, loc, &st)
		                    : tr_remote_pull_object(x->root, x->r, o->md5, where, loc, &st);
		if (!rc)
			continue;
		char *msg = strdup(live_errmsg());
		pthread_mutex_lock(&x->lock);
		if (!x->pushing && (rc == LIVE_ENOTFOUND || rc == LIVE_EPARSE) && msg) {
			x->failed[i] = msg;
			msg = NULL;
		} else if (!x->rc) {
			x->rc = rc;
			x->msg = msg;
			msg = NULL;
			atomic_store(&x->stop, 1);
		}
		pthread_mutex_unlock(&x->lock);
		free(msg);
	}
	pthread_mutex_lock(&x->lock);
	x->st.copied += st.copied;
	x->st.present += st.present;
	x->st.bytes += st.bytes;
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

/* The stat cache's key for the local object `md5`. */
static void object_key(const char *md5, char *key, size_t size)
{
	snprintf(key, size, ".dvc/cache/%.2s/%s", md5, md5 + 2);
}

/* Pushing: what the stat cache says of each local object of `s` (files, or manifests: `dirs`). */
static void vouch(tr_state *state, const char *root, const sync_objs *s, int dirs, tr_remote_local *loc)
{
	char key[64], path[PATH_MAX + 64];
	for (size_t i = 0; state && i < s->n; i++) {
		memset(&loc[i], 0, sizeof(loc[i]));
		if (sync_is_dir(s->v[i].md5) != dirs)
			continue;
		object_key(s->v[i].md5, key, sizeof(key));
		snprintf(path, sizeof(path), "%s/%s", root, key);
		struct stat sb;
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		loc[i].fs.dev = (unsigned long long)sb.st_dev;
		loc[i].fs.ino = (unsigned long long)sb.st_ino;
		loc[i].fs.mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
		loc[i].fs.size = (long long)sb.st_size;
		loc[i].vouched = tr_state_vouches(state, key, &loc[i].fs, s->v[i].md5);
	}
}

/* Remember in the stat cache the local objects that the copies hashed. */
static void remember(tr_state *state, const sync_objs *s, const tr_remote_local *loc)
{
	char key[64];
	for (size_t i = 0; state && i < s->n; i++) {
		if (!loc[i].checked)
			continue;
		object_key(s->v[i].md5, key, sizeof(key));
		if (tr_state_remember(state, key, &loc[i].fs, s->v[i].md5, loc[i].since_ns) != 0)
			break; /* out of memory: it is only a cache */
	}
}

/*
 * Copy the files (dirs = 0) or manifests (1) of `s`; stats add to *st,
 * failures (pulling) to `fails`. `state` (may be NULL): the stat cache.
 */
static int xfer_run(const char *root, const tr_remote *r, const sync_objs *s, int pushing, int dirs, int jobs,
                    tr_state *state, tr_remote_stats *st, sync_strlist *fails)
{
	xfer x = {.root = root, .r = r, .s = s, .pushing = pushing, .dirs = dirs};
	atomic_init(&x.next, 0);
	atomic_init(&x.stop, 0);
	pthread_mutex_init(&x.lock, NULL);
	if (!(x.failed = calloc(s->n + 1, sizeof(*x.failed))) ||
	    (state && !(x.loc = calloc(s->n + 1, sizeof(*x.loc))))) {
		free(x.failed);
		pthread_mutex_destroy(&x.lock);
		return live__fail(LIVE_ENOMEM, "out of memory");
	}
	if (pushing && x.loc)
		vouch(state, root, s, dirs, x.loc);
	/* no more threads than objects of this kind: the manifests are often a handful */
	size_t count = 0;
	for (size_t i = 0; i < s->n; i++)
		count += sync_is_dir(s->v[i].md5) == dirs;
	pthread_t t[16];
	int started = 0;
	for (; started < jobs - 1 && started < 16 && (size_t)started + 1 < count; started++)
		if (pthread_create(&t[started], NULL, xfer_worker, &x) != 0)
			break;
	xfer_worker(&x); /* this thread is one of the workers */
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (x.loc)
		remember(state, s, x.loc);
	free(x.loc);
	int rc = x.rc ? live__fail(x.rc, "%s", x.msg ? x.msg : "out of memory") : 0;
	for (size_t i = 0; i < s->n; i++) {
		if (x.failed[i] && !rc)
			rc = strlist_add(fails, x.failed[i]);
		free(x.failed[i]);
	}
	free(x.failed);
	free(x.msg);
	pthread_mutex_destroy(&x.lock);
	st->copied += x.st.copied;
	st->present += x.st.present;
	st->bytes += x.st.bytes;
	return rc;
}

/* Copy the objects of `s` to the remote: files first, then manifests. 0, or the first error. */
int sync_push_cache(const char *root, const tr_remote *r, sync_objs *s, int jobs, tr_remote_stats *st)
{
	sync_objs_unique(s);
	int rc = sync_add_manifest_files(root, s, 0, s->n);
	if (rc)
		return rc;
	sync_objs_unique(s);
	sync_strlist none = {0};
	tr_state *state = NULL;
	if (tr_state_open(root, &state) != 0)
		state = NULL; /* only a cache: every object is hashed */
	rc = xfer_run(root, r, s, 1, 0, jobs, state, st, &none);
	if (!rc)
		rc = xfer_run(root, r, s, 1, 1, jobs, state, st, &none);
	if (state)
		tr_state_save(state); /* a failure costs the next push some hashing, nothing else */
	tr_state_free(state);
	return rc;
}

/* Remove the staging folder of manifests (its files are known). */
static void unstage(const char *stage, const sync_objs *dirs)
{
	char path[PATH_MAX + 256];
	for (size_t i = 0; i < dirs->n; i++) {
		snprintf(path, sizeof(path), "%s/.dvc/cache/%.2s/%s", stage, dirs->v[i].md5, dirs->v[i].md5 + 2);
		unlink(path);
		snprintf(path, sizeof(path), "%s/.dvc/cache/%.2s", stage, dirs->v[i].md5);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/.dvc/cache", stage);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/.dvc", stage);
	rmdir(path);
	rmdir(stage);
}

/*
 * Copy the objects of `s` from the remote. Manifests come first into a
 * staging folder (their files are only known from them) and land in the cache
 * after all their files did. A missing or corrupt object is noted in
 * `fails`; other errors stop.
 */
int sync_pull_cache(const char *root, const tr_remote *r, sync_objs *s, int jobs, tr_remote_stats *st,
                      sync_strlist *fails)
{
	char stage[PATH_MAX];
	if (snprintf(stage, sizeof(stage), "%s/.dvc/tmp/live-pull-%ld", root, (long)getpid()) >= (int)sizeof(stage))
		return live__fail(LIVE_EINVALID, "%s: path too long", root);
	char stage_dvc[PATH_MAX + 8];
	snprintf(stage_dvc, sizeof(stage_dvc), "%s/.dvc", stage);
	sync_objs_unique(s);
	sync_objs dirs = {0}, staged = {0};
	int rc = 0;
	for (size_t i = 0; !rc && i < s->n; i++)
		if (sync_is_dir(s->v[i].md5))
			rc = sync_objs_add(&dirs, s->v[i].md5, s->v[i].path, s->v[i].ctx);
	if (!rc && dirs.n && ((mkdir(stage, 0755) && errno != EEXIST) || (mkdir(stage_dvc, 0755) && errno != EEXIST)))
		rc = live__fail_errno(LIVE_EIO, errno, "%s", stage);
	for (size_t i = 0; !rc && i < dirs.n; i++) {
		char where[PATH_MAX + 128];
		sync_obj_show(&dirs.v[i], where, sizeof(where));
		const char *from = root;
		if (tr_cache_has(root, dirs.v[i].md5) != 1) {
			tr_remote_stats dummy = {0};
			int err = tr_remote_pull_object(stage, r, dirs.v[i].md5, where, NULL, &dummy);
			if (err == LIVE_ENOTFOUND || err == LIVE_EPARSE) {
				if ((rc = strlist_add(fails, live_errmsg())) != 0)
					break;
				continue;
			}
			if ((rc = err) != 0)
				break;
			if ((rc = sync_objs_add(&staged, dirs.v[i].md5, dirs.v[i].path, dirs.v[i].ctx)) != 0)
				break;
			from = stage;
		} else {
			st->present++;
		}
		tr_manifest m;
		if ((rc = tr_cache_read_manifest(from, where, dirs.v[i].md5, &m)) != 0)
			break;
		for (size_t k = 0; !rc && k < m.n; k++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dirs.v[i].path, m.entries[k].relpath);
			rc = sync_objs_add(s, m.entries[k].md5, path, dirs.v[i].ctx);
		}
		tr_manifest_free(&m);
	}
	if (!rc)
		sync_objs_unique(s);
	tr_state *state = NULL;
	if (!rc && tr_state_open(root, &state) != 0)
		state = NULL;
	if (!rc)
		rc = xfer_run(root, r, s, 0, 0, jobs, state, st, fails);
	if (state)
		tr_state_save(state);
	tr_state_free(state);
	/* A manifest lands once every file it lists is here. */
	for (size_t i = 0; !rc && i < staged.n; i++) {
		char where[PATH_MAX + 128];
		sync_obj_show(&staged.v[i], where, sizeof(where));
		tr_manifest m;
		if ((rc = tr_cache_read_manifest(stage, where, staged.v[i].md5, &m)) != 0)
			break;
		int complete = 1;
		for (size_t k = 0; complete && k < m.n; k++)
			complete = tr_cache_has(root, m.entries[k].md5) == 1;
		if (complete && (rc = tr_cache_add_bytes(root, staged.v[i].md5, m.json, m.json_len, where)) == 0) {
			st->copied++;
			st->bytes += (long long)m.json_len;
		}
		tr_manifest_free(&m);
	}
	unstage(stage, &staged);
	sync_objs_free(&dirs);
	sync_objs_free(&staged);
	return rc;
}
