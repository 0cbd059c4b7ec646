/*
 * tui_cmd.c - prompt words to flag lines (see tui_cmd.h).
 *
 * Every word is one entry of tui_words (name, alias, argument bounds, help,
 * and what it becomes: a translation, a fixed flag line or a line kind); the lookup, the usage and "unknown command" messages and the
 * help text are all read from it, so there is no second list to keep in step.
 * This module only rewrites words; it must never validate values itself
 * (cli_parse does, with the same messages as the command line) and never
 * execute anything.
 */
#include "tui/tui_cmd.h"
#include "cli/cli.h"
#include "core/base/mem.h"
#include "core/store/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replaces l->argv with "tau-gateway" followed by the given words. */
static void
tui_set_argv(tui_line *l, const char *const *words, size_t n)
{
	/* words may point into the old argv: copy first, then free it */
	char **argv = gw_xmalloc((n + 2) * sizeof(*argv));
	argv[0] = gw_xstrdup("tau-gateway");
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = gw_xstrdup(words[i]);
	argv[n + 1] = NULL;
	cli_argv_free(l->argv);
	l->argv = argv;
	l->argc = (int)n + 1;
	l->kind = TUI_LINE_FLAGS;
}

/* Joins argv[from..argc) with single spaces into a malloc'ed string. */
static char *
tui_join(char **argv, int from, int argc)
{
	gw_buf b = GW_BUF_INIT;
	for (int i = from; i < argc; i++) {
		if (i > from)
			gw_buf_putc(&b, ' ');
		gw_buf_puts(&b, argv[i]);
	}
	return gw_buf_detach(&b);
}

/* ---- the words: one translation each, then the table ------------------ */

static void
tui_w_stop(tui_line *out, char **args, int nargs, const char *default_fixture)
{
	(void)default_fixture;
	char *reason = nargs > 0 ? tui_join(args, 0, nargs) : NULL;
	const char *v[] = { "--gateway-service-stop", "--gateway-service-stop-reason", reason };
	tui_set_argv(out, v, reason ? 3 : 1);
	free(reason);
}

static void
tui_w_run(tui_line *out, char **args, int nargs, const char *default_fixture)
{
	const char *v[] = { "--gateway-contract-runner", "--gateway-fixture",
		nargs > 0 ? args[0] : default_fixture };
	tui_set_argv(out, v, 3);
}

static void
tui_w_serve(tui_line *out, char **args, int nargs, const char *default_fixture)
{
	(void)default_fixture;
	out->kind = TUI_LINE_SERVE;
	out->arg = nargs > 0 ? gw_xstrdup(args[0]) : NULL;
}

static void
tui_w_inspect(tui_line *out, char **args, int nargs, const char *default_fixture)
{
	(void)nargs, (void)default_fixture;
	gw_buf ref = GW_BUF_INIT;
	if (strchr(args[0], '/') == NULL)
		gw_buf_puts(&ref, "gateway/");
	gw_buf_puts(&ref, args[0]);
	const char *v[] = { "--channel-store-inspect", gw_buf_cstr(&ref) };
	tui_set_argv(out, v, 2);
	gw_buf_free(&ref);
}

static const tui_word tui_words[] = {
	{ "start", NULL, "", "start the service", 0, 0, .flags = { "--gateway-service-start" } },
	{ "stop", NULL, "[reason]", "stop the service (reason defaults to operator_requested)",
	    0, -1, .translate = tui_w_stop },
	{ "status", NULL, "", "print the service posture", 0, 0,
	    .flags = { "--gateway-service-status" } },
	{ "run", NULL, "[fixture]", "run one contract-runner cycle (default: the last fixture)",
	    0, 1, .translate = tui_w_run },
	{ "cancel", NULL, "", "cancel the running fixture at the next case (cases done are kept)",
	    0, 0, .kind = TUI_LINE_CANCEL },
	{ "serve", NULL, "[bind]", "start the HTTP server inside the console", 0, 1,
	    .translate = tui_w_serve },
	{ "unserve", NULL, "", "stop the HTTP server", 0, 0, .kind = TUI_LINE_UNSERVE },
	{ "reload", NULL, "", "reload the HTTP server's routes file (--gateway-routes), as SIGHUP does",
	    0, 0, .kind = TUI_LINE_RELOAD },
	{ "health", NULL, "", "print the transport health snapshot", 0, 0,
	    .flags = { "--transport-health-inspect", "gateway" } },
	{ "inspect", NULL, "<actor>", "count an actor's channel-store records", 1, 1,
	    .translate = tui_w_inspect },
	{ "help", NULL, "", "show the keys and these words", 0, 0, .kind = TUI_LINE_HELP },
	{ "quit", "exit", "", "leave the console", 0, 0, .kind = TUI_LINE_QUIT },
};
#define TUI_NWORDS (sizeof(tui_words) / sizeof(tui_words[0]))

const tui_word *
tui_cmd_words(size_t *n)
{
	*n = TUI_NWORDS;
	return tui_words;
}

void
tui_cmd_help(gw_buf *out)
{
	for (size_t i = 0; i < TUI_NWORDS; i++) {
		const tui_word *w = &tui_words[i];
		char left[32];
		snprintf(left, sizeof(left), "%s %s", w->name, w->args);
		gw_buf_printf(out, "  %-18s %s", left, w->help);
		if (w->alias != NULL)
			gw_buf_printf(out, " (also '%s')", w->alias);
		gw_buf_putc(out, '\n');
	}
}

/* The table entry named or aliased w, or NULL. */
static const tui_word *
tui_word_find(const char *w)
{
	for (size_t i = 0; i < TUI_NWORDS; i++)
		if (strcmp(w, tui_words[i].name) == 0 ||
		    (tui_words[i].alias != NULL && strcmp(w, tui_words[i].alias) == 0))
			return &tui_words[i];
	return NULL;
}

int
tui_cmd_translate(const char *line, const char *default_fixture, tui_line *out, gw_err *err)
{
	memset(out, 0, sizeof(*out));
	int argc;
	char **argv;
	if (cli_split(line, &argc, &argv, err) != 0)
		return -EINVAL;
	out->argc = argc;
	out->argv = argv;
	if (argc == 1) {
		out->kind = TUI_LINE_EMPTY;
		return 0;
	}
	const char *w = argv[1];
	if (w[0] == '-') {
		out->kind = TUI_LINE_FLAGS;
		return 0;
	}
	const tui_word *word = tui_word_find(w);
	if (word == NULL) {
		gw_buf names = GW_BUF_INIT;
		for (size_t i = 0; i < TUI_NWORDS; i++)
			gw_buf_printf(&names, "%s%s", i ? ", " : "", tui_words[i].name);
		gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "unknown command '%s' (words: %s; or a flag line)", w, gw_buf_cstr(&names));
		gw_buf_free(&names);
		goto fail;
	}
	int nargs = argc - 2;
	if (nargs < word->min_args || (word->max_args >= 0 && nargs > word->max_args)) {
		gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "usage: %s%s%s", word->name,
		    word->args[0] != '\0' ? " " : "", word->args);
		goto fail;
	}
	/* args point into out->argv, which the translation may replace:
	 * tui_set_argv copies its words before it frees the old vector */
	if (word->translate != NULL)
		word->translate(out, argv + 2, nargs, default_fixture);
	else if (word->flags[0] != NULL)
		tui_set_argv(out, word->flags, word->flags[1] != NULL ? 2 : 1);
	else
		out->kind = word->kind;
	return 0;
fail:
	tui_line_free(out);
	return -EINVAL;
}

void
tui_line_free(tui_line *l)
{
	cli_argv_free(l->argv);
	free(l->arg);
	memset(l, 0, sizeof(*l));
}

/* Appends s to out as one prompt word cli_split reads back as s. */
static void
tui_cmd_put_word(gw_buf *out, const char *s)
{
	if (s[0] != '\0' && strpbrk(s, " \t\r\n'\"\\") == NULL) {
		gw_buf_puts(out, s);
	} else if (strchr(s, '\'') == NULL) {
		gw_buf_printf(out, "'%s'", s);
	} else {
		gw_buf_putc(out, '"');
		for (const char *c = s; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				gw_buf_putc(out, '\\');
			gw_buf_putc(out, *c);
		}
		gw_buf_putc(out, '"');
	}
}

bool
tui_cmd_mask_secret(const char *line, bool keep_length, gw_buf *out)
{
	/* the words as cli_split reads them (its own scanner), each with
	 * where it came from: a quoted or escaped flag or value is a word as
	 * the parser sees it, and its whole source span is replaced */
	bool masked = false;
	size_t len = strlen(line), pos = 0, copied = 0;
	size_t *src = gw_xmalloc((len + 1) * sizeof(*src));
	gw_buf word = GW_BUF_INIT, value = GW_BUF_INIT, pw = GW_BUF_INIT;
	cli_word w, v;
	while (gw_buf_reset(&word), cli_split_next(line, &pos, &word, src, &w)) {
		/* only a --flag word can carry a credential */
		const char *t = gw_buf_cstr(&word);
		if (word.len < 3 || t[0] != '-' || t[1] != '-')
			continue;
		size_t nlen = strcspn(t + 2, "=");
		cli_secret kind = cli_option_secret(t + 2, nlen);
		if (kind == CLI_SECRET_NONE)
			continue;
		/* its value: after '=' in the same word, or the next word */
		bool joined = t[2 + nlen] == '=';
		gw_buf_reset(&value);
		size_t from, to; /* the bytes of line replaced */
		if (joined) {
			gw_buf_puts(&value, t + 3 + nlen);
			from = keep_length ? src[2 + nlen] + 1 : w.start;
			to = w.end;
		} else if (cli_split_next(line, &pos, &value, NULL, &v)) {
			from = v.start;
			to = v.end;
		} else {
			masked = true; /* a flag with its value still to come */
			continue;
		}
		gw_buf_reset(&pw);
		if (kind == CLI_SECRET_PASSWORD) {
			/* only the password a URL or connection string carries */
			gw_store_redact(gw_buf_cstr(&value), gw_buf_cstr(&value), &pw);
			if (strcmp(gw_buf_cstr(&pw), gw_buf_cstr(&value)) == 0)
				continue; /* no password in it */
		}
		masked = true;
		gw_buf_append(out, line + copied, from - copied);
		if (keep_length) {
			for (size_t i = from; i < to; i++)
				gw_buf_putc(out, '*');
		} else {
			if (joined) /* the flag as its name: no quote of the word is left open */
				gw_buf_printf(out, "%.*s=", (int)(nlen + 2), t);
			if (kind == CLI_SECRET_PASSWORD)
				tui_cmd_put_word(out, gw_buf_cstr(&pw));
			else if (!joined || value.len > 0)
				gw_buf_puts(out, "***");
		}
		copied = to;
	}
	gw_buf_puts(out, line + copied);
	gw_buf_free(&word);
	gw_buf_free(&value);
	gw_buf_free(&pw);
	free(src);
	return masked;
}
