/* lb-dtls-srtp.h — one viewer's DTLS 1.2 server (RFC 5763 "setup:passive",
 * RFC 5764 use_srtp) on memory buffers, and the SRTP contexts keyed from it
 * (libsrtp2). No socket: datagrams in, datagrams out.
 *
 * Threads: lb_dtls_srtp_receive and _unprotect_rtcp on one thread
 * (the host's); lb_dtls_srtp_protect_rtp (streaming threads)
 * and _protect_rtcp, one at a time, from any thread once connected (their
 * outbound context is used by no one else); _free with the last reference. */
#pragma once

#include <glib.h>
#include "lb-dtls-keys.h"

G_BEGIN_DECLS

typedef struct _LbDtlsSrtp LbDtlsSrtp;

typedef enum
{
  LB_DTLS_HANDSHAKING,
  LB_DTLS_CONNECTED, /* SRTP keyed: media may flow */
  LB_DTLS_FAILED,    /* handshake error, fingerprint mismatch, alert */
  LB_DTLS_CLOSED,    /* the peer sent close_notify */
} LbDtlsState;

/* Room an SRTP packet needs past its RTP payload (the auth tag). */
#define LB_SRTP_TRAILER 16

/* Once per process: OpenSSL's context with a fresh self-signed ECDSA P-256
 * certificate, and libsrtp. */
gboolean lb_dtls_srtp_init (GError **error);
/* "AB:CD:…", the SHA-256 fingerprint of our certificate (a=fingerprint). */
const char *lb_dtls_srtp_fingerprint (void);

/* @remote_fingerprint: the offer's "sha-256 AB:…" value; the client's
 * certificate must match it (NULL: not checked). */
LbDtlsSrtp *lb_dtls_srtp_new (const char *remote_fingerprint);
void lb_dtls_srtp_free (LbDtlsSrtp *dtls);

/* Feeds one DTLS datagram from the peer; records to send back are appended
 * to @out (GBytes, one datagram each). */
LbDtlsState lb_dtls_srtp_receive (LbDtlsSrtp *dtls, const guint8 *data, gsize len, GPtrArray *out);
/* Handshake retransmission: call now and then while handshaking. */
void lb_dtls_srtp_tick (LbDtlsSrtp *dtls, GPtrArray *out);
LbDtlsState lb_dtls_srtp_get_state (LbDtlsSrtp *dtls);

/* Encrypts the RTP packet in @packet (@len bytes, room for
 * LB_SRTP_TRAILER more) in place; FALSE before connected or on error. */
gboolean lb_dtls_srtp_protect_rtp (LbDtlsSrtp *dtls, guint8 *packet, int *len);
/* Encrypts the RTCP (compound) packet in @packet (@len bytes, room for
 * LB_SRTCP_TRAILER more) in place: the tx context, so the caller keeps it
 * from running at the same time as lb_dtls_srtp_protect_rtp. */
#define LB_SRTCP_TRAILER 14 /* E flag + SRTCP index (4) and the 80-bit auth tag (10) */
gboolean lb_dtls_srtp_protect_rtcp (LbDtlsSrtp *dtls, guint8 *packet, int *len);
/* Decrypts an SRTCP packet in place. */
gboolean lb_dtls_srtp_unprotect_rtcp (LbDtlsSrtp *dtls, guint8 *packet, int *len);

G_END_DECLS
