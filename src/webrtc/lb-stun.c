/* lb-stun.c — STUN Binding for an ICE-lite agent (RFC 5389, RFC 8445 §2.5). */
#define G_LOG_DOMAIN "lobbyd-webrtc"
#include "lb-stun.h"

#include <string.h>

#define ATTR_MAPPED_ADDRESS 0x0001
#define ATTR_USERNAME 0x0006
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_FINGERPRINT 0x8028
#define FINGERPRINT_XOR 0x5354554eu
#define HMAC_LEN 20

static guint16
get16 (const guint8 *p)
{
  return (guint16)(p[0] << 8 | p[1]);
}

static guint32
get32 (const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void
put16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

guint32
lb_stun_crc32 (const guint8 *data, gsize len)
{
  static guint32 table[256];
  static gsize ready;
  if (g_once_init_enter (&ready))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;
          for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
          table[i] = c;
        }
      g_once_init_leave (&ready, 1);
    }
  guint32 crc = 0xFFFFFFFFu;
  for (gsize i = 0; i < len; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

gboolean
lb_stun_parse (const guint8 *buf, gsize len, LbStunMessage *msg)
{
  memset (msg, 0, sizeof *msg);
  /* The two top bits are zero (RFC 7983 demultiplexing relies on it), the
   * length covers whole 4-byte attributes. */
  if (len < LB_STUN_HEADER || (buf[0] & 0xC0) != 0 || get32 (buf + 4) != LB_STUN_MAGIC)
    return FALSE;
  gsize body = get16 (buf + 2);
  if (body % 4 != 0 || LB_STUN_HEADER + body != len)
    return FALSE;
  msg->type = get16 (buf);
  memcpy (msg->transaction, buf + 8, 12);

  gsize at = LB_STUN_HEADER;
  while (at < len)
    {
      if (len - at < 4)
        return FALSE;
      guint16 type = get16 (buf + at), alen = get16 (buf + at + 2);
      gsize padded = (alen + 3u) & ~3u;
      if (len - at - 4 < padded)
        return FALSE;
      const guint8 *value = buf + at + 4;
      /* Nothing but FINGERPRINT may follow MESSAGE-INTEGRITY, and nothing
       * FINGERPRINT (RFC 5389 §15.4-15.5): later attributes are ignored. */
      if (msg->has_fingerprint)
        return FALSE;
      switch (type)
        {
        case ATTR_USERNAME:
          if (!msg->has_integrity)
            msg->username = (const char *)value, msg->username_len = alen;
          break;
        case ATTR_USE_CANDIDATE:
          if (!msg->has_integrity)
            msg->use_candidate = TRUE;
          break;
        case ATTR_MESSAGE_INTEGRITY:
          if (alen != HMAC_LEN || msg->has_integrity)
            return FALSE;
          msg->has_integrity = TRUE;
          break;
        case ATTR_FINGERPRINT:
          {
            if (alen != 4)
              return FALSE;
            /* The CRC covers the message up to this attribute, with the
             * header's length already counting it. */
            if ((lb_stun_crc32 (buf, at) ^ FINGERPRINT_XOR) != get32 (value))
              return FALSE;
            msg->has_fingerprint = TRUE;
            break;
          }
        default:
          break;
        }
      at += 4 + padded;
    }
  return TRUE;
}

/* HMAC-SHA1 of @buf[0..@upto) with the header's length set as if the message
 * ended right after a MESSAGE-INTEGRITY at @upto (RFC 5389 §15.4). */
static void
integrity (const guint8 *buf, gsize upto, const char *key, guint8 out[HMAC_LEN])
{
  guint8 header[LB_STUN_HEADER];
  memcpy (header, buf, LB_STUN_HEADER);
  put16 (header + 2, (guint16)(upto - LB_STUN_HEADER + 4 + HMAC_LEN));
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *)key, strlen (key));
  g_hmac_update (hmac, header, LB_STUN_HEADER);
  g_hmac_update (hmac, buf + LB_STUN_HEADER, upto - LB_STUN_HEADER);
  gsize n = HMAC_LEN;
  g_hmac_get_digest (hmac, out, &n);
}

gboolean
lb_stun_check_integrity (const guint8 *buf, gsize len, const char *key)
{
  gsize at = LB_STUN_HEADER;
  while (at + 4 <= len)
    {
      guint16 type = get16 (buf + at), alen = get16 (buf + at + 2);
      gsize padded = (alen + 3u) & ~3u;
      if (at + 4 + padded > len)
        return FALSE;
      if (type == ATTR_MESSAGE_INTEGRITY && alen == HMAC_LEN)
        {
          guint8 mac[HMAC_LEN];
          integrity (buf, at, key, mac);
          /* Not secret-dependent timing worth hiding: a forged check only
           * earns a Binding response. Still compare every byte. */
          guint8 diff = 0;
          for (int i = 0; i < HMAC_LEN; i++)
            diff |= mac[i] ^ buf[at + 4 + i];
          return diff == 0;
        }
      at += 4 + padded;
    }
  return FALSE;
}

gsize
lb_stun_finish (guint8 *buf, gsize len, gsize size, const char *key)
{
  if (len < LB_STUN_HEADER || len % 4 != 0 || size < len + 4 + HMAC_LEN + 8)
    return 0;
  put16 (buf + len, ATTR_MESSAGE_INTEGRITY);
  put16 (buf + len + 2, HMAC_LEN);
  integrity (buf, len, key, buf + len + 4);
  len += 4 + HMAC_LEN;
  put16 (buf + 2, (guint16)(len + 8 - LB_STUN_HEADER));
  put16 (buf + len, ATTR_FINGERPRINT);
  put16 (buf + len + 2, 4);
  put32 (buf + len + 4, lb_stun_crc32 (buf, len) ^ FINGERPRINT_XOR);
  return len + 8;
}

gsize
lb_stun_binding_success (const LbStunMessage *request, GSocketAddress *from, const char *key,
                         guint8 *out, gsize size)
{
  if (!G_IS_INET_SOCKET_ADDRESS (from) || size < LB_STUN_MAX_ANSWER)
    return 0;
  GInetAddress *ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from));
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from));
  gsize alen = g_inet_address_get_native_size (ip);
  const guint8 *addr = g_inet_address_to_bytes (ip);

  put16 (out, LB_STUN_BINDING_SUCCESS);
  put32 (out + 4, LB_STUN_MAGIC);
  memcpy (out + 8, request->transaction, 12);
  gsize len = LB_STUN_HEADER;
  /* XOR-MAPPED-ADDRESS (RFC 5389 §15.2): the port xored with the cookie's
   * top half, the address with the cookie and (IPv6) the transaction. */
  guint8 *a = out + len;
  put16 (a, ATTR_XOR_MAPPED_ADDRESS);
  put16 (a + 2, (guint16)(4 + alen));
  a[4] = 0;
  a[5] = alen == 4 ? 0x01 : 0x02;
  put16 (a + 6, port ^ (LB_STUN_MAGIC >> 16));
  for (gsize i = 0; i < alen; i++)
    a[8 + i] = addr[i] ^ (i < 4 ? out[4 + i] : out[8 + i - 4]);
  len += 8 + alen;
  put16 (out + 2, (guint16)(len - LB_STUN_HEADER));
  return lb_stun_finish (out, len, size, key);
}
