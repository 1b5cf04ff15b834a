/* CRC-32C (Castagnoli), as used by Kafka RecordBatch v2. Standalone: no other Strand headers. */
#ifndef ST_CRC32C_H
#define ST_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* crc = 0 to start; feed the result back in to continue. Uses SSE4.2 when the CPU has it. */
uint32_t st_crc32c(uint32_t crc, const void *buf, size_t len);
/* The two implementations, exposed so tests can check both. */
uint32_t st_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t st_crc32c_hw(uint32_t crc, const void *buf, size_t len); /* only if _available() */
bool st_crc32c_hw_available(void);

#endif
