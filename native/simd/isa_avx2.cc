// The avx2 instantiation of every dispatched kernel (kernels/kernel_list.h); CMakeLists.txt gives
// this file alone the avx2 compiler flags.
#include "simd/vec_avx2.h"

#define GA_ISA avx2
#define GA_ISA_VEC VecAvx2
#include "simd/isa_instantiate.inc"
