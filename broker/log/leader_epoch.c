/* The leader-epoch cache of a partition (Kafka's LeaderEpochFileCache): which leader epoch
 * started at which offset, persisted in <partition dir>/leader-epoch-checkpoint on every change.
 * Replication asks it for the end offset of an epoch (OffsetsForLeaderEpoch) to truncate a
 * diverged follower.
 *
 * Invariants: epochs strictly increase; start offsets never decrease; the file on disk matches
 * the memory after every successful change. The owning log's mutex covers it. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log_internal.h"
#include "st_logger.h"

static bool cache_ok(const st_epoch_cache_t *cache)
{
    for (size_t i = 1; i < cache->n; i++)
        if (cache->entries[i].epoch <= cache->entries[i - 1].epoch ||
            cache->entries[i].start_offset < cache->entries[i - 1].start_offset)
            return false;
    return true;
}

static int persist(st_epoch_cache_t *cache)
{
    assert(cache_ok(cache));
    return st_epoch_checkpoint_write(cache->path, cache->entries, cache->n);
}

int st_epoch_cache_load(st_epoch_cache_t *cache, const char *path)
{
    memset(cache, 0, sizeof(*cache));
    if (!(cache->path = strdup(path)))
        return -ENOMEM;
    st_epoch_entry_t *entries;
    size_t n;
    int ret = st_epoch_checkpoint_read(path, &entries, &n);
    if (ret == -ENOENT)
        return 0;
    if (ret == -EBADMSG) {
        /* the reader named the file and line; start over, as Kafka does with a bad checkpoint */
        ST_WARN("%s: ignoring the unreadable leader-epoch checkpoint", path);
        return 0;
    }
    if (ret < 0)
        return ret;
    cache->entries = entries;
    cache->n = cache->cap = n;
    return 0;
}

void st_epoch_cache_free(st_epoch_cache_t *cache)
{
    free(cache->entries);
    free(cache->path);
    memset(cache, 0, sizeof(*cache));
}

int32_t st_epoch_cache_latest(const st_epoch_cache_t *cache)
{
    return cache->n ? cache->entries[cache->n - 1].epoch : -1;
}

int st_epoch_cache_assign(st_epoch_cache_t *cache, int32_t epoch, int64_t start_offset)
{
    if (epoch < 0 || start_offset < 0)
        return -EINVAL;
    if (cache->n > 0) {
        const st_epoch_entry_t *last = &cache->entries[cache->n - 1];
        if (last->epoch == epoch && last->start_offset <= start_offset)
            return 0;
    }
    size_t keep = cache->n;
    while (keep > 0 && (cache->entries[keep - 1].epoch >= epoch ||
                        cache->entries[keep - 1].start_offset >= start_offset))
        keep--;
    if (keep + 1 > cache->cap) {
        size_t cap = cache->cap ? cache->cap * 2 : 8;
        st_epoch_entry_t *e = realloc(cache->entries, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        cache->entries = e;
        cache->cap = cap;
    }
    cache->entries[keep].epoch = epoch;
    cache->entries[keep].start_offset = start_offset;
    cache->n = keep + 1;
    return persist(cache);
}

int st_epoch_cache_truncate_from_end(st_epoch_cache_t *cache, int64_t end_offset)
{
    size_t keep = cache->n;
    while (keep > 0 && cache->entries[keep - 1].start_offset >= end_offset)
        keep--;
    if (keep == cache->n)
        return 0;
    cache->n = keep;
    return persist(cache);
}

int st_epoch_cache_truncate_from_start(st_epoch_cache_t *cache, int64_t start_offset)
{
    /* entries [0, first) lie wholly below start_offset except the last of them */
    size_t first = 0;
    while (first < cache->n && cache->entries[first].start_offset <= start_offset)
        first++;
    if (first == 0)
        return 0;
    size_t drop = first - 1;
    if (drop == 0 && cache->entries[0].start_offset == start_offset)
        return 0;
    memmove(cache->entries, cache->entries + drop, (cache->n - drop) * sizeof(*cache->entries));
    cache->n -= drop;
    cache->entries[0].start_offset = start_offset;
    return persist(cache);
}

int st_epoch_cache_clear(st_epoch_cache_t *cache)
{
    if (cache->n == 0)
        return 0;
    cache->n = 0;
    return persist(cache);
}

int64_t st_epoch_cache_end_offset_for(const st_epoch_cache_t *cache, int32_t epoch,
                                      int64_t log_end, int32_t *ret_epoch)
{
    int32_t found = -1;
    int64_t off = -1;
    if (cache->n > 0 && epoch >= 0 && epoch < cache->entries[0].epoch) {
        /* Older than every epoch we know (Kafka's LeaderEpochFileCache.endOffsetFor with no
         * floor entry): it ended, at the latest, where our earliest epoch starts. Answering
         * "unknown" instead made a follower whose only epoch was a leadership without data
         * (e.g. (1, 0) on an empty log) diverge on every fetch from a leader that started at
         * (2, 0): nothing to truncate, the same question again, forever. */
        found = epoch;
        off = cache->entries[0].start_offset;
    } else if (cache->n > 0 && epoch >= cache->entries[0].epoch) {
        if (epoch == cache->entries[cache->n - 1].epoch) {
            found = epoch;
            off = log_end;
        } else {
            /* the floor entry's epoch ends where the next higher epoch starts */
            for (size_t i = 0; i + 1 < cache->n; i++) {
                if (cache->entries[i].epoch <= epoch && cache->entries[i + 1].epoch > epoch) {
                    found = cache->entries[i].epoch;
                    off = cache->entries[i + 1].start_offset;
                    break;
                }
            }
        }
    }
    if (ret_epoch)
        *ret_epoch = found;
    return off;
}
