/*
 * http_tls.h — TLS (OpenSSL) for the test HTTP client, so that http.c can
 * reach https:// base URLs.  Link with libssl.
 */
#ifndef MG_TEST_HTTP_TLS_H
#define MG_TEST_HTTP_TLS_H

/*
 * Make http_request() speak TLS 1.2 or later to https:// base URLs.  The
 * server's certificate must chain to a certificate of ca_file (PEM; a
 * self-signed server certificate may be its own anchor) and name the host
 * of the URL (subjectAltName DNS or IP); with ca_file NULL nothing is
 * verified.  SNI is sent for host names, not for numeric addresses
 * (RFC 6066 §3).  No ALPN is offered, so servers answer in HTTP/1.1.
 *
 * Returns 0, or -1 with the reason on stderr.  Call once, before the first
 * request; http_tls_free() releases it at exit.
 */
int	http_tls_init(const char *ca_file);
void	http_tls_free(void);

#endif
