/*
 * tui_fleet.c - the console against PostgreSQL (see tui_fleet.h).
 *
 * Every call that talks to the database checks the connection after a
 * failure: a connection that is gone (server restarted, backend
 * terminated, network cut) is closed, the status says so, and a reconnect
 * is tried after a backoff that doubles from 250 ms to 5 s.  A reconnect
 * LISTENs again and asks the caller to re-read everything, so a commit
 * made while the console was cut off is never missed.  This module must
 * never write to the store and never touch the terminal.
 */
#include "tui/tui_fleet.h"
#include "core/base/clock.h"
#include "core/base/mem.h"
#include "core/gateway/posture.h"
#include "core/gateway/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connects, bounds the statements, LISTENs. */
static int
tui_fleet_connect(tui_fleet *f, gw_err *err)
{
	gw_store *s = NULL;
	int rc = gw_reconnect_open(f->url, f->deployment, 0, TUI_FLEET_STATEMENT_MS, true, &s, err);
	if (rc != 0)
		return rc;
	f->store = s;
	if (f->label == NULL)
		f->label = gw_xstrdup(gw_store_label(s));
	f->status[0] = '\0';
	gw_reconnect_reset(&f->retry);
	return 0;
}

/* After a failed call: if the connection itself is gone, drop it and
 * schedule a reconnect.  what and err say what failed. */
static void
tui_fleet_check(tui_fleet *f, const char *what, const gw_err *err)
{
	if (f->store == NULL || gw_store_connected(f->store))
		return;
	gw_store_close(f->store);
	f->store = NULL;
	gw_reconnect_lost(&f->retry, gw_clock_mono_ms());
	snprintf(f->status, sizeof(f->status),
	    "state database connection lost (%s: %s); reconnecting", what, err->msg);
}

static void
tui_fleet_read_replicas(tui_fleet *f)
{
	f->replicas_at_ms = gw_clock_mono_ms() + TUI_FLEET_REPLICAS_MS;
	if (f->store == NULL)
		return;
	gw_err err;
	gw_err_clear(&err);
	gw_store_replica *r = NULL;
	size_t n = 0;
	if (gw_store_replica_list(f->store, &r, &n, &err) != 0) {
		tui_fleet_check(f, "replicas", &err);
		return;
	}
	free(f->replicas);
	f->replicas = r;
	f->nreplicas = n;
}

int
tui_fleet_open(tui_fleet *f, const char *url, const char *deployment, gw_err *err)
{
	memset(f, 0, sizeof(*f));
	gw_reconnect_init(&f->retry, TUI_FLEET_BACKOFF_MIN_MS, TUI_FLEET_BACKOFF_MAX_MS);
	f->url = gw_xstrdup(url);
	f->deployment = gw_xstrdup(deployment);
	int rc = tui_fleet_connect(f, err);
	if (rc != 0)
		return rc;
	tui_fleet_read_replicas(f);
	return 0;
}

void
tui_fleet_close(tui_fleet *f)
{
	gw_store_close(f->store);
	free(f->url);
	free(f->deployment);
	free(f->label);
	free(f->replicas);
	memset(f, 0, sizeof(*f));
}

int
tui_fleet_fd(const tui_fleet *f)
{
	return f->store != NULL ? gw_store_fd(f->store) : -1;
}

unsigned
tui_fleet_drain(tui_fleet *f)
{
	if (f->store == NULL)
		return 0;
	gw_err err;
	gw_err_clear(&err);
	unsigned n = 0;
	if (gw_store_drain(f->store, &n, &err) != 0)
		tui_fleet_check(f, "change feed", &err);
	return n;
}

bool
tui_fleet_tick(tui_fleet *f, uint64_t now)
{
	bool changed = false;
	if (f->store == NULL && gw_reconnect_due(&f->retry, now)) {
		gw_err err;
		gw_err_clear(&err);
		if (tui_fleet_connect(f, &err) == 0) {
			f->reconnected = true;
			f->replicas_at_ms = 0; /* read it now */
		} else {
			gw_reconnect_failed(&f->retry, now);
			snprintf(f->status, sizeof(f->status),
			    "state database unreachable (%s); retrying in %llu ms", err.msg,
			    (unsigned long long)f->retry.backoff_ms);
		}
		changed = true;
	}
	if (f->store != NULL && now >= f->replicas_at_ms) {
		tui_fleet_read_replicas(f);
		changed = true;
	}
	return changed;
}

int
tui_fleet_timeout(const tui_fleet *f, uint64_t now)
{
	uint64_t due = f->store == NULL ? f->retry.retry_at_ms : f->replicas_at_ms;
	return due <= now ? 0 : (int)(due - now);
}

void
tui_fleet_posture(tui_fleet *f, tui_posture *p)
{
	if (f->store == NULL)
		return;
	gw_err err;
	gw_err_clear(&err);
	gw_state *st = NULL;
	if (gw_posture_load(f->store, GW_STATE_READ_POSTURE, &st, &err) != 0) {
		snprintf(p->error, sizeof(p->error), "%s", err.msg);
		tui_fleet_check(f, "posture", &err);
		return;
	}
	tui_posture_fill(p, st);
	p->mtime_ms = gw_clock_unix_ms(); /* when the console read it */
	gw_state_free(st);
}

static void
tui_fleet_line(void *ctx, const char *line, size_t n)
{
	tui_events_add_line(ctx, line, n);
}

int
tui_fleet_events(tui_fleet *f, tui_events *ev, gw_err *err)
{
	if (f->store == NULL)
		return 0;
	uint64_t before = ev->lines_read;
	int rc = gw_store_events_since(f->store, &ev->off, ev->cap, tui_fleet_line, ev, err);
	if (rc != 0) {
		tui_fleet_check(f, "events", err);
		return rc;
	}
	return (int)(ev->lines_read - before);
}
