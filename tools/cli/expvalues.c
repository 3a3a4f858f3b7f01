/*
 * Values (expdata.h): a parsed file flattened into entries typed as Python
 * would load them, and those values written back as text the way DVC prints
 * them.
 *
 * A YAML plain scalar is typed as ruamel's YAML 1.2 resolver reads it
 * (tr_yaml_resolve), a JSON number as an int unless it has a fraction or an
 * exponent. Every allocation comes from the repository's arena.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expdata_internal.h"

/* ---- nodes to typed values ------------------------------------------------------ */

/* A plain scalar as ruamel's YAML 1.2 resolver types it. */
static xd_value scalar_value(const ynode *n)
{
	xd_value v = { .kind = XD_STR, .s = n->text };
	if (!n->plain)
		return v;
	const char *t = n->text;
	size_t len = strlen(t);
	char clean[128];
	size_t k = 0;
	switch (tr_yaml_resolve(t, len)) {
	case TR_YAML_NULL: v.kind = XD_NULL; break;
	case TR_YAML_BOOL:
		v.kind = XD_BOOL;
		v.i = t[0] == 't' || t[0] == 'T';
		break;
	case TR_YAML_INT:
	case TR_YAML_FLOAT: {
		int is_int = tr_yaml_resolve(t, len) == TR_YAML_INT;
		for (size_t i = 0; t[i] && k + 1 < sizeof(clean); i++)
			if (t[i] != '_')
				clean[k++] = t[i];
		clean[k] = 0;
		const char *c = clean + (clean[0] == '+' || clean[0] == '-');
		int neg = clean[0] == '-';
		if (!is_int) {
			v.kind = XD_FLOAT;
			if (!strcmp(c, ".inf") || !strcmp(c, ".Inf") || !strcmp(c, ".INF"))
				v.d = neg ? -INFINITY : INFINITY;
			else if (c[0] == '.' && (c[1] == 'n' || c[1] == 'N'))
				v.d = NAN;
			else
				v.d = strtod(clean, NULL);
			break;
		}
		int base = 10;
		if (c[0] == '0' && (c[1] == 'x' || c[1] == 'o')) {
			base = c[1] == 'x' ? 16 : 8;
			c += 2;
		}
		errno = 0;
		unsigned long long u = strtoull(c, NULL, base);
		if (errno == ERANGE || u > (unsigned long long)LLONG_MAX + neg) {
			/* Python keeps the exact int; a double is the nearest this can hold. */
			v.kind = XD_FLOAT;
			v.d = neg ? -strtod(c, NULL) : strtod(c, NULL);
		} else {
			v.kind = XD_INT;
			v.i = neg ? (long long)(0 - u) : (long long)u;
		}
		break;
	}
	default: break;
	}
	return v;
}

static int node_value(arena *a, const ynode *n, xd_value *out)
{
	if (n->kind == 's') {
		*out = scalar_value(n);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	int is_map = n->kind == 'm';
	size_t count = is_map ? n->n / 2 : n->n;
	xd_value *items = xd__arena_alloc(a, (count ? count : 1) * sizeof(*items));
	const char **keys = is_map ? xd__arena_alloc(a, (count ? count : 1) * sizeof(*keys)) : NULL;
	if (!items || (is_map && !keys))
		return live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const ynode *item = is_map ? n->kids[2 * i + 1] : n->kids[i];
		if (is_map)
			keys[i] = n->kids[2 * i]->kind == 's' ? n->kids[2 * i]->text : "?";
		int rc = node_value(a, item, &items[i]);
		if (rc)
			return rc;
	}
	out->kind = is_map ? XD_MAP : XD_LIST;
	out->items = items;
	out->keys = keys;
	out->n = count;
	return 0;
}

typedef struct flattener {
	arena *a;
	int numeric_only;
	const char *segs[64];
	size_t nsegs;
	xd_entry *e;
	size_t n, cap;
} flattener;

static int flatten(flattener *f, const ynode *n)
{
	if (n->kind == 'm' && f->nsegs < 64) {
		for (size_t i = 0; i + 1 < n->n; i += 2) {
			if (n->kids[i]->kind != 's')
				continue;
			f->segs[f->nsegs++] = n->kids[i]->text;
			int rc = flatten(f, n->kids[i + 1]);
			f->nsegs--;
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!f->nsegs)
		return 0; /* a file that is not a mapping has no named values */
	xd_value v;
	int rc = node_value(f->a, n, &v);
	if (rc)
		return rc;
	/* Metrics keep numbers only (a bool is an int in Python). */
	if (f->numeric_only && v.kind != XD_INT && v.kind != XD_FLOAT && v.kind != XD_BOOL)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		xd_entry *ne = realloc(f->e, cap * sizeof(*ne));
		if (!ne)
			return live__fail(LIVE_ENOMEM, "out of memory");
		f->e = ne;
		f->cap = cap;
	}
	xd_entry *e = &f->e[f->n];
	size_t keylen = 0;
	for (size_t i = 0; i < f->nsegs; i++)
		keylen += strlen(f->segs[i]) + 1;
	char *key = xd__arena_alloc(f->a, keylen);
	const char **segs = xd__arena_copy(f->a, f->segs, f->nsegs * sizeof(*segs));
	if (!key || !segs)
		return live__fail(LIVE_ENOMEM, "out of memory");
	key[0] = 0;
	for (size_t i = 0, at = 0; i < f->nsegs; i++) {
		size_t l = strlen(f->segs[i]);
		if (i)
			key[at++] = '.';
		memcpy(key + at, f->segs[i], l + 1);
		at += l;
	}
	e->key = key;
	e->segs = segs;
	e->nsegs = f->nsegs;
	e->v = v;
	f->n++;
	return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static const ynode *parse_any(arena *a, const char *path, const char *data, size_t len, char *err,
			      size_t errsize, int *ok)
{
	if (has_suffix(path, ".json")) {
		const ynode *root = xd__parse_json(a, data, len, err, errsize);
		*ok = root != NULL;
		return root;
	}
	return xd__parse_yaml(a, data, len, err, errsize, ok);
}

/* A metrics or params file from its bytes; an unparsable file keeps its error. */
int xd__parse_file(arena *a, const char *path, const char *data, size_t len, int numeric_only,
		   const xd_file **out)
{
	xd_file *f = xd__arena_alloc(a, sizeof(*f));
	char err[200] = "";
	int ok;
	if (!f || !(f->path = xd__arena_strdup(a, path)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	f->error = NULL;
	f->e = NULL;
	f->n = 0;
	const ynode *root = parse_any(a, path, data, len, err, sizeof(err), &ok);
	if (!ok) {
		f->error = xd__arena_strdup(a, err[0] ? err : "cannot parse");
	} else if (root) {
		flattener fl = { .a = a, .numeric_only = numeric_only };
		int rc = flatten(&fl, root);
		if (!rc && !(f->e = xd__arena_copy(a, fl.e, fl.n * sizeof(*fl.e))))
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		f->n = fl.n;
		free(fl.e);
		if (rc)
			return rc;
	}
	*out = f;
	return 0;
}

/* ---- buffers ------------------------------------------------------------------ */

int xd_puts(live__buf *b, const char *s)
{
	/* nothing for "": an empty buffer has no data to copy into */
	return *s ? live__buf_append(b, s, strlen(s)) : 0;
}

int xd_printf(live__buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return live__fail(LIVE_ERROR, "format error");
	if ((size_t)n < sizeof(small))
		return n ? live__buf_append(b, small, (size_t)n) : 0;
	int rc = live__buf_reserve(b, (size_t)n + 1);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* ---- values as text ------------------------------------------------------------- */

const xd_entry *xd_get(const xd_file *f, const char *key)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (!strcmp(f->e[i].key, key))
			return &f->e[i];
	return NULL;
}

static int is_number(const xd_value *v)
{
	return v->kind == XD_INT || v->kind == XD_BOOL || v->kind == XD_FLOAT;
}

int xd_compare(const xd_value *a, const xd_value *b)
{
	int ra = is_number(a) ? 0 : a->kind == XD_STR ? 1 : 2;
	int rb = is_number(b) ? 0 : b->kind == XD_STR ? 1 : 2;
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 1)
		return strcmp(a->s, b->s) < 0 ? -1 : strcmp(a->s, b->s) > 0;
	if (ra == 2)
		return 0;
	if (a->kind != XD_FLOAT && b->kind != XD_FLOAT)
		return a->i < b->i ? -1 : a->i > b->i;
	double x = a->kind == XD_FLOAT ? a->d : (double)a->i, y = b->kind == XD_FLOAT ? b->d : (double)b->i;
	return x < y ? -1 : x > y;
}

/* repr() of a str: single quotes unless the text holds one and no double quote. */
static int py_repr_str(live__buf *b, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
	int rc = live__buf_append(b, &q, 1);
	for (; !rc && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\' || c == (unsigned char)q)
			rc = xd_printf(b, "\\%c", c);
		else if (c == '\n')
			rc = xd_puts(b, "\\n");
		else if (c == '\r')
			rc = xd_puts(b, "\\r");
		else if (c == '\t')
			rc = xd_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			rc = xd_printf(b, "\\x%02x", c);
		else
			rc = live__buf_append(b, s, 1);
	}
	return rc ? rc : live__buf_append(b, &q, 1);
}

enum { F_G, F_REPR, F_ROUND };

static int fmt(const xd_value *v, int mode, int precision, int nested, live__buf *b)
{
	char num[800];
	int rc = 0;
	switch (v->kind) {
	case XD_NULL: return xd_puts(b, "None");
	case XD_BOOL: return xd_puts(b, v->i ? "True" : "False");
	case XD_INT: return xd_printf(b, "%lld", v->i);
	case XD_FLOAT: {
		if (mode == F_G && precision > 0) {
			snprintf(num, sizeof(num), "%.*g", precision > 300 ? 300 : precision, v->d);
			return nested ? py_repr_str(b, num) : xd_puts(b, num);
		}
		double d = v->d;
		if (mode == F_ROUND && isfinite(d)) {
			/* round(d, p): printf rounds the exact binary value, ties to even, as Python does. */
			int p = precision > 300 ? 300 : precision < 0 ? 0 : precision;
			snprintf(num, sizeof(num), "%.*f", p, d);
			d = strtod(num, NULL);
		}
		live__fmt_double(num, d);
		return xd_puts(b, num);
	}
	case XD_STR: return nested ? py_repr_str(b, v->s) : xd_puts(b, v->s);
	case XD_LIST:
	case XD_MAP:
		rc = xd_puts(b, v->kind == XD_LIST ? "[" : "{");
		for (size_t i = 0; !rc && i < v->n; i++) {
			if (i)
				rc = xd_puts(b, ", ");
			if (!rc && v->kind == XD_MAP) {
				rc = py_repr_str(b, v->keys[i]);
				if (!rc)
					rc = xd_puts(b, ": ");
			}
			if (!rc)
				rc = fmt(&v->items[i], mode, precision, 1, b);
		}
		return rc ? rc : xd_puts(b, v->kind == XD_LIST ? "]" : "}");
	}
	return 0;
}

int xd_format(const xd_value *v, int precision, live__buf *out)
{
	return fmt(v, F_G, precision, 0, out);
}

int xd_format_round(const xd_value *v, int precision, live__buf *out)
{
	return fmt(v, F_ROUND, precision, 0, out);
}

int xd_json_string(const char *s, live__buf *b)
{
	int rc = xd_puts(b, "\"");
	const unsigned char *p = (const unsigned char *)s;
	while (!rc && *p) {
		unsigned cp = *p, len = 1;
		if (cp >= 0xC0 && cp < 0xE0 && (p[1] & 0xC0) == 0x80) {
			cp = (cp & 0x1F) << 6 | (p[1] & 0x3F);
			len = 2;
		} else if (cp >= 0xE0 && cp < 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
			cp = (cp & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
			len = 3;
		} else if (cp >= 0xF0 && cp < 0xF8 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
			   (p[3] & 0xC0) == 0x80) {
			cp = (cp & 0x07) << 18 | (p[1] & 0x3F) << 12 | (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
			len = 4;
		}
		p += len;
		/* ensure_ascii, as json.dumps writes by default */
		if (cp == '"' || cp == '\\')
			rc = xd_printf(b, "\\%c", (char)cp);
		else if (cp == '\n')
			rc = xd_puts(b, "\\n");
		else if (cp == '\r')
			rc = xd_puts(b, "\\r");
		else if (cp == '\t')
			rc = xd_puts(b, "\\t");
		else if (cp == '\b')
			rc = xd_puts(b, "\\b");
		else if (cp == '\f')
			rc = xd_puts(b, "\\f");
		else if (cp >= 0x10000)
			rc = xd_printf(b, "\\u%04x\\u%04x", 0xD800 + ((cp - 0x10000) >> 10),
				       0xDC00 + ((cp - 0x10000) & 0x3FF));
		else if (cp < 0x20 || cp >= 0x7f)
			rc = xd_printf(b, "\\u%04x", cp);
		else
			rc = live__buf_append(b, p - 1, 1);
	}
	return rc ? rc : xd_puts(b, "\"");
}

int xd_json_value(const xd_value *v, live__buf *b)
{
	char num[LIVE__NUM_MAX];
	int rc = 0;
	switch (v->kind) {
	case XD_NULL: return xd_puts(b, "null");
	case XD_BOOL: return xd_puts(b, v->i ? "true" : "false");
	case XD_INT: return xd_printf(b, "%lld", v->i);
	case XD_FLOAT:
		if (isnan(v->d))
			return xd_puts(b, "NaN");
		if (isinf(v->d))
			return xd_puts(b, v->d < 0 ? "-Infinity" : "Infinity");
		live__fmt_double(num, v->d);
		return xd_puts(b, num);
	case XD_STR: return xd_json_string(v->s, b);
	case XD_LIST:
	case XD_MAP:
		rc = xd_puts(b, v->kind == XD_LIST ? "[" : "{");
		for (size_t i = 0; !rc && i < v->n; i++) {
			if (i)
				rc = xd_puts(b, ", ");
			if (!rc && v->kind == XD_MAP) {
				rc = xd_json_string(v->keys[i], b);
				if (!rc)
					rc = xd_puts(b, ": ");
			}
			if (!rc)
				rc = xd_json_value(&v->items[i], b);
		}
		return rc ? rc : xd_puts(b, v->kind == XD_LIST ? "]" : "}");
	}
	return 0;
}

/* The entries nested back into objects: consecutive keys share their open prefixes. */
int xd_json_entries(const xd_file *f, live__buf *b)
{
	int first[66] = { 1 };
	size_t depth = 0;
	int rc = xd_puts(b, "{");
	for (size_t i = 0; !rc && i < f->n; i++) {
		const xd_entry *e = &f->e[i];
		size_t common = 0;
		while (i && common < depth && common + 1 < e->nsegs &&
		       !strcmp(f->e[i - 1].segs[common], e->segs[common]))
			common++;
		for (; !rc && depth > common; depth--)
			rc = xd_puts(b, "}");
		for (; !rc && depth + 1 < e->nsegs; depth++) {
			rc = xd_puts(b, first[depth] ? "" : ", ");
			first[depth] = 0;
			if (!rc)
				rc = xd_json_string(e->segs[depth], b);
			if (!rc)
				rc = xd_puts(b, ": {");
			first[depth + 1] = 1;
		}
		if (!rc)
			rc = xd_puts(b, first[depth] ? "" : ", ");
		first[depth] = 0;
		if (!rc)
			rc = xd_json_string(e->segs[e->nsegs - 1], b);
		if (!rc)
			rc = xd_puts(b, ": ");
		if (!rc)
			rc = xd_json_value(&e->v, b);
	}
	for (; !rc && depth > 0; depth--)
		rc = xd_puts(b, "}");
	return rc ? rc : xd_puts(b, "}");
}
