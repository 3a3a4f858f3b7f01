/*
 * The params values dvc.lock records (tr_params_read): each key's value read
 * from its params file and rendered as the YAML text dvc.lock holds for it.
 *
 * Values are canonicalised as DVC records them: the file is read the way
 * ruamel's safe loader reads it (YAML 1.2 rules: "1.0e-4" is the float
 * 0.0001, "1_000" the int 1000, "0x1F" 31, "True" true, "yes" a string) and
 * the value is written back as ruamel's representer writes that value (floats
 * as Python's repr, ".inf", ".nan"). A full date-time keeps its source text.
 *
 * Aliases are written out in full, as ruamel writes them (DVC's dvc.lock has
 * no anchors), so a value counts every node it stands for. The values taken
 * from one file (a params file, or dvc.lock when it is loaded) may stand for
 * LIVE__YAML_EXPAND_MAX nodes in all (live__yaml_spend, yaml_tree.h); past
 * that the key is refused, as a "billion laughs" value would otherwise run
 * for hours and fill memory.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"
#include "yaml_tree.h"

/* dvc.lock puts params keys at this column: stages > name > params > file > key */
#define PARAMS_KEY_COLUMN 8

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Python's int() of ruamel's int forms, in decimal, at any size. */
static char *int_text(const char *s)
{
	size_t n = strlen(s), nd = 0;
	char *clean = malloc(n + 1), *dec = malloc(2 * n + 3), *out;
	const char *p;
	int neg = 0, base = 10;

	if (!clean || !dec) {
		free(clean);
		free(dec);
		return NULL;
	}
	for (size_t i = 0, k = 0; i <= n; i++)
		if (s[i] != '_')
			clean[k++] = s[i];
	p = clean;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'b' || p[1] == 'x' || p[1] == 'o')) {
		base = p[1] == 'b' ? 2 : p[1] == 'x' ? 16 : 8;
		p += 2;
	}
	/* dec holds the digits least significant first */
	for (; *p; p++) {
		int v = is_digit(*p) ? *p - '0' : (*p | 0x20) - 'a' + 10;
		int carry = v;

		for (size_t k = 0; k < nd; k++) {
			int d = (dec[k] * base) + carry;
			dec[k] = (char)(d % 10);
			carry = d / 10;
		}
		while (carry) {
			dec[nd++] = (char)(carry % 10);
			carry /= 10;
		}
	}
	while (nd > 0 && dec[nd - 1] == 0)
		nd--;
	out = malloc(nd + 3);
	if (out) {
		size_t k = 0;

		if (neg && nd)
			out[k++] = '-';
		if (!nd)
			out[k++] = '0';
		while (nd)
			out[k++] = (char)('0' + dec[--nd]);
		out[k] = '\0';
	}
	free(clean);
	free(dec);
	return out;
}

static char *float_text(const char *s)
{
	size_t n = strlen(s);
	char *clean = malloc(n + 1), num[LIVE__NUM_MAX];
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	double d;

	if (!clean || !c) {
		free(clean);
		if (c)
			freelocale(c);
		return NULL;
	}
	for (size_t i = 0, k = 0; i <= n; i++)
		if (s[i] != '_')
			clean[k++] = s[i];
	if (strstr(clean, "nan") || strstr(clean, "NaN") || strstr(clean, "NAN")) {
		d = NAN;
	} else if (strchr(clean, 'i') || strchr(clean, 'I')) {
		d = clean[0] == '-' ? -INFINITY : INFINITY;
	} else {
		locale_t old = uselocale(c);
		d = strtod(clean, NULL);
		uselocale(old);
	}
	freelocale(c);
	free(clean);
	if (isnan(d))
		return strdup(".nan");
	if (isinf(d))
		return strdup(d < 0 ? "-.inf" : ".inf");
	live__fmt_double(num, d);
	return strdup(num);
}

/*
 * Write a node of a params file as DVC records it (see the top of the file).
 * Callers bound n->expanded first: this visits every node it stands for.
 */
static void put_value(tr_yaml *y, const struct pnode *n)
{
	enum tr_yaml_tag tag;

	if (y->rc)
		return;
	if (n->kind == PK_MAP || n->kind == PK_SEQ) {
		if (n->kind == PK_MAP)
			tr_yaml_map(y);
		else
			tr_yaml_seq(y);
		for (size_t k = 0; k < n->n; k++) {
			if (n->items[k].key)
				put_value(y, n->items[k].key);
			put_value(y, n->items[k].value);
		}
		tr_yaml_end(y);
		return;
	}
	if (n->kind == PK_NULL) {
		tr_yaml_null(y);
		return;
	}
	if (n->style != YAML_PLAIN_SCALAR_STYLE) {
		tr_yaml_str(y, n->text);
		return;
	}
	tag = tr_yaml_resolve(n->text, n->len);
	switch (tag) {
	case TR_YAML_BOOL: tr_yaml_raw(y, (n->text[0] | 0x20) == 't' ? "true" : "false"); return;
	case TR_YAML_INT:
	case TR_YAML_FLOAT: {
		char *t = tag == TR_YAML_INT ? int_text(n->text) : float_text(n->text);
		if (!t) {
			y->rc = LIVE_ENOMEM;
			return;
		}
		tr_yaml_raw(y, t);
		free(t);
		return;
	}
	case TR_YAML_TIMESTAMP: tr_yaml_raw(y, n->text); return;
	default: tr_yaml_str(y, n->text); return;
	}
}

/*
 * The text of `value` as it follows "key:" in dvc.lock, where params keys
 * stand at column 8: one leading space less, and every later line indented
 * relative to the key's column. The caller has charged the value to its tree.
 */
static int value_text(const char *key, const struct pnode *value, char **out)
{
	live__buf b = {0};
	tr_yaml y;
	size_t split, k = 0;
	int rc;
	char *s;

	tr_yaml_begin(&y, &b);
	tr_yaml_map_at(&y, PARAMS_KEY_COLUMN);
	tr_yaml_str(&y, key);
	split = b.len;
	put_value(&y, value);
	tr_yaml_end(&y);
	rc = tr_yaml_finish(&y);
	if (rc) {
		live__buf_free(&b);
		return rc;
	}
	s = malloc(b.len - split + 1);
	if (!s) {
		live__buf_free(&b);
		return LIVE_ENOMEM;
	}
	for (size_t i = split + (b.data[split] == ' '); i < b.len - 1; i++) {
		s[k++] = b.data[i];
		if (b.data[i] == '\n')
			i += PARAMS_KEY_COLUMN; /* every line below the key starts there */
	}
	s[k] = '\0';
	live__buf_free(&b);
	*out = s;
	return 0;
}

int tr_params_value_text(const char *key, const struct pnode *value, char **out)
{
	if (live__yaml_spend(value))
		return LIVE_EINVALID; /* aliases: see the top of the file */
	return value_text(key, value, out);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Messages from the reader name the file as given, not the path below the root. */
static int rename_in_message(int rc, const char *path, const char *file)
{
	const char *msg = live_errmsg();
	size_t n = strlen(path);
	char *copy;

	if (strncmp(msg, path, n) || path == file)
		return rc;
	copy = strdup(msg + n);
	if (!copy)
		return rc;
	live__fail(rc, "%s%s", file, copy);
	free(copy);
	return rc;
}

/* A value past what is left of the file's budget (the top of the file). */
static int too_big(const char *file, const char *key, const struct pnode *v)
{
	char shown[LIVE__EXCERPT_MAX + 4];
	const char *why = v->aliased ? " (YAML aliases)" : "";

	live__yaml_excerpt(shown, sizeof(shown), key, strlen(key));
	if (v->expanded > LIVE__YAML_EXPAND_MAX)
		return live__fail(LIVE_EINVALID, "%s: key '%s' expands to more than %d values%s: refusing",
		                  file, shown, LIVE__YAML_EXPAND_MAX, why);
	return live__fail(LIVE_EINVALID,
	                  "%s: key '%s' and the keys before it expand to more than %d values%s: refusing",
	                  file, shown, LIVE__YAML_EXPAND_MAX, why);
}

int tr_params_read(const char *root, const char *file, const char *const *keys, size_t nkeys,
                   tr_lock_params *out)
{
	const struct pnode *tree;
	struct pnode *nodes = NULL;
	const char **sorted = NULL;
	char *path = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (root && *root) {
		size_t n = strlen(root) + strlen(file) + 2;
		if (!(path = malloc(n)))
			return live__fail(LIVE_ENOMEM, "%s: out of memory", file);
		snprintf(path, n, "%s/%s", root, file);
	}
	rc = live__yaml_read(path ? path : file, &tree, &nodes);
	if (rc) {
		rc = rename_in_message(rc, path ? path : file, file);
		free(path);
		return rc;
	}
	free(path);
	sorted = malloc((nkeys ? nkeys : 1) * sizeof(*sorted));
	out->file = strdup(file);
	out->values = calloc(nkeys ? nkeys : 1, sizeof(*out->values));
	if (!sorted || !out->file || !out->values) {
		rc = live__fail(LIVE_ENOMEM, "%s: out of memory", file);
		goto done;
	}
	memcpy(sorted, keys, nkeys * sizeof(*sorted));
	qsort(sorted, nkeys, sizeof(*sorted), str_cmp);
	for (size_t k = 0; k < nkeys; k++) {
		const struct pnode *v;
		tr_param_value *pv;

		if (k > 0 && !strcmp(sorted[k], sorted[k - 1]))
			continue;
		v = live__yaml_find(tree, sorted[k]);
		if (!v) {
			rc = live__fail(LIVE_ENOTFOUND, "%s: key '%s' not found", file, sorted[k]);
			goto done;
		}
		if (live__yaml_spend(v)) {
			rc = too_big(file, sorted[k], v);
			goto done;
		}
		pv = &out->values[out->n];
		if (!(pv->key = strdup(sorted[k]))) {
			rc = live__fail(LIVE_ENOMEM, "%s: out of memory", file);
			goto done;
		}
		out->n++;
		rc = value_text(sorted[k], v, &pv->yaml);
		if (rc) {
			rc = live__fail(rc, "%s: key '%s': %s", file, sorted[k],
			                rc == LIVE_ENOMEM ? "out of memory" : "not valid UTF-8");
			goto done;
		}
	}
done:
	free(sorted);
	live__yaml_free(nodes);
	if (rc)
		tr_lock_params_clear(out);
	return rc;
}
