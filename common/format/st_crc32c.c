/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) for Kafka RecordBatch v2.
 *
 * Two implementations with identical results:
 *   - st_crc32c_sw: table driven, slicing-by-8 (eight 256-entry tables, 8 bytes per step).
 *   - st_crc32c_hw: the SSE4.2 crc32 instruction, 8 bytes per instruction. Big buffers are cut
 *     into three interleaved streams (the instruction has a latency of 3 cycles but a throughput
 *     of 1 per cycle) whose CRCs are recombined with "append N zero bytes" operators, the
 *     technique of Mark Adler's crc32c.c.
 * st_crc32c picks the hardware one at run time when the CPU supports it. The hardware function
 * is compiled with __attribute__((target("sse4.2"))), so the rest of the project needs no
 * -msse4.2 and still runs on CPUs without it.
 *
 * Tables are built once (pthread_once); after that every function is read-only and thread-safe.
 * Standalone: includes only its own header. */
#include "st_crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ST_CRC32C_HAVE_X86 1
#include <nmmintrin.h>
#else
#define ST_CRC32C_HAVE_X86 0
#endif

#define CRC32C_POLY 0x82F63B78u

/* Slicing-by-8 tables: crc_table[k][b] is the CRC of byte b followed by k zero bytes. */
static uint32_t crc_table[8][256];

/* Interleaved hardware CRC: stream lengths, and operators that append that many zero bytes to a
 * CRC, split into four byte-indexed tables each. */
#define CRC32C_LONG  8192
#define CRC32C_SHORT 256
static uint32_t crc_zeros_long[4][256];
static uint32_t crc_zeros_short[4][256];

static bool crc_hw_ok;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* ---- GF(2) matrix helpers used to build the zero-append operators ------------------------- */

static uint32_t gf2_matrix_times(const uint32_t *mat, uint32_t vec)
{
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1)
            sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

static void gf2_matrix_square(uint32_t *square, const uint32_t *mat)
{
    for (int n = 0; n < 32; n++)
        square[n] = gf2_matrix_times(mat, mat[n]);
}

/* Builds in *even the operator that appends len zero bytes (len a power of two) to a raw CRC. */
static void crc_zeros_op(uint32_t *even, size_t len)
{
    uint32_t odd[32];
    uint32_t row = 1;

    odd[0] = CRC32C_POLY;          /* operator for one zero bit */
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_matrix_square(even, odd);  /* two zero bits */
    gf2_matrix_square(odd, even);  /* four zero bits */
    /* Each square doubles: the first one below gives one zero byte. */
    for (;;) {
        gf2_matrix_square(even, odd);
        len >>= 1;
        if (len == 0)
            return;
        gf2_matrix_square(odd, even);
        len >>= 1;
        if (len == 0)
            break;
    }
    memcpy(even, odd, sizeof(odd));
}

static void crc_zeros_tables(uint32_t zeros[4][256], size_t len)
{
    uint32_t op[32];

    crc_zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++) {
        zeros[0][n] = gf2_matrix_times(op, n);
        zeros[1][n] = gf2_matrix_times(op, n << 8);
        zeros[2][n] = gf2_matrix_times(op, n << 16);
        zeros[3][n] = gf2_matrix_times(op, n << 24);
    }
}

static inline uint32_t crc_shift(const uint32_t zeros[4][256], uint32_t crc)
{
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^
           zeros[3][crc >> 24];
}

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ CRC32C_POLY : crc >> 1;
        crc_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = crc_table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = crc_table[0][crc & 0xff] ^ (crc >> 8);
            crc_table[k][n] = crc;
        }
    }
    crc_zeros_tables(crc_zeros_long, CRC32C_LONG);
    crc_zeros_tables(crc_zeros_short, CRC32C_SHORT);
#if ST_CRC32C_HAVE_X86
    __builtin_cpu_init();
    crc_hw_ok = __builtin_cpu_supports("sse4.2");
#endif
}

static inline void crc_ensure_init(void)
{
    pthread_once(&crc_once, crc_init);
}

/* ---- software: slicing-by-8 ----------------------------------------------------------------- */

uint32_t st_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    crc_ensure_init();
    crc = ~crc;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = crc_table[7][word & 0xff] ^ crc_table[6][(word >> 8) & 0xff] ^
              crc_table[5][(word >> 16) & 0xff] ^ crc_table[4][(word >> 24) & 0xff] ^
              crc_table[3][(word >> 32) & 0xff] ^ crc_table[2][(word >> 40) & 0xff] ^
              crc_table[1][(word >> 48) & 0xff] ^ crc_table[0][word >> 56];
        p += 8;
        len -= 8;
    }
#endif
    while (len > 0) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    return ~crc;
}

/* ---- hardware: SSE4.2 ----------------------------------------------------------------------- */

#if ST_CRC32C_HAVE_X86

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Runs three streams of `block` bytes each at once while len allows, then returns. */
__attribute__((target("sse4.2")))
static inline uint64_t crc_hw_3way(uint64_t crc0, const uint8_t **pp, size_t *lenp, size_t block,
                                   const uint32_t zeros[4][256])
{
    const uint8_t *p = *pp;
    size_t len = *lenp;

    while (len >= block * 3) {
        uint64_t crc1 = 0, crc2 = 0;
        const uint8_t *end = p + block;
        do {
            crc0 = _mm_crc32_u64(crc0, load64(p));
            crc1 = _mm_crc32_u64(crc1, load64(p + block));
            crc2 = _mm_crc32_u64(crc2, load64(p + 2 * block));
            p += 8;
        } while (p < end);
        crc0 = crc_shift(zeros, (uint32_t)crc0) ^ (uint32_t)crc1;
        crc0 = crc_shift(zeros, (uint32_t)crc0) ^ (uint32_t)crc2;
        p += 2 * block;
        len -= 3 * block;
    }
    *pp = p;
    *lenp = len;
    return crc0;
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t crc0 = (uint32_t)~crc;

    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
        len--;
    }
    crc0 = crc_hw_3way(crc0, &p, &len, CRC32C_LONG, (const uint32_t (*)[256])crc_zeros_long);
    crc0 = crc_hw_3way(crc0, &p, &len, CRC32C_SHORT, (const uint32_t (*)[256])crc_zeros_short);
    while (len >= 8) {
        crc0 = _mm_crc32_u64(crc0, load64(p));
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
        len--;
    }
    return ~(uint32_t)crc0;
}

#endif

uint32_t st_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    crc_ensure_init();
#if ST_CRC32C_HAVE_X86
    if (crc_hw_ok)
        return crc_hw(crc, buf, len);
#endif
    return st_crc32c_sw(crc, buf, len);
}

bool st_crc32c_hw_available(void)
{
    crc_ensure_init();
    return crc_hw_ok;
}

uint32_t st_crc32c(uint32_t crc, const void *buf, size_t len)
{
    crc_ensure_init();
#if ST_CRC32C_HAVE_X86
    if (crc_hw_ok)
        return crc_hw(crc, buf, len);
#endif
    return st_crc32c_sw(crc, buf, len);
}
