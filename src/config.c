/* config.c — environment parsing and key loading. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "err.h"
#include "buf.h"
#include "config.h"
#include "keys.h"

const char config_help[] =
"usage: mediagate [--help | --version | --check-config]\n"
"\n"
"FastCGI responder for POST /media/{id}/download-token and\n"
"GET|HEAD /media/{id}/download/{token}.  It serves the listening socket it\n"
"inherits as file descriptor 0 (spawn-fcgi, Apache mod_fcgid) and reads its\n"
"configuration from the environment:\n"
"\n"
"  MEDIAGATE_DB                 libpq connection string (PG* variables apply)\n"
"                               [default: empty, libpq defaults]\n"
"  MEDIAGATE_JWT_ALG            bearer algorithm: HS256/384/512, RS256/384/512,\n"
"                               ES256/384/512 [default: HS256]\n"
"  MEDIAGATE_JWT_KEY_FILE       HMAC secret (>= 32 bytes) or PEM public key\n"
"                               [required]\n"
"  MEDIAGATE_JWT_ISSUER         required bearer iss [default: not checked]\n"
"  MEDIAGATE_JWT_AUDIENCE       required bearer aud [default: not checked]\n"
"  MEDIAGATE_JWT_LEEWAY         clock skew allowed, seconds [default: 30]\n"
"  MEDIAGATE_TENANT_CLAIM       claim naming the tenant; empty: isolation off\n"
"                               [default: tenant]\n"
"  MEDIAGATE_TOKEN_SECRET_FILE  HMAC secret (>= 32 bytes) for download tokens\n"
"  MEDIAGATE_TOKEN_JWKS_FILE    or: JWKS of oct keys with kid; the first signs\n"
"                               [one of the two is required]\n"
"  MEDIAGATE_TOKEN_TTL          download token lifetime, seconds [default: 60]\n"
"  MEDIAGATE_PUBLIC_URL         scheme://host[:port] of download URLs\n"
"                               [default: from HTTPS, SERVER_NAME, SERVER_PORT]\n"
"  MEDIAGATE_BASE_PATH          path prefix of the API, e.g. /api [default: '']\n"
"  MEDIAGATE_STORAGE_ROOT       directory storage_file_name is relative to\n"
"                               [required for downloads]\n"
"  MEDIAGATE_SENDFILE_HEADER    X-Sendfile, X-LIGHTTPD-send-file or\n"
"                               X-Accel-Redirect [default: X-Sendfile]\n"
"  MEDIAGATE_METRICS_FILE       absolute path of the counter file shared by\n"
"                               the responders of this host [default: off]\n"
"  MEDIAGATE_METRICS_ALLOW      addresses/CIDR blocks that may read /metrics\n"
"                               [default: 127.0.0.1,::1]\n"
"  MEDIAGATE_AUDIT_LOG          absolute path of the audit log [default: off]\n"
"\n"
"Secret files must not be accessible to other users (chmod o-rwx).\n"
"Key files are re-read when they change (checked at most once a second)\n"
"and at once on SIGHUP or SIGUSR2; invalid new content is not taken.\n"
"--check-config validates the environment, loads the keys as a reload\n"
"would (listing the keys of a set that are not usable, and why), connects\n"
"to the database and exits 0, or prints what is wrong and exits 1.\n";

/* Value of name, or NULL when unset or empty. */
static const char *
get_nonempty(config_getenv_fn get, const char *name)
{
	const char *v = get(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static int
parse_long(config_getenv_fn get, const char *name, long def, long min,
    long max, long *out, char *err, size_t errsz)
{
	const char *v = get_nonempty(get, name);
	char *end;
	long n;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return err_fail(err, errsz, "%s: '%s' is not a whole number from "
		    "%ld to %ld", name, v, min, max);
	*out = n;
	return 0;
}


static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* A DNS-style reg-name (RFC 3986 §3.2.2, RFC 1123 §2.1): dot-separated
 * labels of 1..63 letters, digits and '-', at most 253 characters; one
 * that looks like a dotted IPv4 address must be one. */
static int
reg_name_ok(const char *h, size_t len)
{
	struct in_addr a4;
	char ip[16];
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)h[i]) || h[i] == '-') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	if (label == 0)
		return 0;
	if (strspn(h, "0123456789.") >= len) {
		if (len >= sizeof(ip))
			return 0;
		memcpy(ip, h, len);
		ip[len] = '\0';
		return inet_pton(AF_INET, ip, &a4) == 1;
	}
	return 1;
}

/*
 * scheme://host[:port] with no path, query or userinfo; a trailing '/' is
 * dropped.  Download URLs are built by appending to it.  host is a
 * reg-name, an IPv4 address or an IPv6 address in brackets (RFC 3986
 * §3.2.2, checked with inet_pton); port is 1..65535.
 */
static int
parse_public_url(const char *v, char **out, char *err, size_t errsz)
{
	const char *host, *end, *p;
	struct in6_addr a6;
	char ip6[INET6_ADDRSTRLEN + 1];
	size_t len = strlen(v);
	unsigned long port;

	while (len > 0 && v[len - 1] == '/')
		len--;
	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else
		return err_fail(err, errsz, "MEDIAGATE_PUBLIC_URL: '%s' must start "
		    "with http:// or https://", v);
	end = v + len;
	if (host >= end)
		return err_fail(err, errsz, "MEDIAGATE_PUBLIC_URL: '%s' has no "
		    "host", v);
	if (*host == '[') {
		if ((p = memchr(host, ']', (size_t)(end - host))) == NULL ||
		    (size_t)(p - host - 1) >= sizeof(ip6) || p == host + 1)
			goto bad;
		memcpy(ip6, host + 1, (size_t)(p - host - 1));
		ip6[p - host - 1] = '\0';
		if (inet_pton(AF_INET6, ip6, &a6) != 1)
			goto bad;
		p++;
	} else {
		for (p = host; p < end && *p != ':'; p++)
			;
		if (!reg_name_ok(host, (size_t)(p - host)))
			goto bad;
	}
	if (p < end) {		/* ":" port */
		if (*p++ != ':' || p == end || end - p > 5 ||
		    strspn(p, "0123456789") < (size_t)(end - p))
			goto bad;
		port = strtoul(p, NULL, 10);
		if (port < 1 || port > 65535)
			goto bad;
	}
	*out = xstrndup(v, len);
	return 0;
bad:
	return err_fail(err, errsz, "MEDIAGATE_PUBLIC_URL: '%s' must be "
	    "scheme://host[:port] (a host name, an IPv4 address or [IPv6], "
	    "a port from 1 to 65535) with no path, query or user", v);
}

/*
 * "" or "/seg/seg" of unreserved characters; a trailing '/' is dropped.
 * No segment may be empty, "." or ".." (RFC 3986 §3.3, §5.2.4): a client
 * or proxy that removes dot segments would see another path.
 */
static int
parse_base_path(const char *v, char **out, char *err, size_t errsz)
{
	size_t len = strlen(v), i, seg;

	while (len > 0 && v[len - 1] == '/')
		len--;
	if (len > 0 && (v[0] != '/' ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-._~/") < len))
		goto bad;
	for (i = 0; i < len; i = seg) {
		for (seg = i + 1; seg < len && v[seg] != '/'; seg++)
			;
		/* v[i] is '/', the segment is v[i + 1 .. seg) */
		if (seg == i + 1 || (seg == i + 2 && v[i + 1] == '.') ||
		    (seg == i + 3 && v[i + 1] == '.' && v[i + 2] == '.'))
			goto bad;
	}
	*out = xstrndup(v, len);
	return 0;
bad:
	return err_fail(err, errsz, "MEDIAGATE_BASE_PATH: '%s' must be a path "
	    "like /api, without empty, '.' or '..' segments", v);
}

static int
parse_storage_root(const char *v, enum sendfile_kind kind, char **out,
    char *err, size_t errsz)
{
	char real[PATH_MAX];
	struct stat st;
	size_t len = strlen(v);

	if (v[0] != '/')
		return err_fail(err, errsz, "MEDIAGATE_STORAGE_ROOT: '%s' is not "
		    "an absolute path", v);
	if (kind == SENDFILE_X_ACCEL) {
		/* An nginx internal location prefix, not a directory. */
		while (len > 1 && v[len - 1] == '/')
			len--;
		*out = xstrndup(v, len);
		return 0;
	}
	if (realpath(v, real) == NULL || stat(real, &st) != 0)
		return err_fail(err, errsz, "MEDIAGATE_STORAGE_ROOT: %s: %s", v,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_fail(err, errsz, "MEDIAGATE_STORAGE_ROOT: %s is not a "
		    "directory", v);
	*out = xstrdup(real);
	return 0;
}

/*
 * MEDIAGATE_JWT_ALG: one or more algorithm names, comma-separated (spaces
 * around a name are allowed), each once.
 */
static int
parse_algs(const char *v, struct config *cfg, char *err, size_t errsz)
{
	char name[16];
	const char *p = v, *end;
	size_t i, n;

	cfg->jwt_nalgs = 0;
	for (;;) {
		p += strspn(p, " ");
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n == 0 || n >= sizeof(name))
			goto bad;
		memcpy(name, p, n);
		name[n] = '\0';
		if (jws_alg_parse(name, &cfg->jwt_algs[cfg->jwt_nalgs]) != 0)
			goto bad;
		for (i = 0; i < cfg->jwt_nalgs; i++)
			if (cfg->jwt_algs[i] == cfg->jwt_algs[cfg->jwt_nalgs])
				return err_fail(err, errsz, "MEDIAGATE_JWT_ALG: "
				    "'%s' lists %s twice", v, name);
		cfg->jwt_nalgs++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	cfg->jwt_alg = cfg->jwt_algs[0];
	return 0;
bad:
	return err_fail(err, errsz, "MEDIAGATE_JWT_ALG: '%s' is not one of "
	    "HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512 (or a "
	    "comma-separated list of them)", v);
}

/* A secret comes from a single-key file or from a set, not both. */
static int
key_source(config_getenv_fn get, const char *file_var, const char *set_var,
    char **file, char **set, char *err, size_t errsz)
{
	const char *f = get_nonempty(get, file_var);
	const char *s = get_nonempty(get, set_var);

	if (f != NULL && s != NULL)
		return err_fail(err, errsz, "%s and %s: set only one of them",
		    file_var, set_var);
	*file = f != NULL ? xstrdup(f) : NULL;
	*set = s != NULL ? xstrdup(s) : NULL;
	return 0;
}

int
config_parse(struct config *cfg, config_getenv_fn get, char *err,
    size_t errsz)
{
	const char *v;

	memset(cfg, 0, sizeof(*cfg));
	v = get("MEDIAGATE_DB");
	cfg->db = xstrdup(v != NULL ? v : "");

	v = get_nonempty(get, "MEDIAGATE_JWT_ALG");
	if (parse_algs(v != NULL ? v : "HS256", cfg, err, errsz) != 0)
		return -1;

	if (key_source(get, "MEDIAGATE_JWT_KEY_FILE", "MEDIAGATE_JWT_JWKS_FILE",
	    &cfg->jwt_key_file, &cfg->jwt_jwks_file, err, errsz) != 0)
		return -1;
	if (cfg->jwt_key_file == NULL && cfg->jwt_jwks_file == NULL)
		return err_fail(err, errsz, "MEDIAGATE_JWT_KEY_FILE: required (a "
		    "file with the HMAC secret or the PEM public key), or "
		    "MEDIAGATE_JWT_JWKS_FILE (a JSON Web Key Set)");
	if (cfg->jwt_nalgs > 1 && cfg->jwt_jwks_file == NULL)
		return err_fail(err, errsz, "MEDIAGATE_JWT_ALG: lists %zu "
		    "algorithms; more than one needs MEDIAGATE_JWT_JWKS_FILE "
		    "(a key file holds one key)", cfg->jwt_nalgs);

	if ((v = get_nonempty(get, "MEDIAGATE_JWT_ISSUER")) != NULL)
		cfg->jwt_issuer = xstrdup(v);
	if ((v = get_nonempty(get, "MEDIAGATE_JWT_AUDIENCE")) != NULL)
		cfg->jwt_audience = xstrdup(v);
	if (parse_long(get, "MEDIAGATE_JWT_LEEWAY", 30, 0, 3600,
	    &cfg->jwt_leeway, err, errsz) != 0)
		return -1;

	/* Unset: "tenant"; set but empty: isolation off. */
	v = get("MEDIAGATE_TENANT_CLAIM");
	if (v == NULL)
		cfg->tenant_claim = xstrdup("tenant");
	else if (*v != '\0') {
		if (!printable(v) || strlen(v) > 128)
			return err_fail(err, errsz, "MEDIAGATE_TENANT_CLAIM: '%s' "
			    "is not a claim name", v);
		cfg->tenant_claim = xstrdup(v);
	}

	if (key_source(get, "MEDIAGATE_TOKEN_SECRET_FILE",
	    "MEDIAGATE_TOKEN_JWKS_FILE", &cfg->token_secret_file,
	    &cfg->token_jwks_file, err, errsz) != 0)
		return -1;
	if (cfg->token_secret_file == NULL && cfg->token_jwks_file == NULL)
		return err_fail(err, errsz, "MEDIAGATE_TOKEN_SECRET_FILE: required "
		    "(a file with at least %d secret bytes), or "
		    "MEDIAGATE_TOKEN_JWKS_FILE (a keyring)", CONFIG_SECRET_MIN);
	if (parse_long(get, "MEDIAGATE_TOKEN_TTL", 60, 1, 86400,
	    &cfg->token_ttl, err, errsz) != 0)
		return -1;

	if ((v = get_nonempty(get, "MEDIAGATE_PUBLIC_URL")) != NULL &&
	    parse_public_url(v, &cfg->public_url, err, errsz) != 0)
		return -1;
	v = get("MEDIAGATE_BASE_PATH");
	if (parse_base_path(v != NULL ? v : "", &cfg->base_path, err,
	    errsz) != 0)
		return -1;

	v = get_nonempty(get, "MEDIAGATE_SENDFILE_HEADER");
	if (v == NULL || strcasecmp(v, "X-Sendfile") == 0)
		cfg->sendfile = SENDFILE_X_SENDFILE;
	else if (strcasecmp(v, "X-LIGHTTPD-send-file") == 0)
		cfg->sendfile = SENDFILE_X_LIGHTTPD;
	else if (strcasecmp(v, "X-Accel-Redirect") == 0)
		cfg->sendfile = SENDFILE_X_ACCEL;
	else
		return err_fail(err, errsz, "MEDIAGATE_SENDFILE_HEADER: '%s' is "
		    "not one of X-Sendfile, X-LIGHTTPD-send-file, "
		    "X-Accel-Redirect", v);

	if ((v = get_nonempty(get, "MEDIAGATE_STORAGE_ROOT")) != NULL &&
	    parse_storage_root(v, cfg->sendfile, &cfg->storage_root, err,
	    errsz) != 0)
		return -1;
	return config_parse_ops(cfg, get, err, errsz);
}

int
config_load_keys(struct config *cfg, char *err, size_t errsz)
{
	return keys_load(cfg, &cfg->bearer_keys, &cfg->token_keys,
	    &cfg->bearer_file_id, &cfg->token_file_id, err, errsz);
}

void
config_free(struct config *cfg)
{
	free(cfg->db);
	free(cfg->jwt_key_file);
	free(cfg->jwt_jwks_file);
	free(cfg->jwt_issuer);
	free(cfg->jwt_audience);
	free(cfg->tenant_claim);
	free(cfg->token_secret_file);
	free(cfg->token_jwks_file);
	free(cfg->public_url);
	free(cfg->base_path);
	free(cfg->storage_root);
	free(cfg->metrics_file);
	free(cfg->audit_log);
	jwks_free(cfg->bearer_keys);
	jwks_free(cfg->token_keys);
	memset(cfg, 0, sizeof(*cfg));
}

const char *
config_sendfile_header(enum sendfile_kind kind)
{
	switch (kind) {
	case SENDFILE_X_LIGHTTPD:	return "X-LIGHTTPD-send-file";
	case SENDFILE_X_ACCEL:		return "X-Accel-Redirect";
	case SENDFILE_X_SENDFILE:
	default:			return "X-Sendfile";
	}
}
