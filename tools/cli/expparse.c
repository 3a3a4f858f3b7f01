/*
 * The bytes of a metrics, params or dvc.yaml file into a node tree
 * (expdata_internal.h): JSON by hand, as Python's json.loads reads it; YAML
 * through libyaml's events. Typing the scalars is expvalues.c's business.
 *
 * A YAML alias shares its anchor's node, and each node counts the nodes it
 * stands for with its aliases expanded as it is built. A YAML file with
 * aliases that stands for more than LIVE__YAML_EXPAND_MAX nodes is refused
 * with an error naming the key ("billion laughs"): the readers of these trees
 * (flattening for params diff and exp show, dvc.yaml, plots) walk whole values.
 * A file without aliases is as big as its bytes and is never refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "expdata_internal.h"
#include "yaml_tree.h"

static ynode *new_node(arena *a, char kind)
{
	ynode *n = xd__arena_alloc(a, sizeof(*n));
	if (n)
		memset(n, 0, sizeof(*n));
	if (n) {
		n->kind = kind;
		n->expanded = 1;
	}
	return n;
}

static int finish_kids(arena *a, ynode *n, vec *kids)
{
	for (size_t i = 0; i < kids->n; i++) {
		const ynode *k = kids->v[i];
		n->expanded = n->expanded > SIZE_MAX - k->expanded ? SIZE_MAX : n->expanded + k->expanded;
		n->aliased |= k->aliased;
	}
	n->n = kids->n;
	n->kids = xd__arena_copy(a, kids->v, kids->n * sizeof(*kids->v));
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
	char *o = xd__arena_alloc(j->a, (size_t)(j->p - s) + 1), *w = o;
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
	if (!n || !(n->text = xd__arena_strndup(j->a, s, (size_t)(q - s))))
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
			if (!k || j->p >= j->end || *j->p != ':' || xd__vec_push(&kids, k))
				goto bad;
			j->p++;
		}
		ynode *v = j_value(j, depth + 1);
		if (!v || xd__vec_push(&kids, v))
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

const ynode *xd__parse_json(arena *a, const char *data, size_t len, char *err, size_t errsize)
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
		    !(n->text = xd__arena_strndup(y->a, (const char *)ev->data.scalar.value,
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
			int alias = kid.type == YAML_ALIAS_EVENT;
			ynode *k = y_node(y, &kid, depth + 1);
			yaml_event_delete(&kid);
			if (!k || xd__vec_push(&kids, k)) {
				free(kids.v);
				return y_fail(y, "out of memory");
			}
			n->aliased |= alias;
		}
		if (finish_kids(y->a, n, &kids))
			return y_fail(y, "out of memory");
	} else {
		return y_fail(y, "unexpected event");
	}
	/* Registered once complete, so an alias can never form a cycle. */
	if (anchor) {
		char *name = xd__arena_strdup(y->a, (const char *)anchor);
		if (!name || xd__vec_push(&y->anchors, name) || xd__vec_push(&y->anchors, n))
			return y_fail(y, "out of memory");
	}
	return n;
}

/*
 * Refuse a tree whose aliases make it stand for too many nodes, naming the
 * dotted key of the deepest value that alone is too big (as
 * live__yaml_check_expansion does for liblive's tree).
 */
static int check_expansion(yparser *y, const ynode *root)
{
	char key[512] = "", shown[LIVE__EXCERPT_MAX + 4];
	size_t at = 0;
	const ynode *n = root;

	if (!root || !root->aliased || root->expanded <= LIVE__YAML_EXPAND_MAX)
		return 0;
	/* down the first value that is too big by itself, as long as there is one */
	while (n->kind != 's') {
		int is_map = n->kind == 'm', w;
		size_t i = is_map;

		while (i < n->n && n->kids[i]->expanded <= LIVE__YAML_EXPAND_MAX)
			i += 1 + is_map;
		if (i >= n->n)
			break;
		if (is_map)
			w = snprintf(key + at, sizeof(key) - at, "%s%s", n != root ? "." : "",
				     n->kids[i - 1]->kind == 's' ? n->kids[i - 1]->text : "?");
		else
			w = snprintf(key + at, sizeof(key) - at, "%s%zu", n != root ? "." : "", i);
		n = n->kids[i];
		if (w < 0 || (size_t)w >= sizeof(key) - at) {
			at = strlen(key); /* cut: the excerpt ends in "..." anyway */
			break;
		}
		at += (size_t)w;
	}
	if (n == root) {
		snprintf(y->err, sizeof(y->err), "the document expands to more than %d values (YAML aliases)",
			 LIVE__YAML_EXPAND_MAX);
		return -1;
	}
	live__yaml_excerpt(shown, sizeof(shown), key, strlen(key));
	snprintf(y->err, sizeof(y->err), "key '%s' expands to more than %d values (YAML aliases)", shown,
		 LIVE__YAML_EXPAND_MAX);
	return -1;
}

const ynode *xd__parse_yaml(arena *a, const char *data, size_t len, char *err, size_t errsize, int *ok)
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
	if (!failed && check_expansion(&y, root))
		failed = 1;
	*ok = !failed;
	if (failed)
		snprintf(err, errsize, "%s", y.err);
	return failed ? NULL : root;
}
