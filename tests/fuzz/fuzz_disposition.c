/*
 * fuzz_disposition.c — rendering of values that come from the database or
 * the client: render_content_disposition(), render_html_escape(),
 * render_problem_json(), render_problem_html(), render_token_json() and
 * render_token_html().
 *
 * Input: the whole input is a stored file name and a problem detail; split
 * at its first newline it is a token and a URL.
 *
 * Invariants: a Content-Disposition value is printable ASCII (no CR, LF or
 * other control byte can reach a header), of the form
 *   attachment; filename="<quoted-string>"; filename*=UTF-8''<ext-value>
 * with only attr-chars and %XX in the ext-value; HTML escaping leaves no
 * markup character and no bare '&'; generated JSON reads back, through
 * the strict reader, as an object holding exactly the strings given.
 *
 * The file name (render_file_name) is valid UTF-8, 1..RENDER_NAME_MAX
 * bytes, holds no control character, '/', '\\', bidi control, zero-width
 * character or BOM, does not start or end with '.' or ' ', is not "." or
 * "..", keeps a safe extension of the input, and cleaning it again
 * changes nothing; the Content-Disposition value stays under 1.4 KB.
 *
 * HTML output (escaping, the token page, the error page) is valid UTF-8
 * with no control character but tab and newline, and a page holds
 * exactly the elements mediagate writes, whatever the values (no
 * "<script", one "<a " on the token page, none on an error page).
 */
#include "err.h"
#include "fuzz.h"
#include "render.h"
#include "sjson.h"

static int
is_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&+-.^_`|~", c));
}

static int
is_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static void
check_disposition(const char *name)
{
	static const char head[] = "attachment; filename=\"";
	static const char mid[] = "; filename*=UTF-8''";
	struct buf out = { 0 };
	const char *p;

	render_content_disposition(&out, name);
	p = buf_str(&out);
	FUZZ_ASSERT(strlen(p) == out.len);
	FUZZ_ASSERT(out.len < 1400);
	for (; *p != '\0'; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f);

	p = buf_str(&out);
	FUZZ_ASSERT(strncmp(p, head, sizeof(head) - 1) == 0);
	p += sizeof(head) - 1;
	FUZZ_ASSERT(*p != '"');		/* never an empty filename */
	for (; *p != '"'; p++) {
		FUZZ_ASSERT(*p != '\0');
		if (*p == '\\') {
			p++;
			FUZZ_ASSERT(*p == '"' || *p == '\\');
		}
	}
	p++;
	FUZZ_ASSERT(strncmp(p, mid, sizeof(mid) - 1) == 0);
	p += sizeof(mid) - 1;
	FUZZ_ASSERT(*p != '\0');
	for (; *p != '\0'; p++) {
		if (*p == '%') {
			FUZZ_ASSERT(is_upper_hex(p[1]) && is_upper_hex(p[2]));
			p += 2;
		} else
			FUZZ_ASSERT(is_attr_char((unsigned char)*p));
	}
	buf_free(&out);
}

/* The code point at p and its length, or 0 for invalid UTF-8 (decoded
 * independently of render.c, by the RFC 3629 §4 table). */
static size_t
decode(const unsigned char *p, unsigned *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf && (p[1] & 0xc0) == 0x80) {
		*cp = (unsigned)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
		return 2;
	}
	if (p[0] >= 0xe0 && p[0] <= 0xef && (p[1] & 0xc0) == 0x80 &&
	    (p[2] & 0xc0) == 0x80) {
		*cp = (unsigned)(p[0] & 0x0f) << 12 |
		    (unsigned)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		return *cp >= 0x800 && (*cp < 0xd800 || *cp > 0xdfff) ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4 && (p[1] & 0xc0) == 0x80 &&
	    (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80) {
		*cp = (unsigned)(p[0] & 0x07) << 18 |
		    (unsigned)(p[1] & 0x3f) << 12 |
		    (unsigned)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
		return *cp >= 0x10000 && *cp <= 0x10ffff ? 4 : 0;
	}
	return 0;
}

static void
check_file_name(const char *name)
{
	struct buf out = { 0 }, again = { 0 };
	const unsigned char *p;
	const char *dot;
	unsigned cp;
	size_t n, in_len = strlen(name);

	render_file_name(&out, name);
	FUZZ_ASSERT(out.len >= 1 && out.len <= RENDER_NAME_MAX);
	FUZZ_ASSERT(strlen(buf_str(&out)) == out.len);
	for (p = (const unsigned char *)buf_str(&out); *p != '\0'; p += n) {
		FUZZ_ASSERT((n = decode(p, &cp)) != 0);
		FUZZ_ASSERT(cp >= 0x20 && (cp < 0x7f || cp >= 0xa0));
		FUZZ_ASSERT(cp != '/' && cp != '\\');
		FUZZ_ASSERT(!(cp >= 0x202a && cp <= 0x202e) &&
		    !(cp >= 0x2066 && cp <= 0x2069) &&
		    !(cp >= 0x200b && cp <= 0x200f) && cp != 0xfeff &&
		    cp != 0x061c && cp != 0x00ad && cp != 0x2028 &&
		    cp != 0x2029 && !(cp >= 0xe0000 && cp <= 0xe007f));
	}
	FUZZ_ASSERT(out.ptr[0] != '.' && out.ptr[0] != ' ');
	FUZZ_ASSERT(out.ptr[out.len - 1] != '.' && out.ptr[out.len - 1] != ' ');
	/* A ".pdf" ending (a clean one) survives any cut. */
	if (in_len > 4 && strcmp(name + in_len - 4, ".pdf") == 0)
		FUZZ_ASSERT(out.len > 4 &&
		    strcmp(out.ptr + out.len - 4, ".pdf") == 0);
	dot = strrchr(buf_str(&out), '.');
	FUZZ_ASSERT(dot == NULL || dot != out.ptr);
	render_file_name(&again, buf_str(&out));
	FUZZ_ASSERT(again.len == out.len &&
	    memcmp(again.ptr, out.ptr, out.len) == 0);
	buf_free(&again);
	buf_free(&out);
}

/* Valid UTF-8 throughout, no C0/C1 control but tab and newline, no DEL. */
static void
check_text(const struct buf *out)
{
	const unsigned char *p = (const unsigned char *)buf_str(out);
	size_t n;

	for (; *p != '\0'; p += n) {
		n = render_utf8_len(p);
		FUZZ_ASSERT(n != 0);
		FUZZ_ASSERT(n > 1 || *p >= 0x20 || *p == '\t' || *p == '\n');
		FUZZ_ASSERT(*p != 0x7f);
		FUZZ_ASSERT(!(n == 2 && p[0] == 0xc2 && p[1] < 0xa0));
	}
}

/* Occurrences of needle in the page. */
static size_t
count(const struct buf *out, const char *needle)
{
	const char *p = buf_str(out);
	size_t n = 0;

	for (; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void
check_escape(const char *s)
{
	static const char *const ent[] = {
		"&amp;", "&lt;", "&gt;", "&quot;", "&#39;",
	};
	struct buf out = { 0 };
	const char *p;
	size_t i;

	render_html_escape(&out, s);
	FUZZ_ASSERT(out.len >= strlen(s));
	FUZZ_ASSERT(strlen(buf_str(&out)) == out.len);
	for (p = buf_str(&out); *p != '\0'; p++) {
		FUZZ_ASSERT(strchr("<>\"'", *p) == NULL);
		if (*p != '&')
			continue;
		for (i = 0; i < sizeof(ent) / sizeof(ent[0]); i++)
			if (strncmp(p, ent[i], strlen(ent[i])) == 0)
				break;
		FUZZ_ASSERT(i < sizeof(ent) / sizeof(ent[0]));
	}
	check_text(&out);
	buf_free(&out);
}

/* out must be a JSON object whose members named k[i] are the strings v[i]. */
static void
check_json_roundtrip(const struct buf *out, const char *const *k,
    const char *const *v, size_t n)
{
	yajl_val obj;
	size_t i;

	obj = sjson_parse_object(buf_str(out), out->len);
	FUZZ_ASSERT(obj != NULL);
	for (i = 0; i < n; i++) {
		const char *got = sjson_string(sjson_get(obj, k[i]));

		FUZZ_ASSERT(got != NULL && strcmp(got, v[i]) == 0);
	}
	sjson_free(obj);
}

static void
check_problem(const char *detail, int status)
{
	const char *k[] = { "type", "title", "detail" };
	const char *v[] = { "about:blank", err_reason(status), detail };
	struct buf out = { 0 };
	enum mg_err err;

	FUZZ_ASSERT(v[1] != NULL);
	err = render_problem_json(&out, status, detail);
	FUZZ_ASSERT(err == MG_OK || err == MG_EINTERNAL);
	if (err == MG_OK)
		check_json_roundtrip(&out, k, v, 3);
	buf_reset(&out);
	render_problem_html(&out, status, detail);
	FUZZ_ASSERT(strlen(buf_str(&out)) == out.len);
	check_text(&out);
	FUZZ_ASSERT(count(&out, "<script") == 0 && count(&out, "<a ") == 0);
	buf_free(&out);
}

static void
check_token(const char *token, const char *url)
{
	const char *k[] = { "token", "url" };
	const char *v[] = { token, url };
	struct buf out = { 0 };
	enum mg_err err;

	err = render_token_json(&out, token, url);
	FUZZ_ASSERT(err == MG_OK || err == MG_EINTERNAL);
	if (err == MG_OK)
		check_json_roundtrip(&out, k, v, 2);
	buf_reset(&out);
	{
		struct token_page page = {
			.id = token, .file_name = token, .token = token,
			.url = url, .expires = 1796169540, .ttl = 60,
		};

		render_token_html(&out, &page);
	}
	FUZZ_ASSERT(strlen(buf_str(&out)) == out.len);
	check_text(&out);
	FUZZ_ASSERT(count(&out, "<script") == 0 && count(&out, "<a ") == 1);
	FUZZ_ASSERT(count(&out, "<bdi>") == 1 && count(&out, "</bdi>") == 1);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = {
		200, 201, 400, 401, 403, 404, 405, 406, 410, 413, 422, 500,
		503, 0, 99, 600, -1,
	};
	char *s, *a, *b;
	int status;

	s = fuzz_cstr(data, size);
	status = statuses[size % (sizeof(statuses) / sizeof(statuses[0]))];
	check_disposition(s);
	check_file_name(s);
	check_escape(s);
	check_problem(s, status);
	free(s);

	fuzz_split2(data, size, '\n', &a, &b);
	check_token(a, b);
	free(a);
	free(b);
	return 0;
}
