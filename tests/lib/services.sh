# shellcheck shell=bash
#
# tests/lib/services.sh - throwaway services for mediagate's tests, demo and
# benchmarks: a private PostgreSQL cluster, keys and a TLS certificate,
# responder pools run by spawn-fcgi (alone or under a supervisor such as
# multiwatch), lighttpd and Apache in front of them, and bearer tokens
# minted with the openssl command line.
#
# Source this file; it only defines functions (all prefixed mg_) and the
# variable MG_TOP (repository root), and changes no shell option. The
# functions live in one file per noun, which this file sources:
#
#   work.sh        work directory, ports, packages, mg_stop_all, helpers
#   pg.sh          mg_pg_*, mg_psql_admin
#   keys.sh        mg_keys_make, mg_tls_cert_make, mg_mint_bearer
#   pool.sh        mg_responders_*, mg_pool_wait_accepting
#   supervised.sh  mg_supervised_*
#   lighttpd.sh    mg_lighttpd_*
#   apache.sh      mg_apache_*
# The
# functions do not rely on `set -e`: each one returns non-zero on failure
# after printing one line to stderr, so callers may use `set -euo pipefail`
# or test the status themselves.
#
# All state lives under the work directory $MG_WORK (mg_work_init makes one
# with mktemp -d). Layout:
#
#   pg/ pgsock/ pg.log pg.env   PostgreSQL data, Unix socket dir, log, settings
#   keys/ tls/                  mg_keys_make, mg_tls_cert_make
#   NAME.sock NAME.pid NAME.log responder pool NAME (socket, pids, stderr)
#   NAME.supervisor.pid .listen supervised pool NAME (its log is NAME.log)
#   lighttpd-NAME.conf .pid -error.log -access.log -stdout.log
#   www/                        empty document root for lighttpd
#   apache-NAME/ apache-NAME.pid   Apache instance NAME (httpd.conf, logs)
#   .pools .supervised .lighttpds .apaches .ports
#                               bookkeeping for mg_stop_all and mg_free_port
#
# Web servers: every lighttpd instance is its own process with a name,
# one port and one FastCGI socket (mg_lighttpd_start NAME PORT SOCKET ...),
# so pools with different configurations each get an instance of their own.
# mg_lighttpd_run and mg_apache_start instead run a complete configuration
# the caller wrote (the deployments of deploy/, substituted), with as many
# ports and sockets as it names.
#
# Functions (details above each one):
#   mg_work_init [DIR]                  mg_cleanup_on_exit [remove]
#   mg_free_port                        mg_port_in_use PORT [listen]
#   mg_wait_port PORT [SECS] [PID]      mg_apt_ensure PACKAGE...
#   mg_pg_bindir   mg_pg_start [DATA.sql...]   mg_pg_stop   mg_pg_resume
#   mg_pg_restart  mg_psql_admin [PSQL ARGS...]
#   mg_keys_make [DIR]                  mg_mint_bearer KEYFILE ALG CLAIMS_JSON
#   mg_tls_cert_make [DIR]
#   mg_responders_start NAME N [VAR=value...]
#   mg_responders_stop NAME             mg_responders_pids NAME
#   mg_pool_wait_accepting PID...
#   mg_supervised_start NAME LISTEN [VAR=value...] -- CMD [ARG...]
#   mg_supervised_stop NAME             mg_supervised_children NAME
#   mg_supervised_alive NAME
#   mg_lighttpd_start NAME PORT SOCKET [BASE_PATH [SENDFILE_ROOT]]
#   mg_lighttpd_run NAME CONF PORT...
#   mg_lighttpd_stop NAME               mg_lighttpd_alive NAME
#   mg_apache_start NAME SITE_CONF PORT...
#   mg_apache_stop NAME                 mg_apache_alive NAME
#   mg_stop_all
#
# mg_stop_all is idempotent, so `trap mg_stop_all EXIT` is enough to leave
# nothing running; mg_cleanup_on_exit also turns SIGINT/SIGTERM into an exit
# (a bare INT/TERM trap would let the script carry on after cleaning up).
#
# Typical use:
#
#   . tests/lib/services.sh
#   mg_work_init
#   mg_cleanup_on_exit               # traps EXIT, INT and TERM
#   mg_keys_make
#   mg_pg_start sql/sample.sql
#   mg_responders_start api 2 MEDIAGATE_DB="$MG_DB_APP" \
#       MEDIAGATE_JWT_KEY_FILE="$MG_KEYS/bearer-hs.key" \
#       MEDIAGATE_TOKEN_SECRET_FILE="$MG_KEYS/token.key"
#   mg_lighttpd_start api "$(mg_free_port)" "$MG_WORK/api.sock"
#
# Variables read:
#   MG_WORK             work directory (required by almost every function)
#   MG_BIN              responder binary (default: $MG_TOP/src/mediagate)
#   MG_WRAP             command prefix for each responder, split on blanks,
#                       e.g. "valgrind --error-exitcode=99 --log-file=v.%p"
#   MG_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (5)
#   MG_PG_BINDIR        PostgreSQL server binaries (default: newest
#                       /usr/lib/postgresql/*/bin)
#   MG_PG_MAX_CONNECTIONS  max_connections of the cluster (100)
#   MG_SCHEMA           schema file (default: $MG_TOP/sql/schema.sql)
#   MG_SOCKET_USER      owner of supervised pools' Unix sockets (root only)
#   MG_APACHE_USER      user Apache serves as (default: www-data)
#   MG_APACHE_LOGLEVEL  Apache's LogLevel (default: warn)
#
# Variables exported:
#   MG_WORK, MG_KEYS, MG_PGHOST, MG_PGPORT, MG_PGDATA, MG_DB_APP, MG_DB_ADMIN,
#   MG_TLS_CERT, MG_TLS_KEY

MG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The files of this library (functions are looked up when called, so the
# order does not matter).
# shellcheck source-path=SCRIPTDIR source=work.sh
. "$MG_TOP/tests/lib/work.sh"
# shellcheck source-path=SCRIPTDIR source=pg.sh
. "$MG_TOP/tests/lib/pg.sh"
# shellcheck source-path=SCRIPTDIR source=keys.sh
. "$MG_TOP/tests/lib/keys.sh"
# shellcheck source-path=SCRIPTDIR source=pool.sh
. "$MG_TOP/tests/lib/pool.sh"
# shellcheck source-path=SCRIPTDIR source=supervised.sh
. "$MG_TOP/tests/lib/supervised.sh"
# shellcheck source-path=SCRIPTDIR source=lighttpd.sh
. "$MG_TOP/tests/lib/lighttpd.sh"
# shellcheck source-path=SCRIPTDIR source=apache.sh
. "$MG_TOP/tests/lib/apache.sh"
