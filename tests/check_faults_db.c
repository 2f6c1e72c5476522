/*
 * check_faults_db.c — §6's 503 when the database is unreachable: quickly,
 * with Retry-After, without the database's message, as an HTML page for
 * clients that prefer one; and recovery without a restart, under a steady
 * stream of requests, once PostgreSQL is back.  Stops and starts the
 * test cluster (MG_TEST_PG_STOP, MG_TEST_PG_START), always leaving it
 * running, so the other programs may run before or after this one.
 */
#include "autoconfig.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "blackbox.h"

#define D_UNAVAIL	"The media database is unavailable; retry shortly."

START_TEST(fault_database_outage)
{
	struct http_response *r;
	long long t0;
	char *jwt = good_bearer(P_HS);
	int i;

	issue_ok(P_HS, "m-pdf");
	run_script("MG_TEST_PG_STOP");
	for (i = 0; i < 4; i++) {
		t0 = ms_now();
		r = post_bearer(P_HS, ISSUE_M_PDF, jwt, NULL);
		ck_assert_msg(ms_now() - t0 < scaled_ms(3000),
		    "503 took %lld ms", ms_now() - t0);
		expect_problem(r, 503, D_UNAVAIL, jwt);
		ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
		expect_no_secrets(r, jwt);
	}
	/* HTML clients get the page form of the same error. */
	r = post_bearer(P_HS, ISSUE_M_PDF, jwt, "text/html");
	expect_html(r, 503, jwt);
	ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
	run_script("MG_TEST_PG_START");
	for (i = 0; i < 4; i++)
		issue_ok(P_HS, "m-pdf");
}
END_TEST

/*
 * A client in a child process that sends issuing requests one after
 * another until told to stop (its stop pipe reaches EOF); each answer
 * comes back over a pipe as a struct sample, which the test reads as it
 * waits for the events it needs (the first 201, the first 503 …).
 */
struct sample {
	long long	at;		/* ms_now() when the answer came */
	long long	took;		/* ms the request took */
	int		status;		/* HTTP status, or -1 if none */
};

struct stream {
	pid_t		 child;
	int		 samples;	/* read end */
	int		 stop;		/* write end; closed to stop */
	struct sample	*v;
	size_t		 n;
};

static void
stream_run(const struct pool *p, int out, int stop)
{
	struct pollfd pfd = { .fd = stop, .events = POLLIN };

	/* 20 ms between requests, or the stop. */
	while (poll(&pfd, 1, 20) == 0) {
		const char *h[] = { strf("Authorization: Bearer %s",
		    good_bearer(p)), NULL };
		struct http_response r;
		struct sample s;

		s.took = ms_now();
		s.status = http_request(p->url, "POST", ISSUE_M_PDF, h, NULL,
		    0, &r) == 0 ? r.status : -1;
		http_response_free(&r);
		s.at = ms_now();
		s.took = s.at - s.took;
		if (write(out, &s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(1);
		release_kept();
	}
	_exit(0);
}

static void
stream_start(struct stream *st, const struct pool *p)
{
	int out[2], stop[2];

	memset(st, 0, sizeof(*st));
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(stop), 0);
	st->child = fork();
	ck_assert_int_ge(st->child, 0);
	if (st->child == 0) {
		close(out[0]);
		close(stop[1]);
		stream_run(p, out[1], stop[0]);
	}
	close(out[1]);
	close(stop[0]);
	st->samples = out[0];
	st->stop = stop[1];
}

/* Read the next sample; false at the end of the stream. */
static bool
stream_next(struct stream *st)
{
	struct sample s;

	if (read(st->samples, &s, sizeof(s)) != (ssize_t)sizeof(s))
		return false;
	st->v = realloc(st->v, (st->n + 1) * sizeof(*st->v));
	ck_assert_ptr_nonnull(st->v);
	st->v[st->n++] = s;
	return true;
}

/* Read samples until one has status (and was sent after since, in ms),
 * for 15 s at most (scaled). */
static void
stream_wait(struct stream *st, int status, long long since)
{
	struct pollfd pfd = { .fd = st->samples, .events = POLLIN };
	long long end = ms_now() + scaled_ms(15000);

	while (ms_now() < end) {
		if (poll(&pfd, 1, (int)(end - ms_now())) != 1)
			break;
		if (!stream_next(st))
			ck_abort_msg("the client stopped before a %d", status);
		if (st->v[st->n - 1].status == status &&
		    st->v[st->n - 1].at - st->v[st->n - 1].took >= since)
			return;
	}
	ck_abort_msg("no %d within %lld ms (%zu answers, the last %d)",
	    status, scaled_ms(15000), st->n,
	    st->n > 0 ? st->v[st->n - 1].status : 0);
}

static void
stream_stop(struct stream *st)
{
	int status;

	close(st->stop);
	while (stream_next(st))
		;
	close(st->samples);
	keep(st->v, free);
	ck_assert_int_eq(waitpid(st->child, &status, 0), st->child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the client process failed");
}

/*
 * The outage rules over a stream of answers, unconditionally: every
 * answer is 201 or 503 and comes within 2.5 s; there were 201s before
 * the outage (down_at) and 503s during it; 201s are back within two
 * seconds of the database accepting connections again (up_at).
 */
static void
expect_outage_survived(const struct stream *st, long long down_at,
    long long up_at)
{
	size_t i, before = 0, n503 = 0;
	long long first_after = -1;

	ck_assert_msg(st->n > 10, "only %zu answers", st->n);
	for (i = 0; i < st->n; i++) {
		const struct sample *s = &st->v[i];

		ck_assert_msg(s->status == 201 || s->status == 503,
		    "answer %zu at %+lld ms: status %d", i, s->at - down_at,
		    s->status);
		ck_assert_msg(s->took < scaled_ms(2500),
		    "answer %zu took %lld ms", i, s->took);
		if (s->status == 201 && s->at <= down_at)
			before++;
		if (s->status == 503)
			n503++;
		if (s->status == 201 && s->at - s->took >= up_at &&
		    first_after < 0)
			first_after = s->at;
	}
	ck_assert_msg(before > 0, "no 201 before the outage (first answer %d "
	    "at %+lld ms)", st->v[0].status, st->v[0].at - down_at);
	ck_assert_msg(n503 > 0, "no 503 during the outage");
	ck_assert_msg(first_after >= 0, "no 201 after the database came back");
	ck_assert_msg(first_after - up_at <= scaled_ms(2000), "201s resumed "
	    "%lld ms after the database came back", first_after - up_at);
	ck_assert_msg(st->v[st->n - 1].status == 201,
	    "the last answer was not 201");
}

static void
expect_pool_alive(const pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		ck_assert_msg(proc_alive(pids[i]), "responder %ld died",
		    (long)pids[i]);
}

/*
 * One outage under a steady stream to the HS pool's four responders: a
 * fast stop (every responder's connection is cut), then a start once the
 * stream has seen a 503 and at least ms have passed, so that the outage
 * rules are always exercised, however quick the restart would have been.
 */
static void
outage_under_stream(long long ms)
{
	pid_t pids[8];
	int n = pool_pids(P_HS, pids, 8);
	long long down_at, up_at, left;
	struct stream st;

	ck_assert_int_eq(n, 4);
	stream_start(&st, P_HS);
	stream_wait(&st, 201, 0);
	down_at = ms_now();
	run_script("MG_TEST_PG_STOP");
	stream_wait(&st, 503, down_at);
	if ((left = down_at + ms - ms_now()) > 0)
		usleep((useconds_t)(left * 1000));
	run_script("MG_TEST_PG_START");
	up_at = ms_now();
	stream_wait(&st, 201, up_at);
	stream_stop(&st);
	expect_outage_survived(&st, down_at, up_at);
	expect_pool_alive(pids, n);
}

/* pg_ctl stop -m fast and start again as soon as requests see it. */
START_TEST(fault_database_restart_stream)
{
	outage_under_stream(0);
}
END_TEST

/* The database stopped for ten seconds: 503s all along, quickly, then
 * 201s again. */
START_TEST(fault_database_down_10s)
{
	outage_under_stream(10000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A schema change under load */

#define LOAD_CLIENTS	4
#define LOAD_REQUESTS	150

/* How often the HS responders logged that they prepared again. */
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

/* One client: LOAD_REQUESTS issue requests (each a lookup); it writes a
 * byte to up when warmed up and half way, then its failures to done. */
static void
load_client(const char *jwt, int up, int done)
{
	struct http_response r;
	int i, bad = 0;

	for (i = 0; i < LOAD_REQUESTS; i++) {
		memset(&r, 0, sizeof(r));
		if (http_request(P_HS->url, "POST", ISSUE_M_PDF,
		    header_lines("Authorization", strf("Bearer %s", jwt), NULL,
		    NULL), NULL, 0, &r) != 0 || r.status != 201) {
			bad++;
			fprintf(stderr, "column change: request %d: %d "
			    "%.200s\n", i, r.status, r.body != NULL ? r.body :
			    r.error);
		}
		http_response_free(&r);
		if (i == 10 || i == LOAD_REQUESTS / 2)
			(void)!write(up, "x", 1);
	}
	(void)!write(done, &bad, sizeof(bad));
	_exit(0);
}

/*
 * The platform migrates its schema while mediagate runs: ALTER TABLE media
 * ALTER COLUMN mime_type TYPE varchar(255), and back to text, while four
 * clients send issue requests over the four HS responders.  Each change
 * invalidates every responder's prepared statement ("cached plan must not
 * change result type", 0A000); each prepares it again and retries once,
 * on the same connection, so no request fails.
 */
START_TEST(fault_column_type_change)
{
	int up[2], done[2], k, bad, fails = 0, st, before, after;
	const char *jwt = good_bearer(P_HS);
	pid_t pid[LOAD_CLIENTS];
	char byte;

	before = reprepares();
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(done), 0);
	for (k = 0; k < LOAD_CLIENTS; k++) {
		if ((pid[k] = fork()) == 0) {
			close(up[0]);
			close(done[0]);
			load_client(jwt, up[1], done[1]);
		}
		ck_assert_int_gt(pid[k], 0);
	}
	close(up[1]);
	close(done[1]);
	/* Each change once every client has had answers before it. */
	for (k = 0; k < LOAD_CLIENTS; k++)
		ck_assert_int_eq(read(up[0], &byte, 1), 1);
	db_exec("ALTER TABLE media ALTER COLUMN mime_type TYPE varchar(255)");
	for (k = 0; k < LOAD_CLIENTS; k++)
		ck_assert_int_eq(read(up[0], &byte, 1), 1);
	db_exec("ALTER TABLE media ALTER COLUMN mime_type TYPE text");
	for (k = 0; k < LOAD_CLIENTS; k++) {
		ck_assert_int_eq(read(done[0], &bad, sizeof(bad)),
		    sizeof(bad));
		fails += bad;
		ck_assert_int_eq(waitpid(pid[k], &st, 0), pid[k]);
	}
	close(up[0]);
	close(done[0]);
	after = reprepares();
	fprintf(stderr, "column type change under load: %d of %d requests "
	    "failed; the responders prepared again %d times\n", fails,
	    LOAD_CLIENTS * LOAD_REQUESTS, after - before);
	ck_assert_msg(fails == 0, "%d of %d requests failed", fails,
	    LOAD_CLIENTS * LOAD_REQUESTS);
	ck_assert_msg(after > before, "no responder prepared again");
}
END_TEST

/* Whatever a test left, the cluster runs for the next test. */
static void
pg_running(void)
{
	run_script("MG_TEST_PG_START");
}

/*
 * The same once the test case is over, in the runner itself: in fork mode
 * a checked teardown does not run after a failed assertion, so without
 * this a test that failed while the database was down would leave it down
 * for the programs after this one.  No ck_assert here (outside a test it
 * would end the runner).
 */
static void
pg_running_after(void)
{
	const char *cmd = getenv("MG_TEST_PG_START");

	if (cmd == NULL || *cmd == '\0' || system(cmd) != 0)
		fprintf(stderr, "check_faults_db: MG_TEST_PG_START failed: the "
		    "database may be down for the programs after this one\n");
}

static Suite *
faults_db_suite(void)
{
	Suite *s = suite_create("faults-db");
	TCase *tc = bb_tcase("database");

	tcase_set_timeout(tc, (int)(60 * time_scale()));
	tcase_add_checked_fixture(tc, NULL, pg_running);
	tcase_add_unchecked_fixture(tc, NULL, pg_running_after);
	tcase_add_test(tc, fault_database_outage);
	tcase_add_test(tc, fault_database_restart_stream);
	tcase_add_test(tc, fault_database_down_10s);
	tcase_add_test(tc, fault_column_type_change);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_faults_db", 1u << HS, faults_db_suite);
}
