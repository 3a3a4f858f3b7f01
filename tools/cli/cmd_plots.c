/*
 * live plots show [TARGET...] and live plots diff [REV...] (reference/
 * dvc-checkpoints.md 6.3; the tutorial's "Looking at plots"): the plot files
 * of the workspace or of revisions, drawn as one self-contained page,
 * plots.html in the current folder as DVC up to 2.6 wrote it (-o for another
 * path), and its file:// address printed; or, with --json, their datapoints.
 *
 * Revisions, as DVC 2.8 takes them: `show` is the workspace; `diff` with
 * none is the workspace, after HEAD when a tracked file differs from HEAD;
 * with one, that revision and the workspace; with several, those. Each is
 * named as typed, the work tree "workspace".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "plots.h"
#include "table.h"

#define MAX_REVS 64

static const char no_plots[] = "No plots were loaded, visualization file will not be created.";

typedef struct popts {
	const char *revs[MAX_REVS];
	size_t nrevs;
	const char *targets[MAX_REVS];
	size_t ntargets;
	const char *out;
	int json;
	pl_opts p;
} popts;

static int value_of(int argc, char **argv, int *i, const char *name, const char **out)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (!strncmp(a, name, n) && a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	if (strcmp(a, name))
		return 0;
	if (*i + 1 >= argc) {
		cli_error("%s needs a value", name);
		return -1;
	}
	*out = argv[++*i];
	return 1;
}

static int parse(int argc, char **argv, int diff, popts *o)
{
	const char *usage = diff ? "live plots diff [REV...] [--targets PATH...] [-o PATH | --json] "
				   "[-t TEMPLATE] [-x FIELD] [-y FIELD]"
				 : "live plots show [TARGET...] [-o PATH | --json] [-t TEMPLATE] [-x FIELD] "
				   "[-y FIELD]";
	memset(o, 0, sizeof(*o));
	int in_targets = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int got = 0;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: %s\n", usage);
			return -2;
		}
		if (!strcmp(a, "--json") || !strcmp(a, "--show-json")) {
			o->json = 1;
			continue;
		}
		if (diff && !strcmp(a, "--targets")) {
			in_targets = 1; /* as DVC's nargs="*": the words that follow */
			continue;
		}
		if ((got = value_of(argc, argv, &i, "-o", &v)) ||
		    (got = value_of(argc, argv, &i, "--out", &v)))
			o->out = v;
		else if ((got = value_of(argc, argv, &i, "-t", &v)) ||
			 (got = value_of(argc, argv, &i, "--template", &v)))
			o->p.template_ = v;
		else if ((got = value_of(argc, argv, &i, "-x", &v)))
			o->p.x = v;
		else if ((got = value_of(argc, argv, &i, "-y", &v)))
			o->p.y = v;
		if (got < 0)
			return 1;
		if (got) {
			in_targets = 0;
			continue;
		}
		if (a[0] == '-' && a[1]) {
			fprintf(stderr, "usage: %s\n", usage);
			return cli_error("unknown option '%s'", a);
		}
		int target = !diff || in_targets;
		size_t *n = target ? &o->ntargets : &o->nrevs;
		if (*n == MAX_REVS)
			return cli_error("too many %s: at most %d", target ? "targets" : "revisions",
					 MAX_REVS);
		(target ? o->targets : o->revs)[(*n)++] = a;
	}
	if (o->json && o->out)
		return cli_error("--json prints the data: it writes no file for -o");
	o->p.targets = o->targets;
	o->p.ntargets = o->ntargets;
	return 0;
}

/* The revisions to read, as DVC's _revisions() picks them; `shas` "" for the work tree. */
static int pick_revs(tr_git *g, int diff, popts *o, const char **revs, char (*shas)[41], size_t *n)
{
	*n = 0;
	if (diff && o->nrevs == 0) {
		char head[41];
		char **paths = NULL;
		size_t changed = 0;
		if (tr_git_head(g, head) == 0 && tr_git_changed_paths(g, head, &paths, &changed) == 0 &&
		    changed)
			revs[(*n)++] = "HEAD";
		tr_strv_free(paths, changed);
	}
	for (size_t i = 0; diff && i < o->nrevs; i++)
		revs[(*n)++] = o->revs[i];
	if (!diff || o->nrevs <= 1)
		revs[(*n)++] = "workspace";
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		int dup = 0;
		for (size_t k = 0; k < kept; k++)
			dup |= !strcmp(revs[k], revs[i]);
		if (dup)
			continue;
		revs[kept] = revs[i];
		if (!strcmp(revs[i], "workspace"))
			shas[kept][0] = 0;
		else if (tr_git_resolve(g, revs[i], shas[kept]))
			return cli_error("%s", live_errmsg());
		kept++;
	}
	*n = kept;
	return 0;
}

/* ---- --json -------------------------------------------------------------------------- */

static int put_row(live__buf *b, const pl_plot *p, const char *rev, const pl_field *f, size_t nf,
		   size_t index)
{
	int rc = xd_puts(b, "      {"), any = 0;
	for (size_t k = 0; !rc && k < nf; k++) {
		/* DVC sets "rev", and "step" when it is the index; a repeated key keeps its last value */
		if (!f[k].key || !strcmp(f[k].key, "rev") || (p->x_index && !strcmp(f[k].key, "step")) ||
		    pl_get(f, nf, f[k].key) != &f[k])
			continue;
		rc = xd_puts(b, any++ ? ", " : "");
		rc = rc ? rc : xd_json_string(f[k].key, b);
		rc = rc ? rc : xd_puts(b, ": ");
		rc = rc ? rc : pl_json_field(&f[k], b);
	}
	if (!rc && p->x_index)
		rc = xd_printf(b, "%s\"step\": %zu", any++ ? ", " : "", index);
	rc = rc ? rc : xd_puts(b, any ? ", \"rev\": " : "\"rev\": ");
	rc = rc ? rc : xd_json_string(rev, b);
	return rc ? rc : xd_puts(b, "}");
}

/* {path: {"template", "x", "y", "data": [datapoints, each with its "rev"]}}, revisions in order. */
static int render_json(const pl_set *s, live__buf *b)
{
	int rc = xd_puts(b, s->nplots ? "{\n" : "{}\n");
	for (size_t i = 0; !rc && i < s->nplots; i++) {
		const pl_plot *p = &s->plots[i];
		rc = xd_puts(b, "  ");
		rc = rc ? rc : xd_json_string(p->path, b);
		rc = rc ? rc : xd_puts(b, ": {\n    \"template\": ");
		rc = rc ? rc : xd_json_string(p->template_name, b);
		rc = rc ? rc : xd_puts(b, ",\n    \"x\": ");
		rc = rc ? rc : xd_json_string(p->x, b);
		rc = rc ? rc : xd_puts(b, ",\n    \"y\": ");
		rc = rc ? rc : p->y ? xd_json_string(p->y, b) : xd_puts(b, "null");
		rc = rc ? rc : xd_puts(b, ",\n    \"data\": [");
		int any = 0;
		for (size_t r = 0; !rc && r < s->nrevs; r++) {
			pl_rows it;
			pl_rows_start(&it, &p->data[r]);
			const pl_field *f;
			size_t nf;
			for (size_t index = 0; !rc && (rc = pl_rows_next(&it, &f, &nf)) > 0; index++) {
				rc = xd_puts(b, any++ ? ",\n" : "\n");
				rc = rc ? rc : put_row(b, p, s->revs[r], f, nf, index);
			}
			pl_rows_free(&it);
		}
		rc = rc ? rc : xd_puts(b, any ? "\n    ]\n  }" : "]\n  }");
		rc = rc ? rc : xd_puts(b, i + 1 < s->nplots ? ",\n" : "\n}\n");
	}
	return rc;
}

/* ---- the page ------------------------------------------------------------------------- */

/* file:// and the path, percent-encoded as Python's Path.as_uri() does. */
static void print_uri(const char *path)
{
	fputs("file://", stdout);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("/-._~", *p))
			putchar(*p);
		else
			printf("%%%02X", *p);
	}
	putchar('\n');
}

static int write_page(const pl_set *s, const char *cwd, const char *out)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], real[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s%s%s", out[0] == '/' ? "" : cwd, out[0] == '/' ? "" : "/", out) >=
	    (int)sizeof(path))
		return cli_error("%s: path too long", out);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	live__buf b = { 0 };
	int rc = pl_render_html(s, &b);
	if (!rc)
		rc = live__write_atomic(AT_FDCWD, path, tmp, out, b.data, b.len);
	live__buf_free(&b);
	if (rc)
		return cli_error("%s", live_errmsg());
	print_uri(realpath(path, real) ? real : path);
	return 0;
}

static int plots_cmd(int argc, char **argv, int diff)
{
	popts o;
	int rc = parse(argc, argv, diff, &o);
	if (rc)
		return rc == -2 ? 0 : rc;
	char cwd[PATH_MAX], root[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_error("cannot read the current directory: %s", strerror(errno));
	if (cli_find_root(root, sizeof(root), 1))
		return 1;
	if (chdir(root) != 0)
		return cli_error("cannot enter %s: %s", root, strerror(errno));
	tr_git *g = NULL;
	if (tr_git_open(root, &g))
		return cli_error("%s", live_errmsg());
	const char *revs[MAX_REVS + 2];
	char shas[MAX_REVS + 2][41];
	size_t nrevs;
	pl_set s = { 0 };
	rc = pick_revs(g, diff, &o, revs, shas, &nrevs);
	if (!rc && pl_collect(g, root, revs, (const char(*)[41])shas, nrevs, &o.p, &s))
		rc = cli_error("%s", live_errmsg());
	if (!rc && o.json) {
		live__buf b = { 0 };
		rc = render_json(&s, &b);
		rc = rc ? rc : tb_write(b.data, b.len, 0);
		live__buf_free(&b);
		if (rc)
			rc = cli_error("%s", live_errmsg());
	} else if (!rc && !s.nplots) {
		fprintf(stderr, "%s\n", no_plots);
		rc = 1;
	} else if (!rc) {
		rc = write_page(&s, cwd, o.out ? o.out : "plots.html");
	}
	pl_set_free(&s);
	tr_git_free(g);
	return rc ? 1 : 0;
}

int cmd_plots_show(int argc, char **argv)
{
	return plots_cmd(argc, argv, 0);
}

int cmd_plots_diff(int argc, char **argv)
{
	return plots_cmd(argc, argv, 1);
}
