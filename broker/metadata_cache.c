/* The metadata cache: live brokers, their advertised listeners, controller and cluster id.
 *
 * Invariants: broker ids are unique; every broker has at least one listener. */
#include "metadata_cache.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_metadata_cache {
    pthread_rwlock_t lock;
    char cluster_id[64];
    int32_t controller_id;
    st_broker_endpoint_t *brokers;
    size_t n_brokers;
};

static void free_brokers(st_broker_endpoint_t *brokers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(brokers[i].listeners);
    free(brokers);
}

static void check_cache(const st_metadata_cache_t *cache)
{
    for (size_t i = 0; i < cache->n_brokers; i++) {
        assert(cache->brokers[i].n_listeners >= 1);
        for (size_t j = 0; j < i; j++)
            assert(cache->brokers[i].id != cache->brokers[j].id);
    }
    (void)cache;
}

int st_metadata_cache_new(const char *cluster_id, st_metadata_cache_t **ret)
{
    st_metadata_cache_t *cache = calloc(1, sizeof(*cache));
    if (!cache)
        return -ENOMEM;
    pthread_rwlock_init(&cache->lock, NULL);
    snprintf(cache->cluster_id, sizeof(cache->cluster_id), "%s", cluster_id);
    cache->controller_id = -1;
    *ret = cache;
    return 0;
}

void st_metadata_cache_free(st_metadata_cache_t *cache)
{
    if (!cache)
        return;
    free_brokers(cache->brokers, cache->n_brokers);
    pthread_rwlock_destroy(&cache->lock);
    free(cache);
}

int st_metadata_cache_set_brokers(st_metadata_cache_t *cache, const st_broker_endpoint_t *brokers,
                                  size_t n)
{
    st_broker_endpoint_t *copy = calloc(n ? n : 1, sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        copy[i] = brokers[i];
        copy[i].listeners = calloc(brokers[i].n_listeners, sizeof(st_listener_cfg_t));
        if (!copy[i].listeners) {
            free_brokers(copy, i);
            return -ENOMEM;
        }
        memcpy(copy[i].listeners, brokers[i].listeners,
               brokers[i].n_listeners * sizeof(st_listener_cfg_t));
    }
    pthread_rwlock_wrlock(&cache->lock);
    st_broker_endpoint_t *old = cache->brokers;
    size_t n_old = cache->n_brokers;
    cache->brokers = copy;
    cache->n_brokers = n;
    check_cache(cache);
    pthread_rwlock_unlock(&cache->lock);
    free_brokers(old, n_old);
    return 0;
}

void st_metadata_cache_set_controller(st_metadata_cache_t *cache, int32_t controller_id)
{
    pthread_rwlock_wrlock(&cache->lock);
    cache->controller_id = controller_id;
    pthread_rwlock_unlock(&cache->lock);
}

int32_t st_metadata_cache_controller(st_metadata_cache_t *cache)
{
    pthread_rwlock_rdlock(&cache->lock);
    int32_t id = cache->controller_id;
    pthread_rwlock_unlock(&cache->lock);
    return id;
}

void st_metadata_cache_cluster_id(st_metadata_cache_t *cache, char *out, size_t len)
{
    pthread_rwlock_rdlock(&cache->lock);
    snprintf(out, len, "%s", cache->cluster_id);
    pthread_rwlock_unlock(&cache->lock);
}

void st_metadata_cache_visit_brokers(st_metadata_cache_t *cache, const char *listener_name,
                                     void (*fn)(void *arg, int32_t id, const char *host, int port,
                                                const char *rack),
                                     void *arg)
{
    pthread_rwlock_rdlock(&cache->lock);
    for (size_t i = 0; i < cache->n_brokers; i++) {
        const st_broker_endpoint_t *b = &cache->brokers[i];
        for (size_t j = 0; j < b->n_listeners; j++) {
            if (strcmp(b->listeners[j].name, listener_name) == 0) {
                fn(arg, b->id, b->listeners[j].host, b->listeners[j].port, b->rack);
                break;
            }
        }
    }
    pthread_rwlock_unlock(&cache->lock);
}

size_t st_metadata_cache_broker_count(st_metadata_cache_t *cache)
{
    pthread_rwlock_rdlock(&cache->lock);
    size_t n = cache->n_brokers;
    pthread_rwlock_unlock(&cache->lock);
    return n;
}

int st_metadata_cache_broker_endpoint(st_metadata_cache_t *cache, int32_t id,
                                      const char *listener_name, char *host, size_t host_len,
                                      int *ret_port)
{
    int r = -ENOENT;
    pthread_rwlock_rdlock(&cache->lock);
    for (size_t i = 0; i < cache->n_brokers && r == -ENOENT; i++) {
        const st_broker_endpoint_t *b = &cache->brokers[i];
        if (b->id != id)
            continue;
        for (size_t j = 0; j < b->n_listeners; j++) {
            if (strcmp(b->listeners[j].name, listener_name) == 0) {
                snprintf(host, host_len, "%s", b->listeners[j].host);
                *ret_port = b->listeners[j].port;
                r = 0;
                break;
            }
        }
    }
    pthread_rwlock_unlock(&cache->lock);
    return r;
}
