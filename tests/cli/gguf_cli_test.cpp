// GGUF files as MODEL for every command (issue 24): `eval` of a GGUF export prints the same perplexity as `eval` of its
// source, to the last digit, for stories260K and each SYNTHETIC family fixture (Llama-3 rope scaling and tied
// embeddings, Qwen2 biases, Qwen3 q/k norms, Mistral); a GGUF compresses into a model directory that carries its
// tokenizer and generates; bad GGUF input is one line on stderr naming the file, exit code 2, and no output.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "cli_helpers.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::testing::CommandResult;
using lmshrink::testing::quote;
using lmshrink::testing::run_lmshrink;

std::string eval_text() {
  std::string text = lmshrink::testing::slurp(lmshrink::testing::shared_path("data/tinystories/tinystories-valid-eval.txt"));
  return lmshrink::testing::write_file("gguf_eval", "text.txt", text.substr(0, 6000));
}

std::string exported(const std::string& model, const fs::path& gguf, const std::string& type = "f32") {
  CommandResult r = run_lmshrink("export " + quote(model) + " --gguf " + quote(gguf.string()) + " --type " + type,
                                 "export_" + gguf.stem().string());
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  return gguf.string();
}

std::string eval_line(const std::string& model, const std::string& text, const std::string& tag) {
  CommandResult r = run_lmshrink("eval " + quote(model) + " --ppl " + quote(text) + " --protocol gptq --seq-len 128", tag);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_GT(lmshrink::testing::ppl_of(r), 1.0) << r.stdout_text;
  std::string line = r.stdout_text.substr(r.stdout_text.find("ppl "));
  return line.substr(0, line.find(" weights, "));  // the figures, without the text's path and the time taken
}

TEST(GgufCli, EvalOfAGgufEqualsEvalOfItsSourceForEveryFamily) {
  fs::path dir = lmshrink::testing::temp_dir("families");
  std::string text = eval_text();
  std::vector<std::string> sources = {lmshrink::testing::stories_bin()};
  for (const char* shape : {"llama-3.2-1b", "qwen3-8b", "qwen2-7b", "mistral-7b"}) {
    fs::path family = dir / shape;
    CommandResult r = run_lmshrink(std::string("synthesize --shape ") + shape + " --hidden 128 --layers 2 --heads 4 "
                                   "--kv-heads 2 --mlp 256 --vocab 512 --dtype f32 -o " + quote(family.string()), "synth");
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    fs::copy_file(lmshrink::testing::stories_tok(), family / "tokenizer.bin");
    sources.push_back(family.string());
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string gguf = exported(sources[i], dir / ("m" + std::to_string(i) + ".gguf"));
    EXPECT_EQ(eval_line(gguf, text, "eval_gguf"), eval_line(sources[i], text, "eval_source")) << sources[i];
  }
}

TEST(GgufCli, AGgufCompressesIntoADirectoryThatCarriesItsTokenizer) {
  fs::path dir = lmshrink::testing::temp_dir("compress");
  std::string gguf = exported(lmshrink::testing::stories_bin(), dir / "s.gguf", "q8_0");
  CommandResult r = run_lmshrink("compress " + quote(gguf) + " -o " + quote((dir / "out").string()) +
                                 " --method svd-llm --ratio 0.3 --calib " +
                                 quote(lmshrink::testing::shared_path("data/tinystories/tinystories-valid-calib.txt")) +
                                 " --calib-samples 8 --threads 1", "compress");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_TRUE(fs::exists(dir / "out" / "tokenizer.bin"));
  CommandResult g = run_lmshrink("generate " + quote((dir / "out").string()) + " --prompt 'Once upon a time' "
                                 "--max-tokens 8 --temperature 0", "generate");
  EXPECT_EQ(g.exit_code, 0) << g.stderr_text;
  EXPECT_EQ(g.stdout_text.rfind("Once upon a time", 0), 0u) << g.stdout_text;
}

TEST(GgufCli, BadGgufInputIsOneLineExitTwoAndNoOutput) {
  fs::path dir = lmshrink::testing::temp_dir("bad");
  std::string good = lmshrink::testing::slurp(exported(lmshrink::testing::stories_bin(), dir / "s.gguf"));
  auto expect_refused = [&](const std::string& bytes, const std::string& must_mention) {
    fs::path path = dir / "bad.gguf";
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    lmshrink::testing::expect_bad_input(
        run_lmshrink("compress " + quote(path.string()) + " -o " + quote((dir / "out").string()) +
                     " --method svd --ratio 0.3", "bad"), must_mention);
    EXPECT_FALSE(fs::exists(dir / "out"));
    lmshrink::testing::expect_bad_input(run_lmshrink("eval " + quote(path.string()) + " --ppl " + quote(eval_text()), "bad_eval"),
                                        "bad.gguf");
  };
  expect_refused(good.substr(0, good.size() / 2), "bad.gguf: tensor");  // truncated: a tensor runs past the end
  expect_refused(good.substr(0, 300), "truncated GGUF");
  std::string version = good;
  version[4] = 9;
  expect_refused(version, "GGUF version 9 is not supported");
  std::string arch = good;
  size_t at = arch.find("llama");
  std::memcpy(arch.data() + at, "gemma", 5);
  expect_refused(arch, "GGUF architecture \"gemma\" is not supported");
  std::string q4 = good;  // token_embd's type (F32 = 0) after its name, 2 dimensions of 8 bytes
  at = q4.find("token_embd.weight") + std::strlen("token_embd.weight") + 4 + 16;
  q4[at] = 12;
  expect_refused(q4, "token_embd.weight has type Q4_K, which lmshrink cannot dequantise");
}

}  // namespace
