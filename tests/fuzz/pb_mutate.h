/* Structure-aware protobuf mutations for the harnesses' custom mutators (see pb_mutate.c). */
#ifndef PB_MUTATE_H
#define PB_MUTATE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Unpacks in as desc, changes one to three fields, packs into out (max_out bytes). Returns the
 * new length, or 0 when in does not unpack or the result does not fit. */
size_t pb_mutate(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
                 uint8_t *out, size_t max_out, unsigned seed);

/* For inputs made of records [u8 kind][u16 LE len][payload] after `skip` leading bytes: picks a
 * record whose body desc_of recognises (the body starts *ret_off bytes into the payload and runs
 * to its end), mutates that body with pb_mutate and fixes the record's length. Returns the new
 * size, or 0 when no record qualifies or the result does not fit max_size (the caller then
 * falls back to LLVMFuzzerMutate). */
typedef const ProtobufCMessageDescriptor *pb_desc_of_fn(uint8_t kind, const uint8_t *payload,
                                                        size_t len, size_t *ret_off);
size_t pb_mutate_records(uint8_t *data, size_t size, size_t max_size, unsigned seed, size_t skip,
                         pb_desc_of_fn *desc_of);

#endif
