// Healing on stories260K: a few AdamW steps lower the next-token loss of the training windows; the sparsity pattern,
// the embeddings, norms and dense layers stay bit-identical; the schedule has its closed-form values; a model with no
// compressed layer is an error.
#include "lmshrink/compress/heal.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace {

using namespace lmshrink;

at::Tensor windows(int64_t n, int64_t seq_len, uint64_t seed) {
  Llama2cTokenizer tokenizer(lmshrink::testing::stories_tok());
  auto docs = read_corpus(lmshrink::testing::shared_path("data/tinystories/tinystories-valid-calib.txt"));
  return sample_calibration(docs, tokenizer, CalibSpec{"tinystories", "blocks", n, seq_len, seed});
}

TEST(HealTest, StepsLowerTheLossAndTouchOnlyTheFactorValues) {
  set_progress_quiet(true);
  auto model = load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor calib = windows(8, 128, 0);
  CompressOptions o{Method::kCompot, 0.4, {"q_proj", "gate_proj"}, Mode::kOneShot, 4};
  compress_model(*model, calib, o);
  o.method = Method::kSvdLlm;
  o.targets = {"down_proj"};
  compress_model(*model, calib, o);
  at::Tensor train = windows(32, 128, 1);
  const auto& q = dynamic_cast<const DictSparseLinear&>(*model->blocks()[0].q_proj);
  at::Tensor rows_before = q.rows().clone(), values_before = q.values().value.clone();
  at::Tensor embed_before = model->embed_tokens().clone(), norm_before = model->blocks()[2].mlp_norm.clone();
  at::Tensor k_before = model->blocks()[1].k_proj->dense().clone();
  double loss_before = mean_next_token_loss(*model, train, 8);
  HealOptions options;
  options.lr = 1e-3;
  HealResult result = heal_model(*model, train, 12, options);
  double loss_after = mean_next_token_loss(*model, train, 8);
  EXPECT_LT(loss_after, loss_before - 0.01) << loss_before << " -> " << loss_after;
  EXPECT_EQ(result.steps, 12);
  EXPECT_EQ(result.tokens, 12 * 8 * 128);
  EXPECT_TRUE(q.rows().equal(rows_before));
  EXPECT_FALSE(q.values().value.equal(values_before));
  EXPECT_FALSE(q.values().value.requires_grad());
  EXPECT_TRUE(model->embed_tokens().equal(embed_before));
  EXPECT_TRUE(model->blocks()[2].mlp_norm.equal(norm_before));
  EXPECT_TRUE(model->blocks()[1].k_proj->dense().equal(k_before));  // dense layers stay frozen
  EXPECT_TRUE(std::isfinite(result.losses.back()));
}

TEST(HealTest, ScheduleWarmsUpLinearlyThenDecaysByCosineToATenth) {
  HealOptions o;
  o.lr = 1.0;
  o.warmup_fraction = 0.1;
  EXPECT_DOUBLE_EQ(heal_learning_rate(o, 0, 100), 0.1);   // warm-up: (step + 1) / 10
  EXPECT_DOUBLE_EQ(heal_learning_rate(o, 9, 100), 1.0);
  EXPECT_DOUBLE_EQ(heal_learning_rate(o, 10, 100), 1.0);  // cosine from the peak
  EXPECT_NEAR(heal_learning_rate(o, 99, 100), 0.1, 1e-12);
  double middle = heal_learning_rate(o, 54, 100);  // progress (54 − 10) / (100 − 10 − 1)
  EXPECT_NEAR(middle, 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 44.0 / 89.0)), 1e-12);
}

TEST(HealTest, AModelWithoutCompressedLayersIsAnError) {
  set_progress_quiet(true);
  auto model = load_llama2c(lmshrink::testing::stories_bin());
  EXPECT_THROW(healable_factors(*model), Error);
}

}  // namespace
