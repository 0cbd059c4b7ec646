/*
 * server_int.h - what server.c shares with the route modules (api.c): the
 * server object, the per-request context, and reply helpers.  Not part of
 * the public API in server.h.
 *
 * Ownership: a srv_req belongs to MHD's connection (created on the first
 * access-handler call, freed in the request-completed callback).  Reply
 * helpers copy the body they are given.
 */
#ifndef SRV_SERVER_INT_H
#define SRV_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* The stop reason a server records when it shuts down cleanly. */
#define SRV_STOP_REASON GW_STOP_REASON_SERVER /* core/gateway/service.h */

#include <microhttpd.h>

#include "core/base/buf.h"
#include "core/base/fs.h"
#include "core/base/hash.h"
#include "core/base/json.h"
#include "core/gateway/service.h"
#include "core/openresponses/provider.h"
#include "core/openresponses/routes.h"
#include "core/openresponses/responses.h"
#include "server/metrics.h"
#include "server/proxy.h"
#include "server/server.h"
#include "server/workq.h"

/* Each connection's MHD memory pool: request headers, the read buffer and
 * the write buffer all come from it.  MHD zeroes the whole pool between
 * keep-alive requests, so its size is paid on every request: 64 KiB cost
 * about 13 % of a /gateway/status request.  At 16 KiB an SSE event of up
 * to about 15 KiB still goes out in one write; a larger one (a response
 * snapshot carrying a long reply or many tools) goes out in pieces. */
#define SRV_CONN_MEMORY ((size_t)16 * 1024)

struct srv_job;
struct srv_loop;

/* One client connection, watched by its loop besides MHD (server.c): the
 * loop's own epoll set reports the peer's hang-up, which MHD's
 * edge-triggered set can miss (data and FIN that arrived before accept()
 * are one edge, and MHD reads the data only), and a request must arrive
 * whole within the idle timeout of the connection becoming ready for one,
 * however slowly its bytes trickle in.  Loop thread only. */
typedef struct srv_conn {
	struct srv_loop *loop;
	struct MHD_Connection *c;
	int fd;
	bool in_request;                /* headers complete: the request is being served */
	bool peer_gone;                 /* the peer hung up (RDHUP) */
	uint64_t since_ms;              /* when it began waiting for a request */
	/* the peer, read once per connection (keep-alive requests reuse it) */
	srv_proxy_addr peer;
	char peer_text[SRV_PROXY_TEXT];
	bool peer_trusted;              /* a trusted proxy (--gateway-openresponses-trusted-proxies) */
	bool upgraded;                  /* a WebSocket now (ws.c): its thread, not the loop, watches it */
	struct srv_conn *prev, *next;
} srv_conn;

/* One event loop thread: an MHD daemon in external-epoll mode and, for an
 * upstream provider or a routes file, the engine that runs its calls (and
 * the routes' targets'), stepped together. */
typedef struct srv_loop {
	struct srv_server *srv;
	struct MHD_Daemon *daemon;
	gw_provider_engine *engine;     /* NULL for the offline provider without routes */
	int epfd, wake_fd;              /* wake_fd: an eventfd other threads poke */
	int mhd_fd;                     /* the daemon's epoll set, in epfd */
	pthread_t thread;
	bool running;
	atomic_bool quit;               /* set by srv_loops_stop before the poke */
	/* loop thread only */
	bool quiesced;                  /* the daemon no longer accepts */
	unsigned resumed;               /* connections resumed on this thread */
	/* accept() failed (descriptors ran out): MHD may have taken the listen
	 * socket out of its set and re-arms it only inside a later MHD_run, so
	 * the loop's waits stay bounded until an accept succeeds again */
	bool accept_failed;             /* in the MHD_run just made (the log says so) */
	bool accept_stalled;            /* since then, no accept has succeeded */
	bool mhd_paused;                /* MHD's set is out of the loop's set for one wait */
	uint64_t accept_log_ms;         /* last accept-failure line logged */
	unsigned accept_log_dropped;    /* lines held back since */
	srv_conn *conns;                /* this daemon's connections */
	struct srv_rtable *routes;      /* the routes table last used (router.h), referenced */
	uint64_t sweep_ms;              /* next check of the request deadline */
} srv_loop;

#define SRV_LOOPS_MAX 8

struct srv_server {
	srv_config cfg;                 /* strings borrowed from the caller */
	srv_loop loops[SRV_LOOPS_MAX];
	size_t nloops;
	/* a listening socket per loop, one SO_REUSEPORT group on one port, so
	 * the kernel spreads new connections over the loops (a shared socket
	 * let whichever loop woke first take a burst of them all); the first
	 * nlisten are open */
	int listen_fds[SRV_LOOPS_MAX];
	size_t nlisten;
	gw_lock run;                    /* this run's share of <state-dir>/.run.lock */
	char bind[64];
	gw_provider *provider;
	struct srv_router *router;      /* --gateway-routes, or NULL (router.h) */
	srv_workq *workq;
	struct srv_evlog *evlog;        /* the event log's writer (files), or NULL */
	srv_metrics metrics;
	uint64_t started_mono_ms;
	uint64_t started_unix;          /* wall clock at start (/v1/models' created) */
	atomic_bool stopping;
	int event_fd;
	atomic_bool notify_pending;     /* event_fd written since the last srv_get_stats */
	char *csp;                      /* webchat Content-Security-Policy */
	bool has_token;                 /* a non-blank bearer token was configured */
	uint8_t token_digest[GW_SHA256_LEN]; /* SHA-256 of the trimmed token */
	uint64_t body_limit;            /* 8 x max_input_chars */
	/* /gateway/status cache, keyed by state.json's identity */
	/* connections by client address, shared by every loop's daemon; a
	 * trusted proxy's connections are counted in total only, and each of
	 * their requests per client (the X-Forwarded-For client) instead */
	srv_proxy_list proxies;         /* --gateway-openresponses-trusted-proxies */
	uint64_t per_ip_cap;            /* max_connections_per_ip, 0 resolved to the total */
	pthread_mutex_t conn_lock;
	size_t nconns;
	/* addresses holding slots: address text -> its srv_peer (O(1) per
	 * accept and per proxied request, however many clients there are) */
	struct gw_strmap *peer_index;
	struct srv_peer *peers;         /* the same entries, listed (srv_free) */
	pthread_mutex_t status_lock;
	bool status_valid;
	struct stat status_st;
	gw_buf status_service;          /* sorted-key service report */
	gw_buf status_gateway;          /* sorted-key gateway block */
	/* fleet mode (cfg.state_url): the fleet thread and its cache
	 * (fleet.h); NULL on a state directory */
	struct srv_fleet *fleet;
	/* the store of stored responses, per thread in fleet mode (respconn.h) */
	struct srv_respconn *respconn;
	/* what chain walks read of stored responses, shared by the workers
	 * (respcache.h, SRV_RESPCACHE_BYTES): filled by saves and walks,
	 * dropped by deletes; a walk still checks every record is stored */
	struct gw_respcache *respcache;
	/* fleet mode: one turn per session key inside this server before a
	 * connection is taken (keygate.h); NULL on files */
	struct srv_keygate *keygate;
	/* the WebSocket threads (ws.h) */
	struct srv_ws *ws;
	/* in-flight jobs (list) and the stream ticker */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct srv_job *jobs;
	size_t njobs;
	size_t loops_quiesced;          /* loops that stopped accepting (stopping) */
	pthread_t ticker;
	bool ticker_running;
	bool ticker_idle;               /* the ticker waits for a job, untimed */
	/* the expiry sweep (sessions, stored responses), under lock */
	pthread_t sweeper;
	pthread_cond_t sweep_cond;
	bool sweeper_running;
};

typedef enum srv_phase {
	SRV_PHASE_NEW,                  /* headers seen */
	SRV_PHASE_WAITING,              /* suspended; a worker or the provider is answering */
	SRV_PHASE_PROVIDED,             /* resumed: the provider's outcome waits in pending */
	SRV_PHASE_READY,                /* the worker's answer is in result */
	SRV_PHASE_CHAINED,              /* resumed: a continuation's chain is read (chained) */
	SRV_PHASE_REPLIED,
	SRV_PHASE_LOST                  /* its answer could not be queued: the connection is closed */
} srv_phase;

typedef struct srv_req {
	srv_server *srv;
	srv_route route;
	char method[8];
	char path[64];
	uint64_t start_ns;
	unsigned status;                /* status queued (0: none yet) */
	unsigned deferred;              /* refusal to queue on the next call (0: none) */
	bool begun;                     /* the access handler has seen it */
	unsigned query_params;          /* over SRV_MAX_QUERY_PARAMS: refused with 431 */
	uint64_t bytes_in, bytes_out;
	gw_buf body;
	bool too_large;
	srv_phase phase;
	/* a worker's answer (phase READY) */
	unsigned result_status;
	gw_buf result;
	const char *result_type;
	struct srv_job *stream;         /* SSE job, if any (api.c) */
	struct srv_job *pending;        /* phase PROVIDED: the job to finish (api.c) */
	struct srv_job *chained;        /* phase CHAINED: the job to run (api.c) */
	char resp_id[48];               /* the response made or named, for the request log ("": none) */
	char target[GW_ROUTES_MAX_NAME + 40]; /* routes: the target that answered ("": none) */
	char upstream_rid[96];          /* the upstream's request id of its last attempt ("": none) */
	uint64_t upstream_ns;           /* the answer's wait on the provider (Server-Timing) */
	char client[SRV_PROXY_TEXT];    /* the client: the peer, or whom a trusted proxy names */
	bool via_proxy;                 /* the peer is a trusted proxy */
	bool client_counted;            /* holds a per-client slot (via_proxy), given back at the end */
	uint64_t upgraded_ns;           /* a WebSocket: when its 101 was queued (0: none); the
	                                 * request's time ends there, not when the socket closes */
} srv_req;

/* Queues a reply with a copy of body; records the status.  Returns MHD's
 * verdict. */
enum MHD_Result srv_reply(struct MHD_Connection *c, srv_req *r, unsigned status,
    const char *ctype, const char *body, size_t n);
/* Queues r->result (status r->result_status), handing its memory to MHD
 * without a copy; r->result is left empty. */
enum MHD_Result srv_reply_result(struct MHD_Connection *c, srv_req *r);
/* Adds Server-Timing (gateway: r's time so far less r->upstream_ns;
 * upstream: r->upstream_ns; ms with 3 decimals) to resp. */
void srv_timing_header(struct MHD_Response *resp, const srv_req *r);
/* Queues the JSON error body for e. */
enum MHD_Result srv_reply_error(struct MHD_Connection *c, srv_req *r, const gw_resp_error *e);
/* The loop running on this thread, or NULL. */
srv_loop *srv_loop_current(void);
/* Resumes c, a connection of loop l, from any thread: a loop in external
 * polling mode is not woken by MHD itself, so another thread pokes it, and
 * its own thread notes it so the loop runs MHD again before sleeping. */
void srv_loop_resume(srv_loop *l, struct MHD_Connection *c);
/* Wakes loop l from any thread (its MHD_run then sees what another
 * thread did to its daemon: a WebSocket given back, for one). */
void srv_loop_poke(srv_loop *l);
/* Marks c as upgraded to a WebSocket: the loop's idle and hang-up checks
 * leave it alone from now on.  Loop thread (MHD's upgrade handler). */
void srv_conn_upgraded(struct MHD_Connection *c);
/* Logs one formatted line through the configured sink. */
void srv_log(srv_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line of the event log, runtime-events.jsonl: srv_event_begin starts
 * the object in line (timestamp_unix_ms and kind), the caller adds its
 * members, and srv_event_end closes it, hands it to the event writer
 * (evlog.h: written under the state directory's lock off this thread;
 * limited: rate-limited, for lines that come at request rate; fleet mode
 * writes no such line) and frees line.  what names the line in the log
 * message when it cannot be queued. */
void srv_event_begin(gw_jw *w, gw_buf *line, const char *kind);
void srv_event_end(srv_server *s, gw_jw *w, gw_buf *line, const char *what, bool limited);
/* srv_log for a notice, not an error or a warning: --quiet drops it. */
void srv_notice(srv_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Wakes srv_event_fd readers. */
void srv_notify(srv_server *s);

/* Appends rep as JSON with sorted keys (the service block /gateway/status
 * embeds); out is the caller's. */
void srv_service_json_sorted(const gw_service_report *rep, gw_buf *out);

#endif
