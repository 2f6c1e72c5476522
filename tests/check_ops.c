/*
 * check_ops.c — contract §7 on the real stack (tests/ops.sh starts it):
 * /healthz with the database up, down and back; /metrics summed over
 * every responder of a pool, read with Debian's Prometheus parser and
 * checked by promtool, across a SIGKILL; the audit log's fields, hostile
 * values, concurrency, rotation and an unwritable path.  One program in
 * three files: this one (set-up, requests, /healthz), ops_metrics.c and
 * ops_audit.c; check_ops.h is what they share.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "jws.h"
#include "check_ops.h"
#include "testlib.h"

const char *url_a, *url_b, *url_deny, *url_u;
const char *audit_a, *audit_u, *work, *py, *helpers;
const char *children_a, *pids_b, *pg_stop, *pg_start;
static const char *pg_freeze, *pg_thaw;
struct testkey bearer;

double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run a shell command; its stdout, kept. */
char *
run_out(const char *cmd, int *status)
{
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *p = popen(cmd, "r");

	ck_assert_msg(p != NULL, "popen %s", cmd);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_append(&b, chunk, n);
	*status = pclose(p);
	/* The buffer's memory becomes the kept string. */
	return keep(b.ptr != NULL ? b.ptr : xstrdup(""), free);
	/* b's memory is released with the copy kept */
}

void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* ------------------------------------------------------------------ */
/* Bearer tokens and the two operations */

char *
bearer_for(const char *sub_json)
{
	return hs256(bearer.priv, bearer.priv_len, strf("{\"exp\":%lld,"
	    "\"permissions\":[\"media:read\"],\"tenant\":\"" TENANT "\"%s%s}",
	    now() + 600, sub_json != NULL ? ",\"sub\":" : "",
	    sub_json != NULL ? sub_json : ""));
}

/* POST download-token; the token of a 201 (kept), or NULL. */
char *
issue(const char *base, const char *prefix, const char *sub_json,
    const char *reqid, int *status)
{
	const char *h[4] = { NULL };
	struct http_response *r;
	yajl_val v, t;
	const char *path[] = { "token", NULL };
	char *tok = NULL;
	int n = 0;

	h[n++] = strf("Authorization: Bearer %s", bearer_for(sub_json));
	if (reqid != NULL)
		h[n++] = strf("X-Request-Id: %s", reqid);
	h[n++] = "Content-Length: 0";
	r = send_request(base, "issue", "POST", strf("%s/media/" MEDIA
	    "/download-token", prefix), h, NULL, 0);
	*status = r->status;
	if (r->status != 201)
		return NULL;
	v = keep(yajl_tree_parse(r->body, NULL, 0), release_json);
	t = yajl_tree_get(v, path, yajl_t_string);
	ck_assert_msg(t != NULL, "no token in %s", r->body);
	tok = kstrdup(t->u.string);
	return tok;
}

int
download(const char *base, const char *prefix, const char *token,
    const char *range, const char *reqid)
{
	const char *h[3] = { NULL };
	int n = 0;

	if (range != NULL)
		h[n++] = strf("Range: %s", range);
	if (reqid != NULL)
		h[n++] = strf("X-Request-Id: %s", reqid);
	return send_request(base, "download", "GET", strf("%s/media/" MEDIA
	    "/download/%s", prefix, token), h, NULL, 0)->status;
}

int
get_status(const char *base, const char *path)
{
	return send_request(base, path, "GET", path, NULL, NULL, 0)->status;
}

/* ------------------------------------------------------------------ */
/* §7.1 health */

START_TEST(health_up)
{
	struct http_response *r;

	r = send_request(url_a, "healthz", "GET", "/healthz", NULL, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "{\"status\":\"ok\"}");
	expect_header(r, "Cache-Control", "no-store");
	expect_ctype(r, "application/json");
	r = send_request(url_a, "healthz HEAD", "HEAD", "/healthz", NULL,
	    NULL, 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 0);
	r = send_request(url_a, "healthz POST", "POST", "/healthz",
	    header_lines("Content-Length", "0", NULL, NULL), NULL, 0);
	ck_assert_int_eq(r->status, 405);
	/* Under the base path only. */
	ck_assert_int_eq(get_status(url_b, "/api/healthz"), 200);
	ck_assert_int_eq(get_status(url_b, "/healthz"), 404);
}
END_TEST

START_TEST(health_outage)
{
	struct http_response *r;
	double t0, took;
	int i, st, ok = 0;

	run_out(strf("%s 2>&1", pg_stop), &st);
	ck_assert_int_eq(st, 0);
	/* Several requests, so that every responder of the pool answers. */
	for (i = 0; i < 6; i++) {
		t0 = mono();
		r = send_request(url_a, "healthz down", "GET", "/healthz",
		    NULL, NULL, 0);
		took = mono() - t0;
		ck_assert_msg(r->status == 503, "healthz with the database "
		    "down: %d", r->status);
		ck_assert_msg(took < 1.5, "503 took %.2f s", took);
		ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
		expect_ctype(r, "application/problem+json");
		ck_assert_msg(strcasestr(r->body, "postgres") == NULL &&
		    strstr(r->body, PACKAGE_VERSION) == NULL &&
		    strstr(r->body, "socket") == NULL &&
		    strstr(r->body, "127.0.0.1") == NULL &&
		    strstr(r->body, work) == NULL, "reveals too much: %s",
		    r->body);
	}
	run_out(strf("%s 2>&1", pg_start), &st);
	ck_assert_int_eq(st, 0);
	/* Back without a restart: every responder, within 30 s. */
	for (t0 = mono(); ok < 6 && mono() - t0 < 30; ) {
		r = send_request(url_a, "healthz back", "GET", "/healthz",
		    NULL, NULL, 0);
		ok = r->status == 200 ? ok + 1 : 0;
		if (r->status != 200)
			usleep(100000);
	}
	ck_assert_msg(ok == 6, "healthz did not come back to 200");
}
END_TEST

/* A database that accepts connections but never answers: the 1 s bound
 * itself, on the open connection and on a new one. */
START_TEST(health_frozen)
{
	struct http_response *r;
	double t0, took;
	int i, st, ok = 0;

	ck_assert_int_eq(get_status(url_a, "/healthz"), 200);
	run_out(strf("%s 2>&1", pg_freeze), &st);
	ck_assert_int_eq(st, 0);
	for (i = 0; i < 6; i++) {
		t0 = mono();
		r = send_request(url_a, "healthz frozen", "GET", "/healthz",
		    NULL, NULL, 0);
		took = mono() - t0;
		ck_assert_msg(r->status == 503, "healthz with the database "
		    "frozen: %d", r->status);
		ck_assert_msg(took >= 0.9 && took < 1.5, "503 after %.2f s, "
		    "want the 1 s bound", took);
		ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
	}
	run_out(strf("%s 2>&1", pg_thaw), &st);
	ck_assert_int_eq(st, 0);
	for (t0 = mono(); ok < 6 && mono() - t0 < 30; ) {
		r = send_request(url_a, "healthz thawed", "GET", "/healthz",
		    NULL, NULL, 0);
		ok = r->status == 200 ? ok + 1 : 0;
		if (r->status != 200)
			usleep(100000);
	}
	ck_assert_msg(ok == 6, "healthz did not come back to 200");
}
END_TEST

/* Teardown of the frozen case: never leave PostgreSQL stopped.  An
 * unchecked one, as pg_running below, for the same reasons. */
static void
thaw(void)
{
	if (system(pg_thaw) != 0)
		fprintf(stderr, "check_ops: %s failed\n", pg_thaw);
}

/*
 * The outage's teardown, an unchecked one: Check runs it in the runner
 * process after the test case whatever became of the test (a failed
 * assertion while the database was down, a timeout), where a checked
 * teardown does not run once an assertion has ended the forked test.
 * PostgreSQL then runs again for whatever comes next, so the order of the
 * test cases does not matter.  MG_TEST_PG_START is a no-op when the
 * cluster runs and returns once it accepts connections.  No ck_assert
 * here (outside a test it would end the runner): a failure is printed
 * and the next test that needs the database fails.
 */
static void
pg_running(void)
{
	int st = system(pg_start);

	if (st != 0)
		fprintf(stderr, "check_ops: %s failed (status %d): the "
		    "database may be down for the tests after the outage\n",
		    pg_start, st);
}

static Suite *
ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *h = tcase_kept("health", 60);
	TCase *o = tcase_kept("outage", 90);
	TCase *fz = tcase_kept("frozen", 90);

	tcase_add_test(h, health_up);
	suite_add_tcase(s, h);
	ops_metrics_tcase(s);
	ops_audit_tcase(s);
	/* They stop or freeze the database; their (unchecked) teardowns
	 * bring it back whatever the test left, so the order does not
	 * matter. */
	tcase_add_unchecked_fixture(fz, NULL, thaw);
	tcase_add_test(fz, health_frozen);
	suite_add_tcase(s, fz);
	tcase_add_unchecked_fixture(o, NULL, pg_running);
	tcase_add_test(o, health_outage);
	suite_add_tcase(s, o);
	return s;
}

static const char *
need(const char *name, int *missing)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "check_ops: %s is not set (run tests/ops.sh)\n",
		    name);
		(*missing)++;
	}
	return v;
}

int
main(void)
{
	const char *keys, *storage;
	char *path, *dir;
	int missing = 0, failed;
	SRunner *sr;

	url_a = need("MG_OPS_URL_A", &missing);
	url_b = need("MG_OPS_URL_B", &missing);
	url_deny = need("MG_OPS_URL_DENY", &missing);
	url_u = need("MG_OPS_URL_U", &missing);
	audit_a = need("MG_OPS_AUDIT_A", &missing);
	audit_u = need("MG_OPS_AUDIT_U", &missing);
	children_a = need("MG_OPS_CHILDREN_A", &missing);
	pids_b = need("MG_OPS_PIDS_B", &missing);
	py = need("MG_OPS_PY", &missing);
	helpers = need("MG_OPS_HELPERS", &missing);
	keys = need("MG_TEST_KEYS", &missing);
	storage = need("MG_TEST_STORAGE", &missing);
	work = need("MG_TEST_WORK", &missing);
	pg_stop = need("MG_TEST_PG_STOP", &missing);
	pg_start = need("MG_TEST_PG_START", &missing);
	pg_freeze = need("MG_OPS_PG_FREEZE", &missing);
	pg_thaw = need("MG_OPS_PG_THAW", &missing);
	if (missing)
		return 1;

	path = path_join(keys, "bearer-hs.key");
	tk_load(&bearer, JWS_HS256, path, path);
	free(path);
	path = path_join(keys, "token.key");
	tk_load(&token_key, JWS_HS256, path, path);
	free(path);
	/* The stored file of m-pdf (tests/fixtures.sql). */
	dir = path_join(storage, TENANT);
	mkdir(dir, 0755);
	path = path_join(dir, MEDIA ".pdf");
	{
		FILE *f = fopen(path, "w");

		if (f == NULL || fputs("%PDF-1.4 ops test file\n", f) < 0 ||
		    fclose(f) != 0) {
			fprintf(stderr, "check_ops: cannot write %s\n", path);
			return 1;
		}
	}
	free(path);
	free(dir);

	sr = srunner_create(ops_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tk_free(&bearer);
	tk_free(&token_key);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
