// The whole LongT5 model (Hugging Face LongT5ForConditionalGeneration / LongT5EncoderModel) in
// plain C++: weights held once in native memory, the encoder as one call, and a decoder session
// (cross-attention keys/values over one encoder output, a self-attention key/value cache that
// grows in place) that advances all rows/beams by one call per decode step. Every matrix product
// and attention runs through dispatch.
//
// Packed weights: every matrix a product reads (attention q/k/v/o, the FF's wi/wo, lm_head, and
// shared.weight when it doubles as the tied lm_head) is stored only in gemm_pack_b's form, packed
// as set_weight copies it in, so no forward packs anything and the model holds one copy of each
// weight. q/k/v are packed in groups of d_kv rows (one per head) so one product writes head-major
// keys/values. The packed layout is ISA-independent (kernels/gemm.h): switching the active ISA
// needs no repacking. copy_weight unpacks on demand (the rare export path).
//
// Precision (config.precision, fixed at construction): in bf16/fp16 the same matrices are held
// instead in that 16-bit type (half the memory; a BF16/F16 checkpoint's tensor of the same type is
// copied as is, others are rounded once, by the kernels' rule), packed once by gemm_pack_b16 in
// the same groups (kernels/gemm_bf16_packed.h: ISA-independent too), and every product runs
// through gemm_abt_bf16_packed/_fp16_packed, which neither convert nor repack them; the embedding
// table is plain 16-bit rows (packed when it is the tied lm_head). Norms, activations,
// residuals, the decoder's attention cores (a reduced kernel would re-round the whole cache every
// step) and the caches stay float32; the encoder's cores run at the layer's precision.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/t5_elementwise.h"
#include "ops/compute_precision.h"
#include "ops/longt5_layer.h"
#include "runtime/aligned_buffer.h"

namespace ga {

// The feed-forward's buffers: the normed input of a row block [rows, d_model] and its [rows, d_ff]
// intermediates. Buffers only grow; contents undefined between calls.
struct FfScratch {
  AlignedBuffer n, a, g;
};

// Everything one encoder forward writes besides its output. The model keeps one between calls
// (LongT5Model::encode): freshly mapped buffers cost a page fault and a zero-fill per page on
// every forward (~10% of a forward at N = 16k), reused ones nothing.
// (The residual stream is the caller's output itself, normed in place at the end.)
struct LongT5EncoderWorkspace {
  FfScratch ff;  // ff.n, grown to [B*N, d_model], is also the attention layers' normed input;
                 // ff.a and ff.g stay empty: during the FF they are layer.q and layer.k (encode)
  LongT5LayerScratch layer;
  size_t floats() const {
    return ff.n.size() + ff.a.size() + ff.g.size() + layer.q.size() + layer.k.size() + layer.v.size() +
           layer.ctx.size() + layer.aggregates.size() + layer.gk.size() + layer.gv.size();
  }
};

struct LongT5ModelConfig {
  int64_t vocab = 0, d_model = 0, d_kv = 0, heads = 0, d_ff = 0;
  int64_t encoder_layers = 0, decoder_layers = 0;
  int64_t local_radius = 0, global_block_size = 1;
  int32_t num_buckets = 32, max_distance = 128;
  float eps = 1e-6f;
  bool transient_global = true;  // encoder attention: TGlobal, else local
  bool gated = true;             // FF: act(wi_0 x) * (wi_1 x), else act(wi x)
  FfActivation act = FfActivation::kGeluNew;
  bool tied = false;                                     // lm_head = shared (output scaled by d_model^-0.5)
  bool decoder = true;                                   // false: the encoder alone (LongT5EncoderModel)
  ComputePrecision precision = ComputePrecision::kFp32;  // of the products, and how matrices are held
};

class LongT5Model {
 public:
  // Lays out the expected weights (Hugging Face names); nothing is allocated until set_weight.
  explicit LongT5Model(const LongT5ModelConfig& config);

  const LongT5ModelConfig& config() const { return c_; }
  // Expected shape of a weight, or nullptr if the model has no weight of that name.
  const std::vector<int64_t>* weight_shape(const std::string& name) const;
  // Copies n floats into the named weight, packing the matrices products read (n must equal its
  // element count; the caller checks the shape against weight_shape first). Throws std::bad_alloc.
  void set_weight(const std::string& name, const float* data, int64_t n);
  // The same from 16-bit values of type `type` (a BF16 or F16 checkpoint tensor): copied as they are
  // into a 16-bit weight of the same type, else widened (exactly) and stored as set_weight does.
  void set_weight16(const std::string& name, const uint16_t* data, int64_t n, ComputePrecision type);
  // Writes the named weight's values in its logical [out, in] layout (unpacking a packed one) to
  // out (its element count of floats); false if absent or not yet set.
  bool copy_weight(const std::string& name, float* out) const;
  // Names of expected weights not set yet, in model order.
  std::vector<std::string> missing_weights() const;
  // All expected weight names, in model order.
  std::vector<std::string> weight_names() const;
  // After every weight is set: resolves the per-layer pointers. Returns false if any is missing.
  bool finalize();
  bool ready() const { return ready_; }
  // Bytes the weights set so far occupy in native memory (packed, plain or 16-bit forms).
  int64_t weight_bytes() const;
  // Bytes of encoder scratch kept idle between calls (see take_workspace), and a way to free it:
  // a server that saw one long input need not keep that input's scratch. Calls in flight keep theirs.
  int64_t idle_scratch_bytes() const;
  void release_idle_scratch() const;

  // Encoder: ids [B, N] in [0, vocab), mask [B, N] 0/1 or nullptr (all tokens) -> out [B, N, d_model]
  // (the encoder's last hidden state, after the final norm; out also holds the residual stream on
  // the way, so after an exception its contents are unspecified). Safe to call concurrently: each
  // call takes a workspace of its own from the model's pool (see take_workspace).
  void encode(const int32_t* ids, const uint8_t* mask, int64_t B, int64_t N, float* out, int threads) const;
  // The same in a caller's workspace (grown as needed).
  void encode(const int32_t* ids, const uint8_t* mask, int64_t B, int64_t N, float* out, int threads,
              LongT5EncoderWorkspace& ws) const;

  // Matrices (q k v o wi0 wi1 wo; sq.. co) point at packed forms: q/k/v in groups of d_kv rows,
  // the rest in one group; in a 16-bit precision at gemm_pack_b16's form instead (half16()). Norm weights
  // are plain vectors.
  struct EncoderLayer {
    const float *ln0, *q, *k, *v, *o, *global_norm, *ln1, *wi0, *wi1, *wo;
  };
  struct DecoderLayer {
    const float *ln0, *sq, *sk, *sv, *so, *ln1, *cq, *ck, *cv, *co, *ln2, *wi0, *wi1, *wo;
  };
  const std::vector<DecoderLayer>& decoder_layers() const { return dec_; }
  // Rows ids[0..n) of the embedding table (shared.weight, plain or packed) into out [n, d_model].
  void embed(const int32_t* ids, int64_t n, float* out) const;
  const float* lm_head() const { return lm_head_; }  // packed, one group of vocab rows
  const float* decoder_rel_bias() const { return dec_rel_bias_; }
  const float* decoder_final_norm() const { return dec_final_; }
  // A matrix pointer of a 16-bit model (EncoderLayer etc.) as what it holds: packed 16-bit values.
  static const uint16_t* half16(const float* w) { return reinterpret_cast<const uint16_t*>(w); }
  // C[M, N] (+)= A[M, K] · W[N, K]ᵀ for one of the model's matrices, at the model's precision (lda = K,
  // ldc = N unless given; group_n: W's packing groups; C's columns stay in W's row order).
  void linear(const float* a, int64_t M, int64_t K, const float* w, int64_t N, float* c, bool accumulate, int threads,
              int64_t lda = -1, int64_t ldc = -1, int64_t group_n = 0) const;
  // x [B, rows, C] · Wᵀ into head-major dst [B, H, rows, D] for a q/k/v matrix, at the model's precision.
  void project_heads(const float* x, int64_t B, int64_t rows, int64_t C, const float* w, int64_t H, int64_t D,
                     float* dst, int threads) const;
  // h [M, C] += FF(rms(h, ln)) for a layer's packed FF weights, in row blocks (scratch of at most ~2 x 16 MiB,
  // in `scratch` when given, else allocated per call).
  void feed_forward(float* h, int64_t M, const float* ln, const float* wi0, const float* wi1, const float* wo,
                    int threads, FfScratch* scratch = nullptr) const;
  void rms_norm(const float* x, int64_t M, const float* w, float scale, float* out, int threads) const;

 private:
  struct Slot {
    std::vector<int64_t> shape;
    AlignedBuffer data;      // plain, or gemm_pack_b's form when pack_group > 0; when half, 16-bit values:
                             // [out, in] rows, or gemm_pack_b16's form when pack_group > 0
    int64_t pack_group = 0;  // rows per packed group (d_kv for q/k/v, shape[0] otherwise); 0: plain
    bool half = false;       // held in config.precision's 16-bit type
    bool set = false;
  };
  // pack_group: see Slot (0: kept plain).
  void expect(const std::string& name, std::vector<int64_t> shape, int64_t pack_group = 0);
  const float* get(const std::string& name) const;
  // Stores n 16-bit values of config.precision's type into a half slot (packing a matrix).
  void store_half(const std::string& name, Slot& s, const uint16_t* data, int64_t n);
  // The encoder's workspace pool: a call takes an idle workspace (or a new, empty one) and gives
  // it back when it completes; one that ends by an exception (cancellation, out of memory) is
  // freed instead, so an aborted call leaves no memory behind. At most kIdleWorkspaces stay idle
  // (the largest): a lone caller reuses its buffers, concurrent callers never share one, and the
  // memory kept between calls is one forward's scratch at the largest size seen, freed with the model.
  static constexpr size_t kIdleWorkspaces = 1;
  std::unique_ptr<LongT5EncoderWorkspace> take_workspace() const;
  void give_back(std::unique_ptr<LongT5EncoderWorkspace> ws) const;

  LongT5ModelConfig c_;
  std::map<std::string, Slot> slots_;
  std::vector<std::string> order_;
  bool ready_ = false;
  const float* shared_ = nullptr;
  bool shared_packed_ = false;  // shared.weight is the tied lm_head, stored packed
  const float* enc_rel_bias_ = nullptr;
  const float* enc_global_rel_bias_ = nullptr;
  const float* enc_final_ = nullptr;
  const float* dec_rel_bias_ = nullptr;
  const float* dec_final_ = nullptr;
  const float* lm_head_ = nullptr;
  std::vector<EncoderLayer> enc_;
  std::vector<DecoderLayer> dec_;
  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<LongT5EncoderWorkspace>> idle_;  // guarded by pool_mu_
};

// One generation's decoder state for R = B * beams rows (row r belongs to encoder row r / beams).
// Cross-attention keys/values are projected from the encoder output once, at construction; the
// self-attention cache grows by capacity doubling. Not thread-safe: one call at a time.
class LongT5DecoderSession {
 public:
  // enc [B, N, d_model], enc_mask [B, N] 0/1 or nullptr. Keeps a reference to the model.
  LongT5DecoderSession(std::shared_ptr<const LongT5Model> model, const float* enc, const uint8_t* enc_mask, int64_t B,
                       int64_t N, int64_t beams, int threads);

  int64_t rows() const { return R_; }
  int64_t length() const { return len_; }
  // Appends T tokens per row (ids [R, T]) and writes logits: all positions [R, T, vocab], or
  // (last_only) the last position's [R, vocab].
  void step(const int32_t* ids, int64_t T, float* logits, bool last_only, int threads);
  // Row r of the cache becomes (a copy of) old row src[r] (beam search's reordering); src in [0, R).
  void reorder(const int32_t* src);

 private:
  void reserve(int64_t needed);
  // The session's products run at the model's precision.
  void linear(const float* a, int64_t M, int64_t K, const float* w, int64_t N, float* c, bool accumulate, int threads,
              int64_t lda = -1, int64_t ldc = -1, int64_t group_n = 0) const {
    m_->linear(a, M, K, w, N, c, accumulate, threads, lda, ldc, group_n);
  }

  std::shared_ptr<const LongT5Model> m_;
  int64_t B_, N_, beams_, R_;
  std::vector<uint8_t> enc_mask_;
  std::vector<AlignedBuffer> cross_k_, cross_v_;  // per layer [B, H, N, D]
  std::vector<AlignedBuffer> self_k_, self_v_;    // per layer [R, H, cap, D]
  AlignedBuffer spare_;                           // reorder scratch, one layer's cache
  int64_t len_ = 0, cap_ = 0;
};

}  // namespace ga
