/* lb-sdp-h264.c — the offer's H.264 formats handed to lb-h264-fmtp. */
#include "lb-sdp-h264.h"
#include "lb-h264-fmtp.h"

#include <stdlib.h>
#include <string.h>

/* A dynamic RTP payload type (lb_rtp_payload_type_is_dynamic: 35-63,
 * 96-127) in plain decimal. Anything else is the client's mistake; passed
 * on, it would make rtph264pay and webrtcbin fail (a server error) or be
 * read as another number by atoi(). */
static int
parse_dynamic_payload (const char *format)
{
  size_t len = format ? strlen (format) : 0;
  if (len < 2 || len > 3 || format[0] == '0' || strspn (format, "0123456789") != len)
    return -1;
  int pt = atoi (format);
  return lb_rtp_payload_type_is_dynamic (pt) ? pt : -1;
}

/* The value of the media's a=@key line for payload type @pt, after "<pt> ". */
static const char *
format_attribute (const GstSDPMedia *media, const char *key, int pt)
{
  for (guint i = 0;; i++)
    {
      const char *v = gst_sdp_media_get_attribute_val_n (media, key, i);
      char *end = NULL;
      if (v == NULL)
        return NULL;
      /* "<pt> <value>" exactly: no sign, no space before the number. */
      if (g_ascii_isdigit (v[0]) && g_ascii_strtoll (v, &end, 10) == pt
          && (*end == ' ' || *end == '\t'))
        return end + strspn (end, " \t");
    }
}

int
lb_sdp_h264_choose (const GstSDPMessage *offer, guint level_idc, guint *media_index, GError **error)
{
  g_autoptr (GArray) offered = g_array_new (FALSE, FALSE, sizeof (LbH264Offered));
  g_autoptr (GArray) where = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint m = 0; m < gst_sdp_message_medias_len (offer); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (offer, m);
      if (g_strcmp0 (gst_sdp_media_get_media (media), "video") != 0)
        continue;
      for (guint f = 0; f < gst_sdp_media_formats_len (media); f++)
        {
          int pt = parse_dynamic_payload (gst_sdp_media_get_format (media, f));
          if (pt < 0)
            continue;
          LbH264Offered o = { pt, format_attribute (media, "rtpmap", pt),
                              format_attribute (media, "fmtp", pt) };
          g_array_append_val (offered, o);
          g_array_append_val (where, m);
        }
    }
  int best = lb_h264_fmtp_choose ((const LbH264Offered *)(void *)offered->data, offered->len,
                                  level_idc, error);
  if (best >= 0 && media_index != NULL)
    for (guint i = 0; i < offered->len; i++)
      if (g_array_index (offered, LbH264Offered, i).pt == best)
        {
          *media_index = g_array_index (where, guint, i);
          break;
        }
  return best;
}
