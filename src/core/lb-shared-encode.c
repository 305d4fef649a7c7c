/* lb-shared-encode.c — an encode and the outputs that watch it. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-shared-encode.h"
#include "lb-encode.h"
#include "lb-error.h"
#include "lb-lobby.h"
#include "lb-output.h"
#include "lb-producer.h"

struct _LbSharedEncode
{
  char *id;
  char *branch_prefix; /* "encode-<id>": its media branches are "encode-<id>-<n>" */
  guint serial;
  LbLobby *lobby; /* borrowed: a lobby outlives its encodes */
  LbProfile profile;
  gboolean shareable;
  LbEncoderPreference preference;
  gboolean require_hardware;
  LbEncode *media;
  GPtrArray *outputs; /* LbOutput of the viewers, borrowed */
  int pool;
  char *pool_name;
  char *element;
  gboolean hardware;
  gboolean fallback;
};

LbSharedEncode *
lb_shared_encode_new (LbLobby *lobby, const LbProfile *profile, gboolean shareable,
                      LbEncoderPreference preference, gboolean require_hardware)
{
  LbSharedEncode *self = g_new0 (LbSharedEncode, 1);
  self->id = g_uuid_string_random ();
  self->branch_prefix = g_strdup_printf ("encode-%s", self->id);
  self->lobby = lobby;
  self->profile = *profile;
  /* Shared encodes run at the bitrate tier; a lone (sharing off) encode at
   * exactly what its viewer asked. */
  if (shareable)
    self->profile.bitrate_kbps = lb_bitrate_tier (profile->bitrate_kbps);
  self->shareable = shareable;
  self->preference = preference;
  self->require_hardware = require_hardware;
  self->outputs = g_ptr_array_new ();
  self->pool = -1;
  return self;
}

void
lb_shared_encode_close (LbSharedEncode *self, void (*closed) (gpointer user_data),
                        gpointer user_data)
{
  if (self == NULL)
    return;
  g_warn_if_fail (self->outputs->len == 0);
  if (self->media != NULL)
    lb_encode_close (self->media, closed, user_data);
  else if (closed != NULL)
    closed (user_data);
  g_ptr_array_unref (self->outputs);
  g_free (self->pool_name);
  g_free (self->element);
  g_free (self->branch_prefix);
  g_free (self->id);
  g_free (self);
}

void
lb_shared_encode_free (LbSharedEncode *self)
{
  lb_shared_encode_close (self, NULL, NULL);
}

gboolean
lb_shared_encode_open (LbSharedEncode *self, const LbEncoderSettings *settings, GError **error)
{
  LbProducer *producer = lb_lobby_get_producer (self->lobby);
  if (producer == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s is not running: %s",
                   lb_lobby_get_id (self->lobby), lb_lobby_get_error (self->lobby));
      return FALSE;
    }
  LbTrack *raw = lb_producer_get_track (producer, self->profile.kind);
  if (raw == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s has no %s",
                   lb_lobby_get_id (self->lobby), lb_media_kind_name (self->profile.kind));
      return FALSE;
    }
  /* Old and new encoder coexist during a switch, so each gets its own name. */
  g_autofree char *name = g_strdup_printf ("%s-%u", self->branch_prefix, ++self->serial);
  LbEncode *next = lb_encode_new (raw, name, &self->profile, settings, error);
  if (next == NULL)
    return FALSE;
  for (guint i = 0; i < self->outputs->len; i++)
    if (!lb_output_move (g_ptr_array_index (self->outputs, i), lb_encode_get_track (next), error))
      {
        /* Put back the outputs already moved, then give up on the new one. */
        for (guint j = 0; j < i; j++)
          lb_output_move (g_ptr_array_index (self->outputs, j), lb_encode_get_track (self->media),
                          NULL);
        lb_encode_free (next);
        return FALSE;
      }
  /* Stops off the main loop. The registry moves the slot to the new pool
   * at once (take_slot): the old encoder is software (an upgrade) or one
   * that failed on a pool the admission excluded (a migration), so no
   * driver session of the pool being opened is still held by it. */
  lb_encode_free (self->media);
  self->media = next;
  return TRUE;
}

gboolean
lb_shared_encode_accepts (const LbSharedEncode *self, const LbProfile *profile,
                          LbEncoderPreference preference, gboolean require_hardware)
{
  if (!self->shareable || self->media == NULL)
    return FALSE;
  g_autofree char *mine = lb_profile_share_key (&self->profile);
  g_autofree char *theirs = lb_profile_share_key (profile);
  if (!g_str_equal (mine, theirs))
    return FALSE;
  /* Sharing costs no slot, but honours what the viewer asked for. */
  if ((require_hardware || preference == LB_ENCODER_HARDWARE) && !self->hardware)
    return FALSE;
  if (preference == LB_ENCODER_SOFTWARE && self->hardware)
    return FALSE;
  return TRUE;
}

void
lb_shared_encode_request_key_frame (LbSharedEncode *self)
{
  /* Rate-limited on the encoded track, with every other request. */
  if (self->media != NULL)
    lb_encode_request_key_frame (self->media);
}

void
lb_shared_encode_set_pool (LbSharedEncode *self, int pool, const char *pool_name,
                           const char *element, gboolean hardware, gboolean fallback)
{
  self->pool = pool;
  g_free (self->pool_name);
  self->pool_name = g_strdup (pool_name);
  g_free (self->element);
  self->element = g_strdup (element);
  self->hardware = hardware;
  self->fallback = fallback;
}

int
lb_shared_encode_get_pool (const LbSharedEncode *self)
{
  return self->pool;
}

gboolean
lb_shared_encode_is_fallback (const LbSharedEncode *self)
{
  return self->fallback;
}

gboolean
lb_shared_encode_is_hardware (const LbSharedEncode *self)
{
  return self->hardware;
}

LbEncoderPreference
lb_shared_encode_get_preference (const LbSharedEncode *self)
{
  return self->preference;
}

gboolean
lb_shared_encode_requires_hardware (const LbSharedEncode *self)
{
  return self->require_hardware;
}

const char *
lb_shared_encode_get_id (const LbSharedEncode *self)
{
  return self->id;
}

LbLobby *
lb_shared_encode_get_lobby (const LbSharedEncode *self)
{
  return self->lobby;
}

const LbProfile *
lb_shared_encode_get_profile (const LbSharedEncode *self)
{
  return &self->profile;
}

guint64
lb_shared_encode_get_pixel_rate (const LbSharedEncode *self)
{
  return lb_profile_pixel_rate (&self->profile);
}

LbEncode *
lb_shared_encode_get_media (const LbSharedEncode *self)
{
  return self->media;
}

void
lb_shared_encode_add_output (LbSharedEncode *self, LbOutput *output)
{
  g_ptr_array_add (self->outputs, output);
}

void
lb_shared_encode_remove_output (LbSharedEncode *self, LbOutput *output)
{
  g_ptr_array_remove (self->outputs, output);
}

guint
lb_shared_encode_get_n_viewers (const LbSharedEncode *self)
{
  return self->outputs->len;
}

gboolean
lb_shared_encode_owns_branch (const LbSharedEncode *self, const char *branch)
{
  return branch != NULL && g_str_has_prefix (branch, self->branch_prefix);
}

JsonObject *
lb_shared_encode_to_json (const LbSharedEncode *self)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "encode_id", self->id);
  if (self->pool_name != NULL)
    {
      json_object_set_string_member (o, "pool", self->pool_name);
      json_object_set_string_member (o, "element", self->element);
    }
  json_object_set_boolean_member (o, "hardware", self->hardware);
  json_object_set_boolean_member (o, "fallback", self->fallback);
  json_object_set_boolean_member (o, "shared", self->shareable);
  json_object_set_int_member (o, "viewers", self->outputs->len);
  json_object_set_int_member (o, "bitrate_kbps", self->profile.bitrate_kbps);
  return o;
}
