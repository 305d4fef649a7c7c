/* lb-log.h — structured log lines: the ids of a lobby's story as journal
 * fields (LOBBY_ID=, SESSION_ID=, POOL=), and the process's log writer
 * (the journal's native protocol under systemd, plain text on a terminal).
 * docs/logging.md lists the fields. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Logs @format at @level like g_log_structured (PRIORITY, GLIB_DOMAIN,
 * CODE_FILE, CODE_LINE, CODE_FUNC, MESSAGE) with a LOBBY_ID, SESSION_ID and
 * POOL field for each id that is not NULL. The ids are fields only: a message
 * that should show an id on a terminal says it in its text. Use the macros. */
void lb_log_full (const char *domain, GLogLevelFlags level, const char *file, const char *line,
                  const char *func, const char *lobby_id, const char *session_id, const char *pool,
                  const char *format, ...) G_GNUC_PRINTF (9, 10);

#define lb_log(level, lobby_id, session_id, pool, ...)                                             \
  lb_log_full (G_LOG_DOMAIN, (level), __FILE__, G_STRINGIFY (__LINE__), G_STRFUNC, (lobby_id),     \
               (session_id), (pool), __VA_ARGS__)
#define lb_log_lobby(level, lobby_id, ...) lb_log ((level), (lobby_id), NULL, NULL, __VA_ARGS__)
#define lb_log_session(level, lobby_id, session_id, ...)                                           \
  lb_log ((level), (lobby_id), (session_id), NULL, __VA_ARGS__)
#define lb_log_pool(level, lobby_id, pool, ...)                                                    \
  lb_log ((level), (lobby_id), NULL, (pool), __VA_ARGS__)

/* The process's GLogWriterFunc: g_log_writer_journald when stderr is the
 * journal's stream ($JOURNAL_STREAM), else GLib's standard text on
 * stdout/stderr. DEBUG (and INFO on a terminal) only with G_MESSAGES_DEBUG,
 * as GLib's default writer; the journal keeps INFO, the lines of a lobby's
 * story (journalctl -p filters by priority). */
GLogWriterOutput lb_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                gpointer user_data);

/* Installs lb_log_writer; once, first thing in main. */
void lb_log_init (void);

G_END_DECLS
