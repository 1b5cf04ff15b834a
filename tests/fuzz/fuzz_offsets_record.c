/* libFuzzer harness for the __consumer_offsets record decoders (broker/group/group_codec.c):
 * input = u16 key length | key | value (a 0xFFFF key length: no value, a tombstone). Every
 * decoder and the DumpLogSegments formatter run on it; a group metadata value that decodes is
 * encoded again (as v3) and must decode to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "group_codec.h"

static void visit(void *arg, const char *topic, size_t len)
{
    (void)arg; (void)topic; (void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t klen = (size_t)data[0] << 8 | data[1];
    bool tomb = klen == 0xFFFF;
    if (tomb)
        klen = size - 2;
    if (klen > size - 2)
        return 0;
    const uint8_t *key = data + 2, *value = data + 2 + klen;
    size_t vlen = size - 2 - klen;
    char out[8192], why[200];
    st_offsets_format_record(key, (int32_t)klen, tomb ? NULL : value, tomb ? -1 : (int32_t)vlen,
                             out, sizeof(out));
    st_offsets_key_t k;
    if (st_offsets_decode_key(key, klen, &k, why, sizeof(why)) == 0)
        st_offsets_key_free(&k);
    st_offset_value_t ov;
    if (st_offsets_decode_commit_value(value, vlen, &ov, why, sizeof(why)) == 0)
        st_offset_value_free(&ov);
    st_subscription_topics(value, vlen, visit, NULL);
    st_group_meta_value_t gv;
    if (st_offsets_decode_group_value(value, vlen, &gv, why, sizeof(why)) == 0) {
        st_buf_t b = ST_BUF_INIT;
        if (st_offsets_encode_group_value(&b, &gv) == 0) {
            st_group_meta_value_t again;
            if (st_offsets_decode_group_value(b.data, b.len, &again, why, sizeof(why)) != 0)
                abort();
            if (again.generation != gv.generation || again.n_members != gv.n_members ||
                strcmp(again.protocol_type, gv.protocol_type) != 0)
                abort();
            for (size_t i = 0; i < gv.n_members; i++)
                if (strcmp(again.members[i].member_id, gv.members[i].member_id) != 0 ||
                    again.members[i].assignment_len != gv.members[i].assignment_len)
                    abort();
            st_group_meta_value_free(&again);
        }
        st_buf_free(&b);
        st_group_meta_value_free(&gv);
    }
    return 0;
}
