/*
 * chatapi.c - POST /v1/chat/completions and GET /v1/models (chatapi.h).
 *
 * The route parses the body (gw_chatin_parse), makes the per-request wire
 * state (the completion id, the stream's chunk writer) and hands the
 * request to api.c's job machinery (srv_api_post_request).  The job calls
 * back here: the sink feeds the response builder (whose output items make
 * the JSON answer) and, on a stream, the chunk writer; the end writes the
 * finish chunk, the usage chunk when asked for, and data: [DONE].
 */
#include "server/chatapi.h"

#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/openresponses/chatin.h"
#include "server/api.h"
#include "server/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct srv_chat {
	char id[48];
	char model[128];           /* the served model (from begin) */
	uint64_t created;
	bool stream, include_usage;
	gw_chatin_stream *out;     /* the stream's chunk writer (from begin) */
	gw_resp_builder *b;        /* the job's builder, borrowed (from sink) */
} srv_chat;

static void
srv_chat_begin(void *w, const char *model, srv_api_push_fn push, void *pctx)
{
	srv_chat *ch = w;
	snprintf(ch->model, sizeof(ch->model), "%s", model);
	if (!ch->stream)
		return;
	ch->out = gw_chatin_stream_new(ch->id, model, ch->created, ch->include_usage, push, pctx);
	gw_chatin_stream_begin(ch->out);
}

static void
srv_chat_text(void *ctx, const char *s, size_t n)
{
	srv_chat *ch = ctx;
	gw_resp_builder_text(ch->b, s, n);
	if (ch->out != NULL)
		gw_chatin_stream_text(ch->out, s, n);
}

static void
srv_chat_tool_begin(void *ctx, size_t index, const char *call_id, const char *name)
{
	srv_chat *ch = ctx;
	gw_resp_builder_tool_begin(ch->b, index, call_id, name);
	if (ch->out == NULL)
		return;
	/* the builder's call id, so a call without an upstream id has one */
	const cJSON *output = gw_resp_builder_output(ch->b);
	const cJSON *last = output != NULL && output->child != NULL ? output->child->prev : NULL;
	const char *id = last != NULL ? gw_json_str(last, "call_id") : NULL;
	gw_chatin_stream_tool_begin(ch->out, index, id != NULL ? id : call_id, name);
}

static void
srv_chat_tool_args(void *ctx, size_t index, const char *s, size_t n)
{
	srv_chat *ch = ctx;
	gw_resp_builder_tool_args(ch->b, index, s, n);
	if (ch->out != NULL)
		gw_chatin_stream_tool_args(ch->out, index, s, n);
}

static gw_provider_sink
srv_chat_sink(void *w, gw_resp_builder *b)
{
	srv_chat *ch = w;
	ch->b = b;
	return (gw_provider_sink){ ch, srv_chat_text, srv_chat_tool_begin, srv_chat_tool_args };
}

static void
srv_chat_json(void *w, const gw_resp_builder *b, const gw_provider_outcome *o, gw_buf *out)
{
	srv_chat *ch = w;
	gw_chatin_json(ch->id, ch->model, ch->created, gw_resp_builder_output(b), o->finish,
	    &o->usage, out);
}

static void
srv_chat_end(void *w, const gw_provider_outcome *o, const gw_resp_error *e)
{
	srv_chat *ch = w;
	if (ch->out == NULL)
		return;
	if (e != NULL)
		gw_chatin_stream_fail(ch->out, e);
	else
		gw_chatin_stream_finish(ch->out, o->finish, &o->usage);
}

static void
srv_chat_free(void *w)
{
	srv_chat *ch = w;
	gw_chatin_stream_free(ch->out);
	free(ch);
}

static const srv_api_wire srv_chat_wire = {
	srv_chat_begin, srv_chat_sink, srv_chat_json, srv_chat_end, srv_chat_free, NULL, NULL,
};

enum MHD_Result
srv_chat_post(struct MHD_Connection *c, srv_req *r)
{
	srv_server *s = r->srv;
	gw_resp_request rq;
	gw_resp_error e;
	bool include_usage;
	char *model = NULL;
	if (gw_chatin_parse(gw_buf_cstr(&r->body), r->body.len, s->cfg.max_input_chars, &rq,
	    &include_usage, &model, &e) != 0) {
		gw_resp_request_free(&rq);
		free(model);
		return srv_reply_error(c, r, &e);
	}
	/* the request's model went into rq as /v1/responses' model does
	 * (gw_chatin_parse), so api.c picks the provider for a chat completion
	 * as for a response: the route the model names (--gateway-routes; 400
	 * model_not_found when none does), else --model */
	free(model);
	srv_chat *ch = gw_xcalloc(1, sizeof(*ch));
	gw_buf id = GW_BUF_INIT;
	gw_chatin_new_id(&id);
	snprintf(ch->id, sizeof(ch->id), "%s", gw_buf_cstr(&id));
	snprintf(r->resp_id, sizeof(r->resp_id), "%s", gw_buf_cstr(&id));
	gw_buf_free(&id);
	ch->created = (uint64_t)time(NULL);
	ch->stream = rq.stream;
	ch->include_usage = include_usage;
	return srv_api_post_request(c, r, &rq, &srv_chat_wire, ch);
}

/* One model object of /v1/models; created: when this gateway began
 * serving it. */
static void
srv_chat_model_json(gw_jw *w, const char *id, uint64_t created, const char *owner)
{
	gw_jw_obj_begin(w);
	gw_jw_kstr(w, "id", id);
	gw_jw_kstr(w, "object", "model");
	gw_jw_ku64(w, "created", created);
	gw_jw_kstr(w, "owned_by", owner);
	gw_jw_obj_end(w);
}

void
srv_chat_models_json(srv_server *s, gw_buf *out)
{
	gw_jw w;
	gw_jw_init(&w, out, false);
	gw_jw_obj_begin(&w);
	gw_jw_kstr(&w, "object", "list");
	gw_jw_key(&w, "data");
	gw_jw_arr_begin(&w);
	if (s->router != NULL) {
		/* the routes' public names, in file order (aliases are other
		 * names of the same models, not models of their own) */
		srv_rtable *t = srv_router_acquire(s->router);
		for (size_t i = 0; i < t->nroutes; i++)
			srv_chat_model_json(&w, srv_rtable_name(t, (long)i), s->started_unix,
			    "tau-gateway");
		srv_router_release(s->router, t);
	} else {
		const char *model = gw_provider_model(s->provider);
		const char *slash = strchr(model, '/');
		char owner[32];
		snprintf(owner, sizeof(owner), "%.*s", slash ? (int)(slash - model) : 0, model);
		srv_chat_model_json(&w, model, s->started_unix, owner[0] ? owner : "tau-gateway");
	}
	gw_jw_arr_end(&w);
	gw_jw_obj_end(&w);
}

enum MHD_Result
srv_chat_models(struct MHD_Connection *c, srv_req *r)
{
	gw_buf b = GW_BUF_INIT;
	srv_chat_models_json(r->srv, &b);
	enum MHD_Result ret = srv_reply(c, r, 200, "application/json", b.data, b.len);
	gw_buf_free(&b);
	return ret;
}
