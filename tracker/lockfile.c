/*
 * dvc.lock (reference/dvc-checkpoints.md 4.1): loading it, keeping its stages,
 * and rendering it through the YAML writer (yaml_out.c) with the params values
 * tr_params_read made (params_dep.c).
 *
 * Decisions where DVC leaves room:
 *  - A v1 lock (no 'schema', stages at the top level) is read as its stages,
 *    to be written back as schema 2.0, as DVC 2.x migrates it. A 'schema'
 *    other than the string '2.0' is an error.
 *  - A list 'cmd' is read joined with " && " (tr_stage does the same), so it
 *    comes back as one string. 'isexec' on an entry (DVC 2.8, executable
 *    files) is accepted and dropped; other keys are errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"
#include "yaml_tree.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- freeing and copying ---------------------------------------------------- */

void tr_lock_params_clear(tr_lock_params *p)
{
	for (size_t k = 0; k < p->n; k++) {
		free(p->values[k].key);
		free(p->values[k].yaml);
	}
	free(p->values);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

static void entries_free(tr_lock_entry *e, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(e[k].path);
	free(e);
}

void tr_lock_stage_free(tr_lock_stage *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->cmd);
	entries_free(s->deps, s->ndeps);
	entries_free(s->outs, s->nouts);
	for (size_t k = 0; k < s->nparams; k++)
		tr_lock_params_clear(&s->params[k]);
	free(s->params);
	memset(s, 0, sizeof(*s));
}

void tr_lock_free(tr_lock *lock)
{
	if (!lock)
		return;
	for (size_t k = 0; k < lock->n; k++)
		tr_lock_stage_free(&lock->stages[k]);
	free(lock->stages);
	lock->stages = NULL;
	lock->n = 0;
}

static char *dup_or_null(const char *s, int *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = 1;
	return d;
}

static tr_lock_entry *entries_dup(const tr_lock_entry *e, size_t n, int *fail)
{
	tr_lock_entry *d;

	if (!n)
		return NULL;
	d = calloc(n, sizeof(*d));
	if (!d) {
		*fail = 1;
		return NULL;
	}
	for (size_t k = 0; k < n; k++) {
		d[k].h = e[k].h;
		d[k].path = dup_or_null(e[k].path, fail);
	}
	return d;
}

static int stage_dup(const tr_lock_stage *s, tr_lock_stage *d)
{
	int fail = 0;

	memset(d, 0, sizeof(*d));
	d->name = dup_or_null(s->name, &fail);
	d->cmd = dup_or_null(s->cmd, &fail);
	d->deps = entries_dup(s->deps, s->ndeps, &fail);
	d->ndeps = d->deps ? s->ndeps : 0;
	d->outs = entries_dup(s->outs, s->nouts, &fail);
	d->nouts = d->outs ? s->nouts : 0;
	if (s->nparams && !fail) {
		d->params = calloc(s->nparams, sizeof(*d->params));
		if (!d->params)
			fail = 1;
		for (size_t k = 0; d->params && k < s->nparams; k++) {
			const tr_lock_params *p = &s->params[k];
			tr_lock_params *q = &d->params[k];

			d->nparams++;
			q->file = dup_or_null(p->file, &fail);
			if (p->n && !(q->values = calloc(p->n, sizeof(*q->values)))) {
				fail = 1;
				break;
			}
			for (size_t j = 0; j < p->n; j++) {
				q->values[j].key = dup_or_null(p->values[j].key, &fail);
				q->values[j].yaml = dup_or_null(p->values[j].yaml, &fail);
				q->n++;
			}
		}
	}
	if (fail) {
		tr_lock_stage_free(d);
		return live__fail(LIVE_ENOMEM, "dvc.lock: out of memory");
	}
	return 0;
}

int tr_lock_set_stage(tr_lock *lock, const tr_lock_stage *stage)
{
	tr_lock_stage copy;
	int rc;

	if (!stage->name)
		return live__fail(LIVE_EINVALID, "dvc.lock: a stage without a name");
	rc = stage_dup(stage, &copy);
	if (rc)
		return rc;
	for (size_t k = 0; k < lock->n; k++) {
		if (!strcmp(lock->stages[k].name, stage->name)) {
			tr_lock_stage_free(&lock->stages[k]);
			lock->stages[k] = copy;
			return 0;
		}
	}
	tr_lock_stage *grown = realloc(lock->stages, (lock->n + 1) * sizeof(*grown));
	if (!grown) {
		tr_lock_stage_free(&copy);
		return live__fail(LIVE_ENOMEM, "dvc.lock: out of memory");
	}
	lock->stages = grown;
	lock->stages[lock->n++] = copy;
	return 0;
}

const tr_lock_stage *tr_lock_find(const tr_lock *lock, const char *name)
{
	for (size_t k = 0; k < lock->n; k++)
		if (!strcmp(lock->stages[k].name, name))
			return &lock->stages[k];
	return NULL;
}

/* ---- rendering ------------------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	return strcmp((*(const tr_lock_entry *const *)a)->path, (*(const tr_lock_entry *const *)b)->path);
}

static int params_cmp(const void *a, const void *b)
{
	const tr_lock_params *p = *(const tr_lock_params *const *)a;
	const tr_lock_params *q = *(const tr_lock_params *const *)b;
	int dp = !strcmp(p->file, "params.yaml"), dq = !strcmp(q->file, "params.yaml");

	if (dp != dq)
		return dq - dp;
	return strcmp(p->file, q->file);
}

static int pvalue_cmp(const void *a, const void *b)
{
	return strcmp((*(const tr_param_value *const *)a)->key, (*(const tr_param_value *const *)b)->key);
}

/* Sorted views of an array: the stage is const, and the lock keeps its order. */
static const void **sorted_view(const void *base, size_t n, size_t size,
                                int (*cmp)(const void *, const void *))
{
	const void **v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t k = 0; k < n; k++)
		v[k] = (const char *)base + k * size;
	/* qsort is not stable; equal paths do not occur in a valid stage */
	qsort(v, n, sizeof(*v), cmp);
	return v;
}

static void put_int(tr_yaml *y, long long v)
{
	char num[LIVE__NUM_MAX];

	live__fmt_int(num, v);
	tr_yaml_raw(y, num);
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

static int put_entries(tr_yaml *y, const char *what, const tr_lock_entry *e, size_t n)
{
	const tr_lock_entry **v;

	if (!n)
		return 0;
	v = (const tr_lock_entry **)sorted_view(e, n, sizeof(*e), entry_cmp);
	if (!v)
		return LIVE_ENOMEM;
	tr_yaml_str(y, what);
	tr_yaml_seq(y);
	for (size_t k = 0; k < n; k++) {
		const tr_hashinfo *h = &v[k]->h;

		tr_yaml_map(y);
		tr_yaml_str(y, "path");
		tr_yaml_str(y, v[k]->path);
		if (h->md5[0]) {
			tr_yaml_str(y, "md5");
			tr_yaml_str(y, h->md5);
			if (h->size >= 0) {
				tr_yaml_str(y, "size");
				put_int(y, h->size);
			}
			if (h->nfiles >= 0 && ends_with(h->md5, ".dir")) {
				tr_yaml_str(y, "nfiles");
				put_int(y, h->nfiles);
			}
		}
		tr_yaml_end(y);
	}
	tr_yaml_end(y);
	free(v);
	return 0;
}

static int put_params(tr_yaml *y, const tr_lock_stage *s)
{
	const tr_lock_params **files;

	if (!s->nparams)
		return 0;
	files = (const tr_lock_params **)sorted_view(s->params, s->nparams, sizeof(*s->params), params_cmp);
	if (!files)
		return LIVE_ENOMEM;
	tr_yaml_str(y, "params");
	tr_yaml_map(y);
	for (size_t k = 0; k < s->nparams; k++) {
		const tr_param_value **v = (const tr_param_value **)sorted_view(
		        files[k]->values, files[k]->n, sizeof(tr_param_value), pvalue_cmp);

		if (!v) {
			free(files);
			return LIVE_ENOMEM;
		}
		tr_yaml_str(y, files[k]->file);
		tr_yaml_map(y);
		for (size_t j = 0; j < files[k]->n; j++) {
			tr_yaml_str(y, v[j]->key);
			tr_yaml_text(y, v[j]->yaml ? v[j]->yaml : "");
		}
		tr_yaml_end(y);
		free(v);
	}
	tr_yaml_end(y);
	free(files);
	return 0;
}

int tr_lock_render(const tr_lock *lock, live__buf *out)
{
	tr_yaml y;
	int rc = 0;

	for (size_t k = 0; k < lock->n; k++) {
		const tr_lock_stage *s = &lock->stages[k];

		if (!s->name || !s->cmd)
			return live__fail(LIVE_EINVALID, "dvc.lock: stage '%s' has no %s",
			                  s->name ? s->name : "", s->name ? "cmd" : "name");
		for (size_t j = 0; j < s->ndeps + s->nouts; j++)
			if (!(j < s->ndeps ? s->deps[j].path : s->outs[j - s->ndeps].path))
				return live__fail(LIVE_EINVALID, "dvc.lock: stage '%s': an entry has no path",
				                  s->name);
		for (size_t j = 0; j < s->nparams; j++) {
			if (!s->params[j].file)
				return live__fail(LIVE_EINVALID,
				                  "dvc.lock: stage '%s': params without a file", s->name);
			for (size_t i = 0; i < s->params[j].n; i++)
				if (!s->params[j].values[i].key)
					return live__fail(
					        LIVE_EINVALID,
					        "dvc.lock: stage '%s': a params value without a key",
					        s->name);
		}
	}
	tr_yaml_begin(&y, out);
	tr_yaml_map(&y);
	tr_yaml_str(&y, "schema");
	tr_yaml_str(&y, "2.0");
	tr_yaml_str(&y, "stages");
	tr_yaml_map(&y);
	for (size_t k = 0; k < lock->n && !rc; k++) {
		const tr_lock_stage *s = &lock->stages[k];

		tr_yaml_str(&y, s->name);
		tr_yaml_map(&y);
		tr_yaml_str(&y, "cmd");
		tr_yaml_str(&y, s->cmd);
		rc = put_entries(&y, "deps", s->deps, s->ndeps);
		if (!rc)
			rc = put_params(&y, s);
		if (!rc)
			rc = put_entries(&y, "outs", s->outs, s->nouts);
		tr_yaml_end(&y);
	}
	tr_yaml_end(&y);
	tr_yaml_end(&y);
	if (!rc)
		rc = tr_yaml_finish(&y);
	if (rc == LIVE_ENOMEM)
		return live__fail(rc, "dvc.lock: out of memory");
	if (rc)
		return live__fail(rc, "dvc.lock: a name or path is not valid UTF-8");
	return 0;
}

/* ---- loading ---------------------------------------------------------------------- */

struct lockload {
	const char *path;
	tr_lock *lock;
};

LIVE__PRINTF(3, 4)
static int bad(const struct lockload *ld, yaml_mark_t m, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return live__fail(LIVE_EPARSE, "%s:%zu:%zu: %s", ld->path, m.line + 1, m.column + 1, what);
}

static int oom(const struct lockload *ld)
{
	return live__fail(LIVE_ENOMEM, "%s: out of memory", ld->path);
}

static const char *excerpt(char *buf, size_t size, const struct pnode *n)
{
	live__yaml_excerpt(buf, size, n->text, n->len);
	return buf;
}

static int is_str(const struct pnode *n)
{
	return n->kind == PK_SCALAR &&
	       (n->style != YAML_PLAIN_SCALAR_STYLE || tr_yaml_resolve(n->text, n->len) != TR_YAML_NULL);
}

/* A non-negative integer as YAML 1.2 reads it. */
static int get_count(const struct lockload *ld, const struct pnode *n, const char *what, long long *out)
{
	char *end;

	if (n->kind != PK_SCALAR || n->style != YAML_PLAIN_SCALAR_STYLE || n->text[0] == '-' ||
	    tr_yaml_resolve(n->text, n->len) != TR_YAML_INT || !is_digit(n->text[n->text[0] == '+']))
		goto fail;
	errno = 0;
	*out = strtoll(n->text, &end, 10);
	if (*end || errno)
		goto fail;
	return 0;
fail:
	return bad(ld, n->mark, "'%s' must be a whole number", what);
}

static int load_entry(const struct lockload *ld, const struct pnode *n, tr_lock_entry *e)
{
	const struct pnode *path = NULL;
	char shown[LIVE__EXCERPT_MAX + 4];

	e->h.md5[0] = '\0';
	e->h.size = -1;
	e->h.nfiles = -1;
	if (n->kind != PK_MAP)
		return bad(ld, n->mark, "an entry must be a mapping with 'path', 'md5', 'size'");
	for (size_t k = 0; k < n->n; k++) {
		const struct pnode *key = n->items[k].key, *v = n->items[k].value;
		int rc = 0;

		if (!strcmp(key->text, "path")) {
			if (!is_str(v))
				return bad(ld, v->mark, "'path' must be a string");
			path = v;
		} else if (!strcmp(key->text, "md5")) {
			if (!is_str(v) || v->len >= sizeof(e->h.md5))
				return bad(ld, v->mark,
				           "'md5' must be 32 hex digits, with '.dir' for a folder");
			memcpy(e->h.md5, v->text, v->len + 1);
		} else if (!strcmp(key->text, "size")) {
			rc = get_count(ld, v, "size", &e->h.size);
		} else if (!strcmp(key->text, "nfiles")) {
			rc = get_count(ld, v, "nfiles", &e->h.nfiles);
		} else if (strcmp(key->text, "isexec")) {
			return bad(ld, n->items[k].mark, "unknown key '%s' in an entry",
			           excerpt(shown, sizeof(shown), key));
		}
		if (rc)
			return rc;
	}
	if (!path)
		return bad(ld, n->mark, "an entry without 'path'");
	if (!(e->path = strdup(path->text)))
		return oom(ld);
	return 0;
}

static int load_entries(const struct lockload *ld, const struct pnode *n, const char *what,
                        tr_lock_entry **out, size_t *count)
{
	if (n->kind == PK_NULL)
		return 0;
	if (n->kind != PK_SEQ)
		return bad(ld, n->mark, "'%s' must be a list", what);
	if (!n->n)
		return 0;
	*out = calloc(n->n, sizeof(**out));
	if (!*out)
		return oom(ld);
	for (size_t k = 0; k < n->n; k++) {
		int rc = load_entry(ld, n->items[k].value, &(*out)[k]);

		if (rc)
			return rc;
		(*count)++;
	}
	return 0;
}

static int load_params(const struct lockload *ld, const struct pnode *n, tr_lock_stage *s)
{
	char shown[LIVE__EXCERPT_MAX + 4];

	if (n->kind == PK_NULL)
		return 0;
	if (n->kind != PK_MAP)
		return bad(ld, n->mark, "'params' must map params files to their values");
	if (!n->n)
		return 0;
	if (!(s->params = calloc(n->n, sizeof(*s->params))))
		return oom(ld);
	for (size_t k = 0; k < n->n; k++) {
		const struct pnode *file = n->items[k].key, *vals = n->items[k].value;
		tr_lock_params *p = &s->params[s->nparams++];

		if (!is_str(file))
			return bad(ld, n->items[k].mark, "a params file name must be a string");
		if (!(p->file = strdup(file->text)))
			return oom(ld);
		if (vals->kind == PK_NULL)
			continue;
		if (vals->kind != PK_MAP)
			return bad(ld, vals->mark, "the params of '%s' must be a mapping",
			           excerpt(shown, sizeof(shown), file));
		if (vals->n && !(p->values = calloc(vals->n, sizeof(*p->values))))
			return oom(ld);
		for (size_t j = 0; j < vals->n; j++) {
			const struct pnode *key = vals->items[j].key;
			tr_param_value *pv = &p->values[p->n];
			int rc;

			if (key->kind != PK_SCALAR)
				return bad(ld, vals->items[j].mark, "a params key must be a string");
			if (!(pv->key = strdup(key->text)))
				return oom(ld);
			p->n++;
			rc = tr_params_value_text(key->text, vals->items[j].value, &pv->yaml);
			if (rc)
				return rc == LIVE_ENOMEM ? oom(ld) : bad(ld, key->mark, "not valid UTF-8");
		}
	}
	return 0;
}

/* A cmd string, or a list of them joined with " && " (as tr_stage holds it). */
static int load_cmd(const struct lockload *ld, const struct pnode *n, char **out)
{
	live__buf b = {0};

	if (is_str(n)) {
		*out = strdup(n->text);
		return *out ? 0 : oom(ld);
	}
	if (n->kind != PK_SEQ || !n->n)
		return bad(ld, n->mark, "'cmd' must be a string or a list of strings");
	for (size_t k = 0; k < n->n; k++) {
		const struct pnode *c = n->items[k].value;

		if (!is_str(c)) {
			live__buf_free(&b);
			return bad(ld, c->mark, "'cmd' must be a string or a list of strings");
		}
		if ((k && live__buf_append(&b, " && ", 4)) || live__buf_append(&b, c->text, c->len)) {
			live__buf_free(&b);
			return oom(ld);
		}
	}
	if (live__buf_append(&b, "", 1)) {
		live__buf_free(&b);
		return oom(ld);
	}
	*out = b.data;
	return 0;
}

static int load_stage(const struct lockload *ld, const struct pentry *it, tr_lock_stage *s)
{
	const struct pnode *n = it->value;
	char shown[LIVE__EXCERPT_MAX + 4], name[LIVE__EXCERPT_MAX + 4];
	int rc = 0;

	if (!is_str(it->key))
		return bad(ld, it->mark, "a stage name must be a string");
	excerpt(name, sizeof(name), it->key);
	if (!(s->name = strdup(it->key->text)))
		return oom(ld);
	if (n->kind != PK_MAP)
		return bad(ld, n->mark, "stage '%s' must be a mapping", name);
	for (size_t k = 0; k < n->n && !rc; k++) {
		const char *key = n->items[k].key->text;
		const struct pnode *v = n->items[k].value;

		if (!strcmp(key, "cmd"))
			rc = load_cmd(ld, v, &s->cmd);
		else if (!strcmp(key, "deps"))
			rc = load_entries(ld, v, "deps", &s->deps, &s->ndeps);
		else if (!strcmp(key, "params"))
			rc = load_params(ld, v, s);
		else if (!strcmp(key, "outs"))
			rc = load_entries(ld, v, "outs", &s->outs, &s->nouts);
		else
			rc = bad(ld, n->items[k].mark, "unknown key '%s' in stage '%s'",
			         excerpt(shown, sizeof(shown), n->items[k].key), name);
	}
	if (!rc && !s->cmd)
		rc = bad(ld, n->mark, "stage '%s' has no 'cmd'", name);
	return rc;
}

static int load_stages(const struct lockload *ld, const struct pnode *map)
{
	tr_lock *lock = ld->lock;

	if (!map->n)
		return 0;
	if (!(lock->stages = calloc(map->n, sizeof(*lock->stages))))
		return oom(ld);
	for (size_t k = 0; k < map->n; k++) {
		int rc = load_stage(ld, &map->items[k], &lock->stages[lock->n++]);

		if (rc)
			return rc;
	}
	return 0;
}

int tr_lock_load(const char *path, tr_lock *out)
{
	struct lockload ld = {path, out};
	const struct pnode *root, *schema = NULL, *stages = NULL;
	struct pnode *nodes = NULL;
	char shown[LIVE__EXCERPT_MAX + 4];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = live__yaml_read(path, &root, &nodes);
	if (rc == LIVE_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (!root)
		goto done; /* empty: no stages */
	rc = live__yaml_check_expansion(path, root); /* aliases: bounded before anything is copied */
	if (rc)
		goto done;
	for (size_t k = 0; k < root->n; k++) {
		const struct pnode *key = root->items[k].key;

		if (!strcmp(key->text, "schema"))
			schema = root->items[k].value;
		else if (!strcmp(key->text, "stages"))
			stages = root->items[k].value;
	}
	if (!schema && stages) {
		rc = bad(&ld, root->n ? root->items[0].mark : root->mark,
		         "schema '2.0' expected before 'stages'");
		goto done;
	}
	if (!schema) {
		rc = load_stages(&ld, root); /* v1: the stages at the top level */
		goto done;
	}
	if (schema->kind != PK_SCALAR || strcmp(schema->text, "2.0") ||
	    schema->style == YAML_PLAIN_SCALAR_STYLE) {
		/* a plain 2.0 is the float 2.0, which DVC refuses too */
		int number = schema->kind == PK_SCALAR && schema->style == YAML_PLAIN_SCALAR_STYLE &&
		             tr_yaml_resolve(schema->text, schema->len) != TR_YAML_STR;

		live__yaml_describe(shown, sizeof(shown), schema);
		rc = bad(&ld, schema->mark, "schema '2.0' expected, got %s%s", shown,
		         number ? " (a number, not a string)" : "");
		goto done;
	}
	for (size_t k = 0; k < root->n; k++) {
		const struct pnode *key = root->items[k].key;

		if (strcmp(key->text, "schema") && strcmp(key->text, "stages")) {
			rc = bad(&ld, root->items[k].mark, "unknown key '%s' at the top level",
			         excerpt(shown, sizeof(shown), key));
			goto done;
		}
	}
	if (!stages || stages->kind == PK_NULL)
		goto done;
	if (stages->kind != PK_MAP) {
		rc = bad(&ld, stages->mark, "'stages' must be a mapping of stage names");
		goto done;
	}
	rc = load_stages(&ld, stages);
done:
	live__yaml_free(nodes);
	if (rc)
		tr_lock_free(out);
	return rc;
}
