/*
 * Metric names are untrusted (SPEC 6): they become file paths, so a name is
 * checked once, when it is first seen, and only names that stay inside the
 * run's folder pass.
 */
#include <string.h>

#include "run.h"

#define NAME_MAX_LEN 1024
#define PART_MAX_LEN 250 /* + ".tsv" stays within NAME_MAX (255) */

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned min;
	if ((c & 0xE0) == 0xC0) {
		n = 2;
		min = 0x80;
		c &= 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		min = 0x800;
		c &= 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4;
		min = 0x10000;
		c &= 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return n;
}

static int reject(const char *name, const char *why)
{
	/* Quote at most a bounded, printable prefix of a hostile name. */
	char shown[64];
	size_t j = 0;
	for (size_t i = 0; name[i] && j < sizeof(shown) - 4; i++) {
		unsigned char c = (unsigned char)name[i];
		shown[j++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
	}
	if (name[j] && j >= sizeof(shown) - 4) {
		memcpy(shown + j, "...", 3);
		j += 3;
	}
	shown[j] = 0;
	return live__fail(LIVE_EINVALID, "metric name '%s': %s", shown, why);
}

int live__name_check(const char *name, size_t *len_out)
{
	if (!name)
		return live__fail(LIVE_EINVALID, "metric name is NULL");
	if (!name[0])
		return live__fail(LIVE_EINVALID, "metric name is empty");
	if (name[0] == '/')
		return reject(name, "absolute paths are not allowed");

	size_t part = 0;
	size_t i = 0;
	while (name[i]) {
		unsigned char c = (unsigned char)name[i];
		if (i >= NAME_MAX_LEN)
			return reject(name, "longer than 1024 bytes");
		if (c < 0x20 || c == 0x7F)
			return reject(name, "control characters are not allowed");
		if (c == '\\')
			return reject(name, "backslashes are not allowed");
		if (c == '/') {
			if (part == 0)
				return reject(name, "empty path part ('//' or a trailing '/')");
			part = 0;
			i++;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)name + i);
		if (!n)
			return reject(name, "not valid UTF-8");
		if (part == 0 && c == '.') {
			const char *p = name + i;
			if ((p[1] == '/' || !p[1]) || (p[1] == '.' && (p[2] == '/' || !p[2])))
				return reject(name, "'.' and '..' parts are not allowed");
		}
		part += n;
		if (part > PART_MAX_LEN)
			return reject(name, "a path part is longer than 250 bytes");
		i += n;
	}
	if (part == 0)
		return reject(name, "empty path part ('//' or a trailing '/')");

	/* The summary's own top-level keys. */
	if (!strcmp(name, "step") || !strcmp(name, "divergence"))
		return reject(name, "reserved for the summary's own key");
	if (len_out)
		*len_out = i;
	return 0;
}

uint32_t live__name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}
