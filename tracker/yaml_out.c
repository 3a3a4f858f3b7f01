/*
 * YAML text as DVC 2.x writes it (the tr_yaml_* calls of tracker.h), shared by
 * dvc.yaml and dvc.lock.
 *
 * Byte compatibility means writing what ruamel.yaml 0.17 writes for DVC 2.8
 * (dvc/utils/serialize/_yaml.py: round-trip dumper, default_flow_style off),
 * so the writer follows ruamel's emitter rather than libyaml's:
 *  - a string is plain unless ruamel's YAML 1.2 resolver would read the plain
 *    text as another type ('2.0', '1e-05', 'true', '~', '2021-01-01', '0x1F',
 *    '1_000') or its characters forbid it (": ", " #", a leading indicator,
 *    edge spaces): then single quotes, or double quotes with escapes when it
 *    holds a "'" or a line break or a character YAML cannot show (a tab);
 *  - a scalar past column 80 is folded at a single space onto a line indented
 *    2 beyond its collection, as write_plain/_single_quoted/_double_quoted do;
 *  - a key of 123 characters or more, or one holding a line break, is written
 *    in the explicit form "? key" / ": value";
 *  - a null value is nothing after "key:", and "- " alone in a sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"

/*
 * ruamel's Emitter.best_width, and check_simple_key's limit, which counts the
 * key's tag too: "!!str" makes it 123 characters for a string.
 */
#define BEST_WIDTH 80
#define MAX_SIMPLE_KEY (128 - 5)

/* ---- what YAML 1.2 reads a plain scalar as (ruamel's VersionedResolver) --- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The number of characters of s[0..n) from the start that are in `set`. */
static size_t span_in(const char *s, size_t n, const char *set)
{
	size_t k = 0;

	while (k < n && s[k] && strchr(set, s[k]))
		k++;
	return k;
}

static int is_one(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && !memcmp(s, *words, n))
			return 1;
	return 0;
}

/* [eE][-+]?[0-9]+ to the end (the sign required when `sign` is set). */
static int exponent_rest(const char *s, size_t n, int sign)
{
	size_t k = 1;

	if (!n || (s[0] != 'e' && s[0] != 'E'))
		return 0;
	if (k < n && (s[k] == '+' || s[k] == '-'))
		k++;
	else if (sign)
		return 0;
	return k < n && span_in(s + k, n - k, "0123456789") == n - k;
}

static int match_float(const char *s, size_t n)
{
	static const char *const inf[] = {"inf", "Inf", "INF", NULL};
	static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
	size_t i = n && (s[0] == '+' || s[0] == '-');
	const char *r = s + i;
	size_t m = n - i, k;

	if (is_one(s, n, nan))
		return 1;
	if (m == 4 && r[0] == '.' && is_one(r + 1, 3, inf))
		return 1;
	if (m && is_digit(r[0])) {
		k = 1 + span_in(r + 1, m - 1, "0123456789_");
		if (k < m && r[k] == '.') {
			k++;
			k += span_in(r + k, m - k, "0123456789_");
			return k == m || exponent_rest(r + k, m - k, 0);
		}
		return exponent_rest(r + k, m - k, 0);
	}
	if (m >= 2 && r[0] == '.') {
		k = 1 + span_in(r + 1, m - 1, "0123456789_");
		return k > 1 && (k == m || exponent_rest(r + k, m - k, 1));
	}
	return 0;
}

static int match_int(const char *s, size_t n)
{
	size_t i = n && (s[0] == '+' || s[0] == '-');
	const char *r = s + i;
	size_t m = n - i;

	if (!m)
		return 0;
	if (m > 2 && r[0] == '0' && r[1] == 'b' && span_in(r + 2, m - 2, "01_") == m - 2)
		return 1;
	if (m > 2 && r[0] == '0' && r[1] == 'x' && span_in(r + 2, m - 2, "0123456789abcdefABCDEF_") == m - 2)
		return 1;
	if (m > 2 && r[0] == '0' && r[1] == 'o' && span_in(r + 2, m - 2, "01234567_") == m - 2)
		return 1;
	return span_in(r, m, "0123456789_") == m;
}

/* n digits exactly from s[*k]; advances *k. */
static int digits(const char *s, size_t len, size_t *k, size_t lo, size_t hi)
{
	size_t d = span_in(s + *k, len - *k, "0123456789");

	if (d < lo)
		return 0;
	*k += d < hi ? d : hi;
	return d <= hi;
}

static int match_timestamp(const char *s, size_t n)
{
	size_t k = 0;

	if (n == 10 && span_in(s, 4, "0123456789") == 4 && s[4] == '-' &&
	    span_in(s + 5, 2, "0123456789") == 2 && s[7] == '-' && span_in(s + 8, 2, "0123456789") == 2)
		return 1;
	if (!digits(s, n, &k, 4, 4) || k >= n || s[k++] != '-' || !digits(s, n, &k, 1, 2) || k >= n ||
	    s[k++] != '-' || !digits(s, n, &k, 1, 2) || k >= n)
		return 0;
	if (s[k] == 'T' || s[k] == 't') {
		k++;
	} else {
		size_t w = span_in(s + k, n - k, " \t");
		if (!w)
			return 0;
		k += w;
	}
	if (!digits(s, n, &k, 1, 2) || k >= n || s[k++] != ':' || !digits(s, n, &k, 2, 2) || k >= n ||
	    s[k++] != ':' || !digits(s, n, &k, 2, 2))
		return 0;
	if (k < n && s[k] == '.') {
		k++;
		k += span_in(s + k, n - k, "0123456789");
	}
	if (k == n)
		return 1;
	k += span_in(s + k, n - k, " \t");
	if (k < n && s[k] == 'Z')
		return k + 1 == n;
	if (k >= n || (s[k] != '+' && s[k] != '-'))
		return 0;
	k++;
	if (!digits(s, n, &k, 1, 2))
		return 0;
	if (k < n && s[k] == ':') {
		k++;
		if (!digits(s, n, &k, 2, 2))
			return 0;
	}
	return k == n;
}

/* The tag ruamel (YAML 1.2) gives the plain scalar s[0..n), in its resolver order. */
enum tr_yaml_tag tr_yaml_resolve(const char *s, size_t n)
{
	static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE", NULL};
	static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
	static const char *const others[] = {"<<", "=", "!", "&", "*", NULL};

	/* ruamel tries a resolver only for the first characters it lists */
	int number = strchr("-+0123456789", s[0]) && s[0];

	if (!n || is_one(s, n, nulls))
		return TR_YAML_NULL;
	if (is_one(s, n, bools))
		return TR_YAML_BOOL;
	if ((number || s[0] == '.') && match_float(s, n))
		return TR_YAML_FLOAT;
	if (number && match_int(s, n))
		return TR_YAML_INT;
	if (is_digit(s[0]) && match_timestamp(s, n))
		return TR_YAML_TIMESTAMP;
	if (is_one(s, n, others))
		return TR_YAML_OTHER;
	return TR_YAML_STR;
}

/* ---- scalars as ruamel's emitter writes them ------------------------------ */

/* A string as code points, with the byte offset of each (off[n] = length). */
struct text {
	const char *s;
	uint32_t *cp;
	size_t *off;
	size_t n;
};

static int decode(const char *s, struct text *t)
{
	size_t len = strlen(s), n = 0;

	t->s = s;
	t->cp = malloc((len + 1) * sizeof(*t->cp));
	t->off = malloc((len + 1) * sizeof(*t->off));
	if (!t->cp || !t->off)
		return LIVE_ENOMEM;
	for (size_t i = 0; i < len; n++) {
		const unsigned char *u = (const unsigned char *)s + i;
		uint32_t c;
		size_t k;

		if (u[0] < 0x80) {
			c = u[0];
			k = 1;
		} else if ((u[0] & 0xE0) == 0xC0) {
			c = u[0] & 0x1F;
			k = 2;
		} else if ((u[0] & 0xF0) == 0xE0) {
			c = u[0] & 0x0F;
			k = 3;
		} else if ((u[0] & 0xF8) == 0xF0) {
			c = u[0] & 0x07;
			k = 4;
		} else {
			return LIVE_EINVALID;
		}
		if (i + k > len)
			return LIVE_EINVALID;
		for (size_t j = 1; j < k; j++) {
			if ((u[j] & 0xC0) != 0x80)
				return LIVE_EINVALID;
			c = c << 6 | (u[j] & 0x3F);
		}
		if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800) || (k == 4 && c < 0x10000) ||
		    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return LIVE_EINVALID;
		t->cp[n] = c;
		t->off[n] = i;
		i += k;
	}
	t->off[n] = len;
	t->n = n;
	return 0;
}

static void text_free(struct text *t)
{
	free(t->cp);
	free(t->off);
}

static int is_break(uint32_t c)
{
	return c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static int is_blank(uint32_t c)
{
	return c == 0 || c == ' ' || c == '\t' || c == '\r' || is_break(c);
}

/* Printable for ruamel with allow_unicode (analyze_scalar's test). */
static int is_printable(uint32_t c)
{
	if (c == '\n' || (c >= 0x20 && c <= 0x7E))
		return 1;
	return (c == 0x85 || (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
	        (c >= 0x10000 && c <= 0x10FFFF)) &&
	       c != 0xFEFF;
}

struct analysis {
	int empty, multiline, plain, single;
};

/* Emitter.analyze_scalar, block context, YAML 1.2, allow_unicode. */
static struct analysis analyze(const struct text *t)
{
	struct analysis a = {0, 0, 1, 1};
	int block_ind = 0, special = 0, line_breaks = 0;
	int lead_space = 0, lead_break = 0, trail_space = 0, trail_break = 0;
	int break_space = 0, space_break = 0, prev_space = 0, prev_break = 0;
	int preceded = 1, followed;
	const uint32_t *c = t->cp;
	size_t n = t->n;

	if (!n) {
		a.empty = 1;
		return a;
	}
	if (n >= 3 &&
	    ((c[0] == '-' && c[1] == '-' && c[2] == '-') || (c[0] == '.' && c[1] == '.' && c[2] == '.')))
		block_ind = 1;
	followed = n == 1 || is_blank(c[1]);
	for (size_t i = 0; i < n; i++) {
		uint32_t ch = c[i];

		if (i == 0) {
			if (ch < 0x80 && strchr("#,[]{}&*!|>'\"%@`", (int)ch) && ch)
				block_ind = 1;
			if ((ch == '?' || ch == ':') && followed)
				block_ind = 1;
			if (ch == '-' && followed)
				block_ind = 1;
		} else {
			if (ch == ':' && followed)
				block_ind = 1;
			if (ch == '#' && preceded)
				block_ind = 1;
		}
		if (is_break(ch))
			line_breaks = 1;
		if (!is_printable(ch))
			special = 1;
		if (ch == ' ') {
			if (i == 0)
				lead_space = 1;
			if (i == n - 1)
				trail_space = 1;
			if (prev_break)
				break_space = 1;
			prev_space = 1;
			prev_break = 0;
		} else if (is_break(ch)) {
			if (i == 0)
				lead_break = 1;
			if (i == n - 1)
				trail_break = 1;
			if (prev_space)
				space_break = 1;
			prev_space = 0;
			prev_break = 1;
		} else {
			prev_space = prev_break = 0;
		}
		preceded = is_blank(ch);
		followed = i + 2 >= n || is_blank(c[i + 2]);
	}
	if (lead_space || lead_break || trail_space || trail_break)
		a.plain = 0;
	if (break_space || special || space_break)
		a.plain = a.single = 0;
	if (line_breaks || block_ind)
		a.plain = 0;
	a.multiline = line_breaks;
	return a;
}

static void put(tr_yaml *y, const char *p, size_t n, size_t width)
{
	if (!y->rc && live__buf_append(y->out, p, n))
		y->rc = LIVE_ENOMEM;
	y->column += width;
	y->any = 1;
}

/* Code points [a, b) of t. */
static void put_cps(tr_yaml *y, const struct text *t, size_t a, size_t b)
{
	if (a < b)
		put(y, t->s + t->off[a], t->off[b] - t->off[a], b - a);
}

static void put_spaces(tr_yaml *y, size_t n)
{
	static const char sp[] = "                                ";

	while (n) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
		put(y, sp, k, k);
		n -= k;
	}
}

static void newline(tr_yaml *y, size_t indent)
{
	put(y, "\n", 1, 0);
	y->column = 0;
	put_spaces(y, indent);
}

/* write_plain: no line breaks here (they forbid the plain style). */
static void write_plain(tr_yaml *y, const struct text *t, size_t indent, int split)
{
	size_t start = 0;
	int spaces = 0;

	for (size_t end = 0; end <= t->n; end++) {
		uint32_t ch = end < t->n ? t->cp[end] : 0;
		int last = end == t->n;

		if (spaces) {
			if (last || ch != ' ') {
				if (start + 1 == end && y->column > BEST_WIDTH && split)
					newline(y, indent);
				else
					put_cps(y, t, start, end);
				start = end;
			}
		} else if (last || ch == ' ') {
			put_cps(y, t, start, end);
			start = end;
		}
		if (!last)
			spaces = ch == ' ';
	}
}

/* write_single_quoted (the style never holds a '\n': that goes double-quoted). */
static void write_single(tr_yaml *y, const struct text *t, size_t indent, int split)
{
	size_t start = 0;
	int spaces = 0, breaks = 0;

	put(y, "'", 1, 1);
	for (size_t end = 0; end <= t->n; end++) {
		uint32_t ch = end < t->n ? t->cp[end] : 0;
		int last = end == t->n;

		if (spaces) {
			if (last || ch != ' ') {
				if (start + 1 == end && y->column > BEST_WIDTH && split && start != 0 &&
				    end != t->n)
					newline(y, indent);
				else
					put_cps(y, t, start, end);
				start = end;
			}
		} else if (breaks) {
			if (last || !is_break(ch)) {
				/* a NEL or line separator: written, then the indent */
				for (size_t k = start; k < end; k++) {
					put_cps(y, t, k, k + 1);
					y->column = 0;
				}
				put_spaces(y, indent);
				start = end;
			}
		} else if (last || ch == ' ' || is_break(ch) || ch == '\'') {
			put_cps(y, t, start, end);
			start = end;
		}
		if (ch == '\'' && !last) {
			put(y, "''", 2, 2);
			start = end + 1;
		}
		if (!last) {
			spaces = ch == ' ';
			breaks = is_break(ch);
		}
	}
	put(y, "'", 1, 1);
}

static void write_escape(tr_yaml *y, uint32_t ch)
{
	static const struct {
		uint32_t c;
		char e;
	} esc[] = {{0, '0'},     {7, 'a'},    {8, 'b'},    {9, 't'},      {10, 'n'},
	           {11, 'v'},    {12, 'f'},   {13, 'r'},   {27, 'e'},     {'"', '"'},
	           {'\\', '\\'}, {0x85, 'N'}, {0xA0, '_'}, {0x2028, 'L'}, {0x2029, 'P'}};
	char buf[12];
	int n;

	for (size_t k = 0; k < sizeof(esc) / sizeof(esc[0]); k++) {
		if (esc[k].c == ch) {
			buf[0] = '\\';
			buf[1] = esc[k].e;
			put(y, buf, 2, 2);
			return;
		}
	}
	if (ch <= 0xFF)
		n = snprintf(buf, sizeof(buf), "\\x%02X", (unsigned)ch);
	else if (ch <= 0xFFFF)
		n = snprintf(buf, sizeof(buf), "\\u%04X", (unsigned)ch);
	else
		n = snprintf(buf, sizeof(buf), "\\U%08X", (unsigned)ch);
	put(y, buf, (size_t)n, (size_t)n);
}

/* write_double_quoted */
static void write_double(tr_yaml *y, const struct text *t, size_t indent, int split)
{
	size_t start = 0;

	put(y, "\"", 1, 1);
	for (size_t end = 0; end <= t->n; end++) {
		int last = end == t->n;
		uint32_t ch = last ? 0 : t->cp[end];

		if (last || ch == '"' || ch == '\\' || ch == 0x85 || ch == 0x2028 || ch == 0x2029 ||
		    ch == 0xFEFF ||
		    !((ch >= 0x20 && ch <= 0x7E) || (ch >= 0xA0 && ch <= 0xD7FF) ||
		      (ch >= 0xE000 && ch <= 0xFFFD))) {
			put_cps(y, t, start, end);
			start = end;
			if (!last) {
				write_escape(y, ch);
				start = end + 1;
			}
		}
		if (end > 0 && end + 1 < t->n && (ch == ' ' || start >= end) &&
		    y->column + (end - start) > BEST_WIDTH && split) {
			put_cps(y, t, start, end);
			put(y, "\\", 1, 1);
			if (start < end)
				start = end;
			newline(y, indent);
			if (t->cp[start] == ' ')
				put(y, "\\", 1, 1);
		}
	}
	put(y, "\"", 1, 1);
}

/*
 * Write a string at the current position (the caller wrote what separates it
 * from the indicator before). `indent` is where folded lines start; keys are
 * never folded.
 */
static void write_string(tr_yaml *y, const struct text *t, size_t indent, int key)
{
	struct analysis a = analyze(t);
	int resolves_str = tr_yaml_resolve(t->s, strlen(t->s)) == TR_YAML_STR;

	if (resolves_str && a.plain && !(key && (a.empty || a.multiline)))
		write_plain(y, t, indent, !key);
	else if (memchr(t->s, '\'', strlen(t->s)) || strchr(t->s, '\n'))
		write_double(y, t, indent, !key);
	else if (a.single && !(key && a.multiline))
		write_single(y, t, indent, !key);
	else
		write_double(y, t, indent, !key);
}

/* ---- the block structure ---------------------------------------------------- */

void tr_yaml_begin(tr_yaml *y, live__buf *out)
{
	memset(y, 0, sizeof(*y));
	y->out = out;
}

static struct tr_yaml_level *top(tr_yaml *y)
{
	return y->depth ? &y->level[y->depth - 1] : NULL;
}

/*
 * Before a node: place it after its key or dash. Returns the indent that
 * folded lines of a scalar take, and sets *as_key when the node is a key.
 */
static size_t before_node(tr_yaml *y, int *as_key, int *in_seq_item)
{
	struct tr_yaml_level *l = top(y);

	*as_key = 0;
	*in_seq_item = 0;
	if (!l)
		return 0;
	if (l->kind == 'm' && !l->want_value) {
		*as_key = 1;
		if (!(l->count == 0 && l->inline_first) && y->any)
			newline(y, l->indent);
		return l->indent + 2;
	}
	if (l->kind == 's') {
		if (!(l->count == 0 && l->inline_first) && y->any)
			newline(y, l->indent);
		put(y, "- ", 2, 2);
		*in_seq_item = 1;
		return l->indent + 2;
	}
	return l->indent + 2; /* a mapping value */
}

static void after_node(tr_yaml *y)
{
	struct tr_yaml_level *l = top(y);

	if (!l)
		return;
	if (l->kind == 'm' && !l->want_value) {
		l->want_value = 1;
		return;
	}
	l->want_value = 0;
	l->long_key = 0;
	l->count++;
}

static void scalar(tr_yaml *y, const char *s, int raw)
{
	struct tr_yaml_level *l = top(y);
	struct text t = {0};
	int as_key, in_item, rc;
	size_t indent;

	if (y->rc)
		return;
	rc = decode(s, &t);
	if (rc) {
		y->rc = rc;
		text_free(&t);
		return;
	}
	indent = before_node(y, &as_key, &in_item);
	if (as_key) {
		if (t.n >= MAX_SIMPLE_KEY || (!raw && analyze(&t).multiline)) {
			put(y, "? ", 2, 2);
			if (raw)
				put(y, s, strlen(s), t.n);
			else
				write_string(y, &t, indent, 0);
			newline(y, l->indent);
			put(y, ":", 1, 1);
			l->long_key = 1;
		} else {
			if (raw)
				put(y, s, strlen(s), t.n);
			else
				write_string(y, &t, indent, 1);
			put(y, ":", 1, 1);
		}
	} else if (raw) {
		if (*s && !in_item)
			put(y, " ", 1, 1);
		put(y, s, strlen(s), t.n);
	} else {
		if (!in_item)
			put(y, " ", 1, 1);
		write_string(y, &t, indent, 0);
	}
	text_free(&t);
	after_node(y);
}

void tr_yaml_str(tr_yaml *y, const char *s)
{
	scalar(y, s, 0);
}

void tr_yaml_raw(tr_yaml *y, const char *s)
{
	scalar(y, s, 1);
}

void tr_yaml_null(tr_yaml *y)
{
	struct tr_yaml_level *l = top(y);

	/* ruamel writes a null key as "null", a null value as nothing */
	tr_yaml_raw(y, l && l->kind == 'm' && !l->want_value ? "null" : "");
}

void tr_yaml_text(tr_yaml *y, const char *text)
{
	struct tr_yaml_level *l = top(y);

	if (y->rc)
		return;
	if (!l || l->kind != 'm' || !l->want_value) {
		y->rc = LIVE_EINVALID; /* only a mapping value can be a block */
		return;
	}
	if (*text && *text != '\n')
		put(y, " ", 1, 1);
	for (const char *p = text; *p; p++) {
		put(y, p, 1, 1);
		if (*p == '\n') {
			y->column = 0;
			put_spaces(y, l->indent);
		}
	}
	after_node(y);
}

static void open_collection(tr_yaml *y, char kind)
{
	struct tr_yaml_level *l = top(y), *n;
	int as_key = 0, in_item = 0;

	if (y->rc)
		return;
	if (y->depth == TR_YAML_DEPTH) {
		y->rc = LIVE_EINVALID;
		return;
	}
	if (l && l->kind == 'm' && !l->want_value) {
		y->rc = LIVE_EINVALID; /* a collection as a key */
		return;
	}
	before_node(y, &as_key, &in_item);
	n = &y->level[y->depth++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	if (!l) {
		n->indent = 0;
	} else if (in_item) {
		n->indent = l->indent + 2;
		n->inline_first = 1;
	} else if (l->long_key) {
		n->indent = l->indent + 2;
		n->inline_first = 1;
		put(y, " ", 1, 1);
	} else {
		/* a mapping's value: keys 2 in, dashes level with the key */
		n->indent = kind == 'm' ? l->indent + 2 : l->indent;
	}
}

void tr_yaml_map(tr_yaml *y)
{
	open_collection(y, 'm');
}

void tr_yaml_map_at(tr_yaml *y, size_t column)
{
	if (!y->rc && (y->depth || y->any))
		y->rc = LIVE_EINVALID;
	open_collection(y, 'm');
	if (y->rc)
		return;
	y->level[0].indent = column;
	put_spaces(y, column);
	y->any = 0; /* the first key stays on this line */
}

void tr_yaml_seq(tr_yaml *y)
{
	open_collection(y, 's');
}

void tr_yaml_end(tr_yaml *y)
{
	struct tr_yaml_level *l = top(y), *parent;

	if (y->rc)
		return;
	if (!l || (l->kind == 'm' && l->want_value)) {
		y->rc = LIVE_EINVALID;
		return;
	}
	y->depth--;
	parent = top(y);
	if (!l->count) {
		/* empty: flow style on the line of its key or dash */
		int after_dash = parent && parent->kind == 's';
		if (!after_dash && !(parent && parent->long_key) && y->any)
			put(y, " ", 1, 1);
		put(y, l->kind == 'm' ? "{}" : "[]", 2, 2);
	}
	after_node(y);
}

int tr_yaml_finish(tr_yaml *y)
{
	if (!y->rc && y->depth)
		y->rc = LIVE_EINVALID;
	if (!y->rc && y->any)
		put(y, "\n", 1, 0);
	return y->rc;
}
