/* ListOffsets (2): timestamp -2 = log start (earliest), -1 = high watermark for consumers or
 * log end for replicas (latest), otherwise the first record whose timestamp is >= the given one,
 * with that record's timestamp (offset -1 and timestamp -1 when there is none, as Kafka). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "request.h"

#define LATEST   (-1)
#define EARLIEST (-2)

static void list_partition(st_request_t *req, bool replica, const char *topic,
                           const Strand__ListOffsetsPartition *lp,
                           Strand__ListOffsetsPartitionResponse *pr)
{
    pr->partition = lp->partition;
    pr->timestamp = -1;
    pr->offset = -1;
    pr->leader_epoch = -1;
    st_partition_t *part = st_registry_get(req->broker->reg, topic, lp->partition);
    if (!part) {
        pr->error_code = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                        "%s-%" PRId32 " does not exist", topic, lp->partition);
        return;
    }
    st_partition_offsets_t o;
    int r = st_partition_offsets(part, &o);
    int32_t epoch = r == 0 ? o.leader_epoch : -1;
    if (r == 0 && lp->current_leader_epoch >= 0 && lp->current_leader_epoch != epoch) {
        pr->error_code = st_reply_error(req, lp->current_leader_epoch < epoch
                                                 ? ST_ERR_FENCED_LEADER_EPOCH
                                                 : ST_ERR_UNKNOWN_LEADER_EPOCH, NULL,
                                        "%s-%" PRId32 ": leader epoch %" PRId32 " vs %" PRId32,
                                        topic, lp->partition, lp->current_leader_epoch, epoch);
        st_partition_unref(part);
        return;
    }
    if (r == 0) {
        int64_t limit = replica ? o.log_end : o.high_watermark;
        if (lp->timestamp == LATEST) {
            pr->offset = limit;
        } else if (lp->timestamp == EARLIEST) {
            pr->offset = o.log_start;
        } else {
            int64_t off = -1, ts = -1;
            r = st_partition_offset_for_timestamp(part, lp->timestamp, &off, &ts);
            if (r == 0 && off < limit) {
                pr->offset = off;
                pr->timestamp = ts;
            }
        }
        pr->leader_epoch = epoch;
    }
    if (r == -ENOENT)
        pr->error_code = st_reply_error(req, ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL,
                                        "%s-%" PRId32 " was deleted", topic, lp->partition);
    else if (r == -EPERM)
        pr->error_code = st_reply_error(req, ST_ERR_NOT_LEADER_OR_FOLLOWER, NULL,
                                        "%s-%" PRId32 ": this broker is not the leader", topic,
                                        lp->partition);
    else if (r < 0)
        pr->error_code = st_reply_error(req, ST_ERR_KAFKA_STORAGE_ERROR, NULL,
                                        "%s-%" PRId32 ": offset lookup failed: %s", topic,
                                        lp->partition, strerror(-r));
    st_partition_unref(part);
}

int st_handle_list_offsets(st_request_t *req)
{
    Strand__ListOffsetsRequest *msg = strand__list_offsets_request__unpack(&req->arena->pb,
                                                                          req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "ListOffsetsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    Strand__ListOffsetsResponse resp = STRAND__LIST_OFFSETS_RESPONSE__INIT;
    Strand__ListOffsetsTopicResponse **tptrs = st_arena_calloc(req->arena, msg->n_topics,
                                                               sizeof(*tptrs));
    if (msg->n_topics && !tptrs)
        return st_reply_fatal(req->conn, req, "out of memory");
    bool replica = msg->replica_id >= 0;
    for (size_t t = 0; t < msg->n_topics; t++) {
        Strand__ListOffsetsTopic *lt = msg->topics[t];
        Strand__ListOffsetsTopicResponse *tr = st_arena_calloc(req->arena, 1, sizeof(*tr));
        Strand__ListOffsetsPartitionResponse **pptrs =
            st_arena_calloc(req->arena, lt->n_partitions, sizeof(*pptrs));
        Strand__ListOffsetsPartitionResponse *prs =
            st_arena_calloc(req->arena, lt->n_partitions, sizeof(*prs));
        if (!tr || (lt->n_partitions && (!pptrs || !prs)))
            return st_reply_fatal(req->conn, req, "out of memory");
        strand__list_offsets_topic_response__init(tr);
        tr->name = lt->name;
        tr->n_partitions = lt->n_partitions;
        tr->partitions = pptrs;
        for (size_t p = 0; p < lt->n_partitions; p++) {
            strand__list_offsets_partition_response__init(&prs[p]);
            pptrs[p] = &prs[p];
            list_partition(req, replica, lt->name, lt->partitions[p], &prs[p]);
        }
        tptrs[t] = tr;
    }
    resp.n_topics = msg->n_topics;
    resp.topics = tptrs;
    return st_request_respond(req, &resp.base, NULL, 0);
}
