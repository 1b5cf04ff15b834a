/* DescribeConfigs entries for topics and brokers: values, sources and synonyms (see
 * config_describe.h). */
#include "config_describe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_LEN 1024

/* Kafka's ConfigType numbers. */
static int32_t kafka_type(const st_cfg_def_t *def)
{
    if (def->secret)
        return 9;                                   /* PASSWORD */
    switch (def->type) {
    case ST_CFG_BOOL: return 1;
    case ST_CFG_STRING: case ST_CFG_ENUM: return 2;
    case ST_CFG_INT: return 3;
    case ST_CFG_LONG: return 5;
    case ST_CFG_DOUBLE: return 6;
    case ST_CFG_LIST: case ST_CFG_SET: return 7;
    }
    return 0;
}

/* ---- the layers of one broker key ------------------------------------------------------------ */

typedef struct ctx {
    const st_config_view_t *view;
    st_broker_config_t defaults;            /* the broker table's defaults, to tell STATIC */
    bool no_per_broker;                     /* describing the cluster default */
} ctx_t;

/* The value of broker key `name` in layer `source` into buf; false when that layer has none. */
static bool layer_value(ctx_t *c, int source, const char *name, char *buf, size_t len)
{
    const char *v = NULL;
    const st_cfg_def_t *def;
    switch (source) {
    case ST_CONFIG_SOURCE_DYNAMIC_BROKER:
        v = c->no_per_broker ? NULL : st_cfg_layer_get(c->view->per_broker, name);
        break;
    case ST_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER:
        v = st_cfg_layer_get(c->view->cluster_default, name);
        break;
    case ST_CONFIG_SOURCE_STATIC_BROKER: {
        def = st_cfg_find(st_broker_config_table, name);
        if (!def || !c->view->bc)
            return false;
        char dflt[VALUE_LEN];
        st_cfg_format_one(def, c->view->bc, buf, len);
        st_cfg_format_one(def, &c->defaults, dflt, sizeof(dflt));
        return strcmp(buf, "null") != 0 && strcmp(buf, dflt) != 0;
    }
    case ST_CONFIG_SOURCE_DEFAULT:
        def = st_cfg_find(st_broker_config_table, name);
        if (!def || !def->default_value)
            return false;
        st_cfg_format_one(def, &c->defaults, buf, len);
        return true;
    default:
        return false;
    }
    if (!v)
        return false;
    snprintf(buf, len, "%s", v);
    return true;
}

typedef struct syn_list {
    Strand__DescribeConfigsSynonym **v;
    size_t n, cap;
    bool oom;
} syn_list_t;

static void syn_push(syn_list_t *l, const char *name, const char *value, int source, bool secret)
{
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        Strand__DescribeConfigsSynonym **nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv) {
            l->oom = true;
            return;
        }
        l->v = nv;
        l->cap = cap;
    }
    Strand__DescribeConfigsSynonym *s = calloc(1, sizeof(*s));
    if (!s) {
        l->oom = true;
        return;
    }
    strand__describe_configs_synonym__init(s);
    s->name = strdup(name);
    s->value = strdup(secret ? "" : value);
    s->value_null = secret;
    s->source = source;
    l->v[l->n++] = s;
    if (!s->name || !s->value)
        l->oom = true;
}

static void syn_free(Strand__DescribeConfigsSynonym *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->value);
    free(s);
}

/* The broker layers of key `primary`, whose synonym group is `group` (comma-separated names,
 * precedence order): every layer's value of every name, layers first, then Kafka's dropWhile
 * to the primary. */
static void broker_synonyms(ctx_t *c, const char *group, const char *primary, bool secret,
                            syn_list_t *out)
{
    static const int sources[] = { ST_CONFIG_SOURCE_DYNAMIC_BROKER,
                                   ST_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER,
                                   ST_CONFIG_SOURCE_STATIC_BROKER, ST_CONFIG_SOURCE_DEFAULT };
    syn_list_t all = { 0 };
    for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
        for (const char *p = group; p && *p;) {
            size_t k = strcspn(p, ",");
            char name[128], value[VALUE_LEN];
            snprintf(name, sizeof(name), "%.*s", (int)k, p);
            if (layer_value(c, sources[s], name, value, sizeof(value)))
                syn_push(&all, name, value, sources[s], secret);
            p += k + (p[k] == ',');
        }
    }
    size_t first = 0;
    while (first < all.n && strcmp(all.v[first]->name, primary) != 0)
        first++;
    for (size_t i = 0; i < all.n; i++) {
        if (i < first) {
            syn_free(all.v[i]);
            continue;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 8;
            Strand__DescribeConfigsSynonym **nv = realloc(out->v, cap * sizeof(*nv));
            if (!nv) {
                out->oom = true;
                syn_free(all.v[i]);
                continue;
            }
            out->v = nv;
            out->cap = cap;
        }
        out->v[out->n++] = all.v[i];
    }
    out->oom |= all.oom;
    free(all.v);
}

/* ---- entries ------------------------------------------------------------------------------- */

static bool wanted(const char *name, char *const *keys, size_t n_keys)
{
    if (!n_keys)
        return true;
    for (size_t i = 0; i < n_keys; i++)
        if (keys[i] && strcmp(keys[i], name) == 0)
            return true;
    return false;
}

static int push_entry(st_config_entries_t *e, size_t *cap, Strand__DescribeConfigsResourceResult *r)
{
    if (e->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        Strand__DescribeConfigsResourceResult **nv = realloc(e->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        e->v = nv;
        *cap = ncap;
    }
    e->v[e->n++] = r;
    return 0;
}

static void entry_free(Strand__DescribeConfigsResourceResult *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->value);
    free(r->documentation);
    for (size_t k = 0; k < r->n_synonyms; k++)
        syn_free(r->synonyms[k]);
    free(r->synonyms);
    free(r);
}

/* A new entry taking the synonyms (moved in); source from the first synonym, DEFAULT_CONFIG
 * when there is none. keep_synonyms false: the list is dropped once the source is known. */
static Strand__DescribeConfigsResourceResult *make_entry(const st_cfg_def_t *def,
                                                         const char *value, bool value_null,
                                                         bool read_only, syn_list_t *syn,
                                                         bool keep_synonyms, bool docs)
{
    Strand__DescribeConfigsResourceResult *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    strand__describe_configs_resource_result__init(r);
    r->name = strdup(def->name);
    r->value = strdup(value_null ? "" : value);
    r->value_null = value_null;
    r->read_only = read_only;
    r->is_sensitive = def->secret;
    r->config_type = kafka_type(def);
    r->config_source = syn->n ? syn->v[0]->source : ST_CONFIG_SOURCE_DEFAULT;
    r->documentation = strdup(docs && def->doc ? def->doc : "");
    if (keep_synonyms) {
        r->synonyms = syn->v;
        r->n_synonyms = syn->n;
    } else {
        for (size_t i = 0; i < syn->n; i++)
            syn_free(syn->v[i]);
        free(syn->v);
    }
    syn->v = NULL;
    syn->n = syn->cap = 0;
    if (!r->name || !r->value || !r->documentation) {
        entry_free(r);
        return NULL;
    }
    return r;
}

void st_config_entries_free(st_config_entries_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        entry_free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

int st_config_describe_topic(const st_config_view_t *view, const st_cfg_layer_t *overrides,
                             char *const *keys, size_t n_keys, bool synonyms, bool docs,
                             st_config_entries_t *ret)
{
    ctx_t c = { .view = view };
    st_broker_config_init(&c.defaults);
    st_topic_config_t resolved;
    st_topic_config_broker_defaults(view->bc, view->per_broker, view->cluster_default, &resolved);
    st_config_entries_t e = { 0 };
    size_t cap = 0;
    int r = 0;
    for (const st_topic_cfg_def_t *d = st_topic_config_table; d->cfg.name && r == 0; d++) {
        if (!wanted(d->cfg.name, keys, n_keys))
            continue;
        syn_list_t syn = { 0 };
        char value[VALUE_LEN], why[256], primary[128] = "";
        const char *ov = st_cfg_layer_get(overrides, d->cfg.name);
        st_topic_config_t one = resolved;
        if (ov) {
            /* an override that does not validate (a hand-edited znode) is shown as written */
            if (st_topic_config_set(&one, d->cfg.name, ov, why, sizeof(why)) == 0)
                st_topic_config_format(d, &one, value, sizeof(value));
            else
                snprintf(value, sizeof(value), "%s", ov);
            syn_push(&syn, d->cfg.name, value, ST_CONFIG_SOURCE_DYNAMIC_TOPIC, false);
        } else {
            st_topic_config_format(d, &resolved, value, sizeof(value));
        }
        st_topic_config_synonym(d, 0, primary, sizeof(primary));
        broker_synonyms(&c, d->synonyms, primary, false, &syn);
        Strand__DescribeConfigsResourceResult *entry =
            syn.oom ? NULL : make_entry(&d->cfg, value, false, false, &syn, synonyms, docs);
        if (!entry || push_entry(&e, &cap, entry) < 0) {
            for (size_t i = 0; i < syn.n; i++)
                syn_free(syn.v[i]);
            free(syn.v);
            entry_free(entry);
            r = -ENOMEM;
        }
    }
    st_broker_config_free(&c.defaults);
    if (r < 0) {
        st_config_entries_free(&e);
        return r;
    }
    *ret = e;
    return 0;
}

int st_config_describe_broker(const st_config_view_t *view, bool cluster_default,
                              char *const *keys, size_t n_keys, bool synonyms, bool docs,
                              st_config_entries_t *ret)
{
    ctx_t c = { .view = view, .no_per_broker = cluster_default };
    st_broker_config_init(&c.defaults);
    st_config_entries_t e = { 0 };
    size_t cap = 0;
    int r = 0;
    for (const st_cfg_def_t *def = st_broker_config_table; def->name && r == 0; def++) {
        if (!wanted(def->name, keys, n_keys))
            continue;
        if (cluster_default && !st_cfg_layer_get(view->cluster_default, def->name))
            continue;
        const st_topic_cfg_def_t *td = st_topic_config_for_synonym(def->name, NULL);
        syn_list_t syn = { 0 };
        broker_synonyms(&c, td ? td->synonyms : def->name, def->name, def->secret, &syn);
        if (cluster_default) {
            /* Kafka: the default resource lists only the cluster-default layer */
            size_t k = 0;
            for (size_t i = 0; i < syn.n; i++) {
                if (syn.v[i]->source == ST_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER)
                    syn.v[k++] = syn.v[i];
                else
                    syn_free(syn.v[i]);
            }
            syn.n = k;
        }
        /* the value: the first layer that has this very key */
        char value[VALUE_LEN] = "";
        bool have = false;
        static const int sources[] = { ST_CONFIG_SOURCE_DYNAMIC_BROKER,
                                       ST_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER };
        for (size_t s = 0; s < 2 && !have; s++)
            have = layer_value(&c, sources[s], def->name, value, sizeof(value));
        if (!have && view->bc) {
            st_cfg_format_one(def, view->bc, value, sizeof(value));
            have = strcmp(value, "null") != 0;
        }
        bool null = def->secret || !have;
        Strand__DescribeConfigsResourceResult *entry =
            syn.oom ? NULL : make_entry(def, value, null, !st_dynamic_broker_key(def->name), &syn,
                                        synonyms, docs);
        if (!entry || push_entry(&e, &cap, entry) < 0) {
            for (size_t i = 0; i < syn.n; i++)
                syn_free(syn.v[i]);
            free(syn.v);
            entry_free(entry);
            r = -ENOMEM;
        }
    }
    st_broker_config_free(&c.defaults);
    if (r < 0) {
        st_config_entries_free(&e);
        return r;
    }
    *ret = e;
    return 0;
}
