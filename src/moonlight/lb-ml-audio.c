/* lb-ml-audio.c — see lb-ml-audio.h. Checked against moonlight-common-c
 * @874ac95 AudioStream.c (decryption, IV) and RtpAudioQueue.{c,h} (the
 * FEC header, block alignment, the replaced parity matrix, the timestamp
 * arithmetic of recovered packets: base + index · packet duration in ms). */
#define G_LOG_DOMAIN "lobbyd-moonlight"

#include "lb-ml-audio.h"

#include "lb-ml-fec.h"

#include <openssl/evp.h>
#include <string.h>

/* moonlight-common-c replaces nanors' matrix for audio by this one (the one
 * GFE uses); parity shard j = Σ matrix[j][i] · data[i]. */
static const guint8 fec_matrix[LB_ML_AUDIO_FEC_SHARDS][LB_ML_AUDIO_DATA_SHARDS] = {
  { 0x77, 0x40, 0x38, 0x0e },
  { 0xc7, 0xa7, 0x0d, 0x6c },
};

/* PKCS#7 always adds 1–16 bytes. */
#define MAX_PAYLOAD (LB_ML_AUDIO_MAX_OPUS + 16)

struct _LbMlAudioPacketizer
{
  guint packet_ms;
  gboolean encrypt;
  guint8 key[16];
  guint32 rikeyid;
  EVP_CIPHER_CTX *cipher;

  guint16 seq;
  guint32 timestamp;
  guint32 block_timestamp; /* timestamp of the block's first packet */

  /* Multiplication rows for the 8 coefficients: mul[j][i][x] = matrix·x. */
  guint8 mul[LB_ML_AUDIO_FEC_SHARDS][LB_ML_AUDIO_DATA_SHARDS][256];
  /* The block's payloads (as sent), for the parity. */
  guint8 shard[LB_ML_AUDIO_DATA_SHARDS][MAX_PAYLOAD];
  gsize shard_len[LB_ML_AUDIO_DATA_SHARDS];

  /* The last call's datagrams: the data one, then the FEC ones. */
  guint n_out;
  guint8 data[LB_ML_AUDIO_RTP_HEADER + MAX_PAYLOAD];
  gsize data_len;
  guint8 fec[LB_ML_AUDIO_FEC_SHARDS][LB_ML_AUDIO_RTP_HEADER + LB_ML_AUDIO_FEC_HEADER + MAX_PAYLOAD];
  gsize fec_len;
};

guint8
lb_ml_audio_fec_coefficient (guint j, guint i)
{
  g_return_val_if_fail (j < LB_ML_AUDIO_FEC_SHARDS && i < LB_ML_AUDIO_DATA_SHARDS, 0);
  return fec_matrix[j][i];
}

LbMlAudioPacketizer *
lb_ml_audio_packetizer_new (guint packet_ms, gboolean encrypt, const guint8 rikey[16],
                            guint32 rikeyid)
{
  g_return_val_if_fail (!encrypt || rikey != NULL, NULL);
  LbMlAudioPacketizer *p = g_new0 (LbMlAudioPacketizer, 1);
  p->packet_ms = packet_ms ? packet_ms : 5;
  p->encrypt = encrypt;
  if (rikey != NULL)
    memcpy (p->key, rikey, 16);
  p->rikeyid = rikeyid;
  if (encrypt)
    p->cipher = EVP_CIPHER_CTX_new ();
  for (guint j = 0; j < LB_ML_AUDIO_FEC_SHARDS; j++)
    for (guint i = 0; i < LB_ML_AUDIO_DATA_SHARDS; i++)
      for (guint x = 0; x < 256; x++)
        p->mul[j][i][x] = lb_ml_gf_mul (fec_matrix[j][i], (guint8)x);
  return p;
}

void
lb_ml_audio_packetizer_free (LbMlAudioPacketizer *p)
{
  if (p == NULL)
    return;
  if (p->cipher)
    EVP_CIPHER_CTX_free (p->cipher);
  OPENSSL_cleanse (p->key, sizeof p->key);
  g_free (p);
}

static void
put_be16 (guint8 *d, guint v)
{
  d[0] = (guint8)(v >> 8);
  d[1] = (guint8)v;
}

static void
put_be32 (guint8 *d, guint32 v)
{
  d[0] = (guint8)(v >> 24);
  d[1] = (guint8)(v >> 16);
  d[2] = (guint8)(v >> 8);
  d[3] = (guint8)v;
}

static void
put_rtp (guint8 *d, guint pt, guint16 seq, guint32 ts)
{
  d[0] = 0x80; /* version 2, no padding/extension/CSRC */
  d[1] = (guint8)pt;
  put_be16 (d + 2, seq);
  put_be32 (d + 4, ts);
  put_be32 (d + 8, 0); /* SSRC */
}

/* AES-128-CBC with PKCS#7 of @in into @out; the client's IV is the
 * big-endian rikeyid + sequence number, then zeros. */
static gboolean
encrypt_payload (LbMlAudioPacketizer *p, const guint8 *in, gsize len, guint8 *out, gsize *out_len)
{
  guint8 iv[16] = { 0 };
  put_be32 (iv, p->rikeyid + p->seq);
  int n1 = 0, n2 = 0;
  if (!EVP_EncryptInit_ex (p->cipher, EVP_aes_128_cbc (), NULL, p->key, iv)
      || !EVP_EncryptUpdate (p->cipher, out, &n1, in, (int)len)
      || !EVP_EncryptFinal_ex (p->cipher, out + n1, &n2))
    return FALSE;
  *out_len = (gsize)n1 + (gsize)n2;
  return TRUE;
}

guint
lb_ml_audio_packetize (LbMlAudioPacketizer *p, const guint8 *opus, gsize len)
{
  g_return_val_if_fail (p != NULL, 0);
  p->n_out = 0;
  if (opus == NULL || len == 0 || len > LB_ML_AUDIO_MAX_OPUS)
    {
      g_debug ("audio: refusing a %" G_GSIZE_FORMAT "-byte Opus packet", len);
      return 0;
    }
  guint idx = p->seq % LB_ML_AUDIO_DATA_SHARDS;
  guint8 *payload = p->data + LB_ML_AUDIO_RTP_HEADER;
  gsize plen = len;
  if (p->encrypt)
    {
      if (!encrypt_payload (p, opus, len, payload, &plen))
        {
          g_warning ("audio: AES-CBC encryption failed");
          return 0;
        }
    }
  else
    memcpy (payload, opus, len);
  put_rtp (p->data, LB_ML_AUDIO_PT, p->seq, p->timestamp);
  p->data_len = LB_ML_AUDIO_RTP_HEADER + plen;
  p->n_out = 1;

  if (idx == 0)
    p->block_timestamp = p->timestamp;
  memcpy (p->shard[idx], payload, plen);
  p->shard_len[idx] = plen;

  if (idx == LB_ML_AUDIO_DATA_SHARDS - 1)
    {
      gsize size = 0;
      for (guint i = 0; i < LB_ML_AUDIO_DATA_SHARDS; i++)
        size = MAX (size, p->shard_len[i]);
      guint16 base = (guint16)(p->seq - idx);
      for (guint j = 0; j < LB_ML_AUDIO_FEC_SHARDS; j++)
        {
          guint8 *f = p->fec[j];
          /* The client tells data from FEC by payload type and reads the
           * block from the FEC header; Sunshine numbers the FEC datagrams
           * after the block's last data packet. */
          put_rtp (f, LB_ML_AUDIO_FEC_PT, (guint16)(p->seq + 1 + j), p->block_timestamp);
          guint8 *h = f + LB_ML_AUDIO_RTP_HEADER;
          h[0] = (guint8)j;
          h[1] = LB_ML_AUDIO_PT;
          put_be16 (h + 2, base);
          put_be32 (h + 4, p->block_timestamp);
          put_be32 (h + 8, 0);
          guint8 *par = h + LB_ML_AUDIO_FEC_HEADER;
          memset (par, 0, size);
          for (guint i = 0; i < LB_ML_AUDIO_DATA_SHARDS; i++)
            {
              const guint8 *row = p->mul[j][i];
              const guint8 *s = p->shard[i];
              for (gsize b = 0; b < p->shard_len[i]; b++)
                par[b] ^= row[s[b]];
            }
        }
      p->fec_len = LB_ML_AUDIO_RTP_HEADER + LB_ML_AUDIO_FEC_HEADER + size;
      p->n_out = 1 + LB_ML_AUDIO_FEC_SHARDS;
    }

  p->seq++;
  p->timestamp += p->packet_ms;
  return p->n_out;
}

const guint8 *
lb_ml_audio_packetizer_get_datagram (LbMlAudioPacketizer *p, guint i, gsize *len)
{
  g_return_val_if_fail (p != NULL, NULL);
  if (i >= p->n_out)
    return NULL;
  if (i == 0)
    {
      if (len)
        *len = p->data_len;
      return p->data;
    }
  if (len)
    *len = p->fec_len;
  return p->fec[i - 1];
}
