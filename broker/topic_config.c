/* Topic-name validation and Kafka's topic-level config keys mapped onto st_topic_config_t. */
#include "topic_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_long(const char *key, const char *value, int64_t min, int64_t max,
                      int64_t *ret, char *reason, size_t reason_len)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (!*value || *end != '\0' || errno == ERANGE || v < min || v > max) {
        snprintf(reason, reason_len, "Invalid value %s for configuration %s: expected an integer in "
                 "[%" PRId64 ", %" PRId64 "]", value, key, min, max);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

static int parse_bool(const char *key, const char *value, bool *ret, char *reason, size_t reason_len)
{
    if (strcasecmp(value, "true") == 0)
        *ret = true;
    else if (strcasecmp(value, "false") == 0)
        *ret = false;
    else {
        snprintf(reason, reason_len, "Invalid value %s for configuration %s: expected true or false",
                 value, key);
        return -EINVAL;
    }
    return 0;
}

static int parse_policy(const char *value, bool *ret_delete, bool *ret_compact, char *reason,
                        size_t reason_len)
{
    bool del = false, compact = false;
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ", ");
        if (n == 6 && strncasecmp(p, "delete", 6) == 0)
            del = true;
        else if (n == 7 && strncasecmp(p, "compact", 7) == 0)
            compact = true;
        else
            goto bad;
        p += n;
    }
    if (!del && !compact)
        goto bad;
    *ret_delete = del;
    *ret_compact = compact;
    return 0;
bad:
    snprintf(reason, reason_len, "Invalid value %s for configuration cleanup.policy: expected "
             "delete, compact or compact,delete", value);
    return -EINVAL;
}

int st_topic_config_set(st_topic_config_t *cfg, const char *key, const char *value,
                        char *reason, size_t reason_len)
{
    int64_t v = 0;
    int r = 0;
    if (!value)
        value = "";
    if (strcmp(key, "cleanup.policy") == 0)
        return parse_policy(value, &cfg->log.cleanup_delete, &cfg->log.cleanup_compact, reason,
                            reason_len);
    if (strcmp(key, "retention.ms") == 0) {
        if ((r = parse_long(key, value, -1, INT64_MAX, &v, reason, reason_len)) == 0)
            cfg->log.retention_ms = v;
    } else if (strcmp(key, "retention.bytes") == 0) {
        if ((r = parse_long(key, value, -1, INT64_MAX, &v, reason, reason_len)) == 0)
            cfg->log.retention_bytes = v;
    } else if (strcmp(key, "segment.bytes") == 0) {
        if ((r = parse_long(key, value, 14, INT32_MAX, &v, reason, reason_len)) == 0)
            cfg->log.segment_bytes = v;
    } else if (strcmp(key, "segment.ms") == 0) {
        if ((r = parse_long(key, value, 1, INT64_MAX, &v, reason, reason_len)) == 0)
            cfg->log.roll_ms = v;
    } else if (strcmp(key, "segment.index.bytes") == 0) {
        if ((r = parse_long(key, value, 4, INT32_MAX, &v, reason, reason_len)) == 0)
            cfg->log.index_max_bytes = (int32_t)v;
    } else if (strcmp(key, "index.interval.bytes") == 0) {
        if ((r = parse_long(key, value, 0, INT32_MAX, &v, reason, reason_len)) == 0)
            cfg->log.index_interval_bytes = (int32_t)v;
    } else if (strcmp(key, "flush.messages") == 0) {
        if ((r = parse_long(key, value, 1, INT64_MAX, &v, reason, reason_len)) == 0)
            cfg->log.flush_interval_messages = v;
    } else if (strcmp(key, "flush.ms") == 0) {
        if ((r = parse_long(key, value, 0, INT64_MAX, &v, reason, reason_len)) == 0)
            cfg->log.flush_interval_ms = v;
    } else if (strcmp(key, "delete.retention.ms") == 0) {
        if ((r = parse_long(key, value, 0, INT64_MAX, &v, reason, reason_len)) == 0)
            cfg->log.delete_retention_ms = v;
    } else if (strcmp(key, "file.delete.delay.ms") == 0) {
        if ((r = parse_long(key, value, 0, INT64_MAX, &v, reason, reason_len)) == 0)
            cfg->log.file_delete_delay_ms = v;
    } else if (strcmp(key, "max.message.bytes") == 0) {
        if ((r = parse_long(key, value, 0, INT32_MAX, &v, reason, reason_len)) == 0)
            cfg->max_message_bytes = (int32_t)v;
    } else if (strcmp(key, "min.insync.replicas") == 0) {
        if ((r = parse_long(key, value, 1, INT32_MAX, &v, reason, reason_len)) == 0)
            cfg->min_insync_replicas = (int32_t)v;
    } else if (strcmp(key, "unclean.leader.election.enable") == 0) {
        bool b;
        r = parse_bool(key, value, &b, reason, reason_len);
    } else {
        snprintf(reason, reason_len, "Unknown topic config name: %s (supported: cleanup.policy, "
                 "retention.ms, retention.bytes, segment.bytes, segment.ms, segment.index.bytes, "
                 "index.interval.bytes, flush.messages, flush.ms, delete.retention.ms, "
                 "file.delete.delay.ms, max.message.bytes, min.insync.replicas, "
                 "unclean.leader.election.enable)", key);
        return -ENOENT;
    }
    return r;
}
