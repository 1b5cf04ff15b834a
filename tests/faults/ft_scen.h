/* The fault suite's scenarios (reference §6 failure modes): each one runs against a healthy
 * cluster with its own topic and workload, injects its faults on a schedule drawn from its seed,
 * heals, and leaves the verdict to the common checker (ft_work.h) plus its own assertions.
 *
 * Threads: driver main thread only. */
#ifndef ST_FAULTS_FT_SCEN_H
#define ST_FAULTS_FT_SCEN_H

#include <stdbool.h>
#include <stdint.h>

#include "ft.h"
#include "ft_cluster.h"
#include "ft_work.h"

typedef struct ft_ctx {
    ft_cluster_t *c;
    ft_work_t *w;
    ft_rng_t rng;
    uint64_t seed;
    int duration_s;         /* the nemesis's length */
    bool quick;             /* CI: shorter holds and fewer rounds */
    bool failed;            /* a scenario assertion failed */
    bool skipped;           /* the scenario cannot run here (why in note) */
    char note[1024];        /* availability and counts, printed with the figures */
    char why[1024];         /* the scenario's own failed assertions */
} ft_ctx_t;

typedef struct ft_scenario {
    const char *name;
    const char *what;       /* one line */
    int n_part;
    int rate;
    bool pinned;            /* topic assignment leaders on b1/b2, b3 a follower everywhere */
    void (*run)(ft_ctx_t *x);
    bool netem;             /* needs sch_netem (skipped where the kernel lacks it) */
} ft_scenario_t;

extern const ft_scenario_t ft_scenarios[];
extern const int ft_n_scenarios;
const ft_scenario_t *ft_scenario_find(const char *name);

/* Heals every fault: network rules and qdiscs, paused processes, failed and full disks, dead
 * processes; waits until the ensemble serves and all brokers are registered. 0 or -1. */
int ft_heal_all(ft_cluster_t *c, bool log_it);

/* Scenario assertion: records a failure (with the message) in x->why and the log. */
void ft_fail(ft_ctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ft_note(ft_ctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
