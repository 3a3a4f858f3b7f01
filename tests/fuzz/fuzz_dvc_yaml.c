/*
 * dvc.yaml: tracker/dvcyaml.c's reader, and its writer on what it read.
 *
 * A file that loads must write (the writer refuses only what the reader
 * cannot produce), and the written file must load again with the same
 * stages, commands, deps, params and outs (the writer drops duplicates, so
 * compared as sets). Writing that gives the same bytes: after one round the
 * file is in the writer's canonical form. One exception, which is ruamel's
 * (and so DVC's) too: a string holding U+0085 (NEL) is written in quotes
 * with the NEL as a line break, which YAML folds to a space when read; the
 * round after that is stable.
 *
 * Every loaded stage has a command with something besides white space: the
 * reader refuses an empty or blank `cmd`, an empty list and a blank item, as
 * the writer refuses a blank command.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tracker.h"

static char in[4096], out1[4096], out2[4096], out3[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_clean_env();
	fz_path(in, sizeof(in), "dvc.yaml");
	fz_path(out1, sizeof(out1), "written.yaml");
	fz_path(out2, sizeof(out2), "rewritten.yaml");
	fz_path(out3, sizeof(out3), "third.yaml");
	return 0;
}

static void check_pipeline(const tr_pipeline *p)
{
	for (size_t k = 0; k < p->n; k++) {
		const tr_stage *s = &p->stages[k];

		FZ_CHECK(s->name && s->cmd, "stage %zu: no name or cmd", k);
		FZ_CHECK(s->cmd[strspn(s->cmd, " \t\n\r\f\v")], "stage '%s': a blank command loaded",
		         s->name);
		for (size_t i = 0; i < s->ndeps; i++)
			FZ_CHECK(s->deps[i], "stage '%s': dep %zu is NULL", s->name, i);
		for (size_t i = 0; i < s->nparams; i++)
			FZ_CHECK(s->params[i].file && s->params[i].key, "stage '%s': params %zu", s->name, i);
		for (size_t i = 0; i < s->nouts; i++)
			FZ_CHECK(s->outs[i].path && s->outs[i].kind >= TR_OUT && s->outs[i].kind <= TR_LIVE,
			         "stage '%s': out %zu", s->name, i);
	}
}

static int has_dep(const tr_stage *s, const char *dep)
{
	for (size_t i = 0; i < s->ndeps; i++)
		if (!strcmp(s->deps[i], dep))
			return 1;
	return 0;
}

static int has_param(const tr_stage *s, const tr_param *p)
{
	for (size_t i = 0; i < s->nparams; i++)
		if (!strcmp(s->params[i].file, p->file) && !strcmp(s->params[i].key, p->key))
			return 1;
	return 0;
}

static int has_out(const tr_stage *s, const tr_out *o)
{
	for (size_t i = 0; i < s->nouts; i++)
		if (!strcmp(s->outs[i].path, o->path) && s->outs[i].kind == o->kind)
			return 1;
	return 0;
}

/* b holds what a holds, and nothing else (a value with a NEL may read back with a space instead). */
static void check_same(const tr_stage *a, const tr_stage *b, int nel)
{
	FZ_CHECK(nel || (!strcmp(a->name, b->name) && !strcmp(a->cmd, b->cmd)),
	         "stage '%s' changed name or cmd", a->name);
	FZ_CHECK(a->always_changed == b->always_changed, "stage '%s': always_changed changed", a->name);
	if (nel)
		return;
	for (size_t i = 0; i < a->ndeps; i++)
		FZ_CHECK(has_dep(b, a->deps[i]), "stage '%s': dep '%s' lost", a->name, a->deps[i]);
	for (size_t i = 0; i < b->ndeps; i++)
		FZ_CHECK(has_dep(a, b->deps[i]), "stage '%s': dep '%s' appeared", a->name, b->deps[i]);
	for (size_t i = 0; i < a->nparams; i++)
		FZ_CHECK(has_param(b, &a->params[i]), "stage '%s': param '%s' lost", a->name,
		         a->params[i].key);
	for (size_t i = 0; i < b->nparams; i++)
		FZ_CHECK(has_param(a, &b->params[i]), "stage '%s': param '%s' appeared", a->name,
		         b->params[i].key);
	for (size_t i = 0; i < a->nouts; i++)
		FZ_CHECK(has_out(b, &a->outs[i]), "stage '%s': out '%s' lost", a->name, a->outs[i].path);
	for (size_t i = 0; i < b->nouts; i++)
		FZ_CHECK(has_out(a, &b->outs[i]), "stage '%s': out '%s' appeared", a->name, b->outs[i].path);
}

static int same_file(const char *x, const char *y, int *nel)
{
	size_t n1, n2;
	char *b1 = fz_read(x, &n1), *b2 = fz_read(y, &n2);
	int same = b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1);

	if (nel)
		*nel = b1 && memmem(b1, n1, "\xc2\x85", 2) != NULL;
	free(b1);
	free(b2);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tr_pipeline p, p2, p3;
	int nel;

	fz_write(in, data, size);
	int rc = tr_dvcyaml_load(in, &p);
	if (rc) {
		FZ_CHECK(rc == LIVE_EPARSE || rc == LIVE_ENOMEM, "load: unexpected %d: %s", rc,
		         live_errmsg());
		FZ_CHECK(p.n == 0 && p.stages == NULL, "a failed load left stages");
		return 0;
	}
	check_pipeline(&p);
	rc = tr_dvcyaml_write(out1, &p);
	FZ_CHECK(rc == 0, "a loaded pipeline does not write: %s", live_errmsg());
	rc = tr_dvcyaml_load(out1, &p2);
	FZ_CHECK(rc == 0, "what the writer wrote does not load: %s", live_errmsg());
	FZ_CHECK(p2.n == p.n, "%zu stages written, %zu read back", p.n, p2.n);
	rc = tr_dvcyaml_write(out2, &p2);
	FZ_CHECK(rc == 0, "the reread pipeline does not write: %s", live_errmsg());
	if (!same_file(out1, out2, &nel)) {
		FZ_CHECK(nel, "writing is not idempotent (%s vs %s)", out1, out2);
		rc = tr_dvcyaml_load(out2, &p3);
		FZ_CHECK(rc == 0, "the third round does not load: %s", live_errmsg());
		rc = tr_dvcyaml_write(out3, &p3);
		FZ_CHECK(rc == 0 && same_file(out2, out3, NULL),
		         "writing does not settle after a NEL is folded");
		tr_pipeline_free(&p3);
	}
	for (size_t k = 0; k < p.n; k++)
		check_same(&p.stages[k], &p2.stages[k], nel);
	tr_pipeline_free(&p);
	tr_pipeline_free(&p2);
	return 0;
}
