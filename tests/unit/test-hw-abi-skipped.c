/* Stand-in for test-hw-abi.c where nv-codec-headers or libva-dev are missing:
 * reports the check as skipped, with the reason, instead of passing it. */
#include <glib.h>

static void
skipped (void)
{
  g_test_skip ("ffnvcodec/nvEncodeAPI.h or va/va.h not installed (scripts/deps.sh --test)");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hw-abi/versions-and-guids", skipped);
  return g_test_run ();
}
