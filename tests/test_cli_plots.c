/*
 * End-to-end tests of `live plots show` and `live plots diff`
 * (reference/dvc-checkpoints.md 6.3; the tutorial's "Looking at plots",
 * /work/shared/seeds/000_00be6dab4e390328.txt): real runs of
 * tests/cli/tiny_trainer.c under `live exp run` in temp git repositories, or
 * repositories made by hand, then the built `live` binary run as a user
 * would, and the page it writes read back: its charts and matrices by their
 * stable ids and classes (figure#plot-N, svg#plot-N-chart with one
 * <g class="series sK"> per revision, svg#plot-N-rev-R.matrix), and the
 * --json data against a golden file in tests/data/cli_plots/ (commit ids and
 * timestamps masked; LIVE_UPDATE_GOLDEN=1 rewrites it).
 *
 * Isolation as in test_cli.c: HOME is an empty temp dir, GIT_CONFIG_NOSYSTEM=1,
 * identity in each repository's .git/config.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clitest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif
#ifndef LIVE_TEST_GOLDEN
#error "LIVE_TEST_GOLDEN (tests/data/cli_plots) must be defined by the build"
#endif

/* Case-insensitive: "javascript:" in any case is as bad. */
#define assert_not_contains_ci(hay, needle)                                                          \
	do {                                                                                      \
		const char *h_ = (hay), *n_ = (needle);                                           \
		if (strcasestr(h_, n_))                                                           \
			fail_msg("did not expect [%s] in:\n%.3000s", n_, strcasestr(h_, n_));     \
	} while (0)

/* ---- files ----------------------------------------------------------------------- */

static char *read_text(const char *path)
{
	char *s = tu_read_file(path);
	if (!s)
		fail_msg("%s was not written", path);
	return keep(s);
}

/* ---- repositories ---------------------------------------------------------------- */

/*
 * The tutorial's project with the tiny trainer: a checkpoint stage with
 * predictions.json as a plot (cached or not) drawn with the confusion
 * template (x: actual, y: predicted), and dvclive as its live folder.
 */
static void make_project(int epochs, int cached_plots)
{
	git_init_repo(1);
	sh("cp '%s' train && "
	   "printf 'epochs: %d\\nlr: 0.001\\nmodel_bytes: 1000\\nstep_ms: 0\\n' > params.yaml",
	   TINY_TRAINER, epochs);
	sh("git add -A && git commit -qm baseline");
	result r = LIVE("init", "-q");
	assert_int_equal(r.rc, 0);
	r = LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt",
		 cached_plots ? "--plots" : "--plots-no-cache", "predictions.json", "-p", "lr", "--live", "dvclive",
		 "./train");
	if (r.rc)
		fail_msg("stage add: %s", r.err);
	char *yaml = read_text("dvc.yaml");
	const char *plain = "    - predictions.json\n", *nocache = "        cache: false\n";
	char *at = strstr(yaml, cached_plots ? plain : nocache);
	assert_non_null(at);
	size_t head = (size_t)(at - yaml) + strlen(cached_plots ? plain : nocache);
	tu_write_file("dvc.yaml", fmt("%.*s%s        template: confusion\n        x: actual\n        y: predicted\n%s",
				      (int)(head - (cached_plots ? 1 : 0)), yaml, cached_plots ? ":\n" : "",
				      yaml + head));
	sh("git add -A && git commit -qm 'train stage'");
}

static void exp_run(void)
{
	result r = LIVE("exp", "run");
	if (r.rc)
		fail_msg("exp run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
}

/* The experiment commit whose dvclive.json has this step, on the last run's chain. */
static char *ckpt_with_step(int step)
{
	char *list = sh("git rev-list refs/exps/exec/EXEC_CHECKPOINT");
	for (char *save, *c = strtok_r(list, "\n", &save); c; c = strtok_r(NULL, "\n", &save)) {
		char *json = sh("git show %s:dvclive.json 2>/dev/null || true", c);
		if (strstr(json, fmt("\"step\": %d,", step)))
			return fmt("%.7s", c);
	}
	fail_msg("no checkpoint with step %d", step);
	return NULL;
}

/* A repository with one stage whose outs are plots written by hand (no run). */
static void hand_project(const char *plots_yaml)
{
	git_init_repo(1);
	result r = LIVE("init", "-q");
	assert_int_equal(r.rc, 0);
	tu_write_file("dvc.yaml", fmt("stages:\n  make:\n    cmd: 'true'\n    plots:\n%s", plots_yaml));
}

/* ---- reading the page back --------------------------------------------------------- */

/* The <figure> whose caption shows `caption` (as escaped in the page), or fail. */
static char *figure(const char *html, const char *caption)
{
	for (const char *p = html; (p = strstr(p, "<figure id=\"plot-")); p++) {
		const char *end = strstr(p, "</figure>"), *cap = strstr(p, "<figcaption>");
		assert_non_null(end);
		const char *cap_end = strstr(cap, "</figcaption>");
		size_t n = strlen(caption);
		for (const char *q = cap; q + n <= cap_end; q++)
			if (!strncmp(q, caption, n))
				return fmt("%.*s", (int)(end - p + 9), p);
	}
	fail_msg("no figure for %s in the page", caption);
	return NULL;
}

/* The k-th <g class="series ..."> of a chart (0-based), up to its closing tag. */
static char *series(const char *fig, int k)
{
	const char *p = fig;
	for (int i = 0; i <= k; i++) {
		p = strstr(i ? p + 1 : p, "<g class=\"series ");
		assert_non_null(p);
	}
	const char *next = strstr(p + 1, "<g class=\"series "), *end = strstr(p, "</svg>");
	if (next && next < end)
		end = next;
	return fmt("%.*s", (int)(end - p), p);
}

/* The URL printed must be file:// and the absolute path of the page. */
static void assert_uri(const result *r, const char *path)
{
	assert_int_equal(r->rc, 0);
	char real[PATH_MAX];
	assert_non_null(realpath(path, real));
	assert_string_equal(r->out, fmt("file://%s\n", real));
}

/* Nothing the page could load: no address, no script, no resource. */
static void assert_self_contained(const char *html)
{
	static const char *const banned[] = { "http://", "https://", "<script", "src=", "href=", "url(",
					      "@import", "<link", "<iframe", "<object", "<embed", "<img" };
	for (size_t i = 0; i < sizeof(banned) / sizeof(*banned); i++)
		assert_not_contains_ci(html, banned[i]);
}

/* ---- the tutorial: plots diff between two checkpoints ----------------------------------- */

/*
 * `live plots diff A B` for the checkpoints of steps 2 and 4: plots.html in
 * the current folder, its URL printed; per metric one chart with two lines
 * (3 and 5 values), named as typed, in the revisions' colours; and two count
 * matrices for predictions.json, actual across and predicted down.
 */
static void plots_diff_overlays_two_checkpoints(void **state)
{
	(void)state;
	make_project(6, 0);
	exp_run();
	char *a = ckpt_with_step(2), *b = ckpt_with_step(4);
	result r = LIVE("plots", "diff", a, b);
	if (r.rc)
		fail_msg("plots diff failed (%d): %s", r.rc, r.err);
	assert_string_equal(r.err, "");
	assert_uri(&r, "plots.html");
	char *html = read_text("plots.html");
	assert_self_contained(html);
	assert_contains(html, fmt("<span class=\"rev s0\">%s</span> \xc2\xb7 <span class=\"rev s1\">%s</span>", a, b));
	assert_int_equal(count_substr(html, "<figure id=\"plot-"), 3);

	static const char *const metrics[] = { "acc", "loss" };
	for (int m = 0; m < 2; m++) {
		char *fig = figure(html, fmt("<span class=\"dir\">dvclive/</span>%s.tsv", metrics[m]));
		assert_contains(fig, "class=\"plot linear\"");
		assert_int_equal(count_substr(fig, "<svg id=\"plot-"), 1);
		assert_int_equal(count_substr(fig, "class=\"chart\""), 1);
		assert_int_equal(count_substr(fig, "<g class=\"series "), 2);
		assert_int_equal(count_substr(fig, "<g class=\"key "), 2);
		char *sa = series(fig, 0), *sb = series(fig, 1);
		assert_contains(sa, "<g class=\"series s0 w1\"><polyline class=\"line\"");
		assert_contains(sb, "<g class=\"series s1\"><polyline class=\"line\"");
		/* a line per checkpoint's history: steps 0-2, steps 0-4 */
		assert_int_equal(count_substr(sa, "<circle"), 3);
		assert_int_equal(count_substr(sb, "<circle"), 5);
		assert_contains(sa, fmt("<title>%s, step 2: ", a));
		assert_contains(sb, fmt("<title>%s, step 4: ", b));
		assert_contains(fig, fmt(">%s</text></g>", a));
		assert_contains(fig, fmt(">%s</text></g>", b));
		assert_contains(fig, fmt("rotate(-90)\">%s</text>", metrics[m]));
		assert_contains(fig, ">step</text>");
	}
	/* loss = 1/(step+1) + lr at step 4 */
	assert_contains(figure(html, "loss.tsv"), fmt("<title>%s, step 4: 0.201</title>", b));

	char *conf = figure(html, "predictions.json");
	assert_contains(conf, "class=\"plot confusion\"");
	assert_contains(conf, "confusion: actual \xc3\x97 predicted");
	assert_int_equal(count_substr(conf, "class=\"matrix "), 2);
	assert_contains(conf, "<svg id=\"plot-0-rev-0\" class=\"matrix s0\"");
	assert_contains(conf, "<svg id=\"plot-0-rev-1\" class=\"matrix s1\"");
	/* step 2 predicted 3 for 2, step 4 predicted 5 for 4: classes 2..5, one count each */
	char *m0 = strstr(conf, "id=\"plot-0-rev-0\""), *m1 = strstr(conf, "id=\"plot-0-rev-1\"");
	assert_int_equal(count_substr(m0, "<rect") - count_substr(m1, "<rect"), 16);
	assert_int_equal(count_substr(m1, "<rect"), 16);
	assert_contains(m0, "<title>actual 2, predicted 3: 1</title>");
	assert_contains(m1, "<title>actual 4, predicted 5: 1</title>");
	assert_contains(m0, "<title>actual 4, predicted 5: 0</title>");
	assert_int_equal(count_substr(m1, "<rect class=\"cell\" "), 1);
	assert_int_equal(count_substr(m1, "<rect class=\"cell zero\" "), 15);
	assert_contains(m1, ">actual</text>");
	assert_contains(m1, "rotate(-90)\">predicted</text>");
	assert_contains(m1, fmt("\" y=\"17\">%s</text>", b));

	/* again: the page is replaced whole */
	r = LIVE("plots", "diff", a, b);
	assert_uri(&r, "plots.html");
	assert_string_equal(read_text("plots.html"), html);
	assert_false(tu_exists("plots.html.tmp"));
}

/* Revisions and timestamps masked: "rev": "A" and "B" for the two checkpoints, "timestamp": "T". */
static char *mask(const char *text, const char *a, const char *b)
{
	char *out = keep(malloc(strlen(text) + 1)), *w = out;
	for (const char *p = text; *p;) {
		if (!strncmp(p, "\"rev\": \"", 8) && (!strncmp(p + 8, a, 7) || !strncmp(p + 8, b, 7))) {
			w += sprintf(w, "\"rev\": \"%s", !strncmp(p + 8, a, 7) ? "A" : "B");
			p += 15;
		} else if (!strncmp(p, "\"timestamp\": \"", 14)) {
			w += sprintf(w, "\"timestamp\": \"T");
			for (p += 14; isdigit((unsigned char)*p); p++)
				;
		} else {
			*w++ = *p++;
		}
	}
	*w = 0;
	return out;
}

static void golden(const char *name, const char *actual)
{
	char *path = fmt("%s/%s", LIVE_TEST_GOLDEN, name);
	const char *update = getenv("LIVE_UPDATE_GOLDEN");
	if (update && *update && strcmp(update, "0")) {
		tu_write_file(path, actual);
		return;
	}
	char *want = tu_read_file(path);
	if (!want)
		fail_msg("golden %s is missing (LIVE_UPDATE_GOLDEN=1 writes it); output:\n%s", path, actual);
	keep(want);
	if (strcmp(want, actual))
		fail_msg("output differs from %s\n--- expected\n%s--- actual\n%s", path, want, actual);
}

/* --json: per plot file, its props and the datapoints of each revision, each with its "rev". */
static void plots_diff_json_is_golden(void **state)
{
	(void)state;
	make_project(6, 0);
	exp_run();
	char *a = ckpt_with_step(2), *b = ckpt_with_step(4);
	result r = LIVE("plots", "diff", a, b, "--json");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	golden("diff.json", mask(r.out, a, b));
	assert_false(tu_exists("plots.html"));
}

/* ---- revisions, files, messages ----------------------------------------------------------- */

/* The distinct "rev" values of --json output, in order, joined by spaces. */
static char *revs_of(const char *json)
{
	char *out = fmt("%s", "");
	for (const char *p = json; (p = strstr(p, "\"rev\": \"")); p++) {
		const char *v = p + 8, *e = strchr(v, '"');
		char *name = fmt("%.*s", (int)(e - v), v);
		if (!strstr(fmt(" %s ", out), fmt(" %s ", name)))
			out = fmt("%s%s%s", out, *out ? " " : "", name);
	}
	return out;
}

/*
 * DVC's choice of revisions: show is the workspace; diff with none is the
 * workspace, after HEAD when a tracked file differs from HEAD; with one, that
 * revision and the workspace; with several, those, in order, as typed.
 */
static void plots_diff_picks_revisions_as_dvc(void **state)
{
	(void)state;
	make_project(3, 0);
	exp_run();
	/* the results committed: HEAD has plots too (dvclive through dvc.lock and the cache) */
	sh("git add -f dvc.lock dvclive.json predictions.json .gitignore && git commit -qm results");
	result r = LIVE("plots", "diff", "--json");
	assert_int_equal(r.rc, 0);
	assert_string_equal(revs_of(r.out), "workspace");
	r = LIVE("plots", "show", "--json");
	assert_string_equal(revs_of(r.out), "workspace");
	sh("sed -i 's/^lr: 0.001/lr: 0.002/' params.yaml");
	r = LIVE("plots", "diff", "--json");
	assert_string_equal(revs_of(r.out), "HEAD workspace");
	r = LIVE("plots", "show", "--json");
	assert_string_equal(revs_of(r.out), "workspace");
	char *first = ckpt_with_step(0);
	r = LIVE("plots", "diff", first, "--json");
	assert_string_equal(revs_of(r.out), fmt("%s workspace", first));
	r = LIVE("plots", "diff", "HEAD~1", first, "HEAD", "--json");
	assert_int_equal(r.rc, 0);
	/* HEAD~1 (the train stage, never run) has no plot data */
	assert_string_equal(revs_of(r.out), fmt("%s HEAD", first));
	r = LIVE("plots", "diff", "HEAD", first);
	assert_uri(&r, "plots.html");
	char *html = read_text("plots.html");
	assert_int_equal(count_substr(figure(html, "acc.tsv"), "<g class=\"series "), 2);
	assert_contains(html, ">HEAD</span>");
}

/* show from a subfolder writes plots.html there; -o another path, percent-encoded in the URL. */
static void plots_show_writes_where_asked(void **state)
{
	(void)state;
	make_project(3, 0);
	exp_run();
	sh("mkdir -p sub 'out dir'");
	assert_int_equal(chdir("sub"), 0);
	result r = LIVE("plots", "show");
	assert_int_equal(chdir(".."), 0);
	assert_uri(&r, "sub/plots.html");
	char *html = read_text("sub/plots.html");
	assert_int_equal(count_substr(figure(html, "acc.tsv"), "<g class=\"series s0\">"), 1);
	/* one line: the legend names it and counts its values, as the report does */
	assert_contains(html, ">workspace</text><text class=\"count\" x=\"542\" y=\"18\">3 values</text>");
	r = LIVE("plots", "show", "-o", "out dir/my plots.html");
	assert_int_equal(r.rc, 0);
	char real[PATH_MAX];
	assert_non_null(realpath("out dir", real));
	*strrchr(real, ' ') = 0; /* ".../out dir": the space percent-encoded, as Path.as_uri() does */
	assert_string_equal(r.out, fmt("file://%s%%20dir/my%%20plots.html\n", real));
	assert_true(tu_exists("out dir/my plots.html"));
	r = LIVE("plots", "show", "-o", "no/such/dir/p.html");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "ERROR: no/such/dir/p.html: create temp file: No such file or directory");
	r = LIVE("plots", "show", "--json", "-o", "x.html");
	assert_int_equal(r.rc, 1);
	/* targets: only those files */
	r = LIVE("plots", "show", "dvclive/acc.tsv", "--json");
	assert_contains(r.out, "\"dvclive/acc.tsv\"");
	assert_not_contains_ci(r.out, "loss.tsv");
	assert_not_contains_ci(r.out, "predictions.json");
	r = LIVE("plots", "diff", "--targets", "dvclive", "--json");
	assert_contains(r.out, "\"dvclive/loss.tsv\"");
	assert_not_contains_ci(r.out, "predictions.json");
}

static void plots_nothing_to_plot_and_unknown_revision(void **state)
{
	(void)state;
	git_init_repo(1);
	result r = LIVE("init", "-q");
	assert_int_equal(r.rc, 0);
	tu_write_file("dvc.yaml", "stages:\n  make:\n    cmd: 'true'\n    outs:\n    - out.txt\n");
	sh("git add -A && git commit -qm stage");
	r = LIVE("plots", "show");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "No plots were loaded, visualization file will not be created.\n");
	assert_false(tu_exists("plots.html"));
	r = LIVE("plots", "diff", "HEAD");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "No plots were loaded, visualization file will not be created.\n");
	r = LIVE("plots", "show", "--json");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "{}\n");
	r = LIVE("plots", "diff", "nope");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: unknown revision 'nope'\n");
	r = LIVE("plots", "diff", "--bogus");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "ERROR: unknown option '--bogus'");
	/* a file that is no list of mappings is left out, with a warning */
	tu_write_file("dvc.yaml", "stages:\n  make:\n    cmd: 'true'\n    plots:\n    - bad.json\n");
	tu_write_file("bad.json", "{\"a\": 1}");
	r = LIVE("plots", "show");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "WARNING: unable to parse 'bad.json' at 'workspace': no list of mappings");
	assert_contains(r.err, "No plots were loaded");
}

/* ---- data files ------------------------------------------------------------------------- */

/* Names, labels and revisions from files or refs reach the page escaped. */
static void plots_escape_untrusted_text(void **state)
{
	(void)state;
	hand_project("    - \"<b>evil.json\":\n        cache: false\n        template: confusion\n"
		     "        x: \"a<script>\"\n        y: b\n    - lines.csv:\n        cache: false\n"
		     "        y: \"v'\\\"<i>\"\n");
	tu_write_file("<b>evil.json", "[{\"a<script>\": \"</text><script>alert(1)</script>\", \"b\": \"x\\\"&y\"},"
				      " {\"a<script>\": \"<img onerror=alert(1)>\", \"b\": \"x\\\"&y\"}]");
	tu_write_file("lines.csv", "step,\"v'\"\"<i>\"\n0,1\n1,2\n");
	sh("git add -A && git commit -qm plots && git tag \"t<b>&'q\\\"\"");
	result r = LIVE("plots", "diff", "t<b>&'q\"");
	if (r.rc)
		fail_msg("plots diff: %s", r.err);
	char *html = read_text("plots.html");
	assert_self_contained(html);
	assert_not_contains_ci(html, "<b>");
	assert_not_contains_ci(html, "<i>");
	assert_contains(html, "<span class=\"rev s0\">t&lt;b&gt;&amp;&#39;q&quot;</span>");
	assert_contains(html, "&lt;b&gt;evil.json");
	assert_contains(html, ", b x&quot;&amp;y: 1</title>");
	assert_contains(html, "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
	assert_contains(html, "rotate(-90)\">v&#39;&quot;&lt;i&gt;</text>");
	assert_contains(html, ">t&lt;b&gt;&amp;&#39;q&quot;</text></g>");
	r = LIVE("plots", "diff", "t<b>&'q\"", "--json");
	assert_contains(r.out, "\"x\": \"a<script>\"");
	assert_contains(r.out, "{\"a<script>\": \"</text><script>alert(1)</script>\", \"b\": \"x\\\"&y\", "
			       "\"rev\": \"t<b>&'q\\\"\"}");
}

/* A long history: each line at most two points a bucket and the last value; the page stays small. */
static void plots_long_history_is_downsampled(void **state)
{
	(void)state;
	hand_project("    - long.tsv:\n        cache: false\n");
	FILE *f = fopen("long.tsv", "w");
	assert_non_null(f);
	fprintf(f, "step\tloss\n");
	for (int i = 0; i < 200000; i++)
		fprintf(f, "%d\t%.6f\n", i, 1.0 / (i + 1) + (i % 7) * 0.001);
	assert_int_equal(fclose(f), 0);
	sh("git add -A && git commit -qm long && sed -i 's/^199999\\t.*/199999\\t0.5/' long.tsv");
	result r = LIVE("plots", "diff", "HEAD");
	assert_int_equal(r.rc, 0);
	char *html = read_text("plots.html");
	struct stat st;
	assert_int_equal(stat("plots.html", &st), 0);
	print_message("plots.html: %lld bytes for 2 x 200000 values\n", (long long)st.st_size);
	assert_true(st.st_size < 400 * 1024);
	char *fig = figure(html, "long.tsv");
	assert_int_equal(count_substr(fig, "<g class=\"series "), 2);
	assert_true(count_substr(series(fig, 0), "<circle") <= 2 * 256 + 1);
	assert_true(count_substr(series(fig, 1), "<circle") <= 2 * 256 + 1);
	assert_contains(fig, "200000 values, lowest and highest of every 1024");
	assert_contains(series(fig, 1), "<title>workspace, step 199999: 0.5 (");
	assert_contains(series(fig, 0), "<title>HEAD, step 199999: 0.002005 (");
}

/* CSV with x and y from dvc.yaml, drawn by the scatter template: points, no line; values stay strings in --json. */
static void plots_scatter_of_csv_fields(void **state)
{
	(void)state;
	hand_project("    - roc.csv:\n        cache: false\n        template: scatter\n        x: fpr\n"
		     "        y: tpr\n");
	tu_write_file("roc.csv", "fpr,tpr,threshold\n0,0,1\n0.25,0.5,0.75\n\"0.5\",0.875,0.5\n1,1,0\n");
	result r = LIVE("plots", "show");
	assert_int_equal(r.rc, 0);
	char *fig = figure(read_text("plots.html"), "roc.csv");
	assert_contains(fig, "class=\"plot scatter\"");
	assert_contains(fig, "class=\"chart scatter\"");
	assert_int_equal(count_substr(fig, "<polyline"), 0);
	assert_int_equal(count_substr(fig, "<circle"), 4);
	assert_contains(fig, "<title>fpr 0.25: 0.5</title>");
	assert_contains(fig, ">fpr</text>");
	r = LIVE("plots", "show", "--json");
	assert_contains(r.out, "\"template\": \"scatter\",\n    \"x\": \"fpr\",\n    \"y\": \"tpr\"");
	assert_contains(r.out, "{\"fpr\": \"0.5\", \"tpr\": \"0.875\", \"threshold\": \"0.5\", \"rev\": \"workspace\"}");
	/* -t, -x, -y override dvc.yaml */
	r = LIVE("plots", "show", "--json", "-t", "linear", "-x", "threshold", "-y", "fpr");
	assert_contains(r.out, "\"template\": \"linear\",\n    \"x\": \"threshold\",\n    \"y\": \"fpr\"");
	/* no x: the index as "step"; y: the last field */
	tu_write_file("dvc.yaml", "stages:\n  make:\n    cmd: 'true'\n    plots:\n    - roc.csv\n");
	r = LIVE("plots", "show", "--json");
	assert_contains(r.out, "\"x\": \"step\",\n    \"y\": \"threshold\"");
	assert_contains(r.out, "{\"fpr\": \"0.25\", \"tpr\": \"0.5\", \"threshold\": \"0.75\", \"step\": 1, "
			       "\"rev\": \"workspace\"}");
}

/* An uncached plots folder at a commit: its files are blobs of the commit's tree. */
static void plots_folder_at_a_commit(void **state)
{
	(void)state;
	hand_project("    - curves:\n        cache: false\n");
	sh("mkdir -p curves/val && printf 'step,acc\\n0,0.5\\n1,0.6\\n' > curves/train.csv && "
	   "printf 'step\\tacc\\n0\\t0.4\\n' > curves/val/acc.tsv && printf 'x' > curves/notes.txt && "
	   "git add -A && git commit -qm curves && printf 'step,acc\\n0,0.5\\n1,0.7\\n2,0.8\\n' > curves/train.csv");
	result r = LIVE("plots", "diff", "HEAD", "--json");
	assert_int_equal(r.rc, 0);
	assert_contains(r.out, "{\"step\": \"1\", \"acc\": \"0.6\", \"rev\": \"HEAD\"}");
	assert_contains(r.out, "{\"step\": \"2\", \"acc\": \"0.8\", \"rev\": \"workspace\"}");
	assert_contains(r.out, "\"curves/val/acc.tsv\"");
	assert_not_contains_ci(r.out, "notes.txt");
	assert_string_equal(revs_of(r.out), "HEAD workspace");
}

/* A cached plot file (--plots) at a checkpoint: the cache object dvc.lock names. */
static void plots_cached_file_comes_from_the_cache(void **state)
{
	(void)state;
	make_project(4, 1);
	exp_run();
	char *a = ckpt_with_step(1), *b = ckpt_with_step(3);
	result r = LIVE("plots", "diff", a, b, "--json");
	assert_int_equal(r.rc, 0);
	assert_contains(r.out, fmt("{\"actual\": 1, \"predicted\": 2, \"rev\": \"%s\"}", a));
	assert_contains(r.out, fmt("{\"actual\": 3, \"predicted\": 4, \"rev\": \"%s\"}", b));
	assert_contains(r.out, "\"template\": \"confusion\",\n    \"x\": \"actual\",\n    \"y\": \"predicted\"");
	/* a missing cache object is a warning, not an error */
	char *md5 = sh("git show %s:dvc.lock | grep -A1 'path: predictions.json' | sed -n 's/.*md5: //p'", a);
	sh("chmod u+w .dvc/cache/%.2s && rm -f .dvc/cache/%.2s/%s", md5, md5, md5 + 2);
	r = LIVE("plots", "diff", a, b, "--json");
	assert_int_equal(r.rc, 0);
	assert_contains(r.err, fmt("WARNING: 'predictions.json' at '%s': cache object %s is missing", a, md5));
	assert_not_contains_ci(r.out, fmt("\"predicted\": 2, \"rev\": \"%s\"}", a));
}

int main(void)
{
	if (ct_begin("test_cli_plots", LIVE_BIN, TINY_TRAINER, (const char *)NULL))
		return 1;

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ct_setup, ct_teardown)
		T(plots_diff_overlays_two_checkpoints),
		T(plots_diff_json_is_golden),
		T(plots_diff_picks_revisions_as_dvc),
		T(plots_show_writes_where_asked),
		T(plots_nothing_to_plot_and_unknown_revision),
		T(plots_escape_untrusted_text),
		T(plots_long_history_is_downsampled),
		T(plots_scatter_of_csv_fields),
		T(plots_folder_at_a_commit),
		T(plots_cached_file_comes_from_the_cache),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	return ct_end(rc ? 1 : 0);
}
