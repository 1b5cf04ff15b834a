/* strand-faults: the fault suite's driver. Builds the test network and the cluster (ft_net.h,
 * ft_cluster.h), runs the named scenarios (ft_scen.h) one after another against it, each with
 * its own topic, workload and seed, checks each (ft_work.h), and prints one line per scenario:
 *
 *   RESULT <scenario> seed=<seed> PASS|FAIL|SKIP (<seconds> s) <figures>
 *
 * then the closing "N passed, N failed[, N skipped]". On a failure it prints the scenario's fault
 * schedule, its seed and the command that replays it.
 *
 *   strand-faults [--seed S] [--scenario NAME[,NAME...]] [--duration SECONDS] [--quick]
 *                 [--broker PATH] [--list] [--cleanup]
 *
 * --seed: the run's seed (default: from the clock, printed); each scenario's seed is derived
 * from it and its name, so `--scenario NAME --seed S` replays that scenario. --duration: the
 * nemesis's length (default 60 s; 25 s with --quick). --quick: shorter holds and fewer rounds
 * (CI). --cleanup: only remove what crashed runs left behind.
 *
 * Exit status: 0 all passed (or skipped), 1 a scenario failed, 2 bad usage, 77 the machine
 * cannot run the suite (not root, no namespaces, no nft): it says why and runs nothing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "ft.h"
#include "ft_cluster.h"
#include "ft_delay.h"
#include "ft_net.h"
#include "ft_scen.h"
#include "ft_work.h"

#define RECOVERY_BOUND_MS 60000

static ft_cluster_t cluster;
static volatile sig_atomic_t interrupted;
static bool cluster_made;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: strand-faults [--seed S] [--scenario NAME[,NAME...]] [--duration SECONDS]"
                 " [--quick] [--broker PATH] [--list] [--cleanup]\n");
}

/* Stops the cluster. keep_as: a suffix to keep its directory under (its logs explain why a
 * scenario left it unrecoverable; the next run's leftover cleanup removes it), NULL to remove
 * it (unless $STRAND_KEEP_TEST_DIRS). */
static void cleanup_all(const char *keep_as)
{
    if (cluster_made) {
        ft_cluster_stop(&cluster);
        cluster_made = false;
        char kept[300];
        snprintf(kept, sizeof(kept), "%s-%s", cluster.dir, keep_as ? keep_as : "");
        if (keep_as && rename(cluster.dir, kept) == 0)
            ft_log("the damaged cluster's directory is kept as %s", kept);
        else if (!getenv("STRAND_KEEP_TEST_DIRS"))
            st_test_remove_tree(cluster.dir);
        else
            ft_log("kept %s (STRAND_KEEP_TEST_DIRS)", cluster.dir);
    }
}

static int start_cluster(const char *broker)
{
    memset(&cluster, 0, sizeof(cluster));
    snprintf(cluster.dir, sizeof(cluster.dir), FT_DIR_PREFIX "%d", (int)getpid());
    mkdir(cluster.dir, 0755);
    ft_log_open(cluster.dir);
    cluster_made = true;
    cluster.session_ms = 4000;
    cluster.lag_ms = 3000;
    if (ft_cluster_start(&cluster, broker) < 0) {
        ft_log("the cluster did not start (logs in %s)", cluster.dir);
        return -1;
    }
    return 0;
}

typedef struct tally {
    int passed, failed, skipped;
} tally_t;

static void run_one(const ft_scenario_t *sc, uint64_t run_seed, int duration, bool quick,
                    const char *broker, const char *list_arg, tally_t *t)
{
    uint64_t seed = ft_hash(run_seed, sc->name);
    ft_ctx_t x;
    memset(&x, 0, sizeof(x));
    x.c = &cluster;
    x.seed = seed;
    x.quick = quick;
    x.duration_s = duration;
    ft_rng_seed(&x.rng, seed);
    int64_t t_start = st_test_now_ms();
    ft_log("=== %s (seed %llu): %s", sc->name, (unsigned long long)run_seed, sc->what);
    ft_sched_begin(sc->name, run_seed);

    /* a healthy cluster first (a previous scenario may have left it damaged) */
    if (ft_heal_all(&cluster, false) < 0) {
        ft_log("the cluster is not healthy before %s: restarting it", sc->name);
        char suffix[96];
        snprintf(suffix, sizeof(suffix), "before-%s", sc->name);
        cleanup_all(suffix);
        if (start_cluster(broker) < 0) {
            printf("RESULT %s seed=%llu FAIL (cluster could not be restored)\n", sc->name,
                   (unsigned long long)run_seed);
            t->failed++;
            return;
        }
    }
    if (sc->netem && !ft_net_can_delay(&cluster.net)) {
        printf("RESULT %s seed=%llu SKIP (0.0 s) | added latency: %s\n", sc->name,
               (unsigned long long)run_seed, ft_net_delay_method(&cluster.net));
        t->skipped++;
        return;
    }
    ft_work_t w;
    char topic[96];
    snprintf(topic, sizeof(topic), "%s-%llu", sc->name, (unsigned long long)(run_seed % 1000000));
    static const int32_t pinned[] = { 1, 2, 3, 2, 1, 3, 1, 2, 3, 2, 1, 3 };
    if (ft_work_start(&w, &cluster, topic, sc->n_part, sc->rate, sc->pinned ? pinned : NULL) < 0) {
        ft_work_free(&w);
        printf("RESULT %s seed=%llu FAIL (the workload did not start)\n", sc->name,
               (unsigned long long)run_seed);
        t->failed++;
        return;
    }
    x.w = &w;
    st_test_sleep_ms(1500);   /* warm up: acks flowing before any fault */
    long warm = atomic_load(&w.acked);
    if (warm == 0)
        ft_fail(&x, "no record acknowledged in the 1.5 s before the faults");
    int exits_before = ft_unexpected_exits;
    sc->run(&x);
    /* heal whatever the scenario left, then let the workload run on a little */
    ft_heal_all(&cluster, true);
    int64_t heal_ms = st_test_now_ms();
    int64_t w_heal = ft_work_now(&w);
    long acked_at_heal = atomic_load(&w.acked);
    int64_t deadline = heal_ms + RECOVERY_BOUND_MS;
    while (atomic_load(&w.acked) < acked_at_heal + 50 && st_test_now_ms() < deadline)
        st_test_sleep_ms(100);
    int64_t writes_back = st_test_now_ms() - heal_ms;
    if (atomic_load(&w.acked) < acked_at_heal + 50)
        ft_fail(&x, "writes did not come back within %d ms of the heal", RECOVERY_BOUND_MS);
    st_test_sleep_ms(1000);
    ft_work_stop(&w);
    for (int i = 0; i < FT_BR_N; i++)
        ft_proc_alive(&cluster.br[i]);
    for (int i = 0; i < FT_ZK_N; i++)
        ft_proc_alive(&cluster.zk[i]);
    if (ft_unexpected_exits > exits_before)
        ft_fail(&x, "%d process(es) the suite did not stop crashed (last: %s)",
                ft_unexpected_exits - exits_before, ft_last_exit);
    ft_result_t res;
    bool ok = ft_work_check(&w, heal_ms, RECOVERY_BOUND_MS, &res);
    ft_result_print(&w, &res);
    ft_log("writes acknowledged again %lld ms after the heal (bound %d ms); availability "
           "after the heal: %ld acks in %lld ms", (long long)writes_back, RECOVERY_BOUND_MS,
           ft_work_acks_between(&w, w_heal, ft_work_now(&w)),
           (long long)(ft_work_now(&w) - w_heal));
    double secs = (double)(st_test_now_ms() - t_start) / 1000.0;
    const char *verdict = x.skipped ? "SKIP" : ok && !x.failed ? "PASS" : "FAIL";
    printf("RESULT %s seed=%llu %s (%.1f s) acked=%ld lost=%ld phantom=%ld duplicated=%ld "
           "diverged=%d recovered_ms=%lld%s%s\n", sc->name, (unsigned long long)run_seed, verdict,
           secs, res.acked, res.lost, res.phantom, res.duplicated, res.diverged,
           (long long)res.recover_ms, x.note[0] ? " | " : "", x.note);
    fflush(stdout);
    if (strcmp(verdict, "FAIL") == 0) {
        t->failed++;
        printf("---- %s failed (seed %llu):\n%s%s", sc->name, (unsigned long long)run_seed, x.why,
               res.why);
        ft_sched_print();
        printf("replay: tests/faults/run.sh --scenario %s --seed %llu --duration %d%s   (this "
               "run's scenarios: %s)\n----\n", sc->name, (unsigned long long)run_seed, duration,
               quick ? " --quick" : "", list_arg);
        fflush(stdout);
    } else if (x.skipped) {
        t->skipped++;
    } else {
        t->passed++;
    }
    ft_work_free(&w);
}

int main(int argc, char **argv)
{
    /* the delay line ft_net.c starts inside a node's namespace (not a user-facing mode) */
    if (argc == 5 && strcmp(argv[1], "--delay-queue") == 0 && strcmp(argv[3], "--delay-ms") == 0)
        return ft_delay_main(atoi(argv[2]), atoi(argv[4]));
    prctl(PR_SET_NAME, FT_COMM);
    uint64_t seed = 0;
    bool have_seed = false, quick = false, only_cleanup = false;
    int duration = -1;
    const char *names = NULL;
    const char *broker = getenv("STRAND_BROKER");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--seed") == 0 && v) {
            char *end;
            errno = 0;
            seed = strtoull(v, &end, 10);
            if (errno || *end) {
                fprintf(stderr, "strand-faults: --seed: '%s' is not a number\n", v);
                return 2;
            }
            have_seed = true;
            i++;
        } else if (strcmp(a, "--scenario") == 0 && v) {
            names = v;
            i++;
        } else if (strcmp(a, "--duration") == 0 && v) {
            duration = atoi(v);
            if (duration <= 0) {
                fprintf(stderr, "strand-faults: --duration: '%s' is not a positive number of "
                                "seconds\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--broker") == 0 && v) {
            broker = v;
            i++;
        } else if (strcmp(a, "--quick") == 0) {
            quick = true;
        } else if (strcmp(a, "--cleanup") == 0) {
            only_cleanup = true;
        } else if (strcmp(a, "--list") == 0) {
            for (int k = 0; k < ft_n_scenarios; k++)
                printf("%-22s %s\n", ft_scenarios[k].name, ft_scenarios[k].what);
            return 0;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "strand-faults: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (duration < 0)
        duration = quick ? 20 : 60;
    if (!have_seed)
        seed = (uint64_t)time(NULL) % 100000;

    /* which scenarios */
    const ft_scenario_t *chosen[64];
    int n_chosen = 0;
    char list_arg[1024] = "";
    if (names) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", names);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            const ft_scenario_t *sc = ft_scenario_find(t);
            if (!sc) {
                fprintf(stderr, "strand-faults: --scenario: unknown scenario '%s' (--list "
                                "shows them)\n", t);
                return 2;
            }
            if (n_chosen < 64)
                chosen[n_chosen++] = sc;
        }
        snprintf(list_arg, sizeof(list_arg), "%s", names);
    } else {
        size_t u = 0;
        for (int k = 0; k < ft_n_scenarios; k++) {
            chosen[n_chosen++] = &ft_scenarios[k];
            u += (size_t)snprintf(list_arg + u, sizeof(list_arg) - u, "%s%s", k ? "," : "",
                                  ft_scenarios[k].name);
        }
    }

    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    char why[512];
    if (ft_net_check(why, sizeof(why)) < 0) {
        printf("strand-faults: cannot run the fault suite here: %s. SKIPPED, not passed.\n", why);
        printf("0 passed, 0 failed, %d skipped\n", n_chosen);
        return 77;
    }
    ft_net_cleanup_stale();
    if (only_cleanup)
        return 0;
    if (!broker || !*broker) {
        fprintf(stderr, "strand-faults: no broker binary: set $STRAND_BROKER or --broker PATH\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    tally_t t = { 0, 0, 0 };
    if (start_cluster(broker) < 0) {
        cleanup_all(NULL);
        printf("0 passed, %d failed\n", n_chosen);
        return 1;
    }
    ft_log("run seed %llu, scenarios %s%s", (unsigned long long)seed, list_arg,
           quick ? " (quick)" : "");
    for (int k = 0; k < n_chosen && !interrupted; k++)
        run_one(chosen[k], seed, duration, quick, broker, list_arg, &t);
    if (interrupted)
        ft_log("interrupted: stopping");
    cleanup_all(NULL);
    ft_log_close();
    if (t.skipped)
        printf("%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
    else
        printf("%d passed, %d failed\n", t.passed, t.failed);
    return t.failed || interrupted ? 1 : 0;
}
