// The GGUF writer and exporter against hand-computed bytes: the header layout (magic, version, counts, key-values,
// tensor infos with dimensions innermost first, 32-byte aligned offsets), Q8_0 blocks (f16 scale max|x|/127, int8
// round half away from zero, zero blocks), the q/k row permutation as the inverse of the llama2.c loader's, and the
// CLI's refusals (bad --type, an existing file without --force, both outputs) with nothing written.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <c10/util/Half.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "lmshrink/io/gguf_export.h"
#include "lmshrink/io/gguf_writer.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::GgufTensorType;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename T>
T word_at(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

TEST(GgufWriter, HeaderKeyValuesTensorInfosAndAlignedDataAreLaidOutAsGgufV3) {
  std::string path = (lmshrink::testing::temp_dir("gguf_header") / "t.gguf").string();
  lmshrink::GgufWriter gguf;
  gguf.add_uint32("a.b", 7);
  gguf.add_string("name", "xy");
  gguf.declare_tensor("w", {2, 3}, GgufTensorType::kF32);
  gguf.declare_tensor("v", {5}, GgufTensorType::kF32);
  gguf.begin(path);
  gguf.write_tensor("w", torch::arange(6, torch::kFloat32).view({2, 3}));
  gguf.write_tensor("v", torch::ones({5}));
  int64_t bytes = gguf.commit();
  std::string file = read_all(path);
  ASSERT_EQ(static_cast<int64_t>(file.size()), bytes);
  EXPECT_EQ(file.substr(0, 4), "GGUF");
  EXPECT_EQ(word_at<uint32_t>(file, 4), 3u);   // version
  EXPECT_EQ(word_at<uint64_t>(file, 8), 2u);   // tensors
  EXPECT_EQ(word_at<uint64_t>(file, 16), 2u);  // key-values
  size_t at = 24;
  EXPECT_EQ(word_at<uint64_t>(file, at), 3u);  // "a.b"
  EXPECT_EQ(file.substr(at + 8, 3), "a.b");
  at += 8 + 3;
  EXPECT_EQ(word_at<uint32_t>(file, at), 4u);  // uint32
  EXPECT_EQ(word_at<uint32_t>(file, at + 4), 7u);
  at += 8;
  EXPECT_EQ(word_at<uint64_t>(file, at), 4u);  // "name"
  at += 8 + 4;
  EXPECT_EQ(word_at<uint32_t>(file, at), 8u);  // string
  EXPECT_EQ(file.substr(at + 4 + 8, 2), "xy");
  at += 4 + 8 + 2;
  EXPECT_EQ(file.substr(at + 8, 1), "w");  // tensor info: name, n_dims, ne0 = 3, ne1 = 2, type, offset
  at += 8 + 1;
  EXPECT_EQ(word_at<uint32_t>(file, at), 2u);
  EXPECT_EQ(word_at<uint64_t>(file, at + 4), 3u);
  EXPECT_EQ(word_at<uint64_t>(file, at + 12), 2u);
  EXPECT_EQ(word_at<uint32_t>(file, at + 20), 0u);  // F32
  EXPECT_EQ(word_at<uint64_t>(file, at + 24), 0u);
  at += 32;
  at += 8 + 1;  // "v"
  EXPECT_EQ(word_at<uint32_t>(file, at), 1u);
  EXPECT_EQ(word_at<uint64_t>(file, at + 4), 5u);
  EXPECT_EQ(word_at<uint64_t>(file, at + 16), 32u);  // 24 bytes of w, padded to 32
  at += 24;
  size_t data = (at + 31) / 32 * 32;
  EXPECT_EQ(word_at<float>(file, data + 5 * 4), 5.0f);
  EXPECT_EQ(word_at<float>(file, data + 32), 1.0f);
  EXPECT_EQ(file.size(), data + 64);
}

TEST(GgufWriter, Q8ZeroBlocksAreGgmlsReferenceQuantizer) {
  std::vector<float> row(64, 0.0f);
  row[0] = 127.0f;
  row[1] = 2.5f;    // half away from zero: 3
  row[2] = -2.5f;   // -3
  row[3] = -127.0f;
  row[4] = 0.49f;   // 0
  // second block: all zero, scale 0
  std::vector<uint8_t> q = lmshrink::quantize_q8_0(row.data(), 64);
  ASSERT_EQ(q.size(), 68u);
  EXPECT_EQ(word_at<uint16_t>(std::string(q.begin(), q.end()), 0), 0x3C00);  // f16 1.0
  EXPECT_EQ(static_cast<int8_t>(q[2]), 127);
  EXPECT_EQ(static_cast<int8_t>(q[3]), 3);
  EXPECT_EQ(static_cast<int8_t>(q[4]), -3);
  EXPECT_EQ(static_cast<int8_t>(q[5]), -127);
  EXPECT_EQ(static_cast<int8_t>(q[6]), 0);
  for (int j = 34; j < 68; ++j) EXPECT_EQ(q[j], 0) << j;
  std::vector<float> small = {1.0f, -0.5f};
  small.resize(32, 0.25f);
  q = lmshrink::quantize_q8_0(small.data(), 32);
  float scale = 1.0f / 127.0f;
  EXPECT_EQ(word_at<uint16_t>(std::string(q.begin(), q.end()), 0), c10::Half(scale).x);
  EXPECT_EQ(static_cast<int8_t>(q[3]), static_cast<int8_t>(std::round(-0.5f / scale)));  // -64 (63.5 away from 0)
  EXPECT_EQ(static_cast<int8_t>(q[3]), -64);
  EXPECT_EQ(static_cast<int8_t>(q[4]), 32);  // 31.75 -> 32
  EXPECT_THROW(lmshrink::quantize_q8_0(small.data(), 31), lmshrink::Error);
  EXPECT_EQ(lmshrink::gguf_tensor_bytes(GgufTensorType::kQ8_0, 3, 64), 3 * 2 * 34);
}

TEST(GgufWriter, WritesOnlyInDeclaredOrderAndLeavesNoFileWhenAbandoned) {
  fs::path dir = lmshrink::testing::temp_dir("gguf_abandoned");
  {
    lmshrink::GgufWriter gguf;
    gguf.declare_tensor("a", {4}, GgufTensorType::kF32);
    gguf.declare_tensor("b", {4}, GgufTensorType::kF16);
    EXPECT_THROW(gguf.declare_tensor("a", {4}, GgufTensorType::kF32), lmshrink::Error);
    gguf.begin((dir / "x.gguf").string());
    EXPECT_THROW(gguf.write_tensor("b", torch::ones({4})), lmshrink::Error);
    gguf.write_tensor("a", torch::ones({4}));
    EXPECT_THROW(gguf.write_tensor("b", torch::ones({5})), lmshrink::Error);
    EXPECT_THROW(gguf.commit(), lmshrink::Error);
  }
  EXPECT_TRUE(fs::is_empty(dir));  // no target, no temp
  EXPECT_THROW(lmshrink::parse_gguf_tensor_type("q4_k"), lmshrink::Error);
}

TEST(GgufExport, QkRowPermutationInvertsTheLlama2cLoaders) {
  at::Tensor w = torch::randn({4 * 8, 5});
  at::Tensor back = lmshrink::rotate_half_to_interleaved(lmshrink::interleaved_to_rotate_half(w, 4, 8), 4, 8);
  EXPECT_TRUE(back.equal(w));
  at::Tensor bias = torch::arange(8, torch::kFloat32);  // one head of 8: rotate-half 0..7 -> interleaved 0,4,1,5,...
  EXPECT_TRUE(lmshrink::rotate_half_to_interleaved(bias, 1, 8).equal(
      torch::tensor({0.f, 4.f, 1.f, 5.f, 2.f, 6.f, 3.f, 7.f})));
}

// The CLI: a bad --type and an existing output fail before loading (exit 2, the file untouched); both --dense and
// --gguf, or neither, is an error; a model written to GGUF states its architecture and type.
TEST(GgufExportCli, RefusesBadFlagsAndExistingFilesAndWritesStories260K) {
  fs::path dir = lmshrink::testing::temp_dir("gguf_cli");
  std::string model = lmshrink::testing::stories_bin(), out = (dir / "s.gguf").string();
  auto bad_type = lmshrink::testing::run_lmshrink("export " + model + " --gguf " + out + " --type q4_k", "gguf_bad_type");
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_NE(bad_type.stderr_text.find("--type"), std::string::npos) << bad_type.stderr_text;
  EXPECT_FALSE(fs::exists(out));
  auto both = lmshrink::testing::run_lmshrink("export " + model + " --gguf " + out + " --dense " + (dir / "d").string(),
                                              "gguf_both");
  EXPECT_EQ(both.exit_code, 2);
  for (const std::string& mixed : {" --gguf " + out + " --dtype bf16", " --dense " + (dir / "d").string() + " --type f16",
                                    " --gguf " + dir.string()}) {  // flags of the other output; a folder
    auto refused = lmshrink::testing::run_lmshrink("export " + model + mixed, "gguf_mixed");
    EXPECT_EQ(refused.exit_code, 2) << mixed << ": " << refused.stderr_text;
  }
  EXPECT_FALSE(fs::exists(dir / "d"));
  auto written = lmshrink::testing::run_lmshrink("export " + model + " --gguf " + out + " --type q8_0", "gguf_ok");
  ASSERT_EQ(written.exit_code, 0) << written.stderr_text;
  EXPECT_NE(written.stdout_text.find("architecture llama, q8_0"), std::string::npos) << written.stdout_text;
  std::string first = read_all(out);
  EXPECT_EQ(first.substr(0, 4), "GGUF");
  auto again = lmshrink::testing::run_lmshrink("export " + model + " --gguf " + out, "gguf_exists");
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.stderr_text.find("--force"), std::string::npos) << again.stderr_text;
  EXPECT_EQ(read_all(out), first);  // untouched
  auto forced = lmshrink::testing::run_lmshrink("export " + model + " --gguf " + out + " --type f32 --force", "gguf_force");
  ASSERT_EQ(forced.exit_code, 0) << forced.stderr_text;
  EXPECT_GT(read_all(out).size(), first.size());  // f32 replaced q8_0
  for (const auto& entry : fs::directory_iterator(dir)) EXPECT_EQ(entry.path().filename(), "s.gguf");  // no temp left
  fs::path copy = lmshrink::testing::temp_dir("gguf_cli_input") / "model.bin";  // --gguf naming the input, --force
  fs::copy_file(model, copy);
  fs::copy_file(lmshrink::testing::stories_tok(), copy.parent_path() / "tok512.bin");
  std::string before = read_all(copy.string());
  auto onto_input = lmshrink::testing::run_lmshrink("export " + copy.string() + " --gguf " + copy.string() + " --force",
                                                    "gguf_onto_input");
  EXPECT_EQ(onto_input.exit_code, 2) << onto_input.stderr_text;
  EXPECT_EQ(read_all(copy.string()), before);  // the model is untouched
}

}  // namespace
