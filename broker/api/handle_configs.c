/* DescribeConfigs (32) and IncrementalAlterConfigs (44): each decodes its request and hands it
 * to the config manager (cluster/config_manager.c), which reads or writes ZooKeeper on its own
 * thread while the request stays parked, then answers. A BROKER resource must name this broker
 * (clients send it to that broker) or "" for the cluster-wide default. */
#include "config_manager.h"
#include "request.h"

int st_handle_describe_configs(st_request_t *req)
{
    Strand__DescribeConfigsRequest *m = strand__describe_configs_request__unpack(NULL,
                                                                                req->body_len,
                                                                                req->body);
    if (!m)
        return st_reply_fatal(req->conn, req, "DescribeConfigsRequest body of %zu bytes does "
                              "not decode (invalid protobuf)", req->body_len);
    return st_config_manager_describe(req, m);
}

int st_handle_incremental_alter_configs(st_request_t *req)
{
    Strand__IncrementalAlterConfigsRequest *m =
        strand__incremental_alter_configs_request__unpack(NULL, req->body_len, req->body);
    if (!m)
        return st_reply_fatal(req->conn, req, "IncrementalAlterConfigsRequest body of %zu bytes "
                              "does not decode (invalid protobuf)", req->body_len);
    return st_config_manager_alter(req, m);
}
