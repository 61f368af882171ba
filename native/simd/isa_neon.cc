// The neon instantiation of every dispatched kernel (kernels/kernel_list.h); CMakeLists.txt gives
// this file alone the neon compiler flags.
#include "simd/vec_neon.h"

#define GA_ISA neon
#define GA_ISA_VEC VecNeon
#include "simd/isa_instantiate.inc"
