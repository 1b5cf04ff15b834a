/* TLS contexts and helpers shared by the broker's SSL listener and the client library's SSL
 * transport, on OpenSSL 3: SSL_CTX creation from the PEM settings (ssl.certificate.location,
 * ssl.key.location, ssl.key.password, ssl.ca.location, ssl.client.auth, ssl.enabled.protocols,
 * ssl.cipher.suites), errors that name the file or key and carry OpenSSL's reason, the
 * principal of a peer certificate (Kafka's "User:CN=alice,O=acme"), hostname/IP verification
 * for clients, readable handshake-failure messages, and the kernel-TLS probe.
 *
 * Standalone: includes only OpenSSL and libc. Functions are thread-safe (an SSL_CTX is
 * immutable once made and may be shared by every thread; each SSL belongs to one thread).
 * Nothing here logs above DEBUG: the caller that handles an error logs it once. */
#ifndef ST_TLS_H
#define ST_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* ssl.enabled.protocols default, Kafka's order. */
#define ST_TLS_DEFAULT_PROTOCOLS "TLSv1.3,TLSv1.2"

typedef enum st_tls_client_auth {
    ST_TLS_CLIENT_AUTH_NONE = 0,    /* no certificate asked for */
    ST_TLS_CLIENT_AUTH_REQUESTED,   /* asked for; if one is sent it must verify */
    ST_TLS_CLIENT_AUTH_REQUIRED,    /* handshake fails without a valid one */
} st_tls_client_auth_t;

/* The ssl.* settings; NULL or "" means "not set". Strings are only read during the call. */
typedef struct st_tls_conf {
    const char *certificate_location;  /* PEM certificate, optionally followed by its chain */
    const char *key_location;          /* PEM private key (PKCS#8, traditional, encrypted or not) */
    const char *key_password;          /* for an encrypted key */
    const char *ca_location;           /* PEM CA bundle file, or a c_rehash'd directory */
    const char *client_auth;           /* server only: none|requested|required (NULL = none) */
    const char *enabled_protocols;     /* NULL = ST_TLS_DEFAULT_PROTOCOLS */
    const char *cipher_suites;         /* comma-separated IANA or OpenSSL names; NULL = defaults
                                        * (AES-GCM first) */
    bool ktls;                         /* ask for kernel TLS (SSL_OP_ENABLE_KTLS); OpenSSL falls
                                        * back silently when the kernel lacks it */
} st_tls_conf_t;

/* Makes the context of an SSL listener: certificate and key (required, must match), CA and
 * verify mode per client_auth (a CA is required unless client_auth is none), protocols,
 * cipher suites, server cipher preference, no renegotiation. Returns 0, or a negative errno
 * with a message in errbuf that names the setting and file and ends with OpenSSL's reason:
 *   -ENOENT/-EACCES/...  a file could not be opened (the errno of fopen)
 *   -EKEYREJECTED        wrong or missing ssl.key.password, or key not matching the certificate
 *   -EINVAL              a bad value (protocol name, cipher, client auth, unparsable PEM)
 *   -ENOMEM, -EPROTO     OpenSSL failed otherwise */
int st_tls_server_ctx_new(const st_tls_conf_t *conf, SSL_CTX **ret_ctx, char *errbuf,
                          size_t errlen);

/* Makes a client context: verifies the server against ca_location (or the system's default
 * trust store when unset), presents certificate/key if both are set (one without the other is
 * -EINVAL), protocols and cipher suites. Same results as st_tls_server_ctx_new. */
int st_tls_client_ctx_new(const st_tls_conf_t *conf, SSL_CTX **ret_ctx, char *errbuf,
                          size_t errlen);

/* Prepares a client SSL for connecting to `host`: SNI (for names, not IP literals) and, if
 * verify_host, the check that the server certificate names host (SSL_set1_host for DNS names,
 * the IP SAN for IP literals). 0 or -ENOMEM/-EINVAL. */
int st_tls_client_set_host(SSL *ssl, const char *host, bool verify_host);

/* "TLSv1.3,TLSv1.2" -> lowest and highest version (TLS1_2_VERSION, TLS1_3_VERSION) and the
 * SSL_OP_NO_* mask of versions inside that range that were not listed. Accepts TLSv1, TLSv1.1,
 * TLSv1.2, TLSv1.3 (case-insensitive). -EINVAL with the bad name in errbuf. */
int st_tls_parse_protocols(const char *list, int *ret_min, int *ret_max, long *ret_no_mask,
                           char *errbuf, size_t errlen);

/* "none" | "requested" | "required" (case-insensitive; NULL or "" = none). -EINVAL otherwise. */
int st_tls_parse_client_auth(const char *value, st_tls_client_auth_t *ret_mode);


/* Reads as many TLS records as fit into buf, as recv(2) would (one call per buffer, not per
 * 16 KiB record). Returns the bytes read (> 0), or, when nothing was read, the failing
 * SSL_read's return value (<= 0) with errno as it left it, for the caller's error mapping. A
 * failure after some bytes is left for the next call (OpenSSL keeps returning it). */
ssize_t st_tls_read_fill(SSL *ssl, void *buf, size_t len);
/* The authenticated principal of a connection after its handshake: "User:<subject DN>" in
 * RFC 2253 order as Kafka prints it (subject /O=acme/CN=alice -> "User:CN=alice,O=acme"), or
 * "User:ANONYMOUS" when the peer sent no certificate. Always NUL-terminates; returns 0 or
 * -ENOSPC if truncated (the truncated text is still written). */
int st_tls_principal(SSL *ssl, char *buf, size_t len);

/* A one-line explanation of why an SSL operation failed, for the log or errstr: given ret and
 * errno as they were right after the failed SSL_* call, combines SSL_get_error, the OpenSSL
 * error queue (which it empties), the certificate verification result, and errno or "the peer
 * closed the connection" for SSL_ERROR_SYSCALL. Returns buf. */
const char *st_tls_error_explain(SSL *ssl, int ret, int saved_errno, char *buf, size_t len);

/* Empties the thread's OpenSSL error queue into "reason; reason" text (buf, "no OpenSSL error"
 * if it was empty) and returns buf. */
const char *st_tls_drain_errors(char *buf, size_t len);

/* Probes whether this kernel can do kernel TLS: tries the "tls" TCP upper-layer protocol on a
 * loopback connection. Cached after the first call. On false, why says what failed. */
bool st_tls_ktls_probe(char *why, size_t whylen);

/* True if OpenSSL moved this connection's sending side into the kernel (after the handshake). */
bool st_tls_ktls_send_active(SSL *ssl);

/* "TLSv1.3 TLS_AES_128_GCM_SHA256" for the connect log line. Returns buf. */
const char *st_tls_describe(SSL *ssl, char *buf, size_t len);

#endif
