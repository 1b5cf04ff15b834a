/* The fault suite's test network: namespaces, veths, bridge, nftables fault tables, tbf/netem
 * qdiscs, and the removal of what crashed runs left behind (see ft_net.h). */
#include "ft_net.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft.h"

/* ---- checks ---------------------------------------------------------------------------------- */

int ft_net_check(char *why, size_t why_len)
{
    if (geteuid() != 0) {
        snprintf(why, why_len, "not root (network namespaces, nftables and mounts need root)");
        return -1;
    }
    static const char *const tools[] = { "ip", "nft", "tc", "nsenter", "losetup", "mkfs.ext4" };
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        if (ft_sh("command -v %s >/dev/null", tools[i]) != 0) {
            snprintf(why, why_len, "'%s' is not installed (deploy/deps.sh installs iproute2, "
                     "nftables)", tools[i]);
            return -1;
        }
    }
    char ns[64];
    snprintf(ns, sizeof(ns), FT_PREFIX "%dprobe", (int)getpid());
    if (ft_sh("ip netns add %s", ns) != 0) {
        snprintf(why, why_len, "cannot create a network namespace (ip netns add failed)");
        return -1;
    }
    int r = ft_sh("ip netns exec %s nft add table inet probe", ns);
    ft_sh("ip netns del %s", ns);
    if (r != 0) {
        snprintf(why, why_len, "nftables does not work inside a namespace");
        return -1;
    }
    return 0;
}

/* ---- leftovers ------------------------------------------------------------------------------- */

/* Whether the run whose id is pid is alive: the process exists and is a driver. */
static bool run_alive(int pid)
{
    if (pid <= 0)
        return false;
    if (pid == (int)getpid())
        return true;
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    if (!fgets(comm, sizeof(comm), f))
        comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    return strcmp(comm, FT_COMM) == 0;
}

/* The pid in a name "<prefix><pid>..." (digits right after the prefix), -1 if none. */
static int pid_of(const char *name, const char *prefix)
{
    size_t l = strlen(prefix);
    if (strncmp(name, prefix, l) != 0 || name[l] < '0' || name[l] > '9')
        return -1;
    return atoi(name + l);
}

void ft_net_cleanup_stale(void)
{
    char out[65536];
    /* processes left in dead runs' namespaces, then the namespaces */
    if (ft_sh_out(out, sizeof(out), "ip netns list 2>/dev/null | cut -d' ' -f1") == 0) {
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            int pid = pid_of(line, FT_PREFIX);
            if (pid < 0 || run_alive(pid))
                continue;
            ft_log("removing leftover namespace %s (run %d is gone)", line, pid);
            ft_sh("for p in $(ip netns pids %s); do kill -9 $p; done", line);
            ft_sh("ip netns del %s", line);
        }
    }
    if (ft_sh_out(out, sizeof(out),
                  "ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1") == 0) {
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            int pid = pid_of(line, FT_PREFIX "br");
            if (pid < 0)
                pid = pid_of(line, FT_PREFIX);
            if (pid < 0 || run_alive(pid))
                continue;
            ft_log("removing leftover link %s (run %d is gone)", line, pid);
            ft_sh("ip link del %s", line);
        }
    }
    /* mounts under dead runs' directories (deepest first), then their loop devices */
    if (ft_sh_out(out, sizeof(out), "awk '{print $2}' /proc/mounts | grep '^%s' | sort -r",
                  FT_DIR_PREFIX) == 0) {
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            int pid = pid_of(line, FT_DIR_PREFIX);
            if (pid < 0 || run_alive(pid))
                continue;
            ft_log("unmounting leftover %s (run %d is gone)", line, pid);
            ft_sh("umount -l %s", line);
        }
    }
    if (ft_sh_out(out, sizeof(out), "losetup -n -l -O NAME,BACK-FILE 2>/dev/null | grep '%s'",
                  FT_DIR_PREFIX) == 0) {
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            char dev[64], file[512];
            if (sscanf(line, "%63s %511s", dev, file) != 2)
                continue;
            int pid = pid_of(file, FT_DIR_PREFIX);
            if (pid < 0 || run_alive(pid))
                continue;
            ft_log("detaching leftover loop device %s (%s)", dev, file);
            ft_sh("losetup -d %s", dev);
        }
    }
    DIR *d = opendir("/tmp");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char full[300];
        snprintf(full, sizeof(full), "/tmp/%s", de->d_name);
        int pid = pid_of(full, FT_DIR_PREFIX);
        if (pid < 0 || run_alive(pid))
            continue;
        if (getenv("STRAND_KEEP_TEST_DIRS"))
            continue;
        ft_log("removing leftover directory %s", full);
        st_test_remove_tree(full);
    }
    if (d)
        closedir(d);
}

/* ---- setup ----------------------------------------------------------------------------------- */

int ft_net_index(const ft_net_t *net, const char *name)
{
    for (int i = 0; i < net->n; i++)
        if (strcmp(net->node[i].name, name) == 0)
            return i;
    return -1;
}

/* A subnet 10.213.<s>.0/24 no interface here has an address in. */
static int pick_subnet(void)
{
    char out[65536];
    if (ft_sh_out(out, sizeof(out), "ip -o -4 addr show") != 0)
        out[0] = '\0';
    int start = 20 + (int)(getpid() % 200);
    for (int k = 0; k < 230; k++) {
        int s = 20 + (start - 20 + k) % 230;
        char needle[32];
        snprintf(needle, sizeof(needle), " 10.213.%d.", s);
        if (!strstr(out, needle))
            return s;
    }
    return -1;
}

int ft_net_setup(ft_net_t *net, const char *const *names, const int *hosts, int n)
{
    memset(net, 0, sizeof(*net));
    if (n < 1 || n >= FT_NET_DRIVER)
        return -1;
    snprintf(net->runid, sizeof(net->runid), "%u", (unsigned)getpid() % 10000000u);
    net->subnet = pick_subnet();
    if (net->subnet < 0) {
        ft_log("no free 10.213.x.0/24 subnet");
        return -1;
    }
    snprintf(net->bridge, sizeof(net->bridge), FT_PREFIX "br%s", net->runid);
    snprintf(net->driver_addr, sizeof(net->driver_addr), "10.213.%d.254", net->subnet);
    if (ft_sh("ip link add %s type bridge && ip addr add %s/24 dev %s && ip link set %s up",
              net->bridge, net->driver_addr, net->bridge, net->bridge) != 0) {
        ft_log("cannot create the bridge %s", net->bridge);
        ft_sh("ip link del %s 2>/dev/null", net->bridge);
        return -1;
    }
    net->n = n;
    for (int i = 0; i < n; i++) {
        ft_net_node_t *nd = &net->node[i];
        snprintf(nd->name, sizeof(nd->name), "%s", names[i]);
        snprintf(nd->ns, sizeof(nd->ns), FT_PREFIX "%s-%s", net->runid, names[i]);
        snprintf(nd->veth, sizeof(nd->veth), FT_PREFIX "%.7sv%u", net->runid, (unsigned)i % 100u);
        snprintf(nd->addr, sizeof(nd->addr), "10.213.%d.%d", net->subnet, hosts[i]);
        if (ft_sh("ip netns add %s", nd->ns) != 0 ||
            ft_sh("ip link add %s type veth peer name eth0 netns %s", nd->veth, nd->ns) != 0 ||
            ft_sh("ip link set %s master %s up", nd->veth, net->bridge) != 0 ||
            ft_sh("ip -n %s addr add %s/24 dev eth0 && ip -n %s link set eth0 up && "
                  "ip -n %s link set lo up", nd->ns, nd->addr, nd->ns, nd->ns) != 0) {
            ft_log("cannot set up namespace %s", nd->ns);
            net->n = i + 1;
            ft_net_teardown(net);
            return -1;
        }
    }
    /* Added latency is optional (the latency scenario skips without it): netem if the kernel
     * has it, else the NFQUEUE delay line, probed on the first node: an iptables NFQUEUE rule
     * can be added, and the delay line binds a queue (it runs until `timeout` stops it: 124). */
    net->have_netem = ft_sh("ip netns exec %s tc qdisc add dev lo root netem delay 1ms && "
                            "ip netns exec %s tc qdisc del dev lo root", net->node[0].ns,
                            net->node[0].ns) == 0;
    net->have_delay_line = false;
    if (!net->have_netem) {
        ssize_t l = readlink("/proc/self/exe", net->self_exe, sizeof(net->self_exe) - 1);
        net->self_exe[l > 0 ? l : 0] = '\0';
        snprintf(net->iptables, sizeof(net->iptables), "%s",
                 ft_sh("command -v iptables-legacy >/dev/null") == 0 ? "iptables-legacy"
                                                                    : "iptables");
        net->have_delay_line =
            l > 0 &&
            ft_sh("ip netns exec %s %s -A OUTPUT -o lo -j NFQUEUE --queue-num 9 --queue-bypass "
                  "2>/dev/null && ip netns exec %s %s -F OUTPUT", net->node[0].ns, net->iptables,
                  net->node[0].ns, net->iptables) == 0 &&
            ft_sh("ip netns exec %s timeout 0.3 %s --delay-queue 9 --delay-ms 0 >/dev/null",
                  net->node[0].ns, net->self_exe) == 124;
    }
    ft_log("test network: bridge %s (%s), %d namespaces on 10.213.%d.0/24, added latency: %s",
           net->bridge, net->driver_addr, n, net->subnet, ft_net_delay_method(net));
    return 0;
}

bool ft_net_can_delay(const ft_net_t *net)
{
    return net->have_netem || net->have_delay_line;
}

const char *ft_net_delay_method(const ft_net_t *net)
{
    if (net->have_netem)
        return "netem";
    if (net->have_delay_line)
        return "NFQUEUE delay line (this kernel has no sch_netem)";
    return "not available (no sch_netem in this kernel, and no NFQUEUE with iptables: "
           "latency faults skip)";
}

static void stop_delay_line(ft_net_t *net, int i);

void ft_net_teardown(ft_net_t *net)
{
    for (int i = 0; i < net->n; i++) {
        ft_net_node_t *nd = &net->node[i];
        if (!nd->ns[0])
            continue;
        stop_delay_line(net, i);
        ft_sh("for p in $(ip netns pids %s 2>/dev/null); do kill -9 $p; done", nd->ns);
        ft_sh("ip link del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", nd->veth, nd->ns);
        nd->ns[0] = '\0';
    }
    if (net->bridge[0])
        ft_sh("ip link del %s 2>/dev/null; true", net->bridge);
    net->bridge[0] = '\0';
    net->n = 0;
}

/* ---- faults ---------------------------------------------------------------------------------- */

static const char *peer_addr(const ft_net_t *net, int p)
{
    return p == FT_NET_DRIVER ? net->driver_addr : net->node[p].addr;
}

void ft_net_mask_str(const ft_net_t *net, uint32_t mask, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "{");
    bool first = true;
    for (int p = 0; p < FT_NET_MAX && used < len; p++) {
        if (!(mask & (1u << p)))
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s", first ? "" : ",",
                                 p == FT_NET_DRIVER ? "clients" : net->node[p].name);
        first = false;
    }
    if (used < len)
        snprintf(buf + used, len - used, "}");
}

/* Rewrites node i's nftables table from its state (atomically: one nft transaction). */
static int apply_rules(ft_net_t *net, int i)
{
    ft_net_node_t *nd = &net->node[i];
    char script[4096];
    size_t u = 0;
    u += (size_t)snprintf(script + u, sizeof(script) - u,
                          "table inet stfault {}\ndelete table inet stfault\n"
                          "table inet stfault {\n"
                          "  chain input { type filter hook input priority 0; policy accept;\n");
    for (int p = 0; p < FT_NET_MAX; p++)
        if (nd->blocked_in & (1u << p))
            u += (size_t)snprintf(script + u, sizeof(script) - u, "    ip saddr %s drop\n",
                                  peer_addr(net, p));
    if (nd->loss > 0)
        u += (size_t)snprintf(script + u, sizeof(script) - u,
                              "    iifname eth0 numgen random mod 100 < %d drop\n", nd->loss);
    u += (size_t)snprintf(script + u, sizeof(script) - u,
                          "  }\n  chain output { type filter hook output priority 0; "
                          "policy accept;\n");
    for (int p = 0; p < FT_NET_MAX; p++)
        if (nd->blocked_out & (1u << p))
            u += (size_t)snprintf(script + u, sizeof(script) - u, "    ip daddr %s drop\n",
                                  peer_addr(net, p));
    if (nd->loss > 0)
        u += (size_t)snprintf(script + u, sizeof(script) - u,
                              "    oifname eth0 numgen random mod 100 < %d drop\n", nd->loss);
    snprintf(script + u, sizeof(script) - u, "  }\n}\n");
    char path[128];
    snprintf(path, sizeof(path), "/tmp/" FT_PREFIX "%s-nft-%d.nft", net->runid, i);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(script, f);
    fclose(f);
    int r = ft_sh("ip netns exec %s nft -f %s", nd->ns, path);
    unlink(path);
    return r == 0 ? 0 : -1;
}

int ft_net_block(ft_net_t *net, int i, uint32_t peers, int dir)
{
    peers &= ~(1u << i);
    if (dir & FT_DIR_IN)
        net->node[i].blocked_in |= peers;
    if (dir & FT_DIR_OUT)
        net->node[i].blocked_out |= peers;
    return apply_rules(net, i);
}

int ft_net_loss(ft_net_t *net, int i, int percent)
{
    net->node[i].loss = percent;
    return apply_rules(net, i);
}

/* Stops node i's delay line, if any: its rules go first (new packets pass), then SIGTERM makes
 * it release every packet it holds before it exits. */
static void stop_delay_line(ft_net_t *net, int i)
{
    ft_net_node_t *nd = &net->node[i];
    if (nd->delay_pid <= 0)
        return;
    ft_sh("ip netns exec %s %s -F INPUT; ip netns exec %s %s -F OUTPUT", nd->ns, net->iptables,
          nd->ns, net->iptables);
    kill(nd->delay_pid, SIGTERM);
    int status;
    bool reaped = false;
    for (int k = 0; k < 200 && !reaped; k++) {
        reaped = waitpid(nd->delay_pid, &status, WNOHANG) != 0;
        if (!reaped)
            usleep(10000);
    }
    if (!reaped) {   /* 2 s without exiting: it holds nothing worth waiting for any more */
        kill(nd->delay_pid, SIGKILL);
        waitpid(nd->delay_pid, &status, 0);
    }
    nd->delay_pid = 0;
    nd->delay_line_ms = 0;
}

/* Starts node i's delay line with nd->delay_ms / 2 each way, waits until its queue is bound (so
 * the delay is in force when this returns), then sends eth0's traffic both ways to it. */
static int start_delay_line(ft_net_t *net, int i)
{
    ft_net_node_t *nd = &net->node[i];
    char ms[16];
    snprintf(ms, sizeof(ms), "%d", nd->delay_ms / 2);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* none of the driver's sockets (ZooKeeper sessions, client connections) may live on
         * in the delay line: a connection the driver closes must close */
        close_range(3, ~0u, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* dies with the driver, like every node process */
        execlp("ip", "ip", "netns", "exec", nd->ns, net->self_exe, "--delay-queue", "0",
               "--delay-ms", ms, (char *)NULL);
        _exit(127);
    }
    nd->delay_pid = (int)pid;
    nd->delay_line_ms = nd->delay_ms;
    bool bound = false;
    for (int k = 0; k < 300 && !bound; k++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            nd->delay_pid = 0;
            break;
        }
        bound = ft_sh("ip netns exec %s grep -q '^ *0 ' /proc/net/netfilter/nfnetlink_queue",
                      nd->ns) == 0;
        if (!bound)
            usleep(10000);
    }
    if (!bound ||
        ft_sh("ip netns exec %s %s -A INPUT -i eth0 -j NFQUEUE --queue-num 0 --queue-bypass && "
              "ip netns exec %s %s -A OUTPUT -o eth0 -j NFQUEUE --queue-num 0 --queue-bypass",
              nd->ns, net->iptables, nd->ns, net->iptables) != 0) {
        ft_log("cannot start the delay line of %s", nd->name);
        stop_delay_line(net, i);
        return -1;
    }
    return 0;
}

/* The qdiscs of node i's veth (both ends) from its rate and delay, and its delay line when the
 * delay cannot be a netem qdisc. */
static int apply_qdisc(ft_net_t *net, int i)
{
    ft_net_node_t *nd = &net->node[i];
    ft_sh("tc qdisc del dev %s root 2>/dev/null; ip netns exec %s tc qdisc del dev eth0 root "
          "2>/dev/null; true", nd->veth, nd->ns);
    if (nd->delay_ms > 0 && net->have_netem) {
        char rate[64] = "";
        if (nd->rate_kbit > 0)
            snprintf(rate, sizeof(rate), " rate %dkbit", nd->rate_kbit);
        /* half the delay each way */
        if (ft_sh("tc qdisc add dev %s root netem delay %dms%s", nd->veth, nd->delay_ms / 2,
                  rate) != 0 ||
            ft_sh("ip netns exec %s tc qdisc add dev eth0 root netem delay %dms%s", nd->ns,
                  nd->delay_ms - nd->delay_ms / 2, rate) != 0)
            return -1;
        return 0;
    }
    if (nd->rate_kbit > 0) {
        /* burst: at least one full-size packet per tick; latency bounds the queue */
        int burst = nd->rate_kbit / 8 / 10;   /* ~100 ms worth, in KB */
        if (burst < 8)
            burst = 8;
        if (ft_sh("tc qdisc add dev %s root tbf rate %dkbit burst %dkb latency 2000ms",
                  nd->veth, nd->rate_kbit, burst) != 0 ||
            ft_sh("ip netns exec %s tc qdisc add dev eth0 root tbf rate %dkbit burst %dkb "
                  "latency 2000ms", nd->ns, nd->rate_kbit, burst) != 0)
            return -1;
    }
    if (nd->delay_pid > 0 && nd->delay_line_ms != nd->delay_ms)
        stop_delay_line(net, i);
    if (nd->delay_ms > 0 && nd->delay_pid <= 0)
        return start_delay_line(net, i);
    return 0;
}

int ft_net_rate(ft_net_t *net, int i, int kbit)
{
    net->node[i].rate_kbit = kbit;
    return apply_qdisc(net, i);
}

int ft_net_delay(ft_net_t *net, int i, int ms)
{
    if (ms > 0 && !ft_net_can_delay(net))
        return -ENOTSUP;
    net->node[i].delay_ms = ms;
    return apply_qdisc(net, i);
}

int ft_net_heal(ft_net_t *net, int i)
{
    ft_net_node_t *nd = &net->node[i];
    bool rules = nd->blocked_in || nd->blocked_out || nd->loss;
    bool qdisc = nd->rate_kbit || nd->delay_ms;
    nd->blocked_in = nd->blocked_out = 0;
    nd->loss = nd->rate_kbit = nd->delay_ms = 0;
    int r = 0;
    if (rules && apply_rules(net, i) < 0)
        r = -1;
    if (qdisc && apply_qdisc(net, i) < 0)
        r = -1;
    return r;
}

void ft_net_heal_all(ft_net_t *net)
{
    for (int i = 0; i < net->n; i++)
        ft_net_heal(net, i);
}
