/*
 * sdnotify.c - sd_notify(3)'s wire protocol without libsystemd (see
 * sdnotify.h): one datagram per state change, "KEY=VALUE" lines.
 */
#include "server/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A decimal with nothing after it, no sign, no overflow. */
static bool
srv_sdnotify_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

void
srv_sdnotify_open(srv_sdnotify *n)
{
	memset(n, 0, sizeof(*n));
	n->fd = -1;
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0')
		return;
	size_t len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path)) {
		snprintf(n->error, sizeof(n->error), "NOTIFY_SOCKET '%.100s' is not an absolute path or an @abstract name",
		    path);
		return;
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0'; /* abstract: no NUL terminator counted */
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		snprintf(n->error, sizeof(n->error), "NOTIFY_SOCKET: socket: %s", strerror(errno));
		return;
	}
	uint64_t usec, pid;
	const char *wpid = getenv("WATCHDOG_PID");
	bool ours = wpid == NULL || wpid[0] == '\0' ||
	    (srv_sdnotify_u64(wpid, &pid) && pid == (uint64_t)getpid());
	if (ours && srv_sdnotify_u64(getenv("WATCHDOG_USEC"), &usec) && usec > 0) {
		n->watchdog_ms = usec / 2000;
		if (n->watchdog_ms == 0)
			n->watchdog_ms = 1;
	}
}

int
srv_sdnotify_send(srv_sdnotify *n, const char *state)
{
	if (n->fd < 0)
		return -ENOTCONN;
	ssize_t w;
	do
		w = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
		    n->addr_len);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

int
srv_sdnotify_wait_signal(srv_sdnotify *n, const sigset_t *set)
{
	int sig = 0;
	if (n->fd < 0 || n->watchdog_ms == 0) {
		while (sigwait(set, &sig) != 0)
			;
		return sig;
	}
	srv_sdnotify_send(n, "WATCHDOG=1");
	for (;;) {
		struct timespec ts = { .tv_sec = (time_t)(n->watchdog_ms / 1000),
			.tv_nsec = (long)(n->watchdog_ms % 1000) * 1000000L };
		sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			srv_sdnotify_send(n, "WATCHDOG=1");
	}
}

void
srv_sdnotify_close(srv_sdnotify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
