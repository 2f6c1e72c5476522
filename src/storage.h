/*
 * storage.h — turn a stored file name into the path handed to the web
 * server, never outside MEDIAGATE_STORAGE_ROOT.
 */
#ifndef MG_STORAGE_H
#define MG_STORAGE_H

#include "buf.h"
#include "config.h"
#include "err.h"

/*
 * Lexical rules on storage_file_name (pure): relative, non-empty, no "."
 * or ".." segment, no empty segment, no control characters or backslash.
 * Returns 1 if acceptable.
 */
int storage_name_ok(const char *name);

/*
 * Append to out the value of the sendfile header for name under root.
 * For X-Sendfile and X-LIGHTTPD-send-file the path is resolved with
 * realpath(3) and must still lie inside root, so a symlink cannot lead
 * out; for X-Accel-Redirect it is root + "/" + name, percent-encoded.
 * url_decoding: the web server percent-decodes the header (lighttpd does,
 * Apache mod_xsendfile does not), so '%' is sent as "%25".
 * MG_ENOTFOUND if the file does not exist or is not a regular file,
 * MG_EINTERNAL (with *why for the log) if name is unsafe.
 */
enum mg_err storage_resolve(const char *root, enum sendfile_kind kind,
    int url_decoding, const char *name, struct buf *out, const char **why);

#endif
