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

int
gw_chanstore_open(const char *state_dir, const char *rel, const char *transport,
    const char *channel, gw_fs_batch *batch, gw_err *err)
{
	/* Each component is opened without following links (a symlinked
	 * actor directory would send the appends out of the state directory).
	 * A fresh directory has no schema and no temps to look for, which
	 * saves two opens per new actor. */
	bool fresh;
	int rc = gw_fs_mkdirs_under(state_dir, rel, &fresh, err);
	if (rc != 0)
		return rc;
	char *dir = gw_path_join(state_dir, rel);
	char *schema = gw_path_join(dir, "schema.json");
	gw_buf text = GW_BUF_INIT;
	if (fresh) {
		rc = -ENOENT;
	} else {
		gw_fs_remove_stale_temps(dir);
		rc = gw_fs_read_file(schema, &text, NULL);
	}
	if (rc == -ENOENT) {
		gw_buf_reset(&text);
		gw_jw w;
		gw_jw_init(&w, &text, true);
		gw_jw_obj_begin(&w);
		gw_jw_ku64(&w, "schema_version", 1);
		gw_jw_kstr(&w, "transport", transport);
		gw_jw_kstr(&w, "channel_id", channel);
		gw_jw_obj_end(&w);
		gw_buf_putc(&text, '\n');
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
