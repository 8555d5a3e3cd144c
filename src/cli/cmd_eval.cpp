// lmshrink eval MODEL: perplexity of a text file under a named protocol (gptq | llamacpp |
// wikitext-doc, the last being lm-eval's document-level WikiText word perplexity) and zero-shot
// tasks with lm-eval-harness 0.4 conventions (--tasks), written as one results JSON (--json).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "cli/kernel_flags.h"
#include "lmshrink/eval/log_prob_model.h"
#include "lmshrink/eval/model_hash.h"
#include "lmshrink/eval/perplexity.h"
#include "lmshrink/eval/rolling_perplexity.h"
#include "lmshrink/eval/zero_shot.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/inspect.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct EvalArgs {
  std::string model, tokenizer, ppl_file, protocol = "gptq", json, tasks, data = "../shared/data", bos = "yes";
  int64_t seq_len = 0;
  int64_t batch_size = 4;
  int64_t limit = -1;  // -1: all; 0 is rejected
  int num_fewshot = 0;
  bool no_shared_prefix = false;
  KernelArgs kernels;
};

nlohmann::json result_entry(const std::string& task, const std::string& metric, const MetricValue& value,
                            const std::string& protocol, bool headline) {
  return {{"task", task},         {"metric", metric},     {"value", value.value}, {"stderr", value.stderr_value},
          {"n", value.n},         {"protocol", protocol}, {"headline", headline}};
}

std::vector<std::string> parse_task_list(const std::string& list) {
  std::vector<std::string> names;
  if (list == "all") return known_tasks();
  std::stringstream in(list);
  for (std::string name; std::getline(in, name, ',');)
    if (!name.empty()) names.push_back(name);
  LMSHRINK_CHECK(!names.empty(), "--tasks: no task names in '", list, "'");
  return names;
}

void print_task(const TaskResult& r) {
  std::printf("%-15s", r.task.c_str());
  for (const auto& [metric, value] : r.metrics)
    std::printf("  %s %.4f +/- %.4f", metric.c_str(), value.value, value.stderr_value);
  std::printf("  (n %lld, %lld requests, %lld truncated, %.1f s)\n", static_cast<long long>(r.metrics.at("acc").n),
              static_cast<long long>(r.requests), static_cast<long long>(r.truncated), r.seconds);
  std::fflush(stdout);  // one line per task as it finishes, also when stdout is a file
}

nlohmann::json run_tasks(const EvalArgs& args, const LogProbModel& model, const Tokenizer& tokenizer) {
  // Every task file is read (and checked) before the first one is scored.
  std::vector<TaskData> tasks;
  for (const std::string& name : parse_task_list(args.tasks)) tasks.push_back(load_task(name, args.data, args.num_fewshot));
  ZeroShotSettings settings{args.limit > 0 ? args.limit : 0, args.batch_size, args.bos == "yes", !args.no_shared_prefix};
  nlohmann::json entries = nlohmann::json::array(), details = nlohmann::json::object();
  for (const TaskData& task : tasks) {
    TaskResult r = evaluate_task(model, tokenizer, task, settings);
    print_task(r);
    std::string protocol = task.prompt + "; " + std::to_string(task.num_fewshot) + "-shot; bos " + args.bos;
    nlohmann::json groups = nlohmann::json::object();
    for (const auto& [group, value] : r.groups) groups[group] = {{"acc", value.value}, {"stderr", value.stderr_value}, {"n", value.n}};
    for (const auto& [metric, value] : r.metrics) entries.push_back(result_entry(task.name, metric, value, protocol, metric == task.headline));
    details[task.name] = {{"source", task.source}, {"prompt", task.prompt}, {"num_fewshot", task.num_fewshot},
                          {"requests", r.requests}, {"truncated_requests", r.truncated}, {"seconds", r.seconds}, {"headline", task.headline}, {"groups", groups}};
  }
  return {{"results", entries}, {"tasks", details}};
}

nlohmann::json run_ppl(const EvalArgs& args, const LoadedModel& loaded, const LogProbModel& model, const Tokenizer& tokenizer,
                       const std::string& weights) {
  std::string text = read_text_file(args.ppl_file, "--ppl");
  const ModelConfig& config = loaded.model->config();
  std::string synthetic = config.source_format == "synthetic" ? ", synthetic model" : "";
  if (args.protocol == "wikitext-doc") {
    RollingPerplexity r = wikitext_word_perplexity(model, tokenizer, text, args.limit > 0 ? args.limit : 0, args.batch_size);
    LMSHRINK_CHECK(std::isfinite(r.word_perplexity), loaded.path,
                   ": the model's log-probabilities are not finite (NaN or Inf weights?)");
    std::printf("word_perplexity %.4f  byte_perplexity %.5f  bits_per_byte %.5f  (lm-eval wikitext, %lld documents, "
                "%lld words, %lld tokens, %lld windows of %lld, %s%s) %.1f s\n",
                r.word_perplexity, r.byte_perplexity, r.bits_per_byte, static_cast<long long>(r.documents),
                static_cast<long long>(r.words), static_cast<long long>(r.tokens), static_cast<long long>(r.windows),
                static_cast<long long>(model.max_length()), args.ppl_file.c_str(), synthetic.c_str(), r.seconds);
    std::string protocol = "lm-eval wikitext (document-level, rolling windows of " + std::to_string(model.max_length()) + ")";
    nlohmann::json entries = nlohmann::json::array();
    const std::vector<std::pair<std::string, double>> metrics = {
        {"word_perplexity", r.word_perplexity}, {"byte_perplexity", r.byte_perplexity}, {"bits_per_byte", r.bits_per_byte}};
    for (const auto& [metric, value] : metrics)
      entries.push_back(result_entry("wikitext", metric, {value, 0.0, r.documents}, protocol, metric == "word_perplexity"));
    return {{"results", entries}, {"file", args.ppl_file}, {"documents", r.documents}, {"words", r.words},
            {"bytes", r.bytes}, {"tokens_scored", r.tokens}, {"seconds", r.seconds}};
  }
  PplProtocol protocol = parse_ppl_protocol(args.protocol);
  int64_t seq_len = args.seq_len > 0 ? args.seq_len : config.max_position_embeddings;
  LMSHRINK_CHECK(seq_len <= config.max_position_embeddings, "--seq-len: ", seq_len, " exceeds the context of ",
                 loaded.path, " (", config.max_position_embeddings, " tokens)");
  std::vector<int32_t> tokens = tokenizer.encode(text, true, false);
  PerplexityResult r = perplexity(*loaded.model, tokens, protocol, seq_len, args.batch_size);
  LMSHRINK_CHECK(std::isfinite(r.nll), loaded.path, ": the model's log-probabilities are not finite (NaN or Inf weights?)");
  std::printf("ppl %.4f +/- %.5f  (protocol %s, seq_len %lld, %lld windows, %lld tokens scored, nll %.5f, %s weights, "
              "%s%s) %.1f s\n", r.ppl, r.ppl_stderr, r.protocol.c_str(), static_cast<long long>(r.seq_len),
              static_cast<long long>(r.windows), static_cast<long long>(r.tokens_scored), r.nll, weights.c_str(),
              args.ppl_file.c_str(), synthetic.c_str(), r.seconds);
  std::string name = std::filesystem::path(args.ppl_file).filename().string();
  nlohmann::json entry = result_entry(name, "perplexity", {r.ppl, r.ppl_stderr, r.tokens_scored},
                                      r.protocol + " seq_len " + std::to_string(r.seq_len), true);
  return {{"results", nlohmann::json::array({entry})}, {"ppl", r.ppl}, {"ppl_stderr", r.ppl_stderr}, {"nll", r.nll},
          {"tokens_scored", r.tokens_scored}, {"tokens_total", r.tokens_total}, {"windows", r.windows},
          {"protocol", r.protocol}, {"seq_len", r.seq_len}, {"file", args.ppl_file}, {"seconds", r.seconds}};
}

void run_eval(const EvalArgs& args) {
  LMSHRINK_CHECK(!args.ppl_file.empty() || !args.tasks.empty(), "eval: give --ppl FILE and/or --tasks LIST");
  LMSHRINK_CHECK(args.limit != 0, "--limit 0 evaluates nothing; give at least 1 (or leave it out for all)");
  LMSHRINK_CHECK(args.bos == "yes" || args.bos == "no", "--bos must be yes or no, got '", args.bos, "'");
  if (!args.ppl_file.empty() && args.protocol != "wikitext-doc") parse_ppl_protocol(args.protocol);
  LoadedModel loaded = load_model(args.model);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  check_record_file(args.json);
  ModelSummary summary = summarize_model(*loaded.model);  // of the checkpoint, before any packing
  PreparedKernels kernels;
  prepare_kernels(args.kernels, *loaded.model, kernels);
  TransformerLogProbs model(*loaded.model);
  nlohmann::json record = {{"command", "eval"}, {"model", loaded.path}, {"model_hash", model_fingerprint(loaded.path)},
                           {"model_hash_kind", "fnv1a64 of the checkpoint bytes"}, {"dtype", "float32"},
                           {"kernels", args.kernels.kernels}, {"weights", kernels.weights},
                           {"shared_prefix", !args.no_shared_prefix},
                           {"synthetic_model", loaded.model->config().source_format == "synthetic"},
                           {"date", now_iso8601()}, {"results", nlohmann::json::array()}};
  record["model_params"] = summary.total_params;
  record["model_bytes"] = summary.total_bytes;
  if (!args.tasks.empty()) {
    nlohmann::json tasks = run_tasks(args, model, *tokenizer);
    record["tasks"] = tasks["tasks"];
    for (const auto& entry : tasks["results"]) record["results"].push_back(entry);
  }
  if (!args.ppl_file.empty()) {
    nlohmann::json ppl = run_ppl(args, loaded, model, *tokenizer, kernels.weights);
    for (const auto& entry : ppl["results"]) record["results"].push_back(entry);
    ppl.erase("results");
    record.update(ppl);
  }
  if (!args.json.empty()) write_json_file(args.json, record);
}

}  // namespace

Command add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a model: perplexity under a named protocol and zero-shot tasks "
                                             "(lm-eval-harness 0.4 conventions)");
  cmd->add_option("model", args->model, "Hugging Face directory, GGUF file, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer file (default: beside the model)");
  cmd->add_option("--ppl", args->ppl_file, "text file to score (wiki.test.raw for --protocol wikitext-doc)");
  cmd->add_option("--protocol", args->protocol, "gptq (all tokens of non-overlapping windows), llamacpp "
                                                "(llama-perplexity: BOS per chunk, second half scored) or wikitext-doc "
                                                "(lm-eval wikitext: documents, rolling windows, word perplexity)");
  cmd->add_option("--seq-len", args->seq_len, "window length in tokens for gptq/llamacpp (default: the model context)")
      ->check(at_least(1));
  cmd->add_option("--tasks", args->tasks, "comma-separated zero-shot tasks, or 'all': piqa, hellaswag, arc_easy, "
                                          "arc_challenge, boolq, winogrande, openbookqa, lambada_openai, mmlu, copa");
  cmd->add_option("--data", args->data, "folder holding the task files (default ../shared/data)");
  cmd->add_option("--limit", args->limit, "evaluate the first N items of each task (documents for wikitext-doc)")
      ->check(at_least(1));
  cmd->add_option("--num-fewshot", args->num_fewshot, "few-shot exemplars (mmlu only: its dev file; default 0)");
  cmd->add_option("--bos", args->bos, "yes (default): prepend BOS to every context, as lm-eval >= 0.4.9.2 does for "
                                      "tokenizers that add one; no: lm-eval < 0.4.9.2");
  cmd->add_option("--batch-size", args->batch_size, "rows per forward pass")->check(at_least(1));
  cmd->add_option("--json", args->json, "write the results JSON here");
  add_kernel_flags(*cmd, args->kernels);
  cmd->add_flag("--no-shared-prefix", args->no_shared_prefix, "tasks: run every choice's whole row instead of one "
                                                              "context pass (KV cache) per question");
  return [args] { run_eval(*args); };
}

}  // namespace lmshrink::cli
