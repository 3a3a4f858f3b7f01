/*
 * Collecting metrics, params and experiments per revision (expdata.h).
 *
 * A file is parsed into a small node tree (JSON by hand, YAML through
 * libyaml), then flattened into entries typed as Python would load them: a
 * YAML plain scalar as ruamel's YAML 1.2 resolver reads it
 * (tr_yaml_resolve), a JSON number as an int unless it has a fraction or an
 * exponent. Every allocation comes from one arena, freed with the repository.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "expdata.h"

/* ---- arena and map ----------------------------------------------------------- */

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
} chunk;

typedef struct arena {
	chunk *head;
} arena;

static void *arena_alloc(arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 60000 ? n : 60000;
		chunk *c = malloc(sizeof(chunk) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

static char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static char *arena_strdup(arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

static void *arena_copy(arena *a, const void *p, size_t n)
{
	void *d = arena_alloc(a, n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

static void arena_free(arena *a)
{
	while (a->head) {
		chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

/* Strings to pointers; keys are copied into the arena. Never shrinks. */
typedef struct map {
	const char **keys;
	void **vals;
	size_t cap, n;
} map;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void **map_slot(map *m, const char *key, int *found)
{
	size_t i = (size_t)hash_str(key) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & (m->cap - 1);
	*found = m->keys[i] != NULL;
	return &m->vals[i];
}

static void *map_get(const map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	int found;
	void **v = map_slot((map *)m, key, &found);
	return found ? *v : NULL;
}

static int map_put(map *m, arena *a, const char *key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		map bigger = { 0 };
		bigger.cap = m->cap ? m->cap * 2 : 64;
		bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
		bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals));
		if (!bigger.keys || !bigger.vals) {
			free(bigger.keys);
			free(bigger.vals);
			return live__fail(LIVE_ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				int f;
				void **slot = map_slot(&bigger, m->keys[i], &f);
				bigger.keys[slot - bigger.vals] = m->keys[i];
				*slot = m->vals[i];
			}
		bigger.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = bigger;
	}
	int found;
	void **slot = map_slot(m, key, &found);
	if (!found) {
		if (!(m->keys[slot - m->vals] = arena_strdup(a, key)))
			return live__fail(LIVE_ENOMEM, "out of memory");
		m->n++;
	}
	*slot = val;
	return 0;
}

static void map_free(map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* A growable array of pointers, copied into the arena when done. */
typedef struct vec {
	void **v;
	size_t n, cap;
} vec;

static int vec_push(vec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return live__fail(LIVE_ENOMEM, "out of memory");
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
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

/* ---- parsing files into nodes ------------------------------------------------------ */

typedef struct ynode {
	char kind;  /* 's' scalar, 'm' mapping, 'q' sequence */
	char plain; /* a scalar typed by its text (YAML plain, JSON literal); else a string */
	const char *text;
	struct ynode **kids; /* mapping: key, value, key, value...; sequence: items */
	size_t n;
} ynode;

static ynode *new_node(arena *a, char kind)
{
	ynode *n = arena_alloc(a, sizeof(*n));
	if (n)
		memset(n, 0, sizeof(*n));
	if (n)
		n->kind = kind;
	return n;
}

static int finish_kids(arena *a, ynode *n, vec *kids)
{
	n->n = kids->n;
	n->kids = arena_copy(a, kids->v, kids->n * sizeof(*kids->v));
	free(kids->v);
	return n->kids ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
}

/* JSON, as Python's json.loads reads it (NaN and Infinity included). */
typedef struct jparser {
	const char *p, *end, *start;
	arena *a;
	char err[160];
} jparser;

static ynode *j_value(jparser *j, int depth);

static void j_ws(jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static ynode *j_fail(jparser *j, const char *what)
{
	if (!j->err[0])
		snprintf(j->err, sizeof(j->err), "%s at offset %ld", what, (long)(j->p - j->start));
	return NULL;
}

static int hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		*out = *out * 16 + (unsigned)d;
	}
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static ynode *j_string(jparser *j)
{
	const char *s = ++j->p;
	while (j->p < j->end && *j->p != '"')
		j->p += *j->p == '\\' ? 2 : 1;
	if (j->p >= j->end)
		return j_fail(j, "unterminated string");
	/* Escapes only shrink: the raw length bounds the decoded one. */
	char *o = arena_alloc(j->a, (size_t)(j->p - s) + 1), *w = o;
	ynode *n = new_node(j->a, 's');
	if (!o || !n)
		return j_fail(j, "out of memory");
	for (const char *q = s; q < j->p; q++) {
		if ((unsigned char)*q < 0x20)
			return j_fail(j, "control character in string");
		if (*q != '\\') {
			*w++ = *q;
			continue;
		}
		switch (*++q) {
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case '"': case '\\': case '/': *w++ = *q; break;
		case 'u': {
			unsigned cp, lo;
			if (j->p - q < 5 || hex4(q + 1, &cp))
				return j_fail(j, "bad \\u escape");
			q += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && j->p - q >= 7 && q[1] == '\\' && q[2] == 'u' &&
			    !hex4(q + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				q += 6;
			}
			w += put_utf8(w, cp);
			break;
		}
		default: return j_fail(j, "bad escape");
		}
	}
	*w = 0;
	j->p++;
	n->text = o;
	return n;
}

static ynode *j_literal(jparser *j)
{
	static const struct {
		const char *in, *as;
	} words[] = { { "true", "true" },     { "false", "false" }, { "null", "null" },
		      { "NaN", ".nan" },      { "Infinity", ".inf" }, { "-Infinity", "-.inf" } };
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		size_t l = strlen(words[i].in);
		if ((size_t)(j->end - j->p) >= l && !memcmp(j->p, words[i].in, l)) {
			ynode *n = new_node(j->a, 's');
			if (!n)
				return j_fail(j, "out of memory");
			n->plain = 1;
			n->text = words[i].as;
			j->p += l;
			return n;
		}
	}
	/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? */
	const char *s = j->p, *q = s;
	q += q < j->end && *q == '-';
	size_t d = 0;
	while (q + d < j->end && q[d] >= '0' && q[d] <= '9')
		d++;
	if (!d || (d > 1 && *q == '0'))
		return j_fail(j, "unexpected character");
	q += d;
	if (q < j->end && *q == '.') {
		for (d = 0, q++; q < j->end && *q >= '0' && *q <= '9'; q++)
			d++;
		if (!d)
			return j_fail(j, "bad number");
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		q++;
		q += q < j->end && (*q == '+' || *q == '-');
		for (d = 0; q < j->end && *q >= '0' && *q <= '9'; q++)
			d++;
		if (!d)
			return j_fail(j, "bad number");
	}
	ynode *n = new_node(j->a, 's');
	if (!n || !(n->text = arena_strndup(j->a, s, (size_t)(q - s))))
		return j_fail(j, "out of memory");
	n->plain = 1;
	j->p = q;
	return n;
}

static ynode *j_container(jparser *j, int depth, char close)
{
	ynode *n = new_node(j->a, close == '}' ? 'm' : 'q');
	vec kids = { 0 };
	if (!n)
		return j_fail(j, "out of memory");
	j->p++;
	j_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return finish_kids(j->a, n, &kids) ? j_fail(j, "out of memory") : n;
	}
	for (;;) {
		j_ws(j);
		if (close == '}') {
			ynode *k = j->p < j->end && *j->p == '"' ? j_string(j) : j_fail(j, "expected a key");
			j_ws(j);
			if (!k || j->p >= j->end || *j->p != ':' || vec_push(&kids, k))
				goto bad;
			j->p++;
		}
		ynode *v = j_value(j, depth + 1);
		if (!v || vec_push(&kids, v))
			goto bad;
		j_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return finish_kids(j->a, n, &kids) ? j_fail(j, "out of memory") : n;
		}
		j_fail(j, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
bad:
	free(kids.v);
	return j_fail(j, "expected ':'");
}

static ynode *j_value(jparser *j, int depth)
{
	j_ws(j);
	if (depth > 200)
		return j_fail(j, "nested too deeply");
	if (j->p >= j->end)
		return j_fail(j, "unexpected end");
	if (*j->p == '{')
		return j_container(j, depth, '}');
	if (*j->p == '[')
		return j_container(j, depth, ']');
	if (*j->p == '"')
		return j_string(j);
	return j_literal(j);
}

static const ynode *parse_json(arena *a, const char *data, size_t len, char *err, size_t errsize)
{
	jparser j = { .p = data, .end = data + len, .start = data, .a = a };
	ynode *root = j_value(&j, 0);
	j_ws(&j);
	if (root && j.p != j.end)
		root = j_fail(&j, "extra data");
	if (!root)
		snprintf(err, errsize, "%s", j.err);
	return root;
}

/* YAML through libyaml's events; anchors are shared nodes. */
typedef struct yparser {
	yaml_parser_t p;
	arena *a;
	vec anchors; /* name, node, name, node, ... */
	char err[160];
} yparser;

static ynode *y_fail(yparser *y, const char *what)
{
	if (!y->err[0]) {
		if (y->p.problem)
			snprintf(y->err, sizeof(y->err), "line %lu: %s",
				 (unsigned long)y->p.problem_mark.line + 1, y->p.problem);
		else
			snprintf(y->err, sizeof(y->err), "%s", what);
	}
	return NULL;
}

static ynode *y_node(yparser *y, yaml_event_t *ev, int depth)
{
	ynode *n = NULL;
	const yaml_char_t *anchor = NULL;
	if (depth > 100)
		return y_fail(y, "nested too deeply");
	if (ev->type == YAML_ALIAS_EVENT) {
		for (size_t i = 0; i + 1 < y->anchors.n; i += 2)
			if (!strcmp(y->anchors.v[i], (const char *)ev->data.alias.anchor))
				n = y->anchors.v[i + 1];
		return n ? n : y_fail(y, "unknown alias");
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		if (!(n = new_node(y->a, 's')) ||
		    !(n->text = arena_strndup(y->a, (const char *)ev->data.scalar.value,
					      ev->data.scalar.length)))
			return y_fail(y, "out of memory");
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) {
		int seq = ev->type == YAML_SEQUENCE_START_EVENT;
		anchor = seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
		vec kids = { 0 };
		if (!(n = new_node(y->a, seq ? 'q' : 'm')))
			return y_fail(y, "out of memory");
		for (;;) {
			yaml_event_t kid;
			if (!yaml_parser_parse(&y->p, &kid)) {
				free(kids.v);
				return y_fail(y, "parse error");
			}
			if (kid.type == YAML_SEQUENCE_END_EVENT || kid.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&kid);
				break;
			}
			ynode *k = y_node(y, &kid, depth + 1);
			yaml_event_delete(&kid);
			if (!k || vec_push(&kids, k)) {
				free(kids.v);
				return y_fail(y, "out of memory");
			}
		}
		if (finish_kids(y->a, n, &kids))
			return y_fail(y, "out of memory");
	} else {
		return y_fail(y, "unexpected event");
	}
	/* Registered once complete, so an alias can never form a cycle. */
	if (anchor) {
		char *name = arena_strdup(y->a, (const char *)anchor);
		if (!name || vec_push(&y->anchors, name) || vec_push(&y->anchors, n))
			return y_fail(y, "out of memory");
	}
	return n;
}

static const ynode *parse_yaml(arena *a, const char *data, size_t len, char *err, size_t errsize, int *ok)
{
	yparser y = { .a = a };
	ynode *root = NULL;
	int done = 0, failed = 0;
	if (!yaml_parser_initialize(&y.p)) {
		snprintf(err, errsize, "out of memory");
		*ok = 0;
		return NULL;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)data, len);
	while (!done && !failed) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&y.p, &ev)) {
			y_fail(&y, "parse error");
			failed = 1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = 1; break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT: break;
		default:
			if (root) { /* a second document: DVC reads one */
				done = 1;
				break;
			}
			if (!(root = y_node(&y, &ev, 0)))
				failed = 1;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y.p);
	free(y.anchors.v);
	*ok = !failed;
	if (failed)
		snprintf(err, errsize, "%s", y.err);
	return failed ? NULL : root;
}

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
	xd_value *items = arena_alloc(a, (count ? count : 1) * sizeof(*items));
	const char **keys = is_map ? arena_alloc(a, (count ? count : 1) * sizeof(*keys)) : NULL;
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
	char *key = arena_alloc(f->a, keylen);
	const char **segs = arena_copy(f->a, f->segs, f->nsegs * sizeof(*segs));
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
		const ynode *root = parse_json(a, data, len, err, errsize);
		*ok = root != NULL;
		return root;
	}
	return parse_yaml(a, data, len, err, errsize, ok);
}

/* A metrics or params file from its bytes; an unparsable file keeps its error. */
static int parse_file(arena *a, const char *path, const char *data, size_t len, int numeric_only,
		      const xd_file **out)
{
	xd_file *f = arena_alloc(a, sizeof(*f));
	char err[200] = "";
	int ok;
	if (!f || !(f->path = arena_strdup(a, path)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	f->error = NULL;
	f->e = NULL;
	f->n = 0;
	const ynode *root = parse_any(a, path, data, len, err, sizeof(err), &ok);
	if (!ok) {
		f->error = arena_strdup(a, err[0] ? err : "cannot parse");
	} else if (root) {
		flattener fl = { .a = a, .numeric_only = numeric_only };
		int rc = flatten(&fl, root);
		if (!rc && !(f->e = arena_copy(a, fl.e, fl.n * sizeof(*fl.e))))
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		f->n = fl.n;
		free(fl.e);
		if (rc)
			return rc;
	}
	*out = f;
	return 0;
}

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
	char *s = arena_strdup(a, buf);
	return s ? vec_push(v, s) : live__fail(LIVE_ENOMEM, "out of memory");
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
	const ynode *root = data ? parse_yaml(a, data, len, err, sizeof(err), &ok) : NULL;
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
	if (!rc && !have && !(rc = vec_push(&params, "params.yaml"))) {
		memmove(params.v + 1, params.v, (params.n - 1) * sizeof(*params.v));
		params.v[0] = "params.yaml";
	}
	if (!rc) {
		out->metrics = arena_copy(a, metrics.v, metrics.n * sizeof(char *));
		out->params = arena_copy(a, params.v, params.n * sizeof(char *));
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

struct xd_repo {
	tr_git *g;
	arena a;
	map blobs; /* "<m|p|s>:<path>:<blob id>" -> parsed file or spec */
	live__buf buf;
	map tags, heads, exps; /* commit -> name (exp show) */
};

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
	map_free(&r->blobs);
	map_free(&r->tags);
	map_free(&r->heads);
	map_free(&r->exps);
	live__buf_free(&r->buf);
	arena_free(&r->a);
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
	if ((*out = map_get(&r->blobs, key)))
		return 0;
	int rc = blob[0] ? tr_git_read_blob_id(r->g, blob, &r->buf) : 0;
	if (rc)
		return rc;
	if (kind == 's') {
		spec *s = arena_alloc(&r->a, sizeof(*s));
		if (!s)
			return live__fail(LIVE_ENOMEM, "out of memory");
		rc = read_spec(&r->a, blob[0] ? r->buf.data : NULL, r->buf.len, s);
		*out = s;
	} else {
		const xd_file *f;
		rc = parse_file(&r->a, path, r->buf.data ? r->buf.data : "", r->buf.len, kind == 'm', &f);
		*out = (void *)f;
	}
	return rc ? rc : map_put(&r->blobs, &r->a, key, *out);
}

static int collect_files(xd_repo *r, const char *sha, const char *const *paths, size_t n, char kind,
			 const xd_file *const **files, size_t *nfiles)
{
	char(*ids)[41] = n ? calloc(n, sizeof(*ids)) : NULL;
	const xd_file **got = arena_alloc(&r->a, (n ? n : 1) * sizeof(*got));
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
				rc = parse_file(&r->a, paths[i], r->buf.data ? r->buf.data : "", r->buf.len,
						kind == 'm', (const xd_file **)&f);
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
		s = arena_alloc(&r->a, sizeof(*s));
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

/* ---- experiments under baselines (exp show) ------------------------------------- */

static int last_component_map(xd_repo *r, map *m, char **names, char **shas, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(names[i], '/');
		if (map_get(m, shas[i]))
			continue; /* the first ref in name order wins */
		char *name = arena_strdup(&r->a, slash ? slash + 1 : names[i]);
		int rc = name ? map_put(m, &r->a, shas[i], name) : live__fail(LIVE_ENOMEM, "out of memory");
		if (rc)
			return rc;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Refs in name order, so that which of two refs at one commit names it never varies. */
static void sort_refs(char **names, char **shas, size_t n)
{
	if (n < 2)
		return;
	char ***idx = malloc(n * sizeof(*idx));
	char **tn = malloc(n * sizeof(*tn)), **ts = malloc(n * sizeof(*ts));
	if (idx && tn && ts) {
		for (size_t i = 0; i < n; i++)
			idx[i] = &names[i];
		qsort(idx, n, sizeof(*idx), by_name);
		for (size_t i = 0; i < n; i++) {
			size_t k = (size_t)(idx[i] - names);
			tn[i] = names[k];
			ts[i] = shas[k];
		}
		memcpy(names, tn, n * sizeof(*tn));
		memcpy(shas, ts, n * sizeof(*ts));
	}
	free(idx);
	free(tn);
	free(ts);
}

/* The baseline of an experiment ref refs/exps/<B[:2]>/<B[2:]>/<name>, or 0. */
static int exp_ref_baseline(const char *ref, char base[41])
{
	if (strncmp(ref, "refs/exps/", 10))
		return 0;
	const char *p = ref + 10;
	if (strlen(p) < 42 || p[2] != '/' || p[41] != '/' || !p[42] || strchr(p + 42, '/'))
		return 0;
	memcpy(base, p, 2);
	memcpy(base + 2, p + 3, 38);
	base[40] = 0;
	return strspn(base, "0123456789abcdef") == 40;
}

static int load_names(xd_repo *r, char **enames, char **eshas, size_t en)
{
	static const char *const prefixes[] = { "refs/tags/", "refs/heads/" };
	map *maps[] = { &r->tags, &r->heads };
	for (int k = 0; k < 2; k++) {
		char **names, **shas;
		size_t n;
		int rc = tr_git_ref_commits(r->g, prefixes[k], &names, &shas, &n);
		if (rc)
			return rc;
		sort_refs(names, shas, n);
		rc = last_component_map(r, maps[k], names, shas, n);
		tr_strv_free(names, n);
		tr_strv_free(shas, n);
		if (rc)
			return rc;
	}
	/* Only experiment refs name experiments: not exec/EXEC_APPLY, not the stash. */
	for (size_t i = 0; i < en; i++) {
		char base[41];
		if (!exp_ref_baseline(enames[i], base))
			continue;
		int rc = last_component_map(r, &r->exps, &enames[i], &eshas[i], 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* What DVC's describe finds: a tag, else a branch, else an experiment pointing exactly here. */
static const char *name_of(xd_repo *r, const char *sha)
{
	const char *n = map_get(&r->tags, sha);
	if (!n)
		n = map_get(&r->heads, sha);
	return n ? n : map_get(&r->exps, sha);
}

typedef struct branch {
	const char *ref;
	const char *tip;
	long long time;
} branch;

static int newest_first(const void *pa, const void *pb)
{
	const branch *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time > b->time ? -1 : 1;
	return strcmp(a->ref, b->ref);
}

static int by_order(const void *pa, const void *pb)
{
	const xd_exp *a = *(xd_exp *const *)pa, *b = *(xd_exp *const *)pb;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* A commit's row, made (time and parent read) on first sight. */
static int row_of(xd_repo *r, map *index, const char *sha, xd_exp **out)
{
	if ((*out = map_get(index, sha)))
		return 0;
	xd_exp *e = arena_alloc(&r->a, sizeof(*e));
	if (!e)
		return live__fail(LIVE_ENOMEM, "out of memory");
	memset(e, 0, sizeof(*e));
	memcpy(e->sha, sha, 41);
	int rc = tr_git_commit_info(r->g, sha, &e->time, e->gparent, NULL);
	if (!rc)
		rc = map_put(index, &r->a, sha, e);
	*out = e;
	return rc;
}

static int place(xd_repo *r, xd_exp *e, const xd_show_opts *o, unsigned long *counter)
{
	int rc = 0;
	if (!e->order) {
		e->name = o->sha_only ? NULL : name_of(r, e->sha);
		rc = xd_collect(r, e->sha, &e->data);
	}
	e->order = ++*counter;
	return rc;
}

/*
 * DVC's _collect_experiment_branch, for each branch newest tip first: walk
 * first parents from the tip to the baseline; a commit already shown under a
 * newer branch moves to the end and takes this (older) tip. Commits walked
 * again are not read again.
 */
static int collect_baseline(xd_repo *r, xd_baseline *b, char **refs, char **tips, size_t nrefs,
			    const xd_show_opts *o)
{
	map *index = calloc(1, sizeof(*index));
	branch *br = calloc(nrefs ? nrefs : 1, sizeof(*br));
	vec walk = { 0 };
	size_t nbr = 0;
	unsigned long counter = 0;
	int rc = !index || !br ? live__fail(LIVE_ENOMEM, "out of memory") : 0;
	b->index = index;
	for (size_t i = 0; !rc && i < nrefs; i++) {
		char base[41];
		if (!exp_ref_baseline(refs[i], base) || strcmp(base, b->rev))
			continue;
		br[nbr].ref = refs[i];
		br[nbr].tip = tips[i];
		rc = tr_git_commit_info(r->g, tips[i], &br[nbr].time, NULL, NULL);
		nbr++;
	}
	qsort(br, nbr, sizeof(*br), newest_first);
	for (size_t i = 0; !rc && i < nbr; i++) {
		xd_exp *e;
		walk.n = 0;
		const char *c = br[i].tip;
		while (!rc && !(rc = row_of(r, index, c, &e)) && !(rc = vec_push(&walk, e))) {
			if (!e->gparent[0] || !strcmp(e->gparent, b->rev))
				break;
			c = e->gparent;
		}
		if (!rc && walk.n == 1) {
			rc = ((xd_exp *)walk.v[0])->order ? 0 : place(r, walk.v[0], o, &counter);
			continue;
		}
		for (size_t k = 0; !rc && k < walk.n; k++) {
			e = walk.v[k];
			e->tip = ((xd_exp *)walk.v[0])->sha;
			rc = place(r, e, o, &counter);
			if (k > 0)
				((xd_exp *)walk.v[k - 1])->parent = e->sha;
		}
		if (!rc && walk.n)
			((xd_exp *)walk.v[walk.n - 1])->parent = b->rev;
	}
	free(walk.v);
	free(br);
	b->exps = arena_alloc(&r->a, (counter ? counter : 1) * sizeof(*b->exps));
	if (!rc && !b->exps)
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < index->cap; i++)
		if (index->keys[i] && ((xd_exp *)index->vals[i])->order)
			b->exps[b->nexps++] = index->vals[i];
	if (!rc)
		qsort(b->exps, b->nexps, sizeof(*b->exps), by_order);
	return rc;
}

const xd_exp *xd_find(const xd_baseline *b, const char *sha)
{
	const xd_exp *e = b->index ? map_get(b->index, sha) : NULL;
	return e && e->order ? e : NULL;
}

int xd_show(xd_repo *r, const xd_show_opts *o, xd_baseline **out, size_t *nout)
{
	vec revs = { 0 };
	char **refs = NULL, **tips = NULL;
	size_t nrefs = 0;
	*out = NULL;
	*nout = 0;
	int rc = vec_push(&revs, "workspace");
	for (int k = 0; !rc && k < (o->num > 0 ? o->num : 1); k++) {
		char rev[32], sha[41];
		snprintf(rev, sizeof(rev), "HEAD~%d", k);
		if (tr_git_resolve(r->g, rev, sha) != 0)
			break; /* fewer commits than asked for, or none */
		char *s = arena_strdup(&r->a, sha);
		rc = s ? vec_push(&revs, s) : live__fail(LIVE_ENOMEM, "out of memory");
	}
	if (!rc && o->all_branches) {
		char **names, **shas;
		size_t n;
		rc = tr_git_ref_commits(r->g, "refs/heads/", &names, &shas, &n);
		if (!rc)
			sort_refs(names, shas, n);
		for (size_t i = 0; !rc && i < n; i++) {
			char *s = arena_strdup(&r->a, shas[i]);
			rc = s ? vec_push(&revs, s) : live__fail(LIVE_ENOMEM, "out of memory");
		}
		tr_strv_free(names, n);
		tr_strv_free(shas, n);
	}
	if (!rc)
		rc = tr_git_refs_under(r->g, "refs/exps/", &refs, &tips, &nrefs);
	if (!rc)
		sort_refs(refs, tips, nrefs);
	if (!rc && !o->sha_only)
		rc = load_names(r, refs, tips, nrefs);
	xd_baseline *bs = rc ? NULL : arena_alloc(&r->a, revs.n * sizeof(*bs));
	if (!rc && !bs)
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	size_t nb = 0;
	for (size_t i = 0; !rc && i < revs.n; i++) {
		int dup = 0;
		for (size_t k = 0; k < nb; k++)
			dup |= !strcmp(bs[k].rev, revs.v[i]);
		if (dup)
			continue;
		xd_baseline *b = &bs[nb++];
		memset(b, 0, sizeof(*b));
		b->rev = revs.v[i];
		if (i == 0) {
			rc = xd_collect(r, NULL, &b->base.data);
			continue;
		}
		memcpy(b->base.sha, b->rev, 41);
		b->base.name = o->sha_only ? NULL : name_of(r, b->rev);
		rc = tr_git_commit_info(r->g, b->rev, &b->base.time, b->base.gparent, NULL);
		if (!rc)
			rc = xd_collect(r, b->rev, &b->base.data);
		if (!rc)
			rc = collect_baseline(r, b, refs, tips, nrefs, o);
	}
	tr_strv_free(refs, nrefs);
	tr_strv_free(tips, nrefs);
	free(revs.v);
	*out = bs;
	*nout = nb;
	return rc;
}

void xd_show_free(xd_baseline *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++)
		if (b[i].index) {
			map_free(b[i].index);
			free(b[i].index);
		}
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
