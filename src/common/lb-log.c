/* lb-log.c — structured log lines with a lobby's ids, and the log writer. */
#include "lb-log.h"

#include <stdio.h>

/* The syslog priorities GLib gives its levels (g_log_structured's). */
static const char *
priority (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "3";
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return "4";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

void
lb_log_full (const char *domain, GLogLevelFlags level, const char *file, const char *line,
             const char *func, const char *lobby_id, const char *session_id, const char *pool,
             const char *format, ...)
{
  /* A debug line nobody asked for costs no formatting. */
  if ((level & G_LOG_LEVEL_DEBUG) && g_log_writer_default_would_drop (level, domain))
    return;

  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);

  GLogField fields[9];
  gsize n = 0;
  fields[n++] = (GLogField){ "PRIORITY", priority (level), -1 };
  if (domain != NULL)
    fields[n++] = (GLogField){ "GLIB_DOMAIN", domain, -1 };
  fields[n++] = (GLogField){ "CODE_FILE", file, -1 };
  fields[n++] = (GLogField){ "CODE_LINE", line, -1 };
  fields[n++] = (GLogField){ "CODE_FUNC", func, -1 };
  fields[n++] = (GLogField){ "MESSAGE", message, -1 };
  if (lobby_id != NULL)
    fields[n++] = (GLogField){ "LOBBY_ID", lobby_id, -1 };
  if (session_id != NULL)
    fields[n++] = (GLogField){ "SESSION_ID", session_id, -1 };
  if (pool != NULL)
    fields[n++] = (GLogField){ "POOL", pool, -1 };
  g_log_structured_array (level, fields, n);
}

/* Decided once: stderr does not change from journal to terminal. */
static gboolean
to_journal (void)
{
  static gsize state = 0; /* 1: text, 2: journal */
  if (g_once_init_enter (&state))
    g_once_init_leave (&state, g_log_writer_is_journald (fileno (stderr)) ? 2 : 1);
  return state == 2;
}

GLogWriterOutput
lb_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  gboolean journal = to_journal ();
  const char *domain = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
  /* The journal keeps INFO: created, joined, ended, deleted are the story
   * `journalctl LOBBY_ID=` tells, and the journal filters by priority. */
  gboolean keep_info = journal && (level & G_LOG_LEVEL_INFO);
  if (!keep_info && g_log_writer_default_would_drop (level, domain))
    return G_LOG_WRITER_HANDLED;
  /* The journal's socket gone (journald restarting): the text still
   * reaches it through the stderr stream. */
  if (journal && g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_standard_streams (level, fields, n_fields, user_data);
}

void
lb_log_init (void)
{
  g_log_set_writer_func (lb_log_writer, NULL, NULL);
}
