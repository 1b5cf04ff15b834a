/* Topic administration as ZooKeeper writes (see st_topic_admin.h): validation, Kafka's replica
 * placement (st_assign), and the znodes the controller reacts to. */
#include "st_topic_admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_assign.h"
#include "st_error.h"
#include "st_names.h"
#include "st_topic_config.h"

#define PATH_MAX_LEN 512

/* A ZooKeeper failure as an st_error_t code with the path in the message. */
static int zk_fail(int r, const char *what, const char *path, char *msg, size_t msg_len)
{
    snprintf(msg, msg_len, "%s %s: %s", what, path, st_zk_strerror(r));
    return r == -ETIMEDOUT || r == -ESHUTDOWN ? ST_ERR_REQUEST_TIMED_OUT
                                              : ST_ERR_UNKNOWN_SERVER_ERROR;
}

static int cmp_broker(const void *a, const void *b)
{
    int32_t x = ((const st_admin_broker_t *)a)->id, y = ((const st_admin_broker_t *)b)->id;
    return (x > y) - (x < y);
}

int st_topic_admin_brokers(st_zk_t *zk, st_admin_broker_t **ret, size_t *ret_n, char *msg,
                           size_t msg_len)
{
    char **ids = NULL;
    size_t n = 0;
    int r = st_zk_children(zk, ST_ZPATH_BROKERS_IDS, false, &ids, &n);
    if (r == -ENOENT)
        n = 0;
    else if (r < 0)
        return zk_fail(r, "listing", ST_ZPATH_BROKERS_IDS, msg, msg_len);
    st_admin_broker_t *out = calloc(n ? n : 1, sizeof(*out));
    if (!out) {
        st_zk_free_strings(ids, n);
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX_LEN], *data = NULL, err[256];
        int len = 0;
        snprintf(path, sizeof(path), "%s/%s", ST_ZPATH_BROKERS_IDS, ids[i]);
        if (st_zk_get(zk, path, false, &data, &len, NULL) < 0)
            continue;   /* gone meanwhile */
        st_broker_reg_t reg;
        memset(&reg, 0, sizeof(reg));
        if (st_znode_broker_decode(path, data, (size_t)len, &reg, err, sizeof(err)) == 0) {
            out[k].id = reg.id;
            snprintf(out[k].rack, sizeof(out[k].rack), "%s", reg.rack ? reg.rack : "");
            k++;
            st_broker_reg_free(&reg);
        }
        free(data);
    }
    st_zk_free_strings(ids, n);
    qsort(out, k, sizeof(*out), cmp_broker);
    *ret = out;
    *ret_n = k;
    return ST_ERR_NONE;
}

/* TOPIC_ALREADY_EXISTS / INVALID_TOPIC_EXCEPTION for a name that is taken or collides. */
static int check_name_free(st_zk_t *zk, const char *name, char *msg, size_t msg_len)
{
    char path[PATH_MAX_LEN];
    if (st_zpath_topic(path, sizeof(path), name) < 0) {
        snprintf(msg, msg_len, "Topic name '%s' is too long", name);
        return ST_ERR_INVALID_TOPIC_EXCEPTION;
    }
    int r = st_zk_exists(zk, path, false, NULL);
    if (r == 0) {
        char del[PATH_MAX_LEN];
        st_zpath_delete_topic(del, sizeof(del), name);
        if (st_zk_exists(zk, del, false, NULL) == 0)
            snprintf(msg, msg_len, "Topic '%s' is already marked for deletion", name);
        else
            snprintf(msg, msg_len, "Topic '%s' already exists.", name);
        return ST_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (r != -ENOENT)
        return zk_fail(r, "reading", path, msg, msg_len);
    if (!strpbrk(name, "._"))
        return ST_ERR_NONE;
    char **names = NULL;
    size_t n = 0;
    r = st_zk_children(zk, ST_ZPATH_BROKERS_TOPICS, false, &names, &n);
    if (r < 0 && r != -ENOENT)
        return zk_fail(r, "listing", ST_ZPATH_BROKERS_TOPICS, msg, msg_len);
    int code = ST_ERR_NONE;
    for (size_t i = 0; i < n && code == ST_ERR_NONE; i++) {
        if (st_topic_names_collide(names[i], name)) {
            snprintf(msg, msg_len, "Topic '%s' collides with existing topic: %s", name, names[i]);
            code = ST_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    st_zk_free_strings(names, n);
    return code;
}

/* The broker set as st_assign wants it. ids_out has room for n. */
static void to_assign_brokers(const st_admin_broker_t *brokers, size_t n, st_assign_broker_t *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i].id = brokers[i].id;
        out[i].rack = brokers[i].rack[0] ? brokers[i].rack : NULL;
    }
}

/* Checks explicit rows against the registered brokers (known ids sorted ascending). */
static int check_rows(const int32_t *rows, size_t n_rows, size_t rf, int32_t first_partition,
                      const st_admin_broker_t *brokers, size_t n_brokers, char *msg,
                      size_t msg_len)
{
    int32_t *known = calloc(n_brokers ? n_brokers : 1, sizeof(int32_t));
    if (!known) {
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    for (size_t i = 0; i < n_brokers; i++)
        known[i] = brokers[i].id;
    st_assign_idset_t set = { known, n_brokers };
    int code = ST_ERR_NONE;
    for (size_t p = 0; p < n_rows && code == ST_ERR_NONE; p++)
        code = st_assign_check_replicas(first_partition + (int32_t)p, rows + p * rf, rf, &set, msg,
                                        msg_len);
    free(known);
    return code;
}

static void set_data_op(zoo_op_t *op, const char *path, const char *data, int version,
                        struct Stat *stat)
{
    zoo_set_op_init(op, path, data, (int)strlen(data), version, stat);
}

int st_topic_admin_create(st_zk_t *zk, const st_topic_spec_t *spec, int32_t **ret_assignment,
                          char *msg, size_t msg_len)
{
    if (!st_topic_name_valid(spec->name, msg, msg_len))
        return ST_ERR_INVALID_TOPIC_EXCEPTION;
    if (spec->n_partitions < 1) {
        snprintf(msg, msg_len, "Number of partitions must be larger than 0.");
        return ST_ERR_INVALID_PARTITIONS;
    }
    /* every override known and valid (the topic table) before anything is written */
    char why[400];
    if (st_topic_config_validate(spec->config_keys, spec->config_values, spec->n_configs, why,
                                 sizeof(why)) < 0) {
        snprintf(msg, msg_len, "%s", why);
        return ST_ERR_INVALID_CONFIG;
    }
    int code = check_name_free(zk, spec->name, msg, msg_len);
    if (code != ST_ERR_NONE)
        return code;
    st_admin_broker_t *own = NULL;
    const st_admin_broker_t *brokers = spec->brokers;
    size_t n_brokers = spec->n_brokers;
    if (!brokers) {
        code = st_topic_admin_brokers(zk, &own, &n_brokers, msg, msg_len);
        if (code != ST_ERR_NONE)
            return code;
        brokers = own;
    }

    int32_t *rows = NULL;
    int32_t rf = spec->assignment ? spec->n_assignment_rf : spec->replication_factor;
    if (spec->assignment) {
        if (rf < 1) {
            snprintf(msg, msg_len, "Replication factor must be larger than 0.");
            code = ST_ERR_INVALID_REPLICATION_FACTOR;
        } else {
            code = check_rows(spec->assignment, (size_t)spec->n_partitions, (size_t)rf, 0,
                              brokers, n_brokers, msg, msg_len);
        }
        if (code == ST_ERR_NONE) {
            size_t cells = (size_t)spec->n_partitions * (size_t)rf;
            rows = malloc(cells * sizeof(int32_t));
            if (rows)
                memcpy(rows, spec->assignment, cells * sizeof(int32_t));
            else
                code = ST_ERR_UNKNOWN_SERVER_ERROR;
        }
    } else {
        st_assign_broker_t *ab = calloc(n_brokers ? n_brokers : 1, sizeof(*ab));
        if (!ab) {
            code = ST_ERR_UNKNOWN_SERVER_ERROR;
        } else {
            to_assign_brokers(brokers, n_brokers, ab);
            code = st_assign_replicas(ab, n_brokers, spec->n_partitions, rf, -1, 0, -1,
                                      spec->rack_aware, &rows, msg, msg_len);
            free(ab);
        }
    }
    free(own);
    if (code != ST_ERR_NONE || spec->validate_only) {
        if (code == ST_ERR_NONE && ret_assignment)
            *ret_assignment = rows;
        else
            free(rows);
        return code;
    }

    /* The znodes: config first, then the assignment the controller watches, atomically. */
    st_topic_assignment_t ta;
    memset(&ta, 0, sizeof(ta));
    ta.version = 2;
    ta.n_partitions = spec->n_partitions;
    ta.replicas = calloc((size_t)spec->n_partitions, sizeof(st_int_list_t));
    ta.adding = calloc((size_t)spec->n_partitions, sizeof(st_int_list_t));
    ta.removing = calloc((size_t)spec->n_partitions, sizeof(st_int_list_t));
    st_topic_overrides_t cfg = { (char **)spec->config_keys, (char **)spec->config_values,
                              spec->n_configs };
    char *topic_json = NULL, *config_json = NULL;
    if (ta.replicas && ta.adding && ta.removing) {
        for (int32_t p = 0; p < spec->n_partitions; p++) {
            ta.replicas[p].v = rows + (size_t)p * (size_t)rf;
            ta.replicas[p].n = (size_t)rf;
        }
        topic_json = st_znode_topic_encode(&ta);
        config_json = st_znode_topic_config_encode(&cfg);
    }
    free(ta.replicas);
    free(ta.adding);
    free(ta.removing);
    if (!topic_json || !config_json) {
        free(topic_json);
        free(config_json);
        free(rows);
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    char tpath[PATH_MAX_LEN], cpath[PATH_MAX_LEN];
    st_zpath_topic(tpath, sizeof(tpath), spec->name);
    st_zpath_topic_config(cpath, sizeof(cpath), spec->name);
    /* A config left behind by an earlier, half-finished creation or deletion is replaced. */
    int r = st_zk_exists(zk, cpath, false, NULL);
    zoo_op_t ops[3];
    zoo_op_result_t res[3];
    int n_ops = 0;
    if (r == 0)
        set_data_op(&ops[n_ops++], cpath, config_json, -1, NULL);
    else
        zoo_create_op_init(&ops[n_ops++], cpath, config_json, (int)strlen(config_json),
                           &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    zoo_create_op_init(&ops[n_ops++], tpath, topic_json, (int)strlen(topic_json),
                       &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    int failed = -1;
    r = st_zk_multi(zk, n_ops, ops, res, &failed);
    free(topic_json);
    free(config_json);
    if (r == -EEXIST && failed == n_ops - 1) {
        free(rows);
        snprintf(msg, msg_len, "Topic '%s' already exists.", spec->name);
        return ST_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (r < 0) {
        free(rows);
        return zk_fail(r, "creating", tpath, msg, msg_len);
    }
    if (ret_assignment)
        *ret_assignment = rows;
    else
        free(rows);
    return ST_ERR_NONE;
}

int st_topic_admin_delete(st_zk_t *zk, const char *topic, char *msg, size_t msg_len)
{
    char tpath[PATH_MAX_LEN], dpath[PATH_MAX_LEN];
    if (st_zpath_topic(tpath, sizeof(tpath), topic) < 0 ||
        st_zpath_delete_topic(dpath, sizeof(dpath), topic) < 0) {
        snprintf(msg, msg_len, "Topic '%s' does not exist", topic);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    int r = st_zk_exists(zk, tpath, false, NULL);
    if (r == -ENOENT) {
        snprintf(msg, msg_len, "Topic '%s' does not exist", topic);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (r < 0)
        return zk_fail(r, "reading", tpath, msg, msg_len);
    r = st_zk_create(zk, dpath, NULL, 0, 0, NULL, 0);
    if (r == -ENOENT) {   /* /admin/delete_topics missing: a broker creates it at start-up */
        r = st_zk_ensure_path(zk, ST_ZPATH_DELETE_TOPICS);
        if (r == 0)
            r = st_zk_create(zk, dpath, NULL, 0, 0, NULL, 0);
    }
    if (r < 0 && r != -EEXIST)
        return zk_fail(r, "creating", dpath, msg, msg_len);
    return ST_ERR_NONE;
}

int st_topic_admin_add_partitions(st_zk_t *zk, const char *topic, int32_t new_total,
                                  const int32_t *assignment, size_t n_rows, size_t rf,
                                  bool validate_only, char *msg, size_t msg_len)
{
    char tpath[PATH_MAX_LEN], dpath[PATH_MAX_LEN];
    if (st_zpath_topic(tpath, sizeof(tpath), topic) < 0 ||
        st_zpath_delete_topic(dpath, sizeof(dpath), topic) < 0) {
        snprintf(msg, msg_len, "Topic '%s' does not exist", topic);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    char *data = NULL;
    int len = 0;
    struct Stat stat;
    int r = st_zk_get(zk, tpath, false, &data, &len, &stat);
    if (r == -ENOENT) {
        snprintf(msg, msg_len, "Topic '%s' does not exist", topic);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (r < 0)
        return zk_fail(r, "reading", tpath, msg, msg_len);
    if (st_zk_exists(zk, dpath, false, NULL) == 0) {
        free(data);
        snprintf(msg, msg_len, "Topic '%s' is marked for deletion", topic);
        return ST_ERR_INVALID_TOPIC_EXCEPTION;
    }
    st_topic_assignment_t ta;
    memset(&ta, 0, sizeof(ta));
    char err[512];
    r = st_znode_topic_decode(tpath, data, (size_t)len, &ta, err, sizeof(err));
    free(data);
    if (r < 0) {
        snprintf(msg, msg_len, "%s", err);
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    int32_t current = ta.n_partitions;
    int code = ST_ERR_NONE;
    if (new_total <= current) {
        snprintf(msg, msg_len, "The number of partitions for a topic can only be increased. "
                 "Topic %s currently has %" PRId32 " partitions, %" PRId32 " would not be an "
                 "increase.", topic, current, new_total);
        code = ST_ERR_INVALID_PARTITIONS;
    }
    st_admin_broker_t *brokers = NULL;
    size_t n_brokers = 0;
    if (code == ST_ERR_NONE)
        code = st_topic_admin_brokers(zk, &brokers, &n_brokers, msg, msg_len);
    int32_t *rows = NULL;
    size_t p0_rf = current > 0 ? ta.replicas[0].n : 0;
    if (code == ST_ERR_NONE && assignment) {
        if ((int64_t)n_rows != (int64_t)new_total - current) {
            snprintf(msg, msg_len, "Increasing the number of partitions from %" PRId32 " to %"
                     PRId32 " needs %" PRId32 " rows of replica assignment, got %zu", current,
                     new_total, new_total - current, n_rows);
            code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
        } else if (rf != p0_rf) {
            snprintf(msg, msg_len, "The replica assignment has %zu replicas per partition but "
                     "topic %s has replication factor %zu", rf, topic, p0_rf);
            code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
        } else {
            code = check_rows(assignment, n_rows, rf, current, brokers, n_brokers, msg, msg_len);
            rows = code == ST_ERR_NONE ? malloc(n_rows * rf * sizeof(int32_t)) : NULL;
            if (rows)
                memcpy(rows, assignment, n_rows * rf * sizeof(int32_t));
            else if (code == ST_ERR_NONE)
                code = ST_ERR_UNKNOWN_SERVER_ERROR;
        }
    } else if (code == ST_ERR_NONE) {
        st_assign_broker_t *ab = calloc(n_brokers ? n_brokers : 1, sizeof(*ab));
        if (!ab) {
            code = ST_ERR_UNKNOWN_SERVER_ERROR;
        } else {
            to_assign_brokers(brokers, n_brokers, ab);
            code = st_assign_add_partitions(ab, n_brokers, current ? ta.replicas[0].v : NULL,
                                            p0_rf, current, new_total, true, &rows, msg, msg_len);
            free(ab);
        }
        rf = p0_rf;
    }
    free(brokers);
    if (code != ST_ERR_NONE || validate_only) {
        free(rows);
        st_topic_assignment_free(&ta);
        return code;
    }
    /* The longer map, written only if nobody changed the topic since it was read. */
    st_int_list_t *nr = realloc(ta.replicas, (size_t)new_total * sizeof(*nr));
    st_int_list_t *na = nr ? realloc(ta.adding, (size_t)new_total * sizeof(*na)) : NULL;
    if (nr)
        ta.replicas = nr;
    if (na)
        ta.adding = na;
    st_int_list_t *nrm = na ? realloc(ta.removing, (size_t)new_total * sizeof(*nrm)) : NULL;
    if (nrm)
        ta.removing = nrm;
    char *json = NULL;
    if (nr && na && nrm) {
        for (int32_t p = current; p < new_total; p++) {
            ta.replicas[p].v = rows + (size_t)(p - current) * rf;
            ta.replicas[p].n = rf;
            ta.adding[p] = (st_int_list_t){ NULL, 0 };
            ta.removing[p] = (st_int_list_t){ NULL, 0 };
        }
        int32_t saved = ta.n_partitions;
        ta.n_partitions = new_total;
        json = st_znode_topic_encode(&ta);
        ta.n_partitions = saved;   /* the rows of the new partitions belong to `rows` */
    }
    st_topic_assignment_free(&ta);
    free(rows);
    if (!json) {
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    r = st_zk_set(zk, tpath, json, (int)strlen(json), stat.version, NULL);
    free(json);
    if (r == -ESTALE) {
        snprintf(msg, msg_len, "Topic %s was changed concurrently; try again", topic);
        return ST_ERR_REASSIGNMENT_IN_PROGRESS;
    }
    if (r < 0)
        return zk_fail(r, "updating", tpath, msg, msg_len);
    return ST_ERR_NONE;
}

int st_topic_admin_list(st_zk_t *zk, char ***ret_names, size_t *ret_n, char *msg, size_t msg_len)
{
    int r = st_zk_children(zk, ST_ZPATH_BROKERS_TOPICS, false, ret_names, ret_n);
    if (r == -ENOENT) {
        *ret_names = calloc(1, sizeof(char *));
        *ret_n = 0;
        return *ret_names ? ST_ERR_NONE : ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    if (r < 0)
        return zk_fail(r, "listing", ST_ZPATH_BROKERS_TOPICS, msg, msg_len);
    return ST_ERR_NONE;
}

void st_topic_desc_free(st_topic_desc_t *d)
{
    if (!d)
        return;
    for (int32_t p = 0; d->states && p < d->assignment.n_partitions; p++)
        st_lisr_free(&d->states[p]);
    free(d->states);
    free(d->has_state);
    st_topic_assignment_free(&d->assignment);
    st_topic_overrides_free(&d->config);
    free(d->name);
    memset(d, 0, sizeof(*d));
}

int st_topic_admin_describe(st_zk_t *zk, const char *topic, st_topic_desc_t *ret, char *msg,
                            size_t msg_len)
{
    st_topic_desc_t d;
    memset(&d, 0, sizeof(d));
    char path[PATH_MAX_LEN], err[512], *data = NULL;
    int len = 0;
    if (st_zpath_topic(path, sizeof(path), topic) < 0) {
        snprintf(msg, msg_len, "Topic '%s' does not exist", topic);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    int r = st_zk_get(zk, path, false, &data, &len, NULL);
    if (r == -ENOENT) {
        snprintf(msg, msg_len, "Topic '%s' does not exist", topic);
        return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (r < 0)
        return zk_fail(r, "reading", path, msg, msg_len);
    r = st_znode_topic_decode(path, data, (size_t)len, &d.assignment, err, sizeof(err));
    free(data);
    if (r < 0) {
        snprintf(msg, msg_len, "%s", err);
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    d.name = strdup(topic);
    size_t n = (size_t)d.assignment.n_partitions;
    d.states = calloc(n ? n : 1, sizeof(*d.states));
    d.has_state = calloc(n ? n : 1, sizeof(*d.has_state));
    if (!d.name || !d.states || !d.has_state) {
        st_topic_desc_free(&d);
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    int code = ST_ERR_NONE;
    for (size_t p = 0; p < n && code == ST_ERR_NONE; p++) {
        struct Stat stat;
        st_zpath_partition_state(path, sizeof(path), topic, (int32_t)p);
        d.states[p].leader = ST_LEADER_NONE;
        r = st_zk_get(zk, path, false, &data, &len, &stat);
        if (r == -ENOENT)
            continue;
        if (r < 0) {
            code = zk_fail(r, "reading", path, msg, msg_len);
            break;
        }
        r = st_znode_lisr_decode(path, data, (size_t)len, &d.states[p], err, sizeof(err));
        free(data);
        if (r < 0) {
            snprintf(msg, msg_len, "%s", err);
            code = ST_ERR_UNKNOWN_SERVER_ERROR;
            break;
        }
        d.states[p].zk_version = stat.version;
        d.has_state[p] = true;
    }
    if (code == ST_ERR_NONE) {
        st_zpath_topic_config(path, sizeof(path), topic);
        r = st_zk_get(zk, path, false, &data, &len, NULL);
        if (r == 0) {
            r = st_znode_topic_config_decode(path, data, (size_t)len, &d.config, err, sizeof(err));
            free(data);
            if (r < 0) {
                snprintf(msg, msg_len, "%s", err);
                code = ST_ERR_UNKNOWN_SERVER_ERROR;
            }
        } else if (r != -ENOENT) {
            code = zk_fail(r, "reading", path, msg, msg_len);
        }
    }
    if (code == ST_ERR_NONE) {
        st_zpath_delete_topic(path, sizeof(path), topic);
        d.marked_for_deletion = st_zk_exists(zk, path, false, NULL) == 0;
    }
    if (code != ST_ERR_NONE) {
        st_topic_desc_free(&d);
        return code;
    }
    *ret = d;
    return ST_ERR_NONE;
}

int st_topic_admin_preferred_election(st_zk_t *zk, const st_tp_list_t *tps, char *msg,
                                      size_t msg_len)
{
    char *json = st_znode_tp_list_encode(tps);
    if (!json) {
        snprintf(msg, msg_len, "out of memory");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    int r = st_zk_create(zk, ST_ZPATH_PREFERRED_ELECTION, json, (int)strlen(json), 0, NULL, 0);
    if (r == -ENOENT) {
        r = st_zk_ensure_path(zk, "/admin");
        if (r == 0)
            r = st_zk_create(zk, ST_ZPATH_PREFERRED_ELECTION, json, (int)strlen(json), 0, NULL, 0);
    }
    free(json);
    if (r == -EEXIST) {
        size_t used = (size_t)snprintf(msg, msg_len, "Preferred replica leader election "
                                       "currently in progress for ");
        for (size_t i = 0; i < tps->n && used < msg_len; i++)
            used += (size_t)snprintf(msg + used, msg_len - used, "%s%s-%" PRId32, i ? "," : "",
                                     tps->v[i].topic, tps->v[i].partition);
        if (used < msg_len)
            snprintf(msg + used, msg_len - used, ". Aborting operation");
        return ST_ERR_INVALID_REQUEST;
    }
    if (r < 0)
        return zk_fail(r, "creating", ST_ZPATH_PREFERRED_ELECTION, msg, msg_len);
    return ST_ERR_NONE;
}
