/* ApiVersions (18): the supported version range of every API. Also the answer to any request
 * with an unknown API key or an unsupported version (error_code UNSUPPORTED_VERSION). */
#include "request.h"

int st_api_versions_respond(st_request_t *req, int32_t error_code)
{
    size_t n = 0;
    const st_api_def_t *apis = st_api_table(&n);
    Strand__ApiVersionsResponse resp = STRAND__API_VERSIONS_RESPONSE__INIT;
    Strand__ApiVersionRange *ranges = st_arena_calloc(req->arena, n, sizeof(*ranges));
    Strand__ApiVersionRange **ptrs = st_arena_calloc(req->arena, n, sizeof(*ptrs));
    if (!ranges || !ptrs)
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t i = 0; i < n; i++) {
        strand__api_version_range__init(&ranges[i]);
        ranges[i].api_key = apis[i].key;
        ranges[i].min_version = apis[i].min_version;
        ranges[i].max_version = apis[i].max_version;
        ptrs[i] = &ranges[i];
    }
    resp.error_code = error_code;
    resp.n_api_keys = n;
    resp.api_keys = ptrs;
    return st_request_respond(req, &resp.base, NULL, 0);
}

int st_handle_api_versions(st_request_t *req)
{
    Strand__ApiVersionsRequest *msg = strand__api_versions_request__unpack(&req->arena->pb,
                                                                          req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "ApiVersionsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    return st_api_versions_respond(req, ST_ERR_NONE);
}
