/*
 * keygate.h - one turn per session key at a time inside this server, before
 * any database connection is taken.
 *
 * In fleet mode a session turn holds one of the bounded pool's PostgreSQL
 * connections (respconn.h) from locking its row to committing.  Were every
 * queued turn on a busy key to take a connection just to wait on the row
 * lock, fifty turns on one key would hold the whole pool and starve every
 * other key.  So turns on one key first queue here, on worker threads that
 * hold nothing, and only the head of each key's queue takes a connection
 * and waits (at most once per replica) on the row.  Waiters are served in
 * arrival order per key.
 *
 * Ownership: srv_keygate_new returns a gate the caller frees with
 * srv_keygate_free once no thread is inside it.
 */
#ifndef SRV_KEYGATE_H
#define SRV_KEYGATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct srv_keygate srv_keygate;

srv_keygate *srv_keygate_new(void);
void srv_keygate_free(srv_keygate *g);
/* Waits until no other thread of this server is inside the gate with key,
 * then enters it: 0; -ETIMEDOUT when wait_ms passed first; -ECANCELED once
 * *cancel (may be NULL) is set while waiting.  key is copied. */
int srv_keygate_enter(srv_keygate *g, const char *key, uint64_t wait_ms,
    const atomic_bool *cancel);
/* Leaves the gate entered with key (the next waiter enters). */
void srv_keygate_leave(srv_keygate *g, const char *key);
/* How many turns on key are in the gate now, inside and waiting (key
 * borrowed for the call; the unit test's readiness signal). */
size_t srv_keygate_line(srv_keygate *g, const char *key);

#endif
