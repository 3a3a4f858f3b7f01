/*
 * Table rendering (table.h): rich's box table, tabulate's plain and github
 * formats, CSV, and the terminal (size, styles, pager).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "table.h"

static int oom(void)
{
	return live__fail(LIVE_ENOMEM, "out of memory");
}

/* live__buf_append, but nothing at all for no bytes (an empty buffer has no data to copy into). */
static int add(live__buf *b, const char *s, size_t n)
{
	return n ? live__buf_append(b, s, n) : 0;
}

static int put(live__buf *b, const char *s)
{
	return add(b, s, strlen(s));
}

static int put_n(live__buf *b, const char *s, size_t n)
{
	int rc = 0;
	size_t l = strlen(s);
	while (!rc && n--)
		rc = add(b, s, l);
	return rc;
}

/* ---- building ------------------------------------------------------------------ */

int tb_col_add(tb_table *t, const char *header, int right, int no_wrap, int collapse, int bg)
{
	tb_col *c = realloc(t->cols, (t->ncols + 1) * sizeof(*c));
	if (!c)
		return oom();
	t->cols = c;
	c += t->ncols;
	if (!(c->header = strdup(header)))
		return oom();
	c->right = right;
	c->no_wrap = no_wrap;
	c->collapse = collapse;
	c->bg = bg;
	t->ncols++;
	return 0;
}

int tb_row_add(tb_table *t, int bold)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		tb_cell *c = realloc(t->cells, cap * t->ncols * sizeof(*c));
		if (!c)
			return oom();
		t->cells = c;
		unsigned char *b = realloc(t->bold, cap);
		if (!b)
			return oom();
		t->bold = b;
		t->cap = cap;
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*t->cells));
	t->bold[t->nrows++] = (unsigned char)bold;
	return 0;
}

int tb_cell_set(tb_table *t, size_t col, const char *text, size_t len, size_t bold_from, size_t bold_len)
{
	tb_cell *c = &t->cells[(t->nrows - 1) * t->ncols + col];
	char *s = malloc(len + 1);
	if (!s)
		return oom();
	for (size_t i = 0; i < len; i++)
		s[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? ' ' : text[i];
	s[len] = 0;
	free(c->text);
	c->text = s;
	c->bold_from = bold_from;
	c->bold_len = bold_len;
	return 0;
}

void tb_col_drop(tb_table *t, size_t col)
{
	free(t->cols[col].header);
	memmove(&t->cols[col], &t->cols[col + 1], (t->ncols - col - 1) * sizeof(*t->cols));
	size_t w = 0;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			tb_cell *cell = &t->cells[r * t->ncols + c];
			if (c == col)
				free(cell->text);
			else
				t->cells[w++] = *cell;
		}
	t->ncols--;
}

void tb_free(tb_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	for (size_t i = 0; i < t->ncols; i++)
		free(t->cols[i].header);
	free(t->cells);
	free(t->cols);
	free(t->bold);
	memset(t, 0, sizeof(*t));
}

static const char *text_of(const tb_table *t, size_t r, size_t c)
{
	const char *s = t->cells[r * t->ncols + c].text;
	return s ? s : "";
}

/* ---- widths -------------------------------------------------------------------- */

/* One code point at s (invalid bytes count as one cell each). */
static size_t next_cp(const char *s, size_t len, unsigned *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;
	if (n > len)
		n = 1;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			n = 1;
	if (n == 1)
		*cp = p[0];
	else if (n == 2)
		*cp = (p[0] & 0x1Fu) << 6 | (p[1] & 0x3F);
	else if (n == 3)
		*cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3F);
	else
		*cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3F);
	return n;
}

static size_t cp_width(unsigned cp)
{
	if ((cp >= 0x300 && cp < 0x370) || (cp >= 0x200B && cp < 0x2010) || (cp >= 0xFE00 && cp < 0xFE10))
		return 0;
	if ((cp >= 0x1100 && cp < 0x1160) || (cp >= 0x2E80 && cp < 0xA4D0 && cp != 0x303F) ||
	    (cp >= 0xAC00 && cp < 0xD7A4) || (cp >= 0xF900 && cp < 0xFB00) || (cp >= 0xFE30 && cp < 0xFE50) ||
	    (cp >= 0xFF00 && cp < 0xFF61) || (cp >= 0xFFE0 && cp < 0xFFE7) ||
	    (cp >= 0x1F300 && cp < 0x1F650) || (cp >= 0x1F900 && cp < 0x1FA00) ||
	    (cp >= 0x20000 && cp < 0x3FFFE))
		return 2;
	return 1;
}

size_t tb_text_width(const char *s, size_t len)
{
	size_t w = 0;
	for (size_t i = 0; i < len;) {
		unsigned cp;
		i += next_cp(s + i, len - i, &cp);
		w += cp_width(cp);
	}
	return w;
}

/* Bytes of s that fit in `width` cells. */
static size_t fit_bytes(const char *s, size_t len, size_t width)
{
	size_t w = 0, i = 0;
	while (i < len) {
		unsigned cp;
		size_t n = next_cp(s + i, len - i, &cp);
		if (w + cp_width(cp) > width)
			break;
		w += cp_width(cp);
		i += n;
	}
	return i;
}

/* ---- rich's box table -------------------------------------------------------------- */

/* A piece of a cell on one output line: a slice of its text, maybe cut with "…". */
typedef struct slice {
	size_t off, len;
	int ellipsis;
} slice;

/* Lines of `s` in `width` cells: cut (no_wrap) or word-wrapped, long words folded. */
static size_t lay_out(const char *s, size_t width, int no_wrap, slice *out, size_t max)
{
	size_t len = strlen(s), n = 0;
	if (tb_text_width(s, len) <= width || width == 0) {
		out[0] = (slice){ 0, len, 0 };
		return 1;
	}
	if (no_wrap) {
		out[0] = (slice){ 0, fit_bytes(s, len, width - 1), 1 };
		return 1;
	}
	size_t i = 0;
	while (i < len && n < max) {
		while (i < len && s[i] == ' ')
			i++;
		if (i >= len)
			break;
		size_t fit = fit_bytes(s + i, len - i, width), end = i + fit;
		if (end < len && s[end] != ' ') {
			size_t sp = end;
			while (sp > i && s[sp - 1] != ' ')
				sp--;
			if (sp > i) /* break after the last whole word; else fold the word */
				end = sp;
		}
		if (end == i)
			end = i + next_cp(s + i, len - i, &(unsigned){ 0 });
		size_t e = end;
		while (e > i && s[e - 1] == ' ')
			e--;
		if (n + 1 == max && end < len) {
			out[n++] = (slice){ i, fit_bytes(s + i, len - i, width - 1), 1 };
			return n;
		}
		out[n++] = (slice){ i, e - i, 0 };
		i = end;
	}
	return n ? n : (out[0] = (slice){ 0, 0, 0 }, 1);
}

typedef struct layout {
	size_t *w;     /* content width per column */
	size_t *floor; /* narrowest it is shrunk to: the longest word (wrapping), a few cells (cut) */
	char *hidden;  /* collapsed */
	char *dots;    /* a "…" column follows this column (it ends a hidden run) */
} layout;

static size_t table_width(const tb_table *t, const layout *l)
{
	size_t w = 1;
	for (size_t c = 0; c < t->ncols; c++) {
		if (!l->hidden[c])
			w += l->w[c] + 3;
		if (l->dots[c])
			w += 4;
	}
	return w;
}

static void hide(const tb_table *t, layout *l, size_t c)
{
	l->hidden[c] = 1;
	/* a run of hidden columns shows one "…" column, after its last */
	size_t first = c, last = c;
	while (first > 0 && l->hidden[first - 1])
		first--;
	while (last + 1 < t->ncols && l->hidden[last + 1])
		last++;
	for (size_t k = first; k <= last; k++)
		l->dots[k] = k == last;
}

/* Shrink the widest column that `no_wrap` selects by one cell; 0 when all are at their floor. */
static int shrink(const tb_table *t, layout *l, int no_wrap)
{
	size_t best = t->ncols;
	for (size_t c = 0; c < t->ncols; c++)
		if (!l->hidden[c] && !t->cols[c].no_wrap == !no_wrap && l->w[c] > l->floor[c] &&
		    (best == t->ncols || l->w[c] > l->w[best]))
			best = c;
	if (best == t->ncols)
		return 0;
	l->w[best]--;
	return 1;
}

/*
 * Like DVC's Table over rich's: collapsible columns hide first, right to
 * left; then wrapping columns narrow down to their longest word, then cut
 * columns down to a few cells, then every column but the first hides, right
 * to left. A table that still does not fit is printed as narrow as it got.
 */
static void fit(const tb_table *t, layout *l, size_t max_width)
{
	if (!max_width)
		return;
	for (size_t c = t->ncols; c-- > 0 && table_width(t, l) > max_width;)
		if (t->cols[c].collapse)
			hide(t, l, c);
	while (table_width(t, l) > max_width && shrink(t, l, 0))
		;
	while (table_width(t, l) > max_width && shrink(t, l, 1))
		;
	for (size_t c = t->ncols; c-- > 1 && table_width(t, l) > max_width;)
		hide(t, l, c);
}

static int styled_start(live__buf *b, int bold, int bg)
{
	char esc[40];
	if (bg > 0)
		snprintf(esc, sizeof(esc), "\033[1;30;48;5;%dm", bg);
	else if (bold || bg)
		snprintf(esc, sizeof(esc), "\033[1m");
	else
		return 0;
	return put(b, esc);
}

/* One line of one cell: padding, the slice (with its bold span), padding. */
static int put_piece(live__buf *b, const tb_cell *cell, const char *text, const slice *s, size_t w, int right,
		     int styled, int row_bold, int bg)
{
	size_t used = tb_text_width(text + s->off, s->len) + (s->ellipsis ? 1 : 0);
	size_t pad = w > used ? w - used : 0;
	int rc = styled ? styled_start(b, row_bold, bg) : 0;
	if (!rc)
		rc = put_n(b, " ", 1 + (right ? pad : 0));
	size_t from = cell ? cell->bold_from : 0, to = cell ? cell->bold_from + cell->bold_len : 0;
	if (styled && !row_bold && !bg && cell && cell->bold_len && from < s->off + s->len && to > s->off) {
		size_t a = from > s->off ? from : s->off, z = to < s->off + s->len ? to : s->off + s->len;
		if (!rc)
			rc = add(b, text + s->off, a - s->off);
		if (!rc)
			rc = put(b, "\033[1m");
		if (!rc)
			rc = add(b, text + a, z - a);
		if (!rc)
			rc = put(b, "\033[0m");
		if (!rc)
			rc = add(b, text + z, s->off + s->len - z);
	} else if (!rc) {
		rc = add(b, text + s->off, s->len);
	}
	if (!rc && s->ellipsis)
		rc = put(b, "…");
	if (!rc)
		rc = put_n(b, " ", 1 + (right ? 0 : pad));
	if (!rc && styled && (row_bold || bg))
		rc = put(b, "\033[0m");
	return rc;
}

static int rule(live__buf *b, const tb_table *t, const layout *l, const char *left, const char *fill,
		const char *mid, const char *right)
{
	int rc = put(b, left), first = 1;
	for (size_t c = 0; !rc && c < t->ncols; c++) {
		for (int d = 0; d < 2 && !rc; d++) {
			size_t w = d ? 1 : l->w[c];
			if (d ? !l->dots[c] : l->hidden[c])
				continue;
			if (!first)
				rc = put(b, mid);
			first = 0;
			if (!rc)
				rc = put_n(b, fill, w + 2);
		}
	}
	if (!rc)
		rc = put(b, right);
	return rc ? rc : put(b, "\n");
}

/* A row (or the header, r == SIZE_MAX) over as many lines as its tallest cell. */
static int row_lines(live__buf *b, const tb_table *t, const layout *l, size_t r, int styled, slice *sl,
		     size_t *nsl, size_t maxl)
{
	const char *bar = r == (size_t)-1 ? "┃" : "│";
	int header = r == (size_t)-1, bold = !header && t->bold[r];
	size_t height = 1;
	for (size_t c = 0; c < t->ncols; c++) {
		if (l->hidden[c])
			continue;
		const char *s = header ? t->cols[c].header : text_of(t, r, c);
		nsl[c] = lay_out(s, l->w[c], t->cols[c].no_wrap || header, sl + c * maxl, maxl);
		if (nsl[c] > height)
			height = nsl[c];
	}
	int rc = 0;
	for (size_t line = 0; !rc && line < height; line++) {
		rc = put(b, bar);
		for (size_t c = 0; !rc && c < t->ncols; c++) {
			if (!l->hidden[c]) {
				const char *s = header ? t->cols[c].header : text_of(t, r, c);
				slice empty = { 0, 0, 0 };
				const slice *p = line < nsl[c] ? &sl[c * maxl + line] : &empty;
				int bg = header ? (t->cols[c].bg ? t->cols[c].bg : -1) : 0;
				rc = put_piece(b, header ? NULL : &t->cells[r * t->ncols + c], s, p, l->w[c],
					       t->cols[c].right, styled, bold, bg);
				if (!rc)
					rc = put(b, bar);
			}
			if (!rc && l->dots[c]) {
				slice dot = { 0, line == 0 ? strlen("…") : 0, 0 };
				rc = put_piece(b, NULL, "…", &dot, 1, 0, styled, bold, header ? -1 : 0);
				if (!rc)
					rc = put(b, bar);
			}
		}
		if (!rc)
			rc = put(b, "\n");
	}
	return rc;
}

int tb_render_box(const tb_table *t, size_t max_width, int styled, live__buf *out)
{
	size_t n = t->ncols ? t->ncols : 1, maxl = 64;
	layout l = { calloc(n, sizeof(size_t)), calloc(n, sizeof(size_t)), calloc(n, 1), calloc(n, 1) };
	slice *sl = calloc(n * maxl, sizeof(*sl));
	size_t *nsl = calloc(n, sizeof(*nsl));
	int rc = !l.w || !l.floor || !l.hidden || !l.dots || !sl || !nsl ? oom() : 0;
	for (size_t c = 0; !rc && c < t->ncols; c++) {
		size_t word = 3;
		l.w[c] = tb_text_width(t->cols[c].header, strlen(t->cols[c].header));
		for (size_t r = 0; r < t->nrows; r++) {
			const char *s = text_of(t, r, c);
			size_t w = tb_text_width(s, strlen(s));
			if (w > l.w[c])
				l.w[c] = w;
			for (size_t i = 0, k; !t->cols[c].no_wrap && s[i]; i += k + (s[i + k] == ' ')) {
				k = strcspn(s + i, " ");
				if (tb_text_width(s + i, k) > word)
					word = tb_text_width(s + i, k);
			}
		}
		/* the first column keeps room for its glyph and most of a sha */
		size_t floor = t->cols[c].no_wrap ? (c == 0 ? 10 : 4) : word;
		l.floor[c] = floor < l.w[c] ? floor : l.w[c];
	}
	if (!rc)
		fit(t, &l, max_width);
	if (!rc)
		rc = rule(out, t, &l, "┏", "━", "┳", "┓");
	if (!rc)
		rc = row_lines(out, t, &l, (size_t)-1, styled, sl, nsl, maxl);
	if (!rc)
		rc = rule(out, t, &l, "┡", "━", "╇", "┩");
	for (size_t r = 0; !rc && r < t->nrows; r++)
		rc = row_lines(out, t, &l, r, styled, sl, nsl, maxl);
	if (!rc)
		rc = rule(out, t, &l, "└", "─", "┴", "┘");
	free(l.w);
	free(l.floor);
	free(l.hidden);
	free(l.dots);
	free(sl);
	free(nsl);
	return rc;
}

/* ---- tabulate and csv ------------------------------------------------------------- */

int tb_render_plain(const tb_table *t, int github, live__buf *out)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));
	if (!w)
		return oom();
	/* tabulate's MIN_PADDING: a column is at least its header plus two. */
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = tb_text_width(t->cols[c].header, strlen(t->cols[c].header)) + 2;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = tb_text_width(text_of(t, r, c), strlen(text_of(t, r, c)));
			if (cw > w[c])
				w[c] = cw;
		}
	}
	int rc = 0;
	for (size_t r = 0; !rc && r < t->nrows + 1 + (github ? 1 : 0); r++) {
		size_t start = out->len;
		int sep = github && r == 1;
		size_t row = github ? r - 2 : r - 1;
		rc = put(out, github ? (sep ? "|" : "| ") : "");
		for (size_t c = 0; !rc && c < t->ncols; c++) {
			if (c)
				rc = put(out, github ? (sep ? "|" : " | ") : "  ");
			if (sep) {
				rc = rc ? rc : put_n(out, "-", w[c] + 2);
				continue;
			}
			const char *s = r == 0 ? t->cols[c].header : text_of(t, row, c);
			size_t sw = tb_text_width(s, strlen(s));
			if (!rc)
				rc = put(out, s);
			if (!rc)
				rc = put_n(out, " ", w[c] - sw);
		}
		if (!rc && github)
			rc = put(out, sep ? "|" : " |");
		while (!github && out->len > start && out->data[out->len - 1] == ' ')
			out->len--;
		if (!rc)
			rc = put(out, "\n");
	}
	free(w);
	return rc;
}

static int csv_field(live__buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n"))
		return put(b, s);
	int rc = put(b, "\"");
	for (; !rc && *s; s++)
		rc = *s == '"' ? put(b, "\"\"") : add(b, s, 1);
	return rc ? rc : put(b, "\"");
}

int tb_render_csv(const tb_table *t, live__buf *out)
{
	int rc = 0;
	for (size_t r = 0; !rc && r <= t->nrows; r++) {
		for (size_t c = 0; !rc && c < t->ncols; c++) {
			if (c)
				rc = put(out, ",");
			if (!rc)
				rc = csv_field(out, r == 0 ? t->cols[c].header : text_of(t, r - 1, c));
		}
		if (!rc)
			rc = put(out, "\r\n");
	}
	return rc;
}

/* ---- the terminal ------------------------------------------------------------------ */

static size_t env_size(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long v = s && *s ? strtol(s, &end, 10) : 0;
	return v > 0 && !*end ? (size_t)v : 0;
}

void tb_term_get(tb_term *t)
{
	struct winsize ws;
	memset(t, 0, sizeof(*t));
	t->tty = isatty(STDOUT_FILENO);
	const char *term = getenv("TERM");
	t->styled = t->tty && !getenv("NO_COLOR") && !(term && !strcmp(term, "dumb"));
	int have = t->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0;
	t->width = env_size("COLUMNS");
	if (!t->width && have)
		t->width = ws.ws_col;
	t->height = env_size("LINES");
	if (!t->height && have)
		t->height = ws.ws_row;
}

static int write_all(FILE *f, const char *text, size_t len)
{
	if (len && fwrite(text, 1, len, f) != len)
		return errno == EPIPE ? 0 : live__fail_errno(LIVE_EIO, errno, "write");
	if (fflush(f) != 0 && errno != EPIPE)
		return live__fail_errno(LIVE_EIO, errno, "write");
	return 0;
}

int tb_write(const char *text, size_t len, int page)
{
	if (!page)
		return write_all(stdout, text, len);
	/*
	 * As DVC's find_pager: $PAGER, else less; less always gets -R (colours)
	 * and -S (scroll sideways), and -F -X unless $LESS says otherwise.
	 */
	const char *pager = getenv("PAGER"), *less = getenv("LESS");
	if (!pager || !*pager || !strcmp(pager, "less"))
		pager = less && *less ? "less -R -S" : "less -R -S -F -X";
	fflush(stdout);
	/* Quitting the pager early is not an error. */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	FILE *p = popen(pager, "w");
	int rc = 0;
	if (!p) {
		rc = write_all(stdout, text, len);
	} else {
		fwrite(text, 1, len, p);
		int st = pclose(p);
		if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127) /* no such pager */
			rc = write_all(stdout, text, len);
	}
	signal(SIGPIPE, old);
	return rc;
}

int tb_show(const tb_table *t, int no_pager)
{
	tb_term term;
	tb_term_get(&term);
	live__buf b = { 0 };
	int rc = tb_render_box(t, 0, term.styled, &b);
	size_t lines = 0, width = 0;
	for (size_t i = 0; !rc && i < b.len; i++)
		lines += b.data[i] == '\n';
	for (size_t i = 0; !rc && i < b.len && b.data[i] != '\n'; i++)
		width += ((unsigned char)b.data[i] & 0xC0) != 0x80;
	if (!rc && term.tty && !no_pager && term.height && lines >= term.height) {
		rc = tb_write(b.data, b.len, 1);
	} else if (!rc) {
		if (term.width && width > term.width) {
			b.len = 0;
			rc = tb_render_box(t, term.width, term.styled, &b);
		}
		if (!rc)
			rc = tb_write(b.data, b.len, 0);
	}
	live__buf_free(&b);
	return rc;
}
