/* ml-control-client — a Moonlight control-stream client for the tests,
 * written from the protocol (moonlight-common-c ControlStream.c / Input.h as
 * documented in docs/moonlight.md), with libenet and OpenSSL only: it shares
 * no code with lobbyd's lb-ml-control, so it can catch that module's bugs.
 *
 *   ml-control-client HOST PORT CONNECT_DATA RIKEY_HEX [BIND_ADDRESS] < script
 *
 * Connects with CONNECT_DATA as the ENet connect data, then runs the script
 * on stdin line by line (stdin may stay open; ENet is serviced meanwhile):
 *   idr | start | ping | fec-status | gamepad
 *   key VK down|up | mouse-rel DX DY | mouse-abs X Y W H | button N down|up
 *   scroll AMOUNT | hscroll AMOUNT | text UTF8...
 *   garbage N (N random bytes) | truncated | bad-length | unencrypted
 *   replay (resend the last encrypted message byte for byte)
 *   wait MS | quit (disconnect and exit)
 * Prints "connected", one line per message received ("termination 0x…",
 * "message 0xTYPE len N", "bad-message") and "disconnected". Exit 0 unless
 * the command line is wrong or the connection never came up. */
#include <enet/enet.h>
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHANNELS 0x30

static ENetHost *host;
static ENetPeer *peer;
static guint8 key[16];
static guint32 next_seq;
static GByteArray *last_sent;
static gboolean gone;

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

static void
put_be16 (guint8 *p, guint v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static gboolean
gcm (gboolean enc, const guint8 iv[12], const guint8 *in, int len, guint8 *out, guint8 tag[16])
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0, f = 0;
  gboolean ok = EVP_CipherInit_ex (ctx, EVP_aes_128_gcm (), NULL, NULL, NULL, enc) == 1
                && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1
                && EVP_CipherInit_ex (ctx, NULL, NULL, key, iv, enc) == 1
                && (len == 0 || EVP_CipherUpdate (ctx, out, &n, in, len) == 1)
                && (enc || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1)
                && EVP_CipherFinal_ex (ctx, out + n, &f) == 1
                && (!enc || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

/* {LE16 0x0001, LE16 len, LE32 seq, tag[16], AES-GCM({LE16 type, LE16 paylen, payload})}
 * with the control v2 IV {LE32 seq, 0 × 6, 'C', 'C'}. */
static GByteArray *
seal (guint type, const guint8 *payload, gsize paylen)
{
  guint32 seq = next_seq++;
  gsize ptlen = 4 + paylen;
  g_autofree guint8 *pt = g_malloc (ptlen);
  put_le16 (pt, type);
  put_le16 (pt + 2, (guint)paylen);
  if (paylen)
    memcpy (pt + 4, payload, paylen);
  GByteArray *m = g_byte_array_sized_new (24 + ptlen);
  g_byte_array_set_size (m, 24 + ptlen);
  put_le16 (m->data, 0x0001);
  put_le16 (m->data + 2, (guint)(4 + 16 + ptlen));
  put_le32 (m->data + 4, seq);
  guint8 iv[12] = { 0 };
  put_le32 (iv, seq);
  iv[10] = 'C';
  iv[11] = 'C';
  if (!gcm (TRUE, iv, pt, (int)ptlen, m->data + 24, m->data + 8))
    g_error ("encryption failed");
  return m;
}

static void
send_raw (const guint8 *d, gsize len, guint8 channel)
{
  ENetPacket *p = enet_packet_create (d, len, ENET_PACKET_FLAG_RELIABLE);
  if (enet_peer_send (peer, channel, p) < 0)
    enet_packet_destroy (p);
  enet_host_flush (host);
}

static void
send_msg (guint type, const guint8 *payload, gsize paylen, guint8 channel)
{
  GByteArray *m = seal (type, payload, paylen);
  send_raw (m->data, m->len, channel);
  if (last_sent)
    g_byte_array_unref (last_sent);
  last_sent = m;
}

/* An input packet: BE32 size (after this field), LE32 magic, body. */
static void
send_input (guint32 magic, const guint8 *body, gsize len, guint8 channel)
{
  guint8 buf[64];
  g_assert (len + 8 <= sizeof buf);
  guint32 size = 4 + (guint32)len;
  buf[0] = size >> 24;
  buf[1] = size >> 16;
  buf[2] = size >> 8;
  buf[3] = size;
  put_le32 (buf + 4, magic);
  memcpy (buf + 8, body, len);
  send_msg (0x0206, buf, len + 8, channel);
}

static void
on_receive (const guint8 *d, gsize len)
{
  if (len < 28 || d[0] != 1 || d[1] != 0 || (gsize)(d[2] | d[3] << 8) != len - 4)
    {
      printf ("bad-message\n");
      return;
    }
  guint32 seq = d[4] | d[5] << 8 | d[6] << 16 | (guint32)d[7] << 24;
  guint8 iv[12] = { 0 };
  put_le32 (iv, seq);
  iv[10] = 'H';
  iv[11] = 'C';
  gsize ctlen = len - 24;
  g_autofree guint8 *pt = g_malloc (ctlen);
  guint8 tag[16];
  memcpy (tag, d + 8, 16);
  if (!gcm (FALSE, iv, d + 24, (int)ctlen, pt, tag) || (gsize)(pt[2] | pt[3] << 8) != ctlen - 4)
    {
      printf ("bad-message\n");
      return;
    }
  guint type = pt[0] | pt[1] << 8;
  if (type == 0x0109 && ctlen >= 8)
    printf ("termination 0x%08x\n",
            (guint32)pt[4] << 24 | (guint32)pt[5] << 16 | (guint32)pt[6] << 8 | pt[7]);
  else
    printf ("message 0x%04x len %u\n", type, (guint)(ctlen - 4));
}

static void
service (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  do
    {
      ENetEvent ev;
      while (!gone && enet_host_service (host, &ev, 0) > 0)
        {
          if (ev.type == ENET_EVENT_TYPE_RECEIVE)
            {
              on_receive (ev.packet->data, ev.packet->dataLength);
              enet_packet_destroy (ev.packet);
            }
          else if (ev.type == ENET_EVENT_TYPE_DISCONNECT)
            gone = TRUE;
        }
      fflush (stdout);
      if (gone || ms == 0)
        return;
      g_usleep (2000);
    }
  while (g_get_monotonic_time () < end);
}

static void
run_line (char *line)
{
  g_strstrip (line);
  char **w = g_strsplit_set (line, " \t", -1);
  const char *c = w[0];
  guint n = g_strv_length (w);
  guint8 b[64] = { 0 };
  if (!*c)
    ;
  else if (!strcmp (c, "idr"))
    send_msg (0x0302, b, 2, 1);
  else if (!strcmp (c, "start"))
    send_msg (0x0307, b, 1, 0);
  else if (!strcmp (c, "ping"))
    {
      put_le16 (b, 4);
      send_msg (0x0200, b, 6, 0);
    }
  else if (!strcmp (c, "fec-status"))
    {
      /* SS_FRAME_FEC_STATUS, big-endian: frame 7, seqs, 10 data 2 parity */
      b[3] = 7;
      b[11] = 10;
      b[13] = 2;
      b[15] = 9;
      b[17] = 2;
      b[18] = 20;
      b[20] = 1;
      send_msg (0x5502, b, 21, 0);
    }
  else if (!strcmp (c, "gamepad"))
    {
      put_le16 (b, 0x1A);     /* headerB */
      put_le16 (b + 6, 0x14); /* midB */
      send_input (0xC, b, 26, 0x10);
    }
  else if (!strcmp (c, "key") && n == 3)
    {
      guint vk = (guint)strtoul (w[1], NULL, 0);
      /* flags 0, LE16 keyCode (moonlight-qt sets 0x80 in the high byte), modifiers, 0 */
      put_le16 (b + 1, 0x8000 | vk);
      send_input (!strcmp (w[2], "down") ? 3 : 4, b, 6, 2);
    }
  else if (!strcmp (c, "mouse-rel") && n == 3)
    {
      put_be16 (b, (guint)atoi (w[1]) & 0xFFFF);
      put_be16 (b + 2, (guint)atoi (w[2]) & 0xFFFF);
      send_input (7, b, 4, 3);
    }
  else if (!strcmp (c, "mouse-abs") && n == 5)
    {
      put_be16 (b, (guint)atoi (w[1]) & 0xFFFF);
      put_be16 (b + 2, (guint)atoi (w[2]) & 0xFFFF);
      /* the reference size minus one, as moonlight-common-c sends it */
      put_be16 (b + 6, (guint)(atoi (w[3]) - 1) & 0xFFFF);
      put_be16 (b + 8, (guint)(atoi (w[4]) - 1) & 0xFFFF);
      send_input (5, b, 10, 3);
    }
  else if (!strcmp (c, "button") && n == 3)
    {
      b[0] = (guint8)atoi (w[1]);
      send_input (!strcmp (w[2], "down") ? 8 : 9, b, 1, 3);
    }
  else if (!strcmp (c, "scroll") && n == 2)
    {
      put_be16 (b, (guint)atoi (w[1]) & 0xFFFF);
      put_be16 (b + 2, (guint)atoi (w[1]) & 0xFFFF);
      send_input (0xA, b, 6, 3);
    }
  else if (!strcmp (c, "hscroll") && n == 2)
    {
      put_be16 (b, (guint)atoi (w[1]) & 0xFFFF);
      send_input (0x55000001, b, 2, 3);
    }
  else if (!strcmp (c, "text") && n >= 2)
    {
      const char *t = line + 5;
      gsize len = MIN (strlen (t), 32);
      send_input (0x17, (const guint8 *)t, len, 6);
    }
  else if (!strcmp (c, "garbage") && n == 2)
    {
      gsize len = CLAMP (strtoul (w[1], NULL, 0), 1, 4096);
      g_autofree guint8 *g = g_malloc (len);
      RAND_bytes (g, (int)len);
      send_raw (g, len, 0);
    }
  else if (!strcmp (c, "truncated"))
    {
      g_autoptr (GByteArray) m = seal (0x0302, b, 2);
      send_raw (m->data, m->len - 5, 1); /* length field still says the full size */
    }
  else if (!strcmp (c, "bad-length"))
    {
      g_autoptr (GByteArray) m = seal (0x0302, b, 2);
      put_le16 (m->data + 2, (guint)m->len - 4 + 1);
      send_raw (m->data, m->len, 1);
    }
  else if (!strcmp (c, "unencrypted"))
    {
      guint8 v1[4] = { 0x02, 0x03, 0, 0 }; /* V1 header: LE16 0x0302 and its payload */
      send_raw (v1, sizeof v1, 1);
    }
  else if (!strcmp (c, "replay"))
    {
      if (last_sent)
        send_raw (last_sent->data, last_sent->len, 1);
    }
  else if (!strcmp (c, "wait") && n == 2)
    service ((guint)atoi (w[1]));
  else if (!strcmp (c, "quit"))
    gone = TRUE;
  else
    fprintf (stderr, "ml-control-client: bad line: %s\n", line);
  g_strfreev (w);
  service (0);
}

int
main (int argc, char **argv)
{
  if ((argc != 5 && argc != 6) || strlen (argv[4]) != 32)
    {
      fprintf (stderr, "usage: %s HOST PORT CONNECT_DATA RIKEY_HEX [BIND_ADDRESS] < script\n",
               argv[0]);
      return 2;
    }
  for (int i = 0; i < 16; i++)
    key[i] = (guint8)(g_ascii_xdigit_value (argv[4][2 * i]) << 4
                      | g_ascii_xdigit_value (argv[4][2 * i + 1]));
  if (enet_initialize () != 0)
    return 1;
  ENetAddress addr = { 0 };
  enet_address_set_host_ip (&addr, argv[1]);
  addr.port = (enet_uint16)atoi (argv[2]);
  /* A client of several on one machine (tests give each its own
   * 127.0.0.x) sends from its own address, as the host checks. */
  ENetAddress local = { .host = ENET_HOST_ANY, .port = 0 };
  if (argc == 6)
    enet_address_set_host_ip (&local, argv[5]);
  host = enet_host_create (argc == 6 ? &local : NULL, 1, CHANNELS, 0, 0);
  peer = enet_host_connect (host, &addr, CHANNELS, (enet_uint32)strtoul (argv[3], NULL, 0));
  ENetEvent ev;
  if (enet_host_service (host, &ev, 5000) <= 0 || ev.type != ENET_EVENT_TYPE_CONNECT)
    {
      fprintf (stderr, "ml-control-client: no connection\n");
      return 1;
    }
  printf ("connected\n");
  fflush (stdout);

  GString *in = g_string_new (NULL);
  gboolean eof = FALSE, quit = FALSE;
  while (!gone && !quit)
    {
      char *nl;
      while (!quit && !gone && (nl = strchr (in->str, '\n')))
        {
          g_autofree char *line = g_strndup (in->str, nl - in->str);
          g_string_erase (in, 0, nl - in->str + 1);
          quit = g_str_has_prefix (line, "quit");
          run_line (line);
        }
      if (quit || gone)
        break;
      if (eof)
        {
          service (200); /* script ended without quit: linger, then disconnect */
          break;
        }
      struct pollfd p = { .fd = 0, .events = POLLIN };
      if (poll (&p, 1, 10) > 0)
        {
          char buf[4096];
          ssize_t r = read (0, buf, sizeof buf);
          if (r <= 0)
            eof = TRUE;
          else
            g_string_append_len (in, buf, r);
        }
      service (0);
    }
  if (quit)
    gone = FALSE;
  if (!gone)
    {
      enet_peer_disconnect (peer, 0);
      gint64 end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
      while (!gone && g_get_monotonic_time () < end)
        service (10);
    }
  printf ("disconnected\n");
  fflush (stdout);
  g_string_free (in, TRUE);
  if (last_sent)
    g_byte_array_unref (last_sent);
  enet_host_destroy (host);
  enet_deinitialize ();
  return 0;
}
