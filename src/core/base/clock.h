/*
 * clock.h - the two clocks: wall-clock Unix milliseconds for records, and
 * CLOCK_MONOTONIC milliseconds for durations.
 */
#ifndef GW_CLOCK_H
#define GW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall-clock time in Unix milliseconds (for records, never for durations). */
uint64_t gw_clock_unix_ms(void);
/* Monotonic milliseconds since an arbitrary origin (for durations). */
uint64_t gw_clock_mono_ms(void);
/* Monotonic nanoseconds since an arbitrary origin. */
uint64_t gw_clock_mono_ns(void);
/* Sets *ts to CLOCK_MONOTONIC now plus ms: the absolute deadline a
 * pthread_cond_timedwait on a CLOCK_MONOTONIC condition takes. */
void gw_clock_mono_deadline(struct timespec *ts, uint64_t ms);
/* Sleeps ms milliseconds, resuming after signals. */
void gw_clock_sleep_ms(uint64_t ms);

#endif
