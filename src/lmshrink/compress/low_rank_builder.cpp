// One matrix through svd, asvd or svd-llm (see low_rank_builder.h).
#include "lmshrink/compress/low_rank_builder.h"

#include <torch/torch.h>

#include "lmshrink/compress/asvd.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/compress/svd.h"
#include "lmshrink/compress/svd_llm.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// A rank-r layer A B with RTN-quantized factors, stored as DictSparse with every coefficient kept (s = r): the
// dictionary A [in, r] and the values B [r, out] quantized, the support rows 0 .. r-1 in every column.
std::unique_ptr<Linear> quantized_low_rank(const LowRankLinear& layer, int bits, int64_t group_size) {
  int64_t rank = layer.a().size(1), out = layer.b().size(1);
  at::Tensor rows = torch::arange(rank, torch::kInt64).unsqueeze(1).expand({rank, out}).contiguous();
  return std::make_unique<DictSparseLinear>(quantized_factor(layer.a(), bits, group_size), rows,
                                            quantized_factor(layer.b(), bits, group_size), layer.bias());
}

}  // namespace

CompressedLayer compress_low_rank(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                                  const CompressOptions& options, int64_t rank, double ratio) {
  const Linear& layer = *slot;
  std::unique_ptr<Linear> compressed;
  double gram_shift = 0.0, truncation_loss = -1.0, whitened_norm2 = -1.0;
  if (options.method == Method::kSvd) {
    compressed = compress_svd(layer, rank);
  } else if (options.method == Method::kAsvd) {
    stats->check_accumulated(name);
    compressed = compress_asvd(layer, stats->channel_abs_mean(), rank, options.low_rank.asvd_alpha);
  } else {
    stats->check_accumulated(name);
    SvdLlmResult r = compress_svd_llm(layer, stats->gram.to(torch::kCPU), rank);
    compressed = std::move(r.layer);
    gram_shift = r.gram_shift;
    truncation_loss = r.truncation_loss;
    whitened_norm2 = r.whitened_norm2;
  }
  const DictionaryOptions& d = options.dictionary;
  if (d.quantize_bits > 0) compressed = quantized_low_rank(dynamic_cast<const LowRankLinear&>(*compressed), d.quantize_bits, d.quant_group);
  CompressedLayer record = layer_record(name, layer, *compressed, ratio);
  record.rank = rank;
  record.gram_shift = gram_shift;
  record.truncation_loss = truncation_loss;
  if (stats && stats->gram.defined()) record.whitened_error = whitened_error(layer, *compressed, stats->gram, whitened_norm2);
  slot = std::move(compressed);
  return record;
}

}  // namespace lmshrink
