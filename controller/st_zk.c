/* The ZooKeeper session wrapper (st_zk.h): opening a session (creating the chroot first),
 * waiting for it within the connection timeout, session-state tracking from the global
 * watcher, synchronous calls with ZooKeeper's codes mapped onto -errno, and re-opening after
 * expiry.
 *
 * Invariants (under zk->lock):
 *   Z1. zh != NULL from a successful open until st_zk_close.
 *   Z2. state == ST_ZK_EXPIRED only after the watcher saw ZOO_EXPIRED_SESSION_STATE for the
 *       current zh (events of a closed handle are ignored: `gen` tags them).
 *   Z3. session_id is the id of zh's session once state reached CONNECTED.
 * zk->rw is held shared by every call that uses zh and exclusively by st_zk_reopen and
 * st_zk_close while they swap or free the handle, so no call ever uses a freed handle. */
#include "st_zk.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GET_BUF_INITIAL (16 * 1024)

struct st_zk {
    st_zk_config_t cfg;
    char *connect;            /* owned copy of cfg.connect */
    char *ensemble;           /* hosts only */
    char *chroot;             /* "" or "/path" */
    pthread_rwlock_t rw;      /* see the header comment */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    zhandle_t *zh;
    st_zk_state_t state;
    int64_t session_id;
    unsigned gen;             /* bumped for every new handle */
};

/* The watcher context: which st_zk and which handle generation the events belong to. */
typedef struct zk_watch_ctx {
    st_zk_t *zk;
    unsigned gen;
} zk_watch_ctx_t;

static int map_rc(int rc)
{
    switch (rc) {
    case ZOK: return 0;
    case ZNONODE: return -ENOENT;
    case ZNODEEXISTS: return -EEXIST;
    case ZBADVERSION: return -ESTALE;
    case ZNOTEMPTY: return -ENOTEMPTY;
    case ZNOCHILDRENFOREPHEMERALS: return -EPERM;
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT: return -ETIMEDOUT;
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:
    case ZCLOSING: return -ESHUTDOWN;
    case ZBADARGUMENTS: return -EINVAL;
    case ZNOAUTH:
    case ZAUTHFAILED: return -EACCES;
    case ZNOTHING: return -ENODATA;
    default: return -EIO;
    }
}

const char *st_zk_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case -ENOENT: return "no such znode";
    case -EEXIST: return "znode already exists";
    case -ESTALE: return "bad version (the znode changed)";
    case -ENOTEMPTY: return "znode has children";
    case -EPERM: return "ephemeral znodes cannot have children";
    case -ETIMEDOUT: return "connection to ZooKeeper lost or timed out";
    case -ESHUTDOWN: return "ZooKeeper session expired or closed";
    case -EINVAL: return "bad arguments";
    case -EACCES: return "not authorised";
    case -ENOMEM: return "out of memory";
    case -EBADMSG: return "malformed znode data";
    default: return "ZooKeeper error";
    }
}

/* libzookeeper_mt's completion thread. Tracks the session state for our waiters and forwards
 * the event; never calls back into ZooKeeper. */
static void global_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    zk_watch_ctx_t *wc = ctx;
    st_zk_t *zk = wc->zk;
    st_zk_event_type_t ev = 0;

    pthread_mutex_lock(&zk->lock);
    bool current = wc->gen == zk->gen;
    if (current && type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE) {
            zk->state = ST_ZK_CONNECTED;
            /* the event's own handle: zk->zh may not be set yet (st_zk_reopen_start) */
            const clientid_t *cid = zh ? zoo_client_id(zh) : NULL;
            zk->session_id = cid ? cid->client_id : 0;
            ev = ST_ZK_EV_CONNECTED;
        } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
            zk->state = ST_ZK_EXPIRED;
            ev = ST_ZK_EV_EXPIRED;
        } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
            if (zk->state == ST_ZK_CONNECTED) {
                zk->state = ST_ZK_CONNECTING;
                ev = ST_ZK_EV_DISCONNECTED;
            }
        }
        assert(zk->state != ST_ZK_CONNECTED || zk->session_id != 0);   /* Z3 */
        pthread_cond_broadcast(&zk->cond);
    } else if (current) {
        if (type == ZOO_CREATED_EVENT)
            ev = ST_ZK_EV_CREATED;
        else if (type == ZOO_DELETED_EVENT)
            ev = ST_ZK_EV_DELETED;
        else if (type == ZOO_CHANGED_EVENT)
            ev = ST_ZK_EV_DATA_CHANGED;
        else if (type == ZOO_CHILD_EVENT)
            ev = ST_ZK_EV_CHILDREN_CHANGED;
    }
    pthread_mutex_unlock(&zk->lock);
    if (ev && zk->cfg.on_event)
        zk->cfg.on_event(zk->cfg.event_arg, ev, type == ZOO_SESSION_EVENT ? "" : (path ? path : ""));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts a handle for `hosts` (with or without chroot) without waiting: zk->zh is set and the
 * state is CONNECTING. Called with zk->rw held exclusively (or before the st_zk is shared). */
static int start_handle(st_zk_t *zk, const char *hosts, char *errbuf, size_t errlen)
{
    pthread_mutex_lock(&zk->lock);
    zk->gen++;
    zk->state = ST_ZK_CONNECTING;
    zk->session_id = 0;
    unsigned gen = zk->gen;
    pthread_mutex_unlock(&zk->lock);

    zk_watch_ctx_t *wc = malloc(sizeof(*wc));
    if (!wc)
        return -ENOMEM;
    wc->zk = zk;
    wc->gen = gen;
    zhandle_t *zh = zookeeper_init(hosts, global_watcher, zk->cfg.session_timeout_ms, NULL, wc, 0);
    if (!zh) {
        int r = -errno;
        free(wc);
        snprintf(errbuf, errlen, "cannot start a ZooKeeper session for '%s': %s", hosts,
                 strerror(r ? -r : EINVAL));
        return r ? r : -EINVAL;
    }
    /* By default the C client re-resolves the ensemble's host names every time it polls its
     * socket (a netlink dump and a /dev/urandom read per answer): at 10,000 pipelined reads
     * that is most of the cost. Once a second is plenty to notice a DNS change. */
    zoo_set_servers_resolution_delay(zh, 1000);
    pthread_mutex_lock(&zk->lock);
    zk->zh = zh;
    pthread_mutex_unlock(&zk->lock);
    return 0;
}

/* Starts a handle and waits until it is connected (the connection timeout). Same locking. */
static int connect_handle(st_zk_t *zk, const char *hosts, char *errbuf, size_t errlen)
{
    int r = start_handle(zk, hosts, errbuf, errlen);
    if (r < 0)
        return r;
    pthread_mutex_lock(&zk->lock);
    zhandle_t *zh = zk->zh;
    int timeout = zk->cfg.connection_timeout_ms > 0 ? zk->cfg.connection_timeout_ms
                                                    : zk->cfg.session_timeout_ms;
    int64_t deadline = now_ms() + timeout;
    while (zk->state == ST_ZK_CONNECTING) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (left % 1000) * 1000000;
        ts.tv_sec += left / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&zk->cond, &zk->lock, &ts);
    }
    if (zk->state == ST_ZK_CONNECTED) {
        const clientid_t *cid = zoo_client_id(zh);
        zk->session_id = cid ? cid->client_id : zk->session_id;
    }
    bool ok = zk->state == ST_ZK_CONNECTED;
    if (!ok) {
        zk->zh = NULL;
        zk->gen++;   /* late events of this handle are ignored */
    }
    pthread_mutex_unlock(&zk->lock);
    if (!ok) {
        void *wc = (void *)zoo_get_context(zh);
        zookeeper_close(zh);
        /* wc may still be referenced by a callback in flight until zookeeper_close returns;
         * after it no callback runs. */
        free(wc);
        snprintf(errbuf, errlen, "could not connect to ZooKeeper ensemble %s within %d ms "
                 "(zookeeper.connection.timeout.ms)", zk->ensemble, timeout);
        return -ETIMEDOUT;
    }
    /* wc lives as long as the handle: freed by close_handle through zoo_get_context. */
    return 0;
}

static void close_handle(st_zk_t *zk)
{
    pthread_mutex_lock(&zk->lock);
    zhandle_t *zh = zk->zh;
    zk->zh = NULL;
    zk->gen++;
    pthread_mutex_unlock(&zk->lock);
    if (zh) {
        void *wc = (void *)zoo_get_context(zh);
        zookeeper_close(zh);
        free(wc);
    }
}

/* Splits "h1:p1,h2:p2/chroot" into ensemble and chroot. */
static int split_connect(st_zk_t *zk, const char *connect)
{
    const char *slash = strchr(connect, '/');
    zk->ensemble = slash ? strndup(connect, (size_t)(slash - connect)) : strdup(connect);
    zk->chroot = strdup(slash ? slash : "");
    if (!zk->ensemble || !zk->chroot)
        return -ENOMEM;
    size_t n = strlen(zk->chroot);
    while (n > 1 && zk->chroot[n - 1] == '/')
        zk->chroot[--n] = '\0';
    if (strcmp(zk->chroot, "/") == 0)
        zk->chroot[0] = '\0';
    return 0;
}

static bool valid_path(const char *path)
{
    return path && path[0] == '/' && (path[1] == '\0' || path[strlen(path) - 1] != '/') &&
           !strstr(path, "//");
}

static void set_log_level(void)
{
    /* The C client logs an error line for every failed connection attempt (about 15 a second
     * while the ensemble is down). Its own log is off; the owners log the session transitions
     * they are told about (CONNECTED, DISCONNECTED, EXPIRED), once each. 0 disables. */
    zoo_set_debug_level((ZooLogLevel)0);
}

int st_zk_open(const st_zk_config_t *cfg, st_zk_t **ret_zk, char *errbuf, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, set_log_level);

    if (!cfg->connect || !cfg->connect[0]) {
        snprintf(errbuf, errlen, "zookeeper.connect is empty");
        return -EINVAL;
    }
    st_zk_t *zk = calloc(1, sizeof(*zk));
    if (!zk)
        return -ENOMEM;
    zk->cfg = *cfg;
    zk->connect = strdup(cfg->connect);
    pthread_rwlock_init(&zk->rw, NULL);
    pthread_mutex_init(&zk->lock, NULL);
    pthread_cond_init(&zk->cond, NULL);
    int r = zk->connect ? split_connect(zk, cfg->connect) : -ENOMEM;
    if (r == 0 && zk->chroot[0] && !valid_path(zk->chroot)) {
        snprintf(errbuf, errlen, "zookeeper.connect=%s: invalid chroot '%s'", cfg->connect,
                 zk->chroot);
        r = -EINVAL;
    }
    if (r == 0 && zk->chroot[0]) {
        /* Create the chroot through a session without it, as Kafka does. */
        r = connect_handle(zk, zk->ensemble, errbuf, errlen);
        if (r == 0) {
            r = st_zk_ensure_path(zk, zk->chroot);
            if (r < 0)
                snprintf(errbuf, errlen, "cannot create the chroot %s on %s: %s", zk->chroot,
                         zk->ensemble, st_zk_strerror(r));
            close_handle(zk);
        }
    }
    if (r == 0)
        r = connect_handle(zk, zk->connect, errbuf, errlen);
    if (r < 0) {
        st_zk_close(zk);
        return r;
    }
    *ret_zk = zk;
    return 0;
}

int st_zk_reopen(st_zk_t *zk, char *errbuf, size_t errlen)
{
    pthread_rwlock_wrlock(&zk->rw);
    close_handle(zk);
    int r = connect_handle(zk, zk->connect, errbuf, errlen);
    pthread_rwlock_unlock(&zk->rw);
    return r;
}

int st_zk_reopen_start(st_zk_t *zk, char *errbuf, size_t errlen)
{
    pthread_rwlock_wrlock(&zk->rw);
    close_handle(zk);
    int r = start_handle(zk, zk->connect, errbuf, errlen);
    pthread_rwlock_unlock(&zk->rw);
    return r;
}

void st_zk_close(st_zk_t *zk)
{
    if (!zk)
        return;
    pthread_rwlock_wrlock(&zk->rw);
    close_handle(zk);
    pthread_rwlock_unlock(&zk->rw);
    pthread_rwlock_destroy(&zk->rw);
    pthread_mutex_destroy(&zk->lock);
    pthread_cond_destroy(&zk->cond);
    free(zk->connect);
    free(zk->ensemble);
    free(zk->chroot);
    free(zk);
}

st_zk_state_t st_zk_state(const st_zk_t *zk)
{
    st_zk_t *z = (st_zk_t *)zk;
    pthread_mutex_lock(&z->lock);
    st_zk_state_t s = z->state;
    pthread_mutex_unlock(&z->lock);
    return s;
}

int64_t st_zk_session_id(const st_zk_t *zk)
{
    st_zk_t *z = (st_zk_t *)zk;
    pthread_mutex_lock(&z->lock);
    int64_t id = z->session_id;
    pthread_mutex_unlock(&z->lock);
    return id;
}

const char *st_zk_ensemble(const st_zk_t *zk) { return zk->ensemble; }
const char *st_zk_chroot(const st_zk_t *zk) { return zk->chroot; }
zhandle_t *st_zk_handle(st_zk_t *zk) { return zk->zh; }

/* Every call: the handle under the shared lock, -ESHUTDOWN when there is none. */
#define WITH_HANDLE(zk, zh)                                                                     \
    pthread_rwlock_rdlock(&(zk)->rw);                                                           \
    zhandle_t *zh = (zk)->zh;                                                                   \
    if (!zh) {                                                                                  \
        pthread_rwlock_unlock(&(zk)->rw);                                                       \
        return -ESHUTDOWN;                                                                      \
    }

int st_zk_get(st_zk_t *zk, const char *path, bool watch, char **ret_data, int *ret_len,
              struct Stat *ret_stat)
{
    WITH_HANDLE(zk, zh);
    int cap = GET_BUF_INITIAL;
    char *buf = NULL;
    struct Stat stat;
    int rc, len;
    for (;;) {
        char *nb = realloc(buf, (size_t)cap + 1);
        if (!nb) {
            free(buf);
            pthread_rwlock_unlock(&zk->rw);
            return -ENOMEM;
        }
        buf = nb;
        len = cap;
        rc = zoo_get(zh, path, watch, buf, &len, &stat);
        if (rc != ZOK || stat.dataLength <= cap)
            break;
        cap = stat.dataLength;   /* grew between calls or larger than the first guess */
    }
    pthread_rwlock_unlock(&zk->rw);
    if (rc != ZOK) {
        free(buf);
        return map_rc(rc);
    }
    if (len < 0) {               /* null data */
        free(buf);
        buf = NULL;
        len = 0;
    } else {
        buf[len] = '\0';
    }
    *ret_data = buf;
    if (ret_len)
        *ret_len = len;
    if (ret_stat)
        *ret_stat = stat;
    return 0;
}

int st_zk_exists(st_zk_t *zk, const char *path, bool watch, struct Stat *ret_stat)
{
    WITH_HANDLE(zk, zh);
    struct Stat stat;
    int rc = zoo_exists(zh, path, watch, &stat);
    pthread_rwlock_unlock(&zk->rw);
    if (rc == ZOK && ret_stat)
        *ret_stat = stat;
    return map_rc(rc);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_zk_children(st_zk_t *zk, const char *path, bool watch, char ***ret_names, size_t *ret_n)
{
    WITH_HANDLE(zk, zh);
    struct String_vector sv = { 0, NULL };
    int rc = zoo_get_children(zh, path, watch, &sv);
    pthread_rwlock_unlock(&zk->rw);
    if (rc != ZOK)
        return map_rc(rc);
    char **names = calloc(sv.count > 0 ? (size_t)sv.count : 1, sizeof(char *));
    int r = names ? 0 : -ENOMEM;
    for (int i = 0; r == 0 && i < sv.count; i++) {
        names[i] = strdup(sv.data[i]);
        if (!names[i])
            r = -ENOMEM;
    }
    size_t n = sv.count > 0 ? (size_t)sv.count : 0;
    deallocate_String_vector(&sv);
    if (r < 0) {
        st_zk_free_strings(names, n);
        return r;
    }
    qsort(names, n, sizeof(char *), cmp_str);
    *ret_names = names;
    *ret_n = n;
    return 0;
}

void st_zk_free_strings(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int st_zk_create(st_zk_t *zk, const char *path, const char *data, int len, int flags,
                 char *ret_path, size_t ret_path_len)
{
    WITH_HANDLE(zk, zh);
    char created[1024];
    int rc = zoo_create(zh, path, data, data ? len : -1, &ZOO_OPEN_ACL_UNSAFE, flags, created,
                        (int)sizeof(created));
    pthread_rwlock_unlock(&zk->rw);
    if (rc == ZOK && ret_path)
        snprintf(ret_path, ret_path_len, "%s", created);
    return map_rc(rc);
}

int st_zk_set(st_zk_t *zk, const char *path, const char *data, int len, int version,
              struct Stat *ret_stat)
{
    WITH_HANDLE(zk, zh);
    struct Stat stat;
    int rc = zoo_set2(zh, path, data, data ? len : -1, version, &stat);
    pthread_rwlock_unlock(&zk->rw);
    if (rc == ZOK && ret_stat)
        *ret_stat = stat;
    return map_rc(rc);
}

int st_zk_delete(st_zk_t *zk, const char *path, int version)
{
    WITH_HANDLE(zk, zh);
    int rc = zoo_delete(zh, path, version);
    pthread_rwlock_unlock(&zk->rw);
    return map_rc(rc);
}

int st_zk_delete_recursive(st_zk_t *zk, const char *path)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        char **kids = NULL;
        size_t n = 0;
        int r = st_zk_children(zk, path, false, &kids, &n);
        if (r == -ENOENT)
            return 0;
        if (r < 0)
            return r;
        for (size_t i = 0; r == 0 && i < n; i++) {
            size_t len = strlen(path) + strlen(kids[i]) + 2;
            char *child = malloc(len);
            if (!child) {
                r = -ENOMEM;
                break;
            }
            snprintf(child, len, "%s/%s", strcmp(path, "/") == 0 ? "" : path, kids[i]);
            r = st_zk_delete_recursive(zk, child);
            free(child);
        }
        st_zk_free_strings(kids, n);
        if (r < 0)
            return r;
        r = st_zk_delete(zk, path, -1);
        if (r == 0 || r == -ENOENT)
            return 0;
        if (r != -ENOTEMPTY)   /* a child was added meanwhile: go round again */
            return r;
    }
    return -ENOTEMPTY;
}

int st_zk_ensure_path(st_zk_t *zk, const char *path)
{
    if (!valid_path(path))
        return -EINVAL;
    if (strcmp(path, "/") == 0)
        return 0;
    int r = st_zk_exists(zk, path, false, NULL);
    if (r != -ENOENT)
        return r;
    size_t len = strlen(path);
    char *buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, path, len + 1);
    r = 0;
    for (size_t i = 1; r == 0 && i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        r = st_zk_create(zk, buf, NULL, 0, 0, NULL, 0);
        if (r == -EEXIST)
            r = 0;
        buf[i] = saved;
    }
    free(buf);
    return r;
}

/* True when zh's session is over (expired, or authentication failed): libzookeeper_mt refuses
 * every request then. zoo_amulti (and zoo_multi, which calls it) must not be called in that
 * state: when it cannot build an op's request (Request_path_init fails because the handle is
 * unrecoverable) it has already freed the chroot-prefixed copy of the op's path, frees it again,
 * and frees stale paths of the ops after it (libzookeeper_mt 3.8.0; unchanged upstream) --
 * an abort, "free(): double free detected in tcache 2", in a controller resumed after a pause
 * past its session. The state only moves to expired on the client's I/O thread, so a session
 * that expires between this check and zoo_amulti's own (microseconds) still gets there; every
 * caller that runs after the expiry is seen is refused here. Called under zk->rw. */
static bool session_over(zhandle_t *zh)
{
    int state = zoo_state(zh);
    return state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE;
}

int st_zk_multi(st_zk_t *zk, int n, const zoo_op_t *ops, zoo_op_result_t *results,
                int *ret_failed_index)
{
    if (ret_failed_index)
        *ret_failed_index = -1;
    if (n <= 0)
        return 0;
    WITH_HANDLE(zk, zh);
    if (session_over(zh)) {   /* never zoo_multi on a dead session (session_over) */
        pthread_rwlock_unlock(&zk->rw);
        return -ESHUTDOWN;
    }
    int rc = zoo_multi(zh, n, ops, results);
    pthread_rwlock_unlock(&zk->rw);
    if (rc == ZOK)
        return 0;
    /* The first op whose own result is an error (ZRUNTIMEINCONSISTENCY marks the ops that
     * were rolled back because of another one). */
    for (int i = 0; i < n; i++) {
        if (results[i].err != ZOK && results[i].err != ZRUNTIMEINCONSISTENCY) {
            if (ret_failed_index)
                *ret_failed_index = i;
            return map_rc(results[i].err);
        }
    }
    return map_rc(rc);
}

/* ---- pipelined calls ------------------------------------------------------------------------
 * The batch's shared state lives on the heap with a reference per outstanding request plus one
 * for the waiter, so a waiter that gives up (it never should: libzookeeper_mt completes every
 * request, with ZCONNECTIONLOSS / ZSESSIONEXPIRED / ZCLOSING when it must) leaves nothing the
 * completion thread could touch after it is freed. Completions run on libzookeeper_mt's
 * completion thread: they copy the answer into the caller's slot only while the waiter is still
 * there, count down and signal. */

typedef struct zk_batch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t outstanding;         /* requests issued and not completed */
    size_t wake_at;             /* the waiter sleeps until outstanding <= wake_at */
    bool waiting;
    int refs;                   /* outstanding + the waiter */
    bool abandoned;             /* the waiter left: drop answers */
} zk_batch_t;

typedef struct zk_slot {
    zk_batch_t *b;
    void *out;                  /* st_zk_read_t * or st_zk_multi_t * */
} zk_slot_t;

static zk_batch_t *batch_new(void)
{
    zk_batch_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    b->refs = 1;
    return b;
}

/* Drops one reference; called with b->lock held, which it releases. */
static void batch_unref_unlock(zk_batch_t *b)
{
    bool last = --b->refs == 0;
    pthread_mutex_unlock(&b->lock);
    if (last) {
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->cond);
        free(b);
    }
}

/* Completion side: marks one request done. Called with b->lock held; releases it. */
static void batch_done_unlock(zk_batch_t *b)
{
    b->outstanding--;
    if (b->waiting && b->outstanding <= b->wake_at)
        pthread_cond_signal(&b->cond);   /* one wake-up per wait, not one per answer */
    batch_unref_unlock(b);
}

/* Waits until at most `limit` requests are outstanding (or the deadline passes: -ETIMEDOUT). */
static int batch_wait(zk_batch_t *b, size_t limit, int64_t deadline)
{
    int r = 0;
    pthread_mutex_lock(&b->lock);
    b->wake_at = limit;
    b->waiting = true;
    while (b->outstanding > limit) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            r = -ETIMEDOUT;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (left % 1000) * 1000000;
        ts.tv_sec += left / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&b->cond, &b->lock, &ts);
    }
    b->waiting = false;
    pthread_mutex_unlock(&b->lock);
    return r;
}

/* The waiter leaves: answers still to come are dropped. */
static void batch_leave(zk_batch_t *b)
{
    pthread_mutex_lock(&b->lock);
    b->abandoned = true;
    batch_unref_unlock(b);
}

static void get_completion(int rc, const char *value, int value_len, const struct Stat *stat,
                           const void *data)
{
    zk_slot_t *slot = (zk_slot_t *)data;
    zk_batch_t *b = slot->b;
    pthread_mutex_lock(&b->lock);
    if (!b->abandoned) {
        st_zk_read_t *rd = slot->out;
        rd->rc = map_rc(rc);
        if (rc == ZOK) {
            if (stat)
                rd->stat = *stat;
            if (value && value_len >= 0) {
                rd->data = malloc((size_t)value_len + 1);
                if (rd->data) {
                    memcpy(rd->data, value, (size_t)value_len);
                    rd->data[value_len] = '\0';
                    rd->len = value_len;
                } else {
                    rd->rc = -ENOMEM;
                }
            }
        }
    }
    free(slot);
    batch_done_unlock(b);
}

static void children_completion(int rc, const struct String_vector *sv, const void *data)
{
    zk_slot_t *slot = (zk_slot_t *)data;
    zk_batch_t *b = slot->b;
    pthread_mutex_lock(&b->lock);
    if (!b->abandoned) {
        st_zk_read_t *rd = slot->out;
        rd->rc = map_rc(rc);
        if (rc == ZOK && sv) {
            size_t n = sv->count > 0 ? (size_t)sv->count : 0;
            rd->names = calloc(n ? n : 1, sizeof(char *));
            for (size_t i = 0; rd->names && i < n; i++) {
                rd->names[i] = strdup(sv->data[i]);
                if (!rd->names[i]) {
                    st_zk_free_strings(rd->names, i);
                    rd->names = NULL;
                }
            }
            if (rd->names) {
                qsort(rd->names, n, sizeof(char *), cmp_str);
                rd->n_names = n;
            } else {
                rd->rc = -ENOMEM;
            }
        }
    }
    free(slot);
    batch_done_unlock(b);
}

static void multi_completion(int rc, const void *data)
{
    zk_slot_t *slot = (zk_slot_t *)data;
    zk_batch_t *b = slot->b;
    pthread_mutex_lock(&b->lock);
    if (!b->abandoned) {
        st_zk_multi_t *m = slot->out;
        m->failed = -1;
        m->rc = map_rc(rc);
        for (int i = 0; rc != ZOK && i < m->n_ops; i++) {
            if (m->results[i].err != ZOK && m->results[i].err != ZRUNTIMEINCONSISTENCY) {
                m->failed = i;
                m->rc = map_rc(m->results[i].err);
                break;
            }
        }
    }
    free(slot);
    batch_done_unlock(b);
}

enum { PIPELINE_WINDOW = 1024 };

static bool batch_full(zk_batch_t *b)
{
    pthread_mutex_lock(&b->lock);
    bool full = b->outstanding >= PIPELINE_WINDOW;
    pthread_mutex_unlock(&b->lock);
    return full;
}

/* kind: 0 get, 1 children, 2 multi. */
static int pipelined(st_zk_t *zk, int kind, void *items, size_t n)
{
    if (n == 0)
        return 0;
    zk_batch_t *b = batch_new();
    if (!b)
        return -ENOMEM;
    pthread_rwlock_rdlock(&zk->rw);
    zhandle_t *zh = zk->zh;
    /* Far beyond any answer the client can still give (it fails requests after the session
     * timeout): only a bug would get there. */
    int64_t deadline = now_ms() + 3LL * zk->cfg.session_timeout_ms + 30000;
    int ret = zh ? 0 : -ESHUTDOWN;
    for (size_t i = 0; i < n; i++) {
        int rc = ZINVALIDSTATE;
        zk_slot_t *slot = NULL;
        /* multis: never zoo_amulti on a dead session (session_over), checked before each one
         * since the session may expire part-way through a batch */
        if (ret == 0 && kind == 2 && session_over(zh))
            ret = -ESHUTDOWN;
        /* a full window: wait until half of it has been answered, then refill */
        if (ret == 0 && i >= PIPELINE_WINDOW && batch_full(b) &&
            batch_wait(b, PIPELINE_WINDOW / 2, deadline) < 0)
            ret = -ETIMEDOUT;
        if (ret == 0)
            slot = malloc(sizeof(*slot));
        if (slot) {
            slot->b = b;
            pthread_mutex_lock(&b->lock);
            b->outstanding++;
            b->refs++;
            pthread_mutex_unlock(&b->lock);
            if (kind == 0) {
                st_zk_read_t *rd = &((st_zk_read_t *)items)[i];
                slot->out = rd;
                rc = zoo_aget(zh, rd->path, rd->watch, get_completion, slot);
            } else if (kind == 1) {
                st_zk_read_t *rd = &((st_zk_read_t *)items)[i];
                slot->out = rd;
                rc = zoo_aget_children(zh, rd->path, rd->watch, children_completion, slot);
            } else {
                st_zk_multi_t *m = &((st_zk_multi_t *)items)[i];
                slot->out = m;
                rc = zoo_amulti(zh, m->n_ops, m->ops, m->results, multi_completion, slot);
            }
            if (rc != ZOK) {   /* not queued: no completion will come */
                pthread_mutex_lock(&b->lock);
                b->outstanding--;
                b->refs--;
                pthread_mutex_unlock(&b->lock);
                free(slot);
            }
        } else if (ret == 0) {
            ret = -ENOMEM;
        }
        if (rc != ZOK) {
            int err = ret ? ret : map_rc(rc);
            if (kind == 2) {
                ((st_zk_multi_t *)items)[i].rc = err;
                ((st_zk_multi_t *)items)[i].failed = -1;
            } else {
                ((st_zk_read_t *)items)[i].rc = err;
            }
        }
    }
    int w = batch_wait(b, 0, deadline);
    batch_leave(b);
    pthread_rwlock_unlock(&zk->rw);
    if (w < 0) {
        /* answers that did not come are errors (their slots are dropped on arrival) */
        for (size_t i = 0; i < n; i++) {
            if (kind == 2)
                ((st_zk_multi_t *)items)[i].rc = -ETIMEDOUT;
            else if (((st_zk_read_t *)items)[i].rc == 1)
                ((st_zk_read_t *)items)[i].rc = -ETIMEDOUT;
        }
        return -ETIMEDOUT;
    }
    return ret;
}

int st_zk_get_many(st_zk_t *zk, st_zk_read_t *reads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reads[i].rc = 1;   /* "no answer yet" */
        reads[i].data = NULL;
        reads[i].len = 0;
    }
    return pipelined(zk, 0, reads, n);
}

int st_zk_children_many(st_zk_t *zk, st_zk_read_t *reads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reads[i].rc = 1;
        reads[i].names = NULL;
        reads[i].n_names = 0;
    }
    return pipelined(zk, 1, reads, n);
}

int st_zk_multi_many(st_zk_t *zk, st_zk_multi_t *multis, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        multis[i].rc = 1;
        multis[i].failed = -1;
    }
    return pipelined(zk, 2, multis, n);
}

void st_zk_reads_free(st_zk_read_t *reads, size_t n)
{
    for (size_t i = 0; reads && i < n; i++) {
        free(reads[i].data);
        reads[i].data = NULL;
        st_zk_free_strings(reads[i].names, reads[i].n_names);
        reads[i].names = NULL;
        reads[i].n_names = 0;
    }
}
