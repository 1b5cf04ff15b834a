/* Library-internal view of the admin handle (strand_admin_t of strand.h), shared by the topic and
 * cluster calls (st_admin.c) and the consumer-group calls (st_admin_group.c).
 *
 * Threads: every strand_admin_* call runs on the application's thread and is synchronous; one
 * request is on the wire per handle at a time (call_lock is held across st_client_call), which
 * is what makes the handle thread-safe. */
#ifndef ST_ADMIN_INT_H
#define ST_ADMIN_INT_H

#include <pthread.h>

#include "st_client.h"
#include "strand.h"

struct strand_admin {
    st_client_t cl;
    pthread_mutex_t call_lock;
};

/* Sends body to target (a node id, ST_BROKER_ANY or ST_BROKER_CONTROLLER), waits for the
 * response (timeout_ms < 0: request.timeout.ms, plus 5 s of slack for the broker's own wait) and
 * unpacks it with unpack() into *ret_msg (free with protobuf_c_message_free_unpacked). 0, or an
 * ST_ERR_* code with errstr (transport errors name the broker; an undecodable body is
 * ST_ERR_BAD_RESPONSE). Takes a->call_lock; any application thread. */
int st_admin_call(strand_admin_t *a, int32_t target, int32_t api, const ProtobufCMessage *body,
                  int timeout_ms, ProtobufCMessage *(*unpack)(size_t, const uint8_t *),
                  ProtobufCMessage **ret_msg, char *errstr, size_t errstr_size);

#endif
