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
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
	int fd = gw_respstore_create(tmp, err);
	if (fd == -ENOENT) {
		char *dir = gw_path_join(state_dir, GW_RESPSTORE_DIR);
		gw_err_clear(err);
		fd = gw_fs_mkdirs(dir, err);
		free(dir);
		if (fd == 0)
			fd = gw_respstore_create(tmp, err);
	}
	int rc = fd < 0 ? fd : 0;
	if (fd >= 0) {
		rc = gw_fs_write_all(fd, b.data, b.len, tmp, err);
		close(fd);
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
		if (!cJSON_IsObject(root) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "response")) ||
		    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "input_items"))) {
			cJSON_Delete(root);
			rc = gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s is not a stored response",
			    path);
		} else {
			*out = root;
		}
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
