/* Unit tests for lb-log: the ids travel as structured fields next to the
 * message (captured by a GLogWriterFunc of the test), and lb_log_writer
 * keeps the terminal's text and G_MESSAGES_DEBUG behaviour. */
#define G_LOG_DOMAIN "lobbyd-test-log"
#include "lb-log.h"

#include <string.h>

/* The last line logged: its level and fields (key -> value). */
static GLogLevelFlags last_level;
static GHashTable *last_fields;
static guint n_lines;

static GLogWriterOutput
capture (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  g_hash_table_remove_all (last_fields);
  for (gsize i = 0; i < n_fields; i++)
    g_hash_table_insert (last_fields, g_strdup (fields[i].key),
                         fields[i].length < 0 ? g_strdup (fields[i].value)
                                              : g_strndup (fields[i].value, fields[i].length));
  last_level = level;
  n_lines++;
  return G_LOG_WRITER_HANDLED;
}

static const char *
field (const char *key)
{
  return g_hash_table_lookup (last_fields, key);
}

static void
test_lobby (void)
{
  guint before = n_lines;
  lb_log_lobby (G_LOG_LEVEL_INFO, "lobby-1", "lobby %s created (key %s)", "lobby-1", "k");
  g_assert_cmpuint (n_lines, ==, before + 1);
  g_assert_cmpint (last_level & G_LOG_LEVEL_MASK, ==, G_LOG_LEVEL_INFO);
  g_assert_cmpstr (field ("MESSAGE"), ==, "lobby lobby-1 created (key k)");
  g_assert_cmpstr (field ("LOBBY_ID"), ==, "lobby-1");
  g_assert_null (field ("SESSION_ID"));
  g_assert_null (field ("POOL"));
  g_assert_cmpstr (field ("PRIORITY"), ==, "6");
  g_assert_cmpstr (field ("GLIB_DOMAIN"), ==, "lobbyd-test-log");
  g_assert_true (g_str_has_suffix (field ("CODE_FILE"), "test-log.c"));
  g_assert_cmpint (atoi (field ("CODE_LINE")), >, 0);
  g_assert_cmpstr (field ("CODE_FUNC"), ==, "test_lobby");
}

static void
test_session (void)
{
  lb_log_session (G_LOG_LEVEL_MESSAGE, "lobby-2", "session-2", "session %s joined", "session-2");
  g_assert_cmpstr (field ("MESSAGE"), ==, "session session-2 joined");
  g_assert_cmpstr (field ("LOBBY_ID"), ==, "lobby-2");
  g_assert_cmpstr (field ("SESSION_ID"), ==, "session-2");
  g_assert_null (field ("POOL"));
  g_assert_cmpstr (field ("PRIORITY"), ==, "5");
}

static void
test_pool (void)
{
  lb_log_pool (G_LOG_LEVEL_WARNING, "lobby-3", "nvenc", "encode e: %d%% busy", 100);
  g_assert_cmpstr (field ("MESSAGE"), ==, "encode e: 100% busy");
  g_assert_cmpstr (field ("LOBBY_ID"), ==, "lobby-3");
  g_assert_cmpstr (field ("POOL"), ==, "nvenc");
  g_assert_cmpstr (field ("PRIORITY"), ==, "4");

  /* Every id is optional: a NULL id is no field, not an empty one. */
  lb_log (G_LOG_LEVEL_MESSAGE, NULL, "s-4", "x264", "all but the lobby");
  g_assert_null (field ("LOBBY_ID"));
  g_assert_cmpstr (field ("SESSION_ID"), ==, "s-4");
  g_assert_cmpstr (field ("POOL"), ==, "x264");
  lb_log (G_LOG_LEVEL_MESSAGE, NULL, NULL, NULL, "no ids");
  g_assert_cmpstr (field ("MESSAGE"), ==, "no ids");
  g_assert_null (field ("LOBBY_ID"));
  g_assert_null (field ("SESSION_ID"));
  g_assert_null (field ("POOL"));
}

/* In a subprocess (stderr not the journal): lb_log_writer prints GLib's
 * text, with the ids where the message says them, and drops INFO/DEBUG
 * unless G_MESSAGES_DEBUG names the domain. */
static void
test_writer_text (void)
{
  if (g_test_subprocess ())
    {
      lb_log_init ();
      /* One stream to match, whatever g_test_init chose for INFO. */
      g_log_writer_default_set_use_stderr (TRUE);
      lb_log_lobby (G_LOG_LEVEL_MESSAGE, "lobby-5", "lobby %s: no sound", "lobby-5");
      lb_log_lobby (G_LOG_LEVEL_INFO, "lobby-6", "lobby %s created", "lobby-6");
      g_message ("plain %s", "message");
      g_debug ("a debug line");
      return;
    }
  g_unsetenv ("G_MESSAGES_DEBUG");
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*lobbyd-test-log-Message:*lobby lobby-5: no sound*plain message*");
  g_test_trap_assert_stderr_unmatched ("*LOBBY_ID*");
  g_test_trap_assert_stderr_unmatched ("*lobby-6*");
  g_test_trap_assert_stderr_unmatched ("*a debug line*");

  g_setenv ("G_MESSAGES_DEBUG", "lobbyd-test-log", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("G_MESSAGES_DEBUG");
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*lobbyd-test-log-INFO*lobby lobby-6 created*a debug line*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  last_fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  /* One writer per process: the subprocess installs lb_log_writer. */
  if (!g_test_subprocess ())
    g_log_set_writer_func (capture, NULL, NULL);
  g_test_add_func ("/log/lobby", test_lobby);
  g_test_add_func ("/log/session", test_session);
  g_test_add_func ("/log/pool", test_pool);
  g_test_add_func ("/log/writer-text", test_writer_text);
  int rc = g_test_run ();
  g_hash_table_unref (last_fields);
  return rc;
}
