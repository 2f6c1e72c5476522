/* storage.c — confine stored paths to the storage root. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage.h"

int
storage_name_ok(const char *name)
{
	const char *seg, *end;
	size_t len;

	if (name[0] == '\0' || name[0] == '/' || strlen(name) > PATH_MAX / 2)
		return 0;
	for (end = name; *end != '\0'; end++)
		if ((unsigned char)*end < 0x20 || *end == 0x7f || *end == '\\')
			return 0;
	for (seg = name; ; seg = end + 1) {
		end = strchr(seg, '/');
		len = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if (len == 0 || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (end == NULL)
			return 1;
	}
}

/* RFC 3986 path characters that need no encoding in a URI path. */
static void
append_uri_path(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			buf_putc(out, (char)*p);
		else {
			buf_putc(out, '%');
			buf_putc(out, hex[*p >> 4]);
			buf_putc(out, hex[*p & 15]);
		}
	}
}

enum mg_err
storage_resolve(const char *root, enum sendfile_kind kind, int url_decoding,
    const char *name, struct buf *out, const char **why)
{
	char joined[PATH_MAX], real[PATH_MAX];
	size_t rlen = strlen(root);
	struct stat st;
	const char *p;

	if (!storage_name_ok(name)) {
		*why = "storage_file_name is not a safe relative path";
		return MG_EINTERNAL;
	}
	if (kind == SENDFILE_X_ACCEL) {
		append_uri_path(out, root);
		buf_putc(out, '/');
		append_uri_path(out, name);
		return MG_OK;
	}
	if (rlen + 1 + strlen(name) >= sizeof(joined)) {
		*why = "storage_file_name is too long";
		return MG_EINTERNAL;
	}
	memcpy(joined, root, rlen);
	joined[rlen] = '/';
	strcpy(joined + rlen + 1, name);
	if (realpath(joined, real) == NULL) {
		*why = errno == ENOENT || errno == ENOTDIR ?
		    "stored file is missing" : "stored file cannot be resolved";
		return MG_ENOTFOUND;
	}
	/* A symlink inside the root may point anywhere: check the target. */
	if (strncmp(real, root, rlen) != 0 ||
	    (real[rlen] != '/' && !(rlen == 1 && root[0] == '/'))) {
		*why = "stored file resolves outside MEDIAGATE_STORAGE_ROOT";
		return MG_EINTERNAL;
	}
	for (p = real; *p != '\0'; p++)	/* it becomes a header value */
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "stored file resolves to a name with control "
			    "characters";
			return MG_EINTERNAL;
		}
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "stored file is not a regular file";
		return MG_ENOTFOUND;
	}
	/* lighttpd URL-decodes the path it is given: "a%41" would be "aA". */
	for (p = real; *p != '\0'; p++)
		if (*p == '%' && url_decoding)
			buf_puts(out, "%25");
		else
			buf_putc(out, *p);
	return MG_OK;
}
