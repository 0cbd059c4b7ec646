/*
 * router.c - the server's routes: tables of providers built from the
 * routes file, referenced by requests, swapped by a reload.
 *
 * A table owns one gw_provider per target (its model "<provider>/<model>",
 * its base URL, the key read from the target's api_key_env when the table
 * is built, its timeout and retries), a breaker per target and counters.
 * The current table is a pointer under the router's mutex, its generation
 * an atomic beside it.  A request takes a reference for its run: an event
 * loop keeps the table it last used (a reference of its own) and takes
 * the lock only when the generation moved, so a request costs an atomic
 * load, an increment and a decrement.  A table whose last reference goes is freed by
 * whoever dropped it (a provider's free joins its transfer thread; with
 * no reference left no call is open on it, so the join does not wait):
 * the last request on it, or a loop whose cache a reload made stale
 * (srv_router_cache_sweep, which the reload wakes every loop to run).
 * A new table takes over the srv_rstats of every target the old table
 * had unchanged (srv_rtable_build).
 */
#include "server/router.h"
#include "core/base/clock.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Route tables in memory, process-wide: the current one and replaced ones
 * a request still holds (/gateway/status "tables_alive"). */
static atomic_uint_fast64_t srv_rtables_alive;

struct srv_router {
	pthread_mutex_t lock;
	srv_rtable *cur;
	char *path;
	gw_provider_config base;            /* timeout, attempt, log, ctx */
	uint64_t generation;
	atomic_uint_fast64_t cur_generation; /* cur's, for the caches */
	uint64_t applied, refused;          /* reloads, under lock */
};

/* The provider's attempt callback: the target's count, then the server's. */
static void
srv_router_attempt(void *ctx, unsigned status)
{
	srv_rtarget *tg = ctx;
	atomic_fetch_add(&tg->st->upstream_attempts, 1);
	if (tg->srv_attempt)
		tg->srv_attempt(tg->srv_ctx, status);
}

static void
srv_router_log(void *ctx, const char *line)
{
	srv_rtarget *tg = ctx;
	if (tg->srv_log)
		tg->srv_log(tg->srv_ctx, line);
}

static void
srv_rstats_release(srv_rstats *st)
{
	if (st != NULL && atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1) {
		gw_routes_breaker_destroy(&st->breaker);
		free(st);
	}
}

static void
srv_rtable_free(srv_rtable *t)
{
	if (t == NULL)
		return;
	atomic_fetch_sub(&srv_rtables_alive, 1);
	for (size_t i = 0; i < t->nroutes; i++) {
		for (size_t k = 0; k < t->r[i].ntargets; k++) {
			gw_provider_free(t->r[i].targets[k].prov);
			srv_rstats_release(t->r[i].targets[k].st);
		}
		free(t->r[i].targets);
	}
	free(t->r);
	gw_routes_free(t->routes);
	free(t);
}

static bool
srv_same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The route of old (NULL: none) whose own name is name (not an alias of
 * it), or NULL. */
static const srv_rroute *
srv_rtable_route(const srv_rtable *old, const char *name)
{
	long i = old != NULL ? gw_routes_find(old->routes, name) : -1;
	return i >= 0 && strcmp(gw_routes_at(old->routes, (size_t)i)->model, name) == 0 ?
	    &old->r[i] : NULL;
}

/* The stats of the target of orr (the old table's route of that name,
 * NULL: none) that is gt unchanged and that no earlier target of the new
 * route took (taken[k] marks them), referenced; else fresh ones.
 * Unchanged: provider, model and base URL (a key, a timeout or retries
 * may change). */
static srv_rstats *
srv_rstats_for(const srv_rroute *orr, const gw_routes_target *gt, bool *taken,
    const gw_routes *routes)
{
	if (orr != NULL) {
		for (size_t k = 0; k < orr->ntargets; k++) {
			const gw_routes_target *ot = orr->targets[k].t;
			if (taken[k] || strcmp(ot->provider, gt->provider) != 0 ||
			    strcmp(ot->model, gt->model) != 0 || !srv_same_str(ot->base_url, gt->base_url))
				continue;
			taken[k] = true;
			srv_rstats *st = orr->targets[k].st;
			atomic_fetch_add(&st->refs, 1);
			gw_routes_breaker_configure(&st->breaker, gw_routes_breaker_failures(routes),
			    gw_routes_breaker_cooldown_ms(routes));
			return st;
		}
	}
	srv_rstats *st = gw_xcalloc(1, sizeof(*st));
	atomic_init(&st->refs, 1);
	gw_routes_breaker_init(&st->breaker, gw_routes_breaker_failures(routes),
	    gw_routes_breaker_cooldown_ms(routes));
	return st;
}

/* A table for routes (taken over, freed on failure); the targets old (NULL:
 * none) has unchanged keep their stats. */
static int
srv_rtable_build(srv_router *r, gw_routes *routes, const srv_rtable *old, srv_rtable **out,
    gw_err *err)
{
	srv_rtable *t = gw_xcalloc(1, sizeof(*t));
	atomic_fetch_add(&srv_rtables_alive, 1);
	t->routes = routes;
	t->nroutes = gw_routes_count(routes);
	t->r = gw_xcalloc(t->nroutes, sizeof(*t->r));
	atomic_init(&t->refs, 1);
	for (size_t i = 0; i < t->nroutes; i++) {
		const gw_routes_route *rt = gw_routes_at(routes, i);
		t->r[i].targets = gw_xcalloc(rt->ntargets, sizeof(*t->r[i].targets));
		t->r[i].ntargets = rt->ntargets;
		const srv_rroute *orr = srv_rtable_route(old, rt->model);
		bool *taken = gw_xcalloc(orr != NULL ? orr->ntargets + 1 : 1, sizeof(bool));
		for (size_t k = 0; k < rt->ntargets; k++) {
			srv_rtarget *tg = &t->r[i].targets[k];
			const gw_routes_target *gt = &rt->targets[k];
			tg->t = gt;
			tg->route = rt->model;
			tg->index = k;
			tg->srv_attempt = r->base.attempt;
			tg->srv_ctx = r->base.ctx;
			tg->srv_log = r->base.log;
			tg->st = srv_rstats_for(orr, gt, taken, routes);
			gw_provider_config pc = {
				.model = gt->spec,
				.base_url = gt->base_url,
				.api_key = gt->api_key_env ? getenv(gt->api_key_env) : NULL,
				.timeout_ms = gt->timeout_ms ? gt->timeout_ms : r->base.timeout_ms,
				.max_retries = gt->retries,
				.attempt = srv_router_attempt,
				.log = srv_router_log,
				.ctx = tg,
			};
			if (gw_provider_new(&pc, &tg->prov, err) != 0) {
				gw_err_prefix(err, "%s:%u:%u: route \"%s\" target %zu", r->path, gt->line,
				    gt->col, rt->model, k + 1);
				err->exit_code = GW_EXIT_DATAERR;
				free(taken);
				srv_rtable_free(t);
				return -EINVAL;
			}
		}
		free(taken);
	}
	*out = t;
	return 0;
}

int
srv_router_new(const char *path, const gw_provider_config *base, srv_router **out, gw_err *err)
{
	*out = NULL;
	gw_routes *routes;
	int rc = gw_routes_load(path, &routes, err);
	if (rc != 0) {
		if (err->exit_code == 0)
			err->exit_code = GW_EXIT_DATAERR;
		return rc;
	}
	srv_router *r = gw_xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->path = gw_xstrdup(path);
	r->base = *base;
	if ((rc = srv_rtable_build(r, routes, NULL, &r->cur, err)) != 0) {
		srv_router_free(r);
		return rc;
	}
	r->cur->generation = ++r->generation;
	atomic_store(&r->cur_generation, r->cur->generation);
	*out = r;
	return 0;
}

void
srv_router_free(srv_router *r)
{
	if (r == NULL)
		return;
	srv_router_release(r, r->cur);
	pthread_mutex_destroy(&r->lock);
	free(r->path);
	free(r);
}

srv_rtable *
srv_router_acquire(srv_router *r)
{
	/* under the lock, cur cannot be swapped and let go meanwhile */
	pthread_mutex_lock(&r->lock);
	srv_rtable *t = r->cur;
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&r->lock);
	return t;
}

void
srv_router_release(srv_router *r, srv_rtable *t)
{
	(void)r;
	if (t != NULL && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		srv_rtable_free(t);
}

srv_rtable *
srv_router_acquire_cached(srv_router *r, srv_rtable **cache)
{
	srv_rtable *t = *cache;
	if (t == NULL || t->generation != atomic_load_explicit(&r->cur_generation,
	    memory_order_acquire)) {
		srv_router_release(r, t);
		t = *cache = srv_router_acquire(r);
	}
	/* the cache's own reference keeps t alive while this one is taken */
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void
srv_router_cache_drop(srv_router *r, srv_rtable **cache)
{
	srv_router_release(r, *cache);
	*cache = NULL;
}

void
srv_router_cache_sweep(srv_router *r, srv_rtable **cache)
{
	if (*cache != NULL && (*cache)->generation != atomic_load_explicit(&r->cur_generation,
	    memory_order_acquire))
		srv_router_cache_drop(r, cache);
}

int
srv_router_reload(srv_router *r, gw_err *err)
{
	gw_routes *routes;
	int rc = gw_routes_load(r->path, &routes, err);
	srv_rtable *t = NULL;
	if (rc == 0) {
		/* the stats come from the table current now: reloads come one
		 * at a time (the signal thread, the console's prompt), and two
		 * that raced would only start some counters afresh */
		srv_rtable *cur = srv_router_acquire(r);
		rc = srv_rtable_build(r, routes, cur, &t, err);
		srv_router_release(r, cur);
	}
	pthread_mutex_lock(&r->lock);
	srv_rtable *old = NULL;
	if (rc == 0) {
		t->generation = ++r->generation;
		old = r->cur;
		r->cur = t;
		atomic_store_explicit(&r->cur_generation, t->generation, memory_order_release);
		r->applied++;
	} else {
		r->refused++;
		if (err->exit_code == 0)
			err->exit_code = GW_EXIT_DATAERR;
	}
	pthread_mutex_unlock(&r->lock);
	srv_router_release(r, old); /* the router's reference */
	return rc;
}

const char *
srv_router_path(const srv_router *r)
{
	return r->path;
}

void
srv_router_reloads(srv_router *r, uint64_t *applied, uint64_t *refused)
{
	pthread_mutex_lock(&r->lock);
	*applied = r->applied;
	*refused = r->refused;
	pthread_mutex_unlock(&r->lock);
}

long
srv_rtable_find(const srv_rtable *t, const char *model)
{
	return gw_routes_find(t->routes, model);
}

const char *
srv_rtable_name(const srv_rtable *t, long route)
{
	return gw_routes_at(t->routes, (size_t)route)->model;
}

void
srv_router_status_json(srv_router *r, gw_buf *out)
{
	srv_rtable *t = srv_router_acquire(r);
	uint64_t applied, refused;
	srv_router_reloads(r, &applied, &refused);
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	const char *def = gw_routes_default(t->routes);
	gw_jw_key(&w, "default");
	if (def)
		gw_jw_str(&w, def);
	else
		gw_jw_null(&w);
	gw_jw_kstr(&w, "file", r->path);
	gw_jw_ku64(&w, "generation", t->generation);
	gw_jw_ku64(&w, "reloads_applied", applied);
	gw_jw_ku64(&w, "reloads_refused", refused);
	gw_jw_ku64(&w, "tables_alive", atomic_load(&srv_rtables_alive));
	gw_jw_key(&w, "routes");
	gw_jw_arr_begin(&w);
	for (size_t i = 0; i < t->nroutes; i++) {
		const gw_routes_route *rt = gw_routes_at(t->routes, i);
		gw_jw_obj_begin(&w);
		gw_jw_key(&w, "aliases");
		gw_jw_arr_begin(&w);
		for (size_t a = 0; a < rt->naliases; a++)
			gw_jw_str(&w, rt->aliases[a]);
		gw_jw_arr_end(&w);
		gw_jw_ku64(&w, "fallbacks", atomic_load(&t->r[i].fallbacks));
		gw_jw_kstr(&w, "model", rt->model);
		gw_jw_key(&w, "targets");
		gw_jw_arr_begin(&w);
		for (size_t k = 0; k < t->r[i].ntargets; k++) {
			srv_rtarget *tg = &t->r[i].targets[k];
			gw_jw_obj_begin(&w);
			gw_jw_ku64(&w, "attempts", atomic_load(&tg->st->upstream_attempts));
			gw_jw_kstr(&w, "circuit", gw_routes_circuit_name(gw_routes_breaker_state(&tg->st->breaker)));
			gw_jw_ku64(&w, "errors", atomic_load(&tg->st->errors));
			gw_jw_kstr(&w, "model", tg->t->model);
			gw_jw_kstr(&w, "provider", tg->t->provider);
			gw_jw_ku64(&w, "requests", atomic_load(&tg->st->requests));
			gw_jw_ku64(&w, "skipped", atomic_load(&tg->st->skipped));
			gw_jw_obj_end(&w);
		}
		gw_jw_arr_end(&w);
		gw_jw_obj_end(&w);
	}
	gw_jw_arr_end(&w);
	gw_jw_obj_end(&w);
	srv_router_release(r, t);
}

void
srv_router_lines(srv_router *r, char (*lines)[96], unsigned max, unsigned *n, unsigned *total)
{
	srv_rtable *t = srv_router_acquire(r);
	*n = *total = 0;
	for (size_t i = 0; i < t->nroutes; i++)
		for (size_t k = 0; k < t->r[i].ntargets; k++, (*total)++) {
			srv_rtarget *tg = &t->r[i].targets[k];
			if (*n >= max)
				continue;
			snprintf(lines[(*n)++], 96, "%-16.16s %-32.32s %-9s req %llu err %llu",
			    tg->route, tg->t->spec,
			    gw_routes_circuit_name(gw_routes_breaker_state(&tg->st->breaker)),
			    (unsigned long long)atomic_load(&tg->st->requests),
			    (unsigned long long)atomic_load(&tg->st->errors));
		}
	srv_router_release(r, t);
}

/* A Prometheus label value: \, " and newline escaped. */
static void
srv_router_label(gw_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			gw_buf_putc(b, '\\');
		if (*s == '\n') {
			gw_buf_puts(b, "\\n");
			continue;
		}
		gw_buf_putc(b, *s);
	}
}

static void
srv_router_series(gw_buf *b, const char *name, const srv_rtarget *tg)
{
	gw_buf_printf(b, "%s{route=\"", name);
	srv_router_label(b, tg->route);
	gw_buf_printf(b, "\",target=\"%zu\",provider=\"", tg->index);
	srv_router_label(b, tg->t->provider);
	gw_buf_puts(b, "\",model=\"");
	srv_router_label(b, tg->t->model);
	gw_buf_puts(b, "\"} ");
}

void
srv_router_metrics(srv_router *r, gw_buf *b)
{
	srv_rtable *t = srv_router_acquire(r);
	static const struct {
		const char *name, *help, *type;
		int what;
	} fams[] = {
		{ "tau_gateway_route_target_requests_total",
		  "Requests a route's target was tried for (its circuit let them through).", "counter", 0 },
		{ "tau_gateway_route_target_errors_total", "Of those, the failed ones.", "counter", 1 },
		{ "tau_gateway_route_target_attempts_total",
		  "Upstream HTTP attempts at a route's target, retries included.", "counter", 2 },
		{ "tau_gateway_route_target_skipped_total",
		  "Requests that passed a target over while its circuit was open.", "counter", 3 },
		{ "tau_gateway_route_target_circuit_state",
		  "A target's circuit breaker: 0 closed, 1 open, 2 half-open (one probe).", "gauge", 4 },
	};
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		gw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name, fams[f].help, fams[f].name,
		    fams[f].type);
		for (size_t i = 0; i < t->nroutes; i++)
			for (size_t k = 0; k < t->r[i].ntargets; k++) {
				srv_rtarget *tg = &t->r[i].targets[k];
				uint64_t v = fams[f].what == 0 ? atomic_load(&tg->st->requests) :
				    fams[f].what == 1 ? atomic_load(&tg->st->errors) :
				    fams[f].what == 2 ? atomic_load(&tg->st->upstream_attempts) :
				    fams[f].what == 3 ? atomic_load(&tg->st->skipped) :
				    (uint64_t)gw_routes_breaker_state(&tg->st->breaker);
				srv_router_series(b, fams[f].name, tg);
				gw_buf_put_u64(b, v);
				gw_buf_putc(b, '\n');
			}
	}
	gw_buf_puts(b, "# HELP tau_gateway_route_fallbacks_total Requests of a route answered, or "
	    "tried, by a later target after an earlier one failed.\n"
	    "# TYPE tau_gateway_route_fallbacks_total counter\n");
	for (size_t i = 0; i < t->nroutes; i++) {
		gw_buf_puts(b, "tau_gateway_route_fallbacks_total{route=\"");
		srv_router_label(b, srv_rtable_name(t, (long)i));
		gw_buf_puts(b, "\"} ");
		gw_buf_put_u64(b, atomic_load(&t->r[i].fallbacks));
		gw_buf_putc(b, '\n');
	}
	uint64_t applied, refused;
	srv_router_reloads(r, &applied, &refused);
	gw_buf_printf(b, "# HELP tau_gateway_routes_reloads_total Routes file reloads by outcome.\n"
	    "# TYPE tau_gateway_routes_reloads_total counter\n"
	    "tau_gateway_routes_reloads_total{outcome=\"applied\"} %llu\n"
	    "tau_gateway_routes_reloads_total{outcome=\"refused\"} %llu\n",
	    (unsigned long long)applied, (unsigned long long)refused);
	srv_router_release(r, t);
}
