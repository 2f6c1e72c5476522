/* err.c — the single place where outcomes become HTTP statuses, and the
 * one way start-up checks word their reasons. */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
err_fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_status(enum mg_err err)
{
	switch (err) {
	case MG_OK:		return 200;
	case MG_EBADREQ:	return 400;
	case MG_EAUTH:		return 401;
	case MG_ESCOPE:		return 403;
	case MG_EFORBIDDEN:	return 403;
	case MG_ENOTFOUND:	return 404;
	case MG_EMETHOD:	return 405;
	case MG_ENOTACCEPT:	return 406;
	case MG_EEXPIRED:	return 410;
	case MG_ETOOLARGE:	return 413;
	case MG_ENOFILE:	return 422;
	case MG_EINTERNAL:	return 500;
	case MG_EUNAVAIL:	return 503;
	case MG_EAUDIT:	return 503;
	}
	return 500;
}

const char *
err_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}
