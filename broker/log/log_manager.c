/* The log manager: every partition log of every log dir (Kafka's LogManager).
 *
 * At open, per log dir: meta.properties is written or checked (broker.id must match), the
 * clean-shutdown marker .kafka_cleanshutdown is read (and removed once all logs are loaded),
 * recovery-point-offset-checkpoint and log-start-offset-checkpoint are read, and every
 * <topic>-<partition> directory is opened with its recovery point. At close, every log is
 * flushed and closed, the checkpoints written, and only then the marker, so its presence
 * promises that everything up to each log end is on disk.
 *
 * Log dir failures (Kafka's JBOD handling, st_log.h): every log carries its dir's offline flag
 * and reports its I/O errors here (log_failed); the first one takes the dir offline for good
 * (offline[d]: false -> true, never back while the process runs). An offline dir's logs touch
 * the disk no more (st_log_is_offline), maintenance and checkpoints skip it, new logs go to
 * the other dirs, and at close it gets no clean-shutdown marker. The dir-failure handler (the
 * replica manager) hears of each failed dir exactly once (notified[d]).
 *
 * Invariants: each (topic, partition) appears once; index[] maps its hash to its entry; each
 * entry's dir is one of dirs[]; per_dir[d] counts the entries in dirs[d]; notified[d] implies
 * offline[d].
 *
 * Locking: a rwlock. get/foreach/checkpoint/maintain take it shared, create/delete exclusive.
 * Each log has its own mutex below that. offline[] is atomic; handler_lock (a leaf: nothing is
 * taken under it) guards the handler and notified[], so that a failure can be reported from
 * any thread holding any lock, the manager's included. */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_internal.h"
#include "st_logger.h"

#define CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"
#define RECOVERY_POINT_FILE "recovery-point-offset-checkpoint"
#define LOG_START_FILE "log-start-offset-checkpoint"
#define META_FILE "meta.properties"
#define CHECKPOINT_INTERVAL_MS 60000   /* log.flush.offset.checkpoint.interval.ms */

typedef struct mgr_entry {
    char *topic;
    int32_t partition;
    size_t dir;
    st_log_t *log;
} mgr_entry_t;

typedef struct mgr_dir {
    st_log_manager_t *mgr;
    size_t d;
} mgr_dir_t;

struct st_log_manager {
    pthread_rwlock_t lock;
    char **dirs;
    size_t ndirs;
    size_t *per_dir;
    atomic_bool *offline;           /* per dir (see the file comment) */
    mgr_dir_t *dir_ctx;             /* the failure hook's argument, per dir */
    pthread_mutex_t handler_lock;
    st_log_dir_failure_fn *on_dir_failure;
    void *dir_failure_arg;
    bool *notified;                 /* per dir, under handler_lock */
    int32_t broker_id;
    st_log_config_t defaults;
    mgr_entry_t *entries;
    size_t n, cap;
    size_t *index;          /* open addressing: entry + 1, 0 = empty */
    size_t index_cap;       /* power of two, > 2 * n */
    _Atomic int64_t last_checkpoint_ms;
};

static uint64_t tp_hash(const char *topic, int32_t partition)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = topic; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    h ^= (uint64_t)(uint32_t)partition;
    h *= 1099511628211ULL;
    return h ^ (h >> 29);
}

static int rebuild_index(st_log_manager_t *mgr)
{
    size_t cap = 64;
    while (cap < mgr->n * 2 + 2)
        cap *= 2;
    size_t *index = calloc(cap, sizeof(*index));
    if (!index)
        return -ENOMEM;
    for (size_t e = 0; e < mgr->n; e++) {
        size_t i = tp_hash(mgr->entries[e].topic, mgr->entries[e].partition) & (cap - 1);
        while (index[i])
            i = (i + 1) & (cap - 1);
        index[i] = e + 1;
    }
    free(mgr->index);
    mgr->index = index;
    mgr->index_cap = cap;
    return 0;
}

static mgr_entry_t *find_entry(const st_log_manager_t *mgr, const char *topic, int32_t partition)
{
    if (!mgr->index_cap)
        return NULL;
    size_t mask = mgr->index_cap - 1;
    for (size_t i = tp_hash(topic, partition) & mask; mgr->index[i]; i = (i + 1) & mask) {
        mgr_entry_t *e = &mgr->entries[mgr->index[i] - 1];
        if (e->partition == partition && strcmp(e->topic, topic) == 0)
            return e;
    }
    return NULL;
}

/* ---- log dir failures ------------------------------------------------------------------------ */

void st_log_manager_fail_dir(st_log_manager_t *mgr, size_t d, int err, const char *what)
{
    if (d >= mgr->ndirs || atomic_exchange(&mgr->offline[d], true))
        return;
    size_t online = st_log_manager_online_dir_count(mgr);
    ST_ERROR("Log dir %s is offline (%s%s%s): its logs are neither read nor written any more and "
             "its partitions answer KAFKA_STORAGE_ERROR until the broker is restarted with the "
             "disk repaired; %zu of %zu log dir(s) still online", mgr->dirs[d], strerror(-err),
             what ? " while " : "", what ? what : "", online, mgr->ndirs);
    pthread_mutex_lock(&mgr->handler_lock);
    st_log_dir_failure_fn *fn = mgr->on_dir_failure;
    void *arg = mgr->dir_failure_arg;
    if (fn)
        mgr->notified[d] = true;
    pthread_mutex_unlock(&mgr->handler_lock);
    if (fn)
        fn(arg, d, mgr->dirs[d]);
}

/* A log's failure hook (st_log_failure_fn): the log logged its own line already. */
static void log_failed(void *arg, st_log_t *log, int err, const char *what)
{
    (void)log;
    mgr_dir_t *md = arg;
    st_log_manager_fail_dir(md->mgr, md->d, err, what);
}

void st_log_manager_set_dir_failure_handler(st_log_manager_t *mgr, st_log_dir_failure_fn *fn,
                                            void *arg)
{
    pthread_mutex_lock(&mgr->handler_lock);
    mgr->on_dir_failure = fn;
    mgr->dir_failure_arg = arg;
    size_t n = 0;
    size_t *late = fn ? calloc(mgr->ndirs + 1, sizeof(*late)) : NULL;
    for (size_t d = 0; late && d < mgr->ndirs; d++) {
        if (atomic_load(&mgr->offline[d]) && !mgr->notified[d]) {
            mgr->notified[d] = true;
            late[n++] = d;
        }
    }
    pthread_mutex_unlock(&mgr->handler_lock);
    for (size_t i = 0; i < n; i++)
        fn(arg, late[i], mgr->dirs[late[i]]);
    free(late);
}

size_t st_log_manager_dir_count(const st_log_manager_t *mgr) { return mgr->ndirs; }

const char *st_log_manager_dir_path(const st_log_manager_t *mgr, size_t d)
{
    return d < mgr->ndirs ? mgr->dirs[d] : NULL;
}

bool st_log_manager_dir_offline(const st_log_manager_t *mgr, size_t d)
{
    return d < mgr->ndirs && atomic_load(&mgr->offline[d]);
}

size_t st_log_manager_online_dir_count(const st_log_manager_t *mgr)
{
    size_t n = 0;
    for (size_t d = 0; d < mgr->ndirs; d++)
        n += !atomic_load(&mgr->offline[d]);
    return n;
}

int st_log_manager_dir_of(const st_log_manager_t *mgr, const char *path)
{
    for (size_t d = 0; path && d < mgr->ndirs; d++) {
        size_t dl = strlen(mgr->dirs[d]);
        while (dl > 1 && mgr->dirs[d][dl - 1] == '/')
            dl--;
        if (strncmp(path, mgr->dirs[d], dl) == 0 && path[dl] == '/' && !strchr(path + dl + 1, '/'))
            return (int)d;
    }
    return -1;
}

static int add_entry(st_log_manager_t *mgr, size_t dir, st_log_t *log)
{
    if (mgr->n == mgr->cap) {
        size_t cap = mgr->cap ? mgr->cap * 2 : 64;
        mgr_entry_t *e = realloc(mgr->entries, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        mgr->entries = e;
        mgr->cap = cap;
    }
    char *topic = strdup(st_log_topic(log));
    if (!topic)
        return -ENOMEM;
    mgr->entries[mgr->n++] = (mgr_entry_t){ topic, st_log_partition(log), dir, log };
    if ((mgr->n + 1) * 2 > mgr->index_cap) {
        int ret = rebuild_index(mgr);
        if (ret < 0) {
            free(topic);
            mgr->n--;
            return ret;
        }
    } else {
        size_t mask = mgr->index_cap - 1;
        size_t i = tp_hash(topic, st_log_partition(log)) & mask;
        while (mgr->index[i])
            i = (i + 1) & mask;
        mgr->index[i] = mgr->n;
    }
    mgr->per_dir[dir]++;
    st_log_set_failure_handler(log, log_failed, &mgr->dir_ctx[dir], &mgr->offline[dir]);
    return 0;
}

/* Kafka's legal topic names: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
static bool valid_topic(const char *topic)
{
    size_t n = strlen(topic);
    if (n == 0 || n > 249 || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)topic[i]) && topic[i] != '.' && topic[i] != '_' &&
            topic[i] != '-')
            return false;
    return true;
}

static int mkdirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int ret = 0;
    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
                ret = -errno;
                break;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(copy);
    return ret;
}

static char *path_join(const char *dir, const char *name)
{
    char *p;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static int check_meta(const char *dir, int32_t broker_id)
{
    char *path = path_join(dir, META_FILE);
    if (!path)
        return -ENOMEM;
    int32_t found;
    int ret = st_meta_properties_read(path, &found, NULL);
    if (ret == -ENOENT) {
        ret = st_meta_properties_write(path, broker_id, NULL);
        if (ret < 0)
            ST_ERROR("%s: cannot write: %s", path, strerror(-ret));
    } else if (ret < 0) {
        ST_ERROR("%s: unreadable (%s)", path, strerror(-ret));
    } else if (found != broker_id) {
        ST_ERROR("%s: broker.id %" PRId32 " does not match the configured broker.id %" PRId32
                 " (this log dir belongs to another broker)", path, found, broker_id);
        ret = -EINVAL;
    }
    free(path);
    return ret;
}

/* Looks up (topic, partition) in a checkpoint read as an array. */
static int64_t checkpoint_lookup(const st_offset_checkpoint_entry_t *e, size_t n,
                                 const char *topic, int32_t partition, int64_t dflt)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].partition == partition && strcmp(e[i].topic, topic) == 0)
            return e[i].offset;
    return dflt;
}

static void read_checkpoint(const char *dir, const char *name, st_offset_checkpoint_entry_t **e,
                            size_t *n)
{
    char *path = path_join(dir, name);
    *e = NULL;
    *n = 0;
    if (!path)
        return;
    int ret = st_offset_checkpoint_read(path, e, n);
    if (ret < 0 && ret != -ENOENT)
        ST_WARN("%s: ignored (%s); logs in this dir are recovered from their start", path,
                strerror(-ret));
    free(path);
}

static int load_dir(st_log_manager_t *mgr, size_t d)
{
    const char *dir = mgr->dirs[d];
    int ret = check_meta(dir, mgr->broker_id);
    if (ret < 0)
        return ret;
    char *marker = path_join(dir, CLEAN_SHUTDOWN_FILE);
    if (!marker)
        return -ENOMEM;
    bool clean = access(marker, F_OK) == 0;
    st_offset_checkpoint_entry_t *rp, *ls;
    size_t nrp, nls;
    read_checkpoint(dir, RECOVERY_POINT_FILE, &rp, &nrp);
    read_checkpoint(dir, LOG_START_FILE, &ls, &nls);

    DIR *dh = opendir(dir);
    if (!dh) {
        ret = -errno;
        ST_ERROR("%s: cannot list: %s", dir, strerror(errno));
        goto out;
    }
    struct dirent *de;
    bool announced = false;
    while ((de = readdir(dh))) {
        const char *name = de->d_name;
        if (name[0] == '.')
            continue;
        char *path = path_join(dir, name);
        struct stat st;
        if (!path || stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
            free(path);
            continue;
        }
        size_t len = strlen(name);
        if (len > 7 && strcmp(name + len - 7, "-delete") == 0) {
            ST_INFO("Removing %s, a partition deleted before the shutdown", path);
            DIR *sub = opendir(path);
            struct dirent *se;
            while (sub && (se = readdir(sub)))
                if (se->d_name[0] != '.' || (strcmp(se->d_name, ".") && strcmp(se->d_name, "..")))
                    unlinkat(dirfd(sub), se->d_name, 0);
            if (sub)
                closedir(sub);
            rmdir(path);
            free(path);
            continue;
        }
        const char *dash = strrchr(name, '-');
        char *end;
        long part = dash ? strtol(dash + 1, &end, 10) : -1;
        if (!dash || dash == name || dash[1] == '\0' || *end || part < 0 || part > INT32_MAX) {
            ST_WARN("%s: not a <topic>-<partition> directory; ignored", path);
            free(path);
            continue;
        }
        char *topic = strndup(name, (size_t)(dash - name));
        if (!topic) {
            free(path);
            ret = -ENOMEM;
            break;
        }
        if (find_entry(mgr, topic, (int32_t)part)) {
            ST_ERROR("%s: partition %s-%ld is also in another log dir", path, topic, part);
            free(topic);
            free(path);
            ret = -EEXIST;
            break;
        }
        int64_t recovery = checkpoint_lookup(rp, nrp, topic, (int32_t)part, 0);
        int64_t start = checkpoint_lookup(ls, nls, topic, (int32_t)part, -1);
        if (!announced) {
            /* one line per log dir that holds logs, as Kafka's LogManager says it */
            if (clean)
                ST_INFO("Skipping recovery for all logs in %s since clean shutdown file was found",
                        dir);
            else
                ST_INFO("Attempting recovery for all logs in %s since no clean shutdown file was "
                        "found (each log is checked from its recovery point)", dir);
            announced = true;
        }
        st_log_t *log;
        ret = st_log_open(path, &mgr->defaults, recovery, clean, &log);
        if (ret < 0) {
            ST_ERROR("%s: cannot load the log: %s", path, strerror(-ret));
            free(topic);
            free(path);
            break;
        }
        if (start > st_log_start_offset(log)) {
            int64_t end_off = st_log_end_offset(log);
            st_log_advance_start(log, start < end_off ? start : end_off);
        }
        free(topic);
        free(path);
        if ((ret = add_entry(mgr, d, log)) < 0) {
            st_log_close(log);
            break;
        }
    }
    closedir(dh);
    if (ret == 0 && clean) {
        /* from now on the logs change: a crash must not look clean */
        if (unlink(marker) < 0 && errno != ENOENT)
            ret = -errno;
        else
            ret = st_fsync_dir(dir);
    }
out:
    st_offset_checkpoint_free(rp, nrp);
    st_offset_checkpoint_free(ls, nls);
    free(marker);
    return ret;
}

static void manager_free(st_log_manager_t *mgr)
{
    for (size_t i = 0; i < mgr->n; i++) {
        st_log_close(mgr->entries[i].log);
        free(mgr->entries[i].topic);
    }
    for (size_t d = 0; d < mgr->ndirs; d++)
        free(mgr->dirs[d]);
    free(mgr->dirs);
    free(mgr->per_dir);
    free(mgr->offline);
    free(mgr->dir_ctx);
    free(mgr->notified);
    free(mgr->entries);
    free(mgr->index);
    pthread_rwlock_destroy(&mgr->lock);
    pthread_mutex_destroy(&mgr->handler_lock);
    free(mgr);
}

int st_log_manager_open(const char *const *dirs, size_t n_dirs, int32_t broker_id,
                        const st_log_config_t *defaults, st_log_manager_t **ret_mgr)
{
    if (!dirs || n_dirs == 0 || !defaults || !ret_mgr || broker_id < 0)
        return -EINVAL;
    st_log_manager_t *mgr = calloc(1, sizeof(*mgr));
    if (!mgr)
        return -ENOMEM;
    pthread_rwlock_init(&mgr->lock, NULL);
    pthread_mutex_init(&mgr->handler_lock, NULL);
    mgr->broker_id = broker_id;
    mgr->defaults = *defaults;
    mgr->last_checkpoint_ms = st_log_now_ms();
    mgr->dirs = calloc(n_dirs, sizeof(char *));
    mgr->per_dir = calloc(n_dirs, sizeof(size_t));
    mgr->offline = calloc(n_dirs, sizeof(atomic_bool));
    mgr->dir_ctx = calloc(n_dirs, sizeof(mgr_dir_t));
    mgr->notified = calloc(n_dirs, sizeof(bool));
    int ret = -ENOMEM;
    if (!mgr->dirs || !mgr->per_dir || !mgr->offline || !mgr->dir_ctx || !mgr->notified ||
        rebuild_index(mgr) < 0)
        goto fail;
    for (size_t d = 0; d < n_dirs; d++) {
        atomic_init(&mgr->offline[d], false);
        mgr->dir_ctx[d] = (mgr_dir_t){ mgr, d };
        if (!(mgr->dirs[d] = strdup(dirs[d])))
            goto fail;
        mgr->ndirs++;
        if ((ret = mkdirs(dirs[d])) < 0) {
            ST_ERROR("Cannot create the log dir %s: %s", dirs[d], strerror(-ret));
            goto fail;
        }
    }
    for (size_t d = 0; d < n_dirs; d++) {
        if ((ret = load_dir(mgr, d)) < 0) {
            /* Kafka takes such a dir offline and goes on with the others; Strand refuses to
             * start, so that the operator sees it at once */
            ST_ERROR("Cannot load log dir %s: %s (the reason is on the line above); free space "
                     "or repair it, or remove it from log.dirs", dirs[d], strerror(-ret));
            goto fail;
        }
    }
    ST_INFO("Log manager: %zu partition(s) in %zu log dir(s)", mgr->n, mgr->ndirs);
    *ret_mgr = mgr;
    return 0;
fail:
    manager_free(mgr);
    return ret;
}

/* Writes both checkpoints of every online dir from the given per-entry values. A dir whose
 * checkpoint cannot be written goes offline (a log dir failure, as in Kafka); dir_ok (may be
 * NULL) gets false for it and for dirs that were offline already. Returns 0 or the first
 * error. */
static int write_checkpoints(st_log_manager_t *mgr, const int64_t *rps, const int64_t *starts,
                             bool *dir_ok)
{
    int ret = 0;
    st_offset_checkpoint_entry_t *e = calloc(mgr->n + 1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    for (size_t d = 0; d < mgr->ndirs; d++) {
        if (atomic_load(&mgr->offline[d])) {
            if (dir_ok)
                dir_ok[d] = false;
            continue;
        }
        for (int which = 0; which < 2; which++) {
            size_t k = 0;
            for (size_t i = 0; i < mgr->n; i++) {
                if (mgr->entries[i].dir != d)
                    continue;
                e[k].topic = mgr->entries[i].topic;
                e[k].partition = mgr->entries[i].partition;
                e[k].offset = which == 0 ? rps[i] : starts[i];
                k++;
            }
            char *path = path_join(mgr->dirs[d], which == 0 ? RECOVERY_POINT_FILE : LOG_START_FILE);
            int r = path ? st_offset_checkpoint_write(path, e, k) : -ENOMEM;
            if (r < 0) {
                char what[512];
                snprintf(what, sizeof(what), "writing %s", path ? path : mgr->dirs[d]);
                if (st_log_is_io_error(r))
                    st_log_manager_fail_dir(mgr, d, r, what);
                else
                    ST_ERROR("%s: %s", what, strerror(-r));
                if (dir_ok)
                    dir_ok[d] = false;
                if (ret == 0)
                    ret = r;
            }
            free(path);
            if (r < 0)
                break;
        }
    }
    free(e);
    return ret;
}

static int checkpoint_locked(st_log_manager_t *mgr)
{
    int64_t *vals = calloc(2 * mgr->n + 1, sizeof(int64_t));
    if (!vals)
        return -ENOMEM;
    for (size_t i = 0; i < mgr->n; i++) {
        vals[i] = st_log_recovery_point(mgr->entries[i].log);
        vals[mgr->n + i] = st_log_start_offset(mgr->entries[i].log);
    }
    int ret = write_checkpoints(mgr, vals, vals + mgr->n, NULL);
    free(vals);
    return ret;
}

int st_log_manager_checkpoint(st_log_manager_t *mgr)
{
    pthread_rwlock_rdlock(&mgr->lock);
    int ret = checkpoint_locked(mgr);
    pthread_rwlock_unlock(&mgr->lock);
    return ret;
}

bool st_log_manager_close(st_log_manager_t *mgr)
{
    if (!mgr)
        return true;
    pthread_rwlock_wrlock(&mgr->lock);
    int64_t *vals = calloc(2 * mgr->n + 1, sizeof(int64_t));
    bool *dir_ok = calloc(mgr->ndirs + 1, sizeof(bool));
    bool *was_offline = calloc(mgr->ndirs + 1, sizeof(bool));
    for (size_t d = 0; dir_ok && was_offline && d < mgr->ndirs; d++) {
        was_offline[d] = atomic_load(&mgr->offline[d]);
        dir_ok[d] = vals != NULL && !was_offline[d];
    }
    for (size_t i = 0; i < mgr->n; i++) {
        st_log_t *log = mgr->entries[i].log;
        /* an offline log is closed without touching the disk; a flush error takes its dir
         * offline (logged by the log and the hook) */
        if (!st_log_is_offline(log) && st_log_flush(log) < 0 && dir_ok)
            dir_ok[mgr->entries[i].dir] = false;
        if (vals) {
            vals[i] = st_log_recovery_point(log);
            vals[mgr->n + i] = st_log_start_offset(log);
        }
        st_log_close(log);
        mgr->entries[i].log = NULL;
    }
    if (vals && dir_ok)
        write_checkpoints(mgr, vals, vals + mgr->n, dir_ok);
    bool all_clean = dir_ok != NULL && was_offline != NULL;
    for (size_t d = 0; d < mgr->ndirs; d++) {
        bool ok = dir_ok && dir_ok[d] && !atomic_load(&mgr->offline[d]);
        if (ok) {
            char *marker = path_join(mgr->dirs[d], CLEAN_SHUTDOWN_FILE);
            int r = marker ? st_file_write_atomic(marker, "", 0) : -ENOMEM;
            if (r < 0) {
                ST_ERROR("%s: cannot write the clean-shutdown marker: %s",
                         marker ? marker : mgr->dirs[d], strerror(-r));
                ok = false;
            }
            free(marker);
        }
        if (!ok) {
            all_clean = false;
            ST_WARN("Log dir %s was not closed cleanly (%s): no clean-shutdown marker, so the next "
                    "start recovers its logs from their recovery points", mgr->dirs[d],
                    was_offline && was_offline[d] ? "it was offline"
                                                  : "its logs or checkpoints could not be written");
        }
    }
    free(vals);
    free(dir_ok);
    free(was_offline);
    size_t n = mgr->n;
    mgr->n = 0;
    for (size_t i = 0; i < n; i++)
        free(mgr->entries[i].topic);
    pthread_rwlock_unlock(&mgr->lock);
    manager_free(mgr);
    return all_clean;
}

st_log_t *st_log_manager_get(st_log_manager_t *mgr, const char *topic, int32_t partition)
{
    pthread_rwlock_rdlock(&mgr->lock);
    mgr_entry_t *e = find_entry(mgr, topic, partition);
    st_log_t *log = e ? e->log : NULL;
    pthread_rwlock_unlock(&mgr->lock);
    return log;
}

int st_log_manager_create(st_log_manager_t *mgr, const char *topic, int32_t partition,
                          const st_log_config_t *cfg, st_log_t **ret_log)
{
    if (!topic || !valid_topic(topic) || partition < 0)
        return -EINVAL;
    pthread_rwlock_wrlock(&mgr->lock);
    int ret;
    if (find_entry(mgr, topic, partition)) {
        ret = -EEXIST;
        goto out;
    }
    size_t d = SIZE_MAX;
    for (size_t i = 0; i < mgr->ndirs; i++)
        if (!atomic_load(&mgr->offline[i]) && (d == SIZE_MAX || mgr->per_dir[i] < mgr->per_dir[d]))
            d = i;
    if (d == SIZE_MAX) {
        ST_ERROR("Cannot create the log of %s-%" PRId32 ": every log dir is offline", topic,
                 partition);
        ret = -EROFS;
        goto out;
    }
    char *path;
    if (asprintf(&path, "%s/%s-%" PRId32, mgr->dirs[d], topic, partition) < 0) {
        ret = -ENOMEM;
        goto out;
    }
    st_log_t *log;
    ret = st_log_open(path, cfg ? cfg : &mgr->defaults, 0, true, &log);
    if (ret < 0) {
        ST_ERROR("Error while creating the log %s in log dir %s: %s", path, mgr->dirs[d],
                 strerror(-ret));
        if (st_log_is_io_error(ret)) {
            char what[512];
            snprintf(what, sizeof(what), "creating the log %s", path);
            st_log_manager_fail_dir(mgr, d, ret, what);
        }
    } else if ((ret = add_entry(mgr, d, log)) < 0) {
        st_log_delete(log);
    } else {
        ret = st_fsync_dir(mgr->dirs[d]);
        if (ret < 0)
            st_log_fail(log, ret, "syncing the log dir after creating %s", path);
        ST_INFO("Created log %s", path);
        if (ret_log)
            *ret_log = log;
    }
    free(path);
out:
    pthread_rwlock_unlock(&mgr->lock);
    return ret;
}

int st_log_manager_delete(st_log_manager_t *mgr, const char *topic, int32_t partition)
{
    pthread_rwlock_wrlock(&mgr->lock);
    mgr_entry_t *e = find_entry(mgr, topic, partition);
    if (!e) {
        pthread_rwlock_unlock(&mgr->lock);
        return -ENOENT;
    }
    st_log_t *log = e->log;
    size_t i = (size_t)(e - mgr->entries);
    mgr->per_dir[e->dir]--;
    free(e->topic);
    mgr->entries[i] = mgr->entries[mgr->n - 1];
    mgr->n--;
    int ret = rebuild_index(mgr);
    pthread_rwlock_unlock(&mgr->lock);
    int r = st_log_delete(log);
    return ret < 0 ? ret : r;
}

void st_log_manager_foreach(st_log_manager_t *mgr, void (*fn)(st_log_t *log, void *arg), void *arg)
{
    pthread_rwlock_rdlock(&mgr->lock);
    for (size_t i = 0; i < mgr->n; i++)
        fn(mgr->entries[i].log, arg);
    pthread_rwlock_unlock(&mgr->lock);
}

void st_log_manager_maintain(st_log_manager_t *mgr, int64_t now_ms,
                             int64_t (*bound)(void *arg, st_log_t *log), void *arg)
{
    pthread_rwlock_rdlock(&mgr->lock);
    for (size_t i = 0; i < mgr->n; i++) {
        st_log_t *log = mgr->entries[i].log;
        if (st_log_is_offline(log))
            continue;
        int64_t upper = bound ? bound(arg, log) : INT64_MAX;
        if (upper < 0) {
            st_log_maybe_flush(log, now_ms);
            continue;
        }
        st_log_enforce_retention(log, now_ms, upper);
        if (st_log_needs_compaction(log, now_ms, upper)) {
            int64_t r = st_log_compact(log, now_ms, upper);
            if (r < 0)
                ST_WARN("%s: compaction failed: %s", st_log_dir(log), strerror((int)-r));
        }
        st_log_maybe_flush(log, now_ms);
    }
    int64_t last = atomic_load(&mgr->last_checkpoint_ms);
    if (now_ms - last >= CHECKPOINT_INTERVAL_MS &&
        atomic_compare_exchange_strong(&mgr->last_checkpoint_ms, &last, now_ms))
        checkpoint_locked(mgr);
    pthread_rwlock_unlock(&mgr->lock);
}
