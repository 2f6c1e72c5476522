/*
 * err.h — mediagate's one error vocabulary.
 *
 * Every module reports failure as an enum mg_err plus, where useful, a
 * static "why" string that is safe to show a client (it never holds a key,
 * a token or a database message).  The mapping to an HTTP status lives in
 * exactly one place, err_status().
 */
#ifndef MG_ERR_H
#define MG_ERR_H

#include <stddef.h>

enum mg_err {
	MG_OK = 0,
	MG_EBADREQ,	/* 400: malformed id, body or request */
	MG_EAUTH,	/* 401: bearer missing, malformed, invalid */
	MG_ESCOPE,	/* 403: bearer valid but lacks the permission */
	MG_EFORBIDDEN,	/* 403: no tenant claim; bad download token */
	MG_ENOTFOUND,	/* 404: no such media (for this tenant), unknown path */
	MG_EMETHOD,	/* 405: method not allowed on this path */
	MG_ENOTACCEPT,	/* 406: nothing in Accept can be served */
	MG_EEXPIRED,	/* 410: download token expired */
	MG_ETOOLARGE,	/* 413: request body over the limit */
	MG_ENOFILE,	/* 422: media has no stored file yet */
	MG_EINTERNAL,	/* 500: unexpected failure, detail in the log */
	MG_EUNAVAIL,	/* 503: database unreachable */
	MG_EAUDIT,	/* 503: the audit log cannot be written */
};

/*
 * Write a one-line reason into err (capacity errsz) and return -1: the
 * start-up and reload checks (config, keys, jwks) say what is wrong this
 * way, and the caller prints or logs the line.
 */
int err_fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* HTTP status code for err (200 for MG_OK). */
int err_status(enum mg_err err);

/* RFC 9110 reason phrase for an HTTP status ("Unknown" if not ours). */
const char *err_reason(int status);

#endif
