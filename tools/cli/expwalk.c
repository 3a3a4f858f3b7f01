/*
 * Experiments under their baselines for `exp show` (expdata.h): the refs that
 * name commits, and DVC's walk from each experiment tip down its checkpoint
 * chain to the baseline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expdata_internal.h"

/* ---- experiments under baselines (exp show) ------------------------------------- */

static int last_component_map(xd_repo *r, map *m, char **names, char **shas, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(names[i], '/');
		if (xd__map_get(m, shas[i]))
			continue; /* the first ref in name order wins */
		char *name = xd__arena_strdup(&r->a, slash ? slash + 1 : names[i]);
		int rc = name ? xd__map_put(m, &r->a, shas[i], name)
			      : live__fail(LIVE_ENOMEM, "out of memory");
		if (rc)
			return rc;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Refs in name order, so that which of two refs at one commit names it never varies. */
static void sort_refs(char **names, char **shas, size_t n)
{
	if (n < 2)
		return;
	char ***idx = malloc(n * sizeof(*idx));
	char **tn = malloc(n * sizeof(*tn)), **ts = malloc(n * sizeof(*ts));
	if (idx && tn && ts) {
		for (size_t i = 0; i < n; i++)
			idx[i] = &names[i];
		qsort(idx, n, sizeof(*idx), by_name);
		for (size_t i = 0; i < n; i++) {
			size_t k = (size_t)(idx[i] - names);
			tn[i] = names[k];
			ts[i] = shas[k];
		}
		memcpy(names, tn, n * sizeof(*tn));
		memcpy(shas, ts, n * sizeof(*ts));
	}
	free(idx);
	free(tn);
	free(ts);
}

/* The baseline of an experiment ref refs/exps/<B[:2]>/<B[2:]>/<name>, or 0. */
static int exp_ref_baseline(const char *ref, char base[41])
{
	if (strncmp(ref, "refs/exps/", 10))
		return 0;
	const char *p = ref + 10;
	if (strlen(p) < 42 || p[2] != '/' || p[41] != '/' || !p[42] || strchr(p + 42, '/'))
		return 0;
	memcpy(base, p, 2);
	memcpy(base + 2, p + 3, 38);
	base[40] = 0;
	return strspn(base, "0123456789abcdef") == 40;
}

static int load_names(xd_repo *r, char **enames, char **eshas, size_t en)
{
	static const char *const prefixes[] = { "refs/tags/", "refs/heads/" };
	map *maps[] = { &r->tags, &r->heads };
	for (int k = 0; k < 2; k++) {
		char **names, **shas;
		size_t n;
		int rc = tr_git_ref_commits(r->g, prefixes[k], &names, &shas, &n);
		if (rc)
			return rc;
		sort_refs(names, shas, n);
		rc = last_component_map(r, maps[k], names, shas, n);
		tr_strv_free(names, n);
		tr_strv_free(shas, n);
		if (rc)
			return rc;
	}
	/* Only experiment refs name experiments: not exec/EXEC_APPLY, not the stash. */
	for (size_t i = 0; i < en; i++) {
		char base[41];
		if (!exp_ref_baseline(enames[i], base))
			continue;
		int rc = last_component_map(r, &r->exps, &enames[i], &eshas[i], 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* What DVC's describe finds: a tag, else a branch, else an experiment pointing exactly here. */
static const char *name_of(xd_repo *r, const char *sha)
{
	const char *n = xd__map_get(&r->tags, sha);
	if (!n)
		n = xd__map_get(&r->heads, sha);
	return n ? n : xd__map_get(&r->exps, sha);
}

typedef struct branch {
	const char *ref;
	const char *tip;
	long long time;
} branch;

static int newest_first(const void *pa, const void *pb)
{
	const branch *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time > b->time ? -1 : 1;
	return strcmp(a->ref, b->ref);
}

static int by_order(const void *pa, const void *pb)
{
	const xd_exp *a = *(xd_exp *const *)pa, *b = *(xd_exp *const *)pb;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* A commit's row, made (time and parent read) on first sight. */
static int row_of(xd_repo *r, map *index, const char *sha, xd_exp **out)
{
	if ((*out = xd__map_get(index, sha)))
		return 0;
	xd_exp *e = xd__arena_alloc(&r->a, sizeof(*e));
	if (!e)
		return live__fail(LIVE_ENOMEM, "out of memory");
	memset(e, 0, sizeof(*e));
	memcpy(e->sha, sha, 41);
	int rc = tr_git_commit_info(r->g, sha, &e->time, e->gparent, NULL);
	if (!rc)
		rc = xd__map_put(index, &r->a, sha, e);
	*out = e;
	return rc;
}

static int place(xd_repo *r, xd_exp *e, const xd_show_opts *o, unsigned long *counter)
{
	int rc = 0;
	if (!e->order) {
		e->name = o->sha_only ? NULL : name_of(r, e->sha);
		rc = xd_collect(r, e->sha, &e->data);
	}
	e->order = ++*counter;
	return rc;
}

/*
 * DVC's _collect_experiment_branch, for each branch newest tip first: walk
 * first parents from the tip to the baseline; a commit already shown under a
 * newer branch moves to the end and takes this (older) tip. Commits walked
 * again are not read again.
 */
static int collect_baseline(xd_repo *r, xd_baseline *b, char **refs, char **tips, size_t nrefs,
			    const xd_show_opts *o)
{
	map *index = calloc(1, sizeof(*index));
	branch *br = calloc(nrefs ? nrefs : 1, sizeof(*br));
	vec walk = { 0 };
	size_t nbr = 0;
	unsigned long counter = 0;
	int rc = !index || !br ? live__fail(LIVE_ENOMEM, "out of memory") : 0;
	b->index = index;
	for (size_t i = 0; !rc && i < nrefs; i++) {
		char base[41];
		if (!exp_ref_baseline(refs[i], base) || strcmp(base, b->rev))
			continue;
		br[nbr].ref = refs[i];
		br[nbr].tip = tips[i];
		rc = tr_git_commit_info(r->g, tips[i], &br[nbr].time, NULL, NULL);
		nbr++;
	}
	qsort(br, nbr, sizeof(*br), newest_first);
	for (size_t i = 0; !rc && i < nbr; i++) {
		xd_exp *e;
		walk.n = 0;
		const char *c = br[i].tip;
		while (!rc && !(rc = row_of(r, index, c, &e)) && !(rc = xd__vec_push(&walk, e))) {
			if (!e->gparent[0] || !strcmp(e->gparent, b->rev))
				break;
			c = e->gparent;
		}
		if (!rc && walk.n == 1) {
			rc = ((xd_exp *)walk.v[0])->order ? 0 : place(r, walk.v[0], o, &counter);
			continue;
		}
		for (size_t k = 0; !rc && k < walk.n; k++) {
			e = walk.v[k];
			e->tip = ((xd_exp *)walk.v[0])->sha;
			rc = place(r, e, o, &counter);
			if (k > 0)
				((xd_exp *)walk.v[k - 1])->parent = e->sha;
		}
		if (!rc && walk.n)
			((xd_exp *)walk.v[walk.n - 1])->parent = b->rev;
	}
	free(walk.v);
	free(br);
	b->exps = xd__arena_alloc(&r->a, (counter ? counter : 1) * sizeof(*b->exps));
	if (!rc && !b->exps)
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < index->cap; i++)
		if (index->keys[i] && ((xd_exp *)index->vals[i])->order)
			b->exps[b->nexps++] = index->vals[i];
	if (!rc)
		qsort(b->exps, b->nexps, sizeof(*b->exps), by_order);
	return rc;
}

/*
 * The refs under refs/exps/ and the commits they lead to (tags peeled). An
 * experiment ref that leads to no commit (a blob, a tree, a missing object)
 * is no experiment: it is left out with a warning naming it.
 */
static int exp_refs_peeled(xd_repo *r, char ***refs, char ***tips, size_t *n)
{
	tr_badref *bad;
	size_t nbad;
	int rc = tr_git_ref_commits_ex(r->g, "refs/exps/", refs, tips, n, &bad, &nbad);
	for (size_t i = 0; !rc && i < nbad; i++) {
		char base[41];
		if (exp_ref_baseline(bad[i].name, base))
			fprintf(stderr, "WARNING: %s: not shown\n", bad[i].msg);
	}
	if (!rc)
		tr_badrefs_free(bad, nbad);
	return rc;
}

const xd_exp *xd_find(const xd_baseline *b, const char *sha)
{
	const xd_exp *e = b->index ? xd__map_get(b->index, sha) : NULL;
	return e && e->order ? e : NULL;
}

int xd_show(xd_repo *r, const xd_show_opts *o, xd_baseline **out, size_t *nout)
{
	vec revs = { 0 };
	char **refs = NULL, **tips = NULL;
	size_t nrefs = 0;
	*out = NULL;
	*nout = 0;
	int rc = xd__vec_push(&revs, "workspace");
	for (int k = 0; !rc && k < (o->num > 0 ? o->num : 1); k++) {
		char rev[32], sha[41];
		snprintf(rev, sizeof(rev), "HEAD~%d", k);
		if (tr_git_resolve(r->g, rev, sha) != 0)
			break; /* fewer commits than asked for, or none */
		char *s = xd__arena_strdup(&r->a, sha);
		rc = s ? xd__vec_push(&revs, s) : live__fail(LIVE_ENOMEM, "out of memory");
	}
	if (!rc && o->all_branches) {
		char **names, **shas;
		size_t n;
		rc = tr_git_ref_commits(r->g, "refs/heads/", &names, &shas, &n);
		if (!rc)
			sort_refs(names, shas, n);
		for (size_t i = 0; !rc && i < n; i++) {
			char *s = xd__arena_strdup(&r->a, shas[i]);
			rc = s ? xd__vec_push(&revs, s) : live__fail(LIVE_ENOMEM, "out of memory");
		}
		tr_strv_free(names, n);
		tr_strv_free(shas, n);
	}
	if (!rc)
		rc = exp_refs_peeled(r, &refs, &tips, &nrefs);
	if (!rc)
		sort_refs(refs, tips, nrefs);
	if (!rc && !o->sha_only)
		rc = load_names(r, refs, tips, nrefs);
	xd_baseline *bs = rc ? NULL : xd__arena_alloc(&r->a, revs.n * sizeof(*bs));
	if (!rc && !bs)
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	size_t nb = 0;
	for (size_t i = 0; !rc && i < revs.n; i++) {
		int dup = 0;
		for (size_t k = 0; k < nb; k++)
			dup |= !strcmp(bs[k].rev, revs.v[i]);
		if (dup)
			continue;
		xd_baseline *b = &bs[nb++];
		memset(b, 0, sizeof(*b));
		b->rev = revs.v[i];
		if (i == 0) {
			rc = xd_collect(r, NULL, &b->base.data);
			continue;
		}
		memcpy(b->base.sha, b->rev, 41);
		b->base.name = o->sha_only ? NULL : name_of(r, b->rev);
		rc = tr_git_commit_info(r->g, b->rev, &b->base.time, b->base.gparent, NULL);
		if (!rc)
			rc = xd_collect(r, b->rev, &b->base.data);
		if (!rc)
			rc = collect_baseline(r, b, refs, tips, nrefs, o);
	}
	tr_strv_free(refs, nrefs);
	tr_strv_free(tips, nrefs);
	free(revs.v);
	*out = bs;
	*nout = nb;
	return rc;
}

void xd_show_free(xd_baseline *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++)
		if (b[i].index) {
			xd__map_free(b[i].index);
			free(b[i].index);
		}
}
