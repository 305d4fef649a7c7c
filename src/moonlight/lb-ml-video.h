/* lb-ml-video.h — one Moonlight viewer's video packetizer: an H.264 access
 * unit in, the UDP datagrams of the GameStream video stream out (RTP header
 * 0x90 + 4 reserved bytes + NV_VIDEO_PACKET + payload, Reed–Solomon parity
 * per FEC block), as moonlight-common-c's RtpVideoQueue.c and
 * VideoDepacketizer.c receive them. docs/moonlight.md ("Video packets and
 * FEC") lists every field.
 *
 * Per viewer, because the sequence number, the stream packet index, the
 * packet size and the FEC settings are the viewer's own; the access unit
 * comes from the shared encode. Pure bytes: no GStreamer, no sockets; one
 * thread at a time per packetizer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LbMlVideoPacketizer LbMlVideoPacketizer;

/* Sizes around the payload of one datagram: RTP header (12) + reserved (4),
 * NV_VIDEO_PACKET (16), the frame header leading a frame's payload (8). */
#define LB_ML_VIDEO_RTP_SIZE 16
#define LB_ML_VIDEO_NV_SIZE 16
#define LB_ML_VIDEO_FRAME_HEADER_SIZE 8
#define LB_ML_VIDEO_MAX_BLOCKS 4

typedef struct
{
  /* The viewer's frame number: 1 for its first frame, +1 per frame sent
   * (the client compares it in a 16-bit window). */
  guint32 frame_index;
  guint32 rtp_timestamp; /* 90 kHz */
  gboolean is_idr;       /* the access unit starts with SPS and PPS */
  guint16 latency;       /* host processing latency, 1/10 ms; 0 if unknown */
} LbMlVideoFrameInfo;

/* @packet_size: the client's x-nv-video[0].packetSize (payload bytes per
 * datagram after the RTP header and reserved bytes, NV header included:
 * datagrams are packet_size + 16 bytes), 64 to 65000. @fec_percentage: 0 to
 * 255 (0: no parity). @min_required_fec_packets: the least parity shards a
 * block gets when the percentage is not 0. NULL with @error set on bad
 * sizes. */
LbMlVideoPacketizer *lb_ml_video_packetizer_new (guint packet_size, guint fec_percentage,
                                                 guint min_required_fec_packets, GError **error);
void lb_ml_video_packetizer_free (LbMlVideoPacketizer *p);

/* Packetizes one access unit (Annex-B). The datagrams stay readable until
 * the next call. FALSE with @error when the frame needs more than 4 blocks
 * of 1023 datagrams (a broken encoder) or @au is empty; the sequence
 * numbers then do not advance. */
gboolean lb_ml_video_packetize (LbMlVideoPacketizer *p, const guint8 *au, gsize au_len,
                                const LbMlVideoFrameInfo *info, GError **error);

/* The last packetized frame's datagrams, in send order: per block its data
 * then its parity datagrams. */
guint lb_ml_video_packetizer_get_n_datagrams (LbMlVideoPacketizer *p);
const guint8 *lb_ml_video_packetizer_get_datagram (LbMlVideoPacketizer *p, guint i, gsize *len);
/* Its FEC blocks: data and parity datagram counts and the percentage sent
 * in fecInfo (raised to meet the minimum, 0 when FEC was dropped). */
guint lb_ml_video_packetizer_get_n_blocks (LbMlVideoPacketizer *p);
void lb_ml_video_packetizer_get_block (LbMlVideoPacketizer *p, guint block, guint *data,
                                       guint *parity, guint *percentage);
/* The RTP sequence number the next datagram gets. */
guint16 lb_ml_video_packetizer_get_next_seq (LbMlVideoPacketizer *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlVideoPacketizer, lb_ml_video_packetizer_free)

G_END_DECLS
