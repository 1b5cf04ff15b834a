/* TLS contexts and helpers on OpenSSL 3 (see st_tls.h): PEM loading with errors that name the
 * file and carry OpenSSL's reason, protocol and cipher-suite lists in Kafka's spelling, client
 * authentication modes, the Kafka-style principal of a peer certificate, hostname and IP
 * verification, readable handshake errors, and the kernel-TLS probe. */
#include "st_tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "st_logger.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* AES-GCM first: hardware-accelerated almost everywhere, and the suites kTLS can offload. */
#define DEFAULT_TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static const char *const tls13_suites[] = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
};

static bool is_set(const char *s)
{
    return s && *s;
}

static void put_err(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put_err(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

const char *st_tls_drain_errors(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    const char *data = NULL;
    int flags = 0;
    unsigned long e, seen[8];
    size_t n_seen = 0;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        bool dup = false;   /* providers often push the same reason twice */
        for (size_t i = 0; i < n_seen; i++)
            dup |= seen[i] == e;
        if (dup)
            continue;
        if (n_seen < sizeof(seen) / sizeof(seen[0]))
            seen[n_seen++] = e;
        char one[256];
        ERR_error_string_n(e, one, sizeof(one));
        int n = snprintf(buf + used, len - used, "%s%s%s%s", used ? "; " : "", one,
                         (flags & ERR_TXT_STRING) && data && *data ? " " : "",
                         (flags & ERR_TXT_STRING) && data && *data ? data : "");
        if (n < 0 || (size_t)n >= len - used) {
            used = len - 1;
            continue;   /* keep draining the queue */
        }
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, len, "no OpenSSL error");
    return buf;
}

/* Checks that path can be opened for reading, so that a missing or unreadable file is reported
 * with its errno rather than as an OpenSSL parse error. */
static int check_readable(const char *key, const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int err = errno;
        put_err(errbuf, errlen, "%s %s: cannot open: %s", key, path, strerror(err));
        return -err;
    }
    fclose(f);
    return 0;
}

/* ---- protocols, client auth, cipher suites ------------------------------------------------ */

static const struct {
    const char *name;
    int version;
    long no_op;
} protocol_names[] = {
    { "TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1 },
    { "TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
    { "TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
    { "TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
};
#define N_PROTOCOLS (sizeof(protocol_names) / sizeof(protocol_names[0]))

/* Splits a comma-separated list into trimmed tokens; calls fn for each non-empty one. */
static int for_each_token(const char *list, int (*fn)(const char *tok, void *arg), void *arg)
{
    const char *p = list;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        char tok[128];
        size_t n = (size_t)(end - start);
        if (n >= sizeof(tok))
            n = sizeof(tok) - 1;
        memcpy(tok, start, n);
        tok[n] = '\0';
        int r = fn(tok, arg);
        if (r < 0)
            return r;
    }
    return 0;
}

struct proto_acc {
    unsigned seen;     /* bit i: protocol_names[i] listed */
    char *errbuf;
    size_t errlen;
};

static int proto_token(const char *tok, void *arg)
{
    struct proto_acc *acc = arg;
    for (size_t i = 0; i < N_PROTOCOLS; i++) {
        if (strcasecmp(tok, protocol_names[i].name) == 0) {
            acc->seen |= 1u << i;
            return 0;
        }
    }
    put_err(acc->errbuf, acc->errlen,
            "ssl.enabled.protocols: unknown protocol '%s' (accepted: TLSv1.3, TLSv1.2, TLSv1.1, "
            "TLSv1)", tok);
    return -EINVAL;
}

int st_tls_parse_protocols(const char *list, int *ret_min, int *ret_max, long *ret_no_mask,
                           char *errbuf, size_t errlen)
{
    struct proto_acc acc = { 0, errbuf, errlen };
    int r = for_each_token(is_set(list) ? list : ST_TLS_DEFAULT_PROTOCOLS, proto_token, &acc);
    if (r < 0)
        return r;
    if (acc.seen == 0) {
        put_err(errbuf, errlen, "ssl.enabled.protocols: no protocol listed");
        return -EINVAL;
    }
    int lo = -1, hi = -1;
    for (size_t i = 0; i < N_PROTOCOLS; i++) {
        if (acc.seen & (1u << i)) {
            if (lo < 0)
                lo = (int)i;
            hi = (int)i;
        }
    }
    long no_mask = 0;
    for (int i = lo; i <= hi; i++)
        if (!(acc.seen & (1u << i)))
            no_mask |= protocol_names[i].no_op;
    *ret_min = protocol_names[lo].version;
    *ret_max = protocol_names[hi].version;
    if (ret_no_mask)
        *ret_no_mask = no_mask;
    return 0;
}

int st_tls_parse_client_auth(const char *value, st_tls_client_auth_t *ret_mode)
{
    if (!is_set(value) || strcasecmp(value, "none") == 0)
        *ret_mode = ST_TLS_CLIENT_AUTH_NONE;
    else if (strcasecmp(value, "requested") == 0)
        *ret_mode = ST_TLS_CLIENT_AUTH_REQUESTED;
    else if (strcasecmp(value, "required") == 0)
        *ret_mode = ST_TLS_CLIENT_AUTH_REQUIRED;
    else
        return -EINVAL;
    return 0;
}

struct cipher_acc {
    SSL_CTX *ctx;
    char tls13[512];
    char tls12[2048];
    char *errbuf;
    size_t errlen;
};

static int append_colon(char *dst, size_t cap, const char *name)
{
    size_t used = strlen(dst);
    int n = snprintf(dst + used, cap - used, "%s%s", used ? ":" : "", name);
    return (n < 0 || (size_t)n >= cap - used) ? -E2BIG : 0;
}

static int cipher_token(const char *tok, void *arg)
{
    struct cipher_acc *acc = arg;
    for (size_t i = 0; i < sizeof(tls13_suites) / sizeof(tls13_suites[0]); i++) {
        if (strcasecmp(tok, tls13_suites[i]) == 0) {
            if (append_colon(acc->tls13, sizeof(acc->tls13), tls13_suites[i]) < 0)
                goto too_long;
            return 0;
        }
    }
    /* A TLS 1.2 suite, by its IANA name (Kafka's spelling: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
     * or OpenSSL's (ECDHE-RSA-AES128-GCM-SHA256). */
    const char *ossl = OPENSSL_cipher_name(tok);
    const char *name = (ossl && strcmp(ossl, "(NONE)") != 0) ? ossl : tok;
    if (strpbrk(name, ":!+@") || SSL_CTX_set_cipher_list(acc->ctx, name) != 1) {
        ERR_clear_error();
        put_err(acc->errbuf, acc->errlen, "ssl.cipher.suites: unknown cipher suite '%s'", tok);
        return -EINVAL;
    }
    if (append_colon(acc->tls12, sizeof(acc->tls12), name) < 0)
        goto too_long;
    return 0;
too_long:
    put_err(acc->errbuf, acc->errlen, "ssl.cipher.suites: the list is too long");
    return -EINVAL;
}

/* Applies ssl.enabled.protocols and ssl.cipher.suites. A cipher list that names no suite of a
 * protocol version disables that version (Kafka's lists restrict both at once). */
static int apply_protocols_and_ciphers(SSL_CTX *ctx, const st_tls_conf_t *conf, char *errbuf,
                                       size_t errlen)
{
    int min, max;
    long no_mask;
    int r = st_tls_parse_protocols(conf->enabled_protocols, &min, &max, &no_mask, errbuf, errlen);
    if (r < 0)
        return r;

    if (is_set(conf->cipher_suites)) {
        struct cipher_acc acc = { .ctx = ctx, .errbuf = errbuf, .errlen = errlen };
        r = for_each_token(conf->cipher_suites, cipher_token, &acc);
        if (r < 0)
            return r;
        if (!acc.tls13[0] && !acc.tls12[0]) {
            put_err(errbuf, errlen, "ssl.cipher.suites: no cipher suite listed");
            return -EINVAL;
        }
        if (SSL_CTX_set_ciphersuites(ctx, acc.tls13) != 1)
            goto ssl_failed;
        if (acc.tls12[0]) {
            if (SSL_CTX_set_cipher_list(ctx, acc.tls12) != 1)
                goto ssl_failed;
        } else if (min < TLS1_3_VERSION) {
            min = TLS1_3_VERSION;   /* no TLS 1.2 suite listed */
        }
        if (!acc.tls13[0] && max > TLS1_2_VERSION)
            max = TLS1_2_VERSION;   /* no TLS 1.3 suite listed */
        if (min > max) {
            put_err(errbuf, errlen, "ssl.cipher.suites '%s' lists no suite usable with "
                    "ssl.enabled.protocols '%s'", conf->cipher_suites,
                    is_set(conf->enabled_protocols) ? conf->enabled_protocols
                                                    : ST_TLS_DEFAULT_PROTOCOLS);
            return -EINVAL;
        }
    } else if (SSL_CTX_set_ciphersuites(ctx, DEFAULT_TLS13_SUITES) != 1) {
        goto ssl_failed;
    }
    if (SSL_CTX_set_min_proto_version(ctx, min) != 1 || SSL_CTX_set_max_proto_version(ctx, max) != 1)
        goto ssl_failed;
    if (no_mask)
        SSL_CTX_set_options(ctx, (uint64_t)no_mask);
    /* OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 (SHA-1 signatures); an operator who
     * explicitly lists them gets them. */
    if (min < TLS1_2_VERSION)
        SSL_CTX_set_security_level(ctx, 0);
    return 0;

ssl_failed:;
    char reason[512];
    put_err(errbuf, errlen, "ssl.cipher.suites / ssl.enabled.protocols: %s",
            st_tls_drain_errors(reason, sizeof(reason)));
    return -EINVAL;
}

/* ---- certificates and keys ---------------------------------------------------------------- */

struct pw_ctx {
    const char *password;
    bool asked;
};

static int password_cb(char *buf, int size, int rwflag, void *userdata)
{
    (void)rwflag;
    struct pw_ctx *pw = userdata;
    pw->asked = true;
    if (!is_set(pw->password))
        return -1;
    size_t n = strlen(pw->password);
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, pw->password, n);
    return (int)n;
}

static int load_certificate(SSL_CTX *ctx, const char *path, char *errbuf, size_t errlen)
{
    int r = check_readable("ssl.certificate.location", path, errbuf, errlen);
    if (r < 0)
        return r;
    if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1) {
        char reason[512];
        put_err(errbuf, errlen, "ssl.certificate.location %s: not a usable PEM certificate: %s",
                path, st_tls_drain_errors(reason, sizeof(reason)));
        return -EINVAL;
    }
    return 0;
}

static int load_key(SSL_CTX *ctx, const char *path, const char *password, const char *cert_path,
                    char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int err = errno;
        put_err(errbuf, errlen, "ssl.key.location %s: cannot open: %s", path, strerror(err));
        return -err;
    }
    struct pw_ctx pw = { password, false };
    ERR_clear_error();
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, password_cb, &pw);
    fclose(f);
    char reason[512];
    if (!pkey) {
        st_tls_drain_errors(reason, sizeof(reason));
        if (pw.asked && !is_set(password)) {
            put_err(errbuf, errlen, "ssl.key.location %s: the key is encrypted and "
                    "ssl.key.password is not set: %s", path, reason);
            return -EKEYREJECTED;
        }
        if (pw.asked) {
            put_err(errbuf, errlen, "ssl.key.location %s: cannot decrypt the key: wrong "
                    "ssl.key.password: %s", path, reason);
            return -EKEYREJECTED;
        }
        put_err(errbuf, errlen, "ssl.key.location %s: not a usable PEM private key: %s", path,
                reason);
        return -EINVAL;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, pkey) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(pkey);
    if (!ok) {
        put_err(errbuf, errlen, "ssl.key.location %s: the private key does not match the "
                "certificate in ssl.certificate.location %s: %s", path, cert_path,
                st_tls_drain_errors(reason, sizeof(reason)));
        return -EKEYREJECTED;
    }
    return 0;
}

static int load_ca(SSL_CTX *ctx, const char *path, bool server_side, char *errbuf, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        int err = errno;
        put_err(errbuf, errlen, "ssl.ca.location %s: cannot open: %s", path, strerror(err));
        return -err;
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (!is_dir) {
        int r = check_readable("ssl.ca.location", path, errbuf, errlen);
        if (r < 0)
            return r;
    }
    char reason[512];
    if (SSL_CTX_load_verify_locations(ctx, is_dir ? NULL : path, is_dir ? path : NULL) != 1) {
        put_err(errbuf, errlen, "ssl.ca.location %s: no usable PEM CA certificate: %s", path,
                st_tls_drain_errors(reason, sizeof(reason)));
        return -EINVAL;
    }
    if (server_side && !is_dir) {
        /* The CA names a server sends in its CertificateRequest, so clients pick the right cert. */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(path);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        ERR_clear_error();
    }
    return 0;
}

static SSL_CTX *new_ctx(const SSL_METHOD *method, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx) {
        char reason[512];
        put_err(errbuf, errlen, "cannot create a TLS context: %s",
                st_tls_drain_errors(reason, sizeof(reason)));
        return NULL;
    }
    /* Writers may retry from a buffer that moved (a grown st_buf). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Kafka-style peers close the socket without close_notify; frames carry their own lengths,
     * so a missing close_notify cannot truncate anything silently. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

int st_tls_server_ctx_new(const st_tls_conf_t *conf, SSL_CTX **ret_ctx, char *errbuf,
                          size_t errlen)
{
    st_tls_client_auth_t auth;
    if (st_tls_parse_client_auth(conf->client_auth, &auth) < 0) {
        put_err(errbuf, errlen, "ssl.client.auth: '%s' is not one of none, requested, required",
                conf->client_auth);
        return -EINVAL;
    }
    if (!is_set(conf->certificate_location)) {
        put_err(errbuf, errlen, "ssl.certificate.location is required for an SSL listener");
        return -EINVAL;
    }
    if (!is_set(conf->key_location)) {
        put_err(errbuf, errlen, "ssl.key.location is required for an SSL listener");
        return -EINVAL;
    }
    if (auth != ST_TLS_CLIENT_AUTH_NONE && !is_set(conf->ca_location)) {
        put_err(errbuf, errlen, "ssl.client.auth=%s needs ssl.ca.location (the CA that signs "
                "client certificates)", conf->client_auth);
        return -EINVAL;
    }
    ERR_clear_error();
    SSL_CTX *ctx = new_ctx(TLS_server_method(), errbuf, errlen);
    if (!ctx)
        return -ENOMEM;
    int r = apply_protocols_and_ciphers(ctx, conf, errbuf, errlen);
    if (r == 0)
        r = load_certificate(ctx, conf->certificate_location, errbuf, errlen);
    if (r == 0)
        r = load_key(ctx, conf->key_location, conf->key_password, conf->certificate_location,
                     errbuf, errlen);
    if (r == 0 && is_set(conf->ca_location))
        r = load_ca(ctx, conf->ca_location, true, errbuf, errlen);
    if (r < 0) {
        SSL_CTX_free(ctx);
        return r;
    }
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                             (conf->ktls ? SSL_OP_ENABLE_KTLS : 0));
    static const unsigned char sid_ctx[] = "strand";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    int mode = SSL_VERIFY_NONE;
    if (auth == ST_TLS_CLIENT_AUTH_REQUESTED)
        mode = SSL_VERIFY_PEER;
    else if (auth == ST_TLS_CLIENT_AUTH_REQUIRED)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    *ret_ctx = ctx;
    return 0;
}

int st_tls_client_ctx_new(const st_tls_conf_t *conf, SSL_CTX **ret_ctx, char *errbuf,
                          size_t errlen)
{
    bool has_cert = is_set(conf->certificate_location), has_key = is_set(conf->key_location);
    if (has_cert != has_key) {
        put_err(errbuf, errlen, "%s is set but %s is not: a client certificate needs both",
                has_cert ? "ssl.certificate.location" : "ssl.key.location",
                has_cert ? "ssl.key.location" : "ssl.certificate.location");
        return -EINVAL;
    }
    ERR_clear_error();
    SSL_CTX *ctx = new_ctx(TLS_client_method(), errbuf, errlen);
    if (!ctx)
        return -ENOMEM;
    int r = apply_protocols_and_ciphers(ctx, conf, errbuf, errlen);
    if (r == 0 && has_cert)
        r = load_certificate(ctx, conf->certificate_location, errbuf, errlen);
    if (r == 0 && has_key)
        r = load_key(ctx, conf->key_location, conf->key_password, conf->certificate_location,
                     errbuf, errlen);
    if (r == 0) {
        if (is_set(conf->ca_location)) {
            r = load_ca(ctx, conf->ca_location, false, errbuf, errlen);
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            char reason[512];
            put_err(errbuf, errlen, "cannot load the system's trusted CAs (set ssl.ca.location): "
                    "%s", st_tls_drain_errors(reason, sizeof(reason)));
            r = -EPROTO;
        }
    }
    if (r < 0) {
        SSL_CTX_free(ctx);
        return r;
    }
    if (conf->ktls)
        SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    *ret_ctx = ctx;
    return 0;
}

int st_tls_client_set_host(SSL *ssl, const char *host, bool verify_host)
{
    char bare[INET6_ADDRSTRLEN + 2];
    const char *h = host;
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(bare)) {
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
        h = bare;
    }
    unsigned char addr[sizeof(struct in6_addr)];
    bool is_ip = inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1;
    if (!is_ip && SSL_set_tlsext_host_name(ssl, h) != 1)   /* SNI never carries IP literals */
        return -EINVAL;
    if (!verify_host)
        return 0;
    if (is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h) != 1)
            return -EINVAL;
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(ssl, h) != 1)
            return -ENOMEM;
    }
    return 0;
}

/* ---- peer identity and diagnostics --------------------------------------------------------- */

int st_tls_principal(SSL *ssl, char *buf, size_t len)
{
    X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    if (!cert) {
        snprintf(buf, len, "User:ANONYMOUS");
        return 0;
    }
    BIO *mem = BIO_new(BIO_s_mem());
    if (!mem) {
        snprintf(buf, len, "User:ANONYMOUS");
        return -ENOMEM;
    }
    /* RFC 2253: last RDN first, comma-separated, as Java's X500Principal.getName() (what Kafka
     * shows). UTF-8 is kept as is rather than \-escaped, again as Java does. */
    X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *text = NULL;
    long tlen = BIO_get_mem_data(mem, &text);
    int n = snprintf(buf, len, "User:%.*s", (int)(tlen > 0 ? tlen : 0), text ? text : "");
    BIO_free(mem);
    return (n < 0 || (size_t)n >= len) ? -ENOSPC : 0;
}

/* Hints for the failures people hit most, keyed by OpenSSL's reason text. */
static const char *hint_for(const char *reason, long verify_result, bool server)
{
    if (verify_result == X509_V_ERR_CERT_HAS_EXPIRED)
        return "the peer's certificate has expired";
    if (verify_result == X509_V_ERR_HOSTNAME_MISMATCH || verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH)
        return "the certificate does not name the host connected to (its subjectAltName); "
               "ssl.endpoint.identification.algorithm= (empty) turns this check off";
    if (verify_result != X509_V_OK)
        return "is ssl.ca.location the CA that signed the peer's certificate?";
    if (strstr(reason, "certificate required") || strstr(reason, "peer did not return a certificate"))
        return server ? "the client sent no certificate and ssl.client.auth=required"
                      : "the broker requires a client certificate (ssl.client.auth=required): set "
                        "ssl.certificate.location and ssl.key.location";
    if (strstr(reason, "unknown ca") || strstr(reason, "bad certificate"))
        return "the peer does not trust our certificate's CA";
    if (strstr(reason, "certificate expired"))
        return "the peer rejected our certificate as expired";
    if (strstr(reason, "protocol version") || strstr(reason, "unsupported protocol") ||
        strstr(reason, "no protocols available"))
        return "no TLS version in common: see ssl.enabled.protocols on both sides";
    if (strstr(reason, "wrong version number") || strstr(reason, "packet length too long") ||
        strstr(reason, "http request") || strstr(reason, "record layer failure"))
        return server ? "the client does not speak TLS: a plaintext client on an SSL listener?"
                      : "the broker does not speak TLS: is this a PLAINTEXT listener?";
    if (strstr(reason, "unexpected eof"))
        return "the peer closed the connection in the middle of the TLS exchange (a PLAINTEXT "
               "port, or the peer refused our handshake)";
    if (strstr(reason, "no shared cipher") || strstr(reason, "handshake failure"))
        return "no cipher suite in common: see ssl.cipher.suites";
    return NULL;
}

static const char *closed_in_handshake(SSL *ssl)
{
    if (SSL_is_server(ssl))
        return BIO_number_read(SSL_get_rbio(ssl)) == 0
                   ? "the client closed the connection without sending anything"
                   : "the client closed the connection during the TLS handshake";
    return "the broker closed the connection during the TLS handshake (is this a PLAINTEXT "
           "listener?)";
}

const char *st_tls_error_explain(SSL *ssl, int ret, int saved_errno, char *buf, size_t len)
{
    int err = ssl ? SSL_get_error(ssl, ret) : SSL_ERROR_SSL;
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    char reason[768];
    switch (err) {
    case SSL_ERROR_ZERO_RETURN:
        if (ssl && !SSL_is_init_finished(ssl))
            snprintf(buf, len, "%s", closed_in_handshake(ssl));
        else
            snprintf(buf, len, "the peer closed the TLS session");
        ERR_clear_error();
        return buf;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() != 0)
            break;
        if (saved_errno != 0)
            snprintf(buf, len, "%s", strerror(saved_errno));
        else if (ssl && !SSL_is_init_finished(ssl))
            snprintf(buf, len, "%s", closed_in_handshake(ssl));
        else
            snprintf(buf, len, "the peer closed the connection");
        return buf;
    case SSL_ERROR_SSL:
        break;
    default:
        snprintf(buf, len, "SSL error %d", err);
        ERR_clear_error();
        return buf;
    }
    st_tls_drain_errors(reason, sizeof(reason));
    /* A handshake only records the verify result when it checked a certificate. */
    if (vr != X509_V_OK && !strstr(reason, "certificate verify failed"))
        vr = X509_V_OK;
    const char *hint = hint_for(reason, vr, ssl && SSL_is_server(ssl));
    if (vr != X509_V_OK)
        snprintf(buf, len, "%s (certificate verification: %s)%s%s", reason,
                 X509_verify_cert_error_string(vr), hint ? ": " : "", hint ? hint : "");
    else
        snprintf(buf, len, "%s%s%s", reason, hint ? " (" : "", hint ? hint : "");
    if (hint && vr == X509_V_OK && strlen(buf) + 1 < len)
        strcat(buf, ")");
    return buf;
}

const char *st_tls_describe(SSL *ssl, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
    return buf;
}

bool st_tls_ktls_send_active(SSL *ssl)
{
    return BIO_get_ktls_send(SSL_get_wbio(ssl)) != 0;
}

static bool probe_ktls(char *why, size_t whylen)
{
#ifdef OPENSSL_NO_KTLS
    snprintf(why, whylen, "OpenSSL was built without kTLS");
    return false;
#else
    int lfd = -1, cfd = -1, afd = -1;
    bool ok = false;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(addr);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
        snprintf(why, whylen, "cannot open a loopback socket to probe: %s", strerror(errno));
        goto out;
    }
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cfd < 0 || connect(cfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        (afd = accept(lfd, NULL, NULL)) < 0) {
        snprintf(why, whylen, "cannot connect a loopback socket to probe: %s", strerror(errno));
        goto out;
    }
    if (setsockopt(cfd, IPPROTO_TCP, TCP_ULP, "tls", 3) < 0) {
        snprintf(why, whylen, "the kernel offers no \"tls\" TCP ULP (setsockopt TCP_ULP: %s)",
                 strerror(errno));
        goto out;
    }
    ok = true;
out:
    if (afd >= 0)
        close(afd);
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd);
    return ok;
#endif
}

static pthread_once_t ktls_once = PTHREAD_ONCE_INIT;
static bool ktls_ok;
static char ktls_why[160];

static void ktls_probe_once(void)
{
    ktls_ok = probe_ktls(ktls_why, sizeof(ktls_why));
    ST_DEBUG("tls: kTLS probe: %s%s", ktls_ok ? "available" : "unavailable: ",
             ktls_ok ? "" : ktls_why);
}

bool st_tls_ktls_probe(char *why, size_t whylen)
{
    pthread_once(&ktls_once, ktls_probe_once);
    if (why && whylen)
        snprintf(why, whylen, "%s", ktls_ok ? "" : ktls_why);
    return ktls_ok;
}

ssize_t st_tls_read_fill(SSL *ssl, void *buf, size_t len)
{
    size_t got = 0;
    ERR_clear_error();   /* successful SSL_reads leave the queue empty: once per call is enough */
    while (got < len) {
        size_t want = len - got > INT_MAX ? INT_MAX : len - got;
        int r = SSL_read(ssl, (char *)buf + got, (int)want);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (got == 0)
            return r;
        ERR_clear_error();
        break;
    }
    return (ssize_t)got;
}
