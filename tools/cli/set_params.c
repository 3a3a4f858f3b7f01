/*
 * `live exp run -S [file:]key=value`: edit a params file before the run, as
 * DVC does. The edit is textual and keeps the rest of the file (comments,
 * order) intact: the value's text replaces the old value on the key's line,
 * or a new `key: value` line is added at the end of its mapping. Keys nest
 * with dots. Block-style YAML only; a flow-style mapping is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"
#include "tracker.h"
#include "yaml_tree.h"

typedef struct lines {
	char **v;
	size_t n;
} lines;

static int indent_of(const char *s)
{
	int i = 0;
	while (s[i] == ' ')
		i++;
	return i;
}

static int blank_or_comment(const char *s)
{
	s += indent_of(s);
	return !*s || *s == '#';
}

/* Does line `s` (at `indent`) hold key `k`? Returns the offset after the colon, or -1. */
static int key_at(const char *s, int indent, const char *k, size_t kn)
{
	if (indent_of(s) != indent || strncmp(s + indent, k, kn) || s[indent + kn] != ':')
		return -1;
	char c = s[indent + kn + 1];
	return c == 0 || c == ' ' ? indent + (int)kn + 1 : -1;
}

static int insert_line(lines *L, size_t at, char *text)
{
	char **v = realloc(L->v, (L->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	L->v = v;
	memmove(L->v + at + 1, L->v + at, (L->n - at) * sizeof(*v));
	L->v[at] = text;
	L->n++;
	return 0;
}

static int set_one(lines *L, const char *file, const char *key, const char *value)
{
	size_t lo = 0, hi = L->n;
	int indent = 0;
	const char *k = key;
	for (;;) {
		const char *dot = strchr(k, '.');
		size_t kn = dot ? (size_t)(dot - k) : strlen(k);
		size_t found = hi;
		int after = -1;
		for (size_t i = lo; i < hi && found == hi; i++) {
			if (blank_or_comment(L->v[i]))
				continue;
			if ((after = key_at(L->v[i], indent, k, kn)) >= 0)
				found = i;
		}
		if (found == hi) {
			if (dot)
				return cli_error("%s: cannot set '%s': '%.*s' is not a mapping in the file", file, key,
						 (int)kn, k);
			char *line;
			if (asprintf(&line, "%*s%s: %s", indent, "", k, value) < 0 || insert_line(L, hi, line))
				return cli_error("out of memory");
			return 0;
		}
		/* The key's block: the more indented lines that follow. */
		size_t end = found + 1;
		int child = -1;
		while (end < L->n && (blank_or_comment(L->v[end]) || indent_of(L->v[end]) > indent)) {
			if (child < 0 && !blank_or_comment(L->v[end]))
				child = indent_of(L->v[end]);
			end++;
		}
		while (end > found + 1 && blank_or_comment(L->v[end - 1]))
			end--;
		if (!dot) {
			if (child >= 0)
				return cli_error("%s: cannot set '%s': it holds a mapping or a list", file, key);
			char *line;
			if (asprintf(&line, "%.*s %s", after, L->v[found], value) < 0)
				return cli_error("out of memory");
			free(L->v[found]);
			L->v[found] = line;
			return 0;
		}
		const char *rest = L->v[found] + after;
		while (*rest == ' ')
			rest++;
		if (*rest && *rest != '#')
			return cli_error("%s: cannot set '%s': '%.*s' is not a block mapping", file, key, (int)kn, k);
		lo = found + 1;
		hi = end;
		indent = child >= 0 ? child : indent + 2;
		k = dot + 1;
	}
}

static int edit_file(const char *root, const char *file, char **assign, int n)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", root, file);
	lines L = { NULL, 0 };
	FILE *f = fopen(path, "r");
	if (f) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		while ((len = getline(&line, &cap, f)) >= 0) {
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = 0;
			if (insert_line(&L, L.n, strdup(line)))
				break;
		}
		free(line);
		fclose(f);
	} else if (errno != ENOENT) {
		return cli_error("%s: %s", file, strerror(errno));
	}
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		char *eq = strchr(assign[i], '=');
		const char *colon = strchr(assign[i], ':');
		const char *key = colon && colon < eq ? colon + 1 : assign[i];
		char *k = strndup(key, (size_t)(eq - key));
		rc = k ? set_one(&L, file, k, eq + 1) : cli_error("out of memory");
		free(k);
	}
	live__buf out = { 0 };
	for (size_t i = 0; i < L.n && !rc; i++) {
		if (live__buf_append(&out, L.v[i], strlen(L.v[i])) || live__buf_append(&out, "\n", 1))
			rc = cli_error("out of memory");
	}
	if (!rc) {
		/* The edited text must still parse: check it in a temp file before it replaces the file. */
		char tmp[4300];
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		FILE *t = fopen(tmp, "wb");
		if (!t || (out.len && fwrite(out.data, 1, out.len, t) != out.len) || fclose(t) != 0) {
			rc = cli_error("%s: cannot write %s.tmp: %s", file, file, strerror(errno));
		} else {
			const struct pnode *rootn;
			struct pnode *nodes = NULL;
			if (live__yaml_read(tmp, &rootn, &nodes) != 0)
				rc = cli_error("-S would leave %s malformed (%s); nothing was changed", file, live_errmsg());
			live__yaml_free(nodes);
			if (!rc && rename(tmp, path) != 0)
				rc = cli_error("%s: rename: %s", file, strerror(errno));
		}
		if (rc)
			unlink(tmp);
	}
	live__buf_free(&out);
	for (size_t i = 0; i < L.n; i++)
		free(L.v[i]);
	free(L.v);
	return rc;
}

int set_params(const char *root, char **assign, int n)
{
	for (int i = 0; i < n; i++) {
		char *eq = strchr(assign[i], '=');
		if (!eq || eq == assign[i])
			return cli_error("-S '%.200s': expected [file:]key=value", assign[i]);
		/* One line per value: a newline would write other keys into the file. */
		if (strpbrk(assign[i], "\n\r")) {
			char key[128];
			size_t k = 0;
			for (const char *p = assign[i]; p < eq && k < sizeof(key) - 1; p++)
				key[k++] = (unsigned char)*p < 0x20 ? '?' : *p;
			key[k] = 0;
			return cli_error("-S '%s': a key or value spans lines: not allowed", key);
		}
		char *colon = strchr(assign[i], ':');
		if (colon && colon < eq) {
			char file[512];
			snprintf(file, sizeof(file), "%.*s", (int)(colon - assign[i]), assign[i]);
			if (!tr_path_inside(NULL, file))
				return cli_error("-S '%.200s': the params file '%s' is outside the repository", assign[i],
						 file);
		}
	}
	/* One pass per file, in the order the files first appear. */
	for (int i = 0; i < n; i++) {
		char *eq = strchr(assign[i], '=');
		char *colon = strchr(assign[i], ':');
		char file[512] = "params.yaml";
		if (colon && colon < eq)
			snprintf(file, sizeof(file), "%.*s", (int)(colon - assign[i]), assign[i]);
		int seen = 0;
		for (int j = 0; j < i; j++) {
			char *e2 = strchr(assign[j], '='), *c2 = strchr(assign[j], ':');
			char f2[512] = "params.yaml";
			if (c2 && c2 < e2)
				snprintf(f2, sizeof(f2), "%.*s", (int)(c2 - assign[j]), assign[j]);
			seen |= !strcmp(f2, file);
		}
		if (seen)
			continue;
		char *mine[64];
		int m = 0;
		for (int j = i; j < n && m < 64; j++) {
			char *e2 = strchr(assign[j], '='), *c2 = strchr(assign[j], ':');
			char f2[512] = "params.yaml";
			if (c2 && c2 < e2)
				snprintf(f2, sizeof(f2), "%.*s", (int)(c2 - assign[j]), assign[j]);
			if (!strcmp(f2, file))
				mine[m++] = assign[j];
		}
		if (edit_file(root, file, mine, m))
			return 1;
	}
	return 0;
}
