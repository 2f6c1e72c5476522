/*
 * core_guard.h — forced into every file of the pure core (-include, see
 * Makefile.am), so that the core cannot come to depend on libfcgi or libpq:
 * any header that declares one of these names, or any use of one, stops
 * the build.  Only main.c (libfcgi) and db.c (libpq) are outside the core.
 */
#ifndef MG_CORE_GUARD_H
#define MG_CORE_GUARD_H

#pragma GCC poison FCGX_Init FCGX_Accept_r FCGX_Request FCGX_Stream \
	FCGX_GetParam FCGX_ParamArray
#pragma GCC poison PGconn PGresult PQconnectdb PQconnectdbParams PQexec \
	PQprepare PQclear PQfinish

#endif
