/* The mailbox (st_mailbox.h): a mutex-protected singly linked FIFO of closures and an eventfd
 * written when the queue becomes non-empty. The consumer detaches the whole list under the
 * mutex and runs it outside, so a closure may post to its own mailbox.
 *
 * Invariants (under mb->lock): head == NULL iff tail == NULL iff n == 0; the eventfd counter is
 * non-zero whenever n > 0 (it is written on every empty -> non-empty transition and read to
 * zero only by the consumer before it detaches the list). */
#include "st_mailbox.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct mb_item {
    struct mb_item *next;
    st_mailbox_fn *fn;
    void *arg;
} mb_item_t;

struct st_mailbox {
    pthread_mutex_t lock;
    mb_item_t *head, *tail;
    size_t n;
    int efd;
};

int st_mailbox_new(st_mailbox_t **ret_mb)
{
    st_mailbox_t *mb = calloc(1, sizeof(*mb));
    if (!mb)
        return -ENOMEM;
    mb->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (mb->efd < 0) {
        int r = -errno;
        free(mb);
        return r;
    }
    pthread_mutex_init(&mb->lock, NULL);
    *ret_mb = mb;
    return 0;
}

void st_mailbox_free(st_mailbox_t *mb, st_mailbox_fn *discard)
{
    if (!mb)
        return;
    mb_item_t *it = mb->head;
    while (it) {
        mb_item_t *next = it->next;
        if (discard)
            discard(it->arg);
        free(it);
        it = next;
    }
    close(mb->efd);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

int st_mailbox_post(st_mailbox_t *mb, st_mailbox_fn *fn, void *arg)
{
    mb_item_t *it = malloc(sizeof(*it));
    if (!it)
        return -ENOMEM;
    it->next = NULL;
    it->fn = fn;
    it->arg = arg;
    pthread_mutex_lock(&mb->lock);
    bool was_empty = mb->n == 0;
    if (mb->tail)
        mb->tail->next = it;
    else
        mb->head = it;
    mb->tail = it;
    mb->n++;
    if (was_empty) {
        uint64_t one = 1;
        ssize_t w = write(mb->efd, &one, sizeof(one));
        (void)w;   /* only fails when the counter would overflow: it is already non-zero */
    }
    assert((mb->head == NULL) == (mb->n == 0));
    pthread_mutex_unlock(&mb->lock);
    return 0;
}

int st_mailbox_fd(const st_mailbox_t *mb)
{
    return mb->efd;
}

size_t st_mailbox_drain(st_mailbox_t *mb)
{
    pthread_mutex_lock(&mb->lock);
    uint64_t cnt;
    ssize_t rd = read(mb->efd, &cnt, sizeof(cnt));
    (void)rd;
    mb_item_t *it = mb->head;
    mb->head = mb->tail = NULL;
    mb->n = 0;
    pthread_mutex_unlock(&mb->lock);
    size_t ran = 0;
    while (it) {
        mb_item_t *next = it->next;
        it->fn(it->arg);
        free(it);
        it = next;
        ran++;
    }
    return ran;
}

size_t st_mailbox_wait(st_mailbox_t *mb, int timeout_ms)
{
    struct pollfd pfd = { .fd = mb->efd, .events = POLLIN };
    int r;
    do {
        r = poll(&pfd, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r <= 0)
        return 0;
    return st_mailbox_drain(mb);
}

size_t st_mailbox_pending(st_mailbox_t *mb)
{
    pthread_mutex_lock(&mb->lock);
    size_t n = mb->n;
    pthread_mutex_unlock(&mb->lock);
    return n;
}
