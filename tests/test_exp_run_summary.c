/*
 * `live exp run` reads the live summary of every checkpoint for its end of run
 * divergence report (SPEC 5): the "Divergence:" lines and which checkpoint
 * holds the best step. A summary comes from the trainer, which need not be
 * liblive, so its numbers are untrusted: a step or a divergence step that is
 * not a whole number from 0 to 2^62 (nan, inf, 1e300, -1, 2.5, a string) is
 * left out of the report with one warning a run, never turned into an integer
 * (that was undefined behaviour), and the run goes on.
 *
 * The trainer is a shell script speaking DVC's file protocol: for each
 * checkpoint it writes model.pt and dvclive.json, creates
 * .dvc/tmp/DVC_CHECKPOINT and waits until the runner removed it.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clitest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif

#define WARN "WARNING: dvclive.json: "
#define EXPECTED ": expected a whole number from 0 to 2^62 (left out of the divergence report)\n"

/*
 * A repository in `dir` whose train stage writes the NULL-terminated
 * `summaries` as dvclive.json, one checkpoint each; then `live exp run` there.
 * Leaves the current directory in the repository.
 */
static result run_with(const char *dir, const char *const *summaries)
{
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chdir(dir), 0);
	git_init_repo(1);
	LIVE_OK("init", "-q");
	FILE *f = fopen("train.sh", "w");
	assert_non_null(f);
	fputs("set -e\n"
	      "mkdir -p dvclive \"$DVC_ROOT/.dvc/tmp\"\n"
	      "ck() {\n"
	      "\tprintf 'step %s\\n' \"$1\" > model.pt\n"
	      "\tcat > dvclive.json\n"
	      "\t: > \"$DVC_ROOT/.dvc/tmp/DVC_CHECKPOINT\"\n"
	      "\twhile [ -e \"$DVC_ROOT/.dvc/tmp/DVC_CHECKPOINT\" ]; do sleep 0.01; done\n"
	      "}\n",
	      f);
	for (size_t i = 0; summaries[i]; i++)
		fprintf(f, "ck %zu <<'EOF'\n%s\nEOF\n", i, summaries[i]);
	assert_int_equal(fclose(f), 0);
	LIVE_OK("stage", "add", "-n", "train", "-d", "train.sh", "-c", "model.pt", "--live", "dvclive",
	        "sh train.sh");
	commit_all("baseline");
	return LIVE("exp", "run");
}

/* The 7-character sha of the only experiment's checkpoint number `k` (0 = the first). */
static char *checkpoint(int k)
{
	char *baseline = sh("git rev-parse HEAD"), names[2][64];
	assert_int_equal(exp_names(baseline, names, 2), 1);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(baseline), names[0]));
	assert_non_null(tip);
	return sh("git rev-list --reverse %s..%s | sed -n '%dp' | cut -c1-7", baseline, tip, k + 1);
}

static const char *tail_of(const char *s, const char *start)
{
	const char *at = strstr(s, start);
	if (!at)
		fail_msg("expected [%s] in:\n%s", start, s);
	return at;
}

/* Well-formed summaries: the report names the metric and the best step's checkpoint. */
static void divergence_report_names_the_best_checkpoint(void **state)
{
	(void)state;
	static const char *const s[] = {
	        "{\"step\": 0, \"loss\": 0.5}",
	        "{\"step\": 1, \"loss\": 0.7, \"divergence\": {\"loss\": {\"since\": 1, \"best_step\": 0, "
	        "\"best\": 0.5, \"reason\": \"worse\"}}}",
	        NULL,
	};
	result r = run_with("repo", s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(tail_of(r.out, "\nDivergence:"),
	                    fmt("\nDivergence: 'loss' is diverging since step 1 (best at step 0)\n"
	                        "To restore the best checkpoint (step 0) run:\n\n\tlive exp apply %s\n",
	                        checkpoint(0)));
}

/*
 * Steps that are no step are left out: with a cast, 2.5 would have been step 2
 * and named as a second checkpoint to restore. One warning, for the first.
 */
static void bad_steps_are_left_out_with_one_warning(void **state)
{
	(void)state;
	static const char *const s[] = {
	        "{\"step\": 1e400}", /* inf */
	        "{\"step\": -1}",
	        "{\"step\": 2.5}",
	        "{\"step\": 9300000000000000000}",
	        "{\"step\": 4611686018427388928}", /* the double after 2^62 */
	        "{\"step\": \"3\"}",
	        "{\"step\": 2, \"divergence\": {\"loss\": {\"since\": 1, \"best_step\": 2}}}",
	        NULL,
	};
	result r = run_with("repo", s);
	assert_int_equal(r.rc, 0);
	assert_int_equal(count_substr(r.out, "Checkpoint experiment iteration"), 7);
	assert_string_equal(r.err, WARN "'step' is inf" EXPECTED);
	assert_string_equal(tail_of(r.out, "\nDivergence:"),
	                    fmt("\nDivergence: 'loss' is diverging since step 1 (best at step 2)\n"
	                        "To restore the best checkpoint (step 2) run:\n\n\tlive exp apply %s\n",
	                        checkpoint(6)));
}

/* The largest step, 2^62, is a step; a divergence entry with a bad step is left out. */
static void bad_divergence_entries_are_left_out(void **state)
{
	(void)state;
	static const char *const s[] = {
	        "{\"step\": 0, \"divergence\": {\"loss\": {\"since\": 1e300, \"best_step\": 0}}}",
	        "{\"step\": 1, \"divergence\": {\"loss\": {\"since\": 1, \"best_step\": -5}}}",
	        "{\"step\": 2, \"divergence\": {\"loss\": {\"since\": 1}}}",
	        "{\"step\": 3, \"divergence\": [{\"since\": 1, \"best_step\": 0}]}",
	        "{\"step\": 4, \"divergence\": {\"lo\\u001b[2Jss\": {\"since\": 1, \"best_step\": 0}}}",
	        "{\"step\": 4611686018427387904, \"divergence\": {\"acc\": {\"since\": 4611686018427387904, "
	        "\"best_step\": 4611686018427387904}}}",
	        NULL,
	};
	result r = run_with("repo", s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, WARN "'since' of 'loss' in 'divergence' is 1e+300" EXPECTED);
	assert_string_equal(tail_of(r.out, "\nDivergence:"),
	                    fmt("\nDivergence: 'acc' is diverging since step 4611686018427387904 "
	                        "(best at step 4611686018427387904)\n"
	                        "To restore the best checkpoint (step 4611686018427387904) run:\n\n"
	                        "\tlive exp apply %s\n",
	                        checkpoint(5)));
}

/* Each kind of bad value, first in its own run: the exact warning. */
static void each_warning_exactly(void **state)
{
	(void)state;
	static const struct {
		const char *summary, *err;
	} cases[] = {
	        {"{\"step\": -1}", WARN "'step' is -1.0" EXPECTED},
	        {"{\"step\": 2.5}", WARN "'step' is 2.5" EXPECTED},
	        {"{\"step\": 9300000000000000000}", WARN "'step' is 9.3e+18" EXPECTED},
	        {"{\"step\": null}", WARN "'step' is not a number" EXPECTED},
	        {"{\"step\": 0, \"divergence\": {\"loss\": {\"since\": 1, \"best_step\": -5}}}",
	         WARN "'best_step' of 'loss' in 'divergence' is -5.0" EXPECTED},
	        {"{\"step\": 0, \"divergence\": {\"loss\": {\"best_step\": 0}}}",
	         WARN "'since' of 'loss' in 'divergence' is missing" EXPECTED},
	        {"{\"step\": 0, \"divergence\": [1]}",
	         WARN "'divergence' is not a mapping of metric names (left out of the divergence report)\n"},
	        {"{\"step\": 0, \"divergence\": {\"a\\u0007\": {\"since\": 1, \"best_step\": 0}}}",
	         WARN "'divergence' names a metric with control characters (left out of the divergence "
	              "report)\n"},
	        {"[1, 2]", WARN "not a JSON object (left out of the divergence report)\n"},
	        {"{\"step\": 0, \"loss\": 0.5}", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s[] = {cases[i].summary, NULL};
		result r = run_with(fmt("repo%zu", i), s);
		assert_int_equal(r.rc, 0);
		assert_string_equal(r.err, cases[i].err);
		assert_not_contains(r.out, "Divergence:");
		assert_int_equal(chdir(".."), 0);
	}
}

int main(void)
{
	if (ct_begin("test_exp_run_summary", LIVE_BIN, (const char *)NULL))
		return 1;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ct_setup, ct_teardown)
	        T(divergence_report_names_the_best_checkpoint),
	        T(bad_steps_are_left_out_with_one_warning),
	        T(bad_divergence_entries_are_left_out),
	        T(each_warning_exactly),
#undef T
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return ct_end(failed ? 1 : 0);
}
