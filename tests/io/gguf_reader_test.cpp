// GGUF as input (issue 24): the header reader on llama.cpp's own files (its vocabulary GGUFs, written by gguf-py, an
// independent writer), their tokenizers against llama.cpp's tokenizer test pairs, hand-made malformed headers and
// 10,000 random mutations (clean errors only), Q8_0 dequantisation against a float64 loop, and round trips:
// HF/llama2.c -> GGUF F32 -> lmshrink gives bit-identical logits for every family fixture; F16/BF16/Q8_0 give the
// source's weights rounded to the type (F16/BF16 exactly as libtorch rounds, Q8_0 within half a step of each block's
// scale); GGUF -> HF -> GGUF gives the same tensors and tokenizer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <c10/util/Half.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <tuple>

#include "lmshrink/io/gguf_export.h"
#include "lmshrink/io/gguf_file.h"
#include "lmshrink/io/gguf_header.h"
#include "lmshrink/io/gguf_model.h"
#include "lmshrink/io/gguf_tokenizer.h"
#include "lmshrink/io/gguf_writer.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/util/error.h"
#include "test_support.h"
#include "tokenizer/llamacpp_vocab_cases.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::GgufHeader;
using lmshrink::GgufTensorType;
using lmshrink::testing::shared_path;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

GgufHeader parse(const std::string& bytes, const std::string& origin = "t.gguf") {
  return lmshrink::parse_gguf_header(bytes, static_cast<int64_t>(bytes.size()), origin);
}

// The message of the lmshrink::Error that read throws ("" when it throws none).
template <typename Read>
std::string error_of(Read&& read) {
  try {
    read();
  } catch (const lmshrink::Error& e) {
    return e.what();
  }
  return "";
}

std::string vocab_gguf(const std::string& name) { return shared_path("tokenizers/llamacpp-vocab-tests/" + name); }

TEST(GgufHeader, ReadsLlamaCppsOwnVocabularyFiles) {
  GgufHeader spm = parse(read_all(vocab_gguf("ggml-vocab-llama-spm.gguf")));
  EXPECT_EQ(spm.version, 3u);
  EXPECT_EQ(lmshrink::gguf_string(spm, "general.architecture", "spm"), "llama");
  EXPECT_EQ(lmshrink::gguf_string(spm, "tokenizer.ggml.model", "spm"), "llama");
  const std::vector<std::string>& spm_tokens = lmshrink::gguf_strings(spm, "tokenizer.ggml.tokens", "spm");
  ASSERT_EQ(spm_tokens.size(), 32000u);  // Llama-2's SentencePiece vocabulary
  EXPECT_EQ(spm_tokens[1], "<s>");
  EXPECT_EQ(spm_tokens[3], "<0x00>");
  EXPECT_EQ(lmshrink::gguf_numbers(spm, "tokenizer.ggml.scores", "spm").size(), 32000u);
  EXPECT_TRUE(spm.tensors.empty());

  GgufHeader gpt2 = parse(read_all(vocab_gguf("ggml-vocab-gpt-2.gguf")));
  EXPECT_EQ(lmshrink::gguf_string(gpt2, "tokenizer.ggml.model", "gpt2"), "gpt2");
  EXPECT_EQ(lmshrink::gguf_strings(gpt2, "tokenizer.ggml.tokens", "gpt2").size(), 50257u);  // GPT-2's vocabulary
  EXPECT_EQ(lmshrink::gguf_strings(gpt2, "tokenizer.ggml.merges", "gpt2").size(), 50000u);
}

using lmshrink::testing::read_vocab_cases;
using lmshrink::testing::VocabCase;

// The tokenizer a vocabulary GGUF carries encodes llama.cpp's test inputs to the expected ids, except the listed
// inputs (documented differences of the encoder, checked to stay exactly those).
void expect_vocab_tests(const std::string& name, const std::set<std::string>& known_differences = {}) {
  std::unique_ptr<lmshrink::Tokenizer> tokenizer = lmshrink::read_gguf_tokenizer(vocab_gguf(name));
  std::vector<VocabCase> cases = read_vocab_cases(name);
  ASSERT_GT(cases.size(), 30u);
  int matched = 0;
  for (const VocabCase& vocab_case : cases) {
    bool same = tokenizer->encode(vocab_case.input, false, false) == vocab_case.expected;
    matched += same;
    EXPECT_EQ(same, !known_differences.count(vocab_case.input)) << name << ": '" << vocab_case.input << "'";
  }
  std::printf("%s: %d / %zu inputs match\n", name.c_str(), matched, cases.size());
}

TEST(GgufTokenizer, Gpt2VocabularyFromMetadataMatchesLlamaCppsTestPairs) { expect_vocab_tests("ggml-vocab-gpt-2.gguf"); }

TEST(GgufTokenizer, LlamaSpmVocabularyFromMetadataMatchesLlamaCppsTestPairs) {
  expect_vocab_tests("ggml-vocab-llama-spm.gguf");
}

// Llama-3's and Qwen3's tokenizer.json exported into a GGUF and read back from its metadata: llama.cpp's test pairs
// for their pre-tokenizers, and the same ids as the tokenizer.json for a page of WikiText.
TEST(GgufTokenizer, ByteLevelVocabulariesReadBackFromTheirOwnExports) {
  fs::path dir = lmshrink::testing::temp_dir("bpe");
  std::string wikitext = read_all(shared_path("data/wikitext2/wiki.test.raw")).substr(0, 20000);
  for (auto [shape, tokenizer, tests] : {std::tuple{"llama-3.2-1b", "llama3", "llama-bpe"}, {"qwen3-8b", "qwen3", "qwen2"}}) {
    fs::path model = dir / tokenizer;
    auto result = lmshrink::testing::run_lmshrink(std::string("synthesize --shape ") + shape + " --hidden 64 --layers 1 "
                                                  "--heads 2 --kv-heads 1 --mlp 128 --dtype f32 -o " + model.string(), "synth");
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
      fs::copy_file(shared_path(std::string("tokenizers/") + tokenizer + "/" + name), model / name);
    }
    std::string gguf = (dir / (std::string(tokenizer) + ".gguf")).string();
    lmshrink::LoadedModel loaded = lmshrink::load_model(model.string());
    auto original = lmshrink::load_tokenizer("", loaded);
    lmshrink::write_gguf_model(*loaded.model, *original, (model / "tokenizer.json").string(), gguf, GgufTensorType::kF16);
    auto read = lmshrink::read_gguf_tokenizer(gguf);
    for (const VocabCase& vocab_case : read_vocab_cases(std::string("ggml-vocab-") + tests + ".gguf")) {
      EXPECT_EQ(read->encode(vocab_case.input, false, false), vocab_case.expected) << tests << ": " << vocab_case.input;
    }
    EXPECT_EQ(read->encode(wikitext, true, false), original->encode(wikitext, true, false)) << tokenizer;
    EXPECT_EQ(std::make_pair(read->bos_id(), read->eos_id()), std::make_pair(original->bos_id(), original->eos_id())) << tokenizer;
  }
}

// A small valid GGUF: two tensors (F32 and Q8_0) and a few key-values, for the malformed-input tests.
std::string small_gguf() {
  std::string path = (lmshrink::testing::temp_dir("small_gguf") / "s.gguf").string();
  lmshrink::GgufWriter gguf;
  gguf.add_string("general.architecture", "llama");
  gguf.add_uint32("general.alignment", 32);
  gguf.add_string_array("tokenizer.ggml.tokens", {"a", "bc"});
  gguf.add_float32_array("tokenizer.ggml.scores", {0.5f, -1.0f});
  gguf.declare_tensor("w", {2, 32}, GgufTensorType::kQ8_0);
  gguf.declare_tensor("v", {3}, GgufTensorType::kF32);
  gguf.begin(path);
  gguf.write_tensor("w", torch::linspace(-1, 1, 64).view({2, 32}));
  gguf.write_tensor("v", torch::ones({3}));
  gguf.commit();
  return read_all(path);
}

template <typename T>
void put(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

TEST(GgufHeader, MalformedFilesGiveOneLineErrorsNamingWhatWasExpected) {
  const std::string good = small_gguf();
  GgufHeader header = parse(good);
  ASSERT_EQ(header.tensors.size(), 2u);
  EXPECT_EQ(header.tensors[0].shape, (std::vector<int64_t>{2, 32}));
  EXPECT_EQ(header.tensors[0].bytes, 2 * 34);
  size_t first_key = 24;  // after magic, version, tensor count, key-value count
  auto with = [&](auto edit) {
    std::string bytes = good;
    edit(bytes);
    return error_of([&] { parse(bytes); });
  };
  EXPECT_NE(with([](std::string& b) { b[0] = 'X'; }).find("not a GGUF file"), std::string::npos);
  EXPECT_NE(with([](std::string& b) { put<uint32_t>(b, 4, 1); }).find("GGUF version 1 is not supported"), std::string::npos);
  EXPECT_NE(with([](std::string& b) { put<uint32_t>(b, 4, 4); }).find("version 4"), std::string::npos);
  EXPECT_NE(with([](std::string& b) { put<uint64_t>(b, 16, uint64_t{1} << 60); }).find("key-value count"), std::string::npos);
  EXPECT_NE(with([](std::string& b) { put<uint64_t>(b, 8, uint64_t{1} << 40); }).find("tensor count"), std::string::npos);
  EXPECT_NE(with([&](std::string& b) { put<uint64_t>(b, first_key, uint64_t{1} << 62); }).find("bytes of the file remain"),
            std::string::npos);  // a key longer than the file
  EXPECT_NE(with([](std::string& b) { b.resize(b.size() - 21); }).find("runs past the end of the file"), std::string::npos);
  EXPECT_NE(with([](std::string& b) { b.resize(40); }).find("truncated GGUF"), std::string::npos);
  EXPECT_NE(with([](std::string& b) { b.clear(); }).find("truncated GGUF"), std::string::npos);
  // The tensor infos sit just before the data section: name "v" (8 + 1), 1 dimension (4), 3 (8), type (4), offset (8).
  size_t v_type = header.data_offset;
  while (good.compare(v_type, 1, "v") != 0 || good.compare(v_type - 8, 8, std::string("\x01\0\0\0\0\0\0\0", 8)) != 0) --v_type;
  v_type += 1 + 4 + 8;
  EXPECT_NE(with([&](std::string& b) { put<uint32_t>(b, v_type, 12); }).find("tensor v has type Q4_K, which lmshrink cannot "
                                                                               "dequantise"), std::string::npos);
  EXPECT_NE(with([&](std::string& b) { put<uint32_t>(b, v_type, 999); }).find("type 999"), std::string::npos);
  EXPECT_NE(with([&](std::string& b) { put<uint64_t>(b, v_type + 4, 4); }).find("not a multiple of the alignment"),
            std::string::npos);
  EXPECT_NE(with([&](std::string& b) { put<uint64_t>(b, v_type + 4, 0); }).find("overlap"), std::string::npos);
  EXPECT_NE(with([&](std::string& b) { put<uint64_t>(b, v_type - 8, uint64_t{1} << 50); }).find("does not fit the file"),
            std::string::npos);
}

// Random byte edits, word overwrites and truncations of a valid GGUF: the reader, the config and the tokenizer
// either accept the result or throw lmshrink::Error; any other exception, a crash or a huge allocation fails.
TEST(GgufHeader, TenThousandRandomMutationsGiveOnlyCleanErrors) {
  fs::path dir = lmshrink::testing::temp_dir("mutations");
  lmshrink::LoadedModel stories = lmshrink::load_model(lmshrink::testing::stories_bin());
  auto tokenizer = lmshrink::load_tokenizer("", stories);
  std::string path = (dir / "stories.gguf").string();
  lmshrink::write_gguf_model(*stories.model, *tokenizer, lmshrink::testing::stories_tok(), path, GgufTensorType::kQ8_0);
  const std::string good = read_all(path);
  GgufHeader header = parse(good);
  const size_t header_bytes = static_cast<size_t>(header.data_offset);
  std::mt19937_64 random(24);
  int accepted = 0;
  for (int trial = 0; trial < 10000; ++trial) {
    std::string bytes = good.substr(0, header_bytes + 4096);  // the header and the first tensor's start
    int64_t file_bytes = static_cast<int64_t>(good.size());
    int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = random() % header_bytes;
      switch (random() % 4) {
        case 0: bytes[at] = static_cast<char>(random()); break;
        case 1: bytes[at] ^= static_cast<char>(1 << (random() % 8)); break;
        case 2: if (at + 8 <= bytes.size()) put<uint64_t>(bytes, at, random() >> (random() % 64)); break;
        default: file_bytes = static_cast<int64_t>(random() % good.size()); bytes.resize(std::min<size_t>(bytes.size(), file_bytes));
      }
    }
    std::string error = error_of([&] {
      GgufHeader mutated = lmshrink::parse_gguf_header(bytes, file_bytes, "m.gguf");
      (void)lmshrink::gguf_model_config(mutated, "m.gguf");
      (void)lmshrink::gguf_tokenizer(mutated, "m.gguf");
    });
    if (error.empty()) ++accepted;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  std::printf("mutations accepted: %d / 10000\n", accepted);
}

TEST(GgufFile, Q8ZeroDequantisesAsScaleTimesCodeInFloat64) {
  std::vector<float> values(64);
  for (int i = 0; i < 64; ++i) values[i] = std::sin(0.37f * i) * (i < 32 ? 3.0f : 0.01f);
  std::vector<uint8_t> blocks = lmshrink::quantize_q8_0(values.data(), 64);
  std::vector<float> out(64);
  lmshrink::dequantize_q8_0(blocks.data(), 64, out.data());
  for (int i = 0; i < 64; ++i) {
    const uint8_t* block = blocks.data() + (i / 32) * 34;
    c10::Half scale;
    std::memcpy(&scale.x, block, 2);
    double expected = static_cast<double>(static_cast<float>(scale)) * static_cast<int8_t>(block[2 + i % 32]);
    EXPECT_EQ(static_cast<double>(out[i]), expected) << i;
    // Codes are rounded with the float32 scale d, stored with f16(d): half a step plus 127 times that rounding.
    float max_abs = 0;
    for (int j = i / 32 * 32; j < i / 32 * 32 + 32; ++j) max_abs = std::max(max_abs, std::fabs(values[j]));
    float d = max_abs / 127.0f;
    EXPECT_LE(std::fabs(out[i] - values[i]), d * 0.5f + 127.0f * std::fabs(d - static_cast<float>(scale)) + 1e-7f) << i;
  }
}

// A family fixture: a synthetic checkpoint of a named shape, small, with stories260K's tokenizer.
fs::path synthetic_family(const std::string& shape, const fs::path& parent) {
  fs::path dir = parent / shape;
  auto result = lmshrink::testing::run_lmshrink("synthesize --shape " + shape + " --hidden 128 --layers 2 --heads 4 "
                                                "--kv-heads 2 --mlp 256 --vocab 512 --dtype f32 -o " + dir.string(),
                                                "synth_" + shape);
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  fs::copy_file(lmshrink::testing::stories_tok(), dir / "tokenizer.bin");
  return dir;
}

std::string export_gguf(const std::string& model_path, const fs::path& out, GgufTensorType type) {
  lmshrink::LoadedModel loaded = lmshrink::load_model(model_path);
  std::string tokenizer_file = lmshrink::find_tokenizer_path("", loaded);
  auto tokenizer = lmshrink::load_tokenizer(tokenizer_file, loaded);
  lmshrink::write_gguf_model(*loaded.model, *tokenizer, tokenizer_file, out.string(), type);
  return out.string();
}

at::Tensor logits_of(const std::string& model_path) {
  lmshrink::LoadedModel loaded = lmshrink::load_model(model_path);
  at::Tensor tokens = torch::tensor({1, 403, 407, 261, 378, 282, 316, 298, 89, 4}, torch::kInt64).view({1, -1});
  return loaded.model->forward(tokens);
}

TEST(GgufRoundTrip, F32ExportReadsBackToBitIdenticalLogitsForEveryFamily) {
  fs::path dir = lmshrink::testing::temp_dir("f32");
  std::vector<std::string> sources = {lmshrink::testing::stories_bin()};
  for (const char* shape : {"llama-3.2-1b", "qwen3-8b", "qwen2-7b", "mistral-7b", "custom"}) {
    sources.push_back(synthetic_family(shape, dir).string());
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string gguf = export_gguf(sources[i], dir / (std::to_string(i) + ".gguf"), GgufTensorType::kF32);
    lmshrink::LoadedModel source = lmshrink::load_model(sources[i]), read = lmshrink::load_model(gguf);
    const lmshrink::ModelConfig &a = source.model->config(), &b = read.model->config();
    EXPECT_EQ(a.architecture == "MistralForCausalLM" ? "LlamaForCausalLM" : a.architecture, b.architecture);
    EXPECT_EQ(std::tie(a.rope_type, a.rope_factor, a.rope_low_freq_factor, a.rope_high_freq_factor, a.tie_word_embeddings),
              std::tie(b.rope_type, b.rope_factor, b.rope_low_freq_factor, b.rope_high_freq_factor, b.tie_word_embeddings));
    if (a.rope_type == "llama3") EXPECT_EQ(a.rope_original_max_positions, b.rope_original_max_positions);
    EXPECT_EQ(std::tie(a.attention_bias, a.qk_norm, a.rope_theta, a.rms_norm_eps, a.max_position_embeddings),
              std::tie(b.attention_bias, b.qk_norm, b.rope_theta, b.rms_norm_eps, b.max_position_embeddings));
    EXPECT_TRUE(torch::equal(logits_of(sources[i]), logits_of(gguf))) << sources[i];
  }
}

// A Mistral sliding window shorter than the context is written as the context length: read back, the model has
// that context and the same logits.
TEST(GgufRoundTrip, ASlidingWindowShorterThanTheContextIsWrittenAsTheContextLength) {
  fs::path dir = lmshrink::testing::temp_dir("window");
  fs::path mistral = synthetic_family("mistral-7b", dir);
  nlohmann::json config = nlohmann::json::parse(read_all((mistral / "config.json").string()));
  config["sliding_window"] = 64;
  std::ofstream(mistral / "config.json") << config.dump(1);
  std::string gguf = export_gguf(mistral.string(), dir / "w.gguf", GgufTensorType::kF32);
  EXPECT_EQ(lmshrink::load_model(gguf).model->config().max_position_embeddings, 64);
  EXPECT_TRUE(torch::equal(logits_of(mistral.string()), logits_of(gguf)));
}

// F16/BF16: every weight read back equals the source's rounded by libtorch's conversion; Q8_0: within half a step of
// its block's scale (max|x| / 127 / 2); norms stay float32.
TEST(GgufRoundTrip, TypedExportsReadBackAsTheSourceRoundedToTheType) {
  fs::path dir = lmshrink::testing::temp_dir("typed");
  lmshrink::LoadedModel source = lmshrink::load_model(lmshrink::testing::stories_bin());
  for (GgufTensorType type : {GgufTensorType::kF16, GgufTensorType::kBF16, GgufTensorType::kQ8_0}) {
    std::string gguf = export_gguf(lmshrink::testing::stories_bin(), dir / (lmshrink::gguf_tensor_type_name(type) + ".gguf"), type);
    lmshrink::LoadedModel read = lmshrink::load_model(gguf);
    for (const std::string& projection : lmshrink::all_projections()) {
      at::Tensor original = lmshrink::projection_layer(*source.model, 2, projection).dense();
      at::Tensor loaded = lmshrink::projection_layer(*read.model, 2, projection).dense();
      if (type == GgufTensorType::kQ8_0 && original.size(1) % 32 == 0) {
        // Half a step of the block's scale max|x|/127, plus 127 times the scale's f16 rounding (2^-11 relative).
        at::Tensor step = original.view({original.size(0), -1, 32}).abs().amax(-1, true) / 127.0;
        at::Tensor error = (loaded - original).view({original.size(0), -1, 32}).abs();
        EXPECT_TRUE((error <= step * (0.5 + 127.0 / 2048) + 1e-7).all().item<bool>()) << projection;
        EXPECT_GT((error - step * 0.5).max().item<float>(), -1.0f);
      } else {  // F16, BF16, and Q8_0's F16 fallback for rows not a multiple of 32
        at::ScalarType dtype = type == GgufTensorType::kBF16 ? torch::kBFloat16 : torch::kFloat16;
        EXPECT_TRUE(torch::equal(loaded, original.to(dtype).to(torch::kFloat32))) << projection;
      }
    }
    EXPECT_TRUE(torch::equal(read.model->blocks()[1].attn_norm, source.model->blocks()[1].attn_norm));
  }
}

// GGUF -> HF directory -> GGUF: the same tensors (names, shapes, types, bytes) and the same tokenizer arrays.
void expect_same_gguf(const std::string& a_path, const std::string& b_path) {
  std::string a_bytes = read_all(a_path), b_bytes = read_all(b_path);
  GgufHeader a = parse(a_bytes, a_path), b = parse(b_bytes, b_path);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const lmshrink::GgufTensorInfo &x = a.tensors[i], &y = b.tensors[i];
    EXPECT_EQ(std::tie(x.name, x.shape, x.bytes), std::tie(y.name, y.shape, y.bytes));
    EXPECT_EQ(x.type, y.type) << x.name;
    EXPECT_EQ(a_bytes.compare(a.data_offset + x.offset, x.bytes, b_bytes, b.data_offset + y.offset, y.bytes), 0) << x.name;
  }
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"}) {
    if (!lmshrink::gguf_has(a, key)) continue;
    EXPECT_EQ(lmshrink::gguf_strings(a, key, a_path), lmshrink::gguf_strings(b, key, b_path)) << key;
  }
  for (const char* key : {"tokenizer.ggml.scores", "tokenizer.ggml.token_type"}) {
    if (!lmshrink::gguf_has(a, key)) continue;
    EXPECT_EQ(lmshrink::gguf_numbers(a, key, a_path), lmshrink::gguf_numbers(b, key, b_path)) << key;
  }
}

void round_trip_through_hf(const std::string& source, GgufTensorType type, const fs::path& dir) {
  fs::create_directories(dir);
  std::string first = export_gguf(source, dir / "first.gguf", type);
  lmshrink::LoadedModel read = lmshrink::load_model(first);
  fs::create_directories(dir / "hf");
  lmshrink::CheckpointFormat format;
  format.dtype = torch::kFloat32;  // the model's own dtype would round the float32 norms to the GGUF's matrix type
  lmshrink::write_hf_model(*read.model, (dir / "hf").string(), nlohmann::json::object(), format);
  lmshrink::copy_tokenizer_files(first, (dir / "hf").string());
  expect_same_gguf(first, export_gguf((dir / "hf").string(), dir / "second.gguf", type));
}

TEST(GgufRoundTrip, GgufToHfToGgufKeepsTensorsAndTokenizer) {
  fs::path dir = lmshrink::testing::temp_dir("through_hf");
  round_trip_through_hf(lmshrink::testing::stories_bin(), GgufTensorType::kF32, dir / "stories-f32");
  round_trip_through_hf(lmshrink::testing::stories_bin(), GgufTensorType::kBF16, dir / "stories-bf16");
  fs::path llama3 = dir / "llama3";  // Llama-3's real vocabulary of 128256
  auto result = lmshrink::testing::run_lmshrink("synthesize --shape llama-3.2-1b --hidden 64 --layers 1 --heads 2 "
                                                "--kv-heads 1 --mlp 128 --dtype f32 -o " + llama3.string(), "synth_llama3");
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::copy_file(shared_path(std::string("tokenizers/llama3/") + name), llama3 / name);
  }
  round_trip_through_hf(llama3.string(), GgufTensorType::kF16, dir / "llama3-f16");
}

}  // namespace
