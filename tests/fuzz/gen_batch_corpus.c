/* Writes the seed corpus of fuzz_batch_reader: a few valid record batches (uncompressed and
 * LZ4, with null/empty keys and values, headers, several batches in a row, a partial tail),
 * one file each, into the directory given as argv[1]. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_batch.h"

static int write_file(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_batch_corpus: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Builds a batch of n records; returns a malloc'd copy. */
static uint8_t *build(st_compression_t codec, int n, int with_headers, size_t *ret_len)
{
    st_batch_writer_t *w = st_batch_writer_new(codec);
    st_record_header_t hdrs[2] = {
        { .key = "trace-id", .key_len = 8, .value = "abc123", .value_len = 6 },
        { .key = "", .key_len = 0, .value = NULL, .value_len = 0 },
    };
    const void *out;
    size_t len;
    uint8_t *copy;

    if (w == NULL)
        return NULL;
    for (int i = 0; i < n; i++) {
        char key[32], value[64];
        int klen = snprintf(key, sizeof(key), "key-%d", i);
        int vlen = snprintf(value, sizeof(value), "value %d of a small fuzz seed batch", i);
        int ret = st_batch_writer_add(w, 1700000000000LL + i * 7,
                                      i % 4 == 1 ? NULL : key, i % 4 == 1 ? -1 : klen,
                                      i % 4 == 2 ? NULL : value, i % 4 == 2 ? -1 : (i % 4 == 3 ? 0 : vlen),
                                      hdrs, with_headers ? (size_t)(i % 3) : 0);
        if (ret < 0) {
            st_batch_writer_free(w);
            return NULL;
        }
    }
    if (st_batch_writer_finish(w, &out, &len) < 0 || (copy = malloc(len)) == NULL) {
        st_batch_writer_free(w);
        return NULL;
    }
    memcpy(copy, out, len);
    st_batch_writer_free(w);
    *ret_len = len;
    return copy;
}

int main(int argc, char **argv)
{
    size_t l1, l2, l3, l4;
    uint8_t *b1, *b2, *b3, *b4, *multi;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    b1 = build(ST_COMPRESSION_NONE, 1, 0, &l1);
    b2 = build(ST_COMPRESSION_NONE, 8, 1, &l2);
    b3 = build(ST_COMPRESSION_LZ4, 8, 1, &l3);
    b4 = build(ST_COMPRESSION_LZ4, 1, 0, &l4);
    if (b1 == NULL || b2 == NULL || b3 == NULL || b4 == NULL) {
        fprintf(stderr, "gen_batch_corpus: cannot build the batches\n");
        return 1;
    }
    st_batch_stamp(b2, 1, 3);
    st_batch_stamp(b3, 9, 3);
    multi = malloc(l1 + l2 + l3 + 20);
    if (multi == NULL)
        return 1;
    memcpy(multi, b1, l1);
    memcpy(multi + l1, b2, l2);
    memcpy(multi + l1 + l2, b3, l3);
    memcpy(multi + l1 + l2 + l3, b4, 20);  /* a partial tail */
    rc |= write_file(argv[1], "none-1-record.bin", b1, l1);
    rc |= write_file(argv[1], "none-8-records-headers.bin", b2, l2);
    rc |= write_file(argv[1], "lz4-8-records-headers.bin", b3, l3);
    rc |= write_file(argv[1], "lz4-1-record.bin", b4, l4);
    rc |= write_file(argv[1], "three-batches-and-tail.bin", multi, l1 + l2 + l3 + 20);
    free(multi);
    free(b1);
    free(b2);
    free(b3);
    free(b4);
    return rc ? 1 : 0;
}
