/*
 * ops_audit.c — check_ops' audit-log tests (§7.3): the fields of each
 * line, hostile values, concurrent writers across a rotation, and an
 * unwritable log (503).  See check_ops.c.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "check_ops.h"
#include "jws.h"
#include "testlib.h"

/* ------------------------------------------------------------------ */
/* §7.3 audit */

static char *
read_all(const char *path)
{
	struct buf b = { 0 };
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return kstrdup("");
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	return keep(b.ptr != NULL ? b.ptr : xstrdup(""), free);
}

/* The line whose request_id is reqid, parsed with yajl (kept). */
static yajl_val
audit_line(const char *path, const char *reqid)
{
	char *all = read_all(path), *p, *e, *needle;
	yajl_val v;
	char err[128];

	needle = strf("\"request_id\":\"%s\"", reqid);
	p = strstr(all, needle);
	ck_assert_msg(p != NULL, "no audit line for %s in %s", reqid, path);
	ck_assert_msg(strstr(p + 1, needle) == NULL, "two lines for %s",
	    reqid);
	while (p > all && p[-1] != '\n')
		p--;
	e = strchr(p, '\n');
	ck_assert_ptr_nonnull(e);
	*e = '\0';
	v = yajl_tree_parse(p, err, sizeof(err));
	ck_assert_msg(v != NULL, "not JSON: %s: %s", err, p);
	return keep(v, release_json);
}

static const char *
field(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val f = yajl_tree_get(v, path, yajl_t_any);

	if (f == NULL)
		return NULL;
	if (YAJL_IS_INTEGER(f))
		return strf("%lld", YAJL_GET_INTEGER(f));
	ck_assert_msg(YAJL_IS_STRING(f), "%s is neither string nor integer",
	    key);
	return f->u.string;
}

/* The jti claim of a compact JWS (not verified). */
static char *
jti_of(const char *token)
{
	const char *p = strchr(token, '.') + 1, *e = strchr(p, '.');
	unsigned char raw[1024];
	const char *path[] = { "jti", NULL };
	yajl_val v, j;
	long n;

	ck_assert((size_t)(e - p) < sizeof(raw));
	n = jws_b64_decode(p, (size_t)(e - p), raw);
	ck_assert_int_ge(n, 0);
	raw[n] = '\0';
	v = keep(yajl_tree_parse((char *)raw, NULL, 0), release_json);
	j = yajl_tree_get(v, path, yajl_t_string);
	ck_assert_ptr_nonnull(j);
	return j->u.string;
}

static bool
rfc3339_ms(const char *ts)
{
	int y, mo, d, h, mi, s, ms, n = 0;

	return ts != NULL && strlen(ts) == 24 &&
	    sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi,
	    &s, &ms, &n) == 7 && n == 24;
}

/* Every line of the files is one JSON object (Python's json). */
static char *
jsonl_check(const char *files)
{
	int st;
	char *out = run_out(strf("%s %s/jsonl.py %s", py, helpers, files),
	    &st);

	ck_assert_msg(st == 0, "audit lines are not all JSON objects (%s)",
	    files);
	return out;
}

START_TEST(audit_fields)
{
	char *tok, *rid = strf("aud-%ld-%lld", (long)getpid(), now());
	yajl_val v;
	int st;

	tok = issue(url_a, "", "\"alice@example.test\"", strf("%s-i", rid),
	    &st);
	ck_assert_int_eq(st, 201);
	v = audit_line(audit_a, strf("%s-i", rid));
	ck_assert(rfc3339_ms(field(v, "ts")));
	ck_assert_str_eq(field(v, "event"), "issue");
	ck_assert_str_eq(field(v, "status"), "201");
	ck_assert_str_eq(field(v, "media"), MEDIA);
	ck_assert_str_eq(field(v, "tenant"), TENANT);
	ck_assert_str_eq(field(v, "sub"), "alice@example.test");
	ck_assert_str_eq(field(v, "client"), "127.0.0.1");
	ck_assert_str_eq(field(v, "jti"), jti_of(tok));
	ck_assert_ptr_null(field(v, "range"));

	/* Served, with a Range: the token's jti. */
	ck_assert_int_eq(download(url_a, "", tok, "bytes=0-9",
	    strf("%s-d", rid)), 206);
	v = audit_line(audit_a, strf("%s-d", rid));
	ck_assert(rfc3339_ms(field(v, "ts")));
	ck_assert_str_eq(field(v, "event"), "download");
	ck_assert_str_eq(field(v, "status"), "200");
	ck_assert_str_eq(field(v, "media"), MEDIA);
	ck_assert_str_eq(field(v, "tenant"), TENANT);
	ck_assert_str_eq(field(v, "jti"), jti_of(tok));
	ck_assert_str_eq(field(v, "client"), "127.0.0.1");
	ck_assert_str_eq(field(v, "range"), "bytes=0-9");
	ck_assert_ptr_null(field(v, "sub"));

	/* Refused at the token check: a line too, without jti. */
	ck_assert_int_eq(download(url_a, "", tamper(tok, 2), NULL,
	    strf("%s-f", rid)), 403);
	v = audit_line(audit_a, strf("%s-f", rid));
	ck_assert_str_eq(field(v, "status"), "403");
	ck_assert_ptr_null(field(v, "jti"));
	ck_assert_ptr_null(field(v, "tenant"));

	/* Issue refused (no permission): no line. */
	ck_assert_int_eq(send_request(url_a, "issue 401", "POST",
	    "/media/" MEDIA "/download-token", header_lines("X-Request-Id",
	    strf("%s-n", rid), "Content-Length", "0"), NULL, 0)->status, 401);
	ck_assert_ptr_null(strstr(read_all(audit_a), strf("%s-n", rid)));
	jsonl_check(audit_a);
}
END_TEST

START_TEST(audit_hostile)
{
	/* JSON-escaped in the bearer: quote, backslash, newline, U+0001,
	 * non-ASCII; the raw header values: quotes, backslashes, bytes
	 * that are not UTF-8. */
	const char *sub = "\"q\\\"b\\\\n\\nl\\u0001 caf\\u00e9 \\ud83d\\ude00\"";
	const char *range = "bytes=\"0\\-1\xff\xfe\xc3(\xe2\x82 \xf0\x9f\x98\x80";
	char *rid = strf("hx-%ld-%lld", (long)getpid(), now()), *tok, *all;
	struct http_response *r;
	size_t before, lines = 0;
	int st;

	before = strlen(read_all(audit_a));
	tok = issue(url_a, "", sub, strf("%s-i", rid), &st);
	ck_assert_int_eq(st, 201);
	ck_assert_str_eq(field(audit_line(audit_a, strf("%s-i", rid)),
	    "sub"), "q\"b\\n\nl\x01 caf\xc3\xa9 \xf0\x9f\x98\x80");
	(void)download(url_a, "", tok, range, strf("%s-d", rid));
	/* A hostile X-Request-Id is replaced by a generated one. */
	r = send_request(url_a, "hostile id", "GET", strf("/media/" MEDIA
	    "/download/%s", tok), header_lines("X-Request-Id",
	    "\"x\\\xff\xc3", "Range", range), NULL, 0);
	/* lighttpd answers the range itself (206 or 416). */
	ck_assert_msg(r->status == 206 || r->status == 416, "status %d",
	    r->status);
	/* The range is kept, invalid bytes as U+FFFD. */
	ck_assert_ptr_nonnull(strstr(field(audit_line(audit_a,
	    strf("%s-d", rid)), "range"), "bytes=\"0\\-1\xef\xbf\xbd"));
	all = read_all(audit_a) + before;
	for (; *all != '\0'; all++)
		lines += *all == '\n';
	ck_assert_uint_eq(lines, 3);
	jsonl_check(audit_a);
}
END_TEST

/* Count the lines of jsonl.py's output whose request_id starts so. */
static int
count_ids(const char *out, const char *prefix, const char *want_event)
{
	const char *p;
	int n = 0;

	for (p = out; (p = strstr(p, prefix)) != NULL; p++)
		if ((p == out || p[-1] == '\n') &&
		    strncmp(strchr(p, '\t') + 1, want_event,
		    strlen(want_event)) == 0)
			n++;
	return n;
}

START_TEST(audit_concurrent_rotation)
{
	char *rid = strf("cc%ld", (long)getpid()), *tok, *out, *rotated;
	pid_t kids[CONC_PROCS];
	int i, j, st, bad = 0;
	struct stat sb;
	double t0;

	tok = issue(url_a, "", NULL, NULL, &st);
	ck_assert_int_eq(st, 201);
	rotated = strf("%s.1", audit_a);
	unlink(rotated);
	for (i = 0; i < CONC_PROCS; i++) {
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			for (j = 0; j < CONC_EACH; j++) {
				char id[64];

				snprintf(id, sizeof(id), "%s-%d-%d", rid, i, j);
				if (j % 2 == 0)
					(void)issue(url_a, "", "\"c\"", id,
					    &st);
				else
					st = download(url_a, "", tok, NULL,
					    id) == 200 ? 201 : 0;
				if (st != 201)
					_exit(1);
			}
			release_kept();
			_exit(0);
		}
	}
	/* logrotate's "create" while they run: rename, then a new file. */
	for (t0 = mono(); mono() - t0 < 60; usleep(5000)) {
		const char *p = read_all(audit_a), *needle;
		int n = 0;

		needle = strf("\"request_id\":\"%s-", rid);
		while ((p = strstr(p, needle)) != NULL && n < 40) {
			n++;
			p++;
		}
		if (n >= 40)
			break;
	}
	ck_assert_int_eq(rename(audit_a, rotated), 0);
	ck_assert_int_eq(close(open(audit_a, O_WRONLY | O_CREAT | O_EXCL,
	    0640)), 0);
	for (i = 0; i < CONC_PROCS; i++) {
		ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	ck_assert_msg(bad == 0, "%d clients saw an unexpected answer", bad);
	ck_assert_int_eq(stat(audit_a, &sb), 0);
	ck_assert_msg(sb.st_size > 0, "nothing written after the rotation");

	/* One whole line per request, across both files. */
	out = jsonl_check(strf("%s %s", rotated, audit_a));
	for (i = 0; i < CONC_PROCS; i++)
		for (j = 0; j < CONC_EACH; j++) {
			char *id = strf("%s-%d-%d\t", rid, i, j);

			ck_assert_msg(count_ids(out, id, j % 2 == 0 ?
			    "issue\t201" : "download\t200") == 1,
			    "request %s: %d lines", id, count_ids(out, id, ""));
		}
	ck_assert_int_eq(count_ids(out, rid, ""), CONC_PROCS * CONC_EACH);
}
END_TEST

START_TEST(audit_unwritable)
{
	char *tok, *moved = strf("%s.away", audit_u);
	struct http_response *r;
	int st, i;

	tok = issue(url_u, "", NULL, NULL, &st);
	ck_assert_int_eq(st, 201);
	/* A directory where the log was: nothing can be written there. */
	ck_assert_int_eq(rename(audit_u, moved), 0);
	ck_assert_int_eq(mkdir(audit_u, 0700), 0);
	for (i = 0; i < 4; i++) {
		r = send_request(url_u, "issue, log unwritable", "POST",
		    "/media/" MEDIA "/download-token", header_lines(
		    "Authorization", strf("Bearer %s", bearer_for(NULL)),
		    "Content-Length", "0"), NULL, 0);
		ck_assert_int_eq(r->status, 503);
		ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
		ck_assert_ptr_null(strstr(r->body, "token\""));
		ck_assert_ptr_null(strstr(r->body, audit_u));
		ck_assert_ptr_null(strstr(r->body, "audit"));
		r = send_request(url_u, "download, log unwritable", "GET",
		    strf("/media/" MEDIA "/download/%s", tok), NULL, NULL, 0);
		ck_assert_int_eq(r->status, 503);
		ck_assert_ptr_null(http_header(r, "X-Sendfile"));
		ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
	}
	/* Writable again: back without a restart. */
	ck_assert_int_eq(rmdir(audit_u), 0);
	for (i = 0; i < 4; i++) {
		(void)issue(url_u, "", NULL, NULL, &st);
		ck_assert_int_eq(st, 201);
		ck_assert_int_eq(download(url_u, "", tok, NULL, NULL), 200);
	}
	jsonl_check(audit_u);
}
END_TEST

void
ops_audit_tcase(Suite *s)
{
	TCase *a = tcase_kept("audit", 240);

	tcase_add_test(a, audit_fields);
	tcase_add_test(a, audit_hostile);
	tcase_add_test(a, audit_concurrent_rotation);
	tcase_add_test(a, audit_unwritable);
	suite_add_tcase(s, a);
}
