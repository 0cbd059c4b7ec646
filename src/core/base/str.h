/*
 * str.h - small string helpers shared by the core: trimming, blank tests
 * and case folding into caller buffers.  "Space" is isspace() in the C
 * locale.  Nothing here allocates except gw_str_trimdup (arena).
 */
#ifndef GW_STR_H
#define GW_STR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/mem.h"

typedef enum gw_str_fold {
	GW_STR_KEEP,
	GW_STR_UPPER,
	GW_STR_LOWER
} gw_str_fold;

/* Points start and len at s without leading and trailing space (no copy). */
void gw_str_trim(const char *s, const char **start, size_t *len);
/* True when s is NULL, empty or only space. */
bool gw_str_blank(const char *s);
/* Copies trim(s), case-folded, into out (n bytes, truncated, always
 * NUL-terminated); returns the copied length. */
size_t gw_str_copy_trim(char *out, size_t n, const char *s, gw_str_fold fold);
/* Trims s in place. */
void gw_str_trim_inplace(char *s);
/* Returns an arena-owned copy of trim(s). */
char *gw_str_trimdup(gw_arena *a, const char *s);
/* Returns s, or "none" when s is blank (the text reports' convention). */
const char *gw_str_or_none(const char *s);

#endif
