/* libFuzzer harness for the znode JSON decoders (controller/st_znode.c): every input is handed
 * to every decoder. Properties checked: no crash, no out-of-bounds access, no leak (ASan), a
 * failure always leaves an error message starting with the path, and whatever a decoder accepts
 * re-encodes and decodes again to the same shape. See README.md for how to run it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st_znode.h"

#define CHECK(cond)            \
    do {                       \
        if (!(cond))           \
            abort();           \
    } while (0)

static void check_err(int r, const char *err, const char *path)
{
    CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == -EINVAL)
        CHECK(strncmp(err, path, strlen(path)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    char err[256];
    int r;

    st_broker_reg_t reg;
    err[0] = 0;
    r = st_znode_broker_decode("/brokers/ids/1", d, size, &reg, err, sizeof(err));
    check_err(r, err, "/brokers/ids/1");
    if (r == 0) {
        char *enc = st_znode_broker_encode(&reg);
        if (enc) {
            st_broker_reg_t again;
            CHECK(st_znode_broker_decode("/brokers/ids/1", enc, strlen(enc), &again, err,
                                         sizeof(err)) == 0);
            CHECK(again.n_endpoints == reg.n_endpoints);
            st_broker_reg_free(&again);
            free(enc);
        }
        st_broker_reg_free(&reg);
    }

    st_topic_assignment_t ta;
    r = st_znode_topic_decode("/brokers/topics/t", d, size, &ta, err, sizeof(err));
    check_err(r, err, "/brokers/topics/t");
    if (r == 0) {
        char *enc = st_znode_topic_encode(&ta);
        CHECK(enc);
        st_topic_assignment_t again;
        CHECK(st_znode_topic_decode("/brokers/topics/t", enc, strlen(enc), &again, err,
                                    sizeof(err)) == 0);
        CHECK(again.n_partitions == ta.n_partitions);
        st_topic_assignment_free(&again);
        free(enc);
        st_topic_assignment_free(&ta);
    }

    st_lisr_t lisr;
    r = st_znode_lisr_decode("/s", d, size, &lisr, err, sizeof(err));
    check_err(r, err, "/s");
    if (r == 0)
        st_lisr_free(&lisr);

    int32_t x;
    r = st_znode_controller_decode("/controller", d, size, &x, err, sizeof(err));
    check_err(r, err, "/controller");
    r = st_znode_controller_epoch_decode("/controller_epoch", d, size, &x, err, sizeof(err));
    check_err(r, err, "/controller_epoch");

    st_tp_list_t tps;
    r = st_znode_tp_list_decode("/admin/preferred_replica_election", d, size, &tps, err,
                                sizeof(err));
    check_err(r, err, "/admin/preferred_replica_election");
    if (r == 0)
        st_tp_list_free(&tps);

    st_reassignment_list_t ra;
    r = st_znode_reassign_decode("/admin/reassign_partitions", d, size, &ra, err, sizeof(err));
    check_err(r, err, "/admin/reassign_partitions");
    if (r == 0)
        st_reassignment_list_free(&ra);

    st_topic_overrides_t cfg;
    r = st_znode_topic_config_decode("/config/topics/t", d, size, &cfg, err, sizeof(err));
    check_err(r, err, "/config/topics/t");
    if (r == 0)
        st_topic_overrides_free(&cfg);

    char *type = NULL, *name = NULL;
    r = st_znode_config_change_decode("/config/changes/config_change_0000000001", d, size, &type,
                                      &name, err, sizeof(err));
    check_err(r, err, "/config/changes/config_change_0000000001");
    if (r == 0) {
        free(type);
        free(name);
    }

    char *id;
    r = st_znode_cluster_id_decode("/cluster/id", d, size, &id, err, sizeof(err));
    check_err(r, err, "/cluster/id");
    if (r == 0)
        free(id);
    return 0;
}
