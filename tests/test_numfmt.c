/* live__fmt_double must write exactly what Python's repr(float) writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

static uint64_t bits_of(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof(b));
	return b;
}

static double from_bits(uint64_t b)
{
	double v;
	memcpy(&v, &b, sizeof(v));
	return v;
}

static void expect_repr(double v, const char *want)
{
	char buf[LIVE__NUM_MAX];
	size_t n = live__fmt_double(buf, v);

	if (strcmp(buf, want) != 0)
		print_error("bits %016llx: want %s, got %s\n", (unsigned long long)bits_of(v), want, buf);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void repr_matches_python_on_known_values(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.0, "0.0" },
		{ -0.0, "-0.0" },
		{ 1.0, "1.0" },
		{ -1.5, "-1.5" },
		{ 0.5, "0.5" },
		{ 0.1, "0.1" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0 / 3.0, "0.3333333333333333" },
		{ 2.0 / 3.0, "0.6666666666666666" },
		{ 100.0, "100.0" },
		{ 123.456, "123.456" },
		{ 2.5e-05, "2.5e-05" },
		{ 0.00001234, "1.234e-05" },
		{ 0.0001, "0.0001" },
		{ 0.00012, "0.00012" },
		{ 1e-05, "1e-05" },
		{ 1.5e-07, "1.5e-07" },
		{ 1e16, "1e+16" },
		{ 9999999999999998.0, "9999999999999998.0" },
		{ 1234567890123456.0, "1234567890123456.0" },
		{ 123456789012345678.0, "1.2345678901234568e+17" },
		{ 1.2345e22, "1.2345e+22" },
		{ 1e22, "1e+22" },
		{ 1e23, "1e+23" },
		{ 1e100, "1e+100" },
		{ 1e-100, "1e-100" },
		{ 9007199254740993.0, "9007199254740992.0" },
		{ 0x1p-1074, "5e-324" },
		{ 0x3p-1074, "1.5e-323" },
		{ 0x1p-1022, "2.2250738585072014e-308" },
		{ 0x0.fffffffffffffp-1022, "2.225073858507201e-308" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 0x1p60, "1.152921504606847e+18" },
		{ 0x1p53, "9007199254740992.0" },
		{ 0x1p-20, "9.5367431640625e-07" },
		{ 0x1p-1, "0.5" },
		{ 0x1p-3, "0.125" },
		{ 0x1p1023, "8.98846567431158e+307" },
		/* Powers of two where the nearest 16-digit decimal falls off
		 * the narrow side and repr takes the one above. */
		{ 0x1p-24, "5.960464477539063e-08" },
		{ 0x1p-44, "5.684341886080802e-14" },
		{ 0x1p-97, "6.310887241768095e-30" },
		{ 0x1p89, "6.189700196426902e+26" },
		{ 0x1p122, "5.316911983139664e+36" },
		/* Ties between two shortest decimals go to the even digit. */
		{ 1125899906842624.25, "1125899906842624.2" },
		{ 1125899906842624.75, "1125899906842624.8" },
		{ 562949953421312.125, "562949953421312.1" },
		/* float32 values as a framework hands them over. */
		{ (double)0.1f, "0.10000000149011612" },
		{ (double)1e-7f, "1.0000000116860974e-07" },
		{ INFINITY, "inf" },
		{ -INFINITY, "-inf" },
		{ NAN, "nan" },
		{ -NAN, "nan" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_repr(cases[i].v, cases[i].want);
	/* A NaN with a payload and the sign bit set is still "nan". */
	expect_repr(from_bits(0xfff0000000000001ULL), "nan");
}

/* Check every line of repr_vectors.txt; returns the number of lines. */
static size_t check_golden_file(void)
{
	FILE *f = fopen(LIVE_TEST_DATA "/repr_vectors.txt", "r");
	char line[128];
	size_t lines = 0, bad = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *end;
		uint64_t b = strtoull(line, &end, 16);
		char want[64], got[LIVE__NUM_MAX];

		assert_true(end == line + 16 && *end == ' ');
		assert_int_equal(sscanf(end, " %63s", want), 1);
		size_t n = live__fmt_double(got, from_bits(b));
		lines++;
		if (strcmp(got, want) != 0 || n != strlen(want)) {
			if (bad++ < 20)
				print_error("%016llx: want %s, got %s\n", (unsigned long long)b, want, got);
		}
	}
	fclose(f);
	assert_int_equal(bad, 0);
	return lines;
}

static void repr_matches_python_on_golden_vectors(void **state)
{
	(void)state;
	assert_true(check_golden_file() > 18000);
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/*
 * The significant digits of a number in repr or "%e" form (leading and
 * trailing zeros dropped) and the exponent of the first: value = d.ddd * 10^x.
 */
static void split_digits(const char *s, char *dig, int *x)
{
	int n = 0, point = -1, lead = 0, seen = 0, e10 = 0;

	for (; *s && *s != 'e'; s++) {
		if (*s == '.') {
			point = n + lead;
		} else if (*s >= '0' && *s <= '9') {
			if (!seen && *s == '0') {
				lead++;
				continue;
			}
			seen = 1;
			dig[n++] = *s;
		}
	}
	if (point < 0)
		point = n + lead;
	if (*s == 'e')
		e10 = atoi(s + 1);
	*x = point - lead - 1 + e10;
	while (n > 1 && dig[n - 1] == '0')
		n--;
	dig[n] = '\0';
}

/* Does the decimal dig * 10^(x - len + 1) read back as v? */
static int digits_read_back(const char *dig, int x, double v)
{
	char s[64];

	snprintf(s, sizeof(s), "%se%d", dig, x - (int)strlen(dig) + 1);
	return strtod(s, NULL) == v;
}

static void strip_trailing_zeros(char *dig)
{
	size_t n = strlen(dig);

	while (n > 1 && dig[n - 1] == '0')
		dig[--n] = '\0';
}

/* Add one unit in the last place to a digit string; returns 1 on carry out. */
static int increment(char *dig)
{
	for (size_t i = strlen(dig); i-- > 0;) {
		if (dig[i] != '9') {
			dig[i]++;
			return 0;
		}
		dig[i] = '0';
	}
	memmove(dig + 1, dig, strlen(dig) + 1);
	dig[0] = '1';
	return 1;
}

/*
 * Check what repr promises without asking Python: the text reads back as v;
 * one digit fewer, rounded either way, does not; and the digits are the
 * nearest decimal of their length (C's "%.*e" rounds exactly), except on the
 * narrow side of a power of two, where the one above is allowed when the
 * nearest does not read back.
 */
static void check_properties(double v)
{
	char buf[LIVE__NUM_MAX], dig[40], near[40], cand[40], ref[64];
	int x, nx;
	double a = fabs(v);

	if (v == 0)
		return; /* no digits to be shortest with; the table has both zeros */
	live__fmt_double(buf, v);
	assert_int_equal(bits_of(strtod(buf, NULL)), bits_of(v));

	split_digits(buf, dig, &x);
	size_t n = strlen(dig);
	assert_true(n >= 1 && n <= 17);
	assert_true(dig[n - 1] != '0');

	if (n > 1) {
		memcpy(cand, dig, n - 1);
		cand[n - 1] = '\0';
		if (digits_read_back(cand, x, a))
			fail_msg("%s: %s also reads back", buf, cand);
		int cx = x + increment(cand);
		if (digits_read_back(cand, cx, a))
			fail_msg("%s: %s also reads back", buf, cand);
	}

	snprintf(ref, sizeof(ref), "%.*e", (int)n - 1, a);
	split_digits(ref, near, &nx);
	if (strcmp(near, dig) == 0 && nx == x)
		return;
	if ((bits_of(a) & ((1ULL << 52) - 1)) != 0 || digits_read_back(near, nx, a))
		fail_msg("%s: the nearest decimal of its length is %s", buf, ref);
	while (strlen(near) < n)
		strcat(near, "0");
	nx += increment(near);
	strip_trailing_zeros(near);
	if (strcmp(near, dig) != 0 || nx != x)
		fail_msg("%s is not the decimal just above %s", buf, ref);
}

static void repr_is_shortest_and_nearest_for_random_bits(void **state)
{
	(void)state;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	int checked = 0;

	for (int i = 0; i < 200000; i++) {
		double v = from_bits(xorshift64(&s));

		if (!isfinite(v))
			continue;
		check_properties(v);
		checked++;
	}
	assert_true(checked > 199000);
}

/*
 * The magnitudes metrics have, which numfmt.c serves with exact integer
 * arithmetic rather than through the C library: the same promises hold.
 */
static void repr_is_shortest_and_nearest_for_metric_values(void **state)
{
	(void)state;
	uint64_t s = 0x2545f4914f6cdd1dULL;

	for (int i = 0; i < 200000; i++) {
		uint64_t r = xorshift64(&s);
		double unit = (double)(r >> 11) * 0x1p-53;
		double v;

		switch (i % 4) {
		case 0: /* uniform [0, 1), like accuracies */
			v = unit;
			break;
		case 1: /* 1e-16 .. 1e17, either sign */
			v = pow(10.0, unit * 33.0 - 16.0) * (r & 1 ? -1.0 : 1.0);
			break;
		case 2: /* via float32, as tensors deliver them */
			v = (double)(float)pow(10.0, unit * 16.0 - 10.0);
			break;
		default: /* any significand, 2^-110 .. 2^10 times 2^52 */
			v = from_bits((uint64_t)(1075 - 110 + (int)(r % 120)) << 52 | (xorshift64(&s) >> 12));
			break;
		}
		check_properties(v);
	}
}

static void fmt_int_writes_decimal(void **state)
{
	(void)state;
	static const struct {
		long long v;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ -1, "-1" },
		{ 42, "42" },
		{ 1000000, "1000000" },
		{ LLONG_MAX, "9223372036854775807" },
		{ LLONG_MIN, "-9223372036854775808" },
	};
	char buf[LIVE__NUM_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = live__fmt_int(buf, cases[i].v);
		assert_string_equal(buf, cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
	}
}

static int restore_c_locale(void **state)
{
	(void)state;
	setlocale(LC_NUMERIC, "C");
	return 0;
}

/* A decimal comma in LC_NUMERIC must not reach the files. */
static void repr_ignores_decimal_comma_locale(void **state)
{
	(void)state;
	const char *found = tu_comma_locale();

	if (!found) {
		print_message("no locale with a decimal comma is installed or can be made\n");
		skip();
	}

	char probe[16];
	snprintf(probe, sizeof(probe), "%.1f", 0.5);
	assert_string_equal(probe, "0,5"); /* the trap is armed */

	expect_repr(0.5, "0.5");
	expect_repr(0.1, "0.1");
	expect_repr(-123.456, "-123.456");
	expect_repr(1e-300, "1e-300");      /* through the C library */
	expect_repr(0x3p-1074, "1.5e-323"); /* subnormal search */
	expect_repr(0x1p89, "6.189700196426902e+26");
	expect_repr(1.7976931348623157e308, "1.7976931348623157e+308");
	check_golden_file();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(repr_matches_python_on_known_values),
		cmocka_unit_test(repr_matches_python_on_golden_vectors),
		cmocka_unit_test(repr_is_shortest_and_nearest_for_random_bits),
		cmocka_unit_test(repr_is_shortest_and_nearest_for_metric_values),
		cmocka_unit_test(fmt_int_writes_decimal),
		cmocka_unit_test_teardown(repr_ignores_decimal_comma_locale, restore_c_locale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
