/* Compression codecs of record batches: names, parsing, and the LZ4 frame codec (attribute
 * code 3). gzip, snappy and zstd are recognised (so errors can name them) but not supported.
 *
 * LZ4 frames are written the way Kafka's KafkaLZ4BlockOutputStream writes them: frame version
 * 01, independent 64 KiB blocks, no block or content checksum, no content size. Kafka's reader
 * decodes every block on its own, so blocks MUST be independent (liblz4's default is linked).
 * Reading accepts any valid LZ4 frame liblz4 can decode. */
#include "st_batch.h"
#include "st_compression.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <lz4frame.h>

static const char *const codec_names[] = { "none", "gzip", "snappy", "lz4", "zstd" };

const char *st_compression_name(int codec)
{
    if (codec >= 0 && codec < (int)(sizeof(codec_names) / sizeof(codec_names[0])))
        return codec_names[codec];
    return "unknown";
}

int st_compression_parse(const char *name, st_compression_t *ret_codec)
{
    if (name == NULL)
        return -EINVAL;
    if (strcasecmp(name, "none") == 0) {
        *ret_codec = ST_COMPRESSION_NONE;
        return 0;
    }
    if (strcasecmp(name, "lz4") == 0) {
        *ret_codec = ST_COMPRESSION_LZ4;
        return 0;
    }
    if (strcasecmp(name, "gzip") == 0 || strcasecmp(name, "snappy") == 0 ||
        strcasecmp(name, "zstd") == 0)
        return -ENOTSUP;
    return -EINVAL;
}

static void set_reason(char *reason, size_t reason_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(char *reason, size_t reason_len, const char *fmt, ...)
{
    va_list ap;

    if (reason == NULL || reason_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, reason_len, fmt, ap);
    va_end(ap);
}

static void lz4_prefs(LZ4F_preferences_t *prefs)
{
    static const LZ4F_preferences_t init = LZ4F_INIT_PREFERENCES;

    *prefs = init;
    prefs->frameInfo.blockSizeID = LZ4F_max64KB;
    prefs->frameInfo.blockMode = LZ4F_blockIndependent;
    prefs->frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs->frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs->frameInfo.contentSize = 0;
    prefs->compressionLevel = 0;  /* fast mode */
}

size_t st_compression_lz4_bound(size_t src_len)
{
    LZ4F_preferences_t prefs;

    lz4_prefs(&prefs);
    return LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(src_len, &prefs);
}

int st_compression_lz4_compress(void **cctx, void *dst, size_t dst_cap, const void *src,
                                size_t src_len, size_t *ret_len, char *reason, size_t reason_len)
{
    LZ4F_preferences_t prefs;
    uint8_t *out = dst;
    size_t pos = 0, n;

    if (*cctx == NULL) {
        LZ4F_cctx *ctx;
        if (LZ4F_isError(LZ4F_createCompressionContext(&ctx, LZ4F_VERSION))) {
            set_reason(reason, reason_len, "cannot create an LZ4 compression context");
            return -ENOMEM;
        }
        *cctx = ctx;
    }
    lz4_prefs(&prefs);
    n = LZ4F_compressBegin(*cctx, out, dst_cap, &prefs);
    if (LZ4F_isError(n))
        goto fail;
    pos += n;
    n = LZ4F_compressUpdate(*cctx, out + pos, dst_cap - pos, src, src_len, NULL);
    if (LZ4F_isError(n))
        goto fail;
    pos += n;
    n = LZ4F_compressEnd(*cctx, out + pos, dst_cap - pos, NULL);
    if (LZ4F_isError(n))
        goto fail;
    pos += n;
    *ret_len = pos;
    return 0;

fail:
    set_reason(reason, reason_len, "LZ4 compression failed: %s", LZ4F_getErrorName(n));
    /* A failed frame leaves the context mid-frame: start over with a fresh one next time. */
    LZ4F_freeCompressionContext(*cctx);
    *cctx = NULL;
    return -EIO;
}

void st_compression_lz4_cctx_free(void *cctx)
{
    if (cctx != NULL)
        LZ4F_freeCompressionContext(cctx);
}

/* Makes room for at least `want` bytes (capped at max_out), doubling. */
static int scratch_grow(uint8_t **scratch, size_t *scratch_cap, size_t want, size_t max_out)
{
    size_t cap = *scratch_cap ? *scratch_cap : 64 * 1024;
    uint8_t *p;

    if (want > max_out)
        want = max_out;
    while (cap < want)
        cap = cap > max_out / 2 ? max_out : cap * 2;
    if (cap > max_out)
        cap = max_out;
    if (cap <= *scratch_cap)
        return 0;
    p = realloc(*scratch, cap);
    if (p == NULL)
        return -ENOMEM;
    *scratch = p;
    *scratch_cap = cap;
    return 0;
}

int st_compression_lz4_decompress(void **dctx, const void *src, size_t src_len,
                                  uint8_t **scratch, size_t *scratch_cap, size_t max_out,
                                  size_t *ret_len, size_t *ret_err_pos,
                                  char *reason, size_t reason_len)
{
    const uint8_t *in = src;
    size_t in_pos = 0, out_len = 0;
    int ret;

    if (*dctx == NULL) {
        LZ4F_dctx *ctx;
        if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
            set_reason(reason, reason_len, "cannot create an LZ4 decompression context");
            return -ENOMEM;
        }
        *dctx = ctx;
    }
    /* A first guess at the output size: LZ4 typically gains 2-4x on records. */
    ret = scratch_grow(scratch, scratch_cap, src_len <= max_out / 4 ? src_len * 4 : max_out,
                       max_out);
    if (ret < 0) {
        set_reason(reason, reason_len, "out of memory for the LZ4 output buffer");
        return ret;
    }
    for (;;) {
        size_t dst_size, src_size, hint;

        if (out_len == *scratch_cap) {
            if (*scratch_cap >= max_out) {
                set_reason(reason, reason_len,
                           "LZ4 records decompress to more than %zu bytes (decompression bomb "
                           "guard)", max_out);
                ret = -EBADMSG;
                goto fail;
            }
            ret = scratch_grow(scratch, scratch_cap, out_len + 1, max_out);
            if (ret < 0) {
                set_reason(reason, reason_len, "out of memory for the LZ4 output buffer");
                goto fail;
            }
        }
        dst_size = *scratch_cap - out_len;
        src_size = src_len - in_pos;
        hint = LZ4F_decompress(*dctx, *scratch + out_len, &dst_size, in + in_pos, &src_size, NULL);
        if (LZ4F_isError(hint)) {
            set_reason(reason, reason_len, "corrupt LZ4 frame: %s", LZ4F_getErrorName(hint));
            ret = -EBADMSG;
            goto fail;
        }
        in_pos += src_size;
        out_len += dst_size;
        if (hint == 0)
            break;  /* frame complete */
        if (src_size == 0 && dst_size == 0) {
            /* No progress although output space was available: the frame ends early. */
            set_reason(reason, reason_len, "truncated LZ4 frame (%zu bytes, frame not finished)",
                       src_len);
            ret = -EBADMSG;
            goto fail;
        }
    }
    *ret_len = out_len;
    return 0;

fail:
    if (ret_err_pos != NULL)
        *ret_err_pos = in_pos;
    LZ4F_resetDecompressionContext(*dctx);
    return ret;
}

void st_compression_lz4_dctx_free(void *dctx)
{
    if (dctx != NULL)
        LZ4F_freeDecompressionContext(dctx);
}
