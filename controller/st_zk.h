/* The ZooKeeper session wrapper: one libzookeeper_mt handle, the chroot of `zookeeper.connect`,
 * synchronous calls that map ZooKeeper's error codes onto negative errno values, and watches
 * that are delivered as events through a callback which must only post them to a mailbox.
 *
 * Threads: every st_zk_* call may be made from any thread (libzookeeper_mt serialises them); a
 * call blocks for one ZooKeeper round trip (or until the session's recv timeout when the
 * ensemble is unreachable) -- never call one while holding a lock the request path needs.
 * The event callback runs on libzookeeper_mt's completion thread: it must not call back into
 * ZooKeeper and must not block; post the event and act on your own thread.
 *
 * Session states (st_zk_state):
 *   CONNECTING --(server accepts the session)--> CONNECTED
 *   CONNECTED  --(connection lost)--> CONNECTING --(reconnected within the session timeout)--> CONNECTED
 *   any        --(the ensemble declares the session expired)--> EXPIRED (terminal for the handle)
 * After EXPIRED every call fails with -ESHUTDOWN, ephemeral znodes and watches are gone; the
 * owner calls st_zk_reopen to get a new session (a new session id) and then re-creates what it
 * needs (broker registration, controller candidacy, watches).
 *
 * Error mapping (returned as negative values):
 *   ZNONODE -ENOENT, ZNODEEXISTS -EEXIST, ZBADVERSION -ESTALE, ZNOTEMPTY -ENOTEMPTY,
 *   ZNOCHILDRENFOREPHEMERALS -EPERM, ZCONNECTIONLOSS/ZOPERATIONTIMEOUT -ETIMEDOUT (the outcome of a
 *   write is then unknown), ZSESSIONEXPIRED/ZINVALIDSTATE -ESHUTDOWN, ZBADARGUMENTS -EINVAL,
 *   ZNOAUTH -EACCES, anything else -EIO. st_zk_strerror names the last ZooKeeper code. */
#ifndef ST_ZK_H
#define ST_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zookeeper/zookeeper.h>

typedef struct st_zk st_zk_t;

typedef enum st_zk_state {
    ST_ZK_CONNECTING = 0,
    ST_ZK_CONNECTED = 1,
    ST_ZK_EXPIRED = 2,
} st_zk_state_t;

typedef enum st_zk_event_type {
    ST_ZK_EV_CONNECTED = 1,      /* session (re)established; path "" */
    ST_ZK_EV_DISCONNECTED,       /* connection lost, session may still live; path "" */
    ST_ZK_EV_EXPIRED,            /* session expired: ephemerals and watches are gone; path "" */
    ST_ZK_EV_CREATED,            /* exists-watch: the znode appeared */
    ST_ZK_EV_DELETED,            /* the watched znode was deleted */
    ST_ZK_EV_DATA_CHANGED,       /* data watch fired */
    ST_ZK_EV_CHILDREN_CHANGED,   /* child watch fired */
} st_zk_event_type_t;

/* Runs on libzookeeper_mt's thread. path is relative to the chroot and only valid during the
 * call (copy it). Must only post the event somewhere and return. */
typedef void st_zk_event_fn(void *arg, st_zk_event_type_t type, const char *path);

typedef struct st_zk_config {
    const char *connect;             /* "h1:p1,h2:p2/chroot" (zookeeper.connect) */
    int session_timeout_ms;          /* zookeeper.session.timeout.ms */
    int connection_timeout_ms;       /* zookeeper.connection.timeout.ms (<= 0: session timeout) */
    st_zk_event_fn *on_event;        /* may be NULL */
    void *event_arg;
} st_zk_config_t;

/* Opens a session and waits up to connection_timeout_ms for it to be established. The chroot
 * (if any) is created first when missing (as Kafka does). On failure returns -ETIMEDOUT (the
 * ensemble did not answer: errbuf names it) or another -errno with errbuf set; nothing to free. */
int st_zk_open(const st_zk_config_t *cfg, st_zk_t **ret_zk, char *errbuf, size_t errlen);
/* After EXPIRED: closes the old handle and opens a new session with the same configuration,
 * waiting up to the connection timeout. 0 or -errno (errbuf). Same thread rules as st_zk_open;
 * must not race with other calls on the same handle (the owner's thread does it). */
int st_zk_reopen(st_zk_t *zk, char *errbuf, size_t errlen);
/* The same without waiting: closes the old handle and starts a new one (state CONNECTING); the
 * ST_ZK_EV_CONNECTED event says when the new session is established (st_zk_session_id is valid
 * from then on). For an owner that must not block (the node thread). 0 or -errno (errbuf). */
int st_zk_reopen_start(st_zk_t *zk, char *errbuf, size_t errlen);
/* Closes the session (ephemeral znodes go at once) and frees the handle. NULL is fine. */
void st_zk_close(st_zk_t *zk);

st_zk_state_t st_zk_state(const st_zk_t *zk);
int64_t st_zk_session_id(const st_zk_t *zk);
/* The ensemble part of zookeeper.connect (without chroot), and the chroot ("" if none). */
const char *st_zk_ensemble(const st_zk_t *zk);
const char *st_zk_chroot(const st_zk_t *zk);
/* The raw handle, for multi-ops built with zoo_*_op_init (paths relative to the chroot). */
zhandle_t *st_zk_handle(st_zk_t *zk);
/* Human-readable name of a negative errno returned by st_zk_* ("no node", "bad version", ...). */
const char *st_zk_strerror(int err);

/* Reads a znode. *ret_data is malloc'd and NUL-terminated (length in *ret_len, NULL for a
 * znode with null data); ret_stat may be NULL. watch: leave a data watch (fires DATA_CHANGED /
 * DELETED). 0, -ENOENT, or another -errno. */
int st_zk_get(st_zk_t *zk, const char *path, bool watch, char **ret_data, int *ret_len,
              struct Stat *ret_stat);
/* 0 (exists; ret_stat filled if not NULL), -ENOENT, or -errno. watch: exists-watch (fires
 * CREATED, DELETED or DATA_CHANGED). */
int st_zk_exists(st_zk_t *zk, const char *path, bool watch, struct Stat *ret_stat);
/* Children names (malloc'd array of malloc'd strings, sorted); free with st_zk_free_strings.
 * watch: child watch. */
int st_zk_children(st_zk_t *zk, const char *path, bool watch, char ***ret_names, size_t *ret_n);
void st_zk_free_strings(char **names, size_t n);
/* Creates a znode. flags: 0, ZOO_EPHEMERAL, ZOO_SEQUENCE or both. data may be NULL (null
 * data). ret_path (may be NULL) receives the created path (relative to the chroot; useful for
 * sequential znodes). */
int st_zk_create(st_zk_t *zk, const char *path, const char *data, int len, int flags,
                 char *ret_path, size_t ret_path_len);
/* Sets data if the version matches (-1: any). ret_stat may be NULL. */
int st_zk_set(st_zk_t *zk, const char *path, const char *data, int len, int version,
              struct Stat *ret_stat);
/* Deletes if the version matches (-1: any). */
int st_zk_delete(st_zk_t *zk, const char *path, int version);
/* Deletes a znode and everything under it (not atomic). -ENOENT-tolerant: 0 if already gone. */
int st_zk_delete_recursive(st_zk_t *zk, const char *path);
/* Creates path and its missing parents as persistent znodes with null data ("mkdir -p").
 * 0 when it exists afterwards. */
int st_zk_ensure_path(st_zk_t *zk, const char *path);

/* An atomic multi-op (zoo_multi). ops are built with zoo_create_op_init / zoo_delete_op_init /
 * zoo_set_op_init / zoo_check_op_init; results has n entries. 0 when every op succeeded;
 * otherwise the error of the first failing op, with *ret_failed_index (may be NULL) set to its
 * index (-1 when the failure was not attributable to one op). */
int st_zk_multi(st_zk_t *zk, int n, const zoo_op_t *ops, zoo_op_result_t *results,
                int *ret_failed_index);

/* ---- pipelined calls ---------------------------------------------------------------------
 * Many requests in flight at once (zoo_aget / zoo_aget_children / zoo_amulti, up to 1,024
 * outstanding), the way Kafka's controller reads and writes (KAFKA-5501): one round trip for a
 * whole batch instead of one per znode. The completions run on libzookeeper_mt's completion
 * thread, fill the caller's slots and count down; the calling thread waits on a condition until
 * every request has been answered. ZooKeeper answers one session's requests in order, so
 * multis of one batch are applied in array order. Each call returns 0 when every request was
 * issued and answered (per-item outcomes in ->rc), or -errno when some could not be issued
 * (-ESHUTDOWN: no session); those items carry that error. Same threading rules as the
 * synchronous calls. */
typedef struct st_zk_read {
    const char *path;           /* in */
    bool watch;                 /* in: data watch (get) or child watch (children) */
    int rc;                     /* out: 0, -ENOENT or another -errno */
    char *data;                 /* get: malloc'd, NUL-terminated; NULL for null data */
    int len;
    struct Stat stat;           /* get */
    char **names;               /* children: sorted (st_zk_free_strings) */
    size_t n_names;
} st_zk_read_t;
int st_zk_get_many(st_zk_t *zk, st_zk_read_t *reads, size_t n);
int st_zk_children_many(st_zk_t *zk, st_zk_read_t *reads, size_t n);
/* Frees data and names of every read (the array itself is the caller's). */
void st_zk_reads_free(st_zk_read_t *reads, size_t n);

typedef struct st_zk_multi {
    const zoo_op_t *ops;        /* in: kept alive by the caller until the call returns */
    zoo_op_result_t *results;   /* in: n_ops entries */
    int n_ops;
    int rc;                     /* out: 0 or the first failing op's error */
    int failed;                 /* out: its index, -1 none or not attributable */
} st_zk_multi_t;
int st_zk_multi_many(st_zk_t *zk, st_zk_multi_t *multis, size_t n);

#endif
