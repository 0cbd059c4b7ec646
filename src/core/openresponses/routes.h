/*
 * routes.h - the routes file (--gateway-routes): public model names, their
 * aliases and the ordered targets that serve them, and the circuit breaker
 * each target has.
 *
 * The file is JSON, version 1:
 *   {"version": 1, "default": "smart",
 *    "breaker": {"failures": 5, "cooldown_ms": 30000},          (optional)
 *    "routes": [{"model": "smart", "aliases": ["best"],
 *                "targets": [{"provider": "openai", "model": "gpt-4o-mini",
 *                             "base_url": "...", "api_key_env": "OPENAI_API_KEY",
 *                             "timeout_ms": 60000, "retries": 1}]}]}
 * gw_routes_parse validates all of it before anything is used: every
 * error is one line naming the file, the line and column and what is
 * wrong (exit class 65).  Keys never appear in the file: a target names
 * the environment variable that holds its key, and a member called
 * api_key (or anything else unknown) is refused.
 *
 * The breaker (gw_routes_breaker) is plain state with a mutex: closed, open
 * after N consecutive failures, one probe allowed once the cooldown has
 * passed (half-open), closed again by a success, opened again by a
 * failure.  The core keeps no clock of its own here: callers pass the
 * monotonic time.
 *
 * Ownership: a gw_routes is made by gw_routes_parse / gw_routes_load and
 * released by gw_routes_free; every string it hands out lives as long as
 * it does.  It is immutable once made, so any number of threads may read
 * it.
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* Defaults, the one place these numbers are written. */
#define GW_ROUTES_VERSION 1
#define GW_ROUTES_DEFAULT_BREAKER_FAILURES 5
#define GW_ROUTES_DEFAULT_BREAKER_COOLDOWN_MS 30000
#define GW_ROUTES_DEFAULT_RETRIES 0
#define GW_ROUTES_MAX_TARGETS 16
#define GW_ROUTES_MAX_ROUTES 1024
#define GW_ROUTES_MAX_NAME 128

typedef struct gw_routes_target {
	const char *provider;       /* "openai", "anthropic", "google", "local" */
	const char *model;          /* the upstream's model name ("echo" for local) */
	const char *spec;           /* "<provider>/<model>", as gw_provider_config.model */
	const char *base_url;       /* NULL: the provider's default */
	const char *api_key_env;    /* NULL: no key */
	uint64_t timeout_ms;        /* 0: the server's --request-timeout-ms */
	uint64_t retries;
	unsigned line, col;         /* where the target's object starts */
} gw_routes_target;

typedef struct gw_routes_route {
	const char *model;          /* the public name */
	const char **aliases;
	size_t naliases;
	gw_routes_target *targets;
	size_t ntargets;
} gw_routes_route;

typedef struct gw_routes gw_routes;

/* Parses and validates the file's text (n bytes); path names it in
 * messages.  0 and *out, or -EINVAL with err set (exit class 65) and
 * *out NULL. */
int gw_routes_parse(const char *text, size_t n, const char *path, gw_routes **out, gw_err *err);
/* Reads path and parses it.  0, or -errno with err set (65 for a bad
 * file, 66 for a missing one). */
int gw_routes_load(const char *path, gw_routes **out, gw_err *err);
void gw_routes_free(gw_routes *r);

size_t gw_routes_count(const gw_routes *r);
const gw_routes_route *gw_routes_at(const gw_routes *r, size_t i);
/* The route for a request's model (a public name or an alias; NULL: the
 * default route).  The index, or -1 when nothing matches. */
long gw_routes_find(const gw_routes *r, const char *model);
/* The default route's public name, or NULL when the file names none. */
const char *gw_routes_default(const gw_routes *r);
uint64_t gw_routes_breaker_failures(const gw_routes *r);
uint64_t gw_routes_breaker_cooldown_ms(const gw_routes *r);

/* ---- the circuit breaker of one target ---- */

typedef enum gw_routes_circuit {
	GW_ROUTES_CLOSED = 0,
	GW_ROUTES_OPEN = 1,
	GW_ROUTES_HALF_OPEN = 2     /* one probe in flight */
} gw_routes_circuit;

typedef struct gw_routes_breaker {
	pthread_mutex_t lock;
	gw_routes_circuit state;
	uint64_t failures;          /* consecutive */
	uint64_t opened_ms;
	uint64_t threshold, cooldown_ms;
} gw_routes_breaker;

void gw_routes_breaker_init(gw_routes_breaker *b, uint64_t threshold, uint64_t cooldown_ms);
void gw_routes_breaker_destroy(gw_routes_breaker *b);
/* Sets b's threshold and cooldown (a reload's), keeping its state. */
void gw_routes_breaker_configure(gw_routes_breaker *b, uint64_t threshold, uint64_t cooldown_ms);
/* May a request try this target now?  An open breaker whose cooldown has
 * passed lets exactly one caller through (half-open) and says so in
 * *probe. */
bool gw_routes_breaker_allow(gw_routes_breaker *b, uint64_t now_ms, bool *probe);
/* The outcome of an attempt the breaker allowed. */
void gw_routes_breaker_record(gw_routes_breaker *b, bool ok, uint64_t now_ms);
/* An allowed attempt that ended with no verdict (the client went away):
 * a probe gives its turn back, so the next request probes. */
void gw_routes_breaker_abandon(gw_routes_breaker *b, bool probe);
gw_routes_circuit gw_routes_breaker_state(gw_routes_breaker *b);
/* "closed", "open", "half_open" (static). */
const char *gw_routes_circuit_name(gw_routes_circuit c);

#endif
