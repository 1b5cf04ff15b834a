/* CreateTopics (19), DeleteTopics (20) and CreatePartitions (37): each decodes its request and
 * hands it to the admin worker (cluster/admin_worker.c), which makes the ZooKeeper writes
 * (Kafka's AdminZkClient) on its own thread while the request stays parked, and answers once the
 * controller's metadata shows the result (or the request's timeout passes). Metadata's
 * auto-creation goes to the same worker (handle_metadata.c). */
#include "admin_worker.h"
#include "request.h"

int st_handle_create_topics(st_request_t *req)
{
    Strand__CreateTopicsRequest *m = strand__create_topics_request__unpack(NULL, req->body_len,
                                                                          req->body);
    if (!m)
        return st_reply_fatal(req->conn, req, "CreateTopicsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return st_admin_worker_create_topics(req, m);
}

int st_handle_delete_topics(st_request_t *req)
{
    Strand__DeleteTopicsRequest *m = strand__delete_topics_request__unpack(NULL, req->body_len,
                                                                          req->body);
    if (!m)
        return st_reply_fatal(req->conn, req, "DeleteTopicsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return st_admin_worker_delete_topics(req, m);
}

int st_handle_create_partitions(st_request_t *req)
{
    Strand__CreatePartitionsRequest *m = strand__create_partitions_request__unpack(NULL,
                                                                                  req->body_len,
                                                                                  req->body);
    if (!m)
        return st_reply_fatal(req->conn, req, "CreatePartitionsRequest body of %zu bytes does "
                              "not decode (invalid protobuf)", req->body_len);
    return st_admin_worker_create_partitions(req, m);
}
