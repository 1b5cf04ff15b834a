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

#include <jansson.h>

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

/* Reads {"partitions":[{"topic":T,"partition":P},...]}; exits 1 naming the file and the entry
 * on anything malformed, and on duplicates (Kafka's message). */
static strand_topic_partition_t *read_json_file(const char *path, size_t *ret_n)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        tool_die("cannot read %s: %s (line %d, column %d)", path, jerr.text, jerr.line,
                 jerr.column);
    json_t *arr = json_object_get(root, "partitions");
    if (!json_is_array(arr))
        tool_die("%s: expected an object with a \"partitions\" array", path);
    size_t n = json_array_size(arr);
    strand_topic_partition_t *tps = calloc(n ? n : 1, sizeof(*tps));
    if (!tps)
        tool_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        json_t *t = json_object_get(e, "topic"), *p = json_object_get(e, "partition");
        if (!json_is_string(t) || !json_is_integer(p) || json_integer_value(p) < 0 ||
            json_integer_value(p) > INT32_MAX)
            tool_die("%s: partitions[%zu] needs a \"topic\" string and a non-negative "
                     "\"partition\" integer", path, i);
        tps[i].topic = strdup(json_string_value(t));
        tps[i].partition = (int32_t)json_integer_value(p);
        if (!tps[i].topic)
            tool_die("out of memory");
    }
    json_decref(root);
    /* Duplicates, as Kafka reports them. */
    char dups[2048] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (tps[i].partition == tps[j].partition && strcmp(tps[i].topic, tps[j].topic) == 0) {
                int w = snprintf(dups + used, sizeof(dups) - used, "%s%s-%d", used ? "," : "",
                                 tps[i].topic, tps[i].partition);
                if (w > 0 && (size_t)w < sizeof(dups) - used)
                    used += (size_t)w;
                break;
            }
        }
    }
    if (used)
        tool_die("Replica election data contains duplicate partitions: %s", dups);
    *ret_n = n;
    return tps;
}

/* Prints "<prefix>foo-0, foo-1" for the results whose error satisfies want(). */
static size_t print_group(const strand_election_result_t *res, size_t n, const char *prefix,
                          int code)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (res[i].error != code)
            continue;
        printf("%s%s-%d", k ? ", " : prefix, res[i].topic, res[i].partition);
        k++;
    }
    if (k)
        printf("\n");
    return k;
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Elects leaders for the given topic partitions (preferred or unclean).");
    tool_parse(opts, argc, argv);

    bool have_bootstrap = tool_opt(opts, "--bootstrap-server")->given;
    bool have_type = tool_opt(opts, "--election-type")->given;
    if (!have_bootstrap || !have_type) {
        tool_die("Missing required option(s): %s%s%s", !have_type ? "election-type" : "",
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
        tool_die("--election-type: '%s' is not one of preferred, unclean", type_s);
    }

    bool by_topic = tool_opt(opts, "--topic")->given;
    bool all = tool_opt(opts, "--all-topic-partitions")->given;
    bool by_file = tool_opt(opts, "--path-to-json-file")->given;
    if ((int)by_topic + (int)all + (int)by_file != 1)
        tool_die("One and only one of the following options is required: topic, "
                 "all-topic-partitions, path-to-json-file");
    if (by_topic && !tool_opt(opts, "--partition")->given)
        tool_die("Missing required option(s): partition");
    if (!by_topic && tool_opt(opts, "--partition")->given)
        tool_die("Option partition is only allowed if topic is used");

    strand_topic_partition_t one = { 0 };
    strand_topic_partition_t *tps = NULL;
    size_t n_tps = 0;
    if (by_topic) {
        one.topic = tool_opt(opts, "--topic")->value;
        one.partition = (int32_t)tool_int("--partition", tool_opt(opts, "--partition")->value, 0,
                                          INT32_MAX);
        tps = &one;
        n_tps = 1;
    } else if (by_file) {
        tps = read_json_file(tool_opt(opts, "--path-to-json-file")->value, &n_tps);
        if (n_tps == 0)
            tool_die("%s: the \"partitions\" array is empty",
                     tool_opt(opts, "--path-to-json-file")->value);
    }

    strand_conf_t *conf = tool_conf(tool_opt(opts, "--bootstrap-server")->value,
                                    tool_opt(opts, "--admin.config")->value, NULL, NULL, 0);
    char err[1024];
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    if (!admin)
        tool_die("%s", err);
    strand_conf_destroy(conf);

    strand_election_result_t *res = NULL;
    size_t n_res = 0;
    int e = strand_admin_elect_leaders(admin, type, tps, n_tps, 30000, &res, &n_res, err,
                                       sizeof(err));
    strand_admin_destroy(admin);
    if (by_file) {
        for (size_t i = 0; i < n_tps; i++)
            free((char *)tps[i].topic);
        free(tps);
    }
    if (e == ST_ERR_TIMED_OUT)
        tool_die("Timeout waiting for election results");
    if (e == ST_ERR_CLUSTER_AUTHORIZATION_FAILED)
        tool_die("Not authorized to perform leader election");
    if (e)
        tool_die("Error while making request: %s", err);

    char prefix[128];
    snprintf(prefix, sizeof(prefix), "Successfully completed leader election (%s) for partitions ",
             type_name);
    print_group(res, n_res, prefix, ST_ERR_NONE);
    print_group(res, n_res, "Valid replica already elected for partitions ",
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
