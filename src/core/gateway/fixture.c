/*
 * fixture.c - fixture parsing, validation and case evaluation.
 *
 * Parsing walks the top-level object with gw_json_scan and parses each
 * case on its own, so memory stays proportional to the converted cases and
 * never to a whole cJSON tree.  This module must not touch the state
 * directory.
 */
#include "core/gateway/fixture.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/str.h"
#include "core/base/strmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_fixture {
	gw_arena *arena;
	char *name;
	gw_case *cases;
	size_t ncases, cap;
};

static const char *const gw_methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
static const char *const gw_error_codes[] = { "gateway_invalid_request",
	"gateway_unsupported_method", "gateway_backend_unavailable" };

const char *
gw_outcome_name(gw_outcome o)
{
	switch (o) {
	case GW_OUTCOME_MALFORMED_INPUT: return "malformed_input";
	case GW_OUTCOME_RETRYABLE_FAILURE: return "retryable_failure";
	default: return "success";
	}
}

const char *
gw_outcome_debug(gw_outcome o)
{
	switch (o) {
	case GW_OUTCOME_MALFORMED_INPUT: return "MalformedInput";
	case GW_OUTCOME_RETRYABLE_FAILURE: return "RetryableFailure";
	default: return "Success";
	}
}

bool
gw_method_supported(const char *m)
{
	for (size_t i = 0; i < sizeof(gw_methods) / sizeof(gw_methods[0]); i++)
		if (strcmp(m, gw_methods[i]) == 0)
			return true;
	return false;
}

bool
gw_error_code_supported(const char *code)
{
	for (size_t i = 0; i < sizeof(gw_error_codes) / sizeof(gw_error_codes[0]); i++)
		if (strcmp(code, gw_error_codes[i]) == 0)
			return true;
	return false;
}

/* UPPER(trim(m)) into out (n bytes, truncated). */
static void
gw_upper_trim(const char *m, char *out, size_t n)
{
	gw_str_copy_trim(out, n, m, GW_STR_UPPER);
}

/* Appends part (n bytes) with '%' and ':' escaped (unless legacy). */
static void
gw_key_part(gw_buf *b, const char *s, size_t n, bool legacy)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (legacy || (s[i] != '%' && s[i] != ':'))
			continue;
		gw_buf_append(b, s + run, i - run);
		gw_buf_puts(b, s[i] == '%' ? "%25" : "%3A");
		run = i + 1;
	}
	gw_buf_append(b, s + run, n - run);
}

void
gw_case_key(gw_buf *out, const char *method, const char *endpoint, const char *case_id,
    bool legacy)
{
	char m[16];
	const char *e, *cid;
	size_t elen, clen;
	gw_upper_trim(method, m, sizeof(m));
	gw_str_trim(endpoint, &e, &elen);
	gw_str_trim(case_id, &cid, &clen);
	gw_key_part(out, m, strlen(m), legacy);
	gw_buf_putc(out, ':');
	gw_key_part(out, e, elen, legacy);
	gw_buf_putc(out, ':');
	gw_key_part(out, cid, clen, legacy);
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct gw_parse_ctx {
	const char *path;
	const char *text;
	size_t len;
	gw_err *err;
	bool validating;     /* gw_fx_case reached the §3.2 checks */
	bool have_deferred;  /* a case failed validation; parse errors still win */
	gw_err deferred;     /* that first validation failure */
	gw_buf key;          /* scratch for gw_case_key */
	size_t line_off;     /* gw_fx_line: text before line_off ... */
	unsigned newlines;   /* ... holds this many newlines */
} gw_parse_ctx;

/* Line number of text[off], for messages.  Cases arrive in document order,
 * so the count advances from the previous case instead of rescanning from
 * the start (which made loading quadratic: 100k cases took minutes).
 * Offsets must not decrease. */
static unsigned
gw_fx_line(gw_parse_ctx *p, size_t off)
{
	const char *q = p->text + p->line_off, *end = p->text + off;
	while (q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		p->newlines++;
		q++;
	}
	p->line_off = off;
	return p->newlines + 1;
}

/* Keeps the first validation failure.  Validation reports only after the
 * whole document parsed and the fixture-level checks passed (reference
 * order: parse, then schema/name/cases, then each case). */
static void
gw_fx_defer(gw_parse_ctx *p)
{
	if (!p->have_deferred && p->err != NULL) {
		p->deferred = *p->err;
		p->have_deferred = true;
	}
}

static int
gw_fx_fail(gw_parse_ctx *p, int exit_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
gw_fx_fail(gw_parse_ctx *p, int exit_code, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gw_err_set(p->err, -EINVAL, exit_code, "invalid fixture %s: %s", p->path, msg);
}

/* Reads the required string member k of a case. */
static int
gw_fx_str(gw_parse_ctx *p, gw_fixture *f, const cJSON *obj, const char *k, size_t idx,
    unsigned line, bool required, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, k);
	if (v == NULL || (!required && cJSON_IsNull(v))) {
		if (required)
			return gw_fx_fail(p, GW_EXIT_DATAERR,
			    "case index %zu (line %u): missing field `%s`", idx, line, k);
		*out = "";
		return 0;
	}
	if (!cJSON_IsString(v))
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "case index %zu (line %u): field `%s` must be a string", idx, line, k);
	*out = gw_arena_strdup(f->arena, v->valuestring);
	return 0;
}

static int
gw_fx_u64(gw_parse_ctx *p, const cJSON *v, const char *k, size_t idx, unsigned line,
    uint64_t max, uint64_t *out)
{
	if (!gw_json_as_u64(v, out) || *out > max)
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "case index %zu (line %u): field `%s` must be an integer from 0 to %llu",
		    idx, line, k, (unsigned long long)max);
	return 0;
}

/* The first of names (at most 32) that obj has more than once, or NULL.
 * cJSON keeps a repeated member as a sibling and lookups see only the
 * first, so a case could say two things at once. */
static const char *
gw_fx_dup(const cJSON *obj, const char *const *names, size_t n)
{
	uint32_t seen = 0;
	for (const cJSON *m = obj->child; m != NULL; m = m->next) {
		if (m->string == NULL)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(m->string, names[i]) != 0)
				continue;
			if (seen & (UINT32_C(1) << i))
				return names[i];
			seen |= UINT32_C(1) << i;
			break;
		}
	}
	return NULL;
}

static const char *const gw_case_fields[] = { "schema_version", "case_id", "method", "endpoint",
	"actor_id", "body", "simulate_retryable_failure", "expected" };
static const char *const gw_expected_fields[] = { "outcome", "status_code", "error_code",
	"response_body" };

static int
gw_fx_case(gw_parse_ctx *p, gw_fixture *f, const cJSON *obj, size_t idx, unsigned line,
    gw_case *c)
{
	memset(c, 0, sizeof(*c));
	c->index = idx;
	if (!cJSON_IsObject(obj))
		return gw_fx_fail(p, GW_EXIT_DATAERR, "case index %zu (line %u): must be an object",
		    idx, line);
	const char *dup = gw_fx_dup(obj, gw_case_fields,
	    sizeof(gw_case_fields) / sizeof(gw_case_fields[0]));
	if (dup != NULL)
		return gw_fx_fail(p, GW_EXIT_DATAERR, "case index %zu (line %u): duplicate field `%s`",
		    idx, line, dup);
	uint64_t schema = 1;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "schema_version");
	if (v != NULL && gw_fx_u64(p, v, "schema_version", idx, line, UINT32_MAX, &schema))
		return -EINVAL;
	if (gw_fx_str(p, f, obj, "case_id", idx, line, true, &c->case_id) ||
	    gw_fx_str(p, f, obj, "method", idx, line, true, &c->method) ||
	    gw_fx_str(p, f, obj, "endpoint", idx, line, true, &c->endpoint) ||
	    gw_fx_str(p, f, obj, "actor_id", idx, line, true, &c->actor_id))
		return -EINVAL;
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(obj, "body");
	v = cJSON_GetObjectItemCaseSensitive(obj, "simulate_retryable_failure");
	if (v != NULL && !cJSON_IsBool(v))
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "case index %zu (line %u): field `simulate_retryable_failure` must be a boolean",
		    idx, line);
	c->simulate_retryable_failure = v != NULL && cJSON_IsTrue(v);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(obj, "expected");
	if (exp == NULL)
		return gw_fx_fail(p, GW_EXIT_DATAERR, "case index %zu (line %u): missing field `expected`",
		    idx, line);
	if (!cJSON_IsObject(exp))
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "case index %zu (line %u): field `expected` must be an object", idx, line);
	dup = gw_fx_dup(exp, gw_expected_fields,
	    sizeof(gw_expected_fields) / sizeof(gw_expected_fields[0]));
	if (dup != NULL)
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "case index %zu (line %u): duplicate field `expected.%s`", idx, line, dup);
	const char *outcome;
	if (gw_fx_str(p, f, exp, "outcome", idx, line, true, &outcome))
		return -EINVAL;
	if (strcmp(outcome, "success") == 0)
		c->expected_outcome = GW_OUTCOME_SUCCESS;
	else if (strcmp(outcome, "malformed_input") == 0)
		c->expected_outcome = GW_OUTCOME_MALFORMED_INPUT;
	else if (strcmp(outcome, "retryable_failure") == 0)
		c->expected_outcome = GW_OUTCOME_RETRYABLE_FAILURE;
	else
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "case index %zu (line %u): unknown variant `%s`, expected one of `success`, `malformed_input`, `retryable_failure`",
		    idx, line, outcome);
	v = cJSON_GetObjectItemCaseSensitive(exp, "status_code");
	if (v == NULL)
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "case index %zu (line %u): missing field `expected.status_code`", idx, line);
	if (gw_fx_u64(p, v, "expected.status_code", idx, line, 65535, &c->expected_status))
		return -EINVAL;
	if (gw_fx_str(p, f, exp, "error_code", idx, line, false, &c->expected_error_code))
		return -EINVAL;
	const cJSON *rb = cJSON_GetObjectItemCaseSensitive(exp, "response_body");

	/* validation (reference §3.2 step 4), first failure wins */
	p->validating = true;
	const char *id = c->case_id;
	if (schema != 1)
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "fixture case index %zu has unsupported schema_version %llu (expected 1)", idx,
		    (unsigned long long)schema);
	if (gw_str_blank(id))
		return gw_fx_fail(p, GW_EXIT_DATAERR, "fixture case index %zu has empty case_id", idx);
	if (gw_str_blank(c->method))
		return gw_fx_fail(p, GW_EXIT_DATAERR, "fixture case '%s' has empty method", id);
	if (gw_str_blank(c->endpoint))
		return gw_fx_fail(p, GW_EXIT_DATAERR, "fixture case '%s' has empty endpoint", id);
	if (body != NULL && !cJSON_IsObject(body) && !cJSON_IsNull(body))
		return gw_fx_fail(p, GW_EXIT_DATAERR, "fixture case '%s' body must be object or null", id);
	if (c->simulate_retryable_failure && c->expected_outcome != GW_OUTCOME_RETRYABLE_FAILURE)
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "fixture case '%s' sets simulate_retryable_failure=true but expected outcome is %s",
		    id, gw_outcome_debug(c->expected_outcome));
	if (!c->simulate_retryable_failure && c->expected_outcome == GW_OUTCOME_RETRYABLE_FAILURE)
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "fixture case '%s' expects retryable_failure but simulate_retryable_failure=false", id);
	if (!cJSON_IsObject(rb))
		return gw_fx_fail(p, GW_EXIT_DATAERR,
		    "fixture case '%s' expected.response_body must be an object", id);
	if (c->expected_outcome == GW_OUTCOME_SUCCESS) {
		if (!gw_str_blank(c->expected_error_code))
			return gw_fx_fail(p, GW_EXIT_DATAERR,
			    "fixture case '%s' success outcome must not include error_code", id);
		if (c->expected_status < 200 || c->expected_status > 299)
			return gw_fx_fail(p, GW_EXIT_DATAERR,
			    "fixture case '%s' success outcome requires 2xx status_code (found %llu)", id,
			    (unsigned long long)c->expected_status);
	} else {
		const char *t;
		size_t n;
		gw_str_trim(c->expected_error_code, &t, &n);
		if (n == 0)
			return gw_fx_fail(p, GW_EXIT_DATAERR, "fixture case '%s' %s outcome requires error_code",
			    id, gw_outcome_debug(c->expected_outcome));
		char *code = gw_arena_strndup(f->arena, t, n);
		if (!gw_error_code_supported(code))
			return gw_fx_fail(p, GW_EXIT_DATAERR, "fixture case '%s' uses unsupported error_code '%s'",
			    id, code);
		c->expected_error_code = code;
		if (c->expected_status < 400)
			return gw_fx_fail(p, GW_EXIT_DATAERR,
			    "fixture case '%s' non-success outcome requires >=400 status_code (found %llu)", id,
			    (unsigned long long)c->expected_status);
	}
	gw_buf canon = GW_BUF_INIT;
	gw_json_canonical(&canon, rb);
	c->expected_body = gw_arena_strndup(f->arena, canon.data, canon.len);
	gw_buf_free(&canon);

	gw_buf_reset(&p->key);
	gw_case_key(&p->key, c->method, c->endpoint, c->case_id, false);
	const char *key = gw_arena_strndup(f->arena, p->key.data, p->key.len);
	c->key = key;
	return 0;
}

/* The decoded text of a raw (still escaped) object key, in f's arena. */
static const char *
gw_fx_key(gw_fixture *f, const char *raw, size_t n)
{
	if (memchr(raw, '\\', n) == NULL)
		return gw_arena_strndup(f->arena, raw, n);
	/* the scanner checked the string: parse it with its quotes */
	cJSON *v = cJSON_ParseWithLength(raw - 1, n + 2);
	const char *out = gw_arena_strdup(f->arena, cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(v);
	return out;
}

static int
gw_fx_cases(gw_parse_ctx *p, gw_fixture *f, size_t start)
{
	gw_json_scan s;
	gw_strmap *seen = gw_strmap_new(1024);
	int rc = gw_json_scan_open(&s, p->text, p->len, start, '[', "cases", p->err);
	size_t vs, ve;
	while (rc == 0 && (rc = gw_json_scan_next(&s, NULL, NULL, &vs, &ve, "cases", p->err)) == 1) {
		unsigned line = gw_fx_line(p, vs), col;
		cJSON *obj = cJSON_ParseWithLength(p->text + vs, ve - vs);
		if (obj == NULL) {
			const char *ep = cJSON_GetErrorPtr();
			size_t off = ep ? (size_t)(ep - p->text) : vs;
			gw_json_line_col(p->text, off, &line, &col);
			rc = gw_fx_fail(p, GW_EXIT_DATAERR, "invalid JSON at line %u column %u", line, col);
			break;
		}
		if (f->ncases == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 64;
			f->cases = gw_xrealloc(f->cases, f->cap * sizeof(*f->cases));
		}
		gw_case *c = &f->cases[f->ncases];
		p->validating = false;
		rc = gw_fx_case(p, f, obj, f->ncases, line, c);
		cJSON_Delete(obj);
		if (rc != 0 && !p->validating)
			break; /* parse errors are reported at once */
		if (rc != 0)
			gw_fx_defer(p);
		if (rc == 0 && !p->have_deferred) {
			const char *t;
			size_t n;
			gw_str_trim(c->case_id, &t, &n);
			char *tid = gw_arena_strndup(f->arena, t, n);
			if (!gw_strmap_put(seen, tid, f->ncases)) {
				gw_fx_fail(p, GW_EXIT_DATAERR, "fixture contains duplicate case_id '%s'",
				    c->case_id);
				gw_fx_defer(p);
			}
		}
		rc = 0;
		f->ncases++;
	}
	gw_strmap_free(seen);
	if (rc < 0) {
		if (strncmp(p->err->msg, "invalid fixture", 15) != 0)
			gw_err_prefix(p->err, "invalid fixture %s", p->path);
		return -EINVAL;
	}
	return 0;
}

int
gw_fixture_parse(const char *path, const char *text, size_t len, gw_fixture **out, gw_err *err)
{
	gw_parse_ctx p = { .path = path, .text = text, .len = len, .err = err };
	gw_fixture *f = gw_xcalloc(1, sizeof(*f));
	f->arena = gw_arena_new();
	gw_json_scan s;
	const char *key;
	size_t klen, vs, ve;
	bool have_schema = false, have_name = false, have_cases = false;
	uint64_t schema = 0;
	gw_strmap *top = gw_strmap_new(16); /* decoded top-level key -> its line */
	int rc;
	if (memchr(text, '\0', len) != NULL) {
		rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "file contains a NUL byte");
		goto fail;
	}
	if (gw_json_scan_open(&s, text, len, 0, '{', "", err) != 0) {
		gw_err_prefix(err, "invalid fixture %s", path);
		rc = -EINVAL;
		goto fail;
	}
	while ((rc = gw_json_scan_next(&s, &key, &klen, &vs, &ve, "", err)) == 1) {
		/* a repeated key is ambiguous (two `cases` arrays were both run):
		 * refuse it, comparing decoded keys ("case\u0073" is `cases`) */
		unsigned line = gw_fx_line(&p, (size_t)(key - text));
		const char *name = gw_fx_key(f, key, klen);
		klen = strlen(name);
		key = name;
		size_t first;
		if (gw_strmap_get(top, name, &first)) {
			rc = gw_fx_fail(&p, GW_EXIT_DATAERR,
			    "duplicate top-level key `%s` at line %u (first at line %zu)", name, line, first);
			goto fail;
		}
		gw_strmap_put(top, name, line);
		if (klen == 5 && memcmp(key, "cases", 5) == 0) {
			if (text[vs] != '[') {
				rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "field `cases` must be an array");
				goto fail;
			}
			if (gw_fx_cases(&p, f, vs) != 0) {
				rc = -EINVAL;
				goto fail;
			}
			have_cases = true;
			continue;
		}
		bool is_schema = klen == 14 && memcmp(key, "schema_version", 14) == 0;
		bool is_name = klen == 4 && memcmp(key, "name", 4) == 0;
		if (!is_schema && !is_name)
			continue; /* unknown fields and description are ignored */
		cJSON *v = cJSON_ParseWithLength(text + vs, ve - vs);
		if (is_schema) {
			if (!gw_json_as_u64(v, &schema) || schema > UINT32_MAX) {
				cJSON_Delete(v);
				rc = gw_fx_fail(&p, GW_EXIT_DATAERR,
				    "field `schema_version` must be a non-negative integer");
				goto fail;
			}
			have_schema = true;
		} else {
			if (!cJSON_IsString(v)) {
				cJSON_Delete(v);
				rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "field `name` must be a string");
				goto fail;
			}
			free(f->name);
			f->name = gw_xstrdup(v->valuestring);
			have_name = true;
		}
		cJSON_Delete(v);
	}
	if (rc < 0 || gw_json_scan_finish(&s, "", err) != 0) {
		gw_err_prefix(err, "invalid fixture %s", path);
		rc = -EINVAL;
		goto fail;
	}
	if (!have_schema) {
		rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "missing field `schema_version`");
		goto fail;
	}
	if (!have_name) {
		rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "missing field `name`");
		goto fail;
	}
	if (!have_cases) {
		rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "missing field `cases`");
		goto fail;
	}
	if (schema != 1) {
		rc = gw_fx_fail(&p, GW_EXIT_DATAERR,
		    "unsupported gateway contract schema version %llu (expected 1)",
		    (unsigned long long)schema);
		goto fail;
	}
	if (gw_str_blank(f->name)) {
		rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "fixture name cannot be empty");
		goto fail;
	}
	if (f->ncases == 0) {
		rc = gw_fx_fail(&p, GW_EXIT_DATAERR, "fixture must include at least one case");
		goto fail;
	}
	if (p.have_deferred) {
		*err = p.deferred;
		rc = -EINVAL;
		goto fail;
	}
	/* compatibility pass (reference §3.2 step 5) */
	for (size_t i = 0; i < f->ncases; i++) {
		const gw_case *c = &f->cases[i];
		char m[16];
		gw_upper_trim(c->method, m, sizeof(m));
		if (c->expected_outcome != GW_OUTCOME_MALFORMED_INPUT && !gw_method_supported(m)) {
			rc = gw_fx_fail(&p, GW_EXIT_DATAERR,
			    "fixture case '%s' uses unsupported method '%s' for non-malformed outcome",
			    c->case_id, c->method);
			goto fail;
		}
	}
	gw_buf_free(&p.key);
	gw_strmap_free(top);
	*out = f;
	return 0;
fail:
	gw_buf_free(&p.key);
	gw_strmap_free(top);
	gw_fixture_free(f);
	*out = NULL;
	return rc < 0 ? rc : -EINVAL;
}

int
gw_fixture_load(const char *path, gw_fixture **out, gw_err *err)
{
	gw_buf text = GW_BUF_INIT;
	*out = NULL;
	int rc = gw_fs_read_named(path, &text, err);
	if (rc != 0)
		gw_err_set(err, rc, err ? err->exit_code : GW_EXIT_IOERR,
		    "failed to read fixture %s: %s", path, strerror(-rc));
	else
		rc = gw_fixture_parse(path, gw_buf_cstr(&text), text.len, out, err);
	gw_buf_free(&text);
	return rc;
}

void
gw_fixture_free(gw_fixture *f)
{
	if (f == NULL)
		return;
	gw_arena_free(f->arena);
	free(f->cases);
	free(f->name);
	free(f);
}

const char *gw_fixture_name(const gw_fixture *f) { return f->name; }
size_t gw_fixture_count(const gw_fixture *f) { return f->ncases; }
const gw_case *gw_fixture_case(const gw_fixture *f, size_t i) { return &f->cases[i]; }

/* ---- evaluation --------------------------------------------------------- */

static void
gw_body_kv(gw_buf *b, const char *k, const char *v, size_t n, bool last)
{
	gw_json_escape(b, k, strlen(k));
	gw_buf_putc(b, ':');
	gw_json_escape(b, v, n);
	if (!last)
		gw_buf_putc(b, ',');
}

void
gw_case_evaluate(const gw_case *c, gw_result *r)
{
	gw_buf_reset(&r->body);
	gw_upper_trim(c->method, r->method, sizeof(r->method));
	if (c->simulate_retryable_failure) {
		r->outcome = GW_OUTCOME_RETRYABLE_FAILURE;
		r->status = 503;
		r->error_code = "gateway_backend_unavailable";
		gw_buf_puts(&r->body, "{\"reason\":\"backend_unavailable\",\"status\":\"retryable\"}");
		return;
	}
	if (!gw_method_supported(r->method)) {
		r->outcome = GW_OUTCOME_MALFORMED_INPUT;
		r->status = 405;
		r->error_code = "gateway_unsupported_method";
		gw_buf_puts(&r->body, "{\"reason\":\"unsupported_method\",\"status\":\"rejected\"}");
		return;
	}
	const char *e, *a;
	size_t elen, alen;
	gw_str_trim(c->endpoint, &e, &elen);
	gw_str_trim(c->actor_id, &a, &alen);
	if (elen == 0 || e[0] != '/' || alen == 0) {
		r->outcome = GW_OUTCOME_MALFORMED_INPUT;
		r->status = 400;
		r->error_code = "gateway_invalid_request";
		gw_buf_puts(&r->body, "{\"reason\":\"invalid_request\",\"status\":\"rejected\"}");
		return;
	}
	r->outcome = GW_OUTCOME_SUCCESS;
	r->status = strcmp(r->method, "POST") == 0 ? 201 : strcmp(r->method, "DELETE") == 0 ? 202 : 200;
	r->error_code = "";
	gw_buf_putc(&r->body, '{');
	gw_body_kv(&r->body, "actor_id", a, alen, false);
	gw_body_kv(&r->body, "endpoint", e, elen, false);
	gw_body_kv(&r->body, "method", r->method, strlen(r->method), false);
	gw_body_kv(&r->body, "status", "accepted", 8, true);
	gw_buf_putc(&r->body, '}');
}

int
gw_case_check(const gw_case *c, const gw_result *r, gw_err *err)
{
	if (c->expected_outcome != r->outcome)
		return gw_err_set(err, -EPROTO, GW_EXIT_FAIL, "case '%s' expected step %s but observed %s",
		    c->case_id, gw_outcome_debug(c->expected_outcome), gw_outcome_debug(r->outcome));
	if (c->expected_status != r->status)
		return gw_err_set(err, -EPROTO, GW_EXIT_FAIL,
		    "case '%s' expected status_code %llu but observed %llu", c->case_id,
		    (unsigned long long)c->expected_status, (unsigned long long)r->status);
	if (r->outcome == GW_OUTCOME_SUCCESS && r->error_code[0] != '\0')
		return gw_err_set(err, -EPROTO, GW_EXIT_FAIL,
		    "case '%s' expected empty error_code for success but observed Some(\"%s\")",
		    c->case_id, r->error_code);
	if (r->outcome != GW_OUTCOME_SUCCESS && strcmp(c->expected_error_code, r->error_code) != 0)
		return gw_err_set(err, -EPROTO, GW_EXIT_FAIL,
		    "case '%s' expected error_code '%s' but observed Some(\"%s\")", c->case_id,
		    c->expected_error_code, r->error_code);
	if (strcmp(c->expected_body, gw_buf_cstr(&r->body)) != 0)
		return gw_err_set(err, -EPROTO, GW_EXIT_FAIL,
		    "case '%s' expected response_body %s but observed %s", c->case_id,
		    c->expected_body, gw_buf_cstr(&r->body));
	return 0;
}
