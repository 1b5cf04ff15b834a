/* Kafka's topic-level configuration table (see st_topic_config.h): definitions, validation,
 * formatting and the conversion of broker synonyms into topic values. */
#include "st_topic_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define OFF(field) offsetof(st_topic_config_t, field)
#define I32MAX INT32_MAX
#define I64MAX INT64_MAX
#define LONG_MAX_STR "9223372036854775807"

/* { { name, type, Kafka's default, min, max, valid, field, doc, secret }, synonyms, applied }
 * Sorted by name (DescribeConfigs lists them in this order). */
const st_topic_cfg_def_t st_topic_config_table[] = {
    { { "cleanup.policy", ST_CFG_SET, "delete", 0, 0, "compact,delete", OFF(cleanup_policy),
        "delete: old segments are deleted by retention.ms / retention.bytes; compact: the latest "
        "record of each key is kept (tombstones for delete.retention.ms); both: compact,delete.",
        false }, "log.cleanup.policy", true },
    { { "compression.type", ST_CFG_ENUM, "producer", 0, 0, ST_TOPIC_COMPRESSION_VALUES,
        OFF(compression_type),
        "Codec of the stored batches: producer keeps what the producer sent; uncompressed and lz4 "
        "make the leader re-encode batches that arrive in another codec. gzip, snappy and zstd "
        "are refused (Strand supports lz4 only).", false }, "compression.type", true },
    { { "delete.retention.ms", ST_CFG_LONG, "86400000", 0, I64MAX, NULL, OFF(delete_retention_ms),
        "How long tombstones of a compacted topic are kept.", false },
      "log.cleaner.delete.retention.ms", true },
    { { "file.delete.delay.ms", ST_CFG_LONG, "60000", 0, I64MAX, NULL, OFF(file_delete_delay_ms),
        "Time a deleted segment stays as *.deleted before its files are removed.", false },
      "log.segment.delete.delay.ms", true },
    { { "flush.messages", ST_CFG_LONG, LONG_MAX_STR, 0, I64MAX, NULL, OFF(flush_messages),
        "Records appended before the log is fsync'd (the default leaves it to the OS).", false },
      "log.flush.interval.messages", true },
    { { "flush.ms", ST_CFG_LONG, LONG_MAX_STR, 0, I64MAX, NULL, OFF(flush_ms),
        "Longest time a record stays unflushed (checked every log.retention.check.interval.ms).",
        false }, "log.flush.interval.ms", true },
    { { "index.interval.bytes", ST_CFG_INT, "4096", 0, I32MAX, NULL, OFF(index_interval_bytes),
        "Bytes of log between two entries of the offset index.", false },
      "log.index.interval.bytes", true },
    { { "max.compaction.lag.ms", ST_CFG_LONG, LONG_MAX_STR, 1, I64MAX, NULL,
        OFF(max_compaction_lag_ms),
        "Accepted without effect: Strand's cleaner compacts every closed segment at each pass, so "
        "no record waits longer than log.retention.check.interval.ms plus the active segment's "
        "life.", false }, "log.cleaner.max.compaction.lag.ms", false },
    { { "max.message.bytes", ST_CFG_INT, "1048588", 0, I32MAX, NULL, OFF(max_message_bytes),
        "Largest record batch accepted (MESSAGE_TOO_LARGE beyond).", false },
      "message.max.bytes", true },
    { { "message.downconversion.enable", ST_CFG_BOOL, "true", 0, 0, NULL,
        OFF(message_downconversion_enable),
        "Accepted without effect: Strand has one record format (v2) and never down-converts.",
        false }, "log.message.downconversion.enable", false },
    { { "message.timestamp.difference.max.ms", ST_CFG_LONG, LONG_MAX_STR, 0, I64MAX, NULL,
        OFF(message_timestamp_difference_max_ms),
        "With CreateTime: a batch whose first or largest timestamp is further than this from the "
        "leader's clock is refused (INVALID_TIMESTAMP). The batch header's timestamps are "
        "checked, not each record's.", false },
      "log.message.timestamp.difference.max.ms", true },
    { { "message.timestamp.type", ST_CFG_ENUM, "CreateTime", 0, 0, "CreateTime,LogAppendTime",
        OFF(message_timestamp_type),
        "CreateTime keeps the producer's timestamps; LogAppendTime has the leader stamp each batch "
        "with its clock at append (the batch's timestamp type and max timestamp).", false },
      "log.message.timestamp.type", true },
    { { "min.cleanable.dirty.ratio", ST_CFG_DOUBLE, "0.5", 0, 1, NULL,
        OFF(min_cleanable_dirty_ratio),
        "Accepted without effect: Strand's cleaner has no dirty-ratio bookkeeping; it compacts "
        "every closed segment at each pass.", false },
      "log.cleaner.min.cleanable.ratio", false },
    { { "min.compaction.lag.ms", ST_CFG_LONG, "0", 0, I64MAX, NULL, OFF(min_compaction_lag_ms),
        "Accepted without effect: closed segments are compacted whatever their age.", false },
      "log.cleaner.min.compaction.lag.ms", false },
    { { "min.insync.replicas", ST_CFG_INT, "1", 1, I32MAX, NULL, OFF(min_insync_replicas),
        "Smallest ISR with which an acks=all produce is accepted (NOT_ENOUGH_REPLICAS below).",
        false }, "min.insync.replicas", true },
    { { "preallocate", ST_CFG_BOOL, "false", 0, 0, NULL, OFF(preallocate),
        "Accepted without effect: segment files grow as they are written (the indexes are always "
        "preallocated).", false }, "log.preallocate", false },
    { { "retention.bytes", ST_CFG_LONG, "-1", -1, I64MAX, NULL, OFF(retention_bytes),
        "Largest size of a partition's log before old segments are deleted; -1 unlimited.",
        false }, "log.retention.bytes", true },
    { { "retention.ms", ST_CFG_LONG, "604800000", -1, I64MAX, NULL, OFF(retention_ms),
        "How long a segment is kept (by its largest timestamp) before deletion; -1 unlimited.",
        false }, "log.retention.ms,log.retention.minutes,log.retention.hours", true },
    { { "segment.bytes", ST_CFG_INT, "1073741824", 14, I32MAX, NULL, OFF(segment_bytes),
        "Largest size of a segment file: an append that would pass it rolls a new segment first.",
        false }, "log.segment.bytes", true },
    { { "segment.index.bytes", ST_CFG_INT, "10485760", 4, I32MAX, NULL, OFF(segment_index_bytes),
        "Size of the preallocated offset index of a segment; a full index rolls the segment.",
        false }, "log.index.size.max.bytes", true },
    { { "segment.jitter.ms", ST_CFG_LONG, "0", 0, I64MAX, NULL, OFF(segment_jitter_ms),
        "Accepted without effect: segments roll exactly at segment.ms.", false },
      "log.roll.jitter.ms,log.roll.jitter.hours", false },
    { { "segment.ms", ST_CFG_LONG, "604800000", 1, I64MAX, NULL, OFF(segment_ms),
        "Largest age of the active segment before a new one is rolled.", false },
      "log.roll.ms,log.roll.hours", true },
    { { "unclean.leader.election.enable", ST_CFG_BOOL, "false", 0, 0, NULL,
        OFF(unclean_leader_election_enable),
        "Let the controller elect a replica outside the ISR when no ISR member is alive, losing "
        "data.", false }, "unclean.leader.election.enable", true },
    { { NULL, 0, NULL, 0, 0, NULL, 0, NULL, false }, NULL, false },
};

const st_topic_cfg_def_t *st_topic_config_find(const char *name)
{
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name; d++)
        if (strcmp(d->cfg.name, name) == 0)
            return d;
    return NULL;
}

bool st_topic_config_synonym(const st_topic_cfg_def_t *def, int i, char *buf, size_t len)
{
    const char *p = def->synonyms;
    for (int k = 0; p && *p; k++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (k == i) {
            snprintf(buf, len, "%.*s", (int)n, p);
            return true;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

const st_topic_cfg_def_t *st_topic_config_for_synonym(const char *broker_key, int *ret_index)
{
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name; d++) {
        char syn[128];
        for (int i = 0; st_topic_config_synonym(d, i, syn, sizeof(syn)); i++) {
            if (strcmp(syn, broker_key) == 0) {
                if (ret_index)
                    *ret_index = i;
                return d;
            }
        }
    }
    return NULL;
}

void st_topic_config_defaults(st_topic_config_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name; d++) {
        st_cfg_error_t err;
        if (st_cfg_parse_one(&d->cfg, ret, d->cfg.default_value, &err) < 0)
            abort();   /* a default that fails its own validation is a bug in the table */
    }
}

int st_topic_config_set(st_topic_config_t *cfg, const char *key, const char *value,
                        char *reason, size_t reason_len)
{
    const st_topic_cfg_def_t *def = key ? st_topic_config_find(key) : NULL;
    if (!def) {
        /* a typo gets the closest key (common/st_config.c's did-you-mean over this table) */
        const char *near = key ? st_cfg_closest_name(key, &st_topic_config_table[0].cfg.name,
                                                     SIZE_MAX, sizeof(st_topic_config_table[0]))
                               : NULL;
        snprintf(reason, reason_len, "Unknown topic config name: %s%s%s%s", key ? key : "(null)",
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return -ENOENT;
    }
    if (!value)
        value = "";
    /* Kafka's codecs that Strand does not have: say so rather than "not one of". */
    if (strcmp(key, "compression.type") == 0 &&
        (strcasecmp(value, "gzip") == 0 || strcasecmp(value, "snappy") == 0 ||
         strcasecmp(value, "zstd") == 0)) {
        snprintf(reason, reason_len, "Invalid value %s for configuration compression.type: "
                 "Strand supports only lz4 compression (accepted: %s)", value,
                 ST_TOPIC_COMPRESSION_VALUES);
        return -EINVAL;
    }
    st_topic_config_t tmp = cfg ? *cfg : (st_topic_config_t){ 0 };
    st_cfg_error_t err;
    if (st_cfg_parse_one(&def->cfg, &tmp, value, &err) < 0) {
        char range[256];
        st_cfg_describe_range(&def->cfg, range, sizeof(range));
        snprintf(reason, reason_len, "Invalid value %s for configuration %s: expected %s", value,
                 key, range);
        return -EINVAL;
    }
    if (cfg)
        *cfg = tmp;
    return 0;
}

int st_topic_config_validate(const char *const *keys, const char *const *values, size_t n,
                             char *reason, size_t reason_len)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (keys[i] && keys[j] && strcmp(keys[i], keys[j]) == 0) {
                snprintf(reason, reason_len, "Config %s is given twice", keys[i]);
                return -EINVAL;
            }
        }
        int r = st_topic_config_set(NULL, keys[i], values[i], reason, reason_len);
        if (r < 0)
            return r;
    }
    return 0;
}

void st_topic_config_format(const st_topic_cfg_def_t *def, const st_topic_config_t *cfg,
                            char *out, size_t len)
{
    st_cfg_format_one(&def->cfg, cfg, out, len);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int st_topic_config_set_from_broker(st_topic_config_t *cfg, const st_topic_cfg_def_t *def,
                                    const char *broker_key, const char *broker_value,
                                    char *reason, size_t reason_len)
{
    int64_t scale = ends_with(broker_key, ".hours") ? 3600000 : ends_with(broker_key, ".minutes")
                                                                    ? 60000 : 1;
    char buf[64];
    const char *value = broker_value;
    if (scale != 1) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(broker_value, &end, 10);
        if (!*broker_value || *end || errno) {
            snprintf(reason, reason_len, "%s=%s: not an integer", broker_key, broker_value);
            return -EINVAL;
        }
        int64_t ms = v < 0 ? -1 : v > INT64_MAX / scale ? INT64_MAX : (int64_t)v * scale;
        snprintf(buf, sizeof(buf), "%" PRId64, ms);
        value = buf;
    }
    return st_topic_config_set(cfg, def->cfg.name, value, reason, reason_len);
}
