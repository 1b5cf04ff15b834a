/* An in-memory ZooKeeper implementing st_zk.h for the fuzz harnesses (see fake_zk.c). Link
 * fake_zk.c instead of controller/st_zk.c. */
#ifndef FAKE_ZK_H
#define FAKE_ZK_H

#include "st_zk.h"

st_zk_t *fake_zk_new(void);
void fake_zk_free(st_zk_t *zk);
/* Creates path (and missing parents) and sets its data (NULL: null data), marked external (a
 * hand edit) until code under test writes it through st_zk_*. 0 or -errno. */
int fake_zk_put(st_zk_t *zk, const char *path, const char *data, int len);
void fake_zk_mark_external(st_zk_t *zk, const char *path);
/* The znode as stored (no copy: valid until the next change). 0 or -ENOENT. ret_stat and
 * ret_external may be NULL. */
int fake_zk_peek(st_zk_t *zk, const char *path, const char **ret_data, int *ret_len,
                 struct Stat *ret_stat, bool *ret_external);
/* The session id ephemeral znodes created from now on carry. */
void fake_zk_set_session(st_zk_t *zk, int64_t session_id);

#endif
