/* A blocking inter-broker connection for one thread: connect (plain or SSL), send one request,
 * wait for its response. Used by the replica fetchers and the AlterIsr sender, each on its own
 * thread (so blocking is fine there and nothing else waits on it).
 *
 * Why not the client core (common/client/st_client.h): its I/O thread, metadata and retry
 * logic are built for producers and consumers; a fetcher issues one request at a time to one
 * known broker and must see every error itself (to back off, truncate, or drop partitions).
 * This file uses the one transport table (common/net/st_transport.h: plain and TLS), so
 * security.inter.broker.protocol=SSL works with the broker's ssl.* keys, and nothing about TLS
 * is written twice.
 *
 * Threads: an st_channel_t belongs to the one thread that opened it. No locks. */
#ifndef ST_CHANNEL_H
#define ST_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "st_buf.h"
#include "st_frame.h"

typedef struct st_channel_conf {
    bool ssl;
    const char *ssl_certificate_location;
    const char *ssl_key_location;
    const char *ssl_key_password;
    const char *ssl_ca_location;
    const char *ssl_enabled_protocols;
    const char *ssl_cipher_suites;
    const char *client_id;            /* e.g. "broker-2-fetcher-1-0" */
} st_channel_conf_t;

typedef struct st_channel st_channel_t;

struct st_broker_config;
/* The channel settings for talking to other brokers' inter-broker listener: SSL when that
 * listener is SSL, with this broker's ssl.* keys. */
void st_channel_conf_inter_broker(const struct st_broker_config *cfg, const char *client_id,
                                  st_channel_conf_t *ret);

/* Connects and finishes the handshake within timeout_ms. 0 or -errno (reason in err). */
int st_channel_open(const st_channel_conf_t *conf, const char *host, int port, int timeout_ms,
                    st_channel_t **ret_ch, char *err, size_t errlen);
/* Sends the request and reads its response frame into *frame (payload after the size prefix)
 * with *ret_view pointing into it (body and raw tail). 0 or -errno; on error the channel is
 * broken (close it). */
int st_channel_call(st_channel_t *ch, int32_t api_key, int32_t api_version,
                    const ProtobufCMessage *body, int timeout_ms, st_buf_t *frame,
                    st_frame_view_t *ret_view);
void st_channel_close(st_channel_t *ch);
const char *st_channel_peer(const st_channel_t *ch);
/* The socket, for another thread to shutdown(2) it and so end a blocked st_channel_call early
 * (the owner must make sure the channel is not closed meanwhile). -1 if none. */
int st_channel_fd(const st_channel_t *ch);

#endif
