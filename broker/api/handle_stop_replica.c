/* StopReplica (5), from the controller: authorised like LeaderAndIsr, applied on the replica
 * manager's replica-state thread (stop the fetcher, stop hosting; delete_partition removes the
 * log; leader_epoch -2 = topic deletion overrides the epoch check). Parked until done. */
#include "replica_manager.h"
#include "inter_broker.h"
#include "request.h"

int st_handle_stop_replica(st_request_t *req)
{
    if (!st_request_is_inter_broker(req, NULL, 0)) {
        Strand__StopReplicaResponse resp = STRAND__STOP_REPLICA_RESPONSE__INIT;
        resp.error_code = st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL,
                                         "StopReplica is accepted only on the inter-broker "
                                         "listener from a broker principal (peer %s)",
                                         st_conn_principal(req->conn));
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    Strand__StopReplicaRequest *msg = strand__stop_replica_request__unpack(NULL, req->body_len,
                                                                          req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "StopReplicaRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return st_replica_manager_submit_stop_replica(req, msg);
}
