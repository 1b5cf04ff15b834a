/* strand-preferred-replica-election: moves each partition's leadership back to its preferred
 * (first listed) replica, as Kafka's kafka-preferred-replica-election.sh does.
 *
 *   --zookeeper H:P[/chroot]  writes /admin/preferred_replica_election and returns; the
 *                             controller runs the election and deletes the znode. Prints
 *                             "Created preferred replica election path with t-0,t-1" and
 *                             "Successfully started preferred replica election for partitions
 *                             Set(t-0, t-1)" (Kafka's wording, Scala set and all).
 *   --bootstrap-server H:P    asks the controller through ElectLeaders and waits for the result
 *                             ("Successfully completed preferred leader election for partitions
 *                             t-0, t-1", "Preferred replica already elected for partitions ...").
 *
 * Without --path-to-json-file every partition of the cluster is elected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"
#include "tool_zk.h"

static tool_opt_t opts[] = {
    { "--zookeeper", TOOL_VALUE, "<String: urls>",
      "The connection string for the ZooKeeper connection in the form host:port. Multiple URLS "
      "can be given to allow fail-over.", false, NULL, NULL, 0 },
    { "--bootstrap-server", TOOL_VALUE, "<String: host:port>",
      "A hostname and port for the broker to connect to, in the form host:port. Multiple comma "
      "separated URLs can be given.", false, NULL, NULL, 0 },
    { "--admin.config", TOOL_VALUE, "<String: config file>",
      "Admin client config properties file (with --bootstrap-server).", false, NULL, NULL, 0 },
    { "--path-to-json-file", TOOL_VALUE, "<String: list of partitions for which preferred "
      "replica leader election needs to be triggered>",
      "The JSON file with the list of partitions for which preferred replica leader election "
      "should be done, in the following format - {\"partitions\": [{\"topic\": \"foo\", "
      "\"partition\": 1}, {\"topic\": \"foobar\", \"partition\": 2}]}. Defaults to all existing "
      "partitions", false, NULL, NULL, 0 },
    TOOL_OPT_END
};

/* Drops (with Kafka's message) the partitions that do not exist. */
static void keep_existing(st_zk_t *zk, st_tp_list_t *tps)
{
    st_tp_list_t all = { NULL, 0 };
    tool_zk_all_partitions(zk, &all);
    size_t k = 0;
    for (size_t i = 0; i < tps->n; i++) {
        bool found = false;
        for (size_t j = 0; j < all.n && !found; j++)
            found = all.v[j].partition == tps->v[i].partition &&
                    strcmp(all.v[j].topic, tps->v[i].topic) == 0;
        if (found) {
            tps->v[k++] = tps->v[i];
        } else {
            printf("Skipping preferred replica leader election for partition %s-%d since it "
                   "doesn't exist.\n", tps->v[i].topic, tps->v[i].partition);
            free(tps->v[i].topic);
        }
    }
    tps->n = k;
    st_tp_list_free(&all);
}

static int run_zookeeper(const char *connect, const char *json_path)
{
    st_zk_t *zk = tool_zk_open(connect);
    st_tp_list_t tps = { NULL, 0 };
    if (json_path) {
        tool_read_partitions_json(json_path, "Preferred replica election data", &tps);
        keep_existing(zk, &tps);
    } else {
        tool_zk_all_partitions(zk, &tps);
    }
    char msg[8192];
    int code = st_topic_admin_preferred_election(zk, &tps, msg, sizeof(msg));
    st_zk_close(zk);
    if (code != ST_ERR_NONE) {
        st_tp_list_free(&tps);
        tool_die("%s", msg);
    }
    printf("Created preferred replica election path with ");
    for (size_t i = 0; i < tps.n; i++)
        printf("%s%s-%d", i ? "," : "", tps.v[i].topic, tps.v[i].partition);
    printf("\nSuccessfully started preferred replica election for partitions Set(");
    for (size_t i = 0; i < tps.n; i++)
        printf("%s%s-%d", i ? ", " : "", tps.v[i].topic, tps.v[i].partition);
    printf(")\n");
    st_tp_list_free(&tps);
    return 0;
}

static int run_bootstrap(const char *bootstrap, const char *config, const char *json_path)
{
    st_tp_list_t tps = { NULL, 0 };
    if (json_path)
        tool_read_partitions_json(json_path, "Preferred replica election data", &tps);
    strand_topic_partition_t *req = tool_tp_array(&tps);
    strand_conf_t *conf = tool_conf(bootstrap, config, NULL, NULL, 0);
    char err[1024];
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    if (!admin)
        tool_die("%s", err);
    strand_conf_destroy(conf);
    strand_election_result_t *res = NULL;
    size_t n = 0;
    int e = strand_admin_elect_leaders(admin, STRAND_ELECTION_PREFERRED, req, tps.n, 30000, &res,
                                       &n, err, sizeof(err));
    strand_admin_destroy(admin);
    free(req);
    st_tp_list_free(&tps);
    if (e)
        tool_die("Error while making request: %s", err);
    tool_print_elected(res, n, "Successfully completed preferred leader election for partitions ",
                       ST_ERR_NONE);
    tool_print_elected(res, n, "Preferred replica already elected for partitions ",
                       ST_ERR_ELECTION_NOT_NEEDED);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (res[i].error == ST_ERR_NONE || res[i].error == ST_ERR_ELECTION_NOT_NEEDED)
            continue;
        printf("Error completing preferred leader election for partition: %s-%d: %s: %s\n",
               res[i].topic, res[i].partition, strand_err_name(res[i].error),
               res[i].message[0] ? res[i].message : strand_err_desc(res[i].error));
        failed++;
    }
    strand_election_results_free(res, n);
    if (failed) {
        fflush(stdout);
        tool_die("%zu preferred replica(s) could not be elected", failed);
    }
    return 0;
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Moves the leadership of partitions back to their preferred replicas.");
    tool_parse(opts, argc, argv);
    const char *zk = tool_opt(opts, "--zookeeper")->value;
    const char *bootstrap = tool_opt(opts, "--bootstrap-server")->value;
    if ((zk != NULL) == (bootstrap != NULL))
        tool_usage_die("Exactly one of '--bootstrap-server' or '--zookeeper' must be provided");
    if (zk && tool_opt(opts, "--admin.config")->given)
        tool_usage_die("--admin.config goes with --bootstrap-server");
    const char *json_path = tool_opt(opts, "--path-to-json-file")->value;
    return zk ? run_zookeeper(zk, json_path)
              : run_bootstrap(bootstrap, tool_opt(opts, "--admin.config")->value, json_path);
}
