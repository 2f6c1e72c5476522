/*
 * blackbox.h — the environment of the black-box programs that
 * tests/integration.sh runs (check_auth, check_issue, check_negotiate,
 * check_download, check_errors, check_faults_db, check_faults_proc): the
 * responder pools behind lighttpd, their bearer keys, the stored files,
 * and the requests and expectations those programs have in common.
 *
 * Pools (tests/integration.sh starts them; all share the database, the
 * download-token secret and the storage root):
 *
 *   HS    HS256 bearers, tenant isolation on; four responders
 *   RS    RS256 bearers with issuer and audience, PUBLIC_URL, base /api
 *   ES    ES256 bearers, tenant isolation off, token lifetime 2 s
 *   TERM  like HS, two responders, for the SIGTERM test (it ends them)
 *   USR1  like HS, two responders, for the SIGUSR1 test (it ends one)
 *
 * bb_main() reads MG_TEST_* (see tests/integration.sh), loads the keys,
 * writes the stored files, checks the fixture rows and runs the suite.
 */
#ifndef MG_TEST_BLACKBOX_H
#define MG_TEST_BLACKBOX_H

#include <stdbool.h>
#include <stddef.h>

#include <check.h>

#include "expect.h"
#include "fixture.h"
#include "http.h"
#include "testkeys.h"
#include "testlib.h"

#define TCASE_TIMEOUT	30		/* seconds, before time_scale() */
#define PDF_SIZE	(100 * 1024)	/* bytes of the stored m-pdf file */
#define BODY_MAX	(64 * 1024)	/* the contract's request body limit */
#define TTL_DEFAULT	60
#define TTL_ES		2
#define PUBLIC_URL_RS	"https://media.example.test"
#define ISSUER_RS	"https://issuer.test"
#define AUDIENCE_RS	"mediagate-api"
#define PERMISSION	"media:read"
#define WWW_INVALID	"Bearer error=\"invalid_token\""
#define WWW_SCOPE	"Bearer error=\"insufficient_scope\", " \
			    "scope=\"media:read\""
#define ISSUE_M_PDF	"/media/m-pdf/download-token"

enum pool_id { HS, RS, ES, TERM, USR1, NPOOLS };

struct pool {
	const char	*name;		/* "HS" …, for messages */
	const char	*pidfile;	/* work-dir name of spawn-fcgi's pids */
	const char	*url;		/* MG_TEST_URL_*: where lighttpd is */
	char		 origin[256];	/* http://127.0.0.1:PORT of url */
	const char	*base;		/* MEDIAGATE_BASE_PATH */
	const char	*public_url;	/* MEDIAGATE_PUBLIC_URL or NULL */
	long		 ttl;		/* MEDIAGATE_TOKEN_TTL */
	struct testkey	*key;		/* signs this pool's bearer tokens */
};

extern struct pool	 pools[NPOOLS];
#define P_HS	(&pools[HS])
#define P_RS	(&pools[RS])
#define P_ES	(&pools[ES])
#define P_TERM	(&pools[TERM])
#define P_USR1	(&pools[USR1])

/* Set by bb_main() before the runner forks; read-only afterwards. */
extern const char	*storage_root;
extern const char	*work_dir;
extern unsigned char	 pdf_data[PDF_SIZE];	/* acme/m-pdf.pdf */
extern const char	 nomime_data[];		/* acme/m-nomime.bin */
extern char		 outside_marker[64];	/* a file outside the root */

/* ------------------------------------------------------------------ */
/* Requests */

struct http_response *request(const struct pool *p, const char *method,
	    const char *path, const char *const *headers, const void *body,
	    size_t len);

/* p's base + /media/ + id + /download-token. */
const char *issue_path(const struct pool *p, const char *id);

/* p's base + /media/ + id + /download/ + token. */
const char *dl_path(const struct pool *p, const char *id,
	    const char *token);

/* POST with an Authorization value and an Accept (NULL: none of it). */
struct http_response *post_authz(const struct pool *p, const char *path,
	    const char *authz, const char *accept, const void *body,
	    size_t len);

/* POST with a bearer token (NULL: no Authorization at all). */
struct http_response *post_bearer(const struct pool *p, const char *path,
	    const char *jwt, const char *accept);

/* A method without a body, with optional Accept and Range. */
struct http_response *fetch(const struct pool *p, const char *method,
	    const char *path, const char *accept, const char *range);

/* ------------------------------------------------------------------ */
/* Tokens */

/* A bearer token for p over the claims fmt formats (libjwt). */
char	*mint(const struct pool *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Claims p accepts, with extra members (a fragment starting with ','). */
const char *good_claims(const struct pool *p, const char *extra);

/* mint(p, good_claims(p, "")). */
char	*good_bearer(const struct pool *p);

/* base64url of len bytes; kept. */
char	*b64url(const void *data, size_t len);

/* A JWS by hand over exact header and payload text and signature part. */
char	*raw_jws(const char *header, const char *payload, const char *sig);

/* Claims of a download token of media id for tenant (NULL: none), valid
 * from now + from to now + to seconds, with FIXED_JTI. */
const char *dl_claims(const char *id, const char *tenant, long from,
	    long to);

/* ------------------------------------------------------------------ */
/* Expectations */

/* §6: no body nor header carries a key, a database message, the storage
 * root or cred (the token presented; NULL: none). */
void	 expect_no_secrets(const struct http_response *r, const char *cred);

/* expect_problem(r, 401, detail, jwt) plus the RFC 6750 challenge and
 * expect_no_secrets(). */
void	 expect_401(const struct http_response *r, const char *detail,
	    const char *jwt);

/* The 201 of §4 for media id from pool p. */
struct issued expect_issued_by(const struct http_response *r,
	    const struct pool *p, const char *id);

/* A token issued by p for id with a good bearer; asserts the 201. */
struct issued issue_ok(const struct pool *p, const char *id);

/* Signed HS256 with the token secret (checked by libjwt) and by no other
 * key. */
void	 expect_signed_by_token_key(const char *token);

/* p's responder pids, from spawn-fcgi's pid file; how many. */
int	 pool_pids(const struct pool *p, pid_t *pids, int max);

/* ------------------------------------------------------------------ */

/* A test case with the suite's timeout (scaled) and kept teardown. */
TCase	*bb_tcase(const char *name);

/* The program: environment, keys, files, then the suite; the exit
 * status.  Pools not in need (a bit mask of 1 << pool_id) may be absent. */
int	 bb_main(const char *prog, unsigned need, Suite *(*suite)(void));

#endif
