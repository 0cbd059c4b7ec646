/*
 * json.h - JSON helpers over cJSON, plus an exact-format writer.
 *
 * cJSON parses; this module writes.  gw_jw emits either compact JSON or the
 * reference's "pretty" form (2-space indent, "key": value, [] and {} when
 * empty), so files and reports are byte-compatible with the original.
 * Integers are written from uint64_t/int64_t and never pass through a
 * double.  gw_json_scan walks one level of a large document without building
 * a tree, so a 1M-case fixture is parsed one case at a time; gw_json_valid
 * checks a text strictly, also without a tree, so a caller can validate a
 * large value and then parse only the members it needs.
 */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/buf.h"
#include "core/base/err.h"

/* ---- writer ------------------------------------------------------------- */

#define GW_JW_MAX_DEPTH 64

typedef struct gw_jw {
	gw_buf *out;   /* not owned */
	bool pretty;
	int depth;
	int base_indent;            /* extra indentation levels for every line */
	bool has_items[GW_JW_MAX_DEPTH];
	bool after_key;
} gw_jw;

/* Starts writing into out (appending). pretty selects the 2-space form. */
void gw_jw_init(gw_jw *w, gw_buf *out, bool pretty);
void gw_jw_obj_begin(gw_jw *w);
void gw_jw_obj_end(gw_jw *w);
void gw_jw_arr_begin(gw_jw *w);
void gw_jw_arr_end(gw_jw *w);
/* Writes an object key; the next value call writes its value. */
void gw_jw_key(gw_jw *w, const char *k);
void gw_jw_str(gw_jw *w, const char *s);
void gw_jw_strn(gw_jw *w, const char *s, size_t n);
void gw_jw_u64(gw_jw *w, uint64_t v);
void gw_jw_i64(gw_jw *w, int64_t v);
void gw_jw_double(gw_jw *w, double v);
void gw_jw_bool(gw_jw *w, bool v);
void gw_jw_null(gw_jw *w);
/* Writes a cJSON value (not consumed) in the writer's style. */
void gw_jw_cjson(gw_jw *w, const cJSON *v);
/* Writes pre-rendered, valid JSON text as a value; in pretty mode it is
 * re-indented (the text must be valid JSON; it is not re-validated). */
void gw_jw_raw_json(gw_jw *w, const char *json, size_t n);
/* Key + value shorthands. */
void gw_jw_kstr(gw_jw *w, const char *k, const char *s);
void gw_jw_ku64(gw_jw *w, const char *k, uint64_t v);
void gw_jw_kbool(gw_jw *w, const char *k, bool v);

/* Appends s as a JSON string literal (quotes included) to b. */
void gw_json_escape(gw_buf *b, const char *s, size_t n);

/* ---- reading ------------------------------------------------------------ */

/* Parses text (n bytes) into a cJSON tree the caller frees with cJSON_Delete.
 * On failure returns NULL and sets err to "<what>: invalid JSON at line L
 * column C: <reason>" (exit class GW_EXIT_DATAERR). */
cJSON *gw_json_parse(const char *text, size_t n, const char *what, gw_err *err);

/* Converts a byte offset in text to 1-based line and column. */
void gw_json_line_col(const char *text, size_t off, unsigned *line, unsigned *col);

/* Returns true and stores the value when item is a non-negative integral
 * number that fits (up to 2^53 exactly). */
bool gw_json_as_u64(const cJSON *item, uint64_t *out);

/* Returns the string member k of obj, or NULL when absent or not a string. */
const char *gw_json_str(const cJSON *obj, const char *k);

/* Sorts object keys recursively (serde's BTreeMap order: byte order). */
void gw_json_sort_keys(cJSON *v);

/* Appends the canonical compact form (sorted keys) of v to b. */
void gw_json_canonical(gw_buf *b, const cJSON *v);

/* ---- streaming scan ----------------------------------------------------- */

/*
 * A cursor over one JSON container in a larger text.  the scan functions never
 * recurses, so arbitrarily deep input cannot exhaust the stack; nesting
 * beyond GW_JSON_MAX_NESTING is reported as an error.
 */
#define GW_JSON_MAX_NESTING 512

/* The offset of the first byte at or after p in t[0..n) that is not JSON
 * whitespace (space, \n, \r, \t); n when there is none. */
size_t gw_json_skip_ws(const char *t, size_t n, size_t p);

typedef struct gw_json_scan {
	const char *text;
	size_t len;
	size_t pos;
	char close;       /* '}' or ']' of the container being walked */
	bool first;
} gw_json_scan;

/* Messages read "<what>: invalid JSON at line L column C: <why>" (no
 * prefix when what is "").
 * Begins walking the object or array whose opening bracket is at or after
 * pos (whitespace skipped).  Returns 0, or -EINVAL with err set. */
int gw_json_scan_open(gw_json_scan *s, const char *text, size_t len, size_t pos,
    char open, const char *what, gw_err *err);
/* Advances to the next member.  For objects, key and keylen receive the raw
 * (still escaped) key without quotes.  vstart and vend delimit the value's
 * text.  Returns 1 for a member, 0 at the end of the container, -EINVAL
 * with err set on malformed input. */
int gw_json_scan_next(gw_json_scan *s, const char **key, size_t *keylen,
    size_t *vstart, size_t *vend, const char *what, gw_err *err);
/* After the container ends, checks only whitespace remains.  0 or -EINVAL. */
int gw_json_scan_finish(gw_json_scan *s, const char *what, gw_err *err);

/* ---- validation --------------------------------------------------------- */

/*
 * Returns true when text (n bytes, no terminator needed) is exactly one
 * JSON value with optional surrounding whitespace, per RFC 8259: strict
 * numbers (no leading zeros, no "1." or ".5"), the literals true, false and
 * null, strings free of raw control characters with valid escapes, \uXXXX
 * surrogates in pairs and well-formed UTF-8.  Whitespace is space, tab, CR
 * and LF only; a byte-order mark or trailing text is invalid.  Nesting
 * deeper than GW_JSON_MAX_NESTING is invalid.  Never allocates and never
 * recurses; text stays owned by the caller.
 */
bool gw_json_valid(const char *text, size_t n);

/* Called for each member of a top-level object: key and keylen are the raw
 * (still escaped) key without quotes, vstart and vend delimit the value's
 * text.  key points into the validated text. */
typedef void (*gw_json_member_fn)(void *ctx, const char *key, size_t keylen,
    size_t vstart, size_t vend);

/* gw_json_valid that, in the same single pass, calls fn (when text is an
 * object) for its members in order, so a caller can validate a document and
 * pick its members without walking it twice.  Calls happen as validation
 * proceeds: when false is returned, discard what fn was told. */
bool gw_json_valid_members(const char *text, size_t n, gw_json_member_fn fn, void *ctx);

/* ---- text checks ---------------------------------------------------------- */

/* Where gw_json_text_clean found a string that cannot be kept as a C string
 * of well-formed UTF-8. */
typedef struct gw_json_text_fault {
	size_t offset;  /* the offending byte (or the backslash of \u0000) in the text */
	bool nul;       /* a NUL (raw byte or \u0000 escape); else invalid UTF-8 */
	char path[160]; /* the member holding it: "input[0].content[1].text",
	                 * "metadata.session_id"; "" for a top-level string;
	                 * bytes of a key that are not printable ASCII shown as '?' */
} gw_json_text_fault;

/*
 * Checks every string of a JSON text, keys included, for what a parser
 * that decodes into C strings (cJSON) would silently lose or pass on: bytes
 * that are not well-formed UTF-8 (Unicode table 3-7) and NUL characters,
 * raw or written as \u0000 (which would cut the string short).  Meant for a
 * text a parser has accepted; on anything else it stays in bounds and
 * reports what it meets.  Returns true when clean, else false with *f
 * describing the first fault.  Allocates only to name a fault's path (a
 * clean text costs no allocation) and never recurses (paths deeper than
 * GW_JSON_MAX_NESTING show the outer levels only); text stays owned by the
 * caller.
 */
bool gw_json_text_clean(const char *text, size_t n, gw_json_text_fault *f);

#endif
