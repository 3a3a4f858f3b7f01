/* Shared helpers of the exp push/pull tests (remotetest.h). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clitest.h"
#include "remotetest.h"
#include "testutil.h"

#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif

char case_dir[4096];

void in(const char *sub)
{
	char *path = fmt("%s%s%s", case_dir, *sub ? "/" : "", sub);
	if (chdir(path) != 0)
		fail_msg("chdir %s: %s", path, strerror(errno));
}

void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

char *two_clones(const char *params)
{
	assert_non_null(getcwd(case_dir, sizeof(case_dir)));
	sh("mkdir a storage");
	in("a");
	git_init_repo(1);
	LIVE_OK("init", "-q");
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", params);
	LIVE_OK("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "--plots-no-cache",
	        "predictions.json", "-p", "epochs,lr,model_bytes", "--live", "dvclive", "./train");
	result r = LIVE_OK("remote", "add", "-d", "storage", "../storage");
	assert_string_equal(r.out, "Setting 'storage' as a default remote.\n");
	commit_all("baseline");
	char *base = sh("git rev-parse HEAD");
	in("");
	sh("git clone -q --bare a remote.git && git clone -q remote.git b");
	sh("git -C a remote add origin ../remote.git");
	sh("git -C b config user.name '" CT_ID_NAME "' && git -C b config user.email " CT_ID_EMAIL);
	in("a");
	return base;
}

char *only_exp(const char *base)
{
	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 1);
	return fmt("%s", names[0]);
}

void assert_same_bytes(const char *a, const char *b)
{
	size_t la, lb;
	char *x = slurp(a, &la), *y = slurp(b, &lb);
	if (!x || !y)
		fail_msg("missing: %s or %s", a, b);
	assert_int_equal(la, lb);
	assert_memory_equal(x, y, la);
}

int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

int port_open(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}
