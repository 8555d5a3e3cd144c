// Hostile input through the binary (issue 21): config.json fields of the wrong type or out of range, numeric
// flags outside their domain, and sampling from non-finite distributions all end in one line naming the file,
// field or flag and exit code 2 — never a segfault, an uncaught library exception (exit 1) or a silent exit 0.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::testing::CommandResult;
using lmshrink::testing::expect_bad_input;
using lmshrink::testing::quote;
using lmshrink::testing::read_json;
using lmshrink::testing::run_lmshrink;
using lmshrink::testing::shared_path;
using lmshrink::testing::slurp;

// stories260K as a float32 Hugging Face directory, made once per test binary run.
fs::path hf_stories() {
  static fs::path dir = [] {
    fs::path d = lmshrink::testing::temp_dir("hostile_hf") / "hf";
    CommandResult r = run_lmshrink("convert " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(d.string()) +
                                       " --dtype f32", "hostile_convert");
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    return d;
  }();
  return dir;
}

// A copy of hf_stories() whose config.json has `field` set to `value` (a JSON text).
fs::path with_config_field(const std::string& field, const std::string& value, const std::string& tag) {
  fs::path copy = lmshrink::testing::temp_dir("cfg_" + tag) / "model";
  fs::copy(hf_stories(), copy);
  nlohmann::json config = read_json(copy / "config.json");
  nlohmann::json* target = &config;
  std::string key = field;
  if (size_t dot = field.find('.'); dot != std::string::npos) {
    target = &config[field.substr(0, dot)];
    key = field.substr(dot + 1);
  }
  (*target)[key] = nlohmann::json::parse(value);
  std::ofstream(copy / "config.json") << config.dump(2);
  return copy;
}

TEST(HostileInputCliTest, ConfigFieldsOfTheWrongTypeOrRangeNameTheField) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"head_dim", "\"8\"", "\"head_dim\" must be an integer"},
      {"num_key_value_heads", "4.5", "\"num_key_value_heads\" must be an integer"},
      {"rms_norm_eps", "\"1e-5\"", "\"rms_norm_eps\" must be a finite number"},
      {"tie_word_embeddings", "1", "\"tie_word_embeddings\" must be true or false"},
      {"torch_dtype", "32", "\"torch_dtype\" must be a string"},
      {"bos_token_id", "1099511627776", "\"bos_token_id\" is out of range"},
      {"eos_token_id", "[2, \"x\"]", "\"eos_token_id\" must be an integer"},
      {"eos_token_id", "600", "eos_token_id 600 is outside the vocabulary"},
      {"max_position_embeddings", "2147483648", "max_position_embeddings must be in"},
      {"rope_theta", "0", "rope_theta must be positive"},
      {"rope_theta", "-1", "rope_theta must be positive"},
      {"rms_norm_eps", "-1", "rms_norm_eps must be positive"},
      {"hidden_size", "99999999999", "sizes beyond any supported model"},
      {"rope_scaling", "{\"rope_type\": \"linear\", \"factor\": 0}", "rope_scaling.factor must be positive"},
      {"rope_scaling", "{\"rope_type\": \"linear\", \"factor\": \"2\"}", "\"rope_scaling.factor\" must be a finite number"},
      {"architectures", "[7]", "\"architectures\" must be a string"},
  };
  int index = 0;
  for (const auto& [field, value, message] : cases) {
    fs::path model = with_config_field(field, value, std::to_string(index++));
    expect_bad_input(run_lmshrink("inspect " + quote(model.string()), "cfg_run"), message);
    expect_bad_input(run_lmshrink("inspect " + quote(model.string()), "cfg_run"), "config.json");
  }
}

TEST(HostileInputCliTest, NumericFlagsOutsideTheirDomainNameTheFlag) {
  std::string stories = quote(lmshrink::testing::stories_bin());
  std::string text = quote(shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"));
  expect_bad_input(run_lmshrink("generate " + stories + " --temperature nan", "fl1"), "--temperature");
  expect_bad_input(run_lmshrink("generate " + stories + " --temperature inf --steps 4", "fl2"), "--temperature");
  expect_bad_input(run_lmshrink("generate " + stories + " --temperature 1 --top-p nan --steps 4", "fl3"), "--top-p");
  expect_bad_input(run_lmshrink("generate " + stories + " --temperature 1 --seed -1 --steps 4", "fl4"), "--seed");
  expect_bad_input(run_lmshrink("eval " + stories + " --ppl " + text + " --limit -5", "fl5"), "--limit");
  expect_bad_input(run_lmshrink("compress " + stories + " -o /tmp/never-written --method svd --ratio 0.2 --targets ''", "fl6"),
                   "--targets");
  EXPECT_FALSE(fs::exists("/tmp/never-written"));
}

TEST(HostileInputCliTest, ExtremeTemperaturesSampleWithoutCrashing) {
  std::string stories = quote(lmshrink::testing::stories_bin());
  for (const char* temperature : {"1e-45", "1e-30", "1e30"}) {
    CommandResult r = run_lmshrink("generate " + stories + " --temperature " + temperature + " --top-p 0.9 --steps 16", "temp");
    EXPECT_EQ(r.exit_code, 0) << temperature << ": " << r.stderr_text;
    r = run_lmshrink("generate " + stories + " --temperature " + temperature + " --top-p 0.001 --steps 16", "temp_p");
    EXPECT_EQ(r.exit_code, 0) << temperature << ": " << r.stderr_text;
  }
  // A tiny temperature is greedy decoding in the limit: the same text as --temperature 0.
  CommandResult greedy = run_lmshrink("generate " + stories + " --temperature 0 --steps 24", "greedy");
  CommandResult tiny = run_lmshrink("generate " + stories + " --temperature 1e-45 --top-p 0.9 --steps 24", "tiny");
  EXPECT_EQ(tiny.stdout_text, greedy.stdout_text);
}

// Sets the first `count` float32 elements of `tensor` in a single-file safetensors checkpoint to `value`.
void poison_elements(const fs::path& file, const std::string& tensor, int64_t count, float value) {
  std::string bytes = slurp(file);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_length));
  uint64_t begin = header.at(tensor).at("data_offsets").at(0).get<uint64_t>();
  for (int64_t i = 0; i < count; ++i) std::memcpy(bytes.data() + 8 + header_length + begin + 4 * i, &value, sizeof(value));
  std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void poison_tensor(const fs::path& file, const std::string& tensor, float value) { poison_elements(file, tensor, 1, value); }

// NaN or Inf in a weight is refused at load by every command, naming the tensor; inspect --allow-nonfinite loads it
// and counts the layers that hold one.
TEST(HostileInputCliTest, NonFiniteWeightsAreRefusedAtLoadNamingTheTensor) {
  fs::path model = lmshrink::testing::temp_dir("nan_model") / "model";
  fs::copy(hf_stories(), model);
  poison_tensor(model / "model.safetensors", "model.layers.2.self_attn.q_proj.weight", std::nanf(""));
  std::string m = quote(model.string()), out = quote((model.parent_path() / "out").string());
  std::string text = quote(shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"));
  for (const std::string& command : {"generate " + m + " --temperature 1 --steps 8", "generate " + m + " --steps 8",
                                     "eval " + m + " --ppl " + text, "inspect " + m,
                                     "compress " + m + " -o " + out + " --method svd --ratio 0.2",
                                     "prune " + m + " -o " + out + " --method shortgpt --blocks 1 --calib-samples 2"}) {
    CommandResult r = run_lmshrink(command, "nan_weight");
    expect_bad_input(r, "model.layers.2.self_attn.q_proj.weight holds NaN or Inf");
    EXPECT_FALSE(fs::exists(model.parent_path() / "out")) << command;
  }
  poison_tensor(model / "model.safetensors", "model.layers.2.self_attn.q_proj.weight", INFINITY);
  CommandResult inspect = run_lmshrink("inspect " + m + " --allow-nonfinite", "nan_inspect");
  EXPECT_EQ(inspect.exit_code, 0) << inspect.stderr_text;
  EXPECT_NE(inspect.stdout_text.find("layers holding NaN or Inf: 1, first model.layers.2.self_attn.q_proj"),
            std::string::npos) << inspect.stdout_text;
}

// Finite weights too large for float32 turn the activations after them into Inf/NaN: calibration skips those batches,
// and a layer that none reached is an error naming it and why, for every calibrated method; eval and sampling refuse
// the non-finite outputs.
TEST(HostileInputCliTest, ActivationsOverflowingFloat32AreAnErrorNamingTheLayer) {
  fs::path model = lmshrink::testing::temp_dir("huge_model") / "model";
  fs::copy(hf_stories(), model);
  poison_elements(model / "model.safetensors", "model.layers.1.mlp.up_proj.weight", 1024, 3e38f);
  std::string m = quote(model.string()), out = quote((model.parent_path() / "out").string());
  std::string calib = " --calib " + quote(shared_path("data/tinystories/tinystories-valid-calib.txt")) +
                      " --calib-samples 4 --calib-seq-len 64";
  for (const char* method : {"svd-llm", "asvd", "cospadi", "rocket"}) {
    CommandResult r = run_lmshrink("compress " + m + " -o " + out + " --method " + method + " --ratio 0.2" + calib +
                                       (std::string(method) == "rocket" ? " --rates 0.2 --ks 1" : ""), "huge");
    expect_bad_input(r, "held NaN or Inf activations");
    EXPECT_FALSE(fs::exists(model.parent_path() / "out")) << method;
  }
  std::string text = quote(shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"));
  expect_bad_input(run_lmshrink("eval " + m + " --ppl " + text, "huge_eval"), "not finite");
}

}  // namespace

namespace {

TEST(HostileInputCliTest, DeeplyNestedTokenizerComponentsAreAnErrorNotAStackOverflow) {
  const int depth = 100000;
  std::string nested;
  for (int i = 0; i < depth; ++i) nested += R"({"type":"Sequence","normalizers":[)";
  for (int i = 0; i < depth; ++i) nested += "]}";
  std::string json = R"({"version":"1.0","model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":)" + nested + "}";
  std::string path = lmshrink::testing::write_file("nested_tok", "tokenizer.json", json);
  lmshrink::testing::expect_bad_input(run_lmshrink("tokenize " + quote(path) + " --text hi", "nested"),
                                      "nested deeper than");
}

// A record file (--json, profile -o) that names an input or a folder is refused before the work: no profile pass,
// no compressed model committed, no perplexity printed, and the input untouched.
TEST(HostileInputCliTest, RecordFilesNamingAnInputOrAFolderFailBeforeTheWork) {
  fs::path dir = lmshrink::testing::temp_dir("record_file");
  fs::path model = dir / "model.bin";
  fs::copy(lmshrink::testing::stories_bin(), model);
  fs::copy(fs::path(lmshrink::testing::stories_bin()).parent_path() / "tok512.bin", dir / "tok512.bin");
  std::string m = quote(model.string()), folder = quote(dir.string());
  std::string before = slurp(model);
  CommandResult profile = run_lmshrink("profile " + m + " -o " + m + " --rates 0.2 --ks 1", "record_profile");
  expect_bad_input(profile, "would replace the input");
  EXPECT_EQ(profile.stderr_text.find("calibrat"), std::string::npos) << profile.stderr_text;
  EXPECT_EQ(slurp(model), before);
  CommandResult compress = run_lmshrink("compress " + m + " -o " + quote((dir / "out").string()) +
                                            " --method svd --ratio 0.2 --json " + folder, "record_compress");
  expect_bad_input(compress, "is a folder");
  EXPECT_FALSE(fs::exists(dir / "out"));
  std::string text = quote(shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"));
  CommandResult eval = run_lmshrink("eval " + m + " --ppl " + text + " --json " + folder, "record_eval");
  expect_bad_input(eval, "is a folder");
  EXPECT_EQ(eval.stdout_text, "");
}

}  // namespace
