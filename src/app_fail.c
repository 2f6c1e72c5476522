/* app_fail.c — the single place where an outcome becomes an HTTP response. */
#include <stdio.h>

#include "app_int.h"
#include "log.h"
#include "render.h"

void
app_header(struct response *resp, const char *name, const char *value)
{
	/* Appends, not buf_printf(): this runs five to eight times per
	 * request, and vfprintf was a tenth of a download's instructions. */
	buf_puts(&resp->head, name);
	buf_append(&resp->head, ": ", 2);
	buf_puts(&resp->head, value);
	buf_append(&resp->head, "\r\n", 2);
}

/*
 * An HTML page of ours needs nothing but its own inline <style>: the CSP
 * (W3C CSP Level 3) forbids every script, fetch, plugin and form, and
 * with frame-ancestors no other site can frame the page to trick a click
 * (clickjacking); base-uri keeps an injected <base> from redirecting the
 * link.  nosniff keeps the type as sent; no-referrer keeps the page's URL
 * out of the Referer of the link it holds (the Fetch and Referrer Policy
 * specifications).
 */
void
app_html_headers(struct response *resp)
{
	app_header(resp, "Content-Type", "text/html; charset=utf-8");
	app_header(resp, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; frame-ancestors 'none'; "
	    "base-uri 'none'; form-action 'none'");
	app_header(resp, "X-Content-Type-Options", "nosniff");
	app_header(resp, "Referrer-Policy", "no-referrer");
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
	case MG_EAUDIT:
		return "The service cannot record this request; retry "
		    "shortly.";
	default:
		return why != NULL ? why : err_reason(err_status(err));
	}
}

void
app_fail(struct response *resp, const struct request *req,
    enum media_type fmt, const char *reqid, const struct failure *f)
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
		app_header(resp, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
	else if (f->err == MG_ESCOPE)
		app_header(resp, "WWW-Authenticate", "Bearer error="
		    "\"insufficient_scope\", scope=\"" APP_PERMISSION "\"");
	else if (f->err == MG_EMETHOD)
		app_header(resp, "Allow", f->allow);
	else if (f->err == MG_EUNAVAIL || f->err == MG_EAUDIT)
		app_header(resp, "Retry-After", APP_RETRY_AFTER);

	if (f->err == MG_EINTERNAL || f->err == MG_EUNAVAIL ||
	    f->err == MG_EAUDIT)
		snprintf(detail, sizeof(detail), "%s (request %s)",
		    public_why(f->err, f->why), reqid);
	else
		snprintf(detail, sizeof(detail), "%s",
		    public_why(f->err, f->why));

	app_header(resp, "Cache-Control", "no-store");
	app_header(resp, "Vary", "Accept");
	if (fmt == MT_HTML) {
		app_html_headers(resp);
		render_problem_html(&resp->body, status, detail);
	} else {
		app_header(resp, "Content-Type", "application/problem+json");
		if (render_problem_json(&resp->body, status, detail) != MG_OK)
			buf_printf(&resp->body, "{\"status\":%d}", status);
	}
}
