/* unit_db.c — MEDIAGATE_DB checked at start, without a database. */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "unit_suites.h"

/* What libpq cannot use stops the process; what is only unreachable does
 * not (that is an outage: 503 until the database is back). */
static const struct {
	const char	*conninfo;
	int		 ok;
	const char	*says;	/* in the error line */
} cases[] = {
	{ "", 1, NULL },
	{ "dbname=mediagate", 1, NULL },
	{ "host=/nonexistent dbname=x connect_timeout=1", 1, NULL },
	{ "host=127.0.0.1 port=1 dbname=x", 1, NULL },
	{ "host=a,b port=5432,5433 target_session_attrs=read-write", 1, NULL },
	{ "postgresql://u@localhost:5432/db?sslmode=verify-full", 1, NULL },
	{ "postgresql:///db?host=/run/postgresql", 1, NULL },
	{ "sslmode=require gssencmode=disable channel_binding=prefer", 1, NULL },
	{ "ssl_min_protocol_version=TLSv1.2 keepalives=1 port=", 1, NULL },
	/* the probe's three, and their kin */
	{ "bogus_keyword=1", 0, "bogus_keyword" },
	{ "sslmode=bogus", 0, "sslmode" },
	{ "postgresql://%zz", 0, "%zz" },
	{ "postgresql://h/db?bogus=1", 0, "bogus" },
	{ "load_balance_hosts=random", 0, "load_balance_hosts" },	/* 16 */
	{ "dbname='x", 0, "quote" },
	{ "dbname", 0, "dbname" },
	{ "mysql://h/db", 0, NULL },
	{ "gssencmode=maybe", 0, "gssencmode" },
	{ "channel_binding=yes", 0, "channel_binding" },
	{ "target_session_attrs=master", 0, "target_session_attrs" },
	{ "ssl_min_protocol_version=SSLv3", 0, "ssl_min_protocol_version" },
	{ "port=x", 0, "port" },
	{ "host=a,b port=1,x", 0, "port" },
	{ "connect_timeout=2s", 0, "connect_timeout" },
	{ "keepalives_idle=99999999999", 0, "keepalives_idle" },
};

START_TEST(conninfo_checked)
{
	char err[256] = "";
	int rc = db_conninfo_check(cases[_i].conninfo, err, sizeof(err));

	ck_assert_msg(rc == (cases[_i].ok ? 0 : -1), "'%s': %d (%s)",
	    cases[_i].conninfo, rc, err);
	if (!cases[_i].ok) {
		ck_assert_ptr_null(strchr(err, '\n'));
		ck_assert_int_gt(strlen(err), 0);
		if (cases[_i].says != NULL)
			ck_assert_msg(strstr(err, cases[_i].says) != NULL,
			    "'%s' gives '%s'", cases[_i].conninfo, err);
	}
}
END_TEST

/* The PG* environment applies when the conninfo does not say. */
START_TEST(environment_checked)
{
	char err[256];

	setenv("PGSSLMODE", "bogus", 1);
	ck_assert_int_eq(db_conninfo_check("dbname=x", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "environment"));
	/* The conninfo's own value wins. */
	ck_assert_int_eq(db_conninfo_check("sslmode=disable", err,
	    sizeof(err)), 0);
	unsetenv("PGSSLMODE");
	ck_assert_int_eq(db_conninfo_check("dbname=x", err, sizeof(err)), 0);
}
END_TEST

Suite *
suite_db(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("conninfo");

	tcase_add_loop_test(tc, conninfo_checked, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, environment_checked);
	suite_add_tcase(s, tc);
	return s;
}
