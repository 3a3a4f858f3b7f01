/*
 * Resolving a run's configuration: options first, then the environment that
 * DVC 2.x (and `live exp run`) sets for a stage with a `live:` section, which
 * wins (SPEC 2). A contradiction between an explicit dir and DVCLIVE_PATH is
 * an error rather than output in an unexpected place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run.h"

void live_options_init(live_options *opts)
{
	if (!opts)
		return;
	live_options init = LIVE_OPTIONS_INIT;
	*opts = init;
}

/* DVC writes 1/0; dvclive 3 accepts y/yes/true. -1 = not a boolean. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "1", "y", "yes", "true", "on" };
	static const char *const no[] = { "0", "n", "no", "false", "off", "" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		if (!strcasecmp(s, yes[i]))
			return 1;
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		if (!strcasecmp(s, no[i]))
			return 0;
	return -1;
}

static int env_bool(const char *var, int *value)
{
	const char *s = getenv(var);
	if (!s)
		return 0;
	int b = parse_bool(s);
	if (b < 0)
		return live__fail(LIVE_EPARSE, "environment %s='%s': expected 1/0 (or true/false)", var, s);
	*value = b;
	return 0;
}

static int tristate(int v, int def, const char *field, int *out)
{
	if (v == LIVE_DEFAULT)
		*out = def;
	else if (v == LIVE_ON || v == LIVE_OFF)
		*out = v == LIVE_ON;
	else
		return live__fail(LIVE_EINVALID, "options.%s = %d: expected LIVE_DEFAULT, LIVE_ON or LIVE_OFF",
				  field, v);
	return 0;
}

/* "./logs/" and "logs" name the same folder. */
static void normalize(char *p)
{
	while (p[0] == '.' && p[1] == '/') {
		size_t skip = 2;
		while (p[skip] == '/')
			skip++;
		memmove(p, p + skip, strlen(p + skip) + 1);
	}
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0;
}

int live__launcher_rank(int *rank)
{
	static const char *const vars[] = { "RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID" };
	*rank = -1;
	for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++) {
		const char *s = getenv(vars[i]);
		if (!s || !*s)
			continue;
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno || *end || v < 0 || v > 1000000000L)
			return live__fail(LIVE_EPARSE, "environment %s='%s': expected a rank (an integer >= 0)",
					  vars[i], s);
		*rank = (int)v;
		return 0;
	}
	return 0;
}

static int read_rank(int *rank)
{
	int rc = live__launcher_rank(rank);
	if (*rank < 0)
		*rank = 0; /* no launcher: the only process */
	return rc;
}

int live__config_resolve(const live_options *opts, live__config *cfg)
{
	live_options def = LIVE_OPTIONS_INIT;
	int rc;
	if (!opts)
		opts = &def;
	memset(cfg, 0, sizeof(*cfg));
	if (opts->version < 1 || opts->version > LIVE_OPTIONS_VERSION)
		return live__fail(LIVE_EINVALID, "options.version = %u: expected 1..%d (use LIVE_OPTIONS_INIT)",
				  opts->version, LIVE_OPTIONS_VERSION);

	int per_rank = 0;
	if ((rc = tristate(opts->resume, 0, "resume", &cfg->resume)) ||
	    (rc = tristate(opts->summary, 1, "summary", &cfg->summary)) ||
	    (rc = tristate(opts->html, 1, "html", &cfg->html)) ||
	    (rc = tristate(opts->timestamp, 0, "timestamp", &cfg->timestamp)) ||
	    (rc = tristate(opts->per_rank, 0, "per_rank", &per_rank)))
		return rc;

	if ((rc = env_bool("DVCLIVE_RESUME", &cfg->resume)) ||
	    (rc = env_bool("DVCLIVE_SUMMARY", &cfg->summary)) ||
	    (rc = env_bool("DVCLIVE_HTML", &cfg->html)))
		return rc;

	switch (opts->layout) {
	case LIVE_LAYOUT_DEFAULT:
	case LIVE_LAYOUT_CLASSIC:
		cfg->layout = LIVE_LAYOUT_CLASSIC;
		break;
	case LIVE_LAYOUT_V3:
		cfg->layout = LIVE_LAYOUT_V3;
		break;
	default:
		return live__fail(LIVE_EINVALID, "options.layout = %d: expected a LIVE_LAYOUT_* value", opts->layout);
	}
	const char *layout = getenv("LIVE_LAYOUT");
	if (layout && *layout) {
		if (!strcmp(layout, "classic") || !strcmp(layout, "0"))
			cfg->layout = LIVE_LAYOUT_CLASSIC;
		else if (!strcmp(layout, "v3") || !strcmp(layout, "3"))
			cfg->layout = LIVE_LAYOUT_V3;
		else
			return live__fail(LIVE_EPARSE, "environment LIVE_LAYOUT='%s': expected 'classic' or 'v3'",
					  layout);
	}

	if (opts->summary_interval_ms < LIVE_EVERY_STEP)
		return live__fail(LIVE_EINVALID,
				  "options.summary_interval_ms = %d: expected >= 0 or LIVE_EVERY_STEP",
				  opts->summary_interval_ms);
	cfg->interval_ms = opts->summary_interval_ms == 0 ? 100 : opts->summary_interval_ms;
	const char *iv = getenv("LIVE_SUMMARY_INTERVAL_MS");
	if (iv && *iv) {
		char *end;
		errno = 0;
		long long v = strtoll(iv, &end, 10);
		if (errno || *end || v < 0)
			return live__fail(LIVE_EPARSE,
					  "environment LIVE_SUMMARY_INTERVAL_MS='%s': expected milliseconds (0 = every step)",
					  iv);
		cfg->interval_ms = v == 0 ? -1 : v;
	}

	if ((rc = read_rank(&cfg->rank)))
		return rc;

	const char *env_dir = getenv("DVCLIVE_PATH");
	if (env_dir && !*env_dir)
		env_dir = NULL;
	if (opts->dir && !*opts->dir)
		return live__fail(LIVE_EINVALID, "options.dir is empty");
	const char *dir = env_dir ? env_dir : opts->dir ? opts->dir : "dvclive";
	size_t n = strlen(dir);
	cfg->dir = malloc(n + 32);
	if (!cfg->dir)
		return live__fail(LIVE_ENOMEM, "out of memory");
	memcpy(cfg->dir, dir, n + 1);
	normalize(cfg->dir);
	if (env_dir && opts->dir) {
		char *mine = strdup(opts->dir);
		if (!mine)
			return live__fail(LIVE_ENOMEM, "out of memory");
		normalize(mine);
		int same = !strcmp(mine, cfg->dir);
		free(mine);
		if (!same)
			return live__fail(LIVE_ECONFIG,
					  "dir '%s' conflicts with DVCLIVE_PATH='%s' set by the runner: "
					  "drop the explicit dir or make them agree",
					  opts->dir, env_dir);
	}
	if (cfg->rank != 0) {
		if (per_rank)
			snprintf(cfg->dir + strlen(cfg->dir), 32, "_rank%d", cfg->rank);
		else
			cfg->inert = 1;
	}
	return 0;
}

void live__config_free(live__config *cfg)
{
	free(cfg->dir);
	cfg->dir = NULL;
}
