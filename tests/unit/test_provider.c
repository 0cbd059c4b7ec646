/*
 * test_provider.c - the offline provider (deterministic reply quoting the
 * last user text and the instructions, several deltas, word-count usage,
 * max_output_tokens, forced tool calls, cancellation) and the
 * OpenAI-compatible provider's failure mapping when nothing listens, and
 * its asynchronous interface: a cancel while a retry is pending, and
 * gw_provider_free ending the calls still open.  The Anthropic and Gemini
 * wires: their request builders (system text, role merging, images as
 * base64 and URL, tool calls and results, tools, tool_choice, the
 * max_tokens default) and their reply readers (streamed events and whole
 * replies: text, tool calls and their arguments, usage, stop reasons,
 * errors), and over loopback against a one-reply server: the Anthropic
 * path and headers, a failure keeping the upstream's request id (in the
 * outcome and the log line), and Gemini's streaming path with the model
 * escaped in it.  One engine running two providers' calls, the second
 * started by the first's done callback inside the engine's step (a routed
 * fallback on a server event loop): it reaches its own upstream on the
 * first's spare handle, and the step's sweep does not take it for timed
 * out.
 */
#include "unit.h"

#include "core/openresponses/provider.h"
#include "core/openresponses/provider_anthropic.h"
#include "core/openresponses/provider_gemini.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct rec {
	gw_buf text, args;
	int deltas;
	char name[32];
} rec;

static void r_text(void *c, const char *s, size_t n) { rec *r = c; r->deltas++; gw_buf_append(&r->text, s, n); }
static void r_begin(void *c, size_t i, const char *id, const char *name) { (void)i; (void)id; snprintf(((rec *)c)->name, 32, "%s", name ? name : ""); }
static void r_args(void *c, size_t i, const char *s, size_t n) { (void)i; gw_buf_append(&((rec *)c)->args, s, n); }

static gw_provider *
echo(void)
{
	gw_provider_config cfg = { .model = "local/echo" };
	gw_provider *p;
	gw_err err;
	assert_int_equal(gw_provider_new(&cfg, &p, &err), 0);
	assert_string_equal(gw_provider_model(p), "local/echo");
	return p;
}

static void
test_echo_reply(void **state)
{
	(void)state;
	gw_provider *p = echo();
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"first\"}]},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"say hi\"}]}]");
	gw_provider_call call = { .instructions = "Be brief", .items = items };
	rec r = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	gw_provider_sink sink = { &r, r_text, r_begin, r_args };
	gw_provider_outcome o;
	assert_int_equal(gw_provider_run(p, &call, &sink, NULL, &o), 0);
	assert_string_equal(r.text.data, "local/echo heard: \"say hi\". Instructions: Be brief. Context: 2 items.");
	assert_true(r.deltas >= 3);
	assert_int_equal(o.usage.input_tokens, 5);
	assert_int_equal(o.usage.output_tokens, 10);
	assert_int_equal(o.usage.total_tokens, 15);
	assert_string_equal(o.finish, "stop");
	/* deterministic */
	rec r2 = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	sink.ctx = &r2;
	gw_provider_run(p, &call, &sink, NULL, &o);
	assert_string_equal(r.text.data, r2.text.data);
	/* max_output_tokens cuts the reply at a word boundary */
	rec r3 = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	sink.ctx = &r3;
	call.has_max_output_tokens = true;
	call.max_output_tokens = 2;
	gw_provider_run(p, &call, &sink, NULL, &o);
	assert_string_equal(r3.text.data, "local/echo heard:");
	assert_string_equal(o.finish, "length");
	gw_buf_free(&r.text);
	gw_buf_free(&r2.text);
	gw_buf_free(&r3.text);
	cJSON_Delete(items);
	gw_provider_free(p);
}

static void
test_echo_tool_and_cancel(void **state)
{
	(void)state;
	gw_provider *p = echo();
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"q\"}]}]");
	cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"name\":\"lookup\"}]");
	cJSON *tc = cJSON_CreateString("required");
	gw_provider_call call = { .items = items, .tools = tools, .tool_choice = tc };
	rec r = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	gw_provider_sink sink = { &r, r_text, r_begin, r_args };
	gw_provider_outcome o;
	assert_int_equal(gw_provider_run(p, &call, &sink, NULL, &o), 0);
	assert_string_equal(r.name, "lookup");
	assert_string_equal(r.args.data, "{\"input\":\"q\"}");
	assert_string_equal(o.finish, "tool_calls");
	atomic_bool cancel = true;
	call.tools = NULL;
	call.tool_choice = NULL;
	assert_int_equal(gw_provider_run(p, &call, &sink, &cancel, &o), -ECANCELED);
	assert_int_equal(o.http_status, 499);
	gw_buf_free(&r.text);
	gw_buf_free(&r.args);
	cJSON_Delete(tc);
	cJSON_Delete(tools);
	cJSON_Delete(items);
	gw_provider_free(p);
}

/* An "openai/<model>" provider whose upstream refuses every connection. */
static gw_provider *
unreachable(uint64_t timeout_ms, uint64_t max_retries)
{
	gw_provider_config cfg = { .model = "openai/m", .base_url = "http://127.0.0.1:1/v1/",
		.timeout_ms = timeout_ms, .max_retries = max_retries };
	gw_provider *p;
	gw_err err;
	assert_int_equal(gw_provider_new(&cfg, &p, &err), 0);
	return p;
}

static void
test_openai_unreachable(void **state)
{
	(void)state;
	gw_provider *p = unreachable(2000, 1);
	cJSON *items = cJSON_Parse("[]");
	gw_provider_call call = { .items = items };
	rec r = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	gw_provider_sink sink = { &r, r_text, r_begin, r_args };
	gw_provider_outcome o;
	assert_int_equal(gw_provider_run(p, &call, &sink, NULL, &o), -EIO);
	assert_int_equal(o.http_status, 502);
	assert_string_equal(o.code, "upstream_error");
	assert_int_equal(o.attempts, 2); /* a connect error is retried */
	/* the message names curl's reason after the fixed prefix */
	const char *pre = "upstream connection failed: ";
	assert_memory_equal(o.message, pre, strlen(pre));
	assert_true(strlen(o.message) > strlen(pre));
	assert_false(o.emitted);
	cJSON_Delete(items);
	gw_provider_free(p);
	gw_provider_config other = { .model = "mistral/x" };
	gw_err err;
	assert_int_equal(gw_provider_new(&other, &p, &err), -EINVAL);
}

/* done callbacks, counted under a lock so the test can wait for them */
typedef struct done_log {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n, cancelled;
	unsigned status[4];
} done_log;

static done_log dl = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, { 0 } };

static void
on_done(void *ctx, int rc, const gw_provider_outcome *o)
{
	size_t i = (size_t)(uintptr_t)ctx;
	pthread_mutex_lock(&dl.lock);
	dl.n++;
	dl.cancelled += rc == -ECANCELED;
	dl.status[i] = o->http_status;
	pthread_cond_broadcast(&dl.cond);
	pthread_mutex_unlock(&dl.lock);
}

static void
test_openai_async_cancel_and_free(void **state)
{
	(void)state;
	/* every attempt fails at once and is retried after a backoff of at
	 * least 100 ms, so the calls stay open for seconds */
	gw_provider *p = unreachable(60000, 5);
	cJSON *items = cJSON_Parse("[]");
	gw_provider_call call = { .items = items };
	rec r = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	gw_provider_sink sink = { &r, r_text, r_begin, r_args };
	atomic_bool cancel[4] = { false, false, false, false };
	for (uintptr_t i = 0; i < 4; i++)
		gw_provider_start(p, &call, &sink, &cancel[i], on_done, (void *)i);
	cJSON_Delete(items); /* the call is borrowed only by gw_provider_start */
	/* one call cancelled: it ends (499) while the other three go on */
	atomic_store(&cancel[0], true);
	pthread_mutex_lock(&dl.lock);
	while (dl.n < 1)
		pthread_cond_wait(&dl.cond, &dl.lock);
	assert_int_equal(dl.n, 1);
	assert_int_equal(dl.status[0], 499);
	pthread_mutex_unlock(&dl.lock);
	/* freeing the provider ends the three still open, as cancelled, first */
	gw_provider_free(p);
	assert_int_equal(dl.n, 4);
	assert_int_equal(dl.cancelled, 4);
	for (int i = 1; i < 4; i++)
		assert_int_equal(dl.status[i], 499);
}

/* ---- the Anthropic and Gemini wires ------------------------------------------ */

/* One conversation with every kind of item the wires translate. */
static const char conv_json[] =
    "[{\"type\":\"message\",\"role\":\"system\",\"content\":[{\"type\":\"input_text\",\"text\":\"sys\"}]},"
    "{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":\"input_text\",\"text\":\"dev\"}]},"
    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"see\"},"
    "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,AAAA\"},"
    "{\"type\":\"input_image\",\"image_url\":\"https://x.test/cat.jpg\"}]},"
    "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"ok\"}]},"
    "{\"type\":\"function_call\",\"call_id\":\"call_9\",\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"},"
    "{\"type\":\"function_call_output\",\"call_id\":\"call_9\",\"output\":\"42\"},"
    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hello\"}]}]";

static cJSON *
body_of(void (*build)(const gw_provider_call *, const char *, gw_buf *), const gw_provider_call *call)
{
	gw_buf b = GW_BUF_INIT;
	build(call, "m-1", &b);
	cJSON *j = cJSON_Parse(b.data);
	assert_non_null(j);
	gw_buf_free(&b);
	return j;
}

static char *
at(const cJSON *root, const char *path)
{
	/* a tiny path: keys and [n] separated by '.' */
	const cJSON *v = root;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = (k[0] >= '0' && k[0] <= '9') ? cJSON_GetArrayItem(v, atoi(k)) :
		    cJSON_GetObjectItemCaseSensitive(v, k);
	return v ? cJSON_PrintUnformatted(v) : strdup("<none>");
}

#define assert_at(root, path, want) do { \
	char *got_ = at(root, path); \
	assert_string_equal(got_, want); \
	free(got_); \
} while (0)

static void
test_anthropic_request(void **state)
{
	(void)state;
	cJSON *items = cJSON_Parse(conv_json);
	cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"name\":\"f\",\"description\":\"d\","
	    "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}},"
	    "{\"type\":\"function\",\"name\":\"g\"}]");
	cJSON *tc = cJSON_CreateString("required");
	gw_provider_call call = { .instructions = "Be brief", .items = items, .tools = tools,
		.tool_choice = tc, .parallel_tool_calls = false, .has_temperature = true,
		.temperature = 0.5, .stream = true };
	cJSON *j = body_of(gw_anthropic_request_body, &call);
	assert_at(j, "model", "\"m-1\"");
	assert_at(j, "max_tokens", "4096"); /* the documented default */
	assert_at(j, "system", "\"Be brief\\n\\nsys\\n\\ndev\"");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 3);
	assert_at(j, "messages.0.role", "\"user\"");
	assert_at(j, "messages.0.content.0", "{\"type\":\"text\",\"text\":\"see\"}");
	assert_at(j, "messages.0.content.1",
	    "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AAAA\"}}");
	assert_at(j, "messages.0.content.2",
	    "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/cat.jpg\"}}");
	/* the assistant's text and its call are one turn */
	assert_at(j, "messages.1.role", "\"assistant\"");
	assert_at(j, "messages.1.content.0", "{\"type\":\"text\",\"text\":\"ok\"}");
	assert_at(j, "messages.1.content.1",
	    "{\"type\":\"tool_use\",\"id\":\"call_9\",\"name\":\"f\",\"input\":{\"a\":1}}");
	/* the result and the next user text are one turn */
	assert_at(j, "messages.2.role", "\"user\"");
	assert_at(j, "messages.2.content.0",
	    "{\"type\":\"tool_result\",\"tool_use_id\":\"call_9\",\"content\":\"42\"}");
	assert_at(j, "messages.2.content.1", "{\"type\":\"text\",\"text\":\"hello\"}");
	assert_at(j, "tools.0",
	    "{\"name\":\"f\",\"description\":\"d\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}}");
	assert_at(j, "tools.1", "{\"name\":\"g\",\"input_schema\":{\"type\":\"object\"}}");
	assert_at(j, "tool_choice", "{\"type\":\"any\",\"disable_parallel_tool_use\":true}");
	assert_at(j, "temperature", "0.5");
	assert_at(j, "stream", "true");
	cJSON_Delete(j);
	/* a forced function; max_output_tokens becomes max_tokens */
	cJSON_Delete(tc);
	tc = cJSON_Parse("{\"type\":\"function\",\"name\":\"g\"}");
	call.tool_choice = tc;
	call.parallel_tool_calls = true;
	call.has_max_output_tokens = true;
	call.max_output_tokens = 50;
	call.stream = false;
	j = body_of(gw_anthropic_request_body, &call);
	assert_at(j, "tool_choice", "{\"type\":\"tool\",\"name\":\"g\"}");
	assert_at(j, "max_tokens", "50");
	assert_at(j, "stream", "<none>");
	cJSON_Delete(j);
	cJSON_Delete(tc);
	cJSON_Delete(tools);
	cJSON_Delete(items);
}

typedef struct wrec {
	gw_buf text, args;
	char calls[128];   /* "index:id:name;" per tool_begin */
} wrec;

static void w_text(void *c, const char *s, size_t n) { gw_buf_append(&((wrec *)c)->text, s, n); }
static void w_begin(void *c, size_t i, const char *id, const char *name)
{
	wrec *r = c;
	size_t l = strlen(r->calls);
	snprintf(r->calls + l, sizeof(r->calls) - l, "%zu:%s:%s;", i, id ? id : "-", name ? name : "-");
}
static void w_args(void *c, size_t i, const char *s, size_t n)
{
	wrec *r = c;
	gw_buf_printf(&r->args, "%zu=", i);
	gw_buf_append(&r->args, s, n);
	gw_buf_putc(&r->args, ';');
}

static int
feed(int (*fn)(const char *, size_t, const gw_provider_sink *, gw_chat_state *),
    const char *const *events, const gw_provider_sink *sink, gw_chat_state *st)
{
	for (; *events; events++) {
		int rc = fn(*events, strlen(*events), sink, st);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
test_anthropic_reply(void **state)
{
	(void)state;
	wrec r = { GW_BUF_INIT, GW_BUF_INIT, "" };
	gw_provider_sink sink = { &r, w_text, w_begin, w_args };
	gw_chat_state st;
	memset(&st, 0, sizeof(st));
	static const char *const ev[] = {
		"{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}",
		"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
		"{\"type\":\"ping\"}",
		"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}",
		"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}",
		"{\"type\":\"content_block_stop\",\"index\":0}",
		"{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}",
		"{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}",
		"{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}",
		"{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}",
		"{\"type\":\"content_block_stop\",\"index\":1}",
		"{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"g\",\"input\":{}}}",
		"{\"type\":\"content_block_stop\",\"index\":2}",
		"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":12}}",
		"{\"type\":\"message_stop\"}",
		NULL,
	};
	assert_int_equal(feed(gw_anthropic_apply_event, ev, &sink, &st), 0);
	assert_string_equal(r.text.data, "Hello");
	assert_string_equal(r.calls, "1:toolu_1:f;2:toolu_2:g;");
	/* argument text in its pieces; a call with none gets "{}" */
	assert_string_equal(r.args.data, "1={\"a\":;1=1};2={};");
	assert_string_equal(st.finish, "tool_calls");
	assert_true(st.done);
	assert_int_equal(st.usage.input_tokens, 10);
	assert_int_equal(st.usage.output_tokens, 12);
	assert_int_equal(st.usage.total_tokens, 22);
	/* an error event fails the reply; max_tokens is length */
	memset(&st, 0, sizeof(st));
	static const char *const err_ev[] = {
		"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":2}}",
		"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
		NULL,
	};
	assert_int_equal(feed(gw_anthropic_apply_event, err_ev, &sink, &st), -EPROTO);
	assert_string_equal(st.finish, "length");
	assert_true(st.error[0] != '\0');
	assert_null(strstr(st.error, "Overloaded")); /* never the upstream's words */
	/* a whole reply */
	gw_buf_reset(&r.text);
	gw_buf_reset(&r.args);
	r.calls[0] = '\0';
	memset(&st, 0, sizeof(st));
	const char *reply = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"Hi\"},{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"f\",\"input\":{\"a\":2}}],"
	    "\"stop_reason\":\"max_tokens\",\"usage\":{\"input_tokens\":4,\"output_tokens\":5}}";
	assert_int_equal(gw_anthropic_apply_reply(reply, strlen(reply), &sink, &st), 0);
	assert_string_equal(r.text.data, "Hi");
	assert_string_equal(r.calls, "1:toolu_9:f;");
	assert_string_equal(r.args.data, "1={\"a\":2};");
	assert_string_equal(st.finish, "length");
	assert_int_equal(st.usage.total_tokens, 9);
	assert_true(st.done);
	memset(&st, 0, sizeof(st));
	const char *ctx = "{\"type\":\"message\",\"content\":[],\"stop_reason\":\"model_context_window_exceeded\"}";
	assert_int_equal(gw_anthropic_apply_reply(ctx, strlen(ctx), &sink, &st), 0);
	assert_string_equal(st.finish, "length");
	memset(&st, 0, sizeof(st));
	const char *bad = "{\"type\":\"error\",\"error\":{\"type\":\"x\",\"message\":\"m\"}}";
	assert_int_equal(gw_anthropic_apply_reply(bad, strlen(bad), &sink, &st), -EPROTO);
	gw_buf_free(&r.text);
	gw_buf_free(&r.args);
}

static void
test_gemini_request(void **state)
{
	(void)state;
	cJSON *items = cJSON_Parse(conv_json);
	cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"name\":\"f\",\"description\":\"d\","
	    "\"parameters\":{\"type\":\"object\"}}]");
	cJSON *tc = cJSON_Parse("{\"type\":\"function\",\"name\":\"f\"}");
	gw_provider_call call = { .instructions = "Be brief", .items = items, .tools = tools,
		.tool_choice = tc, .has_top_p = true, .top_p = 0.25, .has_max_output_tokens = true,
		.max_output_tokens = 50 };
	cJSON *j = body_of(gw_gemini_request_body, &call);
	assert_at(j, "model", "<none>"); /* in the URL */
	assert_at(j, "systemInstruction", "{\"parts\":[{\"text\":\"Be brief\\n\\nsys\\n\\ndev\"}]}");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "contents")), 3);
	assert_at(j, "contents.0.role", "\"user\"");
	assert_at(j, "contents.0.parts",
	    "[{\"text\":\"see\"},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"AAAA\"}},"
	    "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":\"https://x.test/cat.jpg\"}}]");
	assert_at(j, "contents.1",
	    "{\"role\":\"model\",\"parts\":[{\"text\":\"ok\"},{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},"
	    "\"thoughtSignature\":\"skip_thought_signature_validator\"}]}");
	/* the response is named after the call it answers */
	assert_at(j, "contents.2",
	    "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":{\"result\":\"42\"}}},{\"text\":\"hello\"}]}");
	assert_at(j, "tools",
	    "[{\"functionDeclarations\":[{\"name\":\"f\",\"description\":\"d\",\"parametersJsonSchema\":{\"type\":\"object\"}}]}]");
	assert_at(j, "toolConfig",
	    "{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"f\"]}}");
	assert_at(j, "generationConfig", "{\"topP\":0.25,\"maxOutputTokens\":50}");
	cJSON_Delete(j);
	/* no tool_choice: no toolConfig; no generation settings: none sent */
	call.tool_choice = NULL;
	call.has_top_p = call.has_max_output_tokens = false;
	j = body_of(gw_gemini_request_body, &call);
	assert_at(j, "toolConfig", "<none>");
	assert_at(j, "generationConfig", "<none>");
	cJSON_Delete(j);
	/* a 2.x model: no signature on a replayed call; two calls in one turn:
	 * only the first carries one (as Gemini 3 gives them) */
	gw_buf b = GW_BUF_INIT;
	gw_gemini_request_body(&call, "gemini-2.5-flash", &b);
	assert_null(strstr(b.data, "thoughtSignature"));
	gw_buf_reset(&b);
	cJSON *two = cJSON_Parse("[{\"type\":\"function_call\",\"call_id\":\"a\",\"name\":\"f\",\"arguments\":\"{}\"},"
	    "{\"type\":\"function_call\",\"call_id\":\"b\",\"name\":\"g\",\"arguments\":\"{}\"}]");
	gw_provider_call call2 = { .items = two };
	gw_gemini_request_body(&call2, "gemini-3-pro-preview", &b);
	j = cJSON_Parse(b.data);
	assert_at(j, "contents.0.parts.0.thoughtSignature", "\"skip_thought_signature_validator\"");
	assert_at(j, "contents.0.parts.1.thoughtSignature", "<none>");
	cJSON_Delete(j);
	cJSON_Delete(two);
	gw_buf_free(&b);
	cJSON_Delete(tc);
	cJSON_Delete(tools);
	cJSON_Delete(items);
}

static void
test_gemini_reply(void **state)
{
	(void)state;
	wrec r = { GW_BUF_INIT, GW_BUF_INIT, "" };
	gw_provider_sink sink = { &r, w_text, w_begin, w_args };
	gw_chat_state st;
	memset(&st, 0, sizeof(st));
	static const char *const ev[] = {
		"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"thinking\",\"thought\":true},{\"text\":\"Hel\"}]}}]}",
		"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"},"
		"{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}}},{\"functionCall\":{\"id\":\"c2\",\"name\":\"g\",\"args\":{}}}]},"
		"\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":6,"
		"\"thoughtsTokenCount\":2,\"totalTokenCount\":12}}",
		NULL,
	};
	assert_int_equal(feed(gw_gemini_apply_event, ev, &sink, &st), 0);
	assert_string_equal(r.text.data, "Hello"); /* the thought is not the answer */
	assert_string_equal(r.calls, "0:-:f;1:c2:g;");
	assert_string_equal(r.args.data, "0={\"a\":1};1={};");
	assert_string_equal(st.finish, "tool_calls");
	assert_int_equal(st.usage.input_tokens, 4);
	assert_int_equal(st.usage.output_tokens, 8);
	assert_int_equal(st.usage.total_tokens, 12);
	/* whole replies: MAX_TOKENS is length; no candidates at all is an error */
	memset(&st, 0, sizeof(st));
	const char *len = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"MAX_TOKENS\"}]}";
	assert_int_equal(gw_gemini_apply_reply(len, strlen(len), &sink, &st), 0);
	assert_string_equal(st.finish, "length");
	assert_true(st.done);
	memset(&st, 0, sizeof(st));
	const char *none = "{\"usageMetadata\":{\"promptTokenCount\":1}}";
	assert_int_equal(gw_gemini_apply_reply(none, strlen(none), &sink, &st), -EPROTO);
	memset(&st, 0, sizeof(st));
	const char *blocked = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}";
	assert_int_equal(gw_gemini_apply_reply(blocked, strlen(blocked), &sink, &st), 0);
	assert_string_equal(st.finish, "content_filter");
	memset(&st, 0, sizeof(st));
	const char *err = "{\"error\":{\"code\":400,\"message\":\"bad\"}}";
	assert_int_equal(gw_gemini_apply_reply(err, strlen(err), &sink, &st), -EPROTO);
	gw_buf_free(&r.text);
	gw_buf_free(&r.args);
}

/* ---- one canned upstream reply over loopback ---------------------------------- */

typedef struct canned {
	int fd;                 /* listening socket */
	const char *reply;      /* written after the request's head is read */
	char request[4096];     /* what came in (head and what followed in the same reads) */
} canned;

static void *
canned_main(void *arg)
{
	canned *c = arg;
	int s = accept(c->fd, NULL, NULL);
	if (s < 0)
		return NULL;
	size_t n = 0;
	while (n + 1 < sizeof(c->request)) {
		ssize_t r = read(s, c->request + n, sizeof(c->request) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		c->request[n] = '\0';
		char *end = strstr(c->request, "\r\n\r\n");
		const char *cl = strcasestr(c->request, "content-length:");
		if (end != NULL && cl != NULL && n >= (size_t)(end + 4 - c->request) + strtoul(cl + 15, NULL, 10))
			break;
	}
	if (write(s, c->reply, strlen(c->reply)) < 0)
		perror("canned write");
	close(s);
	return NULL;
}

static int
canned_listen(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int
canned_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static char logged[512];
static void log_line(void *ctx, const char *line) { (void)ctx; snprintf(logged, sizeof(logged), "%s", line); }

static void
test_anthropic_wire_and_request_id(void **state)
{
	(void)state;
	canned c = { .fd = canned_listen(), .reply = "HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\nrequest-id: req_01ABC\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\n{}" };
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/", canned_port(c.fd));
	gw_provider_config cfg = { .model = "anthropic/claude-x", .base_url = base,
		.api_key = "sk-ant", .timeout_ms = 5000, .max_retries = 0, .log = log_line };
	gw_provider *p;
	gw_err err;
	assert_int_equal(gw_provider_new(&cfg, &p, &err), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, canned_main, &c), 0);
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}]");
	gw_provider_call call = { .items = items };
	rec r = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	gw_provider_sink sink = { &r, r_text, r_begin, r_args };
	gw_provider_outcome o;
	logged[0] = '\0';
	assert_int_equal(gw_provider_run(p, &call, &sink, NULL, &o), -EIO);
	pthread_join(t, NULL);
	close(c.fd);
	/* the wire: the path after the base's slash, the vendor's headers */
	assert_memory_equal(c.request, "POST /v1/messages HTTP/1.1\r\n", 28);
	assert_non_null(strcasestr(c.request, "\r\nx-api-key: sk-ant\r\n"));
	assert_non_null(strcasestr(c.request, "\r\nanthropic-version: 2023-06-01\r\n"));
	assert_null(strcasestr(c.request, "\r\nauthorization:"));
	/* the failure keeps the status and the upstream's request id */
	assert_int_equal(o.http_status, 502);
	assert_int_equal(o.upstream_status, 500);
	assert_string_equal(o.request_id, "req_01ABC");
	assert_non_null(strstr(logged, "[request-id req_01ABC]; giving up"));
	cJSON_Delete(items);
	gw_provider_free(p);
}

static void
test_gemini_stream_path(void **state)
{
	(void)state;
	canned c = { .fd = canned_listen(), .reply = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\nConnection: close\r\n\r\n"
	    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}]},\"finishReason\":\"STOP\"}],"
	    "\"usageMetadata\":{\"promptTokenCount\":1,\"candidatesTokenCount\":1,\"totalTokenCount\":2}}\r\n\r\n" };
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1beta", canned_port(c.fd));
	gw_provider_config cfg = { .model = "google/gemini x/y", .base_url = base, .api_key = "gk",
		.timeout_ms = 5000 };
	gw_provider *p;
	gw_err err;
	assert_int_equal(gw_provider_new(&cfg, &p, &err), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, canned_main, &c), 0);
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}]");
	gw_provider_call call = { .items = items, .stream = true };
	rec r = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	gw_provider_sink sink = { &r, r_text, r_begin, r_args };
	gw_provider_outcome o;
	assert_int_equal(gw_provider_run(p, &call, &sink, NULL, &o), 0);
	pthread_join(t, NULL);
	close(c.fd);
	/* the model in the path, escaped; the streaming method */
	const char *want = "POST /v1beta/models/gemini%20x%2Fy:streamGenerateContent?alt=sse HTTP/1.1\r\n";
	assert_memory_equal(c.request, want, strlen(want));
	assert_non_null(strcasestr(c.request, "\r\nx-goog-api-key: gk\r\n"));
	assert_string_equal(r.text.data, "ok");
	assert_string_equal(o.finish, "stop");
	assert_int_equal(o.usage.total_tokens, 2);
	assert_string_equal(o.request_id, "");
	gw_buf_free(&r.text);
	cJSON_Delete(items);
	gw_provider_free(p);
}

/* ---- one engine, two providers: a fallback started inside a step ----------- */

typedef struct via {
	gw_provider_engine *g;
	gw_provider *next;          /* started by the first call's done */
	const gw_provider_call *call;
	gw_provider_sink sink;
	int n, rc[2];
	gw_provider_outcome o[2];
} via;

static void
via_second_done(void *ctx, int rc, const gw_provider_outcome *o)
{
	via *v = ctx;
	v->rc[1] = rc;
	v->o[1] = *o;
	v->n++;
}

static void
via_first_done(void *ctx, int rc, const gw_provider_outcome *o)
{
	via *v = ctx;
	v->rc[0] = rc;
	v->o[0] = *o;
	v->n++;
	/* past the millisecond the step read its clock in, as a fallback's
	 * bookkeeping may be: the new attempt is younger than the step's now */
	usleep(3000);
	gw_provider_start_via(v->g, v->next, v->call, &v->sink, NULL, via_second_done, v);
}

static void
test_engine_second_provider_in_step(void **state)
{
	(void)state;
	canned a = { .fd = canned_listen(), .reply = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" };
	static const char body[] = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"from b\"},\"finish_reason\":\"stop\"}],"
	    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}";
	char reply_b[512];
	snprintf(reply_b, sizeof(reply_b), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof(body) - 1, body);
	canned b = { .fd = canned_listen(), .reply = reply_b };
	char base_a[64], base_b[64];
	snprintf(base_a, sizeof(base_a), "http://127.0.0.1:%d/a", canned_port(a.fd));
	snprintf(base_b, sizeof(base_b), "http://127.0.0.1:%d/b", canned_port(b.fd));
	gw_provider_config ca = { .model = "openai/m", .base_url = base_a, .timeout_ms = 5000 };
	gw_provider_config cb = { .model = "openai/m", .base_url = base_b, .timeout_ms = 5000 };
	gw_provider *pa, *pb;
	gw_err err;
	assert_int_equal(gw_provider_new(&ca, &pa, &err), 0);
	assert_int_equal(gw_provider_new(&cb, &pb, &err), 0);
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, canned_main, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, canned_main, &b), 0);
	cJSON *items = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}]");
	gw_provider_call call = { .items = items };
	rec r = { GW_BUF_INIT, GW_BUF_INIT, 0, "" };
	via v = { .g = gw_provider_engine_new(pa), .next = pb, .call = &call,
		.sink = { &r, r_text, r_begin, r_args } };
	gw_provider_start_on(v.g, &call, &v.sink, NULL, via_first_done, &v);
	/* until the first call is done, every step comes more than the sweep's
	 * 50 ms after the last: the step that delivers it also sweeps */
	for (int i = 0; i < 100 && v.n == 0; i++) {
		usleep(60000);
		gw_provider_engine_step(v.g);
	}
	assert_true(v.n >= 1); /* the second may have ended in the same step */
	for (int i = 0; i < 500 && v.n < 2; i++) {
		struct pollfd pf = { gw_provider_engine_fd(v.g), POLLIN, 0 };
		int t = gw_provider_engine_timeout(v.g);
		poll(&pf, 1, t < 0 || t > 10 ? 10 : t);
		gw_provider_engine_step(v.g);
	}
	assert_int_equal(v.n, 2);
	/* a server never reached ends its accept (a broken engine must fail
	 * the asserts below, not hang here) */
	shutdown(a.fd, SHUT_RDWR);
	shutdown(b.fd, SHUT_RDWR);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	close(a.fd);
	close(b.fd);
	/* the first failed on a's 503; the second went to b, not to a (the
	 * spare handle's URL), and was answered, not timed out */
	assert_int_equal(v.rc[0], -EIO);
	assert_int_equal(v.o[0].upstream_status, 503);
	assert_int_equal(v.o[1].http_status, 0); /* not 504: taken for timed out */
	assert_int_equal(v.rc[1], 0);
	assert_memory_equal(a.request, "POST /a/chat/completions HTTP/1.1\r\n", 35);
	assert_memory_equal(b.request, "POST /b/chat/completions HTTP/1.1\r\n", 35);
	assert_string_equal(r.text.data, "from b");
	gw_buf_free(&r.text);
	gw_provider_engine_free(v.g);
	cJSON_Delete(items);
	gw_provider_free(pa);
	gw_provider_free(pb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_reply),
		cmocka_unit_test(test_echo_tool_and_cancel),
		cmocka_unit_test(test_openai_unreachable),
		cmocka_unit_test(test_anthropic_request),
		cmocka_unit_test(test_anthropic_reply),
		cmocka_unit_test(test_gemini_request),
		cmocka_unit_test(test_gemini_reply),
		cmocka_unit_test(test_anthropic_wire_and_request_id),
		cmocka_unit_test(test_gemini_stream_path),
		cmocka_unit_test(test_openai_async_cancel_and_free),
		cmocka_unit_test(test_engine_second_provider_in_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
