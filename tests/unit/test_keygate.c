/*
 * test_keygate.c - the per-key turn gate of a server (src/server/keygate.c):
 * one thread inside per key, waiters enter in arrival order, a wait is
 * bounded and can be cancelled (and a waiter that gives up does not hold
 * the ones behind it), and other keys never wait.
 */
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/base/clock.h"
#include "server/keygate.h"

static void
test_other_keys_do_not_wait_and_a_busy_key_times_out(void **state)
{
	(void)state;
	srv_keygate *g = srv_keygate_new();
	assert_int_equal(srv_keygate_enter(g, "a", 0, NULL), 0);
	assert_int_equal(srv_keygate_enter(g, "b", 0, NULL), 0);
	uint64_t t0 = gw_clock_mono_ms();
	assert_int_equal(srv_keygate_enter(g, "a", 60, NULL), -ETIMEDOUT);
	uint64_t waited = gw_clock_mono_ms() - t0;
	assert_true(waited >= 55 && waited < 1000);
	atomic_bool cancel = true;
	assert_int_equal(srv_keygate_enter(g, "a", 60000, &cancel), -ECANCELED);
	srv_keygate_leave(g, "a");
	assert_int_equal(srv_keygate_enter(g, "a", 0, NULL), 0); /* free again */
	srv_keygate_leave(g, "a");
	srv_keygate_leave(g, "b");
	srv_keygate_free(g);
}

typedef struct turn {
	srv_keygate *g;
	int id;
	uint64_t wait_ms;
	int rc;
	int *order;
	atomic_int *n;
	atomic_int *inside;
	bool overlap;
} turn;

static void *
turn_main(void *arg)
{
	turn *t = arg;
	t->rc = srv_keygate_enter(t->g, "k", t->wait_ms, NULL);
	if (t->rc == 0) {
		if (atomic_fetch_add(t->inside, 1) != 0)
			t->overlap = true;
		t->order[atomic_fetch_add(t->n, 1)] = t->id;
		usleep(2000);
		atomic_fetch_sub(t->inside, 1);
		srv_keygate_leave(t->g, "k");
	}
	return NULL;
}

/* Waits (bounded, 5 s) until key k's line holds want turns. */
static void
await_line(srv_keygate *g, size_t want)
{
	for (int i = 0; i < 5000 && srv_keygate_line(g, "k") != want; i++)
		usleep(1000);
	assert_int_equal(srv_keygate_line(g, "k"), want);
}

static void
test_waiters_enter_one_at_a_time_in_arrival_order(void **state)
{
	(void)state;
	srv_keygate *g = srv_keygate_new();
	enum { N = 8 };
	int order[N] = { 0 };
	atomic_int n = 0, inside = 0;
	turn t[N];
	pthread_t th[N];
	/* the main thread holds the key while the waiters line up */
	assert_int_equal(srv_keygate_enter(g, "k", 0, NULL), 0);
	for (int i = 0; i < N; i++) {
		t[i] = (turn){ .g = g, .id = i, .wait_ms = 60000, .order = order, .n = &n,
			.inside = &inside };
		/* waiter 3 gives up while 4..7 are behind it */
		if (i == 3)
			t[i].wait_ms = 300;
		assert_int_equal(pthread_create(&th[i], NULL, turn_main, &t[i]), 0);
		await_line(g, (size_t)i + 2); /* the holder, then waiters 0..i */
	}
	pthread_join(th[3], NULL); /* timed out, out of the line */
	await_line(g, N);
	srv_keygate_leave(g, "k");
	for (int i = 0; i < N; i++)
		if (i != 3)
			pthread_join(th[i], NULL);
	assert_int_equal(t[3].rc, -ETIMEDOUT);
	assert_int_equal(atomic_load(&n), N - 1);
	int want[N - 1] = { 0, 1, 2, 4, 5, 6, 7 };
	for (int i = 0; i < N - 1; i++)
		assert_int_equal(order[i], want[i]);
	for (int i = 0; i < N; i++)
		assert_false(t[i].overlap);
	assert_int_equal(srv_keygate_line(g, "k"), 0); /* the key's entry is gone */
	assert_int_equal(srv_keygate_enter(g, "k", 0, NULL), 0);
	srv_keygate_leave(g, "k");
	srv_keygate_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_keys_do_not_wait_and_a_busy_key_times_out),
		cmocka_unit_test(test_waiters_enter_one_at_a_time_in_arrival_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
