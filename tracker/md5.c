/*
 * MD5 (RFC 1321) and the two hashes DVC 2.x derives from it: a file's md5
 * with its dos2unix rule for text (reference/dvc-checkpoints.md 4.2), and a
 * folder's md5 over its .dir manifest (4.3), which is written and read back
 * here, so that the two sides of its name encoding stay together.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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

/* ---- .dir manifests -------------------------------------------------------- */

/*
 * The next code point of a file name as Python sees it: strict UTF-8, and a
 * byte that does not start a valid sequence decoded alone as U+DC00 + byte
 * (os.fsdecode's surrogateescape). Advances *i.
 */
static uint32_t next_cp(const unsigned char *s, size_t *i)
{
	const unsigned char *p = s + *i;
	unsigned c = p[0];
	if (c < 0x80) {
		*i += 1;
		return c;
	}
	unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	int len;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		goto invalid;
	}
	if (p[1] < lo || p[1] > hi)
		goto invalid;
	for (int k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			goto invalid; /* also stops at the NUL */
		cp = cp << 6 | (p[k] & 0x3f);
	}
	*i += (size_t)len;
	return cp;
invalid:
	*i += 1;
	return 0xdc00 + c;
}

/* Python's str order (code points) on two file names. */
static int cmp_names(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t i = 0, j = 0;
	for (;;) {
		if (!x[i] || !y[j])
			return (x[i] != 0) - (y[j] != 0);
		uint32_t ca = next_cp(x, &i), cb = next_cp(y, &j);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
}

static int cmp_entries(const void *a, const void *b)
{
	return cmp_names(((const tr_dir_entry *)a)->relpath, ((const tr_dir_entry *)b)->relpath);
}

/* A JSON string as json.dumps(..., ensure_ascii=True) writes it. */
static int put_json_string(live__buf *b, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	int rc = live__buf_append(b, "\"", 1);
	for (size_t i = 0; u[i] && !rc;) {
		uint32_t cp = next_cp(u, &i);
		char esc[12];
		size_t n = 0;
		if (cp == '"' || cp == '\\') {
			esc[n++] = '\\';
			esc[n++] = (char)cp;
		} else if (cp >= 0x20 && cp <= 0x7e) {
			esc[n++] = (char)cp;
		} else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f') {
			esc[n++] = '\\';
			esc[n++] = cp == '\n'   ? 'n'
			           : cp == '\r' ? 'r'
			           : cp == '\t' ? 't'
			           : cp == '\b' ? 'b'
			                        : 'f';
		} else {
			uint32_t units[2] = {cp, 0};
			int nu = 1;
			if (cp >= 0x10000) {
				units[0] = 0xd800 | ((cp - 0x10000) >> 10);
				units[1] = 0xdc00 | ((cp - 0x10000) & 0x3ff);
				nu = 2;
			}
			for (int k = 0; k < nu; k++) {
				esc[n++] = '\\';
				esc[n++] = 'u';
				for (int sh = 12; sh >= 0; sh -= 4)
					esc[n++] = digits[(units[k] >> sh) & 15];
			}
		}
		rc = live__buf_append(b, esc, n);
	}
	return rc ? rc : live__buf_append(b, "\"", 1);
}

int tr_manifest_finish(tr_manifest *m, tr_hashinfo *out)
{
	if (m->n > 1)
		qsort(m->entries, m->n, sizeof(*m->entries), cmp_entries);
	live__buf b = {0};
	int rc = live__buf_append(&b, "[", 1);
	long long total = 0;
	for (size_t i = 0; i < m->n && !rc; i++) {
		const tr_dir_entry *e = &m->entries[i];
		total += e->size;
		if (i)
			rc = live__buf_append(&b, ", ", 2);
		if (!rc)
			rc = live__buf_append(&b, "{\"md5\": \"", 9);
		if (!rc)
			rc = live__buf_append(&b, e->md5, strlen(e->md5));
		if (!rc)
			rc = live__buf_append(&b, "\", \"relpath\": ", 14);
		if (!rc)
			rc = put_json_string(&b, e->relpath);
		if (!rc)
			rc = live__buf_append(&b, "}", 1);
	}
	if (!rc)
		rc = live__buf_append(&b, "]", 2); /* with the NUL, not counted */
	if (rc) {
		live__buf_free(&b);
		return rc;
	}
	free(m->json);
	m->json = b.data;
	m->json_len = b.len - 1;
	/* DVC hashes these bytes through file_md5. ensure_ascii leaves only
	 * printable ASCII (every \r is escaped), so the text rule changes nothing
	 * and the plain md5 is the same. */
	tr_md5 h;
	tr_md5_init(&h);
	tr_md5_update(&h, m->json, m->json_len);
	char hex[33];
	tr_md5_final(&h, hex);
	if (out) {
		snprintf(out->md5, sizeof(out->md5), "%s.dir", hex);
		out->size = total;
		out->nfiles = (long long)m->n;
	}
	return 0;
}

void tr_manifest_free(tr_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].relpath);
	free(m->entries);
	free(m->json);
	m->entries = NULL;
	m->n = 0;
	m->json = NULL;
	m->json_len = 0;
}

/* ---- reading a manifest ------------------------------------------------------ */

/*
 * DVC reads a manifest with json.loads and turns each relpath back into bytes
 * with os.fsencode (UTF-8, surrogateescape): a lone "\udc80".."\udcff" is the
 * raw byte 0x80..0xff, any other character its UTF-8. cJSON refuses lone
 * surrogates but keeps the raw bytes of a string as they are, so each lone
 * "\udcXX" escape is rewritten as its raw byte before cJSON sees the text.
 * That is exactly fsencode(json.loads(text)) for any text that is UTF-8 (JSON
 * must be; DVC and live write ASCII): every name put_json_string writes reads
 * back as the same bytes, an undecodable byte ("\udc80") and U+F780
 * ("\uf780", 3 bytes) alike. What fsencode cannot encode (another lone
 * surrogate, \u0000) is refused, as DVC fails on it.
 */

int tr_relpath_inside(const char *p)
{
	if (!*p || *p == '/')
		return 0;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!p[n])
			return 1;
		p += n + 1;
	}
}

static int hexval(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
		             : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
		             : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
		                                    : 16;
		if (d == 16)
			return 0;
		*v = *v << 4 | d;
	}
	return 1;
}

/* Rewrite, in place, each lone "\udc80".."\udcff" in s[0..*n) as its raw byte. */
static int escapes_to_bytes(char *s, size_t *n, const char *show)
{
	size_t r = 0, w = 0, len = *n;
	unsigned high = 0; /* a high surrogate waiting for its low half */
	while (r < len) {
		unsigned v = 0;
		int esc = s[r] == '\\' && r + 1 < len;
		int u = esc && s[r + 1] == 'u' && r + 6 <= len && hexval(s + r + 2, &v);
		int low = u && v >= 0xdc00 && v <= 0xdfff;
		if (high && !low)
			return live__fail(LIVE_EPARSE, "%s: \\u%04x is half a character (a lone surrogate)",
			                  show, high);
		if (u && v == 0)
			return live__fail(LIVE_EPARSE, "%s: \\u0000 in a name", show);
		if (low && !high) {
			if (v < 0xdc80 || v > 0xdcff)
				return live__fail(LIVE_EPARSE,
				                  "%s: \\u%04x is half a character (a lone surrogate)", show,
				                  v);
			s[w++] = (char)(v & 0xff);
			r += 6;
			continue;
		}
		size_t k = u ? 6 : esc ? 2 : 1;
		memmove(s + w, s + r, k);
		w += k;
		r += k;
		high = u && v >= 0xd800 && v <= 0xdbff ? v : 0;
	}
	if (high)
		return live__fail(LIVE_EPARSE, "%s: \\u%04x is half a character (a lone surrogate)", show,
		                  high);
	s[w] = 0;
	*n = w;
	return 0;
}

/* `s` for a one-line message: printable ASCII as is, other bytes as \xNN. */
static const char *show_name(char *buf, size_t size, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (w + 8 >= size) {
			memcpy(buf + w, "...", 3);
			w += 3;
			break;
		}
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			buf[w++] = (char)*p;
		} else {
			buf[w++] = '\\';
			buf[w++] = 'x';
			buf[w++] = digits[*p >> 4];
			buf[w++] = digits[*p & 15];
		}
	}
	buf[w] = 0;
	return buf;
}

/*
 * cJSON takes more than json.loads does: a byte order mark, any byte up to
 * ' ' as whitespace, raw control characters in strings, leading zeros and
 * "1.", text after the value. A manifest DVC cannot read is refused here too,
 * so this checks the text (already UTF-8) against Python's grammar: whitespace
 * is space, tab, LF and CR; a string holds no byte below 0x20 and only the
 * escapes \" \\ \/ \b \f \n \r \t \uXXXX; numbers are
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; nothing but whitespace
 * follows. (NaN and Infinity, which json.loads also takes, cJSON refuses
 * first; DVC never writes numbers in a manifest.) Called on text cJSON
 * parsed, so nesting is within CJSON_NESTING_LIMIT. 0, or LIVE_EPARSE
 * "<show>: not JSON at byte N (...)".
 */
static size_t json_ws(const unsigned char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static const char *json_string(const unsigned char *s, size_t *at, size_t len)
{
	size_t i = *at + 1; /* past the quote */
	unsigned v;
	for (;;) {
		if (i >= len)
			return "the text ends inside a string";
		if (s[i] == '"')
			break;
		if (s[i] < 0x20) {
			*at = i;
			return "a raw control character in a string";
		}
		if (s[i] != '\\') {
			i++;
		} else if (i + 1 < len && s[i + 1] && strchr("\"\\/bfnrt", s[i + 1])) {
			i += 2;
		} else if (i + 5 < len && s[i + 1] == 'u' && hexval((const char *)s + i + 2, &v)) {
			i += 6;
		} else {
			*at = i;
			return "a bad escape in a string";
		}
	}
	*at = i + 1;
	return NULL;
}

static const char *json_number(const unsigned char *s, size_t *at, size_t len)
{
	size_t i = *at;
	if (s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return "a bad number";
	if (i < len && s[i] == '.') {
		size_t digits = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return "a bad number";
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t digits = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return "a bad number";
	}
	*at = i;
	return NULL;
}

static int json_strict(const char *text, size_t len, const char *show)
{
	const unsigned char *s = (const unsigned char *)text;
	char open[CJSON_NESTING_LIMIT + 1]; /* '[' or '{' of each open value */
	size_t depth = 0, i = 0;
	enum { VALUE, KEY, AFTER } at = VALUE;
	const char *why = NULL;
	while (!why) {
		i = json_ws(s, i, len);
		if (at == KEY) {
			if (i >= len || s[i] != '"' || (why = json_string(s, &i, len)) != NULL) {
				why = why ? why : "expected a key in quotes";
				break;
			}
			i = json_ws(s, i, len);
			if (i >= len || s[i] != ':') {
				why = "expected ':'";
				break;
			}
			i++;
			at = VALUE;
		} else if (at == AFTER) {
			char close = depth && open[depth - 1] == '{' ? '}' : ']';
			if (!depth) {
				if (i < len)
					why = "text after the end of the list";
				break;
			}
			if (i < len && s[i] == ',') {
				at = open[depth - 1] == '{' ? KEY : VALUE;
				i++;
			} else if (i < len && (char)s[i] == close) {
				depth--;
				i++;
			} else {
				why = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'";
			}
		} else if (i < len && (s[i] == '[' || s[i] == '{')) {
			if (depth == CJSON_NESTING_LIMIT) {
				why = "nested too deep";
				break;
			}
			open[depth++] = (char)s[i];
			i = json_ws(s, i + 1, len);
			if (i < len && s[i] == (open[depth - 1] == '{' ? '}' : ']')) {
				depth--;
				i++;
				at = AFTER;
			} else {
				at = open[depth - 1] == '{' ? KEY : VALUE;
			}
		} else if (i < len && s[i] == '"') {
			why = json_string(s, &i, len);
			at = AFTER;
		} else if (i < len && (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))) {
			why = json_number(s, &i, len);
			at = AFTER;
		} else {
			static const char *const words[] = {"true", "false", "null"};
			size_t k = 0;
			while (k < 3 &&
			       (len - i < strlen(words[k]) || memcmp(s + i, words[k], strlen(words[k]))))
				k++;
			if (k == 3)
				why = "expected a value";
			else
				i += strlen(words[k]);
			at = AFTER;
		}
	}
	if (why)
		return live__fail(LIVE_EPARSE, "%s: not JSON at byte %zu (%s)", show, i + 1, why);
	return 0;
}

/* An object's member `key`; the last one when the key repeats, as in the dict json.loads makes. */
static const cJSON *member(const cJSON *object, const char *key)
{
	const cJSON *hit = NULL, *c;
	if (!cJSON_IsObject(object))
		return NULL;
	cJSON_ArrayForEach(c, object)
	{
		if (c->string && !strcmp(c->string, key))
			hit = c;
	}
	return hit;
}

typedef struct named {
	const char *name;
	size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Two entries for one file, or a file that another entry needs as a folder. */
static int check_names(const tr_manifest *m, const char *show)
{
	if (m->n < 2)
		return 0;
	named *v = malloc(m->n * sizeof(*v));
	if (!v)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	for (size_t i = 0; i < m->n; i++)
		v[i] = (named){m->entries[i].relpath, i};
	qsort(v, m->n, sizeof(*v), cmp_named);
	char a[160], b[160];
	int rc = 0;
	for (size_t i = 1; i < m->n && !rc; i++)
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			size_t x = v[i - 1].index < v[i].index ? v[i - 1].index : v[i].index;
			size_t y = v[i - 1].index + v[i].index - x;
			rc = live__fail(LIVE_EPARSE, "%s: entries %zu and %zu both name '%s'", show, x + 1,
			                y + 1, show_name(a, sizeof(a), v[i].name));
		}
	for (size_t i = 0; i < m->n && !rc; i++) {
		const char *path = m->entries[i].relpath;
		char *dir = strdup(path); /* a copy: the names in `v` stay whole */
		if (!dir) {
			rc = live__fail(LIVE_ENOMEM, "%s: out of memory", show);
			break;
		}
		for (char *slash = strchr(dir, '/'); slash && !rc; slash = strchr(slash + 1, '/')) {
			*slash = 0;
			named key = {dir, 0};
			const named *hit = bsearch(&key, v, m->n, sizeof(*v), cmp_named);
			if (hit)
				rc = live__fail(
				        LIVE_EPARSE,
				        "%s: entry %zu names the file '%s', entry %zu a file below it ('%s')",
				        show, hit->index + 1, show_name(a, sizeof(a), dir), i + 1,
				        show_name(b, sizeof(b), path));
			*slash = '/';
		}
		free(dir);
	}
	free(v);
	return rc;
}

int tr_manifest_parse(const char *text, size_t len, const char *show, tr_manifest *out)
{
	memset(out, 0, sizeof(*out));
	const unsigned char *u = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		size_t at = i;
		uint32_t cp = next_cp(u, &i);
		if (cp >= 0xdc80 && cp <= 0xdcff)
			return live__fail(LIVE_EPARSE, "%s: byte %zu is not UTF-8", show, at + 1);
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	memcpy(copy, text, len);
	copy[len] = 0;
	size_t n = len;
	int rc = escapes_to_bytes(copy, &n, show);
	cJSON *json = rc ? NULL : cJSON_ParseWithLength(copy, n);
	free(copy);
	if (rc)
		return rc;
	int count = cJSON_IsArray(json) ? cJSON_GetArraySize(json) : -1;
	if (count < 0) {
		cJSON_Delete(json);
		return live__fail(LIVE_EPARSE, "%s: not a JSON list", show);
	}
	if ((rc = json_strict(text, len, show)) != 0) {
		cJSON_Delete(json);
		return rc;
	}
	out->entries = calloc((size_t)count + 1, sizeof(*out->entries));
	if (!out->entries) {
		cJSON_Delete(json);
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	}
	const cJSON *item;
	cJSON_ArrayForEach(item, json)
	{
		const cJSON *h = member(item, "md5");
		const cJSON *p = member(item, "relpath");
		const char *md5 = cJSON_IsString(h) ? h->valuestring : "";
		int hex = strlen(md5) == 32 && strspn(md5, "0123456789abcdef") == 32;
		if (!hex || !cJSON_IsString(p) || !tr_relpath_inside(p->valuestring)) {
			rc = live__fail(LIVE_EPARSE,
			                "%s: entry %zu is not {\"md5\": <32 hex>, \"relpath\": <path inside "
			                "the folder>}",
			                show, out->n + 1);
			break;
		}
		tr_dir_entry *e = &out->entries[out->n];
		if (!(e->relpath = strdup(p->valuestring))) {
			rc = live__fail(LIVE_ENOMEM, "%s: out of memory", show);
			break;
		}
		memcpy(e->md5, md5, 33);
		e->size = -1; /* manifests record no sizes */
		out->n++;
	}
	cJSON_Delete(json);
	if (!rc)
		rc = check_names(out, show);
	if (rc)
		tr_manifest_free(out);
	return rc;
}
