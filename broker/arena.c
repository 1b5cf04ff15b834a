/* Per-connection bump allocator used as protobuf-c's allocator for requests and responses. */
#include "arena.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct st_arena_block {
    st_arena_block_t *next;
    size_t size;                /* usable bytes in data */
    size_t used;
    _Alignas(16) unsigned char data[];
};

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

static void *pb_alloc(void *data, size_t size)
{
    return st_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

void st_arena_init(st_arena_t *a, size_t block_size)
{
    memset(a, 0, sizeof(*a));
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    a->block_size = block_size < 1024 ? 1024 : block_size;
}

static st_arena_block_t *new_block(size_t size)
{
    st_arena_block_t *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *st_arena_alloc(st_arena_t *a, size_t size)
{
    size = ALIGN16(size ? size : 1);
    if (!a->head) {
        a->head = a->cur = new_block(a->block_size);
        if (!a->head)
            return NULL;
    }
    if (a->cur->size - a->cur->used >= size) {
        void *p = a->cur->data + a->cur->used;
        a->cur->used += size;
        return p;
    }
    bool big = size > a->block_size / 2;
    st_arena_block_t *b = new_block(big ? size : a->block_size);
    if (!b)
        return NULL;
    b->used = size;
    /* Chained after cur; a big one-off block does not become the carving block. */
    b->next = a->cur->next;
    a->cur->next = b;
    if (!big)
        a->cur = b;
    return b->data;
}

void *st_arena_calloc(st_arena_t *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = st_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *st_arena_strdup(st_arena_t *a, const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = st_arena_alloc(a, len);
    if (p)
        memcpy(p, s, len);
    return p;
}

void st_arena_reset(st_arena_t *a)
{
    if (!a->head)
        return;
    st_arena_block_t *b = a->head->next;
    while (b) {
        st_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->head->next = NULL;
    a->head->used = 0;
    a->cur = a->head;
    assert(a->cur->size >= a->block_size);
}

void st_arena_destroy(st_arena_t *a)
{
    st_arena_reset(a);
    free(a->head);
    a->head = a->cur = NULL;
}
