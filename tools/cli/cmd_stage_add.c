/*
 * live stage add: add a stage to dvc.yaml with `dvc stage add`'s flags
 * (reference/dvc-checkpoints.md 5). The file is rewritten in DVC 2.x's
 * serializer order; comments in an existing dvc.yaml are not kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tracker.h"

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p) {
		fputs("ERROR: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static void *grow(void *p, size_t n, size_t size)
{
	p = realloc(p, n * size);
	if (!p) {
		fputs("ERROR: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static void add_out(tr_stage *s, const char *path, int kind, int cache, int checkpoint, int persist)
{
	s->outs = grow(s->outs, s->nouts + 1, sizeof(*s->outs));
	tr_out *o = &s->outs[s->nouts++];
	memset(o, 0, sizeof(*o));
	o->path = xstrdup(path);
	o->kind = kind;
	o->cache = cache;
	o->checkpoint = checkpoint;
	o->persist = persist;
	o->summary = o->html = 1;
}

/* "-p lr,seed" or "-p other.yaml:a,b" */
static void add_params(tr_stage *s, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char *file = colon ? strndup(spec, (size_t)(colon - spec)) : xstrdup("params.yaml");
	char *keys = xstrdup(colon ? colon + 1 : spec);
	for (char *save = NULL, *k = strtok_r(keys, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		s->params = grow(s->params, s->nparams + 1, sizeof(*s->params));
		s->params[s->nparams].file = xstrdup(file);
		s->params[s->nparams++].key = xstrdup(k);
	}
	free(file);
	free(keys);
}

/* DVC joins the command's words with spaces, quoting those with a space (parse_cmd). */
static char *join_cmd(int argc, char **argv)
{
	size_t n = 1;
	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 3;
	char *cmd = grow(NULL, n, 1);
	cmd[0] = 0;
	for (int i = 0; i < argc; i++) {
		/* One argument is the whole command, as the user quoted it. */
		int quote = argc > 1 && strchr(argv[i], ' ') && !strchr(argv[i], '"');
		if (i)
			strcat(cmd, " ");
		if (quote)
			strcat(cmd, "\"");
		strcat(cmd, argv[i]);
		if (quote)
			strcat(cmd, "\"");
	}
	return cmd;
}

/* Fill `s` from the arguments; the caller frees it, also on failure. */
static int parse_stage(int argc, char **argv, tr_stage *s, int *force_out)
{
	int force = 0, live_cache = 1, live_summary = 1, live_html = 1, i;
	const char *live = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
			force = 1;
			takes = 0;
		} else if (!strcmp(a, "--always-changed")) {
			s->always_changed = 1;
			takes = 0;
		} else if (!strcmp(a, "--live-no-summary")) {
			live_summary = 0;
			takes = 0;
		} else if (!strcmp(a, "--live-no-html")) {
			live_html = 0;
			takes = 0;
		} else if (!v) {
			return cli_error("live stage add: %s needs a value", a);
		} else if (!strcmp(a, "-n") || !strcmp(a, "--name")) {
			s->name = xstrdup(v);
		} else if (!strcmp(a, "-d") || !strcmp(a, "--deps")) {
			s->deps = grow(s->deps, s->ndeps + 1, sizeof(*s->deps));
			s->deps[s->ndeps++] = xstrdup(v);
		} else if (!strcmp(a, "-p") || !strcmp(a, "--params")) {
			add_params(s, v);
		} else if (!strcmp(a, "-o") || !strcmp(a, "--outs")) {
			add_out(s, v, TR_OUT, 1, 0, 0);
		} else if (!strcmp(a, "-O") || !strcmp(a, "--outs-no-cache")) {
			add_out(s, v, TR_OUT, 0, 0, 0);
		} else if (!strcmp(a, "-c") || !strcmp(a, "--checkpoints")) {
			add_out(s, v, TR_OUT, 1, 1, 0);
		} else if (!strcmp(a, "--outs-persist")) {
			add_out(s, v, TR_OUT, 1, 0, 1);
		} else if (!strcmp(a, "--outs-persist-no-cache")) {
			add_out(s, v, TR_OUT, 0, 0, 1);
		} else if (!strcmp(a, "-m") || !strcmp(a, "--metrics")) {
			add_out(s, v, TR_METRIC, 1, 0, 0);
		} else if (!strcmp(a, "-M") || !strcmp(a, "--metrics-no-cache")) {
			add_out(s, v, TR_METRIC, 0, 0, 0);
		} else if (!strcmp(a, "--plots")) {
			add_out(s, v, TR_PLOT, 1, 0, 0);
		} else if (!strcmp(a, "--plots-no-cache")) {
			add_out(s, v, TR_PLOT, 0, 0, 0);
		} else if (!strcmp(a, "--live") || !strcmp(a, "--live-no-cache")) {
			if (live)
				return cli_error("live stage add: only one --live output per stage");
			live = v;
			live_cache = !strcmp(a, "--live");
		} else if (!strcmp(a, "-w") || !strcmp(a, "--wdir")) {
			s->wdir = xstrdup(v);
		} else {
			return cli_error("live stage add: unknown option '%s'", a);
		}
		i += takes;
	}
	if (!s->name)
		return cli_error("live stage add: -n/--name is required");
	if (!tr_stage_name_valid(s->name)) {
		char shown[256];
		tr_name_shown(s->name, shown, sizeof(shown));
		return cli_error("live stage add: invalid stage name '%s' (no punctuation other than '-' and '_', no "
				 "control characters)", shown);
	}
	if (i >= argc)
		return cli_error("live stage add: the stage's command is missing");
	if (s->wdir && strcmp(s->wdir, ".") && !tr_path_inside(NULL, s->wdir))
		return cli_error("live stage add: wdir '%s' is outside the repository", s->wdir);
	for (size_t k = 0; k < s->nouts; k++)
		if (!tr_path_inside(s->wdir && strcmp(s->wdir, ".") ? s->wdir : NULL, s->outs[k].path))
			return cli_error("live stage add: output '%s' is outside the repository", s->outs[k].path);
	if (live && !tr_path_inside(s->wdir && strcmp(s->wdir, ".") ? s->wdir : NULL, live))
		return cli_error("live stage add: output '%s' is outside the repository", live);
	s->cmd = join_cmd(argc - i, argv + i);
	if (live) {
		add_out(s, live, TR_LIVE, live_cache, 0, 0);
		s->outs[s->nouts - 1].summary = live_summary;
		s->outs[s->nouts - 1].html = live_html;
	}

	*force_out = force;
	return 0;
}

int cmd_stage_add(int argc, char **argv)
{
	tr_stage s;
	memset(&s, 0, sizeof(s));
	int force = 0;
	if (parse_stage(argc, argv, &s, &force)) {
		tr_stage_free(&s);
		return 1;
	}
	tr_pipeline p = { 0 };
	struct stat st;
	int exists = stat("dvc.yaml", &st) == 0;
	if (exists && tr_dvcyaml_load("dvc.yaml", &p) != 0) {
		tr_stage_free(&s);
		return cli_error_live("live stage add");
	}
	size_t at = p.n;
	for (size_t k = 0; k < p.n; k++)
		if (!strcmp(p.stages[k].name, s.name))
			at = k;
	if (at < p.n && !force) {
		tr_pipeline_free(&p);
		cli_error("Stage '%s' already exists in 'dvc.yaml'. Use '--force' to overwrite.", s.name);
		tr_stage_free(&s);
		return 1;
	}
	int replaced = at < p.n;
	if (replaced) {
		tr_stage_free(&p.stages[at]);
	} else {
		p.stages = grow(p.stages, p.n + 1, sizeof(*p.stages));
		p.n++;
	}
	p.stages[at] = s;
	int rc = tr_dvcyaml_write("dvc.yaml", &p);
	if (!rc) {
		if (!exists)
			printf("Creating 'dvc.yaml'\n");
		printf("%s stage '%s' in 'dvc.yaml'\n\nTo track the changes with git, run:\n\n\tgit add dvc.yaml\n",
		       replaced ? "Modifying" : "Adding", p.stages[at].name);
	}
	tr_pipeline_free(&p);
	return rc ? cli_error_live("live stage add") : 0;
}
