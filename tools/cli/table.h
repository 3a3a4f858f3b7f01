/*
 * Tables as DVC 2.x prints them (reference/dvc-checkpoints.md 6.1, 6.2):
 * rich's box table with a heavy head for `exp show`, tabulate's "plain" and
 * "github" formats for the diffs and --md, and Python's csv module for
 * --csv. And the terminal they go to: its size, whether it may be styled,
 * and the pager.
 */
#ifndef LIVE_CLI_TABLE_H
#define LIVE_CLI_TABLE_H

#include <stddef.h>

#include "internal.h"

typedef struct tb_col {
	char *header;
	int right;    /* right-justified (metrics) */
	int no_wrap;  /* too narrow: cut with "…" rather than wrapped */
	int collapse; /* too wide a table: hidden first, right to left, behind one "…" column */
	int bg;       /* styled header background, an xterm-256 colour; 0 = none */
} tb_col;

typedef struct tb_cell {
	char *text;                 /* one line: control characters become spaces */
	size_t bold_from, bold_len; /* bytes of `text` in bold when styled */
} tb_cell;

typedef struct tb_table {
	tb_col *cols;
	size_t ncols;
	tb_cell *cells; /* nrows x ncols, row-major */
	unsigned char *bold; /* per row */
	size_t nrows, cap;
} tb_table;

/* Columns first, then rows. Every call returns 0 or LIVE_ENOMEM. */
int tb_col_add(tb_table *t, const char *header, int right, int no_wrap, int collapse, int bg);
/* A new row of empty cells, bold or not; its index is t->nrows - 1. */
int tb_row_add(tb_table *t, int bold);
/* Set a cell of the last row from `len` bytes; bold_len > 0 marks a bold span. */
int tb_cell_set(tb_table *t, size_t col, const char *text, size_t len, size_t bold_from, size_t bold_len);
/* Remove a column and its cells. */
void tb_col_drop(tb_table *t, size_t col);
void tb_free(tb_table *t);

/* Width of UTF-8 text in terminal cells (East Asian wide characters count 2). */
size_t tb_text_width(const char *s, size_t len);

/*
 * rich's HEAVY_HEAD box. With max_width > 0, a wider table first hides
 * collapsible columns right to left (each run of hidden columns becomes one
 * "…" column), then narrows wrapping columns, then any column; `styled`
 * adds bold rows and header colours.
 */
int tb_render_box(const tb_table *t, size_t max_width, int styled, live__buf *out);
/* tabulate: "plain" (two spaces between left-aligned columns, no trailing blanks) or "github". */
int tb_render_plain(const tb_table *t, int github, live__buf *out);
/* Python's csv.writer: minimal quoting, "\r\n" line ends. */
int tb_render_csv(const tb_table *t, live__buf *out);

/* Where output goes: a terminal (its size; styles unless NO_COLOR or TERM=dumb) or not. */
typedef struct tb_term {
	int tty;
	int styled;
	size_t width;  /* $COLUMNS, else the terminal's; 0 = no limit */
	size_t height; /* $LINES, else the terminal's; 0 = unknown */
} tb_term;
void tb_term_get(tb_term *t);

/* Write text to stdout, through $PAGER (default "less -R -S -F -X") when `page`. */
int tb_write(const char *text, size_t len, int page);
/*
 * Print a box table: on a terminal a table taller than the screen goes to
 * the pager at full width (unless no_pager); otherwise it is fitted to the
 * width.
 */
int tb_show(const tb_table *t, int no_pager);

#endif
