/*
 * compact.h - POST /v1/responses/compact's policy: a conversation window
 * (normalized items, see responses.h) made smaller, as a list of items a
 * client sends as the base input of a new chain.  Pure: no HTTP, no files,
 * no network; the server runs the model call when there is one.
 *
 * The policy, the one place it is written:
 *   - The window is split before its GW_COMPACT_KEEP_TURNS-th last user
 *     message: from there to the end ("recent") is kept verbatim; with
 *     fewer user messages than that, from the first user message on.
 *   - Of the older part, system and developer messages are kept verbatim,
 *     in order (they are instructions, not conversation); every other
 *     item is folded into one summary item, a user message whose text
 *     begins with GW_COMPACT_SUMMARY_PREFIX.
 *   - Output: the kept instructions, the summary item (when anything was
 *     folded), then the recent items.  Nothing folded: the window as it
 *     was, and no model call.
 *   - The summary text: with an offline model (local/echo) the fold,
 *     built deterministically from the folded items (gw_compact_fold:
 *     one line per item, at most GW_COMPACT_FOLD_LINES of the newest, each
 *     cut at GW_COMPACT_LINE_CHARS characters); with an upstream model
 *     the model's reply to the summary request (gw_compact_summary_items:
 *     the folded items as a transcript, whole, under
 *     gw_compact_summary_instructions).
 *
 * Ownership: every function says who frees what it makes; inputs are
 * borrowed.
 */
#ifndef GW_COMPACT_H
#define GW_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/base/buf.h"
#include "core/openresponses/responses.h"

/* The user messages (turns) kept verbatim at the end of the window. */
#define GW_COMPACT_KEEP_TURNS 2
/* The fold: a line per folded item for at most this many of the newest
 * (older ones are counted in one "omitted" line), each line's text cut at
 * this many Unicode characters (then "..."). */
#define GW_COMPACT_FOLD_LINES 64
#define GW_COMPACT_LINE_CHARS 200
/* The summary item's text begins with this line. */
#define GW_COMPACT_SUMMARY_PREFIX "Summary of the earlier conversation:\n"
/* What the upstream model is told (the request's instructions, if any,
 * follow it). */
#define GW_COMPACT_INSTRUCTIONS                                                    \
	"You compact conversations. The user message holds the earlier part of a "  \
	"conversation as a transcript, one item per line. Write a summary from "      \
	"which the conversation can continue without the transcript: keep the "       \
	"user's goals, facts, decisions, names, numbers, tool results that matter "   \
	"and open questions; leave out pleasantries. Reply with the summary text only."

/* A window split by the policy.  Each array is owned by the split. */
typedef struct gw_compact_split {
	cJSON *kept;        /* older system and developer messages, in order */
	cJSON *folded;      /* older items folded into the summary */
	cJSON *recent;      /* the last turns, verbatim */
	size_t window_items;
} gw_compact_split;

/* Parses a POST /v1/responses/compact body as gw_resp_request_parse does
 * (the same validation and 400/413 errors), except that input may be
 * absent when previous_response_id is given.  stream true is refused (400
 * invalid_value, param stream); store is false (nothing is stored) and no
 * session is used; tools, tool_choice, parallel_tool_calls, store,
 * metadata and conversation are listed in out->ignored (tools are not
 * offered to the summarizing model).  The caller frees *out with
 * gw_resp_request_free, on failure too. */
int gw_compact_request_parse(const char *body, size_t n, uint64_t max_input_chars,
    gw_resp_request *out, gw_resp_error *e);

/* Splits window (borrowed; items are copied) into *out, keeping the last
 * keep_turns user messages and what follows them.  The caller frees *out
 * with gw_compact_split_free. */
void gw_compact_split_window(const cJSON *window, size_t keep_turns, gw_compact_split *out);
void gw_compact_split_free(gw_compact_split *s);

/* Appends one line per item of items ("- user: hi"), each ending in '\n':
 * a message is its role and its texts joined by a space (an image is
 * "[image]"), a function call "assistant called NAME(ARGUMENTS)", a
 * function call's output "tool result CALL_ID: OUTPUT"; runs of white
 * space become one space.  line_chars (0: no limit) cuts each line's text
 * at that many characters, adding "..."; max_lines (0: no limit) keeps the
 * newest lines, preceded by "(N earlier items omitted)\n". */
void gw_compact_transcript(const cJSON *items, size_t line_chars, size_t max_lines, gw_buf *out);
/* Appends the offline summary of folded (the text after
 * GW_COMPACT_SUMMARY_PREFIX): its transcript cut by GW_COMPACT_FOLD_LINES
 * and GW_COMPACT_LINE_CHARS, without the last line's '\n'. */
void gw_compact_fold(const cJSON *folded, gw_buf *out);
/* The upstream summary request for folded: one user message with the
 * whole transcript.  Returns a new array the caller frees. */
cJSON *gw_compact_summary_items(const cJSON *folded);
/* Its instructions: GW_COMPACT_INSTRUCTIONS, then the request's own when
 * not NULL or "".  Returns a string the caller frees. */
char *gw_compact_summary_instructions(const char *request_instructions);
/* The summary in a summarizing model's reply (its text, n bytes at
 * reply, as the sink received it): the text trimmed, appended to out.
 * False when nothing is left. */
bool gw_compact_reply_text(const char *reply, size_t n, gw_buf *out);

/* The compacted window: s's kept items, a summary item with
 * GW_COMPACT_SUMMARY_PREFIX followed by summary (when s folded anything;
 * summary is the text after the prefix), then s's recent items.  Returns
 * a new array the caller frees. */
cJSON *gw_compact_output(const gw_compact_split *s, const char *summary);

/* Appends the compaction object: {"id","object":"response.compaction",
 * "created_at","model","output","usage","ignored_fields"}. */
void gw_compact_json(const char *id, const char *model, uint64_t created_at, const cJSON *output,
    const gw_resp_usage *usage, const cJSON *ignored, gw_buf *out);
/* Appends a compaction id ("cmp_" and 32 random hex digits): never a
 * response id, so it cannot be passed as previous_response_id. */
void gw_compact_new_id(gw_buf *out);

#endif
