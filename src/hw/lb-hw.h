/* lb-hw.h — what encoding hardware this machine really has.
 *
 * Plain C11 with no GLib and no GStreamer, so the probe builds with gcc alone
 * on a GPU machine. Vendor libraries (libnvidia-ml, libcuda,
 * libnvidia-encode, libva) are loaded with dlopen: their absence is a result
 * to report, not a build or start-up failure.
 *
 * Ground truth for NVENC is opening a real encode session; NVML supplies
 * identity (name, UUID, PCI bus id, brand, driver) and the encoder sessions
 * that every process on the GPU holds. NVML's "encoder capacity" is reported
 * as what it is (a utilisation-style percentage), never as a session limit. */
#ifndef LB_HW_H
#define LB_HW_H

#include "lb-hw-nvml.h" /* the NVML usage queries and brand names */
#include "lb-hw-types.h"

#include <stdio.h>

typedef struct
{
  const char *dri_dir; /* NULL = /dev/dri */
  int skip_nvenc;      /* identity and usage only */
} lb_hw_probe_options;

/* Fills @report. Never fails: every problem is recorded in the report. */
void lb_hw_probe (lb_hw_report *report, const lb_hw_probe_options *options);

/* The consumer (GeForce/Titan) NVENC session cap a driver version is known to
 * enforce, or 0 if the brand has no cap. Sets *source_note to a citation. */
unsigned lb_hw_nvenc_driver_default_limit (int brand, const char *driver_version,
                                           const char **source_note);
/* Whether the GPU's NVENC pool can be used, and if not, why (static or into @gpu). */
int lb_hw_nvenc_usable (const lb_hw_gpu *gpu, const char **reason);

void lb_hw_report_write_json (const lb_hw_report *report, FILE *out);
void lb_hw_report_write_table (const lb_hw_report *report, FILE *out);

#endif
