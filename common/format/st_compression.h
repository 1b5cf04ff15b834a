/* LZ4 frame compression for record batches (codec 3), shared by the batch writer and reader.
 * Internal to the format library (not part of the public contract, but exported so that tests
 * can exercise it directly). Standalone: depends on liblz4 only. */
#ifndef ST_COMPRESSION_H
#define ST_COMPRESSION_H

#include <stddef.h>
#include <stdint.h>

/* Largest size the records of one compressed batch may decompress to: a guard against
 * decompression bombs (LZ4 can expand about 255:1). */
#define ST_COMPRESSION_MAX_DECOMPRESSED (64u << 20)

/* Worst-case size of the LZ4 frame holding src_len bytes, as st_compression_lz4_compress writes
 * it (Kafka's settings: independent 64 KiB blocks, no checksums, no content size). */
size_t st_compression_lz4_bound(size_t src_len);

/* Compresses src into one LZ4 frame at dst (dst_cap >= st_compression_lz4_bound(src_len)).
 * *cctx caches an LZ4F compression context between calls (NULL at first; release it with
 * st_compression_lz4_cctx_free). Returns 0 and *ret_len, or -ENOMEM / -EIO (liblz4 error,
 * described in reason if non-NULL). */
int st_compression_lz4_compress(void **cctx, void *dst, size_t dst_cap, const void *src,
                                size_t src_len, size_t *ret_len, char *reason, size_t reason_len);
void st_compression_lz4_cctx_free(void *cctx);

/* Decompresses the one LZ4 frame in [src, src+src_len) into *scratch (grown geometrically with
 * realloc; *scratch / *scratch_cap are updated even on failure, the caller owns the memory).
 * Output larger than max_out fails. *dctx caches an LZ4F decompression context (NULL at first;
 * release with st_compression_lz4_dctx_free). Bytes after the end of the frame are ignored, as
 * Kafka does. Returns 0 and *ret_len, or -EBADMSG (corrupt or truncated frame, or over max_out)
 * / -ENOMEM, with reason (if non-NULL) saying what and *ret_err_pos (if non-NULL) the input
 * position reached. */
int st_compression_lz4_decompress(void **dctx, const void *src, size_t src_len,
                                  uint8_t **scratch, size_t *scratch_cap, size_t max_out,
                                  size_t *ret_len, size_t *ret_err_pos,
                                  char *reason, size_t reason_len);
void st_compression_lz4_dctx_free(void *dctx);

#endif
