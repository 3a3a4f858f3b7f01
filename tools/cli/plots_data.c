/*
 * The plot files of revisions (plots.h), as DVC 2.8's repo/plots collects
 * them: every out with `plots:` and every data file below a `live:` folder,
 * for each revision from that revision's own dvc.yaml; then x and y as DVC
 * defaults them.
 *
 * Where the bytes come from: the work tree for "workspace"; for a commit, an
 * uncached out (cache: false) is a blob of its tree and a cached one an
 * object of .dvc/cache named by the commit's dvc.lock (a folder through its
 * .dir manifest), so a checkpoint's dvclive/<metric>.tsv are read as they
 * were at that checkpoint. The tracker loads dvc.yaml and dvc.lock from
 * paths, so a commit's copies go through a private temp folder, removed at
 * the end. Parsing is plots_rows.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plots.h"

/* Folders below a plots or live folder are walked this deep at most. */
#define WALK_DEPTH 32

typedef struct ctx {
	pl_set *s;
	tr_git *g;
	const char *root;
	const pl_opts *o;
	const char *rev, *sha; /* the revision being read; sha NULL for the work tree */
	size_t ri;
	char tmpdir[1024];     /* "" until a commit's dvc.yaml needs it */
	live__buf buf;
	size_t cap;            /* room in s->plots */
} ctx;

/* ---- templates and props ---------------------------------------------------------- */

static const char *const template_names[] = { "linear", "simple", "scatter", "smooth", "confusion",
					      "confusion_normalized" };

static enum pl_template template_of(const char *name, const char *path)
{
	for (size_t i = 0; name && i < sizeof(template_names) / sizeof(*template_names); i++)
		if (!strcmp(name, template_names[i]))
			return (enum pl_template)i;
	if (name)
		fprintf(stderr,
			"WARNING: '%s': template '%s' is not one of linear, simple, scatter, smooth, "
			"confusion, confusion_normalized (custom Vega templates are not supported): drawn as "
			"linear\n",
			path, name);
	return PL_LINEAR;
}

static int wanted(const ctx *c, const char *path)
{
	if (!c->o->ntargets)
		return 1;
	for (size_t i = 0; i < c->o->ntargets; i++) {
		const char *t = c->o->targets[i];
		while (t[0] == '.' && t[1] == '/')
			t += 2;
		size_t n = strlen(t);
		while (n > 1 && t[n - 1] == '/')
			n--;
		if (!strncmp(path, t, n) && (path[n] == 0 || path[n] == '/'))
			return 1;
	}
	return 0;
}

/* A prop of a revision's dvc.yaml, unless the command line sets it; later revisions override. */
static int take_prop(arena *a, const char **prop, const char *cli, const char *rev_value)
{
	const char *v = cli ? cli : rev_value;
	if (!v || (*prop && !strcmp(*prop, v)))
		return 0;
	return (*prop = xd__arena_strdup(a, v)) ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
}

/*
 * The plot `path`, with this revision's props merged over those before, as
 * DVC 2.8 squashes them: the last revision that sets one wins (the workspace,
 * when it is shown).
 */
static pl_plot *plot_for(ctx *c, const char *path, const tr_out *props)
{
	pl_set *s = c->s;
	pl_plot *p = NULL;
	for (size_t i = 0; i < s->nplots && !p; i++)
		if (!strcmp(s->plots[i].path, path))
			p = &s->plots[i];
	if (!p) {
		if (s->nplots == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16;
			pl_plot *grown = realloc(s->plots, cap * sizeof(*grown));
			if (!grown)
				return NULL;
			s->plots = grown;
			c->cap = cap;
		}
		p = &s->plots[s->nplots];
		memset(p, 0, sizeof(*p));
		p->path = xd__arena_strdup(&s->a, path);
		p->data = xd__arena_alloc(&s->a, (s->nrevs ? s->nrevs : 1) * sizeof(*p->data));
		if (!p->path || !p->data)
			return NULL;
		memset(p->data, 0, s->nrevs * sizeof(*p->data));
		s->nplots++;
	}
	if (take_prop(&s->a, &p->template_name, c->o->template_, props->template_) ||
	    take_prop(&s->a, &p->x, c->o->x, props->x) || take_prop(&s->a, &p->y, c->o->y, props->y))
		return NULL;
	return p;
}

/* One file of a plot at the current revision. */
static int add_file(ctx *c, const char *path, const char *data, size_t len, const tr_out *props)
{
	if (!wanted(c, path))
		return 0;
	pl_plot *p = plot_for(c, path, props);
	if (!p)
		return live__fail(LIVE_ENOMEM, "out of memory");
	char why[200] = "";
	int rc = pl_parse(&c->s->a, path, data, len, &p->data[c->ri], why, sizeof(why));
	if (!rc && !p->data[c->ri].present)
		fprintf(stderr, "WARNING: unable to parse '%s' at '%s': %s\n", path, c->rev, why);
	return rc;
}

/* ---- reading files ------------------------------------------------------------------ */

/* A whole file into c->buf: 1 if read, 0 if it does not exist. */
static int read_path(ctx *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (!f)
		return live__fail_errno(LIVE_EIO, errno, "%s: open", path);
	c->buf.len = 0;
	char block[65536];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(block, 1, sizeof(block), f)) > 0)
		rc = live__buf_append(&c->buf, block, n);
	if (!rc && ferror(f))
		rc = live__fail(LIVE_EIO, "%s: read error", path);
	fclose(f);
	return rc ? rc : 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The data files below a work-tree folder, in name order; `fn` for each. */
static int walk(ctx *c, const char *dir, int depth, int (*fn)(ctx *, const char *, void *), void *arg)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0)
		return 0;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char path[PATH_MAX];
		struct stat st;
		if (!rc && strcmp(name, ".") && strcmp(name, "..") &&
		    snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path) &&
		    lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < WALK_DEPTH)
				rc = walk(c, path, depth + 1, fn, arg);
			else if (S_ISREG(st.st_mode) && pl_format(path))
				rc = fn(c, path, arg);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int add_work_file(ctx *c, const char *path, void *props)
{
	int have = read_path(c, path);
	if (have <= 0)
		return have;
	return add_file(c, path, c->buf.data ? c->buf.data : "", c->buf.len, props);
}

static void unsupported(const ctx *c, const char *path)
{
	fprintf(stderr, "WARNING: '%s' at '%s' is not JSON, YAML, CSV or TSV: not drawn\n", path, c->rev);
}

/* An out of the work tree: a file, or every data file below a folder. */
static int work_out(ctx *c, const char *path, const tr_out *o)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return walk(c, path, 0, add_work_file, (void *)o);
	if (!pl_format(path)) {
		if (wanted(c, path))
			unsupported(c, path);
		return 0;
	}
	return add_work_file(c, path, (void *)o);
}

/* A cache object into c->buf: 1 if read, 0 (with a warning) if it is missing. */
static int read_object(ctx *c, const char *md5, const char *path)
{
	char obj[PATH_MAX];
	int rc = tr_cache_path(c->root, md5, obj, sizeof(obj));
	if (rc)
		return rc;
	rc = read_path(c, obj);
	if (rc == 0)
		fprintf(stderr, "WARNING: '%s' at '%s': cache object %s is missing\n", path, c->rev, md5);
	return rc;
}

/* A cached out of a commit: its object, or its .dir manifest's files, through dvc.lock. */
static int cached_out(ctx *c, const char *path, const tr_out *o, const tr_hashinfo *h)
{
	size_t n = strlen(h->md5);
	if (n > 4 && !strcmp(h->md5 + n - 4, ".dir")) {
		tr_manifest m;
		int rc = tr_cache_read_manifest(c->root, path, h->md5, &m);
		if (rc == LIVE_ENOTFOUND) {
			fprintf(stderr, "WARNING: '%s' at '%s': %s\n", path, c->rev, live_errmsg());
			return 0;
		}
		for (size_t i = 0; !rc && i < m.n; i++) {
			char file[PATH_MAX];
			snprintf(file, sizeof(file), "%s/%s", path, m.entries[i].relpath);
			if (!pl_format(file) || !wanted(c, file))
				continue;
			int have = read_object(c, m.entries[i].md5, file);
			rc = have < 0 ? have
			     : have   ? add_file(c, file, c->buf.data ? c->buf.data : "", c->buf.len, o)
				      : 0;
		}
		tr_manifest_free(&m);
		return rc;
	}
	if (!pl_format(path)) {
		if (wanted(c, path))
			unsupported(c, path);
		return 0;
	}
	if (!wanted(c, path))
		return 0;
	int have = read_object(c, h->md5, path);
	return have <= 0 ? have : add_file(c, path, c->buf.data ? c->buf.data : "", c->buf.len, o);
}

static int add_blob(ctx *c, const char *path, void *props)
{
	int rc = tr_git_read_blob(c->g, c->sha, path, &c->buf);
	if (rc == LIVE_ENOTFOUND)
		return 0;
	return rc ? rc : add_file(c, path, c->buf.data ? c->buf.data : "", c->buf.len, props);
}

/* The metric names of a live summary node, as the history files they have: <dir>/<name>.tsv. */
static int summary_files(ctx *c, const ynode *n, char *name, size_t len, const char *dir, const tr_out *o)
{
	int rc = 0;
	for (size_t i = 0; !rc && n && n->kind == 'm' && i + 1 < n->n; i += 2) {
		const ynode *k = n->kids[i], *v = n->kids[i + 1];
		if (k->kind != 's' || (!len && !strcmp(k->text, "step")))
			continue;
		int w = snprintf(name + len, PATH_MAX - len, "%s%s", len ? "/" : "", k->text);
		if (w < 0 || len + (size_t)w >= PATH_MAX)
			continue;
		if (v->kind == 'm') {
			rc = summary_files(c, v, name, len + (size_t)w, dir, o);
		} else if (v->kind == 's') {
			char path[PATH_MAX];
			if (snprintf(path, sizeof(path), "%s/%s.tsv", dir, name) < (int)sizeof(path))
				rc = add_blob(c, path, (void *)o);
		}
		name[len] = 0;
	}
	return rc;
}

static int plot_known(const ctx *c, const char *path)
{
	for (size_t i = 0; i < c->s->nplots; i++)
		if (!strcmp(c->s->plots[i].path, path))
			return c->s->plots[i].data[c->ri].present;
	return 0;
}

static int work_candidate(ctx *c, const char *path, void *props)
{
	return plot_known(c, path) ? 0 : add_blob(c, path, props);
}

/*
 * An uncached out of a commit: a blob, or a folder. The tracker reads blobs
 * by path only, so a folder's files are those the work tree has below it and,
 * for a live folder, the histories its summary at that commit names.
 */
static int git_out(ctx *c, const char *path, const tr_out *o)
{
	int rc = tr_git_read_blob(c->g, c->sha, path, &c->buf);
	if (!rc) {
		if (!pl_format(path)) {
			if (wanted(c, path))
				unsupported(c, path);
			return 0;
		}
		return add_file(c, path, c->buf.data ? c->buf.data : "", c->buf.len, o);
	}
	if (rc != LIVE_ENOTFOUND)
		return rc;
	rc = 0;
	if (o->kind == TR_LIVE) {
		char summary[PATH_MAX], why[200];
		snprintf(summary, sizeof(summary), "%s.json", path);
		if (tr_git_read_blob(c->g, c->sha, summary, &c->buf) == 0) {
			const char *text = c->buf.data ? c->buf.data : "";
			const ynode *root = xd__parse_json(&c->s->a, text, c->buf.len, why, sizeof(why));
			char name[PATH_MAX] = "";
			rc = summary_files(c, root, name, 0, path, o);
		}
	}
	struct stat st;
	if (!rc && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = walk(c, path, 0, work_candidate, (void *)o);
	return rc;
}

/* ---- a revision ---------------------------------------------------------------------- */

/* A commit's `name` (dvc.yaml, dvc.lock) as a file the tracker can load: 1, or 0 when absent. */
static int blob_to_temp(ctx *c, const char *name, char *path, size_t size)
{
	int rc = tr_git_read_blob(c->g, c->sha, name, &c->buf);
	if (rc)
		return rc == LIVE_ENOTFOUND ? 0 : rc;
	if (!c->tmpdir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(c->tmpdir, sizeof(c->tmpdir), "%s/live-plots.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(c->tmpdir)) {
			int err = errno;
			c->tmpdir[0] = 0;
			return live__fail_errno(LIVE_EIO, err, "cannot make a temp folder");
		}
	}
	snprintf(path, size, "%s/%s", c->tmpdir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return live__fail_errno(LIVE_EIO, errno, "%s: create", path);
	size_t w = c->buf.len ? fwrite(c->buf.data, 1, c->buf.len, f) : 0;
	if (fclose(f) != 0 || w != c->buf.len)
		return live__fail(LIVE_EIO, "%s: write error", path);
	return 1;
}

/* A loader's message about the temp copy, told about the revision's file instead. */
static int at_rev(const ctx *c, int rc)
{
	char msg[1024];
	const char *m = live_errmsg();
	size_t n = strlen(c->tmpdir);
	if (n && !strncmp(m, c->tmpdir, n) && m[n] == '/')
		m += n + 1;
	snprintf(msg, sizeof(msg), "%s", m);
	return live__fail(rc, "%s (at '%s')", msg, c->rev);
}

static int collect_rev(ctx *c)
{
	tr_pipeline p = { 0 };
	tr_lock lock = { 0 };
	char path[PATH_MAX];
	int rc = 0, have = 1;
	if (!c->sha) {
		rc = tr_dvcyaml_load("dvc.yaml", &p);
		if (rc == LIVE_ENOTFOUND) {
			have = 0;
			rc = 0;
		}
	} else {
		have = rc = blob_to_temp(c, "dvc.yaml", path, sizeof(path));
		if (rc > 0 && (rc = tr_dvcyaml_load(path, &p)))
			rc = at_rev(c, rc);
		if (!rc && have) {
			int lk = blob_to_temp(c, "dvc.lock", path, sizeof(path));
			rc = lk < 0 ? lk : lk ? tr_lock_load(path, &lock) : 0;
			if (rc)
				rc = at_rev(c, rc);
		}
		if (rc > 0)
			rc = 0;
	}
	for (size_t i = 0; !rc && have && i < p.n; i++) {
		const tr_stage *st = &p.stages[i];
		const tr_lock_stage *ls = c->sha ? tr_lock_find(&lock, st->name) : NULL;
		for (size_t k = 0; !rc && k < st->nouts; k++) {
			const tr_out *o = &st->outs[k];
			if (o->kind != TR_PLOT && o->kind != TR_LIVE)
				continue;
			const char *rel = o->path;
			while (rel[0] == '.' && rel[1] == '/')
				rel += 2;
			char full[PATH_MAX];
			if (st->wdir && *st->wdir && strcmp(st->wdir, "."))
				snprintf(full, sizeof(full), "%s/%s", st->wdir, rel);
			else
				snprintf(full, sizeof(full), "%s", rel);
			size_t len = strlen(full);
			while (len > 1 && full[len - 1] == '/')
				full[--len] = 0;
			if (!c->sha) {
				rc = work_out(c, full, o);
			} else if (!o->cache) {
				rc = git_out(c, full, o);
			} else {
				for (size_t e = 0; ls && e < ls->nouts; e++)
					if (!strcmp(ls->outs[e].path, o->path) && ls->outs[e].h.md5[0]) {
						rc = cached_out(c, full, o, &ls->outs[e].h);
						break;
					}
			}
		}
	}
	tr_pipeline_free(&p);
	tr_lock_free(&lock);
	return rc;
}

/* ---- x and y ------------------------------------------------------------------------- */

static int has_key(const pl_data *d, const char *key)
{
	for (size_t i = 0; i < d->nkeys; i++)
		if (!strcmp(d->keys[i], key))
			return 1;
	return 0;
}

/*
 * DVC's defaults: x is the "step" field when the first row has one, else
 * each row's index, added as "step"; y is the last field of the first row
 * that is neither x nor "rev". The confusion templates need a field on both
 * axes: x defaults to the first field there.
 */
static void resolve_fields(pl_plot *p, size_t nrevs)
{
	p->tmpl = template_of(p->template_name, p->path);
	if (!p->template_name)
		p->template_name = "linear";
	const pl_data *first = NULL;
	for (size_t r = 0; r < nrevs && !first; r++)
		if (p->data[r].present && p->data[r].nkeys)
			first = &p->data[r];
	int confusion = p->tmpl == PL_CONFUSION || p->tmpl == PL_CONFUSION_NORMALIZED;
	if (!p->x) {
		if (confusion) {
			for (size_t k = 0; first && k < first->nkeys && !p->x; k++)
				if (strcmp(first->keys[k], "rev"))
					p->x = first->keys[k];
		} else if (!first || !has_key(first, "step")) {
			p->x_index = 1;
		}
		if (!p->x)
			p->x = "step";
	}
	for (size_t k = first ? first->nkeys : 0; !p->y && k-- > 0;)
		if (strcmp(first->keys[k], p->x) && strcmp(first->keys[k], "rev"))
			p->y = first->keys[k];
}

int pl_collect(tr_git *g, const char *root, const char *const *revs, const char (*shas)[41], size_t nrevs,
	       const pl_opts *o, pl_set *out)
{
	memset(out, 0, sizeof(*out));
	ctx c = { .s = out, .g = g, .root = root, .o = o };
	const char **copy = xd__arena_alloc(&out->a, (nrevs ? nrevs : 1) * sizeof(*copy));
	int rc = copy ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < nrevs; i++)
		if (!(copy[i] = xd__arena_strdup(&out->a, revs[i])))
			rc = live__fail(LIVE_ENOMEM, "out of memory");
	out->revs = copy;
	out->nrevs = nrevs;
	for (size_t i = 0; !rc && i < nrevs; i++) {
		c.ri = i;
		c.rev = revs[i];
		c.sha = shas[i][0] ? shas[i] : NULL;
		rc = collect_rev(&c);
	}
	if (c.tmpdir[0]) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/dvc.yaml", c.tmpdir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/dvc.lock", c.tmpdir);
		unlink(path);
		rmdir(c.tmpdir);
	}
	live__buf_free(&c.buf);
	/* Plots with no data at any revision are not plots. */
	size_t kept = 0;
	for (size_t i = 0; i < out->nplots; i++) {
		int any = 0;
		for (size_t r = 0; r < nrevs; r++)
			any |= out->plots[i].data[r].present;
		if (any)
			out->plots[kept++] = out->plots[i];
	}
	out->nplots = kept;
	for (size_t i = 0; !rc && i < out->nplots; i++)
		resolve_fields(&out->plots[i], nrevs);
	return rc;
}

void pl_set_free(pl_set *s)
{
	if (!s)
		return;
	free(s->plots);
	xd__arena_free(&s->a);
	memset(s, 0, sizeof(*s));
}
