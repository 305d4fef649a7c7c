/* test-ml-audio.c — lb-ml-audio: the RTP header fields, sequence and
 * timestamp steps, AES-128-CBC decryption with OpenSSL here (IV from
 * rikeyid + sequence number), FEC parity recomputed with this file's own
 * GF(2^8) arithmetic (not lb-ml-fec's), and recovery of 2 lost data
 * packets of a block from the parity, as moonlight-common-c's
 * RtpAudioQueue.c does. */
#include "lb-ml-audio.h"

#include <openssl/evp.h>
#include <string.h>

static const guint8 key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
static const guint8 matrix[2][4] = { { 0x77, 0x40, 0x38, 0x0e }, { 0xc7, 0xa7, 0x0d, 0x6c } };

/* Shift-and-add multiplication modulo x^8+x^4+x^3+x^2+1. */
static guint8
gmul (guint8 a, guint8 b)
{
  guint8 r = 0;
  while (b)
    {
      if (b & 1)
        r ^= a;
      a = (guint8)((a << 1) ^ ((a & 0x80) ? 0x1d : 0));
      b >>= 1;
    }
  return r;
}

static guint8
ginv (guint8 a)
{
  for (guint x = 1; x < 256; x++)
    if (gmul (a, x) == 1)
      return x;
  return 0;
}

static guint
be16 (const guint8 *p)
{
  return (guint)p[0] << 8 | p[1];
}

static guint32
be32 (const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

/* A distinct Opus-like packet of @len bytes for packet @n. */
static void
make_opus (guint n, guint8 *out, gsize len)
{
  for (gsize i = 0; i < len; i++)
    out[i] = (guint8)(n * 37 + i * 11 + 5);
  out[0] = 0xfc; /* a plausible TOC byte */
}

typedef struct
{
  guint8 d[1500];
  gsize len;
} Dgram;

static guint
packetize (LbMlAudioPacketizer *p, const guint8 *opus, gsize len, Dgram *out)
{
  guint n = lb_ml_audio_packetize (p, opus, len);
  for (guint i = 0; i < n; i++)
    {
      gsize dl = 0;
      const guint8 *d = lb_ml_audio_packetizer_get_datagram (p, i, &dl);
      g_assert_nonnull (d);
      g_assert_cmpuint (dl, <=, sizeof out[i].d);
      memcpy (out[i].d, d, dl);
      out[i].len = dl;
    }
  g_assert_null (lb_ml_audio_packetizer_get_datagram (p, n, NULL));
  return n;
}

static void
test_headers_plain (void)
{
  g_autoptr (LbMlAudioPacketizer) p = lb_ml_audio_packetizer_new (5, FALSE, key, 0);
  guint8 opus[200];
  Dgram d[3];
  for (guint n = 0; n < 12; n++)
    {
      make_opus (n, opus, 120);
      guint cnt = packetize (p, opus, 120, d);
      g_assert_cmpuint (cnt, ==, n % 4 == 3 ? 3 : 1);
      g_assert_cmpuint (d[0].len, ==, 12 + 120);
      g_assert_cmpuint (d[0].d[0], ==, 0x80);
      g_assert_cmpuint (d[0].d[1], ==, 97);
      g_assert_cmpuint (be16 (d[0].d + 2), ==, n);
      g_assert_cmpuint (be32 (d[0].d + 4), ==, n * 5);
      g_assert_cmpuint (be32 (d[0].d + 8), ==, 0);
      g_assert_cmpmem (d[0].d + 12, 120, opus, 120);
      for (guint x = 1; x < cnt; x++)
        {
          const guint8 *f = d[x].d;
          g_assert_cmpuint (d[x].len, ==, 12 + 12 + 120);
          g_assert_cmpuint (f[0], ==, 0x80);
          g_assert_cmpuint (f[1], ==, 127);
          g_assert_cmpuint (be16 (f + 2), ==, n + x);
          g_assert_cmpuint (f[12], ==, x - 1);               /* fecShardIndex */
          g_assert_cmpuint (f[13], ==, 97);                  /* payloadType */
          g_assert_cmpuint (be16 (f + 14), ==, n - 3);       /* baseSequenceNumber */
          g_assert_cmpuint (be32 (f + 16), ==, (n - 3) * 5); /* baseTimestamp */
          g_assert_cmpuint (be32 (f + 20), ==, 0);           /* ssrc */
        }
    }
  /* 10 ms packets step the timestamp by 10. */
  g_autoptr (LbMlAudioPacketizer) p10 = lb_ml_audio_packetizer_new (10, FALSE, key, 0);
  packetize (p10, opus, 50, d);
  packetize (p10, opus, 50, d);
  g_assert_cmpuint (be32 (d[0].d + 4), ==, 10);
}

static void
test_refusals (void)
{
  g_autoptr (LbMlAudioPacketizer) p = lb_ml_audio_packetizer_new (5, FALSE, key, 0);
  guint8 big[LB_ML_AUDIO_MAX_OPUS + 1] = { 0 };
  g_assert_cmpuint (lb_ml_audio_packetize (p, big, 0), ==, 0);
  g_assert_cmpuint (lb_ml_audio_packetize (p, big, sizeof big), ==, 0);
  g_assert_null (lb_ml_audio_packetizer_get_datagram (p, 0, NULL));
  /* The refused packets used no sequence number. */
  Dgram d[3];
  packetize (p, big, LB_ML_AUDIO_MAX_OPUS, d);
  g_assert_cmpuint (be16 (d[0].d + 2), ==, 0);
  g_assert_cmpuint (d[0].len, ==, 12 + LB_ML_AUDIO_MAX_OPUS);
}

static void
test_sequence_wrap (void)
{
  g_autoptr (LbMlAudioPacketizer) p = lb_ml_audio_packetizer_new (20, FALSE, key, 0);
  guint8 opus[10] = { 1 };
  Dgram d[3];
  guint last_seq = 0;
  guint32 last_ts = 0;
  for (guint n = 0; n < 65536 + 8; n++)
    {
      guint cnt = packetize (p, opus, sizeof opus, d);
      last_seq = be16 (d[0].d + 2);
      last_ts = be32 (d[0].d + 4);
      g_assert_cmpuint (last_seq, ==, n & 0xffff);
      /* blocks stay aligned on multiples of 4 across the wrap */
      g_assert_cmpuint (cnt, ==, (n & 3) == 3 ? 3 : 1);
    }
  g_assert_cmpuint (last_seq, ==, 7);
  g_assert_cmpuint (last_ts, ==, (guint32)((65536u + 7) * 20));
}

static gsize
decrypt (const guint8 *ct, gsize len, guint32 rikeyid, guint seq, guint8 *out)
{
  guint8 iv[16] = { 0 };
  guint32 v = rikeyid + seq;
  iv[0] = v >> 24;
  iv[1] = v >> 16;
  iv[2] = v >> 8;
  iv[3] = v;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n1 = 0, n2 = 0;
  g_assert_true (EVP_DecryptInit_ex (ctx, EVP_aes_128_cbc (), NULL, key, iv));
  g_assert_true (EVP_DecryptUpdate (ctx, out, &n1, ct, (int)len));
  int ok = EVP_DecryptFinal_ex (ctx, out + n1, &n2);
  EVP_CIPHER_CTX_free (ctx);
  g_assert_true (ok);
  return (gsize)(n1 + n2);
}

static void
test_encryption (void)
{
  /* A negative rikeyid as clients send it, so rikeyid + seq wraps. */
  guint32 rikeyid = 0xfffffffeu;
  g_autoptr (LbMlAudioPacketizer) p = lb_ml_audio_packetizer_new (5, TRUE, key, rikeyid);
  guint8 opus[300], plain[400];
  Dgram d[3];
  gsize sizes[] = { 1, 15, 16, 17, 100, 255, 300 };
  for (guint n = 0; n < G_N_ELEMENTS (sizes); n++)
    {
      make_opus (n, opus, sizes[n]);
      packetize (p, opus, sizes[n], d);
      gsize ct_len = d[0].len - 12;
      g_assert_cmpuint (ct_len, ==, (sizes[n] / 16 + 1) * 16); /* PKCS#7 always pads */
      g_assert_cmpuint (be16 (d[0].d + 2), ==, n);
      g_assert_true (memcmp (d[0].d + 12, opus, MIN (sizes[n], 16)) != 0);
      gsize pl = decrypt (d[0].d + 12, ct_len, rikeyid, n, plain);
      g_assert_cmpmem (plain, pl, opus, sizes[n]);
    }
}

/* Runs 4 data packets of @len bytes (a whole block) and checks the parity
 * datagrams against this file's arithmetic over the datagrams' payloads;
 * then drops every pair of data packets and rebuilds them. */
static void
check_block (gboolean encrypt, gsize len)
{
  g_autoptr (LbMlAudioPacketizer) p = lb_ml_audio_packetizer_new (5, encrypt, key, 7);
  Dgram d[4][3];
  guint8 opus[4][LB_ML_AUDIO_MAX_OPUS];
  /* Skip one block so the checked one does not start at 0. */
  for (guint n = 0; n < 4; n++)
    {
      make_opus (n + 100, opus[0], len);
      packetize (p, opus[0], len, d[0]);
    }
  for (guint n = 0; n < 4; n++)
    {
      make_opus (n, opus[n], len);
      guint cnt = packetize (p, opus[n], len, d[n]);
      g_assert_cmpuint (cnt, ==, n == 3 ? 3 : 1);
    }
  gsize plen = d[0][0].len - 12;
  for (guint n = 0; n < 4; n++)
    g_assert_cmpuint (d[n][0].len - 12, ==, plen);
  for (guint j = 0; j < 2; j++)
    {
      const Dgram *f = &d[3][1 + j];
      g_assert_cmpuint (f->len, ==, 24 + plen);
      g_assert_cmpuint (be16 (f->d + 14), ==, 4);
      g_assert_cmpuint (be32 (f->d + 16), ==, 20);
      for (gsize b = 0; b < plen; b++)
        {
          guint8 want = 0;
          for (guint i = 0; i < 4; i++)
            want ^= gmul (matrix[j][i], d[i][0].d[12 + b]);
          g_assert_cmpuint (f->d[24 + b], ==, want);
        }
      g_assert_cmpuint (lb_ml_audio_fec_coefficient (j, 0), ==, matrix[j][0]);
      g_assert_cmpuint (lb_ml_audio_fec_coefficient (j, 3), ==, matrix[j][3]);
    }
  /* Lose data packets a and b: solve the 2x2 system of the two parity rows
   * for them (the other two are known). */
  for (guint a = 0; a < 4; a++)
    for (guint b = a + 1; b < 4; b++)
      {
        guint8 m00 = matrix[0][a], m01 = matrix[0][b], m10 = matrix[1][a], m11 = matrix[1][b];
        guint8 det = gmul (m00, m11) ^ gmul (m01, m10);
        g_assert_cmpuint (det, !=, 0);
        guint8 idet = ginv (det);
        g_autofree guint8 *ra = g_malloc (plen);
        g_autofree guint8 *rb = g_malloc (plen);
        for (gsize x = 0; x < plen; x++)
          {
            guint8 s0 = d[3][1].d[24 + x], s1 = d[3][2].d[24 + x];
            for (guint i = 0; i < 4; i++)
              if (i != a && i != b)
                {
                  s0 ^= gmul (matrix[0][i], d[i][0].d[12 + x]);
                  s1 ^= gmul (matrix[1][i], d[i][0].d[12 + x]);
                }
            ra[x] = gmul (idet, gmul (m11, s0) ^ gmul (m01, s1));
            rb[x] = gmul (idet, gmul (m00, s1) ^ gmul (m10, s0));
          }
        g_assert_cmpmem (ra, plen, d[a][0].d + 12, plen);
        g_assert_cmpmem (rb, plen, d[b][0].d + 12, plen);
        if (encrypt)
          {
            guint8 plain[LB_ML_AUDIO_MAX_OPUS + 16];
            gsize pl = decrypt (ra, plen, 7, 4 + a, plain);
            g_assert_cmpmem (plain, pl, opus[a], len);
          }
        else
          g_assert_cmpmem (ra, plen, opus[a], len);
      }
}

static void
test_fec_plain (void)
{
  check_block (FALSE, 1);
  check_block (FALSE, 160);
  check_block (FALSE, LB_ML_AUDIO_MAX_OPUS);
}

static void
test_fec_encrypted (void)
{
  check_block (TRUE, 1);
  check_block (TRUE, 160);
  check_block (TRUE, LB_ML_AUDIO_MAX_OPUS);
}

static void
test_fec_unequal_sizes (void)
{
  /* VBR: the parity covers the payloads zero-padded to the longest. */
  g_autoptr (LbMlAudioPacketizer) p = lb_ml_audio_packetizer_new (5, FALSE, key, 0);
  gsize sizes[4] = { 30, 90, 10, 60 };
  guint8 opus[4][90];
  Dgram d[4][3];
  for (guint n = 0; n < 4; n++)
    {
      make_opus (n, opus[n], sizes[n]);
      packetize (p, opus[n], sizes[n], d[n]);
      g_assert_cmpuint (d[n][0].len, ==, 12 + sizes[n]);
    }
  for (guint j = 0; j < 2; j++)
    {
      g_assert_cmpuint (d[3][1 + j].len, ==, 24 + 90);
      for (gsize b = 0; b < 90; b++)
        {
          guint8 want = 0;
          for (guint i = 0; i < 4; i++)
            want ^= gmul (matrix[j][i], b < sizes[i] ? opus[i][b] : 0);
          g_assert_cmpuint (d[3][1 + j].d[24 + b], ==, want);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ml-audio/headers-plain", test_headers_plain);
  g_test_add_func ("/ml-audio/refusals", test_refusals);
  g_test_add_func ("/ml-audio/sequence-wrap", test_sequence_wrap);
  g_test_add_func ("/ml-audio/encryption", test_encryption);
  g_test_add_func ("/ml-audio/fec-plain", test_fec_plain);
  g_test_add_func ("/ml-audio/fec-encrypted", test_fec_encrypted);
  g_test_add_func ("/ml-audio/fec-unequal-sizes", test_fec_unequal_sizes);
  return g_test_run ();
}
