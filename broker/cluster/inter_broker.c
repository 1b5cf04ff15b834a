/* The inter-broker authorization check shared by every controller and replication API (see
 * inter_broker.h): the request's listener must be the inter-broker one, and on SSL its
 * principal must be a super user. */
#include "inter_broker.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "request.h"

const st_listener_cfg_t *st_inter_broker_listener(const st_broker_config_t *cfg)
{
    const char *name = cfg->inter_broker_listener_name;
    if (name && *name) {
        for (size_t i = 0; i < cfg->n_listeners; i++)
            if (strcasecmp(cfg->listener_list[i].name, name) == 0)
                return &cfg->listener_list[i];
        return NULL;
    }
    const char *proto = cfg->security_inter_broker_protocol ? cfg->security_inter_broker_protocol
                                                            : "PLAINTEXT";
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (strcasecmp(cfg->listener_list[i].name, proto) == 0)
            return &cfg->listener_list[i];
    st_security_protocol_t want = strcasecmp(proto, "SSL") == 0 ? ST_PROTO_SSL : ST_PROTO_PLAINTEXT;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (cfg->listener_list[i].protocol == want)
            return &cfg->listener_list[i];
    return NULL;
}

bool st_super_user(const st_broker_config_t *cfg, const char *principal)
{
    const char *p = cfg->super_users;
    size_t plen = strlen(principal);
    while (p && *p) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if (n == plen && memcmp(s, principal, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

bool st_request_is_inter_broker(const st_request_t *req, char *why, size_t why_len)
{
    const st_broker_config_t *cfg = &req->broker->cfg;
    const st_listener_cfg_t *ib = st_inter_broker_listener(cfg);
    const st_listener_cfg_t *on = &st_conn_listener(req->conn)->cfg;
    if (!ib || strcmp(ib->name, on->name) != 0) {
        if (why)
            snprintf(why, why_len, "listener %s is not the inter-broker listener (%s)", on->name,
                     ib ? ib->name : "none configured");
        return false;
    }
    if (on->protocol == ST_PROTO_PLAINTEXT)
        return true;
    const char *principal = st_conn_principal(req->conn);
    if (principal && st_super_user(cfg, principal))
        return true;
    if (why)
        snprintf(why, why_len, "principal %s on SSL listener %s is not in super.users",
                 principal ? principal : "(none)", on->name);
    return false;
}
