/* Controller-epoch and broker-epoch fencing shared by the controller-request handlers (see
 * fencing.h). Lock-free: the highest controller epoch grows by compare-and-swap. */
#include "fencing.h"

#include <stdatomic.h>

#include "st_error.h"

void st_fencing_init(st_broker_t *broker)
{
    atomic_store(&broker->controller_epoch, -1);
    atomic_store(&broker->broker_epoch, -1);
}

int st_controller_epoch_check(st_broker_t *broker, int32_t epoch)
{
    int32_t seen = atomic_load(&broker->controller_epoch);
    for (;;) {
        if (epoch < seen)
            return ST_ERR_STALE_CONTROLLER_EPOCH;
        if (epoch == seen)
            return ST_ERR_NONE;
        /* On failure `seen` is reloaded and the comparison redone: the epoch only grows. */
        if (atomic_compare_exchange_weak(&broker->controller_epoch, &seen, epoch))
            return ST_ERR_NONE;
    }
}

int32_t st_controller_epoch_seen(st_broker_t *broker)
{
    return atomic_load(&broker->controller_epoch);
}

int st_broker_epoch_check(st_broker_t *broker, int64_t request_epoch)
{
    if (request_epoch != -1 && request_epoch < atomic_load(&broker->broker_epoch))
        return ST_ERR_STALE_BROKER_EPOCH;
    return ST_ERR_NONE;
}

void st_broker_epoch_set(st_broker_t *broker, int64_t epoch)
{
    atomic_store(&broker->broker_epoch, epoch);
}

int64_t st_broker_epoch_get(st_broker_t *broker)
{
    return atomic_load(&broker->broker_epoch);
}
