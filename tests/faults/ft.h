/* The fault suite's small shared pieces: the run log (every line timestamped from the run's
 * start, on stdout and in <run dir>/run.log), the scenario's fault schedule (what was injected
 * when, printed again when a check fails so that the run can be replayed), shell commands run
 * from the driver (ip, nft, tc, mount, losetup: their output goes to the run log only), and a
 * seeded random generator (splitmix64: a scenario's choices depend on its seed alone).
 *
 * Threads: ft_log and ft_sched may be called from any thread (one mutex); ft_sh and the random
 * generator only from the driver's main thread. */
#ifndef ST_FAULTS_FT_H
#define ST_FAULTS_FT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "test_util.h"

#define FT_PREFIX "stf"           /* every namespace, link and directory a run makes */
#define FT_DIR_PREFIX "/tmp/strand-faults-"
#define FT_COMM "strand-faults"   /* the driver's process name (leftover checks read it) */

/* ---- log ------------------------------------------------------------------------------------ */
/* Opens <dir>/run.log (appending) and sets the time origin. */
void ft_log_open(const char *dir);
void ft_log_close(void);
/* One line, "[  12.345] ..." on stdout and in the run log. */
void ft_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only into the run log (command output, details). */
void ft_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Milliseconds since ft_log_open. */
int64_t ft_elapsed_ms(void);

/* ---- fault schedule -------------------------------------------------------------------------- */
/* Starts a scenario's schedule (cleared), with time relative to now. */
void ft_sched_begin(const char *scenario, uint64_t seed);
/* Records and logs one event of the schedule: "+1.234s  partition b1 from {b2,b3,z1,z2,z3}". */
void ft_sched(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the schedule so far to stdout. */
void ft_sched_print(void);

/* ---- shell ----------------------------------------------------------------------------------- */
/* Runs `/bin/sh -c <command>`, stdout and stderr into the run log; waits at most 60 s (then
 * kills it). Returns the exit code (0 = success), or -1 if it could not run or was killed. */
int ft_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, capturing stdout (NUL-terminated, truncated to len - 1) into out. */
int ft_sh_out(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- random ------------------------------------------------------------------------------ */
typedef struct ft_rng {
    uint64_t s;
} ft_rng_t;
void ft_rng_seed(ft_rng_t *r, uint64_t seed);
uint64_t ft_rand(ft_rng_t *r);
/* Uniform in [lo, hi]. */
int ft_rand_range(ft_rng_t *r, int lo, int hi);
/* A stable 64-bit hash of a string mixed with a seed (per-scenario seeds). */
uint64_t ft_hash(uint64_t seed, const char *s);

#endif
