/* Per-thread error messages and the fixed texts of the error codes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char errmsg[1024] = "no error";

const char *live_errmsg(void)
{
	return errmsg;
}

const char *live_strerror(int code)
{
	switch (code) {
	case LIVE_OK: return "success";
	case LIVE_ERROR: return "unexpected error";
	case LIVE_EINVALID: return "invalid argument";
	case LIVE_EIO: return "input/output error";
	case LIVE_ENOMEM: return "out of memory";
	case LIVE_ECONFIG: return "options contradict the environment";
	case LIVE_EPARSE: return "malformed input";
	case LIVE_ENOTFOUND: return "not found";
	case LIVE_ETYPE: return "wrong type";
	case LIVE_ECLOSED: return "run is closed";
	case LIVE_ECHECKPOINT: return "checkpoint channel failed";
	case LIVE_EGIT: return "git error";
	case LIVE_ELOCKED: return "repository is locked";
	default: return "unknown error code";
	}
}

const char *live_version_string(void)
{
	return LIVE_VERSION_STRING;
}

int live__fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return code;
}

int live__fail_errno(int code, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(errmsg))
		snprintf(errmsg + n, sizeof(errmsg) - (size_t)n, ": %s", strerror(err));
	return code;
}

int live__errno_code(int err)
{
	return err == ENOMEM ? LIVE_ENOMEM : LIVE_EIO;
}
