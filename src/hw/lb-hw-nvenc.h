/* lb-hw-nvenc.h — the NVENC probe: one real encode session per CUDA device. */
#ifndef LB_HW_NVENC_H
#define LB_HW_NVENC_H

#include "lb-hw-types.h"

/* Fills the CUDA and per-GPU NVENC parts of @report (after lb_hw_nvml_probe:
 * GPUs are matched by PCI bus id, and added when NVML did not list them). */
void lb_hw_nvenc_probe (lb_hw_report *report);

#endif
