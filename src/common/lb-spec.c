/* lb-spec.c — validation and serialization of lobby and session requests. */
#define G_LOG_DOMAIN "lobbyd-spec"
#include "lb-spec.h"
#include "lb-error.h"
#include "lb-json.h"

#include <gio/gio.h>
#include <string.h>

/* Bounds: x264 needs even sizes for 4:2:0; 8K and 240 fps are far beyond
 * what a software encode sustains, and keep arithmetic on pixel rates small. */
#define MIN_DIM 16
#define MAX_WIDTH 7680
#define MAX_HEIGHT 4320
#define MAX_FPS 240
#define MIN_BITRATE 100
#define MAX_BITRATE 200000
#define DEFAULT_BITRATE 4000

static const char *const patterns[] = {
  "smpte",  "ball",     "snow",   "checkers-8", "circular", "zone-plate", "pinwheel",
  "spokes", "gradient", "colors", "bar",        "black",    "white",      NULL,
};

const char *const *
lb_spec_patterns (void)
{
  return patterns;
}

static const char *const encoder_preferences[] = { "auto", "hardware", "software", NULL };

const char *
lb_encoder_preference_name (LbEncoderPreference preference)
{
  return encoder_preferences[preference];
}

guint
lb_bitrate_tier (guint kbps)
{
  static const guint tiers[]
      = { 250,  500,  750,   1000,  1500,  2000,  2500,  3000,  4000,  5000,
          6000, 8000, 10000, 12000, 16000, 20000, 25000, 32000, 40000, 50000 };
  for (guint i = 0; i < G_N_ELEMENTS (tiers); i++)
    if (kbps <= tiers[i])
      return tiers[i];
  return kbps;
}

char *
lb_profile_share_key (const LbProfile *p)
{
  return g_strdup_printf ("%s/%s%s/%ux%u@%u/%u", lb_media_kind_name (p->kind),
                          lb_codec_name (p->codec),
                          p->h264_profile == LB_H264_CONSTRAINED_BASELINE ? "-cb" : "", p->width,
                          p->height, p->fps, lb_bitrate_tier (p->bitrate_kbps));
}

guint64
lb_profile_pixel_rate (const LbProfile *p)
{
  return (guint64)p->width * p->height * p->fps;
}

const char *
lb_codec_name (LbCodec codec)
{
  switch (codec)
    {
    case LB_CODEC_H264:
      return "h264";
    case LB_CODEC_OPUS:
      return "opus";
    }
  return "unknown";
}

const char *
lb_media_kind_name (LbMediaKind kind)
{
  return kind == LB_MEDIA_AUDIO ? "audio" : "video";
}

LbSessionSpec *
lb_session_spec_new (const LbLobbySpec *lobby, const char *transport)
{
  LbSessionSpec *spec = g_new0 (LbSessionSpec, 1);
  spec->transport = g_strdup (transport);
  spec->encoder = lobby->encoder;
  spec->profile = (LbProfile){ LB_CODEC_H264, LB_H264_ANY, lobby->width,
                               lobby->height, lobby->fps,  DEFAULT_BITRATE };
  return spec;
}

static gboolean
check_even (const char *path, guint value, GError **error)
{
  if (value % 2 != 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_OUT_OF_RANGE, "field '%s' must be even", path);
      return FALSE;
    }
  return TRUE;
}

/* Reads {width, height, fps} into the pointers, keeping their defaults. */
static gboolean
read_video (JsonObject *video, const char *prefix, guint *w, guint *h, guint *fps, GError **error)
{
  g_autofree char *wpath = g_strconcat (prefix, ".width", NULL);
  g_autofree char *hpath = g_strconcat (prefix, ".height", NULL);

  return lb_json_get_uint (video, prefix, "width", FALSE, MIN_DIM, MAX_WIDTH, w, error)
         && lb_json_get_uint (video, prefix, "height", FALSE, MIN_DIM, MAX_HEIGHT, h, error)
         && lb_json_get_uint (video, prefix, "fps", FALSE, 1, MAX_FPS, fps, error)
         && check_even (wpath, *w, error) && check_even (hpath, *h, error);
}

LbLobbySpec *
lb_lobby_spec_new_default (void)
{
  LbLobbySpec *spec = g_new0 (LbLobbySpec, 1);
  spec->source_type = LB_SOURCE_TESTSRC;
  spec->pattern = "ball";
  spec->width = 1280;
  spec->height = 720;
  spec->fps = 30;
  spec->share_encodes = TRUE;
  spec->audio = TRUE;
  return spec;
}

static gboolean
read_source (JsonObject *source, LbLobbySpec *spec, GError **error)
{
  static const char *const members[] = { "type", "pattern", "app", NULL };
  g_autofree char *type = NULL;
  g_autofree char *pattern = NULL;

  if (!lb_json_check_members (source, "source", members, error)
      || !lb_json_get_string (source, "source", "type", TRUE, 32, &type, error)
      || !lb_json_get_string (source, "source", "pattern", FALSE, 32, &pattern, error)
      || !lb_json_get_string (source, "source", "app", FALSE, 32, &spec->app, error))
    return FALSE;

  if (g_strcmp0 (type, "x11-app") == 0)
    {
      spec->source_type = LB_SOURCE_X11_APP;
      if (spec->app == NULL
          || strspn (spec->app, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen (spec->app))
        {
          g_set_error (
              error, LB_ERROR, LB_ERROR_INVALID_FIELD,
              "field 'source.app' must name an app of the catalogue ([apps] in the config)");
          return FALSE;
        }
      return TRUE;
    }
  if (g_strcmp0 (type, "testsrc") != 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "field 'source.type' must be one of: testsrc, x11-app");
      return FALSE;
    }
  if (pattern != NULL)
    {
      spec->pattern = NULL;
      for (guint i = 0; patterns[i] != NULL; i++)
        if (g_str_equal (patterns[i], pattern))
          spec->pattern = patterns[i];
      if (spec->pattern == NULL)
        {
          g_autofree char *list = g_strjoinv (", ", (char **)patterns);
          g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                       "field 'source.pattern' must be one of: %s", list);
          return FALSE;
        }
    }
  return TRUE;
}

LbLobbySpec *
lb_lobby_spec_from_json (JsonObject *obj, GError **error)
{
  static const char *const members[]
      = { "name",  "session_key",       "source", "video", "encoder", "encoder_sharing",
          "audio", "moonlight_control", NULL };
  static const char *const sharing[] = { "off", "auto", NULL };
  static const char *const ml_control[] = { "default", "on", "off", NULL };
  guint ml = LB_MOONLIGHT_CONTROL_DEFAULT;
  static const char *const video_members[] = { "width", "height", "fps", NULL };
  guint share = 1;
  g_autoptr (LbLobbySpec) spec = lb_lobby_spec_new_default ();
  JsonObject *source = NULL;
  JsonObject *video = NULL;

  if (!lb_json_check_members (obj, NULL, members, error)
      || !lb_json_get_string (obj, NULL, "name", TRUE, LB_NAME_MAX, &spec->name, error)
      || !lb_json_get_string (obj, NULL, "session_key", FALSE, LB_SESSION_KEY_MAX,
                              &spec->session_key, error)
      || !lb_json_get_object (obj, NULL, "source", FALSE, &source, error)
      || !lb_json_get_object (obj, NULL, "video", FALSE, &video, error)
      || !lb_json_get_enum (obj, NULL, "encoder", encoder_preferences, &spec->encoder, error)
      || !lb_json_get_enum (obj, NULL, "encoder_sharing", sharing, &share, error)
      || !lb_json_get_bool (obj, NULL, "audio", FALSE, &spec->audio, error)
      || !lb_json_get_enum (obj, NULL, "moonlight_control", ml_control, &ml, error))
    return NULL;
  spec->share_encodes = share == 1;
  spec->moonlight_control = ml;

  if (source != NULL && !read_source (source, spec, error))
    return NULL;
  if (video != NULL
      && (!lb_json_check_members (video, "video", video_members, error)
          || !read_video (video, "video", &spec->width, &spec->height, &spec->fps, error)))
    return NULL;

  return g_steal_pointer (&spec);
}

JsonNode *
lb_lobby_spec_to_json (const LbLobbySpec *spec)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, spec->name);
  if (spec->session_key != NULL)
    {
      json_builder_set_member_name (b, "session_key");
      json_builder_add_string_value (b, spec->session_key);
    }
  json_builder_set_member_name (b, "source");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  if (spec->source_type == LB_SOURCE_X11_APP)
    {
      json_builder_add_string_value (b, "x11-app");
      json_builder_set_member_name (b, "app");
      json_builder_add_string_value (b, spec->app);
    }
  else
    {
      json_builder_add_string_value (b, "testsrc");
      json_builder_set_member_name (b, "pattern");
      json_builder_add_string_value (b, spec->pattern);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "video");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, spec->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, spec->height);
  json_builder_set_member_name (b, "fps");
  json_builder_add_int_value (b, spec->fps);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "encoder");
  json_builder_add_string_value (b, encoder_preferences[spec->encoder]);
  json_builder_set_member_name (b, "encoder_sharing");
  json_builder_add_string_value (b, spec->share_encodes ? "auto" : "off");
  json_builder_set_member_name (b, "audio");
  json_builder_add_boolean_value (b, spec->audio);
  json_builder_set_member_name (b, "moonlight_control");
  json_builder_add_string_value (
      b, (const char *const[]){ "default", "on", "off" }[spec->moonlight_control]);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

LbLobbySpec *
lb_lobby_spec_copy (const LbLobbySpec *spec)
{
  LbLobbySpec *copy = g_memdup2 (spec, sizeof *spec);
  copy->name = g_strdup (spec->name);
  copy->session_key = g_strdup (spec->session_key);
  copy->app = g_strdup (spec->app);
  return copy;
}

void
lb_lobby_spec_free (LbLobbySpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->name);
  g_free (spec->session_key);
  g_free (spec->app);
  g_free (spec);
}

static gboolean
read_profile (JsonObject *profile, LbProfile *out, GError **error)
{
  static const char *const members[] = { "codec", "width", "height", "fps", "bitrate_kbps", NULL };
  g_autofree char *codec = NULL;

  if (!lb_json_check_members (profile, "profile", members, error)
      || !read_video (profile, "profile", &out->width, &out->height, &out->fps, error)
      || !lb_json_get_uint (profile, "profile", "bitrate_kbps", FALSE, MIN_BITRATE, MAX_BITRATE,
                            &out->bitrate_kbps, error)
      || !lb_json_get_string (profile, "profile", "codec", FALSE, 16, &codec, error))
    return FALSE;
  if (codec != NULL && !g_str_equal (codec, "h264"))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "field 'profile.codec' must be one of: h264");
      return FALSE;
    }
  return TRUE;
}

static const char *const session_members[] = { "profile", "encoder", "require_hardware", NULL };

const char *const *
lb_session_spec_members (void)
{
  return session_members;
}

gboolean
lb_session_spec_read_json (JsonObject *obj, LbSessionSpec *spec, GError **error)
{
  JsonObject *profile = NULL;

  if (!lb_json_get_object (obj, NULL, "profile", FALSE, &profile, error)
      || !lb_json_get_enum (obj, NULL, "encoder", encoder_preferences, &spec->encoder, error)
      || !lb_json_get_bool (obj, NULL, "require_hardware", FALSE, &spec->require_hardware, error))
    return FALSE;
  return profile == NULL || read_profile (profile, &spec->profile, error);
}

JsonNode *
lb_session_spec_to_json (const LbSessionSpec *spec)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "transport");
  json_builder_add_string_value (b, spec->transport);
  if (spec->params != NULL)
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;
      json_object_iter_init_ordered (&iter, spec->params);
      while (json_object_iter_next_ordered (&iter, &name, &value))
        {
          json_builder_set_member_name (b, name);
          json_builder_add_value (b, json_node_copy (value));
        }
    }
  json_builder_set_member_name (b, "profile");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "codec");
  json_builder_add_string_value (b, lb_codec_name (spec->profile.codec));
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, spec->profile.width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, spec->profile.height);
  json_builder_set_member_name (b, "fps");
  json_builder_add_int_value (b, spec->profile.fps);
  json_builder_set_member_name (b, "bitrate_kbps");
  json_builder_add_int_value (b, spec->profile.bitrate_kbps);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "encoder");
  json_builder_add_string_value (b, encoder_preferences[spec->encoder]);
  json_builder_set_member_name (b, "require_hardware");
  json_builder_add_boolean_value (b, spec->require_hardware);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
lb_session_spec_free (LbSessionSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->transport);
  g_clear_pointer (&spec->params, json_object_unref);
  g_free (spec->offer);
  g_free (spec);
}
