#!/usr/bin/env bash
# Regenerates the TLS test certificates in this directory; README lists every file
# and what it is for.
# Keys and serial numbers differ on every run; names, SANs and validity
# periods do not.  Needs the openssl command-line tool (1.1.1 or 3.x).
#
# Usage:  bash tests/certs/gen.sh [OUTDIR]      (default: this directory)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DAYS=7300   # 20 years for everything that is meant to be valid

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-certs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Every certificate is issued with `openssl ca` (only it can set a start date):
# a throwaway config and database per issuer live in $WORK.
START=20240101000000Z   # backdated, so a clock somewhat behind still accepts them

cacnf() {   # cacnf ISSUER -> prints the config path
    local d=$WORK/db-$1
    if [[ ! -d $d ]]; then
        mkdir -p "$d/new"
        : >"$d/index.txt"
        cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = tmp_ca
[ tmp_ca ]
dir = $d
database = $d/index.txt
new_certs_dir = $d/new
serial = $d/serial
certificate = $OUT/$1.pem
private_key = $OUT/$1.key
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
organizationName = optional
commonName = supplied
[ req ]
distinguished_name = req_dn
[ req_dn ]
CNF
    fi
    openssl rand -hex 8 >"$d/serial"   # random serial for each certificate
    echo "$d/ca.cnf"
}

newkey() {   # newkey FILE rsa|ec
    case $2 in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
        ec)  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
                 -pkeyopt ec_param_enc:named_curve -out "$1" 2>/dev/null ;;
    esac
}

# issue NAME ISSUER rsa|ec "CN" EXTFILE VALIDITY...   (ISSUER=self: self-signed)
issue() {
    local name=$1 issuer=$2 kt=$3 cn=$4 ext=$5 cnf
    shift 5
    newkey "$OUT/$name.key" "$kt"
    if [[ $issuer == self ]]; then
        cnf=$(cacnf "$name")
    else
        cnf=$(cacnf "$issuer")
    fi
    openssl req -new -config "$cnf" -key "$OUT/$name.key" -subj "/O=wsproxy tests/CN=$cn" \
        -out "$WORK/$name.csr"
    if [[ $issuer == self ]]; then
        openssl ca -batch -config "$cnf" -notext -preserveDN -selfsign -keyfile "$OUT/$name.key" \
            -extfile "$ext" "$@" -in "$WORK/$name.csr" -out "$OUT/$name.pem" 2>/dev/null
    else
        openssl ca -batch -config "$cnf" -notext -preserveDN \
            -extfile "$ext" "$@" -in "$WORK/$name.csr" -out "$OUT/$name.pem" 2>/dev/null
        cat "$OUT/$name.pem" "$OUT/$issuer.pem" >"$OUT/$name-chain.pem"
    fi
}

# ca NAME "COMMON NAME" rsa|ec
ca() {
    cat >"$WORK/$1.ext" <<EXT
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EXT
    issue "$1" self "$3" "$2" "$WORK/$1.ext" -startdate "$START" -days "$DAYS"
}

# Per call, through the environment of a function call (VAR=value leaf ...):
#   EKU  the leaf's extendedKeyUsage (default serverAuth; "none": no such extension)
#   MD   the digest the issuer signs with (default sha256; sha1 for the weak ones)
leaf_ext() {   # leaf_ext FILE SAN
    local eku=${EKU:-serverAuth}
    {
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature, keyEncipherment"
        [[ $eku == none ]] || echo "extendedKeyUsage = $eku"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid, issuer"
        echo "subjectAltName = $2"
    } >"$1"
}

# leaf NAME ISSUER rsa|ec "CN" "SAN" [START END]   (default: valid for $DAYS days)
leaf() {
    local name=$1 issuer=$2 kt=$3 cn=$4 san=$5
    leaf_ext "$WORK/$name.ext" "$san"
    if (( $# >= 7 )); then
        issue "$name" "$issuer" "$kt" "$cn" "$WORK/$name.ext" -md "${MD:-sha256}" \
            -startdate "$6" -enddate "$7"
    else
        issue "$name" "$issuer" "$kt" "$cn" "$WORK/$name.ext" -md "${MD:-sha256}" \
            -startdate "$START" -days "$DAYS"
    fi
}

# intermediate NAME ISSUER rsa|ec "CN": a CA (pathlen 0) signed by ISSUER (MD as for leaf)
intermediate() {
    cat >"$WORK/$1.ext" <<EXT
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EXT
    issue "$1" "$2" "$3" "$4" "$WORK/$1.ext" -md "${MD:-sha256}" -startdate "$START" -days "$DAYS"
}

# client NAME ISSUER rsa|ec "CN": a TLS client certificate (clientAuth, no SAN)
client() {
    cat >"$WORK/$1.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EXT
    issue "$1" "$2" "$3" "$4" "$WORK/$1.ext" -startdate "$START" -days "$DAYS"
}

LOCAL='DNS:localhost, IP:127.0.0.1'

ca ca           "wsproxy test CA"           rsa
ca proxy-ca     "wsproxy test proxy CA"     ec
ca untrusted-ca "wsproxy untrusted test CA" rsa

leaf target    ca           rsa localhost     "DNS:localhost, IP:127.0.0.1, IP:::1"
leaf target-ec ca           ec  localhost     "DNS:localhost, IP:127.0.0.1, IP:::1"
leaf proxy     proxy-ca     ec  localhost     "$LOCAL"
leaf wrongname ca           ec  wrong.example "DNS:wrong.example, IP:10.9.9.9"
leaf untrusted untrusted-ca ec  localhost     "$LOCAL"
leaf dns-only  ca           ec  localhost     "DNS:localhost"
leaf ip-only   ca           ec  "wsproxy ip-only test" "IP:127.0.0.1"
leaf expired   ca           ec  localhost     "$LOCAL" 20200101000000Z 20200201000000Z


# policy leaves (issue 13): weak signatures, extended key usage
MD=sha1 leaf sha1-leaf ca   ec  localhost     "$LOCAL"
intermediate inter      ca   ec  "wsproxy test intermediate CA"
MD=sha1 intermediate sha1-inter ca ec "wsproxy test SHA-1 intermediate CA"
leaf inter-leaf      inter      ec localhost  "$LOCAL"
leaf sha1-inter-leaf sha1-inter ec localhost  "$LOCAL"
EKU=clientAuth          leaf eku-client ca ec localhost "$LOCAL"
EKU=serverAuth          leaf eku-server ca ec localhost "$LOCAL"
EKU=anyExtendedKeyUsage leaf eku-any    ca ec localhost "$LOCAL"
EKU=none                leaf eku-none   ca ec localhost "$LOCAL"

# client certificates (mTLS)
ca client-ca "wsproxy test client CA" rsa
client client-rsa       client-ca    rsa "wsproxy test client rsa"
client client-ec        client-ca    ec  "wsproxy test client ec"
client client-untrusted untrusted-ca ec  "wsproxy untrusted test client"
# the same keys in the other encodings a loader must read (or refuse)
openssl pkey -in "$OUT/client-rsa.key" -traditional -out "$OUT/client-rsa-pkcs1.key"
openssl pkey -in "$OUT/client-ec.key" -traditional -out "$OUT/client-ec-sec1.key"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$OUT/client-rsa.key" \
    -passout pass:wsproxy-test-passphrase -out "$OUT/client-rsa-encrypted.key"

# sanity: every leaf but expired/untrusted verifies against its CA
for n in target target-ec wrongname dns-only ip-only eku-client eku-server eku-any eku-none; do
    openssl verify -CAfile "$OUT/ca.pem" "$OUT/$n.pem" >/dev/null
done
openssl verify -CAfile "$OUT/ca.pem" -untrusted "$OUT/inter.pem" "$OUT/inter-leaf.pem" >/dev/null
# SHA-1 signatures: OpenSSL 3 refuses them above security level 0, which proves the point
openssl verify -auth_level 0 -CAfile "$OUT/ca.pem" "$OUT/sha1-leaf.pem" >/dev/null
openssl verify -auth_level 0 -CAfile "$OUT/ca.pem" -untrusted "$OUT/sha1-inter.pem" \
    "$OUT/sha1-inter-leaf.pem" >/dev/null
openssl verify -CAfile "$OUT/proxy-ca.pem" "$OUT/proxy.pem" >/dev/null
openssl verify -CAfile "$OUT/untrusted-ca.pem" "$OUT/untrusted.pem" >/dev/null
openssl verify -CAfile "$OUT/client-ca.pem" "$OUT/client-rsa.pem" "$OUT/client-ec.pem" >/dev/null
openssl verify -CAfile "$OUT/untrusted-ca.pem" "$OUT/client-untrusted.pem" >/dev/null
must_fail() {   # must_fail WHAT COMMAND...
    if "${@:2}" >/dev/null 2>&1; then
        echo "gen.sh: $1 unexpectedly verifies" >&2
        exit 1
    fi
}
must_fail expired.pem openssl verify -CAfile "$OUT/ca.pem" "$OUT/expired.pem"
must_fail client-untrusted.pem openssl verify -CAfile "$OUT/client-ca.pem" "$OUT/client-untrusted.pem"
must_fail "sha1-leaf.pem at the default security level" \
    openssl verify -auth_level 1 -CAfile "$OUT/ca.pem" "$OUT/sha1-leaf.pem"
# the PEM labels the key files promise
label() {   # label FILE "LABEL"
    if [[ $(head -n 1 "$OUT/$1") != "-----BEGIN $2-----" ]]; then
        echo "gen.sh: $1 is not a $2 file" >&2
        exit 1
    fi
}
label client-rsa.key "PRIVATE KEY"
label client-ec.key "PRIVATE KEY"
label client-rsa-pkcs1.key "RSA PRIVATE KEY"
label client-ec-sec1.key "EC PRIVATE KEY"
label client-rsa-encrypted.key "ENCRYPTED PRIVATE KEY"
echo "certificates written to $OUT"
