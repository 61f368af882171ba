// The one place that decides which ISA runs. Detection is cpuid + XCR0 on x86-64 and
// hwcaps on arm64; GLOBAL_ATTENTION_ISA=<name> (read once, at first use) forces a choice, and
// set_active_isa() lets tests switch between every ISA this CPU can execute.
#pragma once
#include <string>
#include <vector>

#include "dispatch/isa_table.h"

namespace ga {

// ISAs compiled in *and* supported by this CPU, fastest last ("scalar" always first).
std::vector<std::string> available_isas();
// The table in use.
const IsaTable& active_isa();
// Returns false (and changes nothing) if name is not available here.
bool set_active_isa(const std::string& name);
// Non-empty when GLOBAL_ATTENTION_ISA named something unusable (reported by info()).
std::string isa_override_error();

}  // namespace ga
