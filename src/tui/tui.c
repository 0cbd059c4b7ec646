/*
 * tui.c - the console's lifecycle: terminal set-up and restore, signals,
 * the poll loop, key dispatch, and the actions behind keys and prompt
 * lines.
 *
 * One poll() loop waits on the keyboard, an inotify descriptor on the
 * state directory (or a 500 ms stat tick when there is none) - in fleet
 * mode instead the store's change feed (LISTEN/NOTIFY) and the replica
 * registry's 1 s timer (tui_fleet.c) - the embedded server's event fd, an
 * eventfd the runner worker and log writers poke, a self-pipe for signals
 * and a pipe that stands in for stderr.  Two timers run only while their
 * subject does: once a second while the embedded server runs (uptime and
 * the per-second figures move), and every 100 ms while a fixture run is
 * active (its per-case counter is sampled; an unchanged one draws
 * nothing).  The server's figures are read at most once per frame,
 * however often its event fd fires.  Nothing is drawn unless something
 * changed, and data-driven redraws come at most every 100 ms.  Every action goes through cli_parse and the core; this
 * module must never write to the terminal outside curses, never write to
 * stderr while curses owns the screen, and never leave the terminal in raw
 * mode on any exit path it controls.
 */
#include "tui/tui.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/mem.h"
#include "core/gateway/runner.h"
#include "core/openresponses/respstore.h"
#include "core/store/store.h"
#include "server/server.h"
#include "tui/tui_cmd.h"
#include "tui/tui_data.h"
#include "tui/tui_fleet.h"
#include "tui/tui_keys.h"
#include "tui/tui_prompt.h"
#include "tui/tui_render.h"
#include "tui/tui_screen.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <ncurses.h>
#include <readline/readline.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define TUI_EVENTS_MAX 2000
#define TUI_LOG_MAX 1000
#define TUI_FRAME_MS 100
#define TUI_KEY_FRAME_MS 16
#define TUI_TICK_MS 500
#define TUI_SRV_TICK_MS 1000

/* The fixture run on the worker thread.  mu guards phase/done/total and
 * finished; cases_done and cancel are atomics shared with the runner (it
 * stores cases_done after every case, the loop samples it every 100 ms;
 * the loop sets cancel); the rest belongs to the worker until finished is
 * set. */
typedef struct tui_job {
	pthread_t th;
	pthread_mutex_t mu;
	bool active;                  /* main thread: a worker exists */
	bool finished;
	char phase[16];
	uint64_t done, total;
	uint64_t last_poke_ms;
	_Atomic uint64_t cases_done;
	atomic_bool cancel;
	uint64_t last_sample_ms;      /* main thread: when cases_done was last read */
	cli_config cfg;               /* the parsed run line; owns the strings opts borrows */
	gw_runner_opts opts;
	gw_cycle_report report;
	gw_err err;
	int rc;
	int wake_fd;
} tui_job;

typedef struct tui_app {
	cli_config cfg;               /* the console's own flags (a copy) */
	char *fixture;                /* the last fixture used */
	tui_posture posture;
	tui_events events;
	tui_log log;
	tui_ui ui;
	tui_job job;
	/* fleet mode: the database instead of the state directory */
	bool fleet_on, fleet_down;
	tui_fleet fleet;
	/* the embedded server and the parsed line whose strings it borrows */
	srv_server *srv;
	cli_config srv_cfg;
	bool srv_stale;               /* its figures changed: read them before the next frame */
	uint64_t srv_tick_ms;         /* the last once-a-second refresh (uptime, rates) */
	char *pending_bind;           /* 'w' waiting for a token */
	bool filter_log;              /* the open filter prompt is the log view's */
	char *last_bind;              /* the address the server last listened on */
	char *bind_path;              /* where last_bind is kept, or NULL */
	enum { TUI_ASK_QUIT, TUI_ASK_UNSERVE, TUI_ASK_RECOVER } asking; /* the open y/n */
	/* descriptors */
	int wake_fd, ino_fd, ino_wd, err_rd, saved_stderr;
	/* loop state */
	bool quit, dirty, urgent, posture_stale, events_stale;
	/* the rest of a burst that curses must decode (tui_read_burst) */
	unsigned char *stash;
	size_t stash_len, stash_off;
	bool stash_fed;               /* a chunk of it is in curses' queue */
	uint64_t last_draw_ms, last_tick_ms, state_sig, events_sig, log_seq;
	/* bench hooks */
	int stats_fd;
	uint64_t start_ms, first_frame_ms, min_gap_ms;
	bool curses_on;
	SCREEN *screen;
	const cli_libraries_fn *faces; /* for --version at the prompt */
} tui_app;

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t tui_sig_quit;
static volatile sig_atomic_t tui_sig_winch;
static int tui_sig_pipe[2] = { -1, -1 };

static void
tui_on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGWINCH)
		tui_sig_winch = 1;
	else
		tui_sig_quit = sig;
	ssize_t w = write(tui_sig_pipe[1], "s", 1);
	(void)w;
	errno = saved;
}

static const int tui_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
static struct sigaction tui_old_actions[4];

static void
tui_signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tui_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 4; i++)
		sigaction(tui_signals[i], &sa, &tui_old_actions[i]);
	signal(SIGPIPE, SIG_IGN);
}

static void
tui_signals_restore(void)
{
	for (size_t i = 0; i < 4; i++)
		sigaction(tui_signals[i], &tui_old_actions[i], NULL);
}

/* ---- helpers ------------------------------------------------------------ */

static void
tui_drain(int fd)
{
	char buf[4096];
	while (read(fd, buf, sizeof(buf)) > 0) {
	}
}

/* Records a result or an error: the message line (one line, cut at the
 * screen's width) and the log view, which keeps it whole.  The console's
 * own messages stay out of the event list, which holds the runtime's
 * events only; its title counts them. */
static void
tui_report(tui_app *app, bool error, const char *text)
{
	/* a message that quotes a line (an error) shows no credential either */
	gw_buf masked = GW_BUF_INIT, one = GW_BUF_INIT;
	tui_cmd_mask_secret(text, false, &masked);
	text = gw_buf_cstr(&masked);
	tui_render_oneline(&one, text);
	tui_screen_message(&app->ui, error, "%s", gw_buf_cstr(&one));
	gw_buf_free(&one);
	if (error) {
		gw_buf b = GW_BUF_INIT;
		gw_buf_printf(&b, "error: %s", text);
		tui_log_add(&app->log, gw_buf_cstr(&b));
		gw_buf_free(&b);
	} else {
		tui_log_add(&app->log, text);
	}
	app->ui.console_msgs++;
	gw_buf_free(&masked);
	app->dirty = app->urgent = true;
}

static void
tui_reportf(tui_app *app, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
tui_reportf(tui_app *app, bool error, const char *fmt, ...)
{
	gw_buf b = GW_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	gw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	tui_report(app, error, gw_buf_cstr(&b));
	gw_buf_free(&b);
}

static bool
tui_blank(const char *s)
{
	return s == NULL || s[strspn(s, " \t")] == '\0';
}

/* A fresh copy of the console's configuration for parsing one line. */
static void
tui_seed(const tui_app *app, cli_config *c)
{
	cli_config_copy(c, &app->cfg);
	c->action = CLI_ACTION_NONE;
	cli_config_set(c, "gateway-fixture", app->fixture, NULL);
}

/* ---- fixture runs --------------------------------------------------------- */

static void
tui_job_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	tui_job *j = ctx;
	uint64_t now = gw_clock_mono_ms();
	pthread_mutex_lock(&j->mu);
	bool poke = strcmp(j->phase, phase) != 0 || now - j->last_poke_ms >= TUI_FRAME_MS;
	snprintf(j->phase, sizeof(j->phase), "%s", phase);
	j->done = done;
	j->total = total;
	if (poke)
		j->last_poke_ms = now;
	pthread_mutex_unlock(&j->mu);
	if (poke)
		gw_fs_eventfd_signal(j->wake_fd);
}

static void *
tui_job_main(void *arg)
{
	tui_job *j = arg;
	j->rc = gw_runner_run(&j->opts, &j->report, &j->err);
	pthread_mutex_lock(&j->mu);
	j->finished = true;
	pthread_mutex_unlock(&j->mu);
	gw_fs_eventfd_signal(j->wake_fd);
	return NULL;
}

/* Starts a runner cycle for the parsed line c (taken over). */
static void
tui_job_start(tui_app *app, cli_config *c)
{
	tui_job *j = &app->job;
	if (j->active) {
		tui_report(app, true, "a fixture run is already in progress");
		cli_config_free(c);
		return;
	}
	free(app->fixture);
	app->fixture = gw_xstrdup(c->runner.fixture_path);
	j->cfg = *c;
	memset(c, 0, sizeof(*c));
	j->opts = j->cfg.runner;
	j->opts.lock_nowait = true;
	j->opts.progress = tui_job_progress;
	j->opts.progress_ctx = j;
	atomic_store(&j->cases_done, 0);
	atomic_store(&j->cancel, false);
	j->opts.cases_done = &j->cases_done;
	j->opts.cancel = &j->cancel;
	app->ui.run_cancelling = false;
	j->finished = false;
	j->done = j->total = 0;
	snprintf(j->phase, sizeof(j->phase), "load");
	gw_err_clear(&j->err);
	app->ui.queue_limit = j->cfg.runner.queue_limit;
	if (pthread_create(&j->th, NULL, tui_job_main, j) != 0) {
		tui_report(app, true, "cannot start the runner thread");
		cli_config_free(&j->cfg);
		return;
	}
	j->active = true;
	app->ui.run_active = true;
	snprintf(app->ui.run_fixture, sizeof(app->ui.run_fixture), "%s", j->opts.fixture_path);
	tui_reportf(app, false, "running %s ...", j->opts.fixture_path);
}

/* Called when the worker poked: copies progress, reaps a finished run. */
static void
tui_job_poll(tui_app *app)
{
	tui_job *j = &app->job;
	if (!j->active)
		return;
	pthread_mutex_lock(&j->mu);
	bool finished = j->finished;
	snprintf(app->ui.run_phase, sizeof(app->ui.run_phase), "%s", j->phase);
	app->ui.run_done = j->done;
	app->ui.run_total = j->total;
	pthread_mutex_unlock(&j->mu);
	if (strcmp(app->ui.run_phase, "evaluate") == 0)
		app->ui.run_done = atomic_load_explicit(&j->cases_done, memory_order_relaxed);
	app->dirty = true;
	if (!finished)
		return;
	pthread_join(j->th, NULL);
	j->active = false;
	app->ui.run_active = false;
	app->ui.run_cancelling = false;
	if (j->rc != 0) {
		tui_reportf(app, true, "run %s failed (exit %d): %s", j->opts.fixture_path,
		    gw_err_exit(&j->err), j->err.msg);
	} else {
		gw_buf b = GW_BUF_INIT;
		gw_buf_printf(&b, "run %s", j->opts.fixture_path);
		if (j->report.cancelled) /* first: the message line is cut at the width */
			gw_buf_printf(&b, " cancelled after %llu of %llu cases (%llu pending)",
			    (unsigned long long)(j->report.applied + j->report.malformed + j->report.failed),
			    (unsigned long long)j->report.queued, (unsigned long long)j->report.backlog);
		gw_buf_printf(&b, ": rollout %s %s, health %s",
		    strcmp(j->report.guardrail.gate, "pass") == 0 ? "PASS" : "HOLD",
		    j->report.guardrail.reason_code, gw_health_state_name(j->report.health_state));
		if (j->report.notice[0])
			gw_buf_printf(&b, " (%s)", j->report.notice);
		if (j->report.service_stopped)
			gw_buf_printf(&b, " (ended early: the service was stopped, reason %s; nothing applied)",
			    j->report.stop_reason[0] ? j->report.stop_reason : "none");
		gw_buf_putc(&b, '\n');
		gw_cycle_report_text(&j->report, &b);
		tui_report(app, false, gw_buf_cstr(&b));
		gw_buf_free(&b);
	}
	cli_config_free(&j->cfg);
	app->posture_stale = app->events_stale = true;
}

/* Every 100 ms while a run evaluates: the runner's per-case counter.  A
 * change makes a frame (so progress moves by case, at most ten frames a
 * second); an unchanged counter draws nothing. */
static void
tui_job_sample(tui_app *app)
{
	tui_job *j = &app->job;
	j->last_sample_ms = gw_clock_mono_ms();
	if (!j->active || strcmp(app->ui.run_phase, "evaluate") != 0)
		return;
	uint64_t done = atomic_load_explicit(&j->cases_done, memory_order_relaxed);
	if (done != app->ui.run_done) {
		app->ui.run_done = done;
		app->dirty = true;
	}
}

/* 'c' and the prompt word cancel: the run stops at its next case boundary
 * (the runner applies the cases already evaluated, as one cycle). */
static void
tui_job_cancel(tui_app *app)
{
	tui_job *j = &app->job;
	if (!j->active) {
		tui_report(app, true, "no fixture run to cancel");
		return;
	}
	if (atomic_exchange(&j->cancel, true)) {
		tui_screen_message(&app->ui, false, "the run is already being cancelled");
		return;
	}
	app->ui.run_cancelling = true;
	tui_reportf(app, false, "cancelling the run of %s at the next case ...", j->opts.fixture_path);
}

/* ---- the embedded server ---------------------------------------------------- */

static void
tui_srv_log(void *ctx, const char *line)
{
	tui_log_add(ctx, line);
}

/* The foreground server runs in fleet mode (src/server/fleet.h); the
 * console's embedded one does not yet. */
static void
tui_serve_fleet_refusal(tui_app *app)
{
	tui_report(app, true, "--gateway-openresponses-server does not run on PostgreSQL yet "
	    "inside the console: start it with the flags (tau-gateway --gateway-state-url URL "
	    "--gateway-openresponses-server)");
}

/* Keeps the address the server listened on for the next bind prompt, in
 * this session and in the console's own directory (next to the history,
 * never in the state directory), so a later console offers it too. */
static void
tui_bind_remember(tui_app *app, const char *bind)
{
	if (bind == NULL || bind[0] == '\0')
		return;
	free(app->last_bind);
	app->last_bind = gw_xstrdup(bind);
	if (app->bind_path != NULL) {
		gw_buf b = GW_BUF_INIT;
		gw_buf_printf(&b, "%s\n", bind);
		(void)gw_fs_write_atomic(app->bind_path, b.data, b.len, NULL);
		gw_buf_free(&b);
	}
}

/* Starts the server from the parsed line c (taken over). */
static void
tui_serve_parsed(tui_app *app, cli_config *c)
{
	if (app->srv != NULL) {
		tui_reportf(app, true, "the server is already running on %s", app->ui.srv.bind);
		cli_config_free(c);
		return;
	}
	if (c->state_url != NULL) {
		tui_serve_fleet_refusal(app);
		cli_config_free(c);
		return;
	}
	app->srv_cfg = *c;
	memset(c, 0, sizeof(*c));
	srv_config sc = app->srv_cfg.server;
	sc.log = tui_srv_log;
	sc.log_ctx = &app->log;
	gw_err err;
	gw_err_clear(&err);
	if (srv_start(&sc, &app->srv, &err) != 0) {
		app->srv = NULL;
		tui_reportf(app, true, "server: %s", err.msg);
		cli_config_free(&app->srv_cfg);
		app->posture_stale = true;
		return;
	}
	srv_get_stats(app->srv, &app->ui.srv);
	app->srv_stale = false;
	app->srv_tick_ms = gw_clock_mono_ms();
	app->ui.srv_running = true;
	tui_bind_remember(app, app->srv_cfg.server.bind);
	tui_reportf(app, false, "server listening on %s (model %s)", app->ui.srv.bind,
	    app->srv_cfg.server.provider.model);
	app->posture_stale = true;
}

/* Validates bind and token with the CLI's server checks, then starts. */
static void
tui_serve(tui_app *app, const char *bind, const char *token)
{
	char *argv[] = { "tau-gateway", "--gateway-openresponses-server", "--gateway-openresponses-bind",
		(char *)bind, "--gateway-openresponses-auth-token", (char *)token, NULL };
	cli_config c;
	tui_seed(app, &c);
	gw_err err;
	gw_err_clear(&err);
	if (cli_parse(6, argv, false, &c, &err) != 0) {
		tui_report(app, true, err.msg);
		cli_config_free(&c);
		return;
	}
	tui_serve_parsed(app, &c);
}

/* 'w' and "serve [bind]": asks for what the flags did not give. */
static void
tui_serve_begin(tui_app *app, const char *bind, bool ask_bind)
{
	if (app->srv != NULL) {
		tui_reportf(app, true, "the server is already running on %s", app->ui.srv.bind);
		return;
	}
	free(app->pending_bind);
	app->pending_bind = gw_xstrdup(bind ? bind :
	    ask_bind && app->last_bind != NULL ? app->last_bind : app->cfg.server.bind);
	if (ask_bind) {
		tui_prompt_open(TUI_PROMPT_BIND, "server bind: ", app->pending_bind);
		return;
	}
	if (tui_blank(app->cfg.server.auth_token)) {
		tui_prompt_open(TUI_PROMPT_TOKEN, "server auth token: ", NULL);
		return;
	}
	tui_serve(app, app->pending_bind, app->cfg.server.auth_token);
}

static void
tui_unserve(tui_app *app)
{
	if (app->srv == NULL) {
		tui_report(app, true, "the server is not running");
		return;
	}
	srv_stop(app->srv);
	app->srv = NULL;
	cli_config_free(&app->srv_cfg);
	app->ui.srv_running = false;
	app->ui.req_focus = false;
	tui_report(app, false, "server stopped");
	app->posture_stale = true;
}

/* The prompt's reload: the embedded server's routes file, validated in
 * full first (a bad file is refused and the old routes keep serving). */
static void
tui_reload(tui_app *app)
{
	if (app->srv == NULL) {
		tui_report(app, true, "the server is not running");
		return;
	}
	gw_err err;
	gw_err_clear(&err);
	if (srv_routes_reload(app->srv, &err) != 0)
		tui_report(app, true, err.msg);
	else
		tui_report(app, false, "routes reloaded");
	app->posture_stale = true; /* the event log has its line */
}

/* ---- actions ------------------------------------------------------------ */

/* Runs one parsed flag line (argv[0] is the program name). */
static void
tui_exec_argv(tui_app *app, int argc, char **argv)
{
	cli_config c;
	tui_seed(app, &c);
	gw_err err;
	gw_err_clear(&err);
	if (cli_parse(argc, argv, false, &c, &err) != 0) {
		tui_report(app, true, err.msg);
		cli_config_free(&c);
		return;
	}
	gw_buf out = GW_BUF_INIT, diag = GW_BUF_INIT;
	switch (c.action) {
	case CLI_ACTION_NONE:
		tui_report(app, true, "nothing to do: the line has no action flag (see help)");
		break;
	case CLI_ACTION_CONSOLE:
		tui_report(app, true, "already in the console");
		break;
	case CLI_ACTION_RUNNER:
		tui_job_start(app, &c);
		break;
	case CLI_ACTION_SERVER:
		tui_serve_parsed(app, &c);
		break;
	case CLI_ACTION_HELP:
		cli_usage(&out);
		tui_screen_show_text(&app->ui, "tau-gateway --help", gw_buf_cstr(&out));
		break;
	case CLI_ACTION_VERSION:
		cli_version(&out, app->faces);
		tui_screen_show_text(&app->ui, "tau-gateway --version", gw_buf_cstr(&out));
		break;
	case CLI_ACTION_SERVICE_START:
	case CLI_ACTION_SERVICE_STOP:
		if (app->job.active) {
			tui_report(app, true, "a fixture run holds the state lock; try again when it finishes");
			break;
		}
		/* fall through */
	default: {
		int status = cli_execute(&c, &out, &diag, &err);
		if (diag.len)
			tui_log_add(&app->log, gw_buf_cstr(&diag));
		if (status != 0) {
			tui_reportf(app, true, "exit %d: %s", status, err.msg);
			break;
		}
		while (out.len > 0 && out.data[out.len - 1] == '\n')
			out.data[--out.len] = '\0';
		if (diag.len && (c.action == CLI_ACTION_SERVICE_START || c.action == CLI_ACTION_SERVICE_STOP)) {
			/* "already stopped (reason ...); nothing recorded", or a
			 * corrupt state moved aside: what the flags say on stderr
			 * is the message here, not a line in the log only */
			const char *d = gw_buf_cstr(&diag);
			if (strncmp(d, "tau-gateway: ", 13) == 0)
				d += 13;
			tui_report(app, strncmp(d, "warning: ", 9) == 0, d);
			app->posture_stale = true;
			break;
		}
		tui_report(app, false, gw_buf_cstr(&out));
		gw_buf table = GW_BUF_INIT;
		bool inspect = c.action == CLI_ACTION_CHANNEL_INSPECT || c.action == CLI_ACTION_HEALTH_INSPECT ||
		    c.action == CLI_ACTION_STATUS_INSPECT || c.action == CLI_ACTION_SERVICE_STATUS;
		if (inspect && tui_render_kv_table(&table, gw_buf_cstr(&out), 4)) {
			/* "head: key=value ..." as "key  value" rows, titled by the head */
			const char *nl = strchr(gw_buf_cstr(&table), '\n');
			char *title = gw_xstrndup(table.data, (size_t)(nl - table.data));
			tui_screen_show_text(&app->ui, title, nl + 1);
			free(title);
		} else if (strchr(gw_buf_cstr(&out), '\n') != NULL) {
			tui_screen_show_text(&app->ui, "Result", gw_buf_cstr(&out));
		}
		gw_buf_free(&table);
		app->posture_stale = true;
		break;
	}
	}
	gw_buf_free(&out);
	gw_buf_free(&diag);
	cli_config_free(&c);
}

static void tui_quit_request(tui_app *app);
static void tui_exec_words(tui_app *app, const char *a, const char *b, const char *c);

/* Runs one prompt line: a word or a flag line. */
static void
tui_exec_line(tui_app *app, const char *line)
{
	gw_buf shown = GW_BUF_INIT;
	tui_cmd_mask_secret(line, false, &shown); /* the token never reaches the log */
	tui_log_addf(&app->log, "> %s", gw_buf_cstr(&shown));
	gw_buf_free(&shown);
	tui_line l;
	gw_err err;
	gw_err_clear(&err);
	if (tui_cmd_translate(line, app->fixture, &l, &err) != 0) {
		tui_report(app, true, err.msg);
		return;
	}
	switch (l.kind) {
	case TUI_LINE_EMPTY:
		break;
	case TUI_LINE_FLAGS:
		tui_exec_argv(app, l.argc, l.argv);
		break;
	case TUI_LINE_SERVE:
		if (app->fleet_on)
			tui_serve_fleet_refusal(app);
		else
			tui_serve_begin(app, l.arg, false);
		break;
	case TUI_LINE_UNSERVE:
		tui_unserve(app);
		break;
	case TUI_LINE_RELOAD:
		tui_reload(app);
		break;
	case TUI_LINE_CANCEL:
		tui_job_cancel(app);
		break;
	case TUI_LINE_HELP:
		app->ui.overlay = TUI_OVERLAY_HELP;
		app->ui.overlay_top = app->ui.overlay_left = 0;
		break;
	case TUI_LINE_QUIT:
		app->quit = true;
		break;
	}
	tui_line_free(&l);
}

static void
tui_exec_words(tui_app *app, const char *a, const char *b, const char *c)
{
	char *argv[] = { "tau-gateway", (char *)a, (char *)b, (char *)c, NULL };
	int argc = 2 + (b != NULL) + (b != NULL && c != NULL);
	argv[argc] = NULL;
	tui_exec_argv(app, argc, argv);
}

/* Opens a y/n question; tui_prompt_done acts on the answer by app->asking. */
static void
tui_ask(tui_app *app, int what, const char *question)
{
	app->asking = what;
	tui_prompt_open(TUI_PROMPT_CONFIRM, question, NULL);
}

static void
tui_quit_request(tui_app *app)
{
	if (app->srv == NULL && !app->job.active) {
		app->quit = true;
		return;
	}
	char q[240];
	if (app->srv != NULL)
		snprintf(q, sizeof(q), "quit: stop the server on %s%s and record a service stop? "
		    "(y: stop and quit, n: cancel) ", app->ui.srv.bind,
		    app->job.active ? ", cancel the fixture run at its next case" : "");
	else
		snprintf(q, sizeof(q), "quit: cancel the fixture run at its next case "
		    "(the cases evaluated are kept)? (y/n) ");
	tui_ask(app, TUI_ASK_QUIT, q);
}

static void
tui_prompt_done(void *ctx, tui_prompt_kind kind, const char *line)
{
	tui_app *app = ctx;
	app->dirty = app->urgent = true;
	if (line == NULL) {
		if (kind != TUI_PROMPT_CONFIRM)
			tui_screen_message(&app->ui, false, "cancelled");
		else if (app->asking == TUI_ASK_RECOVER)
			tui_screen_message(&app->ui, false, "cancelled: state.json is left as it is");
		else
			tui_screen_message(&app->ui, false, "cancelled%s",
			    app->srv != NULL ? ": the server keeps running" : "");
		return;
	}
	switch (kind) {
	case TUI_PROMPT_COMMAND:
		tui_exec_line(app, line);
		break;
	case TUI_PROMPT_FILTER:
		if (app->filter_log) { /* '/' in the log view filters the log */
			snprintf(app->ui.log_filter, sizeof(app->ui.log_filter), "%s", line);
			app->ui.log_follow = true;
			tui_screen_message(&app->ui, false, line[0] ? "log filter: %s" : "log filter cleared%s", line);
			break;
		}
		snprintf(app->ui.filter, sizeof(app->ui.filter), "%s", line);
		app->ui.follow = true;
		tui_screen_message(&app->ui, false, line[0] ? "filter: %s" : "filter cleared%s", line);
		break;
	case TUI_PROMPT_REASON:
		/* Enter alone records operator_requested; blanks are the flag's
		 * to refuse (gw_service_reason_check, through cli_parse) */
		if (line[0] == '\0')
			tui_exec_words(app, "--gateway-service-stop", NULL, NULL);
		else
			tui_exec_words(app, "--gateway-service-stop", "--gateway-service-stop-reason", line);
		break;
	case TUI_PROMPT_FIXTURE:
		tui_exec_words(app, "--gateway-contract-runner", "--gateway-fixture",
		    tui_blank(line) ? app->fixture : line);
		break;
	case TUI_PROMPT_BIND:
		tui_serve_begin(app, tui_blank(line) ? app->cfg.server.bind : line, false);
		break;
	case TUI_PROMPT_TOKEN:
		if (tui_blank(line)) {
			tui_report(app, true, "the server needs an auth token");
			break;
		}
		tui_serve(app, app->pending_bind, line);
		break;
	case TUI_PROMPT_CONFIRM:
		if (app->asking == TUI_ASK_UNSERVE)
			tui_unserve(app);
		else if (app->asking == TUI_ASK_RECOVER)
			tui_exec_words(app, "--gateway-service-start", NULL, NULL);
		else
			app->quit = true;
		break;
	}
}

/* ---- keys --------------------------------------------------------------- */

static void
tui_show_selected(tui_app *app)
{
	const tui_event *e = tui_screen_selected(&app->ui);
	if (e == NULL) {
		tui_screen_message(&app->ui, false, "no event selected");
		return;
	}
	gw_buf pretty = GW_BUF_INIT, shown = GW_BUF_INIT;
	cJSON *v = cJSON_Parse(e->text);
	if (v != NULL) {
		gw_jw w;
		gw_jw_init(&w, &pretty, true);
		gw_jw_cjson(&w, v);
		cJSON_Delete(v);
		/* unix ms times with their ISO 8601 reading beside them */
		tui_render_annotate_times(&shown, gw_buf_cstr(&pretty));
	}
	tui_screen_show_detail(&app->ui, shown.len ? gw_buf_cstr(&shown) : e->text);
	gw_buf_free(&pretty);
	gw_buf_free(&shown);
}

/* A mouse event (mousemask in tui_curses_start, unless --no-mouse): the
 * wheel scrolls whatever is shown, a click selects the event row under it. */
static void
tui_on_mouse(tui_app *app)
{
	MEVENT me;
	if (getmouse(&me) != OK || tui_prompt_active() || COLS < TUI_MIN_COLS || LINES < TUI_MIN_ROWS)
		return;
	tui_ui *ui = &app->ui;
	if (me.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		tui_cmd c = (me.bstate & BUTTON4_PRESSED) ? TUI_CMD_UP : TUI_CMD_DOWN;
		for (int i = 0; i < 3; i++)
			tui_screen_scroll(ui, c);
		return;
	}
	if (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED))
		tui_screen_click(ui, me.y, me.x);
}

/* Enter on the request list: the selected request's stored response
 * (read from the state directory, as GET /v1/responses/{id} reads it), in
 * the detail overlay. */
static void
tui_show_response(tui_app *app)
{
	const srv_stats *s = &app->ui.srv;
	unsigned n = s->nrecent < SRV_RECENT_MAX ? s->nrecent : SRV_RECENT_MAX;
	if (n == 0 || app->ui.req_sel >= n) {
		tui_screen_message(&app->ui, false, "no request selected");
		return;
	}
	const srv_recent *r = &s->recent[n - 1 - app->ui.req_sel];
	if (r->resp_id[0] == '\0') {
		tui_screen_message(&app->ui, false, "%s %s (%u) names no response", r->method, r->path,
		    r->status);
		return;
	}
	gw_err err;
	gw_err_clear(&err);
	gw_store *st = NULL;
	cJSON *rec = NULL;
	int rc = gw_store_open_dir(app->cfg.state_dir, &st, &err);
	if (rc == 0)
		rc = gw_respstore_load(st, r->resp_id, &rec, &err);
	gw_store_close(st);
	if (rc == -ENOENT) {
		tui_screen_message(&app->ui, false, "%s is not stored (store false, or deleted)", r->resp_id);
		return;
	}
	if (rc != 0) {
		tui_report(app, true, err.msg);
		return;
	}
	gw_buf text = GW_BUF_INIT, title = GW_BUF_INIT;
	gw_buf_printf(&title, "stored response %s", r->resp_id);
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(rec, "response");
	gw_jw w;
	gw_jw_init(&w, &text, true);
	gw_jw_cjson(&w, resp != NULL ? resp : rec);
	cJSON_Delete(rec);
	tui_screen_show_text(&app->ui, gw_buf_cstr(&title), gw_buf_cstr(&text));
	gw_buf_free(&text);
	gw_buf_free(&title);
}

static void
tui_on_key(tui_app *app, int code)
{
	tui_ui *ui = &app->ui;
	app->dirty = app->urgent = true;
	if (code == KEY_RESIZE)
		return;
	if (code == KEY_MOUSE) {
		tui_on_mouse(app);
		return;
	}
	if (tui_prompt_active()) {
		tui_prompt_key(code);
		return;
	}
	tui_cmd cmd = tui_keys_lookup(code);
	if (COLS < TUI_MIN_COLS || LINES < TUI_MIN_ROWS) {
		/* only quitting works on a screen too small to show anything,
		 * and it asks as it does on a large one */
		if (cmd == TUI_CMD_QUIT)
			tui_quit_request(app);
		return;
	}
	if (ui->overlay != TUI_OVERLAY_NONE) {
		switch (cmd) {
		case TUI_CMD_DOWN: case TUI_CMD_UP: case TUI_CMD_PAGE_DOWN:
		case TUI_CMD_PAGE_UP: case TUI_CMD_TOP: case TUI_CMD_BOTTOM:
		case TUI_CMD_LEFT: case TUI_CMD_RIGHT: case TUI_CMD_WRAP:
			tui_screen_scroll(ui, cmd);
			return;
		case TUI_CMD_PROMPT: /* ':' closes the overlay and opens the prompt */
			ui->overlay = TUI_OVERLAY_NONE;
			ui->message[0] = '\0';
			tui_prompt_open(TUI_PROMPT_COMMAND, ":", NULL);
			return;
		default:
			if (ui->overlay == TUI_OVERLAY_DETAIL && cmd != TUI_CMD_CLOSE &&
			    cmd != TUI_CMD_DETAIL && cmd != TUI_CMD_QUIT)
				return;
			ui->overlay = TUI_OVERLAY_NONE;
			return;
		}
	}
	ui->message[0] = '\0';
	switch (cmd) {
	case TUI_CMD_NONE:
		break;
	case TUI_CMD_HELP:
		ui->overlay = TUI_OVERLAY_HELP;
		ui->overlay_top = ui->overlay_left = 0;
		break;
	case TUI_CMD_PROMPT:
		tui_prompt_open(TUI_PROMPT_COMMAND, ":", NULL);
		break;
	case TUI_CMD_FILTER:
		app->filter_log = ui->log_view;
		if (ui->log_view)
			tui_prompt_open(TUI_PROMPT_FILTER, "log filter: ", ui->log_filter);
		else
			tui_prompt_open(TUI_PROMPT_FILTER, "filter: ", ui->filter);
		break;
	case TUI_CMD_NEXT_MATCH:
	case TUI_CMD_PREV_MATCH:
		if (!tui_screen_next_match(ui, cmd == TUI_CMD_NEXT_MATCH))
			tui_screen_message(ui, false, "no match: / sets a filter");
		break;
	case TUI_CMD_LEFT: case TUI_CMD_RIGHT: case TUI_CMD_WRAP:
		break; /* an overlay's */
	case TUI_CMD_START:
		if (!app->fleet_on && app->posture.corrupt) {
			/* the start would move the file aside: not without asking */
			tui_ask(app, TUI_ASK_RECOVER, "state.json is corrupt: move it aside (state.json."
			    "corrupt-<ms>), start from the defaults and record a start? (y/n) ");
			break;
		}
		tui_exec_words(app, "--gateway-service-start", NULL, NULL);
		break;
	case TUI_CMD_STOP:
		tui_prompt_open(TUI_PROMPT_REASON, "stop reason (empty: operator_requested): ", NULL);
		break;
	case TUI_CMD_RUN:
		if (app->fleet_on) /* the flags' own refusal, word for word */
			tui_exec_words(app, "--gateway-contract-runner", NULL, NULL);
		else if (app->job.active)
			tui_report(app, true, "a fixture run is already in progress");
		else
			tui_prompt_open(TUI_PROMPT_FIXTURE, "fixture: ", app->fixture);
		break;
	case TUI_CMD_SERVE:
		if (app->fleet_on)
			tui_serve_fleet_refusal(app);
		else if (app->srv != NULL) {
			char q[200];
			snprintf(q, sizeof(q), "stop the server on %s and record a service stop? "
			    "(y: stop, n: cancel) ", app->ui.srv.bind);
			tui_ask(app, TUI_ASK_UNSERVE, q);
		} else
			tui_serve_begin(app, NULL, strcmp(app->cfg.server.bind, SRV_DEFAULT_BIND) == 0);
		break;
	case TUI_CMD_LOG:
		ui->log_view = !ui->log_view;
		ui->log_follow = true;
		break;
	case TUI_CMD_DOWN: case TUI_CMD_UP: case TUI_CMD_PAGE_DOWN:
	case TUI_CMD_PAGE_UP: case TUI_CMD_TOP: case TUI_CMD_BOTTOM:
		if (ui->req_focus && app->srv != NULL && !ui->log_view) {
			/* the request list: down is older (clamped when drawn) */
			if (cmd == TUI_CMD_DOWN || cmd == TUI_CMD_PAGE_DOWN || cmd == TUI_CMD_BOTTOM)
				ui->req_sel += cmd == TUI_CMD_DOWN ? 1 : cmd == TUI_CMD_PAGE_DOWN ? 10 : SRV_RECENT_MAX;
			else
				ui->req_sel = cmd == TUI_CMD_UP && ui->req_sel > 0 ? ui->req_sel - 1 :
				    cmd == TUI_CMD_PAGE_UP && ui->req_sel > 10 ? ui->req_sel - 10 : 0;
			ui->req_picked = false; /* the next frame picks the row at req_sel */
			break;
		}
		tui_screen_scroll(ui, cmd);
		break;
	case TUI_CMD_DETAIL:
		if (ui->req_focus && app->srv != NULL && !ui->log_view)
			tui_show_response(app);
		else if (!ui->log_view)
			tui_show_selected(app);
		break;
	case TUI_CMD_FOCUS:
		if (app->srv == NULL) {
			tui_screen_message(ui, false, "the request list shows while the server runs (w)");
			ui->req_focus = false;
			break;
		}
		ui->req_focus = !ui->req_focus;
		ui->req_sel = 0;
		ui->req_picked = false;
		break;
	case TUI_CMD_CLOSE:
		ui->log_view = false;
		break;
	case TUI_CMD_CANCEL:
		tui_job_cancel(app);
		break;
	case TUI_CMD_REDRAW:
		clearok(curscr, TRUE);
		break;
	case TUI_CMD_QUIT:
		tui_quit_request(app);
		break;
	}
}

/* ---- watching the state directory ----------------------------------------- */

static void
tui_watch(tui_app *app)
{
	if (app->fleet_on || app->ino_fd < 0 || app->ino_wd >= 0)
		return;
	app->ino_wd = inotify_add_watch(app->ino_fd, app->cfg.state_dir,
	    IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
	    IN_DELETE_SELF | IN_MOVE_SELF);
	if (app->ino_wd >= 0)
		app->posture_stale = app->events_stale = true; /* catch up on what we missed */
}

static void
tui_inotify(tui_app *app)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	while ((n = read(app->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				if (app->ino_wd >= 0)
					inotify_rm_watch(app->ino_fd, app->ino_wd);
				app->ino_wd = -1; /* back to the stat tick */
				app->posture_stale = app->events_stale = true;
			} else if (e->mask & IN_Q_OVERFLOW) {
				app->posture_stale = app->events_stale = true;
			} else if (e->len > 0 && strcmp(e->name, "state.json") == 0) {
				app->posture_stale = true;
			} else if (e->len > 0 && strcmp(e->name, "runtime-events.jsonl") == 0) {
				app->events_stale = true;
			}
			p += sizeof(*e) + e->len;
		}
	}
}

/* A cheap change signature of a file: size and modification time. */
static uint64_t
tui_file_sig(const char *dir, const char *name)
{
	char *path = gw_path_join(dir, name);
	struct stat sb;
	uint64_t sig = 0;
	if (stat(path, &sb) == 0)
		sig = (uint64_t)sb.st_size * 1000003u ^ (uint64_t)sb.st_mtim.tv_sec * 1000000000u ^
		    (uint64_t)sb.st_mtim.tv_nsec ^ (uint64_t)sb.st_ino;
	free(path);
	return sig;
}

/* The fallback when there is no inotify watch: compare stat signatures. */
static void
tui_tick(tui_app *app)
{
	app->last_tick_ms = gw_clock_mono_ms();
	tui_watch(app);
	uint64_t s = tui_file_sig(app->cfg.state_dir, "state.json");
	uint64_t e = tui_file_sig(app->cfg.state_dir, "runtime-events.jsonl");
	if (s != app->state_sig)
		app->posture_stale = true;
	if (e != app->events_sig)
		app->events_stale = true;
	app->state_sig = s;
	app->events_sig = e;
}

/* Brings the data up to date before a frame. */
static void
tui_refresh_data(tui_app *app)
{
	gw_err err;
	gw_err_clear(&err);
	/* the server's figures once per frame at most, however many requests
	 * poked its event fd (it pokes once until they are read) */
	if (app->srv != NULL && app->srv_stale) {
		app->srv_stale = false;
		srv_get_stats(app->srv, &app->ui.srv);
	}
	if (app->fleet_on) {
		if (app->events_stale) {
			app->events_stale = false;
			if (tui_fleet_events(&app->fleet, &app->events, &err) < 0)
				tui_log_addf(&app->log, "events: %s", err.msg);
		}
		if (app->posture_stale) {
			app->posture_stale = false;
			tui_fleet_posture(&app->fleet, &app->posture);
		}
		/* a notification that came in while those queries ran sits in
		 * libpq's buffer, where poll(2) cannot see it */
		if (tui_fleet_drain(&app->fleet) > 0)
			app->posture_stale = app->events_stale = true;
		app->ui.replicas = app->fleet.replicas;
		app->ui.nreplicas = app->fleet.nreplicas;
		return;
	}
	if (app->events_stale) {
		app->events_stale = false;
		if (tui_events_follow(&app->events, &err) < 0)
			tui_log_addf(&app->log, "events: %s", err.msg);
	}
	if (app->posture_stale) {
		app->posture_stale = false;
		tui_posture_load(app->cfg.state_dir, &app->posture);
		if (app->ino_wd < 0)
			app->state_sig = tui_file_sig(app->cfg.state_dir, "state.json");
	}
}

static void
tui_write_stats(tui_app *app)
{
	if (app->stats_fd < 0)
		return;
	char line[160];
	int n = snprintf(line, sizeof(line), "frames=%llu first_frame_ms=%llu min_gap_ms=%llu events=%zu\n",
	    (unsigned long long)app->ui.frames, (unsigned long long)app->first_frame_ms,
	    (unsigned long long)app->min_gap_ms, app->events.count);
	if (pwrite(app->stats_fd, line, (size_t)n, 0) == n)
		(void)!ftruncate(app->stats_fd, n);
}

static void
tui_draw(tui_app *app)
{
	bool urgent = app->urgent;
	tui_refresh_data(app);
	tui_screen_draw(&app->ui);
	uint64_t now = gw_clock_mono_ms();
	/* the shortest gap between data-driven frames, for bench/console.sh */
	if (!urgent && app->last_draw_ms != 0 && (app->min_gap_ms == 0 || now - app->last_draw_ms < app->min_gap_ms))
		app->min_gap_ms = now - app->last_draw_ms;
	app->last_draw_ms = now;
	app->dirty = app->urgent = false;
	if (app->first_frame_ms == 0)
		app->first_frame_ms = app->last_draw_ms - app->start_ms + 1;
	tui_write_stats(app);
}

/* ---- terminal ------------------------------------------------------------- */

static void
tui_resize(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

/* Sends stderr into a pipe the loop reads into the log, so nothing reaches
 * the screen while curses owns it. */
static void
tui_capture_stderr(tui_app *app)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return;
	fflush(stderr);
	app->saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (app->saved_stderr < 0 || dup2(p[1], STDERR_FILENO) < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	close(p[1]);
	app->err_rd = p[0];
}

static void
tui_read_stderr(tui_app *app)
{
	char buf[4096];
	ssize_t n;
	while ((n = read(app->err_rd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		tui_log_add(&app->log, buf);
	}
}

static void
tui_restore_stderr(tui_app *app)
{
	if (app->saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(app->saved_stderr, STDERR_FILENO);
	close(app->saved_stderr);
	app->saved_stderr = -1;
	if (app->err_rd >= 0) {
		tui_read_stderr(app);
		close(app->err_rd);
		app->err_rd = -1;
	}
}

static int
tui_curses_start(tui_app *app, gw_err *err)
{
	/* TERM=dumb cannot address the cursor; a monochrome VT100 layout (bold
	 * and reverse only) is the readable fallback */
	const char *term = getenv("TERM");
	bool dumb = term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0;
	app->screen = newterm(dumb ? "vt100" : NULL, stdout, stdin);
	if (app->screen == NULL)
		return gw_err_set(err, -ENOTTY, GW_EXIT_UNAVAILABLE,
		    "cannot drive the terminal (TERM=%s)", term ? term : "");
	app->curses_on = true;
	raw();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (!app->cfg.console_no_mouse) {
		/* clicks without the double-click wait; --no-mouse leaves the
		 * terminal's own selection alone */
		mouseinterval(0);
		mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	}
	const char *nc = getenv("NO_COLOR");
	tui_screen_setup(&app->ui, !dumb && (nc == NULL || nc[0] == '\0'));
	return 0;
}

static void
tui_curses_end(tui_app *app)
{
	if (!app->curses_on)
		return;
	curs_set(1);
	endwin();
	delscreen(app->screen);
	app->curses_on = false;
}

/* ---- set-up and loop ----------------------------------------------------- */

static char *
tui_console_path(const char *name)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	gw_buf dir = GW_BUF_INIT;
	if (xdg != NULL && xdg[0] == '/')
		gw_buf_printf(&dir, "%s/tau-gateway", xdg);
	else if (home != NULL && home[0] != '\0')
		gw_buf_printf(&dir, "%s/.local/state/tau-gateway", home);
	else
		return NULL;
	gw_err err;
	gw_err_clear(&err);
	char *path = NULL;
	if (gw_fs_mkdirs(gw_buf_cstr(&dir), &err) == 0)
		path = gw_path_join(gw_buf_cstr(&dir), name);
	gw_buf_free(&dir);
	return path;
}

static int
tui_open(tui_app *app, const cli_config *cfg, gw_err *err)
{
	memset(app, 0, sizeof(*app));
	app->wake_fd = app->ino_fd = app->ino_wd = app->err_rd = app->saved_stderr = -1;
	app->stats_fd = -1;
	app->start_ms = gw_clock_mono_ms();
	cli_config_copy(&app->cfg, cfg);
	app->fixture = gw_xstrdup(cfg->runner.fixture_path);
	pthread_mutex_init(&app->job.mu, NULL);
	int rc = tui_log_init(&app->log, TUI_LOG_MAX, cfg->console_log, err);
	if (rc != 0)
		return rc;
	app->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (app->wake_fd < 0 || pipe2(tui_sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return gw_err_set(err, -errno, GW_EXIT_SOFTWARE, "eventfd/pipe: %s", strerror(errno));
	app->log.wake_fd = app->wake_fd;
	app->job.wake_fd = app->wake_fd;
	app->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	const char *stats = getenv("TAU_CONSOLE_STATS_FILE");
	if (stats != NULL && stats[0] != '\0')
		app->stats_fd = open(stats, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	/* data first, so the first frame is a full one */
	tui_ui *ui = &app->ui;
	if (cfg->state_url != NULL) {
		/* fleet mode: an unreachable database is the flags' exit 69 */
		app->fleet_on = true;
		rc = tui_fleet_open(&app->fleet, cfg->state_url, cfg->deployment, err);
		if (rc != 0)
			return rc;
		tui_events_init(&app->events, app->fleet.label, TUI_EVENTS_MAX);
		if (tui_fleet_events(&app->fleet, &app->events, err) < 0)
			tui_log_addf(&app->log, "events: %s", err->msg);
		gw_err_clear(err);
		tui_fleet_posture(&app->fleet, &app->posture);
		ui->state_dir = app->fleet.label;
		ui->fleet = true;
		ui->fleet_status = app->fleet.status;
		ui->replicas = app->fleet.replicas;
		ui->nreplicas = app->fleet.nreplicas;
	} else {
		tui_events_init(&app->events, cfg->state_dir, TUI_EVENTS_MAX);
		if (tui_events_load_tail(&app->events, err) != 0)
			tui_log_addf(&app->log, "events: %s", err->msg);
		gw_err_clear(err);
		tui_posture_load(cfg->state_dir, &app->posture);
		tui_watch(app);
		app->state_sig = tui_file_sig(cfg->state_dir, "state.json");
		app->events_sig = tui_file_sig(cfg->state_dir, "runtime-events.jsonl");
		ui->state_dir = app->cfg.state_dir;
	}
	app->posture_stale = app->events_stale = false;

	ui->posture = &app->posture;
	ui->events = &app->events;
	ui->log = &app->log;
	ui->queue_limit = cfg->runner.queue_limit;
	ui->follow = true;
	ui->log_follow = true;
	snprintf(ui->message, sizeof(ui->message),
	    "? help  : command  s start  S stop  r run  w serve  q quit");

	app->bind_path = tui_console_path("bind");
	gw_buf last = GW_BUF_INIT;
	if (app->bind_path != NULL && gw_fs_read_file(app->bind_path, &last, NULL) == 0) {
		last.len = strcspn(gw_buf_cstr(&last), "\r\n");
		if (last.len > 0)
			app->last_bind = gw_xstrndup(last.data, last.len);
	}
	gw_buf_free(&last);
	char *hist = tui_console_path("history");
	rc = tui_prompt_init(hist, tui_prompt_done, app, err);
	free(hist);
	if (rc == 0 && !app->fleet_on) {
		/* Tab after "inspect ": the actors the channel store has */
		char *root = cfg->channel_root ? gw_xstrdup(cfg->channel_root) :
		    gw_path_join(cfg->state_dir, "channel-store");
		char *actors = gw_path_join(root, "gateway");
		tui_prompt_set_actor_dir(actors);
		free(actors);
		free(root);
	}
	return rc;
}

static void
tui_close(tui_app *app)
{
	tui_prompt_shutdown();
	tui_job *j = &app->job;
	if (j->active) {
		/* leaving mid-run: cancel and wait (one case or backoff slice), so
		 * the cases evaluated are applied and committed, not rolled back */
		fprintf(stderr, "tau-gateway: cancelling the run of %s at the next case ...\n",
		    j->opts.fixture_path);
		atomic_store(&j->cancel, true);
		pthread_join(j->th, NULL);
		j->active = false;
		if (j->rc != 0)
			fprintf(stderr, "tau-gateway: run %s failed: %s\n", j->opts.fixture_path, j->err.msg);
		else
			fprintf(stderr, "tau-gateway: run %s %s after %llu of %llu cases (%llu pending)\n",
			    j->opts.fixture_path, j->report.cancelled ? "cancelled" : "finished",
			    (unsigned long long)(j->report.applied + j->report.malformed + j->report.failed),
			    (unsigned long long)j->report.queued, (unsigned long long)j->report.backlog);
		cli_config_free(&j->cfg);
	}
	pthread_mutex_destroy(&j->mu);
	if (app->srv != NULL) {
		srv_stop(app->srv);
		cli_config_free(&app->srv_cfg);
	}
	tui_events_free(&app->events);
	tui_fleet_close(&app->fleet);
	tui_screen_free(&app->ui);
	int fds[] = { app->wake_fd, app->ino_fd, app->stats_fd, tui_sig_pipe[0], tui_sig_pipe[1] };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	tui_sig_pipe[0] = tui_sig_pipe[1] = -1;
	tui_log_free(&app->log);
	cli_config_free(&app->cfg);
	free(app->fixture);
	free(app->stash);
	free(app->pending_bind);
	free(app->last_bind);
	free(app->bind_path);
}

enum { TUI_FD_TTY, TUI_FD_SIG, TUI_FD_WAKE, TUI_FD_INOTIFY, TUI_FD_SERVER, TUI_FD_STDERR, TUI_FD_STORE,
	TUI_NFDS };

/* Fleet mode after poll(2): the change feed, the reconnect and registry
 * timer, and a line in the log when the connection goes or comes back. */
static void
tui_fleet_step(tui_app *app, bool readable)
{
	if (readable && tui_fleet_drain(&app->fleet) > 0)
		app->posture_stale = app->events_stale = true;
	if (tui_fleet_tick(&app->fleet, gw_clock_mono_ms()))
		app->dirty = true;
	if (app->fleet.reconnected) {
		app->fleet.reconnected = false;
		app->posture_stale = app->events_stale = true; /* what we missed */
	}
	bool down = app->fleet.store == NULL;
	if (down != app->fleet_down) {
		app->fleet_down = down;
		if (down)
			tui_log_addf(&app->log, "%s", app->fleet.status);
		else
			tui_log_add(&app->log, "reconnected to the state database; listening again");
		app->dirty = app->urgent = true;
	}
}

/*
 * A burst of input (a paste: more than TUI_BURST bytes waiting, FIONREAD)
 * at an open prompt is read in one read(2) and its bytes handed to the
 * prompt as they are: curses reads one byte per read and poll, so a 100 KB
 * paste cost 200 000 system calls and over 400 ms on a loaded machine.
 * Only while a prompt is open and only up to the first ESC: outside a
 * prompt every byte is a command key, and under tmux/screen a burst of
 * X10 mouse reports ("\E[M" and three raw bytes, a coordinate byte can be
 * s, c, r or q) started a stopped service.  With no prompt the burst stays
 * with curses; what is left of a read burst (from its first ESC, or from
 * where the prompt closed) is stashed and handed to curses to decode, a
 * chunk at a time (tui_stash_feed).  Returns false when there was none.
 */
#define TUI_BURST 64
static bool
tui_read_burst(tui_app *app)
{
	int avail = 0;
	if (!tui_prompt_active() || ioctl(STDIN_FILENO, FIONREAD, &avail) != 0 ||
	    avail <= TUI_BURST)
		return false;
	unsigned char buf[65536];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	ssize_t i = 0;
	for (; i < n && !app->quit && buf[i] != 27 && tui_prompt_active(); i++)
		tui_on_key(app, buf[i]);
	if (i < n && !app->quit) {
		app->stash = gw_xmalloc((size_t)(n - i));
		memcpy(app->stash, buf + i, (size_t)(n - i));
		app->stash_len = (size_t)(n - i);
		app->stash_off = 0;
	}
	return n > 0;
}

/*
 * The stash goes back to curses through ungetch(3), whose queue holds
 * about 137 keys: a chunk of at most TUI_STASH_CHUNK bytes, cut before an
 * ESC near its end so that no escape sequence is split, followed by
 * TUI_STASH_END, a code no key has.  getch returns that code when the
 * chunk is decoded: only then comes the next chunk, and only after the
 * last one does the terminal get read again, so the order of the bytes
 * holds.  ungetch pushes to the front: the chunk goes in back to front.
 * Mouse reports are dropped: curses reads the bytes after "\E[M" or
 * "\E[<" from the terminal itself, not from its queue, so one handed
 * back would leave its raw bytes to be read as keys (and the prompt,
 * where a stash starts, ignores the mouse).
 */
#define TUI_STASH_CHUNK 120
#define TUI_STASH_END KEY_MAX

/* The length of the mouse report (X10 "\E[M" and three bytes, or SGR
 * "\E[<b;x;y" and M or m) at p[0..n), the rest of the stash when it is
 * cut short, or 0 when p holds none. */
static size_t
tui_mouse_report_len(const unsigned char *p, size_t n)
{
	if (n < 3 || p[0] != 27 || p[1] != '[')
		return 0;
	if (p[2] == 'M')
		return n < 6 ? n : 6;
	if (p[2] != '<')
		return 0;
	for (size_t i = 3; i < n && i < 32; i++) {
		if (p[i] == 'M' || p[i] == 'm')
			return i + 1;
		if (!isdigit(p[i]) && p[i] != ';')
			return 0;
	}
	return n < 32 ? n : 0;
}

static void
tui_stash_feed(tui_app *app)
{
	const unsigned char *st = app->stash;
	size_t off = app->stash_off, m;
	while ((m = tui_mouse_report_len(st + off, app->stash_len - off)) > 0)
		off += m;
	size_t len = app->stash_len - off;
	if (len > TUI_STASH_CHUNK) {
		len = TUI_STASH_CHUNK;
		for (size_t j = len - 1; j > len - 16; j--)
			if (st[off + j] == 27) {
				len = j;
				break;
			}
	}
	for (size_t j = 1; j < len; j++)
		if (tui_mouse_report_len(st + off + j, app->stash_len - off - j) > 0) {
			len = j;
			break;
		}
	if (len > 0) {
		ungetch(TUI_STASH_END);
		for (size_t j = len; j-- > 0;)
			ungetch(st[off + j]);
		app->stash_fed = true;
	}
	app->stash_off = off + len;
	if (app->stash_off == app->stash_len) {
		free(app->stash);
		app->stash = NULL;
		app->stash_len = app->stash_off = 0;
	}
}

static void
tui_loop(tui_app *app)
{
	while (!app->quit && !tui_sig_quit) {
		uint64_t now = gw_clock_mono_ms();
		int timeout = -1;
		bool pending = app->dirty || app->posture_stale || app->events_stale;
		if (pending) {
			/* a key draws at once, but a burst of them (a paste arrives
			 * in thousands of small reads) at most every TUI_KEY_FRAME_MS:
			 * a full frame per read was most of a 100 KB paste's cost */
			uint64_t since = now - app->last_draw_ms;
			if (app->urgent && since < TUI_KEY_FRAME_MS) {
				timeout = (int)(TUI_KEY_FRAME_MS - since);
			} else if (app->urgent || since >= TUI_FRAME_MS) {
				tui_draw(app);
			} else {
				timeout = (int)(TUI_FRAME_MS - since);
			}
		}
		/* while the server runs, its uptime and per-second figures move
		 * once a second; stopped, nothing here wakes the loop */
		if (app->srv != NULL) {
			uint64_t since = gw_clock_mono_ms() - app->srv_tick_ms;
			int t = since >= TUI_SRV_TICK_MS ? 0 : (int)(TUI_SRV_TICK_MS - since);
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		/* while a run evaluates, its per-case counter every frame */
		if (app->job.active) {
			uint64_t since = gw_clock_mono_ms() - app->job.last_sample_ms;
			int t = since >= TUI_FRAME_MS ? 0 : (int)(TUI_FRAME_MS - since);
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (app->fleet_on) {
			int t = tui_fleet_timeout(&app->fleet, gw_clock_mono_ms());
			if (timeout < 0 || t < timeout)
				timeout = t;
		} else if (app->ino_wd < 0) {
			uint64_t since = gw_clock_mono_ms() - app->last_tick_ms;
			int t = since >= TUI_TICK_MS ? 0 : (int)(TUI_TICK_MS - since);
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (app->ui.age_due_ms != 0) {
			/* an age shown in the event list changes then */
			uint64_t wall = gw_clock_unix_ms(), due = app->ui.age_due_ms;
			int t = wall >= due ? 0 : due - wall > INT_MAX ? INT_MAX : (int)(due - wall);
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		struct pollfd fds[TUI_NFDS];
		fds[TUI_FD_TTY] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		fds[TUI_FD_SIG] = (struct pollfd){ tui_sig_pipe[0], POLLIN, 0 };
		fds[TUI_FD_WAKE] = (struct pollfd){ app->wake_fd, POLLIN, 0 };
		fds[TUI_FD_INOTIFY] = (struct pollfd){ app->ino_fd, POLLIN, 0 };
		fds[TUI_FD_SERVER] = (struct pollfd){ app->srv ? srv_event_fd(app->srv) : -1, POLLIN, 0 };
		fds[TUI_FD_STDERR] = (struct pollfd){ app->err_rd, POLLIN, 0 };
		fds[TUI_FD_STORE] = (struct pollfd){ app->fleet_on ? tui_fleet_fd(&app->fleet) : -1, POLLIN, 0 };
		int n = poll(fds, TUI_NFDS, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (app->fleet_on)
			tui_fleet_step(app, n > 0 && (fds[TUI_FD_STORE].revents & (POLLIN | POLLHUP | POLLERR)));
		else if (app->ino_wd < 0 && gw_clock_mono_ms() - app->last_tick_ms >= TUI_TICK_MS)
			tui_tick(app);
		if (app->srv != NULL && gw_clock_mono_ms() - app->srv_tick_ms >= TUI_SRV_TICK_MS) {
			app->srv_tick_ms = gw_clock_mono_ms();
			app->srv_stale = app->dirty = true;
		}
		if (app->job.active && gw_clock_mono_ms() - app->job.last_sample_ms >= TUI_FRAME_MS)
			tui_job_sample(app);
		if (app->ui.age_due_ms != 0 && gw_clock_unix_ms() >= app->ui.age_due_ms) {
			app->ui.age_due_ms = 0;
			app->dirty = true;
		}
		if (n <= 0 && !tui_sig_winch)
			continue;
		if (fds[TUI_FD_SIG].revents & POLLIN)
			tui_drain(tui_sig_pipe[0]);
		if (tui_sig_winch) {
			tui_sig_winch = 0;
			tui_resize();
			app->dirty = app->urgent = true;
		}
		if (fds[TUI_FD_WAKE].revents & POLLIN) {
			tui_drain(app->wake_fd);
			tui_job_poll(app);
			if (app->ui.log_view && app->log.seq != app->log_seq) {
				app->log_seq = app->log.seq;
				app->dirty = true;
			}
		}
		if (fds[TUI_FD_INOTIFY].revents & POLLIN)
			tui_inotify(app);
		if (app->srv != NULL && (fds[TUI_FD_SERVER].revents & POLLIN)) {
			gw_fs_eventfd_drain(srv_event_fd(app->srv));
			app->srv_stale = app->dirty = true;
		}
		if (fds[TUI_FD_STDERR].revents & POLLIN)
			tui_read_stderr(app);
		if (fds[TUI_FD_TTY].revents & (POLLHUP | POLLERR)) {
			app->quit = true; /* the terminal went away */
			break;
		}
		if (fds[TUI_FD_TTY].revents & POLLIN) {
			int c;
			bool held = false; /* a byte went back to curses: it comes first */
			while (!app->quit) {
				if (!held && !app->stash_fed && app->stash == NULL &&
				    tui_read_burst(app))
					continue;
				if (!held && !app->stash_fed && app->stash != NULL)
					tui_stash_feed(app);
				held = false;
				if (app->quit || (c = getch()) == ERR)
					break;
				if (c == TUI_STASH_END) {
					app->stash_fed = false; /* the chunk is decoded */
					continue;
				}
				/* a lone Esc (curses waited ESCDELAY and no byte
				 * followed) cancels any prompt; Esc with a byte behind
				 * it is readline's Meta prefix (M-b, M-f, M-d...) */
				if (c == 27 && tui_prompt_active()) {
					int next = getch();
					if (next == ERR || next == TUI_STASH_END) {
						if (next != ERR)
							ungetch(next);
						tui_prompt_cancel();
						continue;
					}
					ungetch(next);
					held = true;
				}
				tui_on_key(app, c);
			}
		}
	}
}

int
tui_run(const cli_config *cfg, const cli_libraries_fn *faces, gw_err *err)
{
	setlocale(LC_ALL, "");
	tui_app *app = gw_xcalloc(1, sizeof(*app));
	app->faces = faces;
	int status = 0;
	tui_sig_quit = 0;
	tui_sig_winch = 0;
	if (tui_open(app, cfg, err) != 0) {
		status = gw_err_exit(err);
		goto out;
	}
	tui_signals_install();
	tui_capture_stderr(app);
	if (tui_curses_start(app, err) != 0) {
		status = err->exit_code;
		goto restore;
	}
	tui_draw(app);
	tui_loop(app);
	tui_curses_end(app);
	if (tui_sig_quit) {
		status = 128 + tui_sig_quit;
		gw_err_set(err, -EINTR, status, "console terminated by %s", strsignal(tui_sig_quit));
	}
restore:
	tui_curses_end(app);
	tui_restore_stderr(app);
	tui_signals_restore();
out:
	tui_close(app);
	free(app);
	return status;
}

void
tui_libraries(gw_buf *out)
{
	gw_buf_printf(out, "  %s\n  readline %s\n", curses_version(), rl_library_version);
}
