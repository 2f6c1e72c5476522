/*
 * check_ops.c — contract §7 on the real stack (tests/ops.sh starts it):
 * /healthz with the database up, down and back; /metrics summed over
 * every responder of a pool, read with Debian's Prometheus parser and
 * checked by promtool, across a SIGKILL; the audit log's fields, hostile
 * values, concurrency, rotation and an unwritable path.
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
#include "testlib.h"

#define MEDIA		"m-pdf"
#define TENANT		"acme"
#define CONC_PROCS	8	/* concurrent clients */
#define CONC_EACH	40	/* requests each: 320 in all */

static const char *url_a, *url_b, *url_deny, *url_u;
static const char *audit_a, *audit_u, *work, *py, *helpers;
static const char *children_a, *pids_b, *pg_stop, *pg_start;
static struct testkey bearer;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run a shell command; its stdout, kept. */
static char *
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
	return keep(xstrdup(buf_str(&b)), free);
	/* b's memory is released with the copy kept */
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* ------------------------------------------------------------------ */
/* Bearer tokens and the two operations */

static char *
bearer_for(const char *sub_json)
{
	return hs256(bearer.priv, bearer.priv_len, strf("{\"exp\":%lld,"
	    "\"permissions\":[\"media:read\"],\"tenant\":\"" TENANT "\"%s%s}",
	    now() + 600, sub_json != NULL ? ",\"sub\":" : "",
	    sub_json != NULL ? sub_json : ""));
}

/* POST download-token; the token of a 201 (kept), or NULL. */
static char *
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

static int
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

static int
get_status(const char *base, const char *path)
{
	return send_request(base, path, "GET", path, NULL, NULL, 0)->status;
}

/* ------------------------------------------------------------------ */
/* Scrapes, parsed by prometheus_client */

struct scrape {
	char	*text;		/* the exposition */
	char	*samples;	/* "name{labels} value\n"... from prom.py */
};

static struct scrape
scrape(const char *base, const char *prefix)
{
	struct http_response *r;
	struct scrape s;
	char *file, *cmd;
	int st;

	r = send_request(base, "metrics", "GET", strf("%s/metrics", prefix),
	    NULL, NULL, 0);
	ck_assert_msg(r->status == 200, "%s/metrics: %d %s", base, r->status,
	    r->body);
	expect_ctype(r, "text/plain");
	ck_assert_ptr_nonnull(strstr(http_header(r, "Content-Type"),
	    "version=0.0.4"));
	file = strf("%s/scrape.%ld.txt", work, (long)getpid());
	write_file(file, r->body, r->body_len);
	cmd = strf("%s %s/prom.py < %s", py, helpers, file);
	s.text = kstrdup(r->body);
	s.samples = run_out(cmd, &st);
	ck_assert_msg(st == 0, "prometheus_client refused the scrape:\n%s",
	    r->body);
	return s;
}

/* Value of a sample (labels sorted by name), 0 when absent. */
static double
val(const struct scrape *s, const char *key)
{
	const char *p = s->samples;
	size_t len = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if ((p == s->samples || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
		p += len;
	}
	return 0;
}

static double
req_count(const struct scrape *s, const char *op, const char *status)
{
	return val(s, strf("mediagate_requests_total{operation=\"%s\","
	    "status=\"%s\"}", op, status));
}

static double
hist_count(const struct scrape *s, const char *op)
{
	return val(s, strf("mediagate_request_duration_seconds_count"
	    "{operation=\"%s\"}", op));
}

#define EXPECT_DELTA(s0, s1, op, st, n) ck_assert_msg(			\
	req_count(&(s1), op, st) - req_count(&(s0), op, st) == (n),	\
	"requests_total{%s,%s} went from %g to %g, want +%d", op, st,	\
	req_count(&(s0), op, st), req_count(&(s1), op, st), (n))

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

/* ------------------------------------------------------------------ */
/* §7.2 metrics */

START_TEST(metrics_exact)
{
	struct scrape a0, a1, b0, b1;
	int i, st;
	char *tok;

	a0 = scrape(url_a, "");
	b0 = scrape(url_b, "/api");
	/* Known outcomes on a: 5 issued, 3 served, 2 forged, 1 health,
	 * 2 unknown paths. */
	for (i = 0; i < 5; i++) {
		tok = issue(url_a, "", NULL, NULL, &st);
		ck_assert_int_eq(st, 201);
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(download(url_a, "", tok, NULL, NULL), 200);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(download(url_a, "", tamper(tok, 2), NULL,
		    NULL), 403);
	ck_assert_int_eq(get_status(url_a, "/healthz"), 200);
	ck_assert_int_eq(get_status(url_a, "/nowhere"), 404);
	ck_assert_int_eq(get_status(url_a, "/media/x/y"), 404);
	/* And on b: 4 issued, 1 health. */
	for (i = 0; i < 4; i++) {
		(void)issue(url_b, "/api", NULL, NULL, &st);
		ck_assert_int_eq(st, 201);
	}
	ck_assert_int_eq(get_status(url_b, "/api/healthz"), 200);
	a1 = scrape(url_a, "");
	b1 = scrape(url_b, "/api");

	EXPECT_DELTA(a0, a1, "issue", "201", 5);
	EXPECT_DELTA(a0, a1, "download", "200", 3);
	EXPECT_DELTA(a0, a1, "download", "403", 2);
	EXPECT_DELTA(a0, a1, "health", "200", 1);
	EXPECT_DELTA(a0, a1, "other", "404", 2);
	EXPECT_DELTA(a0, a1, "metrics", "200", 1);	/* a0 itself */
	ck_assert_double_eq(hist_count(&a1, "issue") -
	    hist_count(&a0, "issue"), 5);
	ck_assert_double_eq(hist_count(&a1, "download") -
	    hist_count(&a0, "download"), 5);
	ck_assert_double_eq(val(&a1, "mediagate_request_duration_seconds_"
	    "bucket{le=\"+Inf\",operation=\"issue\"}"), hist_count(&a1,
	    "issue"));
	ck_assert(val(&a1, "mediagate_request_duration_seconds_sum"
	    "{operation=\"issue\"}") > val(&a0, "mediagate_request_duration_"
	    "seconds_sum{operation=\"issue\"}"));
	ck_assert_double_eq(val(&a1, "mediagate_responders{}"), 3);
	ck_assert(val(&a1, "mediagate_db_connects_total{result=\"ok\"}") >= 3);
	ck_assert_ptr_nonnull(strstr(a1.samples,
	    "mediagate_key_reloads_total{result=\"failed\"} "));
	ck_assert_double_eq(val(&a1, strf("mediagate_build_info{version=\""
	    PACKAGE_VERSION "\"}")), 1);

	/* b has its own file: a's traffic is not in it. */
	EXPECT_DELTA(b0, b1, "issue", "201", 4);
	EXPECT_DELTA(b0, b1, "health", "200", 1);
	EXPECT_DELTA(b0, b1, "download", "200", 0);
	EXPECT_DELTA(b0, b1, "other", "404", 0);
	ck_assert_double_eq(val(&b1, "mediagate_responders{}"), 2);
}
END_TEST

/* Every sample but the scrapes' own counter. */
static void
expect_same_counts(const struct scrape *s0, const struct scrape *s1)
{
	const char *p = s0->samples, *e;
	char *key;

	for (; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		key = strf("%.*s", (int)(strcspn(p, " ") < (size_t)(e - p) ?
		    strcspn(p, " ") : (size_t)(e - p)), p);
		if (strstr(key, "operation=\"metrics\"") != NULL ||
		    strncmp(key, "mediagate_responders", 20) == 0 ||
		    strncmp(key, "mediagate_db_connects", 21) == 0)
			continue;
		ck_assert_msg(val(s0, key) == val(s1, key), "%s went from %g "
		    "to %g", key, val(s0, key), val(s1, key));
	}
}

static char *
first_pid(const char *helper)
{
	int st;
	char *out = run_out(helper, &st);

	ck_assert_int_eq(st, 0);
	out[strcspn(out, "\n")] = '\0';
	ck_assert_msg(*out != '\0', "%s printed no pid", helper);
	return out;
}

START_TEST(metrics_survive_sigkill)
{
	struct scrape s0, s1, s2;
	char *victim, *pids;
	double t0;
	int st, n, i;

	/* a (multiwatch): a killed responder is replaced. */
	s0 = scrape(url_a, "");
	victim = first_pid(children_a);
	ck_assert_int_eq(kill(atoi(victim), SIGKILL), 0);
	for (t0 = mono(); mono() - t0 < 20; usleep(100000)) {
		pids = run_out(children_a, &st);
		for (n = 0, i = 0; pids[i] != '\0'; i++)
			n += pids[i] == '\n';
		if (n == 3 && strstr(pids, strf("%s\n", victim)) == NULL)
			break;
	}
	ck_assert_msg(n == 3, "multiwatch did not replace %s", victim);
	for (t0 = mono(); mono() - t0 < 20; usleep(100000)) {
		s1 = scrape(url_a, "");
		if (val(&s1, "mediagate_responders{}") == 3)
			break;
	}
	ck_assert_double_eq(val(&s1, "mediagate_responders{}"), 3);
	expect_same_counts(&s0, &s1);
	/* The replacement counts on from there. */
	(void)issue(url_a, "", NULL, NULL, &st);
	ck_assert_int_eq(st, 201);
	s2 = scrape(url_a, "");
	EXPECT_DELTA(s1, s2, "issue", "201", 1);

	/* b (spawn-fcgi, no supervisor): the gauge follows the processes. */
	s0 = scrape(url_b, "/api");
	ck_assert_double_eq(val(&s0, "mediagate_responders{}"), 2);
	victim = first_pid(pids_b);
	ck_assert_int_eq(kill(atoi(victim), SIGKILL), 0);
	for (t0 = mono(); mono() - t0 < 10; usleep(50000))
		if (kill(atoi(victim), 0) != 0)
			break;
	s1 = scrape(url_b, "/api");
	ck_assert_double_eq(val(&s1, "mediagate_responders{}"), 1);
	expect_same_counts(&s0, &s1);
}
END_TEST

START_TEST(metrics_access)
{
	struct http_response *r;

	/* lighttpd on 127.0.0.1 passes REMOTE_ADDR 127.0.0.1, which the
	 * deny pool's allow list leaves out. */
	r = send_request(url_deny, "metrics denied", "GET", "/metrics", NULL,
	    NULL, 0);
	ck_assert_int_eq(r->status, 403);
	ck_assert_ptr_null(strstr(r->body, "mediagate_"));
	ck_assert_int_eq(get_status(url_deny, "/healthz"), 200);
	/* Metrics off: no such resource. */
	ck_assert_int_eq(get_status(url_u, "/metrics"), 404);
	/* b serves them under its base path only. */
	ck_assert_int_eq(get_status(url_b, "/metrics"), 404);
}
END_TEST

START_TEST(metrics_promtool)
{
	struct scrape s;
	char *file, *out;
	int st;

	s = scrape(url_a, "");
	file = strf("%s/promtool.%ld.txt", work, (long)getpid());
	write_file(file, s.text, strlen(s.text));
	out = run_out(strf("promtool check metrics < %s 2>&1", file), &st);
	ck_assert_msg(st == 0 && *out == '\0', "promtool check metrics: %s",
	    out);
	ck_assert_ptr_nonnull(strstr(s.text, "# TYPE mediagate_request_"
	    "duration_seconds histogram\n"));
}
END_TEST

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
	return keep(xstrdup(buf_str(&b)), free);
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

static Suite *
ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *h = tcase_kept("health", 60);
	TCase *m = tcase_kept("metrics", 120);
	TCase *a = tcase_kept("audit", 240);
	TCase *o = tcase_kept("outage", 90);

	tcase_add_test(h, health_up);
	suite_add_tcase(s, h);
	tcase_add_test(m, metrics_exact);
	tcase_add_test(m, metrics_access);
	tcase_add_test(m, metrics_promtool);
	tcase_add_test(m, metrics_survive_sigkill);
	suite_add_tcase(s, m);
	tcase_add_test(a, audit_fields);
	tcase_add_test(a, audit_hostile);
	tcase_add_test(a, audit_concurrent_rotation);
	tcase_add_test(a, audit_unwritable);
	suite_add_tcase(s, a);
	/* Last: it stops the database. */
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
