/*
 * health.c - health snapshot classification and (de)serialisation.
 * Pure functions; no I/O.
 */
#include "core/gateway/health.h"

#include <errno.h>
#include <stdio.h>

static const struct {
	const char *name;
	size_t off;
} gw_health_fields[] = {
	{ "updated_unix_ms", offsetof(gw_health, updated_unix_ms) },
	{ "cycle_duration_ms", offsetof(gw_health, cycle_duration_ms) },
	{ "queue_depth", offsetof(gw_health, queue_depth) },
	{ "active_runs", offsetof(gw_health, active_runs) },
	{ "failure_streak", offsetof(gw_health, failure_streak) },
	{ "last_cycle_discovered", offsetof(gw_health, last_cycle_discovered) },
	{ "last_cycle_processed", offsetof(gw_health, last_cycle_processed) },
	{ "last_cycle_completed", offsetof(gw_health, last_cycle_completed) },
	{ "last_cycle_failed", offsetof(gw_health, last_cycle_failed) },
	{ "last_cycle_duplicates", offsetof(gw_health, last_cycle_duplicates) },
};
#define GW_NHEALTH (sizeof(gw_health_fields) / sizeof(gw_health_fields[0]))

static uint64_t *
gw_health_at(gw_health *h, size_t i)
{
	return (uint64_t *)((char *)h + gw_health_fields[i].off);
}

static uint64_t
gw_health_get(const gw_health *h, size_t i)
{
	return *(const uint64_t *)((const char *)h + gw_health_fields[i].off);
}

gw_health_state
gw_health_classify(const gw_health *h, char *reason, size_t n)
{
	if (h->failure_streak >= 3) {
		snprintf(reason, n, "transport failures are sustained (failure_streak=%llu)",
		    (unsigned long long)h->failure_streak);
		return GW_HEALTH_FAILING;
	}
	if (h->failure_streak > 0 || h->last_cycle_failed > 0) {
		snprintf(reason, n,
		    "recent transport failures observed (failure_streak=%llu, last_cycle_failed=%llu)",
		    (unsigned long long)h->failure_streak, (unsigned long long)h->last_cycle_failed);
		return GW_HEALTH_DEGRADED;
	}
	snprintf(reason, n, "no recent transport failures observed");
	return GW_HEALTH_HEALTHY;
}

const char *
gw_health_state_name(gw_health_state s)
{
	switch (s) {
	case GW_HEALTH_FAILING: return "failing";
	case GW_HEALTH_DEGRADED: return "degraded";
	default: return "healthy";
	}
}

void
gw_health_write_json(gw_jw *w, const gw_health *h)
{
	gw_jw_obj_begin(w);
	for (size_t i = 0; i < GW_NHEALTH; i++)
		gw_jw_ku64(w, gw_health_fields[i].name, gw_health_get(h, i));
	gw_jw_obj_end(w);
}

int
gw_health_from_json(const cJSON *obj, gw_health *h, const char *where, gw_err *err)
{
	*h = (gw_health){ 0 };
	if (obj == NULL || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj))
		return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR, "%s: health must be an object", where);
	for (size_t i = 0; i < GW_NHEALTH; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, gw_health_fields[i].name);
		if (v == NULL)
			continue;
		if (!gw_json_as_u64(v, gw_health_at(h, i)))
			return gw_err_set(err, -EINVAL, GW_EXIT_DATAERR,
			    "%s: health.%s must be a non-negative integer", where,
			    gw_health_fields[i].name);
	}
	return 0;
}

void
gw_health_write_text(gw_buf *b, const gw_health *h)
{
	for (size_t i = 0; i < GW_NHEALTH; i++) {
		gw_buf_printf(b, " %s=", gw_health_fields[i].name);
		gw_buf_put_u64(b, gw_health_get(h, i));
	}
}
