/* The fault suite's scenarios (see ft_scen.h): Jepsen's isolated leader, a broker cut from
 * ZooKeeper only or from its peers only, the zombie controller (paused, or cut from ZooKeeper),
 * rapid successive leader kills (KIP-279), ZooKeeper quorum loss and a node's lost data dir, disk
 * full and unwritable log dirs on a leader and on a follower, ISR flapping under a throttled
 * follower, added latency (netem or an NFQUEUE delay line), and a seeded random nemesis mixing
 * them. */
#include "ft_scen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "zk_harness.h"

/* ---- helpers --------------------------------------------------------------------------------- */

void ft_fail(ft_ctx_t *x, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    x->failed = true;
    size_t u = strlen(x->why);
    snprintf(x->why + u, sizeof(x->why) - u, "%s\n", msg);
    ft_log("ASSERTION FAILED: %s", msg);
}

void ft_note(ft_ctx_t *x, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t u = strlen(x->note);
    snprintf(x->note + u, sizeof(x->note) - u, "%s%s", u ? "; " : "", msg);
    ft_log("note: %s", msg);
}

static void hold(int ms)
{
    st_test_sleep_ms(ms);
}

static int leader_of(ft_ctx_t *x, int p)
{
    ft_pstate_t s;
    return ft_partition_state(x->c, x->w->topic, p, &s) == 0 ? s.leader : -1;
}

/* Waits until partition p has a leader other than `not` (and not -1). Its id or -1. */
static int wait_new_leader(ft_ctx_t *x, int p, int not, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int l = leader_of(x, p);
        if (l > 0 && l != not)
            return l;
        st_test_sleep_ms(50);
    } while (st_test_now_ms() < deadline);
    return -1;
}

/* A random partition and its leader (optionally not the controller; -1 if none fits). */
static ft_proc_t *pick_leader(ft_ctx_t *x, int *ret_part, bool not_controller)
{
    int ctl = ft_controller(x->c);
    int start = ft_rand_range(&x->rng, 0, x->w->n_part - 1);
    for (int k = 0; k < x->w->n_part; k++) {
        int p = (start + k) % x->w->n_part;
        int l = leader_of(x, p);
        if (l > 0 && (!not_controller || l != ctl)) {
            *ret_part = p;
            return ft_broker(x->c, l);
        }
    }
    return NULL;
}

/* A follower of partition p (in its ISR, not the leader), chosen at random; NULL if none. */
static ft_proc_t *pick_follower(ft_ctx_t *x, int p)
{
    ft_pstate_t s;
    if (ft_partition_state(x->c, x->w->topic, p, &s) < 0)
        return NULL;
    int cand[8], n = 0;
    for (int i = 0; i < s.n_isr; i++)
        if (s.isr[i] != s.leader)
            cand[n++] = s.isr[i];
    return n ? ft_broker(x->c, cand[ft_rand_range(&x->rng, 0, n - 1)]) : NULL;
}

static void f_block(ft_ctx_t *x, ft_proc_t *p, uint32_t peers, int dir, const char *why)
{
    char set[128];
    ft_net_mask_str(&x->c->net, peers, set, sizeof(set));
    ft_sched("partition %s from %s (%s)%s%s", p->name, set,
             dir == FT_DIR_BOTH ? "both directions" : dir == FT_DIR_IN ? "inbound" : "outbound",
             why ? ": " : "", why ? why : "");
    if (ft_net_block(&x->c->net, p->net, peers, dir) < 0)
        ft_fail(x, "could not install the partition rules on %s", p->name);
}

static void f_heal_net(ft_ctx_t *x, ft_proc_t *p)
{
    ft_sched("heal the network of %s", p->name);
    ft_net_heal(&x->c->net, p->net);
}

static void f_kill(ft_ctx_t *x, ft_proc_t *p)
{
    (void)x;
    ft_sched("SIGKILL %s", p->name);
    ft_proc_kill(p, SIGKILL);
}

static void f_start(ft_ctx_t *x, ft_proc_t *p)
{
    ft_sched("start %s", p->name);
    if (ft_proc_start(x->c, p) < 0)
        ft_fail(x, "%s did not start again", p->name);
}

/* Availability during [from, to) of workload time, as a note: acks, per partition too, and
 * the longest stretch without any ack. */
static void note_window(ft_ctx_t *x, const char *label, int64_t from, int64_t to)
{
    long per[FT_MAX_PART] = { 0 }, sent = atomic_load(&x->w->sent);
    for (long s = 0; s < sent; s++) {
        const ft_row_t *r = &x->w->rows[s];
        if (r->state == 2 && r->t_done >= from && r->t_done < to)
            per[s % x->w->n_part]++;
    }
    char parts[256] = "";
    size_t u = 0;
    for (int p = 0; p < x->w->n_part; p++)
        u += (size_t)snprintf(parts + u, sizeof(parts) - u, "%s%ld", p ? "/" : "", per[p]);
    ft_note(x, "%s (%.1f s): %ld acks (per partition %s), longest stretch without an ack "
            "%lld ms", label, (double)(to - from) / 1000.0, ft_work_acks_between(x->w, from, to),
            parts, (long long)ft_work_longest_gap(x->w, from, to));
}

/* Acks of the partitions led by broker id at the start, in [from, to). */
static long acks_of_partitions(ft_ctx_t *x, const bool *parts, int64_t from, int64_t to)
{
    long n = 0, sent = atomic_load(&x->w->sent);
    for (long s = 0; s < sent; s++) {
        const ft_row_t *r = &x->w->rows[s];
        if (parts[s % x->w->n_part] && r->state == 2 && r->t_done >= from && r->t_done < to)
            n++;
    }
    return n;
}

/* Waits until every partition of the workload's topic has a full ISR again. */
static int wait_full_isr(ft_ctx_t *x, int timeout_ms)
{
    return ft_wait_topic(x->c, x->w->topic, x->w->n_part, 3, timeout_ms);
}

int ft_heal_all(ft_cluster_t *c, bool log_it)
{
    ft_net_heal_all(&c->net);
    for (int i = 0; i < FT_ZK_N; i++) {
        ft_proc_t *z = &c->zk[i];
        if (z->paused)
            ft_proc_resume(z);
        if (!ft_proc_alive(z)) {
            if (log_it)
                ft_sched("start %s", z->name);
            ft_proc_start(c, z);
        }
    }
    for (int i = 0; i < FT_BR_N; i++) {
        ft_proc_t *b = &c->br[i];
        if (b->paused)
            ft_proc_resume(b);
        if (b->failed_fs) {
            if (log_it)
                ft_sched("repair the file system of %s (stop, fsck, mount)", b->name);
            ft_disk_repair(c, b);
        }
        if (b->filled)
            ft_disk_unfill(c, b);
    }
    if (ft_zk_wait_serving(c, FT_ZK_N, 60000) < 0) {
        ft_log("heal: the ensemble does not serve with all %d nodes", FT_ZK_N);
        return -1;
    }
    /* twice: a process that dies right after it was resumed (a crash the scenario reports) is
     * started again */
    for (int attempt = 0; attempt < 2; attempt++) {
        for (int i = 0; i < FT_BR_N; i++) {
            ft_proc_t *b = &c->br[i];
            if (!ft_proc_alive(b)) {
                if (log_it)
                    ft_sched("start %s", b->name);
                if (ft_proc_start(c, b) < 0)
                    return -1;
            }
        }
        if (ft_wait_registered(c, 0xe, 30000) == 0)
            return 0;
    }
    return -1;
}

/* ---- scenarios ------------------------------------------------------------------------------- */

/* Jepsen 2013: the leader loses its followers and ZooKeeper but keeps its clients. With acks=all
 * and min.insync.replicas=2 it must accept nothing it cannot replicate; a new leader is elected;
 * on return the old leader truncates whatever it appended alone. */
static void sc_leader_isolated(ft_ctx_t *x)
{
    int p = 0;
    ft_proc_t *l = pick_leader(x, &p, false);
    if (!l) {
        ft_fail(x, "no leader to isolate");
        return;
    }
    bool led[FT_MAX_PART] = { false };
    for (int q = 0; q < x->w->n_part; q++)
        led[q] = leader_of(x, q) == l->id;
    int64_t t0 = ft_work_now(x->w);
    f_block(x, l, (ft_mask_brokers(x->c) | ft_mask_zk(x->c)) & ~ft_mask_of(l), FT_DIR_BOTH,
            "the leader keeps only its clients");
    int hold_ms = x->c->session_ms + x->c->lag_ms + (x->quick ? 3000 : 8000);
    int64_t t_iso = st_test_now_ms();
    int nl = wait_new_leader(x, p, l->id, hold_ms);
    int64_t t_new = ft_work_now(x->w);
    if (nl < 0)
        ft_fail(x, "partition %d: no new leader while %s was isolated (%d ms)", p, l->name,
                hold_ms);
    else
        ft_note(x, "partition %d: new leader b%d %lld ms after the isolation", p, nl,
                (long long)(st_test_now_ms() - t_iso));
    int64_t left = hold_ms - (st_test_now_ms() - t_iso);
    if (left > 0)
        hold((int)left);
    int64_t t1 = ft_work_now(x->w);
    long log_from = ft_proc_log_size(l);
    f_heal_net(x, l);
    note_window(x, "isolation", t0, t1);
    /* between the cut (plus a second for answers already on their way) and the new leader, the
     * isolated leader could replicate nothing: with acks=all it must have acked nothing */
    long alone = nl > 0 ? acks_of_partitions(x, led, t0 + 1000, t_new) : 0;
    ft_note(x, "acks on the partitions %s led, from 1 s after the cut to the new leader: %ld",
            l->name, alone);
    if (alone > 0)
        ft_fail(x, "the isolated leader %s acknowledged %ld acks=all writes it could not "
                "replicate", l->name, alone);
    hold(x->quick ? 1500 : 3000);
    /* what it appended alone is not committed: it truncates when it follows again */
    ft_note(x, "%s logged %d truncations after it returned", l->name,
            ft_proc_log_count(l, "truncated from offset", log_from));
}

/* A broker keeps its peers and clients but loses ZooKeeper: its session expires, the controller
 * moves its leaderships; it must not ack acks=all writes it cannot commit. */
static void sc_broker_zk_cut(ft_ctx_t *x)
{
    int p = 0;
    ft_proc_t *b = pick_leader(x, &p, true);
    if (!b)
        b = pick_leader(x, &p, false);
    if (!b) {
        ft_fail(x, "no leader to cut");
        return;
    }
    int64_t t0 = ft_work_now(x->w);
    f_block(x, b, ft_mask_zk(x->c), FT_DIR_BOTH, "ZooKeeper only");
    int hold_ms = x->quick ? x->c->session_ms + 3000 : x->c->session_ms * 2 + 6000;
    int64_t start = st_test_now_ms();
    int nl = wait_new_leader(x, p, b->id, hold_ms);
    if (nl > 0) {
        ft_note(x, "partition %d moved to b%d %lld ms after the cut", p, nl,
                (long long)(st_test_now_ms() - start));
        /* what the cut broker tells clients now (its session is gone: no more UpdateMetadata) */
        hold(2000);
        int vl = -1, ve = -1;
        ft_pstate_t zs;
        if (ft_broker_view(x->c, b, x->w->topic, p, &vl, &ve) == 0 &&
            ft_partition_state(x->c, x->w->topic, p, &zs) == 0)
            ft_note(x, "2 s later %s's Metadata names leader b%d at leader epoch %d "
                    "(ZooKeeper: b%d at epoch %d)", b->name, vl, ve, zs.leader, zs.leader_epoch);
    } else {
        ft_note(x, "partition %d stayed on %s for the whole cut", p, b->name);
    }
    int64_t left = hold_ms - (st_test_now_ms() - start);
    if (left > 0)
        hold((int)left);
    int64_t t1 = ft_work_now(x->w);
    f_heal_net(x, b);
    note_window(x, "cut from ZooKeeper", t0, t1);
    hold(x->quick ? 1500 : 3000);
}

/* A broker keeps ZooKeeper and its clients but loses its peers (Kafka does not fail over here:
 * the broker keeps its session and its leaderships). acks=all must fail on its partitions, never
 * succeed silently. */
static void sc_broker_peers_cut(ft_ctx_t *x)
{
    int p = 0;
    ft_proc_t *b = pick_leader(x, &p, true);
    if (!b)
        b = pick_leader(x, &p, false);
    if (!b) {
        ft_fail(x, "no leader to cut");
        return;
    }
    bool led[FT_MAX_PART] = { false };
    for (int q = 0; q < x->w->n_part; q++)
        led[q] = leader_of(x, q) == b->id;
    int64_t t0 = ft_work_now(x->w);
    f_block(x, b, ft_mask_brokers(x->c) & ~ft_mask_of(b), FT_DIR_BOTH, "its peers only");
    int hold_ms = x->quick ? x->c->lag_ms + 4000 : x->c->lag_ms * 2 + 8000;
    hold(hold_ms);
    int still = leader_of(x, p);
    int64_t t1 = ft_work_now(x->w);
    f_heal_net(x, b);
    note_window(x, "cut from peers", t0, t1);
    /* after lag + a margin, the cut leader's partitions must not ack (nothing can replicate) */
    int64_t settle = t0 + x->c->lag_ms + 3000;
    ft_note(x, "partition %d leader at the end of the cut: b%d (was %s); acks on %s's "
            "partitions after %d ms of cut: %ld", p, still, b->name, b->name,
            x->c->lag_ms + 3000, acks_of_partitions(x, led, settle, t1));
    hold(x->quick ? 1500 : 3000);
}

/* Zombie controller: paused longer than its session, a new controller is elected; resumed, the
 * old one must not change anything (KAFKA-6082's fencing). */
static void check_fenced(ft_ctx_t *x, int old_epoch, const ft_pstate_t *before, int n)
{
    int new_epoch = ft_controller_epoch(x->c);
    if (new_epoch <= old_epoch)
        ft_fail(x, "controller epoch did not advance (%d -> %d)", old_epoch, new_epoch);
    for (int p = 0; p < n; p++) {
        ft_pstate_t s;
        if (ft_partition_state(x->c, x->w->topic, p, &s) < 0)
            continue;
        if (s.version != before[p].version && s.controller_epoch <= old_epoch)
            ft_fail(x, "partition %d state written at controller epoch %d after the new "
                    "controller took over (epoch %d)", p, s.controller_epoch, new_epoch);
    }
}

static void zombie_controller(ft_ctx_t *x, bool pause)
{
    int ctl = ft_controller(x->c);
    int old_epoch = ft_controller_epoch(x->c);
    ft_proc_t *b = ft_broker(x->c, ctl);
    if (!b) {
        ft_fail(x, "no controller");
        return;
    }
    long log_from = ft_proc_log_size(b);
    int64_t t0 = ft_work_now(x->w);
    if (pause) {
        ft_sched("SIGSTOP %s (the controller, epoch %d)", b->name, old_epoch);
        ft_proc_pause(b);
    } else {
        f_block(x, b, ft_mask_zk(x->c), FT_DIR_BOTH, "the controller from ZooKeeper");
    }
    int64_t start = st_test_now_ms();
    int nc = -1;
    while (st_test_now_ms() - start < x->c->session_ms * 3) {
        int id = ft_controller(x->c);
        if (id > 0 && ft_controller_epoch(x->c) > old_epoch) {
            nc = id;
            break;
        }
        st_test_sleep_ms(100);
    }
    if (nc < 0)
        ft_fail(x, "no new controller within %d ms", x->c->session_ms * 3);
    else
        ft_note(x, "new controller b%d (epoch %d) %lld ms after the fault", nc,
                ft_controller_epoch(x->c), (long long)(st_test_now_ms() - start));
    /* the state as the new controller leaves it, before the old one is back */
    hold(2000);
    ft_pstate_t before[FT_MAX_PART];
    for (int p = 0; p < x->w->n_part; p++)
        if (ft_partition_state(x->c, x->w->topic, p, &before[p]) < 0)
            before[p].version = -1;
    if (pause) {
        ft_sched("SIGCONT %s", b->name);
        ft_proc_resume(b);
    } else {
        f_heal_net(x, b);
    }
    hold(x->quick ? 4000 : 8000);
    int64_t t1 = ft_work_now(x->w);
    note_window(x, pause ? "controller paused" : "controller cut", t0, t1);
    check_fenced(x, old_epoch, before, x->w->n_part);
    int resigned = ft_proc_log_count(b, "Resigning as controller", log_from) +
                   ft_proc_log_count(b, "resigning", log_from);
    ft_note(x, "old controller %s logged its resignation: %s", b->name, resigned ? "yes" : "no");
}

static void sc_controller_pause(ft_ctx_t *x)
{
    zombie_controller(x, true);
}

static void sc_controller_zk_cut(ft_ctx_t *x)
{
    zombie_controller(x, false);
}

/* KIP-279: the leader is killed, and the new one within a second of it, repeatedly. */
static void sc_leader_kill_rapid(ft_ctx_t *x)
{
    int rounds = x->quick ? 2 : 4;
    for (int r = 0; r < rounds; r++) {
        int p = ft_rand_range(&x->rng, 0, x->w->n_part - 1);
        ft_proc_t *l1 = ft_broker(x->c, leader_of(x, p));
        if (!l1) {
            ft_fail(x, "round %d: partition %d has no leader", r + 1, p);
            return;
        }
        int64_t t_kill = st_test_now_ms();
        f_kill(x, l1);
        int l2id = wait_new_leader(x, p, l1->id, 900);
        ft_proc_t *l2 = l2id > 0 ? ft_broker(x->c, l2id) : NULL;
        if (!l2) {
            /* no new leader within the second: kill another ISR member anyway */
            ft_pstate_t s;
            if (ft_partition_state(x->c, x->w->topic, p, &s) == 0)
                for (int i = 0; i < s.n_isr && !l2; i++)
                    if (s.isr[i] != l1->id)
                        l2 = ft_broker(x->c, s.isr[i]);
        }
        int64_t spent = st_test_now_ms() - t_kill;
        if (spent < 1000)
            hold(ft_rand_range(&x->rng, 0, (int)(1000 - spent)) / 2);
        if (l2)
            f_kill(x, l2);
        hold(x->quick ? 1500 : 3000);
        f_start(x, l1);
        if (l2)
            f_start(x, l2);
        if (ft_wait_registered(x->c, 0xe, 30000) < 0)
            ft_fail(x, "round %d: the brokers did not all register again", r + 1);
        if (wait_full_isr(x, 60000) < 0)
            ft_fail(x, "round %d: partitions without a full ISR 60 s after the restarts", r + 1);
    }
}

/* Two of three ZooKeeper nodes die: no quorum (no ISR change, no election can be written), then
 * they come back. */
static void sc_zk_quorum_loss(ft_ctx_t *x)
{
    int keep = ft_rand_range(&x->rng, 1, FT_ZK_N);
    int64_t t0 = ft_work_now(x->w);
    for (int i = 1; i <= FT_ZK_N; i++)
        if (i != keep)
            f_kill(x, ft_zk(x->c, i));
    hold(x->c->session_ms * 2 + (x->quick ? 0 : 4000));
    int64_t t1 = ft_work_now(x->w);
    for (int i = 1; i <= FT_ZK_N; i++)
        if (i != keep) {
            ft_sched("start %s", ft_zk(x->c, i)->name);
            ft_proc_start(x->c, ft_zk(x->c, i));
        }
    if (ft_zk_wait_serving(x->c, FT_ZK_N, 60000) < 0)
        ft_fail(x, "the ensemble did not serve with 3 nodes 60 s after the restarts");
    note_window(x, "no quorum", t0, t1);
    if (ft_wait_registered(x->c, 0xe, 30000) < 0)
        ft_fail(x, "the brokers are not all registered 30 s after the quorum came back");
    hold(2000);
}

/* A ZooKeeper node loses its data dir and rejoins empty: it must sync from the others and serve
 * the same data. */
static void sc_zk_data_loss(ft_ctx_t *x)
{
    int id = ft_rand_range(&x->rng, 1, FT_ZK_N);
    ft_proc_t *z = ft_zk(x->c, id);
    f_kill(x, z);
    ft_sched("wipe the data dir of %s (myid kept)", z->name);
    ft_zk_wipe(x->c, z);
    hold(1000);
    f_start(x, z);
    if (ft_zk_wait_serving(x->c, FT_ZK_N, 60000) < 0) {
        ft_fail(x, "%s did not rejoin within 60 s", z->name);
        return;
    }
    hold(1000);
    /* the rejoined node alone must show what the ensemble has */
    char connect[128], mine[256] = "", theirs[256] = "";
    snprintf(connect, sizeof(connect), "%s:%d/strand", x->c->net.node[z->net].addr, FT_ZK_PORT);
    int a = st_test_zk_children(connect, "/brokers/ids", mine, sizeof(mine));
    int b = ft_zk_children(x->c, "/brokers/ids", theirs, sizeof(theirs));
    if (a < 0 || b < 0 || strcmp(mine, theirs) != 0)
        ft_fail(x, "%s shows /brokers/ids [%s] (code %d), the ensemble [%s]", z->name, mine, a,
                theirs);
    char path[256];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/0/state", x->w->topic);
    a = st_test_zk_get(connect, path, mine, sizeof(mine));
    if (a < 0)
        ft_fail(x, "%s has no %s after rejoining (code %d)", z->name, path, a);
    char mode[32] = "";
    ft_zk_mode(x->c, z, mode, sizeof(mode));
    ft_note(x, "%s rejoined as %s with the ensemble's data", z->name, mode);
}

/* A log dir fills up (or fails) on the leader or on a follower. The broker should take the dir
 * offline, the leadership move, nothing acked be lost, and the broker recover when the space
 * returns / the disk is replaced. */
static void disk_fault(ft_ctx_t *x, bool leader, bool unwritable)
{
    int p = 0;
    /* a follower fault uses the pinned topic: b3 follows every partition and leads none */
    ft_proc_t *b = leader ? pick_leader(x, &p, false) : ft_broker(x->c, 3);
    if (!b) {
        ft_fail(x, "no %s to fault", leader ? "leader" : "follower");
        return;
    }
    long log_from = ft_proc_log_size(b);
    int64_t t0 = ft_work_now(x->w);
    if (unwritable) {
        ft_sched("make the log dir of %s fail (ext4 error: read-only, writes EROFS)", b->name);
        if (ft_disk_fail(x->c, b) < 0)
            ft_fail(x, "could not make the file system of %s fail", b->name);
    } else {
        ft_sched("fill the log dir of %s (no space left)", b->name);
        if (ft_disk_fill(x->c, b) < 0)
            ft_fail(x, "could not fill the file system of %s", b->name);
    }
    int bound = x->quick ? x->c->lag_ms + 5000 : x->c->session_ms + x->c->lag_ms + 8000;
    int64_t start = st_test_now_ms();
    /* the partition must be writable again: a leader other than b (leader case), or acks flowing
     * on every partition (follower case) */
    bool moved = false;
    while (st_test_now_ms() - start < bound) {
        int l = leader_of(x, p);
        if (leader && l > 0 && l != b->id) {
            moved = true;
            break;
        }
        st_test_sleep_ms(200);
    }
    int64_t t_bound = ft_work_now(x->w);
    hold(3000);
    int64_t t1 = ft_work_now(x->w);
    note_window(x, unwritable ? "log dir failed" : "log dir full", t0, t1);
    bool alive = ft_proc_alive(b);
    int offline = ft_proc_log_count(b, "offline", log_from);
    ft_note(x, "%s is %s; its log says \"offline\" %d times", b->name,
            alive ? "running" : "not running", offline);
    if (leader && !moved)
        ft_fail(x, "partition %d stayed on %s (its log dir %s) for %d ms: leadership did not "
                "move", p, b->name, unwritable ? "failed" : "full", bound);
    /* every partition writable again by then */
    long per[FT_MAX_PART] = { 0 }, sent = atomic_load(&x->w->sent);
    for (long s = 0; s < sent; s++) {
        const ft_row_t *r = &x->w->rows[s];
        if (r->state == 2 && r->t_done >= t_bound && r->t_done < t1)
            per[s % x->w->n_part]++;
    }
    for (int q = 0; q < x->w->n_part; q++)
        if (per[q] == 0)
            ft_fail(x, "partition %d: no write acknowledged from %d to %lld ms after the %s "
                    "log dir of %s", q, bound, (long long)(bound + t1 - t_bound),
                    unwritable ? "failed" : "full", b->name);
    /* recovery */
    if (unwritable) {
        ft_sched("replace the disk of %s: stop it, fsck, mount, start", b->name);
        ft_disk_repair(x->c, b);
        f_start(x, b);
    } else {
        ft_sched("free the space on %s", b->name);
        ft_disk_unfill(x->c, b);
        if (ft_proc_alive(b) && wait_full_isr(x, x->quick ? 10000 : 20000) == 0) {
            ft_note(x, "%s back in every ISR without a restart", b->name);
        } else {
            ft_note(x, "%s %s after the space returned: restarted", b->name,
                    ft_proc_alive(b) ? "not back in every ISR" : "had shut down");
            ft_sched("restart %s", b->name);
            ft_proc_kill(b, SIGTERM);
            f_start(x, b);
        }
    }
    if (ft_wait_registered(x->c, 0xe, 30000) < 0 || wait_full_isr(x, 60000) < 0)
        ft_fail(x, "%s did not come back into every ISR", b->name);
}

static void sc_disk_full_leader(ft_ctx_t *x) { disk_fault(x, true, false); }
static void sc_disk_full_follower(ft_ctx_t *x) { disk_fault(x, false, false); }
static void sc_disk_failed_leader(ft_ctx_t *x) { disk_fault(x, true, true); }
static void sc_disk_failed_follower(ft_ctx_t *x) { disk_fault(x, false, true); }

/* Bytes in the leaders' segment files of the topic (b1 and b2 lead everything here). */
static long topic_bytes(ft_ctx_t *x, int broker)
{
    char out[64];
    if (ft_sh_out(out, sizeof(out), "cat %s/logs/%s-*/*.log 2>/dev/null | wc -c",
                  ft_broker(x->c, broker)->mnt, x->w->topic) != 0)
        return -1;
    return atol(out);
}

/* ISR flapping (reference §6.6): the follower b3 (it leads nothing here) is throttled first to
 * ~80 % of the bytes the leaders append per second, then to ~10 %, each for two lag times, then
 * released. Expected: at most one shrink per partition while it falls behind (the 10 % phase
 * must shrink it: acks=all would stall otherwise) and one expand once it caught up -- no storm of
 * ISR changes, each of which is a ZooKeeper write and a round of UpdateMetadata. */
static int isr_changes(ft_ctx_t *x, const ft_pstate_t *before, int *ret_worst)
{
    int total = 0, worst = 0;
    for (int p = 0; p < x->w->n_part; p++) {
        ft_pstate_t s;
        if (ft_partition_state(x->c, x->w->topic, p, &s) < 0)
            continue;
        int changes = s.version - before[p].version;
        total += changes;
        if (changes > worst)
            worst = changes;
    }
    *ret_worst = worst;
    return total;
}

static void sc_isr_flap(ft_ctx_t *x)
{
    long b0 = topic_bytes(x, 1) + topic_bytes(x, 2);
    hold(2000);
    long b1 = topic_bytes(x, 1) + topic_bytes(x, 2);
    long bps = (b1 - b0) / 2;
    ft_pstate_t before[FT_MAX_PART];
    for (int p = 0; p < x->w->n_part; p++)
        ft_partition_state(x->c, x->w->topic, p, &before[p]);
    ft_proc_t *f = ft_broker(x->c, 3);
    long log1 = ft_proc_log_size(ft_broker(x->c, 1)), log2 = ft_proc_log_size(ft_broker(x->c, 2));
    static const int pct[] = { 80, 10 };
    int worst = 0, total = 0;
    for (int phase = 0; phase < 2; phase++) {
        int kbit = (int)(bps * 8 / 1000 * pct[phase] / 100);
        if (kbit < 16)
            kbit = 16;
        ft_sched("throttle %s to %d kbit/s (~%d%% of the %ld bytes/s the leaders append)",
                 f->name, kbit, pct[phase], bps);
        if (ft_net_rate(&x->c->net, f->net, kbit) < 0) {
            ft_fail(x, "could not install the tbf qdisc");
            return;
        }
        int64_t t0 = ft_work_now(x->w);
        hold(x->c->lag_ms * 2 + (x->quick ? 1000 : 6000));
        total = isr_changes(x, before, &worst);
        char label[64];
        snprintf(label, sizeof(label), "follower at %d%%", pct[phase]);
        note_window(x, label, t0, ft_work_now(x->w));
        ft_note(x, "ISR changes so far: %d (most on one partition: %d)", total, worst);
    }
    if (total == 0)
        ft_fail(x, "%s never left an ISR while throttled to 10%% of the append rate", f->name);
    ft_sched("remove the throttle of %s", f->name);
    ft_net_rate(&x->c->net, f->net, 0);
    if (wait_full_isr(x, 60000) < 0)
        ft_fail(x, "%s not back in every ISR 60 s after the throttle ended", f->name);
    hold(1000);
    total = isr_changes(x, before, &worst);
    int shrinks = ft_proc_log_count(ft_broker(x->c, 1), "shrinking the ISR", log1) +
                  ft_proc_log_count(ft_broker(x->c, 2), "shrinking the ISR", log2);
    int expands = ft_proc_log_count(ft_broker(x->c, 1), "expanding the ISR", log1) +
                  ft_proc_log_count(ft_broker(x->c, 2), "expanding the ISR", log2);
    ft_note(x, "ISR changes written to ZooKeeper (each one UpdateMetadata round): %d over %d "
            "partitions (most on one: %d); leaders logged %d shrinks and %d expands", total,
            x->w->n_part, worst, shrinks, expands);
    if (worst > 3)
        ft_fail(x, "ISR storm: %d state changes of one partition (one shrink and one expand "
                "expected, 3 tolerated)", worst);
}

/* Milliseconds a TCP connect from the driver to node p's broker port takes (one round trip),
 * -1 if it fails within 5 s. */
static int connect_rtt_ms(ft_ctx_t *x, const ft_proc_t *p)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(FT_BROKER_PORT) };
    inet_pton(AF_INET, x->c->net.node[p->net].addr, &sa.sin_addr);
    int64_t t0 = ft_work_now(x->w);
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int64_t t1 = ft_work_now(x->w);
    close(fd);
    return r == 0 ? (int)(t1 - t0) : -1;
}

/* Added latency on a follower's link: netem, or the NFQUEUE delay line where the kernel has no
 * sch_netem. The delay is checked to be in force (a connect to the follower takes a round trip
 * of at least most of it); acks=all writes must go on, slower, with nothing lost. */
static void sc_latency(ft_ctx_t *x)
{
    if (!ft_net_can_delay(&x->c->net)) {
        x->skipped = true;
        ft_note(x, "added latency cannot be injected here: %s",
                ft_net_delay_method(&x->c->net));
        return;
    }
    int p = 0;
    ft_proc_t *l = pick_leader(x, &p, false);
    ft_proc_t *f = l ? pick_follower(x, p) : NULL;
    if (!f) {
        ft_fail(x, "no follower");
        return;
    }
    const int delay = 200;
    int before = connect_rtt_ms(x, f);
    ft_sched("delay %s by %d ms (round trip; %s)", f->name, delay,
             ft_net_delay_method(&x->c->net));
    if (ft_net_delay(&x->c->net, f->net, delay) != 0) {
        ft_fail(x, "could not add %d ms of latency to %s", delay, f->name);
        return;
    }
    int during = connect_rtt_ms(x, f);
    int64_t t0 = ft_work_now(x->w);
    hold(x->quick ? 6000 : 15000);
    int64_t t1 = ft_work_now(x->w);
    ft_sched("remove the delay of %s", f->name);
    ft_net_delay(&x->c->net, f->net, 0);
    int after = connect_rtt_ms(x, f);
    ft_note(x, "connect round trip to %s: %d ms before, %d ms with the delay, %d ms after",
            f->name, before, during, after);
    if (during < delay * 8 / 10)
        ft_fail(x, "the delay was not in force: a connect to %s took %d ms (%d ms added)",
                f->name, during, delay);
    if (after < 0 || after >= delay * 8 / 10)
        ft_fail(x, "the delay of %s was not removed: a connect took %d ms", f->name, after);
    note_window(x, "delayed follower", t0, t1);
}

/* Random nemesis: a seeded mix of the faults above (partitions of a broker from a random set,
 * cuts from ZooKeeper or from peers, packet loss or added latency, SIGKILL, SIGSTOP, fast double
 * leader kills, a ZooKeeper node killed or paused, quorum loss, a ZooKeeper node's data lost,
 * full and failed log dirs, the controller paused), held 1 s .. 2 x session, healed two rounds
 * in three (else overlapping with the next), for the requested duration; all healed at the end. */
static void sc_nemesis(ft_ctx_t *x)
{
    int64_t end = st_test_now_ms() + (int64_t)x->duration_s * 1000;
    int round = 0;
    while (st_test_now_ms() < end) {
        round++;
        int kind = ft_rand_range(&x->rng, 0, 12);
        ft_proc_t *b = ft_broker(x->c, ft_rand_range(&x->rng, 1, FT_BR_N));
        int hold_ms = ft_rand_range(&x->rng, 1000, x->c->session_ms * 2);
        switch (kind) {
        case 0: {   /* a broker from a random set of nodes */
            uint32_t all = (ft_mask_brokers(x->c) | ft_mask_zk(x->c)) & ~ft_mask_of(b);
            uint32_t set = (uint32_t)ft_rand(&x->rng) & all;
            if (!set)
                set = all;
            f_block(x, b, set, ft_rand_range(&x->rng, 0, 3) == 0 ? FT_DIR_IN : FT_DIR_BOTH,
                    NULL);
            break;
        }
        case 1:
            f_block(x, b, ft_mask_zk(x->c), FT_DIR_BOTH, "ZooKeeper only");
            break;
        case 2:
            f_block(x, b, ft_mask_brokers(x->c) & ~ft_mask_of(b), FT_DIR_BOTH, "peers only");
            break;
        case 3:     /* a bad link: loss, or added latency where it can be injected */
            if (ft_rand_range(&x->rng, 0, 1) && ft_net_can_delay(&x->c->net)) {
                int ms = ft_rand_range(&x->rng, 50, 400);
                ft_sched("delay %s by %d ms (round trip)", b->name, ms);
                ft_net_delay(&x->c->net, b->net, ms);
            } else {
                ft_sched("%s loses 20%% of its packets", b->name);
                ft_net_loss(&x->c->net, b->net, 20);
            }
            break;
        case 4:
            f_kill(x, b);
            break;
        case 5:
            ft_sched("SIGSTOP %s", b->name);
            ft_proc_pause(b);
            break;
        case 6: {   /* the current leader of a random partition, twice fast */
            int p = ft_rand_range(&x->rng, 0, x->w->n_part - 1);
            ft_proc_t *l = ft_broker(x->c, leader_of(x, p));
            if (l) {
                f_kill(x, l);
                int l2 = wait_new_leader(x, p, l->id, 800);
                if (l2 > 0)
                    f_kill(x, ft_broker(x->c, l2));
            }
            break;
        }
        case 7: {   /* one ZooKeeper node (the quorum survives) */
            ft_proc_t *z = ft_zk(x->c, ft_rand_range(&x->rng, 1, FT_ZK_N));
            if (ft_rand_range(&x->rng, 0, 1))
                f_kill(x, z);
            else {
                ft_sched("SIGSTOP %s", z->name);
                ft_proc_pause(z);
            }
            break;
        }
        case 8:
            ft_sched("fill the log dir of %s", b->name);
            ft_disk_fill(x->c, b);
            break;
        case 9:     /* the heal repairs it: stop, fsck, mount, start */
            ft_sched("make the log dir of %s fail", b->name);
            ft_disk_fail(x->c, b);
            break;
        case 10: {  /* two ZooKeeper nodes: no quorum */
            int keep = ft_rand_range(&x->rng, 1, FT_ZK_N);
            for (int i = 1; i <= FT_ZK_N; i++)
                if (i != keep)
                    f_kill(x, ft_zk(x->c, i));
            break;
        }
        case 11: {  /* a ZooKeeper node's data dir lost (the heal starts it empty) */
            ft_proc_t *z = ft_zk(x->c, ft_rand_range(&x->rng, 1, FT_ZK_N));
            bool others_up = true;
            for (int i = 0; i < FT_ZK_N; i++)
                if (&x->c->zk[i] != z && !ft_proc_alive(&x->c->zk[i]))
                    others_up = false;
            if (!others_up)
                break;      /* only with a quorum of intact nodes to sync from */
            f_kill(x, z);
            ft_sched("wipe the data dir of %s", z->name);
            ft_zk_wipe(x->c, z);
            break;
        }
        default: {
            ft_proc_t *c = ft_broker(x->c, ft_controller(x->c));
            if (c) {
                ft_sched("SIGSTOP %s (the controller)", c->name);
                ft_proc_pause(c);
            }
            break;
        }
        }
        int64_t left = end - st_test_now_ms();
        hold((int)(hold_ms < left ? hold_ms : (left > 0 ? left : 0)));
        /* heal everything before the next round, one time in three let it overlap */
        if (ft_rand_range(&x->rng, 0, 2) != 0 || st_test_now_ms() >= end) {
            ft_sched("heal everything");
            if (ft_heal_all(x->c, true) < 0)
                ft_fail(x, "round %d: the cluster did not heal", round);
            hold(ft_rand_range(&x->rng, 500, 2500));
        }
    }
    ft_sched("heal everything");
    if (ft_heal_all(x->c, true) < 0)
        ft_fail(x, "the cluster did not heal at the end");
    ft_note(x, "%d nemesis rounds", round);
    if (wait_full_isr(x, 60000) < 0)
        ft_fail(x, "partitions without a full ISR 60 s after the last heal");
}

/* ---- table ------------------------------------------------------------------------------- */

const ft_scenario_t ft_scenarios[] = {
    { "leader-isolated", "the leader cut from its followers and ZooKeeper (Jepsen)", 3, 300,
      false, sc_leader_isolated, false },
    { "broker-zk-cut", "a leader cut from ZooKeeper only", 3, 300, false, sc_broker_zk_cut, false },
    { "broker-peers-cut", "a leader cut from the other brokers only", 3, 300, false,
      sc_broker_peers_cut, false },
    { "controller-pause", "the controller SIGSTOPped past its session, then resumed", 3, 300,
      false, sc_controller_pause, false },
    { "controller-zk-cut", "the controller cut from ZooKeeper past its session", 3, 300, false,
      sc_controller_zk_cut, false },
    { "leader-kill-rapid", "two leaders killed within a second, repeated (KIP-279)", 3, 300,
      false, sc_leader_kill_rapid, false },
    { "zk-quorum-loss", "two of three ZooKeeper nodes killed, then restarted", 3, 300, false,
      sc_zk_quorum_loss, false },
    { "zk-data-loss", "a ZooKeeper node loses its data dir and rejoins", 3, 300, false,
      sc_zk_data_loss, false },
    { "disk-full-leader", "the leader's log dir fills up", 3, 300, false, sc_disk_full_leader,
      false },
    { "disk-full-follower", "a follower's log dir fills up", 3, 300, true,
      sc_disk_full_follower, false },
    { "disk-failed-leader", "the leader's log dir becomes unwritable", 3, 300, false,
      sc_disk_failed_leader, false },
    { "disk-failed-follower", "a follower's log dir becomes unwritable", 3, 300, true,
      sc_disk_failed_follower, false },
    { "isr-flap", "a follower throttled just under the produce rate", 3, 600, true,
      sc_isr_flap, false },
    { "latency", "200 ms added to a follower's link", 3, 300, false, sc_latency,
      true },
    { "nemesis", "a seeded random mix of the faults above", 3, 300, false, sc_nemesis, false },
};
const int ft_n_scenarios = (int)(sizeof(ft_scenarios) / sizeof(ft_scenarios[0]));

const ft_scenario_t *ft_scenario_find(const char *name)
{
    for (int i = 0; i < ft_n_scenarios; i++)
        if (strcmp(ft_scenarios[i].name, name) == 0)
            return &ft_scenarios[i];
    return NULL;
}
