/*
 * metrics_allow.c — MEDIAGATE_METRICS_ALLOW: which REMOTE_ADDRs may read
 * /metrics.  Pure: text in, blocks out; addresses are parsed with
 * inet_pton(3) only, so "010.1.1.1", zone ids and host names are refused
 * rather than guessed at.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"

#define ITEM_MAX	(INET6_ADDRSTRLEN + 4)	/* address, '/', 3 digits */

static int
bad(char *err, size_t errsz, const char *item, size_t len, const char *why)
{
	snprintf(err, errsz, "MEDIAGATE_METRICS_ALLOW: '%.*s' %s",
	    (int)(len > 80 ? 80 : len), item, why);
	return -1;
}

/* Clear the bits of addr below prefix. */
static void
mask(unsigned char *addr, size_t bytes, unsigned prefix)
{
	size_t i;

	for (i = 0; i < bytes; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			addr[i] = 0;
		else
			addr[i] &= (unsigned char)(0xff << (8 - (prefix - 8 * i)));
	}
}

static int
parse_item(const char *item, size_t len, struct metrics_net *net, char *err,
    size_t errsz)
{
	char text[ITEM_MAX + 1];
	const char *slash;
	unsigned prefix = 0, max;
	size_t alen, i;

	slash = memchr(item, '/', len);
	alen = slash != NULL ? (size_t)(slash - item) : len;
	if (alen == 0 || alen > INET6_ADDRSTRLEN)
		return bad(err, errsz, item, len, "is not an IP address");
	memcpy(text, item, alen);
	text[alen] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, text, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, text, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else
		return bad(err, errsz, item, len, "is not an IP address");
	if (slash == NULL) {
		net->prefix = max;
		return 0;
	}
	/* 1 to 3 decimal digits, no sign, no blanks. */
	if (len - alen - 1 == 0 || len - alen - 1 > 3)
		return bad(err, errsz, item, len, "has a bad prefix length");
	for (i = alen + 1; i < len; i++) {
		if (item[i] < '0' || item[i] > '9')
			return bad(err, errsz, item, len,
			    "has a bad prefix length");
		prefix = prefix * 10 + (unsigned)(item[i] - '0');
	}
	if (prefix > max)
		return bad(err, errsz, item, len, "has a bad prefix length");
	net->prefix = prefix;
	mask(net->addr, max / 8, prefix);
	return 0;
}

int
metrics_allow_parse(const char *spec, struct metrics_allow *a, char *err,
    size_t errsz)
{
	const char *p = spec, *e, *s;
	size_t len;

	memset(a, 0, sizeof(*a));
	for (;;) {
		e = p + strcspn(p, ",");
		s = p;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		len = (size_t)(e - s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0)
			return bad(err, errsz, spec, strlen(spec),
			    "has an empty item");
		if (len > ITEM_MAX)
			return bad(err, errsz, s, len, "is not an IP address");
		if (a->n == METRICS_ALLOW_MAX) {
			snprintf(err, errsz, "MEDIAGATE_METRICS_ALLOW: more than "
			    "%d items", METRICS_ALLOW_MAX);
			return -1;
		}
		if (parse_item(s, len, &a->net[a->n], err, errsz) != 0)
			return -1;
		a->n++;
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

static bool
inside(const struct metrics_net *net, int family, const unsigned char *addr)
{
	unsigned char a[16];

	if (net->family != family)
		return false;
	memcpy(a, addr, family == AF_INET ? 4 : 16);
	mask(a, family == AF_INET ? 4 : 16, net->prefix);
	return memcmp(a, net->addr, family == AF_INET ? 4 : 16) == 0;
}

bool
metrics_allow_match(const struct metrics_allow *a, const char *addr)
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};
	unsigned char bin[16];
	int family;
	size_t i;

	if (addr == NULL || strlen(addr) > INET6_ADDRSTRLEN)
		return false;
	if (inet_pton(AF_INET, addr, bin) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		family = AF_INET6;
	else
		return false;
	for (i = 0; i < a->n; i++) {
		if (inside(&a->net[i], family, bin))
			return true;
		if (family == AF_INET6 && memcmp(bin, v4mapped, 12) == 0 &&
		    inside(&a->net[i], AF_INET, bin + 12))
			return true;
	}
	return false;
}
