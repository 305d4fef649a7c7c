/* lb-memory.h — giving memory that media teardown freed back to the system. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Call once at start-up, before any thread runs. */
void lb_memory_init (void);

/* Asks for freed heap to be returned to the system shortly; many calls in a
 * burst cost one trim. Safe from any thread. */
void lb_memory_release_soon (void);

G_END_DECLS
