/*
 * `live plots show` and `live plots diff` (reference/dvc-checkpoints.md 6.3):
 * the plot files of a few revisions, found and read by plots_data.c, parsed
 * by plots_rows.c, drawn as one self-contained page by plots_html.c;
 * cmd_plots.c is the command (and its --json).
 *
 * A plot file is every out with `plots:` in a stage of dvc.yaml, and every
 * JSON, YAML, CSV or TSV file below a stage's `live:` folder. Its rows are
 * DVC's datapoints: a JSON or YAML list of mappings (or the first such list
 * in the document), or the lines of a CSV or TSV file under its header, whose
 * values are strings, as Python's csv module reads them.
 *
 * Everything lives in the set's arena until pl_set_free().
 */
#ifndef LIVE_CLI_PLOTS_H
#define LIVE_CLI_PLOTS_H

#include <stddef.h>

#include "expdata_internal.h"

/* DVC 2.x's built-in templates. */
enum pl_template { PL_LINEAR, PL_SIMPLE, PL_SCATTER, PL_SMOOTH, PL_CONFUSION, PL_CONFUSION_NORMALIZED };

/* One value of a row: a node of a JSON or YAML file, or a CSV/TSV cell (a string). */
typedef struct pl_field {
	const char *key;
	const ynode *node; /* NULL for a CSV/TSV cell */
	const char *text;  /* the cell, or the node's text when it is a scalar */
} pl_field;

/* A plot file at one revision. */
typedef struct pl_data {
	int present;          /* the file exists at this revision and could be read */
	char format;          /* 'j' JSON or YAML (rows are nodes), ',' CSV, '\t' TSV */
	const ynode *const *rows; /* 'j': the mappings */
	const char *text;     /* CSV/TSV: the bytes after the header line */
	size_t len;
	const char *const *keys; /* CSV/TSV: the header; 'j': the first row's keys */
	size_t nkeys, nrows;  /* nrows: 'j' only */
} pl_data;

/* A plot file across the revisions. */
typedef struct pl_plot {
	const char *path;     /* relative to the repository root */
	const char *template_name; /* as dvc.yaml or -t gives it; "linear" when none does */
	enum pl_template tmpl;     /* PL_LINEAR for a name that is not a built-in template */
	const char *x, *y;    /* the fields drawn; x "step" with x_index */
	int x_index;          /* no x field: each row's index within its revision, as "step" */
	pl_data *data;        /* one per revision, in revision order */
} pl_plot;

typedef struct pl_set {
	arena a;
	const char *const *revs; /* as typed ("workspace" for the work tree) */
	size_t nrevs;
	pl_plot *plots;
	size_t nplots;
} pl_set;

/* What the command line asks for beyond dvc.yaml's props. */
typedef struct pl_opts {
	const char *template_, *x, *y;  /* override every plot's; NULL: dvc.yaml's */
	const char *const *targets;     /* only these files or folders; none: all */
	size_t ntargets;
} pl_opts;

/* ---- plots_data.c ---------------------------------------------------------- */

/*
 * The plots of each revision (shas[i] "" for the work tree), read from the
 * work tree, from git (uncached outs) or from .dvc/cache through the
 * revision's dvc.lock (cached outs), with x and y resolved as DVC does.
 * The current directory must be `root`. A file that cannot be read or parsed
 * is left out with a warning on stderr. 0 or a negative LIVE_E* code.
 */
int pl_collect(tr_git *g, const char *root, const char *const *revs, const char (*shas)[41], size_t nrevs,
	       const pl_opts *o, pl_set *out);
void pl_set_free(pl_set *s);

/* ---- plots_rows.c ---------------------------------------------------------- */

/* 'j' JSON, 'y' YAML, ',' CSV, '\t' TSV, or 0 for a file that is not data (an image, a report). */
char pl_format(const char *path);
/*
 * A file's bytes into `d` (its rows, or for CSV/TSV its header and the bytes
 * after it, copied into the arena). A file that is not a list of mappings, or
 * has no header, leaves d->present 0 with the reason in `why`. 0 or LIVE_ENOMEM.
 */
int pl_parse(arena *a, const char *path, const char *data, size_t len, pl_data *d, char *why, size_t whysize);

/* Rows of a pl_data one at a time: pl_rows_next() gives 1 and the row's fields, 0 at the end. */
typedef struct pl_rows {
	const pl_data *d;
	size_t i;         /* rows given */
	const char *p;    /* CSV/TSV: the next line */
	char *cells;      /* CSV/TSV: the current row's cells, NUL-terminated */
	size_t cap;
	pl_field *f;
	size_t nf, capf;
} pl_rows;

void pl_rows_start(pl_rows *it, const pl_data *d);
int pl_rows_next(pl_rows *it, const pl_field **f, size_t *n);
void pl_rows_free(pl_rows *it);

/* The field `key` of a row, or NULL. */
const pl_field *pl_get(const pl_field *f, size_t n, const char *key);
/* A value as a number, as Vega reads a quantitative field: 1 if it is one (is_int: written as an integer). */
int pl_number(const pl_field *f, double *out, int *is_int);
/* A value as a label (a nominal field): its text, or NULL for a mapping or a list. */
const char *pl_label(const pl_field *f);
/* A value as JSON (Python's json.dumps: NaN, Infinity), appended to `out`. */
int pl_json_field(const pl_field *f, live__buf *out);

/* ---- plots_html.c ----------------------------------------------------------- */

/* The page: one chart per plot, its revisions overlaid, or one count matrix per revision. */
int pl_render_html(const pl_set *s, live__buf *out);

#endif
