/* test-ml-video.c — lb-ml-video's datagrams, field by field as
 * moonlight-common-c's RtpVideoQueue.c / VideoDepacketizer.c read them. */
#include "lb-ml-fec.h"
#include "lb-ml-video.h"

#include <gio/gio.h>
#include <string.h>

static guint32
le32 (const guint8 *p)
{
  return p[0] | p[1] << 8 | p[2] << 16 | (guint32)p[3] << 24;
}

static void
test_fields (void)
{
  g_autoptr (GError) error = NULL;
  /* 48 payload bytes per datagram; 8 + 200 bytes = 5 datagrams, the last
   * with 16. 20 % of 5 is 1 parity, the minimum of 2 raises it to 40 %. */
  g_autoptr (LbMlVideoPacketizer) p = lb_ml_video_packetizer_new (64, 20, 2, &error);
  g_assert_no_error (error);
  guint8 au[200];
  for (guint i = 0; i < sizeof au; i++)
    au[i] = i + 1;
  LbMlVideoFrameInfo info
      = { .frame_index = 1, .rtp_timestamp = 0x01020304, .is_idr = TRUE, .latency = 0x0102 };
  g_assert_true (lb_ml_video_packetize (p, au, sizeof au, &info, &error));
  g_assert_cmpuint (lb_ml_video_packetizer_get_n_datagrams (p), ==, 7);
  g_assert_cmpuint (lb_ml_video_packetizer_get_n_blocks (p), ==, 1);
  guint data, parity, pct;
  lb_ml_video_packetizer_get_block (p, 0, &data, &parity, &pct);
  g_assert_cmpuint (data, ==, 5);
  g_assert_cmpuint (parity, ==, 2);
  g_assert_cmpuint (pct, ==, 40);
  g_assert_cmpuint ((data * pct + 99) / 100, ==, parity); /* what the client computes */

  guint8 shards[7][80];
  guint8 *ptrs[7];
  for (guint i = 0; i < 7; i++)
    {
      gsize len;
      const guint8 *d = lb_ml_video_packetizer_get_datagram (p, i, &len);
      g_assert_cmpuint (len, ==, i == 4 ? 16 + 16 + 16 : 80);
      memset (shards[i], 0, 80);
      memcpy (shards[i], d, len);
      ptrs[i] = shards[i];
      g_assert_cmpuint (d[0], ==, 0x90);
      g_assert_cmpuint (d[1], ==, 0);
      g_assert_cmpuint (d[2] << 8 | d[3], ==, i);
      g_assert_cmpuint (le32 (d + 4), ==, 0x04030201); /* big-endian 0x01020304 */
      const guint8 *nv = d + 16;
      g_assert_cmpuint (le32 (nv + 4), ==, 1);
      g_assert_cmpuint (nv[11], ==, 0x00); /* block 0 of 1 */
      g_assert_cmpuint (le32 (nv + 12), ==, i << 12 | 5 << 22 | 40 << 4);
      if (i < 5)
        {
          g_assert_cmpuint (le32 (nv), ==, i << 8);
          g_assert_cmpuint (nv[8], ==, 1 | (i == 0 ? 4 : 0) | (i == 4 ? 2 : 0));
          g_assert_cmpuint (nv[10], ==, 0x10);
        }
    }
  static const guint8 fh[8] = { 0x01, 0x02, 0x01, 2, 16, 0, 0, 0 };
  g_assert_cmpmem (shards[0] + 32, 8, fh, 8);
  g_assert_cmpmem (shards[0] + 40, 40, au, 40);
  g_assert_cmpmem (shards[4] + 32, 16, au + 200 - 16, 16);

  /* Lose data shards 1 and 4; the client rebuilds them from the rest. */
  guint8 orig1[80], orig4[80];
  memcpy (orig1, shards[1], 80);
  memcpy (orig4, shards[4], 80);
  gboolean missing[7] = { 0, 1, 0, 0, 1, 0, 0 };
  memset (shards[1], 0, 80);
  memset (shards[4], 0, 80);
  g_assert_true (lb_ml_fec_decode (5, 2, ptrs, missing, 80));
  /* streamPacketIndex, flags, payload exact; the RTP header, frameIndex,
   * multiFecBlocks and fecInfo the client sets itself. */
  g_assert_cmpmem (shards[1] + 16, 4, orig1 + 16, 4);
  g_assert_cmpmem (shards[1] + 24, 3, orig1 + 24, 3);
  g_assert_cmpmem (shards[1] + 32, 48, orig1 + 32, 48);
  g_assert_cmpmem (shards[4] + 32, 48, orig4 + 32, 48);
  g_assert_cmpuint (shards[4][24], ==, 1 | 2);

  /* The next frame goes on from sequence 7. */
  info.frame_index = 2;
  info.is_idr = FALSE;
  g_assert_true (lb_ml_video_packetize (p, au, 10, &info, &error));
  const guint8 *d = lb_ml_video_packetizer_get_datagram (p, 0, NULL);
  g_assert_cmpuint (d[2] << 8 | d[3], ==, 7);
  g_assert_cmpuint (le32 (d + 16), ==, 7 << 8);
  g_assert_cmpuint (d[32 + 3], ==, 1);
  /* 1 data datagram: 20 % → 1 parity, raised to 2 by 200 % */
  lb_ml_video_packetizer_get_block (p, 0, &data, &parity, &pct);
  g_assert_cmpuint (data, ==, 1);
  g_assert_cmpuint (parity, ==, 2);
  g_assert_cmpuint (pct, ==, 200);
  g_assert_cmpuint (lb_ml_video_packetizer_get_next_seq (p), ==, 10);
}

static void
test_blocks (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbMlVideoPacketizer) p = lb_ml_video_packetizer_new (1024, 20, 2, &error);
  /* 1008 payload bytes a datagram; 212 data fit one block at 20 %. 500
   * datagrams → 3 blocks, each with data + parity ≤ 255. */
  gsize len = 1008 * 500 - 8;
  g_autofree guint8 *au = g_malloc0 (len);
  LbMlVideoFrameInfo info = { .frame_index = 9, .rtp_timestamp = 0, .is_idr = FALSE };
  g_assert_true (lb_ml_video_packetize (p, au, len, &info, &error));
  guint n = lb_ml_video_packetizer_get_n_blocks (p);
  g_assert_cmpuint (n, ==, 3);
  guint sum = 0, seq = 0;
  for (guint b = 0; b < n; b++)
    {
      guint data, parity, pct;
      lb_ml_video_packetizer_get_block (p, b, &data, &parity, &pct);
      g_assert_cmpuint (data + parity, <=, 255);
      g_assert_cmpuint (parity, ==, (data * 20 + 99) / 100);
      const guint8 *d = lb_ml_video_packetizer_get_datagram (p, seq, NULL);
      g_assert_cmpuint (d[16 + 11], ==, b << 4 | (n - 1) << 6);
      g_assert_cmpuint (d[16 + 8], ==, 1 | 4); /* SOF per block */
      sum += data;
      seq += data + parity;
    }
  g_assert_cmpuint (sum, ==, 500);

  /* More than 4 blocks' worth: sent in 4 blocks without FEC. */
  len = 1008 * 1200;
  au = g_realloc (au, len);
  memset (au, 0, len);
  g_assert_true (lb_ml_video_packetize (p, au, len, &info, &error));
  g_assert_cmpuint (lb_ml_video_packetizer_get_n_blocks (p), ==, 4);
  g_assert_cmpuint (lb_ml_video_packetizer_get_n_datagrams (p), ==, 1201);
  /* Beyond 4 × 1023: refused, the sequence does not move. */
  guint16 next = lb_ml_video_packetizer_get_next_seq (p);
  len = 1008 * 4100;
  au = g_realloc (au, len);
  memset (au, 0, len);
  g_assert_false (lb_ml_video_packetize (p, au, len, &info, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_assert_cmpuint (lb_ml_video_packetizer_get_next_seq (p), ==, next);
}

static void
test_stream_index_wraps_past_16_bits (void)
{
  g_autoptr (LbMlVideoPacketizer) p = lb_ml_video_packetizer_new (64, 0, 0, NULL);
  guint8 au[48 * 100 - 8] = { 0 };
  LbMlVideoFrameInfo info = { 0 };
  for (guint f = 0; f < 700; f++)
    {
      info.frame_index = f + 1;
      g_assert_true (lb_ml_video_packetize (p, au, sizeof au, &info, NULL));
    }
  /* 70000 datagrams: the sequence wrapped, streamPacketIndex did not. */
  const guint8 *d = lb_ml_video_packetizer_get_datagram (p, 99, NULL);
  g_assert_cmpuint (d[2] << 8 | d[3], ==, (69999) & 0xFFFF);
  g_assert_cmpuint (le32 (d + 16), ==, 69999u << 8);
}

static void
test_bad_args (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (lb_ml_video_packetizer_new (16, 20, 2, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (lb_ml_video_packetizer_new (1024, 300, 2, &error));
  g_clear_error (&error);
  g_autoptr (LbMlVideoPacketizer) p = lb_ml_video_packetizer_new (1024, 20, 2, NULL);
  LbMlVideoFrameInfo info = { 0 };
  g_assert_false (lb_ml_video_packetize (p, NULL, 0, &info, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ml-video/fields", test_fields);
  g_test_add_func ("/ml-video/blocks", test_blocks);
  g_test_add_func ("/ml-video/stream-index-wraps", test_stream_index_wraps_past_16_bits);
  g_test_add_func ("/ml-video/bad-args", test_bad_args);
  return g_test_run ();
}
