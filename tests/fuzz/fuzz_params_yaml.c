/*
 * params.yaml: liblive's YAML reader (live/yaml_tree.c) and the lookups on
 * top of it, as a trainer (live_param_get_*) and the tracker (dvc.lock's
 * params values, tr_params_read) use them.
 *
 * The input is written to a file, since the reader takes a path. Every key
 * that the tree holds (dotted, as the lookups spell it; a bounded walk, since
 * aliases share nodes) must be found, and the three getters must agree with
 * the node found: its kind, its number, its text.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "live.h"
#include "tracker.h"
#include "yaml_tree.h"

#define MAX_KEYS 64
#define MAX_VISITS 512
#define KEY_MAX 512

static char path[4096];

struct walk {
	char *keys[MAX_KEYS];
	size_t nkeys;
	size_t visits;
};

static void add_key(struct walk *w, const char *key)
{
	if (w->nkeys < MAX_KEYS && (w->keys[w->nkeys] = strdup(key)))
		w->nkeys++;
}

/*
 * Collect the dotted keys below `n`; `prefix` is the key of n itself, NULL
 * for the root (a key may be empty: "" then "0" below it is ".0").
 */
static void walk(struct walk *w, const struct pnode *n, const char *prefix)
{
	char key[KEY_MAX];

	if (w->visits++ >= MAX_VISITS || (n->kind != PK_MAP && n->kind != PK_SEQ))
		return;
	for (size_t k = 0; k < n->n && w->nkeys < MAX_KEYS; k++) {
		const struct pnode *name = n->items[k].key;
		const char *p = prefix ? prefix : "", *dot = prefix ? "." : "";
		int len;

		if (name) {
			if (strlen(name->text) != name->len)
				continue; /* a "\0" in a key: no C string names it */
			len = snprintf(key, sizeof(key), "%s%s%s", p, dot, name->text);
		} else {
			len = snprintf(key, sizeof(key), "%s%s%zu", p, dot, k);
		}
		if (len < 0 || (size_t)len >= sizeof(key))
			continue;
		add_key(w, key);
		walk(w, n->items[k].value, key);
	}
}

static int same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof(a));
}

/* The getters must say what the node found by live__yaml_find is. */
static void check_getters(const char *key, const struct pnode *n)
{
	const char *s = NULL;
	double d = 0;
	long long i = 0;
	int rs = live_param_get_string(key, &s);
	int rd = live_param_get_double(key, &d);
	int ri = live_param_get_int(key, &i);

	if (!n || n->kind == PK_NULL) {
		FZ_CHECK(rs == LIVE_ENOTFOUND && rd == LIVE_ENOTFOUND && ri == LIVE_ENOTFOUND,
		         "key '%s': %s, yet the getters say %d %d %d", key, n ? "null" : "absent", rs, rd,
		         ri);
		return;
	}
	if (n->kind != PK_SCALAR) {
		FZ_CHECK(rs == LIVE_ETYPE && rd == LIVE_ETYPE && ri == LIVE_ETYPE,
		         "key '%s': a collection, yet the getters say %d %d %d", key, rs, rd, ri);
		return;
	}
	FZ_CHECK(rs == 0 && s && !strcmp(s, n->text), "key '%s': string rc %d", key, rs);
	if (n->num == PN_NONE)
		FZ_CHECK(rd == LIVE_ETYPE, "key '%s': not a number, yet get_double says %d", key, rd);
	else
		FZ_CHECK(rd == 0 && same_double(d, n->d), "key '%s': get_double rc %d, %g vs %g", key, rd, d,
		         n->d);
	if (n->num == PN_INT)
		FZ_CHECK(ri == 0 && i == n->i, "key '%s': get_int rc %d, %lld vs %lld", key, ri, i, n->i);
	else
		FZ_CHECK(ri == LIVE_ETYPE, "key '%s': not an int, yet get_int says %d", key, ri);
}

static int count_read(void *ctx, const char *key, const char *value)
{
	FZ_CHECK(key && value, "live__params_each gave a NULL key or value");
	++*(size_t *)ctx;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_clean_env();
	fz_path(path, sizeof(path), "params.yaml");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const odd_keys[] = {
	        "",   ".",        "..",       "a..b",        "0",
	        "lr", "train.lr", "layers.0", "a.b.c.d.e.f", "18446744073709551616",
	        "-1"};
	const struct pnode *root = NULL;
	struct pnode *nodes = NULL;
	struct walk w = {0};

	fz_write(path, data, size);
	int rc = live__yaml_read(path, &root, &nodes);
	int rc2 = live_params_load(path);
	FZ_CHECK(rc == rc2, "live__yaml_read says %d, live_params_load %d", rc, rc2);
	if (rc) {
		FZ_CHECK(rc == LIVE_EPARSE || rc == LIVE_ENOMEM, "read: unexpected %d: %s", rc,
		         live_errmsg());
		FZ_CHECK(live_errmsg()[0], "read failed with no message");
		double d;
		/* a failed read is kept: every lookup replays it */
		FZ_CHECK(live_param_get_double("lr", &d) == rc, "a lookup forgot the failed read");
		live_params_free();
		return 0;
	}
	FZ_CHECK(!root || root->kind == PK_MAP, "the top level is not a mapping");

	if (root)
		walk(&w, root, NULL);
	for (size_t k = 0; k < w.nkeys; k++) {
		const struct pnode *n = live__yaml_find(root, w.keys[k]);
		char *text = NULL;

		FZ_CHECK(n, "key '%s' is in the tree but not found", w.keys[k]);
		check_getters(w.keys[k], n);
		int rt = tr_params_value_text(w.keys[k], n, &text);
		FZ_CHECK(rt == 0 || rt == LIVE_EINVALID || rt == LIVE_ENOMEM, "value text: %d", rt);
		FZ_CHECK(rt || text, "value text: 0 and no text");
		free(text);
	}
	for (size_t k = 0; k < sizeof(odd_keys) / sizeof(*odd_keys); k++)
		check_getters(odd_keys[k], live__yaml_find(root, odd_keys[k]));

	size_t nread = 0;
	live__params_each(count_read, &nread);
	FZ_CHECK(nread <= w.nkeys + sizeof(odd_keys) / sizeof(*odd_keys), "more keys read than asked");

	/* dvc.lock's view of the same keys (the first few: it renders each value) */
	tr_lock_params lp;
	size_t nk = w.nkeys < 8 ? w.nkeys : 8;
	rc = tr_params_read(fz_dir(), "params.yaml", (const char *const *)w.keys, nk, &lp);
	FZ_CHECK(rc == 0 || rc == LIVE_EINVALID || rc == LIVE_ENOMEM, "tr_params_read: %d: %s", rc,
	         live_errmsg());
	if (!rc) {
		FZ_CHECK(lp.n <= nk, "tr_params_read: %zu values for %zu keys", lp.n, nk);
		for (size_t k = 1; k < lp.n; k++)
			FZ_CHECK(strcmp(lp.values[k - 1].key, lp.values[k].key) < 0,
			         "values not sorted by key");
		tr_lock_params_clear(&lp);
	}

	for (size_t k = 0; k < w.nkeys; k++)
		free(w.keys[k]);
	live_params_free();
	live__yaml_free(nodes);
	return 0;
}
