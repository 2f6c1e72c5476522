/* unit_negotiate.c — RFC 9110 §12.5.1 Accept rules. */
#include <stddef.h>

#include "negotiate.h"
#include "unit_suites.h"

static const struct {
	const char	*accept;
	enum media_type	 want;
} cases[] = {
	{ NULL, MT_JSON },
	{ "", MT_JSON },
	{ "  ", MT_JSON },
	{ "*/*", MT_JSON },
	{ "application/json", MT_JSON },
	{ "text/html", MT_HTML },
	{ "TEXT/HTML", MT_HTML },
	{ "text/*", MT_HTML },
	{ "application/*", MT_JSON },
	{ "text/html, application/json", MT_JSON },		/* tie */
	{ "application/json, text/html", MT_JSON },
	{ "text/html;q=0.9, application/json;q=0.8", MT_HTML },
	{ "text/html;q=0.8, application/json;q=0.9", MT_JSON },
	{ "text/html ; q=1.0 , application/json ; q=0.999", MT_HTML },
	{ "application/json;q=0, */*", MT_HTML },
	{ "text/html;q=0, */*", MT_JSON },
	/* The most specific range decides, not the highest q. */
	{ "*/*;q=1, application/json;q=0.1, text/*;q=0.5", MT_HTML },
	{ "text/*;q=0.9, text/html;q=0", MT_NONE },
	{ "text/*;q=0.9, text/html;q=0, */*;q=0.1", MT_JSON },
	{ "image/*;q=1, text/html;q=0.5", MT_HTML },
	{ "text/plain", MT_NONE },
	{ "application/json;q=0", MT_NONE },
	{ "*/*;q=0", MT_NONE },
	{ "application/xml, image/png", MT_NONE },
	{ "garbage", MT_NONE },
	{ "*/html", MT_NONE },				/* not a range */
	{ "text/html;q=2", MT_NONE },			/* bad qvalue */
	{ "text/html;q=0.1234", MT_NONE },		/* too many digits */
	{ "text/html;q=abc, application/json;q=0.1", MT_JSON },
	{ "text/html;level=1;q=0.9, application/json;q=0.5", MT_HTML },
	{ "text/html;foo=\"a,b;q=0\";q=0.7, application/json;q=0.6", MT_HTML },
	{ ",,, text/html ,", MT_HTML },
	{ "application/problem+json", MT_NONE },
	{ "text/html;q=1.000", MT_HTML },
	{ "text/html;Q=0.5, application/json;q=0.4", MT_HTML },
};

START_TEST(accept_table)
{
	enum media_type got = negotiate(cases[_i].accept);

	ck_assert_msg(got == cases[_i].want, "Accept '%s': got %d want %d",
	    cases[_i].accept ? cases[_i].accept : "(none)", got,
	    cases[_i].want);
}
END_TEST

Suite *
suite_negotiate(void)
{
	Suite *s = suite_create("negotiate");
	TCase *tc = tcase_create("accept");

	tcase_add_loop_test(tc, accept_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
