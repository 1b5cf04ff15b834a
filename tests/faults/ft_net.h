/* The fault suite's test network: one network namespace per node (broker or ZooKeeper server),
 * each with one veth whose other end is on a private bridge in the root namespace; the bridge
 * holds the driver's own address (the clients and checks run there). Everything is named after
 * the run id (the driver's pid): namespaces stf<pid>-<node>, links stf<pid>v<i> and stfbr<pid>.
 * Addresses are 10.213.<subnet>.<host>/24 with a subnet no other interface of this machine uses;
 * nothing outside that subnet is ever addressed, and the root namespace's firewall is never
 * touched (the fault rules live inside the nodes' namespaces).
 *
 * Network faults:
 *   - blocking: an nftables table `inet stfault` inside a node's namespace drops packets from
 *     (in) and/or to (out) a set of peers; the table is rebuilt from the node's state at every
 *     change, so healing is one rebuild;
 *   - loss: the same table drops a percentage of the node's packets (nft numgen random);
 *   - rate: a tbf qdisc on both ends of the node's veth limits its bandwidth (kbit/s);
 *   - delay: netem on the veth when the kernel has sch_netem; else a delay line (ft_delay.c, a
 *     child process in the node's namespace) holding the node's eth0 packets on an NFQUEUE
 *     queue, fed by two iptables rules in that namespace; with neither, -ENOTSUP (the caller
 *     says so and skips).
 *
 * Invariants: node i's namespace exists from ft_net_setup until ft_net_teardown; blocked_in /
 * blocked_out / loss describe exactly the rules in its table after each call returns 0;
 * delay_pid > 0 exactly while node i's delay line runs (no netem, delay_ms > 0), and its
 * iptables rules exist only then.
 * Threads: driver main thread only. */
#ifndef ST_FAULTS_FT_NET_H
#define ST_FAULTS_FT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FT_NET_MAX 12
/* The driver (root namespace, the bridge's address) as a peer index in block masks. */
#define FT_NET_DRIVER (FT_NET_MAX - 1)

typedef struct ft_net_node {
    char name[8];           /* "b1", "z2" */
    char ns[40];            /* stf<pid>-b1 */
    char veth[24];          /* root-side end: stf<pid>v<i> (the namespace side is eth0) */
    char addr[20];          /* 10.213.<subnet>.<host> */
    uint32_t blocked_in;    /* peers (bit i = node i, FT_NET_DRIVER = driver) dropped inbound */
    uint32_t blocked_out;   /* ... and outbound */
    int loss;               /* percent of packets dropped both ways, 0 = none */
    int rate_kbit;          /* 0 = unlimited */
    int delay_ms;           /* 0 = none */
    int delay_pid;          /* the node's delay line (no netem), 0 = none */
    int delay_line_ms;      /* the delay it was started with */
} ft_net_node_t;

typedef struct ft_net {
    char runid[12];          /* the driver pid, at most 7 digits */
    int subnet;
    char bridge[24];        /* at most 15 characters in practice (IFNAMSIZ) */
    char driver_addr[20];
    bool have_netem;
    bool have_delay_line;   /* no netem, but NFQUEUE and iptables work: ft_delay.c */
    char iptables[24];      /* iptables-legacy, or iptables */
    char self_exe[256];     /* this driver (the delay line is its --delay-queue mode) */
    int n;
    ft_net_node_t node[FT_NET_MAX];
} ft_net_t;

/* Whether this machine can run the suite: root, `ip`, `nft` and `tc` present, a namespace can be
 * made. 0, or -1 with why filled. */
int ft_net_check(char *why, size_t why_len);
/* Removes what earlier runs left behind: namespaces, links, mounts, loop devices and directories
 * named with the prefix whose driver process is gone. Never touches a live run's. */
void ft_net_cleanup_stale(void);
/* Makes the bridge and one namespace per node (names[i], host byte hosts[i]). 0 or -1 (then
 * everything made so far is removed). */
int ft_net_setup(ft_net_t *net, const char *const *names, const int *hosts, int n);
/* Removes every namespace and link of the run (processes in the namespaces must be gone). */
void ft_net_teardown(ft_net_t *net);
/* Index of the node named name, -1 if none. */
int ft_net_index(const ft_net_t *net, const char *name);

/* Drops traffic between node i and the peers in mask: in (peer -> i), out (i -> peer) or both.
 * Adds to what is blocked already. 0 or -1. */
#define FT_DIR_IN 1
#define FT_DIR_OUT 2
#define FT_DIR_BOTH 3
int ft_net_block(ft_net_t *net, int i, uint32_t peers, int dir);
/* Percentage of packets node i loses (0 heals). */
int ft_net_loss(ft_net_t *net, int i, int percent);
/* Bandwidth limit of node i in kbit/s, both directions (0 heals). */
int ft_net_rate(ft_net_t *net, int i, int kbit);
/* Whether added latency can be injected here (netem or the delay line), and how. */
bool ft_net_can_delay(const ft_net_t *net);
const char *ft_net_delay_method(const ft_net_t *net);
/* Added latency of node i, round trip, half each way (0 heals); -ENOTSUP when neither sch_netem
 * nor NFQUEUE with iptables is available. */
int ft_net_delay(ft_net_t *net, int i, int ms);
/* Removes every network fault of node i / of every node. */
int ft_net_heal(ft_net_t *net, int i);
void ft_net_heal_all(ft_net_t *net);
/* "{b2,z1}" for a mask (for the schedule). */
void ft_net_mask_str(const ft_net_t *net, uint32_t mask, char *buf, size_t len);

#endif
