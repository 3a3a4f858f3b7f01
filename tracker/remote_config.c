/*
 * The DVC remotes of .dvc/config and .dvc/config.local (tracker.h, "cache
 * remotes"): reading them, and `live remote add`.
 *
 * The files are the INI dialect DVC writes through configobj: "[core]",
 * "['remote \"name\"']" (or unquoted "[remote \"name\"]"), "key = value"
 * with an optional quoted value and '#' comments. Reading is strict where a
 * mistake would change which folder is used (a line that is neither a
 * section nor "key = value") and ignores the sections and keys live has no
 * use for. Writing edits the lines it must, keeps every other byte of the
 * file, and replaces it through a temp file + rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracker.h"

/* ---- the INI dialect ---------------------------------------------------------- */

typedef struct ini_entry {
	char kind;       /* 's' a section header, 'k' a key = value line */
	char *name;      /* section name or key, unquoted */
	char *value;     /* 'k': the value, unquoted */
	size_t line;     /* 1-based */
	size_t off, end; /* the line's bytes, newline included */
	size_t section;  /* 'k': index of its section header, or (size_t)-1 above the first */
} ini_entry;

typedef struct ini {
	ini_entry *v;
	size_t n, cap;
} ini;

static void ini_free(ini *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* s[0..n) without surrounding blanks, and without one pair of matching quotes. */
static char *unquoted(const char *s, size_t n)
{
	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0])
		s++, n -= 2;
	return strndup(s, n);
}

static int ini_bad(const char *show, size_t line, const char *what)
{
	return live__fail(LIVE_EPARSE, "%s:%zu: %s", show, line, what);
}

/* Nothing but blanks and a comment left. */
static int only_comment(const char *p, const char *end)
{
	while (p < end && is_space(*p))
		p++;
	return p == end || *p == '#';
}

/* configobj's value: a quoted string (then a comment at most), or the text up to a '#'. */
static int ini_value(const char *show, size_t line, const char *p, const char *end, char **out)
{
	while (p < end && is_space(*p))
		p++;
	if (p < end && (*p == '"' || *p == '\'')) {
		if (end - p >= 3 && p[1] == p[0] && p[2] == p[0])
			return ini_bad(show, line, "multi-line (triple-quoted) values are not supported");
		const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));
		if (!close)
			return ini_bad(show, line, "the quoted value has no closing quote");
		if (!only_comment(close + 1, end))
			return ini_bad(show, line, "text after the quoted value");
		*out = strndup(p + 1, (size_t)(close - p - 1));
	} else {
		const char *hash = memchr(p, '#', (size_t)(end - p));
		*out = unquoted(p, (size_t)((hash ? hash : end) - p));
	}
	return *out ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
}

static int ini_parse(const char *show, const char *text, size_t len, ini *out)
{
	memset(out, 0, sizeof(*out));
	size_t section = (size_t)-1, line = 0;
	int rc = 0;
	for (size_t off = 0; off < len && !rc;) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) + 1 : len;
		const char *e = text + (nl ? end - 1 : end);
		line++;
		const char *p = s;
		while (p < e && is_space(*p))
			p++;
		if (p == e || *p == '#') {
			off = end;
			continue;
		}
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			ini_entry *v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				rc = live__fail(LIVE_ENOMEM, "out of memory");
				break;
			}
			out->v = v;
			out->cap = cap;
		}
		ini_entry *en = &out->v[out->n];
		memset(en, 0, sizeof(*en));
		en->line = line;
		en->off = off;
		en->end = end;
		if (*p == '[') {
			const char *close = e;
			while (close > p && *close != ']')
				close--;
			if (p + 1 < e && p[1] == '[')
				rc = ini_bad(show, line, "nested sections ([[...]]) are not supported");
			else if (close == p)
				rc = ini_bad(show, line, "the section name has no closing ']'");
			else if (!only_comment(close + 1, e))
				rc = ini_bad(show, line, "text after the section name");
			else if (!(en->name = unquoted(p + 1, (size_t)(close - p - 1))))
				rc = live__fail(LIVE_ENOMEM, "out of memory");
			en->kind = 's';
			section = out->n;
		} else {
			const char *eq = memchr(p, '=', (size_t)(e - p));
			if (!eq || eq == p)
				rc = ini_bad(show, line, "expected 'key = value' or a '[section]'");
			else if (!(en->name = unquoted(p, (size_t)(eq - p))))
				rc = live__fail(LIVE_ENOMEM, "out of memory");
			else
				rc = ini_value(show, line, eq + 1, e, &en->value);
			en->kind = 'k';
			en->section = section;
		}
		out->n++;
		off = end;
	}
	if (rc)
		ini_free(out);
	return rc;
}

/* The remote a section header names ("remote \"x\"", blanks between): its name, else NULL. */
static const char *remote_section(const char *section, size_t *len)
{
	if (strncmp(section, "remote", 6) || !is_space(section[6]))
		return NULL;
	const char *q = section + 6;
	while (is_space(*q))
		q++;
	size_t n = strlen(q);
	if (n < 2 || q[0] != '"' || q[n - 1] != '"')
		return NULL;
	*len = n - 2;
	return q + 1;
}

/* Index of the section header `name` (a remote's name when `remote`), or (size_t)-1. */
static size_t ini_find_section(const ini *f, const char *name, int remote)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].kind != 's')
			continue;
		size_t len;
		const char *r = remote ? remote_section(f->v[i].name, &len) : NULL;
		if (remote ? (r && len == strlen(name) && !strncmp(r, name, len)) : !strcmp(f->v[i].name, name))
			return i;
	}
	return (size_t)-1;
}

static size_t ini_find_key(const ini *f, size_t section, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == 'k' && f->v[i].section == section && !strcmp(f->v[i].name, key))
			return i;
	return (size_t)-1;
}

/* ---- paths -------------------------------------------------------------------------- */

int tr_url_has_scheme(const char *s)
{
	const char *p = strstr(s, "://");
	if (!p || p == s)
		return 0;
	for (const char *c = s; c < p; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '+' || *c == '-' || *c == '.'))
			return 0;
	return 1;
}

void tr_url_shown(const char *url, char *out, size_t size)
{
	const char *auth = tr_url_has_scheme(url) ? strstr(url, "://") + 3 : NULL;
	const char *at = auth ? strpbrk(auth, "@/") : NULL;
	const char *colon = at && *at == '@' ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon) {
		snprintf(out, size, "%s", url);
		return;
	}
	snprintf(out, size, "%.*s:***%s", (int)(colon - url), url, at);
}

/* "/a/b/../c/./d" -> "/a/c/d": `abs` must start with '/'; the result is malloc'd. */
static char *normalize(const char *abs)
{
	size_t n = strlen(abs);
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	size_t o = 0;
	for (const char *p = abs; *p;) {
		while (*p == '/')
			p++;
		size_t k = strcspn(p, "/");
		if (k == 0)
			break;
		if (k == 1 && p[0] == '.') {
			/* nothing */
		} else if (k == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, k);
			o += k;
		}
		p += k;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return out;
}

static char *join_normalized(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *t = malloc(n);
	if (!t)
		return NULL;
	snprintf(t, n, "%s/%s", a, b);
	char *r = normalize(t);
	free(t);
	return r;
}

/* `path` relative to the folder `base` (both normalized absolute paths), as os.path.relpath. */
static char *relative_to(const char *path, const char *base)
{
	/* The longest common run of whole components. */
	size_t common = 0;
	for (size_t i = 1;; i++) {
		int pe = path[i] == 0 || path[i] == '/', be = base[i] == 0 || base[i] == '/';
		if (pe && be && !strncmp(path, base, i))
			common = i;
		if (!path[i] || !base[i] || path[i] != base[i])
			break;
	}
	if (!strcmp(base, "/") || !strcmp(path, "/"))
		common = 0;
	size_t ups = 0;
	for (const char *p = base + common; *p; p++)
		ups += *p == '/';
	const char *rest = path + common;
	while (*rest == '/')
		rest++;
	size_t n = ups * 3 + strlen(rest) + 2;
	char *out = malloc(n);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < ups; i++)
		o += (size_t)snprintf(out + o, n - o, "%s", i + 1 < ups || *rest ? "../" : "..");
	snprintf(out + o, n - o, "%s", *rest || ups ? rest : ".");
	return out;
}

/* The local folder a url names, from the folder of the config file; NULL (no error) if none. */
static int url_path(const char *confdir, const char *url, char **out)
{
	*out = NULL;
	const char *p = url;
	if (!strncmp(url, "file://", 7)) {
		p = url + 7;
		if (*p != '/')
			return 0; /* file://host/...: not a local folder */
	} else if (tr_url_has_scheme(url) || !*url) {
		return 0;
	}
	*out = *p == '/' ? normalize(p) : join_normalized(confdir, p);
	return *out ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
}

/* ---- reading the config ---------------------------------------------------------- */

static int read_small(const char *path, live__buf *b, int *exists)
{
	*exists = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? 0 : live__fail_errno(live__errno_code(errno), errno, "%s", path);
	*exists = 1;
	char chunk[8192];
	size_t got;
	int rc = 0;
	while (!rc && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = live__buf_append(b, chunk, got);
	if (!rc && ferror(f))
		rc = live__fail_errno(LIVE_EIO, errno, "%s: read", path);
	fclose(f);
	return rc;
}

static int load_file(const char *root, const char *rel, ini *f)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	live__buf b = {0};
	int exists;
	int rc = read_small(path, &b, &exists);
	memset(f, 0, sizeof(*f));
	if (!rc && exists)
		rc = ini_parse(rel, b.data ? b.data : "", b.len, f);
	live__buf_free(&b);
	return rc;
}

static int add_remote(tr_remote_config *c, const char *name, size_t len, const char *url, int local,
                      const char *confdir)
{
	tr_remote *r = NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->v[i].name) == len && !strncmp(c->v[i].name, name, len))
			r = &c->v[i];
	if (!r) {
		tr_remote *v = realloc(c->v, (c->n + 1) * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		c->v = v;
		r = &c->v[c->n++];
		memset(r, 0, sizeof(*r));
		if (!(r->name = strndup(name, len)))
			return live__fail(LIVE_ENOMEM, "out of memory");
	}
	if (!url)
		return 0; /* a section without url (yet): the other file may give it */
	free(r->url);
	free(r->path);
	r->path = NULL;
	r->local = local;
	if (!(r->url = strdup(url)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	return url_path(confdir, url, &r->path);
}

int tr_remote_config_load(const char *root, tr_remote_config *out)
{
	memset(out, 0, sizeof(*out));
	static const char *const files[] = {".dvc/config", ".dvc/config.local"};
	char confdir[PATH_MAX];
	snprintf(confdir, sizeof(confdir), "%s/.dvc", root);
	int rc = 0;
	for (int k = 0; k < 2 && !rc; k++) {
		ini f;
		if ((rc = load_file(root, files[k], &f)) != 0)
			break;
		for (size_t i = 0; !rc && i < f.n; i++) {
			const ini_entry *e = &f.v[i];
			size_t len;
			const char *name = e->kind == 's' ? remote_section(e->name, &len) : NULL;
			if (name) {
				size_t u = ini_find_key(&f, i, "url");
				rc = add_remote(out, name, len, u == (size_t)-1 ? NULL : f.v[u].value, k, confdir);
			} else if (e->kind == 'k' && e->section != (size_t)-1 &&
			           !strcmp(f.v[e->section].name, "core") && !strcmp(e->name, "remote")) {
				free(out->default_name);
				if (!(out->default_name = strdup(e->value)))
					rc = live__fail(LIVE_ENOMEM, "out of memory");
			}
		}
		ini_free(&f);
	}
	if (rc)
		tr_remote_config_free(out);
	return rc;
}

void tr_remote_config_free(tr_remote_config *c)
{
	for (size_t i = 0; c->v && i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].url);
		free(c->v[i].path);
	}
	free(c->v);
	free(c->default_name);
	memset(c, 0, sizeof(*c));
}

int tr_remote_config_find(const tr_remote_config *c, const char *name, const tr_remote **out)
{
	*out = NULL;
	if (!name && !(name = c->default_name))
		return live__fail(LIVE_ENOTFOUND, "no default remote in .dvc/config (core.remote)");
	for (size_t i = 0; i < c->n; i++) {
		const tr_remote *r = &c->v[i];
		if (strcmp(r->name, name))
			continue;
		if (!r->url)
			return live__fail(LIVE_EPARSE, "remote '%s' in .dvc/config has no url", name);
		if (!r->path)
			return live__fail(LIVE_EINVALID,
			                  "remote '%s': url '%s' is not a local folder (live can use local "
			                  "folders only: a path, or file:///path)",
			                  name, r->url);
		*out = r;
		return 0;
	}
	return live__fail(LIVE_ENOTFOUND, "remote '%s' is not in .dvc/config or .dvc/config.local", name);
}

/* ---- live remote add ----------------------------------------------------------- */

static int valid_name(const char *s)
{
	if (!*s || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* The url as DVC stores it: a relative path from `cwd` becomes relative to .dvc/. */
static int stored_url(const char *root, const char *cwd, const char *url, char **out)
{
	*out = NULL;
	if (tr_url_has_scheme(url) || url[0] == '/') {
		*out = strdup(url);
	} else {
		char dvcdir[PATH_MAX];
		snprintf(dvcdir, sizeof(dvcdir), "%s/.dvc", root);
		char *abs = join_normalized(cwd, url), *base = normalize(dvcdir);
		if (abs && base)
			*out = relative_to(abs, base);
		free(abs);
		free(base);
	}
	return *out ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
}

/* A value as configobj would write it: bare, or quoted when it would not read back bare. */
static int quoted_value(const char *v, live__buf *out)
{
	size_t n = strlen(v);
	int bare = n && !is_space(v[0]) && !is_space(v[n - 1]) && !strpbrk(v, "#,\"'");
	if (bare)
		return live__buf_append(out, v, n);
	char q = !strchr(v, '"') ? '"' : !strchr(v, '\'') ? '\'' : 0;
	if (!q)
		return live__fail(LIVE_EINVALID, "url '%s': holds both kinds of quotes; not supported", v);
	int rc = live__buf_append(out, &q, 1);
	if (!rc)
		rc = live__buf_append(out, v, n);
	if (!rc)
		rc = live__buf_append(out, &q, 1);
	return rc;
}

/* One edit of the file's bytes: replace [off, off + len) by text. */
typedef struct edit {
	size_t off, len;
	live__buf text;
} edit;

static int line_text(live__buf *b, const char *prefix, const char *key, const char *value)
{
	int rc = live__buf_append(b, prefix, strlen(prefix));
	if (!rc && key) {
		rc = live__buf_append(b, "    ", 4);
		if (!rc)
			rc = live__buf_append(b, key, strlen(key));
		if (!rc)
			rc = live__buf_append(b, " = ", 3);
		if (!rc)
			rc = quoted_value(value, b);
		if (!rc)
			rc = live__buf_append(b, "\n", 1);
	}
	return rc;
}

/* Set `key` in the section at index `sec` (a replaced line, or one after the header). */
static int set_key(const ini *f, size_t sec, const char *key, const char *value, edit *e)
{
	size_t k = ini_find_key(f, sec, key);
	if (k != (size_t)-1) {
		e->off = f->v[k].off;
		e->len = f->v[k].end - f->v[k].off;
	} else {
		e->off = f->v[sec].end;
		e->len = 0;
	}
	return line_text(&e->text, "", key, value);
}

int tr_remote_config_add(const char *root, const char *cwd, int local, const char *name, const char *url,
			 int make_default, int force)
{
	const char *rel = local ? ".dvc/config.local" : ".dvc/config";
	if (!valid_name(name))
		return live__fail(LIVE_EINVALID,
		                  "remote name '%.100s': use letters, digits, '.', '_' and '-' (at most 100)",
		                  name);
	if (!*url)
		return live__fail(LIVE_EINVALID, "remote '%s': empty url", name);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return live__fail(LIVE_EINVALID, "remote '%s': the url holds a control character", name);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	live__buf text = {0};
	int exists;
	ini f = {0};
	char *stored = NULL;
	edit edits[3];
	size_t nedits = 0;
	memset(edits, 0, sizeof(edits));
	int rc = read_small(path, &text, &exists);
	/* The text ends with a newline before it is parsed: every line has one to insert after. */
	if (!rc && text.len && text.data[text.len - 1] != '\n')
		rc = live__buf_append(&text, "\n", 1);
	if (!rc && exists && (rc = ini_parse(rel, text.data ? text.data : "", text.len, &f)) != 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", live_errmsg());
		rc = live__fail(rc, "cannot edit %s: %s", rel, why);
	}
	if (!rc)
		rc = stored_url(root, cwd, url, &stored);
	size_t sec = rc ? (size_t)-1 : ini_find_section(&f, name, 1);
	if (!rc && sec != (size_t)-1 && !force)
		rc = live__fail(LIVE_EINVALID, "remote '%s' already exists. Use `-f|--force` to overwrite it.",
		                name);
	if (!rc && make_default) {
		size_t core = ini_find_section(&f, "core", 0);
		if (core != (size_t)-1)
			rc = set_key(&f, core, "remote", name, &edits[nedits++]);
		else
			rc = line_text(&edits[nedits++].text, "[core]\n", "remote", name); /* at offset 0 */
	}
	if (!rc && sec != (size_t)-1) {
		rc = set_key(&f, sec, "url", stored, &edits[nedits++]);
	} else if (!rc) {
		edit *e = &edits[nedits++];
		e->off = text.len;
		char header[160];
		snprintf(header, sizeof(header), "['remote \"%s\"']\n", name);
		rc = line_text(&e->text, header, "url", stored);
	}
	/* The edits in offset order (at one offset, in the order made: [core] first). */
	live__buf out = {0};
	const char *t = text.data ? text.data : "";
	for (size_t pos = 0; !rc && pos <= text.len;) {
		size_t next = text.len + 1, pick = nedits;
		for (size_t i = 0; i < nedits; i++)
			if (edits[i].off >= pos && edits[i].off < next)
				next = edits[i].off, pick = i;
		if (pick == nedits) {
			rc = live__buf_append(&out, t + pos, text.len - pos);
			break;
		}
		rc = live__buf_append(&out, t + pos, next - pos);
		if (!rc)
			rc = live__buf_append(&out, edits[pick].text.data, edits[pick].text.len);
		pos = next + edits[pick].len;
		edits[pick].off = (size_t)-1; /* done */
	}
	if (!rc) {
		char dir[PATH_MAX], tmp[64];
		snprintf(dir, sizeof(dir), "%s/.dvc", root);
		snprintf(tmp, sizeof(tmp), ".%s.tmp-%ld", local ? "config.local" : "config", (long)getpid());
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			rc = live__fail_errno(live__errno_code(errno), errno, "%s", dir);
		else {
			rc = live__write_atomic(dfd, local ? "config.local" : "config", tmp, rel, out.data ? out.data : "",
			                        out.len);
			close(dfd);
		}
	}
	live__buf_free(&out);
	for (size_t i = 0; i < 3; i++)
		live__buf_free(&edits[i].text);
	free(stored);
	ini_free(&f);
	live__buf_free(&text);
	return rc;
}

