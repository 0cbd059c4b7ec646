/*
 * respstore.h - stored responses, one file per response in
 * <state-dir>/openresponses/responses/<id>.json:
 *   {"id":..,"session_key":..,"input_items":[..],"response":{..}}
 * input_items is the whole context the model saw (earlier turns included),
 * so previous_response_id continues a conversation across restarts.
 *
 * Durability: each record is written once, with one write(2) into a new
 * file and a rename; it is not fsynced (a crash may lose the newest
 * records, never tear one).
 */
#ifndef GW_RESPSTORE_H
#define GW_RESPSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/err.h"

/* True when id can name a stored response ([A-Za-z0-9_-], 1..128 bytes). */
bool gw_respstore_id_ok(const char *id);

/* Saves a record.  session_key may be "" ; response_json is the rendered
 * ResponseResource (n bytes).  0 or -errno with err set. */
int gw_respstore_save(const char *state_dir, const char *id, const char *session_key,
    const cJSON *input_items, const char *response_json, size_t n, gw_err *err);

/* Loads a record into *out (a cJSON object the caller frees with
 * cJSON_Delete).  The record is checked in full on load: every item of
 * input_items and response.output has the members the providers and the
 * API read, with their types, so nothing downstream meets a malformed
 * one.  0, -ENOENT for an unknown or invalid id, -EINVAL (exit class 65)
 * naming the file and the bad item, or -errno. */
int gw_respstore_load(const char *state_dir, const char *id, cJSON **out, gw_err *err);

/* Removes a record.  0, -ENOENT when unknown, or -errno. */
int gw_respstore_delete(const char *state_dir, const char *id, gw_err *err);

/* Removes the records of state_dir written ttl_s or more seconds before
 * now_s (Unix seconds), and temp files a crash left that old.  Records are
 * written once, so a record's mtime is its creation.  ttl_s 0 removes
 * nothing.  *removed counts the records removed.  0, or -errno with err
 * set when the directory cannot be read (absent is fine). */
int gw_respstore_sweep(const char *state_dir, uint64_t now_s, uint64_t ttl_s, size_t *removed,
    gw_err *err);

#endif
