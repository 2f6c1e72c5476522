/* render.c — JSON bodies, UTF-8 checks, file names, Content-Disposition
 * (HTML pages: render_html.c). */
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

/* True if s needs no JSON escaping at all: printable ASCII without '"'
 * and '\\' (yajl_gen writes such a string byte for byte; '/' is not
 * escaped, yajl_gen_escape_solidus being off). */
static bool
plain_ascii(const char *s, size_t *len)
{
	/* 1: printable ASCII other than '"' and '\\' (0x20..0x7e). */
	static const unsigned char ok[256] = {
		[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		[0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		[0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
		[0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		[0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
	};
	const unsigned char *p = (const unsigned char *)s;

	/* A table lookup per byte: this scans the whole URL of an issue. */
	while (ok[*p])
		p++;
	if (*p != '\0')
		return false;
	*len = (size_t)(p - (const unsigned char *)s);
	return true;
}

enum mg_err
render_token_json(struct buf *out, const char *token, const char *url)
{
	const char *kv[] = { "token", token, "url", url, NULL };
	size_t tlen, ulen;

	/* The token is base64url and dots, the URL mostly so: written
	 * directly, the bytes yajl_gen would write, without its
	 * character-by-character escaping and UTF-8 validation (a tenth of
	 * the instructions of an issue).  Anything else goes through
	 * yajl_gen. */
	if (plain_ascii(token, &tlen) && plain_ascii(url, &ulen)) {
		buf_append(out, "{\"token\":\"", 10);
		buf_append(out, token, tlen);
		buf_append(out, "\",\"url\":\"", 9);
		buf_append(out, url, ulen);
		buf_append(out, "\"}", 2);
		return MG_OK;
	}
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

/*
 * Unicode format controls (general category Cf, Unicode 15.0), the line
 * and paragraph separators and the noncharacters U+FFFE/U+FFFF.  Bidi
 * overrides and isolates (U+202A..U+202E, U+2066..U+2069) make
 * "invoice\u202Etxt.exe" display as "invoiceexe.txt"; zero-width ones hide
 * characters.  RFC 6266 §4.3 lets recipients drop them; we do it for them.
 */
static const struct { unsigned lo, hi; } invisible[] = {
	{ 0x00ad, 0x00ad }, { 0x0600, 0x0605 }, { 0x061c, 0x061c },
	{ 0x06dd, 0x06dd }, { 0x070f, 0x070f }, { 0x0890, 0x0891 },
	{ 0x08e2, 0x08e2 }, { 0x180e, 0x180e }, { 0x200b, 0x200f },
	{ 0x2028, 0x202e }, { 0x2060, 0x2064 }, { 0x2066, 0x206f },
	{ 0xfeff, 0xfeff }, { 0xfff9, 0xfffb }, { 0xfffe, 0xffff },
	{ 0x110bd, 0x110bd }, { 0x110cd, 0x110cd }, { 0x13430, 0x1343f },
	{ 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
	{ 0xe0020, 0xe007f },
};

/* The code point of the valid UTF-8 sequence p of n bytes. */
static unsigned
utf8_cp(const unsigned char *p, size_t n)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	unsigned cp = p[0] & lead_mask[n];
	size_t i;

	for (i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

static bool
is_dropped(unsigned cp)
{
	size_t i;

	/* C0 controls, DEL, C1; and path separators (RFC 6266 §4.3). */
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == '/' || cp == '\\')
		return true;
	for (i = 0; i < sizeof(invisible) / sizeof(invisible[0]); i++)
		if (cp >= invisible[i].lo && cp <= invisible[i].hi)
			return true;
	return false;
}

/* Length of a safe extension at the end of s[0..len): "." and 1 to
 * RENDER_EXT_MAX ASCII letters or digits; 0 if there is none. */
static size_t
ext_len(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && n < RENDER_EXT_MAX + 1 &&
	    ((s[len - 1 - n] >= 'a' && s[len - 1 - n] <= 'z') ||
	    (s[len - 1 - n] >= 'A' && s[len - 1 - n] <= 'Z') ||
	    (s[len - 1 - n] >= '0' && s[len - 1 - n] <= '9')))
		n++;
	return n > 0 && n <= RENDER_EXT_MAX && n < len &&
	    s[len - 1 - n] == '.' ? n + 1 : 0;
}

static bool
is_trimmed(char c)
{
	return c == '.' || c == ' ';
}

/*
 * stem + ".ext" of s[0..len).  Leading dots and spaces would make a hidden
 * file or be the residue of "../", trailing ones are stripped by Windows;
 * a stem left empty ("", ".", "..", ".pdf") becomes "download".  Applied
 * to its own output it changes nothing.
 */
static void
normalize(const char *s, size_t len, struct buf *out)
{
	size_t ext, start = 0, end;

	while (len > 0 && is_trimmed(s[len - 1]))
		len--;
	ext = ext_len(s, len);
	end = len - ext;
	while (start < end && is_trimmed(s[start]))
		start++;
	while (end > start && is_trimmed(s[end - 1]))
		end--;
	if (end == start)
		buf_puts(out, "download");
	else
		buf_append(out, s + start, end - start);
	buf_append(out, s + len - ext, ext);
}

void
render_file_name(struct buf *out, const char *file_name)
{
	const unsigned char *p, *run;
	struct buf clean = { 0 }, cut = { 0 };
	size_t n, ext, len, keep;

	/* Kept characters are copied a run at a time: a name is mostly
	 * kept, and a copy per character showed in the download's profile. */
	for (p = run = (const unsigned char *)file_name; *p != '\0'; p += n) {
		n = render_utf8_len(p);
		if (n != 0 && !is_dropped(utf8_cp(p, n)))
			continue;
		buf_append(&clean, run, (size_t)(p - run));
		if (n == 0)	/* an invalid byte: dropped as well */
			n = 1;
		run = p + n;
	}
	buf_append(&clean, run, (size_t)(p - run));
	/* Bound the whole name, cutting the stem on a character boundary
	 * and keeping the extension; then normalize what is left. */
	len = clean.len;
	while (len > 0 && is_trimmed(clean.ptr[len - 1]))
		len--;
	if (len > RENDER_NAME_MAX) {
		ext = ext_len(clean.ptr, len);
		keep = RENDER_NAME_MAX - ext;
		while (keep > 0 && (clean.ptr[keep] & 0xc0) == 0x80)
			keep--;
		buf_append(&cut, clean.ptr, keep);
		buf_append(&cut, clean.ptr + len - ext, ext);
		normalize(buf_str(&cut), cut.len, out);
	} else
		normalize(buf_str(&clean), len, out);
	buf_free(&cut);
	buf_free(&clean);
}

/* RFC 8187 §3.2.1 attr-char. */
static bool
is_attr_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '&': case '+': case '-': case '.':
	case '^': case '_': case '`': case '|': case '~':
		return true;
	default:
		return false;
	}
}

void
render_content_disposition(struct buf *out, const char *file_name)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p, *name_p;
	struct buf name = { 0 };
	char pct[3] = { '%' };
	size_t n, i;

	render_file_name(&name, file_name);
	name_p = (const unsigned char *)buf_str(&name);
	/* Both forms straight into out: the quoted ASCII fallback, then the
	 * RFC 8187 ext-value (valid UTF-8: render_file_name checked). */
	buf_append(out, "attachment; filename=\"", 22);
	for (p = name_p; *p != '\0'; p += n) {
		n = render_utf8_len(p);
		if (n > 1)
			buf_putc(out, '_');
		else {
			if (*p == '"')
				buf_putc(out, '\\');
			buf_putc(out, (char)*p);
		}
	}
	buf_append(out, "\"; filename*=UTF-8''", 20);
	for (p = name_p; *p != '\0'; p++) {
		for (i = 0; p[i] != '\0' && is_attr_char(p[i]); i++)
			;
		if (i > 0) {
			buf_append(out, p, i);
			p += i - 1;
			continue;
		}
		pct[1] = hex[*p >> 4];
		pct[2] = hex[*p & 15];
		buf_append(out, pct, 3);
	}
	buf_free(&name);
}
