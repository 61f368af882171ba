// adviseHugePages(array) -> boolean: asks for transparent huge pages under a freshly allocated
// typed array or ArrayBuffer (runtime/huge_pages.h); KVCache calls it on large key/value storage.
// The array stays an ordinary V8-owned buffer; only the hint on its pages changes.
#include <napi.h>

#include "binding/args.h"
#include "binding/entry_points.h"
#include "runtime/huge_pages.h"

namespace ga {
namespace binding {

Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  size_t bytes = 0;
  if (info.Length() >= 1 && info[0].IsTypedArray()) {
    // The typed array's own data pointer: its buffer may be a SharedArrayBuffer (a KVCache's),
    // which napi_get_arraybuffer_info refuses.
    Napi::TypedArray t = info[0].As<Napi::TypedArray>();
    if (napi_get_typedarray_info(env, t, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok) data = nullptr;
    bytes = data ? t.ByteLength() : 0;
  } else if (info.Length() >= 1 && info[0].IsArrayBuffer()) {
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    bytes = ab.ByteLength();
    data = bytes ? ab.Data() : nullptr;
  } else {
    throw_type(env, "array must be a typed array or an ArrayBuffer");
  }
  return Napi::Boolean::New(env, data != nullptr && advise_huge_pages(data, bytes));
}

}  // namespace binding
}  // namespace ga
