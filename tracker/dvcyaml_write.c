/*
 * dvc.yaml written as DVC 2.8's serializer (dvc/stage/serialize.py:
 * to_pipeline_file) and ruamel.yaml lay it out; the decisions are listed in
 * dvcyaml.c, which reads it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracker.h"

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int out_cmp(const void *a, const void *b)
{
	return strcmp((*(const tr_out *const *)a)->path, (*(const tr_out *const *)b)->path);
}

static const char *param_file(const tr_param *p)
{
	return p->file ? p->file : TR_DEFAULT_PARAMS;
}

static int param_file_cmp(const void *a, const void *b)
{
	const tr_param *p = *(const tr_param *const *)a, *q = *(const tr_param *const *)b;
	int c = strcmp(param_file(p), param_file(q));

	return c ? c : strcmp(p->key, q->key);
}

/* deps: sorted paths */
static int write_deps(tr_yaml *y, const tr_stage *s)
{
	const char **v;

	if (!s->ndeps)
		return 0;
	if (!(v = malloc(s->ndeps * sizeof(*v))))
		return LIVE_ENOMEM;
	memcpy(v, s->deps, s->ndeps * sizeof(*v));
	qsort(v, s->ndeps, sizeof(*v), str_cmp);
	tr_yaml_str(y, "deps");
	tr_yaml_seq(y);
	for (size_t k = 0; k < s->ndeps; k++)
		tr_yaml_str(y, v[k]);
	tr_yaml_end(y);
	free(v);
	return 0;
}

/*
 * params: the params.yaml keys first as bare strings, then one {file: [keys]}
 * per other file in file order; keys sorted, each once (_serialize_params_keys).
 */
static int write_params(tr_yaml *y, const tr_stage *s)
{
	const tr_param **v;
	size_t k = 0;

	if (!s->nparams)
		return 0;
	if (!(v = malloc(s->nparams * sizeof(*v))))
		return LIVE_ENOMEM;
	for (size_t i = 0; i < s->nparams; i++)
		v[i] = &s->params[i];
	qsort(v, s->nparams, sizeof(*v), param_file_cmp);
	tr_yaml_str(y, "params");
	tr_yaml_seq(y);
	for (size_t i = 0; i < s->nparams; i++) {
		if (!strcmp(param_file(v[i]), TR_DEFAULT_PARAMS) &&
		    (i == 0 || param_file_cmp(&v[i], &v[i - 1])))
			tr_yaml_str(y, v[i]->key);
	}
	while (k < s->nparams) {
		const char *file = param_file(v[k]);
		size_t end = k;

		while (end < s->nparams && !strcmp(param_file(v[end]), file))
			end++;
		if (strcmp(file, TR_DEFAULT_PARAMS)) {
			tr_yaml_map(y);
			tr_yaml_str(y, file);
			tr_yaml_seq(y);
			for (size_t i = k; i < end; i++)
				if (i == k || strcmp(v[i]->key, v[i - 1]->key))
					tr_yaml_str(y, v[i]->key);
			tr_yaml_end(y);
			tr_yaml_end(y);
		}
		k = end;
	}
	tr_yaml_end(y);
	free(v);
	return 0;
}

static int has_flags(const tr_out *o)
{
	return o->kind == TR_LIVE || !o->cache || o->checkpoint || o->persist || o->template_ || o->x || o->y;
}

/* An out as _serialize_out writes it: the path, or {path: {flags in _get_flags order}}. */
static void write_out(tr_yaml *y, const tr_out *o)
{
	if (!has_flags(o)) {
		tr_yaml_str(y, o->path);
		return;
	}
	tr_yaml_map(y);
	tr_yaml_str(y, o->path);
	tr_yaml_map(y);
	if (!o->cache) {
		tr_yaml_str(y, "cache");
		tr_yaml_raw(y, "false");
	}
	if (o->checkpoint) {
		tr_yaml_str(y, "checkpoint");
		tr_yaml_raw(y, "true");
	}
	if (o->persist) {
		tr_yaml_str(y, "persist");
		tr_yaml_raw(y, "true");
	}
	if (o->template_) {
		tr_yaml_str(y, "template");
		tr_yaml_str(y, o->template_);
	}
	if (o->x) {
		tr_yaml_str(y, "x");
		tr_yaml_str(y, o->x);
	}
	if (o->y) {
		tr_yaml_str(y, "y");
		tr_yaml_str(y, o->y);
	}
	if (o->kind == TR_LIVE) {
		tr_yaml_str(y, "summary");
		tr_yaml_raw(y, o->summary ? "true" : "false");
		tr_yaml_str(y, "html");
		tr_yaml_raw(y, o->html ? "true" : "false");
	}
	tr_yaml_end(y);
	tr_yaml_end(y);
}

/* outs, metrics, plots: each a list sorted by path; live: one {path: {flags}}. */
static int write_outs(tr_yaml *y, const tr_stage *s)
{
	static const char *const names[] = {"outs", "metrics", "plots", "live"};
	const tr_out **v;

	if (!s->nouts)
		return 0;
	if (!(v = malloc(s->nouts * sizeof(*v))))
		return LIVE_ENOMEM;
	for (int kind = TR_OUT; kind <= TR_LIVE; kind++) {
		size_t n = 0;

		for (size_t k = 0; k < s->nouts; k++)
			if (s->outs[k].kind == kind)
				v[n++] = &s->outs[k];
		if (!n)
			continue;
		qsort(v, n, sizeof(*v), out_cmp);
		tr_yaml_str(y, names[kind]);
		if (kind == TR_LIVE) {
			write_out(y, v[0]);
			continue;
		}
		tr_yaml_seq(y);
		for (size_t k = 0; k < n; k++)
			write_out(y, v[k]);
		tr_yaml_end(y);
	}
	free(v);
	return 0;
}

/* What the file must not hold: DVC would not read it back, or write it otherwise. */
static int check_stage(const char *path, const tr_pipeline *p, size_t i)
{
	const tr_stage *s = &p->stages[i];
	size_t live = 0;

	if (!s->name || !tr_stage_name_valid(s->name))
		return live__fail(LIVE_EINVALID, "%s: invalid stage name '%s'", path, s->name ? s->name : "");
	for (size_t k = 0; k < i; k++)
		if (!strcmp(p->stages[k].name, s->name))
			return live__fail(LIVE_EINVALID, "%s: stage '%s' given twice", path, s->name);
	if (!s->cmd || tr_cmd_blank(s->cmd))
		return live__fail(LIVE_EINVALID, "%s: stage '%s' has no command", path, s->name);
	if (tr_cmd_flaw(s->cmd))
		return live__fail(LIVE_EINVALID, "%s: stage '%s': the command %s", path, s->name,
		                  tr_cmd_flaw(s->cmd));
	for (size_t k = 0; k < s->ndeps; k++)
		if (!s->deps[k])
			return live__fail(LIVE_EINVALID, "%s: stage '%s': a dependency has no path", path,
			                  s->name);
	for (size_t k = 0; k < s->nparams; k++)
		if (!s->params[k].key)
			return live__fail(LIVE_EINVALID, "%s: stage '%s': a params dependency has no key",
			                  path, s->name);
	for (size_t k = 0; k < s->nouts; k++) {
		if (!s->outs[k].path || s->outs[k].kind < TR_OUT || s->outs[k].kind > TR_LIVE)
			return live__fail(LIVE_EINVALID, "%s: stage '%s': an output has no path or kind",
			                  path, s->name);
		live += s->outs[k].kind == TR_LIVE;
	}
	if (live > 1)
		return live__fail(LIVE_EINVALID, "%s: stage '%s' has more than one live output", path,
		                  s->name);
	return 0;
}

static int render(const char *path, const tr_pipeline *p, live__buf *out)
{
	tr_yaml y;
	int rc = 0;

	for (size_t k = 0; k < p->n; k++)
		if ((rc = check_stage(path, p, k)))
			return rc;
	tr_yaml_begin(&y, out);
	tr_yaml_map(&y);
	tr_yaml_str(&y, "stages");
	tr_yaml_map(&y);
	for (size_t k = 0; k < p->n && !rc; k++) {
		const tr_stage *s = &p->stages[k];

		tr_yaml_str(&y, s->name);
		tr_yaml_map(&y);
		tr_yaml_str(&y, "cmd");
		tr_yaml_str(&y, s->cmd);
		if (s->wdir && *s->wdir && strcmp(s->wdir, ".")) {
			tr_yaml_str(&y, "wdir");
			tr_yaml_str(&y, s->wdir);
		}
		rc = write_deps(&y, s);
		if (!rc)
			rc = write_params(&y, s);
		if (!rc)
			rc = write_outs(&y, s);
		if (s->always_changed) {
			tr_yaml_str(&y, "always_changed");
			tr_yaml_raw(&y, "true");
		}
		tr_yaml_end(&y);
	}
	tr_yaml_end(&y);
	tr_yaml_end(&y);
	if (!rc)
		rc = tr_yaml_finish(&y);
	if (rc == LIVE_ENOMEM)
		return live__fail(rc, "%s: out of memory", path);
	if (rc)
		return live__fail(rc, "%s: a name, path or command is not valid UTF-8", path);
	return 0;
}

int tr_dvcyaml_write(const char *path, const tr_pipeline *p)
{
	live__buf b = {0};
	char tmp[4096];
	int rc = render(path, p, &b);

	if (!rc && (size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= sizeof(tmp))
		rc = live__fail(LIVE_EINVALID, "%s: path too long", path);
	if (!rc) /* readers see the old file or the new one */
		rc = live__write_atomic(AT_FDCWD, path, tmp, path, b.data, b.len);
	live__buf_free(&b);
	return rc;
}
