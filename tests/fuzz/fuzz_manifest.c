/*
 * .dir manifests: tracker/md5.c's reader (tr_manifest_parse), checked
 * against a second reader written here, and the writer (tr_manifest_finish)
 * on what it read.
 *
 * The reference reads the text as DVC does, json.loads (Python's strict
 * grammar: whitespace is space, tab, CR, LF only; no control character in a
 * string; no leading zero, "1." or ".5"; nothing after the value; a repeated
 * key's last value wins), then os.fsencode of each string, and applies
 * live's own refusals on top: not UTF-8, NaN/Infinity (cJSON has no such
 * numbers; DVC never writes them), a \u0000 or a lone surrogate other than
 * \udc80..\udcff in any string, an element that is not an object, an md5
 * that is not 32 lowercase hex digits, a relpath that is empty, absolute or
 * has an empty, "." or ".." part, one file named twice, or a file that
 * another entry needs as a folder. The library must accept exactly what the
 * reference accepts, with the same entries in the same order, and refuse
 * the rest with LIVE_EPARSE and a one-line message starting "<show>: ".
 * Nesting deeper than 500 (Python's recursion limit and cJSON's nesting
 * limit are near 1000) is left out of the comparison.
 *
 * What parses goes through the writer: sorted by code points (an undecodable
 * byte as U+DC00 + byte, checked with a decoder of our own), printable
 * ASCII, hash = md5 of those bytes, and read back to the same entries byte
 * for byte; writing those again gives the same bytes (a fixed point).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tracker.h"

#define SHOW "fuzz.dir"
#define DEEP 500

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_clean_env();
	return 0;
}

/* ---- the reference reader ----------------------------------------------------- */

typedef struct bytes {
	char *p;
	size_t n, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void put_utf8(bytes *b, uint32_t c)
{
	unsigned char u[4];
	size_t n;
	if (c < 0x80) {
		u[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (unsigned char)(0xc0 | c >> 6);
		u[1] = (unsigned char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (unsigned char)(0xe0 | c >> 12);
		u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | c >> 18);
		u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (c & 0x3f));
		n = 4;
	}
	put(b, u, n);
}

/* Length of the valid UTF-8 sequence at p[0..n) (Unicode table 3-7), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	static const struct {
		unsigned char first_lo, first_hi, second_lo, second_hi, len;
	} forms[] = {
	        {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
	        {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
	        {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};
	for (size_t f = 0; f < sizeof(forms) / sizeof(*forms); f++) {
		size_t len = forms[f].len;
		if (p[0] < forms[f].first_lo || p[0] > forms[f].first_hi)
			continue;
		if (len > n)
			return 0;
		if (len > 1 && (p[1] < forms[f].second_lo || p[1] > forms[f].second_hi))
			return 0;
		for (size_t k = 2; k < len; k++)
			if (p[k] < 0x80 || p[k] > 0xbf)
				return 0;
		static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
		uint32_t c = p[0] & lead_mask[len];
		for (size_t k = 1; k < len; k++)
			c = c << 6 | (p[k] & 0x3f);
		*cp = c;
		return len;
	}
	return 0;
}

typedef struct ref_entry {
	bytes md5, relpath;
	int has_md5, has_relpath, md5_str, relpath_str;
} ref_entry;

typedef struct ref {
	const unsigned char *s;
	size_t n, i;
	int depth, deep;
	int bad_char; /* a string held \u0000 or a lone surrogate fsencode refuses */
	ref_entry *e;
	size_t ne, cap;
} ref;

static void ws(ref *r)
{
	while (r->i < r->n &&
	       (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
		r->i++;
}

static int hex4(ref *r, size_t at, uint32_t *v)
{
	*v = 0;
	if (at + 4 > r->n)
		return 0;
	for (size_t k = 0; k < 4; k++) {
		unsigned char c = r->s[at + k];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10u;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10u;
		else
			return 0;
		*v = *v << 4 | d;
	}
	return 1;
}

/* A string at r->i (a '"'), decoded as json.loads then os.fsencode would; 0 on a syntax error. */
static int string(ref *r, bytes *out)
{
	r->i++; /* the quote */
	put(out, "", 0);
	for (;;) {
		if (r->i >= r->n)
			return 0;
		unsigned char c = r->s[r->i];
		if (c == '"') {
			r->i++;
			return 1;
		}
		if (c < 0x20)
			return 0; /* strict: no raw control character */
		if (c != '\\') {
			uint32_t cp;
			size_t len = utf8_len(r->s + r->i, r->n - r->i, &cp);
			if (!len)
				return 0; /* checked UTF-8 before, so not reached */
			put(out, r->s + r->i, len);
			r->i += len;
			continue;
		}
		if (r->i + 1 >= r->n)
			return 0;
		unsigned char e = r->s[r->i + 1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char to[] = "\"\\/\b\f\n\r\t";
			put(out, &to[simple - "\"\\/bfnrt"], 1);
			r->i += 2;
			continue;
		}
		uint32_t v, w;
		if (e != 'u' || !hex4(r, r->i + 2, &v))
			return 0;
		r->i += 6;
		if (v >= 0xd800 && v <= 0xdbff && r->i + 1 < r->n && r->s[r->i] == '\\' &&
		    r->s[r->i + 1] == 'u') {
			if (!hex4(r, r->i + 2, &w))
				return 0; /* Python: "Invalid \uXXXX escape" */
			if (w >= 0xdc00 && w <= 0xdfff) {
				r->i += 6;
				put_utf8(out, 0x10000 + ((v - 0xd800) << 10) + (w - 0xdc00));
				continue;
			}
		}
		if (v == 0 || (v >= 0xd800 && v <= 0xdfff && !(v >= 0xdc80 && v <= 0xdcff))) {
			r->bad_char = 1;
			continue;
		}
		if (v >= 0xdc80 && v <= 0xdcff) {
			unsigned char raw = (unsigned char)(v & 0xff);
			put(out, &raw, 1);
		} else {
			put_utf8(out, v);
		}
	}
}

static int number(ref *r)
{
	size_t i = r->i;
	const unsigned char *s = r->s;
	if (i < r->n && s[i] == '-')
		i++;
	if (i < r->n && s[i] == '0')
		i++;
	else if (i < r->n && s[i] >= '1' && s[i] <= '9')
		while (i < r->n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < r->n && s[i] == '.') {
		size_t d = ++i;
		while (i < r->n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < r->n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < r->n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < r->n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	r->i = i;
	return 1;
}

static int literal(ref *r, const char *word)
{
	size_t len = strlen(word);
	if (r->n - r->i < len || memcmp(r->s + r->i, word, len))
		return 0;
	r->i += len;
	return 1;
}

/*
 * A value at r->i (after whitespace). `entry` is not NULL for an element of
 * the top-level list: its "md5" and "relpath" (the last of each) are kept.
 */
static int value(ref *r, ref_entry *entry)
{
	if (r->i >= r->n)
		return 0;
	unsigned char c = r->s[r->i];
	if (c == '"') {
		bytes tmp = {0};
		int ok = string(r, &tmp);
		free(tmp.p);
		return ok;
	}
	if (c == '[' || c == '{') {
		int ok = 0;
		if (++r->depth > DEEP) {
			r->deep = 1; /* not compared: stop before the stack runs out */
			return 0;
		}
		r->i++;
		ws(r);
		if (r->i < r->n && r->s[r->i] == (c == '[' ? ']' : '}')) {
			r->i++;
			r->depth--;
			return 1;
		}
		for (;;) {
			if (c == '{') {
				bytes key = {0}, val = {0};
				if (r->i >= r->n || r->s[r->i] != '"' || !string(r, &key)) {
					free(key.p);
					break;
				}
				ws(r);
				if (r->i >= r->n || r->s[r->i] != ':') {
					free(key.p);
					break;
				}
				r->i++;
				ws(r);
				int is_md5 = key.n == 3 && !memcmp(key.p, "md5", 3);
				int is_rel = key.n == 7 && !memcmp(key.p, "relpath", 7);
				free(key.p);
				int str = r->i < r->n && r->s[r->i] == '"';
				int vok = str ? string(r, &val) : value(r, NULL);
				if (vok && entry && (is_md5 || is_rel)) {
					bytes *dst = is_md5 ? &entry->md5 : &entry->relpath;
					free(dst->p);
					*dst = val; /* the last one wins, as in a Python dict */
					val = (bytes){0};
					*(is_md5 ? &entry->has_md5 : &entry->has_relpath) = 1;
					*(is_md5 ? &entry->md5_str : &entry->relpath_str) = str;
				}
				free(val.p);
				if (!vok)
					break;
			} else {
				ref_entry *el = NULL;
				if (r->depth == 1) {
					if (r->ne == r->cap) {
						r->cap = r->cap ? 2 * r->cap : 8;
						r->e = realloc(r->e, r->cap * sizeof(*r->e));
						if (!r->e)
							abort();
					}
					el = &r->e[r->ne++];
					memset(el, 0, sizeof(*el));
					if (r->i >= r->n || r->s[r->i] != '{')
						el->has_md5 = -1; /* not an object */
				}
				if (!value(r, el))
					break;
			}
			ws(r);
			if (r->i < r->n && r->s[r->i] == ',') {
				r->i++;
				ws(r);
				continue;
			}
			if (r->i < r->n && r->s[r->i] == (c == '[' ? ']' : '}')) {
				r->i++;
				ok = 1;
			}
			break;
		}
		r->depth--;
		return ok;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(r);
	return literal(r, "true") || literal(r, "false") || literal(r, "null");
}

static int inside(const char *p, size_t n)
{
	if (n == 0 || memchr(p, 0, n))
		return 0;
	for (size_t start = 0;;) {
		const char *slash = memchr(p + start, '/', n - start);
		size_t end = slash ? (size_t)(slash - p) : n, len = end - start;
		if (len == 0 || (len == 1 && p[start] == '.') ||
		    (len == 2 && p[start] == '.' && p[start + 1] == '.'))
			return 0;
		if (!slash)
			return 1;
		start = end + 1;
	}
}

static int is_md5(const bytes *b)
{
	if (b->n != 32)
		return 0;
	for (size_t k = 0; k < 32; k++)
		if (!((b->p[k] >= '0' && b->p[k] <= '9') || (b->p[k] >= 'a' && b->p[k] <= 'f')))
			return 0;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* No name twice, no name that is a folder of another: 1 if so. */
static int names_ok(char **names, size_t n)
{
	char **v = malloc((n + 1) * sizeof(*v));
	if (!v)
		abort();
	memcpy(v, names, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_str);
	int ok = 1;
	for (size_t i = 1; i < n && ok; i++)
		ok = strcmp(v[i - 1], v[i]) != 0;
	/* "a" and "a/b": every name that starts with "a/" sorts in one run after "a" */
	for (size_t i = 0; i < n && ok; i++) {
		size_t len = strlen(v[i]);
		for (size_t j = i + 1; j < n && ok && !strncmp(v[j], v[i], len); j++)
			ok = v[j][len] != '/';
	}
	free(v);
	return ok;
}

/*
 * 1: the reference accepts (entries in r->e), 0: it refuses, -1: too deep
 * to compare.
 */
static int ref_read(ref *r, const unsigned char *s, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->n = n;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_len(s + i, n - i, &cp);
		if (!len)
			return 0;
		i += len;
	}
	ws(r);
	int list = r->i < n && s[r->i] == '[';
	int ok = value(r, NULL);
	ws(r);
	if (r->deep)
		return -1;
	if (!ok || r->i != n || !list || r->bad_char)
		return 0;
	char **names = malloc((r->ne + 1) * sizeof(*names));
	if (!names)
		abort();
	for (size_t k = 0; k < r->ne && ok; k++) {
		const ref_entry *e = &r->e[k];
		ok = e->has_md5 == 1 && e->md5_str && is_md5(&e->md5) && e->has_relpath && e->relpath_str &&
		     inside(e->relpath.p, e->relpath.n);
		names[k] = e->relpath.p;
	}
	if (ok)
		ok = names_ok(names, r->ne);
	free(names);
	return ok;
}

static void ref_free(ref *r)
{
	for (size_t k = 0; k < r->ne; k++) {
		free(r->e[k].md5.p);
		free(r->e[k].relpath.p);
	}
	free(r->e);
}

/* ---- the writer --------------------------------------------------------------- */

/* -1, 0, 1: a before, equal to, after b in Python's str order of os.fsdecode(name). */
static int cmp_python(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t nx = strlen(a), ny = strlen(b), i = 0, j = 0;
	while (i < nx && j < ny) {
		uint32_t ca, cb;
		size_t la = utf8_len(x + i, nx - i, &ca), lb = utf8_len(y + j, ny - j, &cb);
		if (!la) {
			ca = 0xdc00u + x[i];
			la = 1;
		}
		if (!lb) {
			cb = 0xdc00u + y[j];
			lb = 1;
		}
		if (ca != cb)
			return ca < cb ? -1 : 1;
		i += la;
		j += lb;
	}
	return (i < nx) - (j < ny);
}

static void check_written(const tr_manifest *w, const tr_hashinfo *hi, long long total)
{
	FZ_CHECK(w->json && strlen(w->json) == w->json_len, "json_len %zu does not match the text",
	         w->json_len);
	for (size_t k = 0; k < w->json_len; k++)
		FZ_CHECK(w->json[k] >= 0x20 && w->json[k] <= 0x7e,
		         "byte %zu of the manifest is 0x%02x, not printable ASCII", k,
		         (unsigned char)w->json[k]);
	FZ_CHECK(w->json_len >= 2 && w->json[0] == '[' && w->json[w->json_len - 1] == ']', "not a list: %s",
	         w->json);
	for (size_t k = 1; k < w->n; k++)
		FZ_CHECK(cmp_python(w->entries[k - 1].relpath, w->entries[k].relpath) < 0,
		         "entries %zu and %zu out of order", k - 1, k);
	char hex[33];
	tr_md5 h;
	tr_md5_init(&h);
	tr_md5_update(&h, w->json, w->json_len);
	tr_md5_final(&h, hex);
	FZ_CHECK(strlen(hi->md5) == 36 && !strncmp(hi->md5, hex, 32) && !strcmp(hi->md5 + 32, ".dir"),
	         "hash %s is not md5 of the text + .dir (%s)", hi->md5, hex);
	FZ_CHECK(hi->size == total && hi->nfiles == (long long)w->n,
	         "size %lld, nfiles %lld for %zu files of %lld", hi->size, hi->nfiles, w->n, total);
}

/* A copy of m's entries, each with size `k + 1`, completed by the writer. */
static long long write_copy(const tr_manifest *m, tr_manifest *w, tr_hashinfo *hi)
{
	long long total = 0;
	memset(w, 0, sizeof(*w));
	w->entries = calloc(m->n + 1, sizeof(*w->entries));
	FZ_CHECK(w->entries, "out of memory");
	for (size_t k = 0; k < m->n; k++) {
		w->entries[k].relpath = strdup(m->entries[k].relpath);
		FZ_CHECK(w->entries[k].relpath, "out of memory");
		memcpy(w->entries[k].md5, m->entries[k].md5, 33);
		w->entries[k].size = (long long)k + 1;
		total += (long long)k + 1;
		w->n++;
	}
	int rc = tr_manifest_finish(w, hi);
	FZ_CHECK(rc == 0, "finish: %d %s", rc, live_errmsg());
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	FZ_CHECK(text, "out of memory");
	memcpy(text, data, size);
	text[size] = 0;

	ref r;
	int want = ref_read(&r, data, size);
	tr_manifest m;
	int rc = tr_manifest_parse(text, size, SHOW, &m);
	if (rc) {
		const char *msg = live_errmsg();
		FZ_CHECK(rc == LIVE_EPARSE || rc == LIVE_ENOMEM, "unexpected %d: %s", rc, msg);
		FZ_CHECK(m.n == 0 && m.entries == NULL && m.json == NULL, "a refused manifest left entries");
		FZ_CHECK(!strncmp(msg, SHOW ": ", strlen(SHOW) + 2), "the message does not name the file: %s",
		         msg);
		for (const char *p = msg; *p; p++)
			FZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f,
			         "a control character in the message: %s", msg);
		FZ_CHECK(want != 1 || rc == LIVE_ENOMEM, "refused what DVC reads (%zu entries): %s", r.ne,
		         msg);
		ref_free(&r);
		free(text);
		return 0;
	}
	FZ_CHECK(want != 0, "accepted what DVC refuses or live must refuse (%zu entries)", m.n);
	FZ_CHECK(m.json == NULL && m.json_len == 0, "parse filled json");
	if (want == 1) {
		FZ_CHECK(r.ne == m.n, "%zu entries, the reference reads %zu", m.n, r.ne);
		for (size_t k = 0; k < m.n; k++) {
			FZ_CHECK(!strcmp(m.entries[k].relpath, r.e[k].relpath.p),
			         "entry %zu: relpath differs from DVC's", k + 1);
			FZ_CHECK(!strcmp(m.entries[k].md5, r.e[k].md5.p), "entry %zu: md5 differs from DVC's",
			         k + 1);
		}
	}
	/* what parsed holds only safe, distinct names and md5s (the reference's own rules) */
	char **names = malloc((m.n + 1) * sizeof(*names));
	FZ_CHECK(names, "out of memory");
	for (size_t k = 0; k < m.n; k++) {
		const tr_dir_entry *e = &m.entries[k];
		FZ_CHECK(e->md5[32] == 0, "entry %zu: md5 not terminated", k + 1);
		bytes md5 = {(char *)e->md5, strlen(e->md5), 0};
		FZ_CHECK(is_md5(&md5), "entry %zu: md5 '%s' is not 32 hex digits", k + 1, e->md5);
		FZ_CHECK(inside(e->relpath, strlen(e->relpath)), "entry %zu: unsafe relpath", k + 1);
		FZ_CHECK(e->size == -1, "entry %zu: size %lld", k + 1, e->size);
		names[k] = e->relpath;
	}
	FZ_CHECK(names_ok(names, m.n), "a name twice, or a file that is also a folder");
	free(names);

	/* the writer: sorted, printable, hashed, and read back byte for byte */
	tr_manifest w, back, w2;
	tr_hashinfo hi, hi2;
	long long total = write_copy(&m, &w, &hi);
	check_written(&w, &hi, total);
	rc = tr_manifest_parse(w.json, w.json_len, SHOW, &back);
	FZ_CHECK(rc == 0, "the written manifest does not read back: %s\n%s", live_errmsg(), w.json);
	FZ_CHECK(back.n == w.n, "%zu entries written, %zu read back", w.n, back.n);
	for (size_t k = 0; k < w.n; k++)
		FZ_CHECK(!strcmp(back.entries[k].relpath, w.entries[k].relpath) &&
		                 !strcmp(back.entries[k].md5, w.entries[k].md5),
		         "entry %zu changed in a round trip", k + 1);
	total = write_copy(&back, &w2, &hi2);
	FZ_CHECK(w2.json_len == w.json_len && !memcmp(w2.json, w.json, w.json_len) &&
	                 !strcmp(hi.md5, hi2.md5),
	         "writing is not a fixed point:\n%s\n%s", w.json, w2.json);
	tr_manifest_free(&w);
	tr_manifest_free(&w2);
	tr_manifest_free(&back);
	tr_manifest_free(&m);
	ref_free(&r);
	free(text);
	return 0;
}
