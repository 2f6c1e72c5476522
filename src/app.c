/* app.c — the request core's entry: routing, method checks, dispatch. */
#include <string.h>

#include "app_int.h"
#include "log.h"

void
app_init(struct app *app, const struct config *cfg,
    const struct media_source *media)
{
	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->media = *media;
	app->policy.issuer = cfg->jwt_issuer;
	app->policy.audience = cfg->jwt_audience;
	app->policy.tenant_claim = cfg->tenant_claim;
	app->policy.permission = APP_PERMISSION;
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

enum mg_err
app_find_stored(struct app *app, const char *id, const char *tenant,
    struct media *m, struct failure *f, char *errbuf, size_t errsz)
{
	f->err = media_lookup(&app->media, id,
	    app->cfg->tenant_claim != NULL ? tenant : NULL, m, errbuf, errsz);
	if (f->err != MG_OK) {
		f->why = "No such media.";
		f->cause = f->err == MG_ENOTFOUND ? NULL : errbuf;
		return f->err;
	}
	if (m->storage_file_name == NULL) {
		media_release(&app->media, m);
		/* A token for it could never be used: 422 at issuing too. */
		f->err = MG_ENOFILE;
		f->why = "The media has no stored file yet.";
		return f->err;
	}
	return MG_OK;
}

void
response_free(struct response *resp)
{
	buf_free(&resp->head);
	buf_free(&resp->body);
}

/*
 * Order of checks: unknown path 404, malformed id 400, downloads not
 * served 404, method 405; then the operation (Accept 406, body size 413,
 * bearer 401/403, body 400, lookup …).
 */
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
	resp->head_only = false;

	log_request_id(req->request_id, reqid, sizeof(reqid));
	/* Errors follow the client's preference too; with none of ours
	 * acceptable they fall back to problem+json. */
	fmt = negotiate(req->accept);
	head = strcmp(req->method, "HEAD") == 0;

	f.err = route_match(req->uri, app->cfg->base_path, &rt, &f.why);
	/* The operation label: the resource addressed, whatever the answer
	 * (a malformed id keeps its kind). */
	resp->op = rt.kind == ROUTE_ISSUE ? METRICS_OP_ISSUE :
	    rt.kind == ROUTE_DOWNLOAD ? METRICS_OP_DOWNLOAD :
	    rt.kind == ROUTE_HEALTH ? METRICS_OP_HEALTH :
	    rt.kind == ROUTE_METRICS ? METRICS_OP_METRICS : METRICS_OP_OTHER;
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
		app_fail(resp, req, fmt == MT_NONE ? MT_JSON : fmt, reqid, &f);
	else if (rt.kind == ROUTE_HEALTH)
		app_health(app, req, reqid, resp);
	else if (rt.kind == ROUTE_METRICS)
		app_metrics(app, req, reqid, resp);
	else if (rt.kind == ROUTE_ISSUE)
		app_issue(app, req, body, &rt, fmt, now, reqid, resp);
	else
		app_download(app, req, &rt, fmt == MT_NONE ? MT_JSON : fmt,
		    now, reqid, resp);
	/* RFC 9110 §9.3.2: HEAD has the header fields GET would have,
	 * Content-Length included. */
	if (head)
		resp->head_only = true;
}
