/*
 * The summary JSON (SPEC 2): {"step": k, <latest value of every metric>},
 * nested by '/', then the "divergence" entry of the metrics found diverging
 * (SPEC 5, watch.c), printed as Python's json.dump(indent=4,
 * ensure_ascii=True) plus a trailing newline, and replaced atomically.
 *
 * The nesting is a tree built once, when a metric is first seen, so writing
 * the summary is one walk that formats into a reused buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static live__node *new_node(const char *key, size_t n, int metric)
{
	live__node *node = calloc(1, sizeof(*node));
	if (!node)
		return NULL;
	node->key = malloc(n + 1);
	if (!node->key) {
		free(node);
		return NULL;
	}
	memcpy(node->key, key, n);
	node->key[n] = 0;
	node->metric = metric;
	return node;
}

static live__node *find_child(live__node *parent, const char *key, size_t n)
{
	for (live__node *c = parent->child; c; c = c->next)
		if (strlen(c->key) == n && !memcmp(c->key, key, n))
			return c;
	return NULL;
}

static void add_child(live__node *parent, live__node *c)
{
	if (parent->last_child)
		parent->last_child->next = c;
	else
		parent->child = c;
	parent->last_child = c;
}

/* Largest text one node can take: indent, key with every byte escaped, value. */
static size_t node_bound(size_t depth, size_t keylen)
{
	return 4 * (depth + 1) + 6 * keylen + LIVE__NUM_MAX + 16;
}

int live__summary_insert(live_run *r, uint32_t metric)
{
	const char *name = r->metrics[metric].name;
	live__node *at = &r->root;
	const char *p = name;
	for (size_t depth = 1;; depth++) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		live__node *c = find_child(at, p, n);
		if (c && c->metric >= 0)
			return live__fail(LIVE_EINVALID, "metric name '%s': clashes with metric '%s'", name,
					  r->metrics[c->metric].name);
		if (!slash) {
			if (c)
				return live__fail(LIVE_EINVALID,
						  "metric name '%s': clashes with the metrics under '%s/'", name, name);
			c = new_node(p, n, (int)metric);
			if (!c)
				return live__fail(LIVE_ENOMEM, "out of memory");
			add_child(at, c);
			r->sumbound += node_bound(depth, n);
			return 0;
		}
		if (!c) {
			c = new_node(p, n, -1);
			if (!c)
				return live__fail(LIVE_ENOMEM, "out of memory");
			add_child(at, c);
			r->sumbound += node_bound(depth, n) + 4 * depth + 4; /* and its closing brace */
		}
		at = c;
		p = slash + 1;
	}
}

void live__summary_free(live__node *n)
{
	live__node *c = n->child;
	while (c) {
		live__node *next = c->next;
		live__summary_free(c);
		free(c->key);
		free(c);
		c = next;
	}
	n->child = n->last_child = NULL;
}

/* Room for one more line: indent, quoted key, value. */
static int reserve_line(live__buf *b, size_t depth, size_t keylen)
{
	return live__buf_reserve(b, 4 * depth + 6 * keylen + LIVE__NUM_MAX + 16);
}

static void put_str(live__buf *b, const char *s)
{
	size_t n = strlen(s);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static void put_indent(live__buf *b, size_t depth)
{
	memset(b->data + b->len, ' ', 4 * depth);
	b->len += 4 * depth;
}

/* JSON string, ensure_ascii: non-ASCII as \uXXXX (surrogate pairs above the BMP). */
static void put_json_string(live__buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *p = b->data + b->len;
	*p++ = '"';
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		unsigned c = *u;
		size_t n = 1;
		if (c >= 0x80) {
			/* Names were checked to be valid UTF-8. */
			n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			c &= n == 4 ? 0x07 : n == 3 ? 0x0F : 0x1F;
			for (size_t i = 1; i < n; i++)
				c = (c << 6) | (u[i] & 0x3F);
		}
		u += n;
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c >= 0x20 && c < 0x7F) {
			*p++ = (char)c;
		} else {
			unsigned units[2] = { c, 0 };
			int count = 1;
			if (c > 0xFFFF) {
				c -= 0x10000;
				units[0] = 0xD800 | (c >> 10);
				units[1] = 0xDC00 | (c & 0x3FF);
				count = 2;
			}
			for (int k = 0; k < count; k++) {
				*p++ = '\\';
				*p++ = 'u';
				for (int sh = 12; sh >= 0; sh -= 4)
					*p++ = hex[(units[k] >> sh) & 0xF];
			}
		}
	}
	*p++ = '"';
	b->len = (size_t)(p - b->data);
}

static void put_value(live__buf *b, const live__value *v)
{
	char num[LIVE__NUM_MAX];
	if (v->kind == LIVE__INT) {
		live__fmt_int(num, v->u.i);
		put_str(b, num);
		return;
	}
	live__fmt_double(num, v->u.d);
	if (num[0] == 'n' || num[0] == 'i' || num[1] == 'i') {
		/* nan, inf, -inf: strings, as dvclive >= 2.15.1 (plain JSON parsers reject NaN) */
		put_str(b, "\"");
		put_str(b, num);
		put_str(b, "\"");
	} else {
		put_str(b, num);
	}
}

static int has_value(const live_run *r, const live__node *n)
{
	if (n->metric >= 0)
		return r->metrics[n->metric].last.kind != LIVE__NONE;
	for (const live__node *c = n->child; c; c = c->next)
		if (has_value(r, c))
			return 1;
	return 0;
}

/* Write the members of `n` at `depth`; `first` tells whether one was written before. */
static int put_members(live_run *r, const live__node *n, size_t depth, int first)
{
	live__buf *b = &r->sumbuf;
	for (const live__node *c = n->child; c; c = c->next) {
		if (!has_value(r, c))
			continue;
		int rc = reserve_line(b, depth, strlen(c->key));
		if (rc)
			return rc;
		put_str(b, first ? "\n" : ",\n");
		first = 0;
		put_indent(b, depth);
		put_json_string(b, c->key);
		put_str(b, ": ");
		if (c->metric >= 0) {
			put_value(b, &r->metrics[c->metric].last);
			continue;
		}
		put_str(b, "{");
		if ((rc = put_members(r, c, depth + 1, 1)))
			return rc;
		if ((rc = live__buf_reserve(b, 4 * depth + 2)))
			return rc;
		put_str(b, "\n");
		put_indent(b, depth);
		put_str(b, "}");
	}
	return 0;
}

/* One entry of "divergence"; the caller reserved live__watch_bound() bytes for it. */
static void put_divergence(live_run *r, const live__metric *m, int first)
{
	live__buf *b = &r->sumbuf;
	const live__watch *w = &m->watch;
	char num[LIVE__NUM_MAX];
	put_str(b, first ? "\n        " : ",\n        ");
	put_json_string(b, m->name);
	put_str(b, ": {\n            \"since\": ");
	live__fmt_int(num, w->since);
	put_str(b, num);
	const live__value *best = live__watch_best(w);
	if (best) {
		put_str(b, ",\n            \"best_step\": ");
		live__fmt_int(num, w->best_step);
		put_str(b, num);
		put_str(b, ",\n            \"best\": ");
		put_value(b, best);
	}
	put_str(b, ",\n            \"reason\": \"");
	put_str(b, live__watch_reason(w->diverged));
	put_str(b, "\"\n        }");
}

/* "divergence": {<name>: {...}, ...} after the metrics, for the metrics found diverging. */
static int put_divergences(live_run *r, int first)
{
	int any = 0;
	for (size_t i = 0; i < r->nmetrics; i++) {
		const live__metric *m = &r->metrics[i];
		if (!m->watch.diverged)
			continue;
		int rc = live__buf_reserve(&r->sumbuf, live__watch_bound(m->name_len) + 32);
		if (rc)
			return rc;
		if (!any)
			put_str(&r->sumbuf, first ? "\n    \"divergence\": {" : ",\n    \"divergence\": {");
		put_divergence(r, m, !any);
		any = 1;
	}
	if (any)
		put_str(&r->sumbuf, "\n    }");
	return 0;
}

int live__summary_write(live_run *r, long long step, int with_step)
{
	live__buf *b = &r->sumbuf;
	b->len = 0;
	/* Reserving the bound once means values growing longer never reallocate mid-run. */
	int rc = live__buf_reserve(b, r->sumbound + 64);
	if (rc)
		return rc;
	put_str(b, "{");
	int empty = 1;
	if (with_step) {
		char num[LIVE__NUM_MAX];
		live__fmt_int(num, step);
		put_str(b, "\n    \"step\": ");
		put_str(b, num);
		empty = 0;
	}
	if ((rc = put_members(r, &r->root, 1, empty)))
		return rc;
	if ((rc = put_divergences(r, b->len == 1)) || (rc = live__buf_reserve(b, 4)))
		return rc;
	put_str(b, b->len == 1 ? "}\n" : "\n}\n");
	rc = live__write_atomic(r->sumdirfd, r->sumname, r->sumtmp, r->sumshow, b->data, b->len);
	if (!rc) {
		r->summary_dirty = 0;
		r->summary_ns = live__mono_ns();
	}
	return rc;
}
