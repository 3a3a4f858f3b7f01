/*
 * What `live exp push` and `live exp pull` (cmd_exp_sync.c) share: the cache
 * objects that experiments need (expsync_objects.c) and copying them to or
 * from a cache remote (expsync_cache.c).
 */
#ifndef LIVE_EXPSYNC_H
#define LIVE_EXPSYNC_H

#include <stddef.h>

#include "tracker.h"

/* One cache object an experiment needs, and where it is used (for messages). */
typedef struct sync_obj {
	char md5[37];    /* "<32 hex>", or "<32 hex>.dir" for a folder's manifest */
	char *path;      /* the out, or a file of a folder out */
	const char *ctx; /* "checkpoint 1a2b3c4 of exp-x": owned by the collector */
} sync_obj;

typedef struct sync_objs {
	sync_obj *v;
	size_t n, cap;
} sync_objs;

int sync_objs_add(sync_objs *s, const char *md5, const char *path, const char *ctx);
void sync_objs_free(sync_objs *s);
/* Sorted by md5, each md5 once (the first mention names it). */
void sync_objs_unique(sync_objs *s);
/* 1 for a manifest ("....dir"). */
int sync_is_dir(const char *md5);
/* "<path> (checkpoint 1a2b3c4 of exp-x)" in buf. */
const char *sync_obj_show(const sync_obj *x, char *buf, size_t size);

/* A set of 80-hex keys: a dvc.yaml blob id and a dvc.lock blob id. */
typedef struct sync_keyset {
	char (*v)[81];
	size_t cap, n;
} sync_keyset;

/*
 * Reads dvc.yaml and dvc.lock out of experiment commits, each distinct pair
 * once (through temp files in .dvc/tmp: the cwd is the repository's root).
 * Zero it and set `g`; free with sync_collector_free.
 */
typedef struct sync_collector {
	tr_git *g;
	char yaml_id[41];
	tr_pipeline yaml;
	sync_keyset seen;
	char **ctx; /* the context strings objects point at */
	size_t nctx, capctx;
} sync_collector;

/*
 * Add to `out` every cached out that dvc.yaml and dvc.lock record in the
 * commits from `tip` down to `baseline` (not included) of the experiment
 * `exp`: what `exp apply` restores from the cache.
 */
int sync_collect_exp(sync_collector *c, const char *tip, const char *baseline, const char *exp, sync_objs *out);
void sync_collector_free(sync_collector *c);
/* Add the files of the manifests among s->v[from..to), read from the cache under `root`. */
int sync_add_manifest_files(const char *root, sync_objs *s, size_t from, size_t to);

typedef struct sync_strlist {
	char **v;
	size_t n, cap;
} sync_strlist;

/*
 * Copy the objects of `s` (and the files of its manifests) to the cache
 * remote: files first, then manifests, `jobs` at a time. 0, or the first error
 * (an object missing from the local cache, or corrupt: nothing of it lands).
 */
int sync_push_cache(const char *root, const tr_remote *r, sync_objs *s, int jobs, tr_remote_stats *st);
/*
 * Copy the objects of `s` (and the files of its manifests) from the cache
 * remote into the local cache, each checked before it lands; a manifest
 * lands after all its files. A missing or corrupt object is noted in `fails`
 * (one message each) and the others go on; other errors stop.
 */
int sync_pull_cache(const char *root, const tr_remote *r, sync_objs *s, int jobs, tr_remote_stats *st,
                    sync_strlist *fails);

#endif
