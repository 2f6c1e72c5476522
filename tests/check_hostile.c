/*
 * check_hostile.c — hostile input from outside, through lighttpd and the
 * HS pool of tests/integration.sh (MEDIAGATE_PUBLIC_URL unset, tenant
 * isolation on): the rules a probe of the running service found broken.
 *
 *   long file names          a 24 KB and a 40,000-byte file_name download
 *   hostile file names       path separators and bidi controls dropped
 *   worst-case tenant        a token issued for it downloads (200)
 *   HEAD on an error         GET's Content-Length
 *   HTTP/1.0 without Host    the URL from SERVER_ADDR
 *   schema change under load no request fails while a column's type changes
 *
 * Environment (tests/integration.sh): MG_TEST_URL_HS, MG_TEST_DB (a role
 * that may ALTER the media table), MG_TEST_KEYS, MG_TEST_STORAGE,
 * MG_TEST_WORK (the responders log to hs.log there).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "sjson.h"
#include "testlib.h"

#define TCASE_TIMEOUT	60
#define FILE_BYTES	"hostile file\n"
#define STORED		"hostile/h.bin"

static const char *url, *db_conninfo, *work_dir;
static struct testkey bearer_key;

/* ------------------------------------------------------------------ */

/* A bearer for tenant (JSON string contents, already escaped). */
static char *
bearer(const char *tenant_json)
{
	return keep(tk_mint(&bearer_key, strf("{\"sub\":\"probe\",\"tenant\":"
	    "\"%s\",\"permissions\":[\"media:read\"],\"iat\":%lld,"
	    "\"exp\":%lld}", tenant_json, now(), now() + 300)), free);
}

static struct http_response *
post_issue(const char *id, const char *jwt)
{
	return send_request(url, strf("POST issue %s", id), "POST",
	    strf("/media/%s/download-token", id), header_lines(
	    "Authorization", strf("Bearer %s", jwt), NULL, NULL), NULL, 0);
}

/* Issue a token for id as tenant; returns the download path (kept). */
static const char *
issue_path(const char *id, const char *tenant_json)
{
	struct http_response *r = post_issue(id, bearer(tenant_json));
	yajl_val v;
	const char *tok;

	ck_assert_msg(r->status == 201, "%s: %d %s", last_req, r->status,
	    r->body);
	v = keep(sjson_parse_object(r->body, r->body_len), release_json);
	ck_assert_ptr_nonnull(v);
	tok = sjson_string(sjson_get(v, "token"));
	ck_assert_ptr_nonnull(tok);
	return strf("/media/%s/download/%s", id, tok);
}

static PGconn *
db(void)
{
	return db_open_at(db_conninfo, "MG_TEST_DB");
}

static struct http_response *
get(const char *method, const char *path)
{
	return send_request(url, strf("%s %.200s", method, path), method, path,
	    NULL, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Content-Disposition */

static char *
repeat(const char *s, size_t n, const char *tail)
{
	struct buf b = { 0 };

	while (n-- > 0)
		buf_puts(&b, s);
	buf_puts(&b, tail);
	return keep(b.ptr, free);
}

/*
 * 12,000 x "ü" (24 KB) and 40,000 x "a" gave lighttpd's own 502 (response
 * headers too large): now 200, the name cut to 255 bytes, ".pdf" kept.
 */
START_TEST(long_file_names)
{
	const char *names[] = { repeat("\xc3\xbc", 12000, ".pdf"),
	    repeat("a", 40000, ".pdf") };
	const char *wants[] = {
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    repeat("_", 125, ""), repeat("%C3%BC", 125, "")),
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    repeat("a", 251, ""), repeat("a", 251, "")) };
	struct http_response *r;
	PGconn *c = db();
	int i;

	for (i = 0; i < 2; i++) {
		media_replace(c, "h-long", "acme", "application/pdf",
		    names[i], STORED);
		r = get("GET", issue_path("h-long", "acme"));
		ck_assert_msg(r->status == 200, "%s: %d", last_req, r->status);
		expect_header(r, "Content-Disposition", wants[i]);
		ck_assert(r->body_len == strlen(FILE_BYTES) &&
		    memcmp(r->body, FILE_BYTES, r->body_len) == 0);
	}
	PQfinish(c);
}
END_TEST

/* RFC 6266 §4.3, done for the recipient: no path, no bidi trick. */
START_TEST(hostile_file_names)
{
	static const char *const cases[][2] = {
		{ "../../etc/passwd", "attachment; filename=\"download."
		    "etcpasswd\"; filename*=UTF-8''download.etcpasswd" },
		{ "..", "attachment; filename=\"download\"; "
		    "filename*=UTF-8''download" },
		{ "invoice\xe2\x80\xaetxt.exe", "attachment; filename="
		    "\"invoicetxt.exe\"; filename*=UTF-8''invoicetxt.exe" },
		{ "C:\\evil\\..\\a.pdf", "attachment; filename=\"C:evil..a.pdf\"; "
		    "filename*=UTF-8''C%3Aevil..a.pdf" },
		{ "\xe2\x81\xa6x\xe2\x81\xa9\xef\xbb\xbf.txt", "attachment; "
		    "filename=\"x.txt\"; filename*=UTF-8''x.txt" },
	};
	struct http_response *r;
	PGconn *c = db();
	int i;

	for (i = 0; i < NELEM(cases); i++) {
		media_replace(c, "h-name", "acme", "text/plain", cases[i][0],
		    STORED);
		r = get("GET", issue_path("h-name", "acme"));
		ck_assert_msg(r->status == 200, "%s: %d", last_req, r->status);
		expect_header(r, "Content-Disposition", cases[i][1]);
	}
	PQfinish(c);
}
END_TEST

/* A stored type that is not a media-type is not sent as one. */
START_TEST(loose_mime_types)
{
	static const char *const cases[][2] = {
		{ "/", "application/octet-stream" },
		{ " text/plain ", "application/octet-stream" },
		{ "text/plain; charset=\"utf-8\"", "text/plain; charset=\"utf-8\"" },
	};
	struct http_response *r;
	PGconn *c = db();
	int i;

	for (i = 0; i < NELEM(cases); i++) {
		media_replace(c, "h-mime", "acme", cases[i][0], "a.txt",
		    STORED);
		r = get("GET", issue_path("h-mime", "acme"));
		ck_assert_msg(r->status == 200, "%s: %d", last_req, r->status);
		expect_header(r, "Content-Type", cases[i][1]);
	}
	PQfinish(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Tokens */

/*
 * A tenant of AUTH_TENANT_MAX (256) control characters, each escaped to
 * 6 bytes in the token's JSON: the longest token mediagate issues, which
 * was 201 and then refused by the download route (2,048).
 */
START_TEST(worst_case_tenant)
{
	char tenant[257];
	const char *path;
	struct http_response *r;
	PGconn *c = db();

	memset(tenant, '\x01', 256);
	tenant[256] = '\0';
	media_replace(c, repeat("W", 64, ""), tenant, "text/plain", "w.txt",
	    STORED);
	PQfinish(c);
	path = issue_path(repeat("W", 64, ""), repeat("\\u0001", 256, ""));
	ck_assert_msg(strlen(path) > 2048 + 80, "token of %zu bytes only",
	    strlen(path));
	r = get("GET", path);
	ck_assert_msg(r->status == 200, "%s: %d %s", last_req, r->status,
	    r->body);
	ck_assert(r->body_len == strlen(FILE_BYTES));
}
END_TEST

/* ------------------------------------------------------------------ */
/* HEAD */

/* RFC 9110 §9.3.2: HEAD has GET's header fields, Content-Length too. */
START_TEST(head_error_length)
{
	static const char *const paths[] = {
		"/media/h-none/download/not.a.token",
		"/media/bad$id/download/x",
		"/media/h-none/download-token",		/* 405 */
		"/nothing-here",
	};
	struct http_response *g, *h;
	const char *gl, *hl;
	int i;

	for (i = 0; i < NELEM(paths); i++) {
		g = get("GET", paths[i]);
		h = get("HEAD", paths[i]);
		ck_assert_int_ge(g->status, 400);
		ck_assert_int_eq(h->status, g->status);
		gl = http_header(g, "Content-Length");
		hl = http_header(h, "Content-Length");
		ck_assert_msg(gl != NULL && strtoul(gl, NULL, 10) ==
		    g->body_len, "%s: GET Content-Length %s", paths[i], gl);
		ck_assert_msg(hl != NULL && strcmp(hl, gl) == 0,
		    "%s: HEAD Content-Length %s, GET %s", paths[i],
		    hl ? hl : "(none)", gl);
		ck_assert_uint_eq(h->body_len, 0);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* HTTP/1.0 without Host */

/* Send raw bytes to the web server, read the whole answer (kept). */
static char *
raw_exchange(const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { HTTP_TIMEOUT, 0 };
	struct buf b = { 0 };
	char chunk[4096];
	ssize_t n;
	int fd;

	sa.sin_port = htons((unsigned short)atoi(strrchr(url, ':') + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	buf_putc(&b, '\0');
	return keep(b.ptr, free);
}

START_TEST(http10_without_host)
{
	PGconn *c = db();
	char *resp, *body;

	media_replace(c, "h-10", "acme", "text/plain", "a.txt", STORED);
	PQfinish(c);
	resp = raw_exchange(strf("POST /media/h-10/download-token HTTP/1.0\r\n"
	    "Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
	    bearer("acme")));
	ck_assert_msg(strncmp(resp, "HTTP/1.0 201 ", 13) == 0, "%.300s", resp);
	body = strstr(resp, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	ck_assert_msg(strstr(body, strf("\"url\":\"%s/media/h-10/download/",
	    url)) != NULL, "%s", body);
	/* Without a bearer: 401, so the request did reach the core. */
	resp = raw_exchange("POST /media/h-10/download-token HTTP/1.0\r\n"
	    "Content-Length: 0\r\n\r\n");
	ck_assert_msg(strncmp(resp, "HTTP/1.0 401 ", 13) == 0, "%.300s", resp);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Schema change under load */

#define LOAD_CLIENTS	4
#define LOAD_REQUESTS	150

/* How often the responders logged that they prepared again. */
static int
reprepares(void)
{
	char *p = path_join(work_dir, "hs.log"), line[1024];
	FILE *f = fopen(p, "r");
	int n = 0;

	free(p);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, "prepared again") != NULL;
	fclose(f);
	return n;
}

/*
 * The platform migrates the schema while mediagate runs: ALTER TABLE media
 * ALTER COLUMN mime_type TYPE varchar(255), and back to text, while four
 * clients send issue requests (each a lookup) over the four responders.
 * Every prepared statement is then invalid ("cached plan must not change
 * result type"); each responder prepares it again and retries, so no
 * request fails.
 */
START_TEST(column_type_change_under_load)
{
	int up[2], done[2], i, k, fails = 0, total = 0, st, before, after;
	char *jwt = bearer("acme");
	struct http_response r;
	int counts[2];
	pid_t pid[LOAD_CLIENTS];
	PGconn *c = db();
	char byte;

	media_replace(c, "h-load", "acme", "text/plain", "a.txt", STORED);
	before = reprepares();
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(done), 0);
	for (k = 0; k < LOAD_CLIENTS; k++) {
		if ((pid[k] = fork()) == 0) {
			int bad = 0;

			close(up[0]);
			close(done[0]);
			for (i = 0; i < LOAD_REQUESTS; i++) {
				memset(&r, 0, sizeof(r));
				if (http_request(url, "POST",
				    "/media/h-load/download-token",
				    header_lines("Authorization", strf(
				    "Bearer %s", jwt), NULL, NULL), NULL, 0,
				    &r) != 0 || r.status != 201) {
					bad++;
					fprintf(stderr, "column change: "
					    "request %d: %d %.200s\n", i,
					    r.status, r.body ? r.body :
					    r.error);
				}
				http_response_free(&r);
				/* Tell the parent: warmed up, half way. */
				if (i == 10 || i == LOAD_REQUESTS / 2)
					(void)!write(up[1], "x", 1);
			}
			counts[0] = bad;
			counts[1] = LOAD_REQUESTS;
			(void)!write(done[1], counts, sizeof(counts));
			_exit(0);
		}
		ck_assert_int_gt(pid[k], 0);
	}
	close(up[1]);
	close(done[1]);
	/* Each change once every client is under way, the first when all
	 * have had answers with the statement as prepared. */
	for (k = 0; k < LOAD_CLIENTS; k++)
		ck_assert_int_eq(read(up[0], &byte, 1), 1);
	db_check(c, PQexec(c, "ALTER TABLE media ALTER COLUMN mime_type "
	    "TYPE varchar(255)"), "alter to varchar(255)");
	for (k = 0; k < LOAD_CLIENTS; k++)
		ck_assert_int_eq(read(up[0], &byte, 1), 1);
	db_check(c, PQexec(c, "ALTER TABLE media ALTER COLUMN mime_type "
	    "TYPE text"), "alter back to text");
	for (k = 0; k < LOAD_CLIENTS; k++) {
		ck_assert_int_eq(read(done[0], counts, sizeof(counts)),
		    sizeof(counts));
		fails += counts[0];
		total += counts[1];
		ck_assert_int_eq(waitpid(pid[k], &st, 0), pid[k]);
	}
	PQfinish(c);
	after = reprepares();
	fprintf(stderr, "column change under load: %d of %d requests failed; "
	    "the responders prepared again %d times\n", fails, total,
	    after - before);
	ck_assert_msg(fails == 0, "%d of %d requests failed", fails, total);
	ck_assert_msg(after - before >= 1, "no responder prepared again");
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_kept("responses", TCASE_TIMEOUT);

	tcase_add_test(tc, long_file_names);
	tcase_add_test(tc, hostile_file_names);
	tcase_add_test(tc, loose_mime_types);
	tcase_add_test(tc, worst_case_tenant);
	tcase_add_test(tc, head_error_length);
	tcase_add_test(tc, http10_without_host);
	suite_add_tcase(s, tc);
	tc = tcase_kept("schema", 180);
	tcase_add_test(tc, column_type_change_under_load);
	suite_add_tcase(s, tc);
	return s;
}

static const char *
need(const char *name, int *missing)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "check_hostile: %s is not set (run "
		    "tests/integration.sh)\n", name);
		(*missing)++;
	}
	return v;
}

int
main(void)
{
	const char *keys, *storage;
	int missing = 0, failed;
	char *p, *dir;
	SRunner *sr;

	url = need("MG_TEST_URL_HS", &missing);
	db_conninfo = need("MG_TEST_DB", &missing);
	keys = need("MG_TEST_KEYS", &missing);
	storage = need("MG_TEST_STORAGE", &missing);
	work_dir = need("MG_TEST_WORK", &missing);
	if (missing)
		return 1;
	p = path_join(keys, "bearer-hs.key");
	tk_load(&bearer_key, JWS_HS256, p, p);
	free(p);
	p = path_join(keys, "token.key");
	tk_load(&token_key, JWS_HS256, p, p);
	free(p);
	dir = path_join(storage, "hostile");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	free(dir);
	free(tk_write_file(storage, STORED, FILE_BYTES, strlen(FILE_BYTES),
	    0644));

	sr = srunner_create(hostile_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tk_free(&bearer_key);
	tk_free(&token_key);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
