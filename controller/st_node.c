/* A broker's presence in the cluster (st_controller.h): the ZooKeeper session, persistent
 * paths, /cluster/id, broker id generation, the checked-ephemeral registration whose czxid is
 * the broker epoch, session-expiry recovery, and the node thread's event loop on which the
 * controller runs. libzookeeper_mt and the channel's I/O thread only post to the mailbox here.
 *
 * Node thread loop: wait on the mailbox with a timeout that is the earliest timer due (a
 * session reopen or registration retry, a channel retry, the auto-rebalance check, the 1 s
 * controller probe), run posted closures in order, then the timers that are due. Nothing on
 * this thread sleeps; each ZooKeeper event re-reads what it needs (Kafka KAFKA-5642).
 *
 * Session states (n->session), reference §2.11; every arrow runs on the node thread:
 *   REGISTERED   --EXPIRED event (session_expired: resign, controller unknown)-->  EXPIRED
 *   EXPIRED      --retry timer (session_tick: st_zk_reopen_start)-->              CONNECTING
 *   EXPIRED      --reopen could not start (backoff)-->                             EXPIRED
 *   CONNECTING   --CONNECTED event of the new session-->                           UNREGISTERED
 *   CONNECTING   --EXPIRED event (the new session expired too)-->                  EXPIRED
 *   UNREGISTERED --register_broker ok (session_register: on_broker_epoch, elect)--> REGISTERED
 *   UNREGISTERED --registration failed (backoff) / session expired-->  UNREGISTERED / EXPIRED
 * Retries back off from 100 ms to 2 s, driven by the mailbox wait timeout.
 *
 * Invariants (ctl_node_check, asserted at every transition of the session and of the office):
 *   N1. active => in_office && !resign_pending: the public "I am controller" is never true for
 *       a deposed controller, from the moment its fenced write failed.
 *   N2. in_office => session == REGISTERED: an expired session resigns before anything else.
 *   N3. resign_pending => in_office: a deposition is always finished by ctl_resign (end of the
 *       event in which it happened).
 *   N4. session != REGISTERED => controller_id == -1: without a session we know no controller.
 *   N5. session == REGISTERED => broker_epoch > 0 (the czxid of our own registration), and
 *       each re-registration reports a new, larger broker epoch. */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_error.h"
#include "st_logger.h"

int64_t ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ctl_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void st_node_config_init(st_node_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->broker_id = -1;
    cfg->zk_session_timeout_ms = 18000;
    cfg->auto_leader_rebalance_enable = true;
    cfg->leader_imbalance_per_broker_percentage = 10;
    cfg->leader_imbalance_check_interval_seconds = 300;
}

/* ---- getters (any thread) ----------------------------------------------------------------- */
int32_t st_node_broker_id(const st_node_t *n) { return n->broker_id; }
int64_t st_node_broker_epoch(const st_node_t *n) { return atomic_load(&n->broker_epoch); }
const char *st_node_cluster_id(const st_node_t *n) { return n->cluster_id; }
int32_t st_node_controller_id(const st_node_t *n) { return atomic_load(&n->controller_id); }
bool st_node_is_controller(const st_node_t *n) { return atomic_load(&n->active); }
int32_t st_node_controller_epoch(const st_node_t *n) { return atomic_load(&n->controller_epoch); }
st_zk_t *st_node_zk(st_node_t *n) { return n->zk; }

int st_node_notify_log_dir_failure(st_node_t *n, char *ret_path, size_t ret_path_len)
{
    char *json = st_znode_log_dir_event_encode(n->broker_id, ST_LOG_DIR_EVENT_FAILURE);
    if (!json)
        return -ENOMEM;
    /* ZkData's LogDirEventNotificationZNode: a persistent sequential child that the
     * controller's child watch picks up (and deletes once handled) */
    int r = st_zk_create(n->zk, ST_ZPATH_LOG_DIR_EVENT_PREFIX, json, (int)strlen(json),
                         ZOO_SEQUENCE, ret_path, ret_path_len);
    if (r == -ENOENT && st_zk_ensure_path(n->zk, ST_ZPATH_LOG_DIR_EVENT) == 0)
        r = st_zk_create(n->zk, ST_ZPATH_LOG_DIR_EVENT_PREFIX, json, (int)strlen(json),
                         ZOO_SEQUENCE, ret_path, ret_path_len);
    free(json);
    return r;
}

bool ctl_node_check(const st_node_t *n)
{
    bool active = atomic_load(&n->active);
    if (active && (!n->in_office || n->resign_pending))
        return false;                                           /* N1 */
    if (n->in_office && n->session != SESSION_REGISTERED)
        return false;                                           /* N2 */
    if (n->resign_pending && !n->in_office)
        return false;                                           /* N3 */
    if (n->session != SESSION_REGISTERED && atomic_load(&n->controller_id) != -1)
        return false;                                           /* N4 */
    if (n->session == SESSION_REGISTERED && atomic_load(&n->broker_epoch) <= 0)
        return false;                                           /* N5 */
    return true;
}

void ctl_deposed(st_node_t *n)
{
    if (!n->in_office || n->resign_pending)
        return;
    n->resign_pending = true;
    atomic_store(&n->active, false);   /* submissions are refused from now on */
    ctl_batch_discard(n);              /* and nothing queued in this event is sent */
    assert(ctl_node_check(n));
}

/* ---- mailbox events ----------------------------------------------------------------------- */
typedef struct zk_ev {
    st_node_t *n;
    st_zk_event_type_t type;
    char path[];
} zk_ev_t;

static bool exiting(st_node_t *n) { return atomic_load(&n->stop); }

static void session_expired(st_node_t *n);
static void session_register(st_node_t *n);

/* Node thread. */
static void zk_ev_run(void *arg)
{
    zk_ev_t *ev = arg;
    st_node_t *n = ev->n;
    if (!exiting(n)) {
        if (ev->type == ST_ZK_EV_EXPIRED) {
            /* only the current handle's expiry counts (a stale event of a handle we already
             * replaced finds the new one CONNECTING or CONNECTED) */
            if (st_zk_state(n->zk) == ST_ZK_EXPIRED && n->session != SESSION_EXPIRED)
                session_expired(n);
        } else if (ev->type == ST_ZK_EV_CONNECTED && n->session == SESSION_CONNECTING) {
            n->session = SESSION_UNREGISTERED;
            n->session_retry_ms = ctl_now_ms();
            assert(ctl_node_check(n));
            session_register(n);
        } else if (n->session == SESSION_REGISTERED) {
            ctl_on_zk_event(n, ev->type, ev->path);
        }
        ctl_end_event(n);
    }
    free(ev);
}

/* libzookeeper_mt's completion thread: post only. */
static void zk_event_cb(void *arg, st_zk_event_type_t type, const char *path)
{
    st_node_t *n = arg;
    size_t len = strlen(path ? path : "");
    zk_ev_t *ev = malloc(sizeof(*ev) + len + 1);
    if (!ev)
        return;
    ev->n = n;
    ev->type = type;
    memcpy(ev->path, path ? path : "", len + 1);
    if (st_mailbox_post(n->mb, zk_ev_run, ev) < 0)
        free(ev);
}

/* ---- registration -------------------------------------------------------------------------- */

static int ensure_paths(st_node_t *n, char *errbuf, size_t errlen)
{
    for (size_t i = 0; st_znode_persistent_paths[i]; i++) {
        int r = st_zk_ensure_path(n->zk, st_znode_persistent_paths[i]);
        if (r < 0) {
            snprintf(errbuf, errlen, "cannot create %s in ZooKeeper (%s): %s",
                     st_znode_persistent_paths[i], st_zk_ensemble(n->zk), st_zk_strerror(r));
            return r;
        }
    }
    return 0;
}

static int load_cluster_id(st_node_t *n, char *errbuf, size_t errlen)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        char *data = NULL;
        int len = 0;
        int r = st_zk_get(n->zk, ST_ZPATH_CLUSTER_ID, false, &data, &len, NULL);
        if (r == 0) {
            char *id = NULL;
            r = st_znode_cluster_id_decode(ST_ZPATH_CLUSTER_ID, data, data ? (size_t)len : 0, &id,
                                           errbuf, errlen);
            free(data);
            if (r < 0)
                return r;
            snprintf(n->cluster_id, sizeof(n->cluster_id), "%s", id);
            free(id);
            return 0;
        }
        if (r != -ENOENT) {
            snprintf(errbuf, errlen, "cannot read %s: %s", ST_ZPATH_CLUSTER_ID, st_zk_strerror(r));
            return r;
        }
        char gen[32];
        r = st_cluster_id_generate(gen, sizeof(gen));
        if (r < 0) {
            snprintf(errbuf, errlen, "cannot generate a cluster id: %s", strerror(-r));
            return r;
        }
        char *json = st_znode_cluster_id_encode(gen);
        if (!json)
            return -ENOMEM;
        st_zk_ensure_path(n->zk, "/cluster");
        r = st_zk_create(n->zk, ST_ZPATH_CLUSTER_ID, json, (int)strlen(json), 0, NULL, 0);
        free(json);
        if (r == 0) {
            snprintf(n->cluster_id, sizeof(n->cluster_id), "%s", gen);
            ST_INFO("Created cluster id %s in ZooKeeper", gen);
            return 0;
        }
        if (r != -EEXIST) {
            snprintf(errbuf, errlen, "cannot create %s: %s", ST_ZPATH_CLUSTER_ID, st_zk_strerror(r));
            return r;
        }
        /* another broker won the race: read theirs */
    }
    snprintf(errbuf, errlen, "cannot settle %s", ST_ZPATH_CLUSTER_ID);
    return -EIO;
}

static int generate_broker_id(st_node_t *n, char *errbuf, size_t errlen)
{
    struct Stat st;
    int r = st_zk_set(n->zk, ST_ZPATH_BROKERS_SEQID, "", 0, -1, &st);
    if (r < 0) {
        snprintf(errbuf, errlen, "cannot generate a broker id from %s: %s", ST_ZPATH_BROKERS_SEQID,
                 st_zk_strerror(r));
        return r;
    }
    n->broker_id = ST_BROKER_ID_RESERVED_MAX + st.version;
    ST_INFO("Generated broker id %d from %s (version %d)", n->broker_id, ST_ZPATH_BROKERS_SEQID,
            st.version);
    return 0;
}

/* True if the registration `data` advertises exactly the endpoints this node advertises.
 * This process has already bound those listeners (main.c binds before registering), so nobody
 * else can be serving on them: a registration naming them is a dead incarnation of this broker
 * (SIGKILLed and restarted before ZooKeeper expired its session). Two machines advertising the
 * same host:port under the same broker.id would be indistinguishable to clients anyway. */
static bool reg_is_ours(const st_node_t *n, const char *path, const char *data, int len)
{
    st_broker_reg_t reg;
    char err[256];
    if (st_znode_broker_decode(path, data, data ? (size_t)len : 0, &reg, err, sizeof(err)) < 0)
        return false;
    bool same = reg.n_endpoints == n->cfg.n_listeners && reg.n_endpoints > 0;
    for (size_t i = 0; same && i < reg.n_endpoints; i++) {
        const st_endpoint_t *e = &reg.endpoints[i];
        const st_node_listener_t *l = &n->cfg.listeners[i];
        same = e->listener && e->host && l->name && l->host && strcmp(e->listener, l->name) == 0 &&
               strcmp(e->host, l->host) == 0 && e->port == l->port;
    }
    st_broker_reg_free(&reg);
    return same;
}

/* Kafka's CheckedEphemeral: our znode from this session is fine, one left by our previous
 * session (after a reopen) is replaced, anyone else's is an error naming the holder -- except
 * one left by a previous process of this very broker (reg_is_ours), which is replaced in one
 * multi (delete at its version + create), so that the controller sees the same id with a new
 * czxid at once: a bounce (KIP-380), handled as a failure plus a startup, instead of a broker
 * that cannot start until the old session expires. */
static int register_broker(st_node_t *n, char *errbuf, size_t errlen)
{
    char path[64];
    st_zpath_broker(path, sizeof(path), n->broker_id);
    int len = (int)strlen(n->reg_json);
    for (int attempt = 0; attempt < 3; attempt++) {
        int r = st_zk_create(n->zk, path, n->reg_json, len, ZOO_EPHEMERAL, NULL, 0);
        struct Stat st;
        if (r == 0 || r == -EEXIST) {
            int e = st_zk_exists(n->zk, path, false, &st);
            if (e == -ENOENT)
                continue;
            if (e < 0) {
                snprintf(errbuf, errlen, "cannot read %s: %s", path, st_zk_strerror(e));
                return e;
            }
            int64_t owner = st.ephemeralOwner;
            if (owner == st_zk_session_id(n->zk)) {
                assert(st.czxid > atomic_load(&n->broker_epoch) && "N5: a new broker epoch");
                atomic_store(&n->broker_epoch, st.czxid);
                ST_INFO("Registered broker %d at path %s with czxid (broker epoch) %" PRId64,
                        n->broker_id, path, (int64_t)st.czxid);
                return 0;
            }
            bool ours_before = false;
            for (size_t i = 0; i < n->n_prev_sessions; i++)
                ours_before |= owner != 0 && owner == n->prev_sessions[i];
            if (ours_before) {
                ST_INFO("Deleting %s left by our previous ZooKeeper session 0x%" PRIx64, path,
                        (uint64_t)owner);
                st_zk_delete(n->zk, path, -1);
                continue;
            }
            char *data = NULL;
            int dlen = 0;
            char holder[512] = "unknown endpoints";
            struct Stat gst;
            if (st_zk_get(n->zk, path, false, &data, &dlen, &gst) == 0) {
                if (owner != 0 && gst.ephemeralOwner == owner && reg_is_ours(n, path, data, dlen)) {
                    free(data);
                    ST_WARN("%s is held by ZooKeeper session 0x%" PRIx64 " of a previous process "
                            "of this broker (same endpoints, which this process holds now): "
                            "replacing it", path, (uint64_t)owner);
                    zoo_op_t ops[2];
                    zoo_op_result_t res[2];
                    zoo_delete_op_init(&ops[0], path, gst.version);
                    zoo_create_op_init(&ops[1], path, n->reg_json, len, &ZOO_OPEN_ACL_UNSAFE,
                                       ZOO_EPHEMERAL, NULL, 0);
                    int mr = st_zk_multi(n->zk, 2, ops, res, NULL);
                    if (mr < 0)
                        ST_WARN("Replacing %s: %s; trying again", path, st_zk_strerror(mr));
                    continue;   /* the next attempt finds our znode (or whatever is there) */
                }
                st_broker_reg_t reg;
                char derr[256];
                if (st_znode_broker_decode(path, data, data ? (size_t)dlen : 0, &reg, derr,
                                           sizeof(derr)) == 0) {
                    st_broker_reg_describe(&reg, holder, sizeof(holder));
                    st_broker_reg_free(&reg);
                }
                free(data);
            }
            snprintf(errbuf, errlen,
                     "broker.id %d is already registered in ZooKeeper (%s) by a live broker at %s "
                     "(session 0x%" PRIx64 "): choose another broker.id or stop that broker",
                     n->broker_id, path, holder, (uint64_t)owner);
            return -EEXIST;
        }
        snprintf(errbuf, errlen, "cannot register %s: %s", path, st_zk_strerror(r));
        return r;
    }
    snprintf(errbuf, errlen, "cannot register %s: it keeps changing", path);
    return -EIO;
}

static char *build_reg_json(st_node_t *n)
{
    st_endpoint_t *eps = calloc(n->cfg.n_listeners ? n->cfg.n_listeners : 1, sizeof(*eps));
    if (!eps)
        return NULL;
    for (size_t i = 0; i < n->cfg.n_listeners; i++) {
        eps[i].listener = (char *)n->cfg.listeners[i].name;
        eps[i].security_protocol = (char *)n->cfg.listeners[i].security_protocol;
        eps[i].host = (char *)n->cfg.listeners[i].host;
        eps[i].port = n->cfg.listeners[i].port;
    }
    st_broker_reg_t reg = { .id = n->broker_id, .version = 5, .endpoints = eps,
                            .n_endpoints = n->cfg.n_listeners, .rack = (char *)n->cfg.rack,
                            .timestamp_ms = ctl_wall_ms(), .jmx_port = -1 };
    char *json = st_znode_broker_encode(&reg);
    free(eps);
    return json;
}

/* ---- session recovery (node thread) ---------------------------------------------------------- */

static void session_backoff(st_node_t *n)
{
    int shift = n->session_attempts < 5 ? n->session_attempts : 5;
    int64_t delay = 100LL << shift;
    n->session_retry_ms = ctl_now_ms() + (delay > 2000 ? 2000 : delay);
    n->session_attempts++;
}

/* The session expired: resign at once (Kafka's Expire event, processed before anything else
 * the new session brings), forget the controller, and reopen as soon as the timer runs. */
static void session_expired(st_node_t *n)
{
    int64_t sid = st_zk_session_id(n->zk);
    ST_WARN("ZooKeeper session 0x%" PRIx64 " expired: resigning and re-registering broker %d",
            (uint64_t)sid, n->broker_id);
    if (n->in_office) {
        n->resign_pending = false;
        ctl_resign(n, "ZooKeeper session expired");
    }
    if (n->session == SESSION_REGISTERED)
        n->expired_at_ms = ctl_now_ms();
    if (sid) {
        memmove(&n->prev_sessions[1], &n->prev_sessions[0],
                (CTL_PREV_SESSIONS - 1) * sizeof(n->prev_sessions[0]));
        n->prev_sessions[0] = sid;
        if (n->n_prev_sessions < CTL_PREV_SESSIONS)
            n->n_prev_sessions++;
    }
    n->session = SESSION_EXPIRED;
    n->session_attempts = 0;
    n->session_retry_ms = ctl_now_ms();
    if (atomic_load(&n->controller_id) != -1) {
        atomic_store(&n->controller_id, -1);
        if (n->cfg.on_controller_change)
            n->cfg.on_controller_change(n->cfg.cb_arg, -1, atomic_load(&n->controller_epoch));
    }
    assert(ctl_node_check(n));
}

/* UNREGISTERED: register (CheckedEphemeral), report the new broker epoch, stand again. */
static void session_register(st_node_t *n)
{
    char err[512];
    int r = register_broker(n, err, sizeof(err));
    if (r < 0) {
        if (st_zk_state(n->zk) == ST_ZK_EXPIRED) {
            session_expired(n);   /* expired again before we could register */
            return;
        }
        ST_ERROR("Re-registration of broker %d after session expiry failed: %s; retrying",
                 n->broker_id, err);
        session_backoff(n);
        return;
    }
    n->session = SESSION_REGISTERED;
    n->session_attempts = 0;
    assert(ctl_node_check(n));
    ST_INFO("Broker %d re-registered %" PRId64 " ms after its session expired (new broker epoch "
            "%" PRId64 ")", n->broker_id, ctl_now_ms() - n->expired_at_ms,
            (int64_t)atomic_load(&n->broker_epoch));
    if (n->cfg.on_broker_epoch)
        n->cfg.on_broker_epoch(n->cfg.cb_arg, atomic_load(&n->broker_epoch));
    ctl_config_changes(n, false);   /* the watch is gone with the old session; catch up */
    ctl_elect(n);
}

/* The session timers: returns when this should run next (INT64_MAX: nothing due). */
static int64_t session_tick(st_node_t *n, int64_t now)
{
    if (n->session == SESSION_REGISTERED)
        return INT64_MAX;
    if (now < n->session_retry_ms)
        return n->session_retry_ms;
    char err[512];
    switch (n->session) {
    case SESSION_EXPIRED:
        if (st_zk_reopen_start(n->zk, err, sizeof(err)) == 0) {
            n->session = SESSION_CONNECTING;
            /* libzookeeper_mt keeps trying the ensemble; we only log if it takes long */
            n->session_retry_ms = now + (n->cfg.zk_connection_timeout_ms > 0
                                             ? n->cfg.zk_connection_timeout_ms
                                             : n->cfg.zk_session_timeout_ms);
        } else {
            ST_ERROR("Cannot start a new ZooKeeper session for broker %d: %s; retrying",
                     n->broker_id, err);
            session_backoff(n);
        }
        break;
    case SESSION_CONNECTING:
        ST_WARN("Broker %d: still connecting to ZooKeeper %s after its session expired",
                n->broker_id, st_zk_ensemble(n->zk));
        n->session_retry_ms = now + 5000;
        break;
    case SESSION_UNREGISTERED:
        session_register(n);
        ctl_end_event(n);
        break;
    case SESSION_REGISTERED:
        break;
    }
    assert(ctl_node_check(n));
    return n->session == SESSION_REGISTERED ? INT64_MAX : n->session_retry_ms;
}

/* ---- the node thread -------------------------------------------------------------------- */

static void *node_main(void *arg)
{
    st_node_t *n = arg;
    ctl_config_changes(n, true);
    if (atomic_load(&n->stand))
        ctl_elect(n);
    ctl_end_event(n);
    int64_t last_probe = ctl_now_ms();
    while (!exiting(n)) {
        int64_t now = ctl_now_ms();
        int64_t next = now + 1000;
        if (n->session != SESSION_REGISTERED) {
            int64_t due = session_tick(n, now);
            if (due < next)
                next = due;
        } else if (atomic_load(&n->active)) {
            int64_t due = ctl_channel_tick(n, now);
            if (due < next)
                next = due;
            if (n->next_rebalance_ms) {
                if (now >= n->next_rebalance_ms) {
                    ctl_auto_rebalance(n);
                    ctl_end_event(n);
                }
                if (n->next_rebalance_ms && n->next_rebalance_ms < next)
                    next = n->next_rebalance_ms;
            }
        } else if (atomic_load(&n->stand) && atomic_load(&n->controller_id) < 0 &&
                   now - last_probe >= 1000 && st_zk_state(n->zk) == ST_ZK_CONNECTED) {
            /* a missed /controller watch must not leave the cluster without a controller */
            last_probe = now;
            ctl_elect(n);
            ctl_end_event(n);
        }
        now = ctl_now_ms();
        int timeout = next <= now ? 0 : (int)(next - now);
        st_mailbox_wait(n->mb, timeout);
    }
    ctl_resign(n, "the broker is stopping");
    return NULL;
}

/* ---- start / stop -------------------------------------------------------------------------- */

static const char *own(st_node_t *n, const char *s)
{
    if (!s)
        return NULL;
    char **grown = realloc(n->owned, (n->n_owned + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    n->owned = grown;
    char *d = strdup(s);
    if (d)
        n->owned[n->n_owned++] = d;
    return d;
}

static void node_free(st_node_t *n)
{
    if (!n)
        return;
    if (n->mb) {
        st_mailbox_drain(n->mb);   /* stop is set: closures only free what they carry */
        st_mailbox_free(n->mb, NULL);
    }
    for (size_t i = 0; i < n->n_owned; i++)
        free(n->owned[i]);
    free(n->owned);
    free((void *)n->cfg.listeners);
    free((void *)n->cfg.channel_conf);
    free(n->reg_json);
    free(n);
}

int st_node_start(const st_node_config_t *cfg, st_node_t **ret_node, char *errbuf, size_t errlen)
{
    if (!cfg->zk_connect || !*cfg->zk_connect) {
        snprintf(errbuf, errlen, "zookeeper.connect is required");
        return -EINVAL;
    }
    if (cfg->broker_id < 0 && !cfg->id_generation) {
        snprintf(errbuf, errlen, "broker.id=%d is invalid without broker.id.generation.enable",
                 cfg->broker_id);
        return -EINVAL;
    }
    st_node_t *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->cfg = *cfg;
    n->cfg.zk_connect = own(n, cfg->zk_connect);
    n->cfg.rack = own(n, cfg->rack);
    n->cfg.inter_broker_listener = own(n, cfg->inter_broker_listener);
    st_node_listener_t *ls = calloc(cfg->n_listeners + 1, sizeof(*ls));
    size_t n_conf = 0;
    while (cfg->channel_conf && cfg->channel_conf[n_conf])
        n_conf++;
    const char **cc = calloc(n_conf + 1, sizeof(*cc));
    if (!ls || !cc) {
        free(ls);
        free(cc);
        node_free(n);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        ls[i].name = own(n, cfg->listeners[i].name);
        ls[i].security_protocol = own(n, cfg->listeners[i].security_protocol);
        ls[i].host = own(n, cfg->listeners[i].host);
        ls[i].port = cfg->listeners[i].port;
    }
    for (size_t i = 0; i < n_conf; i++)
        cc[i] = own(n, cfg->channel_conf[i]);
    n->cfg.listeners = ls;
    n->cfg.channel_conf = cc;
    if (n->cfg.leader_imbalance_check_interval_seconds <= 0)
        n->cfg.leader_imbalance_check_interval_seconds = 300;
    if (n->cfg.auto_rebalance_first_check_ms <= 0)
        n->cfg.auto_rebalance_first_check_ms = 5000;
    if (n->cfg.channel_retry_backoff_ms <= 0)
        n->cfg.channel_retry_backoff_ms = 100;
    atomic_init(&n->controller_id, -1);
    atomic_init(&n->controller_epoch, 0);
    atomic_init(&n->active, false);
    atomic_init(&n->stop, false);
    atomic_init(&n->stand, !cfg->no_candidacy);
    atomic_init(&n->broker_epoch, -1);
    atomic_init(&n->unclean_default, cfg->unclean_leader_election_enable);
    n->config_seq = -1;
    n->session = SESSION_REGISTERED;   /* once st_node_start returns (N5 holds from then on) */
    n->broker_id = cfg->broker_id;

    int r = st_mailbox_new(&n->mb);
    if (r < 0) {
        snprintf(errbuf, errlen, "cannot create the node mailbox");
        node_free(n);
        return r;
    }
    st_zk_config_t zc = { .connect = n->cfg.zk_connect,
                          .session_timeout_ms = cfg->zk_session_timeout_ms,
                          .connection_timeout_ms = cfg->zk_connection_timeout_ms,
                          .on_event = zk_event_cb, .event_arg = n };
    r = st_zk_open(&zc, &n->zk, errbuf, errlen);
    if (r < 0) {
        node_free(n);
        return r;
    }
    r = ensure_paths(n, errbuf, errlen);
    if (r == 0)
        r = load_cluster_id(n, errbuf, errlen);
    if (r == 0 && n->broker_id < 0)
        r = generate_broker_id(n, errbuf, errlen);
    if (r == 0) {
        n->reg_json = build_reg_json(n);
        if (!n->reg_json) {
            snprintf(errbuf, errlen, "cannot encode the broker registration (listeners?)");
            r = -EINVAL;
        }
    }
    if (r == 0)
        r = register_broker(n, errbuf, errlen);
    if (r == 0 && pthread_create(&n->thread, NULL, node_main, n) != 0) {
        snprintf(errbuf, errlen, "cannot start the controller thread");
        r = -EAGAIN;
    }
    if (r < 0) {
        atomic_store(&n->stop, true);
        st_zk_close(n->zk);
        node_free(n);
        return r;
    }
    n->thread_started = true;
    *ret_node = n;
    return 0;
}

static void wake(void *arg) { (void)arg; }

void st_node_stop(st_node_t *n)
{
    if (!n)
        return;
    atomic_store(&n->stop, true);
    st_mailbox_post(n->mb, wake, NULL);
    if (n->thread_started)
        pthread_join(n->thread, NULL);
    st_zk_close(n->zk);
    n->zk = NULL;
    node_free(n);
}

/* ---- candidacy ------------------------------------------------------------------------------ */

static void candidacy_run(void *arg)
{
    st_node_t *n = arg;
    if (exiting(n))
        return;
    if (atomic_load(&n->stand))
        ctl_elect(n);
    else
        ctl_resign(n, "candidacy withdrawn");
    ctl_end_event(n);
}

void st_node_set_unclean_leader_election(st_node_t *n, bool enable)
{
    atomic_store(&n->unclean_default, enable);
}

void st_node_candidacy(st_node_t *n, bool stand)
{
    atomic_store(&n->stand, stand);
    st_mailbox_post(n->mb, candidacy_run, n);
}

/* ---- submissions --------------------------------------------------------------------------- */


static void submit_run(void *arg)
{
    ctl_submit_t *s = arg;
    st_node_t *n = s->n;
    if (exiting(n) || !atomic_load(&n->active)) {
        ctl_submit_not_controller(s);
    } else {
        ctl_submit_run(n, s);
        ctl_end_event(n);
    }
    ctl_submit_free(s);
}

static int submit(st_node_t *n, int kind, const ProtobufCMessage *req, void *done, void *arg)
{
    if (!atomic_load(&n->active) || exiting(n))
        return -ENOTCONN;
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return -ENOMEM;
    protobuf_c_message_pack(req, buf);
    ctl_submit_t *s = calloc(1, sizeof(*s));
    if (s)
        s->req = protobuf_c_message_unpack(req->descriptor, NULL, len, buf);
    free(buf);
    if (!s || !s->req) {
        free(s);
        return -ENOMEM;
    }
    s->n = n;
    s->kind = kind;
    s->done = done;
    s->arg = arg;
    if (st_mailbox_post(n->mb, submit_run, s) < 0) {
        ctl_submit_free(s);
        return -ENOMEM;
    }
    return 0;
}

int st_node_submit_elect_leaders(st_node_t *n, const Strand__ElectLeadersRequest *req,
                                 st_node_elect_done_fn *done, void *arg)
{
    return submit(n, STRAND__API_KEY__ELECT_LEADERS, &req->base, (void *)done, arg);
}

int st_node_submit_controlled_shutdown(st_node_t *n, const Strand__ControlledShutdownRequest *req,
                                       st_node_shutdown_done_fn *done, void *arg)
{
    return submit(n, STRAND__API_KEY__CONTROLLED_SHUTDOWN, &req->base, (void *)done, arg);
}

int st_node_submit_alter_isr(st_node_t *n, const Strand__AlterIsrRequest *req,
                             st_node_alter_isr_done_fn *done, void *arg)
{
    return submit(n, STRAND__API_KEY__ALTER_ISR, &req->base, (void *)done, arg);
}
