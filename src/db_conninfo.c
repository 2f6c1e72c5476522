/*
 * db_conninfo.c — MEDIAGATE_DB checked at start, so that a connection
 * string libpq cannot use stops the process with one line instead of a
 * responder that answers 503 for ever.  libpq parses the string
 * (PQconninfoParse); what it checks only when connecting is checked here.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "db_int.h"

/*
 * Options whose value libpq 15 checks only when it connects
 * (connectOptions2 and parse_int_param in fe-connect.c), so that a bad one
 * would fail every attempt: enumerations, and integers (port may be a list,
 * one per host).
 */
static const struct {
	const char	*keyword;
	const char	*values;	/* space-separated; NULL: integers */
} checked_options[] = {
	{ "sslmode", "disable allow prefer require verify-ca verify-full" },
	{ "gssencmode", "disable prefer require" },
	{ "channel_binding", "disable prefer require" },
	{ "target_session_attrs",
	    "any read-write read-only primary standby prefer-standby" },
	{ "ssl_min_protocol_version", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3" },
	{ "ssl_max_protocol_version", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3" },
	{ "port", NULL }, { "connect_timeout", NULL }, { "keepalives", NULL },
	{ "keepalives_idle", NULL }, { "keepalives_interval", NULL },
	{ "keepalives_count", NULL }, { "tcp_user_timeout", NULL },
};

static bool
word_in(const char *v, const char *words)
{
	size_t n = strlen(v);
	const char *p;

	for (p = words; *p != '\0'; p += strcspn(p, " "), p += *p == ' ')
		if (strncmp(p, v, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Comma-separated integers, each optional (libpq: empty means default). */
static bool
integers(const char *v)
{
	char *end;
	long n;

	for (;;) {
		v += strspn(v, " ");
		if (*v != ',' && *v != '\0') {
			errno = 0;
			n = strtol(v, &end, 10);
			if (end == v || errno != 0 || n < INT_MIN || n > INT_MAX)
				return false;
			v = end + strspn(end, " ");
		}
		if (*v == '\0')
			return true;
		if (*v++ != ',')
			return false;
	}
}

int
db_conninfo_check(const char *conninfo, char *err, size_t errsz)
{
	PQconninfoOption *opts, *defs, *o, *d;
	char *msg = NULL;
	const char *v;
	size_t i;
	int rc = 0, env;

	if ((opts = PQconninfoParse(conninfo, &msg)) == NULL) {
		db_set_err(err, errsz, "not a libpq connection string", msg != NULL ?
		    msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	defs = PQconndefaults();	/* the PG* environment */
	for (i = 0; rc == 0 && i < sizeof(checked_options) /
	    sizeof(checked_options[0]); i++) {
		v = NULL;
		env = 0;
		for (o = opts; o->keyword != NULL; o++)
			if (strcmp(o->keyword, checked_options[i].keyword) == 0)
				v = o->val;
		for (d = defs; v == NULL && d != NULL && d->keyword != NULL;
		    d++)
			if (strcmp(d->keyword, checked_options[i].keyword) == 0) {
				v = d->val;
				env = 1;
			}
		if (v == NULL || *v == '\0')
			continue;
		if (checked_options[i].values != NULL ?
		    !word_in(v, checked_options[i].values) : !integers(v)) {
			snprintf(err, errsz, "%s%s: '%.64s' is not %s",
			    checked_options[i].keyword, env ? " (from the PG* "
			    "environment)" : "", v,
			    checked_options[i].values != NULL ? "one of the "
			    "values libpq accepts" : "an integer libpq accepts");
			rc = -1;
		}
	}
	PQconninfoFree(defs);
	PQconninfoFree(opts);
	return rc;
}
