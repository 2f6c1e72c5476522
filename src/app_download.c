/* app_download.c — GET|HEAD /media/{id}/download/{token}: token, lookup,
 * the sendfile header. */
#include <string.h>

#include "app_int.h"
#include "mime.h"
#include "render.h"
#include "storage.h"

void
app_download(struct app *app, const struct request *req,
    const struct route *rt, enum media_type fmt, time_t now,
    const char *reqid, struct response *resp)
{
	const struct config *cfg = app->cfg;
	struct failure f = { 0 };
	char tenant[AUTH_TENANT_MAX + 1], errbuf[512];
	char jti[TOKEN_JTI_MAX + 1];
	struct buf *path = &app->scratch;
	struct media m;
	int url_decoding;

	f.err = token_check_jti(&app->tokens, rt->token, rt->id, now, tenant,
	    jti, &f.why);
	if (f.err != MG_OK)
		goto fail;
	if (app_find_stored(app, rt->id, tenant, &m, &f, errbuf,
	    sizeof(errbuf)) != MG_OK)
		goto fail;
	/* lighttpd decodes %XX in X-Sendfile and X-LIGHTTPD-send-file;
	 * Apache mod_xsendfile takes the path as it is.  SERVER_SOFTWARE is
	 * set by the web server, not the client. */
	url_decoding = cfg->sendfile == SENDFILE_X_LIGHTTPD ||
	    (req->server_software != NULL &&
	    strncmp(req->server_software, "lighttpd", 8) == 0);
	buf_reset(path);
	f.err = storage_resolve(cfg->storage_root, cfg->sendfile, url_decoding,
	    m.storage_file_name, path, &f.cause);
	if (f.err != MG_OK) {
		media_release(&app->media, &m);
		f.why = f.err == MG_ENOTFOUND ? "The stored file is missing." :
		    NULL;
		goto fail;
	}

	resp->status = 200;
	app_header(resp, config_sendfile_header(cfg->sendfile), path->ptr);
	app_header(resp, "Content-Type", mime_content_type(m.mime_type));
	buf_puts(&resp->head, "Content-Disposition: ");
	render_content_disposition(&resp->head, m.file_name);
	buf_puts(&resp->head, "\r\n");
	app_header(resp, "Cache-Control", "private, no-store");
	app_header(resp, "X-Content-Type-Options", "nosniff");
	/* The download URL holds the token: a file the browser shows (or
	 * a viewer it opens) must not send it on as a Referer. */
	app_header(resp, "Referrer-Policy", "no-referrer");
	resp->no_body = true;
	media_release(&app->media, &m);
	goto audit;
fail:
	app_fail(resp, req, fmt, reqid, &f);
audit:
	/* Every download that reached the token check, whatever its
	 * answer (§7.3). */
	app_audit(app, req, fmt, reqid, "download", rt->id, tenant, NULL, jti,
	    resp);
}
