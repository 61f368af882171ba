// The avx512 instantiation of every dispatched kernel (kernels/kernel_list.h); CMakeLists.txt gives
// this file alone the avx512 compiler flags.
#include "simd/vec_avx512.h"

#define GA_ISA avx512
#define GA_ISA_VEC VecAvx512
#include "simd/isa_instantiate.inc"
