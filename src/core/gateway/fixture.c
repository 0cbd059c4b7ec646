/*
 * fixture.c - fixture parsing, validation and case evaluation.
 *
 * Parsing walks the top-level object with gw_json_scan and parses each
 * case on its own, so memory stays proportional to the converted cases and
 * never to a whole cJSON tree.  A plain case is read by a fast path
 * straight from the text; anything else goes through cJSON and the
 * reference's checks (see "the fast path" below).  This module must not
 * touch the state directory.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

struct gw_fixture {
	gw_arena *arena;
	char *name;
	gw_case *cases;
	size_t ncases, cap;
	size_t nfast;         /* cases the fast path took */
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
	bool fast;           /* try gw_fp_case before the slow path */
	bool outer_pending;  /* the top-level scan of `cases` is still owed */
	gw_json_scan outer;  /* the top-level scanner before the `cases` member */
	size_t cases_end;    /* gw_fx_cases: the offset after the array */
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
/* their lengths, for the fast path */
static const size_t gw_case_field_lens[] = { 14, 7, 6, 8, 8, 4, 26, 8 };
static const size_t gw_expected_field_lens[] = { 7, 11, 10, 13 };

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

/* ---- the fast path ------------------------------------------------------ */

/*
 * Most cases are plain: known fields once each, strings without escapes,
 * small integers, a flat response_body of strings.  gw_fp_case reads such a
 * case straight from the text (no cJSON tree, no canonicalising copy) and
 * accepts it only when it is strictly valid JSON and passes every rule of
 * gw_fx_case; anything else (an escape, a number with a fraction, a nested
 * response_body, a duplicate or unknown field, any rule broken, any syntax
 * error) makes it give up without a word, and the case goes through
 * gw_fx_case, which reports exactly what it always reported.  So the fast
 * path decides nothing that the slow path would decide differently; the
 * unit tests compare both paths case by case.
 */

typedef struct gw_fp_str {
	const char *s;
	size_t n;
} gw_fp_str;

#define GW_FP_MAX_BODY 16 /* response_body members the fast path sorts */

typedef struct gw_fp {
	const char *t;
	size_t n, p;
} gw_fp;

static void
gw_fp_ws(gw_fp *f)
{
	f->p = gw_json_skip_ws(f->t, f->n, f->p);
}

/* A string without escapes or control bytes (its bytes taken as they are,
 * as cJSON would take them). */
static bool
gw_fp_string(gw_fp *f, gw_fp_str *out)
{
	if (f->p >= f->n || f->t[f->p] != '"')
		return false;
	size_t i = f->p + 1;
	/* eight bytes at a time: a word test flags the bytes that end the
	 * string or are refused (exact for the first one flagged; later ones
	 * may be flagged wrongly), so on a little-endian host the first flag
	 * is the byte to look at; elsewhere the bytes from that word on go
	 * one by one */
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	while (i + 8 <= f->n) {
		uint64_t v, q, b, m;
		memcpy(&v, f->t + i, sizeof(v));
		q = v ^ (ones * '"');
		b = v ^ (ones * '\\');
		m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v)) & highs;
		if (m == 0) {
			i += 8;
			continue;
		}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		i += (size_t)__builtin_ctzll(m) >> 3;
#endif
		break;
	}
	while (i < f->n) {
		unsigned char c = (unsigned char)f->t[i];
		if (c == '"')
			break;
		if (c == '\\' || c < 0x20)
			return false;
		i++;
	}
	if (i >= f->n)
		return false;
	out->s = f->t + f->p + 1;
	out->n = i - f->p - 1;
	f->p = i + 1;
	return true;
}

/* "0" or a digit string without a leading zero, at most 9 digits, not
 * followed by a fraction or exponent. */
static bool
gw_fp_uint(gw_fp *f, uint64_t *out)
{
	size_t i = f->p, d = 0;
	uint64_t v = 0;
	while (i < f->n && f->t[i] >= '0' && f->t[i] <= '9' && d < 10) {
		v = v * 10 + (uint64_t)(f->t[i] - '0');
		i++;
		d++;
	}
	if (d == 0 || d > 9 || (d > 1 && f->t[f->p] == '0'))
		return false;
	if (i < f->n && (f->t[i] == '.' || f->t[i] == 'e' || f->t[i] == 'E' || f->t[i] == '-' ||
	    f->t[i] == '+'))
		return false;
	f->p = i;
	*out = v;
	return true;
}

static bool
gw_fp_lit(gw_fp *f, const char *lit, size_t n)
{
	if (f->n - f->p < n || memcmp(f->t + f->p, lit, n) != 0)
		return false;
	f->p += n;
	return true;
}

/* Skips an object or array (strings may hold escapes) and checks the
 * skipped text strictly with gw_json_valid. */
static bool
gw_fp_skip_valid(gw_fp *f)
{
	size_t start = f->p, depth = 0, i = f->p;
	for (; i < f->n; i++) {
		char c = f->t[i];
		if (c == '"') {
			for (i++; i < f->n && f->t[i] != '"'; i++)
				if (f->t[i] == '\\')
					i++;
			if (i >= f->n)
				return false;
		} else if (c == '{' || c == '[') {
			if (++depth > 64)
				return false;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return false;
			if (--depth == 0)
				break;
		}
	}
	if (i >= f->n || !gw_json_valid(f->t + start, i + 1 - start))
		return false;
	f->p = i + 1;
	return true;
}

/* After a member: ',' (returns 1, more follow), '}' (returns 0), else -1. */
static int
gw_fp_next(gw_fp *f)
{
	gw_fp_ws(f);
	if (f->p >= f->n)
		return -1;
	char c = f->t[f->p++];
	if (c == '}')
		return 0;
	if (c != ',')
		return -1;
	gw_fp_ws(f);
	return 1;
}

/* Reads the key of a member and its ':'; the value starts at f->p. */
static bool
gw_fp_key(gw_fp *f, gw_fp_str *k)
{
	if (!gw_fp_string(f, k))
		return false;
	gw_fp_ws(f);
	if (f->p >= f->n || f->t[f->p] != ':')
		return false;
	f->p++;
	gw_fp_ws(f);
	return true;
}

/* The index of k in names (lens[i]: strlen(names[i])), or -1. */
static int
gw_fp_field(const gw_fp_str *k, const char *const *names, const size_t *lens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lens[i] == k->n && memcmp(names[i], k->s, k->n) == 0)
			return (int)i;
	return -1;
}

static int
gw_fp_keycmp(const gw_fp_str *a, const gw_fp_str *b)
{
	int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
	return c != 0 ? c : (a->n > b->n) - (a->n < b->n);
}

/* A flat object of string members, written canonically (keys in byte
 * order, compact) into out, as gw_json_canonical writes it. */
static bool
gw_fp_body(gw_fp *f, gw_buf *out)
{
	gw_fp_str k[GW_FP_MAX_BODY], v[GW_FP_MAX_BODY];
	size_t n = 0;
	if (f->p >= f->n || f->t[f->p] != '{')
		return false;
	f->p++;
	gw_fp_ws(f);
	for (;;) {
		if (n == GW_FP_MAX_BODY || !gw_fp_key(f, &k[n]) || !gw_fp_string(f, &v[n]))
			return false;
		/* insertion sort; an equal key is a duplicate */
		size_t j = n++;
		while (j > 0) {
			int c = gw_fp_keycmp(&k[j - 1], &k[j]);
			if (c == 0)
				return false;
			if (c < 0)
				break;
			gw_fp_str tk = k[j], tv = v[j];
			k[j] = k[j - 1];
			v[j] = v[j - 1];
			k[j - 1] = tk;
			v[j - 1] = tv;
			j--;
		}
		int r = gw_fp_next(f);
		if (r < 0)
			return false;
		if (r == 0)
			break;
	}
	gw_buf_reset(out);
	gw_buf_putc(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			gw_buf_putc(out, ',');
		gw_buf_putc(out, '"');
		gw_buf_append(out, k[i].s, k[i].n);
		gw_buf_append(out, "\":\"", 3);
		gw_buf_append(out, v[i].s, v[i].n);
		gw_buf_putc(out, '"');
	}
	gw_buf_putc(out, '}');
	return true;
}

/* The `expected` object. */
static bool
gw_fp_expected(gw_fp *f, gw_fp_str *outcome, uint64_t *status, gw_fp_str *code, bool *has_code,
    gw_buf *body)
{
	uint32_t seen = 0;
	if (f->p >= f->n || f->t[f->p] != '{')
		return false;
	f->p++;
	gw_fp_ws(f);
	for (;;) {
		gw_fp_str k;
		if (!gw_fp_key(f, &k))
			return false;
		int i = gw_fp_field(&k, gw_expected_fields, gw_expected_field_lens,
		    sizeof(gw_expected_fields) / sizeof(gw_expected_fields[0]));
		if (i < 0 || (seen & (UINT32_C(1) << i)))
			return false;
		seen |= UINT32_C(1) << i;
		bool ok;
		switch (i) {
		case 0: ok = gw_fp_string(f, outcome); break;
		case 1: ok = gw_fp_uint(f, status); break;
		case 2:
			*has_code = f->p < f->n && f->t[f->p] == '"';
			ok = *has_code ? gw_fp_string(f, code) : gw_fp_lit(f, "null", 4);
			break;
		default: ok = gw_fp_body(f, body); break;
		}
		if (!ok)
			return false;
		int r = gw_fp_next(f);
		if (r < 0)
			return false;
		if (r == 0)
			break;
	}
	/* outcome, status_code and response_body are required */
	return (seen & 0xb) == 0xb;
}

/* Reads the case at text[pos] (its '{') into c when the fast path can
 * take it; returns the offset after its '}', or 0 to leave the case to
 * the slow path.  The arena keeps what a case given up on allocated. */
static size_t
gw_fp_case(gw_parse_ctx *p, gw_fixture *fx, size_t pos, size_t idx, gw_case *c)
{
	gw_fp f = { .t = p->text, .n = p->len, .p = pos + 1 };
	gw_fp_str sv[4] = { { NULL, 0 } }, outcome = { NULL, 0 }, code = { "", 0 };
	uint64_t schema = 1, status = 0;
	bool simulate = false, has_code = false;
	uint32_t seen = 0;
	gw_fp_ws(&f);
	for (;;) {
		gw_fp_str k;
		if (!gw_fp_key(&f, &k))
			return 0;
		int i = gw_fp_field(&k, gw_case_fields, gw_case_field_lens,
		    sizeof(gw_case_fields) / sizeof(gw_case_fields[0]));
		if (i < 0 || (seen & (UINT32_C(1) << i)))
			return 0;
		seen |= UINT32_C(1) << i;
		bool ok;
		switch (i) {
		case 0: ok = gw_fp_uint(&f, &schema); break;
		case 1: case 2: case 3: case 4: ok = gw_fp_string(&f, &sv[i - 1]); break;
		case 5:
			ok = f.p < f.n && f.t[f.p] == '{' ? gw_fp_skip_valid(&f) : gw_fp_lit(&f, "null", 4);
			break;
		case 6:
			ok = gw_fp_lit(&f, "true", 4) ? (simulate = true) : gw_fp_lit(&f, "false", 5);
			break;
		default:
			ok = gw_fp_expected(&f, &outcome, &status, &code, &has_code, &p->key);
			break;
		}
		if (!ok)
			return 0;
		int r = gw_fp_next(&f);
		if (r < 0)
			return 0;
		if (r == 0)
			break;
	}
	/* case_id, method, endpoint, actor_id and expected are required */
	if ((seen & 0x9e) != 0x9e || schema != 1)
		return 0;
	gw_outcome o;
	if (outcome.n == 7 && memcmp(outcome.s, "success", 7) == 0)
		o = GW_OUTCOME_SUCCESS;
	else if (outcome.n == 15 && memcmp(outcome.s, "malformed_input", 15) == 0)
		o = GW_OUTCOME_MALFORMED_INPUT;
	else if (outcome.n == 17 && memcmp(outcome.s, "retryable_failure", 17) == 0)
		o = GW_OUTCOME_RETRYABLE_FAILURE;
	else
		return 0;
	if (simulate != (o == GW_OUTCOME_RETRYABLE_FAILURE))
		return 0;
	memset(c, 0, sizeof(*c));
	c->index = idx;
	c->case_id = gw_arena_strndup(fx->arena, sv[0].s, sv[0].n);
	c->method = gw_arena_strndup(fx->arena, sv[1].s, sv[1].n);
	c->endpoint = gw_arena_strndup(fx->arena, sv[2].s, sv[2].n);
	c->actor_id = gw_arena_strndup(fx->arena, sv[3].s, sv[3].n);
	c->simulate_retryable_failure = simulate;
	c->expected_outcome = o;
	c->expected_status = status;
	if (gw_str_blank(c->case_id) || gw_str_blank(c->method) || gw_str_blank(c->endpoint))
		return 0;
	if (status > 65535)
		return 0;
	if (o == GW_OUTCOME_SUCCESS) {
		c->expected_error_code = has_code ? gw_arena_strndup(fx->arena, code.s, code.n) : "";
		if (!gw_str_blank(c->expected_error_code) || status < 200 || status > 299)
			return 0;
	} else {
		const char *t;
		size_t tn;
		char *cp = gw_arena_strndup(fx->arena, code.s, code.n);
		gw_str_trim(cp, &t, &tn);
		if (tn == 0 || status < 400)
			return 0;
		char *trimmed = gw_arena_strndup(fx->arena, t, tn);
		if (!gw_error_code_supported(trimmed))
			return 0;
		c->expected_error_code = trimmed;
	}
	c->expected_body = gw_arena_strndup(fx->arena, p->key.data, p->key.len);
	gw_buf_reset(&p->key);
	gw_case_key(&p->key, c->method, c->endpoint, c->case_id, false);
	c->key = gw_arena_strndup(fx->arena, p->key.data, p->key.len);
	return f.p;
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

/* ---- duplicate case_ids ------------------------------------------------- */

/* The trimmed case_ids of the cases before the first that failed
 * validation, checked after the array is parsed: an open-addressing table
 * of case indexes (plus one; 0 is empty) tagged with their hash's high
 * bits, 8 bytes a slot, sized at least twice the count (a 1M-case
 * fixture's check stays in a 16 MB table and copies no id).  The hashes
 * were taken while each case_id was fresh in the cache; the check walks
 * them in order and prefetches the slot GW_FX_IDS_AHEAD cases ahead, so
 * the table's cache misses overlap instead of stalling one per case. */
#define GW_FX_IDS_AHEAD 16

static uint64_t
gw_fx_id_hash(const char *case_id)
{
	const char *id;
	size_t n;
	gw_str_trim(case_id, &id, &n);
	return gw_strhash_n(id, n);
}

/* Whether cases a and b have the same trimmed case_id. */
static bool
gw_fx_same_id(const gw_fixture *f, size_t a, size_t b)
{
	const char *x, *y;
	size_t xn, yn;
	gw_str_trim(f->cases[a].case_id, &x, &xn);
	gw_str_trim(f->cases[b].case_id, &y, &yn);
	return xn == yn && memcmp(x, y, xn) == 0;
}

/* The index of the first of f's first n cases whose trimmed case_id an
 * earlier case has (hashes[i]: gw_fx_id_hash of case i's), or n. */
static size_t
gw_fx_first_dup(const gw_fixture *f, const uint64_t *hashes, size_t n)
{
	size_t cap = 1024;
	while (cap < n * 2)
		cap *= 2;
	uint32_t *slots = gw_xcalloc(cap * 2, sizeof(*slots)); /* [2j] index + 1, [2j + 1] tag */
	size_t mask = cap - 1, dup = n;
	for (size_t i = 0; i < n && dup == n; i++) {
		if (i + GW_FX_IDS_AHEAD < n)
			__builtin_prefetch(&slots[2 * (hashes[i + GW_FX_IDS_AHEAD] & mask)], 1);
		uint64_t h = hashes[i];
		uint32_t tag = (uint32_t)(h >> 32);
		size_t j = (size_t)h & mask;
		for (; slots[2 * j] != 0; j = (j + 1) & mask)
			if (slots[2 * j + 1] == tag && gw_fx_same_id(f, i, slots[2 * j] - 1))
				dup = i;
		slots[2 * j] = (uint32_t)i + 1;
		slots[2 * j + 1] = tag;
	}
	free(slots);
	return dup;
}

/* The top-level scan of the `cases` member that the fast path put off
 * (see gw_fixture_parse_with): run before anything the slow path reports,
 * so an unbalanced array is still reported first, with its old message. */
static int
gw_fx_outer_check(gw_parse_ctx *p)
{
	if (!p->outer_pending)
		return 0;
	p->outer_pending = false;
	const char *key;
	size_t klen, vs, ve;
	return gw_json_scan_next(&p->outer, &key, &klen, &vs, &ve, "", p->err) < 0 ? -EINVAL : 0;
}

static int
gw_fx_cases(gw_parse_ctx *p, gw_fixture *f, size_t start)
{
	gw_json_scan s;
	/* the id hashes of the cases before the first that failed validation
	 * (nvalid of them), for gw_fx_first_dup; sized along with f->cases */
	uint64_t *hashes = NULL;
	size_t nvalid = 0;
	bool failed = false; /* a case failed validation */
	int rc = gw_json_scan_open(&s, p->text, p->len, start, '[', "cases", p->err);
	size_t vs, ve;
	while (rc == 0) {
		if (f->ncases == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 64;
			f->cases = gw_xrealloc(f->cases, f->cap * sizeof(*f->cases));
			hashes = gw_xrealloc(hashes, f->cap * sizeof(*hashes));
		}
		gw_case *c = &f->cases[f->ncases];
		/* the fast path, where the next member is a plain case */
		size_t at = gw_json_skip_ws(p->text, p->len, s.pos);
		if (!s.first && at < p->len && p->text[at] == ',')
			at = gw_json_skip_ws(p->text, p->len, at + 1);
		else if (!s.first)
			at = p->len;
		size_t end = p->fast && at < p->len && p->text[at] == '{' ?
		    gw_fp_case(p, f, at, f->ncases, c) : 0;
		if (end != 0) {
			s.pos = end;
			s.first = false;
			f->nfast++;
			vs = at;
			goto accepted;
		}
		/* only plain cases so far and the closing bracket next: the array
		 * is balanced, the top-level scan cannot fail */
		at = gw_json_skip_ws(p->text, p->len, s.pos);
		if (!(at < p->len && p->text[at] == ']') && (rc = gw_fx_outer_check(p)) != 0)
			break;
		if ((rc = gw_json_scan_next(&s, NULL, NULL, &vs, &ve, "cases", p->err)) != 1)
			break;
		unsigned line = gw_fx_line(p, vs), col;
		cJSON *obj = cJSON_ParseWithLength(p->text + vs, ve - vs);
		if (obj == NULL) {
			const char *ep = cJSON_GetErrorPtr();
			size_t off = ep ? (size_t)(ep - p->text) : vs;
			gw_json_line_col(p->text, off, &line, &col);
			rc = gw_fx_fail(p, GW_EXIT_DATAERR, "invalid JSON at line %u column %u", line, col);
			break;
		}
		p->validating = false;
		rc = gw_fx_case(p, f, obj, f->ncases, line, c);
		cJSON_Delete(obj);
		if (rc != 0 && !p->validating)
			break; /* parse errors are reported at once */
		if (rc != 0)
			gw_fx_defer(p);
accepted:
		if (rc != 0)
			failed = true;
		else if (!failed)
			hashes[nvalid++] = gw_fx_id_hash(c->case_id);
		rc = 0;
		f->ncases++;
	}
	/* a duplicate case_id before the first case that failed validation is
	 * the first failure; parse errors still win */
	size_t dup = rc == 0 ? gw_fx_first_dup(f, hashes, nvalid) : nvalid;
	free(hashes);
	if (dup < nvalid) { /* (it comes before the failure deferred, if any) */
		p->have_deferred = false;
		gw_fx_fail(p, GW_EXIT_DATAERR, "fixture contains duplicate case_id '%s'",
		    f->cases[dup].case_id);
		gw_fx_defer(p);
	}
	if (rc < 0) {
		if (strncmp(p->err->msg, "invalid fixture", 15) != 0)
			gw_err_prefix(p->err, "invalid fixture %s", p->path);
		return -EINVAL;
	}
	p->cases_end = s.pos;
	return 0;
}

static int
gw_fixture_parse_with(const char *path, const char *text, size_t len, bool fast,
    gw_fixture **out, gw_err *err)
{
	gw_parse_ctx p = { .path = path, .text = text, .len = len, .err = err, .fast = fast };
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
	for (;;) {
		/* A plain `"cases": [` member not seen before is walked in place:
		 * the top-level scan would first skip the whole array to find its
		 * end, a pass over most of the file; gw_fx_cases runs that scan
		 * (gw_fx_outer_check) only when a case needs the slow path. */
		size_t at = gw_json_skip_ws(text, len, s.pos);
		if (!s.first)
			at = at < len && text[at] == ',' ? gw_json_skip_ws(text, len, at + 1) : len;
		if (fast && len - at > 8 && memcmp(text + at, "\"cases\"", 7) == 0 &&
		    !gw_strmap_get(top, "cases", NULL)) {
			size_t v = gw_json_skip_ws(text, len, at + 7);
			bool colon = v < len && text[v] == ':';
			if (colon)
				v = gw_json_skip_ws(text, len, v + 1);
			if (colon && v < len && text[v] == '[') {
				unsigned line = gw_fx_line(&p, at + 1);
				gw_strmap_put(top, "cases", line);
				p.outer = s;
				p.outer_pending = true;
				if (gw_fx_cases(&p, f, v) != 0) {
					rc = -EINVAL;
					goto fail;
				}
				p.outer_pending = false;
				s.pos = p.cases_end;
				s.first = false;
				have_cases = true;
				continue;
			}
		}
		if ((rc = gw_json_scan_next(&s, &key, &klen, &vs, &ve, "", err)) != 1)
			break;
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
gw_fixture_parse(const char *path, const char *text, size_t len, gw_fixture **out, gw_err *err)
{
	return gw_fixture_parse_with(path, text, len, true, out, err);
}

int
gw_fixture_parse_slow(const char *path, const char *text, size_t len, gw_fixture **out,
    gw_err *err)
{
	return gw_fixture_parse_with(path, text, len, false, out, err);
}

size_t gw_fixture_fast_count(const gw_fixture *f) { return f->nfast; }

/*
 * Maps the regular file open on fd read-only (pre-faulted), one NUL byte
 * guaranteed at (*text)[*len] as a read buffer has it: the mapping is
 * placed at the start of an anonymous reservation one byte longer, so
 * past the file's last page there is a zero page.  Reading a large
 * fixture this way costs neither the zeroing of fresh pages nor the copy
 * out of the page cache.  0, or -1 for anything else (not a regular
 * file, empty, a failure): the caller reads fd instead, which reports
 * errors as always (so a FIFO is opened once).  A file truncated by
 * someone else while it is parsed raises SIGBUS; the parse runs before
 * the state is touched.  fd stays the caller's; the caller unmaps
 * *map_len bytes at *text with munmap.
 */
static int
gw_fx_map(int fd, const char **text, size_t *len, size_t *map_len)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size >= SIZE_MAX / 2)
		return -1;
	size_t n = (size_t)sb.st_size, page = (size_t)sysconf(_SC_PAGESIZE);
	size_t total = (n + 1 + page - 1) / page * page;
	char *base = mmap(NULL, total, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	if (mmap(base, n, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) == MAP_FAILED) {
		munmap(base, total);
		return -1;
	}
	*text = base;
	*len = n;
	*map_len = total;
	return 0;
}

int
gw_fixture_load(const char *path, gw_fixture **out, gw_err *err)
{
	*out = NULL;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		rc = -errno;
		gw_err_set(err, rc, rc == -ENOENT ? GW_EXIT_NOINPUT : GW_EXIT_IOERR,
		    "failed to read fixture %s: %s", path, strerror(-rc));
		return rc;
	}
	const char *mapped;
	size_t mapped_len, map_len;
	if (gw_fx_map(fd, &mapped, &mapped_len, &map_len) == 0) {
		close(fd);
		rc = gw_fixture_parse(path, mapped, mapped_len, out, err);
		munmap((void *)mapped, map_len);
		return rc;
	}
	gw_buf text = GW_BUF_INIT;
	rc = gw_fs_read_fd(fd, path, &text, err); /* (closes fd) */
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
