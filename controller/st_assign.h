/* Replica assignment, partition leader election and leader-imbalance detection: the pure
 * algorithms of the controller and the admin tools, with Kafka's ZooKeeper-mode semantics
 * (Kafka 2.8: AdminUtils.assignReplicasToBrokers, AdminZkClient.createNewPartitionsAssignment,
 * TopicCommand.parseReplicaAssignment, Election / PartitionLeaderElectionAlgorithms,
 * ReplicaStateMachine's ISR shrink, KafkaController.checkAndTriggerAutoLeaderRebalance).
 *
 * No I/O, no ZooKeeper, no logging, no global state; every function may run on any thread
 * (@locality any, @locks none). Broker ids are int32_t; -1 (ST_ASSIGN_NO_LEADER) is never a
 * broker.
 *
 * Two error conventions, as in the rest of Strand:
 *   - assignment functions answer admin requests: they return an st_error_t code (ST_ERR_NONE
 *     is 0) and write Kafka's explanation into msg (msg may be NULL);
 *   - election and imbalance functions are internal: 0 or a negative errno (-EINVAL for bad
 *     arguments, -ENOSPC for a short buffer, -ENOMEM).
 * On failure no ret_* output is touched.
 *
 * Broker sets ("live", "shutting down", "known") are st_assign_idset_t: a sorted, duplicate-free
 * int32_t array that the caller owns (st_assign_idset_normalize makes one). A broker is ONLINE
 * when it is live and not shutting down, which is Kafka's ControllerContext.isReplicaOnline:
 * the offline, preferred, reassign and new-partition elections only pick online replicas.
 *
 * Invariants of every leader-and-ISR state an election returns (checked with assert before
 * returning; asserts stay on in Strand builds):
 *   E1. leader == ST_ASSIGN_NO_LEADER means "no leader could be elected": the ISR returned is
 *       the old one unchanged and the caller must leave the partition's state as it is (Kafka
 *       does not write the state znode; the partition stays offline / keeps its leader).
 *   E2. otherwise the leader is one of the candidate replicas and is in the new ISR;
 *   E3. a clean election's ISR is a subset of the old ISR; an unclean one's is exactly [leader].
 * st_assign_remove_from_isr is not an election: it may return NO_LEADER with a non-empty ISR,
 * which is the state to write (leaderless until the next election). */
#ifndef ST_ASSIGN_H
#define ST_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_error.h"

#define ST_ASSIGN_NO_LEADER (-1)

/* ---- Replica assignment ------------------------------------------------------------------ */

typedef struct st_assign_broker {
    int32_t id;
    const char *rack;   /* NULL or "" = no rack (broker.rack unset) */
} st_assign_broker_t;

/* Kafka's assignReplicasToBrokers. Assigns rf replicas to each of n_partitions partitions over
 * the brokers (any order: they are sorted by id here, as Kafka's getBrokerMetadatas does).
 *
 * Rack-unaware (rack_aware false, or no broker has a rack): brokers sorted by id; the first
 * replica of partition p goes to index (p + start) % n, follower j to
 * (first + 1 + (shift + j) % (n - 1)) % n, and shift grows by one each time p reaches a
 * non-zero multiple of n. Rack-aware (every broker has a rack): the same over Kafka's
 * rack-alternated list (st_assign_rack_alternated), with the follower shift scaled by the rack
 * count and a follower skipped while its rack, or the broker itself, already holds a replica
 * and some rack / broker does not.
 *
 * start = fixed_start_index if >= 0, else random in [0, n). shift = fixed_shift if >= 0, else
 * fixed_start_index if that is >= 0 (Kafka uses the one fixed value for both), else random.
 * start_partition_id: id of the first partition to assign (Kafka's startPartitionId; negative
 * means 0); it matters because the shift steps at multiples of n.
 *
 * On success *ret_replicas is a malloc'd n_partitions * rf array: row p holds the replicas of
 * partition start_partition_id + p, preferred leader first. Free it with free().
 *
 * Errors (code, then msg):
 *   INVALID_PARTITIONS          "Number of partitions must be larger than 0."
 *   INVALID_REPLICATION_FACTOR  "Replication factor must be larger than 0."
 *   INVALID_REPLICATION_FACTOR  "Replication factor: 4 larger than available brokers: 3."
 *   INVALID_REPLICA_ASSIGNMENT  "Not all brokers have rack information for replica rack aware
 *                                assignment." (only some brokers have a rack and rack_aware is
 *                                true; pass false for Kafka's --disable-rack-aware. Kafka throws
 *                                AdminOperationException here, which reaches the wire as
 *                                UNKNOWN_SERVER_ERROR; a specific, non-retriable code is kinder.)
 *   INVALID_REQUEST             duplicate broker id, NULL arguments
 *   INVALID_PARTITIONS          partition ids would pass INT32_MAX
 *   UNKNOWN_SERVER_ERROR        out of memory */
int st_assign_replicas(const st_assign_broker_t *brokers, size_t n_brokers, int32_t n_partitions,
                       int32_t rf, int32_t fixed_start_index, int32_t start_partition_id,
                       int32_t fixed_shift, bool rack_aware, int32_t **ret_replicas,
                       char *msg, size_t msg_len);

/* Kafka's getRackAlternatedBrokerList: racks in name order (byte-wise strcmp; Kafka compares
 * UTF-16 units, the same for ASCII names), each rack's brokers by id, one broker taken from
 * each rack in turn. Racks {0:r1, 1:r3, 2:r3, 3:r2, 4:r2, 5:r1} give 0, 3, 1, 5, 4, 2.
 * ret_ids has room for n_brokers ids. Returns 0, -EINVAL (a broker without a rack, a
 * duplicate id, NULL) or -ENOMEM. */
int st_assign_rack_alternated(const st_assign_broker_t *brokers, size_t n_brokers,
                              int32_t *ret_ids);

/* Kafka's start index for new partitions of an existing topic (createNewPartitionsAssignment):
 * the position, in the brokers sorted by id, of the first broker whose id is >= the first
 * replica of the existing partition 0; 0 when there is none. Used for the rack-aware list too,
 * exactly as Kafka does. */
int32_t st_assign_add_start_index(const st_assign_broker_t *brokers, size_t n_brokers,
                                  int32_t p0_first_replica);

/* Kafka's createNewPartitionsAssignment without an explicit assignment: grows a topic of
 * existing_count partitions, whose partition 0 has replicas p0_replicas, to new_total.
 * Calls st_assign_replicas with rf = p0_len, start = st_assign_add_start_index (also the
 * shift), start_partition_id = existing_count; *ret_replicas holds rows for partitions
 * existing_count .. new_total - 1. Extra errors: INVALID_REQUEST when partition 0 is missing
 * (p0_len == 0 or existing_count <= 0); INVALID_PARTITIONS "The number of partitions for a
 * topic can only be increased. The topic currently has 3 partitions, 2 would not be an
 * increase." */
int st_assign_add_partitions(const st_assign_broker_t *brokers, size_t n_brokers,
                             const int32_t *p0_replicas, size_t p0_len, int32_t existing_count,
                             int32_t new_total, bool rack_aware, int32_t **ret_replicas,
                             char *msg, size_t msg_len);

/* ---- Broker sets ------------------------------------------------------------------------- */

typedef struct st_assign_idset {
    const int32_t *ids;   /* ascending, no duplicates */
    size_t len;
} st_assign_idset_t;

/* Sorts ids ascending and drops duplicates in place; returns the new length. */
size_t st_assign_idset_normalize(int32_t *ids, size_t len);
/* True if id is in set. A NULL set is empty. */
bool st_assign_idset_contains(const st_assign_idset_t *set, int32_t id);

/* ---- Explicit assignments ---------------------------------------------------------------- */

/* Checks one partition's replica list (Kafka's validateReplicaAssignment, for CreateTopics /
 * CreatePartitions assignments that arrive already decoded): not empty, ids >= 0, no broker
 * twice, every id in known when known is not NULL. Returns ST_ERR_NONE or
 * ST_ERR_INVALID_REPLICA_ASSIGNMENT with a message naming the partition and the broker, e.g.
 * "Unknown broker id 7 in the replica assignment of partition 1." */
int st_assign_check_replicas(int32_t partition, const int32_t *replicas, size_t n_replicas,
                             const st_assign_idset_t *known, char *msg, size_t msg_len);

/* Parses Kafka's --replica-assignment text: partitions separated by ',', each a ':'-separated
 * broker list, spaces around ids allowed ("1:2:3,2:3:1" = partition 0 on 1,2,3 and partition 1
 * on 2,3,1). Each partition is checked with st_assign_check_replicas, and all must have
 * partition 0's replica count ("Partition 1 has different replication factor: 2 replicas where
 * partition 0 has 3."). A token that is not a non-negative int32 is reported with its text,
 * character position and partition. Unlike Java's split, an empty partition (a trailing ',')
 * is an error. On success *ret_replicas is a malloc'd n_partitions * rf array (row p =
 * partition p). Returns ST_ERR_NONE, ST_ERR_INVALID_REPLICA_ASSIGNMENT, ST_ERR_INVALID_REQUEST
 * (NULL arguments, unsorted known) or ST_ERR_UNKNOWN_SERVER_ERROR (out of memory). */
int st_assign_parse(const char *spec, const st_assign_idset_t *known, int32_t **ret_replicas,
                    int32_t *ret_n_partitions, int32_t *ret_rf, char *msg, size_t msg_len);

/* ---- Leader election --------------------------------------------------------------------- */

/* One partition's current state, as read from its ZooKeeper znodes. */
typedef struct st_assign_partition {
    const int32_t *replicas;   /* assignment, preferred replica first */
    size_t n_replicas;
    const int32_t *isr;
    size_t n_isr;
    int32_t leader;            /* current leader or ST_ASSIGN_NO_LEADER */
} st_assign_partition_t;

typedef struct st_assign_cluster {
    st_assign_idset_t live;            /* registered brokers, including those shutting down */
    st_assign_idset_t shutting_down;   /* live brokers in controlled shutdown */
} st_assign_cluster_t;

/* The new leader-and-ISR state an election proposes (invariants E1-E3 above). */
typedef struct st_assign_election {
    int32_t leader;    /* ST_ASSIGN_NO_LEADER: none could be elected (E1) */
    bool unclean;      /* leader taken from outside the ISR (unclean election) */
    int32_t *isr;      /* the caller's isr_buf */
    size_t isr_len;
} st_assign_election_t;

/* The elections below fill *ret and return 0 whether or not a leader was found; check
 * ret->leader. isr_buf receives the new ISR and needs isr_cap >= max(n_isr, 1) (-ENOSPC
 * otherwise). -EINVAL: NULL arguments, or an idset that is not sorted and duplicate-free. */

/* OfflinePartitionLeaderElection: the first replica, in assignment order, that is online and
 * in the ISR; new ISR = the old ISR's online members. If there is none and unclean_allowed,
 * the first online replica, with ISR [leader] and ret->unclean set. */
int st_assign_elect_offline(const st_assign_partition_t *part, const st_assign_cluster_t *cluster,
                            bool unclean_allowed, int32_t *isr_buf, size_t isr_cap,
                            st_assign_election_t *ret);

/* PreferredReplicaPartitionLeaderElection: replicas[0] if it is online and in the ISR; ISR
 * unchanged. Otherwise no leader (the current one stays). */
int st_assign_elect_preferred(const st_assign_partition_t *part, const st_assign_cluster_t *cluster,
                              int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret);

/* ControlledShutdownPartitionLeaderElection: the first replica that is live, in the ISR and
 * not shutting down; new ISR = the old ISR without the shutting-down brokers. */
int st_assign_elect_controlled_shutdown(const st_assign_partition_t *part,
                                        const st_assign_cluster_t *cluster, int32_t *isr_buf,
                                        size_t isr_cap, st_assign_election_t *ret);

/* ReassignPartitionLeaderElection: the first replica of the reassignment's target list that
 * is online and in the (current) ISR; ISR unchanged. */
int st_assign_elect_reassign(const st_assign_partition_t *part, const int32_t *target,
                             size_t n_target, const st_assign_cluster_t *cluster,
                             int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret);

/* NewPartition -> OnlinePartition (PartitionStateMachine.initializeLeaderAndIsrForPartitions):
 * leader = the first online replica, ISR = all online replicas in assignment order. Ignores
 * part->isr; isr_cap must be >= max(n_replicas, 1). No online replica: no leader, isr_len 0. */
int st_assign_elect_new(const st_assign_partition_t *part, const st_assign_cluster_t *cluster,
                        int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret);

/* Removes a replica that went offline from the ISR, never below one member (KAFKA-5083): if
 * the replica is not in the ISR the state is returned unchanged; otherwise the leader becomes
 * ST_ASSIGN_NO_LEADER if it was that replica, and the ISR loses it unless it is the ISR's only
 * member (then the ISR is kept, so the last in-sync replica stays known for a clean election).
 * isr_cap >= max(n_isr, 1). */
int st_assign_remove_from_isr(const st_assign_partition_t *part, int32_t replica,
                              int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret);

/* ---- Auto leader rebalance --------------------------------------------------------------- */

/* Leader imbalance of one preferred broker. */
typedef struct st_assign_imbalance {
    int32_t broker;        /* preferred replica (replicas[0]) of the partitions counted */
    size_t n_preferred;    /* partitions whose preferred replica is broker */
    size_t n_not_led;      /* of those, partitions whose leader is not broker (NO_LEADER too) */
} st_assign_imbalance_t;

/* Groups partitions by preferred replica (partitions without replicas are skipped) and counts
 * them. The caller leaves out partitions without a leader-and-ISR state and topics queued for
 * deletion, as Kafka does. *ret is malloc'd, sorted by broker, NULL when *ret_len is 0.
 * Returns 0, -EINVAL or -ENOMEM. */
int st_assign_leader_imbalance(const st_assign_partition_t *parts, size_t n_parts,
                               st_assign_imbalance_t **ret, size_t *ret_len);

/* Kafka's trigger: n_not_led / n_preferred > imbalance_pct / 100
 * (leader.imbalance.per.broker.percentage), computed exactly in integers: 1 of 10 at 10% does
 * not trigger, 2 of 10 does. */
bool st_assign_imbalance_exceeds(const st_assign_imbalance_t *imb, int32_t imbalance_pct);

/* The partitions an auto rebalance elects: for each preferred broker whose imbalance exceeds
 * imbalance_pct, its partitions not led by it whose preferred replica is online and in the ISR
 * (canPreferredReplicaBeLeader). *ret_idx receives indices into parts, ascending (malloc'd,
 * NULL when *ret_len is 0). Returns 0, -EINVAL or -ENOMEM. */
int st_assign_rebalance_candidates(const st_assign_partition_t *parts, size_t n_parts,
                                   int32_t imbalance_pct, const st_assign_cluster_t *cluster,
                                   size_t **ret_idx, size_t *ret_len);

#endif
