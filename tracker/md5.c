/*
 * MD5 (RFC 1321) and DVC 2.x's file md5 with its dos2unix rule for text
 * (reference/dvc-checkpoints.md 4.2), whole or streamed. A folder's md5 over
 * its .dir manifest is in manifest.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracker.h"

/* ---- MD5 ---------------------------------------------------------------- */

/* The RFC's T[i] = floor(2^32 * |sin(i)|), i = 1..64. */
static const uint32_t md5_t[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* The auxiliary functions, in forms that need one operation less than the
 * RFC's (F: z ^ (x & (y ^ z)) selects y or z by x; G is F with rotated roles). */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define MD5_ROTL(v, s) (((v) << (s)) | ((v) >> (32 - (s))))
#define MD5_STEP(f, a, b, c, d, k, i, s)                                                                     \
	do {                                                                                                 \
		(a) += f((b), (c), (d)) + x[k] + md5_t[i];                                                   \
		(a) = MD5_ROTL((a), (s)) + (b);                                                              \
	} while (0)

static inline uint32_t load_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Process whole 64-byte blocks straight from the caller's memory. */
static void md5_blocks(tr_md5 *m, const unsigned char *p, size_t nblocks)
{
	uint32_t a = m->a, b = m->b, c = m->c, d = m->d;
	uint32_t x[16];
	for (; nblocks; nblocks--, p += 64) {
		for (int j = 0; j < 16; j++)
			x[j] = load_le32(p + 4 * j);
		uint32_t aa = a, bb = b, cc = c, dd = d;
		/* round 1: X[i], shifts 7 12 17 22 */
		MD5_STEP(MD5_F, a, b, c, d, 0, 0, 7);
		MD5_STEP(MD5_F, d, a, b, c, 1, 1, 12);
		MD5_STEP(MD5_F, c, d, a, b, 2, 2, 17);
		MD5_STEP(MD5_F, b, c, d, a, 3, 3, 22);
		MD5_STEP(MD5_F, a, b, c, d, 4, 4, 7);
		MD5_STEP(MD5_F, d, a, b, c, 5, 5, 12);
		MD5_STEP(MD5_F, c, d, a, b, 6, 6, 17);
		MD5_STEP(MD5_F, b, c, d, a, 7, 7, 22);
		MD5_STEP(MD5_F, a, b, c, d, 8, 8, 7);
		MD5_STEP(MD5_F, d, a, b, c, 9, 9, 12);
		MD5_STEP(MD5_F, c, d, a, b, 10, 10, 17);
		MD5_STEP(MD5_F, b, c, d, a, 11, 11, 22);
		MD5_STEP(MD5_F, a, b, c, d, 12, 12, 7);
		MD5_STEP(MD5_F, d, a, b, c, 13, 13, 12);
		MD5_STEP(MD5_F, c, d, a, b, 14, 14, 17);
		MD5_STEP(MD5_F, b, c, d, a, 15, 15, 22);
		/* round 2: X[(1 + 5i) mod 16], shifts 5 9 14 20 */
		MD5_STEP(MD5_G, a, b, c, d, 1, 16, 5);
		MD5_STEP(MD5_G, d, a, b, c, 6, 17, 9);
		MD5_STEP(MD5_G, c, d, a, b, 11, 18, 14);
		MD5_STEP(MD5_G, b, c, d, a, 0, 19, 20);
		MD5_STEP(MD5_G, a, b, c, d, 5, 20, 5);
		MD5_STEP(MD5_G, d, a, b, c, 10, 21, 9);
		MD5_STEP(MD5_G, c, d, a, b, 15, 22, 14);
		MD5_STEP(MD5_G, b, c, d, a, 4, 23, 20);
		MD5_STEP(MD5_G, a, b, c, d, 9, 24, 5);
		MD5_STEP(MD5_G, d, a, b, c, 14, 25, 9);
		MD5_STEP(MD5_G, c, d, a, b, 3, 26, 14);
		MD5_STEP(MD5_G, b, c, d, a, 8, 27, 20);
		MD5_STEP(MD5_G, a, b, c, d, 13, 28, 5);
		MD5_STEP(MD5_G, d, a, b, c, 2, 29, 9);
		MD5_STEP(MD5_G, c, d, a, b, 7, 30, 14);
		MD5_STEP(MD5_G, b, c, d, a, 12, 31, 20);
		/* round 3: X[(5 + 3i) mod 16], shifts 4 11 16 23 */
		MD5_STEP(MD5_H, a, b, c, d, 5, 32, 4);
		MD5_STEP(MD5_H, d, a, b, c, 8, 33, 11);
		MD5_STEP(MD5_H, c, d, a, b, 11, 34, 16);
		MD5_STEP(MD5_H, b, c, d, a, 14, 35, 23);
		MD5_STEP(MD5_H, a, b, c, d, 1, 36, 4);
		MD5_STEP(MD5_H, d, a, b, c, 4, 37, 11);
		MD5_STEP(MD5_H, c, d, a, b, 7, 38, 16);
		MD5_STEP(MD5_H, b, c, d, a, 10, 39, 23);
		MD5_STEP(MD5_H, a, b, c, d, 13, 40, 4);
		MD5_STEP(MD5_H, d, a, b, c, 0, 41, 11);
		MD5_STEP(MD5_H, c, d, a, b, 3, 42, 16);
		MD5_STEP(MD5_H, b, c, d, a, 6, 43, 23);
		MD5_STEP(MD5_H, a, b, c, d, 9, 44, 4);
		MD5_STEP(MD5_H, d, a, b, c, 12, 45, 11);
		MD5_STEP(MD5_H, c, d, a, b, 15, 46, 16);
		MD5_STEP(MD5_H, b, c, d, a, 2, 47, 23);
		/* round 4: X[7i mod 16], shifts 6 10 15 21 */
		MD5_STEP(MD5_I, a, b, c, d, 0, 48, 6);
		MD5_STEP(MD5_I, d, a, b, c, 7, 49, 10);
		MD5_STEP(MD5_I, c, d, a, b, 14, 50, 15);
		MD5_STEP(MD5_I, b, c, d, a, 5, 51, 21);
		MD5_STEP(MD5_I, a, b, c, d, 12, 52, 6);
		MD5_STEP(MD5_I, d, a, b, c, 3, 53, 10);
		MD5_STEP(MD5_I, c, d, a, b, 10, 54, 15);
		MD5_STEP(MD5_I, b, c, d, a, 1, 55, 21);
		MD5_STEP(MD5_I, a, b, c, d, 8, 56, 6);
		MD5_STEP(MD5_I, d, a, b, c, 15, 57, 10);
		MD5_STEP(MD5_I, c, d, a, b, 6, 58, 15);
		MD5_STEP(MD5_I, b, c, d, a, 13, 59, 21);
		MD5_STEP(MD5_I, a, b, c, d, 4, 60, 6);
		MD5_STEP(MD5_I, d, a, b, c, 11, 61, 10);
		MD5_STEP(MD5_I, c, d, a, b, 2, 62, 15);
		MD5_STEP(MD5_I, b, c, d, a, 9, 63, 21);
		a += aa;
		b += bb;
		c += cc;
		d += dd;
	}
	m->a = a;
	m->b = b;
	m->c = c;
	m->d = d;
}

void tr_md5_init(tr_md5 *m)
{
	m->a = 0x67452301;
	m->b = 0xefcdab89;
	m->c = 0x98badcfe;
	m->d = 0x10325476;
	m->len = 0;
}

void tr_md5_update(tr_md5 *m, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t have = (size_t)(m->len & 63);
	m->len += n;
	if (have) {
		size_t take = 64 - have < n ? 64 - have : n;
		memcpy(m->buf + have, p, take);
		p += take;
		n -= take;
		if (have + take < 64)
			return;
		md5_blocks(m, m->buf, 1);
	}
	md5_blocks(m, p, n / 64);
	p += n / 64 * 64;
	memcpy(m->buf, p, n % 64);
}

void tr_md5_final(tr_md5 *m, char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	uint64_t bits = m->len * 8;
	size_t have = (size_t)(m->len & 63);
	m->buf[have++] = 0x80;
	if (have > 56) {
		memset(m->buf + have, 0, 64 - have);
		md5_blocks(m, m->buf, 1);
		have = 0;
	}
	memset(m->buf + have, 0, 56 - have);
	for (int i = 0; i < 8; i++)
		m->buf[56 + i] = (unsigned char)(bits >> (8 * i));
	md5_blocks(m, m->buf, 1);
	uint32_t words[4] = {m->a, m->b, m->c, m->d};
	for (int i = 0; i < 16; i++) {
		unsigned v = (words[i / 4] >> (8 * (i % 4))) & 0xff;
		hex[2 * i] = digits[v >> 4];
		hex[2 * i + 1] = digits[v & 15];
	}
	hex[32] = 0;
}

/* ---- DVC 2.x file md5 ------------------------------------------------------ */

#define TR_CHUNK (1u << 20) /* DVC's LOCAL_CHUNK_SIZE */
#define TR_TEXT_BLOCK 512   /* what istextfile() looks at */

/* dvc/istextfile.py: no NUL, and at most 30% of the bytes outside TEXT_CHARS.
 * nontext / n <= 0.30 in doubles equals 10 * nontext <= 3 * n for n <= 512. */
static int looks_text(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 1;
	size_t nontext = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == 0)
			return 0;
		if ((c < 32 || c > 126) && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != '\b')
			nontext++;
	}
	return nontext * 10 <= n * 3;
}

/* bytes.replace(b"\r\n", b"\n") in place; returns the new length. */
static size_t dos2unix(unsigned char *p, size_t n)
{
	unsigned char *cr = memchr(p, '\r', n);
	if (!cr)
		return n;
	size_t w = (size_t)(cr - p), r = w;
	while (r < n) {
		unsigned char *next = memchr(p + r, '\r', n - r);
		size_t end = next ? (size_t)(next - p) : n;
		if (end > r && w != r)
			memmove(p + w, p + r, end - r);
		w += end - r;
		r = end;
		if (r == n)
			break;
		/* p[r] is '\r': dropped when a '\n' follows it in this chunk */
		if (!(r + 1 < n && p[r + 1] == '\n'))
			p[w++] = '\r';
		r++;
	}
	return w;
}

int tr_md5_fd(int fd, const char *show, char hex[33], long long *size)
{
	unsigned char *buf = malloc(TR_CHUNK);
	if (!buf)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	tr_md5 m;
	tr_md5_init(&m);
	long long off = 0;
	int text = -1;
	for (;;) {
		/* A full chunk, as Python's fobj.read(CHUNK) returns one, so that the
		 * per-chunk CRLF rule sees the same boundaries as DVC. */
		size_t n = 0;
		while (n < TR_CHUNK) {
			ssize_t r = pread(fd, buf + n, TR_CHUNK - n, (off_t)(off + (long long)n));
			if (r < 0) {
				if (errno == EINTR)
					continue;
				int err = errno;
				free(buf);
				return live__fail_errno(live__errno_code(err), err, "%s: read", show);
			}
			if (r == 0)
				break;
			n += (size_t)r;
		}
		/* istextfile() reads the first 512 bytes: the start of chunk 0 */
		if (text < 0)
			text = looks_text(buf, n < TR_TEXT_BLOCK ? n : TR_TEXT_BLOCK);
		if (n == 0)
			break;
		off += (long long)n;
		tr_md5_update(&m, buf, text ? dos2unix(buf, n) : n);
		if (n < TR_CHUNK)
			break;
	}
	free(buf);
	tr_md5_final(&m, hex);
	if (size)
		*size = off;
	return 0;
}

int tr_md5_dvc_buf(const void *data, size_t len, char hex[33])
{
	const unsigned char *p = data;
	tr_md5 m;
	tr_md5_init(&m);
	if (!looks_text(p, len < TR_TEXT_BLOCK ? len : TR_TEXT_BLOCK)) {
		tr_md5_update(&m, p, len);
		tr_md5_final(&m, hex);
		return 0;
	}
	/* The CRLF rule works on a copy, one DVC-sized chunk at a time. */
	unsigned char *chunk = malloc(len < TR_CHUNK ? (len ? len : 1) : TR_CHUNK);
	if (!chunk)
		return live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t off = 0; off < len; off += TR_CHUNK) {
		size_t n = len - off < TR_CHUNK ? len - off : TR_CHUNK;
		memcpy(chunk, p + off, n);
		tr_md5_update(&m, chunk, dos2unix(chunk, n));
	}
	free(chunk);
	tr_md5_final(&m, hex);
	return 0;
}

/* ---- DVC 2.x file md5, streaming (tracker.h) --------------------------------- */

_Static_assert(sizeof(((tr_md5_dvc *)0)->head) == TR_TEXT_BLOCK, "tr_md5_dvc.head holds the text test's block");

void tr_md5_dvc_init(tr_md5_dvc *h)
{
	tr_md5_init(&h->m);
	h->fed = 0;
	h->done = 0;
	h->text = -1;
	h->cr = 0;
}

/*
 * Text: hash p[0..n), the bytes at file offset h->done onwards, with each
 * "\r\n" of one 1 MiB chunk as "\n" (dos2unix per chunk, as tr_md5_fd), without
 * changing p: the bytes between dropped '\r's go to the md5 as they are.
 */
static void dvc_text(tr_md5_dvc *h, const unsigned char *p, size_t n)
{
	while (n) {
		size_t room = TR_CHUNK - (size_t)(h->done % TR_CHUNK); /* left in this chunk */
		size_t take = n < room ? n : room;
		if (h->cr) { /* the previous piece ended with a '\r' inside this chunk */
			h->cr = 0;
			if (p[0] != '\n')
				tr_md5_update(&h->m, "\r", 1);
		}
		size_t start = 0; /* p[start..) not hashed yet */
		for (const unsigned char *cr = memchr(p, '\r', take); cr;) {
			size_t at = (size_t)(cr - p);
			if (at + 1 == take) {
				if (take < room) { /* the chunk goes on in the next piece: hold it */
					tr_md5_update(&h->m, p + start, at - start);
					start = take;
					h->cr = 1;
				}
				break; /* else the chunk's last byte: a '\r' kept */
			}
			if (p[at + 1] == '\n') {
				tr_md5_update(&h->m, p + start, at - start);
				start = at + 1;
			}
			cr = memchr(p + at + 1, '\r', take - at - 1);
		}
		tr_md5_update(&h->m, p + start, take - start);
		h->done += take;
		p += take;
		n -= take;
	}
}

static void dvc_feed(tr_md5_dvc *h, const unsigned char *p, size_t n)
{
	if (h->text) {
		dvc_text(h, p, n);
	} else {
		tr_md5_update(&h->m, p, n);
		h->done += n;
	}
}

void tr_md5_dvc_update(tr_md5_dvc *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	if (h->text < 0) { /* the text test needs the first TR_TEXT_BLOCK bytes */
		size_t have = (size_t)h->fed;
		size_t take = n < TR_TEXT_BLOCK - have ? n : TR_TEXT_BLOCK - have;
		memcpy(h->head + have, p, take);
		h->fed += take;
		p += take;
		n -= take;
		if (h->fed < TR_TEXT_BLOCK)
			return;
		h->text = looks_text(h->head, TR_TEXT_BLOCK);
		dvc_feed(h, h->head, TR_TEXT_BLOCK);
	}
	h->fed += n;
	dvc_feed(h, p, n);
}

void tr_md5_dvc_final(tr_md5_dvc *h, char hex[33], long long *size)
{
	if (h->text < 0) { /* a file shorter than the text test's block */
		h->text = looks_text(h->head, (size_t)h->fed);
		dvc_feed(h, h->head, (size_t)h->fed);
	}
	if (h->cr) /* the file's last byte */
		tr_md5_update(&h->m, "\r", 1);
	h->cr = 0;
	tr_md5_final(&h->m, hex);
	if (size)
		*size = (long long)h->fed;
}
