/*
 * Saving a stage: hash its deps, params and outs, store the cached outs, and
 * describe the result as a dvc.lock entry (DVC's stage.save + stage.commit).
 * Also the .gitignore lines DVC adds for cached outs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tracker.h"

/* A stage path is relative to its wdir; the tracker works from the root. */
static char *root_rel(const tr_stage *s, const char *path)
{
	const char *w = s->wdir;
	if (!w || !*w || !strcmp(w, "."))
		return strdup(path);
	size_t n = strlen(w) + strlen(path) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", w, path);
	return p;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const tr_lock_entry *)a)->path, ((const tr_lock_entry *)b)->path);
}

static int hash_into(tr_state *st, const tr_stage *s, const char *path, tr_lock_entry *e, int missing_ok,
		     tr_manifest *m)
{
	e->path = strdup(path);
	char *rel = root_rel(s, path);
	if (!e->path || !rel) {
		free(rel);
		return live__fail(LIVE_ENOMEM, "out of memory");
	}
	int rc = tr_hash_path(st, rel, &e->h, m);
	free(rel);
	if (rc == LIVE_ENOTFOUND && missing_ok) {
		memset(&e->h, 0, sizeof(e->h));
		e->h.nfiles = -1;
		return 0;
	}
	return rc;
}

int tr_stage_hash(tr_state *st, const char *root, const tr_stage *s, int missing_outs_ok, int store,
		  tr_lock_stage *out)
{
	memset(out, 0, sizeof(*out));
	int rc = 0;
	out->name = strdup(s->name);
	out->cmd = strdup(s->cmd);
	out->deps = calloc(s->ndeps + 1, sizeof(*out->deps));
	out->outs = calloc(s->nouts + 1, sizeof(*out->outs));
	if (!out->name || !out->cmd || !out->deps || !out->outs)
		rc = live__fail(LIVE_ENOMEM, "out of memory");

	for (size_t i = 0; !rc && i < s->ndeps; i++) {
		rc = hash_into(st, s, s->deps[i], &out->deps[out->ndeps], 0, NULL);
		out->ndeps++;
		if (rc == LIVE_ENOTFOUND)
			rc = live__fail(LIVE_ENOTFOUND, "stage '%s': dependency '%s' does not exist", s->name,
					s->deps[i]);
	}
	if (!rc)
		qsort(out->deps, out->ndeps, sizeof(*out->deps), cmp_entry);

	/* params: one group per file, params.yaml first, then by file name */
	for (size_t i = 0; !rc && i < s->nparams; i++) {
		const char *file = s->params[i].file;
		int seen = 0;
		for (size_t k = 0; k < out->nparams; k++)
			seen |= !strcmp(out->params[k].file, file);
		if (seen)
			continue;
		const char **keys = calloc(s->nparams, sizeof(*keys));
		size_t nk = 0;
		for (size_t j = i; j < s->nparams; j++)
			if (!strcmp(s->params[j].file, file))
				keys[nk++] = s->params[j].key;
		tr_lock_params *np = realloc(out->params, (out->nparams + 1) * sizeof(*np));
		if (!keys || !np) {
			free(keys);
			rc = live__fail(LIVE_ENOMEM, "out of memory");
			break;
		}
		out->params = np;
		char *frel = root_rel(s, file);
		rc = frel ? tr_params_read(root, frel, keys, nk, &out->params[out->nparams])
			  : live__fail(LIVE_ENOMEM, "out of memory");
		free(frel);
		free(keys);
		if (!rc) {
			/* dvc.lock names the file as the stage wrote it */
			free(out->params[out->nparams].file);
			out->params[out->nparams].file = strdup(file);
			out->nparams++;
		}
	}
	for (size_t i = 1; !rc && i < out->nparams; i++) {
		/* insertion sort: params.yaml first, then by name */
		for (size_t j = i; j > 0; j--) {
			tr_lock_params *a = &out->params[j - 1], *b = &out->params[j];
			int a_def = !strcmp(a->file, "params.yaml"), b_def = !strcmp(b->file, "params.yaml");
			if (a_def || (!b_def && strcmp(a->file, b->file) <= 0))
				break;
			tr_lock_params t = *a;
			*a = *b;
			*b = t;
		}
	}

	for (size_t i = 0; !rc && i < s->nouts; i++) {
		const tr_out *o = &s->outs[i];
		tr_manifest m = { 0 };
		tr_lock_entry *e = &out->outs[out->nouts++];
		rc = hash_into(st, s, o->path, e, missing_outs_ok || o->checkpoint, &m);
		if (rc == LIVE_ENOTFOUND)
			rc = live__fail(LIVE_ENOTFOUND, "stage '%s': output '%s' does not exist", s->name, o->path);
		if (!rc && store && o->cache && e->h.md5[0]) {
			char *rel = root_rel(s, o->path);
			if (!rel)
				rc = live__fail(LIVE_ENOMEM, "out of memory");
			else if (e->h.nfiles >= 0)
				rc = tr_cache_add_dir(root, rel, &m, e->h.md5);
			else
				rc = tr_cache_add_file(root, rel, e->h.md5);
			free(rel);
		}
		tr_manifest_free(&m);
	}
	if (!rc)
		qsort(out->outs, out->nouts, sizeof(*out->outs), cmp_entry);
	if (rc)
		tr_lock_stage_free(out);
	return rc;
}

static int same_entries(const tr_lock_entry *a, size_t na, const tr_lock_entry *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].path, b[i].path) || strcmp(a[i].h.md5, b[i].h.md5) || a[i].h.size != b[i].h.size)
			return 0;
	return 1;
}

int tr_lock_stage_equal(const tr_lock_stage *a, const tr_lock_stage *b)
{
	if (strcmp(a->cmd, b->cmd) || !same_entries(a->deps, a->ndeps, b->deps, b->ndeps) ||
	    !same_entries(a->outs, a->nouts, b->outs, b->nouts) || a->nparams != b->nparams)
		return 0;
	for (size_t i = 0; i < a->nparams; i++) {
		const tr_lock_params *x = &a->params[i], *y = &b->params[i];
		if (strcmp(x->file, y->file) || x->n != y->n)
			return 0;
		for (size_t k = 0; k < x->n; k++)
			if (strcmp(x->values[k].key, y->values[k].key) || strcmp(x->values[k].yaml, y->values[k].yaml))
				return 0;
	}
	return 1;
}

int tr_lock_differs(const char *root, const char *data, size_t len, int *created)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/dvc.lock", root);
	FILE *f = fopen(path, "rb");
	*created = f == NULL;
	if (!f)
		return 1;
	char *old = malloc(len + 2);
	size_t n = old ? fread(old, 1, len + 1, f) : 0;
	int differs = !(old && n == len && !memcmp(old, data, len));
	free(old);
	fclose(f);
	return differs;
}

int tr_lock_write(const char *root, const tr_lock *lock, int *changed, int *created)
{
	live__buf b = { 0 };
	int rc = tr_lock_render(lock, &b);
	if (rc)
		return rc;
	*changed = tr_lock_differs(root, b.data, b.len, created);
	if (*changed) {
		int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = dfd < 0 ? live__fail_errno(LIVE_EIO, errno, "open %s", root)
			     : live__write_atomic(dfd, "dvc.lock", "dvc.lock.tmp", "dvc.lock", b.data, b.len);
		if (dfd >= 0)
			close(dfd);
	}
	live__buf_free(&b);
	return rc;
}

/* Add "/name" to the .gitignore next to a cached out, as DVC does. */
int tr_gitignore_add(const char *root, const char *rel, char *touched, size_t size)
{
	const char *slash = strrchr(rel, '/');
	char dir[4200], path[4300], line[600];
	snprintf(dir, sizeof(dir), "%s/%.*s", root, slash ? (int)(slash - rel) : 0, rel);
	snprintf(path, sizeof(path), "%s/.gitignore", dir);
	snprintf(line, sizeof(line), "/%s", slash ? slash + 1 : rel);
	snprintf(touched, size, "%.*s%s.gitignore", slash ? (int)(slash - rel) : 0, rel, slash ? "/" : "");

	live__buf text = { 0 };
	FILE *f = fopen(path, "rb");
	if (f) {
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			if (live__buf_append(&text, buf, n)) {
				fclose(f);
				live__buf_free(&text);
				return LIVE_ENOMEM;
			}
		fclose(f);
	}
	/* Already listed? Compare whole lines. */
	size_t ln = strlen(line);
	for (size_t i = 0; i < text.len;) {
		char *nl = memchr(text.data + i, '\n', text.len - i);
		size_t end = nl ? (size_t)(nl - text.data) : text.len;
		if (end - i == ln && !memcmp(text.data + i, line, ln)) {
			live__buf_free(&text);
			return 0;
		}
		i = end + 1;
	}
	int rc = 0;
	if (text.len && text.data[text.len - 1] != '\n')
		rc = live__buf_append(&text, "\n", 1);
	if (!rc)
		rc = live__buf_append(&text, line, ln);
	if (!rc)
		rc = live__buf_append(&text, "\n", 1);
	if (!rc) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = dfd < 0 ? live__fail_errno(LIVE_EIO, errno, "open %s", dir)
			     : live__write_atomic(dfd, ".gitignore", ".gitignore.tmp", touched, text.data, text.len);
		if (dfd >= 0)
			close(dfd);
	}
	live__buf_free(&text);
	return rc;
}

int tr_path_inside(const char *wdir, const char *path)
{
	if (!path || !*path || path[0] == '/' || (wdir && wdir[0] == '/'))
		return 0;
	/* Walk the parts of "<wdir>/<path>": the depth must never go below the root. */
	const char *parts[2] = { wdir ? wdir : "", path };
	int depth = 0;
	for (int k = 0; k < 2; k++) {
		for (const char *p = parts[k]; *p;) {
			const char *slash = strchr(p, '/');
			size_t n = slash ? (size_t)(slash - p) : strlen(p);
			if (n == 2 && p[0] == '.' && p[1] == '.')
				depth--;
			else if (n && !(n == 1 && p[0] == '.'))
				depth++;
			if (depth < 0)
				return 0;
			p += n;
			while (*p == '/')
				p++;
		}
	}
	/* the root itself, or .git / .dvc/cache, is no output */
	if (depth == 0)
		return 0;
	return strncmp(path, ".git/", 5) && strcmp(path, ".git") && strncmp(path, ".dvc/", 5) && strcmp(path, ".dvc");
}
