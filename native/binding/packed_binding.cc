// denseAttentionPacked / denseAttentionPackedAsync: dense attention over a packed mixed-length
// batch (kernels/packed_attention.h): q [T, H, D], k [Tk, Hk, D], v [Tk, Hk, Dv], out [T, H, Dv],
// seqStarts / keySeqStarts Int32Array [seqs + 1].
#include <cmath>
#include <memory>
#include <string>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "dispatch/dispatch.h"

namespace ga {
namespace binding {
namespace {

// cu_seqlens: starts at 0, never decreases, ends at total.
void check_starts(Napi::Env env, const char* name, const int32_t* s, int64_t seqs, int64_t total) {
  if (s[0] != 0) throw_range(env, std::string(name) + "[0] must be 0");
  for (int64_t i = 0; i < seqs; ++i)
    if (s[i + 1] < s[i])
      throw_range(env, std::string(name) + " must be non-decreasing (index " + std::to_string(i + 1) + ")");
  if (s[seqs] != total) throw_range(env, std::string(name) + " must end at " + std::to_string(total));
}

Napi::Value packed(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  struct Job {
    PackedAttentionParams pp;
    int want_threads = 0;
  };
  auto job = std::make_shared<Job>();
  auto buffers = std::make_shared<CallBuffers>(async);
  DenseAttentionParams& p = job->pp.p;
  const int64_t T = get_size(a, "T"), Tk = get_size(a, "Tk");
  p.H = get_size(a, "H");
  p.Hk = get_size(a, "Hk");
  p.D = get_size(a, "D");
  p.Dv = get_size(a, "Dv");
  job->pp.seqs = get_size(a, "seqs", int64_t(1) << 31);
  if (T > INT32_MAX || Tk > INT32_MAX) throw_range(env, "T and Tk must fit in an Int32Array offset");
  if (p.Hk == 0 || p.H % p.Hk != 0) throw_range(env, "H must be a multiple of Hk (and Hk > 0)");
  const int64_t nq = checked_mul(env, T, p.H, "q"), nk = checked_mul(env, Tk, p.Hk, "k");
  p.q = buffers->input(a, "q", checked_mul(env, nq, p.D, "q"));
  p.k = buffers->input(a, "k", checked_mul(env, nk, p.D, "k"));
  p.v = buffers->input(a, "v", checked_mul(env, nk, p.Dv, "v"));
  p.out = buffers->output(a, "out", checked_mul(env, nq, p.Dv, "out"));
  p.qs = Strides::bnhd(p.H, T, p.D);
  p.ks = Strides::bnhd(p.Hk, Tk, p.D);
  p.vs = Strides::bnhd(p.Hk, Tk, p.Dv);
  p.os = Strides::bnhd(p.H, T, p.Dv);
  const double scale = get_number(a, "scale");
  if (!std::isfinite(scale)) throw_range(env, "scale must be a finite number");
  p.scale = static_cast<float>(scale);
  p.causal = get_bool(a, "causal", false);
  const int32_t* qs = buffers->input_i32(a, "seqStarts", job->pp.seqs + 1);
  const int32_t* ks = buffers->input_i32(a, "keySeqStarts", job->pp.seqs + 1);
  check_starts(env, "seqStarts", qs, job->pp.seqs, T);
  check_starts(env, "keySeqStarts", ks, job->pp.seqs, Tk);
  job->pp.seq_starts = qs;
  job->pp.key_seq_starts = ks;
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  if (has(a, "path")) {  // not public: 'flash' keeps every sequence on the query-block kernel
    Napi::Value pv = a.Get("path");
    const std::string path = pv.IsString() ? pv.As<Napi::String>().Utf8Value() : "";
    if (path == "flash") p.allow_decode = false;
    else if (path != "auto") throw_type(env, "path must be 'auto' or 'flash'");
  }
  return run_job(
      env, async, "packed attention", buffers, job->want_threads,
      [job](int threads) {
        job->pp.p.threads = threads;
        packed_attention(job->pp);
      },
      read_cancel_token(a));
}

}  // namespace

Napi::Value DensePackedSync(const Napi::CallbackInfo& info) { return packed(info, false); }
Napi::Value DensePackedAsync(const Napi::CallbackInfo& info) { return packed(info, true); }

}  // namespace binding
}  // namespace ga
