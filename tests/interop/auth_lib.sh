# shellcheck shell=bash disable=SC2034  # the AUTH_* variables are set for the caller
# Proxies that ask for enterprise authentication, for the interop suite: squid with
# Digest (http_port and https_port), with NTLM (ntlm_fake_auth), with Negotiate
# (negotiate_kerberos_auth) against a MIT Kerberos KDC made here from nothing, and a
# squid that closes the connection after every 407. Sourced (by
# tests/interop/auth_selftest.sh and tests/interop/run.sh), never run. See docs/interop.md.
#
# Everything lives under one folder the caller names (auth_init DIR); nothing is
# written to /etc. Every daemon listens on 127.0.0.1 on a port the caller gives (free a
# moment before), runs in the foreground in its own process group (setsid) and is
# stopped by its PID in auth_stop, which the caller's EXIT trap must call.
#
# Functions (each returns non-zero with a line on stderr when it cannot do its part):
#   auth_init DIR             AUTH_DIR=DIR/auth; the user and passwords (below)
#   auth_start_digest P TP    squid "digest": Digest on http_port P and https_port TP
#                             (tests/certs/proxy-chain.pem, trust proxy-ca.pem)
#   auth_start_ntlm P         squid "ntlm": NTLM through ntlm_fake_auth (no password check)
#   auth_start_ntlm_gss P     squid "ntlm_gss": NTLM through tests/interop/ntlm_gss_helper.c
#                             (AUTH_NTLM_HELPER, built by make interop-auth): gss-ntlmssp
#                             checks the password against AUTH_NTLM_USER_FILE
#   auth_start_close P        squid "close": Digest, closes the connection after a 407
#   auth_start_kdc P          the KDC on 127.0.0.1:P (UDP and TCP); exports KRB5_CONFIG;
#                             principals and the proxy's keytab
#   auth_kinit [PASSWORD]     kinit AUTH_USER into AUTH_CCACHE (PASSWORD defaults to
#                             AUTH_PASS); exports KRB5CCNAME
#   auth_start_negotiate P    squid "negotiate": Negotiate through negotiate_kerberos_auth
#                             (after auth_start_kdc)
#   auth_wait NAME PORT       up to ~15 s for NAME's PORT to accept connections
#   auth_seen NAME USER_ERE HOSTPORT  squid NAME's access log has a CONNECT to HOSTPORT
#                             that succeeded (200) for a user matching USER_ERE
#   auth_squid_tls_log DIR    the squid.conf lines of a log of each request's TLS version
#   auth_spawn NAME CMD...    runs CMD like the daemons (own session, PID kept, output in
#                             AUTH_DIR/NAME.out), for auth_wait and auth_stop
#   auth_stop                 every process started here: SIGTERM by PID, SIGKILL after 5 s
#
# What they set:
#   AUTH_USER        the user name for every scheme (wsp-auth)
#   AUTH_PASS        its password, random per run; also in the file AUTH_PASS_FILE (0600);
#                    never printed
#   AUTH_PASS_BAD    a wrong password
#   AUTH_PROXY_HOST  the host name clients must use for the Negotiate proxy (localhost):
#                    its service principal is HTTP/localhost@AUTH_REALM
#   AUTH_DIGEST_REALM  the Digest realm squid offers (wsproxy-digest)
#   AUTH_NTLM_DOMAIN   the NTLM domain the clients send (WSPDOM); ntlm_fake_auth takes
#                    any password, so squid's ACL only lets WSPDOM\wsp-auth through
#   AUTH_NTLM_USER_FILE  gss-ntlmssp's user file, "WSPDOM:wsp-auth:AUTH_PASS" (0640 group
#                    proxy as root, else 0600): the helper's, and a client's NTLM_USER_FILE
#   AUTH_REALM       the Kerberos realm (WSPROXY.TEST)
#   AUTH_KEYTAB      the proxy's keytab (HTTP/localhost@WSPROXY.TEST)
#   AUTH_CCACHE      the client's credential cache (FILE:...), KRB5CCNAME after auth_kinit
#   KRB5_CONFIG      exported by auth_start_kdc: krb5.conf under AUTH_DIR (and
#                    KRB5_KDC_PROFILE, its kdc.conf)
#   AUTH_DIGEST_PORT AUTH_DIGEST_TLS_PORT AUTH_NTLM_PORT AUTH_NTLM_GSS_PORT
#   AUTH_CLOSE_PORT AUTH_KDC_PORT AUTH_NEGOTIATE_PORT  the ports the starts were given
#   AUTH_PIDS        the PIDs started here; AUTH_PID_<name> each one
#   AUTH_SETUP_MS_<name>  how long each start took (its port accepting: auth_wait)
# Logs: AUTH_DIR/<name>/cache.log, access.log and tls.log (auth_squid_tls_log) for each
# squid, AUTH_DIR/krb5/kdc.log.

AUTH_PIDS=()
AUTH_USER=wsp-auth
AUTH_PROXY_HOST=localhost
AUTH_DIGEST_REALM=wsproxy-digest
AUTH_NTLM_DOMAIN=WSPDOM
AUTH_REALM=WSPROXY.TEST
AUTH_SQUID=/usr/lib/squid
AUTH_CERTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../certs" && pwd)
# the password-checking NTLM helper (make interop-auth builds it): BUILD/ntlm_gss_helper
if [ -z "${AUTH_NTLM_HELPER:-}" ]; then
    AUTH_NTLM_HELPER=${BUILD:-build}/ntlm_gss_helper
    [[ $AUTH_NTLM_HELPER == /* ]] ||
        AUTH_NTLM_HELPER=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/$AUTH_NTLM_HELPER
fi

auth_now_ms() { date +%s%3N; }

# auth_readable FILE...: files squid's helpers must read. Squid started by root runs
# its helpers as the user "proxy": the files go to that group, not to everyone.
auth_readable() {
    if [ "$(id -u)" = 0 ] && getent group proxy >/dev/null; then
        chgrp proxy "$@" && chmod 640 "$@"
    else
        chmod 600 "$@"
    fi
}

# auth_random N: N random letters and digits
auth_random() {
    local s=''
    while [ ${#s} -lt "$1" ]; do s+=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'); done
    printf '%s' "${s:0:$1}"
}

auth_init() {
    AUTH_DIR=$1/auth
    mkdir -p "$AUTH_DIR" || return 1
    chmod 755 "$1" "$AUTH_DIR"
    AUTH_PASS=$(auth_random 20)
    AUTH_PASS_BAD=$(auth_random 20)
    AUTH_PASS_FILE=$AUTH_DIR/password
    ( umask 077; printf '%s\n' "$AUTH_PASS" >"$AUTH_PASS_FILE" )
}

# auth_spawn NAME CMD...: CMD in its own session, output in AUTH_DIR/NAME.out
auth_spawn() {
    local name=$1; shift
    setsid "$@" >"$AUTH_DIR/$name.out" 2>&1 </dev/null &
    AUTH_PIDS+=("$!")
    printf -v "AUTH_PID_$name" '%s' "$!"
    printf -v "AUTH_T0_$name" '%s' "$(auth_now_ms)"
}

auth_wait() {
    local name=$1 port=$2 i pidvar="AUTH_PID_$1" t0var="AUTH_T0_$1"
    if [ -z "${!pidvar:-}" ]; then echo "auth: $name was not started" >&2; return 1; fi
    for (( i = 0; i < 150; i++ )); do
        if (: >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf -v "AUTH_SETUP_MS_$name" '%s' "$(( $(auth_now_ms) - ${!t0var:-0} ))"
            return 0
        fi
        kill -0 "${!pidvar}" 2>/dev/null || break
        sleep 0.1
    done
    echo "auth: $name does not listen on 127.0.0.1:$port ($(kill -0 "${!pidvar}" 2>/dev/null && echo running || echo exited))" >&2
    auth_logs "$name" >&2
    return 1
}

# auth_logs NAME: the last lines of NAME's output and logs (they hold no secret)
auth_logs() {
    local f
    for f in "$AUTH_DIR/$1.out" "$AUTH_DIR/$1"/*.log; do
        [ -s "$f" ] || continue
        echo "    --- ${f#"$AUTH_DIR"/} (last 15 lines)"
        tail -n 15 "$f" | cut -c1-300 | sed 's/^/    | /'
    done
}

auth_stop() {
    local pid i alive
    for pid in "${AUTH_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
    for (( i = 0; i < 50; i++ )); do
        alive=0
        for pid in "${AUTH_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        (( alive )) || break
        sleep 0.1
    done
    for pid in "${AUTH_PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
    for pid in "${AUTH_PIDS[@]}"; do { wait "$pid"; } 2>/dev/null; done
    AUTH_PIDS=()
}

# ----------------------------------------------------------------------- squid --
# auth_squid_tls_log DIR: a second access log, DIR/tls.log, with the TLS version and
# suite each client negotiated with squid (tls=TLS/1.3 TLS_AES_256_GCM_SHA384; tls=- on
# an http_port), one line per request like access.log (tests/interop/run.sh checks it)
auth_squid_tls_log() {
    echo "logformat tlsversion %ts.%03tu %>a %rm %ru %>Hs tls=%ssl::>negotiated_version %ssl::>negotiated_cipher"
    echo "access_log stdio:$1/tls.log tlsversion"
}

# auth_squid_conf NAME: the settings every squid here shares, on stdout. CONNECT goes
# to 127.0.0.1 only; the http_access lines that demand authentication follow.
auth_squid_conf() {
    local d=$AUTH_DIR/$1
    auth_squid_tls_log "$d"
    cat <<EOF
pid_filename $d/squid.pid
cache_log $d/cache.log
access_log stdio:$d/access.log
cache_store_log none
netdb_filename none
coredump_dir $d
cache deny all
cache_mem 8 MB
pinger_enable off
shutdown_lifetime 1 seconds
visible_hostname wsproxy-auth-$1
acl CONNECT method CONNECT
acl loopback src 127.0.0.1/32
acl to_loopback dst 127.0.0.1/32
http_access deny !loopback
http_access deny CONNECT !to_loopback
EOF
}

# auth_access ACL DEFINITION: the lines that let only users matching the ACL through
auth_access() {
    printf 'acl %s %s\nhttp_access deny !%s\nhttp_access allow loopback\nhttp_access deny all\n' "$1" "$2" "$1"
}

# auth_ntlm_squid NAME PORT PROGRAM ACL DEFINITION [VAR=VALUE...]: a squid whose
# NTLM helper is PROGRAM and whose ACL lets the users through (config already in place
# under AUTH_DIR/NAME but for squid.conf)
auth_ntlm_squid() {
    local name=$1 port=$2 program=$3 acl=$4 def=$5; shift 5
    {
        echo "http_port 127.0.0.1:$port"
        auth_squid_conf "$name"
        printf 'auth_param ntlm program %s\nauth_param ntlm children 2 startup=1 idle=1\n' "$program"
        echo "auth_param ntlm keep_alive on"
        auth_access "$acl" "$def"
    } >"$AUTH_DIR/$name/squid.conf"
    auth_squid_start "$name" "$@"
}

# auth_squid_start NAME [VAR=VALUE...]: squid in the foreground with AUTH_DIR/NAME's
# config, in an environment with those variables (its helpers inherit them)
auth_squid_start() {
    local name=$1; shift
    auth_spawn "$name" env "$@" squid -N -f "$AUTH_DIR/$name/squid.conf"
}

auth_squid_dir() {
    mkdir -p "$AUTH_DIR/$1" && chmod 777 "$AUTH_DIR/$1"
}

# auth_digest_file FILE: squid's digest_file_auth -c format, user:realm:HA1 (no
# plaintext password on disk for squid)
auth_digest_file() {
    local ha1
    ha1=$(printf '%s:%s:%s' "$AUTH_USER" "$AUTH_DIGEST_REALM" "$AUTH_PASS" | md5sum | cut -d' ' -f1)
    printf '%s:%s:%s\n' "$AUTH_USER" "$AUTH_DIGEST_REALM" "$ha1" >"$1"
    auth_readable "$1"
}

auth_digest_conf() {   # auth_digest_conf DIR: the Digest scheme lines
    cat <<EOF
auth_param digest program $AUTH_SQUID/digest_file_auth -c $1/digest_passwd
auth_param digest children 2 startup=1 idle=1
auth_param digest realm $AUTH_DIGEST_REALM
auth_param digest nonce_garbage_interval 5 minutes
auth_param digest nonce_max_duration 30 minutes
auth_param digest nonce_max_count 50
EOF
    auth_access authed "proxy_auth REQUIRED"
}

auth_start_digest() {   # auth_start_digest PORT TLS_PORT
    local d=$AUTH_DIR/digest
    auth_squid_dir digest || return 1
    cp "$AUTH_CERTS/proxy-chain.pem" "$AUTH_CERTS/proxy.key" "$d/" && chmod 644 "$d"/proxy*
    auth_digest_file "$d/digest_passwd"
    {
        echo "http_port 127.0.0.1:$1"
        echo "https_port 127.0.0.1:$2 tls-cert=$d/proxy-chain.pem tls-key=$d/proxy.key"
        auth_squid_conf digest
        auth_digest_conf "$d"
    } >"$d/squid.conf"
    AUTH_DIGEST_PORT=$1
    AUTH_DIGEST_TLS_PORT=$2
    auth_squid_start digest
}

# Squid keeps a client connection open after a 407 unless told not to:
# client_persistent_connections off makes it answer every reply, the 407s included,
# with "Connection: close" and close.
auth_start_close() {   # auth_start_close PORT
    local d=$AUTH_DIR/close
    auth_squid_dir close || return 1
    auth_digest_file "$d/digest_passwd"
    {
        echo "http_port 127.0.0.1:$1"
        echo "client_persistent_connections off"
        auth_squid_conf close
        auth_digest_conf "$d"
    } >"$d/squid.conf"
    AUTH_CLOSE_PORT=$1
    auth_squid_start close
}

# ntlm_fake_auth runs a real NTLM exchange (type 1, type 2 challenge, type 3) but
# checks no password: it takes the DOMAIN\user of the type 3. The ACL admits only
# AUTH_NTLM_DOMAIN\AUTH_USER, so another user gets a 407. Squid 5.7 reads the OEM
# (8-bit) strings of a type 3 one byte too long (lib/ntlmauth's ntlm_fetch_string
# loops while l >= 0), so curl's "WSPDOM" and "wsp-auth" arrive as "WSPDOMw" and
# "wsp-authw" (the first byte of the next field); the regex allows that one byte.
auth_start_ntlm() {   # auth_start_ntlm PORT
    local d=$AUTH_DIR/ntlm
    auth_squid_dir ntlm || return 1
    printf '^%s.?\\\\%s.?$\n' "$AUTH_NTLM_DOMAIN" "$AUTH_USER" >"$d/users"
    chmod 644 "$d/users"
    AUTH_NTLM_PORT=$1
    auth_ntlm_squid ntlm "$1" "$AUTH_SQUID/ntlm_fake_auth" ntlm_user "proxy_auth_regex \"$d/users\""
}

# The same with a helper that checks the password: tests/interop/ntlm_gss_helper.c
# (AUTH_NTLM_HELPER, default build/ntlm_gss_helper) has gss-ntlmssp's acceptor make
# the challenge and verify the answer against AUTH_NTLM_USER_FILE. Squid's
# ntlm_fake_auth cannot serve the gss-ntlmssp client (its challenge is too short).
auth_start_ntlm_gss() {   # auth_start_ntlm_gss PORT
    local d=$AUTH_DIR/ntlm_gss
    auth_squid_dir ntlm_gss || return 1
    if [ ! -x "$AUTH_NTLM_HELPER" ]; then echo "auth: $AUTH_NTLM_HELPER is missing" >&2; return 1; fi
    # a copy beside the config: squid's user "proxy" may not reach into the build folder
    cp "$AUTH_NTLM_HELPER" "$d/ntlm_gss_helper" && chmod 755 "$d/ntlm_gss_helper" || return 1
    auth_ntlm_user_file
    AUTH_NTLM_GSS_PORT=$1
    auth_ntlm_squid ntlm_gss "$1" "$d/ntlm_gss_helper" authed "proxy_auth REQUIRED" \
        NTLM_USER_FILE="$AUTH_NTLM_USER_FILE"
}

# auth_ntlm_user_file: AUTH_NTLM_USER_FILE, gss-ntlmssp's user file (the client's
# NTLM_USER_FILE and the helper's): one line AUTH_NTLM_DOMAIN:AUTH_USER:AUTH_PASS
auth_ntlm_user_file() {
    AUTH_NTLM_USER_FILE=$AUTH_DIR/ntlm_users
    [ -s "$AUTH_NTLM_USER_FILE" ] && return 0
    printf '%s:%s:%s\n' "$AUTH_NTLM_DOMAIN" "$AUTH_USER" "$AUTH_PASS" >"$AUTH_NTLM_USER_FILE"
    auth_readable "$AUTH_NTLM_USER_FILE"
}

# -------------------------------------------------------------------- Kerberos --
# A realm made from nothing: krb5.conf (KRB5_CONFIG) and kdc.conf (KRB5_KDC_PROFILE)
# under AUTH_DIR/krb5, a database with a random master key (kdb5_util), the user
# principal with AUTH_PASS and HTTP/AUTH_PROXY_HOST with a random key in AUTH_KEYTAB
# (kadmin.local), then krb5kdc -n. rdns and dns_canonicalize_hostname are off, so the
# service name a client builds from "localhost" stays HTTP/localhost.
auth_start_kdc() {   # auth_start_kdc PORT
    local k=$AUTH_DIR/krb5 port=$1 t0 out
    t0=$(auth_now_ms)
    mkdir -p "$k/rcache" && chmod 755 "$k" && chmod 777 "$k/rcache" || return 1
    cat >"$k/krb5.conf" <<EOF
[libdefaults]
    default_realm = $AUTH_REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    ignore_acceptor_hostname = false
    udp_preference_limit = 1
    default_ccache_name = FILE:$k/ccache-default
[realms]
    $AUTH_REALM = {
        kdc = 127.0.0.1:$port
    }
[domain_realm]
    $AUTH_PROXY_HOST = $AUTH_REALM
EOF
    cat >"$k/kdc.conf" <<EOF
[kdcdefaults]
    kdc_ports = $port
    kdc_tcp_ports = $port
[realms]
    $AUTH_REALM = {
        database_name = $k/principal
        key_stash_file = $k/stash
        acl_file = $k/kadm5.acl
        kdc_listen = 127.0.0.1:$port
        kdc_tcp_listen = 127.0.0.1:$port
        max_life = 1h
        max_renewable_life = 0
    }
[logging]
    kdc = FILE:$k/kdc.log
    admin_server = FILE:$k/kadmin.log
    default = FILE:$k/krb5lib.log
EOF
    chmod 644 "$k/krb5.conf"
    : >"$k/kadm5.acl"
    export KRB5_CONFIG=$k/krb5.conf
    export KRB5_KDC_PROFILE=$k/kdc.conf
    AUTH_KEYTAB=$k/proxy.keytab
    AUTH_CCACHE=FILE:$k/ccache
    AUTH_KDC_PORT=$port
    # the master key is random and kept in the stash file; kdb5_util reads it from -P
    if ! out=$(kdb5_util create -s -r "$AUTH_REALM" -P "$(auth_random 24)" 2>&1); then
        echo "auth: kdb5_util create failed: $out" >&2; return 1
    fi
    if ! out=$(kadmin.local -r "$AUTH_REALM" -q "addprinc -pw $AUTH_PASS $AUTH_USER" 2>&1) ||
       ! grep -q "Principal \"$AUTH_USER@$AUTH_REALM\" created" <<<"$out"; then
        echo "auth: kadmin.local addprinc $AUTH_USER failed: ${out//$AUTH_PASS/<password>}" >&2; return 1
    fi
    if ! out=$(kadmin.local -r "$AUTH_REALM" -q "addprinc -randkey HTTP/$AUTH_PROXY_HOST" 2>&1) ||
       ! out=$(kadmin.local -r "$AUTH_REALM" -q "ktadd -k $AUTH_KEYTAB HTTP/$AUTH_PROXY_HOST" 2>&1) ||
       [ ! -s "$AUTH_KEYTAB" ]; then
        echo "auth: kadmin.local HTTP/$AUTH_PROXY_HOST and its keytab failed: $out" >&2; return 1
    fi
    auth_readable "$AUTH_KEYTAB"
    auth_spawn kdc krb5kdc -n
    printf -v AUTH_T0_kdc '%s' "$t0"
}

auth_kinit() {   # auth_kinit [PASSWORD]: 0 when the KDC gave AUTH_USER a ticket
    export KRB5CCNAME=$AUTH_CCACHE
    kdestroy -q 2>/dev/null
    printf '%s\n' "${1:-$AUTH_PASS}" | kinit "$AUTH_USER@$AUTH_REALM" >/dev/null 2>"$AUTH_DIR/kinit.err"
}

auth_start_negotiate() {   # auth_start_negotiate PORT (after auth_start_kdc)
    local d=$AUTH_DIR/negotiate
    auth_squid_dir negotiate || return 1
    {
        echo "http_port 127.0.0.1:$1"
        auth_squid_conf negotiate
        echo "auth_param negotiate program $AUTH_SQUID/negotiate_kerberos_auth -s HTTP/$AUTH_PROXY_HOST@$AUTH_REALM -k $AUTH_KEYTAB"
        echo "auth_param negotiate children 2 startup=1 idle=1"
        echo "auth_param negotiate keep_alive on"
        auth_access authed "proxy_auth REQUIRED"
    } >"$d/squid.conf"
    AUTH_NEGOTIATE_PORT=$1
    # the helpers inherit squid's environment: the realm's krb5.conf, the keytab and a
    # replay cache under AUTH_DIR
    auth_squid_start negotiate KRB5_CONFIG="$KRB5_CONFIG" KRB5_KTNAME="FILE:$AUTH_KEYTAB" \
        KRB5RCACHEDIR="$AUTH_DIR/krb5/rcache"
}

# auth_seen NAME USER_ERE HOSTPORT: squid NAME logged a CONNECT to HOSTPORT answered
# 200 for a user matching USER_ERE (an extended regex on the access log's user column,
# where squid writes a backslash as two: WSPDOM\user is logged WSPDOM\\user)
auth_seen() {
    AUTH_RE=$2 awk -v t="$3" '$6 == "CONNECT" && $7 == t && $8 ~ ENVIRON["AUTH_RE"] && $4 ~ /\/200$/ { f = 1 }
                              END { exit !f }' "$AUTH_DIR/$1/access.log" 2>/dev/null
}
