/*
 * config.h — settings from the environment, parsed and checked once at
 * start, read-only afterwards.
 *
 * config_parse() is pure over a getenv-like lookup so tests feed it any
 * environment; config_load_keys() reads the key files and checks them.
 * Either fills err with one line naming the variable and what is wrong.
 */
#ifndef MG_CONFIG_H
#define MG_CONFIG_H

#include <stddef.h>

#include "jws.h"
#include "jwks.h"
#include "metrics.h"

#define CONFIG_SECRET_MIN	32	/* bytes of an HMAC secret */
#define CONFIG_ALGS_MAX		9	/* every JWS algorithm once */

/* What a key file was when it was read: a reload happens when it is
 * another file (rename), or its size or modification time changed. */
struct config_file_id {
	unsigned long long	 dev, ino;
	long long		 size;
	long long		 mtime_sec;
	long			 mtime_nsec;
	int			 present;	/* 0: could not be opened */
};

enum sendfile_kind {
	SENDFILE_X_SENDFILE,		/* Apache mod_xsendfile, lighttpd */
	SENDFILE_X_LIGHTTPD,		/* X-LIGHTTPD-send-file */
	SENDFILE_X_ACCEL,		/* nginx X-Accel-Redirect */
};

struct config {
	char		*db;		/* libpq conninfo; "" = defaults */
	enum jws_alg	 jwt_alg;	/* the first of jwt_algs */
	enum jws_alg	 jwt_algs[CONFIG_ALGS_MAX];	/* MEDIAGATE_JWT_ALG */
	size_t		 jwt_nalgs;
	char		*jwt_key_file;	/* one of these two is set */
	char		*jwt_jwks_file;
	char		*jwt_issuer;	/* NULL: not checked */
	char		*jwt_audience;	/* NULL: not checked */
	long		 jwt_leeway;	/* seconds */
	char		*tenant_claim;	/* NULL: isolation off */
	char		*token_secret_file;	/* one of these two is set */
	char		*token_jwks_file;
	long		 token_ttl;	/* seconds */
	char		*public_url;	/* NULL: from the request */
	char		*base_path;	/* "" or "/x" without trailing '/' */
	char		*storage_root;	/* NULL: downloads not served */
	enum sendfile_kind sendfile;
	char		*metrics_file;	/* NULL: metrics off (§7.2) */
	struct metrics_allow metrics_allow;	/* who may read /metrics */
	char		*audit_log;	/* NULL: no audit log (§7.3) */

	/* Filled by config_load_keys(), replaced whole by a reload
	 * (keys.c); a single-key variable gives a one-key set. */
	struct jwks	*bearer_keys;
	struct jwks	*token_keys;	/* always HS256 */
	struct config_file_id bearer_file_id, token_file_id;
};

typedef const char *(*config_getenv_fn)(const char *name);

/* Parse and validate every variable.  0 on success, -1 with err filled.
 * On success cfg owns its strings; release with config_free(). */
int config_parse(struct config *cfg, config_getenv_fn get, char *err,
    size_t errsz);

/* The operations variables (§7.2, §7.3), called by config_parse(). */
int config_parse_ops(struct config *cfg, config_getenv_fn get, char *err,
    size_t errsz);

/* Read and check the bearer and download-token key files (size,
 * permissions, key type; keys_load() in keys.c).  0 on success, -1 with
 * err filled. */
int config_load_keys(struct config *cfg, char *err, size_t errsz);

void config_free(struct config *cfg);

/* Header name for a sendfile kind ("X-Sendfile", …). */
const char *config_sendfile_header(enum sendfile_kind kind);

/* Text of `mediagate --help`: the variables and their defaults. */
extern const char config_help[];

#endif
