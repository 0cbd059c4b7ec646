/*
 * err.h - the caller-supplied error buffer and the exit-status vocabulary.
 *
 * Core functions return 0 on success or a negative errno, and put one line
 * of human detail plus an exit-status class into a gw_err the caller owns.
 * The message names what is wrong and where ("fixture x.json: case 'y': ...").
 */
#ifndef GW_ERR_H
#define GW_ERR_H

#include <stdarg.h>

/* Exit statuses (sysexits.h numbering), documented in tau-gateway(1). */
enum gw_exit {
	GW_EXIT_OK = 0,
	GW_EXIT_FAIL = 1,         /* ran, and reported failure (contract mismatch, gate hold with --gateway-fail-on-hold) */
	GW_EXIT_USAGE = 64,       /* bad flags */
	GW_EXIT_DATAERR = 65,     /* bad input data: fixture, state file */
	GW_EXIT_NOINPUT = 66,     /* missing input file */
	GW_EXIT_UNAVAILABLE = 69, /* service unavailable: bind failed, upstream down */
	GW_EXIT_SOFTWARE = 70,    /* internal error */
	GW_EXIT_CANTCREAT = 73,   /* cannot create output */
	GW_EXIT_IOERR = 74        /* I/O error */
};

typedef struct gw_err {
	int exit_code;   /* enum gw_exit class of the failure; 0 when clear */
	char msg[1024];  /* one line, no trailing newline */
} gw_err;

/* Clears e (NULL is allowed everywhere a gw_err * is taken). */
void gw_err_clear(gw_err *e);
/* Sets e's class and message; returns ret so callers can `return gw_err_set(...)`. */
int gw_err_set(gw_err *e, int ret, int exit_code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* gw_err_set for wrappers that take their own variable arguments. */
int gw_err_vset(gw_err *e, int ret, int exit_code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* The exit status of a failure reported in e: its class, or
 * GW_EXIT_SOFTWARE when the failure set none. */
int gw_err_exit(const gw_err *e);
/* Prefixes e's message with formatted text followed by ": ". */
void gw_err_prefix(gw_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
