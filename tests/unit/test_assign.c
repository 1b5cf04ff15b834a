/* Unit tests for controller/st_assign.c: replica assignment against Kafka's own test vectors
 * (AdminZkClientTest.testReplicaAssignment, AdminRackAwareTest, AddPartitionsTest, the example
 * in AdminUtils' doc comment), Kafka's rack-aware balance properties over every start index and
 * shift and over random clusters, error texts, --replica-assignment parsing, every election
 * strategy, the never-below-one-member ISR rule and the auto-rebalance threshold. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_assign.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void expect_rows(const int32_t *got, const int32_t *want, size_t n_rows, size_t rf)
{
    for (size_t p = 0; p < n_rows; p++)
        for (size_t j = 0; j < rf; j++)
            cr_expect_eq(got[p * rf + j], want[p * rf + j], "row %zu replica %zu: got %d, want %d",
                         p, j, got[p * rf + j], want[p * rf + j]);
}

static void expect_list(const int32_t *got, size_t got_len, const int32_t *want, size_t want_len)
{
    cr_assert_eq(got_len, want_len, "length %zu, want %zu", got_len, want_len);
    for (size_t i = 0; i < want_len; i++)
        cr_expect_eq(got[i], want[i], "[%zu] = %d, want %d", i, got[i], want[i]);
}

/* ---- Rack-unaware ------------------------------------------------------------------------ */

/* AdminZkClientTest.testReplicaAssignment: brokers 0..4, 10 partitions, RF 3, fixedStartIndex 0
 * (so shift 0 too). It is also the table in AdminUtils' doc comment. */
static const int32_t kafka_5x10[] = {
    0, 1, 2,  1, 2, 3,  2, 3, 4,  3, 4, 0,  4, 0, 1,
    0, 2, 3,  1, 3, 4,  2, 4, 0,  3, 0, 1,  4, 1, 2,
};

Test(assign_unaware, kafka_replica_assignment_vector)
{
    /* Given out of order: the brokers are sorted by id as Kafka's getBrokerMetadatas does. */
    st_assign_broker_t brokers[] = { {3, NULL}, {0, NULL}, {4, NULL}, {1, NULL}, {2, NULL} };
    int32_t *rows = NULL;
    cr_assert_eq(st_assign_replicas(brokers, 5, 10, 3, 0, 0, -1, true, &rows, NULL, 0), ST_ERR_NONE);
    expect_rows(rows, kafka_5x10, 10, 3);
    free(rows);
    /* An explicit shift equal to the start index is the same thing. */
    cr_assert_eq(st_assign_replicas(brokers, 5, 10, 3, 0, 0, 0, true, &rows, NULL, 0), ST_ERR_NONE);
    expect_rows(rows, kafka_5x10, 10, 3);
    free(rows);
}

Test(assign_unaware, shift_separate_from_start_and_sparse_ids)
{
    /* Derived by hand from the formula. 5 brokers, start 0, shift 2: partition 0's followers at
     * 0 + 1 + (2 + j) % 4 = 3, 4; partition 5 (shift 3): 0 + 1 + (3 + j) % 4 = 4, 1. */
    st_assign_broker_t five[] = { {0, NULL}, {1, NULL}, {2, NULL}, {3, NULL}, {4, NULL} };
    int32_t *rows;
    cr_assert_eq(st_assign_replicas(five, 5, 6, 3, 0, 0, 2, false, &rows, NULL, 0), ST_ERR_NONE);
    const int32_t want5[] = { 0, 3, 4,  1, 4, 0,  2, 0, 1,  3, 1, 2,  4, 2, 3,  0, 4, 1 };
    expect_rows(rows, want5, 6, 3);
    free(rows);
    /* Ids 10, 20, 30, start 1, shift 0, RF 2; partition 3 steps the shift to 1. */
    st_assign_broker_t sparse[] = { {30, NULL}, {10, NULL}, {20, NULL} };
    cr_assert_eq(st_assign_replicas(sparse, 3, 4, 2, 1, 0, 0, true, &rows, NULL, 0), ST_ERR_NONE);
    const int32_t want3[] = { 20, 30,  30, 10,  10, 20,  20, 10 };
    expect_rows(rows, want3, 4, 2);
    free(rows);
}

Test(assign_unaware, random_start_is_balanced)
{
    st_assign_broker_t brokers[] = { {0, NULL}, {1, NULL}, {2, NULL}, {3, NULL}, {4, NULL} };
    for (int run = 0; run < 200; run++) {
        int32_t *rows;
        cr_assert_eq(st_assign_replicas(brokers, 5, 20, 3, -1, 0, -1, true, &rows, NULL, 0),
                     ST_ERR_NONE);
        int leaders[5] = {0}, replicas[5] = {0};
        for (int p = 0; p < 20; p++) {
            const int32_t *r = rows + p * 3;
            cr_assert(r[0] != r[1] && r[0] != r[2] && r[1] != r[2], "partition %d repeats a broker", p);
            leaders[r[0]]++;
            for (int j = 0; j < 3; j++)
                replicas[r[j]]++;
        }
        for (int b = 0; b < 5; b++) {
            cr_expect_eq(leaders[b], 4, "broker %d leads %d", b, leaders[b]);
            cr_expect_eq(replicas[b], 12, "broker %d holds %d", b, replicas[b]);
        }
        free(rows);
    }
}

Test(assign_unaware, errors_and_messages)
{
    st_assign_broker_t brokers[] = { {0, NULL}, {1, NULL}, {2, NULL} };
    int32_t *sentinel = (int32_t *)(uintptr_t)0x1, *rows = sentinel;
    char msg[256];
    cr_expect_eq(st_assign_replicas(brokers, 3, 0, 1, -1, 0, -1, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_PARTITIONS);
    cr_expect_str_eq(msg, "Number of partitions must be larger than 0.");
    cr_expect_eq(st_assign_replicas(brokers, 3, -5, 1, -1, 0, -1, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_PARTITIONS);
    cr_expect_eq(st_assign_replicas(brokers, 3, 4, 0, -1, 0, -1, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_REPLICATION_FACTOR);
    cr_expect_str_eq(msg, "Replication factor must be larger than 0.");
    cr_expect_eq(st_assign_replicas(brokers, 3, 4, 4, -1, 0, -1, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_REPLICATION_FACTOR);
    cr_expect_str_eq(msg, "Replication factor: 4 larger than available brokers: 3.");
    cr_expect_eq(st_assign_replicas(NULL, 0, 4, 1, -1, 0, -1, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_REPLICATION_FACTOR);
    cr_expect_str_eq(msg, "Replication factor: 1 larger than available brokers: 0.");
    st_assign_broker_t dup[] = { {1, NULL}, {2, NULL}, {1, NULL} };
    cr_expect_eq(st_assign_replicas(dup, 3, 4, 2, -1, 0, -1, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_REQUEST);
    cr_expect_str_eq(msg, "Duplicate broker id 1 in the broker list.");
    cr_expect_eq(st_assign_replicas(brokers, 3, 2, 1, -1, INT32_MAX, -1, true, &rows, msg,
                                    sizeof(msg)), ST_ERR_INVALID_PARTITIONS);
    /* A NULL message buffer is allowed. */
    cr_expect_eq(st_assign_replicas(brokers, 3, 0, 1, -1, 0, -1, true, &rows, NULL, 0),
                 ST_ERR_INVALID_PARTITIONS);
    cr_expect_eq(rows, sentinel, "output clobbered on failure");
}

/* ---- Rack-aware -------------------------------------------------------------------------- */

Test(assign_rack, kafka_rack_alternated_list_and_assignment)
{
    /* AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers. */
    st_assign_broker_t racks[] = { {0, "rack1"}, {1, "rack3"}, {2, "rack3"},
                                   {3, "rack2"}, {4, "rack2"}, {5, "rack1"} };
    int32_t list[6];
    cr_assert_eq(st_assign_rack_alternated(racks, 6, list), 0);
    const int32_t want6[] = { 0, 3, 1, 5, 4, 2 };
    expect_list(list, 6, want6, 6);
    cr_assert_eq(st_assign_rack_alternated(racks, 5, list), 0);   /* without broker 5 */
    const int32_t want5[] = { 0, 3, 1, 4, 2 };
    expect_list(list, 5, want5, 5);

    int32_t *rows;
    cr_assert_eq(st_assign_replicas(racks, 6, 7, 3, 0, 0, -1, true, &rows, NULL, 0), ST_ERR_NONE);
    const int32_t want[] = { 0, 3, 1,  3, 1, 5,  1, 5, 4,  5, 4, 2,  4, 2, 0,  2, 0, 3,  0, 4, 2 };
    expect_rows(rows, want, 7, 3);
    free(rows);

    st_assign_broker_t unracked[] = { {0, "r"}, {1, NULL} };
    cr_expect_eq(st_assign_rack_alternated(unracked, 2, list), -EINVAL);
}

Test(assign_rack, partial_rack_information)
{
    st_assign_broker_t mixed[] = { {0, "r1"}, {1, NULL}, {2, "r2"}, {3, ""} };
    int32_t *rows = NULL;
    char msg[256];
    cr_expect_eq(st_assign_replicas(mixed, 4, 8, 2, 0, 0, -1, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Not all brokers have rack information for replica rack aware assignment.");
    cr_expect_null(rows);
    /* --disable-rack-aware: the racks are ignored, the result is the rack-unaware one. */
    st_assign_broker_t plain[] = { {0, NULL}, {1, NULL}, {2, NULL}, {3, NULL} };
    int32_t *unaware;
    cr_assert_eq(st_assign_replicas(mixed, 4, 8, 2, 1, 0, -1, false, &rows, NULL, 0), ST_ERR_NONE);
    cr_assert_eq(st_assign_replicas(plain, 4, 8, 2, 1, 0, -1, true, &unaware, NULL, 0), ST_ERR_NONE);
    expect_rows(rows, unaware, 8, 2);
    free(rows);
    free(unaware);
}

typedef struct rack_case {
    const st_assign_broker_t *brokers;
    size_t n;
    int32_t partitions, rf;
    bool leaders_even, replicas_even;
} rack_case_t;

static const char *rack_of(const st_assign_broker_t *brokers, size_t n, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (brokers[i].id == id)
            return brokers[i].rack;
    cr_assert_fail("broker %d not in the list", id);
    return NULL;
}

static size_t count_racks(const st_assign_broker_t *brokers, size_t n)
{
    size_t racks = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(brokers[i].rack, brokers[j].rack) == 0;
        racks += !seen;
    }
    return racks;
}

/* RackAwareTest.checkReplicaDistribution, plus: with rf >= #racks every rack holds a replica. */
static void check_distribution(const rack_case_t *c, const int32_t *rows, int32_t start, int32_t shift)
{
    size_t n_racks = count_racks(c->brokers, c->n);
    int leaders[64] = {0}, replicas[64] = {0};
    for (int32_t p = 0; p < c->partitions; p++) {
        const int32_t *r = rows + (size_t)p * (size_t)c->rf;
        size_t distinct_racks = 0;
        for (int32_t j = 0; j < c->rf; j++) {
            cr_assert(r[j] >= 0 && r[j] < 64);
            bool new_rack = true;
            for (int32_t i = 0; i < j; i++) {
                cr_assert_neq(r[i], r[j], "start %d shift %d: partition %d repeats broker %d",
                              start, shift, p, r[j]);
                if (strcmp(rack_of(c->brokers, c->n, r[i]), rack_of(c->brokers, c->n, r[j])) == 0)
                    new_rack = false;
            }
            distinct_racks += new_rack;
            replicas[r[j]]++;
        }
        leaders[r[0]]++;
        size_t want = (size_t)c->rf < n_racks ? (size_t)c->rf : n_racks;
        cr_assert_eq(distinct_racks, want, "start %d shift %d: partition %d spans %zu racks, want %zu",
                     start, shift, p, distinct_racks, want);
    }
    for (size_t i = 0; i < c->n; i++) {
        int32_t b = c->brokers[i].id;
        if (c->leaders_even)
            cr_expect_eq(leaders[b], c->partitions / (int32_t)c->n,
                         "start %d shift %d: broker %d leads %d", start, shift, b, leaders[b]);
        if (c->replicas_even)
            cr_expect_eq(replicas[b], c->partitions * c->rf / (int32_t)c->n,
                         "start %d shift %d: broker %d holds %d", start, shift, b, replicas[b]);
    }
}

/* Kafka's AdminRackAwareTest cases, checked for every start index and shift (Kafka picks them at
 * random, so each must work). */
Test(assign_rack, kafka_balance_properties_every_start_and_shift)
{
    static const st_assign_broker_t six[] = { {0, "rack1"}, {1, "rack2"}, {2, "rack2"},
                                              {3, "rack3"}, {4, "rack3"}, {5, "rack1"} };
    static const st_assign_broker_t uneven[] = { {0, "rack1"}, {1, "rack1"}, {2, "rack2"},
                                                 {3, "rack3"}, {4, "rack3"}, {5, "rack1"} };
    static const st_assign_broker_t three[] = { {0, "rack1"}, {1, "rack2"}, {4, "rack3"} };
    static const st_assign_broker_t twelve[] = {
        {0, "rack1"}, {1, "rack2"}, {2, "rack2"}, {3, "rack3"}, {4, "rack3"}, {5, "rack1"},
        {6, "rack1"}, {7, "rack2"}, {8, "rack2"}, {9, "rack3"}, {10, "rack1"}, {11, "rack3"} };
    static const st_assign_broker_t more_rf[] = { {0, "rack1"}, {1, "rack2"}, {2, "rack2"},
                                                  {3, "rack3"}, {4, "rack3"}, {5, "rack2"} };
    static const st_assign_broker_t one_rack[] = { {0, "rack1"}, {1, "rack1"}, {2, "rack1"},
                                                   {3, "rack1"}, {4, "rack1"}, {5, "rack1"} };
    static const st_assign_broker_t skip[] = { {0, "a"}, {1, "b"}, {2, "c"}, {3, "a"}, {4, "a"} };
    const rack_case_t cases[] = {
        { six, 6, 6, 3, true, true },        /* testAssignmentWithRackAware */
        { six, 6, 13, 3, false, false },     /* ...WithUnevenReplicas */
        { uneven, 6, 12, 3, true, false },   /* ...WithUnevenRacks */
        { six, 6, 12, 2, true, true },       /* testAssignmentWith2ReplicasRackAware */
        { six, 6, 6, 2, true, true },        /* ...With6Partitions */
        { three, 3, 3, 2, true, true },      /* ...With6PartitionsAnd3Brokers */
        { twelve, 12, 96, 3, true, true },   /* testLargeNumberPartitionsAssignment */
        { more_rf, 6, 6, 5, false, false },  /* testMoreReplicasThanRacks */
        { more_rf, 6, 6, 2, false, false },  /* testLessReplicasThanRacks */
        { one_rack, 6, 6, 3, true, false },  /* testSingleRack */
        { skip, 5, 6, 4, false, false },     /* testSkipBrokerWithReplicaAlreadyAssigned */
    };
    for (size_t i = 0; i < N(cases); i++) {
        for (int32_t start = 0; start < (int32_t)cases[i].n; start++) {
            for (int32_t shift = 0; shift < (int32_t)cases[i].n; shift++) {
                int32_t *rows;
                cr_assert_eq(st_assign_replicas(cases[i].brokers, cases[i].n, cases[i].partitions,
                                                cases[i].rf, start, 0, shift, true, &rows, NULL, 0),
                             ST_ERR_NONE);
                check_distribution(&cases[i], rows, start, shift);
                free(rows);
            }
        }
    }
    /* testRackAwareExpansion: ids 6..11, partitions 12..23, random start and shift. */
    static const st_assign_broker_t expand[] = { {6, "rack1"}, {7, "rack2"}, {8, "rack2"},
                                                 {9, "rack3"}, {10, "rack3"}, {11, "rack1"} };
    const rack_case_t c = { expand, 6, 12, 2, true, true };
    for (int run = 0; run < 50; run++) {
        int32_t *rows;
        cr_assert_eq(st_assign_replicas(expand, 6, 12, 2, -1, 12, -1, true, &rows, NULL, 0),
                     ST_ERR_NONE);
        check_distribution(&c, rows, -1, -1);
        free(rows);
    }
}

/* Random clusters: 2..16 brokers with sparse ids over 1..5 racks, any rf, random start/shift
 * (the library's own random half of the time). Each partition: distinct brokers, and
 * min(rf, #racks) distinct racks (Kafka's guarantee). */
Test(assign_rack, random_clusters)
{
    static const char *const rack_names[] = { "us-east-1a", "us-east-1b", "eu-west-1a", "zz", "a" };
    for (unsigned seed = 1; seed <= 500; seed++) {
        srand(seed);
        size_t n = 2 + (size_t)(rand() % 15);
        size_t racks = 1 + (size_t)(rand() % 5);
        st_assign_broker_t brokers[16];
        for (size_t i = 0; i < n; i++) {
            brokers[i].id = (int32_t)(i * 3 + (size_t)(rand() % 3));   /* increasing: unique */
            brokers[i].rack = rack_names[i < racks ? i : (size_t)rand() % racks];
        }
        int32_t rf = 1 + rand() % (int)n;
        int32_t partitions = 1 + rand() % 60;
        bool fixed = rand() % 2;
        int32_t start = fixed ? rand() % 100 : -1, shift = fixed ? rand() % 100 : -1;
        int32_t *rows;
        cr_assert_eq(st_assign_replicas(brokers, n, partitions, rf, start, rand() % 50, shift,
                                        true, &rows, NULL, 0), ST_ERR_NONE, "seed %u", seed);
        const rack_case_t c = { brokers, n, partitions, rf, false, false };
        check_distribution(&c, rows, start, shift);
        free(rows);
    }
}

/* ---- Adding partitions ------------------------------------------------------------------- */

Test(assign_add, start_index)
{
    st_assign_broker_t four[] = { {3, NULL}, {1, NULL}, {0, NULL}, {2, NULL} };
    cr_expect_eq(st_assign_add_start_index(four, 4, 2), 2);
    cr_expect_eq(st_assign_add_start_index(four, 4, 0), 0);
    cr_expect_eq(st_assign_add_start_index(four, 4, 9), 0);    /* no id >= 9: Kafka's max(0, -1) */
    st_assign_broker_t odd[] = { {5, NULL}, {1, NULL}, {3, NULL} };
    cr_expect_eq(st_assign_add_start_index(odd, 3, 2), 1);     /* broker 2 gone: next id is 3 */
    cr_expect_eq(st_assign_add_start_index(odd, 3, 5), 2);
}

Test(assign_add, kafka_add_partitions_vectors)
{
    /* AddPartitionsTest, 4 brokers. testReplicaPlacementPartialServers: partition 0 on [1, 2],
     * grown to 3 partitions -> 1: leader 2 on {0, 2}, 2: leader 3 on {1, 3}. */
    st_assign_broker_t four[] = { {0, NULL}, {1, NULL}, {2, NULL}, {3, NULL} };
    const int32_t p0_partial[] = { 1, 2 };
    int32_t *rows;
    cr_assert_eq(st_assign_add_partitions(four, 4, p0_partial, 2, 1, 3, true, &rows, NULL, 0),
                 ST_ERR_NONE);
    const int32_t want_partial[] = { 2, 0,  3, 1 };
    expect_rows(rows, want_partial, 2, 2);
    free(rows);
    /* testReplicaPlacementAllServers: partition 0 on [2, 3, 0, 1], grown to 7. Kafka checks
     * leaders 3, 0, 1, 2, 3, 0 and replica sets; its sets are even written in the order the
     * formula gives (start = shift = 2, partition 4 steps the shift to 3). */
    const int32_t p0_all[] = { 2, 3, 0, 1 };
    cr_assert_eq(st_assign_add_partitions(four, 4, p0_all, 4, 1, 7, true, &rows, NULL, 0),
                 ST_ERR_NONE);
    const int32_t want_all[] = { 3, 2, 0, 1,  0, 3, 1, 2,  1, 0, 2, 3,
                                 2, 3, 0, 1,  3, 0, 1, 2,  0, 1, 2, 3 };
    expect_rows(rows, want_all, 6, 4);
    free(rows);
}

Test(assign_add, errors)
{
    st_assign_broker_t three[] = { {0, NULL}, {1, NULL}, {2, NULL} };
    const int32_t p0[] = { 1, 2 };
    int32_t *rows = NULL;
    char msg[256];
    cr_expect_eq(st_assign_add_partitions(three, 3, p0, 2, 3, 2, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_PARTITIONS);
    cr_expect_str_eq(msg, "The number of partitions for a topic can only be increased. "
                          "The topic currently has 3 partitions, 2 would not be an increase.");
    cr_expect_eq(st_assign_add_partitions(three, 3, p0, 2, 3, 3, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_PARTITIONS);
    cr_expect_eq(st_assign_add_partitions(three, 3, p0, 0, 3, 5, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_REQUEST);
    /* The topic's replication factor no longer fits the cluster. */
    const int32_t p0_wide[] = { 0, 1, 2, 3 };
    cr_expect_eq(st_assign_add_partitions(three, 3, p0_wide, 4, 1, 2, true, &rows, msg, sizeof(msg)),
                 ST_ERR_INVALID_REPLICATION_FACTOR);
    cr_expect_str_eq(msg, "Replication factor: 4 larger than available brokers: 3.");
    cr_expect_null(rows);
}

/* ---- Explicit assignments ---------------------------------------------------------------- */

static int parse(const char *spec, const st_assign_idset_t *known, char *msg, size_t len)
{
    int32_t *rows = NULL, n = -7, rf = -7;
    int code = st_assign_parse(spec, known, &rows, &n, &rf, msg, len);
    if (code != ST_ERR_NONE) {
        cr_expect_null(rows);
        cr_expect_eq(n, -7);
        cr_expect_eq(rf, -7);
    }
    free(rows);
    return code;
}

Test(assign_parse, valid)
{
    int32_t *rows, n, rf;
    cr_assert_eq(st_assign_parse("1:2:3,2:3:1", NULL, &rows, &n, &rf, NULL, 0), ST_ERR_NONE);
    cr_expect_eq(n, 2);
    cr_expect_eq(rf, 3);
    const int32_t want[] = { 1, 2, 3,  2, 3, 1 };
    expect_rows(rows, want, 2, 3);
    free(rows);
    const int32_t ids[] = { 0, 1, 2, 3, 4 };
    const st_assign_idset_t known = { ids, 5 };
    cr_assert_eq(st_assign_parse(" 4 : 0,1:2 ,3\t:4", &known, &rows, &n, &rf, NULL, 0), ST_ERR_NONE);
    cr_expect_eq(n, 3);
    cr_expect_eq(rf, 2);
    const int32_t want2[] = { 4, 0,  1, 2,  3, 4 };
    expect_rows(rows, want2, 3, 2);
    free(rows);
    cr_assert_eq(st_assign_parse("7", NULL, &rows, &n, &rf, NULL, 0), ST_ERR_NONE);
    cr_expect(n == 1 && rf == 1 && rows[0] == 7);
    free(rows);
}

Test(assign_parse, errors_name_partition_and_position)
{
    char msg[256];
    const int32_t ids[] = { 1, 2, 3 };
    const st_assign_idset_t known = { ids, 3 };
    cr_expect_eq(parse("1:1:2", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Duplicate brokers not allowed in replica assignment: broker 1 appears "
                          "twice in partition 0.");
    cr_expect_eq(parse("1:2,3", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Partition 1 has different replication factor: 1 replicas where "
                          "partition 0 has 2.");
    cr_expect_eq(parse("1:2,3:1,2:3:1", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Partition 2 has different replication factor: 3 replicas where "
                          "partition 0 has 2.");
    cr_expect_eq(parse("1:x,2:3", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Invalid broker id 'x' at position 2 (partition 0) of the replica "
                          "assignment: expected a non-negative integer.");
    cr_expect_eq(parse("1:2,3:-4", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Invalid broker id '-4' at position 6 (partition 1) of the replica "
                          "assignment: expected a non-negative integer.");
    cr_expect_eq(parse("1:2,", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Invalid broker id '' at position 4 (partition 1) of the replica "
                          "assignment: expected a non-negative integer.");
    cr_expect_eq(parse("1::2", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_eq(parse("1 2", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Invalid broker id '1 2' at position 0 (partition 0) of the replica "
                          "assignment: expected a non-negative integer.");
    cr_expect_eq(parse("2147483648", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_eq(parse("1.5", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_eq(parse(" ", NULL, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "The replica assignment is empty.");
    cr_expect_eq(parse("1:2,2:7", &known, msg, sizeof(msg)), ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Unknown broker id 7 in the replica assignment of partition 1.");
    cr_expect_eq(parse("1:2,2:3", &known, msg, sizeof(msg)), ST_ERR_NONE);
    const int32_t unsorted_ids[] = { 3, 1 };
    const st_assign_idset_t unsorted = { unsorted_ids, 2 };
    cr_expect_eq(parse("1", &unsorted, msg, sizeof(msg)), ST_ERR_INVALID_REQUEST);
}

Test(assign_parse, check_replicas)
{
    char msg[256];
    const int32_t none[1] = { 0 };
    cr_expect_eq(st_assign_check_replicas(3, none, 0, NULL, msg, sizeof(msg)),
                 ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    cr_expect_str_eq(msg, "Cannot have replication factor of 0 for partition id 3.");
    const int32_t neg[] = { 1, -1 };
    cr_expect_eq(st_assign_check_replicas(0, neg, 2, NULL, msg, sizeof(msg)),
                 ST_ERR_INVALID_REPLICA_ASSIGNMENT);
    const int32_t ok[] = { 2, 0, 1 };
    cr_expect_eq(st_assign_check_replicas(0, ok, 3, NULL, msg, sizeof(msg)), ST_ERR_NONE);
}

/* ---- Leader election --------------------------------------------------------------------- */

typedef struct fixture {
    int32_t live[8];
    size_t n_live;
    int32_t down[8];
    size_t n_down;
    st_assign_cluster_t cluster;
} fixture_t;

/* live / shutting-down sets given in any order with a -1 terminator. */
static st_assign_cluster_t *cluster_of(fixture_t *f, const int32_t *live, const int32_t *down)
{
    f->n_live = f->n_down = 0;
    for (; live && *live >= 0; live++)
        f->live[f->n_live++] = *live;
    for (; down && *down >= 0; down++)
        f->down[f->n_down++] = *down;
    f->n_live = st_assign_idset_normalize(f->live, f->n_live);
    f->n_down = st_assign_idset_normalize(f->down, f->n_down);
    f->cluster = (st_assign_cluster_t){ { f->live, f->n_live }, { f->down, f->n_down } };
    return &f->cluster;
}

#define PART(reps, isr_, leader_) \
    ((st_assign_partition_t){ (reps), N(reps), (isr_), N(isr_), (leader_) })

Test(assign_idset, normalize_and_contains)
{
    int32_t ids[] = { 5, 1, 3, 1, 5, 2 };
    size_t n = st_assign_idset_normalize(ids, N(ids));
    const int32_t want[] = { 1, 2, 3, 5 };
    expect_list(ids, n, want, 4);
    const st_assign_idset_t set = { ids, n };
    cr_expect(st_assign_idset_contains(&set, 3));
    cr_expect_not(st_assign_idset_contains(&set, 4));
    cr_expect_not(st_assign_idset_contains(NULL, 1));
}

Test(assign_elect, offline_clean)
{
    fixture_t f;
    int32_t buf[8];
    st_assign_election_t e;
    const int32_t reps[] = { 1, 2, 3 }, isr23[] = { 2, 3 };
    /* 1 is live but not in sync: the first live ISR member in assignment order wins. */
    st_assign_partition_t part = PART(reps, isr23, -1);
    cr_assert_eq(st_assign_elect_offline(&part, cluster_of(&f, (int32_t[]){ 3, 1, 2, -1 }, NULL),
                                         false, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 2);
    cr_expect_not(e.unclean);
    expect_list(e.isr, e.isr_len, isr23, 2);
    /* The leader died: new ISR = live members of the old one. */
    const int32_t reps213[] = { 2, 1, 3 }, isr123[] = { 1, 2, 3 };
    part = PART(reps213, isr123, 2);
    cr_assert_eq(st_assign_elect_offline(&part, cluster_of(&f, (int32_t[]){ 1, 3, -1 }, NULL),
                                         false, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 1);
    const int32_t want13[] = { 1, 3 };
    expect_list(e.isr, e.isr_len, want13, 2);
    /* A shutting-down broker is not online: neither leader nor kept in the ISR. */
    const int32_t isr12[] = { 1, 2 };
    part = PART(reps, isr12, -1);
    cr_assert_eq(st_assign_elect_offline(&part, cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 },
                                                           (int32_t[]){ 1, -1 }),
                                         false, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 2);
    const int32_t want2[] = { 2 };
    expect_list(e.isr, e.isr_len, want2, 1);
}

Test(assign_elect, offline_unclean_on_and_off)
{
    fixture_t f;
    int32_t buf[8];
    st_assign_election_t e;
    const int32_t reps[] = { 1, 2, 3 }, isr12[] = { 1, 2 };
    st_assign_partition_t part = PART(reps, isr12, -1);
    st_assign_cluster_t *only3 = cluster_of(&f, (int32_t[]){ 3, -1 }, NULL);
    /* Unclean off: nothing to elect, state left as it is. */
    cr_assert_eq(st_assign_elect_offline(&part, only3, false, buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    cr_expect_not(e.unclean);
    expect_list(e.isr, e.isr_len, isr12, 2);
    /* Unclean on: the first live replica, ISR [leader], reported unclean. */
    cr_assert_eq(st_assign_elect_offline(&part, only3, true, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 3);
    cr_expect(e.unclean);
    const int32_t want3[] = { 3 };
    expect_list(e.isr, e.isr_len, want3, 1);
    /* A clean candidate is preferred even when unclean election is allowed. */
    cr_assert_eq(st_assign_elect_offline(&part, cluster_of(&f, (int32_t[]){ 2, 3, -1 }, NULL),
                                         true, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 2);
    cr_expect_not(e.unclean);
    /* Nobody live at all. */
    cr_assert_eq(st_assign_elect_offline(&part, cluster_of(&f, NULL, NULL), true, buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    cr_expect_not(e.unclean);
}

Test(assign_elect, argument_errors)
{
    fixture_t f;
    int32_t buf[8];
    st_assign_election_t e = { .leader = 42 };
    const int32_t reps[] = { 1, 2, 3 }, isr[] = { 1, 2, 3 };
    st_assign_partition_t part = PART(reps, isr, 1);
    st_assign_cluster_t *c = cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 }, NULL);
    cr_expect_eq(st_assign_elect_offline(&part, c, false, buf, 2, &e), -ENOSPC);
    cr_expect_eq(st_assign_elect_offline(NULL, c, false, buf, 8, &e), -EINVAL);
    cr_expect_eq(st_assign_elect_offline(&part, NULL, false, buf, 8, &e), -EINVAL);
    const int32_t unsorted[] = { 3, 1 };
    st_assign_cluster_t bad = { { unsorted, 2 }, { NULL, 0 } };
    cr_expect_eq(st_assign_elect_preferred(&part, &bad, buf, 8, &e), -EINVAL);
    cr_expect_eq(e.leader, 42, "output clobbered on failure");
    /* An empty ISR still needs room for one entry (an unclean leader). */
    st_assign_partition_t empty = { reps, 3, NULL, 0, -1 };
    cr_expect_eq(st_assign_elect_offline(&empty, c, true, buf, 0, &e), -ENOSPC);
    cr_expect_eq(st_assign_elect_offline(&empty, c, true, buf, 1, &e), 0);
    cr_expect(e.leader == 1 && e.unclean && e.isr_len == 1);
}

Test(assign_elect, preferred)
{
    fixture_t f;
    int32_t buf[8];
    st_assign_election_t e;
    const int32_t reps[] = { 1, 2, 3 }, isr[] = { 2, 3, 1 }, isr23[] = { 2, 3 };
    st_assign_partition_t part = PART(reps, isr, 2);
    st_assign_cluster_t *all = cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 }, NULL);
    cr_assert_eq(st_assign_elect_preferred(&part, all, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 1);
    expect_list(e.isr, e.isr_len, isr, 3);   /* unchanged, order kept */
    part = PART(reps, isr23, 2);             /* preferred replica out of sync */
    cr_assert_eq(st_assign_elect_preferred(&part, all, buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    expect_list(e.isr, e.isr_len, isr23, 2);
    part = PART(reps, isr, 2);               /* preferred replica dead */
    cr_assert_eq(st_assign_elect_preferred(&part, cluster_of(&f, (int32_t[]){ 2, 3, -1 }, NULL),
                                           buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    cr_assert_eq(st_assign_elect_preferred(&part, cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 },
                                                             (int32_t[]){ 1, -1 }),
                                           buf, 8, &e), 0);   /* shutting down */
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
}

Test(assign_elect, controlled_shutdown)
{
    fixture_t f;
    int32_t buf[8];
    st_assign_election_t e;
    const int32_t reps[] = { 1, 2, 3 }, isr[] = { 1, 2, 3 };
    st_assign_partition_t part = PART(reps, isr, 1);
    st_assign_cluster_t *c = cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 }, (int32_t[]){ 1, -1 });
    cr_assert_eq(st_assign_elect_controlled_shutdown(&part, c, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 2);
    cr_expect_not(e.unclean);
    const int32_t want23[] = { 2, 3 };
    expect_list(e.isr, e.isr_len, want23, 2);
    /* 2 is live but out of sync: 3 leads; both shutting-down brokers leave the ISR. */
    const int32_t isr13[] = { 1, 3, 4 }, reps4[] = { 1, 2, 3, 4 };
    part = PART(reps4, isr13, 1);
    c = cluster_of(&f, (int32_t[]){ 1, 2, 3, 4, -1 }, (int32_t[]){ 4, 1, -1 });
    cr_assert_eq(st_assign_elect_controlled_shutdown(&part, c, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 3);
    const int32_t want3[] = { 3 };
    expect_list(e.isr, e.isr_len, want3, 1);
    /* The only in-sync replica is the one shutting down: no leader, state unchanged. */
    const int32_t isr1[] = { 1 };
    part = PART(reps, isr1, 1);
    c = cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 }, (int32_t[]){ 1, -1 });
    cr_assert_eq(st_assign_elect_controlled_shutdown(&part, c, buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    expect_list(e.isr, e.isr_len, isr1, 1);
}

Test(assign_elect, reassign)
{
    fixture_t f;
    int32_t buf[8];
    st_assign_election_t e;
    /* Moving from [1, 2, 3] to [4, 5, 6]: 4 is still catching up, 5 is down, 6 is in sync. */
    const int32_t reps[] = { 1, 2, 3, 4, 5, 6 }, isr[] = { 1, 2, 3, 5, 6 }, target[] = { 4, 5, 6 };
    st_assign_partition_t part = PART(reps, isr, 1);
    st_assign_cluster_t *c = cluster_of(&f, (int32_t[]){ 1, 2, 3, 4, 6, -1 }, NULL);
    cr_assert_eq(st_assign_elect_reassign(&part, target, 3, c, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 6);
    expect_list(e.isr, e.isr_len, isr, 5);
    c = cluster_of(&f, (int32_t[]){ 1, 2, 3, 4, -1 }, NULL);
    cr_assert_eq(st_assign_elect_reassign(&part, target, 3, c, buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
}

Test(assign_elect, new_partition)
{
    fixture_t f;
    int32_t buf[3];
    st_assign_election_t e;
    const int32_t reps[] = { 3, 1, 2 };
    st_assign_partition_t part = { reps, 3, NULL, 0, -1 };
    cr_assert_eq(st_assign_elect_new(&part, cluster_of(&f, (int32_t[]){ 1, 2, -1 }, NULL),
                                     buf, 3, &e), 0);
    cr_expect_eq(e.leader, 1);
    const int32_t want[] = { 1, 2 };
    expect_list(e.isr, e.isr_len, want, 2);
    cr_assert_eq(st_assign_elect_new(&part, cluster_of(&f, (int32_t[]){ 9, -1 }, NULL),
                                     buf, 3, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    cr_expect_eq(e.isr_len, 0);
    cr_expect_eq(st_assign_elect_new(&part, &f.cluster, buf, 2, &e), -ENOSPC);
}

Test(assign_elect, remove_from_isr_never_below_one)
{
    int32_t buf[8];
    st_assign_election_t e;
    const int32_t reps[] = { 1, 2, 3 }, isr[] = { 1, 2, 3 };
    st_assign_partition_t part = PART(reps, isr, 1);
    cr_assert_eq(st_assign_remove_from_isr(&part, 1, buf, 8, &e), 0);   /* the leader */
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    const int32_t want23[] = { 2, 3 };
    expect_list(e.isr, e.isr_len, want23, 2);
    cr_assert_eq(st_assign_remove_from_isr(&part, 2, buf, 8, &e), 0);   /* a follower */
    cr_expect_eq(e.leader, 1);
    const int32_t want13[] = { 1, 3 };
    expect_list(e.isr, e.isr_len, want13, 2);
    cr_assert_eq(st_assign_remove_from_isr(&part, 7, buf, 8, &e), 0);   /* not in the ISR */
    cr_expect_eq(e.leader, 1);
    expect_list(e.isr, e.isr_len, isr, 3);
    /* KAFKA-5083: the last member stays, the partition becomes leaderless. */
    const int32_t isr1[] = { 1 };
    part = PART(reps, isr1, 1);
    cr_assert_eq(st_assign_remove_from_isr(&part, 1, buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    expect_list(e.isr, e.isr_len, isr1, 1);
    cr_expect_eq(st_assign_remove_from_isr(&part, 1, buf, 0, &e), -ENOSPC);
}

Test(assign_elect, last_isr_member_returns_clean)
{
    /* Why the rule exists: 1 was the last in-sync replica and died. With the ISR kept at [1],
     * a clean election waits for 1 instead of electing out-of-sync 2. */
    fixture_t f;
    int32_t buf[8], state_isr[8];
    st_assign_election_t e;
    const int32_t reps[] = { 1, 2 }, isr[] = { 1 };
    st_assign_partition_t part = PART(reps, isr, 1);
    cr_assert_eq(st_assign_remove_from_isr(&part, 1, state_isr, 8, &e), 0);
    st_assign_partition_t after = { reps, 2, state_isr, e.isr_len, e.leader };
    cr_assert_eq(st_assign_elect_offline(&after, cluster_of(&f, (int32_t[]){ 2, -1 }, NULL),
                                         false, buf, 8, &e), 0);
    cr_expect_eq(e.leader, ST_ASSIGN_NO_LEADER);
    cr_assert_eq(st_assign_elect_offline(&after, cluster_of(&f, (int32_t[]){ 1, 2, -1 }, NULL),
                                         false, buf, 8, &e), 0);
    cr_expect_eq(e.leader, 1);
    cr_expect_not(e.unclean);
    expect_list(e.isr, e.isr_len, isr, 1);
}

/* ---- Auto leader rebalance --------------------------------------------------------------- */

Test(assign_rebalance, threshold_is_strictly_greater)
{
    fixture_t f;
    st_assign_cluster_t *c = cluster_of(&f, (int32_t[]){ 1, 2, -1 }, NULL);
    const int32_t reps[] = { 1, 2 }, isr[] = { 1, 2 };
    st_assign_partition_t parts[10];
    for (int i = 0; i < 10; i++)
        parts[i] = PART(reps, isr, 1);
    parts[4].leader = 2;                               /* 1 of 10: exactly 10% */
    size_t *idx = (size_t *)(uintptr_t)0x1, len = 99;
    cr_assert_eq(st_assign_rebalance_candidates(parts, 10, 10, c, &idx, &len), 0);
    cr_expect_eq(len, 0);
    cr_expect_null(idx);
    cr_assert_eq(st_assign_rebalance_candidates(parts, 10, 9, c, &idx, &len), 0);
    cr_expect_eq(len, 1);
    cr_expect_eq(idx[0], 4);
    free(idx);
    parts[7].leader = ST_ASSIGN_NO_LEADER;             /* 2 of 10: 20% > 10% */
    cr_assert_eq(st_assign_rebalance_candidates(parts, 10, 10, c, &idx, &len), 0);
    cr_assert_eq(len, 2);
    cr_expect(idx[0] == 4 && idx[1] == 7);
    free(idx);

    st_assign_imbalance_t *imb;
    size_t n_imb;
    cr_assert_eq(st_assign_leader_imbalance(parts, 10, &imb, &n_imb), 0);
    cr_assert_eq(n_imb, 1);
    cr_expect(imb[0].broker == 1 && imb[0].n_preferred == 10 && imb[0].n_not_led == 2);
    free(imb);
}

Test(assign_rebalance, exceeds_in_exact_integers)
{
    st_assign_imbalance_t imb = { 1, 30, 3 };
    cr_expect_not(st_assign_imbalance_exceeds(&imb, 10));   /* 3/30 == 10% */
    imb.n_not_led = 4;
    cr_expect(st_assign_imbalance_exceeds(&imb, 10));
    imb.n_not_led = 0;
    cr_expect_not(st_assign_imbalance_exceeds(&imb, 0));    /* 0 > 0 is false */
    cr_expect(st_assign_imbalance_exceeds(&imb, -1));
    imb.n_not_led = 30;
    cr_expect(st_assign_imbalance_exceeds(&imb, 99));
    cr_expect_not(st_assign_imbalance_exceeds(&imb, 100));
}

Test(assign_rebalance, per_broker_and_eligibility)
{
    fixture_t f;
    /* Broker 1 prefers 10 partitions (1 not led: 10%), broker 2 prefers 4 (3 not led: 75%),
     * broker 3 prefers 1 (led by 3). Of broker 2's three, one has 2 out of sync. */
    const int32_t r12[] = { 1, 2 }, r21[] = { 2, 1 }, r31[] = { 3, 1 };
    const int32_t isr12[] = { 1, 2 }, isr1[] = { 1 }, isr31[] = { 3, 1 };
    st_assign_partition_t parts[15];
    for (int i = 0; i < 10; i++)
        parts[i] = PART(r12, isr12, 1);
    parts[3].leader = 2;
    parts[10] = PART(r21, isr12, 2);
    parts[11] = PART(r21, isr12, 1);
    parts[12] = PART(r21, isr1, 1);                    /* preferred replica 2 out of sync */
    parts[13] = PART(r21, isr12, 1);
    parts[14] = PART(r31, isr31, 3);

    st_assign_imbalance_t *imb;
    size_t n_imb;
    cr_assert_eq(st_assign_leader_imbalance(parts, 15, &imb, &n_imb), 0);
    cr_assert_eq(n_imb, 3);
    cr_expect(imb[0].broker == 1 && imb[0].n_preferred == 10 && imb[0].n_not_led == 1);
    cr_expect(imb[1].broker == 2 && imb[1].n_preferred == 4 && imb[1].n_not_led == 3);
    cr_expect(imb[2].broker == 3 && imb[2].n_preferred == 1 && imb[2].n_not_led == 0);
    free(imb);

    size_t *idx, len;
    st_assign_cluster_t *c = cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 }, NULL);
    cr_assert_eq(st_assign_rebalance_candidates(parts, 15, 10, c, &idx, &len), 0);
    cr_assert_eq(len, 2);
    cr_expect(idx[0] == 11 && idx[1] == 13);
    free(idx);
    /* Preferred broker dead or shutting down: nothing to elect. */
    c = cluster_of(&f, (int32_t[]){ 1, 3, -1 }, NULL);
    cr_assert_eq(st_assign_rebalance_candidates(parts, 15, 10, c, &idx, &len), 0);
    cr_expect_eq(len, 0);
    c = cluster_of(&f, (int32_t[]){ 1, 2, 3, -1 }, (int32_t[]){ 2, -1 });
    cr_assert_eq(st_assign_rebalance_candidates(parts, 15, 10, c, &idx, &len), 0);
    cr_expect_eq(len, 0);
    cr_expect_eq(st_assign_rebalance_candidates(parts, 15, 10, NULL, &idx, &len), -EINVAL);
}
