/* fixture.c — environment, time, database and processes for the black-box
 * tests; see fixture.h. */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "fixture.h"
#include "proc.h"
#include "testlib.h"

const char	*fx_prog = "test";
const char	*fx_db;

const char *
fx_env(const char *var, const char *script, int *missing)
{
	const char *v = getenv(var);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "%s: %s is not set; run this program through "
		    "%s, which starts the services and exports it\n", fx_prog,
		    var, script);
		*missing = 1;
		return NULL;
	}
	return v;
}

void
fx_mkdir(const char *dir, const char *name)
{
	char *path = path_join(dir, name);

	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: mkdir %s: %s\n", fx_prog, path,
		    strerror(errno));
		exit(1);
	}
	free(path);
}

void
fx_symlink(const char *target, const char *dir, const char *name)
{
	char *path = path_join(dir, name);

	unlink(path);
	if (symlink(target, path) != 0) {
		fprintf(stderr, "%s: symlink %s: %s\n", fx_prog, path,
		    strerror(errno));
		exit(1);
	}
	free(path);
}

/* ------------------------------------------------------------------ */
/* Database */

PGconn *
db_open(void)
{
	return db_open_at(fx_db, "the test database");
}

void
db_exec(const char *sql)
{
	PGconn *c = db_open();

	db_check(c, PQexec(c, sql), sql);
	PQfinish(c);
}

long long
db_count(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	long long n = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	ck_assert_msg(n >= 0, "%s failed", sql);
	return n;
}

void
media_put(const char *id, const char *tenant, const char *mime,
    const char *file_name, const char *storage)
{
	PGconn *c = db_open();

	media_replace(c, id, tenant, mime, file_name, storage);
	PQfinish(c);
}

void
db_wait_lock_waiter(PGconn *c, long long ms)
{
	long long end = ms_now() + scaled_ms(ms);

	while (db_count(c, "SELECT count(*) FROM pg_locks WHERE NOT granted")
	    == 0) {
		ck_assert_msg(ms_now() < end, "no request waited on the lock "
		    "within %lld ms", scaled_ms(ms));
		usleep(10000);
	}
}

/* ------------------------------------------------------------------ */
/* Processes */

int
pids_from_file(const char *path, pid_t *pids, int max)
{
	FILE *f = fopen(path, "r");
	long v;
	int n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (n < max && fscanf(f, "%ld", &v) == 1)
		pids[n++] = (pid_t)v;
	fclose(f);
	return n;
}

void
run_script(const char *env)
{
	const char *cmd = getenv(env);

	ck_assert_msg(cmd != NULL && *cmd != '\0', "%s is not set", env);
	ck_assert_msg(system(cmd) == 0, "%s (%s) failed", env, cmd);
}
