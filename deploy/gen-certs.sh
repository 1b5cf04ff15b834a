#!/usr/bin/env bash
# gen-certs.sh -- makes the TLS material for running Strand with an SSL listener.
#
# Usage: deploy/gen-certs.sh [options] [DIR]        (DIR defaults to deploy/certs/)
#   --days N              validity of the broker and client certificates (default 825)
#   --broker-san LIST     subjectAltName of the broker certificate
#                         (default "DNS:localhost,IP:127.0.0.1"; add your host names)
#   --client-subject DN   subject of the client certificate (default "/O=acme/CN=alice",
#                         which the broker sees as principal User:CN=alice,O=acme)
#   --key-password PW     encrypt broker.key with PW (AES-256); set ssl.key.password=PW
#   --force               regenerate everything, even files that are still good
#
# Writes into DIR (PEM files, keys readable by the owner only):
#   ca.pem, ca.key            a private certificate authority (10 years)
#   broker.pem, broker.key    the broker's certificate (CN=localhost, SAN as above), signed by the CA
#   client.pem, client.key    a client certificate (mutual TLS), signed by the CA
#   client-ssl.properties     security.protocol=SSL + ssl.ca.location (server-authenticated TLS)
#   client-mtls.properties    the same plus the client certificate and key (mutual TLS)
#
# Idempotent: a file that exists and is still good (certificate signed by this CA, matching its
# key, valid for at least one more day) is kept; anything missing or stale is (re)made. The
# broker and client certificates are remade when the CA is. Needs only the `openssl` command.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$here/certs"
days=825
broker_san="DNS:localhost,IP:127.0.0.1"
client_subject="/O=acme/CN=alice"
key_password=""
force=0

usage() { sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --days) days="${2:?--days needs a value}"; shift 2 ;;
        --broker-san) broker_san="${2:?--broker-san needs a value}"; shift 2 ;;
        --client-subject) client_subject="${2:?--client-subject needs a value}"; shift 2 ;;
        --key-password) key_password="${2:?--key-password needs a value}"; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "gen-certs.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) dir="$1"; shift ;;
    esac
done
case "$days" in ''|*[!0-9]*) echo "gen-certs.sh: --days must be a positive number, not '$days'" >&2; exit 2 ;; esac

command -v openssl >/dev/null || { echo "gen-certs.sh: the openssl command is not installed" >&2; exit 1; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
umask 077
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

log() { echo "gen-certs.sh: $*"; }

# good_cert CERT KEY: the certificate exists, is signed by our CA, matches KEY and is valid for
# at least one more day.
good_cert() {
    local cert="$1" key="$2" pass=()
    [ -s "$cert" ] && [ -s "$key" ] || return 1
    [ "$key" = "$dir/broker.key" ] && [ -n "$key_password" ] && pass=(-passin "pass:$key_password")
    openssl verify -CAfile "$dir/ca.pem" "$cert" >/dev/null 2>&1 || return 1
    openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1 || return 1
    [ "$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null)" = \
      "$(openssl pkey -in "$key" "${pass[@]}" -pubout 2>/dev/null)" ] || return 1
}

new_key() {   # new_key FILE [PASSWORD]
    if [ -n "${2:-}" ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc \
            -pass "pass:$2" -out "$1" 2>/dev/null
    else
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    fi
}

# sign NAME SUBJECT EXTFILE [KEYPASS]: NAME.key (new) + NAME.pem signed by the CA.
sign() {
    local name="$1" subject="$2" ext="$3" pass="${4:-}" passin=()
    new_key "$tmp/$name.key" "$pass"
    [ -n "$pass" ] && passin=(-passin "pass:$pass")
    openssl req -new -key "$tmp/$name.key" "${passin[@]}" -subj "$subject" -out "$tmp/$name.csr"
    openssl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -CAserial "$tmp/ca.srl" -days "$days" -sha256 \
        -extfile "$ext" -out "$tmp/$name.pem" 2>/dev/null
    mv -f "$tmp/$name.key" "$dir/$name.key"
    mv -f "$tmp/$name.pem" "$dir/$name.pem"
    log "made $dir/$name.pem ($subject) and $dir/$name.key"
}

ca_made=0
if [ "$force" = 1 ] || [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ] ||
   ! openssl x509 -in "$dir/ca.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    new_key "$tmp/ca.key"
    openssl req -x509 -new -key "$tmp/ca.key" -subj "/O=Strand/CN=Strand test CA" -days 3650 \
        -sha256 -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$tmp/ca.pem"
    mv -f "$tmp/ca.key" "$dir/ca.key"
    mv -f "$tmp/ca.pem" "$dir/ca.pem"
    ca_made=1
    log "made CA $dir/ca.pem"
else
    log "kept CA $dir/ca.pem"
fi

cat > "$tmp/broker.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$broker_san
EXT
cat > "$tmp/client.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EXT

if [ "$force" = 1 ] || [ "$ca_made" = 1 ] || ! good_cert "$dir/broker.pem" "$dir/broker.key"; then
    sign broker "/O=Strand/CN=localhost" "$tmp/broker.ext" "$key_password"
else
    log "kept $dir/broker.pem"
fi
if [ "$force" = 1 ] || [ "$ca_made" = 1 ] || ! good_cert "$dir/client.pem" "$dir/client.key"; then
    sign client "$client_subject" "$tmp/client.ext"
else
    log "kept $dir/client.pem"
fi

umask 022
cat > "$dir/client-ssl.properties" <<PROPS
# TLS to the broker, verifying its certificate against our CA (made by gen-certs.sh)
security.protocol=SSL
ssl.ca.location=$dir/ca.pem
PROPS
cat > "$dir/client-mtls.properties" <<PROPS
# TLS with a client certificate (mutual TLS; made by gen-certs.sh)
security.protocol=SSL
ssl.ca.location=$dir/ca.pem
ssl.certificate.location=$dir/client.pem
ssl.key.location=$dir/client.key
PROPS
chmod 644 "$dir/ca.pem" "$dir/broker.pem" "$dir/client.pem"
log "certificates are in $dir"
