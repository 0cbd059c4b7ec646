/*
 * router.h - the server's routes (--gateway-routes): which provider serves
 * a request's model, the per-target circuit breakers and counters, and the
 * reload (SIGHUP, the console's reload).
 *
 * A table is one parsed routes file (core/openresponses/routes.h) with a
 * provider (gw_provider_new, one per target), a breaker and counters per
 * target.  Requests take a reference to the current table for their whole
 * run (srv_router_acquire / srv_router_release), so a reload never pulls a
 * provider from under a request: the new table serves new requests, and
 * the old one is freed when its last request ends (an event loop's cached
 * reference goes at the reload: srv_router_cache_sweep).  A reload
 * validates the whole file and builds every provider first; anything wrong
 * leaves the old table serving.  A target the new file keeps unchanged
 * (the same route name, provider, model and base URL) keeps its counters
 * and its breaker (an srv_rstats both tables share, so requests still
 * running on the old table count there too); a new or changed target
 * starts from zero with its circuit closed, and so does every route's
 * fallback count.
 *
 * Ownership: the router is made by srv_router_new and freed by
 * srv_router_free (after every request ended); a table reference from
 * srv_router_acquire is given back with srv_router_release.  Strings
 * handed out live as long as the table.
 */
#ifndef SRV_ROUTER_H
#define SRV_ROUTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/openresponses/provider.h"
#include "core/openresponses/routes.h"

/* A target's counters and breaker: shared by the tables of the reloads
 * that keep the target unchanged, freed with the last of them. */
typedef struct srv_rstats {
	atomic_int refs;                    /* the tables holding it */
	gw_routes_breaker breaker;
	atomic_uint_fast64_t requests;      /* attempts at this target (breaker allowed) */
	atomic_uint_fast64_t errors;        /* of those, failed */
	atomic_uint_fast64_t upstream_attempts; /* HTTP attempts, retries included */
	atomic_uint_fast64_t skipped;       /* passed over while its circuit was open */
} srv_rstats;

typedef struct srv_rtarget {
	const gw_routes_target *t;
	const char *route;                  /* the route's public name */
	size_t index;                       /* its place in the route, from 0 */
	gw_provider *prov;
	srv_rstats *st;                     /* counters and breaker, referenced */
	void *srv_ctx;                      /* the server's attempt callback context */
	gw_provider_attempt_fn srv_attempt;
	gw_provider_log_fn srv_log;         /* the server's log, with srv_ctx */
} srv_rtarget;

typedef struct srv_rroute {
	srv_rtarget *targets;
	size_t ntargets;
	atomic_uint_fast64_t fallbacks;     /* a later target tried after a failure */
} srv_rroute;

typedef struct srv_rtable {
	gw_routes *routes;
	srv_rroute *r;
	size_t nroutes;
	atomic_int refs;                    /* the router's, the caches', the requests' */
	uint64_t generation;
} srv_rtable;

typedef struct srv_router srv_router;

/* Loads path and builds its first table; base supplies the server's
 * default timeout and the attempt and log callbacks (with their ctx).
 * 0, or -errno with err set (65: a bad file, naming line and column; 66:
 * missing; a provider that cannot be made). */
int srv_router_new(const char *path, const gw_provider_config *base, srv_router **out,
    gw_err *err);
void srv_router_free(srv_router *r);
/* The current table, referenced; never NULL. */
srv_rtable *srv_router_acquire(srv_router *r);
void srv_router_release(srv_router *r, srv_rtable *t);
/* srv_router_acquire for a thread that keeps a table between requests in
 * *cache (an event loop): while the generation has not moved, one atomic
 * load and one increment, no lock.  *cache holds a reference of its own;
 * srv_router_cache_drop gives it back (before srv_router_free). */
srv_rtable *srv_router_acquire_cached(srv_router *r, srv_rtable **cache);
void srv_router_cache_drop(srv_router *r, srv_rtable **cache);
/* Drops *cache's reference when a reload replaced that table (one atomic
 * load otherwise), so an idle loop does not keep an old table alive; the
 * table is freed here when that was its last reference. */
void srv_router_cache_sweep(srv_router *r, srv_rtable **cache);
/* Reads the file again and, when all of it is valid, serves it.  0, or
 * -errno with err set and the old table still serving. */
int srv_router_reload(srv_router *r, gw_err *err);
const char *srv_router_path(const srv_router *r);
/* Counters of reloads applied and refused. */
void srv_router_reloads(srv_router *r, uint64_t *applied, uint64_t *refused);

/* The route a request's model selects (NULL: the default), or -1. */
long srv_rtable_find(const srv_rtable *t, const char *model);
const char *srv_rtable_name(const srv_rtable *t, long route);

/* Appends the "routes" object of /gateway/status (compact JSON). */
void srv_router_status_json(srv_router *r, gw_buf *out);
/* Fills lines[0..max) with "route provider/model circuit requests/errors",
 * one per target in file order; *n the lines filled, *total every target. */
void srv_router_lines(srv_router *r, char (*lines)[96], unsigned max, unsigned *n,
    unsigned *total);
/* Appends the per-target Prometheus series of /metrics. */
void srv_router_metrics(srv_router *r, gw_buf *out);

#endif
