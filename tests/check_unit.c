/* check_unit.c — unit tests of mediagate's pure core. */
#include <stdlib.h>

#include "unit_suites.h"

int
main(void)
{
	SRunner *sr = srunner_create(suite_route());
	int failed;

	srunner_add_suite(sr, suite_negotiate());
	srunner_add_suite(sr, suite_sjson());
	srunner_add_suite(sr, suite_auth());
	srunner_add_suite(sr, suite_token());
	srunner_add_suite(sr, suite_render());
	srunner_add_suite(sr, suite_config());
	srunner_add_suite(sr, suite_request());
	srunner_add_suite(sr, suite_storage());
	srunner_add_suite(sr, suite_jwks());
	srunner_add_suite(sr, suite_keys());
	srunner_add_suite(sr, suite_core());
	srunner_add_suite(sr, suite_jws());
	srunner_add_suite(sr, suite_mime());
	srunner_add_suite(sr, suite_db());
	srunner_add_suite(sr, suite_app_origin());
	srunner_add_suite(sr, suite_metrics());
	srunner_add_suite(sr, suite_audit());
	srunner_add_suite(sr, suite_sigcache());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
