/* strand-leader-election: runs a preferred or unclean leader election through the controller's
 * ElectLeaders API, with the flags, output lines and exit status of Kafka's
 * kafka-leader-election.sh (KIP-460):
 *
 *   Successfully completed leader election (PREFERRED) for partitions foo-0, foo-1
 *   Valid replica already elected for partitions foo-2
 *   Error completing leader election (PREFERRED) for partition: foo-3: <error>: <message>
 *
 * and exit status 1 with "N replica(s) could not be elected" when any partition failed. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: host:port>",
      "REQUIRED: A hostname and port for the broker to connect to, in the form host:port. "
      "Multiple comma separated URLs can be given.", false, NULL, NULL, 0 },
    { "--admin.config", TOOL_VALUE, "<String: config file>",
      "Configuration properties files to pass to the admin client.", false, NULL, NULL, 0 },
    { "--election-type", TOOL_VALUE, "<[PREFERRED,UNCLEAN]: election type>",
      "REQUIRED: Type of election to attempt. Possible values are \"preferred\" for preferred "
      "leader election or \"unclean\" for unclean leader election.", false, NULL, NULL, 0 },
    { "--topic", TOOL_VALUE, "<String: topic name>",
      "Name of topic for which to perform an election. REQUIRED if --partition is specified.",
      false, NULL, NULL, 0 },
    { "--partition", TOOL_VALUE, "<Integer: partition id>",
      "Partition id for which to perform an election. REQUIRED if --topic is specified.",
      false, NULL, NULL, 0 },
    { "--all-topic-partitions", TOOL_FLAG, NULL,
      "Perform election on all of the eligible topic partitions.", false, NULL, NULL, 0 },
    { "--path-to-json-file", TOOL_VALUE, "<String: Path to JSON file>",
      "The JSON file with the list of partition for which leader elections should be performed. "
      "Format: {\"partitions\": [{\"topic\": \"foo\", \"partition\": 1}, ...]}",
      false, NULL, NULL, 0 },
    TOOL_OPT_END
};

int main(int argc, char **argv)
{
    tool_init(argv[0], "Elects leaders for the given topic partitions (preferred or unclean).");
    tool_parse(opts, argc, argv);

    bool have_bootstrap = tool_opt(opts, "--bootstrap-server")->given;
    bool have_type = tool_opt(opts, "--election-type")->given;
    if (!have_bootstrap || !have_type) {
        tool_usage_die("Missing required option(s): %s%s%s", !have_type ? "election-type" : "",
                       !have_type && !have_bootstrap ? ", " : "",
                       !have_bootstrap ? "bootstrap-server" : "");
    }
    const char *type_s = tool_opt(opts, "--election-type")->value;
    strand_election_type_t type;
    const char *type_name;
    if (strcasecmp(type_s, "preferred") == 0) {
        type = STRAND_ELECTION_PREFERRED;
        type_name = "PREFERRED";
    } else if (strcasecmp(type_s, "unclean") == 0) {
        type = STRAND_ELECTION_UNCLEAN;
        type_name = "UNCLEAN";
    } else {
        tool_usage_die("--election-type: '%s' is not one of preferred, unclean", type_s);
    }

    bool by_topic = tool_opt(opts, "--topic")->given;
    bool all = tool_opt(opts, "--all-topic-partitions")->given;
    bool by_file = tool_opt(opts, "--path-to-json-file")->given;
    if ((int)by_topic + (int)all + (int)by_file != 1)
        tool_usage_die("One and only one of the following options is required: topic, "
                       "all-topic-partitions, path-to-json-file");
    if (by_topic && !tool_opt(opts, "--partition")->given)
        tool_usage_die("Missing required option(s): partition");
    if (!by_topic && tool_opt(opts, "--partition")->given)
        tool_usage_die("Option partition is only allowed if topic is used");

    st_tp_t one = { 0 };
    st_tp_list_t file = { NULL, 0 };
    st_tp_list_t chosen = { NULL, 0 };           /* empty: every partition */
    if (by_topic) {
        one.topic = (char *)tool_opt(opts, "--topic")->value;
        one.partition = (int32_t)tool_int("--partition", tool_opt(opts, "--partition")->value, 0,
                                          INT32_MAX);
        chosen = (st_tp_list_t){ &one, 1 };
    } else if (by_file) {
        tool_read_partitions_json(tool_opt(opts, "--path-to-json-file")->value,
                                  "Replica election data", &file);
        if (file.n == 0)
            tool_die("%s: the \"partitions\" array is empty",
                     tool_opt(opts, "--path-to-json-file")->value);
        chosen = file;
    }
    strand_topic_partition_t *tps = tool_tp_array(&chosen);

    strand_conf_t *conf = tool_conf(tool_opt(opts, "--bootstrap-server")->value,
                                    tool_opt(opts, "--admin.config")->value, NULL, NULL, 0);
    char err[1024];
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    if (!admin)
        tool_die("%s", err);
    strand_conf_destroy(conf);

    strand_election_result_t *res = NULL;
    size_t n_res = 0;
    int e = strand_admin_elect_leaders(admin, type, tps, chosen.n, 30000, &res, &n_res, err,
                                       sizeof(err));
    strand_admin_destroy(admin);
    free(tps);
    st_tp_list_free(&file);
    if (e == ST_ERR_TIMED_OUT)
        tool_die("Timeout waiting for election results");
    if (e == ST_ERR_CLUSTER_AUTHORIZATION_FAILED)
        tool_die("Not authorized to perform leader election");
    if (e)
        tool_die("Error while making request: %s", err);

    char prefix[128];
    snprintf(prefix, sizeof(prefix), "Successfully completed leader election (%s) for partitions ",
             type_name);
    tool_print_elected(res, n_res, prefix, ST_ERR_NONE);
    tool_print_elected(res, n_res, "Valid replica already elected for partitions ",
                       ST_ERR_ELECTION_NOT_NEEDED);
    size_t failed = 0;
    for (size_t i = 0; i < n_res; i++) {
        if (res[i].error == ST_ERR_NONE || res[i].error == ST_ERR_ELECTION_NOT_NEEDED)
            continue;
        printf("Error completing leader election (%s) for partition: %s-%d: %s: %s\n", type_name,
               res[i].topic, res[i].partition, strand_err_name(res[i].error),
               res[i].message[0] ? res[i].message : strand_err_desc(res[i].error));
        failed++;
    }
    strand_election_results_free(res, n_res);
    if (failed) {
        fflush(stdout);
        tool_die("%zu replica(s) could not be elected", failed);
    }
    return 0;
}
