/*
 * app_ops.c — the operations endpoints (§7.1 /healthz, §7.2 /metrics)
 * and the audit hook of the two operations (§7.3).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app_int.h"
#include "audit.h"
#include "log.h"

static bool
method_is(const struct request *req, const char *a, const char *b)
{
	return strcmp(req->method, a) == 0 ||
	    (b != NULL && strcmp(req->method, b) == 0);
}

/*
 * 200 {"status":"ok"} when the store answers a trivial query within
 * APP_HEALTH_MS, reconnecting as a request would; otherwise 503 with
 * Retry-After.  Nothing else is said: the cause goes to the log.
 */
void
app_health(struct app *app, const struct request *req, const char *reqid,
    struct response *resp)
{
	struct failure f = { 0 };
	char errbuf[512];

	if (!method_is(req, "GET", "HEAD")) {
		f.err = MG_EMETHOD;
		f.why = "Use GET or HEAD.";
		f.allow = "GET, HEAD";
		app_fail(resp, req, MT_JSON, reqid, &f);
		return;
	}
	if (app->media.ping == NULL)
		snprintf(errbuf, sizeof(errbuf), "the media source cannot "
		    "be checked");
	if (app->media.ping == NULL || media_ping(&app->media, APP_HEALTH_MS,
	    errbuf, sizeof(errbuf)) != MG_OK) {
		f.err = MG_EUNAVAIL;
		f.cause = errbuf;
		app_fail(resp, req, MT_JSON, reqid, &f);
		return;
	}
	resp->status = 200;
	app_header(resp, "Cache-Control", "no-store");
	app_header(resp, "Content-Type", "application/json");
	buf_puts(&resp->body, "{\"status\":\"ok\"}");
}

/*
 * The summed counters in the text format 0.0.4, for allowed REMOTE_ADDRs
 * only (403 for others, before anything is read); 404 when metrics are
 * off, as for any unknown path.
 */
void
app_metrics(struct app *app, const struct request *req, const char *reqid,
    struct response *resp)
{
	const struct config *cfg = app->cfg;
	struct failure f = { 0 };
	struct metrics_counts sum;
	unsigned responders;

	if (cfg->metrics_file == NULL || !metrics_attached()) {
		f.err = MG_ENOTFOUND;
		f.why = "No such resource.";
		goto fail;
	}
	if (!metrics_allow_match(&cfg->metrics_allow, req->remote_addr)) {
		f.err = MG_EFORBIDDEN;
		f.why = "This address may not read the metrics.";
		goto fail;
	}
	if (!method_is(req, "GET", "HEAD")) {
		f.err = MG_EMETHOD;
		f.why = "Use GET.";
		f.allow = "GET, HEAD";
		goto fail;
	}
	if (metrics_snapshot(&sum, &responders) != 0) {
		f.err = MG_EINTERNAL;
		f.cause = "metrics snapshot failed";
		goto fail;
	}
	resp->status = 200;
	app_header(resp, "Cache-Control", "no-store");
	app_header(resp, "Content-Type", METRICS_CONTENT_TYPE);
	metrics_render(&sum, responders, app->version != NULL ?
	    app->version : "unknown", &resp->body);
	return;
fail:
	app_fail(resp, req, MT_JSON, reqid, &f);
}

static const char *
known(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

void
app_audit(struct app *app, const struct request *req, enum media_type fmt,
    const char *reqid, const char *event, const char *media,
    const char *tenant, const char *sub, const char *jti,
    struct response *resp)
{
	struct audit_event ev = { 0 };
	struct failure f = { 0 };

	if (!audit_enabled())
		return;
	clock_gettime(CLOCK_REALTIME, &ev.ts);
	ev.event = event;
	ev.status = resp->status;
	ev.request_id = reqid;
	ev.media = media;
	ev.tenant = app->cfg->tenant_claim != NULL ? known(tenant) : NULL;
	ev.sub = sub;
	ev.jti = known(jti);
	ev.client = req->remote_addr;
	ev.range = strcmp(event, "download") == 0 ? req->range : NULL;
	f.err = audit_write(&ev, &f.cause);
	if (f.err == MG_OK)
		return;
	/* Fail-closed: no line, no token, no download. */
	resp->no_body = false;
	app_fail(resp, req, fmt == MT_NONE ? MT_JSON : fmt, reqid, &f);
}
