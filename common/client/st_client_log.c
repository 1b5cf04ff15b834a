/* The client's log messages (strand_conf_set_log_cb in strand.h): what is being retried, said
 * the way Kafka's Java clients say it, throttled so that a condition that lasts (a broker down
 * for a minute, a partition without a leader) gives one line every ST_LOG_THROTTLE_MS instead
 * of one per retry.
 *
 * State: cl->log_seen, a small table of recently reported conditions keyed by a caller-chosen
 * string. A key not in the table is reported at once (taking the slot reported longest ago when
 * the table is full); a key reported less than ST_LOG_THROTTLE_MS ago only counts a repeat.
 * Invariant: suppressed > 0 only for a slot whose key is set. */
#include "st_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "st_logger.h"

/* cl->log_lock held: the slot for key, or the one to reuse (key "" or the oldest). */
static st_log_seen_t *seen_slot(st_client_t *cl, const char *key, bool *ret_found)
{
    st_log_seen_t *oldest = &cl->log_seen[0];
    for (size_t i = 0; i < ST_LOG_SEEN_MAX; i++) {
        st_log_seen_t *s = &cl->log_seen[i];
        if (s->key[0] && strcmp(s->key, key) == 0) {
            *ret_found = true;
            return s;
        }
        if (!s->key[0] ? oldest->key[0] != 0 : (oldest->key[0] && s->last_ms < oldest->last_ms))
            oldest = s;
    }
    *ret_found = false;
    return oldest;
}

void st_client_log(st_client_t *cl, int level, const char *source, const char *key,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!cl->log_cb) {
        ST_DEBUG("client: %s", msg);
        return;
    }
    int64_t now = st_client_now_ms();
    uint32_t suppressed = 0;
    pthread_mutex_lock(&cl->log_lock);
    bool found;
    st_log_seen_t *s = seen_slot(cl, key, &found);
    if (found && now - s->last_ms < ST_LOG_THROTTLE_MS) {
        s->suppressed++;
        pthread_mutex_unlock(&cl->log_lock);
        return;
    }
    if (found)
        suppressed = s->suppressed;
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->last_ms = now;
    s->suppressed = 0;
    pthread_mutex_unlock(&cl->log_lock);

    const char *role = cl->role && cl->role->name ? cl->role->name : "AdminClient";
    char line[1400];
    /* Kafka's prefix names the group of a consumer that has one. */
    bool grouped = strcmp(role, "Consumer") == 0 && cl->conf.group_id && cl->conf.group_id[0];
    int n = snprintf(line, sizeof(line), "[%s clientId=%s%s%s] %s", role, cl->conf.client_id,
                     grouped ? ", groupId=" : "", grouped ? cl->conf.group_id : "", msg);
    if (suppressed && n > 0 && (size_t)n < sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t)n,
                 " (%u more like this in the last %d s)", suppressed, ST_LOG_THROTTLE_MS / 1000);
    cl->log_cb(level, source, line, cl->log_opaque);
}
