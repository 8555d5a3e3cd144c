// ReplaceMe end to end in the library:
//  - on a model built so that the removed blocks are exactly linear (see linear_range_model), the LS
//    transform recovers their map and the pruned model's logits equal the original's, for a range in
//    the middle and for one ending at the last layer (the final-norm edge case);
//  - merging T into down_proj gives the logits of the unmerged model with an explicit T layer;
//  - layer and parameter counts of the output are exact, for every method, and the output written as
//    a HF directory loads back through the HF loader with the same logits.
#include "lmshrink/prune/depth_prune.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/inspect.h"
#include "lmshrink/prune/lstsq_transform.h"
#include "lmshrink/prune/merge.h"
#include "lmshrink/prune/range_capture.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace {

using lmshrink::BlockRange;
using lmshrink::Transformer;

constexpr int64_t kHidden = 8, kHalf = 4, kInter = 16, kVocab = 32;
constexpr double kEps = 1e12;  // float32(mean(x^2) + 1e12) == 1e12 for mean(x^2) < 32768

at::Tensor randn(std::vector<int64_t> shape, double scale) { return scale * torch::randn(shape); }

// A model whose blocks first..last are exactly linear maps that leave the residual Y of the block
// before them untouched, so h_last = Y + M T_true exactly (rows = tokens):
//  - rms_norm_eps = 1e12 makes every RMSNorm the constant scaling s = rsqrt(1e12) in float32 (norm
//    weights 1e6 undo it in the kept blocks);
//  - the embeddings, every block before k = first - 1 and block k's attention write only coordinates
//    [0, 4): Y lives there; block k's MLP output M spans all 8 coordinates;
//  - a removed block has o_proj = 0 (no attention) and gate weight 0 with a gate bias c, so its MLP is
//    h -> ((s w .* h) U^T .* silu(c)) D^T, and U reads only coordinates [4, 8): Y passes through.
// Returns the model and T_true = prod_j (I + A_j), A_j = diag(s w_j) U_j^T diag(silu(c_j)) D_j^T.
std::pair<std::unique_ptr<Transformer>, at::Tensor> linear_range_model(const BlockRange& range, uint64_t seed) {
  torch::manual_seed(seed);
  lmshrink::ModelConfig c;
  c.hidden_size = kHidden;
  c.intermediate_size = kInter;
  c.num_layers = 5;
  c.num_heads = 2;
  c.num_kv_heads = 2;
  c.head_dim = 4;
  c.vocab_size = kVocab;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = kEps;
  c.mlp_bias = true;
  c.source_format = "synthetic";
  at::Tensor low_only = torch::cat({torch::ones({kHalf}), torch::zeros({kHidden - kHalf})});  // [hidden]
  at::Tensor embed = randn({kVocab, kHidden}, 1.0) * low_only;
  double s = torch::rsqrt(torch::tensor(static_cast<float>(kEps))).item<double>();
  int64_t kept = range.first - 1;
  at::Tensor t_true = torch::eye(kHidden, torch::kFloat64);
  std::vector<lmshrink::TransformerBlock> blocks(c.num_layers);
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    lmshrink::TransformerBlock& b = blocks[layer];
    bool removed = layer >= range.first && layer <= range.last;
    bool before = layer < kept;
    b.attn_norm = torch::full({kHidden}, 1e6);
    b.mlp_norm = (1e6 * (0.5 + torch::rand({kHidden})));
    b.q_proj = std::make_unique<lmshrink::DenseLinear>(randn({kHidden, kHidden}, 0.5));
    b.k_proj = std::make_unique<lmshrink::DenseLinear>(randn({kHidden, kHidden}, 0.5));
    b.v_proj = std::make_unique<lmshrink::DenseLinear>(randn({kHidden, kHidden}, 0.5));
    at::Tensor o = randn({kHidden, kHidden}, 0.3);
    if (removed) o.zero_();
    if (before || layer == kept) o = o * low_only.unsqueeze(1);  // rows [4, 8) zero: writes only [0, 4)
    b.o_proj = std::make_unique<lmshrink::DenseLinear>(o);
    at::Tensor gate = randn({kInter, kHidden}, 0.5), gate_bias = randn({kInter}, 0.3);
    at::Tensor up = randn({kInter, kHidden}, 0.5), up_bias = randn({kInter}, 0.1);
    at::Tensor down = randn({kHidden, kInter}, 0.3), down_bias = randn({kHidden}, 0.1);
    if (removed) {
      gate.zero_();
      gate_bias = 1.0 + torch::rand({kInter});
      up = up * (1.0 - low_only);  // reads only coordinates [4, 8)
      up_bias.zero_();
      down_bias.zero_();
      at::Tensor a = torch::diag((s * b.mlp_norm).to(torch::kFloat64))
                         .matmul(up.t().to(torch::kFloat64))
                         .matmul(torch::diag(torch::silu(gate_bias).to(torch::kFloat64)))
                         .matmul(down.t().to(torch::kFloat64));  // [hidden, hidden]
      t_true = t_true.matmul(torch::eye(kHidden, torch::kFloat64) + a);
    }
    if (before) {
      down = down * low_only.unsqueeze(1);
      down_bias = down_bias * low_only;
    }
    b.gate_proj = std::make_unique<lmshrink::DenseLinear>(gate, gate_bias);
    b.up_proj = std::make_unique<lmshrink::DenseLinear>(up, up_bias);
    b.down_proj = std::make_unique<lmshrink::DenseLinear>(down, down_bias);
  }
  // final norm weight 1e4 (a scale of 0.01) and a small lm_head keep the logits of order 1
  auto lm_head = std::make_unique<lmshrink::DenseLinear>(randn({kVocab, kHidden}, 0.1));
  auto model = std::make_unique<Transformer>(c, embed, std::move(blocks), torch::full({kHidden}, 1e4), std::move(lm_head));
  return {std::move(model), t_true};
}

at::Tensor random_tokens(int64_t vocab, int64_t n, int64_t seq_len, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, vocab, {n, seq_len}, torch::kInt64);
}

lmshrink::PruneOptions replaceme_options(std::vector<BlockRange> ranges, const std::string& objective = "lstsq") {
  lmshrink::PruneOptions options;
  options.method = "replaceme";
  options.objective = objective;
  options.ranges = std::move(ranges);
  options.batch_size = 4;
  return options;
}

double max_abs(const at::Tensor& a) { return a.abs().max().item<double>(); }

void expect_exact_linear_range_recovered(const BlockRange& range) {
  lmshrink::set_progress_quiet(true);
  auto [model, t_true] = linear_range_model(range, 21);
  at::Tensor calib = random_tokens(kVocab, 12, 16, 22);
  std::vector<bool> dropped(5, false);
  lmshrink::RangeActivations acts = lmshrink::capture_range(*model, calib, range, dropped, 5);
  EXPECT_EQ(acts.kept_block, range.first - 1);
  lmshrink::LstsqAccumulator normal_equations(kHidden);
  normal_equations.add(acts.mlp_out, acts.target);
  at::Tensor t = lmshrink::solve_lstsq_transform(normal_equations, 0.0);
  EXPECT_LE(((t - t_true).norm() / t_true.norm()).item<double>(), 1e-5) << "range " << lmshrink::describe(range);
  EXPECT_GT(((t_true - torch::eye(kHidden, torch::kFloat64)).norm()).item<double>(), 0.1);  // not a trivial map

  at::Tensor tokens = random_tokens(kVocab, 3, 20, 23);  // unseen tokens
  at::Tensor original = model->forward(tokens);
  lmshrink::PruneResult result = lmshrink::prune_model(std::move(model), calib, replaceme_options({range}));
  EXPECT_EQ(result.model->config().num_layers, 5 - range.size());
  ASSERT_EQ(result.fits.size(), 1u);
  EXPECT_LE(result.fits[0].relative_error, 1e-5);
  EXPECT_GT(result.fits[0].relative_error_identity, 0.1);
  at::Tensor pruned = result.model->forward(tokens);
  EXPECT_GT(max_abs(original), 0.1);
  EXPECT_LE(max_abs(pruned - original), 1e-5) << "logits scale " << max_abs(original);
}

TEST(PruneReplaceMeTest, ExactlyLinearRemovedBlocksAreRecoveredAndLogitsUnchanged) {
  expect_exact_linear_range_recovered({2, 3});
}

TEST(PruneReplaceMeTest, RangeEndingAtTheLastLayerFitsThePreNormOutput) {
  expect_exact_linear_range_recovered({3, 4});
}

std::unique_ptr<Transformer> stories() {
  lmshrink::set_progress_quiet(true);
  return lmshrink::load_llama2c(lmshrink::testing::stories_bin());
}

at::Tensor tinystories_calibration(int64_t n, int64_t seq_len) {
  lmshrink::Llama2cTokenizer tokenizer(lmshrink::testing::stories_tok());
  auto docs = lmshrink::read_corpus(lmshrink::testing::shared_path("data/tinystories/tinystories-valid-calib.txt"));
  return lmshrink::sample_calibration(docs, tokenizer, lmshrink::CalibSpec{"tinystories", "blocks", n, seq_len, 0});
}

// Observes block k's down_proj input.
class DownInput : public lmshrink::BlockObserver {
 public:
  void on_linear_input(int64_t, lmshrink::LinearInput input, const at::Tensor& x) override {
    if (input == lmshrink::LinearInput::kDown) activated = x;
  }
  at::Tensor activated;
};

// Logits of the unmerged model: blocks before and at k as they are, then h = Y + M T with an explicit
// T, blocks of `range` skipped, the rest, the head.
at::Tensor logits_with_explicit_transform(const Transformer& model, const at::Tensor& tokens, const BlockRange& range,
                                          const at::Tensor& t) {
  torch::NoGradGuard no_grad;
  at::Tensor h = model.embed(tokens);
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    if (layer >= range.first && layer <= range.last) continue;
    if (layer != range.first - 1) {
      h = model.block_forward(layer, h, 0, nullptr);
      continue;
    }
    DownInput observer;
    at::Tensor out = model.block_forward(layer, h, 0, nullptr, &observer);
    at::Tensor m = model.blocks()[layer].down_proj->forward(observer.activated);  // M
    h = ((out - m).to(torch::kFloat64) + m.to(torch::kFloat64).matmul(t)).to(torch::kFloat32);  // Y + M T
  }
  return model.head(h);
}

TEST(PruneReplaceMeTest, MergedModelGivesTheLogitsOfAnExplicitTransformLayer) {
  auto model = stories();
  torch::manual_seed(31);
  at::Tensor t = torch::eye(64, torch::kFloat64) + 0.2 * torch::randn({64, 64}, torch::kFloat64);
  BlockRange range{2, 3};
  at::Tensor tokens = random_tokens(512, 2, 40, 32);
  at::Tensor expected = logits_with_explicit_transform(*model, tokens, range, t);
  lmshrink::merge_transform_into_down_proj(model->mutable_blocks()[1], t, "model.layers.1.mlp.down_proj");
  auto pruned = lmshrink::remove_blocks(*model, {2, 3});
  at::Tensor merged = pruned->forward(tokens);
  EXPECT_LE(max_abs(merged - expected), 1e-5 * max_abs(expected)) << max_abs(merged - expected);
}

TEST(PruneReplaceMeTest, FittedTransformMergedEqualsExplicitAndBeatsDropping) {
  auto model = stories();
  auto reference = stories();
  at::Tensor calib = tinystories_calibration(16, 128);
  std::vector<bool> dropped(5, false);
  BlockRange range{3, 4};  // ends at the last layer
  lmshrink::RangeActivations acts = lmshrink::capture_range(*reference, calib, range, dropped, 4);
  lmshrink::LstsqAccumulator normal_equations(64);
  normal_equations.add(acts.mlp_out, acts.target);
  at::Tensor t = lmshrink::solve_lstsq_transform(normal_equations, 0.0);
  lmshrink::PruneResult result = lmshrink::prune_model(std::move(model), calib, replaceme_options({range}));
  at::Tensor tokens = random_tokens(512, 2, 40, 33);
  at::Tensor expected = logits_with_explicit_transform(*reference, tokens, range, t);
  at::Tensor merged = result.model->forward(tokens);
  EXPECT_LE(max_abs(merged - expected), 1e-5 * max_abs(expected)) << max_abs(merged - expected);
  ASSERT_EQ(result.fits.size(), 1u);
  EXPECT_LT(result.fits[0].relative_error, result.fits[0].relative_error_identity);  // LS beats T = I
  EXPECT_EQ(result.fits[0].tokens, 16 * 128);
}

// params of one stories260K block: 2 norms + q, o [64, 64] + k, v [32, 64] + gate, up, down 64 x 172
constexpr int64_t kStoriesBlockParams = 2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 172;

TEST(PruneReplaceMeTest, LayerAndParameterCountsAreExactForEveryMethod) {
  at::Tensor calib = tinystories_calibration(8, 64);
  for (const char* method : {"replaceme", "uidl", "shortgpt"}) {
    for (int64_t blocks : {1, 2}) {
      lmshrink::PruneOptions options;
      options.method = method;
      options.blocks = blocks;
      options.batch_size = 4;
      lmshrink::PruneResult result = lmshrink::prune_model(stories(), calib, options);
      EXPECT_EQ(result.model->config().num_layers, 5 - blocks) << method;
      EXPECT_EQ(static_cast<int64_t>(result.model->blocks().size()), 5 - blocks) << method;
      EXPECT_EQ(static_cast<int64_t>(result.removed_layers.size()), blocks) << method;
      EXPECT_EQ(lmshrink::summarize_model(*result.model).total_params, 260032 - blocks * kStoriesBlockParams) << method;
      EXPECT_EQ(result.table.size(), std::string(method) == "shortgpt" ? 5u : static_cast<size_t>(5 - blocks)) << method;
      EXPECT_EQ(result.fits.size(), std::string(method) == "replaceme" ? 1u : 0u) << method;
    }
  }
}

TEST(PruneReplaceMeTest, UidlKeepsTheOtherBlocksUntouchedAndMatchesSkippingThem) {
  auto reference = stories();
  at::Tensor calib = tinystories_calibration(8, 64);
  lmshrink::PruneOptions options;
  options.method = "uidl";
  options.ranges = {{1, 1}, {3, 4}};
  lmshrink::PruneResult result = lmshrink::prune_model(stories(), calib, options);
  at::Tensor tokens = random_tokens(512, 2, 30, 34);
  torch::NoGradGuard no_grad;
  at::Tensor h = reference->embed(tokens);
  for (int64_t layer : {0, 2}) h = reference->block_forward(layer, h, 0, nullptr);
  EXPECT_TRUE(torch::equal(result.model->forward(tokens), reference->head(h)));  // the same blocks, ops and inputs
}

TEST(PruneReplaceMeTest, SeveralRangesAreFittedInTurnAndMergeConsecutiveFusesThem) {
  at::Tensor calib = tinystories_calibration(16, 128);
  auto separate = lmshrink::prune_model(stories(), calib, replaceme_options({{1, 2}, {3, 4}}));
  ASSERT_EQ(separate.fits.size(), 2u);
  EXPECT_EQ(separate.fits[0].merged_into, 0);
  EXPECT_EQ(separate.fits[1].merged_into, 0);  // block 2 is gone: the second T goes into block 0 too
  EXPECT_EQ(separate.model->config().num_layers, 1);
  lmshrink::PruneOptions merge = replaceme_options({{1, 2}, {3, 4}});
  merge.merge_consecutive = true;
  auto fused = lmshrink::prune_model(stories(), calib, merge);
  ASSERT_EQ(fused.fits.size(), 1u);
  EXPECT_EQ(lmshrink::describe(fused.fits[0].range), "1-4");
  // the selection path: 2 windows of 1 block
  lmshrink::PruneOptions selected;
  selected.method = "replaceme";
  selected.blocks = 1;
  selected.num_ranges = 2;
  auto two = lmshrink::prune_model(stories(), calib, selected);
  EXPECT_EQ(two.removed_layers.size(), 2u);
  EXPECT_EQ(two.model->config().num_layers, 3);
}

TEST(PruneReplaceMeTest, OutputLoadsThroughTheHfLoaderWithTheSameLogits) {
  at::Tensor calib = tinystories_calibration(16, 128);
  lmshrink::PruneOptions options;
  options.method = "replaceme";
  options.blocks = 2;
  lmshrink::PruneResult result = lmshrink::prune_model(stories(), calib, options);
  auto dir = lmshrink::testing::temp_dir("prune_hf");
  lmshrink::write_hf_model(*result.model, dir.string());
  auto loaded = lmshrink::load_hf_model(dir.string());
  EXPECT_EQ(loaded->config().num_layers, 3);
  at::Tensor tokens = random_tokens(512, 2, 30, 35);
  // Bitwise: same bytes, shapes and strides after loading (row_major, linear.h), so the same kernels in the same order.
  EXPECT_TRUE(torch::equal(loaded->forward(tokens), result.model->forward(tokens)));
}

TEST(PruneReplaceMeTest, BadOptionsAreErrorsBeforeAnyWork) {
  auto model = stories();
  at::Tensor calib = tinystories_calibration(2, 16);  // 32 tokens < hidden 64
  lmshrink::PruneOptions options;
  options.blocks = 5;
  EXPECT_THROW(lmshrink::check_prune_options(*model, options), lmshrink::Error);
  options.blocks = 0;
  EXPECT_THROW(lmshrink::check_prune_options(*model, options), lmshrink::Error);
  options.blocks = 2;
  options.num_ranges = 3;
  EXPECT_THROW(lmshrink::check_prune_options(*model, options), lmshrink::Error);
  options.num_ranges = 1;
  options.objective = "l2";
  EXPECT_THROW(lmshrink::check_prune_options(*model, options), lmshrink::Error);
  options.objective = "lstsq";
  try {
    lmshrink::prune_model(std::move(model), calib, options);
    FAIL() << "expected an error";
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find("need at least 64"), std::string::npos) << e.what();
  }
}

}  // namespace
