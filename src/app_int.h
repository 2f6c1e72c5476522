/*
 * app_int.h — what the files of the request core share: the failure that
 * travels to app_fail(), the one place an outcome becomes a response, and
 * the operations app_handle() dispatches to.  Not for use outside app*.c.
 */
#ifndef MG_APP_INT_H
#define MG_APP_INT_H

#include <time.h>

#include "app.h"
#include "negotiate.h"
#include "route.h"

#define APP_PERMISSION	"media:read"
#define APP_RETRY_AFTER	"2"	/* seconds; connect_timeout is 2 s too */

/*
 * What a failed request carries to app_fail().  why is shown to the
 * client and must never hold a key, a token or a database message; cause
 * goes to the log only (NULL: the log says why).
 */
struct failure {
	enum mg_err	 err;
	const char	*why;		/* client-safe detail */
	const char	*cause;		/* log-only detail, or NULL */
	const char	*allow;		/* Allow for 405 */
};

/*
 * The media both operations serve: live, of tenant (ignored with
 * isolation off) and with a stored file.  MG_OK with *m held (the caller
 * releases it with media_release()); otherwise f is filled (404, 422, 503,
 * 500; errbuf holds the log-only cause) and nothing is held.
 */
enum mg_err app_find_stored(struct app *app, const char *id,
    const char *tenant, struct media *m, struct failure *f, char *errbuf,
    size_t errsz);

/* Append "name: value\r\n" to the response's header block. */
void app_header(struct response *resp, const char *name, const char *value);

/*
 * Content-Type and the headers every HTML page carries (app_fail.c says
 * why each one).
 */
void app_html_headers(struct response *resp);

/*
 * Replace whatever resp holds with the error response for f: status,
 * the headers RFC 6750 and RFC 9110 ask for, and a problem body in fmt
 * (MT_HTML, else problem+json); logs one line with reqid.
 */
void app_fail(struct response *resp, const struct request *req,
    enum media_type fmt, const char *reqid, const struct failure *f);

/* The operations, for a request already routed and method-checked.  fmt
 * is the negotiated format (MT_NONE only for issuing: 406). */
void app_issue(struct app *app, const struct request *req,
    const struct body *body, const struct route *rt, enum media_type fmt,
    time_t now, const char *reqid, struct response *resp);
void app_download(struct app *app, const struct request *req,
    const struct route *rt, enum media_type fmt, time_t now,
    const char *reqid, struct response *resp);

/* GET|HEAD /healthz (§7.1) and GET /metrics (§7.2), in app_ops.c. */
#define APP_HEALTH_MS	1000	/* bound on the health check's query */
void app_health(struct app *app, const struct request *req,
    const char *reqid, struct response *resp);
void app_metrics(struct app *app, const struct request *req,
    const char *reqid, struct response *resp);

/*
 * Append the audit line (§7.3) of an answer that resp now holds; when it
 * cannot be written, replace resp with 503 (fail-closed).  tenant, sub and
 * jti: NULL or "" when unknown.
 */
void app_audit(struct app *app, const struct request *req,
    enum media_type fmt, const char *reqid, const char *event,
    const char *media, const char *tenant, const char *sub,
    const char *jti, struct response *resp);

#endif
