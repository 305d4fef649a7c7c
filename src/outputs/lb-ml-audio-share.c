/* lb-ml-audio-share.c — one Opus re-encode per (lobby audio track, packet
 * duration), shared by that lobby's Moonlight viewers. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-ml-audio-share.h"
#include "lb-media-branch.h"
#include "lb-track.h"

/* CBR: the client gives up audio FEC for the session once a block's
 * packets differ in size. Low-delay CELT, as GameStream hosts send. */
#define AUDIO_BITRATE 96000

typedef struct
{
  LbMlAudioSink sink;
  gpointer user_data;
} Listener;

struct _LbMlAudioShare
{
  gint ref;      /* the table's + each viewer's, + the probe's */
  char *key;     /* in the table while viewers > 0 */
  guint viewers; /* main loop */
  LbBranch *branch;
  GMutex lock; /* @listeners: the streaming thread fans out under it */
  GArray *listeners;
};

static GHashTable *shares; /* key → LbMlAudioShare, main loop only */

static LbMlAudioShare *
share_ref (LbMlAudioShare *s)
{
  g_atomic_int_inc (&s->ref);
  return s;
}

static void
share_unref (gpointer data)
{
  LbMlAudioShare *s = data;
  if (!g_atomic_int_dec_and_test (&s->ref))
    return;
  g_array_unref (s->listeners);
  g_mutex_clear (&s->lock);
  g_free (s->key);
  g_free (s);
}

static GstPadProbeReturn
on_packet (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbMlAudioShare *s = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  if (buf == NULL || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&s->lock);
  for (guint i = 0; i < s->listeners->len; i++)
    {
      Listener *l = &g_array_index (s->listeners, Listener, i);
      l->sink (map.data, map.size, l->user_data);
    }
  g_mutex_unlock (&s->lock);
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

static LbMlAudioShare *
share_start (LbTrack *audio, guint packet_ms, const char *key, GError **error)
{
  static const LbElementSpec chain[] = {
    { "opusdec", NULL },
    { "opusenc", NULL },
    { "fakesink", NULL },
  };
  GstElement *e[4] = { NULL };
  if (!lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return NULL;
  g_autofree char *frame = g_strdup_printf ("%u", packet_ms);
  gst_util_set_object_arg (G_OBJECT (e[1]), "frame-size", frame);
  gst_util_set_object_arg (G_OBJECT (e[1]), "bitrate-type", "cbr");
  gst_util_set_object_arg (G_OBJECT (e[1]), "audio-type", "restricted-lowdelay");
  g_object_set (e[1], "bitrate", AUDIO_BITRATE, NULL);
  g_object_set (e[2], "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);

  LbMlAudioShare *s = g_new0 (LbMlAudioShare, 1);
  s->ref = 1;
  s->key = g_strdup (key);
  g_mutex_init (&s->lock);
  s->listeners = g_array_new (FALSE, FALSE, sizeof (Listener));
  g_autoptr (GstPad) sink = gst_element_get_static_pad (e[2], "sink");
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, on_packet, share_ref (s), share_unref);
  g_autofree char *name = g_strdup_printf ("moonlight-audio-%ums", packet_ms);
  s->branch = lb_track_attach (audio, name, e, error);
  if (s->branch == NULL)
    {
      share_unref (s);
      return NULL;
    }
  g_debug ("Moonlight audio re-encode at %u ms started", packet_ms);
  return s;
}

LbMlAudioShare *
lb_ml_audio_share_join (LbTrack *audio, guint packet_ms, LbMlAudioSink sink, gpointer user_data,
                        GError **error)
{
  if (shares == NULL)
    shares = g_hash_table_new (g_str_hash, g_str_equal);
  /* The track is alive while it has viewers, and so is its entry. */
  g_autofree char *key = g_strdup_printf ("%p/%u", (void *)audio, packet_ms);
  LbMlAudioShare *s = g_hash_table_lookup (shares, key);
  if (s == NULL)
    {
      s = share_start (audio, packet_ms, key, error);
      if (s == NULL)
        return NULL;
      g_hash_table_insert (shares, s->key, s);
    }
  s->viewers++;
  Listener l = { sink, user_data };
  g_mutex_lock (&s->lock);
  g_array_append_val (s->listeners, l);
  g_mutex_unlock (&s->lock);
  return share_ref (s);
}

void
lb_ml_audio_share_leave (LbMlAudioShare *s, gpointer user_data)
{
  g_mutex_lock (&s->lock);
  for (guint i = 0; i < s->listeners->len; i++)
    if (g_array_index (s->listeners, Listener, i).user_data == user_data)
      {
        g_array_remove_index_fast (s->listeners, i);
        break;
      }
  g_mutex_unlock (&s->lock);
  if (--s->viewers == 0)
    {
      g_hash_table_remove (shares, s->key);
      lb_branch_detach_async (g_steal_pointer (&s->branch), NULL, NULL);
      share_unref (s); /* the table's */
      g_debug ("Moonlight audio re-encode stopped");
    }
  share_unref (s); /* the viewer's */
}

guint
lb_ml_audio_share_count (void)
{
  return shares != NULL ? g_hash_table_size (shares) : 0;
}
