/*
 * fuzz_sse - a chat-completions SSE reply as the openai provider reads it:
 * bytes fed to gw_chat_sse_feed in the chunk sizes the first bytes of the
 * input pick (a cursor cycling through them, 1..63 bytes each, 0 meaning
 * 256), each event applied with gw_chat_apply_chunk to a sink that builds
 * a streaming response.  The same bytes fed in one piece must give the
 * same events: reassembly across reads never changes what is read.  The
 * whole input is also tried as a non-stream JSON reply.  The same events
 * and the same reply go through the Anthropic and Gemini readers too
 * (provider_anthropic.c, provider_gemini.c), each into its own builder,
 * whose response must render as JSON.
 *
 * Input: <n: 1 byte><n chunk-size bytes><the stream>.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/openresponses/chat.h"
#include "core/openresponses/provider_anthropic.h"
#include "core/openresponses/provider_gemini.h"
#include "core/openresponses/responses.h"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	gw_buf log;              /* every event's data, length-prefixed */
	const gw_provider_sink *sink;
	gw_chat_state st;
} fuzz_sse_ctx;

static int
fuzz_event(void *vctx, const char *d, size_t n)
{
	fuzz_sse_ctx *c = vctx;
	if (strlen(d) > n)
		abort(); /* the data is NUL-terminated at n */
	gw_buf_append(&c->log, &n, sizeof(n));
	gw_buf_append(&c->log, d, n);
	if (c->sink == NULL || c->st.done)
		return 0;
	return gw_chat_apply_chunk(d, n, c->sink, &c->st) == 0 ? 0 : 1;
}

static const gw_resp_request *
fuzz_req(void)
{
	static gw_resp_request req;
	static int ready;
	if (!ready) {
		static const char body[] = "{\"input\":\"hi\",\"stream\":true,\"tools\":[{\"type\":"
		    "\"function\",\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}]}";
		gw_resp_error e;
		if (gw_resp_request_parse(body, sizeof(body) - 1, 1000000, &req, &e) != 0)
			abort();
		ready = 1;
	}
	return &req;
}

typedef int (*fuzz_apply_fn)(const char *, size_t, const gw_provider_sink *, gw_chat_state *);

/* Ends b as the gateway would after a reply left st (and rc), renders it,
 * checks the JSON parses, frees b. */
static void
fuzz_end(gw_resp_builder *b, const gw_chat_state *st, int rc)
{
	if (st->error[0] != '\0' || rc != 0)
		gw_resp_builder_fail(b, "upstream_error", st->error[0] ? st->error : "bad stream");
	else
		gw_resp_builder_finish(b, &st->usage, strcmp(st->finish, "length") == 0 ? "max_output_tokens" : NULL);
	gw_resp_builder_end(b);
	gw_buf json = GW_BUF_INIT;
	gw_resp_builder_json(b, &json);
	cJSON *back = cJSON_ParseWithLength(json.data, json.len);
	if (back == NULL)
		abort();
	cJSON_Delete(back);
	gw_buf_free(&json);
	gw_resp_builder_free(b);
}

/* The events in log (length-prefixed, as fuzz_event wrote them) through
 * another wire's event reader, then the whole input through its reply
 * reader. */
static void
fuzz_other_wire(fuzz_apply_fn event, fuzz_apply_fn reply, const gw_buf *log, const char *p,
    size_t n)
{
	size_t total = 0;
	gw_resp_builder *b = gw_resp_builder_new(fuzz_req(), "other/fuzz", 1700000000, fuzz_frame,
	    &total);
	gw_resp_builder_begin(b);
	gw_provider_sink sink = { b, fuzz_sink_text, fuzz_sink_tool_begin, fuzz_sink_tool_args };
	gw_chat_state st;
	memset(&st, 0, sizeof(st));
	int rc = 0;
	for (size_t off = 0, len; rc == 0 && !st.done && off + sizeof(len) <= log->len; off += len) {
		memcpy(&len, log->data + off, sizeof(len));
		off += sizeof(len);
		rc = event(log->data + off, len, &sink, &st);
	}
	fuzz_end(b, &st, rc);
	b = gw_resp_builder_new(fuzz_req(), "other/fuzz", 1700000000, fuzz_frame, &total);
	gw_resp_builder_begin(b);
	sink.ctx = b;
	memset(&st, 0, sizeof(st));
	rc = reply(p, n, &sink, &st);
	fuzz_end(b, &st, rc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t nsizes = data[0] % 16;
	if (1 + nsizes > size)
		return 0;
	const uint8_t *sizes = data + 1;
	const char *p = (const char *)data + 1 + nsizes;
	size_t n = size - 1 - nsizes;

	size_t total = 0;
	gw_resp_builder *b = gw_resp_builder_new(fuzz_req(), "openai/fuzz", 1700000000, fuzz_frame,
	    &total);
	gw_resp_builder_begin(b);
	gw_provider_sink sink = { b, fuzz_sink_text, fuzz_sink_tool_begin, fuzz_sink_tool_args };

	/* in chunks, applied */
	fuzz_sse_ctx a = { GW_BUF_INIT, &sink, { 0 } };
	gw_chat_sse sa;
	memset(&sa, 0, sizeof(sa));
	int rca = 0;
	for (size_t off = 0, k = 0; off < n && rca == 0; k++) {
		size_t want = nsizes > 0 ? (sizes[k % nsizes] % 64) : 256;
		if (want == 0)
			want = 256;
		if (want > n - off)
			want = n - off;
		rca = gw_chat_sse_feed(&sa, p + off, want, fuzz_event, &a);
		off += want;
	}
	if (rca == 0)
		rca = gw_chat_sse_end(&sa, fuzz_event, &a);
	gw_chat_sse_free(&sa);

	/* in one piece, events only */
	fuzz_sse_ctx w = { GW_BUF_INIT, NULL, { 0 } };
	gw_chat_sse sw;
	memset(&sw, 0, sizeof(sw));
	int rcw = gw_chat_sse_feed(&sw, p, n, fuzz_event, &w);
	if (rcw == 0)
		rcw = gw_chat_sse_end(&sw, fuzz_event, &w);
	gw_chat_sse_free(&sw);
	/* the chunked run may stop early (an apply error); up to there the
	 * events agree, and with no stop they are the same */
	if (rca == 0 && rcw == 0 &&
	    (a.log.len != w.log.len || (a.log.len > 0 && memcmp(a.log.data, w.log.data, a.log.len) != 0)))
		abort();
	if (a.log.len > w.log.len || (a.log.len > 0 && memcmp(a.log.data, w.log.data, a.log.len) != 0))
		abort();

	fuzz_end(b, &a.st, rca);
	fuzz_other_wire(gw_anthropic_apply_event, gw_anthropic_apply_reply, &w.log, p, n);
	fuzz_other_wire(gw_gemini_apply_event, gw_gemini_apply_reply, &w.log, p, n);
	gw_buf_free(&a.log);
	gw_buf_free(&w.log);

	/* the same bytes as a non-stream reply */
	gw_resp_builder *b2 = gw_resp_builder_new(fuzz_req(), "openai/fuzz", 1700000000, NULL, NULL);
	gw_provider_sink sink2 = { b2, fuzz_sink_text, fuzz_sink_tool_begin, fuzz_sink_tool_args };
	gw_chat_state st2;
	memset(&st2, 0, sizeof(st2));
	(void)gw_chat_apply_reply(p, n, &sink2, &st2);
	gw_resp_builder_free(b2);
	return 0;
}
