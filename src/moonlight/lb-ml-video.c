/* lb-ml-video.c — Moonlight video datagrams and their FEC blocks. */
#define G_LOG_DOMAIN "lobbyd-ml-video"

#include "lb-ml-video.h"

#include "lb-ml-fec.h"

#include <gio/gio.h>
#include <string.h>

#define HEADER_SIZE (LB_ML_VIDEO_RTP_SIZE + LB_ML_VIDEO_NV_SIZE)
/* fecInfo carries the shard index in 10 bits. */
#define MAX_SHARDS_PER_BLOCK 1023

/* NV_VIDEO_PACKET flags (moonlight-common-c Video.h). */
#define FLAG_CONTAINS_PIC_DATA 0x1
#define FLAG_EOF 0x2
#define FLAG_SOF 0x4

typedef struct
{
  guint data, parity, percentage;
} Block;

struct _LbMlVideoPacketizer
{
  guint packet_size;
  guint fec_percentage;
  guint min_required;
  /* Datagrams sent so far, modulo 2^32: the RTP sequence number is its
   * low 16 bits, streamPacketIndex its low 24 bits shifted left by 8 (the
   * client checks that one in a 24-bit window, so it must not wrap with
   * the 16-bit sequence number). */
  guint32 packets;

  guint8 *buf; /* n_datagrams × (packet_size + 16) */
  gsize buf_size;
  gsize *lens;
  guint n_datagrams, lens_room;
  Block blocks[LB_ML_VIDEO_MAX_BLOCKS];
  guint n_blocks;
};

static void
put_le16 (guint8 *p, guint16 v)
{
  p[0] = v;
  p[1] = v >> 8;
}

static void
put_le32 (guint8 *p, guint32 v)
{
  p[0] = v;
  p[1] = v >> 8;
  p[2] = v >> 16;
  p[3] = v >> 24;
}

static void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

LbMlVideoPacketizer *
lb_ml_video_packetizer_new (guint packet_size, guint fec_percentage, guint min_required_fec_packets,
                            GError **error)
{
  if (packet_size < 64 || packet_size > 65000)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "video packet size %u is outside 64-65000", packet_size);
      return NULL;
    }
  if (fec_percentage > 255 || min_required_fec_packets > 64)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "FEC percentage %u (0-255) or minimum %u (0-64) out of range", fec_percentage,
                   min_required_fec_packets);
      return NULL;
    }
  LbMlVideoPacketizer *p = g_new0 (LbMlVideoPacketizer, 1);
  p->packet_size = packet_size;
  p->fec_percentage = fec_percentage;
  p->min_required = min_required_fec_packets;
  return p;
}

void
lb_ml_video_packetizer_free (LbMlVideoPacketizer *p)
{
  if (!p)
    return;
  g_free (p->buf);
  g_free (p->lens);
  g_free (p);
}

/* The client derives a block's parity count from fecInfo's percentage alone
 * (RtpVideoQueue.c: ceil(data · pct / 100)), so when the minimum raises the
 * count, the percentage sent must be raised with it — and the count we send
 * is always the one that percentage gives. */
static guint
parity_for (guint data, guint pct, guint min_required, guint *pct_sent)
{
  if (pct == 0)
    {
      *pct_sent = 0;
      return 0;
    }
  guint parity = (data * pct + 99) / 100;
  if (parity < min_required)
    {
      pct = MIN ((100 * min_required + data - 1) / data, 255);
      parity = (data * pct + 99) / 100;
    }
  while (pct > 0 && data + parity > LB_ML_FEC_MAX_SHARDS)
    {
      pct--;
      parity = (data * pct + 99) / 100;
    }
  *pct_sent = pct;
  return parity;
}

/* Bytes [@off, @off + @len) of the frame's payload: the frame header, then
 * the access unit. */
static void
copy_payload (guint8 *dst, const guint8 *fh, const guint8 *au, gsize off, gsize len)
{
  if (off < LB_ML_VIDEO_FRAME_HEADER_SIZE)
    {
      gsize n = MIN (len, LB_ML_VIDEO_FRAME_HEADER_SIZE - off);
      memcpy (dst, fh + off, n);
      dst += n;
      len -= n;
      off = LB_ML_VIDEO_FRAME_HEADER_SIZE;
    }
  if (len)
    memcpy (dst, au + (off - LB_ML_VIDEO_FRAME_HEADER_SIZE), len);
}

static void
write_rtp (guint8 *d, guint16 seq, guint32 ts)
{
  d[0] = 0x90; /* version 2, extension bit: the client requires it */
  d[1] = 0;    /* payload type 0 */
  put_be16 (d + 2, seq);
  put_be32 (d + 4, ts);
  memset (d + 8, 0, 8); /* SSRC 0, then the 4 reserved bytes */
}

gboolean
lb_ml_video_packetize (LbMlVideoPacketizer *p, const guint8 *au, gsize au_len,
                       const LbMlVideoFrameInfo *info, GError **error)
{
  g_return_val_if_fail (p != NULL && info != NULL, FALSE);
  p->n_datagrams = 0;
  p->n_blocks = 0;
  if (au == NULL || au_len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "empty access unit");
      return FALSE;
    }

  const gsize blocksize = p->packet_size + LB_ML_VIDEO_RTP_SIZE;
  const gsize per = p->packet_size - LB_ML_VIDEO_NV_SIZE; /* payload bytes per datagram */
  const gsize total = LB_ML_VIDEO_FRAME_HEADER_SIZE + au_len;
  const gsize n_data = (total + per - 1) / per;

  guint8 fh[LB_ML_VIDEO_FRAME_HEADER_SIZE] = { 0x01 };
  put_le16 (fh + 1, info->latency);
  fh[3] = info->is_idr ? 2 : 1;
  put_le16 (fh + 4, (guint16)(total % per ? total % per : per));

  /* Blocks: as few as hold the data with its parity in 255 shards; more
   * than 4 and the frame goes without FEC, as Sunshine does. */
  guint pct = p->fec_percentage;
  gsize max_data = (LB_ML_FEC_MAX_SHARDS * 100) / (100 + pct);
  if (pct > 0)
    max_data = MIN (max_data, (gsize)LB_ML_FEC_MAX_SHARDS - p->min_required);
  gsize n_blocks = (n_data + max_data - 1) / max_data;
  if (n_blocks > LB_ML_VIDEO_MAX_BLOCKS)
    {
      g_debug ("frame %u: %" G_GSIZE_FORMAT " datagrams, sent without FEC", info->frame_index,
               n_data);
      pct = 0;
      n_blocks = LB_ML_VIDEO_MAX_BLOCKS;
    }
  if (n_data > (gsize)n_blocks * MAX_SHARDS_PER_BLOCK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "frame %u needs %" G_GSIZE_FORMAT " datagrams, more than 4 blocks carry",
                   info->frame_index, n_data);
      return FALSE;
    }

  guint n_total = 0;
  for (gsize b = 0; b < n_blocks; b++)
    {
      Block *blk = &p->blocks[b];
      blk->data = n_data / n_blocks + (b < n_data % n_blocks ? 1 : 0);
      blk->parity = parity_for (blk->data, pct, p->min_required, &blk->percentage);
      n_total += blk->data + blk->parity;
    }
  p->n_blocks = n_blocks;

  gsize need = (gsize)n_total * blocksize;
  if (need > p->buf_size)
    {
      g_free (p->buf);
      p->buf = g_malloc (need);
      p->buf_size = need;
    }
  if (n_total > p->lens_room)
    {
      p->lens = g_renew (gsize, p->lens, n_total);
      p->lens_room = n_total;
    }
  memset (p->buf, 0, need);

  guint8 multi_last = (guint8)((n_blocks - 1) << 6);
  gsize data_done = 0; /* data datagrams written, all blocks */
  guint out = 0;
  for (guint b = 0; b < n_blocks; b++)
    {
      const Block *blk = &p->blocks[b];
      guint8 multi = multi_last | (guint8)(b << 4);
      guint shards = blk->data + blk->parity;
      g_autofree guint8 **ptrs = g_new (guint8 *, shards);

      for (guint x = 0; x < shards; x++)
        {
          guint8 *d = p->buf + (gsize)(out + x) * blocksize;
          guint8 *nv = d + LB_ML_VIDEO_RTP_SIZE;
          guint32 counter = p->packets + x;
          ptrs[x] = d;
          if (x >= blk->data)
            continue;
          /* Data: every byte is set before the parity is computed, so a
           * shard the client rebuilds is this one exactly (bar the fields
           * it overwrites itself: RTP header, frameIndex, multiFecBlocks). */
          write_rtp (d, (guint16)counter, info->rtp_timestamp);
          put_le32 (nv + 0, counter << 8);
          put_le32 (nv + 4, info->frame_index);
          nv[8] = FLAG_CONTAINS_PIC_DATA | (x == 0 ? FLAG_SOF : 0)
                  | (x == blk->data - 1 ? FLAG_EOF : 0);
          nv[9] = 0;
          nv[10] = 0x10; /* multiFecFlags */
          nv[11] = multi;
          put_le32 (nv + 12, x << 12 | blk->data << 22 | blk->percentage << 4);
          gsize off = (data_done + x) * per;
          gsize len = MIN (per, total - off);
          copy_payload (nv + LB_ML_VIDEO_NV_SIZE, fh, au, off, len);
          p->lens[out + x] = (data_done + x == n_data - 1) ? HEADER_SIZE + len : blocksize;
        }

      if (blk->parity > 0)
        lb_ml_fec_encode (blk->data, blk->parity, (const guint8 *const *)ptrs, ptrs + blk->data,
                          blocksize);

      /* Parity: the receiver reads its headers, so they get the real RTP
       * header, frameIndex, multiFecBlocks and fecInfo; streamPacketIndex,
       * flags and the rest stay parity bytes, as the client rebuilds those
       * fields of a lost data shard from them (RtpVideoQueue.c). */
      for (guint x = blk->data; x < shards; x++)
        {
          guint8 *d = ptrs[x];
          guint8 *nv = d + LB_ML_VIDEO_RTP_SIZE;
          guint32 counter = p->packets + x;
          d[0] = 0x90;
          d[1] = 0;
          put_be16 (d + 2, (guint16)counter);
          put_be32 (d + 4, info->rtp_timestamp);
          memset (d + 8, 0, 4);
          put_le32 (nv + 4, info->frame_index);
          nv[11] = multi;
          put_le32 (nv + 12, x << 12 | blk->data << 22 | blk->percentage << 4);
          p->lens[out + x] = blocksize;
        }

      p->packets += shards;
      data_done += blk->data;
      out += shards;
    }
  p->n_datagrams = out;
  return TRUE;
}

guint
lb_ml_video_packetizer_get_n_datagrams (LbMlVideoPacketizer *p)
{
  return p->n_datagrams;
}

const guint8 *
lb_ml_video_packetizer_get_datagram (LbMlVideoPacketizer *p, guint i, gsize *len)
{
  g_return_val_if_fail (i < p->n_datagrams, NULL);
  if (len)
    *len = p->lens[i];
  return p->buf + (gsize)i * (p->packet_size + LB_ML_VIDEO_RTP_SIZE);
}

guint
lb_ml_video_packetizer_get_n_blocks (LbMlVideoPacketizer *p)
{
  return p->n_blocks;
}

void
lb_ml_video_packetizer_get_block (LbMlVideoPacketizer *p, guint block, guint *data, guint *parity,
                                  guint *percentage)
{
  g_return_if_fail (block < p->n_blocks);
  if (data)
    *data = p->blocks[block].data;
  if (parity)
    *parity = p->blocks[block].parity;
  if (percentage)
    *percentage = p->blocks[block].percentage;
}

guint16
lb_ml_video_packetizer_get_next_seq (LbMlVideoPacketizer *p)
{
  return (guint16)p->packets;
}
