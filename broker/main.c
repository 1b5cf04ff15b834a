/* strand-broker entry point: command line, configuration, start-up in dependency order
 * (listeners bound, ZooKeeper membership, logs, registry, replica manager, topic admin,
 * maintenance, network threads), signal handling on the main thread's event loop, and the
 * clean shutdown (controlled shutdown first) that leaves the storage engine's clean-shutdown
 * marker. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "broker.h"
#include "broker_config.h"
#include "fencing.h"
#include "admin_worker.h"
#include "config_manager.h"
#include "coordinator.h"
#include "maintenance.h"
#include "membership.h"
#include "metadata_cache.h"
#include "net.h"
#include "partition.h"
#include "replica_manager.h"
#include "request.h"
#include "st_logger.h"
#include "st_version.h"

#define SHUTDOWN_GRACE_MS 2000

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: strand-broker <server.properties> [--override key=value]...\n"
            "       strand-broker --help-config | --version | --help\n"
            "\n"
            "Runs one Strand broker configured by a Kafka-style properties file; --override sets\n"
            "a key after the file is read. --help-config lists every key with its default and\n"
            "accepted values. SIGTERM or SIGINT shut the broker down cleanly.\n");
}

static void on_unknown_key(const char *path, int line, const char *key, void *arg)
{
    (void)arg;
    const char *near = st_cfg_suggest(st_broker_config_table, key);
    if (near)
        ST_WARN("%s:%d: unknown configuration key '%s' (ignored): did you mean '%s'?", path, line,
                key, near);
    else
        ST_WARN("%s:%d: unknown configuration key '%s' (ignored; see --help-config)", path, line,
                key);
}

/* The controlled shutdown runs on its own thread while the main loop keeps accepting
 * connections: the controller's requests (LeaderAndIsr making this broker a follower) and, when
 * this broker is the controller, its own ControlledShutdown request arrive on new connections,
 * which the main loop's acceptor hands out. When it is done the main loop is stopped. */
typedef struct shutdown_ctx {
    st_broker_t *b;
    struct event_base *base;
    bool started;                  /* main thread only */
    pthread_t thread;
    atomic_bool give_up;           /* a second signal: stop retrying */
} shutdown_ctx_t;

static void *controlled_shutdown_main(void *arg)
{
    shutdown_ctx_t *ctx = arg;
    st_membership_controlled_shutdown(ctx->b, &ctx->give_up);
    event_base_loopbreak(ctx->base);
    return NULL;
}

/* Main thread. A second signal during the controlled shutdown stops its retries; main joins the
 * thread before anything it uses is torn down. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    shutdown_ctx_t *ctx = arg;
    const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    if (ctx->started || !ctx->b->node || !ctx->b->cfg.controlled_shutdown_enable) {
        ST_INFO("Received %s: shutting down%s", name, ctx->started ? " now" : "");
        atomic_store(&ctx->give_up, true);
        event_base_loopbreak(ctx->base);
        return;
    }
    ST_INFO("Received %s: shutting down", name);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = pthread_create(&ctx->thread, NULL, controlled_shutdown_main, ctx);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        ST_WARN("Cannot start the controlled shutdown (%s): shutting down uncleanly", strerror(r));
        event_base_loopbreak(ctx->base);
        return;
    }
    ctx->started = true;
}

/* Main thread: the halt event (st_broker_request_shutdown) stops the loop at once. */
static void on_halt(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    shutdown_ctx_t *ctx = arg;
    atomic_store(&ctx->give_up, true);
    event_base_loopbreak(ctx->base);
}

void st_broker_request_shutdown(st_broker_t *b, int exit_code)
{
    int expected = 0;
    atomic_compare_exchange_strong(&b->halt_code, &expected, exit_code);
    if (b->halt_ev)
        event_active(b->halt_ev, EV_READ, 0);   /* thread-safe: evthread_use_pthreads */
}

/* Reads the file and the overrides into cfg, noting in given[] (one per table entry) the keys
 * they set. Returns 0, or 1 after logging the problem. */
static int load_config(st_broker_config_t *cfg, const char *path, char **overrides, int n_overrides,
                       bool *given)
{
    st_cfg_error_t err;
    memset(&err, 0, sizeof(err));
    st_broker_config_init(cfg);
    if (st_cfg_load_file_given(st_broker_config_table, cfg, path, on_unknown_key, NULL, &err,
                               given) < 0) {
        ST_ERROR("Invalid configuration: %s", err.msg);
        return 1;
    }
    for (int i = 0; i < n_overrides; i++) {
        int r = st_cfg_set_kv_given(st_broker_config_table, cfg, overrides[i], &err, given);
        if (r == -ENOENT) {
            ST_WARN("--override %s: %s; ignored (see --help-config)", overrides[i], err.msg);
        } else if (r < 0) {
            ST_ERROR("Invalid configuration: --override %s", err.msg);
            return 1;
        }
    }
    if (st_broker_config_finish(cfg, &err) < 0) {
        ST_ERROR("Invalid configuration: %s", err.msg);
        return 1;
    }
    return 0;
}

static void log_startup(const st_broker_config_t *cfg, const bool *given)
{
    char line[4096];
    size_t used = 0;
    ST_INFO("Starting strand-broker %s (broker.id=%" PRId32 ")", STRAND_VERSION, cfg->broker_id);
    line[0] = '\0';
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const st_listener_cfg_t *l = &cfg->listener_list[i], *a = &cfg->advertised_list[i];
        int n = snprintf(line + used, sizeof(line) - used, "%s%s://%s:%d (advertised %s:%d)",
                         i ? ", " : "", l->name, l->host, l->port, a->host, a->port);
        if (n > 0 && (size_t)n < sizeof(line) - used)
            used += (size_t)n;
    }
    ST_INFO("Listeners: %s", line);
    used = 0;
    line[0] = '\0';
    for (size_t i = 0; i < cfg->n_dirs; i++) {
        int n = snprintf(line + used, sizeof(line) - used, "%s%s", i ? ", " : "", cfg->dirs[i]);
        if (n > 0 && (size_t)n < sizeof(line) - used)
            used += (size_t)n;
    }
    ST_INFO("Log dirs: %s", line);
    /* what the file and --override set, nothing derived (num.network.threads from the cores,
     * advertised.listeners from listeners, ...): Kafka's "KafkaConfig values" would list all */
    st_cfg_describe_given(st_broker_config_table, cfg, given, line, sizeof(line));
    ST_INFO("Non-default configuration: %s", line[0] ? line : "(none)");
    ST_INFO("ZooKeeper: zookeeper.connect=%s (partitions are hosted as the controller's "
            "LeaderAndIsr requests say; inter-broker listener %s)", cfg->zookeeper_connect,
            cfg->listener_list[cfg->inter_broker_listener].name);
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (cfg->listener_list[i].protocol == ST_PROTO_SSL)
            ST_INFO("ssl.* keys apply to the SSL listener");
}

/* mkdir -p. 0 or -errno. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Takes an exclusive flock on <dir>/.lock of every log dir, as Kafka does, so that two brokers
 * never share a log dir. The descriptors stay open (and locked) until the process exits. */
static int lock_log_dirs(const st_broker_config_t *cfg, int *lock_fds)
{
    for (size_t i = 0; i < cfg->n_dirs; i++) {
        char path[4200];
        int r = make_dirs(cfg->dirs[i]);
        if (r < 0) {
            ST_ERROR("Cannot create log dir %s: %s", cfg->dirs[i], strerror(-r));
            return r;
        }
        snprintf(path, sizeof(path), "%s/.lock", cfg->dirs[i]);
        lock_fds[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fds[i] < 0) {
            r = -errno;
            ST_ERROR("Cannot open %s: %s", path, strerror(-r));
            return r;
        }
        if (flock(lock_fds[i], LOCK_EX | LOCK_NB) < 0) {
            r = -errno;
            if (r == -EWOULDBLOCK)
                ST_ERROR("Log dir %s is in use by another process (%s is locked): is another "
                         "broker running on it?", cfg->dirs[i], path);
            else
                ST_ERROR("Cannot lock %s: %s", path, strerror(-r));
            return r;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    char **overrides = calloc((size_t)argc, sizeof(char *));
    int n_overrides = 0;
    if (!overrides)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            free(overrides);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("strand-broker %s\n", STRAND_VERSION);
            free(overrides);
            return 0;
        } else if (strcmp(a, "--help-config") == 0) {
            st_cfg_print_help(st_broker_config_table, stdout);
            free(overrides);
            return 0;
        } else if (strcmp(a, "--override") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "strand-broker: --override needs key=value\n");
                free(overrides);
                return 1;
            }
            overrides[n_overrides++] = argv[++i];
        } else if (strncmp(a, "--override=", 11) == 0) {
            overrides[n_overrides++] = argv[i] + 11;
        } else if (a[0] == '-') {
            fprintf(stderr, "strand-broker: unknown option '%s'\n", a);
            usage(stderr);
            free(overrides);
            return 1;
        } else if (!config_path) {
            config_path = a;
        } else {
            fprintf(stderr, "strand-broker: unexpected argument '%s'\n", a);
            usage(stderr);
            free(overrides);
            return 1;
        }
    }
    if (!config_path) {
        usage(stderr);
        free(overrides);
        return 1;
    }

    static st_broker_t broker;
    st_broker_t *b = &broker;
    st_fencing_init(b);
    bool *given = calloc(st_cfg_count(st_broker_config_table) + 1, sizeof(bool));
    if (!given || load_config(&b->cfg, config_path, overrides, n_overrides, given) != 0) {
        st_broker_config_free(&b->cfg);
        free(overrides);
        free(given);
        return 1;
    }
    free(overrides);
    log_startup(&b->cfg, given);
    free(given);

    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() < 0) {
        ST_ERROR("libevent has no pthreads support");
        return 1;
    }

    int exit_code = 1;
    struct event_base *main_base = NULL;
    struct event *sigterm_ev = NULL, *sigint_ev = NULL;
    st_maintenance_t *maint = NULL;
    st_log_config_t log_defaults;
    st_broker_config_log_defaults(&b->cfg, &log_defaults);
    int *lock_fds = malloc(b->cfg.n_dirs * sizeof(int));
    for (size_t i = 0; lock_fds && i < b->cfg.n_dirs; i++)
        lock_fds[i] = -1;
    int r = lock_fds ? lock_log_dirs(&b->cfg, lock_fds) : -ENOMEM;
    if (r < 0)
        goto out;
    /* Listeners are bound first (not yet accepting), so that registration can advertise the
     * ports actually bound; the metadata cache learns the cluster id from registration and is
     * filled by the controller's UpdateMetadata (no brokers, controller -1 until then, as in
     * Kafka: clients retry meanwhile). */
    r = st_metadata_cache_new("", &b->meta);
    main_base = r == 0 ? event_base_new() : NULL;
    if (!main_base) {
        ST_ERROR("Out of memory at start-up");
        goto out;
    }
    r = st_net_create(b, main_base, &b->net);
    if (r < 0)
        goto out;   /* logged, naming the listener */
    if (st_membership_start(b) < 0)
        goto out;   /* logged: ensemble unreachable, id taken, wrong cluster */
    r = st_log_manager_open((const char *const *)b->cfg.dirs, b->cfg.n_dirs, b->cfg.broker_id,
                                &log_defaults, &b->mgr);
    if (r < 0) {
        ST_ERROR("Exiting: a log dir cannot be opened (%s; the lines above name it)",
                 strerror(-r));
        goto out;
    }
    r = st_registry_open(&b->cfg, b->mgr, b->cfg.num_network_threads, &b->reg);
    if (r < 0) {
        ST_ERROR("Cannot create the partition registry: %s", strerror(-r));
        goto out;
    }
    st_membership_check_stray_logs(b);
    st_registry_set_wake(b->reg, st_net_wake_loop, b->net);
    /* the dynamic broker config sets the topic defaults before any partition is hosted */
    st_config_manager_t *configs = NULL;
    if ((r = st_config_manager_start(b, &configs)) < 0) {
        ST_ERROR("Cannot start the dynamic config thread: %s", strerror(-r));
        goto out;
    }
    r = st_replica_manager_start(b, &b->rm);
    if (r < 0) {
        ST_ERROR("Cannot start the replica manager: %s", strerror(-r));
        goto out;
    }
    if ((r = st_admin_worker_start(b, &b->admin)) < 0) {
        ST_ERROR("Cannot start the topic admin thread: %s", strerror(-r));
        goto out;
    }
    if ((r = st_coordinator_start(b, &b->groups)) < 0) {
        ST_ERROR("Cannot start the group coordinator: %s", strerror(-r));
        goto out;
    }

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = st_maintenance_start(b, &maint);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        ST_ERROR("Cannot start the maintenance thread: %s", strerror(-r));
        goto out;
    }
    static shutdown_ctx_t shutdown_ctx;
    shutdown_ctx.b = b;
    shutdown_ctx.base = main_base;
    atomic_init(&shutdown_ctx.give_up, false);
    b->halt_ev = event_new(main_base, -1, 0, on_halt, &shutdown_ctx);
    if (!b->halt_ev) {
        ST_ERROR("Out of memory at start-up");
        goto out;
    }
    if (atomic_load(&b->halt_code) != 0)
        goto out;   /* asked for before the event existed: every log dir failed already */
    sigterm_ev = evsignal_new(main_base, SIGTERM, on_signal, &shutdown_ctx);
    sigint_ev = evsignal_new(main_base, SIGINT, on_signal, &shutdown_ctx);
    if (!sigterm_ev || !sigint_ev || evsignal_add(sigterm_ev, NULL) < 0 ||
        evsignal_add(sigint_ev, NULL) < 0) {
        ST_ERROR("Cannot install the signal handlers");
        goto out;
    }
    if (st_net_start(b->net) < 0)
        goto out;
    char cluster_id[64];
    st_metadata_cache_cluster_id(b->meta, cluster_id, sizeof(cluster_id));
    ST_INFO("Broker %" PRId32 " started (cluster id %s, %d network threads)", b->cfg.broker_id,
            cluster_id, b->cfg.num_network_threads);

    event_base_dispatch(main_base);
    exit_code = atomic_load(&b->halt_code);
    if (shutdown_ctx.started)
        pthread_join(shutdown_ctx.thread, NULL);

out:
    /* The coordinator first: parked JoinGroup/SyncGroup get NOT_COORDINATOR while the loops can
     * still send it; its memory stays until the loops are gone (handlers may still call it). */
    st_coordinator_stop(b->groups);
    if (b->net) {
        st_net_stop_accepting(b->net);
        st_net_shutdown(b->net, SHUTDOWN_GRACE_MS);
    }
    st_maintenance_stop(maint);
    st_admin_worker_stop(b->admin);
    b->admin = NULL;
    st_config_manager_stop(atomic_load(&b->configs));   /* before the session closes */
    st_replica_manager_stop(b->rm);   /* fetchers, threads, HW checkpoint */
    b->rm = NULL;
    st_membership_stop(b);            /* closes the ZooKeeper session: registration goes */
    st_config_manager_free(atomic_load(&b->configs));   /* nothing posts to it any more */
    st_logger_flush_limited(NULL);   /* counts of repeated lines not written yet */
    if (exit_code == 0)
        st_error_counts_log();
    st_registry_close(b->reg);
    bool logs_clean = true;
    if (b->mgr)
        logs_clean = st_log_manager_close(b->mgr);
    st_net_free(b->net);
    st_coordinator_free(b->groups);
    b->groups = NULL;
    st_metadata_cache_free(b->meta);
    if (sigterm_ev)
        event_free(sigterm_ev);
    if (sigint_ev)
        event_free(sigint_ev);
    if (b->halt_ev)
        event_free(b->halt_ev);
    b->halt_ev = NULL;
    if (main_base)
        event_base_free(main_base);
    for (size_t i = 0; lock_fds && i < b->cfg.n_dirs; i++)
        if (lock_fds[i] >= 0)
            close(lock_fds[i]);
    free(lock_fds);
    /* one true sentence: clean only when every log dir got its clean-shutdown marker */
    if (exit_code == 0 && logs_clean)
        ST_INFO("Broker %" PRId32 " shut down cleanly", b->cfg.broker_id);
    else if (exit_code == 0)
        ST_WARN("Broker %" PRId32 " shut down, but not cleanly: some log dirs could not be closed "
                "cleanly (named above); their logs are recovered at the next start",
                b->cfg.broker_id);
    else if (atomic_load(&b->halt_code) != 0)
        ST_ERROR("Broker %" PRId32 " stopped (exit code %d)", b->cfg.broker_id, exit_code);
    st_broker_config_free(&b->cfg);
    return exit_code;
}
