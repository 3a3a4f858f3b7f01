/*
 * What the tests of `live exp push/pull/list` share (test_cli_remote,
 * test_cli_remote_net): two clones of one repository with a bare remote and
 * a cache remote, and local TCP ports for the servers they start.
 */
#ifndef LIVE_TESTS_REMOTETEST_H
#define LIVE_TESTS_REMOTETEST_H

/* The case's temp dir: a/, b/, remote.git, storage/ (set by two_clones). */
extern char case_dir[4096];

/* Enter <case>/<sub> ("" for the case dir). */
void in(const char *sub);
void sleep_ms(int ms);
/*
 * a/ with the tiny trainer's stage, `params` as params.yaml and `storage` as
 * its default cache remote (committed), remote.git (bare, A's origin), b/
 * cloned from it. Returns the baseline; leaves the cwd in a/.
 */
char *two_clones(const char *params);
/* The only experiment of `base` here. */
char *only_exp(const char *base);
/* The two files hold the same bytes. */
void assert_same_bytes(const char *a, const char *b);
/* A TCP port free on 127.0.0.1 now; whether something listens on it. */
int free_port(void);
int port_open(int port);

#endif
