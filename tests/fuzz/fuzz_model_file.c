/*
 * model.pt (examples/mnist/model_file.c): model_load on a file, and
 * model_save of what loaded.
 *
 * A real file is 594,416 bytes and guarded by a CRC-32, which mutation alone
 * never gets past; so the first byte picks how the file is made:
 *   bit 0 clear  the rest of the input is the file, as is
 *   bit 0 set    the rest is a header (the first 68 bytes, zero-padded) and a
 *                pattern: the file is the header, then 4 x the header's
 *                parameter count bytes of the pattern repeated (at most a
 *                real file's worth, plus 16: a larger count gives a short
 *                file), then the CRC-32 of all that (bit 1 set) or the
 *                pattern's next 4 bytes (bit 1 clear); bit 2 appends a byte.
 *
 * A file that loads must save back to the same bytes; one that does not
 * must leave the output untouched and say why.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "model_file.h"

static char path[4096], saved[4096];
static model_state *state, *before;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_path(path, sizeof(path), "model.pt");
	fz_path(saved, sizeof(saved), "saved.pt");
	state = malloc(sizeof(*state));
	before = malloc(sizeof(*before));
	FZ_CHECK(state && before, "out of memory");
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The file bit 0 asks for (see the top); returns its size, *out malloc'd. */
static size_t synthesize(const uint8_t *data, size_t size, unsigned flags, uint8_t **out)
{
	uint8_t head[MODEL_HEADER_LEN] = {0};
	size_t nhead = size < MODEL_HEADER_LEN ? size : MODEL_HEADER_LEN;
	const uint8_t *pat = data + nhead;
	size_t npat = size - nhead;
	uint64_t body;

	memcpy(head, data, nhead);
	body = 4 * (uint64_t)le32(head + 64);
	if (body > 4u * CNN_NPARAMS + 16)
		body = 4u * CNN_NPARAMS + 16;
	size_t total = MODEL_HEADER_LEN + (size_t)body + 4 + !!(flags & 4);
	uint8_t *f = malloc(total);
	FZ_CHECK(f, "out of memory");
	memcpy(f, head, MODEL_HEADER_LEN);
	size_t at = MODEL_HEADER_LEN;
	for (size_t i = 0; i < body + 4; i++)
		f[at++] = npat ? pat[i % npat] : 0;
	if (flags & 2) {
		uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), f, (uInt)(MODEL_HEADER_LEN + body));
		for (int i = 0; i < 4; i++)
			f[MODEL_HEADER_LEN + body + (size_t)i] = (uint8_t)(crc >> (8 * i));
	}
	if (flags & 4)
		f[total - 1] = 0x55;
	*out = f;
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	uint8_t *file = NULL;
	size_t len;

	if (flags & 1) {
		len = synthesize(data + 1, size - 1, flags, &file);
	} else {
		len = size - 1;
		file = malloc(len ? len : 1);
		FZ_CHECK(file, "out of memory");
		memcpy(file, data + 1, len);
	}
	fz_write(path, file, len);

	char err[512] = "";
	memset(state, 0xA5, sizeof(*state));
	memcpy(before, state, sizeof(*state));
	int rc = model_load(path, state, err, sizeof(err));
	if (rc) {
		FZ_CHECK(rc == MODEL_ERROR && err[0], "load: %d with message '%s'", rc, err);
		FZ_CHECK(!memcmp(state, before, sizeof(*state)), "a failed load touched the output");
		free(file);
		return 0;
	}
	FZ_CHECK(len == MODEL_FILE_SIZE, "a file of %zu bytes loaded", len);
	rc = model_save(saved, state, err, sizeof(err));
	FZ_CHECK(rc == 0, "save: %s", err);
	size_t n;
	char *back = fz_read(saved, &n);
	FZ_CHECK(back && n == len && !memcmp(back, file, len), "what loaded does not save to the same bytes");
	free(back);
	free(file);
	return 0;
}
