/* db.c — libpq connection, prepared lookup, bounded waits, reconnect. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"

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

/* Copy a libpq message into errbuf on one line. */
static void
set_err(char *errbuf, size_t errsz, const char *what, const char *msg)
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
		set_err(errbuf, errsz, "connect",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		drop(db);
		return MG_EUNAVAIL;
	}

	snprintf(set_timeout, sizeof(set_timeout),
	    "SET statement_timeout = %d", DB_STATEMENT_TIMEOUT_MS);
	res = PQexec(db->conn, set_timeout);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_err(errbuf, errsz, "set statement_timeout",
		    PQerrorMessage(db->conn));
		PQclear(res);
		drop(db);
		return MG_EUNAVAIL;
	}
	PQclear(res);

	res = PQprepare(db->conn, lookup_name, lookup_sql, 2, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_err(errbuf, errsz, "prepare", PQerrorMessage(db->conn));
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
	struct pollfd pfd;
	PGresult *res, *last = NULL;
	long left;
	int flush;

	*timeout = false;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += DB_QUERY_DEADLINE_MS / 1000;

	if (!PQsendQueryPrepared(conn, lookup_name, 2, params, NULL, NULL, 0))
		return NULL;
	pfd.fd = PQsocket(conn);
	for (;;) {
		flush = PQflush(conn);
		if (flush < 0)
			return NULL;
		if (flush == 0 && !PQisBusy(conn))
			break;
		if ((left = ms_left(&deadline)) <= 0) {
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
db_media_lookup(struct db *db, const char *id, const char *tenant,
    struct media *m, char *errbuf, size_t errsz)
{
	PGresult *res = NULL;
	enum mg_err err;
	bool timeout, gone;
	int attempt;

	memset(m, 0, sizeof(*m));
	/*
	 * Two attempts: a connection that broke while idle (server restart)
	 * is only noticed when used, and a fresh one should then succeed.
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((err = db_connect(db, errbuf, errsz)) != MG_OK)
			return err;
		res = run_lookup(db->conn, id, tenant, &timeout);
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
			break;
		set_err(errbuf, errsz, timeout ? "query timed out" : "query",
		    res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(db->conn));
		err = sqlstate_err(res);
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

void
db_media_source(struct db *db, struct media_source *out)
{
	out->lookup = source_lookup;
	out->release = source_release;
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
