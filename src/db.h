/*
 * db.h — the responder's one PostgreSQL connection (libpq).
 *
 * Opened after the process starts (so after spawn-fcgi's fork), with one
 * prepared statement; a broken connection is replaced transparently on the
 * next request.  Every wait is bounded: connect_timeout (default 2 s),
 * statement_timeout and a client-side deadline on each query.  Only this
 * module touches libpq.
 */
#ifndef MG_DB_H
#define MG_DB_H

#include <stddef.h>

#include "err.h"
#include "media.h"

struct db;

/*
 * Check a conninfo (keyword=value or URI) at start, without connecting:
 * what libpq cannot parse (PQconninfoParse: syntax, percent-encoding,
 * options this libpq does not know) and values it would refuse on every
 * connection attempt (sslmode=bogus, port=x, ...), from conninfo or the
 * PG* environment.  0, or -1 with one line in err.  A database that is
 * only down passes: that is an outage, not a setting.
 */
int db_conninfo_check(const char *conninfo, char *err, size_t errsz);

/* Create the handle; conninfo is kept (a copy).  Does not connect. */
struct db *db_new(const char *conninfo);

/* Connect now if not connected.  MG_OK, or MG_EUNAVAIL with the libpq
 * message in errbuf (for the log, never for a client). */
enum mg_err db_connect(struct db *db, char *errbuf, size_t errsz);

/*
 * Look up a live (not deleted) media by id, restricted to tenant unless
 * tenant is NULL.  MG_OK fills *m (release with db_media_free), MG_ENOTFOUND
 * when there is no such row, MG_EUNAVAIL when the database cannot be
 * reached, MG_EINTERNAL for other failures; errbuf says why.
 */
enum mg_err db_media_lookup(struct db *db, const char *id, const char *tenant,
    struct media *m, char *errbuf, size_t errsz);

/* Release what db_media_lookup() filled in (the PGresult in m->priv). */
void db_media_free(struct media *m);

/*
 * Health check: connect if needed and run a trivial query, all within ms
 * milliseconds.  MG_OK, or MG_EUNAVAIL with errbuf (for the log) saying
 * why.  A connection that timed out is dropped; the next request makes a
 * new one.
 */
enum mg_err db_ping(struct db *db, long ms, char *errbuf, size_t errsz);

/* The media_source of the request core, backed by db (borrowed). */
void db_media_source(struct db *db, struct media_source *out);

void db_free(struct db *db);

#endif
