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

/**
 * One metric's chart as inline SVG: axes with ticks and labels, step on x,
 * the downsampled series as a line, a hover tooltip (<title>) with the exact
 * value at each point, non-finite values marked. With `marks`, a diverged
 * metric also shows where its divergence began and its best value.
 */
void live__chart(live__html *h, const live__metric *m, const char *id, int marks);

#endif /* LIVE_REPORT_H */
