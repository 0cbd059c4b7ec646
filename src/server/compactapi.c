/*
 * compactapi.c - POST /v1/responses/compact (compactapi.h).
 *
 * The route parses the body (gw_compact_request_parse) and hands it to
 * api.c's job machinery (srv_api_post_request) with this wire.  The job
 * builds the window (the chain, then the input) and calls prepare, which
 * splits it (gw_compact_split_window): nothing folded, or an offline model,
 * needs no provider call (the fold is built here, deterministically);
 * otherwise the provider is asked for the summary (gw_compact_summary_call)
 * and its reply becomes the summary item.  It never stores, never opens a
 * session and never streams.
 */
#include "server/compactapi.h"

#include "core/base/mem.h"
#include "core/openresponses/compact.h"
#include "server/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct srv_compact {
	char id[48];
	char model[128];           /* the served model (from begin) */
	uint64_t created;
	cJSON *ignored;            /* the request's ignored fields */
	gw_compact_split split;    /* from prepare */
	bool offline;              /* no model call: the summary is the fold */
	uint64_t window_words;     /* the offline usage: words in */
	gw_buf reply;              /* the model's text as the sink got it */
	gw_buf summary;            /* the summary text (after the prefix) */
	gw_resp_builder *b;        /* the job's builder, borrowed (from sink) */
} srv_compact;

static void
srv_compact_begin(void *w, const char *model, srv_api_push_fn push, void *pctx)
{
	(void)push;
	(void)pctx;
	srv_compact *k = w;
	snprintf(k->model, sizeof(k->model), "%s", model);
}

static void
srv_compact_text(void *ctx, const char *s, size_t n)
{
	srv_compact *k = ctx;
	gw_resp_builder_text(k->b, s, n);
	gw_buf_append(&k->reply, s, n);
}

static void
srv_compact_tool_begin(void *ctx, size_t index, const char *call_id, const char *name)
{
	srv_compact *k = ctx;
	gw_resp_builder_tool_begin(k->b, index, call_id, name);
}

static void
srv_compact_tool_args(void *ctx, size_t index, const char *s, size_t n)
{
	srv_compact *k = ctx;
	gw_resp_builder_tool_args(k->b, index, s, n);
}

static gw_provider_sink
srv_compact_sink(void *w, gw_resp_builder *b)
{
	srv_compact *k = w;
	k->b = b;
	return (gw_provider_sink){ k, srv_compact_text, srv_compact_tool_begin,
		srv_compact_tool_args };
}

/* The window is complete: split it; fold offline, or hand the provider the
 * summary request (its instructions were put in the request by
 * srv_compact_post). */
static bool
srv_compact_prepare(void *w, cJSON **context, bool offline)
{
	srv_compact *k = w;
	gw_compact_split_window(*context, GW_COMPACT_KEEP_TURNS, &k->split);
	k->window_words = gw_resp_items_words(*context);
	cJSON_Delete(*context);
	if (cJSON_GetArraySize(k->split.folded) == 0 || offline) {
		k->offline = true;
		gw_compact_fold(k->split.folded, &k->summary);
		*context = cJSON_CreateArray();
		return false;
	}
	*context = gw_compact_summary_items(k->split.folded);
	return true;
}

static bool
srv_compact_check(void *w, const gw_resp_builder *b, gw_resp_error *e)
{
	srv_compact *k = w;
	(void)b;
	gw_buf_reset(&k->summary);
	if (gw_compact_reply_text(gw_buf_cstr(&k->reply), k->reply.len, &k->summary))
		return true;
	gw_resp_error_set(e, 502, "upstream_error", NULL,
	    "the model's reply to the compaction request held no summary text");
	return false;
}

static void
srv_compact_json(void *w, const gw_resp_builder *b, const gw_provider_outcome *o, gw_buf *out)
{
	(void)b;
	srv_compact *k = w;
	cJSON *output = gw_compact_output(&k->split, gw_buf_cstr(&k->summary));
	gw_resp_usage u = o->usage;
	if (k->offline) {
		/* as local/echo counts: words in the window, words of the summary */
		bool folded = cJSON_GetArraySize(k->split.folded) > 0;
		u.input_tokens = k->window_words;
		u.output_tokens = folded ? gw_resp_count_words(GW_COMPACT_SUMMARY_PREFIX) +
		    gw_resp_count_words(gw_buf_cstr(&k->summary)) : 0;
		u.total_tokens = u.input_tokens + u.output_tokens;
	}
	gw_compact_json(k->id, k->model, k->created, output, &u, k->ignored, out);
	cJSON_Delete(output);
}

static void
srv_compact_end(void *w, const gw_provider_outcome *o, const gw_resp_error *e)
{
	(void)w; /* never a stream */
	(void)o;
	(void)e;
}

static void
srv_compact_free(void *w)
{
	srv_compact *k = w;
	gw_compact_split_free(&k->split);
	cJSON_Delete(k->ignored);
	gw_buf_free(&k->reply);
	gw_buf_free(&k->summary);
	free(k);
}

static const srv_api_wire srv_compact_wire = {
	.begin = srv_compact_begin,
	.sink = srv_compact_sink,
	.json = srv_compact_json,
	.end = srv_compact_end,
	.free = srv_compact_free,
	.prepare = srv_compact_prepare,
	.check = srv_compact_check,
};

enum MHD_Result
srv_compact_post(struct MHD_Connection *c, srv_req *r)
{
	srv_server *s = r->srv;
	gw_resp_request rq;
	gw_resp_error e;
	if (gw_compact_request_parse(gw_buf_cstr(&r->body), r->body.len, s->cfg.max_input_chars, &rq,
	    &e) != 0) {
		gw_resp_request_free(&rq);
		return srv_reply_error(c, r, &e);
	}
	srv_compact *k = gw_xcalloc(1, sizeof(*k));
	gw_buf id = GW_BUF_INIT;
	gw_compact_new_id(&id);
	snprintf(k->id, sizeof(k->id), "%s", gw_buf_cstr(&id));
	snprintf(r->resp_id, sizeof(r->resp_id), "%s", gw_buf_cstr(&id));
	gw_buf_free(&id);
	k->created = (uint64_t)time(NULL);
	/* the model, if asked, sees the summary request's instructions (the
	 * request's own are part of them), never the conversation's alone */
	char *instructions = gw_compact_summary_instructions(rq.instructions);
	free(rq.instructions);
	rq.instructions = instructions;
	/* the answer's ignored_fields: the request's, less "model" when a
	 * routes file makes it choose the route (srv_api_route heeds it in
	 * the job's request, or refuses the request) */
	k->ignored = cJSON_Duplicate(rq.ignored, 1);
	int i = 0;
	for (const cJSON *f = k->ignored->child; s->router != NULL && f; f = f->next, i++)
		if (cJSON_IsString(f) && strcmp(f->valuestring, "model") == 0) {
			cJSON_DeleteItemFromArray(k->ignored, i);
			break;
		}
	return srv_api_post_request(c, r, &rq, &srv_compact_wire, k);
}
