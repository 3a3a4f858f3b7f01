/*
 * live metrics show [REV], live metrics diff [A] [B], live params diff [A] [B]:
 * DVC 2.8's tables (reference/dvc-checkpoints.md 6.2). A revision is a sha
 * (full or short), an experiment name, a branch, a tag, HEAD~1, or
 * "workspace"; diffs default to HEAD against the workspace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "expdata.h"
#include "table.h"

typedef struct mopts {
	const char *revs[2];
	int nrevs;
	int json, md, all, no_path, precision;
} mopts;

static int parse(int argc, char **argv, const char *usage, int maxrevs, mopts *o)
{
	memset(o, 0, sizeof(*o));
	o->precision = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: %s\n", usage);
			return -2;
		} else if (!strcmp(a, "--json") || !strcmp(a, "--show-json")) {
			o->json = 1;
		} else if (!strcmp(a, "--md") || !strcmp(a, "--show-md")) {
			o->md = 1;
		} else if (!strcmp(a, "--all") && maxrevs == 2) {
			o->all = 1;
		} else if (!strcmp(a, "--no-path")) {
			o->no_path = 1;
		} else if (!strncmp(a, "--precision", 11) && (a[11] == '=' || !a[11])) {
			const char *v = a[11] == '=' ? a + 12 : i + 1 < argc ? argv[++i] : "";
			char *end;
			errno = 0;
			long p = strtol(v, &end, 10);
			if (!*v || *end || errno || p < 0 || p > 300)
				return cli_error("--precision needs a number from 0 to 300, not '%s'", v);
			o->precision = (int)p;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "usage: %s\n", usage);
			return cli_error("unknown option '%s'", a);
		} else if (o->nrevs < maxrevs) {
			o->revs[o->nrevs++] = a;
		} else {
			fprintf(stderr, "usage: %s\n", usage);
			return cli_error("too many revisions: '%s'", a);
		}
	}
	if (o->json && o->md)
		return cli_error("--json and --md exclude each other");
	return 0;
}

static int open_repo(xd_repo **r)
{
	char root[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 1))
		return 1;
	if (chdir(root) != 0)
		return cli_error("cannot enter %s: %s", root, strerror(errno));
	if (xd_open(root, r))
		return cli_error("%s", live_errmsg());
	return 0;
}

/* The data at a revision; `optional`: an unborn HEAD gives nothing rather than an error. */
static int data_at(xd_repo *r, const char *rev, int optional, xd_data *d)
{
	char sha[41];
	memset(d, 0, sizeof(*d));
	if (xd_resolve(r, rev, sha)) {
		if (optional)
			return 0;
		return cli_error("%s", live_errmsg());
	}
	if (xd_collect(r, sha, d))
		return cli_error("%s: %s", rev, live_errmsg());
	return 0;
}

static void warn_errors(const char *rev, const xd_file *const *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (files[i]->error)
			fprintf(stderr, "WARNING: unable to parse '%s' at '%s': %s\n", files[i]->path, rev,
				files[i]->error);
}

static int print_table(const tb_table *t, int md)
{
	live__buf b = { 0 };
	int rc = 0;
	/* DVC prints nothing for an empty plain table, and the header for --md. */
	if (t->nrows || md)
		rc = tb_render_plain(t, md, &b);
	if (!rc && md)
		rc = xd_puts(&b, "\n");
	if (!rc)
		rc = tb_write(b.data ? b.data : "", b.len, 0);
	live__buf_free(&b);
	return rc ? cli_error("%s", live_errmsg()) : 0;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted distinct strings. */
typedef struct strset {
	const char **v;
	size_t n, cap;
} strset;

static int set_add(strset *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		const char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

static void set_sort(strset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), by_str);
}

/* ---- metrics show --------------------------------------------------------------- */

int cmd_metrics_show(int argc, char **argv)
{
	mopts o;
	int rc = parse(argc, argv, "live metrics show [REV] [--json | --md] [--precision N]", 1, &o);
	if (rc)
		return rc == -2 ? 0 : rc;
	const char *rev = o.nrevs ? o.revs[0] : "workspace";
	int precision = o.precision >= 0 ? o.precision : 5;
	xd_repo *r = NULL;
	xd_data d;
	if (open_repo(&r) || data_at(r, rev, 0, &d)) {
		xd_close(r);
		return 1;
	}
	warn_errors(rev, d.metrics, d.nmetrics);
	live__buf b = { 0 };
	tb_table t = { 0 };
	strset keys = { 0 };
	if (o.json) {
		/* {rev: {"data": {path: {"data": {...}}}}} */
		rc = xd_puts(&b, "{");
		rc = rc ? rc : xd_json_string(rev, &b);
		rc = rc ? rc : xd_puts(&b, ": {\"data\": {");
		for (size_t i = 0; !rc && i < d.nmetrics; i++) {
			rc = xd_puts(&b, i ? ", " : "");
			rc = rc ? rc : xd_json_string(d.metrics[i]->path, &b);
			rc = rc ? rc : xd_puts(&b, ": {\"data\": ");
			rc = rc ? rc : xd_json_entries(d.metrics[i], &b);
			rc = rc ? rc : xd_puts(&b, "}");
		}
		rc = rc ? rc : xd_puts(&b, "}}}\n");
		rc = rc ? rc : tb_write(b.data, b.len, 0);
		if (rc)
			rc = cli_error("%s", live_errmsg());
		goto out;
	}
	if (!d.nmetrics) {
		rc = cli_error("no metrics files in this repository: a stage names them with `metrics:`, or "
			       "`live:` for the live summary");
		goto out;
	}
	for (size_t i = 0; !rc && i < d.nmetrics; i++)
		for (size_t k = 0; !rc && k < d.metrics[i]->n; k++)
			rc = set_add(&keys, d.metrics[i]->e[k].key);
	set_sort(&keys);
	if (!o.no_path)
		rc = rc ? rc : tb_col_add(&t, "Path", 0, 0, 0, 0);
	for (size_t k = 0; !rc && k < keys.n; k++)
		rc = tb_col_add(&t, keys.v[k], 0, 0, 0, 0);
	for (size_t i = 0; !rc && i < d.nmetrics; i++) {
		size_t c = 0;
		rc = tb_row_add(&t, 0);
		if (!rc && !o.no_path)
			rc = tb_cell_set(&t, c++, d.metrics[i]->path, strlen(d.metrics[i]->path), 0, 0);
		for (size_t k = 0; !rc && k < keys.n; k++) {
			const xd_entry *e = xd_get(d.metrics[i], keys.v[k]);
			b.len = 0;
			rc = e ? xd_format_round(&e->v, precision, &b) : xd_puts(&b, "-");
			rc = rc ? rc : tb_cell_set(&t, c++, b.data, b.len, 0, 0);
		}
	}
	rc = rc ? cli_error("%s", live_errmsg()) : print_table(&t, o.md);
out:
	free(keys.v);
	tb_free(&t);
	live__buf_free(&b);
	xd_close(r);
	return rc ? 1 : 0;
}

/* ---- diffs (DVC's dvc/utils/diff.py and compare.diff_table) ---------------------- */

static const xd_file *find_file(const xd_file *const *files, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i]->path, path))
			return files[i];
	return NULL;
}

static int is_num(const xd_value *v)
{
	return v && (v->kind == XD_INT || v->kind == XD_BOOL || v->kind == XD_FLOAT);
}

/* Python's old == new (1 == 1.0 == True; lists by their text). */
static int same(const xd_value *a, const xd_value *b, live__buf *tmp)
{
	if (!a || !b)
		return a == b;
	if (is_num(a) && is_num(b))
		return xd_compare(a, b) == 0;
	if (a->kind != b->kind)
		return 0;
	if (a->kind == XD_NULL)
		return 1;
	tmp->len = 0;
	if (xd_format(a, 0, tmp))
		return 0;
	size_t la = tmp->len;
	if (xd_format(b, 0, tmp))
		return 0;
	return tmp->len - la == la && !memcmp(tmp->data, tmp->data + la, la);
}

static xd_value minus(const xd_value *a, const xd_value *b)
{
	xd_value d = { .kind = XD_FLOAT };
	if (a->kind != XD_FLOAT && b->kind != XD_FLOAT) {
		d.kind = XD_INT;
		d.i = b->i - a->i;
	} else {
		double x = a->kind == XD_FLOAT ? a->d : (double)a->i;
		double y = b->kind == XD_FLOAT ? b->d : (double)b->i;
		d.d = y - x;
	}
	return d;
}

static int diff_cmd(int argc, char **argv, int metrics)
{
	mopts o;
	const char *usage = metrics ? "live metrics diff [A] [B] [--all] [--json | --md] [--precision N] "
				      "[--no-path]"
				    : "live params diff [A] [B] [--all] [--json | --md] [--no-path]";
	int rc = parse(argc, argv, usage, 2, &o);
	if (rc)
		return rc == -2 ? 0 : rc;
	const char *a = o.nrevs > 0 ? o.revs[0] : "HEAD", *bname = o.nrevs > 1 ? o.revs[1] : "workspace";
	/* Metrics round to 5 digits unless told; params print as Python prints them. */
	int precision = o.precision >= 0 ? o.precision : metrics ? 5 : -1;
	xd_repo *r = NULL;
	xd_data da, db;
	if (open_repo(&r) || data_at(r, a, o.nrevs == 0, &da) || data_at(r, bname, 0, &db)) {
		xd_close(r);
		return 1;
	}
	const xd_file *const *fa = metrics ? da.metrics : da.params;
	const xd_file *const *fb = metrics ? db.metrics : db.params;
	size_t na = metrics ? da.nmetrics : da.nparams, nb = metrics ? db.nmetrics : db.nparams;
	warn_errors(a, fa, na);
	warn_errors(bname, fb, nb);
	strset paths = { 0 }, keys = { 0 };
	for (size_t i = 0; !rc && i < na + nb; i++)
		rc = set_add(&paths, i < na ? fa[i]->path : fb[i - na]->path);
	set_sort(&paths);
	tb_table t = { 0 };
	live__buf b = { 0 }, tmp = { 0 };
	const char *heads[] = { "Path", metrics ? "Metric" : "Param", a, bname, "Change" };
	for (int h = 0; !rc && h < (metrics ? 5 : 4); h++)
		if (h || !o.no_path)
			rc = tb_col_add(&t, heads[h], 0, 0, 0, 0);
	rc = rc ? rc : xd_puts(&b, "{");
	int any_path = 0;
	for (size_t p = 0; !rc && p < paths.n; p++) {
		const xd_file *x = find_file(fa, na, paths.v[p]), *y = find_file(fb, nb, paths.v[p]);
		keys.n = 0;
		for (size_t k = 0; !rc && x && k < x->n; k++)
			rc = set_add(&keys, x->e[k].key);
		for (size_t k = 0; !rc && y && k < y->n; k++)
			rc = set_add(&keys, y->e[k].key);
		set_sort(&keys);
		int any_key = 0;
		for (size_t k = 0; !rc && k < keys.n; k++) {
			const xd_entry *ex = xd_get(x, keys.v[k]), *ey = xd_get(y, keys.v[k]);
			const xd_value *vo = ex ? &ex->v : NULL, *vn = ey ? &ey->v : NULL;
			if (!o.all && same(vo, vn, &tmp))
				continue;
			int has_diff = is_num(vo) && is_num(vn);
			xd_value d = has_diff ? minus(vo, vn) : (xd_value){ .kind = XD_NULL };
			if (o.json) {
				if (!any_key)
					rc = xd_printf(&b, "%s", any_path++ ? ", " : "");
				rc = rc ? rc : any_key ? 0 : xd_json_string(paths.v[p], &b);
				rc = rc ? rc : xd_puts(&b, any_key ? ", " : ": {");
				rc = rc ? rc : xd_json_string(keys.v[k], &b);
				rc = rc ? rc : xd_puts(&b, ": {\"old\": ");
				rc = rc ? rc : vo ? xd_json_value(vo, &b) : xd_puts(&b, "null");
				rc = rc ? rc : xd_puts(&b, ", \"new\": ");
				rc = rc ? rc : vn ? xd_json_value(vn, &b) : xd_puts(&b, "null");
				if (!rc && has_diff) {
					rc = xd_puts(&b, ", \"diff\": ");
					rc = rc ? rc : xd_json_value(&d, &b);
				}
				rc = rc ? rc : xd_puts(&b, "}");
				any_key = 1;
				continue;
			}
			const xd_value *cells[3] = { vo, vn, has_diff ? &d : NULL };
			size_t c = 0;
			rc = tb_row_add(&t, 0);
			if (!rc && !o.no_path)
				rc = tb_cell_set(&t, c++, paths.v[p], strlen(paths.v[p]), 0, 0);
			rc = rc ? rc : tb_cell_set(&t, c++, keys.v[k], strlen(keys.v[k]), 0, 0);
			for (int v = 0; !rc && v < (metrics ? 3 : 2); v++) {
				tmp.len = 0;
				if (!cells[v] || cells[v]->kind == XD_NULL)
					rc = xd_puts(&tmp, "-");
				else
					rc = precision >= 0 ? xd_format_round(cells[v], precision, &tmp)
							    : xd_format(cells[v], 0, &tmp);
				rc = rc ? rc : tb_cell_set(&t, c++, tmp.data, tmp.len, 0, 0);
			}
		}
		if (!rc && any_key)
			rc = xd_puts(&b, "}");
	}
	rc = rc ? rc : xd_puts(&b, "}\n");
	if (rc)
		rc = cli_error("%s", live_errmsg());
	else if (o.json)
		rc = tb_write(b.data, b.len, 0) ? cli_error("%s", live_errmsg()) : 0;
	else
		rc = print_table(&t, o.md);
	free(paths.v);
	free(keys.v);
	tb_free(&t);
	live__buf_free(&b);
	live__buf_free(&tmp);
	xd_close(r);
	return rc ? 1 : 0;
}

int cmd_metrics_diff(int argc, char **argv)
{
	return diff_cmd(argc, argv, 1);
}

int cmd_params_diff(int argc, char **argv)
{
	return diff_cmd(argc, argv, 0);
}
