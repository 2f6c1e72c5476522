/*
 * http.h — a minimal HTTP/1.1 client for the integration tests.
 *
 * One request per TCP connection to a numeric host (Connection: close), the
 * request target sent byte for byte as given, so that tests can send
 * percent-encoded separators, dot segments and other paths a real client
 * library would normalise away.  The response is read to EOF and parsed by
 * hand, chunked transfer coding included, so what a test sees is exactly
 * what the web server put on the wire.
 *
 * https:// base URLs need a TLS transport: http.c itself has none, so that
 * programs that only speak plain HTTP need no libssl; http_tls.c provides
 * one (OpenSSL) and installs it with http_tls_init().
 */
#ifndef MG_TEST_HTTP_H
#define MG_TEST_HTTP_H

#include <stddef.h>

#define HTTP_TIMEOUT	10	/* seconds for connect, each send and recv */

struct http_header {
	char	*name;		/* as received */
	char	*value;		/* leading and trailing blanks removed */
};

struct http_response {
	int			 status;	/* 0 until a status line parsed */
	struct http_header	*headers;	/* in order of arrival */
	size_t			 nheaders;
	char			*head;		/* raw status line and fields,
						   NUL-terminated */
	size_t			 head_len;
	char			*body;		/* decoded, NUL-terminated */
	size_t			 body_len;
	char			 error[256];	/* why http_request failed */
};

/*
 * Send method path to base_url ("http://127.0.0.1:PORT" or
 * "https://127.0.0.1:PORT", any path in it is ignored).  headers is NULL or a NULL-terminated list of "Name: value"
 * lines; Host, Connection: close and (for a body, or for POST and PUT)
 * Content-Length are added unless the list has them.  A Content-Length
 * given in headers is sent as is, whatever body_len is.
 *
 * Returns 0 with *out filled, or -1 with out->error set.  Either way the
 * caller releases *out with http_response_free().
 */
int	http_request(const char *base_url, const char *method, const char *path,
	    const char *const *headers, const void *body, size_t body_len,
	    struct http_response *out);

/* Value of the first field named name (case-insensitive), or NULL. */
const char *http_header(const struct http_response *resp, const char *name);

/* How many fields named name (case-insensitive) the response has. */
size_t	http_header_count(const struct http_response *resp, const char *name);

void	http_response_free(struct http_response *resp);

/*
 * A TLS transport for https:// base URLs.  open() starts TLS on the
 * connected socket fd for host (as in the base URL: a name or a numeric
 * address) and returns a session, or NULL with a message in err.  send()
 * and recv() behave like send(2) and recv(2) on it: the number of bytes
 * moved, 0 at the end of the stream, or -1 with errno set (EAGAIN when
 * the socket timeout expired).  close() ends the session (not the fd).
 */
struct http_tls {
	void	*(*open)(int fd, const char *host, char *err, size_t errsz);
	long	 (*send)(void *session, const void *buf, size_t len);
	long	 (*recv)(void *session, void *buf, size_t len);
	void	 (*close)(void *session);
};

/* Use tls (NULL: none) for every later https:// request. */
void	http_set_tls(const struct http_tls *tls);

#endif
