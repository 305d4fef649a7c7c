/* lb-hw-nvml.h — GPU identity and encoder usage through NVML (dlopen). */
#ifndef LB_HW_NVML_H
#define LB_HW_NVML_H

#include "lb-hw-types.h"

/* Fills the NVML part of @report: driver, GPUs, their encoder sessions. */
void lb_hw_nvml_probe (lb_hw_report *report);
/* Cheap, repeatable query of one GPU's encoder sessions (all processes):
 * returns 0 and sets *sessions, or a non-zero NVML status. NVML stays loaded. */
int lb_hw_nvml_encoder_sessions (int index, unsigned *sessions, unsigned *pids, unsigned max_pids,
                                 unsigned *n_pids);
/* Unloads NVML (after lb_hw_probe or lb_hw_nvml_encoder_sessions). */
void lb_hw_nvml_shutdown (void);
/* The name of an nvmlBrandType_t ("GeForce"; "Unknown" if out of range). */
const char *lb_hw_brand_name (int brand);

#endif
