/* test-rtcp.c — lb-rtcp's sender reports: RFC 3550 layout, NTP time, RTP
 * time extrapolated from the last packet's capture time, counts, and the
 * SDES CNAME chunk's padding. */
#include "lb-rtcp.h"

#include <string.h>

static guint32
get32 (const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

/* A 12-byte RTP header + @payload bytes. */
static gsize
make_rtp (guint8 *buf, guint32 ts, guint32 ssrc, gsize payload)
{
  memset (buf, 0, 12 + payload);
  buf[0] = 0x80;
  buf[1] = 97;
  buf[4] = ts >> 24;
  buf[5] = ts >> 16;
  buf[6] = ts >> 8;
  buf[7] = ts;
  buf[8] = ssrc >> 24;
  buf[9] = ssrc >> 16;
  buf[10] = ssrc >> 8;
  buf[11] = ssrc;
  return 12 + payload;
}

/* 2026-01-01T00:00:00.25Z */
#define T0_US (G_GINT64_CONSTANT (1767225600) * G_USEC_PER_SEC + 250000)

static void
test_nothing_before_first_packet (void)
{
  g_autoptr (LbRtcpSender) s = lb_rtcp_sender_new (1, 48000);
  guint8 out[LB_RTCP_MAX_SR_SIZE];
  g_assert_cmpuint (lb_rtcp_sender_write_sr (s, T0_US, "lobbyd", out, sizeof out), ==, 0);
  /* A packet without a capture time counts, but gives no mapping. */
  guint8 rtp[64];
  gsize n = make_rtp (rtp, 1000, 7, 20);
  lb_rtcp_sender_on_rtp (s, rtp, n, 0);
  g_assert_cmpuint (lb_rtcp_sender_write_sr (s, T0_US, "lobbyd", out, sizeof out), ==, 0);
  g_assert_cmpuint (lb_rtcp_sender_get_packets (s), ==, 1);
}

static void
test_ntp (void)
{
  guint64 ntp = lb_rtcp_ntp_from_unix_us (0);
  g_assert_cmpuint (ntp >> 32, ==, 2208988800u);
  g_assert_cmpuint (ntp & 0xffffffffu, ==, 0);
  ntp = lb_rtcp_ntp_from_unix_us (T0_US);
  g_assert_cmpuint (ntp >> 32, ==, 1767225600u + 2208988800u);
  /* 0.25 s = 2^30 fractions. */
  g_assert_cmpuint (ntp & 0xffffffffu, ==, 1u << 30);
}

static void
check_sr (guint32 clock_rate, guint32 per_second)
{
  g_autoptr (LbRtcpSender) s = lb_rtcp_sender_new (0, clock_rate);
  guint8 rtp[1500], out[LB_RTCP_MAX_SR_SIZE];
  guint32 ssrc = 0xdeadbeef;
  guint32 ts0 = 0xfffff000u; /* wraps within the second */

  for (guint i = 0; i < 10; i++)
    {
      gsize n = make_rtp (rtp, ts0 + i * (per_second / 50), ssrc, 100);
      lb_rtcp_sender_on_rtp (s, rtp, n, T0_US + i * 20000);
    }
  /* 1 s after the last packet's capture. */
  gint64 now = T0_US + 9 * 20000 + G_USEC_PER_SEC;
  gsize len = lb_rtcp_sender_write_sr (s, now, "lobbyd", out, sizeof out);
  /* SR 28 bytes + SDES: 4 header + 4 ssrc + 2 + 6 "lobbyd" + 1 end = 17 → 20. */
  g_assert_cmpuint (len, ==, 28 + 20);
  g_assert_cmpuint (out[0], ==, 0x80); /* V=2, P=0, RC=0 */
  g_assert_cmpuint (out[1], ==, 200);
  g_assert_cmpuint ((out[2] << 8) | out[3], ==, 6); /* 28/4 - 1 */
  g_assert_cmpuint (get32 (out + 4), ==, ssrc);
  guint64 ntp = lb_rtcp_ntp_from_unix_us (now);
  g_assert_cmpuint (get32 (out + 8), ==, (guint32)(ntp >> 32));
  g_assert_cmpuint (get32 (out + 12), ==, (guint32)ntp);
  g_assert_cmpuint (get32 (out + 16), ==, (guint32)(ts0 + 9 * (per_second / 50) + per_second));
  g_assert_cmpuint (get32 (out + 20), ==, 10);
  g_assert_cmpuint (get32 (out + 24), ==, 1000);
  const guint8 *sdes = out + 28;
  g_assert_cmpuint (sdes[0], ==, 0x81);
  g_assert_cmpuint (sdes[1], ==, 202);
  g_assert_cmpuint ((sdes[2] << 8) | sdes[3], ==, 20 / 4 - 1);
  g_assert_cmpuint (get32 (sdes + 4), ==, ssrc);
  g_assert_cmpuint (sdes[8], ==, 1);
  g_assert_cmpuint (sdes[9], ==, 6);
  g_assert_cmpmem (sdes + 10, 6, "lobbyd", 6);
  g_assert_cmpuint (sdes[16], ==, 0);
  g_assert_cmpuint (lb_rtcp_sender_get_reports (s), ==, 1);
}

static void
test_sr_audio (void)
{
  check_sr (48000, 48000);
}

static void
test_sr_video (void)
{
  check_sr (90000, 90000);
}

/* An SR taken before the last capture time (clock steps, a late packet):
 * extrapolation goes backwards, never a huge wrap. */
static void
test_sr_before_capture (void)
{
  g_autoptr (LbRtcpSender) s = lb_rtcp_sender_new (0, 90000);
  guint8 rtp[64], out[LB_RTCP_MAX_SR_SIZE];
  gsize n = make_rtp (rtp, 90000, 5, 1);
  lb_rtcp_sender_on_rtp (s, rtp, n, T0_US);
  g_assert_cmpuint (lb_rtcp_sender_write_sr (s, T0_US - 100000, "x", out, sizeof out), >, 0);
  g_assert_cmpuint (get32 (out + 16), ==, 90000 - 9000);
}

/* Every CNAME length ends the item list with at least one null octet and
 * pads the chunk to a multiple of 4; the length field matches. */
static void
test_sdes_padding (void)
{
  g_autoptr (LbRtcpSender) s = lb_rtcp_sender_new (0, 48000);
  guint8 rtp[64];
  gsize n = make_rtp (rtp, 0, 9, 4);
  lb_rtcp_sender_on_rtp (s, rtp, n, T0_US);
  for (gsize cl = 0; cl <= 9; cl++)
    {
      char cname[16] = { 0 };
      memset (cname, 'a', cl);
      guint8 out[LB_RTCP_MAX_SR_SIZE];
      memset (out, 0xff, sizeof out);
      gsize len = lb_rtcp_sender_write_sr (s, T0_US, cname, out, sizeof out);
      gsize sdes_len = len - 28;
      g_assert_cmpuint (len % 4, ==, 0);
      g_assert_cmpuint (sdes_len, ==, 4 + ((4 + 2 + cl + 1 + 3) & ~(gsize)3));
      const guint8 *sdes = out + 28;
      g_assert_cmpuint (((sdes[2] << 8) | sdes[3]) + 1, ==, sdes_len / 4);
      g_assert_cmpuint (sdes[9], ==, cl);
      for (gsize i = 10 + cl; i < sdes_len; i++)
        g_assert_cmpuint (sdes[i], ==, 0);
    }
  /* Too little room: nothing written. */
  guint8 small[30];
  g_assert_cmpuint (lb_rtcp_sender_write_sr (s, T0_US, "lobbyd", small, sizeof small), ==, 0);
}

/* Octets are payload bytes: CSRCs, the header extension and padding are not. */
static void
test_octets (void)
{
  g_autoptr (LbRtcpSender) s = lb_rtcp_sender_new (0, 48000);
  guint8 rtp[128] = { 0 };
  /* V=2, P=1, X=1, CC=1; 12 + 4 CSRC + 4 ext header + 8 ext + 20 payload + 4 padding. */
  rtp[0] = 0x80 | 0x20 | 0x10 | 0x01;
  rtp[16 + 2] = 0;
  rtp[16 + 3] = 2;
  gsize len = 12 + 4 + 4 + 8 + 20 + 4;
  rtp[len - 1] = 4;
  lb_rtcp_sender_on_rtp (s, rtp, len, T0_US);
  guint8 out[LB_RTCP_MAX_SR_SIZE];
  g_assert_cmpuint (lb_rtcp_sender_write_sr (s, T0_US, "c", out, sizeof out), >, 0);
  g_assert_cmpuint (get32 (out + 24), ==, 20);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtcp/nothing-before-first-packet", test_nothing_before_first_packet);
  g_test_add_func ("/rtcp/ntp", test_ntp);
  g_test_add_func ("/rtcp/sr-audio", test_sr_audio);
  g_test_add_func ("/rtcp/sr-video", test_sr_video);
  g_test_add_func ("/rtcp/sr-before-capture", test_sr_before_capture);
  g_test_add_func ("/rtcp/sdes-padding", test_sdes_padding);
  g_test_add_func ("/rtcp/octets", test_octets);
  return g_test_run ();
}
