/*
 * respstore.c - one JSON file per stored response.
 *
 * Ids are checked against a strict alphabet before they become file names,
 * so a request can never name a path outside the responses directory.
 * Records are written once into a fresh temp file and renamed into place.
 */
#include "core/openresponses/respstore.h"
#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_RESPSTORE_DIR "openresponses/responses"

bool
gw_respstore_id_ok(const char *id)
{
	size_t n = 0;
	for (; id && id[n]; n++)
		if (!isalnum((unsigned char)id[n]) && id[n] != '_' && id[n] != '-')
			return false;
	return n > 0 && n <= 128;
}

static char *
gw_respstore_path(const char *state_dir, const char *id, const char *suffix)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s/" GW_RESPSTORE_DIR "/%s%s", state_dir, id, suffix);
	return gw_buf_detach(&b);
}

static int
gw_respstore_create(const char *path, gw_err *err)
{
	/* a fresh file, never through a link a stale temp name could be */
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		return gw_err_set(err, -e, GW_EXIT_CANTCREAT, "cannot create %s: %s", path,
		    strerror(e));
	}
	return fd;
}

int
gw_respstore_save(const char *state_dir, const char *id, const char *session_key,
    const cJSON *input_items, const char *response_json, size_t n, gw_err *err)
{
	if (!gw_respstore_id_ok(id))
		return gw_err_set(err, -EINVAL, GW_EXIT_SOFTWARE, "invalid response id '%s'", id);
	gw_buf b = GW_BUF_INIT;
	gw_jw w;
	gw_jw_init(&w, &b, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "id", id);
	gw_jw_kstr(&w, "session_key", session_key ? session_key : "");
	gw_jw_key(&w, "input_items");
	gw_jw_cjson(&w, input_items);
	gw_jw_key(&w, "response");
	gw_jw_raw_json(&w, response_json, n);
	gw_jw_obj_end(&w);
	gw_buf_putc(&b, '\n');
	char *tmp = gw_respstore_path(state_dir, id, ".json.tmp");
	char *path = gw_respstore_path(state_dir, id, ".json");
	/* (re)made and checked each time: a link in its place is refused */
	int fd = gw_fs_mkdirs_under(state_dir, GW_RESPSTORE_DIR, NULL, err);
	if (fd == 0)
		fd = gw_respstore_create(tmp, err);
	int rc = fd < 0 ? fd : 0;
	if (fd >= 0) {
		rc = gw_fs_write_all(fd, b.data, b.len, tmp, err);
		if (close(fd) != 0 && rc == 0) /* (NFS reports a failed write here) */
			rc = gw_err_set(err, -errno, GW_EXIT_IOERR, "cannot write %s: %s", tmp,
			    strerror(errno));
		if (rc == 0 && rename(tmp, path) != 0) {
			int e = errno;
			rc = gw_err_set(err, -e, GW_EXIT_CANTCREAT, "cannot rename %s: %s", tmp,
			    strerror(e));
		}
		if (rc != 0)
			unlink(tmp);
	}
	free(tmp);
	free(path);
	gw_buf_free(&b);
	return rc;
}

/* Checks one stored item: the normalized forms responses.c writes, with
 * every member the providers and the API read of the right type.  On
 * failure, why says what is wrong. */
static bool
gw_respstore_item_ok(const cJSON *it, char *why, size_t n)
{
	const char *type = cJSON_IsObject(it) ? gw_json_str(it, "type") : NULL;
	if (type == NULL) {
		snprintf(why, n, "is not an object with a string type");
		return false;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
	if (id != NULL && !cJSON_IsString(id)) {
		snprintf(why, n, "has an id that is not a string");
		return false;
	}
	if (strcmp(type, "message") == 0) {
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (gw_json_str(it, "role") == NULL || !cJSON_IsArray(content)) {
			snprintf(why, n, "is a message without a string role and a content array");
			return false;
		}
		for (const cJSON *p = content->child; p != NULL; p = p->next) {
			const char *pt = cJSON_IsObject(p) ? gw_json_str(p, "type") : NULL;
			bool ok = pt != NULL;
			if (ok && strcmp(pt, "input_image") == 0)
				ok = gw_json_str(p, "image_url") != NULL;
			else if (ok && strcmp(pt, "refusal") == 0)
				ok = gw_json_str(p, "refusal") != NULL;
			else if (ok)
				ok = gw_json_str(p, "text") != NULL;
			if (!ok) {
				snprintf(why, n, "has a content part without its type and string value");
				return false;
			}
		}
		return true;
	}
	if (strcmp(type, "function_call") == 0) {
		if (gw_json_str(it, "call_id") != NULL && gw_json_str(it, "name") != NULL &&
		    gw_json_str(it, "arguments") != NULL)
			return true;
		snprintf(why, n, "is a function_call without string call_id, name and arguments");
		return false;
	}
	if (strcmp(type, "function_call_output") == 0) {
		if (gw_json_str(it, "call_id") != NULL && gw_json_str(it, "output") != NULL)
			return true;
		snprintf(why, n, "is a function_call_output without string call_id and output");
		return false;
	}
	snprintf(why, n, "has an unknown type '%.40s'", type);
	return false;
}

/* Checks a whole record as loaded; 0 or -EINVAL with err naming the path
 * and what is wrong. */
static int
gw_respstore_check(const cJSON *root, const char *path, gw_err *err)
{
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "input_items");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(root, "session_key");
	if (!cJSON_IsObject(root) || !cJSON_IsObject(resp) || !cJSON_IsArray(items) ||
	    (key != NULL && !cJSON_IsString(key)))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
		    "%s is not a stored response (expected an object with input_items, response and a string session_key)",
		    path);
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(resp, "output");
	if (out != NULL && !cJSON_IsArray(out))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: response.output is not an array", path);
	const cJSON *lists[2] = { items, out };
	const char *names[2] = { "input_items", "response.output" };
	for (int l = 0; l < 2; l++) {
		size_t i = 0;
		for (const cJSON *it = lists[l] ? lists[l]->child : NULL; it != NULL; it = it->next, i++) {
			char why[128];
			if (!gw_respstore_item_ok(it, why, sizeof(why)))
				return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: %s[%zu] %s", path,
				    names[l], i, why);
		}
	}
	return 0;
}

int
gw_respstore_load(const char *state_dir, const char *id, cJSON **out, gw_err *err)
{
	*out = NULL;
	if (!gw_respstore_id_ok(id))
		return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
	char *path = gw_respstore_path(state_dir, id, ".json");
	gw_buf text = GW_BUF_INIT;
	int rc = gw_fs_read_file(path, &text, err);
	if (rc == -ENOENT)
		gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
	if (rc == 0) {
		cJSON *root = gw_json_parse(text.data ? text.data : "", text.len, path, err);
		if (root == NULL)
			rc = -EINVAL;
		else if ((rc = gw_respstore_check(root, path, err)) != 0)
			cJSON_Delete(root);
		else
			*out = root;
	}
	gw_buf_free(&text);
	free(path);
	return rc;
}

int
gw_respstore_delete(const char *state_dir, const char *id, gw_err *err)
{
	if (!gw_respstore_id_ok(id))
		return gw_err_set(err, -ENOENT, GW_EXIT_NOINPUT, "no stored response '%s'", id);
	char *path = gw_respstore_path(state_dir, id, ".json");
	int rc = 0;
	if (unlink(path) != 0) {
		int e = errno;
		rc = gw_err_set(err, -e, e == ENOENT ? GW_EXIT_NOINPUT : GW_EXIT_IOERR,
		    e == ENOENT ? "no stored response '%s'" : "cannot delete stored response '%s'", id);
	}
	free(path);
	return rc;
}

int
gw_respstore_sweep(const char *state_dir, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err)
{
	*removed = 0;
	if (ttl_s == 0)
		return 0;
	DIR *d;
	int rc = gw_fs_opendir_under(state_dir, GW_RESPSTORE_DIR, &d, err);
	if (d == NULL)
		return rc;
	char *dir = gw_path_join(state_dir, GW_RESPSTORE_DIR);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t n = strlen(name);
		bool record = n > 5 && strcmp(name + n - 5, ".json") == 0;
		bool tmp = n > 9 && strcmp(name + n - 9, ".json.tmp") == 0; /* left by a crash */
		if (!record && !tmp)
			continue;
		char *path = gw_path_join(dir, name);
		if (gw_fs_expired(path, now_s, ttl_s) && unlink(path) == 0 && record)
			(*removed)++;
		free(path);
	}
	closedir(d);
	free(dir);
	return 0;
}
