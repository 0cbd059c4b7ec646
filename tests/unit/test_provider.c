/*
 * test_provider.c - the offline provider (deterministic reply quoting the
 * last user text and the instructions, several deltas, word-count usage,
 * max_output_tokens, forced tool calls, cancellation) and the
 * OpenAI-compatible provider's failure mapping when nothing listens, and
 * its asynchronous interface: a cancel while a retry is pending, and
 * gw_provider_free ending the calls still open.
 */
#include "unit.h"

#include "core/openresponses/provider.h"

#include <pthread.h>

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
	gw_provider_config other = { .model = "anthropic/x" };
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_reply),
		cmocka_unit_test(test_echo_tool_and_cancel),
		cmocka_unit_test(test_openai_unreachable),
		cmocka_unit_test(test_openai_async_cancel_and_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
