/* unit_metrics.c — the counter file, the exposition and the allow list. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "unit_suites.h"

/* A fresh path in a fresh directory; the caller removes neither (the
 * test runs in its own forked process and /tmp is cleaned by the OS). */
static void
temp_path(char *out, size_t sz)
{
	char dir[] = "/tmp/mg-metrics-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, sz, "%s/counters", dir);
}

static void
snapshot(struct metrics_counts *c, unsigned *resp)
{
	ck_assert_int_eq(metrics_snapshot(c, resp), 0);
}

/* A child that attaches, counts n issue/201 requests, reports ready on
 * fd w and then waits for a signal. */
static pid_t
child_counting(const char *path, int n, bool stay)
{
	int p[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256];
		int i;

		close(p[0]);
		metrics_detach();
		if (metrics_attach(path, err, sizeof(err)) != 0)
			_exit(2);
		for (i = 0; i < n; i++)
			metrics_request(METRICS_OP_ISSUE, 201, 1000);
		(void)!write(p[1], "r", 1);
		if (stay)
			pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

START_TEST(file_sums_processes)
{
	struct metrics_counts c;
	char path[256], err[256];
	unsigned resp;
	pid_t a, b;
	int st, issue201 = metrics_status_index(201);

	temp_path(path, sizeof(path));
	ck_assert_int_eq(metrics_attach(path, err, sizeof(err)), 0);
	metrics_request(METRICS_OP_ISSUE, 201, 1000);
	a = child_counting(path, 5, true);
	b = child_counting(path, 7, true);
	snapshot(&c, &resp);
	ck_assert_uint_eq(resp, 3);
	ck_assert_uint_eq(c.requests[METRICS_OP_ISSUE][issue201], 13);

	/* SIGKILL: the lock dies with the process, the counts stay. */
	kill(a, SIGKILL);
	ck_assert_int_eq(waitpid(a, &st, 0), a);
	snapshot(&c, &resp);
	ck_assert_uint_eq(resp, 2);
	ck_assert_uint_eq(c.requests[METRICS_OP_ISSUE][issue201], 13);

	/* A replacement takes the free slot over and adds to it. */
	a = child_counting(path, 2, true);
	snapshot(&c, &resp);
	ck_assert_uint_eq(resp, 3);
	ck_assert_uint_eq(c.requests[METRICS_OP_ISSUE][issue201], 15);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, &st, 0);
	waitpid(b, &st, 0);
	snapshot(&c, &resp);
	ck_assert_uint_eq(resp, 1);
	ck_assert_uint_eq(c.requests[METRICS_OP_ISSUE][issue201], 15);
	/* Only three slots were ever used: the replacement reused one. */
	metrics_detach();
}
END_TEST

START_TEST(file_reattach_keeps_counts)
{
	struct metrics_counts c;
	char path[256], err[256];
	unsigned resp;

	temp_path(path, sizeof(path));
	ck_assert_int_eq(metrics_attach(path, err, sizeof(err)), 0);
	metrics_db_connect(true);
	metrics_db_connect(false);
	metrics_key_reload(false);
	metrics_request(METRICS_OP_DOWNLOAD, 403, 3000000);
	metrics_detach();
	ck_assert_int_eq(metrics_snapshot(&c, &resp), -1);
	ck_assert_int_eq(metrics_attach(path, err, sizeof(err)), 0);
	snapshot(&c, &resp);
	ck_assert_uint_eq(resp, 1);
	ck_assert_uint_eq(c.db_connects[0], 1);
	ck_assert_uint_eq(c.db_connects[1], 1);
	ck_assert_uint_eq(c.key_reloads[1], 1);
	ck_assert_uint_eq(c.bucket[METRICS_OP_DOWNLOAD][3], 1);	/* le 0.005 */
	ck_assert_uint_eq(c.duration_ns[METRICS_OP_DOWNLOAD], 3000000);
	metrics_detach();
}
END_TEST

START_TEST(file_refuses_foreign)
{
	char path[256], err[256];
	int fd;

	temp_path(path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hello, world\n", 13), 13);
	close(fd);
	ck_assert_int_eq(metrics_attach(path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "MEDIAGATE_METRICS_FILE"));
	ck_assert(!metrics_attached());
	ck_assert_int_eq(metrics_attach("/nonexistent-dir/x", err,
	    sizeof(err)), -1);
	/* Off: the request path still works, into the private slot. */
	metrics_request(METRICS_OP_ISSUE, 201, 1);
}
END_TEST

START_TEST(buckets)
{
	struct metrics_counts c;
	char path[256], err[256];
	unsigned resp;

	temp_path(path, sizeof(path));
	ck_assert_int_eq(metrics_attach(path, err, sizeof(err)), 0);
	metrics_request(METRICS_OP_ISSUE, 201, 500000);	/* le 0.0005 */
	metrics_request(METRICS_OP_ISSUE, 201, 500001);	/* le 0.001 */
	metrics_request(METRICS_OP_ISSUE, 201, 9000000000ull);	/* +Inf */
	metrics_request(METRICS_OP_HEALTH, 200, 1);	/* no histogram */
	metrics_request(METRICS_OP_OTHER, 299, 1);	/* status other */
	metrics_sig_cache(3, 1);
	metrics_sig_cache(0, 2);
	snapshot(&c, &resp);
	ck_assert_uint_eq(c.sig_cache[0], 3);
	ck_assert_uint_eq(c.sig_cache[1], 3);
	ck_assert_uint_eq(c.bucket[METRICS_OP_ISSUE][0], 1);
	ck_assert_uint_eq(c.bucket[METRICS_OP_ISSUE][1], 1);
	ck_assert_uint_eq(c.bucket[METRICS_OP_ISSUE][METRICS_NBUCKETS], 1);
	ck_assert_uint_eq(c.requests[METRICS_OP_HEALTH]
	    [metrics_status_index(200)], 1);
	ck_assert_uint_eq(c.requests[METRICS_OP_OTHER][METRICS_NSTATUS - 1],
	    1);
	metrics_detach();
}
END_TEST

START_TEST(render_text)
{
	struct metrics_counts c;
	struct buf out = { 0 };
	const char *s;

	memset(&c, 0, sizeof(c));
	c.requests[METRICS_OP_ISSUE][metrics_status_index(201)] = 3;
	c.requests[METRICS_OP_DOWNLOAD][metrics_status_index(410)] = 1;
	c.bucket[METRICS_OP_ISSUE][0] = 1;
	c.bucket[METRICS_OP_ISSUE][2] = 1;
	c.bucket[METRICS_OP_ISSUE][METRICS_NBUCKETS] = 1;
	c.duration_ns[METRICS_OP_ISSUE] = 6001500000ull;
	c.db_connects[0] = 4;
	c.sig_cache[0] = 7;
	metrics_render(&c, 3, "1.2\"x\\", &out);
	s = buf_str(&out);
	ck_assert_ptr_nonnull(strstr(s, "# TYPE mediagate_requests_total "
	    "counter\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_requests_total{operation="
	    "\"issue\",status=\"201\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_requests_total{operation="
	    "\"download\",status=\"410\"} 1\n"));
	ck_assert_ptr_null(strstr(s, "status=\"200\""));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE mediagate_request_duration_"
	    "seconds histogram\n"));
	/* Cumulative buckets; +Inf equals _count. */
	ck_assert_ptr_nonnull(strstr(s, "_bucket{operation=\"issue\",le="
	    "\"0.0005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "_bucket{operation=\"issue\",le="
	    "\"0.001\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "_bucket{operation=\"issue\",le="
	    "\"0.0025\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "_bucket{operation=\"issue\",le="
	    "\"5\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "_bucket{operation=\"issue\",le="
	    "\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "_sum{operation=\"issue\"} "
	    "6.001500000\n"));
	ck_assert_ptr_nonnull(strstr(s, "_count{operation=\"issue\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "_count{operation=\"download\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_db_connects_total{result="
	    "\"ok\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_db_connects_total{result="
	    "\"failed\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_key_reloads_total{result="
	    "\"failed\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE mediagate_signature_cache_"
	    "lookups_total counter\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_signature_cache_lookups_"
	    "total{result=\"hit\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_signature_cache_lookups_"
	    "total{result=\"miss\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE mediagate_responders gauge\n"
	    "mediagate_responders 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nmediagate_build_info{version="
	    "\"1.2\\\"x\\\\\"} 1\n"));
	ck_assert(s[out.len - 1] == '\n');
	buf_free(&out);
}
END_TEST

static const struct {
	const char	*spec;
	bool		 ok;
} allow_specs[] = {
	{ "127.0.0.1,::1", true },
	{ " 10.0.0.0/8 , 2001:db8::/32\t", true },
	{ "0.0.0.0/0", true },
	{ "::/0", true },
	{ "192.0.2.7/32,::ffff:0:0/96", true },
	{ "10.1.2.3/8", true },		/* host bits ignored */
	{ "", false },
	{ "127.0.0.1,", false },
	{ ",::1", false },
	{ "localhost", false },
	{ "127.0.0.1/33", false },
	{ "::1/129", false },
	{ "10.0.0.0/", false },
	{ "10.0.0.0/+8", false },
	{ "10.0.0.0/ 8", false },
	{ "10.0.0.0/0008", false },
	{ "10.0.0.0/8/8", false },
	{ "010.0.0.1", false },
	{ "fe80::1%eth0", false },
	{ "1.2.3", false },
	{ "::1 ::2", false },
};

START_TEST(allow_parse)
{
	struct metrics_allow a;
	char err[256] = "";
	int rc = metrics_allow_parse(allow_specs[_i].spec, &a, err,
	    sizeof(err));

	if (allow_specs[_i].ok)
		ck_assert_msg(rc == 0, "'%s' refused: %s",
		    allow_specs[_i].spec, err);
	else {
		ck_assert_msg(rc == -1, "'%s' accepted", allow_specs[_i].spec);
		ck_assert_ptr_nonnull(strstr(err, "MEDIAGATE_METRICS_ALLOW"));
	}
}
END_TEST

static const struct {
	const char	*spec, *addr;
	bool		 in;
} allow_cases[] = {
	{ METRICS_ALLOW_DEFAULT, "127.0.0.1", true },
	{ METRICS_ALLOW_DEFAULT, "::1", true },
	{ METRICS_ALLOW_DEFAULT, "::ffff:127.0.0.1", true },
	{ METRICS_ALLOW_DEFAULT, "127.0.0.2", false },
	{ METRICS_ALLOW_DEFAULT, "::2", false },
	{ METRICS_ALLOW_DEFAULT, "", false },
	{ METRICS_ALLOW_DEFAULT, "127.0.0.1 ", false },
	{ METRICS_ALLOW_DEFAULT, "localhost", false },
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "::ffff:10.9.9.9", true },
	{ "192.168.4.0/22", "192.168.7.255", true },
	{ "192.168.4.0/22", "192.168.8.0", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "127.0.0.1", "::ffff:127.0.0.2", false },
};

START_TEST(allow_match)
{
	struct metrics_allow a;
	char err[256];

	ck_assert_int_eq(metrics_allow_parse(allow_cases[_i].spec, &a, err,
	    sizeof(err)), 0);
	ck_assert_msg(metrics_allow_match(&a, allow_cases[_i].addr) ==
	    allow_cases[_i].in, "%s in %s: expected %d", allow_cases[_i].addr,
	    allow_cases[_i].spec, allow_cases[_i].in);
	ck_assert(!metrics_allow_match(&a, NULL));
}
END_TEST

static const char *const *ops_env;

static const char *
ops_get(const char *name)
{
	const char *const *p;

	for (p = ops_env; *p != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

START_TEST(config_ops)
{
	const char *none[] = { NULL };
	const char *all[] = {
		"MEDIAGATE_METRICS_FILE", "/run/mediagate/counters",
		"MEDIAGATE_METRICS_ALLOW", "10.0.0.0/8",
		"MEDIAGATE_AUDIT_LOG", "/var/log/mediagate/audit.log", NULL,
	};
	const char *empty[] = {
		"MEDIAGATE_METRICS_FILE", "", "MEDIAGATE_METRICS_ALLOW", "",
		"MEDIAGATE_AUDIT_LOG", "", NULL,
	};
	const char *rel[] = { "MEDIAGATE_AUDIT_LOG", "audit.log", NULL };
	const char *relm[] = { "MEDIAGATE_METRICS_FILE", "m", NULL };
	const char *badallow[] = { "MEDIAGATE_METRICS_ALLOW", "10/8", NULL };
	struct config cfg;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	ops_env = none;
	ck_assert_int_eq(config_parse_ops(&cfg, ops_get, err, 256), 0);
	ck_assert_ptr_null(cfg.metrics_file);
	ck_assert_ptr_null(cfg.audit_log);
	ck_assert(metrics_allow_match(&cfg.metrics_allow, "127.0.0.1"));
	ck_assert(metrics_allow_match(&cfg.metrics_allow, "::1"));
	ck_assert(!metrics_allow_match(&cfg.metrics_allow, "10.0.0.1"));
	ops_env = empty;
	ck_assert_int_eq(config_parse_ops(&cfg, ops_get, err, 256), 0);
	ck_assert_ptr_null(cfg.metrics_file);
	ck_assert(metrics_allow_match(&cfg.metrics_allow, "::1"));
	ops_env = all;
	ck_assert_int_eq(config_parse_ops(&cfg, ops_get, err, 256), 0);
	ck_assert_str_eq(cfg.metrics_file, "/run/mediagate/counters");
	ck_assert_str_eq(cfg.audit_log, "/var/log/mediagate/audit.log");
	ck_assert(metrics_allow_match(&cfg.metrics_allow, "10.0.0.1"));
	ck_assert(!metrics_allow_match(&cfg.metrics_allow, "127.0.0.1"));
	free(cfg.metrics_file);
	free(cfg.audit_log);
	ops_env = rel;
	ck_assert_int_eq(config_parse_ops(&cfg, ops_get, err, 256), -1);
	ck_assert_str_eq(err, "MEDIAGATE_AUDIT_LOG: 'audit.log' is not an "
	    "absolute path");
	ops_env = relm;
	ck_assert_int_eq(config_parse_ops(&cfg, ops_get, err, 256), -1);
	ck_assert_ptr_nonnull(strstr(err, "MEDIAGATE_METRICS_FILE"));
	ops_env = badallow;
	ck_assert_int_eq(config_parse_ops(&cfg, ops_get, err, 256), -1);
	ck_assert_str_eq(err, "MEDIAGATE_METRICS_ALLOW: '10/8' is not an IP "
	    "address");
}
END_TEST

Suite *
suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, file_sums_processes);
	tcase_add_test(tc, file_reattach_keeps_counts);
	tcase_add_test(tc, file_refuses_foreign);
	tcase_add_test(tc, buckets);
	tcase_add_test(tc, render_text);
	tcase_add_test(tc, config_ops);
	tcase_add_loop_test(tc, allow_parse, 0,
	    sizeof(allow_specs) / sizeof(allow_specs[0]));
	tcase_add_loop_test(tc, allow_match, 0,
	    sizeof(allow_cases) / sizeof(allow_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
