/* lb-ml-audio.h — one Moonlight viewer's audio packetizer (pure bytes: no
 * sockets, no clock): Opus packet in → the UDP datagrams of the Moonlight
 * audio stream (port 48000) out, in the shape moonlight-common-c's
 * AudioStream.c and RtpAudioQueue.c read:
 *
 * - data: a 12-byte RTP header (0x80, payload type 97, BE sequence number
 *   from 0, BE timestamp in *milliseconds* from 0 stepping by the packet
 *   duration, SSRC 0), then the Opus packet — AES-128-CBC with PKCS#7
 *   padding when encrypted, key = the launch's rikey, IV = BE32(rikeyid +
 *   sequence number) followed by 12 zero bytes;
 * - after every 4th data packet (sequence numbers 4n…4n+3 form a block) 2
 *   FEC datagrams: RTP header (payload type 127, sequence numbers following
 *   the block's last), an 12-byte audio FEC header (shard index 0/1,
 *   payload type 97, BE16 base sequence number, BE32 base timestamp, BE32
 *   SSRC 0), then the parity of the 4 (encrypted) payloads with the fixed
 *   2×4 matrix {77 40 38 0e / c7 a7 0d 6c} over GF(2^8) mod 0x11D.
 *
 * The client uses FEC only while every payload of a block has the same
 * length (Opus CBR; encryption keeps equal lengths equal); shorter payloads
 * are zero-padded to the block's longest for the parity. Any thread; one
 * packetizer is used by one thread at a time. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LB_ML_AUDIO_PT 97
#define LB_ML_AUDIO_FEC_PT 127
#define LB_ML_AUDIO_DATA_SHARDS 4
#define LB_ML_AUDIO_FEC_SHARDS 2
#define LB_ML_AUDIO_RTP_HEADER 12
#define LB_ML_AUDIO_FEC_HEADER 12
/* Largest Opus packet accepted (Sunshine's limit; 510 kbit/s Opus at 20 ms
 * is 1275 bytes). */
#define LB_ML_AUDIO_MAX_OPUS 1400

typedef struct _LbMlAudioPacketizer LbMlAudioPacketizer;

/* @packet_ms: the announced packet duration (x-nv-aqos.packetDuration,
 * 5, 10 or 20; the RTP timestamp step). @rikey/@rikeyid: the launch's AES
 * key and key id (used when @encrypt). */
LbMlAudioPacketizer *lb_ml_audio_packetizer_new (guint packet_ms, gboolean encrypt,
                                                 const guint8 rikey[16], guint32 rikeyid);
void lb_ml_audio_packetizer_free (LbMlAudioPacketizer *p);

/* Packetizes one Opus packet: returns the number of datagrams (1, or 3 at
 * the end of a block: the data datagram then the 2 FEC datagrams), read
 * with lb_ml_audio_packetizer_get_datagram until the next call. 0 (nothing
 * sent, no sequence number used) for an empty packet or one over
 * LB_ML_AUDIO_MAX_OPUS bytes. */
guint lb_ml_audio_packetize (LbMlAudioPacketizer *p, const guint8 *opus, gsize len);
/* Datagram @i (0-based) of the last lb_ml_audio_packetize, owned by @p;
 * NULL when @i is out of range. */
const guint8 *lb_ml_audio_packetizer_get_datagram (LbMlAudioPacketizer *p, guint i, gsize *len);

/* The fixed parity coefficient of FEC shard @j (0/1) for data shard @i (0…3). */
guint8 lb_ml_audio_fec_coefficient (guint j, guint i);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlAudioPacketizer, lb_ml_audio_packetizer_free)

G_END_DECLS
