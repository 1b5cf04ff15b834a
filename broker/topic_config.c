/* Topic defaults from the broker's configuration (Kafka's synonyms, dynamic layers first), the
 * mapping of a resolved topic configuration onto st_log_config_t, and the rules for dynamic
 * broker keys. See topic_config.h. */
#include "topic_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *st_cfg_layer_get(const st_cfg_layer_t *layer, const char *key)
{
    for (size_t i = 0; layer && i < layer->n; i++)
        if (layer->keys[i] && strcmp(layer->keys[i], key) == 0)
            return layer->values[i];
    return NULL;
}

/* The static value of a broker key as text, NULL when the key is unknown or UNSET. */
static bool static_value(const st_broker_config_t *bc, const char *key, char *buf, size_t len)
{
    const st_cfg_def_t *def = st_cfg_find(st_broker_config_table, key);
    if (!def)
        return false;
    const void *field = (const char *)bc + def->offset;
    switch (def->type) {
    case ST_CFG_INT:
        if (*(const int32_t *)field == ST_CFG_UNSET_INT)
            return false;
        break;
    case ST_CFG_LONG:
        if (*(const int64_t *)field == ST_CFG_UNSET_LONG)
            return false;
        break;
    case ST_CFG_STRING:
    case ST_CFG_LIST:
        if (!*(char *const *)field)
            return false;
        break;
    default:
        break;
    }
    st_cfg_format_one(def, bc, buf, len);
    return true;
}

void st_topic_config_broker_defaults(const st_broker_config_t *bc, const st_cfg_layer_t *per_broker,
                                     const st_cfg_layer_t *cluster_default, st_topic_config_t *ret)
{
    st_topic_config_t tc;
    st_topic_config_defaults(&tc);
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name; d++) {
        const st_cfg_layer_t *layers[2] = { per_broker, cluster_default };
        bool done = false;
        char syn[128], reason[256], buf[512];
        for (int l = 0; l < 3 && !done; l++) {
            for (int i = 0; !done && st_topic_config_synonym(d, i, syn, sizeof(syn)); i++) {
                const char *v = NULL;
                if (l < 2)
                    v = st_cfg_layer_get(layers[l], syn);
                else if (bc && static_value(bc, syn, buf, sizeof(buf)))
                    v = buf;
                /* a value that does not fit the topic key keeps the next candidate (the broker
                 * table's ranges match the topic table's, so this is defensive) */
                if (v && st_topic_config_set_from_broker(&tc, d, syn, v, reason,
                                                         sizeof(reason)) == 0)
                    done = true;
            }
        }
    }
    *ret = tc;
}

void st_topic_config_to_log(const st_topic_config_t *tc, st_log_config_t *ret)
{
    st_log_config_t lc;
    st_log_config_defaults(&lc);
    lc.segment_bytes = tc->segment_bytes;
    lc.roll_ms = tc->segment_ms;
    lc.index_interval_bytes = tc->index_interval_bytes;
    lc.index_max_bytes = tc->segment_index_bytes;
    lc.flush_interval_messages = tc->flush_messages;
    lc.flush_interval_ms = tc->flush_ms;
    lc.retention_ms = tc->retention_ms;
    lc.retention_bytes = tc->retention_bytes;
    lc.cleanup_delete = (tc->cleanup_policy & ST_CLEANUP_DELETE) != 0;
    lc.cleanup_compact = (tc->cleanup_policy & ST_CLEANUP_COMPACT) != 0;
    lc.delete_retention_ms = tc->delete_retention_ms;
    lc.file_delete_delay_ms = tc->file_delete_delay_ms;
    *ret = lc;
}

bool st_dynamic_broker_key(const char *key)
{
    int idx = -1;
    return st_topic_config_for_synonym(key, &idx) && idx == 0;
}

int st_dynamic_broker_check(const char *key, const char *value, char *reason, size_t reason_len)
{
    int idx = -1;
    const st_topic_cfg_def_t *d = st_topic_config_for_synonym(key, &idx);
    if (!d || idx != 0) {
        bool known = st_cfg_find(st_broker_config_table, key) != NULL || d != NULL;
        snprintf(reason, reason_len, "Cannot update these configs dynamically: Set(%s)", key);
        return known ? -EPERM : -ENOENT;
    }
    /* The value must fit both the broker key and the topic key it feeds. */
    const st_cfg_def_t *bdef = st_cfg_find(st_broker_config_table, key);
    if (bdef) {
        st_broker_config_t scratch;
        st_broker_config_init(&scratch);
        st_cfg_error_t err;
        int r = st_cfg_parse_one(bdef, &scratch, value, &err);
        st_broker_config_free(&scratch);
        if (r < 0) {
            char range[256];
            st_cfg_describe_range(bdef, range, sizeof(range));
            snprintf(reason, reason_len, "Invalid value %s for configuration %s: expected %s",
                     value ? value : "", key, range);
            return -EINVAL;
        }
    }
    st_topic_config_t tc;
    st_topic_config_defaults(&tc);
    char why[512];
    if (st_topic_config_set_from_broker(&tc, d, key, value ? value : "", why, sizeof(why)) < 0) {
        /* name the broker key, not the topic key */
        char range[256];
        st_cfg_describe_range(&d->cfg, range, sizeof(range));
        snprintf(reason, reason_len, "Invalid value %s for configuration %s: expected %s",
                 value ? value : "", key, range);
        return -EINVAL;
    }
    return 0;
}
