/* Background maintenance thread (see maintenance.h). Sleeps on a condition variable with a
 * monotonic-clock deadline so that stopping it is immediate. */
#include "maintenance.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "st_logger.h"

struct st_maintenance {
    st_broker_t *broker;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

/* The upper bound of retention and compaction for one log: its partition's high watermark
 * (nothing uncommitted is ever deleted or rewritten), or -1 when this broker does not host the
 * partition (a log left on disk: not touched). Maintenance thread; takes the registry's and the
 * partition's locks briefly. */
static int64_t hw_bound(void *arg, st_log_t *log)
{
    st_broker_t *b = arg;
    st_partition_t *part = st_registry_get(b->reg, st_log_topic(log), st_log_partition(log));
    if (!part)
        return -1;
    int64_t hw = st_partition_deleted(part) ? -1 : st_partition_high_watermark(part);
    st_partition_unref(part);
    return hw;
}

static void *maintenance_main(void *arg)
{
    st_maintenance_t *m = arg;
    const st_broker_config_t *cfg = &m->broker->cfg;
    pthread_setname_np(pthread_self(), "st-maintain");
    int64_t next_maintain = st_now_ms() + cfg->log_retention_check_interval_ms;
    int64_t next_checkpoint = st_now_ms() + cfg->log_flush_offset_checkpoint_interval_ms;
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        int64_t next = next_maintain < next_checkpoint ? next_maintain : next_checkpoint;
        int64_t now = st_now_ms();
        if (now < next) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = next - now;
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&m->cond, &m->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&m->lock);
        if (now >= next_maintain) {
            st_log_manager_maintain(m->broker->mgr, st_wall_ms(), hw_bound, m->broker);
            next_maintain = st_now_ms() + cfg->log_retention_check_interval_ms;
        }
        if (now >= next_checkpoint) {
            int r = st_log_manager_checkpoint(m->broker->mgr);
            if (r < 0)
                ST_ERROR("Writing the recovery-point checkpoints failed: %s", strerror(-r));
            next_checkpoint = st_now_ms() + cfg->log_flush_offset_checkpoint_interval_ms;
        }
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int st_maintenance_start(st_broker_t *broker, st_maintenance_t **ret)
{
    st_maintenance_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->broker = broker;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &attr);
    pthread_condattr_destroy(&attr);
    int r = pthread_create(&m->thread, NULL, maintenance_main, m);
    if (r != 0) {
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return -r;
    }
    *ret = m;
    return 0;
}

void st_maintenance_stop(st_maintenance_t *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
