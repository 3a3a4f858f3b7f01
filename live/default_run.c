/*
 * The process-wide default run behind dvclive's calls (live_log,
 * live_next_step, ...): one-line wrappers over live_run_*, under one lock, so
 * that a trainer can add two lines and nothing else. It opens lazily from the
 * environment, as dvclive 0.x did, and is closed at exit.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static live_run *def;
static int was_closed; /* a lazy re-open after live_close() resumes */
static int atexit_done;
static pid_t owner; /* the process that opened it: a forked child must not write its files */

static void close_at_exit(void)
{
	if (getpid() != owner)
		return;
	pthread_mutex_lock(&lock);
	live_run_close(def);
	def = NULL;
	pthread_mutex_unlock(&lock);
}

/* live_init's options, kept so that a lazy re-open after live_close uses them. */
static live_options saved;
static char *saved_dir;
static int have_saved;

static int save_options(const live_options *opts)
{
	free(saved_dir);
	saved_dir = NULL;
	have_saved = opts != NULL;
	if (!opts)
		return 0;
	saved = *opts;
	if (opts->dir && !(saved_dir = strdup(opts->dir)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	saved.dir = saved_dir;
	return 0;
}

static int open_locked(const live_options *opts, int force_resume)
{
	int rc = live__run_open(&def, opts, force_resume);
	owner = getpid();
	if (!rc && !atexit_done) {
		atexit(close_at_exit);
		atexit_done = 1;
	}
	return rc;
}

/* Lock, and open the default run if it is not open. */
static int enter(void)
{
	pthread_mutex_lock(&lock);
	if (def)
		return 0;
	int rc = open_locked(have_saved ? &saved : NULL, was_closed);
	if (rc)
		pthread_mutex_unlock(&lock);
	return rc;
}

static int leave(int rc)
{
	pthread_mutex_unlock(&lock);
	return rc;
}

int live_init(const live_options *opts)
{
	pthread_mutex_lock(&lock);
	int rc = live_run_close(def);
	def = NULL;
	int orc = save_options(opts);
	if (!orc)
		orc = open_locked(opts, 0);
	return leave(orc ? orc : rc);
}

int live_log(const char *name, double value)
{
	int rc = enter();
	return rc ? rc : leave(live_run_log(def, name, value));
}

int live_log_int(const char *name, long long value)
{
	int rc = enter();
	return rc ? rc : leave(live_run_log_int(def, name, value));
}

int live_log_flags(const char *name, double value, unsigned flags)
{
	int rc = enter();
	return rc ? rc : leave(live_run_log_flags(def, name, value, flags));
}

int live_next_step(void)
{
	int rc = enter();
	return rc ? rc : leave(live_run_next_step(def));
}

int live_set_step(long long step)
{
	int rc = enter();
	return rc ? rc : leave(live_run_set_step(def, step));
}

long long live_get_step(void)
{
	if (enter())
		return -1;
	long long step = live_run_get_step(def);
	leave(0);
	return step;
}

int live_checkpoint(void)
{
	int rc = enter();
	return rc ? rc : leave(live_run_checkpoint(def));
}

int live_sync(void)
{
	int rc = enter();
	return rc ? rc : leave(live_run_sync(def));
}

int live_close(void)
{
	pthread_mutex_lock(&lock);
	int rc = live_run_close(def);
	if (def)
		was_closed = 1;
	def = NULL;
	return leave(rc);
}

int live_set_direction(const char *name, int direction)
{
	int rc = enter();
	return rc ? rc : leave(live_run_set_direction(def, name, direction));
}

int live_set_patience(const char *name, int patience)
{
	int rc = enter();
	return rc ? rc : leave(live_run_set_patience(def, name, patience));
}

int live_get_divergence(const char *name, long long *since, long long *best_step, double *best)
{
	int rc = enter();
	return rc ? rc : leave(live_run_get_divergence(def, name, since, best_step, best));
}
