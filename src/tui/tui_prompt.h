/*
 * tui_prompt.h - the console's one-line input, GNU readline in callback
 * mode with curses owning the terminal: readline never reads the tty,
 * never writes to it and never installs signal handlers.  Keys arrive from
 * wgetch through tui_prompt_key; the line is drawn by the screen from
 * tui_prompt_view.  One prompt is open at a time (readline is global).
 */
#ifndef TUI_PROMPT_H
#define TUI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/err.h"

/* The longest prompt line in bytes; keys past it are dropped with a hint. */
#define TUI_PROMPT_MAX 4096

typedef enum tui_prompt_kind {
	TUI_PROMPT_COMMAND,   /* ':' - words and flag lines; completion, history */
	TUI_PROMPT_FILTER,    /* '/' */
	TUI_PROMPT_REASON,    /* 'S' - stop reason */
	TUI_PROMPT_FIXTURE,   /* 'r' - path, filename completion */
	TUI_PROMPT_BIND,      /* 'w' - server address */
	TUI_PROMPT_TOKEN,     /* 'w' - bearer token, shown masked */
	TUI_PROMPT_CONFIRM    /* y/n questions (no readline) */
} tui_prompt_kind;

/* Called when the operator finishes a prompt: line is the text (borrowed,
 * valid during the call) or NULL when cancelled (Ctrl-C, Ctrl-G, Ctrl-D on
 * an empty line).  The callback may open another prompt. */
typedef void (*tui_prompt_done_fn)(void *ctx, tui_prompt_kind kind, const char *line);

/* Sets readline up for curses (no tty access, no signals, no bracketed
 * paste) and loads the history from history_path (NULL: no history; the
 * file's directory must exist).  The path is copied.  0 or -errno. */
int tui_prompt_init(const char *history_path, tui_prompt_done_fn done, void *ctx, gw_err *err);
/* Where Tab finds actor ids for "inspect <actor>": a directory whose
 * subdirectories are the channels (<channel root>/gateway); NULL: none.
 * The path is copied. */
void tui_prompt_set_actor_dir(const char *dir);
/* Closes any open prompt and trims the history file. */
void tui_prompt_shutdown(void);

/* Opens a prompt with a label ("stop reason") and optional initial text. */
void tui_prompt_open(tui_prompt_kind kind, const char *label, const char *initial);
/* Cancels the open prompt (the callback gets NULL). */
void tui_prompt_cancel(void);
bool tui_prompt_active(void);
tui_prompt_kind tui_prompt_current(void);
/* Feeds one wgetch code (bytes and KEY_* codes). */
void tui_prompt_key(int code);

typedef struct tui_prompt_view {
	const char *label;    /* borrowed until the next prompt call */
	const char *text;     /* the line, or a mask of '*' */
	size_t point;         /* cursor byte offset in text */
	const char *hint;     /* completion candidates, "" when none */
} tui_prompt_view;

/* Describes what to draw; returns false when no prompt is open. */
bool tui_prompt_view_get(tui_prompt_view *v);
/* True once since the last call when the prompt line changed. */
bool tui_prompt_take_dirty(void);

#endif
