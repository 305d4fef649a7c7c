/* lb-spec.h — what a caller asks for: a lobby and a session, validated.
 *
 * Plain data. The same parser reads API requests and the rows that the store
 * kept, so a restart re-validates everything it restores. Patterns and codecs
 * are enumerations: request text never reaches a pipeline description. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

#define LB_NAME_MAX 128
#define LB_SESSION_KEY_MAX 256

typedef enum
{
  LB_SOURCE_TESTSRC,
  LB_SOURCE_X11_APP, /* Xvfb + an app from the config's [apps] catalogue */
} LbSourceType;

typedef enum
{
  LB_CODEC_H264,
  LB_CODEC_OPUS, /* audio: 48 kHz stereo, one encode per lobby (issue 12) */
} LbCodec;

typedef enum
{
  LB_H264_ANY,                  /* the encoder's choice (x264: High) */
  LB_H264_CONSTRAINED_BASELINE, /* what browsers decode (profile-level-id 42e01f) */
} LbH264Profile;

/* "moonlight_control": whether paired Moonlight clients of a lobby control
 * its desktop ("default": [moonlight] default_control). */
typedef enum
{
  LB_MOONLIGHT_CONTROL_DEFAULT,
  LB_MOONLIGHT_CONTROL_ON,
  LB_MOONLIGHT_CONTROL_OFF,
} LbMoonlightControl;

struct _LbLobbySpec
{
  char *name;
  char *session_key; /* nullable */
  LbSourceType source_type;
  const char *pattern; /* testsrc: one of lb_spec_patterns(), static */
  char *app;           /* x11-app: a catalogue name (checked against the config by the registry) */
  guint width, height, fps;
  LbEncoderPreference encoder; /* default for its sessions */
  gboolean share_encodes;      /* encoder_sharing: auto (TRUE) | off (one encode per session) */
  gboolean audio;              /* "audio": the lobby has sound (default TRUE) */
  LbMoonlightControl moonlight_control; /* may Moonlight clients send input */
};

struct _LbProfile
{
  LbCodec codec;
  LbH264Profile h264_profile; /* part of the share key */
  guint width, height, fps;
  guint bitrate_kbps;
  /* Which of the lobby's raw tracks is encoded. Last, so that positional
   * initializers (and g_new0) leave it LB_MEDIA_VIDEO, the only kind that
   * requests make today; not part of the JSON. */
  LbMediaKind kind;
};

/* The transport is a name that the outputs layer validates and reads
 * (lb_output_spec_from_json): this module never names one. */
struct _LbSessionSpec
{
  char *transport;    /* a registered output class's name (lb_output_class_lookup) */
  JsonObject *params; /* the transport's own request members as its class read them
                       * (e.g. "destination"), listed and stored with the spec; NULL: none */
  LbProfile profile;
  LbEncoderPreference encoder; /* defaults to the lobby's */
  gboolean require_hardware;   /* refuse rather than fall back to software */
  char *offer;      /* negotiated transports: what the viewer offered (never stored or listed) */
  gboolean control; /* outputs that carry input: keyboard/mouse reach the lobby's desktop */
};

/* The test patterns a lobby may use (NULL-terminated, static). */
const char *const *lb_spec_patterns (void);

LbLobbySpec *lb_lobby_spec_new_default (void);
LbLobbySpec *lb_lobby_spec_from_json (JsonObject *obj, GError **error);
JsonNode *lb_lobby_spec_to_json (const LbLobbySpec *spec);
LbLobbySpec *lb_lobby_spec_copy (const LbLobbySpec *spec);
void lb_lobby_spec_free (LbLobbySpec *spec);

/* A session of @lobby over @transport (not checked here): its video, H.264
 * at 4000 kbps, the lobby's encoder preference, no params. */
LbSessionSpec *lb_session_spec_new (const LbLobbySpec *lobby, const char *transport);
/* The request members every transport has besides "transport" (NULL-terminated). */
const char *const *lb_session_spec_members (void);
/* Reads those members of a request ("profile", "encoder",
 * "require_hardware") into @spec; the caller checks the member names. */
gboolean lb_session_spec_read_json (JsonObject *obj, LbSessionSpec *spec, GError **error);
/* {"transport", ...params members, "profile", "encoder", "require_hardware"}:
 * what listings show and the store keeps. */
JsonNode *lb_session_spec_to_json (const LbSessionSpec *spec);
void lb_session_spec_free (LbSessionSpec *spec);

const char *lb_codec_name (LbCodec codec);
const char *lb_encoder_preference_name (LbEncoderPreference preference);

/* The bitrate an encode for @kbps runs at when encodes are shared: the
 * smallest tier >= @kbps (250, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000,
 * 5000, 6000, 8000, 10000, 12000, 16000, 20000, 25000, 32000, 40000, 50000),
 * or @kbps itself above the last. Viewers in one tier share one encode. */
guint lb_bitrate_tier (guint kbps);
/* "video/h264/1280x720@30/4000" (constrained baseline: "video/h264-cb/…"):
 * sessions of a lobby with equal keys can share an encode. */
char *lb_profile_share_key (const LbProfile *profile);
/* width × height × fps: what a software pool's budget is counted in. */
guint64 lb_profile_pixel_rate (const LbProfile *profile);
/* "video" | "audio". */
const char *lb_media_kind_name (LbMediaKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbLobbySpec, lb_lobby_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbSessionSpec, lb_session_spec_free)

G_END_DECLS
