/* lb-ml-control.c — the Moonlight control stream over ENet, with AES-128-GCM
 * control v2. Protocol facts from moonlight-common-c @874ac95
 * (ControlStream.c: the encrypted wrapper, IVs and message types; Input.h and
 * InputStream.c: the input packets) and Sunshine @7a59212 (stream.cpp: the
 * host's side); our own code. */
#define G_LOG_DOMAIN "lobbyd-ml-control"
#include "lb-ml-control.h"

#include <enet/enet.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <openssl/evp.h>
#include <string.h>

/* moonlight-common-c's CTRL_CHANNEL_COUNT: generic, urgent, keyboard, mouse,
 * pen, touch, UTF-8, 16 gamepads, 16 sensors. A host with fewer makes the
 * client send everything on channel 0, where a lost gamepad packet would
 * hold back the keyboard. */
#define CHANNELS 0x30
#define MAX_PEERS 64
/* Control messages are tens of bytes; refuse anything larger before ENet
 * reassembles it or we decrypt it. */
#define MAX_MESSAGE 4096
/* Wrapper: LE16 0x0001, LE16 length, LE32 seq, tag[16]; then at least the
 * encrypted LE16 type + LE16 payload length. */
#define WRAP_HEADER 24
#define TAG_SIZE 16
#define SERVICE_INTERVAL_MS 10
#define IDR_MIN_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)
/* ENet retries a lost reliable packet for at least this long before it may
 * give up (and for at most LB_ML_CONTROL_PEER_TIMEOUT_MS). */
#define PEER_TIMEOUT_MIN_MS 5000
/* A client that acknowledged nothing for this long before it dropped out
 * timed out; a live one that disconnects acknowledges every 500 ms. */
#define SILENT_MEANS_TIMEOUT_US (3 * G_TIME_SPAN_SECOND)

enum
{
  MSG_TERMINATION = 0x0109,
  MSG_PING = 0x0200,
  MSG_LOSS_STATS = 0x0201,
  MSG_INPUT = 0x0206,
  MSG_INVALIDATE_REFS = 0x0301,
  MSG_REQUEST_IDR = 0x0302,
  MSG_START_B = 0x0307,
  MSG_FEC_STATUS = 0x5502, /* Sunshine's per-frame FEC status (SS_FRAME_FEC_STATUS) */
};

typedef struct
{
  LbMlControl *control;
  ENetPeer *peer;
  char *ml_id;
  guint8 key[16];
  EVP_CIPHER_CTX *cipher;
  /* Anti-replay: the highest authenticated sequence number and a bitmap
   * of the 64 below it (bit i = max - i seen). Messages travel on several
   * ENet channels, so they may arrive out of order; a window, not "greater
   * than the last". */
  gboolean have_seq;
  guint32 max_seq;
  guint64 seen;
  guint bad_in_row;
  guint32 send_seq;
  gboolean idr_pending;
  gint64 last_idr_us;
  enet_uint32 last_receive_sample;
  gint64 last_alive_us;
  const char *end_reason; /* set when the host ends it */
} Peer;

struct _LbMlControl
{
  ENetHost *host;
  GMainContext *context;
  GSource *fd_source;
  GSource *timer;
  LbMlControlCallbacks cb;
  gpointer user_data;
  GHashTable *by_id; /* ml_id → Peer (owned through ENetPeer.data) */
  LbMlControlStats stats;
};

static guint
le16 (const guint8 *p)
{
  return p[0] | p[1] << 8;
}

static guint32
le32 (const guint8 *p)
{
  return p[0] | p[1] << 8 | p[2] << 16 | (guint32)p[3] << 24;
}

static guint32
be32 (const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | p[2] << 8 | p[3];
}

static gint16
be16s (const guint8 *p)
{
  return (gint16)(guint16)(p[0] << 8 | p[1]);
}

static void
put_le16 (guint8 *p, guint v)
{
  p[0] = v;
  p[1] = v >> 8;
}

static void
put_le32 (guint8 *p, guint32 v)
{
  for (int i = 0; i < 4; i++)
    p[i] = v >> (8 * i);
}

/* Control v2's deterministic IV (NIST SP 800-38D §8.2.1): the sequence
 * number as the invocation field, the originator ('C'lient / 'H'ost) and
 * 'C'ontrol as the fixed field, so the two directions never share an IV
 * under the one rikey. */
static void
make_iv (guint8 iv[12], guint32 seq, char origin)
{
  memset (iv, 0, 12);
  put_le32 (iv, seq);
  iv[10] = (guint8)origin;
  iv[11] = 'C';
}

static gboolean
gcm (EVP_CIPHER_CTX *ctx, gboolean encrypt, const guint8 key[16], const guint8 iv[12],
     const guint8 *in, gsize len, guint8 *out, guint8 tag[TAG_SIZE])
{
  int n = 0, f = 0;
  return EVP_CipherInit_ex (ctx, EVP_aes_128_gcm (), NULL, NULL, NULL, encrypt) == 1
         && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1
         && EVP_CipherInit_ex (ctx, NULL, NULL, key, iv, encrypt) == 1
         && (len == 0 || EVP_CipherUpdate (ctx, out, &n, in, (int)len) == 1)
         && (encrypt || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, tag) == 1)
         && EVP_CipherFinal_ex (ctx, out + n, &f) == 1
         && (!encrypt || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, tag) == 1);
}

static void service (LbMlControl *c);

/* ------------------------------------------------------------------ */
/* peers */

static void
peer_free (Peer *p)
{
  EVP_CIPHER_CTX_free (p->cipher);
  g_free (p->ml_id);
  g_free (p);
}

/* Forgets @p (no callback) and lets ENet say goodbye to the client. */
static void
peer_detach (Peer *p)
{
  LbMlControl *c = p->control;
  if (g_hash_table_lookup (c->by_id, p->ml_id) == p)
    g_hash_table_remove (c->by_id, p->ml_id);
  p->peer->data = NULL;
  peer_free (p);
}

static void
on_connect (LbMlControl *c, ENetPeer *peer, guint32 connect_data)
{
  char ip[64] = "";
  if (enet_address_get_host_ip (&peer->address, ip, sizeof ip) < 0)
    g_strlcpy (ip, "?", sizeof ip);
  char *ml_id = NULL;
  guint8 key[16];
  if (!c->cb.lookup || !c->cb.lookup (connect_data, ip, &ml_id, key, c->user_data) || !ml_id)
    {
      g_debug ("control connection from %s with connect data 0x%08x refused: no such launch", ip,
               connect_data);
      g_free (ml_id);
      c->stats.refused++;
      peer->data = NULL;
      enet_peer_disconnect (peer, 0);
      return;
    }
  Peer *old = g_hash_table_lookup (c->by_id, ml_id);
  if (old)
    {
      /* The client reconnected (its old connection has not timed out yet):
       * the launch goes on with the new one, silently. */
      g_debug ("launch %s: control reconnected from %s", ml_id, ip);
      ENetPeer *old_peer = old->peer;
      peer_detach (old);
      enet_peer_disconnect (old_peer, 0);
    }
  Peer *p = g_new0 (Peer, 1);
  p->control = c;
  p->peer = peer;
  p->ml_id = ml_id;
  memcpy (p->key, key, 16);
  p->cipher = EVP_CIPHER_CTX_new ();
  p->last_alive_us = g_get_monotonic_time ();
  p->last_receive_sample = peer->lastReceiveTime;
  peer->data = p;
  enet_peer_timeout (peer, ENET_PEER_TIMEOUT_LIMIT, PEER_TIMEOUT_MIN_MS,
                     LB_ML_CONTROL_PEER_TIMEOUT_MS);
  g_hash_table_insert (c->by_id, p->ml_id, p);
  c->stats.connects++;
  g_debug ("launch %s: control connected from %s (%u channels)", ml_id, ip,
           (guint)peer->channelCount);
}

static void
on_disconnect (LbMlControl *c, ENetPeer *peer)
{
  Peer *p = peer->data;
  if (!p)
    return;
  const char *reason = p->end_reason;
  if (!reason)
    reason = g_get_monotonic_time () - p->last_alive_us >= SILENT_MEANS_TIMEOUT_US ? "timeout"
                                                                                   : "client";
  g_autofree char *ml_id = g_strdup (p->ml_id);
  peer_detach (p);
  c->stats.disconnects++;
  g_debug ("launch %s: control disconnected (%s)", ml_id, reason);
  if (c->cb.disconnected)
    c->cb.disconnected (ml_id, reason, c->user_data);
}

/* Counts a dropped message; a peer that sends nothing but bad ones is not
 * a client we can serve (or someone guessing): disconnect it. */
static void
drop (Peer *p, guint64 *counter, const char *why)
{
  (*counter)++;
  p->bad_in_row++;
  g_debug ("launch %s: control message dropped: %s", p->ml_id, why);
  if (p->bad_in_row == LB_ML_CONTROL_MAX_BAD_IN_ROW)
    {
      g_warning ("launch %s: %u bad control messages in a row, disconnecting", p->ml_id,
                 p->bad_in_row);
      p->end_reason = "bad_packets";
      enet_peer_disconnect (p->peer, 0);
    }
}

static gboolean
replay_check_and_mark (Peer *p, guint32 seq)
{
  if (!p->have_seq)
    {
      p->have_seq = TRUE;
      p->max_seq = seq;
      p->seen = 1;
      return TRUE;
    }
  if (seq > p->max_seq)
    {
      guint32 shift = seq - p->max_seq;
      p->seen = shift >= 64 ? 1 : (p->seen << shift) | 1;
      p->max_seq = seq;
      return TRUE;
    }
  guint32 back = p->max_seq - seq;
  if (back >= 64 || (p->seen & (G_GUINT64_CONSTANT (1) << back)))
    return FALSE;
  p->seen |= G_GUINT64_CONSTANT (1) << back;
  return TRUE;
}

static void
on_input (Peer *p, const guint8 *payload, gsize len)
{
  LbMlControl *c = p->control;
  g_autoptr (GArray) events = g_array_new (FALSE, TRUE, sizeof (LbInputEvent));
  g_autoptr (GError) error = NULL;
  /* Absolute motion stays in the client's reference size: the consumer
   * scales LbInputEvent motion onto its own screen. */
  if (!lb_ml_input_decode (payload, len, 0, 0, events, &error))
    {
      c->stats.input_errors++;
      g_debug ("launch %s: input ignored: %s", p->ml_id, error->message);
      return;
    }
  for (guint i = 0; i < events->len; i++)
    {
      c->stats.input_events++;
      if (c->cb.input)
        c->cb.input (p->ml_id, &g_array_index (events, LbInputEvent, i), c->user_data);
    }
}

static void
on_message (Peer *p, guint type, const guint8 *payload, gsize len)
{
  LbMlControl *c = p->control;
  switch (type)
    {
    case MSG_REQUEST_IDR:
    case MSG_START_B:         /* the stream starts: the client waits for an IDR */
    case MSG_INVALIDATE_REFS: /* we offer no reference-frame invalidation: an IDR repairs */
      c->stats.idr_requests++;
      p->idr_pending = TRUE;
      break;
    case MSG_PING:
      c->stats.pings++;
      break;
    case MSG_FEC_STATUS:
      c->stats.loss_reports++;
      if (len >= 21)
        g_debug ("launch %s: frame %u lost packets: data %u/%u, parity %u/%u, fec %u%%", p->ml_id,
                 be32 (payload), (guint)(payload[14] << 8 | payload[15]),
                 (guint)(payload[10] << 8 | payload[11]), (guint)(payload[16] << 8 | payload[17]),
                 (guint)(payload[12] << 8 | payload[13]), payload[18]);
      break;
    case MSG_LOSS_STATS:
      c->stats.loss_reports++;
      if (len >= 8)
        g_debug ("launch %s: loss stats: %u lost in %u ms", p->ml_id, le32 (payload),
                 le32 (payload + 4));
      break;
    case MSG_INPUT:
      on_input (p, payload, len);
      break;
    default:
      c->stats.unknown++;
      g_debug ("launch %s: control message 0x%04x (%zu bytes) ignored", p->ml_id, type, len);
      break;
    }
}

static void
on_receive (Peer *p, const guint8 *d, gsize len)
{
  LbMlControl *c = p->control;
  if (len < 4 || le16 (d) != 0x0001)
    {
      drop (p, &c->stats.dropped_malformed, "not an encrypted message");
      return;
    }
  if (le16 (d + 2) != len - 4)
    {
      drop (p, &c->stats.dropped_malformed, "length field disagrees with the packet");
      return;
    }
  if (len < WRAP_HEADER + 4 || len > MAX_MESSAGE)
    {
      drop (p, &c->stats.dropped_malformed, "truncated or oversized");
      return;
    }
  guint32 seq = le32 (d + 4);
  guint8 iv[12], tag[TAG_SIZE], plain[MAX_MESSAGE];
  gsize plen = len - WRAP_HEADER;
  make_iv (iv, seq, 'C');
  memcpy (tag, d + 8, TAG_SIZE);
  if (!gcm (p->cipher, FALSE, p->key, iv, d + WRAP_HEADER, plen, plain, tag))
    {
      drop (p, &c->stats.dropped_auth, "authentication failed");
      return;
    }
  if (le16 (plain + 2) != plen - 4)
    {
      drop (p, &c->stats.dropped_malformed, "inner length field disagrees with the message");
      return;
    }
  /* after authentication, so forged sequence numbers cannot move the window */
  if (!replay_check_and_mark (p, seq))
    {
      drop (p, &c->stats.dropped_replay, "sequence number replayed");
      return;
    }
  p->bad_in_row = 0;
  c->stats.messages++;
  on_message (p, le16 (plain), plain + 4, plen - 4);
}

/* ------------------------------------------------------------------ */
/* servicing on the main context */

static gboolean
any_peer_active (LbMlControl *c)
{
  for (size_t i = 0; i < c->host->peerCount; i++)
    if (c->host->peers[i].state != ENET_PEER_STATE_DISCONNECTED)
      return TRUE;
  return FALSE;
}

static gboolean
on_timer (gpointer data)
{
  service (data);
  return G_SOURCE_CONTINUE;
}

/* Delivers coalesced IDR requests and notes which peers ENet still hears
 * from (acknowledgements and pings count). */
static gboolean
after_service (LbMlControl *c)
{
  gint64 now = g_get_monotonic_time ();
  gboolean pending = FALSE;
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, c->by_id);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      Peer *p = value;
      if (p->peer->lastReceiveTime != p->last_receive_sample)
        {
          p->last_receive_sample = p->peer->lastReceiveTime;
          p->last_alive_us = now;
        }
      if (!p->idr_pending)
        continue;
      if (now - p->last_idr_us >= IDR_MIN_INTERVAL_US)
        {
          p->idr_pending = FALSE;
          p->last_idr_us = now;
          g_ptr_array_add (due, g_strdup (p->ml_id));
        }
      else
        pending = TRUE;
    }
  for (guint i = 0; i < due->len; i++)
    if (c->cb.idr_request)
      c->cb.idr_request (due->pdata[i], c->user_data);
  return pending;
}

static void
service (LbMlControl *c)
{
  ENetEvent ev;
  int r;
  while ((r = enet_host_service (c->host, &ev, 0)) > 0)
    {
      switch (ev.type)
        {
        case ENET_EVENT_TYPE_CONNECT:
          on_connect (c, ev.peer, ev.data);
          break;
        case ENET_EVENT_TYPE_DISCONNECT:
          on_disconnect (c, ev.peer);
          break;
        case ENET_EVENT_TYPE_RECEIVE:
          if (ev.peer->data)
            on_receive (ev.peer->data, ev.packet->data, ev.packet->dataLength);
          enet_packet_destroy (ev.packet);
          break;
        default:
          break;
        }
    }
  if (r < 0)
    g_debug ("enet_host_service failed");
  gboolean pending = after_service (c);
  /* ENet retransmits, pings and times out only when serviced: a short
   * timer while anyone is connected (or an IDR waits), none when idle. */
  gboolean need_timer = pending || any_peer_active (c);
  if (need_timer && !c->timer)
    {
      c->timer = g_timeout_source_new (SERVICE_INTERVAL_MS);
      g_source_set_callback (c->timer, on_timer, c, NULL);
      g_source_attach (c->timer, c->context);
    }
  else if (!need_timer && c->timer)
    {
      g_source_destroy (c->timer);
      g_clear_pointer (&c->timer, g_source_unref);
    }
}

static gboolean
on_socket (gint fd, GIOCondition cond, gpointer data)
{
  service (data);
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ */
/* public */

LbMlControl *
lb_ml_control_new (const char *bind_address, guint16 port, const LbMlControlCallbacks *cb,
                   gpointer user_data, GError **error)
{
  static gsize enet_ready = 0;
  if (g_once_init_enter (&enet_ready))
    {
      int r = enet_initialize ();
      g_once_init_leave (&enet_ready, r == 0 ? 1 : 2);
    }
  if (enet_ready != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "ENet failed to initialize");
      return NULL;
    }
  ENetAddress address = { 0 };
  if (!bind_address || enet_address_set_host_ip (&address, bind_address) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "moonlight control: bad IPv4 bind address \"%s\"",
                   bind_address ? bind_address : "(null)");
      return NULL;
    }
  address.port = port;
  ENetHost *host = enet_host_create (&address, MAX_PEERS, CHANNELS, 0, 0);
  if (!host)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   "moonlight control: cannot bind UDP %s:%u", bind_address, port);
      return NULL;
    }
  host->maximumPacketSize = MAX_MESSAGE;
  host->maximumWaitingData = 64 * MAX_MESSAGE;

  LbMlControl *c = g_new0 (LbMlControl, 1);
  c->host = host;
  c->context = g_main_context_ref_thread_default ();
  if (cb)
    c->cb = *cb;
  c->user_data = user_data;
  c->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  c->fd_source = g_unix_fd_source_new (host->socket, G_IO_IN);
  g_source_set_callback (c->fd_source, G_SOURCE_FUNC (on_socket), c, NULL);
  g_source_attach (c->fd_source, c->context);
  g_debug ("moonlight control listening on UDP %s:%u", bind_address, lb_ml_control_get_port (c));
  return c;
}

guint16
lb_ml_control_get_port (LbMlControl *c)
{
  ENetAddress a = { 0 };
  if (enet_socket_get_address (c->host->socket, &a) < 0)
    return 0;
  return a.port;
}

void
lb_ml_control_free (LbMlControl *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->host->peerCount; i++)
    {
      ENetPeer *peer = &c->host->peers[i];
      if (peer->data)
        peer_detach (peer->data);
      if (peer->state != ENET_PEER_STATE_DISCONNECTED)
        enet_peer_disconnect_now (peer, 0);
    }
  if (c->timer)
    {
      g_source_destroy (c->timer);
      g_source_unref (c->timer);
    }
  g_source_destroy (c->fd_source);
  g_source_unref (c->fd_source);
  enet_host_destroy (c->host);
  g_hash_table_unref (c->by_id);
  g_main_context_unref (c->context);
  g_free (c);
}

void
lb_ml_control_terminate (LbMlControl *c, const char *ml_id, guint32 reason)
{
  Peer *p = ml_id ? g_hash_table_lookup (c->by_id, ml_id) : NULL;
  if (!p || p->end_reason)
    return;
  /* plaintext: LE16 type, LE16 4, BE32 reason (an HRESULT) */
  guint8 plain[8], iv[12];
  put_le16 (plain, MSG_TERMINATION);
  put_le16 (plain + 2, 4);
  plain[4] = reason >> 24;
  plain[5] = reason >> 16;
  plain[6] = reason >> 8;
  plain[7] = reason;
  ENetPacket *pkt
      = enet_packet_create (NULL, WRAP_HEADER + sizeof plain, ENET_PACKET_FLAG_RELIABLE);
  guint32 seq = p->send_seq++;
  if (pkt)
    {
      put_le16 (pkt->data, 0x0001);
      put_le16 (pkt->data + 2, (guint)(pkt->dataLength - 4));
      put_le32 (pkt->data + 4, seq);
    }
  make_iv (iv, seq, 'H');
  if (!pkt
      || !gcm (p->cipher, TRUE, p->key, iv, plain, sizeof plain, pkt->data + WRAP_HEADER,
               pkt->data + 8)
      || enet_peer_send (p->peer, 0, pkt) < 0)
    {
      g_warning ("launch %s: could not send the termination message", p->ml_id);
      if (pkt)
        enet_packet_destroy (pkt);
    }
  p->end_reason = "terminated";
  /* disconnect once the termination is delivered; disconnected follows */
  enet_peer_disconnect_later (p->peer, 0);
  enet_host_flush (c->host);
  g_debug ("launch %s: control terminated (0x%08x)", p->ml_id, reason);
}

void
lb_ml_control_get_stats (LbMlControl *c, LbMlControlStats *out)
{
  *out = c->stats;
}

/* ------------------------------------------------------------------ */
/* input */

enum
{
  IN_KEY_DOWN = 0x03,
  IN_KEY_UP = 0x04,
  IN_MOUSE_ABS = 0x05,
  IN_MOUSE_REL = 0x07, /* GEN5+ (0x06 before) */
  IN_BUTTON_DOWN = 0x08,
  IN_BUTTON_UP = 0x09,
  IN_SCROLL = 0x0A,    /* GEN5+ (0x09 before; 0x0A was the old single controller) */
  IN_MULTI_PAD = 0x0C, /* GEN5+ multi-controller */
  IN_HAPTICS = 0x0D,   /* enable haptics (0x0D was the old multi-controller) */
  IN_UTF8_TEXT = 0x17,
  IN_SS_HSCROLL = 0x55000001,
  IN_SS_TOUCH = 0x55000002,
  IN_SS_PEN = 0x55000003,
  IN_SS_PAD_ARRIVAL = 0x55000004,
  IN_SS_PAD_TOUCH = 0x55000005,
  IN_SS_PAD_MOTION = 0x55000006,
  IN_SS_PAD_BATTERY = 0x55000007,
};

/* Windows virtual-key code → X keysym (X11/keysymdef.h), US layout; 0 =
 * none. Letters map to lower case: shift arrives as its own key. */
static guint32
vk_to_keysym (guint vk)
{
  if (vk >= 0x41 && vk <= 0x5A)
    return vk + 0x20; /* a–z */
  if (vk >= 0x30 && vk <= 0x39)
    return vk; /* 0–9 */
  if (vk >= 0x70 && vk <= 0x87)
    return 0xFFBE + (vk - 0x70); /* F1–F24 */
  if (vk >= 0x60 && vk <= 0x69)
    return 0xFFB0 + (vk - 0x60); /* KP_0–KP_9 */
  switch (vk)
    {
    case 0x08:
      return 0xFF08; /* BackSpace */
    case 0x09:
      return 0xFF09; /* Tab */
    case 0x0C:
      return 0xFF0B; /* Clear */
    case 0x0D:
      return 0xFF0D; /* Return */
    case 0x10:
      return 0xFFE1; /* VK_SHIFT → Shift_L */
    case 0x11:
      return 0xFFE3; /* VK_CONTROL → Control_L */
    case 0x12:
      return 0xFFE9; /* VK_MENU → Alt_L */
    case 0x13:
      return 0xFF13; /* Pause */
    case 0x14:
      return 0xFFE5; /* Caps_Lock */
    case 0x1B:
      return 0xFF1B; /* Escape */
    case 0x20:
      return 0x0020; /* space */
    case 0x21:
      return 0xFF55; /* Prior */
    case 0x22:
      return 0xFF56; /* Next */
    case 0x23:
      return 0xFF57; /* End */
    case 0x24:
      return 0xFF50; /* Home */
    case 0x25:
      return 0xFF51; /* Left */
    case 0x26:
      return 0xFF52; /* Up */
    case 0x27:
      return 0xFF53; /* Right */
    case 0x28:
      return 0xFF54; /* Down */
    case 0x2C:
      return 0xFF61; /* Print */
    case 0x2D:
      return 0xFF63; /* Insert */
    case 0x2E:
      return 0xFFFF; /* Delete */
    case 0x5B:
      return 0xFFEB; /* Super_L */
    case 0x5C:
      return 0xFFEC; /* Super_R */
    case 0x5D:
      return 0xFF67; /* Menu */
    case 0x6A:
      return 0xFFAA; /* KP_Multiply */
    case 0x6B:
      return 0xFFAB; /* KP_Add */
    case 0x6C:
      return 0xFFAC; /* KP_Separator */
    case 0x6D:
      return 0xFFAD; /* KP_Subtract */
    case 0x6E:
      return 0xFFAE; /* KP_Decimal */
    case 0x6F:
      return 0xFFAF; /* KP_Divide */
    case 0x90:
      return 0xFF7F; /* Num_Lock */
    case 0x91:
      return 0xFF14; /* Scroll_Lock */
    case 0xA0:
      return 0xFFE1; /* Shift_L */
    case 0xA1:
      return 0xFFE2; /* Shift_R */
    case 0xA2:
      return 0xFFE3; /* Control_L */
    case 0xA3:
      return 0xFFE4; /* Control_R */
    case 0xA4:
      return 0xFFE9; /* Alt_L */
    case 0xA5:
      return 0xFFEA; /* Alt_R */
    case 0xBA:
      return 0x003B; /* semicolon */
    case 0xBB:
      return 0x003D; /* equal */
    case 0xBC:
      return 0x002C; /* comma */
    case 0xBD:
      return 0x002D; /* minus */
    case 0xBE:
      return 0x002E; /* period */
    case 0xBF:
      return 0x002F; /* slash */
    case 0xC0:
      return 0x0060; /* grave */
    case 0xDB:
      return 0x005B; /* bracketleft */
    case 0xDC:
      return 0x005C; /* backslash */
    case 0xDD:
      return 0x005D; /* bracketright */
    case 0xDE:
      return 0x0027; /* apostrophe */
    case 0xE2:
      return 0x003C; /* less (the 102nd key) */
    default:
      return 0;
    }
}

static gboolean
too_short (gsize have, gsize need, const char *what, GError **error)
{
  if (have >= need)
    return FALSE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "%s packet: %zu bytes of fields, needs %zu", what, have, need);
  return TRUE;
}

/* Wheel units (120 a notch) → steps, rounded; any movement is at least one
 * step, so high-resolution wheels and touchpads still scroll. */
static int
wheel_steps (int amount)
{
  if (amount == 0)
    return 0;
  int steps = MAX (1, (ABS (amount) + 60) / 120);
  return amount > 0 ? steps : -steps;
}

static guint
scale_axis (int v, int ref_max, guint screen)
{
  v = CLAMP (v, 0, ref_max);
  if (screen == 0)
    return (guint)v;
  return (guint)(((gint64)v * (screen - 1) + ref_max / 2) / ref_max);
}

gboolean
lb_ml_input_decode (const guint8 *data, gsize len, guint screen_w, guint screen_h,
                    GArray *events_out, GError **error)
{
  if (!data || len < 8)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "input packet of %zu bytes: shorter than its header", len);
      return FALSE;
    }
  guint32 size = be32 (data);
  if ((gsize)size != len - 4)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "input packet size field %u, but %zu bytes follow it", size, len - 4);
      return FALSE;
    }
  guint32 magic = le32 (data + 4);
  const guint8 *f = data + 8;
  gsize n = len - 8;
  LbInputEvent ev = { 0 };
  switch (magic)
    {
    case IN_KEY_DOWN:
    case IN_KEY_UP:
      {
        /* flags (Sunshine), LE16 key code (only its low byte is the VK;
         * clients set 0x80 in the high byte), modifiers, 0 */
        if (too_short (n, 4, "key", error))
          return FALSE;
        guint vk = le16 (f + 1) & 0xFF;
        guint32 keysym = vk_to_keysym (vk);
        if (!keysym)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         "key: virtual-key code 0x%02x has no keysym", vk);
            return FALSE;
          }
        ev.type = LB_INPUT_KEY;
        ev.key.keysym = keysym;
        ev.key.pressed = magic == IN_KEY_DOWN;
        g_array_append_val (events_out, ev);
        return TRUE;
      }
    case IN_MOUSE_REL:
      if (too_short (n, 4, "relative mouse", error))
        return FALSE;
      ev.type = LB_INPUT_MOTION_RELATIVE;
      ev.relative.dx = be16s (f);
      ev.relative.dy = be16s (f + 2);
      g_array_append_val (events_out, ev);
      return TRUE;
    case IN_MOUSE_ABS:
      {
        /* BE16 x, y, unused, width − 1, height − 1 of the client's
         * reference area */
        if (too_short (n, 10, "absolute mouse", error))
          return FALSE;
        int ref_w = be16s (f + 6), ref_h = be16s (f + 8);
        if (ref_w <= 0 || ref_h <= 0)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         "absolute mouse: reference size %dx%d", ref_w + 1, ref_h + 1);
            return FALSE;
          }
        ev.type = LB_INPUT_MOTION;
        ev.motion.x = scale_axis (be16s (f), ref_w, screen_w);
        ev.motion.y = scale_axis (be16s (f + 2), ref_h, screen_h);
        ev.motion.width = screen_w && screen_h ? screen_w : (guint)ref_w + 1;
        ev.motion.height = screen_w && screen_h ? screen_h : (guint)ref_h + 1;
        if (!(screen_w && screen_h))
          {
            ev.motion.x = (guint)CLAMP (be16s (f), 0, ref_w);
            ev.motion.y = (guint)CLAMP (be16s (f + 2), 0, ref_h);
          }
        g_array_append_val (events_out, ev);
        return TRUE;
      }
    case IN_BUTTON_DOWN:
    case IN_BUTTON_UP:
      {
        /* 1 left, 2 middle, 3 right, 4 X1, 5 X2 → X buttons 1, 2, 3, 8, 9 */
        static const guint x_button[] = { 0, 1, 2, 3, 8, 9 };
        if (too_short (n, 1, "mouse button", error))
          return FALSE;
        if (f[0] < 1 || f[0] > 5)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "mouse button %u unknown",
                         f[0]);
            return FALSE;
          }
        ev.type = LB_INPUT_BUTTON;
        ev.button.button = x_button[f[0]];
        ev.button.pressed = magic == IN_BUTTON_DOWN;
        g_array_append_val (events_out, ev);
        return TRUE;
      }
    case IN_SCROLL:
    case IN_SS_HSCROLL:
      {
        /* BE16 amount, 120 a notch: vertical + is up (our dy + is down),
         * horizontal + is right */
        if (too_short (n, 2, "scroll", error))
          return FALSE;
        int steps = wheel_steps (be16s (f));
        if (!steps)
          return TRUE;
        ev.type = LB_INPUT_SCROLL;
        if (magic == IN_SCROLL)
          ev.scroll.dy = -steps;
        else
          ev.scroll.dx = steps;
        g_array_append_val (events_out, ev);
        return TRUE;
      }
    case IN_UTF8_TEXT:
      {
        const char *text = (const char *)f;
        if (!g_utf8_validate_len (text, n, NULL))
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         "text: not UTF-8 (or contains NUL)");
            return FALSE;
          }
        /* events of at most LB_INPUT_TEXT_MAX − 1 bytes, cut between characters */
        gsize start = 0;
        while (start < n)
          {
            gsize end = start;
            while (end < n)
              {
                gsize next = (gsize)(g_utf8_next_char (text + end) - text);
                if (next - start > LB_INPUT_TEXT_MAX - 1)
                  break;
                end = next;
              }
            LbInputEvent t = { .type = LB_INPUT_TEXT };
            memcpy (t.text.utf8, text + start, end - start);
            g_array_append_val (events_out, t);
            start = end;
          }
        return TRUE;
      }
    case IN_MULTI_PAD:
    case IN_HAPTICS:
    case IN_SS_TOUCH:
    case IN_SS_PEN:
    case IN_SS_PAD_ARRIVAL:
    case IN_SS_PAD_TOUCH:
    case IN_SS_PAD_MOTION:
    case IN_SS_PAD_BATTERY:
      g_debug ("input packet 0x%08x (gamepad, touch or pen; %zu bytes) ignored: not supported",
               magic, n);
      return TRUE;
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "input packet type 0x%08x unknown",
                   magic);
      return FALSE;
    }
}
