/*
 * live exp push / exp pull <git_remote> [<exp>...] (issue #8; DVC 2.x's
 * `dvc exp push/pull`): an experiment travels as its ref through a git
 * remote (tracker/git_remote.c) and as the cache objects of its checkpoints
 * through a cache remote of .dvc/config (tracker/remote.c).
 *
 * Which experiments: those named (a name, or a full refs/exps/... ref; of
 * two with one name, the one made from HEAD), else every one made from HEAD
 * (or from --rev <commit>), or all with -A.
 *
 * Which objects: every cached out that dvc.yaml and dvc.lock record in each
 * experiment commit, from the tip down to the baseline (not included), with
 * the files of a folder's .dir manifest: what `exp apply` needs to restore
 * any checkpoint of it. Objects already at the other end are not copied.
 *
 * Order, so that a ref never arrives before what it needs: push copies the
 * cache (files, then manifests) and only then the refs; pull downloads the
 * git objects, copies the cache (a manifest lands after its files), then
 * moves the refs. A remote ref that is not an ancestor of the local one (push)
 * or the local one not of the remote's (pull) is a diverged experiment:
 * reported by name and left as it is unless --force; the others still travel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_exp_manage.h"
#include "expsync.h"

typedef struct opts {
	const char *cmd; /* "push" or "pull" */
	const char *git_remote;
	char shown[1024]; /* git_remote for messages, a password as *** */
	char **names;
	int nnames;
	int all, force, no_cache;
	int jobs; /* cache objects copied at once */
	const char *rev, *cache_remote;
} opts;

enum { ST_NEW, ST_SAME, ST_FF, ST_AHEAD, ST_DIVERGED, ST_FORCE };

/* One experiment to move. */
typedef struct item {
	const exp_ref *e;   /* in the local list (push) or the remote's (pull) */
	char local[41];     /* the local tip; "" when there is none */
	char remote[41];    /* the remote's tip; "" when there is none */
	int state;
	char *rejected;     /* the remote's reason for refusing the push */
} item;

static int parse_opts(int argc, char **argv, opts *o)
{
	if (!(o->names = calloc((size_t)argc + 1, sizeof(*o->names))))
		return cli_error("out of memory");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-A") || !strcmp(a, "--all-commits") || !strcmp(a, "--all"))
			o->all = 1;
		else if (!strcmp(a, "-f") || !strcmp(a, "--force"))
			o->force = 1;
		else if (!strcmp(a, "--no-cache"))
			o->no_cache = 1;
		else if (!strcmp(a, "--run-cache") || !strcmp(a, "--no-run-cache"))
			continue; /* live keeps no run cache: there is none to move */
		else if (!strcmp(a, "--rev") && i + 1 < argc)
			o->rev = argv[++i];
		else if ((!strcmp(a, "-r") || !strcmp(a, "--remote")) && i + 1 < argc)
			o->cache_remote = argv[++i];
		else if ((!strcmp(a, "-j") || !strcmp(a, "--jobs")) && i + 1 < argc) {
			char *end;
			long j = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || j < 1 || j > 16)
				return cli_error("live exp %s: -j '%s': expected a number of jobs from 1 to 16", o->cmd,
				                 argv[i]);
			o->jobs = (int)j;
		} else if (a[0] == '-')
			return cli_error("live exp %s: unknown option '%s' (expected -A, --rev <commit>, -f, "
			                 "--no-cache, -r <cache remote>, -j <jobs>)",
			                 o->cmd, a);
		else if (!o->git_remote)
			o->git_remote = a;
		else
			o->names[o->nnames++] = argv[i];
	}
	if (!o->jobs) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o->jobs = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus;
	}
	if (!o->git_remote)
		return cli_error("live exp %s: name the Git remote: live exp %s <git_remote> [<experiment>...]",
		                 o->cmd, o->cmd);
	tr_url_shown(o->git_remote, o->shown, sizeof(o->shown));
	if (o->nnames && (o->all || o->rev))
		return cli_error("live exp %s: name experiments, or choose them with -A or --rev, not both",
		                 o->cmd);
	return 0;
}

/* ---- choosing experiments ------------------------------------------------------ */

/*
 * The experiment `name` (a name or a full ref) of `all`: of several with that
 * name, the one made from `head`. 1 if there is none, 0 with *out set, or an
 * error printed (ambiguous).
 */
static int pick(const exp_refs *all, const char *name, const char *head, size_t *out)
{
	size_t count = 0, from_head = 0, first = 0, first_head = 0;
	for (size_t i = 0; i < all->n; i++) {
		if (strcmp(all->v[i].ref, name) && strcmp(all->v[i].name, name))
			continue;
		if (!count++)
			first = i;
		if (!strcmp(all->v[i].baseline, head) && !from_head++)
			first_head = i;
	}
	if (count == 0)
		return 1;
	if (count > 1 && from_head != 1) {
		live__buf refs = {0};
		for (size_t i = 0; i < all->n; i++) {
			if (strcmp(all->v[i].name, name))
				continue;
			if (refs.len)
				live__buf_append(&refs, ", ", 2);
			live__buf_append(&refs, all->v[i].ref, strlen(all->v[i].ref));
		}
		cli_error("Ambiguous name '%s' refers to %zu experiments (%.*s): name one by its full ref", name,
		          count, (int)refs.len, refs.data ? refs.data : "");
		live__buf_free(&refs);
		return -1;
	}
	*out = count == 1 ? first : first_head;
	return 0;
}

/* The items of `all` that the options choose, in ref order. */
static int choose(tr_git *g, const opts *o, const exp_refs *all, const char *head, item **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	unsigned char *chosen = calloc(all->n + 1, 1);
	if (!chosen)
		return cli_error("out of memory");
	int rc = 0;
	char want[41] = "";
	if (!o->nnames && !o->all) {
		if (o->rev && tr_git_resolve(g, o->rev, want) != 0)
			rc = cli_error("%s", live_errmsg());
		else if (!o->rev)
			snprintf(want, sizeof(want), "%s", head);
	}
	for (int k = 0; !rc && k < o->nnames; k++) {
		size_t i;
		int found = pick(all, o->names[k], head, &i);
		if (found < 0)
			rc = 1;
		else if (found > 0 && !strcmp(o->cmd, "push"))
			rc = cli_error("'%s' is not a valid experiment name", o->names[k]);
		else if (found > 0)
			rc = cli_error("Experiment '%s' does not exist in '%s'", o->names[k], o->shown);
		else
			chosen[i] = 1;
	}
	for (size_t i = 0; !rc && !o->nnames && i < all->n; i++)
		chosen[i] = o->all || !strcmp(all->v[i].baseline, want);
	if (!rc && !(*out = calloc(all->n + 1, sizeof(**out))))
		rc = cli_error("out of memory");
	for (size_t i = 0; !rc && i < all->n; i++)
		if (chosen[i])
			(*out)[(*n)++].e = &all->v[i];
	free(chosen);
	return rc;
}

/* ---- git: what the remote has ------------------------------------------------- */

static int load_remote(tr_git_remote *gr, int for_push, exp_refs *out)
{
	char **names, **shas;
	size_t n;
	out->v = NULL;
	out->n = 0;
	int rc = tr_git_remote_refs(gr, for_push, "refs/exps/", &names, &shas, &n);
	return rc ? rc : exp_refs_from(names, shas, n, out);
}

int exp_refs_load_remote(tr_git *g, const char *git_remote, exp_refs *out)
{
	tr_git_remote *gr = NULL;
	out->v = NULL;
	out->n = 0;
	int rc = tr_git_remote_open(g, git_remote, &gr);
	if (!rc)
		rc = load_remote(gr, 0, out);
	tr_git_remote_free(gr);
	return rc;
}

/* ---- the cache remote -------------------------------------------------------------- */

/* The cache remote the options name, or the default one; printed error and 1 if none. */
static int find_cache_remote(const char *root, const opts *o, tr_remote_config *cfg, const tr_remote **out)
{
	*out = NULL;
	if (tr_remote_config_load(root, cfg))
		return cli_error("%s", live_errmsg());
	if (tr_remote_config_find(cfg, o->cache_remote, out))
		return cli_error("%s: add one with `live remote add -d <name> <folder>`, name one with -r "
		                 "<name>, or %s the experiments' refs alone with --no-cache",
		                 live_errmsg(), o->cmd);
	return 0;
}

static void print_stats(const char *verb, const char *dir, const tr_remote *r, const tr_remote_stats *st,
                        const char *where)
{
	printf("%s %zu cache object%s (%lld bytes) %s cache remote '%s'; %zu %s already %s.\n", verb, st->copied,
	       st->copied == 1 ? "" : "s", st->bytes, dir, r->name, st->present,
	       st->present == 1 ? "was" : "were", where);
}

/* ---- the commands ------------------------------------------------------------------- */

static void items_free(item *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].rejected);
	free(v);
}

/* The remote's tip of `ref` in `list` ("" if it has none). */
static void remote_tip(const exp_refs *list, const char *ref, char out[41])
{
	out[0] = 0;
	for (size_t i = 0; i < list->n; i++)
		if (!strcmp(list->v[i].ref, ref))
			memcpy(out, list->v[i].tip, 41);
}

/* 1 if commit `a` is `b` or descends from it; errors (an unknown commit) count as no. */
static int contains(tr_git *g, const char *a, const char *b)
{
	return tr_git_descends(g, a, b) == 1;
}

/* The cache objects of the experiments that will move (all but the diverged). */
static int collect_items(tr_git *g, item *v, size_t n, int pulling, sync_collector *c, sync_objs *out)
{
	int rc = 0;
	c->g = g;
	for (size_t i = 0; !rc && i < n; i++) {
		if (v[i].state == ST_DIVERGED)
			continue;
		const char *tip = pulling ? v[i].remote : v[i].local;
		rc = sync_collect_exp(c, tip, v[i].e->baseline, v[i].e->name, out);
	}
	return rc;
}

static int ensure_tmp(const char *root)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s/.dvc/tmp", root);
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return cli_error("%s: %s", tmp, strerror(errno));
	return 0;
}

int cmd_exp_push(int argc, char **argv)
{
	opts o = {.cmd = "push"};
	char root[PATH_MAX], head[41] = "";
	tr_git *g = NULL;
	tr_git_remote *gr = NULL;
	exp_refs local = {0}, remote = {0};
	tr_remote_config cfg = {0};
	const tr_remote *cache = NULL;
	item *items = NULL;
	size_t n = 0;
	sync_collector col = {0};
	sync_objs objects = {0};
	char **refs = NULL;
	int *force = NULL;
	char **rejected = NULL;
	int rc = parse_opts(argc, argv, &o);
	if (!rc)
		rc = cli_find_root(root, sizeof(root), 1);
	if (!rc && (rc = tr_git_open(root, &g)) == 0 && (rc = tr_git_remote_open(g, o.git_remote, &gr)) == 0)
		rc = exp_refs_load(g, &local);
	if (rc > 0)
		goto out;
	if (rc || chdir(root) != 0) {
		rc = cli_error("%s", rc ? live_errmsg() : strerror(errno));
		goto out;
	}
	tr_git_head(g, head);
	if ((rc = choose(g, &o, &local, head, &items, &n)) != 0)
		goto out;
	if (n == 0) {
		printf("No experiments to push.\n");
		goto out;
	}
	if (!o.no_cache && ((rc = find_cache_remote(root, &o, &cfg, &cache)) != 0 || (rc = ensure_tmp(root)) != 0))
		goto out;
	/* What the remote has decides what moves; an unreachable remote stops everything here. */
	if ((rc = load_remote(gr, 1, &remote)) != 0) {
		rc = cli_error("%s", live_errmsg());
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		item *it = &items[i];
		memcpy(it->local, it->e->tip, 41);
		remote_tip(&remote, it->e->ref, it->remote);
		it->state = !it->remote[0]                            ? ST_NEW
		            : !strcmp(it->remote, it->local)          ? ST_SAME
		            : contains(g, it->local, it->remote)      ? ST_FF
		            : o.force                                 ? ST_FORCE
		                                                      : ST_DIVERGED;
	}
	if (cache) {
		tr_remote_stats st = {0};
		if ((rc = collect_items(g, items, n, 0, &col, &objects)) == 0)
			rc = sync_push_cache(root, cache, &objects, o.jobs, &st);
		if (rc) {
			rc = cli_error("%s; nothing was pushed to Git remote '%s'", live_errmsg(), o.shown);
			goto out;
		}
		print_stats("Pushed", "to", cache, &st, "there");
	}
	refs = calloc(n, sizeof(*refs));
	force = calloc(n, sizeof(*force));
	rejected = calloc(n, sizeof(*rejected));
	if (!refs || !force || !rejected) {
		rc = cli_error("out of memory");
		goto out;
	}
	size_t nrefs = 0;
	for (size_t i = 0; i < n; i++) {
		if (items[i].state != ST_NEW && items[i].state != ST_FF && items[i].state != ST_FORCE)
			continue;
		force[nrefs] = items[i].state == ST_FORCE;
		refs[nrefs++] = items[i].e->ref;
	}
	if ((rc = tr_git_remote_push(gr, refs, force, nrefs, rejected, NULL)) != 0) {
		rc = cli_error("%s", live_errmsg());
		goto out;
	}
	for (size_t i = 0, k = 0; i < n; i++) {
		item *it = &items[i];
		if (it->state == ST_NEW || it->state == ST_FF || it->state == ST_FORCE)
			it->rejected = rejected[k++];
		if (it->state == ST_SAME)
			printf("Experiment '%s' is up to date on Git remote '%s'.\n", it->e->name, o.shown);
		else if (it->state == ST_DIVERGED)
			rc = cli_error("Local experiment '%s' has diverged from remote experiment with the same name. "
			               "To override the remote experiment re-run with '--force'.",
			               it->e->name);
		else if (it->rejected)
			rc = cli_error("Git remote '%s' refused experiment '%s' (%s): %s", o.shown, it->e->name,
			               it->e->ref, it->rejected);
		else
			printf("Pushed experiment '%s' to Git remote '%s'.\n", it->e->name, o.shown);
	}
out:
	free(refs);
	free(force);
	free(rejected);
	sync_objs_free(&objects);
	sync_collector_free(&col);
	items_free(items, n);
	tr_remote_config_free(&cfg);
	exp_refs_free(&remote);
	exp_refs_free(&local);
	tr_git_remote_free(gr);
	tr_git_free(g);
	free(o.names);
	return rc ? 1 : 0;
}

int cmd_exp_pull(int argc, char **argv)
{
	opts o = {.cmd = "pull"};
	char root[PATH_MAX], head[41] = "";
	tr_git *g = NULL;
	tr_git_remote *gr = NULL;
	exp_refs remote = {0};
	tr_remote_config cfg = {0};
	const tr_remote *cache = NULL;
	item *items = NULL;
	size_t n = 0;
	sync_strlist fails = {0};
	sync_collector col = {0};
	sync_objs objects = {0};
	char **want = NULL;
	int lockfd = -1;
	int rc = parse_opts(argc, argv, &o);
	if (!rc)
		rc = cli_find_root(root, sizeof(root), 1);
	if (!rc && (rc = tr_git_open(root, &g)) == 0)
		rc = tr_git_remote_open(g, o.git_remote, &gr);
	if (rc > 0)
		goto out;
	if (rc || chdir(root) != 0) {
		rc = cli_error("%s", rc ? live_errmsg() : strerror(errno));
		goto out;
	}
	if ((rc = exp_lock_repo(root, &lockfd)) != 0)
		goto out;
	tr_git_head(g, head);
	if ((rc = load_remote(gr, 0, &remote)) != 0) {
		rc = cli_error("%s", live_errmsg());
		goto out;
	}
	if ((rc = choose(g, &o, &remote, head, &items, &n)) != 0)
		goto out;
	if (n == 0) {
		printf("No experiments to pull.\n");
		goto out;
	}
	if (!o.no_cache) {
		struct stat sb;
		if ((rc = find_cache_remote(root, &o, &cfg, &cache)) != 0 || (rc = ensure_tmp(root)) != 0)
			goto out;
		if (stat(cache->path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			rc = cli_error("cache remote '%s': %s: %s", cache->name, cache->path,
			               stat(cache->path, &sb) != 0 ? strerror(errno) : "not a folder");
			goto out;
		}
	}
	/* The git objects of every experiment whose tip is not here yet. */
	if (!(want = calloc(n, sizeof(*want)))) {
		rc = cli_error("out of memory");
		goto out;
	}
	size_t nwant = 0;
	for (size_t i = 0; i < n; i++) {
		item *it = &items[i];
		memcpy(it->remote, it->e->tip, 41);
		if (tr_git_ref_get(g, it->e->ref, it->local) != 0)
			it->local[0] = 0;
		if (strcmp(it->local, it->remote))
			want[nwant++] = it->e->ref;
	}
	if ((rc = tr_git_remote_fetch(gr, want, nwant, NULL)) != 0) {
		rc = cli_error("%s", live_errmsg());
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		item *it = &items[i];
		it->state = !it->local[0]                           ? ST_NEW
		            : !strcmp(it->remote, it->local)        ? ST_SAME
		            : contains(g, it->remote, it->local)    ? ST_FF
		            : contains(g, it->local, it->remote)    ? ST_AHEAD
		            : o.force                               ? ST_FORCE
		                                                    : ST_DIVERGED;
	}
	if (cache) {
		tr_remote_stats st = {0};
		if ((rc = collect_items(g, items, n, 1, &col, &objects)) == 0)
			rc = sync_pull_cache(root, cache, &objects, o.jobs, &st, &fails);
		if (rc) {
			rc = cli_error("%s; no experiment ref was changed", live_errmsg());
			goto out;
		}
		print_stats("Pulled", "from", cache, &st, "here");
	}
	for (size_t i = 0; i < n; i++) {
		item *it = &items[i];
		if (it->state == ST_NEW || it->state == ST_FF || it->state == ST_FORCE) {
			if (tr_git_ref_set(g, it->e->ref, it->remote, it->local[0] ? it->local : NULL,
			                   "live: exp pull") != 0) {
				rc = cli_error("%s", live_errmsg());
				continue;
			}
			printf("Pulled experiment '%s' from Git remote '%s'.\n", it->e->name, o.shown);
		} else if (it->state == ST_DIVERGED) {
			rc = cli_error("Local experiment '%s' has diverged from remote experiment with the same name. "
			               "To override the local experiment re-run with '--force'.",
			               it->e->name);
		} else {
			printf("Experiment '%s' is up to date with Git remote '%s'.\n", it->e->name, o.shown);
		}
	}
	if (fails.n) {
		size_t failed = fails.n;
		for (size_t i = 0; i < failed && i < 10; i++)
			fprintf(stderr, "ERROR: %s\n", fails.v[i]);
		if (failed > 10)
			fprintf(stderr, "ERROR: ... and %zu more\n", failed - 10);
		rc = cli_error("%zu cache object%s could not be pulled from cache remote '%s' (%s): `live exp "
		               "apply` of the checkpoints that need %s will fail",
		               failed, failed == 1 ? "" : "s", cache->name, cache->path, failed == 1 ? "it" : "them");
	}
out:
	tr_strv_free(fails.v, fails.n);
	free(want);
	sync_objs_free(&objects);
	sync_collector_free(&col);
	items_free(items, n);
	tr_remote_config_free(&cfg);
	exp_refs_free(&remote);
	tr_git_remote_free(gr);
	tr_git_free(g);
	if (lockfd >= 0)
		close(lockfd);
	free(o.names);
	return rc ? 1 : 0;
}
