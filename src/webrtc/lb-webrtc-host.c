/* lb-webrtc-host.c — shared UDP sockets, ICE-lite, DTLS-SRTP per viewer.
 *
 * The sockets and the per-peer timers run on ONE thread of their own: a
 * burst of 100 viewers connecting is 100 DTLS handshakes (ECDHE and ECDSA,
 * about a millisecond of CPU each), and on the main loop they held up every
 * API request behind them. The main loop only creates and closes peers and
 * receives their reports. */
#define G_LOG_DOMAIN "lobbyd-webrtc"
#include "lb-webrtc-host.h"
#include "lb-dtls-srtp.h"
#include "lb-error.h"
#include "lb-stun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Datagrams read per socket wake-up before other sources get a turn. */
#define READ_BURST 64
#define MAX_PACKET 1500
#define KEY_LEN (INET6_ADDRSTRLEN + 8)

typedef struct
{
  GSocket *socket;
  int fd;
  GSource *source;
  char *address;
  guint port;
  char *candidate;
} Sock;

struct _LbWebrtcPeer
{
  gint ref;
  char ufrag[9];
  char pwd[33];
  char *remote_ufrag;
  LbAllowList *allowed;
  LbWebrtcPeerFuncs funcs;
  gpointer data;
  gint closed; /* atomic: set on the main loop, read by the host thread */
  gboolean ended;
  LbDtlsSrtp *dtls;
  GPtrArray *addr_keys; /* by_addr keys that point here; under tables_lock */
  /* The viewer's nominated (or first checked) address, and the socket it
   * uses: read by the sending thread under @lock. */
  GMutex lock;
  gboolean connected;
  int fd;
  struct sockaddr_storage dest;
  socklen_t dest_len;
  Sock *sock;
  gboolean nominated;
  /* Host thread only. */
  gboolean checked; /* a Binding request passed */
  GSource *timer;   /* its own reference; destroyed by close */
  gint64 created_us, connected_us, last_rx_us;
  gint64 peer_timeout_us, connect_timeout_us;
  const char *state; /* atomic pointer: read by the main loop's stats */
};

static gsize started;
static gboolean start_ok;
static GError *start_error;
static GPtrArray *socks;      /* Sock* */
static GPtrArray *candidates; /* char*, NULL-terminated */
static GHashTable *by_ufrag;  /* our ufrag → peer (borrowed), under tables_lock */
static GHashTable *by_addr;   /* "ip|port|fd" → peer (borrowed), under tables_lock */
static GMutex tables_lock;
static GMainContext *host_context;
static gint live_peers;

LbRtcPacketKind
lb_webrtc_classify (const guint8 *data, gsize len)
{
  if (len == 0)
    return LB_RTC_PACKET_OTHER;
  guint8 b = data[0];
  if (b <= 3)
    return LB_RTC_PACKET_STUN;
  if (b >= 20 && b <= 63)
    return LB_RTC_PACKET_DTLS;
  if (b >= 128 && b <= 191)
    return LB_RTC_PACKET_RTP;
  return LB_RTC_PACKET_OTHER;
}

gboolean
lb_webrtc_is_rtcp (const guint8 *data, gsize len)
{
  return len >= 8 && lb_webrtc_classify (data, len) == LB_RTC_PACKET_RTP && data[1] >= 192
         && data[1] <= 223;
}

static void
addr_text (const struct sockaddr_storage *ss, char *ip, gsize ip_size, guint *port)
{
  if (ss->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
      inet_ntop (AF_INET6, &a->sin6_addr, ip, ip_size);
      *port = ntohs (a->sin6_port);
    }
  else
    {
      const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
      inet_ntop (AF_INET, &a->sin_addr, ip, ip_size);
      *port = ntohs (a->sin_port);
    }
}

static void
addr_key (const Sock *sock, const struct sockaddr_storage *ss, char *key)
{
  char ip[INET6_ADDRSTRLEN] = "";
  guint port = 0;
  addr_text (ss, ip, sizeof ip, &port);
  g_snprintf (key, KEY_LEN + 16, "%s|%u|%d", ip, port, sock->fd);
}

static gboolean
peer_closed (LbWebrtcPeer *peer)
{
  return g_atomic_int_get (&peer->closed);
}

static void
set_state (LbWebrtcPeer *peer, const char *state)
{
  g_atomic_pointer_set (&peer->state, state);
}

/* Looks a peer up and takes a reference, or NULL. */
static LbWebrtcPeer *
lookup (GHashTable *table, const char *key)
{
  g_mutex_lock (&tables_lock);
  LbWebrtcPeer *peer = g_hash_table_lookup (table, key);
  if (peer != NULL && !peer_closed (peer))
    lb_webrtc_peer_ref (peer);
  else
    peer = NULL;
  g_mutex_unlock (&tables_lock);
  return peer;
}

typedef enum
{
  REPORT_CONNECTED,
  REPORT_KEY_FRAME,
  REPORT_ENDED,
} ReportKind;

typedef struct
{
  LbWebrtcPeer *peer;
  ReportKind kind;
  const char *reason; /* static */
} Report;

static void
report_free (Report *r)
{
  lb_webrtc_peer_unref (r->peer);
  g_free (r);
}

/* Main loop: a peer closed meanwhile hears nothing more. */
static gboolean
deliver_report (gpointer user_data)
{
  Report *r = user_data;
  LbWebrtcPeer *peer = r->peer;
  if (peer_closed (peer))
    return G_SOURCE_REMOVE;
  switch (r->kind)
    {
    case REPORT_CONNECTED:
      if (peer->funcs.connected != NULL)
        peer->funcs.connected (peer->data);
      break;
    case REPORT_KEY_FRAME:
      if (peer->funcs.key_frame != NULL)
        peer->funcs.key_frame (peer->data);
      break;
    case REPORT_ENDED:
      if (peer->funcs.ended != NULL)
        peer->funcs.ended (r->reason, peer->data);
      break;
    }
  return G_SOURCE_REMOVE;
}

static void
report (LbWebrtcPeer *peer, ReportKind kind, const char *reason)
{
  Report *r = g_new0 (Report, 1);
  r->peer = lb_webrtc_peer_ref (peer);
  r->kind = kind;
  r->reason = reason;
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, deliver_report, r,
                              (GDestroyNotify)report_free);
}

static void
send_all (LbWebrtcPeer *peer, GPtrArray *out)
{
  g_mutex_lock (&peer->lock);
  for (guint i = 0; i < out->len && peer->fd >= 0; i++)
    {
      gsize n = 0;
      const void *p = g_bytes_get_data (out->pdata[i], &n);
      if (sendto (peer->fd, p, n, MSG_DONTWAIT, (struct sockaddr *)&peer->dest, peer->dest_len) < 0)
        g_debug ("WebRTC lite: sendto: %s", g_strerror (errno));
    }
  g_mutex_unlock (&peer->lock);
}

/* Reports the end once, then stays silent. The callee usually closes us. */
static void
end_peer (LbWebrtcPeer *peer, const char *reason)
{
  if (peer->ended || peer_closed (peer))
    return;
  peer->ended = TRUE;
  set_state (peer, g_str_equal (reason, "connection_failed") ? "failed" : "closed");
  g_mutex_lock (&peer->lock);
  peer->connected = FALSE;
  g_mutex_unlock (&peer->lock);
  g_info ("WebRTC lite viewer gone: %s", reason);
  report (peer, REPORT_ENDED, reason);
}

static void
on_stun (Sock *sock, const guint8 *buf, gsize len, const struct sockaddr_storage *from,
         socklen_t from_len, const char *key)
{
  LbStunMessage msg;
  if (!lb_stun_parse (buf, len, &msg))
    {
      g_debug ("WebRTC lite: malformed STUN from %s", key);
      return;
    }
  if (msg.type == LB_STUN_BINDING_INDICATION)
    {
      g_autoptr (LbWebrtcPeer) peer = lookup (by_addr, key);
      if (peer != NULL)
        peer->last_rx_us = g_get_monotonic_time ();
      return;
    }
  if (msg.type != LB_STUN_BINDING_REQUEST || msg.username == NULL || !msg.has_integrity
      || !msg.has_fingerprint)
    return;
  /* USERNAME is "our-ufrag:their-ufrag" (RFC 8445 §7.2.2). */
  const char *colon = memchr (msg.username, ':', msg.username_len);
  if (colon == NULL)
    return;
  g_autofree char *ours = g_strndup (msg.username, colon - msg.username);
  g_autoptr (LbWebrtcPeer) peer = lookup (by_ufrag, ours);
  if (peer == NULL || peer->ended)
    {
      g_debug ("WebRTC lite: STUN check for unknown ufrag %s from %s", ours, key);
      return;
    }
  gsize theirs_len = msg.username_len - (colon + 1 - msg.username);
  if (peer->remote_ufrag != NULL
      && (strlen (peer->remote_ufrag) != theirs_len
          || memcmp (peer->remote_ufrag, colon + 1, theirs_len) != 0))
    return;
  if (!lb_stun_check_integrity (buf, len, peer->pwd))
    {
      g_debug ("WebRTC lite: STUN check with a bad MESSAGE-INTEGRITY from %s", key);
      return;
    }
  char ip[INET6_ADDRSTRLEN] = "";
  guint port = 0;
  addr_text (from, ip, sizeof ip, &port);
  if (peer->allowed != NULL && !lb_allow_list_contains (peer->allowed, ip))
    {
      g_debug ("WebRTC lite: check from %s is not in [webrtc] allowed_candidates", ip);
      return;
    }
  peer->last_rx_us = g_get_monotonic_time ();
  peer->checked = TRUE;
  g_mutex_lock (&tables_lock);
  if (!peer_closed (peer) && !g_hash_table_contains (by_addr, key))
    {
      char *k = g_strdup (key);
      g_hash_table_insert (by_addr, k, peer);
      g_ptr_array_add (peer->addr_keys, g_strdup (key));
    }
  g_mutex_unlock (&tables_lock);
  /* The controlling agent (the browser) nominates; until it does, media
   * and DTLS go where the first check came from. */
  if (msg.use_candidate || !peer->nominated)
    {
      g_mutex_lock (&peer->lock);
      memcpy (&peer->dest, from, from_len);
      peer->dest_len = from_len;
      peer->fd = sock->fd;
      peer->sock = sock;
      peer->nominated = peer->nominated || msg.use_candidate;
      g_mutex_unlock (&peer->lock);
      if (g_str_equal (lb_webrtc_peer_get_state (peer), "new"))
        set_state (peer, "connecting");
    }
  guint8 answer[LB_STUN_MAX_ANSWER];
  g_autoptr (GSocketAddress) addr = g_socket_address_new_from_native ((gpointer)from, from_len);
  gsize n = lb_stun_binding_success (&msg, addr, peer->pwd, answer, sizeof answer);
  if (n > 0
      && sendto (sock->fd, answer, n, MSG_DONTWAIT, (const struct sockaddr *)from, from_len) < 0)
    g_debug ("WebRTC lite: STUN answer: %s", g_strerror (errno));
}

static void
on_dtls (LbWebrtcPeer *peer, const guint8 *buf, gsize len)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  LbDtlsState before = lb_dtls_srtp_get_state (peer->dtls);
  LbDtlsState state = lb_dtls_srtp_receive (peer->dtls, buf, len, out);
  send_all (peer, out);
  if (state == before)
    return;
  if (state == LB_DTLS_CONNECTED)
    {
      g_mutex_lock (&peer->lock);
      peer->connected = TRUE;
      g_mutex_unlock (&peer->lock);
      set_state (peer, "connected");
      peer->connected_us = g_get_monotonic_time ();
      g_debug ("WebRTC lite viewer %s connected", peer->ufrag);
      report (peer, REPORT_CONNECTED, NULL);
    }
  else if (state == LB_DTLS_FAILED || state == LB_DTLS_CLOSED)
    end_peer (peer, "connection_failed");
}

/* Compound RTCP: a PLI (PSFB, FMT 1) or FIR (FMT 4) anywhere in it. */
static gboolean
wants_key_frame (const guint8 *p, gsize len)
{
  gsize at = 0;
  while (at + 4 <= len)
    {
      guint8 fmt = p[at] & 0x1f, type = p[at + 1];
      gsize words = (gsize)(p[at + 2] << 8 | p[at + 3]) + 1;
      if (type == 206 && (fmt == 1 || fmt == 4))
        return TRUE;
      at += words * 4;
    }
  return FALSE;
}

static void
on_rtcp (LbWebrtcPeer *peer, guint8 *buf, gsize len)
{
  int n = (int)len;
  if (!lb_dtls_srtp_unprotect_rtcp (peer->dtls, buf, &n))
    return;
  peer->last_rx_us = g_get_monotonic_time ();
  if (wants_key_frame (buf, (gsize)n))
    report (peer, REPORT_KEY_FRAME, NULL);
}

static void
dispatch (Sock *sock, guint8 *buf, gsize len, const struct sockaddr_storage *from,
          socklen_t from_len)
{
  char key[KEY_LEN + 16];
  addr_key (sock, from, key);
  switch (lb_webrtc_classify (buf, len))
    {
    case LB_RTC_PACKET_STUN:
      on_stun (sock, buf, len, from, from_len, key);
      return;
    case LB_RTC_PACKET_DTLS:
    case LB_RTC_PACKET_RTP:
      break;
    default:
      return;
    }
  /* Only an address that passed a connectivity check gets further. */
  g_autoptr (LbWebrtcPeer) peer = lookup (by_addr, key);
  if (peer == NULL || peer->ended)
    return;
  if (lb_webrtc_classify (buf, len) == LB_RTC_PACKET_DTLS)
    {
      peer->last_rx_us = g_get_monotonic_time ();
      on_dtls (peer, buf, len);
    }
  else if (lb_webrtc_is_rtcp (buf, len))
    on_rtcp (peer, buf, len);
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Sock *sock = user_data;
  guint8 buf[MAX_PACKET + 64];
  for (int i = 0; i < READ_BURST; i++)
    {
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      ssize_t n
          = recvfrom (sock->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
      if (n < 0)
        break;
      dispatch (sock, buf, (gsize)n, &from, from_len);
    }
  return G_SOURCE_CONTINUE;
}

static GPtrArray *
default_addresses (void)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  struct ifaddrs *ifs = NULL;
  if (getifaddrs (&ifs) == 0)
    {
      for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next)
        {
          if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
            continue;
          char ip[INET6_ADDRSTRLEN];
          if (i->ifa_addr->sa_family == AF_INET)
            inet_ntop (AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof ip);
          else if (i->ifa_addr->sa_family == AF_INET6
                   && !IN6_IS_ADDR_LINKLOCAL (&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
            inet_ntop (AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip, sizeof ip);
          else
            continue;
          g_ptr_array_add (out, g_strdup (ip));
        }
      freeifaddrs (ifs);
    }
  if (out->len == 0)
    g_ptr_array_add (out, g_strdup ("127.0.0.1"));
  return out;
}

static Sock *
open_sock (const char *address, guint index, GError **error)
{
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (address);
  if (ip == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "'%s' is not an IP address", address);
      return NULL;
    }
  g_autoptr (GSocket) s = g_socket_new (g_inet_address_get_family (ip), G_SOCKET_TYPE_DATAGRAM,
                                        G_SOCKET_PROTOCOL_UDP, error);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (ip, 0);
  if (s == NULL || !g_socket_bind (s, any, FALSE, error))
    return NULL;
  g_socket_set_blocking (s, FALSE);
  /* Room for bursts of key frames to 100 viewers and the RTCP of all. */
  int size = 4 << 20;
  setsockopt (g_socket_get_fd (s), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt (g_socket_get_fd (s), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, error);
  if (local == NULL)
    return NULL;
  Sock *sock = g_new0 (Sock, 1);
  sock->socket = g_steal_pointer (&s);
  sock->fd = g_socket_get_fd (sock->socket);
  sock->address = g_inet_address_to_string (ip);
  sock->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  /* Host candidates, the first one preferred (RFC 8445 §5.1.2.1). */
  guint32 priority = (126u << 24) | ((65535u - index) << 8) | 255u;
  sock->candidate = g_strdup_printf ("candidate:%u 1 udp %u %s %u typ host", index + 1, priority,
                                     sock->address, sock->port);
  sock->source = g_socket_create_source (sock->socket, G_IO_IN, NULL);
  g_source_set_callback (sock->source, (GSourceFunc)(void (*) (void))on_readable, sock, NULL);
  g_source_attach (sock->source, host_context);
  return sock;
}

static gpointer
run_host (gpointer loop)
{
  g_main_context_push_thread_default (host_context);
  g_main_loop_run (loop);
  return NULL;
}

gboolean
lb_webrtc_host_start (const char *const *addresses, GError **error)
{
  if (g_once_init_enter (&started))
    {
      g_autoptr (GPtrArray) list = NULL;
      if (addresses != NULL && addresses[0] != NULL)
        {
          list = g_ptr_array_new_with_free_func (g_free);
          for (guint i = 0; addresses[i] != NULL; i++)
            if (*addresses[i] != '\0')
              g_ptr_array_add (list, g_strdup (addresses[i]));
        }
      if (list == NULL || list->len == 0)
        {
          g_clear_pointer (&list, g_ptr_array_unref);
          list = default_addresses ();
        }
      socks = g_ptr_array_new ();
      candidates = g_ptr_array_new ();
      by_ufrag = g_hash_table_new (g_str_hash, g_str_equal);
      by_addr = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      host_context = g_main_context_new ();
      start_ok = lb_dtls_srtp_init (&start_error);
      for (guint i = 0; start_ok && i < list->len; i++)
        {
          Sock *sock = open_sock (list->pdata[i], i, &start_error);
          if (sock == NULL)
            {
              g_prefix_error (&start_error, "WebRTC lite: cannot open a UDP socket on %s: ",
                              (char *)list->pdata[i]);
              start_ok = FALSE;
              break;
            }
          g_ptr_array_add (socks, sock);
          g_ptr_array_add (candidates, sock->candidate);
          g_debug ("WebRTC lite: listening on %s port %u", sock->address, sock->port);
        }
      g_ptr_array_add (candidates, NULL);
      /* For the life of the process, like the sockets. */
      if (start_ok)
        g_thread_unref (
            g_thread_new ("lb-webrtc-host", run_host, g_main_loop_new (host_context, FALSE)));
      g_once_init_leave (&started, 1);
    }
  if (!start_ok && error != NULL)
    *error = g_error_copy (start_error);
  return start_ok;
}

const char *const *
lb_webrtc_host_candidates (void)
{
  return (const char *const *)candidates->pdata;
}

const char *
lb_webrtc_host_address (guint *port)
{
  Sock *sock = socks->len > 0 ? socks->pdata[0] : NULL;
  *port = sock ? sock->port : 9;
  return sock ? sock->address : "0.0.0.0";
}

static gboolean
on_tick (gpointer user_data)
{
  LbWebrtcPeer *peer = user_data;
  gint64 now = g_get_monotonic_time ();
  const char *reason = NULL;

  if (lb_dtls_srtp_get_state (peer->dtls) == LB_DTLS_HANDSHAKING && peer->checked)
    {
      g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
      lb_dtls_srtp_tick (peer->dtls, out);
      send_all (peer, out);
    }
  if (peer->connected_us == 0)
    {
      if (peer->connect_timeout_us > 0 && now - peer->created_us > peer->connect_timeout_us)
        reason = "connect_timeout";
    }
  else if (peer->peer_timeout_us > 0
           && now - MAX (peer->last_rx_us, peer->connected_us) > peer->peer_timeout_us)
    reason = "peer_timeout";
  if (reason == NULL)
    return G_SOURCE_CONTINUE;
  end_peer (peer, reason);
  return G_SOURCE_REMOVE;
}

LbWebrtcPeer *
lb_webrtc_peer_new (const LbWebrtcPeerOptions *options, const LbWebrtcPeerFuncs *funcs,
                    gpointer user_data)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  LbWebrtcPeer *peer = g_new0 (LbWebrtcPeer, 1);
  peer->ref = 1;
  g_atomic_int_inc (&live_peers);
  for (guint i = 0; i < sizeof peer->pwd - 1; i++)
    peer->pwd[i] = alphabet[g_random_int_range (0, 64)];
  peer->remote_ufrag = g_strdup (options->remote_ufrag);
  peer->allowed = options->allowed;
  peer->funcs = *funcs;
  peer->data = user_data;
  peer->dtls = lb_dtls_srtp_new (options->remote_fingerprint);
  peer->addr_keys = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&peer->lock);
  peer->fd = -1;
  peer->state = "new";
  peer->created_us = g_get_monotonic_time ();
  peer->peer_timeout_us = options->peer_timeout_us;
  peer->connect_timeout_us = options->connect_timeout_us;
  /* ice-ufrag: 8 characters (≥ 24 bits), ice-pwd: 32 (≥ 128 bits) of ice-char. */
  g_mutex_lock (&tables_lock);
  do
    {
      for (guint i = 0; i < sizeof peer->ufrag - 1; i++)
        peer->ufrag[i] = alphabet[g_random_int_range (0, 64)];
    }
  while (g_hash_table_contains (by_ufrag, peer->ufrag));
  g_hash_table_insert (by_ufrag, peer->ufrag, peer);
  g_mutex_unlock (&tables_lock);
  peer->timer = g_timeout_source_new_seconds (1);
  g_source_set_callback (peer->timer, on_tick, lb_webrtc_peer_ref (peer),
                         (GDestroyNotify)lb_webrtc_peer_unref);
  g_source_attach (peer->timer, host_context);
  return peer;
}

const char *
lb_webrtc_peer_get_ufrag (LbWebrtcPeer *peer)
{
  return peer->ufrag;
}

const char *
lb_webrtc_peer_get_pwd (LbWebrtcPeer *peer)
{
  return peer->pwd;
}

const char *
lb_webrtc_peer_get_state (LbWebrtcPeer *peer)
{
  return g_atomic_pointer_get (&peer->state);
}

G_STATIC_ASSERT (LB_WEBRTC_SRTP_ROOM >= LB_SRTP_TRAILER);
G_STATIC_ASSERT (LB_WEBRTC_SRTCP_ROOM >= LB_SRTCP_TRAILER);

/* The peer's lock also keeps the SRTP tx context to one thread at a time
 * (video, audio and the RTCP timer all send). */
static gboolean
send_protected (LbWebrtcPeer *peer, guint8 *buf, gsize len, gboolean rtcp)
{
  gboolean sent = FALSE;
  if (len > MAX_PACKET)
    return FALSE;
  g_mutex_lock (&peer->lock);
  if (peer->connected && peer->fd >= 0)
    {
      int n = (int)len;
      /* A full socket buffer drops the packet, as a congested path would. */
      if (rtcp ? lb_dtls_srtp_protect_rtcp (peer->dtls, buf, &n)
               : lb_dtls_srtp_protect_rtp (peer->dtls, buf, &n))
        sent = sendto (peer->fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&peer->dest,
                       peer->dest_len)
               == n;
    }
  g_mutex_unlock (&peer->lock);
  return sent;
}

gboolean
lb_webrtc_peer_send_rtp (LbWebrtcPeer *peer, guint8 *buf, gsize len)
{
  return send_protected (peer, buf, len, FALSE);
}

gboolean
lb_webrtc_peer_send_rtcp (LbWebrtcPeer *peer, guint8 *buf, gsize len)
{
  return send_protected (peer, buf, len, TRUE);
}

void
lb_webrtc_peer_close (LbWebrtcPeer *peer)
{
  if (peer == NULL)
    return;
  g_atomic_int_set (&peer->closed, TRUE);
  /* The host thread may be in on_tick: its dispatch holds a reference. */
  g_source_destroy (peer->timer);
  g_clear_pointer (&peer->timer, g_source_unref);
  g_mutex_lock (&peer->lock);
  peer->connected = FALSE;
  peer->fd = -1;
  g_mutex_unlock (&peer->lock);
  g_mutex_lock (&tables_lock);
  g_hash_table_remove (by_ufrag, peer->ufrag);
  for (guint i = 0; i < peer->addr_keys->len; i++)
    if (g_hash_table_lookup (by_addr, peer->addr_keys->pdata[i]) == peer)
      g_hash_table_remove (by_addr, peer->addr_keys->pdata[i]);
  g_mutex_unlock (&tables_lock);
  lb_webrtc_peer_unref (peer);
}

LbWebrtcPeer *
lb_webrtc_peer_ref (LbWebrtcPeer *peer)
{
  g_atomic_int_inc (&peer->ref);
  return peer;
}

void
lb_webrtc_peer_unref (LbWebrtcPeer *peer)
{
  if (peer == NULL || !g_atomic_int_dec_and_test (&peer->ref))
    return;
  lb_dtls_srtp_free (peer->dtls);
  g_clear_pointer (&peer->allowed, lb_allow_list_free);
  g_ptr_array_unref (peer->addr_keys);
  g_mutex_clear (&peer->lock);
  g_free (peer->remote_ufrag);
  g_free (peer);
  g_atomic_int_dec_and_test (&live_peers);
}

guint
lb_webrtc_host_live_peers (void)
{
  return (guint)g_atomic_int_get (&live_peers);
}
