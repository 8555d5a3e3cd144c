// Accounting of compressed layers (see compress_result.h): the 16-bit words of a layer (dict_size.h), the ratio of
// a byte budget, the whitened output error and the per-layer record every method fills.
#include "lmshrink/compress/compress_result.h"

#include "lmshrink/model/projections.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

double accounted_words(const Linear& layer, Accounting accounting) {
  const auto* dict = dynamic_cast<const DictSparseLinear*>(&layer);
  if (!dict) return static_cast<double>(layer.params().values);
  auto factor_words = [](const Factor& f) {
    return f.quantized ? static_cast<double>(f.quantized->storage_bytes()) / 2.0 : static_cast<double>(f.value.numel());
  };
  double words = factor_words(dict->values()) + (dict->bias().defined() ? static_cast<double>(dict->bias().numel()) : 0.0);
  if (dict->owns_dictionary()) words += factor_words(dict->dictionary());
  if (accounting == Accounting::kFull) words += static_cast<double>(dict->index_bytes()) / 2.0;
  return words;
}

double ratio_for_budget_bytes(const Transformer& model, const std::vector<std::string>& targets, double bytes) {
  double dense_bytes = 0.0;
  for (int64_t l = 0; l < model.config().num_layers; ++l) {
    for (const std::string& projection : targets) {
      const Linear& layer = projection_layer(model, l, projection);
      dense_bytes += 2.0 * static_cast<double>(layer.in_features() * layer.out_features());
    }
  }
  double ratio = 1.0 - bytes / dense_bytes;
  LMSHRINK_CHECK(bytes > 0 && ratio > 0.0 && ratio < 1.0, "budget_bytes ", bytes, ": the targeted matrices take ",
                 dense_bytes, " bytes at 16 bits; the budget must lie strictly between 0 and that");
  return ratio;
}

// ‖X (W − Ŵ)‖² / ‖X W‖² = tr(Eᵀ G E) / tr(Wᵀ G W), E = W − Ŵ in [in, out], float64.
double whitened_error(const Linear& before, const Linear& after, const at::Tensor& gram_in_in, double whitened_norm2) {
  at::Tensor g = gram_in_in.to(torch::kCPU, torch::kFloat64);
  at::Tensor w = before.dense().t().to(torch::kFloat64), e = w - after.dense().t().to(torch::kFloat64);
  if (whitened_norm2 < 0) whitened_norm2 = (torch::matmul(g, w) * w).sum().item<double>();
  return (torch::matmul(g, e) * e).sum().item<double>() / whitened_norm2;
}

CompressedLayer layer_record(const std::string& name, const Linear& before, const Linear& after, double ratio) {
  CompressedLayer record;
  record.name = name;
  record.in_features = before.in_features();
  record.out_features = before.out_features();
  record.ratio = ratio;
  record.params_before = before.params().values;
  record.bytes_before = before.params().bytes;
  record.params_after = after.params().values;
  record.bytes_after = after.params().bytes;
  record.words_effective = accounted_words(after, Accounting::kEffective);
  record.words_full = accounted_words(after, Accounting::kFull);
  return record;
}

}  // namespace lmshrink
