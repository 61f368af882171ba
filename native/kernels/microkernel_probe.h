// The attention micro-kernels' own one-thread rates (kernels/microkernel_probe_impl.h): what the
// products of the dense and windowed kernels can reach on this core, beside the FMA peak.
#pragma once

namespace ga {

struct MicrokernelRates {
  double qk_gflops = 0;  // FlashBlock's Q·Kᵀ micro-tile, operands in L1
  double pv_gflops = 0;  // FlashBlock's P·V micro-tile, operands in L1
};

}  // namespace ga
