/*
 * respcache.c - the stored responses' walk cache (respcache.h): a hash map
 * from id to entry and a doubly linked list in use order (the head the
 * most recently used), both under one mutex.  An entry is made whole
 * before it is published and never written after, so readers share it
 * without the lock; only its reference count and its place in the list
 * change, under the lock.  An entry evicted or dropped while held leaves
 * the map and the count at once and is freed by its last release.
 */
#include "core/openresponses/respcache.h"
#include "core/base/mem.h"
#include "core/base/strmap.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct gw_respcache_node {
	gw_respcache_entry pub;          /* first: the entry handed out is the node */
	struct gw_respcache_node *prev, *next; /* use order, while kept */
	size_t cost;                     /* bytes as counted (respcache.h) */
	unsigned refs;                   /* holders outside the cache */
	bool kept;                       /* in the map and the list */
} gw_respcache_node;

struct gw_respcache {
	pthread_mutex_t lock;
	gw_strmap *map;                  /* id -> node (its own id string) */
	gw_respcache_node *head, *tail;
	size_t bytes, count, max_bytes;
};

gw_respcache *
gw_respcache_new(size_t max_bytes)
{
	gw_respcache *c = gw_xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->map = gw_strmap_new(256);
	c->max_bytes = max_bytes;
	return c;
}

static void
gw_respcache_node_free(gw_respcache_node *n)
{
	free((char *)n->pub.id);
	free((char *)n->pub.previous_id);
	free((char *)n->pub.session_key);
	cJSON_Delete((cJSON *)n->pub.items);
	free(n);
}

void
gw_respcache_free(gw_respcache *c)
{
	if (c == NULL)
		return;
	for (gw_respcache_node *n = c->head, *next; n != NULL; n = next) {
		next = n->next;
		gw_respcache_node_free(n);
	}
	gw_strmap_free(c->map);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The bytes a cJSON tree counts: its nodes and their strings. */
static size_t
gw_respcache_tree_cost(const cJSON *j)
{
	size_t cost = 0;
	for (; j != NULL; j = j->next) {
		cost += sizeof(cJSON);
		if (j->string != NULL && !(j->type & cJSON_StringIsConst))
			cost += strlen(j->string) + 1;
		if (j->valuestring != NULL)
			cost += strlen(j->valuestring) + 1;
		cost += gw_respcache_tree_cost(j->child);
	}
	return cost;
}

/* Takes n out of the use list and the map (under the lock). */
static void
gw_respcache_unlink(gw_respcache *c, gw_respcache_node *n)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		c->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		c->tail = n->prev;
	n->prev = n->next = NULL;
	gw_strmap_del(c->map, n->pub.id);
	c->bytes -= n->cost;
	c->count--;
	n->kept = false;
}

/* Unlinks n and frees it unless someone holds it (under the lock). */
static void
gw_respcache_evict(gw_respcache *c, gw_respcache_node *n)
{
	gw_respcache_unlink(c, n);
	if (n->refs == 0)
		gw_respcache_node_free(n);
}

static void
gw_respcache_push_head(gw_respcache *c, gw_respcache_node *n)
{
	n->prev = NULL;
	n->next = c->head;
	if (c->head != NULL)
		c->head->prev = n;
	c->head = n;
	if (c->tail == NULL)
		c->tail = n;
}

void
gw_respcache_put(gw_respcache *c, const char *id, const char *previous_id,
    const char *session_key, cJSON *items, size_t text_len)
{
	if (c == NULL || id == NULL || !cJSON_IsArray(items)) {
		cJSON_Delete(items);
		return;
	}
	gw_respcache_node *n = gw_xcalloc(1, sizeof(*n));
	n->pub.id = gw_xstrdup(id);
	n->pub.previous_id = previous_id != NULL ? gw_xstrdup(previous_id) : NULL;
	n->pub.session_key = gw_xstrdup(session_key != NULL ? session_key : "");
	n->pub.items = items;
	n->pub.count = (size_t)cJSON_GetArraySize(items);
	n->pub.text_len = text_len;
	/* counted outside the lock: the node is nobody else's yet */
	n->cost = sizeof(*n) + strlen(id) + 1 + strlen(n->pub.session_key) + 1 +
	    (previous_id != NULL ? strlen(previous_id) + 1 : 0) + gw_respcache_tree_cost(items);
	if (n->cost > c->max_bytes / 4) {
		gw_respcache_node_free(n);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (gw_strmap_get(c->map, id, NULL)) {
		pthread_mutex_unlock(&c->lock);
		gw_respcache_node_free(n);
		return;
	}
	while (c->tail != NULL && c->bytes + n->cost > c->max_bytes)
		gw_respcache_evict(c, c->tail);
	gw_respcache_push_head(c, n);
	gw_strmap_put(c->map, n->pub.id, (size_t)(uintptr_t)n);
	c->bytes += n->cost;
	c->count++;
	n->kept = true;
	pthread_mutex_unlock(&c->lock);
}

const gw_respcache_entry *
gw_respcache_get(gw_respcache *c, const char *id)
{
	if (c == NULL || id == NULL)
		return NULL;
	size_t v;
	gw_respcache_node *n = NULL;
	pthread_mutex_lock(&c->lock);
	if (gw_strmap_get(c->map, id, &v)) {
		n = (gw_respcache_node *)(uintptr_t)v;
		n->refs++;
		if (c->head != n) { /* most recently used: to the head */
			gw_respcache_node *nx = n->next;
			n->prev->next = nx;
			if (nx != NULL)
				nx->prev = n->prev;
			else
				c->tail = n->prev;
			gw_respcache_push_head(c, n);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return n != NULL ? &n->pub : NULL;
}

void
gw_respcache_ref(gw_respcache *c, const gw_respcache_entry *e)
{
	gw_respcache_node *n = (gw_respcache_node *)(uintptr_t)e;
	pthread_mutex_lock(&c->lock);
	n->refs++;
	pthread_mutex_unlock(&c->lock);
}

void
gw_respcache_release(gw_respcache *c, const gw_respcache_entry *e)
{
	if (c == NULL || e == NULL)
		return;
	gw_respcache_node *n = (gw_respcache_node *)(uintptr_t)e;
	pthread_mutex_lock(&c->lock);
	bool gone = --n->refs == 0 && !n->kept;
	pthread_mutex_unlock(&c->lock);
	if (gone)
		gw_respcache_node_free(n);
}

void
gw_respcache_drop(gw_respcache *c, const char *id)
{
	if (c == NULL || id == NULL)
		return;
	size_t v;
	pthread_mutex_lock(&c->lock);
	if (gw_strmap_get(c->map, id, &v))
		gw_respcache_evict(c, (gw_respcache_node *)(uintptr_t)v);
	pthread_mutex_unlock(&c->lock);
}

size_t
gw_respcache_bytes(gw_respcache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t b = c->bytes;
	pthread_mutex_unlock(&c->lock);
	return b;
}

size_t
gw_respcache_count(gw_respcache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}
