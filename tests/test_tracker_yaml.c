/*
 * dvc.yaml and dvc.lock: parsing into the tracker's structs, writing them
 * byte for byte as DVC 2.8 (ruamel.yaml) does, exact errors, params values.
 *
 * The golden files in data/tracker/yaml/ were checked against ruamel.yaml
 * 0.17 with DVC 2.8's dumper settings (YAML(), default_flow_style=False).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tracker.h"

#define DATA LIVE_TEST_DATA "/tracker/yaml/"

static int setup(void **state)
{
	return tu_enter_tmpdir(state);
}

static int teardown(void **state)
{
	return tu_leave_tmpdir(state);
}

static void assert_err(int rc, int code, const char *msg)
{
	assert_int_equal(rc, code);
	assert_string_equal(live_errmsg(), msg);
}

static void assert_file(const char *path, const char *expected)
{
	char *text = tu_read_file(path);

	assert_non_null(text);
	assert_string_equal(text, expected);
	free(text);
}

static void copy_file(const char *from, const char *to)
{
	char *text = tu_read_file(from);

	assert_non_null(text);
	tu_write_file(to, text);
	free(text);
}

/* ---- dvc.yaml: the tutorial ------------------------------------------------- */

static const tr_out *find_out(const tr_stage *s, const char *path)
{
	for (size_t k = 0; k < s->nouts; k++)
		if (!strcmp(s->outs[k].path, path))
			return &s->outs[k];
	fail_msg("no out '%s'", path);
	return NULL;
}

static void test_tutorial_dvcyaml_parses_into_stages(void **state)
{
	(void)state;
	tr_pipeline p;
	const tr_stage *d, *t;
	const tr_out *o;

	assert_int_equal(tr_dvcyaml_load(DATA "tutorial.dvc.yaml", &p), 0);
	assert_int_equal(p.n, 2);
	d = &p.stages[0];
	t = &p.stages[1];

	assert_string_equal(d->name, "download");
	assert_string_equal(d->cmd, "python download.py");
	assert_null(d->wdir);
	assert_int_equal(d->ndeps, 1);
	assert_string_equal(d->deps[0], "download.py");
	assert_int_equal(d->nparams, 0);
	assert_int_equal(d->nouts, 1);
	assert_string_equal(d->outs[0].path, "data/MNIST");
	assert_int_equal(d->outs[0].kind, TR_OUT);
	assert_int_equal(d->outs[0].cache, 1);
	assert_int_equal(d->outs[0].checkpoint, 0);
	assert_int_equal(d->always_changed, 0);

	assert_string_equal(t->name, "train");
	assert_string_equal(t->cmd, "python train.py");
	assert_int_equal(t->ndeps, 2);
	assert_string_equal(t->deps[0], "data/MNIST");
	assert_string_equal(t->deps[1], "train.py");
	/* file order, as written in the tutorial */
	assert_int_equal(t->nparams, 3);
	assert_string_equal(t->params[0].key, "seed");
	assert_string_equal(t->params[1].key, "lr");
	assert_string_equal(t->params[2].key, "weight_decay");
	for (size_t k = 0; k < 3; k++)
		assert_string_equal(t->params[k].file, "params.yaml");
	/* outs, plots and live, in file order */
	assert_int_equal(t->nouts, 3);
	assert_string_equal(t->outs[0].path, "model.pt");
	assert_string_equal(t->outs[1].path, "predictions.json");
	assert_string_equal(t->outs[2].path, "dvclive");

	o = find_out(t, "model.pt");
	assert_int_equal(o->kind, TR_OUT);
	assert_int_equal(o->checkpoint, 1);
	assert_int_equal(o->cache, 1);
	assert_int_equal(o->persist, 0);
	assert_null(o->template_);

	o = find_out(t, "predictions.json");
	assert_int_equal(o->kind, TR_PLOT);
	assert_int_equal(o->cache, 0);
	assert_int_equal(o->checkpoint, 0);
	assert_string_equal(o->template_, "confusion");
	assert_string_equal(o->x, "actual");
	assert_string_equal(o->y, "predicted");

	o = find_out(t, "dvclive");
	assert_int_equal(o->kind, TR_LIVE);
	assert_int_equal(o->cache, 1);
	assert_int_equal(o->summary, 1);
	assert_int_equal(o->html, 1);
	tr_pipeline_free(&p);
}

/* The tutorial indents dashes and lists params as typed; DVC writes the reference form. */
static void test_tutorial_dvcyaml_written_back_in_dvc_form(void **state)
{
	(void)state;
	tr_pipeline p;
	char *expected = tu_read_file(DATA "tutorial.expected.yaml");

	assert_non_null(expected);
	assert_int_equal(tr_dvcyaml_load(DATA "tutorial.dvc.yaml", &p), 0);
	assert_int_equal(tr_dvcyaml_write("dvc.yaml", &p), 0);
	tr_pipeline_free(&p);
	assert_file("dvc.yaml", expected);

	/* and what was written reads back to the same bytes */
	assert_int_equal(tr_dvcyaml_load("dvc.yaml", &p), 0);
	assert_int_equal(tr_dvcyaml_write("again.yaml", &p), 0);
	tr_pipeline_free(&p);
	assert_file("again.yaml", expected);
	free(expected);
}

static void test_tutorial_train_stage_matches_reference(void **state)
{
	(void)state;
	tr_pipeline p;
	char *text;

	assert_int_equal(tr_dvcyaml_load(DATA "tutorial.dvc.yaml", &p), 0);
	/* only the train stage, as reference 5 shows it */
	tr_stage keep = p.stages[1];
	p.stages[1] = p.stages[0];
	p.stages[0] = keep;
	p.n = 1;
	assert_int_equal(tr_dvcyaml_write("dvc.yaml", &p), 0);
	p.n = 2;
	tr_pipeline_free(&p);
	text = tu_read_file("dvc.yaml");
	assert_string_equal(text, "stages:\n"
	                          "  train:\n"
	                          "    cmd: python train.py\n"
	                          "    deps:\n"
	                          "    - data/MNIST\n"
	                          "    - train.py\n"
	                          "    params:\n"
	                          "    - lr\n"
	                          "    - seed\n"
	                          "    - weight_decay\n"
	                          "    outs:\n"
	                          "    - model.pt:\n"
	                          "        checkpoint: true\n"
	                          "    plots:\n"
	                          "    - predictions.json:\n"
	                          "        cache: false\n"
	                          "        template: confusion\n"
	                          "        x: actual\n"
	                          "        y: predicted\n"
	                          "    live:\n"
	                          "      dvclive:\n"
	                          "        summary: true\n"
	                          "        html: true\n");
	free(text);
}

/* ---- dvc.yaml: a pipeline built in code, as `live stage add` does ----------- */

static tr_out out(const char *path, int kind)
{
	tr_out o = {.path = (char *)path, .kind = kind, .cache = 1, .summary = 1, .html = 1};
	return o;
}

static void test_stage_add_pipeline_written_exactly(void **state)
{
	(void)state;
	char *download_deps[] = {"download.py"};
	tr_out download_outs[] = {out("data/MNIST", TR_OUT)};
	char *train_deps[] = {"train.py", "data/MNIST"};
	tr_param train_params[] = {
	        {"params.yaml", "seed"}, {"params.yaml", "lr"}, {"params.yaml", "weight_decay"}};
	/* flag order as the command line gives them: live, plots, checkpoints */
	tr_out train_outs[] = {out("dvclive", TR_LIVE), out("predictions.json", TR_PLOT),
	                       out("model.pt", TR_OUT)};
	tr_stage stages[2] = {
	        {.name = "download",
	         .cmd = "python download.py",
	         .deps = download_deps,
	         .ndeps = 1,
	         .outs = download_outs,
	         .nouts = 1},
	        {.name = "train",
	         .cmd = "python train.py",
	         .deps = train_deps,
	         .ndeps = 2,
	         .params = train_params,
	         .nparams = 3,
	         .outs = train_outs,
	         .nouts = 3},
	};
	tr_pipeline p = {stages, 2};

	train_outs[1].cache = 0;
	train_outs[2].checkpoint = 1;
	assert_int_equal(tr_dvcyaml_write("dvc.yaml", &p), 0);
	assert_file("dvc.yaml", "stages:\n"
	                        "  download:\n"
	                        "    cmd: python download.py\n"
	                        "    deps:\n"
	                        "    - download.py\n"
	                        "    outs:\n"
	                        "    - data/MNIST\n"
	                        "  train:\n"
	                        "    cmd: python train.py\n"
	                        "    deps:\n"
	                        "    - data/MNIST\n"
	                        "    - train.py\n"
	                        "    params:\n"
	                        "    - lr\n"
	                        "    - seed\n"
	                        "    - weight_decay\n"
	                        "    outs:\n"
	                        "    - model.pt:\n"
	                        "        checkpoint: true\n"
	                        "    plots:\n"
	                        "    - predictions.json:\n"
	                        "        cache: false\n"
	                        "    live:\n"
	                        "      dvclive:\n"
	                        "        summary: true\n"
	                        "        html: true\n");
}

/* Every key and flag the writer knows, in DVC's order, quoted where YAML needs it. */
static void test_every_stage_key_in_serializer_order(void **state)
{
	(void)state;
	char *deps[] = {"z.py", "2021-01-01", "x: y", "it's"};
	tr_param params[] = {{"other.yaml", "b"},   {NULL, "zz"},         {"other.yaml", "a"},
	                     {"params.yaml", "aa"}, {"custom.json", "k"}, {NULL, "zz"}};
	tr_out outs[] = {out("out/b", TR_OUT), out("1.0", TR_METRIC),          out("out/a", TR_OUT),
	                 out("logs", TR_LIVE), out("metrics.json", TR_METRIC), out("p.csv", TR_PLOT)};
	tr_stage s = {.name = "prep-data_1",
	              .cmd = "python prep.py --in \"a b\" && echo done: yes",
	              .wdir = "sub dir",
	              .deps = deps,
	              .ndeps = 4,
	              .params = params,
	              .nparams = 6,
	              .outs = outs,
	              .nouts = 6,
	              .always_changed = 1};
	tr_pipeline p = {&s, 1};

	outs[2].cache = 0;
	outs[2].persist = 1;
	outs[3].cache = 0;
	outs[3].summary = 0;
	outs[4].cache = 0;
	outs[5].x = "step";
	assert_int_equal(tr_dvcyaml_write("dvc.yaml", &p), 0);
	assert_file("dvc.yaml", "stages:\n"
	                        "  prep-data_1:\n"
	                        "    cmd: 'python prep.py --in \"a b\" && echo done: yes'\n"
	                        "    wdir: sub dir\n"
	                        "    deps:\n"
	                        "    - '2021-01-01'\n"
	                        "    - it's\n"
	                        "    - 'x: y'\n"
	                        "    - z.py\n"
	                        "    params:\n"
	                        "    - aa\n"
	                        "    - zz\n"
	                        "    - custom.json:\n"
	                        "      - k\n"
	                        "    - other.yaml:\n"
	                        "      - a\n"
	                        "      - b\n"
	                        "    outs:\n"
	                        "    - out/a:\n"
	                        "        cache: false\n"
	                        "        persist: true\n"
	                        "    - out/b\n"
	                        "    metrics:\n"
	                        "    - '1.0'\n"
	                        "    - metrics.json:\n"
	                        "        cache: false\n"
	                        "    plots:\n"
	                        "    - p.csv:\n"
	                        "        x: step\n"
	                        "    live:\n"
	                        "      logs:\n"
	                        "        cache: false\n"
	                        "        summary: false\n"
	                        "        html: true\n"
	                        "    always_changed: true\n");
}

/* A command past column 80 folds the way ruamel folds it; it reads back whole. */
static void test_long_command_folded_and_read_back(void **state)
{
	(void)state;
	const char *cmd = "python train.py --some-very-long-option value --another-long-option=12345 "
	                  "--yet-more stuff and more";
	tr_stage s = {.name = "train", .cmd = (char *)cmd};
	tr_pipeline p = {&s, 1}, back;

	assert_int_equal(tr_dvcyaml_write("dvc.yaml", &p), 0);
	assert_file("dvc.yaml",
	            "stages:\n"
	            "  train:\n"
	            "    cmd: python train.py --some-very-long-option value --another-long-option=12345\n"
	            "      --yet-more stuff and more\n");
	assert_int_equal(tr_dvcyaml_load("dvc.yaml", &back), 0);
	assert_string_equal(back.stages[0].cmd, cmd);
	tr_pipeline_free(&back);
}

static void test_empty_pipeline_written_as_empty_mapping(void **state)
{
	(void)state;
	tr_pipeline p = {NULL, 0}, back;

	assert_int_equal(tr_dvcyaml_write("dvc.yaml", &p), 0);
	assert_file("dvc.yaml", "stages: {}\n");
	assert_int_equal(tr_dvcyaml_load("dvc.yaml", &back), 0);
	assert_int_equal(back.n, 0);
	tr_pipeline_free(&back);
}

static void test_dvcyaml_replaced_atomically(void **state)
{
	(void)state;
	tr_stage s = {.name = "train", .cmd = "python train.py"};
	tr_pipeline p = {&s, 1};
	DIR *dir;
	struct dirent *e;
	int files = 0;

	mkdir("repo", 0755);
	tu_write_file("repo/dvc.yaml", "stages: {}\n");
	assert_int_equal(tr_dvcyaml_write("repo/dvc.yaml", &p), 0);
	assert_file("repo/dvc.yaml", "stages:\n  train:\n    cmd: python train.py\n");
	/* nothing left beside it */
	dir = opendir("repo");
	assert_non_null(dir);
	while ((e = readdir(dir)))
		files += e->d_name[0] != '.';
	closedir(dir);
	assert_int_equal(files, 1);

	assert_int_equal(tr_dvcyaml_write("missing/dvc.yaml", &p), LIVE_EIO);
	assert_non_null(strstr(live_errmsg(), "missing/dvc.yaml: create"));
	assert_false(tu_exists("missing"));
}

static void test_invalid_pipeline_not_written(void **state)
{
	(void)state;
	tr_out lives[] = {out("a", TR_LIVE), out("b", TR_LIVE)};
	tr_stage s = {.name = "bad/name", .cmd = "x"};
	tr_stage two[2] = {{.name = "a", .cmd = "x"}, {.name = "a", .cmd = "y"}};
	tr_pipeline p = {&s, 1}, q = {two, 2};

	assert_err(tr_dvcyaml_write("dvc.yaml", &p), LIVE_EINVALID,
	           "dvc.yaml: invalid stage name 'bad/name'");
	s.name = "train";
	s.cmd = NULL;
	assert_err(tr_dvcyaml_write("dvc.yaml", &p), LIVE_EINVALID, "dvc.yaml: stage 'train' has no command");
	s.cmd = "";
	assert_err(tr_dvcyaml_write("dvc.yaml", &p), LIVE_EINVALID, "dvc.yaml: stage 'train' has no command");
	s.cmd = " \t\n";
	assert_err(tr_dvcyaml_write("dvc.yaml", &p), LIVE_EINVALID, "dvc.yaml: stage 'train' has no command");
	s.cmd = "echo \xc2\x85";
	assert_err(tr_dvcyaml_write("dvc.yaml", &p), LIVE_EINVALID,
	           "dvc.yaml: stage 'train': the command holds a Unicode line break (U+0085, U+2028 or U+2029), which "
	           "dvc.yaml cannot keep");
	s.cmd = "x";
	s.outs = lives;
	s.nouts = 2;
	assert_err(tr_dvcyaml_write("dvc.yaml", &p), LIVE_EINVALID,
	           "dvc.yaml: stage 'train' has more than one live output");
	assert_err(tr_dvcyaml_write("dvc.yaml", &q), LIVE_EINVALID, "dvc.yaml: stage 'a' given twice");
	assert_false(tu_exists("dvc.yaml"));
}

/* What tr_stage has no field for is read and checked, then dropped. */
static void test_dvcyaml_accepts_keys_it_drops(void **state)
{
	(void)state;
	tr_pipeline p;

	tu_write_file("dvc.yaml", "stages:\n"
	                          "  train:\n"
	                          "    desc: trains\n"
	                          "    cmd:\n"
	                          "    - python prep.py\n"
	                          "    - python train.py\n"
	                          "    wdir: .\n"
	                          "    frozen: false\n"
	                          "    meta: {owner: me, tags: [a, b]}\n"
	                          "    params:\n"
	                          "    - custom.yaml: [b, a]\n"
	                          "    - lr\n"
	                          "    metrics:\n"
	                          "    - m.json:\n"
	                          "        cache: False\n"
	                          "        desc: metrics\n"
	                          "        remote: store\n"
	                          "    plots:\n"
	                          "    - p.csv:\n"
	                          "        x_label: X\n"
	                          "        y_label: Y\n"
	                          "        title: T\n"
	                          "        header: true\n"
	                          "    live: logs\n"
	                          "    always_changed: TRUE\n");
	assert_int_equal(tr_dvcyaml_load("dvc.yaml", &p), 0);
	assert_string_equal(p.stages[0].cmd, "python prep.py && python train.py");
	assert_string_equal(p.stages[0].wdir, ".");
	assert_int_equal(p.stages[0].nparams, 3);
	assert_string_equal(p.stages[0].params[0].file, "custom.yaml");
	assert_string_equal(p.stages[0].params[0].key, "b");
	assert_string_equal(p.stages[0].params[2].file, "params.yaml");
	assert_string_equal(p.stages[0].params[2].key, "lr");
	assert_int_equal(p.stages[0].nouts, 3);
	assert_int_equal(p.stages[0].outs[0].kind, TR_METRIC);
	assert_int_equal(p.stages[0].outs[0].cache, 0);
	assert_int_equal(p.stages[0].outs[1].kind, TR_PLOT);
	assert_int_equal(p.stages[0].outs[2].kind, TR_LIVE);
	assert_string_equal(p.stages[0].outs[2].path, "logs");
	assert_int_equal(p.stages[0].always_changed, 1);
	assert_int_equal(tr_dvcyaml_write("dvc.yaml", &p), 0);
	tr_pipeline_free(&p);
	assert_file("dvc.yaml", "stages:\n"
	                        "  train:\n"
	                        "    cmd: python prep.py && python train.py\n"
	                        "    params:\n"
	                        "    - lr\n"
	                        "    - custom.yaml:\n"
	                        "      - a\n"
	                        "      - b\n"
	                        "    metrics:\n"
	                        "    - m.json:\n"
	                        "        cache: false\n"
	                        "    plots:\n"
	                        "    - p.csv\n"
	                        "    live:\n"
	                        "      logs:\n"
	                        "        summary: true\n"
	                        "        html: true\n"
	                        "    always_changed: true\n");
}

/* ---- dvc.yaml: malformed ------------------------------------------------------ */

struct bad_case {
	const char *text;
	int code;
	const char *msg;
};

static const struct bad_case bad_dvcyaml[] = {
        {"stages:\n  train:\n    cmd: python train.py\n    deps:\n    - a\n    outs: []\n    foo: 1\n",
         LIVE_EPARSE, "dvc.yaml:7:5: unknown key 'foo' in stage 'train'"},
        {"stages:\n  train:\n    cmd: {a: 1}\n", LIVE_EPARSE,
         "dvc.yaml:3:10: 'cmd' must be a string or a list of strings"},
        {"stages:\n  train:\n    cmd: [python, [x]]\n", LIVE_EPARSE,
         "dvc.yaml:3:19: 'cmd' must be a string or a list of strings"},
        {"stages:\n  train:\n    cmd: \"\"\n", LIVE_EPARSE, "dvc.yaml:3:10: stage 'train': 'cmd' is empty"},
        {"stages:\n  train:\n    cmd: ''\n", LIVE_EPARSE, "dvc.yaml:3:10: stage 'train': 'cmd' is empty"},
        {"stages:\n  train:\n    cmd: \" \\t\\n\"\n", LIVE_EPARSE,
         "dvc.yaml:3:10: stage 'train': 'cmd' is empty"},
        {"stages:\n  train:\n    cmd: []\n", LIVE_EPARSE,
         "dvc.yaml:3:10: stage 'train': 'cmd' is an empty list"},
        {"stages:\n  train:\n    cmd:\n    - echo a\n    - ''\n", LIVE_EPARSE,
         "dvc.yaml:5:7: stage 'train': item 2 of 'cmd' is empty"},
        {"stages:\n  train:\n    cmd: [' ', echo a]\n", LIVE_EPARSE,
         "dvc.yaml:3:11: stage 'train': item 1 of 'cmd' is empty"},
        {"stages:\n  train:\n    cmd: \"\\N\"\n", LIVE_EPARSE,
         "dvc.yaml:3:10: stage 'train': 'cmd' holds a Unicode line break (U+0085, U+2028 or U+2029), which "
         "dvc.yaml cannot keep"},
        {"stages:\n  train:\n    cmd: [echo, \"a\\Lb\"]\n", LIVE_EPARSE,
         "dvc.yaml:3:17: stage 'train': item 2 of 'cmd' holds a Unicode line break (U+0085, U+2028 or U+2029), "
         "which dvc.yaml cannot keep"},
        {"stages:\n  ok:\n    cmd: x\n  train:\n    cmd: \"\"\n", LIVE_EPARSE,
         "dvc.yaml:5:10: stage 'train': 'cmd' is empty"},
        {"stages:\n  train:\n    cmd: a\n  train:\n    cmd: b\n", LIVE_EPARSE,
         "dvc.yaml:4:3: duplicate key 'train' (first at line 2)"},
        {"stages:\n  a/b:\n    cmd: x\n", LIVE_EPARSE,
         "dvc.yaml:2:3: invalid stage name 'a/b' (no punctuation other than '-' and '_')"},
        {"stages:\n  train@1:\n    cmd: x\n", LIVE_EPARSE,
         "dvc.yaml:2:3: invalid stage name 'train@1' (no punctuation other than '-' and '_')"},
        {"stages:\n  train:\n    deps: [a]\n", LIVE_EPARSE, "dvc.yaml:2:3: stage 'train' has no 'cmd'"},
        {"stages:\n  train:\n    cmd: x\n    deps: a\n", LIVE_EPARSE,
         "dvc.yaml:4:11: 'deps' must be a list of paths"},
        {"stages:\n  train:\n    cmd: x\n    deps:\n    - {a: 1}\n", LIVE_EPARSE,
         "dvc.yaml:5:7: 'deps' must be a list of paths"},
        {"stages:\n  train:\n    cmd: x\n    outs:\n    - model.pt:\n        checkpoint: yes\n", LIVE_EPARSE,
         "dvc.yaml:6:21: 'checkpoint' must be true or false"},
        {"stages:\n  train:\n    cmd: x\n    outs:\n    - model.pt:\n        template: confusion\n",
         LIVE_EPARSE, "dvc.yaml:6:9: unknown key 'template' for 'model.pt' in stage 'train'"},
        {"stages:\n  train:\n    cmd: x\n    outs:\n    - {a: 1, b: 2}\n", LIVE_EPARSE,
         "dvc.yaml:5:7: an entry of 'outs' must be a path or {path: {flags}}"},
        {"stages:\n  train:\n    cmd: x\n    live: [a, b]\n", LIVE_EPARSE,
         "dvc.yaml:4:11: 'live' must be a path or {path: {summary, html}}"},
        {"stages:\n  train:\n    cmd: x\n    live:\n      logs:\n        summary: 1\n", LIVE_EPARSE,
         "dvc.yaml:6:18: 'summary' must be true or false"},
        {"stages:\n  train:\n    cmd: x\n    params:\n    - custom.yaml:\n", LIVE_EPARSE,
         "dvc.yaml:5:7: 'custom.yaml' lists no keys (tracking a whole params file is not supported)"},
        {"stages:\n  train:\n    cmd: x\n    params: lr\n", LIVE_EPARSE,
         "dvc.yaml:4:13: 'params' must be a list of keys and {file: [keys]}"},
        {"stages:\n  train:\n    cmd: x\n    always_changed: 'true'\n", LIVE_EPARSE,
         "dvc.yaml:4:21: 'always_changed' must be true or false"},
        {"stages:\n  train:\n    cmd: python train.py --lr ${lr}\n", LIVE_EPARSE,
         "dvc.yaml:3:10: '${...}' templating is not supported"},
        {"vars:\n- params.yaml\nstages:\n  train:\n    cmd: x\n", LIVE_EPARSE,
         "dvc.yaml:1:1: 'vars' is not supported (no templating)"},
        {"stages:\n  train:\n    foreach: [1, 2]\n    do:\n      cmd: x\n", LIVE_EPARSE,
         "dvc.yaml:3:5: 'foreach' in stage 'train': templating is not supported"},
        {"stages:\n  train:\n    cmd: x\nplots:\n- p.csv\n", LIVE_EPARSE,
         "dvc.yaml:4:1: top-level 'plots' is not supported (DVC 2.8 has them in stages only)"},
        {"train:\n  cmd: x\n", LIVE_EPARSE, "dvc.yaml:1:1: unknown key 'train' at the top level"},
        {"", LIVE_EPARSE, "dvc.yaml: no 'stages'"},
        {"stages: [train]\n", LIVE_EPARSE, "dvc.yaml:1:9: 'stages' must be a mapping of stage names"},
        {"stages:\n  train: python train.py\n", LIVE_EPARSE,
         "dvc.yaml:2:10: stage 'train' must be a mapping"},
        {"stages:\n  train:\n    cmd: x\n    deps:\n    - a\n   - b\n", LIVE_EPARSE,
         "dvc.yaml:6:4: did not find expected key (while parsing a block mapping)"},
};

static void test_malformed_dvcyaml_exact_errors(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(bad_dvcyaml) / sizeof(bad_dvcyaml[0]); k++) {
		tr_pipeline p = {(tr_stage *)&p, 99};

		tu_write_file("dvc.yaml", bad_dvcyaml[k].text);
		assert_err(tr_dvcyaml_load("dvc.yaml", &p), bad_dvcyaml[k].code, bad_dvcyaml[k].msg);
		/* nothing to free after a failure */
		assert_null(p.stages);
		assert_int_equal(p.n, 0);
	}
}

static void test_missing_dvcyaml_not_found(void **state)
{
	(void)state;
	tr_pipeline p;

	assert_err(tr_dvcyaml_load("dvc.yaml", &p), LIVE_ENOTFOUND, "dvc.yaml: No such file or directory");
}

/* ---- params values ----------------------------------------------------------- */

static void free_params(tr_lock_params *p)
{
	tr_lock_stage s = {.params = p, .nparams = 1};
	tr_lock_params *copy = malloc(sizeof(*copy));

	/* tr_lock_stage_free frees the array; give it one it owns */
	assert_non_null(copy);
	*copy = *p;
	s.params = copy;
	tr_lock_stage_free(&s);
}

static void test_params_read_nested_and_list_values(void **state)
{
	(void)state;
	const char *keys[] = {"train.lr",   "model",      "model.layers", "seed", "train.epochs", "list.1",
	                      "train.note", "train.name", "flat.key",     "none", "model"};
	tr_lock_params p;

	mkdir("root", 0755);
	tu_write_file("root/params.yaml", "seed: 473987\n"
	                                  "train:\n"
	                                  "  lr: 1.0e-4\n"
	                                  "  epochs: +10\n"
	                                  "  note: \"it's: here\"\n"
	                                  "  name: '2.0'\n"
	                                  "model:\n"
	                                  "  layers: [64, 32]\n"
	                                  "  act: {kind: relu, leak: .01}\n"
	                                  "  empty: []\n"
	                                  "list:\n"
	                                  "- a\n"
	                                  "- {b: 1, c: [true, ~]}\n"
	                                  "flat.key: 0x1F\n"
	                                  "none:\n");
	assert_int_equal(tr_params_read("root", "params.yaml", keys, 11, &p), 0);
	assert_string_equal(p.file, "params.yaml");
	assert_int_equal(p.n, 10); /* "model" once */
	/* sorted by key */
	assert_string_equal(p.values[0].key, "flat.key");
	assert_string_equal(p.values[0].yaml, "31");
	assert_string_equal(p.values[1].key, "list.1");
	assert_string_equal(p.values[1].yaml, "\n  b: 1\n  c:\n  - true\n  - ");
	assert_string_equal(p.values[2].key, "model");
	assert_string_equal(p.values[2].yaml, "\n  layers:\n  - 64\n  - 32\n"
	                                      "  act:\n    kind: relu\n    leak: 0.01\n  empty: []");
	assert_string_equal(p.values[3].key, "model.layers");
	assert_string_equal(p.values[3].yaml, "\n- 64\n- 32");
	assert_string_equal(p.values[4].key, "none");
	assert_string_equal(p.values[4].yaml, "");
	assert_string_equal(p.values[5].key, "seed");
	assert_string_equal(p.values[5].yaml, "473987");
	assert_string_equal(p.values[6].key, "train.epochs");
	assert_string_equal(p.values[6].yaml, "10");
	assert_string_equal(p.values[7].key, "train.lr");
	assert_string_equal(p.values[7].yaml, "0.0001");
	assert_string_equal(p.values[8].key, "train.name");
	assert_string_equal(p.values[8].yaml, "'2.0'");
	assert_string_equal(p.values[9].key, "train.note");
	assert_string_equal(p.values[9].yaml, "\"it's: here\"");
	free_params(&p);
}

static void test_params_read_errors(void **state)
{
	(void)state;
	const char *keys[] = {"seed", "lr"};
	tr_lock_params p;

	tu_write_file("params.yaml", "seed: 1\n");
	assert_err(tr_params_read(NULL, "params.yaml", keys, 2, &p), LIVE_ENOTFOUND,
	           "params.yaml: key 'lr' not found");
	assert_null(p.values);
	mkdir("root", 0755);
	assert_err(tr_params_read("root", "params.yaml", keys, 1, &p), LIVE_ENOTFOUND,
	           "params.yaml: No such file or directory");
	tu_write_file("root/params.yaml", "seed: 1\n  lr: 2\n");
	assert_err(tr_params_read("root", "params.yaml", keys, 1, &p), LIVE_EPARSE,
	           "params.yaml:2:5: mapping values are not allowed in this context");
}

/*
 * a0: ten scalars (11 nodes); a<k>: ten aliases of a<k-1>, so a<k> stands for
 * (10^(k+2)-1)/9 nodes: a4 for 111111, a9 for 11111111111.
 */
static void put_alias_levels(FILE *f, const char *indent, int levels)
{
	fprintf(f, "%sa0: &a0 [x, x, x, x, x, x, x, x, x, x]\n", indent);
	for (int k = 1; k < levels; k++)
		fprintf(f, "%sa%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
		        indent, k, k, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1);
}

static size_t count_of(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = strstr(s, what); p; p = strstr(p + strlen(what), what))
		n++;
	return n;
}

/*
 * dvc.yaml: stages that alias one big list would multiply it into every
 * stage copied (quadratic in the file's size); the file is refused first.
 */
static void test_dvcyaml_alias_expansion_refused(void **state)
{
	(void)state;
	tr_pipeline p;
	FILE *f = fopen("dvc.yaml", "w");

	assert_non_null(f);
	fputs("x-big:\n", f);
	put_alias_levels(f, "  ", 7); /* a5 alone stands for 1111111 nodes */
	fputs("stages:\n  train:\n    cmd: ./train\n    deps: *a6\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tr_dvcyaml_load("dvc.yaml", &p), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvc.yaml:7:3: key 'x-big.a5' expands to more than 1000000 values "
					   "(YAML aliases)");

	f = fopen("dvc.yaml", "w");
	assert_non_null(f);
	fputs("x-small:\n", f);
	put_alias_levels(f, "  ", 2);
	fputs("stages:\n  train:\n    cmd: ./train\n    deps: [a, b]\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tr_dvcyaml_load("dvc.yaml", &p), LIVE_EPARSE); /* refused for its unknown key */
	assert_non_null(strstr(live_errmsg(), "x-small"));
}

/* Values are written with their aliases expanded: 10^6 nodes per file at most. */
static void test_params_read_bounds_alias_expansion(void **state)
{
	(void)state;
	const char *keys[] = {"epochs", "fits", "over", "a9", "a4"};
	tr_lock_params p;
	FILE *f = fopen("params.yaml", "w");

	assert_non_null(f);
	fputs("epochs: 3\n", f);
	put_alias_levels(f, "", 10);
	/* nine a4s: 1 + 9 * 111111 = 1000000 nodes, the most allowed; one x more is too many */
	fputs("fits: [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n"
	      "over: [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, x]\n", f);
	assert_int_equal(fclose(f), 0);

	/* aliases nobody tracks cost nothing */
	assert_int_equal(tr_params_read(NULL, "params.yaml", keys, 1, &p), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.values[0].yaml, "3");
	free_params(&p);
	assert_int_equal(tr_params_read(NULL, "params.yaml", keys + 1, 1, &p), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(count_of(p.values[0].yaml, "x"), 900000);
	/* ruamel's compact nested sequences, every level 2 columns deeper */
	assert_int_equal(strncmp(p.values[0].yaml, "\n- - - - - - x\n          - x\n", 29), 0);
	free_params(&p);

	assert_err(tr_params_read(NULL, "params.yaml", keys + 2, 1, &p), LIVE_EINVALID,
	           "params.yaml: key 'over' expands to more than 1000000 values (YAML aliases): refusing");
	assert_null(p.values);
	assert_int_equal(p.n, 0);
	assert_err(tr_params_read(NULL, "params.yaml", keys, 4, &p), LIVE_EINVALID,
	           "params.yaml: key 'a9' expands to more than 1000000 values (YAML aliases): refusing");
	assert_null(p.values);
	/* the budget is the file's: a4 then fits (sorted) is 1111111 nodes */
	const char *two[] = {"fits", "a4"};
	assert_err(tr_params_read(NULL, "params.yaml", two, 2, &p), LIVE_EINVALID,
	           "params.yaml: key 'fits' and the keys before it expand to more than 1000000 values "
	           "(YAML aliases): refusing");
	assert_null(p.values);
}

/* ---- dvc.lock ------------------------------------------------------------------- */

static tr_lock_entry entry(const char *path, const char *md5, long long size, long long nfiles)
{
	tr_lock_entry e = {.path = (char *)path, .h = {.size = size, .nfiles = nfiles}};

	snprintf(e.h.md5, sizeof(e.h.md5), "%s", md5);
	return e;
}

static void test_lock_render_golden(void **state)
{
	(void)state;
	const char *keys[] = {"weight_decay", "seed", "lr"};
	tr_lock_entry ddeps[] = {entry("download.py", "b31dc8b9f1fae1b3ab0f20d3e7ae5c45", 1127, -1)};
	tr_lock_entry douts[] = {entry("data/MNIST", "0aed307494600d178fbdc0d000d6db38.dir", 66544866, 8)};
	/* given out of order: dvc.lock sorts them */
	tr_lock_entry tdeps[] = {entry("train.py", "90f29a92c178927514c7f4d61a984a8a", 4023, -1),
	                         entry("data/MNIST", "0aed307494600d178fbdc0d000d6db38.dir", 66544866, 8)};
	tr_lock_entry touts[] = {entry("predictions.json", "6d4f2f3a3b1e2c9d8e7f6a5b4c3d2e1f", 130018, -1),
	                         entry("model.pt", "", -1, -1), /* the checkpoint not saved yet */
	                         entry("dvclive", "5b8f0a1e1a3e1c7e4c0bd0e3a0f3c9c2.dir", 268, 2)};
	tr_lock_params params;
	tr_lock_stage download = {.name = "download",
	                          .cmd = "python download.py",
	                          .deps = ddeps,
	                          .ndeps = 1,
	                          .outs = douts,
	                          .nouts = 1};
	tr_lock_stage train = {.name = "train",
	                       .cmd = "python train.py",
	                       .deps = tdeps,
	                       .ndeps = 2,
	                       .params = &params,
	                       .nparams = 1,
	                       .outs = touts,
	                       .nouts = 3};
	tr_lock lock = {0};
	live__buf b = {0};
	char *expected = tu_read_file(DATA "golden.lock");

	tu_write_file("params.yaml", "seed: 473987\nlr: 1.0e-4\nweight_decay: 1e-5\n");
	assert_int_equal(tr_params_read(".", "params.yaml", keys, 3, &params), 0);
	assert_int_equal(tr_lock_set_stage(&lock, &download), 0);
	assert_int_equal(tr_lock_set_stage(&lock, &train), 0);
	free_params(&params);
	assert_int_equal(tr_lock_render(&lock, &b), 0);
	assert_non_null(expected);
	assert_int_equal(live__buf_append(&b, "", 1), 0);
	assert_string_equal(b.data, expected);
	free(expected);
	live__buf_free(&b);
	tr_lock_free(&lock);
}

static void assert_round_trip(const char *fixture)
{
	char *expected = tu_read_file(fixture);
	live__buf b = {0};
	tr_lock lock;

	assert_non_null(expected);
	assert_int_equal(tr_lock_load(fixture, &lock), 0);
	assert_int_equal(tr_lock_render(&lock, &b), 0);
	assert_int_equal(live__buf_append(&b, "", 1), 0);
	assert_string_equal(b.data, expected);
	live__buf_free(&b);
	tr_lock_free(&lock);
	free(expected);
}

static void test_lock_load_render_round_trip(void **state)
{
	(void)state;
	assert_round_trip(DATA "golden.lock");
	assert_round_trip(DATA "nested.lock");
}

static void test_lock_load_fields(void **state)
{
	(void)state;
	tr_lock lock;
	const tr_lock_stage *t;

	assert_int_equal(tr_lock_load(DATA "golden.lock", &lock), 0);
	assert_int_equal(lock.n, 2);
	assert_string_equal(lock.stages[0].name, "download");
	t = tr_lock_find(&lock, "train");
	assert_ptr_equal(t, &lock.stages[1]);
	assert_null(tr_lock_find(&lock, "nope"));
	assert_string_equal(t->cmd, "python train.py");
	assert_int_equal(t->ndeps, 2);
	assert_string_equal(t->deps[0].path, "data/MNIST");
	assert_string_equal(t->deps[0].h.md5, "0aed307494600d178fbdc0d000d6db38.dir");
	assert_int_equal(t->deps[0].h.size, 66544866);
	assert_int_equal(t->deps[0].h.nfiles, 8);
	assert_string_equal(t->deps[1].h.md5, "90f29a92c178927514c7f4d61a984a8a");
	assert_int_equal(t->deps[1].h.nfiles, -1);
	assert_int_equal(t->nparams, 1);
	assert_string_equal(t->params[0].file, "params.yaml");
	assert_int_equal(t->params[0].n, 3);
	assert_string_equal(t->params[0].values[0].key, "lr");
	assert_string_equal(t->params[0].values[0].yaml, "0.0001");
	assert_string_equal(t->params[0].values[2].yaml, "1e-05");
	assert_int_equal(t->nouts, 3);
	assert_string_equal(t->outs[1].path, "model.pt");
	assert_string_equal(t->outs[1].h.md5, "");
	tr_lock_free(&lock);
}

/* Values read from params files render exactly as a DVC-written lock holds them. */
static void test_lock_from_params_matches_dvc(void **state)
{
	(void)state;
	const char *pkeys[] = {"model",      "opt.betas", "opt.name",  "train.empty",
	                       "train.flag", "train.lr",  "train.note"};
	const char *ckeys[] = {"tag", "aug"};
	tr_lock_entry deps[] = {entry("src/train.py", "90f29a92c178927514c7f4d61a984a8a", 4023, -1)};
	tr_lock_entry outs[] = {entry("model.pt", "", -1, -1),
	                        entry("12345678", "12345678901234567890123456789012", 1, -1)};
	tr_lock_params params[2];
	tr_lock_stage s = {.name = "train",
	                   .cmd = "python train.py --epochs 10 --data data/MNIST --out model.pt "
	                          "--log-dir dvclive --seed 473987",
	                   .deps = deps,
	                   .ndeps = 1,
	                   .params = params,
	                   .nparams = 2,
	                   .outs = outs,
	                   .nouts = 2};
	tr_lock lock = {0};
	live__buf b = {0};
	char *expected = tu_read_file(DATA "nested.lock");

	copy_file(DATA "nested.params.yaml", "params.yaml");
	tu_write_file("custom.yaml", "aug: {flip: True, crop: [28, 28]}\ntag: '0123'\n");
	/* custom.yaml first: dvc.lock puts params.yaml first anyway */
	assert_int_equal(tr_params_read(NULL, "custom.yaml", ckeys, 2, &params[0]), 0);
	assert_int_equal(tr_params_read(NULL, "params.yaml", pkeys, 7, &params[1]), 0);
	assert_int_equal(tr_lock_set_stage(&lock, &s), 0);
	free_params(&params[0]);
	free_params(&params[1]);
	assert_int_equal(tr_lock_render(&lock, &b), 0);
	assert_int_equal(live__buf_append(&b, "", 1), 0);
	assert_non_null(expected);
	assert_string_equal(b.data, expected);
	free(expected);
	live__buf_free(&b);
	tr_lock_free(&lock);
}

static void test_lock_v1_migrated_to_schema_2(void **state)
{
	(void)state;
	tr_lock lock;
	live__buf b = {0};

	tu_write_file("dvc.lock", "train:\n"
	                          "  cmd: python train.py\n"
	                          "  deps:\n"
	                          "  - path: train.py\n"
	                          "    md5: 90f29a92c178927514c7f4d61a984a8a\n"
	                          "  params:\n"
	                          "    params.yaml:\n"
	                          "      lr: 0.0001\n"
	                          "  outs:\n"
	                          "  - path: model.pt\n"
	                          "    md5: 3ebf1f0e5e2a0c3b9f54c3d5f4f1f6a1\n");
	assert_int_equal(tr_lock_load("dvc.lock", &lock), 0);
	assert_int_equal(tr_lock_render(&lock, &b), 0);
	assert_int_equal(live__buf_append(&b, "", 1), 0);
	assert_string_equal(b.data, "schema: '2.0'\n"
	                            "stages:\n"
	                            "  train:\n"
	                            "    cmd: python train.py\n"
	                            "    deps:\n"
	                            "    - path: train.py\n"
	                            "      md5: 90f29a92c178927514c7f4d61a984a8a\n"
	                            "    params:\n"
	                            "      params.yaml:\n"
	                            "        lr: 0.0001\n"
	                            "    outs:\n"
	                            "    - path: model.pt\n"
	                            "      md5: 3ebf1f0e5e2a0c3b9f54c3d5f4f1f6a1\n");
	live__buf_free(&b);
	tr_lock_free(&lock);
}

static void test_lock_missing_or_empty_is_empty(void **state)
{
	(void)state;
	tr_lock lock;
	live__buf b = {0};

	assert_int_equal(tr_lock_load("dvc.lock", &lock), 0);
	assert_int_equal(lock.n, 0);
	tu_write_file("dvc.lock", "");
	assert_int_equal(tr_lock_load("dvc.lock", &lock), 0);
	assert_int_equal(lock.n, 0);
	assert_int_equal(tr_lock_render(&lock, &b), 0);
	assert_int_equal(live__buf_append(&b, "", 1), 0);
	assert_string_equal(b.data, "schema: '2.0'\nstages: {}\n");
	live__buf_free(&b);
}

static void test_lock_set_stage_replaces_in_place_or_appends(void **state)
{
	(void)state;
	tr_lock_entry o1[] = {entry("model.pt", "3ebf1f0e5e2a0c3b9f54c3d5f4f1f6a1", 10, -1)};
	tr_lock_stage a = {.name = "a", .cmd = "echo a"}, b = {.name = "b", .cmd = "echo b"};
	tr_lock_stage a2 = {.name = "a", .cmd = "echo a2", .outs = o1, .nouts = 1};
	tr_lock lock = {0};
	live__buf buf = {0};

	assert_int_equal(tr_lock_set_stage(&lock, &a), 0);
	assert_int_equal(tr_lock_set_stage(&lock, &b), 0);
	assert_int_equal(tr_lock_set_stage(&lock, &a2), 0);
	assert_int_equal(lock.n, 2);
	/* a copy: the caller's strings are its own */
	assert_ptr_not_equal(lock.stages[0].cmd, a2.cmd);
	assert_int_equal(tr_lock_render(&lock, &buf), 0);
	assert_int_equal(live__buf_append(&buf, "", 1), 0);
	assert_string_equal(buf.data, "schema: '2.0'\n"
	                              "stages:\n"
	                              "  a:\n"
	                              "    cmd: echo a2\n"
	                              "    outs:\n"
	                              "    - path: model.pt\n"
	                              "      md5: 3ebf1f0e5e2a0c3b9f54c3d5f4f1f6a1\n"
	                              "      size: 10\n"
	                              "  b:\n"
	                              "    cmd: echo b\n");
	live__buf_free(&buf);
	tr_lock_free(&lock);
	tr_lock_free(NULL);
	tr_lock_stage_free(NULL);
}

static const struct bad_case bad_lock[] = {
        {"schema: 2.0\nstages: {}\n", LIVE_EPARSE,
         "dvc.lock:1:9: schema '2.0' expected, got '2.0' (a number, not a string)"},
        {"schema: '3.0'\nstages: {}\n", LIVE_EPARSE,
         "dvc.lock:1:9: schema '2.0' expected, got '3.0' (a quoted string)"},
        {"stages:\n  train:\n    cmd: x\n", LIVE_EPARSE,
         "dvc.lock:1:1: schema '2.0' expected before 'stages'"},
        {"schema: '2.0'\nfoo: 1\nstages: {}\n", LIVE_EPARSE,
         "dvc.lock:2:1: unknown key 'foo' at the top level"},
        {"schema: '2.0'\nstages: [train]\n", LIVE_EPARSE,
         "dvc.lock:2:9: 'stages' must be a mapping of stage names"},
        {"schema: '2.0'\nstages:\n  train:\n    deps: []\n", LIVE_EPARSE,
         "dvc.lock:4:5: stage 'train' has no 'cmd'"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n    md5: abc\n", LIVE_EPARSE,
         "dvc.lock:5:5: unknown key 'md5' in stage 'train'"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n    deps:\n    - path: a\n      md5: abc\n"
         "      size: -1\n",
         LIVE_EPARSE, "dvc.lock:8:13: 'size' must be a whole number"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n    deps:\n    - path: a\n      etag: abc\n",
         LIVE_EPARSE, "dvc.lock:7:7: unknown key 'etag' in an entry"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n    outs:\n    - md5: abc\n", LIVE_EPARSE,
         "dvc.lock:6:7: an entry without 'path'"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n    outs: {a: 1}\n", LIVE_EPARSE,
         "dvc.lock:5:11: 'outs' must be a list"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n    params:\n      params.yaml: [1]\n", LIVE_EPARSE,
         "dvc.lock:6:20: the params of 'params.yaml' must be a mapping"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n    deps:\n    - path: a\n      md5: "
         "0123456789abcdef0123456789abcdef0123456789\n",
         LIVE_EPARSE, "dvc.lock:7:12: 'md5' must be 32 hex digits, with '.dir' for a folder"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: x\n  deps: []\n", LIVE_EPARSE,
         "dvc.lock:5:9: stage 'deps' must be a mapping"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: [x, {a: 1}]\n", LIVE_EPARSE,
         "dvc.lock:4:14: 'cmd' must be a string or a list of strings"},
        {"schema: '2.0'\nstages:\n  train:\n    cmd: 'x\n", LIVE_EPARSE,
         "dvc.lock:5:1: found unexpected end of stream (while scanning a quoted scalar)"},
};

static void test_malformed_lock_exact_errors(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(bad_lock) / sizeof(bad_lock[0]); k++) {
		tr_lock lock;

		tu_write_file("dvc.lock", bad_lock[k].text);
		assert_err(tr_lock_load("dvc.lock", &lock), bad_lock[k].code, bad_lock[k].msg);
		assert_null(lock.stages);
		assert_int_equal(lock.n, 0);
	}
}

/* Entries written by DVC 2.8 for executable files carry isexec; it is dropped. */
static void test_lock_isexec_accepted(void **state)
{
	(void)state;
	tr_lock lock;

	tu_write_file("dvc.lock", "schema: '2.0'\nstages:\n  train:\n    cmd: x\n    deps:\n"
	                          "    - path: train.sh\n      md5: 90f29a92c178927514c7f4d61a984a8a\n"
	                          "      size: 12\n      isexec: true\n");
	assert_int_equal(tr_lock_load("dvc.lock", &lock), 0);
	assert_int_equal(lock.stages[0].deps[0].h.size, 12);
	tr_lock_free(&lock);
}

/*
 * A params value in dvc.lock that aliases expand past 10^6 nodes is refused
 * where it stands (tests/fuzz/corpus/dvc_lock/alias-expansion.lock ran for
 * minutes). The whole file is checked before anything is copied: the
 * message names the deepest value that alone is too big (else its parent).
 */
static void test_lock_alias_expansion_refused(void **state)
{
	(void)state;
	const char *head = "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    params:\n      params.yaml:\n";
	tr_lock lock;
	FILE *f = fopen("dvc.lock", "w");

	/* a4 (line 11) stands for 111111 nodes, a5 (line 12) for 1111111 */
	assert_non_null(f);
	fputs(head, f);
	put_alias_levels(f, "        ", 10);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tr_lock_load("dvc.lock", &lock), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvc.lock:12:9: key 'stages.s.params.params.yaml.a5' expands to more "
	                                   "than 1000000 values (YAML aliases)");
	assert_int_equal(lock.n, 0);
	assert_null(lock.stages);

	f = fopen("dvc.lock", "w");
	assert_non_null(f);
	fputs(head, f);
	put_alias_levels(f, "        ", 5);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tr_lock_load("dvc.lock", &lock), 0);
	assert_int_equal(lock.stages[0].params[0].n, 5);
	assert_string_equal(lock.stages[0].params[0].values[4].key, "a4");
	assert_int_equal(count_of(lock.stages[0].params[0].values[4].yaml, "x"), 100000);
	tr_lock_free(&lock);

	/* the budget is the file's: a0..a4 are 123455 nodes, so nine a4s more are too many */
	f = fopen("dvc.lock", "w");
	assert_non_null(f);
	fputs(head, f);
	put_alias_levels(f, "        ", 5);
	for (int k = 0; k < 200; k++)
		fprintf(f, "        k%d: [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n", k);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tr_lock_load("dvc.lock", &lock), LIVE_EPARSE);
	assert_string_equal(live_errmsg(), "dvc.lock:6:7: key 'stages.s.params.params.yaml' expands to more "
	                                   "than 1000000 values (YAML aliases)");
	assert_int_equal(lock.n, 0);
}

/* ---- the YAML writer ----------------------------------------------------------- */

static void test_yaml_strings_quoted_like_ruamel(void **state)
{
	(void)state;
	/* each checked against ruamel.yaml 0.17 (YAML 1.2) */
	static const char *const cases[][2] = {
	        {"2.0", "'2.0'"},
	        {"yes", "yes"},
	        {"true", "'true'"},
	        {"True", "'True'"},
	        {"null", "'null'"},
	        {"~", "'~'"},
	        {"", "''"},
	        {"a: b", "'a: b'"},
	        {"a:b", "a:b"},
	        {"a #b", "'a #b'"},
	        {"#x", "'#x'"},
	        {"-x", "-x"},
	        {"- x", "'- x'"},
	        {"@x", "'@x'"},
	        {"'x", "\"'x\""},
	        {"\"x", "'\"x'"},
	        {"x'y", "x'y"},
	        {"1e5", "'1e5'"},
	        {"1_000", "'1_000'"},
	        {"0x1F", "'0x1F'"},
	        {"_", "_"},
	        {".inf", "'.inf'"},
	        {"nan", "nan"},
	        {"2021-01-01", "'2021-01-01'"},
	        {"12:30", "12:30"},
	        {"=", "'='"},
	        {"<<", "'<<'"},
	        {"x\ny", "\"x\\ny\""},
	        {"tab\tx", "\"tab\\tx\""},
	        {" lead", "' lead'"},
	        {"trail ", "'trail '"},
	        {"\xc3\xa9", "\xc3\xa9"},
	        {"---", "'---'"},
	        {"?x", "?x"},
	        {"? x", "'? x'"},
	        {"x,y", "x,y"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		live__buf b = {0};
		tr_yaml y;
		char expected[64];

		tr_yaml_begin(&y, &b);
		tr_yaml_map(&y);
		tr_yaml_str(&y, "k");
		tr_yaml_str(&y, cases[k][0]);
		tr_yaml_end(&y);
		assert_int_equal(tr_yaml_finish(&y), 0);
		assert_int_equal(live__buf_append(&b, "", 1), 0);
		snprintf(expected, sizeof(expected), "k: %s\n", cases[k][1]);
		assert_string_equal(b.data, expected);
		live__buf_free(&b);
	}
}

static void test_yaml_nesting_layout(void **state)
{
	(void)state;
	live__buf b = {0};
	tr_yaml y;
	char key[131];

	memset(key, 'k', 130);
	key[130] = '\0';
	tr_yaml_begin(&y, &b);
	tr_yaml_map(&y);
	tr_yaml_str(&y, "a");
	tr_yaml_seq(&y);
	tr_yaml_raw(&y, "");
	tr_yaml_seq(&y);
	tr_yaml_str(&y, "x");
	tr_yaml_str(&y, "y");
	tr_yaml_end(&y);
	tr_yaml_map(&y);
	tr_yaml_end(&y);
	tr_yaml_seq(&y);
	tr_yaml_end(&y);
	tr_yaml_end(&y);
	tr_yaml_str(&y, key);
	tr_yaml_map(&y);
	tr_yaml_str(&y, "c");
	tr_yaml_raw(&y, "false");
	tr_yaml_str(&y, "p");
	tr_yaml_raw(&y, "true");
	tr_yaml_end(&y);
	tr_yaml_str(&y, "none");
	tr_yaml_raw(&y, "");
	tr_yaml_end(&y);
	assert_int_equal(tr_yaml_finish(&y), 0);
	assert_int_equal(live__buf_append(&b, "", 1), 0);
	assert_string_equal(
	        b.data, "a:\n"
	                "- \n"
	                "- - x\n"
	                "  - y\n"
	                "- {}\n"
	                "- []\n"
	                "? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	                "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n"
	                ": c: false\n"
	                "  p: true\n"
	                "none:\n");
	live__buf_free(&b);

	/* misuse is reported, not written */
	tr_yaml_begin(&y, &b);
	tr_yaml_map(&y);
	tr_yaml_map(&y); /* a mapping as a key */
	assert_int_equal(tr_yaml_finish(&y), LIVE_EINVALID);
	tr_yaml_begin(&y, &b);
	tr_yaml_map(&y);
	tr_yaml_str(&y, "bad \xff utf-8");
	assert_int_equal(tr_yaml_finish(&y), LIVE_EINVALID);
	live__buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	        T(test_tutorial_dvcyaml_parses_into_stages),
	        T(test_tutorial_dvcyaml_written_back_in_dvc_form),
	        T(test_tutorial_train_stage_matches_reference),
	        T(test_stage_add_pipeline_written_exactly),
	        T(test_every_stage_key_in_serializer_order),
	        T(test_long_command_folded_and_read_back),
	        T(test_empty_pipeline_written_as_empty_mapping),
	        T(test_dvcyaml_replaced_atomically),
	        T(test_invalid_pipeline_not_written),
	        T(test_dvcyaml_accepts_keys_it_drops),
	        T(test_malformed_dvcyaml_exact_errors),
	        T(test_missing_dvcyaml_not_found),
	        T(test_params_read_nested_and_list_values),
	        T(test_params_read_errors),
	        T(test_params_read_bounds_alias_expansion),
	        T(test_lock_render_golden),
	        T(test_lock_load_render_round_trip),
	        T(test_lock_load_fields),
	        T(test_lock_from_params_matches_dvc),
	        T(test_lock_v1_migrated_to_schema_2),
	        T(test_lock_missing_or_empty_is_empty),
	        T(test_lock_set_stage_replaces_in_place_or_appends),
	        T(test_malformed_lock_exact_errors),
	        T(test_lock_isexec_accepted),
	        T(test_lock_alias_expansion_refused),
	        T(test_dvcyaml_alias_expansion_refused),
	        T(test_yaml_strings_quoted_like_ruamel),
	        T(test_yaml_nesting_layout),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
