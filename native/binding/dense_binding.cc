// denseAttention / denseAttentionAsync: read and check the argument object, copy what the
// kernel needs into DenseAttentionParams, run it here or on a worker thread.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "binding/precision_args.h"
#include "dispatch/dispatch.h"
#include "kernels/attention_weights.h"
#include "kernels/attention_weights_bf16.h"
#include "kernels/decode_attention.h"
#include "kernels/relative_bias.h"

namespace ga {
namespace binding {
namespace {

struct DenseJob {
  DenseAttentionParams p;
  std::vector<uint8_t> mask;  // normalised copy (0/1)
  float* weights = nullptr;   // optional [B, H, Nq, Nk] probabilities
  float* scores = nullptr;    // optional [B, H, Nq, Nk] scores at scores_stage
  ScoreStage scores_stage = ScoreStage::kSoftmax;
  // relativeBias: Hugging Face's relative_attention_bias.weight [num_buckets, H]; its tables by
  // distance are built on the worker, one per batch when the diagonal offset is per batch.
  const float* rel_weight = nullptr;
  int32_t rel_buckets = 0, rel_max_distance = 0;
  bool rel_bidirectional = true;
  std::vector<float> rel_tables;
  int want_threads = 0;
  bool force_decode = false;  // args.path 'decode' (tests, benches): the decode kernel for any Nq
  // float16 / bfloat16 calls: q, k, v as bits (where CallBuffers places them),
  // converted to float32 on the worker; the float32 result converted back into `out`'s bytes.
  bool half = false, half_bf16 = false;
  const uint16_t* half_in[3] = {nullptr, nullptr, nullptr};
  int64_t half_n[3] = {0, 0, 0};
  std::vector<float> half_f32[3], out_f32;
  float* half_out = nullptr;  // ceil(n / 2) floats holding n half results
  int64_t out_n = 0;

  void convert_half_inputs() {
    // The dispatched conversion (F16C / AVX-512 / NEON, W values per instruction) across the
    // call's threads: it reads and writes every input element once.
    HalfConvertParams c;
    c.bf16 = half_bf16;
    c.to_float = true;
    c.threads = p.threads;
    for (int i = 0; i < 3; ++i) {
      half_f32[i].resize(static_cast<size_t>(half_n[i]));
      c.src16 = half_in[i];
      c.dst32 = half_f32[i].data();
      c.n = half_n[i];
      half_convert(c);
    }
    p.q = half_f32[0].data();
    p.k = half_f32[1].data();
    p.v = half_f32[2].data();
    out_f32.resize(static_cast<size_t>(out_n));  // every element is written by the kernel
    p.out = out_f32.data();
  }

  void convert_half_output() {
    // Straight into `out`'s bytes (ceil(n / 2) floats hold the n halves).
    HalfConvertParams c;
    c.bf16 = half_bf16;
    c.to_float = false;
    c.threads = p.threads;
    c.src32 = out_f32.data();
    c.dst16 = reinterpret_cast<uint16_t*>(half_out);
    c.n = out_n;
    half_convert(c);
  }

  void build_relative_bias() {
    if (p.Nq == 0 || p.Nk == 0) return;  // no score reads a bias
    const int64_t len = p.Nq + p.Nk - 1;
    const int64_t tables = p.causal_offsets ? p.B : 1;
    std::vector<int64_t> offsets(static_cast<size_t>(tables));
    for (int64_t t = 0; t < tables; ++t) offsets[t] = p.diagonal(t);
    rel_tables.resize(static_cast<size_t>(tables * p.H * len));
    relative_bias_tables(rel_weight, p.H, rel_buckets, rel_max_distance, rel_bidirectional, p.Nq, p.Nk, offsets.data(),
                         tables, rel_tables.data());
    p.position_bias = rel_tables.data() + (p.Nk - 1);
    p.position_bias_stride[0] = tables > 1 ? p.H * len : 0;
    p.position_bias_stride[1] = len;
    p.position_bias_stride[2] = 1;
    p.position_bias_stride[3] = -1;
  }

  Precision precision = Precision::kFp32;  // options.precision (precision_args.h)

  void operator()(int threads) {
    p.threads = threads;
    if (!mask.empty()) p.key_mask = mask.data();
    if (rel_weight) build_relative_bias();
    // Half tensors: the prefill kernel widens rows as it loads them (no float32 copies of q, k, v
    // and out) wherever the float32 call would run it, and while its per-thread key/value rows (one
    // head each) take no more memory than float32 copies of k and v would; otherwise, up front.
    const bool in_kernel = precision == Precision::kFp32 && !force_decode && !weights && !scores &&
                           !decode_path_applies(p) && p.threads <= p.B * p.Hk;
    if (half && in_kernel) {
      p.half_io = half_bf16 ? 2 : 1;
      p.q_half = half_in[0];
      p.k_half = half_in[1];
      p.v_half = half_in[2];
      p.out_half = reinterpret_cast<uint16_t*>(half_out);
    } else if (half) {
      convert_half_inputs();
    }
    switch (precision) {
      case Precision::kFp32:
        if (force_decode) decode_attention(p);
        else dense_attention(p);
        break;
      case Precision::kBf16: dense_attention_bf16(p); break;
      case Precision::kFp16: dense_attention_fp16(p); break;
    }
    if (half && p.half_io == 0) convert_half_output();
    if (weights) {
      if (precision == Precision::kBf16) dense_attention_weights_bf16(p, weights);
      else if (precision == Precision::kFp16) dense_attention_weights_fp16(p, weights);
      else dense_attention_weights(p, weights);
    }
    if (scores) dense_attention_scores(p, scores_stage, scores);
  }
};

// Largest |causalOffset| and window size taken as given (sizes are < 2^40, so key_range's
// sums cannot overflow); a window side beyond it is open.
constexpr double kMaxOffset = 1099511627776.0;  // 2^40

// An integer number field within [lo, hi], naming the field in the error.
int64_t get_int_in(Napi::Env env, Napi::Object a, const char* key, double lo, double hi) {
  const double d = get_number(a, key);
  if (!std::isfinite(d) || d != std::floor(d)) throw_range(env, std::string(key) + " must be an integer");
  if (d < lo || d > hi) throw_range(env, std::string(key) + " is out of range");
  return static_cast<int64_t>(d);
}

// The standard operator's options (all optional).
void read_standard_options(Napi::Env env, Napi::Object a, CallBuffers& buffers, DenseJob& job, int64_t nq) {
  DenseAttentionParams& p = job.p;
  if (has(a, "softcap")) {
    const double c = get_number(a, "softcap");
    if (!(c > 0) || !std::isfinite(c)) throw_range(env, "softcap must be a finite number > 0");
    p.softcap = static_cast<float>(c);
  }
  if (has(a, "causalOffset")) p.causal_offset = get_int_in(env, a, "causalOffset", -kMaxOffset, kMaxOffset);
  if (has(a, "causalOffsets")) {
    const int32_t* offs = buffers.input_i32(a, "causalOffsets", p.B);
    p.causal_offsets = offs;  // int32: within kMaxOffset
  }
  // -1 = open side (ONNX's convention); larger than any reach = open too.
  auto window_side = [&](const char* key, int64_t& side) {
    if (!has(a, key)) return;
    const int64_t w = get_int_in(env, a, key, -1, 9007199254740991.0);
    side = w < 0 || static_cast<double>(w) > kMaxOffset ? DenseAttentionParams::kOpen : w;
  };
  window_side("windowLeft", p.window_left);
  window_side("windowRight", p.window_right);
  if (has(a, "keyLengths")) {
    const int32_t* len = buffers.input_i32(a, "keyLengths", p.B);
    for (int64_t b = 0; b < p.B; ++b)
      if (len[b] < 0 || len[b] > p.Nk)
        throw_range(env, "keyLengths[" + std::to_string(b) + "] = " + std::to_string(len[b]) +
                             " is outside [0, Nk = " + std::to_string(p.Nk) + "]");
    p.key_lengths = len;
  }
  if (has(a, "scores")) {
    job.scores = buffers.output(a, "scores", checked_mul(env, nq, p.Nk, "scores"));
    job.scores_stage = static_cast<ScoreStage>(get_int_in(env, a, "scoresStage", 0, 3));
  }
  if (has(a, "lse")) p.lse = buffers.output(a, "lse", nq);
  if (has(a, "relTable")) {
    job.rel_buckets = static_cast<int32_t>(get_int_in(env, a, "relNumBuckets", 1, 1 << 30));
    job.rel_max_distance = static_cast<int32_t>(get_int_in(env, a, "relMaxDistance", 1, 2147483647.0));
    job.rel_bidirectional = get_bool(a, "relBidirectional", true);
    job.rel_weight = buffers.input(a, "relTable", checked_mul(env, job.rel_buckets, p.H, "relTable"));
    // The tables: (B or 1) x H x (Nq + Nk - 1) floats.
    checked_mul(env, checked_mul(env, p.causal_offsets ? p.B : 1, p.H, "relativeBias tables"), p.Nq + p.Nk,
                "relativeBias tables");
  }
}

Napi::Value dense(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  auto job = std::make_shared<DenseJob>();
  auto buffers = std::make_shared<CallBuffers>(async);
  DenseAttentionParams& p = job->p;
  p.B = get_size(a, "B");
  p.H = get_size(a, "H");
  p.Hk = get_size(a, "Hk");
  p.Nq = get_size(a, "Nq");
  p.Nk = get_size(a, "Nk");
  p.D = get_size(a, "D");
  p.Dv = get_size(a, "Dv");
  if (p.Hk == 0 || p.H % p.Hk != 0) throw_range(env, "H must be a multiple of Hk (and Hk > 0)");
  const int64_t nq = checked_mul(env, checked_mul(env, p.B, p.H, "q"), p.Nq, "q");
  // kvCapacity (a KVCache view, [B, Hk, capacity, D] storage of which the first Nk rows per head
  // are used): k and v are the whole storage, read with the capacity's strides (no compaction).
  const bool cache = has(a, "kvCapacity");
  const int64_t rows = cache ? get_size(a, "kvCapacity") : p.Nk;
  if (rows < p.Nk) throw_range(env, "kvCapacity must be >= Nk");
  const int64_t nk = checked_mul(env, checked_mul(env, p.B, p.Hk, "k"), rows, "k");
  const int64_t sizes[3] = {checked_mul(env, nq, p.D, "q"), checked_mul(env, nk, p.D, "k"),
                            checked_mul(env, nk, p.Dv, "v")};
  const int64_t out_n = checked_mul(env, nq, p.Dv, "out");
  if (has(a, "halfType")) {
    // float16 / bfloat16: qHalf, kHalf, vHalf bits; out a Float32Array of ceil(n / 2) holding n halves.
    if (cache) throw_range(env, "kvCapacity (a KVCache view) does not go with halfType");
    const std::string type = a.Get("halfType").IsString() ? a.Get("halfType").As<Napi::String>().Utf8Value() : "";
    if (type != "float16" && type != "bfloat16") throw_range(env, "halfType must be 'float16' or 'bfloat16'");
    job->half = true;
    job->half_bf16 = type == "bfloat16";
    const char* keys[3] = {"qHalf", "kHalf", "vHalf"};
    for (int i = 0; i < 3; ++i) {
      job->half_n[i] = sizes[i];
      job->half_in[i] = buffers->input_u16(a, keys[i], sizes[i]);
    }
    job->out_n = out_n;
    job->half_out = buffers->output(a, "out", (out_n + 1) / 2);
  } else {
    p.q = buffers->input(a, "q", sizes[0]);
    if (has(a, "kvFormat")) {  // a float16 / bfloat16 KVCache: the decode kernel converts per tile
      Napi::Value fv = a.Get("kvFormat");
      const std::string f = fv.IsString() ? fv.As<Napi::String>().Utf8Value() : "";
      if (f == "float16") p.kv_format = 1;
      else if (f == "bfloat16") p.kv_format = 2;
      else throw_type(env, "kvFormat must be 'float16' or 'bfloat16'");
      if (!cache) throw_range(env, "kvFormat needs kvCapacity (a KVCache view)");
      if (has(a, "weights")) throw_range(env, "weights are not computed from a 16-bit KVCache");
      p.k16 = buffers->input_u16(a, "k", sizes[1], " (a 16-bit KVCache's storage)");
      p.v16 = buffers->input_u16(a, "v", sizes[2], " (a 16-bit KVCache's storage)");
    } else {
      p.k = buffers->input(a, "k", sizes[1]);
      p.v = buffers->input(a, "v", sizes[2]);
    }
    p.out = buffers->output(a, "out", out_n);
  }
  // Same element counts in both layouts; only the strides differ (the kernel reads any).
  const bool bnhd = read_layout_bnhd(a);
  if (bnhd && cache) throw_range(env, "kvCapacity needs layout 'bhnd'");
  const auto strides = bnhd ? &Strides::bnhd : &Strides::bhnd;
  p.qs = strides(p.H, p.Nq, p.D);
  p.ks = strides(p.Hk, rows, p.D);
  p.vs = strides(p.Hk, rows, p.Dv);
  p.os = strides(p.H, p.Nq, p.Dv);
  const double scale = get_number(a, "scale");
  if (!std::isfinite(scale)) throw_range(env, "scale must be a finite number");
  p.scale = static_cast<float>(scale);
  p.causal = get_bool(a, "causal", false);
  get_mask_opt(a, "keyMask", checked_mul(env, p.B, p.Nk, "keyMask"), job->mask);
  if (has(a, "bias")) {
    Napi::Value dv = a.Get("biasDims");
    if (!dv.IsArray() || dv.As<Napi::Array>().Length() != 4) throw_type(env, "biasDims must be an array of 4 sizes");
    Napi::Array dims = dv.As<Napi::Array>();
    const int64_t full[4] = {p.B, p.H, p.Nq, p.Nk};
    int64_t n = 1;
    int64_t bd[4];
    for (uint32_t i = 0; i < 4; ++i) {
      Napi::Value e = dims.Get(i);
      if (!e.IsNumber()) throw_type(env, "biasDims must hold numbers");
      const double d = e.As<Napi::Number>().DoubleValue();
      if (!(d == 1 || d == static_cast<double>(full[i])))
        throw_range(env, "bias dim " + std::to_string(i) + " must be 1 or " + std::to_string(full[i]));
      bd[i] = static_cast<int64_t>(d);
      n = checked_mul(env, n, bd[i], "bias");
    }
    p.bias = buffers->input(a, "bias", n);
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      p.bias_stride[i] = bd[i] == 1 ? 0 : stride;
      stride *= bd[i];
    }
  }
  read_standard_options(env, a, *buffers, *job, nq);
  if (has(a, "weights"))
    job->weights = buffers->output(a, "weights", checked_mul(env, checked_mul(env, nq, p.Nk, "weights"), 1, "weights"));
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  if (has(a, "path")) {  // not public: which kernel runs ('auto' = dense_attention's own choice)
    Napi::Value pv = a.Get("path");
    const std::string path = pv.IsString() ? pv.As<Napi::String>().Utf8Value() : "";
    if (path == "flash") p.allow_decode = false;
    else if (path == "decode") job->force_decode = true;
    else if (path != "auto") throw_type(env, "path must be 'auto', 'flash' or 'decode'");
  }
  job->precision = read_precision(a);
  // The reduced-precision kernels implement the classic options (scale, causal, keyMask, bias,
  // layouts, GQA); the standard operator's newer ones run in float32 only, for now.
  if (job->precision != Precision::kFp32 && (needs_prefill_kernel(p) || job->scores || job->rel_weight))
    throw_range(env,
                "precision 'bf16'/'fp16' cannot be combined with softcap, causalOffset, window, keyLengths, "
                "relativeBias, returnScores or returnLogSumExp yet: use precision 'fp32' for those");
  // A 16-bit KVCache is read by the decode kernel only (float32 arithmetic, the classic options).
  if (p.kv_format != 0 &&
      (job->precision != Precision::kFp32 || needs_prefill_kernel(p) || job->scores || job->rel_weight))
    throw_range(env,
                "a 16-bit KVCache takes the classic options only (scale, causal, keyMask, bias) in precision 'fp32'; "
                "not softcap, causalOffset, window, keyLengths, relativeBias, returnScores or returnLogSumExp");
  if (job->force_decode && (needs_prefill_kernel(p) || job->rel_weight)) job->force_decode = false;
  return run_job(
      env, async, "attention", buffers, job->want_threads, [job](int threads) { (*job)(threads); },
      read_cancel_token(a));
}

}  // namespace

Napi::Value DenseAttentionSync(const Napi::CallbackInfo& info) { return dense(info, false); }
Napi::Value DenseAttentionAsync(const Napi::CallbackInfo& info) { return dense(info, true); }

}  // namespace binding
}  // namespace ga
