/* http_tls.c — the OpenSSL transport behind https:// in http.c. */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "http.h"
#include "http_tls.h"

static SSL_CTX *ctx;

/* The last OpenSSL error (and, after a failed handshake, why the peer's
 * certificate was refused) into err. */
static void
tls_error(SSL *ssl, const char *what, char *err, size_t errsz)
{
	unsigned long e = ERR_get_error();
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	snprintf(err, errsz, "%s: %s%s%s", what,
	    e != 0 ? ERR_reason_error_string(e) : "failed",
	    vr != X509_V_OK ? "; certificate: " : "",
	    vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
	ERR_clear_error();
}

static bool
is_numeric(const char *host)
{
	return strspn(host, "0123456789.") == strlen(host) ||
	    strchr(host, ':') != NULL;
}

static void *
tls_open(int fd, const char *host, char *err, size_t errsz)
{
	SSL *ssl;
	int ok;

	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		tls_error(NULL, "SSL_new", err, errsz);
		SSL_free(ssl);
		return NULL;
	}
	/* Check that the certificate names the host we asked for. */
	if (is_numeric(host))
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	else
		ok = SSL_set_tlsext_host_name(ssl, host) == 1 &&
		    SSL_set1_host(ssl, host) == 1;
	if (ok != 1) {
		tls_error(NULL, "setting the expected host", err, errsz);
		SSL_free(ssl);
		return NULL;
	}
	if (SSL_connect(ssl) != 1) {
		tls_error(ssl, "handshake", err, errsz);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* Map a failed SSL_read/SSL_write to the errno http.c expects. */
static long
tls_fail(SSL *ssl, int rc)
{
	int e = SSL_get_error(ssl, rc);

	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	/* A blocking socket whose SO_RCVTIMEO/SO_SNDTIMEO expired. */
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		errno = EAGAIN;
	else if (e != SSL_ERROR_SYSCALL || errno == 0)
		errno = EPROTO;
	ERR_clear_error();
	return -1;
}

static long
tls_send(void *session, const void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	if ((rc = SSL_write_ex(session, buf, len, &n)) != 1)
		return tls_fail(session, rc);
	return (long)n;
}

static long
tls_recv(void *session, void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	if ((rc = SSL_read_ex(session, buf, len, &n)) != 1)
		return tls_fail(session, rc);
	return (long)n;
}

static void
tls_close(void *session)
{
	/* Best effort close_notify; the peer may be gone already. */
	SSL_shutdown(session);
	SSL_free(session);
	ERR_clear_error();
}

static const struct http_tls openssl_transport = {
	tls_open, tls_send, tls_recv, tls_close,
};

int
http_tls_init(const char *ca_file)
{
	if (ctx != NULL)
		return 0;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		fprintf(stderr, "http_tls_init: %s\n",
		    ERR_reason_error_string(ERR_get_error()));
		http_tls_free();
		return -1;
	}
	/* Web servers often close without close_notify once a response
	 * with Connection: close is out; that is the end of the body. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			fprintf(stderr, "http_tls_init: cannot load %s: %s\n",
			    ca_file, ERR_reason_error_string(ERR_get_error()));
			http_tls_free();
			return -1;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	http_set_tls(&openssl_transport);
	return 0;
}

void
http_tls_free(void)
{
	http_set_tls(NULL);
	SSL_CTX_free(ctx);
	ctx = NULL;
}
