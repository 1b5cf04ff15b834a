/* Unit tests of common/st_tls.c: protocol and client-auth parsing, server and client contexts
 * from certificates made by deploy/gen-certs.sh, the start-up error messages (missing file,
 * mismatched key, wrong or missing password, bad protocol or cipher names), and in-memory
 * handshakes over a socketpair for principals, hostname/IP verification and error texts. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "st_tls.h"

/* Certificates are made once per run in PRE_ALL (criterion re-executes the binary for each
 * test, so the directory is passed on through the environment) and looked up in each test. */
#define CERTS_ENV "STRAND_TLS_UNIT_CERTS"

static char dir[48];
static char ca[128], broker_pem[128], broker_key[128], client_pem[128], client_key[128];
static char enc_key[128], other_ca[128];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    const char *gen = getenv("STRAND_GEN_CERTS");
    char tmp[] = "/tmp/strand-tls-unit-XXXXXX";
    if (!gen || !*gen || !mkdtemp(tmp))
        return;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s >/dev/null && %s %s/other >/dev/null && "
             "openssl pkey -in %s/broker.key -aes256 -passout pass:s3cret -out %s/broker-enc.key",
             gen, tmp, gen, tmp, tmp, tmp);
    if (system(cmd) == 0)
        setenv(CERTS_ENV, tmp, 1);
    else
        fprintf(stderr, "test_tls: could not make certificates: %s\n", cmd);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    const char *d = getenv(CERTS_ENV);
    if (d && strncmp(d, "/tmp/strand-tls-unit-", 21) == 0)
        nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void find_certs(void)
{
    const char *d = getenv(CERTS_ENV);
    cr_assert(d, "certificates were not made ($STRAND_GEN_CERTS unset or gen-certs.sh failed)");
    snprintf(dir, sizeof(dir), "%s", d);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(broker_pem, sizeof(broker_pem), "%s/broker.pem", dir);
    snprintf(broker_key, sizeof(broker_key), "%s/broker.key", dir);
    snprintf(client_pem, sizeof(client_pem), "%s/client.pem", dir);
    snprintf(client_key, sizeof(client_key), "%s/client.key", dir);
    snprintf(enc_key, sizeof(enc_key), "%s/broker-enc.key", dir);
    snprintf(other_ca, sizeof(other_ca), "%s/other/ca.pem", dir);
}

TestSuite(tls, .init = find_certs);   /* no .timeout: criterion leaks its timers under ASan */

static st_tls_conf_t server_conf(void)
{
    return (st_tls_conf_t){ .certificate_location = broker_pem, .key_location = broker_key,
                            .ca_location = ca };
}

static st_tls_conf_t client_conf(bool with_cert)
{
    st_tls_conf_t c = { .ca_location = ca };
    if (with_cert) {
        c.certificate_location = client_pem;
        c.key_location = client_key;
    }
    return c;
}

/* ---- parsing ------------------------------------------------------------------------------- */

Test(tls, protocols_default_and_lists)
{
    int min, max;
    long mask;
    char err[256];
    cr_assert_eq(st_tls_parse_protocols(NULL, &min, &max, &mask, err, sizeof(err)), 0);
    cr_assert_eq(min, TLS1_2_VERSION);
    cr_assert_eq(max, TLS1_3_VERSION);
    cr_assert_eq(mask, 0);
    cr_assert_eq(st_tls_parse_protocols(" tlsv1.3 ", &min, &max, &mask, err, sizeof(err)), 0);
    cr_assert_eq(min, TLS1_3_VERSION);
    cr_assert_eq(max, TLS1_3_VERSION);
    cr_assert_eq(st_tls_parse_protocols("TLSv1.3,TLSv1.1", &min, &max, &mask, err, sizeof(err)), 0);
    cr_assert_eq(min, TLS1_1_VERSION);
    cr_assert_eq(max, TLS1_3_VERSION);
    cr_assert_eq(mask, SSL_OP_NO_TLSv1_2);
}

Test(tls, protocols_bad_name)
{
    int min = 7, max = 7;
    char err[256] = "";
    cr_assert_eq(st_tls_parse_protocols("TLSv1.2,TLSv1.4", &min, &max, NULL, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "ssl.enabled.protocols") && strstr(err, "'TLSv1.4'"), "%s", err);
    cr_assert_eq(min, 7, "ret_min clobbered on failure");
    cr_assert_eq(st_tls_parse_protocols(" , ", &min, &max, NULL, err, sizeof(err)), -EINVAL);
}

Test(tls, client_auth_values)
{
    st_tls_client_auth_t m;
    cr_assert_eq(st_tls_parse_client_auth(NULL, &m), 0);
    cr_assert_eq(m, ST_TLS_CLIENT_AUTH_NONE);
    cr_assert_eq(st_tls_parse_client_auth("Required", &m), 0);
    cr_assert_eq(m, ST_TLS_CLIENT_AUTH_REQUIRED);
    cr_assert_eq(st_tls_parse_client_auth("requested", &m), 0);
    cr_assert_eq(m, ST_TLS_CLIENT_AUTH_REQUESTED);
    cr_assert_eq(st_tls_parse_client_auth("sometimes", &m), -EINVAL);
}

/* ---- contexts and start-up errors ---------------------------------------------------------- */

Test(tls, server_and_client_contexts)
{
    char err[512] = "";
    SSL_CTX *ctx = NULL;
    st_tls_conf_t sc = server_conf();
    sc.client_auth = "required";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    cr_assert_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    SSL_CTX_free(ctx);
    st_tls_conf_t cc = client_conf(true);
    cr_assert_eq(st_tls_client_ctx_new(&cc, &ctx, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
    SSL_CTX_free(ctx);
}

Test(tls, missing_key_file_names_it)
{
    char err[512] = "", missing[160];
    snprintf(missing, sizeof(missing), "%s/nope.key", dir);
    SSL_CTX *ctx = (SSL_CTX *)0x1;
    st_tls_conf_t sc = server_conf();
    sc.key_location = missing;
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "ssl.key.location") && strstr(err, missing) &&
              strstr(err, "No such file"), "%s", err);
    cr_assert_eq(ctx, (SSL_CTX *)0x1, "ret_ctx clobbered on failure");
}

Test(tls, missing_certificate_file_names_it)
{
    char err[512] = "", missing[160];
    snprintf(missing, sizeof(missing), "%s/nope.pem", dir);
    SSL_CTX *ctx;
    st_tls_conf_t sc = server_conf();
    sc.certificate_location = missing;
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "ssl.certificate.location") && strstr(err, missing), "%s", err);
}

Test(tls, garbage_certificate_gives_openssl_reason)
{
    char err[512] = "", junk[160];
    snprintf(junk, sizeof(junk), "%s/junk-%d.pem", dir, (int)getpid());
    FILE *f = fopen(junk, "w");
    cr_assert(f);
    fputs("this is not a certificate\n", f);
    fclose(f);
    SSL_CTX *ctx;
    st_tls_conf_t sc = server_conf();
    sc.certificate_location = junk;
    int r = st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err));
    unlink(junk);
    cr_assert_eq(r, -EINVAL);
    cr_assert(strstr(err, junk) && strstr(err, "no start line"), "%s", err);
}

Test(tls, key_not_matching_certificate)
{
    char err[512] = "";
    SSL_CTX *ctx;
    st_tls_conf_t sc = server_conf();
    sc.key_location = client_key;
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EKEYREJECTED);
    cr_assert(strstr(err, client_key) && strstr(err, "does not match") &&
              strstr(err, "key values mismatch"), "%s", err);
}

Test(tls, encrypted_key_passwords)
{
    char err[512] = "";
    SSL_CTX *ctx;
    st_tls_conf_t sc = server_conf();
    sc.key_location = enc_key;
    sc.key_password = "wrong";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EKEYREJECTED);
    cr_assert(strstr(err, enc_key) && strstr(err, "wrong ssl.key.password") &&
              strstr(err, "error:"), "%s", err);
    sc.key_password = NULL;
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EKEYREJECTED);
    cr_assert(strstr(err, enc_key) && strstr(err, "ssl.key.password is not set"), "%s", err);
    sc.key_password = "s3cret";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), 0, "%s", err);
    SSL_CTX_free(ctx);
}

Test(tls, server_requirements)
{
    char err[512] = "";
    SSL_CTX *ctx;
    st_tls_conf_t sc = server_conf();
    sc.key_location = NULL;
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "ssl.key.location is required"), "%s", err);
    sc = server_conf();
    sc.ca_location = NULL;
    sc.client_auth = "required";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "ssl.ca.location"), "%s", err);
    sc.client_auth = "maybe";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "ssl.client.auth") && strstr(err, "'maybe'"), "%s", err);
    st_tls_conf_t cc = { .certificate_location = client_pem };
    cr_assert_eq(st_tls_client_ctx_new(&cc, &ctx, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "ssl.key.location"), "%s", err);
}

Test(tls, bad_protocol_name_stops_context)
{
    char err[512] = "";
    SSL_CTX *ctx;
    st_tls_conf_t sc = server_conf();
    sc.enabled_protocols = "TLSv1.3,SSLv3";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "'SSLv3'"), "%s", err);
}

Test(tls, cipher_suites)
{
    char err[512] = "";
    SSL_CTX *ctx;
    st_tls_conf_t sc = server_conf();
    sc.cipher_suites = "TLS_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), 0, "%s", err);
    SSL_CTX_free(ctx);
    sc.cipher_suites = "TLS_AES_256_GCM_SHA384,TLS_NOT_A_CIPHER";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "ssl.cipher.suites") && strstr(err, "'TLS_NOT_A_CIPHER'"), "%s", err);
    sc.cipher_suites = "TLS_AES_128_GCM_SHA256";
    sc.enabled_protocols = "TLSv1.2";
    cr_assert_eq(st_tls_server_ctx_new(&sc, &ctx, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "no suite usable"), "%s", err);
}

/* ---- handshakes over a socketpair ---------------------------------------------------------- */

typedef struct pair {
    SSL_CTX *sctx, *cctx;
    SSL *server, *client;
    int sret, cret;          /* last results: 1 done, <= 0 failed */
    char serr[768], cerr[768];
} pair_t;

static void pair_make(pair_t *p, const st_tls_conf_t *sc, const st_tls_conf_t *cc,
                      const char *host, bool verify_host)
{
    memset(p, 0, sizeof(*p));
    char err[512] = "";
    cr_assert_eq(st_tls_server_ctx_new(sc, &p->sctx, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(st_tls_client_ctx_new(cc, &p->cctx, err, sizeof(err)), 0, "%s", err);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    p->server = SSL_new(p->sctx);
    p->client = SSL_new(p->cctx);
    SSL_set_fd(p->server, sv[0]);
    SSL_set_fd(p->client, sv[1]);
    SSL_set_accept_state(p->server);
    SSL_set_connect_state(p->client);
    cr_assert_eq(st_tls_client_set_host(p->client, host, verify_host), 0);
}

/* Runs both sides until each is done or failed; then one application-data round trip so that
 * TLS 1.3 post-handshake failures (client certificate refused) show up on the client. */
static void pair_run(pair_t *p)
{
    bool sdone = false, cdone = false;
    for (int i = 0; i < 1000 && !(sdone && cdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(p->client);
            int e = errno;
            int code = SSL_get_error(p->client, r);
            if (r == 1 || (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE)) {
                cdone = true;
                p->cret = r;
                if (r != 1)
                    st_tls_error_explain(p->client, r, e, p->cerr, sizeof(p->cerr));
            }
        }
        if (!sdone) {
            int r = SSL_do_handshake(p->server);
            int e = errno;
            int code = SSL_get_error(p->server, r);
            if (r == 1 || (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE)) {
                sdone = true;
                p->sret = r;
                if (r != 1)
                    st_tls_error_explain(p->server, r, e, p->serr, sizeof(p->serr));
            }
        }
    }
    cr_assert(sdone && cdone, "handshake did not finish");
    if (p->cret == 1 && p->sret != 1) {
        /* The client finished first (TLS 1.3); its next read sees the server's alert. */
        char buf[16];
        for (int i = 0; i < 100; i++) {
            int r = SSL_read(p->client, buf, sizeof(buf));
            int e = errno;
            if (r <= 0 && SSL_get_error(p->client, r) == SSL_ERROR_WANT_READ)
                continue;
            if (r <= 0) {
                p->cret = r;
                st_tls_error_explain(p->client, r, e, p->cerr, sizeof(p->cerr));
            }
            break;
        }
    }
}

static void pair_free(pair_t *p)
{
    int sfd = SSL_get_fd(p->server), cfd = SSL_get_fd(p->client);
    SSL_free(p->server);
    SSL_free(p->client);
    close(sfd);
    close(cfd);
    SSL_CTX_free(p->sctx);
    SSL_CTX_free(p->cctx);
}

Test(tls, handshake_with_client_certificate_gives_principal)
{
    pair_t p;
    st_tls_conf_t sc = server_conf(), cc = client_conf(true);
    sc.client_auth = "required";
    pair_make(&p, &sc, &cc, "localhost", true);
    pair_run(&p);
    cr_assert_eq(p.sret, 1, "server: %s", p.serr);
    cr_assert_eq(p.cret, 1, "client: %s", p.cerr);
    char principal[256], desc[128];
    cr_assert_eq(st_tls_principal(p.server, principal, sizeof(principal)), 0);
    cr_assert_str_eq(principal, "User:CN=alice,O=acme");
    st_tls_describe(p.server, desc, sizeof(desc));
    cr_assert(strstr(desc, "TLSv1.3") && strstr(desc, "TLS_AES_128_GCM_SHA256"), "%s", desc);
    cr_assert_not(st_tls_ktls_send_active(p.server));   /* no kTLS asked for */
    pair_free(&p);
}

Test(tls, anonymous_without_client_certificate)
{
    pair_t p;
    st_tls_conf_t sc = server_conf(), cc = client_conf(false);
    pair_make(&p, &sc, &cc, "127.0.0.1", true);   /* verified against the IP SAN */
    pair_run(&p);
    cr_assert_eq(p.sret, 1, "server: %s", p.serr);
    cr_assert_eq(p.cret, 1, "client: %s", p.cerr);
    char principal[64];
    st_tls_principal(p.server, principal, sizeof(principal));
    cr_assert_str_eq(principal, "User:ANONYMOUS");
    pair_free(&p);
}

Test(tls, hostname_mismatch_is_refused)
{
    pair_t p;
    st_tls_conf_t sc = server_conf(), cc = client_conf(false);
    pair_make(&p, &sc, &cc, "broker.example.com", true);
    pair_run(&p);
    cr_assert_neq(p.cret, 1);
    cr_assert(strstr(p.cerr, "certificate verify failed") && strstr(p.cerr, "hostname mismatch"),
              "%s", p.cerr);
    pair_free(&p);
    /* ssl.endpoint.identification.algorithm= (empty) turns the check off. */
    pair_make(&p, &sc, &cc, "broker.example.com", false);
    pair_run(&p);
    cr_assert_eq(p.cret, 1, "client: %s", p.cerr);
    pair_free(&p);
}

Test(tls, ip_san_mismatch_is_refused)
{
    pair_t p;
    st_tls_conf_t sc = server_conf(), cc = client_conf(false);
    pair_make(&p, &sc, &cc, "127.0.0.2", true);
    pair_run(&p);
    cr_assert_neq(p.cret, 1);
    cr_assert(strstr(p.cerr, "IP address mismatch"), "%s", p.cerr);
    pair_free(&p);
}

Test(tls, wrong_ca_is_refused)
{
    pair_t p;
    st_tls_conf_t sc = server_conf(), cc = client_conf(false);
    cc.ca_location = other_ca;
    pair_make(&p, &sc, &cc, "localhost", true);
    pair_run(&p);
    cr_assert_neq(p.cret, 1);
    cr_assert(strstr(p.cerr, "certificate verification") && strstr(p.cerr, "ssl.ca.location"),
              "%s", p.cerr);
    pair_free(&p);
}

Test(tls, missing_client_certificate_when_required)
{
    pair_t p;
    st_tls_conf_t sc = server_conf(), cc = client_conf(false);
    sc.client_auth = "required";
    pair_make(&p, &sc, &cc, "localhost", true);
    pair_run(&p);
    cr_assert_neq(p.sret, 1);
    cr_assert(strstr(p.serr, "peer did not return a certificate"), "%s", p.serr);
    cr_assert_neq(p.cret, 1);
    cr_assert(strstr(p.cerr, "requires a client certificate"), "%s", p.cerr);
    pair_free(&p);
}

Test(tls, protocol_mismatch_is_explained)
{
    pair_t p;
    st_tls_conf_t sc = server_conf(), cc = client_conf(false);
    sc.enabled_protocols = "TLSv1.3";
    cc.enabled_protocols = "TLSv1.1";
    pair_make(&p, &sc, &cc, "localhost", true);
    pair_run(&p);
    cr_assert_neq(p.sret, 1);
    cr_assert_neq(p.cret, 1);
    cr_assert(strstr(p.serr, "TLS version in common"), "server: %s", p.serr);
    cr_assert(strstr(p.cerr, "TLS version in common"), "client: %s", p.cerr);
    pair_free(&p);
}

Test(tls, ktls_probe_answers)
{
    char why[200] = "";
    bool ok = st_tls_ktls_probe(why, sizeof(why));
    if (!ok)
        cr_assert(why[0], "no reason given for kTLS being unavailable");
    cr_assert_eq(st_tls_ktls_probe(NULL, 0), ok, "probe result not stable");
}
