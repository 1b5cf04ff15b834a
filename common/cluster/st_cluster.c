/* The shared cluster types' helpers: broker-id lists, topic-partition lists, endpoints,
 * leader-and-ISR state (copy, free, membership). See st_cluster.h. */
#include "st_cluster.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool st_int_list_contains(const st_int_list_t *l, int32_t x)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == x)
            return true;
    return false;
}

int st_int_list_copy(st_int_list_t *dst, const st_int_list_t *src)
{
    int32_t *v = NULL;
    if (src->n) {
        v = malloc(src->n * sizeof(*v));
        if (!v)
            return -ENOMEM;
        memcpy(v, src->v, src->n * sizeof(*v));
    }
    dst->v = v;
    dst->n = src->n;
    return 0;
}

void st_int_list_free(st_int_list_t *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void st_tp_list_free(st_tp_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].topic);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void st_endpoint_free(st_endpoint_t *ep)
{
    if (!ep)
        return;
    free(ep->listener);
    free(ep->security_protocol);
    free(ep->host);
    ep->listener = NULL;
    ep->security_protocol = NULL;
    ep->host = NULL;
}

void st_lisr_free(st_lisr_t *lisr)
{
    if (lisr)
        st_int_list_free(&lisr->isr);
}

int st_lisr_copy(st_lisr_t *dst, const st_lisr_t *src)
{
    st_lisr_t c = *src;
    if (st_int_list_copy(&c.isr, &src->isr) < 0)
        return -ENOMEM;
    *dst = c;
    return 0;
}
