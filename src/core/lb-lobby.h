/* lb-lobby.h — a running lobby: its spec, its producer and its sessions.
 * Owned by the registry; other modules only read it. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef enum
{
  LB_LOBBY_RUNNING,
  LB_LOBBY_FAILED, /* the producer failed; see lb_lobby_get_error() */
} LbLobbyState;

const char *lb_lobby_get_id (const LbLobby *lobby);
/* The lobby's encoded audio (its one Opus encode's track, borrowed), or NULL:
 * audio off, failed, or not running. */
LbTrack *lb_lobby_get_audio_track (LbLobby *lobby);
/* "running", "failed" or "off" (the spec's "audio": false). */
const char *lb_lobby_get_audio_state (const LbLobby *lobby);
const LbLobbySpec *lb_lobby_get_spec (const LbLobby *lobby);
LbLobbyState lb_lobby_get_state (const LbLobby *lobby);
const char *lb_lobby_get_error (const LbLobby *lobby);
/* Sessions of this lobby (borrowed array of LbSession, oldest first). */
GPtrArray *lb_lobby_get_sessions (const LbLobby *lobby);
JsonNode *lb_lobby_to_json (const LbLobby *lobby);

/* For the registry. */
LbLobby *lb_lobby_new (const char *id, const LbLobbySpec *spec, gint64 created_at, gpointer owner);
gpointer lb_lobby_get_owner (const LbLobby *lobby);
/* A viewer's input event for the lobby's desktop (ignored for test
 * patterns); @event is borrowed for the call. */
void lb_lobby_input (LbLobby *lobby, const LbInputEvent *event);
/* Starts the producer; on failure the lobby is LB_LOBBY_FAILED and the error is kept. */
/* @app_argv: the catalogue command for x11-app lobbies (else NULL); @config
 * says which user runs it ([apps] user, allow_root). */
gboolean lb_lobby_start (LbLobby *lobby, const char *const *app_argv, const LbConfig *config,
                         LbMediaErrorFunc on_error, gpointer user_data, GError **error);
LbProducer *lb_lobby_get_producer (const LbLobby *lobby);
void lb_lobby_set_failed (LbLobby *lobby, const char *message);
/* The lobby's sound is gone (sound server, audio source or encode), its
 * video goes on: audio_state "failed" with @message. TRUE the first time
 * (the caller announces it), FALSE after that or when the lobby has no
 * audio. */
gboolean lb_lobby_set_audio_failed (LbLobby *lobby, const char *message);
/* Stops the producer. Its sessions must have been stopped. */
void lb_lobby_free (LbLobby *lobby);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbLobby, lb_lobby_free)

G_END_DECLS
