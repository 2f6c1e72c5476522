/*
 * ceiling_select.c — the benchmark's "one database round trip" reference:
 * a libfcgi responder that does exactly mediagate's lookup and nothing
 * else.  For every request it takes the media id out of
 * /media/{id}/download-token or /media/{id}/download/{anything}, runs the
 * statement of src/db.c (same text, prepared once per connection, same
 * table and index) for that id and the tenant CEILING_TENANT (default
 * "acme"), and answers
 *
 *   - without CEILING_SENDFILE_ROOT: 201 with the headers mediagate sends
 *     on success and a fixed 250-byte JSON body (the issuing ceiling);
 *   - with CEILING_SENDFILE_ROOT=DIR: 200 with X-Sendfile naming
 *     DIR/storage_file_name and mediagate's other download headers, no
 *     body (the download ceiling);
 *
 * and 404 when no row matches.  The bearer and the token are not looked
 * at: what mediagate does on top of this is its own work.
 *
 *   cc -O2 -o ceiling_select ceiling_select.c \
 *       $(pkg-config --cflags --libs fcgi libpq)
 *
 * CEILING_DB is the libpq connection string.  Like mediagate it serves
 * the listening socket it inherits as descriptor 0; "--check-config"
 * exits 0 at once (tests/lib/services.sh runs the binary that way first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "ceiling_finish.h"
#include <libpq-fe.h>

#define BODY_LEN	250

/* The statement of src/db.c, character for character. */
static const char lookup_sql[] =
	"SELECT mime_type, file_name, storage_file_name"
	"  FROM media"
	" WHERE id = $1"
	"   AND deleted_at IS NULL"
	"   AND ($2::text IS NULL OR tenant_id = $2::text)";

static char body[BODY_LEN + 1];

static void
make_body(void)
{
	static const char head[] = "{\"token\":\"";
	static const char tail[] =
	    "\",\"url\":\"http://127.0.0.1/media/x/download/t\"}";
	size_t fill = BODY_LEN - (sizeof(head) - 1) - (sizeof(tail) - 1);

	memcpy(body, head, sizeof(head) - 1);
	memset(body + sizeof(head) - 1, 'x', fill);
	memcpy(body + sizeof(head) - 1 + fill, tail, sizeof(tail));
}

static PGconn *
connect_db(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *res;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "ceiling_select: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	res = PQprepare(c, "lookup", lookup_sql, 2, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "ceiling_select: %s", PQerrorMessage(c));
		PQclear(res);
		PQfinish(c);
		return NULL;
	}
	PQclear(res);
	return c;
}

/* The id of /media/{id}/..., copied into id (NUL-terminated), or 0. */
static int
media_id(const char *uri, char *id, size_t idsz)
{
	const char *p, *e;

	if (uri == NULL || strncmp(uri, "/media/", 7) != 0)
		return 0;
	p = uri + 7;
	if ((e = strchr(p, '/')) == NULL || e == p || (size_t)(e - p) >= idsz)
		return 0;
	memcpy(id, p, (size_t)(e - p));
	id[e - p] = '\0';
	return 1;
}

int
main(int argc, char **argv)
{
	static const char head[] =
	    "Status: 201 Created\r\n"
	    "Cache-Control: no-store\r\n"
	    "Vary: Accept\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 250\r\n"
	    "\r\n";
	static const char notfound[] =
	    "Status: 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	const char *conninfo = getenv("CEILING_DB");
	const char *tenant = getenv("CEILING_TENANT");
	const char *root = getenv("CEILING_SENDFILE_ROOT");
	const char *params[2];
	char id[256];
	FCGX_Request fr;
	PGconn *db;
	PGresult *res;

	if (argc > 1 && strcmp(argv[1], "--check-config") == 0)
		return 0;
	if (conninfo == NULL) {
		fprintf(stderr, "ceiling_select: CEILING_DB is not set\n");
		return 1;
	}
	if (tenant == NULL || *tenant == '\0')
		tenant = "acme";
	if (root != NULL && *root != '/') {
		fprintf(stderr, "ceiling_select: CEILING_SENDFILE_ROOT must be "
		    "absolute\n");
		return 1;
	}
	make_body();
	if (FCGX_Init() != 0 || FCGX_IsCGI() ||
	    FCGX_InitRequest(&fr, 0, 0) != 0) {
		fprintf(stderr, "ceiling_select: file descriptor 0 is not a "
		    "listening socket (run under spawn-fcgi)\n");
		return 1;
	}
	if ((db = connect_db(conninfo)) == NULL)
		return 1;
	params[1] = tenant;
	while (FCGX_Accept_r(&fr) >= 0) {
		if (!media_id(FCGX_GetParam("REQUEST_URI", fr.envp), id,
		    sizeof(id))) {
			FCGX_PutS(notfound, fr.out);
			ceiling_finish(&fr);
			continue;
		}
		params[0] = id;
		res = PQexecPrepared(db, "lookup", 2, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "ceiling_select: %s", PQerrorMessage(db));
			PQclear(res);
			ceiling_finish(&fr);
			return 1;
		}
		if (PQntuples(res) != 1)
			FCGX_PutS(notfound, fr.out);
		else if (root != NULL)
			FCGX_FPrintF(fr.out,
			    "Status: 200 OK\r\n"
			    "X-Sendfile: %s/%s\r\n"
			    "Content-Type: %s\r\n"
			    "Content-Disposition: attachment; "
			    "filename=\"bench.bin\"; "
			    "filename*=UTF-8''bench.bin\r\n"
			    "Cache-Control: private, no-store\r\n"
			    "X-Content-Type-Options: nosniff\r\n"
			    "\r\n", root, PQgetvalue(res, 0, 2),
			    PQgetvalue(res, 0, 0));
		else {
			FCGX_PutStr(head, (int)sizeof(head) - 1, fr.out);
			FCGX_PutStr(body, BODY_LEN, fr.out);
		}
		PQclear(res);
		ceiling_finish(&fr);
	}
	FCGX_Free(&fr, 1);
	PQfinish(db);
	return 0;
}
