/* unit_jws.c — base64url decoding: one spelling per byte string. */
#include <stdlib.h>
#include <string.h>

#include "jws.h"
#include "sjson.h"
#include "testkeys.h"
#include "token.h"
#include "unit_suites.h"

#define NOW	1700000000L

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* RFC 4648 §3.5: the unused bits of the last character must be zero. */
static const struct {
	const char	*in;
	long		 want;	/* decoded length, -1: refused */
} b64_cases[] = {
	{ "", 0 },
	{ "AA", 1 }, { "AB", -1 }, { "AP", -1 }, { "AQ", 1 },
	{ "AAA", 2 }, { "AAB", -1 }, { "AAD", -1 }, { "AAE", 2 },
	{ "AAAA", 3 }, { "AAA_", 3 },
	{ "_w", 1 }, { "_x", -1 }, { "__8", 2 }, { "___", -1 },
	{ "Zm9vYg", 4 }, { "Zm9vYh", -1 }, { "Zm9vYmE", 5 },
	{ "Zm9vYmF", -1 },
	{ "A", -1 }, { "AAAAA", -1 }, { "AA=", -1 }, { "A+A", -1 },
};

START_TEST(b64_canonical)
{
	unsigned char out[16];
	size_t i;

	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++)
		ck_assert_msg(jws_b64_decode(b64_cases[i].in,
		    strlen(b64_cases[i].in), out) == b64_cases[i].want,
		    "jws_b64_decode(\"%s\") should be %ld", b64_cases[i].in,
		    b64_cases[i].want);
}
END_TEST

/* Every byte value in every position of a whole group and of a tail: only
 * the 64 digits of the alphabet decode, to their index. */
START_TEST(b64_every_byte)
{
	unsigned char out[16];
	char in[8];
	size_t pos, len;
	int c;
	long n;

	for (len = 2; len <= 6; len += 4)
		for (pos = 0; pos < len; pos++)
			for (c = 1; c < 256; c++) {
				memset(in, 'A', len);
				in[pos] = (char)c;
				/* Pad bits: only the last digit's count. */
				if (pos == len - 1 && len % 4 == 2)
					in[pos - 1] = (char)c, in[pos] = 'A';
				n = jws_b64_decode(in, len, out);
				ck_assert_msg((n >= 0) ==
				    (strchr(alphabet, c) != NULL),
				    "byte 0x%02x at %zu of %zu", c, pos, len);
			}
	for (c = 0; c < 64; c++) {
		memset(in, 'A', 4);
		in[3] = alphabet[c];
		ck_assert_int_eq(jws_b64_decode(in, 4, out), 3);
		ck_assert_int_eq(out[2], c);
	}
}
END_TEST

/* Every other spelling of the last character of an encoding that has pad
 * bits is refused; every encoding round-trips. */
START_TEST(b64_every_spelling)
{
	unsigned char raw[8], out[16];
	char enc[16], alt[16];
	size_t len, n, i;

	for (len = 1; len <= 5; len++) {
		for (i = 0; i < len; i++)
			raw[i] = (unsigned char)(0xa5 ^ (i * 37) ^ (len * 11));
		n = jws_b64_encode(raw, len, enc);
		ck_assert_int_eq(jws_b64_decode(enc, n, out), (long)len);
		ck_assert(memcmp(out, raw, len) == 0);
		for (i = 0; i < 64; i++) {
			if (alphabet[i] == enc[n - 1])
				continue;
			memcpy(alt, enc, n + 1);
			alt[n - 1] = alphabet[i];
			ck_assert_msg(jws_b64_decode(alt, n, out) < 0 ||
			    memcmp(out, raw, len) != 0,
			    "%s decodes like %s", alt, enc);
		}
	}
}
END_TEST

/* The index of the last character in the alphabet, 0..63. */
static int
b64_index(char c)
{
	return (int)(strchr(alphabet, c) - alphabet);
}

/*
 * tok with the last character replaced by the d-th other one that carries
 * the same two data bits (d = 1..15; an HS256 signature of 32 bytes ends
 * in a character with 4 pad bits).
 */
static char *
respell(const char *tok, int d)
{
	char *t = strdup(tok);
	size_t n = strlen(t);
	int last = b64_index(t[n - 1]);

	t[n - 1] = alphabet[(last & ~15) | ((last + d) & 15)];
	return t;
}

/* An HS256 signature is 32 bytes, 43 characters: the last one carries 4
 * pad bits, so without the check 16 spellings of one token verify. */
START_TEST(bearer_one_spelling)
{
	struct testkey k;
	struct jws_key vk;
	yajl_val claims;
	char *tok, *alt;
	int d;

	tk_generate(&k, JWS_HS256);
	vk = tk_verify_key(&k);
	tok = tk_mint(&k, "{\"exp\":1700000100}");
	ck_assert_int_eq(jws_verify(&vk, tok, strlen(tok), &claims), JWS_OK);
	sjson_free(claims);
	for (d = 1; d < 16; d++) {
		alt = respell(tok, d);
		ck_assert_msg(jws_verify(&vk, alt, strlen(alt), &claims) !=
		    JWS_OK, "%s verifies as well as %s", alt, tok);
		ck_assert_ptr_null(claims);
		free(alt);
	}
	free(tok);
	tk_free(&k);
}
END_TEST

/* Headers that passed are remembered (jws.c): the same bytes again give
 * the same outcome, other bytes are checked afresh, and headers that fail
 * fail every time, in any order. */
START_TEST(header_memo_same_outcome)
{
	static const char *const headers[] = {
		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",	/* passes */
		"{\"alg\":\"none\"}",			/* wrong alg */
		"{\"alg\":\"HS256\",\"crit\":[\"x\"]}",	/* malformed */
		"{\"alg\":\"HS256\",\"alg\":\"HS256\"}",	/* duplicate */
		"{\"alg\":\"HS384\"}",			/* wrong alg */
		"{\"alg\":\"HS256\",\"kid\":\"k1\"}",	/* passes */
		"{\"alg\":\"HS256\",\"kid\":7}",		/* passes */
		"{\"typ\":\"JWT\",\"alg\":\"HS256\"}",	/* passes */
		"{\"alg\":\"HS256\",\"x\":\"a\"}",		/* passes */
		"{\"alg\":\"HS256\",\"y\":\"b\"}",		/* passes */
	};
	static const enum jws_result want[] = {
		JWS_OK, JWS_WRONG_ALG, JWS_MALFORMED, JWS_MALFORMED,
		JWS_WRONG_ALG, JWS_OK, JWS_OK, JWS_OK, JWS_OK, JWS_OK,
	};
	struct testkey k;
	struct jws_key vk;
	yajl_val claims;
	char *tok;
	size_t i, round;

	tk_generate(&k, JWS_HS256);
	vk = tk_verify_key(&k);
	/* More headers than remembered, three times over: every answer
	 * comes from a parse, from memory and after eviction alike. */
	for (round = 0; round < 3; round++)
		for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
			tok = tk_hs_raw(k.priv, k.priv_len, "HS256",
			    headers[i], "{\"exp\":1700000100}");
			ck_assert_msg(jws_verify(&vk, tok, strlen(tok),
			    &claims) == want[i], "round %zu: %s", round,
			    headers[i]);
			sjson_free(claims);
			/* A remembered header does not vouch for a
			 * signature. */
			tok[strlen(tok) - 2] ^= 1;
			ck_assert(jws_verify(&vk, tok, strlen(tok), &claims)
			    != JWS_OK);
			ck_assert_ptr_null(claims);
			free(tok);
		}
	tk_free(&k);
}
END_TEST

START_TEST(download_token_one_spelling)
{
	char tenant[AUTH_TENANT_MAX + 1];
	struct token_ctx ctx = { .ttl = 60, .tenant_on = 1 };
	struct buf b = { 0 };
	struct testkey k;
	const char *why;
	char *alt;
	int d;

	tk_generate(&k, JWS_HS256);
	ctx.keys = tk_verify_set(&k);
	ck_assert_int_eq(token_mint(&ctx, "m1", "acme", NOW, &b, &why), MG_OK);
	ck_assert_int_eq(token_check(&ctx, b.ptr, "m1", NOW, tenant, &why),
	    MG_OK);
	for (d = 1; d < 16; d++) {
		alt = respell(b.ptr, d);
		ck_assert_msg(token_check(&ctx, alt, "m1", NOW, tenant, &why) ==
		    MG_EFORBIDDEN, "%s is accepted as well as %s", alt, b.ptr);
		free(alt);
	}
	buf_free(&b);
	jwks_free((struct jwks *)ctx.keys);
	tk_free(&k);
}
END_TEST

Suite *
suite_jws(void)
{
	Suite *s = suite_create("jws");
	TCase *tc = tcase_create("base64url");

	tcase_add_test(tc, b64_canonical);
	tcase_add_test(tc, b64_every_spelling);
	tcase_add_test(tc, b64_every_byte);
	tcase_add_test(tc, header_memo_same_outcome);
	tcase_add_test(tc, bearer_one_spelling);
	tcase_add_test(tc, download_token_one_spelling);
	suite_add_tcase(s, tc);
	return s;
}
