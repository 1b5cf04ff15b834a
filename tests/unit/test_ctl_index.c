/* The controller's hash index (controller/st_ctl_index.c): lookups, swap-removes and moves as
 * the topic cache does them, against a plain array, with the invariants I1-I2 checked after
 * every step; colliding hashes; growth past 10,000 entries. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_ctl.h"

typedef struct names {
    char (*v)[24];
    size_t n;
} names_t;

static bool eq(const void *ctx, size_t pos, const void *key)
{
    return strcmp(((const names_t *)ctx)->v[pos], key) == 0;
}

static size_t find(const ctl_index_t *ix, const names_t *a, const char *name, uint64_t (*h)(const char *))
{
    return ctl_index_find(ix, h(name), eq, a, name);
}

static uint64_t real_hash(const char *s) { return ctl_hash_str(s); }
static uint64_t bad_hash(const char *s) { return (uint64_t)(unsigned char)s[0] % 3; }   /* collides */

static void exercise(uint64_t (*h)(const char *), size_t count, unsigned seed)
{
    names_t a = { calloc(count, 24), 0 };
    ctl_index_t ix = { 0 };
    srand(seed);
    for (size_t i = 0; i < count; i++) {
        snprintf(a.v[a.n], 24, "t%zu", i);
        cr_assert_eq(ctl_index_add(&ix, h(a.v[a.n]), a.n), 0);
        a.n++;
        if (i % 7 == 3) {   /* the cache's swap-remove of a random topic */
            size_t k = (size_t)rand() % a.n, last = a.n - 1;
            ctl_index_remove(&ix, h(a.v[k]), k);
            if (k != last) {
                ctl_index_move(&ix, h(a.v[last]), last, k);
                memcpy(a.v[k], a.v[last], 24);
            }
            a.n--;
        }
        if (count <= 2000 || i % 500 == 0)
            cr_assert(ctl_index_check(&ix), "I1/I2 broken after step %zu", i);
    }
    cr_assert_eq(ix.n, a.n);
    cr_assert(ctl_index_check(&ix));
    for (size_t i = 0; i < a.n; i++)
        cr_assert_eq(find(&ix, &a, a.v[i], h), i, "%s", a.v[i]);
    cr_assert_eq(find(&ix, &a, "absent", h), SIZE_MAX);
    /* remove everything, in a scrambled order */
    while (a.n) {
        size_t k = (size_t)rand() % a.n, last = a.n - 1;
        ctl_index_remove(&ix, h(a.v[k]), k);
        if (k != last) {
            ctl_index_move(&ix, h(a.v[last]), last, k);
            memcpy(a.v[k], a.v[last], 24);
        }
        a.n--;
        if (a.n % 97 == 0) {
            cr_assert(ctl_index_check(&ix));
            for (size_t i = 0; i < a.n; i++)
                cr_assert_eq(find(&ix, &a, a.v[i], h), i);
        }
    }
    cr_assert_eq(ix.n, 0);
    ctl_index_clear(&ix);
    free(a.v);
}

Test(ctl_index, swap_remove_and_move) { exercise(real_hash, 1500, 1); }
Test(ctl_index, colliding_hashes) { exercise(bad_hash, 600, 2); }
Test(ctl_index, ten_thousand) { exercise(real_hash, 12000, 3); }

Test(ctl_index, empty)
{
    ctl_index_t ix = { 0 };
    names_t a = { NULL, 0 };
    cr_assert_eq(find(&ix, &a, "x", real_hash), SIZE_MAX);
    cr_assert(ctl_index_check(&ix));
    ctl_index_clear(&ix);
}
