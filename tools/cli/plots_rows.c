/*
 * A plot file's rows (plots.h): JSON and YAML through the CLI's own parsers
 * (expparse.c, as Python's json and ruamel load them), CSV and TSV as
 * Python's csv.DictReader reads them; and their values as Vega reads a
 * quantitative field, as a label, or as json.dumps writes them.
 *
 * CSV and TSV rows are not split up front: the bytes after the header are
 * kept, and each row is cut into cells when it is read, into a buffer the
 * iterator reuses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plots.h"

/* ---- reading a file ------------------------------------------------------------------ */

static int has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), e = strlen(ext);
	return n > e && !strcasecmp(path + n - e, ext);
}

char pl_format(const char *path)
{
	if (has_ext(path, ".json"))
		return 'j';
	if (has_ext(path, ".yaml") || has_ext(path, ".yml"))
		return 'y';
	if (has_ext(path, ".csv"))
		return ',';
	if (has_ext(path, ".tsv"))
		return '\t';
	return 0;
}

/* The extent of one CSV/TSV record from p: up to an unquoted newline. */
static const char *record_end(const char *p, const char *end)
{
	int quoted = 0;
	for (; p < end; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '\n' && !quoted)
			break;
	}
	return p;
}

/*
 * One record as Python's csv module reads it (quote char '"', doubled inside
 * quotes; text after a closing quote kept): its cells into `cells`, each
 * NUL-terminated, and their starts into it->f[].text. 1, or 0 at the end.
 */
static int next_record(pl_rows *it, const char **pp, const char *end, char sep)
{
	const char *p = *pp;
	while (p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')))
		p++; /* csv.DictReader skips blank lines */
	if (p >= end) {
		*pp = p;
		return 0;
	}
	const char *e = record_end(p, end);
	*pp = e < end ? e + 1 : e;
	if (e > p && e[-1] == '\r')
		e--;
	size_t need = (size_t)(e - p) + 1;
	if (need > it->cap) {
		char *cells = realloc(it->cells, need);
		if (!cells)
			return live__fail(LIVE_ENOMEM, "out of memory");
		it->cells = cells;
		it->cap = need;
	}
	char *w = it->cells;
	it->nf = 0;
	for (;;) {
		if (it->nf == it->capf) {
			size_t capf = it->capf ? it->capf * 2 : 16;
			pl_field *f = realloc(it->f, capf * sizeof(*f));
			if (!f)
				return live__fail(LIVE_ENOMEM, "out of memory");
			it->f = f;
			it->capf = capf;
		}
		it->f[it->nf++] = (pl_field){ NULL, NULL, w };
		int quoted = p < e && *p == '"';
		if (quoted)
			p++;
		for (; p < e; p++) {
			if (quoted && *p == '"') {
				if (p + 1 < e && p[1] == '"') {
					*w++ = *p++;
					continue;
				}
				quoted = 0;
				continue;
			}
			if (!quoted && *p == sep)
				break;
			*w++ = *p;
		}
		*w++ = 0;
		if (p >= e)
			break;
		p++; /* the separator */
	}
	return 1;
}

void pl_rows_start(pl_rows *it, const pl_data *d)
{
	memset(it, 0, sizeof(*it));
	it->d = d;
	it->p = d->text;
}

int pl_rows_next(pl_rows *it, const pl_field **f, size_t *n)
{
	const pl_data *d = it->d;
	if (!d->present)
		return 0;
	if (d->format == 'j') {
		if (it->i >= d->nrows)
			return 0;
		const ynode *row = d->rows[it->i++];
		size_t count = row->n / 2;
		if (count > it->capf) {
			pl_field *grown = realloc(it->f, count * sizeof(*grown));
			if (!grown)
				return live__fail(LIVE_ENOMEM, "out of memory");
			it->f = grown;
			it->capf = count;
		}
		it->nf = 0;
		for (size_t k = 0; k + 1 < row->n; k += 2) {
			const ynode *key = row->kids[k], *v = row->kids[k + 1];
			if (key->kind == 's')
				it->f[it->nf++] = (pl_field){ key->text, v, v->kind == 's' ? v->text : NULL };
		}
	} else {
		int rc = next_record(it, &it->p, d->text + d->len, d->format);
		if (rc <= 0)
			return rc;
		/* csv.DictReader: extra cells have no key (dropped), missing cells no value (left out) */
		if (it->nf > d->nkeys)
			it->nf = d->nkeys;
		for (size_t k = 0; k < it->nf; k++)
			it->f[k].key = d->keys[k];
		it->i++;
	}
	*f = it->f;
	*n = it->nf;
	return 1;
}

void pl_rows_free(pl_rows *it)
{
	free(it->cells);
	free(it->f);
	memset(it, 0, sizeof(*it));
}

/* The first list of mappings in a document (DVC's find of the datapoints); an empty list counts. */
static const ynode *find_rows(const ynode *n, int depth)
{
	if (!n || depth > 64)
		return NULL;
	if (n->kind == 'q') {
		if (!n->n && !depth)
			return n;
		for (size_t i = 0; i < n->n; i++)
			if (n->kids[i]->kind == 'm')
				return n;
		return NULL;
	}
	for (size_t i = 1; n->kind == 'm' && i < n->n; i += 2) {
		const ynode *r = find_rows(n->kids[i], depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

int pl_parse(arena *a, const char *path, const char *data, size_t len, pl_data *d, char *why, size_t whysize)
{
	char fmt = pl_format(path);
	memset(d, 0, sizeof(*d));
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) {
		data += 3;
		len -= 3;
	}
	if (fmt == 'j' || fmt == 'y') {
		int ok = 1;
		const ynode *root = fmt == 'j' ? xd__parse_json(a, data, len, why, whysize)
					       : xd__parse_yaml(a, data, len, why, whysize, &ok);
		if (!root) {
			if (ok && fmt == 'y')
				snprintf(why, whysize, "empty document");
			return 0;
		}
		const ynode *list = find_rows(root, 0);
		if (!list) {
			snprintf(why, whysize, "no list of mappings (DVC's datapoints) in it");
			return 0;
		}
		const ynode **rows = xd__arena_alloc(a, (list->n ? list->n : 1) * sizeof(*rows));
		if (!rows)
			return live__fail(LIVE_ENOMEM, "out of memory");
		for (size_t i = 0; i < list->n; i++)
			if (list->kids[i]->kind == 'm')
				rows[d->nrows++] = list->kids[i];
		d->rows = rows;
		d->format = 'j';
		const ynode *first = d->nrows ? rows[0] : NULL;
		const char **keys = xd__arena_alloc(a, (first ? first->n / 2 + 1 : 1) * sizeof(*keys));
		if (!keys)
			return live__fail(LIVE_ENOMEM, "out of memory");
		for (size_t k = 0; first && k + 1 < first->n; k += 2)
			if (first->kids[k]->kind == 's')
				keys[d->nkeys++] = first->kids[k]->text;
		d->keys = keys;
		d->present = 1;
		return 0;
	}
	/* CSV, TSV: the header, then the rest kept as bytes. */
	char *text = xd__arena_strndup(a, data, len);
	if (!text)
		return live__fail(LIVE_ENOMEM, "out of memory");
	pl_rows it = { 0 };
	const char *p = text;
	int rc = next_record(&it, &p, text + len, fmt);
	const char **keys = rc > 0 ? xd__arena_alloc(a, it.nf * sizeof(*keys)) : NULL;
	for (size_t k = 0; keys && k < it.nf; k++)
		if (!(keys[k] = xd__arena_strdup(a, it.f[k].text)))
			keys = NULL;
	size_t nkeys = it.nf;
	pl_rows_free(&it);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		snprintf(why, whysize, "no header line");
		return 0;
	}
	if (!keys)
		return live__fail(LIVE_ENOMEM, "out of memory");
	d->format = fmt;
	d->keys = keys;
	d->nkeys = nkeys;
	d->text = p;
	d->len = (size_t)(text + len - p);
	d->present = 1;
	return 0;
}

/* ---- values ---------------------------------------------------------------------------- */

const pl_field *pl_get(const pl_field *f, size_t n, const char *key)
{
	for (size_t i = n; i-- > 0;) /* the last of duplicate keys, as Python's dict keeps */
		if (f[i].key && !strcmp(f[i].key, key))
			return &f[i];
	return NULL;
}

const char *pl_label(const pl_field *f)
{
	return f->text;
}

/* JavaScript's +"text" for a quantitative field: a decimal, hex, or (case as JS) NaN/Infinity. */
static int parse_number(const char *t, double *out, int *is_int)
{
	while (*t == ' ' || *t == '\t')
		t++;
	if (!*t)
		return 0;
	char *end;
	errno = 0;
	double v = strtod(t, &end);
	if (end == t)
		return 0;
	const char *rest = end;
	while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n')
		rest++;
	if (*rest)
		return 0;
	int digits_only = 1;
	for (const char *p = t + (*t == '-' || *t == '+'); p < end; p++)
		digits_only &= *p >= '0' && *p <= '9';
	*out = v;
	*is_int = digits_only && v > -9.0e15 && v < 9.0e15;
	return 1;
}

/* A plain scalar of JSON or YAML 1.2, typed as Python loads it; kind 0 when it is a string. */
static xd_value plain_value(const char *t)
{
	xd_value v = { .kind = XD_STR, .s = t };
	const char *c = t + (*t == '+' || *t == '-');
	int neg = *t == '-';
	if (!strcmp(c, ".nan") || !strcmp(c, ".NaN") || !strcmp(c, ".NAN")) {
		v.kind = XD_FLOAT;
		v.d = NAN;
		return v;
	}
	if (!strcmp(c, ".inf") || !strcmp(c, ".Inf") || !strcmp(c, ".INF")) {
		v.kind = XD_FLOAT;
		v.d = neg ? -INFINITY : INFINITY;
		return v;
	}
	enum tr_yaml_tag tag = tr_yaml_resolve(t, strlen(t));
	if (tag == TR_YAML_NULL) {
		v.kind = XD_NULL;
	} else if (tag == TR_YAML_BOOL) {
		v.kind = XD_BOOL;
		v.i = t[0] == 't' || t[0] == 'T';
	} else if (tag == TR_YAML_INT || tag == TR_YAML_FLOAT) {
		char clean[128];
		size_t k = 0;
		for (size_t i = 0; t[i] && k + 1 < sizeof(clean); i++)
			if (t[i] != '_')
				clean[k++] = t[i];
		clean[k] = 0;
		const char *d = clean + (clean[0] == '+' || clean[0] == '-');
		errno = 0;
		if (tag == TR_YAML_INT) {
			int octal = d[0] == '0' && d[1] == 'o';
			long long i = strtoll(octal ? d + 2 : d, NULL, octal ? 8 : 0);
			if (errno != ERANGE) {
				v.kind = XD_INT;
				v.i = neg ? -i : i;
				return v;
			}
		}
		v.kind = XD_FLOAT;
		v.d = strtod(clean, NULL);
	}
	return v;
}

int pl_number(const pl_field *f, double *out, int *is_int)
{
	if (!f || !f->text)
		return 0;
	if (!f->node || !f->node->plain)
		return parse_number(f->text, out, is_int);
	xd_value v = plain_value(f->text);
	if (v.kind == XD_INT) {
		*out = (double)v.i;
		*is_int = 1;
		return 1;
	}
	if (v.kind == XD_FLOAT) {
		*out = v.d;
		*is_int = 0;
		return 1;
	}
	return 0;
}

static int json_node(const ynode *n, live__buf *out, int depth)
{
	if (n->kind == 's') {
		if (!n->plain)
			return xd_json_string(n->text, out);
		xd_value v = plain_value(n->text);
		return xd_json_value(&v, out);
	}
	int is_map = n->kind == 'm';
	int rc = xd_puts(out, is_map ? "{" : "[");
	for (size_t i = 0; !rc && i < n->n; i += is_map ? 2 : 1) {
		if (i)
			rc = xd_puts(out, ", ");
		if (!rc && is_map) {
			const ynode *key = n->kids[i];
			rc = key->kind == 's' ? xd_json_string(key->text, out) : xd_puts(out, "\"?\"");
			rc = rc ? rc : xd_puts(out, ": ");
		}
		const ynode *v = i + is_map < n->n ? n->kids[i + is_map] : NULL;
		if (!rc && v)
			rc = depth > 100 ? xd_puts(out, "null") : json_node(v, out, depth + 1);
	}
	return rc ? rc : xd_puts(out, is_map ? "}" : "]");
}

int pl_json_field(const pl_field *f, live__buf *out)
{
	if (!f->node)
		return xd_json_string(f->text, out);
	return json_node(f->node, out, 0);
}
