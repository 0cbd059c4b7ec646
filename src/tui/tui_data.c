/*
 * tui_data.c - the console's data (see tui_data.h).
 *
 * Reads go through the core's own loaders (gw_state_load, gw_events_tail,
 * gw_events_read_from), so the console can never disagree with the flags.
 * This module must never write to the state directory and never touch the
 * terminal; the log ring is the only part used from other threads.
 */
#include "tui/tui_data.h"
#include "core/base/clock.h"
#include "core/gateway/events.h"
#include "core/base/fs.h"
#include "core/base/mem.h"
#include "core/gateway/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- posture ------------------------------------------------------------ */

void
tui_posture_fill(tui_posture *p, const gw_state *st)
{
	p->error[0] = '\0';
	p->corrupt = false;
	p->exists = st->existed;
	gw_service_report_from_state(&p->report, st);
	p->guardrail = st->guardrail;
	p->health_state = gw_health_classify(&st->health, p->health_reason, sizeof(p->health_reason));
}

void
tui_posture_load(const char *dir, tui_posture *p)
{
	gw_err err;
	gw_err_clear(&err);
	gw_state *st = NULL;
	/* posture only: the request records are not needed on screen */
	if (gw_state_load(dir, GW_STATE_READ_POSTURE, &st, &err) != 0) {
		snprintf(p->error, sizeof(p->error), "%s", err.msg);
		/* a file that does not parse (65), not one that cannot be read */
		p->corrupt = gw_err_exit(&err) == GW_EXIT_DATAERR;
		return;
	}
	tui_posture_fill(p, st);
	struct stat sb;
	p->mtime_ms = stat(st->path, &sb) == 0 ?
	    (uint64_t)sb.st_mtim.tv_sec * 1000 + (uint64_t)sb.st_mtim.tv_nsec / 1000000 : 0;
	gw_state_free(st);
}

/* ---- events ------------------------------------------------------------- */

void
tui_events_init(tui_events *ev, const char *dir, size_t cap)
{
	memset(ev, 0, sizeof(*ev));
	ev->path = gw_events_path(dir);
	ev->cap = cap;
	ev->ring = gw_xcalloc(cap, sizeof(*ev->ring));
	ev->next_id = 1;
}

void
tui_events_free(tui_events *ev)
{
	for (size_t i = 0; i < ev->count; i++)
		free(ev->ring[(ev->head + i) % ev->cap].text);
	free(ev->ring);
	free(ev->path);
	memset(ev, 0, sizeof(*ev));
}

/* Takes the slot for a new newest event, evicting the oldest if full. */
static tui_event *
tui_events_push(tui_events *ev)
{
	tui_event *e;
	if (ev->count == ev->cap) {
		e = &ev->ring[ev->head];
		free(e->text);
		ev->head = (ev->head + 1) % ev->cap;
	} else {
		e = &ev->ring[(ev->head + ev->count) % ev->cap];
		ev->count++;
	}
	memset(e, 0, sizeof(*e));
	e->id = ev->next_id++;
	return e;
}

static void
tui_events_line(const char *line, size_t n, void *ctx)
{
	tui_events *ev = ctx;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
		n--;
	if (n == 0)
		return;
	tui_event *e = tui_events_push(ev);
	e->text = gw_xstrndup(line, n);
	tui_render_event_parse(line, n, &e->sum);
	if (e->sum.is_cycle) {
		ev->last_cycle = e->sum.cycle;
		ev->have_cycle = true;
	}
	ev->lines_read++;
}

int
tui_events_load_tail(tui_events *ev, gw_err *err)
{
	return gw_events_tail(ev->path, ev->cap, tui_events_line, ev, &ev->off, err);
}

int
tui_events_follow(tui_events *ev, gw_err *err)
{
	uint64_t before = ev->lines_read;
	int rc = gw_events_read_from(ev->path, &ev->off, tui_events_line, ev, err);
	if (rc != 0)
		return rc;
	return (int)(ev->lines_read - before > 0x7fffffff ? 0x7fffffff : ev->lines_read - before);
}

void
tui_events_add_line(tui_events *ev, const char *line, size_t n)
{
	tui_events_line(line, n, ev);
}

const tui_event *
tui_events_at(const tui_events *ev, size_t i)
{
	return &ev->ring[(ev->head + i) % ev->cap];
}

size_t
tui_events_filter(const tui_events *ev, const char *filter, size_t *idx)
{
	size_t n = 0;
	gw_buf row = GW_BUF_INIT;
	uint64_t now = gw_clock_unix_ms();
	for (size_t i = 0; i < ev->count; i++) {
		const tui_event *e = tui_events_at(ev, i);
		if (filter[0] != '\0') {
			/* the row as drawn, never the hidden JSON keys ("threshold"
			 * would make HOLD match every line) */
			gw_buf_reset(&row);
			tui_render_event_line(&row, &e->sum, NULL, now);
			if (!tui_render_match(gw_buf_cstr(&row), filter))
				continue;
		}
		idx[n++] = i;
	}
	gw_buf_free(&row);
	return n;
}

/* ---- console log -------------------------------------------------------- */

int
tui_log_init(tui_log *log, size_t cap, const char *file, gw_err *err)
{
	memset(log, 0, sizeof(*log));
	pthread_mutex_init(&log->mu, NULL);
	log->cap = cap;
	log->lines = gw_xcalloc(cap, sizeof(*log->lines));
	log->file_fd = -1;
	log->wake_fd = -1;
	if (file != NULL) {
		int fd = gw_fs_open_named_append(file, err);
		if (fd < 0) {
			gw_err_prefix(err, "--console-log");
			return fd;
		}
		log->file_fd = fd;
	}
	return 0;
}

void
tui_log_free(tui_log *log)
{
	for (size_t i = 0; i < log->count; i++)
		free(log->lines[(log->head + i) % log->cap]);
	free(log->lines);
	if (log->file_fd >= 0)
		close(log->file_fd);
	pthread_mutex_destroy(&log->mu);
	memset(log, 0, sizeof(*log));
	log->file_fd = log->wake_fd = -1;
}

/* Adds one line of n bytes (no newline); the lock is held. */
static void
tui_log_put(tui_log *log, const char *stamp, const char *s, size_t n)
{
	gw_buf b = GW_BUF_INIT;
	gw_buf_printf(&b, "%s %.*s", stamp, (int)n, s);
	if (log->file_fd >= 0) {
		gw_buf_putc(&b, '\n');
		/* best effort: a full disk must not stop the console */
		ssize_t w = write(log->file_fd, b.data, b.len);
		(void)w;
		b.data[--b.len] = '\0';
	}
	if (log->count == log->cap) {
		free(log->lines[log->head]);
		log->head = (log->head + 1) % log->cap;
		log->count--;
	}
	log->lines[(log->head + log->count) % log->cap] = gw_buf_detach(&b);
	log->count++;
	log->seq++;
}

void
tui_log_add(tui_log *log, const char *line)
{
	gw_buf stamp = GW_BUF_INIT;
	tui_render_clock(&stamp, gw_clock_unix_ms());
	pthread_mutex_lock(&log->mu);
	for (const char *p = line; *p;) {
		size_t n = strcspn(p, "\n");
		if (n > 0)
			tui_log_put(log, gw_buf_cstr(&stamp), p, n);
		p += n;
		if (*p == '\n')
			p++;
	}
	pthread_mutex_unlock(&log->mu);
	gw_buf_free(&stamp);
	if (log->wake_fd >= 0)
		gw_fs_eventfd_signal(log->wake_fd);
}

void
tui_log_addf(tui_log *log, const char *fmt, ...)
{
	gw_buf b = GW_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	gw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	tui_log_add(log, gw_buf_cstr(&b));
	gw_buf_free(&b);
}

size_t
tui_log_copy(tui_log *log, size_t from, size_t n, gw_buf *out, size_t *total)
{
	size_t copied = 0;
	pthread_mutex_lock(&log->mu);
	*total = log->count;
	for (size_t i = from; i < log->count && copied < n; i++, copied++) {
		gw_buf_puts(out, log->lines[(log->head + i) % log->cap]);
		gw_buf_putc(out, '\n');
	}
	pthread_mutex_unlock(&log->mu);
	return copied;
}
