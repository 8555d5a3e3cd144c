// Checkpoint storage of the Linear formats (see linear_format.h).
#include "lmshrink/model/linear_format.h"

#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

void add_bias(StoredLinear& stored, const std::string& name, const Linear& linear) {
  if (linear.bias().defined()) stored.tensors.emplace_back(name + ".bias", linear.bias().to(torch::kFloat32));
}

// An integer field of a compression entry, checked.
int64_t entry_int(const nlohmann::json& entry, const std::string& name, const char* field) {
  LMSHRINK_CHECK(entry.contains(field) && entry[field].is_number_integer() && entry[field].get<int64_t>() > 0,
                 "compression entry ", name, ": \"", field, "\" must be a positive integer");
  return entry[field].get<int64_t>();
}

void store_factor(StoredLinear& stored, const std::string& prefix, const Factor& factor) {
  if (!factor.quantized) {
    stored.tensors.emplace_back(prefix, factor.value.to(torch::kFloat32));
    return;
  }
  stored.tensors.emplace_back(prefix + "_codes", factor.quantized->packed());
  stored.tensors.emplace_back(prefix + "_scales", factor.quantized->scales);
}

// Row indices as 16-bit words holding uint16 (k < 65536), else int32.
at::Tensor stored_rows(const at::Tensor& rows, int64_t k) {
  if (k >= 65536) return rows.to(torch::kInt);
  return (rows - 65536 * (rows >= 32768).to(torch::kLong)).to(torch::kShort);
}

void store_dict_sparse(StoredLinear& stored, const std::string& name, const DictSparseLinear& layer) {
  stored.entry = {{"format", "dictsparse"}, {"in_features", layer.in_features()}, {"out_features", layer.out_features()},
                  {"atoms", layer.atoms()}, {"nonzeros", layer.nonzeros()}, {"index", layer.index_format()},
                  {"dictionary", layer.owns_dictionary() ? "own" : layer.dictionary_owner()},
                  {"params", layer.params().values}};
  const std::optional<QuantizedTensor>& q = layer.values().quantized;
  if (q) stored.entry["quantization"] = {{"bits", q->bits}, {"group_size", q->group_size}};
  if (layer.owns_dictionary()) store_factor(stored, name + ".dictionary", layer.dictionary());
  store_factor(stored, name + ".values", layer.values());
  if (layer.index_format() == "bitmask") {
    stored.tensors.emplace_back(name + ".mask", support_bitmask(layer.rows(), layer.atoms()));
  } else {
    stored.tensors.emplace_back(name + ".rows", stored_rows(layer.rows(), layer.atoms()));
  }
}

void store_shared_atoms(StoredLinear& stored, const std::string& name, const SharedAtomsLinear& layer) {
  const AtomBank& bank = *layer.bank();
  LMSHRINK_CHECK(layer.owns_bank() || !bank.owner.empty(), name, ": shared atoms without the name of the layer storing them");
  stored.entry = {{"format", "sharedatoms"}, {"in_features", layer.in_features()}, {"out_features", layer.out_features()},
                  {"atoms", bank.num_atoms()}, {"bank", layer.owns_bank() ? "own" : bank.owner},
                  {"group_layers", bank.num_layers()}, {"group_index", layer.index()},
                  {"residual_rank", layer.residual_rank()}, {"mix", atom_mix_name(layer.mix())},
                  {"params", layer.params().values}};
  if (layer.owns_bank()) {
    stored.tensors.emplace_back(name + ".atoms", bank.atoms.detach().to(torch::kFloat32).contiguous());
    stored.tensors.emplace_back(name + ".coefficients", bank.coefficients.detach().to(torch::kFloat32).contiguous());
  }
  if (layer.residual_rank() > 0) {
    stored.tensors.emplace_back(name + ".residual_a", layer.residual_a().detach().to(torch::kFloat32));
    stored.tensors.emplace_back(name + ".residual_b", layer.residual_b().detach().to(torch::kFloat32));
  }
}

std::unique_ptr<Linear> restore_shared_atoms(const std::string& name, const nlohmann::json& entry, int64_t out, int64_t in,
                                             at::Tensor bias, const TensorSource& fetch) {
  int64_t atoms = entry_int(entry, name, "atoms"), layers = entry_int(entry, name, "group_layers");
  LMSHRINK_CHECK(entry.contains("group_index") && entry["group_index"].is_number_integer() &&
                     entry["group_index"].get<int64_t>() >= 0 && entry["group_index"].get<int64_t>() < layers,
                 "compression entry ", name, ": \"group_index\" must be an integer in [0, ", layers, ")");
  int64_t index = entry["group_index"].get<int64_t>();
  LMSHRINK_CHECK(!entry.contains("residual_rank") || entry["residual_rank"].is_number_integer(), "compression entry ", name,
                 ": \"residual_rank\" must be an integer");
  int64_t rank = entry.value("residual_rank", int64_t{0});
  LMSHRINK_CHECK(rank >= 0, "compression entry ", name, ": \"residual_rank\" must be >= 0");
  std::string owner = entry.value("bank", "own");
  LMSHRINK_CHECK((owner == "own") == (index == 0), "compression entry ", name,
                 ": the group's first layer (group_index 0) and only it stores the bank (\"bank\": \"own\")");
  auto bank = std::make_shared<AtomBank>();
  bank->owner = owner == "own" ? name : owner;
  bank->atoms = fetch(bank->owner + ".atoms", {atoms, out, in}, torch::kFloat32);
  bank->coefficients = fetch(bank->owner + ".coefficients", {layers, atoms}, torch::kFloat32);
  at::Tensor a, b;
  if (rank > 0) {
    a = fetch(name + ".residual_a", {in, rank}, torch::kFloat32);
    b = fetch(name + ".residual_b", {rank, out}, torch::kFloat32);
  }
  return std::make_unique<SharedAtomsLinear>(bank, index, parse_atom_mix(entry.value("mix", "synthesize")), a, b, bias);
}

// A factor of `shape` under `prefix`, float32 or quantized as the entry says.
Factor restore_factor(const std::string& prefix, const std::vector<int64_t>& shape, const nlohmann::json& quantization,
                      const TensorSource& fetch) {
  if (quantization.is_null()) return stored_factor(fetch(prefix, shape, kStoredFloat));
  auto positive_int = [&](const char* key) {
    return quantization.contains(key) && quantization[key].is_number_integer() && quantization[key].get<int64_t>() > 0 &&
           quantization[key].get<int64_t>() <= (int64_t{1} << 40);
  };
  LMSHRINK_CHECK(quantization.is_object() && positive_int("bits") && positive_int("group_size"), prefix,
                 ": \"quantization\" must be {\"bits\": 8|4, \"group_size\": n}");
  int bits = static_cast<int>(std::min<int64_t>(quantization["bits"].get<int64_t>(), 64));
  int64_t group = quantization["group_size"].get<int64_t>(), numel = shape[0] * shape[1];
  quantization_qmax(bits);  // rejects bits other than 8 and 4 before the sizes below are computed
  int64_t packed_bytes = bits == 8 ? numel : (numel + 1) / 2;
  at::Tensor packed = fetch(prefix + "_codes", {packed_bytes}, torch::kByte);
  at::Tensor scales = fetch(prefix + "_scales", {(numel + group - 1) / group}, torch::kHalf);
  QuantizedTensor q = unpack_quantized(packed, scales, bits, group, shape, prefix);
  at::Tensor value = q.dequantize();
  return Factor{value, std::move(q)};
}

std::unique_ptr<Linear> restore_dict_sparse(const std::string& name, const nlohmann::json& entry, int64_t out, int64_t in,
                                            at::Tensor bias, const TensorSource& fetch) {
  int64_t k = entry_int(entry, name, "atoms"), s = entry_int(entry, name, "nonzeros");
  LMSHRINK_CHECK(s <= k, "compression entry ", name, ": nonzeros ", s, " exceed atoms ", k);
  std::string owner = entry.value("dictionary", "own"), index = entry.value("index", "");
  nlohmann::json quantization = entry.contains("quantization") ? entry["quantization"] : nlohmann::json();
  Factor dictionary = restore_factor((owner == "own" ? name : owner) + ".dictionary", {in, k}, quantization, fetch);
  Factor values = restore_factor(name + ".values", {s, out}, quantization, fetch);
  at::Tensor rows;
  if (index == "bitmask") {
    rows = support_from_bitmask(fetch(name + ".mask", {out, (k + 7) / 8}, torch::kByte), k, s, name + ".mask");
  } else if (index == "rows") {
    rows = fetch(name + ".rows", {s, out}, k >= 65536 ? torch::kInt : torch::kShort).to(torch::kLong);
    if (k < 65536) rows = rows + 65536 * (rows < 0).to(torch::kLong);  // int16 holds the uint16 bit pattern
    auto [sorted_rows, unused] = sorted_support(rows, values.value, k);
    LMSHRINK_CHECK(sorted_rows.equal(rows), name, ".rows: row indices must be ascending in every column");
  } else {
    fail("compression entry ", name, ": \"index\" must be \"bitmask\" or \"rows\", got \"", index, "\"");
  }
  return std::make_unique<DictSparseLinear>(std::move(dictionary), rows, std::move(values), bias,
                                            owner == "own" ? "" : owner);
}

}  // namespace

StoredLinear store_linear(const std::string& name, const Linear& linear) {
  StoredLinear stored;
  if (const auto* dense = dynamic_cast<const DenseLinear*>(&linear)) {
    stored.tensors.emplace_back(name + ".weight", dense->weight().to(torch::kFloat32));
  } else if (const auto* low_rank = dynamic_cast<const LowRankLinear*>(&linear)) {
    stored.entry = {{"format", "lowrank"}, {"in_features", linear.in_features()},
                    {"out_features", linear.out_features()}, {"rank", low_rank->rank()},
                    {"params", linear.params().values}};
    stored.tensors.emplace_back(name + ".a", low_rank->a().to(torch::kFloat32));
    stored.tensors.emplace_back(name + ".b", low_rank->b().to(torch::kFloat32));
  } else if (const auto* dict = dynamic_cast<const DictSparseLinear*>(&linear)) {
    store_dict_sparse(stored, name, *dict);
  } else if (const auto* shared = dynamic_cast<const SharedAtomsLinear*>(&linear)) {
    store_shared_atoms(stored, name, *shared);
  } else {
    fail(name, ": no checkpoint storage for Linear format ", linear.format());
  }
  add_bias(stored, name, linear);
  return stored;
}

std::unique_ptr<Linear> restore_linear(const std::string& name, const nlohmann::json& entry, int64_t out,
                                       int64_t in, bool has_bias, const TensorSource& fetch) {
  at::Tensor bias = has_bias ? fetch(name + ".bias", {out}, torch::kFloat32) : at::Tensor();
  if (entry.is_null()) return std::make_unique<DenseLinear>(fetch(name + ".weight", {out, in}, kStoredFloat), bias);
  LMSHRINK_CHECK(entry.is_object() && entry.contains("format") && entry["format"].is_string(), "compression entry ",
                 name, ": expected an object with a \"format\"");
  std::string format = entry["format"].get<std::string>();
  LMSHRINK_CHECK(entry_int(entry, name, "in_features") == in && entry_int(entry, name, "out_features") == out,
                 "compression entry ", name, ": shape [", entry_int(entry, name, "out_features"), ", ",
                 entry_int(entry, name, "in_features"), "] disagrees with the model config's [", out, ", ", in, "]");
  if (format == "lowrank") {
    int64_t rank = entry_int(entry, name, "rank");
    at::Tensor a = fetch(name + ".a", {in, rank}, kStoredFloat);  // in order, so errors name the first bad factor
    at::Tensor b = fetch(name + ".b", {rank, out}, kStoredFloat);
    return std::make_unique<LowRankLinear>(a, b, bias);
  }
  if (format == "dictsparse") return restore_dict_sparse(name, entry, out, in, bias, fetch);
  if (format == "sharedatoms") return restore_shared_atoms(name, entry, out, in, bias, fetch);
  fail("compression entry ", name, ": unknown format \"", format, "\" (this lmshrink reads: lowrank, dictsparse, sharedatoms)");
}

std::unique_ptr<Linear> densified(const Linear& linear) {
  return std::make_unique<DenseLinear>(linear.dense().to(torch::kFloat32).contiguous(), linear.bias());
}

}  // namespace lmshrink
