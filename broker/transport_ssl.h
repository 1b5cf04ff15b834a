/* The broker's TLS transport (transport_ssl.c): an SSL listener context made once from the
 * ssl.* settings at start-up, and the factory that wraps each accepted socket of an SSL
 * listener in an OpenSSL session behind the st_transport_ops_t table of transport.h.
 *
 * Fetched record data goes out with SSL_sendfile when OpenSSL moved the connection's sending
 * side into the kernel (kTLS: probed at start-up, checked per connection after the handshake
 * with BIO_get_ktls_send), otherwise with pread into a per-connection buffer and SSL_write.
 * The environment variable STRAND_TLS_KTLS=off|on|auto (default auto) skips the probe's
 * verdict: "off" never asks for kTLS, "on" asks even when the probe said no (the connection
 * then falls back by itself; the fail-over test uses it). */
#ifndef ST_TRANSPORT_SSL_H
#define ST_TRANSPORT_SSL_H

#include <stdbool.h>
#include <stddef.h>

#include "broker_config.h"
#include "st_tls.h"
#include "transport.h"

typedef struct st_ssl_listener st_ssl_listener_t;

/* Makes the context of the SSL listener `name` from the broker's ssl.* settings. 0, or a
 * negative errno with errbuf naming the key, the file and OpenSSL's reason (see st_tls.h);
 * the caller prints it and exits 1. Logs at INFO which fetch path the listener will use. */
int st_ssl_listener_new(const st_broker_config_t *cfg, const char *name,
                        st_ssl_listener_t **ret_listener, char *errbuf, size_t errlen);
/* Same from explicit settings (tests, and any caller without a broker config). */
int st_ssl_listener_new_from(const st_tls_conf_t *tls, const char *name,
                             st_ssl_listener_t **ret_listener, char *errbuf, size_t errlen);
/* Frees the context; connections made from it must be closed first. */
void st_ssl_listener_free(st_ssl_listener_t *listener);

/* st_transport_factory_t for SSL listeners: ctx is the st_ssl_listener_t. */
st_transport_t *st_transport_ssl_new(int fd, const char *peer, void *ctx);

#endif
