/* StopReplica (5), from the controller: authorised like LeaderAndIsr
 * (st_request_require_inter_broker), applied on the replica manager's replica-state thread (stop
 * the fetcher, stop hosting; delete_partition removes the log; leader_epoch -2 = topic deletion
 * overrides the epoch check). Parked until done. */
#include "replica_manager.h"
#include "request.h"

int st_handle_stop_replica(st_request_t *req)
{
    Strand__StopReplicaResponse resp = STRAND__STOP_REPLICA_RESPONSE__INIT;
    int r = 0;
    if (!st_request_require_inter_broker(req, &resp.base, &resp.error_code, &r))
        return r;
    Strand__StopReplicaRequest *msg = strand__stop_replica_request__unpack(NULL, req->body_len,
                                                                          req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "StopReplicaRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return st_replica_manager_submit_stop_replica(req, msg);
}
