// Every function the addon exports, registered in addon.cc.
#pragma once
#include <napi.h>

namespace ga {
namespace binding {

Napi::Value DenseAttentionSync(const Napi::CallbackInfo& info);
Napi::Value DenseAttentionAsync(const Napi::CallbackInfo& info);
Napi::Value TGlobalAttentionSync(const Napi::CallbackInfo& info);
Napi::Value TGlobalAttentionAsync(const Napi::CallbackInfo& info);
Napi::Value TGlobalAttentionBatchSync(const Napi::CallbackInfo& info);
Napi::Value TGlobalAttentionBatchAsync(const Napi::CallbackInfo& info);
Napi::Value BlockGlobalAttentionSync(const Napi::CallbackInfo& info);
Napi::Value BlockGlobalAttentionAsync(const Napi::CallbackInfo& info);
Napi::Value GlobalBlockIds(const Napi::CallbackInfo& info);
Napi::Value RelativePositionBuckets(const Napi::CallbackInfo& info);
Napi::Value GlobalAggregates(const Napi::CallbackInfo& info);
Napi::Value TGlobalBiasTables(const Napi::CallbackInfo& info);
Napi::Value LinearSync(const Napi::CallbackInfo& info);
Napi::Value LinearAsync(const Napi::CallbackInfo& info);
Napi::Value LongT5ForwardSync(const Napi::CallbackInfo& info);
Napi::Value LongT5ForwardAsync(const Napi::CallbackInfo& info);
Napi::Value DensePackedSync(const Napi::CallbackInfo& info);
Napi::Value DensePackedAsync(const Napi::CallbackInfo& info);
Napi::Value NewCancelToken(const Napi::CallbackInfo& info);
// KVCache storage (huge_pages_binding.cc).
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info);
Napi::Value CancelTokenSet(const Napi::CallbackInfo& info);
// Reduced precision (precision_binding.cc).
Napi::Value SetReducedPrecisionIsa(const Napi::CallbackInfo& info);
Napi::Value LinearReducedSync(const Napi::CallbackInfo& info);
Napi::Value LinearReducedAsync(const Napi::CallbackInfo& info);
void add_reduced_precision_info(Napi::Env env, Napi::Object o);
// The whole model (model_binding.cc).
Napi::Value ModelCreate(const Napi::CallbackInfo& info);
Napi::Value ModelWeightNames(const Napi::CallbackInfo& info);
Napi::Value ModelSetWeight(const Napi::CallbackInfo& info);
Napi::Value ModelFinalize(const Napi::CallbackInfo& info);
Napi::Value ModelGetWeight(const Napi::CallbackInfo& info);
Napi::Value ModelDispose(const Napi::CallbackInfo& info);
Napi::Value ModelWeightBytes(const Napi::CallbackInfo& info);
Napi::Value ModelScratchBytes(const Napi::CallbackInfo& info);
Napi::Value ModelReleaseScratch(const Napi::CallbackInfo& info);
Napi::Value ModelEncodeSync(const Napi::CallbackInfo& info);
Napi::Value ModelEncodeAsync(const Napi::CallbackInfo& info);
Napi::Value DecoderCreate(const Napi::CallbackInfo& info);
Napi::Value DecoderStartSync(const Napi::CallbackInfo& info);
Napi::Value DecoderStartAsync(const Napi::CallbackInfo& info);
Napi::Value DecoderStepSync(const Napi::CallbackInfo& info);
Napi::Value DecoderStepAsync(const Napi::CallbackInfo& info);
Napi::Value DecoderReorder(const Napi::CallbackInfo& info);
Napi::Value DecoderLength(const Napi::CallbackInfo& info);
Napi::Value DecoderDispose(const Napi::CallbackInfo& info);

}  // namespace binding
}  // namespace ga
