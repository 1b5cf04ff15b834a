/* The fault suite's cluster: a 3-node ZooKeeper ensemble (Debian's ZooKeeper 3.8 JVMs) and
 * three strand-broker processes, each in its own network namespace of the test network
 * (ft_net.h), each broker with its log dir on a small ext4 file system of its own (a sparse
 * image file on a loop device) so that a disk can be filled or made to fail. Process faults:
 * SIGKILL, SIGSTOP/SIGCONT, restart; disk faults: fill the file system (a filler file), make it
 * fail (ext4's trigger_fs_error with errors=remount-ro: every write after it gets EROFS, as
 * when a disk fails), and repair it the way an operator would (stop the broker, unmount, fsck,
 * mount, start the broker).
 *
 * Every process is started with PR_SET_PDEATHSIG(SIGKILL) through `nsenter --net=<ns>`, so none
 * outlives the driver; ft_cluster_stop removes processes, mounts, loop devices, namespaces and
 * the run directory (/tmp/strand-faults-<pid>), and ft_net_cleanup_stale removes those of a
 * driver that was killed.
 *
 * The driver talks to ZooKeeper through one persistent client session (libzookeeper_mt) to read
 * the cluster's state: registrations, /controller, partition state znodes.
 *
 * Invariants: proc.pid > 0 iff the process was started and not yet seen to exit; paused only
 * when pid > 0; a broker's file system is mounted at proc.mnt whenever its process runs.
 * Threads: driver main thread, except ft_zk_* (any thread: the ZooKeeper handle is
 * thread-safe). */
#ifndef ST_FAULTS_FT_CLUSTER_H
#define ST_FAULTS_FT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ft_net.h"

#define FT_ZK_N 3
#define FT_BR_N 3
#define FT_BROKER_PORT 9092
#define FT_ZK_PORT 2181

typedef enum ft_kind { FT_ZK, FT_BROKER } ft_kind_t;

typedef struct ft_proc {
    ft_kind_t kind;
    int id;                 /* ZooKeeper myid or broker.id (1-based) */
    int net;                /* index in the test network */
    char name[8];           /* "z1", "b2" */
    char dir[300];          /* the node's directory in the run directory */
    char cfg_path[400];
    char log_path[400];     /* stdout+stderr of the process */
    pid_t pid;
    bool paused;
    int starts;             /* how many times it was started */
    /* brokers: the log dir's file system */
    char img[400];          /* sparse image file */
    char mnt[400];          /* mount point; log.dirs=<mnt>/logs */
    char loopdev[64];
    bool mounted;
    bool failed_fs;         /* trigger_fs_error was used: needs ft_disk_repair */
    bool filled;            /* a filler file takes the free space */
} ft_proc_t;

typedef struct ft_cluster {
    ft_net_t net;
    char dir[256];
    ft_proc_t zk[FT_ZK_N];
    ft_proc_t br[FT_BR_N];
    char zk_connect[256];
    char bootstrap[256];
    char broker_exe[512];
    int session_ms;         /* zookeeper.session.timeout.ms of the brokers */
    int lag_ms;             /* replica.lag.time.max.ms */
    void *zh;               /* the driver's ZooKeeper handle (zhandle_t) */
} ft_cluster_t;

/* Makes the network, the disks, starts the ensemble and the brokers and waits until all three
 * brokers are registered and a controller is elected. 0 or -1 (logs printed; everything made is
 * removed by ft_cluster_stop, which the caller calls either way). */
int ft_cluster_start(ft_cluster_t *c, const char *broker_exe);
void ft_cluster_stop(ft_cluster_t *c);

ft_proc_t *ft_broker(ft_cluster_t *c, int id);
ft_proc_t *ft_zk(ft_cluster_t *c, int myid);
/* Network index mask of every broker / every ZooKeeper node. */
uint32_t ft_mask_brokers(const ft_cluster_t *c);
uint32_t ft_mask_zk(const ft_cluster_t *c);
uint32_t ft_mask_of(const ft_proc_t *p);

/* ---- processes ------------------------------------------------------------------------------- */
/* Starts the process (its disk must be mounted for a broker). A broker: waits until it accepts
 * connections (10 s); a ZooKeeper node: does not wait. 0 or -1. */
int ft_proc_start(ft_cluster_t *c, ft_proc_t *p);
/* SIGKILL (or SIGTERM with a 15 s bound, then SIGKILL) and reap. */
void ft_proc_kill(ft_proc_t *p, int sig);
int ft_proc_pause(ft_proc_t *p);
int ft_proc_resume(ft_proc_t *p);
/* Reaps the process if it exited by itself (logging it; one killed by a signal the suite did
 * not send -- a crash -- is counted in ft_unexpected_exits, a bug to report); true while it
 * runs. */
bool ft_proc_alive(ft_proc_t *p);
extern int ft_unexpected_exits;
extern char ft_last_exit[256];     /* "b3 (pid 8874): signal 6" */
/* Bytes in its log now (for counting lines written after a point). */
long ft_proc_log_size(const ft_proc_t *p);
/* Occurrences of needle in its log from byte `from` on. */
int ft_proc_log_count(const ft_proc_t *p, const char *needle, long from);

/* ---- ZooKeeper nodes ------------------------------------------------------------------------- */
/* `srvr` Mode of a node ("leader", "follower", "standalone") into mode; false if it does not
 * serve (within 1 s). */
bool ft_zk_mode(ft_cluster_t *c, ft_proc_t *z, char *mode, size_t len);
/* Waits until at least n running nodes serve. 0 or -1. */
int ft_zk_wait_serving(ft_cluster_t *c, int n, int timeout_ms);
/* Removes a stopped node's data (keeping myid): it rejoins empty and syncs from the leader. */
int ft_zk_wipe(ft_cluster_t *c, ft_proc_t *z);

/* ---- disks ----------------------------------------------------------------------------------- */
/* Fills the broker's file system (a filler file up to ENOSPC); ft_disk_unfill removes it. */
int ft_disk_fill(ft_cluster_t *c, ft_proc_t *b);
int ft_disk_unfill(ft_cluster_t *c, ft_proc_t *b);
/* Makes the file system fail (ext4 error: remounted read-only, every write EROFS). */
int ft_disk_fail(ft_cluster_t *c, ft_proc_t *b);
/* Stops the broker if running, unmounts, fscks and mounts the file system again (data kept).
 * Does not start the broker. 0 or -1. */
int ft_disk_repair(ft_cluster_t *c, ft_proc_t *b);

/* ---- cluster state from ZooKeeper ------------------------------------------------------------ */
/* Data of a znode into buf (NUL-terminated); its version and czxid if not NULL. Returns the data
 * length or a negative ZooKeeper code. */
int ft_zk_get(ft_cluster_t *c, const char *path, char *buf, size_t len, int *ret_version,
              int64_t *ret_czxid);
/* Children as "a,b,c" sorted; their count or a negative ZooKeeper code. */
int ft_zk_children(ft_cluster_t *c, const char *path, char *buf, size_t len);
/* Broker ids registered now as a bit mask (bit id), -1 if ZooKeeper did not answer. */
int ft_registered(ft_cluster_t *c);
/* The controller's broker id, -1 if none or unknown. */
int ft_controller(ft_cluster_t *c);
/* /controller_epoch, -1 if unknown. */
int ft_controller_epoch(ft_cluster_t *c);
/* A partition's state: leader, leader epoch, ISR (up to 8), controller epoch, znode version.
 * 0 or -1. */
typedef struct ft_pstate {
    int leader, leader_epoch, controller_epoch, version;
    int isr[8];
    int n_isr;
} ft_pstate_t;
int ft_partition_state(ft_cluster_t *c, const char *topic, int p, ft_pstate_t *ret);
/* Waits until the brokers in the mask (bit id) are exactly those registered and a controller
 * is elected. 0 or -1. */
int ft_wait_registered(ft_cluster_t *c, int mask, int timeout_ms);

#endif
