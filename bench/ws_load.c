/*
 * ws_load.c - the load generator of bench/http.sh part "ws" (built as
 * tau-bench-wsload): CONNS clients on one thread (epoll), each running
 * turns back to back for SECS seconds with the same request either way:
 *
 *   ws   a WebSocket on GET /v1/responses; a turn is one masked text frame
 *        {"type":"response.create",...} (one write), done at the text
 *        message of response.completed;
 *   sse  an HTTP/1.1 keep-alive connection; a turn is one POST
 *        /v1/responses with "stream":true (one write), done at the last
 *        chunk of its chunked body (a chunk holding response.completed
 *        must have come).
 *
 *   tau-bench-wsload ws|sse HOST:PORT TOKEN CONNS SECS [RATE]
 *
 * Without RATE the load is closed: each client sends its next turn as soon
 * as its last one is done, so CONNS turns are always in flight and the
 * latency is mostly queueing at the server's saturation.  With RATE (turns
 * per second, all clients together) it is open: turn i is scheduled at
 * start + i / RATE whatever came back, handed to an idle client (the
 * longest idle first) when one is free, and its latency counts from the
 * scheduled time, not from the send, so a turn that waited for a client
 * (the server falling behind) or for this process's wake-up is charged
 * to the latency rather than left out (coordinated omission).  A
 * timerfd wakes the loop at each scheduled time (1 us timer slack).
 *
 * Prints one JSON line: turns, failed, turns_per_s, the latency (scheduled
 * or sent, to done) p50 and p99 by nearest rank, every latency in
 * microseconds (lat, so rounds can be pooled), its own CPU time (cpu_us),
 * to be set against the gateway's, and with RATE the rate asked and the
 * send lag p99 (lag_p99_us: how late after its scheduled time a turn left
 * this process, the generator's part of the latency) and the p99 from the
 * send (sent_p99_us: the gateway's part and the network's).  Node's WebSocket
 * cost more CPU per turn than the gateway did, so it measured itself; this
 * costs a few microseconds per turn.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BODY "\"store\":false,\"input\":[{\"type\":\"message\",\"role\":\"user\"," \
	"\"content\":\"hello bench\"}]}"

typedef struct conn {
	int fd;
	bool ws;
	uint64_t t0;            /* the turn's start: its scheduled time with RATE */
	uint64_t sent;          /* when it was sent */
	bool seen;              /* sse: response.completed came */
	char *in;
	size_t len, cap;
	/* sse body parsing */
	bool in_body;
	size_t chunk_left;      /* bytes of the current chunk's data (+2 for its CRLF) */
} conn;

static char *req;
static size_t req_len;
static uint32_t *lat;
static size_t nlat, caplat;
static uint64_t turns, failed;
static bool stopping;
/* open loop (RATE given): the schedule, the idle clients (a FIFO ring),
 * the send lags */
static double rate;
static uint64_t sched_t0, sched_next;     /* start; index of the next turn to send */
static struct conn **idle;
static size_t idle_head, idle_n, idle_cap;
static uint32_t *lags, *slat;             /* send lag; done - sent */
static size_t nlags, caplags, nslat;

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "tau-bench-wsload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("send");
		p += r;
		n -= (size_t)r;
	}
}

static void
turn_start(conn *c)
{
	c->t0 = c->sent = now_ns();
	c->seen = false;
	send_all(c->fd, req, req_len);
}

static uint64_t
sched_at(uint64_t i)
{
	return sched_t0 + (uint64_t)((double)i * 1e9 / rate);
}

/* Open loop: sends every turn whose time has come while a client is idle,
 * each stamped with its scheduled time. */
static void
sched_send(void)
{
	uint64_t now = now_ns();
	while (!stopping && idle_n > 0 && sched_at(sched_next) <= now) {
		conn *c = idle[idle_head];
		idle_head = (idle_head + 1) % idle_cap;
		idle_n--;
		uint64_t at = sched_at(sched_next++);
		c->seen = false;
		send_all(c->fd, req, req_len);
		c->t0 = at;
		c->sent = now;
		if (nlags == caplags) {
			caplags = caplags ? caplags * 2 : 65536;
			lags = realloc(lags, caplags * sizeof(*lags));
			slat = realloc(slat, caplags * sizeof(*slat));
		}
		lags[nlags++] = (uint32_t)((now - at) / 1000);
		now = now_ns();
	}
}

static void
turn_done(conn *c, bool ok)
{
	if (ok) {
		if (nlat == caplat) {
			caplat = caplat ? caplat * 2 : 65536;
			lat = realloc(lat, caplat * sizeof(*lat));
		}
		uint64_t now = now_ns();
		lat[nlat++] = (uint32_t)((now - c->t0) / 1000);
		if (rate > 0)
			slat[nslat++] = (uint32_t)((now - c->sent) / 1000);
		turns++;
	} else {
		failed++;
	}
	if (rate > 0) {
		idle[(idle_head + idle_n++) % idle_cap] = c;
		sched_send();
	} else if (!stopping) {
		turn_start(c);
	}
}

static void
consume(conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
}

/* Server frames: unmasked; 7, 16 or 64-bit lengths. */
static void
ws_parse(conn *c)
{
	for (;;) {
		if (c->len < 2)
			return;
		uint8_t *p = (uint8_t *)c->in;
		uint64_t n = p[1] & 0x7f;
		size_t h = 2;
		if (n == 126) {
			if (c->len < 4)
				return;
			n = (uint64_t)p[2] << 8 | p[3];
			h = 4;
		} else if (n == 127) {
			if (c->len < 10)
				return;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | p[2 + i];
			h = 10;
		}
		if (c->len < h + n)
			return;
		const char *pl = c->in + h;
		size_t look = n < 48 ? n : 48;
		if ((p[0] & 0x0f) == 1) {
			if (memmem(pl, look, "\"response.completed\"", 20))
				turn_done(c, true);
			else if (memmem(pl, look, "\"response.failed\"", 17) ||
			    memmem(pl, look, "\"type\":\"error\"", 14))
				turn_done(c, false);
		}
		consume(c, h + n);
	}
}

/* The answer's head, then its chunks: "<hex>\r\n<data>\r\n", ending "0\r\n\r\n". */
static void
sse_parse(conn *c)
{
	for (;;) {
		if (!c->in_body) {
			char *e = memmem(c->in, c->len, "\r\n\r\n", 4);
			if (e == NULL)
				return;
			if (c->len < 12 || memcmp(c->in + 9, "200", 3) != 0) {
				fprintf(stderr, "tau-bench-wsload: %.40s\n", c->in);
				exit(1);
			}
			consume(c, (size_t)(e + 4 - c->in));
			c->in_body = true;
			c->chunk_left = 0;
			continue;
		}
		if (c->chunk_left > 0) {
			size_t n = c->len < c->chunk_left ? c->len : c->chunk_left;
			if (!c->seen && memmem(c->in, n, "response.completed", 18))
				c->seen = true;
			consume(c, n);
			c->chunk_left -= n;
			if (c->chunk_left > 0)
				return;
			continue;
		}
		char *e = memmem(c->in, c->len, "\r\n", 2);
		if (e == NULL)
			return;
		size_t size = strtoul(c->in, NULL, 16);
		if (size == 0) {
			if (c->len < (size_t)(e + 4 - c->in))
				return; /* the last chunk's CRLF */
			consume(c, (size_t)(e + 4 - c->in));
			c->in_body = false;
			turn_done(c, c->seen);
			continue;
		}
		consume(c, (size_t)(e + 2 - c->in));
		c->chunk_left = size + 2;
	}
}

static int
cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int
dial(const char *host, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
main(int argc, char **argv)
{
	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: tau-bench-wsload ws|sse HOST:PORT TOKEN CONNS SECS [RATE]\n");
		return 64;
	}
	rate = argc == 7 ? atof(argv[6]) : 0;
	bool ws = strcmp(argv[1], "ws") == 0;
	char host[64];
	snprintf(host, sizeof(host), "%s", argv[2]);
	char *colon = strrchr(host, ':');
	if (colon == NULL)
		return 64;
	*colon = '\0';
	int port = atoi(colon + 1), nconns = atoi(argv[4]);
	double secs = atof(argv[5]);
	const char *token = argv[3];
	/* the turn's request, made once */
	static char payload[512];
	int pn = snprintf(payload, sizeof(payload), "{\"type\":\"response.create\"," BODY);
	if (ws) {
		/* a masked text frame (a fixed mask: the server unmasks alike) */
		static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
		/* RFC 6455 wants the shortest length form: 7 bits below 126 */
		size_t h = pn < 126 ? 2 : 4;
		req = malloc((size_t)pn + h + 4);
		req[0] = (char)0x81;
		if (h == 2) {
			req[1] = (char)(0x80 | pn);
		} else {
			req[1] = (char)(0x80 | 126);
			req[2] = (char)(pn >> 8);
			req[3] = (char)(pn & 0xff);
		}
		memcpy(req + h, mask, 4);
		for (int i = 0; i < pn; i++)
			req[h + 4 + (size_t)i] = (char)(payload[i] ^ mask[i % 4]);
		req_len = (size_t)pn + h + 4;
	} else {
		static char body[512];
		int bn = snprintf(body, sizeof(body), "{\"stream\":true," BODY);
		req = malloc(1024);
		req_len = (size_t)snprintf(req, 1024, "POST /v1/responses HTTP/1.1\r\nHost: %s\r\n"
		    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		    "Content-Length: %d\r\n\r\n%s", argv[2], token, bn, body);
	}
	int ep = epoll_create1(0);
	conn *cs = calloc((size_t)nconns, sizeof(*cs));
	for (int i = 0; i < nconns; i++) {
		conn *c = &cs[i];
		c->ws = ws;
		c->fd = dial(host, port);
		c->cap = 1 << 20;
		c->in = malloc(c->cap);
		if (ws) {
			char hs[512];
			int n = snprintf(hs, sizeof(hs), "GET /v1/responses HTTP/1.1\r\nHost: %s\r\n"
			    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
			    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer %s\r\n\r\n",
			    argv[2], token);
			send_all(c->fd, hs, (size_t)n);
			while (memmem(c->in, c->len, "\r\n\r\n", 4) == NULL) {
				ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
				if (r <= 0)
					die("handshake");
				c->len += (size_t)r;
			}
			if (c->len < 12 || memcmp(c->in + 9, "101", 3) != 0) {
				fprintf(stderr, "tau-bench-wsload: no upgrade: %.40s\n", c->in);
				return 1;
			}
			consume(c, (size_t)((char *)memmem(c->in, c->len, "\r\n\r\n", 4) + 4 - c->in));
		}
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
	}
	int tfd = -1;
	if (rate > 0) {
		prctl(PR_SET_TIMERSLACK, 1000UL); /* wake-ups within 1 us of the schedule */
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
		if (tfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e) != 0)
			die("timerfd");
		idle_cap = (size_t)nconns;
		idle = calloc(idle_cap, sizeof(*idle));
		for (int i = 0; i < nconns; i++)
			idle[idle_n++] = &cs[i];
	}
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9);
	sched_t0 = t0;
	if (rate > 0) {
		sched_send();
	} else {
		for (int i = 0; i < nconns; i++)
			turn_start(&cs[i]);
	}
	size_t busy = (size_t)nconns;
	while (busy > 0) {
		struct epoll_event ev[64];
		if (rate > 0 && !stopping) {
			/* the timer at the next scheduled turn while a client is idle */
			uint64_t at = idle_n > 0 ? sched_at(sched_next) : 0;
			struct itimerspec its = { .it_value = { (time_t)(at / 1000000000u), (long)(at % 1000000000u) } };
			timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		}
		int n = epoll_wait(ep, ev, 64, 100);
		if (!stopping && now_ns() >= end) {
			stopping = true;
			if (rate > 0) {
				/* the idle clients are done; the busy ones finish their turn */
				for (size_t k = 0; k < idle_n; k++)
					epoll_ctl(ep, EPOLL_CTL_DEL, idle[(idle_head + k) % idle_cap]->fd, NULL);
				busy -= idle_n;
				idle_n = 0;
			}
		}
		for (int i = 0; i < n; i++) {
			conn *c = ev[i].data.ptr;
			if (c == NULL) {
				uint64_t x;
				if (read(tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
					die("timerfd read");
				sched_send();
				continue;
			}
			if (c->len == c->cap) {
				c->cap *= 2;
				c->in = realloc(c->in, c->cap);
			}
			ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
			if (r <= 0) {
				fprintf(stderr, "tau-bench-wsload: the server closed a connection\n");
				return 1;
			}
			c->len += (size_t)r;
			uint64_t before = turns + failed;
			if (c->ws)
				ws_parse(c);
			else
				sse_parse(c);
			if (stopping && turns + failed > before) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				busy--;
				if (rate > 0)
					idle_n = 0; /* it was put back as idle: no more turns */
			}
		}
		if (stopping && now_ns() > end + 10000000000u)
			break; /* a turn that never ends: 10 s past the end */
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &ru1);
	uint64_t cpu = (uint64_t)((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
	    ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000 +
	    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec));
	/* nearest rank: the ceil(p/100 * n)-th smallest */
	uint32_t *sorted = malloc((nlat ? nlat : 1) * sizeof(*sorted));
	memcpy(sorted, lat, nlat * sizeof(*sorted));
	qsort(sorted, nlat, sizeof(*sorted), cmp);
	size_t r50 = nlat ? (nlat * 50 + 99) / 100 : 1, r99 = nlat ? (nlat * 99 + 99) / 100 : 1;
	if (rate > 0) {
		qsort(lags, nlags, sizeof(*lags), cmp);
		size_t l99 = nlags ? (nlags * 99 + 99) / 100 : 1;
		qsort(slat, nslat, sizeof(*slat), cmp);
		size_t s99 = nslat ? (nslat * 99 + 99) / 100 : 1;
		printf("{\"rate\":%.1f,\"lag_p99_us\":%u,\"sent_p99_us\":%u,", rate,
		    nlags ? lags[l99 - 1] : 0, nslat ? slat[s99 - 1] : 0);
	} else {
		printf("{");
	}
	printf("\"mode\":\"%s\",\"turns\":%llu,\"failed\":%llu,\"secs\":%.3f,\"turns_per_s\":%.1f,"
	    "\"p50_us\":%u,\"p99_us\":%u,\"cpu_us\":%llu,\"lat\":[", ws ? "ws" : "sse",
	    (unsigned long long)turns, (unsigned long long)failed, elapsed, (double)turns / elapsed,
	    nlat ? sorted[r50 - 1] : 0, nlat ? sorted[r99 - 1] : 0, (unsigned long long)cpu);
	for (size_t i = 0; i < nlat; i++)
		printf(i ? ",%u" : "%u", lat[i]);
	printf("]}\n");
	return 0;
}
