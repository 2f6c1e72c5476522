# shellcheck shell=bash
#
# tests/lib/keys.sh - keys, a TLS certificate and bearer tokens minted with the
# openssl command line (mg_keys_make, mg_tls_cert_make, mg_mint_bearer).
# Part of tests/lib/services.sh, which sources it with the others (source
# services.sh, not this file); conventions, variables and layout of the
# work directory are described there.

# ---------------------------------------------------------------------------
# keys

# mg_keys_make [DIR]: make DIR (default $MG_WORK/keys) with
#   bearer-hs.key                   48 random bytes (HMAC bearer key)
#   token.key                       48 random bytes (download-token secret)
#   bearer-rs.pem bearer-rs.pub.pem RSA 2048 key pair
#   bearer-es.pem bearer-es.pub.pem EC P-256 key pair
# Secrets and private keys are 0600, public keys 0644. Exports MG_KEYS.
mg_keys_make() {
	local dir=${1:-}
	if [[ -z $dir ]]; then
		_mg_need_work || return 1
		dir=$MG_WORK/keys
	fi
	mkdir -p "$dir" && chmod 0755 "$dir" || return 1
	(
		umask 077
		openssl rand -out "$dir/bearer-hs.key" 48 &&
			openssl rand -out "$dir/token.key" 48 &&
			openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
				-out "$dir/bearer-rs.pem" &&
			openssl pkey -in "$dir/bearer-rs.pem" -pubout -out "$dir/bearer-rs.pub.pem" &&
			openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
				-out "$dir/bearer-es.pem" &&
			openssl pkey -in "$dir/bearer-es.pem" -pubout -out "$dir/bearer-es.pub.pem"
	) </dev/null || {
		_mg_err "key generation in $dir failed"
		return 1
	}
	chmod 0600 "$dir/bearer-hs.key" "$dir/token.key" "$dir/bearer-rs.pem" "$dir/bearer-es.pem" &&
		chmod 0644 "$dir/bearer-rs.pub.pem" "$dir/bearer-es.pub.pem" || return 1
	MG_KEYS=$(cd "$dir" && pwd) || return 1
	export MG_KEYS
}

# mg_tls_cert_make [DIR]: make DIR (default $MG_WORK/tls) with a self-signed
# certificate for 127.0.0.1 and localhost (subjectAltName), valid for two
# days: cert.pem (0644) and key.pem (EC P-256, 0600). Clients trust
# cert.pem itself. Exports MG_TLS_CERT and MG_TLS_KEY.
mg_tls_cert_make() {
	local dir=${1:-}
	if [[ -z $dir ]]; then
		_mg_need_work || return 1
		dir=$MG_WORK/tls
	fi
	mkdir -p "$dir" && chmod 0755 "$dir" || return 1
	(
		umask 077
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -days 2 -subj "/CN=127.0.0.1" \
			-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			-addext "basicConstraints=critical,CA:FALSE" \
			-addext "keyUsage=critical,digitalSignature" \
			-addext "extendedKeyUsage=serverAuth" \
			-keyout "$dir/key.pem" -out "$dir/cert.pem"
	) >"$dir/openssl.log" 2>&1 </dev/null || {
		_mg_err "certificate generation in $dir failed:"
		cat "$dir/openssl.log" >&2
		return 1
	}
	chmod 0644 "$dir/cert.pem" && chmod 0600 "$dir/key.pem" || return 1
	MG_TLS_CERT=$(cd "$dir" && pwd)/cert.pem || return 1
	MG_TLS_KEY=${MG_TLS_CERT%/cert.pem}/key.pem
	export MG_TLS_CERT MG_TLS_KEY
}

# ---------------------------------------------------------------------------
# JWT

# _mg_ecdsa_der_to_jose WIDTH: read a DER ECDSA-Sig-Value, SEQUENCE { INTEGER
# r, INTEGER s }, on stdin and write r||s, each as an unsigned big-endian
# number of exactly WIDTH bytes (RFC 7518 section 3.4). DER integers are
# minimal and signed: a leading 00 is dropped, short ones are left-padded.
_mg_ecdsa_der_to_jose() {
	local width=$1 hex i len n v out='' k
	hex=$(_mg_hex)
	[[ ${hex:0:2} == 30 ]] || return 1
	len=$((16#${hex:2:2}))
	i=4
	# P-521 signatures are longer than 127 bytes: long-form length 81 xx.
	if ((len == 0x81)); then
		len=$((16#${hex:4:2}))
		i=6
	elif ((len > 0x81)); then
		return 1
	fi
	((${#hex} == i + 2 * len)) || return 1
	for k in r s; do
		[[ ${hex:i:2} == 02 ]] || return 1
		n=$((16#${hex:i+2:2}))
		((n >= 1 && n < 0x80)) || return 1
		i=$((i + 4))
		v=${hex:i:2*n}
		((${#v} == 2 * n)) || return 1
		i=$((i + 2 * n))
		while [[ ${#v} -gt 2 && ${v:0:2} == 00 ]]; do
			v=${v:2}
		done
		((${#v} <= 2 * width)) || return 1
		while ((${#v} < 2 * width)); do
			v=0$v
		done
		out+=$v
	done
	((i == ${#hex})) || return 1
	[[ $k == s ]] || return 1
	_mg_unhex "$out"
}

# mg_mint_bearer KEYFILE ALG CLAIMS_JSON: print a compact JWS over
# CLAIMS_JSON (used verbatim) with header {"alg":ALG,"typ":"JWT"}.
#   HS256/384/512  KEYFILE holds the raw HMAC secret
#   RS256/384/512  KEYFILE is a PEM private key (PKCS#1 v1.5 signature)
#   ES256/384/512  KEYFILE is a PEM EC private key (P-256/384/521)
#   none           no signature; KEYFILE is ignored
# An HS* token signed with a public key's PEM file as secret is how to make
# an algorithm-confusion token.
mg_mint_bearer() {
	if (($# != 3)); then
		_mg_err "usage: mg_mint_bearer KEYFILE ALG CLAIMS_JSON"
		return 1
	fi
	local key=$1 alg=$2 claims=$3 input sig hash width hexkey
	input=$(printf '{"alg":"%s","typ":"JWT"}' "$alg" | _mg_b64url).$(printf '%s' "$claims" | _mg_b64url) ||
		return 1
	case $alg in
	none)
		printf '%s.\n' "$input"
		return 0
		;;
	HS256 | HS384 | HS512 | RS256 | RS384 | RS512 | ES256 | ES384 | ES512)
		hash=sha${alg:2}
		;;
	*)
		_mg_err "mg_mint_bearer: unsupported alg: $alg"
		return 1
		;;
	esac
	if [[ ! -r $key ]]; then
		_mg_err "mg_mint_bearer: cannot read key file $key"
		return 1
	fi
	case $alg in
	HS*)
		hexkey=$(_mg_hex <"$key") || return 1
		sig=$(printf '%s' "$input" |
			openssl dgst "-$hash" -mac HMAC -macopt "hexkey:$hexkey" -binary |
			_mg_b64url) || return 1
		;;
	RS*)
		sig=$(printf '%s' "$input" | openssl dgst "-$hash" -sign "$key" -binary |
			_mg_b64url) || return 1
		;;
	ES*)
		case $alg in
		ES256) width=32 ;;
		ES384) width=48 ;;
		ES512) width=66 ;;
		esac
		sig=$(printf '%s' "$input" | openssl dgst "-$hash" -sign "$key" -binary |
			_mg_ecdsa_der_to_jose "$width" | _mg_b64url) || return 1
		;;
	esac
	if [[ -z $sig ]]; then
		_mg_err "mg_mint_bearer: signing failed"
		return 1
	fi
	printf '%s.%s\n' "$input" "$sig"
}
