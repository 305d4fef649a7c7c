/* lb-memory.c — giving memory that media teardown freed back to the system.
 *
 * Every join and leave builds and destroys a GStreamer branch (an x264
 * encoder, webrtcbin with libnice, DTLS and SCTP) whose threads allocate
 * megabytes for a few seconds. glibc serves each thread from one of up to
 * 8 × cores arenas and gives a non-main arena back only from its top, so a
 * few small long-lived blocks pin the freed megabytes below them: RSS grows
 * with every cycle although the live heap stays flat (bench/soak,
 * docs/architecture.md "Memory"). Two things keep it flat: large blocks come
 * from mmap and go back on free (a fixed mmap threshold, instead of glibc's
 * dynamic one that rises to the largest block ever freed), and after a
 * teardown malloc_trim() returns the free pages inside every arena. */
#define G_LOG_DOMAIN "lobbyd"
#include "lb-memory.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Blocks from this size up are mmapped: raw frames and encoder buffers,
 * not the many small objects of a pipeline. glibc's own initial value. */
#define MMAP_THRESHOLD_BYTES (128 * 1024)
/* Trims follow a teardown by this much, so a burst of leaves costs one. */
#define TRIM_DELAY_MS 500

static gint trim_pending;

void
lb_memory_init (void)
{
#ifdef __GLIBC__
  /* An operator's MALLOC_MMAP_THRESHOLD_ wins. */
  if (g_getenv ("MALLOC_MMAP_THRESHOLD_") == NULL)
    mallopt (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
#endif
}

static gboolean
trim (gpointer user_data)
{
  g_atomic_int_set (&trim_pending, 0);
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  return G_SOURCE_REMOVE;
}

void
lb_memory_release_soon (void)
{
  /* Not pushed back by later calls: a steady stream of leaves still trims. */
  if (g_atomic_int_compare_and_exchange (&trim_pending, 0, 1))
    g_timeout_add (TRIM_DELAY_MS, trim, NULL);
}
