/*
 * provider_curl.c - the libcurl engine behind every upstream provider.
 *
 * An engine is one libcurl multi handle (its calls share a connection
 * cache) plus an epoll set that mirrors the sockets curl names
 * (CURLMOPT_SOCKETFUNCTION), so a step runs only the transfers whose
 * sockets are ready (curl_multi_socket_action) and tells curl which way
 * they are ready; curl's timers are read with curl_multi_timeout.  An
 * engine belongs to the thread that steps it: a server event loop
 * (gw_provider_start_on, or gw_provider_start_via for any provider's
 * calls: an engine is made for one provider but runs any upstream's), or
 * the provider's own transfer thread, which other threads feed through a
 * locked incoming list and an eventfd (gw_provider_start).  At most
 * every GW_PROVIDER_SWEEP_MS a step checks each call's cancel flag and
 * deadline, so a cancel or a silent upstream ends a call promptly.  A failed attempt is retried (a timer on the same
 * engine) only before anything reached the sink.  What the request and
 * the reply look like is the wire's business (provider_int.h).  This file
 * must never install signal handlers (CURLOPT_NOSIGNAL) and never pass an
 * upstream body to a client.
 */
#include "core/openresponses/provider.h"
#include "core/openresponses/provider_int.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define GW_PROVIDER_SPARE_MAX 256   /* idle easy handles kept for reuse */
#define GW_PROVIDER_SWEEP_MS 50     /* cancel and deadline checks */
#define GW_PROVIDER_IDLE_MS 60000   /* poll bound with no call in flight */
#define GW_PROVIDER_MAX_BODY (16u << 20)

typedef struct gw_xfer gw_xfer;

/* The transfer engine: one multi handle with its connection cache, an
 * epoll set of curl's sockets, the calls in flight or waiting to retry and
 * spare easy handles, each with the serial of the upstream whose URL and
 * connect timeout it carries (a call of another upstream sets its own).
 * Only the thread that steps an engine touches it. */
struct gw_provider_engine {
	gw_provider *p;
	CURLM *multi;
	int epfd;                   /* curl's sockets (CURLMOPT_SOCKETFUNCTION) */
	uint64_t last_sweep_ms;
	uint64_t step_ns;           /* when the step took up what it is ending (done_ns) */
	gw_xfer *calls;
	CURL *spare[GW_PROVIDER_SPARE_MAX];
	uint64_t spare_serial[GW_PROVIDER_SPARE_MAX];
	size_t nspare;
};

/* A provider's upstream: where calls go and how, and its transfer thread. */
struct gw_provider_upstream {
	uint64_t serial;            /* unique per upstream made: tells spare handles apart */
	const gw_provider_wire *wire;
	char *upstream_model;       /* "gpt-4o-mini" */
	/* {base}{wire->path}, [1] for streamed calls: the same pointer as
	 * [0] unless the wire's stream_path differs */
	char *url[2];
	char *auth;                 /* the key's header line, or NULL */
	struct curl_slist *hdrs0[2]; /* first-attempt headers: [0] JSON, [1] SSE */
	/* the provider's own transfer thread, started by the first
	 * gw_provider_start: an engine fed through the incoming list */
	pthread_mutex_t lock;       /* guards the five fields below */
	bool loop_started, loop_stop;
	bool sleeping;              /* the thread is in (or entering) its poll */
	gw_xfer *incoming, *incoming_tail;
	pthread_t loop;
	int wake_fd;                /* eventfd that ends the thread's poll */
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

const char *
gw_provider_curl_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}

/* The request headers of attempt n (from 0); the caller frees the list. */
static struct curl_slist *
gw_provider_headers(const gw_provider *p, bool stream, unsigned n)
{
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, stream ? "Accept: text/event-stream" : "Accept: application/json");
	if (p->up->auth)
		h = curl_slist_append(h, p->up->auth);
	for (const char *const *x = p->up->wire->headers; x != NULL && *x != NULL; x++)
		h = curl_slist_append(h, *x);
	char hdr[64];
	snprintf(hdr, sizeof(hdr), "X-Tau-Retry-Attempt: %u", n);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Expect:");
	if (h == NULL)
		abort(); /* out of memory, like gw_xmalloc */
	return h;
}

/* Ends the transfer thread's poll; one write is enough however many come
 * before it reads, since an eventfd only counts. */
static void
gw_provider_wake(gw_provider *p)
{
	gw_fs_eventfd_signal(p->up->wake_fd);
}

/* {base}{path} (base's trailing slashes dropped; path left off when base
 * already ends with it) with "{model}" in path replaced by the escaped
 * model.  The caller frees the result. */
static char *
gw_provider_url(const char *base, const char *path, const char *model)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	gw_buf url = GW_BUF_INIT;
	gw_buf_append(&url, base, n);
	const char *m = strstr(path, "{model}");
	if (m == NULL) {
		size_t pn = strlen(path);
		if (n < pn || memcmp(base + n - pn, path, pn) != 0)
			gw_buf_puts(&url, path);
		return gw_buf_detach(&url);
	}
	char *esc = curl_easy_escape(NULL, model, 0);
	if (esc == NULL)
		abort(); /* out of memory, like gw_xmalloc */
	gw_buf_append(&url, path, (size_t)(m - path));
	gw_buf_puts(&url, esc);
	gw_buf_puts(&url, m + strlen("{model}"));
	curl_free(esc);
	return gw_buf_detach(&url);
}

void
gw_provider_upstream_new(gw_provider *p, const gw_provider_wire *wire, const char *upstream_model,
    const gw_provider_config *cfg)
{
	gw_provider_global_init();
	static _Atomic uint64_t serials;
	gw_provider_upstream *u = gw_xcalloc(1, sizeof(*u));
	p->up = u;
	u->serial = atomic_fetch_add(&serials, 1) + 1;
	u->wire = wire;
	u->upstream_model = gw_xstrdup(upstream_model);
	const char *base = cfg->base_url && cfg->base_url[0] ? cfg->base_url : wire->default_base;
	u->url[0] = gw_provider_url(base, wire->path, upstream_model);
	u->url[1] = wire->stream_path == NULL ? u->url[0] :
	    gw_provider_url(base, wire->stream_path, upstream_model);
	if (cfg->api_key != NULL && cfg->api_key[0] != '\0') {
		gw_buf a = GW_BUF_INIT;
		gw_buf_printf(&a, "%s%s", wire->auth_prefix, cfg->api_key);
		u->auth = gw_buf_detach(&a);
	}
	u->hdrs0[0] = gw_provider_headers(p, false, 0);
	u->hdrs0[1] = gw_provider_headers(p, true, 0);
	pthread_mutex_init(&u->lock, NULL);
	u->wake_fd = -1;
}

void
gw_provider_upstream_free(gw_provider *p)
{
	gw_provider_upstream *u = p->up;
	pthread_mutex_lock(&u->lock);
	bool started = u->loop_started;
	u->loop_stop = true;
	pthread_mutex_unlock(&u->lock);
	if (started) {
		gw_provider_wake(p);
		pthread_join(u->loop, NULL); /* it ends every open call first */
	}
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	pthread_mutex_destroy(&u->lock);
	curl_slist_free_all(u->hdrs0[0]);
	curl_slist_free_all(u->hdrs0[1]);
	if (u->auth) {
		memset(u->auth, 0, strlen(u->auth));
		free(u->auth);
	}
	if (u->url[1] != u->url[0])
		free(u->url[1]);
	free(u->url[0]);
	free(u->upstream_model);
	free(u);
	p->up = NULL;
}

/* ---- one call, its attempts ----------------------------------------------------- */

typedef enum {
	GW_XFER_OK,          /* 2xx reply read completely */
	GW_XFER_STATUS,      /* non-2xx status */
	GW_XFER_CONNECT,     /* no connection / nothing received: retryable */
	GW_XFER_BROKEN,      /* transfer failed part-way */
	GW_XFER_TIMEOUT,
	GW_XFER_CANCELLED,
	GW_XFER_PROTO        /* reply unusable */
} gw_xfer_result;

/* One model call from gw_provider_start to its done callback, across its
 * attempts.  Owned by the engine's thread once handed over. */
struct gw_xfer {
	gw_provider *p;
	gw_provider_engine *g;      /* the engine running it, once started */
	gw_xfer *next, *prev;       /* p->up->incoming (singly), then g->calls */
	gw_buf req;                 /* the upstream request body */
	bool stream;
	gw_provider_sink sink;
	const atomic_bool *cancel;
	gw_provider_done_fn done;
	void *done_ctx;
	gw_provider_outcome out;
	unsigned attempt;           /* the current (or next) attempt, from 0 */
	uint64_t started_ms;        /* the first attempt's start */
	uint64_t retry_at_ms;       /* waiting to retry when easy == NULL */
	/* the current attempt */
	CURL *easy;
	struct curl_slist *hdrs;    /* a retry's own header list, else NULL */
	char errbuf[CURL_ERROR_SIZE];
	uint64_t attempt_ms, last_data_ms;
	gw_chat_state st;
	gw_chat_sse sse;
	gw_buf body;                /* non-stream reply, or a discarded error body */
	int decided;                /* 0 unknown, 1 SSE, 2 JSON, 3 error status */
	long status;
	uint64_t retry_after_ms;    /* from Retry-After, 0 when absent */
	char request_id[96];        /* the upstream's request id header, "" if none */
	bool proto_error;
	CURLcode cc;                /* curl's result, once the transfer finished */
};

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
		return n;
	}
	const char *rid = x->p->up->wire->request_id_header;
	size_t rn = rid != NULL ? strlen(rid) : 0;
	if (rn > 0 && n > rn + 1 && strncasecmp(buf, rid, rn) == 0 && buf[rn] == ':') {
		const char *v = buf + rn + 1;
		size_t vn = n - rn - 1;
		while (vn > 0 && isspace((unsigned char)*v)) {
			v++;
			vn--;
		}
		while (vn > 0 && isspace((unsigned char)v[vn - 1]))
			vn--;
		/* an id is printable ASCII; anything else is not logged */
		size_t k = 0;
		for (; k < vn && k + 1 < sizeof(x->request_id) && v[k] > ' ' && v[k] < 0x7f; k++)
			x->request_id[k] = v[k];
		x->request_id[k] = '\0';
	}
	return n;
}

static int
gw_provider_sse_event(void *ctx, const char *data, size_t n)
{
	gw_xfer *x = ctx;
	if (x->st.done)
		return 0;
	return x->p->up->wire->event(data, n, &x->sink, &x->st);
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

/* A new easy handle with the options every attempt shares. */
static CURL *
gw_provider_easy_new(const gw_provider *p)
{
	CURL *e = curl_easy_init();
	if (e == NULL)
		abort(); /* out of memory, like gw_xmalloc */
	curl_easy_setopt(e, CURLOPT_URL, p->up->url[0]);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gw_provider_write_cb);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, gw_provider_header_cb);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->timeout_ms < 10000 ? p->timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tau-gateway/" TAU_VERSION);
	return e;
}

/* Starts attempt x->attempt: an easy handle (a spare one when there is
 * one; it is not reset, since a reset would free curl's buffers, and it
 * keeps the shared options) added to the multi handle with this call's
 * options. */
static void
gw_xfer_attempt_begin(gw_xfer *x)
{
	gw_provider *p = x->p;
	gw_provider_engine *g = x->g;
	CURL *e;
	bool url_set = false;
	if (g->nspare > 0) {
		e = g->spare[--g->nspare];
		if (g->spare_serial[g->nspare] != p->up->serial) {
			/* made for another upstream on this engine: this one's options */
			curl_easy_setopt(e, CURLOPT_URL, p->up->url[x->stream]);
			curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			    (long)(p->timeout_ms < 10000 ? p->timeout_ms : 10000));
			url_set = true;
		}
	} else {
		e = gw_provider_easy_new(p);
	}
	/* the first attempt's headers are made once per provider (curl only
	 * reads them); a retry's carry its attempt number and are its own */
	struct curl_slist *hdrs;
	if (x->attempt == 0)
		hdrs = p->up->hdrs0[x->stream];
	else
		hdrs = x->hdrs = gw_provider_headers(p, x->stream, x->attempt);
	x->errbuf[0] = '\0';
	x->request_id[0] = '\0';
	if (!url_set && p->up->url[1] != p->up->url[0]) /* a spare handle keeps its last URL */
		curl_easy_setopt(e, CURLOPT_URL, p->up->url[x->stream]);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req.data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req.len);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	x->easy = e;
	x->attempt_ms = x->last_data_ms = gw_clock_mono_ms();
	curl_multi_add_handle(g->multi, e);
}

/* What a finished transfer (curl result cc) amounts to. */
static gw_xfer_result
gw_xfer_classify(gw_xfer *x, CURLcode cc)
{
	x->cc = cc;
	if (x->status == 0)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
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
	/* the whole reply is in: hand what remains to the sink */
	if (x->decided == 1) {
		gw_chat_sse_end(&x->sse, gw_provider_sse_event, x);
		if (!x->st.done && x->st.finish[0] == '\0')
			return GW_XFER_BROKEN; /* the stream ended without [DONE] or a finish_reason */
	} else if (x->decided == 2 &&
	    x->p->up->wire->reply(x->body.data ? x->body.data : "", x->body.len, &x->sink, &x->st) != 0) {
		return GW_XFER_PROTO;
	}
	return GW_XFER_OK;
}

static bool
gw_provider_retryable_status(long s)
{
	return s == 408 || s == 429 || s >= 500;
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

/* Calls done and frees x.  x must be off every list. */
static void
gw_xfer_deliver(gw_xfer *x, int rc)
{
	if (x->g != NULL)
		x->out.done_ns = x->g->step_ns;
	x->done(x->done_ctx, rc, &x->out);
	gw_buf_free(&x->req);
	free(x);
}

static void
gw_xfer_unlink(gw_xfer *x)
{
	gw_provider_engine *g = x->g;
	if (x->prev)
		x->prev->next = x->next;
	else
		g->calls = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->next = x->prev = NULL;
}

/* Ends the current attempt with result res: maps it onto the outcome,
 * then either schedules the next attempt or delivers the call. */
static void
gw_xfer_attempt_end(gw_xfer *x, gw_xfer_result res)
{
	gw_provider *p = x->p;
	gw_provider_engine *g = x->g;
	gw_provider_outcome *o = &x->out;
	curl_multi_remove_handle(g->multi, x->easy);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(x->hdrs); /* NULL for the shared first-attempt list */
	x->hdrs = NULL;
	/* a connection in an unknown state is not reused */
	if ((res == GW_XFER_OK || res == GW_XFER_STATUS) && g->nspare < GW_PROVIDER_SPARE_MAX) {
		g->spare_serial[g->nspare] = p->up->serial;
		g->spare[g->nspare++] = x->easy;
	} else {
		curl_easy_cleanup(x->easy);
	}
	x->easy = NULL;
	o->attempts = x->attempt + 1;
	o->upstream_status = (unsigned)x->status;
	memcpy(o->request_id, x->request_id, sizeof(o->request_id));
	o->emitted = o->emitted || x->st.emitted;
	if (p->attempt)
		p->attempt(p->ctx, (unsigned)x->status);
	bool retry = false;
	int rc = 0;
	switch (res) {
	case GW_XFER_OK:
		o->usage = x->st.usage;
		snprintf(o->finish, sizeof(o->finish), "%s", x->st.finish[0] ? x->st.finish : "stop");
		break;
	case GW_XFER_CANCELLED:
		rc = gw_provider_fail(o, -ECANCELED, 499, "cancelled",
		    "the request was cancelled before the upstream answered");
		break;
	case GW_XFER_TIMEOUT:
		rc = gw_provider_fail(o, -ETIMEDOUT, 504, "upstream_timeout",
		    "upstream did not answer within %llu ms", (unsigned long long)p->timeout_ms);
		break;
	case GW_XFER_STATUS:
		retry = gw_provider_retryable_status(x->status);
		rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
		    "upstream returned HTTP status %ld", x->status);
		break;
	case GW_XFER_CONNECT:
		retry = true;
		rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
		    "upstream connection failed: %s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->cc));
		break;
	case GW_XFER_BROKEN:
		rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
		    "upstream closed the reply early (HTTP status %ld): %s", x->status,
		    x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->cc));
		break;
	case GW_XFER_PROTO:
		rc = gw_provider_fail(o, -EIO, 502, "upstream_error",
		    "upstream sent an invalid reply (HTTP status %ld): %s", x->status,
		    x->st.error[0] ? x->st.error : "unreadable stream");
		break;
	}
	uint64_t retry_after = x->retry_after_ms;
	gw_chat_sse_free(&x->sse);
	gw_buf_free(&x->body);
	bool again = retry && !o->emitted && x->attempt < p->max_retries;
	uint64_t now = gw_clock_mono_ms();
	uint64_t delay = !again ? 0 : retry_after ? retry_after : gw_provider_backoff_ms(x->attempt);
	/* the upstream's request id goes into the log line of a failed
	 * attempt, so an operator can quote it to the vendor */
	char rid[128] = "";
	if (x->request_id[0] != '\0')
		snprintf(rid, sizeof(rid), " [%s %s]", p->up->wire->request_id_header, x->request_id);
	if (again && now - x->started_ms + delay < p->timeout_ms) {
		gw_provider_logf(p, "upstream attempt %u failed (%s)%s; retrying in %llu ms",
		    x->attempt + 1, o->message, rid, (unsigned long long)delay);
		memset(o, 0, sizeof(*o));
		memset(&x->st, 0, sizeof(x->st));
		memset(&x->sse, 0, sizeof(x->sse));
		x->decided = 0;
		x->status = 0;
		x->retry_after_ms = 0;
		x->proto_error = false;
		x->cc = CURLE_OK;
		x->attempt++;
		x->retry_at_ms = now + delay; /* the sweep starts it when due */
		return;
	}
	if (rc != 0 && rc != -ECANCELED && rid[0] != '\0')
		gw_provider_logf(p, "upstream attempt %u failed (%s)%s; giving up", x->attempt + 1,
		    o->message, rid);
	gw_xfer_unlink(x);
	gw_xfer_deliver(x, rc);
}

/* ---- the engine ----------------------------------------------------------------- */

/* CURLMOPT_SOCKETFUNCTION: mirrors what curl wants watched on fd into
 * the engine's epoll set.  curl calls it with CURL_POLL_REMOVE before it
 * closes a socket (and when a finished transfer's connection goes back to
 * its cache), and forgets the pointer assigned to the socket then; so a
 * socket without one (socketp NULL) is not in the set and is added, one
 * with one is modified: one epoll_ctl per change, none that fails.  MOD
 * and ADD still fall back on each other, so the set can never miss a
 * socket curl is waiting on. */
static int
gw_engine_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	(void)e;
	gw_provider_engine *g = userp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(g->epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT/EBADF: already gone */
		return 0;
	}
	struct epoll_event ev = { .events = 0, .data.fd = fd };
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	int op = socketp != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(g->epfd, op, fd, &ev) != 0) {
		if (errno == ENOENT)
			epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev);
		else if (errno == EEXIST)
			epoll_ctl(g->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	if (socketp == NULL)
		curl_multi_assign(g->multi, fd, g); /* in the set from now on */
	return 0;
}

gw_provider_engine *
gw_provider_engine_new(gw_provider *p)
{
	gw_provider_engine *g = gw_xcalloc(1, sizeof(*g));
	g->p = p;
	g->last_sweep_ms = gw_clock_mono_ms();
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	g->multi = curl_multi_init();
	if (g->epfd < 0 || g->multi == NULL)
		abort(); /* out of memory or descriptors, like gw_xmalloc */
	curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, gw_engine_socket_cb);
	curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
	/* keep an idle connection per call that may be in flight, rather than
	 * curl's default of 4 per handle added, which drops and reconnects as
	 * the load moves */
	curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, (long)GW_PROVIDER_SPARE_MAX);
	return g;
}

int
gw_provider_engine_fd(const gw_provider_engine *g)
{
	return g->epfd;
}

int
gw_provider_engine_timeout(const gw_provider_engine *g)
{
	/* curl's timers are asked for afresh (curl_multi_timeout) each time:
	 * CURLMOPT_TIMERFUNCTION reports only changes, so a copy cleared when
	 * it fired could miss a timer curl set again to the same time */
	uint64_t now = gw_clock_mono_ms();
	uint64_t t = UINT64_MAX;
	long ct = -1;
	curl_multi_timeout(g->multi, &ct);
	if (ct >= 0)
		t = (uint64_t)ct;
	if (g->calls != NULL) {
		uint64_t since = now - g->last_sweep_ms;
		uint64_t sweep = since >= GW_PROVIDER_SWEEP_MS ? 0 : GW_PROVIDER_SWEEP_MS - since;
		if (sweep < t)
			t = sweep;
	}
	return t == UINT64_MAX ? -1 : t > INT32_MAX ? INT32_MAX : (int)t;
}

/* Cancels, times out and restarts calls as their flags and clocks say.
 * Runs at least every GW_PROVIDER_SWEEP_MS while any call is open, which
 * bounds how late a cancel, a deadline or a due retry is noticed. */
static void
gw_engine_sweep(gw_provider_engine *g, uint64_t now)
{
	g->last_sweep_ms = now;
	for (gw_xfer *x = g->calls, *n; x; x = n) {
		n = x->next;
		if (x->easy == NULL) { /* waiting to retry */
			if (gw_provider_cancelled(x->cancel)) {
				gw_xfer_unlink(x);
				gw_xfer_deliver(x, gw_provider_fail(&x->out, -ECANCELED, 499, "cancelled",
				    "the request was cancelled while waiting to retry"));
			} else if (now >= x->retry_at_ms) {
				gw_xfer_attempt_begin(x);
			}
			continue;
		}
		uint64_t since = x->stream && x->decided == 1 ? x->last_data_ms : x->attempt_ms;
		/* an attempt begun after now was read (a done callback in this
		 * step started another call) is younger than 0 ms, not 2^64 */
		uint64_t age = now > since ? now - since : 0;
		if (gw_provider_cancelled(x->cancel))
			gw_xfer_attempt_end(x, GW_XFER_CANCELLED);
		else if (age >= x->p->timeout_ms)
			gw_xfer_attempt_end(x, GW_XFER_TIMEOUT);
	}
}

/* Ends every transfer curl has finished (its done callbacks run here). */
static void
gw_engine_reap(gw_provider_engine *g)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(g->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		gw_xfer *x = (gw_xfer *)priv;
		gw_xfer_attempt_end(x, gw_xfer_classify(x, m->data.result));
	}
}

/* Each ready socket is handed to curl and the transfers it finished are
 * ended at once, before the next socket is read: a reply's done (and the
 * answer its caller builds there) does not wait for curl to read the
 * step's other sockets.  step_ns, a finished call's done_ns, is taken just
 * before curl reads the socket (or runs the timers) that finished it: the
 * upstream's time ends when the engine took up its last bytes. */
void
gw_provider_engine_step(gw_provider_engine *g)
{
	struct epoll_event ev[64];
	int running = 0;
	int n = epoll_wait(g->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		int flags = 0;
		if (ev[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		g->step_ns = gw_clock_mono_ns();
		curl_multi_socket_action(g->multi, ev[i].data.fd, flags, &running);
		gw_engine_reap(g);
	}
	/* curl's due timers; a pass can make another due at once (a transfer
	 * just added, data already buffered), so a few passes run here */
	long ct = -1;
	for (int pass = 0; pass < 4 && curl_multi_timeout(g->multi, &ct) == CURLM_OK && ct == 0; pass++) {
		g->step_ns = gw_clock_mono_ns();
		curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		gw_engine_reap(g);
	}
	uint64_t now = gw_clock_mono_ms();
	if (g->calls != NULL && now - g->last_sweep_ms >= GW_PROVIDER_SWEEP_MS) {
		g->step_ns = gw_clock_mono_ns();
		gw_engine_sweep(g, now);
	}
}

/* Starts x's first attempt on g. */
static void
gw_engine_add(gw_provider_engine *g, gw_xfer *x)
{
	x->g = g;
	x->prev = NULL;
	x->next = g->calls;
	if (g->calls)
		g->calls->prev = x;
	g->calls = x;
	gw_xfer_attempt_begin(x);
}

void
gw_provider_engine_free(gw_provider_engine *g)
{
	if (g == NULL)
		return;
	static const atomic_bool yes = true;
	for (gw_xfer *x = g->calls; x; x = x->next)
		x->cancel = &yes;
	gw_engine_sweep(g, gw_clock_mono_ms()); /* ends them all, as cancelled */
	for (size_t i = 0; i < g->nspare; i++)
		curl_easy_cleanup(g->spare[i]);
	curl_multi_cleanup(g->multi);
	close(g->epfd);
	free(g);
}

/* ---- the provider's own transfer thread ---------------------------------------- */

/* Takes the calls other threads handed over; true when asked to stop. */
static bool
gw_provider_take_incoming(gw_provider *p, gw_provider_engine *g)
{
	pthread_mutex_lock(&p->up->lock);
	gw_xfer *in = p->up->incoming;
	p->up->incoming = p->up->incoming_tail = NULL;
	bool stop = p->up->loop_stop;
	pthread_mutex_unlock(&p->up->lock);
	for (gw_xfer *x = in, *n; x; x = n) {
		n = x->next;
		gw_engine_add(g, x);
	}
	return stop;
}

static void *
gw_provider_loop(void *arg)
{
	gw_provider *p = arg;
	pthread_setname_np(pthread_self(), "tau-upstream"); /* for top -H, ps -L */
	gw_provider_engine *g = gw_provider_engine_new(p);
	while (!gw_provider_take_incoming(p, g)) {
		gw_provider_engine_step(g);
		/* sleep until a socket is ready, a wakeup (new work, stop) or curl's
		 * or the sweep's time.  Only a sleeping thread is woken: while it
		 * works, submitters just queue, and the next pass takes their calls. */
		pthread_mutex_lock(&p->up->lock);
		bool idle = p->up->incoming == NULL && !p->up->loop_stop;
		p->up->sleeping = idle;
		pthread_mutex_unlock(&p->up->lock);
		if (!idle)
			continue;
		struct pollfd pf[2] = { { g->epfd, POLLIN, 0 }, { p->up->wake_fd, POLLIN, 0 } };
		int t = gw_provider_engine_timeout(g);
		if (poll(pf, 2, t < 0 ? GW_PROVIDER_IDLE_MS : t) > 0 && (pf[1].revents & POLLIN))
			gw_fs_eventfd_drain(p->up->wake_fd);
		pthread_mutex_lock(&p->up->lock);
		p->up->sleeping = false;
		pthread_mutex_unlock(&p->up->lock);
	}
	gw_provider_engine_free(g); /* ends what is open as cancelled */
	return NULL;
}

/* Hands x to the transfer thread, starting it on first use. */
static void
gw_provider_submit(gw_provider *p, gw_xfer *x)
{
	pthread_mutex_lock(&p->up->lock);
	x->next = NULL;
	if (p->up->incoming_tail)
		p->up->incoming_tail->next = x;
	else
		p->up->incoming = x;
	p->up->incoming_tail = x;
	if (!p->up->loop_started) {
		p->up->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->up->wake_fd < 0)
			abort(); /* out of descriptors: like an allocation failure */
		/* the thread must not take the process's signals */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (pthread_create(&p->up->loop, NULL, gw_provider_loop, p) != 0)
			abort(); /* no thread, no upstream: like an allocation failure */
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		p->up->loop_started = true;
	}
	/* a wakeup written after sleeping was set ends the poll at once, even
	 * if the thread has not reached it yet; one wakeup per sleep is enough */
	bool wake = p->up->sleeping;
	p->up->sleeping = false;
	pthread_mutex_unlock(&p->up->lock);
	if (wake)
		gw_provider_wake(p);
}

/* ---- calls handed over ------------------------------------------------------ */

/* A new upstream call for call. */
static gw_xfer *
gw_provider_call_new(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_done_fn done, void *done_ctx)
{
	gw_xfer *x = gw_xcalloc(1, sizeof(*x));
	x->p = p;
	p->up->wire->request(call, p->up->upstream_model, &x->req);
	x->stream = call->stream;
	x->sink = *sink;
	x->cancel = cancel;
	x->done = done;
	x->done_ctx = done_ctx;
	x->started_ms = gw_clock_mono_ms();
	return x;
}

void
gw_provider_upstream_start(gw_provider *p, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx)
{
	gw_provider_submit(p, gw_provider_call_new(p, call, sink, cancel, done, done_ctx));
}

void
gw_provider_upstream_start_on(gw_provider_engine *g, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx)
{
	gw_engine_add(g, gw_provider_call_new(g->p, call, sink, cancel, done, done_ctx));
}

void
gw_provider_upstream_start_via(gw_provider_engine *g, gw_provider *p,
    const gw_provider_call *call, const gw_provider_sink *sink, const atomic_bool *cancel,
    gw_provider_done_fn done, void *done_ctx)
{
	gw_engine_add(g, gw_provider_call_new(p, call, sink, cancel, done, done_ctx));
}

gw_provider *
gw_provider_engine_owner(const gw_provider_engine *g)
{
	return g->p;
}
