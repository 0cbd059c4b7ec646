/*
 * keygate.c - per-key turn gate of one server (keygate.h).
 *
 * A list of the keys in use, each with a FIFO of its turns (the head is
 * inside, the rest wait in arrival order; a waiter that gives up unlinks
 * itself); one mutex and one condition variable for all (turns
 * are milliseconds to seconds long, and the list holds one entry per key
 * in use).  A waiter wakes at least every SRV_KEYGATE_POLL_MS to look at
 * its cancel flag.  Never holds the mutex while a turn runs.
 */
#include "server/keygate.h"
#include "core/base/clock.h"
#include "core/base/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SRV_KEYGATE_POLL_MS 50

/* One turn in a key's line (heap: the head outlives srv_keygate_enter). */
typedef struct srv_gate_turn {
	struct srv_gate_turn *next;
} srv_gate_turn;

typedef struct srv_gate_key {
	struct srv_gate_key *next;
	srv_gate_turn *head;     /* inside */
	srv_gate_turn *tail;
	char key[];
} srv_gate_key;

struct srv_keygate {
	pthread_mutex_t lock;
	pthread_cond_t changed;  /* CLOCK_MONOTONIC */
	srv_gate_key *keys;
};

srv_keygate *
srv_keygate_new(void)
{
	srv_keygate *g = gw_xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->changed, &ca);
	pthread_condattr_destroy(&ca);
	return g;
}

void
srv_keygate_free(srv_keygate *g)
{
	if (g == NULL)
		return;
	while (g->keys != NULL) {
		srv_gate_key *k = g->keys;
		g->keys = k->next;
		while (k->head != NULL) {
			srv_gate_turn *t = k->head;
			k->head = t->next;
			free(t);
		}
		free(k);
	}
	pthread_cond_destroy(&g->changed);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* The key's entry (and where it is linked from), or NULL.  Under lock. */
static srv_gate_key *
srv_keygate_find(srv_keygate *g, const char *key, srv_gate_key ***link)
{
	srv_gate_key **pp = &g->keys;
	for (; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	if (link != NULL)
		*link = pp;
	return *pp;
}

/* Unlinks t from k's line, and k from the gate when its line is empty.
 * Under lock. */
static void
srv_keygate_unlink(srv_keygate *g, srv_gate_key *k, srv_gate_turn *t)
{
	srv_gate_turn **tp = &k->head, *prev = NULL;
	while (*tp != NULL && *tp != t) {
		prev = *tp;
		tp = &(*tp)->next;
	}
	if (*tp == NULL)
		return;
	*tp = t->next;
	if (k->tail == t)
		k->tail = prev;
	if (k->head == NULL) {
		srv_gate_key **pp;
		srv_keygate_find(g, k->key, &pp);
		*pp = k->next;
		free(k);
	}
}

int
srv_keygate_enter(srv_keygate *g, const char *key, uint64_t wait_ms, const atomic_bool *cancel)
{
	uint64_t deadline = gw_clock_mono_ms() + wait_ms;
	srv_gate_turn *me = gw_xcalloc(1, sizeof(*me));
	pthread_mutex_lock(&g->lock);
	srv_gate_key *k = srv_keygate_find(g, key, NULL);
	if (k == NULL) {
		size_t n = strlen(key);
		k = gw_xcalloc(1, sizeof(*k) + n + 1);
		memcpy(k->key, key, n + 1);
		k->next = g->keys;
		g->keys = k;
	}
	if (k->tail != NULL)
		k->tail->next = me;
	else
		k->head = me;
	k->tail = me;
	int rc = 0;
	while (k->head != me) {
		uint64_t now = gw_clock_mono_ms();
		if (cancel != NULL && atomic_load(cancel))
			rc = -ECANCELED;
		else if (now >= deadline)
			rc = -ETIMEDOUT;
		if (rc != 0) {
			srv_keygate_unlink(g, k, me); /* k stays: its head is inside */
			free(me);
			break;
		}
		uint64_t slice = deadline - now < SRV_KEYGATE_POLL_MS ? deadline - now :
		    SRV_KEYGATE_POLL_MS;
		struct timespec ts;
		gw_clock_mono_deadline(&ts, slice);
		pthread_cond_timedwait(&g->changed, &g->lock, &ts);
		/* k cannot go while me is in its line */
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void
srv_keygate_leave(srv_keygate *g, const char *key)
{
	pthread_mutex_lock(&g->lock);
	srv_gate_key *k = srv_keygate_find(g, key, NULL);
	if (k != NULL && k->head != NULL) {
		srv_gate_turn *t = k->head;
		srv_keygate_unlink(g, k, t);
		free(t);
		pthread_cond_broadcast(&g->changed);
	}
	pthread_mutex_unlock(&g->lock);
}

size_t
srv_keygate_line(srv_keygate *g, const char *key)
{
	size_t n = 0;
	pthread_mutex_lock(&g->lock);
	srv_gate_key *k = srv_keygate_find(g, key, NULL);
	for (srv_gate_turn *t = k != NULL ? k->head : NULL; t != NULL; t = t->next)
		n++;
	pthread_mutex_unlock(&g->lock);
	return n;
}
