/* request.c — FastCGI parameters into struct request. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "request.h"

static long long
parse_length(const char *s, bool *bad)
{
	long long n = 0;
	const char *p;

	*bad = false;
	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - s >= 18) {
			*bad = true;
			return -1;
		}
		n = n * 10 + (*p - '0');
	}
	return n;
}

void
request_parse(struct request *r, char *const *envp)
{
	static const struct {
		const char	*name;
		size_t		 len;
		size_t		 off;
	} map[] = {
#define F(n, m) { n, sizeof(n) - 1, offsetof(struct request, m) }
		F("REQUEST_METHOD", method),
		F("REQUEST_URI", uri),
		F("HTTP_ACCEPT", accept),
		F("HTTP_AUTHORIZATION", authorization),
		F("HTTPS", https),
		F("REQUEST_SCHEME", scheme),
		F("SERVER_NAME", server_name),
		F("SERVER_PORT", server_port),
		F("SERVER_ADDR", server_addr),
		F("HTTP_X_REQUEST_ID", request_id),
		F("SERVER_SOFTWARE", server_software),
		F("REMOTE_ADDR", remote_addr),
		F("HTTP_RANGE", range),
#undef F
	};
	const char *cl = NULL, *eq;
	size_t i, nlen;

	memset(r, 0, sizeof(*r));
	for (; envp != NULL && *envp != NULL; envp++) {
		/* The name's length once, then only names of that length are
		 * compared: a web server passes some thirty parameters. */
		if ((eq = strchr(*envp, '=')) == NULL)
			continue;
		nlen = (size_t)(eq - *envp);
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			const char **slot = (const char **)
			    ((char *)r + map[i].off);

			/* The first of duplicated parameters counts. */
			if (map[i].len == nlen && *slot == NULL &&
			    memcmp(*envp, map[i].name, nlen) == 0) {
				*slot = eq + 1;
				break;
			}
		}
		if (cl == NULL && nlen == 14 &&
		    memcmp(*envp, "CONTENT_LENGTH", 14) == 0)
			cl = eq + 1;
	}
	if (r->method == NULL)
		r->method = "";
	if (r->uri == NULL)
		r->uri = "";
	r->content_length = cl != NULL ?
	    parse_length(cl, &r->content_length_bad) : -1;
}

static bool
host_ok(const char *h)
{
	size_t len = strlen(h);

	if (len == 0 || len > 255)
		return false;
	if (h[0] == '[')	/* IP literal, RFC 3986 §3.2.2 */
		return h[len - 1] == ']' && len > 2 &&
		    strspn(h + 1, "0123456789abcdefABCDEF:.") == len - 2;
	return strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len;
}

enum mg_err
request_origin(const struct request *r, struct buf *out)
{
	bool tls;
	const char *host = r->server_name, *port = r->server_port;
	bool v6;

	tls = (r->https != NULL && (strcasecmp(r->https, "on") == 0 ||
	    strcmp(r->https, "1") == 0)) ||
	    (r->scheme != NULL && strcasecmp(r->scheme, "https") == 0);
	if (host == NULL || *host == '\0')
		host = r->server_addr;
	if (host == NULL || *host == '\0')
		return MG_EBADREQ;
	/* An IPv6 address may arrive without its brackets. */
	v6 = strchr(host, ':') != NULL && host[0] != '[';
	if (v6 ? strspn(host, "0123456789abcdefABCDEF:.") != strlen(host) :
	    !host_ok(host))
		return MG_EBADREQ;
	if (port != NULL && (port[0] == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port)))
		return MG_EBADREQ;
	buf_puts(out, tls ? "https://" : "http://");
	if (v6)
		buf_putc(out, '[');
	buf_puts(out, host);
	if (v6)
		buf_putc(out, ']');
	if (port != NULL && strcmp(port, tls ? "443" : "80") != 0) {
		buf_putc(out, ':');
		buf_puts(out, port);
	}
	return MG_OK;
}
