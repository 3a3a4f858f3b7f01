/*
 * params.yaml read with libyaml into the small tree of yaml_tree.h, which
 * params.c caches and looks keys up in.
 *
 * Where YAML or DVC leave room, this file decides:
 *  - Types follow YAML 1.2's core schema, as DVC (ruamel) reads the file: a
 *    plain scalar that reads fully as a number is a number ("1e-3", ".5",
 *    "+3.5", "-.inf", ".nan"); quoted and block scalars are always strings,
 *    so "0.1" in quotes asked for as a number is a type error. Integers are
 *    base 10 only: "0x1F" and "1_000" are strings.
 *  - A plain "~", "null" or nothing after the colon is a null node; params.c
 *    decides what a null means.
 *  - A duplicate key is an error at the duplicate, as in ruamel, rather than
 *    one of the two values silently winning.
 *  - Anchors and aliases work for every kind of node (the alias shares the
 *    node, so a hostile file cannot multiply memory). The merge key "<<" is
 *    rejected: read as an ordinary key it would hide the merged values.
 *    Each node records how many nodes it stands for with its aliases
 *    expanded (pnode.expanded, counted once as the node is built), so that
 *    code which copies or renders whole values can refuse a "billion laughs"
 *    value before it starts rather than walk it: a tree carries a budget of
 *    LIVE__YAML_EXPAND_MAX such nodes (live__yaml_spend), which bounds the
 *    work per file however many values are rendered.
 *  - Collections nested more than 64 deep are an error, which bounds the
 *    recursion of the reader.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "internal.h"
#include "yaml_tree.h"

#define MAX_DEPTH 64

struct anchor {
	char *name;
	const struct pnode *node;
};

struct loader {
	yaml_parser_t parser;
	FILE *f;
	int read_err; /* errno of a failed read: libyaml only says "input error" */
	const char *path;
	locale_t c_locale;
	struct pnode *nodes;
	size_t *budget; /* in the first node */
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
};

/* ---- messages ------------------------------------------------------------ */

/* Values and keys from the file may be long or hold newlines; messages are one line. */
void live__yaml_excerpt(char *dst, size_t size, const char *s, size_t len)
{
	size_t max = size - 4; /* room for "..." and the NUL */
	size_t n = len < max ? len : max;
	int cut = n < len;

	if (cut) {
		/* never end in the middle of a UTF-8 sequence */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		dst[k] = c < 0x20 || c == 0x7F ? '?' : (char)c;
	}
	strcpy(dst + n, cut ? "..." : "");
}

void live__yaml_describe(char *dst, size_t size, const struct pnode *n)
{
	char text[LIVE__EXCERPT_MAX + 4];
	const char *how = "";

	if (n->kind == PK_MAP) {
		snprintf(dst, size, "a mapping");
		return;
	}
	if (n->kind == PK_SEQ) {
		snprintf(dst, size, "a sequence");
		return;
	}
	if (n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	    n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		how = " (a quoted string)";
	else if (n->style == YAML_LITERAL_SCALAR_STYLE || n->style == YAML_FOLDED_SCALAR_STYLE)
		how = " (a block string)";
	live__yaml_excerpt(text, sizeof(text), n->text, n->len);
	snprintf(dst, size, "'%s'%s", text, how);
}

/* libyaml marks count from 0; editors count from 1. */
LIVE__PRINTF(3, 4)
static int fail_at(struct loader *ld, yaml_mark_t m, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return live__fail(LIVE_EPARSE, "%s:%zu:%zu: %s", ld->path, m.line + 1, m.column + 1, what);
}

static int oom(struct loader *ld)
{
	return live__fail(LIVE_ENOMEM, "%s: out of memory", ld->path);
}

static int parser_error(struct loader *ld)
{
	const yaml_parser_t *p = &ld->parser;
	int err = ld->read_err;

	if (err)
		return live__fail_errno(live__errno_code(err), err, "%s", ld->path);
	if (p->error == YAML_MEMORY_ERROR)
		return oom(ld);
	if (p->error == YAML_READER_ERROR) {
		/* the reader knows the byte offset only, not the line */
		if (p->problem_value != -1)
			return live__fail(LIVE_EPARSE, "%s: %s #%X at offset %zu", ld->path,
					  p->problem, (unsigned)p->problem_value, p->problem_offset);
		return live__fail(LIVE_EPARSE, "%s: %s at offset %zu", ld->path, p->problem,
				  p->problem_offset);
	}
	if (p->context)
		return fail_at(ld, p->problem_mark, "%s (%s)", p->problem, p->context);
	return fail_at(ld, p->problem_mark, "%s", p->problem ? p->problem : "malformed YAML");
}

/* ---- the tree ------------------------------------------------------------ */

void live__yaml_free(struct pnode *n)
{
	while (n) {
		struct pnode *next = n->next_alloc;
		free(n->text);
		free(n->items);
		free(n);
		n = next;
	}
}

static struct pnode *new_node(struct loader *ld, enum pkind kind)
{
	struct pnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->expanded = 1;
	if (!ld->budget) {
		n->budget_store = LIVE__YAML_EXPAND_MAX;
		ld->budget = &n->budget_store;
	}
	n->budget = ld->budget;
	n->next_alloc = ld->nodes;
	ld->nodes = n;
	return n;
}

static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* A child counts with all it stands for; `alias` says it was reached through an alias. */
static void count_child(struct pnode *n, const struct pnode *child, int alias)
{
	n->expanded = add_sat(n->expanded, child->expanded);
	n->aliased |= alias || child->aliased;
}

static int add_item(struct pnode *n, const struct pnode *key, const struct pnode *value,
		    yaml_mark_t mark)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 8;
		struct pentry *items;

		if (cap > SIZE_MAX / sizeof(*items))
			return -1;
		items = realloc(n->items, cap * sizeof(*items));
		if (!items)
			return -1;
		n->items = items;
		n->cap = cap;
	}
	n->items[n->n++] = (struct pentry){ key, value, mark };
	return 0;
}

static int is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int is_one_of(const char *s, const char *a, const char *b, const char *c)
{
	return !strcmp(s, a) || !strcmp(s, b) || !strcmp(s, c);
}

/*
 * The core schema's numbers: [-+]?[0-9]+ is an integer,
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? a float, and
 * [-+]?\.(inf|Inf|INF), \.(nan|NaN|NAN) the two specials.
 */
static void classify_number(struct loader *ld, struct pnode *n)
{
	static const char digits[] = "0123456789";
	const char *s = n->text;
	const char *r = s + (*s == '+' || *s == '-');
	const char *p;
	size_t whole, frac = 0;
	int integer;

	if (is_one_of(r, ".inf", ".Inf", ".INF")) {
		n->num = PN_FLOAT;
		n->d = *s == '-' ? -INFINITY : INFINITY;
		return;
	}
	if (is_one_of(s, ".nan", ".NaN", ".NAN")) {
		n->num = PN_FLOAT;
		n->d = NAN;
		return;
	}
	whole = strspn(r, digits);
	p = r + whole;
	integer = whole > 0 && !*p;
	if (*p == '.') {
		frac = strspn(p + 1, digits);
		p += 1 + frac;
	}
	if (!whole && !frac)
		return;
	if (*p == 'e' || *p == 'E') {
		size_t exp;

		p += 1 + (p[1] == '+' || p[1] == '-');
		exp = strspn(p, digits);
		if (!exp)
			return;
		p += exp;
	}
	if (*p)
		return;

	/* strtod reads the locale's decimal point; the file's is always '.' */
	locale_t old = uselocale(ld->c_locale);
	n->d = strtod(s, NULL); /* out of range gives ±inf or 0, as Python's float() */
	n->num = PN_FLOAT;
	if (integer) {
		errno = 0;
		n->i = strtoll(s, NULL, 10);
		n->num = errno == ERANGE ? PN_BIGINT : PN_INT;
	}
	uselocale(old);
}

static int new_scalar(struct loader *ld, const yaml_event_t *ev, struct pnode **out)
{
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct pnode *n = new_node(ld, plain && is_null_text(value) ? PK_NULL : PK_SCALAR);

	if (!n || !(n->text = malloc(len + 1)))
		return oom(ld);
	memcpy(n->text, value, len);
	n->text[len] = '\0';
	n->len = len;
	n->style = ev->data.scalar.style;
	n->mark = ev->start_mark;
	if (plain && n->kind == PK_SCALAR)
		classify_number(ld, n);
	*out = n;
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

static int read_handler(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct loader *ld = data;

	*size_read = fread(buf, 1, size, ld->f);
	if (*size_read == 0 && ferror(ld->f)) {
		ld->read_err = errno ? errno : EIO;
		return 0;
	}
	return 1;
}

static int next_event(struct loader *ld, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&ld->parser, ev))
		return parser_error(ld);
	return 0;
}

/*
 * Anchors are named once their node is complete, so no alias can make a
 * cycle. Takes `name` over, also on failure.
 */
static int add_anchor(struct loader *ld, char *name, const struct pnode *node)
{
	if (ld->nanchors == ld->anchors_cap) {
		size_t cap = ld->anchors_cap ? ld->anchors_cap * 2 : 8;
		struct anchor *a = realloc(ld->anchors, cap * sizeof(*a));

		if (!a) {
			free(name);
			return oom(ld);
		}
		ld->anchors = a;
		ld->anchors_cap = cap;
	}
	ld->anchors[ld->nanchors++] = (struct anchor){ name, node };
	return 0;
}

static int resolve_alias(struct loader *ld, const yaml_event_t *ev, const struct pnode **out)
{
	const char *name = (const char *)ev->data.alias.anchor;
	char shown[LIVE__EXCERPT_MAX + 4];

	/* the latest definition of a name wins, as YAML says */
	for (size_t k = ld->nanchors; k-- > 0;) {
		if (!strcmp(ld->anchors[k].name, name)) {
			*out = ld->anchors[k].node;
			return 0;
		}
	}
	live__yaml_excerpt(shown, sizeof(shown), name, strlen(name));
	return fail_at(ld, ev->start_mark, "undefined alias '%s'", shown);
}

static int key_cmp(const struct pnode *a, const struct pnode *b)
{
	int c = memcmp(a->text, b->text, a->len < b->len ? a->len : b->len);

	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct pentry *a = *(const struct pentry *const *)pa;
	const struct pentry *b = *(const struct pentry *const *)pb;
	int c = key_cmp(a->key, b->key);

	/* equal keys stay in file order: the array is contiguous */
	return c ? c : (a > b) - (a < b);
}

/* Sorting rather than comparing every pair keeps a huge mapping fast. */
static int check_duplicates(struct loader *ld, const struct pnode *map)
{
	const struct pentry **v, *dup = NULL, *first = NULL;
	size_t group = 0;

	if (map->n < 2)
		return 0;
	v = malloc(map->n * sizeof(*v));
	if (!v)
		return oom(ld);
	for (size_t k = 0; k < map->n; k++)
		v[k] = &map->items[k];
	qsort(v, map->n, sizeof(*v), entry_cmp);
	for (size_t k = 1; k < map->n; k++) {
		if (key_cmp(v[k - 1]->key, v[k]->key)) {
			group = k;
			continue;
		}
		/* report the duplicate that comes first in the file */
		if (k == group + 1 && (!dup || v[k] < dup)) {
			dup = v[k];
			first = v[group];
		}
	}
	free(v);
	if (!dup)
		return 0;

	char shown[LIVE__EXCERPT_MAX + 4];
	live__yaml_excerpt(shown, sizeof(shown), dup->key->text, dup->key->len);
	return fail_at(ld, dup->mark, "duplicate key '%s' (first at line %zu)", shown,
		       first->mark.line + 1);
}

static int parse_node(struct loader *ld, yaml_event_t *ev, int depth, const struct pnode **out,
		      int *alias);

static int parse_sequence(struct loader *ld, struct pnode *seq, int depth)
{
	for (;;) {
		yaml_event_t ev;
		const struct pnode *item;
		yaml_mark_t mark;
		int alias;
		int rc = next_event(ld, &ev);

		if (rc)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		mark = ev.start_mark;
		rc = parse_node(ld, &ev, depth + 1, &item, &alias);
		if (rc)
			return rc;
		if (add_item(seq, NULL, item, mark))
			return oom(ld);
		count_child(seq, item, alias);
	}
}

static int parse_mapping(struct loader *ld, struct pnode *map, int depth)
{
	for (;;) {
		yaml_event_t ev;
		const struct pnode *key, *value;
		yaml_mark_t mark;
		int key_alias, alias;
		int rc = next_event(ld, &ev);

		if (rc)
			return rc;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return check_duplicates(ld, map);
		}
		mark = ev.start_mark;
		rc = parse_node(ld, &ev, depth + 1, &key, &key_alias);
		if (rc)
			return rc;
		if (key->kind == PK_MAP || key->kind == PK_SEQ)
			return fail_at(ld, mark, "expected a scalar key, got %s",
				       key->kind == PK_MAP ? "a mapping" : "a sequence");
		if (key->style == YAML_PLAIN_SCALAR_STYLE && !strcmp(key->text, "<<"))
			return fail_at(ld, mark, "merge keys (<<) are not supported");
		rc = next_event(ld, &ev);
		if (rc)
			return rc;
		rc = parse_node(ld, &ev, depth + 1, &value, &alias);
		if (rc)
			return rc;
		if (add_item(map, key, value, mark))
			return oom(ld);
		count_child(map, key, key_alias);
		count_child(map, value, alias);
	}
}

static const yaml_char_t *event_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT: return ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT: return ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT: return ev->data.mapping_start.anchor;
	default: return NULL;
	}
}

/*
 * Build the node that starts with `ev` (consumed). `depth` counts the
 * collections around it; *alias tells whether `ev` was an alias.
 */
static int parse_node(struct loader *ld, yaml_event_t *ev, int depth, const struct pnode **out,
		      int *alias)
{
	yaml_mark_t mark = ev->start_mark;
	yaml_event_type_t type = ev->type;
	const yaml_char_t *a = event_anchor(ev);
	char *anchor = NULL;
	struct pnode *n = NULL;
	int rc = 0;

	*alias = type == YAML_ALIAS_EVENT;
	if (type == YAML_ALIAS_EVENT) {
		rc = resolve_alias(ld, ev, out);
		yaml_event_delete(ev);
		return rc;
	}
	if (a && !(anchor = strdup((const char *)a))) {
		yaml_event_delete(ev);
		return oom(ld);
	}
	if (type == YAML_SCALAR_EVENT)
		rc = new_scalar(ld, ev, &n);
	yaml_event_delete(ev);
	if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
		if (depth >= MAX_DEPTH)
			rc = fail_at(ld, mark, "nested deeper than %d levels", MAX_DEPTH);
		else if (!(n = new_node(ld, type == YAML_MAPPING_START_EVENT ? PK_MAP : PK_SEQ)))
			rc = oom(ld);
		else {
			n->mark = mark;
			if (n->kind == PK_MAP)
				rc = parse_mapping(ld, n, depth);
			else
				rc = parse_sequence(ld, n, depth);
		}
	} else if (type != YAML_SCALAR_EVENT) {
		rc = fail_at(ld, mark, "expected a node"); /* libyaml never lets this happen */
	}
	if (!rc && anchor)
		rc = add_anchor(ld, anchor, n);
	else
		free(anchor);
	if (!rc)
		*out = n;
	return rc;
}

static int parse_stream(struct loader *ld, const struct pnode **root)
{
	yaml_event_t ev;
	yaml_mark_t mark;
	int rc, alias;

	*root = NULL;
	if ((rc = next_event(ld, &ev))) /* stream start */
		return rc;
	yaml_event_delete(&ev);
	if ((rc = next_event(ld, &ev)))
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) { /* an empty file: no keys */
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev); /* document start */
	if ((rc = next_event(ld, &ev)))
		return rc;
	mark = ev.start_mark;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		rc = parse_node(ld, &ev, 0, root, &alias);
	} else if (ev.type == YAML_SCALAR_EVENT &&
		   ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		   is_null_text((const char *)ev.data.scalar.value)) {
		yaml_event_delete(&ev); /* only comments, or a bare "---" */
	} else {
		yaml_event_delete(&ev);
		rc = fail_at(ld, mark, "expected a mapping at the top level");
	}
	if (rc)
		return rc;
	if ((rc = next_event(ld, &ev))) /* document end */
		return rc;
	yaml_event_delete(&ev);
	if ((rc = next_event(ld, &ev)))
		return rc;
	mark = ev.start_mark;
	if (ev.type != YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return fail_at(ld, mark, "expected a single document in the stream");
	}
	yaml_event_delete(&ev);
	return 0;
}

/* Read and parse `path`; on success the caller owns *nodes. */
int live__yaml_read(const char *path, const struct pnode **root, struct pnode **nodes)
{
	struct loader ld = { .path = path };
	int rc;

	ld.f = fopen(path, "rb");
	if (!ld.f) {
		int err = errno;
		int code = err == ENOENT || err == ENOTDIR ? LIVE_ENOTFOUND : live__errno_code(err);
		return live__fail_errno(code, err, "%s", path);
	}
	ld.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!ld.c_locale) {
		fclose(ld.f);
		return oom(&ld);
	}
	if (!yaml_parser_initialize(&ld.parser)) {
		freelocale(ld.c_locale);
		fclose(ld.f);
		return oom(&ld);
	}
	yaml_parser_set_input(&ld.parser, read_handler, &ld);
	rc = parse_stream(&ld, root);
	yaml_parser_delete(&ld.parser);
	freelocale(ld.c_locale);
	fclose(ld.f);
	for (size_t k = 0; k < ld.nanchors; k++)
		free(ld.anchors[k].name);
	free(ld.anchors);
	if (rc) {
		live__yaml_free(ld.nodes);
		return rc;
	}
	*nodes = ld.nodes;
	return 0;
}

int live__yaml_spend(const struct pnode *n)
{
	if (n->expanded > *n->budget)
		return -1;
	*n->budget -= n->expanded;
	return 0;
}

int live__yaml_check_expansion(const char *path, const struct pnode *root)
{
	char key[512] = "", shown[LIVE__EXCERPT_MAX + 4];
	size_t at = 0;
	const struct pnode *n = root;
	yaml_mark_t mark;

	if (!root || !root->aliased || root->expanded <= LIVE__YAML_EXPAND_MAX)
		return 0;
	mark = root->mark;
	/* down the first value that is too big by itself, as long as there is one */
	while (n->kind == PK_MAP || n->kind == PK_SEQ) {
		const struct pentry *e = NULL;
		int w;

		for (size_t k = 0; k < n->n && !e; k++)
			if (n->items[k].value->expanded > LIVE__YAML_EXPAND_MAX)
				e = &n->items[k];
		if (!e)
			break;
		if (e->key)
			w = snprintf(key + at, sizeof(key) - at, "%s%s", n != root ? "." : "",
				     e->key->text);
		else
			w = snprintf(key + at, sizeof(key) - at, "%s%zu", n != root ? "." : "",
				     (size_t)(e - n->items));
		mark = e->mark;
		n = e->value;
		if (w < 0 || (size_t)w >= sizeof(key) - at) {
			at = strlen(key); /* cut: the excerpt ends in "..." anyway */
			break;
		}
		at += (size_t)w;
	}
	if (n == root)
		return live__fail(LIVE_EPARSE,
				  "%s:%zu:%zu: the document expands to more than %d values (YAML aliases)",
				  path, mark.line + 1, mark.column + 1, LIVE__YAML_EXPAND_MAX);
	live__yaml_excerpt(shown, sizeof(shown), key, strlen(key));
	return live__fail(LIVE_EPARSE, "%s:%zu:%zu: key '%s' expands to more than %d values (YAML aliases)",
			  path, mark.line + 1, mark.column + 1, shown, LIVE__YAML_EXPAND_MAX);
}

/* ---- lookups ------------------------------------------------------------- */

static const struct pnode *map_get(const struct pnode *map, const char *key, size_t len)
{
	for (size_t k = 0; k < map->n; k++) {
		const struct pnode *name = map->items[k].key;

		if (name->len == len && !memcmp(name->text, key, len))
			return map->items[k].value;
	}
	return NULL;
}

/*
 * Keys nest with dots, yet a mapping key may itself hold dots ("train.lr" as
 * one flat key). So at each level the whole rest of the key is tried first,
 * then ever shorter prefixes ending before a dot: the longest key that exists
 * wins, and a dead end falls back to the next shorter one. In a sequence the
 * part up to the next dot is a 0-based index. Used by params.c and the tracker.
 */
static const struct pnode *find(const struct pnode *n, const char *key, size_t len)
{
	if (n->kind == PK_MAP) {
		for (size_t end = len;; end--) {
			if (end == len || key[end] == '.') {
				const struct pnode *child = map_get(n, key, end);

				if (child && end == len)
					return child;
				if (child && (child = find(child, key + end + 1, len - end - 1)))
					return child;
			}
			if (end == 0)
				return NULL;
		}
	}
	if (n->kind == PK_SEQ) {
		size_t end = 0, index = 0;

		for (; end < len && key[end] != '.'; end++) {
			if (key[end] < '0' || key[end] > '9' || index > (SIZE_MAX - 9) / 10)
				return NULL;
			index = index * 10 + (size_t)(key[end] - '0');
		}
		if (end == 0 || index >= n->n)
			return NULL;
		if (end == len)
			return n->items[index].value;
		return find(n->items[index].value, key + end + 1, len - end - 1);
	}
	return NULL;
}

const struct pnode *live__yaml_find(const struct pnode *root, const char *key)
{
	return root ? find(root, key, strlen(key)) : NULL;
}
