/* http.c — raw HTTP/1.1 over TCP (and TLS, see http_tls.c) for the tests. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"

static const struct http_tls *tls_transport;	/* for https:// */

static void record(const char *base_url, const char *method, const char *path,
    const struct http_response *resp);

void
http_set_tls(const struct http_tls *tls)
{
	tls_transport = tls;
}

static int fail(struct http_response *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct http_response *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* Split "http[s]://host:port[/path]" into host and port; *tls tells
 * which scheme it was. */
static int
parse_base(const char *base, char *host, size_t hostsz, char *port,
    size_t portsz, bool *tls)
{
	const char *h, *hs, *he, *colon, *end, *rb;

	if (strncmp(base, "http://", 7) == 0) {
		*tls = false;
		h = base + 7;
	} else if (strncmp(base, "https://", 8) == 0) {
		*tls = true;
		h = base + 8;
	} else
		return -1;
	end = h + strcspn(h, "/");
	if (*h == '[') {		/* IPv6 literal */
		rb = memchr(h, ']', (size_t)(end - h));
		if (rb == NULL || rb + 1 >= end || rb[1] != ':')
			return -1;
		hs = h + 1;
		he = rb;
		colon = rb + 1;
	} else {
		if ((colon = memchr(h, ':', (size_t)(end - h))) == NULL)
			return -1;
		hs = h;
		he = colon;
	}
	if ((size_t)(he - hs) >= hostsz || he == hs)
		return -1;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if ((size_t)(end - colon - 1) >= portsz || end == colon + 1)
		return -1;
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = '\0';
	return 0;
}

/* Does the caller's list already carry a field called name? */
static bool
has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
			return true;
	return false;
}

static int
dial(const char *host, const char *port, struct http_response *out)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { HTTP_TIMEOUT, 0 };
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return fail(out, "getaddrinfo %s:%s: %s", host, port,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) < 0)
			continue;
		/* On Linux SO_SNDTIMEO bounds connect(2) as well. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)) == 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
		    &tv, sizeof(tv)) == 0 &&
		    connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(out, "cannot connect to %s:%s: %s", host, port,
		    strerror(errno));
	return fd;
}

static const char *
find_crlf(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

/* RFC 9112 §7.1: decode a chunked body; trailer fields are skipped. */
static int
dechunk(const char *p, const char *end, struct buf *body,
    struct http_response *out)
{
	const char *eol;
	unsigned long long size;
	char *stop;

	for (;;) {
		if ((eol = find_crlf(p, end)) == NULL)
			return fail(out, "chunked body: truncated chunk size");
		errno = 0;
		size = strtoull(p, &stop, 16);
		if (stop == p || errno != 0 ||
		    (stop != eol && *stop != ';' && *stop != ' ' &&
		    *stop != '\t'))
			return fail(out, "chunked body: bad chunk size");
		p = eol + 2;
		if (size == 0)
			break;
		if (size > (unsigned long long)(end - p) ||
		    (size_t)(end - p) - size < 2 ||
		    p[size] != '\r' || p[size + 1] != '\n')
			return fail(out, "chunked body: truncated chunk");
		buf_append(body, p, (size_t)size);
		p += size + 2;
	}
	for (;;) {			/* trailer section, then CRLF */
		if ((eol = find_crlf(p, end)) == NULL)
			return fail(out, "chunked body: no final CRLF");
		if (eol == p)
			break;
		p = eol + 2;
	}
	return 0;
}

/* Parse raw[0..len) into out: status line, fields, decoded body. */
static int
parse_response(const char *raw, size_t len, bool no_body,
    struct http_response *out)
{
	const char *end = raw + len, *hend, *p, *eol, *colon, *v, *ve;
	struct buf body = { 0 };
	const char *te, *cl;
	size_t n;
	char *stop;
	unsigned long long clen;
	int rc = 0;

	for (hend = raw; hend + 3 < end; hend++)
		if (memcmp(hend, "\r\n\r\n", 4) == 0)
			break;
	if (hend + 3 >= end)
		return fail(out, "no end of header section in %zu bytes", len);
	out->head = xstrndup(raw, (size_t)(hend - raw));
	out->head_len = (size_t)(hend - raw);

	if (len < 12 || memcmp(raw, "HTTP/1.", 7) != 0 || raw[8] != ' ' ||
	    raw[9] < '1' || raw[9] > '5' || raw[10] < '0' || raw[10] > '9' ||
	    raw[11] < '0' || raw[11] > '9')
		return fail(out, "bad status line");
	out->status = (raw[9] - '0') * 100 + (raw[10] - '0') * 10 +
	    (raw[11] - '0');

	eol = find_crlf(raw, hend + 2);
	for (p = eol + 2; p < hend + 2; p = eol + 2) {
		eol = find_crlf(p, hend + 2);
		/* obs-fold and lines without a colon are not HTTP/1.1. */
		if (*p == ' ' || *p == '\t')
			return fail(out, "folded header line");
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL ||
		    colon == p)
			return fail(out, "header line without a name: %.*s",
			    (int)(eol - p), p);
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		n = out->nheaders++;
		out->headers = realloc(out->headers,
		    out->nheaders * sizeof(*out->headers));
		if (out->headers == NULL)
			abort();
		out->headers[n].name = xstrndup(p, (size_t)(colon - p));
		out->headers[n].value = xstrndup(v, (size_t)(ve - v));
	}

	p = hend + 4;
	te = http_header(out, "Transfer-Encoding");
	cl = http_header(out, "Content-Length");
	if (no_body || out->status / 100 == 1 || out->status == 204 ||
	    out->status == 304)
		;
	else if (te != NULL && strcasestr(te, "chunked") != NULL)
		rc = dechunk(p, end, &body, out);
	else if (cl != NULL) {
		errno = 0;
		clen = strtoull(cl, &stop, 10);
		if (*cl == '\0' || *stop != '\0' || errno != 0)
			rc = fail(out, "bad Content-Length: %s", cl);
		else if (clen != (unsigned long long)(end - p))
			rc = fail(out, "Content-Length %llu but %zu bytes "
			    "followed", clen, (size_t)(end - p));
		else
			buf_append(&body, p, (size_t)clen);
	} else
		buf_append(&body, p, (size_t)(end - p));

	out->body = body.ptr != NULL ? body.ptr : xstrdup("");
	out->body_len = body.len;
	return rc;
}

/* One connection: a socket, and a TLS session on it for https://. */
struct conn {
	int	 fd;
	void	*tls;
};

static ssize_t
conn_send(struct conn *c, const void *p, size_t len)
{
	if (c->tls != NULL)
		return tls_transport->send(c->tls, p, len);
	return send(c->fd, p, len, MSG_NOSIGNAL);
}

static ssize_t
conn_recv(struct conn *c, void *p, size_t len)
{
	if (c->tls != NULL)
		return tls_transport->recv(c->tls, p, len);
	return recv(c->fd, p, len, 0);
}

static void
conn_close(struct conn *c)
{
	if (c->tls != NULL)
		tls_transport->close(c->tls);
	close(c->fd);
}

int
http_request(const char *base_url, const char *method, const char *path,
    const char *const *headers, const void *body, size_t body_len,
    struct http_response *out)
{
	char host[128], port[16], chunk[16384], err[256];
	const char *const *h;
	struct buf req = { 0 }, raw = { 0 };
	struct conn c = { -1, NULL };
	size_t off;
	ssize_t n;
	bool sent_all = true, tls;
	int rc;

	memset(out, 0, sizeof(*out));
	if (parse_base(base_url, host, sizeof(host), port, sizeof(port),
	    &tls) != 0)
		return fail(out, "bad base URL: %s", base_url);
	if (tls && tls_transport == NULL)
		return fail(out, "%s: no TLS transport (http_tls_init)",
		    base_url);

	buf_printf(&req, "%s %s HTTP/1.1\r\n", method, path);
	if (!has_header(headers, "Host"))
		buf_printf(&req, strchr(host, ':') ? "Host: [%s]:%s\r\n" :
		    "Host: %s:%s\r\n", host, port);
	for (h = headers; h != NULL && *h != NULL; h++)
		buf_printf(&req, "%s\r\n", *h);
	if (!has_header(headers, "Connection"))
		buf_puts(&req, "Connection: close\r\n");
	if (!has_header(headers, "Content-Length") && (body_len > 0 ||
	    body != NULL || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0))
		buf_printf(&req, "Content-Length: %zu\r\n", body_len);
	buf_puts(&req, "\r\n");
	if (body_len > 0)
		buf_append(&req, body, body_len);

	if ((c.fd = dial(host, port, out)) < 0) {
		buf_free(&req);
		return -1;
	}
	if (tls && (c.tls = tls_transport->open(c.fd, host, err,
	    sizeof(err))) == NULL) {
		close(c.fd);
		buf_free(&req);
		return fail(out, "TLS with %s:%s: %s", host, port, err);
	}
	for (off = 0; off < req.len; off += (size_t)n) {
		n = conn_send(&c, req.ptr + off, req.len - off);
		if (n <= 0) {
			/* The server may answer and close before it has
			 * read everything (e.g. a body it refuses): read
			 * what it said anyway. */
			sent_all = false;
			break;
		}
	}
	buf_free(&req);

	for (;;) {
		n = conn_recv(&c, chunk, sizeof(chunk));
		if (n > 0) {
			buf_append(&raw, chunk, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			conn_close(&c);
			buf_free(&raw);
			return fail(out, "no complete response within %d s",
			    HTTP_TIMEOUT);
		}
		/* A reset after a complete response still leaves it usable;
		 * parse_response decides. */
		break;
	}
	conn_close(&c);
	if (raw.len == 0) {
		buf_free(&raw);
		return fail(out, "empty response%s", sent_all ? "" :
		    " (request not fully sent)");
	}
	rc = parse_response(raw.ptr, raw.len, strcmp(method, "HEAD") == 0,
	    out);
	buf_free(&raw);
	if (rc == 0)
		record(base_url, method, path, out);
	return rc;
}

const char *
http_header(const struct http_response *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

size_t
http_header_count(const struct http_response *resp, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			n++;
	return n;
}

void
http_response_free(struct http_response *resp)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	free(resp->head);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

/*
 * The response log that tests/openapi_check.py checks against
 * doc/openapi.yaml: with MG_TEST_RECORD=FILE every parsed response appends
 * one JSON line to FILE (base URL, method, request target, status,
 * fields, body in base64, the first RECORD_BODY_MAX bytes).  One write(2)
 * on an O_APPEND descriptor, so lines of concurrent test processes never
 * interleave.
 */
#define RECORD_BODY_MAX	(1024 * 1024)

/* s[0..len) as a JSON string; bytes outside printable ASCII as \u00XX. */
static void
json_str(struct buf *b, const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	buf_putc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

static void
base64(struct buf *b, const unsigned char *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long v;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		buf_printf(b, "%c%c%c%c", tab[v >> 18], tab[v >> 12 & 63],
		    tab[v >> 6 & 63], tab[v & 63]);
	}
	if (len - i == 1) {
		v = (unsigned long)p[i] << 16;
		buf_printf(b, "%c%c==", tab[v >> 18], tab[v >> 12 & 63]);
	} else if (len - i == 2) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		buf_printf(b, "%c%c%c=", tab[v >> 18], tab[v >> 12 & 63],
		    tab[v >> 6 & 63]);
	}
}

static void
record(const char *base_url, const char *method, const char *path,
    const struct http_response *resp)
{
	const char *file = getenv("MG_TEST_RECORD");
	struct buf b = { 0 };
	size_t i, n;
	int fd;

	if (file == NULL || *file == '\0')
		return;
	buf_puts(&b, "{\"base\":");
	json_str(&b, base_url, strlen(base_url));
	buf_puts(&b, ",\"method\":");
	json_str(&b, method, strlen(method));
	buf_puts(&b, ",\"target\":");
	json_str(&b, path, strlen(path));
	buf_printf(&b, ",\"status\":%d,\"headers\":[", resp->status);
	for (i = 0; i < resp->nheaders; i++) {
		buf_puts(&b, i > 0 ? ",[" : "[");
		json_str(&b, resp->headers[i].name,
		    strlen(resp->headers[i].name));
		buf_putc(&b, ',');
		json_str(&b, resp->headers[i].value,
		    strlen(resp->headers[i].value));
		buf_putc(&b, ']');
	}
	n = resp->body_len < RECORD_BODY_MAX ? resp->body_len :
	    RECORD_BODY_MAX;
	buf_printf(&b, "],\"body_len\":%zu,\"body_b64\":\"", resp->body_len);
	base64(&b, (const unsigned char *)resp->body, n);
	buf_puts(&b, "\"}\n");
	if ((fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) >= 0) {
		if (write(fd, b.ptr, b.len) != (ssize_t)b.len)
			fprintf(stderr, "http: %s: short write\n", file);
		close(fd);
	} else
		fprintf(stderr, "http: %s: %s\n", file, strerror(errno));
	buf_free(&b);
}
