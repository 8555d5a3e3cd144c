// lmshrink eval MODEL --ppl FILE: perplexity under a named protocol (gptq | llamacpp).
#include <cstdio>

#include "cli/commands.h"
#include "lmshrink/eval/perplexity.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct EvalArgs {
  std::string model, tokenizer, ppl_file, protocol = "gptq", json;
  int64_t seq_len = 0;
  int64_t batch_size = 4;
};

void run_eval(const EvalArgs& args) {
  PplProtocol protocol = parse_ppl_protocol(args.protocol);
  LoadedModel loaded = load_model(args.model);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  const ModelConfig& config = loaded.model->config();
  int64_t seq_len = args.seq_len > 0 ? args.seq_len : config.max_position_embeddings;
  LMSHRINK_CHECK(seq_len <= config.max_position_embeddings, "--seq-len: ", seq_len, " exceeds the context of ",
                 loaded.path, " (", config.max_position_embeddings, " tokens)");
  std::string text = read_text_file(args.ppl_file, "--ppl");
  std::vector<int32_t> tokens = tokenizer->encode(text, true, false);
  PerplexityResult r = perplexity(*loaded.model, tokens, protocol, seq_len, args.batch_size);
  std::printf("ppl %.4f +/- %.5f  (protocol %s, seq_len %lld, %lld windows, %lld tokens scored, nll %.5f, fp32, %s%s) %.1f s\n",
              r.ppl, r.ppl_stderr, r.protocol.c_str(), static_cast<long long>(r.seq_len),
              static_cast<long long>(r.windows), static_cast<long long>(r.tokens_scored), r.nll,
              args.ppl_file.c_str(), config.source_format == "synthetic" ? ", synthetic model" : "", r.seconds);
  if (!args.json.empty()) {
    nlohmann::json record = {{"command", "eval"}, {"ppl", r.ppl}, {"ppl_stderr", r.ppl_stderr}, {"nll", r.nll},
                             {"tokens_scored", r.tokens_scored}, {"tokens_total", r.tokens_total},
                             {"windows", r.windows}, {"protocol", r.protocol}, {"seq_len", r.seq_len},
                             {"dtype", "float32"}, {"model", loaded.path}, {"file", args.ppl_file},
                             {"seconds", r.seconds}, {"date", now_iso8601()}};
    write_json_file(args.json, record);
  }
}

}  // namespace

Command add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a model: perplexity of a text file under a named protocol");
  cmd->add_option("model", args->model, "Hugging Face directory, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer file (default: beside the model)");
  cmd->add_option("--ppl", args->ppl_file, "text file to score")->required();
  cmd->add_option("--protocol", args->protocol, "gptq (all tokens of non-overlapping windows) or llamacpp "
                                                "(llama-perplexity: BOS per chunk, second half scored)");
  cmd->add_option("--seq-len", args->seq_len, "window length in tokens (default: the model context)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", args->batch_size, "windows per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--json", args->json, "write a JSON record here");
  return [args] { run_eval(*args); };
}

}  // namespace lmshrink::cli
