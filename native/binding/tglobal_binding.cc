// transientGlobalAttention / blockGlobalAttention (sync + async): read and check the argument
// object, fill the plain C++ params, run here or on a worker thread.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "binding/precision_args.h"
#include "dispatch/dispatch.h"
#include "runtime/aligned_buffer.h"
#include "kernels/attention_weights.h"
#include "kernels/longt5_blocks.h"
#include "runtime/parallel.h"
#include "kernels/tglobal_attention.h"

namespace ga {
namespace binding {
namespace {

float read_scale(Napi::Object a) {
  const double scale = get_number(a, "scale");
  if (!std::isfinite(scale)) throw_range(a.Env(), "scale must be a finite number");
  return static_cast<float>(scale);
}

struct TGlobalJob {
  TGlobalAttentionParams p;
  std::vector<uint8_t> mask, valid;
  float* weights = nullptr;                // optional [B, H, N, N + G] probabilities (fp32 only)
  Precision precision = Precision::kFp32;  // the products' type (lib/precision.ts)
  int want_threads = 0;
  void operator()(int threads) {
    p.threads = threads;
    if (!mask.empty()) p.mask = mask.data();
    if (!valid.empty()) p.global_valid = valid.data();
    run_core(p);
    if (weights) tglobal_attention_weights(p, weights);
  }
  void run_core(const TGlobalAttentionParams& t) const {
    if (precision == Precision::kBf16) tglobal_attention_bf16(t);
    else if (precision == Precision::kFp16) tglobal_attention_fp16(t);
    else tglobal_attention(t);
  }
};

// Reads and checks one call's arguments into job (its buffers registered with `buffers`).
void read_tglobal(Napi::Env env, Napi::Object a, CallBuffers* buffers, TGlobalJob* job) {
  TGlobalAttentionParams& p = job->p;
  p.B = get_size(a, "B");
  p.H = get_size(a, "H");
  p.N = get_size(a, "N");
  p.D = get_size(a, "D");
  p.Dv = get_size(a, "Dv");
  p.G = get_size(a, "G");
  p.radius = get_size(a, "radius");
  p.scale = read_scale(a);
  const bool bnhd = read_layout_bnhd(a);
  const int64_t bhn = checked_mul(env, checked_mul(env, p.B, p.H, "q"), p.N, "q");
  const int64_t bhg = checked_mul(env, checked_mul(env, p.B, p.H, "globalK"), p.G, "globalK");
  p.q = buffers->input(a, "q", checked_mul(env, bhn, p.D, "q"));
  p.k = buffers->input(a, "k", checked_mul(env, bhn, p.D, "k"));
  p.v = buffers->input(a, "v", checked_mul(env, bhn, p.Dv, "v"));
  p.out = buffers->output(a, "out", checked_mul(env, bhn, p.Dv, "out"));
  p.gk = buffers->input(a, "globalK", checked_mul(env, bhg, p.D, "globalK"));
  p.gv = buffers->input(a, "globalV", checked_mul(env, bhg, p.Dv, "globalV"));
  auto strides = bnhd ? Strides::bnhd : Strides::bhnd;
  p.qs = strides(p.H, p.N, p.D);
  p.ks = strides(p.H, p.N, p.D);
  p.vs = strides(p.H, p.N, p.Dv);
  p.os = strides(p.H, p.N, p.Dv);
  p.gks = strides(p.H, p.G, p.D);
  p.gvs = strides(p.H, p.G, p.Dv);
  get_mask_opt(a, "mask", checked_mul(env, p.B, p.N, "mask"), job->mask);
  get_mask_opt(a, "globalValid", checked_mul(env, p.B, p.G, "globalValid"), job->valid);
  if (has(a, "localBias"))
    p.local_bias = buffers->input(a, "localBias", checked_mul(env, p.H, 2 * p.radius + 1, "localBias"));
  if (has(a, "globalBias")) {
    p.global_bias = buffers->input(a, "globalBias", checked_mul(env, p.H, 2 * p.G + 1, "globalBias"));
    p.block_ids = buffers->input_i32(a, "blockIds", checked_mul(env, p.B, p.N, "blockIds"));
    for (int64_t i = 0; i < p.B * p.N; ++i)
      if (p.block_ids[i] < -1 || p.block_ids[i] >= p.G) throw_range(env, "blockIds must lie in [-1, G)");
  }
  job->precision = read_precision(a);
  if (has(a, "weights")) {
    if (job->precision != Precision::kFp32) throw_range(env, "weights are computed in precision 'fp32' only");
    job->weights = buffers->output(a, "weights", checked_mul(env, bhn, p.N + p.G, "weights"));
  }
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
}

Napi::Value tglobal(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  auto job = std::make_shared<TGlobalJob>();
  auto buffers = std::make_shared<CallBuffers>(async);
  read_tglobal(env, a, buffers.get(), job.get());
  return run_job(
      env, async, "transient-global attention", buffers, job->want_threads, [job](int threads) { (*job)(threads); },
      read_cancel_token(a));
}

// Several TGlobal calls (a packed batch's sequences) as one job: their query blocks share the
// threads in one region, longest calls first (kernels/tglobal_attention.h), each call's output
// the same bits as alone. No weights.
struct TGlobalBatchJob {
  std::vector<TGlobalJob> calls;
  int want_threads = 0;
  void operator()(int threads) {
    if (!calls.empty() && calls[0].precision != Precision::kFp32) {
      // The reduced-precision cores have no batch form: one call after another, each on every thread.
      for (TGlobalJob& c : calls) c(threads);
      return;
    }
    std::vector<TGlobalAttentionParams> ps;
    ps.reserve(calls.size());
    for (TGlobalJob& c : calls) {
      if (!c.mask.empty()) c.p.mask = c.mask.data();
      if (!c.valid.empty()) c.p.global_valid = c.valid.data();
      c.p.threads = threads;
      ps.push_back(c.p);
    }
    auto cost = [](const TGlobalAttentionParams& p) {
      return p.B * p.H * p.N * (std::min<int64_t>(2 * p.radius + 1, p.N) + p.G);
    };
    std::stable_sort(ps.begin(), ps.end(), [&](const TGlobalAttentionParams& x, const TGlobalAttentionParams& y) {
      return cost(x) > cost(y);
    });
    TGlobalAttentionBatchParams bp;
    bp.calls = ps.data();
    bp.count = static_cast<int64_t>(ps.size());
    bp.threads = threads;
    tglobal_attention_batch(bp);
  }
};

Napi::Value tglobal_batch(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  Napi::Value cv = a.Get("calls");
  if (!cv.IsArray()) throw_type(env, "calls must be an array of transient-global attention arguments");
  Napi::Array list = cv.As<Napi::Array>();
  auto job = std::make_shared<TGlobalBatchJob>();
  auto buffers = std::make_shared<CallBuffers>(async);
  job->calls.resize(list.Length());
  int64_t D = -1, Dv = -1;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value e = list.Get(i);
    if (!e.IsObject()) throw_type(env, "calls[" + std::to_string(i) + "] must be an object");
    TGlobalJob& c = job->calls[i];
    read_tglobal(env, e.As<Napi::Object>(), buffers.get(), &c);
    if (c.weights) throw_range(env, "calls[" + std::to_string(i) + "]: no weights in a batch");
    if (D < 0) D = c.p.D, Dv = c.p.Dv;
    if (c.p.D != D || c.p.Dv != Dv) throw_range(env, "every call of a batch must have the same D and Dv");
    if (c.precision != job->calls[0].precision) throw_range(env, "every call of a batch must have the same precision");
  }
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  return run_job(
      env, async, "transient-global attention", buffers, job->want_threads, [job](int threads) { (*job)(threads); },
      read_cancel_token(a));
}

struct BlockGlobalJob {
  BlockGlobalAttentionParams p;
  AlignedBuffer gk, gv;      // block means of k and v, [B, H, N/g, D]
  float* weights = nullptr;  // optional [B, H, N, N + N/g] probabilities
  int want_threads = 0;
  void operator()(int threads) {
    p.threads = threads;
    if (p.B * p.H * p.N == 0 || p.Dv == 0) return;  // nothing to compute: size nothing by D or Dv
    const int64_t nb = p.N / p.block;
    gk.resize(static_cast<size_t>(p.B * p.H * nb * p.D));
    gv.resize(static_cast<size_t>(p.B * p.H * nb * p.Dv));
    block_means(p.k, p.B * p.H, p.N, p.D, p.block, gk.data());
    block_means(p.v, p.B * p.H, p.N, p.Dv, p.block, gv.data());
    p.gk = gk.data();
    p.gv = gv.data();
    block_global_attention(p);
    if (weights) block_global_attention_weights(p, weights);
  }
};

Napi::Value block_global(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  auto job = std::make_shared<BlockGlobalJob>();
  auto buffers = std::make_shared<CallBuffers>(async);
  BlockGlobalAttentionParams& p = job->p;
  p.B = get_size(a, "B");
  p.H = get_size(a, "H");
  p.N = get_size(a, "N");
  p.D = get_size(a, "D");
  p.Dv = get_size(a, "Dv");
  p.block = get_size(a, "blockSize");
  if (p.block < 1 || p.block > p.N) throw_range(env, "blockSize must be in [1, N]");
  p.scale = read_scale(a);
  const int64_t bhn = checked_mul(env, checked_mul(env, p.B, p.H, "q"), p.N, "q");
  p.q = buffers->input(a, "q", checked_mul(env, bhn, p.D, "q"));
  p.k = buffers->input(a, "k", checked_mul(env, bhn, p.D, "k"));
  p.v = buffers->input(a, "v", checked_mul(env, bhn, p.Dv, "v"));
  p.out = buffers->output(a, "out", checked_mul(env, bhn, p.Dv, "out"));
  if (has(a, "weights"))
    job->weights = buffers->output(a, "weights", checked_mul(env, bhn, p.N + p.N / p.block, "weights"));
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  return run_job(
      env, async, "block-global attention", buffers, job->want_threads, [job](int threads) { (*job)(threads); },
      read_cancel_token(a));
}

}  // namespace

Napi::Value TGlobalAttentionSync(const Napi::CallbackInfo& info) { return tglobal(info, false); }
Napi::Value TGlobalAttentionAsync(const Napi::CallbackInfo& info) { return tglobal(info, true); }
Napi::Value TGlobalAttentionBatchSync(const Napi::CallbackInfo& info) { return tglobal_batch(info, false); }
Napi::Value TGlobalAttentionBatchAsync(const Napi::CallbackInfo& info) { return tglobal_batch(info, true); }
Napi::Value BlockGlobalAttentionSync(const Napi::CallbackInfo& info) { return block_global(info, false); }
Napi::Value BlockGlobalAttentionAsync(const Napi::CallbackInfo& info) { return block_global(info, true); }

}  // namespace binding
}  // namespace ga
