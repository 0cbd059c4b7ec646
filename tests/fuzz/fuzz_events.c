/*
 * fuzz_events - runtime-events.jsonl through the status summary, the
 * backwards tail (several line counts) and the follower's read_from.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gateway/events.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	size_t lines, bytes;
} fuzz_count;

static void
fuzz_line(const char *line, size_t n, void *ctx)
{
	fuzz_count *c = ctx;
	/* touch every byte, so ASan sees any read past the line */
	for (size_t i = 0; i < n; i++)
		c->bytes += (unsigned char)line[i] != 0;
	c->lines++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), GW_EVENTS_FILE);
	fuzz_write_file(path, data, size);
	gw_err err;
	gw_err_clear(&err);
	gw_events_summary sum;
	memset(&sum, 0, sizeof(sum));
	if (gw_events_summarize(path, &sum, &err) == 0)
		gw_events_summary_free(&sum);
	static const size_t counts[] = { 0, 1, 3, 50 };
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		fuzz_count c = { 0, 0 };
		uint64_t end = 0;
		if (gw_events_tail(path, counts[k], fuzz_line, &c, &end, &err) == 0) {
			/* end: just past the last complete line, where a follower starts */
			if (c.lines > counts[k] || end > size || (end > 0 && data[end - 1] != '\n'))
				abort();
		}
	}
	fuzz_count c = { 0, 0 };
	uint64_t off = size > 0 ? data[0] % (size + 1) : 0;
	if (gw_events_read_from(path, &off, fuzz_line, &c, &err) == 0 && off > size)
		abort();
	return 0;
}
