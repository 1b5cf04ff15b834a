/* Added latency without sch_netem: a userspace delay line on an NFQUEUE queue.
 *
 * Some kernels (this project's CI machine among them) are built without sch_netem, so `tc qdisc
 * add ... netem delay` fails. Netfilter's NFQUEUE target is often there: a packet sent to a queue
 * waits in the kernel until a userspace program bound to that queue gives a verdict. This file is
 * that program. It runs inside one node's network namespace (netfilter queues are per namespace),
 * started by ft_net.c as `strand-faults --delay-queue Q --delay-ms D`, and accepts every packet
 * D ms after it was queued. ft_net.c sends the node's eth0 traffic in both directions (INPUT and
 * OUTPUT) to the queue, so each direction gains D ms: netem's "half the delay each way".
 *
 * Protocol (raw nfnetlink, no library): bind the queue with copy mode META (no payload copied,
 * only the packet id), raise the queue's length so a busy link does not overflow it, then read
 * packet ids and answer with batch verdicts (NFQNL_MSG_VERDICT_BATCH accepts every id up to the
 * given one). Packets are queued in order and all wait the same time, so the due times are in
 * id order and one batch verdict releases every packet that is due.
 *
 * Invariants: pending[head..tail) holds the ids not yet released, in increasing order, with
 * non-decreasing due times; a verdict is sent only for an id whose due time has passed. On
 * SIGTERM or SIGINT every pending packet is released at once (nothing is dropped), then it exits.
 * If it dies anyway, the rules carry --queue-bypass, so new packets pass undelayed.
 * Threads: one (its own process). */
#include "ft_delay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#define PENDING_MAX (1u << 18) /* ids in flight; also the kernel queue's length */

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends attribute (type, data) at *off in buf; returns the new offset. */
static size_t put_attr(char *buf, size_t off, uint16_t type, const void *data, uint16_t len)
{
    struct nlattr *a = (struct nlattr *)(buf + off);
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    memcpy(buf + off + NLA_HDRLEN, data, len);
    return off + NLA_ALIGN(a->nla_len);
}

/* Starts a queue message of the given type; returns the offset after its nfgenmsg. */
static size_t start_msg(char *buf, uint16_t type, uint16_t queue, uint16_t flags)
{
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    memset(h, 0, NLMSG_HDRLEN);
    h->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
    h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    struct nfgenmsg *g = (struct nfgenmsg *)(buf + NLMSG_HDRLEN);
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(queue);
    return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g));
}

static int send_msg(int fd, char *buf, size_t len)
{
    ((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
    struct sockaddr_nl to = { .nl_family = AF_NETLINK };
    return sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len ? 0 : -1;
}

/* Sends a config message and waits for its ack. 0 or -errno. */
static int config(int fd, uint16_t queue, const char *what, char *buf, size_t len)
{
    if (send_msg(fd, buf, len) < 0)
        return -errno;
    char ack[4096];
    ssize_t n = recv(fd, ack, sizeof(ack), 0);
    if (n < 0)
        return -errno;
    struct nlmsghdr *h = (struct nlmsghdr *)ack;
    if (n >= (ssize_t)NLMSG_HDRLEN && h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error != 0) {
            fprintf(stderr, "strand-faults delay: queue %u: %s failed: %s\n", queue, what,
                    strerror(-e->error));
            return e->error;
        }
    }
    return 0;
}

static int bind_queue(int fd, uint16_t queue)
{
    char buf[256];
    size_t off = start_msg(buf, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
    struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET) };
    off = put_attr(buf, off, NFQA_CFG_CMD, &cmd, sizeof(cmd));
    int r = config(fd, queue, "bind", buf, off);
    if (r < 0)
        return r;
    off = start_msg(buf, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
    struct nfqnl_msg_config_params params = { .copy_range = htonl(0),
                                              .copy_mode = NFQNL_COPY_META };
    off = put_attr(buf, off, NFQA_CFG_PARAMS, &params, sizeof(params));
    uint32_t maxlen = htonl(PENDING_MAX);
    off = put_attr(buf, off, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen));
    return config(fd, queue, "set copy mode and queue length", buf, off);
}

/* Accepts every queued packet with an id up to and including id. */
static int release_upto(int fd, uint16_t queue, uint32_t id)
{
    char buf[128];
    size_t off = start_msg(buf, NFQNL_MSG_VERDICT_BATCH, queue, 0);
    struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(NF_ACCEPT), .id = htonl(id) };
    off = put_attr(buf, off, NFQA_VERDICT_HDR, &v, sizeof(v));
    return send_msg(fd, buf, off);
}

typedef struct pending {
    uint32_t id;
    int64_t due_ms;
} pending_t;

/* Reads the packet id of one NFQNL_MSG_PACKET message; 0 and *id, or -1. */
static int packet_id(struct nlmsghdr *h, uint32_t *id)
{
    if ((h->nlmsg_type & 0xff) != NFQNL_MSG_PACKET || (h->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE)
        return -1;
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
    while (off + NLA_HDRLEN <= h->nlmsg_len) {
        struct nlattr *a = (struct nlattr *)((char *)h + off);
        if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len)
            return -1;
        if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
            a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
            struct nfqnl_msg_packet_hdr ph;
            memcpy(&ph, (char *)a + NLA_HDRLEN, sizeof(ph));
            *id = ntohl(ph.packet_id);
            return 0;
        }
        off += NLA_ALIGN(a->nla_len);
    }
    return -1;
}

int ft_delay_main(int queue_num, int delay_ms)
{
    if (queue_num < 0 || queue_num > 65535 || delay_ms < 0) {
        fprintf(stderr, "strand-faults delay: bad queue %d or delay %d ms\n", queue_num, delay_ms);
        return 2;
    }
    uint16_t queue = (uint16_t)queue_num;
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) {
        fprintf(stderr, "strand-faults delay: netlink socket: %s\n", strerror(errno));
        return 1;
    }
    int rcvbuf = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0 || bind_queue(fd, queue) < 0) {
        fprintf(stderr, "strand-faults delay: cannot bind NFQUEUE queue %u: %s\n", queue,
                strerror(errno));
        close(fd);
        return 1;
    }
    pending_t *pend = calloc(PENDING_MAX, sizeof(*pend));
    if (!pend) {
        close(fd);
        return 1;
    }
    size_t head = 0, tail = 0; /* ring indexes, tail - head = count */
    static char buf[1 << 16];
    unsigned long overflow = 0, released = 0;
    printf("delay line on queue %u: %d ms\n", queue, delay_ms);
    fflush(stdout);
    while (!stopping) {
        int64_t now = mono_ms();
        /* release what is due: the last due id covers every earlier one */
        if (tail > head && pend[head % PENDING_MAX].due_ms <= now) {
            uint32_t last = 0;
            while (tail > head && pend[head % PENDING_MAX].due_ms <= now) {
                last = pend[head % PENDING_MAX].id;
                head++;
                released++;
            }
            release_upto(fd, queue, last);
        }
        int timeout = -1;
        if (tail > head) {
            int64_t wait = pend[head % PENDING_MAX].due_ms - now;
            timeout = wait < 0 ? 0 : (int)wait;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int pr = poll(&p, 1, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ENOBUFS) /* messages lost: their packets go with the next batch */
                overflow++;
            continue;
        }
        int64_t due = mono_ms() + delay_ms;
        int left = (int)n;   /* signed: NLMSG_NEXT subtracts, NLMSG_OK checks */
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            uint32_t id;
            if (packet_id(h, &id) < 0)
                continue;
            if (tail - head == PENDING_MAX) { /* full: release the oldest early */
                release_upto(fd, queue, pend[head % PENDING_MAX].id);
                head++;
                overflow++;
            }
            pend[tail % PENDING_MAX] = (pending_t){ .id = id, .due_ms = due };
            tail++;
        }
    }
    if (tail > head)
        release_upto(fd, queue, pend[(tail - 1) % PENDING_MAX].id);
    printf("delay line on queue %u stopped: %lu packets delayed, %lu released early\n", queue,
           released + (tail - head), overflow);
    free(pend);
    close(fd);
    return 0;
}
