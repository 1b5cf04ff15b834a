# quickstart-tls.sh -- the TLS part of deploy/quickstart.sh, sourced by it for --tls:
#
#   . deploy/quickstart-tls.sh
#   strand_quickstart_tls_cluster "$STRAND_CLUSTER_DIR"
#
# makes (or reuses) the certificates in deploy/certs/ with deploy/gen-certs.sh (mutual TLS:
# ssl.client.auth=required, so each broker logs a client as User:CN=alice,O=acme; hostname
# verification stays on: the broker certificate names localhost and 127.0.0.1). Set
# STRAND_CERTS_DIR to use another certificate directory.

# Writes
# "$dir/broker-extra.properties" (read by cluster.sh) giving broker N a second listener
# SSL://127.0.0.1:919N (9191-9193; cluster.sh's --port shifts them: {SSL_PORT}) for clients, with the brokers still talking to each other on
# their PLAINTEXT listener (inter.broker.listener.name=PLAINTEXT), and "$dir/client.properties".
strand_quickstart_tls_cluster() {
  local dir="$1"
  local here certs
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  certs="${STRAND_CERTS_DIR:-$here/certs}"
  "$here/gen-certs.sh" "$certs" | sed 's/^/  /'
  cat > "$dir/broker-extra.properties" <<PROPS
listeners=PLAINTEXT://127.0.0.1:{PORT},SSL://127.0.0.1:{SSL_PORT}
inter.broker.listener.name=PLAINTEXT
ssl.certificate.location=$certs/broker.pem
ssl.key.location=$certs/broker.key
ssl.ca.location=$certs/ca.pem
ssl.client.auth=required
ssl.enabled.protocols=TLSv1.3,TLSv1.2
PROPS
  cat > "$dir/client.properties" <<PROPS
# Client settings for the quickstart cluster's SSL listeners (mutual TLS)
security.protocol=SSL
ssl.ca.location=$certs/ca.pem
ssl.certificate.location=$certs/client.pem
ssl.key.location=$certs/client.key
ssl.endpoint.identification.algorithm=https
PROPS
  echo "  TLS: an SSL listener on each broker, client settings in $dir/client.properties"
}
