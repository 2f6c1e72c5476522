/* db.c — libpq connection, prepared lookup, bounded waits, reconnect. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"
#include "db_int.h"
#include "log.h"
#include "metrics.h"

#define DB_CONNECT_TIMEOUT	"2"	/* seconds, unless conninfo says */
#define DB_STATEMENT_TIMEOUT_MS	2000
#define DB_QUERY_DEADLINE_MS	3000	/* client side, above the server's */

static const char lookup_name[] = "mediagate_media_lookup";
static const char lookup_sql[] =
	"SELECT mime_type, file_name, storage_file_name"
	"  FROM media"
	" WHERE id = $1"
	"   AND deleted_at IS NULL"
	"   AND ($2::text IS NULL OR tenant_id = $2::text)";

struct db {
	char	*conninfo;
	PGconn	*conn;		/* NULL or a connection with the statement
				   prepared */
	bool	 going;		/* the last db_connect failed because the
				   server ended the session while it was
				   being set up (server_going) */
};

struct db *
db_new(const char *conninfo)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->conninfo = xstrdup(conninfo);
	return db;
}

static void
drop(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
}

void
db_set_err(char *errbuf, size_t errsz, const char *what, const char *msg)
{
	char *p;

	snprintf(errbuf, errsz, "%s: %s", what, msg != NULL && *msg ?
	    msg : "unknown error");
	for (p = errbuf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	while (p > errbuf && p[-1] == ' ')
		*--p = '\0';
}

/*
 * True for the errors with which a server ends the session because it is
 * going away: 57P01 admin_shutdown (pg_ctl stop -m fast, a standby being
 * promoted), 57P02 crash_shutdown, 57P03 cannot_connect_now.
 */
static bool
server_going(const PGresult *res)
{
	const char *st = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return st != NULL && strncmp(st, "57P0", 4) == 0;
}

enum mg_err
db_connect(struct db *db, char *errbuf, size_t errsz)
{
	/*
	 * Later entries override earlier ones, and the expanded dbname (the
	 * operator's conninfo) comes last, so a connect_timeout there wins.
	 * PGCONNECT_TIMEOUT only fills settings left unset: when it is set,
	 * mediagate's default is left out so that it applies.
	 */
	const char *keys[4], *vals[4];
	char set_timeout[64];
	PGresult *res;
	int n = 0;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return MG_OK;
	drop(db);
	db->going = false;
	keys[n] = "fallback_application_name";
	vals[n++] = "mediagate";
	if (getenv("PGCONNECT_TIMEOUT") == NULL) {
		keys[n] = "connect_timeout";
		vals[n++] = DB_CONNECT_TIMEOUT;
	}
	keys[n] = "dbname";
	vals[n++] = db->conninfo;
	keys[n] = vals[n] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_set_err(errbuf, errsz, "connect",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		drop(db);
		metrics_db_connect(false);
		return MG_EUNAVAIL;
	}
	metrics_db_connect(true);

	snprintf(set_timeout, sizeof(set_timeout),
	    "SET statement_timeout = %d", DB_STATEMENT_TIMEOUT_MS);
	res = PQexec(db->conn, set_timeout);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_set_err(errbuf, errsz, "set statement_timeout",
		    PQerrorMessage(db->conn));
		db->going = server_going(res);
		PQclear(res);
		drop(db);
		return MG_EUNAVAIL;
	}
	PQclear(res);

	res = PQprepare(db->conn, lookup_name, lookup_sql, 2, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_set_err(errbuf, errsz, "prepare", PQerrorMessage(db->conn));
		db->going = server_going(res);
		PQclear(res);
		drop(db);
		/* A missing table or column is a deployment error, not an
		 * outage, but both leave the process unable to answer. */
		return MG_EUNAVAIL;
	}
	PQclear(res);
	return MG_OK;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Wait for conn's pending query until deadline; the last result or NULL. */
static PGresult *
wait_result(PGconn *conn, const struct timespec *deadline, bool *timeout)
{
	struct pollfd pfd;
	PGresult *res, *last = NULL;
	long left;
	int flush;

	*timeout = false;
	pfd.fd = PQsocket(conn);
	for (;;) {
		if ((flush = PQflush(conn)) < 0)
			return NULL;
		if (flush == 0 && !PQisBusy(conn))
			break;
		if ((left = ms_left(deadline)) <= 0) {
			*timeout = true;
			return NULL;
		}
		pfd.events = POLLIN | (flush == 1 ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return NULL;
		if (!PQconsumeInput(conn))
			return NULL;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		PQclear(last);
		last = res;
	}
	return last;
}

/*
 * Send the prepared lookup and wait for its result until a deadline, so
 * that a database that stops answering (network partition, frozen host)
 * cannot hang the responder.  Returns the last result or NULL.
 */
static PGresult *
run_lookup(PGconn *conn, const char *id, const char *tenant, bool *timeout)
{
	const char *params[2] = { id, tenant };
	struct timespec deadline;

	*timeout = false;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += DB_QUERY_DEADLINE_MS / 1000;

	if (!PQsendQueryPrepared(conn, lookup_name, 2, params, NULL, NULL, 0))
		return NULL;
	return wait_result(conn, &deadline, timeout);
}

/*
 * Classify a failed query by SQLSTATE (PostgreSQL Appendix A): connection
 * exceptions (08), insufficient resources (53) and operator intervention
 * (57: shutdown, cancel, statement_timeout) are outages, anything else is
 * a bug or a deployment error.
 */
static enum mg_err
sqlstate_err(const PGresult *res)
{
	const char *st = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (st == NULL || strncmp(st, "08", 2) == 0 ||
	    strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0)
		return MG_EUNAVAIL;
	return MG_EINTERNAL;
}

/*
 * A prepared statement that the server can no longer run as prepared:
 * 0A000 feature_not_supported is "cached plan must not change result
 * type", after a migration changed a column's type (ALTER TABLE media
 * ALTER COLUMN mime_type TYPE varchar(255)); 26000
 * invalid_sql_statement_name is a statement the session lost (DISCARD ALL
 * by a pooler).  Preparing it again is the cure; the connection is fine.
 */
static bool
needs_reprepare(const PGresult *res)
{
	const char *st = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return st != NULL && (strcmp(st, "0A000") == 0 ||
	    strcmp(st, "26000") == 0);
}

/* DEALLOCATE (which fails harmlessly when the statement is gone) and
 * prepare again on the same connection. */
static enum mg_err
reprepare(struct db *db, char *errbuf, size_t errsz)
{
	PGresult *res;
	char sql[sizeof(lookup_name) + 16];

	snprintf(sql, sizeof(sql), "DEALLOCATE %s", lookup_name);
	PQclear(PQexec(db->conn, sql));
	res = PQprepare(db->conn, lookup_name, lookup_sql, 2, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_set_err(errbuf, errsz, "prepare again",
		    PQerrorMessage(db->conn));
		PQclear(res);
		drop(db);
		return MG_EUNAVAIL;
	}
	PQclear(res);
	return MG_OK;
}

enum mg_err
db_media_lookup(struct db *db, const char *id, const char *tenant,
    struct media *m, char *errbuf, size_t errsz)
{
	PGresult *res = NULL;
	enum mg_err err;
	bool timeout, replan, gone;
	int attempt;

	memset(m, 0, sizeof(*m));
	/*
	 * Two attempts: a connection that broke while idle (server restart)
	 * is only noticed when used, and a fresh one should then succeed; a
	 * statement invalidated by a schema change is prepared again.
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((err = db_connect(db, errbuf, errsz)) != MG_OK) {
			/* A session opened just before its server began to
			 * shut down ends while being set up; the next attempt
			 * reaches another server of the conninfo. */
			if (db->going && attempt == 0)
				continue;
			return err;
		}
		res = run_lookup(db->conn, id, tenant, &timeout);
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
			break;
		db_set_err(errbuf, errsz, timeout ? "query timed out" : "query",
		    res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(db->conn));
		err = sqlstate_err(res);
		replan = !timeout && attempt == 0 && needs_reprepare(res);
		gone = server_going(res);
		PQclear(res);
		res = NULL;
		/*
		 * On a timeout the connection is in an unknown state; a server
		 * that is shutting down ends the session, though libpq may not
		 * have seen the close yet: another server of a multi-host
		 * conninfo (a standby, the primary) can answer the lookup.
		 */
		if (timeout || gone || PQstatus(db->conn) != CONNECTION_OK) {
			drop(db);
			continue;
		}
		if (replan) {
			log_msg("media lookup prepared again after: %s",
			    errbuf);
			if ((err = reprepare(db, errbuf, errsz)) != MG_OK)
				return err;
			continue;
		}
		return err;
	}
	if (res == NULL)
		return MG_EUNAVAIL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return MG_ENOTFOUND;
	}
	m->priv = res;
	m->mime_type = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
	m->file_name = PQgetvalue(res, 0, 1);
	m->storage_file_name = PQgetisnull(res, 0, 2) ? NULL :
	    PQgetvalue(res, 0, 2);
	return MG_OK;
}

void
db_media_free(struct media *m)
{
	PQclear(m->priv);
	memset(m, 0, sizeof(*m));
}

static enum mg_err
source_lookup(void *ctx, const char *id, const char *tenant, struct media *m,
    char *errbuf, size_t errsz)
{
	return db_media_lookup(ctx, id, tenant, m, errbuf, errsz);
}

static void
source_release(void *ctx, struct media *m)
{
	(void)ctx;
	db_media_free(m);
}

static enum mg_err
source_ping(void *ctx, long ms, char *errbuf, size_t errsz)
{
	return db_ping(ctx, ms, errbuf, errsz);
}

void
db_media_source(struct db *db, struct media_source *out)
{
	out->lookup = source_lookup;
	out->release = source_release;
	out->ping = source_ping;
	out->ctx = db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	drop(db);
	free(db->conninfo);
	free(db);
}

/*
 * Health check (contract §7.1): everything below is bounded by one
 * deadline, the connection included, so libpq's connect_timeout (whose
 * minimum is 2 s) is not used: the connection is made with the
 * non-blocking PQconnectStartParams/PQconnectPoll and every query is sent
 * and awaited with poll(2).
 */

/* Run one command within deadline; true if it gave want. */
static bool
exec_within(PGconn *conn, const char *sql, const char *prep,
    ExecStatusType want, const struct timespec *deadline, char *errbuf,
    size_t errsz)
{
	PGresult *res;
	bool timeout, ok;
	int sent;

	sent = prep != NULL ? PQsendPrepare(conn, prep, sql, 2, NULL) :
	    PQsendQuery(conn, sql);
	if (!sent) {
		db_set_err(errbuf, errsz, "query", PQerrorMessage(conn));
		return false;
	}
	res = wait_result(conn, deadline, &timeout);
	ok = res != NULL && PQresultStatus(res) == want;
	if (!ok)
		db_set_err(errbuf, errsz, timeout ? "query timed out" : "query",
		    res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

/* Connect as db_connect() does, within deadline. */
static enum mg_err
connect_within(struct db *db, const struct timespec *deadline, char *errbuf,
    size_t errsz)
{
	const char *keys[] = { "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "mediagate", db->conninfo, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	char set_timeout[64];
	struct pollfd pfd;
	long left;

	drop(db);
	db->conn = PQconnectStartParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD)
		goto failed;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED)
			goto failed;
		if ((left = ms_left(deadline)) <= 0) {
			db_set_err(errbuf, errsz, "connect", "timed out");
			goto failed_set;
		}
		pfd.fd = PQsocket(db->conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			goto failed;
		st = PQconnectPoll(db->conn);
	}
	if (PQsetnonblocking(db->conn, 1) != 0)
		goto failed;
	snprintf(set_timeout, sizeof(set_timeout),
	    "SET statement_timeout = %d", DB_STATEMENT_TIMEOUT_MS);
	if (!exec_within(db->conn, set_timeout, NULL, PGRES_COMMAND_OK,
	    deadline, errbuf, errsz) ||
	    !exec_within(db->conn, lookup_sql, lookup_name, PGRES_COMMAND_OK,
	    deadline, errbuf, errsz)) {
		drop(db);
		metrics_db_connect(false);
		return MG_EUNAVAIL;
	}
	/* The lookup path uses blocking calls on this connection. */
	PQsetnonblocking(db->conn, 0);
	metrics_db_connect(true);
	return MG_OK;
failed:
	db_set_err(errbuf, errsz, "connect",
	    db->conn != NULL ? PQerrorMessage(db->conn) : "out of memory");
failed_set:
	drop(db);
	metrics_db_connect(false);
	return MG_EUNAVAIL;
}

enum mg_err
db_ping(struct db *db, long ms, char *errbuf, size_t errsz)
{
	struct timespec deadline;
	int attempt;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	/* As a lookup does: a connection that broke while idle is noticed
	 * on use and replaced once. */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) &&
		    connect_within(db, &deadline, errbuf, errsz) != MG_OK)
			return MG_EUNAVAIL;
		PQsetnonblocking(db->conn, 1);
		if (exec_within(db->conn, "SELECT 1", NULL, PGRES_TUPLES_OK,
		    &deadline, errbuf, errsz)) {
			PQsetnonblocking(db->conn, 0);
			return MG_OK;
		}
		if (ms_left(&deadline) <= 0 ||
		    PQstatus(db->conn) == CONNECTION_OK) {
			/* Timed out mid-query: the connection's state is
			 * unknown.  Or a real error: report it. */
			drop(db);
			return MG_EUNAVAIL;
		}
		drop(db);
	}
	return MG_EUNAVAIL;
}
