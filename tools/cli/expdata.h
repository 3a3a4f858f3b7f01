/*
 * What `exp show`, `metrics show/diff` and `params diff` read: the metrics
 * and params of a revision (the work tree or a commit) and the experiments
 * derived from a baseline, as DVC 2.8's repo/experiments/show.py collects them
 * (reference/dvc-checkpoints.md 6.1, 6.2).
 *
 * A commit is read through a few small blobs (dvc.yaml, the params files, the
 * metrics files and the live summary), found by path in its tree. A blob is
 * parsed once per path, however many commits share it; nothing else of the
 * tree is read. Everything returned lives in the repository handle's arena
 * until xd_close().
 */
#ifndef LIVE_CLI_EXPDATA_H
#define LIVE_CLI_EXPDATA_H

#include <stddef.h>

#include "tracker.h"

/* A value as Python's json/ruamel would load it. */
enum xd_kind { XD_NULL, XD_BOOL, XD_INT, XD_FLOAT, XD_STR, XD_LIST, XD_MAP };

typedef struct xd_value {
	enum xd_kind kind;
	long long i;                  /* XD_BOOL (0/1), XD_INT */
	double d;                     /* XD_FLOAT */
	const char *s;                /* XD_STR */
	const struct xd_value *items; /* XD_LIST items; XD_MAP values (inside lists only) */
	const char *const *keys;      /* XD_MAP keys */
	size_t n;
} xd_value;

/* One leaf of a file, its key flattened with '.' as DVC's flatten() does. */
typedef struct xd_entry {
	const char *key;
	const char *const *segs; /* the key's parts, for nested JSON */
	size_t nsegs;
	xd_value v;
} xd_entry;

/* A metrics or params file at one revision. */
typedef struct xd_file {
	const char *path;
	const char *error; /* could not be parsed: why (entries empty) */
	const xd_entry *e;
	size_t n;
} xd_file;

/* A revision's metrics files (numeric leaves only) and params files (all keys). */
typedef struct xd_data {
	const xd_file *const *metrics;
	size_t nmetrics;
	const xd_file *const *params;
	size_t nparams;
} xd_data;

typedef struct xd_repo xd_repo;

/* Open the repository at `root` (the current directory must be root). */
int xd_open(const char *root, xd_repo **out);
void xd_close(xd_repo *r);

/*
 * A revision as typed: "workspace", or anything tr_git_resolve() takes.
 * sha_out gets "" for the workspace. LIVE_ENOTFOUND "unknown revision 'x'".
 */
int xd_resolve(xd_repo *r, const char *rev, char sha_out[41]);
/* The data of a commit (40 hex), or of the work tree when `sha` is "" or NULL. */
int xd_collect(xd_repo *r, const char *sha, xd_data *out);

/* ---- exp show ------------------------------------------------------------ */

/* One row under a baseline: the baseline commit itself or an experiment commit. */
typedef struct xd_exp {
	char sha[41];       /* "" for the workspace */
	char gparent[41];   /* git first parent ("" for a root) */
	long long time;     /* committer time; the workspace has none */
	const char *name;   /* tag, branch or experiment pointing exactly here; NULL */
	const char *tip;    /* checkpoint_tip (40 hex), NULL outside a checkpoint chain */
	const char *parent; /* checkpoint_parent (40 hex), NULL outside a checkpoint chain */
	xd_data data;
	unsigned long order;
} xd_exp;

typedef struct xd_baseline {
	const char *rev; /* "workspace", or the commit's 40 hex */
	xd_exp base;
	xd_exp **exps;   /* newest tip first, each chain tip to oldest (DVC's order) */
	size_t nexps;
	void *index;     /* private: sha -> row */
} xd_baseline;

typedef struct xd_show_opts {
	int num;          /* HEAD~0 .. HEAD~(num-1); default 1 */
	int all_branches; /* and every branch */
	int sha_only;     /* no names */
} xd_show_opts;

/* The workspace first, then each baseline with its experiments. */
int xd_show(xd_repo *r, const xd_show_opts *o, xd_baseline **out, size_t *n);
/* Free what xd_show() allocated outside the arena (before xd_close). */
void xd_show_free(xd_baseline *b, size_t n);
/* The row of `sha` under a baseline, or NULL. */
const xd_exp *xd_find(const xd_baseline *b, const char *sha);

/* ---- values as text ------------------------------------------------------ */

/*
 * str() of a value after DVC's _format_field: with precision > 0 a float is
 * written "{:.<precision>g}" (inside lists too, where it becomes a quoted
 * string, as in Python); with precision 0 as repr(). Appends to `out`.
 */
int xd_format(const xd_value *v, int precision, live__buf *out);
/* str(round(v, precision)) for numbers (metrics show/diff); others as xd_format(v, 0). */
int xd_format_round(const xd_value *v, int precision, live__buf *out);
/* json.dumps() of a value, a string, or a file's entries nested back into objects. */
int xd_json_value(const xd_value *v, live__buf *out);
int xd_json_string(const char *s, live__buf *out);
int xd_json_entries(const xd_file *f, live__buf *out);
/* The entry `key` of a file, or NULL. */
const xd_entry *xd_get(const xd_file *f, const char *key);
/* Order for sorting: numbers (bools too) by value, then strings, then the rest; -1, 0, 1. */
int xd_compare(const xd_value *a, const xd_value *b);

/* Appending to a buffer: 0 or LIVE_ENOMEM. */
int xd_puts(live__buf *b, const char *s);
int xd_printf(live__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
