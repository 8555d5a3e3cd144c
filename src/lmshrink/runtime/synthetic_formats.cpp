// Random layers in the compressed formats at the methods' sizes (see synthetic_formats.h).
#include "lmshrink/runtime/synthetic_formats.h"

#include <cmath>
#include <map>

#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/masa.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/compress/rank.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/runtime/inference_prepare.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

at::Tensor normal(std::vector<int64_t> shape, double std_dev, torch::Generator& generator) {
  return at::normal(0.0, std_dev, shape, generator, torch::kFloat32);
}

std::unique_ptr<Linear> random_low_rank(int64_t d1, int64_t d2, int64_t rank, torch::Generator& generator) {
  return std::make_unique<LowRankLinear>(normal({d1, rank}, 1.0 / std::sqrt(double(d1)), generator),
                                         normal({rank, d2}, 0.02, generator));
}

// s distinct ascending atoms per column: one uniform pick in each slice [⌊i k / s⌋, ⌊(i + 1) k / s⌋) of [0, k).
std::unique_ptr<Linear> random_dict_sparse(int64_t d1, int64_t d2, DictSize size, torch::Generator& generator) {
  at::Tensor slot = torch::arange(size.nonzeros + 1, torch::kInt64);
  at::Tensor bounds = torch::div(slot * size.atoms, size.nonzeros, "floor");  // [s + 1], int64
  at::Tensor starts = bounds.narrow(0, 0, size.nonzeros).unsqueeze(1), widths = (bounds.narrow(0, 1, size.nonzeros) -
                                                                                 bounds.narrow(0, 0, size.nonzeros)).unsqueeze(1);
  at::Tensor picks = (at::rand({size.nonzeros, d2}, generator, torch::kFloat32) * widths).to(torch::kInt64);
  at::Tensor rows = starts + torch::minimum(picks, widths - 1);
  return std::make_unique<DictSparseLinear>(float_factor(normal({d1, size.atoms}, 1.0 / std::sqrt(double(d1)), generator)),
                                            rows, float_factor(normal({size.nonzeros, d2}, 0.02, generator)));
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

// The projection factory of a method: random layers in its format; MASA keeps one bank per attention projection
// type (made when layer 0 asks) and leaves the MLP dense (null).
ProjectionFactory format_factory(const std::string& method, double ratio, int64_t num_layers, uint64_t seed) {
  const auto& methods = synthetic_format_methods();
  LMSHRINK_CHECK(std::find(methods.begin(), methods.end(), method) != methods.end(), "unknown format method '", method,
                 "' (expected dense, svd, asvd, svd-llm, cospadi, compot, rocket or masa)");
  if (method == "dense") return nullptr;
  LMSHRINK_CHECK(ratio > 0.0 && ratio < 1.0, "ratio must lie in (0, 1), got ", ratio);
  auto generator = std::make_shared<torch::Generator>(at::detail::createCPUGenerator(seed));
  auto banks = std::make_shared<std::map<std::string, std::shared_ptr<AtomBank>>>();
  return [=](int64_t layer, const std::string& projection, int64_t in, int64_t out) -> std::unique_ptr<Linear> {
    std::string what = str_cat("model.layers.", layer, ".", projection);
    if (method != "masa") return random_layer(method, in, out, ratio, what, *generator);
    if (!projection_info(projection).is_attention()) return nullptr;
    std::shared_ptr<AtomBank>& bank = (*banks)[projection];
    if (!bank) {
      int64_t atoms = masa_atoms_for_ratio(out, in, num_layers, ratio, 0, what);
      bank = std::make_shared<AtomBank>();
      bank->atoms = normal({atoms, out, in}, 0.02, *generator);
      bank->coefficients = normal({num_layers, atoms}, 1.0 / std::sqrt(double(atoms)), *generator);
      bank->owner = what;
    }
    return std::make_unique<SharedAtomsLinear>(bank, layer, AtomMix::kSynthesize);
  };
}

// Every projection as a kernel layer, packed as soon as it is built: `inner`'s layer, or a random dense one.
ProjectionFactory kernel_factory(ProjectionFactory inner, WeightStorage storage, uint64_t seed) {
  auto generator = std::make_shared<torch::Generator>(at::detail::createCPUGenerator(seed));
  return [=](int64_t layer, const std::string& projection, int64_t in, int64_t out) -> std::unique_ptr<Linear> {
    std::unique_ptr<Linear> built = inner ? inner(layer, projection, in, out) : nullptr;
    if (!built) built = std::make_unique<DenseLinear>(normal({out, in}, 0.02, *generator));
    DictionaryCache dictionaries;  // per layer: a freed layer's address may come back for the next one
    return kernel_linear(*built, storage, dictionaries);
  };
}

}  // namespace

const std::vector<std::string>& synthetic_format_methods() {
  static const std::vector<std::string> methods = {"dense", "svd", "asvd", "svd-llm", "cospadi", "compot", "rocket", "masa"};
  return methods;
}

void apply_synthetic_format(Transformer& model, const std::string& method, double ratio, uint64_t seed) {
  torch::NoGradGuard no_grad;
  ProjectionFactory factory = format_factory(method, ratio, model.config().num_layers, seed);
  if (!factory) return;
  for (size_t layer = 0; layer < model.mutable_blocks().size(); ++layer) {
    for (const ProjectionInfo& info : projection_table()) {
      std::unique_ptr<Linear>& slot = model.mutable_blocks()[layer].*info.member;
      if (auto built = factory(static_cast<int64_t>(layer), info.name, slot->in_features(), slot->out_features())) {
        slot = std::move(built);
      }
    }
  }
}

bool is_synthetic_spec(const std::string& model_spec) { return model_spec.rfind("synthetic:", 0) == 0; }

std::unique_ptr<Transformer> make_synthetic_from_spec(const std::string& model_spec, uint64_t seed,
                                                      const std::string& method, double ratio,
                                                      std::optional<WeightStorage> kernels) {
  std::string shape = model_spec.substr(std::string("synthetic:").size());
  ModelConfig c = llama32_1b_shapes(8192, 2048);
  if (shape == "tiny") {
    c = llama32_1b_shapes(256, 256);
    c.hidden_size = 64, c.intermediate_size = 160, c.num_layers = 2, c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = 16;
  }
  LMSHRINK_CHECK(shape == "tiny" || shape == "llama-3.2-1b", "unknown synthetic model '", model_spec,
                 "' (expected synthetic:llama-3.2-1b or synthetic:tiny)");
  torch::NoGradGuard no_grad;
  ProjectionFactory factory = format_factory(method, ratio, c.num_layers, seed + 1);
  if (kernels) factory = kernel_factory(std::move(factory), *kernels, seed + 2);
  return make_synthetic_model(c, seed, factory);
}

}  // namespace lmshrink
