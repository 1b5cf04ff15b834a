/* strand_example: the smallest complete use of libstrand. Creates a topic, produces a few
 * keyed records with a header, waits for their delivery reports, then reads them back.
 *
 *   strand_example [bootstrap.servers] [topic]      (defaults: localhost:9092, strand-example)
 *
 * Build against an installed library with: cc strand_example.c $(pkg-config --cflags --libs strand) */
#include <stdio.h>
#include <string.h>

#include "strand.h"

static void on_delivery(const strand_delivery_report_t *rep, void *opaque)
{
    int *failed = opaque;   /* runs on the producer's I/O thread */
    if (rep->error) {
        fprintf(stderr, "delivery failed: %s\n", rep->errstr);
        (*failed)++;
    } else {
        printf("delivered %s to %s-%d at offset %lld\n", (const char *)rep->msg_opaque, rep->topic,
               rep->partition, (long long)rep->offset);
    }
}

int main(int argc, char **argv)
{
    const char *servers = argc > 1 ? argv[1] : "localhost:9092";
    const char *topic = argc > 2 ? argv[2] : "strand-example";
    char err[512];
    int failed = 0;

    strand_conf_t *conf = strand_conf_new();
    if (strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)) ||
        strand_conf_set(conf, "linger.ms", "10", err, sizeof(err)) ||
        strand_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err))) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    strand_conf_set_delivery_cb(conf, on_delivery, &failed);

    /* 1. Make sure the topic exists. */
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    if (!admin) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    strand_new_topic_t nt = { .name = topic, .num_partitions = 1, .replication_factor = 1 };
    int rc = strand_admin_create_topic(admin, &nt, 10000, err, sizeof(err));
    if (rc && rc != ST_ERR_TOPIC_ALREADY_EXISTS) {
        fprintf(stderr, "create topic: %s\n", err);
        return 1;
    }
    strand_admin_destroy(admin);

    /* 2. Produce three records and wait for their delivery reports. */
    strand_producer_t *producer = strand_producer_new(conf, err, sizeof(err));
    if (!producer) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    static const char *values[] = { "first", "second", "third" };
    strand_header_t hdr = { "source", 6, "example", 7 };
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof(key), "key-%d", i);
        rc = strand_produce(producer, topic, STRAND_PARTITION_ANY, key, strlen(key), values[i],
                            strlen(values[i]), &hdr, 1, 0, (void *)values[i]);
        if (rc)
            fprintf(stderr, "produce: %s\n", strand_err_desc(rc));
    }
    if (strand_producer_flush(producer, 10000) != 0)
        fprintf(stderr, "flush timed out\n");
    strand_producer_destroy(producer);

    /* 3. Read partition 0 from the beginning until the three records are back. */
    strand_consumer_t *consumer = strand_consumer_new(conf, err, sizeof(err));
    if (!consumer) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    strand_topic_partition_t tp = { .topic = topic, .partition = 0, .offset = STRAND_OFFSET_BEGINNING };
    strand_consumer_assign(consumer, &tp, 1);
    int seen = 0;
    for (int polls = 0; polls < 50 && seen < 3; polls++) {
        const strand_message_t *msgs;
        size_t n;
        strand_consumer_poll(consumer, 200, &msgs, &n);
        for (size_t i = 0; i < n; i++) {
            const strand_message_t *m = &msgs[i];
            if (m->error) {
                fprintf(stderr, "consume: %s\n", m->errstr);
                continue;
            }
            printf("offset %lld key %.*s value %.*s\n", (long long)m->offset, (int)m->key_len,
                   (const char *)m->key, (int)m->value_len, (const char *)m->value);
            seen++;
        }
    }
    strand_consumer_destroy(consumer);
    strand_conf_destroy(conf);
    return failed || seen < 3;
}
