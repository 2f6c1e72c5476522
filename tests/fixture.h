/*
 * fixture.h — what the black-box test programs need around their
 * requests: the environment the driver scripts set, time limits that
 * scale under valgrind, the database, files in the storage root, and
 * the responder processes (waiting on events, never on a guessed delay).
 *
 * Functions named fx_* run in main() before the runner and exit(1) with
 * one line on stderr when something is wrong; the others run inside
 * tests and fail them with ck_assert.
 */
#ifndef MG_TEST_FIXTURE_H
#define MG_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "proc.h"

/* The program's name in fx_* messages (set it first thing in main()). */
extern const char	*fx_prog;

/* The libpq conninfo of the database superuser, for db_open(). */
extern const char	*fx_db;

/* getenv(var) if set and non-empty; otherwise says that the program runs
 * through script (which exports it), sets *missing and returns NULL. */
const char *fx_env(const char *var, const char *script, int *missing);

/* mkdir dir/name (an existing one is fine). */
void	 fx_mkdir(const char *dir, const char *name);

/* dir/name becomes a symbolic link to target (replacing one). */
void	 fx_symlink(const char *target, const char *dir, const char *name);

/* ------------------------------------------------------------------ */
/* Database (fx_db) */

/* A connection; aborts the test when it fails.  The caller PQfinish()es. */
PGconn	*db_open(void);

/* Runs sql; asserts that it succeeded. */
void	 db_exec(const char *sql);

/* The first column of the first row of sql, as an integer. */
long long db_count(PGconn *c, const char *sql);

/* Replaces the row id with a live one of these values (NULL: SQL NULL). */
void	 media_put(const char *id, const char *tenant, const char *mime,
	    const char *file_name, const char *storage);

/* Waits (up to ms, scaled) until some backend waits on a lock not granted
 * (pg_locks), i.e. a request is held by a lock the test took. */
void	 db_wait_lock_waiter(PGconn *c, long long ms);

/* ------------------------------------------------------------------ */
/* Processes */

/* The pids listed in the file path, at most max of them. */
int	 pids_from_file(const char *path, pid_t *pids, int max);

/* Runs the command the environment variable env names; asserts success. */
void	 run_script(const char *env);

#endif
