/* An in-memory ZooKeeper behind the st_zk.h API, for the fuzz harnesses that run the real
 * controller and topic admin code (fuzz_controller.c) without a server: one session, one tree
 * of znodes with data, versions, czxid/mzxid, ephemeral owners and sequential names, and
 * multi-ops applied all-or-nothing. Watches are accepted and never fire (the harness calls the
 * controller's change handlers itself).
 *
 * Errors follow ZooKeeper's and st_zk.c's mapping: a missing znode -ENOENT, an existing one
 * -EEXIST, a version mismatch -ESTALE, a delete with children -ENOTEMPTY, a child of an
 * ephemeral -EPERM, an invalid path (empty component, ".", "..", control bytes, no leading
 * '/', trailing '/') -EINVAL as ZooKeeper's ZBADARGUMENTS.
 *
 * Invariants: every znode but "/" has its parent in the tree; numChildren is the count of
 * znodes whose parent is it. Single-threaded: the harness and the code under test run on one
 * thread (the calls take a mutex anyway, so a stray thread cannot corrupt the tree). */
#include "fake_zk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz_node {
    char *path;
    char *data;                 /* NULL: null data */
    int len;
    struct Stat stat;
    bool external;              /* last written by fake_zk_put (the harness), not st_zk_* */
} fz_node_t;

struct st_zk {
    pthread_mutex_t lock;
    fz_node_t *v;
    size_t n, cap;
    int64_t zxid;
    int64_t session_id;
    int last_rc;                /* ZooKeeper code of the last failure, for st_zk_strerror */
};

static bool valid_path(const char *path)
{
    if (!path || path[0] != '/')
        return false;
    if (path[1] == '\0')
        return true;
    size_t len = strlen(path);
    if (path[len - 1] == '/')
        return false;
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    for (const char *c = path + 1; c && *c;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c = end ? end + 1 : NULL;
    }
    return true;
}

static ssize_t find(const st_zk_t *zk, const char *path)
{
    for (size_t i = 0; i < zk->n; i++)
        if (strcmp(zk->v[i].path, path) == 0)
            return (ssize_t)i;
    return -1;
}

/* The parent's path in buf ("/" for top-level znodes). */
static void parent_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash && slash != path ? (size_t)(slash - path) : 1;
    if (n >= size)
        n = size - 1;
    memcpy(buf, path, n);
    buf[n] = '\0';
}

static int map_rc(int rc)
{
    switch (rc) {
    case ZOK: return 0;
    case ZNONODE: return -ENOENT;
    case ZNODEEXISTS: return -EEXIST;
    case ZBADVERSION: return -ESTALE;
    case ZNOTEMPTY: return -ENOTEMPTY;
    case ZNOCHILDRENFOREPHEMERALS: return -EPERM;
    case ZBADARGUMENTS: return -EINVAL;
    default: return -EIO;
    }
}

static int fail(st_zk_t *zk, int rc)
{
    zk->last_rc = rc;
    return rc;
}

/* ---- the tree (lock held; ZooKeeper codes) ------------------------------------------------ */

static int do_create(st_zk_t *zk, const char *path, const char *data, int len, int flags,
                     char *ret_path, size_t ret_path_len)
{
    if (!valid_path(path) || strcmp(path, "/") == 0 || len > 1024 * 1024)
        return fail(zk, ZBADARGUMENTS);
    char parent[1024];
    if (strlen(path) >= sizeof(parent) - 16)
        return fail(zk, ZBADARGUMENTS);
    parent_of(path, parent, sizeof(parent));
    ssize_t pi = find(zk, parent);
    if (pi < 0)
        return fail(zk, ZNONODE);
    if (zk->v[pi].stat.ephemeralOwner)
        return fail(zk, ZNOCHILDRENFOREPHEMERALS);
    char full[1040];
    if (flags & ZOO_SEQUENCE)
        snprintf(full, sizeof(full), "%s%010d", path, zk->v[pi].stat.cversion);
    else
        snprintf(full, sizeof(full), "%s", path);
    if (find(zk, full) >= 0)
        return fail(zk, ZNODEEXISTS);
    if (zk->n == zk->cap) {
        size_t cap = zk->cap ? zk->cap * 2 : 64;
        fz_node_t *v = realloc(zk->v, cap * sizeof(*v));
        if (!v)
            return fail(zk, ZSYSTEMERROR);
        zk->v = v;
        zk->cap = cap;
    }
    fz_node_t *nd = &zk->v[zk->n];
    memset(nd, 0, sizeof(*nd));
    nd->path = strdup(full);
    if (data && len >= 0) {
        nd->data = malloc((size_t)len + 1);
        if (nd->data) {
            memcpy(nd->data, data, (size_t)len);
            nd->data[len] = '\0';
        }
    }
    if (!nd->path || (data && len >= 0 && !nd->data)) {
        free(nd->path);
        free(nd->data);
        return fail(zk, ZSYSTEMERROR);
    }
    nd->len = data && len >= 0 ? len : -1;
    nd->stat.czxid = nd->stat.mzxid = nd->stat.pzxid = ++zk->zxid;
    nd->stat.dataLength = nd->len < 0 ? 0 : nd->len;
    nd->stat.ephemeralOwner = (flags & ZOO_EPHEMERAL) ? zk->session_id : 0;
    zk->n++;
    fz_node_t *p = &zk->v[pi];
    p->stat.cversion++;
    p->stat.numChildren++;
    p->stat.pzxid = zk->zxid;
    if (ret_path && ret_path_len)
        snprintf(ret_path, ret_path_len, "%s", full);
    return ZOK;
}

static int do_set(st_zk_t *zk, const char *path, const char *data, int len, int version,
                  struct Stat *ret_stat)
{
    if (!valid_path(path) || len > 1024 * 1024)
        return fail(zk, ZBADARGUMENTS);
    ssize_t i = find(zk, path);
    if (i < 0)
        return fail(zk, ZNONODE);
    fz_node_t *nd = &zk->v[i];
    if (version != -1 && version != nd->stat.version)
        return fail(zk, ZBADVERSION);
    char *copy = NULL;
    if (data && len >= 0) {
        copy = malloc((size_t)len + 1);
        if (!copy)
            return fail(zk, ZSYSTEMERROR);
        memcpy(copy, data, (size_t)len);
        copy[len] = '\0';
    }
    free(nd->data);
    nd->data = copy;
    nd->len = copy ? len : -1;
    nd->external = false;
    nd->stat.version++;
    nd->stat.mzxid = ++zk->zxid;
    nd->stat.dataLength = nd->len < 0 ? 0 : nd->len;
    if (ret_stat)
        *ret_stat = nd->stat;
    return ZOK;
}

static int do_delete(st_zk_t *zk, const char *path, int version)
{
    if (!valid_path(path) || strcmp(path, "/") == 0)
        return fail(zk, ZBADARGUMENTS);
    ssize_t i = find(zk, path);
    if (i < 0)
        return fail(zk, ZNONODE);
    if (version != -1 && version != zk->v[i].stat.version)
        return fail(zk, ZBADVERSION);
    if (zk->v[i].stat.numChildren)
        return fail(zk, ZNOTEMPTY);
    char parent[1024];
    parent_of(path, parent, sizeof(parent));
    ssize_t pi = find(zk, parent);
    if (pi >= 0) {
        zk->v[pi].stat.numChildren--;
        zk->v[pi].stat.cversion++;
        zk->v[pi].stat.pzxid = ++zk->zxid;
    }
    free(zk->v[i].path);
    free(zk->v[i].data);
    zk->v[i] = zk->v[--zk->n];
    return ZOK;
}

static int do_check(st_zk_t *zk, const char *path, int version)
{
    if (!valid_path(path))
        return fail(zk, ZBADARGUMENTS);
    ssize_t i = find(zk, path);
    if (i < 0)
        return fail(zk, ZNONODE);
    if (version != -1 && version != zk->v[i].stat.version)
        return fail(zk, ZBADVERSION);
    return ZOK;
}

static void free_nodes(fz_node_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].data);
    }
    free(v);
}

/* A deep copy of the tree (for all-or-nothing multis). */
static int snapshot(const st_zk_t *zk, fz_node_t **ret)
{
    fz_node_t *v = calloc(zk->n ? zk->n : 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < zk->n; i++) {
        v[i] = zk->v[i];
        v[i].path = strdup(zk->v[i].path);
        v[i].data = NULL;
        if (zk->v[i].data) {
            v[i].data = malloc((size_t)zk->v[i].len + 1);
            if (v[i].data)
                memcpy(v[i].data, zk->v[i].data, (size_t)zk->v[i].len + 1);
        }
        if (!v[i].path || (zk->v[i].data && !v[i].data)) {
            free_nodes(v, i + 1);
            return -ENOMEM;
        }
    }
    *ret = v;
    return 0;
}

static int do_multi(st_zk_t *zk, int n, const zoo_op_t *ops, zoo_op_result_t *results,
                    int *ret_failed)
{
    *ret_failed = -1;
    fz_node_t *saved = NULL;
    size_t saved_n = zk->n;
    int64_t saved_zxid = zk->zxid;
    if (snapshot(zk, &saved) < 0)
        return ZSYSTEMERROR;
    int rc = ZOK;
    int i;
    for (i = 0; i < n && rc == ZOK; i++) {
        const zoo_op_t *op = &ops[i];
        results[i].value = NULL;
        results[i].valuelen = 0;
        results[i].stat = NULL;
        switch (op->type) {
        case ZOO_CREATE_OP:
            rc = do_create(zk, op->create_op.path, op->create_op.data, op->create_op.datalen,
                           op->create_op.flags, op->create_op.buf,
                           op->create_op.buf ? (size_t)op->create_op.buflen : 0);
            break;
        case ZOO_SETDATA_OP:
            rc = do_set(zk, op->set_op.path, op->set_op.data, op->set_op.datalen,
                        op->set_op.version, op->set_op.stat);
            results[i].stat = op->set_op.stat;
            break;
        case ZOO_DELETE_OP:
            rc = do_delete(zk, op->delete_op.path, op->delete_op.version);
            break;
        case ZOO_CHECK_OP:
            rc = do_check(zk, op->check_op.path, op->check_op.version);
            break;
        default:
            rc = ZBADARGUMENTS;
        }
        results[i].err = rc;
    }
    if (rc == ZOK) {
        free_nodes(saved, saved_n);
        return ZOK;
    }
    *ret_failed = i - 1;
    for (; i < n; i++)
        results[i].err = ZRUNTIMEINCONSISTENCY;
    free_nodes(zk->v, zk->n);
    zk->v = saved;
    zk->n = saved_n;
    zk->cap = saved_n ? saved_n : 1;
    zk->zxid = saved_zxid;
    return fail(zk, rc);
}

/* ---- fake-only API -------------------------------------------------------------------------- */

st_zk_t *fake_zk_new(void)
{
    st_zk_t *zk = calloc(1, sizeof(*zk));
    if (!zk)
        return NULL;
    pthread_mutex_init(&zk->lock, NULL);
    zk->session_id = 0x5eed;
    zk->v = calloc(64, sizeof(*zk->v));
    zk->cap = 64;
    if (!zk->v) {
        free(zk);
        return NULL;
    }
    zk->v[0].path = strdup("/");
    zk->v[0].len = -1;
    zk->n = 1;
    return zk;
}

void fake_zk_free(st_zk_t *zk)
{
    if (!zk)
        return;
    free_nodes(zk->v, zk->n);
    pthread_mutex_destroy(&zk->lock);
    free(zk);
}

int fake_zk_put(st_zk_t *zk, const char *path, const char *data, int len)
{
    int r = st_zk_ensure_path(zk, path);
    if (r == 0)
        r = st_zk_set(zk, path, data, len, -1, NULL);
    if (r == 0)
        fake_zk_mark_external(zk, path);
    return r;
}

void fake_zk_mark_external(st_zk_t *zk, const char *path)
{
    pthread_mutex_lock(&zk->lock);
    ssize_t i = find(zk, path);
    if (i >= 0)
        zk->v[i].external = true;
    pthread_mutex_unlock(&zk->lock);
}

int fake_zk_peek(st_zk_t *zk, const char *path, const char **ret_data, int *ret_len,
                 struct Stat *ret_stat, bool *ret_external)
{
    pthread_mutex_lock(&zk->lock);
    ssize_t i = find(zk, path);
    if (i >= 0) {
        *ret_data = zk->v[i].data;
        *ret_len = zk->v[i].len;
        if (ret_stat)
            *ret_stat = zk->v[i].stat;
        if (ret_external)
            *ret_external = zk->v[i].external;
    }
    pthread_mutex_unlock(&zk->lock);
    return i >= 0 ? 0 : -ENOENT;
}

void fake_zk_set_session(st_zk_t *zk, int64_t session_id)
{
    zk->session_id = session_id;
}

/* ---- st_zk.h ---------------------------------------------------------------------------------- */

int st_zk_open(const st_zk_config_t *cfg, st_zk_t **ret_zk, char *errbuf, size_t errlen)
{
    (void)cfg;
    *ret_zk = fake_zk_new();
    if (!*ret_zk) {
        snprintf(errbuf, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

int st_zk_reopen(st_zk_t *zk, char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    zk->session_id++;
    return 0;
}

int st_zk_reopen_start(st_zk_t *zk, char *errbuf, size_t errlen)
{
    return st_zk_reopen(zk, errbuf, errlen);
}

void st_zk_close(st_zk_t *zk) { fake_zk_free(zk); }
st_zk_state_t st_zk_state(const st_zk_t *zk) { (void)zk; return ST_ZK_CONNECTED; }
int64_t st_zk_session_id(const st_zk_t *zk) { return zk->session_id; }
const char *st_zk_ensemble(const st_zk_t *zk) { (void)zk; return "fake:2181"; }
const char *st_zk_chroot(const st_zk_t *zk) { (void)zk; return ""; }
zhandle_t *st_zk_handle(st_zk_t *zk) { (void)zk; return NULL; }

const char *st_zk_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case -ENOENT: return "no node";
    case -EEXIST: return "node exists";
    case -ESTALE: return "bad version";
    case -ENOTEMPTY: return "not empty";
    case -EPERM: return "no children for ephemerals";
    case -EINVAL: return "bad arguments";
    case -ENOMEM: return "out of memory";
    default: return "error";
    }
}

int st_zk_get(st_zk_t *zk, const char *path, bool watch, char **ret_data, int *ret_len,
              struct Stat *ret_stat)
{
    (void)watch;
    if (!valid_path(path))
        return -EINVAL;
    pthread_mutex_lock(&zk->lock);
    ssize_t i = find(zk, path);
    int r = 0;
    char *copy = NULL;
    if (i < 0) {
        r = -ENOENT;
    } else if (zk->v[i].data) {
        copy = malloc((size_t)zk->v[i].len + 1);
        if (!copy)
            r = -ENOMEM;
        else
            memcpy(copy, zk->v[i].data, (size_t)zk->v[i].len + 1);
    }
    if (r == 0) {
        *ret_data = copy;
        if (ret_len)
            *ret_len = copy ? zk->v[i].len : 0;
        if (ret_stat)
            *ret_stat = zk->v[i].stat;
    }
    pthread_mutex_unlock(&zk->lock);
    return r;
}

int st_zk_exists(st_zk_t *zk, const char *path, bool watch, struct Stat *ret_stat)
{
    (void)watch;
    if (!valid_path(path))
        return -EINVAL;
    pthread_mutex_lock(&zk->lock);
    ssize_t i = find(zk, path);
    if (i >= 0 && ret_stat)
        *ret_stat = zk->v[i].stat;
    pthread_mutex_unlock(&zk->lock);
    return i >= 0 ? 0 : -ENOENT;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_zk_children(st_zk_t *zk, const char *path, bool watch, char ***ret_names, size_t *ret_n)
{
    (void)watch;
    if (!valid_path(path))
        return -EINVAL;
    pthread_mutex_lock(&zk->lock);
    if (find(zk, path) < 0) {
        pthread_mutex_unlock(&zk->lock);
        return -ENOENT;
    }
    char **names = calloc(zk->n + 1, sizeof(char *));
    size_t n = 0;
    int r = names ? 0 : -ENOMEM;
    char parent[1024];
    for (size_t i = 0; r == 0 && i < zk->n; i++) {
        if (strcmp(zk->v[i].path, "/") == 0)
            continue;
        parent_of(zk->v[i].path, parent, sizeof(parent));
        if (strcmp(parent, path) != 0)
            continue;
        names[n] = strdup(strrchr(zk->v[i].path, '/') + 1);
        if (!names[n])
            r = -ENOMEM;
        else
            n++;
    }
    pthread_mutex_unlock(&zk->lock);
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
    pthread_mutex_lock(&zk->lock);
    int rc = do_create(zk, path, data, data ? len : -1, flags, ret_path, ret_path_len);
    pthread_mutex_unlock(&zk->lock);
    return map_rc(rc);
}

int st_zk_set(st_zk_t *zk, const char *path, const char *data, int len, int version,
              struct Stat *ret_stat)
{
    pthread_mutex_lock(&zk->lock);
    int rc = do_set(zk, path, data, data ? len : -1, version, ret_stat);
    pthread_mutex_unlock(&zk->lock);
    return map_rc(rc);
}

int st_zk_delete(st_zk_t *zk, const char *path, int version)
{
    pthread_mutex_lock(&zk->lock);
    int rc = do_delete(zk, path, version);
    pthread_mutex_unlock(&zk->lock);
    return map_rc(rc);
}

int st_zk_delete_recursive(st_zk_t *zk, const char *path)
{
    char **kids = NULL;
    size_t n = 0;
    int r = st_zk_children(zk, path, false, &kids, &n);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char child[1100];
        snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") == 0 ? "" : path, kids[i]);
        r = st_zk_delete_recursive(zk, child);
    }
    st_zk_free_strings(kids, n);
    if (r < 0)
        return r;
    r = st_zk_delete(zk, path, -1);
    return r == -ENOENT ? 0 : r;
}

int st_zk_ensure_path(st_zk_t *zk, const char *path)
{
    if (!valid_path(path))
        return -EINVAL;
    if (strcmp(path, "/") == 0)
        return 0;
    size_t len = strlen(path);
    char *buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, path, len + 1);
    int r = 0;
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

int st_zk_multi(st_zk_t *zk, int n, const zoo_op_t *ops, zoo_op_result_t *results,
                int *ret_failed_index)
{
    if (ret_failed_index)
        *ret_failed_index = -1;
    if (n <= 0)
        return 0;
    int failed = -1;
    pthread_mutex_lock(&zk->lock);
    int rc = do_multi(zk, n, ops, results, &failed);
    pthread_mutex_unlock(&zk->lock);
    if (ret_failed_index)
        *ret_failed_index = failed;
    return map_rc(rc);
}

int st_zk_get_many(st_zk_t *zk, st_zk_read_t *reads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reads[i].data = NULL;
        reads[i].len = 0;
        reads[i].rc = st_zk_get(zk, reads[i].path, reads[i].watch, &reads[i].data, &reads[i].len,
                                &reads[i].stat);
    }
    return 0;
}

int st_zk_children_many(st_zk_t *zk, st_zk_read_t *reads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reads[i].names = NULL;
        reads[i].n_names = 0;
        reads[i].rc = st_zk_children(zk, reads[i].path, reads[i].watch, &reads[i].names,
                                     &reads[i].n_names);
    }
    return 0;
}

void st_zk_reads_free(st_zk_read_t *reads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(reads[i].data);
        reads[i].data = NULL;
        st_zk_free_strings(reads[i].names, reads[i].n_names);
        reads[i].names = NULL;
        reads[i].n_names = 0;
    }
}

int st_zk_multi_many(st_zk_t *zk, st_zk_multi_t *multis, size_t n)
{
    for (size_t i = 0; i < n; i++)
        multis[i].rc = st_zk_multi(zk, multis[i].n_ops, multis[i].ops, multis[i].results,
                                   &multis[i].failed);
    return 0;
}
