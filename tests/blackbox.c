/* blackbox.c — the integration suite's pools, files and shared requests;
 * see blackbox.h. */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jwt.h>
#include <libpq-fe.h>

#include "blackbox.h"
#include "buf.h"
#include "jws.h"
#include "sjson.h"

struct pool		 pools[NPOOLS];
const char		*storage_root;
const char		*work_dir;
unsigned char		 pdf_data[PDF_SIZE];
const char		 nomime_data[] = "bytes without a declared type\n";
char			 outside_marker[64];

static struct testkey	 key_hs, key_rs, key_es;

/* ------------------------------------------------------------------ */
/* Requests */

struct http_response *
request(const struct pool *p, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len)
{
	return send_request(p->url, strf("[%s] %s %.300s", p->name, method,
	    path), method, path, headers, body, len);
}

const char *
issue_path(const struct pool *p, const char *id)
{
	return strf("%s/media/%s/download-token", p->base, id);
}

const char *
dl_path(const struct pool *p, const char *id, const char *token)
{
	return strf("%s/media/%s/download/%s", p->base, id, token);
}

struct http_response *
post_authz(const struct pool *p, const char *path, const char *authz,
    const char *accept, const void *body, size_t len)
{
	return request(p, "POST", path, header_lines("Authorization", authz,
	    "Accept", accept), body, len);
}

struct http_response *
post_bearer(const struct pool *p, const char *path, const char *jwt,
    const char *accept)
{
	return post_authz(p, path, jwt != NULL ? strf("Bearer %s", jwt) :
	    NULL, accept, NULL, 0);
}

struct http_response *
fetch(const struct pool *p, const char *method, const char *path,
    const char *accept, const char *range)
{
	return request(p, method, path, header_lines("Accept", accept,
	    "Range", range), NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Tokens */

char *
mint(const struct pool *p, const char *fmt, ...)
{
	va_list ap;
	char *claims;

	va_start(ap, fmt);
	claims = vstrf(fmt, ap);
	va_end(ap);
	return keep(tk_mint(p->key, claims), free);
}

const char *
good_claims(const struct pool *p, const char *extra)
{
	long long t = now();

	if (p == P_RS)
		return strf("{\"sub\":\"user-1\",\"tenant\":\"acme\","
		    "\"iss\":\"" ISSUER_RS "\",\"aud\":\"" AUDIENCE_RS "\","
		    "\"scope\":\"" PERMISSION "\",\"iat\":%lld,\"exp\":%lld%s}",
		    t, t + 300, extra);
	if (p == P_ES)
		return strf("{\"sub\":\"user-1\",\"scp\":[\"" PERMISSION "\"],"
		    "\"iat\":%lld,\"exp\":%lld%s}", t, t + 300, extra);
	return strf("{\"sub\":\"user-1\",\"tenant\":\"acme\","
	    "\"permissions\":[\"" PERMISSION "\"],\"iat\":%lld,"
	    "\"exp\":%lld%s}", t, t + 300, extra);
}

char *
good_bearer(const struct pool *p)
{
	return mint(p, "%s", good_claims(p, ""));
}

char *
b64url(const void *data, size_t len)
{
	char *out = keep(xmalloc(len * 4 / 3 + 4), free);

	jws_b64_encode(data, len, out);
	return out;
}

char *
raw_jws(const char *header, const char *payload, const char *sig)
{
	return strf("%s.%s.%s", b64url(header, strlen(header)),
	    b64url(payload, strlen(payload)), sig);
}

const char *
dl_claims(const char *id, const char *tenant, long from, long to)
{
	long long t = now();

	return strf("{\"sub\":\"%s\"%s%s%s,\"iat\":%lld,\"exp\":%lld,"
	    "\"jti\":\"" FIXED_JTI "\"}", id, tenant != NULL ?
	    ",\"tenant\":\"" : "", tenant != NULL ? tenant : "",
	    tenant != NULL ? "\"" : "", t + from, t + to);
}

/* ------------------------------------------------------------------ */
/* Expectations */

void
expect_no_secrets(const struct http_response *r, const char *cred)
{
	static const char *const db_words[] = {
		"ERROR:", "FATAL:", "SQLSTATE", "PGRES_", "postgres",
		"libpq", "syntax error", "relation \"", "-----BEGIN",
	};
	int k;

	if (cred != NULL && *cred != '\0')
		expect_no_bytes(r, cred, strlen(cred), "the credential");
	expect_no_bytes(r, token_key.priv, token_key.priv_len,
	    "the token secret");
	expect_no_bytes(r, key_hs.priv, key_hs.priv_len, "the bearer key");
	for (k = 0; k < NELEM(db_words); k++)
		expect_no_bytes(r, db_words[k], strlen(db_words[k]),
		    db_words[k]);
	/* Nor where the files are kept. */
	ck_assert_msg(!contains(r->body, r->body_len, storage_root,
	    strlen(storage_root)), "%s: the storage root leaked", last_req);
}

void
expect_401(const struct http_response *r, const char *detail,
    const char *jwt)
{
	expect_problem(r, 401, detail, jwt);
	expect_header(r, "WWW-Authenticate", WWW_INVALID);
	expect_no_secrets(r, jwt);
}

struct issued
expect_issued_by(const struct http_response *r, const struct pool *p,
    const char *id)
{
	return expect_issued(r, p->public_url != NULL ? p->public_url :
	    p->origin, p->base, id);
}

struct issued
issue_ok(const struct pool *p, const char *id)
{
	char *jwt = good_bearer(p);
	struct http_response *r = post_bearer(p, issue_path(p, id), jwt,
	    NULL);
	struct issued is = expect_issued_by(r, p, id);

	expect_no_secrets(r, jwt);
	return is;
}

void
expect_signed_by_token_key(const char *token)
{
	jwt_t *jwt = NULL;

	ck_assert_str_eq(claim_str(jws_part(token, 0), "alg"), "HS256");
	ck_assert_msg(jwt_decode(&jwt, token,
	    (const unsigned char *)token_key.priv, (int)token_key.priv_len) ==
	    0, "token does not verify with the token secret: %s", token);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
	jwt_free(jwt);
	jwt = NULL;
	ck_assert_msg(jwt_decode(&jwt, token,
	    (const unsigned char *)key_hs.priv, (int)key_hs.priv_len) != 0,
	    "token also verifies with the bearer key");
	jwt_free(jwt);
}

int
pool_pids(const struct pool *p, pid_t *pids, int max)
{
	return pids_from_file(strf("%s/%s.pid", work_dir, p->pidfile), pids,
	    max);
}

/* ------------------------------------------------------------------ */
/* Set-up */

TCase *
bb_tcase(const char *name)
{
	return tcase_kept(name, (int)(TCASE_TIMEOUT * time_scale()));
}

static void
setup_pool(enum pool_id id, const char *name, const char *pidfile,
    const char *url, const char *base, const char *public_url, long ttl,
    struct testkey *key)
{
	struct pool *p = &pools[id];
	size_t n;

	p->name = name;
	p->pidfile = pidfile;
	p->url = url;
	p->base = base;
	p->public_url = public_url;
	p->ttl = ttl;
	p->key = key;
	if (url == NULL)
		return;
	if (strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "%s: %s URL must start with http://: %s\n",
		    fx_prog, name, url);
		exit(1);
	}
	n = 7 + strcspn(url + 7, "/");
	if (n >= sizeof(p->origin)) {
		fprintf(stderr, "%s: URL too long: %s\n", fx_prog, url);
		exit(1);
	}
	memcpy(p->origin, url, n);
	p->origin[n] = '\0';
}

/*
 * The files behind tests/fixtures.sql, plus things outside the storage
 * root that stored paths must never reach.  Content is fixed so a
 * download can be compared byte for byte.
 */
static void
make_storage(void)
{
	uint32_t x = 2463534242u;
	char *outside, *secret_dir;
	size_t i;

	memcpy(pdf_data, "%PDF-1.4\n", 9);
	for (i = 9; i < PDF_SIZE; i++) {	/* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pdf_data[i] = (unsigned char)x;
	}
	snprintf(outside_marker, sizeof(outside_marker),
	    "mediagate-outside-secret-%ld", (long)getpid());

	fx_mkdir(storage_root, "acme");
	fx_mkdir(storage_root, "globex");
	free(tk_write_file(storage_root, "acme/m-pdf.pdf", pdf_data,
	    PDF_SIZE, 0644));
	free(tk_write_file(storage_root, "acme/m-deleted.pdf", "%PDF-1.4\n",
	    9, 0644));
	free(tk_write_file(storage_root, "acme/m-nomime.bin", nomime_data,
	    strlen(nomime_data), 0644));
	free(tk_write_file(storage_root, "globex/g-doc.txt", "globex\n", 7,
	    0644));

	fx_mkdir(work_dir, "outside");
	secret_dir = path_join(work_dir, "outside");
	outside = tk_write_file(secret_dir, "outside-secret.txt",
	    outside_marker, strlen(outside_marker), 0644);
	fx_symlink(outside, storage_root, "acme/escape-link.pdf");
	fx_symlink(secret_dir, storage_root, "acme/escape-dir");
	free(outside);
	free(secret_dir);
}

/* The rows of tests/fixtures.sql must be there. */
static void
check_fixtures(void)
{
	PGconn *c = PQconnectdb(fx_db);
	PGresult *res;
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "%s: cannot connect to MG_TEST_DB: %s",
		    fx_prog, PQerrorMessage(c));
		PQfinish(c);
		exit(1);
	}
	res = PQexec(c, "SELECT count(*) FROM media WHERE id IN ('m-pdf', "
	    "'m-nofile', 'm-deleted', 'm-nomime', 'g-doc')");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
	    strcmp(PQgetvalue(res, 0, 0), "5") == 0;
	PQclear(res);
	PQfinish(c);
	if (!ok) {
		fprintf(stderr, "%s: the rows of tests/fixtures.sql are not "
		    "in MG_TEST_DB\n", fx_prog);
		exit(1);
	}
}

static void
load_key(struct testkey *k, enum jws_alg alg, const char *keys,
    const char *priv, const char *pub)
{
	char *a = path_join(keys, priv), *b = path_join(keys, pub);

	tk_load(k, alg, a, b);
	free(a);
	free(b);
}

static const char *
pool_url(const char *var, bool needed, int *missing)
{
	static const char script[] = "tests/integration.sh";

	return needed ? fx_env(var, script, missing) : getenv(var);
}

int
bb_main(const char *prog, unsigned need, Suite *(*suite)(void))
{
	static const char script[] = "tests/integration.sh";
	const char *url[NPOOLS], *keys;
	static const char *const vars[NPOOLS] = {
		"MG_TEST_URL_HS", "MG_TEST_URL_RS", "MG_TEST_URL_ES",
		"MG_TEST_URL_TERM", "MG_TEST_URL_USR1",
	};
	int missing = 0, failed, i;
	SRunner *sr;

	fx_prog = prog;
	for (i = 0; i < NPOOLS; i++)
		url[i] = pool_url(vars[i], (need & (1u << i)) != 0, &missing);
	fx_db = fx_env("MG_TEST_DB", script, &missing);
	keys = fx_env("MG_TEST_KEYS", script, &missing);
	storage_root = fx_env("MG_TEST_STORAGE", script, &missing);
	work_dir = fx_env("MG_TEST_WORK", script, &missing);
	if (missing)
		return 1;

	load_key(&key_hs, JWS_HS256, keys, "bearer-hs.key", "bearer-hs.key");
	load_key(&key_rs, JWS_RS256, keys, "bearer-rs.pem",
	    "bearer-rs.pub.pem");
	load_key(&key_es, JWS_ES256, keys, "bearer-es.pem",
	    "bearer-es.pub.pem");
	load_key(&token_key, JWS_HS256, keys, "token.key", "token.key");
	setup_pool(HS, "HS", "hs", url[HS], "", NULL, TTL_DEFAULT, &key_hs);
	setup_pool(RS, "RS", "rs", url[RS], "/api", PUBLIC_URL_RS,
	    TTL_DEFAULT, &key_rs);
	setup_pool(ES, "ES", "es", url[ES], "", NULL, TTL_ES, &key_es);
	setup_pool(TERM, "TERM", "term", url[TERM], "", NULL, TTL_DEFAULT,
	    &key_hs);
	setup_pool(USR1, "USR1", "usr1", url[USR1], "", NULL, TTL_DEFAULT,
	    &key_hs);

	make_storage();
	check_fixtures();

	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	tk_free(&key_hs);
	tk_free(&key_rs);
	tk_free(&key_es);
	tk_free(&token_key);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
