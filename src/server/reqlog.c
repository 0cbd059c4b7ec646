/*
 * reqlog.c - the request log and the stderr format of the foreground
 * server's messages (see reqlog.h).
 */
#include "server/reqlog.h"
#include "core/base/clock.h"
#include "core/base/json.h"
#include "core/base/str.h"

#include <stdio.h>
#include <string.h>

#define SRV_REDACTED "[redacted]"

void
srv_reqlog_redact(const srv_config *cfg, const char *line, gw_buf *out)
{
	const char *start = NULL;
	size_t tn = 0;
	if (cfg->auth_token != NULL)
		gw_str_trim(cfg->auth_token, &start, &tn);
	if (tn == 0) {
		gw_buf_puts(out, line);
		return;
	}
	gw_buf tok = GW_BUF_INIT;
	gw_buf_append(&tok, start, tn);
	const char *p = line;
	for (const char *hit; (hit = strstr(p, tok.data)) != NULL; p = hit + tn) {
		gw_buf_append(out, p, (size_t)(hit - p));
		gw_buf_puts(out, SRV_REDACTED);
	}
	gw_buf_puts(out, p);
	gw_buf_free(&tok);
}

/* One line, newline-terminated, in a single write. */
static void
srv_reqlog_emit(gw_buf *b)
{
	gw_buf_putc(b, '\n');
	fwrite(b->data, 1, b->len, stderr);
	fflush(stderr);
}

void
srv_reqlog_message(const srv_config *cfg, const char *line)
{
	gw_buf b = GW_BUF_INIT;
	if (cfg->log_format == SRV_LOG_JSON) {
		gw_jw w;
		gw_jw_init(&w, &b, false);
		gw_jw_obj_begin(&w);
		gw_jw_ku64(&w, "time_unix_ms", gw_clock_unix_ms());
		gw_jw_kstr(&w, "event", "message");
		gw_jw_kstr(&w, "message", line);
		gw_jw_obj_end(&w);
	} else {
		gw_buf_puts(&b, "tau-gateway: ");
		for (const char *p = line; *p; p++)
			gw_buf_putc(&b, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
	}
	srv_reqlog_emit(&b);
	gw_buf_free(&b);
}

/* path, percent-encoded where it is not printable ASCII (and '%'), so a
 * line stays one line of valid UTF-8 whatever the client sent. */
static void
srv_reqlog_path(const char *path, gw_buf *out)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '"' || *p == '\\')
			gw_buf_printf(out, "%%%02X", *p);
		else
			gw_buf_putc(out, (char)*p);
	}
}

void
srv_reqlog_request(const srv_config *cfg, const char *method, const char *path,
    const char *client, unsigned status, uint64_t duration_us, const char *response_id,
    const char *target, const char *upstream_request_id)
{
	if (cfg->quiet || cfg->log != NULL)
		return;
	gw_buf clean = GW_BUF_INIT, safe = GW_BUF_INIT, m = GW_BUF_INIT, b = GW_BUF_INIT;
	/* redact first: percent-encoding would hide a token with unusual bytes */
	srv_reqlog_redact(cfg, path, &clean);
	srv_reqlog_path(gw_buf_cstr(&clean), &safe);
	srv_reqlog_path(method, &m);
	method = gw_buf_cstr(&m);
	bool has_id = response_id != NULL && response_id[0] != '\0';
	bool has_client = client != NULL && client[0] != '\0';
	bool has_target = target != NULL && target[0] != '\0';
	bool has_rid = upstream_request_id != NULL && upstream_request_id[0] != '\0';
	char ms[32];
	snprintf(ms, sizeof(ms), "%llu.%03llu", (unsigned long long)(duration_us / 1000),
	    (unsigned long long)(duration_us % 1000));
	if (cfg->log_format == SRV_LOG_JSON) {
		gw_jw w;
		gw_jw_init(&w, &b, false);
		gw_jw_obj_begin(&w);
		gw_jw_ku64(&w, "time_unix_ms", gw_clock_unix_ms());
		gw_jw_kstr(&w, "event", "request");
		gw_jw_kstr(&w, "method", method);
		gw_jw_kstr(&w, "path", gw_buf_cstr(&safe));
		gw_jw_ku64(&w, "status", status);
		gw_jw_key(&w, "duration_ms");
		gw_jw_raw_json(&w, ms, strlen(ms));
		if (has_client)
			gw_jw_kstr(&w, "client", client);
		if (has_id)
			gw_jw_kstr(&w, "response_id", response_id);
		if (has_target)
			gw_jw_kstr(&w, "target", target);
		if (has_rid)
			gw_jw_kstr(&w, "upstream_request_id", upstream_request_id);
		gw_jw_obj_end(&w);
	} else {
		gw_buf_printf(&b, "tau-gateway: request method=%s path=%s status=%u duration_ms=%s", method,
		    gw_buf_cstr(&safe), status, ms);
		if (has_client)
			gw_buf_printf(&b, " client=%s", client);
		if (has_id)
			gw_buf_printf(&b, " response_id=%s", response_id);
		if (has_target) {
			gw_buf tb = GW_BUF_INIT;
			srv_reqlog_path(target, &tb); /* the file's text: printable ASCII only */
			gw_buf_printf(&b, " target=%s", gw_buf_cstr(&tb));
			gw_buf_free(&tb);
		}
		if (has_rid) {
			gw_buf rb = GW_BUF_INIT;
			srv_reqlog_path(upstream_request_id, &rb); /* the upstream's text */
			gw_buf_printf(&b, " upstream_request_id=%s", gw_buf_cstr(&rb));
			gw_buf_free(&rb);
		}
	}
	srv_reqlog_emit(&b);
	gw_buf_free(&clean);
	gw_buf_free(&safe);
	gw_buf_free(&m);
	gw_buf_free(&b);
}
