/* Kafka's consumer protocol: the bytes a consumer puts in JoinGroup's protocol metadata
 * (ConsumerProtocolSubscription) and the group leader puts in SyncGroup's assignments
 * (ConsumerProtocolAssignment), plus the two assignor user-data layouts that ride inside them
 * (StickyAssignor's previous assignment, CooperativeStickyAssignor's generation).
 * Strand-internal (not part of strand.h); used by the client library's group membership and by
 * tools that describe groups.
 *
 * Wire format (clients/src/main/resources/common/message/ConsumerProtocol{Subscription,
 * Assignment}.json, non-flexible, big-endian). Every blob starts with an int16 version:
 *
 *   Subscription v0: topics [string], user_data nullable bytes
 *                v1: + owned_partitions [{topic string, partitions [int32]}]
 *                v2: + generation_id int32            (absent = -1)
 *                v3: + rack_id nullable string
 *   Assignment v0-v3: assigned_partitions [{topic string, partitions [int32]}],
 *                     user_data nullable bytes        (v1-v3 only bump the version)
 *
 *   string          int16 length N >= 0, then N bytes of UTF-8
 *   nullable string int16 length, negative = null
 *   bytes           int32 length, negative = null (user_data is nullable)
 *   [T]             int32 count, then count elements; a negative count is an error (the arrays
 *                   here are not nullable)
 *
 * The encoders write what Kafka's ConsumerProtocol.serialize* writes: subscription topics sorted,
 * owned partitions sorted by (topic, partition) and grouped per topic; assignment partitions
 * grouped per topic in order of first appearance, partitions in the given order.
 *
 * The decoders follow Kafka's rules for versions: a negative version is an error; a version above
 * 3 is parsed with the v3 layout (Kafka's compatibility rule: new versions only append fields),
 * and bytes after the last known field are ignored, as Kafka ignores them. Every length and count
 * is checked against the bytes left before anything is read or allocated, so a decoder never
 * reads past len; a failure leaves the output untouched and writes a one-line reason to errbuf
 * naming the message, the field and the byte offset, e.g.
 *   "ConsumerProtocolSubscription v1: owned_partitions[0].topic: string length 300 runs past the
 *    end (at byte 27 of 40)".
 * Strings with an embedded NUL byte are refused (they cannot be C strings); negative partition
 * numbers are refused.
 *
 * Ownership: decoded structs own everything they point to; free with the matching *_free
 * (NULL-safe, leaves the struct zeroed). Encoders append to an st_buf_t the caller owns.
 *
 * Threads: any; no shared state. Return values: 0, -EINVAL (unencodable input, with errbuf),
 * -EBADMSG (malformed bytes, with errbuf), -ENOMEM. */
#ifndef ST_CONSUMER_PROTOCOL_H
#define ST_CONSUMER_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_buf.h"
#include "st_cluster.h"

#define ST_CP_PROTOCOL_TYPE "consumer"  /* JoinGroup ProtocolType of consumer groups */
#define ST_CP_VERSION_MAX 3             /* highest Subscription/Assignment version known */
#define ST_CP_DEFAULT_GENERATION (-1)   /* AbstractStickyAssignor.DEFAULT_GENERATION */

/* Kafka "bytes": len < 0 means null (data is then NULL); len >= 0 with data owning len bytes
 * (data may be NULL when len is 0). */
typedef struct st_cp_bytes {
    uint8_t *data;
    int32_t len;
} st_cp_bytes_t;

#define ST_CP_BYTES_NULL ((st_cp_bytes_t){ NULL, -1 })

typedef struct st_cp_subscription {
    int16_t version;           /* decoded: the version on the wire (may exceed 3) */
    char **topics;
    size_t topic_cnt;
    st_cp_bytes_t user_data;
    st_tp_list_t owned;        /* v1+: owned partitions, flattened (empty before v1) */
    int32_t generation_id;     /* v2+; ST_CP_DEFAULT_GENERATION when absent */
    char *rack_id;             /* v3+; NULL when null or absent */
} st_cp_subscription_t;

typedef struct st_cp_assignment {
    int16_t version;           /* decoded: the version on the wire */
    st_tp_list_t partitions;   /* flattened, in wire order */
    st_cp_bytes_t user_data;
} st_cp_assignment_t;

/* Appends the version-prefixed Subscription at `version` (0..3). Fields the version lacks are
 * left out, as Kafka does. -EINVAL for a version outside 0..3, a NULL or over-long (> 32767
 * bytes) topic or rack id, a negative partition, or user data longer than INT32_MAX. On error
 * out->len is restored to its value on entry. */
int st_cp_subscription_encode(const st_cp_subscription_t *sub, int16_t version, st_buf_t *out,
                              char *errbuf, size_t errlen);
int st_cp_subscription_decode(const uint8_t *buf, size_t len, st_cp_subscription_t *ret_sub,
                              char *errbuf, size_t errlen);
void st_cp_subscription_free(st_cp_subscription_t *sub);

int st_cp_assignment_encode(const st_cp_assignment_t *asg, int16_t version, st_buf_t *out,
                            char *errbuf, size_t errlen);
int st_cp_assignment_decode(const uint8_t *buf, size_t len, st_cp_assignment_t *ret_asg,
                            char *errbuf, size_t errlen);
void st_cp_assignment_free(st_cp_assignment_t *asg);

/* StickyAssignor's user data (no version prefix; StickyAssignor.STICKY_ASSIGNOR_USER_DATA_V1):
 *   previous_assignment [{topic string, partitions [int32]}], generation int32
 * V0 is the same without the generation. The encoder writes V1, grouping partitions per topic in
 * order of first appearance (Kafka's CollectionUtils.groupPartitionsByTopic).
 * The decoder tries V1 and then V0, as Kafka does: 0 with *ret_has_generation telling which
 * parsed; -EBADMSG if neither does (Kafka then treats the member as owning nothing with the
 * default generation -- see st_assignor_member_data). */
int st_cp_sticky_userdata_encode(const st_tp_list_t *parts, int32_t generation, st_buf_t *out,
                                 char *errbuf, size_t errlen);
int st_cp_sticky_userdata_decode(const uint8_t *buf, size_t len, st_tp_list_t *ret_parts,
                                 int32_t *ret_generation, bool *ret_has_generation,
                                 char *errbuf, size_t errlen);

/* CooperativeStickyAssignor's user data (COOPERATIVE_STICKY_ASSIGNOR_USER_DATA_V0): one int32
 * generation. Decoding fails (-EBADMSG) only when fewer than 4 bytes are given. */
int st_cp_coop_userdata_encode(int32_t generation, st_buf_t *out);
int st_cp_coop_userdata_decode(const uint8_t *buf, size_t len, int32_t *ret_generation,
                               char *errbuf, size_t errlen);

/* Java's String.compareTo on UTF-8 strings: orders by UTF-16 code units, which is what Kafka
 * sorts topics and member ids by. It differs from strcmp only when a supplementary character
 * (U+10000 and above) meets one in U+E000..U+FFFF at the first difference; bytes that are not
 * valid UTF-8 compare as bytes. */
int st_cp_java_strcmp(const char *a, const char *b);

#endif
