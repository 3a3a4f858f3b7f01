/*
 * Writing HTML into a buffer, shared by report.c (the page) and chart.c (one
 * SVG chart). Private to liblive.
 *
 * Every piece of text that did not come from this library (metric names, the
 * run folder, params keys and values) goes through live__html_text(), which
 * escapes it; numbers are printed by numfmt.c or as integers, never through
 * printf's locale-dependent %f/%g.
 */
#ifndef LIVE_REPORT_H
#define LIVE_REPORT_H

#include "run.h"

/** A buffer being written, and the first error (LIVE_ENOMEM) met while writing it. */
typedef struct live__html {
	live__buf *b;
	int rc;
} live__html;

void live__html_put(live__html *h, const char *s);
/** printf for integers and strings only (%d, %lld, %u, %zu, %s): no locale-dependent conversions. */
void live__html_printf(live__html *h, const char *fmt, ...) LIVE__PRINTF(2, 3);
/** Text escaped for element content and quoted attribute values (&, <, >, ", '). */
void live__html_text(live__html *h, const char *s);
/** A value as the summary prints it ("0.25", "3", "nan"). */
void live__html_value(live__html *h, const live__value *v);
/** A double, or an integer when `is_int`. */
void live__html_number(live__html *h, double x, int is_int);

/** One line of a chart: its name in the legend and its values, downsampled (series.c). */
typedef struct live__chart_line {
	const char *label;     /* the legend's text (escaped when written) */
	const live__series *s; /* steps on x, or indexes into xs */
	const double *xs;      /* NULL, or the x of each value: the series' steps are then 0..n-1 */
	unsigned color;        /* its colour: class s<color % 8>, dashed from 8 on */
} live__chart_line;

/** What a chart draws. Text is escaped when written, except `id`, which is the caller's own. */
typedef struct live__chart_spec {
	const char *id;           /* the <svg>'s id */
	const char *title;        /* its aria-label */
	const char *x_label;      /* x axis title and tooltip word; NULL: "step" ("steps a-b" in ranges) */
	const char *y_label;      /* y axis title */
	const live__chart_line *lines;
	size_t n;                 /* lines: 1 (the report) or one per revision (live plots) */
	int points_only;          /* the scatter template: points, no line */
	const live__watch *watch; /* a diverged first line's marks (where it began, best value), or NULL */
} live__chart_spec;

/**
 * A chart as inline SVG: axes with ticks and labels, a legend, and each line
 * (a <g class="series sK"> holding a polyline and its points) drawn from its
 * downsampled series, so that the size is bounded by the bucket count, never
 * by the number of values. Every point has a hover tooltip (<title>) with the
 * exact value; non-finite values are marked at the top or bottom edge. Lines
 * are told apart by colour (the style sheet's --c1..--c7, then dashed); with
 * up to four, each is drawn wider than the next (class wK), so that lines
 * sharing values (checkpoints of one run) all show. With several lines the
 * legend has a key per line, wrapping onto more rows.
 */
void live__chart_lines(live__html *h, const live__chart_spec *c);

/**
 * One metric's chart for the report: live__chart_lines() with one line, step
 * on x; with `marks`, a diverged metric also shows where its divergence began
 * and its best value.
 */
void live__chart(live__html *h, const live__metric *m, const char *id, int marks);

/** A name with its folders muted: "train/" in a <span class="dir">, then "loss". */
void live__html_path(live__html *h, const char *name);

/**
 * The start of a self-contained page, up to and including <body>: charset,
 * viewport, light and dark colour schemes, <title> (`title` escaped, then
 * `suffix` as is), the style sheet the charts need plus `extra_style`, and,
 * when `refresh` > 0, a reload every `refresh` seconds. No script, no
 * external reference.
 */
void live__html_page_start(live__html *h, const char *title, const char *suffix, int refresh,
			   const char *extra_style);

#endif /* LIVE_REPORT_H */
