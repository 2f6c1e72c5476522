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
#include "metrics.h"

#define CONFIG_SECRET_MIN	32	/* bytes of an HMAC secret */

enum sendfile_kind {
	SENDFILE_X_SENDFILE,		/* Apache mod_xsendfile, lighttpd */
	SENDFILE_X_LIGHTTPD,		/* X-LIGHTTPD-send-file */
	SENDFILE_X_ACCEL,		/* nginx X-Accel-Redirect */
};

struct config {
	char		*db;		/* libpq conninfo; "" = defaults */
	enum jws_alg	 jwt_alg;
	char		*jwt_key_file;
	char		*jwt_issuer;	/* NULL: not checked */
	char		*jwt_audience;	/* NULL: not checked */
	long		 jwt_leeway;	/* seconds */
	char		*tenant_claim;	/* NULL: isolation off */
	char		*token_secret_file;
	long		 token_ttl;	/* seconds */
	char		*public_url;	/* NULL: from the request */
	char		*base_path;	/* "" or "/x" without trailing '/' */
	char		*storage_root;	/* NULL: downloads not served */
	enum sendfile_kind sendfile;
	char		*metrics_file;	/* NULL: metrics off (§7.2) */
	struct metrics_allow metrics_allow;	/* who may read /metrics */
	char		*audit_log;	/* NULL: no audit log (§7.3) */

	/* Filled by config_load_keys(). */
	struct jws_key	 bearer_key;
	struct jws_key	 token_key;	/* always HS256 */
};

typedef const char *(*config_getenv_fn)(const char *name);

/* Parse and validate every variable.  0 on success, -1 with err filled.
 * On success cfg owns its strings; release with config_free(). */
int config_parse(struct config *cfg, config_getenv_fn get, char *err,
    size_t errsz);

/* The operations variables (§7.2, §7.3), called by config_parse(). */
int config_parse_ops(struct config *cfg, config_getenv_fn get, char *err,
    size_t errsz);

/* Read and check MEDIAGATE_JWT_KEY_FILE and MEDIAGATE_TOKEN_SECRET_FILE
 * (size, permissions, key type).  0 on success, -1 with err filled. */
int config_load_keys(struct config *cfg, char *err, size_t errsz);

void config_free(struct config *cfg);

/* Header name for a sendfile kind ("X-Sendfile", …). */
const char *config_sendfile_header(enum sendfile_kind kind);

/* Text of `mediagate --help`: the variables and their defaults. */
extern const char config_help[];

#endif
