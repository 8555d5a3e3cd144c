// lmshrink inspect MODEL: architecture, shapes, parameter counts and bytes per module type.
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "lmshrink/io/finite_weights.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/inspect.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct InspectArgs {
  std::string model, json;
  bool allow_nonfinite = false;
};

// The block and head layers whose weights hold NaN or Inf (inspect --allow-nonfinite).
std::vector<std::string> nonfinite_layers(const Transformer& model) {
  std::vector<std::string> names;
  for (const NamedLinear& named : model.named_linears())
    if (first_nonfinite(named.linear->dense()) >= 0) names.push_back(named.name);
  return names;
}

nlohmann::json config_json(const ModelConfig& c) {
  return {{"architecture", c.architecture}, {"source_format", c.source_format}, {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_layers},
          {"num_attention_heads", c.num_heads}, {"num_key_value_heads", c.num_kv_heads}, {"head_dim", c.head_dim},
          {"vocab_size", c.vocab_size}, {"max_position_embeddings", c.max_position_embeddings},
          {"rms_norm_eps", c.rms_norm_eps}, {"rope_theta", c.rope_theta},
          {"tie_word_embeddings", c.tie_word_embeddings}};
}

void run_inspect(const InspectArgs& args) {
  LoadedModel loaded = load_model(args.model, args.allow_nonfinite);
  const Transformer& model = *loaded.model;
  const ModelConfig& c = model.config();
  ModelSummary summary = summarize_model(model);
  std::printf("%s (%s, %s)\n", loaded.path.c_str(), c.architecture.c_str(), c.source_format.c_str());
  std::printf("  hidden %lld, intermediate %lld, layers %lld, heads %lld, kv heads %lld, head_dim %lld, vocab %lld, "
              "context %lld, rope_theta %g, rms_eps %g, tied classifier %s\n",
              (long long)c.hidden_size, (long long)c.intermediate_size, (long long)c.num_layers, (long long)c.num_heads,
              (long long)c.num_kv_heads, (long long)c.head_dim, (long long)c.vocab_size,
              (long long)c.max_position_embeddings, c.rope_theta, c.rms_norm_eps, c.tie_word_embeddings ? "yes" : "no");
  const auto& block = model.blocks()[0];
  std::printf("  layer shapes [out, in]: q %lldx%lld  k %lldx%lld  v %lldx%lld  o %lldx%lld  gate/up %lldx%lld  down %lldx%lld\n",
              (long long)block.q_proj->out_features(), (long long)block.q_proj->in_features(),
              (long long)block.k_proj->out_features(), (long long)block.k_proj->in_features(),
              (long long)block.v_proj->out_features(), (long long)block.v_proj->in_features(),
              (long long)block.o_proj->out_features(), (long long)block.o_proj->in_features(),
              (long long)block.gate_proj->out_features(), (long long)block.gate_proj->in_features(),
              (long long)block.down_proj->out_features(), (long long)block.down_proj->in_features());
  std::printf("  %-14s %8s %14s %14s\n", "module", "tensors", "params", "bytes");
  nlohmann::json modules = nlohmann::json::object();
  for (const auto& [type, count] : summary.per_type) {
    std::printf("  %-14s %8lld %14lld %14lld\n", type.c_str(), (long long)count.tensors, (long long)count.params,
                (long long)count.bytes);
    modules[type] = {{"tensors", count.tensors}, {"params", count.params}, {"bytes", count.bytes}};
  }
  std::printf("  total params %lld (%lld in block linear layers), %lld bytes%s\n", (long long)summary.total_params,
              (long long)summary.linear_params, (long long)summary.total_bytes,
              model.lm_head_tied() ? "; lm_head tied to embed_tokens, counted once" : "");
  std::map<std::string, int64_t> format_counts;
  for (const NamedLinear& named : model.named_linears()) {
    if (!(named.name == "lm_head" && model.lm_head_tied())) ++format_counts[named.linear->format()];
  }
  std::string formats_line;
  for (const auto& [format, count] : format_counts) formats_line += str_cat(formats_line.empty() ? "" : ", ", count, " ", format);
  std::printf("  linear formats: %s\n", formats_line.c_str());
  if (args.allow_nonfinite) {
    std::vector<std::string> bad = nonfinite_layers(model);
    std::printf("  layers holding NaN or Inf: %zu%s%s\n", bad.size(), bad.empty() ? "" : ", first ",
                bad.empty() ? "" : bad[0].c_str());
  }
  if (!args.json.empty()) {
    nlohmann::json formats = nlohmann::json::object();
    for (const NamedLinear& named : model.named_linears()) formats[named.name] = named.linear->format();
    write_json_file(args.json, {{"command", "inspect"}, {"model", loaded.path}, {"config", config_json(c)},
                                {"modules", modules}, {"total_params", summary.total_params},
                                {"linear_params", summary.linear_params}, {"total_bytes", summary.total_bytes},
                                {"lm_head_tied", model.lm_head_tied()}, {"formats", formats}});
  }
}

}  // namespace

Command add_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Architecture, shapes, parameters and bytes per module type");
  cmd->add_option("model", args->model, "Hugging Face directory, GGUF file, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("--json", args->json, "write a JSON record here");
  cmd->add_flag("--allow-nonfinite", args->allow_nonfinite,
                "load weights holding NaN or Inf and count the layers that do (every other command refuses them)");
  return [args] { run_inspect(*args); };
}

}  // namespace lmshrink::cli
