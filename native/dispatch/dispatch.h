// The one place that decides which ISA runs. Detection is cpuid + XCR0 on x86-64 and
// hwcaps on arm64; GLOBAL_ATTENTION_ISA=<name> (read once, at first use) forces a choice, and
// set_active_isa() lets tests switch between every ISA this CPU can execute.
#pragma once
#include <string>
#include <vector>

#include "kernels/kernel_list.h"

namespace ga {

// ISAs compiled in *and* supported by this CPU, fastest last ("scalar" always first).
std::vector<std::string> available_isas();
// The table in use.
const IsaTable& active_isa();
// Returns false (and changes nothing) if name is not available here.
bool set_active_isa(const std::string& name);
// Non-empty when GLOBAL_ATTENTION_ISA named something unusable (reported by info()).
std::string isa_override_error();

// ---- Reduced precision (bfloat16, float16) ----
// Every ISA table carries the bf16 and fp16 kernels of kernel_list.h in their emulated form:
// inputs rounded to bfloat16 / float16 (round to nearest even) and multiplied in float32, which is
// exact, so any CPU computes the same products. A native set (kernels/reduced_precision_list.h,
// e.g. "avx512bf16", "neonfp16") extends one float32 ISA (e.g. "avx512") for one 16-bit type:
// while that ISA is active and the CPU has the instructions, the forwarders call the set's
// kernels for that type instead; float32 kernels are untouched. The choice: "auto" (default:
// every native set that extends the active ISA, less those another of them supersedes: amxbf16
// holds avx512bf16's kernels with AMX ones where it has them), "emulated", or native sets' names
// (one, or several joined by '+'). GLOBAL_ATTENTION_REDUCED_PRECISION=<choice> (read once, at first use) or
// set_reduced_precision_isa() sets it; GLOBAL_ATTENTION_ISA / set_active_isa() also accept a
// native set's name, meaning its base ISA with that set alone (active_isa().name stays the base
// ISA's). Forcing another ISA (e.g. "scalar") runs bf16 and fp16 emulated on that ISA.
// Native sets this CPU and build can run.
std::vector<std::string> available_reduced_precision_isas();
// "emulated" or the native sets the forwarders call now ("neonbf16", "neonbf16+neonfp16").
std::string active_reduced_precision_isa();
// Returns false (and changes nothing) unless name is "auto", "emulated" or available sets.
bool set_reduced_precision_isa(const std::string& name);
// Non-empty when GLOBAL_ATTENTION_REDUCED_PRECISION named something unusable.
std::string reduced_precision_override_error();

// One forwarder per dispatched kernel (kernels/kernel_list.h): runs it on the active ISA. The
// attention kernels and the GEMM throw std::bad_alloc when their scratch can't be had.
#define GA_DECLARE_FORWARDER(name, Ret, Arg) Ret name(Arg a);
GA_DISPATCHED_KERNELS(GA_DECLARE_FORWARDER)
#undef GA_DECLARE_FORWARDER

}  // namespace ga
