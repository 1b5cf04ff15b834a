/* A mailbox: a multi-producer, single-consumer queue of closures (fn, arg) with an eventfd that
 * becomes readable when the queue goes from empty to non-empty. It is how work crosses threads
 * in Strand: libzookeeper_mt callbacks, network loops and the controller post into the mailbox
 * of the thread that owns the state, and that thread runs the closures in posting order.
 *
 * The consumer either blocks in st_mailbox_wait (a dedicated thread such as the controller's
 * event thread) or watches st_mailbox_fd in its own poll loop (a libevent loop) and calls
 * st_mailbox_drain when it is readable.
 *
 * Threads: st_mailbox_post from any thread (takes the mailbox mutex briefly, never blocks
 * otherwise); wait/drain from the one consumer thread only. */
#ifndef ST_MAILBOX_H
#define ST_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct st_mailbox st_mailbox_t;
typedef void st_mailbox_fn(void *arg);

int st_mailbox_new(st_mailbox_t **ret_mb);
/* Runs nothing: closures still queued are dropped after calling discard(arg) on each, when
 * discard is given (to free their arguments). */
void st_mailbox_free(st_mailbox_t *mb, st_mailbox_fn *discard);
/* Queues fn(arg). 0 or -ENOMEM (nothing queued). Any thread. */
int st_mailbox_post(st_mailbox_t *mb, st_mailbox_fn *fn, void *arg);
/* The eventfd: readable while closures are queued (for poll loops). */
int st_mailbox_fd(const st_mailbox_t *mb);
/* Runs every closure queued so far, in order; returns how many ran. Consumer thread. */
size_t st_mailbox_drain(st_mailbox_t *mb);
/* Waits up to timeout_ms (< 0: forever) for a closure, then drains. Returns how many ran (0 on
 * timeout). Consumer thread. */
size_t st_mailbox_wait(st_mailbox_t *mb, int timeout_ms);
/* Closures queued and not yet run (a snapshot, for tests and metrics). */
size_t st_mailbox_pending(st_mailbox_t *mb);

#endif
