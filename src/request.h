/*
 * request.h — the parts of a FastCGI request mediagate reads, taken from
 * its parameter array (char **envp as libfcgi hands it over).  Pure: the
 * struct points into envp and lives as long as the request.
 */
#ifndef MG_REQUEST_H
#define MG_REQUEST_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"

struct request {
	const char	*method;	/* REQUEST_METHOD; "" if absent */
	const char	*uri;		/* REQUEST_URI; "" if absent */
	const char	*accept;	/* HTTP_ACCEPT or NULL */
	const char	*authorization;	/* HTTP_AUTHORIZATION or NULL */
	const char	*https;		/* HTTPS or NULL */
	const char	*scheme;	/* REQUEST_SCHEME (Apache) or NULL */
	const char	*server_name;	/* SERVER_NAME or NULL */
	const char	*server_port;	/* SERVER_PORT or NULL */
	const char	*server_addr;	/* SERVER_ADDR or NULL */
	const char	*request_id;	/* HTTP_X_REQUEST_ID or NULL */
	const char	*server_software; /* SERVER_SOFTWARE or NULL */
	const char	*remote_addr;	/* REMOTE_ADDR or NULL */
	const char	*range;		/* HTTP_RANGE or NULL */
	long long	 content_length;/* -1 when absent or empty */
	bool		 content_length_bad; /* present but not a number */
};

void request_parse(struct request *r, char *const *envp);

/*
 * Append the origin that download URLs start with, scheme://host[:port],
 * built from HTTPS/REQUEST_SCHEME, SERVER_NAME and SERVER_PORT (the port
 * omitted when it is the scheme's default).  Without a name (HTTP/1.0
 * without Host: lighttpd passes an empty SERVER_NAME) the host is the
 * address the request came in on, SERVER_ADDR (IPv6 in brackets).
 * MG_EBADREQ if the host or port the web server passed is not a plausible
 * host name, IP literal or port, so that a forged Host header cannot
 * inject markup or a path.
 */
enum mg_err request_origin(const struct request *r, struct buf *out);

#endif
