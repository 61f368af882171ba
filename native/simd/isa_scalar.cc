// The scalar instantiation of every dispatched kernel (kernels/kernel_list.h); CMakeLists.txt gives
// this file alone the scalar compiler flags.
#include "simd/vec_scalar.h"

#define GA_ISA scalar
#define GA_ISA_VEC VecScalar
#include "simd/isa_instantiate.inc"
