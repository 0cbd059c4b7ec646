/*
 * str.c - trimming and folding helpers.  Byte-oriented and locale-free:
 * multi-byte UTF-8 passes through untouched (only ASCII letters fold).
 */
#include "core/base/str.h"

#include <ctype.h>
#include <string.h>

void
gw_str_trim(const char *s, const char **start, size_t *len)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	*start = s;
	*len = n;
}

bool
gw_str_blank(const char *s)
{
	if (s == NULL)
		return true;
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

size_t
gw_str_copy_trim(char *out, size_t n, const char *s, gw_str_fold fold)
{
	const char *t;
	size_t len, i = 0;
	gw_str_trim(s, &t, &len);
	for (; i < len && i + 1 < n; i++) {
		unsigned char c = (unsigned char)t[i];
		out[i] = (char)(fold == GW_STR_UPPER ? toupper(c) : fold == GW_STR_LOWER ? tolower(c) : c);
	}
	if (n > 0)
		out[i] = '\0';
	return i;
}

void
gw_str_trim_inplace(char *s)
{
	const char *t;
	size_t len;
	gw_str_trim(s, &t, &len);
	memmove(s, t, len);
	s[len] = '\0';
}

char *
gw_str_trimdup(gw_arena *a, const char *s)
{
	const char *t;
	size_t len;
	gw_str_trim(s, &t, &len);
	return gw_arena_strndup(a, t, len);
}

const char *
gw_str_or_none(const char *s)
{
	return gw_str_blank(s) ? "none" : s;
}
