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
    /* Resolved once by st_broker_config_finish (which refuses an unknown listener name). */
    if (cfg->n_listeners == 0 || cfg->inter_broker_listener < 0 ||
        (size_t)cfg->inter_broker_listener >= cfg->n_listeners)
        return NULL;
    return &cfg->listener_list[cfg->inter_broker_listener];
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
