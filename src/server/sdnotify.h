/*
 * sdnotify.h - systemd's service notification protocol, spoken directly
 * (no libsystemd): datagrams to the AF_UNIX socket named by $NOTIFY_SOCKET
 * (a path, or an abstract name written with a leading '@').  The
 * foreground server sends READY=1 once it listens, WATCHDOG=1 every
 * WATCHDOG_USEC/2 while it waits for a signal (when $WATCHDOG_USEC is set
 * and $WATCHDOG_PID is unset or names this process), and STOPPING=1 when a
 * signal ends it.  Without $NOTIFY_SOCKET every call does nothing.
 *
 * Ownership: a srv_sdnotify is the caller's (usually on its stack); it owns
 * one socket until srv_sdnotify_close.
 */
#ifndef SRV_SDNOTIFY_H
#define SRV_SDNOTIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef struct srv_sdnotify {
	int fd;                       /* -1: not under a service manager (or unusable) */
	struct sockaddr_un addr;
	socklen_t addr_len;
	uint64_t watchdog_ms;         /* the WATCHDOG=1 period (WATCHDOG_USEC/2); 0: none */
	char error[160];              /* why $NOTIFY_SOCKET was not usable ("": it is, or unset) */
} srv_sdnotify;

/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID and opens the
 * datagram socket.  Never fails: an unusable value leaves n disabled and
 * says why in n->error. */
void srv_sdnotify_open(srv_sdnotify *n);
/* Sends state ("READY=1", "STOPPING=1\nSTATUS=...") in one datagram.
 * 0, or -errno (also when disabled: -ENOTCONN). */
int srv_sdnotify_send(srv_sdnotify *n, const char *state);
/* Waits for one of the signals in set (blocked by the caller) and returns
 * it, sending WATCHDOG=1 every n->watchdog_ms meanwhile. */
int srv_sdnotify_wait_signal(srv_sdnotify *n, const sigset_t *set);
void srv_sdnotify_close(srv_sdnotify *n);

#endif
