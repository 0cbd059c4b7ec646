/*
 * fuzz_events - runtime-events.jsonl through the status summary, the
 * backwards tail (several line counts) and the follower's read_from, each
 * checked against a plain reading of the same bytes: the tail emits the
 * last k non-empty complete lines, read_from from 0 emits them all, and
 * the tail ends just past the last complete line.
 *
 * A first byte 0x01..0x03 puts a 64 KiB+ prefix before the rest (one long
 * line, many short lines, or blank lines), so the tail's 64 KiB reads
 * split lines at every place; any other first byte is part of the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/gateway/events.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	gw_buf got;        /* the lines emitted, each followed by '\n' */
	size_t lines;
} fuzz_lines;

static void
fuzz_line(const char *line, size_t n, void *ctx)
{
	fuzz_lines *c = ctx;
	gw_buf_append(&c->got, line, n);
	gw_buf_putc(&c->got, '\n');
	c->lines++;
}

/* The last k (all when k is SIZE_MAX) non-empty complete lines of the n
 * bytes at p, each followed by '\n'. */
static void
fuzz_expect(const char *p, size_t n, size_t k, gw_buf *out)
{
	size_t total = 0;
	for (size_t i = 0, start = 0; i < n; i++)
		if (p[i] == '\n') {
			total += i > start;
			start = i + 1;
		}
	size_t skip = k < total ? total - k : 0;
	for (size_t i = 0, start = 0; i < n; i++)
		if (p[i] == '\n') {
			if (i > start) {
				if (skip > 0)
					skip--;
				else {
					gw_buf_append(out, p + start, i - start);
					gw_buf_putc(out, '\n');
				}
			}
			start = i + 1;
		}
}

static void
fuzz_same(const char *what, size_t k, const gw_buf *want, const gw_buf *got)
{
	if (want->len == got->len && (want->len == 0 || memcmp(want->data, got->data, want->len) == 0))
		return;
	fprintf(stderr, "%s(%zu): expected %zu bytes of lines, got %zu\n", what, k, want->len, got->len);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_buf file = GW_BUF_INIT;
	if (size > 0 && data[0] >= 1 && data[0] <= 3) {
		size_t pad = 65536 + (size > 1 ? data[1] : 0);
		if (data[0] == 1) {
			for (size_t i = 0; i + 1 < pad; i++)
				gw_buf_putc(&file, 'x');
			gw_buf_putc(&file, '\n');
		} else {
			while (file.len < pad)
				gw_buf_puts(&file, data[0] == 2 ? "{\"kind\":\"lifecycle\"}\n" : "\n");
		}
		data++;
		size--;
	}
	gw_buf_append(&file, data, size);
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), GW_EVENTS_FILE);
	fuzz_write_file(path, (const uint8_t *)file.data, file.len);

	gw_err err;
	gw_err_clear(&err);
	gw_events_summary sum;
	memset(&sum, 0, sizeof(sum));
	if (gw_events_summarize(path, &sum, &err) == 0)
		gw_events_summary_free(&sum);

	static const size_t counts[] = { 0, 1, 3, 50 };
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		fuzz_lines c = { GW_BUF_INIT, 0 };
		uint64_t end = 0;
		if (gw_events_tail(path, counts[k], fuzz_line, &c, &end, &err) != 0)
			abort();
		/* end: just past the last complete line, where a follower starts */
		size_t want_end = file.len;
		while (want_end > 0 && file.data[want_end - 1] != '\n')
			want_end--;
		if (end != want_end) {
			fprintf(stderr, "tail(%zu) ended at %llu, not %zu\n", counts[k],
			    (unsigned long long)end, want_end);
			abort();
		}
		gw_buf want = GW_BUF_INIT;
		fuzz_expect(file.data, file.len, counts[k], &want);
		fuzz_same("tail", counts[k], &want, &c.got);
		gw_buf_free(&want);
		gw_buf_free(&c.got);
	}

	fuzz_lines c = { GW_BUF_INIT, 0 };
	uint64_t off = 0;
	if (gw_events_read_from(path, &off, fuzz_line, &c, &err) != 0)
		abort();
	gw_buf want = GW_BUF_INIT;
	fuzz_expect(file.data, file.len, SIZE_MAX, &want);
	fuzz_same("read_from", 0, &want, &c.got);
	gw_buf_free(&want);
	gw_buf_free(&c.got);
	gw_buf_free(&file);
	return 0;
}
