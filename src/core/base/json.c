/*
 * json.c - exact-format JSON writer, parse helpers and a non-recursive
 * scanner.  This module must not depend on any gateway concept.
 */
#include "core/base/json.h"
#include "core/base/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ------------------------------------------------------------- */

void
gw_jw_init(gw_jw *w, gw_buf *out, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
}

static void
gw_jw_newline(gw_jw *w)
{
	gw_buf_putc(w->out, '\n');
	for (int i = 0; i < w->depth + w->base_indent; i++)
		gw_buf_append(w->out, "  ", 2);
}

/* Called before every value or key: separators and indentation. */
static void
gw_jw_pre(gw_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (w->has_items[w->depth])
		gw_buf_putc(w->out, ',');
	w->has_items[w->depth] = true;
	if (w->pretty)
		gw_jw_newline(w);
}

static void
gw_jw_open(gw_jw *w, char c)
{
	gw_jw_pre(w);
	gw_buf_putc(w->out, c);
	if (w->depth + 1 < GW_JW_MAX_DEPTH)
		w->depth++;
	w->has_items[w->depth] = false;
}

static void
gw_jw_close(gw_jw *w, char c)
{
	bool had = w->has_items[w->depth];
	if (w->depth > 0)
		w->depth--;
	if (w->pretty && had)
		gw_jw_newline(w);
	gw_buf_putc(w->out, c);
}

void gw_jw_obj_begin(gw_jw *w) { gw_jw_open(w, '{'); }
void gw_jw_obj_end(gw_jw *w) { gw_jw_close(w, '}'); }
void gw_jw_arr_begin(gw_jw *w) { gw_jw_open(w, '['); }
void gw_jw_arr_end(gw_jw *w) { gw_jw_close(w, ']'); }

void
gw_jw_key(gw_jw *w, const char *k)
{
	gw_jw_pre(w);
	gw_json_escape(w->out, k, strlen(k));
	if (w->pretty)
		gw_buf_append(w->out, ": ", 2);
	else
		gw_buf_putc(w->out, ':');
	w->after_key = true;
}

void
gw_jw_strn(gw_jw *w, const char *s, size_t n)
{
	gw_jw_pre(w);
	gw_json_escape(w->out, s, n);
}

void
gw_jw_str(gw_jw *w, const char *s)
{
	gw_jw_strn(w, s ? s : "", s ? strlen(s) : 0);
}

void
gw_jw_u64(gw_jw *w, uint64_t v)
{
	gw_jw_pre(w);
	gw_buf_put_u64(w->out, v);
}

void
gw_jw_i64(gw_jw *w, int64_t v)
{
	gw_jw_pre(w);
	gw_buf_printf(w->out, "%" PRId64, v);
}

void
gw_jw_double(gw_jw *w, double v)
{
	gw_jw_pre(w);
	if (!isfinite(v)) {
		gw_buf_puts(w->out, "null");
	} else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		gw_buf_printf(w->out, "%" PRId64, (int64_t)v);
	} else {
		/* shortest round-trip representation */
		char tmp[40];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
		gw_buf_puts(w->out, tmp);
	}
}

void
gw_jw_bool(gw_jw *w, bool v)
{
	gw_jw_pre(w);
	gw_buf_puts(w->out, v ? "true" : "false");
}

void
gw_jw_null(gw_jw *w)
{
	gw_jw_pre(w);
	gw_buf_puts(w->out, "null");
}

void
gw_jw_cjson(gw_jw *w, const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsInvalid(v)) {
		gw_jw_null(w);
	} else if (cJSON_IsBool(v)) {
		gw_jw_bool(w, cJSON_IsTrue(v));
	} else if (cJSON_IsNumber(v)) {
		gw_jw_double(w, v->valuedouble);
	} else if (cJSON_IsString(v)) {
		gw_jw_str(w, v->valuestring);
	} else if (cJSON_IsRaw(v)) {
		gw_jw_raw_json(w, v->valuestring, strlen(v->valuestring));
	} else if (cJSON_IsArray(v)) {
		gw_jw_arr_begin(w);
		for (const cJSON *c = v->child; c; c = c->next)
			gw_jw_cjson(w, c);
		gw_jw_arr_end(w);
	} else if (cJSON_IsObject(v)) {
		gw_jw_obj_begin(w);
		for (const cJSON *c = v->child; c; c = c->next) {
			gw_jw_key(w, c->string ? c->string : "");
			gw_jw_cjson(w, c);
		}
		gw_jw_obj_end(w);
	}
}

void
gw_jw_raw_json(gw_jw *w, const char *json, size_t n)
{
	if (!w->pretty) {
		gw_jw_pre(w);
		gw_buf_append(w->out, json, n);
		return;
	}
	/* Re-indent compact JSON without building a tree. */
	gw_jw_pre(w);
	int depth = w->depth + w->base_indent;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = json[i];
		if (in_str) {
			gw_buf_putc(w->out, c);
			if (c == '\\' && i + 1 < n)
				gw_buf_putc(w->out, json[++i]);
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			gw_buf_putc(w->out, c);
			break;
		case '{':
		case '[':
			gw_buf_putc(w->out, c);
			if (i + 1 < n && (json[i + 1] == '}' || json[i + 1] == ']')) {
				gw_buf_putc(w->out, json[++i]);
				break;
			}
			depth++;
			gw_buf_putc(w->out, '\n');
			for (int k = 0; k < depth; k++)
				gw_buf_append(w->out, "  ", 2);
			break;
		case '}':
		case ']':
			depth--;
			gw_buf_putc(w->out, '\n');
			for (int k = 0; k < depth; k++)
				gw_buf_append(w->out, "  ", 2);
			gw_buf_putc(w->out, c);
			break;
		case ',':
			gw_buf_putc(w->out, ',');
			gw_buf_putc(w->out, '\n');
			for (int k = 0; k < depth; k++)
				gw_buf_append(w->out, "  ", 2);
			break;
		case ':':
			gw_buf_append(w->out, ": ", 2);
			break;
		case ' ': case '\n': case '\r': case '\t':
			break;
		default:
			gw_buf_putc(w->out, c);
		}
	}
}

void gw_jw_kstr(gw_jw *w, const char *k, const char *s) { gw_jw_key(w, k); gw_jw_str(w, s); }
void gw_jw_ku64(gw_jw *w, const char *k, uint64_t v) { gw_jw_key(w, k); gw_jw_u64(w, v); }
void gw_jw_kbool(gw_jw *w, const char *k, bool v) { gw_jw_key(w, k); gw_jw_bool(w, v); }

/* The bytes a JSON string cannot hold as they are: controls, '"', '\\'. */
static const unsigned char gw_json_special[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
	[0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
	[0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
	['"'] = 1, ['\\'] = 1,
};

void
gw_json_escape(gw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	gw_buf_reserve(b, n + 2);
	gw_buf_putc(b, '"');
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && !gw_json_special[(unsigned char)s[run]])
			run++;
		gw_buf_append(b, s + i, run - i); /* the plain stretch, in one copy */
		if (run == n)
			break;
		unsigned char c = (unsigned char)s[run];
		char u[7];
		const char *rep = u;
		switch (c) {
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		default:
			u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
			u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
		}
		gw_buf_puts(b, rep);
		i = run + 1;
	}
	gw_buf_putc(b, '"');
}

/* ---- reading ------------------------------------------------------------ */

void
gw_json_line_col(const char *text, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static const char *
gw_json_describe(size_t n, size_t off)
{
	if (n == 0 || off >= n)
		return "unexpected end of input";
	return "unexpected character";
}

/* Returns the nesting depth that first exceeds the limit, or 0. */
static size_t
gw_json_too_deep(const char *text, size_t n, size_t *where)
{
	size_t depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > GW_JSON_MAX_NESTING) {
				*where = i;
				return depth;
			}
		} else if (c == '}' || c == ']') {
			if (depth)
				depth--;
		}
	}
	return 0;
}

cJSON *
gw_json_parse(const char *text, size_t n, const char *what, gw_err *err)
{
	unsigned line, col;
	size_t where;
	if (gw_json_too_deep(text, n, &where)) {
		gw_json_line_col(text, where, &line, &col);
		gw_err_set(err, 0, GW_EXIT_DATAERR,
		    "%s: JSON nested deeper than %d levels at line %u column %u",
		    what, GW_JSON_MAX_NESTING, line, col);
		return NULL;
	}
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(text, n, &end, 0);
	if (v != NULL) {
		/* cJSON stops after the first value; anything but space is an error */
		size_t off = (size_t)(end - text);
		while (off < n && (text[off] == ' ' || text[off] == '\n' ||
		    text[off] == '\r' || text[off] == '\t'))
			off++;
		if (off == n)
			return v;
		cJSON_Delete(v);
		gw_json_line_col(text, off, &line, &col);
		gw_err_set(err, 0, GW_EXIT_DATAERR,
		    "%s: invalid JSON at line %u column %u: trailing characters",
		    what, line, col);
		return NULL;
	}
	const char *ep = cJSON_GetErrorPtr();
	size_t off = (ep != NULL && ep >= text && ep <= text + n) ? (size_t)(ep - text) : n;
	gw_json_line_col(text, off, &line, &col);
	gw_err_set(err, 0, GW_EXIT_DATAERR, "%s: invalid JSON at line %u column %u: %s",
	    what, line, col, gw_json_describe(n, off));
	return NULL;
}

bool
gw_json_as_u64(const cJSON *item, uint64_t *out)
{
	if (!cJSON_IsNumber(item))
		return false;
	double d = item->valuedouble;
	if (!(d >= 0) || d != floor(d) || d > 18446744073709549568.0)
		return false;
	*out = (uint64_t)d;
	return true;
}

const char *
gw_json_str(const cJSON *obj, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
gw_json_key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

void
gw_json_sort_keys(cJSON *v)
{
	if (v == NULL)
		return;
	for (cJSON *c = v->child; c; c = c->next)
		gw_json_sort_keys(c);
	if (!cJSON_IsObject(v) || v->child == NULL)
		return;
	size_t n = 0;
	for (cJSON *c = v->child; c; c = c->next)
		n++;
	cJSON **items = gw_xmalloc(n * sizeof(*items));
	n = 0;
	for (cJSON *c = v->child; c; c = c->next)
		items[n++] = c;
	qsort(items, n, sizeof(*items), gw_json_key_cmp);
	for (size_t i = 0; i < n; i++) {
		items[i]->prev = i ? items[i - 1] : items[n - 1];
		items[i]->next = i + 1 < n ? items[i + 1] : NULL;
	}
	v->child = items[0];
	free(items);
}

void
gw_json_canonical(gw_buf *b, const cJSON *v)
{
	cJSON *copy = cJSON_Duplicate(v, 1);
	gw_json_sort_keys(copy);
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_cjson(&w, copy);
	cJSON_Delete(copy);
}

/* ---- streaming scan ----------------------------------------------------- */

size_t
gw_json_skip_ws(const char *t, size_t n, size_t p)
{
	while (p < n && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t'))
		p++;
	return p;
}

static int
gw_scan_fail(gw_json_scan *s, size_t at, const char *what, const char *why, gw_err *err)
{
	unsigned line, col;
	gw_json_line_col(s->text, at > s->len ? s->len : at, &line, &col);
	return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s%sinvalid JSON at line %u column %u: %s",
	    what, what[0] ? ": " : "", line, col, why);
}

/* Skips a string starting at p (which holds '"'); returns the index after
 * the closing quote, or 0 when unterminated. */
static size_t
gw_scan_string(const char *t, size_t n, size_t p)
{
	for (p++; p < n; p++) {
		if (t[p] == '\\')
			p++;
		else if (t[p] == '"')
			return p + 1;
		else if ((unsigned char)t[p] < 0x20)
			return 0;
	}
	return 0;
}

/* Skips one value starting at p; returns the index after it or 0. Checks
 * bracket balance and nesting, not full grammar (cJSON does that later). */
static size_t
gw_scan_value(const char *t, size_t n, size_t p, const char **why)
{
	if (p >= n) {
		*why = "unexpected end of input";
		return 0;
	}
	char c = t[p];
	if (c == '"') {
		size_t e = gw_scan_string(t, n, p);
		if (!e)
			*why = "unterminated string";
		return e;
	}
	if (c == '{' || c == '[') {
		char stack[GW_JSON_MAX_NESTING];
		size_t depth = 0;
		for (; p < n; p++) {
			c = t[p];
			if (c == '"') {
				size_t e = gw_scan_string(t, n, p);
				if (!e) {
					*why = "unterminated string";
					return 0;
				}
				p = e - 1;
			} else if (c == '{' || c == '[') {
				if (depth == GW_JSON_MAX_NESTING) {
					*why = "nested too deeply";
					return 0;
				}
				stack[depth++] = c == '{' ? '}' : ']';
			} else if (c == '}' || c == ']') {
				if (depth == 0 || stack[depth - 1] != c) {
					*why = "mismatched bracket";
					return 0;
				}
				if (--depth == 0)
					return p + 1;
			}
		}
		*why = "unexpected end of input";
		return 0;
	}
	/* scalar: number, true, false, null */
	size_t start = p;
	while (p < n && t[p] != ',' && t[p] != '}' && t[p] != ']' && t[p] != ' ' &&
	    t[p] != '\n' && t[p] != '\r' && t[p] != '\t')
		p++;
	if (p == start) {
		*why = "expected a value";
		return 0;
	}
	return p;
}

int
gw_json_scan_open(gw_json_scan *s, const char *text, size_t len, size_t pos,
    char open, const char *what, gw_err *err)
{
	s->text = text;
	s->len = len;
	s->pos = gw_json_skip_ws(text, len, pos);
	s->first = true;
	if (s->pos >= len || text[s->pos] != open)
		return gw_scan_fail(s, s->pos, what,
		    open == '{' ? "expected an object" : "expected an array", err);
	s->close = open == '{' ? '}' : ']';
	s->pos++;
	return 0;
}

int
gw_json_scan_next(gw_json_scan *s, const char **key, size_t *keylen,
    size_t *vstart, size_t *vend, const char *what, gw_err *err)
{
	const char *t = s->text, *why = NULL;
	size_t n = s->len, p = gw_json_skip_ws(t, n, s->pos);
	if (p < n && t[p] == s->close) {
		s->pos = p + 1;
		return 0;
	}
	if (!s->first) {
		if (p >= n || t[p] != ',')
			return gw_scan_fail(s, p, what, "expected ',' or closing bracket", err);
		p = gw_json_skip_ws(t, n, p + 1);
	}
	s->first = false;
	if (s->close == '}') {
		if (p >= n || t[p] != '"')
			return gw_scan_fail(s, p, what, "expected an object key", err);
		size_t e = gw_scan_string(t, n, p);
		if (!e)
			return gw_scan_fail(s, p, what, "unterminated string", err);
		if (key) {
			*key = t + p + 1;
			*keylen = e - p - 2;
		}
		p = gw_json_skip_ws(t, n, e);
		if (p >= n || t[p] != ':')
			return gw_scan_fail(s, p, what, "expected ':'", err);
		p = gw_json_skip_ws(t, n, p + 1);
	}
	size_t e = gw_scan_value(t, n, p, &why);
	if (!e)
		return gw_scan_fail(s, p, what, why, err);
	*vstart = p;
	*vend = e;
	s->pos = e;
	return 1;
}

int
gw_json_scan_finish(gw_json_scan *s, const char *what, gw_err *err)
{
	size_t p = gw_json_skip_ws(s->text, s->len, s->pos);
	if (p != s->len)
		return gw_scan_fail(s, p, what, "trailing characters", err);
	return 0;
}

/* ---- validation --------------------------------------------------------- */

/* What a byte means inside a string. */
enum gw_jv_byte {
	GW_JV_PLAIN,  /* printable ASCII, taken as is */
	GW_JV_QUOTE,  /* the closing quote */
	GW_JV_ESC,    /* a backslash escape follows */
	GW_JV_CTRL,   /* a raw control character: invalid */
	GW_JV_UTF8    /* part of a multi-byte UTF-8 sequence */
};

#define GW_JV_ROW(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v

static const unsigned char gw_jv_class[256] = {
	GW_JV_ROW(GW_JV_CTRL), GW_JV_ROW(GW_JV_CTRL),           /* 0x00-0x1f */
	0, 0, GW_JV_QUOTE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20-0x2f */
	GW_JV_ROW(0), GW_JV_ROW(0),                             /* 0x30-0x4f */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, GW_JV_ESC, 0, 0, 0,   /* 0x50-0x5f */
	GW_JV_ROW(0), GW_JV_ROW(0),                             /* 0x60-0x7f */
	GW_JV_ROW(GW_JV_UTF8), GW_JV_ROW(GW_JV_UTF8), GW_JV_ROW(GW_JV_UTF8),
	GW_JV_ROW(GW_JV_UTF8), GW_JV_ROW(GW_JV_UTF8), GW_JV_ROW(GW_JV_UTF8),
	GW_JV_ROW(GW_JV_UTF8), GW_JV_ROW(GW_JV_UTF8),           /* 0x80-0xff */
};

/* Every helper below takes the index of the token's first byte and returns
 * the index just past the token, or 0 when it is invalid (a valid token
 * never ends at index 0). */

/* Four hex digits at p: their value, or -1. */
static long
gw_jv_hex4(const unsigned char *t, size_t n, size_t p)
{
	if (p > n || n - p < 4)
		return -1;
	long v = 0;
	for (size_t i = p; i < p + 4; i++) {
		unsigned char c = t[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A backslash escape at p; a \u high surrogate must be followed by a \u
 * low surrogate, and a low surrogate may not stand alone. */
static size_t
gw_jv_escape(const unsigned char *t, size_t n, size_t p)
{
	if (p + 1 >= n)
		return 0;
	switch (t[p + 1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return p + 2;
	case 'u':
		break;
	default:
		return 0;
	}
	long u = gw_jv_hex4(t, n, p + 2);
	if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
		return 0;
	if (u < 0xD800 || u > 0xDBFF)
		return p + 6;
	if (n - p < 12 || t[p + 6] != '\\' || t[p + 7] != 'u')
		return 0;
	long lo = gw_jv_hex4(t, n, p + 8);
	return lo >= 0xDC00 && lo <= 0xDFFF ? p + 12 : 0;
}

/* One UTF-8 encoded character at p (Unicode table 3-7: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
static size_t
gw_jv_utf8(const unsigned char *t, size_t n, size_t p)
{
	unsigned char c = t[p], lo = 0x80, hi = 0xBF;
	size_t len;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n - p < len || t[p + 1] < lo || t[p + 1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((t[p + i] & 0xC0) != 0x80)
			return 0;
	return p + len;
}

/* A string whose opening quote is at p. */
static size_t
gw_jv_string(const unsigned char *t, size_t n, size_t p)
{
	p++;
	for (;;) {
		while (p < n && gw_jv_class[t[p]] == GW_JV_PLAIN)
			p++;
		if (p >= n)
			return 0;
		switch (gw_jv_class[t[p]]) {
		case GW_JV_QUOTE:
			return p + 1;
		case GW_JV_ESC:
			p = gw_jv_escape(t, n, p);
			break;
		case GW_JV_UTF8:
			p = gw_jv_utf8(t, n, p);
			break;
		default:
			return 0;
		}
		if (p == 0)
			return 0;
	}
}

static size_t
gw_jv_digits(const unsigned char *t, size_t n, size_t p)
{
	while (p < n && t[p] >= '0' && t[p] <= '9')
		p++;
	return p;
}

/* A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t
gw_jv_number(const unsigned char *t, size_t n, size_t p)
{
	if (p < n && t[p] == '-')
		p++;
	if (p >= n)
		return 0;
	if (t[p] == '0')
		p++;
	else if (t[p] >= '1' && t[p] <= '9')
		p = gw_jv_digits(t, n, p + 1);
	else
		return 0;
	if (p < n && t[p] == '.') {
		size_t q = gw_jv_digits(t, n, p + 1);
		if (q == p + 1)
			return 0;
		p = q;
	}
	if (p < n && (t[p] == 'e' || t[p] == 'E')) {
		p++;
		if (p < n && (t[p] == '+' || t[p] == '-'))
			p++;
		size_t q = gw_jv_digits(t, n, p);
		if (q == p)
			return 0;
		p = q;
	}
	return p;
}

static size_t
gw_jv_literal(const unsigned char *t, size_t n, size_t p, const char *lit, size_t len)
{
	return n - p >= len && memcmp(t + p, lit, len) == 0 ? p + len : 0;
}

bool
gw_json_valid(const char *text, size_t n)
{
	return gw_json_valid_members(text, n, NULL, NULL);
}

bool
gw_json_valid_members(const char *text, size_t n, gw_json_member_fn fn, void *ctx)
{
	const unsigned char *t = (const unsigned char *)text;
	char close[GW_JSON_MAX_NESTING]; /* '}' or ']' per open container */
	size_t depth = 0;
	enum { WANT_VALUE, WANT_KEY, AFTER_VALUE } want = WANT_VALUE;
	/* the top-level member being read, reported to fn once its value ends */
	bool member = false;
	size_t key = 0, keyend = 0, vstart = 0;
	size_t p = gw_json_skip_ws(text, n, 0);
	for (;;) {
		if (want == WANT_KEY) {
			size_t k = p;
			if (p >= n || t[p] != '"' || (p = gw_jv_string(t, n, p)) == 0)
				return false;
			size_t kend = p - 1;
			p = gw_json_skip_ws(text, n, p);
			if (p >= n || t[p] != ':')
				return false;
			p = gw_json_skip_ws(text, n, p + 1);
			if (depth == 1 && fn != NULL) {
				member = true;
				key = k + 1;
				keyend = kend;
				vstart = p;
			}
			want = WANT_VALUE;
			continue;
		}
		if (want == WANT_VALUE) {
			if (p >= n)
				return false;
			switch (t[p]) {
			case '{':
			case '[':
				if (depth == GW_JSON_MAX_NESTING)
					return false;
				close[depth++] = t[p] == '{' ? '}' : ']';
				p = gw_json_skip_ws(text, n, p + 1);
				if (p < n && t[p] == close[depth - 1]) {
					depth--;
					p++;
					break;
				}
				want = close[depth - 1] == '}' ? WANT_KEY : WANT_VALUE;
				continue;
			case '"':
				p = gw_jv_string(t, n, p);
				break;
			case 't':
				p = gw_jv_literal(t, n, p, "true", 4);
				break;
			case 'f':
				p = gw_jv_literal(t, n, p, "false", 5);
				break;
			case 'n':
				p = gw_jv_literal(t, n, p, "null", 4);
				break;
			default:
				p = gw_jv_number(t, n, p);
			}
			if (p == 0)
				return false;
		}
		/* after a value: end of text, a separator or a closing bracket */
		if (member && depth == 1) {
			fn(ctx, text + key, keyend - key, vstart, p);
			member = false;
		}
		p = gw_json_skip_ws(text, n, p);
		if (depth == 0)
			return p == n;
		if (p >= n)
			return false;
		if (t[p] == ',') {
			p = gw_json_skip_ws(text, n, p + 1);
			want = close[depth - 1] == '}' ? WANT_KEY : WANT_VALUE;
		} else if (t[p] == close[depth - 1]) {
			depth--;
			p++;
			want = AFTER_VALUE;
		} else {
			return false;
		}
	}
}

/* ---- text checks ---------------------------------------------------------- */

/* One open container while gw_json_text_clean walks a text. */
typedef struct gw_jt_frame {
	bool obj;
	bool want_key;     /* objects: the next string is a key */
	size_t index;      /* arrays: the element being read */
	size_t key, keyn;  /* objects: the current member's raw key */
} gw_jt_frame;

static void
gw_jt_key(gw_buf *b, const unsigned char *t, size_t key, size_t keyn)
{
	for (size_t i = 0; i < keyn; i++)
		gw_buf_putc(b, t[key + i] >= 0x20 && t[key + i] < 0x7f ? (char)t[key + i] : '?');
}

/* Renders the path of the string at depth d (frames 0..d-1); inkey: the
 * fault is in the key at key..key+keyn of the innermost object. */
static void
gw_jt_path(gw_json_text_fault *f, const unsigned char *t, const gw_jt_frame *fr, size_t d,
    bool inkey, size_t key, size_t keyn)
{
	gw_buf b = GW_BUF_INIT;
	for (size_t i = 0; i < d; i++) {
		if (fr[i].obj) {
			bool here = i == d - 1 && inkey;
			if (!here && fr[i].want_key)
				break; /* between members: the object itself */
			if (b.len > 0)
				gw_buf_putc(&b, '.');
			if (here)
				gw_jt_key(&b, t, key, keyn);
			else
				gw_jt_key(&b, t, fr[i].key, fr[i].keyn);
		} else {
			gw_buf_printf(&b, "[%zu]", fr[i].index);
		}
	}
	snprintf(f->path, sizeof(f->path), "%s", gw_buf_cstr(&b));
	gw_buf_free(&b);
}

bool
gw_json_text_clean(const char *text, size_t n, gw_json_text_fault *f)
{
	const unsigned char *t = (const unsigned char *)text;
	gw_jt_frame fr[GW_JSON_MAX_NESTING];
	size_t depth = 0; /* may exceed the frames kept; only they are named */
	memset(f, 0, sizeof(*f));
	for (size_t p = 0; p < n;) {
		gw_jt_frame *top = depth > 0 && depth <= GW_JSON_MAX_NESTING ? &fr[depth - 1] : NULL;
		size_t shown = depth < GW_JSON_MAX_NESTING ? depth : GW_JSON_MAX_NESTING;
		switch (t[p]) {
		case '{':
		case '[':
			if (depth < GW_JSON_MAX_NESTING)
				fr[depth] = (gw_jt_frame){ .obj = t[p] == '{', .want_key = t[p] == '{' };
			depth++;
			p++;
			continue;
		case '}':
		case ']':
			depth -= depth > 0;
			p++;
			continue;
		case ',':
			if (top != NULL && top->obj)
				top->want_key = true;
			else if (top != NULL)
				top->index++;
			p++;
			continue;
		case ':':
			if (top != NULL)
				top->want_key = false;
			p++;
			continue;
		case '\0':
			f->offset = p;
			f->nul = true;
			gw_jt_path(f, t, fr, shown, false, 0, 0);
			return false;
		case '"':
			break;
		default:
			p++;
			continue;
		}
		/* a string: a key when its object waits for one */
		bool inkey = top != NULL && top->obj && top->want_key;
		size_t start = ++p;
		while (p < n && t[p] != '"') {
			size_t next = p + 1;
			bool nul = t[p] == 0, bad = false;
			if (t[p] == '\\') {
				next = p + 2;
				if (p + 1 < n && t[p + 1] == 'u') {
					nul = gw_jv_hex4(t, n, p + 2) == 0;
					next = p + 6;
				}
			} else if (t[p] >= 0x80) {
				next = gw_jv_utf8(t, n, p);
				bad = next == 0;
			}
			if (nul || bad) {
				f->offset = p;
				f->nul = nul;
				gw_jt_path(f, t, fr, shown, inkey, start, p - start);
				return false;
			}
			p = next;
		}
		if (inkey) {
			top->key = start;
			top->keyn = (p < n ? p : n) - start;
		}
		p++;
	}
	return true;
}
