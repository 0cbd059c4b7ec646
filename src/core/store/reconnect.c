/*
 * reconnect.c - a fleet-mode connection that LISTENs, and the backoff
 * between reconnects (see reconnect.h).  No libpq here: everything goes
 * through store.h.
 */
#include "core/store/reconnect.h"
#include "core/base/clock.h"

void
gw_reconnect_init(gw_reconnect *r, uint64_t min_ms, uint64_t max_ms)
{
	r->min_ms = min_ms;
	r->max_ms = max_ms < min_ms ? min_ms : max_ms;
	r->backoff_ms = 0;
	r->retry_at_ms = 0;
}

int
gw_reconnect_open(const char *url, const char *deployment, uint64_t connect_ms,
    uint64_t statement_ms, bool listen, gw_store **out, gw_err *err)
{
	gw_store *s = NULL;
	*out = NULL;
	/* one bound for the whole open: the connect, the schema check and the
	 * set-up statements after it share connect_ms */
	uint64_t end = gw_clock_mono_ms() + connect_ms;
	int rc = gw_store_open_url_within(url, deployment, connect_ms, &s, err);
	if (rc == 0 && connect_ms > 0)
		gw_store_set_deadline(s, end);
	if (rc == 0 && statement_ms > 0)
		rc = gw_store_set_timeout(s, statement_ms, err);
	if (rc == 0 && listen)
		rc = gw_store_listen(s, err);
	if (rc == 0)
		gw_store_set_deadline(s, 0);
	if (rc != 0) {
		gw_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
gw_reconnect_lost(gw_reconnect *r, uint64_t now)
{
	r->backoff_ms = r->min_ms;
	r->retry_at_ms = now + r->backoff_ms;
}

void
gw_reconnect_failed(gw_reconnect *r, uint64_t now)
{
	uint64_t next = r->backoff_ms == 0 ? r->min_ms : r->backoff_ms * 2;
	r->backoff_ms = next > r->max_ms ? r->max_ms : next;
	r->retry_at_ms = now + r->backoff_ms;
}

void
gw_reconnect_reset(gw_reconnect *r)
{
	r->backoff_ms = 0;
	r->retry_at_ms = 0;
}

bool
gw_reconnect_due(const gw_reconnect *r, uint64_t now)
{
	return r->backoff_ms != 0 && now >= r->retry_at_ms;
}
