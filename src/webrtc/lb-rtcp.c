/* lb-rtcp.c — RTCP SR + SDES writer for one sent stream. */
#define G_LOG_DOMAIN "lobbyd-webrtc"
#include "lb-rtcp.h"

#include <string.h>

/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
#define NTP_UNIX_OFFSET 2208988800ULL

struct _LbRtcpSender
{
  GMutex lock;
  guint32 ssrc;
  guint32 clock_rate;
  gboolean have_mapping;
  guint32 last_rtp_ts;    /* of the last packet with a capture time */
  gint64 last_capture_us; /* its capture wall clock time */
  guint64 packets;
  guint64 octets; /* payload bytes, as RFC 3550 counts them */
  guint64 reports;
};

LbRtcpSender *
lb_rtcp_sender_new (guint32 ssrc, guint32 clock_rate)
{
  g_return_val_if_fail (clock_rate > 0, NULL);
  LbRtcpSender *self = g_new0 (LbRtcpSender, 1);
  g_mutex_init (&self->lock);
  self->ssrc = ssrc;
  self->clock_rate = clock_rate;
  return self;
}

void
lb_rtcp_sender_free (LbRtcpSender *self)
{
  if (self == NULL)
    return;
  g_mutex_clear (&self->lock);
  g_free (self);
}

guint64
lb_rtcp_ntp_from_unix_us (gint64 unix_us)
{
  guint64 secs = (guint64)(unix_us / G_USEC_PER_SEC) + NTP_UNIX_OFFSET;
  guint64 us = (guint64)(unix_us % G_USEC_PER_SEC);
  /* 2^32 fractions per second, rounded down. */
  guint64 frac = (us << 32) / G_USEC_PER_SEC;
  return (secs << 32) | frac;
}

/* RTP payload size: header, CSRCs, extension and padding off. 0 if the
 * packet is malformed. */
static gsize
payload_size (const guint8 *rtp, gsize len)
{
  if (len < 12 || (rtp[0] >> 6) != 2)
    return 0;
  gsize header = 12 + 4 * (gsize)(rtp[0] & 0x0f);
  if ((rtp[0] & 0x10) != 0)
    {
      if (len < header + 4)
        return 0;
      header += 4 + 4 * (gsize)((rtp[header + 2] << 8) | rtp[header + 3]);
    }
  gsize padding = (rtp[0] & 0x20) != 0 ? rtp[len - 1] : 0;
  return len >= header + padding ? len - header - padding : 0;
}

void
lb_rtcp_sender_on_rtp (LbRtcpSender *self, const guint8 *rtp, gsize len, gint64 capture_real_us)
{
  if (len < 12 || (rtp[0] >> 6) != 2)
    return;
  guint32 ts = ((guint32)rtp[4] << 24) | ((guint32)rtp[5] << 16) | ((guint32)rtp[6] << 8) | rtp[7];
  guint32 ssrc
      = ((guint32)rtp[8] << 24) | ((guint32)rtp[9] << 16) | ((guint32)rtp[10] << 8) | rtp[11];
  gsize payload = payload_size (rtp, len);

  g_mutex_lock (&self->lock);
  self->ssrc = ssrc;
  self->packets++;
  self->octets += payload;
  if (capture_real_us > 0)
    {
      self->have_mapping = TRUE;
      self->last_rtp_ts = ts;
      self->last_capture_us = capture_real_us;
    }
  g_mutex_unlock (&self->lock);
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

gsize
lb_rtcp_sender_write_sr (LbRtcpSender *self, gint64 now_real_us, const char *cname, guint8 *out,
                         gsize room)
{
  gsize cname_len = cname != NULL ? MIN (strlen (cname), 255) : 0;
  /* SDES chunk: SSRC, CNAME item (type, length, text), then at least one
   * null octet ending the item list, padded to 32 bits. */
  gsize chunk = 4 + 2 + cname_len + 1;
  chunk = (chunk + 3) & ~(gsize)3;
  gsize sdes = 4 + chunk;
  gsize total = 28 + sdes;

  if (room < total)
    return 0;
  g_mutex_lock (&self->lock);
  if (!self->have_mapping)
    {
      g_mutex_unlock (&self->lock);
      return 0;
    }
  guint32 ssrc = self->ssrc;
  /* The RTP time that corresponds to "now": as far past the last packet's
   * timestamp as now is past its capture (RFC 3550 §6.4.1: the same clock
   * as the data packets' timestamps, not necessarily equal to any of them). */
  gint64 delta_us = now_real_us - self->last_capture_us;
  gint64 delta_ticks = delta_us >= 0
                           ? (gint64)((guint64)delta_us * self->clock_rate / G_USEC_PER_SEC)
                           : -(gint64)((guint64)(-delta_us) * self->clock_rate / G_USEC_PER_SEC);
  guint32 rtp_ts = self->last_rtp_ts + (guint32)delta_ticks;
  guint32 packets = (guint32)self->packets;
  guint32 octets = (guint32)self->octets;
  self->reports++;
  g_mutex_unlock (&self->lock);

  guint64 ntp = lb_rtcp_ntp_from_unix_us (now_real_us);
  memset (out, 0, total);
  /* SR: V=2, P=0, RC=0, PT=200, length in 32-bit words minus one. */
  out[0] = 0x80;
  out[1] = 200;
  out[2] = 0;
  out[3] = 6;
  put32 (out + 4, ssrc);
  put32 (out + 8, (guint32)(ntp >> 32));
  put32 (out + 12, (guint32)ntp);
  put32 (out + 16, rtp_ts);
  put32 (out + 20, packets);
  put32 (out + 24, octets);
  /* SDES: V=2, SC=1, PT=202. */
  guint8 *s = out + 28;
  s[0] = 0x81;
  s[1] = 202;
  s[2] = (guint8)((sdes / 4 - 1) >> 8);
  s[3] = (guint8)(sdes / 4 - 1);
  put32 (s + 4, ssrc);
  s[8] = 1; /* CNAME */
  s[9] = (guint8)cname_len;
  if (cname_len > 0)
    memcpy (s + 10, cname, cname_len);
  /* The rest of the chunk is zero already: the end of list and the padding. */
  return total;
}

guint64
lb_rtcp_sender_get_packets (LbRtcpSender *self)
{
  g_mutex_lock (&self->lock);
  guint64 n = self->packets;
  g_mutex_unlock (&self->lock);
  return n;
}

guint64
lb_rtcp_sender_get_reports (LbRtcpSender *self)
{
  g_mutex_lock (&self->lock);
  guint64 n = self->reports;
  g_mutex_unlock (&self->lock);
  return n;
}

guint32
lb_rtcp_sender_get_ssrc (LbRtcpSender *self)
{
  g_mutex_lock (&self->lock);
  guint32 n = self->ssrc;
  g_mutex_unlock (&self->lock);
  return n;
}
