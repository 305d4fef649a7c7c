/* lb-ml-stream.c — the shared Moonlight video and audio sockets.
 *
 * Pings are read on one thread of our own (as lb-webrtc-host does), so a
 * busy main loop never delays the address a viewer's video goes to; media
 * is packetized, encrypted and sent on the caller's thread. Locks: the
 * host's table lock guards the peer tables; each peer's lock guards its
 * address, packetizer and cipher (video and audio senders, the host
 * thread's pings). Never the table lock inside a peer lock. */
#define G_LOG_DOMAIN "lobbyd-moonlight"
#include "lb-ml-stream.h"
#include "lb-error.h"
#include "lb-ml-video.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/socket.h>

#define READ_BURST 64
#define MAX_DATAGRAM 9216 /* jumbo frames: RTSP accepts packet sizes up to 8960 */
#define LEGACY_PING "PING"
#define PING_LEN (LB_ML_STREAM_PING_PAYLOAD_LEN + 4)

/* What outlives the host for the peers still referenced (an output's probe
 * may hold one while its branch is detached): the sockets, the callbacks'
 * liveness. */
typedef struct
{
  gint ref;
  gint dead; /* atomic: the host was freed */
  int video_fd, audio_fd;
  GSocket *video, *audio;
} Core;

static Core *
core_ref (Core *c)
{
  g_atomic_int_inc (&c->ref);
  return c;
}

static void
core_unref (Core *c)
{
  if (c == NULL || !g_atomic_int_dec_and_test (&c->ref))
    return;
  g_clear_object (&c->video);
  g_clear_object (&c->audio);
  g_free (c);
}

struct _LbMlStreamPeer
{
  gint ref;
  Core *core;
  char *ml_id;
  char payload[LB_ML_STREAM_PING_PAYLOAD_LEN + 1]; /* "" = none */
  char *client_ip;                                 /* normalized; NULL: unparseable */
  gint removed;                                    /* atomic */
  gint timed_out;                                  /* atomic */
  gint64 created_us;                               /* monotonic */
  gint64 last_ping_us;                             /* atomic; 0: never */
  GMutex lock;
  /* Under @lock. */
  gboolean has_params;
  LbMlStreamParams params;
  LbMlVideoPacketizer *video;
  EVP_CIPHER_CTX *gcm;
  guint64 iv_counter;
  guint32 frame_index; /* the last one sent */
  gboolean got_idr;
  gboolean video_bound, audio_bound;
  struct sockaddr_storage video_dest, audio_dest;
  socklen_t video_dest_len, audio_dest_len;
  LbMlStreamStats stats;
  guint8 enc[MAX_DATAGRAM + LB_ML_STREAM_VIDEO_ENC_PREFIX + 16];
};

struct _LbMlStreamHost
{
  Core *core;
  guint16 video_port, audio_port;
  gint64 timeout_us;
  LbMlStreamCallbacks cb;
  gpointer user_data;
  GMainContext *main_context; /* callbacks go there */
  GMainContext *context;      /* the host thread's */
  GMainLoop *loop;
  GThread *thread;
  GSource *video_source, *audio_source, *timer;
  GMutex lock;
  GHashTable *by_id;      /* ml_id → peer (a reference); under @lock */
  GHashTable *by_payload; /* payload → peer (borrowed); under @lock */
  guint64 ignored;        /* atomic */
};

/* IPv4-mapped IPv6 addresses as IPv4 text: a dual-stack socket sees
 * "::ffff:a.b.c.d" for a client the RTSP server saw as "a.b.c.d". */
static char *
normalize_ip (GInetAddress *a)
{
  if (g_inet_address_get_family (a) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (a);
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
      if (memcmp (b, mapped, 12) == 0)
        return g_strdup_printf ("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    }
  return g_inet_address_to_string (a);
}

static char *
sockaddr_ip (const struct sockaddr_storage *ss)
{
  char ip[INET6_ADDRSTRLEN] = "";
  if (ss->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
      g_autoptr (GInetAddress) ia
          = g_inet_address_new_from_bytes (a->sin6_addr.s6_addr, G_SOCKET_FAMILY_IPV6);
      return normalize_ip (ia);
    }
  if (ss->ss_family != AF_INET)
    return NULL;
  inet_ntop (AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
  return g_strdup (ip);
}

static void
ignore (LbMlStreamHost *host, const char *why)
{
  g_debug ("Moonlight stream: ignored a datagram (%s)", why);
  __atomic_add_fetch (&host->ignored, 1, __ATOMIC_RELAXED);
}

guint64
lb_ml_stream_host_get_ignored (LbMlStreamHost *host)
{
  return __atomic_load_n (&host->ignored, __ATOMIC_RELAXED);
}

/* Host thread: a ping binds @peer's address for the socket it came on. */
static void
bind_peer (LbMlStreamPeer *peer, gboolean video, const struct sockaddr_storage *from,
           socklen_t from_len)
{
  g_mutex_lock (&peer->lock);
  if (video)
    {
      memcpy (&peer->video_dest, from, from_len);
      peer->video_dest_len = from_len;
      peer->video_bound = TRUE;
      peer->stats.video_pings++;
    }
  else
    {
      memcpy (&peer->audio_dest, from, from_len);
      peer->audio_dest_len = from_len;
      peer->audio_bound = TRUE;
      peer->stats.audio_pings++;
    }
  g_mutex_unlock (&peer->lock);
  __atomic_store_n (&peer->last_ping_us, g_get_monotonic_time (), __ATOMIC_RELAXED);
}

/* The peer a ping is for: its payload's, else (a bare "PING") the one peer
 * of that address; the ping's address must be the peer's client's. A
 * reference, or NULL. */
static LbMlStreamPeer *
ping_peer (LbMlStreamHost *host, const guint8 *buf, gsize len, const char *ip, const char **why)
{
  LbMlStreamPeer *peer = NULL;
  g_mutex_lock (&host->lock);
  if (len == PING_LEN)
    {
      char key[LB_ML_STREAM_PING_PAYLOAD_LEN + 1];
      memcpy (key, buf, LB_ML_STREAM_PING_PAYLOAD_LEN);
      key[LB_ML_STREAM_PING_PAYLOAD_LEN] = '\0';
      peer = strlen (key) == LB_ML_STREAM_PING_PAYLOAD_LEN
                 ? g_hash_table_lookup (host->by_payload, key)
                 : NULL;
      *why = "unknown ping payload";
    }
  else if (len == strlen (LEGACY_PING) && memcmp (buf, LEGACY_PING, len) == 0)
    {
      GHashTableIter it;
      gpointer value;
      guint n = 0;
      g_hash_table_iter_init (&it, host->by_id);
      while (g_hash_table_iter_next (&it, NULL, &value))
        if (g_strcmp0 (((LbMlStreamPeer *)value)->client_ip, ip) == 0)
          {
            peer = value;
            n++;
          }
      if (n != 1)
        peer = NULL;
      *why = n == 0 ? "PING from an unknown address" : "PING from an address with several peers";
    }
  else
    *why = "not a ping";
  if (peer != NULL && g_strcmp0 (peer->client_ip, ip) != 0)
    {
      peer = NULL;
      *why = "ping from another address than the client's";
    }
  if (peer != NULL)
    lb_ml_stream_peer_ref (peer);
  g_mutex_unlock (&host->lock);
  return peer;
}

static void
on_datagram (LbMlStreamHost *host, gboolean video, const guint8 *buf, gsize len,
             const struct sockaddr_storage *from, socklen_t from_len)
{
  g_autofree char *ip = sockaddr_ip (from);
  const char *why = "bad address";
  g_autoptr (LbMlStreamPeer) peer = ip ? ping_peer (host, buf, len, ip, &why) : NULL;
  if (peer == NULL)
    {
      ignore (host, why);
      return;
    }
  bind_peer (peer, video, from, from_len);
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  LbMlStreamHost *host = user_data;
  gboolean video = socket == host->core->video;
  int fd = video ? host->core->video_fd : host->core->audio_fd;
  guint8 buf[MAX_DATAGRAM];
  for (int i = 0; i < READ_BURST; i++)
    {
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom (fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
      if (n < 0)
        break;
      on_datagram (host, video, buf, (gsize)n, &from, from_len);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- Timeouts: found on the host thread, reported on the main context ---- */

typedef struct
{
  Core *core;
  LbMlStreamPeer *peer;
  LbMlStreamCallbacks cb;
  gpointer user_data;
} Report;

static void
report_free (gpointer data)
{
  Report *r = data;
  core_unref (r->core);
  lb_ml_stream_peer_unref (r->peer);
  g_free (r);
}

/* A host freed or a peer removed meanwhile hears nothing. */
static gboolean
deliver_timeout (gpointer data)
{
  Report *r = data;
  if (!g_atomic_int_get (&r->core->dead) && !g_atomic_int_get (&r->peer->removed)
      && r->cb.peer_timeout != NULL)
    r->cb.peer_timeout (r->peer->ml_id, r->user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_tick (gpointer user_data)
{
  LbMlStreamHost *host = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GPtrArray) expired = g_ptr_array_new ();
  g_mutex_lock (&host->lock);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, host->by_id);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      LbMlStreamPeer *peer = value;
      gint64 last = __atomic_load_n (&peer->last_ping_us, __ATOMIC_RELAXED);
      if (!g_atomic_int_get (&peer->timed_out)
          && now - MAX (last, peer->created_us) > host->timeout_us)
        {
          g_atomic_int_set (&peer->timed_out, TRUE);
          g_ptr_array_add (expired, lb_ml_stream_peer_ref (peer));
        }
    }
  g_mutex_unlock (&host->lock);
  for (guint i = 0; i < expired->len; i++)
    {
      LbMlStreamPeer *peer = expired->pdata[i];
      g_info ("Moonlight viewer %s: no ping for %" G_GINT64_FORMAT " ms", peer->ml_id,
              host->timeout_us / 1000);
      Report *r = g_new0 (Report, 1);
      r->core = core_ref (host->core);
      r->peer = peer; /* the reference taken above */
      r->cb = host->cb;
      r->user_data = host->user_data;
      GSource *s = g_idle_source_new ();
      g_source_set_callback (s, deliver_timeout, r, report_free);
      g_source_attach (s, host->main_context);
      g_source_unref (s);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- The host ---- */

static GSocket *
open_socket (GInetAddress *ip, guint16 port, guint16 *bound, GError **error)
{
  g_autoptr (GSocket) s = g_socket_new (g_inet_address_get_family (ip), G_SOCKET_TYPE_DATAGRAM,
                                        G_SOCKET_PROTOCOL_UDP, error);
  if (s == NULL)
    return NULL;
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (ip, port);
  if (!g_socket_bind (s, addr, FALSE, error))
    return NULL;
  g_socket_set_blocking (s, FALSE);
  /* Room for key-frame bursts to many viewers. */
  int size = 4 << 20;
  setsockopt (g_socket_get_fd (s), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, error);
  if (local == NULL)
    return NULL;
  *bound = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return g_steal_pointer (&s);
}

static gpointer
run_host (gpointer data)
{
  LbMlStreamHost *host = data;
  g_main_context_push_thread_default (host->context);
  g_main_loop_run (host->loop);
  g_main_context_pop_thread_default (host->context);
  return NULL;
}

static GSource *
watch (LbMlStreamHost *host, GSocket *socket)
{
  GSource *s = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (s, (GSourceFunc)(void (*) (void))on_readable, host, NULL);
  g_source_attach (s, host->context);
  return s;
}

static void
peer_unref_void (gpointer p)
{
  lb_ml_stream_peer_unref (p);
}

LbMlStreamHost *
lb_ml_stream_host_new (const char *bind_address, guint16 video_port, guint16 audio_port,
                       guint ping_timeout_ms, const LbMlStreamCallbacks *cb, gpointer user_data,
                       GError **error)
{
  g_autoptr (GInetAddress) ip = bind_address ? g_inet_address_new_from_string (bind_address) : NULL;
  if (ip == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "Moonlight stream: '%s' is not an IP address",
                   bind_address ? bind_address : "(null)");
      return NULL;
    }
  guint16 vport = 0, aport = 0;
  g_autoptr (GSocket) video = open_socket (ip, video_port, &vport, error);
  if (video == NULL)
    {
      g_prefix_error (error, "Moonlight video port %u: ", video_port);
      return NULL;
    }
  g_autoptr (GSocket) audio = open_socket (ip, audio_port, &aport, error);
  if (audio == NULL)
    {
      g_prefix_error (error, "Moonlight audio port %u: ", audio_port);
      return NULL;
    }
  LbMlStreamHost *host = g_new0 (LbMlStreamHost, 1);
  host->core = g_new0 (Core, 1);
  host->core->ref = 1;
  host->core->video_fd = g_socket_get_fd (video);
  host->core->audio_fd = g_socket_get_fd (audio);
  host->core->video = g_steal_pointer (&video);
  host->core->audio = g_steal_pointer (&audio);
  host->video_port = vport;
  host->audio_port = aport;
  host->timeout_us = (gint64)MAX (ping_timeout_ms, 1) * 1000;
  if (cb != NULL)
    host->cb = *cb;
  host->user_data = user_data;
  host->main_context = g_main_context_ref_thread_default ();
  g_mutex_init (&host->lock);
  host->by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, peer_unref_void);
  host->by_payload = g_hash_table_new (g_str_hash, g_str_equal);
  host->context = g_main_context_new ();
  host->loop = g_main_loop_new (host->context, FALSE);
  host->video_source = watch (host, host->core->video);
  host->audio_source = watch (host, host->core->audio);
  /* A tenth of the timeout (at most a second) between checks. */
  host->timer = g_timeout_source_new (CLAMP (ping_timeout_ms / 10, 10, 1000));
  g_source_set_callback (host->timer, on_tick, host, NULL);
  g_source_attach (host->timer, host->context);
  host->thread = g_thread_new ("lb-ml-stream", run_host, host);
  g_debug ("Moonlight stream: video on %s:%u, audio on port %u", bind_address, vport, aport);
  return host;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

void
lb_ml_stream_host_free (LbMlStreamHost *host)
{
  if (host == NULL)
    return;
  g_atomic_int_set (&host->core->dead, TRUE);
  /* Quit from inside the loop: a quit before the thread reached
   * g_main_loop_run would be forgotten by it. */
  GSource *quit = g_idle_source_new ();
  g_source_set_callback (quit, quit_loop, host->loop, NULL);
  g_source_attach (quit, host->context);
  g_source_unref (quit);
  g_thread_join (host->thread);
  g_source_destroy (host->video_source);
  g_source_destroy (host->audio_source);
  g_source_destroy (host->timer);
  g_source_unref (host->video_source);
  g_source_unref (host->audio_source);
  g_source_unref (host->timer);
  g_main_loop_unref (host->loop);
  g_main_context_unref (host->context);
  /* Peers still referenced elsewhere send nothing more (core->dead). */
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, host->by_id);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_atomic_int_set (&((LbMlStreamPeer *)value)->removed, TRUE);
  g_hash_table_unref (host->by_payload);
  g_hash_table_unref (host->by_id);
  g_mutex_clear (&host->lock);
  g_main_context_unref (host->main_context);
  core_unref (host->core);
  g_free (host);
}

guint16
lb_ml_stream_host_get_video_port (LbMlStreamHost *host)
{
  return host->video_port;
}

guint16
lb_ml_stream_host_get_audio_port (LbMlStreamHost *host)
{
  return host->audio_port;
}

/* Under the table lock: @peer leaves both tables (by_id's reference is
 * dropped by the caller's steal). */
static void
unlink_payload (LbMlStreamHost *host, LbMlStreamPeer *peer)
{
  if (peer->payload[0] != '\0' && g_hash_table_lookup (host->by_payload, peer->payload) == peer)
    g_hash_table_remove (host->by_payload, peer->payload);
}

LbMlStreamPeer *
lb_ml_stream_host_add_peer (LbMlStreamHost *host, const char *ml_id, const char *client_ip,
                            const char *ping_payload)
{
  g_return_val_if_fail (ml_id != NULL, NULL);
  LbMlStreamPeer *peer = g_new0 (LbMlStreamPeer, 1);
  peer->ref = 1;
  peer->core = core_ref (host->core);
  peer->ml_id = g_strdup (ml_id);
  g_mutex_init (&peer->lock);
  peer->created_us = g_get_monotonic_time ();
  g_autoptr (GInetAddress) ip = client_ip ? g_inet_address_new_from_string (client_ip) : NULL;
  if (ip != NULL)
    peer->client_ip = normalize_ip (ip);
  else
    g_warning ("Moonlight viewer %s: client address '%s' is not an IP: no ping will match", ml_id,
               client_ip ? client_ip : "(null)");
  if (ping_payload != NULL && strlen (ping_payload) == LB_ML_STREAM_PING_PAYLOAD_LEN)
    memcpy (peer->payload, ping_payload, LB_ML_STREAM_PING_PAYLOAD_LEN + 1);
  else if (ping_payload != NULL)
    g_warning ("Moonlight viewer %s: a ping payload of %zu characters is not used", ml_id,
               strlen (ping_payload));

  g_mutex_lock (&host->lock);
  LbMlStreamPeer *old = g_hash_table_lookup (host->by_id, ml_id);
  if (old != NULL)
    {
      g_atomic_int_set (&old->removed, TRUE);
      unlink_payload (host, old);
    }
  g_hash_table_replace (host->by_id, g_strdup (ml_id), lb_ml_stream_peer_ref (peer));
  if (peer->payload[0] != '\0')
    g_hash_table_replace (host->by_payload, peer->payload, peer);
  g_mutex_unlock (&host->lock);
  return peer;
}

LbMlStreamPeer *
lb_ml_stream_host_find_peer (LbMlStreamHost *host, const char *ml_id)
{
  g_mutex_lock (&host->lock);
  LbMlStreamPeer *peer = ml_id ? g_hash_table_lookup (host->by_id, ml_id) : NULL;
  if (peer != NULL)
    lb_ml_stream_peer_ref (peer);
  g_mutex_unlock (&host->lock);
  return peer;
}

void
lb_ml_stream_host_remove_peer (LbMlStreamHost *host, const char *ml_id)
{
  gpointer key = NULL, value = NULL;
  g_mutex_lock (&host->lock);
  if (ml_id != NULL && g_hash_table_steal_extended (host->by_id, ml_id, &key, &value))
    {
      LbMlStreamPeer *peer = value;
      g_atomic_int_set (&peer->removed, TRUE);
      unlink_payload (host, peer);
    }
  g_mutex_unlock (&host->lock);
  g_free (key);
  if (value != NULL)
    lb_ml_stream_peer_unref (value);
}

/* ---- Peers ---- */

LbMlStreamPeer *
lb_ml_stream_peer_ref (LbMlStreamPeer *peer)
{
  g_atomic_int_inc (&peer->ref);
  return peer;
}

void
lb_ml_stream_peer_unref (LbMlStreamPeer *peer)
{
  if (peer == NULL || !g_atomic_int_dec_and_test (&peer->ref))
    return;
  g_clear_pointer (&peer->video, lb_ml_video_packetizer_free);
  g_clear_pointer (&peer->gcm, EVP_CIPHER_CTX_free);
  g_mutex_clear (&peer->lock);
  core_unref (peer->core);
  g_free (peer->client_ip);
  g_free (peer->ml_id);
  g_free (peer);
}

const char *
lb_ml_stream_peer_get_id (LbMlStreamPeer *peer)
{
  return peer->ml_id;
}

gboolean
lb_ml_stream_peer_set_params (LbMlStreamPeer *peer, const LbMlStreamParams *p, GError **error)
{
  g_autoptr (LbMlVideoPacketizer) video
      = lb_ml_video_packetizer_new (p->packet_size, p->fec_percentage, p->min_fec_packets, error);
  if (video == NULL)
    return FALSE;
  if (p->packet_size + LB_ML_VIDEO_RTP_SIZE > MAX_DATAGRAM)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "Moonlight packet size %u: at most %u",
                   p->packet_size, MAX_DATAGRAM - LB_ML_VIDEO_RTP_SIZE);
      return FALSE;
    }
  EVP_CIPHER_CTX *gcm = NULL;
  if (p->encrypt_video)
    {
      gcm = EVP_CIPHER_CTX_new ();
      if (gcm == NULL || EVP_EncryptInit_ex (gcm, EVP_aes_128_gcm (), NULL, NULL, NULL) != 1
          || EVP_CIPHER_CTX_ctrl (gcm, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1
          || EVP_EncryptInit_ex (gcm, NULL, NULL, p->rikey, NULL) != 1)
        {
          g_clear_pointer (&gcm, EVP_CIPHER_CTX_free);
          g_set_error (error, LB_ERROR, LB_ERROR_INTERNAL, "Moonlight: AES-128-GCM unavailable");
          return FALSE;
        }
    }
  g_mutex_lock (&peer->lock);
  g_clear_pointer (&peer->video, lb_ml_video_packetizer_free);
  g_clear_pointer (&peer->gcm, EVP_CIPHER_CTX_free);
  peer->video = g_steal_pointer (&video);
  peer->gcm = gcm;
  peer->params = *p;
  peer->has_params = TRUE;
  peer->frame_index = 0;
  peer->got_idr = FALSE;
  g_mutex_unlock (&peer->lock);
  return TRUE;
}

static gboolean
gone (LbMlStreamPeer *peer)
{
  return g_atomic_int_get (&peer->removed) || g_atomic_int_get (&peer->timed_out)
         || g_atomic_int_get (&peer->core->dead);
}

/* Under the peer's lock. */
static gboolean
streaming_locked (LbMlStreamPeer *peer)
{
  return peer->has_params && peer->video_bound && !gone (peer);
}

gboolean
lb_ml_stream_peer_is_streaming (LbMlStreamPeer *peer)
{
  g_mutex_lock (&peer->lock);
  gboolean s = streaming_locked (peer);
  g_mutex_unlock (&peer->lock);
  return s;
}

/* Under the peer's lock: {iv[12], LE32 frame, tag[16]} then the datagram
 * encrypted into peer->enc. The IV is a per-peer counter (NIST SP 800-38D
 * §8.2.1 deterministic construction; 'V' marks the video stream in the
 * fixed field so another stream under the same key never repeats it). */
static gsize
encrypt_locked (LbMlStreamPeer *peer, const guint8 *d, gsize len)
{
  guint8 *out = peer->enc;
  guint8 *iv = out;
  guint64 counter = peer->iv_counter++;
  memset (iv, 0, 12);
  for (int i = 0; i < 8; i++)
    iv[i] = (guint8)(counter >> (8 * (7 - i)));
  iv[11] = 'V';
  guint32 frame = GUINT32_TO_LE (peer->frame_index);
  memcpy (out + 12, &frame, 4);
  int n = 0, fin = 0;
  if (EVP_EncryptInit_ex (peer->gcm, NULL, NULL, NULL, iv) != 1
      || EVP_EncryptUpdate (peer->gcm, out + LB_ML_STREAM_VIDEO_ENC_PREFIX, &n, d, (int)len) != 1
      || EVP_EncryptFinal_ex (peer->gcm, out + LB_ML_STREAM_VIDEO_ENC_PREFIX + n, &fin) != 1
      || EVP_CIPHER_CTX_ctrl (peer->gcm, EVP_CTRL_GCM_GET_TAG, 16, out + 16) != 1)
    return 0;
  return LB_ML_STREAM_VIDEO_ENC_PREFIX + (gsize)n + (gsize)fin;
}

gboolean
lb_ml_stream_peer_send_video (LbMlStreamPeer *peer, const guint8 *au, gsize len, guint32 rtp_ts_90k,
                              gboolean is_idr)
{
  gboolean sent = FALSE;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&peer->lock);
  if (!streaming_locked (peer))
    goto out;
  if (!is_idr && !peer->got_idr)
    {
      peer->stats.frames_dropped++;
      goto out;
    }
  LbMlVideoFrameInfo info = { peer->frame_index + 1, rtp_ts_90k, is_idr, 0 };
  if (!lb_ml_video_packetize (peer->video, au, len, &info, &error))
    {
      g_debug ("Moonlight viewer %s: frame not sent: %s", peer->ml_id, error->message);
      peer->stats.frames_dropped++;
      goto out;
    }
  peer->frame_index++;
  peer->got_idr = peer->got_idr || is_idr;
  int fd = peer->core->video_fd;
  guint n = lb_ml_video_packetizer_get_n_datagrams (peer->video);
  for (guint i = 0; i < n; i++)
    {
      gsize dlen = 0;
      const guint8 *d = lb_ml_video_packetizer_get_datagram (peer->video, i, &dlen);
      if (peer->gcm != NULL)
        {
          dlen = encrypt_locked (peer, d, dlen);
          d = peer->enc;
          if (dlen == 0)
            continue;
        }
      /* A full socket buffer drops the datagram, as a congested path
       * would: FEC and the client's IDR request recover. */
      if (sendto (fd, d, dlen, MSG_DONTWAIT, (struct sockaddr *)&peer->video_dest,
                  peer->video_dest_len)
          == (ssize_t)dlen)
        {
          peer->stats.datagrams++;
          peer->stats.bytes += dlen;
        }
      else
        g_debug ("Moonlight viewer %s: sendto: %s", peer->ml_id, g_strerror (errno));
    }
  peer->stats.frames_sent++;
  sent = TRUE;
out:
  g_mutex_unlock (&peer->lock);
  return sent;
}

gboolean
lb_ml_stream_peer_send_audio_datagram (LbMlStreamPeer *peer, const guint8 *d, gsize len)
{
  gboolean sent = FALSE;
  g_mutex_lock (&peer->lock);
  if (peer->has_params && peer->audio_bound && !gone (peer)
      && sendto (peer->core->audio_fd, d, len, MSG_DONTWAIT, (struct sockaddr *)&peer->audio_dest,
                 peer->audio_dest_len)
             == (ssize_t)len)
    {
      peer->stats.datagrams++;
      peer->stats.bytes += len;
      sent = TRUE;
    }
  g_mutex_unlock (&peer->lock);
  return sent;
}

void
lb_ml_stream_peer_get_stats (LbMlStreamPeer *peer, LbMlStreamStats *out)
{
  g_mutex_lock (&peer->lock);
  *out = peer->stats;
  g_mutex_unlock (&peer->lock);
}

gboolean
lb_ml_stream_peer_get_params (LbMlStreamPeer *peer, LbMlStreamParams *out)
{
  g_mutex_lock (&peer->lock);
  gboolean has = peer->has_params;
  if (has)
    *out = peer->params;
  g_mutex_unlock (&peer->lock);
  return has;
}
