/* render.c — JSON bodies, UTF-8 checks, Content-Disposition (HTML pages:
 * render_html.c). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "render.h"

static bool
gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ==
	    yajl_gen_status_ok;
}

/* Generate a flat object of string members (NULL-terminated pairs). */
static enum mg_err
gen_object(struct buf *out, const char *const *kv, int status)
{
	const unsigned char *p;
	size_t len;
	yajl_gen g;
	bool ok;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return MG_EINTERNAL;
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	ok = yajl_gen_map_open(g) == yajl_gen_status_ok;
	for (; ok && kv[0] != NULL; kv += 2) {
		ok = gen_str(g, kv[0]);
		if (ok && kv[1] == NULL)	/* the status number */
			ok = yajl_gen_integer(g, status) == yajl_gen_status_ok;
		else if (ok)
			ok = gen_str(g, kv[1]);
	}
	ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    yajl_gen_get_buf(g, &p, &len) == yajl_gen_status_ok;
	if (ok)
		buf_append(out, p, len);	/* p belongs to g */
	yajl_gen_free(g);
	return ok ? MG_OK : MG_EINTERNAL;
}

enum mg_err
render_token_json(struct buf *out, const char *token, const char *url)
{
	const char *kv[] = { "token", token, "url", url, NULL };

	return gen_object(out, kv, 0);
}

enum mg_err
render_problem_json(struct buf *out, int status, const char *detail)
{
	/* "status" has a NULL value: gen_object writes the number there. */
	const char *kv[] = {
		"type", "about:blank", "title", err_reason(status),
		"status", NULL, "detail", detail, NULL,
	};
	return gen_object(out, kv, status);
}

size_t
render_utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xe0 && p[1] < 0xa0)
			return 0;
		if (p[0] == 0xed && p[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xf0 && p[1] < 0x90)
			return 0;
		if (p[0] == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* RFC 8187 §3.2.1 attr-char. */
static bool
is_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&+-.^_`|~", c));
}

void
render_content_disposition(struct buf *out, const char *file_name)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	struct buf ascii = { 0 }, ext = { 0 };
	size_t n, i;

	for (p = (const unsigned char *)file_name; *p != '\0'; p += n) {
		if ((n = render_utf8_len(p)) == 0) {	/* invalid byte: drop it */
			n = 1;
			continue;
		}
		/* C0 controls, DEL and the C1 range U+0080..U+009F. */
		if (*p < 0x20 || *p == 0x7f ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			continue;
		if (n > 1)
			buf_putc(&ascii, '_');
		else {
			if (*p == '"' || *p == '\\')
				buf_putc(&ascii, '\\');
			buf_putc(&ascii, (char)*p);
		}
		for (i = 0; i < n; i++) {
			if (is_attr_char(p[i]))
				buf_putc(&ext, (char)p[i]);
			else {
				buf_putc(&ext, '%');
				buf_putc(&ext, hex[p[i] >> 4]);
				buf_putc(&ext, hex[p[i] & 15]);
			}
		}
	}
	if (ascii.len == 0) {
		buf_puts(&ascii, "download");
		buf_puts(&ext, "download");
	}
	buf_printf(out, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
	    buf_str(&ascii), buf_str(&ext));
	buf_free(&ascii);
	buf_free(&ext);
}
