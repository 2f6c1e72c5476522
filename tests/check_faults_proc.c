/*
 * check_faults_proc.c — the responder processes (§1): clients that go
 * away mid-request cost nothing; SIGTERM lets a busy responder finish the
 * request in hand and ends an idle one at once; SIGUSR1 (mod_fcgid's
 * graceful stop) ends an idle one.  The signal tests end the responders
 * of pools started for them alone (TERM, USR1), so nothing else depends
 * on the order the programs run in.  Every wait is on an event: a
 * backend waiting on the lock (pg_locks), a process in accept(2)
 * (/proc/PID/syscall), a process gone.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "blackbox.h"

/* Every responder of the pool idle in accept(2) (5 s at most each). */
static void
wait_all_idle(const pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		proc_wait_accept(pids[i], 5000);
}

/*
 * Clients that go away mid-request or mid-response (the responder then
 * writes into a closed connection: EPIPE) cost nothing: the same
 * processes keep answering.
 */
START_TEST(fault_client_aborts)
{
	pid_t pids[8];
	int n, i, k, s;
	char *jwt = good_bearer(P_HS);
	const char *req = strf("POST " ISSUE_M_PDF " HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	    "Content-Length: 0\r\n\r\n", jwt);
	const char *big = strf("POST " ISSUE_M_PDF " HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	    "Content-Length: 60000\r\n\r\n{\"a\":\"", jwt);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *port = strrchr(P_HS->origin, ':') + 1;

	n = pool_pids(P_HS, pids, 8);
	sa.sin_port = htons((uint16_t)atoi(port));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (k = 0; k < 60; k++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(s, 0);
		ck_assert_int_eq(connect(s, (struct sockaddr *)&sa,
		    sizeof(sa)), 0);
		/* Whole request then gone; half a body then gone; gone
		 * with unread data (RST). */
		if (k % 3 == 2) {
			struct linger l = { 1, 0 };

			setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		if (k % 3 == 1)
			(void)!write(s, big, strlen(big));
		else
			(void)!write(s, req, strlen(req));
		if (k % 2 == 0)
			usleep(2000);	/* gone after the answer began */
		close(s);
	}
	/* Back in accept(2): done with what they were given, or gone. */
	wait_all_idle(pids, n);
	for (i = 0; i < 8; i++)
		issue_ok(P_HS, "m-pdf");
	wait_all_idle(pids, n);
}
END_TEST

/*
 * SIGTERM lets a busy responder finish the request in hand and makes an
 * idle one exit at once.  The request is held in the database by a lock
 * on the media table, so that it is in flight when the signal comes.
 */
START_TEST(fault_sigterm_graceful)
{
	pid_t pids[8], child;
	PGconn *c;
	int n, i, status, busy = -1, idle = -1;
	char *jwt = good_bearer(P_TERM);
	long long end;

	n = pool_pids(P_TERM, pids, 8);
	ck_assert_int_eq(n, 2);
	wait_all_idle(pids, n);

	c = db_open();
	db_check(c, PQexec(c, "BEGIN"), "BEGIN");
	db_check(c, PQexec(c, "LOCK TABLE media IN ACCESS EXCLUSIVE MODE"),
	    "LOCK");
	if ((child = fork()) == 0) {
		struct http_response r;
		const char *h[] = { strf("Authorization: Bearer %s", jwt),
		    NULL };
		int rc = http_request(P_TERM->url, "POST", ISSUE_M_PDF, h,
		    NULL, 0, &r);

		_exit(rc == 0 && r.status == 201 ? 0 : 1);
	}
	ck_assert_int_gt(child, 0);
	/* The request now waits on the lock, in one responder; the other
	 * one sits in accept(2). */
	db_wait_lock_waiter(c, 5000);
	end = ms_now() + scaled_ms(5000);
	while (busy < 0) {
		for (i = 0; i < n; i++)
			if (!proc_in_accept(pids[i]))
				busy = i;
		ck_assert_msg(ms_now() < end, "no responder left accept()");
		if (busy < 0)
			usleep(10000);
	}
	idle = 1 - busy;
	proc_wait_accept(pids[idle], 5000);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(kill(pids[i], SIGTERM), 0);
	ck_assert_msg(proc_gone_within(pids[idle], scaled_ms(1000)),
	    "the idle responder did not exit within 1 s of SIGTERM");
	ck_assert_msg(proc_alive(pids[busy]),
	    "the busy responder exited before finishing its request");
	db_check(c, PQexec(c, "COMMIT"), "COMMIT");
	PQfinish(c);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the request in flight at SIGTERM did not get 201");
	ck_assert_msg(proc_gone_within(pids[busy], scaled_ms(1000)),
	    "the busy responder did not exit after its request");
}
END_TEST

/* SIGUSR1 (mod_fcgid's graceful stop) ends an idle responder at once;
 * the rest of the pool keeps serving. */
START_TEST(fault_sigusr1_idle)
{
	pid_t pids[8];
	int n;

	n = pool_pids(P_USR1, pids, 8);
	ck_assert_int_eq(n, 2);
	proc_wait_accept(pids[0], 5000);
	ck_assert_int_eq(kill(pids[0], SIGUSR1), 0);
	ck_assert_msg(proc_gone_within(pids[0], scaled_ms(1000)),
	    "an idle responder did not exit within 1 s of SIGUSR1");
	ck_assert(proc_alive(pids[1]));
	issue_ok(P_USR1, "m-pdf");
	issue_ok(P_USR1, "m-pdf");
}
END_TEST

static Suite *
faults_proc_suite(void)
{
	Suite *s = suite_create("faults-proc");
	TCase *tc = bb_tcase("processes");

	tcase_add_test(tc, fault_client_aborts);
	tcase_add_test(tc, fault_sigterm_graceful);
	tcase_add_test(tc, fault_sigusr1_idle);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_faults_proc", 1u << HS | 1u << TERM | 1u << USR1,
	    faults_proc_suite);
}
