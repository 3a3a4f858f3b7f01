/*
 * Resume (live/resume.c): the summary JSON and the TSV histories a resumed
 * run reads back, through live_run_open with resume on, in a fresh folder
 * per input.
 *
 * Input: a flags byte, a 2-byte little-endian length L, then L bytes of
 * summary and the rest as one TSV. Flags:
 *   bit 0  layout v3 (<dir>/metrics.json, <dir>/plots/metrics/) instead of classic
 *   bit 1  write the summary        bit 2  write the TSV
 *   bit 3  the TSV is train/loss.tsv (a sub-folder) instead of loss.tsv
 *   bit 4  report off (no replay into the charts)
 *   bit 5  after opening, log "loss" and end a step before closing
 *
 * A run that opens must close; a run that fails to open must leave every
 * file as it was ("nothing on disk is changed", live.h). Ending a step
 * advances it by one, except at the largest step, 2^62, where it fails with
 * LIVE_EINVALID; a history that ends at 2^62 does not open (live.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "live.h"

#define STEP_MAX (1LL << 62) /* the largest step (live.h) */

static char dir[4096], summary_path[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_clean_env();
	fz_path(dir, sizeof(dir), "dvclive");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	unsigned flags = data[0];
	size_t len = (size_t)data[1] | (size_t)data[2] << 8;
	const uint8_t *rest = data + 3;
	size_t nrest = size - 3;
	if (len > nrest)
		len = nrest;
	int v3 = flags & 1;
	char hist[4096], tsv[4096];

	fz_rm_tree(dir);
	snprintf(summary_path, sizeof(summary_path), v3 ? "%s/metrics.json" : "%s.json", dir);
	unlink(summary_path);
	snprintf(hist, sizeof(hist), v3 ? "%s/plots/metrics%s" : "%s%s", dir, flags & 8 ? "/train" : "");
	fz_mkdirs(hist);
	snprintf(tsv, sizeof(tsv), "%s/loss.tsv", hist);
	if (flags & 2)
		fz_write(summary_path, rest, len);
	if (flags & 4)
		fz_write(tsv, rest + len, nrest - len);

	live_options o = LIVE_OPTIONS_INIT;
	o.dir = dir;
	o.resume = LIVE_ON;
	o.layout = v3 ? LIVE_LAYOUT_V3 : LIVE_LAYOUT_CLASSIC;
	o.html = flags & 16 ? LIVE_OFF : LIVE_ON;
	o.summary_interval_ms = LIVE_EVERY_STEP;
	live_run *r = NULL;
	int rc = live_run_open(&r, &o);
	if (rc) {
		/* a malformed file, or a history that ends at the largest step (2^62) */
		FZ_CHECK(rc == LIVE_EPARSE || rc == LIVE_ENOMEM ||
		                 (rc == LIVE_EINVALID && strstr(live_errmsg(), "is the largest (2^62)")),
		         "open: unexpected %d: %s", rc, live_errmsg());
		FZ_CHECK(!r, "a failed open returned a run");
		/* nothing on disk changed */
		size_t n;
		char *s;
		if (flags & 2) {
			s = fz_read(summary_path, &n);
			FZ_CHECK(s && n == len && !memcmp(s, rest, len), "a failed open changed the summary");
			free(s);
		}
		if (flags & 4) {
			s = fz_read(tsv, &n);
			FZ_CHECK(s && n == nrest - len && !memcmp(s, rest + len, n),
			         "a failed open changed the TSV");
			free(s);
		}
		return 0;
	}
	long long step = live_run_get_step(r);
	/* resume.c takes steps up to 2^62 and continues after the last one: a
	 * history that ends at 2^62 cannot continue and fails to open */
	FZ_CHECK(step >= 0 && step <= STEP_MAX, "resumed at step %lld", step);
	if (flags & 32) {
		const char *name = flags & 8 ? "train/loss" : "loss";
		rc = live_run_log(r, name, 0.5);
		FZ_CHECK(rc == 0 || rc == LIVE_EINVALID, "log: %d: %s", rc, live_errmsg());
		rc = live_run_next_step(r);
		if (step < STEP_MAX) {
			FZ_CHECK(rc == 0, "next_step: %d: %s", rc, live_errmsg());
			FZ_CHECK(live_run_get_step(r) == step + 1, "the step did not advance");
		} else {
			FZ_CHECK(rc == LIVE_EINVALID, "next_step at step %lld: %d", step, rc);
			FZ_CHECK(live_run_get_step(r) == step, "the step moved past the largest");
		}
	}
	live_run_get_divergence(r, NULL, NULL, NULL, NULL);
	rc = live_run_close(r);
	FZ_CHECK(rc == 0, "close: %d: %s", rc, live_errmsg());
	return 0;
}
