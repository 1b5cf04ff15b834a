/* UpdateMetadata (6), from the controller: the complete live-broker list and partition states
 * (leader, leader epoch, replicas, ISR, offline replicas, zk_version; leader -2 = the topic is
 * being deleted) for the metadata cache, which Metadata answers from.
 *
 * Checks, in Kafka's order (KafkaApis.handleUpdateMetadataRequest): the inter-broker listener
 * and principal (st_request_is_inter_broker; else CLUSTER_AUTHORIZATION_FAILED), the broker
 * epoch (STALE_BROKER_EPOCH), the controller epoch (STALE_CONTROLLER_EPOCH; the highest seen is
 * shared with LeaderAndIsr through broker/cluster/fencing.h). A refused request changes nothing.
 *
 * Runs inline on the connection's loop thread; the cache's writer lock serialises concurrent
 * updates arriving on other loops. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "fencing.h"
#include "inter_broker.h"
#include "metadata_cache.h"
#include "request.h"
#include "st_logger.h"

static int respond(st_request_t *req, int32_t code)
{
    Strand__UpdateMetadataResponse resp = STRAND__UPDATE_METADATA_RESPONSE__INIT;
    resp.error_code = code;
    return st_request_respond(req, &resp.base, NULL, 0);
}

/* Converts the live brokers into the arena. ST_ERR_NONE or INVALID_REQUEST (message set). */
static int32_t convert_brokers(st_request_t *req, const Strand__UpdateMetadataRequest *msg,
                               st_broker_endpoint_t **ret)
{
    st_broker_endpoint_t *brokers = st_arena_calloc(req->arena, msg->n_live_brokers + 1,
                                                    sizeof(*brokers));
    if (!brokers)
        return st_reply_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, NULL, "out of memory");
    for (size_t i = 0; i < msg->n_live_brokers; i++) {
        const Strand__UpdateMetadataBroker *ub = msg->live_brokers[i];
        st_broker_endpoint_t *b = &brokers[i];
        b->id = ub->id;
        if (ub->rack && strlen(ub->rack) >= sizeof(b->rack))
            return st_reply_error(req, ST_ERR_INVALID_REQUEST, NULL, "broker %" PRId32 ": rack "
                                  "name longer than %zu bytes", ub->id, sizeof(b->rack) - 1);
        strcpy(b->rack, ub->rack ? ub->rack : "");
        b->listeners = st_arena_calloc(req->arena, ub->n_endpoints + 1, sizeof(*b->listeners));
        if (!b->listeners)
            return st_reply_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, NULL, "out of memory");
        b->n_listeners = ub->n_endpoints;
        for (size_t j = 0; j < ub->n_endpoints; j++) {
            const Strand__UpdateMetadataEndpoint *ue = ub->endpoints[j];
            st_listener_cfg_t *l = &b->listeners[j];
            const char *name = ue->listener ? ue->listener : "";
            const char *host = ue->host ? ue->host : "";
            const char *proto = ue->security_protocol ? ue->security_protocol : "";
            if (!*name || strlen(name) >= sizeof(l->name) || strlen(host) >= sizeof(l->host))
                return st_reply_error(req, ST_ERR_INVALID_REQUEST, NULL, "broker %" PRId32
                                      ": endpoint with an empty or too long listener or host name",
                                      ub->id);
            if (strcasecmp(proto, "PLAINTEXT") == 0)
                l->protocol = ST_PROTO_PLAINTEXT;
            else if (strcasecmp(proto, "SSL") == 0)
                l->protocol = ST_PROTO_SSL;
            else
                return st_reply_error(req, ST_ERR_INVALID_REQUEST, NULL, "broker %" PRId32
                                      ": unknown security protocol '%s'", ub->id, proto);
            for (size_t k = 0; name[k]; k++)    /* listener names are kept upper-case */
                l->name[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
            strcpy(l->host, host);
            l->port = ue->port;
        }
    }
    *ret = brokers;
    return ST_ERR_NONE;
}

int st_handle_update_metadata(st_request_t *req)
{
    Strand__UpdateMetadataRequest *msg = strand__update_metadata_request__unpack(
        &req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "UpdateMetadataRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_broker_t *b = req->broker;
    char why[512];
    if (!st_request_is_inter_broker(req, why, sizeof(why)))
        return respond(req, st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL,
                                           "UpdateMetadata refused: %s", why));
    if (st_broker_epoch_check(b, msg->broker_epoch) != ST_ERR_NONE)
        return respond(req, st_reply_error(req, ST_ERR_STALE_BROKER_EPOCH, NULL,
                                           "broker epoch %" PRId64 " is older than this broker's "
                                           "%" PRId64, msg->broker_epoch, st_broker_epoch_get(b)));
    if (st_controller_epoch_check(b, msg->controller_epoch) != ST_ERR_NONE)
        return respond(req, st_reply_error(req, ST_ERR_STALE_CONTROLLER_EPOCH, NULL,
                                           "controller %" PRId32 " epoch %" PRId32 " is older "
                                           "than epoch %" PRId32 " already seen",
                                           msg->controller_id, msg->controller_epoch,
                                           st_controller_epoch_seen(b)));

    st_broker_endpoint_t *brokers = NULL;
    int32_t code = convert_brokers(req, msg, &brokers);
    if (code != ST_ERR_NONE)
        return respond(req, code);
    st_md_partition_update_t *parts = st_arena_calloc(req->arena, msg->n_partition_states + 1,
                                                      sizeof(*parts));
    if (!parts)
        return respond(req, st_reply_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, NULL, "out of memory"));
    for (size_t i = 0; i < msg->n_partition_states; i++) {
        const Strand__UpdateMetadataPartitionState *ps = msg->partition_states[i];
        st_md_partition_t *p = &parts[i].state;
        parts[i].topic = ps->topic ? ps->topic : "";
        p->partition = ps->partition;
        p->lisr.controller_epoch = ps->controller_epoch;
        p->lisr.leader = ps->leader;
        p->lisr.leader_epoch = ps->leader_epoch;
        p->lisr.zk_version = ps->zk_version;
        p->lisr.isr = (st_int_list_t){ ps->isr, ps->n_isr };
        p->replicas = (st_int_list_t){ ps->replicas, ps->n_replicas };
        p->offline = (st_int_list_t){ ps->offline_replicas, ps->n_offline_replicas };
    }
    st_md_update_t update = {
        .controller_id = msg->controller_id,
        .controller_epoch = msg->controller_epoch,
        .replace_brokers = true,
        .brokers = brokers,
        .n_brokers = msg->n_live_brokers,
        .partitions = parts,
        .n_partitions = msg->n_partition_states,
    };
    int r = st_metadata_cache_apply(b->meta, &update, why, sizeof(why));
    if (r == -ESTALE)
        return respond(req, st_reply_error(req, ST_ERR_STALE_CONTROLLER_EPOCH, NULL, "%s", why));
    if (r == -EINVAL)
        return respond(req, st_reply_error(req, ST_ERR_INVALID_REQUEST, NULL, "%s", why));
    if (r < 0)
        return respond(req, st_reply_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, NULL,
                                           "cannot apply UpdateMetadata: %s", strerror(-r)));
    ST_DEBUG("UpdateMetadata from controller %" PRId32 " (epoch %" PRId32 "): %zu live brokers, "
             "%zu partition states", msg->controller_id, msg->controller_epoch,
             msg->n_live_brokers, msg->n_partition_states);
    return respond(req, ST_ERR_NONE);
}
