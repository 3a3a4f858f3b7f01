/*
 * Hashing and the cache (tracker/md5.c, state.c, cache.c): RFC 1321 vectors;
 * DVC 2.x's md5 rules (reference/dvc-checkpoints.md 4.2-4.3) pinned as exact
 * values computed outside this code (hashlib + md5sum), and cross-checked at
 * run time against tests/data/tracker/dvc_md5.py, an independent model of the
 * rules; the stat cache; cache objects and checkout.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tracker.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------------- */

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Overwrite the start of a file in place (same inode, same size if n fits). */
static void overwrite_bytes(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, n, 0), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void set_mtime(const char *path, time_t sec, long nsec)
{
	struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p[n] = 0;
	*len = (size_t)n;
	return p;
}

static void md5_string(const char *s, char hex[33])
{
	tr_md5 m;
	tr_md5_init(&m);
	tr_md5_update(&m, s, strlen(s));
	tr_md5_final(&m, hex);
}

static void md5_path(const char *path, char hex[33], long long *size)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(tr_md5_fd(fd, path, hex, size), 0);
	close(fd);
}

static int have_python(void)
{
	static int have = -1;
	if (have < 0) {
		have = system("python3 -c 'import hashlib, json' >/dev/null 2>&1") == 0;
		if (!have)
			print_message("python3 is missing: skipping the cross-checks against dvc_md5.py\n");
	}
	return have;
}

/* What tests/data/tracker/dvc_md5.py says about `path`: the same as us. */
static void python_agrees(const char *path, const char *md5, long long size, long long nfiles,
                          const char *json, size_t json_len)
{
	if (!have_python())
		return;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "python3 '%s/tracker/dvc_md5.py' '%s'", LIVE_TEST_DATA, path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char got_md5[64];
	long long got_size = -2, got_nfiles = -2;
	assert_int_equal(fscanf(p, "%63s %lld %lld", got_md5, &got_size, &got_nfiles), 3);
	assert_string_equal(got_md5, md5);
	assert_int_equal(got_size, size);
	assert_int_equal(got_nfiles, nfiles);
	if (json) {
		assert_int_equal(fgetc(p), '\n');
		char *line = NULL;
		size_t cap = 0;
		ssize_t n = getline(&line, &cap, p);
		assert_true(n > 0);
		assert_int_equal((size_t)n, json_len + 1);
		assert_memory_equal(line, json, json_len);
		free(line);
	}
	assert_int_equal(pclose(p), 0);
}

/* tr_md5_fd of a file with these bytes: the pinned value, and Python's. */
static void file_golden(const char *path, const void *data, size_t n, const char *want)
{
	write_bytes(path, data, n);
	char hex[33];
	long long size = -1;
	md5_path(path, hex, &size);
	assert_string_equal(hex, want);
	assert_int_equal(size, (long long)n);
	python_agrees(path, want, (long long)n, -1, NULL, 0);
}

static const unsigned char BIN[] = "\x00\x01\x02"
                                   "binary\r\nwith NUL\r\n";
static const char LF[] = "epoch\tloss\n0\t0.5\n1\t0.25\n";
static const char CRLF[] = "timestamp\tstep\tloss\r\n1650000000000\t0\t0.5\r\n1650000000100\t1\t0.25\r\n";

/* BIN's bytes followed by 0..255 (277 bytes). */
static size_t bin_fixture(unsigned char *buf)
{
	size_t n = sizeof(BIN) - 1;
	memcpy(buf, BIN, n);
	for (int i = 0; i < 256; i++)
		buf[n++] = (unsigned char)i;
	return n;
}

/* "ab\r\n" repeated, after `high` bytes 0xe9, 100 bytes in all. */
static void high_fixture(unsigned char *buf, int high)
{
	for (int i = 0; i < 100; i++)
		buf[i] = i < high ? 0xe9 : (unsigned char)"ab\r\n"[(i - high) % 4];
}

/* ---- MD5 ---------------------------------------------------------------------- */

static void md5_rfc1321_vectors(void **state)
{
	(void)state;
	static const char *const v[][2] = {
	        {"", "d41d8cd98f00b204e9800998ecf8427e"},
	        {"a", "0cc175b9c0f1b6a831c399e269772661"},
	        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	         "d174ab98d277d9f5a5611c2c9f419d9f"},
	        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	         "57edf4a22be3c955ac49da2e2107b67a"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char hex[33];
		md5_string(v[i][0], hex);
		assert_string_equal(hex, v[i][1]);
	}
}

/* Any split of the input gives the same digest; a million 'a' is the classic vector. */
static void md5_update_in_pieces(void **state)
{
	(void)state;
	size_t n = 1000000;
	char *a = malloc(n);
	assert_non_null(a);
	memset(a, 'a', n);
	static const size_t steps[] = {1, 3, 55, 56, 63, 64, 65, 127, 4096, 1000000};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		tr_md5 m;
		tr_md5_init(&m);
		for (size_t off = 0; off < n; off += steps[s])
			tr_md5_update(&m, a + off, n - off < steps[s] ? n - off : steps[s]);
		char hex[33];
		tr_md5_final(&m, hex);
		assert_string_equal(hex, "7707d6ae4e027c70eea2a935c2296f21");
	}
	free(a);
}

/* ---- DVC's file rule ------------------------------------------------------------ */

static void file_md5_binary_with_nul_is_plain(void **state)
{
	(void)state;
	unsigned char buf[512];
	size_t n = bin_fixture(buf);
	/* = md5sum: the CRLFs stay */
	file_golden("bin.dat", buf, n, "e246bbfdb2beb366fcccb9d0a83d0e69");
}

static void file_md5_lf_text(void **state)
{
	(void)state;
	file_golden("lf.txt", LF, strlen(LF), "d113c5a6b15a9d9ea3ce3eb0e91f5b66");
}

static void file_md5_crlf_text_is_dos2unix(void **state)
{
	(void)state;
	/* = md5sum of the bytes with every \r\n made \n */
	file_golden("crlf.tsv", CRLF, strlen(CRLF), "82a402ec756c7ee9f666e9c0ea648682");
}

/* A CRLF whose \r ends the first 1 MiB chunk and whose \n starts the next is kept. */
static void file_md5_crlf_split_across_chunks_is_kept(void **state)
{
	(void)state;
	size_t n = 1048576 + 4096;
	static const char pat[] = "line of text\r\n";
	char *buf = malloc(n);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = pat[i % 14];
	buf[1048575] = '\r';
	buf[1048576] = '\n';
	/* dos2unix over the whole file would give 6b8f520d5195b43063021b4a10c53363 */
	file_golden("split.txt", buf, n, "073690f28c8eada9d733b0e8207a0c3e");
	free(buf);
}

static void file_md5_empty(void **state)
{
	(void)state;
	file_golden("empty.txt", "", 0, "d41d8cd98f00b204e9800998ecf8427e");
}

/* 31 of 100 bytes outside TEXT_CHARS: binary (CRLF kept); exactly 30: text. */
static void file_md5_thirty_percent_threshold(void **state)
{
	(void)state;
	unsigned char buf[100];
	high_fixture(buf, 31);
	file_golden("high.bin", buf, 100, "16f6d64a9f61b55e7be19565df4e59cc");
	high_fixture(buf, 30);
	file_golden("edge30.txt", buf, 100, "e648c1911267ec08c7564c664157bbe6");
}

/* Only the first 512 bytes decide: a NUL after them leaves the file text. */
static void file_md5_detection_reads_512_bytes(void **state)
{
	(void)state;
	char buf[604];
	for (int i = 0; i < 200; i++)
		memcpy(buf + 3 * i, "x\r\n", 3);
	memcpy(buf + 600, "\x00\xff\r\n", 4);
	file_golden("late.txt", buf, sizeof(buf), "30c8981f671745e99f7e4a9e799819be");
}

/* ---- DVC's file rule, streaming (tr_md5_dvc_*) ------------------------------------- */

/* The streaming md5 of data[0..n) fed in pieces of `step` bytes (0: sizes from a fixed pseudo-random
 * sequence, empty pieces included); the pieces must come back unchanged. */
static void stream_md5(const unsigned char *data, size_t n, size_t step, char hex[33])
{
	unsigned char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, data, n);
	tr_md5_dvc h;
	tr_md5_dvc_init(&h);
	uint32_t seed = 12345;
	for (size_t off = 0; off < n;) {
		size_t k = step;
		if (!step) {
			seed = seed * 1103515245u + 12345u;
			k = (seed >> 8) % 3 == 0 ? (seed >> 12) % 9 : (seed >> 12) % 70001;
		}
		if (k > n - off)
			k = n - off;
		tr_md5_dvc_update(&h, copy + off, k);
		off += k;
	}
	long long size = -1;
	tr_md5_dvc_final(&h, hex, &size);
	assert_int_equal(size, (long long)n);
	assert_memory_equal(copy, data, n);
	free(copy);
}

/* Fed in any pieces, the streaming md5 is tr_md5_fd's (and `want` when given). */
static void stream_agrees(const char *path, const unsigned char *data, size_t n, const char *want)
{
	static const size_t steps[] = {1,    2,    13,    511,     512,     513,     4095,   65536,
	                               1048575, 1048576, 1048577, 3u << 20, 0};
	write_bytes(path, data, n);
	char fd_hex[33];
	long long size = -1;
	md5_path(path, fd_hex, &size);
	assert_int_equal(size, (long long)n);
	if (want)
		assert_string_equal(fd_hex, want);
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		if (steps[s] == 1 && n > (1u << 21))
			continue; /* a byte at a time is covered by the smaller inputs */
		char hex[33];
		stream_md5(data, n, steps[s], hex);
		if (strcmp(hex, fd_hex))
			fail_msg("%s fed %zu bytes at a time: %s, tr_md5_fd: %s", path, steps[s], hex, fd_hex);
	}
}

static void md5_stream_equals_md5_fd(void **state)
{
	(void)state;
	unsigned char small[604];
	size_t n = bin_fixture(small);
	stream_agrees("bin.dat", small, n, "e246bbfdb2beb366fcccb9d0a83d0e69");
	stream_agrees("lf.txt", (const unsigned char *)LF, strlen(LF), "d113c5a6b15a9d9ea3ce3eb0e91f5b66");
	stream_agrees("crlf.tsv", (const unsigned char *)CRLF, strlen(CRLF), "82a402ec756c7ee9f666e9c0ea648682");
	stream_agrees("empty.txt", (const unsigned char *)"", 0, "d41d8cd98f00b204e9800998ecf8427e");
	stream_agrees("cr.txt", (const unsigned char *)"\r", 1, NULL);
	stream_agrees("crcr.txt", (const unsigned char *)"a\r\r\n\r\r\r\nb\r", 11, NULL);
	high_fixture(small, 31);
	stream_agrees("high.bin", small, 100, "16f6d64a9f61b55e7be19565df4e59cc");
	high_fixture(small, 30);
	stream_agrees("edge30.txt", small, 100, "e648c1911267ec08c7564c664157bbe6");
	for (int i = 0; i < 200; i++)
		memcpy(small + 3 * i, "x\r\n", 3);
	memcpy(small + 600, "\x00\xff\r\n", 4);
	stream_agrees("late.txt", small, sizeof(small), "30c8981f671745e99f7e4a9e799819be");
	/* around the text test's 512 bytes: a "\r\n" across byte 512, and a NUL at 511 / 512 */
	for (size_t len = 510; len <= 514; len++) {
		for (size_t i = 0; i < len; i++)
			small[i] = (unsigned char)"ab\r\n"[i % 4];
		small[510] = '\r';
		small[511] = '\n';
		stream_agrees("around512.txt", small, len, NULL);
		small[len - 1] = 0;
		stream_agrees("around512.bin", small, len, NULL);
	}

	/* > 1 MiB: CRLF text with a "\r\n" across each 1 MiB boundary (kept: 073690f2... pinned above),
	 * a lone '\r' ending a chunk, "\r\r\n" runs; and binary bytes */
	size_t big = (5u << 20) / 2 + 7;
	unsigned char *buf = malloc(big);
	assert_non_null(buf);
	static const char pat[] = "line of text\r\n";
	for (size_t i = 0; i < 1048576 + 4096; i++)
		buf[i] = (unsigned char)pat[i % 14];
	buf[1048575] = '\r';
	buf[1048576] = '\n';
	stream_agrees("split.txt", buf, 1048576 + 4096, "073690f28c8eada9d733b0e8207a0c3e");
	for (size_t i = 0; i < big; i++)
		buf[i] = (unsigned char)"a\r\r\nbc\r\n\r"[i % 9];
	buf[2097151] = '\r';
	buf[2097152] = 'x';
	stream_agrees("big.txt", buf, big, NULL);
	uint32_t x = 7;
	for (size_t i = 0; i < big; i++) {
		x = x * 1664525u + 1013904223u;
		buf[i] = (unsigned char)(x >> 24);
	}
	stream_agrees("big.bin", buf, big, NULL);
	stream_agrees("mib.bin", buf, 1048576, NULL);
	free(buf);
}

/* ---- cache remotes and the stat cache (remote.c, state.c) ------------------------------ */

static void identity_of(const char *path, tr_filestat *fs)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	fs->dev = (unsigned long long)sb.st_dev;
	fs->ino = (unsigned long long)sb.st_ino;
	fs->mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
	fs->size = (long long)sb.st_size;
}

/* "<dir>/<md5[0:2]>/<md5[2:]>" (one of four rotating buffers). */
static const char *fmt_obj(const char *dir, const char *md5)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, sizeof(bufs[0]), "%s/%.2s/%s", dir, md5, md5 + 2);
	return b;
}

/* Dot files in `dir`: temp files left behind. */
static int dot_files_in(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* 600 kB (three copy chunks) of binary bytes, seeded; their md5 in md5, the object put in `dir`. */
static unsigned char *put_object(const char *dir, uint32_t seed, size_t n, char md5[33])
{
	unsigned char *p = malloc(n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (unsigned char)(seed >> 24);
	}
	write_bytes("obj.tmp", p, n);
	md5_path("obj.tmp", md5, NULL);
	char sub[128], path[256];
	snprintf(sub, sizeof(sub), "%s/%.2s", dir, md5);
	snprintf(path, sizeof(path), "%s/%s", sub, md5 + 2);
	mkdir(".dvc", 0755); /* a repository: the cache's parent is there */
	mkdir(dir, 0755);
	mkdir(sub, 0755);
	assert_int_equal(rename("obj.tmp", path), 0);
	return p;
}

static int mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return (int)(sb.st_mode & 07777);
}

/*
 * A pulled object is hashed as it is copied, lands 0444 with an mtime
 * TR_RACY_NS before the pull began, and the stat cache may vouch for it at
 * once; pushing it then copies it unread (shown by bytes changed under a
 * forged identical stat, as state_unchanged_file_is_not_reread shows it); a
 * real write gives it a new mtime, and the push hashes it and refuses it.
 */
static void remote_pull_then_push_trusts_only_an_unchanged_object(void **state)
{
	(void)state;
	size_t n = 600000;
	char md5[33], key[64], obj[128];
	unsigned char *bytes = put_object("rem", 1, n, md5);
	snprintf(key, sizeof(key), ".dvc/cache/%.2s/%s", md5, md5 + 2);
	snprintf(obj, sizeof(obj), "./%s", key);
	tr_remote r = {.name = "storage", .url = "rem", .path = "rem"};
	tr_remote r2 = {.name = "two", .url = "rem2", .path = "rem2"};
	tr_remote r3 = {.name = "three", .url = "rem3", .path = "rem3"};
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);

	/* pull: copied, checked, dated back */
	tr_remote_local loc = {0};
	tr_remote_stats stats = {0};
	struct timespec t0;
	clock_gettime(CLOCK_REALTIME, &t0);
	assert_int_equal(tr_remote_pull_object(".", &r, md5, "model.pt", &loc, &stats), 0);
	assert_int_equal(stats.copied, 1);
	assert_int_equal(stats.bytes, (long long)n);
	assert_int_equal(mode_of(obj), 0444);
	size_t len;
	char *got = read_all(obj, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, bytes, n);
	free(got);
	assert_int_equal(loc.checked, 1);
	tr_filestat id;
	identity_of(obj, &id);
	assert_memory_equal(&loc.fs, &id, sizeof(id));
	assert_true(loc.since_ns >= (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec);
	assert_int_equal(id.mtime_ns, loc.since_ns - TR_RACY_NS);
	char sub[64];
	snprintf(sub, sizeof(sub), ".dvc/cache/%.2s", md5);
	assert_int_equal(dot_files_in(sub), 0);

	/* remembered at once; vouched only for this md5 and this identity */
	assert_int_equal(tr_state_vouches(st, key, &id, md5), 0);
	assert_int_equal(tr_state_remember(st, key, &loc.fs, md5, loc.since_ns), 0);
	assert_int_equal(tr_state_vouches(st, key, &id, md5), 1);
	assert_int_equal(tr_state_vouches(st, key, &id, "0123456789abcdef0123456789abcdef"), 0);
	tr_filestat other = id;
	other.mtime_ns++;
	assert_int_equal(tr_state_vouches(st, key, &other, md5), 0);

	/* a second pull: already here */
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(tr_remote_pull_object(".", &r, md5, "model.pt", &loc, &stats), 0);
	assert_int_equal(stats.present, 1);
	assert_int_equal(stats.copied, 0);

	/* bytes changed under the same identity: a vouched push copies them unread */
	assert_int_equal(chmod(obj, 0644), 0);
	overwrite_bytes(obj, "XX", 2);
	set_mtime(obj, (time_t)(id.mtime_ns / 1000000000LL), (long)(id.mtime_ns % 1000000000LL));
	tr_filestat same;
	identity_of(obj, &same);
	assert_memory_equal(&same, &id, sizeof(id));
	tr_remote_local push = {.vouched = tr_state_vouches(st, key, &same, md5), .fs = same};
	assert_int_equal(push.vouched, 1);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(tr_remote_push_object(".", &r2, md5, "model.pt", &push, &stats), 0);
	assert_int_equal(stats.copied, 1);
	assert_int_equal(stats.bytes, (long long)n);
	assert_int_equal(push.checked, 0); /* not read */
	char pushed[128];
	snprintf(pushed, sizeof(pushed), "rem2/%.2s/%s", md5, md5 + 2);
	got = read_all(pushed, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, "XX", 2);
	free(got);
	assert_int_equal(mode_of(pushed), 0444);

	/* a real write moves the mtime (to now, not 2 s back): no longer vouched, hashed, refused */
	overwrite_bytes(obj, "YY", 2);
	identity_of(obj, &same);
	assert_true(same.mtime_ns != id.mtime_ns);
	assert_int_equal(tr_state_vouches(st, key, &same, md5), 0);
	/* even told it is vouched for: the identity at open is not the vouched one */
	push = (tr_remote_local){.vouched = 1, .fs = id};
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(tr_remote_push_object(".", &r3, md5, "model.pt", &push, &stats), LIVE_EPARSE);
	char want[256];
	snprintf(want, sizeof(want), "cache object %s for model.pt is corrupt (its bytes hash to ", md5);
	assert_non_null(strstr(live_errmsg(), want));
	assert_non_null(strstr(live_errmsg(), "): not pushed"));
	assert_int_equal(push.checked, 0);
	assert_int_equal(stats.copied, 0);
	char sub3[64];
	snprintf(sub3, sizeof(sub3), "rem3/%.2s", md5);
	assert_false(tu_exists(fmt_obj("rem3", md5)));
	assert_int_equal(dot_files_in(sub3), 0);
	free(bytes);
	tr_state_free(st);
}

/*
 * Pushing an object the stat cache does not vouch for hashes it and reports
 * its identity; remembered only when its mtime is 2 s old (the racy rule).
 */
static void remote_push_hashes_and_reports_what_it_read(void **state)
{
	(void)state;
	char md5[33], md5b[33];
	unsigned char *a = put_object(".dvc/cache", 2, 300000, md5);
	unsigned char *b = put_object(".dvc/cache", 3, 1000, md5b);
	char key[64], keyb[64];
	snprintf(key, sizeof(key), ".dvc/cache/%.2s/%s", md5, md5 + 2);
	snprintf(keyb, sizeof(keyb), ".dvc/cache/%.2s/%s", md5b, md5b + 2);
	set_mtime(key, time(NULL) - 100, 7);
	tr_remote r = {.name = "storage", .url = "rem", .path = "rem"};
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_remote_local la = {0}, lb = {0};
	tr_remote_stats stats = {0};
	assert_int_equal(tr_remote_push_object(".", &r, md5, "a", &la, &stats), 0);
	assert_int_equal(tr_remote_push_object(".", &r, md5b, "b", &lb, &stats), 0);
	assert_int_equal(stats.copied, 2);
	assert_int_equal(stats.bytes, 301000);
	assert_int_equal(la.checked, 1);
	assert_int_equal(lb.checked, 1);
	tr_filestat ia, ib;
	identity_of(key, &ia);
	identity_of(keyb, &ib);
	assert_memory_equal(&la.fs, &ia, sizeof(ia));
	assert_memory_equal(&lb.fs, &ib, sizeof(ib));
	/* the old one is remembered; the new one could still change within its mtime tick */
	assert_int_equal(tr_state_remember(st, key, &la.fs, md5, la.since_ns), 0);
	assert_int_equal(tr_state_remember(st, keyb, &lb.fs, md5b, lb.since_ns), 0);
	assert_int_equal(tr_state_vouches(st, key, &ia, md5), 1);
	assert_int_equal(tr_state_vouches(st, keyb, &ib, md5b), 0);
	/* saved and read back by the next process */
	assert_int_equal(tr_state_save(st), 0);
	tr_state_free(st);
	assert_int_equal(tr_state_open(".", &st), 0);
	assert_int_equal(tr_state_vouches(st, key, &ia, md5), 1);
	assert_int_equal(tr_state_vouches(st, keyb, &ib, md5b), 0);
	tr_state_free(st);
	size_t len;
	char *got = read_all(fmt_obj("rem", md5), &len);
	assert_int_equal(len, 300000);
	assert_memory_equal(got, a, len);
	free(got);
	free(a);
	free(b);
}

/* What the remote holds in an object's place is never trusted: wrong bytes, a FIFO. */
static void remote_pull_refuses_a_corrupt_object_or_a_fifo(void **state)
{
	(void)state;
	char md5[33];
	unsigned char *bytes = put_object("rem", 4, 400000, md5);
	const char *path = fmt_obj("rem", md5);
	assert_int_equal(chmod(path, 0644), 0);
	overwrite_bytes(path, "tampered", 8);
	tr_remote r = {.name = "storage", .url = "rem", .path = "rem"};
	tr_remote_local loc = {0};
	tr_remote_stats stats = {0};
	assert_int_equal(tr_remote_pull_object(".", &r, md5, "model.pt", &loc, &stats), LIVE_EPARSE);
	char want[256];
	snprintf(want, sizeof(want), "cache remote 'storage' (rem): object %s for model.pt is corrupt (its bytes hash to ",
	         md5);
	assert_non_null(strstr(live_errmsg(), want));
	assert_non_null(strstr(live_errmsg(), "): not pulled"));
	assert_int_equal(loc.checked, 0);
	assert_false(tu_exists(fmt_obj(".dvc/cache", md5)));
	char sub[64];
	snprintf(sub, sizeof(sub), ".dvc/cache/%.2s", md5);
	assert_int_equal(dot_files_in(sub), 0);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(tr_remote_pull_object(".", &r, md5, "model.pt", &loc, &stats), LIVE_EPARSE);
	snprintf(want, sizeof(want), "cache remote 'storage' (rem): object %s for model.pt is not a file: not pulled",
	         md5);
	assert_string_equal(live_errmsg(), want);
	assert_false(tu_exists(fmt_obj(".dvc/cache", md5)));
	assert_int_equal(stats.copied, 0);
	free(bytes);
}

/* A staged copy hashed by tr_state_hash_own and adopted as the object is remembered; another file is not. */
static void state_remembers_a_staged_copy_that_became_the_object(void **state)
{
	(void)state;
	write_bytes("staged", "step=1 weights\n", 15);
	int fd = open("staged", O_RDONLY);
	assert_true(fd >= 0);
	char md5[33], want[33];
	long long size = -1, since = 0;
	tr_filestat id;
	assert_int_equal(tr_state_hash_own(fd, "staged", md5, &size, &id, &since), 0);
	close(fd);
	md5_string("step=1 weights\n", want);
	assert_string_equal(md5, want);
	assert_int_equal(size, 15);
	assert_int_equal(id.size, 15);
	assert_int_equal(id.mtime_ns, since - TR_RACY_NS);
	tr_filestat now;
	identity_of("staged", &now);
	assert_memory_equal(&now, &id, sizeof(id));

	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	char key[64];
	snprintf(key, sizeof(key), ".dvc/cache/%.2s/%s", md5, md5 + 2);
	/* no object yet, then one that is another file: nothing remembered */
	assert_int_equal(tr_state_remember_object(st, md5, &id, since), 0);
	assert_int_equal(tr_state_vouches(st, key, &id, md5), 0);
	assert_int_equal(tr_cache_add_bytes(".", md5, "step=1 weights\n", 15, "model.pt"), 0);
	assert_int_equal(tr_state_remember_object(st, md5, &id, since), 0);
	assert_int_equal(tr_state_vouches(st, key, &id, md5), 0);
	tr_filestat other;
	identity_of(key, &other);
	assert_int_equal(tr_state_vouches(st, key, &other, md5), 0);
	/* the staged file itself as the object */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(tr_cache_adopt(".", md5, "staged", "model.pt"), 0);
	assert_false(tu_exists("staged"));
	assert_int_equal(tr_state_remember_object(st, md5, &id, since), 0);
	assert_int_equal(tr_state_vouches(st, key, &id, md5), 1);
	tr_state_free(st);
}

/* ---- folders -------------------------------------------------------------------- */

static void mk(const char *path)
{
	assert_int_equal(mkdir(path, 0755), 0);
}

/* The tree whose manifest is tests/data/tracker/dir_manifest.json. */
static void make_dir_fixture(void)
{
	unsigned char bin[512];
	size_t nbin = bin_fixture(bin);
	mk("d");
	mk("d/sub");
	mk("d/empty");
	mk("d/deep");
	mk("d/deep/er");
	tu_write_file("d/b.txt", CRLF);
	write_bytes("d/a.bin", bin, nbin);
	tu_write_file("d/sub/c.tsv", LF);
	tu_write_file("d/sub.txt", "sub\n");
	tu_write_file("d/a-b.txt", "dash\n");
	tu_write_file("d/\xc3\xa9.txt", "e acute\n");
	tu_write_file("d/\xf0\x9f\x98\x80.txt", "smile\n");
	tu_write_file("d/\xff.bin", "\xff\n"); /* not UTF-8: Python sees U+DCFF */
	tu_write_file("d/q\"uo\\te.txt", "quote\n");
	tu_write_file("d/nl\nname.txt", "newline\n");
	tu_write_file("d/ctl\x01.txt", "ctl\n");
	tu_write_file("d/deep/er/x.txt", "deep\n");
	tu_write_file("d/zero.txt", "");
	assert_int_equal(symlink("a-b.txt", "d/link.txt"), 0); /* counted, by content */
	assert_int_equal(symlink("sub", "d/linkdir"), 0);      /* not descended into */
	assert_int_equal(symlink("nowhere", "d/dangling"), 0); /* skipped */
}

#define DIR_MD5 "0c3f34c90630dcdd6174a21c762185f8.dir"

static void dir_manifest_golden(void **state)
{
	(void)state;
	make_dir_fixture();
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m;
	assert_int_equal(tr_hash_path(st, "d", &h, &m), 0);
	size_t glen;
	char *golden = read_all(LIVE_TEST_DATA "/tracker/dir_manifest.json", &glen);
	assert_non_null(golden);
	assert_int_equal(m.json_len, glen);
	assert_memory_equal(m.json, golden, glen);
	assert_string_equal(h.md5, DIR_MD5);
	assert_int_equal(h.size, 418);
	assert_int_equal(h.nfiles, 14);
	assert_int_equal(m.n, 14);
	/* sorted by code point: "a-b.txt" < "a.bin", "sub.txt" < "sub/c.tsv", U+DCFF < U+1F600 */
	assert_string_equal(m.entries[0].relpath, "a-b.txt");
	assert_string_equal(m.entries[9].relpath, "sub/c.tsv");
	assert_string_equal(m.entries[12].relpath, "\xff.bin");
	assert_string_equal(m.entries[13].relpath, "\xf0\x9f\x98\x80.txt");
	assert_int_equal(m.entries[1].size, 277);
	python_agrees("d", DIR_MD5, 418, 14, m.json, m.json_len);
	/* a trailing slash names the same folder */
	tr_hashinfo h2;
	assert_int_equal(tr_hash_path(st, "d/", &h2, NULL), 0);
	assert_string_equal(h2.md5, DIR_MD5);
	free(golden);
	tr_manifest_free(&m);
	tr_state_free(st);
}

static void dir_without_files_is_empty_list(void **state)
{
	(void)state;
	mk("e");
	mk("e/sub");
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m;
	assert_int_equal(tr_hash_path(st, "e", &h, &m), 0);
	assert_int_equal(m.json_len, 2);
	assert_string_equal(m.json, "[]");
	assert_string_equal(h.md5, "d751713988987e9331980363e24189ce.dir");
	assert_int_equal(h.size, 0);
	assert_int_equal(h.nfiles, 0);
	python_agrees("e", h.md5, 0, 0, "[]", 2);
	tr_manifest_free(&m);
	tr_state_free(st);
}

/* ---- tr_hash_path and the stat cache --------------------------------------------- */

static void hash_path_missing_is_notfound(void **state)
{
	(void)state;
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	assert_int_equal(tr_hash_path(st, "nope.txt", &h, NULL), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "nope.txt: No such file or directory");
	assert_int_equal(tr_hash_path(st, "nope/deeper.txt", &h, NULL), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "nope/deeper.txt: No such file or directory");
	tr_state_free(st);
}

static void hash_path_file_and_link(void **state)
{
	(void)state;
	tu_write_file("crlf.tsv", CRLF);
	assert_int_equal(symlink("crlf.tsv", "link.tsv"), 0);
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m = {0};
	assert_int_equal(tr_hash_path(st, "crlf.tsv", &h, &m), 0);
	assert_string_equal(h.md5, "82a402ec756c7ee9f666e9c0ea648682");
	assert_int_equal(h.size, 64);
	assert_int_equal(h.nfiles, -1);
	assert_int_equal(m.n, 0);
	assert_null(m.json);
	assert_int_equal(tr_hash_path(st, "link.tsv", &h, NULL), 0); /* the target's bytes */
	assert_string_equal(h.md5, "82a402ec756c7ee9f666e9c0ea648682");
	tr_state_free(st);
}

/* An old file, hashed once: later calls trust (dev, ino, mtime, size). */
static void state_unchanged_file_is_not_reread(void **state)
{
	(void)state;
	time_t old = time(NULL) - 1000;
	tu_write_file("f.txt", "aaaa\n");
	set_mtime("f.txt", old, 123456789);
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	char a[33], b[33];
	md5_string("aaaa\n", a);
	md5_string("bbbb\n", b);
	assert_string_equal(h.md5, a);

	/* new bytes, same size, same mtime: the stale md5 proves nothing was read */
	overwrite_bytes("f.txt", "bbbb\n", 5);
	set_mtime("f.txt", old, 123456789);
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	assert_string_equal(h.md5, a);

	/* a different mtime (by 1 ns) is a change */
	set_mtime("f.txt", old, 123456790);
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	assert_string_equal(h.md5, b);
	tr_state_free(st);
}

/* A file modified within the last 2 s is hashed but not remembered (racy mtime). */
static void state_recent_file_is_rehashed(void **state)
{
	(void)state;
	tu_write_file("f.txt", "aaaa\n");
	struct stat sb;
	assert_int_equal(stat("f.txt", &sb), 0);
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	char b[33];
	md5_string("bbbb\n", b);
	overwrite_bytes("f.txt", "bbbb\n", 5);
	set_mtime("f.txt", sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec); /* the same tick as when hashed */
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	assert_string_equal(h.md5, b);
	/* nothing worth saving */
	assert_int_equal(tr_state_save(st), 0);
	assert_false(tu_exists(".dvc/tmp/live-md5s"));
	tr_state_free(st);
}

static void state_save_open_round_trip(void **state)
{
	(void)state;
	time_t old = time(NULL) - 1000;
	mk("d");
	tu_write_file("d/plain.txt", "aaaa\n");
	tu_write_file("d/we ird\\na\nme.txt", "aaaa\n"); /* space, backslash, newline */
	set_mtime("d/plain.txt", old, 1);
	set_mtime("d/we ird\\na\nme.txt", old, 2);
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo before;
	assert_int_equal(tr_hash_path(st, "d", &before, NULL), 0);
	assert_int_equal(tr_state_save(st), 0); /* makes .dvc/tmp */
	tr_state_free(st);

	char *text = tu_read_file(".dvc/tmp/live-md5s");
	assert_non_null(text);
	assert_memory_equal(text, "live-md5s 1\n", 12);
	assert_non_null(strstr(text, " d/we ird\\\\na\\nme.txt\n"));
	assert_non_null(strstr(text, " d/plain.txt\n"));
	free(text);
	assert_false(tu_exists(".dvc/tmp/live-md5s.tmp")); /* no temp left (any suffix) */
	DIR *dir = opendir(".dvc/tmp");
	assert_non_null(dir);
	int nfiles = 0;
	for (struct dirent *de; (de = readdir(dir)) != NULL;)
		nfiles += de->d_name[0] != '.';
	closedir(dir);
	assert_int_equal(nfiles, 1);

	/* a new process sees the saved entries: stale bytes are not noticed */
	overwrite_bytes("d/we ird\\na\nme.txt", "bbbb\n", 5);
	set_mtime("d/we ird\\na\nme.txt", old, 2);
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo after;
	assert_int_equal(tr_hash_path(st, "d", &after, NULL), 0);
	assert_string_equal(after.md5, before.md5);
	tr_state_free(st);
}

static void state_malformed_cache_is_ignored(void **state)
{
	(void)state;
	time_t old = time(NULL) - 1000;
	tu_write_file("f.txt", "aaaa\n");
	set_mtime("f.txt", old, 5);
	struct stat sb;
	assert_int_equal(stat("f.txt", &sb), 0);
	assert_int_equal(mkdir(".dvc", 0755), 0);
	assert_int_equal(mkdir(".dvc/tmp", 0755), 0);
	char good[256];
	snprintf(good, sizeof(good), "%llu %llu %lld 5 0123456789abcdef0123456789abcdef f.txt\n",
	         (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
	         (long long)old * 1000000000LL + 5);
	char text[2048];
	snprintf(text, sizeof(text),
	         "live-md5s 1\n"
	         "garbage\n"
	         "1 2 3\n"
	         "1 2 3 4 nothex0123456789abcdef012345 g.txt\n"
	         "1 2 3 4 0123456789abcdef0123456789abcdef \n"
	         "-1 2 3 4 0123456789abcdef0123456789abcdef h.txt\n"
	         "1 2 3 4 0123456789abcdef0123456789abcdef bad\\escape\n"
	         "99999999999999999999999 2 3 4 0123456789abcdef0123456789abcdef i.txt\n"
	         "%s"
	         "1 2 3 4 0123456789abcdef0123456789abcdef torn",
	         good);
	tu_write_file(".dvc/tmp/live-md5s", text);
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	/* the one well-formed line is used (its md5 is made up, so it shows) */
	assert_string_equal(h.md5, "0123456789abcdef0123456789abcdef");
	tr_state_free(st);

	/* without the header the whole file is ignored */
	memmove(text, good, strlen(good) + 1);
	tu_write_file(".dvc/tmp/live-md5s", text);
	assert_int_equal(tr_state_open(".", &st), 0);
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	char a[33];
	md5_string("aaaa\n", a);
	assert_string_equal(h.md5, a);
	tr_state_free(st);

	/* binary junk */
	unsigned char junk[300];
	for (int i = 0; i < 300; i++)
		junk[i] = (unsigned char)(i * 37);
	write_bytes(".dvc/tmp/live-md5s", junk, sizeof(junk));
	assert_int_equal(tr_state_open(".", &st), 0);
	assert_int_equal(tr_hash_path(st, "f.txt", &h, NULL), 0);
	assert_string_equal(h.md5, a);
	tr_state_free(st);
}

/* ---- the cache ------------------------------------------------------------------- */

static void cache_path_layout(void **state)
{
	(void)state;
	char buf[256];
	assert_int_equal(tr_cache_path("/r", "3ebf1f0e5e2a0c3b9f54c3d5f4f1f6a1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/r/.dvc/cache/3e/bf1f0e5e2a0c3b9f54c3d5f4f1f6a1");
	assert_int_equal(tr_cache_path("/r", "5b8f0a1e1a3e1c7e4c0bd0e3a0f3c9c2.dir", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/r/.dvc/cache/5b/8f0a1e1a3e1c7e4c0bd0e3a0f3c9c2.dir");
	assert_int_equal(tr_cache_path("/r", "../../etc/passwd", buf, sizeof(buf)), LIVE_EINVALID);
	assert_int_equal(tr_cache_path("/r", "3EBF1F0E5E2A0C3B9F54C3D5F4F1F6A1", buf, sizeof(buf)),
	                 LIVE_EINVALID);
	assert_int_equal(tr_cache_path("/r", "3ebf1f0e5e2a0c3b9f54c3d5f4f1f6a1", buf, 20), LIVE_EINVALID);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void cache_add_file_is_readonly_copy(void **state)
{
	(void)state;
	tu_write_file("crlf.tsv", CRLF);
	const char *md5 = "82a402ec756c7ee9f666e9c0ea648682"; /* the dos2unix md5 */
	assert_int_equal(tr_cache_has(".", md5), 0);
	assert_int_equal(tr_cache_add_file(".", "crlf.tsv", md5), 0);
	assert_int_equal(tr_cache_has(".", md5), 1);
	const char *obj = ".dvc/cache/82/a402ec756c7ee9f666e9c0ea648682";
	struct stat sb, sb2;
	assert_int_equal(stat(obj, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0444);
	char *bytes = tu_read_file(obj);
	assert_string_equal(bytes, CRLF); /* the original bytes, CRLF and all */
	free(bytes);
	assert_int_equal(count_entries(".dvc/cache/82"), 1); /* no temp file left */

	/* twice: nothing is rewritten */
	assert_int_equal(tr_cache_add_file(".", "crlf.tsv", md5), 0);
	assert_int_equal(stat(obj, &sb2), 0);
	assert_int_equal(sb2.st_ino, sb.st_ino);
	assert_int_equal(sb2.st_mtim.tv_nsec, sb.st_mtim.tv_nsec);

	assert_int_equal(tr_cache_add_file(".", "gone.bin", "0123456789abcdef0123456789abcdef"),
	                 LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "gone.bin: No such file or directory");
	assert_false(tu_exists(".dvc/cache/01"));
	assert_int_equal(tr_cache_add_file(".", "crlf.tsv", "xyz"), LIVE_EINVALID);
}

static void cache_add_dir_stores_files_and_manifest(void **state)
{
	(void)state;
	make_dir_fixture();
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m;
	assert_int_equal(tr_hash_path(st, "d", &h, &m), 0);
	assert_int_equal(tr_cache_add_dir(".", "d", &m, h.md5), 0);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(tr_cache_has(".", m.entries[i].md5), 1);
	size_t len;
	char *obj = read_all(".dvc/cache/0c/3f34c90630dcdd6174a21c762185f8.dir", &len);
	assert_non_null(obj);
	assert_int_equal(len, m.json_len);
	assert_memory_equal(obj, m.json, len);
	free(obj);
	/* the object named after the binary file holds its bytes */
	unsigned char bin[512];
	size_t nbin = bin_fixture(bin);
	obj = read_all(".dvc/cache/e2/46bbfdb2beb366fcccb9d0a83d0e69", &len);
	assert_int_equal(len, nbin);
	assert_memory_equal(obj, bin, nbin);
	free(obj);
	/* read back */
	tr_manifest back;
	assert_int_equal(tr_cache_read_manifest(".", "d", h.md5, &back), 0);
	assert_int_equal(back.n, m.n);
	for (size_t i = 0; i < m.n; i++) {
		assert_string_equal(back.entries[i].relpath, m.entries[i].relpath);
		assert_string_equal(back.entries[i].md5, m.entries[i].md5);
	}
	tr_manifest_free(&back);
	tr_manifest_free(&m);
	tr_state_free(st);
}

static void cache_checkout_file_is_private_writable_copy(void **state)
{
	(void)state;
	unsigned char bin[512];
	size_t nbin = bin_fixture(bin);
	mk("models");
	write_bytes("models/model.pt", bin, nbin);
	tr_hashinfo h = {"e246bbfdb2beb366fcccb9d0a83d0e69", (long long)nbin, -1};
	assert_int_equal(tr_cache_add_file(".", "models/model.pt", h.md5), 0);
	tu_write_file("models/model.pt", "retrained");
	assert_int_equal(tr_cache_checkout(".", "models/model.pt", &h), 0);
	size_t len;
	char *got = read_all("models/model.pt", &len);
	assert_int_equal(len, nbin);
	assert_memory_equal(got, bin, nbin);
	free(got);
	struct stat sb, ob;
	assert_int_equal(stat("models/model.pt", &sb), 0);
	assert_int_equal(stat(".dvc/cache/e2/46bbfdb2beb366fcccb9d0a83d0e69", &ob), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(sb.st_nlink, 1);
	assert_true(sb.st_ino != ob.st_ino);
	/* writing to the restored file leaves the object alone */
	tu_write_file("models/model.pt", "x");
	got = read_all(".dvc/cache/e2/46bbfdb2beb366fcccb9d0a83d0e69", &len);
	assert_int_equal(len, nbin);
	free(got);
	assert_int_equal(count_entries("models"), 1);

	/* a missing parent folder is made */
	assert_int_equal(tr_cache_checkout(".", "new/deeper/model.pt", &h), 0);
	got = read_all("new/deeper/model.pt", &len);
	assert_int_equal(len, nbin);
	free(got);
}

static void cache_checkout_folder_matches_manifest(void **state)
{
	(void)state;
	make_dir_fixture();
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m;
	assert_int_equal(tr_hash_path(st, "d", &h, &m), 0);
	assert_int_equal(tr_cache_add_dir(".", "d", &m, h.md5), 0);
	tr_manifest_free(&m);

	/* damage: remove, change, add files; a link where a folder goes */
	assert_int_equal(unlink("d/b.txt"), 0);
	tu_write_file("d/sub/c.tsv", "changed\n");
	tu_write_file("d/extra.txt", "extra\n");
	tu_write_file("d/sub/extra2.txt", "extra\n");
	assert_int_equal(symlink("a.bin", "d/mylink"), 0);
	mk("outside");
	mk("outside/er");
	tu_write_file("outside/er/x.txt", "outside\n");
	assert_int_equal(system("rm -rf d/deep"), 0);
	assert_int_equal(symlink("../outside", "d/deep"), 0);

	assert_int_equal(tr_cache_checkout(".", "d", &h), 0);
	assert_false(tu_exists("d/extra.txt"));
	assert_false(tu_exists("d/sub/extra2.txt"));
	/* the link was replaced by a folder, and nothing was written through it */
	struct stat sb;
	assert_int_equal(lstat("d/deep", &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	char *s = tu_read_file("outside/er/x.txt");
	assert_string_equal(s, "outside\n");
	free(s);
	assert_true(tu_exists("d/mylink")); /* links are not removed */
	assert_true(tu_exists("d/linkdir"));
	s = tu_read_file("d/b.txt");
	assert_string_equal(s, CRLF);
	free(s);
	s = tu_read_file("d/sub/c.tsv");
	assert_string_equal(s, LF);
	free(s);
	s = tu_read_file("d/deep/er/x.txt");
	assert_string_equal(s, "deep\n");
	free(s);
	/* a file restored from the cache is a plain writable file */
	assert_int_equal(lstat("d/link.txt", &sb), 0);
	assert_true(S_ISREG(sb.st_mode)); /* the manifest's link.txt comes back as a file */
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(sb.st_nlink, 1);

	assert_int_equal(unlink("d/mylink"), 0);
	tr_hashinfo again;
	assert_int_equal(tr_hash_path(st, "d", &again, NULL), 0);
	assert_string_equal(again.md5, h.md5);

	/* a file where a folder goes */
	assert_int_equal(system("rm -rf d/deep/er"), 0);
	tu_write_file("d/deep/er", "in the way\n");
	assert_int_equal(tr_cache_checkout(".", "d", &h), 0);
	s = tu_read_file("d/deep/er/x.txt");
	assert_string_equal(s, "deep\n");
	free(s);

	/* from nothing */
	assert_int_equal(system("rm -rf d"), 0);
	assert_int_equal(tr_cache_checkout(".", "d", &h), 0);
	assert_int_equal(tr_hash_path(st, "d", &again, NULL), 0);
	assert_string_equal(again.md5, h.md5);
	tr_state_free(st);
}

static void cache_checkout_missing_object_is_notfound(void **state)
{
	(void)state;
	tr_hashinfo f = {"0123456789abcdef0123456789abcdef", 1, -1};
	assert_int_equal(tr_cache_checkout(".", "model.pt", &f), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(),
	                    "cache object 0123456789abcdef0123456789abcdef for model.pt is missing");
	assert_false(tu_exists("model.pt"));

	tr_hashinfo d = {"0123456789abcdef0123456789abcdef.dir", 1, 1};
	assert_int_equal(tr_cache_checkout(".", "data", &d), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(),
	                    "cache object 0123456789abcdef0123456789abcdef.dir for data is missing");
	assert_false(tu_exists("data"));

	/* a manifest whose file object is gone: nothing is touched */
	mk("data");
	tu_write_file("data/x.txt", "x\n");
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m;
	assert_int_equal(tr_hash_path(st, "data", &h, &m), 0);
	assert_int_equal(tr_cache_add_dir(".", "data", &m, h.md5), 0);
	char obj[256];
	assert_int_equal(tr_cache_path(".", m.entries[0].md5, obj, sizeof(obj)), 0);
	assert_int_equal(unlink(obj), 0);
	tu_write_file("data/x.txt", "changed\n");
	assert_int_equal(tr_cache_checkout(".", "data", &h), LIVE_ENOTFOUND);
	char want[256];
	snprintf(want, sizeof(want), "cache object %s for data/x.txt is missing", m.entries[0].md5);
	assert_string_equal(live_errmsg(), want);
	char *s = tu_read_file("data/x.txt");
	assert_string_equal(s, "changed\n");
	free(s);
	tr_manifest_free(&m);
	tr_state_free(st);

	/* a hostile manifest cannot reach outside the folder */
	assert_int_equal(mkdir(".dvc/cache/ab", 0755), 0);
	tu_write_file(".dvc/cache/ab/cdef0123456789abcdef0123456789.dir",
	              "[{\"md5\": \"0123456789abcdef0123456789abcdef\", \"relpath\": \"../escape\"}]");
	tr_hashinfo bad = {"abcdef0123456789abcdef0123456789.dir", 0, 1};
	assert_int_equal(tr_cache_checkout(".", "data", &bad), LIVE_EPARSE);
	/* an undecodable byte (U+DCFF) next to U+F7FF: two distinct names, read as such */
	tu_write_file(".dvc/cache/ab/cdef0123456789abcdef0123456788.dir",
	              "[{\"md5\": \"0123456789abcdef0123456789abcdef\", \"relpath\": \"\\udcff\\uf7ff\"}]");
	tr_hashinfo both = {"abcdef0123456789abcdef0123456788.dir", 0, 1};
	assert_int_equal(tr_cache_checkout(".", "data", &both), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "cache object 0123456789abcdef0123456789abcdef for "
	                                   "data/\xff\xef\x9f\xbf is missing");
	s = tu_read_file("data/x.txt");
	assert_string_equal(s, "changed\n");
	free(s);
}

/* ---- hostile names through a manifest ------------------------------------------------ */

/* Names next to the encodings a manifest uses for bytes that are not UTF-8. */
static const char *const odd_names[] = {
        "\xef\x9e\x80",             /* U+F780 */
        "\xef\x9f\xbf",             /* U+F7FF */
        "\xef\x9e\x80\x80",         /* U+F780, then the byte 0x80 */
        "\x80\xef\x9e\x80",         /* the byte 0x80, then U+F780 */
        "\xed\xb2\x80",             /* U+DC80 encoded: not UTF-8 */
        "\xed\xa0\x80\xed\xb2\x80", /* a surrogate pair encoded */
        "\xf0\x90\x82\x80",         /* U+10080, written "\ud800\udc80" */
        "\xf0\x90\x82",             /* cut short */
        "\xc0\xaf",                 /* an overlong '/' */
        "\xe0\x80\xaf",
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80",
        "\\udc80", /* the six characters */
        "\\\\uf780",
        ".x",
        "..x",
        "\xc3\xa9",  /* U+00E9 */
        "e\xcc\x81", /* e + U+0301: another name */
};
#define N_ODD (sizeof(odd_names) / sizeof(*odd_names))

/* A file holding its own name, so that a file restored under another name shows. */
static void write_named(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write_file(path, name);
}

/* Every byte but NUL, '/' and '.' alone as a name, odd_names, and two below "sub\xff". */
static size_t hostile_names_fixture(const char *dir)
{
	mk(dir);
	size_t n = 0;
	for (int b = 1; b < 256; b++, n++) {
		char name[2] = {(char)b, 0};
		if (b == '/' || b == '.')
			n--;
		else
			write_named(dir, name);
	}
	for (size_t i = 0; i < N_ODD; i++, n++)
		write_named(dir, odd_names[i]);
	char sub[64];
	snprintf(sub, sizeof(sub), "%s/sub\xff", dir);
	mk(sub);
	write_named(sub, "\xfe");
	write_named(sub, "\xef\x9e\xbe");
	return n + 2;
}

/* Python's reading of the manifest in `path` (json.load, then os.fsencode) gives m's names. */
static void python_reads_names(const char *path, const tr_manifest *m)
{
	if (!have_python())
		return;
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
	         "python3 -c 'import json, sys\n"
	         "for e in json.load(open(sys.argv[1], encoding=\"utf-8\")):\n"
	         "    print(e[\"relpath\"].encode(\"utf-8\", \"surrogateescape\").hex())' '%s'",
	         path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[1024];
	size_t i = 0;
	for (; fgets(line, sizeof(line), p); i++) {
		assert_true(i < m->n);
		char want[1024];
		size_t w = 0;
		for (const unsigned char *c = (const unsigned char *)m->entries[i].relpath; *c; c++)
			w += (size_t)snprintf(want + w, sizeof(want) - w, "%02x", *c);
		want[w++] = '\n';
		want[w] = 0;
		assert_string_equal(line, want);
	}
	assert_int_equal(i, m->n);
	assert_int_equal(pclose(p), 0);
}

static void manifest_names_round_trip_byte_for_byte(void **state)
{
	(void)state;
	size_t n = hostile_names_fixture("h");
	assert_int_equal(n, 253 + N_ODD + 2);
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m;
	assert_int_equal(tr_hash_path(st, "h", &h, &m), 0);
	assert_int_equal(m.n, n);
	for (size_t i = 0; i < m.json_len; i++) /* ensure_ascii */
		assert_true(m.json[i] >= 0x20 && m.json[i] < 0x7f);
	python_agrees("h", h.md5, h.size, (long long)n, m.json, m.json_len);
	/* the escapes that stand for bytes, and those that stand for U+F7xx */
	assert_non_null(strstr(m.json, "\"relpath\": \"\\udc80\\uf780\"}"));
	assert_non_null(strstr(m.json, "\"relpath\": \"\\uf780\\udc80\"}"));
	assert_non_null(strstr(m.json, "\"relpath\": \"\\ud800\\udc80\"}"));
	assert_non_null(strstr(m.json, "\"relpath\": \"\\\\udc80\"}"));
	assert_non_null(strstr(m.json, "\"relpath\": \"sub\\udcff/\\uf7be\"}"));

	tr_manifest back;
	assert_int_equal(tr_manifest_parse(m.json, m.json_len, "m", &back), 0);
	assert_int_equal(back.n, m.n);
	for (size_t i = 0; i < m.n; i++) {
		assert_string_equal(back.entries[i].relpath, m.entries[i].relpath);
		assert_string_equal(back.entries[i].md5, m.entries[i].md5);
		assert_int_equal(back.entries[i].size, -1);
	}
	assert_null(back.json);
	tr_manifest_free(&back);
	write_bytes("manifest.json", m.json, m.json_len);
	python_reads_names("manifest.json", &m);

	/* through the cache, into an empty place: every file under its own name */
	assert_int_equal(tr_cache_add_dir(".", "h", &m, h.md5), 0);
	assert_int_equal(tr_cache_read_manifest(".", "h", h.md5, &back), 0);
	assert_int_equal(back.n, m.n);
	for (size_t i = 0; i < m.n; i++)
		assert_string_equal(back.entries[i].relpath, m.entries[i].relpath);
	tr_manifest_free(&back);
	assert_int_equal(system("rm -rf h"), 0);
	assert_int_equal(tr_cache_checkout(".", "h", &h), 0);
	assert_int_equal(count_entries("h"), (int)n - 2 + 1);
	assert_int_equal(count_entries("h/sub\xff"), 2);
	for (size_t i = 0; i < m.n; i++) {
		char path[256];
		snprintf(path, sizeof(path), "h/%s", m.entries[i].relpath);
		char *got = tu_read_file(path);
		assert_non_null(got);
		const char *slash = strrchr(m.entries[i].relpath, '/');
		assert_string_equal(got, slash ? slash + 1 : m.entries[i].relpath);
		free(got);
	}
	tr_hashinfo again;
	assert_int_equal(tr_hash_path(st, "h", &again, NULL), 0);
	assert_string_equal(again.md5, h.md5);
	tr_manifest_free(&m);
	tr_state_free(st);
}

#define M5 "0123456789abcdef0123456789abcdef"
#define ENTRY(rel) "{\"md5\": \"" M5 "\", \"relpath\": \"" rel "\"}"
#define NOT_ENTRY(k) "m: entry " #k " is not {\"md5\": <32 hex>, \"relpath\": <path inside the folder>}"

/* tr_manifest_parse of `text`: `rc`, and live_errmsg() `msg` (or the names, one per entry, for rc 0). */
static void parse_case(const char *text, int rc, const char *msg, const char *const *names)
{
	tr_manifest m;
	int got = tr_manifest_parse(text, strlen(text), "m", &m);
	if (got != rc)
		fail_msg("%s: rc %d, want %d (%s)", text, got, rc, live_errmsg());
	if (rc) {
		assert_string_equal(live_errmsg(), msg);
		assert_int_equal(m.n, 0);
		assert_null(m.entries);
		return;
	}
	size_t n = 0;
	while (names[n])
		n++;
	assert_int_equal(m.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(m.entries[i].relpath, names[i]);
		assert_string_equal(m.entries[i].md5, M5);
	}
	tr_manifest_free(&m);
}

static void manifest_reader_is_python_and_refuses_clashes(void **state)
{
	(void)state;
	/* read as fsencode(json.loads(text)) reads it */
	parse_case("[" ENTRY("\\udc80") ", " ENTRY("\\uf780") "]", 0, NULL,
	           (const char *const[]){"\x80", "\xef\x9e\x80", NULL});
	parse_case("[" ENTRY("\\udcff\\uf7ff") "]", 0, NULL, (const char *const[]){"\xff\xef\x9f\xbf", NULL});
	parse_case("[" ENTRY("\\ud800\\udc80") "]", 0, NULL, (const char *const[]){"\xf0\x90\x82\x80", NULL});
	parse_case("[" ENTRY("\\\\udc80") "]", 0, NULL, (const char *const[]){"\\udc80", NULL});
	parse_case("[" ENTRY("\xc3\xa9 raw") ", " ENTRY("a\\/b") ", " ENTRY("\\u0001\\n") "]", 0, NULL,
	           (const char *const[]){"\xc3\xa9 raw", "a/b", "\x01\n", NULL});
	parse_case("[]", 0, NULL, (const char *const[]){NULL});

	/* two entries for one file, however written */
	parse_case("[" ENTRY("\\u00e9") ", " ENTRY("\\udcc3\\udca9") "]", LIVE_EPARSE,
	           "m: entries 1 and 2 both name '\\xc3\\xa9'", NULL);
	parse_case("[" ENTRY("b") ", " ENTRY("a") ", " ENTRY("\\u0062") "]", LIVE_EPARSE,
	           "m: entries 1 and 3 both name 'b'", NULL);
	parse_case("[" ENTRY("x/\\n") ", " ENTRY("x/\\u000a") "]", LIVE_EPARSE,
	           "m: entries 1 and 2 both name 'x/\\x0a'", NULL);
	/* a file that another entry needs as a folder */
	parse_case("[" ENTRY("a/b/c") ", " ENTRY("a/b") "]", LIVE_EPARSE,
	           "m: entry 2 names the file 'a/b', entry 1 a file below it ('a/b/c')", NULL);
	parse_case("[" ENTRY("a") ", " ENTRY("a!") ", " ENTRY("\\u0061/x") "]", LIVE_EPARSE,
	           "m: entry 1 names the file 'a', entry 3 a file below it ('a/x')", NULL);

	/* what no file name holds, and what fsencode cannot encode */
	parse_case("[" ENTRY("a\\u0000b") "]", LIVE_EPARSE, "m: \\u0000 in a name", NULL);
#define LONE(u) "m: " u " is half a character (a lone surrogate)"
	parse_case("[" ENTRY("\\ud800x") "]", LIVE_EPARSE, LONE("\\ud800"), NULL);
	parse_case("[" ENTRY("x\\udbff") "]", LIVE_EPARSE, LONE("\\udbff"), NULL);
	parse_case("[" ENTRY("\\udc2f") "]", LIVE_EPARSE, LONE("\\udc2f"), NULL); /* not a '/' */
	parse_case("[" ENTRY("\\udc7f") "]", LIVE_EPARSE, LONE("\\udc7f"), NULL);
	parse_case("[" ENTRY("\\ude00") "]", LIVE_EPARSE, LONE("\\ude00"), NULL);
#undef LONE
	/* JSON is UTF-8: a raw byte that is not is refused, wherever it stands */
	parse_case("[" ENTRY("\xff") "]", LIVE_EPARSE, "m: byte 58 is not UTF-8", NULL);
	parse_case("[" ENTRY("\xc0\xaf") "]", LIVE_EPARSE, "m: byte 58 is not UTF-8", NULL);
	parse_case("[" ENTRY("\xed\xb2\x80") "]", LIVE_EPARSE, "m: byte 58 is not UTF-8", NULL);
	parse_case("[" ENTRY("ok") "]\x80", LIVE_EPARSE, "m: byte 63 is not UTF-8", NULL);

	/* paths that leave the folder, or are not paths */
	parse_case("[" ENTRY("ok") ", " ENTRY("../x") "]", LIVE_EPARSE, NOT_ENTRY(2), NULL);
	parse_case("[" ENTRY("\\u002e\\u002e/x") "]", LIVE_EPARSE, NOT_ENTRY(1), NULL);
	parse_case("[" ENTRY("/abs") "]", LIVE_EPARSE, NOT_ENTRY(1), NULL);
	parse_case("[" ENTRY("a//b") "]", LIVE_EPARSE, NOT_ENTRY(1), NULL);
	parse_case("[" ENTRY("a/./b") "]", LIVE_EPARSE, NOT_ENTRY(1), NULL);
	parse_case("[" ENTRY("a/") "]", LIVE_EPARSE, NOT_ENTRY(1), NULL);
	parse_case("[" ENTRY("") "]", LIVE_EPARSE, NOT_ENTRY(1), NULL);
	parse_case("[{\"md5\": \"0123456789ABCDEF0123456789abcdef\", \"relpath\": \"x\"}]", LIVE_EPARSE,
	           NOT_ENTRY(1), NULL);
	parse_case("[{\"relpath\": \"x\"}]", LIVE_EPARSE, NOT_ENTRY(1), NULL);
	parse_case("{}", LIVE_EPARSE, "m: not a JSON list", NULL);
	parse_case("[" ENTRY("x"), LIVE_EPARSE, "m: not a JSON list", NULL);

	/* JSON as json.loads reads it, where cJSON is laxer (the manifest fuzz target's finds) */
	parse_case("\xef\xbb\xbf[]", LIVE_EPARSE, "m: not JSON at byte 1 (expected a value)", NULL);
	parse_case("[" ENTRY("x") "] []", LIVE_EPARSE, "m: not JSON at byte 63 (text after the end of the list)",
	           NULL);
	parse_case("[" ENTRY("a\tb") "]", LIVE_EPARSE, "m: not JSON at byte 59 (a raw control character in a string)",
	           NULL);
	parse_case("[" ENTRY("a\\uv780") "]", LIVE_EPARSE, "m: not JSON at byte 59 (a bad escape in a string)",
	           NULL);
	parse_case("[{\"md5\": \"" M5 "\", \"relpath\": \"x\", \"size\": 01}]", LIVE_EPARSE,
	           "m: not JSON at byte 71 (expected ',' or '}')", NULL);
	/* a repeated key: the last value counts, as in Python's dict */
	parse_case("[{\"md5\": \"" M5 "\", \"relpath\": \"a\", \"relpath\": \"b\"}]", 0, NULL,
	           (const char *const[]){"b", NULL});
}

/* Nothing outside the repository is written or removed through a link. */
static void cache_checkout_never_follows_a_link(void **state)
{
	(void)state;
	mk("d");
	mk("d/sub");
	tu_write_file("d/a.txt", "a\n");
	tu_write_file("d/sub/b.txt", "b\n");
	tr_state *st;
	assert_int_equal(tr_state_open(".", &st), 0);
	tr_hashinfo h;
	tr_manifest m;
	assert_int_equal(tr_hash_path(st, "d", &h, &m), 0);
	assert_int_equal(tr_cache_add_dir(".", "d", &m, h.md5), 0);
	tr_hashinfo f = {"", 2, -1};
	memcpy(f.md5, m.entries[0].md5, 33); /* a.txt */
	assert_string_equal(m.entries[0].relpath, "a.txt");
	mk("outside");
	tu_write_file("outside/a.txt", "precious\n");
	tu_write_file("outside/extra.txt", "precious\n");

	/* a link at the out folder is replaced by the folder */
	assert_int_equal(system("rm -rf d"), 0);
	assert_int_equal(symlink("outside", "d"), 0);
	assert_int_equal(tr_cache_checkout(".", "d", &h), 0);
	struct stat sb;
	assert_int_equal(lstat("d", &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	char *s = tu_read_file("d/a.txt");
	assert_string_equal(s, "a\n");
	free(s);
	assert_int_equal(count_entries("d"), 2);
	assert_int_equal(count_entries("outside"), 2);
	s = tu_read_file("outside/a.txt");
	assert_string_equal(s, "precious\n");
	free(s);
	assert_true(tu_exists("outside/extra.txt"));

	/* a link among the folders leading to the out is refused, for a folder and a file alike */
	assert_int_equal(symlink("outside", "p"), 0);
	assert_int_equal(tr_cache_checkout(".", "p/d", &h), LIVE_EIO);
	assert_string_equal(live_errmsg(),
	                    "p/d: p is a symbolic link; not restoring through it (make it a folder)");
	assert_int_equal(tr_cache_checkout(".", "p/a.txt", &f), LIVE_EIO);
	assert_string_equal(live_errmsg(),
	                    "p/a.txt: p is a symbolic link; not restoring through it (make it a folder)");
	mk("q");
	assert_int_equal(symlink("../outside", "q/r"), 0);
	assert_int_equal(tr_cache_checkout(".", "q/r/new/d", &h), LIVE_EIO);
	assert_string_equal(live_errmsg(),
	                    "q/r/new/d: q/r is a symbolic link; not restoring through it (make it a folder)");
	assert_int_equal(count_entries("outside"), 2);
	s = tu_read_file("outside/a.txt");
	assert_string_equal(s, "precious\n");
	free(s);

	/* a link at a single file is replaced by the file */
	assert_int_equal(symlink("outside/a.txt", "a.txt"), 0);
	assert_int_equal(tr_cache_checkout(".", "a.txt", &f), 0);
	assert_int_equal(lstat("a.txt", &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	s = tu_read_file("a.txt");
	assert_string_equal(s, "a\n");
	free(s);
	s = tu_read_file("outside/a.txt");
	assert_string_equal(s, "precious\n");
	free(s);

	/* a file on the way: an error, the file stays */
	tu_write_file("plain", "x");
	assert_int_equal(tr_cache_checkout(".", "plain/d", &h), LIVE_EIO);
	assert_string_equal(live_errmsg(), "plain/d: plain is a file, not a folder");
	/* a file at the out folder is replaced by it */
	tu_write_file("d2", "x");
	assert_int_equal(tr_cache_checkout(".", "d2", &h), 0);
	assert_int_equal(count_entries("d2"), 2);
	tr_manifest_free(&m);
	tr_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(md5_rfc1321_vectors),
	        cmocka_unit_test(md5_update_in_pieces),
#define T(f) cmocka_unit_test_setup_teardown(f, tu_enter_tmpdir, tu_leave_tmpdir)
	        T(file_md5_binary_with_nul_is_plain),
	        T(file_md5_lf_text),
	        T(file_md5_crlf_text_is_dos2unix),
	        T(file_md5_crlf_split_across_chunks_is_kept),
	        T(file_md5_empty),
	        T(file_md5_thirty_percent_threshold),
	        T(file_md5_detection_reads_512_bytes),
	        T(md5_stream_equals_md5_fd),
	        T(remote_pull_then_push_trusts_only_an_unchanged_object),
	        T(remote_push_hashes_and_reports_what_it_read),
	        T(remote_pull_refuses_a_corrupt_object_or_a_fifo),
	        T(state_remembers_a_staged_copy_that_became_the_object),
	        T(dir_manifest_golden),
	        T(dir_without_files_is_empty_list),
	        T(hash_path_missing_is_notfound),
	        T(hash_path_file_and_link),
	        T(state_unchanged_file_is_not_reread),
	        T(state_recent_file_is_rehashed),
	        T(state_save_open_round_trip),
	        T(state_malformed_cache_is_ignored),
	        T(cache_path_layout),
	        T(cache_add_file_is_readonly_copy),
	        T(cache_add_dir_stores_files_and_manifest),
	        T(cache_checkout_file_is_private_writable_copy),
	        T(cache_checkout_folder_matches_manifest),
	        T(cache_checkout_missing_object_is_notfound),
	        T(manifest_names_round_trip_byte_for_byte),
	        T(manifest_reader_is_python_and_refuses_clashes),
	        T(cache_checkout_never_follows_a_link),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
