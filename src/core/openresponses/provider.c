/*
 * provider.c - the provider interface and the offline "local/echo" model.
 *
 * gw_provider_new picks the model's kind from its prefix: "local/echo"
 * runs here, on the caller's thread, never touching the network;
 * "openai/<model>", "anthropic/<model>" and "google/<model>" get an
 * upstream (provider_curl.c) speaking the wire of provider_openai.c,
 * provider_anthropic.c or provider_gemini.c.  Every call, whatever the kind, ends in exactly
 * one done callback.  See provider_int.h for how the files divide.
 */
#include "core/openresponses/provider.h"
#include "core/openresponses/provider_int.h"
#include "core/base/json.h"
#include "core/base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The upstream wires by model prefix; a new provider is one more row. */
static const gw_provider_wire *const gw_provider_wires[] = {
	&gw_provider_wire_openai, &gw_provider_wire_anthropic, &gw_provider_wire_gemini,
};

int
gw_provider_new(const gw_provider_config *cfg, gw_provider **out, gw_err *err)
{
	*out = NULL;
	const char *m = cfg->model ? cfg->model : "local/echo";
	const gw_provider_wire *wire = NULL;
	if (strcmp(m, "local/echo") != 0) {
		for (size_t i = 0; i < sizeof(gw_provider_wires) / sizeof(gw_provider_wires[0]); i++) {
			size_t n = strlen(gw_provider_wires[i]->name);
			if (strncmp(m, gw_provider_wires[i]->name, n) == 0 && m[n] == '/' && m[n + 1] != '\0')
				wire = gw_provider_wires[i];
		}
		if (wire == NULL)
			return gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
			    "unsupported model '%s' (expected local/echo, openai/<model>, "
			    "anthropic/<model> or google/<model>)", m);
	}
	gw_provider *p = gw_xcalloc(1, sizeof(*p));
	p->model = gw_xstrdup(m);
	p->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : GW_PROVIDER_DEFAULT_TIMEOUT_MS;
	p->max_retries = cfg->max_retries;
	p->attempt = cfg->attempt;
	p->log = cfg->log;
	p->ctx = cfg->ctx;
	if (wire != NULL)
		gw_provider_upstream_new(p, wire, strchr(m, '/') + 1, cfg);
	*out = p;
	return 0;
}

void
gw_provider_free(gw_provider *p)
{
	if (p == NULL)
		return;
	if (p->up != NULL)
		gw_provider_upstream_free(p);
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
	return p->up == NULL;
}

void
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

int
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

bool
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

/* ---- the interface ------------------------------------------------------------ */

/* Runs call on the offline model and reports it through done. */
static void
gw_provider_echo_call(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_done_fn done, void *done_ctx)
{
	gw_provider_outcome o;
	memset(&o, 0, sizeof(o));
	int rc = gw_provider_echo(p, call, sink, cancel, &o);
	done(done_ctx, rc, &o);
}

void
gw_provider_start(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_done_fn done, void *done_ctx)
{
	if (p->up == NULL)
		gw_provider_echo_call(p, call, sink, cancel, done, done_ctx);
	else
		gw_provider_upstream_start(p, call, sink, cancel, done, done_ctx);
}

void
gw_provider_start_on(gw_provider_engine *g, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx)
{
	gw_provider *p = gw_provider_engine_owner(g);
	if (p->up == NULL)
		gw_provider_echo_call(p, call, sink, cancel, done, done_ctx);
	else
		gw_provider_upstream_start_on(g, call, sink, cancel, done, done_ctx);
}

void
gw_provider_start_via(gw_provider_engine *g, gw_provider *p, const gw_provider_call *call,
    const gw_provider_sink *sink, const atomic_bool *cancel, gw_provider_done_fn done,
    void *done_ctx)
{
	if (p->up == NULL)
		gw_provider_echo_call(p, call, sink, cancel, done, done_ctx);
	else
		gw_provider_upstream_start_via(g, p, call, sink, cancel, done, done_ctx);
}

typedef struct gw_provider_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int rc;
	gw_provider_outcome *out;
} gw_provider_wait;

static void
gw_provider_wait_done(void *ctx, int rc, const gw_provider_outcome *o)
{
	gw_provider_wait *w = ctx;
	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	*w->out = *o;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int
gw_provider_run(gw_provider *p, const gw_provider_call *call, const gw_provider_sink *sink,
    const atomic_bool *cancel, gw_provider_outcome *out)
{
	memset(out, 0, sizeof(*out));
	gw_provider_wait w = { .done = false, .out = out };
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	gw_provider_start(p, call, sink, cancel, gw_provider_wait_done, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return w.rc;
}
