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

bool
tui_cmd_mask_secret(const char *line, bool keep_length, gw_buf *out)
{
	bool masked = false;
	const char *p = line, *copied = line;
	while (*p != '\0') {
		/* the next word; only a --flag word can carry a credential */
		while (isspace((unsigned char)*p))
			p++;
		const char *w = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (p - w < 3 || w[0] != '-' || w[1] != '-')
			continue;
		size_t nlen = strcspn(w + 2, "= \t\r\n");
		cli_secret kind = cli_option_secret(w + 2, nlen);
		if (kind == CLI_SECRET_NONE)
			continue;
		/* its value: after '=', or the next word (quoted words whole) */
		const char *v = w + 2 + nlen;
		if (*v == '=') {
			v++;
		} else {
			while (isspace((unsigned char)*v))
				v++;
		}
		const char *end = v;
		if (*end == '"' || *end == '\'') {
			const char *close = strchr(end + 1, *end);
			end = close != NULL ? close + 1 : end + strlen(end);
		} else {
			while (*end != '\0' && !isspace((unsigned char)*end))
				end++;
		}
		gw_buf_append(out, copied, (size_t)(v - copied));
		gw_buf pw = GW_BUF_INIT;
		if (kind == CLI_SECRET_PASSWORD) {
			/* only the password a connection string carries, if any */
			char *raw = gw_xstrndup(v, (size_t)(end - v));
			size_t n = strlen(raw);
			char *url = n >= 2 && (raw[0] == '"' || raw[0] == '\'') && raw[n - 1] == raw[0] ?
			    gw_xstrndup(raw + 1, n - 2) : gw_xstrdup(raw);
			gw_store_redact(url, raw, &pw);
			if (strcmp(gw_buf_cstr(&pw), raw) == 0)
				kind = CLI_SECRET_NONE; /* no password in it */
			free(url);
			free(raw);
		}
		masked |= kind != CLI_SECRET_NONE;
		if (kind == CLI_SECRET_NONE)
			gw_buf_append(out, v, (size_t)(end - v));
		else if (keep_length)
			for (const char *c = v; c < end; c++)
				gw_buf_putc(out, '*');
		else if (kind == CLI_SECRET_PASSWORD)
			gw_buf_append(out, pw.data, pw.len);
		else if (end > v)
			gw_buf_puts(out, "***");
		gw_buf_free(&pw);
		copied = p = end;
	}
	gw_buf_puts(out, copied);
	return masked;
}
