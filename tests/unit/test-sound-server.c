/* Unit tests for lb-sound-server: a real PulseAudio started, answering on
 * its own socket in a private directory, stopped, and reported when killed. */
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include "lb-error.h"
#include "lb-sound-server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
have_pulseaudio (void)
{
  g_autofree char *path = g_find_program_in_path ("pulseaudio");
  if (path == NULL)
    g_test_skip ("no pulseaudio binary in PATH (scripts/deps.sh installs pulseaudio)");
  return path != NULL;
}

static LbSoundServer *
start (LbSoundServerExitFunc on_exit, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_get_environ ();
  LbSoundServer *s
      = lb_sound_server_start ("pulseaudio", env, NULL, NULL, geteuid (), on_exit, data, &error);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (lb_sound_server_wait_ready (s, t0 + 10 * G_USEC_PER_SEC, &error));
  g_assert_no_error (error);
  g_test_message ("ready after %.1f ms", (g_get_monotonic_time () - t0) / 1000.0);
  return s;
}

static void
wait_stopped (void)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (lb_sound_server_n_stopping () > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpuint (lb_sound_server_n_stopping (), ==, 0);
}

static void
test_start_stop (void)
{
  if (!have_pulseaudio ())
    return;
  LbSoundServer *s = start (NULL, NULL);
  const char *address = lb_sound_server_get_address (s);
  g_assert_true (g_str_has_prefix (address, "unix:/tmp/lobbyd-pulse-"));
  g_assert_true (g_str_has_suffix (address, "/native"));
  g_assert_cmpstr (lb_sound_server_get_sink (s), ==, "lobby");
  GPid pid = lb_sound_server_get_pid (s);
  g_assert_cmpint (pid, >, 0);

  /* Its directory is private: 0700, ours. */
  g_autofree char *dir = g_path_get_dirname (address + strlen ("unix:"));
  struct stat st;
  g_assert_cmpint (stat (dir, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpuint (st.st_uid, ==, geteuid ());

  /* The server answers on the socket: a PulseAudio client handshake needs
   * the protocol; that something listens there is what lobbyd relies on. */
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) sa = g_unix_socket_address_new (address + strlen ("unix:"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (sa), NULL, &error);
  g_assert_no_error (error);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);

  /* Stop never waits; the server is reaped and its directory removed. */
  lb_sound_server_stop (s);
  g_assert_cmpuint (lb_sound_server_n_stopping (), ==, 1);
  wait_stopped ();
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_assert_cmpint (kill (pid, 0), !=, 0);
}

static void
record_exit (const char *message, gpointer user_data)
{
  char **out = user_data;
  g_assert_null (*out); /* once */
  *out = g_strdup (message);
}

static void
test_killed_is_reported (void)
{
  if (!have_pulseaudio ())
    return;
  g_autofree char *message = NULL;
  LbSoundServer *s = start (record_exit, &message);
  g_test_expect_message ("lobbyd-desktop", G_LOG_LEVEL_WARNING, "*sound server was killed*");
  kill (lb_sound_server_get_pid (s), SIGKILL);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (message == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_nonnull (message);
  g_test_assert_expected_messages ();
  g_assert_nonnull (strstr (message, "killed (signal 9)"));
  g_assert_cmpint (lb_sound_server_get_pid (s), ==, 0);
  g_autofree char *dir = g_path_get_dirname (lb_sound_server_get_address (s) + strlen ("unix:"));
  lb_sound_server_stop (s); /* frees at once: nothing left to reap */
  wait_stopped ();
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
}

static void
test_missing_binary (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_get_environ ();
  LbSoundServer *s = lb_sound_server_start ("/nonexistent/pulseaudio", env, NULL, NULL, geteuid (),
                                            NULL, NULL, &error);
  g_assert_null (s);
  g_assert_nonnull (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sound-server/start-stop", test_start_stop);
  g_test_add_func ("/sound-server/killed-is-reported", test_killed_is_reported);
  g_test_add_func ("/sound-server/missing-binary", test_missing_binary);
  return g_test_run ();
}
