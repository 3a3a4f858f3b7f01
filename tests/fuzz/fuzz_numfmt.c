/*
 * Numbers (live/numfmt.c): live__fmt_double must write what Python's
 * repr(float) writes and read back through strtod to the same double;
 * live__fmt_int through strtoll to the same integer; and resume's
 * live__parse_value must read both back as what was written.
 *
 * The oracle for "what repr writes" is independent of numfmt.c: the fewest
 * digits p for which printf's correctly rounded "%.*e" reads back, and those
 * nearest digits (repr picks the nearest of the shortest, ties to even, as
 * glibc's printf rounds), laid out by repr's rule (scientific below 1e-4 and
 * from 1e16). Only above a power of two may a decimal with fewer digits than
 * p read back, which then must simply be shorter.
 *
 * Input: every 8 bytes as a double and as a long long; and the input as
 * text, through strtod and through live__parse_value.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "run.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int same_bits(double a, double b)
{
	return !memcmp(&a, &b, sizeof(a));
}

/* Significant digits (no leading or trailing zeros) and decimal exponent of a positive decimal text. */
static void digits_of(const char *s, char *sig, int *x)
{
	char all[64];
	int n = 0, point = -1, e = 0;

	for (; *s && *s != 'e'; s++) {
		if (*s == '.')
			point = n;
		else if (n < 63)
			all[n++] = *s;
	}
	if (*s == 'e')
		e = atoi(s + 1);
	if (point < 0)
		point = n;
	int k = 0;
	while (k < n - 1 && all[k] == '0')
		k++;
	int end = n;
	while (end > k + 1 && all[end - 1] == '0')
		end--;
	memcpy(sig, all + k, (size_t)(end - k));
	sig[end - k] = 0;
	*x = point - 1 - k + e;
}

/* repr's layout of sig x 10^x (sig: d.ddd...). */
static void repr_layout(char *out, size_t size, int neg, const char *sig, int x)
{
	char zeros[400];
	int n = (int)strlen(sig);
	int nz = x < 0 ? -x - 1 : x - n + 1;
	const char *m = neg ? "-" : "";

	memset(zeros, '0', sizeof(zeros));
	nz = nz < 0 ? 0 : nz > 399 ? 399 : nz;
	zeros[nz] = 0;
	if (x < -4 || x >= 16)
		snprintf(out, size, "%s%c%s%se%c%02d", m, sig[0], n > 1 ? "." : "", sig + 1,
		         x < 0 ? '-' : '+', x < 0 ? -x : x);
	else if (x < 0)
		snprintf(out, size, "%s0.%s%s", m, zeros, sig);
	else if (x >= n - 1)
		snprintf(out, size, "%s%s%s.0", m, sig, zeros);
	else
		snprintf(out, size, "%s%.*s.%s", m, x + 1, sig, sig + x + 1);
}

static void check_double(double v)
{
	char buf[LIVE__NUM_MAX + 8], want[64], ref[64], sig[32], refsig[32];
	size_t n = live__fmt_double(buf, v);
	live__value pv;

	FZ_CHECK(n == strlen(buf) && n < LIVE__NUM_MAX, "'%s': length %zu", buf, n);
	if (isnan(v) || isinf(v)) {
		FZ_CHECK(!strcmp(buf, isnan(v) ? "nan" : v < 0 ? "-inf" : "inf"), "non-finite as '%s'", buf);
		FZ_CHECK(live__parse_value(buf, n, &pv) == 0 && pv.kind == LIVE__DOUBLE &&
		                 (isnan(v) ? isnan(pv.u.d) : same_bits(v, pv.u.d)),
		         "'%s' does not parse back", buf);
		return;
	}
	char *end;
	double back = strtod(buf, &end);
	FZ_CHECK(!*end && same_bits(back, v), "%a written as '%s', read back as %a", v, buf, back);
	FZ_CHECK(live__parse_value(buf, n, &pv) == 0 && pv.kind == LIVE__DOUBLE && same_bits(pv.u.d, v),
	         "'%s' parses back as kind %d", buf, pv.kind);
	if (v == 0) {
		FZ_CHECK(!strcmp(buf, signbit(v) ? "-0.0" : "0.0"), "zero as '%s'", buf);
		return;
	}

	double a = fabs(v);
	int p;
	for (p = 1; p < 17; p++) {
		snprintf(ref, sizeof(ref), "%.*e", p - 1, a);
		if (strtod(ref, NULL) == a)
			break;
	}
	snprintf(ref, sizeof(ref), "%.*e", p - 1, a);
	int x, refx;
	digits_of(buf + (v < 0), sig, &x);
	digits_of(ref, refsig, &refx);

	repr_layout(want, sizeof(want), v < 0, sig, x);
	FZ_CHECK(!strcmp(buf, want), "%a written as '%s', laid out as repr would: '%s'", v, buf, want);
	FZ_CHECK((int)strlen(sig) <= p, "%a written as '%s': %zu digits where %d do (%s)", v, buf,
	         strlen(sig), p, ref);
	if ((int)strlen(sig) == p)
		FZ_CHECK(!strcmp(sig, refsig) && x == refx,
		         "%a written as '%s', not the nearest %d digits %s", v, buf, p, ref);
}

static void check_int(long long v)
{
	char buf[LIVE__NUM_MAX], *end;
	size_t n = live__fmt_int(buf, v);
	live__value pv;

	FZ_CHECK(n == strlen(buf) && n < LIVE__NUM_MAX, "'%s': length %zu", buf, n);
	FZ_CHECK(strtoll(buf, &end, 10) == v && !*end, "%lld written as '%s'", v, buf);
	FZ_CHECK(live__parse_value(buf, n, &pv) == 0 && pv.kind == LIVE__INT && pv.u.i == v,
	         "'%s' parses back as kind %d", buf, pv.kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 8 <= size; i += 8) {
		double d;
		long long ll;

		memcpy(&d, data + i, 8);
		memcpy(&ll, data + i, 8);
		check_double(d);
		check_int(ll);
	}

	char text[64];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = 0;
	check_double(strtod(text, NULL));

	live__value v;
	if (live__parse_value((const char *)data, size, &v) == 0) {
		if (v.kind == LIVE__INT)
			check_int(v.u.i);
		else
			check_double(v.u.d);
	}
	return 0;
}
