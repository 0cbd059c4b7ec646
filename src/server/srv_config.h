/*
 * srv_config.h - what the HTTP server is configured with: plain data, no
 * libmicrohttpd.  The flag table (src/cli) writes into it directly, so the
 * flags and the server share one set of fields and one set of defaults.
 *
 * Ownership: every string is borrowed and must outlive the server; the
 * flags' cli_config owns them when it filled the struct.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/openresponses/provider.h"

/* Defaults, the one place these numbers are written; the flag table
 * (src/cli/cli.c) fills every field from them.  The server takes the
 * values as given. */
#define SRV_DEFAULT_BIND "127.0.0.1:8787"
#define SRV_DEFAULT_MAX_INPUT_CHARS 32000
#define SRV_DEFAULT_MAX_CONNECTIONS 256
/* 0: the total cap.  Behind a load balancer every client shares its
 * address, so any lower default would refuse most of the balancer's
 * connections; a per-address limit is the operator's choice, and
 * --gateway-openresponses-trusted-proxies makes it count clients. */
#define SRV_DEFAULT_MAX_CONNECTIONS_PER_IP 0
#define SRV_DEFAULT_IDLE_TIMEOUT_MS 30000
/* a WebSocket connection's lifetime (the Open Responses limit: 60 minutes) */
#define SRV_DEFAULT_WS_MAX_AGE_MS 3600000
#define SRV_DEFAULT_SESSION_MAX_MESSAGES 200
#define SRV_DEFAULT_SESSION_MAX_BYTES 4194304   /* 4 MiB of stored history per session */
#define SRV_DEFAULT_SESSION_TTL_S 2592000       /* 30 days since a session's last exchange */
#define SRV_DEFAULT_RESPONSE_TTL_S 2592000      /* 30 days since a response was stored */
/* The stored responses' walk cache of a server (respcache.h): what chain
 * walks read of records, at most this many bytes as it counts them. */
#define SRV_RESPCACHE_BYTES 33554432            /* 32 MiB */

/* Log sink: one line, no newline.  NULL = stderr.  Called from server
 * threads; it must be thread-safe.  MHD and libcurl messages go here too,
 * so nothing reaches the terminal while the console owns it. */
typedef void (*srv_log_fn)(void *ctx, const char *line);

/* --log-format: how the foreground server writes its stderr lines (the
 * order of the flag's words). */
typedef enum srv_log_format {
	SRV_LOG_TEXT,                     /* "tau-gateway: ..." */
	SRV_LOG_JSON                      /* one JSON object a line */
} srv_log_format;

typedef struct srv_config {
	const char *state_dir;
	/* fleet mode: a libpq connection string (NULL: the state directory)
	 * and the deployment inside that database (src/server/fleet.h) */
	const char *state_url;
	const char *deployment;
	const char *bind;                 /* "127.0.0.1:8787", "[::1]:0" */
	const char *auth_token;
	uint64_t max_input_chars;         /* bodies are bounded at 8x this in bytes */
	uint64_t max_connections;         /* in total */
	uint64_t max_connections_per_ip;  /* from one client address; 0: max_connections */
	/* "CIDR,..." whose X-Forwarded-For names the client (proxy.h); NULL or
	 * blank: none.  Parsed at start: a bad entry is a usage error. */
	const char *trusted_proxies;
	uint64_t idle_timeout_ms;
	uint64_t ws_max_age_ms;           /* a WebSocket's lifetime (ws.c) */
	uint64_t session_max_messages;    /* items of history kept per session */
	uint64_t session_max_bytes;       /* bytes of stored history kept per session */
	uint64_t session_ttl_s;           /* sessions idle this long are removed; 0 never */
	uint64_t response_ttl_s;          /* stored responses this old are removed; 0 never */
	/* the model: its model, base_url, api_key, timeout_ms (also the session
	 * lock wait) and max_retries; the server sets its attempt, log and ctx */
	gw_provider_config provider;
	/* --gateway-routes: the routes file (NULL: --model decides); read at
	 * start and again on srv_routes_reload (SIGHUP, the console's
	 * reload) */
	const char *routes_file;
	srv_log_fn log;                   /* NULL: stderr */
	void *log_ctx;
	/* stderr only (log NULL, the foreground server): the line format, and
	 * quiet, which drops the request log and notices (errors stay) */
	unsigned log_format;              /* a srv_log_format */
	bool quiet;
} srv_config;

#endif
