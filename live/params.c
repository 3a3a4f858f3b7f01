/*
 * params.yaml: the trainer's hyperparameters, looked up by dotted key in the
 * tree that yaml_tree.c reads, which the process keeps.
 *
 * The file is read once, on first lookup or by live_params_load(), and the
 * outcome is kept even when the read failed, so that a trainer asking for
 * twenty keys neither re-reads the file twenty times nor sees it change halfway
 * through. One mutex guards the cache; live_params_free() drops it.
 *
 * Where DVC leaves room, this file decides:
 *  - A null value ("~", "null", or nothing after the colon) counts as a
 *    missing key: what a trainer writing `lr:` means is "use my default".
 *
 * Every key read successfully is remembered, with its node, in first-read
 * order, so that the report can show the params the program actually used
 * (not every key of a params.yaml shared by several stages).
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "yaml_tree.h"

/* Keys remembered for the report; a program reading more has its first ones shown. */
#define READS_MAX 1000

struct read {
	char *key;
	const struct pnode *node;
};

static struct {
	int loaded; /* 0 until a read was tried */
	int rc;     /* the outcome of that read */
	char *path;
	char *errmsg; /* the message of a failed read, replayed on every lookup */
	const struct pnode *root;
	struct pnode *nodes;
	struct read *reads; /* keys read successfully, first-read order */
	size_t nreads, capreads;
} cache;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- messages ------------------------------------------------------------ */

static int type_error(const char *key, const char *expected, const struct pnode *n)
{
	char got[LIVE__EXCERPT_MAX + 32];

	live__yaml_describe(got, sizeof(got), n);
	return live__fail(LIVE_ETYPE, "%s: key '%s': expected %s, got %s", cache.path, key,
			  expected, got);
}

/* ---- the cache ----------------------------------------------------------- */

static void drop_locked(void)
{
	for (size_t i = 0; i < cache.nreads; i++)
		free(cache.reads[i].key);
	free(cache.reads);
	live__yaml_free(cache.nodes);
	free(cache.path);
	free(cache.errmsg);
	memset(&cache, 0, sizeof(cache));
}

static int load_locked(const char *path)
{
	drop_locked();
	cache.path = strdup(path);
	if (!cache.path)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", path);
	cache.rc = live__yaml_read(path, &cache.root, &cache.nodes);
	if (cache.rc)
		cache.errmsg = strdup(live_errmsg()); /* NULL falls back to live_strerror() */
	cache.loaded = 1;
	return cache.rc;
}

static const char *default_path(void)
{
	const char *env = getenv("LIVE_PARAMS_FILE");

	return env && *env ? env : "params.yaml";
}

static int ensure_loaded_locked(void)
{
	if (!cache.loaded)
		return load_locked(default_path());
	if (cache.rc)
		return live__fail(cache.rc, "%s",
				  cache.errmsg ? cache.errmsg : live_strerror(cache.rc));
	return 0;
}

/* Remember a key read for the report; a failure to remember is not the reader's error. */
static void remember_locked(const char *key, const struct pnode *n)
{
	for (size_t i = 0; i < cache.nreads; i++)
		if (!strcmp(cache.reads[i].key, key))
			return;
	if (cache.nreads == READS_MAX)
		return;
	if (cache.nreads == cache.capreads) {
		size_t cap = cache.capreads ? cache.capreads * 2 : 16;
		struct read *r = realloc(cache.reads, cap * sizeof(*r));
		if (!r)
			return;
		cache.reads = r;
		cache.capreads = cap;
	}
	char *copy = strdup(key);
	if (!copy)
		return;
	cache.reads[cache.nreads].key = copy;
	cache.reads[cache.nreads++].node = n;
}

int live__params_each(int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
	int rc = 0;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache.nreads && !rc; i++)
		rc = fn(ctx, cache.reads[i].key, cache.reads[i].node->text);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

static int lookup_locked(const char *key, const struct pnode **out)
{
	const struct pnode *n;
	int rc = ensure_loaded_locked();

	if (rc)
		return rc;
	n = live__yaml_find(cache.root, key);
	if (!n)
		return live__fail(LIVE_ENOTFOUND, "%s: key '%s' not found", cache.path, key);
	if (n->kind == PK_NULL)
		return live__fail(LIVE_ENOTFOUND, "%s: key '%s' is null", cache.path, key);
	*out = n;
	return 0;
}

static int get_double_locked(const char *key, double *out)
{
	const struct pnode *n;
	int rc = lookup_locked(key, &n);

	if (rc)
		return rc;
	if (n->kind != PK_SCALAR || n->num == PN_NONE)
		return type_error(key, "a number", n);
	*out = n->d;
	remember_locked(key, n);
	return 0;
}

static int get_int_locked(const char *key, long long *out)
{
	const struct pnode *n;
	int rc = lookup_locked(key, &n);

	if (rc)
		return rc;
	if (n->kind == PK_SCALAR && n->num == PN_BIGINT) {
		char got[LIVE__EXCERPT_MAX + 32];

		live__yaml_describe(got, sizeof(got), n);
		return live__fail(LIVE_ETYPE,
				  "%s: key '%s': expected an integer from %lld to %lld, got %s",
				  cache.path, key, LLONG_MIN, LLONG_MAX, got);
	}
	if (n->kind != PK_SCALAR || n->num != PN_INT)
		return type_error(key, "an integer", n);
	*out = n->i;
	remember_locked(key, n);
	return 0;
}

static int get_string_locked(const char *key, const char **out)
{
	const struct pnode *n;
	int rc = lookup_locked(key, &n);

	if (rc)
		return rc;
	if (n->kind != PK_SCALAR)
		return type_error(key, "a string", n);
	*out = n->text;
	remember_locked(key, n);
	return 0;
}

static int check_args(const char *key, const void *out)
{
	if (!key)
		return live__fail(LIVE_EINVALID, "params: key is NULL");
	if (!out)
		return live__fail(LIVE_EINVALID, "params: key '%s': output pointer is NULL", key);
	return 0;
}

/* The documented warning: a lenient getter falling back for any reason but absence. */
static void warn_default(const char *def)
{
	fprintf(stderr, "live: %s; using the default %s\n", live_errmsg(), def);
}

/* ---- public -------------------------------------------------------------- */

int live_params_load(const char *path)
{
	int rc;

	pthread_mutex_lock(&cache_lock);
	rc = load_locked(path ? path : default_path());
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

void live_params_free(void)
{
	pthread_mutex_lock(&cache_lock);
	drop_locked();
	pthread_mutex_unlock(&cache_lock);
}

int live_param_get_double(const char *key, double *out)
{
	int rc = check_args(key, out);

	if (rc)
		return rc;
	pthread_mutex_lock(&cache_lock);
	rc = get_double_locked(key, out);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

int live_param_get_int(const char *key, long long *out)
{
	int rc = check_args(key, out);

	if (rc)
		return rc;
	pthread_mutex_lock(&cache_lock);
	rc = get_int_locked(key, out);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

int live_param_get_string(const char *key, const char **out)
{
	int rc = check_args(key, out);

	if (rc)
		return rc;
	pthread_mutex_lock(&cache_lock);
	rc = get_string_locked(key, out);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

double live_param_double(const char *key, double def)
{
	double v;
	int rc = live_param_get_double(key, &v);

	if (!rc)
		return v;
	if (rc != LIVE_ENOTFOUND) {
		char shown[LIVE__NUM_MAX];

		live__fmt_double(shown, def);
		warn_default(shown);
	}
	return def;
}

long long live_param_int(const char *key, long long def)
{
	long long v;
	int rc = live_param_get_int(key, &v);

	if (!rc)
		return v;
	if (rc != LIVE_ENOTFOUND) {
		char shown[LIVE__NUM_MAX];

		live__fmt_int(shown, def);
		warn_default(shown);
	}
	return def;
}

const char *live_param_string(const char *key, const char *def)
{
	const char *v;
	int rc = live_param_get_string(key, &v);

	if (!rc)
		return v;
	if (rc != LIVE_ENOTFOUND) {
		char shown[LIVE__EXCERPT_MAX + 8];

		if (def) {
			char text[LIVE__EXCERPT_MAX + 4];

			live__yaml_excerpt(text, sizeof(text), def, strlen(def));
			snprintf(shown, sizeof(shown), "'%s'", text);
		} else {
			snprintf(shown, sizeof(shown), "NULL");
		}
		warn_default(shown);
	}
	return def;
}
