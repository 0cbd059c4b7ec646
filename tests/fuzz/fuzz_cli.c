/*
 * fuzz_cli - the flag parser and the console's prompt-line language.  The
 * first byte picks the mode; the rest is split into words at NUL and
 * newline bytes:
 *   0  the words are argv[1..] for cli_parse (no environment);
 *   1  the first word is a console prompt line: tui_cmd_translate, then a
 *      flag line goes through cli_parse on a config copied from one set up
 *      the way the console seeds it;
 *   2  the words are name/value pairs for cli_config_set.
 * Every refusal must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tui/tui_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_refused(const gw_err *err)
{
	if (err->msg[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 4096)
		return 0;
	int mode = data[0] % 3;
	/* words: a copy with every NUL and newline a terminator */
	size_t n = size - 1;
	char *buf = malloc(n + 1);
	memcpy(buf, data + 1, n);
	buf[n] = '\0';
	char **argv = malloc((n + 2) * sizeof(*argv));
	int argc = 0;
	argv[argc++] = (char *)"tau-gateway";
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i == n || buf[i] == '\0' || buf[i] == '\n') {
			buf[i] = '\0';
			if (i < n || start < n)
				argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;

	gw_err err;
	gw_err_clear(&err);
	cli_config c;
	cli_config_init(&c);
	if (mode == 0) {
		if (cli_parse(argc, argv, false, &c, &err) != 0)
			fuzz_refused(&err);
	} else if (mode == 1 && argc > 1) {
		tui_line l;
		memset(&l, 0, sizeof(l));
		if (tui_cmd_translate(argv[1], "fixtures/gateway-contract/mixed-outcomes.json", &l,
		        &err) != 0) {
			fuzz_refused(&err);
		} else if (l.kind == TUI_LINE_FLAGS) {
			if (l.argv == NULL || l.argv[l.argc] != NULL)
				abort();
			cli_config seeded;
			cli_config_init(&seeded);
			if (cli_config_set(&seeded, "gateway-state-dir", "/nonexistent/tau-fuzz", &err) != 0)
				abort();
			cli_config_free(&c);
			cli_config_copy(&c, &seeded); /* as tui_seed: the copy is the line's */
			c.action = CLI_ACTION_NONE;
			cli_config_free(&seeded);
			gw_err_clear(&err);
			if (cli_parse(l.argc, l.argv, false, &c, &err) != 0)
				fuzz_refused(&err);
		}
		tui_line_free(&l);
	} else if (mode == 2) {
		for (int i = 1; i + 1 < argc; i += 2) {
			gw_err_clear(&err);
			if (cli_config_set(&c, argv[i], argv[i + 1], &err) != 0)
				fuzz_refused(&err);
		}
	}
	cli_config copy;
	cli_config_copy(&copy, &c);
	cli_config_free(&copy);
	cli_config_free(&c);
	free(argv);
	free(buf);
	return 0;
}
