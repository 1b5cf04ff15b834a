/* A bump allocator for one request at a time: protobuf-c unpacks requests into it (as its
 * ProtobufCAllocator) and handlers build their responses in it, so handling a request does no
 * malloc once the first block is warm. Reset between requests; not thread-safe (each
 * connection owns one and is used on one network thread).
 *
 * Invariants: head is the first block and is kept across resets; every pointer handed out is
 * 16-byte aligned and valid until the next reset or destroy. */
#ifndef ST_ARENA_H
#define ST_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct st_arena_block st_arena_block_t;

typedef struct st_arena {
    ProtobufCAllocator pb;     /* alloc/free/allocator_data = this arena; free is a no-op */
    st_arena_block_t *head;    /* first block, kept across resets */
    st_arena_block_t *cur;     /* block being carved */
    size_t block_size;
} st_arena_t;

void st_arena_init(st_arena_t *a, size_t block_size);
/* NULL only when malloc fails. */
void *st_arena_alloc(st_arena_t *a, size_t size);
/* Zeroed memory. */
void *st_arena_calloc(st_arena_t *a, size_t n, size_t size);
char *st_arena_strdup(st_arena_t *a, const char *s);
/* Frees every block except the first and makes all of it available again. */
void st_arena_reset(st_arena_t *a);
void st_arena_destroy(st_arena_t *a);

#endif
