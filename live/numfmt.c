/*
 * Numbers as the files of a run show them. A double is written the way
 * Python's repr(float) writes it, so that dvclive's readers, plots and diffs
 * see the same text for the same value and the text reads back to the same
 * double.
 *
 * The shortest digits come from one of two places. Values from about 9e-16
 * up to 2^53, where nearly every metric falls, take an exact integer path of a
 * few dozen nanoseconds. Beyond that the arithmetic would outgrow 128 bits, so
 * the rest ask the C library for correctly rounded digits and keep the
 * shortest that reads back, at about a microsecond a value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A positive decimal sig * 10^exp10; at most 17 digits in sig. */
struct decimal {
	uint64_t sig;
	int exp10;
};

static struct decimal strip_zeros(struct decimal d)
{
	while (d.sig % 10 == 0) {
		d.sig /= 10;
		d.exp10++;
	}
	return d;
}

/* Digits of x, most significant first, not terminated; returns the count. */
static int u64_digits(char *out, uint64_t x)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + x % 10);
		x /= 10;
	} while (x);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

#if defined(__SIZEOF_INT128__)
#define LIVE__HAVE_EXACT 1

__extension__ typedef unsigned __int128 u128;

static const uint64_t pow5_64[28] = {
	1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL,
	390625ULL, 1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL,
	1220703125ULL, 6103515625ULL, 30517578125ULL, 152587890625ULL,
	762939453125ULL, 3814697265625ULL, 19073486328125ULL,
	95367431640625ULL, 476837158203125ULL, 2384185791015625ULL,
	11920928955078125ULL, 59604644775390625ULL, 298023223876953125ULL,
	1490116119384765625ULL, 7450580596923828125ULL,
};

static u128 pow5(int k)
{
	if (k < 28)
		return pow5_64[k];
	return (u128)pow5_64[27] * pow5_64[k - 27];
}

/*
 * The exact path covers m * 2^e with e in [-102, -1]: there the decimal
 * scale k that the rounding interval needs stays <= 31, and 5^31 times the
 * 55-bit interval ends still fits in 128 bits.
 */
#define EXACT_MIN_E (-102)

/*
 * Does 10^k stretch an interval of width len4 * 2^(e-2) to at least 1?
 * 10^k * len4 * 2^(e-2) = len4 * 5^k / 2^(2-e-k).
 */
static int stretches_to_one(int k, int e, unsigned len4)
{
	int s = 2 - e - k;

	if (s <= 0)
		return 1;
	return len4 * pow5(k) >= (u128)1 << s;
}

/*
 * Shortest digits of v = m * 2^e (m the full 53-bit significand) by exact
 * integer arithmetic.
 *
 * The doubles that read back as v are those in [v - lo_gap, v + 2^(e-1)],
 * where lo_gap is 2^(e-1), or 2^(e-2) when m is a power of two (the double
 * below is then half as far away); the ends belong to v only when m is even,
 * because strtod breaks ties towards the even significand. Counted in units of
 * 2^(e-2), the interval runs from 4m-2 (or 4m-1) to 4m+2.
 *
 * Scale by the smallest 10^k that makes the interval at least 1 wide; it is
 * then less than 10 wide. A multiple of 10 inside it has the most trailing
 * zeros of any candidate, so it is the shortest, and there can be only one.
 * Without one, every integer inside has the same number of digits (a power of
 * ten would have been such a multiple), so the shortest is the integer nearest
 * v, ties to even as repr breaks them; if that one falls outside (only
 * possible on the narrow side of a power of two), its neighbour across v is
 * inside because the interval is at least 1 wide.
 */
static struct decimal exact_shortest(uint64_t m, int e)
{
	int asym = m == (1ULL << 52);
	unsigned len4 = asym ? 3 : 4;
	int incl = (m & 1) == 0;
	/*
	 * 78913 / 2^18 is just below log10(2), and the interval is at most
	 * 2^e wide, so this starts at or below the smallest k that works.
	 */
	int k = (-e * 78913) >> 18;

	while (!stretches_to_one(k, e, len4))
		k++;

	int s = 2 - e - k; /* >= 1: 10^k is 5^k * 2^k */
	u128 p = pow5(k);
	u128 lo = (4 * (u128)m - (asym ? 1 : 2)) * p;
	u128 mid = 4 * (u128)m * p;
	u128 hi = (4 * (u128)m + 2) * p;
	struct decimal d;

	uint64_t top = (uint64_t)(hi >> s);
	uint64_t t = top - top % 10;
	u128 ts = (u128)t << s;
	if (incl ? ts >= lo && ts <= hi : ts > lo && ts < hi) {
		d.sig = t;
		d.exp10 = -k;
		return strip_zeros(d);
	}

	uint64_t fl = (uint64_t)(mid >> s);
	u128 rem = mid & (((u128)1 << s) - 1);
	u128 half = (u128)1 << (s - 1);
	uint64_t n = fl + (rem > half || (rem == half && (fl & 1)));
	u128 ns = (u128)n << s;
	if (!(incl ? ns >= lo && ns <= hi : ns > lo && ns < hi))
		n = n == fl ? fl + 1 : fl;
	d.sig = n;
	d.exp10 = -k;
	return d;
}
#endif /* __SIZEOF_INT128__ */

/*
 * The correctly rounded prec-digit decimal of v > 0, from printf's "%.*e",
 * which glibc and the BSDs round exactly. Trailing zeros are kept. The
 * locale's decimal point may be ',' or several bytes, so everything that is
 * not a digit before the 'e' is skipped rather than expected to be '.'.
 */
static struct decimal libc_digits(double v, int prec)
{
	char s[64];
	const char *p = s;
	struct decimal d = { 0, 0 };
	int n = 0, x = 0, neg = 0;

	snprintf(s, sizeof(s), "%.*e", prec - 1, v);
	for (; *p && *p != 'e'; p++) {
		if (*p >= '0' && *p <= '9') {
			d.sig = d.sig * 10 + (uint64_t)(*p - '0');
			n++;
		}
	}
	if (*p == 'e')
		p++;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++)
		x = x * 10 + (*p - '0');
	d.exp10 = (neg ? -x : x) - (n - 1);
	return d;
}

/*
 * Does d read back as v? The text handed to strtod has no decimal point
 * ("123e-5"), so the locale cannot change what it means. strtod may set errno
 * for subnormal results; the caller's errno is not ours to change.
 */
static int reads_back(double v, struct decimal d)
{
	char s[40];
	int n = u64_digits(s, d.sig);
	int saved = errno;

	snprintf(s + n, sizeof(s) - (size_t)n, "e%d", d.exp10);
	double r = strtod(s, NULL);
	errno = saved;
	return r == v;
}

/*
 * Shortest digits of a positive v through the C library.
 *
 * For a normal double the interval that reads back as v is at most 2^-52 of
 * v wide, narrower than the gap between 15-digit decimals, so if the nearest
 * 15-digit decimal reads back it is the only one that does and nothing
 * shorter can (a shorter decimal is also a 15-digit one). Otherwise the
 * nearest 16-digit decimal is the answer if it reads back; when it does not,
 * no other 16-digit decimal can, except above a power of two, where the
 * interval reaches twice as far up as down and the next decimal up may fit.
 * 17 digits always read back.
 *
 * Subnormals have fewer significant bits and so much wider intervals: any
 * digit count from 1 to 17 may be the shortest. Their intervals are
 * symmetric, so the nearest decimal at a digit count is the one to try, and
 * once one count reads back every larger one does: a binary search finds the
 * smallest.
 */
static struct decimal libc_shortest(double v, int subnormal, int pow2)
{
	struct decimal d;

	if (subnormal) {
		struct decimal best = libc_digits(v, 17);
		int lo = 1, hi = 17;

		while (lo < hi) {
			int mid = (lo + hi) / 2;

			d = libc_digits(v, mid);
			if (reads_back(v, d)) {
				hi = mid;
				best = d;
			} else {
				lo = mid + 1;
			}
		}
		return strip_zeros(best);
	}

	d = libc_digits(v, 15);
	if (reads_back(v, d))
		return strip_zeros(d);
	d = libc_digits(v, 16);
	if (reads_back(v, d))
		return strip_zeros(d);
	if (pow2) {
		d.sig++;
		if (reads_back(v, d))
			return strip_zeros(d);
	}
	return strip_zeros(libc_digits(v, 17));
}

/*
 * Lay out sig * 10^exp10 as repr does: scientific when the decimal exponent
 * is below -4 or at least 16, with a signed exponent of two or more digits and
 * no ".0"; otherwise positional with at least one digit after the point.
 */
static size_t layout(char *buf, int neg, struct decimal d)
{
	char dig[20];
	int n = u64_digits(dig, d.sig);
	int point = n + d.exp10; /* value = 0.DIGITS * 10^point */
	int x = point - 1;
	char *p = buf;

	if (neg)
		*p++ = '-';
	if (x < -4 || x >= 16) {
		*p++ = dig[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, (size_t)n - 1);
			p += n - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x >= 100)
			*p++ = (char)('0' + x / 100);
		*p++ = (char)('0' + x / 10 % 10);
		*p++ = (char)('0' + x % 10);
	} else if (point <= 0) {
		*p++ = '0';
		*p++ = '.';
		memset(p, '0', (size_t)-point);
		p += -point;
		memcpy(p, dig, (size_t)n);
		p += n;
	} else if (point >= n) {
		memcpy(p, dig, (size_t)n);
		p += n;
		memset(p, '0', (size_t)(point - n));
		p += point - n;
		*p++ = '.';
		*p++ = '0';
	} else {
		memcpy(p, dig, (size_t)point);
		p += point;
		*p++ = '.';
		memcpy(p, dig + point, (size_t)(n - point));
		p += n - point;
	}
	*p = '\0';
	return (size_t)(p - buf);
}

static size_t put(char *buf, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf, s, n + 1);
	return n;
}

size_t live__fmt_double(char *buf, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	int neg = (int)(bits >> 63);
	int be = (int)(bits >> 52 & 0x7ff);
	uint64_t frac = bits & ((1ULL << 52) - 1);

	if (be == 0x7ff) {
		/* Python prints every NaN as "nan", whatever its sign bit. */
		if (frac)
			return put(buf, "nan");
		return put(buf, neg ? "-inf" : "inf");
	}
	if (be == 0 && frac == 0)
		return put(buf, neg ? "-0.0" : "0.0");
	if (be == 0)
		return layout(buf, neg, libc_shortest(neg ? -v : v, 1, 0));

	uint64_t m = frac | 1ULL << 52;
	int e = be - 1075;

	/*
	 * Whole numbers below 2^53 are their own shortest form: every other
	 * decimal with as few digits is at least 1 away, and v's interval is at
	 * most 1 wide. Step counters and epochs land here.
	 */
	if (e <= 0 && e >= -52 && (m & ((1ULL << -e) - 1)) == 0) {
		struct decimal d = { m >> -e, 0 };
		return layout(buf, neg, strip_zeros(d));
	}
#ifdef LIVE__HAVE_EXACT
	if (e < 0 && e >= EXACT_MIN_E)
		return layout(buf, neg, exact_shortest(m, e));
#endif
	/* A power of two above the smallest normal has a lopsided interval. */
	return layout(buf, neg, libc_shortest(neg ? -v : v, 0, frac == 0 && be > 1));
}

size_t live__fmt_int(char *buf, long long v)
{
	/* Negate in unsigned arithmetic so that LLONG_MIN has a magnitude. */
	unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	char *p = buf;

	if (v < 0)
		*p++ = '-';
	p += u64_digits(p, mag);
	*p = '\0';
	return (size_t)(p - buf);
}
