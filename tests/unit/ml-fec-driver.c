/* ml-fec-driver.c — lobbyd's Moonlight FEC and packetizer, driven from
 * tests/integration/test_ml_fec.py:
 *
 *   ml-fec-driver rs K M < K lines of hex data shards
 *       prints {"parity": ["hex", ...]} (M shards)
 *   ml-fec-driver video PACKET_SIZE FEC_PCT MIN_FEC IN OUT
 *       IN: records {LE32 length, u8 is_idr, access unit}; frame i (from 0)
 *       is sent as frame index i + 1 at 90 kHz timestamp i · 3000.
 *       OUT: records {LE32 length, datagram}, in send order. */
#include "lb-ml-fec.h"
#include "lb-ml-video.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
run_rs (guint k, guint m)
{
  g_autoptr (GPtrArray) data = g_ptr_array_new_with_free_func (g_free);
  gsize size = 0;
  char line[65536];
  while (data->len < k && fgets (line, sizeof line, stdin))
    {
      g_strstrip (line);
      gsize n = strlen (line) / 2;
      if (size && n != size)
        return 2;
      size = n;
      guint8 *d = g_malloc (n);
      for (gsize i = 0; i < n; i++)
        {
          char hex[3] = { line[2 * i], line[2 * i + 1], 0 };
          d[i] = (guint8)strtoul (hex, NULL, 16);
        }
      g_ptr_array_add (data, d);
    }
  if (data->len != k)
    return 2;
  g_autofree guint8 **parity = g_new (guint8 *, m);
  for (guint j = 0; j < m; j++)
    parity[j] = g_malloc (size);
  if (!lb_ml_fec_encode (k, m, (const guint8 *const *)data->pdata, parity, size))
    return 1;
  printf ("{\"parity\": [");
  for (guint j = 0; j < m; j++)
    {
      printf ("%s\"", j ? ", " : "");
      for (gsize b = 0; b < size; b++)
        printf ("%02x", parity[j][b]);
      printf ("\"");
      g_free (parity[j]);
    }
  printf ("]}\n");
  return 0;
}

static int
run_video (guint packet_size, guint pct, guint min_fec, const char *in_path, const char *out_path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *in = NULL;
  gsize in_len = 0;
  if (!g_file_get_contents (in_path, &in, &in_len, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_autoptr (LbMlVideoPacketizer) p
      = lb_ml_video_packetizer_new (packet_size, pct, min_fec, &error);
  if (!p)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  FILE *out = fopen (out_path, "wb");
  if (!out)
    return 1;
  gsize off = 0;
  guint32 frame = 0;
  while (off + 5 <= in_len)
    {
      const guint8 *rec = (const guint8 *)in + off;
      guint32 len = rec[0] | rec[1] << 8 | rec[2] << 16 | (guint32)rec[3] << 24;
      if (off + 5 + len > in_len)
        break;
      LbMlVideoFrameInfo info
          = { .frame_index = frame + 1, .rtp_timestamp = frame * 3000, .is_idr = rec[4] != 0 };
      if (!lb_ml_video_packetize (p, rec + 5, len, &info, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      for (guint i = 0; i < lb_ml_video_packetizer_get_n_datagrams (p); i++)
        {
          gsize dlen;
          const guint8 *d = lb_ml_video_packetizer_get_datagram (p, i, &dlen);
          guint8 hdr[4] = { dlen, dlen >> 8, dlen >> 16, dlen >> 24 };
          fwrite (hdr, 1, 4, out);
          fwrite (d, 1, dlen, out);
        }
      off += 5 + len;
      frame++;
    }
  fclose (out);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 4 && strcmp (argv[1], "rs") == 0)
    return run_rs (atoi (argv[2]), atoi (argv[3]));
  if (argc == 7 && strcmp (argv[1], "video") == 0)
    return run_video (atoi (argv[2]), atoi (argv[3]), atoi (argv[4]), argv[5], argv[6]);
  g_printerr ("usage: ml-fec-driver rs K M | video PACKET_SIZE PCT MIN IN OUT\n");
  return 2;
}
