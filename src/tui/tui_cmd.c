/*
 * tui_cmd.c - prompt words to flag lines (see tui_cmd.h).
 *
 * This module only rewrites words; it must never validate values itself
 * (cli_parse does, with the same messages as the command line) and never
 * execute anything.
 */
#include "tui/tui_cmd.h"
#include "cli/cli.h"
#include "core/base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tui_word tui_words[] = {
	{ "start", "", "start the service" },
	{ "stop", "[reason]", "stop the service (reason defaults to operator_requested)" },
	{ "status", "", "print the service posture" },
	{ "run", "[fixture]", "run one contract-runner cycle (default: the last fixture)" },
	{ "serve", "[bind]", "start the HTTP server inside the console" },
	{ "unserve", "", "stop the HTTP server" },
	{ "health", "", "print the transport health snapshot" },
	{ "inspect", "<actor>", "count an actor's channel-store records" },
	{ "help", "", "show the keys and these words" },
	{ "quit", "", "leave the console" },
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
		char left[32];
		snprintf(left, sizeof(left), "%s %s", tui_words[i].name, tui_words[i].args);
		gw_buf_printf(out, "  %-18s %s\n", left, tui_words[i].help);
	}
}

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
	int nargs = argc - 2;
	const tui_word *word = NULL;
	for (size_t i = 0; i < TUI_NWORDS; i++)
		if (strcmp(w, tui_words[i].name) == 0)
			word = &tui_words[i];
	if (word == NULL && strcmp(w, "exit") == 0)
		word = &tui_words[TUI_NWORDS - 1];
	if (word == NULL) {
		gw_err_set(err, -EINVAL, GW_EXIT_USAGE,
		    "unknown command '%s' (words: start, stop, status, run, serve, unserve, health, inspect, help, quit; or a flag line)",
		    w);
		goto fail;
	}
	bool takes_arg = word->args[0] != '\0';
	bool multi = strcmp(word->name, "stop") == 0;
	if ((!takes_arg && nargs > 0) || (!multi && nargs > 1)) {
		gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "usage: %s%s%s", word->name,
		    takes_arg ? " " : "", word->args);
		goto fail;
	}
	const char *name = word->name;
	if (strcmp(name, "start") == 0) {
		const char *v[] = { "--gateway-service-start" };
		tui_set_argv(out, v, 1);
	} else if (strcmp(name, "stop") == 0) {
		char *reason = nargs > 0 ? tui_join(argv, 2, argc) : NULL;
		const char *v[] = { "--gateway-service-stop", "--gateway-service-stop-reason", reason };
		tui_set_argv(out, v, reason ? 3 : 1);
		free(reason);
	} else if (strcmp(name, "status") == 0) {
		const char *v[] = { "--gateway-service-status" };
		tui_set_argv(out, v, 1);
	} else if (strcmp(name, "run") == 0) {
		const char *fx = nargs > 0 ? argv[2] : default_fixture;
		const char *v[] = { "--gateway-contract-runner", "--gateway-fixture", fx };
		tui_set_argv(out, v, 3);
	} else if (strcmp(name, "serve") == 0) {
		out->kind = TUI_LINE_SERVE;
		out->arg = nargs > 0 ? gw_xstrdup(argv[2]) : NULL;
	} else if (strcmp(name, "unserve") == 0) {
		out->kind = TUI_LINE_UNSERVE;
	} else if (strcmp(name, "health") == 0) {
		const char *v[] = { "--transport-health-inspect", "gateway" };
		tui_set_argv(out, v, 2);
	} else if (strcmp(name, "inspect") == 0) {
		if (nargs != 1) {
			gw_err_set(err, -EINVAL, GW_EXIT_USAGE, "usage: inspect <actor>");
			goto fail;
		}
		gw_buf ref = GW_BUF_INIT;
		if (strchr(argv[2], '/') == NULL)
			gw_buf_puts(&ref, "gateway/");
		gw_buf_puts(&ref, argv[2]);
		const char *v[] = { "--channel-store-inspect", gw_buf_cstr(&ref) };
		tui_set_argv(out, v, 2);
		gw_buf_free(&ref);
	} else if (strcmp(name, "help") == 0) {
		out->kind = TUI_LINE_HELP;
	} else {
		out->kind = TUI_LINE_QUIT;
	}
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
