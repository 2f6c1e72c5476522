/*
 * testlib.c — helpers shared by the black-box test programs; see
 * testlib.h.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <check.h>
#include <libpq-fe.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "http.h"
#include "sjson.h"
#include "testkeys.h"
#include "testlib.h"

char		last_req[512];
const char	*test_case_name;
struct testkey	token_key;

/* ------------------------------------------------------------------ */
/* Per-test scratch */

struct kept {
	void	*ptr;
	void	(*release)(void *);
};

static struct kept	*kept;
static size_t		 nkept;

void *
keep(void *ptr, void (*release)(void *))
{
	kept = realloc(kept, (nkept + 1) * sizeof(*kept));
	if (kept == NULL)
		abort();
	kept[nkept].ptr = ptr;
	kept[nkept++].release = release;
	return ptr;
}

void
release_kept(void)
{
	while (nkept > 0) {
		nkept--;
		kept[nkept].release(kept[nkept].ptr);
	}
	free(kept);
	kept = NULL;
	test_case_name = NULL;
}

void
test_case(const char *name)
{
	test_case_name = name != NULL ? kstrdup(name) : NULL;
}

static void
release_response(void *p)
{
	http_response_free(p);
	free(p);
}

void
release_json(void *v)
{
	yajl_tree_free(v);
}

void
release_sjson(void *v)
{
	sjson_free(v);
}

char *
vstrf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return keep(s, free);
}

char *
strf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vstrf(fmt, ap);
	va_end(ap);
	return s;
}

char *
kstrdup(const char *s)
{
	return keep(xstrdup(s), free);
}

char *
krepeat(const char *s, size_t n, const char *tail)
{
	struct buf b = { 0 };

	while (n-- > 0)
		buf_puts(&b, s);
	buf_puts(&b, tail);
	return keep(b.ptr != NULL ? b.ptr : xstrdup(""), free);
}

long long
now(void)
{
	return (long long)time(NULL);
}

TCase *
tcase_kept(const char *tname, int timeout)
{
	TCase *tc = tcase_create(tname);

	tcase_set_timeout(tc, timeout);
	tcase_add_checked_fixture(tc, NULL, release_kept);
	return tc;
}

/* ------------------------------------------------------------------ */
/* Requests */

const char *const *
header_lines(const char *f1, const char *v1, const char *f2,
    const char *v2)
{
	const char **h = keep(xcalloc(3, sizeof(*h)), free);
	int n = 0;

	if (v1 != NULL)
		h[n++] = strf("%s: %s", f1, v1);
	if (v2 != NULL)
		h[n++] = strf("%s: %s", f2, v2);
	return h;
}

struct http_response *
send_request(const char *base, const char *label, const char *method,
    const char *path, const char *const *headers, const void *body,
    size_t len)
{
	struct http_response *r = keep(xcalloc(1, sizeof(*r)),
	    release_response);
	const char *const *h;
	size_t n;

	n = (size_t)snprintf(last_req, sizeof(last_req), "%s%s%s",
	    test_case_name != NULL ? test_case_name : "",
	    test_case_name != NULL ? ": " : "", label);
	for (h = headers; h != NULL && *h != NULL && n < sizeof(last_req);
	    h++)
		n += (size_t)snprintf(last_req + n, sizeof(last_req) - n,
		    " | %.60s", *h);
	if (http_request(base, method, path, headers, body, len, r) != 0)
		ck_abort_msg("%s: %s", last_req, r->error);
	return r;
}

/* ------------------------------------------------------------------ */
/* Tokens */

char *
hs256(const void *key, size_t key_len, const char *payload)
{
	return keep(tk_hs_raw(key, key_len, "HS256", JWT_HEADER, payload),
	    free);
}

char *
dl_token(const char *fmt, ...)
{
	va_list ap;
	char *claims;

	va_start(ap, fmt);
	claims = vstrf(fmt, ap);
	va_end(ap);
	return hs256(token_key.priv, token_key.priv_len, claims);
}

char *
tamper(const char *token, int part)
{
	char *t = kstrdup(token), *s = t, *e;
	int i;

	for (i = 0; i < part; i++)
		s = strchr(s, '.') + 1;
	e = strchr(s, '.');
	if (e == NULL)
		e = s + strlen(s);
	s += (e - s) / 2;
	*s = *s == 'A' ? 'B' : 'A';
	return t;
}

/* ------------------------------------------------------------------ */
/* Database */

PGconn *
db_open_at(const char *conninfo, const char *var)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		char msg[512];

		/* The message first: PQfinish() frees it. */
		snprintf(msg, sizeof(msg), "cannot connect to %s: %s", var,
		    PQerrorMessage(c));
		PQfinish(c);
		ck_abort_msg("%s", msg);
	}
	return c;
}

void
db_check(PGconn *c, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s: %s", what,
		    PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(c);
		ck_abort_msg("%s", msg);
	}
	PQclear(res);
}

void
media_replace(PGconn *c, const char *id, const char *tenant,
    const char *mime, const char *file_name, const char *storage)
{
	const char *params[5] = { id, tenant, mime, file_name, storage };

	db_check(c, PQexecParams(c, "DELETE FROM media WHERE id = $1", 1,
	    NULL, params, NULL, NULL, 0), "delete");
	db_check(c, PQexecParams(c, "INSERT INTO media (id, tenant_id, "
	    "mime_type, file_name, storage_file_name) VALUES "
	    "($1, $2, $3, $4, $5)", 5, NULL, params, NULL, NULL, 0),
	    "insert");
}

/* ------------------------------------------------------------------ */
/* Assertions */

bool
contains(const void *hay, size_t hay_len, const void *needle, size_t len)
{
	return len > 0 && memmem(hay, hay_len, needle, len) != NULL;
}

void
expect_header(const struct http_response *r, const char *field,
    const char *want)
{
	const char *v = http_header(r, field);

	ck_assert_msg(v != NULL, "%s: no %s field", last_req, field);
	ck_assert_msg(strcmp(v, want) == 0, "%s: %s is '%s', want '%s'",
	    last_req, field, v, want);
	ck_assert_msg(http_header_count(r, field) == 1, "%s: %zu %s fields",
	    last_req, http_header_count(r, field), field);
}

void
expect_ctype(const struct http_response *r, const char *want)
{
	const char *v = http_header(r, "Content-Type");
	size_t n;

	ck_assert_msg(v != NULL, "%s: no Content-Type", last_req);
	n = strcspn(v, "; \t");
	ck_assert_msg(n == strlen(want) && strncasecmp(v, want, n) == 0,
	    "%s: Content-Type '%s', want %s", last_req, v, want);
}

/* ------------------------------------------------------------------ */
/* Set-up */

char *
path_join(const char *dir, const char *file)
{
	char *s;

	if (asprintf(&s, "%s/%s", dir, file) < 0)
		abort();
	return s;
}
