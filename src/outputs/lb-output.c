/* lb-output.c — what every output does the same way: the transport table,
 * session requests, attach/move on an encode's track, packet counting,
 * stats, close. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-output-impl.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-media-branch.h"
#include "lb-spec.h"
#include "lb-track.h"

#include <gst/video/video.h>

/* Transport name → implementation. A new transport is one line here. */
static const LbOutputClass *const builtin[] = {
  &lb_output_rtp_class,
  &lb_output_webrtc_class,
  &lb_output_moonlight_class,
};

/* lb_output_class_register's, after the built-ins. Main loop only. */
static GPtrArray *registered;

static const LbOutputClass *
class_at (guint i)
{
  if (i < G_N_ELEMENTS (builtin))
    return builtin[i];
  i -= G_N_ELEMENTS (builtin);
  return registered != NULL && i < registered->len ? g_ptr_array_index (registered, i) : NULL;
}

const LbOutputClass *
lb_output_class_nth (guint i)
{
  return class_at (i);
}

const LbOutputClass *
lb_output_class_lookup (const char *transport, GError **error)
{
  const LbOutputClass *klass;
  for (guint i = 0; (klass = class_at (i)) != NULL; i++)
    if (g_strcmp0 (klass->transport, transport) == 0)
      return klass;
  g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "no output for transport %s", transport);
  return NULL;
}

gboolean
lb_output_class_register (const LbOutputClass *klass)
{
  const LbOutputClass *known = lb_output_class_lookup (klass->transport, NULL);
  if (known != NULL)
    {
      if (known != klass)
        g_warning ("transport %s is registered already", klass->transport);
      return known == klass;
    }
  if (registered == NULL)
    registered = g_ptr_array_new ();
  g_ptr_array_add (registered, (gpointer)klass);
  g_debug ("transport %s registered", klass->transport);
  return TRUE;
}

gboolean
lb_output_classes_configure (const LbConfig *config, GError **error)
{
  const LbOutputClass *klass;
  for (guint i = 0; (klass = class_at (i)) != NULL; i++)
    if (klass->configure != NULL && !klass->configure (config, error))
      return FALSE;
  return TRUE;
}

LbSessionSpec *
lb_output_spec_new (const char *transport, const LbLobbySpec *lobby, GError **error)
{
  const LbOutputClass *klass = lb_output_class_lookup (transport, error);
  if (klass == NULL)
    return NULL;
  LbSessionSpec *spec = lb_session_spec_new (lobby, transport);
  if (klass->init_spec != NULL)
    klass->init_spec (spec);
  return spec;
}

/* The class a request names, if it may be requested as JSON. Its member
 * errors are reported later, in the order the checks run. */
static const LbOutputClass *
requested_class (JsonObject *obj)
{
  JsonNode *node = json_object_get_member (obj, "transport");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  const LbOutputClass *klass = lb_output_class_lookup (json_node_get_string (node), NULL);
  return klass != NULL && klass->parse != NULL ? klass : NULL;
}

static void
add_members (GPtrArray *names, const char *const *members)
{
  for (guint i = 0; members != NULL && members[i] != NULL; i++)
    if (!g_ptr_array_find_with_equal_func (names, members[i], g_str_equal, NULL))
      g_ptr_array_add (names, (gpointer)members[i]);
}

LbSessionSpec *
lb_output_spec_from_json (JsonObject *obj, const LbLobbySpec *lobby, GError **error)
{
  const LbOutputClass *klass = requested_class (obj);
  g_autoptr (GPtrArray) members = g_ptr_array_new ();
  g_autoptr (GPtrArray) requestable = g_ptr_array_new ();
  g_autofree char *transport = NULL;
  const LbOutputClass *k;

  for (guint i = 0; (k = class_at (i)) != NULL; i++)
    if (k->parse != NULL)
      g_ptr_array_add (requestable, (gpointer)k->transport);
  g_ptr_array_add (requestable, NULL);

  /* Unknown members are refused before anything else; while the transport
   * is unknown, any transport's members are known ones. */
  g_ptr_array_add (members, "transport");
  add_members (members, lb_session_spec_members ());
  for (guint i = 0; (k = class_at (i)) != NULL; i++)
    if (k->parse != NULL && (klass == NULL || k == klass))
      add_members (members, k->members);
  g_ptr_array_add (members, NULL);

  if (!lb_json_check_members (obj, NULL, (const char *const *)members->pdata, error)
      || !lb_json_get_string (obj, NULL, "transport", TRUE, 16, &transport, error))
    return NULL;
  if (klass == NULL)
    {
      g_autofree char *list = g_strjoinv (", ", (char **)requestable->pdata);
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "field 'transport' must be one of: %s",
                   list);
      return NULL;
    }
  g_autoptr (LbSessionSpec) spec = lb_session_spec_new (lobby, klass->transport);
  if (klass->init_spec != NULL)
    klass->init_spec (spec);
  spec->params = json_object_new ();
  if (!klass->parse (obj, spec->params, error) || !lb_session_spec_read_json (obj, spec, error))
    return NULL;
  return g_steal_pointer (&spec);
}

gpointer
lb_output_alloc (gsize size, const LbOutputClass *klass, const char *name)
{
  g_assert (size >= sizeof (LbOutput));
  LbOutput *self = g_malloc0 (size);
  self->klass = klass;
  self->name = g_strdup (name);
  return self;
}

static GstPadProbeReturn
count_packets (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbOutput *self = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  /* 64-bit counters, one writer: relaxed atomics keep readers tear-free. */
  __atomic_fetch_add (&self->packets, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&self->bytes, gst_buffer_get_size (buf), __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

void
lb_output_count_packets (LbOutput *self, GstPad *pad)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_packets, self, NULL);
}

gboolean
lb_output_attach (LbOutput *self, LbTrack *track, GstElement **elements, GError **error)
{
  g_return_val_if_fail (self->branch == NULL, FALSE);
  self->branch = lb_track_attach (track, self->name, elements, error);
  return self->branch != NULL;
}

LbBranch *
lb_output_get_branch (const LbOutput *self)
{
  return self->branch;
}

gboolean
lb_output_attach_audio (LbOutput *self, LbTrack *audio, GstElement **elements, GError **error)
{
  g_return_val_if_fail (self->audio_branch == NULL, FALSE);
  g_return_val_if_fail (lb_track_get_kind (audio) == LB_MEDIA_AUDIO, FALSE);
  g_autofree char *name = g_strdup_printf ("%s-audio", self->name);
  self->audio_branch = lb_track_attach (audio, name, elements, error);
  return self->audio_branch != NULL;
}

LbBranch *
lb_output_get_audio_branch (const LbOutput *self)
{
  return self->audio_branch;
}

static GstPadProbeReturn
count_audio_packets (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbOutput *self = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  __atomic_fetch_add (&self->audio_packets, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&self->audio_bytes, gst_buffer_get_size (buf), __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

void
lb_output_count_audio_packets (LbOutput *self, GstPad *pad)
{
  g_return_if_fail (self->audio_pad == NULL);
  self->audio_pad = gst_object_ref (pad);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_audio_packets, self, NULL);
}

gint64
lb_output_capture_time_us (GstPad *pad, GstBuffer *buf)
{
  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return 0;
  g_autoptr (GstEvent) segment_event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  g_autoptr (GstElement) element = gst_pad_get_parent_element (pad);
  if (segment_event == NULL || element == NULL)
    return 0;
  g_autoptr (GstClock) clock = gst_element_get_clock (element);
  if (clock == NULL)
    return 0;
  const GstSegment *segment = NULL;
  gst_event_parse_segment (segment_event, &segment);
  if (segment->format != GST_FORMAT_TIME)
    return 0;
  GstClockTime rt = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  GstClockTime base = gst_element_get_base_time (element);
  GstClockTime now = gst_clock_get_time (clock);
  gint64 real_now = g_get_real_time ();
  if (rt == GST_CLOCK_TIME_NONE || now == GST_CLOCK_TIME_NONE)
    return 0;
  /* The pipeline clock is monotonic: how long ago the running time was
   * reached, taken off the wall clock now. */
  return real_now - GST_CLOCK_DIFF (base + rt, now) / 1000;
}

const LbOutputClass *
lb_output_get_class (const LbOutput *self)
{
  return self->klass;
}

const char *
lb_output_get_name (const LbOutput *self)
{
  return self->name;
}

gboolean
lb_output_move (LbOutput *self, LbTrack *track, GError **error)
{
  if (!lb_branch_move (self->branch, lb_track_get_tee (track), error))
    return FALSE;
  /* The new encoder's first IDR may have left before this output arrived. */
  lb_track_request_key_frame (track);
  return TRUE;
}

void
lb_output_request_key_frame (LbOutput *self)
{
  if (self->branch == NULL)
    return;
  g_autoptr (GstPad) sink = gst_element_get_static_pad (lb_branch_get_bin (self->branch), "sink");
  gst_pad_push_event (sink,
                      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

const char *
lb_output_get_answer (const LbOutput *self)
{
  return self->answer;
}

const char *
lb_output_branch_error_reason (LbOutput *self, const GError *error)
{
  return self->klass->branch_error_reason != NULL ? self->klass->branch_error_reason (self, error)
                                                  : NULL;
}

char *
lb_output_get_sdp (LbOutput *self)
{
  return self->klass->get_sdp != NULL ? self->klass->get_sdp (self) : NULL;
}

guint64
lb_output_get_packets (const LbOutput *self)
{
  return __atomic_load_n (&self->packets, __ATOMIC_RELAXED);
}

guint64
lb_output_get_bytes (const LbOutput *self)
{
  return __atomic_load_n (&self->bytes, __ATOMIC_RELAXED);
}

JsonObject *
lb_output_stats_to_json (LbOutput *self)
{
  JsonObject *stats = json_object_new ();
  json_object_set_int_member (stats, "packets_sent", (gint64)lb_output_get_packets (self));
  if (self->klass->stats_to_json != NULL)
    self->klass->stats_to_json (self, stats);
  if (self->audio_pad != NULL)
    {
      JsonObject *audio = json_object_new ();
      g_autoptr (GstCaps) caps = gst_pad_get_current_caps (self->audio_pad);
      guint ssrc = 0;
      gint pt = 0;
      if (caps != NULL)
        {
          GstStructure *st = gst_caps_get_structure (caps, 0);
          gst_structure_get_uint (st, "ssrc", &ssrc);
          gst_structure_get_int (st, "payload", &pt);
        }
      json_object_set_int_member (audio, "packets_sent",
                                  (gint64)__atomic_load_n (&self->audio_packets, __ATOMIC_RELAXED));
      json_object_set_int_member (audio, "bytes_sent",
                                  (gint64)__atomic_load_n (&self->audio_bytes, __ATOMIC_RELAXED));
      json_object_set_int_member (audio, "ssrc", ssrc);
      json_object_set_int_member (audio, "payload_type", pt);
      json_object_set_object_member (stats, "audio", audio);
    }
  return stats;
}

/* How often the SR timer looks: a stream's first SR goes out within this
 * of its first packet, later ones every SR_INTERVAL_US. */
#define SR_TICK_MS 250
#define SR_INTERVAL_US G_USEC_PER_SEC
/* One CNAME for both streams of a session: receivers sync the streams of
 * one CNAME. */
#define SR_CNAME "lobbyd"

LbRtcpSender *
lb_output_sr_stream (LbOutput *self, LbOutputSrStream stream, guint32 clock_rate)
{
  g_return_val_if_fail (stream < LB_OUTPUT_SR_STREAMS, NULL);
  if (self->sr[stream] == NULL)
    self->sr[stream] = lb_rtcp_sender_new (0, clock_rate);
  return self->sr[stream];
}

void
lb_output_sr_feed (LbRtcpSender *sender, GstPad *pad, GstBuffer *buf, const guint8 *rtp, gsize len)
{
  lb_rtcp_sender_on_rtp (sender, rtp, len, lb_output_capture_time_us (pad, buf));
}

static GstPadProbeReturn
sr_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  lb_output_sr_feed (user_data, pad, buf, map.data, map.size);
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

void
lb_output_sr_probe (LbOutput *self, LbOutputSrStream stream, GstPad *pad, guint32 clock_rate)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sr_probe,
                     lb_output_sr_stream (self, stream, clock_rate), NULL);
}

static gboolean
sr_tick (gpointer user_data)
{
  LbOutput *self = user_data;
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < LB_OUTPUT_SR_STREAMS; i++)
    {
      guint8 pkt[LB_RTCP_MAX_SR_SIZE + LB_OUTPUT_SR_ROOM];
      if (self->sr[i] == NULL
          || (self->sr_last_us[i] != 0 && now - self->sr_last_us[i] < SR_INTERVAL_US - 50000))
        continue;
      gsize len = lb_rtcp_sender_write_sr (self->sr[i], g_get_real_time (), SR_CNAME, pkt,
                                           LB_RTCP_MAX_SR_SIZE);
      if (len == 0)
        continue; /* nothing sent yet */
      if (!self->sr_send (self, i, pkt, len))
        continue;
      self->sr_last_us[i] = now;
      self->sr_sent++;
    }
  return G_SOURCE_CONTINUE;
}

void
lb_output_sr_start (LbOutput *self, LbOutputSrSendFunc send)
{
  g_return_if_fail (self->sr_timer == 0);
  self->sr_send = send;
  self->sr_timer = g_timeout_add (SR_TICK_MS, sr_tick, self);
}

guint64
lb_output_sr_sent (const LbOutput *self)
{
  return self->sr_sent;
}

static void
output_free (gpointer user_data)
{
  LbOutput *self = user_data;
  for (guint i = 0; i < LB_OUTPUT_SR_STREAMS; i++)
    g_clear_pointer (&self->sr[i], lb_rtcp_sender_free);
  g_clear_object (&self->audio_pad);
  g_free (self->answer);
  g_free (self->name);
  g_free (self);
}

void
lb_output_rtp_clock_to_json (LbOutput *self, GstElement *payloader, JsonObject *stats)
{
  if (payloader == NULL)
    return;
  g_autoptr (GstPad) src = gst_element_get_static_pad (payloader, "src");
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (src);
  guint offset = 0;
  if (caps == NULL || self->branch == NULL
      || !gst_structure_get_uint (gst_caps_get_structure (caps, 0), "timestamp-offset", &offset))
    return;
  /* Buffers carry running time (live source), and the payloader stamps
   * offset + running time at 90 kHz: running time 0 happened this long ago. */
  g_autoptr (GstObject) parent
      = gst_object_get_parent (GST_OBJECT (lb_branch_get_bin (self->branch)));
  if (parent == NULL)
    return;
  GstElement *pipeline = GST_ELEMENT (parent);
  g_autoptr (GstClock) clock = gst_element_get_clock (pipeline);
  if (clock == NULL)
    return;
  GstClockTime running = gst_clock_get_time (clock) - gst_element_get_base_time (pipeline);
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "timestamp_offset", offset);
  json_object_set_int_member (o, "running_time_zero_unix_us",
                              g_get_real_time () - (gint64)(running / 1000));
  json_object_set_object_member (stats, "rtp_clock", o);
}

static gboolean
report_ready (gpointer user_data)
{
  LbOutput *self = user_data;
  self->ready_source = 0;
  self->ready_func (self, NULL, self->ready_data);
  return G_SOURCE_REMOVE;
}

void
lb_output_ready_soon (LbOutput *self, const LbOutputSetup *setup)
{
  g_return_if_fail (setup->on_ready != NULL && self->ready_source == 0);
  self->ready_func = setup->on_ready;
  self->ready_data = setup->ready_data;
  self->ready_source = g_idle_add (report_ready, self);
}

/* The struct goes with the last of its branches (the probes point at it). */
static void
branch_detached (gpointer user_data)
{
  LbOutput *self = user_data;
  if (--self->detaching == 0)
    output_free (self);
}

void
lb_output_close (LbOutput *self)
{
  if (self == NULL)
    return;
  /* Callbacks stop first: nothing may reach a session that is going. The
   * probes (which point at self) stop with the branch: the struct is freed
   * only once the detach is done. */
  g_clear_handle_id (&self->ready_source, g_source_remove);
  g_clear_handle_id (&self->sr_timer, g_source_remove);
  self->klass->close (self);
  self->detaching = (self->branch != NULL) + (self->audio_branch != NULL);
  if (self->detaching == 0)
    {
      output_free (self);
      return;
    }
  if (self->branch != NULL)
    lb_branch_detach_async (g_steal_pointer (&self->branch), branch_detached, self);
  if (self->audio_branch != NULL)
    lb_branch_detach_async (g_steal_pointer (&self->audio_branch), branch_detached, self);
}
