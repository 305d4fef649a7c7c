/* lb-soup-compat.c — work-arounds for bugs of the libsoup we run on.
 *
 * libsoup before 3.3.0 (Debian 12 ships 3.2.3) never drops a keep-alive
 * connection that the client closes while it is idle between requests: the
 * message that waits for the next request reads EOF and finishes with no one
 * to disconnect the connection (fixed upstream by libsoup commit d20c6601,
 * "server: do not leak idle connections closed by the client"). Every client
 * that sends a request and closes — curl, lobbyctl, scripts, browsers after
 * their idle timeout — leaves a socket in CLOSE_WAIT and its connection
 * objects behind for good: one descriptor and ~20 KB per request
 * (bench/soak). Until that libsoup is the floor, answer every request with
 * "Connection: close", so libsoup closes the connection once the response is
 * written. */
#define G_LOG_DOMAIN "lobbyd-http"
#include "lb-soup-compat.h"

static void
close_after_response (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
}

static gboolean
leaks_idle_connections (void)
{
  guint major = soup_get_major_version (), minor = soup_get_minor_version ();
  return major < 3 || (major == 3 && minor < 3);
}

void
lb_soup_compat_apply (SoupServer *server)
{
  if (!leaks_idle_connections ())
    return;
  g_debug ("libsoup %u.%u.%u: no keep-alive (it leaks idle connections closed by clients)",
           soup_get_major_version (), soup_get_minor_version (), soup_get_micro_version ());
  g_signal_connect (server, "request-started", G_CALLBACK (close_after_response), NULL);
}
