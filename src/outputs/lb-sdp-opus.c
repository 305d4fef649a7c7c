/* lb-sdp-opus.c — the offer's Opus payload type (RFC 7587). */
#include "lb-sdp-opus.h"
#include "lb-error.h"

#include <stdlib.h>
#include <string.h>

/* A payload type lobbyd may send on: dynamic, plain decimal. Chromium puts
 * some codecs in 35-63 (RFC 5761 §4 leaves them to RTP), 64-95 would read as
 * RTCP on a muxed port. */
static int
parse_payload (const char *format)
{
  if (format == NULL || *format == '\0' || strlen (format) > 3 || (format[0] == '0')
      || strspn (format, "0123456789") != strlen (format))
    return -1;
  int pt = atoi (format);
  return (pt >= 35 && pt <= 63) || (pt >= 96 && pt <= 127) ? pt : -1;
}

/* "opus/48000/2", any case: RFC 7587 §7 always names two channels. */
static gboolean
is_opus (const GstSDPMedia *media, int pt)
{
  for (guint i = 0;; i++)
    {
      const char *v = gst_sdp_media_get_attribute_val_n (media, "rtpmap", i);
      char *end = NULL;
      if (v == NULL)
        return FALSE;
      if (!g_ascii_isdigit (v[0]) || g_ascii_strtoll (v, &end, 10) != pt
          || (*end != ' ' && *end != '\t'))
        continue;
      g_autofree char *name = g_strstrip (g_strdup (end));
      return g_ascii_strcasecmp (name, "opus/48000/2") == 0;
    }
}

/* A flag attribute (no value: GstSDP may keep it as NULL). */
static gboolean
has_attribute (const GstSDPMedia *media, const char *key)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++)
    if (g_strcmp0 (gst_sdp_media_get_attribute (media, i)->key, key) == 0)
      return TRUE;
  return FALSE;
}

gboolean
lb_sdp_opus_choose (const GstSDPMessage *offer, int *pt, guint *mline, GError **error)
{
  for (guint m = 0; m < gst_sdp_message_medias_len (offer); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (offer, m);
      if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") != 0)
        continue;
      if (gst_sdp_media_get_port (media) == 0 && !has_attribute (media, "bundle-only"))
        continue;
      for (guint f = 0; f < gst_sdp_media_formats_len (media); f++)
        {
          int p = parse_payload (gst_sdp_media_get_format (media, f));
          if (p < 0 || !is_opus (media, p))
            continue;
          if (pt != NULL)
            *pt = p;
          if (mline != NULL)
            *mline = m;
          return TRUE;
        }
    }
  g_set_error (error, LB_ERROR, LB_ERROR_INVALID_SDP,
               "the offer has no audio m-line with opus/48000/2");
  return FALSE;
}
