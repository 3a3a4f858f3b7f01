/*
 * live exp show: the workspace, the baseline and every experiment commit
 * under it, with their metrics and params, as DVC 2.8's `dvc exp show`
 * prints them (reference/dvc-checkpoints.md 6.1): the rich table, or
 * --json, --csv, --md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "expdata.h"
#include "table.h"

#define MAX_FILTERS 64

/* Header backgrounds of DVC's table (xterm-256): grey93, cornsilk1, light_cyan1. */
enum { BG_FIXED = 255, BG_METRIC = 230, BG_PARAM = 195 };

typedef struct opts {
	int json, csv, md, no_pager, sha, no_timestamp, all_branches, num, precision;
	const char *sort_by;
	int desc;
	const char *filters[4][MAX_FILTERS]; /* include/exclude x metrics/params */
	int nfilters[4];
} opts;

enum { INC_M, EXC_M, INC_P, EXC_P };

/* A metric or param column: a key of a file, and the header it shows. */
typedef struct column {
	const char *path, *key;
	char *header;
	int metric;
} column;

typedef struct names {
	column *c;
	size_t n, cap;
} names;

typedef struct show {
	opts o;
	xd_baseline *b;
	size_t nb;
	names m, p;
} show;

/* ---- options ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: live exp show [--no-pager] [--json | --csv | --md] [-n N] [-a] [--sha]\n"
		   "                     [--include-metrics P] [--exclude-metrics P] [--include-params P]\n"
		   "                     [--exclude-params P] [--sort-by COL] [--sort-order asc|desc]\n"
		   "                     [--precision N] [--no-timestamp]\n");
}

/* "--name value" or "--name=value": 1 and *value set when argv[*i] is that option. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char *alt, const char **value)
{
	const char *a = argv[*i];
	for (int k = 0; k < 2; k++) {
		const char *n = k ? alt : name;
		size_t l = n ? strlen(n) : 0;
		if (!n || strncmp(a, n, l))
			continue;
		if (a[l] == '=') {
			*value = a + l + 1;
			return 1;
		}
		if (!a[l]) {
			if (*i + 1 >= argc) {
				*value = NULL;
				return 1;
			}
			*value = argv[++*i];
			return 1;
		}
	}
	return 0;
}

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_opts(int argc, char **argv, opts *o)
{
	static const char *const fnames[4] = { "--include-metrics", "--exclude-metrics", "--include-params",
					      "--exclude-params" };
	memset(o, 0, sizeof(*o));
	o->num = 1;
	o->precision = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int f;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return -2;
		} else if (!strcmp(a, "--json") || !strcmp(a, "--show-json")) {
			o->json = 1;
		} else if (!strcmp(a, "--csv") || !strcmp(a, "--show-csv")) {
			o->csv = 1;
		} else if (!strcmp(a, "--md") || !strcmp(a, "--show-md")) {
			o->md = 1;
		} else if (!strcmp(a, "--no-pager")) {
			o->no_pager = 1;
		} else if (!strcmp(a, "--sha")) {
			o->sha = 1;
		} else if (!strcmp(a, "--no-timestamp")) {
			o->no_timestamp = 1;
		} else if (!strcmp(a, "-a") || !strcmp(a, "--all-branches")) {
			o->all_branches = 1;
		} else if (opt_value(argc, argv, &i, "-n", "--num", &v)) {
			if (parse_int(v, &o->num) || o->num < 1)
				return cli_error("live exp show: -n/--num needs a positive number, not '%s'",
						 v ? v : "");
		} else if (opt_value(argc, argv, &i, "--precision", NULL, &v)) {
			if (parse_int(v, &o->precision))
				return cli_error("live exp show: --precision needs a number, not '%s'",
						 v ? v : "");
		} else if (opt_value(argc, argv, &i, "--sort-by", NULL, &v)) {
			if (!(o->sort_by = v))
				return cli_error("live exp show: --sort-by needs a column");
		} else if (opt_value(argc, argv, &i, "--sort-order", NULL, &v)) {
			if (!v || (strcmp(v, "asc") && strcmp(v, "desc")))
				return cli_error("live exp show: --sort-order is 'asc' or 'desc'");
			o->desc = !strcmp(v, "desc");
		} else {
			for (f = 0; f < 4; f++)
				if (opt_value(argc, argv, &i, fnames[f], NULL, &v))
					break;
			if (f == 4) {
				usage(stderr);
				return cli_error("live exp show: unknown option '%s'", a);
			}
			if (!v)
				return cli_error("live exp show: %s needs a pattern", fnames[f]);
			if (o->nfilters[f] == MAX_FILTERS)
				return cli_error("live exp show: too many %s options", fnames[f]);
			o->filters[f][o->nfilters[f]++] = v;
		}
	}
	if (o->json + o->csv + o->md > 1)
		return cli_error("live exp show: --json, --csv and --md exclude each other");
	return 0;
}

/* ---- columns (DVC's _collect_names, _filter_names, _normalize_headers) --------- */

static int names_add(names *n, const char *path, const char *key, int metric)
{
	/* A key joins its file's group, after the keys the file already has. */
	size_t at = n->n;
	for (size_t i = 0; i < n->n; i++) {
		if (strcmp(n->c[i].path, path))
			continue;
		if (!strcmp(n->c[i].key, key))
			return 0;
		at = i + 1;
	}
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 16;
		column *c = realloc(n->c, cap * sizeof(*c));
		if (!c)
			return live__fail(LIVE_ENOMEM, "out of memory");
		n->c = c;
		n->cap = cap;
	}
	memmove(&n->c[at + 1], &n->c[at], (n->n - at) * sizeof(*n->c));
	n->c[at] = (column){ path, key, NULL, metric };
	n->n++;
	return 0;
}

static int names_from(names *n, const xd_file *const *files, size_t nfiles, int metric, const xd_file **last)
{
	for (size_t f = 0; f < nfiles; f++) {
		/* Rows share parsed files: a file seen just before adds nothing new. */
		if (files[f] == last[f % 8])
			continue;
		last[f % 8] = files[f];
		for (size_t k = 0; k < files[f]->n; k++) {
			int rc = names_add(n, files[f]->path, files[f]->e[k].key, metric);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* "path:a,b" -> "path:a", "path:b"; a pattern without a path matches in every file. */
static int filter_match(const column *c, const char *pattern)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", pattern);
	const char *colon = strrchr(buf, ':');
	const char *path = NULL, *list = buf;
	if (colon) {
		buf[colon - buf] = 0;
		path = buf;
		list = colon + 1;
	}
	if (path && strcmp(path, c->path))
		return 0;
	char items[1024];
	snprintf(items, sizeof(items), "%s", list);
	for (char *save, *it = strtok_r(items, ",", &save); it; it = strtok_r(NULL, ",", &save))
		if (fnmatch(it, c->key, 0) == 0)
			return 1;
	return 0;
}

static void names_filter(names *n, const char *const *inc, int ninc, const char *const *exc, int nexc)
{
	if (ninc) {
		/* Included columns come in the order of the patterns that name them. */
		column *kept = malloc((n->n ? n->n : 1) * sizeof(*kept));
		char *taken = calloc(n->n ? n->n : 1, 1);
		size_t k = 0;
		for (int f = 0; kept && taken && f < ninc; f++)
			for (size_t i = 0; i < n->n; i++)
				if (!taken[i] && filter_match(&n->c[i], inc[f])) {
					taken[i] = 1;
					kept[k++] = n->c[i];
				}
		if (kept && taken && k)
			memcpy(n->c, kept, k * sizeof(*kept));
		if (kept && taken)
			n->n = k;
		free(kept);
		free(taken);
	}
	size_t w = 0;
	for (size_t i = 0; i < n->n; i++) {
		int drop = 0;
		for (int f = 0; f < nexc && !drop; f++)
			drop = filter_match(&n->c[i], exc[f]);
		if (!drop)
			n->c[w++] = n->c[i];
	}
	n->n = w;
}

/* A key that two files share, or that a fixed column has, is shown as path:key. */
static int name_headers(show *s)
{
	static const char *const fixed[] = { "Experiment", "rev",   "typ",     "Created",
					     "parent",     "State", "Executor" };
	names *all[2] = { &s->m, &s->p };
	for (int g = 0; g < 2; g++)
		for (size_t i = 0; i < all[g]->n; i++) {
			column *c = &all[g]->c[i];
			int count = 0;
			for (int h = 0; h < 2; h++)
				for (size_t k = 0; k < all[h]->n; k++)
					count += !strcmp(all[h]->c[k].key, c->key);
			for (size_t k = 0; k < sizeof(fixed) / sizeof(*fixed); k++)
				count += !strcmp(fixed[k], c->key);
			size_t len = strlen(c->path) + strlen(c->key) + 2;
			if (!(c->header = malloc(len)))
				return live__fail(LIVE_ENOMEM, "out of memory");
			if (count == 1)
				snprintf(c->header, len, "%s", c->key);
			else
				snprintf(c->header, len, "%s:%s", c->path, c->key);
		}
	return 0;
}

static int collect_names(show *s)
{
	const xd_file *lastm[8] = { 0 }, *lastp[8] = { 0 };
	int rc = 0;
	for (size_t i = 0; !rc && i < s->nb; i++)
		for (size_t k = 0; !rc && k <= s->b[i].nexps; k++) {
			const xd_exp *e = k ? s->b[i].exps[k - 1] : &s->b[i].base;
			rc = names_from(&s->m, e->data.metrics, e->data.nmetrics, 1, lastm);
			if (!rc)
				rc = names_from(&s->p, e->data.params, e->data.nparams, 0, lastp);
		}
	if (rc)
		return rc;
	const opts *o = &s->o;
	names_filter(&s->m, o->filters[INC_M], o->nfilters[INC_M], o->filters[EXC_M], o->nfilters[EXC_M]);
	names_filter(&s->p, o->filters[INC_P], o->nfilters[INC_P], o->filters[EXC_P], o->nfilters[EXC_P]);
	return name_headers(s);
}

static const xd_file *file_of(const xd_exp *e, const column *c)
{
	const xd_file *const *files = c->metric ? e->data.metrics : e->data.params;
	size_t n = c->metric ? e->data.nmetrics : e->data.nparams;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i]->path, c->path))
			return files[i];
	return NULL;
}

/* ---- sorting (DVC's _sort_column, _sort_exp) ------------------------------------ */

static const column *sort_column(show *s)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", s->o.sort_by);
	char *colon = strrchr(buf, ':');
	const char *path = NULL, *key = buf;
	if (colon) {
		*colon = 0;
		path = buf;
		key = colon + 1;
	}
	const column *found = NULL;
	char matched[2048] = "";
	int count = 0;
	names *all[2] = { &s->m, &s->p };
	for (int g = 0; g < 2; g++)
		for (size_t i = 0; i < all[g]->n; i++) {
			const column *c = &all[g]->c[i];
			if (strcmp(c->key, key) || (path && strcmp(c->path, path)))
				continue;
			found = c;
			size_t l = strlen(matched);
			snprintf(matched + l, sizeof(matched) - l, "%s%s:%s", count++ ? ", " : "", c->path,
				 c->key);
		}
	if (count == 1)
		return found;
	if (count > 1)
		cli_error("Ambiguous sort column '%s' matched '%s'", s->o.sort_by, matched);
	else
		cli_error("Unknown sort column '%s'", s->o.sort_by);
	return NULL;
}

typedef struct sort_item {
	xd_exp *e;
	const xd_value *v; /* the tip's value, NULL if none */
	size_t index;
} sort_item;

static int sort_desc;

static int by_value(const void *pa, const void *pb)
{
	const sort_item *a = pa, *b = pb;
	/* key (value is None, value); reverse keeps equal items in order, as Python's sorted does */
	int c = (a->v == NULL) - (b->v == NULL);
	if (!c && a->v)
		c = xd_compare(a->v, b->v);
	if (sort_desc)
		c = -c;
	return c ? c : (a->index < b->index ? -1 : 1);
}

static int sort_baseline(xd_baseline *b, const column *col, int desc)
{
	sort_item *items = calloc(b->nexps ? b->nexps : 1, sizeof(*items));
	if (!items)
		return live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->nexps; i++) {
		const xd_exp *by = b->exps[i];
		if (by->tip && strcmp(by->tip, by->sha) && xd_find(b, by->tip))
			by = xd_find(b, by->tip); /* a chain sorts by its tip */
		const xd_entry *en = xd_get(file_of(by, col), col->key);
		items[i] = (sort_item){ b->exps[i], en && en->v.kind != XD_NULL ? &en->v : NULL, i };
	}
	sort_desc = desc;
	qsort(items, b->nexps, sizeof(*items), by_value);
	for (size_t i = 0; i < b->nexps; i++)
		b->exps[i] = items[i].e;
	free(items);
	return 0;
}

/* ---- rows (DVC's _collect_rows and prepare_exp_id) ------------------------------ */

enum typ { T_BASELINE, T_TIP, T_COMMIT, T_BASE, T_BRANCH_COMMIT, T_BRANCH_BASE };
static const char *const typ_name[] = { "baseline", "checkpoint_tip", "checkpoint_commit", "checkpoint_base",
					"branch_commit", "branch_base" };
static const char *const typ_glyph[] = { "", "│ ╓", "│ ╟", "├─╨", "├──", "└──" };

static void format_time(const xd_exp *e, int iso, const char *fill, char *out, size_t size)
{
	if (!e->sha[0]) {
		snprintf(out, size, "%s", fill);
		return;
	}
	time_t t = (time_t)e->time, now = time(NULL);
	struct tm tm, today;
	localtime_r(&t, &tm);
	localtime_r(&now, &today);
	int is_today = tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday;
	const char *f = iso ? "%Y-%m-%dT%H:%M:%S" : is_today ? "%I:%M %p" : "%b %d, %Y";
	if (!strftime(out, size, f, &tm))
		snprintf(out, size, "%s", fill);
}

static int add_value_cells(tb_table *t, const xd_exp *e, size_t col0, const names *n, const char *fill,
			   int precision, live__buf *buf)
{
	for (size_t i = 0; i < n->n; i++) {
		const xd_file *f = file_of(e, &n->c[i]);
		const xd_entry *en = f ? xd_get(f, n->c[i].key) : NULL;
		buf->len = 0;
		int rc = 0;
		if (f && f->error)
			rc = xd_puts(buf, "!");
		else if (!en || en->v.kind == XD_NULL)
			rc = xd_puts(buf, fill);
		else
			rc = xd_format(&en->v, precision, buf);
		if (!rc)
			rc = tb_cell_set(t, col0 + i, buf->data ? buf->data : "", buf->len, 0, 0);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Columns: Experiment, rev, typ, Created, parent, metrics..., params...;
 * for the rich table and --md, rev, typ and parent are merged into
 * Experiment with the tree glyph (DVC drops State and Executor when empty,
 * and they always are here).
 */
static int build_table(show *s, tb_table *t)
{
	int csv = s->o.csv, rc = 0;
	const char *fill = csv ? "" : "-";
	int precision = s->o.precision >= 0 ? s->o.precision : csv ? 0 : 5;
	static const char *const fixed[] = { "Experiment", "rev", "typ", "Created", "parent" };
	for (size_t i = 0; !rc && i < 5; i++)
		if ((csv || i == 0 || i == 3) && !(i == 3 && s->o.no_timestamp))
			rc = tb_col_add(t, fixed[i], 0, i == 0, 0, BG_FIXED);
	size_t col0 = t->ncols;
	for (size_t i = 0; !rc && i < s->m.n; i++)
		rc = tb_col_add(t, s->m.c[i].header, 1, 1, i != 0, BG_METRIC);
	for (size_t i = 0; !rc && i < s->p.n; i++)
		rc = tb_col_add(t, s->p.c[i].header, 0, 0, i != 0, BG_PARAM);
	live__buf buf = { 0 };
	for (size_t bi = 0; !rc && bi < s->nb; bi++) {
		xd_baseline *b = &s->b[bi];
		int new_checkpoint = 1;
		for (size_t i = 0; !rc && i <= b->nexps; i++) {
			const xd_exp *e = i ? b->exps[i - 1] : &b->base;
			enum typ typ = T_BASELINE;
			const char *parent = "";
			if (i) {
				const xd_exp *pe = e->parent ? xd_find(b, e->parent) : NULL;
				int same = e->tip && pe && pe->tip && !strcmp(e->tip, pe->tip);
				if (e->tip && same)
					typ = new_checkpoint ? T_TIP : T_COMMIT;
				else if (e->tip && e->parent && !strcmp(e->parent, b->rev))
					typ = T_BASE;
				else if (e->tip)
					typ = T_COMMIT, parent = e->parent ? e->parent : "";
				else
					typ = i < b->nexps ? T_BRANCH_COMMIT : T_BRANCH_BASE;
				new_checkpoint = !same;
			}
			char rev[16], created[64];
			snprintf(rev, sizeof(rev), "%.7s", e->sha);
			if (!e->sha[0])
				snprintf(rev, sizeof(rev), "workspace");
			format_time(e, csv, fill, created, sizeof(created));
			rc = tb_row_add(t, typ == T_BASELINE);
			size_t c = 0;
			buf.len = 0;
			if (csv) {
				char par[8];
				snprintf(par, sizeof(par), "%.7s", parent);
				const char *name = e->name ? e->name : "";
				const char *cells[] = { name, rev, typ_name[typ], created, par };
				for (int k = 0; !rc && k < 5; k++)
					if (k != 3 || !s->o.no_timestamp)
						rc = tb_cell_set(t, c++, cells[k], strlen(cells[k]), 0, 0);
			} else {
				size_t bold_from = 0, bold_len = 0;
				if (typ == T_BASELINE) {
					rc = xd_puts(&buf, e->name ? e->name : rev);
				} else {
					rc = xd_printf(&buf, "%s %s", typ_glyph[typ], rev);
					if (!rc && e->name) {
						bold_from = buf.len + 2;
						bold_len = strlen(e->name);
						rc = xd_printf(&buf, " [%s]", e->name);
					}
					if (!rc && parent[0])
						rc = xd_printf(&buf, " (%.7s)", parent);
				}
				if (!rc)
					rc = tb_cell_set(t, c++, buf.data, buf.len, bold_from, bold_len);
				if (!rc && !s->o.no_timestamp)
					rc = tb_cell_set(t, c++, created, strlen(created), 0, 0);
			}
			if (!rc)
				rc = add_value_cells(t, e, col0, &s->m, fill, precision, &buf);
			if (!rc)
				rc = add_value_cells(t, e, col0 + s->m.n, &s->p, fill, precision, &buf);
		}
	}
	live__buf_free(&buf);
	return rc;
}

/* ---- --json ------------------------------------------------------------------------ */

static int json_files(live__buf *b, const char *key, const xd_file *const *files, size_t n)
{
	int rc = xd_printf(b, "\"%s\": {", key);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = xd_puts(b, i ? ", " : "");
		if (!rc)
			rc = xd_json_string(files[i]->path, b);
		if (!rc && files[i]->error) {
			rc = xd_puts(b, ": {\"error\": {\"type\": \"ParseError\", \"msg\": ");
			if (!rc)
				rc = xd_json_string(files[i]->error, b);
			if (!rc)
				rc = xd_puts(b, "}}");
		} else if (!rc) {
			rc = xd_puts(b, ": {\"data\": ");
			if (!rc)
				rc = xd_json_entries(files[i], b);
			if (!rc)
				rc = xd_puts(b, "}");
		}
	}
	return rc ? rc : xd_puts(b, "}");
}

/* One commit's {"data": {...}} in the key order of DVC's _collect_experiment_commit. */
static int json_exp(live__buf *b, const xd_exp *e, int baseline)
{
	int rc = xd_puts(b, "{\"data\": {");
	if (!rc && !baseline && e->tip)
		rc = xd_printf(b, "\"checkpoint_tip\": \"%s\", ", e->tip);
	if (!rc && e->sha[0]) {
		char ts[64];
		format_time(e, 1, "", ts, sizeof(ts));
		rc = xd_printf(b, "\"timestamp\": \"%s\", ", ts);
	} else if (!rc) {
		rc = xd_puts(b, "\"timestamp\": null, ");
	}
	if (!rc && e->data.nparams) {
		rc = json_files(b, "params", e->data.params, e->data.nparams);
		if (!rc)
			rc = xd_puts(b, ", ");
	}
	if (!rc)
		rc = xd_puts(b, "\"queued\": false, \"running\": false, \"executor\": null, ");
	if (!rc)
		rc = json_files(b, "metrics", e->data.metrics, e->data.nmetrics);
	if (!rc && e->name) {
		rc = xd_puts(b, ", \"name\": ");
		if (!rc)
			rc = xd_json_string(e->name, b);
	}
	if (!rc && !baseline && e->parent)
		rc = xd_printf(b, ", \"checkpoint_parent\": \"%s\"", e->parent);
	return rc ? rc : xd_puts(b, "}}");
}

static int show_json(show *s)
{
	live__buf b = { 0 };
	int rc = xd_puts(&b, "{");
	for (size_t i = 0; !rc && i < s->nb; i++) {
		const xd_baseline *bl = &s->b[i];
		rc = xd_printf(&b, "%s\"%s\": {\"baseline\": ", i ? ", " : "", bl->rev);
		if (!rc)
			rc = json_exp(&b, &bl->base, 1);
		for (size_t k = 0; !rc && k < bl->nexps; k++) {
			rc = xd_printf(&b, ", \"%s\": ", bl->exps[k]->sha);
			if (!rc)
				rc = json_exp(&b, bl->exps[k], 0);
		}
		if (!rc)
			rc = xd_puts(&b, "}");
	}
	if (!rc)
		rc = xd_puts(&b, "}\n");
	if (!rc)
		rc = tb_write(b.data, b.len, 0);
	live__buf_free(&b);
	return rc;
}

/* ---- the command ------------------------------------------------------------------- */

static void free_names(names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->c[i].header);
	free(n->c);
}

int cmd_exp_show(int argc, char **argv)
{
	show s;
	memset(&s, 0, sizeof(s));
	int prc = parse_opts(argc, argv, &s.o);
	if (prc)
		return prc == -2 ? 0 : prc;
	char root[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 1))
		return 1;
	if (chdir(root) != 0)
		return cli_error("cannot enter %s: %s", root, strerror(errno));
	xd_repo *r = NULL;
	tb_table t = { 0 };
	int rc = xd_open(root, &r);
	xd_show_opts so = { s.o.num, s.o.all_branches, s.o.sha };
	if (!rc)
		rc = xd_show(r, &so, &s.b, &s.nb);
	if (rc) {
		cli_error("failed to show experiments: %s", live_errmsg());
		goto out;
	}
	if (s.o.json) {
		rc = show_json(&s);
		goto done;
	}
	rc = collect_names(&s);
	if (!rc && s.o.sort_by) {
		const column *col = sort_column(&s);
		if (!col) {
			rc = 1;
			goto out;
		}
		for (size_t i = 0; !rc && i < s.nb; i++)
			rc = sort_baseline(&s.b[i], col, s.o.desc);
	}
	if (!rc)
		rc = build_table(&s, &t);
	if (!rc && (s.o.csv || s.o.md)) {
		live__buf b = { 0 };
		rc = s.o.csv ? tb_render_csv(&t, &b) : tb_render_plain(&t, 1, &b);
		/* DVC: "md table is incomplete without the trailing newline", and prints one more */
		if (!rc && s.o.md)
			rc = xd_puts(&b, "\n");
		if (!rc)
			rc = tb_write(b.data, b.len, 0);
		live__buf_free(&b);
	} else if (!rc) {
		rc = tb_show(&t, s.o.no_pager);
	}
done:
	if (rc)
		cli_error("failed to show experiments: %s", live_errmsg());
out:
	tb_free(&t);
	free_names(&s.m);
	free_names(&s.p);
	xd_show_free(s.b, s.nb);
	xd_close(r);
	return rc ? 1 : 0;
}
