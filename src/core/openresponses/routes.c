/*
 * routes.c - the routes file: parse, validate, look up; the breaker.
 *
 * The text is parsed once with cJSON (through gw_json_parse, which names
 * the line and column of a syntax error), then walked with the scanner
 * (gw_json_scan), which knows where every member starts, so a semantic
 * error (a missing version, an unknown provider, a duplicate name, a key
 * in the file) names its line and column too.  Each member's value is
 * read by parsing its own slice of the text.  Names and aliases go into
 * one map (gw_strmap, keys borrowed from the routes' arena), so a lookup
 * is one hash probe whatever the number of routes.
 */
#include "core/openresponses/routes.h"
#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/strmap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_routes {
	gw_arena *arena;            /* every string below */
	gw_routes_route *routes;
	size_t nroutes;
	gw_strmap *names;           /* public names and aliases -> route index */
	const char *def;            /* NULL: no default */
	long def_index;
	uint64_t breaker_failures, breaker_cooldown_ms;
};

typedef struct gw_rp {
	const char *text;
	size_t n;
	const char *path;
	gw_err *err;
	gw_routes *r;
} gw_rp;

static int gw_rp_fail(gw_rp *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
gw_rp_fail(gw_rp *p, size_t off, const char *fmt, ...)
{
	unsigned line, col;
	gw_json_line_col(p->text, off < p->n ? off : p->n, &line, &col);
	gw_buf m = GW_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	gw_buf_vprintf(&m, fmt, ap);
	va_end(ap);
	gw_err_set(p->err, -EINVAL, GW_EXIT_DATAERR, "%s: line %u column %u: %s", p->path, line, col,
	    gw_buf_cstr(&m));
	gw_buf_free(&m);
	return -EINVAL;
}

static bool
gw_rp_key_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

/* The value at [vs, ve) as a cJSON tree (the caller deletes it). */
static cJSON *
gw_rp_value(gw_rp *p, size_t vs, size_t ve)
{
	cJSON *v = cJSON_ParseWithLength(p->text + vs, ve - vs);
	if (v == NULL)
		abort(); /* the whole text parsed already: only memory can fail */
	return v;
}

/* A string member: non-empty, at most max bytes, no control characters.
 * The copy lives in the routes' arena. */
static int
gw_rp_string(gw_rp *p, const char *what, size_t vs, size_t ve, size_t max, const char **out)
{
	cJSON *v = gw_rp_value(p, vs, ve);
	int rc = 0;
	if (!cJSON_IsString(v)) {
		rc = gw_rp_fail(p, vs, "%s must be a string", what);
	} else if (v->valuestring[0] == '\0') {
		rc = gw_rp_fail(p, vs, "%s must not be empty", what);
	} else if (strlen(v->valuestring) > max) {
		rc = gw_rp_fail(p, vs, "%s is longer than %zu bytes", what, max);
	} else {
		for (const unsigned char *c = (const unsigned char *)v->valuestring; *c; c++)
			if (*c < 0x20 || *c == 0x7f) {
				rc = gw_rp_fail(p, vs, "%s holds a control character", what);
				break;
			}
	}
	if (rc == 0)
		*out = gw_arena_strdup(p->r->arena, v->valuestring);
	cJSON_Delete(v);
	return rc;
}

static int
gw_rp_u64(gw_rp *p, const char *what, size_t vs, size_t ve, uint64_t min, uint64_t max,
    uint64_t *out)
{
	cJSON *v = gw_rp_value(p, vs, ve);
	uint64_t u = 0;
	bool ok = gw_json_as_u64(v, &u) && u >= min && u <= max;
	cJSON_Delete(v);
	if (!ok)
		return gw_rp_fail(p, vs, "%s must be an integer from %llu to %llu", what,
		    (unsigned long long)min, (unsigned long long)max);
	*out = u;
	return 0;
}

static bool
gw_rp_env_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return false;
	return true;
}

/* Members that would put a secret in the file. */
static bool
gw_rp_secret_key(const char *k, size_t kn)
{
	static const char *const names[] = { "api_key", "apikey", "key", "token", "secret",
		"authorization", "password", NULL };
	for (size_t i = 0; names[i]; i++)
		if (gw_rp_key_is(k, kn, names[i]))
			return true;
	return false;
}

/* One member seen twice in an object. */
static int
gw_rp_once(gw_rp *p, unsigned *seen, unsigned bit, const char *k, size_t kn, size_t at)
{
	if (*seen & bit)
		return gw_rp_fail(p, at, "member \"%.*s\" appears twice", (int)kn, k);
	*seen |= bit;
	return 0;
}

/* The key's offset: the scanner reports the key pointer (inside the
 * text, after the opening quote). */
static size_t
gw_rp_koff(gw_rp *p, const char *k)
{
	return (size_t)(k - p->text) - 1;
}

static const char *const gw_rp_providers[] = { "openai", "anthropic", "google", "local", NULL };

static int
gw_rp_target(gw_rp *p, size_t pos, const char *route, size_t ti, gw_routes_target *t)
{
	gw_json_scan sc;
	size_t start = gw_json_skip_ws(p->text, p->n, pos);
	if (p->text[start] != '{')
		return gw_rp_fail(p, start, "route \"%s\": target %zu must be an object", route, ti + 1);
	gw_json_scan_open(&sc, p->text, p->n, pos, '{', p->path, p->err);
	gw_json_line_col(p->text, start, &t->line, &t->col);
	const char *k;
	size_t kn, vs, ve;
	unsigned seen = 0;
	int rc;
	size_t provider_at = start;
	char what[64 + GW_ROUTES_MAX_NAME];
	snprintf(what, sizeof(what), "route \"%s\" target %zu", route, ti + 1);
	char w2[sizeof(what) + 32];
	while ((rc = gw_json_scan_next(&sc, &k, &kn, &vs, &ve, p->path, p->err)) == 1) {
		size_t at = gw_rp_koff(p, k);
		if (gw_rp_key_is(k, kn, "provider")) {
			if ((rc = gw_rp_once(p, &seen, 1, k, kn, at)) != 0)
				return rc;
			snprintf(w2, sizeof(w2), "%s: provider", what);
			if ((rc = gw_rp_string(p, w2, vs, ve, 32, &t->provider)) != 0)
				return rc;
			provider_at = vs;
			bool known = false;
			for (size_t i = 0; gw_rp_providers[i]; i++)
				known = known || strcmp(t->provider, gw_rp_providers[i]) == 0;
			if (!known)
				return gw_rp_fail(p, vs, "%s: unknown provider \"%s\" (expected openai, "
				    "anthropic, google or local)", what, t->provider);
		} else if (gw_rp_key_is(k, kn, "model")) {
			if ((rc = gw_rp_once(p, &seen, 2, k, kn, at)) != 0)
				return rc;
			snprintf(w2, sizeof(w2), "%s: model", what);
			if ((rc = gw_rp_string(p, w2, vs, ve, GW_ROUTES_MAX_NAME, &t->model)) != 0)
				return rc;
		} else if (gw_rp_key_is(k, kn, "base_url")) {
			if ((rc = gw_rp_once(p, &seen, 4, k, kn, at)) != 0)
				return rc;
			snprintf(w2, sizeof(w2), "%s: base_url", what);
			if ((rc = gw_rp_string(p, w2, vs, ve, 2048, &t->base_url)) != 0)
				return rc;
			if (strncmp(t->base_url, "http://", 7) != 0 && strncmp(t->base_url, "https://", 8) != 0)
				return gw_rp_fail(p, vs, "%s: base_url must start with http:// or https://",
				    what);
		} else if (gw_rp_key_is(k, kn, "api_key_env")) {
			if ((rc = gw_rp_once(p, &seen, 8, k, kn, at)) != 0)
				return rc;
			snprintf(w2, sizeof(w2), "%s: api_key_env", what);
			if ((rc = gw_rp_string(p, w2, vs, ve, 128, &t->api_key_env)) != 0)
				return rc;
			if (!gw_rp_env_name(t->api_key_env))
				return gw_rp_fail(p, vs, "%s: api_key_env must name an environment variable "
				    "([A-Za-z_][A-Za-z0-9_]*); keys never go in the routes file", what);
		} else if (gw_rp_key_is(k, kn, "timeout_ms")) {
			if ((rc = gw_rp_once(p, &seen, 16, k, kn, at)) != 0)
				return rc;
			snprintf(w2, sizeof(w2), "%s: timeout_ms", what);
			if ((rc = gw_rp_u64(p, w2, vs, ve, 1, 3600000, &t->timeout_ms)) != 0)
				return rc;
		} else if (gw_rp_key_is(k, kn, "retries")) {
			if ((rc = gw_rp_once(p, &seen, 32, k, kn, at)) != 0)
				return rc;
			snprintf(w2, sizeof(w2), "%s: retries", what);
			if ((rc = gw_rp_u64(p, w2, vs, ve, 0, 10, &t->retries)) != 0)
				return rc;
		} else if (gw_rp_secret_key(k, kn)) {
			return gw_rp_fail(p, at, "%s: \"%.*s\": keys never go in the routes file; name the "
			    "environment variable that holds it in api_key_env", what, (int)kn, k);
		} else {
			return gw_rp_fail(p, at, "%s: unknown member \"%.*s\"", what, (int)kn, k);
		}
	}
	if (rc < 0)
		return rc;
	if (!(seen & 1))
		return gw_rp_fail(p, start, "%s: missing \"provider\"", what);
	bool local = strcmp(t->provider, "local") == 0;
	if (local) {
		if (t->model == NULL)
			t->model = "echo";
		if (strcmp(t->model, "echo") != 0)
			return gw_rp_fail(p, provider_at, "%s: the local provider serves only the model "
			    "\"echo\"", what);
		if (t->base_url != NULL || t->api_key_env != NULL)
			return gw_rp_fail(p, provider_at, "%s: a local target takes no base_url or "
			    "api_key_env", what);
	} else if (t->model == NULL) {
		return gw_rp_fail(p, start, "%s: missing \"model\"", what);
	}
	if (!(seen & 32))
		t->retries = GW_ROUTES_DEFAULT_RETRIES;
	gw_buf spec = GW_BUF_INIT;
	gw_buf_printf(&spec, "%s/%s", t->provider, t->model);
	t->spec = gw_arena_strdup(p->r->arena, gw_buf_cstr(&spec));
	gw_buf_free(&spec);
	return 0;
}

/* Registers a public name or an alias of route ri. */
static int
gw_rp_name(gw_rp *p, const char *name, size_t at, size_t ri)
{
	size_t prev;
	if (gw_strmap_get(p->r->names, name, &prev))
		return gw_rp_fail(p, at, "model name \"%s\" is already used by route \"%s\"", name,
		    p->r->routes[prev].model);
	gw_strmap_put(p->r->names, name, ri);
	return 0;
}

static int
gw_rp_route(gw_rp *p, size_t pos, size_t ri)
{
	gw_routes_route *rt = &p->r->routes[ri];
	size_t start = gw_json_skip_ws(p->text, p->n, pos);
	if (p->text[start] != '{')
		return gw_rp_fail(p, start, "routes[%zu] must be an object", ri);
	gw_json_scan sc;
	gw_json_scan_open(&sc, p->text, p->n, pos, '{', p->path, p->err);
	const char *k;
	size_t kn, vs, ve, targets_at = 0, aliases_at = 0, model_at = start;
	unsigned seen = 0;
	int rc;
	/* the model first: targets and aliases name their route in messages */
	while ((rc = gw_json_scan_next(&sc, &k, &kn, &vs, &ve, p->path, p->err)) == 1) {
		size_t at = gw_rp_koff(p, k);
		if (gw_rp_key_is(k, kn, "model")) {
			if ((rc = gw_rp_once(p, &seen, 1, k, kn, at)) != 0)
				return rc;
			char w[48];
			snprintf(w, sizeof(w), "routes[%zu]: model", ri);
			if ((rc = gw_rp_string(p, w, vs, ve, GW_ROUTES_MAX_NAME, &rt->model)) != 0)
				return rc;
			model_at = vs;
		} else if (gw_rp_key_is(k, kn, "aliases")) {
			if ((rc = gw_rp_once(p, &seen, 2, k, kn, at)) != 0)
				return rc;
			aliases_at = vs;
		} else if (gw_rp_key_is(k, kn, "targets")) {
			if ((rc = gw_rp_once(p, &seen, 4, k, kn, at)) != 0)
				return rc;
			targets_at = vs;
		} else if (gw_rp_secret_key(k, kn)) {
			return gw_rp_fail(p, at, "routes[%zu]: \"%.*s\": keys never go in the routes file; "
			    "name the environment variable that holds it in a target's api_key_env", ri,
			    (int)kn, k);
		} else {
			return gw_rp_fail(p, at, "routes[%zu]: unknown member \"%.*s\"", ri, (int)kn, k);
		}
	}
	if (rc < 0)
		return rc;
	if (!(seen & 1))
		return gw_rp_fail(p, start, "routes[%zu]: missing \"model\"", ri);
	if ((rc = gw_rp_name(p, rt->model, model_at, ri)) != 0)
		return rc;
	if (seen & 2) {
		if (p->text[aliases_at] != '[')
			return gw_rp_fail(p, aliases_at, "route \"%s\": aliases must be an array of strings",
			    rt->model);
		gw_json_scan as;
		gw_json_scan_open(&as, p->text, p->n, aliases_at, '[', p->path, p->err);
		size_t cap = 0;
		while ((rc = gw_json_scan_next(&as, NULL, NULL, &vs, &ve, p->path, p->err)) == 1) {
			if (rt->naliases == cap) {
				cap = cap ? cap * 2 : 4;
				const char **na = gw_arena_alloc(p->r->arena, cap * sizeof(*na));
				if (rt->naliases)
					memcpy(na, rt->aliases, rt->naliases * sizeof(*na));
				rt->aliases = na;
			}
			char w[GW_ROUTES_MAX_NAME + 32];
			snprintf(w, sizeof(w), "route \"%s\": alias", rt->model);
			const char *a;
			if ((rc = gw_rp_string(p, w, vs, ve, GW_ROUTES_MAX_NAME, &a)) != 0)
				return rc;
			if ((rc = gw_rp_name(p, a, vs, ri)) != 0)
				return rc;
			rt->aliases[rt->naliases++] = a;
		}
		if (rc < 0)
			return rc;
	}
	if (!(seen & 4))
		return gw_rp_fail(p, start, "route \"%s\": missing \"targets\"", rt->model);
	if (p->text[targets_at] != '[')
		return gw_rp_fail(p, targets_at, "route \"%s\": targets must be an array of objects",
		    rt->model);
	rt->targets = gw_arena_alloc(p->r->arena, GW_ROUTES_MAX_TARGETS * sizeof(*rt->targets));
	memset(rt->targets, 0, GW_ROUTES_MAX_TARGETS * sizeof(*rt->targets));
	gw_json_scan ts;
	gw_json_scan_open(&ts, p->text, p->n, targets_at, '[', p->path, p->err);
	while ((rc = gw_json_scan_next(&ts, NULL, NULL, &vs, &ve, p->path, p->err)) == 1) {
		if (rt->ntargets == GW_ROUTES_MAX_TARGETS)
			return gw_rp_fail(p, vs, "route \"%s\": more than %d targets", rt->model,
			    GW_ROUTES_MAX_TARGETS);
		if ((rc = gw_rp_target(p, vs, rt->model, rt->ntargets, &rt->targets[rt->ntargets])) != 0)
			return rc;
		rt->ntargets++;
	}
	if (rc < 0)
		return rc;
	if (rt->ntargets == 0)
		return gw_rp_fail(p, targets_at, "route \"%s\": targets must not be empty", rt->model);
	return 0;
}

static int
gw_rp_breaker(gw_rp *p, size_t pos)
{
	if (p->text[pos] != '{')
		return gw_rp_fail(p, pos, "breaker must be an object");
	gw_json_scan sc;
	gw_json_scan_open(&sc, p->text, p->n, pos, '{', p->path, p->err);
	const char *k;
	size_t kn, vs, ve;
	unsigned seen = 0;
	int rc;
	while ((rc = gw_json_scan_next(&sc, &k, &kn, &vs, &ve, p->path, p->err)) == 1) {
		size_t at = gw_rp_koff(p, k);
		if (gw_rp_key_is(k, kn, "failures")) {
			if ((rc = gw_rp_once(p, &seen, 1, k, kn, at)) != 0 ||
			    (rc = gw_rp_u64(p, "breaker: failures", vs, ve, 1, 1000000,
			    &p->r->breaker_failures)) != 0)
				return rc;
		} else if (gw_rp_key_is(k, kn, "cooldown_ms")) {
			if ((rc = gw_rp_once(p, &seen, 2, k, kn, at)) != 0 ||
			    (rc = gw_rp_u64(p, "breaker: cooldown_ms", vs, ve, 1, 86400000,
			    &p->r->breaker_cooldown_ms)) != 0)
				return rc;
		} else {
			return gw_rp_fail(p, at, "breaker: unknown member \"%.*s\"", (int)kn, k);
		}
	}
	return rc < 0 ? rc : 0;
}

int
gw_routes_parse(const char *text, size_t n, const char *path, gw_routes **out, gw_err *err)
{
	*out = NULL;
	cJSON *doc = gw_json_parse(text, n, path, err);
	if (doc == NULL)
		return -EINVAL;
	bool obj = cJSON_IsObject(doc);
	cJSON_Delete(doc);
	gw_routes *r = gw_xcalloc(1, sizeof(*r));
	r->arena = gw_arena_new();
	r->names = gw_strmap_new(16);
	r->def_index = -1;
	r->breaker_failures = GW_ROUTES_DEFAULT_BREAKER_FAILURES;
	r->breaker_cooldown_ms = GW_ROUTES_DEFAULT_BREAKER_COOLDOWN_MS;
	gw_rp p = { text, n, path, err, r };
	int rc = 0;
	size_t start = gw_json_skip_ws(text, n, 0);
	if (!obj) {
		rc = gw_rp_fail(&p, start, "the routes file must be a JSON object");
		goto out;
	}
	gw_json_scan sc;
	gw_json_scan_open(&sc, text, n, 0, '{', path, err);
	const char *k;
	size_t kn, vs, ve, routes_at = 0, default_at = 0;
	unsigned seen = 0;
	uint64_t version = 0;
	while ((rc = gw_json_scan_next(&sc, &k, &kn, &vs, &ve, path, err)) == 1) {
		size_t at = gw_rp_koff(&p, k);
		if (gw_rp_key_is(k, kn, "version")) {
			if ((rc = gw_rp_once(&p, &seen, 1, k, kn, at)) != 0)
				goto out;
			cJSON *v = gw_rp_value(&p, vs, ve);
			bool ok = gw_json_as_u64(v, &version);
			cJSON_Delete(v);
			if (!ok || version != GW_ROUTES_VERSION) {
				rc = gw_rp_fail(&p, vs, "unsupported version (expected %d)", GW_ROUTES_VERSION);
				goto out;
			}
		} else if (gw_rp_key_is(k, kn, "default")) {
			if ((rc = gw_rp_once(&p, &seen, 2, k, kn, at)) != 0 ||
			    (rc = gw_rp_string(&p, "default", vs, ve, GW_ROUTES_MAX_NAME, &r->def)) != 0)
				goto out;
			default_at = vs;
		} else if (gw_rp_key_is(k, kn, "routes")) {
			if ((rc = gw_rp_once(&p, &seen, 4, k, kn, at)) != 0)
				goto out;
			routes_at = vs;
		} else if (gw_rp_key_is(k, kn, "breaker")) {
			if ((rc = gw_rp_once(&p, &seen, 8, k, kn, at)) != 0 || (rc = gw_rp_breaker(&p, vs)) != 0)
				goto out;
		} else if (gw_rp_secret_key(k, kn)) {
			rc = gw_rp_fail(&p, at, "\"%.*s\": keys never go in the routes file; name the "
			    "environment variable that holds it in a target's api_key_env", (int)kn, k);
			goto out;
		} else {
			rc = gw_rp_fail(&p, at, "unknown member \"%.*s\"", (int)kn, k);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	if (!(seen & 1)) {
		rc = gw_rp_fail(&p, start, "missing \"version\" (expected %d)", GW_ROUTES_VERSION);
		goto out;
	}
	if (!(seen & 4)) {
		rc = gw_rp_fail(&p, start, "missing \"routes\"");
		goto out;
	}
	if (text[routes_at] != '[') {
		rc = gw_rp_fail(&p, routes_at, "routes must be an array of objects");
		goto out;
	}
	/* count first, so the routes array never moves under the map */
	gw_json_scan cs;
	gw_json_scan_open(&cs, text, n, routes_at, '[', path, err);
	size_t count = 0;
	while ((rc = gw_json_scan_next(&cs, NULL, NULL, &vs, &ve, path, err)) == 1)
		count++;
	if (rc < 0)
		goto out;
	if (count == 0) {
		rc = gw_rp_fail(&p, routes_at, "routes must not be empty");
		goto out;
	}
	if (count > GW_ROUTES_MAX_ROUTES) {
		rc = gw_rp_fail(&p, routes_at, "more than %d routes", GW_ROUTES_MAX_ROUTES);
		goto out;
	}
	r->routes = gw_xcalloc(count, sizeof(*r->routes));
	gw_json_scan rs;
	gw_json_scan_open(&rs, text, n, routes_at, '[', path, err);
	while ((rc = gw_json_scan_next(&rs, NULL, NULL, &vs, &ve, path, err)) == 1) {
		r->nroutes++;
		if ((rc = gw_rp_route(&p, vs, r->nroutes - 1)) != 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	rc = 0;
	if (r->def != NULL) {
		size_t di;
		if (!gw_strmap_get(r->names, r->def, &di)) {
			rc = gw_rp_fail(&p, default_at, "default \"%s\" names no route or alias", r->def);
			goto out;
		}
		r->def_index = (long)di;
	}
out:
	if (rc != 0) {
		gw_routes_free(r);
		return -EINVAL;
	}
	*out = r;
	return 0;
}

int
gw_routes_load(const char *path, gw_routes **out, gw_err *err)
{
	*out = NULL;
	gw_buf b = GW_BUF_INIT;
	int rc = gw_fs_read_named(path, &b, err);
	if (rc == 0)
		rc = gw_routes_parse(b.data ? b.data : "", b.len, path, out, err);
	gw_buf_free(&b);
	return rc;
}

void
gw_routes_free(gw_routes *r)
{
	if (r == NULL)
		return;
	gw_strmap_free(r->names);
	free(r->routes);
	gw_arena_free(r->arena);
	free(r);
}

size_t
gw_routes_count(const gw_routes *r)
{
	return r->nroutes;
}

const gw_routes_route *
gw_routes_at(const gw_routes *r, size_t i)
{
	return i < r->nroutes ? &r->routes[i] : NULL;
}

long
gw_routes_find(const gw_routes *r, const char *model)
{
	if (model == NULL)
		return r->def_index;
	size_t i;
	return gw_strmap_get(r->names, model, &i) ? (long)i : -1;
}

const char *
gw_routes_default(const gw_routes *r)
{
	return r->def;
}

uint64_t
gw_routes_breaker_failures(const gw_routes *r)
{
	return r->breaker_failures;
}

uint64_t
gw_routes_breaker_cooldown_ms(const gw_routes *r)
{
	return r->breaker_cooldown_ms;
}

/* ---- the breaker ---- */

void
gw_routes_breaker_init(gw_routes_breaker *b, uint64_t threshold, uint64_t cooldown_ms)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->threshold = threshold ? threshold : GW_ROUTES_DEFAULT_BREAKER_FAILURES;
	b->cooldown_ms = cooldown_ms;
}

void
gw_routes_breaker_destroy(gw_routes_breaker *b)
{
	pthread_mutex_destroy(&b->lock);
}

void
gw_routes_breaker_configure(gw_routes_breaker *b, uint64_t threshold, uint64_t cooldown_ms)
{
	pthread_mutex_lock(&b->lock);
	b->threshold = threshold ? threshold : GW_ROUTES_DEFAULT_BREAKER_FAILURES;
	b->cooldown_ms = cooldown_ms;
	pthread_mutex_unlock(&b->lock);
}

bool
gw_routes_breaker_allow(gw_routes_breaker *b, uint64_t now_ms, bool *probe)
{
	bool ok = false;
	*probe = false;
	pthread_mutex_lock(&b->lock);
	if (b->state == GW_ROUTES_CLOSED) {
		ok = true;
	} else if (b->state == GW_ROUTES_OPEN && now_ms - b->opened_ms >= b->cooldown_ms) {
		b->state = GW_ROUTES_HALF_OPEN;
		ok = *probe = true;
	}
	pthread_mutex_unlock(&b->lock);
	return ok;
}

void
gw_routes_breaker_record(gw_routes_breaker *b, bool ok, uint64_t now_ms)
{
	pthread_mutex_lock(&b->lock);
	if (ok) {
		b->state = GW_ROUTES_CLOSED;
		b->failures = 0;
	} else {
		b->failures++;
		if (b->state == GW_ROUTES_HALF_OPEN ||
		    (b->state == GW_ROUTES_CLOSED && b->failures >= b->threshold)) {
			b->state = GW_ROUTES_OPEN;
			b->opened_ms = now_ms;
		}
	}
	pthread_mutex_unlock(&b->lock);
}

void
gw_routes_breaker_abandon(gw_routes_breaker *b, bool probe)
{
	pthread_mutex_lock(&b->lock);
	if (probe && b->state == GW_ROUTES_HALF_OPEN)
		b->state = GW_ROUTES_OPEN; /* opened_ms kept: the cooldown has passed */
	pthread_mutex_unlock(&b->lock);
}

gw_routes_circuit
gw_routes_breaker_state(gw_routes_breaker *b)
{
	pthread_mutex_lock(&b->lock);
	gw_routes_circuit c = b->state;
	pthread_mutex_unlock(&b->lock);
	return c;
}

const char *
gw_routes_circuit_name(gw_routes_circuit c)
{
	return c == GW_ROUTES_OPEN ? "open" : c == GW_ROUTES_HALF_OPEN ? "half_open" : "closed";
}
