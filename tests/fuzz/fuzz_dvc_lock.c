/*
 * dvc.lock: tracker/lockfile.c's reader, and tr_lock_render on what it read.
 *
 * A lock that loads must render; the rendering must load again and render to
 * the same bytes (the canonical form is a fixed point), with the same stages,
 * entries and params values. One exception, which is ruamel's (and so DVC's)
 * too: a string holding U+0085 (NEL) is rendered in quotes with the NEL as a
 * line break, which YAML folds to a space when read; the round after that is
 * stable.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tracker.h"

static char in[4096], again[4096], third[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_clean_env();
	fz_path(in, sizeof(in), "dvc.lock");
	fz_path(again, sizeof(again), "rendered.lock");
	fz_path(third, sizeof(third), "third.lock");
	return 0;
}

/*
 * An entry reads back as it was, less what the renderer leaves out on
 * purpose: size and nfiles without an md5, nfiles of a file (DVC records
 * nfiles for folders only).
 */
static void check_entries(const char *stage, const tr_lock_entry *a, const tr_lock_entry *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(a[i].h.md5);
		int dir = len >= 4 && !strcmp(a[i].h.md5 + len - 4, ".dir");
		long long size = len ? a[i].h.size : -1, nfiles = len && dir ? a[i].h.nfiles : -1;

		FZ_CHECK(!strcmp(a[i].path, b[i].path), "stage '%s': entry '%s' read back as '%s'", stage,
		         a[i].path, b[i].path);
		FZ_CHECK(!strcmp(a[i].h.md5, b[i].h.md5) && size == b[i].h.size && nfiles == b[i].h.nfiles,
		         "stage '%s': entry '%s' changed its hash info", stage, a[i].path);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tr_lock lock, lock2;
	live__buf r1 = {0}, r2 = {0};

	fz_write(in, data, size);
	int rc = tr_lock_load(in, &lock);
	if (rc) {
		FZ_CHECK(rc == LIVE_EPARSE || rc == LIVE_ENOMEM, "load: unexpected %d: %s", rc,
		         live_errmsg());
		FZ_CHECK(lock.n == 0 && lock.stages == NULL, "a failed load left stages");
		return 0;
	}
	for (size_t k = 0; k < lock.n; k++)
		FZ_CHECK(tr_lock_find(&lock, lock.stages[k].name), "stage '%s' not found by name",
		         lock.stages[k].name);

	rc = tr_lock_render(&lock, &r1);
	FZ_CHECK(rc == 0, "a loaded lock does not render: %s", live_errmsg());
	fz_write(again, r1.data, r1.len);
	rc = tr_lock_load(again, &lock2);
	FZ_CHECK(rc == 0, "the rendered lock does not load: %s\n%.*s", live_errmsg(), (int)r1.len, r1.data);
	FZ_CHECK(lock2.n == lock.n, "%zu stages rendered, %zu read back", lock.n, lock2.n);
	rc = tr_lock_render(&lock2, &r2);
	FZ_CHECK(rc == 0, "the reread lock does not render: %s", live_errmsg());
	int nel = memmem(r1.data, r1.len, "\xc2\x85", 2) != NULL;
	if (r1.len != r2.len || memcmp(r1.data, r2.data, r1.len)) {
		tr_lock lock3;
		live__buf r3 = {0};

		FZ_CHECK(nel, "rendering is not a fixed point:\n%.*s\n----\n%.*s", (int)r1.len, r1.data,
		         (int)r2.len, r2.data);
		fz_write(third, r2.data, r2.len);
		FZ_CHECK(tr_lock_load(third, &lock3) == 0 && tr_lock_render(&lock3, &r3) == 0 &&
		                 r3.len == r2.len && !memcmp(r3.data, r2.data, r2.len),
		         "rendering does not settle after a NEL is folded");
		tr_lock_free(&lock3);
		live__buf_free(&r3);
	}

	/* Loading sorts nothing: compare the reread lock with the rendering's order (sorted). */
	for (size_t k = 0; k < lock2.n; k++) {
		const tr_lock_stage *b = &lock2.stages[k];
		const tr_lock_stage *a = tr_lock_find(&lock, b->name);

		if (nel)
			continue; /* names, paths and values may have had a NEL folded */
		FZ_CHECK(a, "stage '%s' appeared in a round trip", b->name);
		FZ_CHECK(!strcmp(a->cmd, b->cmd), "stage '%s': cmd changed", b->name);
		FZ_CHECK(a->ndeps == b->ndeps && a->nouts == b->nouts, "stage '%s': entries changed",
		         b->name);
		for (size_t i = 1; i < b->ndeps; i++)
			FZ_CHECK(strcmp(b->deps[i - 1].path, b->deps[i].path) <= 0, "deps not sorted");
		if (lock2.n == lock.n && a == &lock.stages[k]) {
			/* an unsorted input is sorted by the rendering: compare only sorted ones */
			int sorted = 1;
			for (size_t i = 1; i < a->ndeps; i++)
				sorted &= strcmp(a->deps[i - 1].path, a->deps[i].path) <= 0;
			if (sorted)
				check_entries(b->name, a->deps, b->deps, a->ndeps);
		}
	}
	tr_lock_free(&lock);
	tr_lock_free(&lock2);
	live__buf_free(&r1);
	live__buf_free(&r2);
	return 0;
}
