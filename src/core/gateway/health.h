/*
 * health.h - the transport health snapshot and its classification
 * (healthy / degraded / failing), as the reference defines them.
 */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/json.h"

typedef struct gw_health {
	uint64_t updated_unix_ms;
	uint64_t cycle_duration_ms;
	uint64_t queue_depth;
	uint64_t active_runs;
	uint64_t failure_streak;
	uint64_t last_cycle_discovered;
	uint64_t last_cycle_processed;
	uint64_t last_cycle_completed;
	uint64_t last_cycle_failed;
	uint64_t last_cycle_duplicates;
} gw_health;

typedef enum gw_health_state {
	GW_HEALTH_HEALTHY,
	GW_HEALTH_DEGRADED,
	GW_HEALTH_FAILING
} gw_health_state;

#define GW_HEALTH_REASON_MAX 160

/* Classifies h; writes the one-line reason into reason (n bytes). */
gw_health_state gw_health_classify(const gw_health *h, char *reason, size_t n);
/* Returns "healthy", "degraded" or "failing". */
const char *gw_health_state_name(gw_health_state s);
/* Writes h as a JSON object (reference field order). */
void gw_health_write_json(gw_jw *w, const gw_health *h);
/* Reads a health object; absent fields are 0.  Returns 0, or -EINVAL with
 * err naming the field when a member has the wrong type. */
int gw_health_from_json(const cJSON *obj, gw_health *h, const char *where, gw_err *err);
/* Appends " key=value" pairs for every field (the inspect text line). */
void gw_health_write_text(gw_buf *b, const gw_health *h);

#endif
