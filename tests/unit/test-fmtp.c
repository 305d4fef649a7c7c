/* Unit tests for lb-h264-fmtp (issue 11, interop): RFC 6184 fmtp lines in
 * any order, case and spacing, missing parameters at their defaults,
 * profile-level-id read as profile + level, and the choice of the payload
 * type lobbyd sends constrained-baseline H.264 on — refusals with
 * invalid_sdp when no offered format fits. */
#include "lb-error.h"
#include "lb-h264-fmtp.h"

#include <string.h>

static LbH264Fmtp
parse_ok (const char *params)
{
  g_autoptr (GError) error = NULL;
  LbH264Fmtp f;
  gboolean ok = lb_h264_fmtp_parse (params, &f, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return f;
}

static void
parse_fails (const char *params)
{
  g_autoptr (GError) error = NULL;
  LbH264Fmtp f;
  g_assert_false (lb_h264_fmtp_parse (params, &f, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_SDP);
}

static void
test_parse_orders_and_spacing (void)
{
  static const char *same[] = {
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", /* chromium */
    "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1", /* firefox */
    "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1",
    "packetization-mode=1; profile-level-id=42E01F; level-asymmetry-allowed=1",
    " Profile-Level-Id = 42e01f ;PACKETIZATION-MODE=1;\tlevel-asymmetry-allowed=1;",
    "sprop-parameter-sets=Z0LAH9oBQBbpUgAAAwACAAADAGQeMGVA,aM48gA==;packetization-mode=1;"
    "max-fs=3600;profile-level-id=42e01f;level-asymmetry-allowed=1;max-mbps=108000",
    "packetization-mode=1;;profile-level-id=42e01f;level-asymmetry-allowed=1;x-google-flag",
  };
  for (guint i = 0; i < G_N_ELEMENTS (same); i++)
    {
      LbH264Fmtp f = parse_ok (same[i]);
      g_assert_cmphex (f.profile_idc, ==, 0x42);
      g_assert_cmphex (f.profile_iop, ==, 0xe0);
      g_assert_cmpuint (f.level_idc, ==, 31);
      g_assert_cmpuint (f.packetization_mode, ==, 1);
      g_assert_true (f.level_asymmetry_allowed);
      g_assert_cmpint (lb_h264_fmtp_profile_class (&f), ==, LB_H264_PROFILE_CONSTRAINED_BASELINE);
    }
}

static void
test_parse_defaults (void)
{
  /* RFC 6184 §8.1: no profile-level-id = baseline level 1.0; no
   * packetization-mode = 0; no level-asymmetry-allowed = 0. */
  const char *absent[] = { NULL, "", "  ", "max-fs=8160", "packetization-mode=1" };
  for (guint i = 0; i < G_N_ELEMENTS (absent); i++)
    {
      LbH264Fmtp f = parse_ok (absent[i]);
      g_assert_cmphex (f.profile_idc, ==, 0x42);
      g_assert_cmphex (f.profile_iop, ==, 0x00);
      g_assert_cmpuint (f.level_idc, ==, 10);
      g_assert_cmpuint (f.packetization_mode, ==, i == 4 ? 1 : 0);
      g_assert_false (f.level_asymmetry_allowed);
      g_assert_cmpint (lb_h264_fmtp_profile_class (&f), ==, LB_H264_PROFILE_BASELINE);
    }
}

static void
test_parse_errors (void)
{
  parse_fails ("profile-level-id=42e01");   /* five digits */
  parse_fails ("profile-level-id=42e01f0"); /* seven */
  parse_fails ("profile-level-id=42g01f");  /* not hex */
  parse_fails ("profile-level-id=");        /* empty */
  parse_fails ("packetization-mode=3");     /* RFC 6184 has 0, 1, 2 */
  parse_fails ("packetization-mode=01");
  parse_fails ("packetization-mode=yes");
  parse_fails ("level-asymmetry-allowed=2");
  parse_fails ("profile-level-id=42e01f;profile-level-id=640c1f"); /* which one? */
  parse_fails ("packetization-mode=1;PACKETIZATION-MODE=0");
}

static void
test_profile_classes (void)
{
  static const struct
  {
    const char *plid;
    LbH264ProfileClass expected;
  } cases[] = {
    { "42e01f", LB_H264_PROFILE_CONSTRAINED_BASELINE }, /* chromium, firefox */
    { "42c01f", LB_H264_PROFILE_CONSTRAINED_BASELINE }, /* safari */
    { "42401f", LB_H264_PROFILE_CONSTRAINED_BASELINE },
    { "4de01f", LB_H264_PROFILE_CONSTRAINED_BASELINE }, /* main + constraint_set0 */
    { "58c01f", LB_H264_PROFILE_CONSTRAINED_BASELINE }, /* extended + set0 + set1 */
    { "42001f", LB_H264_PROFILE_BASELINE },
    { "42801f", LB_H264_PROFILE_BASELINE },
    { "4d001f", LB_H264_PROFILE_MAIN },
    { "4d401f", LB_H264_PROFILE_MAIN },
    { "64001f", LB_H264_PROFILE_UNUSABLE }, /* high */
    { "640c1f", LB_H264_PROFILE_UNUSABLE }, /* constrained high */
    { "f4001f", LB_H264_PROFILE_UNUSABLE }, /* high 4:4:4 */
    { "58801f", LB_H264_PROFILE_UNUSABLE }, /* extended */
    { "42e81f", LB_H264_PROFILE_UNUSABLE }, /* reserved bits set */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *params = g_strdup_printf ("profile-level-id=%s", cases[i].plid);
      LbH264Fmtp f = parse_ok (params);
      g_assert_cmpint (lb_h264_fmtp_profile_class (&f), ==, cases[i].expected);
    }
}

static void
test_levels (void)
{
  g_assert_cmpuint (lb_h264_level_for (1280, 720, 30), ==, 31);
  g_assert_cmpuint (lb_h264_level_for (1920, 1080, 30), ==, 40);
  g_assert_cmpuint (lb_h264_level_for (1920, 1080, 60), ==, 42);
  g_assert_cmpuint (lb_h264_level_for (640, 360, 30), ==, 30);
  g_assert_cmpuint (lb_h264_level_for (320, 240, 30), ==, 13);
  g_assert_cmpuint (lb_h264_level_for (176, 144, 15), ==, 10);
  g_assert_cmpuint (lb_h264_level_for (7680, 4320, 60), ==, 0);
  /* Level 1b, both spellings, sorts between 1.0 and 1.1. */
  LbH264Fmtp a = parse_ok ("profile-level-id=42f00b"), b = parse_ok ("profile-level-id=420009"),
             c = parse_ok ("profile-level-id=42000a"), d = parse_ok ("profile-level-id=42e00b");
  g_assert_cmpuint (lb_h264_fmtp_level_order (&a), ==, lb_h264_fmtp_level_order (&b));
  g_assert_cmpuint (lb_h264_fmtp_level_order (&c), <, lb_h264_fmtp_level_order (&a));
  g_assert_cmpuint (lb_h264_fmtp_level_order (&a), <, lb_h264_fmtp_level_order (&d));
}

static int
choose (const LbH264Offered *o, guint n, guint level, GError **error)
{
  return lb_h264_fmtp_choose (o, n, level, error);
}

static void
refused (const LbH264Offered *o, guint n)
{
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (choose (o, n, 31, &error), ==, -1);
  g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_SDP);
  g_assert_nonnull (strstr (error->message, "packetization-mode=1"));
}

static void
test_choose_browsers (void)
{
  g_autoptr (GError) error = NULL;
  /* Chromium 120's video m-line, H.264 part (plus VP8 and rtx around it). */
  LbH264Offered chromium[] = {
    { 96, "VP8/90000", NULL },
    { 97, "rtx/90000", "apt=96" },
    { 102, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f" },
    { 103, "rtx/90000", "apt=102" },
    { 104, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f" },
    { 106, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" },
    { 108, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f" },
    { 112, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f" },
    { 127, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f" },
  };
  /* Constrained baseline beats baseline, which comes first. */
  g_assert_cmpint (choose (chromium, G_N_ELEMENTS (chromium), 31, &error), ==, 106);
  g_assert_no_error (error);
  /* Firefox: pm=1 and pm=0, the same profile. */
  LbH264Offered firefox[] = {
    { 120, "VP8/90000", "max-fs=12288;max-fr=60" },
    { 97, "H264/90000", "profile-level-id=42e01f;level-asymmetry-allowed=1" },
    { 126, "H264/90000", "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1" },
  };
  g_assert_cmpint (choose (firefox, G_N_ELEMENTS (firefox), 31, &error), ==, 126);
  /* GStreamer webrtcbin: no level-asymmetry-allowed, lower-case h264. */
  LbH264Offered webrtcbin[] = {
    { 96, "h264/90000", "packetization-mode=1;profile-level-id=42e01f" },
  };
  g_assert_cmpint (choose (webrtcbin, 1, 31, &error), ==, 96);
  /* Safari's constrained baseline 42c0. */
  LbH264Offered safari[] = {
    { 98, "H264/90000", "packetization-mode=1;profile-level-id=640c1f" },
    { 100, "H264/90000", "packetization-mode=1;profile-level-id=42e01f" },
  };
  g_assert_cmpint (choose (safari, 2, 31, &error), ==, 100);
  g_assert_no_error (error);
}

static void
test_choose_ranking (void)
{
  g_autoptr (GError) error = NULL;
  /* A level that covers the stream beats a better profile that does not. */
  LbH264Offered lvl[] = {
    { 96, "H264/90000", "packetization-mode=1;profile-level-id=42e00d" },
    { 97, "H264/90000", "packetization-mode=1;profile-level-id=42001f" },
  };
  g_assert_cmpint (choose (lvl, 2, 31, &error), ==, 97);
  /* No level asked for: profile decides. */
  g_assert_cmpint (choose (lvl, 2, 0, &error), ==, 96);
  /* A low level alone is still taken (browsers decode above it). */
  g_assert_cmpint (choose (lvl, 1, 40, &error), ==, 96);
  /* Same profile and level: asymmetry allowed wins, else the offerer's order. */
  LbH264Offered asym[] = {
    { 100, "H264/90000", "packetization-mode=1;profile-level-id=42e01f" },
    { 101, "H264/90000", "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1" },
    { 102, "H264/90000", "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1" },
  };
  g_assert_cmpint (choose (asym, 3, 31, &error), ==, 101);
  g_assert_cmpint (choose (asym, 1, 31, &error), ==, 100);
  /* Main only: a main decoder decodes constrained baseline. */
  LbH264Offered main_only[]
      = { { 109, "H264/90000", "profile-level-id=4d0032;packetization-mode=1" } };
  g_assert_cmpint (choose (main_only, 1, 31, &error), ==, 109);
  /* A malformed format is skipped, a good one after it is taken. */
  LbH264Offered bad_then_good[] = {
    { 96, "H264/90000", "packetization-mode=1;profile-level-id=zzzzzz" },
    { 98, "H264/90000", "packetization-mode=1;profile-level-id=42e01f" },
  };
  g_assert_cmpint (choose (bad_then_good, 2, 31, &error), ==, 98);
  g_assert_no_error (error);
}

static void
test_choose_refusals (void)
{
  LbH264Offered mode0[] = {
    { 97, "H264/90000", "profile-level-id=42e01f;level-asymmetry-allowed=1" },
    { 98, "H264/90000", "profile-level-id=42e01f;packetization-mode=0" },
  };
  refused (mode0, 2);
  LbH264Offered no_fmtp[] = { { 96, "H264/90000", NULL } }; /* pm 0 by default */
  refused (no_fmtp, 1);
  LbH264Offered high[] = {
    { 96, "H264/90000", "profile-level-id=64001f;packetization-mode=1" },
    { 97, "H264/90000", "profile-level-id=640c1f;packetization-mode=1" },
  };
  refused (high, 2);
  LbH264Offered vp8[] = { { 96, "VP8/90000", NULL }, { 98, "VP9/90000", "profile-id=0" } };
  refused (vp8, 2);
  LbH264Offered static_pt[] = { { 34, "H264/90000", "packetization-mode=1" } }; /* not dynamic */
  refused (static_pt, 1);
  LbH264Offered wrong_clock[] = { { 96, "H264/48000", "packetization-mode=1" } };
  refused (wrong_clock, 1);
  LbH264Offered no_rtpmap[] = { { 96, NULL, "packetization-mode=1;profile-level-id=42e01f" } };
  refused (no_rtpmap, 1);
  LbH264Offered malformed[]
      = { { 96, "H264/90000", "packetization-mode=1;profile-level-id=42e0" } };
  refused (malformed, 1);
  refused (NULL, 0);
  /* The refusal says what was offered. */
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (choose (high, 2, 31, &error), ==, -1);
  g_assert_nonnull (strstr (error->message, "64001f"));
}

/* Newer Chromium offers some H.264 formats on 35-63, the dynamic range
 * RFC 5761 §4 leaves next to 96-127 under rtcp-mux; 64-95 are not dynamic
 * (RTCP packet types 200-204 read as 72-76 with the marker bit). */
static void
test_choose_low_dynamic_range (void)
{
  g_autoptr (GError) error = NULL;
  LbH264Offered low_only[] = {
    { 35, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f" },
    { 36, "rtx/90000", "apt=35" },
    { 45, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" },
    { 63, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f" },
  };
  g_assert_cmpint (choose (low_only, G_N_ELEMENTS (low_only), 31, &error), ==, 45);
  g_assert_no_error (error);
  g_assert_cmpint (choose (low_only, 1, 31, &error), ==, 35);
  g_assert_cmpint (choose (&low_only[3], 1, 31, &error), ==, 63);
  /* Both ranges: the ranking decides, not the number. */
  LbH264Offered both[] = {
    { 102, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f" },
    { 39, "H264/90000", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" },
  };
  g_assert_cmpint (choose (both, 2, 31, &error), ==, 39);
  g_assert_no_error (error);
  /* 64-95 collide with RTCP under rtcp-mux; 0-34 are static. */
  static const int not_dynamic[] = { 0, 26, 34, 64, 72, 76, 95, 128 };
  for (guint i = 0; i < G_N_ELEMENTS (not_dynamic); i++)
    {
      LbH264Offered o[]
          = { { not_dynamic[i], "H264/90000", "packetization-mode=1;profile-level-id=42e01f" } };
      refused (o, 1);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fmtp/parse/orders-and-spacing", test_parse_orders_and_spacing);
  g_test_add_func ("/fmtp/parse/defaults", test_parse_defaults);
  g_test_add_func ("/fmtp/parse/errors", test_parse_errors);
  g_test_add_func ("/fmtp/profile-classes", test_profile_classes);
  g_test_add_func ("/fmtp/levels", test_levels);
  g_test_add_func ("/fmtp/choose/browsers", test_choose_browsers);
  g_test_add_func ("/fmtp/choose/ranking", test_choose_ranking);
  g_test_add_func ("/fmtp/choose/refusals", test_choose_refusals);
  g_test_add_func ("/fmtp/choose/low-dynamic-range", test_choose_low_dynamic_range);
  return g_test_run ();
}
