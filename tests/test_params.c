/* params.yaml: lookups, types, defaults, the one warning line, and exact errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "testutil.h"
#include "yaml_tree.h"

#define TUTORIAL LIVE_TEST_DATA "/params/tutorial.yaml"
#define NESTED LIVE_TEST_DATA "/params/nested.yaml"

/* Every test starts with nothing cached, no LIVE_PARAMS_FILE, in a fresh dir. */
static int setup(void **state)
{
	live_params_free();
	unsetenv("LIVE_PARAMS_FILE");
	return tu_enter_tmpdir(state);
}

static int teardown(void **state)
{
	live_params_free();
	unsetenv("LIVE_PARAMS_FILE");
	return tu_leave_tmpdir(state);
}

/* stderr goes to a file between these two; the second returns what was printed. */
static int capture_stderr(void)
{
	int saved = dup(2);
	int fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
	return saved;
}

static char *release_stderr(int saved)
{
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	return tu_read_file("stderr.txt");
}

static void copy_to_params_yaml(const char *from)
{
	char *text = tu_read_file(from);

	assert_non_null(text);
	tu_write_file("params.yaml", text);
	free(text);
}

static void assert_err(int rc, int code, const char *msg)
{
	assert_int_equal(rc, code);
	assert_string_equal(live_errmsg(), msg);
}

static void test_tutorial_params_with_every_getter(void **state)
{
	(void)state;
	double d;
	long long i;
	const char *s;

	copy_to_params_yaml(TUTORIAL);
	int saved = capture_stderr();
	assert_true(live_param_double("lr", 1.0) == 0.0001);
	assert_true(live_param_double("weight_decay", 1.0) == 0.00001);
	assert_int_equal(live_param_int("seed", 0), 473987);
	assert_int_equal(live_param_int("epochs", 0), 10);
	assert_int_equal(live_param_int("batch_size", 0), 64);
	assert_true(live_param_double("epochs", 0) == 10.0); /* an integer is a number too */
	assert_string_equal(live_param_string("optimizer", "sgd"), "adam");
	assert_string_equal(live_param_string("lr", NULL), "0.0001"); /* as written */
	char *err = release_stderr(saved);
	assert_string_equal(err, "");
	free(err);

	assert_int_equal(live_param_get_double("lr", &d), 0);
	assert_true(d == 0.0001);
	assert_int_equal(live_param_get_int("seed", &i), 0);
	assert_int_equal(i, 473987);
	assert_int_equal(live_param_get_string("optimizer", &s), 0);
	assert_string_equal(s, "adam");
}

static void test_load_explicit_path_names_it_in_messages(void **state)
{
	(void)state;
	double d;

	assert_int_equal(live_params_load(TUTORIAL), 0);
	assert_int_equal(live_param_int("seed", 0), 473987);
	assert_err(live_param_get_double("momentum", &d), LIVE_ENOTFOUND,
		   TUTORIAL ": key 'momentum' not found");
}

static void test_nested_keys_use_dots(void **state)
{
	(void)state;
	double d;

	assert_int_equal(live_params_load(NESTED), 0);
	assert_true(live_param_double("train.lr", 0) == 0.01);
	assert_true(live_param_double("train.optimizer.momentum", 0) == 0.9);
	assert_string_equal(live_param_string("train.optimizer.name", NULL), "sgd");
	assert_int_equal(live_param_int("model.depth", 0), 16);
	assert_err(live_param_get_double("train.wd", &d), LIVE_ENOTFOUND,
		   NESTED ": key 'train.wd' not found");
	/* going through a scalar finds nothing */
	assert_err(live_param_get_double("train.lr.x", &d), LIVE_ENOTFOUND,
		   NESTED ": key 'train.lr.x' not found");
}

static void test_dotted_key_exact_match_wins(void **state)
{
	(void)state;

	/* "model.name" exists as one flat key and as model -> name */
	assert_int_equal(live_params_load(NESTED), 0);
	assert_string_equal(live_param_string("model.name", NULL), "resnet");
}

static void test_dotted_key_falls_back_to_shorter_prefix(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "a.b: 1\n"
				     "a:\n"
				     "  b:\n"
				     "    c: 2\n"
				     "x.y:\n"
				     "  z: 3\n");
	assert_int_equal(live_param_int("a.b", 0), 1);
	assert_int_equal(live_param_int("a.b.c", 0), 2); /* "a.b" is a dead end */
	assert_int_equal(live_param_int("x.y.z", 0), 3);
}

static void test_sequence_index(void **state)
{
	(void)state;
	long long i;

	assert_int_equal(live_params_load(NESTED), 0);
	assert_int_equal(live_param_int("train.layers.0", 0), 32);
	assert_int_equal(live_param_int("train.layers.1", 0), 64);
	assert_int_equal(live_param_int("train.schedule.1.epochs", 0), 10);
	assert_true(live_param_double("train.schedule.0.lr", 0) == 0.1);
	assert_err(live_param_get_int("train.layers.2", &i), LIVE_ENOTFOUND,
		   NESTED ": key 'train.layers.2' not found");
	assert_err(live_param_get_int("train.layers.-1", &i), LIVE_ENOTFOUND,
		   NESTED ": key 'train.layers.-1' not found");
	assert_err(live_param_get_int("train.layers.first", &i), LIVE_ENOTFOUND,
		   NESTED ": key 'train.layers.first' not found");
	assert_err(live_param_get_int("train.layers", &i), LIVE_ETYPE,
		   NESTED ": key 'train.layers': expected an integer, got a sequence");
}

static void test_missing_file_gives_defaults_silently(void **state)
{
	(void)state;
	double d;

	int saved = capture_stderr();
	assert_true(live_param_double("lr", 0.5) == 0.5);
	assert_int_equal(live_param_int("epochs", 7), 7);
	assert_string_equal(live_param_string("optimizer", "sgd"), "sgd");
	assert_null(live_param_string("optimizer", NULL));
	char *err = release_stderr(saved);
	assert_string_equal(err, "");
	free(err);
	assert_err(live_param_get_double("lr", &d), LIVE_ENOTFOUND,
		   "params.yaml: No such file or directory");
}

static void test_missing_key_gives_default_silently(void **state)
{
	(void)state;
	double d;

	tu_write_file("params.yaml", "lr: 0.1\n");
	int saved = capture_stderr();
	assert_true(live_param_double("train.lr", 0.5) == 0.5);
	char *err = release_stderr(saved);
	assert_string_equal(err, "");
	free(err);
	assert_err(live_param_get_double("train.lr", &d), LIVE_ENOTFOUND,
		   "params.yaml: key 'train.lr' not found");
}

static void test_wrong_type_warns_once_and_gives_default(void **state)
{
	(void)state;
	double d;

	tu_write_file("params.yaml", "lr: abc\n");
	int saved = capture_stderr();
	assert_true(live_param_double("lr", 0.001) == 0.001);
	char *err = release_stderr(saved);
	assert_string_equal(err, "live: params.yaml: key 'lr': expected a number, got 'abc'; "
				 "using the default 0.001\n");
	free(err);
	assert_err(live_param_get_double("lr", &d), LIVE_ETYPE,
		   "params.yaml: key 'lr': expected a number, got 'abc'");
}

static void test_int_warning_shows_the_int_default(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "epochs: 3.0\n");
	int saved = capture_stderr();
	assert_int_equal(live_param_int("epochs", 10), 10);
	char *err = release_stderr(saved);
	assert_string_equal(err, "live: params.yaml: key 'epochs': expected an integer, got '3.0'; "
				 "using the default 10\n");
	free(err);
}

static void test_mapping_asked_as_scalar_is_type_error(void **state)
{
	(void)state;
	double d;
	long long i;
	const char *s;

	assert_int_equal(live_params_load(NESTED), 0);
	assert_err(live_param_get_double("train", &d), LIVE_ETYPE,
		   NESTED ": key 'train': expected a number, got a mapping");
	assert_err(live_param_get_int("train.optimizer", &i), LIVE_ETYPE,
		   NESTED ": key 'train.optimizer': expected an integer, got a mapping");
	assert_err(live_param_get_string("train.layers", &s), LIVE_ETYPE,
		   NESTED ": key 'train.layers': expected a string, got a sequence");

	int saved = capture_stderr();
	assert_string_equal(live_param_string("train", "x"), "x");
	char *err = release_stderr(saved);
	assert_string_equal(err, "live: " NESTED ": key 'train': expected a string, got a mapping; "
				 "using the default 'x'\n");
	free(err);
}

static void test_malformed_tab_indentation(void **state)
{
	(void)state;
	double d;

	tu_write_file("params.yaml", "lr: 0.1\n"
				     "train:\n"
				     "\tepochs: 2\n");
	assert_err(live_param_get_double("lr", &d), LIVE_EPARSE,
		   "params.yaml:3:1: found character that cannot start any token "
		   "(while scanning for the next token)");
	/* the failed read is kept: the same error for every key, without re-reading */
	assert_err(live_param_get_double("train.epochs", &d), LIVE_EPARSE,
		   "params.yaml:3:1: found character that cannot start any token "
		   "(while scanning for the next token)");

	int saved = capture_stderr();
	assert_true(live_param_double("lr", 0.5) == 0.5);
	char *err = release_stderr(saved);
	assert_string_equal(err, "live: params.yaml:3:1: found character that cannot start any token "
				 "(while scanning for the next token); using the default 0.5\n");
	free(err);
}

static void test_malformed_tab_after_value(void **state)
{
	(void)state;
	double d;

	tu_write_file("params.yaml", "a: 1\n\tb: 2\n");
	assert_err(live_param_get_double("a", &d), LIVE_EPARSE,
		   "params.yaml:2:1: found a tab character that violates indentation "
		   "(while scanning a plain scalar)");
}

static void test_malformed_indentation(void **state)
{
	(void)state;
	double d;

	tu_write_file("params.yaml", "train:\n"
				     "  lr: 0.1\n"
				     "  epochs: 10\n"
				     " batch_size: 64\n");
	assert_err(live_param_get_double("train.lr", &d), LIVE_EPARSE,
		   "params.yaml:4:2: did not find expected key (while parsing a block mapping)");
}

static void test_malformed_unclosed_quote(void **state)
{
	(void)state;
	const char *s;

	tu_write_file("params.yaml", "name: \"resnet\n"
				     "lr: 0.1\n");
	assert_err(live_param_get_string("name", &s), LIVE_EPARSE,
		   "params.yaml:3:1: found unexpected end of stream (while scanning a quoted scalar)");
}

static void test_malformed_flow_sequence(void **state)
{
	(void)state;
	const char *s;

	tu_write_file("params.yaml", "layers: [1, 2\n");
	assert_err(live_param_get_string("layers", &s), LIVE_EPARSE,
		   "params.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence)");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	const char *s;

	tu_write_file("params.yaml", "name: \xff\n");
	assert_err(live_param_get_string("name", &s), LIVE_EPARSE,
		   "params.yaml: invalid leading UTF-8 octet #FF at offset 6");
}

static void test_top_level_must_be_a_mapping(void **state)
{
	(void)state;
	double d;

	tu_write_file("params.yaml", "- 1\n- 2\n");
	assert_err(live_param_get_double("0", &d), LIVE_EPARSE,
		   "params.yaml:1:1: expected a mapping at the top level");
	tu_write_file("params.yaml", "0.001\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:1:1: expected a mapping at the top level");
	tu_write_file("params.yaml", "\"\"\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:1:1: expected a mapping at the top level");
}

static void test_single_document_only(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "lr: 1\n---\nlr: 2\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:2:1: expected a single document in the stream");
}

static void test_empty_file_has_no_keys(void **state)
{
	(void)state;
	double d;

	tu_write_file("params.yaml", "");
	assert_err(live_param_get_double("lr", &d), LIVE_ENOTFOUND,
		   "params.yaml: key 'lr' not found");
	tu_write_file("params.yaml", "# nothing yet\n");
	assert_int_equal(live_params_load(NULL), 0);
	assert_err(live_param_get_double("lr", &d), LIVE_ENOTFOUND,
		   "params.yaml: key 'lr' not found");
	tu_write_file("params.yaml", "---\n");
	assert_int_equal(live_params_load(NULL), 0);
	assert_true(live_param_double("lr", 0.5) == 0.5);
}

static void test_duplicate_key_is_an_error(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "lr: 0.1\n"
				     "seed: 1\n"
				     "lr: 0.2\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:3:1: duplicate key 'lr' (first at line 1)");

	/* nested, several duplicates: the first one in the file is reported */
	tu_write_file("params.yaml", "train:\n"
				     "  b: 1\n"
				     "  a: 1\n"
				     "  c: 1\n"
				     "  c: 2\n"
				     "  a: 2\n"
				     "  a: 3\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:5:3: duplicate key 'c' (first at line 4)");

	/* the same key in different mappings is fine */
	tu_write_file("params.yaml", "a: {lr: 1}\nb: {lr: 2}\n");
	assert_int_equal(live_params_load(NULL), 0);
	assert_int_equal(live_param_int("b.lr", 0), 2);
}

static void test_int_range(void **state)
{
	(void)state;
	long long i;
	double d;

	tu_write_file("params.yaml", "max: 9223372036854775807\n"
				     "min: -9223372036854775808\n"
				     "big: 9223372036854775808\n"
				     "small: -99999999999999999999\n");
	assert_int_equal(live_param_get_int("max", &i), 0);
	assert_true(i == LLONG_MAX);
	assert_int_equal(live_param_get_int("min", &i), 0);
	assert_true(i == LLONG_MIN);
	assert_err(live_param_get_int("big", &i), LIVE_ETYPE,
		   "params.yaml: key 'big': expected an integer from -9223372036854775808 to "
		   "9223372036854775807, got '9223372036854775808'");
	assert_err(live_param_get_int("small", &i), LIVE_ETYPE,
		   "params.yaml: key 'small': expected an integer from -9223372036854775808 to "
		   "9223372036854775807, got '-99999999999999999999'");
	/* still a number */
	assert_int_equal(live_param_get_double("big", &d), 0);
	assert_true(d == 9223372036854775808.0);
}

static void test_number_forms(void **state)
{
	(void)state;
	long long i;

	tu_write_file("params.yaml", "a: 0.001\n"
				     "b: 1e-3\n"
				     "c: 1E5\n"
				     "d: -2\n"
				     "e: +3.5\n"
				     "f: .5\n"
				     "g: 1.\n"
				     "h: +7\n"
				     "i: -0.5e+2\n"
				     "j: 1e999\n");
	assert_true(live_param_double("a", 0) == 0.001);
	assert_true(live_param_double("b", 0) == 0.001);
	assert_true(live_param_double("c", 0) == 100000.0);
	assert_true(live_param_double("d", 0) == -2.0);
	assert_true(live_param_double("e", 0) == 3.5);
	assert_true(live_param_double("f", 0) == 0.5);
	assert_true(live_param_double("g", 0) == 1.0);
	assert_true(live_param_double("i", 0) == -50.0);
	assert_true(isinf(live_param_double("j", 0))); /* as Python's float() */
	assert_int_equal(live_param_int("d", 0), -2);
	assert_int_equal(live_param_int("h", 0), 7);
	assert_err(live_param_get_int("c", &i), LIVE_ETYPE,
		   "params.yaml: key 'c': expected an integer, got '1E5'");
	assert_err(live_param_get_int("f", &i), LIVE_ETYPE,
		   "params.yaml: key 'f': expected an integer, got '.5'");
}

static void test_not_numbers(void **state)
{
	(void)state;
	double d;
	const char *s;

	tu_write_file("params.yaml", "a: 1_000\n"
				     "b: 0x10\n"
				     "c: true\n"
				     "d: 1e\n"
				     "e: .\n"
				     "f: '-'\n"
				     "g: 1.2.3\n"
				     "h: nan\n"
				     "i: -.nan\n"
				     "j: .e5\n");
	assert_err(live_param_get_double("a", &d), LIVE_ETYPE,
		   "params.yaml: key 'a': expected a number, got '1_000'");
	assert_err(live_param_get_double("b", &d), LIVE_ETYPE,
		   "params.yaml: key 'b': expected a number, got '0x10'");
	assert_err(live_param_get_double("c", &d), LIVE_ETYPE,
		   "params.yaml: key 'c': expected a number, got 'true'");
	static const char *const rest[] = { "d", "e", "f", "g", "h", "i", "j" };
	for (size_t k = 0; k < sizeof(rest) / sizeof(rest[0]); k++)
		assert_int_equal(live_param_get_double(rest[k], &d), LIVE_ETYPE);
	assert_int_equal(live_param_get_string("c", &s), 0);
	assert_string_equal(s, "true");
}

static void test_inf_and_nan(void **state)
{
	(void)state;
	long long i;

	tu_write_file("params.yaml", "a: .inf\n"
				     "b: -.Inf\n"
				     "c: +.INF\n"
				     "d: .nan\n"
				     "e: .NaN\n"
				     "f: .NAN\n");
	double a = live_param_double("a", 0), b = live_param_double("b", 0);
	assert_true(isinf(a) && a > 0);
	assert_true(isinf(b) && b < 0);
	assert_true(isinf(live_param_double("c", 0)));
	assert_true(isnan(live_param_double("d", 0)));
	assert_true(isnan(live_param_double("e", 0)));
	assert_true(isnan(live_param_double("f", 0)));
	assert_err(live_param_get_int("a", &i), LIVE_ETYPE,
		   "params.yaml: key 'a': expected an integer, got '.inf'");
}

static void test_quoted_number_is_a_string(void **state)
{
	(void)state;
	double d;
	const char *s;

	tu_write_file("params.yaml", "lr: \"0.1\"\n"
				     "seed: '42'\n"
				     "note: |\n"
				     "  12\n");
	assert_err(live_param_get_double("lr", &d), LIVE_ETYPE,
		   "params.yaml: key 'lr': expected a number, got '0.1' (a quoted string)");
	long long i;
	assert_err(live_param_get_int("seed", &i), LIVE_ETYPE,
		   "params.yaml: key 'seed': expected an integer, got '42' (a quoted string)");
	assert_err(live_param_get_int("note", &i), LIVE_ETYPE,
		   "params.yaml: key 'note': expected an integer, got '12?' (a block string)");
	assert_int_equal(live_param_get_string("lr", &s), 0);
	assert_string_equal(s, "0.1");
}

static void test_null_counts_as_missing(void **state)
{
	(void)state;
	double d;
	const char *s;

	tu_write_file("params.yaml", "a: ~\n"
				     "b: null\n"
				     "c:\n"
				     "d: \"\"\n"
				     "e: 'null'\n");
	int saved = capture_stderr();
	assert_true(live_param_double("a", 0.5) == 0.5);
	assert_int_equal(live_param_int("b", 3), 3);
	assert_string_equal(live_param_string("c", "x"), "x");
	char *err = release_stderr(saved);
	assert_string_equal(err, "");
	free(err);
	assert_err(live_param_get_double("a", &d), LIVE_ENOTFOUND, "params.yaml: key 'a' is null");
	assert_err(live_param_get_string("c", &s), LIVE_ENOTFOUND, "params.yaml: key 'c' is null");
	/* quoted, they are strings */
	assert_int_equal(live_param_get_string("d", &s), 0);
	assert_string_equal(s, "");
	assert_int_equal(live_param_get_string("e", &s), 0);
	assert_string_equal(s, "null");
}

static void test_params_file_from_environment(void **state)
{
	(void)state;
	double d;

	assert_int_equal(mkdir("conf", 0700), 0);
	tu_write_file("conf/p.yaml", "lr: 0.25\n");
	tu_write_file("params.yaml", "lr: 0.5\n");
	setenv("LIVE_PARAMS_FILE", "conf/p.yaml", 1);
	assert_true(live_param_double("lr", 0) == 0.25);
	assert_err(live_param_get_double("seed", &d), LIVE_ENOTFOUND,
		   "conf/p.yaml: key 'seed' not found");

	/* an explicit path wins over the variable */
	assert_int_equal(live_params_load("params.yaml"), 0);
	assert_true(live_param_double("lr", 0) == 0.5);

	setenv("LIVE_PARAMS_FILE", "conf/missing.yaml", 1);
	assert_err(live_params_load(NULL), LIVE_ENOTFOUND,
		   "conf/missing.yaml: No such file or directory");
}

static void test_reload_after_the_file_changed(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "lr: 0.1\n");
	assert_true(live_param_double("lr", 0) == 0.1);
	tu_write_file("params.yaml", "lr: 0.2\n");
	assert_true(live_param_double("lr", 0) == 0.1); /* read once, kept */
	assert_int_equal(live_params_load(NULL), 0);
	assert_true(live_param_double("lr", 0) == 0.2);

	/* a reload that fails replaces what was loaded */
	tu_write_file("params.yaml", "lr: [\n");
	assert_int_equal(live_params_load(NULL), LIVE_EPARSE);
	int saved = capture_stderr();
	assert_true(live_param_double("lr", 0.5) == 0.5);
	char *err = release_stderr(saved);
	assert_string_equal(err, "live: params.yaml:2:1: did not find expected node content "
				 "(while parsing a flow node); using the default 0.5\n");
	free(err);
}

static void test_free_forgets_the_params(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "lr: 0.1\n");
	assert_true(live_param_double("lr", 0) == 0.1);
	tu_write_file("params.yaml", "lr: 0.3\n");
	live_params_free();
	assert_true(live_param_double("lr", 0) == 0.3);

	/* a missing file is remembered too, until freed */
	assert_int_equal(unlink("params.yaml"), 0);
	live_params_free();
	assert_true(live_param_double("lr", 0.5) == 0.5);
	tu_write_file("params.yaml", "lr: 0.4\n");
	assert_true(live_param_double("lr", 0.5) == 0.5);
	live_params_free();
	assert_true(live_param_double("lr", 0.5) == 0.4);
	live_params_free();
	live_params_free(); /* twice is fine */
}

static void test_string_getter(void **state)
{
	(void)state;
	const char *s;

	tu_write_file("params.yaml", "name: resnet\n"
				     "quoted: \"a: b # not a comment\"\n"
				     "epochs: 10\n");
	assert_int_equal(live_param_get_string("name", &s), 0);
	assert_string_equal(s, "resnet");
	assert_string_equal(live_param_string("quoted", NULL), "a: b # not a comment");
	assert_string_equal(live_param_string("epochs", NULL), "10");
	assert_string_equal(live_param_string("missing", "dflt"), "dflt");
	/* owned by the cache: the same pointer until the next load or free */
	assert_ptr_equal(live_param_string("name", NULL), s);
}

static void test_null_arguments(void **state)
{
	(void)state;
	double d;
	long long i;
	const char *s;

	tu_write_file("params.yaml", "lr: 0.1\n");
	assert_err(live_param_get_double(NULL, &d), LIVE_EINVALID, "params: key is NULL");
	assert_err(live_param_get_int(NULL, &i), LIVE_EINVALID, "params: key is NULL");
	assert_err(live_param_get_string(NULL, &s), LIVE_EINVALID, "params: key is NULL");
	assert_err(live_param_get_double("lr", NULL), LIVE_EINVALID,
		   "params: key 'lr': output pointer is NULL");

	int saved = capture_stderr();
	assert_true(live_param_double(NULL, 0.5) == 0.5);
	char *err = release_stderr(saved);
	assert_string_equal(err, "live: params: key is NULL; using the default 0.5\n");
	free(err);
}

static void test_anchors_and_aliases(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "base_lr: &lr 0.01\n"
				     "defaults: &d {epochs: 5}\n"
				     "train:\n"
				     "  lr: *lr\n"
				     "  opts: *d\n");
	assert_true(live_param_double("train.lr", 0) == 0.01);
	assert_int_equal(live_param_int("train.opts.epochs", 0), 5);

	tu_write_file("params.yaml", "lr: *nope\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE, "params.yaml:1:5: undefined alias 'nope'");

	/* an alias inside its own anchor would be a cycle */
	tu_write_file("params.yaml", "a: &x {b: *x}\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE, "params.yaml:1:11: undefined alias 'x'");

	tu_write_file("params.yaml", "base: &b {lr: 1}\n"
				     "train:\n"
				     "  <<: *b\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:3:3: merge keys (<<) are not supported");
}

static void test_many_aliases_share_memory(void **state)
{
	(void)state;
	/* a billion-laughs shape: 9 levels of 9 aliases, shared rather than copied */
	FILE *f = fopen("params.yaml", "w");
	assert_non_null(f);
	fprintf(f, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int k = 1; k < 10; k++)
		fprintf(f, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", k, k,
			k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(live_params_load(NULL), 0);
	assert_string_equal(live_param_string("l9.8.8.8.8.8.8.8.8.8.8", NULL), "lol");
}

/* a0: ten scalars (11 nodes); a<k>: ten aliases of a<k-1>, so a<k> stands for (10^(k+2)-1)/9 nodes. */
static void put_alias_levels(FILE *f, const char *indent, int levels)
{
	fprintf(f, "%sa0: &a0 [x, x, x, x, x, x, x, x, x, x]\n", indent);
	for (int k = 1; k < levels; k++)
		fprintf(f, "%sa%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
			indent, k, k, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1);
}

static void read_tree(const char *text, const struct pnode **root, struct pnode **nodes)
{
	tu_write_file("params.yaml", text);
	assert_int_equal(live__yaml_read("params.yaml", root, nodes), 0);
}

static void test_expanded_sizes_counted_once(void **state)
{
	(void)state;
	const struct pnode *root, *a0, *a1;
	struct pnode *nodes;

	read_tree("a0: &a0 [x, y]\na1: [*a0, *a0, {k: *a0}]\nz: ~\n", &root, &nodes);
	a0 = live__yaml_find(root, "a0");
	a1 = live__yaml_find(root, "a1");
	assert_int_equal(a0->expanded, 3);
	assert_false(a0->aliased);
	/* the sequence, two copies of a0, the mapping, its key and a third copy */
	assert_int_equal(a1->expanded, 1 + 3 + 3 + 1 + 1 + 3);
	assert_true(a1->aliased);
	assert_int_equal(live__yaml_find(root, "a1.2")->expanded, 5);
	assert_int_equal(live__yaml_find(root, "z")->expanded, 1);
	/* the mapping, three keys, and the values */
	assert_int_equal(root->expanded, 1 + 3 + 3 + 12 + 1);
	assert_true(root->aliased);
	assert_int_equal(live__yaml_check_expansion("params.yaml", root), 0);
	live__yaml_free(nodes);
}

static void test_check_expansion_names_the_key(void **state)
{
	(void)state;
	const struct pnode *root;
	struct pnode *nodes;
	FILE *f = fopen("params.yaml", "w");

	/* a9 stands for 11111111111 nodes and a5, the first too big, for 1111111 */
	assert_non_null(f);
	fputs("lr: 0.1\n", f);
	put_alias_levels(f, "", 10);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(live__yaml_read("params.yaml", &root, &nodes), 0);
	assert_int_equal(live__yaml_find(root, "a4")->expanded, 111111);
	assert_int_equal(live__yaml_find(root, "a9")->expanded, 11111111111ULL);
	assert_err(live__yaml_check_expansion("params.yaml", root), LIVE_EPARSE,
		   "params.yaml:7:1: key 'a5' expands to more than 1000000 values (YAML aliases)");
	/* what renderers spend, per tree: a4 fits nine times, not ten; a5 never */
	assert_int_equal(*root->budget, LIVE__YAML_EXPAND_MAX);
	assert_int_equal(live__yaml_spend(live__yaml_find(root, "a5")), -1);
	for (int k = 0; k < 9; k++)
		assert_int_equal(live__yaml_spend(live__yaml_find(root, "a4")), 0);
	assert_int_equal(*root->budget, 1000000 - 9 * 111111);
	assert_int_equal(*live__yaml_find(root, "lr")->budget, 1);
	assert_int_equal(live__yaml_spend(live__yaml_find(root, "a4")), -1);
	assert_int_equal(*root->budget, 1);
	assert_int_equal(live__yaml_spend(live__yaml_find(root, "lr")), 0);
	assert_int_equal(live__yaml_spend(live__yaml_find(root, "lr")), -1);
	live__yaml_free(nodes);

	/* nested, through a sequence: the dotted key as the lookups spell it */
	f = fopen("params.yaml", "w");
	assert_non_null(f);
	put_alias_levels(f, "", 5);
	fputs("train:\n  layers:\n  - small: *a1\n  - {big: [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]}\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(live__yaml_read("params.yaml", &root, &nodes), 0);
	assert_err(live__yaml_check_expansion("params.yaml", root), LIVE_EPARSE,
		   "params.yaml:9:6: key 'train.layers.1.big' expands to more than 1000000 values "
		   "(YAML aliases)");
	live__yaml_free(nodes);

	/* no single value too big: the document is named */
	f = fopen("params.yaml", "w");
	assert_non_null(f);
	put_alias_levels(f, "", 5);
	for (int k = 0; k < 9; k++)
		fprintf(f, "c%d: *a4\n", k);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(live__yaml_read("params.yaml", &root, &nodes), 0);
	assert_err(live__yaml_check_expansion("params.yaml", root), LIVE_EPARSE,
		   "params.yaml:1:1: the document expands to more than 1000000 values (YAML aliases)");
	live__yaml_free(nodes);
	/* the same lookups work: only whole-value readers care */
	assert_int_equal(live_params_load(NULL), 0);
	assert_string_equal(live_param_string("c8.9.9.9.9.9", NULL), "x");
}

static void write_nested(int levels)
{
	FILE *f = fopen("params.yaml", "w");
	assert_non_null(f);
	for (int k = 0; k < levels; k++)
		fputs("{a: ", f);
	fputs("1", f);
	for (int k = 0; k < levels; k++)
		fputs("}", f);
	fputs("\n", f);
	assert_int_equal(fclose(f), 0);
}

static void test_nesting_depth_is_capped(void **state)
{
	(void)state;
	char key[256] = "a";

	write_nested(64);
	assert_int_equal(live_params_load(NULL), 0);
	for (int k = 1; k < 64; k++)
		strcat(key, ".a");
	assert_int_equal(live_param_int(key, 0), 1);

	write_nested(65);
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:1:257: nested deeper than 64 levels");

	write_nested(100000); /* deep hostile input: an error, not a crash */
	assert_int_equal(live_params_load(NULL), LIVE_EPARSE);
}

static void test_complex_key_is_an_error(void **state)
{
	(void)state;

	tu_write_file("params.yaml", "? [a, b]\n: 1\n");
	assert_err(live_params_load(NULL), LIVE_EPARSE,
		   "params.yaml:1:3: expected a scalar key, got a sequence");
}

static void test_long_values_are_cut_in_messages(void **state)
{
	(void)state;
	double d;
	char text[200];

	memset(text, 'x', 100);
	strcpy(text + 100, "\n");
	char file[256];
	snprintf(file, sizeof(file), "v: \"%.100s\\nmore\"\n", text);
	tu_write_file("params.yaml", file);
	assert_err(live_param_get_double("v", &d), LIVE_ETYPE,
		   "params.yaml: key 'v': expected a number, got "
		   "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (a quoted string)");
	tu_write_file("params.yaml", "v: \"a\\tb\\nc\"\n");
	assert_int_equal(live_params_load(NULL), 0);
	assert_err(live_param_get_double("v", &d), LIVE_ETYPE,
		   "params.yaml: key 'v': expected a number, got 'a?b?c' (a quoted string)");
}

static void test_directory_is_an_io_error(void **state)
{
	(void)state;

	assert_int_equal(mkdir("params.yaml", 0700), 0);
	assert_err(live_params_load(NULL), LIVE_EIO, "params.yaml: Is a directory");
}

static void test_numbers_ignore_the_locale(void **state)
{
	(void)state;
	if (!tu_comma_locale())
		skip(); /* no locale with a decimal comma, installed or made */
	tu_write_file("params.yaml", "lr: 0.25\n");
	double lr = live_param_double("lr", 0);
	setlocale(LC_NUMERIC, "C");
	assert_true(lr == 0.25);
}

struct reader {
	int ok;
};

static void *read_params_thread(void *arg)
{
	struct reader *r = arg;

	r->ok = 1;
	for (int k = 0; k < 200; k++) {
		if (k % 50 == 0)
			live_params_free();
		if (live_param_int("seed", 0) != 473987 || live_param_double("lr", 0) != 0.0001)
			r->ok = 0;
	}
	return NULL;
}

static void test_concurrent_lookups(void **state)
{
	(void)state;
	pthread_t t[4];
	struct reader r[4];

	copy_to_params_yaml(TUTORIAL);
	for (int k = 0; k < 4; k++)
		assert_int_equal(pthread_create(&t[k], NULL, read_params_thread, &r[k]), 0);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(pthread_join(t[k], NULL), 0);
		assert_true(r[k].ok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_tutorial_params_with_every_getter),
		T(test_load_explicit_path_names_it_in_messages),
		T(test_nested_keys_use_dots),
		T(test_dotted_key_exact_match_wins),
		T(test_dotted_key_falls_back_to_shorter_prefix),
		T(test_sequence_index),
		T(test_missing_file_gives_defaults_silently),
		T(test_missing_key_gives_default_silently),
		T(test_wrong_type_warns_once_and_gives_default),
		T(test_int_warning_shows_the_int_default),
		T(test_mapping_asked_as_scalar_is_type_error),
		T(test_malformed_tab_indentation),
		T(test_malformed_tab_after_value),
		T(test_malformed_indentation),
		T(test_malformed_unclosed_quote),
		T(test_malformed_flow_sequence),
		T(test_invalid_utf8),
		T(test_top_level_must_be_a_mapping),
		T(test_single_document_only),
		T(test_empty_file_has_no_keys),
		T(test_duplicate_key_is_an_error),
		T(test_int_range),
		T(test_number_forms),
		T(test_not_numbers),
		T(test_inf_and_nan),
		T(test_quoted_number_is_a_string),
		T(test_null_counts_as_missing),
		T(test_params_file_from_environment),
		T(test_reload_after_the_file_changed),
		T(test_free_forgets_the_params),
		T(test_string_getter),
		T(test_null_arguments),
		T(test_anchors_and_aliases),
		T(test_many_aliases_share_memory),
		T(test_expanded_sizes_counted_once),
		T(test_check_expansion_names_the_key),
		T(test_nesting_depth_is_capped),
		T(test_complex_key_is_an_error),
		T(test_long_values_are_cut_in_messages),
		T(test_directory_is_an_io_error),
		T(test_numbers_ignore_the_locale),
		T(test_concurrent_lookups),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
