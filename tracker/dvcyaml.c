/*
 * dvc.yaml (reference/dvc-checkpoints.md 5): read into a tr_pipeline here,
 * written back (dvcyaml_write.c) the way DVC 2.8's serializer
 * (dvc/stage/serialize.py: to_pipeline_file) and ruamel.yaml lay it out.
 *
 * The layout is ruamel's, not the tutorial's: the tutorial shows sequence
 * dashes indented under their key ("deps:\n      - download.py") and params
 * in command-line order, but DVC writes dashes level with the key
 * ("deps:\n    - download.py") and params sorted (reference 5), and files
 * written here must be byte for byte what DVC writes. Both read the same.
 *
 * Where DVC leaves room, this file decides:
 *  - What tr_stage has no field for is checked and dropped: a stage's 'desc',
 *    'meta' and 'frozen', an output's 'desc' and 'remote', and the plot props
 *    other than template/x/y (x_label, y_label, title, header). Writing a
 *    loaded pipeline back therefore loses them.
 *  - Templating is not supported: top-level or stage 'vars', 'foreach'/'do'
 *    stages and any "${" in a value are errors, not strings run as they are.
 *    Top-level 'plots', 'metrics', 'params' and 'artifacts' (newer than DVC
 *    2.8) are errors too, rather than silently dropped on the next write.
 *  - A stage name may hold no ASCII punctuation but '-' and '_' (DVC's
 *    INVALID_STAGENAME_CHARS), nor control characters.
 *  - A params file with no key list ({file: null}, "all its params") is an
 *    error: tr_param names one key.
 *  - A list 'cmd' becomes one command joined with " && " (tr_stage's rule).
 *  - An empty or blank 'cmd', an empty 'cmd' list or a blank item of one is an
 *    error (DVC's schema takes them and fails only when it runs the stage);
 *    the writer refuses a blank command too, so what it writes reads back.
 *  - A bare "live: logs" reads as {logs: {summary: true, html: true}} and is
 *    written that way (tr_out cannot tell the two apart; DVC keeps the bare
 *    form).
 *  - Every stage is written in serializer order. DVC's `stage add` rewrites
 *    only the stage it adds (modify_yaml keeps the others as they stand, in
 *    their key order, with their comments); for files DVC wrote, and for the
 *    tutorial's setup, the bytes are the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracker.h"
#include "yaml_tree.h"


struct loader {
	const char *path;
	const char *stage; /* the stage being read, for messages */
};

LIVE__PRINTF(3, 4)
static int bad(const struct loader *ld, yaml_mark_t m, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return live__fail(LIVE_EPARSE, "%s:%zu:%zu: %s", ld->path, m.line + 1, m.column + 1, what);
}

static int oom(const struct loader *ld)
{
	return live__fail(LIVE_ENOMEM, "%s: out of memory", ld->path);
}

/* A key or value from the file, cut short for a one-line message. */
#define SHOWN (LIVE__EXCERPT_MAX + 4)
static const char *shown(char buf[SHOWN], const struct pnode *n)
{
	live__yaml_excerpt(buf, SHOWN, n->text ? n->text : "", n->text ? n->len : 0);
	return buf;
}

/* ---- freeing ------------------------------------------------------------------ */

void tr_stage_free(tr_stage *s)
{
	free(s->name);
	free(s->cmd);
	free(s->wdir);
	for (size_t k = 0; k < s->ndeps; k++)
		free(s->deps[k]);
	free(s->deps);
	for (size_t k = 0; k < s->nparams; k++) {
		free(s->params[k].file);
		free(s->params[k].key);
	}
	free(s->params);
	for (size_t k = 0; k < s->nouts; k++) {
		free(s->outs[k].path);
		free(s->outs[k].template_);
		free(s->outs[k].x);
		free(s->outs[k].y);
	}
	free(s->outs);
	memset(s, 0, sizeof(*s));
}

void tr_pipeline_free(tr_pipeline *p)
{
	if (!p)
		return;
	for (size_t k = 0; k < p->n; k++)
		tr_stage_free(&p->stages[k]);
	free(p->stages);
	p->stages = NULL;
	p->n = 0;
}

/* ---- reading: scalars ------------------------------------------------------------ */

static int is_string(const struct pnode *n)
{
	return n->kind == PK_SCALAR;
}

static int is_bool(const struct pnode *n, int *value)
{
	static const char *const words[] = {"true", "True", "TRUE", "false", "False", "FALSE"};

	if (n->kind != PK_SCALAR || n->style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if (!strcmp(n->text, words[k])) {
			*value = k < 3;
			return 1;
		}
	}
	return 0;
}

static int no_template(const struct loader *ld, const struct pnode *n)
{
	if (strstr(n->text, "${"))
		return bad(ld, n->mark, "'${...}' templating is not supported");
	return 0;
}

/* A string value; *out is replaced (a key given twice cannot happen: the reader refuses it). */
static int get_string(const struct loader *ld, const struct pnode *n, const char *what, char **out)
{
	int rc;

	if (!is_string(n))
		return bad(ld, n->mark, "'%s' must be a string", what);
	if ((rc = no_template(ld, n)))
		return rc;
	free(*out);
	if (!(*out = strdup(n->text)))
		return oom(ld);
	return 0;
}

static int get_bool(const struct loader *ld, const struct pnode *n, const char *what, int *out)
{
	if (!is_bool(n, out))
		return bad(ld, n->mark, "'%s' must be true or false", what);
	return 0;
}

/* ---- reading: a stage ------------------------------------------------------------- */

int tr_cmd_blank(const char *s)
{
	return s[strspn(s, " \t\n\r\f\v")] == 0;
}

const char *tr_cmd_flaw(const char *cmd)
{
	if (tr_cmd_blank(cmd))
		return "is empty";
	/* U+0085, U+2028, U+2029: line breaks to YAML, so no writer (ruamel's either) keeps them */
	if (strstr(cmd, "\xc2\x85") || strstr(cmd, "\xe2\x80\xa8") || strstr(cmd, "\xe2\x80\xa9"))
		return "holds a Unicode line break (U+0085, U+2028 or U+2029), which dvc.yaml cannot keep";
	return NULL;
}

/*
 * A string, or a list joined with " && ". An empty or blank command (or list
 * item) is refused: the writer would refuse to write it back, and "a &&  && b"
 * is a shell syntax error. DVC's schema takes them; `dvc repro` then fails.
 */
static int get_cmd(const struct loader *ld, const struct pnode *n, char **out)
{
	live__buf b = {0};
	int rc;

	if (is_string(n)) {
		const char *flaw = tr_cmd_flaw(n->text);
		if (flaw)
			return bad(ld, n->mark, "stage '%s': 'cmd' %s", ld->stage, flaw);
		return get_string(ld, n, "cmd", out);
	}
	if (n->kind == PK_SEQ && !n->n)
		return bad(ld, n->mark, "stage '%s': 'cmd' is an empty list", ld->stage);
	if (n->kind != PK_SEQ)
		return bad(ld, n->mark, "'cmd' must be a string or a list of strings");
	for (size_t k = 0; k < n->n; k++) {
		const struct pnode *c = n->items[k].value;

		if (!is_string(c))
			rc = bad(ld, c->mark, "'cmd' must be a string or a list of strings");
		else if (tr_cmd_flaw(c->text))
			rc = bad(ld, c->mark, "stage '%s': item %zu of 'cmd' %s", ld->stage, k + 1,
			         tr_cmd_flaw(c->text));
		else if ((rc = no_template(ld, c)))
			;
		else if ((k && live__buf_append(&b, " && ", 4)) || live__buf_append(&b, c->text, c->len))
			rc = oom(ld);
		if (rc) {
			live__buf_free(&b);
			return rc;
		}
	}
	if (live__buf_append(&b, "", 1)) {
		live__buf_free(&b);
		return oom(ld);
	}
	free(*out);
	*out = b.data;
	return 0;
}

static int get_deps(const struct loader *ld, const struct pnode *n, tr_stage *s)
{
	if (n->kind == PK_NULL)
		return 0;
	if (n->kind != PK_SEQ)
		return bad(ld, n->mark, "'deps' must be a list of paths");
	for (size_t k = 0; k < n->n; k++) {
		const struct pnode *d = n->items[k].value;
		char **grown;
		int rc;

		if (!is_string(d))
			return bad(ld, d->mark, "'deps' must be a list of paths");
		if ((rc = no_template(ld, d)))
			return rc;
		if (!(grown = realloc(s->deps, (s->ndeps + 1) * sizeof(*grown))))
			return oom(ld);
		s->deps = grown;
		if (!(s->deps[s->ndeps] = strdup(d->text)))
			return oom(ld);
		s->ndeps++;
	}
	return 0;
}

static int add_param(const struct loader *ld, tr_stage *s, const char *file, const struct pnode *key)
{
	tr_param *grown;
	int rc;

	if (!is_string(key))
		return bad(ld, key->mark, "a params key must be a string");
	if ((rc = no_template(ld, key)))
		return rc;
	if (!(grown = realloc(s->params, (s->nparams + 1) * sizeof(*grown))))
		return oom(ld);
	s->params = grown;
	grown = &s->params[s->nparams];
	grown->file = strdup(file);
	grown->key = strdup(key->text);
	s->nparams++; /* freed with the stage even when half made */
	if (!grown->file || !grown->key)
		return oom(ld);
	return 0;
}

static int get_params(const struct loader *ld, const struct pnode *n, tr_stage *s)
{
	static const char what[] = "'params' must be a list of keys and {file: [keys]}";
	char buf[SHOWN];

	if (n->kind == PK_NULL)
		return 0;
	if (n->kind != PK_SEQ)
		return bad(ld, n->mark, what);
	for (size_t k = 0; k < n->n; k++) {
		const struct pnode *p = n->items[k].value;
		int rc;

		if (is_string(p)) {
			if ((rc = add_param(ld, s, TR_DEFAULT_PARAMS, p)))
				return rc;
			continue;
		}
		if (p->kind != PK_MAP)
			return bad(ld, p->mark, what);
		for (size_t j = 0; j < p->n; j++) {
			const struct pnode *file = p->items[j].key, *keys = p->items[j].value;

			if ((rc = no_template(ld, file)))
				return rc;
			if (keys->kind == PK_NULL)
				return bad(
				        ld, p->items[j].mark,
				        "'%s' lists no keys (tracking a whole params file is not supported)",
				        shown(buf, file));
			if (keys->kind != PK_SEQ)
				return bad(ld, keys->mark, "the keys of '%s' must be a list",
				           shown(buf, file));
			for (size_t i = 0; i < keys->n; i++)
				if ((rc = add_param(ld, s, file->text, keys->items[i].value)))
					return rc;
		}
	}
	return 0;
}

static tr_out *new_out(const struct loader *ld, tr_stage *s, const struct pnode *path, int kind)
{
	tr_out *grown = realloc(s->outs, (s->nouts + 1) * sizeof(*grown));

	if (!grown) {
		oom(ld);
		return NULL;
	}
	s->outs = grown;
	grown = &s->outs[s->nouts];
	memset(grown, 0, sizeof(*grown));
	grown->kind = kind;
	grown->cache = 1;
	grown->summary = grown->html = 1;
	if (!(grown->path = strdup(path->text))) {
		oom(ld);
		return NULL;
	}
	s->nouts++;
	return grown;
}

/* The flags of one output: {cache, persist, checkpoint, desc, remote, plot props, live props}. */
static int get_flags(const struct loader *ld, const struct pnode *flags, const struct pnode *path, tr_out *o)
{
	int plot = o->kind == TR_PLOT || o->kind == TR_LIVE;
	char buf[SHOWN], buf2[SHOWN];

	if (flags->kind == PK_NULL)
		return 0;
	if (flags->kind != PK_MAP)
		return bad(ld, flags->mark, "the flags of '%s' must be a mapping", shown(buf, path));
	for (size_t k = 0; k < flags->n; k++) {
		const char *key = flags->items[k].key->text;
		const struct pnode *v = flags->items[k].value;
		char *ignored = NULL;
		int flag = 0, rc = 0;

		if (!strcmp(key, "cache"))
			rc = get_bool(ld, v, key, &o->cache);
		else if (!strcmp(key, "persist"))
			rc = get_bool(ld, v, key, &o->persist);
		else if (!strcmp(key, "checkpoint"))
			rc = get_bool(ld, v, key, &o->checkpoint);
		else if (!strcmp(key, "desc") || !strcmp(key, "remote"))
			rc = get_string(ld, v, key, &ignored);
		else if (plot && !strcmp(key, "template"))
			rc = get_string(ld, v, key, &o->template_);
		else if (plot && !strcmp(key, "x"))
			rc = get_string(ld, v, key, &o->x);
		else if (plot && !strcmp(key, "y"))
			rc = get_string(ld, v, key, &o->y);
		else if (plot &&
		         (!strcmp(key, "x_label") || !strcmp(key, "y_label") || !strcmp(key, "title")))
			rc = get_string(ld, v, key, &ignored);
		else if (plot && !strcmp(key, "header"))
			rc = get_bool(ld, v, key, &flag);
		else if (o->kind == TR_LIVE && !strcmp(key, "summary"))
			rc = get_bool(ld, v, key, &o->summary);
		else if (o->kind == TR_LIVE && !strcmp(key, "html"))
			rc = get_bool(ld, v, key, &o->html);
		else
			rc = bad(ld, flags->items[k].mark, "unknown key '%s' for '%s' in stage '%s'",
			         shown(buf, flags->items[k].key), shown(buf2, path), ld->stage);
		free(ignored);
		if (rc)
			return rc;
	}
	return 0;
}

/* One entry of outs/metrics/plots, or the live value: a path or {path: {flags}}. */
static int get_out(const struct loader *ld, tr_stage *s, const struct pnode *e, int kind, const char *section)
{
	const struct pnode *path = e, *flags = NULL;
	tr_out *o;
	int rc;

	if (e->kind == PK_MAP && e->n == 1) {
		path = e->items[0].key;
		flags = e->items[0].value;
	} else if (!is_string(e)) {
		if (kind == TR_LIVE)
			return bad(ld, e->mark, "'live' must be a path or {path: {summary, html}}");
		return bad(ld, e->mark, "an entry of '%s' must be a path or {path: {flags}}", section);
	}
	if ((rc = no_template(ld, path)))
		return rc;
	if (!(o = new_out(ld, s, path, kind)))
		return LIVE_ENOMEM;
	return flags ? get_flags(ld, flags, path, o) : 0;
}

static int get_outs(const struct loader *ld, tr_stage *s, const struct pnode *n, int kind,
                    const char *section)
{
	if (n->kind == PK_NULL)
		return 0;
	if (n->kind != PK_SEQ)
		return bad(ld, n->mark, "'%s' must be a list of paths and {path: {flags}}", section);
	for (size_t k = 0; k < n->n; k++) {
		int rc = get_out(ld, s, n->items[k].value, kind, section);

		if (rc)
			return rc;
	}
	return 0;
}

int tr_stage_name_valid(const char *name)
{
	if (!*name)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7F)
			return 0;
		if (*p < 0x80 && *p != '-' && *p != '_' && strchr("!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~", *p))
			return 0;
	}
	return 1;
}

static int get_stage(struct loader *ld, const struct pentry *it, tr_stage *s)
{
	const struct pnode *n = it->value;
	char buf[SHOWN], name[SHOWN];
	int flag, rc = 0;

	shown(name, it->key);
	if (it->key->kind != PK_SCALAR || !tr_stage_name_valid(it->key->text))
		return bad(ld, it->mark, "invalid stage name '%s' (no punctuation other than '-' and '_')",
		           name);
	if (!(s->name = strdup(it->key->text)))
		return oom(ld);
	ld->stage = s->name;
	if (n->kind != PK_MAP)
		return bad(ld, n->mark, "stage '%s' must be a mapping", name);
	for (size_t k = 0; k < n->n && !rc; k++) {
		const char *key = n->items[k].key->text;
		const struct pnode *v = n->items[k].value;
		yaml_mark_t at = n->items[k].mark;

		if (!strcmp(key, "cmd"))
			rc = get_cmd(ld, v, &s->cmd);
		else if (!strcmp(key, "wdir"))
			rc = get_string(ld, v, key, &s->wdir);
		else if (!strcmp(key, "deps"))
			rc = get_deps(ld, v, s);
		else if (!strcmp(key, "params"))
			rc = get_params(ld, v, s);
		else if (!strcmp(key, "outs"))
			rc = get_outs(ld, s, v, TR_OUT, key);
		else if (!strcmp(key, "metrics"))
			rc = get_outs(ld, s, v, TR_METRIC, key);
		else if (!strcmp(key, "plots"))
			rc = get_outs(ld, s, v, TR_PLOT, key);
		else if (!strcmp(key, "live"))
			rc = v->kind == PK_NULL ? 0 : get_out(ld, s, v, TR_LIVE, key);
		else if (!strcmp(key, "always_changed"))
			rc = get_bool(ld, v, key, &s->always_changed);
		else if (!strcmp(key, "frozen"))
			rc = get_bool(ld, v, key, &flag);
		else if (!strcmp(key, "desc"))
			rc = is_string(v) ? 0 : bad(ld, v->mark, "'desc' must be a string");
		else if (!strcmp(key, "meta"))
			rc = 0; /* anything, for the user */
		else if (!strcmp(key, "foreach") || !strcmp(key, "do") || !strcmp(key, "vars"))
			rc = bad(ld, at, "'%s' in stage '%s': templating is not supported", key, name);
		else
			rc = bad(ld, at, "unknown key '%s' in stage '%s'", shown(buf, n->items[k].key), name);
	}
	if (!rc && !s->cmd)
		rc = bad(ld, it->mark, "stage '%s' has no 'cmd'", name);
	/* Outputs are written, restored and removed: they must stay inside the
	 * repository (deps are only read, and may be anywhere, as in DVC). */
	if (!rc && s->wdir && !tr_path_inside(NULL, s->wdir) && strcmp(s->wdir, "."))
		rc = bad(ld, it->mark, "stage '%s': wdir '%s' is outside the repository", name, s->wdir);
	for (size_t k = 0; !rc && k < s->nouts; k++)
		if (!tr_path_inside(s->wdir && strcmp(s->wdir, ".") ? s->wdir : NULL, s->outs[k].path))
			rc = bad(ld, it->mark, "stage '%s': output '%s' is outside the repository", name,
				 s->outs[k].path);
	return rc;
}

int tr_dvcyaml_load(const char *path, tr_pipeline *out)
{
	struct loader ld = {path, NULL};
	const struct pnode *root, *stages = NULL;
	struct pnode *nodes = NULL;
	char buf[SHOWN];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = live__yaml_read(path, &root, &nodes);
	if (rc)
		return rc;
	if (root)
		rc = live__yaml_check_expansion(path, root); /* aliases: bounded before stages are copied */
	for (size_t k = 0; root && k < root->n && !rc; k++) {
		const struct pentry *it = &root->items[k];
		const char *key = it->key->text;

		if (!strcmp(key, "stages"))
			stages = it->value;
		else if (!strcmp(key, "vars"))
			rc = bad(&ld, it->mark, "'vars' is not supported (no templating)");
		else if (!strcmp(key, "plots") || !strcmp(key, "metrics") || !strcmp(key, "params") ||
		         !strcmp(key, "artifacts"))
			rc = bad(&ld, it->mark,
			         "top-level '%s' is not supported (DVC 2.8 has them in stages only)", key);
		else
			rc = bad(&ld, it->mark, "unknown key '%s' at the top level", shown(buf, it->key));
	}
	if (rc)
		goto done;
	if (!stages) {
		rc = live__fail(LIVE_EPARSE, "%s: no 'stages'", path);
		goto done;
	}
	if (stages->kind == PK_NULL)
		goto done;
	if (stages->kind != PK_MAP) {
		rc = bad(&ld, stages->mark, "'stages' must be a mapping of stage names");
		goto done;
	}
	if (stages->n && !(out->stages = calloc(stages->n, sizeof(*out->stages)))) {
		rc = oom(&ld);
		goto done;
	}
	for (size_t k = 0; k < stages->n && !rc; k++)
		rc = get_stage(&ld, &stages->items[k], &out->stages[out->n++]);
done:
	live__yaml_free(nodes);
	if (rc)
		tr_pipeline_free(out);
	return rc;
}
