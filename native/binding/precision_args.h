// The compute precision of a call (options.precision, docs: lib/precision.ts), read from the raw
// argument object: 'fp32' (default), 'bf16' or 'fp16'. Other values are a RangeError naming the field.
#pragma once
#include <napi.h>

namespace ga {
namespace binding {

enum class Precision { kFp32, kBf16, kFp16 };

Precision read_precision(Napi::Object args);

}  // namespace binding
}  // namespace ga
