/* app.c — request handling for the token and download operations. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "sjson.h"
#include "log.h"
#include "negotiate.h"
#include "render.h"
#include "route.h"
#include "storage.h"

#define PERMISSION	"media:read"
#define RETRY_AFTER	"2"	/* seconds; connect_timeout is 2 s too */

/* What a failed request carries to fail(): status, client text, log text. */
struct failure {
	enum mg_err	 err;
	const char	*why;		/* client-safe detail */
	const char	*cause;		/* log-only detail, or NULL */
	const char	*allow;		/* Allow for 405 */
};

void
app_init(struct app *app, const struct config *cfg, struct db *db)
{
	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->db = db;
	app->policy.issuer = cfg->jwt_issuer;
	app->policy.audience = cfg->jwt_audience;
	app->policy.tenant_claim = cfg->tenant_claim;
	app->policy.permission = PERMISSION;
	app->policy.leeway = cfg->jwt_leeway;
	app->tokens.keys = cfg->token_keys;
	app->tokens.ttl = cfg->token_ttl;
	app->tokens.tenant_on = cfg->tenant_claim != NULL;
}

void
app_free(struct app *app)
{
	buf_free(&app->scratch);
}

void
response_free(struct response *resp)
{
	buf_free(&resp->head);
	buf_free(&resp->body);
}

static void
header(struct response *resp, const char *name, const char *value)
{
	buf_printf(&resp->head, "%s: %s\r\n", name, value);
}

/* Detail shown for errors whose real cause must stay in the log. */
static const char *
public_why(enum mg_err err, const char *why)
{
	switch (err) {
	case MG_EINTERNAL:
		return "An unexpected error occurred; it has been logged.";
	case MG_EUNAVAIL:
		return "The media database is unavailable; retry shortly.";
	default:
		return why != NULL ? why : err_reason(err_status(err));
	}
}

/*
 * The one place where an outcome becomes a response: status, headers of
 * RFC 6750 / RFC 9110 and a problem body in the client's format.
 */
static void
fail(struct response *resp, const struct request *req, enum media_type fmt,
    const char *reqid, const struct failure *f)
{
	char path[256], method[17], detail[512];
	int status = err_status(f->err);
	size_t i;

	buf_reset(&resp->head);
	buf_reset(&resp->body);
	resp->status = status;

	/* Both come from the client: printable ASCII only in the log. */
	route_loggable(req->uri, path, sizeof(path));
	for (i = 0; req->method[i] != '\0' && i + 1 < sizeof(method); i++)
		method[i] = req->method[i] > 0x20 && req->method[i] < 0x7f ?
		    req->method[i] : '?';
	method[i] = '\0';
	log_msg("%s %s %s: %d %s", reqid, method, path, status,
	    f->cause != NULL ? f->cause : public_why(f->err, f->why));

	if (f->err == MG_EAUTH)
		header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	else if (f->err == MG_ESCOPE)
		header(resp, "WWW-Authenticate", "Bearer error="
		    "\"insufficient_scope\", scope=\"" PERMISSION "\"");
	else if (f->err == MG_EMETHOD)
		header(resp, "Allow", f->allow);
	else if (f->err == MG_EUNAVAIL)
		header(resp, "Retry-After", RETRY_AFTER);

	if (f->err == MG_EINTERNAL || f->err == MG_EUNAVAIL)
		snprintf(detail, sizeof(detail), "%s (request %s)",
		    public_why(f->err, f->why), reqid);
	else
		snprintf(detail, sizeof(detail), "%s",
		    public_why(f->err, f->why));

	header(resp, "Cache-Control", "no-store");
	header(resp, "Vary", "Accept");
	if (fmt == MT_HTML) {
		header(resp, "Content-Type", "text/html; charset=utf-8");
		render_problem_html(&resp->body, status, detail);
	} else {
		header(resp, "Content-Type", "application/problem+json");
		if (render_problem_json(&resp->body, status, detail) != MG_OK)
			buf_printf(&resp->body, "{\"status\":%d}", status);
	}
}

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

static void
issue(struct app *app, const struct request *req, const struct body *body,
    const struct route *rt, enum media_type fmt, time_t now,
    const char *reqid, struct response *resp)
{
	const struct config *cfg = app->cfg;
	struct failure f = { 0 };
	struct principal who;
	struct media m;
	char errbuf[512];
	struct buf *url = &app->scratch;
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
	f.err = auth_bearer(cfg->bearer_keys, &app->policy,
	    req->authorization, now, &who, &f.why);
	if (f.err != MG_OK)
		goto fail;
	if (check_body(body) != MG_OK) {
		f.err = MG_EBADREQ;
		f.why = "The request body must be empty or a JSON object.";
		goto fail;
	}

	f.err = db_media_lookup(app->db, rt->id,
	    cfg->tenant_claim != NULL ? who.tenant : NULL, &m, errbuf,
	    sizeof(errbuf));
	if (f.err != MG_OK) {
		f.why = "No such media.";
		f.cause = f.err == MG_ENOTFOUND ? NULL : errbuf;
		goto fail;
	}
	if (m.storage_file_name == NULL) {
		db_media_free(&m);
		f.err = MG_ENOFILE;
		f.why = "The media has no stored file yet.";
		goto fail;
	}
	db_media_free(&m);

	/* url = origin + base path + /media/{id}/download/{token} */
	buf_reset(url);
	if (cfg->public_url != NULL)
		buf_puts(url, cfg->public_url);
	else if (request_origin(req, url) != MG_OK) {
		f.err = MG_EBADREQ;
		f.why = "The request's host name is malformed.";
		goto fail;
	}
	buf_printf(url, "%s/media/%s/download/", cfg->base_path, rt->id);
	token_at = url->len;
	f.err = token_mint(&app->tokens, rt->id, who.tenant, now, url,
	    &f.cause);
	if (f.err != MG_OK)
		goto fail;

	resp->status = 201;
	header(resp, "Cache-Control", "no-store");
	header(resp, "Vary", "Accept");
	if (fmt == MT_HTML) {
		header(resp, "Content-Type", "text/html; charset=utf-8");
		render_token_html(&resp->body, rt->id, url->ptr + token_at,
		    url->ptr, cfg->token_ttl);
	} else {
		header(resp, "Content-Type", "application/json");
		if (render_token_json(&resp->body, url->ptr + token_at,
		    url->ptr) != MG_OK) {
			f.err = MG_EINTERNAL;
			f.cause = "JSON generation failed";
			goto fail;
		}
	}
	return;
fail:
	fail(resp, req, fmt, reqid, &f);
}

/* A stored MIME type becomes Content-Type only if it looks like one. */
static const char *
content_type(const char *mime)
{
	if (mime == NULL || *mime == '\0' || strlen(mime) > 255 ||
	    strchr(mime, '/') == NULL ||
	    strspn(mime, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789!#$&^_.+-/;= \"") != strlen(mime))
		return "application/octet-stream";
	return mime;
}

static void
download(struct app *app, const struct request *req, const struct route *rt,
    enum media_type fmt, time_t now, const char *reqid,
    struct response *resp)
{
	const struct config *cfg = app->cfg;
	struct failure f = { 0 };
	char tenant[AUTH_TENANT_MAX + 1], errbuf[512];
	struct buf *path = &app->scratch;
	struct media m;
	int url_decoding;

	f.err = token_check(&app->tokens, rt->token, rt->id, now, tenant,
	    &f.why);
	if (f.err != MG_OK)
		goto fail;
	f.err = db_media_lookup(app->db, rt->id,
	    cfg->tenant_claim != NULL ? tenant : NULL, &m, errbuf,
	    sizeof(errbuf));
	if (f.err != MG_OK) {
		f.why = "No such media.";
		f.cause = f.err == MG_ENOTFOUND ? NULL : errbuf;
		goto fail;
	}
	if (m.storage_file_name == NULL) {
		db_media_free(&m);
		f.err = MG_ENOFILE;
		f.why = "The media has no stored file yet.";
		goto fail;
	}
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
		db_media_free(&m);
		f.why = f.err == MG_ENOTFOUND ? "The stored file is missing." :
		    NULL;
		goto fail;
	}

	resp->status = 200;
	header(resp, config_sendfile_header(cfg->sendfile), path->ptr);
	header(resp, "Content-Type", content_type(m.mime_type));
	buf_puts(&resp->head, "Content-Disposition: ");
	render_content_disposition(&resp->head, m.file_name);
	buf_puts(&resp->head, "\r\n");
	header(resp, "Cache-Control", "private, no-store");
	header(resp, "X-Content-Type-Options", "nosniff");
	resp->no_body = true;
	db_media_free(&m);
	return;
fail:
	fail(resp, req, fmt, reqid, &f);
}

void
app_handle(struct app *app, const struct request *req,
    const struct body *body, time_t now, struct response *resp)
{
	struct failure f = { 0 };
	enum media_type fmt;
	struct route rt;
	char reqid[80];
	bool head;

	buf_reset(&resp->head);
	buf_reset(&resp->body);
	resp->status = 500;
	resp->no_body = false;
	/* A reload (keys.c) may have replaced the keyring since the last
	 * request. */
	app->tokens.keys = app->cfg->token_keys;

	log_request_id(req->request_id, reqid, sizeof(reqid));
	/* Errors follow the client's preference too; with none of ours
	 * acceptable they fall back to problem+json. */
	fmt = negotiate(req->accept);
	head = strcmp(req->method, "HEAD") == 0;

	f.err = route_match(req->uri, app->cfg->base_path, &rt, &f.why);
	if (f.err == MG_OK && rt.kind == ROUTE_DOWNLOAD &&
	    app->cfg->storage_root == NULL) {
		f.err = MG_ENOTFOUND;
		f.why = "Downloads are not served here.";
		f.cause = "download requested but MEDIAGATE_STORAGE_ROOT is "
		    "not set";
	}
	if (f.err == MG_OK && rt.kind == ROUTE_ISSUE &&
	    strcmp(req->method, "POST") != 0) {
		f.err = MG_EMETHOD;
		f.why = "Use POST to obtain a download token.";
		f.allow = "POST";
	}
	if (f.err == MG_OK && rt.kind == ROUTE_DOWNLOAD && !head &&
	    strcmp(req->method, "GET") != 0) {
		f.err = MG_EMETHOD;
		f.why = "Use GET or HEAD to download.";
		f.allow = "GET, HEAD";
	}
	if (f.err != MG_OK)
		fail(resp, req, fmt == MT_NONE ? MT_JSON : fmt, reqid, &f);
	else if (rt.kind == ROUTE_ISSUE)
		issue(app, req, body, &rt, fmt, now, reqid, resp);
	else
		download(app, req, &rt, fmt == MT_NONE ? MT_JSON : fmt, now,
		    reqid, resp);
	if (head)
		resp->no_body = true;
}
