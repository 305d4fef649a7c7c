/* test-ml-stream.c — the Moonlight video/audio sockets over real loopback
 * sockets: a ping with the peer's payload binds its address and the
 * datagrams are the packetizer's, byte for byte (and decrypt with OpenSSL
 * to them when encrypted); wrong payloads, other addresses and garbage get
 * nothing; P-frames wait for the first IDR; silence times out. */
#include "lb-ml-stream.h"
#include "lb-ml-video.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAYLOAD "ABCDEFGHIJKLMNOP"
#define PACKET_SIZE 256

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

/* A client's UDP socket on @ip, with a short receive timeout. */
static int
client_socket (const char *ip)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in a = { .sin_family = AF_INET };
  inet_pton (AF_INET, ip, &a.sin_addr);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&a, sizeof a), ==, 0);
  struct timeval tv = { 0, 300 * 1000 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void
send_to (int fd, guint16 port, const void *data, gsize len)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
  g_assert_cmpint (sendto (fd, data, len, 0, (struct sockaddr *)&a, sizeof a), ==, (ssize_t)len);
}

static void
ping (int fd, guint16 port, const char *payload, guint32 seq)
{
  guint8 p[20];
  memcpy (p, payload, 16);
  guint32 be = GUINT32_TO_BE (seq);
  memcpy (p + 16, &be, 4);
  send_to (fd, port, p, sizeof p);
}

/* Every datagram waiting on @fd (until a receive times out). */
static GPtrArray *
receive_all (int fd)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  guint8 buf[65536];
  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, 0);
      if (n < 0)
        break;
      g_ptr_array_add (out, g_bytes_new (buf, (gsize)n));
    }
  return out;
}

static gboolean
wait_streaming (LbMlStreamPeer *peer)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!lb_ml_stream_peer_is_streaming (peer) && g_get_monotonic_time () < end)
    spin (5);
  return lb_ml_stream_peer_is_streaming (peer);
}

/* An Annex-B-looking access unit of @len bytes. */
static guint8 *
make_au (gsize len, gboolean idr)
{
  guint8 *au = g_malloc (len);
  for (gsize i = 0; i < len; i++)
    au[i] = (guint8)(i * 7 + 3);
  static const guint8 start[] = { 0, 0, 0, 1 };
  memcpy (au, start, 4);
  au[4] = idr ? 0x67 : 0x41;
  return au;
}

static LbMlStreamParams
params (gboolean encrypt)
{
  LbMlStreamParams p = { .packet_size = PACKET_SIZE, .fec_percentage = 20, .min_fec_packets = 2 };
  p.encrypt_video = encrypt;
  for (guint i = 0; i < 16; i++)
    p.rikey[i] = (guint8)(0xA0 + i);
  p.rikeyid = 42;
  p.audio_packet_ms = 5;
  return p;
}

/* The datagrams an independent packetizer makes of @au as frame @index. */
static GPtrArray *
expected (const guint8 *au, gsize len, guint32 index, guint32 ts, gboolean idr, guint16 first_seq)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbMlVideoPacketizer) p = lb_ml_video_packetizer_new (PACKET_SIZE, 20, 2, &error);
  g_assert_no_error (error);
  /* A fresh packetizer: the peer's first frame. */
  g_assert_cmpuint (lb_ml_video_packetizer_get_next_seq (p), ==, first_seq);
  LbMlVideoFrameInfo info = { index, ts, idr, 0 };
  g_assert_true (lb_ml_video_packetize (p, au, len, &info, &error));
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  for (guint i = 0; i < lb_ml_video_packetizer_get_n_datagrams (p); i++)
    {
      gsize n = 0;
      const guint8 *d = lb_ml_video_packetizer_get_datagram (p, i, &n);
      g_ptr_array_add (out, g_bytes_new (d, n));
    }
  return out;
}

static guint32
frame_of (GBytes *b)
{
  const guint8 *d = g_bytes_get_data (b, NULL);
  return (guint32)d[20] | (guint32)d[21] << 8 | (guint32)d[22] << 16 | (guint32)d[23] << 24;
}

static void
assert_same (GPtrArray *got, GPtrArray *want)
{
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    g_assert_true (g_bytes_equal (got->pdata[i], want->pdata[i]));
}

typedef struct
{
  GPtrArray *timed_out;
} Fixture;

static void
on_timeout (const char *ml_id, gpointer user_data)
{
  Fixture *f = user_data;
  g_ptr_array_add (f->timed_out, g_strdup (ml_id));
}

static const LbMlStreamCallbacks callbacks = { on_timeout };

static LbMlStreamHost *
host_new (Fixture *f, guint timeout_ms)
{
  g_autoptr (GError) error = NULL;
  f->timed_out = g_ptr_array_new_with_free_func (g_free);
  LbMlStreamHost *host
      = lb_ml_stream_host_new ("127.0.0.1", 0, 0, timeout_ms, &callbacks, f, &error);
  g_assert_no_error (error);
  g_assert_nonnull (host);
  g_assert_cmpuint (lb_ml_stream_host_get_video_port (host), !=, 0);
  g_assert_cmpuint (lb_ml_stream_host_get_audio_port (host), !=, 0);
  return host;
}

static void
test_ping_binds_and_sends (void)
{
  Fixture f = { 0 };
  LbMlStreamHost *host = host_new (&f, 10000);
  guint16 vport = lb_ml_stream_host_get_video_port (host);
  g_autoptr (LbMlStreamPeer) peer = lb_ml_stream_host_add_peer (host, "id1", "127.0.0.1", PAYLOAD);
  g_assert_nonnull (peer);
  LbMlStreamParams p = params (FALSE);
  g_assert_true (lb_ml_stream_peer_set_params (peer, &p, NULL));
  g_autofree guint8 *idr = make_au (3000, TRUE);
  /* Not pinged yet: nothing to send to. */
  g_assert_false (lb_ml_stream_peer_send_video (peer, idr, 3000, 9000, TRUE));
  g_assert_false (lb_ml_stream_peer_is_streaming (peer));

  int fd = client_socket ("127.0.0.1");
  ping (fd, vport, PAYLOAD, 1);
  g_assert_true (wait_streaming (peer));
  g_assert_true (lb_ml_stream_peer_send_video (peer, idr, 3000, 9000, TRUE));
  g_autoptr (GPtrArray) got = receive_all (fd);
  g_autoptr (GPtrArray) want = expected (idr, 3000, 1, 9000, TRUE, 0);
  assert_same (got, want);
  g_assert_cmpuint (frame_of (got->pdata[0]), ==, 1);

  LbMlStreamStats st;
  lb_ml_stream_peer_get_stats (peer, &st);
  g_assert_cmpuint (st.frames_sent, ==, 1);
  g_assert_cmpuint (st.datagrams, ==, got->len);
  g_assert_cmpuint (st.video_pings, ==, 1);
  g_assert_cmpuint (st.frames_dropped, ==, 0);
  g_assert_cmpuint (lb_ml_stream_host_get_ignored (host), ==, 0);

  g_autoptr (LbMlStreamPeer) found = lb_ml_stream_host_find_peer (host, "id1");
  g_assert_true (found == peer);
  g_assert_null (lb_ml_stream_host_find_peer (host, "nope"));
  lb_ml_stream_host_remove_peer (host, "id1");
  g_assert_null (lb_ml_stream_host_find_peer (host, "id1"));
  g_assert_false (lb_ml_stream_peer_is_streaming (peer));
  g_assert_false (lb_ml_stream_peer_send_video (peer, idr, 3000, 9000, TRUE));
  close (fd);
  lb_ml_stream_host_free (host);
  g_ptr_array_unref (f.timed_out);
}

static void
test_bad_datagrams_ignored (void)
{
  Fixture f = { 0 };
  LbMlStreamHost *host = host_new (&f, 10000);
  guint16 vport = lb_ml_stream_host_get_video_port (host);
  guint16 aport = lb_ml_stream_host_get_audio_port (host);
  g_autoptr (LbMlStreamPeer) peer = lb_ml_stream_host_add_peer (host, "id1", "127.0.0.1", PAYLOAD);
  LbMlStreamParams p = params (FALSE);
  g_assert_true (lb_ml_stream_peer_set_params (peer, &p, NULL));

  int fd = client_socket ("127.0.0.1");
  int other = client_socket ("127.0.0.2");
  guint expect = 0;
  ping (fd, vport, "ABCDEFGHIJKLMNOQ", 1); /* wrong payload */
  ping (other, vport, PAYLOAD, 1);         /* right payload, other IP */
  ping (other, aport, PAYLOAD, 1);
  send_to (fd, vport, PAYLOAD, 10); /* truncated */
  send_to (fd, vport, PAYLOAD, 16); /* no sequence number */
  send_to (fd, vport, "", 0);
  send_to (fd, vport, "PIN", 3);
  expect = 7;
  guint8 garbage[1400];
  for (guint i = 0; i < 20; i++)
    {
      for (guint j = 0; j < sizeof garbage; j++)
        garbage[j] = (guint8)g_random_int ();
      send_to (fd, i % 2 ? aport : vport, garbage, 1 + g_random_int_range (0, sizeof garbage));
      expect++;
    }
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (lb_ml_stream_host_get_ignored (host) < expect && g_get_monotonic_time () < end)
    spin (5);
  g_assert_cmpuint (lb_ml_stream_host_get_ignored (host), ==, expect);
  g_assert_false (lb_ml_stream_peer_is_streaming (peer));
  g_autofree guint8 *idr = make_au (1000, TRUE);
  g_assert_false (lb_ml_stream_peer_send_video (peer, idr, 1000, 0, TRUE));
  g_autoptr (GPtrArray) a = receive_all (fd);
  g_autoptr (GPtrArray) b = receive_all (other);
  g_assert_cmpuint (a->len + b->len, ==, 0);

  /* A legacy "PING" binds when exactly one peer has that address... */
  send_to (fd, vport, "PING", 4);
  g_assert_true (wait_streaming (peer));
  /* ...not when two do. */
  g_autoptr (LbMlStreamPeer) p2 = lb_ml_stream_host_add_peer (host, "id2", "127.0.0.2", NULL);
  g_autoptr (LbMlStreamPeer) p3 = lb_ml_stream_host_add_peer (host, "id3", "127.0.0.2", NULL);
  g_assert_true (lb_ml_stream_peer_set_params (p2, &p, NULL));
  g_assert_true (lb_ml_stream_peer_set_params (p3, &p, NULL));
  send_to (other, vport, "PING", 4);
  expect++;
  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (lb_ml_stream_host_get_ignored (host) < expect && g_get_monotonic_time () < end)
    spin (5);
  g_assert_cmpuint (lb_ml_stream_host_get_ignored (host), ==, expect);
  g_assert_false (lb_ml_stream_peer_is_streaming (p2));
  g_assert_false (lb_ml_stream_peer_is_streaming (p3));
  close (fd);
  close (other);
  lb_ml_stream_host_free (host);
  /* Peers outlive the host and send nothing. */
  g_assert_false (lb_ml_stream_peer_send_video (peer, idr, 1000, 0, TRUE));
  g_ptr_array_unref (f.timed_out);
}

static void
test_p_frames_wait_for_idr (void)
{
  Fixture f = { 0 };
  LbMlStreamHost *host = host_new (&f, 10000);
  g_autoptr (LbMlStreamPeer) peer = lb_ml_stream_host_add_peer (host, "id1", "127.0.0.1", PAYLOAD);
  LbMlStreamParams p = params (FALSE);
  g_assert_true (lb_ml_stream_peer_set_params (peer, &p, NULL));
  int fd = client_socket ("127.0.0.1");
  ping (fd, lb_ml_stream_host_get_video_port (host), PAYLOAD, 1);
  g_assert_true (wait_streaming (peer));
  g_autofree guint8 *pf = make_au (500, FALSE);
  g_autofree guint8 *idr = make_au (2000, TRUE);
  g_assert_false (lb_ml_stream_peer_send_video (peer, pf, 500, 0, FALSE));
  g_assert_false (lb_ml_stream_peer_send_video (peer, pf, 500, 3000, FALSE));
  g_autoptr (GPtrArray) none = receive_all (fd);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_true (lb_ml_stream_peer_send_video (peer, idr, 2000, 6000, TRUE));
  g_assert_true (lb_ml_stream_peer_send_video (peer, pf, 500, 9000, FALSE));
  g_autoptr (GPtrArray) got = receive_all (fd);
  g_assert_cmpuint (got->len, >, 2);
  g_assert_cmpuint (frame_of (got->pdata[0]), ==, 1);
  g_assert_cmpuint (frame_of (got->pdata[got->len - 1]), ==, 2);
  LbMlStreamStats st;
  lb_ml_stream_peer_get_stats (peer, &st);
  g_assert_cmpuint (st.frames_sent, ==, 2);
  g_assert_cmpuint (st.frames_dropped, ==, 2);
  close (fd);
  lb_ml_stream_host_free (host);
  g_ptr_array_unref (f.timed_out);
}

static void
test_timeout (void)
{
  Fixture f = { 0 };
  LbMlStreamHost *host = host_new (&f, 600);
  g_autoptr (LbMlStreamPeer) pinged
      = lb_ml_stream_host_add_peer (host, "pinged", "127.0.0.1", PAYLOAD);
  g_autoptr (LbMlStreamPeer) never
      = lb_ml_stream_host_add_peer (host, "never", "127.0.0.1", "QQQQQQQQQQQQQQQQ");
  g_autoptr (LbMlStreamPeer) removed
      = lb_ml_stream_host_add_peer (host, "removed", "127.0.0.1", NULL);
  LbMlStreamParams p = params (FALSE);
  g_assert_true (lb_ml_stream_peer_set_params (pinged, &p, NULL));
  lb_ml_stream_host_remove_peer (host, "removed");
  int fd = client_socket ("127.0.0.1");
  /* Pinged for a while: not timed out while it pings. */
  for (guint i = 0; i < 15; i++)
    {
      ping (fd, lb_ml_stream_host_get_audio_port (host), PAYLOAD, i + 1);
      spin (100);
    }
  g_assert_true (g_ptr_array_find_with_equal_func (f.timed_out, "never", g_str_equal, NULL));
  g_assert_false (g_ptr_array_find_with_equal_func (f.timed_out, "pinged", g_str_equal, NULL));
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (f.timed_out->len < 2 && g_get_monotonic_time () < end)
    spin (10);
  spin (500);
  g_assert_cmpuint (f.timed_out->len, ==, 2);
  g_assert_true (g_ptr_array_find_with_equal_func (f.timed_out, "pinged", g_str_equal, NULL));
  g_assert_false (lb_ml_stream_peer_is_streaming (pinged));
  LbMlStreamStats st;
  lb_ml_stream_peer_get_stats (pinged, &st);
  g_assert_cmpuint (st.audio_pings, ==, 15);
  close (fd);
  lb_ml_stream_host_free (host);
  g_ptr_array_unref (f.timed_out);
}

static void
test_encryption (void)
{
  Fixture f = { 0 };
  LbMlStreamHost *host = host_new (&f, 10000);
  g_autoptr (LbMlStreamPeer) peer = lb_ml_stream_host_add_peer (host, "id1", "127.0.0.1", PAYLOAD);
  LbMlStreamParams p = params (TRUE);
  g_assert_true (lb_ml_stream_peer_set_params (peer, &p, NULL));
  int fd = client_socket ("127.0.0.1");
  ping (fd, lb_ml_stream_host_get_video_port (host), PAYLOAD, 1);
  g_assert_true (wait_streaming (peer));
  g_autofree guint8 *idr = make_au (3000, TRUE);
  g_assert_true (lb_ml_stream_peer_send_video (peer, idr, 3000, 1234, TRUE));
  g_autoptr (GPtrArray) got = receive_all (fd);
  g_autoptr (GPtrArray) want = expected (idr, 3000, 1, 1234, TRUE, 0);
  g_assert_cmpuint (got->len, ==, want->len);
  g_autoptr (GHashTable) ivs
      = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  for (guint i = 0; i < got->len; i++)
    {
      gsize n = 0;
      const guint8 *d = g_bytes_get_data (got->pdata[i], &n);
      gsize plain_len = 0;
      g_bytes_get_data (want->pdata[i], &plain_len);
      g_assert_cmpuint (n, ==, plain_len + LB_ML_STREAM_VIDEO_ENC_PREFIX);
      /* {iv[12], LE32 frame, tag[16]} then the ciphertext. */
      g_assert_cmpuint (d[12] | d[13] << 8 | d[14] << 16 | (guint32)d[15] << 24, ==, 1);
      g_assert_true (g_hash_table_add (ivs, g_bytes_new (d, 12)));
      guint8 out[PACKET_SIZE + 64];
      int len = 0, fin = 0;
      g_assert_cmpint (EVP_DecryptInit_ex (ctx, EVP_aes_128_gcm (), NULL, NULL, NULL), ==, 1);
      g_assert_cmpint (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL), ==, 1);
      g_assert_cmpint (EVP_DecryptInit_ex (ctx, NULL, NULL, p.rikey, d), ==, 1);
      g_assert_cmpint (EVP_DecryptUpdate (ctx, out, &len, d + 32, (int)(n - 32)), ==, 1);
      g_assert_cmpint (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)(d + 16)), ==,
                       1);
      g_assert_cmpint (EVP_DecryptFinal_ex (ctx, out + len, &fin), ==, 1);
      g_autoptr (GBytes) plain = g_bytes_new (out, (gsize)(len + fin));
      g_assert_true (g_bytes_equal (plain, want->pdata[i]));
    }
  /* A tampered byte fails the tag. */
  {
    gsize n = 0;
    const guint8 *orig = g_bytes_get_data (got->pdata[0], &n);
    guint8 *d = g_memdup2 (orig, n);
    d[40] ^= 1;
    guint8 out[PACKET_SIZE + 64];
    int len = 0, fin = 0;
    EVP_DecryptInit_ex (ctx, EVP_aes_128_gcm (), NULL, NULL, NULL);
    EVP_DecryptInit_ex (ctx, NULL, NULL, p.rikey, d);
    EVP_DecryptUpdate (ctx, out, &len, d + 32, (int)(n - 32));
    EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, 16, d + 16);
    g_assert_cmpint (EVP_DecryptFinal_ex (ctx, out + len, &fin), !=, 1);
    g_free (d);
  }
  EVP_CIPHER_CTX_free (ctx);
  close (fd);
  lb_ml_stream_host_free (host);
  g_ptr_array_unref (f.timed_out);
}

static void
test_audio (void)
{
  Fixture f = { 0 };
  LbMlStreamHost *host = host_new (&f, 10000);
  g_autoptr (LbMlStreamPeer) peer = lb_ml_stream_host_add_peer (host, "id1", "127.0.0.1", PAYLOAD);
  LbMlStreamParams p = params (FALSE);
  g_assert_true (lb_ml_stream_peer_set_params (peer, &p, NULL));
  int fd = client_socket ("127.0.0.1");
  const guint8 d[] = { 0x80, 97, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
  g_assert_false (lb_ml_stream_peer_send_audio_datagram (peer, d, sizeof d));
  ping (fd, lb_ml_stream_host_get_audio_port (host), PAYLOAD, 1);
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gboolean sent = FALSE;
  while (!(sent = lb_ml_stream_peer_send_audio_datagram (peer, d, sizeof d))
         && g_get_monotonic_time () < end)
    spin (5);
  g_assert_true (sent);
  g_autoptr (GPtrArray) got = receive_all (fd);
  g_assert_cmpuint (got->len, ==, 1);
  g_autoptr (GBytes) want = g_bytes_new (d, sizeof d);
  g_assert_true (g_bytes_equal (got->pdata[0], want));
  /* Audio pings do not make a video peer. */
  g_assert_false (lb_ml_stream_peer_is_streaming (peer));
  close (fd);
  lb_ml_stream_host_free (host);
  g_ptr_array_unref (f.timed_out);
}

/* Senders on other threads while the main thread adds and removes peers and
 * the host thread reads pings: no crash, no leak (ASan). */
typedef struct
{
  LbMlStreamHost *host;
  gint stop;
} Race;

static gpointer
race_sender (gpointer data)
{
  Race *r = data;
  g_autofree guint8 *idr = make_au (1500, TRUE);
  while (!g_atomic_int_get (&r->stop))
    {
      g_autoptr (LbMlStreamPeer) peer = lb_ml_stream_host_find_peer (r->host, "race");
      if (peer != NULL)
        lb_ml_stream_peer_send_video (peer, idr, 1500, 0, TRUE);
      g_thread_yield ();
    }
  return NULL;
}

static void
test_threads (void)
{
  Fixture f = { 0 };
  Race r = { host_new (&f, 10000), 0 };
  int fd = client_socket ("127.0.0.1");
  GThread *t = g_thread_new ("sender", race_sender, &r);
  LbMlStreamParams p = params (TRUE);
  for (guint i = 0; i < 100; i++)
    {
      g_autoptr (LbMlStreamPeer) peer
          = lb_ml_stream_host_add_peer (r.host, "race", "127.0.0.1", PAYLOAD);
      lb_ml_stream_peer_set_params (peer, &p, NULL);
      ping (fd, lb_ml_stream_host_get_video_port (r.host), PAYLOAD, i);
      g_usleep (1000);
      if (i % 3 == 0)
        lb_ml_stream_host_remove_peer (r.host, "race");
    }
  g_atomic_int_set (&r.stop, 1);
  g_thread_join (t);
  close (fd);
  lb_ml_stream_host_free (r.host);
  g_ptr_array_unref (f.timed_out);
}

static void
test_port_busy (void)
{
  Fixture f = { 0 };
  LbMlStreamHost *a = host_new (&f, 1000);
  g_autoptr (GError) error = NULL;
  LbMlStreamHost *b = lb_ml_stream_host_new ("127.0.0.1", lb_ml_stream_host_get_video_port (a), 0,
                                             1000, &callbacks, &f, &error);
  g_assert_null (b);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (lb_ml_stream_host_new ("not-an-ip", 0, 0, 1000, &callbacks, &f, &error));
  g_assert_nonnull (error);
  lb_ml_stream_host_free (a);
  g_ptr_array_unref (f.timed_out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ml-stream/ping-binds-and-sends", test_ping_binds_and_sends);
  g_test_add_func ("/ml-stream/bad-datagrams-ignored", test_bad_datagrams_ignored);
  g_test_add_func ("/ml-stream/p-frames-wait-for-idr", test_p_frames_wait_for_idr);
  g_test_add_func ("/ml-stream/timeout", test_timeout);
  g_test_add_func ("/ml-stream/encryption", test_encryption);
  g_test_add_func ("/ml-stream/audio", test_audio);
  g_test_add_func ("/ml-stream/threads", test_threads);
  g_test_add_func ("/ml-stream/port-busy", test_port_busy);
  return g_test_run ();
}
