/* The byte formats of the group coordinator, standalone (no broker headers), shared by the
 * coordinator, strand-dump-log --offsets-decoder and the unit tests:
 *
 *  - Java's String.hashCode over a UTF-8 group id, and the coordinator partition
 *    abs(hash) % offsets.topic.num.partitions with Kafka's Utils.abs (MIN_VALUE -> 0);
 *  - the __consumer_offsets record keys and values, Kafka's layouts
 *    (core/src/main/resources/common/message/{OffsetCommitKey,OffsetCommitValue,
 *    GroupMetadataKey,GroupMetadataValue}.json): an int16 version, then the fields, strings as
 *    int16 length + UTF-8 (nullable: length -1), bytes as int32 length + bytes, arrays as int32
 *    count. Strand writes offset commit key v1 / value v3 and group metadata key v2 / value v3,
 *    and reads every version Kafka defines (value v0-v3);
 *  - the topic list of a ConsumerProtocolSubscription (for OffsetDelete).
 *
 * Decoders check every length against the buffer and return -EBADMSG (with the byte position in
 * `why`) for anything malformed; they never read past len. Decoded strings and byte fields are
 * malloc'd copies (st_group_meta_value_free / st_offset_value_free release them). */
#ifndef ST_GROUP_CODEC_H
#define ST_GROUP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_buf.h"

/* Java's String.hashCode of the UTF-16 form of a UTF-8 string (an invalid byte counts as
 * U+FFFD, as Java's decoder would make it). */
int32_t st_java_string_hash(const char *s, size_t len);
/* Kafka's Utils.abs(hash) % n (n >= 1). */
int32_t st_group_partition_for(const char *group, int32_t n_partitions);

/* Record key kinds: version 0 and 1 are offset commits, 2 group metadata. */
#define ST_OFFSETS_KEY_COMMIT_V0 0
#define ST_OFFSETS_KEY_COMMIT_V1 1
#define ST_OFFSETS_KEY_GROUP_V2  2

typedef struct st_offsets_key {
    int16_t version;
    char *group;
    char *topic;                       /* offset commit keys only */
    int32_t partition;
} st_offsets_key_t;

typedef struct st_offset_value {
    int16_t version;
    int64_t offset;
    int32_t leader_epoch;              /* -1 unknown (and in versions < 3) */
    char *metadata;
    int64_t commit_timestamp;
    int64_t expire_timestamp;          /* v1 only; -1 otherwise */
} st_offset_value_t;

typedef struct st_group_member_record {
    char *member_id;
    char *group_instance_id;           /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t rebalance_timeout;
    int32_t session_timeout;
    uint8_t *subscription;
    size_t subscription_len;
    uint8_t *assignment;
    size_t assignment_len;
} st_group_member_record_t;

typedef struct st_group_meta_value {
    int16_t version;
    char *protocol_type;
    int32_t generation;
    char *protocol;                    /* NULL: none chosen */
    char *leader;                      /* NULL: none */
    int64_t current_state_timestamp;   /* -1 when absent (v0, v1) */
    st_group_member_record_t *members;
    size_t n_members;
} st_group_meta_value_t;

/* ---- encoders (append to out; 0 or -ENOMEM) ---------------------------------------------- */

int st_offsets_encode_commit_key(st_buf_t *out, const char *group, const char *topic,
                                 int32_t partition);
int st_offsets_encode_group_key(st_buf_t *out, const char *group);
/* Value v3. metadata may be NULL (written as ""). */
int st_offsets_encode_commit_value(st_buf_t *out, int64_t offset, int32_t leader_epoch,
                                   const char *metadata, int64_t commit_timestamp);
/* Value v3 (the version field of v is ignored). */
int st_offsets_encode_group_value(st_buf_t *out, const st_group_meta_value_t *v);

/* ---- decoders ---------------------------------------------------------------------------- */

/* 0, -EBADMSG (why says where; unknown versions too), -ENOMEM. */
int st_offsets_decode_key(const uint8_t *p, size_t len, st_offsets_key_t *ret, char *why,
                          size_t why_len);
int st_offsets_decode_commit_value(const uint8_t *p, size_t len, st_offset_value_t *ret,
                                   char *why, size_t why_len);
int st_offsets_decode_group_value(const uint8_t *p, size_t len, st_group_meta_value_t *ret,
                                  char *why, size_t why_len);
void st_offsets_key_free(st_offsets_key_t *k);
void st_offset_value_free(st_offset_value_t *v);
void st_group_meta_value_free(st_group_meta_value_t *v);

/* The topics of a ConsumerProtocolSubscription (int16 version, [string] topics, ...). Calls
 * fn(arg, topic, topic_len) for each. 0 or -EBADMSG. */
int st_subscription_topics(const uint8_t *p, size_t len,
                           void (*fn)(void *arg, const char *topic, size_t topic_len), void *arg);

/* Kafka's DumpLogSegments OffsetsMessageParser text for one record (key and value bytes; a NULL
 * value is a tombstone) into out (always NUL-terminated):
 *   key: offset_commit::group=g,partition=t-0 payload: offset=5,leaderEpoch=...,metadata=,...
 *   key: group_metadata::group=g payload: {"protocolType":"consumer",...}
 * Returns false (out holds why) when the key or value does not decode. */
bool st_offsets_format_record(const uint8_t *key, int32_t key_len, const uint8_t *value,
                              int32_t value_len, char *out, size_t out_len);

#endif
