/* Unit tests of the compression helpers (common/format/st_compression.c): codec names and
 * parsing, and the LZ4 frame codec used by record batches (round trips, Kafka's frame settings,
 * the decompression cap, corrupt frames). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

#include "st_batch.h"
#include "st_compression.h"

Test(compression, names)
{
    cr_assert_str_eq(st_compression_name(ST_COMPRESSION_NONE), "none");
    cr_assert_str_eq(st_compression_name(ST_COMPRESSION_GZIP), "gzip");
    cr_assert_str_eq(st_compression_name(ST_COMPRESSION_SNAPPY), "snappy");
    cr_assert_str_eq(st_compression_name(ST_COMPRESSION_LZ4), "lz4");
    cr_assert_str_eq(st_compression_name(ST_COMPRESSION_ZSTD), "zstd");
    cr_assert_str_eq(st_compression_name(5), "unknown");
    cr_assert_str_eq(st_compression_name(-1), "unknown");
}

Test(compression, parse)
{
    st_compression_t codec = (st_compression_t)99;

    cr_assert_eq(st_compression_parse("none", &codec), 0);
    cr_assert_eq(codec, ST_COMPRESSION_NONE);
    cr_assert_eq(st_compression_parse("LZ4", &codec), 0);
    cr_assert_eq(codec, ST_COMPRESSION_LZ4);
    cr_assert_eq(st_compression_parse("lz4", &codec), 0);
    cr_assert_eq(st_compression_parse("NoNe", &codec), 0);
    cr_assert_eq(codec, ST_COMPRESSION_NONE);
    codec = (st_compression_t)99;
    cr_assert_eq(st_compression_parse("gzip", &codec), -ENOTSUP);
    cr_assert_eq(st_compression_parse("Snappy", &codec), -ENOTSUP);
    cr_assert_eq(st_compression_parse("zstd", &codec), -ENOTSUP);
    cr_assert_eq(st_compression_parse("lz5", &codec), -EINVAL);
    cr_assert_eq(st_compression_parse("", &codec), -EINVAL);
    cr_assert_eq(st_compression_parse("lz4 ", &codec), -EINVAL);
    cr_assert_eq(st_compression_parse(NULL, &codec), -EINVAL);
    cr_assert_eq(codec, (st_compression_t)99, "output clobbered on failure");
}

static void lz4_round_trip(const uint8_t *src, size_t len)
{
    void *cctx = NULL, *dctx = NULL;
    size_t cap = st_compression_lz4_bound(len);
    uint8_t *frame = malloc(cap);
    uint8_t *scratch = NULL;
    size_t scratch_cap = 0, clen = 0, dlen = 0;
    char reason[160] = "";

    cr_assert_eq(st_compression_lz4_compress(&cctx, frame, cap, src, len, &clen, reason,
                                             sizeof(reason)), 0, "%s", reason);
    cr_assert_leq(clen, cap);
    /* Kafka's settings: FLG 0x60, BD 0x40 */
    cr_assert_eq(frame[4], 0x60);
    cr_assert_eq(frame[5], 0x40);
    cr_assert_eq(st_compression_lz4_decompress(&dctx, frame, clen, &scratch, &scratch_cap,
                                               ST_COMPRESSION_MAX_DECOMPRESSED, &dlen, NULL,
                                               reason, sizeof(reason)), 0, "%s", reason);
    cr_assert_eq(dlen, len);
    cr_assert(len == 0 || memcmp(scratch, src, len) == 0);
    /* the contexts are reusable */
    cr_assert_eq(st_compression_lz4_compress(&cctx, frame, cap, src, len, &clen, NULL, 0), 0);
    cr_assert_eq(st_compression_lz4_decompress(&dctx, frame, clen, &scratch, &scratch_cap,
                                               ST_COMPRESSION_MAX_DECOMPRESSED, &dlen, NULL,
                                               NULL, 0), 0);
    cr_assert_eq(dlen, len);
    st_compression_lz4_cctx_free(cctx);
    st_compression_lz4_dctx_free(dctx);
    free(scratch);
    free(frame);
}

Test(compression, lz4_round_trips)
{
    size_t sizes[] = { 0, 1, 100, 65535, 65536, 65537, 300000, 5u << 20 };
    uint8_t *buf = malloc(5u << 20);
    uint64_t x = 1;

    for (size_t i = 0; i < (5u << 20); i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (i / 4096) % 2 ? (uint8_t)(x >> 56) : (uint8_t)(i % 7);  /* mixed */
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        lz4_round_trip(buf, sizes[i]);
    free(buf);
}

Test(compression, lz4_output_cap)
{
    uint8_t *zeros = calloc(1, 1 << 20);
    void *cctx = NULL, *dctx = NULL;
    size_t cap = st_compression_lz4_bound(1 << 20), clen, dlen = 7;
    uint8_t *frame = malloc(cap), *scratch = NULL;
    size_t scratch_cap = 0;
    char reason[160];

    cr_assert_eq(st_compression_lz4_compress(&cctx, frame, cap, zeros, 1 << 20, &clen, NULL, 0),
                 0);
    cr_assert_eq(st_compression_lz4_decompress(&dctx, frame, clen, &scratch, &scratch_cap,
                                               (1 << 20) - 1, &dlen, NULL, reason,
                                               sizeof(reason)), -EBADMSG);
    cr_assert_not_null(strstr(reason, "decompression bomb"), "%s", reason);
    cr_assert_eq(dlen, 7, "output clobbered on failure");
    cr_assert_leq(scratch_cap, (1 << 20) - 1);
    /* exactly at the cap is fine, and the context recovered from the error */
    cr_assert_eq(st_compression_lz4_decompress(&dctx, frame, clen, &scratch, &scratch_cap,
                                               1 << 20, &dlen, NULL, NULL, 0), 0);
    cr_assert_eq(dlen, 1u << 20);
    st_compression_lz4_cctx_free(cctx);
    st_compression_lz4_dctx_free(dctx);
    free(scratch);
    free(frame);
    free(zeros);
}

Test(compression, lz4_garbage_and_truncation)
{
    uint8_t src[5000];
    void *cctx = NULL, *dctx = NULL;
    uint8_t frame[6000], *scratch = NULL;
    size_t clen, dlen, scratch_cap = 0, err_pos;
    char reason[160];

    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 31 % 251);
    cr_assert_eq(st_compression_lz4_compress(&cctx, frame, sizeof(frame), src, sizeof(src), &clen,
                                             NULL, 0), 0);
    for (size_t cut = 0; cut < clen; cut++) {
        int ret = st_compression_lz4_decompress(&dctx, frame, cut, &scratch, &scratch_cap,
                                                1 << 20, &dlen, &err_pos, reason,
                                                sizeof(reason));
        cr_assert_eq(ret, -EBADMSG, "cut %zu", cut);
        cr_assert_leq(err_pos, cut);
    }
    /* not a frame at all */
    cr_assert_eq(st_compression_lz4_decompress(&dctx, src, sizeof(src), &scratch, &scratch_cap,
                                               1 << 20, &dlen, NULL, reason, sizeof(reason)),
                 -EBADMSG);
    cr_assert_not_null(strstr(reason, "LZ4"), "%s", reason);
    /* a flipped byte in the block data or header never crashes */
    for (size_t pos = 0; pos < clen; pos++) {
        uint8_t copy[6000];
        memcpy(copy, frame, clen);
        copy[pos] ^= 0x5a;
        (void)st_compression_lz4_decompress(&dctx, copy, clen, &scratch, &scratch_cap, 1 << 20,
                                            &dlen, NULL, NULL, 0);
    }
    /* too small an output buffer for compress */
    cr_assert_eq(st_compression_lz4_compress(&cctx, frame, 10, src, sizeof(src), &clen, reason,
                                             sizeof(reason)), -EIO);
    cr_assert_eq(st_compression_lz4_compress(&cctx, frame, sizeof(frame), src, sizeof(src), &clen,
                                             NULL, 0), 0);
    st_compression_lz4_cctx_free(cctx);
    st_compression_lz4_dctx_free(dctx);
    free(scratch);
}
