/*
 * ops_metrics.c — check_ops' /metrics tests (§7.2): exact sums over the
 * responders of a pool, read with prometheus_client; promtool; access
 * rules; counts kept across a SIGKILL.  See check_ops.c.
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
	/* HS256 bearers are not cached: the counters are there, at 0. */
	ck_assert_ptr_nonnull(strstr(a1.samples, "\nmediagate_signature_"
	    "cache_lookups_total{result=\"hit\"} 0.0\n"));
	ck_assert_ptr_nonnull(strstr(a1.samples, "\nmediagate_signature_"
	    "cache_lookups_total{result=\"miss\"} 0.0\n"));
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

void
ops_metrics_tcase(Suite *s)
{
	TCase *m = tcase_kept("metrics", 120);

	tcase_add_test(m, metrics_exact);
	tcase_add_test(m, metrics_access);
	tcase_add_test(m, metrics_promtool);
	tcase_add_test(m, metrics_survive_sigkill);
	suite_add_tcase(s, m);
}
