/* Delayed operations' keys (see delayed.h): watching and releasing the partitions a parked
 * operation waits on, shared by the kinds that wait on partitions. */
#include "delayed.h"

#include "partition.h"

void st_delayed_watch(st_delayed_keys_t *keys, bool on)
{
    if (keys->watching == on)
        return;
    for (size_t i = 0; i < keys->n; i++) {
        if (!keys->parts[i])
            continue;
        if (on)
            st_partition_watch(keys->parts[i], keys->loop);
        else
            st_partition_unwatch(keys->parts[i], keys->loop);
    }
    keys->watching = on;
}

void st_delayed_release(st_delayed_keys_t *keys)
{
    st_delayed_watch(keys, false);
    for (size_t i = 0; i < keys->n; i++) {
        st_partition_unref(keys->parts[i]);
        keys->parts[i] = NULL;
    }
}
