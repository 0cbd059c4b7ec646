/*
 * tui_prompt.c - readline's callback interface under curses (see
 * tui_prompt.h).
 *
 * readline is configured so it never touches the terminal: rl_getc_function
 * returns the byte tui_prompt_key was handed, the redisplay function only
 * marks the line dirty (the screen draws it), rl_outstream is /dev/null,
 * terminal prep/deprep are NULL and signal/SIGWINCH catching is off.  This
 * module must never write to the tty or to stderr.
 */
#include "tui/tui_prompt.h"
#include "cli/cli.h"
#include "core/base/buf.h"
#include "core/base/mem.h"
#include "tui/tui_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ncurses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#define TUI_HISTORY_MAX 1000

static struct {
	tui_prompt_done_fn done;
	void *ctx;
	char *history_path;
	FILE *devnull;
	bool active;
	tui_prompt_kind kind;
	char label[128];
	int pending;          /* the byte readline reads next, -1 when none */
	bool finished;        /* the line handler ran */
	char *line;           /* its line (malloc'ed by readline), NULL on EOF */
	bool dirty;
	gw_buf hint;
	gw_buf mask;
	char *actor_dir;      /* <channel root>/gateway: its subdirectories are the actors */
} tui_p = { .pending = -1 };

static int
tui_rl_getc(FILE *f)
{
	(void)f;
	int c = tui_p.pending;
	tui_p.pending = -1;
	return c < 0 ? EOF : c;
}

static int
tui_rl_input_available(void)
{
	return tui_p.pending >= 0;
}

static void
tui_rl_redisplay(void)
{
	tui_p.dirty = true;
}

static void
tui_rl_line(char *line)
{
	tui_p.finished = true;
	tui_p.line = line;
	rl_callback_handler_remove();
}

/* Shows the candidates in the hint line instead of printing them. */
static void
tui_rl_display_matches(char **matches, int n, int max_len)
{
	(void)max_len;
	gw_buf_reset(&tui_p.hint);
	for (int i = 1; i <= n; i++) {
		const char *m = matches[i];
		const char *slash = strrchr(m, '/');
		if (slash != NULL && slash[1] != '\0')
			m = slash + 1; /* basenames, like bash */
		gw_buf_printf(&tui_p.hint, "%s%s", i > 1 ? "  " : "", m);
	}
	tui_p.dirty = true;
}

/* Completes prompt words and --flags. */
static char *
tui_rl_word_gen(const char *text, int state)
{
	static size_t i;
	size_t nwords;
	const tui_word *words = tui_cmd_words(&nwords);
	size_t len = strlen(text);
	if (state == 0)
		i = 0;
	for (; i < nwords; i++)
		if (text[0] != '-' && strncmp(words[i].name, text, len) == 0)
			return gw_xstrdup(words[i++].name);
	for (const char *name; (name = cli_option_name(i - nwords)) != NULL; i++) {
		gw_buf b = GW_BUF_INIT;
		gw_buf_printf(&b, "--%s", name);
		if (strncmp(b.data, text, len) == 0) {
			i++;
			return gw_buf_detach(&b);
		}
		gw_buf_free(&b);
	}
	return NULL;
}

/* Completes an actor id: the channel directories under actor_dir, read
 * afresh at each completion (a cycle may have added one). */
static char *
tui_rl_actor_gen(const char *text, int state)
{
	static DIR *d;
	if (state == 0) {
		if (d != NULL)
			closedir(d);
		d = tui_p.actor_dir != NULL ? opendir(tui_p.actor_dir) : NULL;
	}
	size_t len = strlen(text);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, text, len) != 0)
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		return gw_xstrdup(e->d_name);
	}
	if (d != NULL)
		closedir(d);
	d = NULL;
	return NULL;
}

static char **
tui_rl_complete(const char *text, int start, int end)
{
	(void)end;
	gw_buf_reset(&tui_p.hint);
	switch (tui_p.kind) {
	case TUI_PROMPT_FIXTURE:
		rl_completion_append_character = '\0'; /* the line is the path */
		return NULL; /* readline's filename completion */
	case TUI_PROMPT_COMMAND:
		/* the first word, or any --flag: words and flags; else file names */
		if (text[0] == '-' || strspn(rl_line_buffer, " \t") == (size_t)start) {
			rl_attempted_completion_over = 1;
			return rl_completion_matches(text, tui_rl_word_gen);
		}
		{
			/* "inspect <actor>": the actor ids of the channel store */
			const char *w = rl_line_buffer + strspn(rl_line_buffer, " \t");
			if (strncmp(w, "inspect", 7) == 0 && (w[7] == ' ' || w[7] == '\t') &&
			    (size_t)start == (size_t)(w + 7 - rl_line_buffer) + strspn(w + 7, " \t")) {
				rl_attempted_completion_over = 1;
				return rl_completion_matches(text, tui_rl_actor_gen);
			}
		}
		return NULL;
	default:
		rl_attempted_completion_over = 1;
		return NULL;
	}
}

/*
 * Throws the open line away the way readline's own newline ends a line
 * (readline_internal_teardown with revert-all-at-newline), minus the line:
 * a history entry that was recalled and edited owns its undo list, so the
 * edits go back into their entries, every edited entry is reverted to its
 * original text and its list freed, and then the new line's own list is
 * freed.  Clearing only the text left rl_undo_list pointing into a history
 * entry's list; the next prompt freed it and a later Up reverted the freed
 * list (issue 9, defect 2: a double free in rl_do_undo).
 */
static void
tui_rl_discard_line(void)
{
	rl_callback_sigcleanup();   /* leaves an incremental search, a numeric argument */
	rl_end_of_history(1, 0);    /* the edits into their entry; back at the new line */
	rl_free_undo_list();        /* the new line's own list */
	HIST_ENTRY **list = history_list();
	for (int i = 0; list != NULL && i < history_length; i++) {
		UNDO_LIST *ul = (UNDO_LIST *)list[i]->data;
		if (ul == NULL)
			continue;
		list[i]->data = NULL;
		rl_replace_line(list[i]->line, 0);
		rl_undo_list = ul;
		rl_revert_line(1, 0); /* undoes and frees the whole list */
		HIST_ENTRY *old = replace_history_entry(i, rl_line_buffer, NULL);
		if (old != NULL)
			free_history_entry(old);
	}
	rl_undo_list = NULL;
	rl_replace_line("", 0);
	rl_point = rl_end = 0;
}

/* Makes sure the history file exists, so append_history can open it. */
static void
tui_history_touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

int
tui_prompt_init(const char *history_path, tui_prompt_done_fn done, void *ctx, gw_err *err)
{
	tui_p.done = done;
	tui_p.ctx = ctx;
	tui_p.devnull = fopen("/dev/null", "w+e");
	if (tui_p.devnull == NULL)
		return gw_err_set(err, -errno, GW_EXIT_SOFTWARE, "/dev/null: %s", strerror(errno));
	rl_readline_name = "tau-gateway";
	rl_instream = tui_p.devnull;
	rl_outstream = tui_p.devnull;
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	rl_prep_term_function = NULL;
	rl_deprep_term_function = NULL;
	rl_getc_function = tui_rl_getc;
	rl_input_available_hook = tui_rl_input_available;
	rl_redisplay_function = tui_rl_redisplay;
	rl_attempted_completion_function = tui_rl_complete;
	rl_completion_display_matches_hook = tui_rl_display_matches;
	rl_initialize();
	rl_variable_bind("enable-bracketed-paste", "off");
	rl_variable_bind("bell-style", "none");
	rl_variable_bind("horizontal-scroll-mode", "on");
	rl_variable_bind("show-all-if-ambiguous", "on");
	/* Enter puts back every history line edited on the way, as a cancel
	 * does (tui_rl_discard_line): the history holds what was run */
	rl_variable_bind("revert-all-at-newline", "on");
	using_history();
	stifle_history(TUI_HISTORY_MAX);
	if (history_path != NULL) {
		tui_p.history_path = gw_xstrdup(history_path);
		read_history(history_path); /* a missing file is fine */
	}
	return 0;
}

void
tui_prompt_set_actor_dir(const char *dir)
{
	free(tui_p.actor_dir);
	tui_p.actor_dir = dir != NULL ? gw_xstrdup(dir) : NULL;
}

void
tui_prompt_shutdown(void)
{
	if (tui_p.active && tui_p.kind != TUI_PROMPT_CONFIRM) {
		tui_rl_discard_line();
		rl_callback_handler_remove();
	}
	tui_p.active = false;
	if (tui_p.history_path != NULL)
		history_truncate_file(tui_p.history_path, TUI_HISTORY_MAX);
	rl_clear_history(); /* frees readline's undo lists kept in entries too */
	free(tui_p.history_path);
	tui_p.history_path = NULL;
	tui_prompt_set_actor_dir(NULL);
	gw_buf_free(&tui_p.hint);
	gw_buf_free(&tui_p.mask);
	if (tui_p.devnull != NULL)
		fclose(tui_p.devnull);
	tui_p.devnull = NULL;
	rl_instream = rl_outstream = NULL;
}

void
tui_prompt_open(tui_prompt_kind kind, const char *label, const char *initial)
{
	if (tui_p.active)
		tui_prompt_cancel();
	tui_p.active = true;
	tui_p.kind = kind;
	tui_p.dirty = true;
	gw_buf_reset(&tui_p.hint);
	snprintf(tui_p.label, sizeof(tui_p.label), "%s", label);
	if (kind == TUI_PROMPT_CONFIRM)
		return;
	tui_p.finished = false;
	tui_p.line = NULL;
	rl_callback_handler_install(tui_p.label, tui_rl_line);
	if (initial != NULL && initial[0] != '\0') {
		rl_insert_text(initial);
		rl_point = rl_end;
	}
}

/* Closes the prompt and reports line (NULL: cancelled) to the owner. */
static void
tui_prompt_finish(const char *line)
{
	tui_prompt_kind kind = tui_p.kind;
	tui_p.active = false;
	tui_p.dirty = true;
	gw_buf_reset(&tui_p.hint);
	/* the history and its file get the line with every credential masked
	 * (tui_cmd_mask_secret: the bearer token's value becomes ***) */
	gw_buf masked = GW_BUF_INIT;
	if (line != NULL && kind == TUI_PROMPT_COMMAND && line[0] != '\0') {
		tui_cmd_mask_secret(line, false, &masked);
		HIST_ENTRY *last = history_get(history_base + history_length - 1);
		if (last == NULL || strcmp(last->line, gw_buf_cstr(&masked)) != 0) {
			add_history(gw_buf_cstr(&masked));
			if (tui_p.history_path != NULL) {
				tui_history_touch(tui_p.history_path);
				append_history(1, tui_p.history_path);
			}
		}
	}
	gw_buf_free(&masked);
	tui_p.done(tui_p.ctx, kind, line);
}

void
tui_prompt_cancel(void)
{
	if (!tui_p.active)
		return;
	if (tui_p.kind != TUI_PROMPT_CONFIRM) {
		tui_rl_discard_line();
		rl_callback_handler_remove();
	}
	tui_prompt_finish(NULL);
}

bool
tui_prompt_active(void)
{
	return tui_p.active;
}

tui_prompt_kind
tui_prompt_current(void)
{
	return tui_p.kind;
}

/* Maps curses function keys onto readline commands. */
static void
tui_prompt_special(int code)
{
	switch (code) {
	case KEY_LEFT: rl_backward_char(1, 0); break;
	case KEY_RIGHT: rl_forward_char(1, 0); break;
	case KEY_HOME: rl_beg_of_line(1, 0); break;
	case KEY_END: rl_end_of_line(1, 0); break;
	case KEY_DC: rl_delete(1, 0); break;
	case KEY_UP: rl_get_previous_history(1, 0); break;
	case KEY_DOWN: rl_get_next_history(1, 0); break;
	default: return;
	}
	tui_p.dirty = true;
}

void
tui_prompt_key(int code)
{
	if (!tui_p.active)
		return;
	if (tui_p.kind == TUI_PROMPT_CONFIRM) {
		tui_prompt_finish(code == 'y' || code == 'Y' ? "y" : NULL);
		return;
	}
	if (code == ('c' & 0x1f) || code == ('g' & 0x1f)) {
		tui_prompt_cancel();
		return;
	}
	if (code == KEY_BACKSPACE)
		code = 127;
	else if (code == KEY_ENTER)
		code = '\r';
	if (code > 255) {
		tui_prompt_special(code);
		return;
	}
	if (code >= 32 && code != 127 && rl_end >= TUI_PROMPT_MAX) {
		/* a paste past the cap is dropped, said once */
		if (tui_p.hint.len == 0) {
			gw_buf_printf(&tui_p.hint, "the line is limited to %d bytes; the rest was dropped",
			    TUI_PROMPT_MAX);
			tui_p.dirty = true;
		}
		return;
	}
	tui_p.pending = code;
	rl_callback_read_char();
	tui_p.pending = -1;
	if (tui_p.finished) {
		tui_p.finished = false;
		char *line = tui_p.line;
		tui_p.line = NULL;
		tui_prompt_finish(line);
		free(line);
	}
}

bool
tui_prompt_view_get(tui_prompt_view *v)
{
	if (!tui_p.active)
		return false;
	v->label = tui_p.label;
	v->hint = gw_buf_cstr(&tui_p.hint);
	if (tui_p.kind == TUI_PROMPT_CONFIRM) {
		v->text = "";
		v->point = 0;
		return true;
	}
	v->text = rl_line_buffer;
	v->point = (size_t)rl_point;
	if (tui_p.kind == TUI_PROMPT_COMMAND) {
		/* a credential typed on a flag line is starred as it is typed */
		gw_buf_reset(&tui_p.mask);
		if (tui_cmd_mask_secret(rl_line_buffer, true, &tui_p.mask))
			v->text = gw_buf_cstr(&tui_p.mask);
	} else if (tui_p.kind == TUI_PROMPT_TOKEN) {
		gw_buf_reset(&tui_p.mask);
		for (int i = 0; i < rl_end; i++)
			gw_buf_putc(&tui_p.mask, '*');
		v->text = gw_buf_cstr(&tui_p.mask);
	}
	return true;
}

bool
tui_prompt_take_dirty(void)
{
	bool d = tui_p.dirty;
	tui_p.dirty = false;
	return d;
}
