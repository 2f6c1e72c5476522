/* db_int.h — what db.c and db_conninfo.c share; not for the core. */
#ifndef MG_DB_INT_H
#define MG_DB_INT_H

#include <stddef.h>

/* errbuf = "what: msg" on one line (a libpq message has newlines). */
void db_set_err(char *errbuf, size_t errsz, const char *what,
    const char *msg);

#endif
