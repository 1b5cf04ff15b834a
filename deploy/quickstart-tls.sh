# quickstart-tls.sh -- the TLS part of deploy/quickstart.sh, sourced by it for --tls:
#
#   . deploy/quickstart-tls.sh
#   strand_quickstart_tls_setup "$work" "$port"
#
# makes (or reuses) the certificates in deploy/certs/ with deploy/gen-certs.sh, appends the
# broker's ssl.* settings to "$work/server.properties" (mutual TLS: ssl.client.auth=required,
# so the broker logs each client as User:CN=alice,O=acme), and writes
# "$work/client.properties" for the tools' --command-config (security.protocol=SSL, the CA,
# the client certificate and key; hostname verification stays on: the broker certificate names
# localhost and 127.0.0.1). The caller then starts the broker with listeners=SSL://127.0.0.1:PORT.
# Set STRAND_CERTS_DIR to use another certificate directory.

strand_quickstart_tls_setup() {
  local work="$1" port="$2"
  local here certs
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  certs="${STRAND_CERTS_DIR:-$here/certs}"
  [ -n "$work" ] && [ -f "$work/server.properties" ] || {
    echo "strand_quickstart_tls_setup: $work/server.properties does not exist" >&2; return 1; }
  "$here/gen-certs.sh" "$certs" | sed 's/^/  /'
  cat >> "$work/server.properties" <<PROPS

# ---- TLS (added by deploy/quickstart-tls.sh; certificates from deploy/gen-certs.sh) ----
ssl.certificate.location=$certs/broker.pem
ssl.key.location=$certs/broker.key
ssl.ca.location=$certs/ca.pem
ssl.client.auth=required
ssl.enabled.protocols=TLSv1.3,TLSv1.2
PROPS
  cat > "$work/client.properties" <<PROPS
# Client settings for the quickstart's SSL listener on 127.0.0.1:$port (mutual TLS)
security.protocol=SSL
ssl.ca.location=$certs/ca.pem
ssl.certificate.location=$certs/client.pem
ssl.key.location=$certs/client.key
ssl.endpoint.identification.algorithm=https
PROPS
  echo "  TLS: broker certificate $certs/broker.pem, client settings in $work/client.properties"
}
