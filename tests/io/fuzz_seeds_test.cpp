// The fuzzers' committed seeds (fuzz/corpus/, issue 21) through the same buffer entry points in the normal build:
// every seed is a valid input its reader accepts (so the fuzzers start deep inside the formats, and a format change
// that breaks a seed is noticed here), and every regression_* input, once a crash or an escaped exception, is now a
// clean lmshrink::Error.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

#include "lmshrink/compress/rocket_profile_format.h"
#include "lmshrink/eval/report.h"
#include "lmshrink/eval/task.h"
#include "lmshrink/io/gguf_header.h"
#include "lmshrink/io/gguf_model.h"
#include "lmshrink/io/gguf_tokenizer.h"
#include "lmshrink/io/hf_config.h"
#include "lmshrink/io/llama2c_header.h"
#include "lmshrink/io/safetensors_header.h"
#include "lmshrink/tokenizer/hf_tokenizer.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using Reader = std::function<void(const std::string& bytes, const std::string& name)>;

const std::map<std::string, Reader>& readers() {
  static const std::map<std::string, Reader> all = {
      {"fuzz_safetensors", [](const std::string& b, const std::string& n) {
         (void)lmshrink::parse_safetensors_header(b, static_cast<int64_t>(b.size()), n);
       }},
      {"fuzz_safetensors_index", [](const std::string& b, const std::string& n) { (void)lmshrink::parse_safetensors_index(b, n); }},
      {"fuzz_hf_config", [](const std::string& b, const std::string& n) {
         (void)lmshrink::parse_hf_config(lmshrink::parse_hf_config_json(b, n), n);
       }},
      {"fuzz_tokenizer_json", [](const std::string& b, const std::string& n) {
         lmshrink::HfTokenizer tokenizer(b, "", n);
         EXPECT_FALSE(tokenizer.encode("the hello world", false, false).empty()) << n;
       }},
      {"fuzz_llama2c", [](const std::string& b, const std::string& n) {
         int64_t size = static_cast<int64_t>(b.size());
         if (b.size() == 36) std::memcpy(&size, b.data() + 28, 8);  // as the harness reads a 36-byte input
         (void)lmshrink::parse_llama2c_header(b, size, n);
       }},
      {"fuzz_gguf", [](const std::string& b, const std::string& n) {
         lmshrink::GgufHeader header = lmshrink::parse_gguf_header(b, static_cast<int64_t>(b.size()), n);
         EXPECT_EQ(lmshrink::gguf_model_config(header, n).num_layers, 1) << n;
         auto tokenizer = lmshrink::gguf_tokenizer(header, n);
         EXPECT_NE(tokenizer->decode(tokenizer->encode("the tea", true, false)).find("the tea"), std::string::npos) << n;
       }},
      {"fuzz_llama2c_tokenizer", [](const std::string& b, const std::string& n) {
         lmshrink::Llama2cTokenizer tokenizer(b, n);
         EXPECT_NE(tokenizer.decode(tokenizer.encode("the tea", true, false)).find("the tea"), std::string::npos) << n;
       }},
      {"fuzz_task_jsonl", [](const std::string& b, const std::string& n) {
         // Each seed is one task's file: the reader its name says.
         if (n.find("winogrande") != std::string::npos) (void)lmshrink::parse_winogrande(b, n);
         else if (n.find("lambada") != std::string::npos) (void)lmshrink::parse_lambada(b, n);
         else (void)lmshrink::parse_query_choices("arc_easy", b, n);
       }},
      {"fuzz_mmlu_csv", [](const std::string& b, const std::string& n) {
         EXPECT_EQ(lmshrink::parse_mmlu_rows(b, n).size(), 2u) << n;
       }},
      {"fuzz_hellaswag", [](const std::string& b, const std::string& n) {
         if (n.find("bz2") != std::string::npos) EXPECT_EQ(lmshrink::parse_hellaswag(b, n).items.size(), 1u) << n;
       }},
      {"fuzz_rocket_profile", [](const std::string& b, const std::string& n) {
         EXPECT_EQ(lmshrink::parse_profile_text(b, "full", lmshrink::ProfileMetric::kWeight, n).size(), 1u) << n;
       }},
      {"fuzz_run_record", [](const std::string& b, const std::string& n) {
         size_t split = b.find("\n\n");
         std::vector<std::pair<std::string, std::string>> records = {{n, b.substr(0, split)}};
         if (split != std::string::npos) records.emplace_back(n + " (2)", b.substr(split + 2));
         lmshrink::Report report = lmshrink::report_from_records(records);
         (void)lmshrink::report_markdown(report);
         (void)lmshrink::report_html(report);
       }},
  };
  return all;
}

TEST(FuzzSeedsTest, EverySeedParsesAndEveryRegressionInputIsACleanError) {
  fs::path corpus = fs::path(LMSHRINK_SOURCE_DIR) / "fuzz" / "corpus";
  ASSERT_TRUE(fs::is_directory(corpus)) << corpus;
  int seeds = 0, regressions = 0;
  for (const auto& [harness, read] : readers()) {
    ASSERT_TRUE(fs::is_directory(corpus / harness)) << harness;
    for (const auto& entry : fs::directory_iterator(corpus / harness)) {
      std::string name = entry.path().filename().string();
      std::string bytes = lmshrink::testing::slurp(entry.path());
      if (name.rfind("regression_", 0) == 0) {
        EXPECT_THROW(read(bytes, harness + "/" + name), lmshrink::Error) << harness << "/" << name;
        ++regressions;
      } else {
        EXPECT_NO_THROW(read(bytes, harness + "/" + name)) << harness << "/" << name;
        ++seeds;
      }
    }
  }
  EXPECT_GE(seeds, 20);
  EXPECT_GE(regressions, 1);
}

}  // namespace
