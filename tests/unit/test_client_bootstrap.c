/* Client bootstrap failures that need no broker: an unreachable bootstrap.servers gives a clean
 * error naming host:port and the reason, within the connection setup timeout; a listener that
 * accepts and says nothing trips socket.connection.setup.timeout.ms. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "strand.h"

static int free_port(int *ret_fd, bool do_listen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    if (do_listen)
        listen(fd, 8);
    *ret_fd = fd;
    return ntohs(a.sin_port);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

Test(client_bootstrap, refused_names_address_and_reason, .timeout = 20)
{
    int fd;
    int port = free_port(&fd, false);   /* bound, not listening: connections are refused */
    char servers[64], err[512] = "";
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);
    strand_conf_t *conf = strand_conf_new();
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0);
    int64_t t0 = now_ms();
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_null(p);
    cr_expect(strstr(err, servers) != NULL, "error '%s' does not name %s", err, servers);
    cr_expect(strstr(err, "Connection refused") != NULL, "error '%s' lacks the reason", err);
    cr_expect_lt(now_ms() - t0, 5000);
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_null(c);
    cr_expect(strstr(err, servers) != NULL, "%s", err);
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_null(a);
    cr_expect(strstr(err, servers) != NULL, "%s", err);
    strand_conf_destroy(conf);
    close(fd);
}

Test(client_bootstrap, every_server_is_tried, .timeout = 20)
{
    int fd1, fd2;
    int p1 = free_port(&fd1, false), p2 = free_port(&fd2, false);
    char servers[128], err[1024] = "";
    snprintf(servers, sizeof(servers), "127.0.0.1:%d,127.0.0.1:%d", p1, p2);
    strand_conf_t *conf = strand_conf_new();
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0);
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_null(a);
    char one[64], two[64];
    snprintf(one, sizeof(one), "127.0.0.1:%d", p1);
    snprintf(two, sizeof(two), "127.0.0.1:%d", p2);
    cr_expect(strstr(err, one) && strstr(err, two), "%s", err);
    strand_conf_destroy(conf);
    close(fd1);
    close(fd2);
}

Test(client_bootstrap, unresolvable_host, .timeout = 20)
{
    char err[512] = "";
    strand_conf_t *conf = strand_conf_new();
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", "no-such-host.invalid:9092", err,
                                 sizeof(err)), 0);
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_null(a);
    cr_expect(strstr(err, "no-such-host.invalid:9092") != NULL, "%s", err);
    strand_conf_destroy(conf);
}

Test(client_bootstrap, silent_listener_times_out, .timeout = 20)
{
    int fd;
    int port = free_port(&fd, true);    /* accepts (backlog) but never answers */
    char servers[64], err[512] = "";
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);
    strand_conf_t *conf = strand_conf_new();
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "socket.connection.setup.timeout.ms", "300", err, sizeof(err)), 0);
    int64_t t0 = now_ms();
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_null(c);
    cr_expect(strstr(err, servers) && strstr(err, "timed out"), "%s", err);
    cr_expect_lt(now_ms() - t0, 3000);
    strand_conf_destroy(conf);
    close(fd);
}

Test(client_bootstrap, missing_bootstrap_servers)
{
    char err[512] = "";
    strand_conf_t *conf = strand_conf_new();
    cr_assert_null(strand_producer_new(conf, err, sizeof(err)));
    cr_expect(strstr(err, "bootstrap.servers") != NULL, "%s", err);
    strand_conf_destroy(conf);
}
