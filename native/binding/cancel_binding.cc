// newCancelToken() / cancelToken(token): the native half of an AbortSignal. The facade creates a
// token per async call, passes it as the argument object's `cancel` field, and sets it when the
// signal aborts; the running job (binding/async_job.h) then stops within a tile or an item.
#include <memory>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "runtime/cancel.h"

namespace ga {
namespace binding {
namespace {

using TokenRef = std::shared_ptr<CancelToken>;
// Tags our externals, so another addon's External (or a forged object) is refused.
constexpr napi_type_tag kCancelTokenTag = {0x9f3c2a61d4b84e17ULL, 0xa5e1c0b7326d48f9ULL};

TokenRef* token_of(Napi::Value v) {
  if (!v.IsExternal()) return nullptr;
  auto ext = v.As<Napi::External<TokenRef>>();
  if (!ext.CheckTypeTag(&kCancelTokenTag)) return nullptr;
  return ext.Data();
}

}  // namespace

std::shared_ptr<CancelToken> read_cancel_token(Napi::Object args) {
  if (!has(args, "cancel")) return nullptr;
  TokenRef* t = token_of(args.Get("cancel"));
  if (t == nullptr) throw_type(args.Env(), "cancel must be a token from newCancelToken()");
  return *t;
}

Napi::Value NewCancelToken(const Napi::CallbackInfo& info) {
  auto ext = Napi::External<TokenRef>::New(info.Env(), new TokenRef(std::make_shared<CancelToken>()),
                                           [](Napi::Env, TokenRef* t) { delete t; });
  ext.TypeTag(&kCancelTokenTag);
  return ext;
}

Napi::Value CancelTokenSet(const Napi::CallbackInfo& info) {
  TokenRef* t = info.Length() > 0 ? token_of(info[0]) : nullptr;
  if (t == nullptr) throw_type(info.Env(), "cancelToken: argument must be a token from newCancelToken()");
  (*t)->cancel();
  return info.Env().Undefined();
}

}  // namespace binding
}  // namespace ga
