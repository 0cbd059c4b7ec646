/*
 * records.c - the snapshot + log file store (see records.h).
 *
 * Opening costs one mmap and a trailer check; the log's keys are indexed
 * on the first lookup (the log is kept small against the snapshot by
 * compaction, so that is bounded by a fraction of the store, paid once per
 * open).  A lookup is one slot read and one line compare in the snapshot.
 * Compaction renders every actor's MEMORY.md lines once into the snapshot
 * (version 2), so a cycle copies an actor's lines instead of parsing its
 * records; gw_records_actor_memory checks an actor's slots before handing
 * them out (a damaged slot is corruption, 65).
 * This module must never write to a committed part of a file: the
 * snapshot is immutable and the log is only appended to past its committed
 * length.
 */
#include "core/gateway/records.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/strmap.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_SNAP_MAGIC "TAURECS1"
#define GW_SNAP_TRAILER 96
#define GW_SNAP_SLOT 16
/* The log keys' hashes as bits, so a batch lookup asks the log's map only
 * for a key whose bit is set (a few hundred log keys set under 1% of them). */
#define GW_LOG_BITS 65536

struct gw_records {
	char *dir;
	char *snap_path;
	char *log_path;
	/* snapshot (absent when generation 0) */
	const char *snap;            /* the mapping */
	size_t snap_len;
	int snap_fd;                 /* kept open: an actor's range is read with pread */
	uint64_t entries, data_bytes, dir_off, dir_bytes, slots, table_off, seq_off, nseq;
	gw_strmap *dir_index;        /* actor literal -> position in dir_start/end */
	gw_arena *dir_arena;
	uint64_t *dir_start, *dir_end;
	size_t ndir;
	uint64_t version;            /* the snapshot's layout (1: no MEMORY.md lines) */
	/* version 2: every actor's MEMORY.md lines (see records.h) */
	uint64_t *dir_first, *dir_count, *dir_mem_end;
	uint64_t mem_idx_off, mem_text_off, mem_text_bytes, nmem;
	/* log: its committed bytes, read into memory */
	char *log;                   /* NULL until indexed */
	size_t log_len;
	bool log_indexed;
	gw_strmap *log_index;        /* key literal -> position in log_offs */
	gw_arena *arena;             /* the index's NUL-terminated key literals */
	size_t *log_offs;            /* offset of each key's last line */
	size_t nlog, log_cap;
	gw_strmap *log_actors;       /* actor literal -> first position in log_offs, + 1 */
	size_t *log_next;            /* next position of the same actor, + 1 (0: none) */
	uint64_t log_bits[GW_LOG_BITS / 64]; /* bit gw_fnv(key) % GW_LOG_BITS of every log key */
};

static uint64_t
gw_fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t
gw_le64(const unsigned char *p)
{
	/* one load where the host is little-endian (a cycle reads a slot per
	 * MEMORY.md line of every touched actor) */
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void
gw_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

char *
gw_records_snap_path(const char *dir, uint64_t gen)
{
	char name[64];
	snprintf(name, sizeof(name), "records-%llu.snap", (unsigned long long)gen);
	return gw_path_join(dir, name);
}

/* ---- lines ------------------------------------------------------------- */

/* The end of the JSON string literal starting at s[0] == '"' (index of the
 * closing quote), or 0 when it does not close within n. */
static size_t
gw_lit_end(const char *s, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i;
	}
	return 0;
}

bool
gw_records_parse_line(const char *line, size_t n, gw_records_line *out)
{
	if (n < 8 || line[0] != '[' || line[1] != '"' || line[n - 1] != ']')
		return false;
	size_t e = gw_lit_end(line + 1, n - 1);
	if (e == 0)
		return false;
	out->key = line + 1;
	out->key_len = e + 1;
	size_t p = 1 + e + 1;
	if (p >= n || line[p] != ',')
		return false;
	p++;
	uint64_t seq = 0;
	size_t d = p;
	while (p < n && line[p] >= '0' && line[p] <= '9') {
		if (seq > (UINT64_MAX - 9) / 10)
			return false;
		seq = seq * 10 + (uint64_t)(line[p++] - '0');
	}
	if (p == d || p + 1 >= n || line[p] != ',' || line[p + 1] != '"')
		return false;
	out->seq = seq;
	p++;
	size_t ae = gw_lit_end(line + p, n - 1 - p);
	if (ae == 0)
		return false;
	out->actor = line + p;
	out->actor_len = ae + 1;
	p += ae + 1;
	if (p >= n - 1 || line[p] != ',')
		return false;
	out->rec = line + p + 1;
	out->rec_len = n - 1 - (p + 1);
	return out->rec_len > 0 && (out->rec[0] == '{' ||
	    (out->rec_len == 4 && memcmp(out->rec, "null", 4) == 0));
}

void
gw_records_format_line(gw_buf *b, const char *key, size_t key_len, uint64_t seq,
    const gw_request *q)
{
	gw_buf_putc(b, '[');
	gw_buf_append(b, key, key_len);
	gw_buf_printf(b, ",%llu,", (unsigned long long)seq);
	const char *actor = q != NULL ? q->actor_id : "";
	gw_json_escape(b, actor, strlen(actor));
	gw_buf_putc(b, ',');
	if (q == NULL) {
		gw_buf_puts(b, "null");
	} else {
		gw_jw w;
		gw_jw_init(&w, b, false);
		gw_jw_obj_begin(&w);
		gw_jw_kstr(&w, "case_id", q->case_id);
		gw_jw_kstr(&w, "method", q->method);
		gw_jw_kstr(&w, "endpoint", q->endpoint);
		gw_jw_kstr(&w, "actor_id", q->actor_id);
		gw_jw_ku64(&w, "status_code", q->status_code);
		gw_jw_kstr(&w, "outcome", q->outcome);
		gw_jw_kstr(&w, "error_code", q->error_code);
		gw_jw_key(&w, "response_body");
		gw_jw_raw_json(&w, q->response_body, strlen(q->response_body));
		gw_jw_ku64(&w, "updated_unix_ms", q->updated_unix_ms);
		gw_jw_obj_end(&w);
	}
	gw_buf_puts(b, "]\n");
}

/* ---- open --------------------------------------------------------------- */

static int
gw_records_bad(gw_err *err, const char *path, const char *what)
{
	return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "records file %s is corrupt: %s", path, what);
}

static int
gw_records_map_snapshot(gw_records *r, gw_err *err)
{
	int fd = gw_fs_open_file(r->snap_path, O_RDONLY, 0, err);
	if (fd == -ENOENT)
		return gw_records_bad(err, r->snap_path, "the snapshot state.json names is missing");
	if (fd < 0)
		return fd;
	struct stat sb;
	if (fstat(fd, &sb) == -1) {
		int e = errno;
		close(fd);
		return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot stat %s: %s", r->snap_path, strerror(e));
	}
	size_t len = (size_t)sb.st_size;
	if (len < GW_SNAP_TRAILER) {
		close(fd);
		return gw_records_bad(err, r->snap_path, "too short for a snapshot");
	}
	void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	if (m == MAP_FAILED) {
		close(fd);
		return gw_err_set(err, -e, GW_EXIT_IOERR, "cannot map %s: %s", r->snap_path, strerror(e));
	}
	r->snap_fd = fd;
	r->snap = m;
	r->snap_len = len;
	const unsigned char *t = (const unsigned char *)r->snap + len - GW_SNAP_TRAILER;
	if (memcmp(t, "TAURECS", 7) != 0)
		return gw_records_bad(err, r->snap_path, "no snapshot trailer");
	uint64_t version = gw_le64(t + 8);
	if (memcmp(t, GW_SNAP_MAGIC, 8) != 0 || version == 0 || version > GW_RECORDS_VERSION) {
		if (version > GW_RECORDS_VERSION)
			return gw_err_set(err, -EPROTONOSUPPORT, GW_EXIT_DATAERR,
			    "unsupported records version %llu in %s (expected %d); refusing to touch it",
			    (unsigned long long)version, r->snap_path, GW_RECORDS_VERSION);
		return gw_records_bad(err, r->snap_path, "bad snapshot trailer");
	}
	r->version = version;
	r->entries = gw_le64(t + 16);
	r->data_bytes = gw_le64(t + 24);
	r->dir_off = gw_le64(t + 32);
	r->dir_bytes = gw_le64(t + 40);
	r->slots = gw_le64(t + 48);
	r->table_off = gw_le64(t + 56);
	r->seq_off = gw_le64(t + 64);
	r->nseq = gw_le64(t + 72);
	if (gw_le64(t + 80) != gw_fnv((const char *)t, 80))
		return gw_records_bad(err, r->snap_path, "snapshot trailer check failed");
	if (r->slots == 0 || (r->slots & (r->slots - 1)) != 0 || r->slots < r->entries ||
	    r->dir_off != r->data_bytes || r->dir_bytes > r->table_off - r->dir_off ||
	    r->data_bytes > r->table_off || r->table_off % 8 != 0 ||
	    r->slots > (len - GW_SNAP_TRAILER) / GW_SNAP_SLOT ||
	    r->nseq > r->entries || r->seq_off != r->table_off + r->slots * GW_SNAP_SLOT ||
	    r->seq_off + r->nseq * 8 + GW_SNAP_TRAILER != len ||
	    (r->data_bytes > 0 && r->snap[r->data_bytes - 1] != '\n'))
		return gw_records_bad(err, r->snap_path, "snapshot sizes do not add up");
	return 0;
}

int
gw_records_open(const char *dir, const gw_records_meta *meta, bool write, gw_records **out,
    gw_err *err)
{
	*out = NULL;
	gw_records *r = gw_xcalloc(1, sizeof(*r));
	r->snap_fd = -1;
	r->dir = gw_xstrdup(dir);
	r->log_path = gw_path_join(dir, GW_RECORDS_LOG_FILE);
	int rc = 0;
	if (meta->generation > 0) {
		r->snap_path = gw_records_snap_path(dir, meta->generation);
		rc = gw_records_map_snapshot(r, err);
	}
	if (rc == 0) {
		/* the log: read its committed bytes; cut what lies past them */
		int fd = gw_fs_open_file(r->log_path, write ? O_RDWR : O_RDONLY, 0, err);
		if (fd == -ENOENT) {
			gw_err_clear(err);
			if (meta->log_bytes > 0)
				rc = gw_records_bad(err, r->log_path, "missing, but state.json commits bytes of it");
		} else if (fd < 0) {
			rc = fd;
		} else {
			struct stat sb;
			if (fstat(fd, &sb) == -1)
				rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot stat %s", r->log_path);
			else if ((uint64_t)sb.st_size < meta->log_bytes)
				rc = gw_records_bad(err, r->log_path, "shorter than state.json commits");
			if (rc == 0 && write && (uint64_t)sb.st_size > meta->log_bytes &&
			    ftruncate(fd, (off_t)meta->log_bytes) == -1)
				rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot cut the uncommitted end of %s",
				    r->log_path);
			/* its bytes are read on the first lookup (an open for a
			 * service transition reads none) */
			r->log_len = (size_t)meta->log_bytes;
			close(fd);
		}
	}
	if (rc != 0) {
		gw_records_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
gw_records_close(gw_records *r)
{
	if (r == NULL)
		return;
	if (r->snap != NULL)
		munmap((void *)r->snap, r->snap_len);
	if (r->snap_fd >= 0)
		close(r->snap_fd);
	free(r->log);
	gw_strmap_free(r->log_index);
	gw_arena_free(r->arena);
	free(r->log_offs);
	free(r->log_next);
	gw_strmap_free(r->log_actors);
	gw_strmap_free(r->dir_index);
	gw_arena_free(r->dir_arena);
	free(r->dir_start);
	free(r->dir_end);
	free(r->dir_first);
	free(r->dir_count);
	free(r->dir_mem_end);
	free(r->dir);
	free(r->snap_path);
	free(r->log_path);
	free(r);
}

uint64_t
gw_records_snapshot_bytes(const gw_records *r)
{
	return r->data_bytes;
}

/* Indexes the log's keys (last line per key wins), once. */
/* Reads the log's committed bytes. */
static int
gw_records_read_log(gw_records *r, gw_err *err)
{
	r->log = gw_xmalloc(r->log_len + 1);
	if (r->log_len == 0)
		return 0;
	int fd = gw_fs_open_file(r->log_path, O_RDONLY, 0, err);
	if (fd < 0)
		return fd == -ENOENT ? gw_records_bad(err, r->log_path, "missing, but state.json commits bytes of it") : fd;
	int rc = 0;
	size_t got = 0;
	while (got < r->log_len) {
		ssize_t n = pread(fd, r->log + got, r->log_len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot read %s: %s", r->log_path,
			    strerror(errno));
			break;
		}
		if (n == 0) {
			rc = gw_records_bad(err, r->log_path, "shorter than state.json commits");
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (rc == 0 && r->log[r->log_len - 1] != '\n')
		rc = gw_records_bad(err, r->log_path, "committed part ends inside a line");
	return rc;
}

static int
gw_records_index_log(gw_records *r, gw_err *err)
{
	if (r->log_indexed)
		return 0;
	if (r->log == NULL) {
		int rc = gw_records_read_log(r, err);
		if (rc != 0) {
			free(r->log);
			r->log = NULL;
			return rc;
		}
	}
	r->log_index = gw_strmap_new(64);
	r->log_actors = gw_strmap_new(64);
	r->arena = gw_arena_new();
	size_t pos = 0;
	while (pos < r->log_len) {
		const char *nl = memchr(r->log + pos, '\n', r->log_len - pos);
		size_t n = (size_t)(nl - (r->log + pos));
		gw_records_line l;
		if (!gw_records_parse_line(r->log + pos, n, &l)) {
			char what[96];
			snprintf(what, sizeof(what), "bad entry at byte %zu", pos);
			return gw_records_bad(err, r->log_path, what);
		}
		char *k = gw_arena_strndup(r->arena, l.key, l.key_len);
		uint64_t bit = gw_fnv(l.key, l.key_len) % GW_LOG_BITS;
		r->log_bits[bit / 64] |= UINT64_C(1) << (bit % 64);
		size_t idx;
		if (gw_strmap_get(r->log_index, k, &idx)) {
			r->log_offs[idx] = pos;
		} else {
			if (r->nlog == r->log_cap) {
				r->log_cap = r->log_cap ? r->log_cap * 2 : 256;
				r->log_offs = gw_xrealloc(r->log_offs, r->log_cap * sizeof(*r->log_offs));
			}
			r->log_offs[r->nlog] = pos;
			gw_strmap_put(r->log_index, k, r->nlog++);
		}
		pos += n + 1;
	}
	/* group each key's last line by actor */
	r->log_next = gw_xcalloc(r->nlog ? r->nlog : 1, sizeof(*r->log_next));
	for (size_t i = r->nlog; i-- > 0;) {
		gw_records_line l;
		const char *p = r->log + r->log_offs[i];
		gw_records_parse_line(p, (size_t)((const char *)memchr(p, '\n', r->log_len - r->log_offs[i]) - p),
		    &l);
		char *a = gw_arena_strndup(r->arena, l.actor, l.actor_len);
		size_t first = 0;
		gw_strmap_get(r->log_actors, a, &first);
		r->log_next[i] = first;
		gw_strmap_put(r->log_actors, a, i + 1);
	}
	r->log_indexed = true;
	return 0;
}

/* The snapshot line at data offset off, split; -EINVAL when damaged. */
static int
gw_records_snap_line(const gw_records *r, uint64_t off, gw_records_line *l, size_t *len,
    gw_err *err)
{
	if (off >= r->data_bytes)
		return gw_records_bad(err, r->snap_path, "index points outside the data");
	const char *p = r->snap + off;
	const char *nl = memchr(p, '\n', (size_t)(r->data_bytes - off));
	if (nl == NULL || !gw_records_parse_line(p, (size_t)(nl - p), l)) {
		char what[96];
		snprintf(what, sizeof(what), "bad entry at byte %llu", (unsigned long long)off);
		return gw_records_bad(err, r->snap_path, what);
	}
	*len = (size_t)(nl - p) + 1;
	return 0;
}

int
gw_records_get(gw_records *r, const char *key, size_t key_len, gw_records_line *out, gw_err *err)
{
	int rc = gw_records_index_log(r, err);
	if (rc != 0)
		return rc;
	if (r->nlog > 0) {
		/* the map wants a NUL-terminated key: key literals end in '"' and
		 * the callers' buffers are NUL-terminated there */
		size_t idx;
		if (key[key_len] == '\0' && gw_strmap_get(r->log_index, key, &idx)) {
			size_t pos = r->log_offs[idx];
			const char *nl = memchr(r->log + pos, '\n', r->log_len - pos);
			gw_records_parse_line(r->log + pos, (size_t)(nl - (r->log + pos)), out);
			return 1;
		}
	}
	return gw_records_get_snap(r, key, key_len, out, NULL, err);
}

/* gw_records_get_snap with the key's hash h already taken. */
static int
gw_records_snap_find(gw_records *r, const char *key, size_t key_len, uint64_t h,
    gw_records_line *out, uint64_t *off, gw_err *err)
{
	int rc;
	uint64_t mask = r->slots - 1;
	const unsigned char *table = (const unsigned char *)r->snap + r->table_off;
	for (uint64_t i = h & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
		const unsigned char *s = table + i * GW_SNAP_SLOT;
		uint64_t off1 = gw_le64(s);
		if (off1 == 0)
			return 0;
		if (gw_le64(s + 8) != h)
			continue;
		size_t len;
		if ((rc = gw_records_snap_line(r, off1 - 1, out, &len, err)) != 0)
			return rc;
		if (out->key_len == key_len && memcmp(out->key, key, key_len) == 0) {
			if (off != NULL)
				*off = off1 - 1;
			return 1;
		}
	}
	return 0;
}

int
gw_records_get_snap(gw_records *r, const char *key, size_t key_len, gw_records_line *out,
    uint64_t *off, gw_err *err)
{
	if (r->snap == NULL)
		return 0;
	return gw_records_snap_find(r, key, key_len, gw_fnv(key, key_len), out, off, err);
}

/*
 * A batch of lookups costs what its cache misses cost: a snapshot probe
 * reads a slot at a random place in the table, then a line at a random
 * place in the data, each a miss (and a TLB miss) that one lookup after
 * another would wait for in turn.  So the batch is a pipeline of three
 * steps GW_RECORDS_AHEAD keys apart: hash key i + 2 * AHEAD and prefetch
 * its slot (a key the log holds is answered there; the log's map is asked
 * only when the key's bit in log_bits is set); read key i + AHEAD's
 * slot, now in the cache, and prefetch the start of the line it names
 * (GW_RECORDS_LINE_AHEAD bytes, about a line); look key i up as
 * gw_records_get does, finding what it needs in the cache.  The results
 * are gw_records_get's.
 */
#define GW_RECORDS_AHEAD 8
#define GW_RECORDS_RING 32 /* a power of two above 2 * GW_RECORDS_AHEAD */
#define GW_RECORDS_LINE_AHEAD 512

int
gw_records_get_many(gw_records *r, const char *const *keys, const size_t *lens, size_t n,
    gw_records_line *out, int *found, gw_err *err)
{
	int rc = gw_records_index_log(r, err);
	if (rc != 0)
		return rc;
	uint64_t h[GW_RECORDS_RING];
	bool todo[GW_RECORDS_RING];
	const unsigned char *table = r->snap != NULL ?
	    (const unsigned char *)r->snap + r->table_off : NULL;
	uint64_t mask = r->slots - 1;
	for (size_t t = 0; t < n + 2 * GW_RECORDS_AHEAD; t++) {
		if (t < n) { /* step 1: the log, or hash and prefetch the slot */
			size_t i = t, j = i % GW_RECORDS_RING, idx;
			found[i] = 0;
			todo[j] = false;
			h[j] = gw_fnv(keys[i], lens[i]);
			uint64_t bit = h[j] % GW_LOG_BITS;
			if (r->nlog > 0 && (r->log_bits[bit / 64] >> (bit % 64) & 1) &&
			    keys[i][lens[i]] == '\0' && gw_strmap_get(r->log_index, keys[i], &idx)) {
				size_t pos = r->log_offs[idx];
				const char *nl = memchr(r->log + pos, '\n', r->log_len - pos);
				gw_records_parse_line(r->log + pos, (size_t)(nl - (r->log + pos)), &out[i]);
				found[i] = 1;
			} else if (table != NULL) {
				todo[j] = true;
				__builtin_prefetch(table + (h[j] & mask) * GW_SNAP_SLOT);
			}
		}
		if (t >= GW_RECORDS_AHEAD && t - GW_RECORDS_AHEAD < n) { /* step 2: the line */
			size_t j = (t - GW_RECORDS_AHEAD) % GW_RECORDS_RING;
			if (todo[j]) {
				const unsigned char *slot = table + (h[j] & mask) * GW_SNAP_SLOT;
				uint64_t off1 = gw_le64(slot);
				if (off1 != 0 && off1 - 1 < r->data_bytes && gw_le64(slot + 8) == h[j])
					for (size_t b = 0; b < GW_RECORDS_LINE_AHEAD &&
					    off1 - 1 + b < r->data_bytes; b += 64)
						__builtin_prefetch(r->snap + off1 - 1 + b);
			}
		}
		if (t >= 2 * GW_RECORDS_AHEAD) { /* step 3: the lookup */
			size_t i = t - 2 * GW_RECORDS_AHEAD, j = i % GW_RECORDS_RING;
			if (!todo[j])
				continue;
			rc = gw_records_snap_find(r, keys[i], lens[i], h[j], &out[i], NULL, err);
			if (rc < 0)
				return rc;
			found[i] = rc;
		}
	}
	return 0;
}

/* Passes the log entry at byte pos (an indexed line, so it ends in '\n')
 * to fn, parsed and raw (newline included). */
static void
gw_records_log_entry(gw_records *r, size_t pos, gw_records_each_fn fn, void *ctx)
{
	const char *p = r->log + pos;
	const char *nl = memchr(p, '\n', r->log_len - pos);
	gw_records_line l;
	gw_records_parse_line(p, (size_t)(nl - p), &l);
	fn(ctx, &l, p, (size_t)(nl - p) + 1);
}

int
gw_records_each(gw_records *r, gw_records_each_fn fn, void *ctx, gw_err *err)
{
	int rc = gw_records_index_log(r, err);
	if (rc != 0)
		return rc;
	gw_buf k = GW_BUF_INIT;
	for (uint64_t off = 0; off < r->data_bytes && rc == 0;) {
		gw_records_line l;
		size_t len;
		if ((rc = gw_records_snap_line(r, off, &l, &len, err)) != 0)
			break;
		bool overridden = false;
		if (r->nlog > 0) {
			gw_buf_reset(&k);
			gw_buf_append(&k, l.key, l.key_len);
			overridden = gw_strmap_get(r->log_index, gw_buf_cstr(&k), NULL);
		}
		if (!overridden)
			fn(ctx, &l, r->snap + off, len);
		off += len;
	}
	gw_buf_free(&k);
	for (size_t i = 0; i < r->nlog && rc == 0; i++)
		gw_records_log_entry(r, r->log_offs[i], fn, ctx);
	return rc;
}

/* Loads the snapshot's actor directory, once: ["<actor>",start,end] lines,
 * and in version 2 also first,count,mem_end (the actor's MEMORY.md lines:
 * count index slots from first, its text up to mem_end).  The memory
 * index follows the directory (8-aligned), the text follows the index. */
static int
gw_records_load_dir(gw_records *r, gw_err *err)
{
	if (r->dir_index != NULL || r->snap == NULL)
		return 0;
	r->dir_index = gw_strmap_new(64);
	r->dir_arena = gw_arena_new();
	size_t cap = 0;
	int nv = r->version >= 2 ? 5 : 2;
	uint64_t nmem = 0, text_bytes = 0;
	const char *p = r->snap + r->dir_off, *end = p + r->dir_bytes;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : 0, e;
		uint64_t v[5] = { 0, 0, 0, 0, 0 };
		bool ok = nl != NULL && n > 4 && p[0] == '[' && p[1] == '"' && p[n - 1] == ']' &&
		    (e = gw_lit_end(p + 1, n - 1)) != 0;
		size_t q = ok ? 1 + e + 1 : 0;
		for (int k = 0; ok && k < nv; k++) {
			ok = q < n && p[q] == ',';
			q++;
			size_t d = q;
			while (ok && q < n && p[q] >= '0' && p[q] <= '9' && v[k] < UINT64_MAX / 10 - 9)
				v[k] = v[k] * 10 + (uint64_t)(p[q++] - '0');
			ok = ok && q > d;
		}
		/* version 2: the slots follow on from the previous actor's and
		 * the text ends no earlier than the previous actor's */
		if (ok && nv == 5)
			ok = v[2] == nmem && v[3] <= r->entries && v[4] >= text_bytes;
		if (!ok || q != n - 1 || v[0] > v[1] || v[1] > r->data_bytes)
			return gw_records_bad(err, r->snap_path, "bad actor directory");
		if (r->ndir == cap) {
			cap = cap ? cap * 2 : 64;
			r->dir_start = gw_xrealloc(r->dir_start, cap * sizeof(*r->dir_start));
			r->dir_end = gw_xrealloc(r->dir_end, cap * sizeof(*r->dir_end));
			r->dir_first = gw_xrealloc(r->dir_first, cap * sizeof(*r->dir_first));
			r->dir_count = gw_xrealloc(r->dir_count, cap * sizeof(*r->dir_count));
			r->dir_mem_end = gw_xrealloc(r->dir_mem_end, cap * sizeof(*r->dir_mem_end));
		}
		r->dir_start[r->ndir] = v[0];
		r->dir_end[r->ndir] = v[1];
		r->dir_first[r->ndir] = v[2];
		r->dir_count[r->ndir] = v[3];
		r->dir_mem_end[r->ndir] = v[4];
		nmem += v[3];
		text_bytes = v[4];
		gw_strmap_put(r->dir_index, gw_arena_strndup(r->dir_arena, p + 1, e + 1), r->ndir++);
		p = nl + 1;
	}
	if (nv == 5) {
		r->mem_idx_off = (r->dir_off + r->dir_bytes + 7) & ~(uint64_t)7;
		r->nmem = nmem;
		r->mem_text_off = r->mem_idx_off + nmem * 16;
		r->mem_text_bytes = text_bytes;
		if (nmem > r->entries || r->mem_text_off > r->table_off ||
		    text_bytes > r->table_off - r->mem_text_off)
			return gw_records_bad(err, r->snap_path, "memory lines do not fit");
	}
	return 0;
}

int
gw_records_each_actor(gw_records *r, const char *actor, gw_records_each_fn fn, void *ctx,
    gw_err *err)
{
	int rc = gw_records_index_log(r, err);
	if (rc == 0)
		rc = gw_records_load_dir(r, err);
	if (rc != 0)
		return rc;
	size_t di;
	if (r->snap != NULL && gw_strmap_get(r->dir_index, actor, &di)) {
		/* one read of the range: a copy from the page cache is cheaper than
		 * faulting its pages into the mapping one by one */
		size_t n = (size_t)(r->dir_end[di] - r->dir_start[di]), got = 0;
		char *buf = gw_xmalloc(n + 1);
		while (got < n) {
			ssize_t k = pread(r->snap_fd, buf + got, n - got, (off_t)(r->dir_start[di] + got));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				rc = gw_err_set(err, k < 0 ? -errno : -EIO, GW_EXIT_IOERR, "cannot read %s",
				    r->snap_path);
				break;
			}
			got += (size_t)k;
		}
		gw_buf k = GW_BUF_INIT;
		for (size_t off = 0; off < n && rc == 0;) {
			const char *p = buf + off;
			const char *nl = memchr(p, '\n', n - off);
			gw_records_line l;
			if (nl == NULL || !gw_records_parse_line(p, (size_t)(nl - p), &l)) {
				char what[96];
				snprintf(what, sizeof(what), "bad entry at byte %llu",
				    (unsigned long long)(r->dir_start[di] + off));
				rc = gw_records_bad(err, r->snap_path, what);
				break;
			}
			size_t len = (size_t)(nl - p) + 1;
			bool overridden = false;
			if (r->nlog > 0) {
				gw_buf_reset(&k);
				gw_buf_append(&k, l.key, l.key_len);
				overridden = gw_strmap_get(r->log_index, gw_buf_cstr(&k), NULL);
			}
			if (!overridden)
				fn(ctx, &l, p, len);
			off += len;
		}
		gw_buf_free(&k);
		free(buf);
	}
	size_t i1 = 0;
	if (rc == 0 && r->nlog > 0 && gw_strmap_get(r->log_actors, actor, &i1)) {
		for (; i1 != 0; i1 = r->log_next[i1 - 1])
			gw_records_log_entry(r, r->log_offs[i1 - 1], fn, ctx);
	}
	return rc;
}

int
gw_records_snap_seq(gw_records *r, uint64_t i, gw_records_line *out, gw_err *err)
{
	int rc = gw_records_index_log(r, err);
	if (rc != 0)
		return rc;
	if (r->snap == NULL || i >= r->nseq)
		return -ENOENT;
	size_t len;
	uint64_t off = gw_le64((const unsigned char *)r->snap + r->seq_off + i * 8);
	if ((rc = gw_records_snap_line(r, off, out, &len, err)) != 0)
		return rc;
	if (r->nlog > 0) {
		gw_buf k = GW_BUF_INIT;
		gw_buf_append(&k, out->key, out->key_len);
		bool overridden = gw_strmap_get(r->log_index, gw_buf_cstr(&k), NULL);
		gw_buf_free(&k);
		if (overridden)
			return 0;
	}
	return 1;
}

int
gw_records_each_log(gw_records *r, gw_records_each_fn fn, void *ctx, gw_err *err)
{
	int rc = gw_records_index_log(r, err);
	for (size_t i = 0; i < r->nlog && rc == 0; i++)
		gw_records_log_entry(r, r->log_offs[i], fn, ctx);
	return rc;
}

/* ---- MEMORY.md lines (version 2) ---------------------------------------- */

void
gw_records_memory_line(gw_buf *b, const gw_request *q)
{
	/* no printf: this runs once per record of every touched actor */
	gw_buf_append(b, "- ", 2);
	gw_buf_puts(b, q->case_id);
	gw_buf_putc(b, ' ');
	gw_buf_puts(b, q->method);
	gw_buf_putc(b, ' ');
	gw_buf_puts(b, q->endpoint);
	gw_buf_append(b, " status=", 8);
	gw_buf_put_u64(b, q->status_code);
	gw_buf_append(b, " outcome=", 9);
	gw_buf_puts(b, q->outcome);
	gw_buf_putc(b, '\n');
}

bool
gw_records_has_memory(gw_records *r)
{
	return r->snap == NULL || r->version >= 2;
}

int
gw_records_actor_memory(gw_records *r, const char *actor, gw_records_memory *out, gw_err *err)
{
	memset(out, 0, sizeof(*out));
	out->text = "";
	if (r->snap == NULL)
		return 1;
	if (r->version < 2)
		return 0;
	int rc = gw_records_load_dir(r, err);
	if (rc != 0)
		return rc;
	size_t di;
	if (!gw_strmap_get(r->dir_index, actor, &di) || r->dir_count[di] == 0)
		return 1;
	const unsigned char *idx = (const unsigned char *)r->snap + r->mem_idx_off +
	    r->dir_first[di] * 16;
	uint64_t n = r->dir_count[di], base = gw_le64(idx + 8), mem_end = r->dir_mem_end[di];
	/* every slot checked once: its line lies in the text and ends in a
	 * newline, its entry in the actor's range (O(lines) of loads, the size
	 * of the copy the caller makes of the text anyway) */
	const char *text = r->snap + r->mem_text_off;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = gw_le64(idx + i * 16), s = gw_le64(idx + i * 16 + 8);
		uint64_t t = i + 1 < n ? gw_le64(idx + (i + 1) * 16 + 8) : mem_end;
		if (e < r->dir_start[di] || e >= r->dir_end[di] || s >= t || t > r->mem_text_bytes ||
		    text[t - 1] != '\n')
			return gw_records_bad(err, r->snap_path, "bad memory line index");
	}
	out->text = text + base;
	out->len = (size_t)(mem_end - base);
	out->index = idx;
	out->n = (size_t)n;
	out->base = base;
	return 1;
}

void
gw_records_memory_span(const gw_records_memory *m, size_t i, size_t *start, size_t *end)
{
	*start = (size_t)(gw_le64(m->index + i * 16 + 8) - m->base);
	*end = i + 1 < m->n ? (size_t)(gw_le64(m->index + (i + 1) * 16 + 8) - m->base) : m->len;
}

uint64_t
gw_records_memory_entry(const gw_records_memory *m, size_t i)
{
	return gw_le64(m->index + i * 16);
}

/* Compares the key literal lit (its decoded text) with the plain key. */
static int
gw_key_lit_cmp(const char *lit, size_t lit_len, const char *key, gw_buf *tmp)
{
	if (memchr(lit, '\\', lit_len) == NULL) {
		size_t kl = strlen(key), n = lit_len - 2;
		int c = memcmp(lit + 1, key, n < kl ? n : kl);
		return c != 0 ? c : (n > kl) - (n < kl);
	}
	cJSON *v = cJSON_ParseWithLength(lit, lit_len);
	gw_buf_reset(tmp);
	gw_buf_puts(tmp, cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(v);
	return strcmp(gw_buf_cstr(tmp), key);
}

int
gw_records_memory_find(gw_records *r, const gw_records_memory *m, const char *key, size_t *pos,
    gw_err *err)
{
	gw_buf tmp = GW_BUF_INIT;
	size_t lo = 0, hi = m->n;
	int found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, len;
		gw_records_line l;
		int rc = gw_records_snap_line(r, gw_records_memory_entry(m, mid), &l, &len, err);
		if (rc != 0) {
			gw_buf_free(&tmp);
			return rc;
		}
		int c = gw_key_lit_cmp(l.key, l.key_len, key, &tmp);
		if (c < 0) {
			lo = mid + 1;
		} else {
			if (c == 0)
				found = 1;
			hi = mid;
		}
	}
	gw_buf_free(&tmp);
	*pos = lo;
	return found;
}

/* ---- writing ------------------------------------------------------------ */

int
gw_records_append(gw_records *r, const char *lines, size_t n, gw_records_meta *m, gw_err *err)
{
	if (n == 0)
		return 0;
	int fd = gw_fs_open_file(r->log_path, O_RDWR | O_CREAT, 0644, err);
	if (fd < 0)
		return fd;
	int rc = 0;
	/* anything past the committed length is a killed writer's: cut it */
	if (ftruncate(fd, (off_t)m->log_bytes) == -1 || lseek(fd, (off_t)m->log_bytes, SEEK_SET) == -1)
		rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot prepare %s for appending: %s",
		    r->log_path, strerror(errno));
	if (rc == 0)
		rc = gw_fs_write_all(fd, lines, n, r->log_path, err);
	if (rc == 0 && fdatasync(fd) == -1)
		rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot sync %s: %s", r->log_path,
		    strerror(errno));
	if (rc != 0 && ftruncate(fd, (off_t)m->log_bytes) == -1)
		gw_err_prefix(err, "%s keeps uncommitted bytes", r->log_path);
	close(fd);
	if (rc == 0)
		m->log_bytes += n;
	return rc;
}

/* One entry of the next snapshot, pointing at its line wherever it lies
 * (the old snapshot, the log, the caller's lines). */
typedef struct gw_centry {
	const char *raw;
	size_t len;
	const char *key, *actor;
	size_t key_len, actor_len;
	uint64_t seq;
} gw_centry;

typedef struct gw_compact_ctx {
	gw_records_skip_fn skip;
	void *skip_ctx;
	gw_centry *e;
	size_t n, cap;
} gw_compact_ctx;

static void
gw_compact_add(gw_compact_ctx *c, const gw_records_line *l, const char *raw, size_t len)
{
	if (l->seq == 0 && l->rec_len == 4 && memcmp(l->rec, "null", 4) == 0)
		return; /* a deletion */
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->e = gw_xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	c->e[c->n++] = (gw_centry){ raw, len, l->key, l->actor, l->key_len, l->actor_len, l->seq };
}

static void
gw_compact_each(void *ctx, const gw_records_line *l, const char *raw, size_t len)
{
	gw_compact_ctx *c = ctx;
	if (c->skip != NULL && c->skip(c->skip_ctx, l->key, l->key_len))
		return;
	gw_compact_add(c, l, raw, len);
}

static int
gw_lit_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c != 0 ? c : (an > bn) - (an < bn);
}

static int
gw_centry_cmp(const void *x, const void *y)
{
	const gw_centry *a = x, *b = y;
	int c = gw_lit_cmp(a->actor, a->actor_len, b->actor, b->actor_len);
	return c != 0 ? c : gw_lit_cmp(a->key, a->key_len, b->key, b->key_len);
}

typedef struct gw_seq_off {
	uint64_t seq, off;
} gw_seq_off;

static int
gw_seq_off_cmp(const void *a, const void *b)
{
	uint64_t x = ((const gw_seq_off *)a)->seq, y = ((const gw_seq_off *)b)->seq;
	return (x > y) - (x < y);
}

/* The MEMORY.md lines of a compaction's actors: per actor the first slot,
 * the count and the end of its text; per line its entry and start. */
typedef struct gw_mem_slot {
	uint64_t entry, start;
	const char *key;      /* decoded, for the sort (arena) */
	size_t tpos, tlen;    /* its text in the actor's scratch */
} gw_mem_slot;

typedef struct gw_mem_lines {
	gw_mem_slot *slot;
	size_t n, cap;
	uint64_t *first, *count, *end;
	size_t nact, act_cap;
	gw_buf text, scratch;
	gw_arena *arena;
} gw_mem_lines;

static int
gw_mem_slot_cmp(const void *a, const void *b)
{
	return strcmp(((const gw_mem_slot *)a)->key, ((const gw_mem_slot *)b)->key);
}

static void
gw_mem_lines_free(gw_mem_lines *ml)
{
	free(ml->slot);
	free(ml->first);
	free(ml->count);
	free(ml->end);
	gw_buf_free(&ml->text);
	gw_buf_free(&ml->scratch);
	gw_arena_free(ml->arena);
}

/* Renders the lines of entries [i, j) (one actor's, sorted by key
 * literal), sorted by decoded case_key as MEMORY.md lists them. */
static int
gw_mem_lines_actor(gw_mem_lines *ml, const char *dir, const gw_centry *e, const uint64_t *offs,
    size_t i, size_t j, gw_err *err)
{
	if (ml->arena == NULL)
		ml->arena = gw_arena_new();
	if (ml->nact == ml->act_cap) {
		ml->act_cap = ml->act_cap ? ml->act_cap * 2 : 64;
		ml->first = gw_xrealloc(ml->first, ml->act_cap * sizeof(*ml->first));
		ml->count = gw_xrealloc(ml->count, ml->act_cap * sizeof(*ml->count));
		ml->end = gw_xrealloc(ml->end, ml->act_cap * sizeof(*ml->end));
	}
	size_t first = ml->n;
	gw_buf_reset(&ml->scratch);
	bool sorted = true;
	for (size_t k = i; k < j; k++) {
		gw_records_line l;
		if (!gw_records_parse_line(e[k].raw, e[k].len - 1, &l))
			return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "internal: bad records line");
		if (l.rec_len == 4 && memcmp(l.rec, "null", 4) == 0)
			continue;
		gw_request q;
		if (!gw_records_parse_rec(l.rec, l.rec_len, ml->arena, &q))
			return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "records store in %s is corrupt: a bad record for key %.*s", dir,
			    (int)l.key_len, l.key);
		const char *key;
		if (memchr(l.key, '\\', l.key_len) == NULL) {
			key = gw_arena_strndup(ml->arena, l.key + 1, l.key_len - 2);
		} else {
			cJSON *v = cJSON_ParseWithLength(l.key, l.key_len);
			key = gw_arena_strdup(ml->arena, cJSON_IsString(v) ? v->valuestring : "");
			cJSON_Delete(v);
		}
		size_t tpos = ml->scratch.len;
		gw_records_memory_line(&ml->scratch, &q);
		if (ml->n == ml->cap) {
			ml->cap = ml->cap ? ml->cap * 2 : 1024;
			ml->slot = gw_xrealloc(ml->slot, ml->cap * sizeof(*ml->slot));
		}
		if (ml->n > first && strcmp(ml->slot[ml->n - 1].key, key) > 0)
			sorted = false;
		ml->slot[ml->n++] = (gw_mem_slot){ offs[k], 0, key, tpos, ml->scratch.len - tpos };
	}
	/* the key literals' order is the keys' except around escapes and
	 * characters below '"' */
	if (!sorted)
		qsort(ml->slot + first, ml->n - first, sizeof(*ml->slot), gw_mem_slot_cmp);
	for (size_t k = first; k < ml->n; k++) {
		ml->slot[k].start = ml->text.len;
		gw_buf_append(&ml->text, ml->scratch.data + ml->slot[k].tpos, ml->slot[k].tlen);
	}
	ml->first[ml->nact] = first;
	ml->count[ml->nact] = ml->n - first;
	ml->end[ml->nact] = ml->text.len;
	ml->nact++;
	/* the records were rendered: their strings are not needed any more */
	gw_arena_free(ml->arena);
	ml->arena = gw_arena_new();
	return 0;
}

int
gw_records_compact(gw_records *r, gw_records_skip_fn skip, void *skip_ctx, const char *lines,
    size_t n, gw_records_meta *m, gw_err *err)
{
	gw_compact_ctx c = { skip, skip_ctx, NULL, 0, 0 };
	int rc = gw_records_each(r, gw_compact_each, &c, err);
	for (size_t pos = 0; rc == 0 && pos < n;) {
		const char *nl = memchr(lines + pos, '\n', n - pos);
		gw_records_line l;
		if (nl == NULL || !gw_records_parse_line(lines + pos, (size_t)(nl - (lines + pos)), &l)) {
			rc = gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "internal: bad records line");
			break;
		}
		gw_compact_add(&c, &l, lines + pos, (size_t)(nl - (lines + pos)) + 1);
		pos = (size_t)(nl - lines) + 1;
	}
	gw_buf data = GW_BUF_INIT;
	if (rc == 0) {
		if (c.n > 1)
			qsort(c.e, c.n, sizeof(*c.e), gw_centry_cmp);
		size_t total = 0;
		for (size_t i = 0; i < c.n; i++)
			total += c.e[i].len;
		uint64_t slots = 16;
		while (slots < 2 * (uint64_t)c.n)
			slots <<= 1;
		gw_buf_reserve(&data, total + (size_t)slots * GW_SNAP_SLOT + 4096);
		uint64_t *offs = gw_xmalloc((c.n ? c.n : 1) * sizeof(*offs));
		for (size_t i = 0; i < c.n; i++) {
			offs[i] = data.len;
			gw_buf_append(&data, c.e[i].raw, c.e[i].len);
		}
		uint64_t data_bytes = data.len;
		/* every actor's MEMORY.md lines, rendered once here so a cycle
		 * copies them instead of parsing the actor's records */
		gw_mem_lines ml = { 0 };
		for (size_t i = 0; i < c.n && rc == 0;) {
			size_t j = i + 1;
			while (j < c.n && gw_lit_cmp(c.e[j].actor, c.e[j].actor_len, c.e[i].actor,
			    c.e[i].actor_len) == 0)
				j++;
			rc = gw_mem_lines_actor(&ml, r->dir, c.e, offs, i, j, err);
			i = j;
		}
		/* the actor directory: one line per run of equal actors */
		for (size_t i = 0, a = 0; rc == 0 && i < c.n; a++) {
			size_t j = i + 1;
			while (j < c.n && gw_lit_cmp(c.e[j].actor, c.e[j].actor_len, c.e[i].actor,
			    c.e[i].actor_len) == 0)
				j++;
			gw_buf_putc(&data, '[');
			gw_buf_append(&data, c.e[i].actor, c.e[i].actor_len);
			gw_buf_printf(&data, ",%llu,%llu,%llu,%llu,%llu]\n", (unsigned long long)offs[i],
			    (unsigned long long)(j < c.n ? offs[j] : data_bytes),
			    (unsigned long long)ml.first[a], (unsigned long long)ml.count[a],
			    (unsigned long long)ml.end[a]);
			i = j;
		}
		uint64_t dir_bytes = data.len - data_bytes;
		while (data.len % 8 != 0)
			gw_buf_putc(&data, '\n');
		gw_buf_reserve(&data, ml.n * 16 + ml.text.len + 8);
		for (size_t i = 0; i < ml.n; i++) {
			gw_put_le64((unsigned char *)data.data + data.len, ml.slot[i].entry);
			gw_put_le64((unsigned char *)data.data + data.len + 8, ml.slot[i].start);
			data.len += 16;
		}
		gw_buf_append(&data, ml.text.data, ml.text.len);
		gw_mem_lines_free(&ml);
		while (data.len % 8 != 0)
			gw_buf_putc(&data, '\n');
		uint64_t table_off = data.len;
		size_t tbytes = (size_t)slots * GW_SNAP_SLOT;
		gw_buf_reserve(&data, tbytes + GW_SNAP_TRAILER);
		unsigned char *table = (unsigned char *)data.data + table_off;
		memset(table, 0, tbytes);
		for (size_t i = 0; i < c.n; i++) {
			uint64_t h = gw_fnv(c.e[i].key, c.e[i].key_len), j = h & (slots - 1);
			while (gw_le64(table + j * GW_SNAP_SLOT) != 0)
				j = (j + 1) & (slots - 1);
			gw_put_le64(table + j * GW_SNAP_SLOT, offs[i] + 1);
			gw_put_le64(table + j * GW_SNAP_SLOT + 8, h);
		}
		data.len += tbytes;
		/* the processed entries' offsets in processing order, for the cap */
		gw_seq_off *so = gw_xmalloc((c.n ? c.n : 1) * sizeof(*so));
		size_t nseq = 0;
		for (size_t i = 0; i < c.n; i++)
			if (c.e[i].seq != 0)
				so[nseq++] = (gw_seq_off){ c.e[i].seq, offs[i] };
		if (nseq > 1)
			qsort(so, nseq, sizeof(*so), gw_seq_off_cmp);
		uint64_t seq_off = data.len;
		gw_buf_reserve(&data, nseq * 8 + GW_SNAP_TRAILER);
		for (size_t i = 0; i < nseq; i++)
			gw_put_le64((unsigned char *)data.data + data.len + i * 8, so[i].off);
		data.len += nseq * 8;
		free(so);
		free(offs);
		unsigned char t[GW_SNAP_TRAILER];
		memset(t, 0, sizeof(t));
		memcpy(t, GW_SNAP_MAGIC, 8);
		gw_put_le64(t + 8, GW_RECORDS_VERSION);
		gw_put_le64(t + 16, c.n);
		gw_put_le64(t + 24, data_bytes);
		gw_put_le64(t + 32, data_bytes);
		gw_put_le64(t + 40, dir_bytes);
		gw_put_le64(t + 48, slots);
		gw_put_le64(t + 56, table_off);
		gw_put_le64(t + 64, seq_off);
		gw_put_le64(t + 72, nseq);
		gw_put_le64(t + 80, gw_fnv((const char *)t, 80));
		memcpy(t + 88, "\nEND\n\n\n\n", 8);
		gw_buf_append(&data, (const char *)t, sizeof(t));
		if (rc == 0) {
			char *path = gw_records_snap_path(r->dir, m->generation + 1);
			rc = gw_fs_write_atomic(path, data.data, data.len, err);
			free(path);
		}
	}
	if (rc == 0) {
		m->generation++;
		m->log_bytes = 0;
	}
	free(c.e);
	gw_buf_free(&data);
	return rc;
}

void
gw_records_retire(const char *dir, uint64_t old_gen)
{
	char *log = gw_path_join(dir, GW_RECORDS_LOG_FILE);
	int fd = gw_fs_open_file(log, O_RDWR, 0, NULL);
	if (fd >= 0) {
		if (ftruncate(fd, 0) == -1) {
			/* harmless: nothing past log_bytes (0) is ever read */
		}
		close(fd);
	}
	free(log);
	if (old_gen > 0) {
		char *p = gw_records_snap_path(dir, old_gen);
		unlink(p);
		free(p);
	}
}

void
gw_records_truncate_log(const char *dir, uint64_t bytes)
{
	char *log = gw_path_join(dir, GW_RECORDS_LOG_FILE);
	int fd = gw_fs_open_file(log, O_RDWR, 0, NULL);
	if (fd >= 0) {
		struct stat sb;
		if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > bytes && ftruncate(fd, (off_t)bytes) == -1) {
			/* harmless: nothing past the committed length is ever read */
		}
		close(fd);
	}
	free(log);
}

/* ---- records ------------------------------------------------------------ */

/* The JSON string literal at *p, copied (decoded) into a; advances *p. */
static const char *
gw_rec_str(const char **p, const char *end, gw_arena *a)
{
	if (*p >= end || **p != '"')
		return NULL;
	/* gw_lit_end that also notes a backslash, in the same pass */
	const char *s = *p;
	size_t n = (size_t)(end - s), e = 0;
	bool esc = false;
	for (size_t i = 1; i < n; i++) {
		if (s[i] == '\\') {
			esc = true;
			i++;
		} else if (s[i] == '"') {
			e = i;
			break;
		}
	}
	if (e == 0)
		return NULL;
	const char *out;
	if (!esc) {
		out = gw_arena_strndup(a, *p + 1, e - 1);
	} else {
		cJSON *v = cJSON_ParseWithLength(*p, e + 1);
		if (!cJSON_IsString(v)) {
			cJSON_Delete(v);
			return NULL;
		}
		out = gw_arena_strdup(a, v->valuestring);
		cJSON_Delete(v);
	}
	*p += e + 1;
	return out;
}

static bool
gw_rec_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool
gw_rec_u64(const char **p, const char *end, uint64_t *v)
{
	const char *d = *p;
	*v = 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		if (*v > (UINT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*(*p)++ - '0');
	}
	return *p > d;
}

/* The general reader, for a record not in the writer's own layout. */
static bool
gw_records_parse_rec_json(const char *rec, size_t n, gw_arena *a, gw_request *q)
{
	cJSON *o = cJSON_ParseWithLength(rec, n);
	bool ok = cJSON_IsObject(o);
	static const char *strs[] = { "case_id", "method", "endpoint", "actor_id", "outcome",
		"error_code" };
	const char **sd[] = { &q->case_id, &q->method, &q->endpoint, &q->actor_id, &q->outcome,
		&q->error_code };
	for (size_t i = 0; ok && i < 6; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, strs[i]);
		ok = v == NULL || cJSON_IsString(v);
		*sd[i] = gw_arena_strdup(a, cJSON_IsString(v) ? v->valuestring : "");
	}
	const cJSON *v = ok ? cJSON_GetObjectItemCaseSensitive(o, "status_code") : NULL;
	q->status_code = q->updated_unix_ms = 0;
	if (v != NULL && !gw_json_as_u64(v, &q->status_code))
		ok = false;
	v = ok ? cJSON_GetObjectItemCaseSensitive(o, "updated_unix_ms") : NULL;
	if (v != NULL && !gw_json_as_u64(v, &q->updated_unix_ms))
		ok = false;
	v = ok ? cJSON_GetObjectItemCaseSensitive(o, "response_body") : NULL;
	q->response_body = "null";
	if (v != NULL) {
		gw_buf b = GW_BUF_INIT;
		gw_json_canonical(&b, v);
		q->response_body = gw_arena_strndup(a, b.data, b.len);
		gw_buf_free(&b);
	}
	cJSON_Delete(o);
	return ok;
}

bool
gw_records_parse_rec(const char *rec, size_t n, gw_arena *a, gw_request *q)
{
	/* the writer's layout (gw_records_format_line), read in place */
	const char *p = rec, *end = rec + n;
	static const char tail[] = ",\"updated_unix_ms\":";
	bool ok = gw_rec_lit(&p, end, "{\"case_id\":") && (q->case_id = gw_rec_str(&p, end, a)) &&
	    gw_rec_lit(&p, end, ",\"method\":") && (q->method = gw_rec_str(&p, end, a)) &&
	    gw_rec_lit(&p, end, ",\"endpoint\":") && (q->endpoint = gw_rec_str(&p, end, a)) &&
	    gw_rec_lit(&p, end, ",\"actor_id\":") && (q->actor_id = gw_rec_str(&p, end, a)) &&
	    gw_rec_lit(&p, end, ",\"status_code\":") && gw_rec_u64(&p, end, &q->status_code) &&
	    gw_rec_lit(&p, end, ",\"outcome\":") && (q->outcome = gw_rec_str(&p, end, a)) &&
	    gw_rec_lit(&p, end, ",\"error_code\":") && (q->error_code = gw_rec_str(&p, end, a)) &&
	    gw_rec_lit(&p, end, ",\"response_body\":");
	if (ok) {
		/* the body runs up to the last ,"updated_unix_ms": */
		const char *t = NULL;
		for (const char *s = (size_t)(end - p) > sizeof(tail) ? end - (sizeof(tail) - 1) : p; s > p; s--)
			if (memcmp(s, tail, sizeof(tail) - 1) == 0) {
				t = s;
				break;
			}
		const char *u = t ? t + sizeof(tail) - 1 : NULL;
		ok = t != NULL && gw_rec_u64(&u, end, &q->updated_unix_ms) && u == end - 1 && *u == '}';
		if (ok)
			q->response_body = gw_arena_strndup(a, p, (size_t)(t - p));
	}
	return ok || gw_records_parse_rec_json(rec, n, a, q);
}
