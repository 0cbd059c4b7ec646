/*
 * events.c - append to and read runtime-events.jsonl.
 *
 * Must never read the whole log into memory: status inspect streams it in
 * fixed-size blocks and the console reads its tail backwards from the end.
 * Nor may the summary build a JSON tree per line: it validates each line
 * in place and parses only the few members it counts.
 */
#include "core/gateway/events.h"
#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_EVENTS_BLOCK (1u << 20)

char *
gw_events_path(const char *dir)
{
	return gw_path_join(dir, GW_EVENTS_FILE);
}

int
gw_events_append(const char *dir, const char *json, size_t n, gw_err *err)
{
	/* the file store's append is the one implementation (one write) */
	gw_store *s;
	gw_store_open_dir(dir, &s, err);
	int rc = gw_store_event_append(s, json, n, err);
	gw_store_close(s);
	return rc;
}

void
gw_events_lifecycle_line(gw_buf *b, uint64_t now, const char *transition,
    const char *service_status, const char *reason, uint64_t startup_attempts)
{
	gw_jw w;
	gw_jw_init(&w, b, false);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "timestamp_unix_ms", now);
	gw_jw_kstr(&w, "kind", "lifecycle");
	gw_jw_kstr(&w, "transition", transition);
	gw_jw_kstr(&w, "service_status", service_status);
	gw_jw_kstr(&w, "reason", reason ? reason : "");
	gw_jw_ku64(&w, "startup_attempts", startup_attempts);
	gw_jw_obj_end(&w);
}

int
gw_events_append_lifecycle(const char *dir, uint64_t now, const char *transition,
    const char *service_status, const char *reason, uint64_t startup_attempts, gw_err *err)
{
	gw_buf b = GW_BUF_INIT;
	gw_events_lifecycle_line(&b, now, transition, service_status, reason, startup_attempts);
	int rc = gw_events_append(dir, b.data, b.len, err);
	gw_buf_free(&b);
	return rc;
}

/* ---- summary ------------------------------------------------------------ */

typedef struct gw_sum_ctx {
	gw_events_summary *s;
	gw_strmap *index;       /* code -> position in counts */
	gw_buf key;             /* scratch for the trimmed code being counted:
	                         * reused per code, so memory stays flat over a
	                         * 1 GB log (an arena copy per code grew it) */
	size_t cap;
} gw_sum_ctx;

/* The members a line is judged by, in gw_sum_keys order. */
enum { GW_SUM_KIND, GW_SUM_CODES, GW_SUM_REASON, GW_SUM_NKEYS };

#define GW_SUM_KEY(name) { name, sizeof(name) - 1 }

static const struct {
	const char *name;
	size_t len;
} gw_sum_keys[GW_SUM_NKEYS] = {
	GW_SUM_KEY("kind"), GW_SUM_KEY("reason_codes"), GW_SUM_KEY("health_reason"),
};

/* Which gw_sum_keys entry the raw (still escaped, unquoted) key names, or -1.
 * An escaped key is decoded by cJSON and compared as cJSON's own member
 * lookup compares, so "kin\u0064" is "kind" as before. */
static int
gw_sum_key(const char *key, size_t len)
{
	int which = -1;
	if (memchr(key, '\\', len) == NULL) {
		for (int i = 0; i < GW_SUM_NKEYS && which < 0; i++)
			if (gw_sum_keys[i].len == len && memcmp(key, gw_sum_keys[i].name, len) == 0)
				which = i;
		return which;
	}
	cJSON *k = cJSON_ParseWithLength(key - 1, len + 2); /* with its quotes */
	for (int i = 0; cJSON_IsString(k) && i < GW_SUM_NKEYS && which < 0; i++)
		if (strcmp(k->valuestring, gw_sum_keys[i].name) == 0)
			which = i;
	cJSON_Delete(k);
	return which;
}

/* Whether the (valid) JSON value v is the string "cycle". */
static bool
gw_sum_is_cycle(const char *v, size_t n)
{
	if (n == 7 && memcmp(v, "\"cycle\"", 7) == 0)
		return true;
	if (v[0] != '"' || memchr(v, '\\', n) == NULL)
		return false;
	cJSON *k = cJSON_ParseWithLength(v, n);
	bool cycle = cJSON_IsString(k) && strcmp(k->valuestring, "cycle") == 0;
	cJSON_Delete(k);
	return cycle;
}

/* The first occurrence of each gw_sum_keys member of one line. */
typedef struct gw_sum_members {
	int nfound;
	bool found[GW_SUM_NKEYS];
	size_t vstart[GW_SUM_NKEYS], vend[GW_SUM_NKEYS];
} gw_sum_members;

static void
gw_sum_member(void *ctx, const char *key, size_t keylen, size_t vstart, size_t vend)
{
	gw_sum_members *m = ctx;
	if (m->nfound == GW_SUM_NKEYS)
		return;
	int k = gw_sum_key(key, keylen);
	if (k >= 0 && !m->found[k]) {
		m->nfound++;
		m->found[k] = true;
		m->vstart[k] = vstart;
		m->vend[k] = vend;
	}
}

/*
 * Judges one line.  The line is validated without building a tree, and the
 * same pass notes where the values of kind, reason_codes and health_reason
 * lie - the first occurrence of each, as cJSON's member lookup picks - so
 * only those small values are parsed.
 */
static void
gw_sum_line(gw_sum_ctx *c, const char *line, size_t n)
{
	while (n > 0 && (line[0] == ' ' || line[0] == '\t' || line[0] == '\r')) {
		line++;
		n--;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	if (n == 0)
		return;
	gw_events_summary *s = c->s;
	gw_sum_members m = { 0, { false }, { 0 }, { 0 } };
	if (line[0] != '{' || !gw_json_valid_members(line, n, gw_sum_member, &m)) {
		s->invalid_cycle_reports++;
		return;
	}
	if (m.found[GW_SUM_KIND] &&
	    !gw_sum_is_cycle(line + m.vstart[GW_SUM_KIND], m.vend[GW_SUM_KIND] - m.vstart[GW_SUM_KIND])) {
		/* lifecycle / recovery lines are not cycle reports */
		s->other_lines++;
		return;
	}
	cJSON *codes = m.found[GW_SUM_CODES] ? cJSON_ParseWithLength(line + m.vstart[GW_SUM_CODES],
	    m.vend[GW_SUM_CODES] - m.vstart[GW_SUM_CODES]) : NULL;
	cJSON *reason = m.found[GW_SUM_REASON] ? cJSON_ParseWithLength(line + m.vstart[GW_SUM_REASON],
	    m.vend[GW_SUM_REASON] - m.vstart[GW_SUM_REASON]) : NULL;
	bool ok = (codes == NULL || cJSON_IsNull(codes) || cJSON_IsArray(codes)) &&
	    (reason == NULL || cJSON_IsNull(reason) || cJSON_IsString(reason));
	for (const cJSON *e = codes && cJSON_IsArray(codes) ? codes->child : NULL; ok && e; e = e->next)
		ok = cJSON_IsString(e);
	if (!ok) {
		cJSON_Delete(codes);
		cJSON_Delete(reason);
		s->invalid_cycle_reports++;
		return;
	}
	s->cycle_reports++;
	for (size_t i = 0; i < s->nlast; i++)
		free(s->last_reason_codes[i]);
	s->nlast = 0;
	size_t ncodes = (size_t)(cJSON_IsArray(codes) ? cJSON_GetArraySize(codes) : 0);
	s->last_reason_codes = gw_xrealloc(s->last_reason_codes, (ncodes + 1) * sizeof(char *));
	for (const cJSON *e = cJSON_IsArray(codes) ? codes->child : NULL; e; e = e->next) {
		s->last_reason_codes[s->nlast++] = gw_xstrdup(e->valuestring);
		const char *t = e->valuestring;
		while (*t == ' ' || *t == '\t')
			t++;
		size_t tl = strlen(t);
		while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
			tl--;
		if (tl == 0)
			continue;
		gw_buf_reset(&c->key);
		gw_buf_append(&c->key, t, tl);
		const char *code = c->key.data;
		size_t pos;
		if (gw_strmap_get(c->index, code, &pos)) {
			s->counts[pos].count++;
		} else {
			if (s->ncounts == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 16;
				s->counts = gw_xrealloc(s->counts, c->cap * sizeof(*s->counts));
			}
			s->counts[s->ncounts].code = gw_xstrdup(code);
			s->counts[s->ncounts].count = 1;
			gw_strmap_put(c->index, s->counts[s->ncounts].code, s->ncounts);
			s->ncounts++;
		}
	}
	free(s->last_health_reason);
	s->last_health_reason = cJSON_IsString(reason) ? gw_xstrdup(reason->valuestring) : NULL;
	cJSON_Delete(codes);
	cJSON_Delete(reason);
}

static int
gw_count_cmp(const void *a, const void *b)
{
	return strcmp(((const gw_events_count *)a)->code, ((const gw_events_count *)b)->code);
}

typedef void (*gw_raw_line_fn)(void *ctx, const char *line, size_t n);

/* Streams fd from its current offset, calling fn per complete line; a final
 * unterminated line is passed too when final_partial is set.  Returns the
 * number of bytes consumed through the last complete line, or -errno. */
static int64_t
gw_stream_lines(int fd, bool final_partial, gw_raw_line_fn fn, void *ctx)
{
	char *block = gw_xmalloc(GW_EVENTS_BLOCK);
	gw_buf carry = GW_BUF_INIT;
	int64_t consumed = 0;
	for (;;) {
		ssize_t r = read(fd, block, GW_EVENTS_BLOCK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(block);
			gw_buf_free(&carry);
			return -e;
		}
		if (r == 0)
			break;
		const char *p = block, *end = block + r;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL) {
				gw_buf_append(&carry, p, (size_t)(end - p));
				break;
			}
			if (carry.len > 0) {
				gw_buf_append(&carry, p, (size_t)(nl - p));
				fn(ctx, carry.data, carry.len);
				consumed += (int64_t)carry.len + 1;
				gw_buf_reset(&carry);
			} else {
				fn(ctx, p, (size_t)(nl - p));
				consumed += nl - p + 1;
			}
			p = nl + 1;
		}
	}
	if (final_partial && carry.len > 0)
		fn(ctx, carry.data, carry.len);
	free(block);
	gw_buf_free(&carry);
	return consumed;
}

/* Opens the log for reading.  Returns the fd, -ENOENT when it does not
 * exist (not an error for any reader), or another -errno with err set. */
static int
gw_events_open(const char *path, gw_err *err)
{
	int fd = gw_fs_open_file(path, O_RDONLY, 0, err);
	if (fd == -ENOENT)
		gw_err_clear(err);
	return fd;
}

struct gw_events_summarizer {
	gw_sum_ctx c;
};

gw_events_summarizer *
gw_events_summarizer_new(gw_events_summary *out)
{
	memset(out, 0, sizeof(*out));
	gw_events_summarizer *z = gw_xcalloc(1, sizeof(*z));
	z->c = (gw_sum_ctx){ out, gw_strmap_new(32), GW_BUF_INIT, 0 };
	return z;
}

void
gw_events_summarizer_line(void *z, const char *line, size_t n)
{
	gw_sum_line(&((gw_events_summarizer *)z)->c, line, n);
}

void
gw_events_summarizer_finish(gw_events_summarizer *z, bool present)
{
	gw_events_summary *out = z->c.s;
	out->present = present;
	gw_strmap_free(z->c.index);
	gw_buf_free(&z->c.key);
	free(z);
	if (out->ncounts > 1)
		qsort(out->counts, out->ncounts, sizeof(*out->counts), gw_count_cmp);
}

int
gw_events_summarize(const char *path, gw_events_summary *out, gw_err *err)
{
	memset(out, 0, sizeof(*out));
	int fd = gw_events_open(path, err);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	gw_events_summarizer *z = gw_events_summarizer_new(out);
	/* a last line without '\n' is an append in progress (or the remnant of
	 * a killed writer, which the next writer cuts off): not a report */
	int64_t rc = gw_stream_lines(fd, false, gw_events_summarizer_line, z);
	close(fd);
	gw_events_summarizer_finish(z, true);
	if (rc < 0) {
		gw_events_summary_free(out);
		return gw_err_set(err, (int)rc, GW_EXIT_IOERR, "cannot read %s: %s", path,
		    strerror((int)-rc));
	}
	return 0;
}

void
gw_events_summary_free(gw_events_summary *s)
{
	for (size_t i = 0; i < s->nlast; i++)
		free(s->last_reason_codes[i]);
	free(s->last_reason_codes);
	free(s->last_health_reason);
	for (size_t i = 0; i < s->ncounts; i++)
		free(s->counts[i].code);
	free(s->counts);
	memset(s, 0, sizeof(*s));
}

/* ---- tail and follow ---------------------------------------------------- */

/* The non-empty lines ended by a '\n' in the n bytes at p (blank lines
 * are never shown, so they never count toward a tail's lines). */
static size_t
gw_events_count_lines(const char *p, size_t n)
{
	size_t lines = 0;
	for (size_t i = 0, start = 0; i < n; i++)
		if (p[i] == '\n') {
			lines += i > start;
			start = i + 1;
		}
	return lines;
}

int
gw_events_tail(const char *path, size_t max_lines, gw_events_line_fn fn, void *ctx,
    uint64_t *size_out, gw_err *err)
{
	*size_out = 0;
	int fd = gw_events_open(path, err);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	struct stat st;
	if (fstat(fd, &st) == -1) {
		int e = errno;
		close(fd);
		return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot stat %s: %s", path, strerror(e));
	}
	uint64_t size = (uint64_t)st.st_size;
	/* ignore a trailing partial line: the tail ends at the last '\n' */
	gw_buf back = GW_BUF_INIT; /* bytes from `start` to `size`, in order */
	uint64_t start = size;
	size_t lines = 0;
	const size_t chunk = 64 * 1024;
	while (start > 0 && lines <= max_lines) {
		size_t n = start > chunk ? chunk : (size_t)start;
		start -= n;
		gw_buf tmp = GW_BUF_INIT;
		gw_buf_reserve(&tmp, n + back.len);
		ssize_t r = pread(fd, tmp.data, n, (off_t)start);
		if (r != (ssize_t)n) {
			gw_buf_free(&tmp);
			break;
		}
		tmp.len = n;
		gw_buf_append(&tmp, back.data ? back.data : "", back.len);
		gw_buf_free(&back);
		back = tmp;
		lines = gw_events_count_lines(back.data, back.len);
	}
	close(fd);
	/* drop the trailing partial line */
	size_t end = back.len;
	while (end > 0 && back.data[end - 1] != '\n')
		end--;
	*size_out = start + end;
	/* emit the last max_lines non-empty lines */
	size_t total = gw_events_count_lines(back.data, end);
	size_t skip = total > max_lines ? total - max_lines : 0;
	/* when start > 0 the first line may be partial: it is always skipped
	 * because we read at least max_lines + 1 non-empty lines */
	size_t pos = 0;
	for (size_t i = 0; i < end; i++) {
		if (back.data[i] != '\n')
			continue;
		if (i > pos) {
			if (skip > 0)
				skip--;
			else
				fn(back.data + pos, i - pos, ctx);
		}
		pos = i + 1;
	}
	gw_buf_free(&back);
	return 0;
}

typedef struct gw_follow_ctx {
	gw_events_line_fn fn;
	void *ctx;
} gw_follow_ctx;

static void
gw_follow_raw(void *ctx, const char *line, size_t n)
{
	gw_follow_ctx *f = ctx;
	if (n > 0)
		f->fn(line, n, f->ctx);
}

static void
gw_each_raw(void *ctx, const char *line, size_t n)
{
	gw_follow_ctx *f = ctx;
	f->fn(line, n, f->ctx);
}

int
gw_events_read_from(const char *path, uint64_t *off, gw_events_line_fn fn, void *ctx, gw_err *err)
{
	int fd = gw_events_open(path, err);
	if (fd == -ENOENT)
		*off = 0;
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	struct stat st;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < *off)
		*off = 0;
	if (lseek(fd, (off_t)*off, SEEK_SET) == (off_t)-1) {
		int e = errno;
		close(fd);
		return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot seek %s: %s", path, strerror(e));
	}
	gw_follow_ctx f = { fn, ctx };
	int64_t n = gw_stream_lines(fd, false, gw_follow_raw, &f);
	close(fd);
	if (n < 0)
		return gw_err_set(err, (int)n, GW_EXIT_IOERR, "cannot read %s: %s", path, strerror((int)-n));
	*off += (uint64_t)n;
	return 0;
}

int
gw_events_each_line(const char *path, gw_events_line_fn fn, void *ctx, gw_err *err)
{
	int fd = gw_events_open(path, err);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	gw_follow_ctx f = { fn, ctx };
	int64_t n = gw_stream_lines(fd, false, gw_each_raw, &f);
	close(fd);
	if (n < 0)
		return gw_err_set(err, (int)n, GW_EXIT_IOERR, "cannot read %s: %s", path, strerror((int)-n));
	return 0;
}
