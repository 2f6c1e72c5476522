/*
 * app.h — the request core: from a parsed request to a response.
 *
 * The FastCGI shell (main.c) reads the request and writes the response;
 * everything between is here and in app_*.c: routing and method checks
 * (app.c), the two operations (app_issue.c, app_download.c) and the single
 * place where an enum mg_err becomes a status line and a problem body
 * (app_fail.c).  The core is pure: it reads media through a
 * struct media_source (db.c supplies PostgreSQL's, tests a table) and
 * links neither libpq nor libfcgi.
 */
#ifndef MG_APP_H
#define MG_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "media.h"
#include "metrics.h"
#include "request.h"
#include "token.h"

#define APP_BODY_MAX	(64 * 1024)	/* request bodies above: 413 */

struct app {
	const struct config	*cfg;	/* read-only while a request is
					   handled; key sets are swapped
					   between requests (keys.c) */
	struct media_source	 media;	/* where rows come from (borrowed) */
	struct auth_policy	 policy;
	struct token_ctx	 tokens;
	struct buf		 scratch; /* reused across requests */
	const char		*version; /* mediagate_build_info; NULL:
					     "unknown" */
};

struct response {
	int		 status;
	struct buf	 head;	/* header lines, each ending in CRLF */
	struct buf	 body;
	bool		 no_body;	/* no body of ours (a download's 200:
					   the web server sends the file) */
	bool		 head_only;	/* HEAD: the body's Content-Length,
					   not its bytes (RFC 9110 §9.3.2) */
	enum metrics_op	 op;		/* the operation label (§7.2) */
};

/* Borrowed body of the request as the shell read it. */
struct body {
	const char	*data;
	size_t		 len;
	bool		 too_large;	/* more than APP_BODY_MAX was sent */
};

/* cfg and media's context are borrowed and must outlive app. */
void app_init(struct app *app, const struct config *cfg,
    const struct media_source *media);
void app_free(struct app *app);

/* Reset resp (keeping its buffers) and fill it for req. */
void app_handle(struct app *app, const struct request *req,
    const struct body *body, time_t now, struct response *resp);

void response_free(struct response *resp);

#endif
