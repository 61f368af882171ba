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

// One forwarder per dispatched kernel (kernels/kernel_list.h): runs it on the active ISA. The
// attention kernels and the GEMM throw std::bad_alloc when their scratch can't be had.
#define GA_DECLARE_FORWARDER(name, Ret, Arg) Ret name(Arg a);
GA_DISPATCHED_KERNELS(GA_DECLARE_FORWARDER)
#undef GA_DECLARE_FORWARDER

}  // namespace ga
