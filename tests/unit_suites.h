/* unit_suites.h — the unit suites of tests/check_unit. */
#ifndef MG_UNIT_SUITES_H
#define MG_UNIT_SUITES_H

#include <check.h>

Suite	*suite_route(void);
Suite	*suite_negotiate(void);
Suite	*suite_sjson(void);
Suite	*suite_auth(void);
Suite	*suite_token(void);
Suite	*suite_render(void);
Suite	*suite_config(void);
Suite	*suite_request(void);
Suite	*suite_storage(void);
Suite	*suite_jwks(void);
Suite	*suite_keys(void);
Suite	*suite_core(void);
Suite	*suite_jws(void);
Suite	*suite_mime(void);
Suite	*suite_db(void);
Suite	*suite_app_origin(void);
Suite	*suite_metrics(void);
Suite	*suite_audit(void);
Suite	*suite_sigcache(void);

#endif
