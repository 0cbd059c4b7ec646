/*
 * chanstore.c - channel-store layout and inspection.  The runner writes
 * the files (one append per file per cycle); this module owns the layout
 * and must never let a channel name leave its root.
 */
#include "core/gateway/chanstore.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/base/str.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
gw_chanstore_sanitize(const char *name, gw_buf *out)
{
	gw_buf tmp = GW_BUF_INIT;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool ok = isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
		gw_buf_putc(&tmp, ok ? c : '_');
	}
	const char *s = gw_buf_cstr(&tmp);
	size_t n = tmp.len;
	while (n > 0 && (*s == '_' || *s == '.')) {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == '_')
		n--;
	if (n > GW_CHANSTORE_NAME_MAX)
		n = GW_CHANSTORE_NAME_MAX;
	if (n == 0)
		gw_buf_puts(out, "channel");
	else
		gw_buf_append(out, s, n);
	gw_buf_free(&tmp);
}

char *
gw_chanstore_dir(const char *root, const char *transport, const char *channel)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_puts(&b, root);
	if (b.len > 0 && b.data[b.len - 1] != '/')
		gw_buf_putc(&b, '/');
	gw_chanstore_sanitize(transport, &b);
	gw_buf_putc(&b, '/');
	gw_chanstore_sanitize(channel, &b);
	return gw_buf_detach(&b);
}

void
gw_chanstore_schema_text(const char *transport, const char *channel_id, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, true);
	gw_jw_obj_begin(&w);
	gw_jw_ku64(&w, "schema_version", 1);
	gw_jw_kstr(&w, "transport", transport);
	gw_jw_kstr(&w, "channel_id", channel_id);
	gw_jw_obj_end(&w);
	gw_buf_putc(out, '\n');
}

/* gw_chanstore_open and gw_chanstore_open_in_cycle (in_cycle: the parents
 * are checked and no temps are looked for). */
static int
gw_chanstore_open_dir(const char *state_dir, const char *rel, const char *transport,
    const char *channel, gw_fs_batch *batch, bool in_cycle, gw_err *err)
{
	/* Each component is checked without following links (a symlinked
	 * actor directory would send the appends out of the state directory).
	 * A fresh directory has no schema and no temps to look for, which
	 * saves two opens per new actor. */
	bool fresh;
	int rc = in_cycle ? gw_fs_mkdir_last_under(state_dir, rel, &fresh, err) :
	    gw_fs_mkdirs_under(state_dir, rel, &fresh, err);
	if (rc != 0)
		return rc;
	char *dir = gw_path_join(state_dir, rel);
	char *schema = gw_path_join(dir, "schema.json");
	gw_buf text = GW_BUF_INIT;
	if (fresh) {
		rc = -ENOENT;
	} else {
		if (!in_cycle)
			gw_fs_remove_stale_temps(dir);
		rc = gw_fs_read_file(schema, &text, NULL);
	}
	if (rc == -ENOENT) {
		gw_buf_reset(&text);
		gw_chanstore_schema_text(transport, channel, &text);
		rc = batch ? gw_fs_batch_add(batch, schema, text.data, text.len, err) :
		    gw_fs_write_atomic(schema, text.data, text.len, err);
	} else if (rc == 0) {
		cJSON *v = cJSON_ParseWithLength(gw_buf_cstr(&text), text.len);
		uint64_t ver = 0;
		if (!cJSON_IsObject(v) ||
		    !gw_json_as_u64(cJSON_GetObjectItemCaseSensitive(v, "schema_version"), &ver) || ver != 1)
			rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "unsupported channel store schema in %s (expected schema_version 1)", schema);
		cJSON_Delete(v);
	} else {
		rc = gw_err_set(err, rc, GW_EXIT_IOERR, "cannot read %s: %s", schema, strerror(-rc));
	}
	gw_buf_free(&text);
	free(schema);
	free(dir);
	return rc;
}

int
gw_chanstore_open(const char *state_dir, const char *rel, const char *transport,
    const char *channel, gw_fs_batch *batch, gw_err *err)
{
	return gw_chanstore_open_dir(state_dir, rel, transport, channel, batch, false, err);
}

int
gw_chanstore_open_in_cycle(const char *state_dir, const char *rel, const char *transport,
    const char *channel, gw_fs_batch *batch, gw_err *err)
{
	return gw_chanstore_open_dir(state_dir, rel, transport, channel, batch, true, err);
}

/* Counts JSON-valid and invalid non-blank lines of a file (streamed). */
static void
gw_count_lines(const char *path, uint64_t *valid, uint64_t *invalid, uint64_t now,
    uint64_t *active, uint64_t *expired)
{
	int fd = gw_fs_open_file(path, O_RDONLY, 0, NULL);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) != -1) {
		char *s = line;
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
		while (n > 0 && isspace((unsigned char)*s)) {
			s++;
			n--;
		}
		if (n == 0)
			continue;
		cJSON *v = cJSON_ParseWithLength(s, (size_t)n);
		if (v == NULL) {
			(*invalid)++;
			continue;
		}
		(*valid)++;
		if (active != NULL) {
			uint64_t exp = 0;
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "expires_unix_ms");
			if (gw_json_as_u64(e, &exp) && exp <= now)
				(*expired)++;
			else
				(*active)++;
		}
		cJSON_Delete(v);
	}
	free(line);
	fclose(f);
}

/* Splits "<transport>/<channel_id>" (trimmed) into r's names. */
static int
gw_chanstore_ref(const char *ref, gw_chanstore_report *r, gw_err *err)
{
	const char *p = ref;
	while (isspace((unsigned char)*p))
		p++;
	const char *slash = strchr(p, '/');
	char t[256], c[256];
	if (slash == NULL)
		return gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "invalid channel ref '%s', expected transport/channel_id", ref);
	snprintf(t, sizeof(t), "%.*s", (int)(slash - p), p);
	snprintf(c, sizeof(c), "%s", slash + 1);
	gw_str_trim_inplace(t);
	gw_str_trim_inplace(c);
	if (t[0] == '\0' || c[0] == '\0')
		return gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "invalid channel ref '%s', expected transport/channel_id", ref);
	snprintf(r->transport, sizeof(r->transport), "%s", t);
	snprintf(r->channel_id, sizeof(r->channel_id), "%s", c);
	return 0;
}

int
gw_chanstore_inspect_store(gw_store *s, const char *ref, gw_chanstore_report *r, gw_err *err)
{
	memset(r, 0, sizeof(*r));
	int rc = gw_chanstore_ref(ref, r, err);
	if (rc != 0)
		return rc;
	gw_buf root = GW_BUF_INIT, t = GW_BUF_INIT, c = GW_BUF_INIT;
	gw_buf_printf(&root, "%s/channel-store", gw_store_label(s));
	char *dir = gw_chanstore_dir(gw_buf_cstr(&root), r->transport, r->channel_id);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	gw_chanstore_sanitize(r->transport, &t);
	gw_chanstore_sanitize(r->channel_id, &c);
	gw_store_channel_info info;
	rc = gw_store_channel_inspect(s, gw_buf_cstr(&t), gw_buf_cstr(&c), &info, err);
	if (rc == -ENOENT)
		gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "channel store %s/%s not found: %s does not exist",
		    r->transport, r->channel_id, dir);
	if (rc == 0) {
		r->log_records = info.log_lines;
		r->context_records = info.context_lines;
		r->memory_exists = info.memory_exists;
		r->memory_bytes = info.memory_bytes;
	}
	free(dir);
	gw_buf_free(&root);
	gw_buf_free(&t);
	gw_buf_free(&c);
	return rc;
}

int
gw_chanstore_inspect(const char *root, const char *ref, gw_chanstore_report *r, gw_err *err)
{
	memset(r, 0, sizeof(*r));
	int rc = gw_chanstore_ref(ref, r, err);
	if (rc != 0)
		return rc;
	const char *t = r->transport, *c = r->channel_id;
	char *dir = gw_chanstore_dir(root, t, c);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	if (!gw_fs_is_dir(dir)) {
		gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "channel store %s/%s not found: %s does not exist",
		    t, c, dir);
		free(dir);
		return -ENOENT;
	}
	char *log = gw_path_join(dir, "log.jsonl"), *ctx = gw_path_join(dir, "context.jsonl");
	char *art = gw_path_join(dir, "artifacts/index.jsonl"), *mem = gw_path_join(dir, "MEMORY.md");
	gw_count_lines(log, &r->log_records, &r->invalid_log_lines, 0, NULL, NULL);
	gw_count_lines(ctx, &r->context_records, &r->invalid_context_lines, 0, NULL, NULL);
	gw_count_lines(art, &r->artifact_records, &r->invalid_artifact_lines, gw_clock_unix_ms(),
	    &r->active_artifacts, &r->expired_artifacts);
	struct stat sb;
	if (stat(mem, &sb) == 0 && S_ISREG(sb.st_mode)) {
		r->memory_exists = true;
		r->memory_bytes = (uint64_t)sb.st_size;
	}
	free(log);
	free(ctx);
	free(art);
	free(mem);
	free(dir);
	return 0;
}

void
gw_chanstore_report_text(const gw_chanstore_report *r, gw_buf *out)
{
	gw_buf_printf(out,
	    "channel store inspect: transport=%s channel_id=%s dir=%s log_records=%llu "
	    "context_records=%llu invalid_log_lines=%llu invalid_context_lines=%llu "
	    "artifact_records=%llu invalid_artifact_lines=%llu active_artifacts=%llu "
	    "expired_artifacts=%llu memory_exists=%s memory_bytes=%llu",
	    r->transport, r->channel_id, r->dir, (unsigned long long)r->log_records,
	    (unsigned long long)r->context_records, (unsigned long long)r->invalid_log_lines,
	    (unsigned long long)r->invalid_context_lines, (unsigned long long)r->artifact_records,
	    (unsigned long long)r->invalid_artifact_lines, (unsigned long long)r->active_artifacts,
	    (unsigned long long)r->expired_artifacts, r->memory_exists ? "true" : "false",
	    (unsigned long long)r->memory_bytes);
}

/* ---- transfer (xfer.h) ------------------------------------------------------ */

#define GW_CHANSTORE_MEMORY_HEAD "# Tau Gateway Snapshot ("

/* The channel_id a channel's schema.json names: the actor's own name from
 * MEMORY.md's first line (the runner's "# Tau Gateway Snapshot (<name>)")
 * when it sanitises to channel, else channel itself. */
static void
gw_chanstore_channel_id(const char *channel, const char *memory, size_t memory_len, gw_buf *out)
{
	size_t hl = strlen(GW_CHANSTORE_MEMORY_HEAD);
	const char *nl = memory != NULL ? memchr(memory, '\n', memory_len) : NULL;
	if (nl != NULL && (size_t)(nl - memory) > hl && memcmp(memory, GW_CHANSTORE_MEMORY_HEAD, hl) == 0 &&
	    nl[-1] == ')') {
		gw_buf name = GW_BUF_INIT, san = GW_BUF_INIT;
		gw_buf_append(&name, memory + hl, (size_t)(nl - 1 - memory) - hl);
		gw_chanstore_sanitize(gw_buf_cstr(&name), &san);
		bool ok = strlen(gw_buf_cstr(&name)) == name.len && strcmp(gw_buf_cstr(&san), channel) == 0;
		if (ok)
			gw_buf_append(out, name.data, name.len);
		gw_buf_free(&name);
		gw_buf_free(&san);
		if (ok)
			return;
	}
	gw_buf_puts(out, channel);
}

int
gw_chanstore_xfer_present(gw_store *s, bool *yes, gw_err *err)
{
	*yes = false;
	if (gw_store_kind_of(s) != GW_STORE_FILES) {
		uint64_t n = 0;
		int rc = gw_store_channel_count(s, &n, err);
		*yes = n > 0;
		return rc;
	}
	char *root = gw_path_join(gw_store_dir(s), "channel-store");
	DIR *d = opendir(root);
	free(root);
	if (d == NULL)
		return 0;
	struct dirent *de;
	while (!*yes && (de = readdir(d)) != NULL)
		*yes = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return 0;
}

/* A writer's temp file (".<name>.tmp-...") or spare (".<name>.spare", see
 * gw_fs_batch_add_spared): never a store file, never read. */
static bool
gw_chanstore_skipped(const char *nm)
{
	size_t n = strlen(nm), sl = strlen(GW_FS_SPARE_SUFFIX);
	return nm[0] == '.' && (strstr(nm, GW_FS_TEMP_MARK) != NULL ||
	    (n > sl + 1 && strcmp(nm + n - sl, GW_FS_SPARE_SUFFIX) == 0));
}

/* The sorted names in dir (no "." or ".."; a writer's stale temp files
 * and spares skipped); -errno when it cannot be read. */
static int
gw_chanstore_names(const char *dir, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || gw_chanstore_skipped(nm))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*names = gw_xrealloc(*names, cap * sizeof(**names));
		}
		(*names)[(*n)++] = gw_xstrdup(nm);
	}
	closedir(d);
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && strcmp((*names)[j - 1], (*names)[j]) > 0; j--) {
			char *t = (*names)[j];
			(*names)[j] = (*names)[j - 1];
			(*names)[j - 1] = t;
		}
	return 0;
}

static void
gw_chanstore_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* 0 when path (rel names it in messages) is a real directory whose name
 * is a sanitised one (the runner's), else 64 naming it. */
static int
gw_chanstore_check_dir(const char *path, const char *rel, const char *name, const char *src,
    gw_err *err)
{
	struct stat sb;
	gw_buf san = GW_BUF_INIT;
	gw_chanstore_sanitize(name, &san);
	bool ok = strcmp(gw_buf_cstr(&san), name) == 0;
	gw_buf_free(&san);
	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) || !ok)
		return gw_err_set(err, -ENOTSUP, GW_EXIT_USAGE,
		    "cannot import %s: %s is not a channel directory the runner writes (the channel "
		    "store in PostgreSQL holds only those); nothing was written", src, rel);
	return 0;
}

/* Reads a channel's log.jsonl or context.jsonl into out (absent: empty)
 * and checks that the rows can hold it byte for byte: every line ended by
 * '\n', none blank, each JSON (65 naming the file and line otherwise). */
static int
gw_chanstore_read_lines(const char *path, gw_buf *out, gw_err *err)
{
	int rc = gw_fs_read_file(path, out, NULL);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		return gw_err_set(err, rc, GW_EXIT_IOERR, "cannot read %s: %s", path, strerror(-rc));
	size_t lineno = 0;
	for (size_t at = 0; at < out->len;) {
		lineno++;
		const char *s = out->data + at;
		const char *nl = memchr(s, '\n', out->len - at);
		if (nl == NULL)
			return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "%s line %zu is not ended by a newline (a torn write?); it cannot be imported",
			    path, lineno);
		size_t n = (size_t)(nl - s);
		cJSON *v = memchr(s, '\0', n) == NULL ? cJSON_ParseWithLength(s, n) : NULL;
		bool blank = true;
		for (size_t i = 0; i < n && blank; i++)
			blank = isspace((unsigned char)s[i]) != 0;
		cJSON_Delete(v);
		if (v == NULL || blank)
			return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "%s line %zu is %s; the channel store in PostgreSQL keeps only the runner's JSON "
			    "lines", path, lineno, blank ? "blank" : "not JSON");
		at += n + 1;
	}
	return 0;
}

int
gw_chanstore_xfer_import(gw_store *src, gw_store *db, gw_xfer *x, gw_err *err)
{
	const char *sd = gw_store_dir(src);
	char *root = gw_path_join(sd, "channel-store");
	char **ts = NULL;
	size_t nt = 0;
	int rc = gw_chanstore_names(root, &ts, &nt);
	if (rc == -ENOENT) {
		free(root);
		return 0;
	}
	if (rc != 0) {
		rc = gw_err_set(err, rc, GW_EXIT_IOERR, "cannot read %s: %s", root, strerror(-rc));
		free(root);
		return rc;
	}
	gw_buf rel = GW_BUF_INIT, log = GW_BUF_INIT, ctx = GW_BUF_INIT, mem = GW_BUF_INIT;
	gw_buf want = GW_BUF_INIT, have = GW_BUF_INIT, id = GW_BUF_INIT;
	static const char *const files[] = { "MEMORY.md", "context.jsonl", "log.jsonl", "schema.json" };
	for (size_t i = 0; i < nt && rc == 0; i++) {
		char *tdir = gw_path_join(root, ts[i]);
		gw_buf_reset(&rel);
		gw_buf_printf(&rel, "channel-store/%s", ts[i]);
		rc = gw_chanstore_check_dir(tdir, gw_buf_cstr(&rel), ts[i], sd, err);
		char **cs = NULL;
		size_t nc = 0;
		if (rc == 0 && (rc = gw_chanstore_names(tdir, &cs, &nc)) != 0)
			rc = gw_err_set(err, rc, GW_EXIT_IOERR, "cannot read %s: %s", tdir, strerror(-rc));
		for (size_t j = 0; j < nc && rc == 0; j++) {
			char *cdir = gw_path_join(tdir, cs[j]);
			gw_buf_reset(&rel);
			gw_buf_printf(&rel, "channel-store/%s/%s", ts[i], cs[j]);
			rc = gw_chanstore_check_dir(cdir, gw_buf_cstr(&rel), cs[j], sd, err);
			char **fs = NULL;
			size_t nf = 0;
			if (rc == 0 && (rc = gw_chanstore_names(cdir, &fs, &nf)) != 0)
				rc = gw_err_set(err, rc, GW_EXIT_IOERR, "cannot read %s: %s", cdir, strerror(-rc));
			/* only the four files the rows hold, each a regular file */
			for (size_t k = 0; k < nf && rc == 0; k++) {
				bool known = false;
				for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
					known = known || strcmp(fs[k], files[f]) == 0;
				char *p = gw_path_join(cdir, fs[k]);
				struct stat sb;
				if (!known || lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
					rc = gw_err_set(err, -ENOTSUP, GW_EXIT_USAGE,
					    "cannot import %s: it holds %s/%s, which the channel store in PostgreSQL "
					    "does not keep (only log.jsonl, context.jsonl, MEMORY.md and schema.json); "
					    "nothing was written", sd, gw_buf_cstr(&rel), fs[k]);
				free(p);
			}
			gw_chanstore_names_free(fs, nf);
			char *lp = gw_path_join(cdir, "log.jsonl"), *cp = gw_path_join(cdir, "context.jsonl");
			char *mp = gw_path_join(cdir, "MEMORY.md"), *sp = gw_path_join(cdir, "schema.json");
			gw_buf_reset(&log);
			gw_buf_reset(&ctx);
			gw_buf_reset(&mem);
			if (rc == 0)
				rc = gw_chanstore_read_lines(lp, &log, err);
			if (rc == 0)
				rc = gw_chanstore_read_lines(cp, &ctx, err);
			bool has_mem = false;
			if (rc == 0) {
				int r = gw_fs_read_file(mp, &mem, NULL);
				has_mem = r == 0;
				if (r != 0 && r != -ENOENT)
					rc = gw_err_set(err, r, GW_EXIT_IOERR, "cannot read %s: %s", mp, strerror(-r));
			}
			/* schema.json is written again by the export from the names:
			 * only the one it would write can move */
			if (rc == 0) {
				gw_buf_reset(&have);
				int r = gw_fs_read_file(sp, &have, NULL);
				if (r == 0) {
					gw_buf_reset(&want);
					gw_buf_reset(&id);
					gw_chanstore_channel_id(cs[j], has_mem ? mem.data : NULL, mem.len, &id);
					gw_chanstore_schema_text(ts[i], gw_buf_cstr(&id), &want);
					if (want.len != have.len || memcmp(want.data, have.data, want.len) != 0)
						rc = gw_err_set(err, -ENOTSUP, GW_EXIT_USAGE,
						    "cannot import %s: %s/schema.json is not the one the runner writes for "
						    "that channel, which is all the channel store in PostgreSQL can give "
						    "back; nothing was written", sd, gw_buf_cstr(&rel));
				} else if (r != -ENOENT) {
					rc = gw_err_set(err, r, GW_EXIT_IOERR, "cannot read %s: %s", sp, strerror(-r));
				}
			}
			if (rc == 0)
				rc = gw_store_channel_append(db, ts[i], cs[j], log.data ? log.data : "", log.len,
				    ctx.data ? ctx.data : "", ctx.len, has_mem ? gw_buf_cstr(&mem) : NULL, mem.len,
				    err);
			if (rc == 0)
				gw_xfer_tick(x);
			free(lp);
			free(cp);
			free(mp);
			free(sp);
			free(cdir);
		}
		gw_chanstore_names_free(cs, nc);
		free(tdir);
	}
	gw_chanstore_names_free(ts, nt);
	free(root);
	gw_buf_free(&rel);
	gw_buf_free(&log);
	gw_buf_free(&ctx);
	gw_buf_free(&mem);
	gw_buf_free(&want);
	gw_buf_free(&have);
	gw_buf_free(&id);
	return rc;
}

typedef struct gw_chanstore_out {
	gw_store *dir;
	gw_xfer *x;
	gw_err *err;
} gw_chanstore_out;

static int
gw_chanstore_write_one(void *ctx, const gw_store_channel_row *r)
{
	gw_chanstore_out *o = ctx;
	const char *sd = gw_store_dir(o->dir);
	gw_buf rel = GW_BUF_INIT, id = GW_BUF_INIT, st = GW_BUF_INIT, sc = GW_BUF_INIT;
	gw_buf_printf(&rel, "channel-store/%s/%s", r->transport, r->channel);
	/* a row's names become path components: only the runner's own */
	gw_chanstore_sanitize(r->transport, &st);
	gw_chanstore_sanitize(r->channel, &sc);
	int rc = 0;
	if (strcmp(gw_buf_cstr(&st), r->transport) != 0 || strcmp(gw_buf_cstr(&sc), r->channel) != 0)
		rc = gw_err_set(o->err, -EINVAL, GW_EXIT_DATAERR,
		    "cannot export the channel %s/%s: not a name the runner writes", r->transport,
		    r->channel);
	gw_buf_free(&st);
	gw_buf_free(&sc);
	gw_chanstore_channel_id(r->channel, r->memory, r->memory_len, &id);
	if (rc == 0)
		rc = gw_chanstore_open(sd, gw_buf_cstr(&rel), r->transport, gw_buf_cstr(&id), NULL,
		    o->err);
	char *dir = gw_path_join(sd, gw_buf_cstr(&rel));
	const char *names[3] = { "log.jsonl", "context.jsonl", "MEMORY.md" };
	const char *texts[3] = { r->log, r->context, r->memory };
	size_t lens[3] = { r->log_len, r->context_len, r->memory_len };
	for (size_t k = 0; k < 3 && rc == 0; k++) {
		if (texts[k] == NULL || (k < 2 && lens[k] == 0))
			continue; /* no MEMORY.md; no lines: no file */
		char *p = gw_path_join(dir, names[k]);
		rc = gw_fs_write_atomic(p, texts[k], lens[k], o->err);
		free(p);
	}
	if (rc == 0)
		gw_xfer_tick(o->x);
	free(dir);
	gw_buf_free(&rel);
	gw_buf_free(&id);
	return rc;
}

int
gw_chanstore_xfer_export(gw_store *db, gw_store *dir, gw_xfer *x, gw_err *err)
{
	gw_chanstore_out o = { dir, x, err };
	return gw_store_channel_each(db, gw_chanstore_write_one, &o, err);
}
