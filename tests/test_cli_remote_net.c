/*
 * Sharing experiments over the network (issue #8): `live exp push/pull/list`
 * through ssh, http and https, end to end, against servers on 127.0.0.1 that
 * each case starts and stops itself:
 *
 *   - ssh: the system's sshd (openssh-server) with its own config, host key
 *     and authorized_keys in the case's temp dir, and an ssh-agent of its own
 *     holding a fresh key. Host keys: ~/.ssh/known_hosts (HOME is the test's
 *     home dir), written with ssh-keyscan. Skipped when sshd or the ssh tools
 *     are not installed.
 *   - http(s): `git http-backend` behind tests/cli/git_http_server.py
 *     (python3's standard library), https with a self-signed certificate made
 *     by openssl (skipped without openssl).
 *
 * Each case makes, in its temp dir: a/ (clone A, with a cache remote
 * `storage` in its committed .dvc/config), remote.git (bare), b/ (clone B of
 * remote.git) and storage/. The servers run in their own process groups with
 * PR_SET_PDEATHSIG: killed at teardown, whatever the case's outcome, and by
 * the kernel should this process die first.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clitest.h"
#include "remotetest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif
#ifndef GIT_HTTP_SERVER
#error "GIT_HTTP_SERVER (tests/cli/git_http_server.py) must be defined by the build"
#endif


#define PARAMS "epochs: 4\nlr: 0.001\nmodel_bytes: 20000\nstep_ms: 0\n"

static char *remote_exp_refs(void)
{
	return sh("git -C '%s/remote.git' for-each-ref --format='%%(refname)' refs/exps", case_dir);
}

/* An executable on PATH, or at `path` when it has a '/'. */
static int have(const char *exe)
{
	if (strchr(exe, '/'))
		return access(exe, X_OK) == 0;
	int status;
	sh_status(&status, "command -v '%s' >/dev/null 2>&1", exe);
	return status == 0;
}

/* ---- background servers ---------------------------------------------------------- */

#define MAX_BG 4
static pid_t bg[MAX_BG];
static int nbg;

/* argv started in its own process group, stdin /dev/null, stdout and stderr into `log`. */
static pid_t start_bg(const char *log, char *const argv[])
{
	assert_true(nbg < MAX_BG);
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		/* gone with this test process, however it ends */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	bg[nbg++] = pid;
	return pid;
}

static int running(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* Kill one (and its process group) and reap it. */
static void stop_bg(pid_t pid)
{
	for (int i = 0; i < nbg; i++) {
		if (bg[i] != pid)
			continue;
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		bg[i] = bg[--nbg];
		return;
	}
}

static int teardown(void **state)
{
	while (nbg > 0)
		stop_bg(bg[nbg - 1]);
	sh("rm -rf '%s/.ssh' '%s/.gitconfig'", ct_home_dir, ct_home_dir);
	return ct_teardown(state);
}

/* ---- ssh ---------------------------------------------------------------------------- */

static const char *sshd_path(void)
{
	static const char *const where[] = {"/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"};
	for (size_t i = 0; i < sizeof(where) / sizeof(*where); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

static int have_ssh(void)
{
	return sshd_path() && have("ssh-agent") && have("ssh-add") && have("ssh-keygen") && have("ssh-keyscan");
}

static const char *user_name(void)
{
	const struct passwd *pw = getpwuid(getuid());
	assert_non_null(pw);
	return fmt("%s", pw->pw_name);
}

typedef struct ssh_server {
	int port;
	char *dir;   /* <case>/ssh: keys, config, log, the agent's socket */
	char *sock;  /* the agent's socket */
	char *agent_env; /* "SSH_AUTH_SOCK=<sock>" */
	pid_t sshd, agent;
} ssh_server;

static char *sshd_log(const ssh_server *s)
{
	char *log = slurp(fmt("%s/sshd.log", s->dir), NULL);
	return log ? log : "(no log)";
}

/*
 * sshd on 127.0.0.1:<free port>, keys only, the user's key in its own
 * authorized_keys; an ssh-agent holding that key. As root, sshd needs its
 * privilege separation folder (/run/sshd, as the ssh service makes it).
 */
static void start_ssh(ssh_server *s)
{
	s->dir = fmt("%s/ssh", case_dir);
	sh("mkdir -p '%s' && cd '%s' && ssh-keygen -q -t ed25519 -N '' -C host -f hostkey && "
	   "ssh-keygen -q -t ed25519 -N '' -C user -f userkey && ssh-keygen -q -t ed25519 -N '' -C other -f otherkey && "
	   "cp userkey.pub authorized_keys",
	   s->dir, s->dir);
	if (geteuid() == 0 && access("/run/sshd", F_OK) != 0 && mkdir("/run/sshd", 0755) != 0)
		fail_msg("mkdir /run/sshd: %s", strerror(errno));
	s->port = free_port();
	char *cfg = fmt("%s/sshd_config", s->dir);
	tu_write_file(cfg, fmt("ListenAddress 127.0.0.1:%d\n"
	                       "HostKey %s/hostkey\n"
	                       "AuthorizedKeysFile %s/authorized_keys\n"
	                       "PidFile %s/sshd.pid\n"
	                       "PubkeyAuthentication yes\n"
	                       "AuthenticationMethods publickey\n"
	                       "PasswordAuthentication no\n"
	                       "KbdInteractiveAuthentication no\n"
	                       "PermitRootLogin prohibit-password\n"
	                       "StrictModes no\n"
	                       "UsePAM no\n"
	                       "LogLevel VERBOSE\n",
	                       s->port, s->dir, s->dir, s->dir));
	char *const sshd_argv[] = {(char *)sshd_path(), "-D", "-e", "-f", cfg, NULL};
	s->sshd = start_bg(fmt("%s/sshd.log", s->dir), sshd_argv);
	for (int i = 0; !port_open(s->port); i++) {
		if (i > 1000 || !running(s->sshd))
			fail_msg("sshd did not listen on 127.0.0.1:%d:\n%s", s->port, sshd_log(s));
		sleep_ms(10);
	}
	s->sock = fmt("%s/agent.sock", s->dir);
	s->agent_env = fmt("SSH_AUTH_SOCK=%s", s->sock);
	char *const agent_argv[] = {"ssh-agent", "-D", "-a", s->sock, NULL};
	s->agent = start_bg(fmt("%s/agent.log", s->dir), agent_argv);
	for (int i = 0; access(s->sock, F_OK) != 0; i++) {
		if (i > 1000 || !running(s->agent))
			fail_msg("ssh-agent made no socket %s:\n%s", s->sock, slurp(fmt("%s/agent.log", s->dir), NULL));
		sleep_ms(10);
	}
	sh("SSH_AUTH_SOCK='%s' ssh-add -q '%s/userkey' 2>&1", s->sock, s->dir);
}

/* ~/.ssh/known_hosts: the server's key as ssh-keyscan reads it; `hashed`: as OpenSSH writes it by default. */
static void trust_host(const ssh_server *s, int hashed)
{
	sh("mkdir -p '%s/.ssh' && ssh-keyscan -p %d -t ed25519 127.0.0.1 2>/dev/null > '%s/.ssh/known_hosts'", ct_home_dir,
	   s->port, ct_home_dir);
	assert_contains(must_read(fmt("%s/.ssh/known_hosts", ct_home_dir)), fmt("[127.0.0.1]:%d ssh-ed25519 ", s->port));
	if (hashed) {
		sh("ssh-keygen -q -H -f '%s/.ssh/known_hosts' >/dev/null 2>&1 && rm -f '%s/.ssh/known_hosts.old'", ct_home_dir,
		   ct_home_dir);
		assert_not_contains(must_read(fmt("%s/.ssh/known_hosts", ct_home_dir)), "127.0.0.1");
	}
}

/*
 * Under ASan: libgit2 1.5.1's ssh transport leaks on every connection (the
 * known_hosts list that libssh2 reads, the URL's parts), so the ssh runs
 * take a suppression of libgit2's and libssh2's allocations; the other cases
 * of this test and every other test still check them. NULL elsewhere.
 */
static const char *ssh_lsan_env(void)
{
#if defined(__SANITIZE_ADDRESS__)
	char *supp = fmt("%s/lsan-libgit2-ssh.supp", ct_base_dir);
	tu_write_file(supp, "leak:libssh2.so\nleak:libgit2.so\n");
	const char *old = getenv("LSAN_OPTIONS");
	return fmt("LSAN_OPTIONS=%s%ssuppressions=%s", old ? old : "", old && *old ? ":" : "", supp);
#else
	return NULL;
#endif
}

static void ssh_push_list_pull_and_apply_restore_the_model_bit_identical(void **state)
{
	(void)state;
	if (!have_ssh())
		skip();
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(base), exp));
	ssh_server s = {0};
	start_ssh(&s);
	const char *user = user_name();
	char *url = fmt("ssh://%s@127.0.0.1:%d%s/remote.git", user, s.port, case_dir);
	const char *lsan = ssh_lsan_env();
	const char *env[] = {s.agent_env, lsan, NULL};
	run_opts o = {.env = env};

	/* No known_hosts yet: refused before anything moves. */
	result r = LIVE_O(&o, "exp", "push", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': the ssh host key of 127.0.0.1:%d is not in "
	                               "~/.ssh/known_hosts, or differs from the one recorded there: connect once with "
	                               "`ssh -p %d %s@127.0.0.1` to check its fingerprint and record it\n",
	                               url, s.port, s.port, user));
	assert_string_equal(remote_exp_refs(), "");
	assert_string_equal(sh("find '%s/storage' -type f | wc -l", case_dir), "0");
	assert_not_contains(sshd_log(&s), "Accepted publickey");

	trust_host(&s, 0);
	r = LIVE_O(&o, "exp", "push", url);
	if (r.rc != 0)
		fail_msg("push over ssh: %s\nsshd.log:\n%s", r.err, sshd_log(&s));
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote '%s'.\n", exp, url));
	assert_string_equal(r.err, "");
	assert_string_equal(remote_exp_refs(), fmt("%s%s", exp_prefix(base), exp));
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s%s'", exp_prefix(base), exp), tip);
	assert_contains(sshd_log(&s), fmt("Accepted publickey for %s from 127.0.0.1", user));
	r = LIVE_O(&o, "exp", "push", url);
	assert_contains(r.out, fmt("Experiment '%s' is up to date on Git remote '%s'.\n", exp, url));

	/* B: list, pull, apply; known_hosts hashed as OpenSSH writes it. */
	in("b");
	trust_host(&s, 1);
	r = LIVE_O(&o, "exp", "list", url);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, fmt("main:\n\t%s\n", exp));
	r = LIVE_O(&o, "exp", "pull", url);
	assert_contains(r.out, fmt("Pulled experiment '%s' from Git remote '%s'.\n", exp, url));
	assert_string_equal(r.err, "");
	assert_string_equal(ref_sha(fmt("%s%s", exp_prefix(base), exp)), tip);
	LIVE_OK("exp", "apply", exp);
	assert_same_bytes("model.pt", "../a/model.pt");
	assert_int_equal(strncmp(must_read("model.pt"), "step=3 ", 7), 0);
	/* A URL without a user logs in as the local user, as ssh does. */
	r = LIVE_O(&o, "exp", "list", fmt("ssh://127.0.0.1:%d%s/remote.git", s.port, case_dir));
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, fmt("main:\n\t%s\n", exp));

	/* No agent; an agent that is not there; an agent without the key. */
	const char *no_agent_env[] = {lsan, NULL};
	run_opts no_agent = {.env = no_agent_env};
	r = LIVE_O(&no_agent, "exp", "list", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': no ssh-agent to log in with (SSH_AUTH_SOCK is not "
	                               "set): start one with `eval \"$(ssh-agent)\"` and add the key with ssh-add\n",
	                               url));
	const char *gone_env[] = {fmt("SSH_AUTH_SOCK=%s/gone.sock", s.dir), lsan, NULL};
	run_opts gone = {.env = gone_env};
	r = LIVE_O(&gone, "exp", "pull", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': no ssh-agent at SSH_AUTH_SOCK (%s/gone.sock): No such "
	                               "file or directory\n",
	                               url, s.dir));
	sh("SSH_AUTH_SOCK='%s' ssh-add -q -D 2>&1 && SSH_AUTH_SOCK='%s' ssh-add -q '%s/otherkey' 2>&1", s.sock, s.sock,
	   s.dir);
	r = LIVE_O(&o, "exp", "list", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': the server accepted none of ssh-agent's keys for user "
	                               "'%s' (`ssh-add -l` lists them, ssh-add adds one)\n",
	                               url, user));
	sh("SSH_AUTH_SOCK='%s' ssh-add -q '%s/userkey' 2>&1", s.sock, s.dir);

	/* A host key other than the recorded one: refused the same way. */
	sh("printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 '%s/otherkey.pub')\" > '%s/.ssh/known_hosts'", s.port, s.dir,
	   ct_home_dir);
	r = LIVE_O(&o, "exp", "pull", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': the ssh host key of 127.0.0.1:%d is not in "
	                               "~/.ssh/known_hosts, or differs from the one recorded there: connect once with "
	                               "`ssh -p %d %s@127.0.0.1` to check its fingerprint and record it\n",
	                               url, s.port, s.port, user));
	/* A repository the server does not have. */
	trust_host(&s, 0);
	r = LIVE_O(&o, "exp", "list", fmt("ssh://%s@127.0.0.1:%d%s/nothere.git", user, s.port, case_dir));
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote 'ssh://%s@127.0.0.1:%d%s/nothere.git': fatal: '%s/nothere.git' "
	                               "does not appear to be a git repository\n",
	                               user, s.port, case_dir, case_dir));

	/* The server gone: refused connection, named. */
	stop_bg(s.agent);
	stop_bg(s.sshd);
	for (int i = 0; port_open(s.port); i++) {
		if (i > 1000)
			fail_msg("sshd still listens on 127.0.0.1:%d", s.port);
		sleep_ms(10);
	}
	r = LIVE_O(&o, "exp", "list", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': failed to connect to 127.0.0.1: Connection refused\n",
	                               url));
	assert_string_equal(ref_sha(fmt("%s%s", exp_prefix(base), exp)), tip);
}

/* ---- http(s) --------------------------------------------------------------------- */

/* git_http_server.py serving the case dir; its port. `extra`: more arguments (NULL-terminated). */
static int start_http(const char *log_name, pid_t *pid, ...)
{
	char *argv[16];
	int n = 0;
	char *port_file = fmt("%s/%s.port", case_dir, log_name);
	argv[n++] = "python3";
	argv[n++] = GIT_HTTP_SERVER;
	argv[n++] = "--root";
	argv[n++] = case_dir;
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	va_list ap;
	va_start(ap, pid);
	for (char *a = va_arg(ap, char *); a && n < 15; a = va_arg(ap, char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char *log = fmt("%s/%s.log", case_dir, log_name);
	*pid = start_bg(log, argv);
	char *text = NULL;
	for (int i = 0; !(text = slurp(port_file, NULL)); i++) {
		if (i > 1000 || !running(*pid))
			fail_msg("%s did not start:\n%s", GIT_HTTP_SERVER, slurp(log, NULL));
		sleep_ms(10);
	}
	int port = atoi(text);
	assert_true(port > 0);
	return port;
}

static char *http_log(const char *name)
{
	char *log = slurp(fmt("%s/%s.log", case_dir, name), NULL);
	return log ? log : "(no log)";
}

static void http_push_list_pull_and_apply_restore_the_model_bit_identical(void **state)
{
	(void)state;
	if (!have("python3") || !have(fmt("%s/git-http-backend", sh("git --exec-path"))))
		skip();
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(base), exp));
	sh("git -C ../remote.git config http.receivepack true");
	pid_t server;
	int port = start_http("http", &server, NULL);
	char *url = fmt("http://127.0.0.1:%d/remote.git", port);

	result r = LIVE("exp", "push", url);
	if (r.rc != 0)
		fail_msg("push over http: %s\nserver log:\n%s", r.err, http_log("http"));
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote '%s'.\n", exp, url));
	assert_string_equal(r.err, "");
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s%s'", exp_prefix(base), exp), tip);
	assert_contains(http_log("http"), "\"POST /remote.git/git-receive-pack HTTP/1.1\" 200");

	in("b");
	r = LIVE_OK("exp", "list", url);
	assert_string_equal(r.out, fmt("main:\n\t%s\n", exp));
	r = LIVE_OK("exp", "pull", url);
	assert_contains(r.out, fmt("Pulled experiment '%s' from Git remote '%s'.\n", exp, url));
	assert_string_equal(ref_sha(fmt("%s%s", exp_prefix(base), exp)), tip);
	LIVE_OK("exp", "apply", exp);
	assert_same_bytes("model.pt", "../a/model.pt");
	r = LIVE("exp", "list", fmt("http://127.0.0.1:%d/nothere.git", port));
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote 'http://127.0.0.1:%d/nothere.git': unexpected http status "
	                               "code: 404\n",
	                               port));

	/* A server that does not take pushes (http.receivepack off): named, nothing moves. */
	in("a");
	LIVE_OK("exp", "run", "-S", "lr=0.02");
	sh("git -C ../remote.git config http.receivepack false");
	r = LIVE("exp", "push", url, "-A");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': unexpected http status code: 403\n", url));
	assert_string_equal(remote_exp_refs(), fmt("%s%s", exp_prefix(base), exp));

	stop_bg(server);
	r = LIVE("exp", "list", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': failed to connect to 127.0.0.1: Connection refused\n",
	                               url));
}

static void http_credentials_come_from_the_url(void **state)
{
	(void)state;
	if (!have("python3"))
		skip();
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	pid_t server;
	int port = start_http("http", &server, "--auth", "alice:s3cret", NULL);
	char *bare = fmt("http://127.0.0.1:%d/remote.git", port);
	result r = LIVE("exp", "push", bare);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': the server asks for a user name and password: put them "
	                               "in the URL (http://user:password@127.0.0.1/...); live does not prompt\n",
	                               bare));
	char *wrong = fmt("http://alice:guess@127.0.0.1:%d/remote.git", port);
	r = LIVE("exp", "push", wrong);
	assert_int_equal(r.rc, 1);
	/* the password is never shown (as git: "***") */
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': the server refused the user name and password of the "
	                               "URL\n",
	                               fmt("http://alice:***@127.0.0.1:%d/remote.git", port)));
	assert_string_equal(remote_exp_refs(), "");
	/* Authenticated, pushes need no http.receivepack (REMOTE_USER is set). */
	char *good = fmt("http://alice:s3cret@127.0.0.1:%d/remote.git", port);
	r = LIVE("exp", "push", good);
	if (r.rc != 0)
		fail_msg("push with credentials: %s\nserver log:\n%s", r.err, http_log("http"));
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote 'http://alice:***@127.0.0.1:%d/remote.git'.\n",
	                           exp, port));
	assert_not_contains(r.out, "s3cret");
	assert_not_contains(r.err, "s3cret");
	assert_string_equal(remote_exp_refs(), fmt("%s%s", exp_prefix(base), exp));
	in("b");
	r = LIVE_OK("exp", "list", good);
	assert_string_equal(r.out, fmt("main:\n\t%s\n", exp));
}

static void https_trusts_only_a_known_certificate_authority(void **state)
{
	(void)state;
	if (!have("python3") || !have("openssl"))
		skip();
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(base), exp));
	sh("git -C ../remote.git config http.receivepack true");
	/* A self-signed certificate for localhost: its own authority. */
	char *crt = fmt("%s/tls.crt", case_dir), *key = fmt("%s/tls.key", case_dir);
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '%s' -out '%s' -days 2 "
	   "-subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null",
	   key, crt);
	pid_t server;
	int port = start_http("https", &server, "--tls", crt, key, NULL);
	char *url = fmt("https://localhost:%d/remote.git", port);

	/* The system's authorities do not know it. */
	result r = LIVE("exp", "push", url);
	assert_int_equal(r.rc, 1);
	char *untrusted = fmt("ERROR: Git remote '%s': the TLS certificate of localhost:%d is not trusted: if the "
	                      "server's certificate authority is your own, name its certificate in GIT_SSL_CAINFO or "
	                      "`git config http.sslCAInfo <file>`\n",
	                      url, port);
	assert_string_equal(r.err, untrusted);
	assert_string_equal(remote_exp_refs(), "");

	/* GIT_SSL_CAINFO names it. */
	const char *env[] = {fmt("GIT_SSL_CAINFO=%s", crt), NULL};
	run_opts o = {.env = env};
	r = LIVE_O(&o, "exp", "push", url);
	if (r.rc != 0)
		fail_msg("push over https: %s\nserver log:\n%s", r.err, http_log("https"));
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote '%s'.\n", exp, url));
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s%s'", exp_prefix(base), exp), tip);
	/* Trusted for localhost only: the same server as 127.0.0.1 is refused. */
	char *by_ip = fmt("https://127.0.0.1:%d/remote.git", port);
	r = LIVE_O(&o, "exp", "list", by_ip);
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, fmt("ERROR: Git remote '%s': the TLS certificate of 127.0.0.1:%d is not trusted", by_ip,
	                           port));

	/* B: http.sslCAInfo in its git config. */
	in("b");
	sh("git config http.sslCAInfo '%s'", crt);
	r = LIVE_OK("exp", "list", url);
	assert_string_equal(r.out, fmt("main:\n\t%s\n", exp));
	r = LIVE_OK("exp", "pull", url);
	assert_contains(r.out, fmt("Pulled experiment '%s' from Git remote '%s'.\n", exp, url));
	LIVE_OK("exp", "apply", exp);
	assert_same_bytes("model.pt", "../a/model.pt");
	/* A missing or unreadable authority file: named. */
	const char *missing_env[] = {fmt("GIT_SSL_CAINFO=%s/nope.crt", case_dir), NULL};
	run_opts missing = {.env = missing_env};
	r = LIVE_O(&missing, "exp", "list", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': GIT_SSL_CAINFO: %s/nope.crt: No such file or directory\n",
	                               url, case_dir));
	sh("git config http.sslCAInfo '%s/b/params.yaml'", case_dir);
	r = LIVE("exp", "list", url);
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, fmt("ERROR: Git remote '%s': http.sslCAInfo: failed to load CA certificates: ", url));
	assert_int_equal(count_lines(r.err), 1);
}

int main(void)
{
	/* The servers and trust of each case are its own: none of the caller's. */
	static const char *const unset[] = {"SSH_AUTH_SOCK", "SSH_AGENT_PID", "GIT_SSH", "GIT_SSH_COMMAND",
	                                    "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_SSL_NO_VERIFY", "http_proxy",
	                                    "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
	for (size_t i = 0; i < sizeof(unset) / sizeof(*unset); i++)
		unsetenv(unset[i]);
	if (ct_begin("test_cli_remote_net", LIVE_BIN, TINY_TRAINER, NULL))
		return 1;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ct_setup, teardown)
	        T(ssh_push_list_pull_and_apply_restore_the_model_bit_identical),
	        T(http_push_list_pull_and_apply_restore_the_model_bit_identical),
	        T(http_credentials_come_from_the_url),
	        T(https_trusts_only_a_known_certificate_authority),
#undef T
	};
	return ct_end(cmocka_run_group_tests(tests, NULL, NULL));
}
