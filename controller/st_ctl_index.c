/* Hash indexes for the controller: a position (into an array the caller owns) found by a hash
 * and an equality callback, so that lookups by topic name and the de-duplication of a request
 * batch stay O(1) per item at 10,000+ partitions instead of scanning the array. Open addressing
 * with linear probing and backward-shift deletion (no tombstones). Pure, no locks: the owner's
 * thread only (the node thread for everything in controller/).
 *
 * Invariants (checked by ctl_index_check under assert in debug paths):
 *   I1. cap is 0 or a power of two, and n < cap * 3 / 4 after every insertion;
 *   I2. every occupied slot's entry is reachable from its home slot (hash & (cap - 1)) by a
 *       probe sequence without an empty slot, which is what backward-shift deletion preserves. */
#include "st_ctl.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t ctl_hash_mix(uint64_t h, uint64_t v)
{
    /* splitmix64 finaliser over the running hash */
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

uint64_t ctl_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return ctl_hash_mix(h, 0);
}

static int grow(ctl_index_t *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 16;
    ctl_index_slot_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->slots[i].pos1)
            continue;
        size_t j = ix->slots[i].hash & (cap - 1);
        while (slots[j].pos1)
            j = (j + 1) & (cap - 1);
        slots[j] = ix->slots[i];
    }
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

size_t ctl_index_find(const ctl_index_t *ix, uint64_t hash, ctl_index_eq_fn *eq,
                      const void *ctx, const void *key)
{
    if (!ix->cap)
        return SIZE_MAX;
    for (size_t j = hash & (ix->cap - 1);; j = (j + 1) & (ix->cap - 1)) {
        const ctl_index_slot_t *s = &ix->slots[j];
        if (!s->pos1)
            return SIZE_MAX;
        if (s->hash == hash && eq(ctx, s->pos1 - 1, key))
            return s->pos1 - 1;
    }
}

int ctl_index_add(ctl_index_t *ix, uint64_t hash, size_t pos)
{
    if ((ix->n + 1) * 4 >= ix->cap * 3 && grow(ix) < 0)
        return -ENOMEM;
    size_t j = hash & (ix->cap - 1);
    while (ix->slots[j].pos1)
        j = (j + 1) & (ix->cap - 1);
    ix->slots[j] = (ctl_index_slot_t){ .hash = hash, .pos1 = pos + 1 };
    ix->n++;
    return 0;
}

/* The slot holding (hash, pos), or SIZE_MAX. */
static size_t slot_of(const ctl_index_t *ix, uint64_t hash, size_t pos)
{
    if (!ix->cap)
        return SIZE_MAX;
    for (size_t j = hash & (ix->cap - 1);; j = (j + 1) & (ix->cap - 1)) {
        if (!ix->slots[j].pos1)
            return SIZE_MAX;
        if (ix->slots[j].hash == hash && ix->slots[j].pos1 == pos + 1)
            return j;
    }
}

void ctl_index_remove(ctl_index_t *ix, uint64_t hash, size_t pos)
{
    size_t j = slot_of(ix, hash, pos);
    assert(j != SIZE_MAX && "removing an entry that is not indexed");
    if (j == SIZE_MAX)
        return;
    size_t mask = ix->cap - 1;
    /* backward-shift: pull later entries of the run into the hole when that keeps them
     * reachable from their home slot (I2) */
    for (size_t k = (j + 1) & mask; ix->slots[k].pos1; k = (k + 1) & mask) {
        size_t home = ix->slots[k].hash & mask;
        bool movable = j <= k ? (home <= j || home > k) : (home <= j && home > k);
        if (movable) {
            ix->slots[j] = ix->slots[k];
            j = k;
        }
    }
    ix->slots[j] = (ctl_index_slot_t){ 0 };
    ix->n--;
}

void ctl_index_move(ctl_index_t *ix, uint64_t hash, size_t from, size_t to)
{
    size_t j = slot_of(ix, hash, from);
    assert(j != SIZE_MAX && "moving an entry that is not indexed");
    if (j != SIZE_MAX)
        ix->slots[j].pos1 = to + 1;
}

void ctl_index_clear(ctl_index_t *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof(*ix));
}

bool ctl_index_check(const ctl_index_t *ix)
{
    if (ix->cap & (ix->cap - 1))
        return false;
    size_t n = 0;
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->slots[i].pos1)
            continue;
        n++;
        for (size_t j = ix->slots[i].hash & (ix->cap - 1); j != i; j = (j + 1) & (ix->cap - 1))
            if (!ix->slots[j].pos1)
                return false;
    }
    return n == ix->n && (ix->cap == 0 || ix->n * 4 < ix->cap * 3);
}
