/* bench/lite-viewers — N light WebRTC receive-only peers in one process and
 * one thread, so a WHEP benchmark measures lobbyd rather than its client.
 *
 * Each peer has its own UDP socket on 127.0.0.1, ICE credentials and a
 * recvonly H.264 offer; after the answer it runs ICE as the controlling full
 * agent (checks with USE-CANDIDATE, consent refresh every 2 s, answers the
 * remote agent's own checks; an SRTCP receiver report every second), DTLS 1.2 in the role the
 * answer's a=setup implies (OpenSSL on memory BIOs, use_srtp SRTP_AES128_CM_SHA1_80, remote
 * certificate checked against the answer's fingerprint), and counts what it
 * unprotects: RTP packets, bytes, sequence gaps, access units (marker bit)
 * and key frames (IDR slices in single NAL, STAP-A and FU-A packets). No
 * jitter buffer, no depacketizer beyond what counting needs, no decode.
 *
 * Loopback only: remote candidates outside 127.0.0.0/8 are ignored.
 *
 * Orchestrated over JSON lines (the caller does the HTTP): one command per
 * stdin line, one JSON line answers it on stdout.
 *   {"cmd":"add","n":N}                  -> {"peers":[{"peer":i,"offer":"v=0..."},...]}
 *     "audio":true also offers a BUNDLEd recvonly Opus m-line (payload type
 *     AUDIO_PT): its packets are counted apart (audio_rtp, audio_bytes)
 *   {"cmd":"answer","peer":i,"sdp":"..."} -> {"peer":i,"ok":true} or {"peer":i,"error":"..."}
 *   {"cmd":"stats"}                       -> {"now":s,"peers":[{"peer":i,"state":..,"aus":..},...]}
 *   {"cmd":"pli","peer":i}                -> {"peer":i,"ok":bool} (an SRTCP PLI to the sender)
 *   {"cmd":"dump","peer":i,"path":"f"}    -> {"peer":i,"ok":bool}: Annex-B of the peer's H.264
 *                                            from its next SPS on, for a decode check
 *   {"cmd":"close","peer":i}              -> {"peer":i,"ok":true} (socket closed)
 *   {"cmd":"quit"}                        -> {"ok":true}, then exit
 * "now" and the t_* fields are CLOCK_MONOTONIC seconds (Python's
 * time.monotonic()). Each peer's "srs" lists the RTCP sender reports (PT 200)
 * it unprotected, per SSRC: count, the last one's ntp (as Unix seconds),
 * rtp_ts, packets, octets and real_recv (wall clock seconds when it came);
 * video_ssrc/audio_ssrc with last_ts/last_real of the last RTP packet of each
 * let a caller check the SRs' RTP/NTP mappings.
 *    bench-lite-viewers [--interval S]   (S > 0: also a stats line every S s)
 */
#include "lb-dtls-keys.h"
#include "lb-stun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REMOTE 8
#define DTLS_MTU 1200
#define TICK_MS 20
#define CHECK_INTERVAL_US (100 * 1000)
#define CONSENT_INTERVAL_US (2 * G_USEC_PER_SEC)
#define ICE_GIVE_UP_US (30 * G_USEC_PER_SEC)
#define RR_INTERVAL_US (1 * G_USEC_PER_SEC)
#define RCVBUF (1 << 20)
#define BATCH 32
#define PKT 2048
#define AUDIO_PT 111
#define MAX_SRS 4

typedef enum
{
  PEER_NEW,      /* offer made, no answer yet */
  PEER_CHECKING, /* ICE checks out */
  PEER_DTLS,     /* a pair works, DTLS handshaking */
  PEER_CONNECTED,
  PEER_FAILED,
  PEER_CLOSED,
} PeerState;

static const char *const state_names[]
    = { "new", "checking", "dtls", "connected", "failed", "closed" };

typedef struct
{
  struct sockaddr_in addr;
  guint8 txn[12]; /* the last check sent to it */
  gboolean succeeded;
} Remote;

/* The sender reports seen for one SSRC. */
typedef struct
{
  guint32 ssrc, rtp_ts, packets, octets;
  guint64 count, ntp;
  gint64 real_recv_us;
} SrSeen;

typedef struct
{
  int index;
  gboolean audio; /* offered Opus too */
  int fd;
  guint16 port;
  char ufrag[9], pwd[25];
  PeerState state;
  char *error;

  /* From the answer. */
  char *remote_ufrag, *remote_pwd, *remote_fp;
  gboolean dtls_server;
  Remote remote[MAX_REMOTE];
  int n_remote;
  int selected; /* index into remote, -1 until a check succeeded */
  gint64 t_answer_us, t_next_check_us, t_ice_us, t_connected_us, t_next_rr_us;

  SSL *ssl;
  BIO *rbio, *wbio;
  srtp_t rx, tx;

  /* Counts. */
  guint64 rtp, bytes, aus, keyframes, lost, reordered, srtp_errors, rtcp, stun_in;
  gboolean have_seq, au_key;
  guint16 last_seq;
  guint32 seq_cycles; /* RFC 3550 A.1: the extended sequence number's top half */
  guint32 remote_ssrc, local_ssrc;
  gint64 t_first_rtp_us, t_last_rtp_us, t_first_key_us, t_first_au_us;
  guint32 video_last_ts, audio_ssrc, audio_last_ts;
  gint64 video_last_real_us, audio_last_real_us;
  guint64 audio_rtp, audio_bytes;
  SrSeen srs[MAX_SRS];
  int n_srs;

  /* Annex-B dump (decode check). */
  FILE *dump;
  gboolean dump_started;
} Peer;

static GPtrArray *peers;
static SSL_CTX *ssl_ctx;
static char fingerprint[LB_DTLS_FINGERPRINT_SIZE];
static int epfd = -1;
static guint64 tie_breaker;
static GMainLoop *loop;
static double interval_s;
static gint64 next_report_us;

/* ---- Output ---- */

static void
emit (JsonBuilder *b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static void
emit_peer_result (int index, gboolean ok, const char *error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "peer");
  json_builder_add_int_value (b, index);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, ok);
  if (error != NULL)
    {
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, error);
    }
  json_builder_end_object (b);
  emit (b);
}

static void
fail (Peer *p, const char *why)
{
  if (p->state == PEER_FAILED || p->state == PEER_CLOSED)
    return;
  g_free (p->error);
  p->error = g_strdup (why);
  p->state = PEER_FAILED;
  g_printerr ("lite-viewers: peer %d failed: %s\n", p->index, why);
}

/* ---- DTLS setup ---- */

static int
accept_any (int preverify, X509_STORE_CTX *store)
{
  return 1;
}

static gboolean
dtls_init (void)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");
  if (key == NULL)
    return FALSE;
  X509 *cert = X509_new ();
  X509_set_version (cert, 2);
  ASN1_INTEGER_set_uint64 (X509_get_serialNumber (cert), g_random_int ());
  X509_gmtime_adj (X509_getm_notBefore (cert), -86400);
  X509_gmtime_adj (X509_getm_notAfter (cert), 30L * 86400);
  X509_NAME *name = X509_get_subject_name (cert);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *)"lite-viewers", -1,
                              -1, 0);
  X509_set_issuer_name (cert, name);
  X509_set_pubkey (cert, key);
  gboolean ok = X509_sign (cert, key, EVP_sha256 ()) > 0;
  /* One context for both roles: each SSL picks connect or accept state. */
  ssl_ctx = ok ? SSL_CTX_new (DTLS_method ()) : NULL;
  ok = ssl_ctx != NULL && SSL_CTX_use_certificate (ssl_ctx, cert) == 1
       && SSL_CTX_use_PrivateKey (ssl_ctx, key) == 1
       && SSL_CTX_set_tlsext_use_srtp (ssl_ctx, "SRTP_AES128_CM_SHA1_80") == 0
       && srtp_init () == srtp_err_status_ok;
  if (ok)
    {
      SSL_CTX_set_min_proto_version (ssl_ctx, DTLS1_2_VERSION);
      SSL_CTX_set_max_proto_version (ssl_ctx, DTLS1_2_VERSION);
      /* Self-signed on both sides: checked against the answer's
       * fingerprint once the handshake is done. */
      SSL_CTX_set_verify (ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
      SSL_CTX_set_read_ahead (ssl_ctx, 1);
      lb_dtls_srtp_digest (cert, fingerprint);
    }
  X509_free (cert);
  EVP_PKEY_free (key);
  return ok;
}

/* ---- Sending ---- */

static void
send_to (Peer *p, const struct sockaddr_in *to, const guint8 *data, gsize len)
{
  if (sendto (p->fd, data, len, 0, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EAGAIN)
    g_printerr ("lite-viewers: peer %d: sendto: %s\n", p->index, g_strerror (errno));
}

/* What OpenSSL wrote: one datagram (a flight is a few records, well under
 * loopback's MTU). */
static void
dtls_drain (Peer *p)
{
  size_t n = BIO_ctrl_pending (p->wbio);
  if (n == 0 || p->selected < 0)
    {
      if (n > 0)
        (void)BIO_reset (p->wbio);
      return;
    }
  guint8 *buf = g_malloc (n);
  int got = BIO_read (p->wbio, buf, (int)n);
  if (got > 0)
    send_to (p, &p->remote[p->selected].addr, buf, (gsize)got);
  g_free (buf);
}

static void
put16 (guint8 *b, guint16 v)
{
  b[0] = v >> 8;
  b[1] = v & 0xff;
}

static void
put32 (guint8 *b, guint32 v)
{
  b[0] = v >> 24;
  b[1] = v >> 16;
  b[2] = v >> 8;
  b[3] = v & 0xff;
}

static guint16
get16 (const guint8 *b)
{
  return (guint16)(b[0] << 8 | b[1]);
}

static guint32
get32 (const guint8 *b)
{
  return (guint32)b[0] << 24 | (guint32)b[1] << 16 | (guint32)b[2] << 8 | b[3];
}

/* A Binding request as the controlling agent (RFC 8445 §7.1.1): USERNAME
 * "remote:local", PRIORITY (a peer-reflexive host's), ICE-CONTROLLING, and
 * USE-CANDIDATE (aggressive nomination) unless a consent refresh. */
static void
send_check (Peer *p, Remote *r, gboolean nominate)
{
  guint8 m[256];
  memset (m, 0, sizeof m);
  put16 (m, LB_STUN_BINDING_REQUEST);
  put32 (m + 4, LB_STUN_MAGIC);
  for (int i = 0; i < 12; i++)
    r->txn[i] = (guint8)g_random_int ();
  memcpy (m + 8, r->txn, 12);
  gsize len = LB_STUN_HEADER;
  g_autofree char *user = g_strdup_printf ("%s:%s", p->remote_ufrag, p->ufrag);
  gsize ulen = strlen (user);
  if (ulen > 128)
    return;
  put16 (m + len, 0x0006);
  put16 (m + len + 2, (guint16)ulen);
  memcpy (m + len + 4, user, ulen);
  len += 4 + ((ulen + 3) & ~(gsize)3);
  put16 (m + len, 0x0024); /* PRIORITY */
  put16 (m + len + 2, 4);
  put32 (m + len + 4, (110u << 24) | (65535u << 8) | 255u);
  len += 8;
  put16 (m + len, 0x802A); /* ICE-CONTROLLING */
  put16 (m + len + 2, 8);
  put32 (m + len + 4, (guint32)(tie_breaker >> 32));
  put32 (m + len + 8, (guint32)tie_breaker);
  len += 12;
  if (nominate)
    {
      put16 (m + len, 0x0025); /* USE-CANDIDATE */
      put16 (m + len + 2, 0);
      len += 4;
    }
  len = lb_stun_finish (m, len, sizeof m, p->remote_pwd);
  if (len > 0)
    send_to (p, &r->addr, m, len);
}

static void
send_pli (Peer *p)
{
  if (p->tx == NULL || p->selected < 0)
    return;
  guint8 m[12 + SRTP_MAX_TRAILER_LEN + 4];
  m[0] = 0x80 | 1; /* V=2, FMT=1 (PLI) */
  m[1] = 206;      /* PSFB */
  put16 (m + 2, 2);
  put32 (m + 4, p->local_ssrc);
  put32 (m + 8, p->remote_ssrc);
  int len = 12;
  if (srtp_protect_rtcp (p->tx, m, &len) == srtp_err_status_ok)
    send_to (p, &p->remote[p->selected].addr, m, (gsize)len);
}

/* A receiver report (RFC 3550 §6.4.2) about the sender's stream, about once a
 * second as browsers send them: lobbyd's webrtcbin stack hears its viewers
 * only through RTCP, DTLS and SCTP (libnice keeps STUN to itself), and ends
 * a silent one after peer_timeout_s. */
static void
send_rr (Peer *p)
{
  if (p->tx == NULL || p->selected < 0)
    return;
  guint8 m[32 + SRTP_MAX_TRAILER_LEN + 4];
  memset (m, 0, sizeof m);
  gboolean block = p->have_seq;
  m[0] = 0x80 | (block ? 1 : 0);
  m[1] = 201;
  put16 (m + 2, block ? 7 : 1);
  put32 (m + 4, p->local_ssrc);
  if (block)
    {
      put32 (m + 8, p->remote_ssrc);
      put32 (m + 12, (guint32)MIN (p->lost, 0x7fffff)); /* fraction lost 0 */
      put32 (m + 16, p->seq_cycles | p->last_seq);
      /* jitter, LSR, DLSR: 0 (no SR timing kept) */
    }
  int len = block ? 32 : 8;
  if (srtp_protect_rtcp (p->tx, m, &len) == srtp_err_status_ok)
    send_to (p, &p->remote[p->selected].addr, m, (gsize)len);
}

/* ---- DTLS ---- */

static void
dtls_start (Peer *p)
{
  p->ssl = SSL_new (ssl_ctx);
  p->rbio = BIO_new (BIO_s_mem ());
  p->wbio = BIO_new (BIO_s_mem ());
  BIO_set_mem_eof_return (p->rbio, -1);
  BIO_set_mem_eof_return (p->wbio, -1);
  SSL_set_bio (p->ssl, p->rbio, p->wbio);
  SSL_set_options (p->ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu (p->ssl, DTLS_MTU);
  if (p->dtls_server)
    SSL_set_accept_state (p->ssl);
  else
    {
      SSL_set_connect_state (p->ssl);
      SSL_do_handshake (p->ssl);
      dtls_drain (p);
    }
}

static gboolean
make_srtp (Peer *p)
{
  return lb_dtls_srtp_key (p->ssl, p->dtls_server, &p->tx, &p->rx);
}

static gboolean
check_fingerprint (Peer *p)
{
  const char *want = p->remote_fp ? strchr (p->remote_fp, ' ') : NULL;
  if (want == NULL || g_ascii_strncasecmp (p->remote_fp, "sha-256", 7) != 0)
    return FALSE;
  X509 *cert = SSL_get1_peer_certificate (p->ssl);
  if (cert == NULL)
    return FALSE;
  char got[sizeof fingerprint];
  lb_dtls_srtp_digest (cert, got);
  X509_free (cert);
  return g_ascii_strcasecmp (got, want + 1) == 0;
}

static void select_pair (Peer *p, int i);
static int find_remote (Peer *p, const struct sockaddr_in *from);

static void
on_dtls (Peer *p, const guint8 *data, gsize len, const struct sockaddr_in *from)
{
  /* As DTLS server, the client's hello may beat our own check's answer: the
   * remote agent found the pair working first. */
  if (p->ssl == NULL && p->state == PEER_CHECKING && p->dtls_server && find_remote (p, from) >= 0)
    select_pair (p, find_remote (p, from));
  if (p->ssl == NULL)
    return;
  BIO_write (p->rbio, data, (int)len);
  if (p->state == PEER_DTLS)
    {
      int r = SSL_do_handshake (p->ssl);
      dtls_drain (p);
      if (r == 1)
        {
          if (!check_fingerprint (p))
            fail (p, "DTLS: the remote certificate does not match the answer's fingerprint");
          else if (!make_srtp (p))
            fail (p, "DTLS: no SRTP keys (use_srtp not negotiated?)");
          else
            {
              p->state = PEER_CONNECTED;
              p->t_connected_us = g_get_monotonic_time ();
            }
        }
      else
        {
          int e = SSL_get_error (p->ssl, r);
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            {
              char why[256];
              g_snprintf (why, sizeof why, "DTLS handshake failed (%d): %s", e,
                          ERR_error_string (ERR_get_error (), NULL));
              ERR_clear_error ();
              fail (p, why);
            }
        }
      return;
    }
  guint8 buf[PKT];
  int r = SSL_read (p->ssl, buf, sizeof buf);
  dtls_drain (p);
  if (r <= 0)
    {
      int e = SSL_get_error (p->ssl, r);
      if (e == SSL_ERROR_ZERO_RETURN)
        fail (p, "DTLS close_notify from the sender");
      ERR_clear_error ();
    }
}

/* ---- ICE ---- */

static void
select_pair (Peer *p, int i)
{
  if (p->selected >= 0)
    return;
  p->selected = i;
  p->t_ice_us = g_get_monotonic_time ();
  p->t_next_check_us = p->t_ice_us + CONSENT_INTERVAL_US;
  p->state = PEER_DTLS;
  dtls_start (p);
}

static int
find_remote (Peer *p, const struct sockaddr_in *from)
{
  for (int i = 0; i < p->n_remote; i++)
    if (p->remote[i].addr.sin_port == from->sin_port
        && p->remote[i].addr.sin_addr.s_addr == from->sin_addr.s_addr)
      return i;
  return -1;
}

static void
on_stun (Peer *p, const guint8 *buf, gsize len, const struct sockaddr_in *from)
{
  LbStunMessage msg;
  if (!lb_stun_parse (buf, len, &msg))
    return;
  p->stun_in++;
  if (msg.type == LB_STUN_BINDING_SUCCESS)
    {
      for (int i = 0; i < p->n_remote; i++)
        if (memcmp (p->remote[i].txn, msg.transaction, 12) == 0)
          {
            if (p->remote_pwd == NULL || !lb_stun_check_integrity (buf, len, p->remote_pwd))
              return;
            p->remote[i].succeeded = TRUE;
            select_pair (p, i);
            return;
          }
      return;
    }
  if (msg.type != LB_STUN_BINDING_REQUEST)
    return;
  /* The remote agent's own check (a full agent sends them): "ours:theirs". */
  gsize ul = strlen (p->ufrag);
  if (msg.username == NULL || msg.username_len <= ul || memcmp (msg.username, p->ufrag, ul) != 0
      || msg.username[ul] != ':' || !lb_stun_check_integrity (buf, len, p->pwd))
    return;
  g_autoptr (GSocketAddress) addr = g_socket_address_new_from_native ((gpointer)from, sizeof *from);
  guint8 out[LB_STUN_MAX_ANSWER];
  gsize n = lb_stun_binding_success (&msg, addr, p->pwd, out, sizeof out);
  if (n > 0)
    send_to (p, from, out, n);
  /* A check from an address the answer did not list: a peer-reflexive
   * candidate; learn it (loopback only) so our checks go there too. */
  if (find_remote (p, from) < 0 && p->n_remote < MAX_REMOTE
      && (ntohl (from->sin_addr.s_addr) >> 24) == 127)
    {
      Remote *r = &p->remote[p->n_remote++];
      memset (r, 0, sizeof *r);
      r->addr = *from;
      if (p->state == PEER_CHECKING)
        send_check (p, r, TRUE);
    }
}

/* ---- RTP ---- */

static void
dump_nal (Peer *p, const guint8 *nal, gsize len, gboolean fragment_start, guint8 fu_header)
{
  static const guint8 start[] = { 0, 0, 0, 1 };
  int type = fragment_start ? (fu_header & 0x1f) : (nal[0] & 0x1f);
  if (!p->dump_started)
    {
      if (type != 7)
        return;
      p->dump_started = TRUE;
    }
  fwrite (start, 1, sizeof start, p->dump);
  if (fragment_start)
    fputc (fu_header, p->dump);
  fwrite (nal, 1, len, p->dump);
}

static void
on_h264 (Peer *p, const guint8 *pl, gsize len)
{
  if (len < 1)
    return;
  int type = pl[0] & 0x1f;
  if (type >= 1 && type <= 23)
    {
      if (type == 5)
        p->au_key = TRUE;
      if (p->dump)
        dump_nal (p, pl, len, FALSE, 0);
    }
  else if (type == 24) /* STAP-A: 16-bit sizes, then NAL units */
    {
      gsize at = 1;
      while (at + 2 < len)
        {
          gsize n = get16 (pl + at);
          at += 2;
          if (n == 0 || at + n > len)
            break;
          if ((pl[at] & 0x1f) == 5)
            p->au_key = TRUE;
          if (p->dump)
            dump_nal (p, pl + at, n, FALSE, 0);
          at += n;
        }
    }
  else if (type == 28 && len >= 2) /* FU-A */
    {
      gboolean first = (pl[1] & 0x80) != 0;
      if (first && (pl[1] & 0x1f) == 5)
        p->au_key = TRUE;
      if (p->dump && first)
        dump_nal (p, pl + 2, len - 2, TRUE, (pl[0] & 0xe0) | (pl[1] & 0x1f));
      else if (p->dump && p->dump_started)
        fwrite (pl + 2, 1, len - 2, p->dump);
    }
}

/* The SRs of an unprotected compound RTCP packet. */
static void
on_rtcp (Peer *p, const guint8 *buf, gsize len)
{
  gint64 now = g_get_real_time ();
  for (gsize at = 0; at + 4 <= len;)
    {
      gsize size = 4 * ((gsize)get16 (buf + at + 2) + 1);
      if ((buf[at] >> 6) != 2 || at + size > len)
        break;
      if (buf[at + 1] == 200 && size >= 28)
        {
          const guint8 *sr = buf + at;
          guint32 ssrc = get32 (sr + 4);
          int i = 0;
          while (i < p->n_srs && p->srs[i].ssrc != ssrc)
            i++;
          if (i == p->n_srs && p->n_srs < MAX_SRS)
            p->srs[p->n_srs++].ssrc = ssrc;
          if (i < MAX_SRS)
            {
              SrSeen *s = &p->srs[i];
              s->count++;
              s->ntp = (guint64)get32 (sr + 8) << 32 | get32 (sr + 12);
              s->rtp_ts = get32 (sr + 16);
              s->packets = get32 (sr + 20);
              s->octets = get32 (sr + 24);
              s->real_recv_us = now;
            }
        }
      at += size;
    }
}

static void
on_rtp (Peer *p, guint8 *buf, gsize len)
{
  if (len < 12 || p->rx == NULL)
    return;
  int pt = buf[1] & 0x7f;
  if (pt >= 72 && pt <= 79) /* RTCP (RFC 5761 §4): SR, SDES, BYE */
    {
      int n = (int)len;
      if (srtp_unprotect_rtcp (p->rx, buf, &n) == srtp_err_status_ok)
        {
          p->rtcp++;
          on_rtcp (p, buf, (gsize)n);
        }
      return;
    }
  int n = (int)len;
  if (srtp_unprotect (p->rx, buf, &n) != srtp_err_status_ok)
    {
      p->srtp_errors++;
      return;
    }
  gint64 now = g_get_monotonic_time ();
  if (p->audio && pt == AUDIO_PT)
    {
      p->audio_rtp++;
      p->audio_bytes += (guint64)n;
      p->audio_ssrc = get32 (buf + 8);
      p->audio_last_ts = get32 (buf + 4);
      p->audio_last_real_us = g_get_real_time ();
      return;
    }
  p->video_last_ts = get32 (buf + 4);
  p->video_last_real_us = g_get_real_time ();
  p->rtp++;
  p->bytes += (guint64)n;
  if (p->t_first_rtp_us == 0)
    p->t_first_rtp_us = now;
  p->t_last_rtp_us = now;
  guint16 seq = get16 (buf + 2);
  p->remote_ssrc = get32 (buf + 8);
  if (p->have_seq)
    {
      gint16 delta = (gint16)(seq - p->last_seq);
      if (delta > 1)
        p->lost += (guint64)(delta - 1);
      if (delta <= 0)
        p->reordered++;
      else
        {
          if (seq < p->last_seq)
            p->seq_cycles += 1u << 16;
          p->last_seq = seq;
        }
    }
  else
    p->have_seq = TRUE, p->last_seq = seq;

  gsize at = 12 + 4u * (buf[0] & 0x0f);
  if ((buf[0] & 0x10) && at + 4 <= (gsize)n) /* header extension */
    at += 4 + 4u * get16 (buf + at + 2);
  gsize end = (gsize)n;
  if ((buf[0] & 0x20) && end > at) /* padding */
    end -= MIN (buf[end - 1], end - at);
  if (at < end)
    on_h264 (p, buf + at, end - at);
  if (buf[1] & 0x80) /* marker: the access unit's last packet */
    {
      p->aus++;
      if (p->t_first_au_us == 0)
        p->t_first_au_us = now;
      if (p->au_key)
        {
          p->keyframes++;
          if (p->t_first_key_us == 0)
            p->t_first_key_us = now;
        }
      p->au_key = FALSE;
    }
}

static void
on_datagram (Peer *p, guint8 *buf, gsize len, const struct sockaddr_in *from)
{
  if (len == 0 || p->state == PEER_CLOSED)
    return;
  guint8 b = buf[0];
  /* RFC 7983 demultiplexing. */
  if (b < 4)
    on_stun (p, buf, len, from);
  else if (b >= 20 && b < 64)
    on_dtls (p, buf, len, from);
  else if (b >= 128 && b < 192 && p->state == PEER_CONNECTED)
    on_rtp (p, buf, len);
}

static gboolean
on_epoll (int fd, GIOCondition cond, gpointer data)
{
  struct epoll_event ev[64];
  int n = epoll_wait (epfd, ev, G_N_ELEMENTS (ev), 0);
  static guint8 bufs[BATCH][PKT];
  static struct sockaddr_in from[BATCH];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int e = 0; e < n; e++)
    {
      Peer *p = ev[e].data.ptr;
      for (;;)
        {
          for (int i = 0; i < BATCH; i++)
            {
              iov[i].iov_base = bufs[i];
              iov[i].iov_len = PKT;
              memset (&msgs[i], 0, sizeof msgs[i]);
              msgs[i].msg_hdr.msg_iov = &iov[i];
              msgs[i].msg_hdr.msg_iovlen = 1;
              msgs[i].msg_hdr.msg_name = &from[i];
              msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            }
          int got = recvmmsg (p->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
          if (got <= 0)
            break;
          for (int i = 0; i < got && p->fd >= 0; i++)
            on_datagram (p, bufs[i], msgs[i].msg_len, &from[i]);
          if (got < BATCH || p->fd < 0)
            break;
        }
    }
  return G_SOURCE_CONTINUE;
}

/* ---- Peers, offers, answers ---- */

static void
random_token (char *out, gsize len)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  for (gsize i = 0; i < len; i++)
    out[i] = alphabet[g_random_int_range (0, 64)];
  out[len] = '\0';
}

static Peer *
peer_new (GError **error)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "socket: %s",
                   g_strerror (errno));
      return NULL;
    }
  int rcvbuf = RCVBUF;
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  if (bind (fd, (struct sockaddr *)&a, sizeof a) < 0
      || getsockname (fd, (struct sockaddr *)&a, &alen) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "bind: %s",
                   g_strerror (errno));
      close (fd);
      return NULL;
    }
  Peer *p = g_new0 (Peer, 1);
  p->index = (int)peers->len;
  p->fd = fd;
  p->port = ntohs (a.sin_port);
  p->selected = -1;
  p->local_ssrc = g_random_int ();
  random_token (p->ufrag, 8);
  random_token (p->pwd, 24);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };
  epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &ev);
  g_ptr_array_add (peers, p);
  return p;
}

static char *
peer_offer (Peer *p)
{
  g_autofree char *audio
      = p->audio ? g_strdup_printf (
            "m=audio %u UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n"
            "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
            "a=setup:actpass\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n"
            "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n",
            p->port, AUDIO_PT, p->ufrag, p->pwd, fingerprint, AUDIO_PT, AUDIO_PT)
                 : g_strdup ("");
  return g_strdup_printf (
      "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0%s\r\n"
      "a=msid-semantic: WMS\r\n"
      "m=video %u UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 127.0.0.1\r\n"
      "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:actpass\r\n"
      "a=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n"
      "a=rtcp-fb:102 nack pli\r\n"
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
      "a=candidate:1 1 UDP 2130706431 127.0.0.1 %u typ host\r\na=end-of-candidates\r\n%s",
      g_random_int () >> 1, p->audio ? " 1" : "", p->port, p->ufrag, p->pwd, fingerprint, p->port,
      audio);
}

static void
peer_close (Peer *p)
{
  if (p->fd >= 0)
    {
      epoll_ctl (epfd, EPOLL_CTL_DEL, p->fd, NULL);
      close (p->fd);
      p->fd = -1;
    }
  if (p->dump)
    fclose (p->dump), p->dump = NULL;
  if (p->state != PEER_FAILED)
    p->state = PEER_CLOSED;
}

/* The first value of an "a=key:" line anywhere in @sdp (the answer has one
 * accepted m-line: session and media attributes mean the same here). */
static char *
sdp_attr (char **lines, const char *key)
{
  gsize kl = strlen (key);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, "a=") && strncmp (*l + 2, key, kl) == 0 && (*l)[2 + kl] == ':')
      return g_strstrip (g_strdup (*l + 3 + kl));
  return NULL;
}

static void
add_remote (Peer *p, const char *ip, int port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((guint16)port) };
  /* Loopback only: this client never sends elsewhere. */
  if (port <= 0 || port > 65535 || inet_pton (AF_INET, ip, &a.sin_addr) != 1
      || (ntohl (a.sin_addr.s_addr) >> 24) != 127 || p->n_remote >= MAX_REMOTE
      || find_remote (p, &a) >= 0)
    return;
  p->remote[p->n_remote++].addr = a;
}

static const char *
peer_answer (Peer *p, const char *sdp)
{
  if (p->state != PEER_NEW)
    return "the peer already has an answer";
  g_auto (GStrv) lines = g_strsplit_set (sdp, "\r\n", -1);
  p->remote_ufrag = sdp_attr (lines, "ice-ufrag");
  p->remote_pwd = sdp_attr (lines, "ice-pwd");
  p->remote_fp = sdp_attr (lines, "fingerprint");
  g_autofree char *setup = sdp_attr (lines, "setup");
  if (!p->remote_ufrag || !p->remote_pwd || !p->remote_fp || !setup)
    return "the answer lacks ice-ufrag, ice-pwd, fingerprint or setup";
  /* Answer "passive": they are the DTLS server; "active": we are. */
  p->dtls_server = g_str_equal (setup, "active");
  for (char **l = lines; *l; l++)
    {
      if (!g_str_has_prefix (*l, "a=candidate:"))
        continue;
      g_auto (GStrv) f = g_strsplit (*l + 12, " ", -1);
      if (g_strv_length (f) >= 8 && g_str_equal (f[1], "1")
          && g_ascii_strcasecmp (f[2], "udp") == 0)
        add_remote (p, f[4], atoi (f[5]));
    }
  if (p->n_remote == 0)
    return "the answer has no UDP candidate on 127.0.0.0/8";
  p->state = PEER_CHECKING;
  p->t_answer_us = g_get_monotonic_time ();
  p->t_next_check_us = 0;
  return NULL;
}

/* ---- Timers ---- */

static void emit_stats (void);

static gboolean
on_tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < peers->len; i++)
    {
      Peer *p = peers->pdata[i];
      if (p->state == PEER_CHECKING)
        {
          if (now - p->t_answer_us > ICE_GIVE_UP_US)
            fail (p, "ICE: no check succeeded");
          else if (now >= p->t_next_check_us)
            {
              for (int r = 0; r < p->n_remote; r++)
                send_check (p, &p->remote[r], TRUE);
              p->t_next_check_us = now + CHECK_INTERVAL_US;
            }
        }
      else if ((p->state == PEER_DTLS || p->state == PEER_CONNECTED) && now >= p->t_next_check_us)
        {
          /* Consent freshness (RFC 7675), which lobbyd's peer_timeout reads as
           * liveness. Nominating again is harmless and covers a lost first. */
          send_check (p, &p->remote[p->selected], p->state == PEER_DTLS);
          p->t_next_check_us = now + CONSENT_INTERVAL_US;
        }
      if (p->state == PEER_DTLS && p->ssl != NULL && DTLSv1_handle_timeout (p->ssl) > 0)
        dtls_drain (p);
      if (p->state == PEER_CONNECTED && now >= p->t_next_rr_us)
        {
          send_rr (p);
          p->t_next_rr_us = now + RR_INTERVAL_US;
        }
    }
  if (interval_s > 0 && now >= next_report_us)
    {
      emit_stats ();
      next_report_us = now + (gint64)(interval_s * G_USEC_PER_SEC);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- Commands ---- */

static double
secs (gint64 us)
{
  return us / (double)G_USEC_PER_SEC;
}

static void
add_time (JsonBuilder *b, const char *name, gint64 us)
{
  json_builder_set_member_name (b, name);
  if (us)
    json_builder_add_double_value (b, secs (us));
  else
    json_builder_add_null_value (b);
}

static void
add_count (JsonBuilder *b, const char *name, guint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, (gint64)v);
}

static void
emit_stats (void)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_time (b, "now", g_get_monotonic_time ());
  json_builder_set_member_name (b, "peers");
  json_builder_begin_array (b);
  for (guint i = 0; i < peers->len; i++)
    {
      Peer *p = peers->pdata[i];
      json_builder_begin_object (b);
      add_count (b, "peer", (guint64)p->index);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, state_names[p->state]);
      if (p->error)
        {
          json_builder_set_member_name (b, "error");
          json_builder_add_string_value (b, p->error);
        }
      json_builder_set_member_name (b, "dtls");
      json_builder_add_string_value (b, p->state == PEER_NEW ? ""
                                        : p->dtls_server     ? "server"
                                                             : "client");
      add_count (b, "rtp", p->rtp);
      add_count (b, "bytes", p->bytes);
      add_count (b, "aus", p->aus);
      add_count (b, "keyframes", p->keyframes);
      add_count (b, "lost", p->lost);
      add_count (b, "reordered", p->reordered);
      add_count (b, "srtp_errors", p->srtp_errors);
      add_count (b, "rtcp", p->rtcp);
      add_count (b, "stun_in", p->stun_in);
      add_count (b, "audio_rtp", p->audio_rtp);
      add_count (b, "audio_bytes", p->audio_bytes);
      add_count (b, "video_ssrc", p->remote_ssrc);
      add_count (b, "video_last_ts", p->video_last_ts);
      add_time (b, "video_last_real", p->video_last_real_us);
      add_count (b, "audio_ssrc", p->audio_ssrc);
      add_count (b, "audio_last_ts", p->audio_last_ts);
      add_time (b, "audio_last_real", p->audio_last_real_us);
      json_builder_set_member_name (b, "srs");
      json_builder_begin_array (b);
      for (int s = 0; s < p->n_srs; s++)
        {
          const SrSeen *sr = &p->srs[s];
          json_builder_begin_object (b);
          add_count (b, "ssrc", sr->ssrc);
          add_count (b, "count", sr->count);
          /* NTP seconds since 1900 → Unix seconds. */
          json_builder_set_member_name (b, "ntp");
          json_builder_add_double_value (b, (double)(sr->ntp >> 32) - 2208988800.0
                                                + (double)(sr->ntp & 0xffffffffu) / 4294967296.0);
          add_count (b, "rtp_ts", sr->rtp_ts);
          add_count (b, "packets", sr->packets);
          add_count (b, "octets", sr->octets);
          add_time (b, "real_recv", sr->real_recv_us);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      add_time (b, "t_answer", p->t_answer_us);
      add_time (b, "t_ice", p->t_ice_us);
      add_time (b, "t_connected", p->t_connected_us);
      add_time (b, "t_first_rtp", p->t_first_rtp_us);
      add_time (b, "t_first_au", p->t_first_au_us);
      add_time (b, "t_first_key", p->t_first_key_us);
      add_time (b, "t_last_rtp", p->t_last_rtp_us);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  emit (b);
}

static Peer *
peer_arg (JsonObject *o)
{
  gint64 i = json_object_get_int_member_with_default (o, "peer", -1);
  return i >= 0 && i < peers->len ? peers->pdata[i] : NULL;
}

static void
command (const char *line)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (parser, line, -1, &error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      emit_peer_result (-1, FALSE, "not a JSON object");
      return;
    }
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  const char *cmd = json_object_get_string_member_with_default (o, "cmd", "");
  Peer *p = peer_arg (o);
  if (g_str_equal (cmd, "add"))
    {
      gint64 n = json_object_get_int_member_with_default (o, "n", 1);
      gboolean audio = json_object_get_boolean_member_with_default (o, "audio", FALSE);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "peers");
      json_builder_begin_array (b);
      for (gint64 i = 0; i < n; i++)
        {
          Peer *np = peer_new (&error);
          if (np == NULL)
            break;
          np->audio = audio;
          g_autofree char *offer = peer_offer (np);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "peer");
          json_builder_add_int_value (b, np->index);
          json_builder_set_member_name (b, "offer");
          json_builder_add_string_value (b, offer);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      if (error != NULL)
        {
          json_builder_set_member_name (b, "error");
          json_builder_add_string_value (b, error->message);
        }
      json_builder_end_object (b);
      emit (b);
    }
  else if (g_str_equal (cmd, "answer"))
    {
      const char *sdp = json_object_get_string_member_with_default (o, "sdp", "");
      const char *why = p ? peer_answer (p, sdp) : "no such peer";
      if (why != NULL && p != NULL)
        fail (p, why);
      emit_peer_result (p ? p->index : -1, why == NULL, why);
      if (why == NULL)
        on_tick (NULL); /* the first checks now, not on the next tick */
    }
  else if (g_str_equal (cmd, "stats"))
    emit_stats ();
  else if (g_str_equal (cmd, "pli"))
    {
      gboolean ok = p != NULL && p->state == PEER_CONNECTED;
      if (ok)
        send_pli (p);
      emit_peer_result (p ? p->index : -1, ok, ok ? NULL : "not connected");
    }
  else if (g_str_equal (cmd, "dump"))
    {
      const char *path = json_object_get_string_member_with_default (o, "path", NULL);
      gboolean ok
          = p != NULL && path != NULL && p->dump == NULL && (p->dump = fopen (path, "wb")) != NULL;
      emit_peer_result (p ? p->index : -1, ok, ok ? NULL : "cannot dump");
    }
  else if (g_str_equal (cmd, "close"))
    {
      if (p != NULL)
        peer_close (p);
      emit_peer_result (p ? p->index : -1, p != NULL, p ? NULL : "no such peer");
    }
  else if (g_str_equal (cmd, "quit"))
    {
      emit_peer_result (-1, TRUE, NULL);
      g_main_loop_quit (loop);
    }
  else
    emit_peer_result (-1, FALSE, "unknown command");
}

static GString *input;

static gboolean
on_stdin (int fd, GIOCondition cond, gpointer data)
{
  char buf[65536];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n <= 0)
    {
      if (n < 0 && errno == EINTR)
        return G_SOURCE_CONTINUE;
      g_main_loop_quit (loop); /* the orchestrator went away */
      return G_SOURCE_REMOVE;
    }
  g_string_append_len (input, buf, n);
  char *nl;
  while ((nl = memchr (input->str, '\n', input->len)) != NULL)
    {
      *nl = '\0';
      if (nl > input->str)
        command (input->str);
      g_string_erase (input, 0, nl - input->str + 1);
    }
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--interval") && i + 1 < argc)
        interval_s = g_ascii_strtod (argv[++i], NULL);
      else
        {
          fprintf (stderr, "usage: %s [--interval SECONDS]  (JSON-lines commands on stdin)\n",
                   argv[0]);
          return 2;
        }
    }
  if (!dtls_init ())
    {
      fprintf (stderr, "lite-viewers: cannot set up OpenSSL/libsrtp\n");
      return 1;
    }
  tie_breaker = (guint64)g_random_int () << 32 | g_random_int ();
  peers = g_ptr_array_new ();
  input = g_string_new (NULL);
  epfd = epoll_create1 (EPOLL_CLOEXEC);
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_set_fd_nonblocking (0, TRUE, NULL);
  g_unix_fd_add (0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
  g_unix_fd_add (epfd, G_IO_IN, on_epoll, NULL);
  g_timeout_add (TICK_MS, on_tick, NULL);
  g_main_loop_run (loop);
  for (guint i = 0; i < peers->len; i++)
    {
      Peer *p = peers->pdata[i];
      peer_close (p);
      if (p->ssl)
        SSL_free (p->ssl);
      if (p->rx)
        srtp_dealloc (p->rx);
      if (p->tx)
        srtp_dealloc (p->tx);
      g_free (p->remote_ufrag);
      g_free (p->remote_pwd);
      g_free (p->remote_fp);
      g_free (p->error);
      g_free (p);
    }
  g_ptr_array_free (peers, TRUE);
  g_string_free (input, TRUE);
  SSL_CTX_free (ssl_ctx);
  close (epfd);
  return 0;
}
