/*
 * bench/upstream_stub.c - a fast OpenAI-compatible upstream for
 * bench/http.sh.  It answers POST /v1/chat/completions (and
 * /chat/completions) with a canned chat.completion, or, when the request
 * body asks for "stream":true (compact JSON, as the gateway and the
 * bench send it), with the same chat.completion.chunk frames
 * the test stub (tests/stub/upstream_stub.py) sends on its fast path: a
 * role chunk, three content deltas, a finish chunk and "data: [DONE]", in
 * one write.
 *
 * Under the path prefix /fail (a base_url of http://127.0.0.1:PORT/fail/v1)
 * it answers every request at once with 503 and an OpenAI error object:
 * the failing first target of bench/http.sh's fallback route.
 *
 * The benchmark needs it because the Python test stub tops out near 6k
 * req/s on two cores, below the rate the gateway has to be measured at;
 * this one serves about ten times that.  It is not a test double: it
 * fails only under /fail, always the same way, and records nothing.  The tests keep using the
 * Python stub, which can misbehave on request.
 *
 *   tau-bench-stub [PORT]      binds 127.0.0.1:PORT (0, the default, picks
 *                              one) and prints "upstream stub listening:
 *                              port=<N>" once it accepts connections.
 *                              SIGINT/SIGTERM stop it.
 *
 * One libmicrohttpd epoll thread: the stub must leave the second core to
 * the server under test and to the load generator.
 */
#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STUB_TEXT "stub reply: benchmark prompt"

static const char stub_json[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"bench\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"" STUB_TEXT "\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":4,\"total_tokens\":6}}";

#define STUB_CHUNK(delta, finish)                                                        \
	"data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","          \
	"\"created\":1700000000,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":" \
	delta ",\"logprobs\":null,\"finish_reason\":" finish "}]}\n\n"

static const char stub_sse[] =
    STUB_CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
    STUB_CHUNK("{\"content\":\"stub reply:\"}", "null")
    STUB_CHUNK("{\"content\":\" benchmark\"}", "null")
    STUB_CHUNK("{\"content\":\" prompt\"}", "null")
    STUB_CHUNK("{}", "\"stop\"")
    "data: [DONE]\n\n";

static const char stub_404[] = "{\"error\":{\"message\":\"not found\"}}";
static const char stub_503[] =
    "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":null}}";

static struct MHD_Response *stub_json_resp, *stub_sse_resp, *stub_404_resp, *stub_503_resp;
static volatile sig_atomic_t stub_quit;

/* Per-request state: the head of the body, where "stream":true is looked
 * for once the body is complete.  Bench bodies are a few hundred bytes;
 * a longer one is searched in its first STUB_BODY_MAX bytes only. */
#define STUB_BODY_MAX 8192
typedef struct stub_req {
	size_t len;
	char body[STUB_BODY_MAX];
} stub_req;

static enum MHD_Result
stub_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	stub_req *r = *con_cls;
	if (r == NULL) { /* headers only: answer on a later call (MHD keep-alive quirk) */
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		size_t take = *upload_size < STUB_BODY_MAX - r->len ? *upload_size : STUB_BODY_MAX - r->len;
		memcpy(r->body + r->len, upload_data, take);
		r->len += take;
		*upload_size = 0;
		return MHD_YES;
	}
	bool fail = strncmp(url, "/fail/", 6) == 0;
	if (fail)
		url += 5;
	bool known = strcmp(method, "POST") == 0 &&
	    (strcmp(url, "/v1/chat/completions") == 0 || strcmp(url, "/chat/completions") == 0);
	if (!known)
		return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, stub_404_resp);
	if (fail)
		return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, stub_503_resp);
	bool stream = memmem(r->body, r->len, "\"stream\":true", 13) != NULL;
	return MHD_queue_response(c, MHD_HTTP_OK, stream ? stub_sse_resp : stub_json_resp);
}

static void
stub_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	free(*con_cls);
	*con_cls = NULL;
}

static struct MHD_Response *
stub_response(const char *body, size_t len, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL || MHD_add_response_header(resp, "Content-Type", type) != MHD_YES) {
		fprintf(stderr, "tau-bench-stub: cannot build a response\n");
		exit(70);
	}
	return resp;
}

static void
stub_on_signal(int sig)
{
	(void)sig;
	stub_quit = 1;
}

int
main(int argc, char **argv)
{
	unsigned long port = 0;
	if (argc > 2 || (argc == 2 && (port = strtoul(argv[1], NULL, 10)) > 65535)) {
		fprintf(stderr, "usage: tau-bench-stub [PORT]\n");
		return 64;
	}
	stub_json_resp = stub_response(stub_json, sizeof(stub_json) - 1, "application/json");
	stub_sse_resp = stub_response(stub_sse, sizeof(stub_sse) - 1, "text/event-stream");
	stub_404_resp = stub_response(stub_404, sizeof(stub_404) - 1, "application/json");
	stub_503_resp = stub_response(stub_503, sizeof(stub_503) - 1, "application/json");

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, stub_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, stub_completed, NULL, MHD_OPTION_CONNECTION_LIMIT, 4096u,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "tau-bench-stub: cannot listen on 127.0.0.1:%lu\n", port);
		return 69;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("upstream stub listening: port=%u\n", info ? (unsigned)info->port : (unsigned)port);
	fflush(stdout);

	struct sigaction act = { .sa_handler = stub_on_signal };
	sigemptyset(&act.sa_mask);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	while (!stub_quit)
		pause();
	MHD_stop_daemon(d);
	MHD_destroy_response(stub_json_resp);
	MHD_destroy_response(stub_sse_resp);
	MHD_destroy_response(stub_404_resp);
	MHD_destroy_response(stub_503_resp);
	return 0;
}
