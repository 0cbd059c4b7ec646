/*
 * provider.c - "local/echo" and "openai/<model>" behind gw_provider_run.
 *
 * The OpenAI-compatible path drives one libcurl easy handle inside a
 * private multi handle, polling at most 100 ms at a time, so a cancel flag
 * or a deadline ends the transfer promptly.  (multi, easy) pairs are pooled
 * so upstream connections are reused across requests.  Retries happen only
 * before anything reached the sink.  This module must never install signal
 * handlers (CURLOPT_NOSIGNAL) and never pass an upstream body to a client.
 */
#include "core/provider.h"
#include "core/chat.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#define GW_PROVIDER_POOL_MAX 64
#define GW_PROVIDER_POLL_MS 100
#define GW_PROVIDER_MAX_BODY (16u << 20)

typedef enum { GW_PROVIDER_ECHO, GW_PROVIDER_OPENAI } gw_provider_kind;

typedef struct gw_curl_slot {
	CURLM *multi;
	CURL *easy;
} gw_curl_slot;

struct gw_provider {
	gw_provider_kind kind;
	char *model;                /* as configured: "openai/gpt-4o-mini" */
	char *upstream_model;       /* "gpt-4o-mini" */
	char *url;                  /* {base}/chat/completions */
	char *auth;                 /* "Authorization: Bearer ..." or NULL */
	uint64_t timeout_ms, max_retries;
	gw_provider_attempt_fn attempt;
	gw_provider_log_fn log;
	void *ctx;
	pthread_mutex_t lock;
	gw_curl_slot pool[GW_PROVIDER_POOL_MAX];
	size_t npool;
};

static pthread_once_t gw_provider_once = PTHREAD_ONCE_INIT;

static void
gw_provider_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
gw_provider_global_init(void)
{
	pthread_once(&gw_provider_once, gw_provider_curl_init);
}

int
gw_provider_new(const gw_provider_config *cfg, gw_provider **out, gw_err *err)
{
	*out = NULL;
	const char *m = cfg->model ? cfg->model : "local/echo";
	gw_provider_kind kind;
	if (strcmp(m, "local/echo") == 0)
		kind = GW_PROVIDER_ECHO;
	else if (strncmp(m, "openai/", 7) == 0 && m[7] != '\0')
		kind = GW_PROVIDER_OPENAI;
	else
		return gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "unsupported model '%s' (expected local/echo or openai/<model>)", m);
	gw_provider_global_init();
	gw_provider *p = gw_xcalloc(1, sizeof(*p));
	p->kind = kind;
	p->model = gw_xstrdup(m);
	p->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 120000;
	p->max_retries = cfg->max_retries;
	p->attempt = cfg->attempt;
	p->log = cfg->log;
	p->ctx = cfg->ctx;
	pthread_mutex_init(&p->lock, NULL);
	if (kind == GW_PROVIDER_OPENAI) {
		p->upstream_model = gw_xstrdup(m + 7);
		const char *base = cfg->base_url ? cfg->base_url : "https://api.openai.com/v1";
		size_t n = strlen(base);
		while (n > 0 && base[n - 1] == '/')
			n--;
		gw_buf u = GW_BUF_INIT;
		gw_buf_append(&u, base, n);
		if (n < 17 || memcmp(base + n - 17, "/chat/completions", 17) != 0)
			gw_buf_puts(&u, "/chat/completions");
		p->url = gw_buf_detach(&u);
		if (cfg->api_key != NULL && cfg->api_key[0] != '\0') {
			gw_buf a = GW_BUF_INIT;
			gw_buf_printf(&a, "Authorization: Bearer %s", cfg->api_key);
			p->auth = gw_buf_detach(&a);
		}
	}
	*out = p;
	return 0;
}

void
gw_provider_free(gw_provider *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->npool; i++) {
		curl_easy_cleanup(p->pool[i].easy);
		curl_multi_cleanup(p->pool[i].multi);
	}
	pthread_mutex_destroy(&p->lock);
	if (p->auth) {
		memset(p->auth, 0, strlen(p->auth));
		free(p->auth);
	}
	free(p->url);
	free(p->upstream_model);
	free(p->model);
	free(p);
}

const char *
gw_provider_model(const gw_provider *p)
{
	return p->model;
}

bool
gw_provider_offline(const gw_provider *p)
{
	return p->kind == GW_PROVIDER_ECHO;
}

static void
gw_provider_logf(gw_provider *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
gw_provider_logf(gw_provider *p, const char *fmt, ...)
{
	if (p->log == NULL)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->log(p->ctx, line);
}

static int
gw_provider_fail(gw_provider_outcome *o, int rc, unsigned status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
gw_provider_fail(gw_provider_outcome *o, int rc, unsigned status, const char *code,
    const char *fmt, ...)
{
	o->http_status = status;
	snprintf(o->code, sizeof(o->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
	return rc;
}

static bool
gw_provider_cancelled(const atomic_bool *cancel)
{
	return cancel != NULL && atomic_load(cancel);
}

/* ---- local/echo ------------------------------------------------------------- */

/* Returns the name of the tool tool_choice forces, or NULL. */
static const char *
gw_provider_forced_tool(const gw_provider_call *call)
{
	const cJSON *tc = call->tool_choice;
	if (call->tools == NULL || cJSON_GetArraySize(call->tools) == 0 || tc == NULL)
		return NULL;
	if (cJSON_IsString(tc) && strcmp(tc->valuestring, "required") == 0)
		return gw_json_str(call->tools->child, "name");
	const char *type = gw_json_str(tc, "type");
	if (type != NULL && strcmp(type, "function") == 0)
		return gw_json_str(tc, "name");
	return NULL;
}

static int
gw_provider_echo(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_outcome *o)
{
	(void)p;
	gw_buf scratch = GW_BUF_INIT, reply = GW_BUF_INIT;
	const char *last = gw_resp_last_user_text(call->items, &scratch);
	const char *instr = call->instructions;
	bool has_instr = instr != NULL && instr[0] != '\0';
	o->usage.input_tokens = gw_resp_items_words(call->items) +
	    (has_instr ? gw_resp_count_words(instr) : 0);
	o->attempts = 1;
	const char *tool = gw_provider_forced_tool(call);
	if (tool != NULL) {
		gw_jw w;
		gw_jw_init(&w, &reply, false);
		gw_jw_obj_begin(&w);
		gw_jw_kstr(&w, "input", last);
		gw_jw_obj_end(&w);
		o->emitted = true;
		sink->tool_begin(sink->ctx, 0, NULL, tool);
		size_t half = reply.len / 2;
		sink->tool_args(sink->ctx, 0, reply.data, half);
		sink->tool_args(sink->ctx, 0, reply.data + half, reply.len - half);
		o->usage.output_tokens = gw_resp_count_words(reply.data);
		snprintf(o->finish, sizeof(o->finish), "tool_calls");
		gw_buf_free(&reply);
		gw_buf_free(&scratch);
		return 0;
	}
	size_t nitems = (size_t)cJSON_GetArraySize(call->items);
	gw_buf_printf(&reply, "local/echo heard: \"%s\". Instructions: %s. Context: %zu item%s.",
	    last, has_instr ? instr : "none", nitems, nitems == 1 ? "" : "s");
	/* Bound the reply by max_output_tokens (one token per word). */
	snprintf(o->finish, sizeof(o->finish), "stop");
	if (call->has_max_output_tokens &&
	    gw_resp_count_words(reply.data) > call->max_output_tokens) {
		uint64_t words = 0;
		size_t i = 0;
		bool in = false;
		for (; i < reply.len; i++) {
			bool sp = isspace((unsigned char)reply.data[i]);
			if (!sp && !in && words++ == call->max_output_tokens)
				break;
			in = !sp;
		}
		while (i > 0 && isspace((unsigned char)reply.data[i - 1]))
			i--;
		reply.len = i;
		reply.data[i] = '\0';
		snprintf(o->finish, sizeof(o->finish), "length");
	}
	/* Stream it in several deltas, split after spaces. */
	size_t pieces = 4, start = 0;
	for (size_t k = 1; k <= pieces && start < reply.len; k++) {
		if (gw_provider_cancelled(cancel)) {
			gw_buf_free(&reply);
			gw_buf_free(&scratch);
			return gw_provider_fail(o, -ECANCELED, 499, "cancelled", "the client went away");
		}
		size_t end = k == pieces ? reply.len : reply.len * k / pieces;
		while (end > 0 && end < reply.len && reply.data[end - 1] != ' ')
			end++;
		if (end > start) {
			o->emitted = true;
			sink->text(sink->ctx, reply.data + start, end - start);
		}
		start = end;
	}
	o->usage.output_tokens = gw_resp_count_words(reply.data);
	o->usage.total_tokens = o->usage.input_tokens + o->usage.output_tokens;
	gw_buf_free(&reply);
	gw_buf_free(&scratch);
	return 0;
}

/* ---- openai/<model> ----------------------------------------------------------- */

typedef struct gw_xfer {
	gw_provider *p;
	CURL *easy;
	const gw_provider_sink *sink;
	gw_chat_state st;
	gw_chat_sse sse;
	gw_buf body;                /* non-stream reply, or a discarded error body */
	int decided;                /* 0 unknown, 1 SSE, 2 JSON, 3 error status */
	long status;
	uint64_t retry_after_ms;    /* from Retry-After, 0 when absent */
	uint64_t last_data_ms;
	bool proto_error;
} gw_xfer;

static uint64_t
gw_provider_retry_after(const char *v, size_t n)
{
	char tmp[64];
	if (n >= sizeof(tmp))
		return 0;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	char *end;
	unsigned long long secs = strtoull(tmp, &end, 10);
	if (end != tmp && (*end == '\0' || isspace((unsigned char)*end)))
		return secs > 3600 ? 3600000 : secs * 1000;
	time_t when = curl_getdate(tmp, NULL);
	time_t now = time(NULL);
	if (when > now)
		return (uint64_t)(when - now) * 1000;
	return 0;
}

static size_t
gw_provider_header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	gw_xfer *x = ud;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	if (n > sizeof(name) - 1 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
		const char *v = buf + sizeof(name) - 1;
		size_t vn = n - (sizeof(name) - 1);
		while (vn > 0 && isspace((unsigned char)*v)) {
			v++;
			vn--;
		}
		while (vn > 0 && isspace((unsigned char)v[vn - 1]))
			vn--;
		x->retry_after_ms = gw_provider_retry_after(v, vn);
	}
	return n;
}

static int
gw_provider_sse_event(void *ctx, const char *data, size_t n)
{
	gw_xfer *x = ctx;
	if (x->st.done)
		return 0;
	return gw_chat_apply_chunk(data, n, x->sink, &x->st);
}

static size_t
gw_provider_write_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	gw_xfer *x = ud;
	size_t n = size * nmemb;
	x->last_data_ms = gw_clock_mono_ms();
	if (x->decided == 0) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
		char *ct = NULL;
		curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
		if (x->status < 200 || x->status > 299)
			x->decided = 3;
		else if (ct != NULL && strstr(ct, "text/event-stream") != NULL)
			x->decided = 1;
		else
			x->decided = 2;
	}
	if (x->decided == 3)
		return n; /* error bodies are read and dropped, never echoed */
	if (x->decided == 1) {
		int rc = gw_chat_sse_feed(&x->sse, buf, n, gw_provider_sse_event, x);
		if (rc != 0) {
			x->proto_error = true;
			return 0; /* aborts the transfer */
		}
		return n;
	}
	if (x->body.len + n > GW_PROVIDER_MAX_BODY) {
		x->proto_error = true;
		snprintf(x->st.error, sizeof(x->st.error), "upstream reply exceeds %u bytes",
		    GW_PROVIDER_MAX_BODY);
		return 0;
	}
	gw_buf_append(&x->body, buf, n);
	return n;
}

static gw_curl_slot
gw_provider_slot_get(gw_provider *p)
{
	gw_curl_slot s = { NULL, NULL };
	pthread_mutex_lock(&p->lock);
	if (p->npool > 0)
		s = p->pool[--p->npool];
	pthread_mutex_unlock(&p->lock);
	if (s.multi == NULL) {
		s.multi = curl_multi_init();
		s.easy = curl_easy_init();
		if (s.multi == NULL || s.easy == NULL)
			abort(); /* out of memory, like gw_xmalloc */
	}
	return s;
}

/* Returns a slot to the pool.  The easy handle is not reset: every run sets
 * the same options again, and a reset would free curl's buffers. */
static void
gw_provider_slot_put(gw_provider *p, gw_curl_slot s, bool reusable)
{
	curl_easy_setopt(s.easy, CURLOPT_ERRORBUFFER, NULL); /* it pointed at a stack array */
	curl_easy_setopt(s.easy, CURLOPT_HTTPHEADER, NULL);
	pthread_mutex_lock(&p->lock);
	if (reusable && p->npool < GW_PROVIDER_POOL_MAX) {
		p->pool[p->npool++] = s;
		s.multi = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	if (s.multi != NULL) {
		curl_easy_cleanup(s.easy);
		curl_multi_cleanup(s.multi);
	}
}

typedef enum {
	GW_XFER_OK,          /* 2xx reply read completely */
	GW_XFER_STATUS,      /* non-2xx status */
	GW_XFER_CONNECT,     /* no connection / nothing received: retryable */
	GW_XFER_BROKEN,      /* transfer failed part-way */
	GW_XFER_TIMEOUT,
	GW_XFER_CANCELLED,
	GW_XFER_PROTO        /* reply unusable */
} gw_xfer_result;

static gw_xfer_result
gw_provider_transfer(gw_provider *p, gw_curl_slot *slot, gw_xfer *x, const char *body,
    size_t body_len, bool stream, unsigned attempt, const atomic_bool *cancel,
    char *curl_msg, size_t curl_msg_len)
{
	CURL *e = slot->easy;
	struct curl_slist *hdrs = NULL;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, stream ? "Accept: text/event-stream" : "Accept: application/json");
	if (p->auth)
		hdrs = curl_slist_append(hdrs, p->auth);
	char hdr[64];
	snprintf(hdr, sizeof(hdr), "X-Tau-Retry-Attempt: %u", attempt);
	hdrs = curl_slist_append(hdrs, hdr);
	hdrs = curl_slist_append(hdrs, "Expect:");
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(e, CURLOPT_URL, p->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gw_provider_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, gw_provider_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->timeout_ms < 10000 ? p->timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tau-gateway/" TAU_VERSION);
	x->easy = e;
	uint64_t start = gw_clock_mono_ms();
	x->last_data_ms = start;
	curl_multi_add_handle(slot->multi, e);
	gw_xfer_result res = GW_XFER_OK;
	int running = 1;
	CURLcode cc = CURLE_OK;
	while (running) {
		if (curl_multi_perform(slot->multi, &running) != CURLM_OK) {
			cc = CURLE_FAILED_INIT;
			break;
		}
		int left;
		CURLMsg *m;
		while ((m = curl_multi_info_read(slot->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE)
				cc = m->data.result;
		if (!running)
			break;
		if (gw_provider_cancelled(cancel)) {
			res = GW_XFER_CANCELLED;
			break;
		}
		uint64_t now = gw_clock_mono_ms();
		uint64_t since = stream && x->decided == 1 ? x->last_data_ms : start;
		if (now - since >= p->timeout_ms) {
			res = GW_XFER_TIMEOUT;
			break;
		}
		curl_multi_poll(slot->multi, NULL, 0, GW_PROVIDER_POLL_MS, NULL);
	}
	curl_multi_remove_handle(slot->multi, e);
	curl_slist_free_all(hdrs);
	snprintf(curl_msg, curl_msg_len, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
	if (res != GW_XFER_OK)
		return res;
	if (x->status == 0)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->proto_error)
		return GW_XFER_PROTO;
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return x->status ? GW_XFER_TIMEOUT : GW_XFER_CONNECT;
	if (cc != CURLE_OK) {
		if (x->status == 0 || cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
		    cc == CURLE_GOT_NOTHING || cc == CURLE_SEND_ERROR)
			return x->decided == 0 ? GW_XFER_CONNECT : GW_XFER_BROKEN;
		return GW_XFER_BROKEN;
	}
	if (x->status < 200 || x->status > 299)
		return GW_XFER_STATUS;
	return GW_XFER_OK;
}

static bool
gw_provider_retryable_status(long s)
{
	return s == 408 || s == 429 || s >= 500;
}

/* Sleeps ms, waking early on cancel.  False when cancelled. */
static bool
gw_provider_wait(uint64_t ms, const atomic_bool *cancel)
{
	uint64_t end = gw_clock_mono_ms() + ms;
	for (;;) {
		if (gw_provider_cancelled(cancel))
			return false;
		uint64_t now = gw_clock_mono_ms();
		if (now >= end)
			return true;
		gw_clock_sleep_ms(end - now < 50 ? end - now : 50);
	}
}

static uint64_t
gw_provider_backoff_ms(unsigned attempt)
{
	uint64_t base = 200ull << (attempt < 6 ? attempt : 6);
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)gw_clock_mono_ns();
	return base / 2 + r % (base / 2 + 1); /* jitter in [base/2, base] */
}

static int
gw_provider_openai(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_outcome *o)
{
	gw_buf body = GW_BUF_INIT;
	gw_chat_request_body(call, p->upstream_model, &body);
	uint64_t started = gw_clock_mono_ms();
	int rc = 0;
	for (unsigned attempt = 0;; attempt++) {
		gw_xfer x;
		memset(&x, 0, sizeof(x));
		x.p = p;
		x.sink = sink;
		gw_curl_slot slot = gw_provider_slot_get(p);
		char cmsg[CURL_ERROR_SIZE];
		gw_xfer_result res = gw_provider_transfer(p, &slot, &x, body.data, body.len,
		    call->stream, attempt, cancel, cmsg, sizeof(cmsg));
		if (res == GW_XFER_OK && x.decided == 1)
			gw_chat_sse_end(&x.sse, gw_provider_sse_event, &x);
		if (res == GW_XFER_OK && x.decided == 2 &&
		    gw_chat_apply_reply(x.body.data ? x.body.data : "", x.body.len, sink, &x.st) != 0)
			res = GW_XFER_PROTO;
		if (res == GW_XFER_OK && x.decided == 1 && !x.st.done && x.st.finish[0] == '\0')
			res = GW_XFER_BROKEN; /* the stream ended without [DONE] or a finish_reason */
		gw_provider_slot_put(p, slot, res == GW_XFER_OK || res == GW_XFER_STATUS);
		o->attempts = attempt + 1;
		o->upstream_status = (unsigned)x.status;
		o->emitted = o->emitted || x.st.emitted;
		if (p->attempt)
			p->attempt(p->ctx, (unsigned)x.status);
		bool retry = false;
		switch (res) {
		case GW_XFER_OK:
			o->usage = x.st.usage;
			snprintf(o->finish, sizeof(o->finish), "%s", x.st.finish[0] ? x.st.finish : "stop");
			rc = 0;
			break;
		case GW_XFER_CANCELLED:
			rc = gw_provider_fail(o, -ECANCELED, 499, "cancelled",
			    "the request was cancelled before the upstream answered");
			break;
		case GW_XFER_TIMEOUT:
			rc = gw_provider_fail(o, -ETIMEDOUT, 504, "upstream_timeout",
			    "upstream did not answer within %llu ms",
			    (unsigned long long)p->timeout_ms);
			break;
		case GW_XFER_STATUS:
			retry = gw_provider_retryable_status(x.status);
			rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
			    "upstream returned HTTP status %ld", x.status);
			break;
		case GW_XFER_CONNECT:
			retry = true;
			rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
			    "upstream connection failed: %s", cmsg);
			break;
		case GW_XFER_BROKEN:
			rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
			    "upstream closed the reply early (HTTP status %ld): %s", x.status, cmsg);
			break;
		case GW_XFER_PROTO:
			rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
			    "upstream sent an invalid reply (HTTP status %ld): %s", x.status,
			    x.st.error[0] ? x.st.error : "unreadable stream");
			break;
		}
		uint64_t retry_after = x.retry_after_ms;
		gw_chat_sse_free(&x.sse);
		gw_buf_free(&x.body);
		if (!retry || o->emitted || attempt >= p->max_retries)
			break;
		uint64_t delay = retry_after ? retry_after : gw_provider_backoff_ms(attempt);
		uint64_t spent = gw_clock_mono_ms() - started;
		if (spent + delay >= p->timeout_ms)
			break;
		gw_provider_logf(p, "upstream attempt %u failed (%s); retrying in %llu ms", attempt + 1,
		    o->message, (unsigned long long)delay);
		if (!gw_provider_wait(delay, cancel)) {
			rc = gw_provider_fail(o, -ECANCELED, 499, "cancelled",
			    "the request was cancelled while waiting to retry");
			break;
		}
		memset(o, 0, sizeof(*o));
	}
	gw_buf_free(&body);
	return rc;
}

int
gw_provider_run(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_outcome *out)
{
	memset(out, 0, sizeof(*out));
	if (p->kind == GW_PROVIDER_ECHO)
		return gw_provider_echo(p, call, sink, cancel, out);
	return gw_provider_openai(p, call, sink, cancel, out);
}
