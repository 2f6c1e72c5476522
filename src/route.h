/*
 * route.h — map the request path to an operation.  Pure, no allocation.
 *
 * The path is REQUEST_URI as the client sent it, without its query string,
 * so that routing is the same under lighttpd mod_fastcgi, Apache mod_fcgid
 * and mod_proxy_fcgi (each of which sets SCRIPT_NAME/PATH_INFO differently).
 */
#ifndef MG_ROUTE_H
#define MG_ROUTE_H

#include <stddef.h>

#include "err.h"

#define ROUTE_ID_MAX	64	/* media id: 1..64 of [A-Za-z0-9_-] */
/* Above the longest token mediagate issues (TOKEN_MAX_LEN, 2,711 with a
 * tenant of 256 control characters; asserted in token.c), and well inside
 * the request lines lighttpd and Apache accept (8 KB). */
#define ROUTE_TOKEN_MAX	4096

enum route_kind {
	ROUTE_NONE = 0,
	ROUTE_ISSUE,		/* /media/{id}/download-token */
	ROUTE_DOWNLOAD,		/* /media/{id}/download/{token} */
	ROUTE_HEALTH,		/* /healthz (§7.1) */
	ROUTE_METRICS,		/* /metrics (§7.2) */
};

struct route {
	enum route_kind	 kind;
	char		 id[ROUTE_ID_MAX + 1];		/* decoded, valid */
	char		 token[ROUTE_TOKEN_MAX + 1];	/* decoded; "" when
							   empty or too long */
};

/*
 * Match uri (REQUEST_URI; a query string is ignored) under base (""
 * or "/api").  Returns MG_OK with *r filled, MG_ENOTFOUND for an unknown
 * path, or MG_EBADREQ with *why set when the path is known but its id is
 * malformed.  Segments are percent-decoded (RFC 3986 §2.1) before they are
 * checked, so "%2F" in an id is a malformed id, never a separator.
 */
enum mg_err route_match(const char *uri, const char *base, struct route *r,
    const char **why);

/* True if s is a well-formed media id: 1..64 chars of [A-Za-z0-9_-]. */
int route_id_valid(const char *s, size_t len);

/*
 * Write into out (size outsz) a copy of uri fit for a log line: the query
 * string dropped, a download token replaced by "<token>", control and
 * non-ASCII bytes replaced by '?', truncated to fit.
 */
void route_loggable(const char *uri, char *out, size_t outsz);

#endif
