// Checkpoint storage of the Linear formats (see linear_format.h).
#include "lmshrink/model/linear_format.h"

#include "lmshrink/model/low_rank.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

void add_bias(StoredLinear& stored, const std::string& name, const Linear& linear) {
  if (linear.bias().defined()) stored.tensors.emplace_back(name + ".bias", linear.bias());
}

// An integer field of a compression entry, checked.
int64_t entry_int(const nlohmann::json& entry, const std::string& name, const char* field) {
  LMSHRINK_CHECK(entry.contains(field) && entry[field].is_number_integer() && entry[field].get<int64_t>() > 0,
                 "compression entry ", name, ": \"", field, "\" must be a positive integer");
  return entry[field].get<int64_t>();
}

}  // namespace

StoredLinear store_linear(const std::string& name, const Linear& linear) {
  StoredLinear stored;
  if (const auto* dense = dynamic_cast<const DenseLinear*>(&linear)) {
    stored.tensors.emplace_back(name + ".weight", dense->weight());
  } else if (const auto* low_rank = dynamic_cast<const LowRankLinear*>(&linear)) {
    stored.entry = {{"format", "lowrank"}, {"in_features", linear.in_features()},
                    {"out_features", linear.out_features()}, {"rank", low_rank->rank()},
                    {"params", linear.params().values}};
    stored.tensors.emplace_back(name + ".a", low_rank->a());
    stored.tensors.emplace_back(name + ".b", low_rank->b());
  } else {
    fail(name, ": no checkpoint storage for Linear format ", linear.format());
  }
  add_bias(stored, name, linear);
  return stored;
}

std::unique_ptr<Linear> restore_linear(const std::string& name, const nlohmann::json& entry, int64_t out,
                                       int64_t in, bool has_bias, const TensorSource& fetch) {
  at::Tensor bias = has_bias ? fetch(name + ".bias", {out}) : at::Tensor();
  if (entry.is_null()) return std::make_unique<DenseLinear>(fetch(name + ".weight", {out, in}), bias);
  LMSHRINK_CHECK(entry.is_object() && entry.contains("format") && entry["format"].is_string(), "compression entry ",
                 name, ": expected an object with a \"format\"");
  std::string format = entry["format"].get<std::string>();
  LMSHRINK_CHECK(entry_int(entry, name, "in_features") == in && entry_int(entry, name, "out_features") == out,
                 "compression entry ", name, ": shape [", entry_int(entry, name, "out_features"), ", ",
                 entry_int(entry, name, "in_features"), "] disagrees with the model config's [", out, ", ", in, "]");
  if (format == "lowrank") {
    int64_t rank = entry_int(entry, name, "rank");
    at::Tensor a = fetch(name + ".a", {in, rank});  // fetched in order, so errors name the first bad factor
    at::Tensor b = fetch(name + ".b", {rank, out});
    return std::make_unique<LowRankLinear>(a, b, bias);
  }
  fail("compression entry ", name, ": unknown format \"", format, "\" (this lmshrink reads: lowrank)");
}

std::unique_ptr<Linear> densified(const Linear& linear) {
  return std::make_unique<DenseLinear>(linear.dense().to(torch::kFloat32).contiguous(), linear.bias());
}

}  // namespace lmshrink
