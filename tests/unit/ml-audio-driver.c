/* ml-audio-driver.c — lobbyd's Moonlight audio packetizer, driven from
 * tests/integration/test_ml_audio.py:
 *
 *   ml-audio-driver PACKET_MS ENCRYPT(0|1) RIKEY_HEX RIKEYID < lines of hex Opus packets
 *       prints one line per datagram, in send order: its hex. */
#include "lb-ml-audio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gboolean
unhex (const char *s, guint8 *out, gsize max, gsize *n)
{
  gsize len = strlen (s);
  if (len % 2 || len / 2 > max)
    return FALSE;
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (s[2 * i]), lo = g_ascii_xdigit_value (s[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guint8)(hi << 4 | lo);
    }
  *n = len / 2;
  return TRUE;
}

int
main (int argc, char **argv)
{
  guint8 key[16];
  gsize n = 0;
  if (argc != 5 || !unhex (argv[3], key, sizeof key, &n) || n != 16)
    {
      fprintf (stderr, "usage: ml-audio-driver PACKET_MS ENCRYPT RIKEY_HEX RIKEYID < hex lines\n");
      return 2;
    }
  g_autoptr (LbMlAudioPacketizer) p = lb_ml_audio_packetizer_new (
      (guint)atoi (argv[1]), atoi (argv[2]) != 0, key, (guint32)strtoll (argv[4], NULL, 10));
  static char line[8192];
  static guint8 opus[4096];
  while (fgets (line, sizeof line, stdin))
    {
      g_strstrip (line);
      if (!unhex (line, opus, sizeof opus, &n))
        return 2;
      guint cnt = lb_ml_audio_packetize (p, opus, n);
      if (cnt == 0)
        printf ("refused\n");
      for (guint i = 0; i < cnt; i++)
        {
          gsize dl = 0;
          const guint8 *d = lb_ml_audio_packetizer_get_datagram (p, i, &dl);
          for (gsize b = 0; b < dl; b++)
            printf ("%02x", d[b]);
          printf ("\n");
        }
    }
  return 0;
}
