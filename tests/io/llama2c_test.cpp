// llama2.c checkpoint reading: header arithmetic, exact file-size check, RoPE layout conversion.
#include "lmshrink/io/llama2c.h"

#include <gtest/gtest.h>

#include <fstream>

#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

using lmshrink::testing::slurp;

std::string write_file(const std::string& tag, const std::string& bytes) {
  auto path = (lmshrink::testing::temp_dir(tag) / "model.bin").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  return path;
}

std::string error_of(const std::string& path) {
  try {
    lmshrink::load_llama2c(path);
  } catch (const lmshrink::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Llama2cTest, HeaderOfStories260KMatchesProvenance) {
  lmshrink::Llama2cHeader h = lmshrink::read_llama2c_header(lmshrink::testing::stories_bin());
  EXPECT_EQ(h.dim, 64);
  EXPECT_EQ(h.hidden_dim, 172);
  EXPECT_EQ(h.n_layers, 5);
  EXPECT_EQ(h.n_heads, 8);
  EXPECT_EQ(h.n_kv_heads, 4);
  EXPECT_EQ(h.vocab_size, 512);
  EXPECT_TRUE(h.shared_classifier);
  EXPECT_EQ(lmshrink::llama2c_payload_floats(h), 264128);  // PROVENANCE.txt: 260,032 + 4,096 freq_cis
}

TEST(Llama2cTest, LoadedModelHasTheHeaderShapes) {
  auto model = lmshrink::load_llama2c(lmshrink::testing::aidreams_bin());
  EXPECT_EQ(model->config().num_layers, 4);
  EXPECT_EQ(model->config().num_heads, 4);
  EXPECT_EQ(model->config().num_kv_heads, 4);
  EXPECT_EQ(model->config().max_position_embeddings, 128);
  EXPECT_TRUE(model->lm_head_tied());
  EXPECT_EQ(model->blocks()[0].gate_proj->out_features(), 172);
}

TEST(Llama2cTest, TruncatedCheckpointIsAnError) {
  std::string bytes = slurp(lmshrink::testing::stories_bin());
  std::string message = error_of(write_file("trunc", bytes.substr(0, bytes.size() - 4)));
  EXPECT_NE(message.find("does not match its header"), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  EXPECT_NE(error_of(write_file("trunc_header", bytes.substr(0, 10))).find("truncated"), std::string::npos);
}

TEST(Llama2cTest, OversizedCheckpointIsAnError) {
  std::string bytes = slurp(lmshrink::testing::stories_bin()) + std::string(8, '\0');
  EXPECT_NE(error_of(write_file("oversize", bytes)).find("trailing"), std::string::npos);
}

TEST(Llama2cTest, HeaderThatDisagreesWithFileSizeIsAnError) {
  std::string bytes = slurp(lmshrink::testing::stories_bin());
  int32_t layers = 6;  // the file holds 5
  bytes.replace(8, 4, reinterpret_cast<const char*>(&layers), 4);
  EXPECT_NE(error_of(write_file("header", bytes)).find("does not match its header"), std::string::npos);
  int32_t negative_dim = -64;
  bytes.replace(0, 4, reinterpret_cast<const char*>(&negative_dim), 4);
  EXPECT_NE(error_of(write_file("header_neg", bytes)).find("must be positive"), std::string::npos);
}

TEST(Llama2cTest, InterleavedToRotateHalfMovesPairsToHalves) {
  const int64_t heads = 2, head_dim = 6, in = 3;
  at::Tensor w = torch::arange(heads * head_dim * in, torch::kFloat32).view({heads * head_dim, in});
  at::Tensor converted = lmshrink::interleaved_to_rotate_half(w, heads, head_dim);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < head_dim / 2; ++j) {
      EXPECT_TRUE(converted[h * head_dim + j].equal(w[h * head_dim + 2 * j]));
      EXPECT_TRUE(converted[h * head_dim + head_dim / 2 + j].equal(w[h * head_dim + 2 * j + 1]));
    }
  }
}

}  // namespace
