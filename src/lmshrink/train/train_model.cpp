// From-scratch models with dense, GQA, low-rank and MASA attention (see train_model.h).
#include "lmshrink/train/train_model.h"

#include <cmath>
#include <map>
#include <set>

#include "lmshrink/model/inspect.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

template <class T>
void read_field(const nlohmann::json& json, const char* name, T& value, const std::string& origin) {
  if (!json.contains(name)) return;
  try {
    value = json[name].get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(origin, ": \"", name, "\" has the wrong type");
  }
}

}  // namespace

TrainConfig parse_train_config(const nlohmann::json& json, const std::string& origin) {
  LMSHRINK_CHECK(json.is_object(), origin, ": expected a JSON object");
  TrainConfig c;
  nlohmann::json known = train_config_json(c);
  for (const auto& [key, value] : json.items()) {
    LMSHRINK_CHECK(known.contains(key), origin, ": unknown field \"", key, "\"");
  }
  read_field(json, "attention", c.attention, origin);
  read_field(json, "hidden_size", c.hidden_size, origin);
  read_field(json, "intermediate_size", c.intermediate_size, origin);
  read_field(json, "num_layers", c.num_layers, origin);
  read_field(json, "num_heads", c.num_heads, origin);
  read_field(json, "gqa_kv_heads", c.gqa_kv_heads, origin);
  read_field(json, "lowrank_rank", c.lowrank_rank, origin);
  read_field(json, "masa_atoms", c.masa_atoms, origin);
  read_field(json, "coef_embedding", c.coef_embedding, origin);
  read_field(json, "coef_hidden", c.coef_hidden, origin);
  read_field(json, "seq_len", c.seq_len, origin);
  read_field(json, "rope_theta", c.rope_theta, origin);
  read_field(json, "init_std", c.init_std, origin);
  read_field(json, "batch_size", c.batch_size, origin);
  read_field(json, "steps", c.steps, origin);
  read_field(json, "lr", c.lr, origin);
  read_field(json, "weight_decay", c.weight_decay, origin);
  read_field(json, "warmup_fraction", c.warmup_fraction, origin);
  read_field(json, "clip_norm", c.clip_norm, origin);
  read_field(json, "seed", c.seed, origin);
  read_field(json, "eval_every", c.eval_every, origin);
  read_field(json, "eval_windows", c.eval_windows, origin);
  read_field(json, "checkpoint_every", c.checkpoint_every, origin);
  static const std::set<std::string> variants{"dense", "gqa", "lowrank", "masa-qkv", "masa-qkvo"};
  LMSHRINK_CHECK(variants.count(c.attention), origin, ": \"attention\" must be dense, gqa, lowrank, masa-qkv or masa-qkvo, got \"",
                 c.attention, "\"");
  LMSHRINK_CHECK(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_layers > 0 && c.num_heads > 0 &&
                     c.hidden_size % c.num_heads == 0 && (c.hidden_size / c.num_heads) % 2 == 0,
                 origin, ": need positive sizes and hidden_size divisible by num_heads into an even head_dim");
  LMSHRINK_CHECK(c.attention != "gqa" || (c.gqa_kv_heads > 0 && c.num_heads % c.gqa_kv_heads == 0), origin,
                 ": gqa_kv_heads must divide num_heads");
  LMSHRINK_CHECK(c.attention != "lowrank" || (c.lowrank_rank > 0 && c.lowrank_rank <= c.hidden_size), origin,
                 ": lowrank_rank must lie in [1, hidden_size]");
  LMSHRINK_CHECK(c.masa_atoms >= 0, origin, ": masa_atoms must be >= 0 (0: round(L / 3))");
  LMSHRINK_CHECK(c.attention.rfind("masa", 0) != 0 || train_masa_atoms(c) <= c.num_layers, origin, ": masa_atoms ",
                 c.masa_atoms, " exceeds num_layers ", c.num_layers, " (S <= L)");
  LMSHRINK_CHECK(c.coef_embedding > 0 && c.coef_hidden > 0 && c.seq_len >= 2 && c.batch_size > 0 && c.steps > 0 &&
                     c.lr > 0 && c.weight_decay >= 0 && c.warmup_fraction >= 0 && c.warmup_fraction < 1 &&
                     c.eval_every >= 0 && c.eval_windows > 0 && c.checkpoint_every >= 0,
                 origin, ": need positive widths, seq_len >= 2, batch_size, steps, lr, eval_windows; warmup_fraction in [0, 1)");
  return c;
}

nlohmann::json train_config_json(const TrainConfig& c) {
  return {{"attention", c.attention}, {"hidden_size", c.hidden_size}, {"intermediate_size", c.intermediate_size},
          {"num_layers", c.num_layers}, {"num_heads", c.num_heads}, {"gqa_kv_heads", c.gqa_kv_heads},
          {"lowrank_rank", c.lowrank_rank}, {"masa_atoms", c.masa_atoms}, {"coef_embedding", c.coef_embedding},
          {"coef_hidden", c.coef_hidden}, {"seq_len", c.seq_len}, {"rope_theta", c.rope_theta}, {"init_std", c.init_std},
          {"batch_size", c.batch_size}, {"steps", c.steps}, {"lr", c.lr}, {"weight_decay", c.weight_decay},
          {"warmup_fraction", c.warmup_fraction}, {"clip_norm", c.clip_norm}, {"seed", c.seed},
          {"eval_every", c.eval_every}, {"eval_windows", c.eval_windows}, {"checkpoint_every", c.checkpoint_every}};
}

int64_t train_masa_atoms(const TrainConfig& c) {
  return c.masa_atoms > 0 ? c.masa_atoms : std::max<int64_t>(1, std::llround(static_cast<double>(c.num_layers) / 3.0));
}

at::Tensor CoefficientMlp::forward() const {
  at::Tensor h = torch::gelu(torch::matmul(embedding, w1) + b1);
  h = torch::gelu(torch::matmul(h, w2) + b2);
  return torch::matmul(h, w3) + b3;
}

std::vector<at::Tensor> CoefficientMlp::parameters() const { return {embedding, w1, b1, w2, b2, w3, b3}; }

void TrainableModel::refresh_coefficients() {
  for (size_t i = 0; i < banks.size(); ++i) banks[i]->coefficients = mlps[i].forward();
}

void TrainableModel::collapse() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < banks.size(); ++i) banks[i]->coefficients = mlps[i].forward().detach().contiguous();
  for (const NamedLinear& named : model->named_linears()) {
    if (auto* shared = dynamic_cast<SharedAtomsLinear*>(const_cast<Linear*>(named.linear))) shared->set_mix(AtomMix::kSynthesize);
  }
}

namespace {

struct Builder {
  const TrainConfig& config;
  torch::Generator generator;
  TrainableModel& trainable;

  at::Tensor param(const std::string& name, at::Tensor value) {
    value = value.contiguous();
    value.set_requires_grad(true);
    trainable.parameters.push_back({name, value});
    return value;
  }
  at::Tensor normal(const std::string& name, std::vector<int64_t> shape, double std_dev) {
    return param(name, at::normal(0.0, std_dev, shape, generator, torch::kFloat32));
  }
  // A [fan_in, fan_out] matrix of a coefficient MLP, uniform(±1/√fan_in) as torch.nn.Linear.
  at::Tensor mlp_matrix(const std::string& name, int64_t fan_in, int64_t fan_out) {
    double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    return param(name, at::rand({fan_in, fan_out}, generator, torch::kFloat32) * (2 * bound) - bound);
  }

  std::shared_ptr<AtomBank> bank(const std::string& projection, int64_t out, int64_t in, double std_dev) {
    int64_t atoms = train_masa_atoms(config), layers = config.num_layers;
    auto bank = std::make_shared<AtomBank>();
    // Atoms scaled so that a layer's W = Σ_s c_s D_s starts near std_dev with c ~ O(1): std_dev / √S.
    bank->atoms = normal("masa." + projection + ".atoms", {atoms, out, in}, std_dev / std::sqrt(static_cast<double>(atoms)));
    bank->owner = projection_layer_name(0, projection);
    CoefficientMlp mlp;
    std::string p = "masa." + projection + ".mlp.";
    mlp.embedding = normal(p + "embedding", {layers, config.coef_embedding}, 1.0);
    mlp.w1 = mlp_matrix(p + "w1", config.coef_embedding, config.coef_hidden);
    mlp.b1 = param(p + "b1", torch::zeros({config.coef_hidden}));
    mlp.w2 = mlp_matrix(p + "w2", config.coef_hidden, config.coef_hidden);
    mlp.b2 = param(p + "b2", torch::zeros({config.coef_hidden}));
    mlp.w3 = mlp_matrix(p + "w3", config.coef_hidden, atoms);
    mlp.b3 = param(p + "b3", torch::ones({atoms}));  // every layer starts from the mean of the atoms
    {
      torch::NoGradGuard no_grad;
      bank->coefficients = mlp.forward();
    }
    trainable.banks.push_back(bank);
    trainable.mlps.push_back(mlp);
    return bank;
  }

  std::unique_ptr<Linear> projection(const std::string& name, int64_t out, int64_t in, double std_dev,
                                     const std::shared_ptr<AtomBank>& bank, int64_t layer) {
    if (bank) return std::make_unique<SharedAtomsLinear>(bank, layer, AtomMix::kRuntime);
    if (config.attention == "lowrank") {
      int64_t r = config.lowrank_rank;  // A B has entries of std √r σ_a σ_b: give each factor std (std_dev/√r)^½
      double factor_std = std::sqrt(std_dev / std::sqrt(static_cast<double>(r)));
      at::Tensor a = normal(name + ".a", {in, r}, factor_std);
      at::Tensor b = normal(name + ".b", {r, out}, factor_std);
      return std::make_unique<LowRankLinear>(a, b);
    }
    return std::make_unique<DenseLinear>(normal(name + ".weight", {out, in}, std_dev));
  }
};

ModelConfig model_config(const TrainConfig& c, int64_t vocab_size) {
  ModelConfig m;
  m.architecture = "LlamaForCausalLM";
  m.source_format = "lmshrink-train";
  m.hidden_size = c.hidden_size;
  m.intermediate_size = c.intermediate_size;
  m.num_layers = c.num_layers;
  m.num_heads = c.num_heads;
  m.num_kv_heads = c.attention == "gqa" ? c.gqa_kv_heads : c.num_heads;
  m.head_dim = c.hidden_size / c.num_heads;
  m.vocab_size = vocab_size;
  m.max_position_embeddings = c.seq_len;
  m.rope_theta = c.rope_theta;
  m.tie_word_embeddings = true;
  return m;
}

}  // namespace

TrainableModel build_trainable_model(const TrainConfig& c, int64_t vocab_size) {
  LMSHRINK_CHECK(vocab_size > 0, "train: the tokenizer has no vocabulary");
  ModelConfig m = model_config(c, vocab_size);
  validate_config(m, "train config");
  TrainableModel trainable;
  Builder b{c, at::detail::createCPUGenerator(c.seed), trainable};
  const double std_dev = c.init_std, out_std = c.init_std / std::sqrt(2.0 * c.num_layers);
  int64_t h = m.hidden_size;
  at::Tensor embed = b.normal("model.embed_tokens.weight", {vocab_size, h}, std_dev);
  bool masa = c.attention.rfind("masa", 0) == 0, masa_o = c.attention == "masa-qkvo";
  std::map<std::string, std::shared_ptr<AtomBank>> banks;  // MASA: one bank per shared attention projection
  for (const ProjectionInfo& info : projection_table()) {
    if (!masa || !info.is_attention() || (info.name == "o_proj" && !masa_o)) continue;
    auto [out, in] = projection_shape(m, info.name);
    banks[info.name] = b.bank(info.name, out, in, info.input == LinearInput::kO ? out_std : std_dev);
  }
  std::vector<TransformerBlock> blocks(c.num_layers);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    TransformerBlock& block = blocks[l];
    block.attn_norm = b.param(p + "input_layernorm.weight", torch::ones({h}));
    block.mlp_norm = b.param(p + "post_attention_layernorm.weight", torch::ones({h}));
    for (const ProjectionInfo& info : projection_table()) {  // q, k, v, o, gate, up, down: the order of the draws
      auto [out, in] = projection_shape(m, info.name);
      bool residual_out = info.input == LinearInput::kO || info.input == LinearInput::kDown;
      double sd = residual_out ? out_std : std_dev;  // projections into the residual stream start smaller
      std::string name = projection_layer_name(l, info.name);
      auto bank = banks.find(info.name);
      block.*info.member = info.is_attention()
                               ? b.projection(name, out, in, sd, bank == banks.end() ? nullptr : bank->second, l)
                               : std::make_unique<DenseLinear>(b.normal(name + ".weight", {out, in}, sd));
    }
  }
  at::Tensor final_norm = b.param("model.norm.weight", torch::ones({h}));
  trainable.model = std::make_unique<Transformer>(m, embed, std::move(blocks), final_norm, nullptr);
  return trainable;
}

int64_t attention_params(const Transformer& model) {
  int64_t total = 0;
  for (const TransformerBlock& b : model.blocks()) {
    for (const Linear* l : {b.q_proj.get(), b.k_proj.get(), b.v_proj.get(), b.o_proj.get()}) total += l->params().values;
  }
  return total;
}

int64_t model_params(const Transformer& model) { return summarize_model(model).total_params; }

}  // namespace lmshrink
