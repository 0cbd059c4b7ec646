/*
 * workq.c - on-demand worker threads over a FIFO of jobs.  Idle workers
 * sleep on a condition variable (no polling); the queue never drops a job.
 */
#include "server/workq.h"
#include "core/base/mem.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct srv_job {
	srv_job_fn fn;
	void *arg;
	struct srv_job *next;
} srv_job;

struct srv_workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	srv_job *head, *tail;
	pthread_t *threads;
	size_t nthreads, max_threads, idle;
	size_t queued;         /* jobs in the list, not yet taken */
	bool stopping;
};

static void *
srv_workq_main(void *arg)
{
	srv_workq *q = arg;
	/* a thread inherits its creator's name (an event loop's): its own
	 * tells the two apart (top -H, ps -L, http_chain_offloop) */
	pthread_setname_np(pthread_self(), "tau-work");
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->stopping) {
			q->idle++;
			pthread_cond_wait(&q->cond, &q->lock);
			q->idle--;
		}
		srv_job *j = q->head;
		if (j == NULL)
			break; /* stopping and drained */
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->queued--;
		pthread_mutex_unlock(&q->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

srv_workq *
srv_workq_new(size_t max_threads)
{
	srv_workq *q = gw_xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->max_threads = max_threads ? max_threads : 1;
	q->threads = gw_xcalloc(q->max_threads, sizeof(*q->threads));
	return q;
}

void
srv_workq_push(srv_workq *q, srv_job_fn fn, void *arg)
{
	srv_job *j = gw_xmalloc(sizeof(*j));
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->queued++;
	/* a thread for every job no idle thread will take: an idle thread
	 * already signalled for an earlier job still counts as idle until it
	 * wakes, so comparing with the queue (not idle == 0) keeps a second
	 * job from waiting for the first one's whole run */
	if (q->queued > q->idle && q->nthreads < q->max_threads) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 1u << 20);
		/* workers inherit the creator's signal mask; block the
		 * shutdown signals so only the foreground waiter sees them */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (pthread_create(&q->threads[q->nthreads], &attr, srv_workq_main, q) == 0)
			q->nthreads++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void
srv_workq_free(srv_workq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	size_t n = q->nthreads;
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < n; i++)
		pthread_join(q->threads[i], NULL);
	/* no thread ever started (creation failed): run what is left here */
	for (srv_job *j = q->head, *next; j; j = next) {
		next = j->next;
		j->fn(j->arg);
		free(j);
	}
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	free(q);
}
