/* lb-h264-fmtp.c — RFC 6184 fmtp parsing and the choice of the H.264
 * payload type to send on. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-h264-fmtp.h"
#include "lb-error.h"

#include <string.h>

/* RFC 6184 §8.1: absent profile-level-id means Baseline, level 1.0. */
#define DEFAULT_PROFILE_IDC 0x42
#define DEFAULT_LEVEL_IDC 10

static gboolean
parse_hex6 (const char *v, LbH264Fmtp *fmtp)
{
  if (strlen (v) != 6 || strspn (v, "0123456789abcdefABCDEF") != 6)
    return FALSE;
  guint64 x = g_ascii_strtoull (v, NULL, 16);
  fmtp->profile_idc = (x >> 16) & 0xff;
  fmtp->profile_iop = (x >> 8) & 0xff;
  fmtp->level_idc = x & 0xff;
  return TRUE;
}

gboolean
lb_h264_fmtp_parse (const char *params, LbH264Fmtp *fmtp, GError **error)
{
  gboolean seen_plid = FALSE, seen_mode = FALSE, seen_asym = FALSE;

  *fmtp = (LbH264Fmtp){ .profile_idc = DEFAULT_PROFILE_IDC, .level_idc = DEFAULT_LEVEL_IDC };
  if (params == NULL)
    return TRUE;
  g_auto (GStrv) parts = g_strsplit (params, ";", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);
      char *eq = strchr (part, '=');
      if (*part == '\0' || eq == NULL)
        continue; /* "a;;b", a trailing ";", or a flag we do not know */
      *eq = '\0';
      const char *key = g_strstrip (part);
      const char *value = g_strstrip (eq + 1);
      gboolean *seen = NULL, ok = TRUE;

      /* Media type parameter names are case-insensitive (RFC 6838). */
      if (g_ascii_strcasecmp (key, "profile-level-id") == 0)
        seen = &seen_plid, ok = parse_hex6 (value, fmtp);
      else if (g_ascii_strcasecmp (key, "packetization-mode") == 0)
        {
          seen = &seen_mode;
          ok = strlen (value) == 1 && value[0] >= '0' && value[0] <= '2';
          fmtp->packetization_mode = ok ? (guint)(value[0] - '0') : 0;
        }
      else if (g_ascii_strcasecmp (key, "level-asymmetry-allowed") == 0)
        {
          seen = &seen_asym;
          ok = g_str_equal (value, "0") || g_str_equal (value, "1");
          fmtp->level_asymmetry_allowed = ok && value[0] == '1';
        }
      else
        continue;
      if (!ok || *seen)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_INVALID_SDP, "H.264 fmtp: %s %s=%s",
                       *seen ? "repeated" : "invalid", key, value);
          return FALSE;
        }
      *seen = TRUE;
    }
  return TRUE;
}

/* RFC 6184 Table 5 (profile_idc, then constraint flags; the low four bits
 * must be 0 in every row we accept). */
LbH264ProfileClass
lb_h264_fmtp_profile_class (const LbH264Fmtp *fmtp)
{
  guint8 iop = fmtp->profile_iop;
  gboolean set0 = (iop & 0x80) != 0, set1 = (iop & 0x40) != 0;

  if ((iop & 0x0f) != 0)
    return LB_H264_PROFILE_UNUSABLE;
  switch (fmtp->profile_idc)
    {
    case 0x42:
      return set1 ? LB_H264_PROFILE_CONSTRAINED_BASELINE : LB_H264_PROFILE_BASELINE;
    case 0x4d:
      return set0 ? LB_H264_PROFILE_CONSTRAINED_BASELINE : LB_H264_PROFILE_MAIN;
    case 0x58:
      return set0 && set1 ? LB_H264_PROFILE_CONSTRAINED_BASELINE : LB_H264_PROFILE_UNUSABLE;
    default:
      return LB_H264_PROFILE_UNUSABLE;
    }
}

guint
lb_h264_fmtp_level_order (const LbH264Fmtp *fmtp)
{
  gboolean one_b_profile
      = fmtp->profile_idc == 0x42 || fmtp->profile_idc == 0x4d || fmtp->profile_idc == 0x58;
  if (fmtp->level_idc == 9
      || (fmtp->level_idc == 11 && one_b_profile && (fmtp->profile_iop & 0x10)))
    return 21;
  return fmtp->level_idc * 2u;
}

/* H.264 Table A-1: level_idc, MaxMBPS (macroblocks/s), MaxFS (macroblocks). */
static const struct
{
  guint level_idc, max_mbps, max_fs;
} levels[] = {
  { 10, 1485, 99 },     { 11, 3000, 396 },     { 12, 6000, 396 },     { 13, 11880, 396 },
  { 20, 11880, 396 },   { 21, 19800, 792 },    { 22, 20250, 1620 },   { 30, 40500, 1620 },
  { 31, 108000, 3600 }, { 32, 216000, 5120 },  { 40, 245760, 8192 },  { 41, 245760, 8192 },
  { 42, 522240, 8704 }, { 50, 589824, 22080 }, { 51, 983040, 36864 }, { 52, 2073600, 36864 },
};

guint
lb_h264_level_for (guint width, guint height, guint fps)
{
  guint64 fs = (guint64)((width + 15) / 16) * ((height + 15) / 16);
  guint64 mbps = fs * fps;
  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (fs <= levels[i].max_fs && mbps <= levels[i].max_mbps)
      return levels[i].level_idc;
  return 0;
}

/* "H264/90000" (an optional "/channels" is not H.264's). */
static gboolean
is_h264_rtpmap (const char *rtpmap)
{
  if (rtpmap == NULL)
    return FALSE;
  g_autofree char *v = g_strstrip (g_strdup (rtpmap));
  return g_ascii_strcasecmp (v, "H264/90000") == 0;
}

static const char *
profile_name (LbH264ProfileClass c)
{
  switch (c)
    {
    case LB_H264_PROFILE_CONSTRAINED_BASELINE:
      return "constrained-baseline";
    case LB_H264_PROFILE_BASELINE:
      return "baseline";
    case LB_H264_PROFILE_MAIN:
      return "main";
    default:
      return "a profile we cannot send (not constrained-baseline, baseline or main)";
    }
}

gboolean
lb_rtp_payload_type_is_dynamic (int pt)
{
  return (pt >= 35 && pt <= 63) || (pt >= 96 && pt <= 127);
}

int
lb_h264_fmtp_choose (const LbH264Offered *offered, guint n_offered, guint level_idc, GError **error)
{
  int best = -1, best_score = -1;
  g_autoptr (GString) seen = g_string_new (NULL);
  LbH264Fmtp need = { .profile_idc = DEFAULT_PROFILE_IDC, .level_idc = level_idc };
  guint need_order = level_idc ? lb_h264_fmtp_level_order (&need) : 0;

  for (guint i = 0; i < n_offered; i++)
    {
      const LbH264Offered *o = &offered[i];
      g_autoptr (GError) local_error = NULL;
      LbH264Fmtp fmtp;

      if (!lb_rtp_payload_type_is_dynamic (o->pt) || !is_h264_rtpmap (o->rtpmap))
        continue;
      if (seen->len < 400)
        g_string_append_printf (seen, "%s%d", seen->len ? "; " : "", o->pt);
      if (!lb_h264_fmtp_parse (o->fmtp, &fmtp, &local_error))
        {
          g_string_append_printf (seen, ": %s", local_error->message);
          continue;
        }
      LbH264ProfileClass c = lb_h264_fmtp_profile_class (&fmtp);
      if (c == LB_H264_PROFILE_UNUSABLE || fmtp.packetization_mode != 1)
        {
          if (seen->len < 400)
            g_string_append_printf (seen, " (%02x%02x%02x: %s, packetization-mode=%u)",
                                    fmtp.profile_idc, fmtp.profile_iop, fmtp.level_idc,
                                    profile_name (c), fmtp.packetization_mode);
          continue;
        }
      gboolean level_ok = lb_h264_fmtp_level_order (&fmtp) >= need_order;
      int score = level_ok * 100 + (int)c * 10 + fmtp.level_asymmetry_allowed;
      if (score > best_score)
        best = o->pt, best_score = score;
    }
  if (best < 0)
    g_set_error (
        error, LB_ERROR, LB_ERROR_INVALID_SDP,
        "the SDP offer has no H.264 video lobbyd can send: a dynamic payload type "
        "(35-63 or 96-127) with packetization-mode=1 and a constrained-baseline, baseline or main "
        "profile-level-id (offered H.264: %s)",
        seen->len ? seen->str : "none");
  return best;
}
