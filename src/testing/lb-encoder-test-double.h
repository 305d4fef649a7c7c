/* lb-encoder-test-double.h — TEST DOUBLE hardware encoder backend, in the
 * test-only library lobbyd-testing (see the .c for what it imitates). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Adds the test-double backend to the encoder table: pool test-double@0,
 * element lbtesthwenc. Only with [testing] hw_double; before lb_pools_new. */
void lb_encoder_test_double_register (void);

G_END_DECLS
