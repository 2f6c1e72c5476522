/*
 * check_startup.c — the responder as an operator meets it: command line,
 * start-up checks (one clear line on stderr and exit 1 for a bad
 * setting), the listening socket on fd 0, SIGTERM when idle, and the
 * database role's privileges.
 *
 * Run by tests/integration.sh, which exports MG_BIN (the responder),
 * MG_TEST_KEYS, MG_TEST_WORK, MG_TEST_DB_APP (the responders' conninfo).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "proc.h"

static const char *bin, *keys, *work, *db_app;

struct run {
	int	 status;	/* exit status, or 128 + signal */
	char	 out[8192];	/* stdout */
	char	 err[8192];	/* stderr */
};

static char *
path(const char *dir, const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void
drain(int fd, char *dst, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap && (r = read(fd, dst + n, cap - n - 1)) > 0)
		n += (size_t)r;
	dst[n] = '\0';
	close(fd);
}

/*
 * Run the responder with exactly the environment env (NULL-terminated
 * "NAME=value" strings), argument arg (or none) and stdin from fd0 (or
 * /dev/null), and wait up to 15 s for it.
 */
static void
run(const char *arg, char *const *env, int fd0, struct run *r)
{
	int out[2], err[2], st;
	pid_t pid;

	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	if ((pid = fork()) == 0) {
		char *argv[] = { (char *)bin, (char *)arg, NULL };

		if (fd0 < 0)
			fd0 = open("/dev/null", O_RDONLY);
		dup2(fd0, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execve(bin, argv, env);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	drain(out[0], r->out, sizeof(r->out));
	drain(err[0], r->err, sizeof(r->err));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* An environment: the good settings, then the given overrides. */
static char **
env_with(const char *const *extra)
{
	static char kv[32][600];
	static char *env[33];
	const char *base[] = {
		"MEDIAGATE_DB", db_app,
		"MEDIAGATE_JWT_KEY_FILE", path(keys, "bearer-hs.key"),
		"MEDIAGATE_TOKEN_SECRET_FILE", path(keys, "token.key"),
		NULL,
	};
	int n = 0, i, j;

	/* Overrides first: an override of a base name replaces it. */
	for (i = 0; extra != NULL && extra[i] != NULL; i += 2)
		snprintf(kv[n], sizeof(kv[n]), "%s=%s", extra[i],
		    extra[i + 1]), env[n] = kv[n], n++;
	for (i = 0; base[i] != NULL; i += 2) {
		for (j = 0; extra != NULL && extra[j] != NULL; j += 2)
			if (strcmp(extra[j], base[i]) == 0)
				break;
		if (extra != NULL && extra[j] != NULL)
			continue;
		snprintf(kv[n], sizeof(kv[n]), "%s=%s", base[i], base[i + 1]);
		env[n] = kv[n];
		n++;
	}
	env[n] = NULL;
	return env;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

START_TEST(help_lists_every_variable)
{
	static const char *const vars[] = {
		"MEDIAGATE_DB", "MEDIAGATE_JWT_ALG", "MEDIAGATE_JWT_KEY_FILE",
		"MEDIAGATE_JWT_ISSUER", "MEDIAGATE_JWT_AUDIENCE",
		"MEDIAGATE_JWT_LEEWAY", "MEDIAGATE_TENANT_CLAIM",
		"MEDIAGATE_TOKEN_SECRET_FILE", "MEDIAGATE_TOKEN_TTL",
		"MEDIAGATE_PUBLIC_URL", "MEDIAGATE_BASE_PATH",
		"MEDIAGATE_STORAGE_ROOT", "MEDIAGATE_SENDFILE_HEADER",
	};
	char *empty[] = { NULL };
	struct run r;
	size_t i;

	run("--help", empty, -1, &r);
	ck_assert_int_eq(r.status, 0);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		ck_assert_msg(strstr(r.out, vars[i]) != NULL, "%s missing",
		    vars[i]);
	run("--version", empty, -1, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strncmp(r.out, "mediagate ", 10) == 0, "%s", r.out);
	run("--frobnicate", empty, -1, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(count_lines(r.err), 1);
}
END_TEST

/* Each bad setting: exit 1, exactly one line naming the variable. */
static const char *const bad[][3] = {
	{ "MEDIAGATE_JWT_KEY_FILE", "", "MEDIAGATE_JWT_KEY_FILE" },
	{ "MEDIAGATE_TOKEN_SECRET_FILE", "", "MEDIAGATE_TOKEN_SECRET_FILE" },
	{ "MEDIAGATE_JWT_ALG", "none", "MEDIAGATE_JWT_ALG" },
	{ "MEDIAGATE_JWT_ALG", "RS256", "MEDIAGATE_JWT_KEY_FILE" },
	{ "MEDIAGATE_TOKEN_TTL", "soon", "MEDIAGATE_TOKEN_TTL" },
	{ "MEDIAGATE_PUBLIC_URL", "ftp://x", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_STORAGE_ROOT", "/nonexistent", "MEDIAGATE_STORAGE_ROOT" },
	{ "MEDIAGATE_SENDFILE_HEADER", "X-Foo", "MEDIAGATE_SENDFILE_HEADER" },
	{ "MEDIAGATE_JWT_KEY_FILE", "/nonexistent", "MEDIAGATE_JWT_KEY_FILE" },
	/* What libpq cannot use is a setting, not an outage. */
	{ "MEDIAGATE_DB", "bogus_keyword=1", "MEDIAGATE_DB" },
	{ "MEDIAGATE_DB", "sslmode=bogus", "MEDIAGATE_DB" },
	{ "MEDIAGATE_DB", "postgresql://%zz", "MEDIAGATE_DB" },
	{ "MEDIAGATE_DB", "load_balance_hosts=random", "MEDIAGATE_DB" },
	{ "MEDIAGATE_PUBLIC_URL", "http://:", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://]]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:99999", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_BASE_PATH", "/..", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/.", "MEDIAGATE_BASE_PATH" },
};

START_TEST(bad_setting_one_line)
{
	const char *extra[] = { bad[_i][0], bad[_i][1], NULL };
	struct run r;

	/* Both modes refuse it, before any socket is looked at. */
	run(NULL, env_with(extra), -1, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(count_lines(r.err) == 1 && strstr(r.err, bad[_i][2]),
	    "stderr: %s", r.err);
	run("--check-config", env_with(extra), -1, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(count_lines(r.err) == 1 && strstr(r.err, bad[_i][2]),
	    "stderr: %s", r.err);
}
END_TEST

START_TEST(readable_secret_refused)
{
	char *p = path(work, "startup-open.key");
	const char *extra[] = { "MEDIAGATE_TOKEN_SECRET_FILE", p, NULL };
	char secret[48];
	struct run r;
	int fd;

	memset(secret, 'o', sizeof(secret));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, secret, sizeof(secret)), sizeof(secret));
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	close(fd);
	run("--check-config", env_with(extra), -1, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.err, "other users") != NULL, "%s", r.err);
	ck_assert_ptr_null(strstr(r.err, "oooo"));
	unlink(p);
}
END_TEST

START_TEST(check_config_database)
{
	const char *down[] = { "MEDIAGATE_DB",
	    "host=/nonexistent-socket-dir dbname=x connect_timeout=2", NULL };
	const char *pw[] = { "MEDIAGATE_DB",
	    "host=/nonexistent-socket-dir password=hunter2 dbname=x", NULL };
	struct run r;

	run("--check-config", env_with(NULL), -1, &r);
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "OK"));
	run("--check-config", env_with(down), -1, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(count_lines(r.err) == 1 &&
	    strstr(r.err, "MEDIAGATE_DB") != NULL, "%s", r.err);
	/* A password in the connection string is never printed. */
	run("--check-config", env_with(pw), -1, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_null(strstr(r.err, "hunter2"));
}
END_TEST

START_TEST(needs_listening_socket)
{
	struct run r;

	run(NULL, env_with(NULL), -1, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(count_lines(r.err) == 1 &&
	    strstr(r.err, "listening socket") != NULL, "%s", r.err);
}
END_TEST

/* Waits (10 s at most, scaled) until pid sits in accept(2) or has
 * exited (a zombie: the caller's waitpid() tells). */
static void
wait_accept_or_exit(pid_t pid)
{
	long long end = ms_now() + scaled_ms(10000);

	while (!proc_in_accept(pid) && proc_alive(pid)) {
		ck_assert_msg(ms_now() < end, "the responder neither serves "
		    "nor exits");
		usleep(10000);
	}
}

/* Serving an inherited socket; an idle process exits on SIGTERM at once,
 * and a database that is down at start is not fatal. */
START_TEST(idle_sigterm_exits)
{
	const char *down[] = { "MEDIAGATE_DB",
	    "host=/nonexistent-socket-dir dbname=x", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec t0, t1;
	char *const *env;
	int s, st, k;
	pid_t pid;

	for (k = 0; k < 2; k++) {
		env = env_with(k == 0 ? NULL : down);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		    path(work, "startup.sock"));
		unlink(sa.sun_path);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		ck_assert_int_ge(s, 0);
		ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)),
		    0);
		ck_assert_int_eq(listen(s, 8), 0);
		if ((pid = fork()) == 0) {
			char *argv[] = { (char *)bin, NULL };
			int devnull = open("/dev/null", O_WRONLY);

			dup2(s, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			execve(bin, argv, env);
			_exit(127);
		}
		close(s);
		/* Idle: started and waiting for a request (or exited,
		 * which the waitpid() below reports). */
		wait_accept_or_exit(pid);
		ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0,
		    "the responder exited while idle (case %d)", k);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_int_eq(kill(pid, SIGTERM), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "exit status %d", st);
		ck_assert_msg((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 < scaled_ms(1000),
		    "took more than a second to exit");
		unlink(sa.sun_path);
	}
}
END_TEST

/* The responders' role reads and cannot write (least privilege). */
START_TEST(role_is_read_only)
{
	static const char *const writes[] = {
		"INSERT INTO media (id, tenant_id, file_name) VALUES "
		    "('x', 't', 'f')",
		"UPDATE media SET deleted_at = now()",
		"DELETE FROM media",
		"TRUNCATE media",
		"SELECT folder FROM media LIMIT 1",	/* column not granted */
		"CREATE TABLE t (x int)",
	};
	PGconn *c = PQconnectdb(db_app);
	PGresult *res;
	size_t i;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	res = PQexec(c, "SELECT id, tenant_id, mime_type, file_name, "
	    "storage_file_name, deleted_at FROM media LIMIT 1");
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		res = PQexec(c, writes[i]);
		ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR,
		    "allowed: %s", writes[i]);
		PQclear(res);
	}
	PQfinish(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("startup");
	TCase *tc = tcase_create("startup");
	SRunner *sr;
	int failed;

	bin = getenv("MG_BIN");
	keys = getenv("MG_TEST_KEYS");
	work = getenv("MG_TEST_WORK");
	db_app = getenv("MG_TEST_DB_APP");
	if (!bin || !keys || !work || !db_app) {
		fprintf(stderr, "check_startup: run through tests/integration.sh"
		    " (MG_BIN, MG_TEST_KEYS, MG_TEST_WORK, MG_TEST_DB_APP)\n");
		return 1;
	}
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, help_lists_every_variable);
	tcase_add_loop_test(tc, bad_setting_one_line, 0,
	    sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, readable_secret_refused);
	tcase_add_test(tc, check_config_database);
	tcase_add_test(tc, needs_listening_socket);
	tcase_add_test(tc, idle_sigterm_exits);
	tcase_add_test(tc, role_is_read_only);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
