/* unit_storage.c — stored names never lead outside the storage root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"
#include "testkeys.h"
#include "unit_suites.h"

START_TEST(name_rules)
{
	static const char *const ok[] = {
		"a.pdf", "acme/invoices/a.pdf", "a..b", ".hidden", "a b/c",
		"\xc3\xa9.pdf",
	};
	static const char *const bad[] = {
		"", "/etc/passwd", "..", "../x", "a/../../x", "a/..", "./a",
		"a/./b", "a//b", "a/", "a\\..\\b", "a\nb", "a\rb", "a\x7f",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(storage_name_ok(ok[i]), "%s", ok[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!storage_name_ok(bad[i]), "%s", bad[i]);
}
END_TEST

START_TEST(resolve_confined)
{
	char root[] = "/tmp/mg-unit-storage-XXXXXX", path[512], cmd[600];
	char outside[] = "/tmp/mg-unit-outside-XXXXXX";
	struct buf out = { 0 };
	const char *why;
	char *f;

	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_ptr_nonnull(mkdtemp(outside));
	snprintf(path, sizeof(path), "%s/sub", root);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	f = tk_write_file(path, "f.pdf", "x", 1, 0600);
	free(f);
	f = tk_write_file(outside, "secret", "s", 1, 0600);
	snprintf(path, sizeof(path), "%s/link", root);
	ck_assert_int_eq(symlink(f, path), 0);
	snprintf(path, sizeof(path), "%s/dirlink", root);
	ck_assert_int_eq(symlink(outside, path), 0);
	snprintf(path, sizeof(path), "%s/inlink", root);
	ck_assert_int_eq(symlink("sub/f.pdf", path), 0);
	free(f);

	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0,
	    "sub/f.pdf", &out, &why), MG_OK);
	snprintf(path, sizeof(path), "%s/sub/f.pdf", root);
	ck_assert_str_eq(out.ptr, path);
	buf_reset(&out);
	/* A symlink that stays inside is fine. */
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0,
	    "inlink", &out, &why), MG_OK);
	ck_assert_str_eq(out.ptr, path);
	buf_reset(&out);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0, "link",
	    &out, &why), MG_EINTERNAL);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0,
	    "dirlink/secret", &out, &why), MG_EINTERNAL);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0,
	    "../x", &out, &why), MG_EINTERNAL);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0,
	    "/etc/passwd", &out, &why), MG_EINTERNAL);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0,
	    "missing.pdf", &out, &why), MG_ENOTFOUND);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0, "sub",
	    &out, &why), MG_ENOTFOUND);
	ck_assert_int_eq(out.len, 0);

	/* A server that URL-decodes the header gets '%' escaped. */
	f = tk_write_file(root, "p%41.pdf", "p", 1, 0600);
	free(f);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 1,
	    "p%41.pdf", &out, &why), MG_OK);
	snprintf(path, sizeof(path), "%s/p%%2541.pdf", root);
	ck_assert_str_eq(out.ptr, path);
	buf_reset(&out);
	ck_assert_int_eq(storage_resolve(root, SENDFILE_X_SENDFILE, 0,
	    "p%41.pdf", &out, &why), MG_OK);
	snprintf(path, sizeof(path), "%s/p%%41.pdf", root);
	ck_assert_str_eq(out.ptr, path);
	buf_reset(&out);

	/* nginx: a URI under the internal prefix, percent-encoded. */
	ck_assert_int_eq(storage_resolve("/protected", SENDFILE_X_ACCEL, 0,
	    "a b/\xc3\xa9?.pdf", &out, &why), MG_OK);
	ck_assert_str_eq(out.ptr, "/protected/a%20b/%C3%A9%3F.pdf");
	buf_free(&out);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *
suite_storage(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create("storage");

	tcase_add_test(tc, name_rules);
	tcase_add_test(tc, resolve_confined);
	suite_add_tcase(s, tc);
	return s;
}
