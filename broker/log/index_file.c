/* An mmap'd file of fixed-size index entries: the storage under both the .index and the
 * .timeindex. The active segment's indexes are preallocated (log.index.size.max.bytes) so that
 * appending an entry is a store into the mapping, never a syscall; a closed segment's indexes
 * are trimmed to their valid entries.
 *
 * Invariants: map_len == file length, a whole number of entries; entries <= capacity.
 *
 * Locking: the owning log's mutex covers entries and the mapping's contents; idx->lock also
 * covers map/map_len, because a flush msyncs outside the log mutex while a roll may remap. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_internal.h"

static int map_file(st_index_file_t *idx, int fd, size_t len)
{
    if (len == 0) {
        idx->map = NULL;
        idx->map_len = 0;
        return 0;
    }
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return -errno;
    idx->map = map;
    idx->map_len = len;
    return 0;
}

int st_index_file_open(st_index_file_t *idx, const char *path, size_t entry_size,
                       int64_t base_offset, bool create)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
    if (fd < 0) {
        int ret = -errno;
        free(copy);
        return ret;
    }
    struct stat st;
    int ret = fstat(fd, &st) < 0 ? -errno : 0;
    st_index_file_t tmp = { .path = copy, .fd = fd, .entry_size = entry_size,
                            .base_offset = base_offset };
    /* A length that is not whole entries is kept mapped as is: the loader rejects it. */
    if (ret == 0)
        ret = map_file(&tmp, fd, (size_t)st.st_size);
    if (ret < 0) {
        close(fd);
        free(copy);
        return ret;
    }
    *idx = tmp;
    pthread_mutex_init(&idx->lock, NULL);
    return 0;
}

int st_index_file_resize(st_index_file_t *idx, size_t bytes)
{
    bytes -= bytes % idx->entry_size;
    if (bytes < (size_t)idx->entries * idx->entry_size)
        return -EINVAL;
    if (bytes == idx->map_len)
        return 0;
    int fd = idx->fd >= 0 ? idx->fd : open(idx->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = 0;
    pthread_mutex_lock(&idx->lock);
    if (ftruncate(fd, (off_t)bytes) < 0) {
        ret = -errno;
        goto out;
    }
    if (idx->map && bytes > 0) {
        void *map = mremap(idx->map, idx->map_len, bytes, MREMAP_MAYMOVE);
        if (map == MAP_FAILED) {
            ret = -errno;
            goto out;
        }
        idx->map = map;
        idx->map_len = bytes;
    } else {
        if (idx->map)
            munmap(idx->map, idx->map_len);
        idx->map = NULL;
        idx->map_len = 0;
        ret = map_file(idx, fd, bytes);
    }
    /* No fsync: a length lost in a crash is found by the loader and the index rebuilt. */
out:
    pthread_mutex_unlock(&idx->lock);
    if (fd != idx->fd)
        close(fd);
    return ret;
}

void st_index_file_release_fd(st_index_file_t *idx)
{
    if (idx->fd >= 0)
        close(idx->fd);
    idx->fd = -1;
}

int st_index_file_trim(st_index_file_t *idx)
{
    return st_index_file_resize(idx, (size_t)idx->entries * idx->entry_size);
}

void st_index_file_reset(st_index_file_t *idx)
{
    if (idx->map)
        memset(idx->map, 0, (size_t)idx->entries * idx->entry_size);
    idx->entries = 0;
}

int st_index_file_sync(st_index_file_t *idx)
{
    pthread_mutex_lock(&idx->lock);
    size_t len = (size_t)idx->entries * idx->entry_size;
    if (len > idx->map_len)
        len = idx->map_len;
    int ret = idx->map && len > 0 && msync(idx->map, len, MS_SYNC) < 0 ? -errno : 0;
    pthread_mutex_unlock(&idx->lock);
    return ret;
}

int st_index_file_rename(st_index_file_t *idx, const char *new_path)
{
    char *copy = strdup(new_path);
    if (!copy)
        return -ENOMEM;
    if (rename(idx->path, new_path) < 0) {
        int ret = -errno;
        free(copy);
        return ret;
    }
    free(idx->path);
    idx->path = copy;
    return 0;
}

void st_index_file_close(st_index_file_t *idx)
{
    if (!idx->path)
        return;   /* never opened */
    st_index_file_release_fd(idx);
    if (idx->map)
        munmap(idx->map, idx->map_len);
    pthread_mutex_destroy(&idx->lock);
    free(idx->path);
    memset(idx, 0, sizeof(*idx));
    idx->fd = -1;
}
