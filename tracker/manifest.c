/*
 * A folder's .dir manifest (reference/dvc-checkpoints.md 4.3): written as
 * DVC 2.x writes it (json.dumps of the entries sorted by name, file names
 * through os.fsdecode), and read back as DVC reads it (json.loads, then
 * os.fsencode), in one file so that the two sides of the name encoding stay
 * together.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tracker.h"

/* ---- .dir manifests -------------------------------------------------------- */

/*
 * The next code point of a file name as Python sees it: strict UTF-8, and a
 * byte that does not start a valid sequence decoded alone as U+DC00 + byte
 * (os.fsdecode's surrogateescape). Advances *i.
 */
static uint32_t next_cp(const unsigned char *s, size_t *i)
{
	const unsigned char *p = s + *i;
	unsigned c = p[0];
	if (c < 0x80) {
		*i += 1;
		return c;
	}
	unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	int len;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		goto invalid;
	}
	if (p[1] < lo || p[1] > hi)
		goto invalid;
	for (int k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			goto invalid; /* also stops at the NUL */
		cp = cp << 6 | (p[k] & 0x3f);
	}
	*i += (size_t)len;
	return cp;
invalid:
	*i += 1;
	return 0xdc00 + c;
}

/* Python's str order (code points) on two file names. */
static int cmp_names(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t i = 0, j = 0;
	for (;;) {
		if (!x[i] || !y[j])
			return (x[i] != 0) - (y[j] != 0);
		uint32_t ca = next_cp(x, &i), cb = next_cp(y, &j);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
}

static int cmp_entries(const void *a, const void *b)
{
	return cmp_names(((const tr_dir_entry *)a)->relpath, ((const tr_dir_entry *)b)->relpath);
}

/* A JSON string as json.dumps(..., ensure_ascii=True) writes it. */
static int put_json_string(live__buf *b, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	int rc = live__buf_append(b, "\"", 1);
	for (size_t i = 0; u[i] && !rc;) {
		uint32_t cp = next_cp(u, &i);
		char esc[12];
		size_t n = 0;
		if (cp == '"' || cp == '\\') {
			esc[n++] = '\\';
			esc[n++] = (char)cp;
		} else if (cp >= 0x20 && cp <= 0x7e) {
			esc[n++] = (char)cp;
		} else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f') {
			esc[n++] = '\\';
			esc[n++] = cp == '\n'   ? 'n'
			           : cp == '\r' ? 'r'
			           : cp == '\t' ? 't'
			           : cp == '\b' ? 'b'
			                        : 'f';
		} else {
			uint32_t units[2] = {cp, 0};
			int nu = 1;
			if (cp >= 0x10000) {
				units[0] = 0xd800 | ((cp - 0x10000) >> 10);
				units[1] = 0xdc00 | ((cp - 0x10000) & 0x3ff);
				nu = 2;
			}
			for (int k = 0; k < nu; k++) {
				esc[n++] = '\\';
				esc[n++] = 'u';
				for (int sh = 12; sh >= 0; sh -= 4)
					esc[n++] = digits[(units[k] >> sh) & 15];
			}
		}
		rc = live__buf_append(b, esc, n);
	}
	return rc ? rc : live__buf_append(b, "\"", 1);
}

int tr_manifest_finish(tr_manifest *m, tr_hashinfo *out)
{
	if (m->n > 1)
		qsort(m->entries, m->n, sizeof(*m->entries), cmp_entries);
	live__buf b = {0};
	int rc = live__buf_append(&b, "[", 1);
	long long total = 0;
	for (size_t i = 0; i < m->n && !rc; i++) {
		const tr_dir_entry *e = &m->entries[i];
		total += e->size;
		if (i)
			rc = live__buf_append(&b, ", ", 2);
		if (!rc)
			rc = live__buf_append(&b, "{\"md5\": \"", 9);
		if (!rc)
			rc = live__buf_append(&b, e->md5, strlen(e->md5));
		if (!rc)
			rc = live__buf_append(&b, "\", \"relpath\": ", 14);
		if (!rc)
			rc = put_json_string(&b, e->relpath);
		if (!rc)
			rc = live__buf_append(&b, "}", 1);
	}
	if (!rc)
		rc = live__buf_append(&b, "]", 2); /* with the NUL, not counted */
	if (rc) {
		live__buf_free(&b);
		return rc;
	}
	free(m->json);
	m->json = b.data;
	m->json_len = b.len - 1;
	/* DVC hashes these bytes through file_md5. ensure_ascii leaves only
	 * printable ASCII (every \r is escaped), so the text rule changes nothing
	 * and the plain md5 is the same. */
	tr_md5 h;
	tr_md5_init(&h);
	tr_md5_update(&h, m->json, m->json_len);
	char hex[33];
	tr_md5_final(&h, hex);
	if (out) {
		snprintf(out->md5, sizeof(out->md5), "%s.dir", hex);
		out->size = total;
		out->nfiles = (long long)m->n;
	}
	return 0;
}

void tr_manifest_free(tr_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].relpath);
	free(m->entries);
	free(m->json);
	m->entries = NULL;
	m->n = 0;
	m->json = NULL;
	m->json_len = 0;
}

/* ---- reading a manifest ------------------------------------------------------ */

/*
 * DVC reads a manifest with json.loads and turns each relpath back into bytes
 * with os.fsencode (UTF-8, surrogateescape): a lone "\udc80".."\udcff" is the
 * raw byte 0x80..0xff, any other character its UTF-8. cJSON refuses lone
 * surrogates but keeps the raw bytes of a string as they are, so each lone
 * "\udcXX" escape is rewritten as its raw byte before cJSON sees the text.
 * That is exactly fsencode(json.loads(text)) for any text that is UTF-8 (JSON
 * must be; DVC and live write ASCII): every name put_json_string writes reads
 * back as the same bytes, an undecodable byte ("\udc80") and U+F780
 * ("\uf780", 3 bytes) alike. What fsencode cannot encode (another lone
 * surrogate, \u0000) is refused, as DVC fails on it.
 */

int tr_relpath_inside(const char *p)
{
	if (!*p || *p == '/')
		return 0;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!p[n])
			return 1;
		p += n + 1;
	}
}

static int hexval(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
		             : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
		             : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
		                                    : 16;
		if (d == 16)
			return 0;
		*v = *v << 4 | d;
	}
	return 1;
}

/* Rewrite, in place, each lone "\udc80".."\udcff" in s[0..*n) as its raw byte. */
static int escapes_to_bytes(char *s, size_t *n, const char *show)
{
	size_t r = 0, w = 0, len = *n;
	unsigned high = 0; /* a high surrogate waiting for its low half */
	while (r < len) {
		unsigned v = 0;
		int esc = s[r] == '\\' && r + 1 < len;
		int u = esc && s[r + 1] == 'u' && r + 6 <= len && hexval(s + r + 2, &v);
		int low = u && v >= 0xdc00 && v <= 0xdfff;
		if (high && !low)
			return live__fail(LIVE_EPARSE, "%s: \\u%04x is half a character (a lone surrogate)",
			                  show, high);
		if (u && v == 0)
			return live__fail(LIVE_EPARSE, "%s: \\u0000 in a name", show);
		if (low && !high) {
			if (v < 0xdc80 || v > 0xdcff)
				return live__fail(LIVE_EPARSE,
				                  "%s: \\u%04x is half a character (a lone surrogate)", show,
				                  v);
			s[w++] = (char)(v & 0xff);
			r += 6;
			continue;
		}
		size_t k = u ? 6 : esc ? 2 : 1;
		memmove(s + w, s + r, k);
		w += k;
		r += k;
		high = u && v >= 0xd800 && v <= 0xdbff ? v : 0;
	}
	if (high)
		return live__fail(LIVE_EPARSE, "%s: \\u%04x is half a character (a lone surrogate)", show,
		                  high);
	s[w] = 0;
	*n = w;
	return 0;
}

/* `s` for a one-line message: printable ASCII as is, other bytes as \xNN. */
static const char *show_name(char *buf, size_t size, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (w + 8 >= size) {
			memcpy(buf + w, "...", 3);
			w += 3;
			break;
		}
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			buf[w++] = (char)*p;
		} else {
			buf[w++] = '\\';
			buf[w++] = 'x';
			buf[w++] = digits[*p >> 4];
			buf[w++] = digits[*p & 15];
		}
	}
	buf[w] = 0;
	return buf;
}

/*
 * cJSON takes more than json.loads does: a byte order mark, any byte up to
 * ' ' as whitespace, raw control characters in strings, leading zeros and
 * "1.", text after the value. A manifest DVC cannot read is refused here too,
 * so this checks the text (already UTF-8) against Python's grammar: whitespace
 * is space, tab, LF and CR; a string holds no byte below 0x20 and only the
 * escapes \" \\ \/ \b \f \n \r \t \uXXXX; numbers are
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; nothing but whitespace
 * follows. (NaN and Infinity, which json.loads also takes, cJSON refuses
 * first; DVC never writes numbers in a manifest.) Called on text cJSON
 * parsed, so nesting is within CJSON_NESTING_LIMIT. 0, or LIVE_EPARSE
 * "<show>: not JSON at byte N (...)".
 */
static size_t json_ws(const unsigned char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static const char *json_string(const unsigned char *s, size_t *at, size_t len)
{
	size_t i = *at + 1; /* past the quote */
	unsigned v;
	for (;;) {
		if (i >= len)
			return "the text ends inside a string";
		if (s[i] == '"')
			break;
		if (s[i] < 0x20) {
			*at = i;
			return "a raw control character in a string";
		}
		if (s[i] != '\\') {
			i++;
		} else if (i + 1 < len && s[i + 1] && strchr("\"\\/bfnrt", s[i + 1])) {
			i += 2;
		} else if (i + 5 < len && s[i + 1] == 'u' && hexval((const char *)s + i + 2, &v)) {
			i += 6;
		} else {
			*at = i;
			return "a bad escape in a string";
		}
	}
	*at = i + 1;
	return NULL;
}

static const char *json_number(const unsigned char *s, size_t *at, size_t len)
{
	size_t i = *at;
	if (s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return "a bad number";
	if (i < len && s[i] == '.') {
		size_t digits = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return "a bad number";
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t digits = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return "a bad number";
	}
	*at = i;
	return NULL;
}

static int json_strict(const char *text, size_t len, const char *show)
{
	const unsigned char *s = (const unsigned char *)text;
	char open[CJSON_NESTING_LIMIT + 1]; /* '[' or '{' of each open value */
	size_t depth = 0, i = 0;
	enum { VALUE, KEY, AFTER } at = VALUE;
	const char *why = NULL;
	while (!why) {
		i = json_ws(s, i, len);
		if (at == KEY) {
			if (i >= len || s[i] != '"' || (why = json_string(s, &i, len)) != NULL) {
				why = why ? why : "expected a key in quotes";
				break;
			}
			i = json_ws(s, i, len);
			if (i >= len || s[i] != ':') {
				why = "expected ':'";
				break;
			}
			i++;
			at = VALUE;
		} else if (at == AFTER) {
			char close = depth && open[depth - 1] == '{' ? '}' : ']';
			if (!depth) {
				if (i < len)
					why = "text after the end of the list";
				break;
			}
			if (i < len && s[i] == ',') {
				at = open[depth - 1] == '{' ? KEY : VALUE;
				i++;
			} else if (i < len && (char)s[i] == close) {
				depth--;
				i++;
			} else {
				why = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'";
			}
		} else if (i < len && (s[i] == '[' || s[i] == '{')) {
			if (depth == CJSON_NESTING_LIMIT) {
				why = "nested too deep";
				break;
			}
			open[depth++] = (char)s[i];
			i = json_ws(s, i + 1, len);
			if (i < len && s[i] == (open[depth - 1] == '{' ? '}' : ']')) {
				depth--;
				i++;
				at = AFTER;
			} else {
				at = open[depth - 1] == '{' ? KEY : VALUE;
			}
		} else if (i < len && s[i] == '"') {
			why = json_string(s, &i, len);
			at = AFTER;
		} else if (i < len && (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))) {
			why = json_number(s, &i, len);
			at = AFTER;
		} else {
			static const char *const words[] = {"true", "false", "null"};
			size_t k = 0;
			while (k < 3 &&
			       (len - i < strlen(words[k]) || memcmp(s + i, words[k], strlen(words[k]))))
				k++;
			if (k == 3)
				why = "expected a value";
			else
				i += strlen(words[k]);
			at = AFTER;
		}
	}
	if (why)
		return live__fail(LIVE_EPARSE, "%s: not JSON at byte %zu (%s)", show, i + 1, why);
	return 0;
}

/* An object's member `key`; the last one when the key repeats, as in the dict json.loads makes. */
static const cJSON *member(const cJSON *object, const char *key)
{
	const cJSON *hit = NULL, *c;
	if (!cJSON_IsObject(object))
		return NULL;
	cJSON_ArrayForEach(c, object)
	{
		if (c->string && !strcmp(c->string, key))
			hit = c;
	}
	return hit;
}

typedef struct named {
	const char *name;
	size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Two entries for one file, or a file that another entry needs as a folder. */
static int check_names(const tr_manifest *m, const char *show)
{
	if (m->n < 2)
		return 0;
	named *v = malloc(m->n * sizeof(*v));
	if (!v)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	for (size_t i = 0; i < m->n; i++)
		v[i] = (named){m->entries[i].relpath, i};
	qsort(v, m->n, sizeof(*v), cmp_named);
	char a[160], b[160];
	int rc = 0;
	for (size_t i = 1; i < m->n && !rc; i++)
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			size_t x = v[i - 1].index < v[i].index ? v[i - 1].index : v[i].index;
			size_t y = v[i - 1].index + v[i].index - x;
			rc = live__fail(LIVE_EPARSE, "%s: entries %zu and %zu both name '%s'", show, x + 1,
			                y + 1, show_name(a, sizeof(a), v[i].name));
		}
	for (size_t i = 0; i < m->n && !rc; i++) {
		const char *path = m->entries[i].relpath;
		char *dir = strdup(path); /* a copy: the names in `v` stay whole */
		if (!dir) {
			rc = live__fail(LIVE_ENOMEM, "%s: out of memory", show);
			break;
		}
		for (char *slash = strchr(dir, '/'); slash && !rc; slash = strchr(slash + 1, '/')) {
			*slash = 0;
			named key = {dir, 0};
			const named *hit = bsearch(&key, v, m->n, sizeof(*v), cmp_named);
			if (hit)
				rc = live__fail(
				        LIVE_EPARSE,
				        "%s: entry %zu names the file '%s', entry %zu a file below it ('%s')",
				        show, hit->index + 1, show_name(a, sizeof(a), dir), i + 1,
				        show_name(b, sizeof(b), path));
			*slash = '/';
		}
		free(dir);
	}
	free(v);
	return rc;
}

int tr_manifest_parse(const char *text, size_t len, const char *show, tr_manifest *out)
{
	memset(out, 0, sizeof(*out));
	const unsigned char *u = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		size_t at = i;
		uint32_t cp = next_cp(u, &i);
		if (cp >= 0xdc80 && cp <= 0xdcff)
			return live__fail(LIVE_EPARSE, "%s: byte %zu is not UTF-8", show, at + 1);
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	memcpy(copy, text, len);
	copy[len] = 0;
	size_t n = len;
	int rc = escapes_to_bytes(copy, &n, show);
	cJSON *json = rc ? NULL : cJSON_ParseWithLength(copy, n);
	free(copy);
	if (rc)
		return rc;
	int count = cJSON_IsArray(json) ? cJSON_GetArraySize(json) : -1;
	if (count < 0) {
		cJSON_Delete(json);
		return live__fail(LIVE_EPARSE, "%s: not a JSON list", show);
	}
	if ((rc = json_strict(text, len, show)) != 0) {
		cJSON_Delete(json);
		return rc;
	}
	out->entries = calloc((size_t)count + 1, sizeof(*out->entries));
	if (!out->entries) {
		cJSON_Delete(json);
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	}
	const cJSON *item;
	cJSON_ArrayForEach(item, json)
	{
		const cJSON *h = member(item, "md5");
		const cJSON *p = member(item, "relpath");
		const char *md5 = cJSON_IsString(h) ? h->valuestring : "";
		int hex = strlen(md5) == 32 && strspn(md5, "0123456789abcdef") == 32;
		if (!hex || !cJSON_IsString(p) || !tr_relpath_inside(p->valuestring)) {
			rc = live__fail(LIVE_EPARSE,
			                "%s: entry %zu is not {\"md5\": <32 hex>, \"relpath\": <path inside "
			                "the folder>}",
			                show, out->n + 1);
			break;
		}
		tr_dir_entry *e = &out->entries[out->n];
		if (!(e->relpath = strdup(p->valuestring))) {
			rc = live__fail(LIVE_ENOMEM, "%s: out of memory", show);
			break;
		}
		memcpy(e->md5, md5, 33);
		e->size = -1; /* manifests record no sizes */
		out->n++;
	}
	cJSON_Delete(json);
	if (!rc)
		rc = check_names(out, show);
	if (rc)
		tr_manifest_free(out);
	return rc;
}
