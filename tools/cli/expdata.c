/*
 * Collecting the metrics and params of a revision (expdata.h): which files
 * dvc.yaml names, read from the work tree or as blobs of a commit, each blob
 * parsed once per path however many commits share it.
 *
 * Parsing is expparse.c and expvalues.c, the experiments of exp show
 * expwalk.c, the arena and map exparena.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expdata_internal.h"

/* ---- which files hold metrics and params (dvc.yaml) ----------------------------- */

typedef struct spec {
	const char **metrics; /* metrics outs, then live summaries, in stage order */
	size_t nmetrics;
	const char **params; /* params.yaml unless a dep, then the params deps' files */
	size_t nparams;
} spec;

static const ynode *get(const ynode *m, const char *key)
{
	for (size_t i = 0; m && m->kind == 'm' && i + 1 < m->n; i += 2)
		if (m->kids[i]->kind == 's' && !strcmp(m->kids[i]->text, key))
			return m->kids[i + 1];
	return NULL;
}

static int add_path(arena *a, vec *v, const char *wdir, const char *path, const char *suffix)
{
	char buf[4096];
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (wdir && *wdir && strcmp(wdir, "."))
		snprintf(buf, sizeof(buf), "%s/%s%s", wdir, path, suffix);
	else
		snprintf(buf, sizeof(buf), "%s%s", path, suffix);
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], buf))
			return 0;
	char *s = xd__arena_strdup(a, buf);
	return s ? xd__vec_push(v, s) : live__fail(LIVE_ENOMEM, "out of memory");
}

static int is_false(const ynode *n)
{
	if (!n || n->kind != 's' || !n->plain)
		return 0;
	return !strcmp(n->text, "false") || !strcmp(n->text, "False") || !strcmp(n->text, "FALSE");
}

static int read_spec(arena *a, const char *data, size_t len, spec *out)
{
	char err[200];
	int ok, rc = 0;
	vec metrics = { 0 }, params = { 0 };
	const ynode *root = data ? xd__parse_yaml(a, data, len, err, sizeof(err), &ok) : NULL;
	const ynode *stages = get(root, "stages");
	for (size_t i = 0; !rc && stages && stages->kind == 'm' && i + 1 < stages->n; i += 2) {
		const ynode *st = stages->kids[i + 1];
		const ynode *wd = get(st, "wdir");
		const char *wdir = wd && wd->kind == 's' ? wd->text : NULL;
		const ynode *m = get(st, "metrics"), *live = get(st, "live"), *p = get(st, "params");
		for (size_t k = 0; !rc && m && m->kind == 'q' && k < m->n; k++) {
			const ynode *e = m->kids[k];
			if (e->kind == 'm' && e->n >= 2)
				e = e->kids[0];
			if (e->kind == 's')
				rc = add_path(a, &metrics, wdir, e->text, "");
		}
		for (size_t k = 0; !rc && live && live->kind == 'm' && k + 1 < live->n; k += 2)
			if (live->kids[k]->kind == 's' && !is_false(get(live->kids[k + 1], "summary")))
				rc = add_path(a, &metrics, wdir, live->kids[k]->text, ".json");
		for (size_t k = 0; !rc && p && p->kind == 'q' && k < p->n; k++) {
			const ynode *e = p->kids[k];
			if (e->kind == 's')
				rc = add_path(a, &params, wdir, "params.yaml", "");
			for (size_t f = 0; !rc && e->kind == 'm' && f + 1 < e->n; f += 2)
				if (e->kids[f]->kind == 's')
					rc = add_path(a, &params, wdir, e->kids[f]->text, "");
		}
	}
	/* DVC reads params.yaml even when no stage names it, ahead of the deps' files. */
	int have = 0;
	for (size_t i = 0; i < params.n; i++)
		have |= !strcmp(params.v[i], "params.yaml");
	if (!rc && !have && !(rc = xd__vec_push(&params, "params.yaml"))) {
		memmove(params.v + 1, params.v, (params.n - 1) * sizeof(*params.v));
		params.v[0] = "params.yaml";
	}
	if (!rc) {
		out->metrics = xd__arena_copy(a, metrics.v, metrics.n * sizeof(char *));
		out->params = xd__arena_copy(a, params.v, params.n * sizeof(char *));
		out->nmetrics = metrics.n;
		out->nparams = params.n;
		if (!out->metrics || !out->params)
			rc = live__fail(LIVE_ENOMEM, "out of memory");
	}
	free(metrics.v);
	free(params.v);
	return rc;
}

/* ---- collecting a revision ---------------------------------------------------- */

int xd_open(const char *root, xd_repo **out)
{
	xd_repo *r = calloc(1, sizeof(*r));
	if (!r)
		return live__fail(LIVE_ENOMEM, "out of memory");
	int rc = tr_git_open(root, &r->g);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void xd_close(xd_repo *r)
{
	if (!r)
		return;
	tr_git_free(r->g);
	xd__map_free(&r->blobs);
	xd__map_free(&r->tags);
	xd__map_free(&r->heads);
	xd__map_free(&r->exps);
	live__buf_free(&r->buf);
	xd__arena_free(&r->a);
	free(r);
}

int xd_resolve(xd_repo *r, const char *rev, char sha_out[41])
{
	if (!strcmp(rev, "workspace")) {
		sha_out[0] = 0;
		return 0;
	}
	return tr_git_resolve(r->g, rev, sha_out);
}

/* A file of the work tree into r->buf: 1 if read, 0 if absent. */
static int read_work_file(xd_repo *r, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	r->buf.len = 0;
	char block[16384];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(block, 1, sizeof(block), f)) > 0)
		rc = live__buf_append(&r->buf, block, n);
	int bad = ferror(f);
	fclose(f);
	if (rc)
		return rc;
	return bad ? 0 : 1;
}

/* The spec or a parsed file for a blob, parsed on first use. kind: 's', 'm', 'p'. */
static int cached(xd_repo *r, char kind, const char *path, const char *blob, void **out)
{
	char key[4200];
	snprintf(key, sizeof(key), "%c:%s:%s", kind, path, blob);
	if ((*out = xd__map_get(&r->blobs, key)))
		return 0;
	int rc = blob[0] ? tr_git_read_blob_id(r->g, blob, &r->buf) : 0;
	if (rc)
		return rc;
	if (kind == 's') {
		spec *s = xd__arena_alloc(&r->a, sizeof(*s));
		if (!s)
			return live__fail(LIVE_ENOMEM, "out of memory");
		rc = read_spec(&r->a, blob[0] ? r->buf.data : NULL, r->buf.len, s);
		*out = s;
	} else {
		const xd_file *f;
		rc = xd__parse_file(&r->a, path, r->buf.data ? r->buf.data : "", r->buf.len, kind == 'm', &f);
		*out = (void *)f;
	}
	return rc ? rc : xd__map_put(&r->blobs, &r->a, key, *out);
}

static int collect_files(xd_repo *r, const char *sha, const char *const *paths, size_t n, char kind,
			 const xd_file *const **files, size_t *nfiles)
{
	char(*ids)[41] = n ? calloc(n, sizeof(*ids)) : NULL;
	const xd_file **got = xd__arena_alloc(&r->a, (n ? n : 1) * sizeof(*got));
	int rc = (n && !ids) || !got ? live__fail(LIVE_ENOMEM, "out of memory") : 0;
	if (!rc && sha && n)
		rc = tr_git_blob_ids(r->g, sha, paths, n, ids);
	*nfiles = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		void *f = NULL;
		if (sha && ids[i][0]) {
			rc = cached(r, kind, paths[i], ids[i], &f);
		} else if (!sha) {
			int have = read_work_file(r, paths[i]);
			if (have < 0)
				rc = have;
			else if (have)
				rc = xd__parse_file(&r->a, paths[i], r->buf.data ? r->buf.data : "",
						    r->buf.len, kind == 'm', (const xd_file **)&f);
		}
		if (!rc && f)
			got[(*nfiles)++] = f;
	}
	free(ids);
	*files = got;
	return rc;
}

int xd_collect(xd_repo *r, const char *sha, xd_data *out)
{
	memset(out, 0, sizeof(*out));
	if (sha && !sha[0])
		sha = NULL;
	spec *s = NULL;
	int rc;
	if (sha) {
		static const char *const dvcyaml[] = { "dvc.yaml" };
		char id[1][41];
		rc = tr_git_blob_ids(r->g, sha, dvcyaml, 1, id);
		if (!rc)
			rc = cached(r, 's', "dvc.yaml", id[0], (void **)&s);
	} else {
		int have = read_work_file(r, "dvc.yaml");
		s = xd__arena_alloc(&r->a, sizeof(*s));
		rc = have < 0 ? have : !s ? live__fail(LIVE_ENOMEM, "out of memory") : 0;
		if (!rc)
			rc = read_spec(&r->a, have ? (r->buf.data ? r->buf.data : "") : NULL, r->buf.len, s);
	}
	if (!rc)
		rc = collect_files(r, sha, s->params, s->nparams, 'p', &out->params, &out->nparams);
	if (!rc)
		rc = collect_files(r, sha, s->metrics, s->nmetrics, 'm', &out->metrics, &out->nmetrics);
	return rc;
}
