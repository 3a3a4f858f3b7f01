/*
 * The cache objects that experiments need (expsync.h): every cached out that
 * dvc.yaml and dvc.lock record in each experiment commit, from the tip down to
 * the baseline, with the files of a folder's .dir manifest. A dvc.yaml and
 * dvc.lock pair seen in an earlier commit is not read again.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_exp_manage.h"
#include "expsync.h"

int sync_objs_add(sync_objs *s, const char *md5, const char *path, const char *ctx)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		sync_obj *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		s->v = v;
		s->cap = cap;
	}
	sync_obj *x = &s->v[s->n];
	snprintf(x->md5, sizeof(x->md5), "%s", md5);
	if (!(x->path = strdup(path)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	x->ctx = ctx;
	s->n++;
	return 0;
}

void sync_objs_free(sync_objs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int by_md5(const void *a, const void *b)
{
	return strcmp(((const sync_obj *)a)->md5, ((const sync_obj *)b)->md5);
}

/* Sorted by md5, each md5 once (the first mention names it). */
void sync_objs_unique(sync_objs *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), by_md5);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++) {
		if (!strcmp(s->v[i].md5, s->v[k - 1].md5))
			free(s->v[i].path);
		else
			s->v[k++] = s->v[i];
	}
	s->n = k;
}

int sync_is_dir(const char *md5)
{
	return strlen(md5) == 36;
}

/* "<path> (checkpoint 1a2b3c4 of exp-x)" for messages. */
const char *sync_obj_show(const sync_obj *x, char *buf, size_t size)
{
	snprintf(buf, size, "%s (%s)", x->path, x->ctx);
	return buf;
}

static size_t key_hash(const char *k)
{
	size_t h = 1469598103934665603ull;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return h;
}

/* 1 if added, 0 if it was there, <0 on error. */
static int keyset_add(sync_keyset *s, const char *key)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		char(*v)[81] = calloc(cap, sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i][0])
				continue;
			size_t j = key_hash(s->v[i]) & (cap - 1);
			while (v[j][0])
				j = (j + 1) & (cap - 1);
			memcpy(v[j], s->v[i], 81);
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	size_t j = key_hash(key) & (s->cap - 1);
	for (; s->v[j][0]; j = (j + 1) & (s->cap - 1))
		if (!strcmp(s->v[j], key))
			return 0;
	snprintf(s->v[j], sizeof(s->v[j]), "%s", key);
	s->n++;
	return 1;
}

void sync_collector_free(sync_collector *c)
{
	tr_pipeline_free(&c->yaml);
	free(c->seen.v);
	tr_strv_free(c->ctx, c->nctx);
}

/* A blob of `commit`, parsed (exp_parse_dvc_bytes). */
static int parse_blob(sync_collector *c, const char *blob, const char *commit, const char *name, tr_pipeline *p,
                      tr_lock *l)
{
	live__buf b = {0};
	int rc = tr_git_read_blob_id(c->g, blob, &b);
	char tag[128];
	snprintf(tag, sizeof(tag), "sync-%.7s-%s", commit, name);
	if (!rc)
		rc = exp_parse_dvc_bytes(&b, tag, p, l);
	live__buf_free(&b);
	return rc;
}

static int ctx_add(sync_collector *c, const char *commit, const char *exp, const char **out)
{
	if (c->nctx == c->capctx) {
		size_t cap = c->capctx ? c->capctx * 2 : 64;
		char **v = realloc(c->ctx, cap * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		c->ctx = v;
		c->capctx = cap;
	}
	if (asprintf(&c->ctx[c->nctx], "checkpoint %.7s of %s", commit, exp) < 0)
		return live__fail(LIVE_ENOMEM, "out of memory");
	*out = c->ctx[c->nctx++];
	return 0;
}

/* The cached outs that one commit's dvc.yaml and dvc.lock record. */
static int collect_commit(sync_collector *c, const char *commit, const char *exp, sync_objs *out)
{
	static const char *const paths[] = {"dvc.yaml", "dvc.lock"};
	char ids[2][41];
	int rc = tr_git_blob_ids(c->g, commit, paths, 2, ids);
	if (rc || !ids[0][0] || !ids[1][0])
		return rc; /* no pipeline or no lock: no outs recorded */
	char key[81];
	snprintf(key, sizeof(key), "%s%s", ids[0], ids[1]);
	int added = keyset_add(&c->seen, key);
	if (added <= 0)
		return added; /* the same pair as an earlier commit: the same objects */
	if (strcmp(c->yaml_id, ids[0])) {
		tr_pipeline_free(&c->yaml);
		memset(&c->yaml, 0, sizeof(c->yaml));
		c->yaml_id[0] = 0;
		if ((rc = parse_blob(c, ids[0], commit, "dvc.yaml", &c->yaml, NULL)) != 0)
			return rc;
		memcpy(c->yaml_id, ids[0], 41);
	}
	tr_lock lock = {0};
	if ((rc = parse_blob(c, ids[1], commit, "dvc.lock", NULL, &lock)) != 0)
		return rc;
	const char *ctx = NULL;
	rc = ctx_add(c, commit, exp, &ctx);
	for (size_t i = 0; !rc && i < c->yaml.n; i++) {
		const tr_stage *s = &c->yaml.stages[i];
		const tr_lock_stage *ls = tr_lock_find(&lock, s->name);
		for (size_t k = 0; !rc && ls && k < s->nouts; k++) {
			if (!s->outs[k].cache)
				continue; /* committed to git, not cached */
			for (size_t j = 0; !rc && j < ls->nouts; j++)
				if (!strcmp(ls->outs[j].path, s->outs[k].path) && ls->outs[j].h.md5[0])
					rc = sync_objs_add(out, ls->outs[j].h.md5, ls->outs[j].path, ctx);
		}
	}
	tr_lock_free(&lock);
	return rc;
}

/* Every experiment commit from `tip` down to `baseline` (not included). */
int sync_collect_exp(sync_collector *c, const char *tip, const char *baseline, const char *exp, sync_objs *out)
{
	char **shas;
	size_t n;
	int rc = tr_git_commits_between(c->g, tip, baseline, &shas, &n);
	for (size_t i = 0; !rc && i < n; i++)
		rc = collect_commit(c, shas[i], exp, out);
	tr_strv_free(shas, n);
	return rc;
}

/* The files of every .dir object of `s` (read from the cache under `root`), added to `s`. */
int sync_add_manifest_files(const char *root, sync_objs *s, size_t from, size_t to)
{
	int rc = 0;
	for (size_t i = from; !rc && i < to; i++) {
		if (!sync_is_dir(s->v[i].md5))
			continue;
		char where[PATH_MAX + 128];
		sync_obj_show(&s->v[i], where, sizeof(where));
		tr_manifest m;
		if ((rc = tr_cache_read_manifest(root, where, s->v[i].md5, &m)) != 0)
			break;
		char *dir = s->v[i].path;
		const char *ctx = s->v[i].ctx;
		for (size_t k = 0; !rc && k < m.n; k++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dir, m.entries[k].relpath);
			rc = sync_objs_add(s, m.entries[k].md5, path, ctx); /* may move s->v: `dir` is the string */
		}
		tr_manifest_free(&m);
	}
	return rc;
}
