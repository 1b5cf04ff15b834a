/* The admin client (strand_admin_* in strand.h): CreateTopics / DeleteTopics to the controller,
 * list / describe topics and describe the cluster from Metadata. Every call is synchronous;
 * calls are serialised with a.call_lock so any thread may use the handle. The consumer-group
 * calls are in st_admin_group.c (the handle is shared through st_admin_int.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "st_admin_int.h"
#include "st_client.h"
#include "strand.h"

strand_admin_t *strand_admin_new(const strand_conf_t *conf, char *errstr, size_t errstr_size)
{
    strand_admin_t *a = calloc(1, sizeof(*a));
    if (!a) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->call_lock, NULL);
    if (st_client_init(&a->cl, conf, NULL, a, errstr, errstr_size) != 0) {
        pthread_mutex_destroy(&a->call_lock);
        free(a);
        return NULL;
    }
    return a;
}

void strand_admin_destroy(strand_admin_t *a)
{
    if (!a)
        return;
    st_client_stop(&a->cl);
    st_client_destroy(&a->cl);
    pthread_mutex_destroy(&a->call_lock);
    free(a);
}

static int call_timeout(const strand_admin_t *a, int timeout_ms)
{
    int base = timeout_ms < 0 ? a->cl.conf.request_timeout_ms : timeout_ms;
    return base > INT32_MAX - 5000 ? INT32_MAX : base + 5000;
}

int st_admin_call(strand_admin_t *a, int32_t target, int32_t api, const ProtobufCMessage *body,
                  int timeout_ms, ProtobufCMessage *(*unpack)(size_t, const uint8_t *),
                  ProtobufCMessage **ret_msg, char *errstr, size_t errstr_size)
{
    st_rframe_t resp = { 0 };
    pthread_mutex_lock(&a->call_lock);
    int err = st_client_call(&a->cl, target, api, body, call_timeout(a, timeout_ms), &resp,
                             errstr, errstr_size);
    pthread_mutex_unlock(&a->call_lock);
    if (err)
        return err;
    ProtobufCMessage *msg = unpack(resp.view.body_len, resp.view.body);
    st_client_frame_release(&a->cl, &resp);
    if (!msg) {
        st_client_errstr(errstr, errstr_size, "undecodable response from the broker");
        return ST_ERR_BAD_RESPONSE;
    }
    *ret_msg = msg;
    return 0;
}

static ProtobufCMessage *unpack_create(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__create_topics_response__unpack(NULL, len, data);
}
static ProtobufCMessage *unpack_delete(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__delete_topics_response__unpack(NULL, len, data);
}
static ProtobufCMessage *unpack_metadata(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__metadata_response__unpack(NULL, len, data);
}

static int topic_result(const char *name, int code, const char *message, char *errstr,
                        size_t errstr_size)
{
    if (code)
        st_client_errstr(errstr, errstr_size, "topic '%s': %s (%s)", name,
                         message && *message ? message : st_error_desc(code), st_error_name(code));
    return code;
}

int strand_admin_create_topic(strand_admin_t *a, const strand_new_topic_t *topic, int timeout_ms,
                              char *errstr, size_t errstr_size)
{
    if (!a || !topic || !topic->name || !*topic->name ||
        (topic->config_count && (!topic->config_keys || !topic->config_values))) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    Strand__CreatableTopicConfig *cfgs = calloc(topic->config_count + 1, sizeof(*cfgs));
    Strand__CreatableTopicConfig **cfgp = calloc(topic->config_count + 1, sizeof(*cfgp));
    if (!cfgs || !cfgp) {
        free(cfgs);
        free(cfgp);
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < topic->config_count; i++) {
        strand__creatable_topic_config__init(&cfgs[i]);
        cfgs[i].name = (char *)topic->config_keys[i];
        cfgs[i].value = (char *)topic->config_values[i];
        cfgp[i] = &cfgs[i];
    }
    Strand__CreatableTopic ct = STRAND__CREATABLE_TOPIC__INIT;
    ct.name = (char *)topic->name;
    ct.num_partitions = topic->num_partitions;
    ct.replication_factor = topic->replication_factor;
    ct.n_configs = topic->config_count;
    ct.configs = cfgp;
    Strand__CreatableReplicaAssignment *asg = NULL, **asgp = NULL;
    if (topic->replica_assignment) {
        if (topic->num_partitions < 1 || topic->replication_factor < 1) {
            free(cfgs);
            free(cfgp);
            st_client_errstr(errstr, errstr_size, "an explicit replica assignment needs the "
                             "partition count and the replication factor");
            return ST_ERR_INVALID_ARG;
        }
        size_t n = (size_t)topic->num_partitions;
        asg = calloc(n, sizeof(*asg));
        asgp = calloc(n, sizeof(*asgp));
        if (!asg || !asgp) {
            free(asg);
            free(asgp);
            free(cfgs);
            free(cfgp);
            st_client_errstr(errstr, errstr_size, "out of memory");
            return ST_ERR_INVALID_ARG;
        }
        for (size_t p = 0; p < n; p++) {
            strand__creatable_replica_assignment__init(&asg[p]);
            asg[p].partition = (int32_t)p;
            asg[p].n_broker_ids = (size_t)topic->replication_factor;
            asg[p].broker_ids = (int32_t *)topic->replica_assignment +
                                p * (size_t)topic->replication_factor;
            asgp[p] = &asg[p];
        }
        ct.n_assignments = n;
        ct.assignments = asgp;
        /* As Kafka's admin client: with assignments the counts are implied (-1); the broker
         * refuses both at once (INVALID_REQUEST). */
        ct.num_partitions = -1;
        ct.replication_factor = -1;
    }
    Strand__CreatableTopic *ctp = &ct;
    Strand__CreateTopicsRequest req = STRAND__CREATE_TOPICS_REQUEST__INIT;
    req.n_topics = 1;
    req.topics = &ctp;
    req.timeout_ms = timeout_ms < 0 ? a->cl.conf.request_timeout_ms : timeout_ms;
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(a, ST_BROKER_CONTROLLER, STRAND__API_KEY__CREATE_TOPICS, &req.base,
                            timeout_ms, unpack_create, &msg, errstr, errstr_size);
    free(cfgs);
    free(cfgp);
    free(asg);
    free(asgp);
    if (err)
        return err;
    Strand__CreateTopicsResponse *resp = (Strand__CreateTopicsResponse *)msg;
    err = ST_ERR_BAD_RESPONSE;
    st_client_errstr(errstr, errstr_size, "topic '%s' missing from the CreateTopics response",
                     topic->name);
    for (size_t i = 0; i < resp->n_topics; i++)
        if (resp->topics[i]->name && strcmp(resp->topics[i]->name, topic->name) == 0)
            err = topic_result(topic->name, resp->topics[i]->error_code,
                               resp->topics[i]->error_message, errstr, errstr_size);
    strand__create_topics_response__free_unpacked(resp, NULL);
    if (!err)
        st_client_md_refresh(&a->cl);
    return err;
}

int strand_admin_delete_topic(strand_admin_t *a, const char *name, int timeout_ms, char *errstr,
                              size_t errstr_size)
{
    if (!a || !name || !*name) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    char *names[1] = { (char *)name };
    Strand__DeleteTopicsRequest req = STRAND__DELETE_TOPICS_REQUEST__INIT;
    req.n_topic_names = 1;
    req.topic_names = names;
    req.timeout_ms = timeout_ms < 0 ? a->cl.conf.request_timeout_ms : timeout_ms;
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(a, ST_BROKER_CONTROLLER, STRAND__API_KEY__DELETE_TOPICS, &req.base,
                            timeout_ms, unpack_delete, &msg, errstr, errstr_size);
    if (err)
        return err;
    Strand__DeleteTopicsResponse *resp = (Strand__DeleteTopicsResponse *)msg;
    err = ST_ERR_BAD_RESPONSE;
    st_client_errstr(errstr, errstr_size, "topic '%s' missing from the DeleteTopics response", name);
    for (size_t i = 0; i < resp->n_responses; i++)
        if (resp->responses[i]->name && strcmp(resp->responses[i]->name, name) == 0)
            err = topic_result(name, resp->responses[i]->error_code,
                               resp->responses[i]->error_message, errstr, errstr_size);
    strand__delete_topics_response__free_unpacked(resp, NULL);
    return err;
}

static int metadata(strand_admin_t *a, const char *const *names, size_t count, bool all,
                    int timeout_ms, Strand__MetadataResponse **ret)
{
    Strand__MetadataRequest req = STRAND__METADATA_REQUEST__INIT;
    req.all_topics = all;
    req.n_topics = all ? 0 : count;
    req.topics = (char **)names;
    req.allow_auto_topic_creation = false;
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(a, ST_BROKER_ANY, STRAND__API_KEY__METADATA, &req.base, timeout_ms,
                            unpack_metadata, &msg, NULL, 0);
    if (!err)
        *ret = (Strand__MetadataResponse *)msg;
    return err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void strand_names_free(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int strand_admin_list_topics(strand_admin_t *a, bool include_internal, int timeout_ms,
                             char ***ret_names, size_t *ret_count)
{
    if (!a || !ret_names || !ret_count)
        return ST_ERR_INVALID_ARG;
    Strand__MetadataResponse *md = NULL;
    int err = metadata(a, NULL, 0, true, timeout_ms, &md);
    if (err)
        return err;
    char **names = calloc(md->n_topics + 1, sizeof(*names));
    size_t n = 0;
    for (size_t i = 0; names && i < md->n_topics; i++) {
        const Strand__TopicMetadata *t = md->topics[i];
        if (!t->name || !*t->name || t->error_code || (t->is_internal && !include_internal))
            continue;
        if (!(names[n] = strdup(t->name))) {
            strand_names_free(names, n);
            names = NULL;
            break;
        }
        n++;
    }
    strand__metadata_response__free_unpacked(md, NULL);
    if (!names)
        return ST_ERR_INVALID_ARG;
    qsort(names, n, sizeof(*names), cmp_str);
    *ret_names = names;
    *ret_count = n;
    return 0;
}

void strand_topic_infos_free(strand_topic_info_t *topics, size_t count)
{
    if (!topics)
        return;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < topics[i].partition_count; k++) {
            free(topics[i].partitions[k].replicas);
            free(topics[i].partitions[k].isr);
            free(topics[i].partitions[k].offline);
        }
        free(topics[i].partitions);
        free(topics[i].name);
    }
    free(topics);
}

static int cmp_pinfo(const void *a, const void *b)
{
    const strand_partition_info_t *x = a, *y = b;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

static int cmp_tinfo(const void *a, const void *b)
{
    const strand_topic_info_t *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int fill_topic(strand_topic_info_t *ti, const Strand__TopicMetadata *t)
{
    ti->name = strdup(t->name ? t->name : "");
    ti->error = t->error_code;
    ti->is_internal = t->is_internal;
    ti->min_insync_replicas = t->min_insync_replicas;
    ti->partitions = calloc(t->n_partitions + 1, sizeof(*ti->partitions));
    if (!ti->name || !ti->partitions)
        return -ENOMEM;
    for (size_t k = 0; k < t->n_partitions; k++) {
        st_md_partition_t mp;
        if (st_md_partition_copy(&mp, t->partitions[k]) < 0)
            return -ENOMEM;
        strand_partition_info_t *pi = &ti->partitions[ti->partition_count++];
        pi->partition = mp.partition;
        pi->error = mp.error;
        pi->leader = mp.leader;
        pi->leader_epoch = mp.leader_epoch;
        pi->replicas = mp.replicas;
        pi->replica_count = mp.n_replicas;
        pi->isr = mp.isr;
        pi->isr_count = mp.n_isr;
        pi->offline = mp.offline;
        pi->offline_count = mp.n_offline;
    }
    qsort(ti->partitions, ti->partition_count, sizeof(*ti->partitions), cmp_pinfo);
    return 0;
}

int strand_admin_describe_topics(strand_admin_t *a, const char *const *names, size_t count,
                                 int timeout_ms, strand_topic_info_t **ret_topics,
                                 size_t *ret_count)
{
    if (!a || !ret_topics || !ret_count || (count && !names))
        return ST_ERR_INVALID_ARG;
    Strand__MetadataResponse *md = NULL;
    int err = metadata(a, names, count, count == 0, timeout_ms, &md);
    if (err)
        return err;
    size_t want = count ? count : md->n_topics;
    strand_topic_info_t *out = calloc(want + 1, sizeof(*out));
    size_t n = 0;
    int ret = out ? 0 : ST_ERR_INVALID_ARG;
    for (size_t i = 0; ret == 0 && i < want; i++) {
        const Strand__TopicMetadata *t = NULL;
        if (count) {
            for (size_t j = 0; j < md->n_topics && !t; j++)
                if (md->topics[j]->name && strcmp(md->topics[j]->name, names[i]) == 0)
                    t = md->topics[j];
        } else {
            t = md->topics[i];
            if (!t->name || !*t->name)
                continue;
        }
        strand_topic_info_t *ti = &out[n++];
        if (!t) {
            ti->name = strdup(names[i]);
            ti->error = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            if (!ti->name)
                ret = ST_ERR_INVALID_ARG;
            continue;
        }
        if (fill_topic(ti, t) < 0)
            ret = ST_ERR_INVALID_ARG;
    }
    strand__metadata_response__free_unpacked(md, NULL);
    if (ret) {
        strand_topic_infos_free(out, n);
        return ret;
    }
    if (!count)
        qsort(out, n, sizeof(*out), cmp_tinfo);
    *ret_topics = out;
    *ret_count = n;
    return 0;
}

void strand_broker_infos_free(strand_broker_info_t *brokers, size_t count)
{
    if (!brokers)
        return;
    for (size_t i = 0; i < count; i++) {
        free(brokers[i].host);
        free(brokers[i].rack);
    }
    free(brokers);
}

static int cmp_binfo(const void *a, const void *b)
{
    const strand_broker_info_t *x = a, *y = b;
    return (x->node_id > y->node_id) - (x->node_id < y->node_id);
}

int strand_admin_describe_cluster(strand_admin_t *a, int timeout_ms,
                                  strand_broker_info_t **ret_brokers, size_t *ret_count,
                                  int32_t *ret_controller_id, char **ret_cluster_id)
{
    if (!a || !ret_brokers || !ret_count)
        return ST_ERR_INVALID_ARG;
    Strand__MetadataResponse *md = NULL;
    int err = metadata(a, NULL, 0, false, timeout_ms, &md);
    if (err)
        return err;
    strand_broker_info_t *out = calloc(md->n_brokers + 1, sizeof(*out));
    char *cluster = ret_cluster_id ? strdup(md->cluster_id ? md->cluster_id : "") : NULL;
    bool oom = !out || (ret_cluster_id && !cluster);
    size_t n = 0;
    for (size_t i = 0; !oom && i < md->n_brokers; i++) {
        const Strand__BrokerMetadata *b = md->brokers[i];
        out[n].node_id = b->node_id;
        out[n].port = b->port;
        out[n].host = strdup(b->host ? b->host : "");
        out[n].rack = strdup(b->rack ? b->rack : "");
        n++;
        if (!out[n - 1].host || !out[n - 1].rack)
            oom = true;
    }
    int32_t controller = md->controller_id;
    strand__metadata_response__free_unpacked(md, NULL);
    if (oom) {
        strand_broker_infos_free(out, n);
        free(cluster);
        return ST_ERR_INVALID_ARG;
    }
    qsort(out, n, sizeof(*out), cmp_binfo);
    *ret_brokers = out;
    *ret_count = n;
    if (ret_controller_id)
        *ret_controller_id = controller;
    if (ret_cluster_id)
        *ret_cluster_id = cluster;
    return 0;
}

/* ---- partitions and elections ------------------------------------------------------------ */

static ProtobufCMessage *unpack_create_partitions(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__create_partitions_response__unpack(NULL, len, data);
}

int strand_admin_create_partitions(strand_admin_t *a, const char *topic, int32_t new_total,
                                   const int32_t *assignment, size_t n_rows, size_t replica_count,
                                   int timeout_ms, char *errstr, size_t errstr_size)
{
    if (!a || !topic || !*topic || new_total < 1 || (assignment && (!n_rows || !replica_count))) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    Strand__CreatePartitionsTopic ct = STRAND__CREATE_PARTITIONS_TOPIC__INIT;
    ct.name = (char *)topic;
    ct.count = new_total;
    Strand__CreatePartitionsAssignment *asg = NULL, **asgp = NULL;
    if (assignment) {
        asg = calloc(n_rows, sizeof(*asg));
        asgp = calloc(n_rows, sizeof(*asgp));
        if (!asg || !asgp) {
            free(asg);
            free(asgp);
            st_client_errstr(errstr, errstr_size, "out of memory");
            return ST_ERR_INVALID_ARG;
        }
        for (size_t r = 0; r < n_rows; r++) {
            strand__create_partitions_assignment__init(&asg[r]);
            asg[r].n_broker_ids = replica_count;
            asg[r].broker_ids = (int32_t *)assignment + r * replica_count;
            asgp[r] = &asg[r];
        }
        ct.n_assignments = n_rows;
        ct.assignments = asgp;
    }
    Strand__CreatePartitionsTopic *ctp = &ct;
    Strand__CreatePartitionsRequest req = STRAND__CREATE_PARTITIONS_REQUEST__INIT;
    req.n_topics = 1;
    req.topics = &ctp;
    req.timeout_ms = timeout_ms < 0 ? a->cl.conf.request_timeout_ms : timeout_ms;
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(a, ST_BROKER_CONTROLLER, STRAND__API_KEY__CREATE_PARTITIONS, &req.base,
                            timeout_ms, unpack_create_partitions, &msg, errstr, errstr_size);
    free(asg);
    free(asgp);
    if (err)
        return err;
    Strand__CreatePartitionsResponse *resp = (Strand__CreatePartitionsResponse *)msg;
    err = ST_ERR_BAD_RESPONSE;
    st_client_errstr(errstr, errstr_size, "topic '%s' missing from the CreatePartitions response",
                     topic);
    for (size_t i = 0; i < resp->n_results; i++)
        if (resp->results[i]->name && strcmp(resp->results[i]->name, topic) == 0)
            err = topic_result(topic, resp->results[i]->error_code,
                               resp->results[i]->error_message, errstr, errstr_size);
    strand__create_partitions_response__free_unpacked(resp, NULL);
    if (!err)
        st_client_md_refresh(&a->cl);
    return err;
}

static ProtobufCMessage *unpack_elect(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__elect_leaders_response__unpack(NULL, len, data);
}

void strand_election_results_free(strand_election_result_t *results, size_t count)
{
    if (!results)
        return;
    for (size_t i = 0; i < count; i++) {
        free(results[i].topic);
        free(results[i].message);
    }
    free(results);
}

/* Groups the requested partitions by topic (in first-seen order) into the request. */
static int build_elect_topics(const strand_topic_partition_t *parts, size_t count,
                              Strand__ElectLeadersRequest *req)
{
    Strand__ElectLeadersTopic **topics = calloc(count, sizeof(*topics));
    if (!topics)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        Strand__ElectLeadersTopic *t = NULL;
        for (size_t j = 0; j < n && !t; j++)
            if (strcmp(topics[j]->topic, parts[i].topic) == 0)
                t = topics[j];
        if (!t) {
            t = calloc(1, sizeof(*t));
            if (!t)
                goto nomem;
            strand__elect_leaders_topic__init(t);
            t->topic = (char *)parts[i].topic;
            t->partitions = calloc(count, sizeof(int32_t));
            topics[n++] = t;
            if (!t->partitions)
                goto nomem;
        }
        t->partitions[t->n_partitions++] = parts[i].partition;
    }
    req->topic_partitions = topics;
    req->n_topic_partitions = n;
    return 0;
nomem:
    for (size_t j = 0; j < n; j++) {
        free(topics[j]->partitions);
        free(topics[j]);
    }
    free(topics);
    return -ENOMEM;
}

int strand_admin_elect_leaders(strand_admin_t *a, strand_election_type_t type,
                               const strand_topic_partition_t *partitions, size_t count,
                               int timeout_ms, strand_election_result_t **ret_results,
                               size_t *ret_count, char *errstr, size_t errstr_size)
{
    if (!a || !ret_results || !ret_count || (count && !partitions) ||
        (type != STRAND_ELECTION_PREFERRED && type != STRAND_ELECTION_UNCLEAN)) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < count; i++) {
        if (!partitions[i].topic || !*partitions[i].topic || partitions[i].partition < 0) {
            st_client_errstr(errstr, errstr_size, "invalid partition at index %zu", i);
            return ST_ERR_INVALID_ARG;
        }
    }
    Strand__ElectLeadersRequest req = STRAND__ELECT_LEADERS_REQUEST__INIT;
    req.election_type = (int32_t)type;
    req.all_partitions = count == 0;
    req.timeout_ms = timeout_ms < 0 ? a->cl.conf.request_timeout_ms : timeout_ms;
    if (count && build_elect_topics(partitions, count, &req) < 0) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(a, ST_BROKER_CONTROLLER, STRAND__API_KEY__ELECT_LEADERS, &req.base,
                            timeout_ms, unpack_elect, &msg, errstr, errstr_size);
    for (size_t j = 0; j < req.n_topic_partitions; j++) {
        free(req.topic_partitions[j]->partitions);
        free(req.topic_partitions[j]);
    }
    free(req.topic_partitions);
    if (err)
        return err;
    Strand__ElectLeadersResponse *resp = (Strand__ElectLeadersResponse *)msg;
    if (resp->error_code) {
        err = resp->error_code;
        st_client_errstr(errstr, errstr_size, "leader election refused: %s (%s)",
                         st_error_desc(err), st_error_name(err));
        strand__elect_leaders_response__free_unpacked(resp, NULL);
        return err;
    }
    size_t n = 0;
    for (size_t t = 0; t < resp->n_replica_election_results; t++)
        n += resp->replica_election_results[t]->n_partition_result;
    strand_election_result_t *res = calloc(n ? n : 1, sizeof(*res));
    size_t k = 0;
    for (size_t t = 0; res && t < resp->n_replica_election_results; t++) {
        Strand__ElectLeadersTopicResult *tr = resp->replica_election_results[t];
        for (size_t p = 0; p < tr->n_partition_result; p++, k++) {
            Strand__ElectLeadersPartitionResult *pr = tr->partition_result[p];
            res[k].topic = strdup(tr->topic ? tr->topic : "");
            res[k].partition = pr->partition_id;
            res[k].error = pr->error_code;
            res[k].message = strdup(pr->error_message ? pr->error_message : "");
            if (!res[k].topic || !res[k].message) {
                strand_election_results_free(res, k + 1);
                res = NULL;
                break;
            }
        }
    }
    strand__elect_leaders_response__free_unpacked(resp, NULL);
    if (!res) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    *ret_results = res;
    *ret_count = n;
    return 0;
}

/* ---- dynamic configuration --------------------------------------------------------------- */

const char *strand_config_source_name(int source)
{
    switch (source) {
    case STRAND_CONFIG_SOURCE_DYNAMIC_TOPIC: return "DYNAMIC_TOPIC_CONFIG";
    case STRAND_CONFIG_SOURCE_DYNAMIC_BROKER: return "DYNAMIC_BROKER_CONFIG";
    case STRAND_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case STRAND_CONFIG_SOURCE_STATIC_BROKER: return "STATIC_BROKER_CONFIG";
    case STRAND_CONFIG_SOURCE_DEFAULT: return "DEFAULT_CONFIG";
    default: return "UNKNOWN";
    }
}

/* Where a resource's request goes: a broker's own configuration to that broker (only it knows
 * its static settings), anything else to any broker. -1 when name is not a broker id. */
static int32_t config_target(strand_resource_type_t type, const char *name)
{
    if (type != STRAND_RESOURCE_BROKER || !name || !*name)
        return ST_BROKER_ANY;
    char *end = NULL;
    long id = strtol(name, &end, 10);
    if (*end || id < 0 || id > INT32_MAX)
        return -1;
    return (int32_t)id;
}

static ProtobufCMessage *unpack_describe_configs(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__describe_configs_response__unpack(NULL, len, data);
}
static ProtobufCMessage *unpack_alter_configs(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__incremental_alter_configs_response__unpack(NULL, len, data);
}

void strand_config_entries_free(strand_config_entry_t *entries, size_t count)
{
    if (!entries)
        return;
    for (size_t i = 0; i < count; i++) {
        free(entries[i].name);
        free(entries[i].value);
        free(entries[i].documentation);
        for (size_t k = 0; k < entries[i].synonym_count; k++) {
            free(entries[i].synonyms[k].name);
            free(entries[i].synonyms[k].value);
        }
        free(entries[i].synonyms);
    }
    free(entries);
}

static char *dup_or_null(const char *s, bool null)
{
    return null ? NULL : strdup(s ? s : "");
}

static int copy_entries(const Strand__DescribeConfigsResult *r, strand_config_entry_t **ret,
                        size_t *ret_n)
{
    strand_config_entry_t *out = calloc(r->n_configs + 1, sizeof(*out));
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_configs; i++) {
        const Strand__DescribeConfigsResourceResult *c = r->configs[i];
        strand_config_entry_t *e = &out[i];
        e->name = strdup(c->name ? c->name : "");
        e->value = dup_or_null(c->value, c->value_null || c->is_sensitive);
        e->read_only = c->read_only;
        e->is_sensitive = c->is_sensitive;
        e->source = c->config_source;
        e->documentation = strdup(c->documentation ? c->documentation : "");
        e->synonyms = calloc(c->n_synonyms + 1, sizeof(*e->synonyms));
        bool oom = !e->name || !e->documentation || !e->synonyms ||
                   (!e->value && !(c->value_null || c->is_sensitive));
        for (size_t k = 0; !oom && k < c->n_synonyms; k++) {
            const Strand__DescribeConfigsSynonym *s = c->synonyms[k];
            e->synonyms[k].name = strdup(s->name ? s->name : "");
            e->synonyms[k].value = dup_or_null(s->value, s->value_null);
            e->synonyms[k].source = s->source;
            e->synonym_count++;
            oom = !e->synonyms[k].name || (!e->synonyms[k].value && !s->value_null);
        }
        if (oom) {
            strand_config_entries_free(out, i + 1);
            return -ENOMEM;
        }
    }
    *ret = out;
    *ret_n = r->n_configs;
    return 0;
}

int strand_admin_describe_configs(strand_admin_t *a, strand_resource_type_t type,
                                  const char *name, const char *const *keys, size_t key_count,
                                  bool include_synonyms, bool include_documentation,
                                  int timeout_ms, strand_config_entry_t **ret_entries,
                                  size_t *ret_count, char *errstr, size_t errstr_size)
{
    int32_t target = config_target(type, name);
    if (!a || !name || !ret_entries || !ret_count || (key_count && !keys) || target == -1 ||
        (type != STRAND_RESOURCE_TOPIC && type != STRAND_RESOURCE_BROKER)) {
        st_client_errstr(errstr, errstr_size, "invalid argument%s",
                         target == -1 ? ": a broker resource is named by its id" : "");
        return ST_ERR_INVALID_ARG;
    }
    Strand__DescribeConfigsResource res = STRAND__DESCRIBE_CONFIGS_RESOURCE__INIT;
    res.resource_type = (int32_t)type;
    res.resource_name = (char *)name;
    res.configuration_keys = (char **)keys;
    res.n_configuration_keys = key_count;
    Strand__DescribeConfigsResource *resp_ptr = &res;
    Strand__DescribeConfigsRequest req = STRAND__DESCRIBE_CONFIGS_REQUEST__INIT;
    req.resources = &resp_ptr;
    req.n_resources = 1;
    req.include_synonyms = include_synonyms;
    req.include_documentation = include_documentation;
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(a, target, STRAND__API_KEY__DESCRIBE_CONFIGS, &req.base, timeout_ms,
                         unpack_describe_configs, &msg, errstr, errstr_size);
    if (err)
        return err;
    Strand__DescribeConfigsResponse *resp = (Strand__DescribeConfigsResponse *)msg;
    err = ST_ERR_BAD_RESPONSE;
    st_client_errstr(errstr, errstr_size, "'%s' missing from the DescribeConfigs response", name);
    for (size_t i = 0; i < resp->n_results; i++) {
        const Strand__DescribeConfigsResult *r = resp->results[i];
        if (r->resource_type != (int32_t)type || strcmp(r->resource_name ? r->resource_name : "",
                                                        name) != 0)
            continue;
        err = r->error_code;
        if (err) {
            st_client_errstr(errstr, errstr_size, "%s (%s)",
                             r->error_message && *r->error_message ? r->error_message
                                                                   : st_error_desc(err),
                             st_error_name(err));
        } else if (copy_entries(r, ret_entries, ret_count) < 0) {
            st_client_errstr(errstr, errstr_size, "out of memory");
            err = ST_ERR_INVALID_ARG;
        }
        break;
    }
    strand__describe_configs_response__free_unpacked(resp, NULL);
    return err;
}

int strand_admin_incremental_alter_configs(strand_admin_t *a, strand_resource_type_t type,
                                           const char *name, const strand_alter_config_t *ops,
                                           size_t op_count, bool validate_only, int timeout_ms,
                                           char *errstr, size_t errstr_size)
{
    int32_t target = config_target(type, name);
    if (!a || !name || (op_count && !ops) || target == -1 ||
        (type != STRAND_RESOURCE_TOPIC && type != STRAND_RESOURCE_BROKER)) {
        st_client_errstr(errstr, errstr_size, "invalid argument%s",
                         target == -1 ? ": a broker resource is named by its id" : "");
        return ST_ERR_INVALID_ARG;
    }
    Strand__AlterableConfig *cfgs = calloc(op_count + 1, sizeof(*cfgs));
    Strand__AlterableConfig **cfgp = calloc(op_count + 1, sizeof(*cfgp));
    if (!cfgs || !cfgp) {
        free(cfgs);
        free(cfgp);
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < op_count; i++) {
        strand__alterable_config__init(&cfgs[i]);
        cfgs[i].name = (char *)(ops[i].name ? ops[i].name : "");
        cfgs[i].config_operation = (int32_t)ops[i].op;
        cfgs[i].value = (char *)(ops[i].value ? ops[i].value : "");
        cfgs[i].value_null = !ops[i].value && ops[i].op != STRAND_ALTER_DELETE;
        cfgp[i] = &cfgs[i];
    }
    Strand__AlterConfigsResource res = STRAND__ALTER_CONFIGS_RESOURCE__INIT;
    res.resource_type = (int32_t)type;
    res.resource_name = (char *)name;
    res.configs = cfgp;
    res.n_configs = op_count;
    Strand__AlterConfigsResource *resp_ptr = &res;
    Strand__IncrementalAlterConfigsRequest req = STRAND__INCREMENTAL_ALTER_CONFIGS_REQUEST__INIT;
    req.resources = &resp_ptr;
    req.n_resources = 1;
    req.validate_only = validate_only;
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(a, target, STRAND__API_KEY__INCREMENTAL_ALTER_CONFIGS, &req.base,
                         timeout_ms, unpack_alter_configs, &msg, errstr, errstr_size);
    free(cfgs);
    free(cfgp);
    if (err)
        return err;
    Strand__IncrementalAlterConfigsResponse *resp = (Strand__IncrementalAlterConfigsResponse *)msg;
    err = ST_ERR_BAD_RESPONSE;
    st_client_errstr(errstr, errstr_size, "'%s' missing from the IncrementalAlterConfigs "
                     "response", name);
    for (size_t i = 0; i < resp->n_responses; i++) {
        const Strand__AlterConfigsResourceResponse *r = resp->responses[i];
        if (r->resource_type != (int32_t)type || strcmp(r->resource_name ? r->resource_name : "",
                                                        name) != 0)
            continue;
        err = r->error_code;
        if (err)
            st_client_errstr(errstr, errstr_size, "%s (%s)",
                             r->error_message && *r->error_message ? r->error_message
                                                                   : st_error_desc(err),
                             st_error_name(err));
        break;
    }
    strand__incremental_alter_configs_response__free_unpacked(resp, NULL);
    return err;
}
