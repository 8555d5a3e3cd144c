// Random layers in the compressed formats at the methods' sizes (see synthetic_formats.h).
#include "lmshrink/model/synthetic_formats.h"

#include <cmath>

#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/masa.h"
#include "lmshrink/compress/rank.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

struct Slot {
  std::string projection;
  std::unique_ptr<Linear>* layer;
};

std::vector<Slot> block_slots(TransformerBlock& b) {
  return {{"q_proj", &b.q_proj},       {"k_proj", &b.k_proj},   {"v_proj", &b.v_proj},      {"o_proj", &b.o_proj},
          {"gate_proj", &b.gate_proj}, {"up_proj", &b.up_proj}, {"down_proj", &b.down_proj}};
}

at::Tensor normal(std::vector<int64_t> shape, double std_dev, torch::Generator& generator) {
  return at::normal(0.0, std_dev, shape, generator, torch::kFloat32);
}

std::unique_ptr<Linear> random_low_rank(int64_t d1, int64_t d2, int64_t rank, torch::Generator& generator) {
  return std::make_unique<LowRankLinear>(normal({d1, rank}, 1.0 / std::sqrt(double(d1)), generator),
                                         normal({rank, d2}, 0.02, generator));
}

// s distinct random atoms per column (the s largest of k uniform draws), sorted as DictSparseLinear wants.
std::unique_ptr<Linear> random_dict_sparse(int64_t d1, int64_t d2, DictSize size, torch::Generator& generator) {
  at::Tensor draws = at::rand({size.atoms, d2}, generator, torch::kFloat32);
  at::Tensor rows = std::get<1>(draws.topk(size.nonzeros, 0));
  auto [sorted_rows, values] = sorted_support(rows, normal({size.nonzeros, d2}, 0.02, generator), size.atoms);
  return std::make_unique<DictSparseLinear>(float_factor(normal({d1, size.atoms}, 1.0 / std::sqrt(double(d1)), generator)),
                                            sorted_rows, float_factor(values));
}

std::unique_ptr<Linear> random_layer(const std::string& method, int64_t d1, int64_t d2, double ratio, const std::string& what,
                                     torch::Generator& generator) {
  if (method == "svd" || method == "asvd" || method == "svd-llm") {
    return random_low_rank(d1, d2, low_rank_for_ratio(d1, d2, ratio, what), generator);
  }
  DictCost cost;  // full accounting, 16-bit values
  if (method == "cospadi" || method == "compot") {
    DictSize size = dict_size_for_ratio(d1, d2, 1, ratio, 2.0, cost, method == "compot" ? d1 : 0, what);
    return random_dict_sparse(d1, d2, size, generator);
  }
  std::optional<RocketSize> size = rocket_size(d1, d2, ratio, 2.0, cost);
  LMSHRINK_CHECK(size.has_value(), what, ": rocket has no size at rate ", ratio, " and ks 2");
  if (size->nonzeros == size->atoms) return random_low_rank(d1, d2, size->atoms, generator);
  return random_dict_sparse(d1, d2, {size->atoms, size->nonzeros}, generator);
}

// MASA: one bank per attention projection type over all layers, each layer mixing it with its own coefficients.
void apply_masa(Transformer& model, double ratio, torch::Generator& generator) {
  int64_t layers = model.config().num_layers;
  for (const std::string projection : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
    std::shared_ptr<AtomBank> bank;
    for (int64_t l = 0; l < layers; ++l) {
      for (Slot& slot : block_slots(model.mutable_blocks()[l])) {
        if (slot.projection != projection) continue;
        int64_t out = (*slot.layer)->out_features(), in = (*slot.layer)->in_features();
        if (!bank) {
          std::string what = "model.layers.0.self_attn." + projection;
          int64_t atoms = masa_atoms_for_ratio(out, in, layers, ratio, 0, what);
          bank = std::make_shared<AtomBank>();
          bank->atoms = normal({atoms, out, in}, 0.02, generator);
          bank->coefficients = normal({layers, atoms}, 1.0 / std::sqrt(double(atoms)), generator);
          bank->owner = what;
        }
        *slot.layer = std::make_unique<SharedAtomsLinear>(bank, l, AtomMix::kSynthesize);
      }
    }
  }
}

}  // namespace

const std::vector<std::string>& synthetic_format_methods() {
  static const std::vector<std::string> methods = {"dense", "svd", "asvd", "svd-llm", "cospadi", "compot", "rocket", "masa"};
  return methods;
}

void apply_synthetic_format(Transformer& model, const std::string& method, double ratio, uint64_t seed) {
  const auto& methods = synthetic_format_methods();
  LMSHRINK_CHECK(std::find(methods.begin(), methods.end(), method) != methods.end(), "unknown format method '", method,
                 "' (expected dense, svd, asvd, svd-llm, cospadi, compot, rocket or masa)");
  if (method == "dense") return;
  LMSHRINK_CHECK(ratio > 0.0 && ratio < 1.0, "--ratio must lie in (0, 1), got ", ratio);
  torch::NoGradGuard no_grad;
  torch::Generator generator = at::detail::createCPUGenerator(seed);
  if (method == "masa") return apply_masa(model, ratio, generator);
  for (size_t l = 0; l < model.mutable_blocks().size(); ++l) {
    for (Slot& slot : block_slots(model.mutable_blocks()[l])) {
      int64_t d1 = (*slot.layer)->in_features(), d2 = (*slot.layer)->out_features();
      std::string what = str_cat("model.layers.", l, ".", slot.projection);
      *slot.layer = random_layer(method, d1, d2, ratio, what, generator);
    }
  }
}

bool is_synthetic_spec(const std::string& model_spec) { return model_spec.rfind("synthetic:", 0) == 0; }

std::unique_ptr<Transformer> make_synthetic_from_spec(const std::string& model_spec, uint64_t seed) {
  std::string shape = model_spec.substr(std::string("synthetic:").size());
  if (shape == "llama-3.2-1b") return make_synthetic_model(llama32_1b_shapes(8192, 2048), seed);
  LMSHRINK_CHECK(shape == "tiny", "unknown synthetic model '", model_spec,
                 "' (expected synthetic:llama-3.2-1b or synthetic:tiny)");
  ModelConfig c = llama32_1b_shapes(256, 256);
  c.hidden_size = 64, c.intermediate_size = 160, c.num_layers = 2, c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = 16;
  return make_synthetic_model(c, seed);
}

}  // namespace lmshrink
