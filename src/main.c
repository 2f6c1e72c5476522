/*
 * main.c — the FastCGI shell: start-up checks, signals, the accept loop,
 * reading bodies and writing responses.  The only file that touches
 * libfcgi.
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "sigcache.h"

static volatile sig_atomic_t stopping;

/*
 * SIGTERM (systemd, spawn-fcgi supervisors) and SIGUSR1 (mod_fcgid,
 * graceful restarts) stop the process after the request in hand.  Without
 * SA_RESTART the accept(2) an idle process sits in fails with EINTR, and
 * FCGX_ShutdownPending() makes libfcgi return instead of retrying.
 */
static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

/*
 * SIGHUP and SIGUSR2 (the one signal multiwatch forwards) re-read the key
 * files (contract §3.1).  They are blocked for the life of the process,
 * from the first line of main(), and looked for before each request with
 * sigpending(2), so no request after the signal is answered with the old
 * keys.  Not a handler: after accept(2) on a Unix socket libfcgi waits in
 * select(2), which a handled signal interrupts whatever SA_RESTART says,
 * and it then drops the connection (lighttpd: "connection was dropped
 * after accept()"), so a reload under load would fail a request; and a
 * signal that multiwatch forwards to a child still reading its keys must
 * not take the default action, which ends the process.
 */
static void
reload_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR2);
}

static int
block_reload_signals(void)
{
	sigset_t set;

	reload_signals(&set);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

/* True if a reload signal arrived since the last call (all are taken). */
static bool
reload_signalled(void)
{
	static const struct timespec now = { 0, 0 };
	sigset_t set, pending;
	bool got = false;

	reload_signals(&set);
	if (sigpending(&pending) != 0 || (!sigismember(&pending, SIGHUP) &&
	    !sigismember(&pending, SIGUSR2)))
		return false;
	while (sigtimedwait(&set, NULL, &now) > 0)
		got = true;
	return got;
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGUSR1, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	/* A client that goes away mid-response must not kill us. */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Read the request body into body (at most APP_BODY_MAX + 1 bytes, so an
 * oversized body is known without reading all of it).  A declared
 * Content-Length above the limit is not read at all.
 */
static void
read_body(FCGX_Stream *in, const struct request *req, struct buf *store,
    struct body *body)
{
	char chunk[8192];
	int n;

	buf_reset(store);
	memset(body, 0, sizeof(*body));
	if (req->content_length > APP_BODY_MAX) {
		body->too_large = true;
		return;
	}
	while (store->len <= APP_BODY_MAX &&
	    (n = FCGX_GetStr(chunk, sizeof(chunk), in)) > 0)
		buf_append(store, chunk, (size_t)n);
	body->too_large = store->len > APP_BODY_MAX;
	body->data = buf_str(store);
	body->len = store->len;
}

/*
 * The status line and Content-Length are put together in line, then the
 * whole head goes out in one piece: FCGX_FPrintF formats numbers through
 * sprintf, a twentieth of an issue's instructions for two lines.
 */
static void
write_response(FCGX_Stream *out, const struct response *resp,
    struct buf *line)
{
	buf_reset(line);
	buf_puts(line, "Status: ");
	buf_put_uint(line, (unsigned)resp->status);
	buf_putc(line, ' ');
	buf_puts(line, err_reason(resp->status));
	buf_append(line, "\r\n", 2);
	buf_append(line, buf_str(&resp->head), resp->head.len);
	if (!resp->no_body) {
		buf_puts(line, "Content-Length: ");
		buf_put_uint(line, resp->body.len);
		buf_append(line, "\r\n", 2);
	}
	buf_append(line, "\r\n", 2);
	FCGX_PutStr(buf_str(line), (int)line->len, out);
	if (!resp->no_body && !resp->head_only)
		FCGX_PutStr(buf_str(&resp->body), (int)resp->body.len, out);
}

/* The bearer set's cache lookups of this request, into the counters (an
 * HMAC set has no cache: 0 and 0).  A reload replaces the set before a
 * request, after the old one's were counted. */
static void
count_sig_cache(const struct config *cfg)
{
	unsigned long long hits, misses;

	sigcache_take(cfg->bearer_keys->seen, &hits, &misses);
	metrics_sig_cache(hits, misses);
}

/*
 * libfcgi ends a connection with shutdown(2), then waits (poll, up to 2 s)
 * and reads until the web server has closed its end, so that input still
 * unread cannot make the kernel answer with a TCP reset that would cost
 * the server the response.  When the whole request has been read (its
 * stdin to the end, nothing left in the socket) there is nothing to
 * reset: the connection is closed at once (FCGX_Detach: close without
 * that wait), which spares two system calls and a wake-up per request and
 * frees the responder before the web server has even read the answer.  A
 * request with input left over (a body too large to read) keeps the wait,
 * and a kept-alive connection (FCGI_KEEP_CONN) is not closed here at all.
 */
static void
finish_request(FCGX_Request *fr)
{
	int unread = -1;

	if (!fr->keepConnection && fr->in != NULL &&
	    FCGX_HasSeenEOF(fr->in) == EOF &&
	    ioctl(fr->ipcFd, FIONREAD, &unread) == 0 && unread == 0)
		FCGX_Detach(fr);
	FCGX_Finish_r(fr);
}

static const char *
env_get(const char *name)
{
	return getenv(name);
}

/* Parse the environment and load the keys, or say why not on stderr. */
static int
load_config(struct config *cfg)
{
	char err[512];

	if (config_parse(cfg, env_get, err, sizeof(err)) != 0 ||
	    config_load_keys(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "mediagate: %s\n", err);
		return -1;
	}
	/* A conninfo libpq cannot use is a bad setting, not an outage. */
	if (db_conninfo_check(cfg->db, err, sizeof(err)) != 0) {
		fprintf(stderr, "mediagate: MEDIAGATE_DB: %s\n", err);
		return -1;
	}
	return 0;
}

static int
check_config(const struct config *cfg)
{
	char err[512];
	struct db *db = db_new(cfg->db);
	int rc = 0;

	/* The keys were loaded as a reload loads them (keys_load); what a
	 * set holds is listed whatever the database says. */
	keys_report(cfg, stdout);
	fflush(stdout);
	if (db_connect(db, err, sizeof(err)) != MG_OK) {
		fprintf(stderr, "mediagate: MEDIAGATE_DB: %s\n", err);
		rc = 1;
	} else if (cfg->audit_log != NULL &&
	    audit_open(cfg->audit_log, err, sizeof(err)) != 0) {
		fprintf(stderr, "mediagate: %s\n", err);
		rc = 1;
	} else if (cfg->metrics_file != NULL &&
	    metrics_attach(cfg->metrics_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "mediagate: %s\n", err);
		rc = 1;
	} else {
		printf("mediagate: configuration OK (%s bearer key%s, database "
		    "reachable, downloads %s)\n", jws_alg_name(cfg->jwt_alg),
		    cfg->jwt_jwks_file != NULL ? " set" : "",
		    cfg->storage_root ? "on" : "off");
	}
	db_free(db);
	return rc;
}

static uint64_t
elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	int64_t ns = (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 +
	    (b->tv_nsec - a->tv_nsec);

	return ns > 0 ? (uint64_t)ns : 0;
}

/*
 * Attach to the counter file (a file that is not ours stops the process:
 * one line, exit 1) and open the audit log (not opening it is not fatal:
 * issuing and downloading answer 503 until it can be written).
 */
static int
open_ops(const struct config *cfg)
{
	char err[512];
	int rc;

	if (cfg->metrics_file != NULL) {
		rc = metrics_attach(cfg->metrics_file, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "mediagate: %s\n", err);
			return -1;
		}
		if (rc > 0)
			log_msg("%s", err);
	}
	if (cfg->audit_log != NULL &&
	    audit_open(cfg->audit_log, err, sizeof(err)) != 0)
		log_msg("%s; issuing and downloading answer 503 until it can "
		    "be written", err);
	return 0;
}

/*
 * Reload the keys if asked to by a signal or if a key file changed, and
 * count the outcome (mediagate_key_reloads_total, §7.2).
 */
static void
maybe_reload(struct config *cfg, struct keys_watch *watch)
{
	bool force = reload_signalled();

	switch (keys_poll(cfg, watch, force)) {
	case KEYS_RELOADED:
		metrics_key_reload(true);
		break;
	case KEYS_FAILED:
		metrics_key_reload(false);
		break;
	case KEYS_UNCHANGED:
		break;
	}
}

static int
serve(struct config *cfg)
{
	struct keys_watch watch = { { 0, 0 }, false };
	struct db *db;
	struct media_source media;
	struct app app;
	struct request req;
	struct response resp = { 0 };
	struct buf bodybuf = { 0 }, headbuf = { 0 };
	struct body body;
	FCGX_Request fr;
	struct timespec t0, t1;
	char err[512];

	if (FCGX_Init() != 0 || FCGX_IsCGI()) {
		fprintf(stderr, "mediagate: file descriptor 0 is not a "
		    "listening socket; run mediagate under spawn-fcgi or a "
		    "FastCGI process manager (see --help)\n");
		return 1;
	}
	if (install_signals() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		fprintf(stderr, "mediagate: cannot set up: %s\n",
		    strerror(errno));
		return 1;
	}
	log_init();
	if (open_ops(cfg) != 0)
		return 1;
	db = db_new(cfg->db);
	/* Connect now so the first request does not pay for it; a database
	 * that is down is not fatal: requests get 503 until it is back. */
	if (db_connect(db, err, sizeof(err)) != MG_OK)
		log_msg("database not reachable yet: %s", err);
	db_media_source(db, &media);
	app_init(&app, cfg, &media);
	app.version = PACKAGE_VERSION;

	keys_poll(cfg, &watch, false);	/* start the once-a-second clock */
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		maybe_reload(cfg, &watch);
		/* CLOCK_MONOTONIC is read through the vDSO: no system call. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		request_parse(&req, fr.envp);
		read_body(fr.in, &req, &bodybuf, &body);
		app_handle(&app, &req, &body, time(NULL), &resp);
		write_response(fr.out, &resp, &headbuf);
		/* Counted before the answer is flushed, so that a client
		 * that has its answer finds it counted by its next scrape. */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metrics_request(resp.op, resp.status, elapsed_ns(&t0, &t1));
		count_sig_cache(cfg);
		finish_request(&fr);
	}
	metrics_detach();
	audit_close();

	FCGX_Free(&fr, 1);
	app_free(&app);
	response_free(&resp);
	buf_free(&bodybuf);
	buf_free(&headbuf);
	db_free(db);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		fputs(config_help, stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("mediagate %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--check-config") != 0)) {
		fprintf(stderr, "mediagate: unknown argument '%s' (see "
		    "--help)\n", argv[1]);
		return 1;
	}
	/* Before anything else: see reload_signals(). */
	if (argc == 1 && block_reload_signals() != 0) {
		fprintf(stderr, "mediagate: cannot set up: %s\n",
		    strerror(errno));
		return 1;
	}
	if (load_config(&cfg) != 0) {
		config_free(&cfg);
		return 1;
	}
	rc = argc == 2 ? check_config(&cfg) : serve(&cfg);
	config_free(&cfg);
	return rc;
}
