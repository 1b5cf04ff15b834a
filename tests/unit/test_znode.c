/* Unit tests for the znode codecs (controller/st_znode.c): Kafka's literal payloads from the
 * reference, round trips, and hand-edited garbage that must give a clear error naming the path. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "st_znode.h"

#define S(x) x, strlen(x)

static char err[512];

Test(znode, broker_v4_literal)
{
    const char *j = "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":"
                    "[\"PLAINTEXT://192.168.1.220:9092\"],\"jmx_port\":-1,\"host\":\"192.168.1.220\","
                    "\"timestamp\":\"1512308520781\",\"port\":9092,\"version\":4}";
    st_broker_reg_t reg;
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/7", S(j), &reg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(reg.id, 7);
    cr_assert_eq(reg.version, 4);
    cr_assert_eq(reg.n_endpoints, 1);
    cr_assert_str_eq(reg.endpoints[0].listener, "PLAINTEXT");
    cr_assert_str_eq(reg.endpoints[0].security_protocol, "PLAINTEXT");
    cr_assert_str_eq(reg.endpoints[0].host, "192.168.1.220");
    cr_assert_eq(reg.endpoints[0].port, 9092);
    cr_assert_eq(reg.timestamp_ms, 1512308520781LL);
    cr_assert_eq(reg.jmx_port, -1);
    cr_assert_null(reg.rack);
    st_broker_reg_free(&reg);
}

Test(znode, broker_v5_literal_and_roundtrip)
{
    const char *j = "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":"
                    "[\"PLAINTEXT://localhost:9092\"],\"jmx_port\":-1,\"features\":{},\"host\":"
                    "\"localhost\",\"timestamp\":\"1617894143073\",\"port\":9092,\"version\":5}";
    st_broker_reg_t reg;
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/0", S(j), &reg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(reg.version, 5);
    cr_assert_str_eq(reg.host, "localhost");

    st_endpoint_t eps[2] = { { "INTERNAL", "SSL", "10.0.0.1", 9093 },
                             { "PLAINTEXT", "PLAINTEXT", "::1", 9092 } };
    st_broker_reg_t in = { .id = 3, .endpoints = eps, .n_endpoints = 2, .rack = "r1",
                           .timestamp_ms = 42, .jmx_port = -1 };
    char *enc = st_znode_broker_encode(&in);
    cr_assert_not_null(enc);
    cr_assert(strstr(enc, "\"timestamp\":\"42\""), "%s", enc);
    cr_assert(strstr(enc, "\"PLAINTEXT://[::1]:9092\""), "%s", enc);
    cr_assert(strstr(enc, "\"features\":{}"), "%s", enc);
    st_broker_reg_t out;
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/3", S(enc), &out, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(out.n_endpoints, 2);
    cr_assert_str_eq(out.endpoints[0].security_protocol, "SSL");
    cr_assert_str_eq(out.endpoints[1].host, "::1");
    cr_assert_str_eq(out.rack, "r1");
    cr_assert_str_eq(out.host, "::1");
    cr_assert_eq(out.port, 9092);
    const st_endpoint_t *ep = st_broker_reg_endpoint(&out, "INTERNAL");
    cr_assert(ep && ep->port == 9093);
    char desc[200];
    st_broker_reg_describe(&out, desc, sizeof(desc));
    cr_assert_str_eq(desc, "INTERNAL://10.0.0.1:9093,PLAINTEXT://::1:9092");
    free(enc);
    st_broker_reg_free(&out);
    st_broker_reg_free(&reg);
}

Test(znode, broker_garbage)
{
    st_broker_reg_t reg;
    memset(&reg, 0x5a, sizeof(reg));
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1", S("{\"version\":5,\"endpoints\":[\"nohost\"]}"),
                                        &reg, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "/brokers/ids/1: ") == err, "%s", err);
    cr_assert(strstr(err, "nohost"), "%s", err);
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/x", S("{}"), &reg, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "broker id"), "%s", err);
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1", S("[1,2]"), &reg, err, sizeof(err)), -EINVAL);
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1", S("{\"version\":\"5\",\"endpoints\":[]}"),
                                        &reg, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "\"version\" is a string"), "%s", err);
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1",
                                        S("{\"version\":5,\"endpoints\":[\"X://h:1\"]}"), &reg, err,
                                        sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "listener X"), "%s", err);
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1",
                                        S("{\"version\":5,\"endpoints\":[\"PLAINTEXT://h:99999\"]}"),
                                        &reg, err, sizeof(err)), -EINVAL);
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1", NULL, 0, &reg, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "no data"), "%s", err);
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1", S("{\"version\":5,"), &reg, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "not valid JSON"), "%s", err);
    /* outputs untouched on failure */
    cr_assert_eq(reg.id, 0x5a5a5a5a);
}

Test(znode, topic_literals)
{
    const char *v2 = "{\"version\":2,\"partitions\":{\"0\":[0]},\"adding_replicas\":{},\"removing_replicas\":{}}";
    st_topic_assignment_t ta;
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t", S(v2), &ta, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ta.n_partitions, 1);
    cr_assert_eq(ta.replicas[0].n, 1);
    cr_assert_eq(ta.replicas[0].v[0], 0);
    st_topic_assignment_free(&ta);

    const char *v3 = "{\"version\":3,\"partitions\":{\"0\":[1,2,3],\"1\":[2,3,1]},\"adding_replicas\":{},"
                     "\"removing_replicas\":{},\"topic_id\":\"q0B2y3nQRk6kG7m8x7xYvA\"}";
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t", S(v3), &ta, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ta.n_partitions, 2);
    cr_assert_eq(ta.replicas[1].v[0], 2);
    cr_assert_eq(ta.replicas[1].v[2], 1);
    cr_assert_str_eq(ta.topic_id, "q0B2y3nQRk6kG7m8x7xYvA");
    char *enc = st_znode_topic_encode(&ta);
    st_topic_assignment_t rt;
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t", S(enc), &rt, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rt.version, 3);
    cr_assert_eq(rt.replicas[0].v[1], 2);
    free(enc);
    st_topic_assignment_free(&rt);
    st_topic_assignment_free(&ta);

    const char *v1 = "{\"partitions\":{\"1\":[5],\"0\":[4,5]},\"version\":1,\"extra\":true}";
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t", S(v1), &ta, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ta.replicas[0].v[0], 4);
    cr_assert_eq(ta.replicas[1].v[0], 5);
    cr_assert_eq(ta.adding[0].n, 0);
    st_topic_assignment_free(&ta);

    const char *adding = "{\"version\":2,\"partitions\":{\"0\":[1,2,3]},\"adding_replicas\":{\"0\":[3]},"
                         "\"removing_replicas\":{\"0\":[1]}}";
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t", S(adding), &ta, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ta.adding[0].n, 1);
    cr_assert_eq(ta.removing[0].v[0], 1);
    st_topic_assignment_free(&ta);
}

Test(znode, topic_garbage)
{
    st_topic_assignment_t ta;
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2,\"partitions\":{\"x\":[1]}}"),
                                       &ta, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "/brokers/topics/t1: partitions: partition \"x\" is not a number");
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2,\"partitions\":{\"0\":[1],\"2\":[1]}}"),
                                       &ta, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "partition 2 is out of range"), "%s", err);
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2,\"partitions\":{\"0\":[1,\"a\"]}}"),
                                       &ta, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "replicas of partition 0"), "%s", err);
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2,\"partitions\":{\"0\":[]}}"),
                                       &ta, err, sizeof(err)), -EINVAL);
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2,\"partitions\":{\"0\":[1,1]}}"),
                                       &ta, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "twice"), "%s", err);
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2,\"partitions\":[]}"),
                                       &ta, err, sizeof(err)), -EINVAL);
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2}"), &ta, err, sizeof(err)),
                 -EINVAL);
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1",
                                       S("{\"version\":2,\"partitions\":{\"0\":[1]},\"adding_replicas\":{\"5\":[1]}}"),
                                       &ta, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "adding_replicas"), "%s", err);
    cr_assert_eq(st_znode_topic_decode("/brokers/topics/t1", S("{\"version\":2,\"partitions\":{\"-1\":[1]}}"),
                                       &ta, err, sizeof(err)), -EINVAL);
}

Test(znode, partition_state)
{
    const char *j = "{\"controller_epoch\":6,\"leader\":0,\"version\":1,\"leader_epoch\":4,\"isr\":[0]}";
    st_lisr_t l;
    cr_assert_eq(st_znode_lisr_decode("/brokers/topics/t/partitions/0/state", S(j), &l, err, sizeof(err)), 0);
    cr_assert_eq(l.controller_epoch, 6);
    cr_assert_eq(l.leader, 0);
    cr_assert_eq(l.leader_epoch, 4);
    cr_assert_eq(l.isr.n, 1);
    char *enc = st_znode_lisr_encode(&l);
    cr_assert_str_eq(enc, j);   /* Strand writes the same key order as the observed literal */
    free(enc);
    st_lisr_free(&l);
    cr_assert_eq(st_znode_lisr_decode("/p/state", S("{\"controller_epoch\":6,\"leader\":-3,\"version\":1,"
                                                    "\"leader_epoch\":4,\"isr\":[0]}"), &l, err, sizeof(err)),
                 -EINVAL);
    cr_assert_eq(st_znode_lisr_decode("/p/state", S("{\"controller_epoch\":6,\"leader\":1,\"version\":1,"
                                                    "\"leader_epoch\":4}"), &l, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "/p/state: \"isr\" is missing");
    cr_assert_eq(st_znode_lisr_decode("/p/state", S("{\"controller_epoch\":6,\"leader\":1,\"version\":1,"
                                                    "\"leader_epoch\":1e3,\"isr\":[]}"), &l, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "leader_epoch"), "%s", err);
}

Test(znode, controller_and_epoch)
{
    int32_t id = -5, epoch = -5;
    const char *j = "{\"version\":1,\"brokerid\":0,\"timestamp\":\"1603608219071\"}";
    cr_assert_eq(st_znode_controller_decode("/controller", S(j), &id, err, sizeof(err)), 0);
    cr_assert_eq(id, 0);
    char *enc = st_znode_controller_encode(12, 99);
    cr_assert_str_eq(enc, "{\"version\":1,\"brokerid\":12,\"timestamp\":\"99\"}");
    free(enc);
    cr_assert_eq(st_znode_controller_decode("/controller", S("{\"brokerid\":\"0\"}"), &id, err, sizeof(err)),
                 -EINVAL);
    cr_assert_eq(st_znode_controller_epoch_decode("/controller_epoch", S("1"), &epoch, err, sizeof(err)), 0);
    cr_assert_eq(epoch, 1);
    cr_assert_eq(st_znode_controller_epoch_decode("/controller_epoch", S(" 17\n"), &epoch, err, sizeof(err)), 0);
    cr_assert_eq(epoch, 17);
    cr_assert_eq(st_znode_controller_epoch_decode("/controller_epoch", S("one"), &epoch, err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "/controller_epoch: \"one\" is not an integer");
    cr_assert_eq(st_znode_controller_epoch_decode("/controller_epoch", NULL, 0, &epoch, err, sizeof(err)),
                 -EINVAL);
    cr_assert_eq(epoch, 17);
    enc = st_znode_controller_epoch_encode(8);
    cr_assert_str_eq(enc, "8");
    free(enc);
}

Test(znode, tp_lists)
{
    const char *j = "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":1},{\"topic\":\"foobar\","
                    "\"partition\":2}]}";
    st_tp_list_t l;
    cr_assert_eq(st_znode_tp_list_decode(ST_ZPATH_PREFERRED_ELECTION, S(j), &l, err, sizeof(err)), 0);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[1].topic, "foobar");
    cr_assert_eq(l.v[1].partition, 2);
    char *enc = st_znode_tp_list_encode(&l);
    cr_assert_str_eq(enc, j);
    free(enc);
    st_tp_list_free(&l);
    const char *isr = "{\"version\":1,\"partitions\":[{\"topic\":\"topic-a\",\"partition\":0},"
                      "{\"topic\":\"topic-b\",\"partition\":0}]}";
    cr_assert_eq(st_znode_tp_list_decode("/isr_change_notification/isr_change_0000000000", S(isr), &l, err,
                                         sizeof(err)), 0);
    cr_assert_eq(l.n, 2);
    st_tp_list_free(&l);
    cr_assert_eq(st_znode_tp_list_decode(ST_ZPATH_PREFERRED_ELECTION,
                                         S("{\"partitions\":[{\"topic\":\"foo\"}]}"), &l, err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "/admin/preferred_replica_election: partitions[0]: \"partition\" is missing");
    cr_assert_eq(st_znode_tp_list_decode(ST_ZPATH_PREFERRED_ELECTION,
                                         S("{\"partitions\":[{\"topic\":\"foo\",\"partition\":1},7]}"), &l, err,
                                         sizeof(err)), -EINVAL);
}

Test(znode, reassign)
{
    const char *j = "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[1,2]}]}";
    st_reassignment_list_t l;
    cr_assert_eq(st_znode_reassign_decode(ST_ZPATH_REASSIGN, S(j), &l, err, sizeof(err)), 0);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.v[0].replicas.n, 2);
    st_reassignment_list_free(&l);
    cr_assert_eq(st_znode_reassign_decode(ST_ZPATH_REASSIGN,
                                          S("{\"partitions\":[{\"topic\":\"foo\",\"partition\":0}]}"), &l, err,
                                          sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "replicas is missing"), "%s", err);
}

Test(znode, topic_config)
{
    const char *j = "{\"version\":1,\"config\":{\"retention.ms\":\"100000\"}}";
    st_topic_overrides_t c;
    cr_assert_eq(st_znode_topic_config_decode("/config/topics/t", S(j), &c, err, sizeof(err)), 0);
    cr_assert_str_eq(st_topic_overrides_get(&c, "retention.ms"), "100000");
    cr_assert_null(st_topic_overrides_get(&c, "x"));
    char *enc = st_znode_topic_config_encode(&c);
    cr_assert_str_eq(enc, j);
    free(enc);
    st_topic_overrides_free(&c);
    cr_assert_eq(st_znode_topic_config_decode("/config/topics/t",
                                              S("{\"version\":1,\"config\":{\"retention.ms\":100000}}"), &c,
                                              err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "/config/topics/t: config \"retention.ms\" is an integer, not a string");
}

Test(znode, config_change_notification)
{
    char *enc = st_znode_config_change_encode("topics", "my-topic");
    cr_assert_str_eq(enc, "{\"version\":2,\"entity_path\":\"topics/my-topic\"}");
    char *type = NULL, *name = NULL;
    cr_assert_eq(st_znode_config_change_decode("/n", S(enc), &type, &name, err, sizeof(err)), 0);
    cr_assert_str_eq(type, "topics");
    cr_assert_str_eq(name, "my-topic");
    free(type);
    free(name);
    free(enc);
    /* Kafka's version 1, and a broker default */
    cr_assert_eq(st_znode_config_change_decode("/n", S("{\"version\":1,\"entity_type\":\"brokers\","
                                                       "\"entity_name\":\"<default>\"}"),
                                               &type, &name, err, sizeof(err)), 0);
    cr_assert_str_eq(type, "brokers");
    cr_assert_str_eq(name, "<default>");
    free(type);
    free(name);
    cr_assert_eq(st_znode_config_change_decode("/n", S("{\"version\":2,\"entity_path\":\"topics\"}"),
                                               &type, &name, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "/n: \"entity_path\" \"topics\" is not <type>/<name>");
    cr_assert_eq(st_znode_config_change_decode("/n", S("{\"version\":2,\"entity_path\":\"a/b/c\"}"),
                                               &type, &name, err, sizeof(err)), -EINVAL);
    cr_assert_eq(st_znode_config_change_decode("/n", S("{\"version\":3}"), &type, &name, err,
                                               sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "/n: unknown \"version\" 3");
    cr_assert_eq(st_config_change_seq("config_change_0000000012"), 12);
    cr_assert_eq(st_config_change_seq("config_change_"), -1);
    cr_assert_eq(st_config_change_seq("isr_change_0000000012"), -1);
    cr_assert_eq(st_config_change_seq("config_change_12x"), -1);
    char path[64];
    cr_assert_eq(st_zpath_entity_config(path, sizeof(path), "brokers", "<default>"), 0);
    cr_assert_str_eq(path, "/config/brokers/<default>");
}

Test(znode, cluster_id)
{
    char *id = NULL;
    const char *j = "{\"version\":\"1\",\"id\":\"Cbc5d0zDQ2GIUPMXMTVWbA\"}";
    cr_assert_eq(st_znode_cluster_id_decode(ST_ZPATH_CLUSTER_ID, S(j), &id, err, sizeof(err)), 0);
    cr_assert_str_eq(id, "Cbc5d0zDQ2GIUPMXMTVWbA");
    free(id);
    char gen[23], gen2[23];
    cr_assert_eq(st_cluster_id_generate(gen, sizeof(gen)), 0);
    cr_assert_eq(st_cluster_id_generate(gen2, sizeof(gen2)), 0);
    cr_assert_eq(strlen(gen), 22);
    cr_assert_str_neq(gen, gen2);
    char *enc = st_znode_cluster_id_encode(gen);
    cr_assert_eq(st_znode_cluster_id_decode(ST_ZPATH_CLUSTER_ID, S(enc), &id, err, sizeof(err)), 0);
    cr_assert_str_eq(id, gen);
    free(id);
    free(enc);
    cr_assert_eq(st_znode_cluster_id_decode(ST_ZPATH_CLUSTER_ID, S("{\"version\":\"1\"}"), &id, err,
                                            sizeof(err)), -EINVAL);
}

Test(znode, paths)
{
    char p[64];
    cr_assert_eq(st_zpath_partition_state(p, sizeof(p), "t", 3), 0);
    cr_assert_str_eq(p, "/brokers/topics/t/partitions/3/state");
    cr_assert_eq(st_zpath_broker(p, 8, 1000), -ENAMETOOLONG);
}

Test(znode, log_dir_event)
{
    /* Kafka's literal (reference §1): {"version":1,"broker":3,"event":1} */
    char err[256];
    int32_t broker = -1, event = -1;
    cr_assert_eq(st_znode_log_dir_event_decode("/log_dir_event_notification/log_dir_event_0000000000",
                                               S("{\"version\":1,\"broker\":3,\"event\":1}"),
                                               &broker, &event, err, sizeof(err)), 0, "%s", err);
    cr_assert(broker == 3 && event == ST_LOG_DIR_EVENT_FAILURE);
    char *enc = st_znode_log_dir_event_encode(7, ST_LOG_DIR_EVENT_FAILURE);
    cr_assert_eq(st_znode_log_dir_event_decode("x", S(enc), &broker, &event, err, sizeof(err)), 0);
    cr_assert(broker == 7 && event == 1);
    cr_assert(strstr(enc, "\"broker\":7") && strstr(enc, "\"version\":1"), "%s", enc);
    free(enc);
    cr_assert_eq(st_znode_log_dir_event_decode("/log_dir_event_notification/log_dir_event_1",
                                               S("{\"version\":1,\"event\":1}"), &broker, &event,
                                               err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "/log_dir_event_notification/log_dir_event_1") &&
              strstr(err, "\"broker\" is missing"), "%s", err);
    cr_assert_eq(st_znode_log_dir_event_decode("p", S("{\"version\":2,\"broker\":1,\"event\":1}"),
                                               &broker, &event, err, sizeof(err)), -EINVAL);
    cr_assert_eq(st_znode_log_dir_event_decode("p", S("[1]"), &broker, &event, err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(ST_ZPATH_LOG_DIR_EVENT_PREFIX, "/log_dir_event_notification/log_dir_event_");
}
/* Found by fuzz_znode (tests/fuzz/corpus/fuzz_znode/): a host with a stray bracket was
 * accepted and then written back as "[![::1]]", which no decoder reads. */
Test(znode, endpoint_host_with_brackets)
{
    const char *j = "{\"version\":5,\"endpoints\":[\"PLAINTEXT://h:9092\",\"SSL://![::1]:9093\"],"
                    "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\",\"SSL\":\"SSL\"}}";
    st_broker_reg_t reg;
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1", S(j), &reg, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "/brokers/ids/1: ") == err, "%s", err);
    cr_assert(strstr(err, "SSL://![::1]:9093"), "%s", err);
    const char *k = "{\"version\":5,\"endpoints\":[\"PLAINTEXT://h]:9092\"],"
                    "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}}";
    cr_assert_eq(st_znode_broker_decode("/brokers/ids/1", S(k), &reg, err, sizeof(err)), -EINVAL);
}

/* Found by fuzz_znode: with an error buffer shorter than the path, the message was written
 * from the start without the path; the path (truncated) must come first. */
Test(znode, short_error_buffer_keeps_the_path)
{
    char small[8];
    int32_t x;
    cr_assert_eq(st_znode_controller_decode("/controller", S("[1]"), &x, small, sizeof(small)),
                 -EINVAL);
    cr_assert_str_eq(small, "/contro");
    st_lisr_t l;
    char mid[24];
    const char *path = "/brokers/topics/t/partitions/0/state";
    cr_assert_eq(st_znode_lisr_decode(path, S("{}"), &l, mid, sizeof(mid)), -EINVAL);
    cr_assert_eq(strncmp(mid, path, sizeof(mid) - 1), 0, "%s", mid);
}

/* Found by fuzz_controller (seed isr_twice): a state znode whose ISR named a broker twice or a
 * negative id was accepted, and the controller's UpdateMetadata carrying it was refused as a
 * whole by every broker's metadata cache. Now it is a garbage znode naming the path. */
Test(znode, partition_state_isr_is_a_set_of_broker_ids)
{
    const char *path = "/brokers/topics/t/partitions/2/state";
    st_lisr_t l;
    const char *twice = "{\"controller_epoch\":1,\"leader\":3,\"version\":1,\"leader_epoch\":0,"
                        "\"isr\":[3,1,3]}";
    cr_assert_eq(st_znode_lisr_decode(path, S(twice), &l, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, path) == err && strstr(err, "twice"), "%s", err);
    const char *neg = "{\"controller_epoch\":1,\"leader\":3,\"version\":1,\"leader_epoch\":0,"
                      "\"isr\":[3,-1]}";
    cr_assert_eq(st_znode_lisr_decode(path, S(neg), &l, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, path) == err, "%s", err);
    const char *empty = "{\"controller_epoch\":1,\"leader\":-1,\"version\":1,\"leader_epoch\":0,"
                        "\"isr\":[]}";
    cr_assert_eq(st_znode_lisr_decode(path, S(empty), &l, err, sizeof(err)), 0, "%s", err);
    st_lisr_free(&l);
}
