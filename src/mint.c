/* mint.c — download tokens written directly (see mint.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "mint.h"

size_t
mint_json_string(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char *o = out;

	*o++ = '"';
	for (; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\') {
			*o++ = (char)*p;
			continue;
		}
		*o++ = '\\';
		switch (*p) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o++ = '"';
	*o = '\0';
	return (size_t)(o - out);
}

/* Decimal v (as "%lld") at out, NUL after it; returns its length.  sprintf
 * of the two NumericDates was a fiftieth of an issue's instructions. */
static size_t
put_ll(char *out, long long v)
{
	if (v >= 0)
		return buf_fmt_uint(out, (unsigned long long)v);
	*out = '-';
	return 1 + buf_fmt_uint(out + 1, 0ULL - (unsigned long long)v);
}

/* Longest string accepted, and the longest JSON text of a header or a
 * payload then: four strings of 6 bytes per byte at worst, two numbers
 * and the names. */
#define STR_MAX		256
#define JSON_MAX	(200 + 4 * (6 * STR_MAX + 3))

enum mg_err
mint_hs256(const struct jws_key *key, const char *kid,
    const struct mint_claims *c, size_t max_len, struct buf *out)
{
	EVP_MAC_CTX *ctx = key->pkey;
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0, hlen, plen, n, start = out->len;
	char json[JSON_MAX], b64[(JSON_MAX * 4 + 2) / 3 + 4];
	char *j;

	if (key->alg != JWS_HS256 || ctx == NULL || max_len > STR_MAX ||
	    strlen(c->sub) > max_len || strlen(c->jti) > max_len ||
	    (c->tenant != NULL && strlen(c->tenant) > max_len) ||
	    (kid != NULL && strlen(kid) > max_len))
		return MG_EINTERNAL;

	/* Members in name order, as jansson with JSON_SORT_KEYS. */
	j = json;
	j += sprintf(j, "{\"alg\":\"HS256\",");
	if (kid != NULL) {
		j += sprintf(j, "\"kid\":");
		j += mint_json_string(j, kid);
		*j++ = ',';
	}
	j += sprintf(j, "\"typ\":\"JWT\"}");
	hlen = jws_b64_encode((const unsigned char *)json,
	    (size_t)(j - json), b64);
	buf_append(out, b64, hlen);
	buf_putc(out, '.');

	j = json;
	j += sprintf(j, "{\"exp\":");
	j += put_ll(j, c->exp);
	j += sprintf(j, ",\"iat\":");
	j += put_ll(j, c->iat);
	j += sprintf(j, ",\"jti\":");
	j += mint_json_string(j, c->jti);
	j += sprintf(j, ",\"sub\":");
	j += mint_json_string(j, c->sub);
	if (c->tenant != NULL) {
		j += sprintf(j, ",\"tenant\":");
		j += mint_json_string(j, c->tenant);
	}
	*j++ = '}';
	plen = jws_b64_encode((const unsigned char *)json,
	    (size_t)(j - json), b64);
	buf_append(out, b64, plen);

	/* RFC 7515 §5.1: the MAC over header.payload as written. */
	if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)out->ptr + start,
	    out->len - start) != 1 ||
	    EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 ||
	    mac_len != 32) {
		out->len = start;
		out->ptr[start] = '\0';
		return MG_EINTERNAL;
	}
	buf_putc(out, '.');
	n = jws_b64_encode(mac, mac_len, b64);
	buf_append(out, b64, n);
	return MG_OK;
}
