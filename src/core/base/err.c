/*
 * err.c - error buffers.  Messages are single lines: newlines in inputs are
 * flattened so a message never breaks the one-line contract.
 */
#include "core/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
gw_err_clear(gw_err *e)
{
	if (e == NULL)
		return;
	e->exit_code = 0;
	e->msg[0] = '\0';
}

static void
gw_err_flatten(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

int
gw_err_vset(gw_err *e, int ret, int exit_code, const char *fmt, va_list ap)
{
	if (e == NULL)
		return ret;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	gw_err_flatten(e->msg);
	e->exit_code = exit_code;
	return ret;
}

int
gw_err_set(gw_err *e, int ret, int exit_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gw_err_vset(e, ret, exit_code, fmt, ap);
	va_end(ap);
	return ret;
}

void
gw_err_prefix(gw_err *e, const char *fmt, ...)
{
	if (e == NULL)
		return;
	char pre[512], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", e->msg);
	snprintf(e->msg, sizeof(e->msg), "%s: %s", pre, old);
	gw_err_flatten(e->msg);
}

int
gw_err_exit(const gw_err *e)
{
	return e != NULL && e->exit_code != 0 ? e->exit_code : GW_EXIT_SOFTWARE;
}
