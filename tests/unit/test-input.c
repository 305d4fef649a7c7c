/* Unit tests for typed input and tracks (issue 10, item 3): the browser's
 * input messages (web/viewer.js) parsed by the WebRTC output into
 * LbInputEvent, every kind of event, garbage rejected with an error; and
 * tracks: a producer's raw track per media kind, encodes opened on it, the
 * share key that carries the kind. */
#include "lb-config.h"
#include "lb-desktop.h"
#include "lb-encode.h"
#include "lb-encoder-backend.h"
#include "lb-error.h"
#include "lb-input-event.h"
#include "lb-input-json.h"
#include "lb-producer.h"
#include "lb-spec.h"
#include "lb-track.h"
#include "lb-xlib.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>
#include <sys/stat.h>

static LbInputEvent
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  LbInputEvent ev;
  memset (&ev, 0xab, sizeof ev);
  gboolean ok = lb_input_json_parse (text, 640, 480, &ev, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return ev;
}

static void
test_json_move (void)
{
  LbInputEvent ev = parse_ok ("{\"t\":\"move\",\"x\":0.5,\"y\":0.25}");
  g_assert_cmpint (ev.type, ==, LB_INPUT_MOTION);
  /* The desktop's old arithmetic: fraction * (size - 1), truncated. */
  g_assert_cmpuint (ev.motion.x, ==, 319);
  g_assert_cmpuint (ev.motion.y, ==, 119);
  g_assert_cmpuint (ev.motion.width, ==, 640);
  g_assert_cmpuint (ev.motion.height, ==, 480);

  /* Integers are numbers too; past the edges is clamped to them. */
  ev = parse_ok ("{\"t\":\"move\",\"x\":1,\"y\":0}");
  g_assert_cmpuint (ev.motion.x, ==, 639);
  g_assert_cmpuint (ev.motion.y, ==, 0);
  ev = parse_ok ("{\"t\":\"move\",\"x\":1.7,\"y\":-0.2}");
  g_assert_cmpuint (ev.motion.x, ==, 639);
  g_assert_cmpuint (ev.motion.y, ==, 0);
  /* Absent coordinates are 0; other members are ignored. */
  ev = parse_ok ("{\"t\":\"move\",\"y\":1,\"extra\":[1,{}]}");
  g_assert_cmpuint (ev.motion.x, ==, 0);
  g_assert_cmpuint (ev.motion.y, ==, 479);

  /* Same picture size as the screen: the stream's own pixel. */
  int x = -1, y = -1;
  ev = parse_ok ("{\"t\":\"move\",\"x\":0.5,\"y\":0.25}");
  lb_input_event_scale_motion (&ev, 640, 480, &x, &y);
  g_assert_cmpint (x, ==, 319);
  g_assert_cmpint (y, ==, 119);
  /* Another size: corners to corners. */
  ev = parse_ok ("{\"t\":\"move\",\"x\":1,\"y\":1}");
  lb_input_event_scale_motion (&ev, 1280, 720, &x, &y);
  g_assert_cmpint (x, ==, 1279);
  g_assert_cmpint (y, ==, 719);
  ev = parse_ok ("{\"t\":\"move\",\"x\":0,\"y\":0}");
  lb_input_event_scale_motion (&ev, 1280, 720, &x, &y);
  g_assert_cmpint (x, ==, 0);
  g_assert_cmpint (y, ==, 0);
}

static void
test_json_button (void)
{
  LbInputEvent ev = parse_ok ("{\"t\":\"down\",\"b\":3}");
  g_assert_cmpint (ev.type, ==, LB_INPUT_BUTTON);
  g_assert_cmpuint (ev.button.button, ==, 3);
  g_assert_true (ev.button.pressed);
  ev = parse_ok ("{\"t\":\"up\",\"b\":5}");
  g_assert_cmpuint (ev.button.button, ==, 5);
  g_assert_false (ev.button.pressed);
  /* No button: the left one. */
  ev = parse_ok ("{\"t\":\"down\"}");
  g_assert_cmpuint (ev.button.button, ==, 1);
  g_assert_true (ev.button.pressed);
}

static void
test_json_key (void)
{
  static const struct
  {
    const char *key;
    guint32 keysym;
  } keys[] = {
    { "a", 0x61 }, /* Latin letters and digits by their X names */
    { "Q", 0x51 },
    { "7", 0x37 },
    { "Enter", 0xff0d }, /* KeyboardEvent.key names that are not X names */
    { "Backspace", 0xff08 },
    { "Tab", 0xff09 },
    { "Escape", 0xff1b },
    { "ArrowLeft", 0xff51 },
    { "ArrowRight", 0xff53 },
    { "ArrowUp", 0xff52 },
    { "ArrowDown", 0xff54 },
    { "Shift", 0xffe1 },
    { "Control", 0xffe3 },
    { "Alt", 0xffe9 },
    { " ", 0x20 },
    { "Delete", 0xffff },
    { "Home", 0xff50 },
    { "End", 0xff57 },
    { "F1", 0xffbe }, /* X keysym names */
    { "Insert", 0xff63 },
    { "!", 0x1000021 },            /* other characters: Unicode keysyms */
    { "\xc3\xa9", 0x10000e9 },     /* é */
    { "\xe2\x82\xac", 0x10020ac }, /* € */
  };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"t\":\"key\",\"k\":\"%s\",\"down\":%s}",
                                               keys[i].key, i % 2 ? "false" : "true");
      LbInputEvent ev = parse_ok (text);
      g_assert_cmpint (ev.type, ==, LB_INPUT_KEY);
      g_assert_cmphex (ev.key.keysym, ==, keys[i].keysym);
      g_assert_cmpint (ev.key.pressed, ==, i % 2 == 0);
    }
  /* No "down": a press. */
  LbInputEvent ev = parse_ok ("{\"t\":\"key\",\"k\":\"a\"}");
  g_assert_true (ev.key.pressed);
  /* The longest name that fits. */
  ev = parse_ok ("{\"t\":\"key\",\"k\":\"XF86AudioRaiseVolume\"}");
  g_assert_cmphex (ev.key.keysym, ==, 0x1008ff13);
}

static void
test_json_garbage (void)
{
  g_autofree char *long_key
      = g_strdup_printf ("{\"t\":\"key\",\"k\":\"%s\"}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  g_autofree char *huge = g_strnfill (100000, '[');
  const struct
  {
    const char *text;
    LbErrorCode code;
  } bad[] = {
    { "", LB_ERROR_INVALID_JSON },
    { "not json", LB_ERROR_INVALID_JSON },
    { "{\"t\":\"move\"", LB_ERROR_INVALID_JSON },
    { "[1,2]", LB_ERROR_INVALID_JSON },
    { "\"move\"", LB_ERROR_INVALID_JSON },
    { "null", LB_ERROR_INVALID_JSON },
    { "{\"t\":\"move\"} {\"t\":\"move\"}", LB_ERROR_INVALID_JSON },
    { "{\"t\":\"move\",\"t\":\"key\"}", LB_ERROR_INVALID_JSON }, /* duplicate member */
    { "\xff\xfe{}", LB_ERROR_INVALID_JSON },
    { huge, LB_ERROR_INVALID_JSON },
    /* unknown or missing kinds */
    { "{}", LB_ERROR_MISSING_FIELD },
    { "{\"x\":0.5,\"y\":0.5}", LB_ERROR_MISSING_FIELD },
    { "{\"t\":\"teleport\"}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"MOVE\"}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"scroll\",\"dy\":1}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":7}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":null}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"\"}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"movemovemovemovemove\"}", LB_ERROR_OUT_OF_RANGE },
    /* wrong types */
    { "{\"t\":\"move\",\"x\":{},\"y\":0.5}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"move\",\"x\":\"0.5\",\"y\":0.5}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"move\",\"x\":0.5,\"y\":[1]}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"move\",\"x\":true}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"move\",\"x\":null}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"down\",\"b\":\"1\"}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"up\",\"b\":1.5}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"up\",\"b\":1.0}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"key\",\"k\":97}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"key\",\"k\":\"a\",\"down\":\"yes\"}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"key\",\"k\":\"a\",\"down\":1}", LB_ERROR_INVALID_FIELD },
    /* huge numbers */
    { "{\"t\":\"move\",\"x\":1e400,\"y\":0}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"move\",\"x\":-1e400,\"y\":0}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"move\",\"x\":1e300,\"y\":0}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"move\",\"x\":0,\"y\":99999999999999999999999}", LB_ERROR_INVALID_JSON },
    { "{\"t\":\"move\",\"x\":9223372036854775807,\"y\":0}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"down\",\"b\":99999999999999999999999}", LB_ERROR_INVALID_JSON },
    { "{\"t\":\"down\",\"b\":9223372036854775807}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"down\",\"b\":-1}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"down\",\"b\":0}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"down\",\"b\":6}", LB_ERROR_OUT_OF_RANGE },
    /* keys: over-long, empty, absent, control characters, no keysym */
    { long_key, LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"key\",\"k\":\"\"}", LB_ERROR_OUT_OF_RANGE },
    { "{\"t\":\"key\",\"down\":true}", LB_ERROR_MISSING_FIELD },
    { "{\"t\":\"key\",\"k\":\"\\u0000a\"}", LB_ERROR_INVALID_JSON },
    { "{\"t\":\"key\",\"k\":\"\\u0007\"}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"key\",\"k\":\"NoSuchKeyName\"}", LB_ERROR_INVALID_FIELD },
    { "{\"t\":\"key\",\"k\":\"Unidentified\"}", LB_ERROR_INVALID_FIELD },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      LbInputEvent ev, untouched;
      memset (&ev, 0x5a, sizeof ev);
      untouched = ev;
      if (lb_input_json_parse (bad[i].text, 640, 480, &ev, &error))
        g_error ("accepted: %.200s", bad[i].text);
      if (!g_error_matches (error, LB_ERROR, bad[i].code))
        g_error ("%.200s: expected %s, got %s", bad[i].text, lb_error_code_name (bad[i].code),
                 error ? error->message : "no error");
      g_assert_true (memcmp (&ev, &untouched, sizeof ev) == 0);
    }
}

static void
test_event_kinds (void)
{
  const struct
  {
    LbInputEvent ev;
    const char *text;
  } kinds[] = {
    { { .type = LB_INPUT_KEY, .key = { 0xff0d, TRUE } }, "key 0xff0d pressed" },
    { { .type = LB_INPUT_MOTION, .motion = { 10, 20, 640, 480 } }, "motion 10,20 of 640x480" },
    { { .type = LB_INPUT_MOTION_RELATIVE, .relative = { -3, 4 } }, "motion-relative -3,+4" },
    { { .type = LB_INPUT_BUTTON, .button = { 2, FALSE } }, "button 2 released" },
    { { .type = LB_INPUT_SCROLL, .scroll = { 0, -2 } }, "scroll +0,-2" },
    { { .type = LB_INPUT_TEXT, .text = { "h\xc3\xa9" } }, "text \"h\xc3\xa9\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *text = lb_input_event_to_string (&kinds[i].ev);
      g_assert_cmpstr (text, ==, kinds[i].text);
    }
  g_assert_cmpstr (lb_input_event_type_name (LB_INPUT_TEXT + 1), ==, "unknown");
  /* A text event is fixed-size plain data: the desktop's queue copies it. */
  g_assert_cmpuint (sizeof (LbInputEvent), <=, 64);
}

static void
test_share_key (void)
{
  LbProfile p = { LB_CODEC_H264, LB_H264_CONSTRAINED_BASELINE, 1280, 720, 30, 2400 };
  g_assert_cmpint (p.kind, ==, LB_MEDIA_VIDEO);
  g_autofree char *video = lb_profile_share_key (&p);
  g_assert_cmpstr (video, ==, "video/h264-cb/1280x720@30/2500");
  p.kind = LB_MEDIA_AUDIO;
  g_autofree char *audio = lb_profile_share_key (&p);
  g_assert_cmpstr (audio, !=, video);
  g_assert_true (g_str_has_prefix (audio, "audio/"));
  g_assert_cmpstr (lb_media_kind_name (LB_MEDIA_VIDEO), ==, "video");
  g_assert_cmpstr (lb_media_kind_name (LB_MEDIA_AUDIO), ==, "audio");
}

/* The software backend (x264enc). */
static const LbEncoderBackend *
x264 (void)
{
  guint n = 0;
  const LbEncoderBackend *const *all = lb_encoder_backends_get (&n);
  for (guint i = 0; i < n; i++)
    if (!all[i]->hardware)
      return all[i];
  return NULL;
}

/* A test-pattern producer exposes one raw video track; an encode opens on it
 * (not on the producer) and exposes its encoded track in the same pipeline. */
static void
test_tracks (void)
{
  g_autoptr (LbLobbySpec) spec = lb_lobby_spec_new_default ();
  spec->width = 160;
  spec->height = 120;
  spec->fps = 15;
  g_autoptr (GError) error = NULL;
  g_autoptr (LbProducer) producer
      = lb_producer_new ("t", spec, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  LbTrack *raw = lb_producer_get_track (producer, LB_MEDIA_VIDEO);
  g_assert_nonnull (raw);
  g_assert_cmpint (lb_track_get_kind (raw), ==, LB_MEDIA_VIDEO);
  g_assert_false (lb_track_is_encoded (raw));
  g_assert_cmpuint (lb_track_get_fps (raw), ==, 15);
  g_assert_null (lb_track_get_profile (raw));
  g_assert_true (lb_track_get_pipeline (raw) == lb_producer_get_pipeline (producer));
  /* Issue 12: and its raw audio (the tone) in the same pipeline, unless off. */
  LbTrack *audio = lb_producer_get_track (producer, LB_MEDIA_AUDIO);
  g_assert_nonnull (audio);
  g_assert_cmpint (lb_track_get_kind (audio), ==, LB_MEDIA_AUDIO);
  g_assert_false (lb_track_is_encoded (audio));
  g_assert_true (lb_track_get_pipeline (audio) == lb_producer_get_pipeline (producer));
  g_assert_null (lb_producer_get_audio_error (producer));
  {
    g_autoptr (LbLobbySpec) quiet = lb_lobby_spec_copy (spec);
    quiet->audio = FALSE;
    g_autoptr (LbProducer) silent
        = lb_producer_new ("q", quiet, NULL, NULL, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_null (lb_producer_get_track (silent, LB_MEDIA_AUDIO));
  }

  g_autoptr (LbConfig) config = lb_config_new_default ();
  const LbEncoderBackend *backend = x264 ();
  g_autoptr (GstElementFactory) factory = gst_element_factory_find ("x264enc");
  if (backend == NULL || factory == NULL)
    {
      g_test_skip ("no x264enc");
      return;
    }
  const LbEncoderSettings settings = { backend, "x264enc", -1, 1000, config };
  LbProfile profile = { LB_CODEC_H264, LB_H264_ANY, 160, 120, 15, 300 };

  /* An audio profile cannot be encoded from the video track. */
  profile.kind = LB_MEDIA_AUDIO;
  g_assert_null (lb_encode_new (raw, "enc-audio", &profile, &settings, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_MEDIA);
  g_clear_error (&error);
  profile.kind = LB_MEDIA_VIDEO;
  /* The raw track's frame rate is the limit. */
  profile.fps = 30;
  g_assert_null (lb_encode_new (raw, "enc-fast", &profile, &settings, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_OUT_OF_RANGE);
  g_clear_error (&error);
  profile.fps = 15;

  g_autoptr (LbEncode) encode = lb_encode_new (raw, "enc-1", &profile, &settings, &error);
  g_assert_no_error (error);
  LbTrack *encoded = lb_encode_get_track (encode);
  g_assert_true (lb_track_is_encoded (encoded));
  g_assert_cmpint (lb_track_get_kind (encoded), ==, LB_MEDIA_VIDEO);
  g_assert_true (lb_track_get_pipeline (encoded) == lb_track_get_pipeline (raw));
  g_assert_cmpuint (lb_track_get_profile (encoded)->width, ==, 160);
  g_assert_cmpuint (lb_track_get_fps (encoded), ==, 15);
  g_assert_true (lb_track_get_tee (encoded) != lb_track_get_tee (raw));
  lb_encode_request_key_frame (encode);

  /* An encode of an encoded track makes no sense. */
  g_assert_null (lb_encode_new (encoded, "enc-2", &profile, &settings, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_MEDIA);
}

static gboolean
log_has (const char *path, const char *needle)
{
  g_autofree char *text = NULL;
  return g_file_get_contents (path, &text, NULL, NULL) && strstr (text, needle) != NULL;
}

/* Spins the main loop until @path holds @needle (at most 10 s). */
static gboolean
wait_for_log (const char *path, const char *needle)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!log_has (path, needle) && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20000);
    }
  return log_has (path, needle);
}

static void
on_desktop_exit (const char *message, gpointer user_data)
{
  g_error ("the desktop exited: %s", message);
}

/* Every kind of event, injected by a real desktop (Xvfb + xev) with XTest. */
static void
test_desktop_every_kind (void)
{
  g_autofree char *xvfb = g_find_program_in_path ("Xvfb");
  g_autofree char *xev = g_find_program_in_path ("xev");
  if (xvfb == NULL || xev == NULL)
    {
      g_test_skip ("Xvfb and xev are needed");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("lb-input-XXXXXX", NULL);
  g_autofree char *log = g_build_filename (dir, "xev.log", NULL);
  g_assert_true (g_file_set_contents (log, "", 0, NULL));
  /* The app runs as [apps] user when we are root: let it write its log. */
  g_chmod (dir, 0711);
  g_chmod (log, 0666);
  g_autofree char *cmd = g_strdup_printf ("exec xev -geometry 640x480+0+0 > %s", log);
  const char *argv[] = { "sh", "-c", cmd, NULL };
  g_autoptr (LbConfig) config = lb_config_new_default ();
  g_autoptr (GError) error = NULL;
  LbDesktop *desktop = lb_desktop_start (640, 480, argv, config->apps_user, config->apps_allow_root,
                                         FALSE, NULL, 0, on_desktop_exit, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_for_log (log, "MapNotify"));

  const struct
  {
    LbInputEvent ev;
    const char *seen; /* in xev's log */
  } events[] = {
    /* The stream's own size: its pixel. */
    { { .type = LB_INPUT_MOTION, .motion = { 320, 240, 640, 480 } }, "root:(320,240)" },
    /* Another size: scaled to the screen. */
    { { .type = LB_INPUT_MOTION, .motion = { 319, 0, 320, 240 } }, "root:(639,0)" },
    { { .type = LB_INPUT_MOTION, .motion = { 100, 100, 640, 480 } }, "root:(100,100)" },
    { { .type = LB_INPUT_MOTION_RELATIVE, .relative = { 10, -5 } }, "root:(110,95)" },
    { { .type = LB_INPUT_BUTTON, .button = { 3, TRUE } }, "button 3," },
    { { .type = LB_INPUT_BUTTON, .button = { 3, FALSE } }, "ButtonRelease event" },
    { { .type = LB_INPUT_SCROLL, .scroll = { 0, 1 } }, "button 5," },
    { { .type = LB_INPUT_SCROLL, .scroll = { 0, -1 } }, "button 4," },
    { { .type = LB_INPUT_KEY, .key = { 0x71, TRUE } }, "keysym 0x71, q" },
    { { .type = LB_INPUT_KEY, .key = { 0x71, FALSE } }, "KeyRelease event" },
    /* Shifted where the keymap says so. */
    { { .type = LB_INPUT_TEXT, .text = { "Hi!" } }, "keysym 0x21, exclam" },
    /* What X would refuse is dropped, the desktop goes on. */
    { { .type = LB_INPUT_BUTTON, .button = { 99, TRUE } }, NULL },
    { { .type = LB_INPUT_SCROLL, .scroll = { 0, G_MININT } }, NULL },
    { { .type = LB_INPUT_KEY, .key = { 0x7a, TRUE } }, "keysym 0x7a, z" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    {
      lb_desktop_input (desktop, &events[i].ev);
      if (events[i].seen != NULL && !wait_for_log (log, events[i].seen))
        {
          g_autofree char *text = lb_input_event_to_string (&events[i].ev);
          g_autofree char *got = NULL;
          g_file_get_contents (log, &got, NULL, NULL);
          g_error ("%s: no '%s' from xev:\n%s", text, events[i].seen, got);
        }
    }
  g_assert_true (log_has (log, "keysym 0x48, H"));
  g_assert_true (log_has (log, "keysym 0x69, i"));

  lb_desktop_stop (desktop);
  lb_desktop_wait_all ();
  g_unlink (log);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  lb_xlib_init (); /* as lobbyd: a killed X server does not end the process */
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/input/json/move", test_json_move);
  g_test_add_func ("/input/json/button", test_json_button);
  g_test_add_func ("/input/json/key", test_json_key);
  g_test_add_func ("/input/json/garbage", test_json_garbage);
  g_test_add_func ("/input/event/kinds", test_event_kinds);
  g_test_add_func ("/input/desktop/every-kind-reaches-x", test_desktop_every_kind);
  g_test_add_func ("/track/share-key", test_share_key);
  g_test_add_func ("/track/producer-and-encode", test_tracks);
  return g_test_run ();
}
