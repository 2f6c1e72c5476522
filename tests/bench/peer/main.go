// Command peer is the benchmark's Go peer of mediagate: the token-issuing
// endpoint written the way a Go user would write it, with net/http,
// github.com/golang-jwt/jwt (v4) and github.com/jackc/pgx/v4 (pgxpool),
// all from Debian's golang-* packages. tests/bench/bench.sh builds it
// offline (GOPATH mode against /usr/share/gocode) and measures it direct
// and behind lighttpd's mod_proxy.
//
// POST /media/{id}/download-token with "Authorization: Bearer <HS256 JWT>":
// the bearer must verify and carry exp, tenant and "media:read" in
// permissions; the medium is looked up with mediagate's statement (by id
// and tenant); the answer is 201 with {"token":..,"url":..}, the token an
// HS256 JWT with sub, tenant, iat, exp and jti.
//
//	peer serve -listen 127.0.0.1:PORT -db CONNINFO -bearer-key FILE -token-key FILE
//	peer mint -alg HS256|RS256|ES256 -key FILE -n N -tenant T   (bearers, one a line)
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt"
	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
)

// The same statement as src/db.c.
const lookupSQL = "SELECT mime_type, file_name, storage_file_name" +
	"  FROM media" +
	" WHERE id = $1" +
	"   AND deleted_at IS NULL" +
	"   AND ($2::text IS NULL OR tenant_id = $2::text)"

type bearerClaims struct {
	Tenant      string   `json:"tenant"`
	Permissions []string `json:"permissions"`
	jwt.RegisteredClaims
}

type downloadClaims struct {
	Tenant string `json:"tenant"`
	jwt.RegisteredClaims
}

type server struct {
	pool      *pgxpool.Pool
	bearerKey []byte
	tokenKey  []byte
	ttl       time.Duration
}

func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *server) issue(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/media/")
	id := strings.TrimSuffix(rest, "/download-token")
	if r.Method != http.MethodPost || rest == r.URL.Path || id == rest || id == "" || strings.Contains(id, "/") {
		fail(w, http.StatusNotFound, "not_found")
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") {
		fail(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	var bc bearerClaims
	_, err := jwt.ParseWithClaims(auth[len("Bearer "):], &bc, func(t *jwt.Token) (interface{}, error) {
		return s.bearerKey, nil
	}, jwt.WithValidMethods([]string{"HS256"}))
	if err != nil || bc.ExpiresAt == nil || bc.Tenant == "" {
		fail(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	allowed := false
	for _, p := range bc.Permissions {
		if p == "media:read" {
			allowed = true
			break
		}
	}
	if !allowed {
		fail(w, http.StatusForbidden, "forbidden")
		return
	}
	var mime, name, file string
	err = s.pool.QueryRow(r.Context(), lookupSQL, id, bc.Tenant).Scan(&mime, &name, &file)
	if err == pgx.ErrNoRows {
		fail(w, http.StatusNotFound, "not_found")
		return
	} else if err != nil {
		fail(w, http.StatusServiceUnavailable, "unavailable")
		return
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		fail(w, http.StatusInternalServerError, "internal")
		return
	}
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, downloadClaims{
		Tenant: bc.Tenant,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   id,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
	}).SignedString(s.tokenKey)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{
		"token": tok,
		"url":   "http://" + r.Host + "/media/" + id + "/download/" + tok,
	})
}

func readKey(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address")
	db := fs.String("db", "", "PostgreSQL connection string")
	bk := fs.String("bearer-key", "", "HS256 bearer secret file")
	tk := fs.String("token-key", "", "download token secret file")
	conns := fs.Int("conns", 4, "database connections (pool_max_conns)")
	fs.Parse(args)
	cfg, err := pgxpool.ParseConfig(*db)
	if err != nil {
		log.Fatal(err)
	}
	cfg.MaxConns = int32(*conns)
	pool, err := pgxpool.ConnectConfig(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	s := &server{pool: pool, bearerKey: readKey(*bk), tokenKey: readKey(*tk), ttl: time.Hour}
	log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(s.issue)))
}

func mint(args []string) {
	fs := flag.NewFlagSet("mint", flag.ExitOnError)
	alg := fs.String("alg", "HS256", "HS256, RS256 or ES256")
	keyf := fs.String("key", "", "HMAC secret or PEM private key file")
	n := fs.Int("n", 1000, "bearers")
	tenant := fs.String("tenant", "acme", "tenant claim")
	ttl := fs.Duration("ttl", 6*time.Hour, "lifetime")
	fs.Parse(args)
	raw := readKey(*keyf)
	var key interface{}
	var err error
	switch *alg {
	case "HS256":
		key = raw
	case "RS256":
		key, err = jwt.ParseRSAPrivateKeyFromPEM(raw)
	case "ES256":
		key, err = jwt.ParseECPrivateKeyFromPEM(raw)
	default:
		log.Fatalf("unknown alg %s", *alg)
	}
	if err != nil {
		log.Fatal(err)
	}
	method := jwt.GetSigningMethod(*alg)
	now := time.Now()
	out := make([]string, 0, *n)
	for i := 0; i < *n; i++ {
		t := jwt.NewWithClaims(method, bearerClaims{
			Tenant:      *tenant,
			Permissions: []string{"media:read"},
			RegisteredClaims: jwt.RegisteredClaims{
				Subject:   fmt.Sprintf("bench-user-%d", i),
				IssuedAt:  jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(*ttl)),
			},
		})
		// The "typ" header mediagate's bearers carry.
		t.Header["typ"] = "JWT"
		s, err := t.SignedString(key)
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, s)
	}
	fmt.Println(strings.Join(out, "\n"))
}

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: peer serve|mint ...")
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "mint":
		mint(os.Args[2:])
	default:
		log.Fatalf("unknown command %s", os.Args[1])
	}
}
