/* app_issue.c — POST /media/{id}/download-token: bearer, lookup, mint. */
#include <stdbool.h>
#include <string.h>

#include "app_int.h"
#include "render.h"
#include "sjson.h"

/* RFC 8259: an empty body, or exactly one JSON object, is accepted. */
static enum mg_err
check_body(const struct body *body)
{
	bool is_object;
	size_t i;

	/* RFC 8259 §2 whitespace; a NUL byte is not (strchr finds the
	 * terminator). */
	for (i = 0; i < body->len; i++)
		if (body->data[i] == '\0' || !strchr(" \t\r\n", body->data[i]))
			break;
	if (i == body->len)
		return MG_OK;
	return sjson_check(body->data, body->len, 64, &is_object) &&
	    is_object ? MG_OK : MG_EBADREQ;
}

void
app_issue(struct app *app, const struct request *req, const struct body *body,
    const struct route *rt, enum media_type fmt, time_t now,
    const char *reqid, struct response *resp)
{
	const struct config *cfg = app->cfg;
	struct failure f = { 0 };
	struct principal who;
	struct media m;
	bool have_m = false;
	char errbuf[512];
	struct buf *url = &app->scratch;
	char jti[TOKEN_JTI_MAX + 1];
	size_t token_at;

	if (fmt == MT_NONE) {
		f.err = MG_ENOTACCEPT;
		f.why = "This resource is available as application/json or "
		    "text/html.";
		goto fail;
	}
	if (body->too_large || req->content_length > APP_BODY_MAX) {
		f.err = MG_ETOOLARGE;
		f.why = "The request body is larger than 64 KiB.";
		goto fail;
	}
	if (req->content_length_bad) {
		f.err = MG_EBADREQ;
		f.why = "The Content-Length header is malformed.";
		goto fail;
	}
	/* url = origin + base path + /media/{id}/download/{token}, the origin
	 * first: a request that cannot have a URL fails before any bearer
	 * check or database work is done for it. */
	buf_reset(url);
	if (cfg->public_url != NULL)
		buf_puts(url, cfg->public_url);
	else if (request_origin(req, url) != MG_OK) {
		f.err = MG_EBADREQ;
		f.why = "The request's host name is malformed.";
		goto fail;
	}

	f.err = auth_bearer(cfg->bearer_keys, &app->policy,
	    req->authorization, now, &who, &f.why);
	if (f.err != MG_OK)
		goto fail;
	if (check_body(body) != MG_OK) {
		f.err = MG_EBADREQ;
		f.why = "The request body must be empty or a JSON object.";
		goto fail;
	}

	if (app_find_stored(app, rt->id, who.tenant, &m, &f, errbuf,
	    sizeof(errbuf)) != MG_OK)
		goto fail;
	/* m is kept until the page that shows its file name is written. */
	have_m = true;

	buf_puts(url, cfg->base_path);
	buf_puts(url, "/media/");
	buf_puts(url, rt->id);
	buf_puts(url, "/download/");
	token_at = url->len;
	f.err = token_mint_jti(&app->tokens, rt->id, who.tenant, now, url,
	    jti, &f.cause);
	if (f.err != MG_OK)
		goto fail;

	resp->status = 201;
	app_header(resp, "Cache-Control", "no-store");
	app_header(resp, "Vary", "Accept");
	if (fmt == MT_HTML) {
		struct token_page page = {
			.id = rt->id, .file_name = m.file_name,
			.token = url->ptr + token_at, .url = url->ptr,
			.expires = now + cfg->token_ttl, .ttl = cfg->token_ttl,
		};

		app_html_headers(resp);
		render_token_html(&resp->body, &page);
	} else {
		app_header(resp, "Content-Type", "application/json");
		if (render_token_json(&resp->body, url->ptr + token_at,
		    url->ptr) != MG_OK) {
			f.err = MG_EINTERNAL;
			f.cause = "JSON generation failed";
			goto fail;
		}
	}
	media_release(&app->media, &m);
	/* With the issued token's jti, so that the auditor can join this
	 * line with the download lines of the same token. */
	app_audit(app, req, fmt, reqid, "issue", rt->id, who.tenant,
	    who.has_sub ? who.sub : NULL, jti, resp);
	return;
fail:
	if (have_m)
		media_release(&app->media, &m);
	app_fail(resp, req, fmt, reqid, &f);
}
