/* OffsetForLeaderEpoch (23), leader side (reference section 3.5): for each partition, the
 * largest epoch <= the one asked for and where it ends in this leader's log (the log end for
 * the latest epoch), or -1/-1 when unknown. current_leader_epoch is checked like Fetch's
 * (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH); a non-leader answers NOT_LEADER_OR_FOLLOWER.
 * Inline on the loop (the epoch cache lookup is in memory). */
#include <errno.h>
#include <inttypes.h>

#include "inter_broker.h"
#include "request.h"

static void one_partition(st_request_t *req, const char *topic,
                          const Strand__OffsetForLeaderPartition *op, Strand__EpochEndOffset *out)
{
    strand__epoch_end_offset__init(out);
    out->partition = op->partition;
    out->leader_epoch = -1;
    out->end_offset = -1;
    st_partition_t *part = st_registry_get(req->broker->reg, topic, op->partition);
    if (!part) {
        out->error_code = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                         "%s-%" PRId32 " is not hosted here", topic, op->partition);
        return;
    }
    int32_t epoch = st_partition_leader_epoch(part);
    if (op->current_leader_epoch >= 0 && op->current_leader_epoch < epoch) {
        out->error_code = st_reply_error(req, ST_ERR_FENCED_LEADER_EPOCH, NULL,
                                         "%s-%" PRId32 ": leader epoch %" PRId32 " < %" PRId32,
                                         topic, op->partition, op->current_leader_epoch, epoch);
    } else if (op->current_leader_epoch > epoch) {
        out->error_code = st_reply_error(req, ST_ERR_UNKNOWN_LEADER_EPOCH, NULL,
                                         "%s-%" PRId32 ": leader epoch %" PRId32 " > %" PRId32,
                                         topic, op->partition, op->current_leader_epoch, epoch);
    } else {
        int r = st_partition_epoch_end_offset(part, op->leader_epoch, &out->leader_epoch,
                                              &out->end_offset);
        if (r == -EPERM)
            out->error_code = st_reply_error(req, ST_ERR_NOT_LEADER_OR_FOLLOWER, NULL,
                                             "%s-%" PRId32 ": this broker is not the leader",
                                             topic, op->partition);
        else if (r < 0)
            out->error_code = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                             "%s-%" PRId32 " was deleted", topic, op->partition);
    }
    st_partition_unref(part);
}

int st_handle_offset_for_leader_epoch(st_request_t *req)
{
    Strand__OffsetForLeaderEpochRequest *msg =
        strand__offset_for_leader_epoch_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "OffsetForLeaderEpochRequest body of %zu bytes "
                              "does not decode (invalid protobuf)", req->body_len);
    bool authorized = msg->replica_id < 0 || st_request_is_inter_broker(req, NULL, 0);
    Strand__OffsetForLeaderEpochResponse resp = STRAND__OFFSET_FOR_LEADER_EPOCH_RESPONSE__INIT;
    Strand__OffsetForLeaderTopicResult *topics = st_arena_calloc(req->arena, msg->n_topics,
                                                                 sizeof(*topics));
    Strand__OffsetForLeaderTopicResult **tptrs = st_arena_calloc(req->arena, msg->n_topics,
                                                                 sizeof(*tptrs));
    if (msg->n_topics && (!topics || !tptrs))
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t t = 0; t < msg->n_topics; t++) {
        Strand__OffsetForLeaderTopic *ot = msg->topics[t];
        strand__offset_for_leader_topic_result__init(&topics[t]);
        topics[t].topic = ot->topic;
        topics[t].n_partitions = ot->n_partitions;
        Strand__EpochEndOffset *eo = st_arena_calloc(req->arena, ot->n_partitions, sizeof(*eo));
        Strand__EpochEndOffset **eptrs = st_arena_calloc(req->arena, ot->n_partitions,
                                                         sizeof(*eptrs));
        if (ot->n_partitions && (!eo || !eptrs))
            return st_reply_fatal(req->conn, req, "out of memory");
        for (size_t p = 0; p < ot->n_partitions; p++) {
            eptrs[p] = &eo[p];
            if (!authorized) {
                strand__epoch_end_offset__init(&eo[p]);
                eo[p].partition = ot->partitions[p]->partition;
                eo[p].leader_epoch = -1;
                eo[p].end_offset = -1;
                eo[p].error_code = st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL,
                                                  "replica requests are accepted only on the "
                                                  "inter-broker listener");
            } else {
                one_partition(req, ot->topic, ot->partitions[p], &eo[p]);
            }
        }
        topics[t].partitions = eptrs;
        tptrs[t] = &topics[t];
    }
    resp.n_topics = msg->n_topics;
    resp.topics = tptrs;
    return st_request_respond(req, &resp.base, NULL, 0);
}
