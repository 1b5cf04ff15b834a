/* strand-producer-perf-test: producer throughput and latency, with the flags and output of
 * Kafka's kafka-producer-perf-test.sh: a progress line every 5 s and a summary with latency
 * percentiles. Each record's send time travels as its delivery opaque, so no per-record state
 * is kept besides a sample of latencies (at most 500,000, as Kafka does). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool_common.h"

static tool_opt_t opts[] = {
    { "--topic", TOOL_VALUE, "TOPIC", "REQUIRED: produce messages to this topic.", false, NULL, NULL, 0 },
    { "--num-records", TOOL_VALUE, "NUM-RECORDS", "REQUIRED: number of messages to produce.",
      false, NULL, NULL, 0 },
    { "--record-size", TOOL_VALUE, "RECORD-SIZE", "message size in bytes (or --payload-file).",
      false, NULL, NULL, 0 },
    { "--payload-file", TOOL_VALUE, "PAYLOAD-FILE",
      "file of newline-delimited payloads picked at random (instead of --record-size).", false, NULL, NULL, 0 },
    { "--throughput", TOOL_VALUE, "THROUGHPUT",
      "REQUIRED: throttle to about THROUGHPUT messages/sec; -1 for no throttling.", false, NULL, NULL, 0 },
    { "--producer-props", TOOL_PLUS, "PROP-NAME=PROP-VALUE [PROP-NAME=PROP-VALUE ...]",
      "producer configs such as bootstrap.servers, acks, linger.ms.", false, NULL, NULL, 0 },
    { "--producer.config", TOOL_VALUE, "CONFIG-FILE", "producer config properties file.",
      false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: config file>",
      "Client config properties file (security.protocol, ssl.*, ...); same as --producer.config.",
      false, NULL, NULL, 0 },
    { "--bootstrap-server", TOOL_VALUE, "HOST:PORT", "shorthand for bootstrap.servers.",
      false, NULL, NULL, 0 },
    TOOL_OPT_END
};

#define REPORT_MS 5000
#define MAX_SAMPLES 500000

/* Written only by delivery callbacks, which all run on the producer's one I/O thread; main
 * sets start times before the first record is queued and reads the totals after
 * strand_producer_destroy() joined that thread. So no lock is needed. */
static struct stats {
    int64_t start_ms;
    int64_t count, bytes, errors;
    int64_t total_lat_us, max_lat_us;
    int64_t window_start_ms, window_count, window_bytes, window_total_lat_us, window_max_lat_us;
    int32_t *samples;
    int64_t n_samples, sampling;
    int64_t seen;
    int record_size;
} st;

static void print_window(int64_t now)
{
    double elapsed = (double)(now - st.window_start_ms);
    if (elapsed <= 0)
        elapsed = 1;
    printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
           (long long)st.window_count, 1000.0 * (double)st.window_count / elapsed,
           1000.0 * (double)st.window_bytes / elapsed / (1024.0 * 1024.0),
           st.window_count ? (double)st.window_total_lat_us / 1000.0 / (double)st.window_count : 0.0,
           (double)st.window_max_lat_us / 1000.0);
    fflush(stdout);
    st.window_start_ms = now;
    st.window_count = st.window_bytes = st.window_total_lat_us = st.window_max_lat_us = 0;
}

static void on_delivery(const strand_delivery_report_t *rep, void *opaque)
{
    (void)opaque;
    int64_t now_us = tool_now_us();
    int64_t lat = now_us - (int64_t)(intptr_t)rep->msg_opaque;
    if (rep->error) {
        if (st.errors++ < 5)
            tool_warn("record failed: %s", rep->errstr);
        return;
    }
    if (st.seen++ % st.sampling == 0 && st.n_samples < MAX_SAMPLES)
        st.samples[st.n_samples++] = (int32_t)(lat / 1000);
    st.count++;
    st.bytes += st.record_size;
    st.total_lat_us += lat;
    if (lat > st.max_lat_us)
        st.max_lat_us = lat;
    st.window_count++;
    st.window_bytes += st.record_size;
    st.window_total_lat_us += lat;
    if (lat > st.window_max_lat_us)
        st.window_max_lat_us = lat;
    int64_t now = now_us / 1000;
    if (now - st.window_start_ms >= REPORT_MS)
        print_window(now);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int32_t percentile(double p)
{
    if (!st.n_samples)
        return 0;
    int64_t idx = (int64_t)(p * (double)st.n_samples);
    if (idx >= st.n_samples)
        idx = st.n_samples - 1;
    return st.samples[idx];
}

static void sleep_us(int64_t us)
{
    struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "This tool is used to verify the producer performance.");
    tool_parse(opts, argc, argv);
    const char *topic = tool_require(opts, "--topic");
    int64_t num = tool_int("--num-records", tool_require(opts, "--num-records"), 0, INT64_MAX);
    int64_t throughput = tool_int("--throughput", tool_require(opts, "--throughput"), -1, INT64_MAX);
    if (tool_opt(opts, "--record-size")->given == tool_opt(opts, "--payload-file")->given)
        tool_usage_die("exactly one of --record-size or --payload-file must be given");
    char **payloads = NULL;
    size_t n_payloads = 0;
    int record_size = 0;
    if (tool_opt(opts, "--record-size")->given) {
        record_size = (int)tool_int("--record-size", tool_opt(opts, "--record-size")->value, 0, 100 << 20);
    } else {
        const char *path = tool_opt(opts, "--payload-file")->value;
        FILE *f = fopen(path, "r");
        if (!f)
            tool_die("--payload-file %s: cannot open", path);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, f)) >= 0) {
            if (len && line[len - 1] == '\n')
                line[--len] = '\0';
            payloads = realloc(payloads, (n_payloads + 1) * sizeof(*payloads));
            if (!payloads || !(payloads[n_payloads++] = strdup(line)))
                tool_die("out of memory");
        }
        free(line);
        fclose(f);
        if (!n_payloads)
            tool_die("--payload-file %s: no payloads", path);
    }
    if (!tool_opt(opts, "--producer-props")->given && !tool_config_file(opts, "--producer.config") &&
        !tool_opt(opts, "--bootstrap-server")->given)
        tool_usage_die("either --producer-props or --producer.config must be specified");
    tool_opt_t *pp = tool_opt(opts, "--producer-props");
    strand_conf_t *conf = tool_conf(NULL, tool_config_file(opts, "--producer.config"),
                                    "--producer-props", pp->values, pp->n_values);
    if (tool_opt(opts, "--bootstrap-server")->given)
        tool_conf_set(conf, "bootstrap.servers", tool_opt(opts, "--bootstrap-server")->value,
                      "--bootstrap-server");
    strand_conf_set_delivery_cb(conf, on_delivery, NULL);

    st.record_size = record_size;
    st.sampling = num / (num < MAX_SAMPLES ? (num ? num : 1) : MAX_SAMPLES);
    if (st.sampling < 1)
        st.sampling = 1;
    st.samples = calloc(MAX_SAMPLES, sizeof(*st.samples));
    char *payload = malloc((size_t)record_size + 1);
    if (!st.samples || !payload)
        tool_die("out of memory");
    srand((unsigned)time(NULL));
    for (int i = 0; i < record_size; i++)
        payload[i] = (char)('A' + rand() % 26);

    char err[1024];
    strand_producer_t *producer = strand_producer_new(conf, err, sizeof(err));
    if (!producer)
        tool_die("%s", err);
    strand_conf_destroy(conf);
    volatile int *stop = tool_stop_flag();
    int64_t start = tool_now_ms();
    st.start_ms = st.window_start_ms = start;
    int64_t start_us = tool_now_us();
    int64_t sent = 0;
    for (int64_t i = 0; i < num && !*stop; i++) {
        const char *value = payload;
        size_t len = (size_t)record_size;
        if (payloads) {
            value = payloads[(size_t)rand() % n_payloads];
            len = strlen(value);
        }
        int64_t now_us = tool_now_us();
        int e = strand_produce(producer, topic, STRAND_PARTITION_ANY, NULL, 0, value, len, NULL, 0,
                               0, (void *)(intptr_t)now_us);
        if (e)
            tool_die("cannot send to topic '%s': %s: %s", topic, strand_err_name(e), strand_last_errstr());
        sent++;
        if (throughput > 0) {
            /* Throttle: stay at or below `throughput` records per second. */
            int64_t due_us = start_us + (int64_t)((double)sent * 1e6 / (double)throughput);
            int64_t ahead = due_us - tool_now_us();
            if (ahead > 2000)
                sleep_us(ahead);
        }
    }
    strand_producer_flush(producer, -1);
    strand_producer_destroy(producer);
    int64_t elapsed = tool_now_ms() - start;
    if (elapsed <= 0)
        elapsed = 1;
    if (payloads) {
        st.bytes = 0;   /* approximate with the mean payload size */
        size_t total = 0;
        for (size_t i = 0; i < n_payloads; i++)
            total += strlen(payloads[i]);
        st.bytes = (int64_t)((double)st.count * (double)total / (double)n_payloads);
    }
    qsort(st.samples, (size_t)st.n_samples, sizeof(*st.samples), cmp_i32);
    printf("%lld records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
           "%d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
           (long long)st.count, 1000.0 * (double)st.count / (double)elapsed,
           1000.0 * (double)st.bytes / (double)elapsed / (1024.0 * 1024.0),
           st.count ? (double)st.total_lat_us / 1000.0 / (double)st.count : 0.0,
           (double)st.max_lat_us / 1000.0, percentile(0.5), percentile(0.95), percentile(0.99),
           percentile(0.999));
    int rc = st.errors ? 1 : 0;
    if (st.errors)
        tool_warn("%lld record(s) failed", (long long)st.errors);
    free(st.samples);
    free(payload);
    for (size_t i = 0; i < n_payloads; i++)
        free(payloads[i]);
    free(payloads);
    return rc;
}
